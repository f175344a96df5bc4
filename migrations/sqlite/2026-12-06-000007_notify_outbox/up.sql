-- Notifications (issue #17): the outbox and the partners' webhooks.
--
-- Every message is first a row of `outbox`, committed in the same transaction as its cause; a
-- worker then claims due rows (`queued` and due, or `sending` with an expired lease: a process
-- that died mid-attempt), delivers them and records the outcome with a guarded update. The id
-- is the same on every attempt (receivers drop duplicates by it); a statement that does not
-- give one (the payment batch function) gets a random one.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL
        DEFAULT ('msg_' || lower(hex(randomblob(16)))),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'webhook')),
    -- The address on that channel: e-mail, phone (E.164), FCM token, webhook URL ('' if none).
    recipient TEXT NOT NULL,
    -- `notification`, `advertisement`, `low_balance`, `receipt`, …
    event TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    link TEXT,
    picture BLOB,
    -- Who sent it: `ardoise`, `partner:<client_id>` or `staff:<login>`.
    sender TEXT NOT NULL,
    member_id BIGINT REFERENCES members (id),
    -- The partner whose webhook (URL and secret) a `webhook` message goes to.
    webhook_partner TEXT REFERENCES partners (client_id),
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When a queued message is due; while `sending`, when the attempt's lease runs out.
    next_attempt_at BIGINT NOT NULL,
    -- The last failure, or why the message was skipped (`no_consent`, `no_address`).
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    -- The sender's `Idempotency-Key` and the hash of its request.
    idempotency_key TEXT,
    request_hash TEXT,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
-- The worker's scan (`status IN ('queued', 'sending') AND next_attempt_at <= now`): by status
-- first, so that the rows already sent, however many, are never read. (A partial index would
-- not do: the statuses are bound parameters, which the planner cannot match to its WHERE.)
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_sender ON outbox (sender, created_at);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (sender, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- A partner's webhook (`PUT /v1/partners/{client_id}/webhook`). The signing secret is kept as
-- is: signing needs it (Standard Webhooks' HMAC), a hash would not do.
CREATE TABLE partner_webhooks (
    partner TEXT PRIMARY KEY NOT NULL REFERENCES partners (client_id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
