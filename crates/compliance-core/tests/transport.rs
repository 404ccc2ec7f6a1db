//! The transport against real sockets: mockito for request/response behaviour, raw
//! listeners on the test's own runtime for servers that hang or never stop sending. Tests
//! about time run with paused tokio time: a timeout fires when the runtime has nothing else
//! to do, never because the machine was slow.

use compliance_core::Actionable as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use compliance_core::Error;
use compliance_core::http::{
    Auth, AuthContext, AuthVerdict, CredentialSet, HeaderValue, HttpClientBuilder, Request,
    Response, RetryPolicy, StatusCode, Transport, TransportConfig,
};
use compliance_core::rt::{BoxFuture, Runtime, TokioRuntime};
use compliance_core::{NextStep, TimeoutKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Records back-off sleeps instead of waiting.
#[derive(Debug, Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

impl RecordingSleeper {
    fn sleeps(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl Runtime for RecordingSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.0.lock().unwrap().push(d);
        Box::pin(async {})
    }

    fn spawn(&self, task: BoxFuture<()>) -> bool {
        TokioRuntime.spawn(task)
    }
}

fn transport(url: &str, config: TransportConfig) -> (Transport, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let t = Transport::builder(url)
        .user_agent("test-crate/9.9.9")
        .config(config)
        .runtime(sleeper.clone())
        .build()
        .unwrap();
    (t, sleeper)
}

#[tokio::test]
async fn retries_503_twice_then_succeeds_with_exactly_three_requests() {
    let mut server = mockito::Server::new_async().await;
    let fail = server
        .mock("GET", "/v1/thing")
        .with_status(503)
        .expect(2)
        .create_async()
        .await;
    let ok = server
        .mock("GET", "/v1/thing")
        .with_status(200)
        .with_body(r#"{"ok":true}"#)
        .expect(1)
        .create_async()
        .await;
    let (t, sleeper) = transport(&server.url(), TransportConfig::default());

    let response = t.send(Request::get("/v1/thing")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), br#"{"ok":true}"#);
    fail.assert_async().await;
    ok.assert_async().await;
    let sleeps = sleeper.sleeps();
    assert_eq!(sleeps.len(), 2);
    let policy = RetryPolicy::default();
    assert!(
        sleeps[0] <= policy.base_delay && sleeps[1] <= policy.base_delay * 2,
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_returns_the_last_response() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/x")
        .with_status(500)
        .expect(3)
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let response = t.send(Request::get("/x")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.to_error().is_retryable());
    m.assert_async().await;
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/x")
        .with_status(400)
        .with_body("bad")
        .expect(1)
        .create_async()
        .await;
    let (t, sleeper) = transport(&server.url(), TransportConfig::default());
    let err = t
        .send(Request::get("/x"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert!(!err.is_retryable());
    m.assert_async().await;
    assert!(sleeper.sleeps().is_empty());
}

#[tokio::test]
async fn requests_not_declared_repeatable_are_sent_once() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("POST", "/resend")
        .with_status(503)
        .expect(1)
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let response = t
        .send(Request::post("/resend").json(&[1, 2]).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    m.assert_async().await;

    // The same POST declared repeatable is retried.
    let m2 = server
        .mock("POST", "/read")
        .with_status(503)
        .expect(3)
        .create_async()
        .await;
    t.send(Request::post("/read").repeatable(true))
        .await
        .unwrap();
    m2.assert_async().await;
}

#[tokio::test]
async fn honours_retry_after_seconds_and_http_dates_clamped() {
    let mut server = mockito::Server::new_async().await;
    let limited = server
        .mock("GET", "/x")
        .with_status(429)
        .with_header("retry-after", "7")
        .expect(1)
        .create_async()
        .await;
    let far = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let limited_date = server
        .mock("GET", "/x")
        .with_status(503)
        .with_header("retry-after", &far)
        .expect(1)
        .create_async()
        .await;
    let ok = server
        .mock("GET", "/x")
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    let config = TransportConfig::default()
        .retry(RetryPolicy::default().max_retry_after(Duration::from_secs(20)))
        .deadline(Duration::from_secs(600));
    let (t, sleeper) = transport(&server.url(), config);

    assert_eq!(
        t.send(Request::get("/x")).await.unwrap().status(),
        StatusCode::OK
    );

    assert_eq!(
        sleeper.sleeps(),
        vec![Duration::from_secs(7), Duration::from_secs(20)]
    );
    limited.assert_async().await;
    limited_date.assert_async().await;
    ok.assert_async().await;
}

#[tokio::test]
async fn rate_limit_error_carries_retry_after() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/x")
        .with_status(429)
        .with_header("retry-after", "12")
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let err = t
        .send(Request::post("/x"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap_err();
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(12)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn retry_that_would_pass_the_deadline_is_not_attempted() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/x")
        .with_status(503)
        .with_header("retry-after", "30")
        .expect(1)
        .create_async()
        .await;
    let (t, sleeper) = transport(
        &server.url(),
        TransportConfig::default().deadline(Duration::from_secs(5)),
    );
    assert_eq!(
        t.send(Request::get("/x")).await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    m.assert_async().await;
    assert!(sleeper.sleeps().is_empty());
}

/// A server that accepts connections, reads the request, and never answers.
/// Whether `err` is a timeout of the `kind` limit.
fn timed_out(err: &Error, kind: TimeoutKind) -> bool {
    matches!(err, Error::Timeout { kind: k, .. } if *k == kind)
}

async fn silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while sock.read(&mut buf).await.is_ok_and(|n| n > 0) {}
            });
        }
    });
    (url, accepted)
}

#[tokio::test(start_paused = true)]
async fn per_attempt_timeout_fires_and_is_retried_for_reads_only() {
    let (url, _) = silent_server().await;
    let config = TransportConfig::default().attempt_timeout(Duration::from_millis(150));
    let (t, sleeper) = transport(&url, config);

    let started = tokio::time::Instant::now();
    let err = t.send(Request::get("/hang")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Attempt,
                after,
            } if after == Duration::from_millis(150)
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(sleeper.sleeps().len(), 2, "a read is attempted three times");
    assert_eq!(started.elapsed(), Duration::from_millis(450));

    let err = t.send(Request::post("/hang")).await.unwrap_err();
    assert!(timed_out(&err, TimeoutKind::Attempt), "{err:?}");
    assert_eq!(
        sleeper.sleeps().len(),
        2,
        "a non-repeatable call is sent once"
    );
}

#[tokio::test(start_paused = true)]
async fn overall_deadline_bounds_the_call() {
    let (url, _) = silent_server().await;
    let config = TransportConfig::default()
        .attempt_timeout(Duration::from_secs(30))
        .deadline(Duration::from_millis(200));
    let (t, _) = transport(&url, config);
    let started = tokio::time::Instant::now();
    let err = t.send(Request::get("/hang")).await.unwrap_err();
    assert!(timed_out(&err, TimeoutKind::Deadline), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_millis(200));
}

#[tokio::test]
async fn huge_configured_durations_saturate_instead_of_panicking() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/x")
        .with_status(429)
        .with_header("retry-after", "18446744073709551615")
        .expect(1)
        .create_async()
        .await;
    let config = TransportConfig::default()
        .deadline(Duration::MAX)
        .attempt_timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .retry(
            RetryPolicy::default()
                .max_retry_after(Duration::MAX)
                .backoff(Duration::MAX, Duration::MAX),
        );
    let (t, sleeper) = transport(&server.url(), config);
    let response = t.send(Request::get("/x")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        sleeper.sleeps().is_empty(),
        "a retry past \"never\" is not attempted"
    );
    m.assert_async().await;
}

#[tokio::test]
async fn body_over_the_declared_length_cap_is_refused() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/big")
        .with_body(vec![b'a'; 64 * 1024])
        .create_async()
        .await;
    let (t, _) = transport(
        &server.url(),
        TransportConfig::default().max_response_bytes(1024),
    );
    let err = t.send(Request::get("/big")).await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 1024 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn endless_chunked_body_fails_without_buffering_it_all() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let sent_by_server = sent.clone();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = sock.read(&mut buf).await;
        sock.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        // Up to 1 GiB, unless the client hangs up first.
        for _ in 0..16 * 1024 {
            let head = format!("{:x}\r\n", chunk.len());
            let ok = sock.write_all(head.as_bytes()).await.is_ok()
                && sock.write_all(&chunk).await.is_ok()
                && sock.write_all(b"\r\n").await.is_ok();
            if !ok {
                break;
            }
            sent_by_server.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
    });
    let (t, _) = transport(
        &url,
        TransportConfig::default().max_response_bytes(256 * 1024),
    );
    let err = t.send(Request::get("/stream")).await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 262_144 }),
        "{err:?}"
    );
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        sent < 64 * 1024 * 1024,
        "client kept reading: server sent {sent} bytes"
    );
}

#[tokio::test]
async fn html_error_page_becomes_a_provider_error_with_a_snippet() {
    let mut server = mockito::Server::new_async().await;
    let page = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "x".repeat(5000)
    );
    server
        .mock("POST", "/v1/payment/info")
        .with_status(502)
        .with_header("content-type", "text/html")
        .with_body(&page)
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let response = t.send(Request::post("/v1/payment/info")).await.unwrap();

    let decode = response.json::<serde_json::Value>().unwrap_err();
    assert!(matches!(decode, Error::Decode { .. }), "{decode:?}");

    let err = response.error_for_status().unwrap_err();
    let Error::Provider { status, body } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, StatusCode::BAD_GATEWAY);
    assert!(
        body.as_str()
            .starts_with("<html><head><title>502 Bad Gateway")
    );
    assert!(body.is_truncated());
    assert!(err.to_string().len() < 1500);
}

#[tokio::test]
async fn transport_errors_are_typed_and_retryable() {
    // Bind then drop a listener: the port refuses connections.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (t, sleeper) = transport(&format!("http://{addr}"), TransportConfig::default());
    let err = t.send(Request::get("/x")).await.unwrap_err();
    let Error::Transport(inner) = &err else {
        panic!("{err:?}")
    };
    assert!(inner.is_connect());
    assert!(err.is_retryable());
    assert_eq!(sleeper.sleeps().len(), 2);
}

#[tokio::test]
async fn sends_user_agent_and_the_exact_body_bytes() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("POST", "/v1/x")
        .match_header(
            "user-agent",
            mockito::Matcher::Regex(r"^test-crate/9\.9\.9 compliance-core/".into()),
        )
        .match_header("content-type", "application/json")
        .match_body(r#"{"order_id":"order-42"}"#)
        .with_status(200)
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let body = serde_json::json!({"order_id": "order-42"});
    t.send(Request::post("/v1/x").json(&body).unwrap())
        .await
        .unwrap();
    m.assert_async().await;
}

/// A token in generation `n`: resolves the current one (optionally slowly), signs the body
/// bytes, and reads 401 as "expired" (certain when the body says so).
#[derive(Default)]
struct TestAuth {
    generation: AtomicUsize,
    resolve_delay: Duration,
    seen_bodies: Mutex<Vec<Vec<u8>>>,
}

#[async_trait]
impl Auth for TestAuth {
    type Identity = usize;
    type Error = Error;

    async fn resolve(&self) -> Result<usize, Error> {
        tokio::time::sleep(self.resolve_delay).await;
        Ok(self.generation.load(Ordering::SeqCst))
    }

    fn sign(&self, generation: &usize, req: &mut AuthContext<'_>) -> Result<(), Error> {
        self.seen_bodies.lock().unwrap().push(req.body.to_vec());
        let mut value = HeaderValue::from_str(&format!("token-{generation}")).unwrap();
        value.set_sensitive(true);
        req.headers.insert("x-token", value);
        Ok(())
    }

    fn classify(&self, _: &usize, response: &Response) -> AuthVerdict<Error> {
        if response.status() == StatusCode::UNAUTHORIZED {
            return AuthVerdict::Expired {
                credentials: CredentialSet::slot(0),
                certain: response.body().as_ref() == b"expired",
                error: response.to_error(),
            };
        }
        AuthVerdict::Accept
    }

    fn invalidate(&self, generation: &usize, _: CredentialSet) {
        let _ = self.generation.compare_exchange(
            *generation,
            generation + 1,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

#[tokio::test]
async fn auth_signs_the_body_bytes_and_replays_once_after_an_expiry() {
    let mut server = mockito::Server::new_async().await;
    let rejected = server
        .mock("POST", "/submit")
        .match_header("x-token", "token-0")
        .with_status(401)
        .with_body("expired")
        .expect(1)
        .create_async()
        .await;
    let accepted = server
        .mock("POST", "/submit")
        .match_header("x-token", "token-1")
        .with_status(200)
        .expect(1)
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let auth = TestAuth::default();
    let request =
        Request::post("/submit").body(&b"[1]"[..], HeaderValue::from_static("application/json"));

    assert_eq!(
        t.send_with(request, &auth).await.unwrap().status(),
        StatusCode::OK
    );
    rejected.assert_async().await;
    accepted.assert_async().await;
    assert_eq!(
        *auth.seen_bodies.lock().unwrap(),
        vec![b"[1]".to_vec(), b"[1]".to_vec()]
    );
}

#[tokio::test]
async fn a_credential_is_replayed_for_at_most_once() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("POST", "/submit")
        .with_status(401)
        .with_body("expired")
        .expect(2)
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let err = t
        .send_with(Request::post("/submit"), &TestAuth::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    m.assert_async().await;
}

#[tokio::test]
async fn an_uncertain_expiry_replays_only_repeatable_requests() {
    let mut server = mockito::Server::new_async().await;
    let post = server
        .mock("POST", "/x")
        .with_status(401)
        .expect(1)
        .create_async()
        .await;
    let get = server
        .mock("GET", "/x")
        .with_status(401)
        .expect(2)
        .create_async()
        .await;
    let (t, _) = transport(&server.url(), TransportConfig::default());
    let auth = TestAuth::default();
    assert!(t.send_with(Request::post("/x"), &auth).await.is_err());
    assert_eq!(
        auth.generation.load(Ordering::SeqCst),
        1,
        "still invalidated"
    );
    assert!(t.send_with(Request::get("/x"), &auth).await.is_err());
    post.assert_async().await;
    get.assert_async().await;
}

#[tokio::test(start_paused = true)]
async fn the_deadline_covers_resolving_the_identity() {
    let (url, _) = silent_server().await;
    let (t, _) = transport(
        &url,
        TransportConfig::default().deadline(Duration::from_secs(2)),
    );
    let auth = TestAuth {
        resolve_delay: Duration::from_secs(3600),
        ..TestAuth::default()
    };
    let started = tokio::time::Instant::now();
    let err = t.send_with(Request::get("/x"), &auth).await.unwrap_err();
    assert!(timed_out(&err, TimeoutKind::Deadline), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn redirects_are_not_followed_even_with_a_callers_client_builder() {
    let mut other = mockito::Server::new_async().await;
    let stolen = other.mock("POST", "/steal").expect(0).create_async().await;
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/x")
        .with_status(307)
        .with_header("location", &format!("{}/steal", other.url()))
        .create_async()
        .await;
    let t = Transport::builder(server.url())
        .http_client(HttpClientBuilder::new().redirect(reqwest_redirect_everything()))
        .build()
        .unwrap();
    let request = Request::post("/x")
        .header(
            "x-api-key".parse().unwrap(),
            HeaderValue::from_static("S3cret"),
        )
        .body(
            &br#"{"password":"S3cret"}"#[..],
            HeaderValue::from_static("application/json"),
        );
    assert_eq!(
        t.send(request).await.unwrap().status(),
        StatusCode::TEMPORARY_REDIRECT
    );
    stolen.assert_async().await;
}

fn reqwest_redirect_everything() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::limited(10)
}

#[test]
fn plain_http_to_a_remote_host_and_credentials_in_the_url_are_refused() {
    for bad in [
        "http://api.example.com",
        "https://user:S3cret@api.example.com",
    ] {
        let err = Transport::builder(bad).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{bad}: {err:?}");
        assert!(!err.to_string().contains("S3cret"), "{err}");
    }
    assert!(Transport::builder("http://127.0.0.1:1").build().is_ok());
    assert!(
        Transport::builder("http://api.example.com")
            .config(TransportConfig::default().allow_plain_http(true))
            .build()
            .is_ok()
    );
}

#[test]
fn debug_of_config_and_transport_reveals_nothing_secret() {
    let t = Transport::builder("https://api.example.com")
        .build()
        .unwrap();
    let text = format!("{t:?} {:?}", TransportConfig::default());
    assert!(text.contains("api.example.com"));
    let req = Request::post("/x?token=abc")
        .body(&b"secret-body"[..], HeaderValue::from_static("text/plain"));
    let shown = format!("{req:?}");
    assert!(
        !shown.contains("secret-body") && !shown.contains("token=abc"),
        "{shown}"
    );
    let response = Response::new(
        StatusCode::OK,
        Default::default(),
        bytes::Bytes::from_static(b"secret-body"),
    );
    assert!(!format!("{response:?}").contains("secret-body"));
}

/// A sleeper that ignores the delay it is given and sleeps an hour.
#[derive(Debug)]
struct Oversleeper;

impl Runtime for Oversleeper {
    fn sleep(&self, _: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(Duration::from_secs(3600)))
    }

    fn spawn(&self, task: BoxFuture<()>) -> bool {
        TokioRuntime.spawn(task)
    }
}

#[tokio::test]
async fn the_deadline_bounds_a_back_off_whatever_the_sleeper_does() {
    let mut server = mockito::Server::new_async().await;
    let busy = server
        .mock("GET", "/v1/thing")
        .with_status(503)
        .expect(1)
        .create_async()
        .await;
    let t = Transport::builder(server.url())
        .config(
            TransportConfig::default()
                .deadline(Duration::from_millis(300))
                .retry(
                    RetryPolicy::default()
                        .max_attempts(3)
                        .backoff(Duration::from_millis(1), Duration::from_millis(1)),
                ),
        )
        .runtime(Arc::new(Oversleeper))
        .build()
        .unwrap();
    let call = t.send(Request::get("/v1/thing"));
    // The guard against a hang, far above the deadline: not a timing assertion.
    let err = tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("the deadline ends the call")
        .unwrap_err();
    assert!(timed_out(&err, TimeoutKind::Deadline), "{err:?}");
    busy.assert_async().await;
}

#[tokio::test]
async fn connection_refused_names_the_url() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (t, _) = transport(&format!("http://{addr}/v1"), TransportConfig::default());
    let err = t
        .send(Request::get("/payment/info?token=S3cret"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("http://{addr}/v1/payment/info")),
        "{text}"
    );
    assert!(!text.contains("S3cret"), "{text}");
}

/// A plain-HTTP server: reads what arrives and answers 400 in clear text, as any HTTP server
/// does to a TLS handshake.
async fn plain_http_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_configuration_not_retry_later() {
    let addr = plain_http_server().await;
    let (t, sleeper) = transport(&format!("https://{addr}"), TransportConfig::default());
    let err = t.send(Request::get("/x")).await.unwrap_err();
    assert_eq!(err.next_step(), NextStep::FixConfiguration, "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("https://{addr}")), "{text}");
    assert!(text.contains("http://"), "{text}");
    assert!(
        sleeper.sleeps().is_empty(),
        "retried: {:?}",
        sleeper.sleeps()
    );
}

#[tokio::test]
async fn a_404_without_the_providers_shape_is_configuration_and_names_the_url() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/wrong/v1/payment/info")
        .match_query(mockito::Matcher::Any)
        .with_status(404)
        .with_header("content-type", "text/html")
        .with_body("<html>Not Found</html>")
        .create_async()
        .await;
    let (t, _) = transport(
        &format!("{}/wrong", server.url()),
        TransportConfig::default(),
    );
    let response = t
        .send(Request::post("/v1/payment/info?x=S3cret"))
        .await
        .unwrap();
    let err = response.to_error();
    assert_eq!(err.next_step(), NextStep::FixConfiguration, "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    let text = err.to_string();
    assert!(
        text.contains(&format!("{}/wrong/v1/payment/info", server.url())),
        "{text}"
    );
    assert!(
        text.contains("base URL") && !text.contains("S3cret"),
        "{text}"
    );
}
