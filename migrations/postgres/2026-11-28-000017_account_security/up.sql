-- ACC-12..14 and NTF-1..3 (issue 16): verified contacts, one-time codes,
-- staff second factor, the notice outbox, preferences, consent and devices.

-- ACC-12: when the phone and email were proved by a code. Accounts made
-- before this keep working and are asked to verify (NULL).
ALTER TABLE users ADD COLUMN phone_verified_at TIMESTAMP;
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;

-- ACC-12: one-time codes. target_key: HMAC of the normalised phone or
-- email (never the number itself); code_hash: HMAC of the code. A code is
-- spent (used_at) once, and refused after 5 wrong tries.
CREATE TABLE verification_codes (
    id BIGSERIAL PRIMARY KEY,
    channel TEXT NOT NULL,
    purpose TEXT NOT NULL,
    target_key TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    ip TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX verification_codes_target ON verification_codes (target_key, purpose, id);
CREATE INDEX verification_codes_created ON verification_codes (created_at);

-- ACC-14: a staff account's TOTP secret (RFC 6238), confirmed by a first
-- code; last_step: the newest time step used (no code twice).
CREATE TABLE staff_totp (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT,
    -- Wrong second factors in a row; five lock logins for 15 minutes.
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP
);
CREATE TABLE staff_recovery_codes (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX staff_recovery_codes_user ON staff_recovery_codes (user_id);
-- ACC-14: a staff session is fully open only after the second factor
-- (a session started before enrolment may only enrol).
ALTER TABLE sessions ADD COLUMN second_factor_at TIMESTAMP;

-- NTF-3: the app's push token, per session; the session's end removes it.
CREATE TABLE devices (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    session_id BIGINT NOT NULL REFERENCES sessions (id),
    platform TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX devices_token ON devices (platform, token);
CREATE INDEX devices_user ON devices (user_id);
CREATE INDEX devices_session ON devices (session_id);

-- NTF-1: what is to be sent, written in the transaction of the event.
-- dedupe_key (notice and channel, or code and channel) is unique: one
-- send per notice per channel. status: pending, sent, dead.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    notification_id BIGINT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- A code's text is cleared once sent (ACC-12: codes are kept only hashed).
    secret BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error TEXT,
    provider TEXT,
    provider_ref TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient, id);

-- NTF-2: a user's choice per notice kind and channel (absent: the default).
CREATE TABLE notification_preferences (
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, kind, channel)
);

-- NTF-2: marketing consent, every grant and withdrawal kept with its time
-- and how it was given (api, unsubscribe link, SMS keyword).
CREATE TABLE marketing_consents (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    granted BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    ip TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX marketing_consents_user ON marketing_consents (user_id, id);
