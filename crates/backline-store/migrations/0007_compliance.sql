-- Compliance controls.
-- Redaction: an administrator replaces a message's text; the entry keeps its
-- seq, and who redacted it and when are kept with it.
ALTER TABLE transcript ADD COLUMN redacted_by TEXT;
ALTER TABLE transcript ADD COLUMN redacted_at BIGINT;
-- Legal holds: a contact or an interaction (target_kind) that retention and
-- erasure leave alone while the hold stands.
CREATE TABLE legal_holds (
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    PRIMARY KEY (target_kind, target_id)
);
