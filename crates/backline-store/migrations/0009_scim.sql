-- Provisioning with SCIM 2.0: what an integration may call, and the SCIM
-- attributes of the accounts and groups an identity provider manages.

-- Comma-separated scopes: `platform` (the platform API), `scim` (provisioning).
ALTER TABLE integrations ADD COLUMN scopes TEXT NOT NULL DEFAULT 'platform';

-- An account as a SCIM resource: its identity provider's id, its times, and
-- whether the provider deleted it (the account stays, disabled, for history).
CREATE TABLE scim_users (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE scim_groups (
    group_id TEXT PRIMARY KEY REFERENCES user_groups (id) ON DELETE CASCADE,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
