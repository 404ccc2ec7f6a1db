//! The deliveries `cargo xtask fixtures record` captures (tests/fixtures/recorded/, Tuum
//! events from the sandbox delivered to this crate's receiver), each parsed with
//! [`AmlEvent::from_slice`] and snapshotted as a typed value next to the receiver's answer.
//! When Tuum's events change, re-recording and `cargo insta test` show what changed for
//! users (see xtask/README.md).

use compliance_core::recorded::{self, RecordedExchange};

use aml_events::AmlEvent;

/// Every exchange of every recorded set (see `compliance_core::recorded`).
fn exchanges() -> Vec<RecordedExchange> {
    recorded::load_for_test(env!("CARGO_MANIFEST_DIR"), "tuum")
}

#[test]
fn recorded_deliveries_parse_to_typed_events() {
    for x in exchanges() {
        let name = &x.name;
        assert_eq!(
            x.direction, "webhook",
            "{name}: Tuum only delivers; a recorded API call needs a parser here"
        );
        let event = AmlEvent::from_slice(&x.request.clone());
        let answer = String::from_utf8(x.response.clone())
            .unwrap_or_else(|e| panic!("{name}: the receiver's answer is not text: {e}"));
        let typed = match &event {
            Ok(event) => format!(
                "{:#?}",
                (
                    event.notification_id(),
                    event.event_type(),
                    event.routing_code(),
                    event.destination(),
                    event.original_message_date_time(),
                    event.body(),
                )
            ),
            Err(e) => format!("{e:#?}"),
        };
        let described = format!(
            "{} {answer}
{typed}",
            x.describe()
        );
        insta::assert_snapshot!(name.as_str(), described);
    }
}
