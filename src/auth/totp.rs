//! Staff second factor (ACC-14): TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s
//! steps, one step of skew either way) through `totp-rs`, with ten one-time
//! recovery codes.
//!
//! A staff account without a confirmed secret can still log in with its
//! password (the `admin create` command and the bootstrap admin make such
//! accounts), but that session may only enrol: every staff endpoint
//! answers 403 `auth.totp_enrolment_required` until the first code confirms
//! the secret. Once enrolled, login requires `totp_code`; a code's time
//! step is accepted once (no replay).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::Sha256;
use totp_rs::{Builder, Secret, Totp};

use crate::platform::db::DbConnection;
use crate::platform::db::schema::{sessions, staff_recovery_codes as recovery, staff_totp};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Weigongbao";

fn totp(secret_base32: &str, account: &str) -> AppResult<Totp> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|_| AppError::internal("stored TOTP secret is not base32"))?;
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|_| AppError::internal("TOTP parameters refused"))
}

fn unix(at: NaiveDateTime) -> u64 {
    u64::try_from(at.and_utc().timestamp()).unwrap_or(0)
}

/// What enrolment hands the staff member: the secret for an authenticator
/// app, as text and as an `otpauth://` URI (for a QR code).
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

fn already_enrolled() -> AppError {
    AppError::conflict(
        "totp.already_enrolled",
        "已启用动态口令；如需更换请联系管理员",
        "TOTP is already enrolled; an admin must reset it to enrol again",
    )
}

/// Whether the account has a confirmed secret.
pub fn enrolled(conn: &mut DbConnection, user_id: i64) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        staff_totp::table
            .find(user_id)
            .filter(staff_totp::confirmed_at.is_not_null()),
    ))
    .get_result(conn)?)
}

/// Starts (or restarts, while unconfirmed) enrolment with a new secret.
pub fn enrol(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    account: &str,
) -> AppResult<Enrolment> {
    if enrolled(conn, user_id)? {
        return Err(already_enrolled());
    }
    let secret = Secret::generate().to_base32();
    diesel::delete(staff_totp::table.find(user_id)).execute(conn)?;
    diesel::insert_into(staff_totp::table)
        .values((
            staff_totp::user_id.eq(user_id),
            staff_totp::secret.eq(&secret),
            staff_totp::created_at.eq(st.clock.now_naive()),
        ))
        .execute(conn)?;
    let otpauth_uri = totp(&secret, account)?
        .to_url()
        .map_err(|_| AppError::internal("otpauth URI"))?;
    Ok(Enrolment {
        secret,
        otpauth_uri,
    })
}

fn bad_code() -> AppError {
    AppError::unauthorized(
        "auth.totp_invalid",
        "动态口令错误或已使用",
        "The TOTP code is wrong or was already used",
    )
}

/// Accepts `code` if it is right for a step newer than the last one used,
/// and records that step (a conditional update: two logins with one code
/// cannot both pass).
fn accept_step(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    secret: &str,
    last_step: Option<i64>,
    code: &str,
) -> AppResult<bool> {
    let now = st.clock.now_naive();
    let Some(step) = totp(secret, "")?.check(code.trim(), unix(now)) else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if last_step.is_some_and(|last| step <= last) {
        return Ok(false);
    }
    let n = diesel::update(
        staff_totp::table.find(user_id).filter(
            staff_totp::last_step
                .is_null()
                .or(staff_totp::last_step.lt(step)),
        ),
    )
    .set(staff_totp::last_step.eq(step))
    .execute(conn)?;
    Ok(n > 0)
}

/// A recovery code's stored form: an HMAC with the server's key of its
/// letters and digits, lower-cased (dashes and case do not matter).
fn hash(st: &AppState, code: &str) -> String {
    use hmac::{Hmac, Mac};
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&st.settings.identity_hash_secret) else {
        return String::new();
    };
    mac.update(b"recovery\x1f");
    mac.update(normal.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A recovery code: ten base32 letters and digits (50 bits), `abcde-fghij`.
fn recovery_code(rng: &mut impl rand::Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut code = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
    }
    code
}

/// Confirms enrolment with a first code; returns the recovery codes (shown
/// this once, kept hashed) and opens the calling session.
pub fn confirm(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    session_id: i64,
    code: &str,
) -> AppResult<Vec<String>> {
    let row: Option<(String, Option<NaiveDateTime>, Option<i64>)> = staff_totp::table
        .find(user_id)
        .select((
            staff_totp::secret,
            staff_totp::confirmed_at,
            staff_totp::last_step,
        ))
        .first(conn)
        .optional()?;
    let Some((secret, confirmed, last_step)) = row else {
        return Err(AppError::conflict(
            "totp.not_started",
            "请先开始启用动态口令（POST /api/v1/admin/me/totp）",
            "Start enrolment first (POST /api/v1/admin/me/totp)",
        ));
    };
    if confirmed.is_some() {
        return Err(already_enrolled());
    }
    if !accept_step(conn, st, user_id, &secret, last_step, code)? {
        return Err(AppError::invalid_field(
            "code",
            "totp.invalid",
            "动态口令错误",
            "The TOTP code is wrong",
        ));
    }
    let now = st.clock.now_naive();
    diesel::update(staff_totp::table.find(user_id))
        .set(staff_totp::confirmed_at.eq(now))
        .execute(conn)?;
    diesel::delete(recovery::table.filter(recovery::user_id.eq(user_id))).execute(conn)?;
    let mut rng = rand::thread_rng();
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| recovery_code(&mut rng))
        .collect();
    for code in &codes {
        diesel::insert_into(recovery::table)
            .values((
                recovery::user_id.eq(user_id),
                recovery::code_hash.eq(hash(st, code)),
                recovery::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    mark_session(conn, session_id, now)?;
    // Other sessions opened before enrolment stay closed: they log in again.
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(session_id))
            .filter(sessions::second_factor_at.is_null())
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq("totp_enrolled"),
    ))
    .execute(conn)?;
    Ok(codes)
}

/// Records that a session passed the second factor.
pub fn mark_session(conn: &mut DbConnection, session_id: i64, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(sessions::table.find(session_id))
        .set(sessions::second_factor_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// What a staff login's second factor came to.
pub enum SecondFactor {
    /// Enrolled and passed: the session is open.
    Passed,
    /// Not enrolled yet: the session may only enrol.
    EnrolmentRequired,
    /// Enrolled, and no code given.
    Missing,
    /// A wrong (or spent) code; counted.
    Wrong,
    /// Too many wrong codes: refused until then.
    Locked(NaiveDateTime),
}

impl SecondFactor {
    /// Whether the session passed the second factor, or why the login fails.
    pub fn into_result(self, now: NaiveDateTime) -> AppResult<bool> {
        match self {
            SecondFactor::Passed => Ok(true),
            SecondFactor::EnrolmentRequired => Ok(false),
            SecondFactor::Missing => Err(AppError::unauthorized(
                "auth.totp_required",
                "员工账户登录需要动态口令（totp_code）",
                "Staff login requires a TOTP code (totp_code)",
            )),
            SecondFactor::Wrong => Err(bad_code()),
            SecondFactor::Locked(until) => Err(AppError::too_many(
                "auth.totp_locked",
                "动态口令错误次数过多，请稍后再试",
                "Too many wrong TOTP codes; try again later",
                u64::try_from((until - now).num_seconds()).unwrap_or(1),
            )),
        }
    }
}

/// Wrong codes in a row before logins are locked, and for how long.
pub const MAX_FAILURES: i32 = 5;
pub const LOCK_MINUTES: i64 = 15;

/// ACC-14: checks a staff login's `totp_code` (or a recovery code). Run in
/// a transaction of its own and commit on every outcome: a wrong code is
/// counted, and five in a row lock the account's logins for 15 minutes
/// (a guesser spread over many addresses gets five tries, not millions).
pub fn check_login(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    code: Option<&str>,
) -> AppResult<SecondFactor> {
    let now = st.clock.now_naive();
    type Row = (String, Option<i64>, i32, Option<NaiveDateTime>);
    let row: Option<Row> = staff_totp::table
        .find(user_id)
        .filter(staff_totp::confirmed_at.is_not_null())
        .select((
            staff_totp::secret,
            staff_totp::last_step,
            staff_totp::failures,
            staff_totp::locked_until,
        ))
        .first(conn)
        .optional()?;
    let Some((secret, last_step, failures, locked_until)) = row else {
        return Ok(SecondFactor::EnrolmentRequired);
    };
    if let Some(until) = locked_until.filter(|until| *until > now) {
        return Ok(SecondFactor::Locked(until));
    }
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(SecondFactor::Missing);
    };
    let passed = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        accept_step(conn, st, user_id, &secret, last_step, code)?
    } else {
        use_recovery_code(conn, st, user_id, code)?
    };
    let row = staff_totp::table.find(user_id);
    if passed {
        diesel::update(row)
            .set((
                staff_totp::failures.eq(0),
                staff_totp::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        return Ok(SecondFactor::Passed);
    }
    if failures + 1 >= MAX_FAILURES {
        diesel::update(row)
            .set((
                staff_totp::failures.eq(0),
                staff_totp::locked_until.eq(now + chrono::Duration::minutes(LOCK_MINUTES)),
            ))
            .execute(conn)?;
        log::warn!("staff {user_id}: TOTP logins locked after {MAX_FAILURES} wrong codes");
    } else {
        diesel::update(row)
            .set(staff_totp::failures.eq(staff_totp::failures + 1))
            .execute(conn)?;
    }
    Ok(SecondFactor::Wrong)
}

fn use_recovery_code(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    code: &str,
) -> AppResult<bool> {
    let used = diesel::update(
        recovery::table
            .filter(recovery::user_id.eq(user_id))
            .filter(recovery::code_hash.eq(hash(st, code)))
            .filter(recovery::used_at.is_null()),
    )
    .set(recovery::used_at.eq(st.clock.now_naive()))
    .execute(conn)?;
    Ok(used == 1)
}

/// An admin's reset for a staff member who lost the authenticator and the
/// recovery codes: the secret and codes go, every session ends, and the
/// next login enrols again. Whether there was anything to reset.
pub fn reset(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<bool> {
    let n = diesel::delete(staff_totp::table.find(user_id)).execute(conn)?;
    diesel::delete(recovery::table.filter(recovery::user_id.eq(user_id))).execute(conn)?;
    super::sessions::revoke_all(conn, user_id, None, st.clock.now_naive(), "totp_reset")?;
    Ok(n > 0)
}

/// The code an authenticator shows at `at` for `secret` (tests and the
/// CLI's check).
pub fn code_at(secret_base32: &str, at: NaiveDateTime) -> AppResult<String> {
    Ok(totp(secret_base32, "")?.generate(unix(at)).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits there; the last 6 here).
    #[test]
    fn rfc6238_test_vectors() {
        let secret = Secret::from(*b"12345678901234567890").to_base32();
        let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().naive_utc();
        assert_eq!(code_at(&secret, at(59)).unwrap(), "287082");
        assert_eq!(code_at(&secret, at(1_111_111_109)).unwrap(), "081804");
        assert_eq!(code_at(&secret, at(1_234_567_890)).unwrap(), "005924");
        assert_eq!(code_at(&secret, at(2_000_000_000)).unwrap(), "279037");
    }
}
