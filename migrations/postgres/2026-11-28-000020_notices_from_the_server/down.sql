DROP TRIGGER demands_notify_update ON demands;
CREATE TRIGGER demands_notify_update
    AFTER UPDATE ON demands
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION wgb_notify_change('demands');

CREATE FUNCTION wgb_notify_user_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('wgb_changes', 'events:' || NEW.user_id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER user_events_notify
    AFTER INSERT ON user_events
    FOR EACH ROW EXECUTE FUNCTION wgb_notify_user_event();
