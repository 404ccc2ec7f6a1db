//! The fixtures `cargo xtask fixtures record` writes (tests/fixtures/recorded/ from the
//! sandbox, tests/fixtures/recorded-live/ from a live application when present), each served
//! back by a mock server to the real client and snapshotted as the typed result the client
//! returns. When elKYC changes, re-recording and `cargo insta test` show what changed for
//! users (see xtask/README.md).

use std::path::{Path, PathBuf};

use kyc_public_api::{
    Blockchain, CreateApplicant, CryptoAmlSearch, CryptoAmlType, KycClient, TokenRequest,
};
use mockito::Matcher;
use serde_json::Value;

/// Every exchange of every recorded set: (snapshot name, its directory, its manifest entry).
fn exchanges() -> Vec<(String, PathBuf, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for (dir, prefix) in [("recorded", ""), ("recorded-live", "live__")] {
        let dir = root.join(dir);
        let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
            continue;
        };
        let manifest: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join("manifest.json").display()));
        for entry in manifest["exchanges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let name = format!("{prefix}{}", entry["name"].as_str().unwrap_or_default());
            out.push((name, dir.clone(), entry));
        }
    }
    assert!(
        !out.is_empty(),
        "no recorded fixtures: run `cargo xtask fixtures record --provider elkyc`"
    );
    out
}

fn body(dir: &Path, entry: &Value, side: &str) -> Vec<u8> {
    match entry[side]["file"].as_str() {
        Some(file) => std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")),
        None => Vec::new(),
    }
}

/// Replays one recorded answer through the client call that receives it.
async fn replay(name: &str, dir: &Path, entry: &Value) -> String {
    let endpoint = entry["endpoint"].as_str().unwrap_or_default();
    let (path, query) = endpoint.split_once('?').unwrap_or((endpoint, ""));
    let method = entry["method"].as_str().unwrap_or("GET");
    let status = entry["status"].as_u64().unwrap_or(200) as usize;
    let mut server = mockito::Server::new_async().await;
    server
        .mock(method, path)
        .match_query(Matcher::Any)
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(body(dir, entry, "response"))
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
    for (name, dir, entry) in exchanges() {
        let typed = replay(&name, &dir, &entry).await;
        let described = format!(
            "{} {} -> {}\n{typed}",
            entry["method"].as_str().unwrap_or_default(),
            entry["endpoint"].as_str().unwrap_or_default(),
            entry["status"],
        );
        insta::assert_snapshot!(name, described);
    }
}
