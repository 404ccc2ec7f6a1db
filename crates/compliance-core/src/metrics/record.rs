//! The emitting side: what the transport, the token cache, the webhook pipeline and the
//! stores call. With the `metrics` feature off every type here is zero-sized and every
//! function an empty `#[inline]` one: the calls compile to nothing.

#[cfg(feature = "metrics")]
use std::time::Duration;

#[cfg(feature = "metrics")]
use super::{label, name};

/// Elapsed time since it was started (nothing at all with the feature off).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch {
    #[cfg(feature = "metrics")]
    started: quanta::Instant,
}

impl Stopwatch {
    /// Starts it.
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: quanta::Instant::now(),
        }
    }

    #[cfg(feature = "metrics")]
    fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// What went wrong, as the bounded `error.type` label says it.
#[cfg(feature = "transport")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    /// An answer of 400 or above: its status code.
    Status(u16),
    /// The attempt timed out (connect or attempt timeout).
    Timeout,
    /// The call's deadline ran out.
    Deadline,
    /// No connection could be made.
    Connect,
    /// Another transport failure.
    Transport,
    /// The answer's body was over the cap.
    BodyTooLarge,
    /// The identity could not be resolved or the request signed.
    Auth,
    /// A configuration or other local failure.
    Other,
}

#[cfg(feature = "transport")]
impl ErrorType {
    /// The type of a failed attempt.
    #[cfg(feature = "transport")]
    pub(crate) fn of(error: &crate::Error) -> Self {
        use crate::{Error, TimeoutKind};
        match error {
            Error::Timeout {
                kind: TimeoutKind::Deadline,
                ..
            } => ErrorType::Deadline,
            Error::Timeout { .. } => ErrorType::Timeout,
            Error::Transport(e) if e.is_connect() => ErrorType::Connect,
            Error::Transport(_) => ErrorType::Transport,
            Error::BodyTooLarge { .. } => ErrorType::BodyTooLarge,
            _ => ErrorType::Other,
        }
    }

    /// The type of an answer: its status when 400 or above.
    #[cfg(feature = "transport")]
    pub(crate) fn of_status(status: u16) -> Option<Self> {
        (status >= 400).then_some(ErrorType::Status(status))
    }

    /// The label's value as text (the span's `error.type`).
    pub(crate) fn as_str(self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            ErrorType::Status(code) => return std::borrow::Cow::Owned(code.to_string()),
            ErrorType::Timeout => "timeout",
            ErrorType::Deadline => "deadline",
            ErrorType::Connect => "connect",
            ErrorType::Transport => "transport",
            ErrorType::BodyTooLarge => "body_too_large",
            ErrorType::Auth => "auth",
            ErrorType::Other => "_OTHER",
        })
    }

    #[cfg(feature = "metrics")]
    fn label(self) -> ::metrics::SharedString {
        ::metrics::SharedString::const_str(match self {
            ErrorType::Status(code) => return status_label(code),
            ErrorType::Timeout => "timeout",
            ErrorType::Deadline => "deadline",
            ErrorType::Connect => "connect",
            ErrorType::Transport => "transport",
            ErrorType::BodyTooLarge => "body_too_large",
            ErrorType::Auth => "auth",
            ErrorType::Other => "_OTHER",
        })
    }
}

/// A status code as a label value, without allocating for the common ones.
#[cfg(all(feature = "metrics", feature = "transport"))]
fn status_label(code: u16) -> ::metrics::SharedString {
    ::metrics::SharedString::const_str(match code {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        408 => "408",
        409 => "409",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        other => return ::metrics::SharedString::from_owned(other.to_string()),
    })
}

/// OpenTelemetry's `http.request.method` value: the method, or `_OTHER`.
#[cfg(all(feature = "metrics", feature = "transport"))]
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}

/// One client call's metrics: per attempt, retries, and the call itself when it ends.
#[cfg(feature = "transport")]
#[derive(Debug)]
pub(crate) struct CallMetrics {
    #[cfg(feature = "metrics")]
    provider: &'static str,
    #[cfg(feature = "metrics")]
    operation: &'static str,
    #[cfg(feature = "metrics")]
    method: &'static str,
    #[cfg(feature = "metrics")]
    server: ::metrics::SharedString,
    #[cfg(feature = "metrics")]
    started: Stopwatch,
    #[cfg(feature = "metrics")]
    attempts: u32,
    /// The last attempt's error type (for the span too, so kept with the feature off).
    last_error: Option<ErrorType>,
}

#[cfg(feature = "transport")]
impl CallMetrics {
    /// A call of `operation` to `provider` at `server` starts.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn start(
        provider: &'static str,
        operation: &'static str,
        method: &http::Method,
        server: &std::sync::Arc<str>,
    ) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            provider,
            #[cfg(feature = "metrics")]
            operation,
            #[cfg(feature = "metrics")]
            method: method_label(method),
            #[cfg(feature = "metrics")]
            server: ::metrics::SharedString::from_shared(server.clone()),
            #[cfg(feature = "metrics")]
            started: Stopwatch::start(),
            #[cfg(feature = "metrics")]
            attempts: 0,
            last_error: None,
        }
    }

    /// The last attempt's error type, if it failed or was answered 400 or above.
    pub(crate) fn last_error(&self) -> Option<ErrorType> {
        self.last_error
    }

    /// An attempt ended after `took`: answered with `status`, or failed with `error`.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn attempt(
        &mut self,
        took: Stopwatch,
        status: Option<u16>,
        error: Option<ErrorType>,
    ) {
        self.last_error = error;
        #[cfg(feature = "metrics")]
        {
            self.attempts += 1;
            let mut labels = Vec::with_capacity(6);
            labels.push(::metrics::Label::from_static_parts(
                label::PROVIDER,
                self.provider,
            ));
            labels.push(::metrics::Label::from_static_parts(
                label::OPERATION,
                self.operation,
            ));
            labels.push(::metrics::Label::from_static_parts(
                label::METHOD,
                self.method,
            ));
            labels.push(::metrics::Label::new(
                label::SERVER_ADDRESS,
                self.server.clone(),
            ));
            if let Some(status) = status {
                labels.push(::metrics::Label::new(
                    label::STATUS_CODE,
                    status_label(status),
                ));
            }
            if let Some(error) = error {
                labels.push(::metrics::Label::new(label::ERROR_TYPE, error.label()));
            }
            ::metrics::histogram!(name::HTTP_CLIENT_REQUEST_DURATION, labels)
                .record(took.seconds());
            if status == Some(429) {
                ::metrics::counter!(
                    name::CLIENT_RATE_LIMITED,
                    label::PROVIDER => self.provider,
                    label::OPERATION => self.operation,
                )
                .increment(1);
            }
        }
    }

    /// The call tries again for `reason` (`transient_answer`, `transient_failure`,
    /// `expired_credentials`), after `retry_after` when the provider asked for that wait.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn retry(&self, reason: &'static str, retry_after: Option<std::time::Duration>) {
        #[cfg(feature = "metrics")]
        {
            ::metrics::counter!(
                name::CLIENT_RETRIES,
                label::PROVIDER => self.provider,
                label::OPERATION => self.operation,
                label::RETRY_REASON => reason,
            )
            .increment(1);
            if let Some(wait) = retry_after {
                ::metrics::histogram!(
                    name::CLIENT_RETRY_AFTER_WAIT,
                    label::PROVIDER => self.provider,
                    label::OPERATION => self.operation,
                )
                .record(wait.as_secs_f64());
            }
        }
    }

    /// The call returns, failed with `error` (an answer of 400 or above included).
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn finish(self, error: Option<ErrorType>) {
        #[cfg(feature = "metrics")]
        {
            let seconds = self.started.seconds();
            match error {
                Some(error) => ::metrics::histogram!(
                    name::CLIENT_CALL_DURATION,
                    label::PROVIDER => self.provider,
                    label::OPERATION => self.operation,
                    label::ERROR_TYPE => error.label(),
                )
                .record(seconds),
                None => ::metrics::histogram!(
                    name::CLIENT_CALL_DURATION,
                    label::PROVIDER => self.provider,
                    label::OPERATION => self.operation,
                )
                .record(seconds),
            }
            ::metrics::histogram!(
                name::CLIENT_CALL_ATTEMPTS,
                label::PROVIDER => self.provider,
                label::OPERATION => self.operation,
            )
            .record(f64::from(self.attempts));
            if error == Some(ErrorType::Deadline) {
                ::metrics::counter!(
                    name::CLIENT_DEADLINE_EXCEEDED,
                    label::PROVIDER => self.provider,
                    label::OPERATION => self.operation,
                )
                .increment(1);
            }
        }
    }
}

/// A credential renewal of `provider` started at `started` ended, `ok` or not.
#[cfg(feature = "transport")]
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn auth_renewal(provider: &'static str, ok: bool, started: Stopwatch) {
    #[cfg(feature = "metrics")]
    {
        let outcome = if ok { "ok" } else { "error" };
        ::metrics::counter!(
            name::AUTH_RENEWALS,
            label::PROVIDER => provider,
            label::OUTCOME => outcome,
        )
        .increment(1);
        ::metrics::histogram!(
            name::AUTH_RENEWAL_DURATION,
            label::PROVIDER => provider,
            label::OUTCOME => outcome,
        )
        .record(started.seconds());
    }
}

/// The rows of the outcome → status table a delivery can be answered by.
#[cfg(feature = "metrics")]
const DELIVERY_OUTCOMES: [&str; 16] = [
    "processed",
    "duplicate",
    "in_progress",
    "superseded",
    "ignored",
    "queued",
    "queue_unavailable",
    "unauthenticated",
    "invalid_event",
    "body_too_large",
    "unreadable_body",
    "body_read_timeout",
    "processing_failed",
    "inbox_unavailable",
    "lease_lost",
    "final_state_unrecorded",
];

/// Why a delivery can be refused before the handler.
#[cfg(feature = "metrics")]
const REFUSAL_REASONS: [&str; 5] = [
    "unauthenticated",
    "invalid_event",
    "body_too_large",
    "unreadable_body",
    "body_read_timeout",
];

/// How a handler run can end.
#[cfg(feature = "metrics")]
const HANDLER_OUTCOMES: [&str; 4] = ["ok", "error", "panic", "lease_lost"];

/// One processor's webhook metrics: its handles, registered once when the processor is
/// built (so with the recorder installed then), every label set known in advance. An
/// emission is then an atomic operation or two, no registry lookup: the processor's
/// per-delivery cost stays within its bench row's bound (`webhook_process_metrics`).
#[derive(Clone)]
pub(crate) struct WebhookMetrics {
    #[cfg(feature = "metrics")]
    handles: std::sync::Arc<WebhookHandles>,
}

#[cfg(feature = "metrics")]
struct WebhookHandles {
    deliveries: Vec<::metrics::Counter>,
    refusals: Vec<::metrics::Counter>,
    handler: Vec<::metrics::Histogram>,
    failures: [::metrics::Counter; 2],
    claims_lost: ::metrics::Counter,
}

impl std::fmt::Debug for WebhookMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookMetrics")
    }
}

impl WebhookMetrics {
    /// The handles of `provider`'s webhook metrics, from the recorder installed now.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(provider: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        {
            let counter = |metric: &'static str, key: &'static str, value: &'static str| ::metrics::counter!(metric, label::PROVIDER => provider, key => value);
            let handles = WebhookHandles {
                deliveries: DELIVERY_OUTCOMES
                    .iter()
                    .map(|o| counter(name::WEBHOOK_DELIVERIES, label::OUTCOME, o))
                    .collect(),
                refusals: REFUSAL_REASONS
                    .iter()
                    .map(|r| counter(name::WEBHOOK_REFUSALS, label::REASON, r))
                    .collect(),
                handler: HANDLER_OUTCOMES
                    .iter()
                    .map(|o| {
                        ::metrics::histogram!(
                            name::WEBHOOK_HANDLER_DURATION,
                            label::PROVIDER => provider,
                            label::OUTCOME => *o,
                        )
                    })
                    .collect(),
                failures: [
                    counter(name::WEBHOOK_HANDLER_FAILURES, label::OUTCOME, "error"),
                    counter(name::WEBHOOK_HANDLER_FAILURES, label::OUTCOME, "panic"),
                ],
                claims_lost: ::metrics::counter!(
                    name::WEBHOOK_CLAIMS_LOST,
                    label::PROVIDER => provider,
                ),
            };
            Self {
                handles: std::sync::Arc::new(handles),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Self {}
    }

    /// A delivery was answered by the row `outcome` of the outcome → status table.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn delivery(&self, outcome: &'static str) {
        #[cfg(feature = "metrics")]
        if let Some(i) = DELIVERY_OUTCOMES.iter().position(|o| *o == outcome) {
            self.handles.deliveries[i].increment(1);
        }
    }

    /// A delivery was refused before the handler for `reason`: counted as a refusal and as
    /// a delivery answered by that row.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn refusal(&self, reason: &'static str) {
        #[cfg(feature = "metrics")]
        if let Some(i) = REFUSAL_REASONS.iter().position(|r| *r == reason) {
            self.handles.refusals[i].increment(1);
            self.delivery(reason);
        }
    }

    /// A handler run started at `started` ended: `ok`, `error`, `panic` or `lease_lost`.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn handler(&self, outcome: &'static str, started: Stopwatch) {
        #[cfg(feature = "metrics")]
        {
            let Some(i) = HANDLER_OUTCOMES.iter().position(|o| *o == outcome) else {
                return;
            };
            self.handles.handler[i].record(started.seconds());
            match i {
                1 | 2 => self.handles.failures[i - 1].increment(1),
                3 => self.handles.claims_lost.increment(1),
                _ => {}
            }
        }
    }
}

/// Records one inbox or queue operation of a store (feature `metrics`): `backend`
/// (`sqlite`, `postgres`), `operation` (`claim`, `renew`, `complete`, `release`, `purge`,
/// `enqueue`, `take`, ...), whether it succeeded and how long it took.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn record_store_operation(
    backend: &'static str,
    operation: &'static str,
    ok: bool,
    took: Duration,
) {
    ::metrics::histogram!(
        name::STORE_OPERATION_DURATION,
        label::BACKEND => backend,
        label::OPERATION => operation,
        label::OUTCOME => if ok { "ok" } else { "error" },
    )
    .record(took.as_secs_f64());
}

/// Counts one dead delivery of `backend` put back in the queue by a replay (feature
/// `metrics`): the durable queues call it when [`Queue::replay`] succeeds.
///
/// [`Queue::replay`]: crate::webhook::Queue::replay
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn record_replayed(backend: &'static str) {
    ::metrics::counter!(name::QUEUE_REPLAYED, label::BACKEND => backend).increment(1);
}

/// [`record_replayed`], compiled out with the feature off.
#[inline]
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn replayed(backend: &'static str) {
    #[cfg(feature = "metrics")]
    record_replayed(backend);
}

/// A worker's queue metrics: the gauges it sets from each measurement of its queue and the
/// dead letters it counts, handles registered once when the worker is built, labelled with
/// the provider whose queue it serves (one queue per provider).
#[cfg(feature = "tokio")]
#[derive(Clone)]
pub(crate) struct QueueMetrics {
    #[cfg(feature = "metrics")]
    handles: std::sync::Arc<QueueHandles>,
}

#[cfg(all(feature = "tokio", feature = "metrics"))]
struct QueueHandles {
    queued: ::metrics::Gauge,
    retrying: ::metrics::Gauge,
    dead: ::metrics::Gauge,
    oldest_queued_age: ::metrics::Gauge,
    dead_lettered: ::metrics::Counter,
}

#[cfg(feature = "tokio")]
impl std::fmt::Debug for QueueMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueueMetrics")
    }
}

#[cfg(feature = "tokio")]
impl QueueMetrics {
    /// Whether measuring the queue is worth a read: only with the feature on.
    pub(crate) const MEASURED: bool = cfg!(feature = "metrics");

    /// The handles of `provider`'s queue metrics, from the recorder installed now.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(provider: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        {
            let state = |state: &'static str| {
                ::metrics::gauge!(
                    name::QUEUE_DELIVERIES,
                    label::PROVIDER => provider,
                    label::STATE => state,
                )
            };
            let handles = QueueHandles {
                queued: state("queued"),
                retrying: state("retrying"),
                dead: state("dead"),
                oldest_queued_age: ::metrics::gauge!(
                    name::QUEUE_OLDEST_QUEUED_AGE,
                    label::PROVIDER => provider,
                ),
                dead_lettered: ::metrics::counter!(
                    name::QUEUE_DEAD_LETTERED,
                    label::PROVIDER => provider,
                ),
            };
            Self {
                handles: std::sync::Arc::new(handles),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Self {}
    }

    /// Sets the gauges to a measurement of the queue: its `queued`, `retrying` and `dead`
    /// rows, and the age of the oldest queued one (`None`: nothing queued). Plain numbers,
    /// so that this leaf module never imports the webhook module that records into it.
    #[inline]
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn depth(
        &self,
        queued: u64,
        retrying: u64,
        dead: u64,
        oldest_queued_age: Option<std::time::Duration>,
    ) {
        #[cfg(feature = "metrics")]
        {
            let h = &self.handles;
            h.queued.set(queued as f64);
            h.retrying.set(retrying as f64);
            h.dead.set(dead as f64);
            h.oldest_queued_age
                .set(oldest_queued_age.map_or(0.0, |age| age.as_secs_f64()));
        }
    }

    /// A delivery was moved to the dead letters.
    #[inline]
    pub(crate) fn dead_lettered(&self) {
        #[cfg(feature = "metrics")]
        self.handles.dead_lettered.increment(1);
    }
}
