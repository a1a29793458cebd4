//! How this process tells other processes on the same PostgreSQL of the
//! changes no trigger announces (issue 13/15, SVC-3, MSG-2): a bid's count
//! and a user's new event. A test binary of its own: every listener of a
//! process sends every notice the process owes, so another test's bids in
//! the same process would be heard here too.

mod common;

use std::time::Duration;

use common::TestApp;
use diesel::prelude::*;
use serde_json::json;
use weigongbao::platform::db::Backend;

/// The notices another process (a bare connection listening on the
/// channel) receives within `within`, until `done` says it has enough.
fn heard(
    other: &mut PgConnection,
    within: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let until = std::time::Instant::now() + within;
    let mut payloads = Vec::new();
    while std::time::Instant::now() < until && !done(&payloads) {
        for n in other.notifications_iter() {
            payloads.push(n.unwrap().payload);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    payloads
}

#[actix_web::test]
async fn svc3_msg2_a_bid_count_and_a_new_event_are_told_to_other_processes() {
    // SVC-3 / MSG-2: no trigger notifies a bid's count or a user's new
    // event (a notifying commit serialises with every other); the process
    // that wrote them tells the others once they commit.
    let app = TestApp::new().await;
    let Backend::Postgres(url) = Backend::from_url(app.db.url()).unwrap() else {
        // SQLite is the one-process default: there is no other process.
        return;
    };
    app.listening().await;
    let owner = app.verified_user().await;
    let provider = app.verified_user().await;
    let demand = app
        .demand(&owner, app.demand_body("计数通知", "300.00", 1))
        .await;
    let mut other = PgConnection::establish(&url).unwrap();
    diesel::connection::SimpleConnection::batch_execute(&mut other, "LISTEN wgb_changes").unwrap();

    // A bid changes only the demand's count: the server says so.
    app.bid(&provider, demand, "250.00").await;
    let got = heard(&mut other, Duration::from_secs(5), |p| {
        p.iter().any(|x| x == "demands")
    });
    assert!(
        got.iter().any(|x| x == "demands"),
        "bid count told: {got:?}"
    );

    // A message raises an event for the owner: their streams elsewhere wake.
    let conv = app
        .post(&format!("/api/v1/demands/{demand}/conversations"))
        .bearer(&provider.access)
        .send()
        .await;
    conv.assert(201);
    let conv = conv.json["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/conversations/{conv}/messages"))
        .bearer(&provider.access)
        .json(json!({"text": "请问几点到场？"}))
        .send()
        .await
        .assert(201);
    let event = format!("events:{}", owner.id);
    let got = heard(&mut other, Duration::from_secs(5), |p| p.contains(&event));
    assert!(got.contains(&event), "the owner's event told: {got:?}");

    // Any other change to a demand is still told by the trigger.
    let mut writer = PgConnection::establish(&url).unwrap();
    diesel::sql_query(format!(
        "UPDATE demands SET title = '计数通知改' WHERE id = {demand}"
    ))
    .execute(&mut writer)
    .unwrap();
    let got = heard(&mut other, Duration::from_secs(5), |p| {
        p.iter().any(|x| x == "demands")
    });
    assert!(
        got.iter().any(|x| x == "demands"),
        "title change told: {got:?}"
    );
}
