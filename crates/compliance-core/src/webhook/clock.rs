//! Timestamp freshness with an injectable clock.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use crate::time::{SignedDuration, Timestamp};

/// A source of the current time, injectable so freshness checks can be tested.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that shows a set instant until it is moved: for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    /// Sets the time.
    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Moves the time forward (or back, with a negative duration).
    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        #[expect(
            clippy::expect_used,
            reason = "jiff fails saturating_add only for calendar units, which SignedDuration has none of"
        )]
        let advanced = t
            .saturating_add(by)
            .expect("SignedDuration never fails saturating_add");
        *t = advanced;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why a timestamp failed the freshness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FreshnessError {
    /// Older than the tolerance: a replay or a very late delivery.
    #[error(
        "timestamp is {age:?} old, more than the {tolerance:?} tolerance (replayed or delayed delivery)"
    )]
    Stale {
        /// How old it is.
        age: Duration,
        /// The tolerance.
        tolerance: Duration,
    },
    /// Further in the future than the tolerance: a wrong clock on one side, or forged.
    #[error(
        "timestamp is {ahead:?} in the future, more than the {tolerance:?} tolerance (check both clocks)"
    )]
    Future {
        /// How far ahead it is.
        ahead: Duration,
        /// The tolerance.
        tolerance: Duration,
    },
}

/// Accepts timestamps within `tolerance` of now, in either direction.
///
/// ```
/// use std::time::Duration;
/// use compliance_core::webhook::{Freshness, ManualClock};
/// let clock = ManualClock::new("2025-01-01T12:00:00Z".parse().unwrap());
/// let check = Freshness::new(Duration::from_secs(300));
/// assert!(check.check("2025-01-01T11:56:00Z".parse().unwrap(), &clock).is_ok());
/// assert!(check.check("2025-01-01T11:54:00Z".parse().unwrap(), &clock).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    tolerance: Duration,
}

impl Freshness {
    /// A window of `tolerance` either side of now.
    pub fn new(tolerance: Duration) -> Self {
        Self { tolerance }
    }

    /// The tolerance.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Checks `at` against `clock`.
    pub fn check(&self, at: Timestamp, clock: &dyn Clock) -> Result<(), FreshnessError> {
        let now = clock.now();
        let diff = now.duration_since(at);
        let tolerance = self.tolerance;
        if diff.is_negative() {
            let ahead = diff.unsigned_abs();
            if ahead > tolerance {
                return Err(FreshnessError::Future { ahead, tolerance });
            }
        } else {
            let age = diff.unsigned_abs();
            if age > tolerance {
                return Err(FreshnessError::Stale { age, tolerance });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_both_directions() {
        let clock = ManualClock::new("2025-01-01T12:00:00Z".parse().unwrap());
        let f = Freshness::new(Duration::from_secs(300));
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert!(f.check(at("2025-01-01T12:05:00Z"), &clock).is_ok());
        assert!(matches!(
            f.check(at("2025-01-01T12:05:01Z"), &clock),
            Err(FreshnessError::Future { .. })
        ));
        assert!(matches!(
            f.check(at("2025-01-01T11:54:59Z"), &clock),
            Err(FreshnessError::Stale { .. })
        ));
        clock.advance(SignedDuration::from_secs(-600));
        assert!(f.check(at("2025-01-01T11:54:59Z"), &clock).is_ok());
    }
}
