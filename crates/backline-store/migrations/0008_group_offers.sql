-- Group consultations: a consultation offered to a group's members in waves,
-- the first to accept takes it. The offer is a row beside its IM session;
-- each member offered is an invitee of that session.

-- A group's offer settings: members offered per wave, how long a wave waits
-- for an answer before the offer widens, where it overflows to.
ALTER TABLE user_groups ADD COLUMN wave_size BIGINT NOT NULL DEFAULT 1;
ALTER TABLE user_groups ADD COLUMN answer_secs BIGINT NOT NULL DEFAULT 30;
ALTER TABLE user_groups ADD COLUMN overflow_group_id TEXT;

CREATE TABLE group_supervisors (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_supervisors_user ON group_supervisors (user_id);

-- Since when an agent has been idle (unix ms): set when they become Ready and
-- when they take an offer; offers go to the longest idle first.
ALTER TABLE users ADD COLUMN idle_since BIGINT NOT NULL DEFAULT 0;

CREATE TABLE group_offers (
    session_id TEXT PRIMARY KEY REFERENCES im_sessions (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    -- open, taken, cancelled
    state TEXT NOT NULL,
    -- members, overflow, supervisors: where the latest wave went
    stage TEXT NOT NULL,
    wave BIGINT NOT NULL,
    -- when the current wave stops waiting and the offer widens
    wave_expires_at BIGINT NOT NULL,
    taken_by TEXT,
    taken_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX group_offers_due ON group_offers (state, wave_expires_at);

-- Missed invitations: one that timed out and was never answered stays in the
-- target's Missed list until they reply to it or dismiss it.
ALTER TABLE session_participants ADD COLUMN missed_cleared BIGINT NOT NULL DEFAULT 0;

-- What a consultation about an interaction came to, recorded by its initiator.
CREATE TABLE consultation_outcomes (
    session_id TEXT PRIMARY KEY REFERENCES im_sessions (id) ON DELETE CASCADE,
    outcome TEXT NOT NULL,
    note TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
