//! Both databases behind one connection type.
//!
//! [`DbConnection`] is a Diesel `MultiConnection` over PostgreSQL and SQLite,
//! chosen from the `DATABASE_URL` scheme by [`Backend::from_url`] (Diesel's
//! derived `establish` would try both and hide the real error). Each backend
//! has its own embedded migrations with the same names; SQLite connections get
//! their pragmas when the pool opens them.

pub mod schema;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::platform::error::AppError;

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = r2d2::Pool<DbManager>;
pub type PooledConn = r2d2::PooledConnection<DbManager>;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Postgres(String),
    /// The SQLite file path (or `:memory:`).
    Sqlite(String),
}

/// A database URL that names no backend we run on.
#[derive(Debug, thiserror::Error)]
#[error("DATABASE_URL must start with sqlite:// or postgres:// (got scheme `{0}`)")]
pub struct UnknownScheme(pub String);

impl Backend {
    /// `postgres://…` / `postgresql://…` → PostgreSQL; `sqlite://file.db`,
    /// `sqlite:///abs/file.db` or `sqlite:file.db` → SQLite.
    pub fn from_url(url: &str) -> Result<Backend, UnknownScheme> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(loopback_without_tls(url)));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            if !path.is_empty() {
                return Ok(Backend::Sqlite(path.to_string()));
            }
        }
        let scheme = url.split(':').next().unwrap_or("").to_string();
        Err(UnknownScheme(scheme))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }
}

/// A PostgreSQL URL on the loopback interface without an `sslmode` gets
/// `sslmode=disable`: libpq's default (`prefer`) negotiates TLS, which on
/// loopback protects nothing (the bytes never leave the machine) and costs
/// CPU on every round trip. Any explicit `sslmode` is kept; other hosts
/// are left to libpq's default.
fn loopback_without_tls(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "::1");
    if !loopback || url.contains("sslmode=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
     PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;";

/// Every SQLite connection this process opens plans a statement once and
/// keeps the plan (the query planner stability guarantee, QPSG). Without it
/// SQLite re-plans a cached statement at every run when a bound value may
/// shape its plan, and every `LIMIT ?` Diesel binds (`first`, `limit`,
/// `single_value`) counts: the session check and a bid's facts were parsed
/// and planned again on every request (issue 13, counted with a probe on
/// `sqlite3Reprepare`: two per bid). Plans from bound values would only
/// help a `LIKE 'prefix%'` or STAT4 samples, neither of which is used here.
fn plan_once_per_statement() {
    use libsqlite3_sys as ffi;
    use std::ffi::{c_char, c_int};
    unsafe extern "C" fn stable_plans(
        db: *mut ffi::sqlite3,
        _error: *mut *mut c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        // SAFETY: SQLite calls this with the connection it is opening;
        // the option takes an int and an optional out-pointer (none here).
        unsafe {
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as c_int,
                std::ptr::null_mut::<c_int>(),
            );
        }
        ffi::SQLITE_OK
    }
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: registers a function SQLite calls on each new connection
        // of this process; it only sets an option of that connection.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(stable_plans)) };
        if rc != ffi::SQLITE_OK {
            log::warn!("SQLite: stable query plans not enabled (code {rc})");
        }
    });
}

/// Opens connections for the r2d2 pool, one backend per pool.
#[derive(Debug, Clone)]
pub struct DbManager {
    backend: Backend,
}

impl DbManager {
    pub fn new(backend: Backend) -> Self {
        DbManager { backend }
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.backend {
            Backend::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite(path) => {
                plan_once_per_statement();
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// Builds the pool; `min_idle(0)` lets the server start (and answer `/readyz`
/// with 503) while the database is down.
pub fn build_pool(backend: Backend, size: u32, timeout: Duration) -> Result<DbPool, String> {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(timeout)
        .test_on_check_out(false)
        .build(DbManager::new(backend))
        .map_err(|e| e.to_string())
}

/// Takes a lock on `key` until the transaction ends: a PostgreSQL
/// transaction advisory lock, so writers that read-then-write a total
/// (a user's stored bytes) take turns across processes. On SQLite the
/// writer queue already runs write transactions one at a time.
pub fn xact_lock(conn: &mut DbConnection, key: i64) -> crate::platform::error::AppResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(c)?;
    }
    Ok(())
}

/// The advisory lock key migrations hold on PostgreSQL ("wgb-migr").
const MIGRATION_LOCK: i64 = 0x7767_622d_6d69_6772;

/// Applies the pending migrations of the connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, String> {
    match conn {
        DbConnection::Postgresql(c) => {
            // SVC-3: processes starting together on one database take
            // turns (a session advisory lock), so the second finds nothing
            // pending instead of failing on the first's half-made tables.
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| e.to_string())?;
            let applied = c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len());
            let unlocked = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            let applied = applied.map_err(|e| e.to_string())?;
            unlocked.map_err(|e| e.to_string())?;
            Ok(applied)
        }
        // SQLite is the one-process embedded default.
        DbConnection::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len())
            .map_err(|e| e.to_string()),
    }
}

/// SQLite has one writer at a time, and a writer that finds the lock taken
/// sleeps in its busy handler (naps of up to 100 ms) instead of waking when
/// the lock frees: with 32 connections bidding, p99 was 650 ms for a
/// transaction of a millisecond. This process's writers queue here instead
/// and start the moment the previous one ends. Past the wait (a writer in
/// another process, or one stuck), SQLite's own busy handling still
/// applies. One queue for every SQLite file of the process: they are short.
static SQLITE_WRITERS: parking_lot::Mutex<()> = parking_lot::const_mutex(());
const SQLITE_WRITER_WAIT: Duration = Duration::from_secs(10);

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`, so the
/// write lock is taken (waiting up to `busy_timeout`) before the first read
/// and two writers cannot deadlock on a lock upgrade. Nested work inside `f`
/// uses `conn.transaction` (savepoints).
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let turn = match conn {
        DbConnection::Postgresql(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            None
        }
        DbConnection::Sqlite(c) => {
            let turn = SQLITE_WRITERS.try_lock_for(SQLITE_WRITER_WAIT);
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            turn
        }
    };
    let outcome = match f(conn) {
        Ok(value) => {
            let committed =
                <DbConnection as Connection>::TransactionManager::commit_transaction(conn);
            // Caches learn of the change once it is visible, not before (a
            // failed commit may still have committed: a spurious move costs
            // a cache miss, a missed one a stale page).
            crate::platform::changes::announce();
            committed.map(|()| value).map_err(E::from)
        }
        Err(err) => {
            crate::platform::changes::discard();
            // The original error matters more than a failed rollback; a
            // broken connection is dropped by the pool (`has_broken`).
            let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    };
    // SQLite writers take turns in the order they came (issue 13): an
    // unfair hand-off let a writer wait behind hundreds of later ones
    // (bid p99 651 ms at 2,588 req/s).
    if let Some(turn) = turn {
        parking_lot::MutexGuard::unlock_fair(turn);
    }
    outcome
}

/// Runs `f` atomically: inside the transaction the caller is already in,
/// or else in a write transaction of its own ([`write_tx`]). For work
/// that reads first and writes last, so only the writes hold SQLite's
/// writer turn.
pub fn atomic<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let depth =
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?;
    if depth.is_some() {
        f(conn)
    } else {
        write_tx(conn, f)
    }
}

/// Maps a unique violation to `on_unique`, anything else through `AppError`.
pub fn unique_or(err: diesel::result::Error, on_unique: impl FnOnce(&str) -> AppError) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info) => {
            // PostgreSQL names the constraint; SQLite names the columns in
            // its message ("UNIQUE constraint failed: users.email_key").
            let what = info
                .constraint_name()
                .map(str::to_string)
                .unwrap_or_else(|| info.message().to_string());
            on_unique(&what)
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    diesel::table! {
        counters (id) {
            id -> BigInt,
            n -> BigInt,
        }
    }

    #[test]
    fn a_reused_update_is_prepared_once_per_connection() {
        use diesel::connection::InstrumentationEvent;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let mut conn = DbManager::new(Backend::Sqlite(":memory:".into()))
            .connect()
            .unwrap();
        conn.batch_execute(
            "CREATE TABLE counters (id INTEGER PRIMARY KEY, n BIGINT NOT NULL); \
             INSERT INTO counters VALUES (1, 0);",
        )
        .unwrap();
        let cached = Arc::new(AtomicUsize::new(0));
        if let DbConnection::Sqlite(c) = &mut conn {
            let seen = Arc::clone(&cached);
            c.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                if matches!(event, InstrumentationEvent::CacheQuery { .. }) {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        for _ in 0..3 {
            let changed = Reused(
                diesel::update(counters::table.find(1))
                    .set(counters::n.eq(counters::n + 1))
                    .returning(counters::id),
            )
            .rows(&mut conn)
            .unwrap();
            assert_eq!(changed, 1);
        }
        // Prepared (and cached) on the first run only; Diesel alone would
        // prepare an UPDATE on every run.
        assert_eq!(cached.load(Ordering::SeqCst), 1);
        let n: i64 = counters::table
            .find(1)
            .select(counters::n)
            .first(&mut conn)
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn loopback_postgres_skips_tls_unless_told_otherwise() {
        assert_eq!(
            loopback_without_tls("postgres://postgres@127.0.0.1:5432/db"),
            "postgres://postgres@127.0.0.1:5432/db?sslmode=disable"
        );
        assert_eq!(
            loopback_without_tls("postgres://u:p@localhost/db?application_name=x"),
            "postgres://u:p@localhost/db?application_name=x&sslmode=disable"
        );
        assert_eq!(
            loopback_without_tls("postgres://u@[::1]:5432/db"),
            "postgres://u@[::1]:5432/db?sslmode=disable"
        );
        for kept in [
            "postgres://u@127.0.0.1/db?sslmode=require",
            "postgres://u@db.internal:5432/db",
            "postgres://u@10.0.0.5/db",
        ] {
            assert_eq!(loopback_without_tls(kept), kept);
        }
    }

    #[test]
    fn backend_from_url_reads_the_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://weigongbao.db").unwrap(),
            Backend::Sqlite("weigongbao.db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite:///abs/path.db").unwrap(),
            Backend::Sqlite("/abs/path.db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite:rel.db").unwrap(),
            Backend::Sqlite("rel.db".into())
        );
        assert!(matches!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert!(matches!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert_eq!(Backend::from_url("mysql://x").unwrap_err().0, "mysql");
        assert!(Backend::from_url("sqlite://").is_err());
    }
}

/// A statement whose SQL is the same on every run from its call site, but
/// which Diesel would parse and plan anew each time (every `UPDATE`, raw
/// SQL): wrapped, it is prepared once per connection and reused, keyed by
/// its SQL text (issue 13: re-preparing cost a tenth of a bid's database
/// time). Only for statements without optional (`None`-skipping) changes
/// or variable-length lists, whose text never varies with their values.
#[derive(Debug, Clone, Copy)]
pub struct Reused<Q>(pub Q);

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for Reused<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> diesel::query_builder::QueryId for Reused<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Reused<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Reused<Q> {}

impl<Q> Reused<Q>
where
    Q: diesel::query_builder::Query<SqlType = diesel::sql_types::BigInt>
        + diesel::query_builder::QueryFragment<diesel::pg::Pg>
        + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
        + diesel::query_builder::QueryId,
{
    /// Runs a write that returns one id per row it changed (`UPDATE …
    /// RETURNING id`) on the backend's own connection and counts the rows.
    /// Loaded, not executed: Diesel executes through a reference, and a
    /// reference does not pass the caching decision on (measured with a
    /// probe on `sqlite3_prepare_v3`: such an UPDATE was prepared on every
    /// run); through the `MultiConnection` it would be decided again from
    /// the statement inside as well.
    pub fn rows(self, conn: &mut DbConnection) -> QueryResult<usize> {
        let ids: Vec<i64> = match conn {
            DbConnection::Postgresql(c) => RunQueryDsl::load(self, c)?,
            DbConnection::Sqlite(c) => RunQueryDsl::load(self, c)?,
        };
        Ok(ids.len())
    }
}
