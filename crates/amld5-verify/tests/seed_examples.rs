//! Every example payload of BTC Direct's AMLD5 page, copied verbatim into `tests/fixtures/`:
//! the three-answer request (what the client sends for those answers; the end-to-end tests
//! submit it to the sandbox), the per-network `destinationTag` and the error body with
//! every code the endpoint documents.

mod common;

use std::collections::BTreeMap;

use amld5_verify::user::{DestinationTag, WalletAddress};
use amld5_verify::{Amld5Questions, ApiErrors, ErrorCode};
use common::fixture;

#[test]
fn the_answers_example_is_what_the_client_sends() {
    let questions: Amld5Questions = serde_json::from_str(&fixture("amld5_questions.json")).unwrap();
    let answers = questions
        .answers()
        .answer("mainSourceOfIncome", "Salary")
        .answer("annualNetIncome", "From 10.000 to 30.000")
        .answer("employmentStatus", "Employed")
        .build()
        .unwrap();
    let seed: serde_json::Value =
        serde_json::from_str(&fixture("amld5_answers_request.json")).unwrap();
    assert_eq!(serde_json::to_value(&answers).unwrap(), seed);
}

#[test]
fn the_destination_tag_example_parses_as_tags_per_network() {
    let wallet = format!(
        r#"{{"currency":"XRP","destinationTag":{}}}"#,
        fixture("destination_tag.json")
    );
    let wallet: WalletAddress = compliance_core::json::decode("wallet", wallet.as_bytes()).unwrap();
    assert_eq!(
        wallet.destination_tag,
        Some(DestinationTag::PerNetwork(BTreeMap::from([
            ("default".to_owned(), DestinationTag::Text("ABC1234".into())),
            ("XRP".to_owned(), DestinationTag::Number(12341)),
        ])))
    );
}

#[test]
fn the_error_example_parses_with_every_code() {
    let errors = ApiErrors::from_body(fixture("errors_all.json").as_bytes()).unwrap();
    let codes: Vec<&str> = errors.as_slice().iter().map(|e| e.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "ER100", "ER101", "ER800", "ER801", "ER802", "ER803", "ER805", "ER806", "ER999"
        ]
    );
    assert!(
        errors
            .as_slice()
            .iter()
            .all(|e| !matches!(e.code, ErrorCode::Unknown(_)))
    );
    let general = errors
        .as_slice()
        .iter()
        .find(|e| e.code == ErrorCode::Er999)
        .unwrap();
    assert_eq!(
        general.solution.as_deref(),
        Some("Contact our support team.")
    );
}
