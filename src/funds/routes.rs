//! `/api/v1/me/account*`, `/api/v1/payments/*`, `/api/v1/admin/ledger/check`,
//! `/api/v1/admin/users/{id}/account`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::idempotency;
use super::payments::{self, PaymentRequest, PaymentView};
use super::reading::{self, AccountView, EntryView, LedgerCheck};
use crate::auth::{AuthUser, Finance, Staff};
use crate::platform::channels::PaymentChannel;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::paging::{Page, PageQuery};
use crate::platform::state::AppState;

/// The caller's balances.
#[utoipa::path(
    tag = "funds",
    responses((status = 200, description = "Available and held amounts", body = AccountView)),
    security(("bearer" = []))
)]
#[get("/me/account")]
pub async fn my_account(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<AccountView>> {
    let user_id = user.user_id;
    Ok(web::Json(
        state
            .run(move |conn, _| reading::account(conn, user_id))
            .await?,
    ))
}

/// The caller's ledger entries, newest first.
#[utoipa::path(
    tag = "funds",
    params(PageQuery),
    responses((status = 200, description = "Entries, newest first", body = Page<EntryView>)),
    security(("bearer" = []))
)]
#[get("/me/account/entries")]
pub async fn my_entries(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<EntryView>>> {
    let (user_id, page) = (user.user_id, page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| reading::entries(conn, user_id, &page))
            .await?,
    ))
}

/// Start a top-up. Returns the pending payment and what the app needs to
/// pay; the account is credited once the channel's signed callback arrives.
#[utoipa::path(
    tag = "funds",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended top-up; a repeat returns the first result",
        pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "Pending payment", body = PaymentView),
        (status = 409, description = "The same key is still being processed (`idempotency.in_progress`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount, unavailable channel, or the key was used for another request (`idempotency.key_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/account/top-ups")]
pub async fn top_up(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<PaymentRequest>,
) -> AppResult<HttpResponse> {
    payment_post(
        &state,
        user.user_id,
        &req,
        body.into_inner(),
        "POST /me/account/top-ups",
        payments::create_top_up,
    )
    .await
}

type CreatePayment = fn(
    &mut crate::platform::db::DbConnection,
    &AppState,
    i64,
    &PaymentRequest,
) -> AppResult<PaymentView>;

/// The idempotent part every money POST shares.
async fn payment_post(
    state: &AppState,
    user_id: i64,
    req: &HttpRequest,
    body: PaymentRequest,
    route: &str,
    create: CreatePayment,
) -> AppResult<HttpResponse> {
    let key = idempotency::key_from(req.headers())?;
    let print = idempotency::fingerprint(route, &body);
    idempotency::run(
        state,
        user_id,
        key,
        print,
        StatusCode::CREATED,
        move |conn, st| create(conn, st, user_id, &body),
    )
    .await
}

/// Withdraw to a channel. The amount is held at once and paid out when the
/// channel confirms; a failed payout returns it.
#[utoipa::path(
    tag = "funds",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended withdrawal; a repeat returns the first result",
        pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "Pending withdrawal; the amount is held", body = PaymentView),
        (status = 409, description = "Insufficient available funds (`funds.insufficient`) or the same key still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount, unavailable channel, or key reused for another request", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/account/withdrawals")]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Json<PaymentRequest>,
) -> AppResult<HttpResponse> {
    payment_post(
        &state,
        user.user_id,
        &req,
        body.into_inner(),
        "POST /me/account/withdrawals",
        payments::create_withdrawal,
    )
    .await
}

/// Acknowledgement of a callback.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackAck {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The payment's state after the callback.
    pub payment: PaymentView,
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
            let payment = payments::apply_callback(conn, st, &channel_name, &event)?;
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
    tag = "payments",
    params(
        ("channel" = String, Path, description = "`alipay` or `wechat`", pattern = "^(alipay|wechat)$"),
        ("X-Timestamp" = String, Header, description = "Unix seconds; must be within the tolerance window"),
        ("X-Signature" = String, Header, description = "Hex HMAC-SHA256 of `{timestamp}.{raw body}`"),
    ),
    request_body = crate::platform::channels::CallbackEvent,
    responses(
        (status = 200, description = "Applied (or already applied)", body = CallbackAck),
        (status = 401, description = "Bad signature or stale timestamp", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown channel or payment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed with another outcome", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Amount or event does not match the payment (refused and logged)", body = Problem, content_type = "application/problem+json"),
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
    body: web::Json<SandboxOutcome>,
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
    let event = match (direction == payments::direction::TOP_UP, succeed) {
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

/// Reconciliation: every balance against its entries, every transaction
/// summing to zero (finance).
#[utoipa::path(
    tag = "admin",
    responses((status = 200, description = "The report", body = LedgerCheck)),
    security(("bearer" = []))
)]
#[get("/admin/ledger/check")]
pub async fn ledger_check(
    state: web::Data<AppState>,
    _staff: Staff<Finance>,
) -> AppResult<web::Json<LedgerCheck>> {
    Ok(web::Json(state.run(|conn, _| reading::check(conn)).await?))
}

/// A user's funds: balances and entries (finance). The read is audited.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAccountView {
    pub account: AccountView,
    pub entries: Page<EntryView>,
}

/// A user's balances and entries, newest first (finance; audited, ACC-11).
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "User id"), PageQuery),
    responses(
        (status = 200, description = "Balances and entries", body = AdminAccountView),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/admin/users/{id}/account")]
pub async fn admin_account(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    meta: crate::platform::http::ClientMeta,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<AdminAccountView>> {
    let (user_id, staff_id, page) = (id.into_inner(), staff.user_id, page.into_inner());
    let view = state
        .tx(move |conn, st| {
            use crate::platform::db::schema::users;
            use diesel::prelude::*;
            let exists: bool =
                diesel::select(diesel::dsl::exists(users::table.find(user_id))).get_result(conn)?;
            if !exists {
                return Err(AppError::not_found(
                    "user.not_found",
                    "用户不存在",
                    "No such user",
                ));
            }
            let view = AdminAccountView {
                account: reading::account(conn, user_id)?,
                entries: reading::entries(conn, user_id, &page)?,
            };
            crate::audit::record(
                conn,
                st,
                crate::audit::Entry {
                    actor: crate::audit::Actor::Staff(staff_id),
                    action: "account.view",
                    target_type: "user",
                    target_id: Some(user_id.to_string()),
                    reason: None,
                    details: None,
                    ip: Some(&meta.ip),
                },
            )?;
            Ok(view)
        })
        .await?;
    Ok(web::Json(view))
}
