DROP FUNCTION ardoise_transfer_batch(TEXT[], TEXT[], TEXT[], BIGINT[], BOOLEAN[], BOOLEAN[],
    BOOLEAN[], BOOLEAN[], BOOLEAN[], BOOLEAN[], TEXT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[],
    TEXT[], TEXT[], TEXT[], TEXT[]);
DROP TABLE exchange_transfers;
DROP TABLE exchange_suspensions;
DROP TABLE exchange_messages;
DROP TABLE exchange_conversations;
DROP TABLE exchange_offers;
