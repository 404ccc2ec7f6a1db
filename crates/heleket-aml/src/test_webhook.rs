//! Asking Heleket to send a test webhook (`POST /v1/test-webhook/{payment|wallet|payout}`).
//!
//! The delivered webhook is signed like a real one, which makes this the end-to-end check of
//! a webhook endpoint and its [`WebhookVerifier`](crate::WebhookVerifier).

use compliance_core::Error as CoreError;
use serde::Serialize;

use crate::payment::PaymentRef;
use crate::webhook::WebhookKind;

/// A test webhook to request.
///
/// ```
/// use heleket_aml::{PaymentStatus, TestWebhook, WebhookKind};
/// let test = TestWebhook::new(WebhookKind::Payment, "https://shop.example/hooks/heleket", "USDT", "tron")
///     .status(PaymentStatus::Locked);
/// assert_eq!(test.kind(), WebhookKind::Payment);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestWebhook {
    #[serde(skip)]
    kind: WebhookKind,
    #[serde(flatten)]
    payment: Option<PaymentRef>,
    currency: String,
    network: String,
    url_callback: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

impl TestWebhook {
    /// A test webhook of `kind` delivered to `url_callback` (6–150 characters) for
    /// `currency` on `network` (`USDT`, `tron`).
    pub fn new(
        kind: WebhookKind,
        url_callback: impl Into<String>,
        currency: impl Into<String>,
        network: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            payment: None,
            currency: currency.into(),
            network: network.into(),
            url_callback: url_callback.into(),
            status: None,
        }
    }

    /// The status the webhook reports (Heleket's default is `paid`). Takes a
    /// [`PaymentStatus`](crate::PaymentStatus), a [`PayoutStatus`](crate::PayoutStatus) or
    /// a string.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Reports on an existing invoice (otherwise Heleket makes up ids).
    pub fn payment(mut self, payment: PaymentRef) -> Self {
        self.payment = Some(payment);
        self
    }

    /// The kind of webhook.
    pub fn kind(&self) -> WebhookKind {
        self.kind
    }

    /// Refuses, before any I/O, what Heleket would refuse.
    pub(crate) fn validate(&self) -> Result<(), CoreError> {
        let len = self.url_callback.chars().count();
        if !(6..=150).contains(&len) {
            return Err(CoreError::invalid_request(
                "url_callback",
                format!("must be 6–150 characters, is {len}"),
            ));
        }
        if self.currency.trim().is_empty() {
            return Err(CoreError::invalid_request("currency", "must not be empty"));
        }
        if self.network.trim().is_empty() {
            return Err(CoreError::invalid_request("network", "must not be empty"));
        }
        if let Some(payment) = &self.payment {
            payment.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PayoutStatus;

    #[test]
    fn body_has_only_what_was_set() {
        let t = TestWebhook::new(WebhookKind::Payout, "https://x.example/h", "USDT", "tron");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"currency":"USDT","network":"tron","url_callback":"https://x.example/h"}"#
        );
        let t = t
            .status(PayoutStatus::Fail)
            .payment(PaymentRef::order_id("o-1"));
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"order_id":"o-1","currency":"USDT","network":"tron","url_callback":"https://x.example/h","status":"fail"}"#
        );
    }

    #[test]
    fn validates_locally() {
        let ok = TestWebhook::new(WebhookKind::Wallet, "https://x.example/h", "USDT", "tron");
        assert!(ok.validate().is_ok());
        for (bad, field) in [
            (
                TestWebhook::new(WebhookKind::Wallet, "x.io", "USDT", "tron"),
                "url_callback",
            ),
            (
                TestWebhook::new(WebhookKind::Wallet, "h".repeat(151), "USDT", "tron"),
                "url_callback",
            ),
            (
                TestWebhook::new(WebhookKind::Wallet, "https://x.example/h", "", "tron"),
                "currency",
            ),
            (
                TestWebhook::new(WebhookKind::Wallet, "https://x.example/h", "USDT", " "),
                "network",
            ),
            (ok.clone().payment(PaymentRef::uuid("")), "uuid"),
        ] {
            match bad.validate() {
                Err(CoreError::InvalidRequest { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
