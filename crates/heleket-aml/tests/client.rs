//! Every endpoint against a mock server: exact method, path, headers and signed body bytes
//! out; exact parsing of what comes back.

use heleket_aml::Actionable as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compliance_core::http::{HttpClientBuilder, RetryPolicy, TransportConfig};
use compliance_core::rt::ManualClock;
use compliance_core::{AmlError, AmlProvider, AmlStatus, RequiredAction, Subject, SubjectRef};
use heleket_aml::{
    Error, HeleketClient, KeyKind, PaymentRef, PaymentStatus, PayoutStatus, TestWebhook,
    WebhookKind,
};
use mockito::{Matcher, Mock, Server, ServerGuard};

const MERCHANT: &str = "8b03432e-385b-4670-8d06-064591096795";
const PAYMENT_KEY: &str = "test-api-key";
const PAYOUT_KEY: &str = "test-payout-key";
const UUID: &str = "70b8db5c-b952-406d-af7a-9b4f8a1ef1ee";
const HOOK_URL: &str = "https://shop.example/hooks/heleket";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn client(server: &ServerGuard) -> HeleketClient {
    builder(server).build().unwrap()
}

fn builder(server: &ServerGuard) -> heleket_aml::HeleketClientBuilder {
    HeleketClient::builder()
        .merchant(MERCHANT)
        .payment_key(PAYMENT_KEY)
        .payout_key(PAYOUT_KEY)
        .base_url(server.url())
        .transport_config(TransportConfig::default().retry(
            RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)),
        ))
}

/// What the mock server received, for snapshots.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    fn bodies(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A mock for `POST path` that insists on the exact headers and body bytes and signature.
async fn expect_call(
    server: &mut ServerGuard,
    path: &str,
    body: &'static str,
    sign: &str,
    status: usize,
    response: String,
    captured: &Captured,
) -> Mock {
    let sink = captured.0.clone();
    server
        .mock("POST", path)
        .match_header("merchant", MERCHANT)
        .match_header("sign", sign)
        .match_header("content-type", "application/json")
        .match_header("user-agent", Matcher::Regex("^heleket-aml/".into()))
        .match_body(Matcher::Exact(body.into()))
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body_from_request(move |request| {
            let body = request.body().cloned().unwrap_or_default();
            sink.lock().unwrap().push(String::from_utf8(body).unwrap());
            response.clone().into_bytes()
        })
        .create_async()
        .await
}

#[tokio::test]
async fn aml_links_by_order_id_parses_the_seed_example() {
    let mut server = Server::new_async().await;
    let captured = Captured::default();
    // The spec's vector: `{"order_id":"order-42"}` with `test-api-key`.
    let mock = expect_call(
        &mut server,
        "/v1/payment/aml-links",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("aml_links_seed.json"),
        &captured,
    )
    .await;
    let links = client(&server)
        .aml_links(&PaymentRef::order_id("order-42"))
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(links.len(), 2);
    assert_eq!(links[1].expired_at, "2026-05-13T11:32:38Z".parse().unwrap());
    insta::assert_snapshot!(captured.bodies().join("\n"), @r#"{"order_id":"order-42"}"#);
    // The seed's request example (its curl `-d` body, copied verbatim) is the same JSON:
    // the page's "query parameters" travel as the signed JSON body.
    let seed: serde_json::Value =
        serde_json::from_str(&fixture("aml_links_request_seed.json")).unwrap();
    let sent: serde_json::Value = serde_json::from_str(&captured.bodies()[0]).unwrap();
    assert_eq!(sent, seed);
    insta::assert_json_snapshot!("aml_links_seed", links);
}

#[tokio::test]
async fn aml_links_by_uuid_unknown_statuses_and_extra_fields() {
    let mut server = Server::new_async().await;
    let captured = Captured::default();
    let mock = expect_call(
        &mut server,
        "/v1/payment/aml-links",
        r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#,
        "ebbccb1c3836bb421cf19854dab45ae9",
        200,
        fixture("aml_links_unknown_status.json"),
        &captured,
    )
    .await;
    let links = client(&server)
        .aml_links(&PaymentRef::uuid(UUID))
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(
        links[0].status,
        heleket_aml::AmlLinkStatus::Unknown("under_review".into())
    );
    assert_eq!(links[0].expired_at.subsec_microsecond(), 123_456);
    insta::assert_snapshot!(captured.bodies().join("\n"), @r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#);
    insta::assert_json_snapshot!("aml_links_unknown_status", links);
}

#[tokio::test]
async fn aml_links_empty_result_is_an_empty_list() {
    let mut server = Server::new_async().await;
    let mock = expect_call(
        &mut server,
        "/v1/payment/aml-links",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("aml_links_empty.json"),
        &Captured::default(),
    )
    .await;
    let links = client(&server)
        .aml_links(&PaymentRef::order_id("order-42"))
        .await
        .unwrap();
    mock.assert_async().await;
    assert!(links.is_empty());
}

#[tokio::test]
async fn payment_info_locked() {
    let mut server = Server::new_async().await;
    let captured = Captured::default();
    let mock = expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#,
        "ebbccb1c3836bb421cf19854dab45ae9",
        200,
        fixture("payment_info_locked.json"),
        &captured,
    )
    .await;
    let payment = client(&server)
        .payment_info(&PaymentRef::uuid(UUID))
        .await
        .unwrap();
    mock.assert_async().await;
    assert!(payment.payment_status.is_locked());
    assert_eq!(payment.amount.to_string(), "15.00");
    assert_eq!(payment.discount_percent.unwrap().to_string(), "-5");
    assert_eq!(
        payment.created_at,
        Some("2023-07-11T17:23:52Z".parse().unwrap())
    );
    assert_eq!(payment.expired_at.unwrap().as_second(), 1_689_099_831);
    insta::assert_snapshot!(captured.bodies().join("\n"), @r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#);
    insta::assert_json_snapshot!("payment_info_locked", payment);
}

#[tokio::test]
async fn payment_info_nulls_extra_fields_and_unknown_status() {
    let mut server = Server::new_async().await;
    let mock = expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("payment_info_nulls_extra.json"),
        &Captured::default(),
    )
    .await;
    let payment = client(&server)
        .payment_info(&PaymentRef::order_id("order-42"))
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(
        payment.payment_status,
        PaymentStatus::Unknown("aml_check".into())
    );
    // 20 decimal places survive: never through f64.
    assert_eq!(payment.amount.to_string(), "0.10000000000000000001");
    assert_eq!(payment.payment_amount, None);
    assert_eq!(payment.discount, None);
    assert_eq!(payment.expired_at, None);
    assert_eq!(payment.created_at.unwrap().subsec_microsecond(), 123_456);
    insta::assert_json_snapshot!("payment_info_nulls_extra", payment);
}

#[tokio::test]
async fn payment_info_empty_array_is_explained() {
    let mut server = Server::new_async().await;
    let mock = expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("payment_info_empty_result.json"),
        &Captured::default(),
    )
    .await;
    let err = client(&server)
        .payment_info(&PaymentRef::order_id("order-42"))
        .await
        .unwrap_err();
    mock.assert_async().await;
    assert!(matches!(
        err,
        Error::Core(compliance_core::Error::Decode { .. })
    ));
    insta::assert_snapshot!("payment_info_empty_array", err.to_string());
}

#[tokio::test]
async fn resend_sends_once_and_is_not_retried() {
    let mut server = Server::new_async().await;
    let captured = Captured::default();
    let mock = expect_call(
        &mut server,
        "/v1/payment/resend",
        r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#,
        "ebbccb1c3836bb421cf19854dab45ae9",
        200,
        r#"{"state":0,"result":[]}"#.into(),
        &captured,
    )
    .await;
    client(&server)
        .resend_webhook(&PaymentRef::uuid(UUID))
        .await
        .unwrap();
    mock.assert_async().await;
    insta::assert_snapshot!(captured.bodies().join("\n"), @r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#);

    // A 503 is not retried: whether Heleket resent is unknown.
    let failing = server
        .mock("POST", "/v1/payment/resend")
        .with_status(503)
        .with_body("unavailable")
        .expect(1)
        .create_async()
        .await;
    let err = client(&server)
        .resend_webhook(&PaymentRef::uuid(UUID))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    failing.assert_async().await;
}

#[tokio::test]
async fn reads_are_retried_on_server_errors() {
    let mut server = Server::new_async().await;
    let first = server
        .mock("POST", "/v1/payment/aml-links")
        .with_status(502)
        .expect(1)
        .create_async()
        .await;
    let second = expect_call(
        &mut server,
        "/v1/payment/aml-links",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("aml_links_seed.json"),
        &Captured::default(),
    )
    .await;
    let links = client(&server)
        .aml_links(&PaymentRef::order_id("order-42"))
        .await
        .unwrap();
    assert_eq!(links.len(), 2);
    first.assert_async().await;
    second.assert_async().await;
}

#[tokio::test]
async fn test_webhooks_use_the_key_of_their_kind() {
    let mut server = Server::new_async().await;
    let captured = Captured::default();
    let payment = expect_call(
        &mut server,
        "/v1/test-webhook/payment",
        r#"{"order_id":"order-42","currency":"USDT","network":"tron","url_callback":"https://shop.example/hooks/heleket","status":"locked"}"#,
        "34ab7e8d3e4addfb86b8fa4c0be48617",
        200,
        fixture("test_webhook_ok.json"),
        &captured,
    )
    .await;
    let wallet = expect_call(
        &mut server,
        "/v1/test-webhook/wallet",
        r#"{"currency":"BTC","network":"btc","url_callback":"https://shop.example/hooks/heleket"}"#,
        "48d2f1b39ec87a8e5f40759593cbdae3",
        200,
        fixture("test_webhook_ok.json"),
        &captured,
    )
    .await;
    // Signed with the payout key.
    let payout = expect_call(
        &mut server,
        "/v1/test-webhook/payout",
        r#"{"uuid":"a0b1c2d3-0000-4000-8000-000000000003","currency":"USDT","network":"bsc","url_callback":"https://shop.example/hooks/heleket","status":"fail"}"#,
        "9064bcde86f7fb8032de2a5dc6435e47",
        200,
        fixture("test_webhook_ok.json"),
        &captured,
    )
    .await;
    let client = client(&server);
    client
        .test_webhook(
            &TestWebhook::new(WebhookKind::Payment, HOOK_URL, "USDT", "tron")
                .payment(PaymentRef::order_id("order-42"))
                .status(PaymentStatus::Locked),
        )
        .await
        .unwrap();
    client
        .test_webhook(&TestWebhook::new(
            WebhookKind::Wallet,
            HOOK_URL,
            "BTC",
            "btc",
        ))
        .await
        .unwrap();
    client
        .test_webhook(
            &TestWebhook::new(WebhookKind::Payout, HOOK_URL, "USDT", "bsc")
                .payment(PaymentRef::uuid("a0b1c2d3-0000-4000-8000-000000000003"))
                .status(PayoutStatus::Fail),
        )
        .await
        .unwrap();
    payment.assert_async().await;
    wallet.assert_async().await;
    payout.assert_async().await;
    insta::assert_snapshot!("test_webhook_bodies", captured.bodies().join("\n"));
}

#[tokio::test]
async fn test_webhook_is_not_retried_and_payout_needs_the_payout_key() {
    let mut server = Server::new_async().await;
    let failing = server
        .mock("POST", "/v1/test-webhook/payment")
        .with_status(500)
        .expect(1)
        .create_async()
        .await;
    let err = client(&server)
        .test_webhook(&TestWebhook::new(
            WebhookKind::Payment,
            HOOK_URL,
            "USDT",
            "tron",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    failing.assert_async().await;

    let never = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let without_payout = HeleketClient::builder()
        .merchant(MERCHANT)
        .payment_key(PAYMENT_KEY)
        .base_url(server.url())
        .build()
        .unwrap();
    let err = without_payout
        .test_webhook(&TestWebhook::new(
            WebhookKind::Payout,
            HOOK_URL,
            "USDT",
            "bsc",
        ))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Core(compliance_core::Error::Config(_))
    ));
    insta::assert_snapshot!("missing_payout_key", err.to_string());
    // Refused locally, before any I/O.
    let err = without_payout
        .test_webhook(&TestWebhook::new(WebhookKind::Payment, "x", "USDT", "bsc"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Core(compliance_core::Error::InvalidRequest {
            field: "url_callback",
            ..
        })
    ));
    let err = without_payout
        .aml_links(&PaymentRef::order_id("order 42"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Core(compliance_core::Error::InvalidRequest {
            field: "order_id",
            ..
        })
    ));
    never.assert_async().await;
}

#[tokio::test]
async fn signature_rejection_names_the_key() {
    let mut server = Server::new_async().await;
    let mock = expect_call(
        &mut server,
        "/v1/payment/aml-links",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        401,
        fixture("error_invalid_sign.json"),
        &Captured::default(),
    )
    .await;
    let err = client(&server)
        .aml_links(&PaymentRef::order_id("order-42"))
        .await
        .unwrap_err();
    // Not retried: the request was understood and refused.
    mock.assert_async().await;
    assert!(matches!(
        err,
        Error::SignatureRejected {
            key: KeyKind::Payment,
            ..
        }
    ));
    assert!(!err.is_retryable());
    insta::assert_snapshot!("invalid_sign", err.to_string());
    insta::assert_debug_snapshot!("invalid_sign_debug", err);
}

#[tokio::test]
async fn validation_and_business_errors() {
    let mut server = Server::new_async().await;
    let validation = expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        422,
        fixture("error_validation.json"),
        &Captured::default(),
    )
    .await;
    let client = client(&server);
    let err = client
        .payment_info(&PaymentRef::order_id("order-42"))
        .await
        .unwrap_err();
    validation.assert_async().await;
    assert_eq!(
        err.validation_rules("order_id").unwrap(),
        ["validation.required_without", "validation.regex"]
    );
    insta::assert_debug_snapshot!("validation_error", err);
    insta::assert_snapshot!("validation_error_display", err.to_string());
    validation.remove_async().await;

    let not_found = expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("error_not_found.json"),
        &Captured::default(),
    )
    .await;
    let err = client
        .payment_info(&PaymentRef::order_id("order-42"))
        .await
        .unwrap_err();
    not_found.assert_async().await;
    assert!(matches!(&err, Error::Business { message: Some(m), .. } if m == "Payment not found"));
    insta::assert_snapshot!("business_error", err.to_string());
}

#[tokio::test]
async fn a_callers_http_client_builder_is_used() {
    let mut server = Server::new_async().await;
    let mock = expect_call(
        &mut server,
        "/v1/payment/aml-links",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("aml_links_empty.json"),
        &Captured::default(),
    )
    .await;
    let client = HeleketClient::builder()
        .merchant(MERCHANT)
        .payment_key(PAYMENT_KEY)
        .base_url(server.url())
        .http_client(HttpClientBuilder::new().user_agent("shop/1.0"))
        .build()
        .unwrap();
    assert!(
        client
            .aml_links(&PaymentRef::order_id("order-42"))
            .await
            .unwrap()
            .is_empty()
    );
    mock.assert_async().await;
}

#[tokio::test]
async fn aml_provider_for_a_locked_payment_asks_for_the_links() {
    let mut server = Server::new_async().await;
    let info = expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("payment_info_locked.json"),
        &Captured::default(),
    )
    .await;
    let links = expect_call(
        &mut server,
        "/v1/payment/aml-links",
        r#"{"order_id":"order-42"}"#,
        "dcbb5d7c669c5daeec167f953afb7171",
        200,
        fixture("aml_links_seed.json"),
        &Captured::default(),
    )
    .await;
    // Before the seed's `init` link expires (2026-05-13T11:32:38Z).
    let clock = Arc::new(ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap()));
    let heleket = builder(&server).clock(clock.clone()).build().unwrap();
    let providers: Vec<Box<dyn AmlProvider>> = vec![Box::new(heleket)];
    let provider = &providers[0];
    assert_eq!(provider.provider(), "heleket");
    let subject = Subject::Payment {
        reference: SubjectRef::ExternalId("order-42".into()),
    };
    let state = provider.aml_state(&subject).await.unwrap();
    info.assert_async().await;
    links.assert_async().await;
    assert_eq!(state.provider_status, "locked");
    let AmlStatus::ActionRequired { actions } = &state.status else {
        panic!("{state:?}")
    };
    assert!(matches!(
        &actions[..],
        [RequiredAction::OpenLink { url, status: Some(s), .. }] if url == "https://some.link/" && s == "init"
    ));
    insta::assert_json_snapshot!("aml_state_locked", state);

    // After it: the link is never offered, and the expired questionnaire cannot be finished.
    clock.set("2026-05-13T11:32:38Z".parse().unwrap());
    let state = provider.aml_state(&subject).await.unwrap();
    assert_eq!(
        state.status,
        AmlStatus::ActionRequired {
            actions: Vec::new()
        }
    );

    let unsupported = provider
        .aml_state(&Subject::Wallet {
            blockchain: "BTC".into(),
            address: "bc1q".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(unsupported, AmlError::Unsupported { .. }));
}

#[tokio::test]
async fn aml_provider_for_a_paid_payment_does_not_ask_for_links() {
    let mut server = Server::new_async().await;
    let paid = fixture("payment_info_locked.json").replace("\"locked\"", "\"paid\"");
    let info = expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#,
        "ebbccb1c3836bb421cf19854dab45ae9",
        200,
        paid,
        &Captured::default(),
    )
    .await;
    let no_links = server
        .mock("POST", "/v1/payment/aml-links")
        .expect(0)
        .create_async()
        .await;
    let state = client(&server)
        .aml_state(&Subject::Payment {
            reference: SubjectRef::ProviderId(UUID.into()),
        })
        .await
        .unwrap();
    info.assert_async().await;
    no_links.assert_async().await;
    assert_eq!(state.status, AmlStatus::Clear);
    assert_eq!(state.provider_status, "paid");

    // Provider errors keep the crate's error and its retryability.
    let mut server = Server::new_async().await;
    expect_call(
        &mut server,
        "/v1/payment/info",
        r#"{"uuid":"70b8db5c-b952-406d-af7a-9b4f8a1ef1ee"}"#,
        "ebbccb1c3836bb421cf19854dab45ae9",
        200,
        fixture("error_not_found.json"),
        &Captured::default(),
    )
    .await;
    let err = client(&server)
        .aml_state(&Subject::Payment {
            reference: SubjectRef::ProviderId(UUID.into()),
        })
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    let AmlError::Provider { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        source.downcast_ref::<Error>(),
        Some(Error::Business { .. })
    ));
}

#[test]
fn debug_of_the_client_contains_neither_key() {
    let client = HeleketClient::builder()
        .merchant(MERCHANT)
        .payment_key("super-secret-payment-key")
        .payout_key("super-secret-payout-key")
        .build()
        .unwrap();
    let debug = format!("{client:?} {:?}", client.webhook_verifier());
    assert!(!debug.contains("super-secret-payment-key"), "{debug}");
    assert!(!debug.contains("super-secret-payout-key"), "{debug}");
    assert!(debug.contains(MERCHANT));
}
