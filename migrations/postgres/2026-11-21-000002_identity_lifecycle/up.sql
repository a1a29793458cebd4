-- Identity and account lifecycle: real-name verification, restricted
-- identities, notifications, held member names, information requests,
-- closure requests, inactivity warnings.

ALTER TABLE users ADD COLUMN inactivity_warned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN status_changed_at TIMESTAMP;
ALTER TABLE users ADD COLUMN anonymized_at TIMESTAMP;
CREATE INDEX users_status_login ON users (status, last_login_at);

CREATE TABLE verifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('individual', 'organization')),
    legal_name TEXT NOT NULL,
    identity_hash TEXT NOT NULL,
    identity_masked TEXT NOT NULL,
    birth_date DATE,
    legal_representative TEXT,
    guardian_name TEXT,
    guardian_id_hash TEXT,
    guardian_id_masked TEXT,
    guardian_relation TEXT,
    status TEXT NOT NULL,
    reject_reason TEXT,
    submitted_at TIMESTAMP NOT NULL,
    reviewed_at TIMESTAMP,
    reviewed_by BIGINT REFERENCES users (id)
);
CREATE INDEX verifications_user ON verifications (user_id, id);
CREATE INDEX verifications_status ON verifications (status, id);
-- ACC-8: one identity binds at most one live account (pending or approved).
CREATE UNIQUE INDEX verifications_identity_live ON verifications (identity_hash)
    WHERE status IN ('pending', 'approved');

CREATE TABLE restricted_identities (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    value_hash TEXT NOT NULL,
    masked TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id),
    UNIQUE (kind, value_hash)
);

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_user ON notifications (user_id, id);

CREATE TABLE held_member_names (
    name_key TEXT PRIMARY KEY,
    member_name TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    held_at TIMESTAMP NOT NULL,
    held_by BIGINT REFERENCES users (id)
);

CREATE TABLE info_requests (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL,
    response TEXT,
    created_at TIMESTAMP NOT NULL,
    created_by BIGINT REFERENCES users (id),
    responded_at TIMESTAMP,
    cleared_at TIMESTAMP,
    cleared_by BIGINT REFERENCES users (id)
);
CREATE INDEX info_requests_user ON info_requests (user_id, status);

CREATE TABLE closure_requests (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    reason TEXT,
    status TEXT NOT NULL,
    decision_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by BIGINT REFERENCES users (id)
);
CREATE INDEX closure_requests_status ON closure_requests (status, id);
CREATE INDEX closure_requests_user ON closure_requests (user_id, id);
-- One open request per user.
CREATE UNIQUE INDEX closure_requests_one_pending ON closure_requests (user_id)
    WHERE status = 'pending';
