//! All ten endpoints against a mock server, in plain, AES-256-CBC and AES-256-GCM modes:
//! method, path, headers and (decrypted) body checked; the seed's example responses parsed
//! and snapshotted; the three modes must give the same result.

mod common;

use std::fmt::Debug;

use common::{Harness, Mode};
use kyc_public_api::ExposeSecret as _;
use kyc_public_api::{
    Blockchain, CreateApplicant, CryptoAmlSearch, CryptoAmlType, Error, KycClient, TokenRequest,
};
use mockito::Matcher;
use serde::Serialize;
use serde_json::{Value, json};

/// Runs `call` once per mode against a mock answering `fixture`; checks every mode agrees
/// and returns the parsed value and the body the provider received.
async fn run<T, F>(
    method: &str,
    path: &str,
    query: Option<(&str, &str)>,
    http_status: usize,
    fixture: &str,
    call: F,
) -> (T, Option<Value>)
where
    T: PartialEq + Debug + Serialize,
    F: AsyncFn(&KycClient) -> Result<T, Error>,
{
    let mut results: Vec<(Mode, T, Option<Value>)> = Vec::new();
    for mode in Mode::ALL {
        let mut h = Harness::new(mode).await;
        let q = query.map(|(k, v)| Matcher::UrlEncoded(k.into(), v.into()));
        let (mock, seen) = h.expect(method, path, q, http_status, fixture).await;
        let parsed = call(&h.client)
            .await
            .unwrap_or_else(|e| panic!("{mode:?} {method} {path}: {e}"));
        mock.assert_async().await;
        let body = seen.lock().unwrap().body.clone();
        results.push((mode, parsed, body));
    }
    let (_, first, first_body) = results.remove(0);
    for (mode, parsed, body) in &results {
        assert_eq!(parsed, &first, "{mode:?} parsed differently from plain");
        assert_eq!(
            body, &first_body,
            "{mode:?} sent a different body from plain"
        );
    }
    (first, first_body)
}

#[tokio::test]
async fn create_applicant() {
    let request = CreateApplicant::new("user/42 ü", "basic-kyc")
        .phone("+31612345678")
        .email("ada@example.com")
        .lang("en")
        .supplied_info(json!({"firstName": "Ada", "lastName": "Lovelace"}));
    let (applicant, body) = run(
        "POST",
        "/api/public/applicant",
        None,
        201,
        "create_applicant.response",
        async |c| c.create_applicant(&request).await,
    )
    .await;
    insta::assert_json_snapshot!("create_applicant.request", body);
    insta::assert_json_snapshot!("applicant.response", applicant);
    // Same fields as the seed's request example, nothing else.
    let seed: Value = serde_json::from_str(&common::fixture("create_applicant.request")).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(body.as_ref().unwrap()), keys(&seed));
}

#[tokio::test]
async fn create_applicant_sends_only_what_is_set() {
    let request = CreateApplicant::new("u-1", "basic-kyc");
    let (_, body) = run(
        "POST",
        "/api/public/applicant",
        None,
        201,
        "create_applicant.response",
        async |c| c.create_applicant(&request).await,
    )
    .await;
    assert_eq!(
        body.unwrap(),
        json!({"externalUserId": "u-1", "flowName": "basic-kyc"})
    );
}

#[tokio::test]
async fn get_applicant_by_an_external_id_that_needs_encoding() {
    let (applicant, body) = run(
        "GET",
        "/api/public/applicant/user%2F42%20%3Fx%3D1%20%C3%BC",
        None,
        200,
        "get_applicant.response",
        async |c| c.get_applicant("user/42 ?x=1 ü").await,
    )
    .await;
    assert_eq!(body, None);
    // Create and get answer the same object; one snapshot covers both.
    insta::assert_json_snapshot!("applicant.response", applicant);
}

#[tokio::test]
async fn applicant_status() {
    let (status, body) = run(
        "GET",
        "/api/public/applicant/a-1/status",
        None,
        200,
        "applicant_status.response",
        async |c| c.applicant_status("a-1").await,
    )
    .await;
    assert_eq!(body, None);
    insta::assert_json_snapshot!("applicant_status.response", status);
}

#[tokio::test]
async fn move_to_flow() {
    let (status, body) = run(
        "POST",
        "/api/public/applicant/a-1/moveToFlow",
        None,
        200,
        "move_to_flow.response",
        async |c| c.move_to_flow("a-1", "42").await,
    )
    .await;
    assert_eq!(body.unwrap(), json!({"flowId": "42"}));
    insta::assert_json_snapshot!("move_to_flow.response", status);
}

#[tokio::test]
async fn schedule_deletion() {
    let (deletion, body) = run(
        "POST",
        "/api/public/applicant/a-1/schedule-deletion",
        None,
        200,
        "schedule_deletion.response",
        async |c| c.schedule_deletion("a-1").await,
    )
    .await;
    assert_eq!(body, None);
    let at = deletion.scheduled_deletion_date.as_ref().unwrap();
    assert_eq!(at.parsed().unwrap().subsec_millisecond(), 228);
    insta::assert_json_snapshot!("schedule_deletion.response", deletion);
}

#[tokio::test]
async fn restore() {
    let (restored, body) = run(
        "POST",
        "/api/public/applicant/a-1/restore",
        None,
        200,
        "restore.response",
        async |c| c.restore_applicant("a-1").await,
    )
    .await;
    assert_eq!(body, None);
    insta::assert_json_snapshot!("restore.response", restored);
}

#[tokio::test]
async fn verification_token() {
    let request = TokenRequest::new()
        .locale("en-US")
        .ttl_secs(3600)
        .flow_name("basic-kyc");
    let (token, body) = run(
        "POST",
        "/api/public/applicant/a-1/token",
        None,
        201,
        "token.response",
        async |c| c.verification_token("a-1", &request).await,
    )
    .await;
    insta::assert_json_snapshot!("token.request", body);
    let debug = format!("{token:?}");
    assert!(debug.contains(r#"access_token: "[redacted]""#), "{debug}");
    assert_eq!(token.access_token.expose_secret(), "text");
    insta::assert_json_snapshot!("token.response", token);
}

#[tokio::test]
async fn questionnaire() {
    let (q, body) = run(
        "GET",
        "/api/public/questionnaire/q%201",
        None,
        200,
        "questionnaire.response",
        async |c| c.questionnaire("q 1").await,
    )
    .await;
    assert_eq!(body, None);
    insta::assert_json_snapshot!("questionnaire.response", q);
}

#[tokio::test]
async fn crypto_aml_search_by_transaction() {
    let hash = format!("0x{}", "aB".repeat(32));
    let search = CryptoAmlSearch::transaction(Blockchain::Btc, hash.clone());
    let (found, body) = run(
        "POST",
        "/api/public/crypto-aml/search",
        None,
        201,
        "crypto_aml_search.response",
        async |c| c.search_crypto_aml(&search).await,
    )
    .await;
    assert_eq!(body.unwrap(), json!({"blockchain": "BTC", "txHash": hash}));
    insta::assert_json_snapshot!("crypto_aml_search.response", found);
}

#[tokio::test]
async fn crypto_aml_search_by_address() {
    let search = CryptoAmlSearch::address(Blockchain::from("TRX"), "TXyz1");
    let (_, body) = run(
        "POST",
        "/api/public/crypto-aml/search",
        None,
        201,
        "crypto_aml_search.response",
        async |c| c.search_crypto_aml(&search).await,
    )
    .await;
    assert_eq!(
        body.unwrap(),
        json!({"blockchain": "TRX", "address": "TXyz1"})
    );
}

#[tokio::test]
async fn crypto_aml_details_wallet_and_transaction() {
    let (report, _) = run(
        "GET",
        "/api/public/crypto-aml/aml%2F1/details",
        Some(("type", "WALLET")),
        200,
        "crypto_aml_details.response",
        async |c| c.crypto_aml_details("aml/1", &CryptoAmlType::Wallet).await,
    )
    .await;
    insta::assert_json_snapshot!("crypto_aml_details.response", report);

    let (report, _) = run(
        "GET",
        "/api/public/crypto-aml/aml-77/details",
        Some(("type", "TRANSACTION")),
        200,
        "crypto_aml_details_precision.response",
        async |c| {
            c.crypto_aml_details("aml-77", &CryptoAmlType::Transaction)
                .await
        },
    )
    .await;
    // Exact amounts, never through f64.
    assert_eq!(
        report.amount.as_ref().unwrap().to_string(),
        "1.2200000000000000001"
    );
    assert_eq!(
        report.sof[0].amount.as_ref().unwrap().to_string(),
        "0.1000000000000000001"
    );
    assert_eq!(
        report.sof[0].amount_dec.unwrap().to_string(),
        "100000000000000000001"
    );
    assert_eq!(report.score.unwrap().to_string(), "45.5");
    assert_eq!(
        report.updated_at().unwrap().subsec_nanosecond(),
        228_100_000
    );
    insta::assert_json_snapshot!("crypto_aml_details_precision.response", report);
}
