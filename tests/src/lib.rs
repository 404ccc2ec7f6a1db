//! Shared helpers for the cross-crate end-to-end tests in `tests/`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use compliance_sandbox::{ElkycCredentials, EncryptionMode};
use kyc_public_api::EncryptionSettings;

/// Serves `router` on a loopback port and returns its base URL. The server lives until the
/// test's runtime ends.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    format!("http://{addr}")
}

/// What a [`recorder`] received: each delivery's headers and raw body, in order.
pub type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook endpoint that keeps every delivery and answers 503 to the first `fail_first`
/// of them, 200 afterwards (a receiver that was down for a while). Returns its URL.
pub async fn recorder(fail_first: usize) -> (String, Received) {
    async fn take(
        State((seen, fail_first)): State<(Received, usize)>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.push((headers, body));
        if seen.len() <= fail_first {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        }
    }
    let seen = Received::default();
    let app = axum::Router::new()
        .route("/hook", post(take))
        .with_state((seen.clone(), fail_first));
    (format!("{}/hook", serve(app).await), seen)
}

/// The client crate's encryption settings for the simulated elKYC application's keys, in
/// its current mode; `None` when it runs unencrypted.
pub fn elkyc_settings(creds: &ElkycCredentials) -> Option<EncryptionSettings> {
    match creds.encryption {
        EncryptionMode::Cbc => Some(EncryptionSettings::cbc(
            creds.secret_key.clone(),
            creds.hmac_key.clone(),
        )),
        EncryptionMode::Gcm => Some(EncryptionSettings::gcm(creds.secret_key.clone())),
        _ => None,
    }
}
