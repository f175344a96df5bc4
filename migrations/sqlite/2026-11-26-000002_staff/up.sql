-- Staff accounts (never deleted: disabled, for the history) and their sessions.

CREATE TABLE staff_users (
    login TEXT PRIMARY KEY NOT NULL,
    rights SMALLINT NOT NULL DEFAULT 0 CHECK (rights BETWEEN 0 AND 3),
    card_id TEXT,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at BIGINT NOT NULL
);
-- A staff card logs in one active user only; a disabled user's card may be given again.
CREATE UNIQUE INDEX staff_users_active_card ON staff_users (card_id)
    WHERE active = 1 AND card_id IS NOT NULL;

-- Only a hash of the token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    login TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_login ON sessions (login);
CREATE INDEX sessions_last_seen ON sessions (last_seen);
