//! Rate-limited logging of refused requests: a flood of forged deliveries costs a few log
//! lines a minute, not one each.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many refusals are logged per window, and the window.
const BURST: u32 = 10;
const WINDOW: Duration = Duration::from_secs(60);

/// Lets through at most `burst` lines per `window`; the first line of the next window
/// reports how many were suppressed.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    burst: u32,
    window: Duration,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

/// The limiter's verdict on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Log it; `suppressed` lines were dropped since the last one logged.
    Log { suppressed: u64 },
    /// Drop it (counted).
    Suppress,
}

impl Default for LogLimiter {
    fn default() -> Self {
        Self::new(BURST, WINDOW)
    }
}

impl LogLimiter {
    pub(crate) fn new(burst: u32, window: Duration) -> Self {
        Self {
            burst,
            window,
            state: Mutex::new(Window {
                started: None,
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    pub(crate) fn admit(&self, now: Instant) -> Admit {
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let expired = w
            .started
            .is_none_or(|started| now.saturating_duration_since(started) >= self.window);
        if expired {
            w.started = Some(now);
            w.logged = 0;
        }
        if w.logged < self.burst {
            w.logged += 1;
            let suppressed = std::mem::take(&mut w.suppressed);
            Admit::Log { suppressed }
        } else {
            w.suppressed += 1;
            Admit::Suppress
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_burst_and_counted() {
        let limiter = LogLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let verdicts: Vec<_> = (0..1_000).map(|_| limiter.admit(t0)).collect();
        let logged = verdicts
            .iter()
            .filter(|v| matches!(v, Admit::Log { .. }))
            .count();
        assert_eq!(logged, 3);
        assert_eq!(limiter.admit(t0 + Duration::from_secs(59)), Admit::Suppress);
        assert_eq!(
            limiter.admit(t0 + Duration::from_secs(60)),
            Admit::Log { suppressed: 998 }
        );
        assert_eq!(
            limiter.admit(t0 + Duration::from_secs(61)),
            Admit::Log { suppressed: 0 }
        );
    }
}
