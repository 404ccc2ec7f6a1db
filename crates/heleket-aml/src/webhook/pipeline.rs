//! Heleket on the shared exactly-once pipeline ([`compliance_core::webhook`]): the verifier
//! names the deduplication key `(type, uuid, status)` and places each webhook in its
//! payment's (or payout's) sequence, so a late intermediate status never overwrites a final
//! one.

use compliance_core::webhook::{
    Processor, Rejection, RejectionKind, RequestInfo, Stage, Verified, Verifier,
};

use super::{HeleketWebhook, WebhookError, WebhookVerifier};
use crate::payment::PaymentStatus;
use crate::payout::PayoutStatus;

/// Turns Heleket's repeated deliveries into exactly-once calls of your handler: a
/// [`compliance_core::webhook::Processor`] with Heleket's [`WebhookVerifier`].
///
/// ```
/// use heleket_aml::{BoxError, HeleketWebhook, WebhookProcessor, WebhookVerifier, handler_fn};
///
/// let processor = WebhookProcessor::builder(WebhookVerifier::new("payment-key"))
///     .handler(handler_fn(|webhook: HeleketWebhook| async move {
///         println!("{} is now {}", webhook.uuid(), webhook.status());
///         Ok::<_, BoxError>(())
///     }))
///     .build()?;
/// # Ok::<(), compliance_core::Error>(())
/// ```
pub type WebhookProcessor = Processor<WebhookVerifier>;

/// The durable mode's worker for Heleket's webhooks: runs a [`WebhookProcessor`]'s handler over
/// the deliveries a durable intake (a processor built with
/// [`queue`](compliance_core::webhook::ProcessorBuilder::queue)) stored, retrying with
/// back-off and keeping what fails past the limit as dead. See the crate README's durable
/// mode.
pub type WebhookWorker = compliance_core::webhook::Worker<WebhookVerifier>;

/// The HTTP receiver for Heleket's webhooks (feature `axum`): mount its
/// [`method_router`](compliance_core::webhook::Receiver::method_router) at your
/// `url_callback`.
#[cfg(feature = "axum")]
pub type WebhookReceiver = compliance_core::webhook::Receiver<WebhookVerifier>;

impl Verifier for WebhookVerifier {
    type Event = HeleketWebhook;
    type Error = WebhookError;

    const PROVIDER: &'static str = crate::PROVIDER;

    /// The signature is inside the body: nothing to check before reading it.
    fn verify_delivery(
        &self,
        _request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<HeleketWebhook>, WebhookError> {
        let webhook = self.verify(body)?;
        let key = webhook.dedup_key();
        let sequence = format!("{}:{}:{}", crate::PROVIDER, webhook.kind(), webhook.uuid());
        Ok(match stage(&webhook) {
            Some(stage) => Verified::event(key, webhook).in_sequence(sequence, stage),
            None => Verified::event(key, webhook),
        })
    }
}

/// Where a webhook stands in its payment's life: `is_final` (signed by Heleket) is final;
/// the statuses that can only come before settlement are provisional; anything else
/// (refunds, statuses this crate does not know) is processed whatever came before, so that
/// no event is dropped on a guess.
fn stage(webhook: &HeleketWebhook) -> Option<Stage> {
    if webhook.is_final() {
        return Some(Stage::Final);
    }
    let provisional = match webhook {
        HeleketWebhook::Payment(p) | HeleketWebhook::Wallet(p) => {
            p.status.is_in_progress() || p.status == PaymentStatus::Locked
        }
        HeleketWebhook::Payout(p) => {
            matches!(p.status, PayoutStatus::Process | PayoutStatus::Check)
        }
    };
    provisional.then_some(Stage::Provisional)
}

impl Rejection for WebhookError {
    fn kind(&self) -> RejectionKind {
        match self {
            WebhookError::MissingSign
            | WebhookError::EmptySign
            | WebhookError::MissingKey { .. }
            | WebhookError::Mismatch { .. } => RejectionKind::Unauthenticated,
            _ => RejectionKind::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::PaymentStatus;
    use crate::webhook::PaymentWebhook;

    fn payment(status: &str, is_final: bool) -> HeleketWebhook {
        let json = serde_json::json!({
            "uuid": "u1", "amount": "1", "currency": "USDT", "status": status, "is_final": is_final
        });
        HeleketWebhook::Payment(serde_json::from_value::<PaymentWebhook>(json).unwrap())
    }

    #[test]
    fn stages_follow_is_final_and_the_pre_settlement_statuses() {
        for status in [
            "process",
            "check",
            "confirm_check",
            "wrong_amount_waiting",
            "locked",
        ] {
            assert_eq!(
                stage(&payment(status, false)),
                Some(Stage::Provisional),
                "{status}"
            );
        }
        for status in ["paid", "cancel", "refund_paid"] {
            assert_eq!(
                stage(&payment(status, true)),
                Some(Stage::Final),
                "{status}"
            );
        }
        // Not final, not before settlement: never superseded.
        assert_eq!(stage(&payment("refund_process", false)), None);
        assert_eq!(stage(&payment("teleported", false)), None);
        assert!(!PaymentStatus::from("teleported").is_in_progress());
    }

    #[test]
    fn refusals_say_which_kind() {
        assert_eq!(
            WebhookError::MissingSign.kind(),
            RejectionKind::Unauthenticated
        );
        assert_eq!(
            WebhookError::Malformed("x".into()).kind(),
            RejectionKind::Invalid
        );
    }
}
