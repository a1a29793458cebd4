//! The public profile (ACC-11, MKT-6): what anyone may see of a user,
//! gathered from users, verification, conduct, deposits and marketplace
//! reputation.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::accounts::UserStatus;
use crate::conduct::model::DepositStatus;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::state::AppState;
use crate::users::{self, models::AccountKind};

/// What anyone may see of a user (ACC-11: never email, phone, address or ID).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfile {
    pub id: i64,
    #[schema(example = "地推达人")]
    pub member_name: Option<String>,
    pub account_kind: AccountKind,
    /// Real-name verification approved (ACC-8).
    pub verified: bool,
    /// Credit score: starts at 100; conduct measures deduct points (VIO-3).
    #[schema(example = 100)]
    pub credit_score: i32,
    /// Average of visible reviews (double-blind), one decimal; `null` without any.
    pub rating: Option<f64>,
    pub rating_count: i64,
    /// Awards completed as a provider.
    pub completed_awards: i64,
    /// Published penalty decisions (SA §9.2; from the conduct rules).
    pub penalties: Vec<crate::conduct::violations::PublicPenalty>,
    /// Whether the provider takes orders now (false while suspended or
    /// while the deposit shields their orders).
    pub accepting_orders: bool,
    pub member_since: DateTime<Utc>,
}

/// A user's public profile (ACC-11: no contact or identity data; MKT-6).
pub fn public_profile(conn: &mut DbConnection, st: &AppState, id: i64) -> AppResult<PublicProfile> {
    let user = users::service::load_user(conn, id)?;
    // Staff have no marketplace profile; reclaimed and closed accounts have
    // left the platform (ACC-9, ACC-10).
    let listed = matches!(user.status, UserStatus::Active | UserStatus::Sealed);
    if user.role.is_staff() || !listed {
        return Err(AppError::not_found(
            "user.not_found",
            "用户不存在",
            "No such user",
        ));
    }
    // DEP-7: after a deposit refund the provider's profile leaves the platform.
    let deposit = crate::conduct::deposit::view(conn, st, id)?;
    if deposit.status == DepositStatus::Refunded {
        return Err(AppError::not_found(
            "user.not_found",
            "用户不存在",
            "No such user",
        ));
    }
    let (rating, rating_count, completed_awards) =
        crate::marketplace::awards::reputation(conn, st, id)?;
    Ok(PublicProfile {
        id: user.id,
        member_name: user.member_name,
        account_kind: AccountKind::parse(&user.account_kind),
        verified: crate::verification::service::is_verified(conn, id)?,
        credit_score: crate::conduct::credit_score(conn, st, id)?,
        rating,
        rating_count,
        completed_awards,
        penalties: crate::conduct::violations::public_penalties(conn, id)?,
        accepting_orders: user.status == UserStatus::Active
            && crate::conduct::require_order_taking(conn, st, id).is_ok(),
        member_since: user.created_at.and_utc(),
    })
}

/// A user's public profile (never email, phone, address or ID number).
#[utoipa::path(
    operation_id = "users_get",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "Public profile", body = PublicProfile),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<web::Json<PublicProfile>> {
    let id = id.into_inner();
    let profile = state
        .run(move |conn, st| public_profile(conn, st, id))
        .await?;
    Ok(web::Json(profile))
}
