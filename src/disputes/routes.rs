//! `/api/v1/awards/{id}/disputes`, `/api/v1/disputes/{id}*`,
//! `/api/v1/admin/disputes*`.

use super::DisputeStatus;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{DisputeDecision, DisputeView, NewDispute, NewStatement};
use crate::auth::{AuthUser, Moderators, Staff};
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, queue_status};
use crate::platform::state::AppState;

/// Open a dispute on an award you are a party of (DSP-1): while it is in
/// progress or delivered (its hold freezes: no confirmation,
/// auto-completion, cancellation or release until decided), or within 14
/// days after completion. The other party is notified and has 4 days to answer.
#[utoipa::path(
    operation_id = "disputes_open",
    tag = "disputes",
    params(("id" = i64, Path, description = "Award id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional; a retry with the same key and body returns the first result (`Idempotent-Replayed: true`) instead of creating again",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = NewDispute,
    responses(
        (status = 201, description = "Opened", body = DisputeView),
        (status = 404, description = "No such award of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A dispute is already open (`dispute.exists`) or disputes are closed for this award (`dispute.not_allowed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body, or the claim exceeds the award price (`dispute.claim_exceeds_price`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/awards/{id}/disputes")]
pub async fn open_dispute(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    http: actix_web::HttpRequest,
    body: crate::platform::http::Json<NewDispute>,
) -> AppResult<HttpResponse> {
    let (user_id, id) = (user.user_id, id.into_inner());
    let (body, raw) = body.into_parts();
    crate::funds::idempotency::run_optional(
        &state,
        user_id,
        http.headers(),
        &format!("POST /awards/{id}/disputes"),
        &raw,
        actix_web::http::StatusCode::CREATED,
        move |conn, st| super::open(conn, st, user_id, id, body),
    )
    .await
}

/// A dispute with its timeline: for its two parties and staff only (anyone
/// else: 404).
#[utoipa::path(
    operation_id = "disputes_get",
    tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id")),
    responses(
        (status = 200, description = "The dispute", body = DisputeView),
        (status = 404, description = "No such dispute visible to you", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/disputes/{id}")]
pub async fn get_dispute(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<DisputeView>> {
    let (user_id, staff, id) = (user.user_id, user.role.is_staff(), id.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| super::get(conn, user_id, staff, id))
            .await?,
    ))
}

/// Add a statement and evidence to an open dispute (parties and staff).
#[utoipa::path(
    operation_id = "dispute_statements_add",
    tag = "disputes",
    params(("id" = i64, Path, description = "Dispute id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Optional; a retry with the same key and body returns the first result (`Idempotent-Replayed: true`) instead of creating again",
            pattern = "^[A-Za-z0-9._:-]{1,100}$")),
    request_body = NewStatement,
    responses(
        (status = 201, description = "Added; the dispute with its timeline", body = DisputeView),
        (status = 404, description = "No such dispute visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`dispute.closed`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/disputes/{id}/statements")]
pub async fn add_statement(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    http: actix_web::HttpRequest,
    body: crate::platform::http::Json<NewStatement>,
) -> AppResult<HttpResponse> {
    let (user_id, staff, id) = (user.user_id, user.role.is_staff(), id.into_inner());
    let (body, raw) = body.into_parts();
    crate::funds::idempotency::run_optional(
        &state,
        user_id,
        http.headers(),
        &format!("POST /disputes/{id}/statements"),
        &raw,
        actix_web::http::StatusCode::CREATED,
        move |conn, st| super::add_statement(conn, st, user_id, staff, id, body),
    )
    .await
}

/// Dispute queue filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisputeQuery {
    /// `open` (default) or `decided`.
    #[param(pattern = "^(open|decided)$")]
    pub status: Option<String>,
    /// Only the escalated ones (undecided after 60 days).
    pub escalated: Option<bool>,
}

/// Disputes by status, oldest first (moderators).
#[utoipa::path(
    operation_id = "admin_disputes_list",
    tag = "admin",
    params(PageQuery, DisputeQuery),
    responses((status = 200, description = "Disputes", body = Page<DisputeView>)),
    security(("bearer" = []))
)]
#[get("/admin/disputes")]
pub async fn list_disputes(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<DisputeQuery>,
) -> AppResult<web::Json<Page<DisputeView>>> {
    let filter = filter.into_inner();
    let wanted = queue_status(
        filter.status,
        DisputeStatus::Open,
        &[DisputeStatus::Open, DisputeStatus::Decided],
    )?;
    let escalated = filter.escalated.unwrap_or(false);
    let page = page.into_inner();
    Ok(web::Json(
        state
            .run(move |conn, _| super::queue(conn, wanted, escalated, &page))
            .await?,
    ))
}

/// Decide a dispute (moderators; DSP-1): release the hold to the provider,
/// refund it to the employer, or split it; optionally a claim beyond the
/// hold from the provider's deposit or a party's funds. Applied in one
/// transaction through the ledger; both parties notified; audited.
#[utoipa::path(
    operation_id = "admin_disputes_decide",
    tag = "admin",
    params(("id" = i64, Path, description = "Dispute id")),
    request_body = DisputeDecision,
    responses(
        (status = 200, description = "Decided", body = DisputeView),
        (status = 404, description = "No such dispute", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided, an outcome that does not fit the hold (`dispute.decision_invalid`), or a balance that does not cover the claim (`deposit.insufficient_balance`, `funds.insufficient`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body, or a claim above the amount claimed (`dispute.claim_exceeds`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/disputes/{id}/decision")]
pub async fn decide_dispute(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<DisputeDecision>,
) -> AppResult<web::Json<DisputeView>> {
    let (id, staff_id, body) = (id.into_inner(), staff.user_id, body.into_inner());
    let view = state
        .tx(move |conn, st| super::decide(conn, st, staff_id, &meta.ip, id, body))
        .await?;
    Ok(web::Json(view))
}
