-- Full-text search over contact history (PostgreSQL: tsvector + GIN). `body`
-- holds the folded text (lower case, no accents) of an interaction's subject,
-- outcome, notes and transcripts; the application keeps it up to date.
CREATE TABLE history_fts (
    interaction_id TEXT PRIMARY KEY REFERENCES interactions (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    document tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED
);
CREATE INDEX history_fts_document ON history_fts USING GIN (document);
