//! The durable queue of verified deliveries: what intake stores before it acknowledges,
//! and what a [`Worker`](super::Worker) takes, processes and settles.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::inbox::{ClaimToken, DEFAULT_CAPACITY, DEFAULT_LEASE, InboxError};
use crate::rt::{Clock, SystemClock};
use crate::time::{SignedDuration, Timestamp};

/// The longest error text a queue keeps for a failed delivery, in bytes.
pub const MAX_ERROR_LEN: usize = 1024;

/// The request parts a verifier needs to verify a delivery again: the kept headers and the
/// body as received.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredRequest {
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl fmt::Debug for StoredRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold personal data (Heleket, Tuum): its length only.
        f.debug_struct("StoredRequest")
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl StoredRequest {
    /// A stored request of `headers` (name, value) and `body`.
    pub fn new(headers: Vec<(String, String)>, body: impl Into<Bytes>) -> Self {
        Self {
            headers,
            body: body.into(),
        }
    }

    /// Keeps, of `headers`, those named in `names` whose value is text (the only ones a
    /// verifier reads), and the body.
    pub fn keep(names: &[&str], headers: &HeaderMap, body: impl Into<Bytes>) -> Self {
        let mut kept = Vec::new();
        for name in names {
            for value in headers.get_all(*name) {
                if let Ok(text) = value.to_str() {
                    kept.push(((*name).to_ascii_lowercase(), text.to_owned()));
                }
            }
        }
        Self::new(kept, body)
    }

    /// The kept headers, lowercase names.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body, byte for byte as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The kept headers as a header map (those that are not valid header text are left
    /// out).
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}

/// A verified delivery for [`Queue::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewDelivery {
    /// The deduplication key.
    pub key: String,
    /// The sequence the event belongs to (a payment), for operators; ordering itself is
    /// kept by the worker's inbox.
    pub sequence: Option<String>,
    /// What to verify and decode again.
    pub request: StoredRequest,
    /// Why it is kept unprocessed (authentic, of a type nobody handles), or `None`.
    pub ignored: Option<String>,
}

impl NewDelivery {
    /// A delivery to process under `key`.
    pub fn new(key: impl Into<String>, request: StoredRequest) -> Self {
        Self {
            key: key.into(),
            sequence: None,
            request,
            ignored: None,
        }
    }

    /// In `sequence`.
    pub fn in_sequence(mut self, sequence: Option<String>) -> Self {
        self.sequence = sequence;
        self
    }

    /// Kept as `ignored`, for `reason`: stored, never taken until replayed.
    pub fn ignored(mut self, reason: impl Into<String>) -> Self {
        self.ignored = Some(reason.into());
        self
    }
}

/// Where a delivery stands in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Queued,
    /// Taken by a worker, under a lease.
    Running,
    /// Failed; waiting for its next attempt.
    Retrying,
    /// Processed (or a duplicate or superseded state: nothing left to do).
    Done,
    /// Failed past the retry limit, or could not be verified again; kept with its last
    /// error until replayed or purged.
    Dead,
    /// Authentic, of a type nobody handles: kept with its bytes so that a later release
    /// that handles it can replay it.
    Ignored,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 6] = [
        DeliveryState::Queued,
        DeliveryState::Running,
        DeliveryState::Retrying,
        DeliveryState::Done,
        DeliveryState::Dead,
        DeliveryState::Ignored,
    ];

    /// Its name, as stored: `queued`, `running`, `retrying`, `done`, `dead`, `ignored`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Running => "running",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Done => "done",
            DeliveryState::Dead => "dead",
            DeliveryState::Ignored => "ignored",
        }
    }

    /// The state named `name` (as [`as_str`](Self::as_str) writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The answer to [`Queue::enqueue`]. Both are durable acknowledgements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enqueued {
    /// A new row was written.
    Added,
    /// The key was already there, in this state; nothing was written.
    Duplicate(DeliveryState),
}

/// A delivery a worker took: what it needs to process it and settle it. Built by
/// [`Queue`] implementations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The deduplication key.
    pub key: String,
    /// The lease's token, for renew / complete / fail / release.
    pub token: ClaimToken,
    /// This attempt's number, from 1.
    pub attempts: u32,
    /// How many times it was replayed by an operator.
    pub replays: u32,
    /// When intake stored it (the queue's clock).
    pub received_at: Timestamp,
    /// What to verify and decode again.
    pub request: StoredRequest,
}

/// How an attempt that did not end done is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Try again after `after`.
    Retry {
        /// The delay.
        after: Duration,
        /// What went wrong (bounded, see [`bounded_error`]).
        error: String,
    },
    /// Give up: kept as dead until replayed.
    Dead {
        /// What went wrong (bounded, see [`bounded_error`]).
        error: String,
    },
    /// Authentic, but (still) of a type nobody handles: kept as
    /// [`ignored`](DeliveryState::Ignored) with its bytes, as intake keeps such deliveries,
    /// for a later release that handles it to replay. A replayed ignored delivery must not
    /// become done without a handler having run.
    Ignored {
        /// Why nothing handles it (bounded, see [`bounded_error`]).
        reason: String,
    },
}

/// What an operator sees of a queued delivery. Built by [`Queue`] implementations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    /// The deduplication key.
    pub key: String,
    /// Its state.
    pub state: DeliveryState,
    /// The sequence, if any.
    pub sequence: Option<String>,
    /// When intake stored it.
    pub received_at: Timestamp,
    /// When it last changed state.
    pub updated_at: Timestamp,
    /// How many attempts were made (since the last replay).
    pub attempts: u32,
    /// How many times it was replayed.
    pub replays: u32,
    /// The last error, bounded, or why it was ignored.
    pub last_error: Option<String>,
    /// The stored request: only from [`Queue::get`].
    pub request: Option<StoredRequest>,
}

/// How many deliveries wait in a queue and for how long: what an operator alerts on
/// ([`Queue::depth`]). With the core's `metrics` feature a [`Worker`](super::Worker) sets
/// the queue gauges from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueDepth {
    /// Deliveries in state `queued`: waiting for their first attempt (or for the next one
    /// after a replay or a put-back).
    pub queued: u64,
    /// Deliveries in state `retrying`: waiting for another attempt after a failure.
    pub retrying: u64,
    /// Deliveries in state `dead`: given up on, kept until replayed or purged.
    pub dead: u64,
    /// How long the oldest `queued` delivery has been in that state, by the queue's clock
    /// (`None` when nothing is queued). It grows when no worker takes deliveries.
    pub oldest_queued_age: Option<Duration>,
}

impl QueueDepth {
    /// A measurement of a queue.
    pub fn new(queued: u64, retrying: u64, dead: u64, oldest_queued_age: Option<Duration>) -> Self {
        Self {
            queued,
            retrying,
            dead,
            oldest_queued_age,
        }
    }
}

/// `error` made fit to keep: control characters replaced, cut to [`MAX_ERROR_LEN`] bytes.
/// Handler errors are yours: keep secrets and personal data out of their messages.
pub fn bounded_error(error: &str) -> String {
    let clean: String = error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::redact::bounded_text(&clean, MAX_ERROR_LEN)
}

/// A durable store of verified deliveries.
///
/// # The contract every implementation keeps
///
/// [`MemoryQueue`] (tests, one process) and the persistent queues of `compliance-store`
/// (SQLite, PostgreSQL) implement exactly these rules; the conformance tests check them
/// against each. A queue is named (one per provider: `"tuum"`, `"heleket"`...) and holds
/// at most one row per deduplication key.
///
/// | call | state before | result | state after |
/// |---|---|---|---|
/// | `enqueue(d)` | absent | `Added` | `queued` (or `ignored` when `d` is ignored), ready now |
/// | `enqueue(d)` | any | `Duplicate(state)` | unchanged: no second row |
/// | `take(n)` | `queued`/`retrying` and due, or `running` with its lease run out | up to `n` [`Taken`], oldest first, each with a new token | `running` until now + lease, `attempts` + 1 |
/// | `renew(k, t)` | `running` by `t` | `Ok` | lease until now + lease |
/// | `complete(k, t)` | `running` by `t` | `Ok` | `done` |
/// | `fail(k, t, Retry { after, .. })` | `running` by `t` | `Ok` | `retrying`, due after `after`, error kept |
/// | `fail(k, t, Dead { .. })` | `running` by `t` | `Ok` | `dead`, error kept |
/// | `release(k, t, after)` | `running` by `t` | `Ok` | back where it was before the take (`attempts` − 1), due after `after` |
/// | `renew`/`complete`/`fail`/`release` with any other token or state | | `Err(NotHeld)` | unchanged |
/// | `replay(k)` | `done`, `dead`, `ignored`, `retrying`, `queued` | `true` | `queued`, due now, `attempts` 0, `replays` + 1 |
/// | `replay(k)` | `running`, absent | `false` | unchanged |
/// | `purge(age, states)` | in one of `states`, last changed more than `age` ago | number removed | absent |
/// | `depth()` | | the number of rows `queued`, `retrying` and `dead`; how long ago the oldest `queued` row last changed state | unchanged |
///
/// `Ok` from `enqueue` means the row is durable (SQLite: committed with `synchronous =
/// FULL`; PostgreSQL: committed): only then may intake acknowledge. A storage failure is
/// [`InboxError::Storage`], a queue at its capacity [`InboxError::Full`]; neither is ever
/// `Ok`. "Now" is the queue's clock (the database server's for PostgreSQL).
///
/// # What is stored
///
/// The body byte for byte as received (elKYC's envelope still encrypted, so personal data
/// is never stored in clear by this crate), and only the headers the verifier names in
/// [`Verifier::KEPT_HEADERS`](super::Verifier::KEPT_HEADERS) (elKYC's signature). Never a
/// credential: a header that authenticates by its value alone (Tuum's shared secret) is not
/// kept; such deliveries are authenticated at intake, and the worker only decodes them
/// again.
#[async_trait]
pub trait Queue: Send + Sync {
    /// How long a take (or a renewal) holds a delivery.
    fn lease(&self) -> Duration;
    /// Stores `delivery` unless its key is there already. `Ok` only once the row is
    /// durable.
    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, InboxError>;
    /// Takes up to `limit` due deliveries (and running ones whose lease ran out), oldest
    /// first.
    async fn take(&self, limit: usize) -> Result<Vec<Taken>, InboxError>;
    /// Extends the lease `token` holds on `key`.
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError>;
    /// Marks `key` done.
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError>;
    /// Settles a failed attempt: retry later, or dead.
    async fn fail(&self, key: &str, token: &ClaimToken, failure: Failure)
    -> Result<(), InboxError>;
    /// Gives `key` back without counting the attempt, due after `after` (shutdown, or a
    /// sequence busy elsewhere).
    async fn release(
        &self,
        key: &str,
        token: &ClaimToken,
        after: Duration,
    ) -> Result<(), InboxError>;
    /// Up to `limit` deliveries, in `state` if given, oldest first, without their bodies.
    async fn list(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, InboxError>;
    /// One delivery, with its stored request.
    async fn get(&self, key: &str) -> Result<Option<DeliveryInfo>, InboxError>;
    /// Queues `key` again, to run once more even if done: `false` when it is absent or
    /// running.
    async fn replay(&self, key: &str) -> Result<bool, InboxError>;
    /// Deletes deliveries in one of `states` that last changed more than `older_than`
    /// ago, returning how many.
    async fn purge(
        &self,
        older_than: Duration,
        states: &[DeliveryState],
    ) -> Result<u64, InboxError>;
    /// How many deliveries are queued, retrying and dead, and how long the oldest queued
    /// one has waited. One cheap read (an indexed count on the SQL queues): a worker calls
    /// it every few seconds for the queue gauges.
    async fn depth(&self) -> Result<QueueDepth, InboxError>;
}

#[async_trait]
impl<Q: Queue + ?Sized> Queue for Arc<Q> {
    fn lease(&self) -> Duration {
        (**self).lease()
    }
    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, InboxError> {
        (**self).enqueue(delivery).await
    }
    async fn take(&self, limit: usize) -> Result<Vec<Taken>, InboxError> {
        (**self).take(limit).await
    }
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        (**self).renew(key, token).await
    }
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        (**self).complete(key, token).await
    }
    async fn fail(
        &self,
        key: &str,
        token: &ClaimToken,
        failure: Failure,
    ) -> Result<(), InboxError> {
        (**self).fail(key, token, failure).await
    }
    async fn release(
        &self,
        key: &str,
        token: &ClaimToken,
        after: Duration,
    ) -> Result<(), InboxError> {
        (**self).release(key, token, after).await
    }
    async fn list(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, InboxError> {
        (**self).list(state, limit).await
    }
    async fn get(&self, key: &str) -> Result<Option<DeliveryInfo>, InboxError> {
        (**self).get(key).await
    }
    async fn replay(&self, key: &str) -> Result<bool, InboxError> {
        (**self).replay(key).await
    }
    async fn purge(
        &self,
        older_than: Duration,
        states: &[DeliveryState],
    ) -> Result<u64, InboxError> {
        (**self).purge(older_than, states).await
    }
    async fn depth(&self) -> Result<QueueDepth, InboxError> {
        (**self).depth().await
    }
}

#[derive(Debug, Clone)]
struct Row {
    id: u64,
    info: DeliveryInfo,
    request: StoredRequest,
    run_at: Timestamp,
    token: Option<ClaimToken>,
    lease_until: Timestamp,
}

/// The `compliance.backend` label of the memory queue's metrics.
const BACKEND: &str = "memory";

/// A thread-safe in-memory [`Queue`] for tests and single-process tools: gone with the
/// process, so not durable. At most `capacity` rows (default
/// [`DEFAULT_CAPACITY`](crate::inbox::DEFAULT_CAPACITY)); beyond that `enqueue` answers
/// [`InboxError::Full`].
#[derive(Debug)]
pub struct MemoryQueue {
    rows: Mutex<HashMap<String, Row>>,
    next: AtomicU64,
    clock: Arc<dyn Clock>,
    lease: Duration,
    capacity: usize,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new()
    }
}

fn plus(at: Timestamp, d: Duration) -> Timestamp {
    at.saturating_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

impl MemoryQueue {
    /// A queue with the default lease (5 minutes) and capacity, on the system clock.
    pub fn new() -> Self {
        Self {
            rows: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            clock: Arc::new(SystemClock),
            lease: DEFAULT_LEASE,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// Sets the lease of a take.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets how many rows it holds at most.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Reads the time from `clock` (a [`ManualClock`](crate::rt::ManualClock) in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Row>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the row `key` if `token` holds it.
    fn held(
        &self,
        key: &str,
        token: &ClaimToken,
        f: impl FnOnce(&mut Row, Timestamp),
    ) -> Result<(), InboxError> {
        let now = self.clock.now();
        let mut rows = self.rows();
        match rows.get_mut(key) {
            Some(row)
                if row.info.state == DeliveryState::Running
                    && row.token.as_ref() == Some(token) =>
            {
                f(row, now);
                row.info.updated_at = now;
                Ok(())
            }
            _ => Err(InboxError::NotHeld {
                key: key.to_owned(),
            }),
        }
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    fn lease(&self) -> Duration {
        self.lease
    }

    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, InboxError> {
        let now = self.clock.now();
        let mut rows = self.rows();
        if let Some(row) = rows.get(&delivery.key) {
            return Ok(Enqueued::Duplicate(row.info.state));
        }
        if rows.len() >= self.capacity {
            return Err(InboxError::Full {
                capacity: self.capacity,
            });
        }
        let state = if delivery.ignored.is_some() {
            DeliveryState::Ignored
        } else {
            DeliveryState::Queued
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        rows.insert(
            delivery.key.clone(),
            Row {
                id,
                info: DeliveryInfo {
                    key: delivery.key,
                    state,
                    sequence: delivery.sequence,
                    received_at: now,
                    updated_at: now,
                    attempts: 0,
                    replays: 0,
                    last_error: delivery.ignored,
                    request: None,
                },
                request: delivery.request,
                run_at: now,
                token: None,
                lease_until: now,
            },
        );
        Ok(Enqueued::Added)
    }

    async fn take(&self, limit: usize) -> Result<Vec<Taken>, InboxError> {
        let now = self.clock.now();
        let mut rows = self.rows();
        let mut due: Vec<&mut Row> = rows
            .values_mut()
            .filter(|row| match row.info.state {
                DeliveryState::Queued | DeliveryState::Retrying => row.run_at <= now,
                DeliveryState::Running => row.lease_until <= now,
                _ => false,
            })
            .collect();
        due.sort_by_key(|row| (row.run_at, row.id));
        let mut taken = Vec::new();
        for row in due.into_iter().take(limit) {
            let token = ClaimToken::new(format!("m{}", self.next.fetch_add(1, Ordering::Relaxed)));
            row.info.state = DeliveryState::Running;
            row.info.attempts += 1;
            row.info.updated_at = now;
            row.token = Some(token.clone());
            row.lease_until = plus(now, self.lease);
            taken.push(Taken {
                key: row.info.key.clone(),
                token,
                attempts: row.info.attempts,
                replays: row.info.replays,
                received_at: row.info.received_at,
                request: row.request.clone(),
            });
        }
        Ok(taken)
    }

    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        let lease = self.lease;
        self.held(key, token, |row, now| row.lease_until = plus(now, lease))
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.held(key, token, |row, _| {
            row.info.state = DeliveryState::Done;
            row.token = None;
        })
    }

    async fn fail(
        &self,
        key: &str,
        token: &ClaimToken,
        failure: Failure,
    ) -> Result<(), InboxError> {
        self.held(key, token, |row, now| {
            row.token = None;
            match failure {
                Failure::Retry { after, error } => {
                    row.info.state = DeliveryState::Retrying;
                    row.run_at = plus(now, after);
                    row.info.last_error = Some(bounded_error(&error));
                }
                Failure::Dead { error } => {
                    row.info.state = DeliveryState::Dead;
                    row.info.last_error = Some(bounded_error(&error));
                }
                Failure::Ignored { reason } => {
                    row.info.state = DeliveryState::Ignored;
                    row.info.last_error = Some(bounded_error(&reason));
                }
            }
        })
    }

    async fn release(
        &self,
        key: &str,
        token: &ClaimToken,
        after: Duration,
    ) -> Result<(), InboxError> {
        self.held(key, token, |row, now| {
            row.token = None;
            row.info.attempts = row.info.attempts.saturating_sub(1);
            row.info.state = if row.info.attempts == 0 {
                DeliveryState::Queued
            } else {
                DeliveryState::Retrying
            };
            row.run_at = plus(now, after);
        })
    }

    async fn list(
        &self,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<DeliveryInfo>, InboxError> {
        let rows = self.rows();
        let mut found: Vec<&Row> = rows
            .values()
            .filter(|row| state.is_none_or(|s| row.info.state == s))
            .collect();
        found.sort_by_key(|row| row.id);
        Ok(found
            .into_iter()
            .take(limit)
            .map(|row| row.info.clone())
            .collect())
    }

    async fn get(&self, key: &str) -> Result<Option<DeliveryInfo>, InboxError> {
        Ok(self.rows().get(key).map(|row| DeliveryInfo {
            request: Some(row.request.clone()),
            ..row.info.clone()
        }))
    }

    async fn replay(&self, key: &str) -> Result<bool, InboxError> {
        let now = self.clock.now();
        let mut rows = self.rows();
        match rows.get_mut(key) {
            Some(row) if row.info.state != DeliveryState::Running => {
                row.info.state = DeliveryState::Queued;
                row.info.attempts = 0;
                row.info.replays += 1;
                row.info.updated_at = now;
                row.run_at = now;
                crate::metrics::replayed(BACKEND);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn purge(
        &self,
        older_than: Duration,
        states: &[DeliveryState],
    ) -> Result<u64, InboxError> {
        let now = self.clock.now();
        let mut rows = self.rows();
        let before = rows.len();
        rows.retain(|_, row| {
            !(states.contains(&row.info.state) && plus(row.info.updated_at, older_than) < now)
        });
        Ok((before - rows.len()) as u64)
    }

    async fn depth(&self) -> Result<QueueDepth, InboxError> {
        let now = self.clock.now();
        let rows = self.rows();
        let mut depth = QueueDepth::default();
        let mut oldest: Option<Timestamp> = None;
        for row in rows.values() {
            match row.info.state {
                DeliveryState::Queued => {
                    depth.queued += 1;
                    let since = row.info.updated_at;
                    oldest = Some(oldest.map_or(since, |o| o.min(since)));
                }
                DeliveryState::Retrying => depth.retrying += 1,
                DeliveryState::Dead => depth.dead += 1,
                _ => {}
            }
        }
        // A row changed after `now` (another clock): it has not waited.
        depth.oldest_queued_age =
            oldest.map(|at| Duration::try_from(now.duration_since(at)).unwrap_or_default());
        Ok(depth)
    }
}
