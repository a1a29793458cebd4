//! An account's life after registration: member-name reclamation (ACC-5),
//! staff information requests (ACC-6), inactivity reclamation (ACC-9),
//! closure and anonymisation (ACC-10), and staff reads of a full record
//! (ACC-11).

pub mod closure;
pub mod inactivity;
pub mod routes;
