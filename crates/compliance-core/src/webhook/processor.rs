//! The one exactly-once pipeline: claim → handler (with heartbeat and panic capture) →
//! complete, or release.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument;

use super::BoxError;
use super::lease::{
    ClaimGuard, LeaseEnd, Orphans, Panicked, Settle, catch_panic, heartbeat, local_lease, until,
};
use super::observe;
use super::outcome::{Outcome, ProcessError};
use super::queue::{Enqueued, NewDelivery, Queue, StoredRequest};
use super::verifier::{RequestInfo, Stage, Verified, Verifier};
use crate::inbox::{Claim, ClaimToken, Inbox, MemoryInbox};
use crate::metrics::{Stopwatch, WebhookMetrics};
use crate::rt::Runtime;

/// Your code that acts on a verified event.
///
/// It runs at most once to success per deduplication key (as long as the inbox works). An
/// error or a panic releases the key, so the provider's next delivery runs the handler
/// again: return an error only when nothing was done, or when doing it again is harmless.
/// The handler may also be stopped at any `.await` (the delivery's future was dropped, or
/// its claim was lost or could not be renewed for a whole lease); the key is then released
/// the same way. Once it returned `Ok`, its key is only ever completed, even when the
/// delivery's future is dropped while that is under way.
///
/// For a closure use [`handler_fn`].
#[async_trait]
pub trait Handler<E>: Send + Sync {
    /// Acts on one event.
    async fn handle(&self, event: E) -> Result<(), BoxError>;
}

#[async_trait]
impl<E: Send + 'static, H: Handler<E> + ?Sized> Handler<E> for Arc<H> {
    async fn handle(&self, event: E) -> Result<(), BoxError> {
        (**self).handle(event).await
    }
}

#[async_trait]
impl<E: Send + 'static, H: Handler<E> + ?Sized> Handler<E> for Box<H> {
    async fn handle(&self, event: E) -> Result<(), BoxError> {
        (**self).handle(event).await
    }
}

/// A [`Handler`] made from an async closure; see [`handler_fn`].
#[derive(Clone)]
pub struct HandlerFn<F>(F);

impl<F> fmt::Debug for HandlerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandlerFn")
    }
}

/// Makes a [`Handler`] from `|event| async { ... Ok::<_, E>(()) }`.
///
/// ```
/// use compliance_core::webhook::{BoxError, handler_fn};
/// let handler = handler_fn(|event: String| async move {
///     println!("handling {event}");
///     Ok::<_, BoxError>(())
/// });
/// ```
pub fn handler_fn<F>(f: F) -> HandlerFn<F> {
    HandlerFn(f)
}

#[async_trait]
impl<E, F, Fut, Er> Handler<E> for HandlerFn<F>
where
    E: Send + 'static,
    F: Fn(E) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), Er>> + Send,
    Er: Into<BoxError>,
{
    async fn handle(&self, event: E) -> Result<(), BoxError> {
        (self.0)(event).await.map_err(Into::into)
    }
}

struct Inner<V: Verifier> {
    verifier: V,
    inbox: Arc<dyn Inbox>,
    handler: Option<Box<dyn Handler<V::Event>>>,
    queue: Option<Arc<dyn Queue>>,
    runtime: Arc<dyn Runtime>,
    orphans: Arc<Orphans>,
    metrics: WebhookMetrics,
}

/// Turns a provider's at-least-once deliveries into exactly-once calls of your
/// [`Handler`], for any [`Verifier`] and any [`Inbox`].
///
/// For each delivery: verify → claim the key in the inbox → run the handler (its claim
/// renewed by a heartbeat every third of the lease, a panic caught) → mark the key done.
/// A failure, a panic or a dropped future releases the claim, so the provider's redelivery
/// is processed; a duplicate is acknowledged without running the handler. The module docs
/// hold the [outcome → HTTP status table](super#the-outcome--status-table).
///
/// Cheap to clone (an `Arc` inside); build it once and share it.
pub struct Processor<V: Verifier> {
    inner: Arc<Inner<V>>,
}

impl<V: Verifier> Clone for Processor<V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<V: Verifier> fmt::Debug for Processor<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
            .field("verifier", &std::any::type_name::<V>())
            .field("lease", &self.inner.inbox.lease())
            .field("runtime", &self.inner.runtime)
            .finish_non_exhaustive()
    }
}

impl<V: Verifier> Processor<V> {
    /// Starts building a processor around `verifier`.
    pub fn builder(verifier: V) -> ProcessorBuilder<V> {
        ProcessorBuilder {
            verifier,
            inbox: None,
            handler: None,
            queue: None,
            runtime: None,
        }
    }

    /// The verifier.
    pub fn verifier(&self) -> &V {
        &self.inner.verifier
    }

    /// The inbox.
    pub fn inbox(&self) -> &Arc<dyn Inbox> {
        &self.inner.inbox
    }

    /// Its webhook metrics (the receiver counts its own refusals there).
    #[cfg(feature = "axum")]
    pub(super) fn metrics(&self) -> &WebhookMetrics {
        &self.inner.metrics
    }

    /// The durable queue, when this processor is a durable intake
    /// ([`ProcessorBuilder::queue`]).
    pub fn queue(&self) -> Option<&Arc<dyn Queue>> {
        self.inner.queue.as_ref()
    }

    /// Runs the verifier's header check alone. Receivers call it before reading the body.
    pub fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), V::Error> {
        self.inner.verifier.authenticate(request)
    }

    /// Processes one delivery: [authenticate](Self::authenticate), then as
    /// [`process_authenticated`](Self::process_authenticated).
    pub async fn process(
        &self,
        request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Outcome, ProcessError<V::Error>> {
        self.authenticate(request)
            .map_err(|e| observe::rejected(&self.inner.metrics, e))?;
        self.process_authenticated(request, body).await
    }

    /// Verifies and processes a delivery whose headers were already checked with
    /// [`authenticate`](Self::authenticate), or that comes from a source authenticated
    /// another way (a message broker: pass [`RequestInfo::empty`]). A durable intake
    /// ([`ProcessorBuilder::queue`]) stores it instead ([`enqueue`](Self::enqueue)).
    pub async fn process_authenticated(
        &self,
        request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Outcome, ProcessError<V::Error>> {
        let verified = self
            .inner
            .verifier
            .verify_delivery(request, body)
            .map_err(|e| observe::rejected(&self.inner.metrics, e))?;
        if self.inner.queue.is_some() {
            let body = bytes::Bytes::copy_from_slice(body);
            return self.enqueue(request, body, verified).await;
        }
        self.process_verified(verified).await
    }

    /// Whether a handler was given (a [`Worker`](super::Worker) needs one).
    #[cfg(feature = "tokio")]
    pub(crate) fn has_handler(&self) -> bool {
        self.inner.handler.is_some()
    }

    /// Durable intake of a verified delivery: stores the verifier's
    /// [`KEPT_HEADERS`](Verifier::KEPT_HEADERS) and `body` (as received) in the queue, and
    /// answers only once the write is durable: [`Outcome::Queued`], or
    /// [`Outcome::Duplicate`] when the key is already there (no second row), or
    /// [`Outcome::Ignored`] for an authentic event nobody handles (kept as `ignored` with
    /// its bytes). A queue that fails or is full is [`ProcessError::Inbox`] (503): nothing
    /// is acknowledged. Without a queue, processes it inline
    /// ([`process_verified`](Self::process_verified)).
    pub async fn enqueue(
        &self,
        request: &RequestInfo<'_>,
        body: bytes::Bytes,
        verified: Verified<V::Event>,
    ) -> Result<Outcome, ProcessError<V::Error>> {
        let Some(queue) = &self.inner.queue else {
            return self.process_verified(verified).await;
        };
        let stored = StoredRequest::keep(V::KEPT_HEADERS, request.headers(), body);
        let (delivery, ignored) = match verified {
            Verified::Event { key, sequence, .. } => (
                NewDelivery::new(key, stored).in_sequence(sequence.map(|(s, _)| s)),
                None,
            ),
            Verified::Ignored { key, reason } => (
                NewDelivery::new(key, stored).ignored(reason.clone()),
                Some(reason),
            ),
        };
        let key = delivery.key.clone();
        let span = observe::delivery_span::<V>(&key);
        let result = async {
            match queue.enqueue(delivery).await {
                Ok(Enqueued::Added) => Ok(match ignored {
                    Some(reason) => {
                        tracing::warn!(key = %key, reason = %reason, "kept an authentic webhook as ignored");
                        Outcome::Ignored { key, reason }
                    }
                    None => Outcome::Queued { key },
                }),
                Ok(Enqueued::Duplicate(_)) => Ok(Outcome::Duplicate { key }),
                Err(source) => {
                    tracing::error!(key = %key, error = %source, "could not store a webhook delivery; answering 503, nothing acknowledged");
                    Err(ProcessError::Inbox { key, source })
                }
            }
        }
        .instrument(span.clone())
        .await;
        observe::stored::<V>(&self.inner.metrics, &span, &result);
        result
    }

    /// Deduplicates and handles an already verified delivery.
    pub async fn process_verified(
        &self,
        verified: Verified<V::Event>,
    ) -> Result<Outcome, ProcessError<V::Error>> {
        let span = observe::delivery_span::<V>(verified.key());
        let result = self.settle(verified).instrument(span.clone()).await;
        observe::delivered::<V>(&self.inner.metrics, &span, &result);
        result
    }

    async fn settle(
        &self,
        verified: Verified<V::Event>,
    ) -> Result<Outcome, ProcessError<V::Error>> {
        let inner = &*self.inner;
        inner
            .orphans
            .settle_all(inner.inbox.as_ref(), inner.runtime.as_ref())
            .await;
        let (key, event, sequence) = match verified {
            Verified::Event {
                key,
                event,
                sequence,
            } => (key, event, sequence),
            Verified::Ignored { key, reason } => {
                tracing::warn!(key = %key, reason = %reason, "acknowledging a webhook without processing it");
                return Ok(Outcome::Ignored { key, reason });
            }
        };

        // The local deadline of the claims about to be made starts before they are sent.
        let expiry = inner.runtime.sleep(local_lease(inner.inbox.lease()));
        let token = match self.claim(&key).await? {
            Ok(token) => token,
            Err(Outcome::Duplicate { key }) => return self.duplicate(key, sequence).await,
            Err(outcome) => return Ok(outcome),
        };
        let mut guard = ClaimGuard::new(
            inner.inbox.clone(),
            inner.runtime.clone(),
            inner.orphans.clone(),
        );
        guard.hold(key.clone(), token);

        // A sequence (a payment's statuses) is processed one event at a time, under the
        // claim of its marker key; a done marker means its final event was processed.
        let mut marker = None;
        if let Some((sequence, stage)) = sequence {
            let marker_key = final_marker(&sequence);
            match inner.inbox.claim(&marker_key).await {
                Ok(Claim::Acquired(token)) => {
                    guard.hold(marker_key.clone(), token);
                    marker = Some((marker_key, stage));
                }
                Ok(Claim::AlreadyDone) if stage == Stage::Provisional => {
                    guard.settle_with(&key, Settle::Complete);
                    if let Err(source) = guard.settle(&key).await {
                        tracing::error!(key = %key, error = %source, "could not record a superseded state; it frees when its lease runs out");
                    }
                    tracing::info!(key = %key, sequence = %sequence, "acknowledging an intermediate state that arrived after the final one");
                    return Ok(Outcome::Superseded { key });
                }
                // Another final state after a final one: processed, in the order it came.
                Ok(Claim::AlreadyDone) => {}
                Ok(_) => {
                    guard.release_all().await;
                    return Ok(Outcome::InProgress { key });
                }
                Err(source) => {
                    guard.release_all().await;
                    return Err(ProcessError::Inbox { key, source });
                }
            }
        }

        match self.run(&guard, event, expiry).await {
            Ok(()) => {}
            Err(Stopped::Failed(source)) => {
                guard.release_all().await;
                tracing::warn!(key = %key, error = %source, "webhook handler failed; released for redelivery");
                return Err(ProcessError::Handler { key, source });
            }
            Err(Stopped::LeaseLost(LeaseEnd::Taken(lost))) => {
                guard.release_all().await;
                tracing::error!(key = %key, lost = %lost, "a claim was taken over while the handler ran; stopped it");
                return Err(ProcessError::LeaseLost { key });
            }
            Err(Stopped::LeaseLost(LeaseEnd::Expired)) => {
                guard.release_all().await;
                tracing::error!(key = %key, lease = ?inner.inbox.lease(), "no renewal of the claim succeeded for a whole lease; stopped the handler before another delivery could take the key over");
                return Err(ProcessError::LeaseLost { key });
            }
        }

        // The handler succeeded: from here on, whatever happens (even this future being
        // dropped), the key is completed, never released, so it never runs twice. The
        // marker of a final state is completed too; an intermediate state gives it back.
        guard.settle_with(&key, Settle::Complete);
        if let Some((marker_key, stage)) = &marker
            && *stage == Stage::Final
        {
            guard.settle_with(marker_key, Settle::Complete);
        }
        let mut unrecorded = None;
        if let Some((marker_key, stage)) = marker
            && let Err(source) = guard.settle(&marker_key).await
        {
            if stage == Stage::Final {
                unrecorded = Some(source);
            } else {
                tracing::warn!(key = %marker_key, error = %source, "could not release a sequence marker; it frees when its lease runs out");
            }
        }
        if let Err(source) = guard.settle(&key).await {
            tracing::error!(
                key = %key,
                error = %source,
                "handler succeeded but the inbox could not mark the key done; a redelivery after the lease runs out may run it again"
            );
        }
        if let Some(source) = unrecorded {
            // Unrecorded, a late intermediate state could overwrite this final one once the
            // marker's lease runs out: have the provider deliver it again. The key itself
            // is done, so the redelivery does not run the handler; it records the marker.
            tracing::error!(key = %key, error = %source, "handler succeeded but its final state could not be recorded; asking for redelivery to record it");
            return Err(ProcessError::FinalStateUnrecorded { key, source });
        }
        Ok(Outcome::Processed { key })
    }

    /// A delivery whose key is already done. For the final state of a sequence, makes sure
    /// the final marker is recorded too (recording it may have failed when the event was
    /// processed): until it is, the answer asks for another delivery.
    async fn duplicate(
        &self,
        key: String,
        sequence: Option<(String, Stage)>,
    ) -> Result<Outcome, ProcessError<V::Error>> {
        let Some((sequence, Stage::Final)) = sequence else {
            return Ok(Outcome::Duplicate { key });
        };
        let inner = &*self.inner;
        let marker_key = final_marker(&sequence);
        match inner.inbox.claim(&marker_key).await {
            Ok(Claim::Acquired(token)) => {
                let mut guard = ClaimGuard::new(
                    inner.inbox.clone(),
                    inner.runtime.clone(),
                    inner.orphans.clone(),
                );
                guard.hold(marker_key.clone(), token);
                guard.settle_with(&marker_key, Settle::Complete);
                match guard.settle(&marker_key).await {
                    Ok(()) => {
                        tracing::info!(key = %key, sequence = %sequence, "recorded the final state of an event processed earlier");
                        Ok(Outcome::Duplicate { key })
                    }
                    Err(source) => Err(ProcessError::FinalStateUnrecorded { key, source }),
                }
            }
            Ok(Claim::AlreadyDone) => Ok(Outcome::Duplicate { key }),
            // The marker is held: by the claim whose recording failed, until its lease runs
            // out, or by another final state of the sequence being processed. Ask again.
            Ok(_) => Ok(Outcome::InProgress { key }),
            Err(source) => Err(ProcessError::FinalStateUnrecorded { key, source }),
        }
    }

    /// Claims `key`: the token, or the outcome when it is not ours to process.
    async fn claim(
        &self,
        key: &str,
    ) -> Result<Result<ClaimToken, Outcome>, ProcessError<V::Error>> {
        let key = key.to_owned();
        Ok(match self.inner.inbox.claim(&key).await {
            Ok(Claim::Acquired(token)) => Ok(token),
            Ok(Claim::AlreadyDone) => Err(Outcome::Duplicate { key }),
            Ok(Claim::InProgress) => Err(Outcome::InProgress { key }),
            Err(source) => return Err(ProcessError::Inbox { key, source }),
        })
    }

    /// Runs the handler under the heartbeat, catching panics. `expiry` is the claims'
    /// local deadline, started before they were made.
    async fn run(
        &self,
        guard: &ClaimGuard,
        event: V::Event,
        expiry: crate::rt::BoxFuture<()>,
    ) -> Result<(), Stopped> {
        let inner = &*self.inner;
        let handler = catch_panic(|| match &inner.handler {
            Some(handler) => handler.handle(event),
            None => Box::pin(async {
                Err(
                    "this processor has no handler (a durable intake only stores deliveries)"
                        .into(),
                )
            }),
        });
        let interval = (inner.inbox.lease() / 3).max(Duration::from_millis(1));
        let beat = heartbeat(
            inner.inbox.clone(),
            inner.runtime.clone(),
            guard.claims(),
            interval,
            expiry,
        );
        let started = Stopwatch::start();
        let result = match until(handler, beat).await {
            Ok(result) => result.map_err(Stopped::Failed),
            Err(end) => Err(Stopped::LeaseLost(end)),
        };
        let outcome = match &result {
            Ok(()) => "ok",
            Err(Stopped::Failed(e)) if e.is::<Panicked>() => "panic",
            Err(Stopped::Failed(_)) => "error",
            Err(Stopped::LeaseLost(_)) => "lease_lost",
        };
        inner.metrics.handler(outcome, started);
        result
    }
}

/// The key of a sequence's final marker.
fn final_marker(sequence: &str) -> String {
    format!("{sequence}#final")
}

enum Stopped {
    Failed(BoxError),
    LeaseLost(LeaseEnd),
}

/// Builds a [`Processor`]. A handler is required; the inbox defaults to a [`MemoryInbox`]
/// and the runtime to [`TokioRuntime`](crate::rt::TokioRuntime) (feature `tokio`).
pub struct ProcessorBuilder<V: Verifier> {
    verifier: V,
    inbox: Option<Arc<dyn Inbox>>,
    handler: Option<Box<dyn Handler<V::Event>>>,
    queue: Option<Arc<dyn Queue>>,
    runtime: Option<Arc<dyn Runtime>>,
}

impl<V: Verifier> fmt::Debug for ProcessorBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessorBuilder")
            .field("verifier", &std::any::type_name::<V>())
            .field("inbox", &self.inbox.is_some())
            .field("handler", &self.handler.is_some())
            .field("queue", &self.queue.is_some())
            .field("runtime", &self.runtime)
            .finish()
    }
}

impl<V: Verifier> ProcessorBuilder<V> {
    /// Where processed keys are remembered. Default: a [`MemoryInbox`], right for one
    /// process; use a persistent inbox (`compliance-store`) when several processes receive
    /// the same webhooks or duplicates must be caught across restarts. An
    /// `Arc<dyn Inbox>` shares one inbox between processors.
    pub fn inbox(mut self, inbox: impl Inbox + 'static) -> Self {
        self.inbox = Some(Arc::new(inbox));
        self
    }

    /// What to do with each verified event (required).
    pub fn handler(mut self, handler: impl Handler<V::Event> + 'static) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// Makes this processor a durable intake: each verified delivery is stored in `queue`
    /// and acknowledged once the write is durable ([`Processor::enqueue`]); a
    /// [`Worker`](super::Worker) runs the handler later. No handler is needed then. An
    /// `Arc<dyn Queue>` shares one queue.
    pub fn queue(mut self, queue: impl Queue + 'static) -> Self {
        self.queue = Some(Arc::new(queue));
        self
    }

    /// The timer and spawner for the lease heartbeat and the drop guard. Default:
    /// [`TokioRuntime`](crate::rt::TokioRuntime).
    pub fn runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Builds the processor. Fails with [`Error::Config`](crate::Error::Config) without a
    /// handler (unless it is a durable intake), or without a runtime when the `tokio`
    /// feature is off.
    pub fn build(self) -> Result<Processor<V>, crate::Error> {
        if self.handler.is_none() && self.queue.is_none() {
            return Err(crate::Error::Config(
                "a webhook handler is required (or a queue, for a durable intake)".into(),
            ));
        }
        let handler = self.handler;
        let runtime = match self.runtime {
            Some(runtime) => runtime,
            None => default_runtime()?,
        };
        Ok(Processor {
            inner: Arc::new(Inner {
                verifier: self.verifier,
                inbox: self.inbox.unwrap_or_else(|| Arc::new(MemoryInbox::new())),
                handler,
                queue: self.queue,
                runtime,
                orphans: Arc::new(Orphans::default()),
                metrics: WebhookMetrics::new(V::PROVIDER),
            }),
        })
    }
}

#[cfg(feature = "tokio")]
fn default_runtime() -> Result<Arc<dyn Runtime>, crate::Error> {
    Ok(Arc::new(crate::rt::TokioRuntime))
}

#[cfg(not(feature = "tokio"))]
fn default_runtime() -> Result<Arc<dyn Runtime>, crate::Error> {
    Err(crate::Error::Config(
        "a runtime is needed for the lease heartbeat: enable the `tokio` feature or pass \
         ProcessorBuilder::runtime"
            .into(),
    ))
}
