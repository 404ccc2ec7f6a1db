//! The embedded store: one SQLite file (feature `sqlite`, the default).
//!
//! SQLite is compiled into the program (`rusqlite`'s bundled build), so there is nothing to
//! install or run. The file is opened in WAL mode with `synchronous = FULL` (a write this
//! store reports done survives a power cut) and a busy timeout, so several processes on the
//! same host can share it: each waits for the others' short write transactions instead of
//! failing.
//!
//! Every statement on a file runs on the connection's own thread, never on the async
//! runtime's workers (it may wait for the disk or for another process's lock), so the store
//! works under any async runtime. The thread looks for the next operation for a moment
//! before it parks ([`SqliteOptions::spin`]), because waking a parked thread costs a good
//! part of a commit. A database [in memory](SqliteStore::open_in_memory) never waits for either:
//! its statements take microseconds, less than any hand-off, so they run in place. One
//! connection serves the whole store: SQLite lets one writer in at a time anyway, and the
//! store's operations are single short statements.

mod applicants;
mod inbox;
mod listing;
mod queue;
pub mod sql;
mod thread;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use compliance_core::Timestamp;
use rusqlite::{CachedStatement, Connection, Params, Row, TransactionBehavior};

use crate::error::Error;
use crate::record::timestamp_text;
use crate::schema::{self, MIGRATIONS_TABLE, Migration};
use thread::ConnectionThread;

pub use inbox::SqliteInbox;
pub use queue::SqliteQueue;
/// The driver, re-exported so your own queries on the same file use the same version.
pub use rusqlite;

/// The embedded migrations.
static MIGRATIONS: [Migration; 3] = [
    Migration::numbered(1, include_str!("0001_initial.sql")),
    Migration::numbered(2, include_str!("0002_abandoned_claims.sql")),
    Migration::numbered(3, include_str!("0003_queue.sql")),
];

/// How long a statement waits for another connection's write lock by default: 5 seconds.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the connection's thread looks for the next operation before it parks, by
/// default: 200 microseconds (see [`SqliteOptions::spin`]).
pub const DEFAULT_SPIN: Duration = Duration::from_micros(200);

/// Settings for [`SqliteStore::open_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    busy_timeout: Duration,
    spin: Duration,
    max_page_count: Option<u64>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            spin: DEFAULT_SPIN,
            max_page_count: None,
        }
    }
}

impl SqliteOptions {
    /// The defaults: a 5-second busy timeout, a 200 µs spin.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long the connection's thread keeps looking for the next operation (yielding the
    /// CPU between looks) before it parks. An operation arriving in that time starts at
    /// once; one arriving later first wakes the thread, a good part of a commit (the
    /// crate README's Performance section has the measured rows). The price is up to this much CPU time after each operation,
    /// none while the store is idle. `Duration::ZERO` parks at once (for hosts where idle
    /// CPU time matters more than latency). Files only: a database in memory has no
    /// thread.
    pub fn spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// Caps the file at `pages` pages (SQLite's `PRAGMA max_page_count`; a page is 4 KiB
    /// by default), for this store's connection. A write that would grow the file past it
    /// fails with [`Error::Database`] (`database or disk is full`): a durable intake then
    /// answers 503 and acknowledges nothing, as it does when the disk itself is full. By
    /// default SQLite's own limit (practically none).
    pub fn max_page_count(mut self, pages: u64) -> Self {
        self.max_page_count = Some(pages);
        self
    }

    /// How long a statement waits while another process holds the write lock before it
    /// fails with [`Error::Database`] (`database is locked`).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

/// An [`ApplicantStore`](compliance_core::ApplicantStore) and a source of
/// [inboxes](SqliteStore::inbox) in one SQLite database.
///
/// Cheap to clone (an `Arc` inside): open it once and share it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), compliance_store::Error> {
/// use compliance_store::SqliteStore;
///
/// let store = SqliteStore::open_in_memory().await?; // or SqliteStore::open("state.db")
/// let inbox = store.inbox("tuum");
/// # let _ = inbox;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Conn,
    path: Option<PathBuf>,
}

/// Where the connection lives.
enum Conn {
    /// A file's: on its own thread.
    Thread(ConnectionThread),
    /// A database in memory: used in place, one operation at a time.
    InPlace(tokio::sync::Mutex<Connection>),
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to
    /// date. The directory must exist.
    ///
    /// The file holds applicant ids and AML states: on Unix a new file is created readable
    /// and writable by its owner only (mode `0600`), and SQLite gives its `-wal` and `-shm`
    /// files the same mode. An existing file keeps the mode it has.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// [`open`](Self::open) with settings.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let opened = path.clone();
        let spin = options.spin;
        let thread = ConnectionThread::start(
            move || {
                create_private(&opened)?;
                let conn = Connection::open(&opened).map_err(|e| {
                    Error::Database(format!("cannot open {}: {e}", opened.display()).into())
                })?;
                prepare(conn, &options)
            },
            spin,
        )
        .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Conn::Thread(thread),
                path: Some(path),
            }),
        })
    }

    /// A private database in memory, gone when the store is dropped: for tests and
    /// single-run tools.
    pub async fn open_in_memory() -> Result<Self, Error> {
        let conn = Connection::open_in_memory().map_err(db)?;
        let conn = prepare(conn, &SqliteOptions::default())?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Conn::InPlace(tokio::sync::Mutex::new(conn)),
                path: None,
            }),
        })
    }

    /// The database file (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The inbox called `name` in this database, with the
    /// [default lease](compliance_core::inbox::DEFAULT_LEASE). Inboxes with different
    /// names keep their keys apart: give each webhook source its own (`"tuum"`,
    /// `"heleket"`...).
    pub fn inbox(&self, name: impl Into<String>) -> SqliteInbox {
        SqliteInbox::new(self.clone(), name.into())
    }

    /// The durable webhook queue called `name` (the provider's: `"tuum"`, `"heleket"`...)
    /// in this database, with the [default lease](compliance_core::inbox::DEFAULT_LEASE).
    pub fn queue(&self, name: impl Into<String>) -> SqliteQueue {
        SqliteQueue::new(self.clone(), name.into())
    }

    /// Runs `f` with the connection, after the operations sent before it: on the
    /// connection's thread for a file, in place for a database in memory (no disk, no
    /// other process: nothing to wait for).
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        self.run_undoable(f, |_, _| ()).await
    }

    /// [`run`](Self::run), undoing with `undo` what `f` did when the caller stopped waiting
    /// while it ran on the connection's thread (in place, `f` runs within the caller's poll:
    /// there is no such moment).
    pub(crate) async fn run_undoable<T, F, U>(&self, f: F, undo: U) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
        U: FnOnce(&mut Connection, T) + Clone + Unpin + Send + 'static,
    {
        match &self.inner.conn {
            Conn::Thread(thread) => thread.run_undoable(f, undo).await,
            Conn::InPlace(conn) => f(&mut *conn.lock().await),
        }
    }

    /// [`run`](Self::run), but run even when the caller stops waiting before it started
    /// (completions and releases: see [`ConnectionThread::run_to_end`]). In memory, `f` runs
    /// within the caller's poll once the connection is free; a caller that leaves while
    /// waiting for it cancels it (nothing outlives a database in memory anyway).
    pub(crate) async fn run_to_end<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        match &self.inner.conn {
            Conn::Thread(thread) => thread.run_to_end(f).await,
            Conn::InPlace(conn) => f(&mut *conn.lock().await),
        }
    }

    /// Closes the database: waits until the operations already sent have run and the
    /// connection is closed, so that the file can be moved, copied or deleted at once.
    ///
    /// Dropping the last handle closes it too, a moment later, on the connection's thread.
    /// Inboxes hold a handle each: with other handles alive this one is only dropped, and
    /// the answer is [`Error::Database`] saying so.
    pub async fn close(self) -> Result<(), Error> {
        let inner = Arc::try_unwrap(self.inner).map_err(|_| {
            Error::Database(
                "the store is still in use (another clone or an inbox holds it): \
                 drop those first"
                    .into(),
            )
        })?;
        if let Conn::Thread(thread) = inner.conn {
            thread.close().await;
        }
        Ok(())
    }
}

/// Creates the database file with mode `0600` if it does not exist yet (Unix; elsewhere
/// SQLite creates it with the platform's defaults).
///
/// A missing parent directory is a configuration error that names it: the store creates
/// the file, never directories (their owner and mode are the deployment's choice).
fn create_private(path: &Path) -> Result<(), Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(Error::Config(format!(
            "cannot create the SQLite file {}: the directory {} does not exist; create it \
             first (the store creates the file, not its directory)",
            path.display(),
            parent.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::Database(
                    format!("cannot create {}: {e}", path.display()).into(),
                ));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A driver error.
pub(crate) fn db(e: rusqlite::Error) -> Error {
    Error::database(e)
}

/// Sets the connection up and migrates the schema.
fn prepare(mut conn: Connection, options: &SqliteOptions) -> Result<Connection, Error> {
    conn.busy_timeout(options.busy_timeout).map_err(db)?;
    // WAL: readers never block the writer, and a commit is one append to the log. In memory
    // the mode stays `memory`, which is fine.
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(db)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db)?;
    migrate(&mut conn)?;
    if let Some(pages) = options.max_page_count {
        let pages = i64::try_from(pages).unwrap_or(i64::MAX);
        let _set: i64 = conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |row| {
                row.get(0)
            })
            .map_err(db)?;
    }
    Ok(conn)
}

/// Applies the missing migrations under SQLite's write lock (`BEGIN IMMEDIATE`): a second
/// process opening the file at the same moment waits, then finds them applied.
fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (\
             version INTEGER PRIMARY KEY, \
             description TEXT NOT NULL, \
             applied_at TEXT NOT NULL)"
    ))
    .map_err(db)?;
    let found: i64 = tx
        .query_row(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {MIGRATIONS_TABLE}"),
            [],
            |row| row.get(0),
        )
        .map_err(db)?;
    for migration in schema::pending(&MIGRATIONS, found)? {
        tx.execute_batch(migration.sql).map_err(db)?;
        tx.execute(
            &format!(
                "INSERT INTO {MIGRATIONS_TABLE} (version, description, applied_at) \
                 VALUES (?1, ?2, ?3)"
            ),
            (
                migration.version,
                migration.description,
                timestamp_text(&Timestamp::now()),
            ),
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

/// Runs a statement that returns at most one row to its very end and maps that row.
///
/// Stepping to the end matters for writes: an autocommit write commits when its statement
/// finishes. Stopping after the first row (as `query_row` does) leaves the commit to the
/// statement's reset, whose error rusqlite discards: a failed commit would look like success.
pub(crate) fn one_row<T>(
    stmt: &mut CachedStatement<'_>,
    params: impl Params,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, Error> {
    let mut rows = stmt.query(params).map_err(db)?;
    let mut map = Some(map);
    let mut first = None;
    while let Some(row) = rows.next().map_err(db)? {
        if let Some(map) = map.take() {
            first = Some(map(row).map_err(db)?);
        }
    }
    Ok(first)
}

/// Unix microseconds now, by this process's system clock (see [`SqliteInbox`] for what that
/// means for leases).
pub(crate) fn now_micros() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        schema::assert_well_formed(&MIGRATIONS);
    }
}
