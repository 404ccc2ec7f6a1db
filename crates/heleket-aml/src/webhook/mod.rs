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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use compliance_core::secret::SecretProblem;
use compliance_core::webhook::constant_time_eq;
use compliance_core::{ExposeSecret, SecretString, json};

use crate::sign::{KeyKind, sign, signature};

mod error;
mod event;
mod pipeline;
mod scan;

pub use error::{MismatchCause, WebhookError};
pub use event::{HeleketWebhook, PaymentWebhook, PayoutWebhook, WebhookKind};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use pipeline::WebhookReceiver;
pub use pipeline::{WebhookProcessor, WebhookWorker};
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
    /// Whether the missing payout key has been logged (shared by clones: said once).
    said_no_payout_key: Arc<AtomicBool>,
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
    ///
    /// **Payout webhooks are refused** (with [`WebhookError::MissingKey`],
    /// [`NextStep::FixConfiguration`](compliance_core::NextStep::FixConfiguration)) until
    /// you add the payout key with [`with_payout_key`](Self::with_payout_key): Heleket signs
    /// them with it. The first such refusal is logged through `tracing` at WARN, once per
    /// verifier (clones included), saying to call `with_payout_key`; a `WebhookReceiver`
    /// also logs each refusal at WARN with its reason.
    ///
    /// The key is used exactly as given: one with surrounding whitespace (a file's trailing
    /// newline) never matches, and a refusal then says so
    /// ([`MismatchCause::KeyHasWhitespace`]). The client's builder refuses such a key.
    pub fn new(payment_key: impl Into<SecretString>) -> Self {
        Self {
            payment: payment_key.into(),
            payout: None,
            said_no_payout_key: Arc::new(AtomicBool::new(false)),
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
        // A body that is not JSON at all is malformed, whoever signed it.
        let decode = |e| well_formed(body).err().unwrap_or(WebhookError::Decode(e));
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
    ///
    /// The body's top-level structure is checked on the way (one object, one `sign` and one
    /// `type` member); the rest of its syntax only when the signature does not match, so that
    /// a refusal says `Malformed` when the body is not JSON. A body that carries a valid
    /// signature is therefore accepted even if a nested value is not well-formed JSON (only
    /// the key's holder can produce one): read such a body with [`verify`](Self::verify),
    /// which reads all of it strictly, never with a lenient parser.
    pub fn verify_signature(&self, body: &[u8]) -> Result<WebhookKind, WebhookError> {
        let located = locate_sign(body)?;
        self.check(&located)
            .map_err(|refusal| well_formed(body).err().unwrap_or(refusal))
    }

    fn check(&self, located: &Located<'_>) -> Result<WebhookKind, WebhookError> {
        let kind = webhook_type(located.kind)?;
        let expected = kind.key_kind();
        let Some(key) = self.key(expected) else {
            if expected == KeyKind::Payout && !self.said_no_payout_key.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    "a payout webhook was refused: this WebhookVerifier has no payout key; \
                     build it with `WebhookVerifier::new(payment_key).with_payout_key(payout_key)` \
                     to accept payout webhooks (said once; every later one is refused too)"
                );
            }
            return Err(WebhookError::MissingKey {
                kind,
                key: expected,
            });
        };
        if constant_time_eq(
            &signature(&located.unsigned, key.expose_secret()),
            located.signature,
        ) {
            return Ok(kind);
        }
        Err(WebhookError::Mismatch {
            kind,
            cause: self.diagnose(located, expected),
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
        if self
            .key(expected)
            .is_some_and(|key| SecretProblem::of(key.expose_secret()).is_some())
        {
            return MismatchCause::KeyHasWhitespace { expected };
        }
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

/// The webhook's kind, from the top-level `type` member's value as sent.
fn webhook_type(token: Option<&[u8]>) -> Result<WebhookKind, WebhookError> {
    let known = match token {
        Some(br#""payment""#) => Some(WebhookKind::Payment),
        Some(br#""wallet""#) => Some(WebhookKind::Wallet),
        Some(br#""payout""#) => Some(WebhookKind::Payout),
        _ => None,
    };
    if let Some(kind) = known {
        return Ok(kind);
    }
    // Escapes, `null`, another type, not a string: as a JSON parser reads the value.
    let t = match token {
        None => None,
        Some(token) => serde_json::from_slice::<Option<String>>(token)
            .map_err(|e| WebhookError::Malformed(format!("`type`: {e}")))?,
    };
    let t = t.ok_or(WebhookError::MissingType)?;
    WebhookKind::from_type(&t).ok_or(WebhookError::UnknownType(t))
}

/// `Ok` when `body` is well-formed JSON, otherwise the `Malformed` refusal saying where not.
fn well_formed(body: &[u8]) -> Result<(), WebhookError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map(drop)
        .map_err(|e| WebhookError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-api-key";

    /// `unsigned` (an object, compact) with its `sign` member appended.
    fn signed(unsigned: &str) -> Vec<u8> {
        let signature = sign(unsigned.as_bytes(), KEY);
        format!(
            r#"{},"sign":"{signature}"}}"#,
            &unsigned[..unsigned.len() - 1]
        )
        .into_bytes()
    }

    #[test]
    fn the_type_is_read_as_a_json_parser_reads_it() {
        let v = WebhookVerifier::new(KEY);
        let payment =
            r#""uuid":"u1","amount":"1","currency":"USDT","status":"paid","is_final":true"#;
        for (unsigned, want) in [
            (
                format!(r#"{{"type":"payment",{payment}}}"#),
                Ok(WebhookKind::Payment),
            ),
            (
                format!(r#"{{"type":"payment",{payment}}}"#),
                Ok(WebhookKind::Payment),
            ),
            (
                format!(r#"{{"x":{{"type":"payout"}},"type":"wallet",{payment}}}"#),
                Ok(WebhookKind::Wallet),
            ),
            (format!(r#"{{"type":null,{payment}}}"#), Err("MissingType")),
            (format!(r#"{{{payment}}}"#), Err("MissingType")),
            (
                format!(r#"{{"type":"refund",{payment}}}"#),
                Err("UnknownType"),
            ),
            (format!(r#"{{"type":7,{payment}}}"#), Err("Malformed")),
            (
                format!(r#"{{"type":"payment","type":"payment",{payment}}}"#),
                Err("Malformed"),
            ),
        ] {
            let got = v.verify_signature(&signed(&unsigned)).map_err(|e| match e {
                WebhookError::MissingType => "MissingType",
                WebhookError::UnknownType(_) => "UnknownType",
                WebhookError::Malformed(_) => "Malformed",
                other => panic!("{unsigned}: {other:?}"),
            });
            assert_eq!(got, want, "{unsigned}");
            if want.is_ok() {
                assert!(v.verify(&signed(&unsigned)).is_ok(), "{unsigned}");
            }
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed_signed_or_not() {
        let v = WebhookVerifier::new(KEY);
        let unsigned = r#"{"type":"payment","uuid":"u1","amount":1.5.0,"currency":"USDT","status":"paid","is_final":true}"#;
        let body = signed(unsigned);
        // The signature alone holds: the bytes are the ones signed.
        assert_eq!(v.verify_signature(&body).unwrap(), WebhookKind::Payment);
        assert!(matches!(v.verify(&body), Err(WebhookError::Malformed(_))));
        // Refused, it says `Malformed` rather than `Mismatch`, as before it was signed.
        let mut forged = body.clone();
        let at = forged.len() - 3;
        forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
        assert!(matches!(
            v.verify_signature(&forged),
            Err(WebhookError::Malformed(_))
        ));
        // Well-formed but not a payment: a decode error, naming the member.
        let body = signed(
            r#"{"type":"payment","uuid":"u1","amount":"x","currency":"USDT","status":"paid","is_final":true}"#,
        );
        match v.verify(&body) {
            Err(WebhookError::Decode(compliance_core::Error::Decode { path, .. })) => {
                assert_eq!(path, "amount")
            }
            other => panic!("{other:?}"),
        }
    }

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

    /// Issue #25: a key read with its file's newline refused every webhook as "altered".
    #[test]
    fn a_key_with_a_trailing_newline_is_named_as_the_cause() {
        let body = signed(
            r#"{"type":"payment","uuid":"u1","amount":"1","currency":"USDT","status":"paid","is_final":true}"#,
        );
        let v = WebhookVerifier::new(format!("{KEY}\n"));
        match v.verify_signature(&body) {
            Err(WebhookError::Mismatch { cause, .. }) => {
                assert_eq!(
                    cause,
                    MismatchCause::KeyHasWhitespace {
                        expected: KeyKind::Payment
                    }
                );
                assert!(!cause.to_string().contains(KEY));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn debug_hides_keys() {
        let v = WebhookVerifier::new("pay-secret").with_payout_key("payout-secret");
        let text = format!("{v:?}");
        assert!(!text.contains("pay-secret") && !text.contains("payout-secret"));
    }
}
