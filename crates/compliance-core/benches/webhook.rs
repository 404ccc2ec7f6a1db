//! The webhook processor's cost per delivery: [`Processor::process_verified`] (span, claim,
//! handler under the heartbeat with panic capture, complete) beside the bare minimum any
//! exactly-once handling does (claim, call the handler, complete on the same kind of
//! inbox), in the same run (row `webhook_process`, see `bench-pair`). Each side has its own
//! `MemoryInbox` on a manual clock that moves 1 µs per delivery with a retention of 1 ms, so
//! about a thousand keys stay held.
//!
//! Built with the `metrics` feature it installs a recording recorder first and prints row
//! `webhook_process_metrics` instead: the two rows' ratios compare the feature on (and
//! recording) with the feature off.
//!
//! `cargo bench -p compliance-core --bench webhook`; `cargo xtask bench` prints the ratio.

#![allow(missing_docs)]

#[cfg(feature = "metrics")]
#[path = "support/recording.rs"]
mod recording;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bench_pair::compare_async;
use compliance_core::rt::ManualClock;
use compliance_core::time::SignedDuration;
use compliance_core::webhook::{
    BoxError, Handler, Outcome, Processor, Rejection, RejectionKind, RequestInfo, Verified,
    Verifier, handler_fn,
};
use compliance_core::{Claim, Inbox, MemoryInbox};
use criterion::{Criterion, criterion_group, criterion_main};

#[cfg(feature = "metrics")]
const ROW: &str = "webhook_process_metrics";
#[cfg(not(feature = "metrics"))]
const ROW: &str = "webhook_process";

struct Toy;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Rejection for Never {
    fn kind(&self) -> RejectionKind {
        RejectionKind::Invalid
    }
}

impl Verifier for Toy {
    type Event = ();
    type Error = Never;
    const PROVIDER: &'static str = "bench";

    fn verify_delivery(&self, _: &RequestInfo<'_>, _: &[u8]) -> Result<Verified<()>, Never> {
        Err(Never)
    }
}

/// Unique keys, and the clock that lets old ones go.
struct Deliveries {
    clock: Arc<ManualClock>,
    next: u64,
    key: String,
}

impl Deliveries {
    fn new() -> (Self, MemoryInbox) {
        let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
        let inbox = MemoryInbox::new()
            .capacity(4096)
            .retention(Duration::from_millis(1))
            .clock(clock.clone());
        let deliveries = Self {
            clock,
            next: 0,
            key: String::with_capacity(32),
        };
        (deliveries, inbox)
    }

    fn next_key(&mut self) -> &str {
        self.clock.advance(SignedDuration::from_micros(1));
        self.key.clear();
        write!(self.key, "delivery-{:016x}", self.next).unwrap();
        self.next += 1;
        &self.key
    }
}

fn process(c: &mut Criterion) {
    #[cfg(feature = "metrics")]
    recording::install();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handler = handler_fn(|_: ()| async { Ok::<_, BoxError>(()) });

    let (mut ours, inbox) = Deliveries::new();
    let processor = Processor::builder(Toy)
        .inbox(inbox)
        .handler(handler.clone())
        .build()
        .unwrap();
    let (mut theirs, bare_inbox) = Deliveries::new();

    let mut project = async || {
        let key = ours.next_key().to_owned();
        let outcome = processor
            .process_verified(Verified::event(key, ()))
            .await
            .unwrap();
        assert!(matches!(outcome, Outcome::Processed { .. }));
    };
    let mut bare = async || {
        let key = theirs.next_key();
        let Claim::Acquired(token) = bare_inbox.claim(key).await.unwrap() else {
            panic!("a new key is claimed");
        };
        handler.handle(()).await.unwrap();
        bare_inbox.complete(key, &token).await.unwrap();
    };
    runtime.block_on(async {
        project().await;
        bare().await;
    });
    compare_async(c, ROW, &runtime, project, bare);
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = process
}
criterion_main!(benches);
