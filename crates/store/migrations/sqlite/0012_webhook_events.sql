-- Each delivery says which event it is (Standard Webhooks `type`); the delivery log lists a
-- customer's deliveries newest first.
ALTER TABLE webhook_deliveries ADD COLUMN event_type TEXT NOT NULL DEFAULT 'generation.succeeded';
UPDATE webhook_deliveries SET event_type = 'generation.' || (
    SELECT status FROM generations WHERE generations.id = webhook_deliveries.generation_id);
CREATE INDEX webhook_deliveries_by_user ON webhook_deliveries (user_id, created_at);
