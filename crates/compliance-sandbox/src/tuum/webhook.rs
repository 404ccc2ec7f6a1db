//! Delivering events the way Tuum does: at least once, unsigned, retried on any non-2xx
//! answer while the caller waits, sometimes twice, and replayable later byte for byte.

use serde::{Deserialize, Serialize};

use super::{Tuum, TuumError, TuumEvent};
use crate::delivery::{Delivery, Outgoing};

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

/// What one delivery of the simulated Tuum was (the facts of a [`TuumDelivery`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TuumEventSent {
    /// The notification delivered.
    pub notification_id: String,
}

/// One delivery of the simulated Tuum, with every attempt.
pub type TuumDelivery = Delivery<TuumEventSent>;

impl Tuum {
    /// Sends a new notification of `event`; with `duplicate`, delivers it twice.
    pub async fn send(
        &self,
        event: TuumEvent,
        options: DeliveryOptions,
    ) -> Result<Vec<TuumDelivery>, TuumError> {
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
    pub async fn replay(&self, notification_id: &str) -> Result<TuumDelivery, TuumError> {
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

    /// Every attempt of one delivery, while the caller waits.
    async fn deliver(&self, url: &str, id: &str, body: &str) -> TuumDelivery {
        let out = Outgoing {
            url: url.to_owned(),
            body: body.as_bytes().to_vec(),
            headers: self.config.auth_header.iter().cloned().collect(),
        };
        let sent = TuumEventSent {
            notification_id: id.to_owned(),
        };
        self.deliveries
            .send_inline(&self.outbox, sent, &out, &self.config.retries)
            .await
    }
}
