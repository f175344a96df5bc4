DROP TABLE business_card_versions;
DROP TABLE business_cards;
