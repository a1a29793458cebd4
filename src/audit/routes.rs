//! `GET /api/v1/admin/audit-log` (admins only).

use actix_web::{get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admins, Staff};
use crate::platform::db::schema::audit_log;
use crate::platform::error::AppResult;
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;

/// One recorded staff action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    /// The staff account that acted; `null` for the command line or scheduler.
    pub actor_id: Option<i64>,
    /// `staff:<id>`, `cli` or `system`.
    pub actor: String,
    #[schema(example = "prohibited_word.create")]
    pub action: String,
    #[schema(example = "prohibited_word")]
    pub target_type: String,
    pub target_id: Option<String>,
    pub reason: Option<String>,
    /// Structured details of the action, when any.
    pub details: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// Filters for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only actions of this staff account.
    pub actor_id: Option<i64>,
    /// Only this action (e.g. `prohibited_word.create`).
    #[param(min_length = 1, max_length = 100)]
    pub action: Option<String>,
}

type Row = (
    i64,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

/// List staff actions, newest first.
#[utoipa::path(
    operation_id = "admin_audit_log_list",
    tag = "admin",
    params(PageQuery, AuditQuery),
    responses((status = 200, description = "Staff actions, newest first", body = Page<AuditEntryView>)),
    security(("bearer" = []))
)]
#[get("/admin/audit-log")]
pub async fn list_audit_log(
    state: web::Data<AppState>,
    _admin: Staff<Admins>,
    page: web::Query<PageQuery>,
    filter: web::Query<AuditQuery>,
) -> AppResult<web::Json<Page<AuditEntryView>>> {
    let limit = page.limit()?;
    let before = page.before_id()?;
    let filter = filter.into_inner();
    if let Some(action) = &filter.action {
        crate::platform::text::check_len("action", action, 1, 100)?;
    }
    let rows: Vec<Row> = state
        .run(move |conn, _| {
            let mut q = audit_log::table
                .select((
                    audit_log::id,
                    audit_log::actor_id,
                    audit_log::actor_label,
                    audit_log::action,
                    audit_log::target_type,
                    audit_log::target_id,
                    audit_log::reason,
                    audit_log::details,
                    audit_log::created_at,
                ))
                .order(audit_log::id.desc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(before) = before {
                q = q.filter(audit_log::id.lt(before));
            }
            if let Some(actor) = filter.actor_id {
                q = q.filter(audit_log::actor_id.eq(actor));
            }
            if let Some(action) = filter.action {
                q = q.filter(audit_log::action.eq(action));
            }
            Ok(q.load(conn)?)
        })
        .await?;
    Ok(web::Json(page_by_id(
        rows,
        limit,
        |r| r.0,
        |r| AuditEntryView {
            id: r.0,
            actor_id: r.1,
            actor: r.2,
            action: r.3,
            target_type: r.4,
            target_id: r.5,
            reason: r.6,
            details: r.7.and_then(|d| serde_json::from_str(&d).ok()),
            created_at: r.8.and_utc(),
        },
    )))
}
