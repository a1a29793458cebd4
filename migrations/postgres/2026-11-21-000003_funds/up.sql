-- Funds (FND-1..3): a double-entry ledger, payments through channels, and
-- idempotency keys for money requests.

CREATE TABLE ledger_accounts (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    owner_id BIGINT REFERENCES users (id),
    kind TEXT NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0,
    allow_negative BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    -- FND-1: no balance ever goes negative (clearing accounts mirror money
    -- outside the platform and may).
    CHECK (allow_negative OR balance >= 0)
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id);

CREATE TABLE ledger_transactions (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    reference_type TEXT,
    reference_id TEXT,
    memo TEXT NOT NULL,
    reverses_id BIGINT REFERENCES ledger_transactions (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_transactions_reference ON ledger_transactions (reference_type, reference_id);

CREATE TABLE ledger_entries (
    id BIGSERIAL PRIMARY KEY,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
    account_id BIGINT NOT NULL REFERENCES ledger_accounts (id),
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

CREATE TABLE payments (
    id BIGSERIAL PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    direction TEXT NOT NULL,
    channel TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    status TEXT NOT NULL,
    channel_reference TEXT,
    failure_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
CREATE INDEX payments_user ON payments (user_id, id);

CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users (id),
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Platform and channel accounts.
INSERT INTO ledger_accounts (code, kind, allow_negative, created_at) VALUES
    ('platform:fees', 'platform_fees', FALSE, '2026-01-01 00:00:00'),
    ('clearing:alipay', 'channel_clearing', TRUE, '2026-01-01 00:00:00'),
    ('clearing:wechat', 'channel_clearing', TRUE, '2026-01-01 00:00:00'),
    ('clearing:sandbox', 'channel_clearing', TRUE, '2026-01-01 00:00:00');
