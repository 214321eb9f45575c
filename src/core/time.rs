//! The one time model of the core: a point on the run's clock, in microseconds since the
//! run started. The core never reads a clock; drivers pass `now` in. In live mode the driver
//! maps `Instant`s onto this scale; in the simulator it is the virtual clock itself.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in run time (microseconds since the start of the run).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// The start of the run.
    pub const ZERO: Time = Time(0);
    /// Later than any deadline a run can reach; used as "no deadline".
    pub const NEVER: Time = Time(u64::MAX);

    pub const fn from_micros(us: u64) -> Self {
        Time(us)
    }
    pub const fn from_millis(ms: u64) -> Self {
        Time(ms * 1000)
    }
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// Milliseconds as a float, the unit every report uses.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// `self - earlier`, or zero if `earlier` is later (never panics on reordered input).
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.as_micros().min(u64::MAX as u128) as u64))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, rhs: Time) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Time::from_millis(5);
        assert_eq!(t + Duration::from_millis(15), Time::from_millis(20));
        assert_eq!(Time::from_millis(3) - t, Duration::ZERO);
        assert_eq!(Time::NEVER + Duration::from_secs(1), Time::NEVER);
        assert_eq!(format!("{:?}", Time::from_micros(1_500_000)), "1.500000s");
    }
}
