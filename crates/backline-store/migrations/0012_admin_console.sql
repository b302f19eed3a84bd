-- The administration console: the audit log filtered by actor, resource or
-- action (newest first), and an integration's webhook deliveries.
CREATE INDEX audit_log_actor ON audit_log (actor_id, ts);
CREATE INDEX audit_log_resource ON audit_log (resource, ts);
CREATE INDEX audit_log_action ON audit_log (action, ts);
CREATE INDEX webhook_outbox_integration ON webhook_outbox (integration_id, created_at);
