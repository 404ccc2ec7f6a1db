//! The secret-leak test: every client call, every error path of the security review (issue
//! #13) and the whole `compliance_day` walkthrough run with a `tracing` subscriber (and a
//! `log` logger) at TRACE capturing everything, every error is formatted with `{}` and
//! `{:?}`, and none of the secrets in play may appear anywhere: keys, passwords, tokens,
//! refresh tokens, questionnaire links, verification links. A recording metrics recorder
//! is installed too: no metric name or label may carry one either.
//!
//! Secrets are not guessed: the credentials come from the sandbox (or the test), and
//! everything the providers handed out is read off the wire by a [`Tap`] in front of each
//! API (elKYC's encrypted bodies decrypted with the application's keys).

#[allow(dead_code)]
#[path = "../../crates/compliance-sandbox/examples/compliance_day.rs"]
mod compliance_day;

use std::time::Duration;

use amld5_verify::{BtcDirectClient, SecretString, UserContext, UserSession};
use compliance_core::http::{HeaderMap, Response, RetryPolicy, StatusCode, TransportConfig};
use compliance_core::{AmlProvider, RequiredAction, Subject, SubjectRef};
use compliance_e2e::{Exchange, Tap};
use compliance_sandbox::{
    ElkycConfig, EncryptionMode, NewPayment, Provider, Sandbox, SandboxConfig,
};
use heleket_aml::{HeleketClient, PaymentRef, TestWebhook, WebhookKind, WebhookVerifier};
use kyc_public_api::WebhookVerifier as KycWebhookVerifier;
use kyc_public_api::encryption::{Cipher, EncryptionSettings};
use kyc_public_api::{CreateApplicant, KycClient, TokenRequest};

/// Everything logged, by every test of this binary.
fn captured() -> String {
    capture::buffer().lock().unwrap().clone()
}

/// Every metric recorded by every test of this binary, one line per label set:
/// `name{label=value,...}`.
fn recorded_metrics() -> String {
    capture::buffer();
    let mut text = String::new();
    for (key, _, _, _) in capture::metrics().snapshot().into_vec() {
        let (_, key) = key.into_parts();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        text.push_str(&format!("{}{{{}}}\n", key.name(), labels.join(",")));
    }
    text
}

mod capture {
    use std::fmt::Write as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// The metrics recorder every test of this binary records into.
    pub fn metrics() -> &'static metrics_util::debugging::Snapshotter {
        static SNAPSHOTTER: OnceLock<metrics_util::debugging::Snapshotter> = OnceLock::new();
        SNAPSHOTTER.get_or_init(|| {
            let recorder = metrics_util::debugging::DebuggingRecorder::new();
            let snapshotter = recorder.snapshotter();
            recorder.install().expect("no other metrics recorder");
            snapshotter
        })
    }

    pub fn buffer() -> &'static Mutex<String> {
        static BUFFER: OnceLock<Mutex<String>> = OnceLock::new();
        BUFFER.get_or_init(|| {
            metrics();
            let _ = tracing::subscriber::set_global_default(Everything(AtomicU64::new(1)));
            let _ = log::set_boxed_logger(Box::new(Logs));
            log::set_max_level(log::LevelFilter::Trace);
            Mutex::new(String::new())
        })
    }

    fn push(line: String) {
        buffer().lock().unwrap().push_str(&line);
    }

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    /// A subscriber that writes every span, field and event, at every level.
    struct Everything(AtomicU64);

    impl Subscriber for Everything {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }

        fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
            Some(tracing::level_filters::LevelFilter::TRACE)
        }

        fn new_span(&self, attrs: &Attributes<'_>) -> Id {
            let mut fields = Fields(String::new());
            attrs.record(&mut fields);
            push(format!("span {}{}\n", attrs.metadata().name(), fields.0));
            Id::from_u64(self.0.fetch_add(1, Ordering::Relaxed))
        }

        fn record(&self, _: &Id, values: &Record<'_>) {
            let mut fields = Fields(String::new());
            values.record(&mut fields);
            push(format!("record{}\n", fields.0));
        }

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            let m = event.metadata();
            push(format!("{} {}{}\n", m.level(), m.target(), fields.0));
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }

    /// `log` records (reqwest logs through `log`). Not mockito's: it is the test's stand-in
    /// for the provider, logging the requests it receives as a provider's server would.
    struct Logs;

    impl log::Log for Logs {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            !metadata.target().starts_with("mockito")
        }

        fn log(&self, record: &log::Record<'_>) {
            if self.enabled(record.metadata()) {
                push(format!("log {} {}\n", record.target(), record.args()));
            }
        }

        fn flush(&self) {}
    }
}

/// Secrets in play, and the texts to search.
#[derive(Default)]
struct Check {
    secrets: Vec<String>,
    texts: Vec<String>,
}

impl Check {
    fn new() -> Self {
        captured();
        Self::default()
    }

    fn secret(&mut self, value: impl Into<String>) {
        let value = value.into();
        // Shorter values would match by accident (and no real secret is that short).
        if value.len() >= 6 && !self.secrets.contains(&value) {
            self.secrets.push(value);
        }
    }

    /// Formats `err` both ways, for the search.
    fn error(&mut self, err: &(impl std::fmt::Display + std::fmt::Debug)) {
        self.texts.push(format!("{err} {err:?}"));
    }

    fn debug(&mut self, value: &impl std::fmt::Debug) {
        self.texts.push(format!("{value:?}"));
    }

    /// Every secret an exchange carried: credential headers, token and link fields of JSON
    /// bodies (elKYC's encrypted `data` decrypted first).
    fn secrets_on_the_wire(&mut self, exchanges: &[Exchange], cipher: Option<&Cipher>) {
        for x in exchanges {
            for (name, value) in x.request_headers.iter().chain(&x.response_headers) {
                if matches!(
                    name.as_str(),
                    "authorization"
                        | "user-authorization"
                        | "x-api-key"
                        | "x-private-app-key"
                        | "cookie"
                        | "set-cookie"
                ) {
                    self.secret(value.strip_prefix("Bearer ").unwrap_or(value));
                }
            }
            let signature = |headers: &[(String, String)]| {
                headers
                    .iter()
                    .find(|(n, _)| n == "x-allpass-signature")
                    .map(|(_, v)| v.clone())
            };
            for (body, headers) in [
                (&x.request_body, &x.request_headers),
                (&x.response_body, &x.response_headers),
            ] {
                let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
                    continue;
                };
                self.fields(&json);
                if let (Some(cipher), Some(data), Some(sig)) =
                    (cipher, json["data"].as_str(), signature(headers))
                    && let Ok(plain) = cipher.decrypt(data, &sig)
                    && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&plain)
                {
                    self.fields(&json);
                }
            }
        }
    }

    fn fields(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    let secret = matches!(
                        key.as_str(),
                        "token" | "refreshToken" | "accessToken" | "link" | "password" | "sign"
                    );
                    match v {
                        serde_json::Value::String(s) if secret => self.secret(s.clone()),
                        other => self.fields(other),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.fields(v)),
            _ => {}
        }
    }

    /// No secret in the captured logs, the metrics' labels nor in any formatted text.
    fn assert_clean(&self, what: &str) {
        let logs = captured();
        assert!(!logs.is_empty(), "{what}: nothing was captured");
        let metrics = recorded_metrics();
        for secret in &self.secrets {
            assert!(
                !metrics.contains(secret.as_str()),
                "{what}: a secret reached a metric's labels ({} bytes starting {:?}…)",
                secret.len(),
                &secret[..4]
            );
            assert!(
                !logs.contains(secret.as_str()),
                "{what}: a secret reached the logs ({} bytes starting {:?}…)",
                secret.len(),
                &secret[..4]
            );
            for text in &self.texts {
                assert!(
                    !text.contains(secret.as_str()),
                    "{what}: a secret reached an error or a Debug: {:?}…",
                    &secret[..4]
                );
            }
        }
    }
}

fn sandbox_secrets(check: &mut Check, sandbox: &Sandbox) {
    let h = sandbox.heleket().credentials();
    let e = sandbox.elkyc().credentials();
    let b = sandbox.btcdirect().credentials();
    for secret in [
        h.payment_key,
        h.payout_key,
        // (`appKey` and `clientKey` are identifiers the API returns, not credentials.)
        e.api_key,
        e.secret_key,
        e.hmac_key,
        b.password,
        b.api_key,
        b.user_password,
    ] {
        check.secret(secret);
    }
}

async fn taps(sandbox: &Sandbox) -> [(Provider, Tap); 3] {
    let tap = |p: Provider| Tap::start(sandbox.endpoint(p).url());
    [
        (Provider::Heleket, tap(Provider::Heleket).await),
        (Provider::Elkyc, tap(Provider::Elkyc).await),
        (Provider::BtcDirect, tap(Provider::BtcDirect).await),
    ]
}

fn elkyc_cipher(sandbox: &Sandbox) -> Option<Cipher> {
    compliance_e2e::elkyc_settings(&sandbox.elkyc().credentials()).map(|s| Cipher::new(&s).unwrap())
}

#[tokio::test]
async fn the_compliance_day_walkthrough_leaks_nothing() {
    let mut check = Check::new();
    let sandbox = Sandbox::start(compliance_day::sandbox_config())
        .await
        .unwrap();
    sandbox_secrets(&mut check, &sandbox);
    check.secret("agreed-out-of-band");
    let taps = taps(&sandbox).await;
    let url = |p: Provider| {
        taps.iter()
            .find(|(q, _)| *q == p)
            .map(|(_, t)| t.url.clone())
            .unwrap_or_else(|| sandbox.endpoint(p).url())
    };
    let state = compliance_day::State::new(
        compliance_store::SqliteStore::open_in_memory()
            .await
            .unwrap(),
    );
    let result = compliance_day::run(&sandbox, &url, &state).await;
    if let Err(e) = &result {
        check.error(e);
    }
    let cipher = elkyc_cipher(&sandbox);
    for (_, tap) in &taps {
        check.secrets_on_the_wire(&tap.exchanges(), cipher.as_ref());
    }
    check.assert_clean("compliance_day");
    result.unwrap();

    // The wire scan found what the day handed out (so the search above searched for it).
    let has = |prefix: &str| check.secrets.iter().any(|s| s.starts_with(prefix));
    assert!(has("eyJ"), "tokens (JWTs) were found on the wire");
    assert!(has("https://"), "links were found on the wire");
    let refresh_tokens = check
        .secrets
        .iter()
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .count();
    assert!(
        refresh_tokens >= 2,
        "partner and user refresh tokens: {refresh_tokens}"
    );
    assert!(
        check.secrets.len() >= 15,
        "{} secrets in play",
        check.secrets.len()
    );
    assert!(
        captured().contains("compliance_http"),
        "the transport's spans were captured"
    );
    // The metrics search above searched something: calls, renewals, deliveries.
    let metrics = recorded_metrics();
    for name in [
        "http.client.request.duration{",
        "compliance.auth.renewals{",
        "compliance.webhook.deliveries{",
        "compliance.store.operation.duration{",
    ] {
        assert!(
            metrics.contains(name),
            "{name} was not recorded:\n{metrics}"
        );
    }
    assert!(
        captured().contains("compliance_webhook"),
        "the deliveries' spans were captured"
    );
}

/// The calls the walkthrough does not make, against the sandbox through taps.
#[tokio::test]
async fn every_other_client_call_leaks_nothing() {
    let mut check = Check::new();
    let mut config = SandboxConfig::default().seed(7);
    config.elkyc = ElkycConfig::default().encryption(EncryptionMode::Cbc);
    let sandbox = Sandbox::start(config).await.unwrap();
    sandbox_secrets(&mut check, &sandbox);
    let taps = taps(&sandbox).await;
    let [(_, heleket_tap), (_, elkyc_tap), (_, btc_tap)] = &taps;

    let h = sandbox.heleket().credentials();
    let heleket = HeleketClient::builder()
        .merchant(h.merchant)
        .payment_key(h.payment_key.clone())
        .payout_key(h.payout_key.clone())
        .base_url(&heleket_tap.url)
        .build()
        .unwrap();
    check.debug(&heleket);
    let uuid = sandbox
        .heleket()
        .create_payment(NewPayment::new("order-7", "10.00", "USDT"));
    sandbox.heleket().lock_payment(&uuid).await.unwrap();
    let order = PaymentRef::OrderId("order-7".into());
    check.debug(&heleket.payment_info(&order).await.unwrap());
    let links = heleket.aml_links(&order).await.unwrap();
    check.debug(&links);
    let state = heleket
        .aml_state(&Subject::Payment {
            reference: SubjectRef::ExternalId("order-7".into()),
        })
        .await
        .unwrap();
    check.debug(&state);
    assert!(
        matches!(&state.status, compliance_core::AmlStatus::ActionRequired { actions }
            if matches!(actions[0], RequiredAction::OpenLink { .. })),
        "{state:?}"
    );
    if let Err(e) = heleket.resend_webhook(&order).await {
        check.error(&e);
    }
    let hook = format!("{}/hook", heleket_tap.url);
    for test in [
        TestWebhook::new(WebhookKind::Payment, &hook, "USDT", "tron"),
        TestWebhook::new(WebhookKind::Payout, &hook, "USDT", "tron"),
    ] {
        if let Err(e) = heleket.test_webhook(&test).await {
            check.error(&e);
        }
    }

    let e = sandbox.elkyc().credentials();
    let kyc = KycClient::builder()
        .base_url(&elkyc_tap.url)
        .api_key(e.api_key.clone())
        .encryption(compliance_e2e::elkyc_settings(&e).unwrap())
        .build()
        .unwrap();
    check.debug(&kyc);
    let applicant = kyc
        .create_applicant(&CreateApplicant::new("leak-test-1", "basic-kyc"))
        .await
        .unwrap();
    let id = applicant.id.clone().unwrap();
    check.debug(&applicant);
    check.debug(&kyc.get_applicant("leak-test-1").await.unwrap());
    check.debug(&kyc.applicant_status(&id).await.unwrap());
    let token = kyc
        .verification_token(&id, &TokenRequest::new().ttl_secs(60))
        .await
        .unwrap();
    check.debug(&token);
    check.texts.push(serde_json::to_string(&token.ttl).unwrap());
    let flow = e.flows.last().unwrap().id.to_string();
    for result in [
        kyc.move_to_flow(&id, &flow).await.map(|s| format!("{s:?}")),
        kyc.schedule_deletion(&id).await.map(|s| format!("{s:?}")),
        kyc.restore_applicant(&id).await.map(|s| format!("{s:?}")),
    ] {
        match result {
            Ok(shown) => check.texts.push(shown),
            Err(err) => check.error(&err),
        }
    }
    if let Some(q) = e.questionnaire_ids.first() {
        check.debug(&kyc.questionnaire(q).await.unwrap());
    }

    let b = sandbox.btcdirect().credentials();
    let btc = BtcDirectClient::builder()
        .base_url(&btc_tap.url)
        .credentials(b.username.clone(), SecretString::from(b.password.clone()))
        .build()
        .unwrap();
    let session = btc
        .login(&b.user_email, &SecretString::from(b.user_password.clone()))
        .await
        .unwrap();
    check.debug(&session);
    let user = UserContext::session(session);
    check.debug(&user);
    check.debug(&btc);
    check.debug(&btc.user_info(&user).await.unwrap());
    btc.register_identifier(&user, "leak-test-user", "https://partner.example/back")
        .await
        .unwrap();
    check.debug(&btc.verification_status(&user).await.unwrap());
    sandbox.btcdirect().expire_all_tokens();
    check.debug(
        &btc.user_info(&UserContext::identifier("leak-test-user"))
            .await
            .unwrap(),
    );
    check.debug(&btc.user_info(&user).await.unwrap());

    let cipher = elkyc_cipher(&sandbox);
    for (_, tap) in &taps {
        check.secrets_on_the_wire(&tap.exchanges(), cipher.as_ref());
    }
    assert!(check.secrets.iter().any(|s| s.starts_with("eyJ")));
    check.assert_clean("client calls");
}

fn response(status: u16, body: &str) -> Response {
    Response::new(
        StatusCode::from_u16(status).unwrap(),
        HeaderMap::new(),
        body.as_bytes().to_vec().into(),
    )
}

/// Every error path of the review, with secrets the test chose.
#[tokio::test]
async fn every_error_path_leaks_nothing() {
    let mut check = Check::new();
    for s in [
        "pt-LEAK-partner-token",
        "pr-LEAK-partner-refresh",
        "ut-LEAK-user-token",
        "ur-LEAK-user-refresh",
        "pw-LEAK-partner-password",
        "key-LEAK-api-key",
        "https://verify.example/?t=LEAK-verification",
        "https://aml.example/questionnaire/LEAK-questionnaire",
        "eyJLEAK-access-token",
    ] {
        check.secret(s);
    }
    let quick = TransportConfig::default()
        .retry(RetryPolicy::none())
        .deadline(Duration::from_secs(5));

    // BTC Direct: token answers that do not decode, refused and dead credentials, a lost
    // answer, an empty 401, a deadline.
    let mut server = mockito::Server::new_async().await;
    let btc = BtcDirectClient::builder()
        .base_url(server.url())
        .credentials("partner", SecretString::from("pw-LEAK-partner-password"))
        .transport_config(quick.clone())
        .build()
        .unwrap();
    let user = || {
        UserContext::session(UserSession::new(
            "ut-LEAK-user-token",
            "ur-LEAK-user-refresh",
            "u",
        ))
    };
    for body in [
        r#"{"token":"pt-LEAK-partner-token","refreshToken":123456789}"#,
        r#"{"token":"pt-LEAK-partner-token","refreshToken":"pr-LEAK-partner-refresh"} x"#,
        r#"{"token":["pt-LEAK-partner-token"],"refreshToken":"pr-LEAK-partner-refresh"}"#,
    ] {
        let m = server
            .mock("POST", "/api/v1/authenticate")
            .with_body(body)
            .create_async()
            .await;
        check.error(&btc.user_info(&user()).await.unwrap_err());
        m.remove_async().await;
    }
    let m = server
        .mock("POST", "/api/v1/authenticate")
        .with_status(401)
        .with_body(r#"{"code":401,"message":"Invalid credentials."}"#)
        .create_async()
        .await;
    check.error(&btc.user_info(&user()).await.unwrap_err());
    m.remove_async().await;
    server
        .mock("POST", "/api/v1/authenticate")
        .with_body(r#"{"token":"pt-LEAK-partner-token","refreshToken":"pr-LEAK-partner-refresh"}"#)
        .create_async()
        .await;
    let login = server
        .mock("POST", "/api/v1/user/login")
        .with_body(r#"{"token":"ut-LEAK-user-token","refreshToken":"ur-LEAK-user-refresh","identifier":[]}"#)
        .create_async()
        .await;
    check.error(
        &btc.login(
            "a@example.com",
            &SecretString::from("pw-LEAK-partner-password"),
        )
        .await
        .unwrap_err(),
    );
    login.remove_async().await;
    let info = server
        .mock("GET", "/api/v1/user/info")
        .with_status(401)
        .with_body(r#"{"errors":{"ER701":{"code":"ER701","message":"expired"}}}"#)
        .create_async()
        .await;
    let refresh = server
        .mock("POST", "/api/v1/refresh")
        .with_body(r#"{"token":"ut-LEAK-user-token","refreshToken":{"x":"ur-LEAK-user-refresh"}}"#)
        .create_async()
        .await;
    check.error(&btc.user_info(&user()).await.unwrap_err());
    refresh.remove_async().await;
    server
        .mock("POST", "/api/v1/refresh")
        .with_status(401)
        .with_body(r#"{"code":401,"message":"JWT Refresh Token Not Found"}"#)
        .create_async()
        .await;
    check.error(&btc.user_info(&user()).await.unwrap_err());
    info.remove_async().await;
    server
        .mock("POST", "/api/v1/user/verify/amld5")
        .with_status(401)
        .create_async()
        .await;
    let questions: amld5_verify::Amld5Questions =
        serde_json::from_str(r#"{"questions":[{"key":"k","label":"l","answerOptions":["a"]}]}"#)
            .unwrap();
    let answers = questions.answers().answer("k", "a").build().unwrap();
    check.error(
        &btc.submit_amld5_answers(&user(), &answers)
            .await
            .unwrap_err(),
    );
    // An API that accepts the connection and never answers: the deadline.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging = BtcDirectClient::builder()
        .base_url(format!("http://{}", silent.local_addr().unwrap()))
        .credentials("partner", SecretString::from("pw-LEAK-partner-password"))
        .transport_config(quick.clone().deadline(Duration::from_millis(300)))
        .build()
        .unwrap();
    check.error(&hanging.user_info(&user()).await.unwrap_err());
    check.debug(&hanging);

    // elKYC: a token answer that does not decode, a forged encrypted answer, error bodies.
    let mut server = mockito::Server::new_async().await;
    let kyc = KycClient::builder()
        .base_url(server.url())
        .api_key("key-LEAK-api-key")
        .transport_config(quick.clone())
        .build()
        .unwrap();
    server
        .mock("POST", "/api/public/applicant/a-1/token")
        .with_status(201)
        .with_body(r#"{"status":true,"statusCode":201,"data":{"accessToken":"eyJLEAK-access-token","link":"https://verify.example/?t=LEAK-verification","ttl":"soon"}}"#)
        .create_async()
        .await;
    check.error(
        &kyc.verification_token("a-1", &TokenRequest::new())
            .await
            .unwrap_err(),
    );
    server
        .mock("GET", "/api/public/applicant/a-1")
        .with_status(401)
        .with_body(r#"{"statusCode":401,"message":"bad key","error":"Unauthorized"}"#)
        .create_async()
        .await;
    check.error(&kyc.get_applicant("a-1").await.unwrap_err());
    let settings = EncryptionSettings::gcm("11".repeat(32));
    let keyed = KycClient::builder()
        .base_url(server.url())
        .api_key("key-LEAK-api-key")
        .encryption(settings.clone())
        .transport_config(quick.clone())
        .build()
        .unwrap();
    check.debug(&keyed);
    let sealed = Cipher::new(&settings)
        .unwrap()
        .encrypt(br#"{"accessToken":"eyJLEAK-access-token"}"#)
        .unwrap();
    server
        .mock("POST", "/api/public/applicant/a-2/token")
        .with_status(201)
        .with_header("x-allpass-signature", &"0".repeat(32))
        .with_body(format!(
            r#"{{"status":true,"statusCode":201,"data":"{}"}}"#,
            sealed.data
        ))
        .create_async()
        .await;
    check.error(
        &keyed
            .verification_token("a-2", &TokenRequest::new())
            .await
            .unwrap_err(),
    );
    let verifier = KycWebhookVerifier::builder(settings).build().unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("x-allpass-signature", "0".repeat(32).parse().unwrap());
    let body = format!(
        r#"{{"status":true,"statusCode":200,"data":"{}","time":"2024-01-01T00:00:00.000Z"}}"#,
        sealed.data
    );
    check.error(&verifier.verify(&headers, body.as_bytes()).unwrap_err());

    // Heleket: a links answer that does not decode, a refused signature, a forged webhook.
    let mut server = mockito::Server::new_async().await;
    let heleket = HeleketClient::builder()
        .merchant("8b03432e-385b-4670-8d06-064591096795")
        .payment_key("key-LEAK-api-key")
        .base_url(server.url())
        .transport_config(quick)
        .build()
        .unwrap();
    server
        .mock("POST", "/v1/payment/aml-links")
        .with_body(r#"{"state":0,"result":[{"link":"https://aml.example/questionnaire/LEAK-questionnaire","expired_at":"soon","status":"init"}]}"#)
        .create_async()
        .await;
    check.error(
        &heleket
            .aml_links(&PaymentRef::OrderId("o".into()))
            .await
            .unwrap_err(),
    );
    server
        .mock("POST", "/v1/payment/info")
        .with_status(401)
        .with_body(r#"{"message":"Invalid Sign."}"#)
        .create_async()
        .await;
    check.error(
        &heleket
            .payment_info(&PaymentRef::OrderId("o".into()))
            .await
            .unwrap_err(),
    );
    let forged = br#"{"type":"payment","uuid":"u","status":"paid","sign":"00000000000000000000000000000000"}"#;
    check.error(
        &WebhookVerifier::new("key-LEAK-api-key")
            .verify(forged)
            .unwrap_err(),
    );

    // Values a caller may log.
    let link: heleket_aml::AmlLink = serde_json::from_str(
        r#"{"link":"https://aml.example/questionnaire/LEAK-questionnaire","expired_at":"2025-01-01T00:00:00Z","status":"init"}"#,
    )
    .unwrap();
    check.debug(&link);
    check.debug(&RequiredAction::OpenLink {
        url: "https://verify.example/?t=LEAK-verification".into(),
        expires_at: None,
        status: None,
    });
    check.debug(&response(200, r#"{"token":"pt-LEAK-partner-token"}"#));
    check.debug(&amld5_verify::PartnerAuth::credentials(
        "partner",
        "pw-LEAK-partner-password",
    ));

    assert!(check.texts.len() >= 20, "{} texts", check.texts.len());
    check.assert_clean("error paths");
}
