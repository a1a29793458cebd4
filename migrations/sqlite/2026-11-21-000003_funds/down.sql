DROP TABLE idempotency_keys;
DROP TABLE payments;
DROP TABLE ledger_entries;
DROP TABLE ledger_transactions;
DROP TABLE ledger_accounts;
