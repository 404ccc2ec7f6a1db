//! The fixtures `cargo xtask fixtures record` writes (tests/fixtures/recorded/ from the
//! sandbox, tests/fixtures/recorded-live/ from a live account when present), each parsed
//! with this crate's public API and snapshotted as a typed value. When Heleket changes,
//! re-recording and `cargo insta test` show what changed for users (see xtask/README.md).
//!
//! API answers are served back to the real client by a mock server; webhook deliveries are
//! re-signed with a test key (recording redacts the real signature) and verified.

use std::path::{Path, PathBuf};

use heleket_aml::test_util::signed_webhook_object;
use heleket_aml::{HeleketClient, PaymentRef, TestWebhook, WebhookKind, WebhookVerifier};
use serde_json::Value;

const PAYMENT_KEY: &str = "recorded-payment-key";
const PAYOUT_KEY: &str = "recorded-payout-key";

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
        "no recorded fixtures: run `cargo xtask fixtures record --provider heleket`"
    );
    out
}

fn body(dir: &Path, entry: &Value, side: &str) -> Vec<u8> {
    match entry[side]["file"].as_str() {
        Some(file) => std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")),
        None => Vec::new(),
    }
}

/// Serves the recorded answer to the client method the endpoint belongs to.
async fn replay(name: &str, dir: &Path, entry: &Value) -> String {
    let endpoint = entry["endpoint"].as_str().unwrap_or_default();
    let mut server = mockito::Server::new_async().await;
    let mut mock = server
        .mock(entry["method"].as_str().unwrap_or("POST"), endpoint)
        .with_status(entry["status"].as_u64().unwrap_or(200) as usize)
        .with_body(body(dir, entry, "response"));
    if let Some(content_type) = entry["response"]["content_type"].as_str() {
        mock = mock.with_header("content-type", content_type);
    }
    let _mock = mock.create_async().await;
    let client = HeleketClient::builder()
        .merchant("00000000-0000-4000-8000-000000000001")
        .payment_key(PAYMENT_KEY)
        .payout_key(PAYOUT_KEY)
        .base_url(server.url())
        .build()
        .unwrap();
    let payment = PaymentRef::uuid("00000000-0000-4000-8000-000000000002");
    let hook = "https://shop.example/hooks/heleket";
    let typed = match endpoint {
        "/v1/payment/info" => format!("{:#?}", client.payment_info(&payment).await),
        "/v1/payment/aml-links" => format!("{:#?}", client.aml_links(&payment).await),
        "/v1/payment/resend" => format!("{:#?}", client.resend_webhook(&payment).await),
        "/v1/test-webhook/payment" | "/v1/test-webhook/wallet" | "/v1/test-webhook/payout" => {
            let kind = match endpoint.rsplit('/').next() {
                Some("payout") => WebhookKind::Payout,
                Some("wallet") => WebhookKind::Wallet,
                _ => WebhookKind::Payment,
            };
            let test = TestWebhook::new(kind, hook, "USDT", "tron");
            format!("{:#?}", client.test_webhook(&test).await)
        }
        other => panic!(
            "{name}: no parser for `{other}`; add an arm to tests/recorded.rs for the new endpoint"
        ),
    };
    typed.replace(&server.url(), "http://mock")
}

/// Re-signs a recorded delivery with the test keys and verifies it.
fn webhook(name: &str, dir: &Path, entry: &Value) -> String {
    let delivered: Value = serde_json::from_slice(&body(dir, entry, "request"))
        .unwrap_or_else(|e| panic!("{name}: the delivery is not JSON: {e}"));
    let Value::Object(members) = delivered else {
        panic!("{name}: a webhook is a JSON object");
    };
    let key = if members.get("type").and_then(Value::as_str) == Some("payout") {
        PAYOUT_KEY
    } else {
        PAYMENT_KEY
    };
    let signed = signed_webhook_object(&members, key);
    let verifier = WebhookVerifier::new(PAYMENT_KEY).with_payout_key(PAYOUT_KEY);
    format!("{:#?}", verifier.verify(&signed))
}

#[tokio::test]
async fn recorded_fixtures_parse_to_typed_values() {
    for (name, dir, entry) in exchanges() {
        let typed = match entry["direction"].as_str() {
            Some("webhook") => webhook(&name, &dir, &entry),
            _ => replay(&name, &dir, &entry).await,
        };
        let described = format!(
            "{} {} -> {}\n{typed}",
            entry["method"].as_str().unwrap_or_default(),
            entry["endpoint"].as_str().unwrap_or_default(),
            entry["status"],
        );
        insta::assert_snapshot!(name, described);
    }
}
