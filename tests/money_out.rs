//! Money out (issue 17) over HTTP: payee accounts (FND-4), the channels'
//! own protocols against a fake Alipay gateway and WeChat Pay API (FND-5),
//! staff money operations with a second approver (FND-6), and
//! reconciliation with the channels' statements (FND-7).
// Amounts in fen are written yuan_fen (100_00 is 100.00 yuan).
#![allow(clippy::inconsistent_digit_grouping)]

mod common;

use chrono::Duration;
use common::channels;
use common::{Account, TestApp};
use serde_json::{Value, json};
use weigongbao::users::models::Role;

async fn bind(app: &TestApp, user: &Account, body: Value) -> common::Res {
    app.post("/api/v1/me/payee-accounts")
        .bearer(&user.access)
        .json(body)
        .send()
        .await
}

async fn money_op(app: &TestApp, staff: &Account, key: &str, body: Value) -> common::Res {
    app.post("/api/v1/admin/money-operations")
        .bearer(&staff.access)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
}

async fn approve(app: &TestApp, staff: &Account, id: i64) -> common::Res {
    app.post(&format!("/api/v1/admin/money-operations/{id}/approve"))
        .bearer(&staff.access)
        .send()
        .await
}

/// A withdrawal of `amount` through `channel` to payee `payee`.
async fn withdraw(
    app: &TestApp,
    user: &Account,
    key: &str,
    amount: &str,
    channel: &str,
    payee: i64,
) -> common::Res {
    app.money_post(
        user,
        "/api/v1/me/account/withdrawals",
        key,
        json!({"amount": amount, "channel": channel, "payee_account_id": payee}),
    )
    .await
}

async fn admin_balances(app: &TestApp, finance: &Account, user_id: i64) -> (String, String) {
    let res = app
        .get(&format!("/api/v1/admin/users/{user_id}/account"))
        .bearer(&finance.access)
        .send()
        .await;
    res.assert(200);
    (
        res.json["account"]["available"].as_str().unwrap().into(),
        res.json["account"]["held"].as_str().unwrap().into(),
    )
}

#[actix_web::test]
async fn fnd4_an_alipay_payee_needs_the_verified_name() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let alipay = json!({"kind": "alipay", "account": "13800138000", "real_name": "张三"});
    // Not verified yet: there is no name to compare with.
    bind(&app, &user, alipay.clone())
        .await
        .assert_problem(409, "payee.verification_required");
    app.verify(&user).await; // verified as 张三
    bind(
        &app,
        &user,
        json!({"kind": "alipay", "account": "13800138000", "real_name": "李四"}),
    )
    .await
    .assert_problem(422, "payee.name_mismatch");
    bind(
        &app,
        &user,
        json!({"kind": "alipay", "account": "not an account", "real_name": "张三"}),
    )
    .await
    .assert_problem(422, "payee.account_invalid");
    bind(
        &app,
        &user,
        json!({"kind": "alipay", "account": "13800138000"}),
    )
    .await
    .assert_problem(422, "payee.real_name_required");
    assert_eq!(
        app.get("/api/v1/me/payee-accounts")
            .bearer(&user.access)
            .send()
            .await
            .json,
        json!([])
    );
    let ok = bind(&app, &user, alipay.clone()).await;
    ok.assert(201);
    assert_eq!(ok.json["kind"], "alipay");
    assert_eq!(ok.json["account_masked"], "138****8000");
    assert_eq!(ok.json["real_name_masked"], "*三");
    assert!(!ok.text.contains("13800138000") && !ok.text.contains("张三"));
    // Bound once: a retry is refused, not bound twice.
    bind(&app, &user, alipay)
        .await
        .assert_problem(409, "payee.duplicate");
    let list = app
        .get("/api/v1/me/payee-accounts")
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(list.json.as_array().unwrap().len(), 1);
    assert!(!list.text.contains("13800138000"));
    // Another user cannot remove it; its owner can.
    let other = app.user().await;
    let id = ok.json["id"].as_i64().unwrap();
    app.req(
        actix_web::http::Method::DELETE,
        &format!("/api/v1/me/payee-accounts/{id}"),
    )
    .bearer(&other.access)
    .send()
    .await
    .assert_problem(404, "payee.not_found");
    app.req(
        actix_web::http::Method::DELETE,
        &format!("/api/v1/me/payee-accounts/{id}"),
    )
    .bearer(&user.access)
    .send()
    .await
    .assert(204);
    assert_eq!(
        app.get("/api/v1/me/payee-accounts")
            .bearer(&user.access)
            .send()
            .await
            .json,
        json!([])
    );
}

#[actix_web::test]
async fn fnd4_a_wechat_payee_comes_from_the_sign_in_code() {
    let app = TestApp::new().await;
    let user = app.user().await;
    bind(&app, &user, json!({"kind": "wechat", "code": "bad code!"}))
        .await
        .assert_problem(422, "payee.wechat_code_invalid");
    bind(
        &app,
        &user,
        json!({"kind": "wechat", "code": "081abc", "account": "x"}),
    )
    .await
    .assert_problem(422, "payee.field_not_allowed");
    let res = bind(&app, &user, json!({"kind": "wechat", "code": "081abc"})).await;
    res.assert(201);
    assert_eq!(res.json["kind"], "wechat");
    assert!(res.json["real_name_masked"].is_null());
    let masked = res.json["account_masked"].as_str().unwrap();
    assert!(masked.contains("****"), "{masked}");
    // The same WeChat user signing in again is the same payee.
    bind(&app, &user, json!({"kind": "wechat", "code": "081abc"}))
        .await
        .assert_problem(409, "payee.duplicate");
}

#[actix_web::test]
async fn fnd4_withdrawals_and_deposit_refunds_pay_only_to_a_bound_payee() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "100.00").await;
    // No payee bound: refused, nothing held.
    withdraw(&app, &user, "w-none", "10.00", "sandbox", 1)
        .await
        .assert_problem(422, "payee.not_bound");
    app.money_post(
        &user,
        "/api/v1/me/account/withdrawals",
        "w-missing",
        json!({"amount": "10.00", "channel": "sandbox"}),
    )
    .await
    .assert_problem(422, "request.invalid_body");
    // Someone else's payee is not the caller's.
    let other = app.user().await;
    let theirs = app.payee(&other).await;
    withdraw(&app, &user, "w-theirs", "10.00", "sandbox", theirs)
        .await
        .assert_problem(422, "payee.not_bound");
    assert_eq!(app.balances(&user).await, ("100.00".into(), "0.00".into()));
    // A deposit refund names one too.
    app.post("/api/v1/me/deposit/refund-request")
        .bearer(&user.access)
        .json(json!({"channel": "sandbox", "payee_account_id": theirs}))
        .send()
        .await
        .assert_problem(422, "payee.not_bound");
    // With a bound payee the withdrawal goes out and names it.
    let mine = app.payee(&user).await;
    let res = withdraw(&app, &user, "w-ok", "10.00", "sandbox", mine).await;
    res.assert(201);
    assert_eq!(res.json["payee_account_id"], mine);
    let listed = app
        .get("/api/v1/me/account/payments")
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(listed.json["items"][0]["id"], res.json["id"]);
    assert_eq!(app.balances(&user).await, ("90.00".into(), "10.00".into()));
}

#[actix_web::test]
async fn fnd4_a_payee_of_another_channel_is_refused() {
    let (app, _fake) = TestApp::with_channels(&[]).await;
    let user = app.verified_user().await;
    app.fund(&user, "100.00").await;
    let wechat = app.payee(&user).await;
    withdraw(&app, &user, "w-mismatch", "10.00", "alipay", wechat)
        .await
        .assert_problem(422, "payee.channel_mismatch");
    assert_eq!(app.balances(&user).await, ("100.00".into(), "0.00".into()));
}

fn pay_out(user_id: i64, amount: &str) -> Value {
    json!({"kind": "pay_out", "user_id": user_id, "amount": amount,
        "reason": "封号后结清余额", "serves_type": "account_settlement", "serves_id": user_id})
}

async fn seal(app: &TestApp, user: &Account) -> i64 {
    let moderator = app.staff(Role::Moderator).await;
    let res = app
        .post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(json!({
            "user_id": user.id, "category": "payment_misuse", "source": "regulator_notice",
            "facts": "利用平台洗钱。", "decision": "根本违约，封禁账号",
            "measures": [{"kind": "seal"}]
        }))
        .send()
        .await;
    res.assert(201);
    res.json["id"].as_i64().unwrap()
}

#[actix_web::test]
async fn fnd6_a_payout_above_the_threshold_waits_for_a_second_different_approver() {
    let app = TestApp::new().await;
    let user = app.verified_user().await;
    app.fund(&user, "2000.00").await;
    app.payee(&user).await;
    let violation = seal(&app, &user).await;
    let maker = app.staff(Role::Finance).await;
    let checker = app.staff(Role::Finance).await;
    let moderator = app.staff(Role::Moderator).await;
    // Finance only.
    money_op(&app, &moderator, "m-1", pay_out(user.id, "1500.00"))
        .await
        .assert(403);
    let body = json!({"kind": "pay_out", "user_id": user.id, "amount": "1500.00",
        "reason": "封号后结清余额", "serves_type": "violation", "serves_id": violation});
    let res = money_op(&app, &maker, "m-1", body.clone()).await;
    res.assert(201);
    assert_eq!(res.json["status"], "awaiting_approval");
    assert!(res.json["payment_id"].is_null());
    let id = res.json["id"].as_i64().unwrap();
    // Nothing moved yet; a retry of the request is the same operation.
    assert_eq!(
        admin_balances(&app, &maker, user.id).await,
        ("2000.00".into(), "0.00".into())
    );
    let again = money_op(&app, &maker, "m-1", body).await;
    assert_eq!(again.json["id"], id);
    // The maker cannot approve their own.
    approve(&app, &maker, id)
        .await
        .assert_problem(403, "money_operation.same_person");
    assert_eq!(
        admin_balances(&app, &maker, user.id).await,
        ("2000.00".into(), "0.00".into())
    );
    // A second finance person does: the payout starts (held until paid).
    let ok = approve(&app, &checker, id).await;
    ok.assert(200);
    assert_eq!(ok.json["status"], "executed");
    assert_eq!(ok.json["approved_by"], checker.id);
    assert_eq!(ok.json["created_by"], maker.id);
    assert!(ok.json["ledger_transaction_id"].as_i64().is_some());
    let payment = ok.json["payment_id"].as_str().unwrap().to_string();
    assert_eq!(
        admin_balances(&app, &maker, user.id).await,
        ("500.00".into(), "1500.00".into())
    );
    // Approving twice moves nothing twice.
    approve(&app, &checker, id)
        .await
        .assert_problem(409, "money_operation.already_decided");
    // The sandbox pays it out (finance completes it: the user is sealed).
    app.sandbox_complete(&checker, &payment, true)
        .await
        .assert(200);
    assert_eq!(
        admin_balances(&app, &maker, user.id).await,
        ("500.00".into(), "0.00".into())
    );
    let actions = app.audit_actions("money_operation", &id.to_string()).await;
    assert!(
        actions.contains(&"money_operation.create".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"money_operation.approve".to_string()),
        "{actions:?}"
    );
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd6_a_sealed_users_remaining_funds_are_paid_out_to_the_bound_payee() {
    let app = TestApp::new().await;
    let user = app.verified_user().await;
    app.fund(&user, "300.00").await;
    let payee = app.payee(&user).await;
    // Not sealed yet: an account settlement does not apply.
    let finance = app.staff(Role::Finance).await;
    money_op(&app, &finance, "s-0", pay_out(user.id, "300.00"))
        .await
        .assert_problem(422, "money_operation.serves_mismatch");
    seal(&app, &user).await;
    app.login(&user.member_name, common::PASSWORD)
        .await
        .assert_problem(403, "account.sealed");
    // At or below the threshold one finance person pays it out at once.
    let res = money_op(&app, &finance, "s-1", pay_out(user.id, "300.00")).await;
    res.assert(201);
    assert_eq!(res.json["status"], "executed");
    assert_eq!(res.json["payee_account_id"], payee);
    let payment = res.json["payment_id"].as_str().unwrap().to_string();
    // A retried request replays; nothing is paid twice.
    let again = money_op(&app, &finance, "s-1", pay_out(user.id, "300.00")).await;
    assert_eq!(again.json["payment_id"], json!(payment));
    assert_eq!(
        admin_balances(&app, &finance, user.id).await,
        ("0.00".into(), "300.00".into())
    );
    // More than is left: refused, nothing moves.
    money_op(&app, &finance, "s-2", pay_out(user.id, "0.01"))
        .await
        .assert_problem(409, "funds.insufficient");
    app.sandbox_complete(&finance, &payment, true)
        .await
        .assert(200);
    assert_eq!(
        admin_balances(&app, &finance, user.id).await,
        ("0.00".into(), "0.00".into())
    );
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd6_hold_release_compensate_and_refund_move_money_once_each() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "100.00").await;
    let finance = app.staff(Role::Finance).await;
    let other_finance = app.staff(Role::Finance).await;
    // A dispute or violation that is not this user's does not justify it.
    let stranger = app.user().await;
    let moderator = app.staff(Role::Moderator).await;
    let theirs = app
        .post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(json!({"user_id": stranger.id, "category": "refused_contact", "source": "inspection",
            "facts": "拒绝沟通。", "decision": "警告", "measures": [{"kind": "deduct_credit", "points": 1}]}))
        .send()
        .await;
    theirs.assert(201);
    let vid = theirs.json["id"].as_i64().unwrap();
    let op = |kind: &str, amount: &str, serves: i64| {
        json!({"kind": kind, "user_id": user.id, "amount": amount, "reason": "纠纷处理结果",
            "serves_type": "violation", "serves_id": serves})
    };
    money_op(&app, &finance, "h-0", op("hold", "10.00", vid))
        .await
        .assert_problem(422, "money_operation.serves_mismatch");
    money_op(&app, &finance, "h-00", op("hold", "10.00", 999_999))
        .await
        .assert_problem(422, "money_operation.serves_mismatch");
    let mine = app
        .post("/api/v1/admin/violations")
        .bearer(&moderator.access)
        .json(json!({"user_id": user.id, "category": "refused_contact", "source": "inspection",
            "facts": "拒绝沟通。", "decision": "警告", "measures": [{"kind": "deduct_credit", "points": 1}]}))
        .send()
        .await;
    let vid = mine.json["id"].as_i64().unwrap();
    for (key, body, want) in [
        ("h-1", op("hold", "30.00", vid), ("70.00", "30.00")),
        ("h-2", op("release", "10.00", vid), ("80.00", "20.00")),
        ("h-3", op("compensate", "5.00", vid), ("85.00", "20.00")),
    ] {
        let res = money_op(&app, &finance, key, body.clone()).await;
        res.assert(201);
        assert_eq!(res.json["status"], "executed", "{}", res.text);
        // The same key again: replayed, not moved twice.
        money_op(&app, &finance, key, body).await.assert(201);
        assert_eq!(
            admin_balances(&app, &finance, user.id).await,
            (want.0.into(), want.1.into())
        );
    }
    // Releasing more than staff holds keep for the item, refunding fees the
    // platform never took: refused, nothing moves.
    money_op(&app, &finance, "h-4", op("release", "50.00", vid))
        .await
        .assert_problem(409, "money_operation.release_exceeds_hold");
    money_op(&app, &finance, "h-5", op("refund", "1.00", vid))
        .await
        .assert_problem(409, "funds.insufficient");
    // Above the threshold: waits; rejected, nothing moves.
    let big = money_op(&app, &finance, "h-6", op("compensate", "5000.00", vid)).await;
    assert_eq!(big.json["status"], "awaiting_approval");
    let id = big.json["id"].as_i64().unwrap();
    let rejected = app
        .post(&format!("/api/v1/admin/money-operations/{id}/reject"))
        .bearer(&other_finance.access)
        .json(json!({"note": "金额有误"}))
        .send()
        .await;
    rejected.assert(200);
    assert_eq!(rejected.json["status"], "rejected");
    approve(&app, &other_finance, id)
        .await
        .assert_problem(409, "money_operation.already_decided");
    let waiting = app
        .get("/api/v1/admin/money-operations?status=awaiting_approval")
        .bearer(&finance.access)
        .send()
        .await;
    assert_eq!(waiting.json["items"], json!([]));
    assert_eq!(
        admin_balances(&app, &finance, user.id).await,
        ("85.00".into(), "20.00".into())
    );
    let kinds = app.notification_kinds(&user.access).await;
    assert!(kinds.contains(&"funds.staff_operation".to_string()));
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn acc9_reclamation_puts_remaining_funds_and_the_deposit_on_their_way_out() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "80.00").await;
    let payee = app.payee(&user).await;
    let finance = app.staff(Role::Finance).await;
    app.set_required(&finance, &user, "500.00", "风控要求")
        .await
        .assert(200);
    app.fund(&user, "500.00").await;
    let res = app
        .money_post(
            &user,
            "/api/v1/me/deposit/payments",
            "dep-1",
            json!({"channel": "sandbox"}),
        )
        .await;
    res.assert(201);
    let deposit_payment = res.json["id"].as_str().unwrap().to_string();
    app.sandbox_complete(&user, &deposit_payment, true)
        .await
        .assert(200);

    app.clock.advance(Duration::days(200));
    let report = app.run_jobs().await;
    assert!(report.accounts_reclaimed >= 1, "{report:?}");
    assert_eq!(report.settlements_opened, 1, "{report:?}");
    // FND-6: the available funds wait for a finance person, to the payee.
    let finance = app.staff(Role::Finance).await;
    let ops = app
        .get(&format!(
            "/api/v1/admin/money-operations?user_id={}",
            user.id
        ))
        .bearer(&finance.access)
        .send()
        .await;
    let op = &ops.json["items"][0];
    assert_eq!(op["kind"], "pay_out");
    assert_eq!(op["status"], "awaiting_approval");
    assert_eq!(op["amount"], "580.00");
    assert_eq!(op["payee_account_id"], payee);
    assert!(op["created_by"].is_null());
    let ok = approve(&app, &finance, op["id"].as_i64().unwrap()).await;
    ok.assert(200);
    assert_eq!(
        admin_balances(&app, &finance, user.id).await,
        ("0.00".into(), "580.00".into())
    );
    // Not opened twice.
    assert_eq!(app.run_jobs().await.settlements_opened, 0);
    // The deposit is on its way out too: its refund's observation started.
    let refunds = app
        .get("/api/v1/admin/deposit-refunds?status=observation")
        .bearer(&finance.access)
        .send()
        .await;
    assert!(
        refunds.text.contains(&format!("\"user_id\":{}", user.id)),
        "{}",
        refunds.text
    );
}

/// Today's date in Beijing (the statements' day).
fn beijing_today(app: &TestApp) -> String {
    (app.clock_now() + Duration::hours(8))
        .date_naive()
        .to_string()
}

async fn alipay_paid_top_up(app: &TestApp, user: &Account, amount: &str, trade_no: &str) -> String {
    let res = app
        .money_post(
            user,
            "/api/v1/me/account/top-ups",
            &format!("t-{trade_no}"),
            json!({"amount": amount, "channel": "alipay"}),
        )
        .await;
    res.assert(201);
    let id = res.json["id"].as_str().unwrap().to_string();
    let ack = app
        .post("/api/v1/payments/callbacks/alipay")
        .raw(
            "application/x-www-form-urlencoded",
            channels::alipay_paid(&id, amount, trade_no),
        )
        .send()
        .await;
    ack.assert(200);
    id
}

fn alipay_statement(rows: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        "#支付宝业务明细查询\n#账号：[20880211096256330156]\n#-----------------------------------------业务明细列表----------------------------------------\n支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\n",
    );
    for (trade_no, out_trade_no, amount) in rows {
        s.push_str(&format!("{trade_no}\t,{out_trade_no}\t,交易\t,微工宝账户充值,2026-11-28 10:55:16,2026-11-28 10:55:23,\t,\t,\t,\t,*三(138***@qq.com)\t,{amount},{amount},0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,0.00,0.00,\n"));
    }
    s.push_str("#-----------------------------------------业务明细列表结束------------------------------------\n#导出时间：[2026年11月29日 05:46:49]\n");
    s
}

#[actix_web::test]
async fn fnd7_a_statement_with_one_missing_and_one_mismatched_payment_lists_two_differences() {
    let (app, _fake) = TestApp::with_channels(&[]).await;
    let user = app.user().await;
    let a = alipay_paid_top_up(&app, &user, "100.00", "2026112822001400001").await;
    let b = alipay_paid_top_up(&app, &user, "50.00", "2026112822001400002").await;
    let c = alipay_paid_top_up(&app, &user, "20.00", "2026112822001400003").await;
    let finance = app.staff(Role::Finance).await;
    let date = beijing_today(&app);
    // A matches; B is 55.00 at Alipay; C is not in the statement.
    let statement = alipay_statement(&[
        ("2026112822001400001", &a, "100.00"),
        ("2026112822001400002", &b, "55.00"),
    ]);
    let path =
        format!("/api/v1/admin/reconciliation/statements?channel=alipay&statement_date={date}");
    app.post(&path)
        .bearer(&user.access)
        .raw("text/csv", statement.clone())
        .send()
        .await
        .assert(403);
    let (gbk, _, _) = encoding_rs::GBK.encode(&statement);
    let res = app
        .post(&path)
        .bearer(&finance.access)
        .raw("text/csv", gbk.into_owned())
        .send()
        .await;
    res.assert(201);
    assert_eq!(res.json["rows_read"], 2);
    assert_eq!(res.json["matched"], 1);
    let diffs = res.json["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 2, "{}", res.text);
    let amount = diffs
        .iter()
        .find(|d| d["kind"] == "amount_differs")
        .unwrap();
    assert_eq!(amount["payment_id"], json!(b));
    assert_eq!(amount["our_amount"], "50.00");
    assert_eq!(amount["their_amount"], "55.00");
    let missing = diffs
        .iter()
        .find(|d| d["kind"] == "missing_on_their_side")
        .unwrap();
    assert_eq!(missing["payment_id"], json!(c));
    assert_eq!(missing["channel_reference"], "2026112822001400003");
    // The same day again: refused.
    app.post(&path)
        .bearer(&finance.access)
        .raw("text/csv", statement)
        .send()
        .await
        .assert_problem(409, "reconciliation.already_imported");
    // Listed until resolved, with a reason.
    let open = app
        .get("/api/v1/admin/reconciliation/differences")
        .bearer(&finance.access)
        .send()
        .await;
    assert_eq!(open.json["items"].as_array().unwrap().len(), 2);
    let id = amount["id"].as_i64().unwrap();
    let resolve = |reason: &str| {
        app.post(&format!(
            "/api/v1/admin/reconciliation/differences/{id}/resolve"
        ))
        .bearer(&finance.access)
        .json(json!({"reason": reason}))
        .send()
    };
    resolve("")
        .await
        .assert_problem(422, "reconciliation.reason_required");
    let done = resolve("支付宝确认多收 5 元，已原路退回").await;
    done.assert(200);
    assert_eq!(done.json["resolved_by"], finance.id);
    resolve("again")
        .await
        .assert_problem(409, "reconciliation.already_resolved");
    let open = app
        .get("/api/v1/admin/reconciliation/differences")
        .bearer(&finance.access)
        .send()
        .await;
    assert_eq!(open.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(open.json["items"][0]["kind"], "missing_on_their_side");
    // Not a statement at all: a clear 422, nothing recorded.
    app.post(&format!(
        "/api/v1/admin/reconciliation/statements?channel=wechat&statement_date={date}"
    ))
    .bearer(&finance.access)
    .raw("text/csv", "hello,world\n")
    .send()
    .await
    .assert_problem(422, "reconciliation.unreadable_statement");
}

#[actix_web::test]
async fn fnd7_a_wechat_payment_we_never_heard_of_is_missing_on_our_side() {
    let (app, _fake) = TestApp::with_channels(&[]).await;
    let finance = app.staff(Role::Finance).await;
    let bill = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n`2026-11-28 17:07:11,`wxd678efh567hg6787,`1230000109,`0,`,`4200000925202611284997714292,`unknown-order,`ofyak5qR_1wYsC99CsWA6R9MJazA,`APP,`SUCCESS,`OTHERS,`CNY,`8.00,`0.00,`0,`0,`0.00,`0.00,`,`,`微工宝账户充值,`,`0.00000,`0.60%,`8.00,`0.00,`\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`8.00,`0.00,`0.00,`0.00000,`8.00,`0.00\n";
    let res = app
        .post(&format!(
            "/api/v1/admin/reconciliation/statements?channel=wechat&statement_date={}",
            beijing_today(&app)
        ))
        .bearer(&finance.access)
        .raw("text/csv", bill)
        .send()
        .await;
    res.assert(201);
    assert_eq!(res.json["differences"][0]["kind"], "missing_on_our_side");
    assert_eq!(res.json["differences"][0]["their_amount"], "8.00");
    assert_eq!(
        res.json["differences"][0]["channel_reference"],
        "4200000925202611284997714292"
    );
}

async fn wechat_top_up(app: &TestApp, user: &Account, amount: &str) -> Value {
    let res = app
        .money_post(
            user,
            "/api/v1/me/account/top-ups",
            &format!("wx-{}", common::unique()),
            json!({"amount": amount, "channel": "wechat"}),
        )
        .await;
    res.assert(201);
    res.json
}

async fn send_wechat(app: &TestApp, headers: &[(String, String)], body: Vec<u8>) -> common::Res {
    let mut req = app.post("/api/v1/payments/callbacks/wechat");
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.raw("application/json", body).send().await
}

#[actix_web::test]
async fn fnd5_a_wechat_top_up_is_prepaid_and_the_app_parameters_are_signed() {
    let (app, fake) = TestApp::with_channels(&[]).await;
    let user = app.user().await;
    let payment = wechat_top_up(&app, &user, "12.34").await;
    let id = payment["id"].as_str().unwrap();
    // The prepay order reached WeChat Pay, signed with our merchant key.
    assert_eq!(fake.state().prepaid.get(id), Some(&1234));
    assert_eq!(fake.state().bad_signatures, 0);
    let p = &payment["pay_params"];
    assert_eq!(p["appid"], channels::WECHAT_APP_ID);
    assert_eq!(p["partnerid"], channels::WECHAT_MCH_ID);
    assert_eq!(p["package"], "Sign=WXPay");
    let prepay = p["prepayid"].as_str().unwrap();
    assert!(prepay.starts_with("wx"));
    let message = format!(
        "{}\n{}\n{}\n{}\n",
        channels::WECHAT_APP_ID,
        p["timestamp"].as_str().unwrap(),
        p["noncestr"].as_str().unwrap(),
        prepay
    );
    let ours = rsa::RsaPublicKey::from(&channels::keys().ours);
    assert!(weigongbao::platform::channels::keys::verify(
        &ours,
        message.as_bytes(),
        p["sign"].as_str().unwrap()
    ));
}

#[actix_web::test]
async fn fnd5_a_wechat_v3_callback_is_verified_decrypted_and_applied_once() {
    let (app, _fake) = TestApp::with_channels(&[]).await;
    let user = app.user().await;
    let payment = wechat_top_up(&app, &user, "100.00").await;
    let id = payment["id"].as_str().unwrap();
    let now = app.clock_now().timestamp();
    let transaction = channels::wechat_transaction(id, 100_00, "4200000914202101195554393855");
    let (headers, body) = channels::wechat_notification(
        "TRANSACTION.SUCCESS",
        channels::wechat_resource("transaction", &transaction),
        now,
    );
    // A changed byte in the body: the signature fails.
    let mut tampered = body.clone();
    let at = tampered.len() - 10;
    tampered[at] ^= 1;
    send_wechat(&app, &headers, tampered)
        .await
        .assert_problem(401, "payment.bad_signature");
    // Signed by a key whose serial we do not hold.
    let mut other_serial = headers.clone();
    other_serial[3].1 = "PUB_KEY_ID_OTHER".into();
    send_wechat(&app, &other_serial, body.clone())
        .await
        .assert_problem(401, "payment.bad_signature");
    // Stale: signed an hour ago.
    let (old_headers, old_body) = channels::wechat_notification(
        "TRANSACTION.SUCCESS",
        channels::wechat_resource("transaction", &transaction),
        now - 3600,
    );
    send_wechat(&app, &old_headers, old_body)
        .await
        .assert_problem(401, "payment.stale_callback");
    // A resource encrypted with another APIv3 key: not from WeChat Pay.
    let mut forged = serde_json::from_slice::<Value>(&body).unwrap();
    forged["resource"]["ciphertext"] = json!(base64_of(b"not the ciphertext at all"));
    let forged = forged.to_string().into_bytes();
    send_wechat(&app, &channels::wechat_signature(&forged, now), forged)
        .await
        .assert_problem(401, "payment.bad_signature");
    assert_eq!(app.balances(&user).await, ("0.00".into(), "0.00".into()));
    // The genuine one, twice: 204 both times, credited once.
    send_wechat(&app, &headers, body.clone()).await.assert(204);
    send_wechat(&app, &headers, body).await.assert(204);
    assert_eq!(app.balances(&user).await, ("100.00".into(), "0.00".into()));
    assert_eq!(app.ledger_check().await["ok"], true);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[actix_web::test]
async fn fnd5_a_lost_callback_is_settled_once_by_the_order_query() {
    let (app, fake) = TestApp::with_channels(&[("PAYMENT_QUERY_AFTER_SECS", "600")]).await;
    let user = app.user().await;
    let wechat = wechat_top_up(&app, &user, "30.00").await;
    let wechat_id = wechat["id"].as_str().unwrap().to_string();
    let alipay = app
        .money_post(
            &user,
            "/api/v1/me/account/top-ups",
            "ali-lost",
            json!({"amount": "20.00", "channel": "alipay"}),
        )
        .await;
    let alipay_id = alipay.json["id"].as_str().unwrap().to_string();
    // Both paid at the channels; neither callback ever arrives.
    fake.state().paid.insert(
        wechat_id.clone(),
        ("4200000001202611280000000001".into(), 30_00),
    );
    fake.state()
        .paid
        .insert(alipay_id.clone(), ("2026112822001400099".into(), 20_00));
    // Not overdue yet: not asked.
    assert_eq!(app.run_jobs().await.payments_settled_by_query, 0);
    assert_eq!(app.balances(&user).await, ("0.00".into(), "0.00".into()));
    app.clock.advance(Duration::minutes(11));
    assert_eq!(app.run_jobs().await.payments_settled_by_query, 2);
    assert_eq!(app.balances(&user).await, ("50.00".into(), "0.00".into()));
    // Once: later runs, and the late callback, move nothing again.
    assert_eq!(app.run_jobs().await.payments_settled_by_query, 0);
    let transaction =
        channels::wechat_transaction(&wechat_id, 30_00, "4200000001202611280000000001");
    let (headers, body) = channels::wechat_notification(
        "TRANSACTION.SUCCESS",
        channels::wechat_resource("transaction", &transaction),
        app.clock_now().timestamp(),
    );
    send_wechat(&app, &headers, body).await.assert(204);
    let late = app
        .post("/api/v1/payments/callbacks/alipay")
        .raw(
            "application/x-www-form-urlencoded",
            channels::alipay_paid(&alipay_id, "20.00", "2026112822001400099"),
        )
        .send()
        .await;
    late.assert(200);
    assert_eq!(app.balances(&user).await, ("50.00".into(), "0.00".into()));
    let entries = app
        .get("/api/v1/me/account/entries")
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(entries.json["items"].as_array().unwrap().len(), 2);
    // The queries were signed as the channels require.
    {
        let state = fake.state();
        assert_eq!(state.bad_signatures, 0);
        assert!(
            state.log.iter().any(|l| l == "alipay.trade.query"),
            "{:?}",
            state.log
        );
        assert!(
            state
                .log
                .iter()
                .any(|l| l.starts_with("GET /v3/pay/transactions/out-trade-no/")),
            "{:?}",
            state.log
        );
    }
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd5_payouts_go_through_the_channels_transfer_apis() {
    let (app, fake) = TestApp::with_channels(&[]).await;
    let user = app.verified_user().await;
    app.fund(&user, "500.00").await;
    let alipay_payee = app.alipay_payee(&user, "13800138000").await;
    let wechat_payee = app.payee(&user).await;
    let to_alipay = withdraw(&app, &user, "out-1", "100.00", "alipay", alipay_payee).await;
    to_alipay.assert(201);
    let to_wechat = withdraw(&app, &user, "out-2", "50.00", "wechat", wechat_payee).await;
    to_wechat.assert(201);
    assert_eq!(
        app.balances(&user).await,
        ("350.00".into(), "150.00".into())
    );
    let report = app.run_jobs().await;
    assert_eq!(report.payouts_submitted, 2, "{report:?}");
    {
        let state = fake.state();
        assert_eq!(state.bad_signatures, 0);
        let alipay = state
            .transfers
            .iter()
            .find(|t| t["out_biz_no"] == to_alipay.json["id"])
            .expect("the Alipay transfer");
        assert_eq!(alipay["trans_amount"], "100.00");
        assert_eq!(alipay["product_code"], "TRANS_ACCOUNT_NO_PWD");
        assert_eq!(alipay["payee_info"]["identity"], "13800138000");
        assert_eq!(alipay["payee_info"]["name"], "张三");
        let wechat = state
            .transfers
            .iter()
            .find(|t| t["out_bill_no"] == to_wechat.json["id"])
            .expect("the WeChat transfer");
        assert_eq!(wechat["transfer_amount"], 50_00);
        assert!(wechat["openid"].as_str().unwrap().starts_with("dev_"));
    }
    // Alipay paid at once; WeChat waits for the user's confirmation, whose
    // package the app is shown.
    assert_eq!(app.balances(&user).await, ("350.00".into(), "50.00".into()));
    let wechat_id = to_wechat.json["id"].as_str().unwrap().to_string();
    let shown = app
        .get(&format!("/api/v1/me/account/payments/{wechat_id}"))
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(shown.json["status"], "pending");
    assert_eq!(
        shown.json["pay_params"]["package_info"],
        "affffddafdfafddffda=="
    );
    // Sent once: the next run does not send it again.
    assert_eq!(app.run_jobs().await.payouts_submitted, 0);
    assert_eq!(fake.state().transfers.len(), 2);
    // The user confirmed in WeChat; the callback is lost; the query settles it.
    fake.state()
        .wechat_transfer_state
        .insert(wechat_id.clone(), "SUCCESS".into());
    app.clock.advance(Duration::minutes(11));
    assert_eq!(app.run_jobs().await.payments_settled_by_query, 1);
    assert_eq!(app.balances(&user).await, ("350.00".into(), "0.00".into()));
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd5_a_refused_wechat_transfer_returns_the_hold() {
    let (app, fake) = TestApp::with_channels(&[]).await;
    let user = app.user().await;
    app.fund(&user, "60.00").await;
    let payee = app.payee(&user).await;
    let res = withdraw(&app, &user, "out-fail", "60.00", "wechat", payee).await;
    let id = res.json["id"].as_str().unwrap().to_string();
    fake.state()
        .wechat_transfer_state
        .insert(id.clone(), "FAIL".into());
    assert_eq!(app.run_jobs().await.payouts_submitted, 1);
    assert_eq!(app.balances(&user).await, ("60.00".into(), "0.00".into()));
    let kinds = app.notification_kinds(&user.access).await;
    assert!(kinds.contains(&"payment.withdrawal_failed".to_string()));
    // A transfer callback of the same outcome is acknowledged, moves nothing.
    let (headers, body) = channels::wechat_notification(
        "MCHTRANSFER.BILL.FINISHED",
        channels::wechat_resource(
            "mch_payment",
            &json!({"out_bill_no": id, "transfer_bill_no": "1330000071100999991182020050700019480001",
                "state": "FAIL", "mch_id": channels::WECHAT_MCH_ID, "transfer_amount": 60_00,
                "openid": "o-MYE42l80oelYMDE34nYD456Xoy", "fail_reason": "PAYEE_ACCOUNT_ABNORMAL"}),
        ),
        app.clock_now().timestamp(),
    );
    send_wechat(&app, &headers, body).await.assert(204);
    assert_eq!(app.balances(&user).await, ("60.00".into(), "0.00".into()));
}

#[actix_web::test]
async fn fnd6_a_release_never_frees_what_a_withdrawal_holds() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "500.00").await;
    let body = app.withdraw_body(&user, "500.00").await;
    app.money_post(&user, "/api/v1/me/account/withdrawals", "w-held", body)
        .await
        .assert(201);
    let finance = app.staff(Role::Finance).await;
    seal(&app, &user).await;
    let release = json!({"kind": "release", "user_id": user.id, "amount": "500.00",
        "reason": "误操作解冻", "serves_type": "account_settlement", "serves_id": user.id});
    money_op(&app, &finance, "r-1", release)
        .await
        .assert_problem(409, "money_operation.release_exceeds_hold");
    assert_eq!(
        admin_balances(&app, &finance, user.id).await,
        ("0.00".into(), "500.00".into())
    );
}

#[actix_web::test]
async fn fnd6_sealed_accounts_with_funds_are_put_to_finance_by_the_scheduler() {
    let app = TestApp::new().await;
    let user = app.user().await;
    app.fund(&user, "40.00").await;
    app.payee(&user).await;
    seal(&app, &user).await;
    assert_eq!(app.run_jobs().await.settlements_opened, 1);
    assert_eq!(app.run_jobs().await.settlements_opened, 0, "once");
    let finance = app.staff(Role::Finance).await;
    let ops = app
        .get(&format!(
            "/api/v1/admin/money-operations?user_id={}&status=awaiting_approval",
            user.id
        ))
        .bearer(&finance.access)
        .send()
        .await;
    assert_eq!(ops.json["items"][0]["amount"], "40.00");
    assert_eq!(ops.json["items"][0]["serves_type"], "account_settlement");
}

#[actix_web::test]
async fn fnd2_finance_completes_others_sandbox_payouts_but_never_their_top_ups() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let top_up = app
        .money_post(
            &user,
            "/api/v1/me/account/top-ups",
            "t-1",
            json!({"amount": "9.00", "channel": "sandbox"}),
        )
        .await;
    let finance = app.staff(Role::Finance).await;
    app.sandbox_complete(&finance, top_up.json["id"].as_str().unwrap(), true)
        .await
        .assert_problem(404, "payment.not_found");
    assert_eq!(app.balances(&user).await, ("0.00".into(), "0.00".into()));
}

#[actix_web::test]
async fn fnd5_a_top_up_closed_after_its_order_expired_is_still_credited_if_paid() {
    let (app, fake) = TestApp::with_channels(&[]).await;
    let user = app.user().await;
    let res = app
        .money_post(
            &user,
            "/api/v1/me/account/top-ups",
            "late",
            json!({"amount": "15.00", "channel": "alipay"}),
        )
        .await;
    let id = res.json["id"].as_str().unwrap().to_string();
    app.clock.advance(Duration::hours(3));
    let user = app.relog(&user).await;
    // After the order's life the app is offered nothing to pay with.
    let shown = app
        .get(&format!("/api/v1/me/account/payments/{id}"))
        .bearer(&user.access)
        .send()
        .await;
    assert!(shown.json["pay_params"].is_null(), "{}", shown.text);
    // A day later the channel still does not know it: closed as failed.
    app.clock.advance(Duration::hours(22));
    app.run_jobs().await;
    assert!(
        fake.state().log.iter().any(|l| l == "alipay.trade.query"),
        "asked the channel first"
    );
    let user = app.relog(&user).await;
    let shown = app
        .get(&format!("/api/v1/me/account/payments/{id}"))
        .bearer(&user.access)
        .send()
        .await;
    assert_eq!(shown.json["status"], "failed");
    // Should the channel report it paid after all, the money is credited.
    let late = app
        .post("/api/v1/payments/callbacks/alipay")
        .raw(
            "application/x-www-form-urlencoded",
            channels::alipay_paid(&id, "15.00", "2026112822001400777"),
        )
        .send()
        .await;
    late.assert(200);
    assert_eq!(app.balances(&user).await, ("15.00".into(), "0.00".into()));
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd5_an_alipay_transfer_with_an_unknown_outcome_is_sent_again_not_failed() {
    let (app, fake) = TestApp::with_channels(&[]).await;
    let user = app.verified_user().await;
    app.fund(&user, "100.00").await;
    let payee = app.alipay_payee(&user, "zhang@example.com").await;
    let res = withdraw(&app, &user, "unknown", "100.00", "alipay", payee).await;
    let id = res.json["id"].as_str().unwrap().to_string();
    fake.state().alipay_transfer_error = Some(json!({"code": "40004", "msg": "Business Failed",
        "sub_code": "SYSTEM_ERROR", "sub_msg": "系统繁忙"}));
    assert_eq!(app.run_jobs().await.payouts_submitted, 0);
    // Still held: the money may have gone; it is neither returned nor lost.
    assert_eq!(app.balances(&user).await, ("0.00".into(), "100.00".into()));
    // It waits its retry interval, other payouts going first meanwhile;
    // then the same transfer (same out_biz_no) goes through.
    fake.state().alipay_transfer_error = None;
    assert_eq!(app.run_jobs().await.payouts_submitted, 0);
    app.clock.advance(Duration::minutes(11));
    assert_eq!(app.run_jobs().await.payouts_submitted, 1);
    {
        let state = fake.state();
        assert_eq!(state.transfers.len(), 2);
        assert!(state.transfers.iter().all(|t| t["out_biz_no"] == json!(id)));
    }
    assert_eq!(app.balances(&user).await, ("0.00".into(), "0.00".into()));
    // A signed refusal about the payee is final: the hold comes back.
    app.fund(&user, "30.00").await;
    let again = withdraw(&app, &user, "refused", "30.00", "alipay", payee).await;
    again.assert(201);
    fake.state().alipay_transfer_error = Some(json!({"code": "40004", "msg": "Business Failed",
        "sub_code": "PAYEE_NOT_EXIST", "sub_msg": "收款账号不存在"}));
    app.run_jobs().await;
    assert_eq!(app.balances(&user).await, ("30.00".into(), "0.00".into()));
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[actix_web::test]
async fn fnd5_wechat_transfers_stay_below_the_nameless_limit() {
    let (app, _fake) = TestApp::with_channels(&[]).await;
    let user = app.user().await;
    app.fund(&user, "3000.00").await;
    let payee = app.payee(&user).await;
    withdraw(&app, &user, "big", "2000.00", "wechat", payee)
        .await
        .assert_problem(422, "payment.wechat_transfer_limit");
    assert_eq!(app.balances(&user).await, ("3000.00".into(), "0.00".into()));
    // Nor can a deposit of 2,000 yuan be refunded to WeChat.
    let finance = app.staff(Role::Finance).await;
    app.set_required(&finance, &user, "2000.00", "风控要求")
        .await
        .assert(200);
    app.fund(&user, "2000.00").await;
    let res = app
        .money_post(
            &user,
            "/api/v1/me/deposit/payments",
            "dep-big",
            json!({"channel": "sandbox"}),
        )
        .await;
    res.assert(201);
    app.sandbox_complete(&user, res.json["id"].as_str().unwrap(), true)
        .await
        .assert(200);
    app.post("/api/v1/me/deposit/refund-request")
        .bearer(&user.access)
        .json(json!({"channel": "wechat", "payee_account_id": payee}))
        .send()
        .await
        .assert_problem(422, "payment.wechat_transfer_limit");
}

#[actix_web::test]
async fn fnd7_a_statement_date_out_of_range_is_refused_clearly() {
    let app = TestApp::new().await;
    let finance = app.staff(Role::Finance).await;
    app.post("/api/v1/admin/reconciliation/statements?channel=alipay&statement_date=262142-12-31")
        .bearer(&finance.access)
        .raw("text/csv", "x")
        .send()
        .await
        .assert(400);
    app.post("/api/v1/admin/reconciliation/statements?channel=alipay&statement_date=1900-01-01")
        .bearer(&finance.access)
        .raw("text/csv", "x")
        .send()
        .await
        .assert_problem(422, "reconciliation.date_out_of_range");
    // An integer query parameter may be written as JSON Schema allows.
    app.get(&format!(
        "/api/v1/admin/money-operations?user_id={}.0",
        finance.id
    ))
    .bearer(&finance.access)
    .send()
    .await
    .assert(200);
}
