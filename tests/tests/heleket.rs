//! heleket-aml against the simulated Heleket: signed calls, the AML hold and its links,
//! signed webhooks verified on raw bytes, retries only where harmless.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use compliance_core::{AmlProvider, AmlStatus, RequiredAction, Subject, SubjectRef};
use compliance_e2e::serve;
use compliance_sandbox::{Faults, LinkStatus, NewPayment, Provider, Sandbox, SandboxConfig};
use heleket_aml::{
    AmlLinkStatus, Error, HeleketClient, HeleketWebhook, PaymentRef, PaymentStatus, TestWebhook,
    WebhookKind, WebhookVerifier,
};

/// A merchant's callback endpoint: verifies every delivery and keeps what verified.
async fn callback(verifier: WebhookVerifier) -> (String, Arc<Mutex<Vec<HeleketWebhook>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let verifier = Arc::new(verifier);
    let app = Router::new().route(
        "/heleket",
        post(move |body: Bytes| {
            let (verifier, store) = (verifier.clone(), store.clone());
            async move {
                match verifier.verify(&body) {
                    Ok(webhook) => {
                        store.lock().unwrap().push(webhook);
                        StatusCode::OK
                    }
                    Err(_) => StatusCode::UNAUTHORIZED,
                }
            }
        }),
    );
    (format!("{}/heleket", serve(app).await), seen)
}

fn client(sandbox: &Sandbox) -> HeleketClient {
    let c = sandbox.heleket().credentials();
    HeleketClient::builder()
        .merchant(c.merchant)
        .payment_key(c.payment_key)
        .payout_key(c.payout_key)
        .base_url(sandbox.endpoint(Provider::Heleket).url())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_locked_payment_is_released_once_its_questionnaire_is_completed() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let (url, webhooks) = callback(client.webhook_verifier().clone()).await;
    let heleket = sandbox.heleket();
    let uuid = heleket.create_payment(NewPayment::new("order-42", "100.50", "USDT").callback(url));
    let by_order = PaymentRef::OrderId("order-42".into());
    let subject = Subject::Payment {
        reference: SubjectRef::ExternalId("order-42".into()),
    };

    let payment = client.payment_info(&by_order).await.unwrap();
    assert_eq!(payment.uuid, uuid);
    assert_eq!(payment.status, PaymentStatus::Paid);
    assert_eq!(
        client.aml_state(&subject).await.unwrap().status,
        AmlStatus::Clear
    );
    assert!(client.aml_links(&by_order).await.unwrap().is_empty());

    heleket.lock_payment(&uuid).await.unwrap();
    let payment = client
        .payment_info(&PaymentRef::Uuid(uuid.clone()))
        .await
        .unwrap();
    assert_eq!(payment.status, PaymentStatus::Locked);
    let links = client.aml_links(&by_order).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].status, AmlLinkStatus::Init);
    let state = client.aml_state(&subject).await.unwrap();
    let AmlStatus::ActionRequired { actions } = &state.status else {
        panic!("{state:?}")
    };
    assert!(
        matches!(&actions[0], RequiredAction::OpenLink { url, .. } if url.starts_with("https://aml.heleket.com/questionnaire/"))
    );
    assert_eq!(state.provider_status, "locked");

    heleket
        .set_link_status(&uuid, 0, LinkStatus::Pending)
        .await
        .unwrap();
    assert_eq!(
        client.aml_links(&by_order).await.unwrap()[0].status,
        AmlLinkStatus::Pending
    );
    heleket
        .set_link_status(&uuid, 0, LinkStatus::Completed)
        .await
        .unwrap();
    assert_eq!(
        client.payment_info(&by_order).await.unwrap().status,
        PaymentStatus::Paid
    );
    assert_eq!(
        client.aml_state(&subject).await.unwrap().status,
        AmlStatus::Clear
    );

    // The lock and the release each reached the merchant as a verified webhook.
    let seen = webhooks.lock().unwrap().clone();
    let statuses: Vec<_> = seen
        .iter()
        .map(|w| match w {
            HeleketWebhook::Payment(p) => p.status.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(statuses, vec![PaymentStatus::Locked, PaymentStatus::Paid]);
    assert_eq!(
        compliance_e2e::heleket_sent(heleket),
        vec![("locked".into(), Some(200)), ("paid".into(), Some(200))]
    );
}

#[tokio::test]
async fn test_webhooks_use_the_key_of_their_type_and_resend_needs_a_final_payment() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let (url, webhooks) = callback(client.webhook_verifier().clone()).await;

    client
        .test_webhook(&TestWebhook::new(
            WebhookKind::Payment,
            &url,
            "USDT",
            "tron",
        ))
        .await
        .unwrap();
    client
        .test_webhook(&TestWebhook::new(WebhookKind::Payout, &url, "USDT", "tron").status("paid"))
        .await
        .unwrap();
    let kinds: Vec<_> = webhooks
        .lock()
        .unwrap()
        .iter()
        .map(HeleketWebhook::kind)
        .collect();
    assert_eq!(kinds, vec![WebhookKind::Payment, WebhookKind::Payout]);

    let uuid = sandbox
        .heleket()
        .create_payment(NewPayment::new("order-7", "5", "USDT").callback(&url));
    client
        .resend_webhook(&PaymentRef::Uuid(uuid.clone()))
        .await
        .unwrap();
    assert_eq!(webhooks.lock().unwrap().len(), 3);
    sandbox.heleket().lock_payment(&uuid).await.unwrap();
    let err = client
        .resend_webhook(&PaymentRef::Uuid(uuid))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Business { .. }), "{err:?}");
    let err = client
        .payment_info(&PaymentRef::OrderId("nope".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Business { .. }), "{err:?}");
}

#[tokio::test]
async fn a_wrong_key_is_reported_as_a_rejected_signature() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let c = sandbox.heleket().credentials();
    let wrong = HeleketClient::builder()
        .merchant(c.merchant)
        .payment_key("not-the-key")
        .base_url(sandbox.endpoint(Provider::Heleket).url())
        .build()
        .unwrap();
    let err = wrong
        .aml_links(&PaymentRef::OrderId("order-1".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SignatureRejected { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("payment key"), "{text}");
    assert!(
        !text.contains("not-the-key"),
        "the key must not leak: {text}"
    );
}

#[tokio::test]
async fn reads_are_retried_and_resend_is_sent_exactly_once() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let uuid = sandbox
        .heleket()
        .create_payment(NewPayment::new("order-9", "1", "USDT").callback("http://127.0.0.1:9/x"));
    let endpoint = sandbox.endpoint(Provider::Heleket);
    endpoint.set_faults(Faults::none().server_errors(1.0));

    let unavailable = |e: &Error| {
        matches!(
            e,
            Error::Core(compliance_core::Error::Provider { status, .. }) if status.as_u16() == 503
        )
    };
    let err = client
        .payment_info(&PaymentRef::Uuid(uuid.clone()))
        .await
        .unwrap_err();
    assert!(unavailable(&err), "{err:?}");
    let err = client
        .resend_webhook(&PaymentRef::Uuid(uuid))
        .await
        .unwrap_err();
    assert!(unavailable(&err), "{err:?}");
    let counters = endpoint.counters();
    assert_eq!(
        counters.count("POST", "/v1/payment/info"),
        3,
        "a read is retried"
    );
    assert_eq!(
        counters.count("POST", "/v1/payment/resend"),
        1,
        "resend is never repeated"
    );
}
