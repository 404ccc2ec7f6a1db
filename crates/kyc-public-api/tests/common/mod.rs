//! Shared test harness: a mockito server that speaks the provider's envelope, plain or
//! encrypted, and records what the client sent.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use kyc_public_api::KycClient;
use kyc_public_api::encryption::{Cipher, EncryptionSettings, SIGNATURE_HEADER};
use mockito::{Matcher, Mock, ServerGuard};
use serde_json::Value;
use serde_json::value::RawValue;

pub const API_KEY: &str = "test-private-app-key-0123456789";
pub const SECRET_KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
pub const HMAC_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// How the application encrypts. `Cbc` and `Gcm` also encrypt requests (the opt-in);
/// `CbcPlainRequests` is the client's default with keys: encrypted answers, plain requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Cbc,
    Gcm,
    CbcPlainRequests,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Plain, Mode::Cbc, Mode::Gcm, Mode::CbcPlainRequests];

    pub fn settings(self) -> Option<EncryptionSettings> {
        match self {
            Mode::Plain => None,
            Mode::Cbc | Mode::CbcPlainRequests => {
                Some(EncryptionSettings::cbc(SECRET_KEY, HMAC_KEY))
            }
            Mode::Gcm => Some(EncryptionSettings::gcm(SECRET_KEY)),
        }
    }

    pub fn encrypts_requests(self) -> bool {
        matches!(self, Mode::Cbc | Mode::Gcm)
    }
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture's `data` as exact JSON text (numbers not passed through f64).
pub fn fixture_data(name: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Env {
        data: Box<RawValue>,
    }
    let env: Env = serde_json::from_str(&fixture(name)).unwrap();
    env.data.get().to_owned()
}

pub struct Harness {
    pub server: ServerGuard,
    pub client: KycClient,
    pub mode: Mode,
    /// The server side's cipher (same keys), to decrypt requests and encrypt responses.
    pub cipher: Option<Cipher>,
}

/// What the client sent, as the provider sees it after decryption.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub body: Option<Value>,
}

impl Harness {
    pub async fn new(mode: Mode) -> Self {
        let server = mockito::Server::new_async().await;
        let mut builder = KycClient::builder().base_url(server.url()).api_key(API_KEY);
        let cipher = mode.settings().map(|s| Cipher::new(&s).unwrap());
        if let Some(settings) = mode.settings() {
            builder = builder.encryption(settings);
        }
        if mode.encrypts_requests() {
            builder = builder.encrypt_requests(true);
        }
        Self {
            server,
            client: builder.build().unwrap(),
            mode,
            cipher,
        }
    }

    /// The response body (and signature header) for `data_json` in this mode.
    pub fn envelope(&self, status_code: u16, data_json: &str) -> (String, Option<String>) {
        match &self.cipher {
            None => (
                format!(
                    r#"{{"status":true,"statusCode":{status_code},"data":{data_json},"time":"2021-08-20T14:52:33.648Z"}}"#
                ),
                None,
            ),
            Some(cipher) => {
                let sealed = cipher.encrypt(data_json.as_bytes()).unwrap();
                (
                    format!(
                        r#"{{"status":true,"statusCode":{status_code},"data":"{}","time":"2021-08-20T14:52:33.648Z"}}"#,
                        sealed.data
                    ),
                    Some(sealed.signature),
                )
            }
        }
    }

    /// Mocks one call: checks method, path, API key and (decrypted) body shape, answers
    /// the fixture's `data` with `http_status`, and records the body the client sent.
    pub async fn expect(
        &mut self,
        method: &str,
        path: &str,
        query: Option<Matcher>,
        http_status: usize,
        response_fixture: &str,
    ) -> (Mock, Arc<Mutex<Seen>>) {
        let data = fixture_data(response_fixture);
        let (body, signature) = self.envelope(200, &data);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let recorder = seen.clone();
        let cipher = self
            .cipher
            .clone()
            .filter(|_| self.mode.encrypts_requests());
        let mut mock = self
            .server
            .mock(method, path)
            .match_header("x-private-app-key", API_KEY)
            .match_header("accept", "application/json")
            .match_header(
                "user-agent",
                Matcher::Regex("^kyc-public-api/\\d+\\.\\d+\\.\\d+ compliance-core/".into()),
            )
            .match_request(move |req| {
                let raw = req.body().cloned().unwrap_or_default();
                let body = if raw.is_empty() {
                    if !req.header(SIGNATURE_HEADER).is_empty() {
                        return false;
                    }
                    None
                } else {
                    if req.header("content-type").first().map(|v| v.as_bytes())
                        != Some(b"application/json".as_slice())
                    {
                        return false;
                    }
                    let sent: Value = match serde_json::from_slice(&raw) {
                        Ok(v) => v,
                        Err(_) => return false,
                    };
                    match &cipher {
                        None => {
                            if !req.header(SIGNATURE_HEADER).is_empty() {
                                return false;
                            }
                            Some(sent)
                        }
                        Some(cipher) => {
                            // Exactly {"data": "<hex>"}, signed in the header.
                            let Some(obj) = sent.as_object() else {
                                return false;
                            };
                            let (Some(Value::String(data)), 1) = (obj.get("data"), obj.len())
                            else {
                                return false;
                            };
                            let Some(sig) = req.header(SIGNATURE_HEADER).first().cloned() else {
                                return false;
                            };
                            let Ok(plain) = cipher.decrypt(data, sig.to_str().unwrap_or("")) else {
                                return false;
                            };
                            match serde_json::from_slice(&plain) {
                                Ok(v) => Some(v),
                                Err(_) => return false,
                            }
                        }
                    }
                };
                recorder.lock().unwrap().body = body;
                true
            })
            .match_query(query.unwrap_or(Matcher::Missing))
            .with_status(http_status)
            .with_header("content-type", "application/json")
            .with_body(body)
            .expect(1);
        if let Some(sig) = signature {
            mock = mock.with_header(SIGNATURE_HEADER, &sig);
        }
        (mock.create_async().await, seen)
    }
}
