//! A temporary SQLite store seeded from the sandbox: Heleket payments asked through the
//! `AmlProvider` trait (a locked one needs its questionnaire, a paid one is clear), records
//! of the other providers as their receivers write them, a subject id `<script>`, and the
//! inbox keys of processed and in-flight deliveries.

use std::path::{Path, PathBuf};

use compliance_core::aml::{AmlProvider, AmlStatus, Question, RequiredAction, Subject, SubjectRef};
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
