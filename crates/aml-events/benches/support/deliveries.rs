//! The seed's Tuum delivery, each time with a new `notificationId` of one length
//! (`ID-<prefix><12 digits>`), so that every body and stored row has the same size. Shared
//! by the benches that need a stream of new events.

use std::fmt::Write as _;

use bytes::Bytes;

/// The seed's `AML_SUBPROCESS_CREATED` notification (1.5 KB).
const EVENT: &str = include_str!("../../tests/fixtures/payment_subprocess_created.json");

/// New deliveries of [`EVENT`].
pub struct Deliveries {
    head: &'static str,
    tail: &'static str,
    prefix: char,
    next: u64,
}

impl Deliveries {
    /// Deliveries whose ids start with `prefix` (one per side of a pair, so they never
    /// collide).
    pub fn new(prefix: char) -> Self {
        let (head, tail) = EVENT.split_once("ID-9999").unwrap();
        Self {
            head,
            tail,
            prefix,
            next: 0,
        }
    }

    /// The `notificationId` the next body will carry.
    pub fn next_key(&self) -> String {
        format!("ID-{}{:012}", self.prefix, self.next + 1)
    }

    /// The next body.
    pub fn next(&mut self) -> Bytes {
        self.next += 1;
        let mut body = String::with_capacity(EVENT.len() + 16);
        body.push_str(self.head);
        write!(body, "ID-{}{:012}", self.prefix, self.next).unwrap();
        body.push_str(self.tail);
        Bytes::from(body)
    }
}
