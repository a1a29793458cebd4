//! The source of "now" for every rule that counts time.
//!
//! Services never call `Utc::now()` directly: they ask the clock in
//! [`crate::platform::state::AppState`], so tests can move time (deadlines, six-month
//! inactivity, observation periods) instead of sleeping.
//!
//! The China calendar lives here too: every rule that counts calendar days,
//! months or working days counts them in China time (UTC+8, no daylight
//! saving), and every deadline shown to a person is shown in China time.

use std::sync::Mutex;

use chrono::{
    DateTime, Datelike, Duration, DurationRound, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeDelta, Utc, Weekday,
};

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// The current instant, truncated to microseconds (the precision both
    /// databases keep), so a stored time reads back equal.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant as the naive UTC value stored in the database.
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        to_micros(Utc::now())
    }
}

/// A clock that follows the wall clock plus an offset the owner can move
/// forward; used by tests and never by the server binary.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: Mutex<Duration>,
}

impl ShiftedClock {
    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        to_micros(Utc::now() + offset)
    }
}

/// China's offset from UTC (no daylight saving).
fn china_offset() -> Duration {
    Duration::hours(8)
}

/// The date in China at the UTC instant `t`; it decides ages and calendar days.
pub fn china_today(t: NaiveDateTime) -> NaiveDate {
    (t + china_offset()).date()
}

/// 24:00 China time at the end of `day`, as UTC.
pub fn china_midnight_after(day: NaiveDate) -> NaiveDateTime {
    (day + Duration::days(1)).and_time(NaiveTime::MIN) - china_offset()
}

/// The instant a period of `days` China calendar days counted from the day
/// after `from` ends: 24:00 China time of the last day (the starting day is
/// not counted, as Chinese law counts periods), as UTC.
pub fn china_days_deadline(from: NaiveDateTime, days: i64) -> NaiveDateTime {
    china_midnight_after(china_today(from) + Duration::days(days))
}

/// China's official working calendar: Monday–Friday, less the listed
/// public holidays, plus the listed make-up working days (调休, weekend days
/// worked in exchange for a longer holiday).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    pub holidays: Vec<NaiveDate>,
    pub workdays: Vec<NaiveDate>,
}

impl WorkCalendar {
    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.workdays.contains(&day) {
            return true;
        }
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        !weekend && !self.holidays.contains(&day)
    }

    /// The end of the `n`th working day (China time) after the day of `from`.
    pub fn deadline(&self, from: NaiveDateTime, n: i64) -> NaiveDateTime {
        let mut day = china_today(from);
        let mut counted = 0;
        while counted < n {
            day += Duration::days(1);
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        china_midnight_after(day)
    }
}

/// `t` plus `months` calendar months counted in China time (a month-end
/// day clamps to the shorter month's end).
pub fn add_china_months(t: NaiveDateTime, months: u32) -> NaiveDateTime {
    (t + china_offset())
        .checked_add_months(Months::new(months))
        .map_or(t, |c| c - china_offset())
}

/// `t` minus `months` calendar months counted in China time.
pub fn sub_china_months(t: NaiveDateTime, months: u32) -> NaiveDateTime {
    (t + china_offset())
        .checked_sub_months(Months::new(months))
        .map_or(t, |c| c - china_offset())
}

/// An instant as shown in notices: China time to the minute.
pub fn china_time(t: NaiveDateTime) -> String {
    (t + china_offset())
        .format("%Y-%m-%d %H:%M（北京时间）")
        .to_string()
}

/// A deadline at 24:00 China time as shown in notices: the last minute of
/// its day (`… 23:59`), so the date named is the last day to act.
pub fn china_deadline(t: NaiveDateTime) -> String {
    china_time(t - Duration::minutes(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_clock_moves_forward() {
        let clock = ShiftedClock::default();
        let before = clock.now();
        clock.advance(Duration::days(183));
        assert!(clock.now() - before >= Duration::days(183));
    }

    #[test]
    fn now_has_microsecond_precision() {
        let t = SystemClock.now();
        assert_eq!(t.timestamp_subsec_nanos() % 1000, 0);
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn dep2_three_china_calendar_days_end_at_china_midnight() {
        // 2026-11-21 15:00 UTC is 23:00 China on the 21st: days 22, 23, 24.
        assert_eq!(
            china_days_deadline(at("2026-11-21 15:00:00"), 3),
            at("2026-11-24 16:00:00")
        );
        // 2026-11-21 17:00 UTC is already the 22nd in China: days 23, 24, 25.
        assert_eq!(
            china_days_deadline(at("2026-11-21 17:00:00"), 3),
            at("2026-11-25 16:00:00")
        );
    }

    #[test]
    fn dep7_working_days_skip_weekends_and_holidays() {
        // Thursday 2026-12-31 (China): Fri 1 Jan is a holiday, then the
        // weekend; Mon 4, Tue 5, Wed 6 are the three working days.
        let calendar = WorkCalendar {
            holidays: vec![NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()],
            workdays: vec![],
        };
        assert_eq!(
            calendar.deadline(at("2026-12-31 04:00:00"), 3),
            at("2027-01-06 16:00:00")
        );
        // Without the holiday: Fri, Mon, Tue.
        assert_eq!(
            WorkCalendar::default().deadline(at("2026-12-31 04:00:00"), 3),
            at("2027-01-05 16:00:00")
        );
    }

    #[test]
    fn dep7_make_up_working_days_count() {
        // Sunday 2027-01-03 is a listed make-up working day (调休): from
        // Thursday 2026-12-31 with Friday a holiday, Sun 3, Mon 4, Tue 5.
        let calendar = WorkCalendar {
            holidays: vec![NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()],
            workdays: vec![NaiveDate::from_ymd_opt(2027, 1, 3).unwrap()],
        };
        assert_eq!(
            calendar.deadline(at("2026-12-31 04:00:00"), 3),
            at("2027-01-05 16:00:00")
        );
    }
}
