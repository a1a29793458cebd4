//! Violations, their measures and appeals (VIO-2..VIO-6, DEP-5).
//!
//! A violation is recorded by a moderator with its measures in one
//! transaction; every measure is a row with its start, end and state, read
//! wherever it applies (bidding, publishing, withdrawal, login, the credit
//! score, the public profile). An upheld appeal revokes every measure of the
//! violation and reverses any money it took.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::deposit::{self, Event};
use super::model::{AppealStatus, MeasureKind, MeasureState, MeasureStatus, ViolationStatus};
use super::{Category, Link, Service, evidence_json, evidence_of};
use crate::audit::{self, Actor};
use crate::auth::accounts::{Role, UserStatus};
use crate::files::UseKind;
use crate::funds::ledger::{self, Reference};
use crate::notifications::{Notice, notify};
use crate::platform::db::schema::{appeals, measure_services, measures, users, violations};
use crate::platform::db::{DbConnection, unique_or};
use crate::platform::error::{AppError, AppResult};
use crate::platform::money::{Money, SignedFen, format_fen};
use crate::platform::paging::{Page, PageQuery, page_of};
use crate::platform::state::AppState;
use crate::platform::text::long_text;

const PENALTIES: &str = "platform:penalties";

/// Where a violation came to the platform's attention (VIO-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Complaint,
    Report,
    RegulatorNotice,
    Inspection,
    SystemSampling,
    Media,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Complaint => "complaint",
            Source::Report => "report",
            Source::RegulatorNotice => "regulator_notice",
            Source::Inspection => "inspection",
            Source::SystemSampling => "system_sampling",
            Source::Media => "media",
        }
    }
}

/// Which balance a penalty is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyFrom {
    /// The security deposit (DEP-5).
    Deposit,
    /// The available funds.
    Funds,
}

/// One measure decided with a violation (VIO-3).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewMeasure {
    /// Remove (下架) one of the user's demands; its holds are released.
    RemoveContent {
        #[schema(minimum = 1)]
        #[serde(deserialize_with = "crate::platform::http::integer::i64")]
        demand_id: i64,
    },
    /// Remove one of the user's works (作品, WRK-4) from the profile.
    RemoveWork {
        #[schema(minimum = 1)]
        #[serde(deserialize_with = "crate::platform::http::integer::i64")]
        work_id: i64,
    },
    /// Deduct credit points from the score (starts at 100).
    DeductCredit {
        #[schema(minimum = 1, maximum = 100)]
        #[serde(deserialize_with = "crate::platform::http::integer::i32")]
        points: i32,
    },
    /// Restrict marketing activities, for `days` or indefinitely.
    RestrictMarketing {
        #[schema(minimum = 1, maximum = 3650)]
        #[serde(default, deserialize_with = "crate::platform::http::integer::opt_i32")]
        days: Option<i32>,
    },
    /// Suspend services, for `days` or indefinitely.
    Suspend {
        #[schema(min_items = 1, max_items = 4)]
        services: Vec<Service>,
        #[schema(minimum = 1, maximum = 3650)]
        #[serde(default, deserialize_with = "crate::platform::http::integer::opt_i32")]
        days: Option<i32>,
    },
    /// Deduct a penalty (违约金) from the deposit or the funds.
    DeductPenalty { amount: Money, from: PenaltyFrom },
    /// Seal the account for a fundamental breach: login refused, sessions
    /// ended, identity, phone and email join the restricted list.
    Seal,
}

/// `POST /api/v1/admin/violations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "user_id": 12,
    "category": "refused_contact",
    "source": "complaint",
    "facts": "中标后删除雇主微信，两天未回复平台联系。",
    "decision": "认定违反服务商行为规范（拒绝联系雇主），扣除信用分 10 分，须缴纳保证金。",
    "public": true,
    "complaint_ids": [3],
    "measures": [{"kind": "deduct_credit", "points": 10}]
}))]
pub struct NewViolation {
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::platform::http::integer::i64")]
    pub user_id: i64,
    pub category: Category,
    pub source: Source,
    /// What happened, as established.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub facts: String,
    /// The decision and its reason, as the user's notice states it.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub decision: String,
    /// Publish the decision on the user's profile (SA §9.2).
    #[serde(default)]
    pub public: bool,
    /// Open complaints about this user that this violation settles.
    #[schema(max_items = 50)]
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    pub complaint_ids: Vec<i64>,
    #[schema(max_items = 10)]
    #[serde(default)]
    pub measures: Vec<NewMeasure>,
    /// Evidence records about this user the decision rests on (MSG-7,
    /// `GET /admin/evidence`); the user sees them with the violation.
    #[schema(max_items = 50)]
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    pub evidence_ids: Vec<i64>,
}

/// A measure and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasureView {
    pub id: i64,
    /// `remove_content`, `deduct_credit`, `restrict_marketing`, `suspend`,
    /// `deduct_penalty`, `seal` or `require_deposit` (VIO-4).
    pub kind: MeasureKind,
    /// For `suspend`.
    pub services: Option<Vec<Service>>,
    /// For `deduct_credit`.
    pub points: Option<i32>,
    /// For `deduct_penalty` (deducted) and `require_deposit` (required).
    pub amount: Option<SignedFen>,
    /// For `deduct_penalty`: `deposit` or `funds`.
    pub from: Option<String>,
    /// For `remove_content` of a demand.
    pub demand_id: Option<i64>,
    /// For `remove_content` of a work (WRK-4).
    pub work_id: Option<i64>,
    pub starts_at: DateTime<Utc>,
    /// `null`: indefinite.
    pub ends_at: Option<DateTime<Utc>>,
    /// `active`, `ended` (its period is over) or `revoked` (appeal upheld).
    pub status: MeasureState,
}

/// An appeal (VIO-6).
#[derive(Debug, Serialize, ToSchema)]
pub struct AppealView {
    pub id: i64,
    pub violation_id: i64,
    pub user_id: i64,
    pub text: String,
    pub evidence: Vec<Link>,
    /// Uploaded evidence, with its upload times (FIL-3).
    pub files: Vec<crate::files::FileView>,
    pub status: AppealStatus,
    pub decision_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A violation with its measures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationView {
    pub id: i64,
    pub user_id: i64,
    #[schema(example = "refused_contact")]
    pub category: String,
    #[schema(example = "complaint")]
    pub source: String,
    pub facts: String,
    pub decision: String,
    /// Shown on the public profile while in force.
    pub public: bool,
    /// `in_force` or `revoked` (appeal upheld).
    pub status: ViolationStatus,
    /// The last moment an appeal is accepted.
    pub appeal_until: DateTime<Utc>,
    /// Whether the user can still appeal.
    pub can_appeal: bool,
    pub appeal: Option<AppealView>,
    pub measures: Vec<MeasureView>,
    /// The evidence records the decision cites (MSG-7).
    pub evidence: Vec<crate::conversations::evidence::EvidenceView>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A published penalty decision on a profile (SA §9.2, MKT-6).
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicPenalty {
    pub violation_id: i64,
    #[schema(example = "refused_contact")]
    pub category: String,
    pub decision: String,
    /// The kinds of measures applied.
    pub measures: Vec<String>,
    pub decided_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = violations)]
struct Row {
    id: i64,
    user_id: i64,
    category: String,
    source: String,
    facts: String,
    decision: String,
    public: bool,
    status: ViolationStatus,
    appeal_until: NaiveDateTime,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = measures)]
struct MeasureRow {
    id: i64,
    violation_id: i64,
    kind: MeasureKind,
    points: Option<i32>,
    amount: Option<i64>,
    previous_amount: Option<i64>,
    source: Option<String>,
    target_type: Option<String>,
    target_id: Option<i64>,
    ledger_transaction_id: Option<i64>,
    starts_at: NaiveDateTime,
    ends_at: Option<NaiveDateTime>,
    status: MeasureStatus,
}

impl MeasureRow {
    /// The `target_type` row a content removal took down.
    fn removed(&self, target: &str) -> Option<i64> {
        (self.kind == MeasureKind::RemoveContent && self.target_type.as_deref() == Some(target))
            .then_some(self.target_id)
            .flatten()
    }

    fn view(self, now: NaiveDateTime, services: Option<Vec<Service>>) -> MeasureView {
        let status = match self.status {
            MeasureStatus::Active if self.ends_at.is_some_and(|e| e <= now) => MeasureState::Ended,
            MeasureStatus::Active => MeasureState::Active,
            MeasureStatus::Revoked => MeasureState::Revoked,
        };
        MeasureView {
            demand_id: self.removed("demand"),
            work_id: self.removed("work"),
            id: self.id,
            services,
            points: self.points,
            amount: self.amount.map(SignedFen),
            from: (self.kind == MeasureKind::DeductPenalty)
                .then_some(self.source)
                .flatten(),
            kind: self.kind,
            starts_at: self.starts_at.and_utc(),
            ends_at: self.ends_at.map(|t| t.and_utc()),
            status,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = appeals)]
struct AppealRow {
    id: i64,
    violation_id: i64,
    user_id: i64,
    body: String,
    evidence: String,
    status: AppealStatus,
    decision_reason: Option<String>,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
}

impl AppealRow {
    /// With its files from `files_of` (appeal id → files).
    fn view(self, files_of: &mut HashMap<i64, Vec<crate::files::FileView>>) -> AppealView {
        AppealView {
            files: files_of.remove(&self.id).unwrap_or_default(),
            id: self.id,
            violation_id: self.violation_id,
            user_id: self.user_id,
            text: self.body,
            evidence: evidence_of(&self.evidence),
            status: self.status,
            decision_reason: self.decision_reason,
            created_at: self.created_at.and_utc(),
            decided_at: self.decided_at.map(|t| t.and_utc()),
        }
    }
}

fn not_found() -> AppError {
    AppError::not_found("violation.not_found", "违规记录不存在", "No such violation")
}

fn load_row(conn: &mut DbConnection, id: i64) -> AppResult<Row> {
    violations::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)
}

/// The services of the suspensions among `measures`, by measure id.
fn suspended_services(
    conn: &mut DbConnection,
    measures: &[MeasureRow],
) -> AppResult<std::collections::HashMap<i64, Vec<Service>>> {
    let ids: Vec<i64> = measures
        .iter()
        .filter(|m| m.kind == MeasureKind::Suspend)
        .map(|m| m.id)
        .collect();
    let mut out: std::collections::HashMap<i64, Vec<Service>> = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, Service)> = measure_services::table
        .filter(measure_services::measure_id.eq_any(&ids))
        .order((measure_services::measure_id, measure_services::service))
        .select((measure_services::measure_id, measure_services::service))
        .load(conn)?;
    for (id, service) in rows {
        out.entry(id).or_default().push(service);
    }
    Ok(out)
}

fn views(conn: &mut DbConnection, st: &AppState, rows: Vec<Row>) -> AppResult<Vec<ViolationView>> {
    let now = st.clock.now_naive();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut all_measures: Vec<MeasureRow> = measures::table
        .filter(measures::violation_id.eq_any(&ids))
        .order(measures::id.asc())
        .select(MeasureRow::as_select())
        .load(conn)?;
    let mut services_of = suspended_services(conn, &all_measures)?;
    let mut all_appeals: Vec<AppealRow> = appeals::table
        .filter(appeals::violation_id.eq_any(&ids))
        .select(AppealRow::as_select())
        .load(conn)?;
    let mut evidence_of = crate::conversations::evidence::cited_by(conn, &ids)?;
    let appeal_ids: Vec<i64> = all_appeals.iter().map(|a| a.id).collect();
    let mut files_of = crate::files::cited_by_each(conn, UseKind::Appeal, &appeal_ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (mine, rest): (Vec<MeasureRow>, Vec<MeasureRow>) =
                std::mem::take(&mut all_measures)
                    .into_iter()
                    .partition(|m| m.violation_id == r.id);
            all_measures = rest;
            let appeal = all_appeals
                .iter()
                .position(|a| a.violation_id == r.id)
                .map(|i| all_appeals.swap_remove(i).view(&mut files_of));
            ViolationView {
                id: r.id,
                user_id: r.user_id,
                category: r.category,
                source: r.source,
                facts: r.facts,
                decision: r.decision,
                public: r.public,
                can_appeal: r.status == ViolationStatus::InForce
                    && appeal.is_none()
                    && now <= r.appeal_until,
                status: r.status,
                appeal_until: r.appeal_until.and_utc(),
                appeal,
                evidence: evidence_of.remove(&r.id).unwrap_or_default(),
                measures: mine
                    .into_iter()
                    .map(|m| {
                        let services = services_of.remove(&m.id);
                        m.view(now, services)
                    })
                    .collect(),
                created_at: r.created_at.and_utc(),
                revoked_at: r.revoked_at.map(|t| t.and_utc()),
            }
        })
        .collect())
}

fn load(conn: &mut DbConnection, st: &AppState, id: i64) -> AppResult<ViolationView> {
    let row = load_row(conn, id)?;
    views(conn, st, vec![row])?
        .pop()
        .ok_or_else(|| AppError::internal("violation vanished"))
}

/// The violations recorded against `user_id`, newest first.
pub fn of_user(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    page: &PageQuery,
) -> AppResult<Page<ViolationView>> {
    let limit = page.limit()?;
    let mut q = violations::table
        .filter(violations::user_id.eq(user_id))
        .select(Row::as_select())
        .order(violations::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(before) = page.before_id()? {
        q = q.filter(violations::id.lt(before));
    }
    let rows: Vec<Row> = q.load(conn)?;
    let more = rows.len() as i64 > limit;
    let last = rows.get(limit as usize - 1).map(|r| r.id);
    let items = views(conn, st, rows.into_iter().take(limit as usize).collect())?;
    Ok(Page {
        items,
        next_cursor: more
            .then_some(last)
            .flatten()
            .map(|id| crate::platform::paging::encode_keys([id])),
    })
}

/// SA §9.2: decisions marked public, while in force.
pub fn public_penalties(conn: &mut DbConnection, user_id: i64) -> AppResult<Vec<PublicPenalty>> {
    let rows: Vec<(i64, String, String, NaiveDateTime)> = violations::table
        .filter(violations::user_id.eq(user_id))
        .filter(violations::public.eq(true))
        .filter(violations::status.eq(ViolationStatus::InForce))
        .order(violations::id.desc())
        .limit(50)
        .select((
            violations::id,
            violations::category,
            violations::decision,
            violations::created_at,
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let kinds: Vec<(i64, String)> = measures::table
        .filter(measures::violation_id.eq_any(&ids))
        .order(measures::id.asc())
        .select((measures::violation_id, measures::kind))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, category, decision, at)| PublicPenalty {
            violation_id: id,
            category,
            decision,
            measures: kinds
                .iter()
                .filter(|(v, _)| *v == id)
                .map(|(_, k)| k.clone())
                .collect(),
            decided_at: at.and_utc(),
        })
        .collect())
}

/// What measures ask of the marketplace, which sits above conduct: the
/// implementation lives in `flows::conduct` and is handed to [`record`]
/// and [`decide_appeal`].
pub trait Marketplace {
    /// VIO-3 content removal: takes down the sanctioned user's demand
    /// (404 when it is not theirs); returns its status before, as stored.
    fn remove_demand(
        &self,
        conn: &mut DbConnection,
        st: &AppState,
        ctx: &Ctx<'_>,
        demand_id: i64,
    ) -> AppResult<String>;

    /// VIO-6: an upheld appeal brings a removed demand back when it was
    /// open (`was`) and can still take bids.
    fn restore_demand(
        &self,
        conn: &mut DbConnection,
        st: &AppState,
        demand_id: i64,
        was: Option<&str>,
    ) -> AppResult<()>;
}

/// The violation being recorded, as measures see it.
pub struct Ctx<'a> {
    pub violation_id: i64,
    /// The sanctioned user.
    pub user_id: i64,
    pub staff: i64,
    pub ip: &'a str,
    pub decision: &'a str,
    pub now: NaiveDateTime,
}

fn insert_measure(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    kind: MeasureKind,
    fill: impl FnOnce(&mut NewMeasureRow),
) -> AppResult<i64> {
    let mut m = NewMeasureRow {
        violation_id: ctx.violation_id,
        user_id: ctx.user_id,
        kind,
        points: None,
        amount: None,
        previous_amount: None,
        source: None,
        target_type: None,
        target_id: None,
        ledger_transaction_id: None,
        starts_at: ctx.now,
        ends_at: None,
        status: MeasureStatus::Active,
        created_at: ctx.now,
    };
    fill(&mut m);
    Ok(diesel::insert_into(measures::table)
        .values(&m)
        .returning(measures::id)
        .get_result(conn)?)
}

#[derive(Insertable)]
#[diesel(table_name = measures)]
struct NewMeasureRow {
    violation_id: i64,
    user_id: i64,
    kind: MeasureKind,
    points: Option<i32>,
    amount: Option<i64>,
    previous_amount: Option<i64>,
    source: Option<String>,
    target_type: Option<String>,
    target_id: Option<i64>,
    ledger_transaction_id: Option<i64>,
    starts_at: NaiveDateTime,
    ends_at: Option<NaiveDateTime>,
    status: MeasureStatus,
    created_at: NaiveDateTime,
}

fn period(days: Option<i32>) -> String {
    days.map_or("无限期".into(), |d| format!("{d} 天"))
}

/// Applies one measure; returns the text of its notice (VIO-5).
fn apply(
    conn: &mut DbConnection,
    st: &AppState,
    ctx: &Ctx<'_>,
    measure: &NewMeasure,
    market: &dyn Marketplace,
) -> AppResult<String> {
    let ends = |days: Option<i32>| days.map(|d| ctx.now + Duration::days(i64::from(d)));
    match measure {
        NewMeasure::RemoveContent { demand_id } => {
            let was = market.remove_demand(conn, st, ctx, *demand_id)?;
            insert_measure(conn, ctx, MeasureKind::RemoveContent, |m| {
                m.target_type = Some("demand".into());
                m.target_id = Some(*demand_id);
                m.source = Some(was);
            })?;
            Ok(format!("您的需求 #{demand_id} 已被下架"))
        }
        NewMeasure::RemoveWork { work_id } => {
            crate::works::take_down(conn, st, ctx.user_id, *work_id)?;
            insert_measure(conn, ctx, MeasureKind::RemoveContent, |m| {
                m.target_type = Some("work".into());
                m.target_id = Some(*work_id);
            })?;
            Ok(format!("您的作品 #{work_id} 已被移除"))
        }
        NewMeasure::DeductCredit { points } => {
            if !(1..=100).contains(points) {
                return Err(AppError::invalid_field(
                    "measures.points",
                    "measure.points",
                    "扣分须为 1–100",
                    "points must be 1–100",
                ));
            }
            insert_measure(conn, ctx, MeasureKind::DeductCredit, |m| {
                m.points = Some(*points)
            })?;
            Ok(format!("扣除信用分 {points} 分"))
        }
        NewMeasure::RestrictMarketing { days } => {
            check_days(*days)?;
            insert_measure(conn, ctx, MeasureKind::RestrictMarketing, |m| {
                m.ends_at = ends(*days)
            })?;
            Ok(format!("限制参加营销活动（{}）", period(*days)))
        }
        NewMeasure::Suspend { services, days } => apply_suspend(conn, ctx, services, *days),
        NewMeasure::DeductPenalty { amount, from } => apply_penalty(conn, st, ctx, *amount, *from),
        NewMeasure::Seal => {
            seal(conn, st, ctx)?;
            insert_measure(conn, ctx, MeasureKind::Seal, |_| {})?;
            Ok("封禁账号：不能再登录，实名身份、手机号和邮箱列入受限名单".into())
        }
    }
}
/// VIO-3: suspends services, one `measure_services` row each.
fn apply_suspend(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    services: &[Service],
    days: Option<i32>,
) -> AppResult<String> {
    let ends = |days: Option<i32>| days.map(|d| ctx.now + Duration::days(i64::from(d)));
    check_days(days)?;
    if services.is_empty() {
        return Err(AppError::invalid_field(
            "measures.services",
            "measure.services",
            "须至少选择一项服务",
            "Choose at least one service",
        ));
    }
    let id = insert_measure(conn, ctx, MeasureKind::Suspend, |m| {
        m.ends_at = ends(days);
    })?;
    let mut services = services.to_vec();
    services.sort_by_key(|s| s.as_str());
    services.dedup();
    for service in &services {
        diesel::insert_into(measure_services::table)
            .values((
                measure_services::measure_id.eq(id),
                measure_services::service.eq(service),
            ))
            .execute(conn)?;
    }
    let labels: Vec<&str> = services.iter().map(|s| s.label()).collect();
    Ok(format!("暂停{}服务（{}）", labels.join("、"), period(days)))
}

/// VIO-3, DEP-5: a penalty from the deposit or the user's funds to the
/// platform's penalty account, in this transaction.
fn apply_penalty(
    conn: &mut DbConnection,
    st: &AppState,
    ctx: &Ctx<'_>,
    amount: Money,
    from: PenaltyFrom,
) -> AppResult<String> {
    let fen = amount.fen();
    let (account, from_str, label) = match from {
        PenaltyFrom::Deposit => (
            deposit::account(conn, st, ctx.user_id)?,
            "deposit",
            "保证金",
        ),
        PenaltyFrom::Funds => (
            ledger::user_accounts(conn, st, ctx.user_id)?.0,
            "funds",
            "可用余额",
        ),
    };
    let penalties = ledger::account(conn, st, PENALTIES, None, "platform_penalties")?;
    let tx = ledger::post(
        conn,
        st,
        &Reference {
            kind: "penalty",
            object_type: "violation",
            object_id: ctx.violation_id.to_string(),
            memo: format!("违约金 {}（违规 #{}）", format_fen(fen), ctx.violation_id),
        },
        &[(account, -fen), (penalties, fen)],
        None,
    )
    .map_err(|e| match (&*e.code, from) {
        ("funds.insufficient", PenaltyFrom::Deposit) => AppError::conflict(
            "deposit.insufficient_balance",
            "保证金余额不足以扣除该违约金",
            "The deposit balance does not cover this penalty",
        ),
        _ => e,
    })?;
    insert_measure(conn, ctx, MeasureKind::DeductPenalty, |m| {
        m.amount = Some(fen);
        m.source = Some(from_str.into());
        m.ledger_transaction_id = Some(tx);
    })?;
    if from == PenaltyFrom::Deposit {
        // DEP-3: below the requirement → top-up notice.
        deposit::reassess(conn, st, ctx.user_id, None, None, Event::Deducted)?;
    }
    Ok(format!("从{label}扣除违约金 {} 元", format_fen(fen)))
}

fn check_days(days: Option<i32>) -> AppResult<()> {
    if days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(AppError::invalid_field(
            "measures.days",
            "measure.days",
            "期限须为 1–3650 天",
            "days must be 1–3650",
        ));
    }
    Ok(())
}

/// VIO-3: seals the account: status `sealed`, every session ended, its
/// identifiers on the restricted list (ACC-3).
fn seal(conn: &mut DbConnection, st: &AppState, ctx: &Ctx<'_>) -> AppResult<()> {
    crate::users::account_state::change_status(
        conn,
        ctx.now,
        ctx.user_id,
        Some(UserStatus::Active),
        UserStatus::Sealed,
    )?;
    crate::auth::sessions::revoke_all(conn, ctx.user_id, None, ctx.now, "sealed")?;
    crate::verification::restricted::list_sealed(
        conn,
        st,
        ctx.user_id,
        ctx.violation_id,
        ctx.staff,
    )?;
    Ok(())
}

fn unseal(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    violation_id: i64,
) -> AppResult<()> {
    crate::users::account_state::change_status(
        conn,
        st.clock.now_naive(),
        user_id,
        Some(UserStatus::Sealed),
        UserStatus::Active,
    )?;
    crate::verification::restricted::lift_sealed(conn, violation_id)?;
    Ok(())
}

/// Violations are recorded against marketplace users that are not closed.
fn check_subject(conn: &mut DbConnection, user_id: i64) -> AppResult<()> {
    let subject: Option<(Role, UserStatus)> = users::table
        .find(user_id)
        .select((users::role, users::status))
        .first(conn)
        .optional()?;
    let Some((role, subject_status)) = subject else {
        return Err(AppError::not_found(
            "user.not_found",
            "用户不存在",
            "No such user",
        ));
    };
    if role.is_staff() || subject_status == UserStatus::Closed {
        return Err(AppError::conflict(
            "violation.subject_invalid",
            "只能对平台用户（未注销）记录违规",
            "Violations are recorded against marketplace users that are not closed",
        ));
    }
    Ok(())
}

/// VIO-4: a code-of-conduct breach shields the provider's orders until the
/// deposit is paid; returns the line for the notices.
fn require_deposit_for_breach(
    conn: &mut DbConnection,
    st: &AppState,
    ctx: &Ctx<'_>,
    category: Category,
) -> AppResult<String> {
    let (previous, required) = deposit::require_for_breach(
        conn,
        st,
        ctx.user_id,
        &format!("违反服务商行为规范：{}", Category::label(category.as_str())),
    )?;
    insert_measure(conn, ctx, MeasureKind::RequireDeposit, |m| {
        m.amount = Some(required);
        m.previous_amount = Some(previous);
    })?;
    Ok(format!("须缴纳保证金 {} 元", format_fen(required)))
}

/// The decision notice with the appeal deadline, then one notice per
/// measure with its reason and amount (VIO-5).
fn announce_violation(
    conn: &mut DbConnection,
    st: &AppState,
    ctx: &Ctx<'_>,
    category: Category,
    appeal_until: NaiveDateTime,
    lines: &[String],
) -> AppResult<()> {
    let link = Some("/api/v1/me/violations".to_string());
    let decision = ctx.decision;
    notify(
        conn,
        st,
        ctx.user_id,
        Notice {
            kind: "violation.recorded",
            title: "违规处理通知",
            body: format!(
                "违规类型：{}。处理决定：{decision}。如有异议，请于 {} 前提出申诉。",
                Category::label(category.as_str()),
                crate::platform::clock::china_time(appeal_until)
            ),
            link: link.clone(),
        },
    )?;
    for line in lines {
        notify(
            conn,
            st,
            ctx.user_id,
            Notice {
                kind: "violation.measure",
                title: "处理措施通知",
                body: format!("{line}。原因：{decision}"),
                link: link.clone(),
            },
        )?;
    }
    Ok(())
}

/// A violation row as recorded: in force, appealable until the window ends.
struct NewViolationRow<'a> {
    user_id: i64,
    category: Category,
    source: Source,
    facts: &'a str,
    decision: &'a str,
    public: bool,
    staff: i64,
}

/// Inserts the violation; returns its id and the appeal deadline.
fn insert_violation(
    conn: &mut DbConnection,
    st: &AppState,
    v: &NewViolationRow<'_>,
) -> AppResult<(i64, NaiveDateTime)> {
    let now = st.clock.now_naive();
    let appeal_until = now + Duration::days(st.settings.conduct.appeal_days);
    let id = diesel::insert_into(violations::table)
        .values((
            violations::user_id.eq(v.user_id),
            violations::category.eq(v.category.as_str()),
            violations::source.eq(v.source.as_str()),
            violations::facts.eq(v.facts),
            violations::decision.eq(v.decision),
            violations::public.eq(v.public),
            violations::status.eq(ViolationStatus::InForce),
            violations::appeal_until.eq(appeal_until),
            violations::created_by.eq(v.staff),
            violations::created_at.eq(now),
        ))
        .returning(violations::id)
        .get_result(conn)?;
    Ok((id, appeal_until))
}

/// DSP-1: the claim moves from the provider's deposit to the employer's
/// funds; returns the ledger transaction.
fn claim_from_deposit(
    conn: &mut DbConnection,
    st: &AppState,
    provider: i64,
    employer: i64,
    dispute_id: i64,
    fen: i64,
) -> AppResult<i64> {
    let from = deposit::account(conn, st, provider)?;
    let (to, _) = ledger::user_accounts(conn, st, employer)?;
    ledger::post(
        conn,
        st,
        &Reference {
            kind: "dispute_claim",
            object_type: "dispute",
            object_id: dispute_id.to_string(),
            memo: format!("争议赔付（保证金）{}", format_fen(fen)),
        },
        &[(from, -fen), (to, fen)],
        None,
    )
    .map_err(|e| match &*e.code {
        "funds.insufficient" => AppError::conflict(
            "deposit.insufficient_balance",
            "服务商保证金余额不足以支付该赔付",
            "The provider's deposit does not cover this claim",
        ),
        _ => e,
    })
}

/// Records a violation (VIO-2) and applies its measures (VIO-3) in the
/// caller's transaction; a conduct breach requires the deposit (VIO-4).
pub fn record(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    ip: &str,
    req: NewViolation,
    market: &dyn Marketplace,
) -> AppResult<ViolationView> {
    let facts = long_text("facts", &req.facts, 5000)?;
    let decision = long_text("decision", &req.decision, 2000)?;
    check_subject(conn, req.user_id)?;
    let (violation_id, appeal_until) = insert_violation(
        conn,
        st,
        &NewViolationRow {
            user_id: req.user_id,
            category: req.category,
            source: req.source,
            facts: &facts,
            decision: &decision,
            public: req.public,
            staff,
        },
    )?;
    let now = st.clock.now_naive();
    let mut ids = req.complaint_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    super::complaints::link_to_violation(conn, st, &ids, req.user_id, violation_id, staff)?;
    if req.evidence_ids.len() > 50 {
        return Err(AppError::invalid_field(
            "evidence_ids",
            "evidence.too_many",
            "最多引用 50 项证据",
            "At most 50 evidence records",
        ));
    }
    crate::conversations::evidence::cite(conn, violation_id, req.user_id, &req.evidence_ids)?;
    let ctx = Ctx {
        violation_id,
        user_id: req.user_id,
        staff,
        ip,
        decision: &decision,
        now,
    };
    let mut lines = Vec::new();
    for measure in &req.measures {
        lines.push(apply(conn, st, &ctx, measure, market)?);
    }
    if req.category.is_conduct_breach() {
        lines.push(require_deposit_for_breach(conn, st, &ctx, req.category)?);
    }
    // DEP-7: a new penalty extends a running refund observation.
    deposit::extend_observation(conn, st, req.user_id, "受到新的处罚")?;
    announce_violation(conn, st, &ctx, req.category, appeal_until, &lines)?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff),
            action: "violation.record",
            target_type: "user",
            target_id: Some(req.user_id.to_string()),
            reason: Some(&decision),
            details: Some(serde_json::json!({
                "violation_id": violation_id,
                "category": req.category.as_str(),
                "measures": lines,
                "complaint_ids": ids,
            })),
            ip: Some(ip),
        },
    )?;
    load(conn, st, violation_id)
}

/// DSP-1, DEP-5, DEP-8: a dispute decision paying a claim from the
/// provider's deposit to the employer. Recorded as a violation with a
/// deduction measure, so the notice, the top-up and the appeal path of the
/// deposit rules apply (an upheld appeal reverses the payment).
#[allow(clippy::too_many_arguments)]
pub fn deposit_claim(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    ip: &str,
    provider: i64,
    employer: i64,
    dispute_id: i64,
    fen: i64,
    reason: &str,
) -> AppResult<i64> {
    let decision = format!(
        "争议 #{dispute_id} 裁决：从保证金向雇主赔付 {} 元。{reason}",
        format_fen(fen)
    );
    let facts = format!("争议 #{dispute_id}：{reason}");
    let (violation_id, appeal_until) = insert_violation(
        conn,
        st,
        &NewViolationRow {
            user_id: provider,
            category: Category::Other,
            source: Source::Complaint,
            facts: &facts,
            decision: &decision,
            public: false,
            staff,
        },
    )?;
    let tx = claim_from_deposit(conn, st, provider, employer, dispute_id, fen)?;
    let now = st.clock.now_naive();
    let ctx = Ctx {
        violation_id,
        user_id: provider,
        staff,
        ip,
        decision: &decision,
        now,
    };
    insert_measure(conn, &ctx, MeasureKind::DeductPenalty, |m| {
        m.amount = Some(fen);
        m.source = Some("deposit".into());
        m.target_type = Some("dispute".into());
        m.target_id = Some(dispute_id);
        m.ledger_transaction_id = Some(tx);
    })?;
    deposit::reassess(conn, st, provider, None, None, Event::Deducted)?;
    notify(
        conn,
        st,
        provider,
        Notice {
            kind: "violation.measure",
            title: "保证金扣除通知",
            body: format!(
                "{decision}如有异议，请于 {} 前提出申诉。",
                crate::platform::clock::china_time(appeal_until)
            ),
            link: Some("/api/v1/me/violations".into()),
        },
    )?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff),
            action: "deposit.claim",
            target_type: "user",
            target_id: Some(provider.to_string()),
            reason: Some(reason),
            details: Some(serde_json::json!({
                "dispute_id": dispute_id,
                "violation_id": violation_id,
                "amount": format_fen(fen),
            })),
            ip: Some(ip),
        },
    )?;
    Ok(violation_id)
}

// ---- Appeals (VIO-6)

/// `POST /api/v1/violations/{id}/appeals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "text": "当时手机丢失，已第一时间通过平台客服说明，附报案回执。",
    "evidence": ["https://files.example.com/evidence/report.jpg"]
}))]
pub struct NewAppeal {
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub text: String,
    /// Links to evidence kept elsewhere (legacy; prefer `file_ids`).
    #[schema(max_items = 20)]
    #[serde(default)]
    pub evidence: Vec<Link>,
    /// Uploaded evidence (`POST /files`, the appellant's own; FIL-3): read
    /// by the appellant and staff.
    #[serde(default, deserialize_with = "crate::platform::http::integer::vec_i64")]
    #[schema(max_items = 20)]
    pub file_ids: Vec<i64>,
}

/// The user appeals one of their violations: once, within the window.
pub fn appeal(
    conn: &mut DbConnection,
    st: &AppState,
    user_id: i64,
    violation_id: i64,
    req: NewAppeal,
) -> AppResult<AppealView> {
    let text = long_text("text", &req.text, 2000)?;
    let evidence = evidence_json(&req.evidence, 20)?;
    let row = load_row(conn, violation_id)?;
    if row.user_id != user_id {
        return Err(not_found());
    }
    let now = st.clock.now_naive();
    if row.status != ViolationStatus::InForce || now > row.appeal_until {
        return Err(AppError::conflict(
            "appeal.window_closed",
            "申诉期已过或处理已撤销",
            "The appeal window has closed or the decision was revoked",
        ));
    }
    let id: i64 = diesel::insert_into(appeals::table)
        .values((
            appeals::violation_id.eq(violation_id),
            appeals::user_id.eq(user_id),
            appeals::body.eq(&text),
            appeals::evidence.eq(&evidence),
            appeals::status.eq(AppealStatus::Pending),
            appeals::created_at.eq(now),
        ))
        .returning(appeals::id)
        .get_result(conn)
        .map_err(|e| {
            unique_or(e, |_| {
                AppError::conflict(
                    "appeal.exists",
                    "每项处理只能申诉一次",
                    "This violation was already appealed",
                )
            })
        })?;
    crate::files::attach(
        conn,
        st,
        user_id,
        "file_ids",
        &req.file_ids,
        (crate::files::UseKind::Appeal, id),
    )?;
    notify(
        conn,
        st,
        user_id,
        Notice {
            kind: "appeal.received",
            title: "申诉已受理",
            body: format!("您对违规处理 #{violation_id} 的申诉已受理，平台将尽快复核。"),
            link: Some("/api/v1/me/violations".into()),
        },
    )?;
    load_appeal(conn, id)
}

fn load_appeal(conn: &mut DbConnection, id: i64) -> AppResult<AppealView> {
    let row = appeals::table
        .find(id)
        .select(AppealRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("appeal.not_found", "申诉不存在", "No such appeal"))?;
    Ok(appeal_views(conn, vec![row])?.remove(0))
}

/// Views of appeals with their files: one query for all files.
fn appeal_views(conn: &mut DbConnection, rows: Vec<AppealRow>) -> AppResult<Vec<AppealView>> {
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let mut files_of = crate::files::cited_by_each(conn, UseKind::Appeal, &ids)?;
    Ok(rows.into_iter().map(|r| r.view(&mut files_of)).collect())
}

/// Who filed appeal `id` (FIL-2: its evidence is theirs to read).
pub fn appellant_of(conn: &mut DbConnection, id: i64) -> AppResult<Option<i64>> {
    Ok(appeals::table
        .find(id)
        .select(appeals::user_id)
        .first(conn)
        .optional()?)
}

/// The moderators' queue of appeals in a state, oldest first.
pub fn appeal_queue(
    conn: &mut DbConnection,
    wanted: AppealStatus,
    page: &PageQuery,
) -> AppResult<Page<AppealView>> {
    let limit = page.limit()?;
    let mut q = appeals::table
        .filter(appeals::status.eq(wanted))
        .select(AppealRow::as_select())
        .order(appeals::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = page.after_id()? {
        q = q.filter(appeals::id.gt(after));
    }
    let rows: Vec<AppealRow> = q.load(conn)?;
    Ok(page_of(appeal_views(conn, rows)?, limit, |v| v.id))
}

/// The outcome of an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    /// The appeal is right: every measure is revoked, money returned.
    Upheld,
    /// The decision stands.
    Rejected,
}

/// `POST /api/v1/admin/appeals/{id}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "upheld", "reason": "报案回执属实，失联非本人原因。"}))]
pub struct AppealDecision {
    pub outcome: AppealOutcome,
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

/// Marks the appeal decided (once: a second decision is 409).
fn close_appeal(
    conn: &mut DbConnection,
    staff: i64,
    id: i64,
    outcome: AppealOutcome,
    reason: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    let to = match outcome {
        AppealOutcome::Upheld => AppealStatus::Upheld,
        AppealOutcome::Rejected => AppealStatus::Rejected,
    };
    let n = diesel::update(
        appeals::table
            .filter(appeals::id.eq(id))
            .filter(appeals::status.eq(AppealStatus::Pending)),
    )
    .set((
        appeals::status.eq(to),
        appeals::decision_reason.eq(reason),
        appeals::decided_by.eq(staff),
        appeals::decided_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "appeal.decided",
            "该申诉已处理",
            "The appeal was already decided",
        ));
    }
    Ok(())
}

/// Staff decide an appeal; upheld revokes the whole violation (VIO-6).
pub fn decide_appeal(
    conn: &mut DbConnection,
    st: &AppState,
    staff: i64,
    ip: &str,
    id: i64,
    req: AppealDecision,
    market: &dyn Marketplace,
) -> AppResult<AppealView> {
    let reason = long_text("reason", &req.reason, 2000)?;
    let appeal = load_appeal(conn, id)?;
    let now = st.clock.now_naive();
    close_appeal(conn, staff, id, req.outcome, &reason, now)?;
    let body = if req.outcome == AppealOutcome::Upheld {
        let returned = revoke(conn, st, appeal.violation_id, market)?;
        let money = if returned > 0 {
            format!("，已退还扣除的 {} 元", format_fen(returned))
        } else {
            String::new()
        };
        format!(
            "您对违规处理 #{} 的申诉成立，全部处理措施已撤销{money}。理由：{reason}",
            appeal.violation_id
        )
    } else {
        format!(
            "您对违规处理 #{} 的申诉未获支持，原处理维持。理由：{reason}",
            appeal.violation_id
        )
    };
    notify(
        conn,
        st,
        appeal.user_id,
        Notice {
            kind: if req.outcome == AppealOutcome::Upheld {
                "appeal.upheld"
            } else {
                "appeal.rejected"
            },
            title: "申诉结果",
            body,
            link: Some("/api/v1/me/violations".into()),
        },
    )?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff),
            action: if req.outcome == AppealOutcome::Upheld {
                "appeal.uphold"
            } else {
                "appeal.reject"
            },
            target_type: "violation",
            target_id: Some(appeal.violation_id.to_string()),
            reason: Some(&reason),
            details: Some(serde_json::json!({ "appeal_id": id, "user_id": appeal.user_id })),
            ip: Some(ip),
        },
    )?;
    load_appeal(conn, id)
}

/// Revokes a violation and every measure; returns the money returned.
fn revoke(
    conn: &mut DbConnection,
    st: &AppState,
    violation_id: i64,
    market: &dyn Marketplace,
) -> AppResult<i64> {
    let now = st.clock.now_naive();
    let n = diesel::update(
        violations::table
            .filter(violations::id.eq(violation_id))
            .filter(violations::status.eq(ViolationStatus::InForce)),
    )
    .set((
        violations::status.eq(ViolationStatus::Revoked),
        violations::revoked_at.eq(now),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(0);
    }
    let user_id: i64 = violations::table
        .find(violation_id)
        .select(violations::user_id)
        .first(conn)?;
    let rows: Vec<MeasureRow> = measures::table
        .filter(measures::violation_id.eq(violation_id))
        .filter(measures::status.eq(MeasureStatus::Active))
        .select(MeasureRow::as_select())
        .load(conn)?;
    let mut returned = 0;
    for m in rows {
        match m.kind {
            MeasureKind::DeductPenalty => {
                if let Some(tx) = m.ledger_transaction_id {
                    ledger::reverse(
                        conn,
                        st,
                        tx,
                        &format!("申诉成立，退还违约金（违规 #{violation_id}）"),
                    )?;
                    returned += m.amount.unwrap_or(0);
                }
                if m.source.as_deref() == Some("deposit") {
                    deposit::reassess(conn, st, user_id, None, None, Event::Relieved)?;
                }
            }
            MeasureKind::Seal => unseal(conn, st, user_id, violation_id)?,
            MeasureKind::RequireDeposit => deposit::lift_breach_requirement(
                conn,
                st,
                user_id,
                m.amount.unwrap_or(0),
                m.previous_amount.unwrap_or(0),
            )?,
            MeasureKind::RemoveContent => {
                if let Some(id) = m.removed("demand") {
                    market.restore_demand(conn, st, id, m.source.as_deref())?;
                }
                if let Some(id) = m.removed("work") {
                    crate::works::restore(conn, id)?;
                }
            }
            // Nothing to undo: the row is revoked below, which ends them.
            MeasureKind::DeductCredit | MeasureKind::RestrictMarketing | MeasureKind::Suspend => {}
        }
    }
    diesel::update(
        measures::table
            .filter(measures::violation_id.eq(violation_id))
            .filter(measures::status.eq(MeasureStatus::Active)),
    )
    .set(measures::status.eq(MeasureStatus::Revoked))
    .execute(conn)?;
    Ok(returned)
}

/// The user a violation concerns (none: no such violation), for the money
/// operations that serve it (FND-6).
pub fn subject_of(conn: &mut DbConnection, id: i64) -> AppResult<Option<i64>> {
    Ok(violations::table
        .find(id)
        .select(violations::user_id)
        .first(conn)
        .optional()?)
}
