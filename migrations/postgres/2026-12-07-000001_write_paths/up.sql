-- The till's index by author keeps the staff's transactions only. A member's transfer or
-- payment is written by `member:<id>`; indexing it put one more page at a random place of
-- the index into each transfer's commit, and nothing reads a member's transactions by
-- author (a staff login never holds a colon). `Sql::staff_transactions` repeats this
-- `WHERE` so that the index serves it. (SQLite's migration of the same name also moves the
-- idempotency keys into their primary key's B-tree; PostgreSQL has no such choice.)
DROP INDEX transactions_author;
CREATE INDEX transactions_author ON transactions (author, id)
    WHERE substr(author, 1, 7) <> 'member:';
