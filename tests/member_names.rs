//! Member-name rules through HTTP (ACC-4) and staff word-list upkeep (SVC-2).

mod common;

use actix_web::http::Method;
use common::TestApp;
use serde_json::json;
use weigongbao::users::models::Role;

async fn register_named(app: &TestApp, name: &str) -> common::Res {
    let mut body = app.registration();
    body["member_name"] = json!(name);
    app.register_with(body).await
}

#[actix_web::test]
async fn acc4_prohibited_names_are_refused_with_the_category_not_the_word() {
    let app = TestApp::new().await;
    for name in [
        "赌 博",
        "赌_博",
        "我爱赌-博",
        "ｃａｓｉｎｏ王",
        "CASINO88",
        "邪教徒",
    ] {
        let res = register_named(&app, name).await;
        res.assert_problem(422, "member_name.prohibited");
        assert!(res.json["category"].is_string(), "{name}: {}", res.text);
        assert_eq!(res.json["errors"][0]["field"], "member_name");
        assert!(!res.text.contains(name) && !res.text.to_lowercase().contains("casino"));
    }
    let res = register_named(&app, "ｃａｓｉｎｏ").await;
    assert_eq!(res.json["category"], "obscenity_gambling_violence");
    let res = register_named(&app, "邪教").await;
    assert_eq!(res.json["category"], "religion_cult");
    // English detail names the category too.
    let mut body = app.registration();
    body["member_name"] = json!("赌 博");
    let en = app
        .post("/api/v1/auth/register")
        .header("accept-language", "en")
        .json(app.with_code(body).await)
        .send()
        .await;
    assert!(en.json["detail"].as_str().unwrap().contains("gambling"));
}

#[actix_web::test]
async fn acc4_names_are_unique_regardless_of_case() {
    let app = TestApp::new().await;
    register_named(&app, "ZhangSan88").await.assert(201);
    register_named(&app, "zhangsan88")
        .await
        .assert_problem(409, "member_name.taken");
    register_named(&app, "ZHANGSAN88")
        .await
        .assert_problem(409, "member_name.taken");
    register_named(&app, "地推达人").await.assert(201);
    register_named(&app, "地推达人")
        .await
        .assert_problem(409, "member_name.taken");
}

#[actix_web::test]
async fn acc4_availability_explains_why_not() {
    let app = TestApp::new().await;
    register_named(&app, "TakenName").await.assert(201);
    let check = |name: &'static str| {
        let app = &app;
        async move {
            let path = format!("/api/v1/member-names/{}/availability", url_escape(name));
            let res = app.get(&path).send().await;
            res.assert(200);
            res.json
        }
    };
    let free = check("free_name").await;
    assert_eq!(free["available"], true);
    assert!(free.get("reason_code").is_none());
    let taken = check("takenname").await;
    assert_eq!(taken["available"], false);
    assert_eq!(taken["reason_code"], "member_name.taken");
    let prohibited = check("赌_博").await;
    assert_eq!(prohibited["reason_code"], "member_name.prohibited");
    assert_eq!(prohibited["category"], "obscenity_gambling_violence");
    let invalid = check("123456").await;
    assert_eq!(invalid["reason_code"], "member_name.invalid");
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[actix_web::test]
async fn acc4_staff_edit_the_word_list_and_it_applies_at_once() {
    let app = TestApp::new().await;
    let moderator = app.staff(Role::Moderator).await;

    let added = app
        .post("/api/v1/admin/prohibited-words")
        .bearer(&moderator.access)
        .json(json!({"word": "ＳＰＡＭ Word", "category": "other_prohibited"}))
        .send()
        .await;
    added.assert(201);
    assert_eq!(added.json["word"], "spamword");
    let id = added.json["id"].as_i64().unwrap();

    app.post("/api/v1/admin/prohibited-words")
        .bearer(&moderator.access)
        .json(json!({"word": "spam-word", "category": "other_prohibited"}))
        .send()
        .await
        .assert_problem(409, "prohibited_word.exists");

    let res = register_named(&app, "my_spam_word").await;
    res.assert_problem(422, "member_name.prohibited");
    assert_eq!(res.json["category"], "other_prohibited");

    let list = app
        .get("/api/v1/admin/prohibited-words?category=other_prohibited&limit=100")
        .bearer(&moderator.access)
        .send()
        .await;
    list.assert(200);
    assert!(list.lists(&json!(id)));

    app.req(
        Method::DELETE,
        &format!("/api/v1/admin/prohibited-words/{id}"),
    )
    .bearer(&moderator.access)
    .send()
    .await
    .assert(204);
    register_named(&app, "my_spam_word").await.assert(201);
    app.req(
        Method::DELETE,
        &format!("/api/v1/admin/prohibited-words/{id}"),
    )
    .bearer(&moderator.access)
    .send()
    .await
    .assert_problem(404, "prohibited_word.not_found");

    // SVC-2: both changes are in the audit log, readable by admins only.
    let admin = app.staff(Role::Admin).await;
    let log = app
        .get(&format!(
            "/api/v1/admin/audit-log?actor_id={}",
            moderator.id
        ))
        .bearer(&admin.access)
        .send()
        .await;
    log.assert(200);
    let actions: Vec<&str> = log.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["prohibited_word.delete", "prohibited_word.create"]
    );
    app.get("/api/v1/admin/audit-log")
        .bearer(&moderator.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
}

#[actix_web::test]
async fn svc2_admin_endpoints_refuse_plain_users() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.get("/api/v1/admin/prohibited-words")
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
    app.post("/api/v1/admin/prohibited-words")
        .bearer(&user.access)
        .json(json!({"word": "abc", "category": "other_prohibited"}))
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
    app.get("/api/v1/admin/audit-log")
        .send()
        .await
        .assert_problem(401, "auth.missing_token");
    let finance = app.staff(Role::Finance).await;
    app.get("/api/v1/admin/prohibited-words")
        .bearer(&finance.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
}

#[actix_web::test]
async fn acc4_traditional_characters_and_look_alikes_do_not_evade_the_list() {
    let app = TestApp::new().await;
    // 赌博 is listed; its traditional form is the same word.
    let path = format!(
        "/api/v1/member-names/{}/availability",
        url_escape("賭博大王")
    );
    let res = app.get(&path).send().await;
    res.assert(200);
    assert_eq!(res.json["reason_code"], "member_name.prohibited");
    register_named(&app, "賭_博")
        .await
        .assert_problem(422, "member_name.prohibited");

    // A listed Latin word (casino) written with Cyrillic look-alikes is the
    // same word.
    let owner = app.verified_user().await;
    let res = app
        .post("/api/v1/demands")
        .bearer(&owner.access)
        .json(app.demand_body("\u{441}\u{430}sin\u{43e} 推广", "500.00", 2))
        .send()
        .await;
    res.assert_problem(422, "demand.prohibited");
    // An innocent word that merely shares letters passes.
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .json(app.demand_body("cousin 推广", "500.00", 2))
        .send()
        .await
        .assert(201);
}
