DROP TABLE audit_log;
DROP TABLE list_revisions;
DROP TABLE prohibited_words;
DROP TABLE agreement_acceptances;
DROP TABLE agreements;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
