-- Voice: calls and their parties. Media never passes through the server;
-- this is the call state that signalling, hold, transfer and conference act on.

CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    interaction_id TEXT,
    consultation_session_id TEXT,
    contact_call_id TEXT,
    created_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    ended_reason TEXT,
    hold_started_at BIGINT,
    ring_expires_at BIGINT,
    -- SHA-256 of the click-to-call page's token for this call.
    caller_token_hash TEXT,
    -- Since when no agent of this contact call has had a connected desktop.
    orphaned_since BIGINT
);
CREATE INDEX calls_interaction ON calls (interaction_id, state);
CREATE INDEX calls_ringing ON calls (state, ring_expires_at);
CREATE INDEX calls_contact_call ON calls (contact_call_id, state);
CREATE UNIQUE INDEX calls_caller_token ON calls (caller_token_hash);

CREATE TABLE call_parties (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    party_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    state TEXT NOT NULL,
    device_id TEXT,
    joined_at BIGINT,
    left_at BIGINT,
    PRIMARY KEY (call_id, party_id)
);
CREATE INDEX call_parties_party ON call_parties (party_id, state);

-- Running logs kept with an interaction (e.g. a call's steps), appended line by line.
ALTER TABLE interaction_transcripts ADD COLUMN updated_at BIGINT;
