-- OAuth2 partners and access tokens. Secrets and tokens are stored only as SHA-256 hex.

CREATE TABLE partners (
    client_id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    -- Space-separated scopes.
    scopes TEXT NOT NULL,
    allow_basic BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    credit_cap_operation_cents BIGINT NOT NULL CHECK (credit_cap_operation_cents > 0),
    credit_cap_day_cents BIGINT NOT NULL CHECK (credit_cap_day_cents > 0),
    created_at BIGINT NOT NULL
);

-- Issued to a partner (client_id) or to a staff user (login), never both.
CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT COLLATE "C" REFERENCES partners (client_id),
    login TEXT COLLATE "C" REFERENCES staff_users (login),
    scopes TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Requests left (seed 003's rpt); NULL when only time limits the token.
    rpt_left BIGINT CHECK (rpt_left IS NULL OR rpt_left >= 0),
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK ((client_id IS NULL) <> (login IS NULL))
);
CREATE INDEX access_tokens_client_id ON access_tokens (client_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);
