//! `MemoryInbox` claim + complete with 1 thousand and 1 million keys held, beside a bare
//! baseline doing the minimum any bounded deduplication needs (insert the new key into a
//! locked `HashMap`, forget the oldest), in the same run (see `bench-pair`): rows
//! `inbox_1k` and `inbox_1M`.
//!
//! The inbox runs on a manual clock that moves 1 µs per delivery, with a retention of
//! `held` µs: every delivery adds one key and the pruning forgets one, so exactly `held`
//! keys stay held and the pruning cost is in the figure.
//!
//! `cargo bench -p compliance-core --bench inbox`; `cargo xtask bench` prints the ratios.

#![allow(missing_docs)]

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bench_pair::{Executor as _, Inline, compare_async};
use compliance_core::rt::ManualClock;
use compliance_core::time::SignedDuration;
use compliance_core::{Claim, Inbox, MemoryInbox};
use criterion::{Criterion, criterion_group, criterion_main};

struct Deliveries {
    next: u64,
    key: String,
}

impl Deliveries {
    fn new() -> Self {
        Self {
            next: 0,
            key: String::with_capacity(32),
        }
    }

    fn next_key(&mut self) -> &str {
        self.key.clear();
        write!(self.key, "delivery-{:016x}", self.next).unwrap();
        self.next += 1;
        &self.key
    }
}

fn inbox_with(held: usize) -> (MemoryInbox, Arc<ManualClock>, Deliveries) {
    let clock = Arc::new(ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap()));
    let inbox = MemoryInbox::new()
        .capacity(held + 16)
        .retention(Duration::from_micros(held as u64))
        .clock(clock.clone());
    let mut deliveries = Deliveries::new();
    for _ in 0..held {
        Inline.block_on(one_delivery(&inbox, &clock, &mut deliveries));
    }
    (inbox, clock, deliveries)
}

async fn one_delivery(inbox: &MemoryInbox, clock: &ManualClock, deliveries: &mut Deliveries) {
    clock.advance(SignedDuration::from_micros(1));
    let key = deliveries.next_key();
    let Claim::Acquired(token) = inbox.claim(key).await.unwrap() else {
        unreachable!("every key is new")
    };
    inbox.complete(key, &token).await.unwrap();
}

fn bench(c: &mut Criterion) {
    for (name, held) in [("1k", 1_000usize), ("1M", 1_000_000)] {
        let (inbox, clock, mut deliveries) = inbox_with(held);
        assert!(
            inbox.len() >= held - 1 && inbox.len() <= held + 1,
            "{}",
            inbox.len()
        );

        // Baseline: a locked map plus a FIFO of keys, one insert and one eviction, on a clock
        // of its own (moving the inbox's would make it prune twice as much).
        let bare_clock = ManualClock::new("2025-01-01T00:00:00Z".parse().unwrap());
        let map = Mutex::new(HashMap::<Arc<str>, u64>::with_capacity(held));
        let fifo = Mutex::new(VecDeque::<Arc<str>>::with_capacity(held));
        let mut keys = Deliveries::new();
        for _ in 0..held {
            let key: Arc<str> = Arc::from(keys.next_key());
            map.lock().unwrap().insert(key.clone(), 0);
            fifo.lock().unwrap().push_back(key);
        }

        compare_async(
            c,
            &format!("inbox_{name}"),
            &Inline,
            async || one_delivery(&inbox, &clock, &mut deliveries).await,
            async || {
                bare_clock.advance(SignedDuration::from_micros(1));
                let key: Arc<str> = Arc::from(keys.next_key());
                let mut map = map.lock().unwrap();
                let n = map.len() as u64;
                map.insert(key.clone(), n);
                let mut fifo = fifo.lock().unwrap();
                fifo.push_back(key);
                if let Some(old) = fifo.pop_front() {
                    map.remove(&old);
                }
            },
        );
        assert!(
            inbox.len() <= held + 1,
            "pruning keeps {held} held: {}",
            inbox.len()
        );
    }
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = bench
}
criterion_main!(benches);
