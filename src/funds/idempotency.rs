//! `Idempotency-Key` for money POSTs (FND-2). The key, the user and a
//! fingerprint of the request are stored with the first response: a replay
//! gets that response again, the same key with another body 422, and a
//! duplicate arriving while the first is still running 409. A claim left by
//! a crashed request (its money work rolled back with it) can be taken over
//! after a minute. Keys are kept at least 24 hours.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::{Caller, Claimed};
use crate::platform::db::schema::idempotency_keys as keys;
use crate::platform::db::{DbConnection, unique_or, write_tx};
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

pub const HEADER: &str = "Idempotency-Key";

text_enum! {
    /// A key claimed by a request still running, or done with its response stored.
    pub enum KeyStatus {
        InProgress = "in_progress",
        Done = "done",
    }
}
const ABANDONED_AFTER_SECS: i64 = 60;
/// Keys older than this are deleted by the scheduler (at least 24 h).
pub const KEEP_HOURS: i64 = 48;

/// The request's key, checked: 1–100 characters of `A–Z a–z 0–9 - _ . :`.
pub fn key_from(headers: &HeaderMap) -> AppResult<String> {
    let Some(value) = headers.get(HEADER) else {
        return Err(AppError::bad_request(
            "idempotency.key_required",
            "涉及资金的请求须带 Idempotency-Key 请求头",
            "Requests that move money need an Idempotency-Key header",
        ));
    };
    let key = value.to_str().unwrap_or("");
    let ok = (1..=100).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if !ok {
        return Err(AppError::invalid_field(
            HEADER,
            "idempotency.key_invalid",
            "Idempotency-Key 须为 1–100 个字母、数字或 - _ . :",
            "Idempotency-Key must be 1–100 letters, digits or - _ . :",
        ));
    }
    Ok(key.to_string())
}

/// A fingerprint of what the request asks for.
pub fn fingerprint(route: &str, body: &impl Serialize) -> String {
    let mut hash = Sha256::new();
    hash.update(route.as_bytes());
    hash.update(b"\n");
    hash.update(serde_json::to_vec(body).unwrap_or_default());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored key: fingerprint, status, response status and body, creation time.
type StoredKey = (
    String,
    KeyStatus,
    Option<i32>,
    Option<String>,
    NaiveDateTime,
);

enum Claim {
    /// Ours, stamped with the claim time that fences out anyone else.
    Claimed(NaiveDateTime),
    Replay(u16, String),
}

fn in_progress() -> AppError {
    AppError::conflict(
        "idempotency.in_progress",
        "相同 Idempotency-Key 的请求正在处理中",
        "A request with this Idempotency-Key is still being processed",
    )
}

fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    user_id: i64,
    key: &str,
    print: &str,
) -> AppResult<Claim> {
    let existing: Option<StoredKey> = keys::table
        .find((user_id, key))
        .select((
            keys::fingerprint,
            keys::status,
            keys::response_status,
            keys::response_body,
            keys::created_at,
        ))
        .first(conn)
        .optional()?;
    match existing {
        None => {
            diesel::insert_into(keys::table)
                .values((
                    keys::user_id.eq(user_id),
                    keys::idem_key.eq(key),
                    keys::fingerprint.eq(print),
                    keys::status.eq(KeyStatus::InProgress),
                    keys::created_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| unique_or(e, |_| in_progress()))?;
            Ok(Claim::Claimed(now))
        }
        Some((stored, ..)) if stored != print => Err(AppError::invalid_field(
            HEADER,
            "idempotency.key_reused",
            "该 Idempotency-Key 已用于另一个不同的请求",
            "This Idempotency-Key was already used for a different request",
        )),
        Some((_, KeyStatus::Done, Some(code), Some(body), _)) => {
            Ok(Claim::Replay(code as u16, body))
        }
        Some((_, _, _, _, created)) if created > now - Duration::seconds(ABANDONED_AFTER_SECS) => {
            Err(in_progress())
        }
        Some((_, _, _, _, created)) => {
            // Abandoned by a request that died; its work was rolled back.
            let n = diesel::update(
                keys::table
                    .find((user_id, key))
                    .filter(keys::status.eq(KeyStatus::InProgress))
                    .filter(keys::created_at.eq(created)),
            )
            .set(keys::created_at.eq(now))
            .execute(conn)?;
            if n == 0 {
                Err(in_progress())
            } else {
                Ok(Claim::Claimed(now))
            }
        }
    }
}

fn replayed(code: u16, body: String) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .insert_header(("Idempotent-Replayed", "true"))
        .content_type("application/json")
        .body(body)
}

/// Runs `op` under our claim and stores its response with its effects.
/// A request taken over after a stall finds its claim re-stamped and stops;
/// on PostgreSQL the first update also locks the key row, so a takeover
/// waits for us and then sees `done`.
fn run_claimed<T: Serialize>(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    key: &str,
    claimed_at: NaiveDateTime,
    success: StatusCode,
    op: impl FnOnce(&mut DbConnection, &AppState) -> AppResult<T>,
) -> AppResult<String> {
    let ours = || {
        keys::table
            .find((user_id, key))
            .filter(keys::status.eq(KeyStatus::InProgress))
            .filter(keys::created_at.eq(claimed_at))
    };
    if diesel::update(ours())
        .set(keys::created_at.eq(claimed_at))
        .execute(conn)?
        == 0
    {
        return Err(in_progress());
    }
    let value = op(conn, st)?;
    let body = serde_json::to_string(&value).map_err(AppError::internal)?;
    let n = diesel::update(ours())
        .set((
            keys::status.eq(KeyStatus::Done),
            keys::response_status.eq(i32::from(success.as_u16())),
            keys::response_body.eq(&body),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(in_progress());
    }
    Ok(body)
}

/// Runs `op` once per (user, key): its response is stored in the same
/// transaction as its effects, and replayed for repeats.
pub async fn run<T, F>(
    state: &AppState,
    user_id: i64,
    key: String,
    print: String,
    success: StatusCode,
    op: F,
) -> AppResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection, &AppState) -> AppResult<T> + Send + 'static,
{
    let (k, p) = (key.clone(), print.clone());
    let claim = state
        .tx(move |conn, st| claim(conn, st.clock.now_naive(), user_id, &k, &p))
        .await?;
    let claimed_at = match claim {
        Claim::Claimed(at) => at,
        Claim::Replay(code, body) => return Ok(replayed(code, body)),
    };
    let k = key.clone();
    let outcome = state
        .tx(move |conn, st| run_claimed(conn, st, user_id, &k, claimed_at, success, op))
        .await;
    match outcome {
        Ok(body) => Ok(HttpResponse::build(success)
            .content_type("application/json")
            .body(body)),
        Err(err) => {
            // Nothing moved: free our claim (not a newer one) so a retry can run.
            let _ = state
                .tx(move |conn, _| {
                    diesel::delete(
                        keys::table
                            .find((user_id, &key))
                            .filter(keys::status.eq(KeyStatus::InProgress))
                            .filter(keys::created_at.eq(claimed_at)),
                    )
                    .execute(conn)?;
                    Ok(())
                })
                .await;
            Err(err)
        }
    }
}

/// Deletes keys past their keeping time (scheduler).
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::delete(keys::table.filter(keys::created_at.lt(now - Duration::hours(KEEP_HOURS))))
            .execute(conn)?,
    )
}

/// For POSTs that move money as a side effect of a state change (awarding,
/// confirming): with an `Idempotency-Key` the first response is replayed
/// for repeats; without one the conditional state change alone guarantees
/// the money moves once, and a repeat gets 409.
pub async fn run_optional<T, F>(
    state: &AppState,
    user_id: i64,
    headers: &HeaderMap,
    route: &str,
    body: &impl Serialize,
    success: StatusCode,
    op: F,
) -> AppResult<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection, &AppState) -> AppResult<T> + Send + 'static,
{
    if headers.contains_key(HEADER) {
        let key = key_from(headers)?;
        return run(state, user_id, key, fingerprint(route, body), success, op).await;
    }
    let value = state.tx(op).await?;
    Ok(HttpResponse::build(success).json(value))
}

/// How an operation's writes are made all-or-nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atomic {
    /// One transaction around the whole operation.
    Transaction,
    /// No transaction around the operation: it reads first, then makes
    /// its writes atomic itself (one statement on PostgreSQL, which saves
    /// the `BEGIN` and `COMMIT` round trips; [`crate::platform::db::atomic`]
    /// on SQLite, so its reads do not hold the writer turn). What runs
    /// before them only reads, or counts a rate-limit token, which stays
    /// spent as with the Redis store.
    Statement,
}

/// A request's input, read only after its session was checked (ACC-7:
/// 401 comes before any error of the path or body): the value, and its
/// fingerprint for a retry ([`fingerprint`]).
pub type Input<B> = AppResult<(B, String)>;

/// [`run_optional`] for an operation whose session its work checks
/// ([`Claimed`], issue 13): without a key, the session check and the work
/// share one pool checkout and one thread hand-off, the check running
/// just before the transaction begins (so a session's activity is noted
/// even when the work fails, and SQLite's writer turn is not held for it).
/// `input` is looked at only once the session passed. With a key, the work
/// runs in a transaction whatever `atomic` says.
pub async fn run_optional_as<B, T, F>(
    state: &AppState,
    claimed: Claimed,
    atomic: Atomic,
    headers: &HeaderMap,
    input: Input<B>,
    success: StatusCode,
    op: F,
) -> AppResult<HttpResponse>
where
    B: Send + 'static,
    T: Serialize + Send + 'static,
    F: FnOnce(&mut DbConnection, &AppState, &Caller, B) -> AppResult<T> + Send + 'static,
{
    if headers.contains_key(HEADER) {
        let caller = state
            .run(move |conn, st| claimed.authenticate(conn, st))
            .await?;
        let (body, print) = input?;
        let key = key_from(headers)?;
        let user_id = caller.user_id;
        let op = move |conn: &mut DbConnection, st: &AppState| op(conn, st, &caller, body);
        return run(state, user_id, key, print, success, op).await;
    }
    let value = state
        .run(move |conn, st| {
            let caller = claimed.authenticate(conn, st)?;
            let (body, _) = input?;
            match atomic {
                Atomic::Statement => op(conn, st, &caller, body),
                Atomic::Transaction => write_tx(conn, |conn| op(conn, st, &caller, body)),
            }
        })
        .await?;
    Ok(HttpResponse::build(success).json(value))
}
