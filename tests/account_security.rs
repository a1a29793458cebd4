//! Issue 16: verified contacts and codes (ACC-12), password reset (ACC-13),
//! the staff second factor (ACC-14), the outbox (NTF-1), preferences and
//! consent (NTF-2), push devices (NTF-3).

mod common;

use chrono::Duration;
use common::{PASSWORD, TestApp, unique};
use diesel::prelude::*;
use serde_json::{Value, json};
use weigongbao::users::models::Role;

fn phone() -> String {
    format!("+86137{:08}", unique())
}

async fn request_code(app: &TestApp, channel: &str, purpose: &str, target: &str) -> common::Res {
    app.post("/api/v1/auth/verification-codes")
        .json(json!({"channel": channel, "purpose": purpose, "target": target}))
        .send()
        .await
}

/// The kinds the development senders sent to `recipient`, newest first.
async fn sent_kinds(app: &TestApp, recipient: &str) -> Vec<String> {
    app.sandbox_outbox(recipient)
        .await
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn acc12_registration_needs_the_phone_code() {
    let app = TestApp::new().await;
    let mut body = app.registration();
    body["phone_code"] = json!("123456");
    // No code was ever sent to this number.
    let res = app
        .post("/api/v1/auth/register")
        .json(body.clone())
        .send()
        .await;
    res.assert_problem(422, "code.invalid");
    assert_eq!(res.json["errors"][0]["field"], "phone_code");
    // Without the field at all: refused, nothing created.
    let mut bare = body.clone();
    bare.as_object_mut().unwrap().remove("phone_code");
    let res = app.post("/api/v1/auth/register").json(bare).send().await;
    assert_eq!(res.status.as_u16() / 100, 4, "{}", res.text);
    // With the code the sandbox shows: registered, the phone verified.
    body.as_object_mut().unwrap().remove("phone_code");
    let res = app.register_with(body.clone()).await;
    res.assert(201);
    assert_eq!(res.json["user"]["phone_verified"], true);
    assert_eq!(res.json["user"]["email_verified"], false);
    // The code was spent: registering again with it is refused.
    let sent = app.sandbox_outbox(body["phone"].as_str().unwrap()).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["channel"], "sms");
    let code: String = sent[0]["body"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    body["member_name"] = json!(format!("again_{}", unique()));
    body["email"] = json!(format!("again{}@example.com", unique()));
    register_with_code(&app, body, &code)
        .await
        .assert_problem(422, "code.invalid");
}

/// Registers with `body` and exactly this phone code.
async fn register_with_code(app: &TestApp, mut body: Value, code: &str) -> common::Res {
    body["phone_code"] = json!(code);
    app.post("/api/v1/auth/register").json(body).send().await
}

#[actix_web::test]
async fn acc12_the_sixth_try_is_refused_even_when_right() {
    let app = TestApp::new().await;
    let mut body = app.registration();
    let phone = body["phone"].as_str().unwrap().to_string();
    let code = app.code("sms", "register", &phone).await.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        body["phone_code"] = json!(wrong);
        app.post("/api/v1/auth/register")
            .json(body.clone())
            .send()
            .await
            .assert_problem(422, "code.invalid");
    }
    body["phone_code"] = json!(code);
    app.post("/api/v1/auth/register")
        .json(body.clone())
        .send()
        .await
        .assert_problem(422, "code.exhausted");
    // A new code works again (after the 60 s between codes).
    body.as_object_mut().unwrap().remove("phone_code");
    app.register_with(body).await.assert(201);
}

#[actix_web::test]
async fn acc12_codes_expire_after_five_minutes_and_are_kept_only_hashed() {
    let app = TestApp::new().await;
    let body = app.registration();
    let phone = body["phone"].as_str().unwrap().to_string();
    let code = app.code("sms", "register", &phone).await.unwrap();
    // Stored: neither the code nor the number in clear.
    let state = app.state.clone();
    let rows: Vec<(String, String)> = state
        .run(|conn, _| {
            use weigongbao::platform::db::schema::verification_codes as c;
            Ok(c::table.select((c::code_hash, c::target_key)).load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].0.contains(&code) && !rows[0].1.contains(&phone[3..]));
    app.clock.advance(Duration::seconds(301));
    register_with_code(&app, body, &code)
        .await
        .assert_problem(422, "code.invalid");
}

#[actix_web::test]
async fn acc12_asking_looks_the_same_for_registered_and_unknown_numbers() {
    let app = TestApp::new().await;
    let user_body = app.registration();
    app.register_with(user_body.clone()).await.assert(201);
    let registered = user_body["phone"].as_str().unwrap();
    let unknown = phone();
    app.clock.advance(Duration::seconds(61));
    let a = request_code(&app, "sms", "reset_password", registered).await;
    let b = request_code(&app, "sms", "reset_password", &unknown).await;
    a.assert(202);
    b.assert(202);
    assert_eq!(a.json, b.json);
    assert_eq!(a.json, json!({"expires_in": 300, "resend_after": 60}));
    // Only the registered number actually gets a message.
    assert_eq!(sent_kinds(&app, registered).await[0], "code.reset_password");
    assert!(sent_kinds(&app, &unknown).await.is_empty());
    // 60 s between codes, for both alike.
    for target in [registered, unknown.as_str()] {
        let res = request_code(&app, "sms", "reset_password", target).await;
        res.assert_problem(429, "code.too_soon");
        assert!(res.header("retry-after").is_some());
    }
    // At most 10 a day per number.
    for _ in 0..9 {
        app.clock.advance(Duration::seconds(61));
        request_code(&app, "sms", "reset_password", &unknown)
            .await
            .assert(202);
    }
    app.clock.advance(Duration::seconds(61));
    request_code(&app, "sms", "reset_password", &unknown)
        .await
        .assert_problem(429, "code.daily_limit");
    // A purpose sent by the wrong channel, or a malformed target: 422.
    request_code(&app, "email", "register", "a@example.com")
        .await
        .assert_problem(422, "code.channel_not_allowed");
    let res = request_code(&app, "sms", "register", "12345").await;
    assert_eq!(res.status.as_u16(), 422);
    assert_eq!(res.json["errors"][0]["field"], "target");
}

#[actix_web::test]
async fn acc13_password_reset_ends_every_session_and_tells_the_other_channel() {
    let app = TestApp::new().await;
    let body = app.registration();
    let res = app.register_with(body.clone()).await;
    res.assert(201);
    let old_access = res.json["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let name = body["member_name"].as_str().unwrap();
    let phone = body["phone"].as_str().unwrap();
    let code = app.code("sms", "reset_password", phone).await.unwrap();
    let reset = |code: &str| json!({"channel": "sms", "target": phone, "code": code, "new_password": "n3w-passw0rd!"});
    app.post("/api/v1/auth/password-reset")
        .json(reset("999999"))
        .send()
        .await
        .assert_problem(422, "code.invalid");
    app.post("/api/v1/auth/password-reset")
        .json(reset(&code))
        .send()
        .await
        .assert(204);
    // ACC-13: the old session is over; the new password works, the old not.
    app.me(&old_access)
        .await
        .assert_problem(401, "auth.session_ended");
    app.login(name, PASSWORD).await.assert(401);
    app.login(name, "n3w-passw0rd!").await.assert(200);
    // The code is spent.
    app.post("/api/v1/auth/password-reset")
        .json(reset(&code))
        .send()
        .await
        .assert_problem(422, "code.invalid");
    // Told by SMS (the email is not verified) and in-app.
    assert!(
        sent_kinds(&app, phone)
            .await
            .contains(&"account.password_reset".to_string())
    );
    // An unverified email cannot be used to reset.
    let email = body["email"].as_str().unwrap();
    request_code(&app, "email", "reset_password", email)
        .await
        .assert(202);
    assert!(sent_kinds(&app, email).await.is_empty());
}

#[actix_web::test]
async fn acc12_email_and_phone_are_verified_by_codes() {
    let app = TestApp::new().await;
    let body = app.registration();
    let res = app.register_with(body.clone()).await;
    res.assert(201);
    let user = common::Account::from_auth(&res.json);
    let email = body["email"].as_str().unwrap();
    // Only the logged-in account, for its own email.
    request_code(&app, "email", "verify_email", email)
        .await
        .assert_problem(401, "auth.missing_token");
    app.post("/api/v1/auth/verification-codes")
        .bearer(&user.access)
        .json(json!({"channel": "email", "purpose": "verify_email", "target": "other@example.com"}))
        .send()
        .await
        .assert_problem(422, "code.not_own_email");
    let code = app
        .code_as(Some(&user.access), "email", "verify_email", email)
        .await
        .unwrap();
    let res = app
        .post("/api/v1/me/email/verification")
        .bearer(&user.access)
        .json(json!({"code": code}))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["email_verified"], true);
    // A new email is unverified again.
    let res = app
        .req(actix_web::http::Method::PATCH, "/api/v1/me")
        .bearer(&user.access)
        .json(json!({"email": format!("new{}@example.com", unique())}))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["email_verified"], false);
    // The phone changes only with a code to the new number; the old one is told.
    let old = body["phone"].as_str().unwrap();
    let new = phone();
    let change = |code: &str| json!({"phone": new, "code": code, "current_password": PASSWORD});
    app.req(actix_web::http::Method::PUT, "/api/v1/me/phone")
        .bearer(&user.access)
        .json(change("123456"))
        .send()
        .await
        .assert_problem(422, "code.invalid");
    // PATCH /me does not change the phone.
    app.req(actix_web::http::Method::PATCH, "/api/v1/me")
        .bearer(&user.access)
        .json(json!({"phone": new}))
        .send()
        .await
        .assert_problem(422, "phone.code_required");
    let code = app
        .code_as(Some(&user.access), "sms", "change_phone", &new)
        .await
        .unwrap();
    // A stolen token is not enough: the password is asked.
    app.req(actix_web::http::Method::PUT, "/api/v1/me/phone")
        .bearer(&user.access)
        .json(json!({"phone": new, "code": code, "current_password": "not-the-password-1"}))
        .send()
        .await
        .assert_problem(403, "password.incorrect");
    let res = app
        .req(actix_web::http::Method::PUT, "/api/v1/me/phone")
        .bearer(&user.access)
        .json(change(&code))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["phone"], &new[3..], "kept without +86");
    assert_eq!(res.json["phone_verified"], true);
    assert!(
        sent_kinds(&app, old)
            .await
            .contains(&"account.phone_changed".to_string())
    );
    // Another account cannot take a number that is registered.
    let other = app.user().await;
    let code = app
        .code_as(Some(&other.access), "sms", "change_phone", &new)
        .await
        .unwrap();
    app.req(actix_web::http::Method::PUT, "/api/v1/me/phone")
        .bearer(&other.access)
        .json(change(&code))
        .send()
        .await
        .assert_problem(409, "phone.taken");
}

#[actix_web::test]
async fn acc14_staff_login_requires_a_totp_code_used_once() {
    let app = TestApp::new().await;
    let admin = app.staff(Role::Admin).await;
    let secret = admin.totp_secret.clone().unwrap();
    // The session that enrolled is open; staff sessions are shorter.
    app.get("/api/v1/admin/audit-log")
        .bearer(&admin.access)
        .send()
        .await
        .assert(200);
    let login = |code: Option<String>| {
        let mut body = json!({"login": admin.member_name, "password": PASSWORD});
        if let Some(code) = code {
            body["totp_code"] = json!(code);
        }
        app.post("/api/v1/auth/login").json(body).send()
    };
    login(None).await.assert_problem(401, "auth.totp_required");
    let now = app.totp_code(&secret);
    let wrong = if now == "000000" { "111111" } else { "000000" };
    login(Some(wrong.into()))
        .await
        .assert_problem(401, "auth.totp_invalid");
    // The code the enrolment used is spent: wait for the next step.
    app.clock.advance(Duration::seconds(30));
    let code = app.totp_code(&secret);
    let res = login(Some(code.clone())).await;
    res.assert(200);
    assert_eq!(res.json["tokens"]["refresh_expires_in"], 12 * 3600);
    // The same code twice: refused (RFC 6238 §5.2).
    login(Some(code))
        .await
        .assert_problem(401, "auth.totp_invalid");
    // Enrolling again is refused; a user cannot enrol.
    app.post("/api/v1/admin/me/totp")
        .bearer(res.json["tokens"]["access_token"].as_str().unwrap())
        .send()
        .await
        .assert_problem(409, "totp.already_enrolled");
    let user = app.user().await;
    app.post("/api/v1/admin/me/totp")
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
}

#[actix_web::test]
async fn acc14_recovery_codes_work_once_and_enrolment_is_required_first() {
    let app = TestApp::new().await;
    let name = format!("staff_{}", unique());
    let staff =
        weigongbao::users::service::NewStaff::prepare(&name, PASSWORD, Role::Moderator).unwrap();
    app.state
        .tx(move |conn, st| weigongbao::users::service::create_staff(conn, st, &staff))
        .await
        .unwrap();
    let res = app.login(&name, PASSWORD).await;
    res.assert(200);
    let access = res.json["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/api/v1/admin/complaints")
        .bearer(&access)
        .send()
        .await
        .assert_problem(403, "auth.totp_enrolment_required");
    let res = app
        .post("/api/v1/admin/me/totp")
        .bearer(&access)
        .send()
        .await;
    res.assert(201);
    assert!(
        res.json["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret = res.json["secret"].as_str().unwrap().to_string();
    app.post("/api/v1/admin/me/totp/confirm")
        .bearer(&access)
        .json(json!({"code": "000000"}))
        .send()
        .await;
    let res = app
        .post("/api/v1/admin/me/totp/confirm")
        .bearer(&access)
        .json(json!({"code": app.totp_code(&secret)}))
        .send()
        .await;
    res.assert(200);
    let recovery: Vec<String> = res.json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    app.get("/api/v1/admin/complaints")
        .bearer(&access)
        .send()
        .await
        .assert(200);
    let with = |code: &str| {
        app.post("/api/v1/auth/login")
            .json(json!({"login": name, "password": PASSWORD, "totp_code": code}))
            .send()
    };
    with(&recovery[0]).await.assert(200);
    with(&recovery[0])
        .await
        .assert_problem(401, "auth.totp_invalid");
    with(&recovery[1]).await.assert(200);
}

#[actix_web::test]
async fn ntf1_a_sealed_users_sealing_notice_reaches_the_sms_outbox() {
    let app = TestApp::new().await;
    let body = app.registration();
    let res = app.register_with(body.clone()).await;
    res.assert(201);
    let user_id = res.json["user"]["id"].as_i64().unwrap();
    let moderator = app.staff(Role::Moderator).await;
    app.post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(json!({
            "user_id": user_id, "category": "payment_misuse", "source": "regulator_notice",
            "facts": "利用平台洗钱。", "decision": "根本违约，封禁账号",
            "measures": [{"kind": "seal"}]
        }))
        .send()
        .await
        .assert(201);
    // The user cannot log in, but the notice the rules require went by SMS.
    let sent = app.sandbox_outbox(body["phone"].as_str().unwrap()).await;
    let sealing = sent
        .iter()
        .find(|m| m["kind"] == "violation.measure")
        .expect("the sealing notice by SMS");
    assert_eq!(sealing["channel"], "sms");
    assert!(
        sealing["body"].as_str().unwrap().contains("封"),
        "{sealing}"
    );
    // Exactly once per channel, however often the dispatcher runs.
    app.dispatch().await;
    let again = app.sandbox_outbox(body["phone"].as_str().unwrap()).await;
    assert_eq!(again.len(), sent.len());
}

#[actix_web::test]
async fn ntf2_mandatory_kinds_stay_on_and_marketing_needs_consent() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let put = |body: Value| {
        app.req(
            actix_web::http::Method::PUT,
            "/api/v1/me/notification-preferences",
        )
        .bearer(&user.access)
        .json(body)
        .send()
    };
    let res = put(json!({"preferences": [
        {"kind": "violation.measure", "channel": "sms", "enabled": false},
        {"kind": "dispute.opened", "channel": "email", "enabled": true}
    ]}))
    .await;
    res.assert_problem(422, "notification.mandatory");
    assert_eq!(res.json["mandatory_kinds"], json!(["violation.measure"]));
    put(json!({"preferences": [{"kind": "nonsense.kind", "channel": "sms", "enabled": true}]}))
        .await
        .assert_problem(422, "notification.kind_unknown");
    put(json!({"preferences": [{"kind": "marketing", "channel": "sms", "enabled": true}]}))
        .await
        .assert_problem(422, "notification.consent_required");
    // Nothing changed by the refusals.
    let res = app
        .get("/api/v1/me/notification-preferences")
        .bearer(&user.access)
        .send()
        .await;
    res.assert(200);
    let kind = |v: &Value, k: &str| {
        v["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["kind"] == k)
            .cloned()
            .unwrap()
    };
    assert_eq!(kind(&res.json, "dispute.opened")["email"], false);
    assert_eq!(kind(&res.json, "violation.measure")["mandatory"], true);
    assert_eq!(res.json["marketing"]["consent"], false);
    // Email on for disputes, push off; consent given with its time.
    let res = put(json!({
        "preferences": [
            {"kind": "dispute.opened", "channel": "email", "enabled": true},
            {"kind": "dispute.opened", "channel": "push", "enabled": false},
            {"kind": "marketing", "channel": "push", "enabled": true}
        ],
        "marketing_consent": true
    }))
    .await;
    res.assert(200);
    let opened = kind(&res.json, "dispute.opened");
    assert_eq!(
        (opened["email"].clone(), opened["push"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(res.json["marketing"]["consent"], true);
    assert!(res.json["marketing"]["changed_at"].is_string());
    // The unsubscribe link withdraws it without a login; a forged one is 404.
    let token = weigongbao::notifications::channels::unsubscribe_token(&app.state, user.id);
    app.post(&format!(
        "/api/v1/notifications/unsubscribe?token={user_id}.forged",
        user_id = user.id
    ))
    .send()
    .await
    .assert_problem(404, "unsubscribe.invalid");
    app.post(&format!("/api/v1/notifications/unsubscribe?token={token}"))
        .send()
        .await
        .assert(204);
    let res = app
        .get("/api/v1/me/notification-preferences")
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(res.json["marketing"]["consent"], false);
}

/// A new user asks for a code to its own email (the registration's SMS
/// already sent); the address.
async fn email_code_asked(app: &TestApp) -> String {
    let user = app.user().await;
    let email = app.me(&user.access).await.json["email"]
        .as_str()
        .unwrap()
        .to_string();
    app.dispatch().await;
    app.post("/api/v1/auth/verification-codes")
        .bearer(&user.access)
        .json(json!({"channel": "email", "purpose": "verify_email", "target": email}))
        .send()
        .await
        .assert(202);
    email
}

/// Publishes a demand of `employer` and has it removed by a moderator: a
/// notice of kind `demand.removed` to the employer.
async fn demand_removed_notice(app: &TestApp, employer: &common::Account) {
    let demand = app
        .demand(employer, app.demand_body("扫码地推", "300.00", 1))
        .await;
    let moderator = app.staff(Role::Moderator).await;
    app.post(&format!("/api/v1/admin/demands/{demand}/remove"))
        .bearer(&moderator.access)
        .json(json!({"reason": "违规内容"}))
        .send()
        .await
        .assert(200);
}

#[actix_web::test]
async fn ntf3_push_goes_to_live_sessions_devices_and_logout_removes_them() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.verify(&user).await;
    let token = format!("jpush-reg-{}", unique());
    let res = app
        .post("/api/v1/me/devices")
        .bearer(&user.access)
        .json(json!({"platform": "android", "token": token}))
        .send()
        .await;
    res.assert(201);
    let device = res.json["id"].as_i64().unwrap();
    // Registering again returns the same device.
    let again = app
        .post("/api/v1/me/devices")
        .bearer(&user.access)
        .json(json!({"platform": "android", "token": token}))
        .send()
        .await;
    again.assert(200);
    assert_eq!(again.json["id"], device);
    demand_removed_notice(&app, &user).await;
    let pushed = app.sandbox_outbox(&token).await;
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0]["channel"], "push");
    assert_eq!(pushed[0]["kind"], "demand.removed");
    // Logout removes the device; later notices are not pushed.
    app.post("/api/v1/auth/logout")
        .bearer(&user.access)
        .send()
        .await
        .assert(204);
    let user = app.relog(&user).await;
    app.req(
        actix_web::http::Method::DELETE,
        &format!("/api/v1/me/devices/{device}"),
    )
    .bearer(&user.access)
    .send()
    .await
    .assert_problem(404, "device.not_found");
    demand_removed_notice(&app, &user).await;
    assert_eq!(app.sandbox_outbox(&token).await.len(), 1);
    // A malformed token is refused.
    app.post("/api/v1/me/devices")
        .bearer(&user.access)
        .json(json!({"platform": "ios", "token": "short"}))
        .send()
        .await
        .assert(422);
}

#[actix_web::test]
async fn ntf1_failed_sends_are_retried_then_dead_letters_for_admins_and_metrics() {
    // Email through an SMTP server that is not there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::with_settings(&[
        ("SMTP_URL", &format!("smtp://127.0.0.1:{port}")),
        ("OUTBOX_MAX_ATTEMPTS", "2"),
        ("OUTBOX_RETRY_BASE_SECS", "10"),
        ("METRICS_TOKEN", "metrics-token-metrics-token-0001"),
    ])
    .await;
    let email = email_code_asked(&app).await;
    let first = app.dispatch().await;
    assert_eq!((first.sent, first.retried, first.dead), (0, 1, 0));
    // Not due again until the backoff has passed.
    assert_eq!(app.dispatch().await.retried, 0);
    app.clock.advance(Duration::seconds(11));
    assert_eq!(app.dispatch().await.dead, 1);
    let admin = app.staff(Role::Admin).await;
    let res = app
        .get("/api/v1/admin/outbox")
        .bearer(&admin.access)
        .send()
        .await;
    res.assert(200);
    let dead = &res.json["items"][0];
    assert_eq!(dead["status"], "dead");
    assert_eq!(dead["attempts"], 2);
    assert_eq!(dead["channel"], "email");
    assert!(dead["recipient"].as_str().unwrap().starts_with("w***@"));
    assert!(dead["last_error"].as_str().unwrap().starts_with("SMTP"));
    assert!(!res.text.contains(&email), "recipients are masked");
    let metrics = app
        .get("/metrics")
        .bearer("metrics-token-metrics-token-0001")
        .send()
        .await;
    assert!(
        metrics
            .text
            .contains("weigongbao_outbox_messages{status=\"dead\"} 1"),
        "{}",
        metrics.text
    );
    // A code is not sent again (it has run out).
    let id = dead["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/admin/outbox/{id}/retry"))
        .bearer(&admin.access)
        .send()
        .await
        .assert_problem(409, "outbox.not_retryable");
    app.post("/api/v1/admin/outbox/999999/retry")
        .bearer(&admin.access)
        .send()
        .await
        .assert_problem(404, "outbox.not_found");
}

/// NTF-1: email reaches a real SMTP server (Python's aiosmtpd, started
/// here). Skipped when aiosmtpd is not installed, unless
/// `TEST_SMTP_REQUIRED` is set (CI installs it and sets it).
#[actix_web::test]
async fn ntf1_an_email_arrives_at_a_real_smtp_server() {
    let has_aiosmtpd = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_aiosmtpd {
        assert!(
            std::env::var("TEST_SMTP_REQUIRED").is_err(),
            "TEST_SMTP_REQUIRED is set but python3 cannot import aiosmtpd"
        );
        eprintln!("skipped: python3 -m pip install aiosmtpd to run this test");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = tempfile::tempdir().unwrap();
    let mut server = std::process::Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir.path().join("mail"))
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "aiosmtpd did not start"
        );
        if let Ok(Some(status)) = server.try_wait() {
            panic!("aiosmtpd exited: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _server = Kill(server);
    let app = TestApp::with_settings(&[("SMTP_URL", &format!("smtp://127.0.0.1:{port}"))]).await;
    let email = email_code_asked(&app).await;
    let report = app.dispatch().await;
    assert_eq!(report.sent, 1, "{report:?}");
    let new = maildir.path().join("mail").join("new");
    let mut found = None;
    for entry in std::fs::read_dir(&new).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        if text.contains(&email) {
            found = Some(text);
        }
    }
    let mail = found.expect("the email in the mailbox");
    assert!(mail.contains("Message-ID: <outbox-"), "{mail}");
    // The code left: the outbox keeps no copy of it.
    let state = app.state.clone();
    let bodies: Vec<String> = state
        .run(|conn, _| {
            use weigongbao::platform::db::schema::outbox;
            Ok(outbox::table
                .filter(outbox::channel.eq("email"))
                .select(outbox::body)
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(bodies.len(), 1);
    assert!(
        !bodies[0].chars().any(|c| c.is_ascii_digit()),
        "{}",
        bodies[0]
    );
}

/// Reads one HTTP/1.1 request from `stream`: (head, body).
fn read_request(stream: &mut std::net::TcpStream) -> (String, String) {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before the request ended");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    (head, body)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The requests a fake provider saw: (head, body).
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A fake provider on loopback: answers each request with `answer(head,
/// body)`; the requests it saw.
fn fake_provider(answer: impl Fn(&str, &str) -> (u16, String) + Send + 'static) -> (u16, Seen) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (head, body) = read_request(&mut stream);
            let (status, reply) = answer(&head, &body);
            log.lock().unwrap().push((head, body));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (port, seen)
}

/// NTF-1: the Tencent Cloud SMS adapter against a fake Tencent endpoint
/// that checks the TC3-HMAC-SHA256 signature with the test's keys: a code
/// goes with the code template and the code as its parameter, E.164.
#[actix_web::test]
async fn ntf1_sms_goes_out_signed_as_tencent_cloud_documents() {
    const ID: &str = "AKIDtest0000000000000000000000000000";
    const KEY: &str = "test-secret-key-0000000000000000";
    let (port, seen) = fake_provider(|head, body| {
        let host = header(head, "host").unwrap_or_default().to_string();
        let ts: i64 = header(head, "x-tc-timestamp").unwrap().parse().unwrap();
        let expected = weigongbao::platform::delivery::tencent::tc3_authorization(
            ID, KEY, "sms", &host, ts, body,
        );
        if header(head, "authorization") != Some(expected.as_str()) {
            return (200, r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"x"},"RequestId":"r"}}"#.into());
        }
        (200, r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:104571066915","PhoneNumber":"+8613711112222","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"r"}}"#.into())
    });
    let endpoint = format!("http://127.0.0.1:{port}/");
    let app = TestApp::with_settings(&[
        ("SMS_PROVIDER", "tencent"),
        ("TENCENT_SMS_SECRET_ID", ID),
        ("TENCENT_SMS_SECRET_KEY", KEY),
        ("TENCENT_SMS_SDK_APP_ID", "1400006666"),
        ("TENCENT_SMS_SIGN_NAME", "微工宝"),
        ("TENCENT_SMS_CODE_TEMPLATE_ID", "1001"),
        ("TENCENT_SMS_NOTICE_TEMPLATE_ID", "1002"),
        ("TENCENT_SMS_ENDPOINT", &endpoint),
    ])
    .await;
    let number = phone();
    request_code(&app, "sms", "register", &number)
        .await
        .assert(202);
    let report = app.dispatch().await;
    assert_eq!(report.sent, 1, "{report:?}");
    let (head, body) = seen.lock().unwrap()[0].clone();
    let (head, body) = (&head, &body);
    assert_eq!(header(head, "x-tc-action"), Some("SendSms"));
    assert_eq!(header(head, "x-tc-version"), Some("2021-01-11"));
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["PhoneNumberSet"], json!([number]));
    assert_eq!(sent["TemplateId"], "1001");
    assert_eq!(sent["SmsSdkAppId"], "1400006666");
    let param = sent["TemplateParamSet"][0].as_str().unwrap();
    assert!(param.len() == 6 && param.bytes().all(|b| b.is_ascii_digit()));
    // The row keeps Tencent's serial number, and not the code.
    let state = app.state.clone();
    let (reference, stored): (Option<String>, String) = state
        .run(|conn, _| {
            use weigongbao::platform::db::schema::outbox;
            Ok(outbox::table
                .select((outbox::provider_ref, outbox::body))
                .first(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(reference.as_deref(), Some("5000:104571066915"));
    assert!(!stored.contains(param));
}

/// NTF-1, NTF-3: the JPush adapter against a fake JPush endpoint: Basic
/// authentication with the app key and master secret, the device's
/// registration id as the audience.
#[actix_web::test]
async fn ntf3_push_goes_out_as_jpush_documents() {
    let (port, seen) = fake_provider(|head, _| {
        // base64("appkey0001:mastersecret0001")
        if header(head, "authorization") == Some("Basic YXBwa2V5MDAwMTptYXN0ZXJzZWNyZXQwMDAx") {
            (200, r#"{"sendno":"1","msg_id":"54043195528145930"}"#.into())
        } else {
            (
                401,
                r#"{"error":{"code":1004,"message":"auth failed"}}"#.into(),
            )
        }
    });
    let app = TestApp::with_settings(&[
        ("PUSH_PROVIDER", "jpush"),
        ("JPUSH_APP_KEY", "appkey0001"),
        ("JPUSH_MASTER_SECRET", "mastersecret0001"),
        (
            "JPUSH_ENDPOINT",
            &format!("http://127.0.0.1:{port}/v3/push"),
        ),
    ])
    .await;
    let user = app.user().await;
    app.verify(&user).await;
    let token = format!("170976fa8a{}", unique());
    app.post("/api/v1/me/devices")
        .bearer(&user.access)
        .json(json!({"platform": "android", "token": token}))
        .send()
        .await
        .assert(201);
    demand_removed_notice(&app, &user).await;
    // Verification and removal notices, each to the one device.
    let report = app.dispatch().await;
    assert!(report.sent >= 1 && report.retried == 0, "{report:?}");
    let seen = seen.lock().unwrap().clone();
    let pushed: Vec<Value> = seen
        .iter()
        .map(|(_, body)| serde_json::from_str(body).unwrap())
        .collect();
    let removal = pushed
        .iter()
        .find(|p| p["notification"]["android"]["extras"]["kind"] == "demand.removed")
        .expect("the removal pushed");
    assert_eq!(removal["audience"]["registration_id"], json!([token]));
    assert_eq!(removal["platform"], "all");
}

/// NTF-1: a server killed (SIGKILL) after the event committed and before
/// the send sends the message exactly once after its restart.
#[actix_web::test]
async fn ntf1_a_server_killed_between_event_and_send_sends_once_after_restart() {
    let db = common::TestDb::create();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = |dispatch_ms: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_weigongbao"))
            .env("DATABASE_URL", db.url())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", "kill-test-secret-kill-test-secret-0001")
            .env("JOBS_INTERVAL_SECS", "0")
            .env("OUTBOX_INTERVAL_MS", dispatch_ms)
            .env("WORKERS", "1")
            .env_remove("APP_ENV")
            .current_dir(std::env::temp_dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .new_agent();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let ready = |agent: &ureq::Agent| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(res) = agent.get(&format!("http://127.0.0.1:{port}/readyz")).call()
                && res.status() == 200
            {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "server not ready");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let number = phone();
    let outbox = |agent: &ureq::Agent| -> Vec<Value> {
        let mut res = agent
            .get(&format!(
                "{base}/sandbox/outbox?recipient={}",
                common::percent_encode(&number)
            ))
            .call()
            .unwrap();
        serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
    };
    // First life: no dispatcher; the code request commits its outbox row.
    let mut first = start("0");
    ready(&agent);
    let res = agent
        .post(&format!("{base}/auth/verification-codes"))
        .header("content-type", "application/json")
        .send(json!({"channel": "sms", "purpose": "register", "target": number}).to_string())
        .unwrap();
    assert_eq!(res.status(), 202);
    assert!(outbox(&agent).is_empty(), "nothing sent yet");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    // Second life, with the dispatcher: sent once, and only once.
    let mut second = start("100");
    ready(&agent);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while outbox(&agent).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "never sent after the restart"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    let sent = outbox(&agent);
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["kind"], "code.register");
}
