//! kyc-public-api against the simulated elKYC: every endpoint in plain, CBC and GCM modes,
//! encrypted webhooks into an `ApplicantStore`, and the neutral AML view.

use compliance_core::Actionable as _;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use compliance_core::{
    AmlProvider, AmlStatus, MemoryApplicantStore, RiskLevel, Subject, SubjectRef, Timestamp,
};
use compliance_e2e::serve;
use compliance_sandbox::elkyc::ApplicantStatus as SandboxStatus;
use compliance_sandbox::elkyc::risk_score;
use compliance_sandbox::{ElkycConfig, EncryptionMode, Provider, Sandbox, SandboxConfig};
use kyc_public_api::crypto_aml::CryptoReviewStatus;
use kyc_public_api::store;
use kyc_public_api::{
    ApplicantStatus, Blockchain, CreateApplicant, CryptoAmlSearch, CryptoAmlType,
    EncryptionSettings, Error, ExposeSecret, KycClient, TokenRequest, WebhookEvent,
    WebhookProcessor, WebhookReceiver, WebhookVerifier, handler_fn,
};

async fn start(mode: EncryptionMode) -> Sandbox {
    let mut config = SandboxConfig::default().seed(11);
    config.elkyc = ElkycConfig::default().encryption(mode);
    Sandbox::start(config).await.unwrap()
}

fn client(sandbox: &Sandbox) -> KycClient {
    let creds = sandbox.elkyc().credentials();
    let mut builder = KycClient::builder()
        .base_url(sandbox.endpoint(Provider::Elkyc).url())
        .api_key(creds.api_key.clone());
    if let Some(settings) = compliance_e2e::elkyc_settings(&creds) {
        builder = builder.encryption(settings);
    }
    builder.build().unwrap()
}

/// A BTC address the sandbox scores in `band` (found by trying a few).
fn address_in(band: std::ops::RangeInclusive<u8>) -> String {
    (0..10_000)
        .map(|i| format!("bc1qsandboxwallet{i:06}"))
        .find(|a| band.contains(&risk_score("BTC", a)))
        .expect("some address scores in the band")
}

#[tokio::test]
async fn every_endpoint_works_in_plain_cbc_and_gcm() {
    for mode in [
        EncryptionMode::Plain,
        EncryptionMode::Cbc,
        EncryptionMode::Gcm,
    ] {
        let sandbox = start(mode).await;
        let client = client(&sandbox);
        let creds = sandbox.elkyc().credentials();
        let external = "crm/42 ada?ü";

        let created = client
            .create_applicant(
                &CreateApplicant::new(external, "basic-kyc")
                    .email("ada@example.com")
                    .lang("en")
                    .supplied_info(serde_json::json!({"firstName": "Ada"})),
            )
            .await
            .unwrap();
        let id = created.id.clone().unwrap();
        assert_eq!(created.status, Some(ApplicantStatus::Init), "{mode:?}");
        assert_eq!(created.external_user_id.as_deref(), Some(external));
        assert_eq!(created.email.as_deref(), Some("ada@example.com"));
        assert_eq!(
            created.applications.unwrap().app_key.as_deref(),
            Some(creds.app_key.as_str())
        );
        assert_eq!(created.flow.unwrap().name.as_deref(), Some("basic-kyc"));

        let by_external = client.get_applicant(external).await.unwrap();
        assert_eq!(by_external.id.as_deref(), Some(id.as_str()));
        let by_id = client.get_applicant(&id).await.unwrap();
        assert_eq!(by_id.external_user_id.as_deref(), Some(external));
        assert!(by_id.updated_at().is_some());

        let status = client.applicant_status(external).await.unwrap();
        assert_eq!(status.status, Some(ApplicantStatus::Init));

        let moved = client.move_to_flow(&id, "2").await.unwrap();
        assert_eq!(moved.id.as_deref(), Some(id.as_str()));
        let after = client.get_applicant(&id).await.unwrap();
        assert_eq!(after.flow_id.as_deref(), Some("2"));
        assert_eq!(after.flow.unwrap().name.as_deref(), Some("enhanced-kyc"));

        let scheduled = client.schedule_deletion(external).await.unwrap();
        let date = scheduled.scheduled_deletion_date.unwrap();
        assert!(date.parsed().unwrap() > &Timestamp::now());
        let restored = client.restore_applicant(external).await.unwrap();
        assert_eq!(restored.id.as_deref(), Some(id.as_str()));
        assert!(
            client
                .get_applicant(&id)
                .await
                .unwrap()
                .scheduled_deletion_date
                .is_none()
        );

        let token = client
            .verification_token(
                external,
                &TokenRequest::new()
                    .locale("en-US")
                    .ttl_secs(3600)
                    .flow_name("basic-kyc"),
            )
            .await
            .unwrap();
        assert_eq!(token.applicant_id.as_deref(), Some(id.as_str()));
        assert_eq!(token.ttl, Some(3600));
        let left = token.expires_at().unwrap().as_second() - Timestamp::now().as_second();
        assert!((3590..=3600).contains(&left), "{left}");
        assert!(
            token
                .link
                .as_ref()
                .unwrap()
                .expose_secret()
                .starts_with("https://")
        );
        assert!(!format!("{token:?}").contains(token.access_token.expose_secret()));

        let q = client
            .questionnaire(&creds.questionnaire_ids[0])
            .await
            .unwrap();
        assert_eq!(q.id.as_deref(), Some(creds.questionnaire_ids[0].as_str()));
        assert!(q.name.is_some() && q.content.is_some());

        let address = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";
        let found = client
            .search_crypto_aml(&CryptoAmlSearch::address(Blockchain::Btc, address))
            .await
            .unwrap();
        assert_eq!(found.kind, Some(CryptoAmlType::Wallet));
        let report = client
            .crypto_aml_details(found.id.as_deref().unwrap(), &CryptoAmlType::Wallet)
            .await
            .unwrap();
        assert_eq!(report.address.as_deref(), Some(address));
        assert_eq!(
            report.score.unwrap().to_string(),
            risk_score("BTC", address).to_string()
        );
        assert_eq!(report.review_status, Some(CryptoReviewStatus::NotReviewed));
        assert!(report.risk().is_some());
        assert!(!report.uof.is_empty() && !report.sof.is_empty());
        assert!(report.address_info.is_some() && !report.timelines.is_empty());

        let hash = format!("0x{}", "9f".repeat(32));
        let found = client
            .search_crypto_aml(&CryptoAmlSearch::transaction(Blockchain::Eth, &hash))
            .await
            .unwrap();
        assert_eq!(found.kind, Some(CryptoAmlType::Transaction));
        let report = client
            .crypto_aml_details(found.id.as_deref().unwrap(), &CryptoAmlType::Transaction)
            .await
            .unwrap();
        assert_eq!(report.kind, Some(CryptoAmlType::Transaction));

        // The provider's errors come back typed.
        let err = client
            .create_applicant(&CreateApplicant::new(external, "basic-kyc"))
            .await
            .unwrap_err();
        match &err {
            Error::Api(api) => {
                assert_eq!(api.status, 409);
                assert!(api.error.as_deref().unwrap().contains("already exists"));
            }
            other => panic!("{mode:?}: {other:?}"),
        }
        let err = client
            .create_applicant(&CreateApplicant::new("new-user", "no-such-flow"))
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
        assert_eq!(
            client.get_applicant("nobody").await.unwrap_err().status(),
            Some(StatusCode::NOT_FOUND)
        );
        let wrong_key = KycClient::builder()
            .base_url(client.base_url())
            .api_key("pk_wrong")
            .build()
            .unwrap();
        match wrong_key.applicant_status(&id).await.unwrap_err() {
            Error::Api(api) => assert!(api.is_unauthorized()),
            other => panic!("{other:?}"),
        }

        // A client without the keys cannot read an encrypted answer, and says why.
        if mode != EncryptionMode::Plain {
            let keyless = KycClient::builder()
                .base_url(client.base_url())
                .api_key(creds.api_key.clone())
                .build()
                .unwrap();
            assert!(matches!(
                keyless.applicant_status(&id).await,
                Err(Error::EncryptedResponse)
            ));
        }
    }
}

struct Hooks {
    store: Arc<MemoryApplicantStore>,
}

/// A merchant endpoint: the shared receiver, whose handler re-fetches the applicant (the
/// source of truth) into a store.
async fn webhook_endpoint(sandbox: &Sandbox, mode_keys: EncryptionMode) -> (String, Hooks) {
    let creds = sandbox.elkyc().credentials();
    let settings = match mode_keys {
        EncryptionMode::Gcm => EncryptionSettings::gcm(creds.secret_key.clone()),
        _ => EncryptionSettings::cbc(creds.secret_key.clone(), creds.hmac_key.clone()),
    };
    let store = Arc::new(MemoryApplicantStore::new());
    let api = client(sandbox);
    let processor = WebhookProcessor::builder(WebhookVerifier::builder(settings).build().unwrap())
        .handler(handler_fn({
            let store = store.clone();
            move |webhook: WebhookEvent| {
                let (api, store) = (api.clone(), store.clone());
                async move {
                    if let Some(id) = &webhook.event.applicant_id {
                        store::refresh(&api, store.as_ref(), id, Timestamp::now()).await?;
                    }
                    Ok::<(), store::RefreshError>(())
                }
            }
        }))
        .build()
        .unwrap();
    let app = Router::new().route("/elkyc", WebhookReceiver::new(processor).method_router());
    (format!("{}/elkyc", serve(app).await), Hooks { store })
}

#[tokio::test]
async fn encrypted_webhooks_carry_status_changes_into_the_store() {
    for mode in [EncryptionMode::Cbc, EncryptionMode::Gcm] {
        let sandbox = start(mode).await;
        let client = client(&sandbox);
        let (url, hooks) = webhook_endpoint(&sandbox, mode).await;
        let elkyc = sandbox.elkyc();
        elkyc.set_webhook_url(url);

        let created = client
            .create_applicant(&CreateApplicant::new("user-7", "basic-kyc"))
            .await
            .unwrap();
        let id = created.id.unwrap();
        let record = |hooks: &Hooks| hooks.store.all().into_iter().next().unwrap();
        assert_eq!(record(&hooks).provider_status, "INIT", "{mode:?}");
        assert_eq!(record(&hooks).key.provider_id, id);

        for status in [
            SandboxStatus::InProgress,
            SandboxStatus::InReview,
            SandboxStatus::Approved,
        ] {
            let delivery = elkyc.set_status("user-7", status).await.unwrap();
            assert!(delivery.sent.encrypted);
            assert_eq!(delivery.last_status(), Some(200), "{mode:?} {status}");
            assert_eq!(record(&hooks).provider_status, status.as_str());
        }
        let final_record = record(&hooks);
        assert_eq!(hooks.store.all().len(), 1);
        assert_eq!(final_record.aml_status, AmlStatus::Clear);
        assert_eq!(final_record.external_user_id.as_deref(), Some("user-7"));
        assert_eq!(
            elkyc
                .deliveries()
                .iter()
                .map(|d| d.sent.event.clone())
                .collect::<Vec<_>>(),
            [
                "applicantCreated",
                "applicantInProgress",
                "applicantInReview",
                "applicantApproved"
            ]
        );
    }
}

#[tokio::test]
async fn webhooks_under_other_keys_or_unencrypted_are_refused() {
    let sandbox = start(EncryptionMode::Cbc).await;
    let client = client(&sandbox);
    // The receiver expects GCM while the application signs with CBC.
    let (url, hooks) = webhook_endpoint(&sandbox, EncryptionMode::Gcm).await;
    sandbox.elkyc().set_webhook_url(url);
    client
        .create_applicant(&CreateApplicant::new("user-8", "basic-kyc"))
        .await
        .unwrap();
    let sent = sandbox.elkyc().deliveries();
    assert_eq!(sent[0].last_status(), Some(401));

    sandbox.elkyc().set_encryption(EncryptionMode::Plain);
    let delivery = sandbox
        .elkyc()
        .set_status("user-8", SandboxStatus::InProgress)
        .await
        .unwrap();
    assert!(!delivery.sent.encrypted);
    assert_eq!(delivery.last_status(), Some(401));
    assert!(hooks.store.all().is_empty());
}

#[tokio::test]
async fn aml_provider_answers_for_an_applicant_and_for_wallets() {
    let sandbox = start(EncryptionMode::Gcm).await;
    let kyc = client(&sandbox);
    kyc.create_applicant(&CreateApplicant::new("aml-1", "basic-kyc"))
        .await
        .unwrap();
    let providers: Vec<Box<dyn AmlProvider>> = vec![Box::new(kyc.aml())];
    let provider = &providers[0];
    assert_eq!(provider.provider(), "elkyc");

    let applicant = Subject::Applicant {
        reference: SubjectRef::ExternalId("aml-1".into()),
    };
    let state = provider.aml_state(&applicant).await.unwrap();
    assert!(
        matches!(state.status, AmlStatus::ActionRequired { .. }),
        "{state:?}"
    );
    sandbox
        .elkyc()
        .set_status("aml-1", SandboxStatus::InReview)
        .await
        .unwrap();
    let state = provider.aml_state(&applicant).await.unwrap();
    assert_eq!(state.status, AmlStatus::UnderReview);
    assert_eq!(state.provider_status, "IN_REVIEW");
    sandbox
        .elkyc()
        .set_status("aml-1", SandboxStatus::Rejected)
        .await
        .unwrap();
    let state = provider.aml_state(&applicant).await.unwrap();
    assert_eq!(state.status, AmlStatus::Rejected);

    let wallet = |address: String| Subject::Wallet {
        blockchain: "BTC".into(),
        address,
    };
    let low = provider
        .aml_state(&wallet(address_in(0..=30)))
        .await
        .unwrap();
    assert_eq!(low.status, AmlStatus::Clear);
    assert_eq!(low.risk.unwrap().level, RiskLevel::Low);
    assert_eq!(low.provider_status, "UNKNOWN");
    let high = provider
        .aml_state(&wallet(address_in(70..=100)))
        .await
        .unwrap();
    assert_eq!(high.status, AmlStatus::UnderReview);
    assert_eq!(high.risk.unwrap().level, RiskLevel::High);
    assert!(high.updated_at.is_some());
}
