//! The fixtures `cargo xtask fixtures record` writes (tests/fixtures/recorded/ from the
//! sandbox, tests/fixtures/recorded-live/ from a live account when present), each parsed
//! with this crate's public API and snapshotted as a typed value. When Heleket changes,
//! re-recording and `cargo insta test` show what changed for users (see xtask/README.md).
//!
//! API answers are served back to the real client by a mock server. Webhook deliveries are
//! verified as recorded, byte for byte: the recorder signs each redacted delivery with the
//! published fixture keys below, using the sandbox's own signer (Heleket's PHP-style
//! signature, written from the documentation), so this checks the client's verifier against
//! an independent signer. Each delivery is also checked to fail, with the exact error, once
//! a byte changes and once the keys are swapped.

use compliance_core::recorded::{self, RecordedExchange};

use heleket_aml::webhook::MismatchCause;
use heleket_aml::{
    HeleketClient, PaymentRef, TestWebhook, WebhookError, WebhookKind, WebhookVerifier,
};

/// The keys `cargo xtask fixtures record` signs recorded deliveries with (xtask/README.md).
const PAYMENT_KEY: &str = "recorded-payment-key";
const PAYOUT_KEY: &str = "recorded-payout-key";

/// Every exchange of every recorded set (see `compliance_core::recorded`).
fn exchanges() -> Vec<RecordedExchange> {
    recorded::load_for_test(env!("CARGO_MANIFEST_DIR"), "heleket")
}

/// Serves the recorded answer to the client method the endpoint belongs to.
async fn replay(x: &RecordedExchange) -> String {
    let name = &x.name;
    let endpoint = x.endpoint.as_str();
    let mut server = mockito::Server::new_async().await;
    let mut mock = server
        .mock(x.method.as_str(), endpoint)
        .with_status(usize::from(x.status))
        .with_body(x.response.clone());
    if let Some(content_type) = x.response_content_type.as_deref() {
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

/// Verifies a recorded delivery as recorded, then checks that a changed byte and swapped
/// keys are each refused with the exact error.
fn webhook(x: &RecordedExchange) -> String {
    let name = &x.name;
    let verifier = WebhookVerifier::new(PAYMENT_KEY).with_payout_key(PAYOUT_KEY);
    let verified = verifier.verify(&x.request);
    let kind = match &verified {
        Ok(webhook) => webhook.kind(),
        Err(e) => panic!("{name}: the recorded delivery does not verify: {e}"),
    };
    // A byte inside the signed content, changed: nothing explains it.
    let mut altered = x.request.clone();
    let at = altered
        .windows(8)
        .position(|w| w == b"\"status\"")
        .unwrap_or_else(|| panic!("{name}: no status member"))
        + 10;
    altered[at] ^= 0x20;
    match verifier.verify(&altered) {
        Err(WebhookError::Mismatch {
            kind: k,
            cause: MismatchCause::Unexplained,
        }) if k == kind => {}
        other => panic!("{name}: an altered byte gave {other:?}"),
    }
    // The keys swapped: diagnosed as such.
    let swapped = WebhookVerifier::new(PAYOUT_KEY).with_payout_key(PAYMENT_KEY);
    match swapped.verify(&x.request) {
        Err(WebhookError::Mismatch {
            cause: MismatchCause::WrongKey { .. },
            ..
        }) => {}
        other => panic!("{name}: swapped keys gave {other:?}"),
    }
    format!("{verified:#?}")
}

#[tokio::test]
async fn recorded_fixtures_parse_to_typed_values() {
    for x in exchanges() {
        let name = &x.name;
        let typed = match Some(x.direction.as_str()) {
            Some("webhook") => webhook(&x),
            _ => replay(&x).await,
        };
        let described = format!(
            "{}
{typed}",
            x.describe()
        );
        insta::assert_snapshot!(name.as_str(), described);
    }
}
