//! [`Inbox`] on PostgreSQL: one row per key in `compliance_inbox`, leases by the server's
//! clock.
//!
//! Every operation is one autocommit statement (two when the first does not settle it).
//! `tokio-postgres` answers only after the server's `ReadyForQuery`, which follows the
//! commit, so `Ok` means committed; a connection lost before that is an error, never `Ok`.
//!
//! A statement once sent runs on the server whether or not its caller still waits, so the
//! operations whose effect matters after the caller left run on tasks of their own:
//! completions and releases run to their end, and a claim whose caller left is released
//! as soon as it answers (as the SQLite store does).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::inbox::DEFAULT_LEASE;
use compliance_core::{Claim, ClaimToken, Inbox, InboxError};
use tokio::sync::oneshot;
use tokio_postgres::types::ToSql;

use super::{PostgresStore, db, sql};
use crate::error::Error;
use crate::lease::micros;
use crate::token::{held, new_token};
use crate::unread::Unread;

/// How many keys one purge statement deletes; a large purge runs as several short
/// statements so that no transaction holds thousands of row locks for long.
const PURGE_BATCH: i64 = 1000;

/// One named [`Inbox`] in a [`PostgresStore`]'s database; see [`PostgresStore::inbox`].
///
/// Keeps the contract in [`compliance_core::inbox`], across every process connected to the
/// database: a claim is an `INSERT ... ON CONFLICT DO UPDATE ... WHERE` that PostgreSQL
/// serialises per key, and leases run on the server's `clock_timestamp()`, so instances with
/// skewed clocks agree.
#[derive(Debug, Clone)]
pub struct PostgresInbox {
    store: PostgresStore,
    name: Arc<str>,
    lease: Duration,
}

impl PostgresInbox {
    pub(super) fn new(store: PostgresStore, name: String) -> Self {
        Self {
            store,
            name: name.into(),
            lease: DEFAULT_LEASE,
        }
    }

    /// Sets how long a claim or a renewal holds a key (default 5 minutes).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The inbox's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Runs a settlement (a completion or a release) on a task of its own, so that it runs to
/// its end even when its caller stops waiting: what the processor decided (the handler
/// succeeded) happens whether or not anyone hears of it.
pub(super) async fn to_end<T: Send + 'static>(
    work: impl Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    tokio::spawn(work).await.map_err(ended)?
}

fn ended(e: impl std::fmt::Display) -> Error {
    Error::Database(format!("the database operation's task ended before answering: {e}").into())
}

async fn claim(
    store: &PostgresStore,
    name: &str,
    key: &str,
    token: ClaimToken,
    lease: i64,
) -> Result<Claim, Error> {
    store
        .with_client(async |client| {
            // A key released or purged between the two statements is claimed again; after a
            // few such races the answer is "in progress", which only costs a redelivery.
            for _ in 0..3 {
                let stmt = client.prepare_cached(sql::CLAIM).await.map_err(db)?;
                let acquired = client
                    .query_opt(&stmt, &[&name, &key, &token.as_str(), &lease])
                    .await
                    .map_err(db)?;
                if acquired.is_some() {
                    return Ok(Claim::Acquired(token));
                }
                let stmt = client.prepare_cached(sql::STATE).await.map_err(db)?;
                let state = client.query_opt(&stmt, &[&name, &key]).await.map_err(db)?;
                match state.as_ref().map(|row| row.get::<_, &str>(0)) {
                    Some("done") => return Ok(Claim::AlreadyDone),
                    Some(_) => return Ok(Claim::InProgress),
                    None => continue,
                }
            }
            Ok(Claim::InProgress)
        })
        .await
}

async fn release(
    store: &PostgresStore,
    name: &str,
    key: &str,
    token: &ClaimToken,
) -> Result<u64, Error> {
    store
        .with_client(async |client| {
            let stmt = client.prepare_cached(sql::RELEASE).await.map_err(db)?;
            client
                .execute(&stmt, &[&name, &key, &token.as_str()])
                .await
                .map_err(db)
        })
        .await
}

/// The `compliance.backend` label of this inbox's metrics.
const BACKEND: &str = "postgres";

#[async_trait]
impl Inbox for PostgresInbox {
    fn lease(&self) -> Duration {
        self.lease
    }

    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        crate::observe::timed(BACKEND, "claim", async {
            let token = new_token()?;
            let lease = micros(self.lease);
            let (store, name, key) = (self.store.clone(), self.name.clone(), key.to_owned());
            // On a task of its own, so that a claim whose caller stopped waiting (a timeout, a
            // dropped request) after the statement was sent is released as soon as it
            // answers, instead of holding its key for a whole lease: nobody holds its token.
            let (reply, answer) = oneshot::channel();
            // An answer sent just before the caller left is in the channel, unread: released
            // from the caller's side then.
            let (unread_store, unread_name, unread_key) =
                (store.clone(), name.clone(), key.clone());
            let answer = Unread::new(answer, move |claim: Claim| {
                if let Claim::Acquired(token) = claim
                    && let Ok(runtime) = tokio::runtime::Handle::try_current()
                {
                    runtime.spawn(async move {
                        let _ = release(&unread_store, &unread_name, &unread_key, &token).await;
                    });
                }
            });
            tokio::spawn(async move {
                if reply.is_closed() {
                    return;
                }
                let claimed = claim(&store, &name, &key, token, lease).await;
                if let Err(Ok(Claim::Acquired(token))) = reply.send(claimed) {
                    let _ = release(&store, &name, &key, &token).await;
                }
            });
            Ok(answer.await.map_err(ended)??)
        })
        .await
    }

    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "renew", async {
            let lease = micros(self.lease);
            let rows = self
                .store
                .with_client(async |client| {
                    let stmt = client.prepare_cached(sql::RENEW).await.map_err(db)?;
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
            let (store, name) = (self.store.clone(), self.name.clone());
            let (key_owned, token) = (key.to_owned(), token.clone());
            let rows = to_end(async move {
                let params: [&(dyn ToSql + Sync); 3] = [&&*name, &key_owned, &token.as_str()];
                store
                    .with_client(async |client| {
                        let stmt = client.prepare_cached(sql::COMPLETE).await.map_err(db)?;
                        if client.execute(&stmt, &params).await.map_err(db)? == 1 {
                            return Ok(1);
                        }
                        // A retried completion whose first answer was lost is still a success.
                        let stmt = client.prepare_cached(sql::DONE_BY).await.map_err(db)?;
                        let done = client.query_opt(&stmt, &params).await.map_err(db)?;
                        Ok(u64::from(done.is_some()))
                    })
                    .await
            })
            .await?;
            held(rows == 1, key)
        })
        .await
    }

    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "release", async {
            let (store, name) = (self.store.clone(), self.name.clone());
            let (key_owned, token) = (key.to_owned(), token.clone());
            let rows =
                to_end(async move { release(&store, &name, &key_owned, &token).await }).await?;
            held(rows == 1, key)
        })
        .await
    }

    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        crate::observe::timed(BACKEND, "purge", async {
            let age = micros(older_than);
            let mut total = 0;
            // Completed keys, then claims abandoned by a holder that died.
            for statement in [sql::PURGE, sql::PURGE_ABANDONED] {
                loop {
                    // One pooled connection per batch, so claims are not starved by a long
                    // purge.
                    let deleted = self
                        .store
                        .with_client(async |client| {
                            let stmt = client.prepare_cached(statement).await.map_err(db)?;
                            client
                                .execute(&stmt, &[&&*self.name, &age, &PURGE_BATCH])
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
}
