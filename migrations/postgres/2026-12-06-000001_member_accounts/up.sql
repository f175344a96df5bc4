-- Members' own accounts (members.md): a member logs in with their e-mail address, unique
-- whatever its case (members.email_key, the lower-cased address written by the store), and a
-- password set through a one-time link (member_links: only the token's hash); their
-- preferences; and sessions that belong to a staff user or to a member.
--
-- Members that already share an address keep it, but only the first of them (by id) gets
-- the key: the others must be given another address before they can be invited.
ALTER TABLE members ADD COLUMN email_key TEXT;
UPDATE members SET email_key = lower(email)
    WHERE email IS NOT NULL
      AND id = (SELECT MIN(m.id) FROM members m WHERE lower(m.email) = lower(members.email));
CREATE UNIQUE INDEX members_email_key ON members (email_key);

CREATE TABLE member_accounts (
    member_id BIGINT PRIMARY KEY REFERENCES members (id),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE member_links (
    token_hash TEXT PRIMARY KEY,
    member_id BIGINT NOT NULL REFERENCES members (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('welcome', 'reset')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX member_links_member_id ON member_links (member_id);

CREATE TABLE member_preferences (
    member_id BIGINT PRIMARY KEY REFERENCES members (id),
    email BOOLEAN NOT NULL,
    sms BOOLEAN NOT NULL,
    push BOOLEAN NOT NULL,
    low_balance_cents BIGINT CHECK (low_balance_cents IS NULL OR low_balance_cents > 0),
    receipts BOOLEAN NOT NULL,
    advertisements BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A session is a staff user's (login) or a member's (member_id).
ALTER TABLE sessions
    ALTER COLUMN login DROP NOT NULL,
    ADD COLUMN member_id BIGINT REFERENCES members (id),
    ADD CONSTRAINT sessions_holder_check CHECK ((login IS NULL) <> (member_id IS NULL));
CREATE INDEX sessions_member_id ON sessions (member_id);
