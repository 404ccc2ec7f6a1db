//! A temporary SQLite store seeded from the sandbox: Heleket payments asked through the
//! `AmlProvider` trait (a locked one needs its questionnaire, a paid one is clear), records
//! of the other providers as their receivers write them, a subject id `<script>`, and the
//! inbox keys of processed and in-flight deliveries.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use compliance_core::aml::{AmlProvider, AmlStatus, Question, RequiredAction, Subject, SubjectRef};
use compliance_core::webhook::Queue;
use compliance_core::{
    ApplicantKey, ApplicantRecord, ApplicantStore, Claim, Expected, Inbox, Timestamp,
};
use compliance_sandbox::{NewPayment, Sandbox, SandboxConfig};
use compliance_store::SqliteStore;
use heleket_aml::HeleketClient;

/// A directory deleted on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "compliance-console-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(random)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How the seeded store looks, for the tests' assertions.
pub struct Seeded {
    pub path: PathBuf,
    /// Subjects in all.
    pub subjects: u64,
    /// Subjects whose status is action required.
    pub action_required: u64,
    /// elKYC subjects.
    pub elkyc: u64,
    /// Inbox keys done and claimed.
    pub done: u64,
    pub claimed: u64,
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_765_000_000 + second).unwrap()
}

async fn put(store: &SqliteStore, mut record: ApplicantRecord, second: i64) {
    record.updated_at = at(second);
    store.put(record, Expected::Absent).await.unwrap();
}

/// Seeds `dir/console.sqlite3`; `extra` more synthetic clear subjects make paging visible.
pub async fn seed(dir: &Path, extra: usize) -> Seeded {
    let path = dir.join("console.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();

    // Heleket, live from the sandbox through the provider-neutral trait.
    let sandbox = Sandbox::start(SandboxConfig::default().seed(27))
        .await
        .unwrap();
    let h = sandbox.heleket();
    let creds = h.credentials();
    let client = HeleketClient::builder()
        .merchant(creds.merchant)
        .payment_key(creds.payment_key)
        .payout_key(creds.payout_key)
        .base_url(
            sandbox
                .endpoint(compliance_sandbox::Provider::Heleket)
                .url(),
        )
        .build()
        .unwrap();
    let locked = h.create_payment(NewPayment::new("order-1001", "25.00", "USDT"));
    h.lock_payment(&locked).await.unwrap();
    let paid = h.create_payment(NewPayment::new("order-1002", "12.50", "USDT").status("paid"));
    for (n, (uuid, order)) in [(locked, "order-1001"), (paid, "order-1002")]
        .into_iter()
        .enumerate()
    {
        let state = client
            .aml_state(&Subject::Payment {
                reference: SubjectRef::ProviderId(uuid.clone()),
            })
            .await
            .unwrap();
        let record = ApplicantRecord::new(
            ApplicantKey::new("heleket", uuid),
            state.provider_status.clone(),
            state.status.clone(),
            at(0),
        )
        .with_external_user_id(order)
        .with_provider_updated_at(state.updated_at);
        put(&store, record, 100 + n as i64).await;
    }

    // elKYC and BTC Direct, as their receivers record them.
    let verification = AmlStatus::ActionRequired {
        actions: vec![RequiredAction::OpenLink {
            url: "https://verify.allpass.ai/flow/6f1c2a9e".into(),
            expires_at: Some(at(86_400 * 3)),
            status: Some("pending".into()),
        }],
    };
    let amld5 = AmlStatus::ActionRequired {
        actions: vec![RequiredAction::AnswerQuestions {
            questions: vec![
                Question {
                    key: "source_of_funds".into(),
                    label: "Where does the money come from?".into(),
                    options: vec!["salary".into(), "savings".into()],
                },
                Question {
                    key: "pep".into(),
                    label: "Are you a politically exposed person?".into(),
                    options: vec!["yes".into(), "no".into()],
                },
            ],
        }],
    };
    let others = [
        (
            "elkyc",
            "65f0c1d2e3a4b5c6d7e8f901",
            "customer-5521",
            "COMPLETED",
            AmlStatus::Clear,
        ),
        (
            "elkyc",
            "65f0c1d2e3a4b5c6d7e8f902",
            "customer-5522",
            "PENDING",
            verification,
        ),
        (
            "elkyc",
            "65f0c1d2e3a4b5c6d7e8f903",
            "customer-5523",
            "REJECTED",
            AmlStatus::Rejected,
        ),
        (
            "elkyc",
            "<script>alert(1)</script>",
            "<b>bold</b>",
            "IN_REVIEW",
            AmlStatus::UnderReview,
        ),
        (
            "btcdirect",
            "user-7f3e",
            "user-7f3e",
            "pending_amld5",
            amld5,
        ),
        (
            "btcdirect",
            "user-9a1b",
            "user-9a1b",
            "validated",
            AmlStatus::Clear,
        ),
        (
            "btcdirect",
            "user-0c2d",
            "user-0c2d",
            "FROZEN",
            AmlStatus::Unknown {
                raw: "FROZEN".into(),
            },
        ),
    ];
    for (n, (provider, id, external, raw, status)) in others.into_iter().enumerate() {
        let record = ApplicantRecord::new(ApplicantKey::new(provider, id), raw, status, at(0))
            .with_external_user_id(external)
            .with_provider_updated_at(Some(at(50 + n as i64)));
        put(&store, record, 200 + n as i64).await;
    }
    for i in 0..extra {
        let record = ApplicantRecord::new(
            ApplicantKey::new("elkyc", format!("bulk-{i:05}")),
            "COMPLETED",
            AmlStatus::Clear,
            at(0),
        );
        put(&store, record, 10 + i as i64 % 50).await;
    }

    // Deliveries: processed keys of each source, and one claimed right now.
    let mut done = 0;
    for (inbox, keys) in [
        (
            "heleket",
            vec![
                "heleket:payment:order-1001:locked",
                "heleket:payment:order-1002:paid",
            ],
        ),
        (
            "elkyc",
            vec![
                "elkyc:applicantApproved:65f0c1d2e3a4b5c6d7e8f901",
                "elkyc:<img src=x>",
            ],
        ),
        (
            "tuum",
            vec![
                "tuum:AML_SUBPROCESS_CREATED:n-1",
                "tuum:AML_PAYMENT_RESULTS_PUBLISHED:n-2",
                "tuum:AML_PAYMENT_RESULTS_PUBLISHED:n-3",
            ],
        ),
    ] {
        let inbox = store.inbox(inbox);
        for key in keys {
            let Claim::Acquired(token) = inbox.claim(key).await.unwrap() else {
                panic!("{key} was not new");
            };
            inbox.complete(key, &token).await.unwrap();
            done += 1;
        }
    }
    let Claim::Acquired(_held) = store
        .inbox("tuum")
        .claim("tuum:AML_SUBPROCESS_CREATED:n-4")
        .await
        .unwrap()
    else {
        panic!("not new");
    };
    drop(store);
    Seeded {
        path,
        subjects: 9 + extra as u64,
        action_required: 3,
        elkyc: 4 + extra as u64,
        done,
        claimed: 1,
    }
}

/// The elKYC application's AES-256-GCM key of the durable store's sealed delivery.
pub const ELKYC_KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
/// Tuum's shared secret for the durable store's intake.
const TUUM_SECRET: &str = "shared-with-tuum-0123456789abcdef";
/// What only the decrypted elKYC body shows.
pub const ELKYC_PLAIN: &str = "jane.doe@example.com";

/// The keys of the durable store's Tuum deliveries, by the state the seed leaves them in.
pub const DONE: &str = "n-10";
pub const DEAD: &str = "n-11";
pub const RETRYING: &str = "n-12";
pub const QUEUED: &str = "n-13";

fn tuum_verifier() -> aml_events::WebhookVerifier {
    aml_events::WebhookVerifier::new(
        aml_events::auth::SharedSecretHeader::new(
            "x-tuum-secret",
            aml_events::SecretString::from(TUUM_SECRET),
        )
        .unwrap(),
    )
}

/// Tuum's durable intake: verifies a notification and stores it in `queue`.
async fn tuum_intake(queue: impl Queue + 'static, id: &str) {
    use compliance_core::http::{HeaderMap, HeaderValue};
    use compliance_core::webhook::{Outcome, RequestInfo};
    let processor = aml_events::WebhookProcessor::builder(tuum_verifier())
        .queue(queue)
        .build()
        .unwrap();
    let body = format!(
        r#"{{"notificationId":"{id}","notificationTypeCode":"AML_PAYMENT_RESULTS_PUBLISHED",
            "originalMessageDateTime":"2024-09-13T11:06:32.924Z",
            "data":{{"amlProcessId":"P-{id}","amlProcessResultCode":"APPROVED"}}}}"#
    );
    let mut headers = HeaderMap::new();
    headers.insert("x-tuum-secret", HeaderValue::from_static(TUUM_SECRET));
    let outcome = processor
        .process(&RequestInfo::new(&headers, None), body.as_bytes())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Queued { .. }), "{outcome:?}");
}

/// A Tuum worker on `queue` and `inbox` whose handler fails (`fails`: "the screening service
/// refused ...") or succeeds, giving up after `attempts`.
pub fn tuum_worker(
    queue: impl Queue + 'static,
    inbox: impl Inbox + 'static,
    fails: bool,
    attempts: u32,
) -> compliance_core::webhook::Worker<aml_events::WebhookVerifier> {
    use compliance_core::webhook::{RetrySchedule, Worker, handler_fn};
    let processor = aml_events::WebhookProcessor::builder(tuum_verifier())
        .inbox(inbox)
        .handler(handler_fn(move |event: aml_events::AmlEvent| async move {
            if fails {
                Err(format!(
                    "the screening service refused {}",
                    event.notification_id()
                ))
            } else {
                Ok(())
            }
        }))
        .build()
        .unwrap();
    Worker::builder(processor, queue)
        .retry(
            RetrySchedule::new()
                .first_delay(std::time::Duration::from_secs(3600))
                .max_attempts(Some(attempts)),
        )
        .build()
        .unwrap()
}

/// Fills the durable queues of `store` through the real pipeline (intake, then a worker):
/// Tuum's [`DONE`] processed, [`DEAD`] dead after its one attempt failed, [`RETRYING`]
/// failed once and waiting, [`QUEUED`] not taken yet, and one elKYC delivery queued,
/// sealed with [`ELKYC_KEY`] (its event names [`ELKYC_PLAIN`]).
pub async fn fill_queues(
    queue: impl Fn(&str) -> Arc<dyn Queue>,
    inbox: impl Fn(&str) -> Arc<dyn Inbox>,
) {
    use compliance_core::time::Timestamp;
    use kyc_public_api::encryption::{Cipher, EncryptionSettings, SIGNATURE_HEADER};
    use kyc_public_api::{Envelope, WebhookProcessor as ElkycProcessor, WebhookVerifier as Elkyc};

    let tuum = || queue("tuum");
    tuum_intake(tuum(), DONE).await;
    assert_eq!(
        tuum_worker(tuum(), inbox("tuum"), false, 5)
            .run_once()
            .await
            .unwrap(),
        1
    );
    tuum_intake(tuum(), DEAD).await;
    assert_eq!(
        tuum_worker(tuum(), inbox("tuum"), true, 1)
            .run_once()
            .await
            .unwrap(),
        1
    );
    tuum_intake(tuum(), RETRYING).await;
    assert_eq!(
        tuum_worker(tuum(), inbox("tuum"), true, 5)
            .run_once()
            .await
            .unwrap(),
        1
    );
    tuum_intake(tuum(), QUEUED).await;

    let settings = EncryptionSettings::gcm(ELKYC_KEY);
    let intake = ElkycProcessor::builder(Elkyc::builder(settings.clone()).build().unwrap())
        .queue(queue("elkyc"))
        .build()
        .unwrap();
    let payload = serde_json::json!({
        "type": "applicantApproved",
        "id": "3f6c7c1e-8d0b-4a57-9b1e-0a4f3c2d1e00",
        "externalUserId": ELKYC_PLAIN,
        "appKey": "app-1"
    });
    let (sealed, signature) = Envelope::new(200, payload)
        .seal(&Cipher::new(&settings).unwrap(), Timestamp::now())
        .unwrap();
    let mut headers = compliance_core::http::HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
    let outcome = intake
        .process(
            &compliance_core::webhook::RequestInfo::new(&headers, None),
            &sealed,
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, compliance_core::webhook::Outcome::Queued { .. }),
        "{outcome:?}"
    );
}

/// A SQLite store whose queues [`fill_queues`] filled (no subjects): `dir/durable.sqlite3`.
pub async fn seed_durable(dir: &Path) -> PathBuf {
    let path = dir.join("durable.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    fill_queues(
        |name| Arc::new(store.queue(name)) as Arc<dyn Queue>,
        |name| Arc::new(store.inbox(name)) as Arc<dyn Inbox>,
    )
    .await;
    drop(store);
    path
}

/// The elKYC delivery's key in a store [`fill_queues`] filled.
pub async fn elkyc_key(queue: &dyn Queue) -> String {
    let listed = queue.list(None, 10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    listed[0].key.clone()
}
