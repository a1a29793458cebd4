-- SVC-3 (issue 13): other server processes learn that discovery pages or
-- the prohibited-word list changed. A statement that changes the table
-- notifies channel `wgb_changes` with the topic; PostgreSQL delivers it when
-- (and only if) the transaction commits, once per transaction and payload.
CREATE FUNCTION wgb_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('wgb_changes', TG_ARGV[0]);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Demands: per row, and an UPDATE only when it changed something (taking
-- a row lock by a no-op UPDATE must not empty every server's page cache).
-- Notices repeated in one transaction are delivered once.
CREATE TRIGGER demands_notify_insert_delete
    AFTER INSERT OR DELETE ON demands
    FOR EACH STATEMENT EXECUTE FUNCTION wgb_notify_change('demands');
CREATE TRIGGER demands_notify_update
    AFTER UPDATE ON demands
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION wgb_notify_change('demands');

CREATE TRIGGER list_revisions_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON list_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION wgb_notify_change('words');
