//! Rate limits (SA §3.9 scraping, SA §3.10 account abuse, MKT-7): per IP on
//! the endpoints that guess passwords or create accounts and on anonymous
//! discovery, per user on bids and demands. Limits are settings so QA, the
//! contract test and the benchmark can raise them.
//!
//! Every limited answer says where the caller stands, in the IETF
//! `RateLimit-Policy` / `RateLimit` headers: the handler (or the discovery
//! middleware, `platform::http::rate_limit`) records the check in the
//! request's [`RateNote`], which writes it on the way out, 429s included.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::platform::config::{RateLimits, RateStore};
use crate::platform::db::{DbConnection, Reused};
use crate::platform::error::{AppError, AppResult};

/// One keyed limiter per endpoint group.
pub struct RateLimiters {
    pub register: Limiter,
    pub login: Limiter,
    pub refresh: Limiter,
    /// Anonymous reads of public resources, per IP (SA §3.9).
    pub discovery: Limiter,
    /// Per user (MKT-7).
    pub bids: Limiter,
    pub demands: Limiter,
    /// Messages sent, per user (MSG-1: against flooding the other side).
    pub messages: Limiter,
    /// Code requests and password resets, per IP (ACC-12).
    pub codes: Limiter,
}

impl RateLimiters {
    /// Every limit counts in `limits.store`: the database on PostgreSQL
    /// and Redis when `REDIS_URL` is set (shared by every process, SVC-3),
    /// each process's memory on SQLite. Anonymous discovery, checked on
    /// every public read, takes its shared counts in leases (see
    /// [`Limiter::check_local`]).
    pub fn new(
        limits: &RateLimits,
        market: &crate::platform::config::MarketSettings,
        codes_per_minute: u32,
    ) -> Self {
        let counts = Counts::of(limits);
        let shared = |name, n| Limiter::per_minute(name, n).counting_in(counts.clone());
        RateLimiters {
            register: shared("register", limits.register_per_minute),
            login: shared("login", limits.login_per_minute),
            refresh: shared("refresh", limits.refresh_per_minute),
            discovery: shared("discovery", limits.anonymous_per_minute),
            bids: shared("bids", market.bids_per_minute),
            demands: shared("demands", market.demands_per_minute),
            messages: shared("messages", market.messages_per_minute),
            codes: shared("codes", codes_per_minute),
        }
    }
}

type RedisPool = diesel::r2d2::Pool<redis::Client>;

/// Where a limit keeps its counts.
#[derive(Clone)]
enum Counts {
    Memory,
    Database,
    Redis(RedisPool),
}

impl Counts {
    fn of(limits: &RateLimits) -> Counts {
        match limits.store {
            RateStore::Memory => Counts::Memory,
            RateStore::Database => Counts::Database,
            RateStore::Redis => match limits.redis_url.as_deref().map(redis::Client::open) {
                Some(Ok(client)) => Counts::Redis(
                    diesel::r2d2::Pool::builder()
                        .max_size(16)
                        .min_idle(Some(0))
                        .connection_timeout(std::time::Duration::from_secs(2))
                        .build_unchecked(client),
                ),
                // Settings checked the URL; should it still not parse,
                // count in the database rather than not at all.
                _ => {
                    log::error!("REDIS_URL cannot be used; rate limits count in the database");
                    Counts::Database
                }
            },
        }
    }
}

/// The outcome of one shared GCRA step: the key's theoretical arrival time
/// after it (allowed) or as it stands (refused), microseconds.
enum Step {
    Allowed(i64),
    Refused(i64),
}

/// GCRA in Redis, atomically in one script: the same rule as the table's
/// upsert ([`gcra_step`]). KEYS[1] the bucket; ARGV now, increment,
/// capacity (microseconds). The key expires when the bucket is whole.
const GCRA_LUA: &str = r"
local now = tonumber(ARGV[1])
local increment = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local new = tat + increment
if new - now > capacity then return {0, tat} end
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return {1, new}
";

fn redis_step(
    pool: &RedisPool,
    bucket: &str,
    now: i64,
    increment: i64,
    capacity: i64,
) -> AppResult<Step> {
    static SCRIPT: std::sync::LazyLock<redis::Script> =
        std::sync::LazyLock::new(|| redis::Script::new(GCRA_LUA));
    let mut conn = pool.get().map_err(AppError::unavailable)?;
    let (allowed, tat): (i64, i64) = SCRIPT
        .key(format!("wgb:rl:{bucket}"))
        .arg(now)
        .arg(increment)
        .arg(capacity)
        .invoke(&mut *conn)
        .map_err(AppError::unavailable)?;
    Ok(if allowed == 1 {
        Step::Allowed(tat)
    } else {
        Step::Refused(tat)
    })
}

#[derive(QueryableByName)]
struct Tat {
    #[diesel(sql_type = BigInt)]
    tat: i64,
}

/// One GCRA step in the shared table, atomically: the key's theoretical
/// arrival time moves on by `increment` (one request's interval, or a
/// lease's) if that stays within `capacity` of `now` (all microseconds);
/// `Some(new tat)` when allowed, `None` when not.
fn gcra_step(
    conn: &mut DbConnection,
    key: &str,
    now: i64,
    increment: i64,
    capacity: i64,
) -> AppResult<Option<i64>> {
    const SQLITE: &str = "INSERT INTO rate_limits (key, tat) VALUES (?1, ?2 + ?3) \
        ON CONFLICT (key) DO UPDATE SET \
        tat = (CASE WHEN rate_limits.tat > ?2 THEN rate_limits.tat ELSE ?2 END) + ?3 \
        WHERE (CASE WHEN rate_limits.tat > ?2 THEN rate_limits.tat ELSE ?2 END) + ?3 - ?2 <= ?4 \
        RETURNING tat";
    const POSTGRES: &str = "INSERT INTO rate_limits (key, tat) VALUES ($1, $2 + $3) \
        ON CONFLICT (key) DO UPDATE SET \
        tat = GREATEST(rate_limits.tat, $2) + $3 \
        WHERE GREATEST(rate_limits.tat, $2) + $3 - $2 <= $4 \
        RETURNING tat";
    let rows: Vec<Tat> = match conn {
        DbConnection::Sqlite(c) => Reused(
            diesel::sql_query(SQLITE)
                .bind::<Text, _>(key)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(increment)
                .bind::<BigInt, _>(capacity),
        )
        .load(c)?,
        DbConnection::Postgresql(c) => Reused(
            diesel::sql_query(POSTGRES)
                .bind::<Text, _>(key)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(increment)
                .bind::<BigInt, _>(capacity),
        )
        .load(c)?,
    };
    Ok(rows.first().map(|r| r.tat))
}

fn database_step(
    conn: &mut DbConnection,
    bucket: &str,
    now: i64,
    increment: i64,
    capacity: i64,
) -> AppResult<Step> {
    if let Some(tat) = gcra_step(conn, bucket, now, increment, capacity)? {
        return Ok(Step::Allowed(tat));
    }
    let tat: i64 = match conn {
        DbConnection::Sqlite(c) => {
            diesel::sql_query("SELECT tat FROM rate_limits WHERE key = ?1")
                .bind::<Text, _>(bucket)
                .get_result::<Tat>(c)?
                .tat
        }
        DbConnection::Postgresql(c) => {
            diesel::sql_query("SELECT tat FROM rate_limits WHERE key = $1")
                .bind::<Text, _>(bucket)
                .get_result::<Tat>(c)?
                .tat
        }
    };
    Ok(Step::Refused(tat))
}

/// Forgets shared buckets that are whole again (their time is past).
pub fn purge(conn: &mut DbConnection, now_micros: i64) -> AppResult<usize> {
    use diesel::sql_types::BigInt as B;
    let cutoff = now_micros - 3_600_000_000;
    Ok(match conn {
        DbConnection::Sqlite(c) => diesel::sql_query("DELETE FROM rate_limits WHERE tat < ?1")
            .bind::<B, _>(cutoff)
            .execute(c)?,
        DbConnection::Postgresql(c) => diesel::sql_query("DELETE FROM rate_limits WHERE tat < $1")
            .bind::<B, _>(cutoff)
            .execute(c)?,
    })
}

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Where one caller stands against one limit, for the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub policy: &'static str,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the quota is whole again.
    pub reset_secs: u64,
}

impl RateState {
    fn policy_header(&self) -> String {
        format!("\"{}\";q={};w=60", self.policy, self.limit)
    }

    fn header(&self) -> String {
        format!(
            "\"{}\";r={};t={}",
            self.policy, self.remaining, self.reset_secs
        )
    }
}

/// The request's record of the limit it was counted against (cheap to
/// clone; the database closure that checks a per-user limit writes to it).
#[derive(Debug, Clone, Default)]
pub struct RateNote(Arc<Mutex<Option<RateState>>>);

impl RateNote {
    /// The request's note (the one the middleware reads back).
    pub fn of(req: &HttpRequest) -> RateNote {
        if let Some(note) = req.extensions().get::<RateNote>() {
            return note.clone();
        }
        let note = RateNote::default();
        req.extensions_mut().insert(note.clone());
        note
    }

    fn set(&self, state: RateState) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(state);
        }
    }

    fn get(&self) -> Option<RateState> {
        self.0.lock().ok().and_then(|slot| *slot)
    }

    /// Writes `RateLimit-Policy` and `RateLimit` for the limit noted, if any.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let Some(state) = self.get() else {
            return;
        };
        for (name, value) in [
            ("ratelimit-policy", state.policy_header()),
            ("ratelimit", state.header()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

impl FromRequest for RateNote {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(RateNote::of(req)))
    }
}

/// A token bucket per client key: `n` requests per minute, burst `n`.
pub struct Limiter {
    name: &'static str,
    per_minute: u32,
    counts: Counts,
    inner: Keyed,
    checks: AtomicU64,
    /// Shared tokens this process took ahead (anonymous discovery).
    leases: Mutex<HashMap<String, Lease>>,
    /// Turns to take a lease, by key hash: requests of one address that
    /// find no tokens at once take one lease, not one each.
    lease_turns: [tokio::sync::Mutex<()>; LEASE_TURNS],
}

const LEASE_TURNS: usize = 64;

/// Tokens taken from a shared bucket ahead of use, or a refusal kept
/// until it ends (a refused client costs no shared step per request).
struct Lease {
    refused: bool,
    left: u32,
    /// Shared tokens left after the lease was taken.
    remaining: u32,
    reset_secs: u64,
    until: Instant,
}

/// How long a lease's tokens may be used; unused ones are lost (the limit
/// errs toward fewer requests, never more).
const LEASE_LIFE: Duration = Duration::from_secs(10);

impl Limiter {
    pub fn per_minute(name: &'static str, n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Limiter {
            name,
            per_minute: n.get(),
            counts: Counts::Memory,
            inner: RateLimiter::keyed(Quota::per_minute(n))
                .with_middleware::<StateInformationMiddleware>(),
            checks: AtomicU64::new(0),
            leases: Mutex::new(HashMap::new()),
            lease_turns: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
        }
    }

    fn counting_in(mut self, counts: Counts) -> Self {
        self.counts = counts;
        self
    }

    /// Whether this limit counts in this process's memory alone.
    pub fn is_local(&self) -> bool {
        matches!(self.counts, Counts::Memory)
    }

    fn interval(&self) -> i64 {
        60_000_000 / i64::from(self.per_minute)
    }

    /// Whether a shared step needs a database connection.
    pub fn needs_database(&self) -> bool {
        matches!(self.counts, Counts::Database)
    }

    /// One shared GCRA step of `cells` requests for `bucket`.
    fn shared_step(
        &self,
        conn: Option<&mut DbConnection>,
        bucket: &str,
        now: i64,
        cells: u32,
    ) -> AppResult<Step> {
        let interval = self.interval();
        let capacity = interval * i64::from(self.per_minute);
        let increment = interval * i64::from(cells);
        match (&self.counts, conn) {
            (Counts::Redis(pool), _) => redis_step(pool, bucket, now, increment, capacity),
            (_, Some(conn)) => database_step(conn, bucket, now, increment, capacity),
            (_, None) => Err(AppError::internal(
                "a database-counted limit needs a connection",
            )),
        }
    }

    /// Where a key stands after a shared step, and the refusal if any.
    fn judge(&self, step: Step, now: i64, note: &RateNote) -> AppResult<RateState> {
        let interval = self.interval();
        let capacity = interval * i64::from(self.per_minute);
        let secs = |micros: i64| u64::try_from((micros + 999_999) / 1_000_000).unwrap_or(0);
        match step {
            Step::Allowed(tat) => {
                let ahead = tat - now;
                let state = RateState {
                    policy: self.name,
                    limit: self.per_minute,
                    remaining: u32::try_from((capacity - ahead) / interval).unwrap_or(0),
                    reset_secs: secs(ahead),
                };
                note.set(state);
                Ok(state)
            }
            Step::Refused(tat) => {
                // Refused: the bucket is full until its time falls back
                // within capacity.
                let wait = secs(tat + interval - now - capacity).max(1);
                note.set(RateState {
                    policy: self.name,
                    limit: self.per_minute,
                    remaining: 0,
                    reset_secs: wait,
                });
                Err(AppError::rate_limited(wait))
            }
        }
    }

    /// Counts one request from `key` where this limit keeps its counts:
    /// the shared table through `conn` or Redis (SVC-3), or this process's
    /// memory. Only a limit that [`Limiter::needs_database`] needs `conn`.
    pub fn check_shared(
        &self,
        conn: Option<&mut DbConnection>,
        now_micros: i64,
        key: &str,
        note: &RateNote,
    ) -> AppResult<()> {
        if self.is_local() {
            return self.check(key, note);
        }
        let bucket = format!("{}:{key}", self.name);
        let step = self.shared_step(conn, &bucket, now_micros, 1)?;
        self.judge(step, now_micros, note).map(|_| ())
    }

    /// Counts one request from `key` without waiting: in memory for a local
    /// limit, or from a lease of shared tokens this process holds. `None`:
    /// no tokens at hand, [`Limiter::lease`] must take some.
    pub fn check_local(&self, key: &str, note: &RateNote) -> Option<AppResult<()>> {
        if self.is_local() {
            return Some(self.check(key, note));
        }
        let mut leases = self.leases.lock().ok()?;
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            let now = Instant::now();
            leases.retain(|_, l| l.until > now);
        }
        let lease = leases.get_mut(key)?;
        let now = Instant::now();
        if lease.until <= now {
            return None;
        }
        if lease.refused {
            let wait = lease.until - now;
            let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            note.set(RateState {
                policy: self.name,
                limit: self.per_minute,
                remaining: 0,
                reset_secs: secs,
            });
            return Some(Err(AppError::rate_limited(secs)));
        }
        if lease.left == 0 {
            return None;
        }
        lease.left -= 1;
        note.set(RateState {
            policy: self.name,
            limit: self.per_minute,
            remaining: lease.remaining + lease.left,
            reset_secs: lease.reset_secs,
        });
        Some(Ok(()))
    }

    /// Waits for the turn to take a lease for `key` (then check
    /// [`Limiter::check_local`] again: the previous holder may have taken one).
    pub async fn lease_turn(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        self.lease_turns[(hash % LEASE_TURNS as u64) as usize]
            .lock()
            .await
    }

    /// Takes a lease of shared tokens for `key` and spends the first: a
    /// twentieth of the limit at once (so a busy address costs one shared
    /// step per twenty requests), or a single one when fewer are left.
    pub fn lease(
        &self,
        mut conn: Option<&mut DbConnection>,
        now_micros: i64,
        key: &str,
        note: &RateNote,
    ) -> AppResult<()> {
        let bucket = format!("{}:{key}", self.name);
        let batch = (self.per_minute / 20).max(1);
        let mut cells = batch;
        let mut step = self.shared_step(conn.as_deref_mut(), &bucket, now_micros, cells)?;
        if matches!(step, Step::Refused(_)) && batch > 1 {
            cells = 1;
            step = self.shared_step(conn, &bucket, now_micros, 1)?;
        }
        let state = match self.judge(step, now_micros, note) {
            Ok(state) => state,
            Err(refusal) => {
                let wait = Duration::from_secs(refusal.retry_after.unwrap_or(1));
                if let Ok(mut leases) = self.leases.lock() {
                    leases.insert(
                        key.to_string(),
                        Lease {
                            refused: true,
                            left: 0,
                            remaining: 0,
                            reset_secs: wait.as_secs(),
                            until: Instant::now() + wait,
                        },
                    );
                }
                return Err(refusal);
            }
        };
        if let Ok(mut leases) = self.leases.lock() {
            leases.insert(
                key.to_string(),
                Lease {
                    refused: false,
                    left: cells - 1,
                    remaining: state.remaining,
                    reset_secs: state.reset_secs,
                    until: Instant::now() + LEASE_LIFE,
                },
            );
        }
        note.set(RateState {
            remaining: state.remaining + cells - 1,
            ..state
        });
        Ok(())
    }

    /// Counts one request from `key` and notes where it stands; over the
    /// limit it answers 429 with the seconds until the next request is
    /// allowed.
    pub fn check(&self, key: &str, note: &RateNote) -> AppResult<()> {
        // Forget idle keys now and then so the map does not grow forever.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.inner.retain_recent();
        }
        let per_token = 60.0 / f64::from(self.per_minute);
        match self.inner.check_key(&key.to_string()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = f64::from(self.per_minute.saturating_sub(remaining));
                note.set(RateState {
                    policy: self.name,
                    limit: self.per_minute,
                    remaining,
                    reset_secs: (used * per_token).ceil() as u64,
                });
                Ok(())
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                // The quota is not whole again for a minute, but the next
                // request is allowed after `secs`: say when the caller may
                // go on (as Retry-After does).
                note.set(RateState {
                    policy: self.name,
                    limit: self.per_minute,
                    remaining: 0,
                    reset_secs: secs,
                });
                Err(AppError::rate_limited(secs))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_applies_per_key_with_retry_after() {
        let limiter = Limiter::per_minute("t", 2);
        let note = RateNote::default();
        assert!(limiter.check("1.1.1.1", &note).is_ok());
        assert_eq!(note.get().map(|s| s.remaining), Some(1));
        assert!(limiter.check("1.1.1.1", &note).is_ok());
        assert_eq!(note.get().map(|s| s.remaining), Some(0));
        let err = limiter.check("1.1.1.1", &note).unwrap_err();
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        let state = note.get().unwrap();
        assert_eq!(
            state.header(),
            format!("\"t\";r=0;t={}", err.retry_after.unwrap())
        );
        assert_eq!(state.policy_header(), "\"t\";q=2;w=60");
        assert!(limiter.check("2.2.2.2", &note).is_ok());
    }
}
