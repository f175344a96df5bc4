-- Cards, their append-only ledger, cancel/redo audit, and the products sold by quantity.
-- Money is BIGINT cents; times are BIGINT unix milliseconds (UTC).

CREATE TABLE cards (
    id TEXT PRIMARY KEY NOT NULL,
    balance_cents BIGINT NOT NULL
        CHECK (balance_cents BETWEEN -1000000000000000 AND 1000000000000000),
    overdraft_limit_cents BIGINT NOT NULL DEFAULT 0 CHECK (overdraft_limit_cents >= 0),
    max_balance_cents BIGINT CHECK (max_balance_cents IS NULL OR max_balance_cents >= 0),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'lost')),
    valid_until BIGINT,
    member_id BIGINT,
    created_at BIGINT NOT NULL
);

-- AUTOINCREMENT: an id is never handed out twice, whatever happens to the last row.
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 4),
    card_id TEXT NOT NULL REFERENCES cards (id),
    amount_cents BIGINT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    product TEXT,
    valid BOOLEAN NOT NULL DEFAULT 1 CHECK (valid IN (0, 1)),
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX transactions_card_id ON transactions (card_id, id);

CREATE TABLE transaction_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    transaction_id BIGINT NOT NULL REFERENCES transactions (id),
    valid_after BOOLEAN NOT NULL CHECK (valid_after IN (0, 1)),
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX transaction_changes_transaction_id ON transaction_changes (transaction_id);

CREATE TABLE products (
    name TEXT PRIMARY KEY NOT NULL,
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    category TEXT
);

CREATE TABLE product_bundles (
    product TEXT NOT NULL REFERENCES products (name) ON DELETE CASCADE,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    PRIMARY KEY (product, quantity)
);

INSERT INTO products (name, unit_price_cents, category) VALUES ('biere', 180, NULL);
