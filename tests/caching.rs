//! Conditional requests and cache headers (API.md conventions): ETag and
//! If-None-Match on reads, If-Match against lost updates on PATCH, no-store
//! on personal responses.

mod common;

use actix_web::http::Method;
use common::TestApp;
use serde_json::json;

#[actix_web::test]
async fn mkt1_a_demand_read_revalidates_and_a_stale_edit_is_412() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let id = app
        .demand(&owner, app.demand_body("周末地推", "500.00", 2))
        .await;
    let path = format!("/api/v1/demands/{id}");
    let first = app.get(&path).send().await;
    first.assert(200);
    let tag = first.header("etag").expect("an ETag").to_string();
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let again = app.get(&path).header("if-none-match", &tag).send().await;
    again.assert(304);
    assert!(again.text.is_empty());

    // If-Match compares strongly: the weak form of the current tag does
    // not match (RFC 9110 §13.1.1), and nothing changes.
    app.req(Method::PATCH, &path)
        .bearer(&owner.access)
        .header("if-match", &format!("W/{tag}"))
        .json(json!({"title": "弱标签"}))
        .send()
        .await
        .assert_problem(412, "precondition.failed");
    // Two editors read the same version; the first edit wins, the second
    // is told the demand changed instead of overwriting it.
    app.req(Method::PATCH, &path)
        .bearer(&owner.access)
        .header("if-match", &tag)
        .json(json!({"title": "周末地推（改）"}))
        .send()
        .await
        .assert(200);
    app.req(Method::PATCH, &path)
        .bearer(&owner.access)
        .header("if-match", &tag)
        .json(json!({"title": "另一个标题"}))
        .send()
        .await
        .assert_problem(412, "precondition.failed");
    let now = app.get(&path).send().await;
    assert_eq!(now.json["title"], "周末地推（改）");
    assert_ne!(now.header("etag"), Some(tag.as_str()));
    // Without If-Match an edit applies as before.
    app.req(Method::PATCH, &path)
        .bearer(&owner.access)
        .json(json!({"title": "再改"}))
        .send()
        .await
        .assert(200);
}

#[actix_web::test]
async fn acc7_personal_responses_are_not_stored_and_me_honours_if_match() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let me = app.me(&user.access).await;
    assert_eq!(me.header("cache-control"), Some("no-store"));
    let tag = me.header("etag").unwrap().to_string();
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&user.access)
        .header("if-match", &tag)
        .json(json!({"address": "新地址"}))
        .send()
        .await
        .assert(200);
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&user.access)
        .header("if-match", &tag)
        .json(json!({"address": "又一个地址"}))
        .send()
        .await
        .assert_problem(412, "precondition.failed");
    // SVC-4: a header is text like any other string; Latin-1 bytes (how
    // HTTP clients send non-ASCII header text) that name no current tag are
    // a stale precondition, a control character is malformed.
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&user.access)
        .header_bytes("if-match", &[0xCF, 0xD6, 0xE3, 0xBE])
        .json(json!({"address": "拉丁字节"}))
        .send()
        .await
        .assert_problem(412, "precondition.failed");
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&user.access)
        .header_bytes("if-match", &[b'"', 0x85, b'"'])
        .json(json!({"address": "控制字符"}))
        .send()
        .await
        .assert_problem(400, "request.invalid_header");
    assert_ne!(app.me(&user.access).await.json["address"], "拉丁字节");
    let res = app
        .post("/api/v1/auth/login")
        .json(json!({"login": user.member_name, "password": common::PASSWORD}))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

#[actix_web::test]
async fn browsers_from_configured_origins_pass_cors_and_head_works_where_get_does() {
    let app = TestApp::with_settings(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let preflight = app
        .req(Method::OPTIONS, "/api/v1/demands")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, idempotency-key",
        )
        .send()
        .await;
    assert!(preflight.status.is_success(), "{}", preflight.text);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let stranger = app
        .get("/api/v1/demands")
        .header("origin", "https://evil.example.com")
        .send()
        .await;
    assert_eq!(stranger.header("access-control-allow-origin"), None);

    let head = app.req(Method::HEAD, "/api/v1/demands").send().await;
    head.assert(200);
    assert!(head.text.is_empty());
    let tag = head.header("etag").expect("an ETag").to_string();
    // A matching If-None-Match is 304 for HEAD as for GET (RFC 9110 §13.1.2).
    app.req(Method::HEAD, "/api/v1/demands")
        .header("if-none-match", &tag)
        .send()
        .await
        .assert(304);
    app.req(Method::HEAD, "/api/v1/me").send().await.assert(401);
    // An answer to a missing token (decided before any handler) is not
    // stored by caches either.
    let denied = app.get("/api/v1/me").send().await;
    denied.assert(401);
    assert_eq!(denied.header("cache-control"), Some("no-store"));
    // 405 names HEAD wherever GET is allowed.
    let wrong = app.req(Method::PUT, "/api/v1/demands").send().await;
    wrong.assert(405);
    assert!(wrong.header("allow").unwrap().contains("HEAD"));
}
