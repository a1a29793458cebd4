//! What operators rely on: the server starts while its database is down and
//! becomes ready by itself; `/metrics` is guarded and counts what happened.

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{TestApp, TestDb, test_settings};
use weigongbao::AppState;
use weigongbao::platform::clock::ShiftedClock;
use weigongbao::platform::db::{self, Backend};

/// A local port where nothing listens yet; `open` starts forwarding it to
/// `target` (the database "comes back").
struct Gate {
    port: u16,
}

impl Gate {
    fn closed() -> Gate {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        Gate { port }
    }

    fn open(&self, target: String) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
    }
}

/// Issue 12 (operators): a server started with its database down answers
/// liveness, 503 on readiness and the API, and becomes ready by itself when
/// the database comes back, applying the migrations on that first
/// connection. On PostgreSQL the database is behind a port that starts
/// refusing; on SQLite the file's directory does not exist yet.
#[actix_web::test]
async fn a_server_started_without_its_database_becomes_ready_by_itself() {
    let db = TestDb::create();
    let gate = Gate::closed();
    let (url, dir) = if db.is_postgres() {
        let rest = db.url().split_once('@').unwrap().1;
        let (host, name) = rest.split_once('/').unwrap();
        let via = format!("postgres://postgres@127.0.0.1:{}/{name}", gate.port);
        (via, (host.to_string(), None))
    } else {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("not-yet");
        let url = format!("sqlite://{}", missing.join("app.db").display());
        (url, (String::new(), Some((tmp, missing))))
    };
    let settings = test_settings(&url, &[("DB_POOL_TIMEOUT_SECS", "1")]);
    let backend = Backend::from_url(&url).unwrap();
    let pool = db::build_pool(backend.clone(), 4, Duration::from_millis(500)).unwrap();
    let clock = Arc::new(ShiftedClock::default());
    let state = AppState::starting(settings, pool, &backend);
    let then_ran = Arc::new(AtomicBool::new(false));
    let flag = then_ran.clone();
    weigongbao::platform::startup::await_database(
        state.clone(),
        move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    let app = TestApp::from_state(state, clock, db).await;

    app.get("/healthz").send().await.assert(200);
    app.get("/").send().await.assert(200);
    let res = app.get("/readyz").send().await;
    res.assert_problem(503, "service.unavailable");
    assert!(res.header("retry-after").is_some());
    app.get("/api/v1/categories")
        .send()
        .await
        .assert_problem(503, "service.unavailable");
    assert!(!then_ran.load(Ordering::SeqCst));

    // The database comes back.
    // (The temporary directory lives to the end of the test.)
    let (host, sqlite) = &dir;
    match sqlite {
        None => gate.open(host.clone()),
        Some((_, missing)) => std::fs::create_dir_all(missing).unwrap(),
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let res = app.get("/readyz").send().await;
        if res.status.as_u16() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never became ready");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        then_ran.load(Ordering::SeqCst),
        "what waited for the database ran"
    );
    // Migrated on that first connection: the API works end to end.
    app.get("/api/v1/categories").send().await.assert(200);
    app.user().await;
}

#[actix_web::test]
async fn metrics_are_guarded_by_a_token_and_count_requests_by_route_template() {
    let token = "metrics-token-0123456789abcdef";
    let app = TestApp::with_settings(&[("METRICS_TOKEN", token)]).await;
    let owner = app.verified_user().await;
    let id = app
        .demand(&owner, app.demand_body("周末商场地推", "300.00", 2))
        .await;
    app.get(&format!("/api/v1/demands/{id}"))
        .send()
        .await
        .assert(200);
    app.get("/api/v1/demands/987654321")
        .send()
        .await
        .assert(404);

    // Any method token a client invents is one bounded label.
    for m in ["FOO1", "FOO2"] {
        let method = actix_web::http::Method::from_bytes(m.as_bytes()).unwrap();
        app.req(method, "/api/v1/demands").send().await.assert(405);
    }
    app.get("/metrics")
        .send()
        .await
        .assert_problem(401, "metrics.unauthorized");
    app.get("/metrics")
        .bearer("metrics-token-0123456789abcdeX")
        .send()
        .await
        .assert(401);
    let res = app.get("/metrics").bearer(token).send().await;
    res.assert(200);
    assert!(
        res.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &res.text;
    // The route template, never the raw path (bounded labels, no input).
    assert!(
        text.contains(
            "weigongbao_http_requests_total{method=\"GET\",route=\"/api/v1/demands/{id}\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains(
        "weigongbao_http_requests_total{method=\"GET\",route=\"/api/v1/demands/{id}\",status=\"404\"} 1"
    ));
    assert!(!text.contains("987654321"));
    assert!(
        text.contains(
            "weigongbao_http_requests_total{method=\"other\",route=\"/api/v1/demands\",status=\"405\"} 2"
        ),
        "{text}"
    );
    assert!(!text.contains("FOO1"), "{text}");
    assert!(text.contains("weigongbao_http_request_duration_seconds_bucket{"));
    assert!(text.contains("weigongbao_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("weigongbao_db_pool_waiting 0"));
    assert!(text.contains("weigongbao_ledger_check_ok -1"));

    // A job run and a ledger check show up.
    app.run_jobs().await;
    weigongbao::flows::jobs::check_ledger(&app.state).unwrap();
    let text = app.get("/metrics").bearer(token).send().await.text;
    assert!(text.contains("weigongbao_job_runs_total{job=\"expire demands\",outcome=\"ok\"} 1"));
    assert!(text.contains("weigongbao_ledger_check_ok 1"));
}

#[actix_web::test]
async fn metrics_are_not_served_without_a_token_setting() {
    let app = TestApp::new().await;
    app.get("/metrics")
        .bearer("anything-at-all-anything-at-all")
        .send()
        .await
        .assert_problem(404, "route.not_found");
}
