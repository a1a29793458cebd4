//! Demands: publish, edit, cancel, read, discover (MKT-1, MKT-5, MKT-6).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::dto::{
    CategoryView, DemandPatch, DemandQuery, DemandSort, DemandView, NewDemand, PayUnit, WorkPlan,
    WorkPlanView,
};
use super::model::{AwardStatus, DemandStatus};
use super::{close_bids, notify_each, require_good_standing};
use crate::audit::{self, Actor};
use crate::content;
use crate::funds::ledger::{self, Reference};
use crate::platform::changes::{self, Topic};
use crate::platform::db::schema::{awards, categories, demand_grams, demands};
use crate::platform::db::{DbConnection, MultiBackend};
use crate::platform::error::{AppError, AppResult};
use crate::platform::geo::GeoPoint;
use crate::platform::money::Money;
use crate::platform::paging::{Page, decode_keys, encode_keys};
use crate::platform::regions::Level;
use crate::platform::state::AppState;
use crate::platform::text::plain_text;
use crate::platform::text::{fold, long_text};

#[derive(Queryable, Selectable)]
#[diesel(table_name = demands)]
pub struct Row {
    pub id: i64,
    pub owner_id: i64,
    pub title: String,
    pub description: String,
    pub category: String,
    pub region_code: String,
    pub region_name: String,
    pub budget: i64,
    pub workers_wanted: i32,
    pub bid_deadline: NaiveDateTime,
    pub status: DemandStatus,
    pub bid_count: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub work_address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub work_start: Option<chrono::NaiveDate>,
    pub work_end: Option<chrono::NaiveDate>,
    pub daily_start_minute: Option<i32>,
    pub daily_end_minute: Option<i32>,
    pub pay_unit: Option<PayUnit>,
}

fn hhmm(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

impl Row {
    /// The work plan (WRK-1), when the demand states one.
    fn work(&self) -> Option<WorkPlanView> {
        Some(WorkPlanView {
            address: self.work_address.clone()?,
            location: GeoPoint {
                lat: self.lat?,
                lng: self.lng?,
            },
            start_date: self.work_start?,
            end_date: self.work_end?,
            daily_start: hhmm(self.daily_start_minute?),
            daily_end: hhmm(self.daily_end_minute?),
            pay_unit: self.pay_unit?,
        })
    }

    pub fn view(self) -> AppResult<DemandView> {
        let work = self.work();
        let region = crate::platform::regions::get(&self.region_code);
        let (province_code, city_code) = match region.map(|r| r.level) {
            Some(Level::District) => {
                let city = region.and_then(|r| r.parent_code.clone());
                let province = city
                    .as_deref()
                    .and_then(crate::platform::regions::get)
                    .and_then(|c| c.parent_code.clone());
                (province, city)
            }
            Some(Level::City) => (
                region.and_then(|r| r.parent_code.clone()),
                Some(self.region_code.clone()),
            ),
            Some(Level::Province) => (Some(self.region_code.clone()), None),
            None => (None, None),
        };
        Ok(DemandView {
            province_code,
            city_code,
            work,
            distance_km: None,
            id: self.id,
            owner_id: self.owner_id,
            title: self.title,
            description: self.description,
            category: self.category,
            region_code: self.region_code,
            region_name: self.region_name,
            budget: Money::from_stored(self.budget)?,
            workers_wanted: self.workers_wanted,
            bid_deadline: self.bid_deadline.and_utc(),
            status: self.status,
            bid_count: self.bid_count,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

pub fn categories(conn: &mut DbConnection) -> AppResult<Vec<CategoryView>> {
    Ok(categories::table
        .order(categories::sort_order.asc())
        .select((categories::code, categories::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(code, name)| CategoryView { code, name })
        .collect())
}

pub fn not_found() -> AppError {
    AppError::not_found("demand.not_found", "需求不存在", "No such demand")
}

/// Loads a demand; removed demands are visible only to their owner.
pub fn load(conn: &mut DbConnection, id: i64, viewer: Option<i64>) -> AppResult<Row> {
    let row: Row = demands::table
        .find(id)
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    if row.status == DemandStatus::Removed && viewer != Some(row.owner_id) {
        return Err(not_found());
    }
    Ok(row)
}

/// ACC-4 applied to demand text (MKT-1).
fn check_text(conn: &mut DbConnection, st: &AppState, field: &str, text: &str) -> AppResult<()> {
    if let Some(category) = crate::content::filter(conn, st)?.find(text) {
        return Err(content::prohibited(field, "demand.prohibited", category));
    }
    Ok(())
}

fn check_deadline(st: &AppState, deadline: DateTime<Utc>) -> AppResult<NaiveDateTime> {
    let now = st.clock.now();
    let max = now + Duration::days(st.settings.market.max_bid_deadline_days);
    if deadline <= now || deadline > max {
        return Err(AppError::invalid_field(
            "bid_deadline",
            "demand.deadline_invalid",
            format!(
                "竞标截止时间须在未来 {} 天之内",
                st.settings.market.max_bid_deadline_days
            ),
            format!(
                "The bidding deadline must be in the future and within {} days",
                st.settings.market.max_bid_deadline_days
            ),
        ));
    }
    Ok(deadline.naive_utc())
}

fn check_workers(n: i32) -> AppResult<()> {
    if !(1..=1000).contains(&n) {
        return Err(AppError::invalid_field(
            "workers_wanted",
            "demand.workers_invalid",
            "人数须在 1–1000 之间",
            "workers_wanted must be 1–1000",
        ));
    }
    Ok(())
}

fn search_text(title: &str, description: &str) -> String {
    format!("{} {}", fold(title), fold(description))
}

/// Publishes a demand (MKT-1).
/// A work plan's columns, checked (WRK-1).
struct WorkColumns {
    address: String,
    at: GeoPoint,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
    from: i32,
    to: i32,
    unit: PayUnit,
}

fn work_invalid(field: &str, code: &'static str, zh: &'static str, en: &'static str) -> AppError {
    AppError::invalid_field(field, code, zh, en)
}

/// `HH:MM` as minutes after midnight.
fn minutes(field: &str, text: &str) -> AppResult<i32> {
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
        (h.to_string().len() <= 2 && m < 60 && (0..24).contains(&h) && m >= 0 && text.len() == 5)
            .then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| {
        work_invalid(
            field,
            "demand.work_hours_invalid",
            "时间须为 HH:MM",
            "A time must be HH:MM",
        )
    })
}

/// WRK-1: the address, a location in China, working days from the
/// bidding deadline's date for at most 90 days, a day of 30 minutes to 14
/// hours.
fn check_work(plan: &WorkPlan, deadline: NaiveDateTime) -> AppResult<WorkColumns> {
    let address = plain_text("work.address", &plan.address, 200)?;
    if !plan.location.in_china() {
        return Err(work_invalid(
            "work.location",
            "demand.location_outside_china",
            "工作地点须在中国境内",
            "The work location must be in China",
        ));
    }
    let first_day = crate::platform::clock::china_today(deadline);
    if plan.start_date < first_day {
        return Err(work_invalid(
            "work.start_date",
            "demand.work_dates_invalid",
            "开工日期须在竞标截止日当天或之后",
            "Work starts on or after the bidding deadline's date",
        ));
    }
    if plan.end_date < plan.start_date || (plan.end_date - plan.start_date).num_days() > 90 {
        return Err(work_invalid(
            "work.end_date",
            "demand.work_dates_invalid",
            "结束日期须在开工日期之后 90 天以内",
            "The last working day is on or after the first, at most 90 days later",
        ));
    }
    let from = minutes("work.daily_start", &plan.daily_start)?;
    let to = minutes("work.daily_end", &plan.daily_end)?;
    if !(30..=14 * 60).contains(&(to - from)) {
        return Err(work_invalid(
            "work.daily_end",
            "demand.work_hours_invalid",
            "每天工作时长须为 30 分钟到 14 小时",
            "A working day is 30 minutes to 14 hours, ending after it starts",
        ));
    }
    Ok(WorkColumns {
        address,
        at: plan.location,
        start: plan.start_date,
        end: plan.end_date,
        from,
        to,
        unit: plan.pay_unit,
    })
}

/// Writes a checked work plan on a demand (one statement of its own, in
/// the caller's transaction).
fn set_work(conn: &mut DbConnection, id: i64, w: &WorkColumns) -> AppResult<()> {
    changes::mark(Topic::Demands);
    diesel::update(demands::table.find(id))
        .set((
            demands::work_address.eq(Some(&w.address)),
            demands::lat.eq(Some(w.at.lat)),
            demands::lng.eq(Some(w.at.lng)),
            demands::geo_cell.eq(Some(w.at.cell())),
            demands::work_start.eq(Some(w.start)),
            demands::work_end.eq(Some(w.end)),
            demands::daily_start_minute.eq(Some(w.from)),
            demands::daily_end_minute.eq(Some(w.to)),
            demands::pay_unit.eq(Some(w.unit)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn publish(
    conn: &mut DbConnection,
    st: &AppState,
    owner: i64,
    req: NewDemand,
) -> AppResult<DemandView> {
    let title = plain_text("title", &req.title, 100)?;
    let description = long_text("description", &req.description, 5000)?;
    let region_name = plain_text("region_name", &req.region_name, 50)?;
    // WRK-1: a GB/T 2260 code (GET /regions).
    if crate::platform::regions::get(&req.region_code).is_none() {
        return Err(AppError::invalid_field(
            "region_code",
            "demand.region_invalid",
            "地区代码须为 6 位行政区划代码",
            "region_code must be a six-digit administrative division code",
        ));
    }
    check_workers(req.workers_wanted)?;
    let deadline = check_deadline(st, req.bid_deadline)?;
    let work = check_work(&req.work, deadline)?;
    let known: bool = diesel::select(diesel::dsl::exists(categories::table.find(&req.category)))
        .get_result(conn)?;
    if !known {
        return Err(AppError::invalid_field(
            "category",
            "demand.category_unknown",
            "未知的需求分类",
            "Unknown category",
        ));
    }
    check_text(conn, st, "title", &title)?;
    check_text(conn, st, "description", &description)?;
    require_good_standing(conn, owner)?;
    crate::conduct::require_service(conn, st, owner, crate::conduct::Service::Publishing)?;
    let now = st.clock.now_naive();
    changes::mark(Topic::Demands);
    let id: i64 = diesel::insert_into(demands::table)
        .values((
            demands::owner_id.eq(owner),
            demands::search_text.eq(search_text(&title, &description)),
            demands::title.eq(&title),
            demands::description.eq(&description),
            demands::category.eq(&req.category),
            demands::region_code.eq(&req.region_code),
            demands::region_name.eq(&region_name),
            demands::budget.eq(req.budget.fen()),
            demands::workers_wanted.eq(req.workers_wanted),
            demands::bid_deadline.eq(deadline),
            demands::status.eq(DemandStatus::Open),
            demands::created_at.eq(now),
            demands::updated_at.eq(now),
        ))
        .returning(demands::id)
        .get_result(conn)?;
    set_work(conn, id, &work)?;
    load(conn, id, Some(owner))?.view()
}

/// Edits a demand: owner only, while open and without bids.
pub fn edit(
    conn: &mut DbConnection,
    st: &AppState,
    owner: i64,
    id: i64,
    patch: DemandPatch,
) -> AppResult<DemandView> {
    let row = load(conn, id, Some(owner))?;
    if row.owner_id != owner {
        return Err(not_found());
    }
    if row.status != DemandStatus::Open || row.bid_count > 0 {
        return Err(AppError::conflict(
            "demand.not_editable",
            "需求已有竞标或不在招标中，不能修改",
            "Only an open demand without bids can be edited",
        ));
    }
    let title = match &patch.title {
        Some(t) => plain_text("title", t, 100)?,
        None => row.title.clone(),
    };
    let description = match &patch.description {
        Some(d) => long_text("description", d, 5000)?,
        None => row.description.clone(),
    };
    if let Some(n) = patch.workers_wanted {
        check_workers(n)?;
    }
    let deadline = patch
        .bid_deadline
        .map(|d| check_deadline(st, d))
        .transpose()?;
    let work = patch
        .work
        .as_ref()
        .map(|w| check_work(w, deadline.unwrap_or(row.bid_deadline)))
        .transpose()?;
    check_text(conn, st, "title", &title)?;
    check_text(conn, st, "description", &description)?;
    changes::mark(Topic::Demands);
    let n = diesel::update(
        demands::table
            .filter(demands::id.eq(id))
            .filter(demands::status.eq(DemandStatus::Open))
            .filter(demands::bid_count.eq(0)),
    )
    .set((
        demands::search_text.eq(search_text(&title, &description)),
        demands::title.eq(&title),
        demands::description.eq(&description),
        demands::budget.eq(patch.budget.map_or(row.budget, Money::fen)),
        demands::workers_wanted.eq(patch.workers_wanted.unwrap_or(row.workers_wanted)),
        demands::bid_deadline.eq(deadline.unwrap_or(row.bid_deadline)),
        demands::updated_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "demand.not_editable",
            "需求已有竞标或不在招标中，不能修改",
            "Only an open demand without bids can be edited",
        ));
    }
    if let Some(work) = &work {
        set_work(conn, id, work)?;
    }
    load(conn, id, Some(owner))?.view()
}

/// Refuses to cancel or remove a demand while one of its awards is disputed.
fn refuse_if_disputed(conn: &mut DbConnection, demand_id: i64) -> AppResult<()> {
    let disputed: bool = diesel::select(diesel::dsl::exists(
        awards::table
            .filter(awards::demand_id.eq(demand_id))
            .filter(awards::status.eq(AwardStatus::Disputed)),
    ))
    .get_result(conn)?;
    if disputed {
        return Err(AppError::conflict(
            "award.disputed",
            "该需求有争议中的中标，担保金已冻结，须待平台裁决",
            "An award of this demand is under dispute; its hold is frozen until the platform decides",
        ));
    }
    Ok(())
}

/// Cancels the awards of a demand that are still under way, releasing their
/// holds; returns the providers.
pub fn cancel_open_awards(
    conn: &mut DbConnection,
    st: &AppState,
    demand_id: i64,
    statuses: &[AwardStatus],
    why: &str,
) -> AppResult<Vec<i64>> {
    // DSP-1: a disputed award's hold stays frozen until staff decide.
    refuse_if_disputed(conn, demand_id)?;
    let open: Vec<(i64, i64, i64, i64)> = awards::table
        .filter(awards::demand_id.eq(demand_id))
        .filter(awards::status.eq_any(statuses))
        .select((
            awards::id,
            awards::employer_id,
            awards::provider_id,
            awards::price,
        ))
        .load(conn)?;
    let mut providers = Vec::new();
    for (award_id, employer, provider, price) in open {
        let n = diesel::update(
            awards::table
                .filter(awards::id.eq(award_id))
                .filter(awards::status.eq_any(statuses)),
        )
        .set(awards::status.eq(AwardStatus::Cancelled))
        .execute(conn)?;
        if n == 1 {
            ledger::release(
                conn,
                st,
                employer,
                price,
                &Reference {
                    kind: "award_release",
                    object_type: "award",
                    object_id: award_id.to_string(),
                    memo: why.to_string(),
                },
            )?;
            crate::conversations::on_award(
                conn,
                st,
                award_id,
                crate::conversations::SystemEvent::Ended,
                Some(crate::conversations::Stage::Ended),
                &format!("订单已取消：{why}。会话 30 天后转为只读。"),
            )?;
            providers.push(provider);
        }
    }
    Ok(providers)
}

/// The owner cancels: allowed while open, or awarded with no work delivered
/// or paid yet; holds are released.
pub fn cancel(
    conn: &mut DbConnection,
    st: &AppState,
    owner: i64,
    id: i64,
) -> AppResult<DemandView> {
    let row = load(conn, id, Some(owner))?;
    if row.owner_id != owner {
        return Err(not_found());
    }
    let not_cancellable = || {
        AppError::conflict(
            "demand.not_cancellable",
            "需求已交付、完成或已结束，不能取消",
            "The demand has delivered or paid work, or is already closed",
        )
    };
    changes::mark(Topic::Demands);
    let n = diesel::update(
        demands::table
            .filter(demands::id.eq(id))
            .filter(demands::status.eq_any([DemandStatus::Open, DemandStatus::Awarded])),
    )
    .set((
        demands::status.eq(DemandStatus::Cancelled),
        demands::updated_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(not_cancellable());
    }
    let mut told = close_bids(conn, st, id)?;
    // Only work not yet delivered is cancelled (row by row, conditionally);
    // checked afterwards, so a delivery that committed first is seen and a
    // later one finds its award cancelled: either way no delivered work is
    // undone.
    told.extend(cancel_open_awards(
        conn,
        st,
        id,
        &[AwardStatus::InProgress],
        "需求取消，释放担保金",
    )?);
    let settled: bool = diesel::select(diesel::dsl::exists(
        awards::table
            .filter(awards::demand_id.eq(id))
            .filter(awards::status.eq_any([AwardStatus::Delivered, AwardStatus::Completed])),
    ))
    .get_result(conn)?;
    if settled {
        return Err(not_cancellable());
    }
    notify_each(
        conn,
        st,
        &told,
        "demand.cancelled",
        "需求已取消",
        &format!("您参与的需求「{}」已被发布者取消。", row.title),
        &format!("/api/v1/demands/{id}"),
    )?;
    load(conn, id, Some(owner))?.view()
}

/// MKT-5: staff remove a demand with a reason; holds are released, the
/// owner notified, the action audited.
pub fn remove(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    id: i64,
    reason: &str,
    ip: &str,
) -> AppResult<DemandView> {
    let row = load(conn, id, None)?;
    changes::mark(Topic::Demands);
    let n = diesel::update(
        demands::table
            .filter(demands::id.eq(id))
            .filter(demands::status.ne(DemandStatus::Removed))
            .filter(demands::status.ne(DemandStatus::Completed)),
    )
    .set((
        demands::status.eq(DemandStatus::Removed),
        demands::removed_reason.eq(reason),
        demands::updated_at.eq(st.clock.now_naive()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            "demand.not_removable",
            "需求已完成或已下架",
            "The demand is completed or already removed",
        ));
    }
    let mut told = close_bids(conn, st, id)?;
    told.extend(cancel_open_awards(
        conn,
        st,
        id,
        &AwardStatus::UNDER_WAY,
        "需求下架，释放担保金",
    )?);
    notify_each(
        conn,
        st,
        &[row.owner_id],
        "demand.removed",
        "需求已被下架",
        &format!("您的需求「{}」已被平台下架，原因：{reason}", row.title),
        &format!("/api/v1/demands/{id}"),
    )?;
    notify_each(
        conn,
        st,
        &told,
        "demand.removed",
        "需求已被下架",
        &format!("您参与的需求「{}」已被平台下架。", row.title),
        &format!("/api/v1/demands/{id}"),
    )?;
    audit::record(
        conn,
        st,
        audit::Entry {
            actor: Actor::Staff(staff_id),
            action: "demand.remove",
            target_type: "demand",
            target_id: Some(id.to_string()),
            reason: Some(reason),
            details: Some(serde_json::json!({ "owner_id": row.owner_id })),
            ip: Some(ip),
        },
    )?;
    load(conn, id, Some(row.owner_id))?.view()
}

/// Takes the demand's row lock without changing it (a conditional edit
/// reads, compares and writes under it).
pub fn lock_row(conn: &mut DbConnection, id: i64) -> AppResult<()> {
    diesel::update(demands::table.find(id))
        .set(demands::updated_at.eq(demands::updated_at))
        .execute(conn)?;
    Ok(())
}

/// VIO-3 content removal: takes down `owner`'s demand (404 when the
/// demand is not theirs); returns its status before.
pub fn remove_for_violation(
    conn: &mut DbConnection,
    st: &AppState,
    staff_id: i64,
    owner: i64,
    id: i64,
    reason: &str,
    ip: &str,
) -> AppResult<DemandStatus> {
    let was: Option<(i64, DemandStatus)> = demands::table
        .find(id)
        .select((demands::owner_id, demands::status))
        .first(conn)
        .optional()?;
    let Some((_, was)) = was.filter(|(o, _)| *o == owner) else {
        return Err(not_found());
    };
    remove(conn, st, staff_id, id, reason, ip)?;
    Ok(was)
}

/// VIO-6: a removed demand comes back when it was open before and can
/// still take bids.
pub fn restore(
    conn: &mut DbConnection,
    st: &AppState,
    id: i64,
    was: DemandStatus,
) -> AppResult<()> {
    let now = st.clock.now_naive();
    if was != DemandStatus::Open {
        return Ok(());
    }
    changes::mark(Topic::Demands);
    diesel::update(
        demands::table
            .filter(demands::id.eq(id))
            .filter(demands::status.eq(DemandStatus::Removed))
            .filter(demands::bid_deadline.gt(now)),
    )
    .set((
        demands::status.eq(DemandStatus::Open),
        demands::removed_reason.eq(None::<String>),
        demands::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// The boxed discovery query as its filters and ordering build it up.
type DiscoveryQuery = demands::BoxedQuery<
    'static,
    MultiBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Row, MultiBackend>>,
>;

/// The status filter of discovery: open by default; the states anyone may list.
fn discovery_status(q: &DemandQuery) -> AppResult<DemandStatus> {
    let listed = [
        DemandStatus::Open,
        DemandStatus::Awarded,
        DemandStatus::Completed,
        DemandStatus::Expired,
    ];
    let wanted = match q.status.as_deref() {
        None => Some(DemandStatus::Open),
        Some(text) => DemandStatus::parse(text).filter(|s| listed.contains(s)),
    };
    wanted.ok_or_else(|| {
        AppError::invalid_field(
            "status",
            "status.invalid",
            "status 取值无效",
            "Invalid status",
        )
    })
}

/// Category, region and budget filters.
fn filter_codes(mut query: DiscoveryQuery, q: &DemandQuery) -> AppResult<DiscoveryQuery> {
    if let Some(c) = &q.category {
        let ok =
            (1..=40).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !ok {
            return Err(AppError::invalid_field(
                "category",
                "demand.category_unknown",
                "分类代码格式不正确",
                "Malformed category code",
            ));
        }
        query = query.filter(demands::category.eq(c.clone()));
    }
    if let Some(r) = &q.region {
        let ok = r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()) && !r.starts_with('0');
        if !ok {
            return Err(AppError::invalid_field(
                "region",
                "demand.region_invalid",
                "地区代码须为 6 位行政区划代码",
                "region must be a six-digit code",
            ));
        }
        // WRK-2: a province or city covers its districts' codes.
        query = match crate::platform::regions::code_range(r) {
            Some((from, to)) if from.len() < 6 => query
                .filter(demands::region_code.ge(from))
                .filter(demands::region_code.lt(to)),
            _ => query.filter(demands::region_code.eq(r.clone())),
        };
    }
    // An empty budget range (min above max) is a valid filter that matches nothing.
    if let Some(min) = q.budget_min {
        query = query.filter(demands::budget.ge(min.fen()));
    }
    if let Some(max) = q.budget_max {
        query = query.filter(demands::budget.le(max.fen()));
    }
    Ok(query)
}

/// A gram with fewer postings than this is rare: its demands are the
/// candidates. (Reading the postings is bounded by it too.)
const RARE_GRAM_POSTINGS: i64 = 500;

/// At most this many grams are looked up per search: enough to narrow a
/// long phrase, few enough that the lookups stay cheap.
const MAX_SEARCH_GRAMS: usize = 6;

/// The grams of a folded search phrase that the index (`demand_grams`, 1-
/// and 2-character substrings of `search_text`) is asked for: the phrase
/// itself when it is one character, else up to [`MAX_SEARCH_GRAMS`] of its
/// distinct 2-character substrings, spread over the phrase.
fn search_grams(words: &str) -> Vec<String> {
    let chars: Vec<char> = words.chars().collect();
    if chars.len() < 2 {
        return chars.iter().map(char::to_string).collect();
    }
    let mut pairs: Vec<String> = Vec::new();
    for w in chars.windows(2) {
        let pair: String = w.iter().collect();
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    if pairs.len() <= MAX_SEARCH_GRAMS {
        return pairs;
    }
    let last = pairs.len() - 1;
    let mut picked: Vec<String> = (0..MAX_SEARCH_GRAMS)
        .map(|k| pairs[k * last / (MAX_SEARCH_GRAMS - 1)].clone())
        .collect();
    picked.dedup();
    picked
}

/// The `q` filter: words in the title or description. With `below` (the
/// newest sort's cursor), a bounded search reads only postings under it.
/// Returns the filtered query and, when the search was bounded and older
/// candidates remain, the lowest demand id it covered (the next page goes
/// on below it).
fn filter_words(
    conn: &mut DbConnection,
    st: &AppState,
    query: DiscoveryQuery,
    words: Option<&str>,
    below: Option<i64>,
) -> AppResult<(DiscoveryQuery, Option<i64>)> {
    let Some(words) = words else {
        return Ok((query, None));
    };
    if words.is_empty() || words.chars().count() > 50 {
        return Err(AppError::invalid_field(
            "q",
            "text.length",
            "q 须为 1–50 个字符",
            "q must be 1–50 characters",
        ));
    }
    // Blank words filter nothing.
    let words = fold(words.trim());
    if words.is_empty() {
        return Ok((query, None));
    }
    let window = st.settings.market.search_window;
    let rare_below = RARE_GRAM_POSTINGS.min(window);
    // Issue 13: the n-gram index. Each gram's postings are read up to a
    // bound; a rare gram's few demands are the only candidates (none: the
    // answer is empty at once). When every gram is common, the demands in
    // the page's order mostly hold them and LIKE finds the page quickly
    // (an index filter there only made the databases join 100k postings).
    let grams = search_grams(&words);
    let mut rarest: Option<Vec<i64>> = None;
    for gram in &grams {
        let postings: Vec<i64> = demand_grams::table
            .filter(demand_grams::gram.eq(gram))
            .select(demand_grams::demand_id)
            // In index order: without it PostgreSQL chose a sequential
            // scan for a common gram (5 ms instead of 0.1).
            .order(demand_grams::demand_id.desc())
            .limit(rare_below)
            .load(conn)?;
        if rarest.as_ref().is_none_or(|r| postings.len() < r.len()) {
            rarest = Some(postings);
        }
    }
    let mut query = query;
    let mut floor = None;
    if let Some(ids) = rarest.filter(|ids| (ids.len() as i64) < rare_below) {
        query = query.filter(demands::id.eq_any(ids));
    } else if let [first, _, ..] = grams.as_slice() {
        // Every pair is common, yet together they may be rare: the scan is
        // bounded to the newest `window` demands holding the first pair
        // (under the cursor), so no search reads the whole table.
        let below = below.unwrap_or(i64::MAX);
        let postings = || {
            demand_grams::table
                .filter(demand_grams::gram.eq(first.clone()))
                .filter(demand_grams::demand_id.lt(below))
                .select(demand_grams::demand_id)
                .order(demand_grams::demand_id.desc())
        };
        floor = postings().offset(window - 1).first(conn).optional()?;
        query = query.filter(demands::id.eq_any(postings().limit(window)));
    }
    let escaped = words
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Ok((
        query.filter(
            demands::search_text
                .like(format!("%{escaped}%"))
                .escape('\\'),
        ),
        floor,
    ))
}

/// Orders by `sort` and starts after `cursor`. Every sort pages with a
/// two-key cursor, so any cursor of the documented shape is a position in
/// any sort.
fn order_after(
    mut query: DiscoveryQuery,
    sort: DemandSort,
    cursor: Option<[i64; 2]>,
) -> DiscoveryQuery {
    match sort {
        // Distance is ordered in `discover_near`.
        DemandSort::Newest | DemandSort::Distance => {
            if let Some([_, id]) = cursor {
                query = query.filter(demands::id.lt(id));
            }
            query.order(demands::id.desc())
        }
        DemandSort::Budget => {
            if let Some([budget, id]) = cursor {
                query = query.filter(
                    demands::budget
                        .lt(budget)
                        .or(demands::budget.eq(budget).and(demands::id.lt(id))),
                );
            }
            query.order((demands::budget.desc(), demands::id.desc()))
        }
        DemandSort::Deadline => {
            if let Some([micros, id]) = cursor {
                let at = DateTime::from_timestamp_micros(micros)
                    .map(|t| t.naive_utc())
                    .unwrap_or(if micros < 0 {
                        NaiveDateTime::MIN
                    } else {
                        NaiveDateTime::MAX
                    });
                query = query.filter(
                    demands::bid_deadline
                        .gt(at)
                        .or(demands::bid_deadline.eq(at).and(demands::id.gt(id))),
                );
            }
            query.order((demands::bid_deadline.asc(), demands::id.asc()))
        }
    }
}

/// The cursor that continues after `last` in `sort`.
fn cursor_after(last: &Row, sort: DemandSort) -> String {
    match sort {
        DemandSort::Newest | DemandSort::Distance => encode_keys([last.id, last.id]),
        DemandSort::Budget => encode_keys([last.budget, last.id]),
        DemandSort::Deadline => {
            encode_keys([last.bid_deadline.and_utc().timestamp_micros(), last.id])
        }
    }
}

/// The discovery query with every filter of `q` (status, deadline, codes,
/// words), and the floor of a bounded word search (see [`filter_words`]).
fn filtered(
    conn: &mut DbConnection,
    st: &AppState,
    q: &DemandQuery,
    below: Option<i64>,
) -> AppResult<(DiscoveryQuery, Option<i64>)> {
    let wanted = discovery_status(q)?;
    let mut query = demands::table
        .filter(demands::status.eq(wanted))
        .select(Row::as_select())
        .into_boxed();
    if wanted == DemandStatus::Open {
        query = query.filter(demands::bid_deadline.gt(st.clock.now_naive()));
    }
    query = filter_codes(query, q)?;
    filter_words(conn, st, query, q.q.as_deref(), below)
}

/// MKT-6: discovery with filters, three sorts and keyset cursors that stay
/// stable under inserts.
pub fn discover(conn: &mut DbConnection, st: &AppState, q: &DemandQuery) -> AppResult<Discovered> {
    let limit = crate::platform::paging::PageQuery {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let near = near_point(q)?;
    let sort = discovery_sort(q, near.is_some());
    let cursor = q.cursor.as_deref().map(decode_keys::<2>).transpose()?;
    if let Some((point, radius_km)) = near {
        return discover_near(conn, st, q, (point, radius_km), cursor, limit);
    }
    let below = cursor
        .filter(|_| sort == DemandSort::Newest)
        .map(|[_, id]| id);
    let (query, floor) = filtered(conn, st, q, below)?;
    let mut rows: Vec<Row> = order_after(query.limit(limit + 1), sort, cursor).load(conn)?;
    let fresh_until = fresh_until(rows.iter().map(|d| d.bid_deadline), st.clock.now_naive());
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match rows.last().filter(|_| more) {
        Some(last) => Some(cursor_after(last, sort)),
        // A bounded search of the newest sort goes on below what it read
        // (the page may be short, even empty: follow the cursor).
        None => floor
            .filter(|_| sort == DemandSort::Newest)
            .map(|f| encode_keys([f, f])),
    };
    Ok(Discovered {
        page: Page {
            items: rows.into_iter().map(Row::view).collect::<AppResult<_>>()?,
            next_cursor,
        },
        fresh_until,
    })
}

/// WRK-2: `near=lat,lng` and `radius_km` (1–50, default 10).
fn near_point(q: &DemandQuery) -> AppResult<Option<(GeoPoint, f64)>> {
    let radius = q.radius_km.unwrap_or(10);
    if !(1..=50).contains(&radius) {
        return Err(AppError::invalid_field(
            "radius_km",
            "demand.radius_invalid",
            "radius_km 须为 1–50",
            "radius_km must be 1–50",
        ));
    }
    let Some(text) = &q.near else {
        return Ok(None);
    };
    let point = text.split_once(',').and_then(|(lat, lng)| {
        Some(GeoPoint {
            lat: lat.trim().parse().ok()?,
            lng: lng.trim().parse().ok()?,
        })
    });
    // A point outside China (or off the globe) is a valid question with
    // no demand near it: the page is empty.
    match point {
        Some(p) if p.lat.is_finite() && p.lng.is_finite() => Ok(Some((p, f64::from(radius)))),
        _ => Err(AppError::invalid_field(
            "near",
            "demand.near_invalid",
            "near 须为 纬度,经度",
            "near must be lat,lng",
        )),
    }
}

/// The sort: by distance when searching `near` a point (whatever `sort`
/// says); `distance` without a point is the newest first.
fn discovery_sort(q: &DemandQuery, near: bool) -> DemandSort {
    match (q.sort, near) {
        (_, true) => DemandSort::Distance,
        (Some(DemandSort::Distance) | None, false) => DemandSort::Newest,
        (Some(sort), false) => sort,
    }
}

/// The most demands a search by distance reads (the newest in the cells
/// around the point, shared between the cells) …
const NEAR_CANDIDATES: i64 = 5_000;
/// … and at least this many of each cell.
const NEAR_PER_CELL_MIN: i64 = 200;

/// WRK-2: the demands within `radius_km` of `point`, nearest first; the
/// cursor is (metres, id). Each grid cell around the point is read on its
/// own through the `(status, geo_cell, id, lat, lng)` index, newest first
/// and bounded, reading only ids and coordinates (an `IN` over the cells
/// would have to sort every demand in them); the exact distance is
/// computed here, and only the page's rows are read whole.
fn discover_near(
    conn: &mut DbConnection,
    st: &AppState,
    q: &DemandQuery,
    (point, radius_km): (GeoPoint, f64),
    cursor: Option<[i64; 2]>,
    limit: i64,
) -> AppResult<Discovered> {
    let (cells, [lat_lo, lat_hi, lng_lo, lng_hi]) = point.cells_within(radius_km);
    let per_cell = (NEAR_CANDIDATES / cells.len().max(1) as i64).max(NEAR_PER_CELL_MIN);
    let mut found: Vec<(i64, i64)> = Vec::new();
    for cell in cells {
        let (query, _) = filtered(conn, st, q, None)?;
        let spots: Vec<(i64, Option<f64>, Option<f64>)> = query
            .filter(demands::geo_cell.eq(cell))
            .filter(demands::lat.between(lat_lo, lat_hi))
            .filter(demands::lng.between(lng_lo, lng_hi))
            .select((demands::id, demands::lat, demands::lng))
            .order(demands::id.desc())
            .limit(per_cell)
            .load(conn)?;
        found.extend(spots.into_iter().filter_map(|(id, lat, lng)| {
            let metres = point.distance_m(&GeoPoint {
                lat: lat?,
                lng: lng?,
            });
            (metres <= radius_km * 1000.0).then(|| (metres.round() as i64, id))
        }));
    }
    found.retain(|key| cursor.is_none_or(|[cm, cid]| *key > (cm, cid)));
    found.sort_unstable();
    found.truncate(limit as usize + 1);
    let ids: Vec<i64> = found.iter().map(|(_, id)| *id).collect();
    let mut rows: std::collections::HashMap<i64, Row> = demands::table
        .filter(demands::id.eq_any(&ids))
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut page_rows: Vec<(i64, Row)> = found
        .into_iter()
        .filter_map(|(m, id)| rows.remove(&id).map(|r| (m, r)))
        .collect();
    let fresh_until = fresh_until(
        page_rows.iter().map(|(_, r)| r.bid_deadline),
        st.clock.now_naive(),
    );
    let more = page_rows.len() as i64 > limit;
    page_rows.truncate(limit as usize);
    let next_cursor = page_rows
        .last()
        .filter(|_| more)
        .map(|(m, r)| encode_keys([*m, r.id]));
    let items = page_rows
        .into_iter()
        .map(|(m, r)| {
            let mut view = r.view()?;
            view.distance_km = Some((m as f64 / 10.0).round() / 100.0);
            Ok(view)
        })
        .collect::<AppResult<_>>()?;
    Ok(Discovered {
        page: Page { items, next_cursor },
        fresh_until,
    })
}

/// A discovery page and until when it may be served as it is
/// (microseconds since the epoch; see [`fresh_until`]).
pub struct Discovered {
    pub page: Page<DemandView>,
    pub fresh_until: i64,
}

/// How long a discovery page may be served as it is (microseconds since
/// the epoch): until the first of the demands read for it (the look-ahead
/// row that decides `next_cursor` included) passes its bidding deadline (it
/// leaves the open list then, with no write to announce it), and no longer
/// than [`PAGE_TTL_SECS`] in any case.
fn fresh_until(deadlines: impl IntoIterator<Item = NaiveDateTime>, now: NaiveDateTime) -> i64 {
    let cap = now + chrono::Duration::seconds(PAGE_TTL_SECS);
    deadlines
        .into_iter()
        .filter(|at| *at > now)
        .min()
        .map_or(cap, |first| first.min(cap))
        .and_utc()
        .timestamp_micros()
}

/// The longest a cached discovery page is served without asking again.
const PAGE_TTL_SECS: i64 = 60;

/// The owner's demands, newest first.
pub fn mine(
    conn: &mut DbConnection,
    owner: i64,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<Row>> {
    let mut q = demands::table
        .filter(demands::owner_id.eq(owner))
        .select(Row::as_select())
        .order(demands::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(demands::id.lt(b));
    }
    Ok(q.load(conn)?)
}

/// Scheduler: open demands whose bidding deadline passed without an award
/// expire (SVC-1; conditional update, safe on several servers).
pub fn expire_due(conn: &mut DbConnection, st: &AppState) -> AppResult<usize> {
    let now = st.clock.now_naive();
    let due: Vec<(i64, i64, String)> = demands::table
        .filter(demands::status.eq(DemandStatus::Open))
        .filter(demands::bid_deadline.le(now))
        .select((demands::id, demands::owner_id, demands::title))
        .limit(500)
        .load(conn)?;
    let mut expired = 0;
    for (id, owner, title) in due {
        let done = crate::platform::db::write_tx(conn, |c| -> AppResult<bool> {
            changes::mark(Topic::Demands);
            let n = diesel::update(
                demands::table
                    .filter(demands::id.eq(id))
                    .filter(demands::status.eq(DemandStatus::Open)),
            )
            .set((
                demands::status.eq(DemandStatus::Expired),
                demands::updated_at.eq(now),
            ))
            .execute(c)?;
            if n == 0 {
                return Ok(false);
            }
            let bidders = close_bids(c, st, id)?;
            notify_each(
                c,
                st,
                &[owner],
                "demand.expired",
                "需求已过期",
                &format!("需求「{title}」竞标截止前未选标，已过期。"),
                &format!("/api/v1/demands/{id}"),
            )?;
            notify_each(
                c,
                st,
                &bidders,
                "bid.not_selected",
                "未中标",
                &format!("需求「{title}」已过期，您的竞标未被选中。"),
                &format!("/api/v1/demands/{id}"),
            )?;
            Ok(true)
        });
        match done {
            Ok(done) => expired += usize::from(done),
            // One demand that cannot expire must not stop the others.
            Err(e) => log::error!(
                "job expire demand={id}: {}",
                e.cause.as_deref().unwrap_or(&e.code)
            ),
        }
    }
    Ok(expired)
}
