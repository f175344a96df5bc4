-- Imports from another system (`ardoise-import`): one row per import, checked before a second
-- one, and transaction kind 7, the import adjustment (a card's stored balance minus the sum of
-- its imported history).
--
-- SQLite cannot change a CHECK in place: `transactions` is rebuilt as in 000005 (foreign keys
-- off, then in one transaction create, copy, drop, rename), outside diesel's transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- The system imported from, e.g. `10p5`.
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    cards BIGINT NOT NULL,
    transactions BIGINT NOT NULL,
    users BIGINT NOT NULL,
    adjustments BIGINT NOT NULL,
    adjustment_total_cents BIGINT NOT NULL
);

CREATE TABLE transactions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 7),
    card_id TEXT NOT NULL REFERENCES cards (id),
    amount_cents BIGINT NOT NULL,
    quantity BIGINT NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    product TEXT,
    valid BOOLEAN NOT NULL DEFAULT 1 CHECK (valid IN (0, 1)),
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO transactions_new (id, kind, card_id, amount_cents, quantity, product, valid,
                              author, created_at)
    SELECT id, kind, card_id, amount_cents, quantity, product, valid, author, created_at
    FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_new RENAME TO transactions;
CREATE INDEX transactions_card_id ON transactions (card_id, id);

COMMIT;
PRAGMA foreign_keys = ON;
