//! Exactly-once processing of at-least-once deliveries.
//!
//! Providers deliver webhooks at least once: retries, operator replays, duplicates. An
//! [`Inbox`] remembers which delivery keys were processed. A handler first
//! [claims](Inbox::claim) the key; only the winner processes it, then
//! [completes](Inbox::complete) it, or [releases](Inbox::release) it on failure so the
//! provider's redelivery is processed. A claim is a lease: if the process dies while holding
//! it, the key becomes claimable again when the lease runs out, so nothing is lost. A
//! handler that runs long [renews](Inbox::renew) its lease so that no redelivery runs
//! concurrently with it.
//!
//! # The contract every implementation keeps
//!
//! The in-memory [`MemoryInbox`] and the persistent stores (`compliance-store`) implement
//! exactly these rules; the conformance tests check them against each.
//!
//! A key is in one of three states: *absent* (never seen, released, or purged), *claimed*
//! (by one token, until a lease deadline) or *done* (completed, at a completion time).
//!
//! | call | state before | result | state after |
//! |---|---|---|---|
//! | `claim(k)` | absent | `Acquired(t)` with a new, unique token `t` | claimed by `t` until now + lease |
//! | `claim(k)` | claimed, lease not yet run out | `InProgress` | unchanged |
//! | `claim(k)` | claimed, lease run out | `Acquired(t2)`, a new token (the old one is now stale) | claimed by `t2` until now + lease |
//! | `claim(k)` | done | `AlreadyDone` | unchanged |
//! | `renew(k, t)` | claimed by `t` (lease run out or not) | `Ok` | claimed by `t` until now + lease |
//! | `complete(k, t)` | claimed by `t` (lease run out or not) | `Ok` | done, now |
//! | `complete(k, t)` | done by `t` | `Ok` (a retried completion whose first answer was lost) | unchanged |
//! | `release(k, t)` | claimed by `t` (lease run out or not) | `Ok` | absent |
//! | `renew`/`complete`/`release` with any other token, or on any other state | | `Err(NotHeld)` | unchanged |
//! | `purge(age)` | done for longer than `age` | number of keys removed | absent |
//!
//! In words: a token stays valid until someone else claims the key, even after its lease
//! ran out: a slow handler that finishes before any redelivery arrives still completes.
//! Once another claim took the key over, the old token is refused everywhere, so a stale
//! holder can never mark done what the new holder may still fail.
//!
//! Tokens are unique across every instance sharing the inbox (persistent stores use random
//! 128-bit tokens). "Now" is the inbox's clock: a persistent store shared by several
//! processes uses the database server's clock, so instances with skewed clocks agree.
//! Storage failures are [`InboxError::Storage`]; an implementation never answers `Ok` for a
//! write it cannot confirm happened.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

/// The default lease of a claim: 5 minutes.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// Proof of a successful claim, needed to renew, complete or release it. A stale token (its
/// lease ran out and someone else claimed the key) is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(String);

impl ClaimToken {
    /// Wraps an implementation-defined token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// This caller owns the key and must complete or release it.
    Acquired(ClaimToken),
    /// The key was already processed: acknowledge the delivery, do nothing.
    AlreadyDone,
    /// Another caller is processing the key right now. Not an acknowledgement: answer so
    /// that the provider delivers again later, because that other attempt may still fail.
    InProgress,
}

/// An inbox failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The token does not hold the key (another claim took it over after the lease ran
    /// out, or it was already released).
    #[error("claim on `{key}` is no longer held")]
    NotHeld {
        /// The key.
        key: String,
    },
    /// The inbox holds as many keys as it may; nothing was claimed. Transient for the
    /// provider (answer so that it delivers again), but a sign the capacity or the
    /// retention is set wrong.
    #[error("inbox is full ({capacity} keys held): raise the capacity or shorten the retention")]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
    /// The storage behind the inbox failed; whether the operation happened is unknown.
    #[error("inbox storage failed: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Deduplicates deliveries by key, following the contract in the [module docs](self).
/// Implementations make [`claim`](Inbox::claim) atomic: of concurrent claims of one key,
/// exactly one is [`Claim::Acquired`].
#[async_trait]
pub trait Inbox: Send + Sync {
    /// How long a claim (or a renewal) holds the key. A processor renews well before this.
    fn lease(&self) -> Duration;
    /// Tries to take `key` for processing.
    async fn claim(&self, key: &str) -> Result<Claim, InboxError>;
    /// Extends the lease of the claim `token` holds to now + [`lease`](Inbox::lease).
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError>;
    /// Marks `key` processed; later claims answer [`Claim::AlreadyDone`].
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError>;
    /// Gives `key` back unprocessed; the next claim can acquire it.
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError>;
    /// Forgets keys completed more than `older_than` ago, returning how many. Keep keys
    /// longer than the provider's whole retry schedule, or a late redelivery is processed
    /// again.
    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError>;
}

#[async_trait]
impl<I: Inbox + ?Sized> Inbox for std::sync::Arc<I> {
    fn lease(&self) -> Duration {
        (**self).lease()
    }
    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        (**self).claim(key).await
    }
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        (**self).renew(key, token).await
    }
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        (**self).complete(key, token).await
    }
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        (**self).release(key, token).await
    }
    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        (**self).purge(older_than).await
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Claimed { token: u64, until: Instant },
    Done { token: u64, at: Instant },
}

/// A thread-safe in-memory [`Inbox`] for a single process (and for tests).
///
/// Completed keys are remembered for `retention` (default 7 days; longer than any provider's
/// retry schedule) and then forgotten, so memory stays bounded. Use a persistent
/// implementation when several processes receive the same webhooks.
#[derive(Debug)]
pub struct MemoryInbox {
    slots: Mutex<HashMap<String, Slot>>,
    next: AtomicU64,
    lease: Duration,
    retention: Duration,
}

impl Default for MemoryInbox {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryInbox {
    /// An inbox with a 5-minute lease and 7-day retention.
    pub fn new() -> Self {
        Self::with_lease(DEFAULT_LEASE)
    }

    /// An inbox whose claims expire after `lease`.
    pub fn with_lease(lease: Duration) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            lease,
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Sets how long completed keys are remembered.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// How many keys are currently remembered (claimed or done).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn parse(token: &ClaimToken) -> Option<u64> {
        token.as_str().parse().ok()
    }

    fn deadline(&self, now: Instant) -> Instant {
        now.checked_add(self.lease)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
    }

    fn not_held(key: &str) -> InboxError {
        InboxError::NotHeld {
            key: key.to_owned(),
        }
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    fn lease(&self) -> Duration {
        self.lease
    }

    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        let now = Instant::now();
        let mut slots = self.lock();
        if slots.len() > 1024 {
            let retention = self.retention;
            slots.retain(|_, s| match s {
                Slot::Done { at, .. } => now.duration_since(*at) < retention,
                Slot::Claimed { .. } => true,
            });
        }
        match slots.get(key) {
            Some(Slot::Done { at, .. }) if now.duration_since(*at) < self.retention => {
                return Ok(Claim::AlreadyDone);
            }
            Some(Slot::Claimed { until, .. }) if *until > now => return Ok(Claim::InProgress),
            _ => {}
        }
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        slots.insert(
            key.to_owned(),
            Slot::Claimed {
                token,
                until: self.deadline(now),
            },
        );
        Ok(Claim::Acquired(ClaimToken::new(token.to_string())))
    }

    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let now = Instant::now();
        let deadline = self.deadline(now);
        let mut slots = self.lock();
        match slots.get_mut(key) {
            Some(Slot::Claimed { token: t, until }) if Some(*t) == Self::parse(token) => {
                *until = deadline;
                Ok(())
            }
            _ => Err(Self::not_held(key)),
        }
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let now = Instant::now();
        let mut slots = self.lock();
        let held = Self::parse(token);
        match slots.get_mut(key) {
            Some(slot) => match *slot {
                Slot::Claimed { token: t, .. } if Some(t) == held => {
                    *slot = Slot::Done { token: t, at: now };
                    Ok(())
                }
                Slot::Done { token: t, .. } if Some(t) == held => Ok(()),
                _ => Err(Self::not_held(key)),
            },
            None => Err(Self::not_held(key)),
        }
    }

    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let mut slots = self.lock();
        match slots.get(key) {
            Some(Slot::Claimed { token: t, .. }) if Some(*t) == Self::parse(token) => {
                slots.remove(key);
                Ok(())
            }
            _ => Err(Self::not_held(key)),
        }
    }

    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        let now = Instant::now();
        let mut slots = self.lock();
        let before = slots.len();
        slots.retain(|_, s| match s {
            Slot::Done { at, .. } => now.duration_since(*at) <= older_than,
            Slot::Claimed { .. } => true,
        });
        Ok((before - slots.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn concurrent_claims_exactly_one_wins() {
        let inbox = Arc::new(MemoryInbox::new());
        let winners: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let inbox = inbox.clone();
                    s.spawn(move || block_on(inbox.claim("n-1")).unwrap())
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|c| matches!(c, Claim::Acquired(_)))
                .count()
        });
        assert_eq!(winners, 1);
    }

    #[test]
    fn release_lets_a_later_claim_win_and_complete_is_final() {
        block_on(async {
            let inbox = MemoryInbox::new();
            let Claim::Acquired(t1) = inbox.claim("k").await.unwrap() else {
                panic!()
            };
            assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
            inbox.release("k", &t1).await.unwrap();
            let Claim::Acquired(t2) = inbox.claim("k").await.unwrap() else {
                panic!()
            };
            assert!(
                inbox.complete("k", &t1).await.is_err(),
                "stale token must be refused"
            );
            inbox.complete("k", &t2).await.unwrap();
            assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
        });
    }

    #[test]
    fn expired_lease_can_be_reclaimed() {
        block_on(async {
            let inbox = MemoryInbox::with_lease(Duration::from_millis(1));
            let Claim::Acquired(t1) = inbox.claim("k").await.unwrap() else {
                panic!()
            };
            std::thread::sleep(Duration::from_millis(5));
            assert!(matches!(
                inbox.claim("k").await.unwrap(),
                Claim::Acquired(_)
            ));
            assert!(matches!(
                inbox.complete("k", &t1).await,
                Err(InboxError::NotHeld { .. })
            ));
            assert!(matches!(
                inbox.renew("k", &t1).await,
                Err(InboxError::NotHeld { .. })
            ));
        });
    }

    #[test]
    fn an_expired_token_completes_while_nobody_else_claimed() {
        block_on(async {
            let inbox = MemoryInbox::with_lease(Duration::from_millis(1));
            let Claim::Acquired(t) = inbox.claim("k").await.unwrap() else {
                panic!()
            };
            std::thread::sleep(Duration::from_millis(5));
            inbox.renew("k", &t).await.unwrap();
            inbox.complete("k", &t).await.unwrap();
            // A retried completion (its first answer lost) is still a success.
            inbox.complete("k", &t).await.unwrap();
            assert!(matches!(
                inbox.release("k", &t).await,
                Err(InboxError::NotHeld { .. })
            ));
            assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
        });
    }

    #[test]
    fn renewal_keeps_others_out_and_purge_forgets_done_keys() {
        block_on(async {
            let inbox = MemoryInbox::with_lease(Duration::from_millis(300));
            let Claim::Acquired(t) = inbox.claim("k").await.unwrap() else {
                panic!()
            };
            for _ in 0..4 {
                std::thread::sleep(Duration::from_millis(200));
                inbox.renew("k", &t).await.unwrap();
                assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
            }
            inbox.complete("k", &t).await.unwrap();
            assert_eq!(inbox.purge(Duration::from_secs(60)).await.unwrap(), 0);
            assert_eq!(inbox.purge(Duration::ZERO).await.unwrap(), 1);
            assert!(matches!(
                inbox.claim("k").await.unwrap(),
                Claim::Acquired(_)
            ));
        });
    }
}
