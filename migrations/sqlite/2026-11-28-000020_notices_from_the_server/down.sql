-- Issue 13/15: on PostgreSQL the hot writes' change notices move from
-- triggers to the server. SQLite is the one-process embedded default: the
-- process announces its own changes, nothing to change.
SELECT 1;
