//! Closing an account at the user's request (ACC-10): staff approve only
//! when nothing is open; two years after closure personal data is
//! anonymised, while the records money and rules need stay.

use crate::conduct::model::Blocker;
use crate::platform::enums::text_enum;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use crate::auth::accounts::UserStatus;
use crate::auth::sessions;
use crate::notifications::{Notice, notify};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{closure_requests, info_requests as info_t};
use crate::platform::error::{AppError, AppResult};
use crate::platform::state::AppState;

text_enum! {
    /// Where a closure request stands (ACC-10).
    pub enum ClosureStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}

/// Everything open on an account that blocks closure (ACC-10). Later
/// capabilities (demands, disputes, funds, deposits) add their checks here.
pub fn blockers(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<Blocker>> {
    let mut out = Vec::new();
    let open_info: i64 = info_t::table
        .filter(info_t::user_id.eq(user_id))
        .filter(info_t::status.ne(crate::verification::info_requests::InfoRequestStatus::Cleared))
        .count()
        .get_result(conn)?;
    if open_info > 0 {
        out.push(Blocker {
            code: "info_request_open".into(),
            count: open_info,
        });
    }
    Blocker::push_if(
        &mut out,
        "demand_in_progress",
        crate::marketplace::live_demand_count(conn, user_id)?,
    );
    Blocker::push_if(
        &mut out,
        "award_in_progress",
        crate::marketplace::awards_under_way_count(conn, user_id)?,
    );
    // DEP-7, DSP-1: open complaints against the user, penalties under
    // appeal, open disputes, and deposit money not yet refunded.
    out.extend(crate::conduct::deposit::own_blockers(conn, user_id)?);
    Blocker::push_if(
        &mut out,
        "dispute_open",
        crate::disputes::open_count(conn, user_id)?,
    );
    let deposit_left = crate::conduct::deposit::balance(conn, user_id)?
        + crate::funds::reading::balance_of(conn, &format!("user:{user_id}:deposit_payout"))?;
    if deposit_left > 0 {
        out.push(Blocker {
            code: "deposit_remaining".into(),
            count: 1,
        });
    }
    let funds = crate::funds::reading::account(conn, user_id)?;
    if funds.available.0 > 0 || funds.held.0 > 0 {
        // Money left on the platform must be withdrawn first.
        out.push(Blocker {
            code: "funds_remaining".into(),
            count: 1,
        });
    }
    Ok(out)
}

/// `POST /api/v1/me/closure-request`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosureRequestBody {
    /// Why the user leaves (optional).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// A closure request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureView {
    pub id: i64,
    pub user_id: i64,
    pub reason: Option<String>,
    pub status: ClosureStatus,
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// What is still open on the account (approval waits for none).
    pub blocking: Vec<Blocker>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = closure_requests)]
struct Row {
    id: i64,
    user_id: i64,
    reason: Option<String>,
    status: ClosureStatus,
    decision_reason: Option<String>,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
}

fn view(conn: &mut DbConnection, r: Row) -> AppResult<ClosureView> {
    let blocking = if r.status == ClosureStatus::Pending {
        blockers(conn, r.user_id)?
    } else {
        Vec::new()
    };
    Ok(ClosureView {
        id: r.id,
        user_id: r.user_id,
        reason: r.reason,
        status: r.status,
        decision_reason: r.decision_reason,
        created_at: r.created_at.and_utc(),
        decided_at: r.decided_at.map(|t| t.and_utc()),
        blocking,
    })
}

fn load(conn: &mut DbConnection, id: i64) -> AppResult<ClosureView> {
    let row = closure_requests::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::not_found(
                "closure.not_found",
                "注销申请不存在",
                "No such closure request",
            )
        })?;
    view(conn, row)
}

/// The user applies to close their account.
pub fn request(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    body: ClosureRequestBody,
) -> AppResult<ClosureView> {
    let reason = match body.reason.as_deref().map(str::trim) {
        Some(r) if r.chars().count() > 500 => {
            return Err(AppError::invalid_field(
                "reason",
                "text.length",
                "reason 不超过 500 个字符",
                "reason must be at most 500 characters",
            ));
        }
        Some("") | None => None,
        Some(r) => Some(r.to_string()),
    };
    let id: i64 = diesel::insert_into(closure_requests::table)
        .values((
            closure_requests::user_id.eq(user_id),
            closure_requests::reason.eq(reason),
            closure_requests::status.eq(ClosureStatus::Pending),
            closure_requests::created_at.eq(st.clock.now_naive()),
        ))
        .returning(closure_requests::id)
        .get_result(conn)
        .map_err(|e| {
            crate::platform::db::unique_or(e, |_| {
                AppError::conflict(
                    "closure.already_requested",
                    "已有待处理的注销申请",
                    "A closure request is already waiting for review",
                )
            })
        })?;
    load(conn, id)
}

/// The user who asked for a closure (none: no such request; FND-6).
pub fn requester(conn: &mut DbConnection, id: i64) -> AppResult<Option<i64>> {
    Ok(closure_requests::table
        .find(id)
        .select(closure_requests::user_id)
        .first(conn)
        .optional()?)
}

/// The user's latest closure request.
pub fn latest(conn: &mut DbConnection, user_id: i64) -> AppResult<ClosureView> {
    let row = closure_requests::table
        .filter(closure_requests::user_id.eq(user_id))
        .order(closure_requests::id.desc())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::not_found(
                "closure.not_found",
                "尚未申请注销",
                "No closure request yet",
            )
        })?;
    view(conn, row)
}

/// Closure requests by status, oldest first.
pub fn list(
    conn: &mut DbConnection,
    wanted: ClosureStatus,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<ClosureView>> {
    let mut q = closure_requests::table
        .filter(closure_requests::status.eq(wanted))
        .order(closure_requests::id.asc())
        .limit(limit + 1)
        .select(Row::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(closure_requests::id.gt(after));
    }
    let rows = q.load(conn)?;
    rows.into_iter().map(|r| view(conn, r)).collect()
}

fn blocked(blocking: &[Blocker]) -> AppError {
    let codes: Vec<String> = blocking.iter().map(|b| b.code.clone()).collect();
    AppError::conflict(
        "closure.blocked",
        "账户仍有未完结事项，暂不能注销",
        "The account still has open items and cannot be closed yet",
    )
    .with_extension(
        "blocking",
        serde_json::to_value(blocking).unwrap_or_default(),
    )
    .with_extension("blocking_codes", codes)
}

/// ACC-10: an approved closure closes the account, ends its sessions and
/// releases its identity; either way the user is told.
fn carry_out(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    approve: bool,
    reason: Option<&str>,
) -> AppResult<()> {
    let now = st.clock.now_naive();
    if approve {
        crate::users::account_state::change_status(conn, now, user_id, None, UserStatus::Closed)?;
        sessions::revoke_all(conn, user_id, None, now, "account_closed")?;
        crate::verification::service::release(conn, user_id)?;
        notify(
            conn,
            st,
            user_id,
            Notice {
                kind: "closure.approved",
                title: "账户已注销",
                body: "您的注销申请已通过，账户已关闭。按规定，您的资料将保存两年后匿名化处理。"
                    .into(),
                link: None,
            },
        )?;
    } else {
        notify(
            conn,
            st,
            user_id,
            Notice {
                kind: "closure.rejected",
                title: "注销申请未通过",
                body: format!("原因：{}", reason.unwrap_or("")),
                link: Some("/api/v1/me/closure-request".into()),
            },
        )?;
    }
    Ok(())
}

/// Staff approve (only with nothing open) or reject a pending request.
pub fn decide(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    id: i64,
    approve: bool,
    reason: Option<String>,
    ip: &str,
) -> AppResult<ClosureView> {
    let request = load(conn, id)?;
    if request.status != ClosureStatus::Pending {
        return Err(AppError::conflict(
            "closure.not_pending",
            "该注销申请不在待处理状态",
            "This closure request is not pending",
        ));
    }
    let now = st.clock.now_naive();
    if approve && !request.blocking.is_empty() {
        return Err(blocked(&request.blocking));
    }
    let new_status = if approve {
        ClosureStatus::Approved
    } else {
        ClosureStatus::Rejected
    };
    let n = diesel::update(
        closure_requests::table
            .filter(closure_requests::id.eq(id))
            .filter(closure_requests::status.eq(ClosureStatus::Pending)),
    )
    .set((
        closure_requests::status.eq(new_status),
        closure_requests::decision_reason.eq(&reason),
        closure_requests::decided_at.eq(now),
        closure_requests::decided_by.eq(staff_id),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "closure.not_pending",
            "该注销申请不在待处理状态",
            "This closure request is not pending",
        ));
    }
    let user_id = request.user_id;
    carry_out(conn, st, user_id, approve, reason.as_deref())?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff_id),
            action: if approve {
                "closure.approve"
            } else {
                "closure.reject"
            },
            target_type: "user",
            target_id: Some(user_id.to_string()),
            reason: reason.as_deref(),
            details: Some(serde_json::json!({ "closure_request_id": id })),
            ip: Some(ip),
        },
    )?;
    load(conn, id)
}

/// When a closed account's data is anonymised: two calendar years after
/// closure (SA §4(5).1), counted in China time.
pub fn anonymise_due(closed_at: NaiveDateTime) -> NaiveDateTime {
    crate::platform::clock::add_china_months(closed_at, 24)
}

/// Anonymises one closed account whose retention ended; returns whether
/// this call did it (a conditional update: safe from several servers).
pub fn anonymise(conn: &mut DbConnection, st: &AppState, user_id: i64) -> AppResult<bool> {
    let now = st.clock.now_naive();
    if !crate::users::account_state::anonymise(conn, now, user_id)? {
        return Ok(false);
    }
    crate::verification::service::anonymise(conn, user_id)?;
    crate::auth::sessions::anonymise(conn, user_id)?;
    crate::agreements::anonymise(conn, user_id)?;
    // NTF-1..3: what was sent to the account, its devices, consent IPs.
    crate::auth::devices::forget_user(conn, user_id, None)?;
    crate::platform::delivery::forget_user(conn, user_id)?;
    crate::notifications::channels::anonymise(conn, user_id)?;
    Ok(true)
}
