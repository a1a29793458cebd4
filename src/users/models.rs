//! Stored users and the small enums their columns hold.

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use crate::auth::accounts::{AccountKind, Role, UserStatus};
use crate::platform::db::schema::users;

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub member_name: Option<String>,
    pub member_name_key: Option<String>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub phone: Option<String>,
    pub password_hash: String,
    pub contact_name: String,
    pub address: String,
    pub account_kind: String,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    /// Which inactivity warning (14 or 7 days before) was sent since the last login.
    pub inactivity_warned: i32,
    pub status_changed_at: Option<NaiveDateTime>,
    pub anonymized_at: Option<NaiveDateTime>,
    /// ACC-12: when a code proved the phone and the email.
    pub phone_verified_at: Option<NaiveDateTime>,
    pub email_verified_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub member_name: Option<&'a str>,
    pub member_name_key: Option<&'a str>,
    pub email: Option<&'a str>,
    pub email_key: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub password_hash: &'a str,
    pub contact_name: &'a str,
    pub address: &'a str,
    pub account_kind: &'a str,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    pub phone_verified_at: Option<NaiveDateTime>,
}

/// `inactivity_warned` values: which warning was sent since the last login.
pub const WARNED_NONE: i32 = 0;
pub const WARNED_14_DAYS: i32 = 1;
pub const WARNED_7_DAYS: i32 = 2;
