//! The fixtures `cargo xtask fixtures record` writes (tests/fixtures/recorded/ from the
//! sandbox, tests/fixtures/recorded-live/ from a live account when present), each served
//! back by a mock server to the real client and snapshotted as the typed result the client
//! returns. When BTC Direct changes, re-recording and `cargo insta test` show what changed
//! for users (see xtask/README.md).

use std::path::Path;

use compliance_core::recorded::{self, RecordedExchange};

use amld5_verify::{Amld5Questions, BtcDirectClient, PartnerAuth, SecretString, UserContext};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mockito::{Matcher, ServerGuard};

/// Every exchange of every recorded set (see `compliance_core::recorded`).
fn exchanges() -> Vec<RecordedExchange> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let all = recorded::load(&fixtures).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !all.is_empty(),
        "no recorded fixtures: run `cargo xtask fixtures record --provider btcdirect`"
    );
    all
}

/// Mocks `method path` (any query) answering `status` and `body`.
async fn answer(server: &mut ServerGuard, method: &str, path: &str, status: u64, body: Vec<u8>) {
    server
        .mock(method, path)
        .match_query(Matcher::Any)
        .with_status(status as usize)
        .with_header("content-type", "application/json")
        .with_body(body)
        .create_async()
        .await;
}

fn client(server: &ServerGuard, partner: PartnerAuth) -> BtcDirectClient {
    BtcDirectClient::builder()
        .base_url(server.url())
        .partner(partner)
        .build()
        .unwrap()
}

/// A partner token that expired long ago, so the client refreshes it before its next call.
fn expired_token() -> String {
    let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
    format!(
        "{}.{}.{}",
        part(r#"{"alg":"HS256","typ":"JWT"}"#),
        part(r#"{"exp":1,"sub":"partner"}"#),
        part("sig")
    )
}

/// Replays one recorded answer through the client call that receives it.
async fn replay(x: &RecordedExchange) -> String {
    let name = &x.name;
    let endpoint = x.endpoint.as_str();
    let (path, query) = endpoint.split_once('?').unwrap_or((endpoint, ""));
    let method = x.method.as_str();
    let status = u64::from(x.status);
    let recorded = x.response.clone();
    let mut server = mockito::Server::new_async().await;
    let user = UserContext::identifier("00000000-0000-4000-8000-000000000001");
    let typed = match (method, path) {
        ("POST", "/api/v1/authenticate") => {
            // The partner token answer; what the caller sees is the call it authenticates.
            answer(&mut server, "POST", path, status, recorded).await;
            answer(
                &mut server,
                "GET",
                "/api/v2/user/verification-status",
                200,
                b"[]".to_vec(),
            )
            .await;
            let client = client(&server, PartnerAuth::credentials("partner", "pw"));
            format!("{:#?}", client.verification_status(&user).await)
        }
        ("POST", "/api/v1/refresh") => {
            // A refresh answer; the client refreshes its expired partner token first.
            let tokens = format!(r#"{{"token":"{}","refreshToken":"r-1"}}"#, expired_token());
            answer(
                &mut server,
                "POST",
                "/api/v1/authenticate",
                200,
                tokens.into_bytes(),
            )
            .await;
            answer(&mut server, "POST", path, status, recorded).await;
            answer(
                &mut server,
                "GET",
                "/api/v2/user/verification-status",
                200,
                b"[]".to_vec(),
            )
            .await;
            let client = client(&server, PartnerAuth::credentials("partner", "pw"));
            format!("{:#?}", client.verification_status(&user).await)
        }
        _ => {
            answer(&mut server, method, path, status, recorded).await;
            let client = client(&server, PartnerAuth::api_key("key"));
            match (method, path) {
                ("POST", "/api/v1/user/login") => format!(
                    "{:#?}",
                    client
                        .login("user@example.com", &SecretString::from("pw".to_owned()))
                        .await
                ),
                ("GET", "/api/v1/user/verify/amld5") => {
                    let locale = query.strip_prefix("locale=").unwrap_or("en");
                    format!("{:#?}", client.amld5_questions(&user, locale).await)
                }
                ("POST", "/api/v1/user/verify/amld5") => {
                    let questions: Amld5Questions =
                        serde_json::from_str(r#"{"questions":[{"key":"accountPurpose"}]}"#)
                            .unwrap();
                    let answers = questions
                        .answers()
                        .answer("accountPurpose", "Investing")
                        .build()
                        .unwrap();
                    format!("{:#?}", client.submit_amld5_answers(&user, &answers).await)
                }
                ("GET", "/api/v2/user/verification-status") => {
                    format!("{:#?}", client.verification_status(&user).await)
                }
                ("GET", "/api/v1/user/info") => format!("{:#?}", client.user_info(&user).await),
                (method, path) => panic!(
                    "{name}: no parser for `{method} {path}`; add an arm to tests/recorded.rs \
                     for the new endpoint"
                ),
            }
        }
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
