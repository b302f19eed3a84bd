-- Backline core schema. Portable subset shared by SQLite and PostgreSQL:
-- TEXT, BIGINT and DOUBLE PRECISION only; booleans are BIGINT 0/1;
-- timestamps are unix milliseconds; ids are UUIDv7 text made by the application.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    search_key TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    im_permitted BIGINT NOT NULL DEFAULT 1,
    disabled BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'not_ready',
    status_reason TEXT,
    zoom BIGINT NOT NULL DEFAULT 100,
    stream_head BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    search_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE auth_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);

CREATE TABLE status_reasons (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    position BIGINT NOT NULL
);

CREATE TABLE favourites (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, target_id)
);

CREATE TABLE im_sessions (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT,
    last_seq BIGINT NOT NULL DEFAULT 0,
    client_id TEXT
);
CREATE UNIQUE INDEX im_sessions_client_id ON im_sessions (created_by, client_id);

CREATE TABLE session_participants (
    session_id TEXT NOT NULL REFERENCES im_sessions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    color BIGINT NOT NULL,
    invited_at BIGINT,
    invite_expires_at BIGINT,
    invite_timed_out BIGINT NOT NULL DEFAULT 0,
    joined_at BIGINT,
    left_at BIGINT,
    done BIGINT NOT NULL DEFAULT 0,
    delivered_seq BIGINT NOT NULL DEFAULT 0,
    read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX session_participants_user ON session_participants (user_id, done);
CREATE INDEX session_participants_pending ON session_participants (state, invite_timed_out, invite_expires_at);

CREATE TABLE transcript (
    session_id TEXT NOT NULL REFERENCES im_sessions (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    subject_id TEXT,
    body TEXT,
    client_msg_id TEXT,
    PRIMARY KEY (session_id, seq)
);
CREATE UNIQUE INDEX transcript_client_msg ON transcript (session_id, actor_id, client_msg_id);

CREATE TABLE user_events (
    user_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    ts BIGINT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (user_id, seq)
);
CREATE INDEX user_events_ts ON user_events (ts);
