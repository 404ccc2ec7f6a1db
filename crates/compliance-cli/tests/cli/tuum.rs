//! `tuum parse`.

use compliance_sandbox::TuumEvent;

use crate::common::compliance;

#[test]
fn every_documented_event_parses_typed() {
    for event in TuumEvent::documented() {
        let body = event.body("NTF-7");
        let code = event.type_code().unwrap();
        let run = compliance(&["tuum", "parse"]).stdin(&body).run().expect(0);
        assert!(
            run.stdout.starts_with(&format!("parsed: {code}")),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("NTF-7"));
        let json = compliance(&["tuum", "parse", "--json"])
            .stdin(&body)
            .run()
            .expect(0)
            .json();
        assert_eq!(json["ok"], true);
        assert_eq!(json["type"], code);
        assert_eq!(json["notification_id"], "NTF-7");
        assert_eq!(json["known"], true);
        assert!(
            json["routing_code"]
                .as_str()
                .unwrap()
                .starts_with("ext.aml")
        );
        assert!(json["body"].is_object(), "{json}");
    }
}

#[test]
fn results_print_typed_values() {
    let body = TuumEvent::PaymentResultsPublished {
        result: "DECLINED".into(),
    }
    .body("N-1");
    let json = compliance(&["tuum", "parse", "--json"])
        .stdin(&body)
        .run()
        .expect(0)
        .json();
    assert_eq!(json["body"]["amlProcessResultCode"], "DECLINED");
    assert_eq!(json["aml_process_id"], "ID-1000");
    // The text shows the typed body as JSON in Tuum's shape (issue #25: not Rust `Debug`).
    let run = compliance(&["tuum", "parse"]).stdin(&body).run().expect(0);
    assert!(
        run.stdout.contains(r#""amlProcessResultCode": "DECLINED""#),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(r#""subProcessResultReasons": "LEGAL_REASON, CODE_RED""#),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unknown_type_is_kept_as_sent() {
    let body =
        r#"{"notificationId":"N-2","notificationTypeCode":"AML_SOMETHING_NEW","data":{"x":1.50}}"#;
    let json = compliance(&["tuum", "parse", "--json"])
        .stdin(body)
        .run()
        .expect(0)
        .json();
    assert_eq!(json["known"], false);
    assert_eq!(json["type"], "AML_SOMETHING_NEW");
    let run = compliance(&["tuum", "parse"]).stdin(body).run().expect(0);
    assert!(run.stdout.contains("does not know"), "{}", run.stdout);
}

#[test]
fn a_bad_event_names_the_json_path() {
    let body = TuumEvent::SubprocessCreated.body("N-3").replacen(
        r#""amount": 1.22"#,
        r#""amount": "lots""#,
        1,
    );
    assert!(body.contains("lots"));
    let run = compliance(&["tuum", "parse"]).stdin(&body).run().expect(1);
    assert!(
        run.stdout.contains("`data.amount.amount`"),
        "{}",
        run.stdout
    );
    let json = compliance(&["tuum", "parse", "--json"])
        .stdin(&body)
        .run()
        .expect(1)
        .json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["path"], "data.amount.amount");
    let json = compliance(&["tuum", "parse", "--json"])
        .stdin("{}")
        .run()
        .expect(1)
        .json();
    assert_eq!(json["verdict"], "invalid");
}

/// Issue #25: a refusal's `--json` follows the documented failure shape, and the text
/// output shows the typed body as JSON, not Rust `Debug`.
#[test]
fn failures_have_the_documented_shape_and_text_is_not_debug() {
    let json = compliance(&["tuum", "parse", "--json"])
        .stdin("{}")
        .run()
        .expect(1)
        .json();
    assert_eq!(json["ok"], false, "{json}");
    assert_eq!(json["exit_code"], 1, "{json}");
    assert_eq!(json["error"]["kind"], "refused", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("REJECTED")),
        "{json}"
    );

    let body = TuumEvent::SubprocessCreated.body("N-9");
    let run = compliance(&["tuum", "parse"]).stdin(&body).run().expect(0);
    assert!(
        !run.stdout.contains("Some(") && !run.stdout.contains("aml_process_id:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(r#""amount": "#), "{}", run.stdout);
}
