-- Interactions, contacts, contact history, consultations, integrations,
-- the audit log and the webhook outbox. Portable subset, as in 0001.

ALTER TABLE im_sessions ADD COLUMN parent_interaction_id TEXT;
CREATE INDEX im_sessions_parent ON im_sessions (parent_interaction_id);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    webhook_url TEXT,
    webhook_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    -- JSON arrays, read and written whole.
    phones TEXT NOT NULL,
    emails TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    integration_id TEXT REFERENCES integrations (id),
    external_id TEXT,
    media TEXT NOT NULL,
    state TEXT NOT NULL,
    agent_id TEXT REFERENCES users (id),
    contact_id TEXT REFERENCES contacts (id),
    subject TEXT NOT NULL,
    -- JSON array of {key, value}, in order.
    case_data TEXT NOT NULL,
    outcome TEXT,
    notes TEXT,
    agent_done BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE UNIQUE INDEX interactions_external ON interactions (integration_id, external_id);
CREATE INDEX interactions_contact ON interactions (contact_id, created_at);
CREATE INDEX interactions_agent ON interactions (agent_id, agent_done);

CREATE TABLE interaction_transcripts (
    interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    session_id TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    attached_at BIGINT NOT NULL,
    PRIMARY KEY (interaction_id, position)
);
CREATE UNIQUE INDEX interaction_transcripts_session ON interaction_transcripts (interaction_id, session_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    ts BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    allowed BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log (ts);

CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (integration_id, delivered_at, failed_at, created_at);
