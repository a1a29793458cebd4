-- Disputes (DSP-1): platform mediation of awards.
CREATE TABLE disputes (
    id BIGSERIAL PRIMARY KEY,
    award_id BIGINT NOT NULL REFERENCES awards (id),
    employer_id BIGINT NOT NULL REFERENCES users (id),
    provider_id BIGINT NOT NULL REFERENCES users (id),
    opened_by BIGINT NOT NULL REFERENCES users (id),
    category TEXT NOT NULL,
    claim_amount BIGINT NOT NULL CHECK (claim_amount > 0),
    -- The award's status when the dispute opened (to restore on decision).
    award_status_before TEXT NOT NULL,
    status TEXT NOT NULL,
    respond_by TIMESTAMP NOT NULL,
    responded_at TIMESTAMP,
    silence_recorded_at TIMESTAMP,
    escalated_at TIMESTAMP,
    outcome TEXT,
    decision_reason TEXT,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
-- One open dispute per award.
CREATE UNIQUE INDEX disputes_one_open ON disputes (award_id) WHERE status = 'open';
CREATE INDEX disputes_employer ON disputes (employer_id, status);
CREATE INDEX disputes_provider ON disputes (provider_id, status);
CREATE INDEX disputes_status ON disputes (status, id);

-- The timeline: opening, statements, silence, escalation, decision.
CREATE TABLE dispute_events (
    id BIGSERIAL PRIMARY KEY,
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    actor_id BIGINT REFERENCES users (id),
    kind TEXT NOT NULL,
    body TEXT,
    evidence TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dispute_events_dispute ON dispute_events (dispute_id, id);
