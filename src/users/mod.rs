//! Users: registration, login, the caller's own account, public profiles.

pub mod account_state;
pub mod dto;
pub mod models;
pub mod names;
pub mod routes;
pub mod security;
pub mod service;
