//! Security review fixes (issue #13): bounded error texts, questionnaire links and
//! aml-links bodies never in `Debug` or decode errors.

use heleket_aml::{AmlLink, HeleketClient, PaymentRef};

fn client(server: &mockito::ServerGuard) -> HeleketClient {
    HeleketClient::builder()
        .merchant("8b03432e-385b-4670-8d06-064591096795")
        .payment_key("test-api-key")
        .base_url(server.url())
        .build()
        .unwrap()
}

#[tokio::test]
async fn error_texts_are_bounded() {
    let mut server = mockito::Server::new_async().await;
    let long = "m".repeat(1_000_000);
    let fields: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                r#""field{i}":["rule.{long_rule}"]"#,
                long_rule = "r".repeat(40)
            )
        })
        .collect();
    for body in [
        format!(r#"{{"state":1,"message":"{long}"}}"#),
        format!(r#"{{"message":"{long}"}}"#),
        format!(
            r#"{{"state":1,"message":"{long}","errors":{{{}}}}}"#,
            fields.join(",")
        ),
    ] {
        let _m = server
            .mock("POST", "/v1/payment/info")
            .with_status(422)
            .with_body(body)
            .create_async()
            .await;
        let err = client(&server)
            .payment_info(&PaymentRef::OrderId("o-1".into()))
            .await
            .unwrap_err();
        assert!(err.to_string().len() < 8192, "{}", err.to_string().len());
        assert!(
            format!("{err:?}").len() < 16384,
            "{}",
            format!("{err:?}").len()
        );
    }
}

#[tokio::test]
async fn questionnaire_links_stay_out_of_debug_and_decode_errors() {
    let link: AmlLink = serde_json::from_str(
        r#"{"link":"https://aml.heleket.com/questionnaire/LEAK-1","expired_at":"2025-10-23T18:23:40.123456Z","status":"init"}"#,
    )
    .unwrap();
    assert!(!format!("{link:?}").contains("LEAK-1"), "{link:?}");

    let mut server = mockito::Server::new_async().await;
    let _m = server
        .mock("POST", "/v1/payment/aml-links")
        .with_body(
            r#"{"state":0,"result":[{"link":"https://aml.heleket.com/questionnaire/LEAK-1","expired_at":"soon","status":"init"}]}"#,
        )
        .create_async()
        .await;
    let err = client(&server)
        .aml_links(&PaymentRef::OrderId("o-1".into()))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("LEAK-1"), "{text}");
}
