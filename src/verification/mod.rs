//! Real-name verification (ACC-1, ACC-8) and the restricted-identity list
//! (ACC-3). Identity numbers are validated, looked up only by a keyed hash
//! and shown only masked, even to their owner (ACC-11).

pub mod dto;
pub mod ids;
pub mod info_request_routes;
pub mod info_requests;
pub mod model;
pub mod restricted;
pub mod routes;
pub mod service;
