//! Timestamp freshness, against an injectable [`Clock`].

use std::time::Duration;

use crate::rt::Clock;
use crate::time::Timestamp;

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
/// use compliance_core::rt::ManualClock;
/// use compliance_core::webhook::Freshness;
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
    use crate::rt::ManualClock;
    use crate::time::SignedDuration;

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
