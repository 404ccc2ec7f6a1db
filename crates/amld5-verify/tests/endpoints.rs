//! Every endpoint: method, path, headers (exactly one partner credential, the user's where
//! needed) and body sent; the seed examples parsed back.

mod common;

use amld5_verify::Actionable as _;
use amld5_verify::user::{DestinationTag, DocumentType, StepStatus, WalletType};
use amld5_verify::{
    Amld5Questions, Error, ErrorCode, ExposeSecret, NextStep, SecretString, UserContext,
    UserSession,
};
use common::*;
use mockito::Matcher;

#[tokio::test]
async fn login_questions_answers_status_and_info_send_exactly_these_requests() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let rec = Recorder::default();

    let login = server
        .mock("POST", "/api/v1/user/login")
        .match_header("authorization", "Bearer pt-1")
        .match_header("x-api-key", Matcher::Missing)
        .match_header("user-authorization", Matcher::Missing)
        .match_header("user-identifier", Matcher::Missing)
        .with_body_from_request(rec.respond_with(
            r#"{"token":"ut-1","refreshToken":"ur-1","identifier":"user-42"}"#.into(),
        ))
        .expect(1)
        .create_async()
        .await;
    let user_headers = |m: mockito::Mock| {
        m.match_header("authorization", "Bearer pt-1")
            .match_header("x-api-key", Matcher::Missing)
            .match_header("user-authorization", "Bearer ut-1")
            .match_header("user-identifier", Matcher::Missing)
            .expect(1)
    };
    let questions = user_headers(server.mock("GET", "/api/v1/user/verify/amld5?locale=nl"))
        .with_body_from_request(rec.respond_with(fixture("amld5_questions.json")))
        .create_async()
        .await;
    let submit = user_headers(server.mock("POST", "/api/v1/user/verify/amld5"))
        .match_header("content-type", "application/json")
        .match_body(Matcher::JsonString(fixture("amld5_answers_request.json")))
        .with_body_from_request(rec.respond_with(fixture("user_info.json")))
        .create_async()
        .await;
    let status = user_headers(server.mock("GET", "/api/v2/user/verification-status"))
        .with_body_from_request(rec.respond_with("[]".into()))
        .create_async()
        .await;
    let info = user_headers(server.mock("GET", "/api/v1/user/info"))
        .with_body_from_request(rec.respond_with(fixture("user_info.json")))
        .create_async()
        .await;
    let register = user_headers(server.mock("POST", "/api/v1/user/register-identifier"))
        .with_status(204)
        .with_body_from_request(rec.respond_with(String::new()))
        .create_async()
        .await;

    let client = client(&server);
    let session = client
        .login("john@example.com", &SecretString::from("user-pw-S3cret"))
        .await
        .unwrap();
    assert_eq!(session.identifier, "user-42");
    assert!(session.expires_at.is_some());
    let user = UserContext::session(session);

    let q = client.amld5_questions(&user, "nl").await.unwrap();
    insta::assert_json_snapshot!("questions_parsed", q);
    let answers = q
        .answers()
        .answer("employmentStatus", "Employed")
        .answer("mainSourceOfIncome", "Salary")
        .answer("annualNetIncome", "From 10.000 to 30.000")
        .build()
        .unwrap();
    let after = client.submit_amld5_answers(&user, &answers).await.unwrap();
    assert_eq!(after.first_name.as_deref(), Some("John"));
    assert!(
        client
            .verification_status(&user)
            .await
            .unwrap()
            .is_verified()
    );
    client.user_info(&user).await.unwrap();
    client
        .register_identifier(&user, "partner-user-7", "https://partner.example/return")
        .await
        .unwrap();

    for m in [auth, login, questions, submit, status, info, register] {
        m.assert_async().await;
    }
    insta::assert_json_snapshot!("requests_user_flow", rec.take());
}

#[tokio::test]
async fn identifiers_that_cannot_be_a_header_are_refused_before_any_request() {
    let mut server = mockito::Server::new_async().await;
    let none = server
        .mock("GET", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = api_key_client(&server);
    let err = client
        .user_info(&UserContext::identifier("user\n42"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(compliance_core::Error::InvalidRequest {
                field: "user identifier",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(err.next_step(), NextStep::FixRequest);
    assert!(!err.to_string().contains("user\n42"), "{err}");
    none.assert_async().await;
}

#[tokio::test]
async fn api_key_sends_exactly_one_partner_header() {
    let mut server = mockito::Server::new_async().await;
    let rec = Recorder::default();
    let m = server
        .mock("GET", "/api/v2/user/verification-status")
        .match_header("x-api-key", "api-key-S3cret")
        .match_header("authorization", Matcher::Missing)
        .match_header("user-identifier", "user-42")
        .match_header("user-authorization", Matcher::Missing)
        .with_body_from_request(rec.respond_with(fixture("verification_status_open.json")))
        .expect(1)
        .create_async()
        .await;
    let client = api_key_client(&server);
    let status = client
        .verification_status(&UserContext::identifier("user-42"))
        .await
        .unwrap();
    m.assert_async().await;
    let questions = status.amld5_questions().unwrap().unwrap();
    assert_eq!(questions.questions[0].key, "employmentStatus");
    insta::assert_json_snapshot!("verification_status_parsed", status);
    insta::assert_json_snapshot!("requests_api_key", rec.take());
}

#[test]
fn seed_user_info_parses_every_field() {
    let info: amld5_verify::UserInfo =
        compliance_core::json::decode("user info", fixture("user_info.json").as_bytes()).unwrap();
    let limits = info.limits.as_ref().unwrap();
    let sell = limits.sell.as_ref().unwrap();
    assert_eq!(
        sell.remaining.as_ref().unwrap().amount.to_string(),
        "1234.5678"
    );
    assert_eq!(
        sell.interval.as_ref().unwrap().parsed().unwrap().get_days(),
        1
    );
    assert_eq!(
        info.enabled_wallet_addresses[0].destination_tag,
        Some(DestinationTag::Text("ABC1234".into()))
    );
    assert_eq!(
        info.enabled_wallet_addresses[1].destination_tag,
        Some(DestinationTag::Number(12341))
    );
    assert_eq!(
        info.enabled_wallet_addresses[1].wallet_type,
        Some(WalletType::Vasp)
    );
    assert_eq!(
        info.enabled_wallet_addresses[0].id.as_deref(),
        Some("189632")
    );
    #[allow(deprecated)]
    let ibans = &info.enabled_iban_accounts;
    assert_eq!(ibans[0].holder.as_deref(), Some("J. Doe"));
    let details = info.status.as_ref().unwrap().details.as_ref().unwrap();
    assert_eq!(
        details.identity_verification_status,
        Some(StepStatus::Pending)
    );
    assert_eq!(
        details.identity_document_verification_status[0].document_type,
        Some(DocumentType::Passport)
    );
    assert_eq!(info.is_business, Some(false));
    assert_eq!(
        info.registration_date.unwrap().to_string(),
        "2019-01-01T14:13:55Z"
    );
    insta::assert_json_snapshot!("user_info_parsed", info);
}

#[test]
fn unknown_values_and_extra_fields_parse() {
    let body = br#"{"isBusiness":true,"newField":{"x":1},
        "status":{"status":"frozen","details":{"amld5VerificationStatus":"skipped",
        "identityDocumentVerificationStatus":[{"documentType":"Visa","documentSide":"Top","status":"expired"}]}},
        "enabledWalletAddresses":[{"walletType":"custodial","verificationStatus":"done","status":"archived"}],
        "limits":{"buy":{"limit":{"amount":0.123456789012345678,"currencyCode":"EUR"},"interval":"monthly"}}}"#;
    let info: amld5_verify::UserInfo = compliance_core::json::decode("user info", body).unwrap();
    assert_eq!(info.is_business, Some(true));
    let status = info.status.unwrap();
    assert_eq!(status.status.unwrap().as_str(), "frozen");
    let details = status.details.unwrap();
    assert_eq!(
        details.amld5_verification_status.unwrap().as_str(),
        "skipped"
    );
    let doc = &details.identity_document_verification_status[0];
    assert_eq!(doc.document_type.as_ref().unwrap().as_str(), "Visa");
    assert_eq!(doc.document_side.as_ref().unwrap().as_str(), "Top");
    assert_eq!(doc.status.as_ref().unwrap().as_str(), "expired");
    let buy = info.limits.unwrap().buy.unwrap();
    assert_eq!(
        buy.limit.unwrap().amount.to_string(),
        "0.123456789012345678"
    );
    assert_eq!(buy.interval.unwrap().raw(), Some("monthly"));
}

#[test]
fn seed_answer_example_round_trips_through_the_builder() {
    let questions: Amld5Questions = serde_json::from_str(&fixture("amld5_questions.json")).unwrap();
    let seed: Vec<serde_json::Value> =
        serde_json::from_str(&fixture("amld5_answers_request.json")).unwrap();
    let mut builder = questions.answers();
    for a in &seed {
        builder = builder.answer(a["key"].as_str().unwrap(), a["answer"].as_str().unwrap());
    }
    let answers = builder.build().unwrap();
    assert_eq!(
        serde_json::to_value(&answers).unwrap(),
        serde_json::Value::Array(seed)
    );
}

#[tokio::test]
async fn invalid_answers_are_refused_before_any_request() {
    let mut server = mockito::Server::new_async().await;
    let none = server
        .mock("POST", Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let questions: Amld5Questions = serde_json::from_str(&fixture("amld5_questions.json")).unwrap();
    let err: Error = questions
        .answers()
        .answer("mainSourceOfIncome", "Salary")
        .answer("annualNetIncome", "a lot")
        .answer("employmentStatus", "Employed")
        .build()
        .unwrap_err()
        .into();
    assert_eq!(err.next_step(), NextStep::FixRequest);
    assert!(err.to_string().contains("annualNetIncome"), "{err}");
    let err = questions
        .answers()
        .answer("mainSourceOfIncome", "Salary")
        .answer("employmentStatus", "Employed")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("annualNetIncome"), "{err}");
    let _ = client(&server);
    none.assert_async().await;
}

async fn failing(status: usize, body: &str) -> Error {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/v1/user/info")
        .with_status(status)
        .with_body(body)
        .create_async()
        .await;
    api_key_client(&server)
        .user_info(&UserContext::identifier("user-42"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn provider_error_codes_map_to_what_to_do() {
    for (code, status, step) in [
        ("ER803", 400, NextStep::FixCredentials),
        ("ER805", 401, NextStep::FixCredentials),
        ("ER806", 401, NextStep::FixCredentials),
        ("ER999", 400, NextStep::ContactProvider),
        ("ER999", 500, NextStep::ContactProvider),
        ("ER099", 400, NextStep::FixRequest),
        ("ER101", 400, NextStep::FixRequest),
        ("ER702", 401, NextStep::LogInUserAgain),
    ] {
        let err = failing(status, &error_body(code)).await;
        assert_eq!(err.next_step(), step, "{code}: {err:?}");
        assert!(err.has_code(&ErrorCode::from(code)), "{code}");
        let e = &err.api_errors()[0];
        assert_eq!(e.message, format!("message of {code}"));
        assert_eq!(
            e.solution.as_deref(),
            Some(format!("solution of {code}").as_str())
        );
    }
    let err = failing(400, &error_body("ER803")).await;
    assert!(matches!(err, Error::PartnerAuth { .. }));
    let err = failing(400, &error_body("ER999")).await;
    assert!(matches!(err, Error::ProviderFailure { .. }) && !err.is_retryable());
}

#[tokio::test]
async fn multi_code_error_bodies_are_kept_whole() {
    let err = failing(400, &fixture("errors_all.json")).await;
    let codes: Vec<&str> = err.api_errors().iter().map(|e| e.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "ER100", "ER101", "ER800", "ER801", "ER802", "ER803", "ER805", "ER806", "ER999"
        ]
    );
    assert_eq!(err.next_step(), NextStep::FixCredentials);
    let err = failing(
        400,
        r#"{"errors":{"ER100":{"code":"ER100","message":"a","solution":"b"},"ER101":{"code":"ER101","message":"c","solution":"d"}}}"#,
    )
    .await;
    assert!(matches!(&err, Error::Rejected { errors, .. } if errors.as_slice().len() == 2));
    assert!(
        err.to_string().contains("ER100: a (b); ER101: c (d)"),
        "{err}"
    );
    let err = failing(
        400,
        r#"{"errors":{"ER4242":{"code":"ER4242","message":"new"}}}"#,
    )
    .await;
    assert_eq!(
        err.api_errors()[0].code,
        ErrorCode::Unknown("ER4242".into())
    );
    let err = failing(429, &error_body("ER999")).await;
    assert!(matches!(
        err,
        Error::Core(compliance_core::Error::RateLimited { .. })
    ));
    let err = failing(200, "{not json").await;
    assert_eq!(err.next_step(), NextStep::ReportProviderChange);
}

#[test]
fn debug_of_sessions_and_contexts_shows_no_token() {
    let session = UserSession::new("ut-SECRET", "ur-SECRET", "user-42");
    let ctx = UserContext::session(session.clone());
    for text in [format!("{session:?}"), format!("{ctx:?}")] {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("user-42"));
    }
    assert_eq!(
        ctx.session_snapshot().unwrap().token.expose_secret(),
        "ut-SECRET"
    );
}

/// A read answered 5xx is retried by the transport, unless BTC Direct's own error in it says
/// another try does not help (`ER999`: contact support): then it is sent once.
#[tokio::test]
async fn a_server_error_is_retried_unless_its_code_says_contact_support() {
    use amld5_verify::{BtcDirectClient, RetryPolicy, TransportConfig};
    use std::time::Duration;

    for (body, sent) in [
        (error_body("ER999"), 1),
        (String::new(), 3),
        (error_body("ER4242"), 3),
    ] {
        let mut server = mockito::Server::new_async().await;
        let mock = server
            .mock("GET", "/api/v1/user/info")
            .with_status(503)
            .with_body(&body)
            .expect(sent)
            .create_async()
            .await;
        let client = BtcDirectClient::builder()
            .base_url(server.url())
            .api_key("api-key-S3cret")
            .transport_config(
                TransportConfig::default().retry(
                    RetryPolicy::default()
                        .max_attempts(3)
                        .backoff(Duration::from_millis(1), Duration::from_millis(2)),
                ),
            )
            .build()
            .unwrap();
        let err = client
            .user_info(&UserContext::identifier("user-42"))
            .await
            .unwrap_err();
        mock.assert_async().await;
        assert_eq!(err.is_retryable(), sent > 1, "{body}: {err:?}");
    }
}

/// `authenticate()` checks the partner credentials at start-up: one `POST /authenticate`,
/// whose token the next call reuses; refused credentials are `FixCredentials` at once.
#[tokio::test]
async fn authenticate_checks_the_partner_credentials_up_front() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let login = server
        .mock("POST", "/api/v1/user/login")
        .match_header("authorization", "Bearer pt-1")
        .with_body(r#"{"token":"ut-1","refreshToken":"ur-1","identifier":"user-42"}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    c.authenticate().await.unwrap();
    auth.assert_async().await;
    c.login("jane@example.com", &SecretString::from("pw"))
        .await
        .unwrap();
    auth.assert_async().await;
    login.assert_async().await;

    let mut server = mockito::Server::new_async().await;
    let refused = server
        .mock("POST", "/api/v1/authenticate")
        .with_status(401)
        .with_body(error_body("ER805"))
        .expect(1)
        .create_async()
        .await;
    let err = client(&server).authenticate().await.unwrap_err();
    assert_eq!(err.next_step(), NextStep::FixCredentials, "{err:?}");
    refused.assert_async().await;

    // An API key has no call that checks it alone: nothing is sent.
    let server = mockito::Server::new_async().await;
    api_key_client(&server).authenticate().await.unwrap();
}
