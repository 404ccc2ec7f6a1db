//! The store's metrics (feature `metrics`): each inbox and queue operation's latency by
//! backend, and the queues' replays.

use std::future::Future;

/// Runs `operation` of `backend`, recording how long it took and whether it succeeded.
#[cfg(feature = "metrics")]
pub(crate) async fn timed<T, E>(
    backend: &'static str,
    operation: &'static str,
    run: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    let result = run.await;
    compliance_core::metrics::record_store_operation(
        backend,
        operation,
        result.is_ok(),
        started.elapsed(),
    );
    result
}

/// Runs `operation` (nothing is recorded with the `metrics` feature off).
#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) async fn timed<T, E>(
    _backend: &'static str,
    _operation: &'static str,
    run: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    run.await
}

/// Counts a delivery of `backend` put back by a replay.
#[cfg(feature = "metrics")]
pub(crate) fn replayed(backend: &'static str) {
    compliance_core::metrics::record_replayed(backend);
}

/// Counts a replay (nothing is recorded with the `metrics` feature off).
#[cfg(not(feature = "metrics"))]
#[inline]
pub(crate) fn replayed(_backend: &'static str) {}
