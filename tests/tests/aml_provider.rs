//! One question for every provider: `Vec<Box<dyn AmlProvider>>` over the sandbox.

use amld5_verify::{BtcDirectClient, SecretString, UserContext};
use compliance_core::{AmlError, AmlProvider, AmlStatus, Subject, SubjectKind, SubjectRef};
use compliance_sandbox::{NewPayment, Provider, Sandbox, SandboxConfig};
use heleket_aml::HeleketClient;
use kyc_public_api::{CreateApplicant, KycClient};

#[tokio::test]
async fn every_provider_answers_in_the_same_neutral_terms() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();

    let h = sandbox.heleket().credentials();
    let heleket = HeleketClient::builder()
        .merchant(h.merchant)
        .payment_key(h.payment_key)
        .base_url(sandbox.endpoint(Provider::Heleket).url())
        .build()
        .unwrap();
    let e = sandbox.elkyc().credentials();
    let mut kyc = KycClient::builder()
        .base_url(sandbox.endpoint(Provider::Elkyc).url())
        .api_key(e.api_key.clone());
    if let Some(settings) = compliance_e2e::elkyc_settings(&e) {
        kyc = kyc.encryption(settings);
    }
    let kyc = kyc.build().unwrap();
    let b = sandbox.btcdirect().credentials();
    let btcdirect = BtcDirectClient::builder()
        .base_url(sandbox.endpoint(Provider::BtcDirect).url())
        .api_key(SecretString::from(b.api_key.clone()))
        .build()
        .unwrap();

    let locked = sandbox
        .heleket()
        .create_payment(NewPayment::new("order-locked", "10", "USDT"));
    sandbox.heleket().lock_payment(&locked).await.unwrap();
    sandbox
        .heleket()
        .create_payment(NewPayment::new("order-paid", "10", "USDT"));
    kyc.create_applicant(&CreateApplicant::new("person-1", "basic-kyc"))
        .await
        .unwrap();

    let providers: Vec<Box<dyn AmlProvider>> = vec![
        Box::new(heleket),
        Box::new(kyc.aml()),
        Box::new(btcdirect.aml_for(UserContext::identifier(b.user_identifier.clone()))),
    ];
    let expected = [
        (
            Subject::Payment {
                reference: SubjectRef::ExternalId("order-paid".into()),
            },
            "heleket",
            "clear",
        ),
        (
            Subject::Payment {
                reference: SubjectRef::ExternalId("order-locked".into()),
            },
            "heleket",
            "action required",
        ),
        (
            Subject::Applicant {
                reference: SubjectRef::ExternalId("person-1".into()),
            },
            "elkyc",
            "action required",
        ),
        (
            Subject::User {
                reference: SubjectRef::ProviderId(b.user_identifier.clone()),
            },
            "btcdirect",
            "action required",
        ),
    ];
    for (subject, provider, label) in &expected {
        let answering: Vec<_> = providers
            .iter()
            .filter(|p| p.supports(subject.kind()))
            .collect();
        assert_eq!(answering.len(), 1, "exactly one provider handles {subject}");
        let state = answering[0].aml_state(subject).await.unwrap();
        assert_eq!(
            (state.provider.as_ref(), state.status.label()),
            (*provider, *label),
            "{subject}: {state:?}"
        );
        assert_eq!(&state.subject, subject);
        assert!(!state.provider_status.is_empty());
    }
    // The user has not answered AMLD5 yet: the action carries the questions.
    let user_state = providers[2].aml_state(&expected[3].0).await.unwrap();
    assert!(
        matches!(user_state.status, AmlStatus::ActionRequired { ref actions } if !actions.is_empty())
    );

    // A provider asked about a kind it does not handle says so instead of guessing.
    assert!(!providers[0].supports(SubjectKind::User));
    let err = providers[0].aml_state(&expected[3].0).await.unwrap_err();
    assert!(
        matches!(
            err,
            AmlError::Unsupported {
                provider: "heleket",
                ..
            }
        ),
        "{err:?}"
    );
}
