//! Funds (FND-1..FND-3): money type, double-entry ledger, payment channels
//! with signed callbacks, idempotent money requests, and reading.

pub mod idempotency;
pub mod ledger;
pub mod payees;
pub mod payments;
pub mod reading;
pub mod routes;
