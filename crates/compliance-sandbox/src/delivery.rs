//! What the simulated providers send out (webhooks, event deliveries) and how they try again.
//!
//! Every simulator posts through one outbox: the first attempt is made while the caller
//! waits (so a test sees its answer), and when the receiver does not answer 2xx the rest of
//! the provider's [`RetrySchedule`] runs in the background, pausing with the sandbox's
//! [`Sleeper`]. Tests compress the clock by giving the sandbox a sleeper that does not wait
//! ([`InstantSleeper`]): the schedule stays the provider's, only the waiting is skipped, and
//! each attempt records the pause that preceded it.
//!
//! Every simulator reports what it sent in one shape, [`Delivery`]: the provider's facts
//! about the delivery (an event, a status...) and every attempt so far.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;

/// How long to wait for a receiver's answer before counting the attempt as unanswered.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// When a provider tries a delivery again after an attempt that got no 2xx: the pauses
/// before each retry.
///
/// ```
/// use std::time::Duration;
/// use compliance_sandbox::RetrySchedule;
///
/// // elKYC: after 30 s, doubling, 10 retries.
/// let elkyc = RetrySchedule::elkyc();
/// assert_eq!(elkyc.delays()[..3], [30, 60, 120].map(Duration::from_secs));
/// assert_eq!(elkyc.delays().len(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetrySchedule {
    /// The pause before the first retry.
    pub first: Duration,
    /// Each pause is the previous one times this (1: a fixed pause).
    pub factor: u32,
    /// No pause is longer than this.
    pub max_delay: Duration,
    /// How many retries after the first attempt (0: one attempt only).
    pub retries: u32,
}

impl RetrySchedule {
    /// No retry: one attempt.
    pub fn none() -> Self {
        Self::fixed(Duration::ZERO, 0)
    }

    /// `retries` retries, `delay` apart.
    pub fn fixed(delay: Duration, retries: u32) -> Self {
        Self {
            first: delay,
            factor: 1,
            max_delay: delay,
            retries,
        }
    }

    /// `retries` retries, the first after `first`, each pause twice the previous one.
    pub fn exponential(first: Duration, retries: u32) -> Self {
        Self {
            first,
            factor: 2,
            max_delay: Duration::MAX,
            retries,
        }
    }

    /// Caps every pause at `max`.
    pub fn capped(mut self, max: Duration) -> Self {
        self.max_delay = max;
        self
    }

    /// elKYC's documented schedule: retries start after 30 s with exponential back-off, 10
    /// attempts (read as 10 retries after the first delivery: 30 s, 1 min, 2 min ... 4 h 16 min,
    /// about 8.5 h in all).
    pub fn elkyc() -> Self {
        Self::exponential(Duration::from_secs(30), 10)
    }

    /// Heleket's: it documents only that deliveries repeat until a 2xx answer. The sandbox
    /// retries after 1 min, doubling, capped at 1 h between attempts, 12 retries (about
    /// 7 h in all) *(assumption)*.
    pub fn heleket() -> Self {
        Self::exponential(Duration::from_secs(60), 12).capped(Duration::from_secs(3600))
    }

    /// The pauses before each retry, in order.
    pub fn delays(&self) -> Vec<Duration> {
        let mut out = Vec::with_capacity(self.retries as usize);
        let mut next = self.first.min(self.max_delay);
        for _ in 0..self.retries {
            out.push(next);
            next = next.saturating_mul(self.factor).min(self.max_delay);
        }
        out
    }
}

/// How the simulated providers pause between a delivery's attempts: the one place the
/// sandbox's clock can be compressed. (The sandbox plays the providers, so it keeps its own
/// small trait rather than the clients' runtime.)
pub trait Sleeper: Send + Sync + fmt::Debug {
    /// Pauses for `duration` (or not at all: see [`InstantSleeper`]).
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// A [`Sleeper`] that waits for real, with `tokio::time::sleep`: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A [`Sleeper`] that does not wait: the schedule is followed, the clock compressed.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstantSleeper;

impl Sleeper for InstantSleeper {
    fn sleep(&self, _duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::task::yield_now())
    }
}

/// How much of a receiver's answer an [`Attempt`] keeps.
const ANSWER_PREFIX: usize = 1024;

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Attempt {
    /// The pause before this attempt, per the schedule (zero for the first).
    pub after: Duration,
    /// The receiver's HTTP status; `None` when nothing answered in time.
    pub status: Option<u16>,
    /// The start of the receiver's answer (at most 1 KiB, lossy UTF-8); `None` when
    /// nothing answered.
    pub body: Option<String>,
    /// Why nothing answered ("connection refused", "no answer within 10 s"...); `None`
    /// when the receiver answered.
    pub error: Option<String>,
}

impl Attempt {
    /// Whether the receiver answered 2xx.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One delivery a simulated provider made (a webhook, an event), with every attempt so far:
/// the same shape for every provider. `T` is what the provider delivered, in its own terms
/// ([`HeleketWebhookSent`](crate::HeleketWebhookSent),
/// [`ElkycWebhookSent`](crate::ElkycWebhookSent), [`TuumEventSent`](crate::TuumEventSent)).
///
/// As JSON (the control routes' `GET /sandbox/<provider>/webhooks`), `T`'s fields and
/// `attempts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Delivery<T> {
    /// What was delivered.
    #[serde(flatten)]
    pub sent: T,
    /// Where it was sent; `None` when there was nowhere to send it.
    pub url: Option<String>,
    /// Every attempt so far, in order (empty when there was nowhere to deliver it).
    pub attempts: Vec<Attempt>,
}

impl<T> Delivery<T> {
    /// The receiver's HTTP status on the latest attempt; `None` before any attempt or when
    /// nothing answered it.
    pub fn last_status(&self) -> Option<u16> {
        self.attempts.last().and_then(|a| a.status)
    }

    /// The receiver's HTTP status on each attempt, in order (`None`: nothing answered).
    pub fn statuses(&self) -> Vec<Option<u16>> {
        self.attempts.iter().map(|a| a.status).collect()
    }

    /// Whether an attempt got a 2xx (the provider then stops).
    pub fn delivered(&self) -> bool {
        self.attempts.iter().any(Attempt::succeeded)
    }
}

/// A simulator's record of its deliveries, in the order they were made; cheap to clone.
#[derive(Debug)]
pub(crate) struct DeliveryLog<T> {
    entries: Arc<Mutex<Vec<Delivery<T>>>>,
}

impl<T> Clone for DeliveryLog<T> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
        }
    }
}

impl<T> Default for DeliveryLog<T> {
    fn default() -> Self {
        Self {
            entries: Arc::default(),
        }
    }
}

impl<T: Clone + Send + 'static> DeliveryLog<T> {
    /// Every delivery so far.
    pub(crate) fn all(&self) -> Vec<Delivery<T>> {
        self.lock().clone()
    }

    /// Records `sent` and, with somewhere to send it, makes the first attempt while the
    /// caller waits and the retries in the background. Returns the delivery after its
    /// first attempt.
    pub(crate) async fn send(
        &self,
        outbox: &Outbox,
        sent: T,
        out: Option<Outgoing>,
        schedule: &RetrySchedule,
    ) -> Delivery<T> {
        let index = self.record(sent, out.as_ref().map(|o| o.url.clone()));
        if let Some(out) = out {
            let this = self.clone();
            outbox
                .deliver(out, schedule, move |attempt| this.attempted(index, attempt))
                .await;
        }
        self.get(index)
    }

    /// Records `sent` and makes every attempt while the caller waits.
    pub(crate) async fn send_inline(
        &self,
        outbox: &Outbox,
        sent: T,
        out: &Outgoing,
        schedule: &RetrySchedule,
    ) -> Delivery<T> {
        let index = self.record(sent, Some(out.url.clone()));
        outbox
            .deliver_inline(out, schedule, |attempt| self.attempted(index, attempt))
            .await;
        self.get(index)
    }

    fn record(&self, sent: T, url: Option<String>) -> usize {
        let mut entries = self.lock();
        entries.push(Delivery {
            sent,
            url,
            attempts: Vec::new(),
        });
        entries.len() - 1
    }

    fn attempted(&self, index: usize, attempt: Attempt) {
        if let Some(d) = self.lock().get_mut(index) {
            d.attempts.push(attempt);
        }
    }

    fn get(&self, index: usize) -> Delivery<T> {
        self.lock()[index].clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Delivery<T>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One request to send: a JSON body and its extra headers.
#[derive(Clone)]
pub(crate) struct Outgoing {
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(String, String)>,
}

/// Sends deliveries and runs their retries; shared by every simulator of one sandbox.
#[derive(Clone)]
pub(crate) struct Outbox {
    client: reqwest::Client,
    sleeper: Arc<dyn Sleeper>,
    pending: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("sleeper", &self.sleeper)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    pub(crate) fn new(sleeper: Arc<dyn Sleeper>) -> Self {
        Self {
            client: reqwest::Client::new(),
            sleeper,
            pending: Arc::default(),
        }
    }

    /// One POST, made `after` the previous one: the receiver's status and the start of its
    /// answer, or why nothing answered (refused, or no answer within 10 s).
    async fn attempt(&self, out: &Outgoing, after: Duration) -> Attempt {
        let (status, body, error) = match self.post(out).await {
            Ok((status, body)) => (Some(status), Some(body), None),
            Err(error) => (None, None, Some(error)),
        };
        Attempt {
            after,
            status,
            body,
            error,
        }
    }

    async fn post(&self, out: &Outgoing) -> Result<(u16, String), String> {
        let mut request = self
            .client
            .post(&out.url)
            .header("content-type", "application/json")
            .timeout(ATTEMPT_TIMEOUT)
            .body(out.body.clone());
        for (name, value) in &out.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request.send().await.map_err(|e| why(&e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| why(&e))?;
        let kept = &body[..body.len().min(ANSWER_PREFIX)];
        Ok((status, String::from_utf8_lossy(kept).into_owned()))
    }

    /// Every attempt of `out` while the caller waits; `record` sees each one.
    pub(crate) async fn deliver_inline(
        &self,
        out: &Outgoing,
        schedule: &RetrySchedule,
        mut record: impl FnMut(Attempt),
    ) {
        let first = self.attempt(out, Duration::ZERO).await;
        let done = first.succeeded();
        record(first);
        if done {
            return;
        }
        for after in schedule.delays() {
            self.sleeper.sleep(after).await;
            let attempt = self.attempt(out, after).await;
            let done = attempt.succeeded();
            record(attempt);
            if done {
                return;
            }
        }
    }

    /// The first attempt while the caller waits; the retries, if it failed, in the
    /// background. `record` sees each attempt.
    pub(crate) async fn deliver(
        &self,
        out: Outgoing,
        schedule: &RetrySchedule,
        record: impl Fn(Attempt) + Send + Sync + 'static,
    ) -> Attempt {
        let first = self.attempt(&out, Duration::ZERO).await;
        record(first.clone());
        if first.succeeded() || schedule.retries == 0 {
            return first;
        }
        let this = self.clone();
        let schedule = schedule.clone();
        let task = tokio::spawn(async move {
            for after in schedule.delays() {
                this.sleeper.sleep(after).await;
                let attempt = this.attempt(&out, after).await;
                let done = attempt.succeeded();
                record(attempt);
                if done {
                    return;
                }
            }
        });
        self.lock().push(task);
        first
    }

    /// Waits until every delivery in the background is done (delivered or out of retries).
    /// With the real clock this can take the provider's whole schedule (hours).
    pub(crate) async fn settle(&self) {
        loop {
            let tasks = std::mem::take(&mut *self.lock());
            if tasks.is_empty() {
                return;
            }
            for task in tasks {
                let _ = task.await;
            }
        }
    }

    /// Stops every delivery in the background.
    pub(crate) fn abort(&self) {
        for task in std::mem::take(&mut *self.lock()) {
            task.abort();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why an attempt got no answer, in words: the kind first, then the cause's chain.
fn why(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the exchange failed".to_owned()
    };
    let mut text = kind;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let secs = |s: &[u64]| {
            s.iter()
                .map(|s| Duration::from_secs(*s))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            RetrySchedule::elkyc().delays(),
            secs(&[30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360])
        );
        assert_eq!(
            RetrySchedule::heleket().delays(),
            secs(&[
                60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600, 3600, 3600
            ])
        );
        assert_eq!(
            RetrySchedule::fixed(Duration::from_millis(20), 2).delays(),
            [Duration::from_millis(20); 2]
        );
        assert!(RetrySchedule::none().delays().is_empty());
    }
}
