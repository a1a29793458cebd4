//! `/api/v1/me/account*`, `/api/v1/payments/*`, `/api/v1/admin/ledger/check`,
//! `/api/v1/admin/users/{id}/account`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::idempotency;
use super::payments::{self, PaymentRequest, PaymentView};
use super::reading::{self, AccountView, EntryView, LedgerCheck};
use crate::auth::{AuthUser, Finance, Staff};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::paging::{Page, PageQuery};
use crate::platform::state::AppState;

/// The caller's balances.
#[utoipa::path(
    operation_id = "me_account_get",
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
    operation_id = "me_account_entries_list",
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

/// The caller's payments through the channels (top-ups, deposit payments,
/// withdrawals and payouts to them), newest first: how an app follows a
/// payment it handed to the channel's SDK, and a WeChat payout waiting for
/// the user's confirmation (`pay_params.package_info`).
#[utoipa::path(
    operation_id = "me_payments_list",
    tag = "funds",
    params(PageQuery),
    responses((status = 200, description = "Payments, newest first", body = Page<PaymentView>)),
    security(("bearer" = []))
)]
#[get("/me/account/payments")]
pub async fn my_payments(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<PaymentView>>> {
    let (user_id, page) = (user.user_id, page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, st| payments::mine(conn, st, user_id, &page))
            .await?,
    ))
}

/// One of the caller's payments.
#[utoipa::path(
    operation_id = "me_payments_get",
    tag = "funds",
    params(("id" = String, Path, description = "The payment id", max_length = 64)),
    responses(
        (status = 200, description = "The payment", body = PaymentView),
        (status = 404, description = "No such payment of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/me/account/payments/{id}")]
pub async fn my_payment(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<web::Json<PaymentView>> {
    let (user_id, id) = (user.user_id, id.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, st| payments::one(conn, st, user_id, &id))
            .await?,
    ))
}

/// Start a top-up. Returns the pending payment and what the app needs to
/// pay; the account is credited once the channel's signed callback arrives.
#[utoipa::path(
    operation_id = "me_top_ups_create",
    tag = "funds",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended top-up; a repeat returns the first result",
        pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = PaymentRequest,
    responses(
        (status = 201, description = "Pending payment", body = PaymentView),
        (status = 409, description = "The same key is still being processed (`idempotency.in_progress`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid amount, unavailable channel (`payment.channel_unavailable`), or the key was used for another request (`idempotency.key_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/account/top-ups")]
pub async fn top_up(
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
        "POST /me/account/top-ups",
        payments::create_top_up,
    )
    .await
}

/// The idempotent part every money POST shares.
pub async fn payment_post<B: Serialize + Send + 'static>(
    state: &AppState,
    user_id: i64,
    req: &HttpRequest,
    body: B,
    route: &str,
    create: fn(
        &mut crate::platform::db::DbConnection,
        &AppState,
        i64,
        &B,
    ) -> AppResult<PaymentView>,
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

/// Acknowledgement of a callback.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackAck {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The payment's state after the callback (none when the notice, though
    /// genuine, settled nothing).
    pub payment: Option<PaymentView>,
}

/// Reconciliation: every balance against its entries, every transaction
/// summing to zero (finance).
#[utoipa::path(
    operation_id = "admin_ledger_check",
    tag = "admin",
    responses((status = 200, description = "The report", body = LedgerCheck)),
    security(("bearer" = []))
)]
#[get("/admin/ledger/check")]
pub async fn ledger_check(
    state: web::Data<AppState>,
    _staff: Staff<Finance>,
) -> AppResult<web::Json<LedgerCheck>> {
    let report = state.run(|conn, _| reading::check(conn)).await?;
    state
        .metrics
        .ledger_checked(report.ok, state.clock.now().timestamp());
    Ok(web::Json(report))
}

/// A user's funds: balances and entries (finance). The read is audited.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAccountView {
    pub account: AccountView,
    pub entries: Page<EntryView>,
}

/// A user's balances and entries, newest first (finance; audited, ACC-11).
#[utoipa::path(
    operation_id = "admin_user_account_get",
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
