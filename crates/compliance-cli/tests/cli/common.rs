//! Running the binary, and the secret check every run goes through.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The test secrets. Any environment variable whose name says KEY, SECRET or PASSWORD is
/// checked too, whatever its value.
pub const PAYMENT_KEY: &str = "hk-pay-5ecret-7f3a9c";
pub const PAYOUT_KEY: &str = "hk-payout-5ecret-1b2d4e";
pub const TUUM_SECRET: &str = "tuum-5ecret-0123456789abcdef0123456789";
/// elKYC keys are 32 bytes of hex.
pub const ELKYC_SECRET: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7";
pub const ELKYC_HMAC: &str = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

/// One run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as the one JSON document `--json` promises.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A command line to run.
pub struct Cli {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
    secrets: Vec<String>,
}

/// `compliance <args>`, with an empty environment.
pub fn compliance(args: &[&str]) -> Cli {
    Cli {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: Vec::new(),
        stdin: Vec::new(),
        secrets: [
            PAYMENT_KEY,
            PAYOUT_KEY,
            TUUM_SECRET,
            ELKYC_SECRET,
            ELKYC_HMAC,
        ]
        .map(str::to_owned)
        .to_vec(),
    }
}

impl Cli {
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// The Heleket keys, both.
    pub fn heleket_keys(self) -> Self {
        self.env("HELEKET_PAYMENT_KEY", PAYMENT_KEY)
            .env("HELEKET_PAYOUT_KEY", PAYOUT_KEY)
    }

    /// The elKYC keys.
    pub fn elkyc_keys(self) -> Self {
        self.env("ELKYC_SECRET_KEY", ELKYC_SECRET)
            .env("ELKYC_HMAC_KEY", ELKYC_HMAC)
    }

    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.stdin = bytes.as_ref().to_vec();
        self
    }

    /// Another value that must never be printed.
    pub fn secret(mut self, value: impl Into<String>) -> Self {
        self.secrets.push(value.into());
        self
    }

    /// The command as `script` runs it (for the terminal tests): binary and arguments.
    pub fn parts(&self) -> (Vec<String>, Vec<(String, String)>) {
        let mut parts = vec![env!("CARGO_BIN_EXE_compliance").to_owned()];
        parts.extend(self.args.iter().cloned());
        (parts, self.env.clone())
    }

    /// Runs it with stdout and stderr piped, and checks that no secret appears in either.
    pub fn run(self) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_compliance"))
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().expect("the binary finishes");
        writer.join().expect("stdin written");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        let leaks = leaks(&run, &self.all_secrets());
        assert!(
            leaks.is_empty(),
            "secrets printed by `compliance {}`: {leaks:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            run.stdout,
            run.stderr
        );
        run
    }

    fn all_secrets(&self) -> Vec<String> {
        let mut all = self.secrets.clone();
        for (name, value) in &self.env {
            let name = name.to_ascii_uppercase();
            let secret = ["KEY", "SECRET", "PASSWORD"]
                .iter()
                .any(|w| name.contains(w))
                && !name.ends_with("_FILE");
            if secret && !value.is_empty() {
                all.push(value.clone());
            }
        }
        all
    }
}

/// The secrets that appear in a run's stdout or stderr.
pub fn leaks(run: &Run, secrets: &[String]) -> Vec<String> {
    secrets
        .iter()
        .filter(|s| run.stdout.contains(s.as_str()) || run.stderr.contains(s.as_str()))
        .cloned()
        .collect()
}

/// A file in a fresh temporary directory, removed with the directory when dropped.
pub struct TempFile {
    dir: std::path::PathBuf,
    pub path: std::path::PathBuf,
}

impl TempFile {
    pub fn new(name: &str, contents: impl AsRef<[u8]>) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "compliance-cli-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        Self { dir, path }
    }

    pub fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A runtime with its own threads, serving the sandbox or a receiver while the test thread
/// waits for the binary.
pub fn background() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_secret_check_catches_a_leak() {
    // A Tuum event whose notificationId is a secret's text: parsing prints it back.
    let body = format!(
        r#"{{"notificationId":"{PAYMENT_KEY}","notificationTypeCode":"SOMETHING_NEW","data":{{}}}}"#
    );
    let run = Run {
        code: 0,
        stdout: format!("parsed: SOMETHING_NEW\n  notificationId {PAYMENT_KEY}"),
        stderr: String::new(),
    };
    assert_eq!(leaks(&run, &[PAYMENT_KEY.to_owned()]), [PAYMENT_KEY]);
    let caught = std::panic::catch_unwind(|| compliance(&["tuum", "parse"]).stdin(&body).run());
    assert!(caught.is_err(), "the echoed secret went unnoticed");
    // An environment variable named like a secret is checked whatever its value.
    let caught = std::panic::catch_unwind(|| {
        compliance(&["tuum", "parse"])
            .env("SOME_API_KEY", "NTF-42")
            .stdin(r#"{"notificationId":"NTF-42","notificationTypeCode":"X","data":{}}"#)
            .run()
    });
    assert!(caught.is_err(), "an env secret went unnoticed");
}
