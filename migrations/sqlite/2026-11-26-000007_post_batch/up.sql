-- Nothing on SQLite: PostgreSQL's writer applies payments and top-ups through the function
-- `ardoise_post_batch` of this migration; SQLite runs in-process and keeps one statement per
-- step. This migration exists so that both backends have the same versions.
SELECT 1;
