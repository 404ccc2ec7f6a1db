//! [`Queue`] on SQLite: one row per delivery key in `compliance_queue`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::inbox::DEFAULT_LEASE;
use compliance_core::webhook::{
    DeliveryInfo, DeliveryState, Enqueued, Failure, NewDelivery, Queue, QueueDepth, StoredRequest,
    Taken, bounded_error,
};
use compliance_core::{ClaimToken, InboxError};
use rusqlite::Row;

use super::{SqliteStore, db, now_micros, one_row, sql};
use crate::error::Error;
use crate::lease::micros;
use crate::queue::{
    PURGE_BATCH, RawInfo, RawTaken, depth, headers_from_json, headers_to_json, limit, state, taken,
};
use crate::token::{held, new_token};

/// One named durable [`Queue`] in a [`SqliteStore`]'s database; see
/// [`SqliteStore::queue`].
///
/// Keeps the contract of [`Queue`]. One writer: every statement runs on the store's one
/// connection, and each write is a transaction committed with `synchronous = FULL` before
/// it answers, so an acknowledged delivery survives a power cut. A database that is full
/// (`max_page_count`, a full disk) or read-only fails the write with an error that says so
/// ([`InboxError::Storage`]): intake answers 503 and acknowledges nothing. Leases use the
/// host's clock, as [`SqliteInbox`](super::SqliteInbox)'s do.
#[derive(Debug, Clone)]
pub struct SqliteQueue {
    store: SqliteStore,
    name: Arc<str>,
    lease: Duration,
}

impl SqliteQueue {
    pub(super) fn new(store: SqliteStore, name: String) -> Self {
        Self {
            store,
            name: name.into(),
            lease: DEFAULT_LEASE,
        }
    }

    /// Sets how long a take or a renewal holds a delivery (default 5 minutes).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The queue's name (the provider's).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a settlement of a taken row: to its end even when the caller stops waiting.
    async fn settle(
        &self,
        key: &str,
        op: impl FnOnce(&rusqlite::Connection, &str, &str) -> Result<usize, Error> + Send + 'static,
    ) -> Result<(), InboxError> {
        let (name, key_owned) = (self.name.clone(), key.to_owned());
        let rows = self
            .store
            .run_to_end(move |conn| op(conn, &name, &key_owned))
            .await?;
        held(rows == 1, key)
    }
}

fn info(row: &Row<'_>) -> rusqlite::Result<RawInfo> {
    Ok(RawInfo {
        key: row.get(0)?,
        state: row.get(1)?,
        sequence: row.get(2)?,
        received_at: row.get(3)?,
        updated_at: row.get(4)?,
        attempts: row.get(5)?,
        replays: row.get(6)?,
        last_error: row.get(7)?,
    })
}

/// The `compliance.backend` label of this queue's metrics.
const BACKEND: &str = "sqlite";

#[async_trait]
impl Queue for SqliteQueue {
    fn lease(&self) -> Duration {
        self.lease
    }

    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, InboxError> {
        crate::observe::timed(BACKEND, "enqueue", async {
            let name = self.name.clone();
            let answer = self
                .store
                .run(move |conn| {
                    let state_name = if delivery.ignored.is_some() {
                        DeliveryState::Ignored
                    } else {
                        DeliveryState::Queued
                    };
                    let headers = headers_to_json(delivery.request.headers());
                    let mut stmt = conn.prepare_cached(sql::QUEUE_ENQUEUE).map_err(db)?;
                    let params = (
                        &*name,
                        delivery.key.as_str(),
                        state_name.as_str(),
                        delivery.sequence.as_deref(),
                        headers.as_str(),
                        delivery.request.body().as_ref(),
                        delivery.ignored.as_deref().map(bounded_error),
                        now_micros(),
                    );
                    if one_row(&mut stmt, params, |_| Ok(()))?.is_some() {
                        return Ok(Enqueued::Added);
                    }
                    let mut stmt = conn.prepare_cached(sql::QUEUE_STATE).map_err(db)?;
                    let found: Option<String> =
                        one_row(&mut stmt, (&*name, delivery.key.as_str()), |row| row.get(0))?;
                    match found {
                        Some(text) => Ok(Enqueued::Duplicate(state(&text)?)),
                        None => Err(Error::Database(
                            "the delivery was neither stored nor found (purged at that moment?)"
                                .into(),
                        )),
                    }
                })
                .await?;
            Ok(answer)
        })
        .await
    }

    async fn take(&self, limit_rows: usize) -> Result<Vec<Taken>, InboxError> {
        crate::observe::timed(BACKEND, "take", async {
            if limit_rows == 0 {
                return Ok(Vec::new());
            }
            let token = new_token()?;
            let lease = micros(self.lease);
            let name = self.name.clone();
            let raw = self
                .store
                .run(move |conn| {
                    let now = now_micros();
                    let mut stmt = conn.prepare_cached(sql::QUEUE_TAKE).map_err(db)?;
                    let mut rows = stmt
                        .query((
                            &*name,
                            now,
                            token.as_str(),
                            now.saturating_add(lease),
                            limit(limit_rows),
                        ))
                        .map_err(db)?;
                    let mut raw = Vec::new();
                    // Stepped to the end: the statement's commit happens at its last step.
                    while let Some(row) = rows.next().map_err(db)? {
                        raw.push(RawTaken {
                            id: row.get(0).map_err(db)?,
                            key: row.get(1).map_err(db)?,
                            token: row.get(2).map_err(db)?,
                            attempts: row.get(3).map_err(db)?,
                            replays: row.get(4).map_err(db)?,
                            received_at: row.get(5).map_err(db)?,
                            headers: row.get(6).map_err(db)?,
                            body: row.get(7).map_err(db)?,
                            run_at: row.get(8).map_err(db)?,
                        });
                    }
                    Ok(raw)
                })
                .await?;
            Ok(taken(raw)?)
        })
        .await
    }

    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "renew", async {
            let lease = micros(self.lease);
            let (name, key_owned, token) = (self.name.clone(), key.to_owned(), token.clone());
            let rows = self
                .store
                .run(move |conn| {
                    let until = now_micros().saturating_add(lease);
                    let mut stmt = conn.prepare_cached(sql::QUEUE_RENEW).map_err(db)?;
                    stmt.execute((&*name, key_owned.as_str(), token.as_str(), until))
                        .map_err(db)
                })
                .await?;
            held(rows == 1, key)
        })
        .await
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "complete", async {
            let token = token.clone();
            self.settle(key, move |conn, name, key| {
                let mut stmt = conn.prepare_cached(sql::QUEUE_COMPLETE).map_err(db)?;
                stmt.execute((name, key, token.as_str(), now_micros()))
                    .map_err(db)
            })
            .await
        })
        .await
    }

    async fn fail(
        &self,
        key: &str,
        token: &ClaimToken,
        failure: Failure,
    ) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "fail", async {
            let token = token.clone();
            self.settle(key, move |conn, name, key| {
                let now = now_micros();
                let (state_name, run_at, error) = match &failure {
                    Failure::Retry { after, error } => (
                        DeliveryState::Retrying,
                        now.saturating_add(micros(*after)),
                        error,
                    ),
                    Failure::Dead { error } => (DeliveryState::Dead, now, error),
                    Failure::Ignored { reason } => (DeliveryState::Ignored, now, reason),
                    _ => (DeliveryState::Dead, now, &String::new()),
                };
                let mut stmt = conn.prepare_cached(sql::QUEUE_FAIL).map_err(db)?;
                stmt.execute((
                    name,
                    key,
                    token.as_str(),
                    state_name.as_str(),
                    run_at,
                    bounded_error(error),
                    now,
                ))
                .map_err(db)
            })
            .await
        })
        .await
    }

    async fn release(
        &self,
        key: &str,
        token: &ClaimToken,
        after: Duration,
    ) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "release", async {
            let token = token.clone();
            self.settle(key, move |conn, name, key| {
                let now = now_micros();
                let mut stmt = conn.prepare_cached(sql::QUEUE_RELEASE).map_err(db)?;
                stmt.execute((
                    name,
                    key,
                    token.as_str(),
                    now.saturating_add(micros(after)),
                    now,
                ))
                .map_err(db)
            })
            .await
        })
        .await
    }

    async fn list(
        &self,
        state_filter: Option<DeliveryState>,
        limit_rows: usize,
    ) -> Result<Vec<DeliveryInfo>, InboxError> {
        crate::observe::timed(BACKEND, "list", async {
            let name = self.name.clone();
            let raw = self
                .store
                .run(move |conn| {
                    let mut stmt = conn.prepare_cached(sql::QUEUE_LIST).map_err(db)?;
                    let rows = stmt
                        .query_map(
                            (&*name, state_filter.map(|s| s.as_str()), limit(limit_rows)),
                            info,
                        )
                        .map_err(db)?;
                    rows.collect::<Result<Vec<_>, _>>().map_err(db)
                })
                .await?;
            Ok(raw
                .into_iter()
                .map(RawInfo::checked)
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<DeliveryInfo>, InboxError> {
        crate::observe::timed(BACKEND, "get", async {
            let (name, key) = (self.name.clone(), key.to_owned());
            let raw = self
                .store
                .run(move |conn| {
                    let mut stmt = conn.prepare_cached(sql::QUEUE_GET).map_err(db)?;
                    one_row(&mut stmt, (&*name, key.as_str()), |row| {
                        Ok((
                            info(row)?,
                            row.get::<_, String>(8)?,
                            row.get::<_, Vec<u8>>(9)?,
                        ))
                    })
                })
                .await?;
            let Some((raw, headers, body)) = raw else {
                return Ok(None);
            };
            let mut info = raw.checked()?;
            info.request = Some(StoredRequest::new(headers_from_json(&headers)?, body));
            Ok(Some(info))
        })
        .await
    }

    async fn replay(&self, key: &str) -> Result<bool, InboxError> {
        crate::observe::timed(BACKEND, "replay", async {
            let (name, key) = (self.name.clone(), key.to_owned());
            let rows = self
                .store
                .run(move |conn| {
                    let mut stmt = conn.prepare_cached(sql::QUEUE_REPLAY).map_err(db)?;
                    stmt.execute((&*name, key.as_str(), now_micros()))
                        .map_err(db)
                })
                .await?;
            if rows == 1 {
                crate::observe::replayed(BACKEND);
            }
            Ok(rows == 1)
        })
        .await
    }

    async fn purge(
        &self,
        older_than: Duration,
        states: &[DeliveryState],
    ) -> Result<u64, InboxError> {
        crate::observe::timed(BACKEND, "purge", async {
            let age = micros(older_than);
            let mut total = 0u64;
            for state_name in states {
                loop {
                    let (name, state_name) = (self.name.clone(), state_name.as_str());
                    let deleted = self
                        .store
                        .run(move |conn| {
                            let before = now_micros().saturating_sub(age);
                            let mut stmt = conn.prepare_cached(sql::QUEUE_PURGE).map_err(db)?;
                            stmt.execute((&*name, state_name, before, PURGE_BATCH))
                                .map_err(db)
                        })
                        .await?;
                    total += deleted as u64;
                    if (deleted as i64) < PURGE_BATCH {
                        break;
                    }
                }
            }
            Ok(total)
        })
        .await
    }

    async fn depth(&self) -> Result<QueueDepth, InboxError> {
        crate::observe::timed(BACKEND, "depth", async {
            let name = self.name.clone();
            let (queued, retrying, dead, oldest) = self
                .store
                .run(move |conn| {
                    let mut stmt = conn.prepare_cached(sql::QUEUE_DEPTH).map_err(db)?;
                    let row = one_row(&mut stmt, [&*name], |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, Option<i64>>(3)?,
                        ))
                    })?;
                    Ok(row.unwrap_or_default())
                })
                .await?;
            let age = oldest.map(|since| now_micros().saturating_sub(since));
            Ok(depth(queued, retrying, dead, age))
        })
        .await
    }
}
