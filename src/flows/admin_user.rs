//! The staff record of a user (ACC-11): the account with its
//! verification, restrictions, sessions, deposit, credit score and
//! disputes, gathered from the features that own them. Every read is
//! audited.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::auth::{AnyStaff, Staff};
use crate::conduct::model::DepositStatus;
use crate::platform::db::DbConnection;
use crate::platform::error::{AppResult, Problem};
use crate::platform::http::ClientMeta;
use crate::platform::state::AppState;
use crate::users::dto::MeView;
use crate::verification::dto::VerificationView;

/// A user's full record as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub user: MeView,
    /// The latest verification, numbers masked.
    pub verification: Option<VerificationView>,
    /// Restrictions in force, e.g. `info_request_pending`.
    pub restrictions: Vec<String>,
    pub live_sessions: i64,
    pub status_changed_at: Option<DateTime<Utc>>,
    /// A deposit deadline was missed (VIO-4, DEP-2, DEP-3).
    pub deposit_overdue: bool,
    pub deposit_status: DepositStatus,
    pub credit_score: i32,
    /// Open disputes the user is a party of.
    pub open_disputes: i64,
}

/// Builds the record and audits the read.
fn record(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    ip: &str,
    user_id: i64,
) -> AppResult<AdminUserView> {
    let user = crate::users::service::load_user(conn, user_id)?;
    let live_sessions = crate::auth::sessions::live_count(conn, user_id, st.clock.now_naive())?;
    let status_changed_at = user.status_changed_at.map(|t| t.and_utc());
    let deposit = crate::conduct::deposit::view(conn, st, user_id)?;
    let view = AdminUserView {
        deposit_overdue: deposit.deposit_overdue,
        deposit_status: deposit.status,
        credit_score: crate::conduct::credit_score(conn, st, user_id)?,
        open_disputes: crate::disputes::open_count(conn, user_id)?,
        user: crate::users::service::me_view(conn, st, user)?,
        verification: crate::verification::service::latest(conn, user_id)?,
        restrictions: crate::verification::info_requests::restrictions(conn, user_id)?,
        live_sessions,
        status_changed_at,
    };
    // ACC-11: staff reads of personal data are audited.
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff_id),
            action: "user.view",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            reason: None,
            details: None,
            ip: Some(ip),
        },
    )?;
    Ok(view)
}

/// A user's full record (any staff role). The read is audited (ACC-11).
#[utoipa::path(
    operation_id = "admin_users_get",
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The record", body = AdminUserView),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/admin/users/{id}")]
pub async fn admin_get_user(
    state: web::Data<AppState>,
    staff: Staff<AnyStaff>,
    meta: ClientMeta,
    id: web::Path<i64>,
) -> AppResult<web::Json<AdminUserView>> {
    let (user_id, staff_id) = (id.into_inner(), staff.user_id);
    let view = state
        .tx(move |conn, st| record(conn, st, staff_id, &meta.ip, user_id))
        .await?;
    Ok(web::Json(view))
}
