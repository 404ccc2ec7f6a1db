//! Shared helpers for the mockito tests.
#![allow(dead_code)]

pub mod raw;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amld5_verify::{BtcDirectClient, TransportConfig};
use compliance_core::http::RetryPolicy;
use mockito::{Matcher, Mock, ServerGuard};
use serde::Serialize;

pub const USERNAME: &str = "partner";
pub const PASSWORD: &str = "partner-pw-S3cret";

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config() -> TransportConfig {
    TransportConfig::default()
        .retry(RetryPolicy::none())
        .deadline(Duration::from_secs(30))
}

/// A client with username/password partner auth against the mock server.
pub fn client(server: &ServerGuard) -> BtcDirectClient {
    BtcDirectClient::builder()
        .base_url(server.url())
        .credentials(USERNAME, PASSWORD)
        .transport_config(config())
        .build()
        .unwrap()
}

/// A client with API-key partner auth against the mock server.
pub fn api_key_client(server: &ServerGuard) -> BtcDirectClient {
    BtcDirectClient::builder()
        .base_url(server.url())
        .api_key("api-key-S3cret")
        .transport_config(config())
        .build()
        .unwrap()
}

/// `POST /api/v1/authenticate` with the partner credentials, answering `token`/`refresh`.
pub async fn mock_authenticate(server: &mut ServerGuard, token: &str, refresh: &str) -> Mock {
    server
        .mock("POST", "/api/v1/authenticate")
        .match_header("content-type", "application/json")
        .match_header("authorization", Matcher::Missing)
        .match_header("x-api-key", Matcher::Missing)
        .match_body(Matcher::JsonString(format!(
            r#"{{"username":"{USERNAME}","password":"{PASSWORD}"}}"#
        )))
        .with_status(200)
        .with_header("content-type", "application/json")
        .with_body(format!(
            r#"{{"token":"{token}","refreshToken":"{refresh}"}}"#
        ))
        .expect(1)
        .create_async()
        .await
}

/// `POST /api/v1/refresh` presenting `refresh`, answering `token`/`next`.
pub async fn mock_refresh(
    server: &mut ServerGuard,
    refresh: &str,
    token: &str,
    next: &str,
) -> Mock {
    server
        .mock("POST", "/api/v1/refresh")
        .match_body(Matcher::JsonString(format!(
            r#"{{"refreshToken":"{refresh}"}}"#
        )))
        .match_header("x-api-key", Matcher::Missing)
        .with_status(200)
        .with_body(format!(r#"{{"token":"{token}","refreshToken":"{next}"}}"#))
        .expect(1)
        .create_async()
        .await
}

/// The provider's error body with one code.
pub fn error_body(code: &str) -> String {
    format!(
        r#"{{"errors":{{"{code}":{{"code":"{code}","message":"message of {code}","solution":"solution of {code}"}}}}}}"#
    )
}

/// One request as the mock server saw it (only the headers that matter, sorted).
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

/// Records requests while answering them with a fixed body.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Recorded>>>);

impl Recorder {
    pub fn respond_with(
        &self,
        body: String,
    ) -> impl Fn(&mockito::Request) -> Vec<u8> + Send + Sync + 'static {
        let seen = self.0.clone();
        let answer = body.into_bytes();
        move |request| {
            let headers = request
                .headers()
                .iter()
                .filter(|(name, _)| {
                    matches!(
                        name.as_str(),
                        "authorization"
                            | "x-api-key"
                            | "user-authorization"
                            | "user-identifier"
                            | "content-type"
                    )
                })
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("<binary>").to_owned()))
                .collect();
            let raw = request.body().cloned().unwrap_or_default();
            let body = if raw.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_slice(&raw).expect("request bodies are JSON")
            };
            seen.lock().unwrap().push(Recorded {
                method: request.method().to_owned(),
                path: request.path_and_query().to_owned(),
                headers,
                body,
            });
            answer.clone()
        }
    }

    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}
