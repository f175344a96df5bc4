-- Vouchers, mandates and partner debits (issue #18), and transaction kinds 8 (a coupon's
-- value credited) and 9 (a partner's debit under a mandate).
--
-- SQLite cannot change a CHECK in place: `transactions` is rebuilt as in 000005 and
-- 2026-12-06-000002 (foreign keys off, then in one transaction create, copy, drop, rename;
-- its one index recreated: it has no trigger), outside diesel's transaction.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE transactions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 9),
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

-- QR vouchers (services.md): a coupon of a value or of one product, or an event ticket. The
-- code is the 16 data symbols and the check symbol (Crockford base32), without dashes. A
-- voucher is used once: `state` goes from `issued` to `used` by a guarded update in the same
-- transaction as the coupon's ledger movement.
CREATE TABLE vouchers (
    code TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('coupon', 'ticket')),
    value_cents BIGINT CHECK (value_cents IS NULL OR value_cents > 0),
    product TEXT,
    label TEXT,
    valid_until BIGINT,
    state TEXT NOT NULL DEFAULT 'issued' CHECK (state IN ('issued', 'used')),
    issued_by TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT,
    used_card TEXT REFERENCES cards (id),
    transaction_id BIGINT REFERENCES transactions (id),
    CHECK (kind = 'ticket' OR (value_cents IS NULL) <> (product IS NULL)),
    CHECK ((state = 'used') = (used_at IS NOT NULL))
);
CREATE INDEX vouchers_issued_at ON vouchers (issued_at);

-- A member's mandate to a partner: the partner may debit the member's cards within the caps.
CREATE TABLE mandates (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    member_id BIGINT NOT NULL REFERENCES members (id),
    partner TEXT NOT NULL REFERENCES partners (client_id),
    cap_operation_cents BIGINT NOT NULL CHECK (cap_operation_cents > 0),
    cap_day_cents BIGINT NOT NULL CHECK (cap_day_cents > 0),
    valid_until BIGINT,
    -- `member` when the member granted it, `staff:<login>` when staff did on their behalf.
    granted_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT
);
CREATE INDEX mandates_member_id ON mandates (member_id, partner);

-- A partner's debit under a mandate, written with its ledger movement; refunded at most once
-- (the debit's transaction is then cancelled, `refunded_at` set by a guarded update).
CREATE TABLE debits (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    partner TEXT NOT NULL REFERENCES partners (client_id),
    mandate_id BIGINT NOT NULL REFERENCES mandates (id),
    reference TEXT NOT NULL,
    transaction_id BIGINT NOT NULL REFERENCES transactions (id),
    card_id TEXT NOT NULL REFERENCES cards (id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    balance_after_cents BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    refunded_at BIGINT
);
CREATE INDEX debits_mandate_created_at ON debits (mandate_id, created_at);
CREATE UNIQUE INDEX debits_transaction_id ON debits (transaction_id);

-- The services an administrator enabled for a partner (seed 002's `POST /Services`): the
-- service token is stored as its SHA-256 hex only.
CREATE TABLE partner_services (
    partner TEXT NOT NULL REFERENCES partners (client_id),
    service_id SMALLINT NOT NULL CHECK (service_id BETWEEN 1 AND 4),
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (partner, service_id)
);

COMMIT;
PRAGMA foreign_keys = ON;
