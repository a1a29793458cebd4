//! Six months without login reclaims an account (ACC-9, SA §2.6), with
//! warnings 14 and 7 days before. Months are calendar months in China time.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::accounts::UserStatus;
use crate::auth::sessions;
use crate::notifications::{Notice, notify};
use crate::platform::clock::{add_china_months, china_time, sub_china_months};
use crate::platform::db::DbConnection;
use crate::platform::db::schema::{sessions as sessions_t, users};
use crate::platform::error::AppResult;
use crate::platform::state::AppState;
use crate::users::models::{WARNED_7_DAYS, WARNED_14_DAYS};

pub const INACTIVE_MONTHS: u32 = 6;

/// The instant an account that last logged in at `last_login` is reclaimed.
pub fn reclaim_at(last_login: NaiveDateTime) -> NaiveDateTime {
    add_china_months(last_login, INACTIVE_MONTHS)
}

/// What one account needs now.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    Nothing,
    Warn(i32),
    Reclaim,
}

/// Decides what is due for an account at `now` (pure: unit-tested).
pub fn due(last_login: NaiveDateTime, warned: i32, now: NaiveDateTime) -> Due {
    let deadline = reclaim_at(last_login);
    if now >= deadline {
        Due::Reclaim
    } else if now >= deadline - Duration::days(7) && warned < WARNED_7_DAYS {
        Due::Warn(WARNED_7_DAYS)
    } else if now >= deadline - Duration::days(14) && warned < WARNED_14_DAYS {
        Due::Warn(WARNED_14_DAYS)
    } else {
        Due::Nothing
    }
}

/// Accounts that may need a warning or reclamation (a loose SQL bound;
/// [`due`] decides exactly).
pub fn candidates(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> AppResult<Vec<(i64, NaiveDateTime, i32)>> {
    // Everyone due a warning or reclamation logged in before this (three
    // days of slack for month-end clamping); few others are read.
    let bound = sub_china_months(now + Duration::days(17), INACTIVE_MONTHS);
    let used_since = sessions_t::table
        .filter(sessions_t::user_id.eq(users::id))
        .filter(sessions_t::last_seen_at.gt(bound));
    let rows: Vec<(i64, Option<NaiveDateTime>, i32)> = users::table
        .filter(users::status.eq(UserStatus::Active))
        .filter(users::role.eq(crate::auth::accounts::Role::User))
        .filter(users::last_login_at.le(bound))
        // ACC-9: any authenticated use counts, not only password logins.
        .filter(diesel::dsl::not(diesel::dsl::exists(used_since)))
        .select((users::id, users::last_login_at, users::inactivity_warned))
        .order(users::id.asc())
        .limit(1000)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, last, warned)| last.map(|l| (id, l, warned)))
        .collect())
}

/// Applies what is due to one account. Every step is a conditional update
/// on the state that was read, so two servers running this at once do it
/// once: the loser's update matches no row and it sends nothing.
pub fn process(
    conn: &mut DbConnection,
    st: &AppState,
    (user_id, last_login, warned): (i64, NaiveDateTime, i32),
) -> AppResult<Option<Due>> {
    let now = st.clock.now_naive();
    // ACC-9: the last use of any session counts as much as a login.
    let used = sessions::last_activity(conn, user_id)?;
    let last_active = used.map_or(last_login, |u| u.max(last_login));
    match due(last_active, warned, now) {
        Due::Nothing => Ok(None),
        Due::Warn(level) => {
            if !crate::users::account_state::mark_warned(conn, user_id, last_login, warned, level)?
            {
                return Ok(None);
            }
            let days = if level == WARNED_7_DAYS { 7 } else { 14 };
            let deadline = reclaim_at(last_active);
            notify(
                conn,
                st,
                user_id,
                Notice {
                    kind: "account.inactivity_warning",
                    title: "账户即将因长期未登录被回收",
                    body: format!(
                        "您已近六个月未登录。如在 {} 前仍未登录，账户将被回收（约 {days} 天后）。登录一次即可保留账户。",
                        china_time(deadline)
                    ),
                    link: None,
                },
            )?;
            Ok(Some(Due::Warn(level)))
        }
        Due::Reclaim => {
            if !crate::users::account_state::reclaim(conn, now, user_id, last_login, warned)? {
                return Ok(None);
            }
            sessions::revoke_all(conn, user_id, None, now, "account_reclaimed")?;
            notify(
                conn,
                st,
                user_id,
                Notice {
                    kind: "account.reclaimed",
                    title: "账户已被回收",
                    body: "您的账户连续六个月未登录，已按平台服务协议第二条被回收，服务终止。"
                        .into(),
                    link: None,
                },
            )?;
            Ok(Some(Due::Reclaim))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::models::WARNED_NONE;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn acc9_six_calendar_months_in_china_time() {
        // 2026-05-31 20:00 UTC is 2026-06-01 04:00 in China: + 6 months is
        // 2026-12-01 04:00 China = 2026-11-30 20:00 UTC.
        assert_eq!(reclaim_at(at(2026, 5, 31, 20)), at(2026, 11, 30, 20));
        // Month ends clamp: 2026-08-31 10:00 China + 6 months = 2027-02-28.
        assert_eq!(reclaim_at(at(2026, 8, 31, 2)), at(2027, 2, 28, 2));
    }

    #[test]
    fn acc9_warnings_then_reclamation() {
        let login = at(2026, 1, 10, 0);
        let deadline = reclaim_at(login);
        assert_eq!(
            due(login, WARNED_NONE, deadline - Duration::days(15)),
            Due::Nothing
        );
        assert_eq!(
            due(login, WARNED_NONE, deadline - Duration::days(14)),
            Due::Warn(WARNED_14_DAYS)
        );
        assert_eq!(
            due(login, WARNED_14_DAYS, deadline - Duration::days(10)),
            Due::Nothing
        );
        assert_eq!(
            due(login, WARNED_14_DAYS, deadline - Duration::days(7)),
            Due::Warn(WARNED_7_DAYS)
        );
        // A jump straight into the last week sends only the 7-day warning.
        assert_eq!(
            due(login, WARNED_NONE, deadline - Duration::days(3)),
            Due::Warn(WARNED_7_DAYS)
        );
        assert_eq!(
            due(login, WARNED_7_DAYS, deadline - Duration::seconds(1)),
            Due::Nothing
        );
        assert_eq!(due(login, WARNED_7_DAYS, deadline), Due::Reclaim);
    }
}
