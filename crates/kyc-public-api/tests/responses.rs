//! What reality sends besides the docs' examples: nulls, missing fields, unknown enum values,
//! error bodies, encrypted data without keys, tampered responses; and requests refused before
//! any I/O.

mod common;

use common::{API_KEY, Harness, Mode};
use compliance_core::http::{RetryPolicy, TransportConfig};
use kyc_public_api::Actionable as _;
use kyc_public_api::applicant::{FlowType, MonitoringPeriod, ServiceStatus, StepType};
use kyc_public_api::encryption::{EncryptionError, EncryptionSettings, SIGNATURE_HEADER};
use kyc_public_api::{
    ApplicantStatus, Blockchain, CreateApplicant, CryptoAmlSearch, Error, KycClient, NextStep,
    TokenRequest,
};
use std::time::Duration;

async fn plain_get(fixture: &str) -> kyc_public_api::Applicant {
    let mut h = Harness::new(Mode::Plain).await;
    let (mock, _) = h
        .expect("GET", "/api/public/applicant/a-1", None, 200, fixture)
        .await;
    let applicant = h.client.get_applicant("a-1").await.unwrap();
    mock.assert_async().await;
    applicant
}

#[tokio::test]
async fn nulls_everywhere_parse() {
    let a = plain_get("applicant_nulls.response").await;
    assert_eq!(
        a.id.as_deref(),
        Some("6f1c2b9e-2d7a-4f2b-9a51-0c3e8d7b1a42")
    );
    assert_eq!(a.status, None);
    assert!(a.review.as_ref().unwrap().warnings.is_empty());
    assert_eq!(a.services_data.len(), 2);
    assert!(
        a.services_data[1].data.as_ref().unwrap().graphics[0]
            .data
            .is_empty()
    );
    insta::assert_json_snapshot!("applicant_nulls.response", a);
}

#[tokio::test]
async fn missing_fields_parse() {
    let a = plain_get("applicant_minimal.response").await;
    assert_eq!(a.id.as_deref(), Some("a-1"));
    assert_eq!(
        a,
        serde_json::from_str::<kyc_public_api::Applicant>(r#"{"id":"a-1"}"#).unwrap()
    );
    assert!(a.services_data.is_empty() && a.review.is_none() && a.updated_at().is_none());
}

#[tokio::test]
async fn unknown_enum_values_and_fields_parse_and_round_trip() {
    let a = plain_get("applicant_unknown.response").await;
    assert_eq!(
        a.status,
        Some(ApplicantStatus::Unknown("PENDING_DOCUMENTS".into()))
    );
    let s = &a.services_data[0];
    assert_eq!(s.service, Some(StepType::Unknown("NFC_CHIP_READ".into())));
    assert_eq!(s.status, Some(ServiceStatus::Unknown("APPROVED".into())));
    assert_eq!(s.kind, Some(FlowType::Unknown("SCHEDULED".into())));
    let flow = a.flow.as_ref().unwrap();
    assert_eq!(flow.id.as_deref(), Some("12"));
    assert_eq!(flow.services[1], StepType::Unknown("VIDEO_CALL".into()));
    assert_eq!(
        a.aml_monitoring.as_ref().unwrap().period,
        Some(MonitoringPeriod::Unknown("WEEKLY".into()))
    );
    // Nanosecond precision and the offset's instant are kept.
    let at = a.updated_at().unwrap();
    assert_eq!(at.subsec_nanosecond(), 123_456_789);
    assert_eq!(at, "2025-07-04T10:01:17.123456789Z".parse().unwrap());
    assert_eq!(
        a.review.as_ref().unwrap().warnings,
        ["DUPLICATE_FACE", "LOW_QUALITY"]
    );
    insta::assert_json_snapshot!("applicant_unknown.response", a);
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains(r#""status":"PENDING_DOCUMENTS""#));
}

async fn raw_response(status: usize, body: &str, headers: &[(&str, &str)], mode: Mode) -> Error {
    let mut h = Harness::new(mode).await;
    let mut mock = h
        .server
        .mock("GET", "/api/public/applicant/a-1/status")
        .with_status(status)
        .with_body(body);
    for (k, v) in headers {
        mock = mock.with_header(*k, v);
    }
    let mock = mock.expect_at_least(1).create_async().await;
    let client = KycClient::builder()
        .base_url(h.server.url())
        .api_key(API_KEY)
        .transport_config(TransportConfig::default().retry(RetryPolicy::none()));
    let client = match mode.settings() {
        Some(s) => client.encryption(s),
        None => client,
    }
    .build()
    .unwrap();
    let err = client.applicant_status("a-1").await.unwrap_err();
    mock.assert_async().await;
    err
}

#[tokio::test]
async fn both_error_shapes_become_api_errors() {
    let err = raw_response(
        400,
        r#"{"statusCode":400,"message":["flowId must be a string"],"error":"Bad Request"}"#,
        &[],
        Mode::Plain,
    )
    .await;
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.message.as_deref(), Some("flowId must be a string"));
    assert_eq!(api.error.as_deref(), Some("Bad Request"));
    assert!(!err.is_retryable());

    let err = raw_response(
        404,
        r#"{"status":false,"error":"Applicant not found","time":"2021-08-20T14:52:33.648Z"}"#,
        &[],
        Mode::Plain,
    )
    .await;
    assert_eq!(
        err.to_string(),
        "elKYC answered HTTP 404: Applicant not found"
    );

    // HTTP 200 but `status: false`.
    let err = raw_response(
        200,
        r#"{"status":false,"error":{"message":"nope"}}"#,
        &[],
        Mode::Plain,
    )
    .await;
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.error.as_deref(), Some("nope"));

    let err = raw_response(401, "Unauthorized", &[], Mode::Plain).await;
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert!(api.is_unauthorized());
    assert_eq!(api.body.as_str(), "Unauthorized");

    let err = raw_response(429, "slow down", &[("retry-after", "7")], Mode::Plain).await;
    assert!(err.is_retryable());
    assert!(matches!(
        err,
        Error::Core(compliance_core::Error::RateLimited {
            retry_after: Some(d), ..
        }) if d == Duration::from_secs(7)
    ));
}

#[tokio::test]
async fn encrypted_data_without_keys_says_so() {
    let err = raw_response(
        200,
        r#"{"status":true,"statusCode":200,"data":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff","time":"2021-08-20T14:52:33.648Z"}"#,
        &[(SIGNATURE_HEADER, "00")],
        Mode::Plain,
    )
    .await;
    assert!(matches!(err, Error::EncryptedResponse));
    assert!(
        err.to_string()
            .starts_with("response is encrypted: configure the application's keys"),
        "{err}"
    );
}

#[tokio::test]
async fn tampered_or_unsigned_encrypted_responses_are_refused() {
    for mode in [Mode::Cbc, Mode::Gcm] {
        let h = Harness::new(mode).await;
        let (body, sig) = h.envelope(200, r#"{"id":"a-1","status":"APPROVED"}"#);
        let sig = sig.unwrap();
        drop(h);
        // A flipped hex digit in `data`.
        let start = body.find(r#""data":""#).unwrap() + 8;
        let mut tampered = body.clone().into_bytes();
        tampered[start + 40] = if tampered[start + 40] == b'0' {
            b'1'
        } else {
            b'0'
        };
        let tampered = String::from_utf8(tampered).unwrap();
        let err = raw_response(200, &tampered, &[(SIGNATURE_HEADER, &sig)], mode).await;
        assert!(
            matches!(err, Error::Encryption(EncryptionError::SignatureMismatch)),
            "{mode:?}: {err:?}"
        );
        let err = raw_response(200, &body, &[], mode).await;
        assert!(
            matches!(err, Error::Encryption(EncryptionError::MissingSignature)),
            "{mode:?}: {err:?}"
        );
        // The untouched response passes.
        let mut h = Harness::new(mode).await;
        let ok = h
            .server
            .mock("GET", "/api/public/applicant/a-1/status")
            .with_body(&body)
            .with_header(SIGNATURE_HEADER, &sig)
            .create_async()
            .await;
        let status = h.client.applicant_status("a-1").await.unwrap();
        assert_eq!(status.status, Some(ApplicantStatus::Approved));
        ok.assert_async().await;
    }
}

#[tokio::test]
async fn a_client_with_keys_still_reads_plain_data() {
    let err = raw_response(
        200,
        r#"{"status":true,"data":{"id":"a-1","status":7}}"#,
        &[],
        Mode::Cbc,
    )
    .await;
    // Plain `data` is decoded (and a wrong type names its path).
    let Error::Core(compliance_core::Error::Decode { path, .. }) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "status");
}

#[tokio::test]
async fn create_is_not_retried_on_5xx() {
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/api/public/applicant")
        .with_status(503)
        .with_body(r#"{"statusCode":503,"message":"Service Unavailable"}"#)
        .expect(1)
        .create_async()
        .await;
    let client = KycClient::builder()
        .base_url(server.url())
        .api_key(API_KEY)
        .transport_config(
            TransportConfig::default().retry(
                RetryPolicy::default()
                    .max_attempts(4)
                    .backoff(Duration::from_millis(1), Duration::from_millis(2)),
            ),
        )
        .build()
        .unwrap();
    let err = client
        .create_applicant(&CreateApplicant::new("u-1", "basic-kyc"))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    mock.assert_async().await;

    // A read is retried under the same policy.
    let get = server
        .mock("GET", "/api/public/applicant/u-1")
        .with_status(503)
        .expect(4)
        .create_async()
        .await;
    assert!(client.get_applicant("u-1").await.is_err());
    get.assert_async().await;
}

#[tokio::test]
async fn invalid_requests_are_refused_before_any_io() {
    let mut server = mockito::Server::new_async().await;
    let any = server
        .mock("POST", mockito::Matcher::Any)
        .expect(0)
        .create_async()
        .await;
    let client = KycClient::builder()
        .base_url(server.url())
        .api_key(API_KEY)
        .build()
        .unwrap();
    let field = |e: Error| match e {
        Error::Core(compliance_core::Error::InvalidRequest { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let too_long = TokenRequest::new().ttl_secs(3_153_600_001);
    assert_eq!(
        field(
            client
                .verification_token("a-1", &too_long)
                .await
                .unwrap_err()
        ),
        "ttl"
    );
    let bad_hash = CryptoAmlSearch::transaction(Blockchain::Btc, "0xdeadbeef");
    assert_eq!(
        field(client.search_crypto_aml(&bad_hash).await.unwrap_err()),
        "txHash"
    );
    assert_eq!(
        field(client.move_to_flow("a-1", "").await.unwrap_err()),
        "flowId"
    );
    assert_eq!(
        field(client.restore_applicant("..").await.unwrap_err()),
        "applicantId"
    );
    assert_eq!(
        field(
            client
                .create_applicant(&CreateApplicant::new("", "f"))
                .await
                .unwrap_err()
        ),
        "externalUserId"
    );
    any.assert_async().await;
}

#[test]
fn debug_of_client_and_settings_reveals_no_key_or_token() {
    let secret = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    let hmac = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let api_key = "super-secret-api-key-value";
    let settings = EncryptionSettings::cbc(secret, hmac);
    let builder = KycClient::builder()
        .base_url("https://kyc.example.test")
        .api_key(api_key)
        .encryption(settings.clone());
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let receiver = kyc_public_api::WebhookVerifier::builder(settings.clone())
        .build()
        .unwrap();
    for text in [
        format!("{client:?}"),
        builder_debug,
        format!("{settings:?}"),
        format!("{receiver:?}"),
        format!("{:?}", kyc_public_api::Cipher::new(&settings).unwrap()),
    ] {
        for needle in [&secret[..12], &hmac[12..24], api_key] {
            assert!(!text.contains(needle), "{needle} leaked in {text}");
        }
    }
    assert!(format!("{client:?}").contains("https://kyc.example.test"));
    let token: kyc_public_api::VerificationToken = serde_json::from_str(
        r#"{"accessToken":"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl","link":"https://verify.test/?t=abc123secret"}"#,
    )
    .unwrap();
    let debug = format!("{token:?}");
    assert!(
        !debug.contains("eyJ") && !debug.contains("abc123secret"),
        "{debug}"
    );
}

/// A 404 that is not elKYC's own "not found" (another server's page, or NestJS's "Cannot GET"
/// for a route that does not exist) is the base URL's fault: fix the configuration, and the
/// error shows the URL requested. elKYC's own "Applicant not found" stays a 404 to fix the
/// request.
#[tokio::test]
async fn a_404_for_a_route_that_does_not_exist_is_configuration() {
    for body in [
        "<html><body>Not Found</body></html>",
        r#"{"statusCode":404,"message":"Cannot GET /api/public/applicant/a-1/status","error":"Not Found"}"#,
    ] {
        let err = raw_response(404, body, &[], Mode::Plain).await;
        assert_eq!(
            err.next_step(),
            NextStep::FixConfiguration,
            "{body}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("/api/public/applicant/a-1/status") && text.contains("base URL"),
            "{text}"
        );
    }
    let err = raw_response(
        404,
        r#"{"status":false,"statusCode":404,"error":"Applicant not found"}"#,
        &[],
        Mode::Plain,
    )
    .await;
    assert_eq!(err.next_step(), NextStep::FixRequest, "{err:?}");
}

/// A create whose 201 answer fails to decrypt or verify may still have created the
/// applicant: the error says so, and a read's does not.
#[tokio::test]
async fn a_write_whose_answer_fails_to_decrypt_says_the_write_may_have_been_done() {
    let mut h = Harness::new(Mode::Gcm).await;
    let (body, signature) = h.envelope(201, r#"{"id":"a-1"}"#);
    let mut wrong = signature.unwrap().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
    for (method, path) in [
        ("POST", "/api/public/applicant"),
        ("GET", "/api/public/applicant/u-1"),
    ] {
        h.server
            .mock(method, path)
            .with_status(if method == "POST" { 201 } else { 200 })
            .with_header(SIGNATURE_HEADER, &wrong)
            .with_body(&body)
            .create_async()
            .await;
    }
    let err = h
        .client
        .create_applicant(&CreateApplicant::new("u-1", "basic-kyc"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("may have been done"), "{text}");
    assert!(text.contains("signature does not match"), "{text}");
    assert_eq!(err.next_step(), NextStep::DoNotTrust);

    let err = h.client.get_applicant("u-1").await.unwrap_err();
    assert!(
        matches!(err, Error::Encryption(EncryptionError::SignatureMismatch)),
        "{err:?}"
    );
}
