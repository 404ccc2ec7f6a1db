//! Heleket: signed requests checked over the raw body, the provider's error shapes, payments
//! that can be put into `locked`, AML questionnaire links moving `init → pending →
//! completed` (or `expired`, or simply past their `expired_at`), the payment released when
//! every link is completed, and PHP-style signed webhooks POSTed to the payment's callback
//! URL and repeated until the receiver answers 2xx.
//!
//! Checks, as Heleket does them: `merchant` must be the merchant's uuid (otherwise 401
//! `{"message":"You are forbidden"}`); `sign` must be `md5(base64(raw body) ++ key)` with
//! the key of the endpoint (otherwise 401 `{"message":"Invalid Sign."}`, no `state`);
//! `uuid`/`order_id` missing → 422 `{"state":1,"errors":{...}}`; both given → `order_id`
//! wins; unknown payment → `{"state":1,"message":"Payment not found"}`. The documentation
//! calls the body's members "query parameters"; its curl example, and this simulator, take
//! them as the JSON body (the signed bytes).
//!
//! Layout (the same in every simulator): this module holds the state and the Rust control
//! API, [`api`](self) the provider's HTTP API, `control` the `/sandbox/heleket/...` routes,
//! [`sign`] how Heleket signs, `webhook` what it sends.

mod api;
mod control;
pub mod sign;
pub mod webhook;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compliance_core::time::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::delivery::{Delivery, DeliveryLog, Outbox, RetrySchedule};
use crate::ids::Ids;

/// One of the merchant's two API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HeleketKey {
    /// The payment key: payments, AML links, payment and wallet webhooks.
    #[default]
    Payment,
    /// The payout key: payouts and payout webhooks.
    Payout,
}

/// Settings of the simulated Heleket, including the readings of what its documentation leaves
/// open.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HeleketConfig {
    /// Which key signs `POST /v1/test-webhook/payout` and the payout webhook it delivers
    /// *(undocumented)*. Default [`HeleketKey::Payout`], the key of payout webhooks (what
    /// `heleket-aml` assumes); [`HeleketKey::Payment`] is the other plausible reading (the
    /// test-webhook endpoint sits in the payment API).
    pub payout_test_webhook_key: HeleketKey,
    /// When an unanswered webhook is tried again ([`RetrySchedule::heleket`]).
    pub webhook_retries: RetrySchedule,
    /// How long a new questionnaire link stays valid (`expired_at`; default 30 days,
    /// an assumption: Heleket publishes none).
    pub link_lifetime: Duration,
}

impl Default for HeleketConfig {
    fn default() -> Self {
        Self {
            payout_test_webhook_key: HeleketKey::Payout,
            webhook_retries: RetrySchedule::heleket(),
            link_lifetime: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Credentials the simulated Heleket accepts. `Debug` hides the keys.
#[derive(Clone)]
#[non_exhaustive]
pub struct HeleketCredentials {
    /// The merchant uuid (`merchant` header).
    pub merchant: String,
    /// The payment key.
    pub payment_key: String,
    /// The payout key.
    pub payout_key: String,
}

impl HeleketCredentials {
    /// The key of `kind`.
    pub fn key(&self, kind: HeleketKey) -> &str {
        match kind {
            HeleketKey::Payment => &self.payment_key,
            HeleketKey::Payout => &self.payout_key,
        }
    }
}

impl std::fmt::Debug for HeleketCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeleketCredentials")
            .field("merchant", &self.merchant)
            .field("payment_key", &"[redacted]")
            .field("payout_key", &"[redacted]")
            .finish()
    }
}

/// An AML questionnaire link status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LinkStatus {
    /// Created, not started.
    Init,
    /// In progress.
    Pending,
    /// Completed (final).
    Completed,
    /// Expired (final).
    Expired,
}

impl LinkStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Init => "init",
            LinkStatus::Pending => "pending",
            LinkStatus::Completed => "completed",
            LinkStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone)]
struct Link {
    url: String,
    status: LinkStatus,
    expired_at: Timestamp,
}

#[derive(Debug, Clone)]
struct Payment {
    uuid: String,
    order_id: String,
    amount: String,
    currency: String,
    network: String,
    status: String,
    url_callback: Option<String>,
    additional_data: Option<String>,
    links: Vec<Link>,
}

impl Payment {
    fn is_final(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "check"
                | "process"
                | "confirm_check"
                | "wrong_amount_waiting"
                | "locked"
                | "refund_process"
        )
    }
}

/// A new payment for [`Heleket::create_payment`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewPayment {
    /// The merchant's order id (1–128 of `[A-Za-z0-9_-]`).
    pub order_id: String,
    /// Amount as a decimal string.
    pub amount: String,
    /// Currency code.
    pub currency: String,
    /// Where webhooks go.
    #[serde(default)]
    pub url_callback: Option<String>,
    /// The merchant's free text, echoed in webhooks (`additional_data`).
    #[serde(default)]
    pub additional_data: Option<String>,
    /// The status to create it in (any of Heleket's payment statuses; default `paid`).
    /// `locked` also gives it a questionnaire link in `init`. No webhook is sent for the
    /// creation itself.
    #[serde(default)]
    pub status: Option<String>,
}

impl NewPayment {
    /// A paid payment of `amount` `currency` for `order_id`.
    pub fn new(
        order_id: impl Into<String>,
        amount: impl Into<String>,
        currency: impl Into<String>,
    ) -> Self {
        Self {
            order_id: order_id.into(),
            amount: amount.into(),
            currency: currency.into(),
            url_callback: None,
            additional_data: None,
            status: None,
        }
    }

    /// Creates it in `status` (default `paid`).
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Sets the callback URL.
    pub fn callback(mut self, url: impl Into<String>) -> Self {
        self.url_callback = Some(url.into());
        self
    }

    /// Sets `additional_data` (any text: `/`, non-ASCII and `<>&` show how Heleket encodes).
    pub fn additional_data(mut self, text: impl Into<String>) -> Self {
        self.additional_data = Some(text.into());
        self
    }
}

/// What one webhook of the simulated Heleket was about (the facts of a [`HeleketDelivery`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HeleketWebhookSent {
    /// `payment`, `wallet` or `payout`.
    pub kind: String,
    /// The status the webhook reports.
    pub status: String,
}

/// One webhook the simulated Heleket sent, with every attempt so far.
pub type HeleketDelivery = Delivery<HeleketWebhookSent>;

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeleketSandboxError {
    /// No such payment.
    #[error("no payment `{0}`")]
    UnknownPayment(String),
    /// No such link.
    #[error("payment `{0}` has no link number {1}")]
    UnknownLink(String, usize),
    /// A move the provider does not make (out of a final status, or a payment not locked).
    #[error("{0}")]
    InvalidTransition(String),
}

#[derive(Debug)]
struct Inner {
    creds: HeleketCredentials,
    payments: Vec<Payment>,
}

/// The simulated Heleket; cheap to clone.
#[derive(Debug, Clone)]
pub struct Heleket {
    inner: Arc<Mutex<Inner>>,
    config: Arc<HeleketConfig>,
    ids: Ids,
    outbox: Outbox,
    deliveries: DeliveryLog<HeleketWebhookSent>,
}

impl Heleket {
    pub(crate) fn new(config: HeleketConfig, ids: Ids, outbox: Outbox) -> Self {
        let creds = HeleketCredentials {
            merchant: ids.uuid(),
            payment_key: ids.hex(32),
            payout_key: ids.hex(32),
        };
        Self {
            inner: Arc::new(Mutex::new(Inner {
                creds,
                payments: Vec::new(),
            })),
            config: Arc::new(config),
            ids,
            outbox,
            deliveries: DeliveryLog::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The credentials this instance accepts.
    pub fn credentials(&self) -> HeleketCredentials {
        self.lock().creds.clone()
    }

    /// The settings in force.
    pub fn config(&self) -> &HeleketConfig {
        &self.config
    }

    /// Creates a payment (paid, unless [`NewPayment::status`] says otherwise) and returns
    /// its uuid.
    pub fn create_payment(&self, new: NewPayment) -> String {
        let uuid = self.ids.uuid();
        let status = new.status.unwrap_or_else(|| "paid".into());
        let links = if status == "locked" {
            vec![self.new_link()]
        } else {
            Vec::new()
        };
        self.lock().payments.push(Payment {
            uuid: uuid.clone(),
            order_id: new.order_id,
            amount: new.amount,
            currency: new.currency,
            network: "tron".into(),
            status,
            url_callback: new.url_callback,
            additional_data: new.additional_data,
            links,
        });
        uuid
    }

    /// Moves a payment to `status` (any of Heleket's payment statuses, as a test needs it:
    /// `check` → `paid`, `paid` → `refund_paid`...) and sends the webhook with it. Moving to
    /// `locked` is [`lock_payment`](Self::lock_payment).
    pub async fn set_payment_status(
        &self,
        uuid: &str,
        status: impl Into<String>,
    ) -> Result<(), HeleketSandboxError> {
        let status = status.into();
        if status == "locked" {
            return self.lock_payment(uuid).await;
        }
        if status.is_empty() {
            return Err(HeleketSandboxError::InvalidTransition(
                "a payment status must not be empty".into(),
            ));
        }
        find(&mut self.lock().payments, uuid)?.status = status;
        self.send_payment_webhook(uuid).await;
        Ok(())
    }

    /// Puts a payment on AML hold: status `locked` with one questionnaire link in `init`,
    /// and a webhook with the new status.
    pub async fn lock_payment(&self, uuid: &str) -> Result<(), HeleketSandboxError> {
        {
            let link = self.new_link();
            let mut inner = self.lock();
            let p = find(&mut inner.payments, uuid)?;
            if p.status == "locked" {
                return Err(HeleketSandboxError::InvalidTransition(format!(
                    "payment `{uuid}` is already locked"
                )));
            }
            p.status = "locked".into();
            p.links.push(link);
        }
        self.send_payment_webhook(uuid).await;
        Ok(())
    }

    /// Adds another questionnaire link (`init`) to a locked payment, as Heleket does when it
    /// asks for a second questionnaire (KYC and Source of Funds) or issues a new link after
    /// one expired.
    pub fn add_link(&self, uuid: &str) -> Result<usize, HeleketSandboxError> {
        let link = self.new_link();
        let mut inner = self.lock();
        let p = find(&mut inner.payments, uuid)?;
        if p.status != "locked" {
            return Err(HeleketSandboxError::InvalidTransition(format!(
                "payment `{uuid}` is not locked"
            )));
        }
        p.links.push(link);
        Ok(p.links.len() - 1)
    }

    /// A fresh questionnaire link in `init`, valid for the configured lifetime.
    fn new_link(&self) -> Link {
        Link {
            url: format!("https://aml.heleket.com/questionnaire/{}", self.ids.hex(12)),
            status: LinkStatus::Init,
            expired_at: after(Timestamp::now(), self.config.link_lifetime),
        }
    }

    /// Moves link `index` of a locked payment to `status`. When every link is completed the
    /// payment is released (`paid`) and a webhook sent.
    pub async fn set_link_status(
        &self,
        uuid: &str,
        index: usize,
        status: LinkStatus,
    ) -> Result<(), HeleketSandboxError> {
        let released = {
            let mut inner = self.lock();
            let p = find(&mut inner.payments, uuid)?;
            let link = p
                .links
                .get_mut(index)
                .ok_or_else(|| HeleketSandboxError::UnknownLink(uuid.to_owned(), index))?;
            if matches!(link.status, LinkStatus::Completed | LinkStatus::Expired) {
                return Err(HeleketSandboxError::InvalidTransition(format!(
                    "link {index} is already {}",
                    link.status.as_str()
                )));
            }
            link.status = status;
            let all_done = p.links.iter().all(|l| l.status == LinkStatus::Completed);
            if all_done && p.status == "locked" {
                p.status = "paid".into();
                true
            } else {
                false
            }
        };
        if released {
            self.send_payment_webhook(uuid).await;
        }
        Ok(())
    }

    /// Moves link `index`'s `expired_at` to `at` and leaves its status alone: a link whose
    /// completion period ran out before Heleket marked it `expired`.
    pub fn set_link_expiry(
        &self,
        uuid: &str,
        index: usize,
        at: Timestamp,
    ) -> Result<(), HeleketSandboxError> {
        let mut inner = self.lock();
        let p = find(&mut inner.payments, uuid)?;
        let link = p
            .links
            .get_mut(index)
            .ok_or_else(|| HeleketSandboxError::UnknownLink(uuid.to_owned(), index))?;
        link.expired_at = at;
        Ok(())
    }

    /// The payment's current status.
    pub fn payment_status(&self, uuid: &str) -> Option<String> {
        self.lock()
            .payments
            .iter()
            .find(|p| p.uuid == uuid)
            .map(|p| p.status.clone())
    }

    /// Every webhook sent so far, in order, with its attempts.
    pub fn deliveries(&self) -> Vec<HeleketDelivery> {
        self.deliveries.all()
    }

    /// Waits until every webhook being retried is delivered or out of attempts. With the
    /// real clock that is Heleket's whole schedule; tests give the sandbox an
    /// [`InstantSleeper`](crate::InstantSleeper).
    pub async fn settle_webhooks(&self) {
        self.outbox.settle().await;
    }
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(t)
}

fn find<'a>(
    payments: &'a mut [Payment],
    uuid: &str,
) -> Result<&'a mut Payment, HeleketSandboxError> {
    payments
        .iter_mut()
        .find(|p| p.uuid == uuid)
        .ok_or_else(|| HeleketSandboxError::UnknownPayment(uuid.to_owned()))
}
