//! What became of a delivery, and the one table from that to the HTTP answer.

use std::time::Duration;

use http::StatusCode;

use super::BoxError;
use super::verifier::{Rejection, RejectionKind};
use crate::inbox::InboxError;

/// How long a provider is asked to wait before delivering again (`Retry-After` on 503).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// What happened to a delivery that did not fail. Every outcome but
/// [`InProgress`](Outcome::InProgress) is an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler ran and succeeded; the key is marked done.
    Processed {
        /// The deduplication key.
        key: String,
    },
    /// Already processed: acknowledged, handler not run.
    Duplicate {
        /// The deduplication key.
        key: String,
    },
    /// Another delivery of the same event (or of its sequence) is being processed right
    /// now: handler not run. Not an acknowledgement: that attempt may still fail, so the
    /// provider must deliver again (HTTP 503 with `Retry-After`).
    InProgress {
        /// The deduplication key.
        key: String,
    },
    /// An intermediate state that arrived after the final state of its sequence was
    /// processed: acknowledged, handler not run, so it cannot overwrite the final state.
    Superseded {
        /// The deduplication key.
        key: String,
    },
    /// Durable intake: stored in the queue (the write is durable), to be processed by a
    /// [`Worker`](super::Worker). An acknowledgement.
    Queued {
        /// The deduplication key.
        key: String,
    },
    /// Authentic but not for processing (an event type this version does not know):
    /// acknowledged and logged, handler not run.
    Ignored {
        /// The deduplication key.
        key: String,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The deduplication key the outcome is about.
    pub fn key(&self) -> &str {
        match self {
            Outcome::Processed { key }
            | Outcome::Duplicate { key }
            | Outcome::InProgress { key }
            | Outcome::Superseded { key }
            | Outcome::Queued { key }
            | Outcome::Ignored { key, .. } => key,
        }
    }

    /// Whether the delivery is settled and the provider need not send it again.
    pub fn is_acknowledged(&self) -> bool {
        !matches!(self, Outcome::InProgress { .. })
    }

    /// The word for it in a receiver's JSON answer (`"processed"`, `"duplicate"`...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Processed { .. } => "processed",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::InProgress { .. } => "in_progress",
            Outcome::Superseded { .. } => "superseded",
            Outcome::Queued { .. } => "queued",
            Outcome::Ignored { .. } => "ignored",
        }
    }

    /// The HTTP status to answer with (see the [table](super#the-outcome--status-table)).
    pub fn status(&self) -> StatusCode {
        match self {
            Outcome::InProgress { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::OK,
        }
    }
}

/// Why a delivery was not acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError<R> {
    /// The verifier refused the delivery. Do not trust anything in it.
    #[error("delivery refused: {0}")]
    Rejected(#[source] R),
    /// The handler failed or panicked. The claim was released, so the provider's
    /// redelivery runs the handler again.
    #[error("handler failed for `{key}`: {source}")]
    Handler {
        /// The deduplication key.
        key: String,
        /// The handler's error (or the panic message).
        #[source]
        source: BoxError,
    },
    /// The inbox failed (storage down, or full) before the handler ran. Nothing was
    /// processed; the provider's redelivery will be.
    ///
    /// When the inbox fails after the handler succeeded, the key is still marked done (in
    /// the background if need be) and the delivery answers
    /// [`Processed`](Outcome::Processed): only the final state of a sequence has an answer
    /// of its own, [`FinalStateUnrecorded`](ProcessError::FinalStateUnrecorded).
    #[error("inbox failed for `{key}`: {source}")]
    Inbox {
        /// The deduplication key.
        key: String,
        /// The inbox's error.
        #[source]
        source: InboxError,
    },
    /// While the handler ran, its claim was taken over by another delivery, or no renewal
    /// of it succeeded for a whole lease (storage down, a connection that hangs), so that
    /// another delivery could take it over at any moment. The handler was stopped and the
    /// claim given back; the provider delivers this one again.
    #[error("lost the claim on `{key}` while the handler ran")]
    LeaseLost {
        /// The deduplication key.
        key: String,
    },
    /// The handler ran and succeeded, and the event's key is marked done, but the final
    /// state of its sequence (a payment's last status) could not be recorded. Answered
    /// 503 so that the provider delivers it again: the redelivery is a duplicate (the
    /// handler does not run again) and records the final state then. Until it is
    /// recorded, intermediate states of the sequence that arrive late wait (503) rather
    /// than overwrite it.
    #[error("processed `{key}`, but could not record its sequence's final state: {source}")]
    FinalStateUnrecorded {
        /// The deduplication key.
        key: String,
        /// The inbox's error.
        #[source]
        source: InboxError,
    },
}

impl<R: Rejection> ProcessError<R> {
    /// The HTTP status to answer with (see the [table](super#the-outcome--status-table)).
    pub fn status(&self) -> StatusCode {
        match self {
            ProcessError::Rejected(r) => r.kind().status(),
            ProcessError::Handler { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ProcessError::Inbox { .. }
            | ProcessError::LeaseLost { .. }
            | ProcessError::FinalStateUnrecorded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Whether the same delivery may succeed later (everything but a refusal).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, ProcessError::Rejected(_))
    }

    /// The kind of refusal, for a [`Rejected`](ProcessError::Rejected) delivery.
    pub fn rejection_kind(&self) -> Option<RejectionKind> {
        match self {
            ProcessError::Rejected(r) => Some(r.kind()),
            _ => None,
        }
    }

    /// The `error` member of a receiver's JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            ProcessError::Rejected(r) => r.kind().code(),
            ProcessError::Handler { .. } => "processing_failed",
            ProcessError::Inbox { .. } | ProcessError::FinalStateUnrecorded { .. } => {
                "inbox_unavailable"
            }
            ProcessError::LeaseLost { .. } => "in_progress",
        }
    }
}
