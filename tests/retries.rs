//! A mobile retry never creates anything twice (API.md: `Idempotency-Key`
//! on every creating POST).

mod common;

use common::TestApp;

#[actix_web::test]
async fn mkt1_a_retried_publish_or_bid_creates_once() {
    let app = TestApp::new().await;
    let owner = app.verified_user().await;
    let body = app.demand_body("周末地推", "500.00", 2);
    let publish = || {
        app.post("/api/v1/demands")
            .bearer(&owner.access)
            .header("idempotency-key", "publish-1")
            .json(body.clone())
            .send()
    };
    let first = publish().await;
    first.assert(201);
    let again = publish().await;
    again.assert(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["id"], first.json["id"]);
    let mine = app
        .get("/api/v1/me/demands")
        .bearer(&owner.access)
        .send()
        .await;
    assert_eq!(mine.json["items"].as_array().unwrap().len(), 1);
    // The same key with another body is refused, not applied.
    let mut other = body.clone();
    other["title"] = serde_json::json!("另一个需求");
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .header("idempotency-key", "publish-1")
        .json(other)
        .send()
        .await
        .assert_problem(422, "idempotency.key_reused");

    let provider = app.verified_user().await;
    let demand = first.json["id"].as_i64().unwrap();
    let bid = || {
        app.post(&format!("/api/v1/demands/{demand}/bids"))
            .bearer(&provider.access)
            .header("idempotency-key", "bid-1")
            .json(serde_json::json!({"price": "450.00", "proposal": "三人团队"}))
            .send()
    };
    let b1 = bid().await;
    b1.assert(201);
    let b2 = bid().await;
    b2.assert(201);
    assert_eq!(b2.json["id"], b1.json["id"]);
}

#[actix_web::test]
async fn mkt7_a_replayed_retry_spends_no_rate_limit() {
    let app = TestApp::with_settings(&[("RATE_LIMIT_DEMANDS_PER_MINUTE", "1")]).await;
    let owner = app.verified_user().await;
    let body = app.demand_body("周末地推", "500.00", 2);
    for _ in 0..3 {
        app.post("/api/v1/demands")
            .bearer(&owner.access)
            .header("idempotency-key", "publish-once")
            .json(body.clone())
            .send()
            .await
            .assert(201);
    }
    // A new demand is still limited.
    app.post("/api/v1/demands")
        .bearer(&owner.access)
        .json(body)
        .send()
        .await
        .assert(429);
}
