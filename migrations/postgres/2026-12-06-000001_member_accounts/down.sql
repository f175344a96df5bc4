-- Members' sessions end; staff sessions are kept.
DELETE FROM sessions WHERE login IS NULL;
DROP INDEX sessions_member_id;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_holder_check,
    DROP COLUMN member_id,
    ALTER COLUMN login SET NOT NULL;

DROP TABLE member_preferences;
DROP TABLE member_links;
DROP TABLE member_accounts;
DROP INDEX members_email_key;
ALTER TABLE members DROP COLUMN email_key;
