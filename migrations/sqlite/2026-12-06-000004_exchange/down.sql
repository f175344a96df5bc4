DROP TABLE exchange_transfers;
DROP TABLE exchange_suspensions;
DROP TABLE exchange_messages;
DROP TABLE exchange_conversations;
DROP TABLE exchange_offers;
