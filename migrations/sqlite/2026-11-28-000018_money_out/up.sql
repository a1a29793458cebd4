-- FND-4..7 (issue 17): payee accounts, channel orders and payouts, staff
-- money operations with a second approver, reconciliation with statements.

-- FND-4: where a user's money goes. identifier: the Alipay login id or the
-- WeChat openid (shown only masked); real_name: the Alipay account's name,
-- equal to the verified legal or organisation name. removed_at: unbound
-- (kept, as payments name it).
CREATE TABLE payee_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    identifier TEXT NOT NULL,
    real_name TEXT,
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX payee_accounts_user ON payee_accounts (user_id, id);

-- FND-4/5: a payout names its payee; a channel order (WeChat prepay_id) is
-- kept so the app parameters can be signed again; payouts are submitted to
-- the channel's transfer API by the scheduler (submitted_at), and a payment
-- without its callback is queried (queried_at).
ALTER TABLE payments ADD COLUMN payee_account_id BIGINT REFERENCES payee_accounts (id);
ALTER TABLE payments ADD COLUMN channel_order TEXT;
ALTER TABLE payments ADD COLUMN submitted_at TIMESTAMP;
ALTER TABLE payments ADD COLUMN queried_at TIMESTAMP;
CREATE INDEX payments_pending ON payments (status, created_at);
CREATE INDEX payments_channel_reference ON payments (channel, channel_reference);
ALTER TABLE deposit_refunds ADD COLUMN payee_account_id BIGINT REFERENCES payee_accounts (id);

-- FND-6: a staff money operation; above the approval threshold it waits
-- for a second finance person (approved_by <> created_by). created_by NULL:
-- opened by the platform itself (ACC-9 reclamation).
CREATE TABLE money_operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    serves_type TEXT NOT NULL,
    serves_id TEXT NOT NULL,
    payee_account_id BIGINT REFERENCES payee_accounts (id),
    status TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    approved_by BIGINT REFERENCES users (id),
    decision_note TEXT,
    payment_id TEXT,
    ledger_tx_id BIGINT,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
CREATE INDEX money_operations_status ON money_operations (status, id);
CREATE INDEX money_operations_user ON money_operations (user_id, id);

-- FND-7: an imported channel statement and the differences it showed.
CREATE TABLE statement_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    statement_date DATE NOT NULL,
    rows_read INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    imported_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
-- One statement per channel and day: a second import is refused.
CREATE UNIQUE INDEX statement_imports_day ON statement_imports (channel, statement_date);

CREATE TABLE reconciliation_differences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    import_id BIGINT NOT NULL REFERENCES statement_imports (id),
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel_reference TEXT,
    payment_id TEXT,
    our_amount BIGINT,
    their_amount BIGINT,
    our_status TEXT,
    their_status TEXT,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by BIGINT REFERENCES users (id),
    resolution TEXT
);
CREATE INDEX reconciliation_differences_open ON reconciliation_differences (resolved_at, id);

-- FND-6: compensation the platform pays out of its own pocket (an expense,
-- so it may run below zero).
INSERT INTO ledger_accounts (code, kind, allow_negative, created_at) VALUES
    ('platform:compensation', 'platform_compensation', TRUE, '2026-01-01 00:00:00');
