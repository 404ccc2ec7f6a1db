//! Webhooks: raw headers and body in, a verified [`ApplicantEvent`] and its deduplication key
//! out.
//!
//! The provider posts the usual envelope with `data` encrypted under the application's
//! keys and the HMAC or GCM tag in `x-allpass-signature`. It expects HTTP 200; anything
//! else is retried after 30 s with exponential back-off, 10 attempts, so a delivery can
//! arrive more than once: [`WebhookProcessor`] (the shared pipeline of
//! [`compliance_core::webhook`]) runs your handler once per event.
//!
//! Only `data` is authenticated (by the signature or the GCM tag). The envelope's `time` is
//! not: anyone holding one captured delivery can resend it with any `time`. So the
//! deduplication key is computed from the decrypted payload alone, and `time` orders
//! nothing: to keep applicant state in order, re-fetch the applicant (the API is the source
//! of truth) with [`store::refresh`](crate::store::refresh). The freshness window on `time`
//! (default [`DEFAULT_TOLERANCE`], wide enough for the provider's whole retry schedule)
//! only turns away deliveries whose clock is far off; it is no defence against replays.
//!
//! A webhook without encryption cannot be authenticated and is refused.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use compliance_core::http::HeaderMap;
use compliance_core::json;
use compliance_core::rt::{Clock, SystemClock};
use compliance_core::webhook::Freshness;
use sha2::{Digest as _, Sha256};

use crate::encryption::{
    Cipher, EncryptionError, EncryptionOptions, EncryptionSettings, SIGNATURE_HEADER,
};
use crate::envelope::{Data, RawEnvelope, open_encrypted};

mod error;
mod event;
mod pipeline;

pub use error::WebhookError;
pub use event::{ApplicantEvent, EventType, WebhookEvent};
pub use pipeline::WebhookProcessor;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use pipeline::WebhookReceiver;

/// The default freshness window for the envelope's `time`: 12 hours either way.
///
/// The provider retries a refused delivery 10 times with exponential back-off from 30 s
/// (30 s · (2¹⁰ − 1) ≈ 8.5 h in all); if a retry keeps the first attempt's `time`, a
/// narrower window would refuse the provider's own late retries after an outage, and the
/// event would be lost. 12 h covers the schedule with room for queueing and clock skew.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(12 * 3600);

/// Builds a [`WebhookVerifier`].
pub struct WebhookVerifierBuilder {
    settings: EncryptionSettings,
    options: EncryptionOptions,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifierBuilder")
            .field("settings", &self.settings)
            .field("options", &self.options)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl WebhookVerifierBuilder {
    /// The unconfirmed encryption details (defaults per the provider notes).
    pub fn encryption_options(mut self, options: EncryptionOptions) -> Self {
        self.options = options;
        self
    }

    /// How far the envelope's `time` may be from now, either way (default
    /// [`DEFAULT_TOLERANCE`]). Keep it wider than the provider's retry schedule.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The clock (default the system clock; tests use
    /// [`ManualClock`](compliance_core::rt::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Validates the keys and builds the receiver.
    pub fn build(self) -> Result<WebhookVerifier, EncryptionError> {
        Ok(WebhookVerifier {
            cipher: Cipher::with_options(&self.settings, self.options)?,
            freshness: Freshness::new(self.tolerance),
            clock: self.clock,
        })
    }
}

/// Verifies and decrypts webhooks, and names their deduplication key. Cheap to clone;
/// build once. It is the [`Verifier`](compliance_core::webhook::Verifier) of [`WebhookProcessor`].
#[derive(Clone)]
pub struct WebhookVerifier {
    cipher: Cipher,
    freshness: Freshness,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("cipher", &self.cipher)
            .field("tolerance", &self.freshness.tolerance())
            .field("clock", &self.clock)
            .finish()
    }
}

impl WebhookVerifier {
    /// Starts building a receiver for an application with these keys.
    pub fn builder(settings: EncryptionSettings) -> WebhookVerifierBuilder {
        WebhookVerifierBuilder {
            settings,
            options: EncryptionOptions::default(),
            tolerance: DEFAULT_TOLERANCE,
            clock: Arc::new(SystemClock),
        }
    }

    /// Verifies the signature, decrypts, checks `time` against the window and parses the
    /// event. Does not deduplicate (a [`WebhookProcessor`] does).
    ///
    /// `body` is read whole: cap request bodies before calling (an applicant event is a few
    /// KiB; a 64 KiB limit in the HTTP server is ample).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        self.open(headers, body, Some(&self.freshness))
    }

    /// [`verify`](Self::verify), checking `time` against `freshness` only when given (the
    /// durable worker's re-verification of a stored delivery skips it).
    pub(super) fn open(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        freshness: Option<&Freshness>,
    ) -> Result<WebhookEvent, WebhookError> {
        let envelope: RawEnvelope =
            json::decode("webhook", body).map_err(WebhookError::Malformed)?;
        let data = match envelope.data().map_err(WebhookError::Malformed)? {
            Data::Encrypted(data) => data,
            Data::Plain(_) | Data::Missing => return Err(WebhookError::NotEncrypted),
        };
        let signature = headers
            .get(SIGNATURE_HEADER)
            .map(|v| {
                v.to_str().map_err(|_| EncryptionError::MalformedSignature {
                    expected: "visible ASCII".into(),
                })
            })
            .transpose()?;
        let plaintext = open_encrypted(&self.cipher, &data, signature)?;
        let time = envelope
            .time
            .as_ref()
            .and_then(|t| t.parsed())
            .copied()
            .ok_or(WebhookError::MissingTime)?;
        if let Some(freshness) = freshness {
            freshness.check(time, self.clock.as_ref())?;
        }
        let event: ApplicantEvent =
            json::decode("webhook `data`", &plaintext).map_err(WebhookError::Payload)?;
        let dedup_key = format!("elkyc:{}", const_hex::encode(Sha256::digest(&plaintext)));
        Ok(WebhookEvent {
            envelope_time: time,
            event,
            dedup_key,
        })
    }
}
