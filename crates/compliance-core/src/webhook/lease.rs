//! Keeping a claim while the handler runs, and giving it back whatever happens: the lease
//! heartbeat, the drop guard, panic capture, and the small runtime they need.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::BoxError;
use super::clock::{Clock, ManualClock};
use crate::inbox::{ClaimToken, Inbox, InboxError};
use crate::time::{SignedDuration, Timestamp};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the processor needs from the async runtime: a timer for the lease heartbeat, and a
/// way to release a claim in the background when a handler future is dropped.
///
/// [`TokioRuntime`] (feature `tokio`, on in every provider crate by default) is the one you
/// want under Tokio; implement it for another executor, or use [`ManualRuntime`] in tests.
pub trait Runtime: Send + Sync + fmt::Debug {
    /// Completes after `duration`.
    fn sleep(&self, duration: Duration) -> BoxFuture<()>;
    /// Runs `task` in the background. `false` if it cannot (no runtime running); the
    /// processor then releases the claim at its next delivery instead.
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

/// A [`Runtime`] whose time moves only when told, sharing a [`ManualClock`] with the inbox
/// (`MemoryInbox::clock`): tests of leases and heartbeats without waiting and without
/// timing assumptions. Spawns on the current Tokio runtime when there is one.
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Claims whose release could not be spawned when their guard was dropped; the processor
/// releases them at its next delivery.
#[derive(Debug, Default)]
pub(crate) struct Orphans(Mutex<Vec<(String, ClaimToken)>>);

impl Orphans {
    fn push(&self, claims: Vec<(String, ClaimToken)>) {
        lock(&self.0).extend(claims);
    }

    /// Releases every orphaned claim (best effort: a failure leaves it to the lease).
    pub(crate) async fn release_all(&self, inbox: &dyn Inbox) {
        let orphans = std::mem::take(&mut *lock(&self.0));
        for (key, token) in orphans {
            let _ = inbox.release(&key, &token).await;
        }
    }
}

/// The claims a delivery holds. Dropped while still holding them (the processing future
/// was dropped: client gone, timeout, shutdown), it releases them in the background, so
/// the next delivery is processed without waiting for the lease to run out.
pub(crate) struct ClaimGuard {
    inbox: Arc<dyn Inbox>,
    runtime: Arc<dyn Runtime>,
    orphans: Arc<Orphans>,
    held: Vec<(String, ClaimToken)>,
}

impl ClaimGuard {
    pub(crate) fn new(
        inbox: Arc<dyn Inbox>,
        runtime: Arc<dyn Runtime>,
        orphans: Arc<Orphans>,
    ) -> Self {
        Self {
            inbox,
            runtime,
            orphans,
            held: Vec::with_capacity(2),
        }
    }

    pub(crate) fn hold(&mut self, key: String, token: ClaimToken) {
        self.held.push((key, token));
    }

    pub(crate) fn held(&self) -> &[(String, ClaimToken)] {
        &self.held
    }

    /// Stops guarding `key` (it was completed or released by the caller).
    pub(crate) fn forget(&mut self, key: &str) {
        self.held.retain(|(k, _)| k != key);
    }

    /// The token held for `key`.
    pub(crate) fn token(&self, key: &str) -> Option<&ClaimToken> {
        self.held.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// Releases every held claim now, logging failures (the lease then frees the key).
    pub(crate) async fn release_all(&mut self) {
        for (key, token) in std::mem::take(&mut self.held) {
            if let Err(e) = self.inbox.release(&key, &token).await {
                log_release_failure(&key, &e);
            }
        }
    }
}

fn log_release_failure(key: &str, error: &InboxError) {
    if !matches!(error, InboxError::NotHeld { .. }) {
        tracing::error!(
            key = %key,
            error = %error,
            "could not release a claim; the redelivery waits for the lease to run out"
        );
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        tracing::warn!(
            key = %held[0].0,
            "webhook processing was dropped before it finished; releasing its claim"
        );
        let inbox = self.inbox.clone();
        let to_release = held.clone();
        let spawned = self.runtime.spawn(Box::pin(async move {
            for (key, token) in to_release {
                if let Err(e) = inbox.release(&key, &token).await {
                    log_release_failure(&key, &e);
                }
            }
        }));
        if !spawned {
            self.orphans.push(held);
        }
    }
}

/// Renews every claim in `held` each `interval` until one of them is lost, and returns
/// that key. Storage failures are logged and retried at the next beat: while the storage is
/// down, nobody else can claim the key either.
pub(crate) async fn heartbeat(
    inbox: Arc<dyn Inbox>,
    runtime: Arc<dyn Runtime>,
    held: Vec<(String, ClaimToken)>,
    interval: Duration,
) -> String {
    loop {
        runtime.sleep(interval).await;
        for (key, token) in &held {
            match inbox.renew(key, token).await {
                Ok(()) => {}
                Err(InboxError::NotHeld { .. }) => return key.clone(),
                Err(e) => tracing::warn!(
                    key = %key,
                    error = %e,
                    "could not renew a claim; retrying at the next heartbeat"
                ),
            }
        }
    }
}

/// Runs `future` to completion or until `stop` completes first (then `Err` with its
/// output, and `future` is dropped).
pub(crate) async fn until<T, S>(
    future: impl Future<Output = T>,
    stop: impl Future<Output = S>,
) -> Result<T, S> {
    let mut future = std::pin::pin!(future);
    let mut stop = std::pin::pin!(stop);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(value));
        }
        if let Poll::Ready(value) = stop.as_mut().poll(cx) {
            return Poll::Ready(Err(value));
        }
        Poll::Pending
    })
    .await
}

/// Runs a handler call, turning a panic (while building or polling its future) into an
/// error, so that the claim is released and the provider's redelivery runs it again.
pub(crate) async fn catch_panic<'a>(
    make: impl FnOnce() -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>,
) -> Result<(), BoxError> {
    let future = std::panic::catch_unwind(AssertUnwindSafe(make)).map_err(panic_error)?;
    CatchUnwind(future).await.map_err(panic_error)?
}

fn panic_error(payload: Box<dyn Any + Send>) -> BoxError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    format!("handler panicked: {message}").into()
}

/// Polls a boxed future, catching a panic in any poll.
struct CatchUnwind<'a, T>(Pin<Box<dyn Future<Output = T> + Send + 'a>>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
