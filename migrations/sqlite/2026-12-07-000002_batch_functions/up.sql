-- Nothing on SQLite: PostgreSQL's writer applies payments, top-ups and member-to-member
-- transfers through the functions `ardoise_post_batch` and `ardoise_transfer_batch`, which
-- this migration rewrites; SQLite runs in-process and keeps one statement per step. This
-- migration exists so that both backends have the same versions.
SELECT 1;
