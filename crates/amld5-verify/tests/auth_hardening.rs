//! Auth defects found in the security review (issue #13), each pinned by a test: tokens in
//! decode errors, refreshes lost to a dropped caller, auth outside the call's deadline,
//! replays of non-repeatable requests, partner and user tokens expiring together.

mod common;

use amld5_verify::Actionable as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amld5_verify::{
    BtcDirectClient, Er801Reading, Error, ExposeSecret, NextStep, SecretString, TransportConfig,
    UserContext, UserSession,
};
use base64::Engine as _;
use common::raw::{RawRequest, Reply, raw_server};
use common::*;
use compliance_core::http::RetryPolicy;
use mockito::Matcher;
use tokio::sync::Notify;

const INFO: &str = "/api/v1/user/info";

fn jwt(exp_from_now: i64) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = compliance_core::Timestamp::now().as_second() + exp_from_now;
    format!(
        "{}.{}.signature",
        b64.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64.encode(format!(r#"{{"exp":{exp}}}"#))
    )
}

fn shown(err: &Error) -> String {
    format!("{err} {err:?}")
}

#[tokio::test]
async fn tokens_never_reach_a_decode_error() {
    for body in [
        r#"{"token":"pt-LEAK-1","refreshToken":123456789}"#,
        r#"{"token":"pt-LEAK-1","refreshToken":"pr-LEAK-2"} trailing"#,
        r#"{"token":"pt-LEAK-1","refreshToken":["pr-LEAK-2"]}"#,
    ] {
        let mut server = mockito::Server::new_async().await;
        server
            .mock("POST", "/api/v1/authenticate")
            .with_body(body)
            .create_async()
            .await;
        let err = client(&server)
            .user_info(&UserContext::identifier("u"))
            .await
            .unwrap_err();
        let text = shown(&err);
        for secret in ["pt-LEAK-1", "pr-LEAK-2", "123456789"] {
            assert!(!text.contains(secret), "{body}: {text}");
        }
        assert_eq!(err.next_step(), NextStep::ReportProviderChange, "{text}");
    }

    // The user's login answer and a refresh answer.
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/api/v1/user/login")
        .with_body(r#"{"token":"ut-LEAK-3","refreshToken":"ur-LEAK-4","identifier":7}"#)
        .create_async()
        .await;
    let err = api_key_client(&server)
        .login("a@example.com", &SecretString::from("user-pw-LEAK-5"))
        .await
        .unwrap_err();
    let text = shown(&err);
    for secret in ["ut-LEAK-3", "ur-LEAK-4", "user-pw-LEAK-5"] {
        assert!(!text.contains(secret), "{text}");
    }
    server
        .mock("POST", "/api/v1/refresh")
        .with_body(r#"{"token":"ut-LEAK-6","refreshToken":false}"#)
        .create_async()
        .await;
    let user = UserContext::session(UserSession::new(jwt(-10), "ur-1", "u"));
    let err = api_key_client(&server).user_info(&user).await.unwrap_err();
    assert!(!shown(&err).contains("ut-LEAK-6"), "{}", shown(&err));
}

#[tokio::test]
async fn refused_credentials_keep_the_providers_message() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/api/v1/authenticate")
        .with_status(401)
        .with_body(r#"{"code":401,"message":"Invalid credentials."}"#)
        .create_async()
        .await;
    let err = client(&server)
        .user_info(&UserContext::identifier("u"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PartnerAuth { .. }), "{err:?}");
    assert!(err.to_string().contains("Invalid credentials."), "{err}");
}

/// Partner token answered ER801, then (with the new partner token) the user token ER701:
/// both are refreshed, and the caller sees the success.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partner_and_user_expiring_together_refresh_once_each_and_no_er701_escapes() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let partner_expired = server
        .mock("GET", INFO)
        .match_header("authorization", "Bearer pt-1")
        .with_status(400)
        .with_body(error_body("ER801"))
        .expect_at_least(1)
        .expect_at_most(50)
        .create_async()
        .await;
    let partner_refresh = mock_refresh(&mut server, "pr-1", "pt-2", "pr-2").await;
    let user_expired = server
        .mock("GET", INFO)
        .match_header("authorization", "Bearer pt-2")
        .match_header("user-authorization", "Bearer ut-1")
        .with_status(401)
        .with_body(error_body("ER701"))
        .expect_at_least(1)
        .expect_at_most(50)
        .create_async()
        .await;
    let user_refresh = server
        .mock("POST", "/api/v1/refresh")
        .match_header("authorization", "Bearer pt-2")
        .match_body(Matcher::JsonString(r#"{"refreshToken":"ur-1"}"#.into()))
        .with_body(r#"{"token":"ut-2","refreshToken":"ur-2"}"#)
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("GET", INFO)
        .match_header("authorization", "Bearer pt-2")
        .match_header("user-authorization", "Bearer ut-2")
        .with_body("{}")
        .expect(50)
        .create_async()
        .await;

    let client = client(&server);
    // The partner token pt-1 is obtained first (one call), then all 50 race.
    let user = UserContext::session(UserSession::new("ut-1", "ur-1", "user-42"));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (client, user) = (client.clone(), user.clone());
        tasks.push(tokio::spawn(async move { client.user_info(&user).await }));
    }
    for task in tasks {
        let result = task.await.unwrap();
        assert!(result.is_ok(), "{:?}", result.err());
    }
    for m in [
        auth,
        partner_expired,
        partner_refresh,
        user_expired,
        user_refresh,
        ok,
    ] {
        m.assert_async().await;
    }
}

fn raw_client(url: &str, config: TransportConfig) -> BtcDirectClient {
    BtcDirectClient::builder()
        .base_url(url)
        .credentials(USERNAME, PASSWORD)
        .transport_config(config)
        .build()
        .unwrap()
}

/// A caller dropped after the provider answered the refresh: the rotated tokens are kept
/// and `on_refresh` still fires, so the next call needs no login.
#[tokio::test]
async fn a_refresh_survives_its_caller_being_dropped() {
    let answered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (a, r) = (answered.clone(), release.clone());
    let spent = std::sync::atomic::AtomicBool::new(false);
    let server =
        raw_server(
            move |req: &RawRequest| match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/api/v1/authenticate") => {
                    Reply::now(200, r#"{"token":"pt-1","refreshToken":"pr-1"}"#)
                }
                ("POST", "/api/v1/refresh")
                    if req.body.contains("ur-1")
                        && !spent.swap(true, std::sync::atomic::Ordering::SeqCst) =>
                {
                    Reply::Partial {
                        status: 200,
                        body: r#"{"token":"ut-2","refreshToken":"ur-2"}"#.into(),
                        split: 10,
                        answered: a.clone(),
                        release: r.clone(),
                    }
                }
                ("POST", "/api/v1/refresh") => Reply::now(401, r#"{"code":401,"message":"spent"}"#),
                ("GET", INFO) if req.header("user-authorization") == Some("Bearer ut-2") => {
                    Reply::now(200, "{}")
                }
                _ => Reply::now(401, error_body("ER701")),
            },
        )
        .await;
    let client = raw_client(
        &server.url,
        TransportConfig::default().retry(RetryPolicy::none()),
    );
    let stored: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = stored.clone();
    let user =
        UserContext::session(UserSession::new(jwt(-10), "ur-1", "user-42")).on_refresh(move |s| {
            sink.lock()
                .unwrap()
                .push(s.token.expose_secret().to_owned())
        });

    let first = {
        let (client, user) = (client.clone(), user.clone());
        tokio::spawn(async move { client.user_info(&user).await })
    };
    answered.notified().await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    release.notify_one();

    client.user_info(&user).await.unwrap();
    assert_eq!(server.count("POST", "/api/v1/refresh"), 1, "one refresh");
    assert_eq!(server.count("POST", "/api/v1/user/login"), 0, "no login");
    assert_eq!(*stored.lock().unwrap(), ["ut-2"]);
    let now = user.session_snapshot().unwrap();
    assert_eq!(now.refresh_token.expose_secret(), "ur-2");
}

/// The overall deadline covers the partner refresh that an ER801 triggers.
#[tokio::test(start_paused = true)]
async fn the_deadline_covers_authentication() {
    let infos = std::sync::atomic::AtomicUsize::new(0);
    let server =
        raw_server(
            move |req: &RawRequest| match (req.method.as_str(), req.path.as_str()) {
                ("POST", "/api/v1/authenticate") => {
                    Reply::now(200, r#"{"token":"pt-1","refreshToken":"pr-1"}"#)
                }
                ("GET", INFO) if infos.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => {
                    Reply::now(200, "{}")
                }
                ("GET", INFO) => Reply::After(Duration::from_secs(1), 400, error_body("ER801")),
                // The refresh (and any authenticate after it) hangs.
                _ => Reply::Hang,
            },
        )
        .await;
    let client = raw_client(
        &server.url,
        TransportConfig::default().deadline(Duration::from_secs(2)),
    );
    let user = UserContext::identifier("u");
    client.user_info(&user).await.unwrap();
    let started = tokio::time::Instant::now();
    let err = client.user_info(&user).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(err.is_retryable(), "{err:?}");
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_millis(2100),
        "the call took {elapsed:?} with a 2 s deadline"
    );
}

/// `login` creates a session: after a lost answer it is not sent again.
#[tokio::test]
async fn a_lost_login_answer_is_not_retried() {
    let server = raw_server(|req: &RawRequest| match req.path.as_str() {
        "/api/v1/authenticate" => Reply::now(200, r#"{"token":"pt-1","refreshToken":"pr-1"}"#),
        _ => Reply::Close,
    })
    .await;
    let client = raw_client(&server.url, TransportConfig::default());
    let err = client
        .login("a@example.com", &SecretString::from("pw"))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(server.count("POST", "/api/v1/user/login"), 1);
}

/// An empty 401 (a proxy's, perhaps) is no proof the provider refused the token before
/// acting: a non-repeatable request is not replayed.
#[tokio::test]
async fn an_empty_401_does_not_replay_a_submission() {
    let mut server = mockito::Server::new_async().await;
    let _auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let submit = server
        .mock("POST", "/api/v1/user/verify/amld5")
        .with_status(401)
        .expect(1)
        .create_async()
        .await;
    let answers: amld5_verify::Amld5Questions =
        serde_json::from_str(r#"{"questions":[{"key":"k","label":"l","answerOptions":["a"]}]}"#)
            .unwrap();
    let answers = answers.answers().answer("k", "a").build().unwrap();
    let err = client(&server)
        .submit_amld5_answers(&UserContext::identifier("u"), &answers)
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(compliance_core::http::StatusCode::UNAUTHORIZED)
    );
    submit.assert_async().await;
}

/// ER801 on a user call is ambiguous in the docs: read as the user token's when configured.
#[tokio::test]
async fn er801_can_be_read_as_the_user_tokens_expiry() {
    let mut server = mockito::Server::new_async().await;
    let expired = server
        .mock("GET", INFO)
        .match_header("user-authorization", "Bearer ut-1")
        .with_status(400)
        .with_body(error_body("ER801"))
        .expect(1)
        .create_async()
        .await;
    let refresh = server
        .mock("POST", "/api/v1/refresh")
        .match_header("x-api-key", "api-key-S3cret")
        .match_body(Matcher::JsonString(r#"{"refreshToken":"ur-1"}"#.into()))
        .with_body(r#"{"token":"ut-2","refreshToken":"ur-2"}"#)
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("GET", INFO)
        .match_header("user-authorization", "Bearer ut-2")
        .with_body("{}")
        .expect(1)
        .create_async()
        .await;
    let client = BtcDirectClient::builder()
        .base_url(server.url())
        .api_key("api-key-S3cret")
        .er801_reading(Er801Reading::UserToken)
        .build()
        .unwrap();
    let user = UserContext::session(UserSession::new("ut-1", "ur-1", "user-42"));
    client.user_info(&user).await.unwrap();
    for m in [expired, refresh, ok] {
        m.assert_async().await;
    }
    // The documented default: with an API key there is no partner token to renew.
    let err = api_key_client(&server)
        .user_info(&UserContext::session(UserSession::new("ut-1", "ur-1", "u")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PartnerAuth { .. }), "{err:?}");
}

/// A 401 on `user/login` is about the user's email and password (issue #25): its own
/// error, not a partner-credential failure, and neither the login nor a partner refresh is
/// sent again.
#[tokio::test]
async fn a_refused_login_is_the_users_credentials_and_is_not_replayed() {
    let mut server = mockito::Server::new_async().await;
    let auth = mock_authenticate(&mut server, "pt-1", "pr-1").await;
    let refresh = server
        .mock("POST", "/api/v1/refresh")
        .with_body(r#"{"token":"pt-2","refreshToken":"pr-2"}"#)
        .expect(0)
        .create_async()
        .await;
    let login = server
        .mock("POST", "/api/v1/user/login")
        .with_status(401)
        .with_body(r#"{"code":401,"message":"Invalid credentials."}"#)
        .expect(1)
        .create_async()
        .await;
    let err = client(&server)
        .login("a@example.com", &SecretString::from("wrong-pw-LEAK"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LoginRefused { .. }), "{err:?}");
    assert_eq!(err.next_step(), NextStep::LogInUserAgain, "{err:?}");
    let text = shown(&err);
    assert!(text.contains("email and password"), "{text}");
    assert!(!text.contains("wrong-pw-LEAK"), "{text}");
    auth.assert_async().await;
    refresh.assert_async().await;
    login.assert_async().await;
}
