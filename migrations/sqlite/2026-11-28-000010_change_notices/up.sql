-- SVC-3 (issue 13): on PostgreSQL this migration adds the triggers that
-- tell other server processes of changes. SQLite is the one-process
-- embedded default: the process announces its own changes, nothing to add.
SELECT 1;
