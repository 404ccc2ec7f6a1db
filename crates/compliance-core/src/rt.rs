//! What the core asks of time and of the async runtime, in one place: a [`Clock`] (what time
//! it is) and a [`Runtime`] (sleep, and spawn in the background).
//!
//! Every part of the core that waits, spawns or reads the time goes through them: the HTTP
//! transport's back-off ([`TransportBuilder::runtime`](crate::http::TransportBuilder::runtime)),
//! the [`TokenCache`](crate::http::TokenCache)'s background renewal, the webhook processor's
//! lease heartbeat and drop guard
//! ([`ProcessorBuilder::runtime`](crate::webhook::ProcessorBuilder::runtime)), the
//! [`MemoryInbox`](crate::MemoryInbox)'s leases and the webhook [`Freshness`] check
//! (`Clock`).
//!
//! Under Tokio the defaults are right ([`SystemClock`], [`TokioRuntime`]). Tests take the
//! manual pair instead: a [`ManualClock`] that moves only when told, and a [`ManualRuntime`]
//! whose sleeps end when that clock passes them, so leases and heartbeats are tested without
//! waiting and without timing assumptions.
//!
//! [`Freshness`]: crate::webhook::Freshness

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::time::{SignedDuration, Timestamp};

/// A boxed, sendable future: what a [`Runtime`] sleeps and spawns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A source of the current (wall-clock) time, injectable so what depends on it can be tested.
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
        *lock(&self.0) = at;
    }

    /// Moves the time forward (or back, with a negative duration), stopping at the ends of
    /// the representable range.
    pub fn advance(&self, by: SignedDuration) {
        let mut t = lock(&self.0);
        let limit = if by.is_negative() {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        };
        *t = t.saturating_add(by).unwrap_or(limit);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *lock(&self.0)
    }
}

/// What the core needs from the async runtime: a timer, and a way to run a task in the
/// background (a credential renewal that outlives the call waiting for it, a webhook claim
/// released after its delivery was dropped).
///
/// [`TokioRuntime`] (feature `tokio`, on in every provider crate by default) is the one you
/// want under Tokio; implement it for another executor, or use [`ManualRuntime`] in tests.
pub trait Runtime: Send + Sync + fmt::Debug {
    /// Completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<()>;
    /// Runs `task` in the background. `false` if it cannot (no runtime running): the task
    /// is dropped unpolled, and the caller falls back (the webhook processor settles the
    /// claim at its next delivery; a token renewal fails with a configuration error).
    fn spawn(&self, task: BoxFuture<()>) -> bool;
}

/// [`Runtime`] on Tokio: `tokio::time::sleep`, and spawning on the current runtime. The
/// runtime must have its timer enabled (`enable_time()` or `enable_all()`; `#[tokio::main]`
/// does).
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioRuntime;

#[cfg(feature = "tokio")]
impl Runtime for TokioRuntime {
    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn spawn(&self, task: BoxFuture<()>) -> bool {
        spawn_on_tokio(task)
    }
}

#[cfg(feature = "tokio")]
fn spawn_on_tokio(task: BoxFuture<()>) -> bool {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(task);
            true
        }
        Err(_) => false,
    }
}

/// A [`Runtime`] whose time moves only when told, sharing a [`ManualClock`] with what reads
/// the time (`MemoryInbox::clock`): tests of leases and heartbeats without waiting and
/// without timing assumptions. Spawns on the current Tokio runtime when there is one.
#[derive(Debug, Clone)]
pub struct ManualRuntime {
    clock: Arc<ManualClock>,
    sleepers: Arc<Mutex<Vec<Waker>>>,
}

impl ManualRuntime {
    /// A runtime reading and moving `clock`.
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            clock,
            sleepers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.clock
    }

    /// How many sleeps are waiting to be woken (a test waits for the heartbeat to be
    /// asleep again before it moves the time on).
    pub fn sleeping(&self) -> usize {
        lock(&self.sleepers).len()
    }

    /// Moves the time forward by `by` and wakes every sleeper that is now due.
    pub fn advance(&self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        self.clock.advance(by);
        let sleepers = std::mem::take(&mut *lock(&self.sleepers));
        for waker in sleepers {
            waker.wake();
        }
    }
}

impl Runtime for ManualRuntime {
    fn sleep(&self, duration: Duration) -> BoxFuture<()> {
        let deadline = self
            .clock
            .now()
            .saturating_add(SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
        Box::pin(ManualSleep {
            clock: self.clock.clone(),
            sleepers: self.sleepers.clone(),
            deadline,
        })
    }

    fn spawn(&self, task: BoxFuture<()>) -> bool {
        #[cfg(feature = "tokio")]
        {
            spawn_on_tokio(task)
        }
        #[cfg(not(feature = "tokio"))]
        {
            drop(task);
            false
        }
    }
}

/// A [`ManualRuntime`]'s sleep: ready once its clock reaches `deadline`.
struct ManualSleep {
    clock: Arc<ManualClock>,
    sleepers: Arc<Mutex<Vec<Waker>>>,
    deadline: Timestamp,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut sleepers = lock(&self.sleepers);
        if self.clock.now() >= self.deadline {
            return Poll::Ready(());
        }
        sleepers.push(cx.waker().clone());
        Poll::Pending
    }
}

/// Locks `m`, taking the value over from a thread that panicked while holding it (every
/// value here is valid after any single assignment).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_saturates() {
        let clock = ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap());
        let start = clock.now();
        clock.advance(SignedDuration::from_secs(90));
        assert_eq!(
            clock.now().duration_since(start),
            SignedDuration::from_secs(90)
        );
        clock.advance(SignedDuration::MAX);
        assert_eq!(clock.now(), Timestamp::MAX);
        clock.advance(SignedDuration::MIN);
        clock.advance(SignedDuration::MIN);
        assert_eq!(clock.now(), Timestamp::MIN);
    }
}
