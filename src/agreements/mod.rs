//! The platform service agreement and its versions (ACC-2, AGR-1).

use actix_web::{get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{agreement_acceptances, agreements};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An agreement version.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct AgreementView {
    #[schema(example = 1)]
    pub version: i32,
    #[schema(example = "微工宝平台服务协议")]
    pub title: String,
    /// The full text (Markdown-style plain text, Chinese).
    pub body: String,
    pub in_force_at: DateTime<Utc>,
}

/// The version in force at `now`: the newest whose in-force time has come.
pub fn current(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<AgreementView> {
    let row: Option<(i32, String, String, NaiveDateTime)> = agreements::table
        .filter(agreements::in_force_at.le(now))
        .order(agreements::version.desc())
        .select((
            agreements::version,
            agreements::title,
            agreements::body,
            agreements::in_force_at,
        ))
        .first(conn)
        .optional()?;
    let (version, title, body, in_force_at) = row.ok_or_else(|| {
        AppError::internal("no agreement version in force (migration seed missing)")
    })?;
    Ok(AgreementView {
        version,
        title,
        body,
        in_force_at: in_force_at.and_utc(),
    })
}

/// The version number in force at `now`.
pub fn current_version(conn: &mut DbConnection, now: NaiveDateTime) -> AppResult<i32> {
    agreements::table
        .filter(agreements::in_force_at.le(now))
        .select(diesel::dsl::max(agreements::version))
        .first::<Option<i32>>(conn)?
        .ok_or_else(|| AppError::internal("no agreement version in force"))
}

/// Records that a user accepted a version, with time and client IP (ACC-2).
pub fn record_acceptance(
    conn: &mut DbConnection,
    user_id: i64,
    version: i32,
    now: NaiveDateTime,
    ip: &str,
) -> AppResult<()> {
    diesel::insert_into(agreement_acceptances::table)
        .values((
            agreement_acceptances::user_id.eq(user_id),
            agreement_acceptances::version.eq(version),
            agreement_acceptances::accepted_at.eq(now),
            agreement_acceptances::ip.eq(ip),
        ))
        .execute(conn)?;
    Ok(())
}

/// The newest version a user accepted.
pub fn latest_accepted(conn: &mut DbConnection, user_id: i64) -> AppResult<Option<i32>> {
    Ok(agreement_acceptances::table
        .filter(agreement_acceptances::user_id.eq(user_id))
        .select(diesel::dsl::max(agreement_acceptances::version))
        .first::<Option<i32>>(conn)?)
}

/// Read the agreement version in force.
#[utoipa::path(
    tag = "agreements",
    responses((status = 200, description = "The version in force", body = AgreementView))
)]
#[get("/agreements/current")]
pub async fn get_current(state: web::Data<AppState>) -> AppResult<web::Json<AgreementView>> {
    let view = state
        .run(|conn, st| current(conn, st.clock.now_naive()))
        .await?;
    Ok(web::Json(view))
}
