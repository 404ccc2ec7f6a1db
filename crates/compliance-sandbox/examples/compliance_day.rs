//! A day in a compliance team, offline: every client in the workspace against the sandbox.
//!
//! Run with `cargo run -p compliance-sandbox --example compliance_day`.
//!
//! The walkthrough is [`run`], against a running sandbox; the workspace's secret-leak test
//! (`tests/tests/secret_leak.rs`) runs it too, with every API call going through a tap.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aml_events::auth::SharedSecretHeader;
use aml_events::{AmlEvent, EventBody};
use amld5_verify::{BtcDirectClient, UserContext};
use axum::Router;
use compliance_core::webhook::{BoxError, Processor, Receiver, handler_fn};
use compliance_core::{
    AmlProvider, AmlState, AmlStatus, MemoryApplicantStore, RequiredAction, SecretString, Subject,
    SubjectRef, Timestamp,
};
use compliance_sandbox::elkyc::risk_score;
use compliance_sandbox::{
    ApplicantStatus, DeliveryOptions, EncryptionMode, LinkStatus, NewPayment, Provider, Sandbox,
    SandboxConfig, TuumEvent,
};
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

/// The sandbox the walkthrough runs against: seed 2026, Tuum signing its deliveries with a
/// shared secret.
pub fn sandbox_config() -> SandboxConfig {
    let mut config = SandboxConfig::default().seed(2026);
    config.tuum.auth_header = Some(("x-tuum-secret".into(), "agreed-out-of-band".into()));
    config
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sandbox = Sandbox::start(sandbox_config()).await?;
    run(&sandbox, &|provider| sandbox.endpoint(provider).url()).await
}

/// The day, against `sandbox`; every client reaches its provider's API at
/// `api_url(provider)` (the sandbox's own URL, or a proxy in front of it).
pub async fn run(sandbox: &Sandbox, api_url: &dyn Fn(Provider) -> String) -> Result<(), Error> {
    let started = std::time::Instant::now();
    println!(
        "Compliance day — every provider simulated locally (seed 2026), no credentials, no network\n"
    );

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
    let store = Arc::new(MemoryApplicantStore::new());
    // Signature and decryption, deduplication on the payload, then the applicant re-fetched
    // from the API (the source of truth) into the store.
    let processor = Processor::builder(kyc_public_api::WebhookVerifier::builder(settings).build()?)
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
    for record in store.all() {
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
    let processor = Processor::builder(aml_events::WebhookVerifier::new(SharedSecretHeader::new(
        "x-tuum-secret",
        SecretString::from("agreed-out-of-band"),
    )?))
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
        for report in tuum.send(event, options).await? {
            deliveries += 1;
            step(format!(
                "delivery of {} answered {:?}",
                report.notification_id, report.attempts
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
        "{deliveries} deliveries, {} processed exactly once:",
        processed.len()
    ));
    for line in &processed {
        step(format!("  {line}"));
    }

    // ── One table ─────────────────────────────────────────────────────────────────────
    println!("\nEvery subject's AML state, asked through Vec<Box<dyn AmlProvider>>");
    let providers: Vec<Box<dyn AmlProvider>> = vec![
        Box::new(heleket.clone()),
        Box::new(kyc.clone()),
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
    println!("\nDone in {:.1?}.", started.elapsed());
    Ok(())
}
