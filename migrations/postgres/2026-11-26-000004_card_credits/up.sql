-- Partners' card credits and the answers of idempotent requests, written in the same
-- transaction (savepoint) as the movement they belong to.

-- One row per applied partner credit: (partner, reference) is unique, and the sum of a
-- partner's credits since the start of the day is checked against its daily cap.
CREATE TABLE card_credits (
    partner TEXT COLLATE "C" NOT NULL REFERENCES partners (client_id),
    reference TEXT COLLATE "C" NOT NULL,
    transaction_id BIGINT NOT NULL REFERENCES transactions (id),
    card_id TEXT COLLATE "C" NOT NULL REFERENCES cards (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    balance_before_cents BIGINT NOT NULL,
    balance_after_cents BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (partner, reference)
);
CREATE INDEX card_credits_partner_created_at ON card_credits (partner, created_at);

-- The first answer of a movement made with an Idempotency-Key, per owner and key.
CREATE TABLE idempotency_keys (
    owner TEXT COLLATE "C" NOT NULL,
    idempotency_key TEXT COLLATE "C" NOT NULL,
    request_hash TEXT NOT NULL,
    transaction_id BIGINT NOT NULL,
    card_id TEXT COLLATE "C" NOT NULL REFERENCES cards (id),
    amount_cents BIGINT NOT NULL,
    balance_before_cents BIGINT NOT NULL,
    balance_after_cents BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, idempotency_key)
);
