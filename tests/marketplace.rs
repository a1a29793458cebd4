//! Demands, bids, awards, completion, moderation, reviews and discovery
//! through HTTP (MKT-1..MKT-7).

mod common;

use actix_web::http::Method;
use chrono::Duration;
use common::{Account, TestApp};
use futures_util::future::join;
use serde_json::json;
use weigongbao::users::models::Role;

async fn award(app: &TestApp, employer: &Account, demand: i64, bids: &[i64]) -> common::Res {
    app.post(&format!("/api/v1/demands/{demand}/awards"))
        .bearer(&employer.access)
        .json(json!({"bid_ids": bids}))
        .send()
        .await
}

async fn platform_fees(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use weigongbao::platform::db::schema::ledger_accounts;
    let mut conn = app.state.pool.get().unwrap();
    ledger_accounts::table
        .filter(ledger_accounts::code.eq("platform:fees"))
        .select(ledger_accounts::balance)
        .first(&mut conn)
        .unwrap()
}

#[actix_web::test]
async fn mkt1_publishing_needs_verification_good_standing_and_clean_content() {
    let app = TestApp::new().await;
    let unverified = app.user().await;
    app.post("/api/v1/demands")
        .bearer(&unverified.access)
        .json(app.demand_body("周末地推", "500.00", 2))
        .send()
        .await
        .assert_problem(403, "account.not_verified");
    let owner = app.verified_user().await;
    let mut bad = app.demand_body("赌_博推广员", "500.00", 2);
    let res = app
        .post("/api/v1/demands")
        .bearer(&owner.access)
        .json(bad.clone())
        .send()
        .await;
    res.assert_problem(422, "demand.prohibited");
    assert_eq!(res.json["category"], "obscenity_gambling_violence");
    bad["title"] = json!("周末地推");
    bad["bid_deadline"] = json!((app.clock_now() - Duration::hours(1)).to_rfc3339());
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .json(bad.clone())
        .send()
        .await
        .assert_problem(422, "demand.deadline_invalid");
    bad["bid_deadline"] = json!((app.clock_now() + Duration::days(91)).to_rfc3339());
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .json(bad.clone())
        .send()
        .await
        .assert_problem(422, "demand.deadline_invalid");
    let mut unknown = app.demand_body("周末地推", "500.00", 2);
    unknown["category"] = json!("nope");
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .json(unknown)
        .send()
        .await
        .assert_problem(422, "demand.category_unknown");
    let mut float = app.demand_body("周末地推", "500.00", 2);
    float["budget"] = json!(500);
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .json(float)
        .send()
        .await
        .assert_problem(422, "request.invalid_body");

    let id = app
        .demand(&owner, app.demand_body("周末商场地推 3 人", "1800.00", 3))
        .await;
    let shown = app.get(&format!("/api/v1/demands/{id}")).send().await;
    shown.assert(200);
    assert_eq!(shown.json["status"], "open");
    assert_eq!(shown.json["budget"], "1800.00");
    assert_eq!(
        app.get("/api/v1/categories").send().await.json[0]["code"],
        "ground_promotion"
    );

    // ACC-6: an open information request closes publishing.
    let moderator = app.staff(Role::Moderator).await;
    app.post(&format!("/api/v1/admin/users/{}/info-requests", owner.id))
        .bearer(&moderator.access)
        .json(json!({"kind": "explain", "message": "请说明需求内容。"}))
        .send()
        .await
        .assert(201);
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .json(app.demand_body("再来一个", "100.00", 1))
        .send()
        .await
        .assert_problem(403, "account.info_request_pending");
}

#[actix_web::test]
async fn mkt2_bidding_rules_and_who_sees_bids() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let a = app.verified_user().await;
    let b = app.verified_user().await;
    let stranger = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("派单 2 人", "800.00", 2))
        .await;

    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&owner.access)
        .json(json!({"price": "100.00", "proposal": "自己投自己"}))
        .send()
        .await
        .assert_problem(403, "bid.own_demand");
    let unverified = app.user().await;
    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&unverified.access)
        .json(json!({"price": "100.00", "proposal": "未认证"}))
        .send()
        .await
        .assert_problem(403, "account.not_verified");
    let bid_a = app.bid(&a, demand, "400.00").await;
    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&a.access)
        .json(json!({"price": "380.00", "proposal": "再投一次"}))
        .send()
        .await
        .assert_problem(409, "bid.duplicate");
    app.bid(&b, demand, "420.00").await;
    // Editing is closed once bids exist.
    app.req(Method::PATCH, &format!("/api/v1/demands/{demand}"))
        .bearer(&owner.access)
        .json(json!({"title": "改标题"}))
        .send()
        .await
        .assert_problem(409, "demand.not_editable");

    let owners_view = app
        .get(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&owner.access)
        .send()
        .await;
    assert_eq!(owners_view.json["items"].as_array().unwrap().len(), 2);
    let a_view = app
        .get(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&a.access)
        .send()
        .await;
    let items = a_view.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["provider_id"], a.id);
    let strangers_view = app
        .get(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&stranger.access)
        .send()
        .await;
    assert!(strangers_view.json["items"].as_array().unwrap().is_empty());
    app.get(&format!("/api/v1/demands/{demand}/bids"))
        .send()
        .await
        .assert_problem(401, "auth.missing_token");

    // Withdraw, then a new live bid is allowed.
    app.post(&format!("/api/v1/bids/{bid_a}/withdraw"))
        .bearer(&a.access)
        .send()
        .await
        .assert(200);
    app.post(&format!("/api/v1/bids/{bid_a}/withdraw"))
        .bearer(&b.access)
        .send()
        .await
        .assert_problem(404, "bid.not_found");
    app.bid(&a, demand, "390.00").await;
    let mine = app.get("/api/v1/me/bids").bearer(&a.access).send().await;
    assert_eq!(mine.json["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(&format!("/api/v1/demands/{demand}"))
            .send()
            .await
            .json["bid_count"],
        2
    );
}

#[actix_web::test]
async fn mkt3_mkt4_award_holds_then_confirmation_pays_less_the_fee() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let (a, b) = (app.verified_user().await, app.verified_user().await);
    let demand = app
        .demand(&owner, app.demand_body("地推 1 人", "600.00", 1))
        .await;
    let bid_a = app.bid(&a, demand, "600.00").await;
    app.bid(&b, demand, "550.00").await;

    // Not enough money: 409 and nothing changes.
    app.fund(&owner, "100.00").await;
    award(&app, &owner, demand, &[bid_a])
        .await
        .assert_problem(409, "funds.insufficient");
    assert_eq!(
        app.get(&format!("/api/v1/demands/{demand}"))
            .send()
            .await
            .json["status"],
        "open"
    );
    assert_eq!(app.balances(&owner).await, ("100.00".into(), "0.00".into()));

    app.fund(&owner, "900.00").await;
    let res = award(&app, &owner, demand, &[bid_a]).await;
    res.assert(201);
    let award_id = res.json[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.balances(&owner).await,
        ("400.00".into(), "600.00".into())
    );
    assert!(
        app.notification_kinds(&a.access)
            .await
            .contains(&"bid.awarded".to_string())
    );
    assert!(
        app.notification_kinds(&b.access)
            .await
            .contains(&"bid.not_selected".to_string())
    );
    // A stranger cannot see the award.
    let stranger = app.verified_user().await;
    app.get(&format!("/api/v1/awards/{award_id}"))
        .bearer(&stranger.access)
        .send()
        .await
        .assert_problem(404, "award.not_found");

    app.post(&format!("/api/v1/awards/{award_id}/deliver"))
        .bearer(&a.access)
        .json(json!({"note": "已完成两天地推", "evidence": [
            {"kind": "photo", "url": "https://img.example.com/1.jpg", "taken_at": "2026-11-22T02:00:00Z"},
            {"kind": "checkin", "location": "31.1880,121.4370 徐家汇商场东门", "taken_at": "2026-11-22T01:00:00Z"}]}))
        .send()
        .await
        .assert(200);
    let (c1, c2) = join(
        app.post(&format!("/api/v1/awards/{award_id}/confirm"))
            .bearer(&owner.access)
            .send(),
        app.post(&format!("/api/v1/awards/{award_id}/confirm"))
            .bearer(&owner.access)
            .send(),
    )
    .await;
    let mut codes = [c1.status.as_u16(), c2.status.as_u16()];
    codes.sort();
    assert_eq!(codes, [200, 409], "double confirm pays once");
    // 600.00 less 5% = 570.00 to the provider, 30.00 to the platform.
    assert_eq!(app.balances(&a).await, ("570.00".into(), "0.00".into()));
    assert_eq!(app.balances(&owner).await, ("400.00".into(), "0.00".into()));
    assert_eq!(platform_fees(&app).await, 3_000);
    assert_eq!(
        app.get(&format!("/api/v1/demands/{demand}"))
            .send()
            .await
            .json["status"],
        "completed"
    );
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn mkt3_races_award_twice_and_award_versus_withdraw() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    app.fund(&owner, "5000.00").await;
    let a = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("竞态", "500.00", 1))
        .await;
    let bid = app.bid(&a, demand, "500.00").await;
    let (x, y) = join(
        award(&app, &owner, demand, &[bid]),
        award(&app, &owner, demand, &[bid]),
    )
    .await;
    let mut codes = [x.status.as_u16(), y.status.as_u16()];
    codes.sort();
    assert_eq!(codes, [201, 409]);
    assert_eq!(
        app.balances(&owner).await,
        ("4500.00".into(), "500.00".into())
    );

    let demand2 = app
        .demand(&owner, app.demand_body("竞态二", "500.00", 1))
        .await;
    let bid2 = app.bid(&a, demand2, "300.00").await;
    let (w, aw) = join(
        app.post(&format!("/api/v1/bids/{bid2}/withdraw"))
            .bearer(&a.access)
            .send(),
        award(&app, &owner, demand2, &[bid2]),
    )
    .await;
    match (w.status.as_u16(), aw.status.as_u16()) {
        (200, 409) => assert_eq!(app.balances(&owner).await.1, "500.00"),
        (409, 201) => assert_eq!(app.balances(&owner).await.1, "800.00"),
        other => panic!("inconsistent outcome {other:?}: {} / {}", w.text, aw.text),
    }
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn mkt4_delivered_awards_complete_themselves_after_seven_days() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    app.fund(&owner, "1000.00").await;
    let a = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("自动完成", "200.00", 1))
        .await;
    let bid = app.bid(&a, demand, "200.00").await;
    let award_id = award(&app, &owner, demand, &[bid]).await.json[0]["id"]
        .as_i64()
        .unwrap();
    app.post(&format!("/api/v1/awards/{award_id}/deliver"))
        .bearer(&a.access)
        .json(json!({"note": "完成", "evidence": []}))
        .send()
        .await
        .assert(200);
    app.clock.advance(Duration::days(6));
    assert_eq!(app.run_jobs().await.awards_auto_completed, 0);
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(app.run_jobs().await.awards_auto_completed, 1);
    assert_eq!(app.run_jobs().await.awards_auto_completed, 0);
    let a = {
        let res = app.login(&a.member_name, common::PASSWORD).await;
        Account {
            access: res.json["tokens"]["access_token"].as_str().unwrap().into(),
            ..a
        }
    };
    assert_eq!(app.balances(&a).await, ("190.00".into(), "0.00".into()));
}

#[actix_web::test]
async fn mkt1_unawarded_demands_expire_at_the_deadline() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let a = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("过期", "100.00", 1))
        .await;
    app.bid(&a, demand, "90.00").await;
    app.clock.advance(Duration::days(3) + Duration::minutes(1));
    // Past the deadline it leaves the open list at once, and the job expires it.
    let open = app.get("/api/v1/demands").send().await;
    assert!(
        open.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != demand)
    );
    assert_eq!(app.run_jobs().await.demands_expired, 1);
    let shown = app.get(&format!("/api/v1/demands/{demand}")).send().await;
    assert_eq!(shown.json["status"], "expired");
}

#[actix_web::test]
async fn mkt5_moderators_remove_a_demand_and_its_holds_are_released() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    app.fund(&owner, "1000.00").await;
    let a = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("违规需求", "300.00", 1))
        .await;
    let bid = app.bid(&a, demand, "300.00").await;
    award(&app, &owner, demand, &[bid]).await.assert(201);
    assert_eq!(
        app.balances(&owner).await,
        ("700.00".into(), "300.00".into())
    );
    let moderator = app.staff(Role::Moderator).await;
    app.post(&format!("/api/v1/admin/demands/{demand}/remove"))
        .bearer(&owner.access)
        .json(json!({"reason": "规避平台费用"}))
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
    app.post(&format!("/api/v1/admin/demands/{demand}/remove"))
        .bearer(&moderator.access)
        .json(json!({"reason": "规避平台费用"}))
        .send()
        .await
        .assert(200);
    assert_eq!(
        app.balances(&owner).await,
        ("1000.00".into(), "0.00".into())
    );
    app.get(&format!("/api/v1/demands/{demand}"))
        .send()
        .await
        .assert_problem(404, "demand.not_found");
    let listed = app.get("/api/v1/demands?status=awarded").send().await;
    assert!(
        listed.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != demand)
    );
    assert!(
        app.notification_kinds(&owner.access)
            .await
            .contains(&"demand.removed".to_string())
    );
    assert_eq!(
        app.audit_actions("demand", &demand.to_string()).await,
        ["demand.remove"]
    );
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn mkt1_owner_cancels_and_holds_are_released() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    app.fund(&owner, "500.00").await;
    let a = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("取消", "200.00", 1))
        .await;
    let bid = app.bid(&a, demand, "200.00").await;
    award(&app, &owner, demand, &[bid]).await.assert(201);
    app.post(&format!("/api/v1/demands/{demand}/cancel"))
        .bearer(&a.access)
        .send()
        .await
        .assert_problem(404, "demand.not_found");
    app.post(&format!("/api/v1/demands/{demand}/cancel"))
        .bearer(&owner.access)
        .send()
        .await
        .assert(200);
    assert_eq!(app.balances(&owner).await, ("500.00".into(), "0.00".into()));
    assert!(
        app.notification_kinds(&a.access)
            .await
            .contains(&"demand.cancelled".to_string())
    );
}

#[actix_web::test]
async fn mkt6_discovery_filters_sorts_and_pages_stably_under_inserts() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    for i in 0..12 {
        let mut body = app.demand_body(
            &format!("需求{i} 地推"),
            &format!("{}.00", 100 * (i + 1)),
            1,
        );
        if i % 3 == 0 {
            body["category"] = json!("market_survey");
            body["region_code"] = json!("110105");
            body["title"] = json!(format!("问卷调研 {i}"));
        }
        app.demand(&owner, body).await;
    }
    let by_category = app
        .get("/api/v1/demands?category=market_survey")
        .send()
        .await;
    assert_eq!(by_category.json["items"].as_array().unwrap().len(), 4);
    let by_region = app
        .get("/api/v1/demands?region=110105&budget_min=350.00&budget_max=1000")
        .send()
        .await;
    let budgets: Vec<&str> = by_region.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["budget"].as_str().unwrap())
        .collect();
    assert_eq!(budgets, ["1000.00", "700.00", "400.00"]);
    let searched = app.get("/api/v1/demands?q=%E9%97%AE%E5%8D%B7").send().await; // q=问卷
    assert_eq!(searched.json["items"].as_array().unwrap().len(), 4);
    let by_budget = app.get("/api/v1/demands?sort=budget&limit=3").send().await;
    let top: Vec<&str> = by_budget.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["budget"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["1200.00", "1100.00", "1000.00"]);

    // Newest first, 5 per page; new demands published between pages do not
    // shift the pages already being read.
    let page1 = app.get("/api/v1/demands?limit=5").send().await;
    let cursor = page1.json["next_cursor"].as_str().unwrap().to_string();
    for i in 0..3 {
        app.demand(&owner, app.demand_body(&format!("插入{i}"), "50.00", 1))
            .await;
    }
    let mut seen: Vec<i64> = page1.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let page = app
            .get(&format!("/api/v1/demands?limit=5&cursor={c}"))
            .send()
            .await;
        page.assert(200);
        seen.extend(
            page.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap()),
        );
        cursor = page.json["next_cursor"].as_str().map(str::to_string);
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(seen, sorted, "no duplicates, newest first");
    assert_eq!(
        seen.len(),
        12,
        "exactly the demands that existed at the first page"
    );

    // Deadline sort pages through everything too.
    let mut deadline_ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/demands?sort=deadline&limit=4&cursor={c}"),
            None => "/api/v1/demands?sort=deadline&limit=4".to_string(),
        };
        let page = app.get(&path).send().await;
        deadline_ids.extend(
            page.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap()),
        );
        cursor = page.json["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(deadline_ids.len(), 15);
    app.get("/api/v1/demands?budget_min=abc")
        .send()
        .await
        .assert(400);
    let empty = app
        .get("/api/v1/demands?budget_min=500&budget_max=100")
        .send()
        .await;
    empty.assert(200);
    assert!(empty.json["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn mkt6_reviews_are_double_blind_and_feed_the_public_profile() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    app.fund(&owner, "1000.00").await;
    let a = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("评价", "100.00", 1))
        .await;
    let bid = app.bid(&a, demand, "100.00").await;
    let award_id = award(&app, &owner, demand, &[bid]).await.json[0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/awards/{award_id}/reviews");
    app.post(&path)
        .bearer(&owner.access)
        .json(json!({"rating": 5, "body": "很好"}))
        .send()
        .await
        .assert_problem(409, "review.not_completed");
    app.post(&format!("/api/v1/awards/{award_id}/confirm"))
        .bearer(&owner.access)
        .send()
        .await
        .assert(200);

    let first = app
        .post(&path)
        .bearer(&owner.access)
        .json(json!({"rating": 4, "body": "准时认真"}))
        .send()
        .await;
    first.assert(201);
    assert_eq!(first.json["reviewed_by_me"], true);
    let hidden = app
        .get(&format!("/api/v1/awards/{award_id}"))
        .bearer(&a.access)
        .send()
        .await;
    assert!(
        hidden.json["reviews"].as_array().unwrap().is_empty(),
        "blind until both are in"
    );
    assert!(
        app.get(&format!("/api/v1/users/{}", a.id))
            .send()
            .await
            .json["rating"]
            .is_null()
    );
    app.post(&path)
        .bearer(&owner.access)
        .json(json!({"rating": 5, "body": "再评"}))
        .send()
        .await
        .assert_problem(409, "review.duplicate");
    app.post(&path)
        .bearer(&a.access)
        .json(json!({"rating": 5, "body": "雇主爽快"}))
        .send()
        .await
        .assert(201);
    let shown = app
        .get(&format!("/api/v1/awards/{award_id}"))
        .bearer(&a.access)
        .send()
        .await;
    assert_eq!(shown.json["reviews"].as_array().unwrap().len(), 2);
    let profile = app.get(&format!("/api/v1/users/{}", a.id)).send().await;
    assert_eq!(profile.json["rating"], 4.0);
    assert_eq!(profile.json["rating_count"], 1);
    assert_eq!(profile.json["completed_awards"], 1);
    assert_eq!(profile.json["credit_score"], 100);
    assert_eq!(profile.json["penalties"], json!([]));
}

#[actix_web::test]
async fn mkt3_award_with_an_idempotency_key_is_replayed_not_repeated() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    app.fund(&owner, "1000.00").await;
    let a = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("幂等选标", "300.00", 1))
        .await;
    let bid = app.bid(&a, demand, "300.00").await;
    let send = || {
        app.post(&format!("/api/v1/demands/{demand}/awards"))
            .bearer(&owner.access)
            .header("Idempotency-Key", "award-1")
            .json(json!({"bid_ids": [bid]}))
            .send()
    };
    let first = send().await;
    first.assert(201);
    let again = send().await;
    again.assert(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json[0]["id"], first.json[0]["id"]);
    assert_eq!(
        app.balances(&owner).await,
        ("700.00".into(), "300.00".into())
    );
    // Without a key, a repeat is refused by the state change itself.
    award(&app, &owner, demand, &[bid])
        .await
        .assert_problem(409, "demand.not_open");
}

/// MKT-6 search (`q`) through the n-gram index (issue 13): two-character
/// Chinese words, single characters and phrases are found; grams in the
/// wrong order do not match (the phrase is confirmed); an edit moves the
/// demand from its old words to its new ones; a word nobody wrote finds
/// nothing.
#[actix_web::test]
async fn mkt6_search_finds_words_through_the_index_and_follows_edits() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let mut body = app.demand_body("商场派发传单", "300.00", 1);
    body["description"] = json!("周末两天，需拍照打卡。Bring QR codes.");
    let id = app.demand(&owner, body).await;
    let mut body = app.demand_body("问卷调研", "200.00", 1);
    body["description"] = json!("在小区发放问卷，收回一百份。");
    let other = app.demand(&owner, body).await;
    let app = &app;
    let found = |q: &str| {
        let path = format!(
            "/api/v1/demands?q={}",
            percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
        );
        async move {
            let res = app.get(&path).send().await;
            res.assert(200);
            res.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(found("传单").await, vec![id]);
    assert_eq!(found("派发传单").await, vec![id]);
    assert_eq!(found("拍照打卡").await, vec![id]);
    assert_eq!(found("卷").await, vec![other]);
    assert_eq!(found("qr codes").await, vec![id], "case folded");
    // Every gram of 单传 is present (传 and 单, no: 单传 is not), and 传派
    // holds grams only in the other order: neither is the phrase.
    assert!(found("单传").await.is_empty());
    assert!(found("发派").await.is_empty());
    assert!(found("龘龘").await.is_empty());

    app.req(
        actix_web::http::Method::PATCH,
        &format!("/api/v1/demands/{id}"),
    )
    .bearer(&owner.access)
    .json(json!({"title": "门店促销"}))
    .send()
    .await
    .assert(200);
    assert_eq!(
        found("拍照打卡").await,
        vec![id],
        "the description's words stay"
    );
    assert!(
        found("传单").await.is_empty(),
        "the old title's words are gone"
    );
    assert_eq!(found("促销").await, vec![id]);
}

/// MKT-2 on the hot path (issue 13): a bid is counted on its demand once,
/// a refused bid (duplicate, demand no longer open) leaves nothing behind,
/// and the session is checked by the bid's own work: a logged-out token is
/// 401 there, a bad token 401 before the body is read.
#[actix_web::test]
async fn mkt2_a_bid_counts_once_and_a_refused_bid_leaves_nothing() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let (a, b) = (app.verified_user().await, app.verified_user().await);
    let demand = app
        .demand(&owner, app.demand_body("地推 2 人", "300.00", 2))
        .await;
    let count = || async {
        app.get(&format!("/api/v1/demands/{demand}"))
            .send()
            .await
            .json["bid_count"]
            .clone()
    };
    app.bid(&a, demand, "300.00").await;
    assert_eq!(count().await, 1);
    // MKT-7: one live bid per provider; the refused one is not counted.
    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&a.access)
        .json(json!({"price": "280.00", "proposal": "再报一次"}))
        .send()
        .await
        .assert_problem(409, "bid.duplicate");
    assert_eq!(count().await, 1);
    let mine = app.get("/api/v1/me/bids").bearer(&a.access).send().await;
    assert_eq!(mine.json["items"].as_array().unwrap().len(), 1);

    // A bad token is refused before the body is read.
    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer("not-a-token")
        .raw("application/json", "{not json")
        .send()
        .await
        .assert_problem(401, "auth.invalid_token");
    // ACC-7: a logged-out session cannot bid.
    app.post("/api/v1/auth/logout")
        .bearer(&b.access)
        .send()
        .await
        .assert(204);
    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&b.access)
        .json(json!({"price": "300.00", "proposal": "周末全天"}))
        .send()
        .await
        .assert_problem(401, "auth.session_ended");

    // Once the demand is cancelled, a bid is refused and nothing is counted.
    let c = app.verified_user().await;
    app.post(&format!("/api/v1/demands/{demand}/cancel"))
        .bearer(&owner.access)
        .send()
        .await
        .assert(200);
    app.post(&format!("/api/v1/demands/{demand}/bids"))
        .bearer(&c.access)
        .json(json!({"price": "300.00", "proposal": "周末全天"}))
        .send()
        .await
        .assert_problem(409, "demand.not_open");
    let theirs = app.get("/api/v1/me/bids").bearer(&c.access).send().await;
    assert!(theirs.json["items"].as_array().unwrap().is_empty());
    assert_eq!(count().await, 1);
}
