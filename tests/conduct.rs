//! Complaints, violations, measures, appeals and the security deposit
//! through HTTP (VIO-1..VIO-6, DEP-1..DEP-8), on the clock the rules count.

mod common;

use chrono::{Datelike, Duration, FixedOffset, NaiveTime, TimeZone, Utc, Weekday};
use common::{Account, TestApp};
use serde_json::{Value, json};
use weigongbao::users::models::Role;

async fn complain(app: &TestApp, who: &Account, body: Value) -> common::Res {
    app.post("/api/v1/complaints")
        .bearer(&who.access)
        .json(body)
        .send()
        .await
}

async fn violation(app: &TestApp, moderator: &Account, body: Value) -> common::Res {
    app.post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(body)
        .send()
        .await
}

fn breach(user_id: i64) -> Value {
    json!({
        "user_id": user_id,
        "category": "refused_contact",
        "source": "complaint",
        "facts": "中标后删除雇主微信，两天未回复。",
        "decision": "违反服务商行为规范：拒绝联系雇主",
        "public": true,
    })
}

async fn deposit(app: &TestApp, user: &Account) -> Value {
    let res = app
        .get("/api/v1/me/deposit")
        .bearer(&user.access)
        .send()
        .await;
    res.assert(200);
    res.json
}

/// Pays what is due on the deposit through the sandbox.
async fn pay_deposit(app: &TestApp, user: &Account) -> Value {
    let res = app
        .money_post(
            user,
            "/api/v1/me/deposit/payments",
            &format!("dep-{}", common::unique()),
            json!({"channel": "sandbox"}),
        )
        .await;
    res.assert(201);
    let id = res.json["id"].as_str().unwrap().to_string();
    app.sandbox_complete(user, &id, true).await.assert(200);
    res.json
}

async fn try_bid(app: &TestApp, provider: &Account, demand: i64) -> common::Res {
    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&provider.access)
        .json(json!({"price": "300.00", "proposal": "三年地推经验，周末全天。"}))
        .send()
        .await
}

/// 24:00 China time at the end of the China date `days` after `from`'s.
fn china_end_of_day_after(from: chrono::DateTime<Utc>, days: i64) -> chrono::DateTime<Utc> {
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    let day = from.with_timezone(&china).date_naive() + Duration::days(days + 1);
    china
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .unwrap()
        .with_timezone(&Utc)
}

/// Whether two instants are within a second (requests take time).
/// Whether `a` lies between `from` and `to` (a second's slack each side for
/// stored precision): the server took its time during the request, which
/// the test brackets with the clock read before and after it.
fn within(
    a: chrono::DateTime<Utc>,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
) -> bool {
    from - Duration::seconds(1) <= a && a <= to + Duration::seconds(1)
}

/// A demand open for bids for 30 days.
fn long_demand(app: &TestApp, title: &str) -> Value {
    let mut body = app.demand_body(title, "500.00", 1);
    body["bid_deadline"] = json!((app.clock_now() + Duration::days(30)).to_rfc3339());
    body
}

fn at(v: &Value) -> chrono::DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

async fn fen_of(app: &TestApp, code: &str) -> i64 {
    use diesel::prelude::*;
    use weigongbao::platform::db::schema::ledger_accounts;
    let mut conn = app.state.pool.get().unwrap();
    ledger_accounts::table
        .filter(ledger_accounts::code.eq(code))
        .select(ledger_accounts::balance)
        .first(&mut conn)
        .optional()
        .unwrap()
        .unwrap_or(0)
}

async fn notice_bodies(app: &TestApp, user: &Account, kind: &str) -> Vec<String> {
    let res = app
        .get("/api/v1/me/notifications?limit=100")
        .bearer(&user.access)
        .send()
        .await;
    res.assert(200);
    res.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .map(|n| n["body"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn vio1_complaints_about_award_parties_and_reports_with_duplicates_refused() {
    let app = TestApp::new().await;
    let d = app.deal().await;
    let outsider = app.user().await;
    let body = json!({
        "target_type": "award",
        "target_id": d.award,
        "category": "refused_contact",
        "text": "中标后服务商删除了我的微信。",
        "evidence": ["https://files.example.com/chat.png"]
    });
    let res = complain(&app, &d.employer, body.clone()).await;
    res.assert(201);
    assert_eq!(res.json["kind"], "complaint");
    assert_eq!(res.json["subject_id"], d.provider.id);
    assert_eq!(res.json["status"], "open");
    let first = res.json["id"].as_i64().unwrap();
    // The same reporter, the same target, still open: refused.
    complain(&app, &d.employer, body.clone())
        .await
        .assert_problem(409, "complaint.duplicate");
    // Someone outside the award cannot complain about it (and cannot see it).
    complain(&app, &outsider, body.clone())
        .await
        .assert_problem(404, "complaint.target_not_found");
    // Bad evidence changes nothing.
    let mut bad = body.clone();
    bad["target_type"] = json!("user");
    bad["target_id"] = json!(d.employer.id);
    bad["evidence"] = json!(["ftp://files.example.com/x"]);
    complain(&app, &outsider, bad).await.assert(422);
    // Reports of a user and of a demand (about its publisher).
    let res = complain(
        &app,
        &outsider,
        json!({"target_type": "user", "target_id": d.provider.id, "category": "fraudulent_demand", "text": "冒充平台客服。"}),
    )
    .await;
    res.assert(201);
    assert_eq!(res.json["kind"], "report");
    let res = complain(
        &app,
        &outsider,
        json!({"target_type": "demand", "target_id": d.demand, "category": "prohibited_content", "text": "需求内容涉嫌违规。"}),
    )
    .await;
    res.assert(201);
    assert_eq!(res.json["subject_id"], d.employer.id);
    complain(
        &app,
        &outsider,
        json!({"target_type": "user", "target_id": outsider.id, "category": "other", "text": "自己"}),
    )
    .await
    .assert_problem(409, "complaint.self");

    let mine = app
        .get("/api/v1/me/complaints")
        .bearer(&outsider.access)
        .send()
        .await;
    mine.assert(200);
    assert_eq!(mine.json["items"].as_array().unwrap().len(), 2);

    // Moderators triage: the queue, then a dismissal the reporter hears of.
    let moderator = app.staff(Role::Moderator).await;
    app.get("/api/v1/admin/complaints")
        .bearer(&d.provider.access)
        .send()
        .await
        .assert(403);
    let queue = app
        .get("/api/v1/admin/complaints?status=open&limit=100")
        .bearer(&moderator.access)
        .send()
        .await;
    queue.assert(200);
    assert!(
        queue.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == first && c["reporter_id"] == d.employer.id)
    );
    let res = app
        .post(&format!("/api/v1/admin/complaints/{first}/dismissal"))
        .bearer(&moderator.access)
        .json(json!({"reason": "证据不足"}))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["status"], "dismissed");
    assert!(
        app.notification_kinds(&d.employer.access)
            .await
            .contains(&"complaint.dismissed".to_string())
    );
    assert!(
        app.audit_actions("complaint", &first.to_string())
            .await
            .contains(&"complaint.dismiss".to_string())
    );
    // Once handled, a new complaint about the same award is accepted.
    complain(&app, &d.employer, body).await.assert(201);
}

#[actix_web::test]
async fn vio4_dep1_dep2_breach_requires_deposit_due_in_three_china_days_and_paying_restores_bidding()
 {
    let app = TestApp::new().await;
    let d = app.deal().await;
    let employer2 = app.verified_user().await;
    let open = app
        .demand(&employer2, app.demand_body("商场地推", "600.00", 2))
        .await;
    let earlier_bid = app.bid(&d.provider, open, "300.00").await;
    // DEP-1: nothing is required at registration.
    let dep = deposit(&app, &d.provider).await;
    assert_eq!(dep["status"], "not_required");
    assert_eq!(dep["required"], "0.00");
    app.money_post(
        &d.provider,
        "/api/v1/me/deposit/payments",
        "nothing-due",
        json!({"channel": "sandbox"}),
    )
    .await
    .assert_problem(409, "deposit.nothing_due");

    let complaint = complain(
        &app,
        &d.employer,
        json!({"target_type": "award", "target_id": d.award, "category": "refused_contact", "text": "联系不上服务商。"}),
    )
    .await;
    complaint.assert(201);
    let moderator = app.staff(Role::Moderator).await;
    let mut body = breach(d.provider.id);
    body["complaint_ids"] = json!([complaint.json["id"]]);
    let decided_at = app.clock_now();
    let res = violation(&app, &moderator, body).await;
    res.assert(201);
    assert!(
        res.json["measures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "require_deposit" && m["amount"] == "1000.00")
    );
    // The complaint is settled by the violation.
    let mine = app
        .get("/api/v1/me/complaints")
        .bearer(&d.employer.access)
        .send()
        .await;
    assert_eq!(mine.json["items"][0]["status"], "actioned");

    // DEP-2: 1000.00 due by the end of the third China calendar day.
    let dep = deposit(&app, &d.provider).await;
    assert_eq!(dep["required"], "1000.00");
    assert_eq!(dep["balance"], "0.00");
    assert_eq!(dep["status"], "payment_due");
    assert_eq!(dep["accepting_orders"], false);
    assert_eq!(at(&dep["due_at"]), china_end_of_day_after(decided_at, 3));
    let notices = notice_bodies(&app, &d.provider, "deposit.required").await;
    assert_eq!(notices.len(), 1);
    assert!(notices[0].contains("1000.00"), "{}", notices[0]);

    // Orders shielded: bidding refused, earlier bid hidden from the employer.
    try_bid(&app, &d.provider, d.demand).await; // the awarded demand is closed anyway
    let fresh = app
        .demand(&employer2, app.demand_body("社区推广", "900.00", 1))
        .await;
    try_bid(&app, &d.provider, fresh)
        .await
        .assert_problem(403, "deposit.required");
    let bids = app
        .get(&format!("/api/v1/demands/{open}/bids"))
        .bearer(&employer2.access)
        .send()
        .await;
    bids.assert(200);
    assert!(!bids.lists(&json!(earlier_bid)));
    let profile = app
        .get(&format!("/api/v1/users/{}", d.provider.id))
        .send()
        .await;
    assert_eq!(profile.json["accepting_orders"], false);

    // Paid in full: order-taking restored at once.
    let key = format!("dep-{}", common::unique());
    let first = app
        .money_post(
            &d.provider,
            "/api/v1/me/deposit/payments",
            &key,
            json!({"channel": "sandbox"}),
        )
        .await;
    first.assert(201);
    assert_eq!(first.json["amount"], "1000.00");
    let again = app
        .money_post(
            &d.provider,
            "/api/v1/me/deposit/payments",
            &key,
            json!({"channel": "sandbox"}),
        )
        .await;
    assert_eq!(again.json["id"], first.json["id"]);
    let pid = first.json["id"].as_str().unwrap().to_string();
    app.sandbox_complete(&d.provider, &pid, true)
        .await
        .assert(200);
    // A replayed callback moves nothing again.
    app.sandbox_complete(&d.provider, &pid, true)
        .await
        .assert(200);
    let dep = deposit(&app, &d.provider).await;
    assert_eq!(dep["balance"], "1000.00");
    assert_eq!(dep["status"], "active");
    assert_eq!(dep["accepting_orders"], true);
    try_bid(&app, &d.provider, fresh).await.assert(201);
    let tx = app
        .get("/api/v1/me/deposit/transactions")
        .bearer(&d.provider.access)
        .send()
        .await;
    let items = tx.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["amount"], "1000.00");
    assert_eq!(items[0]["account"], "deposit");
    // Funds and deposit are separate accounts.
    assert_eq!(app.balances(&d.provider).await.0, "0.00");
    assert!(
        app.notification_kinds(&d.provider.access)
            .await
            .contains(&"deposit.paid".to_string())
    );
    assert_eq!(app.ledger_check().await["ok"], true);

    // DEP-6: a year later the balance is what was paid; no interest.
    app.clock.advance(Duration::days(365));
    app.run_jobs().await;
    let finance = app.staff(Role::Finance).await;
    let dep = app
        .get(&format!("/api/v1/admin/users/{}/deposit", d.provider.id))
        .bearer(&finance.access)
        .send()
        .await;
    assert_eq!(dep.json["balance"], "1000.00");
}

#[actix_web::test]
async fn vio4_missed_deadline_flags_deposit_overdue_and_a_late_payment_does_not_reopen() {
    let app = TestApp::new().await;
    let provider = app.verified_user().await;
    let employer = app.verified_user().await;
    let moderator = app.staff(Role::Moderator).await;
    violation(&app, &moderator, breach(provider.id))
        .await
        .assert(201);
    // Not yet: two days later nothing changes.
    app.clock.advance(Duration::days(2));
    assert_eq!(app.run_jobs().await.deposits_overdue, 0);
    app.clock.advance(Duration::days(2));
    assert_eq!(app.run_jobs().await.deposits_overdue, 1);
    assert_eq!(app.run_jobs().await.deposits_overdue, 0);
    let provider = app.relog(&provider).await;
    let employer = app.relog(&employer).await;
    let finance = app.staff(Role::Finance).await;
    let dep = deposit(&app, &provider).await;
    assert_eq!(dep["status"], "overdue");
    assert_eq!(dep["deposit_overdue"], true);
    assert!(
        app.notification_kinds(&provider.access)
            .await
            .contains(&"deposit.overdue".to_string())
    );
    let staff_view = app
        .get(&format!("/api/v1/admin/users/{}/deposit", provider.id))
        .bearer(&finance.access)
        .send()
        .await;
    staff_view.assert(200);
    assert_eq!(staff_view.json["deposit_overdue"], true);
    let record = app
        .get(&format!("/api/v1/admin/users/{}", provider.id))
        .bearer(&finance.access)
        .send()
        .await;
    record.assert(200);
    assert_eq!(record.json["deposit_overdue"], true);
    assert_eq!(record.json["deposit_status"], "overdue");

    // Paying late fills the deposit but does not reopen order-taking.
    pay_deposit(&app, &provider).await;
    let dep = deposit(&app, &provider).await;
    assert_eq!(dep["balance"], "1000.00");
    assert_eq!(dep["status"], "overdue");
    let demand = app
        .demand(&employer, app.demand_body("地推", "500.00", 1))
        .await;
    try_bid(&app, &provider, demand)
        .await
        .assert_problem(403, "deposit.overdue");
    // Finance staff reinstate it, with a reason (audited).
    let res = app
        .post(&format!(
            "/api/v1/admin/users/{}/deposit/reinstatement",
            provider.id
        ))
        .bearer(&finance.access)
        .json(json!({"reason": "已补缴，恢复接单"}))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["status"], "active");
    try_bid(&app, &provider, demand).await.assert(201);
    assert!(
        app.audit_actions("user", &provider.id.to_string())
            .await
            .contains(&"deposit.reinstate".to_string())
    );
}

#[actix_web::test]
async fn dep5_vio5_vio6_deduction_notice_then_upheld_appeal_returns_the_money() {
    let app = TestApp::new().await;
    let provider = app.verified_user().await;
    let employer = app.verified_user().await;
    let moderator = app.staff(Role::Moderator).await;
    violation(&app, &moderator, breach(provider.id))
        .await
        .assert(201);
    pay_deposit(&app, &provider).await;
    // A penalty larger than the deposit: refused, nothing recorded.
    let too_much = json!({
        "user_id": provider.id, "category": "other", "source": "inspection",
        "facts": "抽查发现虚假打卡。", "decision": "扣除违约金",
        "measures": [{"kind": "deduct_penalty", "amount": "1500.00", "from": "deposit"}]
    });
    violation(&app, &moderator, too_much)
        .await
        .assert_problem(409, "deposit.insufficient_balance");
    let listed = app
        .get("/api/v1/me/violations")
        .bearer(&provider.access)
        .send()
        .await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1);

    let res = violation(
        &app,
        &moderator,
        json!({
            "user_id": provider.id, "category": "other", "source": "inspection",
            "facts": "抽查发现虚假打卡。", "decision": "虚假打卡，扣除违约金",
            "measures": [{"kind": "deduct_penalty", "amount": "200.00", "from": "deposit"}]
        }),
    )
    .await;
    res.assert(201);
    let vid = res.json["id"].as_i64().unwrap();
    assert_eq!(res.json["can_appeal"], true);
    assert_eq!(fen_of(&app, "platform:penalties").await, 20_000);
    // VIO-5: the notice states the reason and the amount.
    let notices = notice_bodies(&app, &provider, "violation.measure").await;
    assert!(
        notices
            .iter()
            .any(|b| b.contains("200.00") && b.contains("虚假打卡")),
        "{notices:?}"
    );
    // DEP-3: below the requirement → top-up notice with a deadline;
    // order-taking continues meanwhile.
    let dep = deposit(&app, &provider).await;
    assert_eq!(dep["balance"], "800.00");
    assert_eq!(dep["shortfall"], "200.00");
    assert_eq!(dep["status"], "top_up_due");
    assert!(dep["due_at"].is_string());
    let top_up = notice_bodies(&app, &provider, "deposit.top_up_required").await;
    assert!(top_up[0].contains("200.00"), "{top_up:?}");
    let demand = app
        .demand(&employer, app.demand_body("地推", "500.00", 1))
        .await;
    try_bid(&app, &provider, demand).await.assert(201);

    // VIO-6: one appeal, within the window.
    let appeal = app
        .post(&format!("/api/v1/violations/{vid}/appeals"))
        .bearer(&provider.access)
        .json(json!({"text": "打卡为系统定位误差，附截图。", "evidence": ["https://files.example.com/gps.png"]}))
        .send()
        .await;
    appeal.assert(201);
    let appeal_id = appeal.json["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/violations/{vid}/appeals"))
        .bearer(&provider.access)
        .json(json!({"text": "再次申诉"}))
        .send()
        .await
        .assert_problem(409, "appeal.exists");
    // Someone else's violation: not found.
    app.post(&format!("/api/v1/violations/{vid}/appeals"))
        .bearer(&employer.access)
        .json(json!({"text": "我也申诉"}))
        .send()
        .await
        .assert(404);
    // DEP-7: a penalty under appeal blocks the refund.
    let blocked = app
        .post("/api/v1/me/deposit/refund-request")
        .bearer(&provider.access)
        .json(app.refund_body(&provider).await)
        .send()
        .await;
    blocked.assert_problem(409, "deposit.refund_blocked");
    assert!(blocked.text.contains("penalty_under_appeal"));

    let queue = app
        .get("/api/v1/admin/appeals")
        .bearer(&moderator.access)
        .send()
        .await;
    assert!(queue.lists(&json!(appeal_id)));
    let res = app
        .post(&format!("/api/v1/admin/appeals/{appeal_id}/decision"))
        .bearer(&moderator.access)
        .json(json!({"outcome": "upheld", "reason": "定位误差属实"}))
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["status"], "upheld");
    app.post(&format!("/api/v1/admin/appeals/{appeal_id}/decision"))
        .bearer(&moderator.access)
        .json(json!({"outcome": "rejected", "reason": "改判"}))
        .send()
        .await
        .assert_problem(409, "appeal.decided");
    // The money is back by a reversing entry; the measure is revoked.
    let dep = deposit(&app, &provider).await;
    assert_eq!(dep["balance"], "1000.00");
    assert_eq!(dep["status"], "active");
    assert_eq!(fen_of(&app, "platform:penalties").await, 0);
    let tx = app
        .get("/api/v1/me/deposit/transactions")
        .bearer(&provider.access)
        .send()
        .await;
    assert_eq!(tx.json["items"][0]["kind"], "reversal");
    assert_eq!(tx.json["items"][0]["amount"], "200.00");
    let listed = app
        .get("/api/v1/me/violations")
        .bearer(&provider.access)
        .send()
        .await;
    let v = &listed.json["items"][0];
    assert_eq!(v["id"], vid);
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["measures"][0]["status"], "revoked");
    assert_eq!(v["appeal"]["status"], "upheld");
    assert!(
        app.notification_kinds(&provider.access)
            .await
            .contains(&"appeal.upheld".to_string())
    );
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn vio6_appeal_window_closes_after_seven_days() {
    let app = TestApp::new().await;
    let provider = app.verified_user().await;
    let moderator = app.staff(Role::Moderator).await;
    let res = violation(
        &app,
        &moderator,
        json!({"user_id": provider.id, "category": "other", "source": "system_sampling",
               "facts": "自动化访问", "decision": "警告", "measures": []}),
    )
    .await;
    res.assert(201);
    let vid = res.json["id"].as_i64().unwrap();
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let provider = app.relog(&provider).await;
    app.post(&format!("/api/v1/violations/{vid}/appeals"))
        .bearer(&provider.access)
        .json(json!({"text": "申诉"}))
        .send()
        .await
        .assert_problem(409, "appeal.window_closed");
}

#[actix_web::test]
async fn dep3_missed_top_up_suspends_order_taking_and_hides_the_provider() {
    let app = TestApp::new().await;
    let provider = app.verified_user().await;
    let employer = app.verified_user().await;
    let finance = app.staff(Role::Finance).await;
    // DEP-4: a staff risk decision requires a deposit.
    let res = app
        .set_required(&finance, &provider, "500.00", "近 30 天投诉量异常")
        .await;
    res.assert(200);
    assert_eq!(res.json["status"], "payment_due");
    pay_deposit(&app, &provider).await;
    assert_eq!(deposit(&app, &provider).await["status"], "active");
    // Raised: the balance is now short → a top-up notice and deadline.
    let res = app
        .set_required(&finance, &provider, "800.00", "成交量异常")
        .await;
    res.assert(200);
    assert_eq!(res.json["status"], "top_up_due");
    assert_eq!(res.json["shortfall"], "300.00");
    let kinds = app.notification_kinds(&provider.access).await;
    assert!(kinds.contains(&"deposit.top_up_required".to_string()));
    assert!(kinds.contains(&"deposit.required_amount_changed".to_string()));
    assert!(
        app.audit_actions("user", &provider.id.to_string())
            .await
            .contains(&"deposit.set_required".to_string())
    );
    // Moderators cannot change deposits.
    let moderator = app.staff(Role::Moderator).await;
    app.set_required(&moderator, &provider, "0", "x")
        .await
        .assert(403);

    let demand = app.demand(&employer, long_demand(&app, "地推")).await;
    let bid = app.bid(&provider, demand, "300.00").await;
    app.clock.advance(Duration::days(4));
    assert_eq!(app.run_jobs().await.deposits_overdue, 1);
    let provider = app.relog(&provider).await;
    let employer = app.relog(&employer).await;
    try_bid(&app, &provider, demand)
        .await
        .assert_problem(403, "deposit.overdue");
    let bids = app
        .get(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&employer.access)
        .send()
        .await;
    assert!(!bids.lists(&json!(bid)));
    // Awarding a hidden provider's bid is refused too.
    app.post(&format!("/api/v1/demands/{demand}/awards"))
        .bearer(&employer.access)
        .json(json!({"bid_ids": [bid]}))
        .send()
        .await
        .assert_problem(409, "bid.provider_unavailable");
}

#[actix_web::test]
async fn vio3_suspension_credit_points_and_published_decisions() {
    let app = TestApp::new().await;
    let provider = app.verified_user().await;
    let employer = app.verified_user().await;
    app.fund(&provider, "100.00").await;
    let moderator = app.staff(Role::Moderator).await;
    let res = violation(
        &app,
        &moderator,
        json!({
            "user_id": provider.id, "category": "automated_access", "source": "system_sampling",
            "facts": "脚本批量竞标。", "decision": "自动化刷单，暂停竞标与提现 7 天，扣 10 分",
            "public": true,
            "measures": [
                {"kind": "suspend", "services": ["bidding", "withdrawal", "publishing"], "days": 7},
                {"kind": "deduct_credit", "points": 10},
                {"kind": "restrict_marketing"}
            ]
        }),
    )
    .await;
    res.assert(201);
    let vid = res.json["id"].as_i64().unwrap();
    assert_eq!(res.json["measures"].as_array().unwrap().len(), 3);
    // VIO-5: a notice per measure.
    assert_eq!(
        notice_bodies(&app, &provider, "violation.measure")
            .await
            .len(),
        3
    );
    assert!(
        app.audit_actions("user", &provider.id.to_string())
            .await
            .contains(&"violation.record".to_string())
    );
    let demand = app.demand(&employer, long_demand(&app, "地推")).await;
    try_bid(&app, &provider, demand)
        .await
        .assert_problem(403, "conduct.suspended");
    app.money_post(
        &provider,
        "/api/v1/me/account/withdrawals",
        "w-suspended",
        app.withdraw_body(&provider, "10.00").await,
    )
    .await
    .assert_problem(403, "conduct.suspended");
    app.post("/api/v1/demands")
        .bearer(&provider.access)
        .json(app.demand_body("我的需求", "100.00", 1))
        .send()
        .await
        .assert_problem(403, "conduct.suspended");
    // MKT-6 / SA §9.2: score and the published decision on the profile.
    let profile = app
        .get(&format!("/api/v1/users/{}", provider.id))
        .send()
        .await;
    profile.assert(200);
    assert_eq!(profile.json["credit_score"], 90);
    assert_eq!(profile.json["penalties"][0]["violation_id"], vid);
    assert_eq!(profile.json["penalties"][0]["category"], "automated_access");
    // The suspension ends after its period; the credit deduction stays.
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let provider = app.relog(&provider).await;
    try_bid(&app, &provider, demand).await.assert(201);
    let mine = app
        .get("/api/v1/me/violations")
        .bearer(&provider.access)
        .send()
        .await;
    assert_eq!(mine.json["items"][0]["measures"][0]["status"], "ended");
    let profile = app
        .get(&format!("/api/v1/users/{}", provider.id))
        .send()
        .await;
    assert_eq!(profile.json["credit_score"], 90);
}

#[actix_web::test]
async fn vio3_sealing_refuses_login_and_restricts_the_identity() {
    let app = TestApp::new().await;
    let mut body = app.registration();
    let phone = body["phone"].as_str().unwrap().to_string();
    let res = app.register_with(body.clone()).await;
    res.assert(201);
    let user = common::Account {
        id: res.json["user"]["id"].as_i64().unwrap(),
        member_name: res.json["user"]["member_name"].as_str().unwrap().into(),
        access: res.json["tokens"]["access_token"].as_str().unwrap().into(),
        refresh: res.json["tokens"]["refresh_token"].as_str().unwrap().into(),
        session_id: res.json["tokens"]["session_id"].as_i64().unwrap(),
        totp_secret: None,
    };
    let id_number = app.verify(&user).await;
    let moderator = app.staff(Role::Moderator).await;
    violation(
        &app,
        &moderator,
        json!({
            "user_id": user.id, "category": "payment_misuse", "source": "regulator_notice",
            "facts": "利用平台洗钱。", "decision": "根本违约，封禁账号",
            "measures": [{"kind": "seal"}]
        }),
    )
    .await
    .assert(201);
    // The live session ends at once; login is refused.
    app.me(&user.access).await.assert(401);
    app.login(&user.member_name, common::PASSWORD)
        .await
        .assert_problem(403, "account.sealed");
    // ACC-3: the phone cannot register again, the ID cannot be verified.
    let n = common::unique();
    body["member_name"] = json!(format!("again_{n}"));
    body["email"] = json!(format!("again{n}@example.com"));
    body["phone"] = json!(phone);
    app.register_with(body)
        .await
        .assert_problem(403, "identity.restricted");
    let other = app.user().await;
    app.post("/api/v1/me/verification")
        .bearer(&other.access)
        .json(json!({"kind": "individual", "legal_name": "张三", "id_number": id_number}))
        .send()
        .await
        .assert_problem(403, "identity.restricted");
}

/// The next Thursday (China date) at least `min_days` from now, at 12:00 China time.
fn thursday_noon_after(min_days: i64) -> chrono::DateTime<Utc> {
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    let mut day = (Utc::now() + Duration::days(min_days))
        .with_timezone(&china)
        .date_naive();
    while day.weekday() != Weekday::Thu {
        day += Duration::days(1);
    }
    china
        .from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[actix_web::test]
async fn dep7_refund_blocked_by_complaint_observation_extended_payout_due_skips_weekend_and_holiday()
 {
    // The observation will end before a Thursday; that Friday is a holiday.
    let thursday = thursday_noon_after(45);
    let china = FixedOffset::east_opt(8 * 3600).unwrap();
    let friday = thursday.with_timezone(&china).date_naive() + Duration::days(1);
    let app = TestApp::with_settings(&[("HOLIDAYS", &friday.format("%Y-%m-%d").to_string())]).await;
    let provider = app.verified_user().await;
    let reporter = app.user().await;
    let finance = app.staff(Role::Finance).await;
    let moderator = app.staff(Role::Moderator).await;
    app.set_required(&finance, &provider, "1000.00", "风控要求")
        .await
        .assert(200);
    pay_deposit(&app, &provider).await;
    // WRK-4: a work on the profile (it leaves with the payout, below).
    app.post("/api/v1/me/works")
        .bearer(&provider.access)
        .json(json!({"title": "商场地推案例", "text": "两天签约 300 人", "file_ids": []}))
        .send()
        .await
        .assert(201);

    // An open complaint blocks the refund, and closure.
    let report = complain(
        &app,
        &reporter,
        json!({"target_type": "user", "target_id": provider.id, "category": "abusive_language", "text": "私信辱骂。"}),
    )
    .await;
    report.assert(201);
    let blocked = app
        .post("/api/v1/me/deposit/refund-request")
        .bearer(&provider.access)
        .json(app.refund_body(&provider).await)
        .send()
        .await;
    blocked.assert_problem(409, "deposit.refund_blocked");
    assert_eq!(blocked.json["blocking"][0]["code"], "complaint_open");
    let closure = app
        .post("/api/v1/me/closure-request")
        .bearer(&provider.access)
        .json(json!({}))
        .send()
        .await;
    let codes: Vec<&str> = closure.json["blocking"]
        .as_array()
        .map(|b| b.iter().map(|x| x["code"].as_str().unwrap()).collect())
        .unwrap_or_default();
    assert!(codes.contains(&"complaint_open"), "{}", closure.text);
    assert!(codes.contains(&"deposit_remaining"), "{}", closure.text);
    app.post(&format!(
        "/api/v1/admin/complaints/{}/dismissal",
        report.json["id"]
    ))
    .bearer(&moderator.access)
    .json(json!({"reason": "查无实据"}))
    .send()
    .await
    .assert(200);

    let before = app.clock_now();
    let res = app
        .post("/api/v1/me/deposit/refund-request")
        .bearer(&provider.access)
        .json(app.refund_body(&provider).await)
        .send()
        .await;
    let requested = app.clock_now();
    res.assert(201);
    assert_eq!(res.json["status"], "refunding");
    assert_eq!(res.json["accepting_orders"], false);
    assert!(within(
        at(&res.json["refund"]["observation_ends_at"]),
        before + Duration::days(30),
        requested + Duration::days(30)
    ));

    // Ten days on, a new complaint extends the observation to 30 days from then.
    app.clock.advance(Duration::days(10));
    let provider = app.relog(&provider).await;
    let reporter = app.relog(&reporter).await;
    let moderator = app.staff(Role::Moderator).await;
    let before = app.clock_now();
    let second = complain(
        &app,
        &reporter,
        json!({"target_type": "user", "target_id": provider.id, "category": "other", "text": "再次投诉。"}),
    )
    .await;
    let extended_at = app.clock_now();
    second.assert(201);
    let dep = deposit(&app, &provider).await;
    assert!(within(
        at(&dep["refund"]["observation_ends_at"]),
        before + Duration::days(30),
        extended_at + Duration::days(30)
    ));
    assert!(
        app.notification_kinds(&provider.access)
            .await
            .contains(&"deposit.observation_extended".to_string())
    );
    app.post(&format!(
        "/api/v1/admin/complaints/{}/dismissal",
        second.json["id"]
    ))
    .bearer(&moderator.access)
    .json(json!({"reason": "查无实据"}))
    .send()
    .await
    .assert(200);

    // The original end passes: still observing.
    app.clock.advance(Duration::days(21));
    assert_eq!(app.run_jobs().await.deposit_refunds_started, 0);
    // Move to the Thursday after the extended end; the payout starts.
    let now = app.clock_now();
    assert!(thursday > extended_at + Duration::days(30));
    app.clock.advance(thursday - now);
    assert_eq!(app.run_jobs().await.deposit_refunds_started, 1);
    let provider = app.relog(&provider).await;
    let finance = app.staff(Role::Finance).await;
    let due = app
        .get("/api/v1/admin/deposit-refunds")
        .bearer(&finance.access)
        .send()
        .await;
    due.assert(200);
    let refund = due.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == provider.id)
        .expect("refund due")
        .clone();
    assert_eq!(refund["status"], "payout_pending");
    assert_eq!(refund["amount"], "1000.00");
    // Thursday → Friday (holiday), Saturday, Sunday skipped → Mon, Tue,
    // Wed: due by the end of Wednesday, China time.
    assert_eq!(
        at(&refund["payout_due_at"]),
        china_end_of_day_after(thursday, 6)
    );
    // The channel confirms the payout.
    let pid = refund["payment_id"].as_str().unwrap().to_string();
    app.sandbox_complete(&provider, &pid, true)
        .await
        .assert(200);
    let dep = deposit(&app, &provider).await;
    assert_eq!(dep["balance"], "0.00");
    assert_eq!(dep["status"], "refunded");
    assert_eq!(dep["refund"]["status"], "paid");
    // The provider's profile leaves the platform.
    app.get(&format!("/api/v1/users/{}", provider.id))
        .send()
        .await
        .assert(404);
    // WRK-4, DR §3.3: the works come off with the payout.
    let works = app
        .get(&format!("/api/v1/users/{}/works", provider.id))
        .send()
        .await;
    works.assert(200);
    assert_eq!(works.json, json!([]));
    assert_eq!(
        fen_of(&app, &format!("user:{}:deposit_payout", provider.id)).await,
        0
    );
    assert_eq!(app.ledger_check().await["ok"], true);
}
