//! Stored users and the small enums their columns hold.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    pub role: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
    /// Which inactivity warning (14 or 7 days before) was sent since the last login.
    pub inactivity_warned: i32,
    pub status_changed_at: Option<NaiveDateTime>,
    pub anonymized_at: Option<NaiveDateTime>,
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
    pub role: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login_at: Option<NaiveDateTime>,
}

/// What an account may do on the platform. Staff accounts are separate from
/// marketplace users and are created only by the `admin create` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
    Moderator,
    Finance,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Finance => "finance",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "user" => Role::User,
            "admin" => Role::Admin,
            "moderator" => Role::Moderator,
            "finance" => Role::Finance,
            _ => return None,
        })
    }

    pub fn is_staff(self) -> bool {
        self != Role::User
    }
}

/// Individual person or legal entity (ACC-1, ACC-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Individual,
    Organization,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Individual => "individual",
            AccountKind::Organization => "organization",
        }
    }

    pub fn parse(s: &str) -> AccountKind {
        if s == "organization" {
            AccountKind::Organization
        } else {
            AccountKind::Individual
        }
    }
}

/// Account states; only `active` accounts can log in.
pub mod status {
    pub const ACTIVE: &str = "active";
    /// Six months without login (ACC-9).
    pub const RECLAIMED: &str = "reclaimed";
    /// Closed at the user's request (ACC-10).
    pub const CLOSED: &str = "closed";
    /// Sealed for a fundamental breach (VIO-3).
    pub const SEALED: &str = "sealed";
}
