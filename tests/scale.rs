//! Many processes on one database and the discovery cache (issue 13,
//! SVC-3): shared limits (database and Redis), cached discovery pages and
//! how changes reach them, from this process and from others.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestApp, TestDb};
use diesel::prelude::*;
use serde_json::json;
use weigongbao::platform::clock::ShiftedClock;
use weigongbao::platform::db::{self, Backend};

/// A second process on `db`: its own state and pool, the same database.
fn process_on(
    db: &TestDb,
    overrides: &[(&str, &str)],
    clock: Arc<ShiftedClock>,
) -> weigongbao::AppState {
    let backend = Backend::from_url(db.url()).unwrap();
    let pool = db::build_pool(backend.clone(), 4, Duration::from_secs(5)).unwrap();
    db::run_migrations(&mut pool.get().unwrap()).unwrap();
    weigongbao::AppState::with_clock(
        common::test_settings(db.url(), overrides),
        pool,
        &backend,
        clock,
    )
}

#[actix_web::test]
async fn svc3_discovery_pages_are_cached_until_a_demand_changes_or_expires() {
    let app = TestApp::new().await;
    app.listening().await;
    let owner = app.verified_user().await;
    let provider = app.verified_user().await;
    let first = app
        .demand(&owner, app.demand_body("门店地推", "300.00", 1))
        .await;

    // The generation of demands is the process's: the other tests of this
    // binary write demands too, and on PostgreSQL this state's own insert
    // comes back through the listener a moment later. A page built while
    // the generation moved is (rightly) not kept, so read until one was.
    let mut r1 = app.get("/api/v1/demands").send().await;
    for _ in 0..100 {
        if !app.state.pages.is_empty() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        r1 = app.get("/api/v1/demands").send().await;
    }
    r1.assert(200);
    assert_eq!(r1.ids(), vec![first]);
    assert!(!app.state.pages.is_empty(), "the page was kept");
    let r2 = app.get("/api/v1/demands").send().await;
    assert_eq!(r2.text, r1.text);
    let tag = r1.header("etag").unwrap().to_string();
    assert_eq!(r2.header("etag"), Some(tag.as_str()));
    // Revalidation against the cached tag.
    let same = app
        .get("/api/v1/demands")
        .header("If-None-Match", &tag)
        .send()
        .await;
    same.assert(304);

    // A bid changes the demand's count: the page follows at once.
    app.bid(&provider, first, "280.00").await;
    let r3 = app.get("/api/v1/demands").send().await;
    assert_eq!(r3.json["items"][0]["bid_count"], 1);
    assert_ne!(r3.header("etag"), Some(tag.as_str()));
    app.get("/api/v1/demands")
        .header("If-None-Match", &tag)
        .send()
        .await
        .assert(200);

    // A new demand is on the next read.
    let mut soon = app.demand_body("明日截止", "100.00", 1);
    soon["bid_deadline"] = json!((app.clock_now() + chrono::Duration::hours(5)).to_rfc3339());
    let second = app.demand(&owner, soon).await;
    let r4 = app.get("/api/v1/demands").send().await;
    assert_eq!(r4.ids(), vec![second, first]);

    // MKT-1: past its deadline a demand leaves the open list with no write
    // to announce it; the cached page expires with it.
    app.clock
        .advance(chrono::Duration::hours(5) + chrono::Duration::minutes(1));
    let r5 = app.get("/api/v1/demands").send().await;
    assert_eq!(r5.ids(), vec![first]);
}

#[actix_web::test]
async fn svc3_another_process_changes_reach_this_process_through_postgres() {
    let app = TestApp::new().await;
    let Backend::Postgres(url) = Backend::from_url(app.db.url()).unwrap() else {
        // SQLite is the one-process default: there is no other process.
        return;
    };
    app.listening().await;
    let owner = app.verified_user().await;
    let id = app
        .demand(&owner, app.demand_body("原来的标题", "300.00", 1))
        .await;
    let before = app.get("/api/v1/demands").send().await;
    assert_eq!(before.json["items"][0]["title"], "原来的标题");

    // Another process (a connection of its own, not this server's code)
    // changes the demand and the word list.
    let mut other = PgConnection::establish(&url).unwrap();
    diesel::sql_query(format!(
        "UPDATE demands SET title = '别的进程改的' WHERE id = {id}"
    ))
    .execute(&mut other)
    .unwrap();
    let mut seen = false;
    for _ in 0..60 {
        let now = app.get("/api/v1/demands").send().await;
        if now.json["items"][0]["title"] == "别的进程改的" {
            seen = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the other process's change reached the cached page");

    // ACC-4: a word listed by another process is refused here too.
    app.demand(&owner, app.demand_body("新词测试一", "100.00", 1))
        .await;
    diesel::connection::SimpleConnection::batch_execute(
        &mut other,
        "BEGIN; INSERT INTO prohibited_words (word, category, created_at) \
         VALUES ('新词测试', 'other_prohibited', now()); \
         UPDATE list_revisions SET revision = revision + 1 WHERE name = 'prohibited_words'; \
         COMMIT",
    )
    .unwrap();
    let mut refused = false;
    for _ in 0..60 {
        let res = app
            .post("/api/v1/demands")
            .bearer(&owner.access)
            .json(app.demand_body("新词测试二", "100.00", 1))
            .send()
            .await;
        if res.status.as_u16() == 422 {
            assert_eq!(res.code(), "demand.prohibited");
            refused = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the word added elsewhere is enforced here");
}

/// Requests from one address, alternating between two processes, until
/// one is refused: how many were allowed, and how many of those the limit
/// of `per_minute` gave back while they ran (its clock is the wall clock:
/// a slow machine sees a token return before the bucket is empty).
async fn allowed_across(
    a: &TestApp,
    b: &TestApp,
    ip: &str,
    path: &str,
    per_minute: u32,
) -> (usize, usize) {
    let started = std::time::Instant::now();
    for n in 0..500 {
        let app = if n % 2 == 0 { a } else { b };
        let res = app.get(path).peer(ip).send().await;
        if res.status.as_u16() == 429 {
            assert!(res.header("retry-after").is_some());
            let refilled = started.elapsed().as_secs_f64() * f64::from(per_minute) / 60.0;
            return (n, refilled as usize);
        }
        res.assert(200);
    }
    panic!("never limited");
}

#[actix_web::test]
async fn svc3_anonymous_discovery_limit_is_shared_by_processes() {
    let db = TestDb::create();
    let overrides = [
        ("RATE_LIMIT_STORE", "database"),
        ("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "40"),
    ];
    let clock = Arc::new(ShiftedClock::default());
    let first = process_on(&db, &overrides, clock.clone());
    let second = process_on(&db, &overrides, clock.clone());
    let a = TestApp::from_state(first, clock.clone(), db).await;
    let b = TestApp::from_state(second, clock, TestDb::create()).await;
    let (allowed, refilled) = allowed_across(&a, &b, "10.7.0.1", "/api/v1/categories", 40).await;
    // Leases of two tokens: at most one left unused in a process.
    assert!(
        (38..=40 + refilled).contains(&allowed),
        "40 a minute for both processes together, got {allowed} ({refilled} refilled)"
    );
    // Another address has its own count.
    a.get("/api/v1/categories")
        .peer("10.7.0.2")
        .send()
        .await
        .assert(200);
}

#[actix_web::test]
async fn svc3_limits_count_in_redis_when_redis_url_is_set() {
    let Some(redis) = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("TEST_REDIS_URL unset: Redis limits not tested here (CI sets it)");
        return;
    };
    let overrides = [
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
        ("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "20"),
    ];
    // Two processes on two databases: only Redis joins them.
    let clock = Arc::new(ShiftedClock::default());
    let (db_a, db_b) = (TestDb::create(), TestDb::create());
    let first = process_on(&db_a, &overrides, clock.clone());
    let second = process_on(&db_b, &overrides, clock.clone());
    let a = TestApp::from_state(first, clock.clone(), db_a).await;
    let b = TestApp::from_state(second, clock, db_b).await;
    // Addresses of their own per run: Redis outlives the test.
    let run = uuid::Uuid::new_v4().as_u128();
    let ip = format!("10.{}.{}.1", (run >> 8) as u8, run as u8);
    async fn login(app: &TestApp, ip: &str) -> common::Res {
        app.post("/api/v1/auth/login")
            .peer(ip)
            .json(json!({"login": "someone", "password": "whatever-1"}))
            .send()
            .await
    }
    login(&a, &ip).await.assert(401);
    login(&b, &ip).await.assert(401);
    let third = login(&a, &ip).await;
    third.assert(401);
    assert!(
        third
            .header("ratelimit")
            .unwrap()
            .starts_with("\"login\";r=0;")
    );
    login(&b, &ip).await.assert_problem(429, "rate_limited");

    let other_ip = format!("10.{}.{}.2", (run >> 8) as u8, run as u8);
    let (allowed, refilled) = allowed_across(&a, &b, &other_ip, "/api/v1/categories", 20).await;
    assert!(
        (19..=20 + refilled).contains(&allowed),
        "20 a minute for both processes together, got {allowed} ({refilled} refilled)"
    );
}

#[actix_web::test]
async fn mkt6_a_search_of_common_pairs_reads_a_bounded_window_and_goes_on_below_it() {
    // Issue 13: every pair of 地推广 is in every demand, the phrase only in
    // the oldest; with a window of 3 postings a page reads 3 demands.
    let app = TestApp::with_settings(&[("SEARCH_WINDOW", "3")]).await;
    let owner = app.verified_user().await;
    let oldest = app
        .demand(&owner, app.demand_body("地推广告", "100.00", 1))
        .await;
    for _ in 0..4 {
        app.demand(&owner, app.demand_body("地推 推广", "100.00", 1))
            .await;
    }
    let q = percent_encoding::utf8_percent_encode("地推广", percent_encoding::NON_ALPHANUMERIC);
    let first = app.get(&format!("/api/v1/demands?q={q}")).send().await;
    first.assert(200);
    assert!(
        first.ids().is_empty(),
        "the newest three hold both pairs, not the phrase"
    );
    let cursor = first.json["next_cursor"]
        .as_str()
        .expect("a bounded page goes on")
        .to_string();
    let second = app
        .get(&format!("/api/v1/demands?q={q}&cursor={cursor}"))
        .send()
        .await;
    assert_eq!(second.ids(), vec![oldest]);
    assert!(
        second.json["next_cursor"].is_null(),
        "nothing older is left"
    );
    // A rare pair is still looked up through its postings, in any sort.
    let rare = percent_encoding::utf8_percent_encode("广告", percent_encoding::NON_ALPHANUMERIC);
    let by_budget = app
        .get(&format!("/api/v1/demands?q={rare}&sort=budget"))
        .send()
        .await;
    assert_eq!(by_budget.ids(), vec![oldest]);
}
