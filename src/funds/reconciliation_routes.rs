//! `/api/v1/admin/reconciliation/*` (FND-7, finance).

use actix_web::{HttpResponse, get, post, web};
use futures_util::StreamExt;

use super::reconciliation::{
    self, DifferenceQuery, DifferenceView, Resolution, StatementQuery, StatementView,
};
use crate::auth::{Finance, Staff};
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::created;
use crate::platform::paging::{Page, PageQuery};
use crate::platform::state::AppState;

/// The largest statement taken (a busy day's bill is a few MB).
const MAX_STATEMENT_BYTES: usize = 20 * 1024 * 1024;

async fn read_body(mut payload: web::Payload) -> AppResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            AppError::bad_request(
                "reconciliation.upload_failed",
                "对账单上传中断",
                "The statement upload was interrupted",
            )
        })?;
        if body.len() + chunk.len() > MAX_STATEMENT_BYTES {
            return Err(AppError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "reconciliation.statement_too_large",
                "对账单超过 20 MB",
                "The statement is larger than 20 MB",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Import a channel's daily statement (finance): Alipay's trade detail
/// (业务明细, GBK or UTF-8) or WeChat Pay's trade bill (交易账单), as
/// downloaded, in the body. It is matched against our payments by the
/// channel's transaction number; the differences are listed here and at
/// `GET /admin/reconciliation/differences` until resolved. One statement
/// per channel and day.
#[utoipa::path(
    operation_id = "admin_reconciliation_statements_create",
    tag = "admin",
    params(StatementQuery),
    request_body(content = String, description = "The statement file (CSV)", content_type = "text/csv"),
    responses(
        (status = 201, description = "Imported, with its differences", body = StatementView),
        (status = 422, description = "Not a statement of that channel (`reconciliation.unreadable_statement`), or a date outside 2000–2099", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "That day's statement was already imported (`reconciliation.already_imported`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 20 MB", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/reconciliation/statements")]
pub async fn import_statement(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    query: web::Query<StatementQuery>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let (staff_id, query) = (staff.user_id, query.into_inner());
    let body = read_body(payload).await?;
    let view = state
        .tx(move |conn, st| reconciliation::import(conn, st, staff_id, &query, &body))
        .await?;
    Ok(created(&view))
}

/// Differences between the statements and our payments, newest first
/// (finance); open ones unless `state` says otherwise.
#[utoipa::path(
    operation_id = "admin_reconciliation_differences_list",
    tag = "admin",
    params(DifferenceQuery, PageQuery),
    responses((status = 200, description = "Differences", body = Page<DifferenceView>)),
    security(("bearer" = []))
)]
#[get("/admin/reconciliation/differences")]
pub async fn list_differences(
    state: web::Data<AppState>,
    _staff: Staff<Finance>,
    filter: web::Query<DifferenceQuery>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<DifferenceView>>> {
    let (filter, page) = (filter.into_inner(), page.into_inner());
    Ok(web::Json(
        state
            .run(move |conn, _| reconciliation::differences(conn, &filter, &page))
            .await?,
    ))
}

/// Resolve a difference with the reason (finance; audited).
#[utoipa::path(
    operation_id = "admin_reconciliation_differences_resolve",
    tag = "admin",
    params(("id" = i64, Path, description = "Difference id")),
    request_body = Resolution,
    responses(
        (status = 200, description = "Resolved", body = DifferenceView),
        (status = 404, description = "No such difference", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing reason", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/reconciliation/differences/{id}/resolve")]
pub async fn resolve_difference(
    state: web::Data<AppState>,
    staff: Staff<Finance>,
    id: web::Path<i64>,
    body: crate::platform::http::Json<Resolution>,
) -> AppResult<web::Json<DifferenceView>> {
    let (staff_id, id, reason) = (staff.user_id, id.into_inner(), body.into_inner().reason);
    Ok(web::Json(
        state
            .tx(move |conn, st| reconciliation::resolve(conn, st, staff_id, id, &reason))
            .await?,
    ))
}
