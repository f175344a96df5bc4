DROP TABLE partner_webhooks;
DROP TABLE outbox;
