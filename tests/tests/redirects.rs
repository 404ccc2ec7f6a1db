//! A redirect never carries credentials to another host, even with a user-supplied HTTP
//! client (reqwest's default builder follows up to 10 redirects): every HTTP crate, a 307
//! (which would resend the body, a password included) to a second server that must see
//! nothing.

use compliance_core::Actionable as _;
use compliance_core::http::HttpClientBuilder;
use mockito::{Matcher, ServerGuard};

async fn thief() -> (ServerGuard, Vec<mockito::Mock>) {
    let mut thief = mockito::Server::new_async().await;
    let mut mocks = Vec::new();
    for method in ["GET", "POST"] {
        mocks.push(
            thief
                .mock(method, Matcher::Any)
                .expect(0)
                .create_async()
                .await,
        );
    }
    (thief, mocks)
}

async fn redirecting(thief: &ServerGuard) -> ServerGuard {
    let mut server = mockito::Server::new_async().await;
    for method in ["GET", "POST"] {
        server
            .mock(method, Matcher::Any)
            .with_status(307)
            .with_header("location", &format!("{}/collect", thief.url()))
            .create_async()
            .await;
    }
    server
}

#[tokio::test]
async fn heleket() {
    let (thief, stolen) = thief().await;
    let server = redirecting(&thief).await;
    let client = heleket_aml::HeleketClient::builder()
        .merchant("8b03432e-385b-4670-8d06-064591096795")
        .payment_key("payment-key-S3cret")
        .base_url(server.url())
        .http_client(HttpClientBuilder::new())
        .build()
        .unwrap();
    let err = client
        .payment_info(&heleket_aml::PaymentRef::OrderId("o-1".into()))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307), "{err:?}");
    for m in stolen {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn elkyc() {
    let (thief, stolen) = thief().await;
    let server = redirecting(&thief).await;
    let client = kyc_public_api::KycClient::builder()
        .base_url(server.url())
        .api_key("private-app-key-S3cret")
        .http_client(HttpClientBuilder::new())
        .build()
        .unwrap();
    let err = client.get_applicant("a-1").await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307), "{err:?}");
    for m in stolen {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn btcdirect() {
    let (thief, stolen) = thief().await;
    let server = redirecting(&thief).await;
    let client = amld5_verify::BtcDirectClient::builder()
        .base_url(server.url())
        .credentials(
            "partner",
            amld5_verify::SecretString::from("partner-pw-S3cret"),
        )
        .http_client(HttpClientBuilder::new())
        .build()
        .unwrap();
    let err = client
        .user_info(&amld5_verify::UserContext::identifier("u"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307), "{err:?}");
    for m in stolen {
        m.assert_async().await;
    }
}
