use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::auth::CredentialSet;

/// When and how often to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries). Default 3.
    pub max_attempts: u32,
    /// Back-off base: attempt *n* waits a random time in `[0, base × 2ⁿ⁻¹]`. Default 250 ms.
    pub base_delay: Duration,
    /// Upper bound of one back-off sleep. Default 10 s.
    pub max_delay: Duration,
    /// Upper bound applied to a provider's `Retry-After`. Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the number of attempts (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the back-off base and cap.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// Sets the cap on `Retry-After`.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The sleep before attempt `next_attempt` (2 for the first retry): the provider's
    /// `Retry-After` when given (clamped), otherwise full-jitter exponential back-off.
    pub fn delay(&self, next_attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_retry_after);
        }
        let exp = next_attempt.saturating_sub(2).min(20);
        let ceiling = self.base_delay.saturating_mul(1 << exp).min(self.max_delay);
        // `mul_f64` panics when rounding pushes a huge ceiling past `Duration::MAX`.
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fastrand::f64()).unwrap_or(ceiling)
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (relative to `now`; a date in
/// the past is zero).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What one attempt came to, as far as the [`RetryStrategy`] is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// An answer worth another try (408, 429, 5xx that the auth lets retry), not classified
    /// yet, with the provider's `Retry-After`.
    Transient { retry_after: Option<Duration> },
    /// No answer: the attempt failed (connect, timeout, body); `retryable` when another try
    /// could help.
    Failed { retryable: bool },
    /// The auth classified the answer as signed with expired `credentials`; `certain` when the
    /// provider refused them before acting on the request.
    Expired {
        credentials: CredentialSet,
        certain: bool,
    },
    /// The auth classified the answer as final (accepted or rejected).
    Final,
}

/// What the [`RetryStrategy`] decided after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Try again after a back-off of `delay`.
    Retry { delay: Duration, reason: Reason },
    /// Send the request again at once, with fresh `credentials`: the ones it was signed with
    /// expired. Not counted as an attempt of the retry policy.
    Replay { credentials: CredentialSet },
    /// This attempt's outcome is the call's.
    Stop(Reason),
}

/// The reason of a [`Decision`], for the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The provider answered with a status worth another try.
    TransientAnswer,
    /// The attempt failed in a way another try may not meet again.
    TransientFailure,
    /// The answer is final.
    Answered,
    /// The failure is not one another try helps with.
    NotRetryable,
    /// The request was not declared repeatable.
    NotRepeatable,
    /// Every attempt of the policy was used.
    NoAttemptsLeft,
    /// The back-off would end after the call's deadline.
    PastDeadline,
    /// The expired credentials were already replayed for once (or the answer named none).
    AlreadyReplayed,
}

impl Reason {
    /// The `compliance.retry.reason` label of a retry for this reason.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reason::TransientAnswer => "transient_answer",
            Reason::TransientFailure => "transient_failure",
            _ => "other",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::TransientAnswer => "transient answer",
            Reason::TransientFailure => "transient failure",
            Reason::Answered => "answered",
            Reason::NotRetryable => "not retryable",
            Reason::NotRepeatable => "request not repeatable",
            Reason::NoAttemptsLeft => "no attempts left",
            Reason::PastDeadline => "back-off would pass the deadline",
            Reason::AlreadyReplayed => "credentials already replayed",
        })
    }
}

/// One call's retry decisions: whether, and after which back-off, an attempt's outcome is
/// tried again, under the [`RetryPolicy`], the request's repeatability and the call's
/// deadline; and the once-per-credential replay after an expiry. It decides only: the
/// transport sleeps and sends.
#[derive(Debug)]
pub(crate) struct RetryStrategy<'a> {
    policy: &'a RetryPolicy,
    repeatable: bool,
    deadline: Instant,
    /// Attempts counted against the policy so far (a replay is not one).
    tries: u32,
    /// Credentials a replay was already spent on.
    replayed: CredentialSet,
}

impl<'a> RetryStrategy<'a> {
    /// The strategy of a call to a `repeatable` (or not) request that must end by
    /// `deadline`, before its first attempt.
    pub(crate) fn new(policy: &'a RetryPolicy, repeatable: bool, deadline: Instant) -> Self {
        Self {
            policy,
            repeatable,
            deadline,
            tries: 1,
            replayed: CredentialSet::NONE,
        }
    }

    /// The decision after an attempt that came to `signal`, at `now`. Only a decision to go
    /// on changes the strategy: asking again after a stop is harmless.
    pub(crate) fn decide(&mut self, signal: Signal, now: Instant) -> Decision {
        match signal {
            Signal::Final => Decision::Stop(Reason::Answered),
            Signal::Transient { retry_after } => {
                self.back_off(now, retry_after, Reason::TransientAnswer)
            }
            Signal::Failed { retryable: false } => Decision::Stop(Reason::NotRetryable),
            Signal::Failed { retryable: true } => {
                self.back_off(now, None, Reason::TransientFailure)
            }
            Signal::Expired {
                credentials,
                certain,
            } => {
                if credentials.is_empty() || self.replayed.contains(credentials) {
                    Decision::Stop(Reason::AlreadyReplayed)
                } else if !(certain || self.repeatable) {
                    Decision::Stop(Reason::NotRepeatable)
                } else {
                    self.replayed = self.replayed.union(credentials);
                    Decision::Replay { credentials }
                }
            }
        }
    }

    /// Another try after the policy's back-off (or `retry_after`), if the policy has one
    /// left and it ends before the deadline.
    fn back_off(
        &mut self,
        now: Instant,
        retry_after: Option<Duration>,
        reason: Reason,
    ) -> Decision {
        if !self.repeatable {
            return Decision::Stop(Reason::NotRepeatable);
        }
        if self.tries >= self.policy.max_attempts {
            return Decision::Stop(Reason::NoAttemptsLeft);
        }
        let delay = self.policy.delay(self.tries + 1, retry_after);
        if now.checked_add(delay).is_none_or(|at| at >= self.deadline) {
            return Decision::Stop(Reason::PastDeadline);
        }
        self.tries += 1;
        Decision::Retry { delay, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    /// A strategy for `policy` with a deadline a minute away, and the time it starts.
    fn strategy(policy: &RetryPolicy, repeatable: bool) -> (RetryStrategy<'_>, Instant) {
        let now = Instant::now();
        (
            RetryStrategy::new(policy, repeatable, now + Duration::from_secs(60)),
            now,
        )
    }

    fn no_backoff(attempts: u32) -> RetryPolicy {
        RetryPolicy::default()
            .max_attempts(attempts)
            .backoff(Duration::ZERO, Duration::ZERO)
    }

    #[test]
    fn the_strategy_retries_transient_outcomes_until_the_attempts_run_out() {
        let policy = no_backoff(3);
        let (mut s, now) = strategy(&policy, true);
        let transient = Signal::Transient { retry_after: None };
        let failed = Signal::Failed { retryable: true };
        for signal in [transient, failed] {
            assert!(matches!(s.decide(signal, now), Decision::Retry { .. }));
        }
        assert_eq!(
            s.decide(transient, now),
            Decision::Stop(Reason::NoAttemptsLeft)
        );
        assert_eq!(
            s.decide(Signal::Final, now),
            Decision::Stop(Reason::Answered)
        );
        assert_eq!(
            s.decide(Signal::Failed { retryable: false }, now),
            Decision::Stop(Reason::NotRetryable)
        );
    }

    #[test]
    fn the_strategy_never_retries_what_is_not_repeatable_nor_past_the_deadline() {
        let policy = no_backoff(3);
        let (mut s, now) = strategy(&policy, false);
        let transient = Signal::Transient { retry_after: None };
        assert_eq!(
            s.decide(transient, now),
            Decision::Stop(Reason::NotRepeatable)
        );
        let (mut s, now) = strategy(&policy, true);
        let late = Signal::Transient {
            retry_after: Some(Duration::from_secs(59)),
        };
        assert!(matches!(s.decide(late, now), Decision::Retry { .. }));
        let later = now + Duration::from_secs(2);
        assert_eq!(s.decide(late, later), Decision::Stop(Reason::PastDeadline));
    }

    #[test]
    fn the_strategy_replays_once_per_credential_without_spending_an_attempt() {
        let policy = no_backoff(2);
        let (mut s, now) = strategy(&policy, false);
        let expired = |slot, certain| Signal::Expired {
            credentials: CredentialSet::slot(slot),
            certain,
        };
        assert_eq!(
            s.decide(expired(0, false), now),
            Decision::Stop(Reason::NotRepeatable),
            "an uncertain expiry replays only repeatable requests"
        );
        assert!(matches!(
            s.decide(expired(0, true), now),
            Decision::Replay { .. }
        ));
        assert!(matches!(
            s.decide(expired(1, true), now),
            Decision::Replay { .. }
        ));
        assert_eq!(
            s.decide(expired(0, true), now),
            Decision::Stop(Reason::AlreadyReplayed)
        );
        let none = Signal::Expired {
            credentials: CredentialSet::NONE,
            certain: true,
        };
        assert_eq!(s.decide(none, now), Decision::Stop(Reason::AlreadyReplayed));

        let (mut s, now) = strategy(&policy, true);
        assert!(matches!(
            s.decide(expired(0, true), now),
            Decision::Replay { .. }
        ));
        let transient = Signal::Transient { retry_after: None };
        assert!(
            matches!(s.decide(transient, now), Decision::Retry { .. }),
            "the replay was not one of the two attempts"
        );
        assert_eq!(
            s.decide(transient, now),
            Decision::Stop(Reason::NoAttemptsLeft)
        );
    }

    #[test]
    fn backoff_is_bounded_full_jitter_and_retry_after_is_clamped() {
        let p = RetryPolicy::default();
        for attempt in 2..12 {
            let d = p.delay(attempt, None);
            let ceiling = p
                .base_delay
                .saturating_mul(1 << (attempt - 2))
                .min(p.max_delay);
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(3600))),
            p.max_retry_after
        );
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        let huge = RetryPolicy::default().backoff(Duration::MAX, Duration::MAX);
        for attempt in 2..30 {
            let _ = huge.delay(attempt, None);
        }
    }
}
