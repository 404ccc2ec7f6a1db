//! `elkyc encrypt` and `elkyc decrypt`.

use crate::common::{ELKYC_SECRET, TempFile, compliance};

const DATA: &str = r#"{"type":"applicantApproved","id":"a-1","externalUserId":"user-1","appKey":"app","warnings":[]}"#;

/// (signature, body) of an envelope sealed by the command.
fn sealed(extra: &[&str]) -> (String, String) {
    let mut cli = compliance(&["elkyc", "encrypt", "--json"])
        .elkyc_keys()
        .stdin(DATA);
    for a in extra {
        cli = cli.arg(*a);
    }
    let json = cli.run().expect(0).json();
    (
        json["signature"].as_str().unwrap().to_owned(),
        json["body"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn what_encrypt_seals_decrypt_opens_in_both_methods_and_every_reading() {
    for readings in [
        &["--method", "cbc"][..],
        &[
            "--method",
            "cbc",
            "--mac",
            "sha512",
            "--signature-encoding",
            "base64",
        ],
        &[
            "--method",
            "cbc",
            "--mac-input",
            "ciphertext-bytes",
            "--hmac-key",
            "text",
        ],
        &["--method", "gcm"],
        &[
            "--method",
            "gcm",
            "--gcm-nonce",
            "16",
            "--nonce-placement",
            "suffix",
        ],
    ] {
        let (signature, body) = sealed(readings);
        let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(envelope["data"].is_string(), "{body}");
        assert_eq!(envelope["statusCode"], 200);
        let mut cli = compliance(&["elkyc", "decrypt", "--json", "--signature", &signature])
            .elkyc_keys()
            .stdin(&body);
        for a in readings {
            cli = cli.arg(*a);
        }
        let json = cli.run().expect(0).json();
        assert_eq!(json["verdict"], "opened", "{readings:?}");
        assert_eq!(json["data"]["externalUserId"], "user-1");
        assert_eq!(json["time"], envelope["time"]);
    }
}

#[test]
fn text_output_is_the_header_and_the_body() {
    let run = compliance(&["elkyc", "encrypt", "--method", "gcm"])
        .env("ELKYC_SECRET_KEY", ELKYC_SECRET)
        .stdin(DATA)
        .run()
        .expect(0);
    let (header, body) = run.stdout.split_once("\n\n").unwrap();
    let signature = header.strip_prefix("x-allpass-signature: ").unwrap();
    assert_eq!(signature.len(), 32, "a 16-byte GCM tag in hex");
    // The bare hex `data` opens too, from a file, with the key from a file.
    let envelope: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    let data = TempFile::new("data.hex", envelope["data"].as_str().unwrap());
    let key = TempFile::new("secret.key", format!("{ELKYC_SECRET}\n"));
    let run = compliance(&[
        "elkyc",
        "decrypt",
        "--method",
        "gcm",
        "--signature",
        signature,
    ])
    .arg(data.path())
    .arg("--secret-key-file")
    .arg(key.path())
    .run()
    .expect(0);
    assert!(
        run.stdout.starts_with("opened: AES-256-GCM envelope"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(r#""externalUserId": "user-1""#),
        "{}",
        run.stdout
    );
}

#[test]
fn a_wrong_key_or_a_flipped_byte_is_refused() {
    let (signature, body) = sealed(&[]);
    let other = "0".repeat(64);
    let json = compliance(&["elkyc", "decrypt", "--json", "--signature", &signature])
        .env("ELKYC_SECRET_KEY", ELKYC_SECRET)
        .env("ELKYC_HMAC_KEY", &other)
        .stdin(&body)
        .run()
        .expect(1)
        .json();
    assert_eq!(json["verdict"], "rejected");
    assert!(
        json["reason"]
            .as_str()
            .unwrap()
            .contains("signature does not match"),
        "{json}"
    );

    let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
    let data = envelope["data"].as_str().unwrap();
    let last = data.len() - 1;
    let flipped = format!(
        "{}{}",
        &data[..last],
        if data.ends_with('0') { "1" } else { "0" }
    );
    compliance(&["elkyc", "decrypt", "--signature", &signature])
        .elkyc_keys()
        .stdin(flipped)
        .run()
        .expect(1);
    // A plain envelope has nothing to open.
    let json = compliance(&["elkyc", "decrypt", "--json", "--signature", &signature])
        .elkyc_keys()
        .stdin(r#"{"status":true,"statusCode":200,"data":{"id":"a"},"time":"2025-01-01T00:00:00.000Z"}"#)
        .run()
        .expect(1)
        .json();
    assert_eq!(json["error"]["kind"], "not_encrypted");
}

#[test]
fn webhook_mode_checks_time_and_the_event() {
    let (signature, body) = sealed(&[]);
    let json = compliance(&[
        "elkyc",
        "decrypt",
        "--webhook",
        "--json",
        "--signature",
        &signature,
    ])
    .elkyc_keys()
    .stdin(&body)
    .run()
    .expect(0)
    .json();
    assert_eq!(json["verdict"], "verified");
    assert_eq!(json["event"]["type"], "applicantApproved");
    assert!(json["dedup_key"].as_str().unwrap().starts_with("elkyc:"));

    // Years old: the freshness window refuses it; a wider window accepts it.
    let (signature, body) = sealed(&["--time", "2020-01-01T00:00:00Z"]);
    let run = compliance(&["elkyc", "decrypt", "--webhook", "--signature", &signature])
        .elkyc_keys()
        .stdin(&body)
        .run()
        .expect(1);
    assert!(run.stdout.starts_with("REJECTED"), "{}", run.stdout);
    compliance(&[
        "elkyc",
        "decrypt",
        "--webhook",
        "--tolerance",
        "100000h",
        "--signature",
        &signature,
    ])
    .elkyc_keys()
    .stdin(&body)
    .run()
    .expect(0);
}

#[test]
fn key_problems_are_configuration_errors() {
    // CBC needs the HMAC key.
    let run = compliance(&["elkyc", "encrypt"])
        .env("ELKYC_SECRET_KEY", ELKYC_SECRET)
        .stdin(DATA)
        .run()
        .expect(2);
    assert!(run.stderr.contains("ELKYC_HMAC_KEY"), "{}", run.stderr);
    // A key that is not 32 bytes of hex: named, never shown.
    let json = compliance(&["elkyc", "encrypt", "--json", "--method", "gcm"])
        .env("ELKYC_SECRET_KEY", "not-hex-5ecret")
        .stdin(DATA)
        .run()
        .expect(2)
        .json();
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("secret key"),
        "{json}"
    );
    // Not JSON to encrypt; a bad --time.
    compliance(&["elkyc", "encrypt"])
        .elkyc_keys()
        .stdin("nope")
        .run()
        .expect(2);
    compliance(&["elkyc", "encrypt", "--time", "yesterday"])
        .elkyc_keys()
        .stdin(DATA)
        .run()
        .expect(2);
    // decrypt needs --signature.
    compliance(&["elkyc", "decrypt"])
        .elkyc_keys()
        .stdin("00")
        .run()
        .expect(2);
}
