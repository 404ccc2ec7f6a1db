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
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
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
