//! The shared store: PostgreSQL (feature `postgres`).
//!
//! For several receivers behind a load balancer, or several services sharing state: every
//! instance connects to the same database, and the inbox's row locks and the server's clock
//! make a delivery processed once across all of them.
//!
//! Queries are plain runtime statements through [`tokio_postgres`] (prepared once per
//! connection); nothing needs a database at build time. Connections come from a
//! [`deadpool_postgres`] pool.
//!
//! # TLS
//!
//! [`PostgresStore::connect`] connects without TLS (loopback, a private network, a sidecar
//! proxy). For TLS pass the connector of your choice to
//! [`PostgresStore::connect_with_tls`] (`tokio-postgres-rustls`, `postgres-native-tls`,
//! `postgres-openssl`...), or build a pool yourself and hand it to
//! [`PostgresStore::from_pool`]. This crate picks no TLS library for you.
//!
//! # Where the tables go
//!
//! Into the first schema of the connection's `search_path` (normally `public`). To use
//! another schema, set it on the connection, e.g. `?options=-csearch_path%3Dcompliance` in
//! the URL.

mod applicants;
mod inbox;
mod listing;
mod queue;
pub mod sql;

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::Socket;
use tokio_postgres::tls::{MakeTlsConnect, NoTls, TlsConnect};

use crate::error::Error;
use crate::schema::{self, MIGRATIONS_TABLE, Migration};

/// The pool, re-exported so that the pool you pass to [`PostgresStore::from_pool`] is of
/// the same version.
pub use deadpool_postgres;
pub use inbox::PostgresInbox;
pub use queue::PostgresQueue;
/// The driver, re-exported for TLS connectors and your own queries.
pub use tokio_postgres;

/// The embedded migrations.
static MIGRATIONS: [Migration; 3] = [
    Migration::numbered(1, include_str!("0001_initial.sql")),
    Migration::numbered(2, include_str!("0002_abandoned_claims.sql")),
    Migration::numbered(3, include_str!("0003_queue.sql")),
];

/// The transaction-scoped advisory lock held while migrating (the bytes of `complstr`):
/// instances starting at once take turns, and each migration is applied once.
pub const MIGRATION_LOCK: i64 = 0x636f_6d70_6c73_7472;

/// How long [`connect`](PostgresStore::connect) waits for a new connection when the URL
/// sets no `connect_timeout`: 10 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an operation waits for a free pooled connection (pools made by
/// [`connect`](PostgresStore::connect)): 30 seconds, then it fails with
/// [`Error::Database`] instead of hanging.
pub const DEFAULT_POOL_WAIT: Duration = Duration::from_secs(30);

/// An [`ApplicantStore`](compliance_core::ApplicantStore) and a source of
/// [inboxes](PostgresStore::inbox) in one PostgreSQL database, over a connection pool.
///
/// Cheap to clone (the pool is an `Arc` inside): connect once and share it.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's configuration holds the password: show its state only.
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("max_size", &status.max_size)
            .field("size", &status.size)
            .field("available", &status.available)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects without TLS to `url` (`postgres://user:password@host:port/database`, or
    /// `host=... user=...`), with a pool of up to four connections per CPU, and brings the
    /// schema up to date. Sets `application_name` to `compliance-store` and a 10-second
    /// connect timeout unless the URL sets them.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_tls(url, NoTls).await
    }

    /// [`connect`](Self::connect) with a TLS connector of your choice (see the
    /// [module docs](self#tls)).
    pub async fn connect_with_tls<T>(url: &str, tls: T) -> Result<Self, Error>
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        // The parser's message never includes the URL, so no password is repeated.
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| Error::Config(format!("invalid PostgreSQL connection string: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("compliance-store");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(DEFAULT_POOL_WAIT))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the connection pool: {e}")))?;
        Self::from_pool(pool).await
    }

    /// Uses a pool you built (your TLS, sizes and timeouts) and brings the schema up to date.
    /// Give the pool a `wait_timeout` (and a runtime) so that an exhausted pool fails instead
    /// of waiting forever.
    pub async fn from_pool(pool: Pool) -> Result<Self, Error> {
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// The pool, for your own queries in the same database.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The inbox called `name` in this database, with the
    /// [default lease](compliance_core::inbox::DEFAULT_LEASE). Inboxes with different
    /// names keep their keys apart: give each webhook source its own (`"tuum"`,
    /// `"heleket"`...).
    pub fn inbox(&self, name: impl Into<String>) -> PostgresInbox {
        PostgresInbox::new(self.clone(), name.into())
    }

    /// The durable webhook queue called `name` (the provider's: `"tuum"`, `"heleket"`...)
    /// in this database, with the [default lease](compliance_core::inbox::DEFAULT_LEASE).
    pub fn queue(&self, name: impl Into<String>) -> PostgresQueue {
        PostgresQueue::new(self.clone(), name.into())
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, Error> {
        self.pool.get().await.map_err(Error::database)
    }

    /// Runs `op` with a pooled connection. A connection on which a statement failed is
    /// dropped instead of going back to the pool: it may have been lost mid-statement, and
    /// the pool's quick check cannot tell yet, so the next operation would fail too.
    pub(crate) async fn with_client<T>(
        &self,
        op: impl AsyncFnOnce(&Object) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let client = self.client().await?;
        let result = op(&client).await;
        if matches!(result, Err(Error::Database(_))) {
            drop(Object::take(client));
        }
        result
    }

    /// Applies the missing migrations in one transaction under [`MIGRATION_LOCK`].
    async fn migrate(&self) -> Result<(), Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        // `IF NOT EXISTS` on an existing table makes the server send a NOTICE, which the
        // driver logs at INFO: on every start, about nothing. Notices are off for this
        // transaction only; warnings and errors still arrive.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .await
            .map_err(db)?;
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (\
                 version bigint PRIMARY KEY, \
                 description text NOT NULL, \
                 applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        ))
        .await
        .map_err(db)?;
        let found: i64 = tx
            .query_one(
                &format!("SELECT COALESCE(MAX(version), 0)::bigint FROM {MIGRATIONS_TABLE}"),
                &[],
            )
            .await
            .map_err(db)?
            .get(0);
        for migration in schema::pending(&MIGRATIONS, found)? {
            tx.batch_execute(migration.sql).await.map_err(db)?;
            tx.execute(
                &format!("INSERT INTO {MIGRATIONS_TABLE} (version, description) VALUES ($1, $2)"),
                &[&migration.version, &migration.description],
            )
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }
}

/// A driver error, described with the server's message and SQLSTATE when there is one
/// (`tokio_postgres::Error` alone displays as just "db error").
pub(crate) fn db(e: tokio_postgres::Error) -> Error {
    Error::Database(Box::new(Described {
        message: match e.as_db_error() {
            Some(server) => format!("{e}: {server} (SQLSTATE {})", server.code().code()),
            None => e.to_string(),
        },
        source: e,
    }))
}

#[derive(Debug)]
struct Described {
    message: String,
    source: tokio_postgres::Error,
}

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Described {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        schema::assert_well_formed(&MIGRATIONS);
    }

    #[tokio::test]
    async fn a_bad_url_is_a_config_error_that_does_not_repeat_the_password() {
        let err = PostgresStore::connect("postgres://user:hunter2@host:notaport/db")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
