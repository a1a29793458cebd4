DROP TABLE user_events;
DROP TABLE evidence;
DROP TABLE messages;
DROP TABLE conversations;
DELETE FROM list_revisions WHERE name = 'abuse_words';
ALTER TABLE prohibited_words DROP COLUMN list;
ALTER TABLE awards DROP COLUMN confidentiality_accepted_ip;
ALTER TABLE awards DROP COLUMN confidentiality_accepted_at;
ALTER TABLE awards DROP COLUMN confidentiality_terms;
