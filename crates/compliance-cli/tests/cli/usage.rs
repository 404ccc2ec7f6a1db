//! Usage errors, help and version.

use crate::common::compliance;

#[test]
fn usage_errors_exit_2_and_speak_json_when_asked() {
    let run = compliance(&[]).run().expect(2);
    assert!(run.stderr.contains("Usage: compliance"), "{}", run.stderr);
    assert_eq!(run.stdout, "");

    compliance(&["frobnicate"]).run().expect(2);
    let json = compliance(&["--json", "frobnicate"]).run().expect(2).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["exit_code"], 2);
    assert_eq!(json["error"]["kind"], "usage");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("frobnicate"),
        "{json}"
    );

    let json = compliance(&["heleket", "sign", "--key", "other", "--json"])
        .run()
        .expect(2)
        .json();
    assert!(
        json["error"]["message"].as_str().unwrap().contains("other"),
        "{json}"
    );
    let json = compliance(&[
        "trigger",
        "heleket",
        "payment",
        "--json",
        "--retry-delay",
        "soon",
        "--to",
        "http://x",
    ])
    .run()
    .expect(2)
    .json();
    assert!(
        json["error"]["message"].as_str().unwrap().contains("soon"),
        "{json}"
    );
}

#[test]
fn help_and_version_exit_0() {
    let run = compliance(&["--help"]).run().expect(0);
    assert!(run.stdout.contains("Usage: compliance [OPTIONS] <COMMAND>"));
    for command in ["heleket", "elkyc", "tuum", "state", "sandbox", "trigger"] {
        assert!(run.stdout.contains(&format!("\n  {command} ")), "{command}");
        compliance(&[command, "--help"]).run().expect(0);
    }
    let run = compliance(&["--version"]).run().expect(0);
    assert_eq!(
        run.stdout,
        format!("compliance {}\n", env!("CARGO_PKG_VERSION"))
    );
}
