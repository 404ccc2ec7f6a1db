//! What a command ends with, how it is printed (text or `--json`), and the exit codes.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done: verified, parsed, delivered, answered |
//! | 1 | verification failed or refused: a signature mismatch, an envelope that does not open, an event that does not parse, a receiver that answered non-2xx |
//! | 2 | usage or configuration error: bad arguments, a missing or malformed key, credentials the provider refused |
//! | 3 | provider or network error: the provider answered with an error, or nothing answered |

use std::io::Write as _;
use std::process::ExitCode;

use serde_json::{Map, Value, json};

/// The exit code of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// 0: done.
    Ok,
    /// 1: verification failed or refused.
    Refused,
    /// 2: usage or configuration error.
    Usage,
    /// 3: provider or network error.
    Provider,
}

impl Code {
    /// The process exit status.
    pub fn status(self) -> u8 {
        match self {
            Code::Ok => 0,
            Code::Refused => 1,
            Code::Usage => 2,
            Code::Provider => 3,
        }
    }
}

/// A command's result: its exit code and what it prints, as text and as JSON.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code.
    pub code: Code,
    /// The `--json` document (an object; `ok` is added when printed).
    pub json: Value,
    /// The text printed otherwise (a trailing newline is added when missing, unless
    /// [`exact`](Self::exact)).
    pub text: String,
    /// The text is data to be saved byte for byte (a signed body): no newline is added.
    pub exact: bool,
}

impl Outcome {
    /// A success.
    pub fn ok(json: Value, text: impl Into<String>) -> Self {
        Self {
            code: Code::Ok,
            json,
            text: text.into(),
            exact: false,
        }
    }

    /// A verdict of refusal (exit 1), printed like a result: the verdict is the output.
    pub fn refused(json: Value, text: impl Into<String>) -> Self {
        Self {
            code: Code::Refused,
            json,
            text: text.into(),
            exact: false,
        }
    }

    /// A success that has printed what it had to say already (a server that printed its
    /// manifest when it started): nothing more is printed.
    #[cfg(any(feature = "sandbox", feature = "console"))]
    pub fn silent() -> Self {
        Self {
            code: Code::Ok,
            json: Value::Null,
            text: String::new(),
            exact: false,
        }
    }

    /// The text is printed byte for byte, without a newline added.
    pub fn exact(mut self) -> Self {
        self.exact = true;
        self
    }

    /// The same result with another exit code.
    #[cfg(feature = "sandbox")]
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }
}

/// A command that could not do its job: the message goes to stderr (text) or into
/// `{"ok": false, "error": {...}}` on stdout (`--json`).
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// A stable, machine-readable kind (`usage`, `config`, `provider`, `network`, `input`...).
    pub kind: &'static str,
    /// What went wrong and what to do, for a person.
    pub message: String,
    /// More fields for `--json` (a JSON path, an HTTP status...).
    pub extra: Map<String, Value>,
}

impl Failure {
    /// A failure of `kind` with exit `code`.
    pub fn new(code: Code, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            kind,
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// Bad arguments (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, "usage", message)
    }

    /// Missing or malformed configuration or keys (exit 2).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, "config", message)
    }

    /// Adds a field to the JSON error.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }
}

/// How to print: `--json`, `--verbose`, and whether stderr is a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON document on stdout.
    pub json: bool,
    /// Notes on stderr.
    pub verbose: bool,
    /// Progress on stderr (stderr is a terminal).
    pub terminal: bool,
}

impl Output {
    /// A `--verbose` note on stderr. Never pass a secret: callers name where a key came
    /// from, never the key.
    pub fn note(&self, message: impl AsRef<str>) {
        if self.verbose {
            eprintln!("compliance: {}", message.as_ref());
        }
    }

    /// Prints an outcome: its JSON document (with `ok`) or its text.
    pub fn print(&self, outcome: &Outcome) {
        if self.json {
            let mut doc = match &outcome.json {
                Value::Null => return,
                Value::Object(map) => map.clone(),
                other => Map::from_iter([("result".to_owned(), other.clone())]),
            };
            doc.insert("ok".into(), json!(outcome.code == Code::Ok));
            if outcome.code != Code::Ok {
                // Every failure has the documented shape, a refusal's verdict included.
                doc.insert("exit_code".into(), json!(outcome.code.status()));
                doc.entry("error").or_insert_with(|| {
                    let message = outcome.text.lines().next().unwrap_or_default();
                    json!({"kind": "refused", "message": message})
                });
            }
            print_json(&Value::Object(doc));
        } else if outcome.exact {
            print_bytes(outcome.text.as_bytes());
        } else {
            print_text(&outcome.text);
        }
    }

    /// Prints the result and returns the exit status.
    pub fn finish(&self, result: Result<Outcome, Failure>) -> ExitCode {
        let code = match result {
            Ok(outcome) => {
                self.print(&outcome);
                outcome.code
            }
            Err(failure) => {
                if self.json {
                    print_json(&failure_json(&failure));
                } else {
                    eprintln!("error: {}", failure.message);
                }
                failure.code
            }
        };
        ExitCode::from(code.status())
    }
}

/// The `--json` document of a failure.
pub fn failure_json(failure: &Failure) -> Value {
    let mut error = failure.extra.clone();
    error.insert("kind".into(), json!(failure.kind));
    error.insert("message".into(), json!(failure.message));
    json!({"ok": false, "exit_code": failure.code.status(), "error": error})
}

fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    print_text(&text);
}

fn print_text(text: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        print_bytes(format!("{text}\n").as_bytes());
    } else {
        print_bytes(text.as_bytes());
    }
}

fn print_bytes(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// A client that cannot be built from the command line's configuration. The core's
/// plain-http refusal names a Rust setting; here it says what a CLI user can do.
pub fn client_failure(provider: &str, error: &dyn std::fmt::Display) -> Failure {
    let message = error.to_string();
    if message.contains("plain http") {
        return Failure::config(format!(
            "{provider}: the base URL is plain http to a host that is not the loopback: use \
             https (the CLI sends plain http only to 127.0.0.1, ::1 or localhost, such as a \
             local `compliance sandbox`)"
        ));
    }
    Failure::config(format!("{provider} client: {message}"))
}
