//! The source of "now" for every rule that counts time.
//!
//! Services never call `Utc::now()` directly: they ask the clock in
//! [`crate::state::AppState`], so tests can move time (deadlines, six-month
//! inactivity, observation periods) instead of sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, TimeDelta, Utc};

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
}
