//! `compliance sandbox`: serves until a signal, its manifest first.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::{PAYMENT_KEY, compliance};

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_compliance"))
        .arg("sandbox")
        .args(args)
        .env_clear()
        // A user's own key in the environment is not the sandbox's and is never printed.
        .env("HELEKET_PAYMENT_KEY", PAYMENT_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` to the child we started, by its id, and returns its exit code and output.
fn stop(mut child: Child, signal: &str, mut seen: String) -> (i32, String, String) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap().code().unwrap_or(-1);
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, seen, err)
}

#[test]
fn serves_with_its_manifest_until_sigterm() {
    let mut child = spawn(&["--json", "--seed", "5"]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "the manifest ends: {text}"
        );
        text.push_str(&line);
        if line == "}\n" {
            break;
        }
    }
    let manifest: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["ok"], true);
    assert_eq!(manifest["seed"], 5);
    let heleket = &manifest["heleket"];
    assert!(
        heleket["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(manifest["elkyc"]["secret_key"].is_string());
    assert!(manifest["tuum"]["control"].is_array());

    // It serves: the `state` command, configured from the manifest, gets Heleket's answer.
    let state = compliance(&["state", "heleket", "payment:unknown", "--json"])
        .env("HELEKET_MERCHANT", heleket["merchant"].as_str().unwrap())
        .env("HELEKET_BASE_URL", heleket["url"].as_str().unwrap())
        .env(
            "HELEKET_PAYMENT_KEY",
            heleket["payment_key"].as_str().unwrap(),
        )
        .run()
        .expect(2)
        .json();
    assert!(
        state["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Payment not found"),
        "{state}"
    );

    child.stdout = Some(stdout.into_inner());
    let (code, rest, err) = stop(child, "-TERM", String::new());
    assert_eq!(code, 0, "{err}");
    assert_eq!(rest, "", "one JSON document only");
    assert!(!text.contains(PAYMENT_KEY) && !err.contains(PAYMENT_KEY));
}

#[test]
fn text_mode_and_ctrl_c() {
    let mut child = spawn(&[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("compliance sandbox (seed 42) serving until Ctrl-C"),
        "{first}"
    );
    // Wait for the last provider's block, so the handler is surely installed.
    let mut text = first.clone();
    while !text.contains("POST /sandbox/tuum/events/{id}/replay") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{text}");
        text.push_str(&line);
    }
    assert!(text.contains("\nheleket    http://127.0.0.1:"), "{text}");
    assert!(text.contains("  payment_key      "), "{text}");
    child.stdout = Some(stdout.into_inner());
    let (code, _, err) = stop(child, "-INT", String::new());
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_port_in_use_is_a_configuration_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let json = compliance(&["sandbox", "--json", "--heleket-port", &port])
        .run()
        .expect(2)
        .json();
    assert_eq!(json["error"]["kind"], "config");
    compliance(&["sandbox", "--host", "not-an-ip"])
        .run()
        .expect(2);
}

/// Issue #25: `--tuum-secret-header` makes Tuum's deliveries carry the shared secret (from
/// TUUM_WEBHOOK_SECRET) that a receiver set up as the README recommends checks; the manifest
/// names the header, never the secret.
#[test]
fn tuum_deliveries_carry_the_secret_header() {
    // A receiver that records the header, on a thread of its own.
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        use std::io::Write as _;
        let (mut socket, _) = receiver.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&request).contains("\r\n\r\n") {
            let n = socket.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&request).to_lowercase()
    });

    let mut child = Command::new(env!("CARGO_BIN_EXE_compliance"))
        .args([
            "sandbox",
            "--json",
            "--tuum-secret-header",
            "x-webhook-token",
        ])
        .env_clear()
        .env("TUUM_WEBHOOK_SECRET", "tuum-s3cret")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.ends_with("}\n") || text.matches('{').count() != text.matches('}').count() {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{text}");
        text.push_str(&line);
    }
    let manifest: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["tuum"]["secret_header"], "x-webhook-token");
    assert!(!text.contains("tuum-s3cret"), "{text}");
    let control = manifest["tuum"]["control_url"].as_str().unwrap().to_owned();

    let subscribed = post(
        &control,
        "/sandbox/tuum/subscriptions",
        &format!(r#"{{"url":"{hook}"}}"#),
    );
    assert!(subscribed.starts_with("HTTP/1.1 204"), "{subscribed}");
    let sent = post(
        &control,
        "/sandbox/tuum/events",
        r#"{"type":"AML_SUBPROCESS_CREATED"}"#,
    );
    let request = seen.join().unwrap();
    assert!(
        request.contains("x-webhook-token: tuum-s3cret"),
        "{request} / {sent}"
    );

    child.stdout = Some(stdout.into_inner());
    let (code, _, err) = stop(child, "-TERM", String::new());
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("tuum-s3cret"), "{err}");

    // The header without a secret is a configuration error that says where to put it.
    let json = compliance(&[
        "sandbox",
        "--json",
        "--tuum-secret-header",
        "x-webhook-token",
    ])
    .run()
    .expect(2)
    .json();
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("TUUM_WEBHOOK_SECRET"), "{json}");
}

/// A JSON POST over a plain socket: the answer's whole text.
fn post(base: &str, path: &str, body: &str) -> String {
    use std::io::Write as _;
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut socket = std::net::TcpStream::connect(host).unwrap();
    write!(
        socket,
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    answer
}
