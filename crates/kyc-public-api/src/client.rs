//! [`KycClient`]: one method per Open API endpoint.

use std::fmt;
use std::sync::Arc;

use compliance_core::http::{
    ClientOptions, HeaderName, HeaderValue, Method, Request, Response, Transport,
    encode_path_segment,
};
use compliance_core::json;
use compliance_core::secret::{ExposeSecret, SecretString, sensitive_header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::applicant::{
    Applicant, ApplicantStatusInfo, CreateApplicant, MoveToFlow, RestoredApplicant,
    ScheduledDeletion,
};
use crate::crypto_aml::{CryptoAmlRef, CryptoAmlReport, CryptoAmlSearch, CryptoAmlType};
use crate::encryption::{Cipher, EncryptionOptions, EncryptionSettings, SIGNATURE_HEADER};
use crate::envelope::{Data, RawEnvelope, open_encrypted};
use crate::error::{ApiError, Error};
use crate::questionnaire::Questionnaire;
use crate::token::{TokenRequest, VerificationToken};

/// The API key header.
pub const API_KEY_HEADER: &str = "x-private-app-key";

/// Builds a [`KycClient`]. The base URL and the API key are required.
///
/// Besides elKYC's own settings it has the setters every client builder of this workspace
/// has: `base_url`, `http_client`, `transport_config`, `user_agent`.
#[derive(Default)]
pub struct KycClientBuilder {
    api_key: Option<SecretString>,
    encryption: Option<EncryptionSettings>,
    encryption_options: EncryptionOptions,
    encrypt_requests: bool,
    options: ClientOptions,
}

impl fmt::Debug for KycClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KycClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("encryption", &self.encryption)
            .field("encryption_options", &self.encryption_options)
            .field("encrypt_requests", &self.encrypt_requests)
            .field("options", &self.options)
            .finish()
    }
}

impl KycClientBuilder {
    compliance_core::client_options_setters!(options);

    /// The application's private key, sent as `x-private-app-key` (required).
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The application's encryption method and keys. With them, encrypted responses are
    /// verified and decrypted transparently. Request bodies stay plain JSON, as in every
    /// example of the provider's documentation, unless
    /// [`encrypt_requests`](Self::encrypt_requests) is turned on.
    pub fn encryption(mut self, settings: EncryptionSettings) -> Self {
        self.encryption = Some(settings);
        self
    }

    /// The unconfirmed encryption details (defaults per the provider notes).
    pub fn encryption_options(mut self, options: EncryptionOptions) -> Self {
        self.encryption_options = options;
        self
    }

    /// Whether request bodies are sent encrypted (`{"data": "<hex>"}` plus
    /// `x-allpass-signature`). Default: no, plain JSON as in the provider's documentation.
    /// Turn it on when the application's dashboard setting requires encrypted requests;
    /// it needs [`encryption`](Self::encryption) (otherwise `build` fails).
    pub fn encrypt_requests(mut self, encrypt: bool) -> Self {
        self.encrypt_requests = encrypt;
        self
    }

    /// Validates the configuration (base URL, API key, hex keys) and builds the client.
    pub fn build(self) -> Result<KycClient, Error> {
        // The provider publishes no base URL: `build_transport` requires one.
        let transport = self.options.build_transport(
            crate::PROVIDER,
            concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")),
            None,
            "KycClientBuilder",
        )?;
        let api_key = self.api_key.ok_or_else(|| {
            compliance_core::Error::Config("API key is required (KycClientBuilder::api_key)".into())
        })?;
        compliance_core::secret::check_secret("the API key", &api_key)?;
        let api_key = sensitive_header("API key", api_key.expose_secret())?;
        let cipher = self
            .encryption
            .as_ref()
            .map(|s| Cipher::with_options(s, self.encryption_options))
            .transpose()
            .map_err(|e| compliance_core::Error::Config(e.to_string()))?;
        if self.encrypt_requests && cipher.is_none() {
            return Err(compliance_core::Error::Config(
                "encrypt_requests(true) needs encryption settings".into(),
            )
            .into());
        }
        Ok(KycClient {
            inner: Arc::new(Inner {
                transport,
                api_key,
                cipher,
                encrypt_requests: self.encrypt_requests,
            }),
        })
    }
}

struct Inner {
    transport: Transport,
    api_key: HeaderValue,
    cipher: Option<Cipher>,
    encrypt_requests: bool,
}

/// A client for the elKYC / Allpass Open API. Cheap to clone (an `Arc` inside); build once
/// and reuse.
///
/// Which calls are retried on transport errors, 408, 429 and 5xx: the reads only. Writes
/// are sent once: create applicant, token and crypto-AML search create something, and
/// move-to-flow, schedule-deletion and restore, repeated after a success whose answer was
/// lost, would be answered "already moved" / "not scheduled" for what succeeded. After a
/// timeout or a 5xx on a write, read the applicant to learn what happened.
#[derive(Clone)]
pub struct KycClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for KycClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KycClient")
            .field("base_url", &self.inner.transport.base_url())
            .field("api_key", &"[redacted]")
            .field("cipher", &self.inner.cipher)
            .field("encrypt_requests", &self.inner.encrypt_requests)
            .finish_non_exhaustive()
    }
}

impl KycClient {
    /// Starts building a client.
    pub fn builder() -> KycClientBuilder {
        KycClientBuilder::default()
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    /// Creates an applicant (`POST /api/public/applicant`, 201). Never retried: on a
    /// timeout, look the applicant up by its external id before creating it again.
    pub async fn create_applicant(&self, request: &CreateApplicant) -> Result<Applicant, Error> {
        request.validate()?;
        let req = self.request(
            "create_applicant",
            Method::POST,
            "/api/public/applicant".into(),
            Some(request),
        )?;
        self.call(req).await
    }

    /// Gets an applicant by the provider's id **or** your external user id.
    pub async fn get_applicant(&self, applicant_id: &str) -> Result<Applicant, Error> {
        let path = applicant_path(applicant_id, "")?;
        self.call(self.request::<()>("get_applicant", Method::GET, path, None)?)
            .await
    }

    /// Gets an applicant's status.
    pub async fn applicant_status(&self, applicant_id: &str) -> Result<ApplicantStatusInfo, Error> {
        let path = applicant_path(applicant_id, "/status")?;
        self.call(self.request::<()>("applicant_status", Method::GET, path, None)?)
            .await
    }

    /// Moves an applicant to another verification flow, by the flow's id. Sent once (see
    /// [`KycClient`] on retries).
    pub async fn move_to_flow(
        &self,
        applicant_id: &str,
        flow_id: &str,
    ) -> Result<ApplicantStatusInfo, Error> {
        if flow_id.trim().is_empty() {
            return Err(
                compliance_core::Error::invalid_request("flowId", "must not be empty").into(),
            );
        }
        let path = applicant_path(applicant_id, "/moveToFlow")?;
        let req = self.request(
            "move_to_flow",
            Method::POST,
            path,
            Some(&MoveToFlow { flow_id }),
        )?;
        self.call(req).await
    }

    /// Schedules an applicant for deletion under the retention policy. Sent once.
    pub async fn schedule_deletion(&self, applicant_id: &str) -> Result<ScheduledDeletion, Error> {
        let path = applicant_path(applicant_id, "/schedule-deletion")?;
        self.call(self.request::<()>("schedule_deletion", Method::POST, path, None)?)
            .await
    }

    /// Restores an applicant scheduled for deletion. Sent once.
    pub async fn restore_applicant(&self, applicant_id: &str) -> Result<RestoredApplicant, Error> {
        let path = applicant_path(applicant_id, "/restore")?;
        self.call(self.request::<()>("restore_applicant", Method::POST, path, None)?)
            .await
    }

    /// Creates a verification token for the browser SDK or a link for the person (201).
    /// `ttl` is checked locally (1 to 3 153 600 000 seconds).
    pub async fn verification_token(
        &self,
        applicant_id: &str,
        request: &TokenRequest,
    ) -> Result<VerificationToken, Error> {
        request.validate()?;
        let path = applicant_path(applicant_id, "/token")?;
        self.call(self.request("verification_token", Method::POST, path, Some(request))?)
            .await
    }

    /// Gets a questionnaire schema.
    pub async fn questionnaire(&self, questionnaire_id: &str) -> Result<Questionnaire, Error> {
        let path = format!(
            "/api/public/questionnaire/{}",
            encode_path_segment("questionnaireId", questionnaire_id)?
        );
        self.call(self.request::<()>("questionnaire", Method::GET, path, None)?)
            .await
    }

    /// Starts screening a wallet or transaction (201): every call creates a new report at
    /// the provider. Read it with [`crypto_aml_details`](Self::crypto_aml_details).
    /// Validated locally first. To have the AML view reuse the report, search through
    /// [`KycAml::search_crypto_aml`](crate::KycAml::search_crypto_aml) instead.
    pub async fn search_crypto_aml(&self, search: &CryptoAmlSearch) -> Result<CryptoAmlRef, Error> {
        search.validate()?;
        let req = self.request(
            "search_crypto_aml",
            Method::POST,
            "/api/public/crypto-aml/search".into(),
            Some(search),
        )?;
        self.call(req).await
    }

    /// Gets a crypto-AML report.
    pub async fn crypto_aml_details(
        &self,
        aml_id: &str,
        kind: &CryptoAmlType,
    ) -> Result<CryptoAmlReport, Error> {
        let path = format!(
            "/api/public/crypto-aml/{}/details",
            encode_path_segment("amlId", aml_id)?
        );
        let req = self
            .request::<()>("crypto_aml_details", Method::GET, path, None)?
            .query("type", kind.as_str());
        self.call(req).await
    }

    /// Builds a request: API key, and the body serialised once (encrypted if configured).
    fn request<B: Serialize>(
        &self,
        operation: &'static str,
        method: Method,
        path: String,
        body: Option<&B>,
    ) -> Result<Request, Error> {
        let mut req = Request::new(method, path)
            .operation(operation)
            .header(
                HeaderName::from_static(API_KEY_HEADER),
                self.inner.api_key.clone(),
            )
            .header(
                compliance_core::http::HeaderName::from_static("accept"),
                HeaderValue::from_static("application/json"),
            );
        if let Some(body) = body {
            let json = serde_json::to_vec(body).map_err(|e| {
                compliance_core::Error::Config(format!("request body cannot be serialised: {e}"))
            })?;
            let json = match (&self.inner.cipher, self.inner.encrypt_requests) {
                (Some(cipher), true) => {
                    let sealed = cipher.seal(&json)?;
                    let signature = HeaderValue::from_str(&sealed.signature)
                        .map_err(|_| compliance_core::Error::Config("bad signature".into()))?;
                    req = req.header(HeaderName::from_static(SIGNATURE_HEADER), signature);
                    serde_json::to_vec(&serde_json::json!({ "data": sealed.data })).map_err(
                        |e| compliance_core::Error::Config(format!("cannot serialise: {e}")),
                    )?
                }
                _ => json,
            };
            req = req.body(json, HeaderValue::from_static("application/json"));
        }
        Ok(req)
    }

    async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, Error> {
        let write = !request.is_repeatable();
        let response = self.inner.transport.send(request).await?;
        match self.read(&response) {
            // The provider said yes before we failed to read how: the write may have been
            // done, and sending it again may do it twice.
            Err(Error::Encryption(e)) if write && response.is_success() => {
                Err(Error::EncryptionAfterWrite(e))
            }
            other => other,
        }
    }

    /// Turns a response into `T` or an error: envelope, `status: false`, encrypted `data`.
    fn read<T: DeserializeOwned>(&self, response: &Response) -> Result<T, Error> {
        let status = response.status();
        if let Some(rate_limited) = response.rate_limit_error() {
            return Err(rate_limited.into());
        }
        if !response.is_success() {
            let error = ApiError::from_body(status, response.body());
            if error.is_missing_route() {
                return Err(response.to_error().into());
            }
            return Err(error.into());
        }
        let envelope: RawEnvelope = json::decode("response envelope", response.body())?;
        if envelope.status == Some(false) {
            return Err(ApiError::from_body(status, response.body()).into());
        }
        match envelope.data()? {
            Data::Plain(text) => Ok(json::decode("response `data`", text.as_bytes())?),
            Data::Encrypted(data) => {
                let cipher = self.inner.cipher.as_ref().ok_or(Error::EncryptedResponse)?;
                let signature = response
                    .headers()
                    .get(SIGNATURE_HEADER)
                    .and_then(|v| v.to_str().ok());
                let plaintext = open_encrypted(cipher, &data, signature)?;
                Ok(json::decode("decrypted response `data`", &plaintext)?)
            }
            Data::Missing => Err(compliance_core::Error::decode(
                "response envelope",
                "data",
                "`data` is missing or null",
                response.body(),
            )
            .into()),
        }
    }
}

fn applicant_path(applicant_id: &str, suffix: &str) -> Result<String, Error> {
    Ok(format!(
        "/api/public/applicant/{}{suffix}",
        encode_path_segment("applicantId", applicant_id)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_requires_base_url_and_key_and_validates_hex() {
        let err = KycClient::builder().api_key("k").build().unwrap_err();
        assert!(err.to_string().contains("base URL is required"), "{err}");
        let err = KycClient::builder()
            .base_url("https://x.test")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("API key is required"), "{err}");
        let err = KycClient::builder()
            .base_url("https://x.test")
            .api_key("k")
            .encryption(EncryptionSettings::gcm("abc"))
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("secret key: odd number of hex digits"),
            "{err}"
        );
        let err = KycClient::builder()
            .base_url("https://x.test")
            .api_key("k")
            .encrypt_requests(true)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("encryption settings"), "{err}");
    }

    #[test]
    fn applicant_ids_are_one_encoded_segment() {
        assert_eq!(
            applicant_path("a/b c?ü", "/status").unwrap(),
            "/api/public/applicant/a%2Fb%20c%3F%C3%BC/status"
        );
        assert!(applicant_path("..", "").is_err());
        assert!(applicant_path("", "").is_err());
    }
}
