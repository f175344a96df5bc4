DROP INDEX transactions_author;
CREATE INDEX transactions_author ON transactions (author, id);
