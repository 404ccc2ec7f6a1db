//! The root README's "Upgrading" example, compiled and run here; `readme_shows_this_file`
//! keeps the README's copy identical.
// --- README example: start ---
//! Our heleket-aml upgrade test: every recorded Heleket webhook delivery, verified and parsed
//! by the heleket-aml version in Cargo.lock, snapshotted. After `cargo update -p heleket-aml`,
//! `cargo insta test` shows what the new version makes of the same bytes.
//!
//! [dev-dependencies]
//! heleket-aml = { version = "0.1", features = ["test-util"] }
//! compliance-core = { version = "0.1", features = ["test-util"] }
//! insta = "1"

use std::path::Path;

use compliance_core::recorded;
use heleket_aml::WebhookVerifier;

/// A recorded set (`manifest.json` + bodies, as `cargo xtask fixtures record` writes them):
/// here heleket-aml's own; in your project, the directory you recorded or copied.
const FIXTURES: &str = "../crates/heleket-aml/tests/fixtures";

/// The keys the recorded deliveries are signed with (use your own recording's keys).
const PAYMENT_KEY: &str = "recorded-payment-key";
const PAYOUT_KEY: &str = "recorded-payout-key";

#[test]
fn recorded_webhooks_parse_the_same_after_an_upgrade() {
    let exchanges = recorded::load(Path::new(FIXTURES)).unwrap();
    let verifier = WebhookVerifier::new(PAYMENT_KEY).with_payout_key(PAYOUT_KEY);
    let mut seen = 0;
    for x in exchanges.iter().filter(|x| x.direction == "webhook") {
        seen += 1;
        let parsed = verifier.verify(&x.request);
        insta::assert_snapshot!(format!("upgrade__{}", x.name), format!("{parsed:#?}"));
    }
    assert!(seen > 0, "no webhook deliveries under {FIXTURES}");
}
// --- README example: end ---

#[test]
fn readme_shows_this_file() {
    let this = include_str!("upgrade_snapshot.rs");
    let start = this.find("// --- README example: start ---\n").unwrap();
    let end = this.find("// --- README example: end ---").unwrap();
    let example = &this[start + "// --- README example: start ---\n".len()..end];
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(example),
        "the README's Upgrading example differs from tests/tests/upgrade_snapshot.rs"
    );
}
