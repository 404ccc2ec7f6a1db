//! The axum receiver's answers, through `tower::ServiceExt::oneshot`.
#![cfg(feature = "axum")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aml_events::auth::{AllOf, IpAllowList, SharedSecretHeader};
use aml_events::server::{DEFAULT_BODY_LIMIT, WebhookReceiver, router};
use aml_events::{AmlEvent, BoxError, SecretString, WebhookProcessor, WebhookVerifier, handler_fn};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const PAYMENT: &str = include_str!("fixtures/payment_subprocess_created.json");

/// A router whose handler fails while `fail` is set, counting calls.
fn app(calls: Arc<AtomicUsize>, fail_first: usize) -> Router {
    let processor = WebhookProcessor::builder(WebhookVerifier::new(
        SharedSecretHeader::new("x-webhook-token", SecretString::from(TOKEN)).unwrap(),
    ))
    .handler(handler_fn(move |_event: AmlEvent| {
        let call = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            if call < fail_first {
                Err::<(), BoxError>("screening down".into())
            } else {
                Ok(())
            }
        }
    }))
    .build()
    .unwrap();
    router(processor)
}

fn post(body: impl Into<Body>, token: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header("x-webhook-token", token);
    }
    request.body(body.into()).unwrap()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value, http::HeaderMap) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json, headers)
}

#[tokio::test]
async fn processed_then_duplicate_is_200() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(calls.clone(), 0);
    let (status, body, headers) = send(&app, post(PAYMENT, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!({"status": "processed", "notificationId": "ID-9999"})
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let (status, body, _) = send(&app, post(PAYMENT, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "duplicate");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn unknown_event_types_are_acknowledged() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(calls.clone(), 0);
    let body = r#"{"notificationId":"n","notificationTypeCode":"AML_FUTURE","data":{}}"#;
    let (status, json, _) = send(&app, post(body, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "ignored");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn failed_authentication_is_401_before_the_body_is_read() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(calls.clone(), 0);
    for token in [None, Some("wrong"), Some(&TOKEN[1..])] {
        let (status, body, _) = send(&app, post(PAYMENT, token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body, serde_json::json!({"error": "unauthenticated"}));
    }
    // Even an oversized, invalid body: authentication answers first.
    let (status, _, _) = send(&app, post(vec![b'x'; DEFAULT_BODY_LIMIT + 1], None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unparseable_bodies_are_400_with_the_reason() {
    let app = app(Arc::new(AtomicUsize::new(0)), 0);
    let (status, body, _) = send(&app, post("", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_event");
    assert_eq!(body["path"], ".");

    let bad = PAYMENT.replacen(r#""amount": 1.22"#, r#""amount": "lots""#, 1);
    let (status, body, _) = send(&app, post(bad, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["path"], "data.amount.amount");
    // The reason names the problem, never the value (decode errors keep no body value).
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("not a decimal") && !message.contains("lots"),
        "{body}"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let processor = WebhookProcessor::builder(WebhookVerifier::new(
        SharedSecretHeader::new("x-webhook-token", SecretString::from(TOKEN)).unwrap(),
    ))
    .handler(handler_fn(|_e: AmlEvent| async { Ok::<_, BoxError>(()) }))
    .build()
    .unwrap();
    let app: Router = Router::new().route(
        "/hooks/tuum",
        WebhookReceiver::new(processor)
            .body_limit(1_000)
            .method_router(),
    );
    let request = |body: Body| {
        Request::post("/hooks/tuum")
            .header("x-webhook-token", TOKEN)
            .body(body)
            .unwrap()
    };
    // Declared length over the limit: refused before reading.
    let declared = Request::post("/hooks/tuum")
        .header("x-webhook-token", TOKEN)
        .header(header::CONTENT_LENGTH, "1001")
        .body(Body::from(vec![b' '; 1_001]))
        .unwrap();
    let (status, body, _) = send(&app, declared).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body,
        serde_json::json!({"error": "body_too_large", "limit": 1000})
    );
    // No declared length: cut off while reading.
    let (status, _, _) = send(&app, request(Body::from(vec![b' '; 1_001]))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // At the limit it is read (and here, invalid).
    let (status, _, _) = send(&app, request(Body::from(vec![b' '; 1_000]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Other methods are refused by the router.
    let get = Request::get("/hooks/tuum").body(Body::empty()).unwrap();
    let (status, _, _) = send(&app, get).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn handler_failure_is_500_and_the_redelivery_is_processed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(calls.clone(), 1);
    let (status, body, _) = send(&app, post(PAYMENT, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        serde_json::json!({"error": "processing_failed"}),
        "no internals leak"
    );
    let (status, body, _) = send(&app, post(PAYMENT, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "processed");
    let (_, body, _) = send(&app, post(PAYMENT, Some(TOKEN))).await;
    assert_eq!(body["status"], "duplicate");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_concurrent_duplicate_is_503_with_retry_after() {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let started = std::sync::Mutex::new(Some(started_tx));
    let finish = Arc::new(tokio::sync::Mutex::new(Some(finish_rx)));
    let processor = WebhookProcessor::builder(WebhookVerifier::new(
        SharedSecretHeader::new("x-webhook-token", SecretString::from(TOKEN)).unwrap(),
    ))
    .handler(handler_fn(move |_e: AmlEvent| {
        if let Some(tx) = started.lock().unwrap().take() {
            let _ = tx.send(());
        }
        let finish = finish.clone();
        async move {
            if let Some(rx) = finish.lock().await.take() {
                let _ = rx.await;
            }
            Ok::<_, BoxError>(())
        }
    }))
    .build()
    .unwrap();
    let app: Router = router(processor);
    let first = tokio::spawn({
        let app = app.clone();
        async move { send(&app, post(PAYMENT, Some(TOKEN))).await }
    });
    started_rx.await.unwrap();
    let (status, body, headers) = send(&app, post(PAYMENT, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "in_progress");
    assert_eq!(headers[header::RETRY_AFTER], "10");
    finish_tx.send(()).unwrap();
    assert_eq!(first.await.unwrap().0, StatusCode::OK);
    let (status, body, _) = send(&app, post(PAYMENT, Some(TOKEN))).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
}

#[tokio::test]
async fn the_peer_address_reaches_the_authenticator() {
    let processor = WebhookProcessor::builder(WebhookVerifier::new(
        AllOf::new()
            .with(SharedSecretHeader::new("x-webhook-token", SecretString::from(TOKEN)).unwrap())
            .with(IpAllowList::parse(["192.0.2.0/24"]).unwrap()),
    ))
    .handler(handler_fn(|_e: AmlEvent| async { Ok::<_, BoxError>(()) }))
    .build()
    .unwrap();
    let app: Router = router(processor);
    let from = |ip: &str| {
        let mut request = post(PAYMENT, Some(TOKEN));
        let addr: SocketAddr = ip.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    };
    assert_eq!(
        send(&app, post(PAYMENT, Some(TOKEN))).await.0,
        StatusCode::UNAUTHORIZED,
        "no peer known"
    );
    assert_eq!(
        send(&app, from("198.51.100.1:4000")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(&app, from("192.0.2.9:4000")).await.0, StatusCode::OK);
}
