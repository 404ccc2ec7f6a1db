//! Progress shows on a terminal and nowhere else.

use std::process::{Command, Stdio};

use compliance_sandbox::{Provider, Sandbox, SandboxConfig};

use crate::common::{Cli, background, compliance};

/// Runs `cli` with a terminal for stdout and stderr (util-linux `script`), returning what
/// the terminal showed.
fn on_a_terminal(cli: &Cli) -> (i32, String) {
    let (parts, env) = cli.parts();
    let quoted: Vec<String> = parts
        .iter()
        .map(|p| format!("'{}'", p.replace('\'', r"'\''")))
        .collect();
    let output = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` is installed (.ci/run installs bsdutils)");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn state(sandbox: &Sandbox) -> Cli {
    let creds = sandbox.heleket().credentials();
    compliance(&["state", "heleket", "payment:nope"])
        .env("HELEKET_MERCHANT", creds.merchant)
        .env("HELEKET_PAYMENT_KEY", creds.payment_key)
        .env(
            "HELEKET_BASE_URL",
            sandbox.endpoint(Provider::Heleket).url(),
        )
}

#[test]
fn a_slow_wait_shows_progress_on_a_terminal_only() {
    let rt = background();
    let sandbox = rt
        .block_on(Sandbox::start(SandboxConfig::default()))
        .unwrap();

    // An unknown payment: exit 2 (a subject the provider does not know).
    let (code, shown) = on_a_terminal(&state(&sandbox));
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains("| asking heleket about payment nope"),
        "{shown:?}"
    );
    assert!(
        shown.contains("\x1b[2K"),
        "the progress line is erased: {shown:?}"
    );

    // Piped: the error and nothing else.
    let run = state(&sandbox).run().expect(2);
    assert!(!run.stderr.contains("asking"), "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: heleket does not know payment nope: "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn retries_show_the_wait_on_a_terminal() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let trigger = || {
        compliance(&[
            "trigger",
            "tuum",
            "AML_SUBPROCESS_CREATED",
            "--retries",
            "1",
        ])
        .arg("--retry-delay")
        .arg("10ms")
        .arg("--to")
        .arg(format!("http://{closed}/"))
    };
    let (code, shown) = on_a_terminal(&trigger());
    assert_eq!(code, 3, "{shown}");
    assert!(shown.contains("attempt 2/2 in 10ms"), "{shown:?}");
    assert!(
        shown.contains(&format!("POST http://{closed}/ (attempt 1/2)")),
        "{shown:?}"
    );
    let run = trigger().run().expect(3);
    assert_eq!(run.stderr, "");
}
