//! `/api/v1/complaints`, `/me/complaints`, `/me/violations`,
//! `/violations/{id}/appeals`, `/me/deposit*`, and the staff side under
//! `/admin`.

use super::model::{AppealStatus, ComplaintStatus, RefundStatus};
use crate::platform::http::created;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::complaints::{self, AdminComplaintView, ComplaintView, NewComplaint};
use super::deposit::{self, DepositPaymentRequest, DepositView, RefundView};
use super::violations::{self, AppealView, NewAppeal, ViolationView};
use crate::auth::{AuthUser, Finance, Moderators, Staff};
use crate::funds::reading::EntryView;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, queue_status};
use crate::platform::state::AppState;
use crate::verification::dto::ReasonRequest;

/// Records a staff action on a user's deposit (SVC-2).
#[allow(clippy::too_many_arguments)]
fn audit_deposit(
    conn: &mut crate::platform::db::DbConnection,
    st: &AppState,
    staff_id: i64,
    action: &'static str,
    user_id: i64,
    reason: &str,
    details: Option<serde_json::Value>,
    ip: &str,
) -> AppResult<()> {
    crate::audit::record(
        conn,
        st,
        crate::audit::Entry {
            actor: crate::audit::Actor::Staff(staff_id),
            action,
            target_type: "user",
            target_id: Some(user_id.to_string()),
            reason: Some(reason),
            details,
            ip: Some(ip),
        },
    )
}

/// Complain about the other party of one of your awards, or report a user
/// or demand (VIO-1). A second open complaint about the same target: 409.
#[utoipa::path(
    operation_id = "complaints_file",
    tag = "conduct",
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional; a retry with the same key and body returns the first result (`Idempotent-Replayed: true`) instead of creating again",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = NewComplaint,
    responses(
        (status = 201, description = "Filed", body = ComplaintView),
        (status = 404, description = "No such award (of yours), user or demand", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An open complaint about this target exists (`complaint.duplicate`), or it is yourself", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/complaints")]
pub async fn file_complaint(
    state: web::Data<AppState>,
    user: AuthUser,
    http: actix_web::HttpRequest,
    body: crate::platform::http::Json<NewComplaint>,
) -> AppResult<HttpResponse> {
    let user_id = user.user_id;
    let (body, raw) = body.into_parts();
    crate::funds::idempotency::run_optional(
        &state,
        user_id,
        http.headers(),
        "POST /complaints",
        &raw,
        actix_web::http::StatusCode::CREATED,
        move |conn, st| complaints::create(conn, st, user_id, body),
    )
    .await
}

/// Your complaints and reports, newest first.
#[utoipa::path(
    operation_id = "me_complaints_list",
    tag = "conduct",
    params(PageQuery),
    responses((status = 200, description = "Complaints", body = Page<ComplaintView>)),
    security(("bearer" = []))
)]
#[get("/me/complaints")]
pub async fn my_complaints(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<ComplaintView>>> {
    let (user_id, page) = (user.user_id, page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| complaints::mine(conn, user_id, &page))
            .await?,
    ))
}

/// Violations recorded against you, with their measures and appeals.
#[utoipa::path(
    operation_id = "me_violations_list",
    tag = "conduct",
    params(PageQuery),
    responses((status = 200, description = "Violations, newest first", body = Page<ViolationView>)),
    security(("bearer" = []))
)]
#[get("/me/violations")]
pub async fn my_violations(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<ViolationView>>> {
    let (user_id, page) = (user.user_id, page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, st| violations::of_user(conn, st, user_id, &page))
            .await?,
    ))
}

/// Appeal a violation, once, within the appeal window (VIO-6).
#[utoipa::path(
    operation_id = "violation_appeals_file",
    tag = "conduct",
    params(("id" = i64, Path, description = "Violation id")),
    request_body = NewAppeal,
    responses(
        (status = 201, description = "Appeal filed", body = AppealView),
        (status = 404, description = "No such violation of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already appealed (`appeal.exists`) or the window closed (`appeal.window_closed`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/violations/{id}/appeals")]
pub async fn file_appeal(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    body: crate::platform::http::Json<NewAppeal>,
) -> AppResult<HttpResponse> {
    let (user_id, id, body) = (user.user_id, id.into_inner(), body.into_inner());
    let view = state
        .tx(move |conn, st| violations::appeal(conn, st, user_id, id, body))
        .await?;
    Ok(created(&view))
}

/// Your security deposit: required amount, balance, state, deadlines and
/// the refund (DEP-3). Deposits earn no interest (DEP-6).
#[utoipa::path(
    operation_id = "me_deposit_get",
    tag = "deposit",
    responses((status = 200, description = "The deposit", body = DepositView)),
    security(("bearer" = []))
)]
#[get("/me/deposit")]
pub async fn my_deposit(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<DepositView>> {
    let user_id = user.user_id;
    Ok(web::Json(
        state
            .run(move |conn, st| deposit::view(conn, st, user_id))
            .await?,
    ))
}

/// The deposit account's entries (payments, deductions, reversals,
/// refunds), newest first.
#[utoipa::path(
    operation_id = "me_deposit_transactions_list",
    tag = "deposit",
    params(PageQuery),
    responses((status = 200, description = "Entries", body = Page<EntryView>)),
    security(("bearer" = []))
)]
#[get("/me/deposit/transactions")]
pub async fn my_deposit_transactions(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<EntryView>>> {
    let (user_id, page) = (user.user_id, page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| {
                crate::funds::reading::entries_of(
                    conn,
                    vec![
                        crate::funds::ledger::code::deposit(user_id),
                        format!("user:{user_id}:deposit_payout"),
                    ],
                    &page,
                )
            })
            .await?,
    ))
}

/// Pay what is due on the deposit, in one sum, through a channel (DEP-2).
/// The amount is the whole shortfall; the deposit is credited when the
/// channel's signed callback confirms it.
#[utoipa::path(
    operation_id = "me_deposit_payments_create",
    tag = "deposit",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended payment; a repeat returns the first result",
        pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = DepositPaymentRequest,
    responses(
        (status = 201, description = "Pending payment of the shortfall", body = crate::funds::payments::PaymentView),
        (status = 409, description = "Nothing is due (`deposit.nothing_due`) or the same key is in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unavailable channel (`payment.channel_unavailable`) or key reused for another request (`idempotency.key_reused`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/deposit/payments")]
pub async fn pay_deposit(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: crate::platform::http::Json<DepositPaymentRequest>,
) -> AppResult<HttpResponse> {
    let user_id = user.user_id;
    let body = body.into_inner();
    let key = crate::funds::idempotency::key_from(req.headers())?;
    let print = crate::funds::idempotency::fingerprint("POST /me/deposit/payments", &body);
    crate::funds::idempotency::run(
        &state,
        user_id,
        key,
        print,
        StatusCode::CREATED,
        move |conn, st| deposit::create_payment(conn, st, user_id, &body),
    )
    .await
}

// ---- Staff

/// Complaint queue filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplaintQuery {
    /// `open` (default), `actioned` or `dismissed`.
    #[param(pattern = "^(open|actioned|dismissed)$")]
    pub status: Option<String>,
}

/// Complaints and reports by status, oldest first (moderators).
#[utoipa::path(
    operation_id = "admin_complaints_list",
    tag = "admin",
    params(PageQuery, ComplaintQuery),
    responses((status = 200, description = "Complaints", body = Page<AdminComplaintView>)),
    security(("bearer" = []))
)]
#[get("/admin/complaints")]
pub async fn list_complaints(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<ComplaintQuery>,
) -> AppResult<web::Json<Page<AdminComplaintView>>> {
    let wanted = queue_status(
        filter.into_inner().status,
        ComplaintStatus::Open,
        &[
            ComplaintStatus::Open,
            ComplaintStatus::Actioned,
            ComplaintStatus::Dismissed,
        ],
    )?;
    let page = page.into_inner();
    Ok(web::Json(
        state
            .run(move |conn, _| complaints::queue(conn, wanted, &page))
            .await?,
    ))
}

/// Dismiss an open complaint with a reason (the reporter is told).
#[utoipa::path(
    operation_id = "admin_complaints_dismiss",
    tag = "admin",
    params(("id" = i64, Path, description = "Complaint id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Dismissed", body = ComplaintView),
        (status = 404, description = "No such complaint", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already handled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/complaints/{id}/dismissal")]
pub async fn dismiss_complaint(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<ReasonRequest>,
) -> AppResult<web::Json<ComplaintView>> {
    let (id, staff_id) = (id.into_inner(), staff.user_id);
    let reason = crate::platform::text::plain_text("reason", &body.reason, 500)?;
    let view = state
        .tx(move |conn, st| {
            let view = complaints::dismiss(conn, st, staff_id, id, &reason)?;
            crate::audit::record(
                conn,
                st,
                crate::audit::Entry {
                    actor: crate::audit::Actor::Staff(staff_id),
                    action: "complaint.dismiss",
                    target_type: "complaint",
                    target_id: Some(id.to_string()),
                    reason: Some(&reason),
                    details: None,
                    ip: Some(&meta.ip),
                },
            )?;
            Ok(view)
        })
        .await?;
    Ok(web::Json(view))
}

/// A user's violations, newest first (moderators).
#[utoipa::path(
    operation_id = "admin_user_violations_list",
    tag = "admin",
    params(("id" = i64, Path, description = "User id"), PageQuery),
    responses((status = 200, description = "Violations", body = Page<ViolationView>)),
    security(("bearer" = []))
)]
#[get("/admin/users/{id}/violations")]
pub async fn user_violations(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<ViolationView>>> {
    let (user_id, page) = (id.into_inner(), page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, st| violations::of_user(conn, st, user_id, &page))
            .await?,
    ))
}

/// Appeal queue filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppealQuery {
    /// `pending` (default), `upheld` or `rejected`.
    #[param(pattern = "^(pending|upheld|rejected)$")]
    pub status: Option<String>,
}

/// Appeals by status, oldest first (moderators).
#[utoipa::path(
    operation_id = "admin_appeals_list",
    tag = "admin",
    params(PageQuery, AppealQuery),
    responses((status = 200, description = "Appeals", body = Page<AppealView>)),
    security(("bearer" = []))
)]
#[get("/admin/appeals")]
pub async fn list_appeals(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<AppealQuery>,
) -> AppResult<web::Json<Page<AppealView>>> {
    let wanted = queue_status(
        filter.into_inner().status,
        AppealStatus::Pending,
        &[
            AppealStatus::Pending,
            AppealStatus::Upheld,
            AppealStatus::Rejected,
        ],
    )?;
    let page = page.into_inner();
    Ok(web::Json(
        state
            .run(move |conn, _| violations::appeal_queue(conn, wanted, &page))
            .await?,
    ))
}

/// `PUT /api/v1/admin/users/{id}/deposit/required-amount` (DEP-4).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "2000.00", "reason": "近 30 天投诉量异常"}))]
pub struct RequiredAmount {
    /// The new required amount; `"0"` lifts the requirement.
    #[schema(pattern = r"^[0-9]{1,9}(\.[0-9]{1,2})?$", example = "2000.00")]
    pub amount: String,
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

fn amount_or_zero(raw: &str) -> AppResult<i64> {
    let zero = !raw.is_empty()
        && raw.bytes().all(|b| b == b'0' || b == b'.')
        && raw.split('.').count() <= 2
        && raw
            .split('.')
            .nth(1)
            .is_none_or(|f| (1..=2).contains(&f.len()))
        && !raw.starts_with('.');
    if zero {
        return Ok(0);
    }
    crate::platform::money::Money::parse(raw)
        .map(crate::platform::money::Money::fen)
        .map_err(|e| {
            AppError::invalid_field(
                "amount",
                "money.invalid",
                "金额须为最多两位小数的字符串，如 \"1000.00\"",
                e.to_string(),
            )
        })
}

/// Set one user's required deposit (finance; DEP-4). When the balance is
/// then below it, the user gets a top-up notice with a deadline.
#[utoipa::path(
    operation_id = "admin_user_deposit_set_required",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    request_body = RequiredAmount,
    responses(
        (status = 200, description = "The user's deposit after the change", body = DepositView),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/admin/users/{id}/deposit/required-amount")]
pub async fn set_required_amount(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<RequiredAmount>,
) -> AppResult<web::Json<DepositView>> {
    let (user_id, staff_id) = (id.into_inner(), staff.user_id);
    let amount = amount_or_zero(&body.amount)?;
    let reason = crate::platform::text::plain_text("reason", &body.reason, 500)?;
    let view = state
        .tx(move |conn, st| {
            require_marketplace_user(conn, user_id)?;
            let view = deposit::set_required(conn, st, user_id, amount, &reason)?;
            let details = serde_json::json!({
                "required": crate::platform::money::format_fen(amount)
            });
            audit_deposit(
                conn,
                st,
                staff_id,
                "deposit.set_required",
                user_id,
                &reason,
                Some(details),
                &meta.ip,
            )?;
            Ok(view)
        })
        .await?;
    Ok(web::Json(view))
}

fn require_marketplace_user(
    conn: &mut crate::platform::db::DbConnection,
    user_id: i64,
) -> AppResult<()> {
    use crate::platform::db::schema::users;
    use diesel::prelude::*;
    let role: Option<crate::auth::accounts::Role> = users::table
        .find(user_id)
        .select(users::role)
        .first(conn)
        .optional()?;
    match role {
        Some(r) if !r.is_staff() => Ok(()),
        _ => Err(AppError::not_found(
            "user.not_found",
            "用户不存在",
            "No such user",
        )),
    }
}

/// A user's deposit (finance).
#[utoipa::path(
    operation_id = "admin_user_deposit_get",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The deposit", body = DepositView),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/admin/users/{id}/deposit")]
pub async fn user_deposit(
    state: web::Data<AppState>,
    _staff: Staff<Finance>,
    id: web::Path<i64>,
) -> AppResult<web::Json<DepositView>> {
    let user_id = id.into_inner();
    Ok(web::Json(
        state
            .run(move |conn, st| {
                require_marketplace_user(conn, user_id)?;
                deposit::view(conn, st, user_id)
            })
            .await?,
    ))
}

/// Reopen order-taking for an overdue account whose deposit is now paid in
/// full (finance). A late payment alone does not (VIO-4).
#[utoipa::path(
    operation_id = "admin_user_deposit_reinstate",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Reinstated", body = DepositView),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not overdue (`deposit.not_overdue`) or not paid in full (`deposit.insufficient_balance`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/users/{id}/deposit/reinstatement")]
pub async fn reinstate(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<ReasonRequest>,
) -> AppResult<web::Json<DepositView>> {
    let (user_id, staff_id) = (id.into_inner(), staff.user_id);
    let reason = crate::platform::text::plain_text("reason", &body.reason, 500)?;
    let view = state
        .tx(move |conn, st| {
            require_marketplace_user(conn, user_id)?;
            let view = deposit::reinstate(conn, st, user_id)?;
            audit_deposit(
                conn,
                st,
                staff_id,
                "deposit.reinstate",
                user_id,
                &reason,
                None,
                &meta.ip,
            )?;
            Ok(view)
        })
        .await?;
    Ok(web::Json(view))
}

/// Refund filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefundQuery {
    /// `payout_pending` (default: paid out through the channel, due by
    /// `payout_due_at`), `observation`, `paid` or `payout_failed`.
    #[param(pattern = "^(payout_pending|observation|paid|payout_failed)$")]
    pub status: Option<String>,
}

/// Deposit refunds by status, oldest first: what is due and when (finance; DEP-7).
#[utoipa::path(
    operation_id = "admin_deposit_refunds_list",
    tag = "admin",
    params(PageQuery, RefundQuery),
    responses((status = 200, description = "Refunds", body = Page<RefundView>)),
    security(("bearer" = []))
)]
#[get("/admin/deposit-refunds")]
pub async fn list_refunds(
    state: web::Data<AppState>,
    _staff: Staff<Finance>,
    page: web::Query<PageQuery>,
    filter: web::Query<RefundQuery>,
) -> AppResult<web::Json<Page<RefundView>>> {
    let wanted = queue_status(
        filter.into_inner().status,
        RefundStatus::PayoutPending,
        &[
            RefundStatus::PayoutPending,
            RefundStatus::Observation,
            RefundStatus::Paid,
            RefundStatus::PayoutFailed,
        ],
    )?;
    let page = page.into_inner();
    Ok(web::Json(
        state
            .run(move |conn, _| deposit::refunds(conn, wanted, &page))
            .await?,
    ))
}
