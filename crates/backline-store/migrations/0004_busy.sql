-- "Busy" is set automatically while an agent is on a call; the status chosen
-- before is kept here and restored when the last call ends.
ALTER TABLE users ADD COLUMN status_before_call TEXT;
