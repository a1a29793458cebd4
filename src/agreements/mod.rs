//! The platform service agreement and its versions (ACC-2, AGR-1).

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::auth::{Admins, AuthUserAnyAgreement, Staff};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{agreement_acceptances, agreements};
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::ClientMeta;
use crate::platform::state::AppState;
use crate::platform::text::plain_text;

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
    operation_id = "agreements_get_current",
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

/// A recorded acceptance.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptanceView {
    pub version: i32,
    pub accepted_at: DateTime<Utc>,
}

/// Accept an agreement version (AGR-1). Only the version in force can be
/// accepted; accepting it again is harmless and returns the first record.
#[utoipa::path(
    operation_id = "agreements_accept",
    tag = "agreements",
    params(("version" = i32, Path, description = "The version in force")),
    responses(
        (status = 200, description = "Accepted", body = AcceptanceView),
        (status = 409, description = "Not the version in force (`agreement.not_current`)", body = crate::platform::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/agreements/{version}/accept")]
pub async fn accept(
    state: web::Data<AppState>,
    user: AuthUserAnyAgreement,
    meta: ClientMeta,
    version: web::Path<i32>,
) -> AppResult<web::Json<AcceptanceView>> {
    let version = version.into_inner();
    let user_id = user.user_id;
    let view = state
        .tx(move |conn, st| {
            let now = st.clock.now_naive();
            let current = current_version(conn, now)?;
            if version != current {
                return Err(AppError::conflict(
                    "agreement.not_current",
                    "只能接受现行有效的协议版本",
                    "Only the version in force can be accepted",
                )
                .with_extension("current_version", current));
            }
            let existing: Option<NaiveDateTime> = agreement_acceptances::table
                .filter(agreement_acceptances::user_id.eq(user_id))
                .filter(agreement_acceptances::version.eq(version))
                .select(agreement_acceptances::accepted_at)
                .first(conn)
                .optional()?;
            let accepted_at = match existing {
                Some(at) => at,
                None => {
                    record_acceptance(conn, user_id, version, now, &meta.ip)?;
                    now
                }
            };
            Ok(AcceptanceView {
                version,
                accepted_at: accepted_at.and_utc(),
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// A new agreement version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "微工宝平台服务协议（2027 版）", "body": "……", "in_force_at": "2027-01-01T00:00:00Z"}))]
pub struct NewAgreement {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub title: String,
    /// The full text.
    #[schema(
        min_length = 1,
        max_length = 60000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub body: String,
    /// When it comes into force; from then on users must accept it.
    pub in_force_at: DateTime<Utc>,
}

/// Publish a new agreement version (admins). Every active user is notified.
#[utoipa::path(
    operation_id = "admin_agreements_publish",
    tag = "admin",
    request_body = NewAgreement,
    responses((status = 201, description = "Published", body = AgreementView)),
    security(("bearer" = []))
)]
#[post("/admin/agreements")]
pub async fn publish(
    state: web::Data<AppState>,
    staff: Staff<Admins>,
    meta: ClientMeta,
    body: crate::platform::http::Json<NewAgreement>,
) -> AppResult<HttpResponse> {
    let req = body.into_inner();
    let title = plain_text("title", &req.title, 200)?;
    if req.body.trim().is_empty() || req.body.chars().count() > 60_000 {
        return Err(AppError::invalid_field(
            "body",
            "text.invalid",
            "协议正文不能为空且不超过 60000 个字符",
            "The body must be non-blank and at most 60000 characters",
        ));
    }
    let actor = staff.user_id;
    let view = state
        .tx(move |conn, st| {
            let now = st.clock.now_naive();
            let next: i32 = agreements::table
                .select(diesel::dsl::max(agreements::version))
                .first::<Option<i32>>(conn)?
                .unwrap_or(0)
                + 1;
            let in_force_at = req.in_force_at.naive_utc();
            diesel::insert_into(agreements::table)
                .values((
                    agreements::version.eq(next),
                    agreements::title.eq(&title),
                    agreements::body.eq(&req.body),
                    agreements::in_force_at.eq(in_force_at),
                    agreements::created_at.eq(now),
                    agreements::created_by.eq(actor),
                ))
                .execute(conn)?;
            notify_all_users(conn, st, next, in_force_at)?;
            audit::record(
                conn,
                st,
                audit::Entry {
                    actor: Actor::Staff(actor),
                    action: "agreement.publish",
                    target_type: "agreement",
                    target_id: Some(next.to_string()),
                    reason: None,
                    details: Some(serde_json::json!({ "in_force_at": req.in_force_at })),
                    ip: Some(&meta.ip),
                },
            )?;
            Ok(AgreementView {
                version: next,
                title,
                body: req.body,
                in_force_at: req.in_force_at,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Tells every active user about a new version (one INSERT … SELECT).
fn notify_all_users(
    conn: &mut DbConnection,
    st: &AppState,
    version: i32,
    in_force_at: NaiveDateTime,
) -> AppResult<()> {
    use crate::notifications::{Notice, Recipients, notify_many};
    notify_many(
        conn,
        st,
        Recipients::AllActiveUsers,
        Notice {
            kind: "agreement.published",
            title: "平台服务协议已更新",
            body: format!(
                "平台服务协议第 {version} 版将于 {} (UTC) 生效。生效后须阅读并接受新版本方可继续使用平台服务。",
                in_force_at.format("%Y-%m-%d %H:%M")
            ),
            link: Some("/api/v1/agreements/current".into()),
        },
    )
}

/// ACC-10: an anonymised account's acceptances keep the version and time,
/// not the address they came from.
pub fn anonymise(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    diesel::update(agreement_acceptances::table.filter(agreement_acceptances::user_id.eq(user_id)))
        .set(agreement_acceptances::ip.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}
