//! Tuum: delivers AML process events to a subscribed URL the way Tuum does — at least once,
//! unsigned, retried on any non-2xx answer, sometimes twice, and replayable later with the
//! same `notificationId`.
//!
//! Payloads are the provider's documented examples with a fresh `notificationId` (and, for
//! results, the chosen result code); every other byte is as documented, numbers included.
//! Tuum publishes no retry schedule: the sandbox retries 4 times, 20 ms apart, while the
//! caller waits ([`TuumConfig::retries`]).
//!
//! Layout (the same as every simulator's, without `api.rs`: Tuum only sends): this file the
//! settings and state, `events` the documented events, `webhook` the deliveries, `control`
//! the `/sandbox/tuum/...` routes.

mod control;
mod events;
mod webhook;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::delivery::{DeliveryLog, Outbox, RetrySchedule};

pub use events::{RESULT_CODES, TuumEvent};
pub use webhook::{DeliveryOptions, TuumDelivery, TuumEventSent};

/// Settings of the simulated Tuum.
#[derive(Clone)]
#[non_exhaustive]
pub struct TuumConfig {
    /// Retries after a non-2xx answer before giving up (Tuum retries; operators replay
    /// later). Default: 4 retries, 20 ms apart.
    pub retries: RetrySchedule,
    /// A header added to every delivery (the shared secret agreed out of band), if any.
    pub auth_header: Option<(String, String)>,
}

impl Default for TuumConfig {
    fn default() -> Self {
        Self {
            retries: RetrySchedule::fixed(Duration::from_millis(20), 4),
            auth_header: None,
        }
    }
}

impl std::fmt::Debug for TuumConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TuumConfig")
            .field("retries", &self.retries)
            .field(
                "auth_header",
                &self
                    .auth_header
                    .as_ref()
                    .map(|(name, _)| (name, "[redacted]")),
            )
            .finish()
    }
}

impl TuumConfig {
    /// Sends `name: value` with every delivery: the shared secret a receiver checks (Tuum
    /// documents no webhook authentication; it is agreed out of band). The
    /// `compliance-sandbox` binary and `compliance sandbox` set it with
    /// `--tuum-secret-header NAME` and the value from `TUUM_WEBHOOK_SECRET`.
    pub fn secret_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.auth_header = Some((name.into(), value.into()));
        self
    }
}

#[derive(Debug, Default)]
struct Inner {
    subscription: Option<String>,
    sent: Vec<(String, String)>,
    next: u64,
}

/// The simulated Tuum; cheap to clone.
#[derive(Debug, Clone)]
pub struct Tuum {
    inner: Arc<Mutex<Inner>>,
    config: TuumConfig,
    outbox: Outbox,
    deliveries: DeliveryLog<TuumEventSent>,
}

/// Why a delivery could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuumError {
    /// No URL subscribed yet.
    #[error("no subscription: call `subscribe(url)` first")]
    NoSubscription,
    /// Replay of a notification never sent.
    #[error("notification `{0}` was never sent")]
    UnknownNotification(String),
}

impl Tuum {
    pub(crate) fn new(config: TuumConfig, outbox: Outbox) -> Self {
        Self {
            inner: Arc::default(),
            config,
            outbox,
            deliveries: DeliveryLog::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The settings in force.
    pub fn config(&self) -> &TuumConfig {
        &self.config
    }

    /// Subscribes `url` to every AML event.
    pub fn subscribe(&self, url: impl Into<String>) {
        self.lock().subscription = Some(url.into());
    }

    /// Every notification sent so far: `(notificationId, body)`.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.lock().sent.clone()
    }

    /// Every delivery so far (duplicates and replays included), in order, with its
    /// attempts.
    pub fn deliveries(&self) -> Vec<TuumDelivery> {
        self.deliveries.all()
    }
}
