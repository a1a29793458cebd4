//! Conduct decisions that reach into the marketplace: recording a
//! violation whose measure removes a demand, and an upheld appeal that
//! brings it back. Conduct sits below the marketplace, so it states what it
//! needs as [`violations::Marketplace`] and this layer supplies it.

use actix_web::{HttpResponse, post, web};

use crate::auth::{Moderators, Staff};
use crate::conduct::violations::{
    self, AppealDecision, AppealView, Ctx, NewViolation, ViolationView,
};
use crate::marketplace::demands;
use crate::marketplace::model::DemandStatus;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::{ClientMeta, created};
use crate::platform::state::AppState;

/// The marketplace as conduct's measures see it.
pub struct Market;

impl violations::Marketplace for Market {
    fn remove_demand(
        &self,
        conn: &mut DbConnection,
        st: &AppState,
        ctx: &Ctx<'_>,
        demand_id: i64,
    ) -> AppResult<String> {
        let was = demands::remove_for_violation(
            conn,
            st,
            ctx.staff,
            ctx.user_id,
            demand_id,
            ctx.decision,
            ctx.ip,
        )?;
        Ok(was.as_str().to_string())
    }

    fn restore_demand(
        &self,
        conn: &mut DbConnection,
        st: &AppState,
        demand_id: i64,
        was: Option<&str>,
    ) -> AppResult<()> {
        match was.and_then(DemandStatus::parse) {
            Some(was) => demands::restore(conn, st, demand_id, was),
            None => Ok(()),
        }
    }
}

/// Record a violation with its measures (moderators; VIO-2, VIO-3). Applied
/// in one transaction; a breach of the code of conduct also requires the
/// deposit (VIO-4); the user gets a notice per measure (VIO-5).
#[utoipa::path(
    operation_id = "admin_violations_record",
    tag = "admin",
    request_body = NewViolation,
    responses(
        (status = 201, description = "Recorded", body = ViolationView),
        (status = 404, description = "No such user, or no such demand of theirs", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A linked complaint is not open or not about this user; the balance does not cover the penalty (`deposit.insufficient_balance`, `funds.insufficient`); the user cannot be sanctioned", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/violations")]
pub async fn record_violation(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    body: crate::platform::http::Json<NewViolation>,
) -> AppResult<HttpResponse> {
    let (staff_id, body) = (staff.user_id, body.into_inner());
    let view = state
        .tx(move |conn, st| violations::record(conn, st, staff_id, &meta.ip, body, &Market))
        .await?;
    Ok(created(&view))
}

/// Decide an appeal (moderators). Upheld revokes every measure of the
/// violation and returns deducted money by reversing entries (VIO-6).
#[utoipa::path(
    operation_id = "admin_appeals_decide",
    tag = "admin",
    params(("id" = i64, Path, description = "Appeal id")),
    request_body = AppealDecision,
    responses(
        (status = 200, description = "Decided", body = AppealView),
        (status = 404, description = "No such appeal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/admin/appeals/{id}/decision")]
pub async fn decide_appeal(
    state: web::Data<AppState>,
    staff: Staff<Moderators>,
    meta: ClientMeta,
    id: web::Path<i64>,
    body: crate::platform::http::Json<AppealDecision>,
) -> AppResult<web::Json<AppealView>> {
    let (id, staff_id, body) = (id.into_inner(), staff.user_id, body.into_inner());
    let view = state
        .tx(move |conn, st| {
            violations::decide_appeal(conn, st, staff_id, &meta.ip, id, body, &Market)
        })
        .await?;
    Ok(web::Json(view))
}
