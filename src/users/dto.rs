//! Request and response bodies of the users and sessions endpoints.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::models::{AccountKind, Role, User, UserStatus};
use crate::auth::sessions::TokenPair;

/// `POST /api/v1/auth/register` (ACC-2).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "member_name": "地推达人",
    "password": "tr0ub4dor&3",
    "email": "li.ming@example.com",
    "phone": "+8613800138000",
    "contact_name": "李明",
    "address": "上海市浦东新区世纪大道 100 号",
    "account_kind": "individual",
    "agreement_version": 1,
    "phone_code": "042917"
}))]
pub struct RegisterRequest {
    /// 2–20 Chinese characters, letters, digits, `_` or `-`; not all digits;
    /// no prohibited content (ACC-4).
    #[schema(pattern = r"^(?![0-9]+$)[\u4e00-\u9fa5A-Za-z0-9_-]{2,20}$")]
    pub member_name: String,
    /// 8–128 characters without control characters, with an ASCII letter and
    /// a character that is not one; not a well-known password; not containing
    /// the member name.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = r"^(?=.*[A-Za-z])(?=.*[^A-Za-z])[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]{8,128}$"
    )]
    pub password: String,
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    /// Mainland China mobile number, optional `+86`.
    #[schema(pattern = r"^(\+86)?1[3-9][0-9]{9}$")]
    pub phone: String,
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub contact_name: String,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub address: String,
    pub account_kind: AccountKind,
    /// The agreement version in force (`GET /api/v1/agreements/current`).
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::platform::http::integer::i32")]
    pub agreement_version: i32,
    /// The code sent by SMS to `phone` (`POST /api/v1/auth/verification-codes`
    /// with `purpose: register`; ACC-12).
    #[schema(pattern = r"^[0-9]{6}$")]
    pub phone_code: String,
}

/// `POST /api/v1/auth/login` (ACC-2: member name, email or phone).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "地推达人", "password": "tr0ub4dor&3"}))]
pub struct LoginRequest {
    /// Member name, email or mobile phone.
    #[schema(min_length = 1, max_length = 254)]
    pub login: String,
    #[schema(min_length = 1, max_length = 128)]
    pub password: String,
    /// Staff only (ACC-14): the authenticator's 6-digit code, or one of the
    /// recovery codes (`k3m7q-x2ba9`). Required once TOTP is enrolled; five
    /// wrong in a row lock staff logins for 15 minutes (429
    /// `auth.totp_locked`).
    #[schema(
        max_length = 20,
        pattern = r"^([0-9]{6}|[A-Za-z2-7]{5}-?[A-Za-z2-7]{5})$"
    )]
    pub totp_code: Option<String>,
}

/// `POST /api/v1/auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh (single use).
    #[schema(min_length = 1, max_length = 200)]
    pub refresh_token: String,
}

/// The caller's own account, with the contact data only they may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub id: i64,
    /// `null` while the name is reclaimed by staff (ACC-5).
    #[schema(example = "地推达人")]
    pub member_name: Option<String>,
    #[schema(example = "li.ming@example.com")]
    pub email: Option<String>,
    #[schema(example = "13800138000")]
    pub phone: Option<String>,
    /// ACC-12: the phone was proved by an SMS code (accounts made before
    /// codes existed are asked to verify: `PUT /api/v1/me/phone`).
    pub phone_verified: bool,
    /// ACC-12: the email was proved by a code (`POST /api/v1/me/email/verification`).
    pub email_verified: bool,
    #[schema(example = "李明")]
    pub contact_name: String,
    #[schema(example = "上海市浦东新区世纪大道 100 号")]
    pub address: String,
    pub account_kind: AccountKind,
    pub role: Role,
    pub status: UserStatus,
    /// The latest agreement version this account accepted.
    pub agreement_version: Option<i32>,
    /// The version in force awaiting this account's acceptance (AGR-1):
    /// until it is accepted, other calls answer 428
    /// `agreement.acceptance_required`. `null` when nothing is pending.
    pub agreement_pending_version: Option<i32>,
    /// Real-name verification: `none`, `pending`, `approved`, `rejected`.
    #[schema(example = "approved")]
    pub verification_status: String,
    /// Restrictions in force (e.g. `info_request_pending`: publishing and
    /// bidding are closed until staff clear it).
    pub restrictions: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl MeView {
    pub fn new(user: User, agreement_version: Option<i32>) -> Self {
        MeView {
            id: user.id,
            member_name: user.member_name,
            email: user.email,
            phone: user.phone,
            phone_verified: user.phone_verified_at.is_some(),
            email_verified: user.email_verified_at.is_some(),
            contact_name: user.contact_name,
            address: user.address,
            account_kind: AccountKind::parse(&user.account_kind),
            role: user.role,
            status: user.status,
            agreement_version,
            agreement_pending_version: None,
            verification_status: "none".into(),
            restrictions: Vec::new(),
            created_at: user.created_at.and_utc(),
            last_login_at: user.last_login_at.map(|t| t.and_utc()),
        }
    }
}

/// The account and a fresh token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: MeView,
    pub tokens: TokenPair,
}

/// `PATCH /api/v1/me`: only the members present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contact_name": "李明", "address": "北京市海淀区中关村大街 1 号"}))]
pub struct UpdateMeRequest {
    /// A new member name: only while the previous one is reclaimed by staff
    /// (ACC-5); otherwise 409 `member_name.locked`.
    #[schema(pattern = r"^(?![0-9]+$)[\u4e00-\u9fa5A-Za-z0-9_-]{2,20}$")]
    pub member_name: Option<String>,
    /// A new email is unverified until a code proves it (ACC-12).
    #[schema(format = "email", max_length = 254)]
    pub email: Option<String>,
    /// Not part of the document: accepted only to answer 422
    /// `phone.code_required` naming `PUT /api/v1/me/phone` (ACC-12) to a
    /// client written before phone codes.
    #[schema(ignore)]
    pub phone: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub contact_name: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub address: Option<String>,
}

/// `PUT /api/v1/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    /// The same rule as at registration.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = r"^(?=.*[A-Za-z])(?=.*[^A-Za-z])[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]{8,128}$"
    )]
    pub new_password: String,
}

/// One live login session of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// True for the session of the token making this request.
    pub current: bool,
}

/// Whether a member name can be registered now.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"available": false, "reason_code": "member_name.prohibited", "category": "obscenity_gambling_violence"}))]
pub struct Availability {
    pub available: bool,
    /// Why not: `member_name.invalid`, `member_name.prohibited` or `member_name.taken`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// For `member_name.prohibited`: the category (never the word).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<crate::content::Category>,
}
