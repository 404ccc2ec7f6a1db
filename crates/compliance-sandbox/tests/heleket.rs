//! The simulated Heleket checks what the real one checks, on raw HTTP. Requests are signed
//! and webhooks verified with `heleket-aml`'s code: two implementations written apart
//! agree.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::routing;
use compliance_core::Timestamp;
use compliance_core::http::{HeaderName, HeaderValue, Request, Response, Transport};
use compliance_sandbox::{
    HeleketConfig, HeleketKey, InstantSleeper, LinkStatus, NewPayment, Provider, Sandbox,
    SandboxConfig,
};
use heleket_aml::{HeleketWebhook, WebhookVerifier};
use serde_json::{Value, json};

async fn start(config: HeleketConfig) -> (Sandbox, Transport) {
    let mut c = SandboxConfig::default().sleeper(InstantSleeper);
    c.heleket = config;
    let sandbox = Sandbox::start(c).await.unwrap();
    let t = Transport::builder(sandbox.endpoint(Provider::Heleket).url())
        .build()
        .unwrap();
    (sandbox, t)
}

/// POSTs `body` to `path` with `merchant` and a `sign` header.
async fn post(t: &Transport, path: &str, merchant: &str, sign: &str, body: &[u8]) -> Response {
    let request = Request::post(path)
        .header(
            HeaderName::from_static("merchant"),
            HeaderValue::from_str(merchant).unwrap(),
        )
        .header(
            HeaderName::from_static("sign"),
            HeaderValue::from_str(sign).unwrap(),
        )
        .body(body.to_vec(), HeaderValue::from_static("application/json"));
    t.send(request).await.unwrap()
}

fn json_of(r: &Response) -> Value {
    serde_json::from_slice(r.body()).unwrap()
}

async fn hooks() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let app = Router::new().route(
        "/hook",
        routing::post(move |body: Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

#[tokio::test]
async fn merchant_and_sign_are_checked_over_the_raw_body() {
    let (sandbox, t) = start(HeleketConfig::default()).await;
    let c = sandbox.heleket().credentials();
    sandbox
        .heleket()
        .create_payment(NewPayment::new("order-42", "10", "USDT"));
    let body = br#"{"order_id":"order-42"}"#;
    let sign = heleket_aml::sign::sign(body, &c.payment_key);

    let r = post(&t, "/v1/payment/info", &c.merchant, &sign, body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json_of(&r)["result"]["order_id"], "order-42");
    assert_eq!(json_of(&r)["state"], 0);

    let refused = json!({"message": "Invalid Sign."});
    // The same JSON, other bytes: the signature covers the bytes.
    let spaced = br#"{"order_id": "order-42"}"#;
    let r = post(&t, "/v1/payment/info", &c.merchant, &sign, spaced).await;
    assert_eq!((r.status().as_u16(), json_of(&r)), (401, refused.clone()));
    // Heleket sends lowercase hex and compares exactly.
    let r = post(
        &t,
        "/v1/payment/info",
        &c.merchant,
        &sign.to_uppercase(),
        body,
    )
    .await;
    assert_eq!((r.status().as_u16(), json_of(&r)), (401, refused.clone()));
    // The payout key does not sign payment calls.
    let payout_sign = heleket_aml::sign::sign(body, &c.payout_key);
    let r = post(&t, "/v1/payment/info", &c.merchant, &payout_sign, body).await;
    assert_eq!((r.status().as_u16(), json_of(&r)), (401, refused));
    let r = post(&t, "/v1/payment/info", "someone-else", &sign, body).await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)),
        (401, json!({"message": "You are forbidden"}))
    );

    let neither = br#"{"currency":"USDT"}"#;
    let sign = heleket_aml::sign::sign(neither, &c.payment_key);
    let r = post(&t, "/v1/payment/aml-links", &c.merchant, &sign, neither).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        json_of(&r)["errors"]["uuid"],
        json!(["validation.required_without"])
    );
    // Both given: order_id wins.
    let both = br#"{"uuid":"no-such-uuid","order_id":"order-42"}"#;
    let sign = heleket_aml::sign::sign(both, &c.payment_key);
    let r = post(&t, "/v1/payment/info", &c.merchant, &sign, both).await;
    assert_eq!(json_of(&r)["result"]["order_id"], "order-42");
}

/// Webhooks are PHP-encoded (`\/`, raw UTF-8, `<>&` as they are, nulls kept, documented
/// member order) and signed so that the client's verifier accepts the raw bytes.
#[tokio::test]
async fn webhooks_are_php_encoded_and_verify_with_the_client() {
    let (sandbox, _) = start(HeleketConfig::default()).await;
    let (url, seen) = hooks().await;
    let h = sandbox.heleket();
    let uuid = h.create_payment(
        NewPayment::new("order-7", "99.90", "USDT")
            .callback(url)
            .additional_data("cart/7 <b>é</b> & co"),
    );
    h.lock_payment(&uuid).await.unwrap();
    let body = seen.lock().unwrap()[0].clone();
    let text = std::str::from_utf8(&body).unwrap();
    assert!(text.starts_with(r#"{"type":"payment","uuid":""#), "{text}");
    assert!(
        text.contains(r#""additional_data":"cart\/7 <b>é<\/b> & co""#),
        "{text}"
    );
    assert!(text.contains(r#""from":null"#), "{text}");
    assert!(text.ends_with(r#""}"#) && text.contains(r#","sign":""#));

    let c = h.credentials();
    let verifier = WebhookVerifier::new(c.payment_key).with_payout_key(c.payout_key);
    let Ok(HeleketWebhook::Payment(p)) = verifier.verify(&body) else {
        panic!("{text}")
    };
    assert_eq!(p.order_id.as_deref(), Some("order-7"));
    for i in 0..body.len() {
        let mut flipped = body.to_vec();
        flipped[i] ^= 0x01;
        assert!(verifier.verify(&flipped).is_err(), "byte {i} flipped");
    }
}

/// The payout test webhook's key is a setting: the other reading refuses the payout key.
#[tokio::test]
async fn the_payout_test_webhook_key_follows_the_setting() {
    let (url, seen) = hooks().await;
    for (reading, accepted) in [
        (HeleketKey::Payout, HeleketKey::Payout),
        (HeleketKey::Payment, HeleketKey::Payment),
    ] {
        let mut config = HeleketConfig::default();
        config.payout_test_webhook_key = reading;
        let (sandbox, t) = start(config).await;
        let c = sandbox.heleket().credentials();
        let body = serde_json::to_vec(
            &json!({"url_callback": url, "currency": "USDT", "network": "tron"}),
        )
        .unwrap();
        for key in [HeleketKey::Payment, HeleketKey::Payout] {
            let sign = heleket_aml::sign::sign(&body, c.key(key));
            let r = post(&t, "/v1/test-webhook/payout", &c.merchant, &sign, &body).await;
            let expected = if key == accepted { 200 } else { 401 };
            assert_eq!(
                r.status().as_u16(),
                expected,
                "{reading:?} signed with {key:?}"
            );
        }
        let delivered = seen.lock().unwrap().pop().unwrap();
        let text = String::from_utf8(delivered.to_vec()).unwrap();
        assert!(text.starts_with(r#"{"type":"payout","#), "{text}");
        let (unsigned, sign) = text.rsplit_once(r#","sign":""#).unwrap();
        assert_eq!(
            &sign[..32],
            heleket_aml::sign::sign(format!("{unsigned}}}").as_bytes(), c.key(reading))
        );
    }
}

/// A link can be past its `expired_at` while still `init`; a released payment is `paid`.
#[tokio::test]
async fn links_expire_by_time_and_completion_releases_the_payment() {
    let (sandbox, t) = start(HeleketConfig::default()).await;
    let h = sandbox.heleket();
    let c = h.credentials();
    let uuid = h.create_payment(NewPayment::new("order-9", "5", "USDT"));
    h.lock_payment(&uuid).await.unwrap();
    let second = h.add_link(&uuid).unwrap();
    assert_eq!(second, 1);
    let past: Timestamp = "2025-10-23T18:23:40Z".parse().unwrap();
    h.set_link_expiry(&uuid, 0, past).unwrap();
    let body = serde_json::to_vec(&json!({"uuid": uuid})).unwrap();
    let sign = heleket_aml::sign::sign(&body, &c.payment_key);
    let r = post(&t, "/v1/payment/aml-links", &c.merchant, &sign, &body).await;
    let links = json_of(&r)["result"].clone();
    assert_eq!(links[0]["expired_at"], "2025-10-23T18:23:40.000000Z");
    assert_eq!(links[0]["status"], "init");
    assert_eq!(links[1]["status"], "init");

    h.set_link_status(&uuid, 0, LinkStatus::Completed)
        .await
        .unwrap();
    assert_eq!(h.payment_status(&uuid).as_deref(), Some("locked"));
    h.set_link_status(&uuid, 1, LinkStatus::Completed)
        .await
        .unwrap();
    assert_eq!(h.payment_status(&uuid).as_deref(), Some("paid"));
}

/// The control API creates a payment in any status and moves it; each move sends the
/// webhook, which heleket-aml verifies and reads with that status.
#[tokio::test]
async fn a_payment_is_created_in_any_status_and_moved_over_the_control_api() {
    let (sandbox, t) = start(HeleketConfig::default()).await;
    let (hook, seen) = hooks().await;
    let control = |path: String, body: Value| {
        let t = t.clone();
        async move {
            t.send(Request::post(path).body(
                serde_json::to_vec(&body).unwrap(),
                HeaderValue::from_static("application/json"),
            ))
            .await
            .unwrap()
        }
    };
    let created = control(
        "/sandbox/heleket/payments".into(),
        json!({"order_id": "o-9", "amount": "5.00", "currency": "USDT",
               "url_callback": hook, "status": "check"}),
    )
    .await;
    assert_eq!(created.status().as_u16(), 201);
    let uuid = json_of(&created)["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        sandbox.heleket().payment_status(&uuid).as_deref(),
        Some("check")
    );
    assert!(seen.lock().unwrap().is_empty(), "creating sends nothing");

    let moved = control(
        format!("/sandbox/heleket/payments/{uuid}/status"),
        json!({"status": "paid"}),
    )
    .await;
    assert_eq!(moved.status().as_u16(), 204);
    let payment_key = sandbox.heleket().credentials().payment_key;
    let body = seen.lock().unwrap().last().cloned().unwrap();
    let HeleketWebhook::Payment(p) = WebhookVerifier::new(payment_key).verify(&body).unwrap()
    else {
        panic!("not a payment webhook")
    };
    assert_eq!(p.status.as_str(), "paid");

    let unknown = control(
        "/sandbox/heleket/payments/nope/status".into(),
        json!({"status": "paid"}),
    )
    .await;
    assert_eq!(unknown.status().as_u16(), 404);
    // Listed in the manifest.
    let manifest = sandbox.manifest().to_string();
    assert!(
        manifest.contains("POST /sandbox/heleket/payments/{uuid}/status"),
        "{manifest}"
    );
}
