//! The durable mode's other half: a [`Worker`] takes stored deliveries from a [`Queue`],
//! verifies them again from their stored bytes, runs the handler through the one
//! [`Processor`] pipeline (inbox claim, heartbeat, panic capture, sequence order and the
//! sticky final state), and settles each row: done, retry later, or dead.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::lease::until;
use super::outcome::{Outcome, ProcessError};
use super::processor::Processor;
use super::queue::{Failure, Queue, Taken};
use super::verifier::{Verified, Verifier};
use crate::inbox::InboxError;
use crate::metrics::QueueMetrics;
use crate::rt::{Clock, SystemClock};

/// When a failed delivery is tried again, and when it is given up as dead: exponential
/// back-off (`first × factorⁿ`, at most `cap`) with jitter (each delay drawn between half
/// and all of it, so that deliveries that failed together do not retry together), until
/// `max_attempts` attempts were made or the delivery is older than `max_age`.
///
/// Defaults: 10 s, ×2, 1 h cap, 20 attempts, 7 days: about 14 hours of attempts, far
/// past a short outage of the handler's downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    first: Duration,
    factor: u32,
    cap: Duration,
    max_attempts: Option<u32>,
    max_age: Option<Duration>,
    jitter: bool,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(10),
            factor: 2,
            cap: Duration::from_secs(3600),
            max_attempts: Some(20),
            max_age: Some(Duration::from_secs(7 * 24 * 3600)),
            jitter: true,
        }
    }
}

impl RetrySchedule {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// The delay after the first failure.
    pub fn first_delay(mut self, delay: Duration) -> Self {
        self.first = delay;
        self
    }

    /// What each next delay is multiplied by (at least 1).
    pub fn factor(mut self, factor: u32) -> Self {
        self.factor = factor.max(1);
        self
    }

    /// The longest delay.
    pub fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// After how many attempts a delivery is dead (`None`: no limit by count).
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// How old (since intake stored it) a delivery may get before it is dead instead of
    /// retried (`None`: no limit by age).
    pub fn max_age(mut self, age: Option<Duration>) -> Self {
        self.max_age = age;
        self
    }

    /// Whether delays are drawn at random between half and all of their value (default
    /// `true`; `false` for exact tests).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The delay after failed attempt number `attempts` (from 1), before jitter.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exponent = attempts.saturating_sub(1).min(64);
        let factor = u64::from(self.factor)
            .checked_pow(exponent)
            .unwrap_or(u64::MAX);
        let factor = u32::try_from(factor).unwrap_or(u32::MAX);
        self.first
            .checked_mul(factor)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// The next delay after failed attempt `attempts` of a delivery `age` old, or `None`
    /// when it is dead.
    pub fn next(&self, attempts: u32, age: Duration) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempts >= max) {
            return None;
        }
        let delay = self.delay(attempts);
        if self
            .max_age
            .is_some_and(|max| age.saturating_add(delay) > max)
        {
            return None;
        }
        if self.jitter {
            let half = delay / 2;
            let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
            return Some(half + Duration::from_nanos(fastrand::u64(0..=nanos)));
        }
        Some(delay)
    }
}

/// How long a worker waits before it looks for due deliveries again when it found none,
/// unless told otherwise: 1 second.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How often a running worker measures its queue ([`Queue::depth`]) for the queue gauges
/// (feature `metrics`; without it the queue is never measured).
const MEASURE_INTERVAL: Duration = Duration::from_secs(10);

/// Processes a durable queue: takes deliveries with a lease, verifies each again from its
/// stored bytes ([`Verifier::reverify`]), runs the handler through `processor` (its inbox
/// claim, heartbeat and panic capture; sequence order and the sticky final state), then
/// marks the row done, schedules a retry by its [`RetrySchedule`], or marks it dead (a
/// delivery that no longer verifies is dead at once).
///
/// Exactly once: the processor's inbox is the second lock. A worker killed mid-handler
/// (SIGKILL) leaves its row running until the queue lease runs out; another worker then
/// takes it, and its inbox claim runs the handler again only once the first claim's lease
/// ran out too (meanwhile it is put back, not counted as an attempt). A handler that
/// succeeded but whose row could not be marked done is a duplicate the next time: done,
/// not run again. Give the queue and the inbox the same lease.
///
/// Any number of workers, in any number of processes, may share one PostgreSQL queue.
///
/// With the core's `metrics` feature, a running worker measures its queue every 10
/// seconds (one indexed count, [`Queue::depth`]; also after each
/// [`run_once`](Self::run_once)) and sets the queue gauges under its provider's name, and
/// counts the deliveries it moves to the dead letters. Several workers on one queue set the
/// same values: aggregate them with `max`, not `sum`.
pub struct Worker<V: Verifier> {
    inner: Arc<Inner<V>>,
}

struct Inner<V: Verifier> {
    processor: Processor<V>,
    queue: Arc<dyn Queue>,
    schedule: RetrySchedule,
    concurrency: usize,
    poll: Duration,
    grace: Duration,
    busy_delay: Duration,
    clock: Arc<dyn Clock>,
    metrics: QueueMetrics,
}

impl<V: Verifier> Clone for Worker<V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<V: Verifier> fmt::Debug for Worker<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("processor", &self.inner.processor)
            .field("schedule", &self.inner.schedule)
            .field("concurrency", &self.inner.concurrency)
            .field("poll", &self.inner.poll)
            .field("grace", &self.inner.grace)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Worker`].
pub struct WorkerBuilder<V: Verifier> {
    processor: Processor<V>,
    queue: Arc<dyn Queue>,
    schedule: RetrySchedule,
    concurrency: usize,
    poll: Duration,
    grace: Duration,
    busy_delay: Duration,
    clock: Arc<dyn Clock>,
}

impl<V: Verifier> fmt::Debug for WorkerBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("schedule", &self.schedule)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl<V: Verifier> WorkerBuilder<V> {
    /// When to retry and when to give up (default [`RetrySchedule::default`]).
    pub fn retry(mut self, schedule: RetrySchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// How many deliveries run at once, at most (default 8, at least 1).
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// How long to wait before looking again when nothing was due (default
    /// [`DEFAULT_POLL_INTERVAL`]).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll = interval;
        self
    }

    /// How long a shutdown lets running handlers finish before it stops them and gives
    /// their deliveries back to the queue (default 30 s).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How long a delivery waits when its key or sequence is being processed elsewhere
    /// (default 1 s; not counted as an attempt).
    pub fn busy_delay(mut self, delay: Duration) -> Self {
        self.busy_delay = delay;
        self
    }

    /// The clock that measures a delivery's age for [`RetrySchedule::max_age`] (default
    /// the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the worker. Fails with [`Error::Config`](crate::Error::Config) when the
    /// processor has no handler (a durable intake's processor only stores deliveries: give
    /// the worker one built with [`handler`](super::ProcessorBuilder::handler)), since every
    /// delivery it took would otherwise fail until dead.
    pub fn build(self) -> Result<Worker<V>, crate::Error> {
        if !self.processor.has_handler() {
            return Err(crate::Error::Config(
                "the worker's processor has no handler: build it with .handler(...) (the \
                 durable intake's processor, built with .queue(...) alone, only stores \
                 deliveries)"
                    .into(),
            ));
        }
        Ok(Worker {
            inner: Arc::new(Inner {
                processor: self.processor,
                queue: self.queue,
                schedule: self.schedule,
                concurrency: self.concurrency,
                poll: self.poll,
                grace: self.grace,
                busy_delay: self.busy_delay,
                clock: self.clock,
                metrics: QueueMetrics::new(V::PROVIDER),
            }),
        })
    }
}

impl<V: Verifier> Worker<V> {
    /// A worker running `processor`'s handler over `queue`'s deliveries. `processor` is an
    /// inline one (built with a handler and an inbox, without a queue).
    pub fn builder(processor: Processor<V>, queue: impl Queue + 'static) -> WorkerBuilder<V> {
        WorkerBuilder {
            processor,
            queue: Arc::new(queue),
            schedule: RetrySchedule::default(),
            concurrency: 8,
            poll: DEFAULT_POLL_INTERVAL,
            grace: Duration::from_secs(30),
            busy_delay: Duration::from_secs(1),
            clock: Arc::new(SystemClock),
        }
    }

    /// The queue.
    pub fn queue(&self) -> &Arc<dyn Queue> {
        &self.inner.queue
    }

    /// Takes what is due (up to the concurrency limit), processes it all concurrently and
    /// settles each row; returns how many were taken. For tests and cron-style runs.
    pub async fn run_once(&self) -> Result<usize, InboxError> {
        let taken = self.inner.queue.take(self.inner.concurrency).await?;
        let count = taken.len();
        let (_stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for delivery in taken {
            tasks.spawn(process_one(self.inner.clone(), delivery, stopped.clone()));
        }
        while tasks.join_next().await.is_some() {}
        measure(&self.inner).await;
        Ok(count)
    }

    /// Runs until `shutdown` completes, then stops taking work, lets running handlers
    /// finish within the grace period, and gives the others back to the queue (their
    /// inbox claims released, their attempts not counted). Storage failures are logged
    /// and retried at the poll interval: the worker never stops by itself.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send) {
        let inner = &self.inner;
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let taking = async {
            loop {
                let free = inner.concurrency.saturating_sub(tasks.len());
                let mut full_batch = false;
                if free > 0 {
                    match inner.queue.take(free).await {
                        Ok(taken) => {
                            full_batch = taken.len() == free;
                            for delivery in taken {
                                tasks.spawn(process_one(inner.clone(), delivery, stopped.clone()));
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "could not take deliveries from the queue; trying again");
                        }
                    }
                }
                // Wait for shutdown, a free slot, or the next look.
                let wait = async {
                    if free > 0 && full_batch {
                        tokio::task::yield_now().await;
                    } else if tasks.len() >= inner.concurrency {
                        let _ = tasks.join_next().await;
                    } else {
                        let _ = until(tokio::time::sleep(inner.poll), async {
                            if tasks.is_empty() {
                                std::future::pending::<()>().await;
                            }
                            let _ = tasks.join_next().await;
                        })
                        .await;
                    }
                };
                if until(wait, shutdown.as_mut()).await.is_err() {
                    break;
                }
            }
        };
        // Measured beside the loop, so that a worker whose slots are all busy (handlers
        // hanging) still reports its backlog.
        let _ = until(taking, measure_every(inner, MEASURE_INTERVAL)).await;
        let drain = async { while tasks.join_next().await.is_some() {} };
        let drained = until(drain, tokio::time::sleep(inner.grace)).await;
        if drained.is_err() {
            tracing::warn!(running = tasks.len(), grace = ?inner.grace, "shutdown grace period over; stopping the handlers still running and giving their deliveries back");
            let _ = stop.send(true);
            while tasks.join_next().await.is_some() {}
        }
        // Once more on the way out, so that the gauges show what the worker left.
        measure(inner).await;
    }
}

/// Measures the queue for the gauges (with the `metrics` feature; a no-op without).
async fn measure<V: Verifier>(inner: &Inner<V>) {
    if !QueueMetrics::MEASURED {
        return;
    }
    match inner.queue.depth().await {
        Ok(depth) => inner.metrics.depth(
            depth.queued,
            depth.retrying,
            depth.dead,
            depth.oldest_queued_age,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "could not measure the queue; its gauges keep their last values")
        }
    }
}

/// Measures the queue every `interval`, forever (never, without the `metrics` feature).
async fn measure_every<V: Verifier>(
    inner: &Inner<V>,
    interval: Duration,
) -> std::convert::Infallible {
    if !QueueMetrics::MEASURED {
        return std::future::pending().await;
    }
    loop {
        measure(inner).await;
        tokio::time::sleep(interval).await;
    }
}

/// What became of one attempt.
enum Ended {
    Finished(Result<Outcome, String>, Retry),
    LeaseLost,
    Stopped,
}

/// Whether a failure counts as an attempt.
#[derive(Clone, Copy)]
enum Retry {
    /// By the schedule (the handler failed): counted.
    Counted,
    /// Not the delivery's fault (busy elsewhere, the inbox down): put back, not counted.
    PutBack,
}

async fn process_one<V: Verifier>(
    inner: Arc<Inner<V>>,
    taken: Taken,
    mut stopped: watch::Receiver<bool>,
) {
    let queue = inner.queue.clone();
    let (key, token) = (taken.key.clone(), taken.token.clone());
    let verified = match inner.processor.verifier().reverify(&taken.request) {
        Ok(verified) => verified,
        Err(e) => {
            let error = format!("the stored delivery no longer verifies: {e}");
            return settle_dead(&inner, &key, &taken, error).await;
        }
    };
    if verified.key() != key {
        let error = format!(
            "the stored delivery verifies under another key (`{}`)",
            verified.key()
        );
        return settle_dead(&inner, &key, &taken, error).await;
    }
    let verified = replayed(verified, taken.replays);

    let work = async {
        match inner.processor.process_verified(verified).await {
            Ok(Outcome::InProgress { .. }) => (Err("busy elsewhere".to_owned()), Retry::PutBack),
            Ok(outcome) => (Ok(outcome), Retry::Counted),
            Err(ProcessError::Handler { source, .. }) => (Err(source.to_string()), Retry::Counted),
            Err(e) => (Err(e.to_string()), Retry::PutBack),
        }
    };
    let interval = (queue.lease() / 3).max(Duration::from_millis(10));
    let beat = async {
        loop {
            tokio::time::sleep(interval).await;
            match queue.renew(&key, &token).await {
                Ok(()) => {}
                Err(InboxError::NotHeld { .. }) => return,
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "could not renew a queue lease; retrying at the next beat")
                }
            }
        }
    };
    let stop = async {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let ended = match until(until(work, beat), stop).await {
        Ok(Ok((result, retry))) => Ended::Finished(result, retry),
        Ok(Err(())) => Ended::LeaseLost,
        Err(()) => Ended::Stopped,
    };

    let settled = match ended {
        Ended::Finished(Ok(Outcome::Ignored { reason, .. }), _) => {
            // Replayed, and still nothing handles it: it stays ignored (not done), with
            // its bytes, for the release that handles it.
            tracing::warn!(key = %key, reason = %reason, "a queued delivery is still of a type nobody handles; kept as ignored");
            queue.fail(&key, &token, Failure::Ignored { reason }).await
        }
        Ended::Finished(Ok(outcome), _) => {
            tracing::debug!(key = %key, outcome = outcome.as_str(), "webhook delivery processed from the queue");
            queue.complete(&key, &token).await
        }
        Ended::Finished(Err(error), Retry::PutBack) => {
            tracing::info!(key = %key, reason = %error, "putting a delivery back in the queue");
            queue.release(&key, &token, inner.busy_delay).await
        }
        Ended::Finished(Err(error), Retry::Counted) => {
            let age = inner
                .clock
                .now()
                .duration_since(taken.received_at)
                .unsigned_abs();
            match inner.schedule.next(taken.attempts, age) {
                Some(after) => {
                    tracing::warn!(key = %key, attempt = taken.attempts, retry_in = ?after, error = %error, "webhook handler failed; retrying later");
                    queue
                        .fail(&key, &token, Failure::Retry { after, error })
                        .await
                }
                None => {
                    tracing::error!(key = %key, attempts = taken.attempts, error = %error, "webhook handler failed past the retry limit; the delivery is dead until replayed");
                    let dead = queue.fail(&key, &token, Failure::Dead { error }).await;
                    if dead.is_ok() {
                        inner.metrics.dead_lettered();
                    }
                    dead
                }
            }
        }
        Ended::LeaseLost => {
            tracing::error!(key = %key, "the queue lease was taken over while the delivery ran; stopped it");
            Ok(())
        }
        Ended::Stopped => {
            tracing::info!(key = %key, "shutting down: giving the delivery back to the queue");
            queue.release(&key, &token, Duration::ZERO).await
        }
    };
    if let Err(e) = settled {
        // The row stays running until its lease runs out; the next take finds the inbox
        // key done (a duplicate) or free, so nothing runs twice and nothing is lost.
        tracing::error!(key = %key, error = %e, "could not settle a queued delivery; it is taken again after its lease");
    }
}

async fn settle_dead<V: Verifier>(inner: &Inner<V>, key: &str, taken: &Taken, error: String) {
    tracing::error!(key = %key, error = %error, "a queued delivery is dead");
    match inner
        .queue
        .fail(key, &taken.token, Failure::Dead { error })
        .await
    {
        Ok(()) => inner.metrics.dead_lettered(),
        Err(e) => tracing::error!(key = %key, error = %e, "could not mark a queued delivery dead"),
    }
}

/// A replayed delivery runs once more even if its key is done: the inbox sees it under a
/// key of its own per replay.
fn replayed<E>(verified: Verified<E>, replays: u32) -> Verified<E> {
    if replays == 0 {
        return verified;
    }
    match verified {
        Verified::Event {
            key,
            event,
            sequence,
        } => Verified::Event {
            key: format!("{key}#replay-{replays}"),
            event,
            sequence,
        },
        ignored => ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_grows_caps_and_ends() {
        let s = RetrySchedule::new()
            .first_delay(Duration::from_secs(1))
            .factor(3)
            .cap(Duration::from_secs(20))
            .max_attempts(Some(5))
            .max_age(None)
            .jitter(false);
        let delays: Vec<_> = (1..=5).map(|n| s.next(n, Duration::ZERO)).collect();
        assert_eq!(
            delays,
            [
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(3)),
                Some(Duration::from_secs(9)),
                Some(Duration::from_secs(20)),
                None
            ]
        );
        let aged = s.max_age(Some(Duration::from_secs(10)));
        assert_eq!(
            aged.next(1, Duration::from_secs(9)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(aged.next(2, Duration::from_secs(9)), None);
        let jittered = s.jitter(true);
        for _ in 0..100 {
            let d = jittered.next(3, Duration::ZERO).unwrap();
            assert!(
                d >= Duration::from_millis(4500) && d <= Duration::from_secs(9),
                "{d:?}"
            );
        }
        assert_eq!(s.delay(1000), Duration::from_secs(20));
    }
}
