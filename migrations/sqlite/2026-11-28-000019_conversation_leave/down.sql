ALTER TABLE conversations DROP COLUMN provider_left_at;
ALTER TABLE conversations DROP COLUMN employer_left_at;
