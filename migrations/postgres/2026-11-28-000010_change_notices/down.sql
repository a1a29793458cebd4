DROP TRIGGER list_revisions_notify_change ON list_revisions;
DROP TRIGGER demands_notify_change ON demands;
DROP FUNCTION wgb_notify_change();
