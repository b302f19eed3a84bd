-- Webhook delivery across nodes: an event is claimed (a lease) by the node
-- that delivers it, so every attempt is made by one node; order is kept per
-- interaction, so different interactions are delivered in parallel.
-- Events queued before this migration share one ordering key per integration.
ALTER TABLE webhook_outbox ADD COLUMN interaction_id TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_outbox ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX webhook_outbox_pending ON webhook_outbox (integration_id, interaction_id, created_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
