//! Login sessions and their refresh tokens (ACC-7).
//!
//! A session is one login. Its refresh token is opaque, stored only as a
//! SHA-256 hash, and rotated on every use; presenting a spent one ends the
//! whole session (someone copied it). Access tokens name their session, and
//! every authenticated request checks it is still live, so logout, password
//! change or staff action stop both tokens at once.

use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::accounts::{Role, UserStatus};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{refresh_tokens, sessions, users};
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::ClientMeta;
use crate::platform::state::AppState;

/// Tokens handed to the client after login, registration or refresh.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "q0Vb3dT1n0b8hYv2m3WzR8d0c4M1yQ6bq0Vb3dT1n0b",
    "refresh_expires_in": 2592000,
    "session_id": 12
}))]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; exchange at `POST /api/v1/auth/refresh`. Single use.
    pub refresh_token: String,
    /// Seconds until the refresh token expires if unused.
    pub refresh_expires_in: i64,
    /// The session these tokens belong to (see `GET /api/v1/me/sessions`).
    pub session_id: i64,
}

fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// How long a session of `role` lasts without use: staff sessions are
/// shorter (ACC-14, `STAFF_SESSION_TTL_HOURS`).
fn life(st: &AppState, role: Role) -> Duration {
    if role.is_staff() {
        Duration::hours(st.settings.delivery.staff_session_ttl_hours)
    } else {
        Duration::days(st.settings.refresh_token_ttl_days)
    }
}

/// Starts a session for `user_id` and returns its first tokens;
/// `second_factor`: the login passed a staff second factor (ACC-14).
pub fn start(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    role: Role,
    second_factor: bool,
    meta: &ClientMeta,
) -> AppResult<TokenPair> {
    let now = st.clock.now_naive();
    let expires_at = now + life(st, role);
    let session_id: i64 = diesel::insert_into(sessions::table)
        .values((
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
            sessions::user_agent.eq(meta.user_agent.as_deref().map(|ua| truncate(ua, 200))),
            sessions::ip.eq(&meta.ip),
            sessions::second_factor_at.eq(second_factor.then_some(now)),
        ))
        .returning(sessions::id)
        .get_result(conn)?;
    issue(conn, st, user_id, session_id, now, expires_at)
}

fn issue(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    session_id: i64,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> AppResult<TokenPair> {
    let (refresh_token, hash) = new_refresh_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    let access_token = st.jwt.issue(user_id, session_id, now.and_utc())?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: st.jwt.ttl_secs,
        refresh_token,
        refresh_expires_in: (expires_at - now).num_seconds(),
        session_id,
    })
}

fn refresh_invalid() -> AppError {
    AppError::unauthorized(
        "auth.refresh_invalid",
        "刷新令牌无效或已过期，请重新登录",
        "The refresh token is invalid or expired; please log in again",
    )
}

/// Exchanges a refresh token for new tokens (rotation). A spent token ends
/// its session; the caller must commit even on that error, so this returns
/// the outcome instead of failing the transaction.
pub fn refresh(conn: &mut DbConnection, st: &AppState, token: &str) -> AppResult<RefreshOutcome> {
    let now = st.clock.now_naive();
    let hash = hash_token(token);
    let found: Option<(i64, Option<NaiveDateTime>)> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(&hash))
        .select((refresh_tokens::session_id, refresh_tokens::spent_at))
        .first(conn)
        .optional()?;
    let Some((session_id, spent_at)) = found else {
        return Ok(RefreshOutcome::Invalid);
    };
    if spent_at.is_some() {
        revoke(conn, session_id, now, "refresh_token_reused")?;
        return Ok(RefreshOutcome::Reused);
    }
    let live: Option<(i64, UserStatus, Role)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((users::id, users::status, users::role))
        .first(conn)
        .optional()?;
    let Some((user_id, user_status, role)) = live else {
        return Ok(RefreshOutcome::Invalid);
    };
    if user_status != UserStatus::Active {
        return Ok(RefreshOutcome::Invalid);
    }
    // Spend the token only if nobody else did meanwhile: of two concurrent
    // refreshes with one token, exactly one wins; the other counts as reuse.
    let spent = diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::token_hash.eq(&hash))
        .filter(refresh_tokens::spent_at.is_null())
        .set(refresh_tokens::spent_at.eq(now))
        .execute(conn)?;
    if spent == 0 {
        revoke(conn, session_id, now, "refresh_token_reused")?;
        return Ok(RefreshOutcome::Reused);
    }
    let expires_at = now + life(st, role);
    diesel::update(sessions::table.find(session_id))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    issue(conn, st, user_id, session_id, now, expires_at).map(RefreshOutcome::Rotated)
}

/// What a refresh attempt came to.
pub enum RefreshOutcome {
    Rotated(TokenPair),
    Invalid,
    /// A spent token was presented; its session has been ended.
    Reused,
}

impl RefreshOutcome {
    pub fn into_result(self) -> AppResult<TokenPair> {
        match self {
            RefreshOutcome::Rotated(pair) => Ok(pair),
            RefreshOutcome::Invalid => Err(refresh_invalid()),
            RefreshOutcome::Reused => Err(AppError::unauthorized(
                "auth.refresh_reused",
                "刷新令牌已被使用过，为安全起见该会话已结束，请重新登录",
                "This refresh token was already used; the session has been ended for safety. Please log in again",
            )),
        }
    }
}

/// Ends one session; returns whether it was live.
pub fn revoke(
    conn: &mut DbConnection,
    session_id: i64,
    now: NaiveDateTime,
    reason: &str,
) -> AppResult<bool> {
    super::devices::forget_session(conn, session_id)?;
    let n = diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .set((
            sessions::revoked_at.eq(now),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

/// Ends every live session of a user except `keep`.
pub fn revoke_all(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Option<i64>,
    now: NaiveDateTime,
    reason: &str,
) -> AppResult<usize> {
    super::devices::forget_user(conn, user_id, keep)?;
    let n = diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::id.ne(keep.unwrap_or(-1)))
        .set((
            sessions::revoked_at.eq(now),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(n)
}

/// The caller behind a valid access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub session_id: i64,
    pub role: Role,
    /// A newer agreement version is in force that this user has not
    /// accepted (AGR-1); staff are not bound by the user agreement.
    pub agreement_pending: bool,
    /// A staff session that has not passed the second factor: it may only
    /// enrol (ACC-14).
    pub second_factor_pending: bool,
}

/// Checks that the token's session is live and its user active.
pub fn authenticate(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    session_id: i64,
) -> AppResult<Caller> {
    let now = st.clock.now_naive();
    use crate::platform::db::schema::{agreement_acceptances, agreements};
    // One round trip: the session, its user, and the AGR-1 versions.
    let in_force = agreements::table
        .filter(agreements::in_force_at.le(now))
        .select(diesel::dsl::max(agreements::version))
        .single_value();
    let accepted = agreement_acceptances::table
        .filter(agreement_acceptances::user_id.eq(user_id))
        .select(diesel::dsl::max(agreement_acceptances::version))
        .single_value();
    type Seen = (
        Role,
        UserStatus,
        Option<i32>,
        Option<i32>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    );
    let row: Option<Seen> = sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((
            users::role,
            users::status,
            in_force,
            accepted,
            sessions::last_seen_at,
            sessions::second_factor_at,
        ))
        .first(conn)
        .optional()?;
    match row {
        Some((role, UserStatus::Active, in_force, accepted, last_seen, second)) => {
            note_activity(conn, session_id, last_seen, now)?;
            let agreement_pending = !role.is_staff() && accepted < in_force;
            Ok(Caller {
                user_id,
                session_id,
                role,
                agreement_pending,
                second_factor_pending: role.is_staff() && second.is_none(),
            })
        }
        _ => Err(AppError::unauthorized(
            "auth.session_ended",
            "会话已结束，请重新登录",
            "The session has ended; please log in again",
        )),
    }
}

/// How often a session's use is written down: any authenticated call counts
/// as activity (ACC-9), but at most one write per session per hour.
const ACTIVITY_RESOLUTION_MINUTES: i64 = 60;

/// ACC-9: records that the session was used, when the last record is an
/// hour old (a conditional update: concurrent calls write once).
fn note_activity(
    conn: &mut DbConnection,
    session_id: i64,
    last_seen: NaiveDateTime,
    now: NaiveDateTime,
) -> AppResult<()> {
    if now - last_seen < chrono::Duration::minutes(ACTIVITY_RESOLUTION_MINUTES) {
        return Ok(());
    }
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(session_id))
            .filter(sessions::last_seen_at.eq(last_seen)),
    )
    .set(sessions::last_seen_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// ACC-9: the last time any session of the user was used (logins,
/// refreshes and authenticated calls), if it ever had one.
pub fn last_activity(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<NaiveDateTime>> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(diesel::dsl::max(sessions::last_seen_at))
        .first(conn)?)
}

/// ACC-10: an anonymised account's sessions forget where they came from.
pub fn anonymise(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    diesel::update(sessions::table.filter(sessions::user_id.eq(user_id)))
        .set((
            sessions::ip.eq(None::<String>),
            sessions::user_agent.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many live sessions the user has (ACC-11 staff record).
pub fn live_count(conn: &mut DbConnection, user_id: i64, now: NaiveDateTime) -> AppResult<i64> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .count()
        .get_result(conn)?)
}
