//! `heleket sign` and `heleket verify`.

use crate::common::{PAYMENT_KEY, PAYOUT_KEY, TempFile, compliance};

/// The provider notes' vector (key `test-api-key`).
const VECTOR: &str = r#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc","sign":"9c0e0eab18980f9e5e9fb5f796ecd3a8"}"#;

fn webhook(status: &str) -> String {
    format!(
        r#"{{"type":"payment","uuid":"u-1","order_id":"order-42","amount":"10.00","currency":"USDT","status":"{status}","is_final":false,"url":"https:\/\/pay.heleket.com\/pay\/abc","additional_data":null}}"#
    )
}

fn signed(body: &str, key_env: &str, key: &str) -> String {
    compliance(&["heleket", "sign", "--webhook"])
        .env(key_env, key)
        .stdin(body)
        .run()
        .expect(0)
        .stdout
}

#[test]
fn sign_gives_the_request_signature_of_the_exact_bytes() {
    let run = compliance(&["heleket", "sign"])
        .env("HELEKET_PAYMENT_KEY", "test-api-key")
        .stdin(r#"{"order_id":"order-42"}"#)
        .run()
        .expect(0);
    assert_eq!(run.stdout, "dcbb5d7c669c5daeec167f953afb7171\n");
    assert_eq!(run.stderr, "");

    // From a file, with the payout key from a file, as JSON; an empty body signs "".
    let body = TempFile::new("body.json", "");
    let key = TempFile::new("payout.key", "test-api-key\n");
    let json = compliance(&["heleket", "sign", "--key", "payout", "--json", body.path()])
        .arg("--payout-key-file")
        .arg(key.path())
        .run()
        .expect(0)
        .json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["signature"], "6339da7207f32bfc28decb98edf89318");
    assert_eq!(json["key"], "payout");
    assert_eq!(json["bytes"], 0);
}

#[test]
fn a_webhook_signed_here_verifies_and_a_changed_byte_does_not() {
    let body = signed(&webhook("locked"), "HELEKET_PAYMENT_KEY", PAYMENT_KEY);
    assert!(body.trim_end().ends_with(r#""}"#) && body.contains(r#","sign":""#));
    let run = compliance(&["heleket", "verify"])
        .heleket_keys()
        .stdin(body.trim_end())
        .run()
        .expect(0);
    assert!(
        run.stdout.starts_with("verified: payment webhook"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("heleket:payment:u-1:locked"));

    let json = compliance(&["heleket", "verify", "--json"])
        .heleket_keys()
        .stdin(body.trim_end())
        .run()
        .expect(0)
        .json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["verdict"], "verified");
    assert_eq!(json["dedup_key"], "heleket:payment:u-1:locked");
    assert_eq!(json["webhook"]["type"], "payment");
    assert_eq!(json["webhook"]["data"]["amount"], "10.00");

    let tampered = body.trim_end().replace("10.00", "99.00");
    let run = compliance(&["heleket", "verify", "--json"])
        .heleket_keys()
        .stdin(tampered)
        .run()
        .expect(1);
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["verdict"], "mismatch");
    assert_eq!(json["cause"], "unexplained");
}

#[test]
fn verify_reads_files_and_keys_from_files() {
    let key = TempFile::new("payment.key", "test-api-key\n");
    // The provider notes' vector: a valid signature over a body too thin to be a payment.
    let vector = TempFile::new("vector.json", VECTOR);
    let run = compliance(&[
        "heleket",
        "verify",
        vector.path(),
        "--payment-key-file",
        key.path(),
    ])
    .run()
    .expect(1);
    assert!(
        run.stdout
            .starts_with("REJECTED: the signature is valid, but"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("missing field `amount`"),
        "{}",
        run.stdout
    );

    // `sign --webhook` writes the exact bytes: saved to a file, they verify as they are.
    let signed = compliance(&["heleket", "sign", "--webhook"])
        .env("HELEKET_PAYMENT_KEY", "test-api-key")
        .stdin(webhook("paid"))
        .run()
        .expect(0)
        .stdout;
    assert!(signed.ends_with('}'), "no newline added: {signed:?}");
    let body = TempFile::new("webhook.json", &signed);
    let run = compliance(&[
        "heleket",
        "verify",
        body.path(),
        "--payment-key-file",
        key.path(),
    ])
    .run()
    .expect(0);
    assert!(run.stdout.contains("uuid       u-1"), "{}", run.stdout);
    // The same through $HELEKET_PAYMENT_KEY_FILE.
    compliance(&["heleket", "verify", body.path()])
        .env("HELEKET_PAYMENT_KEY_FILE", key.path())
        .run()
        .expect(0);
    // A newline added by an editor is diagnosed as such.
    let edited = TempFile::new("edited.json", format!("{signed}\n"));
    let json = compliance(&["heleket", "verify", "--json", edited.path()])
        .env("HELEKET_PAYMENT_KEY_FILE", key.path())
        .run()
        .expect(1)
        .json();
    assert_eq!(json["cause"], "trailing_whitespace");
}

#[test]
fn a_re_serialised_body_is_diagnosed() {
    let body = signed(&webhook("paid"), "HELEKET_PAYMENT_KEY", PAYMENT_KEY);
    // What a framework that parsed and re-encoded the JSON would hand over: `\/` became `/`.
    let re_encoded = body.trim_end().replace(r"\/", "/");
    let run = compliance(&["heleket", "verify"])
        .heleket_keys()
        .stdin(&re_encoded)
        .run()
        .expect(1);
    assert!(
        run.stdout
            .starts_with("REJECTED: payment webhook signature mismatch"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("re-serialised"), "{}", run.stdout);
    let json = compliance(&["heleket", "verify", "--json"])
        .heleket_keys()
        .stdin(&re_encoded)
        .run()
        .expect(1)
        .json();
    assert_eq!(json["cause"], "re_serialised");
}

#[test]
fn a_swapped_key_is_diagnosed() {
    // A payment webhook signed with the payout key.
    let body = signed(&webhook("paid"), "HELEKET_PAYMENT_KEY", PAYOUT_KEY);
    let json = compliance(&["heleket", "verify", "--json"])
        .heleket_keys()
        .stdin(body.trim_end())
        .run()
        .expect(1)
        .json();
    assert_eq!(json["verdict"], "mismatch");
    assert_eq!(json["cause"], "wrong_key");
    assert!(
        json["diagnosis"].as_str().unwrap().contains("swapped"),
        "{json}"
    );
    // Without the payout key, the cause cannot be told.
    let json = compliance(&["heleket", "verify", "--json"])
        .env("HELEKET_PAYMENT_KEY", PAYMENT_KEY)
        .stdin(body.trim_end())
        .run()
        .expect(1)
        .json();
    assert_eq!(json["cause"], "unexplained");
}

#[test]
fn payout_webhooks_need_the_payout_key() {
    let payout = r#"{"type":"payout","uuid":"p-1","order_id":"o-1","amount":"5","is_final":true,"status":"paid","currency":"USDT"}"#;
    // Signed with the key of its type by default.
    let body = compliance(&["heleket", "sign", "--webhook", "-v"])
        .heleket_keys()
        .stdin(payout)
        .run()
        .expect(0);
    assert!(body.stderr.contains("payout key"), "{}", body.stderr);
    compliance(&["heleket", "verify"])
        .heleket_keys()
        .stdin(&body.stdout)
        .run()
        .expect(0);
    let run = compliance(&["heleket", "verify", "--json"])
        .env("HELEKET_PAYMENT_KEY", PAYMENT_KEY)
        .stdin(&body.stdout)
        .run()
        .expect(2);
    let json = run.json();
    assert_eq!(json["error"]["kind"], "config");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HELEKET_PAYOUT_KEY")
    );
}

#[test]
fn refusals_and_configuration_errors() {
    // Not a webhook: refused (1).
    for body in [
        "",
        "not json",
        r#"{"type":"payment"}"#,
        r#"{"sign":"ab","type":"refund"}"#,
    ] {
        let json = compliance(&["heleket", "verify", "--json"])
            .heleket_keys()
            .stdin(body)
            .run()
            .expect(1)
            .json();
        assert_eq!(json["verdict"], "rejected", "{body}");
    }
    // No key: configuration (2), naming every way to give it.
    let run = compliance(&["heleket", "verify"])
        .stdin(VECTOR)
        .run()
        .expect(2);
    for way in [
        "$HELEKET_PAYMENT_KEY",
        "$HELEKET_PAYMENT_KEY_FILE",
        "--payment-key-file",
    ] {
        assert!(run.stderr.contains(way), "{}", run.stderr);
    }
    assert_eq!(run.stdout, "");
    // An empty key, an unreadable key file, a missing input file.
    compliance(&["heleket", "sign"])
        .env("HELEKET_PAYMENT_KEY", "  ")
        .run()
        .expect(2);
    compliance(&["heleket", "sign", "--payment-key-file", "/nonexistent/key"])
        .run()
        .expect(2);
    compliance(&["heleket", "sign", "/nonexistent/body"])
        .heleket_keys()
        .run()
        .expect(2);
    // Signing a webhook that already carries `sign`, or is not an object.
    compliance(&["heleket", "sign", "--webhook"])
        .heleket_keys()
        .stdin(VECTOR)
        .run()
        .expect(2);
    compliance(&["heleket", "sign", "--webhook"])
        .heleket_keys()
        .stdin("[1]")
        .run()
        .expect(2);
}
