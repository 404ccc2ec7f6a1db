//! `AmlProvider` for `KycClient` (its view, `KycClient::aml`): applicants by either id, wallets and transactions by
//! search then details.

mod common;

use common::{Harness, Mode};
use compliance_core::aml::{
    AmlError, AmlProvider, AmlStatus, RiskLevel, Subject, SubjectKind, SubjectRef,
};
use kyc_public_api::Actionable as _;
use kyc_public_api::{Blockchain, CryptoAmlSearch, KycClient, Screening};
use mockito::Matcher;

fn body(data: &str) -> String {
    format!(r#"{{"status":true,"statusCode":200,"data":{data},"time":"2025-07-04T12:00:00Z"}}"#)
}

#[tokio::test]
async fn applicants_by_provider_or_external_id() {
    let mut h = Harness::new(Mode::Plain).await;
    let aml = h.client.aml();
    let provider: &dyn AmlProvider = &aml;
    assert_eq!(provider.provider(), "elkyc");
    assert!(provider.supports(SubjectKind::Applicant));
    assert!(provider.supports(SubjectKind::Wallet));
    assert!(!provider.supports(SubjectKind::Payment));
    let by_id = h
        .server
        .mock("GET", "/api/public/applicant/6f1c/status")
        .with_body(body(r#"{"id":"6f1c","status":"APPROVED"}"#))
        .create_async()
        .await;
    let by_external = h
        .server
        .mock("GET", "/api/public/applicant/user%2F42%20%C3%BC/status")
        .with_body(body(r#"{"id":"6f1c","status":"ON_HOLD"}"#))
        .create_async()
        .await;
    let client = h.client.aml();
    let state = client
        .aml_state(&Subject::Applicant {
            reference: SubjectRef::ProviderId("6f1c".into()),
        })
        .await
        .unwrap();
    assert_eq!(state.status, AmlStatus::Clear);
    assert_eq!(state.provider_status, "APPROVED");
    assert_eq!(state.provider, "elkyc");
    let state = client
        .aml_state(&Subject::Applicant {
            reference: SubjectRef::ExternalId("user/42 ü".into()),
        })
        .await
        .unwrap();
    assert_eq!(state.status, AmlStatus::UnderReview);
    by_id.assert_async().await;
    by_external.assert_async().await;

    let err = client
        .aml_state(&Subject::Payment {
            reference: SubjectRef::ExternalId("o-1".into()),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AmlError::Unsupported { .. }));
}

#[tokio::test]
async fn wallets_and_transactions_search_then_read_the_report() {
    for (subject, search_body, kind) in [
        (
            Subject::Wallet {
                blockchain: "BTC".into(),
                address: "bc1qexample".into(),
            },
            r#"{"blockchain":"BTC","address":"bc1qexample"}"#.to_owned(),
            "WALLET",
        ),
        (
            Subject::Transaction {
                blockchain: "ETH".into(),
                hash: "ab".repeat(32),
            },
            format!(r#"{{"blockchain":"ETH","txHash":"{}"}}"#, "ab".repeat(32)),
            "TRANSACTION",
        ),
    ] {
        let mut h = Harness::new(Mode::Gcm).await;
        let (found, sig1) = h.envelope(201, &format!(r#"{{"id":"aml-1","type":"{kind}"}}"#));
        let (report, sig2) = h.envelope(
            200,
            r#"{"id":"aml-1","reviewStatus":"UNKNOWN","score":72.5,"updatedAt":"2025-07-04T11:00:00.123Z"}"#,
        );
        let cipher = h.cipher.clone().unwrap();
        let expected: serde_json::Value = serde_json::from_str(&search_body).unwrap();
        let search = h
            .server
            .mock("POST", "/api/public/crypto-aml/search")
            .match_request(move |req| {
                let sent: serde_json::Value = serde_json::from_slice(req.body().unwrap()).unwrap();
                let sig = req.header("x-allpass-signature")[0]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let plain = cipher
                    .decrypt(sent["data"].as_str().unwrap(), &sig)
                    .unwrap();
                serde_json::from_slice::<serde_json::Value>(&plain).unwrap() == expected
            })
            .with_status(201)
            .with_header("x-allpass-signature", &sig1.unwrap())
            .with_body(found)
            .expect(1)
            .create_async()
            .await;
        let details = h
            .server
            .mock("GET", "/api/public/crypto-aml/aml-1/details")
            .match_query(Matcher::UrlEncoded("type".into(), kind.into()))
            .with_header("x-allpass-signature", &sig2.unwrap())
            .with_body(report)
            .expect(1)
            .create_async()
            .await;
        let state = h.client.aml().aml_state(&subject).await.unwrap();
        search.assert_async().await;
        details.assert_async().await;
        let risk = state.risk.clone().unwrap();
        assert_eq!(risk.level, RiskLevel::High);
        assert_eq!(risk.score.to_string(), "72.5");
        assert_eq!(state.status, AmlStatus::UnderReview);
        assert_eq!(state.provider_status, "UNKNOWN");
        assert_eq!(state.updated_at.unwrap().subsec_millisecond(), 123);
        assert_eq!(state.subject, subject);
    }
}

#[tokio::test]
async fn provider_failures_say_whether_to_retry() {
    let mut h = Harness::new(Mode::Plain).await;
    let m = h
        .server
        .mock("GET", "/api/public/applicant/a-1/status")
        .with_status(404)
        .with_body(r#"{"statusCode":404,"message":"Applicant not found"}"#)
        .create_async()
        .await;
    let err = h
        .client
        .aml()
        .aml_state(&Subject::Applicant {
            reference: SubjectRef::ProviderId("a-1".into()),
        })
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("Applicant not found"), "{err}");
    m.assert_async().await;
}

/// A search creates a (possibly billed) report: with the default the view reuses the latest
/// report it created or recorded (here by an explicit search through the view) and only
/// re-reads it; a search through the client alone is not recorded (no hidden side effect);
/// `Screening::NewSearch` searches on every view, as asked.
#[tokio::test]
async fn the_view_reuses_the_latest_report_unless_told_to_search() {
    let address = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";
    for (screening, searches) in [(Screening::ReuseLatest, 1), (Screening::NewSearch, 3)] {
        let mut server = mockito::Server::new_async().await;
        let client = KycClient::builder()
            .base_url(server.url())
            .api_key("k")
            .build()
            .unwrap();
        let aml = client.aml().screening(screening);
        let search = server
            .mock("POST", "/api/public/crypto-aml/search")
            .with_status(201)
            .with_body(body(r#"{"id":"aml-7","type":"WALLET"}"#))
            .expect(searches)
            .create_async()
            .await;
        let details = server
            .mock("GET", "/api/public/crypto-aml/aml-7/details")
            .match_query(Matcher::UrlEncoded("type".into(), "WALLET".into()))
            .with_body(body(
                r#"{"id":"aml-7","reviewStatus":"UNKNOWN","score":12}"#,
            ))
            .expect(3)
            .create_async()
            .await;
        if screening == Screening::ReuseLatest {
            aml.search_crypto_aml(&CryptoAmlSearch::address(Blockchain::Btc, address))
                .await
                .unwrap();
        }
        let wallet = Subject::Wallet {
            blockchain: "BTC".into(),
            address: address.into(),
        };
        for _ in 0..3 {
            let state = aml.aml_state(&wallet).await.unwrap();
            assert_eq!(state.status, AmlStatus::Clear, "{screening:?}");
            assert_eq!(state.risk.unwrap().level, RiskLevel::Low);
        }
        search.assert_async().await;
        details.assert_async().await;
    }
}
