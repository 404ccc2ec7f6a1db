//! Keeping a claim while the handler runs, and giving it back whatever happens: the lease
//! heartbeat, the drop guard and panic capture, on the core's [`Runtime`].

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use super::BoxError;
use crate::inbox::{ClaimToken, Inbox, InboxError};
use crate::rt::{BoxFuture, Runtime};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What becomes of a held claim when its delivery ends, in the foreground or in the drop
/// guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settle {
    /// Given back: nothing was done (the handler did not run, failed, or was stopped).
    Release,
    /// Marked done: the handler succeeded, so the key must never be processed again.
    Complete,
}

/// One claim a delivery holds, and what to do with it.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) key: String,
    pub(crate) token: ClaimToken,
    pub(crate) settle: Settle,
}

/// How many times a completion is attempted before giving up (the key then stays claimed
/// until its lease runs out).
const COMPLETE_ATTEMPTS: u32 = 3;

/// Settles one claim: a release once, a completion with up to [`COMPLETE_ATTEMPTS`]
/// attempts and a short back-off between them. The error of the last attempt, if any.
pub(crate) async fn settle(
    inbox: &dyn Inbox,
    runtime: &dyn Runtime,
    held: &Held,
) -> Result<(), InboxError> {
    let (key, token) = (held.key.as_str(), &held.token);
    match held.settle {
        Settle::Release => inbox.release(key, token).await,
        Settle::Complete => {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match inbox.complete(key, token).await {
                    Ok(()) => return Ok(()),
                    Err(e @ InboxError::NotHeld { .. }) => return Err(e),
                    Err(e) if attempt >= COMPLETE_ATTEMPTS => return Err(e),
                    Err(_) => runtime.sleep(Duration::from_millis(50 << attempt)).await,
                }
            }
        }
    }
}

/// Claims left over by a dropped delivery when no background task could be spawned; the
/// processor settles them (completing what succeeded) at its next delivery.
#[derive(Debug, Default)]
pub(crate) struct Orphans(Mutex<Vec<Held>>);

impl Orphans {
    fn push(&self, claims: Vec<Held>) {
        lock(&self.0).extend(claims);
    }

    /// Settles every orphaned claim (best effort: a failure is logged and left to the
    /// lease).
    pub(crate) async fn settle_all(&self, inbox: &dyn Inbox, runtime: &dyn Runtime) {
        let orphans = std::mem::take(&mut *lock(&self.0));
        for held in orphans {
            if let Err(e) = settle(inbox, runtime, &held).await {
                log_settle_failure(&held, &e);
            }
        }
    }
}

/// The claims a delivery holds. Dropped while still holding them (the processing future
/// was dropped: client gone, timeout, shutdown), it settles them in the background: a
/// claim whose handler already succeeded is completed, never released, so its redelivery
/// is a duplicate; any other is released, so the redelivery is processed without waiting
/// for the lease to run out.
pub(crate) struct ClaimGuard {
    inbox: Arc<dyn Inbox>,
    runtime: Arc<dyn Runtime>,
    orphans: Arc<Orphans>,
    held: Vec<Held>,
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

    /// Guards `key`, to be released unless told otherwise.
    pub(crate) fn hold(&mut self, key: String, token: ClaimToken) {
        self.held.push(Held {
            key,
            token,
            settle: Settle::Release,
        });
    }

    /// The keys and tokens held.
    pub(crate) fn claims(&self) -> Vec<(String, ClaimToken)> {
        self.held
            .iter()
            .map(|h| (h.key.clone(), h.token.clone()))
            .collect()
    }

    /// From now on, `key` is settled with `settle` if the delivery is dropped.
    pub(crate) fn settle_with(&mut self, key: &str, settle: Settle) {
        if let Some(held) = self.held.iter_mut().find(|h| h.key == key) {
            held.settle = settle;
        }
    }

    /// Settles `key` now, as set with [`settle_with`](Self::settle_with), and stops
    /// guarding it once that is over (dropped midway, the guard finishes it). `Ok` too when
    /// the key was not held.
    pub(crate) async fn settle(&mut self, key: &str) -> Result<(), InboxError> {
        let Some(held) = self.held.iter().find(|h| h.key == key).cloned() else {
            return Ok(());
        };
        let result = settle(self.inbox.as_ref(), self.runtime.as_ref(), &held).await;
        self.held.retain(|h| h.key != key);
        result
    }

    /// Releases every held claim now, logging failures (the lease then frees the key).
    pub(crate) async fn release_all(&mut self) {
        for held in &mut self.held {
            held.settle = Settle::Release;
        }
        while let Some(held) = self.held.first().cloned() {
            if let Err(e) = self.settle(&held.key).await {
                log_settle_failure(&held, &e);
            }
        }
    }
}

fn log_settle_failure(held: &Held, error: &InboxError) {
    match (held.settle, error) {
        (Settle::Release, InboxError::NotHeld { .. }) => {}
        (Settle::Release, _) => tracing::error!(
            key = %held.key,
            error = %error,
            "could not release a claim; the redelivery waits for the lease to run out"
        ),
        (Settle::Complete, _) => tracing::error!(
            key = %held.key,
            error = %error,
            "handler succeeded but the inbox could not mark the key done; a redelivery after \
             the lease runs out may run it again"
        ),
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        if held.iter().any(|h| h.settle == Settle::Complete) {
            tracing::warn!(
                key = %held[0].key,
                "webhook processing was dropped after its handler succeeded; completing its claim"
            );
        } else {
            tracing::warn!(
                key = %held[0].key,
                "webhook processing was dropped before it finished; releasing its claim"
            );
        }
        let (inbox, runtime) = (self.inbox.clone(), self.runtime.clone());
        let to_settle = held.clone();
        let spawned = self.runtime.spawn(Box::pin(async move {
            for held in to_settle {
                if let Err(e) = settle(inbox.as_ref(), runtime.as_ref(), &held).await {
                    log_settle_failure(&held, &e);
                }
            }
        }));
        if !spawned {
            self.orphans.push(held);
        }
    }
}

/// Why the heartbeat stopped trusting the claims.
#[derive(Debug)]
pub(crate) enum LeaseEnd {
    /// A renewal was refused: another delivery took this key over.
    Taken(String),
    /// No renewal succeeded for a whole lease (less a margin): the inbox may already let
    /// another delivery take the keys, so the handler must not go on.
    Expired,
}

/// The part of a lease the local deadline keeps in hand: a tenth. The inbox measures the
/// lease from the moment it ran the claim or renewal; the local deadline counts from the
/// moment before it was sent, so it always ends first, and the margin covers clock rates
/// and the time it takes to stop the handler.
pub(crate) fn local_lease(lease: Duration) -> Duration {
    lease.saturating_sub(lease / 10)
}

/// Renews every claim in `held` each `interval`, until one of them is lost or no renewal
/// succeeded before the local deadline `expiry` (started just before the claims were
/// made, lasting [`local_lease`]). Each successful round of renewals moves the deadline to
/// [`local_lease`] after it started. A renewal that fails with a storage error is logged
/// and tried again at the next beat; one that does not answer within `interval` is
/// abandoned and tried again the same way. So a storage that stays down (or a connection
/// that hangs) stops the handler before another instance can take its key over.
pub(crate) async fn heartbeat(
    inbox: Arc<dyn Inbox>,
    runtime: Arc<dyn Runtime>,
    held: Vec<(String, ClaimToken)>,
    interval: Duration,
    mut expiry: BoxFuture<()>,
) -> LeaseEnd {
    let lease = local_lease(inbox.lease());
    loop {
        if until(runtime.sleep(interval), expiry.as_mut())
            .await
            .is_err()
        {
            return LeaseEnd::Expired;
        }
        // Started before the renewals are sent: they hold from a moment after this.
        let renewed_expiry = runtime.sleep(lease);
        let mut all_renewed = true;
        for (key, token) in &held {
            let renewal = until(inbox.renew(key, token), runtime.sleep(interval));
            match until(renewal, expiry.as_mut()).await {
                Err(()) => return LeaseEnd::Expired,
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(InboxError::NotHeld { .. }))) => return LeaseEnd::Taken(key.clone()),
                Ok(Ok(Err(e))) => {
                    all_renewed = false;
                    tracing::warn!(
                        key = %key,
                        error = %e,
                        "could not renew a claim; retrying at the next heartbeat"
                    );
                }
                Ok(Err(())) => {
                    all_renewed = false;
                    tracing::warn!(
                        key = %key,
                        timeout = ?interval,
                        "a claim's renewal did not answer in time; retrying at the next heartbeat"
                    );
                }
            }
        }
        if all_renewed {
            expiry = renewed_expiry;
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
    Box::new(Panicked(message))
}

/// A handler's panic, as the error it becomes (told apart from a returned error by the
/// metrics' `panic` outcome).
#[derive(Debug, thiserror::Error)]
#[error("handler panicked: {0}")]
pub(crate) struct Panicked(String);

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
