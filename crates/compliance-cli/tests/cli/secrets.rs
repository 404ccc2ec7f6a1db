//! Secrets come from the environment or files, are named in `--help`, never accepted as
//! option values, and never printed (every run in this suite checks its output; here the
//! runs are `--verbose`).

use crate::common::{ELKYC_HMAC, ELKYC_SECRET, PAYMENT_KEY, PAYOUT_KEY, TempFile, compliance};

#[test]
fn help_names_every_secret_and_where_it_is_read_from() {
    for (command, names) in [
        (
            &["heleket", "sign"][..],
            &[
                "HELEKET_PAYMENT_KEY",
                "HELEKET_PAYOUT_KEY_FILE",
                "--payout-key-file",
            ][..],
        ),
        (
            &["heleket", "verify"],
            &["HELEKET_PAYMENT_KEY", "HELEKET_PAYOUT_KEY"],
        ),
        (
            &["elkyc", "decrypt"],
            &["ELKYC_SECRET_KEY", "ELKYC_HMAC_KEY_FILE", "--hmac-key-file"],
        ),
        (
            &["elkyc", "encrypt"],
            &["ELKYC_SECRET_KEY", "ELKYC_HMAC_KEY"],
        ),
        (
            &["state", "heleket"],
            &[
                "HELEKET_MERCHANT",
                "HELEKET_PAYMENT_KEY",
                "HELEKET_BASE_URL",
            ],
        ),
        (
            &["state", "elkyc"],
            &["ELKYC_API_KEY", "ELKYC_API_KEY_FILE", "ELKYC_BASE_URL"],
        ),
        (
            &["state", "btcdirect"],
            &[
                "BTCDIRECT_PASSWORD",
                "BTCDIRECT_API_KEY",
                "BTCDIRECT_USERNAME",
            ],
        ),
        (
            &["trigger", "heleket"],
            &["HELEKET_PAYMENT_KEY", "HELEKET_PAYOUT_KEY"],
        ),
        (
            &["trigger", "elkyc"],
            &["ELKYC_SECRET_KEY", "ELKYC_HMAC_KEY"],
        ),
        (
            &["trigger", "tuum"],
            &[
                "TUUM_WEBHOOK_SECRET",
                "TUUM_WEBHOOK_SECRET_FILE",
                "--secret-file",
            ],
        ),
    ] {
        let mut cli = compliance(command);
        cli = cli.arg("--help");
        let run = cli.run().expect(0);
        for name in names {
            assert!(
                run.stdout.contains(name),
                "`{}` --help lacks {name}:\n{}",
                command.join(" "),
                run.stdout
            );
        }
        assert!(
            run.stdout.contains("never on the command line"),
            "{}",
            run.stdout
        );
    }
    let top = compliance(&["--help"]).run().expect(0);
    for line in [
        "Exit codes:",
        "  0  done",
        "  1  verification failed",
        "  2  usage",
        "  3  provider",
    ] {
        assert!(top.stdout.contains(line), "{}", top.stdout);
    }
}

#[test]
fn no_option_takes_a_secret() {
    for (command, option) in [
        (&["heleket", "sign"][..], "--payment-key"),
        (&["heleket", "verify"], "--payout-key"),
        (&["elkyc", "encrypt"], "--secret-key"),
        (&["state", "elkyc", "applicant:a"], "--api-key"),
        (&["state", "btcdirect", "user:u"], "--password"),
        (&["trigger", "tuum", "AML_SUBPROCESS_CREATED"], "--secret"),
    ] {
        let mut cli = compliance(command);
        cli = cli
            .arg(option)
            .arg("hunter2-5ecret")
            .secret("hunter2-5ecret");
        let run = cli.run().expect(2);
        assert!(run.stderr.contains("unexpected argument"), "{}", run.stderr);
    }
}

#[test]
fn verbose_says_where_keys_come_from_never_what_they_are() {
    let payment = TempFile::new("payment.key", format!("{PAYMENT_KEY}\n"));
    let run = compliance(&[
        "heleket",
        "sign",
        "-v",
        "--payment-key-file",
        payment.path(),
    ])
    .stdin("{}")
    .run()
    .expect(0);
    assert!(
        run.stderr.contains(&format!(
            "the Heleket payment key from --payment-key-file {}",
            payment.path()
        )),
        "{}",
        run.stderr
    );
    let run = compliance(&["heleket", "verify", "-v", "--json"])
        .env("HELEKET_PAYMENT_KEY_FILE", payment.path())
        .env("HELEKET_PAYOUT_KEY", PAYOUT_KEY)
        .stdin(r#"{"type":"payment","sign":"00"}"#)
        .run()
        .expect(1);
    assert!(
        run.stderr.contains("from $HELEKET_PAYMENT_KEY_FILE"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the Heleket payout key from $HELEKET_PAYOUT_KEY"),
        "{}",
        run.stderr
    );
    run.json();

    // $NAME_FILE wins over $NAME (which here is not even a key).
    let file = TempFile::new("s.key", ELKYC_SECRET);
    let run = compliance(&["elkyc", "encrypt", "-v", "--method", "gcm"])
        .env("ELKYC_SECRET_KEY", "not-a-key")
        .env("ELKYC_SECRET_KEY_FILE", file.path())
        .stdin("{}")
        .run()
        .expect(0);
    assert!(
        run.stderr.contains("from $ELKYC_SECRET_KEY_FILE"),
        "{}",
        run.stderr
    );
    drop(file);

    let secret = TempFile::new("s.key", ELKYC_SECRET);
    let hmac = TempFile::new("h.key", ELKYC_HMAC);
    let run = compliance(&["elkyc", "encrypt", "-v", "--secret-key-file", secret.path()])
        .arg("--hmac-key-file")
        .arg(hmac.path())
        .env("ELKYC_SECRET_KEY", "0".repeat(64))
        .stdin("{}")
        .run()
        .expect(0);
    assert!(
        run.stderr
            .contains("the elKYC secret key from --secret-key-file"),
        "{}",
        run.stderr
    );
}

/// Issue #25: one rule for every secret, the libraries' (used exactly as given). A file's
/// final line ending is not part of the secret; any other surrounding whitespace, in a file
/// or in the environment, is refused with a configuration error instead of being trimmed
/// here and refused (or never matching) in the library.
#[test]
fn secrets_follow_the_libraries_rule_for_whitespace() {
    let crlf = TempFile::new("payment.key", format!("{PAYMENT_KEY}\r\n"));
    compliance(&["heleket", "sign", "--payment-key-file", crlf.path()])
        .stdin("{}")
        .run()
        .expect(0);
    let spaced = TempFile::new("payment.key", format!(" {PAYMENT_KEY}\n"));
    let run = compliance(&["heleket", "sign", "--payment-key-file", spaced.path()])
        .stdin("{}")
        .run()
        .expect(2);
    assert!(run.stderr.contains("whitespace"), "{}", run.stderr);
    let run = compliance(&["heleket", "sign"])
        .env("HELEKET_PAYMENT_KEY", format!("{PAYMENT_KEY}\n"))
        .stdin("{}")
        .run()
        .expect(2);
    assert!(
        run.stderr.contains(
            "the Heleket payment key from $HELEKET_PAYMENT_KEY starts or ends with whitespace"
        ),
        "{}",
        run.stderr
    );
}
