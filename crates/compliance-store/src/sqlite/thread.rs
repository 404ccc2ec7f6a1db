//! The connection to a database file, owned by a thread of its own.
//!
//! Every statement on a file may wait for the disk (a commit under `synchronous = FULL` is a
//! flush) or for another process's write lock, so none runs on the async runtime's threads.
//! Each operation is sent to the connection's thread and its answer awaited. One thread,
//! rather than a task on tokio's blocking pool per operation, because the hand-off is
//! where the time goes for short statements: waking a parked thread costs tens of
//! microseconds on a virtual machine, a good part of a commit. So both sides look for a
//! moment ([`SqliteOptions::spin`](super::SqliteOptions::spin)) before they park: after
//! each operation the thread looks for the next one (a completion follows its claim), and
//! the task awaiting an answer yields to the runtime and looks again rather than parking at
//! once. On this project's 2-vCPU VM the hand-off costs ~15 µs per operation without the
//! spin and nothing measurable with it (`cargo xtask bench --store`, database on tmpfs).
//!
//! The thread stops, closing the connection, once the last handle to the store is dropped
//! and the operations already sent have run.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::Error;

/// An operation for the connection's thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The sending side of a connection's thread.
#[derive(Debug)]
pub(super) struct ConnectionThread {
    jobs: Sender<Job>,
    spin: Duration,
}

impl ConnectionThread {
    /// Starts a thread that opens its connection with `open`, answering once it has.
    pub(super) async fn start<F>(open: F, spin: Duration) -> Result<Self, Error>
    where
        F: FnOnce() -> Result<Connection, Error> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, answer) = oneshot::channel();
        std::thread::Builder::new()
            .name("compliance-store-sqlite".into())
            .spawn(move || match open() {
                Ok(mut conn) => {
                    // The opener may have stopped waiting; the thread then ends with the
                    // queue, which nobody holds.
                    let _ = opened.send(Ok(()));
                    serve(&mut conn, &queue, spin);
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            })
            .map_err(|e| {
                Error::Database(format!("cannot start the database thread: {e}").into())
            })?;
        answer.await.map_err(|_| stopped())??;
        Ok(Self { jobs, spin })
    }

    /// Runs `f` with the connection on its thread and answers what it returns.
    ///
    /// Once sent, the operation runs even if the caller stops waiting (as a task on a
    /// blocking pool would): a write is never left half-sent.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, Error>
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
        // A panicking operation drops `reply` unsent.
        Answer {
            answer,
            until: Instant::now() + self.spin,
        }
        .await
        .map_err(|_| stopped())?
    }
}

/// An operation's answer, looked for without parking the task during the spin: the task
/// yields to the runtime and is polled again, so the thread awaiting it stays awake (and
/// other tasks still run) rather than paying a wake-up when the answer comes.
struct Answer<T> {
    answer: oneshot::Receiver<T>,
    until: Instant,
}

impl<T> Future for Answer<T> {
    type Output = Result<T, oneshot::error::RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let poll = Pin::new(&mut self.answer).poll(cx);
        if poll.is_pending() && Instant::now() < self.until {
            cx.waker().wake_by_ref();
        }
        poll
    }
}

fn stopped() -> Error {
    Error::Database("the database thread stopped before answering (an operation panicked)".into())
}

/// Runs the operations in the order they come until every sender is gone.
fn serve(conn: &mut Connection, queue: &Receiver<Job>, spin: Duration) {
    while let Some(job) = next(queue, spin) {
        // A panic in one operation fails that operation (its caller hears that the thread
        // stopped before answering), not the ones after it. Statements are reset when
        // dropped, and SQLite rolls back a transaction left open by the next `BEGIN`.
        let _ = catch_unwind(AssertUnwindSafe(|| job(conn)));
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
