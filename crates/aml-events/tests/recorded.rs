//! The deliveries `cargo xtask fixtures record` captures (tests/fixtures/recorded/, Tuum
//! events from the sandbox delivered to this crate's receiver), each parsed with
//! [`AmlEvent::from_slice`] and snapshotted as a typed value next to the receiver's answer.
//! When Tuum's events change, re-recording and `cargo insta test` show what changed for
//! users (see xtask/README.md).

use std::path::{Path, PathBuf};

use aml_events::AmlEvent;
use serde_json::Value;

/// Every exchange of every recorded set: (snapshot name, its directory, its manifest entry).
fn exchanges() -> Vec<(String, PathBuf, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for (dir, prefix) in [("recorded", ""), ("recorded-live", "live__")] {
        let dir = root.join(dir);
        let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
            continue;
        };
        let manifest: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join("manifest.json").display()));
        for entry in manifest["exchanges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let name = format!("{prefix}{}", entry["name"].as_str().unwrap_or_default());
            out.push((name, dir.clone(), entry));
        }
    }
    assert!(
        !out.is_empty(),
        "no recorded fixtures: run `cargo xtask fixtures record --provider tuum`"
    );
    out
}

fn read(dir: &Path, entry: &Value, side: &str) -> Vec<u8> {
    match entry[side]["file"].as_str() {
        Some(file) => std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")),
        None => Vec::new(),
    }
}

#[test]
fn recorded_deliveries_parse_to_typed_events() {
    for (name, dir, entry) in exchanges() {
        assert_eq!(
            entry["direction"], "webhook",
            "{name}: Tuum only delivers; a recorded API call needs a parser here"
        );
        let event = AmlEvent::from_slice(&read(&dir, &entry, "request"));
        let answer = String::from_utf8(read(&dir, &entry, "response"))
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
            "{} {} -> {} {answer}\n{typed}",
            entry["method"].as_str().unwrap_or_default(),
            entry["endpoint"].as_str().unwrap_or_default(),
            entry["status"],
        );
        insta::assert_snapshot!(name, described);
    }
}
