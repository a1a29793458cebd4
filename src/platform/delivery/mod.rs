//! The outbox (NTF-1): every SMS, email and push is first a row written in
//! the transaction of the event that causes it, then sent by a dispatcher.
//!
//! - **Never lost**: the row commits with the event or not at all; a crash
//!   before the send leaves it pending, and the next round (of any process)
//!   sends it.
//! - **At least once, once per channel**: a round claims a row with a
//!   conditional update and a lease (`claimed_until`, taken at the claim's
//!   own time), so processes never send it at once; a round stops claiming
//!   well before its first lease could run out, and the `sent` mark is
//!   written only by the holder of the claim. A process killed between the
//!   provider's answer and the `sent` mark leaves the lease to run out and
//!   the row is sent again: the one duplicate window left. The row's id
//!   travels with it (email `Message-ID`, SMS `SessionContext`, push
//!   `sendno`) so a copy can be told apart; mail systems drop a repeated
//!   Message-ID, SMS and push providers do not.
//! - **Codes do not outlive their use**: a code's row not sent within the
//!   code's 5 minutes is dropped (dead, text cleared) instead of retried.
//! - **Retries with backoff** (`OUTBOX_RETRY_BASE_SECS` doubled per try),
//!   then a dead letter after `OUTBOX_MAX_ATTEMPTS`, listed for admins and
//!   counted in `/metrics`.

pub mod adapters;
pub mod jpush;
pub mod senders;
pub mod tencent;

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::db::schema::outbox;
use crate::platform::db::{DbConnection, write_tx};
use crate::platform::error::AppResult;
use crate::platform::state::AppState;
use senders::{Message, Sender};

/// The channels a message can leave by (in-app notices are not in the
/// outbox: they are the notifications themselves).
pub const CHANNELS: [&str; 3] = ["sms", "email", "push"];

/// One message to write to the outbox.
pub struct Outgoing<'a> {
    /// Unique per cause and channel (`notice:17:sms`, `code:4:email`).
    pub dedupe_key: String,
    pub channel: &'a str,
    pub kind: &'a str,
    pub user_id: Option<i64>,
    pub notification_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// A one-time code: its text is cleared once sent (ACC-12).
    pub secret: bool,
}

/// Writes `msg` to the outbox unless its dedupe key is there already;
/// whether it wrote. Call inside the event's transaction.
pub fn enqueue(conn: &mut DbConnection, now: NaiveDateTime, msg: Outgoing<'_>) -> AppResult<bool> {
    let there: bool = diesel::select(diesel::dsl::exists(
        outbox::table.filter(outbox::dedupe_key.eq(&msg.dedupe_key)),
    ))
    .get_result(conn)?;
    if there {
        return Ok(false);
    }
    diesel::insert_into(outbox::table)
        .values((
            outbox::dedupe_key.eq(&msg.dedupe_key),
            outbox::channel.eq(msg.channel),
            outbox::kind.eq(msg.kind),
            outbox::user_id.eq(msg.user_id),
            outbox::notification_id.eq(msg.notification_id),
            outbox::recipient.eq(&msg.recipient),
            outbox::subject.eq(&msg.subject),
            outbox::body.eq(&msg.body),
            outbox::secret.eq(msg.secret),
            outbox::status.eq("pending"),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    wake();
    Ok(true)
}

/// A row as the dispatcher, the sandbox and staff read it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub dedupe_key: String,
    pub channel: String,
    pub kind: String,
    pub user_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub secret: bool,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub provider: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// What one dispatcher round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct DispatchReport {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

/// Rows one round takes at most.
const BATCH: i64 = 200;
/// How long a claim holds a row against other processes.
const LEASE_SECS: i64 = 120;
/// The longest wait between tries.
const MAX_BACKOFF_SECS: i64 = 6 * 3_600;
/// What a sent code's row keeps instead of the code.
const CLEARED: &str = "（验证码已发出，内容不保存）";

/// Sends what is due, each row claimed on its own; a failing row is retried
/// later and does not stop the rest.
pub fn dispatch_once(st: &AppState) -> AppResult<DispatchReport> {
    let mut conn = st.pool.get()?;
    let now = st.clock.now_naive();
    let started = std::time::Instant::now();
    let mut report = DispatchReport::default();
    report.dead += drop_stale_codes(&mut conn, now)?;
    let due: Vec<i64> = outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::next_attempt_at.le(now))
        .filter(
            outbox::claimed_until
                .is_null()
                .or(outbox::claimed_until.lt(now)),
        )
        .order(outbox::id)
        .limit(BATCH)
        .select(outbox::id)
        .load(&mut conn)?;
    for id in due {
        // Leave the rest to the next round before a lease could run out.
        if started.elapsed() > std::time::Duration::from_secs(ROUND_SECS) {
            break;
        }
        let Some((row, claim_until)) = claim(&mut conn, id, st.clock.now_naive())? else {
            continue;
        };
        let Some(sender) = st.senders.for_channel(&row.channel) else {
            continue;
        };
        let result = send(sender, &row);
        let outcome = settle(&mut conn, st, &row, claim_until, sender.provider(), result)?;
        st.metrics.outbox_send(&row.channel, outcome);
        match outcome {
            "sent" => report.sent += 1,
            "dead" => report.dead += 1,
            _ => report.retried += 1,
        }
    }
    gauges(&mut conn, st)?;
    Ok(report)
}

/// A round claims rows for at most this long (a quarter of the lease).
const ROUND_SECS: u64 = 30;

/// Code rows not sent within a code's life: dead, their text cleared.
fn drop_stale_codes(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<usize> {
    let stale = now - chrono::Duration::seconds(300);
    write_tx(conn, |conn| {
        Ok(diesel::update(
            outbox::table
                .filter(outbox::secret.eq(true))
                .filter(outbox::status.eq("pending"))
                .filter(outbox::created_at.lt(stale))
                .filter(
                    outbox::claimed_until
                        .is_null()
                        .or(outbox::claimed_until.lt(now)),
                ),
        )
        .set((
            outbox::status.eq("dead"),
            outbox::body.eq(CLEARED),
            outbox::last_error.eq("the code expired before it could be sent"),
        ))
        .execute(conn)?)
    })
}

/// Takes `id` for this round if nobody holds it and it is still pending;
/// the row and the claim's end, which only this holder writes back.
fn claim(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> AppResult<Option<(OutboxRow, NaiveDateTime)>> {
    // Whole microseconds: what both databases keep, so the holder's check
    // in `settle` compares equal.
    let until = chrono::SubsecRound::trunc_subsecs(now + chrono::Duration::seconds(LEASE_SECS), 6);
    write_tx(conn, |conn| {
        let taken = diesel::update(
            outbox::table
                .find(id)
                .filter(outbox::status.eq("pending"))
                .filter(
                    outbox::claimed_until
                        .is_null()
                        .or(outbox::claimed_until.lt(now)),
                ),
        )
        .set(outbox::claimed_until.eq(until))
        .execute(conn)?;
        if taken == 0 {
            return Ok(None);
        }
        let row = outbox::table
            .find(id)
            .select(OutboxRow::as_select())
            .first(conn)?;
        Ok(Some((row, until)))
    })
}

fn send(sender: &dyn Sender, row: &OutboxRow) -> Result<String, senders::SendError> {
    sender.send(&Message {
        outbox_id: row.id,
        dedupe_key: row.dedupe_key.clone(),
        kind: row.kind.clone(),
        recipient: row.recipient.clone(),
        subject: row.subject.clone(),
        body: row.body.clone(),
    })
}

/// Records a send's outcome: sent, another try later, or dead.
fn settle(
    conn: &mut DbConnection,
    st: &AppState,
    row: &OutboxRow,
    claim_until: NaiveDateTime,
    provider: &str,
    result: Result<String, senders::SendError>,
) -> AppResult<&'static str> {
    let now = st.clock.now_naive();
    // A code stays readable only where nothing real was sent (the sandbox).
    let body = if row.secret && provider != "development" {
        CLEARED
    } else {
        row.body.as_str()
    };
    // Only the holder of the claim writes the outcome.
    let target = outbox::table
        .find(row.id)
        .filter(outbox::claimed_until.eq(claim_until));
    write_tx(conn, |conn| match result {
        Ok(reference) => {
            diesel::update(target)
                .set((
                    outbox::status.eq("sent"),
                    outbox::sent_at.eq(now),
                    outbox::provider.eq(provider),
                    outbox::provider_ref.eq(reference),
                    outbox::claimed_until.eq(None::<NaiveDateTime>),
                    outbox::attempts.eq(row.attempts + 1),
                    outbox::body.eq(body),
                ))
                .execute(conn)?;
            Ok("sent")
        }
        Err(e) => {
            let attempts = row.attempts + 1;
            let dead = attempts >= st.settings.delivery.outbox_max_attempts;
            let base = st.settings.delivery.outbox_retry_base_secs;
            let wait = base
                .saturating_mul(1_i64 << (attempts - 1).clamp(0, 20))
                .min(MAX_BACKOFF_SECS);
            log::warn!(
                "outbox {} via {provider}: try {attempts} failed: {}",
                row.id,
                e.0
            );
            diesel::update(target)
                .set((
                    outbox::status.eq(if dead { "dead" } else { "pending" }),
                    outbox::attempts.eq(attempts),
                    outbox::last_error.eq(&e.0),
                    outbox::provider.eq(provider),
                    outbox::next_attempt_at.eq(now + chrono::Duration::seconds(wait)),
                    outbox::claimed_until.eq(None::<NaiveDateTime>),
                    outbox::body.eq(if dead && row.secret {
                        CLEARED
                    } else {
                        &row.body
                    }),
                ))
                .execute(conn)?;
            Ok(if dead { "dead" } else { "retry" })
        }
    })
}

/// The backlog and the dead letters, for `/metrics`.
fn gauges(conn: &mut DbConnection, st: &AppState) -> AppResult<()> {
    let count = |conn: &mut DbConnection, status: &str| -> AppResult<i64> {
        Ok(outbox::table
            .filter(outbox::status.eq(status))
            .count()
            .get_result(conn)?)
    };
    let pending = count(conn, "pending")?;
    let dead = count(conn, "dead")?;
    st.metrics.outbox_counts(pending, dead);
    Ok(())
}

/// The newest rows of `recipient` a development sender "sent" (the
/// sandbox's view).
pub fn sent_by_development(
    conn: &mut DbConnection,
    recipient: &str,
    limit: i64,
) -> AppResult<Vec<OutboxRow>> {
    Ok(outbox::table
        .filter(outbox::recipient.eq(recipient))
        .filter(outbox::status.eq("sent"))
        .filter(outbox::provider.eq("development"))
        .order(outbox::id.desc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Rows with `status`, newest first, before `before` (staff's view).
pub fn list(
    conn: &mut DbConnection,
    status: &str,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<OutboxRow>> {
    let mut q = outbox::table
        .filter(outbox::status.eq(status))
        .order(outbox::id.desc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(outbox::id.lt(before));
    }
    Ok(q.load(conn)?)
}

/// Puts a dead letter back in the queue, due now; whether it was dead.
pub fn retry(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> AppResult<bool> {
    let n = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq("dead"))
            .filter(outbox::secret.eq(false)),
    )
    .set((
        outbox::status.eq("pending"),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    wake();
    Ok(n > 0)
}

/// ACC-10: an anonymised account's messages are deleted (recipient and
/// text are personal data).
pub fn forget_user(conn: &mut DbConnection, user_id: i64) -> AppResult<usize> {
    Ok(diesel::delete(outbox::table.filter(outbox::user_id.eq(user_id))).execute(conn)?)
}

/// Whether a row exists (for telling 404 from 409).
pub fn row(conn: &mut DbConnection, id: i64) -> AppResult<Option<OutboxRow>> {
    Ok(outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()?)
}

/// Wakes this process's dispatcher early (something was written).
static WAKE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

pub fn wake() {
    if let Ok(mut woken) = WAKE.0.lock() {
        *woken = true;
        WAKE.1.notify_one();
    }
}

fn wait(timeout: Duration) {
    let Ok(guard) = WAKE.0.lock() else {
        std::thread::sleep(timeout);
        return;
    };
    if let Ok((mut woken, _)) = WAKE.1.wait_timeout_while(guard, timeout, |woken| !*woken) {
        *woken = false;
    }
}

/// Starts the dispatcher on its own thread (`OUTBOX_INTERVAL_MS`; 0: off,
/// for a process that must not send, or when another process sends).
pub fn spawn_dispatcher(state: AppState) {
    let interval = state.settings.delivery.outbox_interval_ms;
    if interval == 0 {
        log::info!("outbox dispatcher off (OUTBOX_INTERVAL_MS=0)");
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("outbox".into())
        .spawn(move || {
            loop {
                wait(Duration::from_millis(interval));
                // Let the writing transaction commit before reading.
                std::thread::sleep(Duration::from_millis(20));
                match dispatch_once(&state) {
                    Ok(r) if r != DispatchReport::default() => log::info!("outbox: {r:?}"),
                    Ok(_) => {}
                    Err(e) => log::warn!("outbox round failed: {}", e.code),
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot start the outbox dispatcher: {e}");
    }
}
