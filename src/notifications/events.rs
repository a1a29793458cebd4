//! The live event stream (MSG-2, API.md "Live events"): `GET /me/events`
//! is a Server-Sent Events stream of what happens to the caller — new
//! messages, notices, award steps — each with an id, resumable with
//! `Last-Event-ID`, with heartbeats. Events are rows of `user_events`
//! written in the transaction of what they report ([`publish`]); a stream
//! reads what is new when woken (`platform::changes::streams`: this
//! process's commits, or other processes' through PostgreSQL notices) and
//! otherwise sends a heartbeat every [`HEARTBEAT`].

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::platform::changes::{self, streams};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::user_events;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::state::AppState;

/// A comment line sent when nothing happened for this long, so proxies and
/// apps see the stream is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// Events one read sends at most (the rest follow at once).
const BATCH: i64 = 100;
/// Events are kept this long for resuming.
const KEEP_DAYS: i64 = 7;

/// Records an event for `user` (in the caller's transaction): `kind` is
/// the SSE event name (`message`, `notification`, `award`), `data` its
/// JSON.
pub fn publish(
    conn: &mut DbConnection,
    st: &AppState,
    user: i64,
    kind: &str,
    data: &serde_json::Value,
) -> AppResult<()> {
    diesel::insert_into(user_events::table)
        .values((
            user_events::user_id.eq(user),
            user_events::kind.eq(kind),
            user_events::data.eq(data.to_string()),
            user_events::created_at.eq(st.clock.now_naive()),
        ))
        .execute(conn)?;
    changes::mark_user(user);
    Ok(())
}

/// `user`'s events after `after`, oldest first.
fn since(conn: &mut DbConnection, user: i64, after: i64) -> AppResult<Vec<(i64, String, String)>> {
    Ok(user_events::table
        .filter(user_events::user_id.eq(user))
        .filter(user_events::id.gt(after))
        .order(user_events::id.asc())
        .limit(BATCH)
        .select((user_events::id, user_events::kind, user_events::data))
        .load(conn)?)
}

/// The id of `user`'s newest event (0: none).
fn latest(conn: &mut DbConnection, user: i64) -> AppResult<i64> {
    Ok(user_events::table
        .filter(user_events::user_id.eq(user))
        .select(diesel::dsl::max(user_events::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Scheduler: events older than the resume window go.
pub fn purge(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let before = st.clock.now_naive() - chrono::Duration::days(KEEP_DAYS);
    Ok(
        diesel::delete(user_events::table.filter(user_events::created_at.lt(before)))
            .execute(conn)?,
    )
}

/// Where to resume.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (as the `Last-Event-ID` header does, for
    /// clients that cannot set headers); without either, only new events.
    #[param(minimum = 0)]
    pub last_event_id: Option<i64>,
}

/// Where the stream starts: `Last-Event-ID` (a non-negative integer), else
/// the query's `last_event_id`, else `None` (from now).
fn resume_from(req: &HttpRequest, q: &EventsQuery) -> AppResult<Option<i64>> {
    match req.headers().get("last-event-id") {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .filter(|id| *id >= 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::bad_request(
                    "request.invalid_header",
                    "Last-Event-ID 须为事件 id",
                    "Last-Event-ID must be an event id",
                )
            }),
        None => Ok(q.last_event_id.filter(|id| *id >= 0)),
    }
}

/// One batch as SSE text: `id`, `event` and `data` lines per event.
fn frame(events: &[(i64, String, String)]) -> Bytes {
    let mut out = String::new();
    for (id, kind, data) in events {
        out.push_str(&format!("id: {id}\nevent: {kind}\ndata: {data}\n\n"));
    }
    Bytes::from(out)
}

struct Stream {
    state: web::Data<AppState>,
    user: i64,
    /// The session the stream was opened with: checked at every heartbeat,
    /// so a logout, an ended session or a suspension ends the stream.
    session: i64,
    last: i64,
    wake: Arc<tokio::sync::Notify>,
    started: bool,
}

/// The next chunk: the retry hint first, then new events as soon as there
/// are any, else a heartbeat; the stream ends if the database fails or
/// the session is no longer live.
async fn next_chunk(mut s: Stream) -> Option<(Result<Bytes, actix_web::Error>, Stream)> {
    if !s.started {
        s.started = true;
        return Some((Ok(Bytes::from_static(b"retry: 3000\n\n")), s));
    }
    loop {
        let (user, after) = (s.user, s.last);
        let events = match s.state.run(move |conn, _| since(conn, user, after)).await {
            Ok(events) => events,
            Err(e) => {
                log::warn!("event stream user={user}: {}", e.code);
                return None;
            }
        };
        if let Some((id, _, _)) = events.last() {
            s.last = *id;
            return Some((Ok(frame(&events)), s));
        }
        if actix_web::rt::time::timeout(HEARTBEAT, s.wake.notified())
            .await
            .is_err()
        {
            let session = s.session;
            let live = s
                .state
                .run(move |conn, st| crate::auth::sessions::authenticate(conn, st, user, session))
                .await;
            if live.is_err() {
                return None;
            }
            return Some((Ok(Bytes::from_static(b": heartbeat\n\n")), s));
        }
    }
}

/// The caller's live events (MSG-2): a `text/event-stream` of `message`,
/// `notification` and `award` events, each `data` a JSON object, with ids
/// to resume from (`Last-Event-ID`) and a heartbeat comment every 15 s.
/// At most `EVENT_STREAMS_PER_USER` streams per account at once.
#[utoipa::path(
    operation_id = "me_events_stream",
    tag = "me",
    params(EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (what the stream last sent as `id`)",
            pattern = "^[0-9]{1,18}$")),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "A `Last-Event-ID` that is not an event id", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many open streams for this account (`events.too_many_streams`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/me/events")]
pub async fn stream(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<EventsQuery>,
) -> AppResult<HttpResponse> {
    let (user, session) = (user.user_id, user.session_id);
    let from = resume_from(&req, &query)?;
    let wake =
        streams::subscribe(user, state.settings.event_streams_per_user).ok_or_else(|| {
            AppError::new(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                "events.too_many_streams",
                "该账号打开的事件流过多，请先关闭其他连接",
                "Too many event streams open for this account: close another first",
            )
        })?;
    let last = match from {
        Some(id) => id,
        None => state.run(move |conn, _| latest(conn, user)).await?,
    };
    let body = futures_util::stream::unfold(
        Stream {
            state,
            user,
            session,
            last,
            wake,
            started: false,
        },
        next_chunk,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
