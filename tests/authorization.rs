//! Authorisation is decided before anything reads the body: a caller who
//! may not act gets 401/403 every time, never a field error about a body
//! they were not allowed to send (SVC-2 staff routes, ACC-7 sessions).

mod common;

use actix_web::http::Method;
use common::TestApp;
use serde_json::json;
use weigongbao::users::models::Role;

const TRIES: usize = 40;

#[actix_web::test]
async fn svc2_plain_user_with_a_bad_body_on_staff_routes_is_always_403() {
    let app = TestApp::new().await;
    let user = app.user().await;
    for _ in 0..TRIES {
        app.post("/api/v1/admin/violations")
            .bearer(&user.access)
            .json(json!({"user_id": "not a number", "measures": 7}))
            .send()
            .await
            .assert_problem(403, "auth.forbidden");
        app.req(
            Method::PUT,
            &format!("/api/v1/admin/users/{}/deposit/required-amount", user.id),
        )
        .bearer(&user.access)
        .json(json!({"amount": 12, "reason": ""}))
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
    }
}

#[actix_web::test]
async fn acc7_no_or_ended_session_with_a_bad_body_is_always_401() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.post("/api/v1/auth/logout")
        .bearer(&user.access)
        .send()
        .await
        .assert(204);
    for _ in 0..TRIES {
        app.post("/api/v1/demands")
            .json(json!({"title": 5}))
            .send()
            .await
            .assert(401);
        // The token is well-formed and signed, but its session has ended.
        app.post("/api/v1/demands")
            .bearer(&user.access)
            .json(json!({"title": 5}))
            .send()
            .await
            .assert(401);
        // The hot writes check the session in their own work (issue 13),
        // still before the path and the body are looked at.
        for path in ["/api/v1/demands/1/bids", "/api/v1/conversations/1/messages"] {
            app.post(path)
                .bearer(&user.access)
                .json(json!({"price": 5, "text": 7}))
                .send()
                .await
                .assert_problem(401, "auth.session_ended");
            let malformed_path = path.replace("/1/", "/x/");
            app.post(&malformed_path)
                .bearer(&user.access)
                .raw("application/json", "{not json")
                .send()
                .await
                .assert_problem(401, "auth.session_ended");
        }
    }
}

#[actix_web::test]
async fn svc2_the_right_role_still_gets_the_body_checked() {
    let app = TestApp::new().await;
    let moderator = app.staff(Role::Moderator).await;
    app.post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(json!({"user_id": "not a number"}))
        .send()
        .await
        .assert(422);
    // A route with fixed segments that shadows a public `{id}` route still
    // requires its token: GET /demands/mine is not GET /demands/{id}.
    app.get("/api/v1/me/demands").send().await.assert(401);
    app.get("/api/v1/demands/1").send().await.assert(404);
}
