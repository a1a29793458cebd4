//! Check-ins (WRK-3): the awarded provider checks in and out of each
//! working day with a location and a photo; the server stamps the time and
//! the distance from the work location and marks check-ins beyond the
//! geofence as off-site. The employer sees the roster.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::dto::{CheckInKind, CheckInView, NewCheckIn, RosterEntry};
use super::model::AwardStatus;
use crate::files::{self, UseKind};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{awards as awards_t, check_ins, demands};
use crate::platform::error::{AppError, AppResult};
use crate::platform::geo::GeoPoint;
use crate::platform::state::AppState;

#[derive(Queryable, Selectable)]
#[diesel(table_name = check_ins)]
struct Row {
    id: i64,
    award_id: i64,
    provider_id: i64,
    kind: CheckInKind,
    lat: f64,
    lng: f64,
    distance_m: Option<i32>,
    off_site: bool,
    file_id: i64,
    work_day: NaiveDate,
    created_at: NaiveDateTime,
}

impl Row {
    fn view(self, photos: &HashMap<i64, files::FileView>) -> AppResult<CheckInView> {
        Ok(CheckInView {
            photo: photos
                .get(&self.file_id)
                .cloned()
                .ok_or_else(|| AppError::internal("check-in without its photo"))?,
            id: self.id,
            award_id: self.award_id,
            provider_id: self.provider_id,
            kind: self.kind,
            location: GeoPoint {
                lat: self.lat,
                lng: self.lng,
            },
            distance_m: self.distance_m,
            off_site: self.off_site,
            work_day: self.work_day,
            checked_at: self.created_at.and_utc(),
        })
    }
}

/// Views of `rows` with their photos: one query for all photos.
fn views(conn: &mut DbConnection, rows: Vec<Row>) -> AppResult<Vec<CheckInView>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.file_id).collect();
    let photos = files::views_of(conn, &ids)?;
    rows.into_iter().map(|r| r.view(&photos)).collect()
}

/// The check-ins of each of `award_ids`, oldest first: two queries
/// however many (for their parties or staff: the caller checked that).
pub fn of_awards(
    conn: &mut DbConnection,
    award_ids: &[i64],
) -> AppResult<HashMap<i64, Vec<CheckInView>>> {
    let rows: Vec<Row> = check_ins::table
        .filter(check_ins::award_id.eq_any(award_ids))
        .order(check_ins::id.asc())
        .select(Row::as_select())
        .load(conn)?;
    let mut out: HashMap<i64, Vec<CheckInView>> = HashMap::new();
    for v in views(conn, rows)? {
        out.entry(v.award_id).or_default().push(v);
    }
    Ok(out)
}

/// The check-ins of an award, oldest first.
pub fn of_award(conn: &mut DbConnection, award_id: i64) -> AppResult<Vec<CheckInView>> {
    Ok(of_awards(conn, &[award_id])?
        .remove(&award_id)
        .unwrap_or_default())
}

/// How many check-ins an award has, and how many of them off-site.
pub fn tally(conn: &mut DbConnection, award_id: i64) -> AppResult<(i64, i64)> {
    let total: i64 = check_ins::table
        .filter(check_ins::award_id.eq(award_id))
        .count()
        .get_result(conn)?;
    let off: i64 = check_ins::table
        .filter(check_ins::award_id.eq(award_id))
        .filter(check_ins::off_site.eq(true))
        .count()
        .get_result(conn)?;
    Ok((total, off))
}

/// One open check-in at a time: `kind` must follow the last one. Takes
/// the award row first (like every change to an award), so two check-ins
/// at once wait for each other.
fn take_turn(conn: &mut DbConnection, award_id: i64, kind: CheckInKind) -> AppResult<()> {
    diesel::update(awards_t::table.find(award_id))
        .set(awards_t::id.eq(award_id))
        .execute(conn)?;
    let last: Option<CheckInKind> = check_ins::table
        .filter(check_ins::award_id.eq(award_id))
        .order(check_ins::id.desc())
        .select(check_ins::kind)
        .first(conn)
        .optional()?;
    let open = last == Some(CheckInKind::In);
    match (kind, open) {
        (CheckInKind::In, true) => {
            return Err(AppError::conflict(
                "check_in.already_in",
                "已签到，请先签退",
                "Already checked in: check out first",
            ));
        }
        (CheckInKind::Out, false) => {
            return Err(AppError::conflict(
                "check_in.not_in",
                "尚未签到",
                "Not checked in",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Metres from the demand's work location, when it states one.
fn distance_from_site(
    conn: &mut DbConnection,
    demand_id: i64,
    at: &GeoPoint,
) -> AppResult<Option<f64>> {
    let site: Option<(Option<f64>, Option<f64>)> = demands::table
        .find(demand_id)
        .select((demands::lat, demands::lng))
        .first(conn)
        .optional()?;
    Ok(match site {
        Some((Some(lat), Some(lng))) => Some(at.distance_m(&GeoPoint { lat, lng })),
        _ => None,
    })
}

/// The award's demand and status, for its provider (the employer: 403;
/// anyone else: 404). Read here, not through `awards` (which shows
/// check-ins).
fn provider_award(
    conn: &mut DbConnection,
    award_id: i64,
    provider: i64,
) -> AppResult<(i64, AwardStatus)> {
    let award: Option<(i64, i64, i64, AwardStatus)> = awards_t::table
        .find(award_id)
        .select((
            awards_t::employer_id,
            awards_t::provider_id,
            awards_t::demand_id,
            awards_t::status,
        ))
        .first(conn)
        .optional()?;
    let Some((employer_id, provider_id, demand_id, status)) = award else {
        return Err(AppError::not_found(
            "award.not_found",
            "中标记录不存在",
            "No such award",
        ));
    };
    if employer_id != provider && provider_id != provider {
        return Err(AppError::not_found(
            "award.not_found",
            "中标记录不存在",
            "No such award",
        ));
    }
    if provider_id != provider {
        return Err(AppError::forbidden(
            "check_in.not_provider",
            "只有中标方可以签到",
            "Only the awarded provider checks in",
        ));
    }
    Ok((demand_id, status))
}

/// WRK-3: a check-in or -out by the award's provider while the work is in
/// progress; one open check-in at a time.
pub fn record(
    conn: &mut DbConnection,
    st: &AppState,
    provider: i64,
    award_id: i64,
    req: NewCheckIn,
) -> AppResult<CheckInView> {
    let (demand_id, status) = provider_award(conn, award_id, provider)?;
    if status != AwardStatus::InProgress {
        return Err(AppError::conflict(
            "award.not_in_progress",
            "该中标不在进行中",
            "The award is not in progress",
        ));
    }
    if !req.location.in_china() {
        return Err(AppError::invalid_field(
            "location",
            "check_in.location_invalid",
            "位置须在中国境内",
            "The location must be in China",
        ));
    }
    take_turn(conn, award_id, req.kind)?;
    let distance = distance_from_site(conn, demand_id, &req.location)?;
    let geofence = f64::from(st.settings.market.check_in_geofence_m);
    let off_site = distance.is_some_and(|d| d > geofence);
    files::attach(
        conn,
        st,
        provider,
        "file_id",
        &[req.file_id],
        (UseKind::CheckIn, award_id),
    )?;
    let now = st.clock.now_naive();
    let id: i64 = diesel::insert_into(check_ins::table)
        .values((
            check_ins::award_id.eq(award_id),
            check_ins::provider_id.eq(provider),
            check_ins::kind.eq(req.kind),
            check_ins::lat.eq(req.location.lat),
            check_ins::lng.eq(req.location.lng),
            check_ins::distance_m.eq(distance.map(|d| d.round().min(f64::from(i32::MAX)) as i32)),
            check_ins::off_site.eq(off_site),
            check_ins::file_id.eq(req.file_id),
            check_ins::work_day.eq(crate::platform::clock::china_today(now)),
            check_ins::created_at.eq(now),
        ))
        .returning(check_ins::id)
        .get_result(conn)?;
    let row = check_ins::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?;
    let what = match row.kind {
        CheckInKind::In => "签到",
        CheckInKind::Out => "签退",
    };
    let place = match row.distance_m {
        Some(d) if row.off_site => format!("，距工作地点 {d} 米（超出范围）"),
        Some(d) => format!("，距工作地点 {d} 米"),
        None => String::new(),
    };
    crate::conversations::on_award(
        conn,
        st,
        award_id,
        crate::conversations::SystemEvent::CheckIn,
        None,
        &format!("服务商{what}{place}。"),
    )?;
    views(conn, vec![row])?
        .pop()
        .ok_or_else(|| AppError::internal("check-in vanished"))
}

/// WRK-3: the demand owner's roster: each award with where its provider
/// stands.
pub fn roster(conn: &mut DbConnection, owner: i64, demand_id: i64) -> AppResult<Vec<RosterEntry>> {
    let demand = super::demands::load(conn, demand_id, Some(owner))?;
    if demand.owner_id != owner {
        return Err(super::demands::not_found());
    }
    let awards: Vec<(i64, i64, AwardStatus)> = awards_t::table
        .filter(awards_t::demand_id.eq(demand_id))
        .order(awards_t::id.asc())
        .select((awards_t::id, awards_t::provider_id, awards_t::status))
        .load(conn)?;
    // Three queries however many awards: the check-ins (without photos),
    // then the photos of each award's last one.
    let ids: Vec<i64> = awards.iter().map(|a| a.0).collect();
    let mut by_award: HashMap<i64, (i64, i64, Option<Row>)> = HashMap::new();
    let rows: Vec<Row> = check_ins::table
        .filter(check_ins::award_id.eq_any(&ids))
        .order(check_ins::id.asc())
        .select(Row::as_select())
        .load(conn)?;
    for r in rows {
        let e = by_award.entry(r.award_id).or_default();
        e.0 += 1;
        e.1 += i64::from(r.off_site);
        e.2 = Some(r);
    }
    let lasts: Vec<Row> = by_award.values_mut().filter_map(|e| e.2.take()).collect();
    let mut last_of: HashMap<i64, CheckInView> = views(conn, lasts)?
        .into_iter()
        .map(|v| (v.award_id, v))
        .collect();
    Ok(awards
        .into_iter()
        .map(|(award_id, provider_id, status)| {
            let (total, off, _) = by_award.remove(&award_id).unwrap_or_default();
            let last = last_of.remove(&award_id);
            RosterEntry {
                award_id,
                provider_id,
                award_status: status,
                on_site_now: last.as_ref().is_some_and(|r| r.kind == CheckInKind::In),
                last_check_in: last,
                check_ins: total,
                off_site_check_ins: off,
            }
        })
        .collect())
}
