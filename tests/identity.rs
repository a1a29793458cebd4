//! Real-name verification, restricted identities and masking (ACC-1, ACC-3,
//! ACC-8, ACC-11).

mod common;

use actix_web::http::Method;
use common::{Account, TestApp, credit_code, resident_id};
use serde_json::{Value, json};
use weigongbao::users::models::Role;

async fn submit(app: &TestApp, user: &Account, body: Value) -> common::Res {
    app.post("/api/v1/me/verification")
        .bearer(&user.access)
        .json(body)
        .send()
        .await
}

async fn organization(app: &TestApp) -> Account {
    let mut body = app.registration();
    body["account_kind"] = json!("organization");
    let res = app.register_with(body).await;
    res.assert(201);
    let login = app
        .login(
            res.json["user"]["email"].as_str().unwrap(),
            common::PASSWORD,
        )
        .await;
    let v = &login.json;
    Account {
        id: v["user"]["id"].as_i64().unwrap(),
        member_name: v["user"]["member_name"].as_str().unwrap().into(),
        access: v["tokens"]["access_token"].as_str().unwrap().into(),
        refresh: v["tokens"]["refresh_token"].as_str().unwrap().into(),
        session_id: v["tokens"]["session_id"].as_i64().unwrap(),
        totp_secret: None,
    }
}

#[actix_web::test]
async fn acc8_resident_id_examples_and_masking() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let bad = submit(
        &app,
        &user,
        json!({"kind": "individual", "legal_name": "张三", "id_number": "11010519491231003X"}),
    )
    .await;
    bad.assert_problem(422, "id_number.invalid");
    assert_eq!(bad.json["errors"][0]["field"], "id_number");

    let res = submit(
        &app,
        &user,
        json!({"kind": "individual", "legal_name": "张三", "id_number": "11010519491231002X"}),
    )
    .await;
    res.assert(201);
    assert_eq!(res.json["status"], "pending");
    assert_eq!(res.json["identity_masked"], "1101**********002X");
    assert_eq!(res.json["minor"], false);
    assert!(
        !res.text.contains("11010519491231002X"),
        "never the full number"
    );

    // ACC-11: masked even to the owner.
    let mine = app
        .get("/api/v1/me/verification")
        .bearer(&user.access)
        .send()
        .await;
    mine.assert(200);
    assert!(!mine.text.contains("19491231"));
    // A second submission while pending is refused.
    submit(
        &app,
        &user,
        json!({"kind": "individual", "legal_name": "张三", "id_number": resident_id(30)}),
    )
    .await
    .assert_problem(409, "verification.pending");
}

#[actix_web::test]
async fn acc8_credit_code_examples_and_kind_must_match_account() {
    let app = TestApp::new().await;
    let org = organization(&app).await;
    let body = |code: &str| {
        json!({"kind": "organization", "organization_name": "福州某某科技有限公司",
               "credit_code": code, "legal_representative": "王五"})
    };
    submit(&app, &org, body("91350100M000100Y44"))
        .await
        .assert_problem(422, "credit_code.invalid");
    let ok = submit(&app, &org, body("91350100M000100Y43")).await;
    ok.assert(201);
    assert_eq!(ok.json["identity_masked"], "9135**********0Y43");
    assert_eq!(ok.json["legal_representative"], "王五");

    // ACC-1: an individual account cannot verify as an organisation and back.
    let person = app.user().await;
    submit(&app, &person, body(&credit_code()))
        .await
        .assert_problem(409, "verification.kind_mismatch");
    let org2 = organization(&app).await;
    submit(
        &app,
        &org2,
        json!({"kind": "individual", "legal_name": "张三", "id_number": resident_id(30)}),
    )
    .await
    .assert_problem(409, "verification.kind_mismatch");
}

#[actix_web::test]
async fn acc1_minor_needs_an_adult_guardian_and_adults_do_not() {
    let app = TestApp::new().await;
    let minor = app.user().await;
    let id = resident_id(16);
    submit(
        &app,
        &minor,
        json!({"kind": "individual", "legal_name": "小明", "id_number": id}),
    )
    .await
    .assert_problem(422, "verification.guardian_required");
    submit(
        &app,
        &minor,
        json!({"kind": "individual", "legal_name": "小明", "id_number": id,
        "guardian": {"name": "李四", "id_number": resident_id(15), "relation": "父亲"}}),
    )
    .await
    .assert_problem(422, "verification.guardian_not_adult");
    let guardian_id = resident_id(45);
    let ok = submit(
        &app,
        &minor,
        json!({"kind": "individual", "legal_name": "小明", "id_number": id,
        "guardian": {"name": "李四", "id_number": guardian_id, "relation": "父亲"}}),
    )
    .await;
    ok.assert(201);
    assert_eq!(ok.json["minor"], true);
    assert_eq!(ok.json["guardian_name"], "李四");
    assert_eq!(ok.json["guardian_relation"], "父亲");
    assert!(!ok.text.contains(&guardian_id));

    // An adult needs no guardian; one sent anyway is not kept.
    let adult = app.user().await;
    let res = submit(
        &app,
        &adult,
        json!({"kind": "individual", "legal_name": "王五", "id_number": resident_id(18),
        "guardian": {"name": "李四", "id_number": resident_id(50), "relation": "父亲"}}),
    )
    .await;
    res.assert(201);
    assert_eq!(res.json["minor"], false);
    assert!(res.json["guardian_name"].is_null());
}

#[actix_web::test]
async fn acc8_one_identity_binds_one_account_and_locks_after_approval() {
    let app = TestApp::new().await;
    let first = app.user().await;
    let id = app.verify(&first).await;
    let second = app.user().await;
    submit(
        &app,
        &second,
        json!({"kind": "individual", "legal_name": "张三", "id_number": id}),
    )
    .await
    .assert_problem(409, "identity.already_bound");
    // Lower-case x or not, the same identity.
    submit(
        &app,
        &first,
        json!({"kind": "individual", "legal_name": "张三丰", "id_number": resident_id(40)}),
    )
    .await
    .assert_problem(409, "verification.locked");
    // The legal name is not a PATCH /me field.
    app.req(Method::PATCH, "/api/v1/me")
        .bearer(&first.access)
        .json(json!({"legal_name": "别名"}))
        .send()
        .await
        .assert_problem(422, "request.invalid_body");

    let me = app.me(&first.access).await;
    assert_eq!(me.json["verification_status"], "approved");
    let profile = app.get(&format!("/api/v1/users/{}", first.id)).send().await;
    assert_eq!(profile.json["verified"], true);
    assert!(
        app.notification_kinds(&first.access)
            .await
            .contains(&"verification.approved".to_string())
    );
}

#[actix_web::test]
async fn acc8_staff_reject_with_reason_and_user_resubmits() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let moderator = app.staff(Role::Moderator).await;
    let res = submit(
        &app,
        &user,
        json!({"kind": "individual", "legal_name": "张三", "id_number": resident_id(25)}),
    )
    .await;
    let vid = res.json["id"].as_i64().unwrap();

    let queue = app
        .get("/api/v1/admin/verifications?status=pending")
        .bearer(&moderator.access)
        .send()
        .await;
    queue.assert(200);
    assert!(queue.lists(&json!(vid)));
    app.get("/api/v1/admin/verifications")
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");

    let rejected = app
        .post(&format!("/api/v1/admin/verifications/{vid}/reject"))
        .bearer(&moderator.access)
        .json(json!({"reason": "证件照片模糊"}))
        .send()
        .await;
    rejected.assert(200);
    assert_eq!(rejected.json["reject_reason"], "证件照片模糊");
    app.post(&format!("/api/v1/admin/verifications/{vid}/approve"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert_problem(409, "verification.not_pending");

    let notes = app
        .get("/api/v1/me/notifications")
        .bearer(&user.access)
        .send()
        .await;
    let rejection = &notes.json["items"][0];
    assert_eq!(rejection["kind"], "verification.rejected");
    assert!(rejection["body"].as_str().unwrap().contains("证件照片模糊"));
    assert_eq!(rejection["link"], "/api/v1/me/verification");

    submit(
        &app,
        &user,
        json!({"kind": "individual", "legal_name": "张三", "id_number": resident_id(25)}),
    )
    .await
    .assert(201);
    // SVC-2: the decision is audited.
    assert_eq!(
        app.audit_actions("verification", &vid.to_string()).await,
        ["verification.reject"]
    );
}

#[actix_web::test]
async fn acc3_restricted_identities_cannot_verify_or_register() {
    let app = TestApp::new().await;
    let moderator = app.staff(Role::Moderator).await;
    let id = resident_id(35);
    let listed = app
        .post("/api/v1/admin/restricted-identities")
        .bearer(&moderator.access)
        .json(
            json!({"kind": "id_number", "value": id, "reason": "制裁名单", "source": "sanctions"}),
        )
        .send()
        .await;
    listed.assert(201);
    assert!(!listed.text.contains(&id), "stored and shown only masked");
    app.post("/api/v1/admin/restricted-identities")
        .bearer(&moderator.access)
        .json(json!({"kind": "id_number", "value": id.to_lowercase(), "reason": "重复", "source": "other"}))
        .send()
        .await
        .assert_problem(409, "restricted_identity.exists");

    let user = app.user().await;
    submit(
        &app,
        &user,
        json!({"kind": "individual", "legal_name": "赵六", "id_number": id}),
    )
    .await
    .assert_problem(403, "identity.restricted");

    let body = app.registration();
    app.post("/api/v1/admin/restricted-identities")
        .bearer(&moderator.access)
        .json(json!({"kind": "phone", "value": body["phone"], "reason": "制裁名单", "source": "sanctions"}))
        .send()
        .await
        .assert(201);
    app.register_with(body)
        .await
        .assert_problem(403, "identity.restricted");

    let list = app
        .get("/api/v1/admin/restricted-identities")
        .bearer(&moderator.access)
        .send()
        .await;
    assert_eq!(list.json["items"].as_array().unwrap().len(), 2);
    let entry = list.json["items"][1]["id"].as_i64().unwrap();
    app.req(
        Method::DELETE,
        &format!("/api/v1/admin/restricted-identities/{entry}"),
    )
    .bearer(&moderator.access)
    .send()
    .await
    .assert(204);
    submit(
        &app,
        &user,
        json!({"kind": "individual", "legal_name": "赵六", "id_number": id}),
    )
    .await
    .assert(201);
}

#[actix_web::test]
async fn acc11_staff_reads_of_a_user_are_audited_and_masked() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let id = app.verify(&user).await;
    let finance = app.staff(Role::Finance).await;
    let res = app
        .get(&format!("/api/v1/admin/users/{}", user.id))
        .bearer(&finance.access)
        .send()
        .await;
    res.assert(200);
    assert!(
        res.json["user"]["email"].is_string(),
        "staff see contact data"
    );
    assert!(!res.text.contains(&id));
    assert_eq!(res.json["verification"]["status"], "approved");
    let actions = app.audit_actions("user", &user.id.to_string()).await;
    assert!(actions.contains(&"user.view".to_string()), "{actions:?}");
    app.get(&format!("/api/v1/admin/users/{}", user.id))
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
}

#[actix_web::test]
async fn acc8_only_a_staff_recorded_transfer_changes_the_holder() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.verify(&user).await;
    let moderator = app.staff(Role::Moderator).await;
    let admin = app.staff(Role::Admin).await;
    let new_id = resident_id(40);
    let body = json!({"legal_basis": "（2026）沪0115民初12345号民事判决书",
        "identity": {"kind": "individual", "legal_name": "李四", "id_number": new_id}});
    app.post(&format!("/api/v1/admin/users/{}/transfer", user.id))
        .bearer(&moderator.access)
        .json(body.clone())
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
    let res = app
        .post(&format!("/api/v1/admin/users/{}/transfer", user.id))
        .bearer(&admin.access)
        .json(body)
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["status"], "approved");
    assert_eq!(res.json["legal_name"], "李四");
    assert!(!res.text.contains(&new_id));
    // The old holder's sessions end.
    app.me(&user.access)
        .await
        .assert_problem(401, "auth.session_ended");
    let actions = app.audit_actions("user", &user.id.to_string()).await;
    assert!(actions.contains(&"account.transfer".to_string()));
    // Without an approved identity there is nothing to transfer.
    let other = app.user().await;
    app.post(&format!("/api/v1/admin/users/{}/transfer", other.id))
        .bearer(&admin.access)
        .json(json!({"legal_basis": "继承", "identity": {"kind": "individual", "legal_name": "王五", "id_number": resident_id(30)}}))
        .send()
        .await
        .assert_problem(409, "verification.not_verified");
}

#[actix_web::test]
async fn acc6_a_reverify_request_can_be_complied_with_but_the_identity_stays() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let id_number = app.verify(&user).await;
    let submit = |number: String| {
        let app = &app;
        let access = user.access.clone();
        async move {
            app.post("/api/v1/me/verification")
                .bearer(&access)
                .json(json!({"kind": "individual", "legal_name": "张三", "id_number": number}))
                .send()
                .await
        }
    };
    // Without a request the verified identity is locked.
    submit(id_number.clone())
        .await
        .assert_problem(409, "verification.locked");

    let moderator = app.staff(Role::Moderator).await;
    let request = app
        .post(&format!("/api/v1/admin/users/{}/info-requests", user.id))
        .bearer(&moderator.access)
        .json(json!({"kind": "reverify", "message": "请重新完成实名认证"}))
        .send()
        .await;
    request.assert(201);
    let rid = request.json["id"].as_i64().unwrap();
    // Staff see it in their queue.
    let queue = app
        .get("/api/v1/admin/info-requests")
        .bearer(&moderator.access)
        .send()
        .await;
    queue.assert(200);
    assert!(queue.lists(&json!(rid)));
    // The link in the notice works.
    let mine = app
        .get(&format!("/api/v1/me/info-requests/{rid}"))
        .bearer(&user.access)
        .send()
        .await;
    mine.assert(200);
    assert_eq!(mine.json["status"], "open");

    // Another identity is refused; the bound one is accepted for review.
    submit(common::resident_id(40))
        .await
        .assert_problem(409, "verification.identity_mismatch");
    let again = submit(id_number).await;
    again.assert(201);
    let vid = again.json["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/admin/verifications/{vid}/approve"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(200);
    let cleared = app
        .get(&format!("/api/v1/me/info-requests/{rid}"))
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(cleared.json["status"], "cleared");
    // Publishing and bidding are open again (ACC-6 restriction lifted).
    assert_eq!(app.me(&user.access).await.json["restrictions"], json!([]));
}
