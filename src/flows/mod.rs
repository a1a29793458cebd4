//! The top layer: compositions across features. A flow calls the public
//! surface of several features in one transaction; no feature imports a
//! flow (`tests/architecture.rs`).

pub mod admin_user;
pub mod conduct;
pub mod conversations;
pub mod files;
pub mod jobs;
pub mod money;
pub mod payments;
pub mod profile;
pub mod refunds;
