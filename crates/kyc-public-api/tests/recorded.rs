//! The fixtures `cargo xtask fixtures record` writes (tests/fixtures/recorded/ from the
//! sandbox, tests/fixtures/recorded-live/ from a live application when present), each served
//! back by a mock server to the real client and snapshotted as the typed result the client
//! returns. When elKYC changes, re-recording and `cargo insta test` show what changed for
//! users (see xtask/README.md).

use compliance_core::recorded::{self, RecordedExchange};

use kyc_public_api::{
    Blockchain, CreateApplicant, CryptoAmlSearch, CryptoAmlType, KycClient, TokenRequest,
};
use mockito::Matcher;

/// Every exchange of every recorded set (see `compliance_core::recorded`).
fn exchanges() -> Vec<RecordedExchange> {
    recorded::load_for_test(env!("CARGO_MANIFEST_DIR"), "elkyc")
}

/// Replays one recorded answer through the client call that receives it.
async fn replay(x: &RecordedExchange) -> String {
    let name = &x.name;
    let endpoint = x.endpoint.as_str();
    let (path, query) = endpoint.split_once('?').unwrap_or((endpoint, ""));
    let method = x.method.as_str();
    let status = usize::from(x.status);
    let mut server = mockito::Server::new_async().await;
    server
        .mock(method, path)
        .match_query(Matcher::Any)
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(x.response.clone())
        .create_async()
        .await;
    let client = KycClient::builder()
        .base_url(server.url())
        .api_key("recorded-fixture-key")
        .build()
        .unwrap();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let typed = match (method, segments.as_slice()) {
        ("POST", ["api", "public", "applicant"]) => {
            format!(
                "{:#?}",
                client
                    .create_applicant(&CreateApplicant::new("fixture-user", "basic-kyc"))
                    .await
            )
        }
        ("GET", ["api", "public", "applicant", id]) => {
            format!("{:#?}", client.get_applicant(id).await)
        }
        ("GET", ["api", "public", "applicant", id, "status"]) => {
            format!("{:#?}", client.applicant_status(id).await)
        }
        ("POST", ["api", "public", "applicant", id, "moveToFlow"]) => {
            format!("{:#?}", client.move_to_flow(id, "2").await)
        }
        ("POST", ["api", "public", "applicant", id, "schedule-deletion"]) => {
            format!("{:#?}", client.schedule_deletion(id).await)
        }
        ("POST", ["api", "public", "applicant", id, "restore"]) => {
            format!("{:#?}", client.restore_applicant(id).await)
        }
        ("POST", ["api", "public", "applicant", id, "token"]) => {
            format!(
                "{:#?}",
                client.verification_token(id, &TokenRequest::new()).await
            )
        }
        ("GET", ["api", "public", "questionnaire", id]) => {
            format!("{:#?}", client.questionnaire(id).await)
        }
        ("POST", ["api", "public", "crypto-aml", "search"]) => format!(
            "{:#?}",
            client
                .search_crypto_aml(&CryptoAmlSearch::address(Blockchain::Btc, "bc1qfixture"))
                .await
        ),
        ("GET", ["api", "public", "crypto-aml", id, "details"]) => {
            let kind = if query.contains("TRANSACTION") {
                CryptoAmlType::Transaction
            } else {
                CryptoAmlType::Wallet
            };
            format!("{:#?}", client.crypto_aml_details(id, &kind).await)
        }
        (method, _) => panic!(
            "{name}: no parser for `{method} {path}`; add an arm to tests/recorded.rs for the new \
             endpoint"
        ),
    };
    typed.replace(&server.url(), "http://mock")
}

#[tokio::test]
async fn recorded_fixtures_parse_to_typed_values() {
    for x in exchanges() {
        let name = &x.name;
        let typed = replay(&x).await;
        let described = format!(
            "{}
{typed}",
            x.describe()
        );
        insta::assert_snapshot!(name.as_str(), described);
    }
}
