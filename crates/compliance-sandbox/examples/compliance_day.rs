//! A day in a compliance team, offline: every client in the workspace against the sandbox.
//!
//! Run with `cargo run -p compliance-sandbox --example compliance_day`; add `-- --fresh` to
//! forget the previous runs, `-- --metrics 127.0.0.1:9464` to serve every crate's metrics
//! as Prometheus text at `http://127.0.0.1:9464/metrics` (the day then waits for Enter
//! before it ends, so you can scrape it).
//!
//! The receivers' state (which deliveries were processed, and the applicant records) lives
//! in a SQLite file (`compliance-store`), printed at the start: run the day twice and the
//! second run recognises every delivery as already processed, as a receiver restarted in
//! production would. Set `COMPLIANCE_DAY_STATE` to choose the file.
//!
//! The walkthrough is [`run`], against a running sandbox; the workspace's secret-leak test
//! (`tests/tests/secret_leak.rs`) runs it too, with every API call going through a tap.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aml_events::auth::SharedSecretHeader;
use aml_events::{AmlEvent, EventBody};
use amld5_verify::{BtcDirectClient, UserContext};
use async_trait::async_trait;
use axum::Router;
use compliance_core::inbox::{Claim, ClaimToken, Inbox, InboxError};
use compliance_core::webhook::{
    BoxError, DeliveryState, Handler, Processor, Queue, Receiver, RetrySchedule, Worker, handler_fn,
};
use compliance_core::{
    AmlProvider, AmlState, AmlStatus, ApplicantStore, RequiredAction, SecretString, Subject,
    SubjectRef, Timestamp,
};
use compliance_sandbox::elkyc::risk_score;
use compliance_sandbox::{
    ApplicantStatus, DeliveryOptions, EncryptionMode, LinkStatus, NewPayment, Provider, Sandbox,
    SandboxConfig, TuumEvent,
};
use compliance_store::SqliteStore;
use heleket_aml::{HeleketClient, HeleketWebhook, PaymentRef};
use kyc_public_api::store as kyc_store;
use kyc_public_api::{CreateApplicant, EncryptionSettings, KycClient, TokenRequest, WebhookEvent};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves `router` on a loopback port (the merchant's and bank's webhook endpoints).
async fn serve(router: Router) -> Result<String, Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Ok(format!("http://{addr}"))
}

fn step(text: impl AsRef<str>) {
    println!("  • {}", text.as_ref());
}

/// Cuts `text` to `width` characters for a table cell.
fn cell(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

fn describe(state: &AmlState) -> String {
    match &state.status {
        AmlStatus::ActionRequired { actions } => {
            let what: Vec<String> = actions
                .iter()
                .map(|a| match a {
                    RequiredAction::OpenLink { .. } => "open the AML questionnaire link".to_owned(),
                    RequiredAction::AnswerQuestions { questions } => {
                        format!("answer {} AMLD5 questions", questions.len())
                    }
                    _ => "act in the provider's flow".to_owned(),
                })
                .collect();
            format!("action required: {}", what.join(", "))
        }
        other => other.to_string(),
    }
}

/// An inbox that counts the deliveries it recognised as already processed, to show it.
struct Counting<I> {
    inner: I,
    already_done: Arc<AtomicUsize>,
}

#[async_trait]
impl<I: Inbox> Inbox for Counting<I> {
    fn lease(&self) -> Duration {
        self.inner.lease()
    }
    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        let claim = self.inner.claim(key).await?;
        if claim == Claim::AlreadyDone {
            self.already_done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(claim)
    }
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.inner.renew(key, token).await
    }
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.inner.complete(key, token).await
    }
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.inner.release(key, token).await
    }
    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        self.inner.purge(older_than).await
    }
}

/// The walkthrough's state: the store and how many deliveries it recognised.
pub struct State {
    store: SqliteStore,
    already_done: Arc<AtomicUsize>,
}

impl State {
    /// State in `store` (a file, or memory for tests).
    pub fn new(store: SqliteStore) -> Self {
        Self {
            store,
            already_done: Arc::default(),
        }
    }

    /// How many deliveries were recognised as already processed so far.
    pub fn recognised(&self) -> usize {
        self.already_done.load(Ordering::Relaxed)
    }

    /// The inbox of one webhook source.
    fn inbox(&self, name: &str) -> Counting<compliance_store::SqliteInbox> {
        Counting {
            inner: self.store.inbox(name),
            already_done: self.already_done.clone(),
        }
    }
}

/// The bank's screening service behind the durable Tuum receiver: down while `down` is set,
/// and unable to map the result code `REFERRED` until its fix is released (`fixed`).
#[derive(Default)]
struct Screening {
    down: AtomicBool,
    fixed: AtomicBool,
    runs: Mutex<BTreeMap<String, usize>>,
}

#[async_trait]
impl Handler<AmlEvent> for Screening {
    async fn handle(&self, event: AmlEvent) -> Result<(), BoxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err("the screening service is unavailable".into());
        }
        if let EventBody::PaymentResultsPublished(r) = event.body()
            && r.aml_process_result_code.to_string() == "REFERRED"
            && !self.fixed.load(Ordering::SeqCst)
        {
            return Err("no mapping for the AML result code REFERRED".into());
        }
        *self
            .runs
            .lock()
            .unwrap()
            .entry(event.notification_id().to_owned())
            .or_default() += 1;
        Ok(())
    }
}

/// Tuum's shared-secret verifier, as the bank's receivers use it.
fn tuum_verifier() -> Result<aml_events::WebhookVerifier, Error> {
    Ok(aml_events::WebhookVerifier::new(SharedSecretHeader::new(
        "x-tuum-secret",
        SecretString::from("agreed-out-of-band"),
    )?))
}

/// Waits (at most 20 s) until every key in `keys` is in one of `states`.
async fn settled(
    queue: &dyn Queue,
    keys: &[String],
    states: &[DeliveryState],
) -> Result<(), Error> {
    let start = std::time::Instant::now();
    loop {
        let mut all = true;
        for key in keys {
            let state = queue.get(key).await?.map(|d| d.state);
            all &= state.is_some_and(|s| states.contains(&s));
        }
        if all {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(20) {
            return Err("the durable queue did not settle within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Where the state file lives: `$COMPLIANCE_DAY_STATE`, or `compliance-day.sqlite3` in the
/// system's temporary directory.
fn state_path() -> PathBuf {
    std::env::var_os("COMPLIANCE_DAY_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("compliance-day.sqlite3"))
}

/// The sandbox the walkthrough runs against: seed 2026, Tuum signing its deliveries with a
/// shared secret.
pub fn sandbox_config() -> SandboxConfig {
    let mut config = SandboxConfig::default().seed(2026);
    config.tuum.auth_header = Some(("x-tuum-secret".into(), "agreed-out-of-band".into()));
    config
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let path = state_path();
    if std::env::args().any(|a| a == "--fresh") {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
    }
    let metrics = metrics_address()?;
    if let Some(addr) = metrics {
        serve_metrics(addr)?;
    }
    let state = State::new(SqliteStore::open(&path).await?);
    let sandbox = Sandbox::start(sandbox_config()).await?;
    run(
        &sandbox,
        &|provider| sandbox.endpoint(provider).url(),
        &state,
    )
    .await?;
    if let Some(addr) = metrics {
        println!("\nMetrics at http://{addr}/metrics — press Enter to end the day.");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
    }
    Ok(())
}

/// The address after `--metrics`, if given.
fn metrics_address() -> Result<Option<SocketAddr>, Error> {
    let mut args = std::env::args().skip_while(|a| a != "--metrics").skip(1);
    match (std::env::args().any(|a| a == "--metrics"), args.next()) {
        (false, _) => Ok(None),
        (true, Some(addr)) => Ok(Some(addr.parse()?)),
        (true, None) => Err("--metrics needs an address: --metrics 127.0.0.1:9464".into()),
    }
}

/// Serves every crate's metrics (feature `metrics`) as Prometheus text at
/// `http://addr/metrics`, with the catalogue's units and descriptions.
fn serve_metrics(addr: SocketAddr) -> Result<(), Error> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let seconds = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&seconds)?
        .set_buckets_for_metric(
            Matcher::Full(compliance_core::metrics::name::CLIENT_CALL_ATTEMPTS.into()),
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        )?
        .install()?;
    compliance_core::metrics::describe();
    Ok(())
}

/// The day, against `sandbox`; every client reaches its provider's API at
/// `api_url(provider)` (the sandbox's own URL, or a proxy in front of it), and the receivers
/// keep their state in `state`.
pub async fn run(
    sandbox: &Sandbox,
    api_url: &dyn Fn(Provider) -> String,
    state: &State,
) -> Result<(), Error> {
    let started = std::time::Instant::now();
    println!(
        "Compliance day — every provider simulated locally (seed 2026), no credentials, no network"
    );
    match state.store.path() {
        Some(path) => println!(
            "Receivers' state (processed deliveries, applicants): {} (`-- --fresh` forgets it)\n",
            path.display()
        ),
        None => println!("Receivers' state: in memory\n"),
    }

    // ── Heleket ───────────────────────────────────────────────────────────────────────
    println!("Heleket: a crypto payment held by the AML programme");
    let creds = sandbox.heleket().credentials();
    let heleket = HeleketClient::builder()
        .merchant(creds.merchant)
        .payment_key(creds.payment_key)
        .payout_key(creds.payout_key)
        .base_url(api_url(Provider::Heleket))
        .build()?;
    // One pipeline for every provider: verify the raw bytes, then the handler once per event.
    let released = Arc::new(Mutex::new(Vec::<String>::new()));
    let processor = Processor::builder(heleket.webhook_verifier().clone())
        .inbox(state.inbox("heleket"))
        .handler(handler_fn({
            let released = released.clone();
            move |webhook: HeleketWebhook| {
                let released = released.clone();
                async move {
                    if let HeleketWebhook::Payment(p) = &webhook {
                        released.lock().unwrap().push(format!(
                            "{} → {}",
                            p.order_id.clone().unwrap_or_default(),
                            p.status
                        ));
                    }
                    Ok::<_, BoxError>(())
                }
            }
        }))
        .build()?;
    let callback = Router::new().route("/heleket", Receiver::new(processor).method_router());
    let callback_url = format!("{}/heleket", serve(callback).await?);
    let uuid = sandbox
        .heleket()
        .create_payment(NewPayment::new("order-1001", "250.00", "USDT").callback(&callback_url));
    let held = sandbox
        .heleket()
        .create_payment(NewPayment::new("order-1002", "9800.00", "USDT").callback(&callback_url));
    sandbox.heleket().lock_payment(&uuid).await?;
    sandbox.heleket().lock_payment(&held).await?;
    let order = PaymentRef::OrderId("order-1001".into());
    let payment = heleket.payment_info(&order).await?;
    step(format!(
        "order-1001 ({} {}) is {}",
        payment.amount, payment.currency, payment.status
    ));
    let links = heleket.aml_links(&order).await?;
    step(format!(
        "{} questionnaire link for the payer, status {}, valid until {}",
        links.len(),
        links[0].status,
        links[0].expired_at
    ));
    sandbox
        .heleket()
        .set_link_status(&uuid, 0, LinkStatus::Pending)
        .await?;
    sandbox
        .heleket()
        .set_link_status(&uuid, 0, LinkStatus::Completed)
        .await?;
    step(format!(
        "payer completed it; payment is now {}",
        heleket.payment_info(&order).await?.status
    ));
    for line in released.lock().unwrap().iter() {
        step(format!("signed webhook verified on raw bytes: {line}"));
    }

    // ── elKYC / Allpass ───────────────────────────────────────────────────────────────
    println!("\nelKYC: an applicant verified through encrypted webhooks, a wallet screened");
    let e = sandbox.elkyc().credentials();
    let settings = match e.encryption {
        EncryptionMode::Cbc => EncryptionSettings::cbc(e.secret_key.clone(), e.hmac_key.clone()),
        EncryptionMode::Gcm => EncryptionSettings::gcm(e.secret_key.clone()),
        _ => return Err("the sandbox runs elKYC encrypted by default".into()),
    };
    let kyc = KycClient::builder()
        .base_url(api_url(Provider::Elkyc))
        .api_key(e.api_key.clone())
        .encryption(settings.clone())
        .build()?;
    let store = Arc::new(state.store.clone());
    // Signature and decryption, deduplication on the payload, then the applicant re-fetched
    // from the API (the source of truth) into the store.
    let processor = Processor::builder(kyc_public_api::WebhookVerifier::builder(settings).build()?)
        .inbox(state.inbox("elkyc"))
        .handler(handler_fn({
            let (kyc, store) = (kyc.clone(), store.clone());
            move |event: WebhookEvent| {
                let (kyc, store) = (kyc.clone(), store.clone());
                async move {
                    if let Some(id) = &event.event.applicant_id {
                        kyc_store::refresh(&kyc, store.as_ref(), id, Timestamp::now()).await?;
                    }
                    Ok::<_, BoxError>(())
                }
            }
        }))
        .build()?;
    let hooks = Router::new().route("/elkyc", Receiver::new(processor).method_router());
    sandbox
        .elkyc()
        .set_webhook_url(format!("{}/elkyc", serve(hooks).await?));
    for external in ["customer-5521", "customer-5522"] {
        let applicant = kyc
            .create_applicant(&CreateApplicant::new(external, "basic-kyc"))
            .await?;
        step(format!(
            "applicant {external} created (id {})",
            applicant.id.unwrap_or_default()
        ));
    }
    let token = kyc
        .verification_token(
            "customer-5521",
            &TokenRequest::new().locale("en-US").ttl_secs(3600),
        )
        .await?;
    step(format!(
        "verification token issued for the browser SDK, valid {}s (never logged)",
        token.ttl.unwrap_or_default()
    ));
    for status in [
        ApplicantStatus::InProgress,
        ApplicantStatus::InReview,
        ApplicantStatus::Approved,
    ] {
        sandbox.elkyc().set_status("customer-5521", status).await?;
    }
    sandbox
        .elkyc()
        .set_status("customer-5522", ApplicantStatus::InReview)
        .await?;
    for external in ["customer-5521", "customer-5522"] {
        let Some(record) = store.find_by_external_id("elkyc", external).await? else {
            continue;
        };
        step(format!(
            "store: {} is {} ({}), version {}",
            record.external_user_id.unwrap_or_default(),
            record.provider_status,
            record.aml_status,
            record.version
        ));
    }
    let wallet = (0..1000)
        .map(|i| format!("bc1qcounterparty{i:04}"))
        .find(|a| risk_score("BTC", a) >= 70)
        .ok_or("no high-risk address")?;
    step(format!("counterparty wallet {wallet} sent for screening"));

    // ── BTC Direct ────────────────────────────────────────────────────────────────────
    println!("\nBTC Direct: a user answers the AMLD5 questionnaire");
    let b = sandbox.btcdirect().credentials();
    let btcdirect = BtcDirectClient::builder()
        .base_url(api_url(Provider::BtcDirect))
        .credentials(b.username.clone(), SecretString::from(b.password.clone()))
        .build()?;
    let session = btcdirect
        .login(&b.user_email, &SecretString::from(b.user_password.clone()))
        .await?;
    let user = UserContext::session(session);
    step(format!("{} logged in", b.user_email));
    let questions = btcdirect.amld5_questions(&user, "en").await?;
    let mut answers = questions.answers();
    for q in &questions.questions {
        let choice = q
            .answer_options
            .first()
            .map(|o| o.label.clone())
            .unwrap_or_default();
        step(format!("{} → {choice}", q.label));
        answers = answers.answer(q.key.clone(), choice);
    }
    btcdirect
        .submit_amld5_answers(&user, &answers.build()?)
        .await?;
    let verified = btcdirect.verification_status(&user).await?.is_verified();
    step(format!("answers accepted; fully verified: {verified}"));

    // ── Tuum ──────────────────────────────────────────────────────────────────────────
    println!("\nTuum: AML events for the bank, delivered at least once");
    let processed = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = processed.clone();
    let processor = Processor::builder(tuum_verifier()?)
        .inbox(state.inbox("tuum"))
        .handler(aml_events::handler_fn(move |event: AmlEvent| {
            let seen = seen.clone();
            async move {
                let line = match event.body() {
                    EventBody::PaymentSubprocessCreated(p) => {
                        format!("screen payment {} of {}", p.payment_id, p.amount)
                    }
                    EventBody::PaymentResultsPublished(r) => {
                        format!("AML result {}", r.aml_process_result_code)
                    }
                    _ => format!("{}", event.event_type()),
                };
                seen.lock().unwrap().push(line);
                Ok::<(), &str>(())
            }
        }))
        .build()?;
    let bank = serve(aml_events::server::router(processor)).await?;
    let tuum = sandbox.tuum();
    tuum.subscribe(format!("{bank}/"));
    step("the bank's receiver is subscribed; Tuum sends the shared secret in x-tuum-secret");
    let mut deliveries = 0;
    for (event, options) in [
        (TuumEvent::SubprocessCreated, DeliveryOptions::duplicated()),
        (
            TuumEvent::PaymentResultsPublished {
                result: "APPROVED".into(),
            },
            DeliveryOptions::default(),
        ),
    ] {
        for delivery in tuum.send(event, options).await? {
            deliveries += 1;
            step(format!(
                "delivery of {} answered {:?}",
                delivery.sent.notification_id,
                delivery.statuses()
            ));
        }
    }
    let first = tuum
        .sent()
        .first()
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    let replay = tuum.replay(&first).await?;
    deliveries += 1;
    step(format!(
        "an operator replays {first}: answered {:?}",
        replay.attempts
    ));
    let processed = processed.lock().unwrap().clone();
    step(format!(
        "{deliveries} deliveries, {} handled now (each event once, across runs){}",
        processed.len(),
        if processed.is_empty() { "" } else { ":" }
    ));
    for line in &processed {
        step(format!("  {line}"));
    }

    // ── Durable intake ────────────────────────────────────────────────────────────────
    println!("\nTuum, durable intake: the screening service down for longer than Tuum retries");
    // Intake verifies, stores the delivery (committed) and answers 200; a worker runs the
    // handler from the queue, retrying with back-off, and gives up as dead past its limit.
    let intake = Processor::builder(tuum_verifier()?)
        .queue(state.store.queue("tuum"))
        .build()?;
    tuum.subscribe(format!(
        "{}/",
        serve(aml_events::server::router(intake)).await?
    ));
    let screening = Arc::new(Screening::default());
    screening.down.store(true, Ordering::SeqCst);
    let worker = Worker::builder(
        Processor::builder(tuum_verifier()?)
            .inbox(state.inbox("tuum"))
            .handler(screening.clone())
            .build()?,
        state.store.queue("tuum"),
    )
    // Time-compressed like the sandbox: 10 ms doubling to 80 ms, 16 attempts.
    .retry(
        RetrySchedule::new()
            .first_delay(Duration::from_millis(10))
            .cap(Duration::from_millis(80))
            .max_attempts(Some(16)),
    )
    .poll_interval(Duration::from_millis(10))
    .busy_delay(Duration::from_millis(10))
    .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let worker = worker.clone();
        async move {
            worker
                .run(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    let queue = state.store.queue("tuum");
    let mut keys = Vec::new();
    for (event, options) in [
        (TuumEvent::SubprocessCreated, DeliveryOptions::duplicated()),
        (
            TuumEvent::PersonSubprocessCreated,
            DeliveryOptions::default(),
        ),
        (
            TuumEvent::PaymentResultsPublished {
                result: "APPROVED".into(),
            },
            DeliveryOptions::default(),
        ),
        (
            TuumEvent::PaymentResultsPublished {
                result: "REFERRED".into(),
            },
            DeliveryOptions::default(),
        ),
        (TuumEvent::SubprocessCreated, DeliveryOptions::default()),
    ] {
        let reports = tuum.send(event, options).await?;
        let id = reports[0].sent.notification_id.clone();
        let statuses: Vec<_> = reports.iter().map(|r| r.statuses()).collect();
        step(format!(
            "{id} answered {statuses:?}: acknowledged once stored"
        ));
        keys.push(id);
    }
    // Longer than Tuum's whole schedule (5 attempts, 20 ms apart in the sandbox) many
    // times over: an inline receiver would have answered every attempt 500, and Tuum
    // would have given up on every event.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let retrying = queue.list(Some(DeliveryState::Retrying), 100).await?.len();
    step(format!(
        "screening down for 400 ms, past Tuum's whole retry schedule: {retrying} deliveries retrying in the queue, none lost"
    ));
    screening.down.store(false, Ordering::SeqCst);
    step("screening back: the worker's next attempts go through");
    settled(&queue, &keys, &[DeliveryState::Done, DeliveryState::Dead]).await?;
    let dead = queue.list(Some(DeliveryState::Dead), 100).await?;
    for d in &dead {
        step(format!(
            "{} is dead after {} attempts: {}",
            d.key,
            d.attempts,
            d.last_error.as_deref().unwrap_or("-")
        ));
    }
    if !dead.is_empty() {
        screening.fixed.store(true, Ordering::SeqCst);
        step("the mapping for REFERRED is released; the operator replays the dead deliveries:");
        step(match state.store.path() {
            Some(path) => format!(
                "  compliance inbox replay --dead --provider tuum --store sqlite:{}",
                path.display()
            ),
            None => "  compliance inbox replay --dead --provider tuum".to_owned(),
        });
        for d in &dead {
            queue.replay(&d.key).await?;
        }
        settled(&queue, &keys, &[DeliveryState::Done]).await?;
    }
    let _ = stop.send(());
    running.await?;
    let runs = screening.runs.lock().unwrap().clone();
    println!(
        "  {:<40} {:<6} {:<9} {:<8} handler runs today",
        "notification", "state", "attempts", "replays"
    );
    let mut once = true;
    for key in &keys {
        let Some(d) = queue.get(key).await? else {
            return Err(format!("{key} was acknowledged but is not in the queue").into());
        };
        let today = runs.get(key).copied().unwrap_or(0);
        once &= d.state == DeliveryState::Done && today <= 1;
        println!(
            "  {:<40} {:<6} {:<9} {:<8} {}",
            cell(key, 40),
            d.state.as_str(),
            d.attempts,
            d.replays,
            if today == 0 {
                "0 (processed by an earlier run)".to_owned()
            } else {
                today.to_string()
            }
        );
    }
    let dead_now = queue.list(Some(DeliveryState::Dead), 100).await?.len();
    if !once || dead_now > 0 {
        return Err(
            format!("durable intake: not every event processed once ({dead_now} dead)").into(),
        );
    }
    step(format!(
        "{} events acknowledged at once; every one processed exactly once, nothing dead",
        keys.len()
    ));

    // ── One table ─────────────────────────────────────────────────────────────────────
    println!("\nEvery subject's AML state, asked through Vec<Box<dyn AmlProvider>>");
    let providers: Vec<Box<dyn AmlProvider>> = vec![
        Box::new(heleket.clone()),
        Box::new(kyc.aml()),
        Box::new(btcdirect.aml_for(user.clone())),
    ];
    let subjects = vec![
        Subject::Payment {
            reference: SubjectRef::ExternalId("order-1001".into()),
        },
        Subject::Payment {
            reference: SubjectRef::ExternalId("order-1002".into()),
        },
        Subject::Applicant {
            reference: SubjectRef::ExternalId("customer-5521".into()),
        },
        Subject::Applicant {
            reference: SubjectRef::ExternalId("customer-5522".into()),
        },
        Subject::Wallet {
            blockchain: "BTC".into(),
            address: wallet.clone(),
        },
        Subject::User {
            reference: SubjectRef::ProviderId(b.user_identifier.clone()),
        },
    ];
    println!(
        "  {:<26} {:<10} {:<28} {:<6} neutral state",
        "subject", "provider", "provider says", "risk"
    );
    for subject in &subjects {
        for provider in providers.iter().filter(|p| p.supports(subject.kind())) {
            let state = provider.aml_state(subject).await?;
            println!(
                "  {:<26} {:<10} {:<28} {:<6} {}",
                cell(&subject.to_string(), 26),
                state.provider,
                cell(&state.provider_status, 28),
                state
                    .risk
                    .as_ref()
                    .map(|r| r.level.to_string())
                    .unwrap_or_else(|| "-".into()),
                describe(&state)
            );
        }
    }
    let recognised = state.recognised();
    if recognised > 0 {
        println!(
            "\n{recognised} deliveries were recognised as already processed, by an earlier run or \
             as duplicates in this one: their handlers did not run again."
        );
    }
    println!("\nDone in {:.1?}.", started.elapsed());
    if let Some(path) = state.store.path() {
        println!(
            "\nSee the day's subjects and deliveries in a browser (http://127.0.0.1:8089/):\n  \
             cargo run -p compliance-cli -- console --store sqlite:{}",
            path.display()
        );
    }
    Ok(())
}
