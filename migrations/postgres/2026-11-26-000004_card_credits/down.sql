DROP TABLE idempotency_keys;
DROP TABLE card_credits;
