//! Money through a channel, where several features meet: a verified
//! callback settles its payment in funds, then the payment's [`Purpose`]
//! decides which feature moves the money (funds for top-ups and
//! withdrawals, the deposit for deposit payments and refund payouts); a
//! withdrawal first asks conduct whether a suspension covers it.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::funds::payments::{
    self, Direction, PaymentView, Purpose, Settlement, WithdrawalRequest,
};
use crate::funds::routes::{CallbackAck, payment_post};
use crate::platform::channels::{Ack, CallbackEvent, Payout, Remote};
use crate::platform::db::{DbConnection, write_tx};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::state::AppState;

/// Applies a verified callback: the payment settles once, then its
/// purpose's owner moves the money, all in the caller's transaction.
pub fn apply_callback(
    conn: &mut DbConnection,
    st: &AppState,
    channel_name: &str,
    event: &CallbackEvent,
) -> AppResult<PaymentView> {
    let settled = match payments::settle(conn, st, channel_name, event)? {
        Settlement::Replayed(view) => return Ok(view),
        Settlement::Settled(settled) => settled,
    };
    match settled.purpose {
        Purpose::Funds => payments::apply_funds(conn, st, &settled)?,
        Purpose::Deposit => crate::conduct::deposit::apply_callback(conn, st, &settled)?,
        Purpose::DepositRefund => {
            crate::conduct::deposit::apply_callback(conn, st, &settled)?;
            if settled.succeeded {
                // DEP-7: after the refund the provider leaves the platform:
                // live bids are withdrawn.
                crate::marketplace::bids::withdraw_all_of(conn, st, settled.user_id)?;
                // WRK-4, DR §3.3: and their works come off the profile.
                crate::works::remove_all_of(conn, st, settled.user_id)?;
            }
        }
    }
    payments::view_of(conn, st, settled.id)
}

/// Holds the amount and asks the channel to pay it out, unless a
/// suspension covers withdrawals (VIO-3).
fn create_withdrawal(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    req: &WithdrawalRequest,
) -> AppResult<PaymentView> {
    crate::conduct::require_service(conn, st, user_id, crate::conduct::Service::Withdrawal)?;
    payments::create_withdrawal(conn, st, user_id, req)
}

/// Withdraw to one of the caller's bound payee accounts (FND-4). The
/// amount is held at once and paid out when the channel confirms; a failed
/// payout returns it.
#[utoipa::path(
    operation_id = "me_withdrawals_create",
    tag = "funds",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended withdrawal; a repeat returns the first result",
        pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = WithdrawalRequest,
    responses(
        (status = 201, description = "Pending withdrawal; the amount is held", body = PaymentView),
        (status = 409, description = "Insufficient available funds (`funds.insufficient`) or the same key still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount, unavailable channel (`payment.channel_unavailable`), no such bound payee (`payee.not_bound`), a payee of another channel (`payee.channel_mismatch`), or key reused for another request (`idempotency.key_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/account/withdrawals")]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: crate::platform::http::Json<WithdrawalRequest>,
) -> AppResult<HttpResponse> {
    payment_post(
        &state,
        user.user_id,
        &req,
        body.into_inner(),
        "POST /me/account/withdrawals",
        create_withdrawal,
    )
    .await
}

/// How many payouts or overdue payments one scheduler run takes.
const CHANNEL_BATCH: i64 = 50;

/// Applies what a channel said (a transfer's answer, a query's) in one
/// transaction; `submitted`: first record that the payout was sent (false
/// when another runner already did, and then nothing is applied).
fn apply_remote(
    conn: &mut DbConnection,
    st: &AppState,
    p: &payments::Outstanding,
    remote: &Remote,
    submitted: bool,
) -> AppResult<bool> {
    let event = payments::event_from_remote(st, p, remote);
    let detail = match remote {
        Remote::Pending { detail } => detail.clone(),
        _ => None,
    };
    write_tx(conn, |c| {
        if submitted && !payments::mark_submitted(c, st, p.id, detail.as_deref())? {
            return Ok(false);
        }
        match &event {
            Some(event) => {
                apply_callback(c, st, &p.channel, event)?;
                Ok(true)
            }
            None => {
                if !submitted {
                    payments::mark_queried(c, st, p.id, detail.as_deref())?;
                }
                Ok(false)
            }
        }
    })
}

/// Scheduler (FND-5): pending payouts of real channels go to the channel's
/// transfer API (the payment id is the transfer's own number there, so a
/// second runner's resubmission pays once). An answer that settles them
/// settles them now; otherwise the callback or a later query does.
/// Returns how many were sent.
pub fn submit_payouts(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let mut sent = 0;
    for p in payments::payouts_to_submit(conn, st, CHANNEL_BATCH)? {
        let Some(channel) = st.channels.get(&p.channel) else {
            continue;
        };
        let Some(payee_id) = p.payee_account_id else {
            log::error!("payout {} has no payee; left pending", p.public_id);
            continue;
        };
        let payee = crate::funds::payees::for_payout(conn, payee_id)?;
        let payout = Payout {
            payment_id: &p.public_id,
            amount_fen: p.amount,
            identifier: &payee.identifier,
            real_name: payee.real_name.as_deref(),
            remark: "微工宝提现",
        };
        // The channel is asked with no transaction open.
        match channel.submit_payout(&payout, st.clock.now().timestamp()) {
            Ok(remote) => match apply_remote(conn, st, &p, &remote, true) {
                Ok(_) => sent += 1,
                Err(e) => log::error!(
                    "payout {} answer not applied: {}",
                    p.public_id,
                    e.cause.as_deref().unwrap_or(&e.code)
                ),
            },
            Err(e) => {
                log::warn!("payout {} not sent, tried again later: {e}", p.public_id);
                // The try's time: the payouts after it go first meanwhile.
                if let Err(e) = payments::mark_queried(conn, st, p.id, None) {
                    log::error!("payout {} try not recorded: {}", p.public_id, e.code);
                }
            }
        }
    }
    Ok(sent)
}

/// Scheduler (FND-5): a payment whose callback has not come within
/// `PAYMENT_QUERY_AFTER_SECS` is looked up at its channel and settled by
/// the answer, exactly once (the same conditional settlement as a
/// callback, so a callback arriving meanwhile is not applied twice).
/// Returns how many were settled.
pub fn query_overdue(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let after = st.settings.payments.query_after_secs;
    let mut settled = 0;
    for p in payments::overdue(conn, st, after, CHANNEL_BATCH)? {
        let Some(channel) = st.channels.get(&p.channel) else {
            continue;
        };
        let payout = p.direction == Direction::Withdrawal;
        let remote = match channel.query(&p.public_id, payout, st.clock.now().timestamp()) {
            Ok(remote) => remote,
            Err(e) => {
                // No answer is no news: nothing is settled (or given up on)
                // without the channel's word; asked again later.
                log::warn!("payment {} query failed: {e}", p.public_id);
                if let Err(e) = payments::mark_queried(conn, st, p.id, None) {
                    log::error!("payment {} query not recorded: {}", p.public_id, e.code);
                }
                continue;
            }
        };
        match apply_remote(conn, st, &p, &remote, false) {
            Ok(true) => settled += 1,
            Ok(false) => {}
            Err(e) => log::error!(
                "payment {} query answer not applied: {}",
                p.public_id,
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    Ok(settled)
}

/// Settles a verified callback's event in one transaction (nothing for a
/// genuine notice that settles nothing).
async fn settle_verified(
    state: &AppState,
    channel_name: String,
    event: Option<CallbackEvent>,
) -> AppResult<Option<PaymentView>> {
    let Some(event) = event else {
        return Ok(None);
    };
    state
        .tx(move |conn, st| apply_callback(conn, st, &channel_name, &event).map(Some))
        .await
}

fn unknown_channel() -> AppError {
    AppError::not_found(
        "payment.channel_unknown",
        "未知的支付渠道",
        "Unknown payment channel",
    )
}

/// A payment channel's notification, in the channel's own protocol
/// (FND-5):
/// - `alipay`: Alipay's asynchronous notification, form-encoded, signed
///   RSA2 (verified with Alipay's public key); answered `success`.
/// - `wechat`: WeChat Pay v3, JSON with an AES-256-GCM encrypted
///   `resource`, signed in `Wechatpay-Signature` over
///   `Wechatpay-Timestamp`, `Wechatpay-Nonce` and the body (verified with
///   the platform public key named by `Wechatpay-Serial`); answered 204.
///
/// The payment settles once; replays are acknowledged and move no money.
#[utoipa::path(
    operation_id = "payments_callback",
    tag = "payments",
    params(
        ("channel" = String, Path, description = "`alipay` or `wechat`", pattern = "^(alipay|wechat)$"),
        ("Wechatpay-Timestamp" = Option<String>, Header, description = "WeChat Pay: unix seconds, within the tolerance window"),
        ("Wechatpay-Nonce" = Option<String>, Header, description = "WeChat Pay: the signature's nonce"),
        ("Wechatpay-Signature" = Option<String>, Header, description = "WeChat Pay: base64 SHA256withRSA of `timestamp\\nnonce\\nbody\\n`"),
        ("Wechatpay-Serial" = Option<String>, Header, description = "WeChat Pay: the platform key's serial or id"),
    ),
    request_body(content = String, description = "The channel's notification as sent (Alipay: form-encoded parameters; WeChat Pay: JSON)", content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Alipay: applied (or already applied), answered `success`", body = String, content_type = "text/plain"),
        (status = 204, description = "WeChat Pay: applied (or already applied)"),
        (status = 400, description = "Malformed notification (`payment.malformed_callback`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad signature (`payment.bad_signature`) or stale timestamp (`payment.stale_callback`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or unconfigured channel, or unknown payment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed with another outcome", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Amount (`payment.amount_mismatch`) or event (`payment.event_mismatch`) does not match the payment (refused and logged)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/payments/callbacks/{channel}")]
pub async fn callback(
    state: web::Data<AppState>,
    channel: web::Path<String>,
    req: HttpRequest,
    raw: web::Bytes,
) -> AppResult<HttpResponse> {
    let channel_name = channel.into_inner();
    if !["alipay", "wechat"].contains(&channel_name.as_str()) {
        return Err(unknown_channel());
    }
    // Signature (and freshness) first, outside any transaction: a forged
    // callback costs no connection and no write lock.
    let channel = state
        .channels
        .get(&channel_name)
        .ok_or_else(unknown_channel)?;
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let event = channel
        .verify_callback(&header, &raw, state.clock.now().timestamp())
        .map_err(payments::callback_error)?;
    let ack = channel.ack();
    let payment = settle_verified(&state, channel_name, event).await?;
    Ok(match ack {
        Ack::Text(text) => HttpResponse::Ok().content_type("text/plain").body(text),
        Ack::NoContent => HttpResponse::NoContent().finish(),
        Ack::Json => HttpResponse::Ok().json(CallbackAck {
            status: "ok",
            payment,
        }),
    })
}

/// The outcome to simulate in the sandbox.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxOutcome {
    /// `true` (default) to succeed, `false` to fail.
    pub succeed: Option<bool>,
}

/// Sandbox only: complete a sandbox payment: one of the caller's, or, for
/// finance staff, anyone's (a staff payout to a sealed user, FND-6). Signs
/// a channel callback and sends it through the same verification and
/// settlement as a real one. Answers 404 where the sandbox is disabled
/// (production by default).
#[utoipa::path(
    operation_id = "payments_sandbox_complete",
    tag = "payments",
    params(("payment_id" = String, Path, description = "The payment id")),
    request_body = SandboxOutcome,
    responses(
        (status = 200, description = "Completed (or already completed the same way)", body = CallbackAck),
        (status = 404, description = "Sandbox disabled, or no such sandbox payment of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed with the other outcome (`payment.already_completed`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/payments/sandbox/{payment_id}/complete")]
pub async fn sandbox_complete(
    state: web::Data<AppState>,
    user: AuthUser,
    payment_id: web::Path<String>,
    body: crate::platform::http::Json<SandboxOutcome>,
) -> AppResult<web::Json<CallbackAck>> {
    let not_found = || AppError::not_found("payment.not_found", "支付单不存在", "No such payment");
    let Some(channel) = state.channels.sandbox() else {
        return Err(not_found());
    };
    let public_id = payment_id.into_inner();
    let finance = matches!(
        user.role,
        crate::auth::accounts::Role::Finance | crate::auth::accounts::Role::Admin
    );
    let (user_id, id) = (user.user_id, public_id.clone());
    let (channel_name, amount, direction) = state
        .run(move |conn, _| payments::owned(conn, (!finance).then_some(user_id), &id))
        .await?;
    // Finance completes payouts of others (a sealed user's), never their
    // top-ups (that would create money).
    let own = state
        .run({
            let id = public_id.clone();
            move |conn, _| Ok(payments::owned(conn, Some(user_id), &id).is_ok())
        })
        .await?;
    if channel_name != "sandbox" || (!own && direction == Direction::TopUp) {
        return Err(not_found());
    }
    let succeed = body.succeed.unwrap_or(true);
    let event = match (direction == Direction::TopUp, succeed) {
        (true, true) => "payment_succeeded",
        (true, false) => "payment_failed",
        (false, true) => "payout_succeeded",
        (false, false) => "payout_failed",
    };
    let raw = serde_json::to_vec(&serde_json::json!({
        "payment_id": public_id,
        "event": event,
        "amount": crate::platform::money::format_fen(amount),
        "channel_reference": format!("sandbox-{}", uuid::Uuid::new_v4().simple()),
    }))
    .map_err(AppError::internal)?;
    let ts = state.clock.now().timestamp();
    let signature = channel.sign(ts, &raw);
    let event = channel
        .verify(Some(&ts.to_string()), Some(&signature), &raw, ts)
        .map_err(payments::callback_error)?;
    let payment = settle_verified(&state, "sandbox".into(), Some(event)).await?;
    Ok(web::Json(CallbackAck {
        status: "ok",
        payment,
    }))
}
