-- Back to the schema of 000002: refused (CHECK) while coupons or partner debits exist, since
-- the older schema cannot hold them.
ALTER TABLE transactions
    DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check CHECK (kind BETWEEN 1 AND 7);

DROP TABLE partner_services;
DROP TABLE debits;
DROP TABLE mandates;
DROP TABLE vouchers;
