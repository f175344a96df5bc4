-- Members' sessions end; staff sessions are kept.
CREATE TABLE sessions_old (
    token_hash TEXT PRIMARY KEY NOT NULL,
    login TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
INSERT INTO sessions_old (token_hash, login, created_at, last_seen)
    SELECT token_hash, login, created_at, last_seen FROM sessions WHERE login IS NOT NULL;
DROP TABLE sessions;
ALTER TABLE sessions_old RENAME TO sessions;
CREATE INDEX sessions_login ON sessions (login);
CREATE INDEX sessions_last_seen ON sessions (last_seen);

DROP TABLE member_preferences;
DROP TABLE member_links;
DROP TABLE member_accounts;
DROP INDEX members_email_key;
ALTER TABLE members DROP COLUMN email_key;
