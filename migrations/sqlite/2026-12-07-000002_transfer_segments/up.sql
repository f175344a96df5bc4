-- Nothing on SQLite: PostgreSQL's writer applies member-to-member transfers through the
-- function `ardoise_transfer_batch`, which this migration rewrites; SQLite runs in-process
-- and keeps one statement per step. This migration exists so that both backends have the
-- same versions.
SELECT 1;
