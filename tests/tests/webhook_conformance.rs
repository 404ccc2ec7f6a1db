//! One conformance suite for the shared webhook pipeline, run for Heleket, elKYC and Tuum
//! through the real HTTP receiver (`compliance_core::webhook::Receiver`) on a bound
//! loopback port, with a real HTTP client (reqwest). Each provider crate contributes only
//! its verifier and genuine deliveries; every case is the same for all three.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::rt::{ManualClock, ManualRuntime};
use compliance_core::webhook::{BoxError, Handler, Processor, Receiver, Verifier};
use compliance_core::{Claim, ClaimToken, Inbox, InboxError, MemoryInbox, Timestamp};
use compliance_e2e::serve;
use kyc_public_api::Envelope;
use kyc_public_api::encryption::{Cipher, EncryptionSettings, SIGNATURE_HEADER};
use serde_json::{Map, Value, json};

const HELEKET_KEY: &str = "conformance-payment-key";
const ELKYC_KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const TUUM_SECRET: &str = "conformance-shared-secret-0123456789";

/// One HTTP delivery as the provider sends it.
#[derive(Debug, Clone)]
struct Delivery {
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// What a provider brings to the suite.
trait Provider: Send + Sync + 'static {
    type V: Verifier;
    fn name(&self) -> &'static str;
    fn verifier(&self) -> Self::V;
    /// A genuine delivery of distinct event `i`.
    fn delivery(&self, i: usize) -> Delivery;
    /// Which event the handler got (the `i` of `delivery(i)`).
    fn id(event: &<Self::V as Verifier>::Event) -> String;
}

struct Heleket;

fn heleket_fields(uuid: &str, status: &str, is_final: bool) -> Map<String, Value> {
    let Value::Object(fields) = json!({
        "type": "payment", "uuid": uuid, "order_id": format!("order-{uuid}"),
        "amount": "10.00", "currency": "USDT", "network": "tron", "status": status,
        "is_final": is_final, "url": "https://pay.example/p/1"
    }) else {
        unreachable!()
    };
    fields
}

impl Provider for Heleket {
    type V = heleket_aml::WebhookVerifier;
    fn name(&self) -> &'static str {
        "heleket"
    }
    fn verifier(&self) -> Self::V {
        heleket_aml::WebhookVerifier::new(HELEKET_KEY)
    }
    fn delivery(&self, i: usize) -> Delivery {
        let fields = heleket_fields(&format!("e{i}"), "paid", true);
        Delivery {
            headers: vec![("content-type", "application/json".into())],
            body: heleket_aml::test_util::signed_webhook_object(&fields, HELEKET_KEY),
        }
    }
    fn id(event: &heleket_aml::HeleketWebhook) -> String {
        event.uuid().to_owned()
    }
}

struct Elkyc;

fn elkyc_delivery(payload: Value, time: Timestamp) -> Delivery {
    let cipher = Cipher::new(&EncryptionSettings::gcm(ELKYC_KEY)).unwrap();
    let (body, signature) = Envelope::new(200, payload).seal(&cipher, time).unwrap();
    Delivery {
        headers: vec![
            ("content-type", "application/json".into()),
            (SIGNATURE_HEADER, signature),
        ],
        body,
    }
}

impl Provider for Elkyc {
    type V = kyc_public_api::WebhookVerifier;
    fn name(&self) -> &'static str {
        "elkyc"
    }
    fn verifier(&self) -> Self::V {
        kyc_public_api::WebhookVerifier::builder(EncryptionSettings::gcm(ELKYC_KEY))
            .build()
            .unwrap()
    }
    fn delivery(&self, i: usize) -> Delivery {
        elkyc_delivery(
            json!({"type": "applicantApproved", "id": format!("e{i}"), "externalUserId": format!("user-{i}")}),
            Timestamp::now(),
        )
    }
    fn id(event: &kyc_public_api::WebhookEvent) -> String {
        event.event.applicant_id.clone().unwrap_or_default()
    }
}

struct Tuum;

impl Provider for Tuum {
    type V = aml_events::WebhookVerifier;
    fn name(&self) -> &'static str {
        "tuum"
    }
    fn verifier(&self) -> Self::V {
        aml_events::WebhookVerifier::new(
            aml_events::auth::SharedSecretHeader::new(
                "x-webhook-token",
                aml_events::SecretString::from(TUUM_SECRET),
            )
            .unwrap(),
        )
    }
    fn delivery(&self, i: usize) -> Delivery {
        let body = json!({
            "notificationId": format!("e{i}"),
            "notificationTypeCode": "AML_PAYMENT_RESULTS_PUBLISHED",
            "data": {"amlProcessId": format!("P-{i}"), "amlProcessResultCode": "APPROVED"}
        });
        Delivery {
            headers: vec![
                ("content-type", "application/json".into()),
                ("x-webhook-token", TUUM_SECRET.into()),
            ],
            body: body.to_string().into_bytes(),
        }
    }
    fn id(event: &aml_events::AmlEvent) -> String {
        event.notification_id().to_owned()
    }
}

/// The handler under test: records runs per event, fails or panics on request, can be held
/// at a gate, and tracks how many runs overlap.
struct Recorder<P> {
    started: AtomicUsize,
    done: Mutex<HashMap<String, usize>>,
    fail_next: AtomicBool,
    panic_next: AtomicBool,
    gate: Mutex<Option<tokio::sync::watch::Receiver<bool>>>,
    delay: Mutex<Option<Duration>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
    _provider: std::marker::PhantomData<fn() -> P>,
}

impl<P> Default for Recorder<P> {
    fn default() -> Self {
        Self {
            started: AtomicUsize::new(0),
            done: Mutex::new(HashMap::new()),
            fail_next: AtomicBool::new(false),
            panic_next: AtomicBool::new(false),
            gate: Mutex::new(None),
            delay: Mutex::new(None),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            _provider: std::marker::PhantomData,
        }
    }
}

struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl<P: Provider> Handler<<P::V as Verifier>::Event> for Recorder<P> {
    async fn handle(&self, event: <P::V as Verifier>::Event) -> Result<(), BoxError> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let _leave = Leave(&self.running);
        if self.panic_next.swap(false, Ordering::SeqCst) {
            panic!("bug in the handler");
        }
        let gate = self.gate.lock().unwrap().clone();
        if let Some(mut gate) = gate {
            gate.wait_for(|open| *open).await?;
        }
        let delay = *self.delay.lock().unwrap();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err("downstream unavailable".into());
        }
        *self.done.lock().unwrap().entry(P::id(&event)).or_default() += 1;
        Ok(())
    }
}

impl<P> Recorder<P> {
    fn done(&self, id: &str) -> usize {
        self.done.lock().unwrap().get(id).copied().unwrap_or(0)
    }

    fn close_gate(&self) -> tokio::sync::watch::Sender<bool> {
        let (open, gate) = tokio::sync::watch::channel(false);
        *self.gate.lock().unwrap() = Some(gate);
        open
    }
}

/// An inbox whose storage can be switched off.
#[derive(Default)]
struct Switchable {
    inner: MemoryInbox,
    down: AtomicBool,
    renewals: AtomicUsize,
}

impl Switchable {
    fn check(&self) -> Result<(), InboxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(InboxError::Storage("database unreachable".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Inbox for Switchable {
    fn lease(&self) -> Duration {
        self.inner.lease()
    }
    async fn claim(&self, key: &str) -> Result<Claim, InboxError> {
        self.check()?;
        self.inner.claim(key).await
    }
    async fn renew(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.check()?;
        self.renewals.fetch_add(1, Ordering::SeqCst);
        self.inner.renew(key, token).await
    }
    async fn complete(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.check()?;
        self.inner.complete(key, token).await
    }
    async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), InboxError> {
        self.check()?;
        self.inner.release(key, token).await
    }
    async fn purge(&self, older_than: Duration) -> Result<u64, InboxError> {
        self.inner.purge(older_than).await
    }
}

/// A running receiver for provider `P`.
struct Endpoint<P: Provider> {
    url: String,
    recorder: Arc<Recorder<P>>,
    inbox: Arc<Switchable>,
    http: reqwest::Client,
}

struct Options {
    runtime: Option<ManualRuntime>,
    cancel_on_disconnect: bool,
}

async fn endpoint<P: Provider>(provider: &P, options: Options) -> Endpoint<P> {
    let recorder = Arc::new(Recorder::<P>::default());
    let mut inner = MemoryInbox::with_lease(Duration::from_secs(30));
    if let Some(runtime) = &options.runtime {
        inner = inner.clock(runtime.clock().clone());
    }
    let inbox = Arc::new(Switchable {
        inner,
        ..Switchable::default()
    });
    let mut builder = Processor::builder(provider.verifier())
        .handler(recorder.clone())
        .inbox(inbox.clone());
    if let Some(runtime) = options.runtime {
        builder = builder.runtime(Arc::new(runtime));
    }
    let receiver =
        Receiver::new(builder.build().unwrap()).cancel_on_disconnect(options.cancel_on_disconnect);
    let url = format!("{}/", serve(receiver.router()).await);
    Endpoint {
        url,
        recorder,
        inbox,
        http: reqwest::Client::new(),
    }
}

/// The answer's status, its `Retry-After` and its JSON.
async fn post(
    http: &reqwest::Client,
    url: &str,
    delivery: &Delivery,
) -> (u16, Option<String>, Value) {
    let mut request = http.post(url).body(delivery.body.clone());
    for (name, value) in &delivery.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("the receiver answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, retry_after, body)
}

impl<P: Provider> Endpoint<P> {
    async fn deliver(&self, delivery: &Delivery) -> (u16, Option<String>, Value) {
        post(&self.http, &self.url, delivery).await
    }

    /// Delivers until acknowledged, as the provider does (a 503 is retried).
    async fn deliver_until_acknowledged(&self, delivery: &Delivery) -> Value {
        for _ in 0..10_000 {
            let (status, _, body) = self.deliver(delivery).await;
            if status == 200 {
                return body;
            }
            assert_eq!(status, 503, "{body}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("never acknowledged");
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    // A guard against a hang (a minute), not a timing assertion.
    for _ in 0..60_000 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("gave up waiting for {what}");
}

fn default_options() -> Options {
    Options {
        runtime: None,
        cancel_on_disconnect: false,
    }
}

/// 1,000 concurrent deliveries of 20 distinct events: each handler runs exactly once, and
/// every delivery is answered 200 (processed or duplicate) or 503 (in progress), never
/// lost: retrying the 503s ends in duplicates.
async fn concurrent_deliveries_run_each_handler_once<P: Provider>(provider: P) {
    let ep = Arc::new(endpoint(&provider, default_options()).await);
    *ep.recorder.delay.lock().unwrap() = Some(Duration::from_millis(20));
    let deliveries: Arc<Vec<Delivery>> = Arc::new((0..20).map(|i| provider.delivery(i)).collect());
    let tasks: Vec<_> = (0..1_000)
        .map(|n| {
            let (ep, deliveries) = (ep.clone(), deliveries.clone());
            tokio::spawn(async move { ep.deliver(&deliveries[n % 20]).await })
        })
        .collect();
    let mut answers = HashMap::<u16, usize>::new();
    for task in tasks {
        let (status, retry_after, body) = task.await.unwrap();
        match status {
            200 => assert!(
                matches!(body["status"].as_str(), Some("processed" | "duplicate")),
                "{body}"
            ),
            503 => assert!(retry_after.is_some(), "503 without Retry-After"),
            other => panic!("{}: unexpected {other} {body}", provider.name()),
        }
        *answers.entry(status).or_default() += 1;
    }
    for i in 0..20 {
        let body = ep.deliver_until_acknowledged(&deliveries[i]).await;
        assert_eq!(body["status"], "duplicate", "{}: {body}", provider.name());
        assert_eq!(
            ep.recorder.done(&format!("e{i}")),
            1,
            "{}: e{i}",
            provider.name()
        );
    }
    assert_eq!(
        ep.recorder.started.load(Ordering::SeqCst),
        20,
        "{answers:?}"
    );
}

/// A failing, then a panicking handler: 500 each time, and the redelivery is processed once.
async fn failures_and_panics_are_redelivered<P: Provider>(provider: P) {
    let ep = endpoint(&provider, default_options()).await;
    let delivery = provider.delivery(7);
    ep.recorder.fail_next.store(true, Ordering::SeqCst);
    let (status, _, body) = ep.deliver(&delivery).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("processing_failed"))
    );
    ep.recorder.panic_next.store(true, Ordering::SeqCst);
    let (status, _, body) = ep.deliver(&delivery).await;
    assert_eq!(status, 500, "{}: a panic is a 500: {body}", provider.name());
    let (status, _, body) = ep.deliver(&delivery).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processed")));
    let (status, _, body) = ep.deliver(&delivery).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(ep.recorder.done("e7"), 1);
    assert_eq!(ep.recorder.started.load(Ordering::SeqCst), 3);
}

/// A handler that runs three times longer than the lease: the heartbeat renews the claim,
/// so every delivery meanwhile is answered 503 and never runs beside it.
async fn the_heartbeat_prevents_a_second_run<P: Provider>(provider: P) {
    let clock = Arc::new(ManualClock::new("2025-07-04T12:00:00Z".parse().unwrap()));
    let runtime = ManualRuntime::new(clock);
    let ep = endpoint(
        &provider,
        Options {
            runtime: Some(runtime.clone()),
            cancel_on_disconnect: false,
        },
    )
    .await;
    let open = ep.recorder.close_gate();
    let delivery = provider.delivery(3);
    let first = tokio::spawn({
        let (http, url, delivery) = (ep.http.clone(), ep.url.clone(), delivery.clone());
        async move { post(&http, &url, &delivery).await }
    });
    wait_for("the handler to start", || {
        ep.recorder.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // The lease is 30 s; the heartbeat beats every 10 s. 9 beats: 90 s, three leases.
    for beat in 1..=9 {
        wait_for("the heartbeat to sleep", || runtime.sleeping() >= 1).await;
        runtime.advance(Duration::from_secs(10));
        wait_for("a renewal", || {
            ep.inbox.renewals.load(Ordering::SeqCst) >= beat
        })
        .await;
        let (status, retry_after, _) = ep.deliver(&delivery).await;
        assert_eq!(status, 503, "{} beat {beat}", provider.name());
        assert_eq!(retry_after.as_deref(), Some("10"));
    }
    open.send(true).unwrap();
    let (status, _, body) = first.await.unwrap();
    assert_eq!((status, body["status"].as_str()), (200, Some("processed")));
    assert_eq!(ep.recorder.started.load(Ordering::SeqCst), 1);
    assert_eq!(ep.recorder.max_running.load(Ordering::SeqCst), 1);
    let (_, _, body) = ep.deliver(&delivery).await;
    assert_eq!(body["status"], "duplicate");
}

/// Sends `delivery` with a client that gives up (closes the connection) before the answer.
async fn give_up_on(impatient: &reqwest::Client, url: &str, delivery: &Delivery) {
    let mut request = impatient.post(url).body(delivery.body.clone());
    for (name, value) in &delivery.headers {
        request = request.header(*name, value);
    }
    assert!(request.send().await.unwrap_err().is_timeout());
}

/// The provider gives up on a slow delivery and closes the connection. With
/// `cancel_on_disconnect` the handler's future is dropped, the drop guard releases the
/// claim, and the next delivery is processed; by default the handler runs on and the next
/// delivery is a duplicate once it finished.
async fn a_dropped_handler_future_lets_the_next_delivery_through<P: Provider>(provider: P) {
    let ep = endpoint(
        &provider,
        Options {
            runtime: None,
            cancel_on_disconnect: true,
        },
    )
    .await;
    let open = ep.recorder.close_gate();
    let delivery = provider.delivery(5);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    give_up_on(&impatient, &ep.url, &delivery).await;
    wait_for("the dropped handler to stop", || {
        ep.recorder.running.load(Ordering::SeqCst) == 0
    })
    .await;
    open.send(true).unwrap();
    let body = ep.deliver_until_acknowledged(&delivery).await;
    assert_eq!(body["status"], "processed", "{}: {body}", provider.name());
    assert_eq!(ep.recorder.started.load(Ordering::SeqCst), 2);
    assert_eq!(ep.recorder.done("e5"), 1);

    // Default: the handler is not cancelled; the redelivery waits (503), then is a duplicate.
    let ep = endpoint(&provider, default_options()).await;
    let open = ep.recorder.close_gate();
    give_up_on(&impatient, &ep.url, &delivery).await;
    let (status, _, _) = ep.deliver(&delivery).await;
    assert_eq!(status, 503);
    open.send(true).unwrap();
    let body = ep.deliver_until_acknowledged(&delivery).await;
    assert_eq!(body["status"], "duplicate", "{}: {body}", provider.name());
    assert_eq!(ep.recorder.started.load(Ordering::SeqCst), 1);
}

/// The inbox's storage is down: 503 with `Retry-After`, the handler does not run; once it is
/// back, the redelivery is processed once.
async fn an_inbox_failure_is_503_and_nothing_is_lost<P: Provider>(provider: P) {
    let ep = endpoint(&provider, default_options()).await;
    let delivery = provider.delivery(9);
    ep.inbox.down.store(true, Ordering::SeqCst);
    let (status, retry_after, body) = ep.deliver(&delivery).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("inbox_unavailable"))
    );
    assert!(retry_after.is_some());
    assert_eq!(ep.recorder.started.load(Ordering::SeqCst), 0);
    ep.inbox.down.store(false, Ordering::SeqCst);
    let (status, _, body) = ep.deliver(&delivery).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processed")));
    assert_eq!(ep.recorder.done("e9"), 1);
}

/// A forged delivery (one byte of the body changed, or the credential missing) is refused
/// with 401 and never reaches the handler.
async fn forgeries_are_401<P: Provider>(provider: P) {
    let ep = endpoint(&provider, default_options()).await;
    let mut forged = provider.delivery(1);
    let at = forged.body.len() / 2;
    forged.body[at] ^= 0x01;
    let (status, _, body) = ep.deliver(&forged).await;
    assert!(
        matches!(status, 400 | 401),
        "{}: {status} {body}",
        provider.name()
    );
    let mut no_credential = provider.delivery(1);
    no_credential
        .headers
        .retain(|(name, _)| *name == "content-type");
    if provider.name() != "heleket" {
        let (status, _, body) = ep.deliver(&no_credential).await;
        assert_eq!((status, body), (401, json!({"error": "unauthenticated"})));
    }
    assert_eq!(ep.recorder.started.load(Ordering::SeqCst), 0);
}

macro_rules! conformance {
    ($($provider:ident => $module:ident),*) => {$(
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_deliveries_run_each_handler_once() {
                super::concurrent_deliveries_run_each_handler_once($provider).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn failures_and_panics_are_redelivered() {
                super::failures_and_panics_are_redelivered($provider).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_heartbeat_prevents_a_second_run() {
                super::the_heartbeat_prevents_a_second_run($provider).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_dropped_handler_future_lets_the_next_delivery_through() {
                super::a_dropped_handler_future_lets_the_next_delivery_through($provider).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn an_inbox_failure_is_503_and_nothing_is_lost() {
                super::an_inbox_failure_is_503_and_nothing_is_lost($provider).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn forgeries_are_401() {
                super::forgeries_are_401($provider).await;
            }
        }
    )*};
}

conformance!(Heleket => heleket, Elkyc => elkyc, Tuum => tuum);

/// elKYC: a captured delivery resent with a fresh envelope `time` (which the signature does
/// not cover) is not processed a second time, and even where the inbox has forgotten it (a
/// second instance with its own inbox) it is not applied over newer state: the handler
/// re-fetches the applicant, the source of truth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elkyc_a_replay_with_a_fresh_time_is_neither_reprocessed_nor_applied_over_newer_state() {
    use axum::routing::get;
    use compliance_core::MemoryApplicantStore;
    use kyc_public_api::{KycClient, WebhookEvent, handler_fn, store};

    // The provider's API: the applicant as it stands now.
    let applicant = Arc::new(Mutex::new(json!({})));
    let set = |status: &str, at: &str| {
        *applicant.lock().unwrap() = json!({
            "id": "a-1", "externalUserId": "user-1", "status": status, "updatedAt": at
        });
    };
    let api = {
        let applicant = applicant.clone();
        let app = axum::Router::new().route(
            "/api/public/applicant/{id}",
            get(move || {
                let data = applicant.lock().unwrap().clone();
                async move {
                    axum::Json(json!({"status": true, "statusCode": 200, "data": data,
                                      "time": "2025-07-04T12:00:00.000Z"}))
                }
            }),
        );
        serve(app).await
    };
    let client = KycClient::builder()
        .base_url(&api)
        .api_key("pk")
        .build()
        .unwrap();
    let applicants = Arc::new(MemoryApplicantStore::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let receiver = || {
        let (client, applicants, runs) = (client.clone(), applicants.clone(), runs.clone());
        let processor = Processor::builder(Elkyc.verifier())
            .handler(handler_fn(move |webhook: WebhookEvent| {
                let (client, applicants, runs) = (client.clone(), applicants.clone(), runs.clone());
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let id = webhook.event.applicant_id.expect("an applicant event");
                    store::refresh(&client, applicants.as_ref(), &id, Timestamp::now()).await?;
                    Ok::<_, BoxError>(())
                }
            }))
            .build()
            .unwrap();
        async move { format!("{}/", serve(Receiver::new(processor).router()).await) }
    };
    let url = receiver().await;
    let http = reqwest::Client::new();
    let record = || applicants.all().into_iter().next().unwrap();

    set("IN_PROGRESS", "2025-07-04T12:00:00.000Z");
    let in_progress = elkyc_delivery(
        json!({"type": "applicantInProgress", "id": "a-1", "externalUserId": "user-1"}),
        Timestamp::now(),
    );
    let (status, _, body) = post(&http, &url, &in_progress).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processed")));
    assert_eq!(record().provider_status, "IN_PROGRESS");

    set("APPROVED", "2025-07-04T12:10:00.000Z");
    let approved = elkyc_delivery(
        json!({"type": "applicantApproved", "id": "a-1", "externalUserId": "user-1"}),
        Timestamp::now(),
    );
    assert_eq!(post(&http, &url, &approved).await.0, 200);
    assert_eq!(record().provider_status, "APPROVED");
    assert_eq!(record().version, 2);

    // The old delivery, re-stamped with a fresh `time`.
    let mut envelope: Value = serde_json::from_slice(&in_progress.body).unwrap();
    let fresh = Timestamp::now() + std::time::Duration::from_secs(60);
    envelope["time"] = Value::from(fresh.to_string());
    let replay = Delivery {
        headers: in_progress.headers.clone(),
        body: serde_json::to_vec(&envelope).unwrap(),
    };
    assert_ne!(replay.body, in_progress.body);
    let (status, _, body) = post(&http, &url, &replay).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "not processed a second time"
    );

    // An instance whose inbox never saw it runs the handler, which re-fetches: the newer
    // state stays, unchanged.
    let other = receiver().await;
    let (status, _, body) = post(&http, &other, &replay).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processed")));
    assert_eq!(record().provider_status, "APPROVED");
    assert_eq!(record().version, 2, "nothing was written");
}

/// Heleket: a `process` whose first delivery failed arrives again after `paid` was
/// processed: acknowledged as superseded, and the handler's state stays `paid`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heleket_a_process_replayed_after_paid_leaves_the_final_status() {
    use heleket_aml::{HeleketWebhook, handler_fn};

    let status_of = Arc::new(Mutex::new(HashMap::<String, String>::new()));
    let fail_next = Arc::new(AtomicBool::new(false));
    let processor = Processor::builder(Heleket.verifier())
        .handler(handler_fn({
            let (status_of, fail_next) = (status_of.clone(), fail_next.clone());
            move |webhook: HeleketWebhook| {
                let (status_of, fail_next) = (status_of.clone(), fail_next.clone());
                async move {
                    if fail_next.swap(false, Ordering::SeqCst) {
                        return Err::<(), BoxError>("database down".into());
                    }
                    // A naive handler: the last webhook wins.
                    status_of
                        .lock()
                        .unwrap()
                        .insert(webhook.uuid().to_owned(), webhook.status().to_owned());
                    Ok(())
                }
            }
        }))
        .build()
        .unwrap();
    let url = format!("{}/", serve(Receiver::new(processor).router()).await);
    let http = reqwest::Client::new();
    let delivery = |status: &str, is_final: bool| Delivery {
        headers: vec![("content-type", "application/json".into())],
        body: heleket_aml::test_util::signed_webhook_object(
            &heleket_fields("pay-1", status, is_final),
            HELEKET_KEY,
        ),
    };

    fail_next.store(true, Ordering::SeqCst);
    assert_eq!(post(&http, &url, &delivery("process", false)).await.0, 500);
    let (status, _, body) = post(&http, &url, &delivery("paid", true)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("processed")));
    let (status, _, body) = post(&http, &url, &delivery("process", false)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("superseded")));
    let (status, _, body) = post(&http, &url, &delivery("paid", true)).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(status_of.lock().unwrap()["pay-1"], "paid");
}

/// Every crate README shows the one outcome → status table, word for word.
#[test]
fn every_readme_has_the_same_status_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let table =
        std::fs::read_to_string(root.join("crates/compliance-core/src/webhook/table.md")).unwrap();
    assert!(table.contains("| 503 + `Retry-After`"));
    for krate in [
        "compliance-core",
        "heleket-aml",
        "kyc-public-api",
        "aml-events",
    ] {
        let readme =
            std::fs::read_to_string(root.join(format!("crates/{krate}/README.md"))).unwrap();
        assert!(
            readme.contains(&table),
            "{krate}'s README lacks the status table"
        );
    }
}

/// Every receiver README shows its production examples (inline and durable: a persistent
/// inbox, a `tracing` subscriber, the peer's address) as the compiled files say them, word
/// for word, and says which mode to choose.
#[test]
fn every_receiver_readme_shows_its_production_example_as_compiled() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (krate, example) in [
        ("heleket-aml", "heleket_receiver"),
        ("kyc-public-api", "elkyc_receiver"),
        ("aml-events", "tuum_receiver"),
        ("heleket-aml", "heleket_durable"),
        ("kyc-public-api", "elkyc_durable"),
        ("aml-events", "tuum_durable"),
    ] {
        let dir = root.join("crates").join(krate);
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let code = std::fs::read_to_string(dir.join(format!("examples/{example}.rs"))).unwrap();
        let shown = format!("```rs\n{}\n```", code.trim_end());
        assert!(
            readme.contains(&shown),
            "{krate}'s README does not show examples/{example}.rs as it is: copy the file \
             into the README's `rs` block again"
        );
        for needed in [
            "tracing_subscriber::fmt().init()",
            "into_make_service_with_connect_info",
            "SqliteStore::open",
            "PostgresStore::connect",
        ] {
            assert!(
                code.contains(needed),
                "{krate}: {example}.rs lacks {needed}"
            );
        }
        assert!(
            readme.contains("reported through `tracing`"),
            "{krate}'s README does not say that refusals are logged through tracing"
        );
        if example.ends_with("_durable") {
            for needed in [
                ".queue(queue.clone())",
                "WebhookWorker::builder",
                "with_graceful_shutdown",
            ] {
                assert!(
                    code.contains(needed),
                    "{krate}: {example}.rs lacks {needed}"
                );
            }
            assert!(
                readme.contains("**Which to choose.**"),
                "{krate}'s README does not say which mode to choose"
            );
        }
    }
}
