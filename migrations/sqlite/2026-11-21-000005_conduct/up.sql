-- Conduct and the security deposit (VIO-1..6, DEP-1..8).

-- VIO-1: complaints about the other party of an award, and reports of any
-- user or demand.
CREATE TABLE complaints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    subject_id BIGINT NOT NULL REFERENCES users (id),
    category TEXT NOT NULL,
    body TEXT NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL,
    violation_id BIGINT,
    resolution TEXT,
    handled_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    handled_at TIMESTAMP
);
-- One open complaint per reporter and target: duplicates are refused.
CREATE UNIQUE INDEX complaints_one_open ON complaints (reporter_id, target_type, target_id)
    WHERE status = 'open';
CREATE INDEX complaints_reporter ON complaints (reporter_id, id);
CREATE INDEX complaints_subject ON complaints (subject_id, status);
CREATE INDEX complaints_status ON complaints (status, id);

-- VIO-2: violations staff record, each with its measures (VIO-3).
CREATE TABLE violations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    category TEXT NOT NULL,
    source TEXT NOT NULL,
    facts TEXT NOT NULL,
    decision TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    appeal_until TIMESTAMP NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX violations_user ON violations (user_id, id);

CREATE TABLE measures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    violation_id BIGINT NOT NULL REFERENCES violations (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    services TEXT,
    points INTEGER,
    amount BIGINT,
    previous_amount BIGINT,
    source TEXT,
    target_type TEXT,
    target_id BIGINT,
    ledger_transaction_id BIGINT REFERENCES ledger_transactions (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX measures_user ON measures (user_id, status);
CREATE INDEX measures_violation ON measures (violation_id);

-- VIO-6: one appeal per violation.
CREATE TABLE appeals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    violation_id BIGINT NOT NULL UNIQUE REFERENCES violations (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL,
    decision_reason TEXT,
    decided_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
CREATE INDEX appeals_status ON appeals (status, id);

-- DEP-1..DEP-6: the deposit requirement and its state; the balance lives in
-- the ledger account `user:{id}:deposit`.
CREATE TABLE deposits (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    required BIGINT NOT NULL CHECK (required >= 0),
    status TEXT NOT NULL,
    due_at TIMESTAMP,
    reason TEXT,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX deposits_status_due ON deposits (status, due_at);

-- DEP-7: refund requests, their observation and payout.
CREATE TABLE deposit_refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    observation_ends_at TIMESTAMP NOT NULL,
    amount BIGINT,
    payout_due_at TIMESTAMP,
    payment_id TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE UNIQUE INDEX deposit_refunds_one_live ON deposit_refunds (user_id)
    WHERE status IN ('observation', 'payout_pending');
CREATE INDEX deposit_refunds_status ON deposit_refunds (status, observation_ends_at);

-- Deposit payments and refund payouts go through the same channels as funds.
ALTER TABLE payments ADD COLUMN purpose TEXT NOT NULL DEFAULT 'funds';
