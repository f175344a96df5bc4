DROP INDEX transactions_author;
