//! The bottom layer: everything a feature needs that carries no product
//! rule — settings, state, errors, the database, HTTP plumbing, the clock
//! and China calendar, money, the text policy, paging, rate limits, token
//! signing, payment-channel signatures and the OpenAPI scaffolding.
//! Nothing here imports a feature (`tests/architecture.rs`).

pub mod cache;
pub mod changes;
pub mod channels;
pub mod clock;
pub mod config;
pub mod contact;
pub mod db;
pub mod delivery;
pub mod enums;
pub mod error;
pub mod geo;
pub mod http;
pub mod jwt;
pub mod logging;
pub mod metrics;
pub mod money;
pub mod openapi;
pub mod ops;
pub mod paging;
pub mod ratelimit;
pub mod regions;
pub mod startup;
pub mod state;
pub mod storage;
pub mod text;
pub mod wechat_login;
