//! Leases and retention ages as SQL values: whole microseconds, clamped so that "now + lease"
//! and "now − age" stay inside every database's timestamp range.

use std::time::Duration;

/// The longest lease or age passed to a database: 100 years. Longer ones mean "forever" and
/// behave the same.
const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `d` in microseconds, rounded up (a lease of 1 ns still holds the key for an instant),
/// clamped to 100 years.
pub(crate) fn micros(d: Duration) -> i64 {
    let d = d.min(MAX);
    let whole = d.as_micros() as i64;
    if d.subsec_nanos().is_multiple_of(1000) {
        whole
    } else {
        whole + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_and_clamps() {
        assert_eq!(micros(Duration::ZERO), 0);
        assert_eq!(micros(Duration::from_nanos(1)), 1);
        assert_eq!(micros(Duration::from_millis(20)), 20_000);
        assert_eq!(micros(Duration::MAX), micros(MAX));
        assert!(micros(Duration::MAX) > 0);
    }
}
