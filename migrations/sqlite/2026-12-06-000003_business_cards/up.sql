-- Seed 003's business cards: one per member at most, created by staff, the member or a
-- partner (`partner`, counted against `partners.business_cards`), with its language versions.
-- Not money. Phones are stored normalised (`+` and digits), the photo as base64.
CREATE TABLE business_cards (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 32 AND 128),
    member_id BIGINT NOT NULL UNIQUE REFERENCES members (id),
    partner TEXT,
    enabled BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    use_photo BOOLEAN NOT NULL DEFAULT 1 CHECK (use_photo IN (0, 1)),
    phone_a TEXT,
    phone_b TEXT,
    mobile_a TEXT,
    mobile_b TEXT,
    fax_a TEXT,
    fax_b TEXT,
    email_b TEXT,
    web_b TEXT,
    web_c TEXT,
    skype_b TEXT,
    addr_state TEXT,
    thumbnail TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX business_cards_partner ON business_cards (partner);

CREATE TABLE business_card_versions (
    card_id TEXT NOT NULL REFERENCES business_cards (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    display_name TEXT,
    name TEXT,
    lastname TEXT,
    position TEXT,
    keywords TEXT,
    enabled BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    PRIMARY KEY (card_id, lang)
);
