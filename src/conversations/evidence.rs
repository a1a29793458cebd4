//! Evidence records (MSG-7): what the platform itself saw of a party's
//! conduct — an abusive message (DR ①), a block during work (DR ②), an
//! employer left unanswered past the contact clock (DR ④) — kept for
//! moderators, who may cite them in a violation (VIO-2); the user then sees
//! what was cited.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::platform::db::DbConnection;
use crate::platform::db::schema::evidence;
use crate::platform::enums::text_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::paging::{Page, PageQuery, page_by_id};
use crate::platform::state::AppState;

text_enum! {
    /// What the platform saw.
    pub enum EvidenceKind {
        /// A message with words of the abuse list (DR ①, MSG-3).
        AbusiveMessage = "abusive_message",
        /// The provider blocked the employer during an award in progress
        /// (DR ②, MSG-4).
        Block = "block",
        /// The provider left the conversation during an award in progress
        /// (DR ②, MSG-4).
        Left = "left",
        /// An employer message left unanswered past the contact clock
        /// (DR ④, MSG-5).
        Unreachable = "unreachable",
        /// A confidential file was downloaded (DR ③, MSG-6): who and when.
        ConfidentialDownload = "confidential_download",
    }
}

text_enum! {
    /// Where a record stands in the moderators' queue.
    pub enum EvidenceStatus {
        /// Not yet cited.
        Open = "open",
        /// Cited by a violation.
        Cited = "cited",
    }
}

/// An evidence record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    pub id: i64,
    pub kind: EvidenceKind,
    pub status: EvidenceStatus,
    /// Whose conduct it records.
    pub user_id: i64,
    pub award_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// The message it is about (an abusive message; the unanswered one).
    pub message_id: Option<i64>,
    /// What the platform recorded, in words.
    pub summary: String,
    /// The violation citing it.
    pub violation_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = evidence)]
struct Row {
    id: i64,
    kind: EvidenceKind,
    status: EvidenceStatus,
    user_id: i64,
    award_id: Option<i64>,
    conversation_id: Option<i64>,
    message_id: Option<i64>,
    summary: String,
    violation_id: Option<i64>,
    created_at: NaiveDateTime,
}

impl Row {
    fn view(self) -> EvidenceView {
        EvidenceView {
            id: self.id,
            kind: self.kind,
            status: self.status,
            user_id: self.user_id,
            award_id: self.award_id,
            conversation_id: self.conversation_id,
            message_id: self.message_id,
            summary: self.summary,
            violation_id: self.violation_id,
            created_at: self.created_at.and_utc(),
        }
    }
}

/// What a record is about: (award, conversation, message).
pub type About = (Option<i64>, Option<i64>, Option<i64>);

/// Records evidence of `user`'s conduct (in the caller's transaction);
/// returns its id.
pub fn record(
    conn: &mut DbConnection,
    st: &AppState,
    kind: EvidenceKind,
    user: i64,
    (award_id, conversation_id, message_id): About,
    summary: &str,
) -> AppResult<i64> {
    Ok(diesel::insert_into(evidence::table)
        .values((
            evidence::kind.eq(kind),
            evidence::status.eq(EvidenceStatus::Open),
            evidence::user_id.eq(user),
            evidence::award_id.eq(award_id),
            evidence::conversation_id.eq(conversation_id),
            evidence::message_id.eq(message_id),
            evidence::summary.eq(summary),
            evidence::created_at.eq(st.clock.now_naive()),
        ))
        .returning(evidence::id)
        .get_result(conn)?)
}

/// Filters of the moderators' queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    pub kind: Option<EvidenceKind>,
    pub status: Option<EvidenceStatus>,
    /// Records about this user's conduct.
    #[param(minimum = 1)]
    pub user_id: Option<i64>,
    #[param(minimum = 1)]
    pub award_id: Option<i64>,
}

/// MSG-7: the moderators' list, newest first.
pub fn queue(
    conn: &mut DbConnection,
    filter: &EvidenceQuery,
    page: &PageQuery,
) -> AppResult<Page<EvidenceView>> {
    let limit = page.limit()?;
    for (field, value) in [("user_id", filter.user_id), ("award_id", filter.award_id)] {
        if value.is_some_and(|v| v < 1) {
            return Err(AppError::invalid_field(
                field,
                "query.invalid",
                format!("{field} 须为正整数"),
                format!("{field} must be a positive integer"),
            ));
        }
    }
    let mut q = evidence::table
        .select(Row::as_select())
        .order(evidence::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = page.before_id()? {
        q = q.filter(evidence::id.lt(before));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(evidence::kind.eq(kind));
    }
    if let Some(status) = filter.status {
        q = q.filter(evidence::status.eq(status));
    }
    if let Some(user) = filter.user_id {
        q = q.filter(evidence::user_id.eq(user));
    }
    if let Some(award) = filter.award_id {
        q = q.filter(evidence::award_id.eq(award));
    }
    let rows: Vec<Row> = q.load(conn)?;
    Ok(page_by_id(rows, limit, |r| r.id, Row::view))
}

/// VIO-2, MSG-7: violation `violation_id` about `user_id` cites `ids`:
/// each must be an uncited record of that user's conduct (else 422 naming
/// `evidence_ids[i]`), and is marked cited.
pub fn cite(
    conn: &mut DbConnection,
    violation_id: i64,
    user_id: i64,
    ids: &[i64],
) -> AppResult<()> {
    for (i, id) in ids.iter().enumerate() {
        let n = diesel::update(
            evidence::table
                .find(id)
                .filter(evidence::user_id.eq(user_id))
                .filter(evidence::status.eq(EvidenceStatus::Open)),
        )
        .set((
            evidence::status.eq(EvidenceStatus::Cited),
            evidence::violation_id.eq(violation_id),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::invalid_field(
                &format!("evidence_ids[{i}]"),
                "evidence.not_citable",
                "证据不存在、不属于该用户或已被引用",
                "No such open evidence about this user",
            ));
        }
    }
    Ok(())
}

/// The evidence violations `ids` cite, by violation (what the user sees).
pub fn cited_by(
    conn: &mut DbConnection,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, Vec<EvidenceView>>> {
    let rows: Vec<Row> = evidence::table
        .filter(evidence::violation_id.eq_any(ids))
        .order(evidence::id.asc())
        .select(Row::as_select())
        .load(conn)?;
    let mut out: std::collections::HashMap<i64, Vec<EvidenceView>> = Default::default();
    for row in rows {
        if let Some(v) = row.violation_id {
            out.entry(v).or_default().push(row.view());
        }
    }
    Ok(out)
}

/// Whether evidence `id` concerns conversation `conversation_id` (staff
/// reading a conversation through a violation that cites it).
pub fn concerns(
    conn: &mut DbConnection,
    violation_id: i64,
    conversation_id: i64,
) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        evidence::table
            .filter(evidence::violation_id.eq(violation_id))
            .filter(evidence::conversation_id.eq(conversation_id)),
    ))
    .get_result(conn)?)
}
