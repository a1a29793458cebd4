//! Disputes (DSP-1; SA §3.7, §4.5, §12.2): either party of an award asks
//! the platform to mediate. While a dispute is open the award's hold is
//! frozen (the award is `disputed`: it cannot be confirmed, auto-completed,
//! cancelled or released). Moderators decide; the decision moves the money
//! in one ledger transaction set, and a claim from the provider's deposit
//! follows the deposit rules (DEP-5: recorded as a violation, appealable).

pub mod routes;

use crate::auth::accounts::{Role, UserStatus};
use crate::platform::enums::text_enum;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor};
use std::collections::HashMap;

use crate::conduct::{Link, evidence_json, evidence_of};
use crate::files::{FileView, UseKind};
use crate::funds::ledger::{self, Reference};
use crate::marketplace::awards::{self as award_svc};
use crate::marketplace::dto::CheckInView;
use crate::marketplace::model::AwardStatus;
use crate::notifications::{Notice, Recipients, notify, notify_many};
use crate::platform::db::schema::{awards, dispute_events, disputes, users};
use crate::platform::db::{DbConnection, unique_or};
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::{Money, format_fen};
use crate::platform::paging::{Page, PageQuery, page_of};
use crate::platform::state::AppState;
use crate::platform::text::long_text;

text_enum! {
    /// Where a dispute stands (DSP-1): open until a moderator decides.
    pub enum DisputeStatus {
        Open = "open",
        Decided = "decided",
    }
}

/// Open disputes the user is a party of (they block deposit refund and
/// account closure, DEP-7, ACC-10).
pub fn open_count(conn: &mut DbConnection, user_id: i64) -> AppResult<i64> {
    Ok(disputes::table
        .filter(
            disputes::employer_id
                .eq(user_id)
                .or(disputes::provider_id.eq(user_id)),
        )
        .filter(disputes::status.eq(DisputeStatus::Open))
        .count()
        .get_result(conn)?)
}

/// What the dispute is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisputeCategory {
    /// The work was not done.
    NotDelivered,
    /// Done, but not as agreed.
    Quality,
    /// About payment or the amount.
    Payment,
    /// The other party's conduct.
    Conduct,
    Other,
}

impl DisputeCategory {
    fn as_str(self) -> &'static str {
        match self {
            DisputeCategory::NotDelivered => "not_delivered",
            DisputeCategory::Quality => "quality",
            DisputeCategory::Payment => "payment",
            DisputeCategory::Conduct => "conduct",
            DisputeCategory::Other => "other",
        }
    }
}

/// `POST /api/v1/awards/{id}/disputes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "category": "not_delivered",
    "claim_amount": "500.00",
    "statement": "服务商未到场，打卡照片为旧图。",
    "evidence": ["https://files.example.com/evidence/photo.jpg"]
}))]
pub struct NewDispute {
    pub category: DisputeCategory,
    /// What the opener claims, at most the award's price.
    pub claim_amount: Money,
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub statement: String,
    #[schema(max_items = 20)]
    #[serde(default)]
    pub evidence: Vec<Link>,
    /// Uploaded evidence (`POST /files`, the caller's own; FIL-3): read by
    /// the dispute's parties and staff.
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    #[schema(max_items = 20)]
    pub file_ids: Vec<i64>,
}

/// `POST /api/v1/disputes/{id}/statements`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "已按时到场，附带定位打卡记录。", "evidence": ["https://files.example.com/checkin.png"]}))]
pub struct NewStatement {
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub text: String,
    #[schema(max_items = 20)]
    #[serde(default)]
    pub evidence: Vec<Link>,
    /// Uploaded evidence (`POST /files`, the caller's own; FIL-3): read by
    /// the dispute's parties and staff.
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    #[schema(max_items = 20)]
    pub file_ids: Vec<i64>,
}

/// One thing that happened in a dispute.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    /// `opened`, `statement`, `silence` (no answer in the response window),
    /// `escalated` (undecided after 60 days) or `decided`.
    #[schema(example = "statement")]
    pub kind: String,
    /// Who (a party or staff); `null` for the platform's own entries.
    pub actor_id: Option<i64>,
    /// `employer`, `provider`, `staff` or `platform`.
    #[schema(example = "provider")]
    pub role: String,
    pub text: Option<String>,
    /// Links to evidence kept elsewhere (legacy; prefer `file_ids`).
    pub evidence: Vec<Link>,
    /// Uploaded evidence, with its upload times (FIL-3).
    pub files: Vec<FileView>,
    pub created_at: DateTime<Utc>,
}

/// A dispute with its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeView {
    pub id: i64,
    pub award_id: i64,
    pub employer_id: i64,
    pub provider_id: i64,
    pub opened_by: i64,
    #[schema(example = "not_delivered")]
    pub category: String,
    pub claim_amount: Money,
    /// The award's price; frozen while `hold_frozen`.
    pub award_price: Money,
    /// Whether the award's held amount is frozen by this dispute (false
    /// for a dispute opened after completion).
    pub hold_frozen: bool,
    pub status: DisputeStatus,
    /// The other party answers by then.
    pub respond_by: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    /// The response window passed without an answer.
    pub silence_recorded: bool,
    /// Undecided for 60 days: flagged for staff.
    pub escalated: bool,
    /// `release`, `refund`, `split` or `none` (decided).
    pub outcome: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub timeline: Vec<EventView>,
    /// The award's check-ins, oldest first (WRK-3: who was on site when).
    pub check_ins: Vec<CheckInView>,
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = disputes)]
struct Row {
    id: i64,
    award_id: i64,
    employer_id: i64,
    provider_id: i64,
    opened_by: i64,
    category: String,
    claim_amount: i64,
    status: DisputeStatus,
    respond_by: NaiveDateTime,
    responded_at: Option<NaiveDateTime>,
    silence_recorded_at: Option<NaiveDateTime>,
    escalated_at: Option<NaiveDateTime>,
    outcome: Option<String>,
    decision_reason: Option<String>,
    decided_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

fn not_found() -> AppError {
    AppError::not_found("dispute.not_found", "争议不存在", "No such dispute")
}

fn load_row(conn: &mut DbConnection, id: i64) -> AppResult<Row> {
    disputes::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

fn add_event(
    conn: &mut DbConnection,
    st: &AppState,
    dispute_id: i64,
    actor: Option<i64>,
    kind: &str,
    text: Option<&str>,
    evidence: Option<&str>,
) -> AppResult<i64> {
    Ok(diesel::insert_into(dispute_events::table)
        .values((
            dispute_events::dispute_id.eq(dispute_id),
            dispute_events::actor_id.eq(actor),
            dispute_events::kind.eq(kind),
            dispute_events::body.eq(text),
            dispute_events::evidence.eq(evidence),
            dispute_events::created_at.eq(st.clock.now_naive()),
        ))
        .returning(dispute_events::id)
        .get_result(conn)?)
}

/// A dispute's parties (employer, provider); none: no such dispute (FND-6).
pub fn parties(conn: &mut DbConnection, id: i64) -> AppResult<Option<(i64, i64)>> {
    Ok(disputes::table
        .find(id)
        .select((disputes::employer_id, disputes::provider_id))
        .first(conn)
        .optional()?)
}

/// The award dispute `id` is about (MSG-7: staff read its conversation).
pub fn award_of(conn: &mut DbConnection, id: i64) -> AppResult<Option<i64>> {
    Ok(disputes::table
        .find(id)
        .select(disputes::award_id)
        .first(conn)
        .optional()?)
}

/// The parties (employer, provider) of the dispute event `event_id` cites
/// from (FIL-2: its files are theirs to read).
pub fn event_parties(conn: &mut DbConnection, event_id: i64) -> AppResult<Option<(i64, i64)>> {
    Ok(dispute_events::table
        .inner_join(disputes::table)
        .filter(dispute_events::id.eq(event_id))
        .select((disputes::employer_id, disputes::provider_id))
        .first(conn)
        .optional()?)
}

type EventRow = (
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

/// The timelines of `rows`, by dispute: two queries however many.
fn timelines(conn: &mut DbConnection, rows: &[Row]) -> AppResult<HashMap<i64, Vec<EventView>>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let parties: HashMap<i64, (i64, i64)> = rows
        .iter()
        .map(|r| (r.id, (r.employer_id, r.provider_id)))
        .collect();
    let events: Vec<(i64, EventRow)> = dispute_events::table
        .filter(dispute_events::dispute_id.eq_any(&ids))
        .order(dispute_events::id.asc())
        .select((
            dispute_events::dispute_id,
            (
                dispute_events::id,
                dispute_events::actor_id,
                dispute_events::kind,
                dispute_events::body,
                dispute_events::evidence,
                dispute_events::created_at,
            ),
        ))
        .load(conn)?;
    let event_ids: Vec<i64> = events.iter().map(|(_, e)| e.0).collect();
    let mut files_of = crate::files::cited_by_each(conn, UseKind::DisputeEvent, &event_ids)?;
    let mut out: HashMap<i64, Vec<EventView>> = HashMap::new();
    for (dispute_id, (id, actor, kind, text, evidence, at)) in events {
        let (employer, provider) = parties.get(&dispute_id).copied().unwrap_or_default();
        let role = match actor {
            None => "platform",
            Some(a) if a == employer => "employer",
            Some(a) if a == provider => "provider",
            Some(_) => "staff",
        };
        out.entry(dispute_id).or_default().push(EventView {
            id,
            role: role.to_string(),
            actor_id: actor,
            kind,
            text,
            evidence: evidence.as_deref().map(evidence_of).unwrap_or_default(),
            files: files_of.remove(&id).unwrap_or_default(),
            created_at: at.and_utc(),
        });
    }
    Ok(out)
}

/// Views of disputes with their timelines and the awards' check-ins: a
/// fixed number of queries however many rows.
fn views(conn: &mut DbConnection, rows: Vec<Row>) -> AppResult<Vec<DisputeView>> {
    let award_ids: Vec<i64> = rows.iter().map(|r| r.award_id).collect();
    let awards_of: HashMap<i64, (i64, AwardStatus)> = awards::table
        .filter(awards::id.eq_any(&award_ids))
        .select((awards::id, awards::price, awards::status))
        .load::<(i64, i64, AwardStatus)>(conn)?
        .into_iter()
        .map(|(id, price, st)| (id, (price, st)))
        .collect();
    let mut timelines = timelines(conn, &rows)?;
    let check_ins = crate::marketplace::check_ins::of_awards(conn, &award_ids)?;
    rows.into_iter()
        .map(|r| {
            let (price, award_now) = awards_of
                .get(&r.award_id)
                .cloned()
                .ok_or_else(|| AppError::internal("dispute without its award"))?;
            Ok(DisputeView {
                id: r.id,
                award_id: r.award_id,
                employer_id: r.employer_id,
                provider_id: r.provider_id,
                opened_by: r.opened_by,
                category: r.category,
                claim_amount: Money::from_stored(r.claim_amount)?,
                award_price: Money::from_stored(price)?,
                hold_frozen: r.status == DisputeStatus::Open && award_now == AwardStatus::Disputed,
                status: r.status,
                respond_by: r.respond_by.and_utc(),
                responded_at: r.responded_at.map(|t| t.and_utc()),
                silence_recorded: r.silence_recorded_at.is_some(),
                escalated: r.escalated_at.is_some(),
                outcome: r.outcome,
                decision_reason: r.decision_reason,
                decided_at: r.decided_at.map(|t| t.and_utc()),
                created_at: r.created_at.and_utc(),
                timeline: timelines.remove(&r.id).unwrap_or_default(),
                // An award appears once per dispute; a second dispute on
                // it gets its own copy.
                check_ins: check_ins.get(&r.award_id).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

fn view(conn: &mut DbConnection, r: Row) -> AppResult<DisputeView> {
    views(conn, vec![r])?
        .pop()
        .ok_or_else(|| AppError::internal("dispute view vanished"))
}

/// The dispute, for its parties and staff; anyone else gets 404.
pub fn get(
    conn: &mut DbConnection,
    viewer: i64,
    is_staff: bool,
    id: i64,
) -> AppResult<DisputeView> {
    let row = load_row(conn, id)?;
    if !is_staff && viewer != row.employer_id && viewer != row.provider_id {
        return Err(not_found());
    }
    view(conn, row)
}

fn check_claim(req: &NewDispute, price: i64) -> AppResult<()> {
    if req.claim_amount.fen() > price {
        return Err(AppError::invalid_field(
            "claim_amount",
            "dispute.claim_exceeds_price",
            format!("索赔金额不能超过中标价 {}", format_fen(price)),
            format!(
                "The claim cannot exceed the award price {}",
                format_fen(price)
            ),
        ));
    }
    Ok(())
}

/// DSP-1: an award that could not be frozen may still be disputed within
/// the window after its completion; returns its status (the one before).
fn open_after_completion(
    conn: &mut DbConnection,
    st: &AppState,
    award_id: i64,
) -> AppResult<AwardStatus> {
    let now = st.clock.now_naive();
    let award = award_svc::load_for(conn, award_id, None)?;
    if award.status == AwardStatus::Disputed {
        return Err(AppError::conflict(
            "dispute.exists",
            "该中标已有进行中的争议",
            "This award already has an open dispute",
        ));
    }
    let window = Duration::days(st.settings.conduct.dispute_window_days);
    let in_window = award.status == AwardStatus::Completed
        && award.completed_at.is_some_and(|c| now <= c + window);
    if !in_window {
        return Err(AppError::conflict(
            "dispute.not_allowed",
            "该中标已取消或完成超过 14 天，不能再提出争议",
            "Disputes are closed for this award (cancelled, or completed more than 14 days ago)",
        ));
    }
    Ok(award.status)
}

fn insert_dispute(
    conn: &mut DbConnection,
    st: &AppState,
    opener: i64,
    award: &award_svc::Row,
    req: &NewDispute,
    before: AwardStatus,
) -> AppResult<i64> {
    let now = st.clock.now_naive();
    let respond_by = now + Duration::days(st.settings.conduct.dispute_response_days);
    diesel::insert_into(disputes::table)
        .values((
            disputes::award_id.eq(award.id),
            disputes::employer_id.eq(award.employer_id),
            disputes::provider_id.eq(award.provider_id),
            disputes::opened_by.eq(opener),
            disputes::category.eq(req.category.as_str()),
            disputes::claim_amount.eq(req.claim_amount.fen()),
            disputes::award_status_before.eq(before),
            disputes::status.eq(DisputeStatus::Open),
            disputes::respond_by.eq(respond_by),
            disputes::created_at.eq(now),
        ))
        .returning(disputes::id)
        .get_result(conn)
        .map_err(|e| {
            unique_or(e, |_| {
                AppError::conflict(
                    "dispute.exists",
                    "该中标已有进行中的争议",
                    "This award already has an open dispute",
                )
            })
        })
}

/// Tells the other party, with the answer window.
fn announce_opened(
    conn: &mut DbConnection,
    st: &AppState,
    award: &award_svc::Row,
    opener: i64,
    id: i64,
    req: &NewDispute,
    frozen: bool,
) -> AppResult<()> {
    let respond_by: NaiveDateTime = disputes::table
        .find(id)
        .select(disputes::respond_by)
        .first(conn)?;
    let other = if opener == award.employer_id {
        award.provider_id
    } else {
        award.employer_id
    };
    notify(
        conn,
        st,
        other,
        Notice {
            kind: "dispute.opened",
            title: "对方提出了争议",
            body: format!(
                "中标 #{} 的对方提出争议，索赔 {} 元。请于 {} 前提交说明和证据，逾期视为未答复。{}",
                award.id,
                req.claim_amount,
                crate::platform::clock::china_time(respond_by),
                if frozen {
                    "争议期间担保金冻结。"
                } else {
                    ""
                }
            ),
            link: Some(format!("/api/v1/disputes/{id}")),
        },
    )
}

/// DSP-1: a party opens a dispute on an award in progress or delivered
/// (freezing its hold), or within the window after completion.
pub fn open(
    conn: &mut DbConnection,
    st: &AppState,
    opener: i64,
    award_id: i64,
    req: NewDispute,
) -> AppResult<DisputeView> {
    let statement = long_text("statement", &req.statement, 2000)?;
    let evidence = evidence_json(&req.evidence, 20)?;
    let award = award_svc::load_for(conn, award_id, Some(opener))?;
    check_claim(&req, award.price)?;
    award_svc::lock_demand(conn, st, award.demand_id)?;
    let frozen = award_svc::freeze(conn, award_id)?;
    let before = if frozen {
        award.status
    } else {
        open_after_completion(conn, st, award_id)?
    };
    let id = insert_dispute(conn, st, opener, &award, &req, before)?;
    let event = add_event(
        conn,
        st,
        id,
        Some(opener),
        "opened",
        Some(&statement),
        Some(&evidence),
    )?;
    crate::files::attach(
        conn,
        st,
        opener,
        "file_ids",
        &req.file_ids,
        (UseKind::DisputeEvent, event),
    )?;
    crate::conversations::on_award(
        conn,
        st,
        award_id,
        crate::conversations::SystemEvent::Dispute,
        frozen.then_some(crate::conversations::Stage::Disputed),
        &format!("一方提出了争议（#{id}），平台将介入调解。"),
    )?;
    announce_opened(conn, st, &award, opener, id, &req, frozen)?;
    // DEP-7: a dispute extends a running deposit observation.
    for party in [award.employer_id, award.provider_id] {
        crate::conduct::deposit::extend_observation(conn, st, party, "发生新的争议")?;
    }
    let row = load_row(conn, id)?;
    view(conn, row)
}

/// A party (or staff) adds a statement with evidence while the dispute is open.
pub fn add_statement(
    conn: &mut DbConnection,
    st: &AppState,
    actor: i64,
    is_staff: bool,
    id: i64,
    req: NewStatement,
) -> AppResult<DisputeView> {
    let text = long_text("text", &req.text, 2000)?;
    let evidence = evidence_json(&req.evidence, 20)?;
    let row = load_row(conn, id)?;
    let party = actor == row.employer_id || actor == row.provider_id;
    if !party && !is_staff {
        return Err(not_found());
    }
    if row.status != DisputeStatus::Open {
        return Err(AppError::conflict(
            "dispute.closed",
            "争议已裁决",
            "The dispute is already decided",
        ));
    }
    let event = add_event(
        conn,
        st,
        id,
        Some(actor),
        "statement",
        Some(&text),
        Some(&evidence),
    )?;
    crate::files::attach(
        conn,
        st,
        actor,
        "file_ids",
        &req.file_ids,
        (UseKind::DisputeEvent, event),
    )?;
    let respondent = if row.opened_by == row.employer_id {
        row.provider_id
    } else {
        row.employer_id
    };
    if actor == respondent && row.responded_at.is_none() {
        diesel::update(disputes::table.find(id))
            .set(disputes::responded_at.eq(st.clock.now_naive()))
            .execute(conn)?;
    }
    let others: Vec<i64> = [row.employer_id, row.provider_id]
        .into_iter()
        .filter(|u| *u != actor)
        .collect();
    notify_many(
        conn,
        st,
        Recipients::Users(&others),
        Notice {
            kind: "dispute.statement",
            title: "争议有新的陈述",
            body: format!("争议 #{id} 有新的陈述或证据。"),
            link: Some(format!("/api/v1/disputes/{id}")),
        },
    )?;
    let row = load_row(conn, id)?;
    view(conn, row)
}

/// The moderators' queue, oldest first; `escalated=true` for the flagged ones.
pub fn queue(
    conn: &mut DbConnection,
    wanted: DisputeStatus,
    escalated_only: bool,
    page: &PageQuery,
) -> AppResult<Page<DisputeView>> {
    let limit = page.limit()?;
    let mut q = disputes::table
        .filter(disputes::status.eq(wanted))
        .select(Row::as_select())
        .order(disputes::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if escalated_only {
        q = q.filter(disputes::escalated_at.is_not_null());
    }
    if let Some(after) = page.after_id()? {
        q = q.filter(disputes::id.gt(after));
    }
    let rows: Vec<Row> = q.load(conn)?;
    Ok(page_of(views(conn, rows)?, limit, |v| v.id))
}

/// What happens to the held amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldOutcome {
    /// Pay the provider (less the platform fee), as a completion.
    Release,
    /// Return it to the employer.
    Refund,
    /// `provider_amount` to the provider (less the fee), the rest back.
    Split,
    /// Nothing is held (a dispute after completion): only a claim, if any.
    None,
}

impl HoldOutcome {
    fn as_str(self) -> &'static str {
        match self {
            HoldOutcome::Release => "release",
            HoldOutcome::Refund => "refund",
            HoldOutcome::Split => "split",
            HoldOutcome::None => "none",
        }
    }
}

/// Who pays a claim beyond the hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimFrom {
    /// The provider's security deposit, to the employer (DEP-5: recorded as
    /// a violation the provider may appeal; a top-up notice follows).
    ProviderDeposit,
    /// The provider's available funds, to the employer.
    ProviderFunds,
    /// The employer's available funds, to the provider.
    EmployerFunds,
}

/// A payment beyond the hold.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub amount: Money,
    pub from: ClaimFrom,
}

/// `POST /api/v1/admin/disputes/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "outcome": "split",
    "provider_amount": "200.00",
    "reason": "服务商完成约四成工作量，按比例结算。"
}))]
pub struct DisputeDecision {
    pub outcome: HoldOutcome,
    /// For `split`: the provider's part (the employer gets the rest).
    pub provider_amount: Option<Money>,
    /// Optionally, a claim paid beyond the hold.
    pub claim: Option<Claim>,
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

fn decision_conflict(zh: &'static str, en: &'static str) -> AppError {
    AppError::conflict("dispute.decision_invalid", zh, en)
}

/// Marks the dispute decided (once: a second decision is 409).
fn close_row(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    id: i64,
    outcome: HoldOutcome,
    reason: &str,
) -> AppResult<()> {
    let n = diesel::update(
        disputes::table
            .filter(disputes::id.eq(id))
            .filter(disputes::status.eq(DisputeStatus::Open)),
    )
    .set((
        disputes::status.eq(DisputeStatus::Decided),
        disputes::outcome.eq(outcome.as_str()),
        disputes::decision_reason.eq(reason),
        disputes::decided_by.eq(staff),
        disputes::decided_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "dispute.closed",
            "争议已裁决",
            "The dispute is already decided",
        ));
    }
    Ok(())
}

/// How much of the frozen hold goes to the provider under `req`; `None`
/// when nothing is held.
fn provider_share(frozen: bool, price: i64, req: &DisputeDecision) -> AppResult<Option<i64>> {
    match (frozen, req.outcome) {
        (false, HoldOutcome::None) => Ok(None),
        (false, _) => Err(decision_conflict(
            "该争议没有冻结的担保金，outcome 须为 none",
            "Nothing is held for this dispute: outcome must be `none`",
        )),
        (true, HoldOutcome::None) => Err(decision_conflict(
            "须裁决冻结的担保金：release、refund 或 split",
            "The held amount must be decided: release, refund or split",
        )),
        (true, HoldOutcome::Release) => Ok(Some(price)),
        (true, HoldOutcome::Refund) => Ok(Some(0)),
        (true, HoldOutcome::Split) => match req.provider_amount.map(Money::fen) {
            Some(p) if p < price => Ok(Some(p)),
            _ => Err(decision_conflict(
                "split 须给出小于中标价的 provider_amount",
                "split needs a provider_amount below the award price",
            )),
        },
    }
}

/// Moves a frozen hold as decided (one ledger transaction) and settles the
/// award through the marketplace; returns the line for the notices.
fn settle_hold(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    award: &award_svc::Row,
    to_provider: i64,
) -> AppResult<String> {
    let price = award.price;
    let fee = if to_provider > 0 {
        award_svc::fee_for(to_provider, st.settings.market.fee_bps)
    } else {
        0
    };
    ledger::settle_split(
        conn,
        st,
        award.employer_id,
        award.provider_id,
        price,
        to_provider,
        fee,
        &Reference {
            kind: "dispute_settlement",
            object_type: "dispute",
            object_id: id.to_string(),
            memo: format!(
                "争议裁决：服务商 {}（服务费 {}），退雇主 {}",
                format_fen(to_provider - fee),
                format_fen(fee),
                format_fen(price - to_provider)
            ),
        },
    )?;
    award_svc::settle_disputed(conn, st, award, (to_provider > 0).then_some(fee))?;
    Ok(format!(
        "担保金 {}：服务商得 {}（已扣服务费 {}），退还雇主 {}",
        format_fen(price),
        format_fen(to_provider - fee),
        format_fen(fee),
        format_fen(price - to_provider)
    ))
}

fn party_name(award: &award_svc::Row, user_id: i64) -> &'static str {
    if user_id == award.provider_id {
        "服务商"
    } else {
        "雇主"
    }
}

/// Pays a claim beyond the hold, from the provider's deposit or a party's
/// funds; returns the line for the notices.
#[allow(clippy::too_many_arguments)]
fn pay_claim(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    ip: &str,
    row: &Row,
    award: &award_svc::Row,
    claim: &Claim,
    reason: &str,
) -> AppResult<String> {
    let fen = claim.amount.fen();
    if fen > row.claim_amount {
        return Err(AppError::invalid_field(
            "claim.amount",
            "dispute.claim_exceeds",
            format!("赔付金额不能超过索赔金额 {}", format_fen(row.claim_amount)),
            format!(
                "The claim paid cannot exceed the amount claimed, {}",
                format_fen(row.claim_amount)
            ),
        ));
    }
    let (from, to) = match claim.from {
        ClaimFrom::ProviderDeposit => {
            crate::conduct::violations::deposit_claim(
                conn,
                st,
                staff,
                ip,
                award.provider_id,
                award.employer_id,
                row.id,
                fen,
                reason,
            )?;
            return Ok(format!("从服务商保证金向雇主赔付 {}", format_fen(fen)));
        }
        ClaimFrom::ProviderFunds => (award.provider_id, award.employer_id),
        ClaimFrom::EmployerFunds => (award.employer_id, award.provider_id),
    };
    ledger::transfer(
        conn,
        st,
        from,
        to,
        fen,
        &Reference {
            kind: "dispute_claim",
            object_type: "dispute",
            object_id: row.id.to_string(),
            memo: format!("争议赔付 {}", format_fen(fen)),
        },
    )?;
    Ok(format!(
        "从{}可用余额向{}赔付 {}",
        party_name(award, from),
        party_name(award, to),
        format_fen(fen)
    ))
}

/// Records the decision on the timeline, tells both parties, audits it.
#[allow(clippy::too_many_arguments)]
fn announce_decision(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    ip: &str,
    id: i64,
    award: &award_svc::Row,
    outcome: HoldOutcome,
    reason: &str,
    lines: &[String],
) -> AppResult<()> {
    let summary = if lines.is_empty() {
        "不涉及款项".to_string()
    } else {
        lines.join("；")
    };
    add_event(
        conn,
        st,
        id,
        Some(staff),
        "decided",
        Some(&format!("{summary}。理由：{reason}")),
        None,
    )?;
    notify_many(
        conn,
        st,
        Recipients::Users(&[award.employer_id, award.provider_id]),
        Notice {
            kind: "dispute.decided",
            title: "争议已裁决",
            body: format!("争议 #{id} 裁决：{summary}。理由：{reason}"),
            link: Some(format!("/api/v1/disputes/{id}")),
        },
    )?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff),
            action: "dispute.decide",
            target_type: "dispute",
            target_id: Some(id.to_string()),
            reason: Some(reason),
            details: Some(serde_json::json!({
                "outcome": outcome.as_str(),
                "award_id": award.id,
                "moves": lines,
            })),
            ip: Some(ip),
        },
    )
}

/// Moderators decide (DSP-1): the hold and any claim move in this one
/// transaction through the ledger; both parties are told; audited.
pub fn decide(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    ip: &str,
    id: i64,
    req: DisputeDecision,
) -> AppResult<DisputeView> {
    let reason = long_text("reason", &req.reason, 2000)?;
    let row = load_row(conn, id)?;
    let award = award_svc::load_for(conn, row.award_id, None)?;
    // Lock order: demand, award, dispute.
    award_svc::lock_demand(conn, st, award.demand_id)?;
    close_row(conn, st, staff, id, req.outcome, &reason)?;
    let frozen = award.status == AwardStatus::Disputed;
    let mut lines = Vec::new();
    if let Some(to_provider) = provider_share(frozen, award.price, &req)? {
        lines.push(settle_hold(conn, st, id, &award, to_provider)?);
    }
    if let Some(claim) = &req.claim {
        lines.push(pay_claim(
            conn, st, staff, ip, &row, &award, claim, &reason,
        )?);
    }
    announce_decision(
        conn,
        st,
        staff,
        ip,
        id,
        &award,
        req.outcome,
        &reason,
        &lines,
    )?;
    let row = load_row(conn, id)?;
    view(conn, row)
}

/// Records one dispute's silence (once: a conditional update).
fn record_silence(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    opener: i64,
) -> AppResult<usize> {
    let n = diesel::update(
        disputes::table
            .filter(disputes::id.eq(id))
            .filter(disputes::silence_recorded_at.is_null())
            .filter(disputes::responded_at.is_null()),
    )
    .set(disputes::silence_recorded_at.eq(st.clock.now_naive()))
    .execute(conn)?;
    if n == 1 {
        add_event(
            conn,
            st,
            id,
            None,
            "silence",
            Some("被申请方在答复期内未答复"),
            None,
        )?;
        notify(
            conn,
            st,
            opener,
            Notice {
                kind: "dispute.silence",
                title: "对方未在期限内答复",
                body: format!(
                    "争议 #{id} 的对方未在答复期内答复，已记录在案，平台将据现有材料处理。"
                ),
                link: Some(format!("/api/v1/disputes/{id}")),
            },
        )?;
    }
    Ok(n)
}

/// Escalates one undecided dispute (once) and tells the moderators.
fn escalate(conn: &mut DbConnection, st: &AppState, id: i64) -> AppResult<usize> {
    let n = diesel::update(
        disputes::table
            .filter(disputes::id.eq(id))
            .filter(disputes::escalated_at.is_null())
            .filter(disputes::status.eq(DisputeStatus::Open)),
    )
    .set(disputes::escalated_at.eq(st.clock.now_naive()))
    .execute(conn)?;
    if n == 1 {
        add_event(
            conn,
            st,
            id,
            None,
            "escalated",
            Some("超过 60 天未裁决，已升级处理"),
            None,
        )?;
        let staff: Vec<i64> = users::table
            .filter(users::role.eq_any([Role::Admin, Role::Moderator]))
            .filter(users::status.eq(UserStatus::Active))
            .select(users::id)
            .load(conn)?;
        notify_many(
            conn,
            st,
            Recipients::Users(&staff),
            Notice {
                kind: "dispute.escalated",
                title: "争议超期未裁决",
                body: format!("争议 #{id} 已超过 60 天未裁决，请尽快处理。"),
                link: Some(format!("/api/v1/disputes/{id}")),
            },
        )?;
    }
    Ok(n)
}

/// Runs `step` for each item in its own transaction; a failing item is
/// logged and the rest go on. Returns how many items changed.
fn each_in_tx<T: Copy + std::fmt::Debug>(
    conn: &mut DbConnection,
    job: &str,
    items: &[T],
    step: impl Fn(&mut DbConnection, T) -> AppResult<usize>,
) -> usize {
    let mut changed = 0;
    for item in items {
        match crate::platform::db::write_tx(conn, |c| step(c, *item)) {
            Ok(n) => changed += n,
            Err(e) => log::error!(
                "job {job} {item:?}: {}",
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    changed
}

/// Scheduler: record silence after the response window, and escalate
/// disputes undecided after 60 days (flag + staff notification). Disputes
/// are never closed by time.
pub fn timers_due(conn: &mut DbConnection, st: &AppState) -> AppResult<(usize, usize)> {
    let now = st.clock.now_naive();
    let silent: Vec<(i64, i64)> = disputes::table
        .filter(disputes::status.eq(DisputeStatus::Open))
        .filter(disputes::respond_by.le(now))
        .filter(disputes::responded_at.is_null())
        .filter(disputes::silence_recorded_at.is_null())
        .select((disputes::id, disputes::opened_by))
        .limit(500)
        .load(conn)?;
    let silences = each_in_tx(conn, "dispute silence", &silent, |c, (id, opener)| {
        record_silence(c, st, id, opener)
    });
    let cutoff = now - Duration::days(st.settings.conduct.dispute_escalation_days);
    let stale: Vec<i64> = disputes::table
        .filter(disputes::status.eq(DisputeStatus::Open))
        .filter(disputes::created_at.le(cutoff))
        .filter(disputes::escalated_at.is_null())
        .select(disputes::id)
        .limit(500)
        .load(conn)?;
    let escalated = each_in_tx(conn, "dispute escalation", &stale, |c, id| {
        escalate(c, st, id)
    });
    Ok((silences, escalated))
}
