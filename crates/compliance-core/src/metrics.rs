//! The metrics every compliance crate emits, through the [`metrics`] facade.
//!
//! Nothing is recorded unless the `metrics` feature is on *and* the application installs a
//! recorder (an exporter such as `metrics-exporter-prometheus`): with the feature off the
//! emitting code is not compiled at all, and with it on but no recorder each emission is a
//! no-op call. Names and units follow the OpenTelemetry semantic conventions where one exists
//! (`http.client.request.duration`, in seconds, with `http.request.method`,
//! `http.response.status_code`, `server.address` and `error.type`); the others share the
//! `compliance.` prefix.
//!
//! Labels stay bounded: a provider, an operation *name* (never an id or anything a user
//! typed), a status code, an outcome from a closed list. No label ever carries a secret, a
//! subject id or a deduplication key.
//!
//! [`CATALOGUE`] lists every metric with its type, unit, labels and when it moves; the
//! crate's README shows it as a table, and a test keeps the two equal. With the feature on,
//! `describe()` registers the catalogue's units and descriptions with the installed recorder
//! (call it once after installing one; exporters show them as `# HELP` and `# UNIT`).
//! Install the recorder before building clients and processors: a webhook processor
//! registers its handles when it is built, so that a delivery costs a few atomic operations.
//!
//! [`metrics`]: https://docs.rs/metrics

/// What kind of value a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only ever goes up (a count of events).
    Counter,
    /// A distribution of observations (durations, counts per call).
    Histogram,
    /// A value that goes up and down (a queue's length).
    Gauge,
}

impl Kind {
    /// Its name in the README's table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Gauge => "gauge",
        }
    }
}

/// One metric of the [`CATALOGUE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// Its name, as exporters show it (Prometheus replaces the dots with underscores and
    /// appends the unit).
    pub name: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Its unit, in UCUM as OpenTelemetry writes it (`s`, `{attempt}`, `{delivery}`).
    pub unit: &'static str,
    /// The labels it carries.
    pub labels: &'static [&'static str],
    /// When it moves.
    pub moves: &'static str,
}

/// The label names, one spelling for every crate.
pub mod label {
    /// The provider (`heleket`, `elkyc`, `btcdirect`, `tuum`).
    pub const PROVIDER: &str = "compliance.provider";
    /// The client operation's name (`payment_info`, `get_applicant`, ...): a fixed string
    /// per endpoint, never an id.
    pub const OPERATION: &str = "compliance.operation";
    /// OpenTelemetry's HTTP method.
    pub const METHOD: &str = "http.request.method";
    /// OpenTelemetry's HTTP status code (absent when no answer came).
    pub const STATUS_CODE: &str = "http.response.status_code";
    /// OpenTelemetry's server host name.
    pub const SERVER_ADDRESS: &str = "server.address";
    /// OpenTelemetry's error type: a short fixed name of what went wrong (`timeout`,
    /// `connect`, `429`, ...), absent on success.
    pub const ERROR_TYPE: &str = "error.type";
    /// Why a client call tried again: `transient_answer` (408, 429, 5xx), `transient_failure`
    /// (connect error, timeout) or `expired_credentials` (a replay with renewed ones).
    pub const RETRY_REASON: &str = "compliance.retry.reason";
    /// How something ended (`ok`, `error`, or a row of the webhook outcome table).
    pub const OUTCOME: &str = "compliance.outcome";
    /// Why a webhook was refused (a `RejectionKind`'s code, or the receiver's own).
    pub const REASON: &str = "compliance.reason";
    /// The storage backend (`sqlite`, `postgres`; `memory` for the memory queue's replays).
    pub const BACKEND: &str = "compliance.backend";
    /// A queue's state (`queued`, `retrying`, `dead`).
    pub const STATE: &str = "compliance.state";
}

/// The metric names.
pub mod name {
    /// Per HTTP attempt (OpenTelemetry).
    pub const HTTP_CLIENT_REQUEST_DURATION: &str = "http.client.request.duration";
    /// Per client call, retries and waits included.
    pub const CLIENT_CALL_DURATION: &str = "compliance.client.call.duration";
    /// Attempts per client call.
    pub const CLIENT_CALL_ATTEMPTS: &str = "compliance.client.call.attempts";
    /// Retries, by reason.
    pub const CLIENT_RETRIES: &str = "compliance.client.retries";
    /// 429 answers.
    pub const CLIENT_RATE_LIMITED: &str = "compliance.client.rate_limited";
    /// Time waited because a provider said `Retry-After`.
    pub const CLIENT_RETRY_AFTER_WAIT: &str = "compliance.client.retry_after.wait";
    /// Calls whose deadline ran out.
    pub const CLIENT_DEADLINE_EXCEEDED: &str = "compliance.client.deadline_exceeded";
    /// Credential renewals (token refresh, login), by outcome.
    pub const AUTH_RENEWALS: &str = "compliance.auth.renewals";
    /// How long a renewal took.
    pub const AUTH_RENEWAL_DURATION: &str = "compliance.auth.renewal.duration";
    /// Webhook deliveries, by the outcome → status table's row.
    pub const WEBHOOK_DELIVERIES: &str = "compliance.webhook.deliveries";
    /// Webhook deliveries refused before the handler, by reason.
    pub const WEBHOOK_REFUSALS: &str = "compliance.webhook.refusals";
    /// How long the handler ran.
    pub const WEBHOOK_HANDLER_DURATION: &str = "compliance.webhook.handler.duration";
    /// Handler failures: errors and panics.
    pub const WEBHOOK_HANDLER_FAILURES: &str = "compliance.webhook.handler.failures";
    /// Claims lost while the handler ran (renewals failed for a whole lease).
    pub const WEBHOOK_CLAIMS_LOST: &str = "compliance.webhook.claims_lost";
    /// Inbox and queue operations' latency, by backend (the SQL stores).
    pub const STORE_OPERATION_DURATION: &str = "compliance.store.operation.duration";
    /// Deliveries in a durable queue, by state (set by its worker).
    pub const QUEUE_DELIVERIES: &str = "compliance.queue.deliveries";
    /// Age of the oldest queued delivery.
    pub const QUEUE_OLDEST_QUEUED_AGE: &str = "compliance.queue.oldest_queued.age";
    /// Deliveries moved to the dead letters.
    pub const QUEUE_DEAD_LETTERED: &str = "compliance.queue.dead_lettered";
    /// Deliveries replayed.
    pub const QUEUE_REPLAYED: &str = "compliance.queue.replayed";
}

use label::*;

mod record;
pub(crate) use record::*;
#[cfg(feature = "metrics")]
pub use record::{record_replayed, record_store_operation};

/// Every metric the workspace's crates emit (with their `metrics` feature on).
pub const CATALOGUE: &[Metric] = &[
    Metric {
        name: name::HTTP_CLIENT_REQUEST_DURATION,
        kind: Kind::Histogram,
        unit: "s",
        labels: &[
            PROVIDER,
            OPERATION,
            METHOD,
            STATUS_CODE,
            SERVER_ADDRESS,
            ERROR_TYPE,
        ],
        moves: "after each HTTP attempt of a client call, answered or not",
    },
    Metric {
        name: name::CLIENT_CALL_DURATION,
        kind: Kind::Histogram,
        unit: "s",
        labels: &[PROVIDER, OPERATION, ERROR_TYPE],
        moves: "once per client call, when it returns (retries, back-off and renewals included)",
    },
    Metric {
        name: name::CLIENT_CALL_ATTEMPTS,
        kind: Kind::Histogram,
        unit: "{attempt}",
        labels: &[PROVIDER, OPERATION],
        moves: "once per client call, with how many attempts it made",
    },
    Metric {
        name: name::CLIENT_RETRIES,
        kind: Kind::Counter,
        unit: "{retry}",
        labels: &[PROVIDER, OPERATION, RETRY_REASON],
        moves: "each time a call decides to try again",
    },
    Metric {
        name: name::CLIENT_RATE_LIMITED,
        kind: Kind::Counter,
        unit: "{response}",
        labels: &[PROVIDER, OPERATION],
        moves: "each 429 answer",
    },
    Metric {
        name: name::CLIENT_RETRY_AFTER_WAIT,
        kind: Kind::Histogram,
        unit: "s",
        labels: &[PROVIDER, OPERATION],
        moves: "each back-off that follows a provider's `Retry-After`",
    },
    Metric {
        name: name::CLIENT_DEADLINE_EXCEEDED,
        kind: Kind::Counter,
        unit: "{call}",
        labels: &[PROVIDER, OPERATION],
        moves: "each call that fails because its deadline ran out",
    },
    Metric {
        name: name::AUTH_RENEWALS,
        kind: Kind::Counter,
        unit: "{renewal}",
        labels: &[PROVIDER, OUTCOME],
        moves: "each credential renewal (token refresh or login), `ok` or `error`",
    },
    Metric {
        name: name::AUTH_RENEWAL_DURATION,
        kind: Kind::Histogram,
        unit: "s",
        labels: &[PROVIDER, OUTCOME],
        moves: "each credential renewal, when it ends",
    },
    Metric {
        name: name::WEBHOOK_DELIVERIES,
        kind: Kind::Counter,
        unit: "{delivery}",
        labels: &[PROVIDER, OUTCOME],
        moves: "each delivery answered, by its row of the outcome → status table (`processed`, `duplicate`, `in_progress`, `superseded`, `ignored`, `unauthenticated`, `invalid_event`, `body_too_large`, `unreadable_body`, `body_read_timeout`, `processing_failed`, `inbox_unavailable`, `lease_lost`, `final_state_unrecorded`; a durable intake's `queued`, `duplicate`, `ignored`, `queue_unavailable`); in durable mode each worker attempt counts too, by the inline rows",
    },
    Metric {
        name: name::WEBHOOK_REFUSALS,
        kind: Kind::Counter,
        unit: "{delivery}",
        labels: &[PROVIDER, REASON],
        moves: "each delivery refused before the handler: `unauthenticated`, `invalid_event` (the verifier's `RejectionKind`), or the receiver's `body_too_large`, `unreadable_body`, `body_read_timeout`",
    },
    Metric {
        name: name::WEBHOOK_HANDLER_DURATION,
        kind: Kind::Histogram,
        unit: "s",
        labels: &[PROVIDER, OUTCOME],
        moves: "each handler run, when it ends (`ok`, `error`, `panic`, `lease_lost`)",
    },
    Metric {
        name: name::WEBHOOK_HANDLER_FAILURES,
        kind: Kind::Counter,
        unit: "{run}",
        labels: &[PROVIDER, OUTCOME],
        moves: "each handler run that returned an error (`error`) or panicked (`panic`)",
    },
    Metric {
        name: name::WEBHOOK_CLAIMS_LOST,
        kind: Kind::Counter,
        unit: "{claim}",
        labels: &[PROVIDER],
        moves: "each handler stopped because its claim was taken over or no renewal of it succeeded for a whole lease",
    },
    Metric {
        name: name::STORE_OPERATION_DURATION,
        kind: Kind::Histogram,
        unit: "s",
        labels: &[BACKEND, OPERATION, OUTCOME],
        moves: "each inbox or queue operation of a SQL store (inbox: `claim`, `renew`, `complete`, `release`, `purge`; queue: `enqueue`, `take`, `renew`, `complete`, `fail`, `release`, `list`, `get`, `replay`, `purge`, `depth`)",
    },
    Metric {
        name: name::QUEUE_DELIVERIES,
        kind: Kind::Gauge,
        unit: "{delivery}",
        labels: &[PROVIDER, STATE],
        moves: "each time a worker measures its queue (every 10 s while it runs, when it stops, and after each `run_once`): the rows `queued`, `retrying`, `dead`",
    },
    Metric {
        name: name::QUEUE_OLDEST_QUEUED_AGE,
        kind: Kind::Gauge,
        unit: "s",
        labels: &[PROVIDER],
        moves: "with the queue's counts: how long the oldest `queued` delivery has waited in that state (0 when nothing is queued)",
    },
    Metric {
        name: name::QUEUE_DEAD_LETTERED,
        kind: Kind::Counter,
        unit: "{delivery}",
        labels: &[PROVIDER],
        moves: "each delivery a worker moves to the dead letters (retries exhausted, or it no longer verifies)",
    },
    Metric {
        name: name::QUEUE_REPLAYED,
        kind: Kind::Counter,
        unit: "{delivery}",
        labels: &[BACKEND],
        moves: "each delivery put back in the queue by a replay (`Queue::replay` answering `true`)",
    },
];

/// The [`CATALOGUE`] as the Markdown table the crate's README shows.
pub fn table() -> String {
    let mut out =
        String::from("| metric | type | unit | labels | moves |\n|---|---|---|---|---|\n");
    for metric in CATALOGUE {
        let labels: Vec<String> = metric.labels.iter().map(|l| format!("`{l}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} | {} |\n",
            metric.name,
            metric.kind.as_str(),
            metric.unit,
            labels.join(", "),
            metric.moves
        ));
    }
    out
}

/// Registers every metric's unit and description with the installed recorder (feature
/// `metrics`). Call it once, after installing the recorder; recording works without it, but
/// exporters then show no `# HELP` or unit.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn describe() {
    for metric in CATALOGUE {
        let unit = match metric.unit {
            "s" => Some(metrics::Unit::Seconds),
            _ => None,
        };
        let description = metrics::SharedString::const_str(metric.moves);
        match (metric.kind, unit) {
            (Kind::Counter, Some(unit)) => {
                metrics::describe_counter!(metric.name, unit, description)
            }
            (Kind::Counter, None) => metrics::describe_counter!(metric.name, description),
            (Kind::Histogram, Some(unit)) => {
                metrics::describe_histogram!(metric.name, unit, description)
            }
            (Kind::Histogram, None) => metrics::describe_histogram!(metric.name, description),
            (Kind::Gauge, Some(unit)) => metrics::describe_gauge!(metric.name, unit, description),
            (Kind::Gauge, None) => metrics::describe_gauge!(metric.name, description),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_shows_the_catalogue() {
        let readme = include_str!("../README.md");
        let table = table();
        assert!(
            readme.contains(&table),
            "the README's metrics table differs from `metrics::CATALOGUE`; paste this \
             under \"## Metrics\":\n{table}"
        );
    }

    #[test]
    fn names_and_labels_are_unique_and_conventional() {
        let mut names: Vec<_> = CATALOGUE.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len(), "a metric is listed twice");
        for metric in CATALOGUE {
            assert!(
                metric.name.starts_with("compliance.") || metric.name.starts_with("http."),
                "{} is neither OpenTelemetry's nor under `compliance.`",
                metric.name
            );
            if metric.kind == Kind::Histogram && metric.unit == "s" {
                assert!(metric.name.ends_with("duration") || metric.name.ends_with("wait"));
            }
        }
    }
}
