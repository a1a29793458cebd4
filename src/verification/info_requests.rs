//! Staff requests to explain, correct or re-verify data (ACC-6, SA §2.2, §4.4).

use crate::platform::enums::text_enum;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::notifications::{Notice, notify};
use crate::platform::db::schema::{info_requests, users};
use crate::platform::db::{DbConnection, MultiBackend};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

text_enum! {
    /// Where a staff information request stands (ACC-6).
    pub enum InfoRequestStatus {
        Open = "open",
        Responded = "responded",
        Cleared = "cleared",
    }
}

/// What staff ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InfoRequestKind {
    Explain,
    Correct,
    Reverify,
}

impl InfoRequestKind {
    fn as_str(self) -> &'static str {
        match self {
            InfoRequestKind::Explain => "explain",
            InfoRequestKind::Correct => "correct",
            InfoRequestKind::Reverify => "reverify",
        }
    }
}

/// `POST /api/v1/admin/users/{id}/info-requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "correct", "message": "请更正联系地址，当前地址无法联系到您。"}))]
pub struct NewInfoRequest {
    pub kind: InfoRequestKind,
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub message: String,
}

/// The user's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoResponse {
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub response: String,
}

/// An information request.
#[derive(Debug, Serialize, ToSchema)]
pub struct InfoRequestView {
    pub id: i64,
    pub user_id: i64,
    #[schema(example = "correct")]
    pub kind: String,
    pub message: String,
    /// `open`, `responded` (waiting for staff) or `cleared`.
    pub status: InfoRequestStatus,
    pub response: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = info_requests)]
struct Row {
    id: i64,
    user_id: i64,
    kind: String,
    message: String,
    status: InfoRequestStatus,
    response: Option<String>,
    created_at: NaiveDateTime,
}

impl From<Row> for InfoRequestView {
    fn from(r: Row) -> Self {
        InfoRequestView {
            id: r.id,
            user_id: r.user_id,
            kind: r.kind,
            message: r.message,
            status: r.status,
            response: r.response,
            created_at: r.created_at.and_utc(),
        }
    }
}

fn load(conn: &mut DbConnection, id: i64) -> AppResult<InfoRequestView> {
    info_requests::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(InfoRequestView::from)
        .ok_or_else(not_found)
}

/// Staff ask a user for information; the user is notified and restricted.
pub fn create(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    user_id: i64,
    req: NewInfoRequest,
    ip: &str,
) -> AppResult<InfoRequestView> {
    let message = crate::platform::text::plain_text("message", &req.message, 1000)?;
    let role: Option<String> = users::table
        .find(user_id)
        .select(users::role)
        .first(conn)
        .optional()?;
    if role.as_deref() != Some("user") {
        return Err(AppError::not_found(
            "user.not_found",
            "用户不存在",
            "No such user",
        ));
    }
    let id: i64 = diesel::insert_into(info_requests::table)
        .values((
            info_requests::user_id.eq(user_id),
            info_requests::kind.eq(req.kind.as_str()),
            info_requests::message.eq(&message),
            info_requests::status.eq(InfoRequestStatus::Open),
            info_requests::created_at.eq(st.clock.now_naive()),
            info_requests::created_by.eq(staff_id),
        ))
        .returning(info_requests::id)
        .get_result(conn)?;
    notify(
        conn,
        st,
        user_id,
        Notice {
            kind: "info_request.created",
            title: "平台要求您核实信息",
            body: format!("{message}\n处理完成前，发布需求和竞标将暂停。请在“信息核实”中回复。"),
            link: Some(format!("/api/v1/me/info-requests/{id}")),
        },
    )?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff_id),
            action: "info_request.create",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            reason: Some(&message),
            details: Some(serde_json::json!({ "info_request_id": id, "kind": req.kind.as_str() })),
            ip: Some(ip),
        },
    )?;
    load(conn, id)
}

/// The user's own requests, newest first.
pub fn mine(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<InfoRequestView>> {
    Ok(info_requests::table
        .filter(info_requests::user_id.eq(user_id))
        .order(info_requests::id.desc())
        .limit(100)
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(InfoRequestView::from)
        .collect())
}

/// The user answers an open request.
pub fn respond(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    id: i64,
    response: &str,
) -> AppResult<InfoRequestView> {
    let response = crate::platform::text::plain_text("response", response, 2000)?;
    let n = diesel::update(
        info_requests::table
            .filter(info_requests::id.eq(id))
            .filter(info_requests::user_id.eq(user_id))
            .filter(info_requests::status.ne(InfoRequestStatus::Cleared)),
    )
    .set((
        info_requests::status.eq(InfoRequestStatus::Responded),
        info_requests::response.eq(&response),
        info_requests::responded_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        let view = load(conn, id)?;
        if view.user_id != user_id {
            return Err(AppError::not_found(
                "info_request.not_found",
                "信息核实请求不存在",
                "No such information request",
            ));
        }
        return Err(AppError::conflict(
            "info_request.cleared",
            "该请求已处理完毕",
            "This request is already cleared",
        ));
    }
    load(conn, id)
}

/// ACC-6: whether staff asked this user to re-verify and the request is
/// not cleared yet.
pub fn reverify_open(conn: &mut DbConnection, user_id: i64) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        info_requests::table
            .filter(info_requests::user_id.eq(user_id))
            .filter(info_requests::kind.eq(InfoRequestKind::Reverify.as_str()))
            .filter(info_requests::status.ne(InfoRequestStatus::Cleared)),
    ))
    .get_result(conn)?)
}

/// ACC-6: an approved re-verification clears the open re-verify requests
/// (by the staff member who approved it) and tells the user.
pub fn clear_reverified(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    staff_id: i64,
) -> AppResult<()> {
    let open: Vec<i64> = info_requests::table
        .filter(info_requests::user_id.eq(user_id))
        .filter(info_requests::kind.eq(InfoRequestKind::Reverify.as_str()))
        .filter(info_requests::status.ne(InfoRequestStatus::Cleared))
        .select(info_requests::id)
        .load(conn)?;
    for id in open {
        diesel::update(info_requests::table.find(id))
            .set((
                info_requests::status.eq(InfoRequestStatus::Cleared),
                info_requests::cleared_at.eq(st.clock.now_naive()),
                info_requests::cleared_by.eq(staff_id),
            ))
            .execute(conn)?;
        notify(
            conn,
            st,
            user_id,
            Notice {
                kind: "info_request.cleared",
                title: "信息核实已完成",
                body: "您已完成重新实名认证，相关限制已解除。".into(),
                link: Some(format!("/api/v1/me/info-requests/{id}")),
            },
        )?;
    }
    Ok(())
}

/// One of the user's own requests (others: 404).
pub fn mine_one(conn: &mut DbConnection, user_id: i64, id: i64) -> AppResult<InfoRequestView> {
    let view = load(conn, id)?;
    if view.user_id != user_id {
        return Err(not_found());
    }
    Ok(view)
}

/// Staff queue (ACC-6): requests in `status`, or every one not cleared,
/// oldest first.
pub fn queue(
    conn: &mut DbConnection,
    status: Option<InfoRequestStatus>,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<InfoRequestView>> {
    let mut query = info_requests::table
        .select(Row::as_select())
        .order(info_requests::id.asc())
        .limit(limit + 1)
        .into_boxed();
    query = match status {
        Some(s) => query.filter(info_requests::status.eq(s)),
        None => query.filter(info_requests::status.ne(InfoRequestStatus::Cleared)),
    };
    if let Some(after) = after {
        query = query.filter(info_requests::id.gt(after));
    }
    Ok(query
        .load::<Row>(conn)?
        .into_iter()
        .map(InfoRequestView::from)
        .collect())
}

fn not_found() -> AppError {
    AppError::not_found(
        "info_request.not_found",
        "信息核实请求不存在",
        "No such information request",
    )
}

/// Staff clear a request; the restriction lifts when none is left open.
pub fn clear(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    id: i64,
    ip: &str,
) -> AppResult<InfoRequestView> {
    let n = diesel::update(
        info_requests::table
            .filter(info_requests::id.eq(id))
            .filter(info_requests::status.ne(InfoRequestStatus::Cleared)),
    )
    .set((
        info_requests::status.eq(InfoRequestStatus::Cleared),
        info_requests::cleared_at.eq(st.clock.now_naive()),
        info_requests::cleared_by.eq(staff_id),
    ))
    .execute(conn)?;
    let view = load(conn, id)?;
    if n == 0 {
        return Err(AppError::conflict(
            "info_request.cleared",
            "该请求已处理完毕",
            "This request is already cleared",
        ));
    }
    notify(
        conn,
        st,
        view.user_id,
        Notice {
            kind: "info_request.cleared",
            title: "信息核实已完成",
            body: "平台已确认您的信息，相关限制已解除。".into(),
            link: Some(format!("/api/v1/me/info-requests/{id}")),
        },
    )?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff_id),
            action: "info_request.clear",
            target_type: "user",
            target_id: Some(view.user_id.to_string()),
            reason: None,
            details: Some(serde_json::json!({ "info_request_id": id })),
            ip: Some(ip),
        },
    )?;
    Ok(view)
}

/// Restrictions in force on an account, as stable codes.
pub fn restrictions(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    let open_info: Option<i64> =
        diesel::select(open_query(user_id).single_value()).get_result(conn)?;
    if open_info.is_some() {
        out.push("info_request_pending".to_string());
    }
    Ok(out)
}

/// An information request of `user_id`'s not yet cleared (its id, at most
/// one row), as a subquery other features can put in their own statement
/// (`single_value()`).
pub fn open_query(
    user_id: i64,
) -> info_requests::BoxedQuery<'static, MultiBackend, diesel::sql_types::BigInt> {
    info_requests::table
        .filter(info_requests::user_id.eq(user_id))
        .filter(info_requests::status.ne(InfoRequestStatus::Cleared))
        .select(info_requests::id)
        .limit(1)
        .into_boxed()
}

/// ACC-6: publishing and bidding are refused while a staff information
/// request is not cleared (MKT-1, MKT-2 call this).
pub fn require_no_info_request(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    let open: Option<i64> = diesel::select(open_query(user_id).single_value()).get_result(conn)?;
    judge_info_request(open)
}

/// The refusal an open information request (its id) calls for (ACC-6).
pub fn judge_info_request(open: Option<i64>) -> AppResult<()> {
    if open.is_some() {
        return Err(AppError::forbidden(
            "account.info_request_pending",
            "平台要求您说明或更正信息，处理完成前无法发布需求或竞标",
            "Staff asked you to explain or correct your information; publishing and bidding are closed until it is cleared",
        ));
    }
    Ok(())
}
