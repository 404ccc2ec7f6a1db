//! Every example payload of the provider's Open API page (copied verbatim into
//! `tests/fixtures/`, the ten endpoints' request and response examples) is read by this
//! crate, or, for requests, is what the client sends for the same values. The one request
//! example the API cannot accept as printed (`txHash` and `address` together, `"text"` as a
//! hash) is refused locally, naming the field.

use kyc_public_api::{
    Applicant, ApplicantStatusInfo, CreateApplicant, CryptoAmlRef, CryptoAmlReport,
    CryptoAmlSearch, KycClient, Questionnaire, RestoredApplicant, ScheduledDeletion, TokenRequest,
    VerificationToken,
};
use mockito::Matcher;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Decodes the envelope's `data` of a response example as `T`, naming the failing path.
fn data<T: DeserializeOwned>(name: &str) -> T {
    let envelope: Value = serde_json::from_str(&fixture(name)).unwrap();
    assert_eq!(envelope["status"], true, "{name}");
    let data = envelope["data"].to_string();
    compliance_core::json::decode("seed example", data.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_response_example_parses() {
    let created: Applicant = data("create_applicant.response");
    assert_eq!(created.id.as_deref(), Some("text"));
    assert_eq!(created.services_data.len(), 1);
    let got: Applicant = data("get_applicant.response");
    assert_eq!(got.external_user_id.as_deref(), Some("text"));
    let status: ApplicantStatusInfo = data("applicant_status.response");
    assert_eq!(status.id.as_deref(), Some("text"));
    let moved: ApplicantStatusInfo = data("move_to_flow.response");
    assert_eq!(moved.id.as_deref(), Some("text"));
    let scheduled: ScheduledDeletion = data("schedule_deletion.response");
    assert!(scheduled.scheduled_deletion_date.is_some());
    let restored: RestoredApplicant = data("restore.response");
    assert_eq!(restored.id.as_deref(), Some("text"));
    let token: VerificationToken = data("token.response");
    assert_eq!(token.ttl, Some(1));
    let questionnaire: Questionnaire = data("questionnaire.response");
    assert_eq!(questionnaire.id.as_deref(), Some("text"));
    let found: CryptoAmlRef = data("crypto_aml_search.response");
    assert_eq!(found.id.as_deref(), Some("text"));
    let report: CryptoAmlReport = data("crypto_aml_details.response");
    assert_eq!(report.comments.len(), 1);
    assert_eq!(report.uof.len(), 1);
}

/// The client, given the example's values, sends exactly the example's body.
#[tokio::test]
async fn the_client_sends_the_request_examples() {
    let mut server = mockito::Server::new_async().await;
    let client = KycClient::builder()
        .base_url(server.url())
        .api_key("k")
        .build()
        .unwrap();
    let ok = |status: usize, data: &str| {
        (
            status,
            format!(
                r#"{{"status":true,"statusCode":200,"data":{data},"time":"2021-08-20T14:52:33.648Z"}}"#
            ),
        )
    };
    let seed = |name: &str| -> Value { serde_json::from_str(&fixture(name)).unwrap() };

    let (status, body) = ok(201, r#"{"id":"text"}"#);
    let create = server
        .mock("POST", "/api/public/applicant")
        .match_body(Matcher::Json(seed("create_applicant.request")))
        .with_status(status)
        .with_body(body)
        .expect(1)
        .create_async()
        .await;
    client
        .create_applicant(
            &CreateApplicant::new("text", "text")
                .phone("text")
                .email("text")
                .lang("text")
                .supplied_info(json!({})),
        )
        .await
        .unwrap();
    create.assert_async().await;

    let (status, body) = ok(200, r#"{"id":"text","status":"text"}"#);
    let moved = server
        .mock("POST", "/api/public/applicant/a-1/moveToFlow")
        .match_body(Matcher::Json(seed("move_to_flow.request")))
        .with_status(status)
        .with_body(body)
        .expect(1)
        .create_async()
        .await;
    client.move_to_flow("a-1", "text").await.unwrap();
    moved.assert_async().await;

    let (status, body) = ok(201, r#"{"accessToken":"text","ttl":1}"#);
    let token = server
        .mock("POST", "/api/public/applicant/a-1/token")
        .match_body(Matcher::Json(seed("token.request")))
        .with_status(status)
        .with_body(body)
        .expect(1)
        .create_async()
        .await;
    client
        .verification_token(
            "a-1",
            &TokenRequest::new()
                .locale("text")
                .ttl_secs(1)
                .flow_name("text"),
        )
        .await
        .unwrap();
    token.assert_async().await;
}

/// The search example sets both targets (which the documentation calls mutually exclusive)
/// and `"text"` as a hash: one target per search is all the API can express, and the hash
/// is refused before any request.
#[test]
fn the_search_example_is_refused_locally_naming_the_field() {
    let seed: Value = serde_json::from_str(&fixture("crypto_aml_search.request")).unwrap();
    assert_eq!(seed["blockchain"], "BTC");
    let blockchain = serde_json::from_value(seed["blockchain"].clone()).unwrap();
    let by_hash = CryptoAmlSearch::transaction(blockchain, seed["txHash"].as_str().unwrap());
    match by_hash.validate() {
        Err(compliance_core::Error::InvalidRequest { field, .. }) => assert_eq!(field, "txHash"),
        other => panic!("{other:?}"),
    }
    let by_address = CryptoAmlSearch::address(
        serde_json::from_value(seed["blockchain"].clone()).unwrap(),
        seed["address"].as_str().unwrap(),
    );
    assert_eq!(
        serde_json::to_value(&by_address).unwrap(),
        json!({"blockchain": "BTC", "address": "text"})
    );
}
