//! Agreements, notifications and an account's life: reclamation of names
//! and inactive accounts, information requests, closure and anonymisation
//! (AGR-1, ACC-5, ACC-6, ACC-9, ACC-10, SVC-1, SVC-2).

mod common;

use actix_web::http::Method;
use chrono::Duration;
use common::{PASSWORD, TestApp};
use serde_json::{Value, json};
use weigongbao::users::models::Role;

#[actix_web::test]
async fn agr1_a_new_version_gates_users_until_they_accept() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let admin = app.staff(Role::Admin).await;
    let moderator = app.staff(Role::Moderator).await;

    // Publishing is for admins only.
    app.post("/api/v1/admin/agreements")
        .bearer(&moderator.access)
        .json(json!({"title": "v2", "body": "正文", "in_force_at": "2020-01-01T00:00:00Z"}))
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
    // In force in one hour: nothing changes yet.
    let in_force = (app.clock_now() + Duration::hours(1)).to_rfc3339();
    let published = app
        .post("/api/v1/admin/agreements")
        .bearer(&admin.access)
        .json(json!({"title": "微工宝平台服务协议（第二版）", "body": "新版正文", "in_force_at": in_force}))
        .send()
        .await;
    published.assert(201);
    assert_eq!(published.json["version"], 2);
    app.get("/api/v1/me/sessions")
        .bearer(&user.access)
        .send()
        .await
        .assert(200);

    app.clock.advance(Duration::hours(2));
    let user = {
        // The access token expired with the clock move; log in again.
        let res = app.login(&user.member_name, PASSWORD).await;
        res.assert(200);
        res.json["tokens"]["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let gated = app.get("/api/v1/me/sessions").bearer(&user).send().await;
    gated.assert_problem(428, "agreement.acceptance_required");
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&user)
        .json(json!({"address": "新地址"}))
        .send()
        .await
        .assert_problem(428, "agreement.acceptance_required");
    // The same for the writes that check the session in their own work
    // (issue 13), before their body is read.
    app.post("/api/v1/demands/1/bids")
        .bearer(&user)
        .raw("application/json", "{not json")
        .send()
        .await
        .assert_problem(428, "agreement.acceptance_required");
    app.post("/api/v1/conversations/1/messages")
        .bearer(&user)
        .json(json!({"text": "在吗"}))
        .send()
        .await
        .assert_problem(428, "agreement.acceptance_required");
    // Still allowed: reading and accepting the agreement, GET /me, closure, logout.
    let current = app.get("/api/v1/agreements/current").send().await;
    assert_eq!(current.json["version"], 2);
    app.me(&user).await.assert(200);
    app.get("/api/v1/me/closure-request")
        .bearer(&user)
        .send()
        .await
        .assert(404);
    // Staff are not bound by the user agreement.
    let admin = app.staff(Role::Admin).await;
    app.get("/api/v1/admin/audit-log")
        .bearer(&admin.access)
        .send()
        .await
        .assert(200);

    app.post("/api/v1/agreements/1/accept")
        .bearer(&user)
        .send()
        .await
        .assert_problem(409, "agreement.not_current");
    let accepted = app
        .post("/api/v1/agreements/2/accept")
        .bearer(&user)
        .send()
        .await;
    accepted.assert(200);
    assert_eq!(accepted.json["version"], 2);
    app.get("/api/v1/me/sessions")
        .bearer(&user)
        .send()
        .await
        .assert(200);
    assert_eq!(app.me(&user).await.json["agreement_version"], 2);
    // Every user was told.
    assert!(
        app.notification_kinds(&user)
            .await
            .contains(&"agreement.published".to_string())
    );
    assert_eq!(
        app.audit_actions("agreement", "2").await,
        ["agreement.publish"]
    );
}

#[actix_web::test]
async fn notifications_are_paged_filtered_and_marked_read() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.verify(&user).await;
    let moderator = app.staff(Role::Moderator).await;
    app.post(&format!("/api/v1/admin/users/{}/info-requests", user.id))
        .bearer(&moderator.access)
        .json(json!({"kind": "explain", "message": "请说明近期的异常登录。"}))
        .send()
        .await
        .assert(201);
    let all = app
        .get("/api/v1/me/notifications?limit=1")
        .bearer(&user.access)
        .send()
        .await;
    all.assert(200);
    assert_eq!(all.json["items"].as_array().unwrap().len(), 1);
    let first = all.json["items"][0]["id"].as_i64().unwrap();
    let cursor = all.json["next_cursor"].as_str().unwrap().to_string();
    let next = app
        .get(&format!("/api/v1/me/notifications?limit=1&cursor={cursor}"))
        .bearer(&user.access)
        .send()
        .await;
    assert!(next.json["items"][0]["id"].as_i64().unwrap() < first);

    app.post(&format!("/api/v1/me/notifications/{first}/read"))
        .bearer(&user.access)
        .send()
        .await
        .assert(204);
    let unread = app
        .get("/api/v1/me/notifications?unread=true")
        .bearer(&user.access)
        .send()
        .await;
    assert!(
        unread.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != first)
    );
    let other = app.user().await;
    app.post(&format!("/api/v1/me/notifications/{first}/read"))
        .bearer(&other.access)
        .send()
        .await
        .assert_problem(404, "notification.not_found");
}

#[actix_web::test]
async fn acc5_reclaimed_name_is_held_and_login_by_email_still_works() {
    let app = TestApp::new().await;
    let body = app.registration();
    let reg = app.register_with(body.clone()).await;
    let id = reg.json["user"]["id"].as_i64().unwrap();
    let name = body["member_name"].as_str().unwrap();
    let moderator = app.staff(Role::Moderator).await;
    app.post(&format!("/api/v1/admin/users/{id}/member-name/reclaim"))
        .bearer(&moderator.access)
        .json(json!({"reason": "会员名含有误导性内容"}))
        .send()
        .await
        .assert(204);

    app.login(name, PASSWORD)
        .await
        .assert_problem(401, "auth.invalid_credentials");
    let by_email = app.login(body["email"].as_str().unwrap(), PASSWORD).await;
    by_email.assert(200);
    assert!(by_email.json["user"]["member_name"].is_null());
    let token = by_email.json["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        app.notification_kinds(&token)
            .await
            .contains(&"member_name.reclaimed".to_string())
    );

    let avail = app
        .get(&format!("/api/v1/member-names/{name}/availability"))
        .send()
        .await;
    assert_eq!(avail.json["reason_code"], "member_name.held");
    let mut again = app.registration();
    again["member_name"] = json!(name.to_uppercase());
    app.register_with(again.clone())
        .await
        .assert_problem(409, "member_name.held");

    // The user picks a new name; a set name cannot be changed by the user.
    let renamed = app
        .req(Method::PATCH, "/api/v1/me")
        .bearer(&token)
        .json(json!({"member_name": "新名字_01"}))
        .send()
        .await;
    renamed.assert(200);
    assert_eq!(renamed.json["member_name"], "新名字_01");
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&token)
        .json(json!({"member_name": "又一个名字"}))
        .send()
        .await
        .assert_problem(409, "member_name.locked");

    app.post(&format!("/api/v1/admin/member-names/{name}/release"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(204);
    app.register_with(again).await.assert(201);
    let actions = app.audit_actions("user", &id.to_string()).await;
    assert!(actions.contains(&"member_name.reclaim".to_string()));
}

#[actix_web::test]
async fn acc6_information_request_restricts_until_cleared() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let moderator = app.staff(Role::Moderator).await;
    let created = app
        .post(&format!("/api/v1/admin/users/{}/info-requests", user.id))
        .bearer(&moderator.access)
        .json(json!({"kind": "correct", "message": "请更正联系地址。"}))
        .send()
        .await;
    created.assert(201);
    let rid = created.json["id"].as_i64().unwrap();
    let me = app.me(&user.access).await;
    assert_eq!(me.json["restrictions"], json!(["info_request_pending"]));
    assert!(
        app.notification_kinds(&user.access)
            .await
            .contains(&"info_request.created".to_string())
    );

    let answered = app
        .post(&format!("/api/v1/me/info-requests/{rid}/response"))
        .bearer(&user.access)
        .json(json!({"response": "已更正为新地址。"}))
        .send()
        .await;
    answered.assert(200);
    assert_eq!(answered.json["status"], "responded");
    // Answering is not enough: staff must clear it.
    assert_eq!(
        app.me(&user.access).await.json["restrictions"],
        json!(["info_request_pending"])
    );

    app.post(&format!("/api/v1/admin/info-requests/{rid}/clear"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(200);
    assert_eq!(app.me(&user.access).await.json["restrictions"], json!([]));
    app.post(&format!("/api/v1/admin/info-requests/{rid}/clear"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert_problem(409, "info_request.cleared");
    let actions = app.audit_actions("user", &user.id.to_string()).await;
    assert_eq!(actions, ["info_request.clear", "info_request.create"]);
}

#[actix_web::test]
async fn acc9_six_months_without_login_reclaims_after_two_warnings() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let email_login = app.me(&user.access).await.json["email"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = weigongbao::lifecycle::inactivity::reclaim_at(app.clock_now().naive_utc());
    let until = |d: chrono::NaiveDateTime| d.and_utc() - app.clock_now();

    app.clock
        .advance(until(deadline - Duration::days(14)) + Duration::minutes(1));
    assert_eq!(app.run_jobs().await.inactivity_warnings, 1);
    assert_eq!(app.run_jobs().await.inactivity_warnings, 0, "sent once");
    app.clock.advance(Duration::days(7));
    assert_eq!(app.run_jobs().await.inactivity_warnings, 1);
    app.clock.advance(Duration::days(7));
    let report = app.run_jobs().await;
    assert_eq!(report.accounts_reclaimed, 1);

    let login = app.login(&email_login, PASSWORD).await;
    login.assert_problem(403, "account.reclaimed");
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": user.refresh}))
        .send()
        .await
        .assert(401);
    app.get(&format!("/api/v1/users/{}", user.id))
        .send()
        .await
        .assert(404);
}

#[actix_web::test]
async fn acc9_a_login_resets_the_inactivity_clock() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.clock.advance(Duration::days(170));
    assert_eq!(app.run_jobs().await.inactivity_warnings, 1);
    let again = app.login(&user.member_name, PASSWORD).await;
    again.assert(200);
    app.clock.advance(Duration::days(30));
    let report = app.run_jobs().await;
    assert_eq!(
        (report.accounts_reclaimed, report.inactivity_warnings),
        (0, 0)
    );
    let fresh = app.login(&user.member_name, PASSWORD).await;
    let token = fresh.json["tokens"]["access_token"].as_str().unwrap();
    // One warning, before the login; none after it.
    let kinds = app.notification_kinds(token).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "account.inactivity_warning")
            .count(),
        1
    );
}

#[actix_web::test]
async fn svc1_concurrent_job_runs_do_the_work_once() {
    let app = TestApp::new().await;
    for _ in 0..6 {
        app.user().await;
    }
    app.clock.advance(Duration::days(200));
    let (a, b) = futures_util::future::join(app.run_jobs(), app.run_jobs()).await;
    assert_eq!(a.accounts_reclaimed + b.accounts_reclaimed, 6);
    assert_eq!(a.failures + b.failures, 0);
    assert_eq!(app.run_jobs().await.accounts_reclaimed, 0);
}

#[actix_web::test]
async fn acc10_closure_waits_for_open_items_then_anonymises_after_two_years() {
    let app = TestApp::new().await;
    let body = app.registration();
    let reg = app.register_with(body.clone()).await;
    let user_id = reg.json["user"]["id"].as_i64().unwrap();
    let token = reg.json["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let moderator = app.staff(Role::Moderator).await;
    let info = app
        .post(&format!("/api/v1/admin/users/{user_id}/info-requests"))
        .bearer(&moderator.access)
        .json(json!({"kind": "explain", "message": "请说明。"}))
        .send()
        .await;
    let info_id = info.json["id"].as_i64().unwrap();

    let requested = app
        .post("/api/v1/me/closure-request")
        .bearer(&token)
        .json(json!({"reason": "不再使用"}))
        .send()
        .await;
    requested.assert(201);
    assert_eq!(requested.json["blocking"][0]["code"], "info_request_open");
    let cid = requested.json["id"].as_i64().unwrap();
    app.post("/api/v1/me/closure-request")
        .bearer(&token)
        .json(json!({}))
        .send()
        .await
        .assert_problem(409, "closure.already_requested");

    let blocked = app
        .post(&format!("/api/v1/admin/closure-requests/{cid}/approve"))
        .bearer(&moderator.access)
        .send()
        .await;
    blocked.assert_problem(409, "closure.blocked");
    assert_eq!(blocked.json["blocking"][0]["code"], "info_request_open");

    app.post(&format!("/api/v1/admin/info-requests/{info_id}/clear"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(200);
    let approved = app
        .post(&format!("/api/v1/admin/closure-requests/{cid}/approve"))
        .bearer(&moderator.access)
        .send()
        .await;
    approved.assert(200);
    assert_eq!(approved.json["status"], "approved");
    app.me(&token)
        .await
        .assert_problem(401, "auth.session_ended");
    app.login(body["email"].as_str().unwrap(), PASSWORD)
        .await
        .assert_problem(403, "account.closed");

    // Kept two years, then anonymised; records stay, pointing at the user id.
    app.clock.advance(Duration::days(365));
    assert_eq!(app.run_jobs().await.accounts_anonymised, 0);
    app.clock.advance(Duration::days(366));
    assert_eq!(app.run_jobs().await.accounts_anonymised, 1);
    let admin = app.staff(Role::Admin).await;
    let record = app
        .get(&format!("/api/v1/admin/users/{user_id}"))
        .bearer(&admin.access)
        .send()
        .await;
    record.assert(200);
    for field in ["member_name", "email", "phone"] {
        assert!(record.json["user"][field].is_null(), "{field} anonymised");
    }
    assert!(!record.text.contains(body["email"].as_str().unwrap()));
    let actions = app.audit_actions("user", &user_id.to_string()).await;
    assert!(actions.contains(&"closure.approve".to_string()));
    // The member name is free again after anonymisation.
    app.register_with(json!({
        "member_name": body["member_name"], "password": PASSWORD, "email": "new@example.com",
        "phone": "+8613700000001", "contact_name": "新用户", "address": "上海",
        "account_kind": "individual", "agreement_version": 1
    }))
    .await
    .assert(201);
}

#[actix_web::test]
async fn acc10_staff_reject_a_closure_with_a_reason() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let moderator = app.staff(Role::Moderator).await;
    let req = app
        .post("/api/v1/me/closure-request")
        .bearer(&user.access)
        .json(json!({}))
        .send()
        .await;
    let cid = req.json["id"].as_i64().unwrap();
    let queue = app
        .get("/api/v1/admin/closure-requests")
        .bearer(&moderator.access)
        .send()
        .await;
    assert!(queue.lists(&json!(cid)));
    app.post(&format!("/api/v1/admin/closure-requests/{cid}/reject"))
        .bearer(&moderator.access)
        .json(json!({"reason": "存在未结清的款项"}))
        .send()
        .await
        .assert(200);
    let mine = app
        .get("/api/v1/me/closure-request")
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(mine.json["status"], "rejected");
    assert_eq!(mine.json["decision_reason"], "存在未结清的款项");
    app.me(&user.access).await.assert(200);
    assert!(
        app.notification_kinds(&user.access)
            .await
            .contains(&"closure.rejected".to_string())
    );
}

#[actix_web::test]
async fn agr1_me_names_the_version_awaiting_acceptance() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let admin = app.staff(Role::Admin).await;
    assert_eq!(
        app.me(&user.access).await.json["agreement_pending_version"],
        Value::Null
    );
    let in_force = (app.clock_now() + Duration::hours(1)).to_rfc3339();
    app.post("/api/v1/admin/agreements")
        .bearer(&admin.access)
        .json(json!({"title": "第二版", "body": "新版正文", "in_force_at": in_force}))
        .send()
        .await
        .assert(201);
    app.clock.advance(Duration::hours(2));
    let user = app.relog(&user).await;
    let me = app.me(&user.access).await;
    me.assert(200);
    assert_eq!(me.json["agreement_version"], 1);
    assert_eq!(me.json["agreement_pending_version"], 2);
    app.post("/api/v1/agreements/2/accept")
        .bearer(&user.access)
        .send()
        .await
        .assert(200);
    assert_eq!(
        app.me(&user.access).await.json["agreement_pending_version"],
        Value::Null
    );
    // Staff are not bound by the user agreement: nothing pending for them.
    let admin = app.relog(&admin).await;
    assert_eq!(
        app.me(&admin.access).await.json["agreement_pending_version"],
        Value::Null
    );
}

#[actix_web::test]
async fn acc9_staying_signed_in_through_refresh_tokens_is_use() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let idle = app.user().await;
    let mut refresh = user.refresh.clone();
    // Seven months of an app that never asks for the password again.
    for _ in 0..11 {
        app.clock.advance(Duration::days(20));
        let res = app
            .post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": refresh}))
            .send()
            .await;
        res.assert(200);
        refresh = res.json["refresh_token"].as_str().unwrap().to_string();
        let access = res.json["access_token"].as_str().unwrap();
        app.me(access).await.assert(200);
        app.run_jobs().await;
    }
    // The idle account was warned and reclaimed meanwhile; the used one not.
    app.login(&idle.member_name, PASSWORD)
        .await
        .assert_problem(403, "account.reclaimed");
    app.login(&user.member_name, PASSWORD).await.assert(200);
}

#[actix_web::test]
async fn acc9_an_authenticated_call_is_recorded_at_most_hourly() {
    let app = TestApp::with_settings(&[("ACCESS_TOKEN_TTL_SECS", "86400")]).await;
    let user = app.user().await;
    let seen = |res: common::Res| res.json["items"][0]["last_seen_at"].clone();
    let path = "/api/v1/me/sessions";
    let first = seen(app.get(path).bearer(&user.access).send().await);
    app.clock.advance(Duration::minutes(30));
    let again = seen(app.get(path).bearer(&user.access).send().await);
    assert_eq!(again, first, "not within the hour");
    app.clock.advance(Duration::hours(5));
    let later = seen(app.get(path).bearer(&user.access).send().await);
    assert_ne!(later, first, "a call after an hour is recorded");
}
