//! [`Queue`] on PostgreSQL: one row per delivery key in `compliance_queue`, taken with
//! `FOR UPDATE SKIP LOCKED`, leases by the server's clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::inbox::DEFAULT_LEASE;
use compliance_core::webhook::{
    DeliveryInfo, DeliveryState, Enqueued, Failure, NewDelivery, Queue, QueueDepth, StoredRequest,
    Taken, bounded_error,
};
use compliance_core::{ClaimToken, InboxError};
use tokio_postgres::Row;

use super::inbox::to_end;
use super::{PostgresStore, db, sql};
use crate::error::Error;
use crate::lease::micros;
use crate::queue::{
    PURGE_BATCH, RawInfo, RawTaken, depth, headers_from_json, headers_to_json, limit, state, taken,
};
use crate::token::{held, new_token};

/// One named durable [`Queue`] in a [`PostgresStore`]'s database; see
/// [`PostgresStore::queue`].
///
/// Keeps the contract of [`Queue`] across every process connected to the database: a take
/// is one `UPDATE` over a `SELECT ... FOR UPDATE SKIP LOCKED`, so any number of workers
/// share one queue without taking a row twice or waiting for each other; a row whose
/// worker died is taken again once its lease ran out on the server's `clock_timestamp()`.
/// Every write is one autocommit statement: `Ok` means committed.
#[derive(Debug, Clone)]
pub struct PostgresQueue {
    store: PostgresStore,
    name: Arc<str>,
    lease: Duration,
}

impl PostgresQueue {
    pub(super) fn new(store: PostgresStore, name: String) -> Self {
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

    /// Runs a settlement of a taken row on a task of its own, to its end even when the
    /// caller stops waiting; `Ok` when it changed the row `token` held.
    async fn settle(
        &self,
        key: &str,
        token: &ClaimToken,
        statement: &'static str,
        extra: Extra,
    ) -> Result<(), InboxError> {
        let (store, name) = (self.store.clone(), self.name.clone());
        let (key_owned, token) = (key.to_owned(), token.clone());
        let rows = to_end(async move {
            store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(statement).await.map_err(db)?;
                    let (name, key, token) = (&*name, key_owned.as_str(), token.as_str());
                    match &extra {
                        Extra::None => client.execute(&stmt, &[&name, &key, &token]).await,
                        Extra::Delay(after) => {
                            client.execute(&stmt, &[&name, &key, &token, after]).await
                        }
                        Extra::Fail(state, after, error) => {
                            client
                                .execute(&stmt, &[&name, &key, &token, state, after, error])
                                .await
                        }
                    }
                    .map_err(db)
                })
                .await
        })
        .await?;
        held(rows == 1, key)
    }
}

/// The parameters of a settlement beyond queue, key and token.
enum Extra {
    None,
    Delay(i64),
    Fail(&'static str, i64, String),
}

fn info(row: &Row) -> RawInfo {
    RawInfo {
        key: row.get(0),
        state: row.get(1),
        sequence: row.get(2),
        received_at: row.get(3),
        updated_at: row.get(4),
        attempts: row.get(5),
        replays: row.get(6),
        last_error: row.get(7),
    }
}

/// The `compliance.backend` label of this queue's metrics.
const BACKEND: &str = "postgres";

#[async_trait]
impl Queue for PostgresQueue {
    fn lease(&self) -> Duration {
        self.lease
    }

    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, InboxError> {
        crate::observe::timed(BACKEND, "enqueue", async {
            let state_name = if delivery.ignored.is_some() {
                DeliveryState::Ignored
            } else {
                DeliveryState::Queued
            };
            let headers = headers_to_json(delivery.request.headers());
            let reason = delivery.ignored.as_deref().map(bounded_error);
            let answer = self
                .store
                .with_client(async |client| {
                    let stmt = client
                        .prepare_cached(sql::QUEUE_ENQUEUE)
                        .await
                        .map_err(db)?;
                    let added = client
                        .query_opt(
                            &stmt,
                            &[
                                &&*self.name,
                                &delivery.key,
                                &state_name.as_str(),
                                &delivery.sequence,
                                &headers,
                                &delivery.request.body().as_ref(),
                                &reason,
                            ],
                        )
                        .await
                        .map_err(db)?;
                    if added.is_some() {
                        return Ok(Enqueued::Added);
                    }
                    let stmt = client.prepare_cached(sql::QUEUE_STATE).await.map_err(db)?;
                    let found = client
                        .query_opt(&stmt, &[&&*self.name, &delivery.key])
                        .await
                        .map_err(db)?;
                    match found {
                        Some(row) => Ok(Enqueued::Duplicate(state(row.get(0))?)),
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
            let raw = self
                .store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(sql::QUEUE_TAKE).await.map_err(db)?;
                    let rows = client
                        .query(
                            &stmt,
                            &[&&*self.name, &token.as_str(), &lease, &limit(limit_rows)],
                        )
                        .await
                        .map_err(db)?;
                    Ok(rows
                        .iter()
                        .map(|row| RawTaken {
                            id: row.get(0),
                            key: row.get(1),
                            token: row.get(2),
                            attempts: row.get(3),
                            replays: row.get(4),
                            received_at: row.get(5),
                            headers: row.get(6),
                            body: row.get(7),
                            run_at: row.get(8),
                        })
                        .collect())
                })
                .await?;
            Ok(taken(raw)?)
        })
        .await
    }

    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "renew", async {
            let lease = micros(self.lease);
            let rows = self
                .store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(sql::QUEUE_RENEW).await.map_err(db)?;
                    client
                        .execute(&stmt, &[&&*self.name, &key, &token.as_str(), &lease])
                        .await
                        .map_err(db)
                })
                .await?;
            held(rows == 1, key)
        })
        .await
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "complete", async {
            self.settle(key, token, sql::QUEUE_COMPLETE, Extra::None)
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
            let extra = match failure {
                Failure::Retry { after, error } => Extra::Fail(
                    DeliveryState::Retrying.as_str(),
                    micros(after),
                    bounded_error(&error),
                ),
                Failure::Dead { error } => {
                    Extra::Fail(DeliveryState::Dead.as_str(), 0, bounded_error(&error))
                }
                Failure::Ignored { reason } => {
                    Extra::Fail(DeliveryState::Ignored.as_str(), 0, bounded_error(&reason))
                }
                _ => Extra::Fail(DeliveryState::Dead.as_str(), 0, String::new()),
            };
            self.settle(key, token, sql::QUEUE_FAIL, extra).await
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
            self.settle(key, token, sql::QUEUE_RELEASE, Extra::Delay(micros(after)))
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
            let filter = state_filter.map(|s| s.as_str());
            let raw = self
                .store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(sql::QUEUE_LIST).await.map_err(db)?;
                    let rows = client
                        .query(&stmt, &[&&*self.name, &filter, &limit(limit_rows)])
                        .await
                        .map_err(db)?;
                    Ok(rows.iter().map(info).collect::<Vec<_>>())
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
            let row = self
                .store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(sql::QUEUE_GET).await.map_err(db)?;
                    client
                        .query_opt(&stmt, &[&&*self.name, &key])
                        .await
                        .map_err(db)
                })
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let mut found = info(&row).checked()?;
            let headers: String = row.get(8);
            let body: Vec<u8> = row.get(9);
            found.request = Some(StoredRequest::new(headers_from_json(&headers)?, body));
            Ok(Some(found))
        })
        .await
    }

    async fn replay(&self, key: &str) -> Result<bool, InboxError> {
        crate::observe::timed(BACKEND, "replay", async {
            let rows = self
                .store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(sql::QUEUE_REPLAY).await.map_err(db)?;
                    client
                        .execute(&stmt, &[&&*self.name, &key])
                        .await
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
            let mut total = 0;
            for state_name in states {
                loop {
                    let deleted = self
                        .store
                        .with_client(async |client| {
                            let stmt = client.prepare_cached(sql::QUEUE_PURGE).await.map_err(db)?;
                            client
                                .execute(
                                    &stmt,
                                    &[&&*self.name, &state_name.as_str(), &age, &PURGE_BATCH],
                                )
                                .await
                                .map_err(db)
                        })
                        .await?;
                    total += deleted;
                    if deleted < PURGE_BATCH as u64 {
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
            let row = self
                .store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(sql::QUEUE_DEPTH).await.map_err(db)?;
                    client.query_one(&stmt, &[&&*self.name]).await.map_err(db)
                })
                .await?;
            Ok(depth(row.get(0), row.get(1), row.get(2), row.get(3)))
        })
        .await
    }
}
