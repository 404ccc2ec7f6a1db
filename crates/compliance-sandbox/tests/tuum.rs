//! The simulated Tuum delivers at least once: retries non-2xx, duplicates, replays.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use compliance_sandbox::{DeliveryOptions, Sandbox, SandboxConfig, TuumEvent};

/// A receiver that fails its first `fail` requests and records every body.
async fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: String| {
            let seen = seen2.clone();
            async move {
                let mut s = seen.lock().unwrap();
                s.push(body);
                if s.len() <= fail {
                    (StatusCode::INTERNAL_SERVER_ERROR, "receiver broke")
                } else {
                    (StatusCode::OK, "thanks")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn retries_until_2xx_duplicates_and_replays_byte_for_byte() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (url, seen) = receiver(2).await;
    let tuum = sandbox.tuum();
    assert!(
        tuum.send(TuumEvent::SubprocessCreated, DeliveryOptions::default())
            .await
            .is_err(),
        "no subscription yet"
    );
    tuum.subscribe(url);

    let reports = tuum
        .send(TuumEvent::SubprocessCreated, DeliveryOptions::duplicated())
        .await
        .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].statuses(), [Some(500), Some(500), Some(200)]);
    assert_eq!(reports[1].statuses(), [Some(200)]);
    let id = reports[0].sent.notification_id.clone();
    assert_eq!(reports[1].sent.notification_id, id);

    let replay = tuum.replay(&id).await.unwrap();
    assert!(replay.delivered());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 5);
    assert!(
        seen.iter().all(|b| b == &seen[0]),
        "every delivery is the same bytes"
    );
    assert!(seen[0].contains(&format!(r#""notificationId": "{id}""#)));
}

/// The delivery log says where each delivery went, what the receiver answered (status and
/// body), and why an attempt got no answer.
#[tokio::test]
async fn the_delivery_log_shows_the_url_the_answer_and_why_nothing_answered() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (url, _) = receiver(1).await;
    let tuum = sandbox.tuum();
    tuum.subscribe(url.clone());
    let report = tuum
        .send(TuumEvent::SubprocessCreated, DeliveryOptions::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(report.url.as_deref(), Some(url.as_str()));
    assert_eq!(report.attempts[0].status, Some(500));
    assert_eq!(report.attempts[0].body.as_deref(), Some("receiver broke"));
    assert_eq!(report.attempts[1].body.as_deref(), Some("thanks"));
    assert_eq!(report.attempts[1].error, None);

    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    tuum.subscribe(format!("http://{closed}/hook"));
    let report = tuum
        .send(TuumEvent::SubprocessCreated, DeliveryOptions::default())
        .await
        .unwrap()
        .remove(0);
    let first = &report.attempts[0];
    assert_eq!((first.status, first.body.as_deref()), (None, None));
    let error = first.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("could not connect"), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
    // And as JSON, on the control route's shape.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["url"], format!("http://{closed}/hook"));
    assert!(json["attempts"][0]["error"].is_string(), "{json}");
}

/// The shared-secret header a receiver checks is sent with every delivery when configured.
#[tokio::test]
async fn the_configured_secret_header_is_sent_with_every_delivery() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap| {
            let seen = seen2.clone();
            async move {
                let token = headers
                    .get("x-webhook-token")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                seen.lock().unwrap().push(token);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut config = SandboxConfig::default();
    config.tuum = config.tuum.secret_header("x-webhook-token", "s3cret-token");
    let sandbox = Sandbox::start(config).await.unwrap();
    sandbox.tuum().subscribe(url);
    sandbox
        .tuum()
        .send(TuumEvent::SubprocessCreated, DeliveryOptions::duplicated())
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Some("s3cret-token".to_owned()),
            Some("s3cret-token".to_owned())
        ]
    );
    let manifest = sandbox.manifest().to_string();
    assert!(!manifest.contains("s3cret-token"), "{manifest}");
}
