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
//! | `purge(age)` | done for longer than `age`, or claimed with a lease that ran out more than `age` ago | number of keys removed | absent |
//!
//! In words: a token stays valid until someone else claims the key, even after its lease
//! ran out: a slow handler that finishes before any redelivery arrives still completes.
//! Once another claim took the key over, the old token is refused everywhere, so a stale
//! holder can never mark done what the new holder may still fail.
//!
//! `purge` forgets abandoned claims too (a process that crashed while holding a key whose
//! delivery never came again): without that, such keys would be kept forever. A claim is
//! abandoned once its lease ran out more than `age` ago, which is far longer than any
//! handler the processor keeps alive with renewals.
//!
//! Tokens are unique across every instance sharing the inbox (persistent stores use random
//! 128-bit tokens). "Now" is the inbox's clock: a persistent store shared by several
//! processes uses the database server's clock, so instances with skewed clocks agree.
//! Storage failures are [`InboxError::Storage`]; an implementation never answers `Ok` for a
//! write it cannot confirm happened.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::rt::Clock;
use crate::time::Timestamp;

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
    /// Forgets keys completed more than `older_than` ago, and claims whose lease ran out
    /// more than `older_than` ago (abandoned by a crashed holder), returning how many. Keep
    /// keys longer than the provider's whole retry schedule, or a late redelivery is
    /// processed again.
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

/// How many keys a [`MemoryInbox`] holds at most, unless told otherwise: one million (about
/// 150 MB with 60-byte keys).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// How long a [`MemoryInbox`] remembers completed keys, unless told otherwise: 7 days,
/// longer than any provider's retry schedule.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A point in the inbox's time: the time since the inbox was created.
type Tick = Duration;

#[derive(Debug, Clone, Copy)]
enum Slot {
    Claimed { token: u64, until: Tick },
    Done { token: u64, at: Tick },
}

/// Where a [`MemoryInbox`] reads the time.
#[derive(Debug)]
enum Now {
    /// The monotonic clock: immune to wall-clock steps.
    Monotonic(Instant),
    /// An injected clock, for deterministic tests.
    Clock {
        clock: Arc<dyn Clock>,
        origin: Timestamp,
    },
}

impl Now {
    fn tick(&self) -> Tick {
        match self {
            Now::Monotonic(origin) => origin.elapsed(),
            Now::Clock { clock, origin } => {
                let since = clock.now().duration_since(*origin);
                if since.is_negative() {
                    Duration::ZERO
                } else {
                    since.unsigned_abs()
                }
            }
        }
    }
}

/// One queued key: the key (shared with the map) and the token it had when queued, with the
/// claim's deadline (claims) or the completion time (completions) at that moment.
#[derive(Debug)]
struct Queued {
    key: Arc<str>,
    token: u64,
    tick: Tick,
}

/// The map plus two queues in time order, so that forgetting expired keys costs amortised
/// O(1) per operation instead of a scan of every key.
#[derive(Debug, Default)]
struct State {
    slots: HashMap<Arc<str>, Slot>,
    /// Claims, oldest deadline first. Entries go stale (completed, released, taken over);
    /// stale ones are skipped, and the queue is compacted when they outnumber live claims.
    claims: VecDeque<Queued>,
    /// Completions, oldest first (always in order: completion times only grow).
    done: VecDeque<Queued>,
    /// How many slots are `Claimed`.
    live_claims: usize,
}

impl State {
    /// Forgets completed keys older than `retention`, and claims whose lease ran out more
    /// than `retention` ago. Returns how many keys it removed.
    fn prune(&mut self, now: Tick, retention: Duration) -> u64 {
        self.prune_done(now, retention) + self.prune_claims(now, retention)
    }

    fn prune_done(&mut self, now: Tick, older_than: Duration) -> u64 {
        let mut removed = 0;
        while let Some(front) = self.done.front() {
            // In completion order: once the front is recent enough, so is the rest (and the
            // map, whose entries are cold, is not touched).
            if now.saturating_sub(front.tick) < older_than {
                break;
            }
            match self.slots.get(&front.key) {
                Some(Slot::Done { token, at }) if *token == front.token => {
                    if now.saturating_sub(*at) < older_than {
                        break;
                    }
                    self.slots.remove(&front.key);
                    removed += 1;
                }
                // Purged, or done again under a newer claim (queued again then).
                _ => {}
            }
            self.done.pop_front();
        }
        removed
    }

    fn prune_claims(&mut self, now: Tick, older_than: Duration) -> u64 {
        let mut removed = 0;
        while let Some(front) = self.claims.front() {
            // Not abandoned even by its deadline when queued (renewals only move it later):
            // stop here. Stale entries behind it are dropped by `compact_claims`.
            if now <= front.tick || now - front.tick < older_than {
                break;
            }
            match self.slots.get(&front.key) {
                Some(Slot::Claimed { token, until }) if *token == front.token => {
                    let until = *until;
                    if now.saturating_sub(until) >= older_than && now > until {
                        self.slots.remove(&front.key);
                        self.live_claims -= 1;
                        removed += 1;
                        self.claims.pop_front();
                    } else if until > front.tick {
                        // Renewed since it was queued: queue it again at its new deadline.
                        if let Some(mut entry) = self.claims.pop_front() {
                            entry.tick = until;
                            self.claims.push_back(entry);
                        }
                    } else {
                        break;
                    }
                }
                // Completed, released or taken over: a stale entry.
                _ => {
                    self.claims.pop_front();
                }
            }
        }
        removed
    }

    /// Drops stale claim entries once they outnumber the live ones: amortised O(1), and the
    /// queue never holds more than about twice the live claims.
    fn compact_claims(&mut self) {
        if self.claims.len() <= 2 * self.live_claims + 64 {
            return;
        }
        let slots = &self.slots;
        self.claims.retain(
            |q| matches!(slots.get(&q.key), Some(Slot::Claimed { token, .. }) if *token == q.token),
        );
    }
}

/// A thread-safe in-memory [`Inbox`] for a single process (and for tests).
///
/// Completed keys are remembered for `retention` (default [`DEFAULT_RETENTION`]), claims
/// abandoned by a crashed holder for `retention` after their lease ran out; then they are
/// forgotten. At most `capacity` keys (default [`DEFAULT_CAPACITY`]) are held: a claim of a
/// new key beyond that is refused with [`InboxError::Full`], never by forgetting a key early.
/// Every operation costs amortised O(1), however many keys are held (see the crate README
/// for the benchmark).
///
/// Use a persistent implementation when several processes receive the same webhooks or
/// when duplicates must be caught across restarts.
#[derive(Debug)]
pub struct MemoryInbox {
    state: Mutex<State>,
    next: AtomicU64,
    now: Now,
    lease: Duration,
    retention: Duration,
    capacity: usize,
}

impl Default for MemoryInbox {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryInbox {
    /// An inbox with a 5-minute lease, 7-day retention and room for a million keys.
    pub fn new() -> Self {
        Self::with_lease(DEFAULT_LEASE)
    }

    /// An inbox whose claims expire after `lease`.
    pub fn with_lease(lease: Duration) -> Self {
        Self {
            state: Mutex::new(State::default()),
            next: AtomicU64::new(1),
            now: Now::Monotonic(Instant::now()),
            lease,
            retention: DEFAULT_RETENTION,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// Sets how long completed keys are remembered.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Sets how many keys (claimed or done) the inbox holds at most.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Reads the time from `clock` instead of the monotonic clock: for deterministic tests
    /// with a [`ManualClock`](crate::rt::ManualClock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        let origin = clock.now();
        self.now = Now::Clock { clock, origin };
        self
    }

    /// How many keys are currently remembered (claimed or done).
    pub fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the state after forgetting what expired by `now`.
    fn pruned(&self, now: Tick) -> std::sync::MutexGuard<'_, State> {
        let mut state = self.lock();
        state.prune(now, self.retention);
        state
    }

    fn parse(token: &ClaimToken) -> Option<u64> {
        token.as_str().parse().ok()
    }

    fn deadline(&self, now: Tick) -> Tick {
        now.saturating_add(self.lease)
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
        let now = self.now.tick();
        let until = self.deadline(now);
        let mut state = self.pruned(now);
        let shared: Arc<str> = match state.slots.get_key_value(key) {
            Some((_, Slot::Done { at, .. })) if now.saturating_sub(*at) < self.retention => {
                return Ok(Claim::AlreadyDone);
            }
            Some((_, Slot::Claimed { until, .. })) if *until > now => {
                return Ok(Claim::InProgress);
            }
            Some((shared, slot)) => {
                let (shared, was_claimed) = (shared.clone(), matches!(slot, Slot::Claimed { .. }));
                if was_claimed {
                    // Taken over: the old claim's queue entry goes stale.
                    state.live_claims -= 1;
                }
                shared
            }
            None => {
                if state.slots.len() >= self.capacity {
                    return Err(InboxError::Full {
                        capacity: self.capacity,
                    });
                }
                Arc::from(key)
            }
        };
        let token = self.next.fetch_add(1, Ordering::Relaxed);
        state
            .slots
            .insert(shared.clone(), Slot::Claimed { token, until });
        state.live_claims += 1;
        state.claims.push_back(Queued {
            key: shared,
            token,
            tick: until,
        });
        state.compact_claims();
        Ok(Claim::Acquired(ClaimToken::new(token.to_string())))
    }

    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let now = self.now.tick();
        let deadline = self.deadline(now);
        let mut state = self.pruned(now);
        match state.slots.get_mut(key) {
            Some(Slot::Claimed { token: t, until }) if Some(*t) == Self::parse(token) => {
                *until = deadline;
                Ok(())
            }
            _ => Err(Self::not_held(key)),
        }
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let now = self.now.tick();
        let held = Self::parse(token);
        let mut state = self.pruned(now);
        let State {
            slots,
            done,
            live_claims,
            ..
        } = &mut *state;
        match slots.get_key_value(key) {
            Some((shared, Slot::Claimed { token: t, .. })) if Some(*t) == held => {
                let (shared, t) = (shared.clone(), *t);
                slots.insert(shared.clone(), Slot::Done { token: t, at: now });
                *live_claims -= 1;
                done.push_back(Queued {
                    key: shared,
                    token: t,
                    tick: now,
                });
                Ok(())
            }
            Some((_, Slot::Done { token: t, .. })) if Some(*t) == held => Ok(()),
            _ => Err(Self::not_held(key)),
        }
    }

    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let now = self.now.tick();
        let mut state = self.pruned(now);
        match state.slots.get(key) {
            Some(Slot::Claimed { token: t, .. }) if Some(*t) == Self::parse(token) => {
                state.slots.remove(key);
                state.live_claims -= 1;
                Ok(())
            }
            _ => Err(Self::not_held(key)),
        }
    }

    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        let now = self.now.tick();
        let mut state = self.pruned(now);
        // `purge(age)` removes what is strictly older than `age`.
        let older_than = older_than.saturating_add(Duration::from_nanos(1));
        Ok(state.prune_done(now, older_than) + state.prune_claims(now, older_than))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::ManualClock;
    use crate::time::SignedDuration;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// An inbox on a manual clock, and the clock.
    fn manual(lease_secs: u64) -> (MemoryInbox, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
        let inbox = MemoryInbox::with_lease(Duration::from_secs(lease_secs)).clock(clock.clone());
        (inbox, clock)
    }

    fn advance(clock: &ManualClock, secs: i64) {
        clock.advance(SignedDuration::from_secs(secs));
    }

    async fn acquire(inbox: &MemoryInbox, key: &str) -> ClaimToken {
        match inbox.claim(key).await.unwrap() {
            Claim::Acquired(token) => token,
            other => panic!("{key}: {other:?}"),
        }
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
            let t1 = acquire(&inbox, "k").await;
            assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
            inbox.release("k", &t1).await.unwrap();
            let t2 = acquire(&inbox, "k").await;
            assert!(
                matches!(
                    inbox.complete("k", &t1).await,
                    Err(InboxError::NotHeld { .. })
                ),
                "stale token must be refused"
            );
            inbox.complete("k", &t2).await.unwrap();
            assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
        });
    }

    #[test]
    fn expired_lease_can_be_reclaimed_and_the_old_token_is_refused() {
        block_on(async {
            let (inbox, clock) = manual(10);
            let t1 = acquire(&inbox, "k").await;
            advance(&clock, 9);
            assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
            advance(&clock, 1);
            let t2 = acquire(&inbox, "k").await;
            assert_ne!(t1, t2);
            for result in [
                inbox.complete("k", &t1).await,
                inbox.renew("k", &t1).await,
                inbox.release("k", &t1).await,
            ] {
                assert!(matches!(result, Err(InboxError::NotHeld { .. })));
            }
            inbox.complete("k", &t2).await.unwrap();
            assert_eq!(inbox.len(), 1);
        });
    }

    #[test]
    fn an_expired_token_completes_while_nobody_else_claimed() {
        block_on(async {
            let (inbox, clock) = manual(10);
            let t = acquire(&inbox, "k").await;
            advance(&clock, 60);
            inbox.renew("k", &t).await.unwrap();
            advance(&clock, 60);
            inbox.complete("k", &t).await.unwrap();
            // A retried completion (its first answer lost) is still a success.
            inbox.complete("k", &t).await.unwrap();
            assert!(matches!(
                inbox.release("k", &t).await,
                Err(InboxError::NotHeld { .. })
            ));
            assert!(matches!(
                inbox.renew("k", &t).await,
                Err(InboxError::NotHeld { .. })
            ));
            assert_eq!(inbox.claim("k").await.unwrap(), Claim::AlreadyDone);
        });
    }

    #[test]
    fn renewal_keeps_others_out() {
        block_on(async {
            let (inbox, clock) = manual(30);
            let t = acquire(&inbox, "k").await;
            for _ in 0..10 {
                advance(&clock, 20);
                inbox.renew("k", &t).await.unwrap();
                assert_eq!(inbox.claim("k").await.unwrap(), Claim::InProgress);
            }
            advance(&clock, 31);
            assert!(matches!(
                inbox.claim("k").await.unwrap(),
                Claim::Acquired(_)
            ));
        });
    }

    #[test]
    fn purge_forgets_old_completions_and_abandoned_claims_only() {
        block_on(async {
            let (inbox, clock) = manual(10);
            let done = acquire(&inbox, "done").await;
            inbox.complete("done", &done).await.unwrap();
            let _abandoned = acquire(&inbox, "abandoned").await;
            advance(&clock, 50);
            let live = acquire(&inbox, "live").await;
            let recent = acquire(&inbox, "recent").await;
            inbox.complete("recent", &recent).await.unwrap();
            assert_eq!(inbox.purge(Duration::from_secs(60)).await.unwrap(), 0);
            // `done` finished 50 s ago; `abandoned`'s lease ran out 40 s ago.
            assert_eq!(inbox.purge(Duration::from_secs(45)).await.unwrap(), 1);
            assert_eq!(inbox.purge(Duration::from_secs(30)).await.unwrap(), 1);
            assert_eq!(inbox.len(), 2);
            assert!(matches!(
                inbox.claim("done").await.unwrap(),
                Claim::Acquired(_)
            ));
            // Neither a live claim nor a recent completion is ever purged early.
            assert_eq!(inbox.purge(Duration::ZERO).await.unwrap(), 0);
            inbox.renew("live", &live).await.unwrap();
            assert_eq!(inbox.claim("recent").await.unwrap(), Claim::AlreadyDone);
            advance(&clock, 1);
            assert_eq!(inbox.purge(Duration::ZERO).await.unwrap(), 1);
        });
    }

    #[test]
    fn completed_keys_and_abandoned_claims_are_forgotten_after_the_retention() {
        block_on(async {
            let (inbox, clock) = manual(10);
            let inbox = inbox.retention(Duration::from_secs(100));
            let t = acquire(&inbox, "a").await;
            inbox.complete("a", &t).await.unwrap();
            let _crashed = acquire(&inbox, "b").await;
            advance(&clock, 99);
            assert_eq!(inbox.claim("a").await.unwrap(), Claim::AlreadyDone);
            assert_eq!(inbox.len(), 2);
            advance(&clock, 1);
            // Any operation prunes: `a` is forgotten; `b`'s lease ran out only 90 s ago.
            let c = acquire(&inbox, "c").await;
            assert_eq!(inbox.len(), 2);
            advance(&clock, 10);
            inbox.renew("c", &c).await.unwrap();
            assert_eq!(inbox.len(), 1, "the abandoned claim is evicted");
            assert!(matches!(
                inbox.claim("a").await.unwrap(),
                Claim::Acquired(_)
            ));
        });
    }

    #[test]
    fn a_full_inbox_refuses_new_keys_and_never_forgets_early() {
        block_on(async {
            let (inbox, clock) = manual(10);
            let inbox = inbox.capacity(3).retention(Duration::from_secs(100));
            for key in ["a", "b", "c"] {
                let t = acquire(&inbox, key).await;
                inbox.complete(key, &t).await.unwrap();
            }
            let err = inbox.claim("d").await.unwrap_err();
            assert!(matches!(err, InboxError::Full { capacity: 3 }), "{err}");
            assert!(err.to_string().contains("capacity"), "{err}");
            // Known keys still answer.
            assert_eq!(inbox.claim("a").await.unwrap(), Claim::AlreadyDone);
            advance(&clock, 100);
            acquire(&inbox, "d").await;
            assert_eq!(inbox.len(), 1);
        });
    }

    #[test]
    fn the_claim_queue_stays_proportional_to_live_claims() {
        block_on(async {
            let (inbox, clock) = manual(10);
            // A claim held (and renewed) for the whole run sits at the front of the queue.
            let held = acquire(&inbox, "held").await;
            for i in 0..10_000 {
                let key = format!("k{i}");
                let t = acquire(&inbox, &key).await;
                if i % 2 == 0 {
                    inbox.release(&key, &t).await.unwrap();
                } else {
                    inbox.complete(&key, &t).await.unwrap();
                }
                if i % 100 == 0 {
                    advance(&clock, 1);
                    inbox.renew("held", &held).await.unwrap();
                }
            }
            let state = inbox.lock();
            assert_eq!(state.live_claims, 1);
            assert!(
                state.claims.len() <= 2 * state.live_claims + 65,
                "{}",
                state.claims.len()
            );
            assert_eq!(state.slots.len(), 5_001);
            assert_eq!(state.done.len(), 5_000);
        });
    }
}
