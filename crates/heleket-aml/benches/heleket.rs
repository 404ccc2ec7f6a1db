//! Heleket's hot paths beside the bare code they replace, in the same run (see `bench-pair`):
//!
//! - `payment_info`: [`HeleketClient::payment_info`] against a loopback server, beside the
//!   same signed POST sent with bare `reqwest` and read into a `serde_json::Value`;
//! - `verify_signature` and `verify`: [`WebhookVerifier`] on a 648-byte payment webhook,
//!   beside the bare `md5(base64(unsigned) ++ key)` over the body already cut.
//!
//! `cargo bench -p heleket-aml --bench heleket`; `cargo xtask bench` prints the ratios.

#![allow(missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bench_pair::{Loopback, compare, compare_async};
use compliance_core::http::HttpClientBuilder;
use criterion::{Criterion, criterion_group, criterion_main};
use heleket_aml::{HeleketClient, HeleketWebhook, PaymentRef, PaymentStatus, WebhookVerifier};
use md5::{Digest as _, Md5};
use serde_json::Value;

const MERCHANT: &str = "8b03432e-385b-4670-8d06-064591096795";
const KEY: &str = "test-api-key";
const UUID: &str = "70b8db5c-b952-406d-af7a-9b4f8a1ef1ee";
const PAYMENT_INFO: &[u8] = include_bytes!("../tests/fixtures/payment_info_locked.json");
const WEBHOOK: &[u8] = include_bytes!("../tests/fixtures/webhook_payment_locked.json");

/// What a hand-written client computes: `md5(base64(body) ++ key)` in lowercase hex.
fn bare_sign(body: &[u8]) -> String {
    let mut md5 = Md5::new();
    md5.update(STANDARD.encode(body));
    md5.update(KEY);
    hex::encode(md5.finalize())
}

fn payment_info(c: &mut Criterion) {
    let server = Loopback::start(200, "application/json", PAYMENT_INFO);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = HeleketClient::builder()
        .merchant(MERCHANT)
        .payment_key(KEY)
        .base_url(server.url())
        .build()
        .unwrap();
    let payment = PaymentRef::uuid(UUID);
    let http = HttpClientBuilder::new().build().unwrap();
    let url = format!("{}/v1/payment/info", server.url());

    let project = async || client.payment_info(&payment).await.unwrap();
    let bare = async || {
        let body = serde_json::to_vec(&serde_json::json!({ "uuid": UUID })).unwrap();
        let response = http
            .post(&url)
            .header("merchant", MERCHANT)
            .header("sign", bare_sign(&body))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let bytes = response.bytes().await.unwrap();
        let mut answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(answer["state"], 0);
        answer["result"].take()
    };
    // Both sides read the same payment before anything is timed.
    let (typed, value) = runtime.block_on(async { (project().await, bare().await) });
    assert_eq!(typed.status, PaymentStatus::Locked);
    assert_eq!(value["uuid"], typed.uuid.as_str());
    compare_async(c, "payment_info", &runtime, project, bare);
}

fn webhooks(c: &mut Criterion) {
    let verifier = WebhookVerifier::new(KEY);
    // The body without its `sign` member (the last one), as the verifier cuts it.
    let text = std::str::from_utf8(WEBHOOK).unwrap();
    let at = text.rfind(r#","sign":""#).unwrap();
    let signature = text[at + 9..text.len() - 2].to_owned();
    let unsigned = format!("{}}}", &text[..at]).into_bytes();
    assert_eq!(bare_sign(&unsigned), signature);
    assert!(matches!(
        verifier.verify(WEBHOOK).unwrap(),
        HeleketWebhook::Payment(_)
    ));

    let bare = || bare_sign(&unsigned).as_bytes() == signature.as_bytes();
    compare(
        c,
        "verify_signature",
        || verifier.verify_signature(WEBHOOK).unwrap(),
        bare,
    );
    compare(c, "verify", || verifier.verify(WEBHOOK).unwrap(), bare);
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = payment_info, webhooks
}
criterion_main!(benches);
