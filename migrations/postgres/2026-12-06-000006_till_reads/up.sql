-- The till lists the latest transactions its staff member wrote (`Ledger::author_transactions`):
-- an index by author then id reads them newest first without scanning the ledger.
CREATE INDEX transactions_author ON transactions (author, id);
