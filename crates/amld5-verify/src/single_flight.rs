//! A credential cell whose renewal happens once however many tasks ask at the same time.
//!
//! Provider-neutral (a candidate for `compliance-core`): the current value is read without
//! waiting; a renewal runs under a gate, and a task that queued behind a renewal re-checks
//! the value first and, finding it fresh, uses it instead of renewing again.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

/// The current credential and the gate renewals pass through.
pub(crate) struct TokenCell<T> {
    current: Mutex<Option<T>>,
    gate: tokio::sync::Mutex<()>,
}

impl<T: Clone> TokenCell<T> {
    /// A cell holding `value`.
    pub(crate) fn new(value: Option<T>) -> Self {
        Self {
            current: Mutex::new(value),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    /// The current value.
    pub(crate) fn get(&self) -> Option<T> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, value: T) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    }

    /// Renews the value if `stale` says so once this task holds the gate, so concurrent
    /// callers cause one renewal. Returns the value now current and whether this call
    /// renewed it. A failed renewal leaves the value as it was.
    pub(crate) async fn renew_if<E, F, Fut>(
        &self,
        stale: impl Fn(Option<&T>) -> bool,
        renew: F,
    ) -> Result<(T, bool), E>
    where
        F: FnOnce(Option<T>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let _gate = self.gate.lock().await;
        let current = self.get();
        if let Some(current) = current.as_ref().filter(|c| !stale(Some(c))) {
            return Ok((current.clone(), false));
        }
        let renewed = renew(current).await?;
        self.set(renewed.clone());
        Ok((renewed, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_renewals_happen_once() {
        let cell = Arc::new(TokenCell::new(Some(0u32)));
        let renewals = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cell, renewals) = (cell.clone(), renewals.clone());
            tasks.push(tokio::spawn(async move {
                // Every task saw generation 0 and wants it replaced.
                cell.renew_if(
                    |v| v == Some(&0),
                    |v| async move {
                        renewals.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok::<_, ()>(v.unwrap_or_default() + 1)
                    },
                )
                .await
                .map(|(v, _)| v)
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(1));
        }
        assert_eq!(renewals.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failed_renewals_keep_the_old_value() {
        let cell = TokenCell::new(Some(7u32));
        let r = cell
            .renew_if(|_| true, |_| async { Err::<u32, _>("down") })
            .await;
        assert_eq!(r, Err("down"));
        assert_eq!(cell.get(), Some(7));
        let (v, renewed) = cell
            .renew_if(|_| true, |_| async { Ok::<_, ()>(8) })
            .await
            .unwrap();
        assert_eq!((v, renewed), (8, true));
        let (v, renewed) = cell
            .renew_if(|_| false, |_| async { Ok::<_, ()>(9) })
            .await
            .unwrap();
        assert_eq!((v, renewed), (8, false));
    }
}
