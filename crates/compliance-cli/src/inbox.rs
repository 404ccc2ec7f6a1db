//! `inbox`: the durable webhook queues the receivers write (`compliance-store`'s
//! `compliance_queue`), for the operator: list, show, replay, purge.
//!
//! One queue per provider, named as the receivers name it (`heleket`, `elkyc`, `tuum`);
//! without `--provider` every command looks in all three.

use std::fmt::Write as _;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use compliance_store::{DeliveryInfo, DeliveryState, PostgresStore, Queue, SqliteStore};
use serde_json::{Value, json};

use crate::outcome::{Failure, Outcome, Output};
use crate::secrets::shown_url;
use crate::store::{Location, parse};

/// What each provider's redelivery schedule is, as the provider crates' README "Provider
/// assumptions" read it, and the retention `compliance-store` advises for its done keys.
const ADVICE: [(Provider, &str, u64); 3] = [
    (
        Provider::Heleket,
        "Heleket publishes no retry schedule (\"until a 2xx\"; the sandbox assumes hours) and \
         `POST /v1/payment/resend` sends an old invoice's webhook again at any time",
        30,
    ),
    (
        Provider::Elkyc,
        "elKYC retries a non-200 from 30 s on, doubling, 10 attempts: about 8.5 h",
        7,
    ),
    (
        Provider::Tuum,
        "Tuum publishes no retry schedule (the sandbox assumes 5 quick attempts) and \
         operators replay errored notifications later",
        90,
    ),
];

const DAY: u64 = 24 * 3600;

const PURGE_HELP: &str = "\
Retention (keep done keys longer than the provider may still deliver them; a key purged too
early makes a late redelivery look new, and it is processed again):
  elkyc    retries a non-200 for about 8.5 h (30 s, doubling, 10 attempts): keep 7 days
  heleket  publishes no schedule, and resends old invoices on request: keep 30 days
  tuum     publishes no schedule, operators replay later: keep 90 days";

/// `compliance inbox`: the durable webhook queues in a store.
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// The store the receivers write: `sqlite:PATH` (or a path ending in .db, .sqlite,
    /// .sqlite3) or `postgres://user:password@host/database`.
    #[arg(
        long,
        global = true,
        env = "COMPLIANCE_STORE",
        hide_env_values = true,
        value_name = "STORE"
    )]
    pub store: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: InboxCommand,
}

/// The `inbox` commands.
#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// List deliveries, oldest first, without their bodies.
    List(InboxListArgs),
    /// One delivery: metadata, attempts, last error; its stored body only with --body.
    Show(InboxShowArgs),
    /// Queue deliveries again (dead, done, ignored...): each runs once more.
    Replay(InboxReplayArgs),
    /// Delete settled deliveries older than an age (done and ignored unless --state says
    /// otherwise), and print each provider's retention advice.
    #[command(after_help = PURGE_HELP)]
    Purge(InboxPurgeArgs),
}

/// `inbox list`.
#[derive(Debug, Args)]
pub struct InboxListArgs {
    /// Only deliveries in this state.
    #[arg(long, value_enum)]
    pub state: Option<StateArg>,
    /// Only this provider's queue.
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
    /// At most this many per provider.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// `inbox show`.
#[derive(Debug, Args)]
pub struct InboxShowArgs {
    /// The delivery's deduplication key.
    pub key: String,
    /// Look only in this provider's queue.
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
    /// Print the stored body and headers (as received: elKYC's envelope still encrypted).
    #[arg(long)]
    pub body: bool,
}

/// `inbox replay`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["keys", "dead"])))]
pub struct InboxReplayArgs {
    /// The deduplication keys to queue again.
    pub keys: Vec<String>,
    /// Every dead delivery (of --provider, or of all).
    #[arg(long)]
    pub dead: bool,
    /// Look only in this provider's queue.
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
}

/// `inbox purge`.
#[derive(Debug, Args)]
pub struct InboxPurgeArgs {
    /// Delete rows last changed longer ago than this: 30d, 12h, 90m, 45s, 2w.
    #[arg(long, value_name = "AGE")]
    pub older_than: String,
    /// The states to delete (repeat the option); done and ignored when not given. Queued,
    /// retrying and dead rows are deleted only when named here.
    #[arg(long, value_enum)]
    pub state: Vec<StateArg>,
    /// Only this provider's queue.
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
}

/// A provider whose receivers have a queue, named as the receivers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    /// Heleket (`heleket-aml`).
    Heleket,
    /// elKYC / Allpass (`kyc-public-api`).
    Elkyc,
    /// Tuum (`aml-events`).
    Tuum,
}

impl Provider {
    const ALL: [Provider; 3] = [Provider::Heleket, Provider::Elkyc, Provider::Tuum];

    /// The queue's name.
    fn name(self) -> &'static str {
        match self {
            Provider::Heleket => heleket_aml::PROVIDER,
            Provider::Elkyc => kyc_public_api::PROVIDER,
            Provider::Tuum => "tuum",
        }
    }
}

/// Runs an `inbox` command.
pub async fn run(args: &InboxArgs, out: &Output) -> Result<Outcome, Failure> {
    let Some(text) = args.store.as_deref() else {
        return Err(Failure::usage(
            "no store: give --store sqlite:PATH|postgres://... or set $COMPLIANCE_STORE",
        ));
    };
    let store = Store::open(text).await?;
    out.note(format!("store {}", store.shown));
    match &args.command {
        InboxCommand::List(a) => list(&store, a).await,
        InboxCommand::Show(a) => show(&store, a).await,
        InboxCommand::Replay(a) => replay(&store, a).await,
        InboxCommand::Purge(a) => purge(&store, a).await,
    }
}

/// An opened store, and how it may be shown (a password in a URL redacted).
struct Store {
    backend: Backend,
    shown: String,
}

enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Store {
    async fn open(text: &str) -> Result<Self, Failure> {
        match parse(text)? {
            Location::Sqlite(path) => {
                if !path.is_file() {
                    return Err(Failure::config(format!(
                        "no store at {}: give the SQLite file your receivers write",
                        path.display()
                    )));
                }
                let store = SqliteStore::open(path).await.map_err(|e| {
                    Failure::config(format!("cannot open the store {}: {e}", path.display()))
                })?;
                Ok(Self {
                    backend: Backend::Sqlite(store),
                    shown: format!("sqlite:{}", path.display()),
                })
            }
            Location::Postgres(url) => {
                let shown = shown_url(url);
                let store = PostgresStore::connect(url).await.map_err(|e| {
                    Failure::new(
                        crate::outcome::Code::Provider,
                        "storage",
                        format!("cannot connect to {shown}: {e}"),
                    )
                })?;
                Ok(Self {
                    backend: Backend::Postgres(store),
                    shown,
                })
            }
        }
    }

    fn queue(&self, provider: Provider) -> Box<dyn Queue> {
        match &self.backend {
            Backend::Sqlite(s) => Box::new(s.queue(provider.name())),
            Backend::Postgres(s) => Box::new(s.queue(provider.name())),
        }
    }

    /// The queues a command looks in: the one named, or every provider's.
    fn queues(&self, provider: Option<Provider>) -> Vec<(Provider, Box<dyn Queue>)> {
        let providers = match provider {
            Some(p) => vec![p],
            None => Provider::ALL.to_vec(),
        };
        providers.into_iter().map(|p| (p, self.queue(p))).collect()
    }

    /// The delivery `key` and its provider, wherever it is.
    async fn find(
        &self,
        key: &str,
        provider: Option<Provider>,
    ) -> Result<Option<(Provider, Box<dyn Queue>, DeliveryInfo)>, Failure> {
        for (p, queue) in self.queues(provider) {
            if let Some(info) = queue.get(key).await.map_err(storage)? {
                return Ok(Some((p, queue, info)));
            }
        }
        Ok(None)
    }
}

fn storage(e: impl std::fmt::Display) -> Failure {
    Failure::new(
        crate::outcome::Code::Provider,
        "storage",
        format!("the store failed: {e}"),
    )
}

fn not_found(key: &str, provider: Option<Provider>) -> Failure {
    let where_ = provider.map_or("any provider's queue".to_owned(), |p| {
        format!("the {} queue", p.name())
    });
    Failure::new(
        crate::outcome::Code::Refused,
        "not_found",
        format!("no delivery `{key}` in {where_}"),
    )
    .with("key", key)
}

fn info_json(provider: Provider, info: &DeliveryInfo) -> Value {
    json!({
        "provider": provider.name(),
        "key": info.key,
        "state": info.state.as_str(),
        "sequence": info.sequence,
        "received_at": info.received_at.to_string(),
        "updated_at": info.updated_at.to_string(),
        "attempts": info.attempts,
        "replays": info.replays,
        "last_error": info.last_error,
    })
}

async fn list(store: &Store, args: &InboxListArgs) -> Result<Outcome, Failure> {
    let state = args.state.map(StateArg::state);
    let mut rows = Vec::new();
    for (p, queue) in store.queues(args.provider) {
        for info in queue.list(state, args.limit).await.map_err(storage)? {
            rows.push((p, info));
        }
    }
    rows.sort_by_key(|(_, info)| info.received_at);
    let mut text = String::new();
    if rows.is_empty() {
        let _ = writeln!(
            text,
            "no deliveries{}",
            args.state
                .map_or(String::new(), |s| format!(" in state {}", s.state()))
        );
    }
    for (p, info) in &rows {
        let _ = write!(
            text,
            "{:<8} {:<8} {}  attempts {}  received {}",
            p.name(),
            info.state.as_str(),
            info.key,
            info.attempts,
            info.received_at
        );
        if let Some(error) = &info.last_error {
            let _ = write!(text, "  last error: {error}");
        }
        text.push('\n');
    }
    let json = json!({
        "store": store.shown,
        "deliveries": rows.iter().map(|(p, i)| info_json(*p, i)).collect::<Vec<_>>(),
    });
    Ok(Outcome::ok(json, text))
}

async fn show(store: &Store, args: &InboxShowArgs) -> Result<Outcome, Failure> {
    let Some((p, _, info)) = store.find(&args.key, args.provider).await? else {
        return Err(not_found(&args.key, args.provider));
    };
    let mut json = info_json(p, &info);
    let mut text = format!("{}\n", info.key);
    let _ = writeln!(text, "  provider     {}", p.name());
    let _ = writeln!(text, "  state        {}", info.state);
    if let Some(sequence) = &info.sequence {
        let _ = writeln!(text, "  sequence     {sequence}");
    }
    let _ = writeln!(text, "  received at  {}", info.received_at);
    let _ = writeln!(text, "  updated at   {}", info.updated_at);
    let _ = writeln!(text, "  attempts     {}", info.attempts);
    let _ = writeln!(text, "  replays      {}", info.replays);
    let label = if info.state == DeliveryState::Ignored {
        "ignored as  "
    } else {
        "last error  "
    };
    let _ = writeln!(
        text,
        "  {label} {}",
        info.last_error.as_deref().unwrap_or("-")
    );
    if let Some(request) = &info.request {
        let _ = writeln!(text, "  body         {} bytes", request.body().len());
        if args.body {
            let body = String::from_utf8_lossy(request.body());
            let headers: Vec<Value> = request
                .headers()
                .iter()
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            for (name, value) in request.headers() {
                let _ = writeln!(text, "  header       {name}: {value}");
            }
            let _ = write!(text, "\n{body}");
            json["headers"] = Value::Array(headers);
            json["body"] = json!(body);
        }
    }
    Ok(Outcome::ok(json, text))
}

async fn replay(store: &Store, args: &InboxReplayArgs) -> Result<Outcome, Failure> {
    let mut replayed = Vec::new();
    let mut refused = Vec::new();
    if args.dead {
        for (p, queue) in store.queues(args.provider) {
            loop {
                let dead = queue
                    .list(Some(DeliveryState::Dead), 500)
                    .await
                    .map_err(storage)?;
                let mut any = false;
                for info in dead {
                    if queue.replay(&info.key).await.map_err(storage)? {
                        replayed
                            .push(json!({"provider": p.name(), "key": info.key, "was": "dead"}));
                        any = true;
                    }
                }
                if !any {
                    break;
                }
            }
        }
    }
    for key in &args.keys {
        match store.find(key, args.provider).await? {
            None => refused.push(json!({"key": key, "reason": "not found"})),
            Some((p, queue, info)) => {
                if queue.replay(key).await.map_err(storage)? {
                    replayed.push(
                        json!({"provider": p.name(), "key": key, "was": info.state.as_str()}),
                    );
                } else {
                    refused.push(json!({
                        "provider": p.name(),
                        "key": key,
                        "reason": "running: a worker holds it; replay it once it settles",
                    }));
                }
            }
        }
    }
    let mut text = String::new();
    for r in &replayed {
        let _ = writeln!(
            text,
            "queued again: {} ({}, was {})",
            r["key"].as_str().unwrap_or_default(),
            r["provider"].as_str().unwrap_or_default(),
            r["was"].as_str().unwrap_or_default()
        );
    }
    if args.dead && replayed.is_empty() {
        text.push_str("no dead deliveries\n");
    }
    for r in &refused {
        let _ = writeln!(
            text,
            "NOT replayed: {}: {}",
            r["key"].as_str().unwrap_or_default(),
            r["reason"].as_str().unwrap_or_default()
        );
    }
    let json = json!({"replayed": replayed, "refused": refused});
    if refused.is_empty() {
        Ok(Outcome::ok(json, text))
    } else {
        Ok(Outcome::refused(json, text))
    }
}

async fn purge(store: &Store, args: &InboxPurgeArgs) -> Result<Outcome, Failure> {
    let older_than = parse_age(&args.older_than)?;
    let states: Vec<DeliveryState> = if args.state.is_empty() {
        vec![DeliveryState::Done, DeliveryState::Ignored]
    } else {
        args.state.iter().map(|s| s.state()).collect()
    };
    if states.contains(&DeliveryState::Running) {
        return Err(Failure::usage(
            "purge never deletes running deliveries: a worker holds them (a worker that died \
             loses its lease and the delivery is taken over)",
        ));
    }
    let mut text = String::new();
    let mut advice = Vec::new();
    let mut purged = Vec::new();
    for (p, queue) in store.queues(args.provider) {
        let n = queue.purge(older_than, &states).await.map_err(storage)?;
        purged.push(json!({"provider": p.name(), "deleted": n}));
        let _ = writeln!(text, "{:<8} deleted {n}", p.name());
        if let Some((_, schedule, days)) = ADVICE.iter().find(|(a, _, _)| *a == p) {
            let short = older_than.as_secs() < days * DAY
                && states
                    .iter()
                    .any(|s| matches!(s, DeliveryState::Done | DeliveryState::Ignored));
            advice.push(json!({
                "provider": p.name(),
                "schedule": schedule,
                "keep_days": days,
                "shorter_than_advised": short,
            }));
            let _ = writeln!(
                text,
                "         {schedule}; keep done keys at least {days} days{}",
                if short {
                    " (WARNING: --older-than is shorter: a late redelivery of a purged key \
                     looks new and is processed again)"
                } else {
                    ""
                }
            );
        }
    }
    let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    let _ = writeln!(
        text,
        "purged states: {} (queued, retrying and dead rows are kept unless named with --state)",
        names.join(", ")
    );
    let json = json!({
        "older_than_secs": older_than.as_secs(),
        "states": names,
        "purged": purged,
        "advice": advice,
    });
    Ok(Outcome::ok(json, text))
}

/// `30d`, `12h`, `90m`, `45s`, `2w`.
fn parse_age(text: &str) -> Result<Duration, Failure> {
    let bad = || {
        Failure::usage(format!(
            "--older-than `{text}` is not an age: a number and a unit, s, m, h, d or w (30d)"
        ))
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => return Err(bad()),
    };
    number
        .checked_mul(unit)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

/// A `--state` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    /// Waiting for its first attempt.
    Queued,
    /// Taken by a worker.
    Running,
    /// Failed, waiting for its next attempt.
    Retrying,
    /// Processed.
    Done,
    /// Failed past the retry limit; replay it once fixed.
    Dead,
    /// Authentic, of a type nobody handles.
    Ignored,
}

impl StateArg {
    fn state(self) -> DeliveryState {
        match self {
            StateArg::Queued => DeliveryState::Queued,
            StateArg::Running => DeliveryState::Running,
            StateArg::Retrying => DeliveryState::Retrying,
            StateArg::Done => DeliveryState::Done,
            StateArg::Dead => DeliveryState::Dead,
            StateArg::Ignored => DeliveryState::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_have_a_unit() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * DAY));
        assert_eq!(parse_age("12h").unwrap(), Duration::from_secs(12 * 3600));
        assert_eq!(parse_age("0s").unwrap(), Duration::ZERO);
        for bad in ["", "30", "d", "3x", "-1d", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
