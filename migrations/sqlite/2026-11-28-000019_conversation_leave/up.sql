-- MSG-4: a party may leave a conversation (and return by writing again);
-- a provider leaving during an award in progress is evidence (DR ②).
ALTER TABLE conversations ADD COLUMN employer_left_at TIMESTAMP;
ALTER TABLE conversations ADD COLUMN provider_left_at TIMESTAMP;
