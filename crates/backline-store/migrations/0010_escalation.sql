-- Escalation of group consultations: each group has an answer-time target;
-- a consultation still unanswered past it is marked on the supervisors'
-- board and, when the group says so, offered to its supervisors at once.

-- Seconds an offer may wait unanswered before it escalates; 0: no target.
ALTER TABLE user_groups ADD COLUMN escalate_secs BIGINT NOT NULL DEFAULT 0;
-- 1: an escalated offer goes to the group's supervisors at once.
ALTER TABLE user_groups ADD COLUMN escalate_to_supervisors BIGINT NOT NULL DEFAULT 0;

-- When the offer escalates (from the group's target when it was made), and
-- when it did.
ALTER TABLE group_offers ADD COLUMN escalate_at BIGINT;
ALTER TABLE group_offers ADD COLUMN escalated_at BIGINT;
CREATE INDEX group_offers_escalation ON group_offers (state, escalate_at);
