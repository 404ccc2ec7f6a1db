//! What a provider crate implements: raw request in, verified event and deduplication key
//! out.

use std::fmt;
use std::net::SocketAddr;
use std::sync::LazyLock;

use http::{HeaderMap, StatusCode};

use super::queue::StoredRequest;

/// What a verifier sees of a delivery besides its body: the headers and the TCP peer.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    headers: &'a HeaderMap,
    peer: Option<SocketAddr>,
}

static NO_HEADERS: LazyLock<HeaderMap> = LazyLock::new(HeaderMap::new);

impl<'a> RequestInfo<'a> {
    /// A request with these headers, from `peer` (`None` when the server does not know it).
    pub fn new(headers: &'a HeaderMap, peer: Option<SocketAddr>) -> Self {
        Self { headers, peer }
    }

    /// The request headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The TCP peer, if known. Behind a proxy this is the proxy.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
}

impl RequestInfo<'static> {
    /// No headers and no peer: for bodies that reach you another way (a message broker),
    /// whose authenticity is established there.
    pub fn empty() -> Self {
        Self {
            headers: &NO_HEADERS,
            peer: None,
        }
    }
}

/// The two ways a delivery is refused, each with its own HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// Not shown to come from the provider: missing or wrong signature, credential or
    /// peer, or a body that does not decrypt. 401; nothing about the reason is sent back.
    Unauthenticated,
    /// Not a delivery this version can accept: malformed, outside the freshness window, or
    /// of an unexpected shape. 400, with the reason.
    Invalid,
}

impl RejectionKind {
    /// The HTTP status a receiver answers with.
    pub fn status(self) -> StatusCode {
        match self {
            RejectionKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            RejectionKind::Invalid => StatusCode::BAD_REQUEST,
        }
    }

    /// The `error` member of the receiver's JSON answer.
    pub fn code(self) -> &'static str {
        match self {
            RejectionKind::Unauthenticated => "unauthenticated",
            RejectionKind::Invalid => "invalid_event",
        }
    }
}

/// A verifier's typed reason for refusing a delivery.
pub trait Rejection: std::error::Error + Send + Sync + 'static {
    /// Which kind of refusal this is (decides the HTTP status).
    fn kind(&self) -> RejectionKind;

    /// Extra members for the answer to an [`Invalid`](RejectionKind::Invalid) delivery,
    /// such as the JSON path that failed. By default the error's message. Never sent for
    /// [`Unauthenticated`](RejectionKind::Unauthenticated) ones.
    fn details(&self) -> Vec<(&'static str, String)> {
        vec![("message", self.to_string())]
    }
}

/// Where an event stands in a sequence whose final event supersedes the earlier ones (a
/// payment's statuses: `process` … `paid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// An intermediate state. Once a [`Final`](Stage::Final) event of the same sequence
    /// was processed, it is acknowledged without running the handler
    /// ([`Outcome::Superseded`](super::Outcome::Superseded)): a late or replayed
    /// intermediate state never overwrites a final one.
    Provisional,
    /// A state that does not change any more.
    Final,
}

/// A verified delivery: what to process, and under which deduplication key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verified<E> {
    /// Process `event` once under `key`.
    Event {
        /// The deduplication key, computed only from authenticated content: every
        /// redelivery and replay of the event has it, no other event does.
        key: String,
        /// The verified event.
        event: E,
        /// The sequence the event belongs to and its place there, if any.
        sequence: Option<(String, Stage)>,
    },
    /// Authentic, but nothing to process (an event type this version does not know, and
    /// nobody asked for those): acknowledged without running the handler.
    Ignored {
        /// The deduplication key.
        key: String,
        /// Why it is ignored (logged).
        reason: String,
    },
}

impl<E> Verified<E> {
    /// An event to process once under `key`.
    pub fn event(key: impl Into<String>, event: E) -> Self {
        Verified::Event {
            key: key.into(),
            event,
            sequence: None,
        }
    }

    /// An authentic delivery to acknowledge without processing.
    pub fn ignored(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Verified::Ignored {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Places the event in `sequence` (for example `heleket:payment:<uuid>`) at `stage`.
    /// Ignored deliveries are unchanged.
    pub fn in_sequence(self, sequence: impl Into<String>, stage: Stage) -> Self {
        match self {
            Verified::Event { key, event, .. } => Verified::Event {
                key,
                event,
                sequence: Some((sequence.into(), stage)),
            },
            ignored => ignored,
        }
    }

    /// The deduplication key.
    pub fn key(&self) -> &str {
        match self {
            Verified::Event { key, .. } | Verified::Ignored { key, .. } => key,
        }
    }

    /// The event, unless ignored.
    pub fn event_ref(&self) -> Option<&E> {
        match self {
            Verified::Event { event, .. } => Some(event),
            Verified::Ignored { .. } => None,
        }
    }
}

/// A provider's webhook verification: from the raw request to a verified event and its
/// deduplication key. Implemented by each provider crate's `WebhookVerifier`; a
/// [`Processor`](super::Processor) does the rest.
///
/// ```
/// use compliance_core::webhook::{
///     Rejection, RejectionKind, RequestInfo, Verified, Verifier, constant_time_eq,
/// };
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("bad token")]
/// struct BadToken;
///
/// impl Rejection for BadToken {
///     fn kind(&self) -> RejectionKind {
///         RejectionKind::Unauthenticated
///     }
/// }
///
/// /// Deliveries whose `x-token` header is right; the body is an id.
/// struct TokenVerifier;
///
/// impl Verifier for TokenVerifier {
///     type Event = String;
///     type Error = BadToken;
///
///     fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), BadToken> {
///         let token = request.headers().get("x-token").ok_or(BadToken)?;
///         constant_time_eq(token.as_bytes(), b"s3cret").then_some(()).ok_or(BadToken)
///     }
///
///     fn verify_delivery(&self, _: &RequestInfo<'_>, body: &[u8]) -> Result<Verified<String>, BadToken> {
///         let id = String::from_utf8(body.to_vec()).map_err(|_| BadToken)?;
///         Ok(Verified::event(format!("demo:{id}"), id))
///     }
/// }
/// ```
pub trait Verifier: Send + Sync + 'static {
    /// The verified event handed to the handler.
    type Event: Send + 'static;
    /// Why a delivery is refused.
    type Error: Rejection;

    /// The member of a receiver's 2xx JSON answer that carries the key (`"key"` unless the
    /// provider's own name for it reads better, like Tuum's `notificationId`).
    const KEY_FIELD: &'static str = "key";

    /// The provider's name (`heleket`, `elkyc`, `tuum`): the `compliance.provider` label of
    /// the webhook metrics and span field. Default `unknown`.
    const PROVIDER: &'static str = "unknown";

    /// Checks what the headers and the peer alone can tell, before the body is read. By
    /// default nothing.
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), Self::Error> {
        let _ = request;
        Ok(())
    }

    /// Verifies the raw body (byte for byte as received) and reads the event. Called after
    /// [`authenticate`](Verifier::authenticate) succeeded.
    fn verify_delivery(
        &self,
        request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<Self::Event>, Self::Error>;

    /// The request headers durable intake keeps beside the body, because
    /// [`reverify`](Verifier::reverify) needs them (elKYC's signature). Never a credential:
    /// a header that authenticates by its value alone (a shared secret) must not be listed;
    /// its delivery's authenticity is established at intake. By default none.
    const KEPT_HEADERS: &'static [&'static str] = &[];

    /// Verifies a delivery again from what durable intake stored (the
    /// [`KEPT_HEADERS`](Verifier::KEPT_HEADERS) and the body), for the
    /// [`Worker`](super::Worker): authenticity where the body carries it (a signature) and
    /// decoding, but no delivery-time check such as a freshness window, which intake
    /// already passed (a delivery replayed from dead days later must still process). The
    /// header-only checks of [`authenticate`](Verifier::authenticate) are not run again.
    ///
    /// By default [`verify_delivery`](Verifier::verify_delivery) over the stored parts
    /// with no peer; a verifier whose `verify_delivery` checks the time overrides it.
    fn reverify(&self, stored: &StoredRequest) -> Result<Verified<Self::Event>, Self::Error> {
        let headers = stored.header_map();
        self.verify_delivery(&RequestInfo::new(&headers, None), stored.body())
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
