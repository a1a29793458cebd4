//! Data migrations on databases that hold rows in the old shape: the
//! migrations before `000007_structure` run first, old-shape rows go in by
//! SQL, then the server's own migration runner moves them (both backends).

mod common;

use std::time::Duration;

use common::TestDb;
use diesel::connection::SimpleConnection;
use diesel::migration::{MigrationConnection, MigrationSource};
use diesel::prelude::*;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use weigongbao::platform::db::schema::{measure_services, restricted_identities};
use weigongbao::platform::db::{self, Backend};

const STRUCTURE: &str = "2026-11-28-000007_structure";

/// Applies every migration of `dir` named before `stop`.
fn migrate_before<DB, C>(conn: &mut C, dir: &str, stop: &str)
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB> + MigrationConnection,
    FileBasedMigrations: MigrationSource<DB>,
{
    conn.setup().expect("migrations table");
    let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
    let source = FileBasedMigrations::from_path(path).expect("migrations folder");
    let mut all = MigrationSource::<DB>::migrations(&source).expect("read migrations");
    all.sort_by_key(|m| m.name().to_string());
    for m in all.iter().filter(|m| m.name().to_string().as_str() < stop) {
        conn.run_migration(m.as_ref()).expect("old migration");
    }
}

/// Rows as the code before `000007` wrote them: a suspension of two
/// services in one comma-joined column, and restricted identities found by
/// the seal's reason text.
const OLD_ROWS: &str = "
INSERT INTO users (id, member_name, member_name_key, password_hash, contact_name, address,
    account_kind, role, status, created_at, updated_at)
VALUES (900, 'old_user', 'old_user', 'x', '旧', '旧', 'individual', 'user', 'sealed',
    '2026-11-20 10:00:00', '2026-11-20 10:00:00'),
       (901, 'old_staff', 'old_staff', 'x', '旧', '旧', 'individual', 'moderator', 'active',
    '2026-11-20 10:00:00', '2026-11-20 10:00:00');
INSERT INTO violations (id, user_id, category, source, facts, decision, public, status,
    appeal_until, created_by, created_at)
VALUES (70, 900, 'other', 'patrol', 'f', 'd', false, 'in_force', '2026-11-27 10:00:00', 901,
    '2026-11-20 10:00:00');
INSERT INTO measures (id, violation_id, user_id, kind, services, starts_at, status, created_at)
VALUES (500, 70, 900, 'suspend', ',bidding,withdrawal,', '2026-11-20 10:00:00', 'active',
    '2026-11-20 10:00:00'),
       (501, 70, 900, 'suspend', ',order_taking,', '2026-11-20 10:00:00', 'active',
    '2026-11-20 10:00:00'),
       (502, 70, 900, 'seal', NULL, '2026-11-20 10:00:00', 'active', '2026-11-20 10:00:00');
INSERT INTO restricted_identities (kind, value_hash, masked, reason, source, created_at)
VALUES ('phone', 'h1', '138****0000', '账号封禁（违规 #70）', 'sealed_account',
    '2026-11-20 10:00:00'),
       ('email', 'h2', 'a***@b.cn', '账号封禁（违规 #70）', 'sealed_account',
    '2026-11-20 10:00:00'),
       ('phone', 'h3', '139****0000', '制裁名单', 'sanctions', '2026-11-20 10:00:00');
INSERT INTO demands (id, owner_id, title, description, category, region_code, region_name,
    budget, workers_wanted, bid_deadline, status, search_text, created_at, updated_at)
VALUES (40, 900, '地推', '扫码', 'ground_promotion', '310104', '上海市徐汇区', 10000, 1,
    '2026-12-20 10:00:00', 'open', '地推 扫码', '2026-11-20 10:00:00', '2026-11-20 10:00:00');
";

#[test]
fn vio3_suspensions_and_seal_entries_move_to_their_new_shape() {
    let test_db = TestDb::create();
    let backend = Backend::from_url(test_db.url()).expect("test url");
    match &backend {
        Backend::Sqlite(path) => {
            let mut raw = SqliteConnection::establish(path).expect("sqlite");
            migrate_before(&mut raw, "sqlite", STRUCTURE);
            raw.batch_execute(OLD_ROWS).expect("old rows");
        }
        Backend::Postgres(url) => {
            let mut raw = PgConnection::establish(url).expect("postgres");
            migrate_before(&mut raw, "postgres", STRUCTURE);
            raw.batch_execute(OLD_ROWS).expect("old rows");
        }
    }
    let pool = db::build_pool(backend, 1, Duration::from_secs(5)).expect("pool");
    let mut conn = pool.get().expect("connection");
    // The server's own runner applies what is pending: 000007 to 000020.
    assert_eq!(db::run_migrations(&mut conn).expect("migrate"), 14);

    // 000008 indexed the demand already there: every 1- and 2-character
    // substring of its search text.
    use weigongbao::platform::db::schema::demand_grams;
    let grams: Vec<String> = demand_grams::table
        .filter(demand_grams::demand_id.eq(40))
        .order(demand_grams::gram)
        .select(demand_grams::gram)
        .load(&mut conn)
        .expect("grams");
    let mut expected: Vec<String> = ["地", "推", " ", "扫", "码", "地推", "推 ", " 扫", "扫码"]
        .map(String::from)
        .to_vec();
    expected.sort();
    assert_eq!(grams, expected);

    let services: Vec<(i64, String)> = measure_services::table
        .order((measure_services::measure_id, measure_services::service))
        .select((measure_services::measure_id, measure_services::service))
        .load(&mut conn)
        .expect("services");
    assert_eq!(
        services,
        vec![
            (500, "bidding".to_string()),
            (500, "withdrawal".to_string()),
            (501, "order_taking".to_string()),
        ]
    );
    let listed: Vec<(String, Option<i64>)> = restricted_identities::table
        .order(restricted_identities::value_hash)
        .select((
            restricted_identities::value_hash,
            restricted_identities::violation_id,
        ))
        .load(&mut conn)
        .expect("restricted");
    assert_eq!(
        listed,
        vec![
            ("h1".to_string(), Some(70)),
            ("h2".to_string(), Some(70)),
            ("h3".to_string(), None),
        ]
    );
}

/// SVC-3: server processes starting together on one fresh PostgreSQL
/// database both come up: they take turns migrating (an advisory lock), the
/// second finding nothing pending. (Found by deploy/two-processes.sh: the
/// second process failed on the first's half-made tables.) SQLite is the
/// one-process default, so this runs on PostgreSQL.
#[test]
fn svc3_processes_starting_together_migrate_once() {
    let db = common::TestDb::create();
    if !db.is_postgres() {
        return;
    }
    let url = db.url().to_string();
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let backend = Backend::from_url(&url).unwrap();
                let pool = db::build_pool(backend, 1, Duration::from_secs(30)).unwrap();
                let mut conn = pool.get().unwrap();
                db::run_migrations(&mut conn)
            })
        })
        .collect();
    let applied: Vec<usize> = runs
        .into_iter()
        .map(|r| {
            r.join()
                .unwrap()
                .expect("every process migrates or finds it done")
        })
        .collect();
    assert_eq!(applied.iter().filter(|n| **n > 0).count(), 1, "{applied:?}");
}
