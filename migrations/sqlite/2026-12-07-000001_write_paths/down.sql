CREATE TABLE idempotency_keys_with_rowid (
    owner TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    transaction_id BIGINT NOT NULL,
    card_id TEXT NOT NULL REFERENCES cards (id),
    amount_cents BIGINT NOT NULL,
    balance_before_cents BIGINT NOT NULL,
    balance_after_cents BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, idempotency_key)
);
INSERT INTO idempotency_keys_with_rowid
    SELECT owner, idempotency_key, request_hash, transaction_id, card_id, amount_cents,
           balance_before_cents, balance_after_cents, created_at
    FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_with_rowid RENAME TO idempotency_keys;

DROP INDEX transactions_author;
CREATE INDEX transactions_author ON transactions (author, id);
