//! The inline receiver over HTTP (row `receiver_inline_http`; target at least 0.9× the
//! bare route's requests per second): Tuum's `WebhookReceiver` (shared-secret header, the
//! default in-memory inbox, a no-op handler) beside a bare axum route that compares the
//! header, parses the body to a `serde_json::Value`, remembers its `notificationId` in a
//! locked `HashSet` and answers the same JSON. Both servers run on one thread of their own;
//! one `reqwest` client posts the seed's `AML_SUBPROCESS_CREATED` delivery (1.5 KB), each
//! time with a new `notificationId`, to one and the other alternately (see `bench-pair`).
//!
//! `cargo bench -p aml-events --features axum --bench receiver`; `cargo xtask bench` prints
//! the ratio.

#![allow(missing_docs)]

#[allow(dead_code, reason = "this bench needs no keys, only new bodies")]
#[path = "support/deliveries.rs"]
mod deliveries;

use std::collections::HashSet;
use std::hint::black_box;
use std::sync::{Arc, Mutex};

use aml_events::auth::SharedSecretHeader;
use aml_events::axum::Router;
use aml_events::axum::http::{HeaderMap, StatusCode, header};
use aml_events::axum::routing::post;
use aml_events::{AmlEvent, BoxError, SecretString, WebhookProcessor, WebhookVerifier, handler_fn};
use bench_pair::compare_async;
use bytes::Bytes;
use compliance_core::webhook::constant_time_eq;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

use deliveries::Deliveries;

const HEADER: &str = "x-webhook-token";
const SECRET: &str = "shared-with-tuum-0123456789abcdef";

fn project_app() -> Router {
    let verifier =
        WebhookVerifier::new(SharedSecretHeader::new(HEADER, SecretString::from(SECRET)).unwrap());
    let processor = WebhookProcessor::builder(verifier)
        .handler(handler_fn(|event: AmlEvent| async move {
            black_box(event);
            Ok::<_, BoxError>(())
        }))
        .build()
        .unwrap();
    aml_events::server::router(processor)
}

fn bare_app() -> Router {
    let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
    Router::new().route(
        "/",
        post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let authentic = headers
                    .get(HEADER)
                    .is_some_and(|token| constant_time_eq(token.as_bytes(), SECRET.as_bytes()));
                if !authentic {
                    return (StatusCode::UNAUTHORIZED, String::new());
                }
                let Ok(event) = serde_json::from_slice::<Value>(&body) else {
                    return (StatusCode::BAD_REQUEST, String::new());
                };
                let Some(id) = event["notificationId"].as_str() else {
                    return (StatusCode::BAD_REQUEST, String::new());
                };
                let status = if seen.lock().unwrap().insert(id.to_owned()) {
                    "processed"
                } else {
                    "duplicate"
                };
                (
                    StatusCode::OK,
                    format!(r#"{{"notificationId":"{id}","status":"{status}"}}"#),
                )
            }
        }),
    )
}

/// Serves both apps on one thread and runtime of their own; their URLs.
fn serve(apps: [Router; 2]) -> [String; 2] {
    let listeners = apps.map(|app| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        (listener, app)
    });
    let urls = [0, 1].map(|i| format!("http://{}/", listeners[i].0.local_addr().unwrap()));
    std::thread::Builder::new()
        .name("bench-receiver".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut servers = tokio::task::JoinSet::new();
                for (listener, app) in listeners {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    servers.spawn(async move { aml_events::axum::serve(listener, app).await });
                }
                while let Some(served) = servers.join_next().await {
                    served.unwrap().unwrap();
                }
            });
        })
        .unwrap();
    urls
}

fn receiver(c: &mut Criterion) {
    let [project_url, bare_url] = serve([project_app(), bare_app()]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let post = async |url: &str, body: Bytes| {
        let response = client
            .post(url)
            .header(HEADER, SECRET)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap()
    };
    let (mut ours, mut theirs) = (Deliveries::new('p'), Deliveries::new('b'));
    let (a, b) = runtime.block_on(async {
        (
            post(&project_url, ours.next()).await,
            post(&bare_url, theirs.next()).await,
        )
    });
    assert_eq!(
        (
            std::str::from_utf8(&a).unwrap(),
            std::str::from_utf8(&b).unwrap()
        ),
        (
            r#"{"notificationId":"ID-p000000000001","status":"processed"}"#,
            r#"{"notificationId":"ID-b000000000001","status":"processed"}"#
        )
    );
    compare_async(
        c,
        "receiver_inline_http",
        &runtime,
        async || post(&project_url, ours.next()).await,
        async || post(&bare_url, theirs.next()).await,
    );
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = receiver
}
criterion_main!(benches);
