//! Funds (FND-1..FND-7): double-entry ledger, payments through the
//! channels, idempotent money requests, payee accounts, staff money
//! operations, reconciliation with the channels' statements, and reading.

pub mod bills;
pub mod idempotency;
pub mod ledger;
pub mod operations;
pub mod payee_routes;
pub mod payees;
pub mod payments;
pub mod reading;
pub mod reconciliation;
pub mod reconciliation_routes;
pub mod routes;
