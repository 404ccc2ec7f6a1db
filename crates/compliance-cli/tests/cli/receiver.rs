//! A local receiver built from the provider crates' own webhook APIs, for `trigger` to send
//! to: `/heleket` (`heleket_aml::WebhookVerifier`), `/elkyc/cbc` and `/elkyc/gcm`
//! (`kyc_public_api::WebhookVerifier`), both answering 400 with the verifier's reason so
//! that the command's printing of a refusal is tested, and `/tuum` (the shared pipeline's
//! receiver, `aml_events::WebhookReceiver`, with a shared-secret header). Every call into
//! those crates' webhook APIs in the tests is here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aml_events::auth::SharedSecretHeader;
use aml_events::{
    AmlEvent, BoxError, SecretString, WebhookProcessor, WebhookReceiver,
    WebhookVerifier as TuumVerifier, handler_fn,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use heleket_aml::WebhookVerifier;
use kyc_public_api::WebhookVerifier as ElkycVerifier;
use kyc_public_api::encryption::EncryptionSettings;
use serde_json::{Value, json};

use crate::common::{ELKYC_HMAC, ELKYC_SECRET, PAYMENT_KEY, PAYOUT_KEY, TUUM_SECRET};

/// The header the Tuum receiver checks.
pub const TUUM_HEADER: &str = "x-webhook-token";

#[derive(Clone)]
struct Shared {
    heleket: WebhookVerifier,
    elkyc_cbc: ElkycVerifier,
    elkyc_gcm: ElkycVerifier,
    seen: Arc<Mutex<Vec<Value>>>,
}

/// A running receiver.
pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Value>>>,
    fail_next: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts on a free loopback port of `rt`.
    pub fn start(rt: &tokio::runtime::Runtime) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let fail_next = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            heleket: WebhookVerifier::new(PAYMENT_KEY).with_payout_key(PAYOUT_KEY),
            elkyc_cbc: ElkycVerifier::builder(EncryptionSettings::cbc(ELKYC_SECRET, ELKYC_HMAC))
                .build()
                .unwrap(),
            elkyc_gcm: ElkycVerifier::builder(EncryptionSettings::gcm(ELKYC_SECRET))
                .build()
                .unwrap(),
            seen: seen.clone(),
        };
        let tuum_seen = seen.clone();
        let processor = WebhookProcessor::builder(TuumVerifier::new(
            SharedSecretHeader::new(TUUM_HEADER, SecretString::from(TUUM_SECRET)).unwrap(),
        ))
        .handler(handler_fn(move |event: AmlEvent| {
            let seen = tuum_seen.clone();
            async move {
                seen.lock().unwrap().push(json!({
                    "provider": "tuum",
                    "notification_id": event.notification_id(),
                    "type": event.event_type().as_str(),
                }));
                Ok::<_, BoxError>(())
            }
        }))
        .build()
        .unwrap();
        let flaky = fail_next.clone();
        let app = Router::new()
            .route("/heleket", post(heleket))
            .route("/elkyc/cbc", post(elkyc_cbc))
            .route("/elkyc/gcm", post(elkyc_gcm))
            .with_state(shared)
            .route("/tuum", WebhookReceiver::new(processor).method_router())
            .layer(axum::middleware::from_fn(
                move |request, next: axum::middleware::Next| {
                    let flaky = flaky.clone();
                    async move {
                        let fail = flaky
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        if fail {
                            axum::response::IntoResponse::into_response((
                                StatusCode::SERVICE_UNAVAILABLE,
                                "try again",
                            ))
                        } else {
                            next.run(request).await
                        }
                    }
                },
            ));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            seen,
            fail_next,
        }
    }

    /// What the receiver accepted, in order.
    pub fn seen(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }

    /// The next `n` deliveries are answered 503.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }
}

fn answer(status: StatusCode, body: Value) -> (StatusCode, String) {
    (status, body.to_string())
}

async fn heleket(State(s): State<Shared>, body: Bytes) -> (StatusCode, String) {
    match s.heleket.verify(&body) {
        Ok(webhook) => {
            let seen = json!({
                "provider": "heleket",
                "kind": webhook.kind().as_str(),
                "uuid": webhook.uuid(),
                "status": webhook.status(),
            });
            s.seen.lock().unwrap().push(seen.clone());
            answer(StatusCode::OK, seen)
        }
        Err(e) => answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    }
}

async fn elkyc_cbc(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    elkyc(&s, &s.elkyc_cbc, &headers, &body)
}

async fn elkyc_gcm(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    elkyc(&s, &s.elkyc_gcm, &headers, &body)
}

fn elkyc(
    s: &Shared,
    verifier: &ElkycVerifier,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, String) {
    match verifier.verify(headers, body) {
        Ok(webhook) => {
            let seen = json!({
                "provider": "elkyc",
                "event": webhook.event.event.as_ref().map(|e| e.as_str().to_owned()),
                "applicant_id": webhook.event.applicant_id,
                "external_user_id": webhook.event.external_user_id,
                "step_name": webhook.event.step_name,
            });
            s.seen.lock().unwrap().push(seen.clone());
            answer(StatusCode::OK, seen)
        }
        Err(e) => answer(StatusCode::BAD_REQUEST, json!({"error": e.to_string()})),
    }
}
