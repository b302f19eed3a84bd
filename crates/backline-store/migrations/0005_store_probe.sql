-- One row the store writes to find out whether it can write again after a
-- fault (a full disk, an I/O error, a lost PostgreSQL).
CREATE TABLE store_probe (
    id BIGINT PRIMARY KEY,
    checked_at BIGINT NOT NULL,
    filler TEXT NOT NULL DEFAULT ''
);
INSERT INTO store_probe (id, checked_at) VALUES (1, 0);
