//! The connection to a database file, owned by a thread of its own.
//!
//! Every statement on a file may wait for the disk (a commit under `synchronous = FULL` is a
//! flush) or for another process's write lock, so none runs on the async runtime's threads.
//! Each operation is sent to the connection's thread and its answer awaited. One thread,
//! rather than a task on tokio's blocking pool per operation, because the hand-off is where
//! the time goes for short statements: waking a parked thread costs a good part of a
//! commit (the crate README's Performance section has the measured rows, `cargo xtask bench
//! --store` measures them again), and the blocking pool needs two wake-ups per operation
//! (its worker, then the caller). The connection's thread looks for the next operation for a moment
//! ([`SqliteOptions::spin`](super::SqliteOptions::spin)) before it parks, yielding the CPU
//! between looks, so an operation that follows another (a completion follows its claim)
//! finds it awake: one wake-up per operation, the caller's. The caller's side never spins:
//! a task that keeps waking itself churns a multi-threaded runtime's idle workers and, on
//! a single CPU, starves the very thread it waits for.
//!
//! The thread stops, closing the connection, once the last handle to the store is dropped
//! and the operations already sent have run ([`SqliteStore::close`](super::SqliteStore::close)
//! waits for that).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::Error;
use crate::unread::Unread;

/// An operation for the connection's thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The sending side of a connection's thread.
#[derive(Debug)]
pub(super) struct ConnectionThread {
    jobs: Sender<Job>,
    /// Answered once the thread has closed the connection.
    closed: oneshot::Receiver<()>,
}

impl ConnectionThread {
    /// Starts a thread that opens its connection with `open`, answering once it has.
    pub(super) async fn start<F>(open: F, spin: Duration) -> Result<Self, Error>
    where
        F: FnOnce() -> Result<Connection, Error> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, answer) = oneshot::channel();
        let (close, closed) = oneshot::channel();
        std::thread::Builder::new()
            .name("compliance-store-sqlite".into())
            .spawn(move || match open() {
                Ok(mut conn) => {
                    // The opener may have stopped waiting; the thread then ends with the
                    // queue, which nobody holds.
                    let _ = opened.send(Ok(()));
                    serve(&mut conn, &queue, spin);
                    drop(conn);
                    let _ = close.send(());
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            })
            .map_err(|e| {
                Error::Database(format!("cannot start the database thread: {e}").into())
            })?;
        answer
            .await
            .map_err(|_| Error::Database("the database thread panicked while opening".into()))??;
        Ok(Self { jobs, closed })
    }

    /// Runs `f` with the connection on its thread and answers what it returns.
    #[cfg(test)]
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        self.run_undoable(f, |_, _| ()).await
    }

    /// [`run`](Self::run) for an operation whose effect must not outlive a caller who
    /// stopped waiting. The contract, decided on the connection's thread when the operation
    /// comes up: an operation whose caller left before it *started* is skipped; one that has
    /// started runs to its end, and `undo` gets what `f` returned when the caller left while
    /// it ran (a claim nobody will hear of is released at once instead of holding its key
    /// for a whole lease), or after it answered but before the answer was read.
    pub(super) async fn run_undoable<T, F, U>(&self, f: F, undo: U) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
        U: FnOnce(&mut Connection, T) + Clone + Unpin + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let undo_unread = undo.clone();
        self.jobs
            .send(Box::new(move |conn| {
                if reply.is_closed() {
                    return;
                }
                if let Err(Ok(unheard)) = reply.send(f(conn)) {
                    undo(conn, unheard);
                }
            }))
            .map_err(|_| stopped())?;
        // An answer sent just before the caller left is in the channel, unread: the
        // caller's side undoes it then, on the connection's thread.
        let jobs = self.jobs.clone();
        let answer = Unread::new(answer, move |unheard: T| {
            let _ = jobs.send(Box::new(move |conn| undo_unread(conn, unheard)));
        });
        // A panicking operation drops `reply` unsent.
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `f` with the connection on its thread, even when its caller stops waiting before
    /// it started: for operations that settle something already decided (a completion after
    /// the handler succeeded, a release), which must happen whether or not anyone hears of
    /// it.
    pub(super) async fn run_to_end<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = reply.send(f(conn));
            }))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stops the thread once the operations already sent have run, and waits until it has
    /// closed the connection.
    pub(super) async fn close(self) {
        let Self { jobs, closed } = self;
        drop(jobs);
        let _ = closed.await;
    }
}

fn stopped() -> Error {
    Error::Database("the database thread stopped before answering: the operation panicked".into())
}

/// Runs the operations in the order they come until every sender is gone.
fn serve(conn: &mut Connection, queue: &Receiver<Job>, spin: Duration) {
    while let Some(job) = next(queue, spin) {
        // A panic in one operation fails that operation (its caller hears that the thread
        // stopped before answering), not the ones after it. Statements are reset when
        // dropped; a transaction the operation left open is rolled back here, so that the
        // next operation's writes commit on their own instead of joining it.
        if catch_unwind(AssertUnwindSafe(|| job(conn))).is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

/// The next operation: looked for during `spin`, then waited for parked.
fn next(queue: &Receiver<Job>, spin: Duration) -> Option<Job> {
    let start = Instant::now();
    loop {
        match queue.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) if start.elapsed() < spin => std::thread::yield_now(),
            Err(TryRecvError::Empty) => break,
        }
    }
    queue.recv().ok()
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::Poll;

    use super::*;
    use crate::sqlite::{DEFAULT_SPIN, db};

    async fn thread(spin: Duration) -> ConnectionThread {
        ConnectionThread::start(|| Connection::open_in_memory().map_err(db), spin)
            .await
            .unwrap()
    }

    fn answer(conn: &mut Connection) -> Result<i64, Error> {
        conn.query_row("SELECT 41 + 1", [], |row| row.get(0))
            .map_err(db)
    }

    #[tokio::test]
    async fn a_panicking_operation_fails_alone() {
        let thread = thread(DEFAULT_SPIN).await;
        let err = thread
            .run(|_| -> Result<(), Error> { panic!("in an operation") })
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("stopped before answering"),
            "{err}"
        );
        assert_eq!(thread.run(answer).await.unwrap(), 42);
    }

    #[tokio::test]
    async fn operations_run_in_the_order_sent_with_or_without_a_spin() {
        for spin in [Duration::ZERO, DEFAULT_SPIN] {
            let thread = thread(spin).await;
            thread
                .run(|conn| conn.execute_batch("CREATE TABLE t (n INTEGER)").map_err(db))
                .await
                .unwrap();
            let writes = (0..50).map(|n| {
                thread.run(move |conn| conn.execute("INSERT INTO t VALUES (?1)", [n]).map_err(db))
            });
            // Sent in order on their first poll, all pending at once.
            for written in futures_join(writes).await {
                assert_eq!(written.unwrap(), 1);
            }
            let order: Vec<i64> = thread
                .run(|conn| {
                    let mut stmt = conn.prepare("SELECT n FROM t ORDER BY rowid").unwrap();
                    Ok(stmt
                        .query_map([], |row| row.get(0))
                        .unwrap()
                        .collect::<Result<_, _>>()
                        .unwrap())
                })
                .await
                .unwrap();
            assert_eq!(order, (0..50).collect::<Vec<_>>(), "spin {spin:?}");
        }
    }

    #[tokio::test]
    async fn a_transaction_left_open_by_a_panic_is_rolled_back() {
        let thread = thread(Duration::ZERO).await;
        thread
            .run(|conn| conn.execute_batch("CREATE TABLE t (n INTEGER)").map_err(db))
            .await
            .unwrap();
        let err = thread
            .run(|conn| -> Result<(), Error> {
                conn.execute_batch("BEGIN; INSERT INTO t VALUES (1);")
                    .unwrap();
                panic!("inside a transaction")
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
        let (autocommit, rows) = thread
            .run(|conn| {
                let rows: i64 = conn
                    .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
                    .map_err(db)?;
                Ok((conn.is_autocommit(), rows))
            })
            .await
            .unwrap();
        assert!(
            autocommit,
            "the next operation must not run inside the open transaction"
        );
        assert_eq!(rows, 0, "the panicking operation's write is rolled back");
    }

    /// Sends an operation that holds the connection's thread until `release` is sent: the
    /// operations sent after it are queued, not started, for as long as the test wants.
    async fn hold(thread: &ConnectionThread) -> (std::sync::mpsc::Sender<()>, impl Future) {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        let holding = thread.run(move |_| {
            let _ = started.send(());
            let _ = held.recv();
            Ok(())
        });
        let mut holding = Box::pin(holding);
        // Sent on its first poll; then wait until the thread is inside it.
        assert!(poll_once(&mut holding).await.is_pending());
        running.await.unwrap();
        (release, holding)
    }

    /// Polls `future` once: sends its operation without waiting for the answer.
    async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
    }

    #[tokio::test]
    async fn close_waits_for_the_operations_sent() {
        for spin in [Duration::ZERO, DEFAULT_SPIN] {
            let thread = thread(spin).await;
            let (release, holding) = hold(&thread).await;
            let (seen, ran) = std::sync::mpsc::channel();
            let write = thread.run(move |_| {
                seen.send(()).unwrap();
                Ok(())
            });
            // Queued behind the held operation, so not started, then its caller leaves.
            let mut write = Box::pin(write);
            assert!(poll_once(&mut write).await.is_pending());
            drop(write);
            release.send(()).unwrap();
            holding.await;
            thread.close().await;
            // Its caller left before it started: skipped, and `close` still returned.
            assert!(ran.try_recv().is_err(), "spin {spin:?}");
        }
    }

    #[tokio::test]
    async fn an_operation_already_started_runs_to_its_end_and_is_undone() {
        let thread = thread(DEFAULT_SPIN).await;
        thread
            .run(|conn| conn.execute_batch("CREATE TABLE t (n INTEGER)").map_err(db))
            .await
            .unwrap();
        let (inside, started) = std::sync::mpsc::channel();
        let (leave, left) = std::sync::mpsc::channel::<()>();
        let write = thread.run_undoable(
            move |conn| {
                inside.send(()).unwrap();
                // Its caller leaves while it runs.
                left.recv().unwrap();
                conn.execute("INSERT INTO t VALUES (1)", []).map_err(db)
            },
            |conn, _| {
                conn.execute("INSERT INTO t VALUES (2)", []).unwrap();
            },
        );
        let mut write = Box::pin(write);
        assert!(poll_once(&mut write).await.is_pending());
        started.recv().unwrap();
        drop(write);
        leave.send(()).unwrap();
        let rows: Vec<i64> = thread
            .run(|conn| {
                let mut stmt = conn.prepare("SELECT n FROM t ORDER BY n").map_err(db)?;
                let rows = stmt.query_map([], |row| row.get(0)).map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)
            })
            .await
            .unwrap();
        assert_eq!(rows, [1, 2], "ran to its end, then undone");
    }

    #[tokio::test]
    async fn an_operation_run_to_its_end_is_never_skipped() {
        let thread = thread(DEFAULT_SPIN).await;
        let (release, holding) = hold(&thread).await;
        let (seen, ran) = std::sync::mpsc::channel();
        let settle = thread.run_to_end(move |_| {
            seen.send(()).unwrap();
            Ok(())
        });
        let mut settle = Box::pin(settle);
        assert!(poll_once(&mut settle).await.is_pending());
        drop(settle);
        release.send(()).unwrap();
        holding.await;
        thread.close().await;
        assert!(
            ran.try_recv().is_ok(),
            "a completion whose caller left was skipped"
        );
    }

    #[tokio::test]
    async fn a_failed_open_is_the_error_of_start() {
        let err = ConnectionThread::start(
            || Err(Error::Database("no such file".into())),
            Duration::ZERO,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
    }

    /// Polls every future once in order (each sends its operation), then awaits them all.
    async fn futures_join<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
        let mut pinned: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
        let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
                if output.is_none() {
                    match future.as_mut().poll(cx) {
                        Poll::Ready(value) => *output = Some(value),
                        Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        outputs.into_iter().map(Option::unwrap).collect()
    }
}
