DROP TABLE access_tokens;
DROP TABLE partners;
