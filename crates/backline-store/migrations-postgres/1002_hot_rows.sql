-- The stream heads (users.stream_head) and transcript seqs (im_sessions.last_seq)
-- are updated at every message. Half-empty pages let PostgreSQL keep those
-- updates on the same page (HOT: no index entries, no index bloat), and a
-- low vacuum threshold clears the dead versions before they pile up.
ALTER TABLE users SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500);
ALTER TABLE im_sessions SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500);
