DROP TRIGGER user_events_notify ON user_events;
DROP FUNCTION wgb_notify_user_event();
DROP TABLE user_events;
DROP TABLE evidence;
DROP TABLE messages;
DROP TABLE conversations;
DELETE FROM list_revisions WHERE name = 'abuse_words';
ALTER TABLE prohibited_words DROP COLUMN list;
