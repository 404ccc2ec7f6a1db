//! Tuum: delivers AML process events to a subscribed URL the way Tuum does — at least once,
//! unsigned, retried on any non-2xx answer, sometimes twice, and replayable later with the
//! same `notificationId`.
//!
//! Payloads are the provider's documented examples with a fresh `notificationId` (and, for
//! results, the chosen result code); every other byte is as documented, numbers included.
//! Tuum publishes no retry schedule: the sandbox retries 4 times, 20 ms apart, while the
//! caller waits ([`TuumConfig::retries`]).
//!
//! Layout: Tuum only sends, so this module holds the state, the Rust control API and the
//! deliveries, and `control` the `/sandbox/tuum/...` routes.

mod control;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::delivery::{Outbox, Outgoing, RetrySchedule};

const PERSON: &str = include_str!("events/person_subprocess_created.json");
const PAYMENT: &str = include_str!("events/subprocess_created.json");
const COLLECTION: &str = include_str!("events/collection_subprocess_created.json");
const RESULTS: &str = include_str!("events/payment_results_published.json");

/// Which event to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum TuumEvent {
    /// `AML_PERSON_SUBPROCESS_CREATED`.
    #[serde(rename = "AML_PERSON_SUBPROCESS_CREATED")]
    PersonSubprocessCreated,
    /// `AML_SUBPROCESS_CREATED` (a payment).
    #[serde(rename = "AML_SUBPROCESS_CREATED")]
    SubprocessCreated,
    /// `AML_SUBPROCESS_CREATED_COLLECTION`.
    #[serde(rename = "AML_SUBPROCESS_CREATED_COLLECTION")]
    CollectionSubprocessCreated,
    /// `AML_PAYMENT_RESULTS_PUBLISHED` with a result code (`APPROVED`, `DECLINED`, `REVIEW`).
    #[serde(rename = "AML_PAYMENT_RESULTS_PUBLISHED")]
    PaymentResultsPublished {
        /// The result code.
        result: String,
    },
    /// Any JSON body, sent as given (for event types Tuum may add).
    #[serde(rename = "RAW")]
    Raw {
        /// The body.
        body: String,
    },
}

/// The result codes of `AML_PAYMENT_RESULTS_PUBLISHED`, as documented.
pub const RESULT_CODES: [&str; 3] = ["APPROVED", "DECLINED", "REVIEW"];

impl TuumEvent {
    /// Every documented event: the three subprocess events and the results event with each
    /// of the [`RESULT_CODES`].
    pub fn documented() -> Vec<TuumEvent> {
        let mut all = vec![
            TuumEvent::PersonSubprocessCreated,
            TuumEvent::SubprocessCreated,
            TuumEvent::CollectionSubprocessCreated,
        ];
        all.extend(
            RESULT_CODES
                .iter()
                .map(|r| TuumEvent::PaymentResultsPublished {
                    result: (*r).into(),
                }),
        );
        all
    }

    /// The `notificationTypeCode` (`None` for [`TuumEvent::Raw`]).
    pub fn type_code(&self) -> Option<&'static str> {
        Some(match self {
            TuumEvent::PersonSubprocessCreated => "AML_PERSON_SUBPROCESS_CREATED",
            TuumEvent::SubprocessCreated => "AML_SUBPROCESS_CREATED",
            TuumEvent::CollectionSubprocessCreated => "AML_SUBPROCESS_CREATED_COLLECTION",
            TuumEvent::PaymentResultsPublished { .. } => "AML_PAYMENT_RESULTS_PUBLISHED",
            TuumEvent::Raw { .. } => return None,
        })
    }

    /// The body Tuum delivers: the documented example with `notification_id` (and, for
    /// results, the chosen result code), every other byte as documented. Public so that a
    /// tool can send what the simulator sends without a running sandbox (the
    /// `compliance trigger tuum ...` command).
    pub fn body(&self, notification_id: &str) -> String {
        let id = format!(r#""notificationId": "{notification_id}""#);
        let with_id = |t: &str| t.replacen(r#""notificationId": "ID-9999""#, &id, 1);
        match self {
            TuumEvent::PersonSubprocessCreated => with_id(PERSON),
            TuumEvent::SubprocessCreated => with_id(PAYMENT),
            TuumEvent::CollectionSubprocessCreated => with_id(COLLECTION),
            TuumEvent::PaymentResultsPublished { result } => with_id(RESULTS).replacen(
                r#""amlProcessResultCode": "APPROVED""#,
                &format!(r#""amlProcessResultCode": {}"#, json!(result)),
                1,
            ),
            TuumEvent::Raw { body } => body.clone(),
        }
    }
}

/// How to deliver.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeliveryOptions {
    /// Deliver the same notification twice (as at-least-once delivery does).
    #[serde(default)]
    pub duplicate: bool,
}

impl DeliveryOptions {
    /// Deliver twice.
    pub fn duplicated() -> Self {
        Self { duplicate: true }
    }
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// The notification delivered.
    pub notification_id: String,
    /// The HTTP status of each attempt (0: no answer).
    pub attempts: Vec<u16>,
    /// Whether an attempt got a 2xx.
    pub delivered: bool,
}

/// Settings of the simulated Tuum.
#[derive(Debug, Clone)]
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
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes `url` to every AML event.
    pub fn subscribe(&self, url: impl Into<String>) {
        self.lock().subscription = Some(url.into());
    }

    /// Sends a new notification of `event`; with `duplicate`, delivers it twice.
    pub async fn send(
        &self,
        event: TuumEvent,
        options: DeliveryOptions,
    ) -> Result<Vec<DeliveryReport>, TuumError> {
        let (url, id, body) = {
            let mut inner = self.lock();
            let url = inner
                .subscription
                .clone()
                .ok_or(TuumError::NoSubscription)?;
            inner.next += 1;
            let id = format!("NTF-{:06}", inner.next);
            let body = event.body(&id);
            inner.sent.push((id.clone(), body.clone()));
            (url, id, body)
        };
        let mut reports = vec![self.deliver(&url, &id, &body).await];
        if options.duplicate {
            reports.push(self.deliver(&url, &id, &body).await);
        }
        Ok(reports)
    }

    /// Delivers an earlier notification again, byte for byte (an operator's replay).
    pub async fn replay(&self, notification_id: &str) -> Result<DeliveryReport, TuumError> {
        let (url, body) = {
            let inner = self.lock();
            let url = inner
                .subscription
                .clone()
                .ok_or(TuumError::NoSubscription)?;
            let body = inner
                .sent
                .iter()
                .find(|(id, _)| id == notification_id)
                .map(|(_, b)| b.clone())
                .ok_or_else(|| TuumError::UnknownNotification(notification_id.to_owned()))?;
            (url, body)
        };
        Ok(self.deliver(&url, notification_id, &body).await)
    }

    /// Every notification sent so far: `(notificationId, body)`.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.lock().sent.clone()
    }

    /// Every attempt of one delivery, while the caller waits.
    async fn deliver(&self, url: &str, id: &str, body: &str) -> DeliveryReport {
        let out = Outgoing {
            url: url.to_owned(),
            body: body.as_bytes().to_vec(),
            headers: self.config.auth_header.iter().cloned().collect(),
        };
        let mut attempts = Vec::new();
        self.outbox
            .deliver_inline(&out, &self.config.retries, |a| {
                attempts.push(a.status.unwrap_or(0));
            })
            .await;
        DeliveryReport {
            notification_id: id.to_owned(),
            delivered: attempts.last().is_some_and(|s| (200..300).contains(s)),
            attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_the_documented_bytes_but_the_id() {
        let body = TuumEvent::SubprocessCreated.body("NTF-000001");
        assert!(body.contains(r#""notificationId": "NTF-000001""#));
        assert!(body.contains(r#""amount": 1.22"#));
        assert_eq!(
            body.len(),
            PAYMENT.len() + "NTF-000001".len() - "ID-9999".len()
        );
        let results = TuumEvent::PaymentResultsPublished {
            result: "DECLINED".into(),
        }
        .body("N");
        assert!(results.contains(r#""amlProcessResultCode": "DECLINED""#));
        let v: serde_json::Value = serde_json::from_str(&results).unwrap();
        assert_eq!(v["notificationTypeCode"], "AML_PAYMENT_RESULTS_PUBLISHED");
        for event in TuumEvent::documented() {
            let v: serde_json::Value = serde_json::from_str(&event.body("N-1")).unwrap();
            assert_eq!(v["notificationTypeCode"], event.type_code().unwrap());
            assert_eq!(v["notificationId"], "N-1");
        }
        assert_eq!(TuumEvent::documented().len(), 6);
    }
}
