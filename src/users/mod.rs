//! Users: registration, login, the caller's own account, public profiles.

pub mod dto;
pub mod models;
pub mod names;
pub mod routes;
pub mod service;
pub mod status;
