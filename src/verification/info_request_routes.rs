//! Staff information requests (ACC-6): staff ask, the user answers, staff
//! clear; publishing and bidding wait meanwhile.

use actix_web::{HttpResponse, get, post, web};

use super::info_requests::{
    self, InfoRequestStatus, InfoRequestView, InfoResponse, NewInfoRequest,
};
use crate::auth::{AuthUser, Moderators, Staff};
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::paging::{Page, PageQuery, page_of};
use crate::platform::state::AppState;

/// Ask a user to explain, correct or re-verify their data (ACC-6). Until
/// staff clear it, the user cannot publish or bid.
#[utoipa::path(
    operation_id = "admin_info_requests_create",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    request_body = NewInfoRequest,
    responses(
        (status = 201, description = "Created; the user is notified", body = InfoRequestView),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/users/{id}/info-requests")]
pub async fn create_info_request(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<NewInfoRequest>,
) -> AppResult<HttpResponse> {
    let (user_id, staff_id, req) = (id.into_inner(), staff.user_id, body.into_inner());
    let view = state
        .tx(move |conn, st| info_requests::create(conn, st, staff_id, user_id, req, &meta.ip))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Clear an information request (the restriction lifts when none is open).
#[utoipa::path(
    operation_id = "admin_info_requests_clear",
    tag = "admin",
    params(("id" = i64, Path, description = "Information request id")),
    responses(
        (status = 200, description = "Cleared; the user is notified", body = InfoRequestView),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already cleared (`info_request.cleared`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/info-requests/{id}/clear")]
pub async fn clear_info_request(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<web::Json<InfoRequestView>> {
    let (id, staff_id) = (id.into_inner(), staff.user_id);
    let view = state
        .tx(move |conn, st| info_requests::clear(conn, st, staff_id, id, &meta.ip))
        .await?;
    Ok(web::Json(view))
}

/// The caller's information requests, newest first.
#[utoipa::path(
    operation_id = "me_info_requests_list",
    tag = "me",
    responses((status = 200, description = "Up to 100 newest requests", body = Vec<InfoRequestView>)),
    security(("bearer" = []))
)]
#[get("/me/info-requests")]
pub async fn my_info_requests(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<Vec<InfoRequestView>>> {
    let user_id = user.user_id;
    let items = state
        .run(move |conn, _| info_requests::mine(conn, user_id))
        .await?;
    Ok(web::Json(items))
}

/// One of the caller's information requests (the link in its notices).
#[utoipa::path(
    operation_id = "me_info_requests_get",
    tag = "me",
    params(("id" = i64, Path, description = "Information request id")),
    responses(
        (status = 200, description = "The request", body = InfoRequestView),
        (status = 404, description = "No such request of the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/me/info-requests/{id}")]
pub async fn my_info_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<InfoRequestView>> {
    let (user_id, id) = (user.user_id, id.into_inner());
    let view = state
        .run(move |conn, _| info_requests::mine_one(conn, user_id, id))
        .await?;
    Ok(web::Json(view))
}

/// Information-request queue filter.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InfoRequestQuery {
    /// `open`, `responded` or `cleared`; absent: every request not cleared.
    pub status: Option<InfoRequestStatus>,
}

/// Information requests for staff to follow up (ACC-6), oldest first:
/// by default every one not cleared (asked and not answered, or answered
/// and waiting for review).
#[utoipa::path(
    operation_id = "admin_info_requests_list",
    tag = "admin",
    params(PageQuery, InfoRequestQuery),
    responses((status = 200, description = "Requests", body = Page<InfoRequestView>)),
    security(("bearer" = []))
)]
#[get("/admin/info-requests")]
pub async fn list_info_requests(
    state: web::Data<AppState>,
    _staff: Staff<Moderators>,
    page: web::Query<PageQuery>,
    filter: web::Query<InfoRequestQuery>,
) -> AppResult<web::Json<Page<InfoRequestView>>> {
    let limit = page.limit()?;
    let after = page.after_id()?;
    let status = filter.into_inner().status;
    let rows = state
        .run(move |conn, _| info_requests::queue(conn, status, after, limit))
        .await?;
    Ok(web::Json(page_of(rows, limit, |r| r.id)))
}

/// Answer an information request; staff then review and clear it.
#[utoipa::path(
    operation_id = "me_info_requests_respond",
    tag = "me",
    params(("id" = i64, Path, description = "Information request id")),
    request_body = InfoResponse,
    responses(
        (status = 200, description = "Answered", body = InfoRequestView),
        (status = 404, description = "No such request of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already cleared", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/me/info-requests/{id}/response")]
pub async fn respond_info_request(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    body: crate::platform::http::Json<InfoResponse>,
) -> AppResult<web::Json<InfoRequestView>> {
    let (id, user_id, text) = (id.into_inner(), user.user_id, body.into_inner().response);
    let view = state
        .tx(move |conn, st| info_requests::respond(conn, st, user_id, id, &text))
        .await?;
    Ok(web::Json(view))
}
