-- Full-text search over contact history (SQLite: FTS5). `body` holds the
-- folded text (lower case, no accents) of an interaction's subject, outcome,
-- notes and transcripts; the application keeps it up to date.
CREATE VIRTUAL TABLE history_fts USING fts5(interaction_id UNINDEXED, body, tokenize = 'unicode61');
