//! amld5-verify against the simulated BTC Direct: login → questions → answers → verified,
//! token expiry mid-run handled with exactly one refresh, local validation before any call.

use amld5_verify::{BtcDirectClient, Error, SecretString, UserContext};
use compliance_core::{AmlProvider, AmlStatus, RequiredAction};
use compliance_sandbox::{Provider, Sandbox, SandboxConfig};

fn client(sandbox: &Sandbox) -> BtcDirectClient {
    let c = sandbox.btcdirect().credentials();
    BtcDirectClient::builder()
        .base_url(sandbox.endpoint(Provider::BtcDirect).url())
        .credentials(c.username, SecretString::from(c.password))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_user_logs_in_answers_the_amld5_questions_and_becomes_verified() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let c = sandbox.btcdirect().credentials();

    let session = client
        .login(&c.user_email, &SecretString::from(c.user_password.clone()))
        .await
        .unwrap();
    let user = UserContext::session(session);

    let aml = client.aml_for(user.clone());
    let before = aml.aml_state(&aml.subject()).await.unwrap();
    let AmlStatus::ActionRequired { actions } = &before.status else {
        panic!("{before:?}")
    };
    assert!(
        matches!(&actions[0], RequiredAction::AnswerQuestions { questions } if questions.len() == 3)
    );
    assert!(
        !client
            .verification_status(&user)
            .await
            .unwrap()
            .is_verified()
    );

    let questions = client.amld5_questions(&user, "nl").await.unwrap();
    assert_eq!(questions.questions.len(), 3);
    let questions = client.amld5_questions(&user, "en").await.unwrap();
    let mut builder = questions.answers();
    for q in &questions.questions {
        builder = builder.answer(q.key.clone(), q.answer_options[0].label.clone());
    }
    let answers = builder.build().unwrap();
    let info = client.submit_amld5_answers(&user, &answers).await.unwrap();
    assert_eq!(info.email_address.as_deref(), Some(c.user_email.as_str()));

    assert!(
        client
            .verification_status(&user)
            .await
            .unwrap()
            .is_verified()
    );
    assert!(sandbox.btcdirect().amld5_answered(&c.user_identifier));
    let after = aml.aml_state(&aml.subject()).await.unwrap();
    assert_eq!(after.status, AmlStatus::Clear, "{after:?}");
}

#[tokio::test]
async fn answers_not_offered_are_refused_before_any_request() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let user = UserContext::identifier(sandbox.btcdirect().credentials().user_identifier);
    let questions = client.amld5_questions(&user, "en").await.unwrap();
    let err = questions
        .answers()
        .answer("mainSourceOfIncome", "Lottery")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("mainSourceOfIncome"), "{err}");
    let counters = sandbox.endpoint(Provider::BtcDirect).counters();
    assert_eq!(counters.count("POST", "/api/v1/user/verify/amld5"), 0);
    assert!(matches!(
        client.amld5_questions(&user, "xx").await,
        Err(Error::Rejected { .. })
    ));
}

#[tokio::test]
async fn token_expiry_during_a_run_costs_one_refresh_for_all_concurrent_calls() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let user = UserContext::identifier(sandbox.btcdirect().credentials().user_identifier);
    client.user_info(&user).await.unwrap();
    let counters = sandbox.endpoint(Provider::BtcDirect).counters();
    assert_eq!(counters.count("POST", "/api/v1/authenticate"), 1);

    // The provider expires the partner token before the client expects it (ER801, HTTP 400).
    sandbox.btcdirect().expire_all_tokens();
    let calls = (0..20).map(|_| {
        let (client, user) = (client.clone(), user.clone());
        tokio::spawn(async move { client.user_info(&user).await })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        counters.count("POST", "/api/v1/refresh"),
        1,
        "one refresh for 20 callers"
    );
    assert_eq!(counters.count("POST", "/api/v1/authenticate"), 1);
}

/// Both tokens expire at the provider at once: each of 50 concurrent calls meets ER801, then
/// (after the partner token is renewed) ER701. One renewal of each token serves all of them,
/// and none sees the ER701.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partner_and_user_expiring_together_cost_one_refresh_each_for_50_calls() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let c = sandbox.btcdirect().credentials();
    let session = client
        .login(&c.user_email, &SecretString::from(c.user_password.clone()))
        .await
        .unwrap();
    let refreshed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = refreshed.clone();
    let user = UserContext::session(session)
        .on_refresh(move |s| sink.lock().unwrap().push(s.identifier.clone()));
    client.user_info(&user).await.unwrap();
    let counters = sandbox.endpoint(Provider::BtcDirect).counters();
    assert_eq!(counters.count("POST", "/api/v1/refresh"), 0);

    sandbox.btcdirect().expire_all_tokens();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (client, user) = (client.clone(), user.clone());
            tokio::spawn(async move { client.user_info(&user).await })
        })
        .collect();
    for call in calls {
        if let Err(e) = call.await.unwrap() {
            panic!("a caller saw {e:?}");
        }
    }
    // `/api/v1/refresh` serves both tokens: the user's refresh is the one `on_refresh` saw.
    assert_eq!(refreshed.lock().unwrap().len(), 1, "one user-token refresh");
    assert_eq!(
        counters.count("POST", "/api/v1/refresh"),
        2,
        "one partner-token refresh and one user-token refresh"
    );
    assert_eq!(counters.count("POST", "/api/v1/authenticate"), 1);
}

#[tokio::test]
async fn wrong_partner_credentials_say_so() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let wrong = BtcDirectClient::builder()
        .base_url(sandbox.endpoint(Provider::BtcDirect).url())
        .credentials("partner-sandbox", SecretString::from("wrong"))
        .build()
        .unwrap();
    let user = UserContext::identifier(sandbox.btcdirect().credentials().user_identifier);
    let err = wrong.user_info(&user).await.unwrap_err();
    assert!(matches!(err, Error::PartnerAuth { .. }), "{err:?}");
    assert!(!format!("{err:?}").contains("wrong\""));
}

#[tokio::test]
async fn a_registered_identifier_names_the_user_afterwards() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let c = sandbox.btcdirect().credentials();
    let session = client
        .login(&c.user_email, &SecretString::from(c.user_password.clone()))
        .await
        .unwrap();
    let user = UserContext::session(session);

    let unknown = UserContext::identifier("partner-user-77");
    assert!(matches!(
        client.user_info(&unknown).await,
        Err(Error::UserAuth { .. })
    ));
    client
        .register_identifier(&user, "partner-user-77", "https://partner.example/return")
        .await
        .unwrap();
    let info = client.user_info(&unknown).await.unwrap();
    assert_eq!(info.email_address.as_deref(), Some(c.user_email.as_str()));
}

/// The seed's own example answers (and the crate README's), sent as they are, are accepted;
/// the user info then carries every documented `destinationTag` shape, and an account that
/// is `not-validated` asks the user to act.
#[tokio::test]
async fn the_seed_answers_every_tag_shape_and_a_not_validated_account() {
    use amld5_verify::user::{AccountStatus, DestinationTag};

    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = client(&sandbox);
    let c = sandbox.btcdirect().credentials();
    let user = UserContext::identifier(c.user_identifier.clone());
    let questions = client.amld5_questions(&user, "en").await.unwrap();
    let answers = questions
        .answers()
        .answer("mainSourceOfIncome", "Salary")
        .answer("annualNetIncome", "From 10.000 to 30.000")
        .answer("employmentStatus", "Employed")
        .build()
        .unwrap();
    let info = client.submit_amld5_answers(&user, &answers).await.unwrap();

    let tags: Vec<Option<DestinationTag>> = info
        .enabled_wallet_addresses
        .iter()
        .map(|w| w.destination_tag.clone())
        .collect();
    assert_eq!(tags.len(), 4);
    assert_eq!(tags[0], None);
    assert_eq!(tags[1], Some(DestinationTag::Number(12341)));
    assert_eq!(tags[2], Some(DestinationTag::Text("ABC1234".into())));
    let per_network = tags[3].clone().unwrap();
    assert_eq!(
        per_network.for_network("XRP"),
        Some(&DestinationTag::Number(12341))
    );
    assert_eq!(
        per_network.for_network("ETH"),
        Some(&DestinationTag::Text("ABC1234".into()))
    );

    let aml = client.aml_for(user.clone());
    assert_eq!(
        aml.aml_state(&aml.subject()).await.unwrap().status,
        AmlStatus::Clear
    );
    sandbox
        .btcdirect()
        .set_account_status(
            &c.user_identifier,
            compliance_sandbox::AccountStatus::NotValidated,
        )
        .unwrap();
    let info = client.user_info(&user).await.unwrap();
    assert_eq!(
        info.status.as_ref().and_then(|s| s.status.clone()),
        Some(AccountStatus::NotValidated)
    );
    let state = aml.aml_state(&aml.subject()).await.unwrap();
    assert_eq!(
        state.status,
        AmlStatus::ActionRequired {
            actions: Vec::new()
        },
        "{state:?}"
    );
    assert!(state.provider_status.starts_with("account=not-validated"));
}
