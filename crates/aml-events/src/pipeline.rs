//! Tuum's side of the shared exactly-once pipeline: authenticate, parse, and name the
//! deduplication key (`notificationId`). The claim, the handler call, the heartbeat and the
//! answers are [`compliance_core::webhook`]'s, the same for every provider.

use std::fmt;

use compliance_core::webhook::{
    Processor, Rejection, RejectionKind, RequestInfo, Verified, Verifier,
};

use crate::auth::Authenticator;
use crate::error::Error;
use crate::event::AmlEvent;

/// Turns Tuum's at-least-once deliveries into exactly-once calls of your handler: a
/// [`compliance_core::webhook::Processor`] with Tuum's [`WebhookVerifier`].
///
/// ```
/// use aml_events::auth::SharedSecretHeader;
/// use aml_events::{AmlEvent, BoxError, SecretString, WebhookProcessor, WebhookVerifier, handler_fn};
///
/// let secret = SecretString::from("0123456789abcdef0123456789abcdef");
/// let processor = WebhookProcessor::builder(WebhookVerifier::new(
///         SharedSecretHeader::new("x-webhook-token", secret)?,
///     ))
///     .handler(handler_fn(|event: AmlEvent| async move {
///         println!("{:?}", event.body());
///         Ok::<_, BoxError>(())
///     }))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type WebhookProcessor = Processor<WebhookVerifier>;

/// The durable mode's worker for Tuum's events: runs a [`WebhookProcessor`]'s handler over
/// the deliveries a durable intake (a processor built with
/// [`queue`](compliance_core::webhook::ProcessorBuilder::queue)) stored, retrying with
/// back-off and keeping what fails past the limit as dead. See the crate README's durable
/// mode.
#[cfg(feature = "tokio")]
pub type WebhookWorker = compliance_core::webhook::Worker<WebhookVerifier>;

/// Tuum's [`Verifier`]: the configured [`Authenticator`] over the headers and the peer
/// (Tuum signs nothing), then [`AmlEvent::from_slice`]. The deduplication key is the
/// `notificationId`, the same on every retry and replay of a notification.
///
/// In durable mode (a processor built with a queue, and a `Worker`), the authenticator's
/// headers are **not** stored: they are credentials (a shared secret), and Tuum signs
/// nothing in the body. A delivery's authenticity is established at intake, before it is
/// stored; the worker only decodes the stored body again
/// ([`Verifier::reverify`]'s default).
///
/// Events of a type this crate does not know are acknowledged and logged without running
/// the handler, unless [`process_unknown`](Self::process_unknown) asks for them (the
/// handler then sees [`EventBody::Unknown`](crate::EventBody::Unknown)).
pub struct WebhookVerifier {
    authenticator: Box<dyn Authenticator>,
    process_unknown: bool,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("process_unknown", &self.process_unknown)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    /// Authenticates deliveries with `authenticator` (see [`crate::auth`]).
    pub fn new(authenticator: impl Authenticator + 'static) -> Self {
        Self {
            authenticator: Box::new(authenticator),
            process_unknown: false,
        }
    }

    /// Hands events of unknown types to the handler too (deduplicated like the others),
    /// instead of acknowledging them unprocessed.
    pub fn process_unknown(mut self, process: bool) -> Self {
        self.process_unknown = process;
        self
    }
}

impl Verifier for WebhookVerifier {
    type Event = AmlEvent;
    type Error = Error;

    const PROVIDER: &'static str = "tuum";

    const KEY_FIELD: &'static str = "notificationId";

    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), Error> {
        self.authenticator
            .authenticate(request)
            .map_err(Error::Unauthenticated)
    }

    fn verify_delivery(
        &self,
        _request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<AmlEvent>, Error> {
        let event = AmlEvent::from_slice(body)?;
        let key = event.notification_id().to_owned();
        if event.is_unknown() && !self.process_unknown {
            let reason = format!(
                "Tuum AML event of unknown type `{}`",
                event.event_type().as_str()
            );
            return Ok(Verified::ignored(key, reason));
        }
        Ok(Verified::event(key, event))
    }
}

impl Rejection for Error {
    fn kind(&self) -> RejectionKind {
        match self {
            Error::Unauthenticated(_) => RejectionKind::Unauthenticated,
            _ => RejectionKind::Invalid,
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::Parse { path, message, .. } => {
                vec![("path", path.clone()), ("message", message.clone())]
            }
            other => vec![("message", other.to_string())],
        }
    }
}
