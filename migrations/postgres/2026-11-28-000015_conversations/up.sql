-- MSG-1..8 (issue 15): conversations between an award's parties (or a
-- provider and a demand's owner before an award), their messages, the
-- abuse-word list and the evidence records the platform keeps of conduct.

-- MSG-3: the abuse list (insults, threats) shares the prohibited list's
-- table and normalisation; a word is on one list.
ALTER TABLE prohibited_words ADD COLUMN list TEXT NOT NULL DEFAULT 'prohibited';
INSERT INTO list_revisions (name, revision) VALUES ('abuse_words', 1);

-- MSG-6: confidentiality terms an employer attaches when awarding, and the
-- provider's acceptance (time and IP).
ALTER TABLE awards ADD COLUMN confidentiality_terms TEXT;
ALTER TABLE awards ADD COLUMN confidentiality_accepted_at TIMESTAMP;
ALTER TABLE awards ADD COLUMN confidentiality_accepted_ip TEXT;

-- MSG-1: one per award (award_id), or one per demand and provider before
-- an award. stage mirrors the award as the marketplace reports it:
-- pre_award, in_progress, delivered, disputed, ended. closes_at: read-only
-- from then (30 days after the award ends).
CREATE TABLE conversations (
    id BIGSERIAL PRIMARY KEY,
    demand_id BIGINT NOT NULL REFERENCES demands (id),
    award_id BIGINT REFERENCES awards (id),
    employer_id BIGINT NOT NULL REFERENCES users (id),
    provider_id BIGINT NOT NULL REFERENCES users (id),
    stage TEXT NOT NULL,
    employer_blocked_at TIMESTAMP,
    provider_blocked_at TIMESTAMP,
    -- MSG-5: the first employer message the provider has not answered.
    awaiting_since TIMESTAMP,
    warned_at TIMESTAMP,
    reported_at TIMESTAMP,
    closes_at TIMESTAMP,
    last_message_at TIMESTAMP,
    -- MSG-6: the award came with confidentiality terms.
    confidential_terms BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX conversations_award ON conversations (award_id) WHERE award_id IS NOT NULL;
CREATE UNIQUE INDEX conversations_pre_award ON conversations (demand_id, provider_id) WHERE award_id IS NULL;
CREATE INDEX conversations_employer ON conversations (employer_id, id);
CREATE INDEX conversations_provider ON conversations (provider_id, id);
CREATE INDEX conversations_clock ON conversations (awaiting_since) WHERE awaiting_since IS NOT NULL;

-- MSG-1/2: never edited or deleted. sender_id NULL: a system event. One
-- recipient (the other party), so delivery and reading are columns.
CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    sender_id BIGINT REFERENCES users (id),
    event TEXT,
    body TEXT NOT NULL,
    flagged BOOLEAN NOT NULL DEFAULT FALSE,
    -- MSG-6: its files are confidential (served after the terms are
    -- accepted; every download is evidence).
    confidential BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    read_at TIMESTAMP
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unread ON messages (conversation_id, sender_id) WHERE read_at IS NULL;

-- MSG-7: what the platform saw (an abusive message, a block during work,
-- an unanswered employer, a confidential download), for moderators to
-- cite in a violation.
CREATE TABLE evidence (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    award_id BIGINT REFERENCES awards (id),
    conversation_id BIGINT REFERENCES conversations (id),
    message_id BIGINT REFERENCES messages (id),
    summary TEXT NOT NULL,
    violation_id BIGINT REFERENCES violations (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX evidence_queue ON evidence (status, id);
CREATE INDEX evidence_user ON evidence (user_id, id);
CREATE INDEX evidence_award ON evidence (award_id, id) WHERE award_id IS NOT NULL;
CREATE INDEX evidence_violation ON evidence (violation_id) WHERE violation_id IS NOT NULL;

-- MSG-2: what each user's live event stream (GET /me/events) delivers, in
-- id order: new messages, notices, award steps. Resumable by id
-- (Last-Event-ID); kept 7 days.
CREATE TABLE user_events (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX user_events_user ON user_events (user_id, id);
CREATE INDEX user_events_created ON user_events (created_at);

-- Other server processes wake the user's open streams: the payload names
-- the user (delivered when the transaction commits).
CREATE FUNCTION wgb_notify_user_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('wgb_changes', 'events:' || NEW.user_id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER user_events_notify
    AFTER INSERT ON user_events
    FOR EACH ROW EXECUTE FUNCTION wgb_notify_user_event();
