//! The fixtures `cargo xtask fixtures record` writes (tests/fixtures/recorded/ from the
//! sandbox, tests/fixtures/recorded-live/ from a live account when present), each served
//! back by a mock server to the real client and snapshotted as the typed result the client
//! returns. When BTC Direct changes, re-recording and `cargo insta test` show what changed
//! for users (see xtask/README.md).

use compliance_core::recorded::{self, RecordedExchange};

use std::sync::{Arc, Mutex};

use amld5_verify::{
    Amld5Questions, BtcDirectClient, PartnerAuth, SecretString, UserContext, UserSession,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mockito::{Matcher, ServerGuard};

/// Every exchange of every recorded set (see `compliance_core::recorded`).
fn exchanges() -> Vec<RecordedExchange> {
    recorded::load_for_test(env!("CARGO_MANIFEST_DIR"), "btcdirect")
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

/// A JWT-shaped token expiring at `exp` (unix seconds).
fn token(exp: i64, sub: &str) -> String {
    let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
    format!(
        "{}.{}.{}",
        part(r#"{"alg":"HS256","typ":"JWT"}"#),
        part(&format!(r#"{{"exp":{exp},"sub":"{sub}"}}"#)),
        part("sig")
    )
}

/// The token a recorded refresh answer hands out (none when the refresh was refused).
fn refreshed_token(x: &RecordedExchange) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(&x.response).ok()?;
    answer["token"].as_str().map(str::to_owned)
}

/// Replays a recorded `POST /api/v1/refresh` as the client meets it, so the recorded answer
/// is what the client refreshes with. A refresh sent with a partner credential (recorded
/// headers) renews a user session; one without renews the partner token after BTC Direct
/// answered ER801. The next call must carry the token of the recorded answer (the mock
/// answers nothing else), and the refresh must be sent exactly once.
async fn replay_refresh(x: &RecordedExchange, server: &mut ServerGuard) -> String {
    let path = "/api/v1/refresh";
    let status = u64::from(x.status);
    let user_refresh = x.request_headers.contains_key("authorization")
        || x.request_headers.contains_key("x-api-key");
    let refreshed = refreshed_token(x).unwrap_or_else(|| "none".into());
    let after = |header: &str| {
        (
            header.to_owned(),
            Matcher::Exact(format!("Bearer {refreshed}")),
        )
    };
    if user_refresh {
        let refresh = server
            .mock("POST", path)
            .match_header("x-api-key", "key")
            .match_body(Matcher::Json(
                serde_json::json!({"refreshToken": "user-refresh-1"}),
            ))
            .with_status(status as usize)
            .with_header("content-type", "application/json")
            .with_body(x.response.clone())
            .expect(1)
            .create_async()
            .await;
        let (name, value) = after("user-authorization");
        server
            .mock("GET", "/api/v2/user/verification-status")
            .match_header(name.as_str(), value)
            .with_header("content-type", "application/json")
            .with_body("[]")
            .create_async()
            .await;
        let client = client(server, PartnerAuth::api_key("key"));
        let seen = Arc::new(Mutex::new(None));
        let store = seen.clone();
        let expired = UserSession::new(token(1, "user"), "user-refresh-1", "user-1");
        let user = UserContext::session(expired)
            .on_refresh(move |s: &UserSession| *store.lock().unwrap() = Some(s.clone()));
        let result = client.verification_status(&user).await;
        refresh.assert_async().await;
        let stored = seen.lock().unwrap().clone();
        format!(
            "user session refreshed; the call with its new token:\n{result:#?}\nstored: {stored:#?}"
        )
    } else {
        server
            .mock("POST", "/api/v1/authenticate")
            .with_header("content-type", "application/json")
            .with_body(format!(
                r#"{{"token":"{}","refreshToken":"partner-refresh-1"}}"#,
                token(4_102_444_800, "partner-first")
            ))
            .expect(1)
            .create_async()
            .await;
        server
            .mock("GET", "/api/v2/user/verification-status")
            .match_header(
                "authorization",
                format!("Bearer {}", token(4_102_444_800, "partner-first")).as_str(),
            )
            .with_status(400)
            .with_header("content-type", "application/json")
            .with_body(
                r#"{"errors":{"ER801":{"code":"ER801","message":"Authorization token has expired.","solution":"Request a new authorization token."}}}"#,
            )
            .expect(1)
            .create_async()
            .await;
        let refresh = server
            .mock("POST", path)
            .match_header("authorization", Matcher::Missing)
            .match_header("x-api-key", Matcher::Missing)
            .match_body(Matcher::Json(
                serde_json::json!({"refreshToken": "partner-refresh-1"}),
            ))
            .with_status(status as usize)
            .with_header("content-type", "application/json")
            .with_body(x.response.clone())
            .expect(1)
            .create_async()
            .await;
        let (name, value) = after("authorization");
        server
            .mock("GET", "/api/v2/user/verification-status")
            .match_header(name.as_str(), value)
            .with_header("content-type", "application/json")
            .with_body("[]")
            .create_async()
            .await;
        let client = client(server, PartnerAuth::credentials("partner", "pw"));
        let user = UserContext::identifier("00000000-0000-4000-8000-000000000001");
        let result = client.verification_status(&user).await;
        refresh.assert_async().await;
        format!("partner token refreshed after ER801; the replay with its new token:\n{result:#?}")
    }
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
        ("POST", "/api/v1/refresh") => replay_refresh(x, &mut server).await,
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
                        serde_json::from_str(r#"{"questions":[{"key":"mainSourceOfIncome"}]}"#)
                            .unwrap();
                    let answers = questions
                        .answers()
                        .answer("mainSourceOfIncome", "Salary")
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
