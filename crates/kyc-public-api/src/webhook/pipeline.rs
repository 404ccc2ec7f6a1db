//! elKYC on the shared exactly-once pipeline ([`compliance_core::webhook`]): the verifier
//! refuses a delivery without a signature before reading its body, and names the
//! deduplication key (the SHA-256 of the decrypted payload).

use compliance_core::webhook::{
    Processor, Rejection, RejectionKind, RequestInfo, StoredRequest, Verified, Verifier,
};

use super::{WebhookError, WebhookEvent, WebhookVerifier};
use crate::encryption::{EncryptionError, SIGNATURE_HEADER};

/// Turns the provider's retried deliveries into exactly-once calls of your handler: a
/// [`compliance_core::webhook::Processor`] with elKYC's [`WebhookVerifier`].
pub type WebhookProcessor = Processor<WebhookVerifier>;

/// The durable mode's worker for elKYC's webhooks: runs a [`WebhookProcessor`]'s handler over
/// the deliveries a durable intake (a processor built with
/// [`queue`](compliance_core::webhook::ProcessorBuilder::queue)) stored, retrying with
/// back-off and keeping what fails past the limit as dead. See the crate README's durable
/// mode.
pub type WebhookWorker = compliance_core::webhook::Worker<WebhookVerifier>;

/// The HTTP receiver for elKYC's webhooks (feature `axum`): mount its
/// [`method_router`](compliance_core::webhook::Receiver::method_router) at the
/// application's webhook URL.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub type WebhookReceiver = compliance_core::webhook::Receiver<WebhookVerifier>;

impl Verifier for WebhookVerifier {
    type Event = WebhookEvent;
    type Error = WebhookError;

    const PROVIDER: &'static str = crate::PROVIDER;

    /// A delivery without `x-allpass-signature` is refused before its body is read.
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), WebhookError> {
        if request.headers().contains_key(SIGNATURE_HEADER) {
            Ok(())
        } else {
            Err(WebhookError::Encryption(EncryptionError::MissingSignature))
        }
    }

    fn verify_delivery(
        &self,
        request: &RequestInfo<'_>,
        body: &[u8],
    ) -> Result<Verified<WebhookEvent>, WebhookError> {
        let webhook = self.verify(request.headers(), body)?;
        Ok(Verified::event(webhook.dedup_key.clone(), webhook))
    }

    /// The signature header: durable intake stores it beside the envelope (still
    /// encrypted, as received), so the worker can verify and decrypt it again.
    const KEPT_HEADERS: &'static [&'static str] = &[SIGNATURE_HEADER];

    /// Signature and decryption again, without the freshness window: intake checked it,
    /// and a delivery replayed from dead days later must still process.
    fn reverify(&self, stored: &StoredRequest) -> Result<Verified<WebhookEvent>, WebhookError> {
        let webhook = self.open(&stored.header_map(), stored.body(), None)?;
        Ok(Verified::event(webhook.dedup_key.clone(), webhook))
    }
}

impl Rejection for WebhookError {
    fn kind(&self) -> RejectionKind {
        match self {
            WebhookError::NotEncrypted | WebhookError::Encryption(_) => {
                RejectionKind::Unauthenticated
            }
            _ => RejectionKind::Invalid,
        }
    }
}
