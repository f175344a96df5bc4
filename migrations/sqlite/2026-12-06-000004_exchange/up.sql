-- The members' exchange (seed 004, docs/exchange.md): offers and requests of services,
-- conversations between two members, moderation, and payments from member to member.
-- Money is BIGINT cents; times are BIGINT unix milliseconds (UTC); dates are 'YYYY-MM-DD'.

-- `category_id` names a row of `categories` without a foreign key: deleting a category
-- leaves its offers without a name (`category_name` null), as products are left.
CREATE TABLE exchange_offers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    member_id BIGINT NOT NULL REFERENCES members (id),
    kind TEXT NOT NULL CHECK (kind IN ('offer', 'request')),
    category_id BIGINT NOT NULL,
    description TEXT NOT NULL,
    wished_from TEXT,
    wished_until TEXT,
    price_cents BIGINT CHECK (price_cents IS NULL OR price_cents >= 0),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX exchange_offers_member ON exchange_offers (member_id, id);

-- A conversation between two members (the lower id first), about an offer or not
-- (`offer_key` 0): writing again to the same member about the same offer continues it.
-- `read_*`: the last message each member has read; `notified_*`: when each was last told
-- of a new message (at most once per conversation per 10 minutes).
CREATE TABLE exchange_conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    member_low BIGINT NOT NULL REFERENCES members (id),
    member_high BIGINT NOT NULL REFERENCES members (id),
    offer_key BIGINT NOT NULL DEFAULT 0,
    last_message_id BIGINT NOT NULL DEFAULT 0,
    last_activity BIGINT NOT NULL,
    read_low BIGINT NOT NULL DEFAULT 0,
    read_high BIGINT NOT NULL DEFAULT 0,
    notified_low BIGINT,
    notified_high BIGINT,
    reported_by BIGINT,
    reported_at BIGINT,
    created_at BIGINT NOT NULL,
    CHECK (member_low < member_high),
    UNIQUE (member_low, member_high, offer_key)
);
CREATE INDEX exchange_conversations_high ON exchange_conversations (member_high);

CREATE TABLE exchange_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES exchange_conversations (id),
    author_id BIGINT NOT NULL REFERENCES members (id),
    body TEXT NOT NULL,
    hidden_by TEXT,
    hidden_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX exchange_messages_conversation ON exchange_messages (conversation_id, id);

CREATE TABLE exchange_suspensions (
    member_id BIGINT PRIMARY KEY NOT NULL REFERENCES members (id),
    suspended_by TEXT NOT NULL,
    suspended_at BIGINT NOT NULL
);

-- A payment from member to member: its two ledger rows (the payer's transfer-out, whose id
-- is the transfer's, and the payee's transfer-in), written with them in one step. No
-- foreign keys: this table is on the payment path, and only that step writes it.
CREATE TABLE exchange_transfers (
    transaction_id BIGINT PRIMARY KEY NOT NULL,
    incoming_id BIGINT NOT NULL,
    from_card TEXT NOT NULL,
    to_card TEXT NOT NULL,
    from_member BIGINT NOT NULL,
    to_member BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    offer_id BIGINT,
    note TEXT,
    created_at BIGINT NOT NULL,
    cancelled_by TEXT,
    cancelled_at BIGINT
);
CREATE INDEX exchange_transfers_created_at ON exchange_transfers (created_at);
