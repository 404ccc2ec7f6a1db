//! Token refresh: reactive (ER801/ER701) and proactive, single-flight under concurrency,
//! re-authentication when the refresh token is dead, one replay at most.

mod common;

use amld5_verify::Actionable as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amld5_verify::{BtcDirectClient, Error, ExposeSecret, NextStep, UserContext, UserSession};
use base64::Engine as _;
use common::*;
use mockito::Matcher;

const INFO: &str = "/api/v1/user/info";

fn jwt(exp_from_now: i64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = compliance_core::Timestamp::now().as_second() + exp_from_now;
    format!(
        "{}.{}.signature",
        b64.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64.encode(format!(r#"{{"exp":{exp},"username":"partner"}}"#))
    )
}

fn user() -> UserContext {
    UserContext::identifier("user-42")
}

async fn info_mock(
    server: &mut mockito::ServerGuard,
    bearer: &str,
    status: usize,
    body: String,
) -> mockito::Mock {
    server
        .mock("GET", INFO)
        .match_header("authorization", format!("Bearer {bearer}").as_str())
        .match_header("x-api-key", Matcher::Missing)
        .match_header("user-identifier", "user-42")
        .with_status(status)
        .with_body(body)
        .create_async()
        .await
}

#[tokio::test]
async fn er801_then_success_means_one_refresh_and_one_replay() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let expired = info_mock(&mut server, "pt-1", 400, error_body("ER801"))
        .await
        .expect(1);
    let refresh = mock_refresh(&mut server, "pr-1", "pt-2", "pr-2").await;
    let ok = info_mock(&mut server, "pt-2", 200, "{}".into())
        .await
        .expect(2);
    let client = client(&server);
    client.user_info(&user()).await.unwrap();
    // The refreshed token is kept: no more refreshes.
    client.user_info(&user()).await.unwrap();
    for m in [auth, expired, refresh, ok] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn http_401_without_a_code_also_refreshes() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let expired = info_mock(
        &mut server,
        "pt-1",
        401,
        r#"{"code":401,"message":"Expired JWT Token"}"#.into(),
    )
    .await
    .expect(1);
    let refresh = mock_refresh(&mut server, "pr-1", "pt-2", "pr-2").await;
    let ok = info_mock(&mut server, "pt-2", 200, "{}".into())
        .await
        .expect(1);
    client(&server).user_info(&user()).await.unwrap();
    for m in [auth, expired, refresh, ok] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn a_call_is_replayed_at_most_once() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let first = info_mock(&mut server, "pt-1", 400, error_body("ER801"))
        .await
        .expect(1);
    let refresh = mock_refresh(&mut server, "pr-1", "pt-2", "pr-2").await;
    let second = info_mock(&mut server, "pt-2", 400, error_body("ER801"))
        .await
        .expect(1);
    let err = client(&server).user_info(&user()).await.unwrap_err();
    assert!(matches!(err, Error::PartnerAuth { .. }), "{err:?}");
    for m in [auth, first, refresh, second] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn dead_refresh_token_means_authenticating_again() {
    let mut server = mockito::Server::new_async().await;
    // mockito answers with the first matching mock that still expects hits.
    let auth1 = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let auth2 = mock_authenticate(&mut server, "pt-2", "pr-2").await;
    let expired = info_mock(&mut server, "pt-1", 400, error_body("ER801"))
        .await
        .expect(1);
    let dead = server
        .mock("POST", "/api/v1/refresh")
        .match_body(Matcher::JsonString(r#"{"refreshToken":"pr-1"}"#.into()))
        .with_status(401)
        .with_body(r#"{"code":401,"message":"JWT Refresh Token Not Found"}"#)
        .expect(1)
        .create_async()
        .await;
    let ok = info_mock(&mut server, "pt-2", 200, "{}".into())
        .await
        .expect(1);
    client(&server).user_info(&user()).await.unwrap();
    for m in [auth1, auth2, expired, dead, ok] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn refused_partner_credentials_are_a_configuration_problem() {
    let mut server = mockito::Server::new_async().await;
    let auth = server
        .mock("POST", "/api/v1/authenticate")
        .with_status(401)
        .with_body(r#"{"code":401,"message":"Invalid credentials."}"#)
        .expect(1)
        .create_async()
        .await;
    let none = server.mock("GET", INFO).expect(0).create_async().await;
    let err = client(&server).user_info(&user()).await.unwrap_err();
    assert!(matches!(err, Error::PartnerAuth { .. }), "{err:?}");
    assert_eq!(err.next_step(), NextStep::FixCredentials);
    assert!(!format!("{err:?} {err}").contains(PASSWORD));
    auth.assert_async().await;
    none.assert_async().await;
}

async fn fifty_at_once(client: &BtcDirectClient) {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.user_info(&user()).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_calls_hitting_an_expired_token_cause_one_refresh() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    // However many reached the provider with the old token, each is answered ER801 ...
    let expired = info_mock(&mut server, "pt-1", 400, error_body("ER801"))
        .await
        .expect_at_least(1)
        .expect_at_most(50);
    let refresh = mock_refresh(&mut server, "pr-1", "pt-2", "pr-2").await;
    // ... and every call ends with exactly one success on the new token.
    let ok = info_mock(&mut server, "pt-2", 200, "{}".into())
        .await
        .expect(50);
    fifty_at_once(&client(&server)).await;
    for m in [auth, expired, refresh, ok] {
        m.assert_async().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_calls_across_expiry_refresh_once_before_sending() {
    let mut server = mockito::Server::new_async().await;
    // A JWT valid for 1 h, with the client refreshing 2 h ahead: due as soon as it is used.
    let first = jwt(3600);
    let second = jwt(3 * 3600);
    let auth = mock_authenticate(&mut server, &first, "pr-1").await;
    let refresh = mock_refresh(&mut server, "pr-1", &second, "pr-2").await;
    let before = info_mock(&mut server, &first, 200, "{}".into())
        .await
        .expect(1);
    let after = info_mock(&mut server, &second, 200, "{}".into())
        .await
        .expect(50);
    let client = BtcDirectClient::builder()
        .base_url(server.url())
        .credentials(USERNAME, PASSWORD)
        .refresh_before_expiry(Duration::from_secs(2 * 3600))
        .build()
        .unwrap();
    client.user_info(&user()).await.unwrap();
    fifty_at_once(&client).await;
    for m in [auth, refresh, before, after] {
        m.assert_async().await;
    }
}

async fn user_info_mock(
    server: &mut mockito::ServerGuard,
    token: &str,
    status: usize,
    body: String,
) -> mockito::Mock {
    server
        .mock("GET", INFO)
        .match_header("x-api-key", "api-key-S3cret")
        .match_header("authorization", Matcher::Missing)
        .match_header("user-authorization", format!("Bearer {token}").as_str())
        .match_header("user-identifier", Matcher::Missing)
        .with_status(status)
        .with_body(body)
        .create_async()
        .await
}

async fn user_refresh_mock(server: &mut mockito::ServerGuard) -> mockito::Mock {
    server
        .mock("POST", "/api/v1/refresh")
        // A user-token refresh carries the partner credential.
        .match_header("x-api-key", "api-key-S3cret")
        .match_header("user-authorization", Matcher::Missing)
        .match_body(Matcher::JsonString(r#"{"refreshToken":"ur-1"}"#.into()))
        .with_body(r#"{"token":"ut-2","refreshToken":"ur-2"}"#)
        .expect(1)
        .create_async()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn er701_refreshes_the_user_session_once_and_the_caller_sees_it() {
    let mut server = mockito::Server::new_async().await;
    let expired = user_info_mock(&mut server, "ut-1", 401, error_body("ER701"))
        .await
        .expect_at_least(1)
        .expect_at_most(20);
    let refresh = user_refresh_mock(&mut server).await;
    let ok = user_info_mock(&mut server, "ut-2", 200, "{}".into())
        .await
        .expect(20);

    let stored: Arc<Mutex<Vec<UserSession>>> = Arc::default();
    let sink = stored.clone();
    let user = UserContext::session(UserSession::new("ut-1", "ur-1", "user-42"))
        .on_refresh(move |s| sink.lock().unwrap().push(s.clone()));
    let client = api_key_client(&server);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, user) = (client.clone(), user.clone());
        tasks.push(tokio::spawn(async move { client.user_info(&user).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for m in [expired, refresh, ok] {
        m.assert_async().await;
    }

    let stored = stored.lock().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token.expose_secret(), "ut-2");
    assert_eq!(stored[0].refresh_token.expose_secret(), "ur-2");
    assert_eq!(stored[0].identifier, "user-42");
    let now = user.session_snapshot().unwrap();
    assert_eq!(now.token.expose_secret(), "ut-2");
    let expires =
        now.expires_at.unwrap().as_second() - compliance_core::Timestamp::now().as_second();
    assert!((3500..=3600).contains(&expires), "{expires}");
}

#[tokio::test]
async fn dead_user_refresh_token_means_logging_the_user_in_again() {
    let mut server = mockito::Server::new_async().await;
    let expired = user_info_mock(&mut server, "ut-1", 401, error_body("ER701"))
        .await
        .expect(1);
    let dead = server
        .mock("POST", "/api/v1/refresh")
        .with_status(401)
        .with_body(r#"{"code":401,"message":"JWT Refresh Token Not Found"}"#)
        .expect(1)
        .create_async()
        .await;
    let user = UserContext::session(UserSession::new("ut-1", "ur-1", "user-42"));
    let err = api_key_client(&server).user_info(&user).await.unwrap_err();
    assert!(matches!(err, Error::UserAuth { .. }), "{err:?}");
    assert_eq!(err.next_step(), NextStep::LogInUserAgain);
    assert_eq!(
        user.session_snapshot().unwrap().token.expose_secret(),
        "ut-1"
    );
    expired.assert_async().await;
    dead.assert_async().await;
}

#[tokio::test]
async fn an_expired_user_token_is_refreshed_before_sending() {
    let mut server = mockito::Server::new_async().await;
    let old = jwt(-10);
    let refresh = server
        .mock("POST", "/api/v1/refresh")
        .match_body(Matcher::JsonString(r#"{"refreshToken":"ur-1"}"#.into()))
        .with_body(r#"{"token":"ut-2"}"#)
        .expect(1)
        .create_async()
        .await;
    let stale = user_info_mock(&mut server, &old, 200, "{}".into())
        .await
        .expect(0);
    let ok = user_info_mock(&mut server, "ut-2", 200, "{}".into())
        .await
        .expect(1);
    let user = UserContext::session(UserSession::new(old.as_str(), "ur-1", "user-42"));
    api_key_client(&server).user_info(&user).await.unwrap();
    let now = user.session_snapshot().unwrap();
    assert_eq!(now.token.expose_secret(), "ut-2");
    // The provider did not rotate the refresh token: the old one is kept.
    assert_eq!(now.refresh_token.expose_secret(), "ur-1");
    for m in [refresh, stale, ok] {
        m.assert_async().await;
    }
}
