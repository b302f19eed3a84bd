-- Single sign-on with OpenID Connect.

-- A sign-in in progress. Created when the browser leaves for the identity
-- provider (`state` kept as SHA-256, with the nonce and the PKCE verifier),
-- consumed once by the provider's callback, which then leaves a one-time
-- hand-off code (SHA-256) that the desktop exchanges once for a session token.
-- Kept in the store so that any node of a cluster can finish the flow.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT,
    code_hash TEXT,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    code_expires_at BIGINT,
    code_used_at BIGINT
);
CREATE UNIQUE INDEX oidc_logins_code ON oidc_logins (code_hash);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);

-- An account's identity at a provider: the issuer and its subject (`sub`).
CREATE TABLE oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_sign_in_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);
