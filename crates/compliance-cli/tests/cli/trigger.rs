//! `trigger`: sample webhooks of every documented kind into a receiver built from the
//! provider crates, which verifies each.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::{PAYMENT_KEY, TUUM_SECRET, background, compliance};
use crate::receiver::{Receiver, TUUM_HEADER};

fn events(provider: &str) -> Vec<String> {
    let json = compliance(&["trigger", provider, "--list", "--json"])
        .run()
        .expect(0)
        .json();
    json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_heleket_kind_and_status_verifies() {
    let rt = background();
    let receiver = Receiver::start(&rt);
    let all = events("heleket");
    assert_eq!(all.len(), 34, "{all:?}");
    for event in &all {
        let json = compliance(&["trigger", "heleket", event, "--json", "--to"])
            .arg(format!("{}/heleket", receiver.url))
            .heleket_keys()
            .run()
            .expect(0)
            .json();
        assert_eq!(json["delivered"], true, "{event}: {json}");
        let answer: Value =
            serde_json::from_str(json["attempts"][0]["body"].as_str().unwrap()).unwrap();
        let (kind, status) = event.split_once('.').unwrap();
        assert_eq!(answer["kind"], kind, "{event}");
        assert_eq!(answer["status"], status, "{event}");
    }
    assert_eq!(receiver.seen().len(), all.len());
    // Fresh uuids, unless one is given.
    let uuids: std::collections::HashSet<_> = receiver
        .seen()
        .iter()
        .map(|s| s["uuid"].to_string())
        .collect();
    assert_eq!(uuids.len(), all.len());
    let run = compliance(&[
        "trigger",
        "heleket",
        "payment",
        "--uuid",
        "fixed-uuid",
        "--to",
    ])
    .arg(format!("{}/heleket", receiver.url))
    .heleket_keys()
    .run()
    .expect(0);
    assert!(
        run.stdout.starts_with("delivered heleket payment.paid to "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("signed with the payment key"));
    assert!(run.stdout.contains("attempt 1: HTTP 200 OK"));
    assert_eq!(receiver.seen().last().unwrap()["uuid"], "fixed-uuid");

    // Credentials in the URL itself are sent, never shown.
    let url =
        receiver.url.replace("http://", "http://user:pw-5ecret@") + "/heleket?token=tok-5ecret";
    for json in ["--json", "-v"] {
        compliance(&[
            "trigger",
            "heleket",
            "wallet.paid",
            json,
            "--additional-data",
            "a/b",
            "--to",
            &url,
        ])
        .heleket_keys()
        .secret("pw-5ecret")
        .secret("tok-5ecret")
        .run()
        .expect(0);
    }
    let closed = format!("http://127.0.0.1:{}/?token=tok-5ecret", {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    compliance(&["trigger", "heleket", "payment", "-v", "--to", &closed])
        .heleket_keys()
        .secret("tok-5ecret")
        .run()
        .expect(3);
}

#[test]
fn every_elkyc_event_verifies_in_both_methods() {
    let rt = background();
    let receiver = Receiver::start(&rt);
    let all = events("elkyc");
    assert_eq!(all.len(), 14);
    for event in &all {
        for method in ["cbc", "gcm"] {
            let json = compliance(&[
                "trigger", "elkyc", event, "--method", method, "--json", "--to",
            ])
            .arg(format!("{}/elkyc/{method}", receiver.url))
            .arg("--external-user-id")
            .arg("user-9")
            .elkyc_keys()
            .run()
            .expect(0)
            .json();
            assert_eq!(json["delivered"], true, "{event} {method}: {json}");
            assert!(json["request"]["headers"]["x-allpass-signature"].is_string());
        }
    }
    let seen = receiver.seen();
    assert_eq!(seen.len(), 28);
    assert!(seen.iter().all(|s| s["external_user_id"] == "user-9"));
    let step = seen
        .iter()
        .find(|s| s["event"] == "applicantStepPassed")
        .unwrap();
    assert_eq!(step["step_name"], "DOCUMENT_CAPTURE");
}

#[test]
fn every_tuum_event_reaches_the_aml_events_receiver() {
    let rt = background();
    let receiver = Receiver::start(&rt);
    let all = events("tuum");
    assert_eq!(all.len(), 6);
    for event in &all {
        let json = compliance(&[
            "trigger",
            "tuum",
            event,
            "--json",
            "--secret-header",
            TUUM_HEADER,
            "--to",
        ])
        .arg(format!("{}/tuum", receiver.url))
        .env("TUUM_WEBHOOK_SECRET", TUUM_SECRET)
        .run()
        .expect(0)
        .json();
        assert_eq!(json["delivered"], true, "{event}: {json}");
        assert_eq!(json["request"]["headers"][TUUM_HEADER], "[redacted]");
    }
    assert_eq!(receiver.seen().len(), 6);

    // The same notificationId twice: the receiver acknowledges the duplicate, once processed.
    for _ in 0..2 {
        compliance(&[
            "trigger",
            "tuum",
            "AML_SUBPROCESS_CREATED",
            "--notification-id",
            "NTF-DUP",
        ])
        .args_to(&receiver, "/tuum")
        .arg("--secret-header")
        .arg(TUUM_HEADER)
        .env("TUUM_WEBHOOK_SECRET", TUUM_SECRET)
        .run()
        .expect(0);
    }
    assert_eq!(receiver.seen().len(), 7);

    // Without the secret the receiver refuses: exit 1 with its answer.
    let run = compliance(&["trigger", "tuum", "AML_SUBPROCESS_CREATED"])
        .args_to(&receiver, "/tuum")
        .run()
        .expect(1);
    assert!(
        run.stdout.starts_with("NOT delivered: tuum"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("HTTP 401"), "{}", run.stdout);
    // Issue #25: and says how to send the secret.
    assert!(
        run.stdout.contains("hint:") && run.stdout.contains("--secret-header"),
        "{}",
        run.stdout
    );
}

impl crate::common::Cli {
    fn args_to(self, receiver: &Receiver, path: &str) -> Self {
        self.arg("--to").arg(format!("{}{path}", receiver.url))
    }
}

#[test]
fn retries_follow_the_schedule_until_a_2xx() {
    let rt = background();
    let receiver = Receiver::start(&rt);
    receiver.fail_next(2);
    let json = compliance(&[
        "trigger",
        "heleket",
        "payment.locked",
        "--json",
        "--retries",
        "3",
        "--retry-delay",
        "10ms",
    ])
    .args_to(&receiver, "/heleket")
    .heleket_keys()
    .run()
    .expect(0)
    .json();
    let attempts = json["attempts"].as_array().unwrap();
    let statuses: Vec<_> = attempts
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    let pauses: Vec<_> = attempts
        .iter()
        .map(|a| a["after_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(pauses, [0, 10, 20]);

    // Out of retries: refused (1).
    receiver.fail_next(5);
    let run = compliance(&[
        "trigger",
        "heleket",
        "payment",
        "--retries",
        "1",
        "--retry-delay",
        "0",
    ])
    .args_to(&receiver, "/heleket")
    .heleket_keys()
    .run()
    .expect(1);
    assert_eq!(run.stdout.matches("HTTP 503").count(), 2, "{}", run.stdout);
}

#[test]
fn refusals_network_errors_and_usage() {
    let rt = background();
    let receiver = Receiver::start(&rt);
    // Signed with a key the receiver does not hold: its 400 and reason are printed (1).
    let run = compliance(&["trigger", "heleket", "payment.paid"])
        .args_to(&receiver, "/heleket")
        .env("HELEKET_PAYMENT_KEY", "another-5ecret-key")
        .run()
        .expect(1);
    assert!(run.stdout.contains("HTTP 400"), "{}", run.stdout);
    assert!(run.stdout.contains("signature mismatch"), "{}", run.stdout);
    // An elKYC webhook sealed with other keys.
    let run = compliance(&["trigger", "elkyc", "applicantApproved"])
        .args_to(&receiver, "/elkyc/cbc")
        .env("ELKYC_SECRET_KEY", "1".repeat(64))
        .env("ELKYC_HMAC_KEY", "2".repeat(64))
        .run()
        .expect(1);
    assert!(
        run.stdout.contains("signature does not match"),
        "{}",
        run.stdout
    );

    // Nothing listening: a network error (3), still one JSON document.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let json = compliance(&["trigger", "heleket", "payment", "--json", "--to"])
        .arg(format!("http://{closed}/hook"))
        .env("HELEKET_PAYMENT_KEY", PAYMENT_KEY)
        .run()
        .expect(3)
        .json();
    assert_eq!(json["delivered"], false);
    assert!(json["attempts"][0]["status"].is_null());
    assert!(json["attempts"][0]["error"].is_string());

    // Usage: an undocumented event, a bad URL, no keys, no --to.
    let run = compliance(&["trigger", "heleket", "payout.locked", "--to", "http://x"])
        .heleket_keys()
        .run()
        .expect(2);
    assert!(run.stderr.contains("--list"), "{}", run.stderr);
    compliance(&[
        "trigger",
        "elkyc",
        "applicantTeleported",
        "--to",
        "http://x",
    ])
    .elkyc_keys()
    .run()
    .expect(2);
    compliance(&["trigger", "tuum", "AML_NOPE", "--to", "http://x"])
        .run()
        .expect(2);
    compliance(&["trigger", "heleket", "payment", "--to", "ftp://x"])
        .heleket_keys()
        .run()
        .expect(2);
    compliance(&["trigger", "heleket", "payout", "--to", "http://x"])
        .env("HELEKET_PAYMENT_KEY", PAYMENT_KEY)
        .run()
        .expect(2);
    compliance(&["trigger", "heleket", "payment"])
        .heleket_keys()
        .run()
        .expect(2);
    compliance(&[
        "trigger",
        "tuum",
        "AML_SUBPROCESS_CREATED",
        "--secret-header",
        "x-token",
        "--to",
        "http://x",
    ])
    .run()
    .expect(2);
}

#[test]
fn redirects_are_never_followed_and_never_count_as_delivered() {
    let rt = background();
    // Where the redirects point: another loopback host, plain http; it answers 200 to
    // anything, and records what reached it.
    let (catcher, caught) = Catcher::start(&rt, "127.0.0.2");
    for status in [307u16, 308, 302, 301, 303] {
        let (redirector, _) =
            Catcher::redirecting(&rt, status, &format!("{catcher}/stolen?token=t0ps3cret"));
        // The same delivery, as JSON and as text: refused (exit 1) either way.
        let send = |json: bool| {
            let mut args = vec![
                "trigger",
                "tuum",
                "AML_SUBPROCESS_CREATED",
                "--retries",
                "0",
            ];
            if json {
                args.push("--json");
            }
            compliance(&args)
                .arg("--secret-header")
                .arg(TUUM_HEADER)
                .arg("--to")
                .arg(format!("{redirector}/tuum"))
                .env("TUUM_WEBHOOK_SECRET", TUUM_SECRET)
                .run()
                .expect(1)
        };
        let json = send(true).json();
        assert_eq!(json["delivered"], false, "{status}: {json}");
        assert_eq!(json["attempts"][0]["status"], status, "{status}");
        let location = json["attempts"][0]["location"].as_str().unwrap();
        assert!(
            location.starts_with(&format!("{catcher}/stolen")),
            "{location}"
        );
        assert!(!location.contains("t0ps3cret"), "{location}");

        let text = send(false).stdout;
        assert!(text.starts_with("NOT delivered: tuum"), "{text}");
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(text.contains("not followed"), "{text}");
    }
    assert!(
        caught.lock().unwrap().is_empty(),
        "a redirect was followed: {:?}",
        caught.lock().unwrap()
    );
}

/// A tiny server: answers every request with 200 and records its method, path and headers,
/// or answers every request with a redirect.
struct Catcher;

impl Catcher {
    fn start(rt: &tokio::runtime::Runtime, host: &str) -> (String, Arc<Mutex<Vec<String>>>) {
        let caught = Arc::new(Mutex::new(Vec::new()));
        let seen = caught.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(format!(
                    "{} {} {:?}",
                    request.method(),
                    request.uri(),
                    request.headers()
                ));
                "ok"
            }
        });
        (Self::serve(rt, host, app), caught)
    }

    fn redirecting(
        rt: &tokio::runtime::Runtime,
        status: u16,
        to: &str,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let to = to.to_owned();
        let app = axum::Router::new().fallback(move || {
            let to = to.clone();
            async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [(axum::http::header::LOCATION, to)],
                )
            }
        });
        (Self::serve(rt, "127.0.0.1", app), Arc::default())
    }

    fn serve(rt: &tokio::runtime::Runtime, host: &str, app: axum::Router) -> String {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind((host, 0)))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    }
}
