//! Exactly-once processing: authenticate, parse, claim, handle, complete.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use compliance_core::{Claim, Inbox, MemoryInbox};

use crate::auth::{Authenticator, RequestInfo};
use crate::error::{BoxError, Error};
use crate::event::AmlEvent;

/// Your code that acts on an event: screen the payment, the collection or the person, or
/// record the result.
///
/// It runs at most once to success per `notificationId` (as long as the inbox works). An
/// error (or a panic) releases the notification, so Tuum's next delivery of it runs the
/// handler again: return an error only when nothing was done, or when doing it again is
/// harmless.
///
/// For a closure use [`handler_fn`].
#[async_trait]
pub trait Handler: Send + Sync {
    /// Acts on one event.
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError>;
}

#[async_trait]
impl<H: Handler + ?Sized> Handler for Arc<H> {
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
        (**self).handle(event).await
    }
}

#[async_trait]
impl<H: Handler + ?Sized> Handler for Box<H> {
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
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

/// Makes a [`Handler`] from `async |event| -> Result<(), E>`.
///
/// ```
/// use aml_events::{handler_fn, AmlEvent, BoxError};
/// let handler = handler_fn(|event: AmlEvent| async move {
///     println!("screening {}", event.notification_id());
///     Ok::<_, BoxError>(())
/// });
/// ```
pub fn handler_fn<F, Fut, E>(f: F) -> HandlerFn<F>
where
    F: Fn(AmlEvent) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<BoxError>,
{
    HandlerFn(f)
}

#[async_trait]
impl<F, Fut, E> Handler for HandlerFn<F>
where
    F: Fn(AmlEvent) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), E>> + Send,
    E: Into<BoxError>,
{
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
        (self.0)(event).await.map_err(Into::into)
    }
}

/// What happened to a delivery that did not fail. Every outcome but
/// [`InProgress`](Outcome::InProgress) is an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler ran and succeeded; the notification is marked done.
    Processed {
        /// The notification.
        notification_id: String,
    },
    /// The notification was already processed: acknowledged, handler not run.
    Duplicate {
        /// The notification.
        notification_id: String,
    },
    /// Another delivery of this notification is being processed right now: handler not
    /// run. Not an acknowledgement: if that other attempt fails, this delivery must come
    /// again, so the receiver answers "retry later" (HTTP 503).
    InProgress {
        /// The notification.
        notification_id: String,
    },
    /// An event type this crate does not know, acknowledged and logged without processing
    /// (no unknown-event handler is configured).
    Ignored {
        /// The notification.
        notification_id: String,
        /// Its `notificationTypeCode`.
        type_code: String,
    },
}

impl Outcome {
    /// The notification the outcome is about.
    pub fn notification_id(&self) -> &str {
        match self {
            Outcome::Processed { notification_id }
            | Outcome::Duplicate { notification_id }
            | Outcome::InProgress { notification_id }
            | Outcome::Ignored {
                notification_id, ..
            } => notification_id,
        }
    }

    /// Whether the delivery is settled and Tuum need not send it again.
    pub fn is_acknowledged(&self) -> bool {
        !matches!(self, Outcome::InProgress { .. })
    }
}

struct Inner {
    authenticator: Box<dyn Authenticator>,
    inbox: Arc<dyn Inbox>,
    handler: Box<dyn Handler>,
    unknown_handler: Option<Box<dyn Handler>>,
}

/// Turns Tuum's at-least-once deliveries into exactly-once calls of your [`Handler`].
///
/// For each delivery: [authenticate](Authenticator) → [parse](AmlEvent::from_slice) → claim
/// the `notificationId` in the [`Inbox`] → run the handler → mark it done. A handler error
/// releases the claim so Tuum's redelivery is processed; a duplicate is acknowledged without
/// running the handler.
///
/// Cheap to clone (an `Arc` inside); build it once and share it.
///
/// ```
/// use aml_events::auth::SharedSecretHeader;
/// use aml_events::{handler_fn, AmlEvent, BoxError, EventProcessor, SecretString};
///
/// let processor = EventProcessor::builder()
///     .authenticator(SharedSecretHeader::new("x-webhook-token", SecretString::from("0123456789abcdef0123456789abcdef"))?)
///     .handler(handler_fn(|event: AmlEvent| async move {
///         println!("{:?}", event.body());
///         Ok::<_, BoxError>(())
///     }))
///     .build()?;
/// # Ok::<(), aml_events::Error>(())
/// ```
#[derive(Clone)]
pub struct EventProcessor {
    inner: Arc<Inner>,
}

impl fmt::Debug for EventProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventProcessor")
            .field("unknown_handler", &self.inner.unknown_handler.is_some())
            .finish_non_exhaustive()
    }
}

impl EventProcessor {
    /// Starts building a processor.
    pub fn builder() -> EventProcessorBuilder {
        EventProcessorBuilder::default()
    }

    /// Runs the configured authenticator alone. Receivers call it before reading the body.
    pub fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), Error> {
        self.inner
            .authenticator
            .authenticate(request)
            .map_err(Error::Unauthenticated)
    }

    /// Processes one HTTP delivery: authenticates it, then as
    /// [`process_authenticated`](Self::process_authenticated).
    pub async fn process(&self, request: &RequestInfo<'_>, body: &[u8]) -> Result<Outcome, Error> {
        self.authenticate(request)?;
        self.process_authenticated(body).await
    }

    /// Processes a body whose authenticity is already established (checked with
    /// [`authenticate`](Self::authenticate), or taken from a trusted message broker).
    pub async fn process_authenticated(&self, body: &[u8]) -> Result<Outcome, Error> {
        let event = AmlEvent::from_slice(body)?;
        self.process_event(event).await
    }

    /// Deduplicates and handles an already parsed event.
    pub async fn process_event(&self, event: AmlEvent) -> Result<Outcome, Error> {
        let inner = &*self.inner;
        let notification_id = event.notification_id().to_owned();
        let handler = if event.is_unknown() {
            match &inner.unknown_handler {
                Some(handler) => handler,
                None => {
                    let type_code = event.event_type().as_str().to_owned();
                    tracing::warn!(
                        notification_id = %notification_id,
                        type_code = %type_code,
                        "acknowledging a Tuum AML event of unknown type without processing it"
                    );
                    return Ok(Outcome::Ignored {
                        notification_id,
                        type_code,
                    });
                }
            }
        } else {
            &inner.handler
        };

        let token = match inner.inbox.claim(&notification_id).await {
            Ok(Claim::Acquired(token)) => token,
            Ok(Claim::AlreadyDone) => return Ok(Outcome::Duplicate { notification_id }),
            Ok(Claim::InProgress) => return Ok(Outcome::InProgress { notification_id }),
            // `Claim` is non-exhaustive: a claim state this version does not know is treated
            // as "not ours now", which never runs the handler twice.
            Ok(_) => return Ok(Outcome::InProgress { notification_id }),
            Err(source) => {
                return Err(Error::Inbox {
                    notification_id,
                    source,
                });
            }
        };

        match run_handler(handler.as_ref(), event).await {
            Ok(()) => {
                if let Err(e) = inner.inbox.complete(&notification_id, &token).await {
                    // The work is done; answering with an error would make Tuum deliver it
                    // again and, once the lease runs out, run the handler a second time.
                    tracing::error!(
                        notification_id = %notification_id,
                        error = %e,
                        "handler succeeded but the inbox could not mark the notification done"
                    );
                }
                Ok(Outcome::Processed { notification_id })
            }
            Err(source) => {
                if let Err(e) = inner.inbox.release(&notification_id, &token).await {
                    tracing::error!(
                        notification_id = %notification_id,
                        error = %e,
                        "could not release the claim; redelivery waits for the lease to run out"
                    );
                }
                tracing::warn!(
                    notification_id = %notification_id,
                    error = %source,
                    "handler failed; the notification is released for redelivery"
                );
                Err(Error::Handler {
                    notification_id,
                    source,
                })
            }
        }
    }
}

/// Runs the handler, turning a panic into an error so the claim is released.
async fn run_handler(handler: &dyn Handler, event: AmlEvent) -> Result<(), BoxError> {
    let future = std::panic::catch_unwind(AssertUnwindSafe(|| handler.handle(event)))
        .map_err(panic_error)?;
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

/// Builds an [`EventProcessor`]. An authenticator and a handler are required; the inbox
/// defaults to a [`MemoryInbox`].
#[derive(Default)]
pub struct EventProcessorBuilder {
    authenticator: Option<Box<dyn Authenticator>>,
    inbox: Option<Arc<dyn Inbox>>,
    handler: Option<Box<dyn Handler>>,
    unknown_handler: Option<Box<dyn Handler>>,
}

impl fmt::Debug for EventProcessorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventProcessorBuilder")
            .field("authenticator", &self.authenticator.is_some())
            .field("inbox", &self.inbox.is_some())
            .field("handler", &self.handler.is_some())
            .field("unknown_handler", &self.unknown_handler.is_some())
            .finish()
    }
}

impl EventProcessorBuilder {
    /// How deliveries are authenticated (required; see [`crate::auth`]).
    pub fn authenticator(mut self, authenticator: impl Authenticator + 'static) -> Self {
        self.authenticator = Some(Box::new(authenticator));
        self
    }

    /// Where processed notifications are remembered. Default: a [`MemoryInbox`], which is
    /// right for one process; use a persistent inbox when several processes receive Tuum's
    /// deliveries or when duplicates must be caught across restarts.
    pub fn inbox(mut self, inbox: Arc<dyn Inbox>) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// What to do with each known event (required).
    pub fn handler(mut self, handler: impl Handler + 'static) -> Self {
        self.handler = Some(Box::new(handler));
        self
    }

    /// What to do with events of a type this crate does not know; they are deduplicated
    /// like the others. Without it such events are acknowledged and logged (a `tracing`
    /// warning) without processing.
    pub fn unknown_handler(mut self, handler: impl Handler + 'static) -> Self {
        self.unknown_handler = Some(Box::new(handler));
        self
    }

    /// Builds the processor. Fails with [`Error::Config`] if the authenticator or the
    /// handler is missing.
    pub fn build(self) -> Result<EventProcessor, Error> {
        let authenticator = self.authenticator.ok_or_else(|| {
            Error::Config(
                "an authenticator is required (Tuum signs nothing; see aml_events::auth)".into(),
            )
        })?;
        let handler = self
            .handler
            .ok_or_else(|| Error::Config("a handler is required".into()))?;
        Ok(EventProcessor {
            inner: Arc::new(Inner {
                authenticator,
                inbox: self.inbox.unwrap_or_else(|| Arc::new(MemoryInbox::new())),
                handler,
                unknown_handler: self.unknown_handler,
            }),
        })
    }
}
