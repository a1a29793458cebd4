//! Every error is RFC 9457 problem+json with a stable code, in Chinese by
//! default and English on request, carrying the request id.

mod common;

use std::sync::Arc;

use actix_web::http::Method;
use common::{TestApp, TestDb, test_settings};
use serde_json::json;
use weigongbao::AppState;
use weigongbao::platform::clock::ShiftedClock;
use weigongbao::platform::db::{self, Backend};

#[actix_web::test]
async fn unknown_route_is_404_problem_and_wrong_method_is_405_with_allow() {
    let app = TestApp::new().await;
    let res = app.get("/api/v1/nothing-here").send().await;
    res.assert_problem(404, "route.not_found");
    assert_eq!(res.json["type"], "urn:weigongbao:problem:route.not_found");
    assert_eq!(res.json["title"], "未找到");

    let res = app.req(Method::DELETE, "/api/v1/me").send().await;
    res.assert_problem(405, "method.not_allowed");
    assert_eq!(res.header("allow"), Some("GET, PATCH, HEAD"));
}

#[actix_web::test]
async fn malformed_json_is_400_and_wrong_types_are_422() {
    let app = TestApp::new().await;
    app.post("/api/v1/auth/login")
        .raw("application/json", "{\"login\": ")
        .send()
        .await
        .assert_problem(400, "request.malformed_json");

    let res = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "someone"}))
        .send()
        .await;
    res.assert_problem(422, "request.invalid_body");
    assert_eq!(res.json["errors"][0]["field"], "password");

    // A wrong type never echoes the value (it may be a secret).
    let res = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "someone", "password": 98765432123u64}))
        .send()
        .await;
    res.assert_problem(422, "request.invalid_body");
    assert!(!res.text.contains("98765432123"));

    let res = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "a", "password": "b", "extra": 1}))
        .send()
        .await;
    res.assert_problem(422, "request.invalid_body");
    assert_eq!(res.json["errors"][0]["field"], "extra");
}

#[actix_web::test]
async fn wrong_content_type_is_415_and_oversized_body_is_413() {
    let app = TestApp::with_settings(&[("JSON_BODY_LIMIT_BYTES", "2048")]).await;
    app.post("/api/v1/auth/login")
        .raw("text/plain", "login=a")
        .send()
        .await
        .assert_problem(415, "request.unsupported_media_type");
    let big = format!(
        "{{\"login\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(4096)
    );
    app.post("/api/v1/auth/login")
        .raw("application/json", big)
        .send()
        .await
        .assert_problem(413, "request.too_large");
}

#[actix_web::test]
async fn bad_path_and_query_are_400_and_out_of_range_is_422() {
    let app = TestApp::new().await;
    app.get("/api/v1/users/not-a-number")
        .send()
        .await
        .assert_problem(400, "request.invalid_path");
    let user = app.user().await;
    app.get("/api/v1/me/sessions?limit=abc")
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(400, "request.invalid_query");
    let res = app
        .get("/api/v1/me/sessions?limit=1000")
        .bearer(&user.access)
        .send()
        .await;
    res.assert_problem(422, "limit.out_of_range");
    assert_eq!(res.json["errors"][0]["field"], "limit");
    app.get("/api/v1/me/sessions?cursor=%%%")
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(422, "cursor.invalid");
    app.get("/api/v1/me/sessions?cursor=bm9wZQ-too-long")
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(422, "cursor.invalid");
}

#[actix_web::test]
async fn detail_is_chinese_by_default_and_english_on_request() {
    let app = TestApp::new().await;
    let zh = app.get("/api/v1/me").send().await;
    assert!(zh.json["detail"].as_str().unwrap().contains("登录"));
    let en = app
        .get("/api/v1/me")
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await;
    en.assert_problem(401, "auth.missing_token");
    assert!(
        en.json["detail"]
            .as_str()
            .unwrap()
            .starts_with("Authentication required")
    );
    assert_eq!(en.json["title"], "Unauthorized");
}

#[actix_web::test]
async fn request_id_is_echoed_or_generated() {
    let app = TestApp::new().await;
    let res = app
        .get("/healthz")
        .header("x-request-id", "client-abc-123")
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.header("x-request-id"), Some("client-abc-123"));
    let res = app
        .get("/api/v1/me")
        .header("x-request-id", "bad id with spaces")
        .send()
        .await;
    let generated = res.header("x-request-id").unwrap().to_string();
    assert_ne!(generated, "bad id with spaces");
    assert_eq!(res.json["request_id"], generated.as_str());
}

#[actix_web::test]
async fn database_down_is_503_and_readyz_says_so() {
    // A pool pointing at a port where nothing listens.
    let db = TestDb::create();
    let url = "postgres://postgres@127.0.0.1:1/none";
    let settings = test_settings(url, &[]);
    let backend = Backend::from_url(url).unwrap();
    let pool = db::build_pool(backend.clone(), 2, std::time::Duration::from_millis(300)).unwrap();
    let clock = Arc::new(ShiftedClock::default());
    let state = AppState::with_clock(settings, pool, &backend, clock.clone());
    let app = TestApp::from_state(state, clock, db).await;

    app.get("/healthz").send().await.assert(200);
    let res = app.get("/readyz").send().await;
    res.assert_problem(503, "service.unavailable");
    assert!(res.header("retry-after").is_some());
    assert!(!res.text.contains("127.0.0.1"), "no internal detail leaks");
    let mut body = app.registration();
    body["member_name"] = json!("someone_new");
    app.register_with(body)
        .await
        .assert_problem(503, "service.unavailable");
}

#[actix_web::test]
async fn health_endpoints_answer() {
    let app = TestApp::new().await;
    app.get("/healthz").send().await.assert(200);
    let ready = app.get("/readyz").send().await;
    ready.assert(200);
    let expected = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(ready.json["database"], expected);
}

#[actix_web::test]
async fn the_root_points_to_the_docs() {
    let app = common::TestApp::new().await;
    let res = app.get("/").send().await;
    res.assert(200);
    assert_eq!(res.json["docs"], "/swagger-ui/");
    assert_eq!(res.json["openapi"], "/api-docs/openapi.json");
    app.get(res.json["openapi"].as_str().unwrap())
        .send()
        .await
        .assert(200);
}

/// An id the document types as an integer may come as `2.0` (the same
/// integer in JSON Schema); `2.5` is still not an id.
#[actix_web::test]
async fn integer_ids_with_a_zero_fraction_name_the_same_resource() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let plain = app.get(&format!("/api/v1/users/{}", user.id)).send().await;
    plain.assert(200);
    let zero = app
        .get(&format!("/api/v1/users/{}.0", user.id))
        .send()
        .await;
    zero.assert(200);
    assert_eq!(plain.json, zero.json);
    app.get(&format!("/api/v1/users/{}.5", user.id))
        .send()
        .await
        .assert_problem(400, "request.invalid_path");
}
