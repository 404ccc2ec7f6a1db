//! One exactly-once webhook pipeline for every provider.
//!
//! A provider crate implements [`Verifier`] (raw headers and body in, a verified event and
//! its deduplication key out, or a typed [`Rejection`]). A [`Processor`] does the rest, the
//! same way for every provider:
//!
//! 1. claim the key in an [`Inbox`](crate::Inbox) (only one delivery of an event runs the
//!    handler at a time, and none after it succeeded);
//! 2. run your [`Handler`], catching panics, while a heartbeat renews the claim every third
//!    of the lease (a long handler never lets a redelivery run beside it). When no renewal
//!    succeeds for a whole lease (less a tenth, counted locally), the handler is stopped:
//!    another instance may take the key over from then on;
//! 3. mark the key done, or release it when the handler failed, panicked, or its future was
//!    dropped before it succeeded (a drop guard), so the provider's redelivery is processed.
//!    Once the handler succeeded the key is only ever completed: a future dropped while the
//!    completion is under way (a timeout, a client that hung up) leaves it to the drop guard,
//!    which completes it in the background.
//!
//! Events of a sequence whose last state is final (a payment's statuses) can be placed in
//! it ([`Verified::in_sequence`]): they are then processed one at a time, and an
//! intermediate state that arrives after the final one is acknowledged without running the
//! handler ([`Outcome::Superseded`]).
//!
//! # Durable mode
//!
//! Inline, the handler runs before the answer: a handler down for longer than the
//! provider's retry schedule loses events. In durable mode (recommended for production)
//! the same pipeline is split in two:
//!
//! - **intake**: a [`Processor`] built with a [`Queue`]
//!   ([`ProcessorBuilder::queue`]) authenticates and verifies as above, stores the delivery
//!   (its key, sequence, the body as received and the verifier's
//!   [`KEPT_HEADERS`](Verifier::KEPT_HEADERS), never a credential) and answers 2xx only once
//!   the write is durable ([`Outcome::Queued`]; a key already stored answers
//!   [`Outcome::Duplicate`] without a second row; a storage failure or a full queue 503);
//! - **[`Worker`]** (feature `tokio`): takes stored deliveries with a lease, verifies them
//!   again from their bytes ([`Verifier::reverify`]: no freshness window), runs the handler
//!   through an inline processor (claim, heartbeat, panic capture, sequences), and marks
//!   each row done, retries it by its [`RetrySchedule`], or marks it dead, kept for a
//!   replay.
//!
//! [`MemoryQueue`] is for tests; `compliance-store` has the queue on SQLite and PostgreSQL.
//! Inline mode stays for handlers that are fast and local.
//!
//! With the `axum` feature, `Receiver` puts it on HTTP: it authenticates from the headers
//! before reading the body, reads the raw body with a size cap and a read timeout, and
//! answers by the table below. Its logging of refused requests is rate-limited, so a flood
//! of forged requests cannot flood the logs.
//!
//! # The outcome → status table
//!
//! Every provider crate answers, and documents, the same:
//!
#![doc = include_str!("table.md")]
//!
//! Why 503 and not 200 for a concurrent duplicate: the first attempt may still fail. If the
//! duplicate were acknowledged and the first attempt then failed, its answer might never
//! reach the provider (which timed out on it, often the very reason for the duplicate), and
//! the event would be lost. 503 with `Retry-After` costs one more delivery, which is then a
//! duplicate (200) or, if the first attempt failed, processed.
//!
//! Why 200 when the handler succeeded but the inbox could not record it: the work is done;
//! asking for a redelivery would run it a second time. The failure is logged, and the key
//! stays claimed until its lease runs out (a redelivery meanwhile answers 503); only a
//! redelivery after that runs the handler again. The final state of a sequence is the one
//! exception: its marker keeps late intermediate states from overwriting it, so when it
//! cannot be recorded the answer asks for a redelivery, which records it without running the
//! handler.
//!
//! The processor sleeps and spawns through the core's [`Runtime`](crate::rt::Runtime)
//! ([`ProcessorBuilder::runtime`]; a [`ManualRuntime`](crate::rt::ManualRuntime) in tests).
//!
//! Also here: [`constant_time_eq`] for every signature comparison, and [`Freshness`] with
//! an injectable [`Clock`](crate::rt::Clock) for providers that stamp their deliveries.

mod freshness;
mod lease;
#[cfg(feature = "axum")]
mod log;
mod observe;
mod outcome;
mod processor;
mod queue;
#[cfg(feature = "axum")]
mod receiver;
mod verifier;
#[cfg(feature = "tokio")]
mod worker;

use subtle::ConstantTimeEq;

pub use freshness::{Freshness, FreshnessError};
pub use outcome::{DEFAULT_RETRY_AFTER, Outcome, ProcessError};
pub use processor::{Handler, HandlerFn, Processor, ProcessorBuilder, handler_fn};
pub use queue::{
    DeliveryInfo, DeliveryState, Enqueued, Failure, MAX_ERROR_LEN, MemoryQueue, NewDelivery, Queue,
    QueueDepth, StoredRequest, Taken, bounded_error,
};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use receiver::{DEFAULT_BODY_LIMIT, DEFAULT_READ_TIMEOUT, Receiver};
pub use verifier::{Rejection, RejectionKind, RequestInfo, Stage, Verified, Verifier};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use worker::{DEFAULT_POLL_INTERVAL, RetrySchedule, Worker, WorkerBuilder};

/// An error a handler returns. Anything that implements `std::error::Error` converts into
/// it with `?` or `.into()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Compares two byte strings in time that depends only on their lengths, never on where
/// they differ. Use it for every signature, MAC and shared-secret comparison.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
