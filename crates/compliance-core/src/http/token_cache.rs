use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tokio::sync::watch;

use crate::error::{Error, TransportError};
use crate::metrics::{self, Stopwatch};
use crate::rt::{Runtime, TokioRuntime};

type Hook<T> = Arc<dyn Fn(&T) + Send + Sync>;
type Flight<T, E> = watch::Receiver<Option<Result<T, E>>>;

/// A credential (a token, a token pair, a session) that many concurrent calls read and that
/// is renewed **once** however many of them find it stale: the identity-resolver cache of an
/// [`Auth`](super::Auth).
///
/// A renewal runs as its own task, spawned on the cache's [`Runtime`] ([`TokioRuntime`]
/// unless [set](Self::runtime)). A caller that stops waiting (its future dropped by a
/// timeout, an HTTP handler whose client went away) does not cancel it: the provider's answer
/// is always stored, and [`on_renewed`](Self::on_renewed) always called, whoever is still
/// waiting. That matters for rotating refresh tokens: an answer thrown away would leave only
/// the spent refresh token behind.
///
/// Cheap to clone; clones share the credential. Renewing needs a runtime that can spawn:
/// without one (no Tokio runtime running), a renewal fails with a configuration error.
///
/// ```
/// use compliance_core::http::TokenCache;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let cache: TokenCache<String, compliance_core::Error> = TokenCache::new();
/// let token = cache
///     .resolve(|t| !t.is_empty(), |_old| async { Ok("token-1".to_owned()) })
///     .await
///     .unwrap();
/// assert_eq!(token, "token-1");
/// // Fresh now: no renewal, the closure is not called.
/// let again = cache.resolve(|t| !t.is_empty(), |_| async { unreachable!() }).await;
/// assert_eq!(again.unwrap(), "token-1");
/// # }
/// ```
pub struct TokenCache<T, E> {
    inner: Arc<Inner<T, E>>,
}

struct Inner<T, E> {
    state: Mutex<State<T, E>>,
    hook: RwLock<Option<Hook<T>>>,
    /// Where renewals run.
    runtime: RwLock<Arc<dyn Runtime>>,
    /// Whose credential it is: the `compliance.provider` label of the renewal metrics.
    provider: RwLock<&'static str>,
}

struct State<T, E> {
    value: Option<T>,
    /// False once [`TokenCache::invalidate_if`] marked the value stale.
    valid: bool,
    /// The renewal in progress, if any.
    flight: Option<Flight<T, E>>,
}

impl<T, E> Clone for TokenCache<T, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T, E> fmt::Debug for TokenCache<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.inner.state);
        f.debug_struct("TokenCache")
            .field("has_value", &state.value.is_some())
            .field("valid", &state.valid)
            .field("renewing", &state.flight.is_some())
            .finish()
    }
}

impl<T, E> Default for TokenCache<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + From<Error> + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T, E> TokenCache<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + From<Error> + 'static,
{
    /// An empty cache: the first [`resolve`](Self::resolve) renews.
    pub fn new() -> Self {
        Self::from_value(None)
    }

    /// A cache holding `value` (a stored session, for instance).
    pub fn with_value(value: T) -> Self {
        Self::from_value(Some(value))
    }

    fn from_value(value: Option<T>) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    value,
                    valid: true,
                    flight: None,
                }),
                hook: RwLock::new(None),
                runtime: RwLock::new(Arc::new(TokioRuntime)),
                provider: RwLock::new("unknown"),
            }),
        }
    }

    /// Spawns the renewals of this cache (and of its clones) on `runtime` instead of
    /// [`TokioRuntime`]: a client passes its [`Transport::runtime`](super::Transport::runtime).
    pub fn runtime(self, runtime: Arc<dyn Runtime>) -> Self {
        *self
            .inner
            .runtime
            .write()
            .unwrap_or_else(PoisonError::into_inner) = runtime;
        self
    }

    /// Names the provider whose credential this is (`btcdirect`), for the
    /// `compliance.provider` label of the renewal metrics. Default `unknown`.
    pub fn provider(self, provider: &'static str) -> Self {
        *self
            .inner
            .provider
            .write()
            .unwrap_or_else(PoisonError::into_inner) = provider;
        self
    }

    /// The current value, fresh or not.
    pub fn get(&self) -> Option<T> {
        lock(&self.inner.state).value.clone()
    }

    /// Calls `hook` with every renewed value (to persist it), in renewal order: a renewal's
    /// hook returns before the next renewal starts. Replaces an earlier hook.
    pub fn on_renewed(&self, hook: impl Fn(&T) + Send + Sync + 'static) {
        *self
            .inner
            .hook
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
    }

    /// Marks the value stale if `is_it` says it is the one a refused request was signed with
    /// (another call may have renewed it already: then nothing changes). Returns whether it
    /// marked it.
    pub fn invalidate_if(&self, is_it: impl FnOnce(&T) -> bool) -> bool {
        let mut state = lock(&self.inner.state);
        let hit = state.valid && state.value.as_ref().is_some_and(is_it);
        if hit {
            state.valid = false;
        }
        hit
    }

    /// The value, when there is one, it is valid and `fresh` says so; otherwise the result
    /// of one renewal shared by every caller that asks meanwhile. `renew` gets the current
    /// value (a refresh token to present) and is called only when this caller starts the
    /// renewal. A failed renewal leaves the old value in place and its error goes to every
    /// waiter.
    pub async fn resolve<R, Fut>(&self, fresh: impl Fn(&T) -> bool, renew: R) -> Result<T, E>
    where
        R: FnOnce(Option<T>) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let mut renew = Some(renew);
        // A renewal task that ends without an answer (the runtime shutting down) is retried
        // once, then reported.
        for _ in 0..2 {
            let (mut flight, start) = {
                let mut state = lock(&self.inner.state);
                if let Some(value) = state.value.as_ref().filter(|v| state.valid && fresh(v)) {
                    return Ok(value.clone());
                }
                match &state.flight {
                    Some(flight) => (flight.clone(), None),
                    None => {
                        let (tx, rx) = watch::channel(None);
                        state.flight = Some(rx.clone());
                        (rx, Some((tx, state.value.clone())))
                    }
                }
            };
            if let Some((tx, current)) = start {
                let work = match renew.take() {
                    Some(renew) => renew(current),
                    None => {
                        lock(&self.inner.state).flight = None;
                        break;
                    }
                };
                // Made before the task: a task the runtime drops unpolled still clears the
                // flight, so the next call starts a renewal of its own.
                let landing = Landing(self.inner.clone());
                let runtime = self
                    .inner
                    .runtime
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let provider = *self
                    .inner
                    .provider
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                let started = Stopwatch::start();
                let spawned = runtime.spawn(Box::pin(async move {
                    let result = work.await;
                    metrics::auth_renewal(provider, result.is_ok(), started);
                    landing.store(&result);
                    drop(landing);
                    let _ = tx.send(Some(result));
                }));
                if !spawned {
                    return Err(E::from(Error::Config(
                        "cannot renew the credential: its runtime cannot spawn the renewal (no \
                         Tokio runtime is running; call from inside one, or give the cache a \
                         runtime that can)"
                            .into(),
                    )));
                }
            }
            if let Ok(done) = flight.wait_for(Option::is_some).await
                && let Some(result) = done.as_ref()
            {
                return result.clone();
            }
        }
        Err(E::from(Error::Transport(TransportError::new(
            "credential renewal was interrupted before it finished",
            false,
            None,
        ))))
    }
}

/// Ends a renewal: stores its value, calls the hook, and clears the flight (also when the
/// renewal task is dropped half-way).
struct Landing<T, E>(Arc<Inner<T, E>>);

impl<T: Clone, E> Landing<T, E> {
    fn store(&self, result: &Result<T, E>) {
        let Ok(value) = result else { return };
        {
            let mut state = lock(&self.0.state);
            state.value = Some(value.clone());
            state.valid = true;
        }
        let hook = self
            .0
            .hook
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(hook) = hook {
            hook(value);
        }
    }
}

impl<T, E> Drop for Landing<T, E> {
    fn drop(&mut self) {
        lock(&self.0.state).flight = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    type Cache = TokenCache<u32, Error>;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_renewal() {
        let cache = Cache::with_value(0);
        let renewals = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, renewals) = (cache.clone(), renewals.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .resolve(
                        |v| *v != 0,
                        |v| async move {
                            renewals.fetch_add(1, Ordering::SeqCst);
                            tokio::task::yield_now().await;
                            Ok(v.unwrap_or_default() + 1)
                        },
                    )
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(renewals.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_keep_the_old_value_and_reach_every_waiter() {
        let cache = Cache::with_value(7);
        let err = cache
            .resolve(|_| false, |_| async { Err(Error::Config("down".into())) })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("down"));
        assert_eq!(cache.get(), Some(7));
        assert_eq!(
            cache.resolve(|_| false, |_| async { Ok(8) }).await.unwrap(),
            8
        );
        assert_eq!(
            cache.resolve(|_| true, |_| async { Ok(9) }).await.unwrap(),
            8
        );
    }

    #[tokio::test]
    async fn invalidation_compares_with_what_was_sent() {
        let cache = Cache::with_value(1);
        assert!(
            !cache.invalidate_if(|v| *v == 0),
            "another value: untouched"
        );
        assert_eq!(
            cache.resolve(|_| true, |_| async { Ok(2) }).await.unwrap(),
            1
        );
        assert!(cache.invalidate_if(|v| *v == 1));
        assert!(!cache.invalidate_if(|v| *v == 1), "already stale");
        assert_eq!(
            cache.resolve(|_| true, |_| async { Ok(2) }).await.unwrap(),
            2
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_caller_does_not_cancel_the_renewal() {
        let cache = Cache::with_value(1);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        cache.on_renewed(move |v| sink.lock().unwrap().push(*v));
        let caller = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .resolve(
                        |_| false,
                        |_| async {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            Ok(2)
                        },
                    )
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        assert_eq!(cache.get(), Some(1));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(cache.get(), Some(2), "the renewal finished on its own");
        assert_eq!(*seen.lock().unwrap(), [2]);
    }

    #[tokio::test]
    async fn a_runtime_that_cannot_spawn_fails_the_renewal_and_blocks_no_later_one() {
        #[derive(Debug)]
        struct NoSpawn;
        impl Runtime for NoSpawn {
            fn sleep(&self, duration: Duration) -> crate::rt::BoxFuture<()> {
                TokioRuntime.sleep(duration)
            }
            fn spawn(&self, _: crate::rt::BoxFuture<()>) -> bool {
                false
            }
        }
        let cache = Cache::with_value(1).runtime(Arc::new(NoSpawn));
        let err = cache
            .resolve(|_| false, |_| async { Ok(2) })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert_eq!(cache.get(), Some(1));
        let on_tokio = cache.clone().runtime(Arc::new(TokioRuntime));
        assert_eq!(
            on_tokio
                .resolve(|_| false, |_| async { Ok(2) })
                .await
                .unwrap(),
            2,
            "the refused renewal left no flight behind"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hooks_see_renewals_in_order() {
        let cache = Cache::with_value(0);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        cache.on_renewed(move |v| {
            // A slow hook: the next renewal must still wait for it.
            std::thread::sleep(Duration::from_millis(2));
            sink.lock().unwrap().push(*v);
        });
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let cache = cache.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .resolve(|_| false, |v| async move { Ok(v.unwrap_or_default() + 1) })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let seen = seen.lock().unwrap().clone();
        assert!(!seen.is_empty());
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }
}
