//! Funds through HTTP and the ledger directly (FND-1, FND-2, FND-3).
// Amounts in fen are written yuan_fen (150_00 is 150.00 yuan).
#![allow(clippy::inconsistent_digit_grouping)]

mod common;

use common::channels::{self, FakeChannel};
use common::{Account, TestApp};
use futures_util::future::join_all;
use serde_json::json;
use weigongbao::funds::ledger::{self, Reference};

async fn funds_app() -> (TestApp, FakeChannel) {
    TestApp::with_channels(&[]).await
}

/// Posts an Alipay notification (form-encoded, signed RSA2).
async fn send_notification(app: &TestApp, body: Vec<u8>) -> common::Res {
    app.post("/api/v1/payments/callbacks/alipay")
        .raw("application/x-www-form-urlencoded; charset=utf-8", body)
        .send()
        .await
}

async fn alipay_top_up(app: &TestApp, user: &Account, amount: &str) -> String {
    let res = app
        .money_post(
            user,
            "/api/v1/me/account/top-ups",
            &format!("k-{}", common::unique()),
            json!({"amount": amount, "channel": "alipay"}),
        )
        .await;
    res.assert(201);
    assert_eq!(res.json["status"], "pending");
    let order = res.json["pay_params"]["order_string"].as_str().unwrap();
    let id = res.json["id"].as_str().unwrap().to_string();
    let params: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(order).unwrap();
    let biz: serde_json::Value = serde_json::from_str(&params["biz_content"]).unwrap();
    assert_eq!(biz["out_trade_no"], json!(id));
    assert_eq!(biz["total_amount"], json!(amount));
    assert_eq!(params["method"], "alipay.trade.app.pay");
    id
}

#[actix_web::test]
async fn fnd2_signed_callback_credits_once_and_refuses_bad_ones() {
    let (app, _fake) = funds_app().await;
    let user = app.user().await;
    let id = alipay_top_up(&app, &user, "100.00").await;
    let paid = || channels::alipay_paid(&id, "100.00", "2026112122001400001");

    // Tampered after signing, unknown payment, wrong amount: refused,
    // nothing moves.
    let tampered = String::from_utf8(paid())
        .unwrap()
        .replace("total_amount=100.00", "total_amount=1000.00");
    send_notification(&app, tampered.into_bytes())
        .await
        .assert_problem(401, "payment.bad_signature");
    send_notification(
        &app,
        channels::alipay_paid("no-such-payment", "100.00", "1"),
    )
    .await
    .assert_problem(404, "payment.not_found");
    send_notification(&app, channels::alipay_paid(&id, "1000.00", "1"))
        .await
        .assert_problem(422, "payment.amount_mismatch");
    assert_eq!(app.balances(&user).await, ("0.00".into(), "0.00".into()));

    // The real one, replayed ten times at once: credited once, each
    // acknowledged with Alipay's `success`.
    let replies = join_all((0..10).map(|_| send_notification(&app, paid()))).await;
    for r in &replies {
        r.assert(200);
        assert_eq!(r.text, "success");
    }
    assert_eq!(app.balances(&user).await, ("100.00".into(), "0.00".into()));
    let entries = app
        .get("/api/v1/me/account/entries")
        .bearer(&user.access)
        .send()
        .await;
    let items = entries.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["amount"], "100.00");
    assert_eq!(items[0]["balance_after"], "100.00");
    assert_eq!(items[0]["kind"], "top_up");
    assert_eq!(items[0]["reference_id"], json!(id));
    // A closing notice for the same payment now conflicts.
    let closed = String::from_utf8(paid())
        .unwrap()
        .replace("TRADE_SUCCESS", "TRADE_CLOSED");
    // (re-signed: the channel's own notice of a closed trade)
    let params: Vec<(String, String)> = serde_urlencoded::from_str(&closed).unwrap();
    let params: Vec<(&str, &str)> = params
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    send_notification(&app, channels::alipay_notification(&params))
        .await
        .assert_problem(409, "payment.already_completed");
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd2_same_idempotency_key_moves_money_once() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "100.00").await;
    let body = app.withdraw_body(&user, "30.00").await;
    let first = app
        .money_post(
            &user,
            "/api/v1/me/account/withdrawals",
            "wd-1",
            body.clone(),
        )
        .await;
    first.assert(201);
    let again = app
        .money_post(&user, "/api/v1/me/account/withdrawals", "wd-1", body)
        .await;
    again.assert(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["id"], first.json["id"]);
    assert_eq!(app.balances(&user).await, ("70.00".into(), "30.00".into()));

    app.money_post(
        &user,
        "/api/v1/me/account/withdrawals",
        "wd-1",
        app.withdraw_body(&user, "31.00").await,
    )
    .await
    .assert_problem(422, "idempotency.key_reused");
    app.post("/api/v1/me/account/withdrawals")
        .bearer(&user.access)
        .json(app.withdraw_body(&user, "1.00").await)
        .send()
        .await
        .assert_problem(400, "idempotency.key_required");
    // Keys are per user: another user may use the same key.
    let other = app.user().await;
    app.fund(&other, "5.00").await;
    app.money_post(
        &other,
        "/api/v1/me/account/withdrawals",
        "wd-1",
        app.withdraw_body(&other, "5.00").await,
    )
    .await
    .assert(201);
    // A failed request frees its key for a retry.
    app.money_post(
        &user,
        "/api/v1/me/account/withdrawals",
        "wd-2",
        app.withdraw_body(&user, "500.00").await,
    )
    .await
    .assert_problem(409, "funds.insufficient");
    app.money_post(
        &user,
        "/api/v1/me/account/withdrawals",
        "wd-2",
        app.withdraw_body(&user, "70.00").await,
    )
    .await
    .assert(201);
    assert_eq!(app.balances(&user).await, ("0.00".into(), "100.00".into()));
}

#[actix_web::test]
async fn fnd1_two_concurrent_withdrawals_that_overdraw_one_succeeds() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "100.00").await;
    let body = app.withdraw_body(&user, "60.00").await;
    let (a, b) = futures_util::future::join(
        app.money_post(&user, "/api/v1/me/account/withdrawals", "a", body.clone()),
        app.money_post(&user, "/api/v1/me/account/withdrawals", "b", body),
    )
    .await;
    let mut codes = [a.status.as_u16(), b.status.as_u16()];
    codes.sort();
    assert_eq!(codes, [201, 409]);
    let loser = if a.status == 409 { &a } else { &b };
    assert_eq!(loser.code(), "funds.insufficient");
    assert_eq!(app.balances(&user).await, ("40.00".into(), "60.00".into()));
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd2_withdrawal_pays_out_or_returns_the_hold() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "100.00").await;
    let ok = app
        .money_post(
            &user,
            "/api/v1/me/account/withdrawals",
            "w1",
            app.withdraw_body(&user, "25.50").await,
        )
        .await;
    let bad = app
        .money_post(
            &user,
            "/api/v1/me/account/withdrawals",
            "w2",
            app.withdraw_body(&user, "10.00").await,
        )
        .await;
    assert_eq!(app.balances(&user).await, ("64.50".into(), "35.50".into()));
    app.sandbox_complete(&user, ok.json["id"].as_str().unwrap(), true)
        .await
        .assert(200);
    app.sandbox_complete(&user, bad.json["id"].as_str().unwrap(), false)
        .await
        .assert(200);
    assert_eq!(app.balances(&user).await, ("74.50".into(), "0.00".into()));
    let kinds = app.notification_kinds(&user.access).await;
    assert!(kinds.contains(&"payment.withdrawal_succeeded".to_string()));
    assert!(kinds.contains(&"payment.withdrawal_failed".to_string()));
    // Someone else's payment is not found.
    let other = app.user().await;
    app.sandbox_complete(&other, ok.json["id"].as_str().unwrap(), true)
        .await
        .assert_problem(404, "payment.not_found");
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd1_money_endpoints_refuse_floats_negatives_and_three_decimals() {
    let app = TestApp::new().await;
    let user = app.user().await;
    for (i, amount) in [
        json!(100),
        json!(100.5),
        json!("-5.00"),
        json!("1.234"),
        json!("0.00"),
        json!("1e3"),
        json!(""),
    ]
    .into_iter()
    .enumerate()
    {
        let res = app
            .money_post(
                &user,
                "/api/v1/me/account/top-ups",
                &format!("bad-{i}"),
                json!({"amount": amount, "channel": "sandbox"}),
            )
            .await;
        res.assert_problem(422, "request.invalid_body");
    }
    app.money_post(
        &user,
        "/api/v1/me/account/top-ups",
        "alipay",
        json!({"amount": "1.00", "channel": "alipay"}),
    )
    .await
    .assert_problem(422, "payment.channel_unavailable");
    assert_eq!(app.balances(&user).await, ("0.00".into(), "0.00".into()));
}

#[actix_web::test]
async fn fnd1_two_hundred_concurrent_mixed_operations_keep_the_ledger_sound() {
    use diesel::prelude::*;
    use weigongbao::platform::db::schema::{ledger_accounts, ledger_entries};
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "1000.00").await;
    let payee = app.payee(&user).await;
    // A pending withdrawal to settle concurrently, both ways.
    let mut pending = Vec::new();
    for i in 0..20 {
        let r = app
            .money_post(
                &user,
                "/api/v1/me/account/withdrawals",
                &format!("pre-{i}"),
                app.withdraw_body(&user, "5.00").await,
            )
            .await;
        r.assert(201);
        pending.push(r.json["id"].as_str().unwrap().to_string());
    }
    let ops = (0..200).map(|i| {
        let app = &app;
        let user = &user;
        let pending = &pending;
        async move {
            match i % 5 {
                0..=2 => app
                    .money_post(user, "/api/v1/me/account/withdrawals", &format!("op-{i}"),
                        json!({"amount": format!("{}.{:02}", 3 + i % 17, i % 100), "channel": "sandbox", "payee_account_id": payee}))
                    .await
                    .status
                    .as_u16(),
                3 => {
                    let r = app
                        .money_post(user, "/api/v1/me/account/top-ups", &format!("op-{i}"), json!({"amount": "2.00", "channel": "sandbox"}))
                        .await;
                    app.sandbox_complete(user, r.json["id"].as_str().unwrap(), i % 2 == 0).await.status.as_u16()
                }
                _ => app.sandbox_complete(user, &pending[(i / 5) % 20], i % 3 != 0).await.status.as_u16(),
            }
        }
    });
    let statuses = join_all(ops).await;
    assert!(
        statuses.iter().all(|s| [200, 201, 409].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&409),
        "some withdrawals must have run out of funds"
    );

    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
    // No balance below zero at any point: every entry's balance_after on
    // the user's accounts is >= 0.
    let mut conn = app.state.pool.get().unwrap();
    let min_after: Option<i64> = ledger_entries::table
        .inner_join(ledger_accounts::table)
        .filter(ledger_accounts::owner_id.eq(user.id))
        .select(diesel::dsl::min(ledger_entries::balance_after))
        .first(&mut conn)
        .unwrap();
    assert!(min_after.unwrap() >= 0);
    let sum: Option<i64> = ledger_entries::table
        .inner_join(ledger_accounts::table)
        .filter(ledger_accounts::code.eq(format!("user:{}:available", user.id)))
        .select(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::BigInt>,
        >("CAST(SUM(ledger_entries.amount) AS BIGINT)"))
        .first(&mut conn)
        .unwrap();
    let (available, _) = app.balances(&user).await;
    assert_eq!(
        weigongbao::platform::money::format_fen(sum.unwrap()),
        available
    );
}

#[actix_web::test]
async fn fnd3_internal_operations_hold_release_capture_transfer_refund_reverse() {
    let app = TestApp::new().await;
    let employer = app.user().await;
    let provider = app.user().await;
    app.fund(&employer, "200.00").await;
    let r = |kind: &'static str| Reference {
        kind,
        object_type: "test",
        object_id: "1".into(),
        memo: kind.into(),
    };
    let (e, p) = (employer.id, provider.id);
    let captured = app
        .state
        .tx(move |conn, st| {
            ledger::hold(conn, st, e, 150_00, &r("award_hold"))?;
            ledger::release(conn, st, e, 50_00, &r("award_release"))?;
            // MKT-4: 100.00 held, 5% fee.
            let captured = ledger::capture(conn, st, e, p, 100_00, 5_00, &r("award_capture"))?;
            ledger::transfer(conn, st, p, e, 10_00, &r("compensation"))?;
            Ok(captured)
        })
        .await
        .unwrap();
    assert_eq!(
        app.balances(&employer).await,
        ("110.00".into(), "0.00".into())
    );
    assert_eq!(
        app.balances(&provider).await,
        ("85.00".into(), "0.00".into())
    );

    // Holding more than is available fails whole and changes nothing.
    let err = app
        .state
        .tx(move |conn, st| ledger::hold(conn, st, e, 999_00, &r("award_hold")))
        .await
        .unwrap_err();
    assert_eq!(err.code, "funds.insufficient");
    // A correction is a reversing transaction, once.
    app.state
        .tx(move |conn, st| ledger::reverse(conn, st, captured, "appeal upheld"))
        .await
        .unwrap_err(); // the provider no longer has the 95.00 to give back
    app.state
        .tx(move |conn, st| ledger::transfer(conn, st, e, p, 10_00, &r("top_up_provider")))
        .await
        .unwrap();
    app.state
        .tx(move |conn, st| ledger::reverse(conn, st, captured, "appeal upheld"))
        .await
        .unwrap();
    assert_eq!(
        app.balances(&employer).await,
        ("100.00".into(), "100.00".into())
    );
    assert_eq!(
        app.balances(&provider).await,
        ("0.00".into(), "0.00".into())
    );
    // Captured again, and 1.00 of the fee refunded from platform revenue.
    app.state
        .tx(move |conn, st| {
            ledger::capture(conn, st, e, p, 100_00, 5_00, &r("award_capture"))?;
            ledger::refund_fee(conn, st, e, 1_00, &r("fee_refund"))
        })
        .await
        .unwrap();
    assert_eq!(
        app.balances(&employer).await,
        ("101.00".into(), "0.00".into())
    );
    assert_eq!(
        app.balances(&provider).await,
        ("95.00".into(), "0.00".into())
    );
    let again = app
        .state
        .tx(move |conn, st| ledger::reverse(conn, st, captured, "twice"))
        .await
        .unwrap_err();
    assert_eq!(again.code, "ledger.already_reversed");
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["entries_total"], "0.00");
}

#[actix_web::test]
async fn fnd3_finance_reads_accounts_and_reconciliation_others_cannot() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "12.34").await;
    app.get("/api/v1/admin/ledger/check")
        .bearer(&user.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
    let finance = app.staff(weigongbao::users::models::Role::Finance).await;
    let res = app
        .get(&format!("/api/v1/admin/users/{}/account", user.id))
        .bearer(&finance.access)
        .send()
        .await;
    res.assert(200);
    assert_eq!(res.json["account"]["available"], "12.34");
    assert_eq!(res.json["entries"]["items"][0]["amount"], "12.34");
    assert!(
        app.audit_actions("user", &user.id.to_string())
            .await
            .contains(&"account.view".to_string())
    );
    let moderator = app.staff(weigongbao::users::models::Role::Moderator).await;
    app.get(&format!("/api/v1/admin/users/{}/account", user.id))
        .bearer(&moderator.access)
        .send()
        .await
        .assert_problem(403, "auth.forbidden");
}

#[actix_web::test]
async fn fnd2_sandbox_is_off_in_production_settings() {
    let app = TestApp::with_settings(&[("PAYMENT_SANDBOX_ENABLED", "false")]).await;
    let user = app.user().await;
    app.money_post(
        &user,
        "/api/v1/me/account/top-ups",
        "k",
        json!({"amount": "1.00", "channel": "sandbox"}),
    )
    .await
    .assert_problem(422, "payment.channel_unavailable");
    app.sandbox_complete(&user, "anything", true)
        .await
        .assert_problem(404, "payment.not_found");
}

#[actix_web::test]
async fn fnd2_concurrent_duplicates_of_one_key_move_money_once() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "50.00").await;
    let body = app.withdraw_body(&user, "20.00").await;
    let replies = join_all((0..6).map(|_| {
        app.money_post(
            &user,
            "/api/v1/me/account/withdrawals",
            "same",
            body.clone(),
        )
    }))
    .await;
    let created: Vec<&common::Res> = replies
        .iter()
        .filter(|r| r.status.as_u16() == 201)
        .collect();
    assert!(!created.is_empty());
    for r in &replies {
        match r.status.as_u16() {
            201 => assert_eq!(r.json["id"], created[0].json["id"]),
            409 => assert_eq!(r.code(), "idempotency.in_progress"),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(app.balances(&user).await, ("30.00".into(), "20.00".into()));
}

#[actix_web::test]
async fn fnd2_a_claim_left_by_a_crashed_request_is_taken_over_once() {
    use diesel::prelude::*;
    use weigongbao::platform::db::schema::idempotency_keys as keys;
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "50.00").await;
    let body = app.withdraw_body(&user, "20.00").await;
    // A request that claimed the key two minutes ago and died (its work
    // rolled back with it).
    let print = weigongbao::funds::idempotency::fingerprint(
        "POST /me/account/withdrawals",
        &serde_json::from_value::<weigongbao::funds::payments::WithdrawalRequest>(body.clone())
            .unwrap(),
    );
    {
        let mut conn = app.state.pool.get().unwrap();
        diesel::insert_into(keys::table)
            .values((
                keys::user_id.eq(user.id),
                keys::idem_key.eq("crashed"),
                keys::fingerprint.eq(print),
                keys::status.eq("in_progress"),
                keys::created_at.eq(app.clock_now().naive_utc() - chrono::Duration::minutes(2)),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let retried = app
        .money_post(
            &user,
            "/api/v1/me/account/withdrawals",
            "crashed",
            body.clone(),
        )
        .await;
    retried.assert(201);
    let again = app
        .money_post(&user, "/api/v1/me/account/withdrawals", "crashed", body)
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.balances(&user).await, ("30.00".into(), "20.00".into()));
}
