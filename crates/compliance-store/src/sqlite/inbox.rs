//! [`Inbox`] on SQLite: one row per key in `compliance_inbox`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::inbox::DEFAULT_LEASE;
use compliance_core::{Claim, ClaimToken, Inbox, InboxError};
use rusqlite::Connection;

use super::{SqliteStore, db, now_micros, one_row, sql};
use crate::error::Error;
use crate::lease::micros;
use crate::token::{held, new_token};

/// How many keys one purge transaction deletes; a large purge runs as several short
/// transactions so that claims are not held up behind it.
const PURGE_BATCH: i64 = 1000;

/// One named [`Inbox`] in a [`SqliteStore`]'s database; see [`SqliteStore::inbox`].
///
/// Keeps the contract in [`compliance_core::inbox`].
///
/// Leases are measured by the system (wall) clock of each process using the file. SQLite
/// must not be shared over a network filesystem, so those processes run on one host and read
/// one clock: they agree with each other. What no wall clock protects against is a step: a
/// clock set forward by more than a lease makes every claim look run out, and another
/// delivery may take a key over while its handler still runs. The processor then stops that
/// handler at its next renewal (`NotHeld`, answered as a lost claim), so it is stopped
/// within a third of a lease, not prevented. A clock set back only lengthens leases. Keep
/// the host's clock slewed (NTP's default), not stepped, or use PostgreSQL, whose leases
/// run on the server's clock.
#[derive(Debug, Clone)]
pub struct SqliteInbox {
    store: SqliteStore,
    name: Arc<str>,
    lease: Duration,
}

impl SqliteInbox {
    pub(super) fn new(store: SqliteStore, name: String) -> Self {
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

    /// Runs `op` with the connection, the inbox name and the key.
    async fn with_key<T, F>(&self, key: &str, op: F) -> Result<T, InboxError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str, &str) -> Result<T, Error> + Send + 'static,
    {
        self.with_key_undoable(key, |_, _| (), op).await
    }

    /// [`with_key`](Self::with_key) for an operation that runs even when its caller stops
    /// waiting before it started (see [`SqliteStore::run_to_end`]).
    async fn with_key_to_end<T, F>(&self, key: &str, op: F) -> Result<T, InboxError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str, &str) -> Result<T, Error> + Send + 'static,
    {
        let (name, key) = (self.name.clone(), key.to_owned());
        Ok(self
            .store
            .run_to_end(move |conn| op(conn, &name, &key))
            .await?)
    }

    /// [`with_key`](Self::with_key), with what undoes the operation's effect when its
    /// caller stopped waiting while it ran (see [`SqliteStore::run_undoable`]).
    async fn with_key_undoable<T, F, U>(&self, key: &str, undo: U, op: F) -> Result<T, InboxError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str, &str) -> Result<T, Error> + Send + 'static,
        U: FnOnce(&mut Connection, T) + Clone + Unpin + Send + 'static,
    {
        let (name, key) = (self.name.clone(), key.to_owned());
        Ok(self
            .store
            .run_undoable(move |conn| op(conn, &name, &key), undo)
            .await?)
    }
}

/// The `compliance.backend` label of this inbox's metrics.
const BACKEND: &str = "sqlite";

#[async_trait]
impl Inbox for SqliteInbox {
    fn lease(&self) -> Duration {
        self.lease
    }

    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        crate::observe::timed(BACKEND, "claim", async {
            let token = new_token()?;
            let lease = micros(self.lease);
            let (name, key_owned) = (self.name.clone(), key.to_owned());
            // A claim acquired for a caller who stopped waiting (a timeout, a dropped request)
            // is released at once: nobody holds its token, and the key would otherwise look
            // in progress for a whole lease.
            let undo = move |conn: &mut Connection, claim: Claim| {
                if let Claim::Acquired(token) = claim
                    && let Ok(mut stmt) = conn.prepare_cached(sql::RELEASE)
                {
                    let _ = stmt.execute((&*name, key_owned.as_str(), token.as_str()));
                }
            };
            self.with_key_undoable(key, undo, move |conn, name, key| {
                // A key released or purged between the two statements is claimed again; after
                // a few such races the answer is "in progress", which only costs a redelivery.
                for _ in 0..3 {
                    let now = now_micros();
                    let mut stmt = conn.prepare_cached(sql::CLAIM).map_err(db)?;
                    let params = (name, key, token.as_str(), now, now.saturating_add(lease));
                    if one_row(&mut stmt, params, |_| Ok(()))?.is_some() {
                        return Ok(Claim::Acquired(token));
                    }
                    let mut stmt = conn.prepare_cached(sql::STATE).map_err(db)?;
                    let state: Option<String> = one_row(&mut stmt, (name, key), |row| row.get(0))?;
                    match state.as_deref() {
                        Some("done") => return Ok(Claim::AlreadyDone),
                        Some(_) => return Ok(Claim::InProgress),
                        None => continue,
                    }
                }
                Ok(Claim::InProgress)
            })
            .await
        })
        .await
    }

    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "renew", async {
            let token = token.clone();
            let lease = micros(self.lease);
            let renewed = self
                .with_key(key, move |conn, name, key| {
                    let until = now_micros().saturating_add(lease);
                    let mut stmt = conn.prepare_cached(sql::RENEW).map_err(db)?;
                    stmt.execute((name, key, token.as_str(), until)).map_err(db)
                })
                .await?;
            held(renewed == 1, key)
        })
        .await
    }

    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "complete", async {
            let token = token.clone();
            let done = self
                .with_key_to_end(key, move |conn, name, key| {
                    let mut stmt = conn.prepare_cached(sql::COMPLETE).map_err(db)?;
                    if stmt
                        .execute((name, key, token.as_str(), now_micros()))
                        .map_err(db)?
                        == 1
                    {
                        return Ok(true);
                    }
                    // A retried completion whose first answer was lost is still a success.
                    let mut stmt = conn.prepare_cached(sql::DONE_BY).map_err(db)?;
                    Ok(one_row(&mut stmt, (name, key, token.as_str()), |_| Ok(()))?.is_some())
                })
                .await?;
            held(done, key)
        })
        .await
    }

    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        crate::observe::timed(BACKEND, "release", async {
            let token = token.clone();
            let released = self
                .with_key_to_end(key, move |conn, name, key| {
                    let mut stmt = conn.prepare_cached(sql::RELEASE).map_err(db)?;
                    stmt.execute((name, key, token.as_str())).map_err(db)
                })
                .await?;
            held(released == 1, key)
        })
        .await
    }

    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        crate::observe::timed(BACKEND, "purge", async {
            let age = micros(older_than);
            let mut total = 0u64;
            // Completed keys, then claims abandoned by a holder that died.
            for statement in [sql::PURGE, sql::PURGE_ABANDONED] {
                loop {
                    // Each batch is its own statement (and transaction) and takes the
                    // connection anew, so claims interleave with a long purge.
                    let name = self.name.clone();
                    let deleted = self
                        .store
                        .run(move |conn| {
                            let before = now_micros().saturating_sub(age);
                            let mut stmt = conn.prepare_cached(statement).map_err(db)?;
                            stmt.execute((&*name, before, PURGE_BATCH)).map_err(db)
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
}
