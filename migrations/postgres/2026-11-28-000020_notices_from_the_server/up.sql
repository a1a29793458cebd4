-- Issue 13/15: the two hot writes no longer NOTIFY from a trigger. A
-- NOTIFY in a transaction serialises its commit with every other
-- notifying commit of the cluster (bids and messages were ~10% slower for
-- it). A bid's count on its demand and a user's new event are announced
-- to the other processes by the server that wrote them, after the commit,
-- many in one notice statement (platform::changes). Servers older than
-- this migration count on the triggers: replace them all, not one by one
-- (until then their bids and events reach other processes' caches and
-- streams only at expiry or the next heartbeat).
DROP TRIGGER user_events_notify ON user_events;
DROP FUNCTION wgb_notify_user_event();

-- Demands still notify every other change. Only the server's bid paths
-- change `bid_count`, alone in their UPDATE, and announce it themselves.
DROP TRIGGER demands_notify_update ON demands;
CREATE TRIGGER demands_notify_update
    AFTER UPDATE ON demands
    FOR EACH ROW WHEN (OLD.bid_count = NEW.bid_count AND OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION wgb_notify_change('demands');
