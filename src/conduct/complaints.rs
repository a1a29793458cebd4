//! Complaints and reports (VIO-1): a complaint against the other party of
//! an award, or a report of any user or demand. Moderators triage them: a
//! violation links and closes them (`actioned`), or they are dismissed.

use super::model::ComplaintStatus;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Category, Link, evidence_json, evidence_of};
use crate::notifications::{Notice, notify};
use crate::platform::db::schema::{awards, complaints, demands, users};
use crate::platform::db::{DbConnection, unique_or};
use crate::platform::error::{AppError, AppResult};
use crate::platform::paging::{Page, PageQuery, page_of, try_page_by_id};
use crate::platform::state::AppState;
use crate::platform::text::long_text;

/// What a complaint or report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// A complaint about the other party of one of the caller's awards.
    Award,
    /// A report of a user.
    User,
    /// A report of a demand (about its publisher).
    Demand,
}

impl TargetType {
    fn as_str(self) -> &'static str {
        match self {
            TargetType::Award => "award",
            TargetType::User => "user",
            TargetType::Demand => "demand",
        }
    }
}

/// `POST /api/v1/complaints`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "target_type": "award",
    "target_id": 42,
    "category": "refused_contact",
    "text": "中标后服务商删除了我的微信，两天联系不上。",
    "evidence": ["https://files.example.com/evidence/chat.png"]
}))]
pub struct NewComplaint {
    pub target_type: TargetType,
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::platform::http::integer::i64")]
    pub target_id: i64,
    pub category: Category,
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub text: String,
    /// Links to screenshots, recordings, photos (at most 20; legacy,
    /// prefer `file_ids`).
    #[schema(max_items = 20)]
    #[serde(default)]
    pub evidence: Vec<Link>,
    /// Uploaded evidence (`POST /files`, the reporter's own; FIL-3): read
    /// by the reporter and staff only.
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    #[schema(max_items = 20)]
    pub file_ids: Vec<i64>,
}

/// A complaint or report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintView {
    pub id: i64,
    /// `complaint` (about an award's other party) or `report`.
    #[schema(example = "complaint")]
    pub kind: String,
    #[schema(example = "award")]
    pub target_type: String,
    pub target_id: i64,
    /// The user it is about.
    pub subject_id: i64,
    #[schema(example = "refused_contact")]
    pub category: String,
    pub text: String,
    pub evidence: Vec<Link>,
    /// Uploaded evidence, with its upload times (FIL-3).
    pub files: Vec<crate::files::FileView>,
    /// `open`, `actioned` (a violation was recorded) or `dismissed`.
    pub status: ComplaintStatus,
    /// The violation recorded on it, if any.
    pub violation_id: Option<i64>,
    /// Why it was dismissed or how it was handled.
    pub resolution: Option<String>,
    pub created_at: DateTime<Utc>,
    pub handled_at: Option<DateTime<Utc>>,
}

/// A complaint as staff see it: with the reporter.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminComplaintView {
    #[serde(flatten)]
    pub complaint: ComplaintView,
    pub reporter_id: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = complaints)]
struct Row {
    id: i64,
    reporter_id: i64,
    kind: String,
    target_type: String,
    target_id: i64,
    subject_id: i64,
    category: String,
    body: String,
    evidence: String,
    status: ComplaintStatus,
    violation_id: Option<i64>,
    resolution: Option<String>,
    created_at: NaiveDateTime,
    handled_at: Option<NaiveDateTime>,
}

impl Row {
    fn view(self, conn: &mut DbConnection) -> AppResult<ComplaintView> {
        Ok(ComplaintView {
            files: crate::files::cited_by(conn, crate::files::UseKind::Complaint, self.id)?,
            id: self.id,
            kind: self.kind,
            target_type: self.target_type,
            target_id: self.target_id,
            subject_id: self.subject_id,
            category: self.category,
            text: self.body,
            evidence: evidence_of(&self.evidence),
            status: self.status,
            violation_id: self.violation_id,
            resolution: self.resolution,
            created_at: self.created_at.and_utc(),
            handled_at: self.handled_at.map(|t| t.and_utc()),
        })
    }
}

fn target_not_found() -> AppError {
    AppError::not_found(
        "complaint.target_not_found",
        "投诉对象不存在",
        "No such award, user or demand",
    )
}

/// Who a complaint is about, and whether it is a complaint or a report.
fn subject_of(
    conn: &mut DbConnection,
    reporter: i64,
    target: TargetType,
    id: i64,
) -> AppResult<(i64, &'static str)> {
    let subject = match target {
        TargetType::Award => {
            // Only a party may complain; anyone else sees no such award.
            let parties: Option<(i64, i64)> = awards::table
                .find(id)
                .select((awards::employer_id, awards::provider_id))
                .first(conn)
                .optional()?;
            let other = match parties {
                Some((employer, provider)) if employer == reporter => provider,
                Some((employer, provider)) if provider == reporter => employer,
                _ => return Err(target_not_found()),
            };
            return Ok((other, "complaint"));
        }
        TargetType::User => users::table
            .filter(users::id.eq(id))
            .filter(users::status.ne(crate::auth::accounts::UserStatus::Closed))
            .select(users::id)
            .first::<i64>(conn)
            .optional()?,
        TargetType::Demand => demands::table
            .find(id)
            .select(demands::owner_id)
            .first::<i64>(conn)
            .optional()?,
    };
    let subject = subject.ok_or_else(target_not_found)?;
    if subject == reporter {
        return Err(AppError::conflict(
            "complaint.self",
            "不能投诉或举报自己",
            "You cannot complain about yourself",
        ));
    }
    Ok((subject, "report"))
}

/// Files a complaint or report (VIO-1). A second open one from the same
/// reporter about the same target is refused (409). Extends the subject's
/// deposit observation (DEP-7).
pub fn create(
    conn: &mut DbConnection,
    st: &AppState,
    reporter: i64,
    req: NewComplaint,
) -> AppResult<ComplaintView> {
    let text = long_text("text", &req.text, 2000)?;
    let evidence = evidence_json(&req.evidence, 20)?;
    if req.file_ids.len() > 20 {
        return Err(AppError::invalid_field(
            "file_ids",
            "evidence.too_many",
            "凭证最多 20 项",
            "At most 20 pieces of evidence",
        ));
    }
    let (subject, kind) = subject_of(conn, reporter, req.target_type, req.target_id)?;
    let now = st.clock.now_naive();
    let id: i64 = diesel::insert_into(complaints::table)
        .values((
            complaints::reporter_id.eq(reporter),
            complaints::kind.eq(kind),
            complaints::target_type.eq(req.target_type.as_str()),
            complaints::target_id.eq(req.target_id),
            complaints::subject_id.eq(subject),
            complaints::category.eq(req.category.as_str()),
            complaints::body.eq(&text),
            complaints::evidence.eq(&evidence),
            complaints::status.eq(ComplaintStatus::Open),
            complaints::created_at.eq(now),
        ))
        .returning(complaints::id)
        .get_result(conn)
        .map_err(|e| {
            unique_or(e, |_| {
                AppError::conflict(
                    "complaint.duplicate",
                    "您对该对象的投诉仍在处理中，请勿重复提交",
                    "You already have an open complaint about this",
                )
            })
        })?;
    // FIL-3: uploaded evidence, the reporter's own files.
    crate::files::attach(
        conn,
        st,
        reporter,
        "file_ids",
        &req.file_ids,
        (crate::files::UseKind::Complaint, id),
    )?;
    super::deposit::extend_observation(conn, st, subject, "收到新的投诉")?;
    notify(
        conn,
        st,
        reporter,
        Notice {
            kind: "complaint.received",
            title: "投诉已受理",
            body: "平台已收到您的投诉/举报，将尽快核实处理。".into(),
            link: Some("/api/v1/me/complaints".into()),
        },
    )?;
    load(conn, id)
}

fn load_row(conn: &mut DbConnection, id: i64) -> AppResult<Row> {
    complaints::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::not_found("complaint.not_found", "投诉不存在", "No such complaint")
        })
}

fn load(conn: &mut DbConnection, id: i64) -> AppResult<ComplaintView> {
    load_row(conn, id)?.view(conn)
}

/// The caller's complaints and reports, newest first.
pub fn mine(
    conn: &mut DbConnection,
    reporter: i64,
    page: &PageQuery,
) -> AppResult<Page<ComplaintView>> {
    let limit = page.limit()?;
    let mut q = complaints::table
        .filter(complaints::reporter_id.eq(reporter))
        .select(Row::as_select())
        .order(complaints::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = page.before_id()? {
        q = q.filter(complaints::id.lt(before));
    }
    let rows: Vec<Row> = q.load(conn)?;
    try_page_by_id(rows, limit, |r| r.id, |r| r.view(conn))
}

/// The moderators' queue: complaints in a state, oldest first.
pub fn queue(
    conn: &mut DbConnection,
    wanted: ComplaintStatus,
    page: &PageQuery,
) -> AppResult<Page<AdminComplaintView>> {
    let limit = page.limit()?;
    let mut q = complaints::table
        .filter(complaints::status.eq(wanted))
        .select(Row::as_select())
        .order(complaints::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = page.after_id()? {
        q = q.filter(complaints::id.gt(after));
    }
    let rows: Vec<Row> = q.load(conn)?;
    let views = rows
        .into_iter()
        .map(|r| {
            Ok(AdminComplaintView {
                reporter_id: r.reporter_id,
                complaint: r.view(conn)?,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok(page_of(views, limit, |v| v.complaint.id))
}

/// Closes open complaints about `subject` as handled by `violation_id`;
/// tells each reporter. Complaints not open or about someone else: 409.
pub fn link_to_violation(
    conn: &mut DbConnection,
    st: &AppState,
    ids: &[i64],
    subject: i64,
    violation_id: i64,
    staff: i64,
) -> AppResult<()> {
    let now = st.clock.now_naive();
    for &id in ids {
        let n = diesel::update(
            complaints::table
                .filter(complaints::id.eq(id))
                .filter(complaints::subject_id.eq(subject))
                .filter(complaints::status.eq(ComplaintStatus::Open)),
        )
        .set((
            complaints::status.eq(ComplaintStatus::Actioned),
            complaints::violation_id.eq(violation_id),
            complaints::resolution.eq("已认定违规并处理"),
            complaints::handled_by.eq(staff),
            complaints::handled_at.eq(now),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::conflict(
                "complaint.not_linkable",
                format!("投诉 {id} 不存在、已处理或不是针对该用户"),
                format!("Complaint {id} does not exist, is closed, or is about another user"),
            ));
        }
        let reporter: i64 = complaints::table
            .find(id)
            .select(complaints::reporter_id)
            .first(conn)?;
        notify(
            conn,
            st,
            reporter,
            Notice {
                kind: "complaint.actioned",
                title: "投诉处理结果",
                body: "您的投诉/举报经核实成立，平台已对被投诉方作出处理。".into(),
                link: Some("/api/v1/me/complaints".into()),
            },
        )?;
    }
    Ok(())
}

/// A moderator dismisses an open complaint with a reason.
pub fn dismiss(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    id: i64,
    reason: &str,
) -> AppResult<ComplaintView> {
    let row = load_row(conn, id)?;
    let n = diesel::update(
        complaints::table
            .filter(complaints::id.eq(id))
            .filter(complaints::status.eq(ComplaintStatus::Open)),
    )
    .set((
        complaints::status.eq(ComplaintStatus::Dismissed),
        complaints::resolution.eq(reason),
        complaints::handled_by.eq(staff),
        complaints::handled_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "complaint.not_open",
            "该投诉已处理",
            "The complaint was already handled",
        ));
    }
    notify(
        conn,
        st,
        row.reporter_id,
        Notice {
            kind: "complaint.dismissed",
            title: "投诉处理结果",
            body: format!("您的投诉/举报经核实不予处理，原因：{reason}"),
            link: Some("/api/v1/me/complaints".into()),
        },
    )?;
    load(conn, id)
}

/// Who filed complaint `id` (FIL-2: its evidence is theirs to read).
pub fn reporter_of(conn: &mut DbConnection, id: i64) -> AppResult<Option<i64>> {
    Ok(complaints::table
        .find(id)
        .select(complaints::reporter_id)
        .first(conn)
        .optional()?)
}

/// What complaint `id` is about: (target type, target id, reporter,
/// subject) — for staff reading a conversation through it (MSG-7).
pub fn ground_of(conn: &mut DbConnection, id: i64) -> AppResult<Option<(String, i64, i64, i64)>> {
    Ok(complaints::table
        .find(id)
        .select((
            complaints::target_type,
            complaints::target_id,
            complaints::reporter_id,
            complaints::subject_id,
        ))
        .first(conn)
        .optional()?)
}
