-- Back to the schema of 2026-12-06-000002: refused (CHECK) while coupons or partner debits
-- exist, since the older schema cannot hold them.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

DROP TABLE partner_services;
DROP TABLE debits;
DROP TABLE mandates;
DROP TABLE vouchers;

CREATE TABLE transactions_old (
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
INSERT INTO transactions_old (id, kind, card_id, amount_cents, quantity, product, valid,
                              author, created_at)
    SELECT id, kind, card_id, amount_cents, quantity, product, valid, author, created_at
    FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_old RENAME TO transactions;
CREATE INDEX transactions_card_id ON transactions (card_id, id);

COMMIT;
PRAGMA foreign_keys = ON;
