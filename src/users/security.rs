//! Verified contacts, password reset and the staff second factor
//! (ACC-12, ACC-13, ACC-14): `POST /auth/verification-codes`,
//! `POST /auth/password-reset`, `PUT /me/phone`, `POST /me/email/verification`,
//! `POST /admin/me/totp`, `POST /admin/me/totp/confirm`.

use actix_web::{HttpResponse, delete, post, put, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::MeView;
use super::service::{load_user, me};
use crate::auth::codes::{self, CodeChannel, CodePurpose as Purpose};
use crate::auth::{AuthUser, AuthUserAnyAgreement, password, sessions, totp};
use crate::notifications::{Notice, notify_via};
use crate::platform::contact::{Email, Phone};
use crate::platform::db::schema::users;
use crate::platform::db::unique_or;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::{ClientMeta, rate_key};
use crate::platform::ratelimit::RateNote;
use crate::platform::state::AppState;

/// The normalised target of a code: E.164-style phone or lower-case email.
fn normalise(channel: CodeChannel, raw: &str, field: &str) -> AppResult<String> {
    let rename = |mut e: AppError| {
        for f in &mut e.errors {
            f.field = field.to_string();
        }
        e
    };
    match channel {
        CodeChannel::Sms => Ok(Phone::parse(raw).map_err(rename)?.as_str().to_string()),
        CodeChannel::Email => Ok(Email::parse(raw).map_err(rename)?.key().to_string()),
    }
}

/// Checks `code` for the target in a transaction of its own (a wrong try
/// is counted and committed); the id of the right code, to spend with the
/// change it allows.
pub async fn try_code(
    state: &AppState,
    channel: CodeChannel,
    purpose: Purpose,
    raw_target: &str,
    target_field: &str,
    code: &str,
) -> AppResult<i64> {
    let target = normalise(channel, raw_target, target_field)?;
    let code_field = if purpose == Purpose::Register {
        "phone_code"
    } else {
        "code"
    };
    let rename = |mut e: AppError| {
        for f in &mut e.errors {
            f.field = code_field.to_string();
        }
        e
    };
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(rename(codes::invalid_code()));
    }
    let key = codes::target_key(state, channel, &target);
    let code = code.to_string();
    let attempt = state
        .tx(move |conn, st| codes::attempt(conn, st, purpose, &key, &code))
        .await?;
    attempt.into_result().map_err(rename)
}

/// `POST /api/v1/auth/verification-codes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "sms", "purpose": "register", "target": "+8613800138000"}))]
pub struct CodeRequest {
    /// `register` and `change_phone` by SMS, `verify_email` by email,
    /// `reset_password` by either.
    pub channel: CodeChannel,
    pub purpose: Purpose,
    /// The mobile number (SMS) or email address (email).
    #[schema(min_length = 1, max_length = 254)]
    pub target: String,
}

/// The same answer whatever the target (ACC-12).
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeAccepted {
    /// Seconds the code is valid.
    #[schema(example = 300)]
    pub expires_in: i64,
    /// Seconds before another code may be requested for the target.
    #[schema(example = 60)]
    pub resend_after: i64,
}

/// Send a one-time code by SMS or email (ACC-12). Answers 202 whether or
/// not the number or address is registered; a reset code for one that no
/// account has is not sent. Six digits, valid 5 minutes, 5 tries; another
/// code no sooner than 60 s, at most 10 a day per target.
#[utoipa::path(
    operation_id = "auth_verification_codes_create",
    tag = "auth",
    request_body = CodeRequest,
    responses(
        (status = 202, description = "Accepted (the same for any target)", body = CodeAccepted),
        (status = 422, description = "Malformed target, or a channel the purpose does not use (`code.channel_not_allowed`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`change_phone` and `verify_email` are for a logged-in account (`auth.missing_token`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "A code was sent less than 60 s ago (`code.too_soon`), the day's 10 are used (`code.daily_limit`), or too many requests from this IP", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ),
    security((), ("bearer" = []))
)]
#[post("/auth/verification-codes")]
pub async fn request_code(
    state: web::Data<AppState>,
    user: crate::auth::MaybeUser,
    meta: ClientMeta,
    rate: RateNote,
    body: crate::platform::http::Json<CodeRequest>,
) -> AppResult<HttpResponse> {
    state.limit(|l| &l.codes, rate_key(&meta.ip), &rate).await?;
    let req = body.into_inner();
    if !req.purpose.allows(req.channel) {
        return Err(AppError::invalid_field(
            "channel",
            "code.channel_not_allowed",
            "该用途不能使用此渠道（注册与更换手机号用短信，验证邮箱用邮件）",
            "This purpose does not use this channel (register and change_phone: sms; verify_email: email)",
        ));
    }
    let target = normalise(req.channel, &req.target, "target")?;
    let (channel, purpose) = (req.channel, req.purpose);
    // A new phone or the account's own email: only for a logged-in account
    // (nobody makes the platform send codes to strangers for these).
    let caller = match (purpose, user.0) {
        (Purpose::ChangePhone | Purpose::VerifyEmail, None) => {
            return Err(AppError::unauthorized(
                "auth.missing_token",
                "更换手机号与验证邮箱须先登录",
                "change_phone and verify_email need a logged-in account",
            ));
        }
        (_, caller) => caller.map(|c| c.user_id),
    };
    state
        .tx(move |conn, st| {
            if let (Purpose::VerifyEmail, Some(user_id)) = (purpose, caller) {
                let own: Option<String> = users::table
                    .find(user_id)
                    .select(users::email_key)
                    .first(conn)?;
                if own.as_deref() != Some(target.as_str()) {
                    return Err(AppError::invalid_field(
                        "target",
                        "code.not_own_email",
                        "只能验证本账户的邮箱",
                        "Only the account's own email can be verified",
                    ));
                }
            }
            let send = purpose != Purpose::ResetPassword
                || reset_account(conn, channel, &target)?.is_some();
            codes::issue(
                conn,
                st,
                codes::Request {
                    channel,
                    purpose,
                    target: &target,
                    send,
                    ip: Some(meta.ip.as_str()),
                },
            )
        })
        .await?;
    Ok(HttpResponse::Accepted().json(CodeAccepted {
        expires_in: codes::CODE_TTL_SECS,
        resend_after: codes::RESEND_AFTER_SECS,
    }))
}

/// `POST /api/v1/auth/password-reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "sms", "target": "+8613800138000", "code": "042917", "new_password": "c0rrect-h0rse"}))]
pub struct PasswordResetRequest {
    pub channel: CodeChannel,
    /// The account's phone, or its verified email.
    #[schema(min_length = 1, max_length = 254)]
    pub target: String,
    /// The code sent with `purpose: reset_password`.
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
    /// The same rule as at registration.
    #[schema(
        min_length = 8,
        max_length = 128,
        pattern = r"^(?=.*[A-Za-z])(?=.*[^A-Za-z])[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]{8,128}$"
    )]
    pub new_password: String,
}

/// The account a reset names, if the code could have reached it.
fn reset_account(
    conn: &mut crate::platform::db::DbConnection,
    channel: CodeChannel,
    target: &str,
) -> AppResult<Option<super::models::User>> {
    use super::models::User;
    use crate::auth::accounts::{Role, UserStatus};
    let q = users::table
        .filter(users::status.eq(UserStatus::Active))
        .filter(users::role.eq(Role::User))
        .select(User::as_select())
        .into_boxed();
    // ACC-13: only a verified contact resets (an account made before codes
    // verifies its phone first, with PUT /me/phone).
    let q = match channel {
        CodeChannel::Sms => q
            .filter(users::phone.eq(target.to_string()))
            .filter(users::phone_verified_at.is_not_null()),
        CodeChannel::Email => q
            .filter(users::email_key.eq(target.to_string()))
            .filter(users::email_verified_at.is_not_null()),
    };
    Ok(q.first(conn).optional()?)
}

/// Reset a forgotten password with a code sent to the account's phone or
/// verified email (ACC-13). Every session of the account ends (and its push
/// devices with them); the user is told on the other channel.
#[utoipa::path(
    operation_id = "auth_password_reset",
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 204, description = "Password reset; every session ended"),
        (status = 422, description = "Wrong or expired code (`code.invalid`), too many wrong tries (`code.exhausted`), or a weak password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this IP", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/password-reset")]
pub async fn password_reset(
    state: web::Data<AppState>,
    meta: ClientMeta,
    rate: RateNote,
    body: crate::platform::http::Json<PasswordResetRequest>,
) -> AppResult<HttpResponse> {
    state.limit(|l| &l.codes, rate_key(&meta.ip), &rate).await?;
    let req = body.into_inner();
    password::check_strength(&req.new_password, None).map_err(|mut e| {
        for f in &mut e.errors {
            f.field = "new_password".into();
        }
        e
    })?;
    let code_id = try_code(
        &state,
        req.channel,
        Purpose::ResetPassword,
        &req.target,
        "target",
        &req.code,
    )
    .await?;
    let (channel, target) = (req.channel, normalise(req.channel, &req.target, "target")?);
    let plain = req.new_password;
    let hash = password::capped(&state, move || password::hash(&plain)).await??;
    state
        .tx(move |conn, st| {
            codes::spend(conn, st, code_id)?;
            let Some(user) = reset_account(conn, channel, &target)? else {
                return Err(codes::invalid_code());
            };
            let now = st.clock.now_naive();
            diesel::update(users::table.find(user.id))
                .set((users::password_hash.eq(&hash), users::updated_at.eq(now)))
                .execute(conn)?;
            sessions::revoke_all(conn, user.id, None, now, "password_reset")?;
            // Told on the other channel: by email when the reset came by SMS
            // and the email is verified, otherwise by SMS.
            let other = if channel == CodeChannel::Sms && user.email_verified_at.is_some() {
                "email"
            } else {
                "sms"
            };
            let via = meta.ip.clone();
            notify_via(
                conn,
                st,
                user.id,
                Notice {
                    kind: "account.password_reset",
                    title: "密码已重置",
                    body: format!(
                        "您的微工宝账户密码已通过验证码重置（来自 {via}），所有登录已退出。如非本人操作，请立即联系客服。"
                    ),
                    link: None,
                },
                &[other],
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /api/v1/me/phone`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+8613900139000", "code": "042917", "current_password": "tr0ub4dor&3"}))]
pub struct ChangePhoneRequest {
    #[schema(pattern = r"^(\+86)?1[3-9][0-9]{9}$")]
    pub phone: String,
    /// The account's password: a stolen access token alone cannot move the
    /// phone (and with it password resets).
    #[schema(min_length = 1, max_length = 128)]
    pub current_password: String,
    /// The code sent by SMS to the new number (`purpose: change_phone`).
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
}

fn masked(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().collect();
    let n = digits.len();
    if n < 8 {
        return "****".into();
    }
    let head: String = digits[..n - 8].iter().collect();
    let tail: String = digits[n - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Change (or, for an account made before codes, verify) the phone with a
/// code sent to the new number (ACC-12). The old number is told.
#[utoipa::path(
    operation_id = "me_phone_update",
    tag = "me",
    request_body = ChangePhoneRequest,
    responses(
        (status = 200, description = "The account with its verified phone", body = MeView),
        (status = 403, description = "Wrong current password (`password.incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The number belongs to another account (`phone.taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong or expired code (`code.invalid`, `code.exhausted`), a malformed or restricted number", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/me/phone")]
pub async fn change_phone(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<ChangePhoneRequest>,
) -> AppResult<web::Json<MeView>> {
    let req = body.into_inner();
    super::service::check_password(&state, user.user_id, req.current_password).await?;
    let code_id = try_code(
        &state,
        CodeChannel::Sms,
        Purpose::ChangePhone,
        &req.phone,
        "phone",
        &req.code,
    )
    .await?;
    let phone = normalise(CodeChannel::Sms, &req.phone, "phone")?;
    let caller = user.0;
    let view = state
        .tx(move |conn, st| {
            codes::spend(conn, st, code_id)?;
            let secret = &st.settings.identity_hash_secret;
            crate::verification::restricted::refuse_if_listed(
                conn,
                "phone",
                &crate::verification::ids::identity_hash(secret, "phone", &phone),
            )?;
            let old = load_user(conn, caller.user_id)?.phone;
            let now = st.clock.now_naive();
            diesel::update(users::table.find(caller.user_id))
                .set((
                    users::phone.eq(&phone),
                    users::phone_verified_at.eq(now),
                    users::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| {
                    unique_or(e, |_| {
                        AppError::conflict(
                            "phone.taken",
                            "该手机号已被注册",
                            "The phone is already registered",
                        )
                    })
                })?;
            if let Some(old) = old.filter(|old| *old != phone) {
                crate::platform::delivery::enqueue(
                    conn,
                    now,
                    crate::platform::delivery::Outgoing {
                        dedupe_key: format!("phone_changed:{}:{code_id}:sms", caller.user_id),
                        channel: "sms",
                        kind: "account.phone_changed",
                        user_id: Some(caller.user_id),
                        notification_id: None,
                        recipient: old,
                        subject: "手机号已更换".into(),
                        body: format!(
                            "您的微工宝账户手机号已更换为 {}。如非本人操作，请立即联系客服。",
                            masked(&phone)
                        ),
                        secret: false,
                    },
                )?;
            }
            me(conn, st, &caller)
        })
        .await?;
    Ok(web::Json(view))
}

/// `POST /api/v1/me/email/verification`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "042917"}))]
pub struct EmailVerificationRequest {
    /// The code sent to the account's email (`purpose: verify_email`).
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
}

/// Prove the account's email with the code sent to it (ACC-12).
#[utoipa::path(
    operation_id = "me_email_verify",
    tag = "me",
    request_body = EmailVerificationRequest,
    responses(
        (status = 200, description = "The account, email verified", body = MeView),
        (status = 409, description = "The account has no email (`email.missing`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong or expired code (`code.invalid`, `code.exhausted`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/email/verification")]
pub async fn verify_email(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<EmailVerificationRequest>,
) -> AppResult<web::Json<MeView>> {
    let user_id = user.user_id;
    let email: Option<String> = state
        .run(move |conn, _| {
            Ok(users::table
                .find(user_id)
                .select(users::email_key)
                .first(conn)?)
        })
        .await?;
    let Some(email) = email else {
        return Err(AppError::conflict(
            "email.missing",
            "账户没有邮箱",
            "The account has no email",
        ));
    };
    let code_id = try_code(
        &state,
        CodeChannel::Email,
        Purpose::VerifyEmail,
        &email,
        "code",
        &body.code,
    )
    .await?;
    let caller = user.0;
    let view = state
        .tx(move |conn, st| {
            codes::spend(conn, st, code_id)?;
            let now = st.clock.now_naive();
            diesel::update(
                users::table
                    .find(caller.user_id)
                    .filter(users::email_key.eq(&email)),
            )
            .set(users::email_verified_at.eq(now))
            .execute(conn)?;
            me(conn, st, &caller)
        })
        .await?;
    Ok(web::Json(view))
}

/// A staff member's new authenticator secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…` for a QR code.
    pub otpauth_uri: String,
}

/// `POST /api/v1/admin/me/totp/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmRequest {
    /// The authenticator's current 6-digit code.
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpConfirmed {
    /// Ten one-time codes (`k3m7q-x2ba9`), each usable once as `totp_code`
    /// when the authenticator is lost. Kept only as an HMAC.
    pub recovery_codes: Vec<String>,
}

fn staff_only(caller: &crate::auth::Caller) -> AppResult<()> {
    if caller.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "auth.forbidden",
            "无权执行此操作",
            "You are not allowed to perform this action",
        ))
    }
}

/// Start TOTP enrolment for the calling staff account (ACC-14): a new
/// secret, confirmed by its first code. Allowed in the session a staff
/// member without TOTP gets at first login.
#[utoipa::path(
    operation_id = "admin_me_totp_enrol",
    tag = "admin",
    responses(
        (status = 201, description = "Secret to put in an authenticator app", body = TotpEnrolment),
        (status = 403, description = "Not a staff account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already enrolled (`totp.already_enrolled`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/me/totp")]
pub async fn totp_enrol(
    state: web::Data<AppState>,
    user: AuthUserAnyAgreement,
) -> AppResult<HttpResponse> {
    staff_only(&user)?;
    let user_id = user.user_id;
    let enrolment = state
        .tx(move |conn, st| {
            let name = load_user(conn, user_id)?
                .member_name
                .unwrap_or_else(|| format!("staff-{user_id}"));
            totp::enrol(conn, st, user_id, &name)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TotpEnrolment {
            secret: enrolment.secret,
            otpauth_uri: enrolment.otpauth_uri,
        }))
}

/// Confirm TOTP enrolment with the authenticator's first code (ACC-14):
/// from now on staff login requires `totp_code`; this session is opened.
#[utoipa::path(
    operation_id = "admin_me_totp_confirm",
    tag = "admin",
    request_body = TotpConfirmRequest,
    responses(
        (status = 200, description = "Enrolled; recovery codes shown once", body = TotpConfirmed),
        (status = 403, description = "Not a staff account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Enrolment not started (`totp.not_started`) or already confirmed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong code (`totp.invalid`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/me/totp/confirm")]
pub async fn totp_confirm(
    state: web::Data<AppState>,
    user: AuthUserAnyAgreement,
    body: crate::platform::http::Json<TotpConfirmRequest>,
) -> AppResult<HttpResponse> {
    staff_only(&user)?;
    let (user_id, session_id) = (user.user_id, user.session_id);
    let code = body.into_inner().code;
    let recovery_codes = state
        .tx(move |conn, st| totp::confirm(conn, st, user_id, session_id, &code))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TotpConfirmed { recovery_codes }))
}

/// Admins: reset a staff member's TOTP (ACC-14) when the authenticator and
/// the recovery codes are lost: every session of theirs ends and their next
/// login enrols again. Audited. Not for one's own account.
#[utoipa::path(
    operation_id = "admin_staff_totp_reset",
    tag = "admin",
    params(("id" = i64, Path, description = "The staff account")),
    responses(
        (status = 204, description = "Reset; the account enrols at its next login"),
        (status = 403, description = "Not an admin, or one's own account (`totp.reset_own`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No staff account with TOTP enrolled (`totp.not_enrolled`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/admin/staff/{id}/totp")]
pub async fn totp_reset(
    state: web::Data<AppState>,
    admin: crate::auth::Staff<crate::auth::Admins>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (target, admin_id) = (id.into_inner(), admin.user_id);
    if target == admin_id {
        return Err(AppError::forbidden(
            "totp.reset_own",
            "不能重置自己的动态口令，请由另一位管理员操作",
            "Another admin must reset your TOTP",
        ));
    }
    state
        .tx(move |conn, st| {
            let staff = load_user(conn, target).is_ok_and(|u| u.role.is_staff());
            if !staff || !totp::reset(conn, st, target)? {
                return Err(AppError::not_found(
                    "totp.not_enrolled",
                    "该员工账户没有启用动态口令",
                    "No staff account with TOTP enrolled",
                ));
            }
            crate::audit::record(
                conn,
                st,
                crate::audit::Entry {
                    ip: Some(&meta.ip),
                    ..crate::audit::Entry::staff(admin_id, "staff.totp_reset", "user", target)
                },
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
