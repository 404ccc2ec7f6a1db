//! The Heleket client and its builder.

use std::fmt;
use std::sync::Arc;

use compliance_core::http::{ClientOptions, Request, Transport};
use compliance_core::rt::{Clock, SystemClock};
use compliance_core::{Error as CoreError, SecretString};
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::aml_links::AmlLink;
use crate::answer::{self, Expect};
use crate::error::Error;
use crate::payment::{Payment, PaymentRef};
use crate::sign::{KeyKind, RequestSigner};
use crate::test_webhook::TestWebhook;
use crate::webhook::WebhookVerifier;

/// Heleket's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.heleket.com";

/// A Heleket API client for one merchant.
///
/// Build it once with [`HeleketClient::builder`] and reuse it: clones are cheap (an `Arc`
/// inside) and share one connection pool. Every request is signed over the exact bytes sent,
/// with the key the endpoint requires.
#[derive(Clone)]
pub struct HeleketClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    merchant: String,
    payment: Arc<RequestSigner>,
    payout: Option<Arc<RequestSigner>>,
    verifier: WebhookVerifier,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for HeleketClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeleketClient")
            .field("base_url", &self.inner.transport.base_url())
            .field("merchant", &self.inner.merchant)
            .field("payment_key", &"[redacted]")
            .field(
                "payout_key",
                &self.inner.payout.as_ref().map(|_| "[redacted]"),
            )
            .field("transport", &self.inner.transport.config())
            .finish()
    }
}

impl HeleketClient {
    /// Starts building a client.
    pub fn builder() -> HeleketClientBuilder {
        HeleketClientBuilder::default()
    }

    /// The merchant uuid sent with every request.
    pub fn merchant(&self) -> &str {
        &self.inner.merchant
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }

    /// A webhook verifier holding the same keys as this client.
    pub fn webhook_verifier(&self) -> &WebhookVerifier {
        &self.inner.verifier
    }

    /// The current time, by the configured clock.
    pub(crate) fn now(&self) -> compliance_core::time::Timestamp {
        self.inner.clock.now()
    }

    /// The AML questionnaire links of a payment (`POST /v1/payment/aml-links`, payment key).
    ///
    /// Empty when Heleket has none (it answers `result: []`). Ask for them when a payment's
    /// status is [`Locked`](crate::PaymentStatus::Locked). A read: retried on transport
    /// errors, 429 and 5xx.
    pub async fn aml_links(&self, payment: &PaymentRef) -> Result<Vec<AmlLink>, Error> {
        payment.validate()?;
        self.call(
            "aml_links",
            "/v1/payment/aml-links",
            payment,
            KeyKind::Payment,
            true,
            Expect::Any,
        )
        .await
    }

    /// A payment's details and status (`POST /v1/payment/info`, payment key). A read:
    /// retried on transport errors, 429 and 5xx.
    pub async fn payment_info(&self, payment: &PaymentRef) -> Result<Payment, Error> {
        payment.validate()?;
        self.call(
            "payment_info",
            "/v1/payment/info",
            payment,
            KeyKind::Payment,
            true,
            Expect::Object("a payment object"),
        )
        .await
    }

    /// Asks Heleket to deliver a final invoice's webhook again (`POST /v1/payment/resend`,
    /// payment key). Not retried: on a timeout, whether Heleket resent is unknown.
    pub async fn resend_webhook(&self, payment: &PaymentRef) -> Result<(), Error> {
        payment.validate()?;
        self.call::<IgnoredAny>(
            "resend_webhook",
            "/v1/payment/resend",
            payment,
            KeyKind::Payment,
            false,
            Expect::Any,
        )
        .await
        .map(drop)
    }

    /// Asks Heleket to send a test webhook (`POST /v1/test-webhook/{payment|wallet|payout}`).
    ///
    /// Signed with the key of the webhook's kind: payment and wallet with the payment key,
    /// payout with the payout key (which must then be configured). Not retried.
    pub async fn test_webhook(&self, test: &TestWebhook) -> Result<(), Error> {
        test.validate()?;
        let kind = test.kind();
        let path = format!("/v1/test-webhook/{}", kind.as_str());
        let key = kind.key_kind();
        self.call::<IgnoredAny>("test_webhook", &path, test, key, false, Expect::Any)
            .await
            .map(drop)
    }

    /// Sends one signed `POST` of the endpoint `operation` (its fixed name in metrics).
    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &str,
        body: &(impl Serialize + ?Sized),
        key: KeyKind,
        repeatable: bool,
        expect: Expect,
    ) -> Result<T, Error> {
        let signer = self.signer(key, path)?;
        let request = Request::post(path)
            .json(body)?
            .repeatable(repeatable)
            .operation(operation);
        let response = self
            .inner
            .transport
            .send_with(request, signer.as_ref())
            .await?;
        answer::read(&response, key, expect)
    }

    fn signer(&self, key: KeyKind, path: &str) -> Result<Arc<RequestSigner>, Error> {
        match key {
            KeyKind::Payment => Ok(self.inner.payment.clone()),
            KeyKind::Payout => self.inner.payout.clone().ok_or_else(|| {
                CoreError::Config(format!(
                    "POST {path} is signed with the payout key, which this client was built \
                     without; set it with `HeleketClientBuilder::payout_key`"
                ))
                .into()
            }),
        }
    }
}

/// Builds a [`HeleketClient`]. The merchant uuid and the payment key are required.
///
/// Besides Heleket's own settings it has the setters every client builder of this
/// workspace has: `base_url`, `http_client`, `transport_config`, `user_agent`.
#[derive(Default)]
pub struct HeleketClientBuilder {
    merchant: Option<String>,
    payment_key: Option<SecretString>,
    payout_key: Option<SecretString>,
    options: ClientOptions,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for HeleketClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeleketClientBuilder")
            .field("merchant", &self.merchant)
            .field(
                "payment_key",
                &self.payment_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "payout_key",
                &self.payout_key.as_ref().map(|_| "[redacted]"),
            )
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl HeleketClientBuilder {
    /// The merchant uuid (sent in the `merchant` header).
    pub fn merchant(mut self, merchant: impl Into<String>) -> Self {
        self.merchant = Some(merchant.into());
        self
    }

    /// The payment API key: signs payment and AML-link calls and verifies payment and
    /// wallet webhooks.
    pub fn payment_key(mut self, key: impl Into<SecretString>) -> Self {
        self.payment_key = Some(key.into());
        self
    }

    /// The payout API key (optional): signs payout calls and verifies payout webhooks.
    pub fn payout_key(mut self, key: impl Into<SecretString>) -> Self {
        self.payout_key = Some(key.into());
        self
    }

    compliance_core::client_options_setters!(options);

    /// The clock the AML view compares links' `expired_at` with (default the system clock;
    /// tests use [`ManualClock`](compliance_core::rt::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the client. Fails with a configuration error when the merchant or the
    /// payment key is missing or unusable, or the base URL is invalid.
    pub fn build(self) -> Result<HeleketClient, Error> {
        let merchant = self
            .merchant
            .ok_or_else(|| CoreError::Config("the merchant uuid is required".into()))?;
        let payment_key = self
            .payment_key
            .ok_or_else(|| CoreError::Config("the payment key is required".into()))?;
        let payment = RequestSigner::new(&merchant, payment_key.clone(), KeyKind::Payment)?;
        let payout = self
            .payout_key
            .as_ref()
            .map(|key| RequestSigner::new(&merchant, key.clone(), KeyKind::Payout))
            .transpose()?;
        let mut verifier = WebhookVerifier::new(payment_key);
        if let Some(key) = self.payout_key {
            verifier = verifier.with_payout_key(key);
        }
        let transport = self.options.build_transport(
            crate::PROVIDER,
            concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")),
            Some(DEFAULT_BASE_URL),
            "HeleketClientBuilder",
        )?;
        Ok(HeleketClient {
            inner: Arc::new(Inner {
                transport,
                merchant,
                payment: Arc::new(payment),
                payout: payout.map(Arc::new),
                verifier,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_key() {
        let builder = HeleketClient::builder()
            .merchant("m-1")
            .payment_key("pay-secret-123")
            .payout_key("payout-secret-456");
        let text = format!("{builder:?}");
        assert!(!text.contains("pay-secret-123") && !text.contains("payout-secret-456"));
        let client = builder.build().unwrap();
        let text = format!("{client:?}");
        assert!(text.contains("m-1"), "{text}");
        assert!(!text.contains("pay-secret-123"), "{text}");
        assert!(!text.contains("payout-secret-456"), "{text}");
    }

    #[test]
    fn defaults() {
        let client = HeleketClient::builder()
            .merchant("m")
            .payment_key("k")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
        // Heleket takes 5–10 s at times: the core's 30 s per attempt covers it.
        assert_eq!(
            client.inner.transport.config(),
            &crate::TransportConfig::default()
        );
        let clone = client.clone();
        assert!(Arc::ptr_eq(&client.inner, &clone.inner));
    }

    #[test]
    fn missing_or_bad_configuration_is_refused() {
        let no_key = HeleketClient::builder().merchant("m").build().unwrap_err();
        assert!(no_key.to_string().contains("payment key"), "{no_key}");
        let no_merchant = HeleketClient::builder()
            .payment_key("k")
            .build()
            .unwrap_err();
        assert!(
            no_merchant.to_string().contains("merchant"),
            "{no_merchant}"
        );
        let bad_url = HeleketClient::builder()
            .merchant("m")
            .payment_key("k")
            .base_url("api.heleket.com")
            .build()
            .unwrap_err();
        assert!(matches!(bad_url, Error::Core(CoreError::Config(_))));
    }
}
