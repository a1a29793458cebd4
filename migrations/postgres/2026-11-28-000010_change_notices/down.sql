DROP TRIGGER list_revisions_notify_change ON list_revisions;
DROP TRIGGER demands_notify_update ON demands;
DROP TRIGGER demands_notify_insert_delete ON demands;
DROP FUNCTION wgb_notify_change();
