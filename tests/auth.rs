//! Registration, login, tokens and sessions through HTTP (ACC-2, ACC-7).

mod common;

use actix_web::http::Method;
use common::{PASSWORD, TestApp};
use serde_json::json;

#[actix_web::test]
async fn acc2_register_returns_user_and_tokens_and_records_acceptance() {
    let app = TestApp::new().await;
    let body = app.registration();
    let res = app.register_with(body.clone()).await;
    res.assert(201);
    let user = &res.json["user"];
    assert_eq!(user["member_name"], body["member_name"]);
    assert_eq!(user["email"], body["email"]);
    // +86 is accepted and stored as the 11 digits.
    assert_eq!(user["phone"].as_str().unwrap().len(), 11);
    assert_eq!(user["agreement_version"], 1);
    assert_eq!(user["role"], "user");
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    assert!(
        !res.text.contains(PASSWORD),
        "the password never comes back"
    );
    assert_eq!(res.json["tokens"]["token_type"], "Bearer");

    let token = res.json["tokens"]["access_token"].as_str().unwrap();
    let me = app.me(token).await;
    me.assert(200);
    assert_eq!(me.json["id"], user["id"]);
}

#[actix_web::test]
async fn acc2_register_requires_the_agreement_version_in_force() {
    let app = TestApp::new().await;
    let mut body = app.registration();
    body["agreement_version"] = json!(2);
    let res = app.register_with(body).await;
    res.assert_problem(422, "agreement.version_mismatch");
    assert_eq!(res.json["current_version"], 1);

    let current = app.get("/api/v1/agreements/current").send().await;
    current.assert(200);
    assert_eq!(current.json["version"], 1);
    assert!(
        current.json["body"]
            .as_str()
            .unwrap()
            .contains("微工宝平台服务协议")
    );
}

#[actix_web::test]
async fn acc2_email_and_phone_are_unique() {
    let app = TestApp::new().await;
    let first = app.registration();
    app.register_with(first.clone()).await.assert(201);

    let mut same_email = app.registration();
    same_email["email"] = json!(first["email"].as_str().unwrap().to_uppercase());
    app.register_with(same_email)
        .await
        .assert_problem(409, "email.taken");

    let mut same_phone = app.registration();
    // Same number written without +86.
    same_phone["phone"] = json!(first["phone"].as_str().unwrap().trim_start_matches("+86"));
    app.register_with(same_phone)
        .await
        .assert_problem(409, "phone.taken");
}

#[actix_web::test]
async fn acc2_registration_validates_every_field() {
    let app = TestApp::new().await;
    for (field, value, code) in [
        ("email", json!("not-an-email"), "email.invalid"),
        ("phone", json!("12345"), "phone.invalid"),
        ("contact_name", json!("   "), "text.invalid"),
        ("address", json!("x".repeat(201)), "text.invalid"),
        ("password", json!("short1"), "password.weak"),
        ("password", json!("onlyletters"), "password.weak"),
        ("member_name", json!("12345"), "member_name.invalid"),
        ("member_name", json!("a"), "member_name.invalid"),
    ] {
        let mut body = app.registration();
        body[field] = value;
        let res = app.register_with(body).await;
        res.assert_problem(422, code);
        assert_eq!(res.json["errors"][0]["field"], field);
    }
    let mut body = app.registration();
    body["account_kind"] = json!("company");
    app.register_with(body)
        .await
        .assert_problem(422, "request.invalid_body");
}

#[actix_web::test]
async fn acc2_login_by_member_name_email_or_phone() {
    let app = TestApp::new().await;
    let body = app.registration();
    app.register_with(body.clone()).await.assert(201);
    let name = body["member_name"].as_str().unwrap();
    let email = body["email"].as_str().unwrap();
    let phone = body["phone"].as_str().unwrap();
    for login in [
        name.to_string(),
        name.to_uppercase(),
        email.to_string(),
        email.to_uppercase(),
        phone.to_string(),
        phone.trim_start_matches("+86").to_string(),
    ] {
        let res = app.login(&login, PASSWORD).await;
        res.assert(200);
        assert_eq!(res.json["user"]["member_name"], name);
        assert!(res.json["user"]["last_login_at"].is_string());
    }
    app.login(name, "wrong-password-1")
        .await
        .assert_problem(401, "auth.invalid_credentials");
    app.login("nobody_here", PASSWORD)
        .await
        .assert_problem(401, "auth.invalid_credentials");
}

#[actix_web::test]
async fn acc7_logout_stops_the_access_token_at_once() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.me(&user.access).await.assert(200);
    app.post("/api/v1/auth/logout")
        .bearer(&user.access)
        .send()
        .await
        .assert(204);
    app.me(&user.access)
        .await
        .assert_problem(401, "auth.session_ended");
    // The refresh token of the ended session is dead too.
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": user.refresh}))
        .send()
        .await
        .assert_problem(401, "auth.refresh_invalid");
}

#[actix_web::test]
async fn acc7_refresh_rotates_and_reuse_ends_the_session() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let res = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": user.refresh}))
        .send()
        .await;
    res.assert(200);
    let new_access = res.json["access_token"].as_str().unwrap().to_string();
    let new_refresh = res.json["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, user.refresh);
    assert_eq!(res.json["session_id"], user.session_id);
    app.me(&new_access).await.assert(200);

    // Presenting the spent token again: someone copied it. The whole
    // session ends, including the tokens issued since.
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": user.refresh}))
        .send()
        .await
        .assert_problem(401, "auth.refresh_reused");
    app.me(&new_access)
        .await
        .assert_problem(401, "auth.session_ended");
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": new_refresh}))
        .send()
        .await
        .assert_problem(401, "auth.refresh_invalid");
}

#[actix_web::test]
async fn acc7_access_tokens_expire_on_the_application_clock() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.clock.advance(chrono::Duration::minutes(16));
    app.me(&user.access)
        .await
        .assert_problem(401, "auth.invalid_token");
    // The refresh token still works within its lifetime.
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": user.refresh}))
        .send()
        .await
        .assert(200);
}

#[actix_web::test]
async fn acc7_bad_tokens_are_refused() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.get("/api/v1/me")
        .send()
        .await
        .assert_problem(401, "auth.missing_token");
    app.get("/api/v1/me")
        .header("authorization", "Basic abc")
        .send()
        .await
        .assert_problem(401, "auth.invalid_token");
    let mut tampered = user.access.clone();
    tampered.pop();
    tampered.push(if user.access.ends_with('A') { 'B' } else { 'A' });
    app.me(&tampered)
        .await
        .assert_problem(401, "auth.invalid_token");
}

#[actix_web::test]
async fn acc7_password_change_ends_other_sessions() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let other = app.login(&user.member_name, PASSWORD).await;
    other.assert(200);
    let other_access = other.json["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    app.req(Method::PUT, "/api/v1/me/password")
        .bearer(&user.access)
        .json(json!({"current_password": "wrong-one-1", "new_password": "n3w-passw0rd!"}))
        .send()
        .await
        .assert_problem(403, "password.incorrect");
    let weak = app
        .req(Method::PUT, "/api/v1/me/password")
        .bearer(&user.access)
        .json(json!({"current_password": PASSWORD, "new_password": "short"}))
        .send()
        .await;
    weak.assert_problem(422, "password.weak");
    assert_eq!(weak.json["errors"][0]["field"], "new_password");

    app.req(Method::PUT, "/api/v1/me/password")
        .bearer(&user.access)
        .json(json!({"current_password": PASSWORD, "new_password": "n3w-passw0rd!"}))
        .send()
        .await
        .assert(204);
    app.me(&user.access).await.assert(200);
    app.me(&other_access)
        .await
        .assert_problem(401, "auth.session_ended");
    app.login(&user.member_name, PASSWORD)
        .await
        .assert_problem(401, "auth.invalid_credentials");
    app.login(&user.member_name, "n3w-passw0rd!")
        .await
        .assert(200);
}

#[actix_web::test]
async fn acc7_list_and_end_own_sessions_only() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let second = app.login(&user.member_name, PASSWORD).await;
    let second_sid = second.json["tokens"]["session_id"].as_i64().unwrap();
    let second_access = second.json["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let list = app
        .get("/api/v1/me/sessions")
        .bearer(&user.access)
        .send()
        .await;
    list.assert(200);
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], user.session_id);

    // Someone else's session is not found, not forbidden.
    let stranger = app.user().await;
    app.req(
        Method::DELETE,
        &format!("/api/v1/me/sessions/{}", second_sid),
    )
    .bearer(&stranger.access)
    .send()
    .await
    .assert_problem(404, "session.not_found");
    app.me(&second_access).await.assert(200);

    app.req(
        Method::DELETE,
        &format!("/api/v1/me/sessions/{}", second_sid),
    )
    .bearer(&user.access)
    .send()
    .await
    .assert(204);
    app.me(&second_access)
        .await
        .assert_problem(401, "auth.session_ended");
    let list = app
        .get("/api/v1/me/sessions?limit=1")
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 1);
    assert!(list.json["next_cursor"].is_null());
}

#[actix_web::test]
async fn acc2_patch_me_updates_contact_data_and_keeps_uniqueness() {
    let app = TestApp::new().await;
    let a = app.user().await;
    let b_body = app.registration();
    app.register_with(b_body.clone()).await.assert(201);
    let res = app
        .req(Method::PATCH, "/api/v1/me")
        .bearer(&a.access)
        .json(json!({"contact_name": "王芳", "address": "北京市海淀区"}))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["contact_name"], "王芳");
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&a.access)
        .json(json!({"email": b_body["email"]}))
        .send()
        .await
        .assert_problem(409, "email.taken");
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&a.access)
        .json(json!({"member_name": "newname"}))
        .send()
        .await
        .assert_problem(409, "member_name.locked");
    let me = app.me(&a.access).await;
    assert_eq!(me.json["address"], "北京市海淀区");
}

#[actix_web::test]
async fn mkt7_login_and_register_are_rate_limited_per_ip() {
    let app = TestApp::with_settings(&[
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
        ("RATE_LIMIT_REGISTER_PER_MINUTE", "2"),
    ])
    .await;
    for left in (0..3).rev() {
        let res = app
            .post("/api/v1/auth/login")
            .peer("10.0.0.1")
            .json(json!({"login": "someone", "password": "whatever-1"}))
            .send()
            .await;
        res.assert(401);
        // Where the caller stands, in the IETF RateLimit headers.
        assert_eq!(res.header("ratelimit-policy"), Some("\"login\";q=3;w=60"));
        let standing = res.header("ratelimit").unwrap();
        assert!(
            standing.starts_with(&format!("\"login\";r={left};t=")),
            "{standing}"
        );
    }
    let limited = app
        .post("/api/v1/auth/login")
        .peer("10.0.0.1")
        .json(json!({"login": "someone", "password": "whatever-1"}))
        .send()
        .await;
    limited.assert_problem(429, "rate_limited");
    assert!(
        limited
            .header("ratelimit")
            .unwrap()
            .starts_with("\"login\";r=0;")
    );
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Another address is not affected.
    app.post("/api/v1/auth/login")
        .peer("10.0.0.2")
        .json(json!({"login": "someone", "password": "whatever-1"}))
        .send()
        .await
        .assert(401);

    for _ in 0..2 {
        app.post("/api/v1/auth/register")
            .peer("10.0.0.3")
            .json(app.with_code(app.registration()).await)
            .send()
            .await
            .assert(201);
    }
    app.post("/api/v1/auth/register")
        .peer("10.0.0.3")
        .json(app.with_code(app.registration()).await)
        .send()
        .await
        .assert_problem(429, "rate_limited");
}

/// SA §3.9 (no bulk scraping): anonymous reads of public resources are
/// counted per IP; a signed-in caller is not; other addresses go on.
#[actix_web::test]
async fn anonymous_discovery_is_limited_per_ip() {
    let app = TestApp::with_settings(&[("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "3")]).await;
    let user = app.user().await;
    for path in [
        "/api/v1/demands",
        "/api/v1/categories",
        "/api/v1/demands?sort=newest",
    ] {
        let res = app.get(path).peer("10.1.0.1").send().await;
        res.assert(200);
        assert_eq!(
            res.header("ratelimit-policy"),
            Some("\"discovery\";q=3;w=60")
        );
    }
    let limited = app.get("/api/v1/demands").peer("10.1.0.1").send().await;
    limited.assert_problem(429, "rate_limited");
    // A percent-encoded spelling of the same route is the same route.
    app.get("/%61pi/v1/demand%73")
        .peer("10.1.0.1")
        .send()
        .await
        .assert_problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // A forged or stale token does not lift the limit.
    app.get("/api/v1/demands")
        .peer("10.1.0.1")
        .bearer("not-a-token")
        .send()
        .await
        .assert_problem(429, "rate_limited");
    // Signed in: accountable, not counted.
    let res = app
        .get("/api/v1/demands")
        .peer("10.1.0.1")
        .bearer(&user.access)
        .send()
        .await;
    res.assert(200);
    assert!(res.header("ratelimit").is_none());
    app.get("/api/v1/demands")
        .peer("10.1.0.2")
        .send()
        .await
        .assert(200);
    // Liveness is never limited.
    app.get("/healthz")
        .peer("10.1.0.1")
        .send()
        .await
        .assert(200);
}

#[actix_web::test]
async fn acc7_concurrent_refreshes_with_one_token_let_only_one_through() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let body = json!({"refresh_token": user.refresh});
    let (a, b) = futures_util::future::join(
        app.post("/api/v1/auth/refresh").json(body.clone()).send(),
        app.post("/api/v1/auth/refresh").json(body).send(),
    )
    .await;
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 401], "exactly one refresh wins");
    // The loser presented a spent token: the session is over for both.
    let winner = if a.status == 200 { a } else { b };
    let access = winner.json["access_token"].as_str().unwrap();
    app.me(access)
        .await
        .assert_problem(401, "auth.session_ended");
}

/// Issue 13: password hashing holds no database connection. With one pooled
/// connection, a 600 ms pool timeout and one hash at a time, a burst of 40
/// logins (~25 ms of Argon2 each, 1 s or more in all) and reads at once all
/// succeed (the ~120 turns on the connection leave room for a loaded CI
/// machine): before, every login held the only connection through its
/// hash and the reads queued behind them timed out with 503.
#[actix_web::test]
async fn a_login_burst_starves_no_other_request_of_the_pool() {
    use std::sync::Arc;
    use weigongbao::platform::db::{self, Backend};
    let db = common::TestDb::create();
    // Limits count in memory here: this is about hashing, and a shared
    // count would put its own steps on the one connection.
    let settings = common::test_settings(
        db.url(),
        &[
            ("PASSWORD_HASH_CONCURRENCY", "1"),
            ("RATE_LIMIT_STORE", "memory"),
        ],
    );
    let backend = Backend::from_url(db.url()).unwrap();
    let pool = db::build_pool(backend.clone(), 1, std::time::Duration::from_millis(600)).unwrap();
    db::run_migrations(&mut pool.get().unwrap()).unwrap();
    let clock = Arc::new(weigongbao::platform::clock::ShiftedClock::default());
    let state = weigongbao::AppState::with_clock(settings, pool, &backend, clock.clone());
    let app = TestApp::from_state(state, clock, db).await;
    let user = app.user().await;
    let me = app.me(&user.access).await;
    let login = me.json["member_name"].as_str().unwrap().to_string();
    let logins = (0..40).map(|_| app.login(&login, PASSWORD));
    let reads = (0..40).map(|_| app.get("/api/v1/categories").send());
    let (logins, reads) = futures_util::future::join(
        futures_util::future::join_all(logins),
        futures_util::future::join_all(reads),
    )
    .await;
    for res in logins.iter().chain(&reads) {
        res.assert(200);
    }
}

/// SVC-3: two server processes on one database share their limits. Two
/// states (as two processes would have) on the same database, the database
/// store forced on (the PostgreSQL default): logins split across them still
/// meet 429 at the limit, with the shared count in the RateLimit headers.
#[actix_web::test]
async fn svc3_a_limit_is_shared_by_every_process_on_the_database() {
    use std::sync::Arc;
    use weigongbao::platform::db::{self, Backend};
    let db = common::TestDb::create();
    let overrides = [
        ("RATE_LIMIT_STORE", "database"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "3"),
    ];
    let backend = Backend::from_url(db.url()).unwrap();
    let pool = db::build_pool(backend.clone(), 2, std::time::Duration::from_secs(5)).unwrap();
    db::run_migrations(&mut pool.get().unwrap()).unwrap();
    let clock = Arc::new(weigongbao::platform::clock::ShiftedClock::default());
    let first = weigongbao::AppState::with_clock(
        common::test_settings(db.url(), &overrides),
        pool.clone(),
        &backend,
        clock.clone(),
    );
    let other = weigongbao::AppState::with_clock(
        common::test_settings(db.url(), &overrides),
        db::build_pool(backend.clone(), 2, std::time::Duration::from_secs(5)).unwrap(),
        &backend,
        clock.clone(),
    );
    let a = TestApp::from_state(first, clock.clone(), db).await;
    let b = TestApp::from_state(other, clock, common::TestDb::create()).await;
    async fn attempt(app: &TestApp) -> common::Res {
        app.post("/api/v1/auth/login")
            .peer("10.9.0.1")
            .json(json!({"login": "someone", "password": "whatever-1"}))
            .send()
            .await
    }
    let r1 = attempt(&a).await;
    r1.assert(401);
    assert!(
        r1.header("ratelimit")
            .unwrap()
            .starts_with("\"login\";r=2;")
    );
    let r2 = attempt(&b).await;
    r2.assert(401);
    assert!(
        r2.header("ratelimit")
            .unwrap()
            .starts_with("\"login\";r=1;")
    );
    attempt(&a).await.assert(401);
    let limited = attempt(&b).await;
    limited.assert_problem(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
    // Another address is counted apart.
    a.post("/api/v1/auth/login")
        .peer("10.9.0.2")
        .json(json!({"login": "someone", "password": "whatever-1"}))
        .send()
        .await
        .assert(401);
}
