//! [`AmlEvent::from_slice`] on the seed's `AML_SUBPROCESS_CREATED` example (1.5 KB) beside
//! `serde_json::from_slice::<Value>` on the same bytes, in the same run (see `bench-pair`).
//! A typed parse allocates less than a `Value` tree and should be at least twice as fast.
//!
//! `cargo bench -p aml-events --bench events`; `cargo xtask bench` prints the ratio.

#![allow(missing_docs)]

use aml_events::{AmlEvent, EventBody};
use bench_pair::compare;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

const EVENT: &[u8] = include_bytes!("../tests/fixtures/payment_subprocess_created.json");

fn from_slice(c: &mut Criterion) {
    let event = AmlEvent::from_slice(EVENT).unwrap();
    assert!(matches!(
        event.body(),
        EventBody::PaymentSubprocessCreated(_)
    ));
    let value: Value = serde_json::from_slice(EVENT).unwrap();
    assert_eq!(value["notificationId"], event.notification_id());
    compare(
        c,
        "aml_event_from_slice",
        || AmlEvent::from_slice(EVENT).unwrap(),
        || serde_json::from_slice::<Value>(EVENT).unwrap(),
    );
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = from_slice
}
criterion_main!(benches);
