//! Security review fixes (issue #13): secrets never in decode errors, bounded error texts,
//! no automatic resend of calls whose lost success a retry would misreport, one error for
//! every forged CBC payload.

use kyc_public_api::Actionable as _;
use kyc_public_api::encryption::{
    Cipher, EncryptionError, EncryptionOptions, EncryptionSettings, MacInput,
};
use kyc_public_api::{KycClient, TokenRequest};

const API_KEY: &str = "test-private-app-key-0123456789";

fn client(server: &mockito::ServerGuard) -> KycClient {
    KycClient::builder()
        .base_url(server.url())
        .api_key(API_KEY)
        .build()
        .unwrap()
}

#[tokio::test]
async fn verification_tokens_never_reach_a_decode_error() {
    let mut server = mockito::Server::new_async().await;
    for data in [
        r#"{"accessToken":"eyJ-LEAK-1","link":"https://verify.example/?t=LEAK-2","ttl":"soon"}"#,
        r#"{"accessToken":"eyJ-LEAK-1","link":["https://verify.example/?t=LEAK-2"]}"#,
    ] {
        let _m = server
            .mock("POST", "/api/public/applicant/a-1/token")
            .with_status(201)
            .with_body(format!(
                r#"{{"status":true,"statusCode":201,"data":{data}}}"#
            ))
            .create_async()
            .await;
        let err = client(&server)
            .verification_token("a-1", &TokenRequest::new())
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("LEAK"), "{text}");
    }
}

#[tokio::test]
async fn error_texts_are_bounded() {
    let mut server = mockito::Server::new_async().await;
    let long = "m".repeat(1_000_000);
    let _m = server
        .mock("GET", "/api/public/applicant/a-1")
        .with_status(400)
        .with_body(format!(
            r#"{{"statusCode":400,"message":["{long}","{long}"],"error":"{long}"}}"#
        ))
        .create_async()
        .await;
    let err = client(&server).get_applicant("a-1").await.unwrap_err();
    assert!(err.to_string().len() < 4096, "{}", err.to_string().len());
    assert!(
        format!("{err:?}").len() < 8192,
        "{}",
        format!("{err:?}").len()
    );
}

#[tokio::test]
async fn writes_whose_lost_success_a_retry_would_misreport_are_sent_once() {
    let mut server = mockito::Server::new_async().await;
    for path in [
        "/api/public/applicant/a-1/moveToFlow",
        "/api/public/applicant/a-1/schedule-deletion",
        "/api/public/applicant/a-1/restore",
    ] {
        let m = server
            .mock("POST", path)
            .with_status(503)
            .expect(1)
            .create_async()
            .await;
        let c = client(&server);
        let err = match path {
            p if p.ends_with("moveToFlow") => c.move_to_flow("a-1", "2").await.map(drop),
            p if p.ends_with("deletion") => c.schedule_deletion("a-1").await.map(drop),
            _ => c.restore_applicant("a-1").await.map(drop),
        }
        .unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        m.assert_async().await;
    }
}

/// A lost answer: the server reads the request (and, for all we know, acts on it), then
/// closes the connection. Writes are not sent again; reads are.
#[tokio::test]
async fn a_lost_answer_resends_reads_only() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            if sock.read(&mut buf).await.is_ok_and(|n| n > 0) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            drop(sock);
        }
    });
    let client = KycClient::builder()
        .base_url(&url)
        .api_key(API_KEY)
        .transport_config(compliance_core::http::TransportConfig::default().retry(
            compliance_core::http::RetryPolicy::default().backoff(
                std::time::Duration::from_millis(1),
                std::time::Duration::from_millis(2),
            ),
        ))
        .build()
        .unwrap();
    let sent_once = |result: Result<(), kyc_public_api::Error>| {
        let err = result.unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(received.swap(0, Ordering::SeqCst), 1, "sent once");
    };
    sent_once(client.move_to_flow("a-1", "2").await.map(drop));
    sent_once(client.schedule_deletion("a-1").await.map(drop));
    sent_once(client.restore_applicant("a-1").await.map(drop));
    assert!(client.applicant_status("a-1").await.is_err());
    assert_eq!(
        received.load(Ordering::SeqCst),
        3,
        "a read is tried three times"
    );
}

#[test]
fn every_forged_cbc_payload_gets_the_same_error_whatever_the_mac_covers() {
    // Before #13 a MAC over the plaintext was an option: it decrypted first and answered
    // `BadPadding` for a forged last block, a padding oracle. It is gone; both remaining
    // inputs authenticate before decrypting.
    let settings = EncryptionSettings::cbc(
        "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    );
    for input in [MacInput::DataString, MacInput::CiphertextBytes] {
        let cipher =
            Cipher::with_options(&settings, EncryptionOptions::default().mac_input(input)).unwrap();
        let sealed = cipher.encrypt(br#"{"applicantId":"a-1"}"#).unwrap();
        // Flip every hex digit of the last block (what a padding oracle probes).
        let data = sealed.data.as_bytes();
        for i in data.len() - 32..data.len() {
            let mut forged = data.to_vec();
            forged[i] = if forged[i] == b'0' { b'1' } else { b'0' };
            let forged = String::from_utf8(forged).unwrap();
            assert_eq!(
                cipher.decrypt(&forged, &sealed.signature),
                Err(EncryptionError::SignatureMismatch),
                "{input:?} byte {i}"
            );
        }
    }
}
