//! Account lifecycle endpoints: information requests, member-name
//! reclamation, closure requests and the staff view of a user.

use super::closure::ClosureStatus;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::closure::{self, ClosureRequestBody, ClosureView};
use crate::auth::{AuthUserAnyAgreement, Moderators, Staff};
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, page_of};
use crate::platform::state::AppState;
use crate::platform::text::plain_text;
use crate::verification::dto::ReasonRequest;

/// Reclaim a user's member name that breaks the rules (ACC-5). The user
/// keeps logging in by email or phone; the name is held until released.
#[utoipa::path(
    operation_id = "admin_member_names_reclaim",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    request_body = ReasonRequest,
    responses(
        (status = 204, description = "Reclaimed; the user is notified"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user has no member name (`member_name.none`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/users/{id}/member-name/reclaim")]
pub async fn reclaim_member_name(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<ReasonRequest>,
) -> AppResult<HttpResponse> {
    let (user_id, staff_id) = (id.into_inner(), staff.user_id);
    let reason = plain_text("reason", &body.reason, 500)?;
    state
        .tx(move |conn, st| {
            crate::users::service::reclaim_member_name(
                conn, st, staff_id, user_id, &reason, &meta.ip,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Release a held member name so it can be registered again (ACC-5).
#[utoipa::path(
    operation_id = "admin_member_names_release",
    tag = "admin",
    params(("name" = String, Path, description = "The held member name")),
    responses(
        (status = 204, description = "Released"),
        (status = 404, description = "Not held (`member_name.not_held`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/member-names/{name}/release")]
pub async fn release_member_name(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    name: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (name, staff_id) = (name.into_inner(), staff.user_id);
    state
        .tx(move |conn, st| {
            crate::users::service::release_member_name(conn, st, staff_id, &name, &meta.ip)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Apply to close the caller's account (ACC-10). Allowed even while a new
/// agreement version waits for acceptance (AGR-1).
#[utoipa::path(
    operation_id = "me_closure_request_create",
    tag = "me",
    request_body = ClosureRequestBody,
    responses(
        (status = 201, description = "Submitted; `blocking` lists what must be settled first", body = ClosureView),
        (status = 409, description = "A request is already pending (`closure.already_requested`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/closure-request")]
pub async fn request_closure(
    state: web::Data<AppState>,
    user: AuthUserAnyAgreement,
    body: crate::platform::http::Json<ClosureRequestBody>,
) -> AppResult<HttpResponse> {
    let (user_id, body) = (user.user_id, body.into_inner());
    let view = state
        .tx(move |conn, st| closure::request(conn, st, user_id, body))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The caller's latest closure request.
#[utoipa::path(
    operation_id = "me_closure_request_get",
    tag = "me",
    responses(
        (status = 200, description = "The latest request", body = ClosureView),
        (status = 404, description = "None yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/me/closure-request")]
pub async fn my_closure(
    state: web::Data<AppState>,
    user: AuthUserAnyAgreement,
) -> AppResult<web::Json<ClosureView>> {
    let user_id = user.user_id;
    let view = state
        .run(move |conn, _| closure::latest(conn, user_id))
        .await?;
    Ok(web::Json(view))
}

/// Closure queue filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClosureQuery {
    /// `pending` (default), `approved` or `rejected`.
    #[param(pattern = "^(pending|approved|rejected)$")]
    pub status: Option<String>,
}

/// Closure requests by status, oldest first.
#[utoipa::path(
    operation_id = "admin_closure_requests_list",
    tag = "admin",
    params(PageQuery, ClosureQuery),
    responses((status = 200, description = "Requests, oldest first, each with what blocks it", body = Page<ClosureView>)),
    security(("bearer" = []))
)]
#[get("/admin/closure-requests")]
pub async fn list_closures(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<ClosureQuery>,
) -> AppResult<web::Json<Page<ClosureView>>> {
    let limit = page.limit()?;
    let after = page.after_id()?;
    let wanted = crate::platform::paging::queue_status(
        filter.into_inner().status,
        ClosureStatus::Pending,
        &[
            ClosureStatus::Pending,
            ClosureStatus::Approved,
            ClosureStatus::Rejected,
        ],
    )?;
    let items = state
        .run(move |conn, _| closure::list(conn, wanted, after, limit))
        .await?;
    Ok(web::Json(page_of(items, limit, |v| v.id)))
}

/// Approve a closure: only when nothing is open (else 409 listing what blocks it).
#[utoipa::path(
    operation_id = "admin_closure_requests_approve",
    tag = "admin",
    params(("id" = i64, Path, description = "Closure request id")),
    responses(
        (status = 200, description = "Approved: the account is closed", body = ClosureView),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Open items remain (`closure.blocked`, with `blocking`) or not pending", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/closure-requests/{id}/approve")]
pub async fn approve_closure(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<web::Json<ClosureView>> {
    let (id, staff_id) = (id.into_inner(), staff.user_id);
    let view = state
        .tx(move |conn, st| closure::decide(conn, st, staff_id, id, true, None, &meta.ip))
        .await?;
    Ok(web::Json(view))
}

/// Reject a closure request with a reason.
#[utoipa::path(
    operation_id = "admin_closure_requests_reject",
    tag = "admin",
    params(("id" = i64, Path, description = "Closure request id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Rejected", body = ClosureView),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/closure-requests/{id}/reject")]
pub async fn reject_closure(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<ReasonRequest>,
) -> AppResult<web::Json<ClosureView>> {
    let (id, staff_id) = (id.into_inner(), staff.user_id);
    let reason = plain_text("reason", &body.reason, 500)?;
    let view = state
        .tx(move |conn, st| closure::decide(conn, st, staff_id, id, false, Some(reason), &meta.ip))
        .await?;
    Ok(web::Json(view))
}
