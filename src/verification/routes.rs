//! `/api/v1/me/verification` and `/api/v1/admin/verifications*`.

use super::service::VerificationStatus;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::dto::{ReasonRequest, TransferRequest, VerificationRequest, VerificationView};
use super::service;
use crate::auth::{Admins, AuthUser, Moderators, Staff};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, page_of};
use crate::platform::state::AppState;
use crate::platform::text::plain_text;

/// Submit a real-name verification for review (ACC-8).
#[utoipa::path(
    operation_id = "me_verification_submit",
    tag = "verification",
    request_body = VerificationRequest,
    responses(
        (status = 201, description = "Submitted; waiting for review", body = VerificationView),
        (status = 403, description = "The identity is restricted (`identity.restricted`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already verified (`verification.locked`), already pending (`verification.pending`), kind not matching the account (`verification.kind_mismatch`), or the identity is bound to another account (`identity.already_bound`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid ID number or credit code (checksum, birth date), or a minor without an adult guardian's consent (`verification.guardian_required`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/verification")]
pub async fn submit(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::platform::http::Json<VerificationRequest>,
) -> AppResult<HttpResponse> {
    let req = body.into_inner();
    let view = state
        .tx(move |conn, st| service::submit(conn, st, &user, req))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The caller's latest verification (numbers masked, even to the owner).
#[utoipa::path(
    operation_id = "me_verification_get",
    tag = "verification",
    responses(
        (status = 200, description = "The latest verification", body = VerificationView),
        (status = 404, description = "Nothing submitted yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/me/verification")]
pub async fn mine(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<VerificationView>> {
    let user_id = user.user_id;
    state
        .run(move |conn, _| service::latest(conn, user_id))
        .await?
        .map(web::Json)
        .ok_or_else(|| {
            AppError::not_found(
                "verification.not_found",
                "尚未提交实名认证",
                "No verification submitted yet",
            )
        })
}

/// Review queue filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerificationQuery {
    /// `pending` (default), `reverification_pending` (ACC-6), `approved`,
    /// `rejected` or `released`.
    #[param(pattern = "^(pending|reverification_pending|approved|rejected|released)$")]
    pub status: Option<String>,
}

/// Verifications by status, oldest first (moderators).
#[utoipa::path(
    operation_id = "admin_verifications_list",
    tag = "admin",
    params(PageQuery, VerificationQuery),
    responses((status = 200, description = "Verifications, oldest first", body = Page<VerificationView>)),
    security(("bearer" = []))
)]
#[get("/admin/verifications")]
pub async fn list(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<VerificationQuery>,
) -> AppResult<web::Json<Page<VerificationView>>> {
    let limit = page.limit()?;
    let after = page.after_id()?;
    let wanted = crate::platform::paging::queue_status(
        filter.into_inner().status,
        VerificationStatus::Pending,
        &[
            VerificationStatus::Pending,
            VerificationStatus::ReverificationPending,
            VerificationStatus::Approved,
            VerificationStatus::Rejected,
            VerificationStatus::Released,
        ],
    )?;
    let items = state
        .run(move |conn, _| service::list(conn, wanted, after, limit))
        .await?;
    Ok(web::Json(page_of(items, limit, |v| v.id)))
}

/// Approve a pending verification; the user is notified.
#[utoipa::path(
    operation_id = "admin_verifications_approve",
    tag = "admin",
    params(("id" = i64, Path, description = "Verification id")),
    responses(
        (status = 200, description = "Approved", body = VerificationView),
        (status = 404, description = "No such verification", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`verification.not_pending`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/verifications/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<web::Json<VerificationView>> {
    let id = id.into_inner();
    let caller = staff.caller;
    let view = state
        .tx(move |conn, st| service::decide(conn, st, &caller, id, true, None, &meta.ip))
        .await?;
    Ok(web::Json(view))
}

/// Reject a pending verification with a reason; the user is notified.
#[utoipa::path(
    operation_id = "admin_verifications_reject",
    tag = "admin",
    params(("id" = i64, Path, description = "Verification id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Rejected", body = VerificationView),
        (status = 404, description = "No such verification", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (`verification.not_pending`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/verifications/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<ReasonRequest>,
) -> AppResult<web::Json<VerificationView>> {
    let id = id.into_inner();
    let reason = plain_text("reason", &body.reason, 500)?;
    let caller = staff.caller;
    let view = state
        .tx(move |conn, st| service::decide(conn, st, &caller, id, false, Some(reason), &meta.ip))
        .await?;
    Ok(web::Json(view))
}

/// Record a transfer of an account to a new holder (admins, ACC-8): the
/// only way an account changes hands. The legal basis is audited; every
/// session of the account ends.
#[utoipa::path(
    operation_id = "admin_user_account_transfer",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    request_body = TransferRequest,
    responses(
        (status = 200, description = "Transferred; the new identity is bound", body = VerificationView),
        (status = 403, description = "The new identity is restricted (`identity.restricted`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No approved identity to transfer, kind mismatch, or the new identity is bound elsewhere", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/users/{id}/transfer")]
pub async fn transfer(
    state: web::Data<AppState>,
    staff: Staff<Admins>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<TransferRequest>,
) -> AppResult<web::Json<VerificationView>> {
    let (user_id, staff_id) = (id.into_inner(), staff.user_id);
    let TransferRequest {
        legal_basis,
        identity,
    } = body.into_inner();
    let view = state
        .tx(move |conn, st| {
            service::transfer(
                conn,
                st,
                staff_id,
                user_id,
                &legal_basis,
                identity,
                &meta.ip,
            )
        })
        .await?;
    Ok(web::Json(view))
}
