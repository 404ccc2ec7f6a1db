//! Heleket's webhooks: raw bytes in, verified typed event out.
//!
//! Heleket puts the signature **inside** the JSON body, as a `sign` member, computed over the
//! body without that member as Heleket's PHP encoded it (compact, keys in order, `/` written
//! `\/`, raw UTF-8, nulls kept). Parsing and re-encoding the JSON cannot reproduce those bytes
//! reliably, so [`WebhookVerifier`] works on the raw request body: it cuts out
//! `"sign":"<hex>"` and one neighbouring comma, leaves every other byte as it is, hashes, and
//! compares in constant time with the key the body's `type` calls for. Only then does it
//! deserialise the body into a [`HeleketWebhook`].
//!
//! Deliveries repeat until your endpoint answers 2xx. [`WebhookProcessor`] (the shared
//! pipeline of [`compliance_core::webhook`]) runs your handler once per `(type, uuid,
//! status)`, and never lets an intermediate status that arrives late (`process`, `check`,
//! `locked`...) overwrite a final one (`paid`). Heleket sends from `31.133.220.8`; the
//! signature, not the address, is what proves a webhook genuine.

use std::fmt;

use compliance_core::webhook::constant_time_eq;
use compliance_core::{ExposeSecret, SecretString, json};
use serde::Deserialize;

use crate::sign::{KeyKind, sign};

mod error;
mod event;
mod pipeline;
mod scan;

pub use error::{MismatchCause, WebhookError};
pub use event::{HeleketWebhook, PaymentWebhook, PayoutWebhook, WebhookKind};
pub use pipeline::WebhookProcessor;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use pipeline::WebhookReceiver;
use scan::{Located, escape_slashes, locate_sign};

/// Verifies Heleket webhooks from their raw bytes.
///
/// ```
/// use heleket_aml::{HeleketWebhook, WebhookVerifier};
///
/// let verifier = WebhookVerifier::new("test-api-key");
/// let body = br#"{"type":"payment","uuid":"u1","order_id":"o1","amount":"10.00","currency":"USDT","status":"paid","is_final":true,"url":"https:\/\/pay.heleket.com\/pay\/abc","sign":"81d0ef682e1d6b828628a17350ba4ee4"}"#;
/// match verifier.verify(body) {
///     Ok(HeleketWebhook::Payment(payment)) => assert_eq!(payment.amount.to_string(), "10.00"),
///     Ok(other) => println!("{:?}", other.kind()),
///     Err(e) => panic!("reject the delivery: {e}"),
/// }
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    payment: SecretString,
    payout: Option<SecretString>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("payment_key", &"[redacted]")
            .field("payout_key", &self.payout.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier for payment and wallet webhooks.
    pub fn new(payment_key: impl Into<SecretString>) -> Self {
        Self {
            payment: payment_key.into(),
            payout: None,
        }
    }

    /// Also verifies payout webhooks, with the payout key.
    pub fn with_payout_key(mut self, payout_key: impl Into<SecretString>) -> Self {
        self.payout = Some(payout_key.into());
        self
    }

    /// Verifies `body` (the raw request body, byte for byte) and reads it.
    ///
    /// `body` is read whole: cap request bodies before calling (a Heleket webhook is a few
    /// KiB; a 64 KiB limit in the HTTP server is ample).
    pub fn verify(&self, body: &[u8]) -> Result<HeleketWebhook, WebhookError> {
        let kind = self.verify_signature(body)?;
        let decode = WebhookError::Decode;
        Ok(match kind {
            WebhookKind::Payment => {
                HeleketWebhook::Payment(json::decode("webhook", body).map_err(decode)?)
            }
            WebhookKind::Wallet => {
                HeleketWebhook::Wallet(json::decode("webhook", body).map_err(decode)?)
            }
            WebhookKind::Payout => {
                HeleketWebhook::Payout(json::decode("webhook", body).map_err(decode)?)
            }
        })
    }

    /// Checks only the signature of `body` and returns its type; [`verify`](Self::verify)
    /// also reads the content.
    pub fn verify_signature(&self, body: &[u8]) -> Result<WebhookKind, WebhookError> {
        let located = locate_sign(body)?;
        let kind = webhook_type(body)?;
        let expected = kind.key_kind();
        let key = self.key(expected).ok_or(WebhookError::MissingKey {
            kind,
            key: expected,
        })?;
        if constant_time_eq(
            sign(&located.unsigned, key.expose_secret()).as_bytes(),
            located.signature,
        ) {
            return Ok(kind);
        }
        Err(WebhookError::Mismatch {
            kind,
            cause: self.diagnose(&located, expected),
        })
    }

    fn key(&self, kind: KeyKind) -> Option<&SecretString> {
        match kind {
            KeyKind::Payment => Some(&self.payment),
            KeyKind::Payout => self.payout.as_ref(),
        }
    }

    /// Tries the common integration mistakes on a body that did not verify.
    fn diagnose(&self, located: &Located<'_>, expected: KeyKind) -> MismatchCause {
        let matches = |body: &[u8], key: &SecretString| {
            constant_time_eq(
                sign(body, key.expose_secret()).as_bytes(),
                located.signature,
            )
        };
        let re_escaped = escape_slashes(&located.unsigned);
        if let (Some(body), Some(key)) = (&re_escaped, self.key(expected))
            && matches(body, key)
        {
            return MismatchCause::ReSerialised;
        }
        if let Some(other) = self.key(expected.other()) {
            let verifies = matches(&located.unsigned, other)
                || re_escaped.as_deref().is_some_and(|b| matches(b, other));
            if verifies {
                return MismatchCause::WrongKey {
                    expected,
                    verifies_with: expected.other(),
                };
            }
        }
        MismatchCause::Unexplained
    }
}

/// Reads the top-level `type` (and checks that the whole body is well-formed JSON).
fn webhook_type(body: &[u8]) -> Result<WebhookKind, WebhookError> {
    #[derive(Deserialize)]
    struct TypeProbe {
        #[serde(rename = "type", default)]
        kind: Option<String>,
    }
    let probe: TypeProbe =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let t = probe.kind.ok_or(WebhookError::MissingType)?;
    WebhookKind::from_type(&t).ok_or(WebhookError::UnknownType(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-api-key";

    #[test]
    fn dedup_keys_include_type_uuid_and_status() {
        let v = WebhookVerifier::new(KEY);
        let body = br#"{"type":"payment","uuid":"u1","amount":"1","is_final":false,"status":"locked","currency":"USDT","sign":"x"}"#;
        let err = v.verify(body).unwrap_err();
        assert!(matches!(err, WebhookError::Mismatch { .. }));
        let webhook: PaymentWebhook = serde_json::from_slice(body).unwrap();
        assert_eq!(
            HeleketWebhook::Payment(webhook).dedup_key(),
            "heleket:payment:u1:locked"
        );
    }

    #[test]
    fn debug_hides_keys() {
        let v = WebhookVerifier::new("pay-secret").with_payout_key("payout-secret");
        let text = format!("{v:?}");
        assert!(!text.contains("pay-secret") && !text.contains("payout-secret"));
    }
}
