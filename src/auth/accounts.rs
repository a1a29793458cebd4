//! What the platform knows of an account before anything else: its role
//! and its status. Owned here because every authenticated request reads them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::enums::text_enum;

text_enum! {
    /// What an account may do on the platform. Staff accounts are separate from
    /// marketplace users and are created only by the `admin create` command.
    pub enum Role {
        User = "user",
        Admin = "admin",
        Moderator = "moderator",
        Finance = "finance",
    }
}

impl Role {
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

text_enum! {
    /// Account states; only `active` accounts can log in.
    pub enum UserStatus {
        Active = "active",
        /// Six months without activity (ACC-9).
        Reclaimed = "reclaimed",
        /// Closed at the user's request (ACC-10).
        Closed = "closed",
        /// Sealed for a fundamental breach (VIO-3).
        Sealed = "sealed",
    }
}
