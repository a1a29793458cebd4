//! Disputes on awards through HTTP (DSP-1, with DEP-5, DEP-7, DEP-8).

mod common;

use chrono::Duration;
use common::{Account, Deal, TestApp};
use futures_util::future::join;
use serde_json::{Value, json};
use weigongbao::users::models::Role;

async fn deliver(app: &TestApp, d: &Deal) {
    app.post(&format!("/api/v1/awards/{}/deliver", d.award))
        .bearer(&d.provider.access)
        .json(json!({"note": "已完成三天地推。", "evidence": [{"kind": "photo", "url": "https://files.example.com/1.jpg"}]}))
        .send()
        .await
        .assert(200);
}

async fn open(app: &TestApp, who: &Account, award: i64, claim: &str) -> common::Res {
    app.post(&format!("/api/v1/awards/{award}/disputes"))
        .bearer(&who.access)
        .json(json!({
            "category": "not_delivered",
            "claim_amount": claim,
            "statement": "服务商未到场，打卡照片为旧图。",
            "evidence": ["https://files.example.com/old.jpg"]
        }))
        .send()
        .await
}

async fn decide(app: &TestApp, moderator: &Account, id: i64, body: Value) -> common::Res {
    app.post(&format!("/api/v1/admin/disputes/{id}/decision"))
        .bearer(&moderator.access)
        .json(body)
        .send()
        .await
}

async fn confirm(app: &TestApp, d: &Deal) -> common::Res {
    app.post(&format!("/api/v1/awards/{}/confirm", d.award))
        .bearer(&d.employer.access)
        .send()
        .await
}

/// Gives `provider` a paid deposit of `amount` (a staff risk decision).
async fn with_deposit(app: &TestApp, provider: &Account, amount: &str) {
    let finance = app.staff(Role::Finance).await;
    app.set_required(&finance, provider, amount, "风控要求")
        .await
        .assert(200);
    let res = app
        .money_post(
            provider,
            "/api/v1/me/deposit/payments",
            &format!("dep-{}", common::unique()),
            json!({"channel": "sandbox"}),
        )
        .await;
    res.assert(201);
    let id = res.json["id"].as_str().unwrap().to_string();
    app.sandbox_complete(provider, &id, true).await.assert(200);
}

async fn deposit_of(app: &TestApp, user: &Account) -> Value {
    let res = app
        .get("/api/v1/me/deposit")
        .bearer(&user.access)
        .send()
        .await;
    res.assert(200);
    res.json
}

#[actix_web::test]
async fn dsp1_dispute_freezes_confirm_auto_complete_and_cancel_and_only_parties_see_it() {
    let app = TestApp::new().await;
    let d = app.deal().await;
    deliver(&app, &d).await;
    // The claim is bounded by the award price.
    open(&app, &d.employer, d.award, "600.00")
        .await
        .assert_problem(422, "dispute.claim_exceeds_price");
    let outsider = app.verified_user().await;
    open(&app, &outsider, d.award, "100.00").await.assert(404);

    let res = open(&app, &d.employer, d.award, "500.00").await;
    res.assert(201);
    let id = res.json["id"].as_i64().unwrap();
    assert_eq!(res.json["hold_frozen"], true);
    assert_eq!(res.json["status"], "open");
    assert_eq!(res.json["timeline"][0]["kind"], "opened");
    assert_eq!(res.json["timeline"][0]["role"], "employer");
    open(&app, &d.provider, d.award, "100.00")
        .await
        .assert_problem(409, "dispute.exists");
    assert!(
        app.notification_kinds(&d.provider.access)
            .await
            .contains(&"dispute.opened".to_string())
    );

    // Frozen: no confirmation, no cancellation, no auto-completion.
    confirm(&app, &d)
        .await
        .assert_problem(409, "award.disputed");
    app.post(&format!("/api/v1/demands/{}/cancel", d.demand))
        .bearer(&d.employer.access)
        .send()
        .await
        .assert_problem(409, "award.disputed");
    app.clock.advance(Duration::days(8));
    assert_eq!(app.run_jobs().await.awards_auto_completed, 0);
    let employer = app.relog(&d.employer).await;
    let provider = app.relog(&d.provider).await;
    let outsider = app.relog(&outsider).await;
    assert_eq!(
        app.balances(&employer).await,
        ("500.00".to_string(), "500.00".to_string())
    );

    // Only the parties and staff see it.
    app.get(&format!("/api/v1/disputes/{id}"))
        .bearer(&outsider.access)
        .send()
        .await
        .assert_problem(404, "dispute.not_found");
    app.post(&format!("/api/v1/disputes/{id}/statements"))
        .bearer(&outsider.access)
        .json(json!({"text": "路过"}))
        .send()
        .await
        .assert(404);
    let moderator = app.staff(Role::Moderator).await;
    app.get(&format!("/api/v1/disputes/{id}"))
        .bearer(&moderator.access)
        .send()
        .await
        .assert(200);
    let res = app
        .post(&format!("/api/v1/disputes/{id}/statements"))
        .bearer(&provider.access)
        .json(json!({"text": "已按时到场，附定位打卡。", "evidence": ["https://files.example.com/gps.png"]}))
        .send()
        .await;
    res.assert(201);
    assert!(res.json["responded_at"].is_string());
    let kinds: Vec<&str> = res.json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    // The 4-day window passed before the answer: silence was recorded first.
    assert_eq!(kinds, ["opened", "silence", "statement"]);
    let queue = app
        .get("/api/v1/admin/disputes")
        .bearer(&moderator.access)
        .send()
        .await;
    assert!(queue.lists(&json!(id)));
}

#[actix_web::test]
async fn dsp1_silence_is_recorded_and_undecided_disputes_escalate_never_close() {
    let app = TestApp::new().await;
    let d = app.deal().await;
    let moderator = app.staff(Role::Moderator).await;
    let res = open(&app, &d.provider, d.award, "100.00").await;
    res.assert(201);
    let id = res.json["id"].as_i64().unwrap();
    app.clock.advance(Duration::days(3));
    assert_eq!(app.run_jobs().await.dispute_silences_recorded, 0);
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    let report = app.run_jobs().await;
    assert_eq!(report.dispute_silences_recorded, 1);
    assert_eq!(app.run_jobs().await.dispute_silences_recorded, 0);
    app.clock.advance(Duration::days(56));
    let report = app.run_jobs().await;
    assert_eq!(report.disputes_escalated, 1);
    assert_eq!(app.run_jobs().await.disputes_escalated, 0);
    let moderator = app.relog(&moderator).await;
    let view = app
        .get(&format!("/api/v1/disputes/{id}"))
        .bearer(&moderator.access)
        .send()
        .await;
    view.assert(200);
    assert_eq!(view.json["silence_recorded"], true);
    assert_eq!(view.json["escalated"], true);
    assert_eq!(view.json["status"], "open");
    assert_eq!(view.json["hold_frozen"], true);
    assert!(
        app.notification_kinds(&moderator.access)
            .await
            .contains(&"dispute.escalated".to_string())
    );
    let flagged = app
        .get("/api/v1/admin/disputes?escalated=true")
        .bearer(&moderator.access)
        .send()
        .await;
    assert_eq!(flagged.json["items"][0]["id"], id);
}

#[actix_web::test]
async fn dsp1_split_decision_moves_exactly_the_decided_amounts() {
    let app = TestApp::new().await;
    let d = app.deal().await;
    let res = open(&app, &d.employer, d.award, "500.00").await;
    let id = res.json["id"].as_i64().unwrap();
    let moderator = app.staff(Role::Moderator).await;
    // An outcome that does not fit the hold changes nothing.
    decide(
        &app,
        &moderator,
        id,
        json!({"outcome": "none", "reason": "无"}),
    )
    .await
    .assert_problem(409, "dispute.decision_invalid");
    decide(
        &app,
        &moderator,
        id,
        json!({"outcome": "split", "provider_amount": "500.00", "reason": "全额"}),
    )
    .await
    .assert_problem(409, "dispute.decision_invalid");
    let res = decide(
        &app,
        &moderator,
        id,
        json!({"outcome": "split", "provider_amount": "200.00", "reason": "完成约四成工作量"}),
    )
    .await;
    res.assert(200);
    assert_eq!(res.json["status"], "decided");
    assert_eq!(res.json["outcome"], "split");
    decide(
        &app,
        &moderator,
        id,
        json!({"outcome": "refund", "reason": "再裁"}),
    )
    .await
    .assert_problem(409, "dispute.closed");
    // 200.00 to the provider less the 5% fee (10.00); 300.00 back.
    assert_eq!(
        app.balances(&d.employer).await,
        ("800.00".to_string(), "0.00".to_string())
    );
    assert_eq!(
        app.balances(&d.provider).await,
        ("190.00".to_string(), "0.00".to_string())
    );
    let award = app
        .get(&format!("/api/v1/awards/{}", d.award))
        .bearer(&d.employer.access)
        .send()
        .await;
    assert_eq!(award.json["status"], "completed");
    let demand = app
        .get(&format!("/api/v1/demands/{}", d.demand))
        .bearer(&d.employer.access)
        .send()
        .await;
    assert_eq!(demand.json["status"], "completed");
    for party in [&d.employer, &d.provider] {
        assert!(
            app.notification_kinds(&party.access)
                .await
                .contains(&"dispute.decided".to_string())
        );
    }
    assert!(
        app.audit_actions("dispute", &id.to_string())
            .await
            .contains(&"dispute.decide".to_string())
    );
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[actix_web::test]
async fn dsp1_dep5_claim_from_the_deposit_lowers_it_sends_top_up_notice_and_is_appealable() {
    let app = TestApp::new().await;
    let d = app.deal().await;
    with_deposit(&app, &d.provider, "1000.00").await;
    let res = open(&app, &d.employer, d.award, "500.00").await;
    let id = res.json["id"].as_i64().unwrap();
    let moderator = app.staff(Role::Moderator).await;
    // More than claimed: refused, nothing moves.
    decide(
        &app,
        &moderator,
        id,
        json!({"outcome": "refund", "claim": {"amount": "600.00", "from": "provider_deposit"}, "reason": "x"}),
    )
    .await
    .assert_problem(422, "dispute.claim_exceeds");
    assert_eq!(deposit_of(&app, &d.provider).await["balance"], "1000.00");
    let res = decide(
        &app,
        &moderator,
        id,
        json!({
            "outcome": "refund",
            "claim": {"amount": "300.00", "from": "provider_deposit"},
            "reason": "服务商未到场，造成雇主活动损失"
        }),
    )
    .await;
    res.assert(200);
    // The hold went back and the claim came from the deposit.
    assert_eq!(
        app.balances(&d.employer).await,
        ("1300.00".to_string(), "0.00".to_string())
    );
    let dep = deposit_of(&app, &d.provider).await;
    assert_eq!(dep["balance"], "700.00");
    assert_eq!(dep["status"], "top_up_due");
    assert!(
        app.notification_kinds(&d.provider.access)
            .await
            .contains(&"deposit.top_up_required".to_string())
    );
    // DEP-5: a recorded violation the provider can appeal.
    let mine = app
        .get("/api/v1/me/violations")
        .bearer(&d.provider.access)
        .send()
        .await;
    let v = &mine.json["items"][0];
    assert_eq!(v["measures"][0]["kind"], "deduct_penalty");
    assert_eq!(v["measures"][0]["amount"], "300.00");
    assert_eq!(v["can_appeal"], true);
    let award = app
        .get(&format!("/api/v1/awards/{}", d.award))
        .bearer(&d.employer.access)
        .send()
        .await;
    assert_eq!(award.json["status"], "cancelled");
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn dep8_a_deposit_does_not_waive_a_claim_from_the_providers_funds() {
    let app = TestApp::new().await;
    let d = app.deal().await;
    with_deposit(&app, &d.provider, "1000.00").await;
    app.fund(&d.provider, "200.00").await;
    let id = open(&app, &d.employer, d.award, "500.00").await.json["id"]
        .as_i64()
        .unwrap();
    let moderator = app.staff(Role::Moderator).await;
    // More than the provider's funds: refused, nothing moves.
    decide(
        &app,
        &moderator,
        id,
        json!({"outcome": "refund", "claim": {"amount": "300.00", "from": "provider_funds"}, "reason": "赔偿"}),
    )
    .await
    .assert_problem(409, "funds.insufficient");
    assert_eq!(
        app.balances(&d.employer).await,
        ("500.00".to_string(), "500.00".to_string())
    );
    decide(
        &app,
        &moderator,
        id,
        json!({"outcome": "refund", "claim": {"amount": "150.00", "from": "provider_funds"}, "reason": "赔偿"}),
    )
    .await
    .assert(200);
    assert_eq!(app.balances(&d.provider).await.0, "50.00");
    assert_eq!(app.balances(&d.employer).await.0, "1150.00");
    assert_eq!(deposit_of(&app, &d.provider).await["balance"], "1000.00");
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn dsp1_confirm_racing_a_dispute_ends_in_one_consistent_state() {
    let app = TestApp::new().await;
    for _ in 0..4 {
        let d = app.deal().await;
        deliver(&app, &d).await;
        let (confirmed, disputed) = join(
            confirm(&app, &d),
            open(&app, &d.provider, d.award, "100.00"),
        )
        .await;
        let award = app
            .get(&format!("/api/v1/awards/{}", d.award))
            .bearer(&d.employer.access)
            .send()
            .await;
        let status = award.json["status"].as_str().unwrap().to_string();
        match status.as_str() {
            "completed" => {
                // Confirmation won: paid out once; a dispute after completion
                // (allowed for 14 days) freezes nothing.
                confirmed.assert(200);
                assert_eq!(app.balances(&d.provider).await.0, "475.00");
                assert_eq!(app.balances(&d.employer).await.1, "0.00");
                if disputed.status == 201 {
                    assert_eq!(disputed.json["hold_frozen"], false);
                }
            }
            "disputed" => {
                disputed.assert(201);
                confirmed.assert_problem(409, "award.disputed");
                assert_eq!(app.balances(&d.employer).await.1, "500.00");
                assert_eq!(app.balances(&d.provider).await.0, "0.00");
            }
            other => panic!("unexpected award status {other}"),
        }
    }
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn dsp1_dep7_open_dispute_blocks_refund_and_closure_and_extends_observation() {
    let app = TestApp::new().await;
    let d = app.deal().await;
    deliver(&app, &d).await;
    confirm(&app, &d).await.assert(200);
    with_deposit(&app, &d.provider, "500.00").await;
    // A dispute within 14 days of completion: nothing held, but it blocks.
    let first = open(&app, &d.employer, d.award, "200.00").await;
    first.assert(201);
    assert_eq!(first.json["hold_frozen"], false);
    let blocked = app
        .post("/api/v1/me/deposit/refund-request")
        .bearer(&d.provider.access)
        .json(app.refund_body(&d.provider).await)
        .send()
        .await;
    blocked.assert_problem(409, "deposit.refund_blocked");
    assert_eq!(blocked.json["blocking"][0]["code"], "dispute_open");
    let closure = app
        .post("/api/v1/me/closure-request")
        .bearer(&d.provider.access)
        .json(json!({}))
        .send()
        .await;
    assert!(closure.text.contains("dispute_open"), "{}", closure.text);
    let moderator = app.staff(Role::Moderator).await;
    decide(
        &app,
        &moderator,
        first.json["id"].as_i64().unwrap(),
        json!({"outcome": "none", "reason": "证据不足，驳回"}),
    )
    .await
    .assert(200);
    app.post("/api/v1/me/deposit/refund-request")
        .bearer(&d.provider.access)
        .json(app.refund_body(&d.provider).await)
        .send()
        .await
        .assert(201);
    // A new dispute during the observation extends it to 30 days from then.
    app.clock.advance(Duration::days(5));
    let employer = app.relog(&d.employer).await;
    let provider = app.relog(&d.provider).await;
    let before = app.clock_now();
    open(&app, &employer, d.award, "100.00").await.assert(201);
    let opened_at = app.clock_now();
    let dep = deposit_of(&app, &provider).await;
    let ends: chrono::DateTime<chrono::Utc> = dep["refund"]["observation_ends_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // The server took its time during the request: between the two reads.
    assert!(
        before + Duration::days(30) - Duration::seconds(1) <= ends
            && ends <= opened_at + Duration::days(30) + Duration::seconds(1)
    );
    // The end passes with the dispute still open: no payout.
    app.clock.advance(Duration::days(31));
    assert_eq!(app.run_jobs().await.deposit_refunds_started, 0);
}
