//! What the pipeline tells about each delivery: one span per delivery (provider, outcome,
//! a hash of the key, never the key itself nor a secret) and the webhook metrics.

use std::hash::{Hash, Hasher};

use super::outcome::{Outcome, ProcessError};
use super::verifier::{Rejection, Verifier};
use crate::metrics::WebhookMetrics;

/// The span of one delivery, its outcome recorded when it ends.
pub(super) fn delivery_span<V: Verifier>(key: &str) -> tracing::Span {
    tracing::info_span!(
        "compliance_webhook",
        otel.name = "compliance_webhook process",
        otel.kind = "consumer",
        compliance.provider = V::PROVIDER,
        compliance.key_hash = %key_hash(key),
        compliance.outcome = tracing::field::Empty,
    )
}

/// A delivery ended with `result`: its outcome on `span` and in the metrics.
pub(super) fn delivered<V: Verifier>(
    metrics: &WebhookMetrics,
    span: &tracing::Span,
    result: &Result<Outcome, ProcessError<V::Error>>,
) {
    let outcome = row::<V>(result);
    span.record("compliance.outcome", outcome);
    metrics.delivery(outcome);
}

/// The row of the outcome → status table `result` is answered by.
fn row<V: Verifier>(result: &Result<Outcome, ProcessError<V::Error>>) -> &'static str {
    match result {
        Ok(outcome) => outcome.as_str(),
        Err(ProcessError::Rejected(rejection)) => rejection.kind().code(),
        Err(ProcessError::Handler { .. }) => "processing_failed",
        Err(ProcessError::Inbox { .. }) => "inbox_unavailable",
        Err(ProcessError::LeaseLost { .. }) => "lease_lost",
        Err(ProcessError::FinalStateUnrecorded { .. }) => "final_state_unrecorded",
    }
}

/// A durable intake's delivery ended with `result`: as [`delivered`], except that a queue
/// that failed is its own row (`queue_unavailable`), not the inbox's.
pub(super) fn stored<V: Verifier>(
    metrics: &WebhookMetrics,
    span: &tracing::Span,
    result: &Result<Outcome, ProcessError<V::Error>>,
) {
    let outcome = match result {
        Err(ProcessError::Inbox { .. }) => "queue_unavailable",
        other => row::<V>(other),
    };
    span.record("compliance.outcome", outcome);
    metrics.delivery(outcome);
}

/// A delivery refused before the handler, for `reason` (a `RejectionKind`'s code or the
/// receiver's own: `body_too_large`, `unreadable_body`, `body_read_timeout`).
pub(super) fn refused(metrics: &WebhookMetrics, reason: &'static str) {
    metrics.refusal(reason);
}

/// A refusal by the verifier, counted, as the pipeline's error.
pub(super) fn rejected<R: Rejection>(metrics: &WebhookMetrics, rejection: R) -> ProcessError<R> {
    refused(metrics, rejection.kind().code());
    ProcessError::Rejected(rejection)
}

/// A short hash of a deduplication key, to tell deliveries apart in traces without showing
/// the key (which may hold a subject's id). Not a secret-grade hash: a correlation aid.
fn key_hash(key: &str) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}
