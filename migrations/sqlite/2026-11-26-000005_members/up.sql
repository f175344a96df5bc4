-- Members of the association and the link of their cards (a card belongs to at most one
-- member: cards.member_id), card replacement (cards.replaced_by) and the two halves of a
-- replacement's balance transfer (transaction kinds 5 and 6).
--
-- SQLite cannot add a foreign key or change a CHECK in place: `cards` and `transactions` are
-- rebuilt the way SQLite documents it (https://sqlite.org/lang_altertable.html, "making other
-- kinds of table schema changes"): foreign keys off, then in one transaction create the new
-- table, copy, drop the old one, rename. Foreign keys cannot be switched off inside a
-- transaction, so this migration runs outside diesel's (metadata.toml) and opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    display_name TEXT,
    email TEXT,
    phone TEXT,
    mobile TEXT,
    keywords TEXT,
    notes TEXT,
    revision BIGINT NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (first_name IS NOT NULL OR last_name IS NOT NULL OR display_name IS NOT NULL)
);

CREATE TABLE cards_new (
    id TEXT PRIMARY KEY NOT NULL,
    balance_cents BIGINT NOT NULL
        CHECK (balance_cents BETWEEN -1000000000000000 AND 1000000000000000),
    overdraft_limit_cents BIGINT NOT NULL DEFAULT 0 CHECK (overdraft_limit_cents >= 0),
    max_balance_cents BIGINT CHECK (max_balance_cents IS NULL OR max_balance_cents >= 0),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'lost')),
    valid_until BIGINT,
    member_id BIGINT REFERENCES members (id),
    created_at BIGINT NOT NULL,
    -- The card that replaced this one; a replaced card is at zero and never active.
    replaced_by TEXT REFERENCES cards (id),
    CHECK (replaced_by IS NULL OR (balance_cents = 0 AND status <> 'active'))
);
INSERT INTO cards_new (id, balance_cents, overdraft_limit_cents, max_balance_cents, status,
                       valid_until, member_id, created_at)
    SELECT id, balance_cents, overdraft_limit_cents, max_balance_cents, status,
           valid_until, member_id, created_at
    FROM cards;
DROP TABLE cards;
ALTER TABLE cards_new RENAME TO cards;
CREATE INDEX cards_member_id ON cards (member_id, id);

CREATE TABLE transactions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 6),
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
