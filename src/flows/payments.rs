//! Money through a channel, where several features meet: a verified
//! callback settles its payment in funds, then the payment's [`Purpose`]
//! decides which feature moves the money (funds for top-ups and
//! withdrawals, the deposit for deposit payments and refund payouts); a
//! withdrawal first asks conduct whether a suspension covers it.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::funds::payments::{self, Direction, PaymentRequest, PaymentView, Purpose, Settlement};
use crate::funds::routes::{CallbackAck, payment_post};
use crate::platform::channels::{CallbackEvent, PaymentChannel};
use crate::platform::db::DbConnection;
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
    req: &PaymentRequest,
) -> AppResult<PaymentView> {
    crate::conduct::require_service(conn, st, user_id, crate::conduct::Service::Withdrawal)?;
    payments::create_withdrawal(conn, st, user_id, req)
}

/// Withdraw to a channel. The amount is held at once and paid out when the
/// channel confirms; a failed payout returns it.
#[utoipa::path(
    operation_id = "me_withdrawals_create",
    tag = "funds",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended withdrawal; a repeat returns the first result",
        pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "Pending withdrawal; the amount is held", body = PaymentView),
        (status = 409, description = "Insufficient available funds (`funds.insufficient`) or the same key still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount, unavailable channel (`payment.channel_unavailable`), or key reused for another request (`idempotency.key_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/account/withdrawals")]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: crate::platform::http::Json<PaymentRequest>,
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

async fn handle_callback(
    state: &AppState,
    channel_name: String,
    timestamp: Option<String>,
    signature: Option<String>,
    raw: web::Bytes,
) -> AppResult<CallbackAck> {
    // Signature and freshness first, outside any transaction: a forged
    // callback costs no connection and no write lock.
    let channel = state.channels.get(&channel_name).ok_or_else(|| {
        AppError::not_found(
            "payment.channel_unknown",
            "未知的支付渠道",
            "Unknown payment channel",
        )
    })?;
    let event = channel
        .verify_callback(
            timestamp.as_deref(),
            signature.as_deref(),
            &raw,
            state.clock.now().timestamp(),
        )
        .map_err(payments::callback_error)?;
    state
        .tx(move |conn, st| {
            let payment = apply_callback(conn, st, &channel_name, &event)?;
            Ok(CallbackAck {
                status: "ok",
                payment,
            })
        })
        .await
}

/// A payment channel's signed notification (`alipay` or `wechat`). Headers
/// `X-Timestamp` (unix seconds) and `X-Signature` (hex HMAC-SHA256 over
/// `"{timestamp}.{raw body}"` with the channel's secret). Replays are
/// answered OK and move no money again.
#[utoipa::path(
    operation_id = "payments_callback",
    tag = "payments",
    params(
        ("channel" = String, Path, description = "`alipay` or `wechat`", pattern = "^(alipay|wechat)$"),
        ("X-Timestamp" = String, Header, description = "Unix seconds; must be within the tolerance window"),
        ("X-Signature" = String, Header, description = "Hex HMAC-SHA256 of `{timestamp}.{raw body}`"),
    ),
    request_body = crate::platform::channels::CallbackEvent,
    responses(
        (status = 200, description = "Applied (or already applied)", body = CallbackAck),
        (status = 401, description = "Bad signature (`payment.bad_signature`) or stale timestamp (`payment.stale_callback`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown channel or payment", body = Problem, content_type = "application/problem+json"),
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
) -> AppResult<web::Json<CallbackAck>> {
    let channel = channel.into_inner();
    if !["alipay", "wechat"].contains(&channel.as_str()) {
        return Err(AppError::not_found(
            "payment.channel_unknown",
            "未知的支付渠道",
            "Unknown payment channel",
        ));
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let ack = handle_callback(
        &state,
        channel,
        header("X-Timestamp"),
        header("X-Signature"),
        raw,
    )
    .await?;
    Ok(web::Json(ack))
}

/// The outcome to simulate in the sandbox.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxOutcome {
    /// `true` (default) to succeed, `false` to fail.
    pub succeed: Option<bool>,
}

/// Sandbox only: complete one of the caller's sandbox payments. Signs a
/// channel callback and sends it through the same code path as a real one.
/// Answers 404 where the sandbox is disabled (production by default).
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
    let Some(channel) = state.channels.get("sandbox") else {
        return Err(not_found());
    };
    let public_id = payment_id.into_inner();
    let (user_id, id) = (user.user_id, public_id.clone());
    let (channel_name, amount, direction) = state
        .run(move |conn, _| payments::owned(conn, user_id, &id))
        .await?;
    if channel_name != "sandbox" {
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
    let ack = handle_callback(
        &state,
        "sandbox".into(),
        Some(ts.to_string()),
        Some(signature),
        raw.into(),
    )
    .await?;
    Ok(web::Json(ack))
}
