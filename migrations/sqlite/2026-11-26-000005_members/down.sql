-- Back to the schema of 000004: refused (CHECK) while replacement transfers exist, since
-- the older schema cannot hold them. Members and card links are dropped.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE transactions_old (
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
INSERT INTO transactions_old (id, kind, card_id, amount_cents, quantity, product, valid,
                              author, created_at)
    SELECT id, kind, card_id, amount_cents, quantity, product, valid, author, created_at
    FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_old RENAME TO transactions;
CREATE INDEX transactions_card_id ON transactions (card_id, id);

CREATE TABLE cards_old (
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
INSERT INTO cards_old (id, balance_cents, overdraft_limit_cents, max_balance_cents, status,
                       valid_until, member_id, created_at)
    SELECT id, balance_cents, overdraft_limit_cents, max_balance_cents, status,
           valid_until, NULL, created_at
    FROM cards;
DROP TABLE cards;
ALTER TABLE cards_old RENAME TO cards;

DROP TABLE members;

COMMIT;
PRAGMA foreign_keys = ON;
