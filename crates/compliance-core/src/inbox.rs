//! Exactly-once processing of at-least-once deliveries.
//!
//! Providers deliver webhooks at least once: retries, operator replays, duplicates. An
//! [`Inbox`] remembers which delivery keys were processed. A handler first
//! [claims](Inbox::claim) the key; only the winner processes it, then
//! [completes](Inbox::complete) it, or [releases](Inbox::release) it on failure so the
//! provider's redelivery is processed. A claim is a lease: if the process dies while holding
//! it, the key becomes claimable again when the lease runs out, so nothing is lost.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

/// Proof of a successful claim, needed to complete or release it. A stale token (its lease
/// ran out and someone else claimed the key) is refused.
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
    /// Another caller is processing the key right now. Answer so that the provider retries
    /// later (or acknowledge, if the provider does not retry).
    InProgress,
}

/// An inbox failure (a database error in a persistent implementation).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The token does not hold the key (its lease ran out and the key was claimed again,
    /// or it was already completed or released).
    #[error("claim on `{key}` is no longer held")]
    NotHeld {
        /// The key.
        key: String,
    },
    /// The storage behind the inbox failed.
    #[error("inbox storage failed: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Deduplicates deliveries by key. Implementations must make [`claim`](Inbox::claim) atomic:
/// of concurrent claims of one key, exactly one is [`Claim::Acquired`].
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Tries to take `key` for processing.
    async fn claim(&self, key: &str) -> Result<Claim, InboxError>;
    /// Marks `key` processed; later claims answer [`Claim::AlreadyDone`].
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError>;
    /// Gives `key` back unprocessed; the next claim can acquire it.
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError>;
}

#[derive(Debug)]
enum Slot {
    Claimed { token: u64, until: Instant },
    Done { at: Instant },
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
        Self::with_lease(Duration::from_secs(300))
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

    fn finish(&self, key: &str, token: &ClaimToken, done: bool) -> Result<(), InboxError> {
        let mut slots = self.lock();
        let now = Instant::now();
        match slots.get(key) {
            Some(Slot::Claimed { token: t, until })
                if Some(*t) == Self::parse(token) && *until > now =>
            {
                if done {
                    slots.insert(key.to_owned(), Slot::Done { at: now });
                } else {
                    slots.remove(key);
                }
                Ok(())
            }
            _ => Err(InboxError::NotHeld {
                key: key.to_owned(),
            }),
        }
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        let now = Instant::now();
        let mut slots = self.lock();
        if slots.len() > 1024 {
            let retention = self.retention;
            slots.retain(|_, s| match s {
                Slot::Done { at } => now.duration_since(*at) < retention,
                Slot::Claimed { .. } => true,
            });
        }
        match slots.get(key) {
            Some(Slot::Done { at }) if now.duration_since(*at) < self.retention => {
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
                until: now + self.lease,
            },
        );
        Ok(Claim::Acquired(ClaimToken::new(token.to_string())))
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.finish(key, token, true)
    }

    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.finish(key, token, false)
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
        });
    }
}
