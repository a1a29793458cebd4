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

CREATE TRIGGER demands_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON demands
    FOR EACH STATEMENT EXECUTE FUNCTION wgb_notify_change('demands');

CREATE TRIGGER list_revisions_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON list_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION wgb_notify_change('words');
