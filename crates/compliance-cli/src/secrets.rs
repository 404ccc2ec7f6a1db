//! Secrets come from the environment or from files, never from the command line (where `ps`
//! and shell history would show them), and are never printed, not even with `--verbose`.
//!
//! Each secret `NAME` is read, first found wins, from the file given by its `--...-file`
//! option, from the file named by `$NAME_FILE`, or from `$NAME`.
//!
//! The workspace's one rule for secrets ([`compliance_core::secret::SecretProblem`]): a
//! secret is used exactly as given. The one line ending at the end of a *file* (`\n` or
//! `\r\n`, what editors and `echo` write) is not part of the secret and is removed; any
//! other leading or trailing whitespace, in a file or an environment variable, is refused
//! with a configuration error, as the libraries refuse it.

use std::path::Path;

use compliance_core::secret::SecretProblem;
use compliance_core::{ExposeSecret as _, SecretString};

use crate::outcome::{Failure, Output};

/// One secret the command line can read.
#[derive(Debug, Clone, Copy)]
pub struct Secret {
    /// The environment variable (`HELEKET_PAYMENT_KEY`); `NAME_FILE` names a file.
    pub env: &'static str,
    /// The option naming a file (`--payment-key-file`).
    pub flag: &'static str,
    /// What it is, for messages ("the Heleket payment key").
    pub what: &'static str,
}

/// Heleket's payment key.
pub const HELEKET_PAYMENT_KEY: Secret = Secret {
    env: "HELEKET_PAYMENT_KEY",
    flag: "--payment-key-file",
    what: "the Heleket payment key",
};
/// Heleket's payout key.
pub const HELEKET_PAYOUT_KEY: Secret = Secret {
    env: "HELEKET_PAYOUT_KEY",
    flag: "--payout-key-file",
    what: "the Heleket payout key",
};
/// The elKYC application's API key (`x-private-app-key`).
pub const ELKYC_API_KEY: Secret = Secret {
    env: "ELKYC_API_KEY",
    flag: "--api-key-file",
    what: "the elKYC API key",
};
/// The elKYC application's secret ("crypto") key.
pub const ELKYC_SECRET_KEY: Secret = Secret {
    env: "ELKYC_SECRET_KEY",
    flag: "--secret-key-file",
    what: "the elKYC secret key",
};
/// The elKYC application's HMAC key (AES-256-CBC).
pub const ELKYC_HMAC_KEY: Secret = Secret {
    env: "ELKYC_HMAC_KEY",
    flag: "--hmac-key-file",
    what: "the elKYC HMAC key",
};
/// BTC Direct's partner password.
pub const BTCDIRECT_PASSWORD: Secret = Secret {
    env: "BTCDIRECT_PASSWORD",
    flag: "--password-file",
    what: "the BTC Direct partner password",
};
/// BTC Direct's partner API key.
pub const BTCDIRECT_API_KEY: Secret = Secret {
    env: "BTCDIRECT_API_KEY",
    flag: "--api-key-file",
    what: "the BTC Direct API key",
};
/// The shared secret a Tuum receiver expects in a header (`trigger tuum`).
#[cfg(feature = "sandbox")]
pub const TUUM_WEBHOOK_SECRET: Secret = Secret {
    env: "TUUM_WEBHOOK_SECRET",
    flag: "--secret-file",
    what: "the Tuum webhook secret",
};
/// The same secret, for `compliance sandbox --tuum-secret-header` (its own file flag).
#[cfg(feature = "sandbox")]
pub const TUUM_SANDBOX_SECRET: Secret = Secret {
    env: "TUUM_WEBHOOK_SECRET",
    flag: "--tuum-secret-file",
    what: "the Tuum webhook secret",
};

impl Secret {
    /// The secret, if it is configured anywhere.
    pub fn load(&self, file: Option<&Path>, out: &Output) -> Result<Option<SecretString>, Failure> {
        let file_env = format!("{}_FILE", self.env);
        let (source, text) = if let Some(path) = file {
            (
                format!("{} {}", self.flag, path.display()),
                read_file(self, path)?,
            )
        } else if let Some(path) = std::env::var_os(&file_env).filter(|p| !p.is_empty()) {
            let path = Path::new(&path);
            (
                format!("${file_env} ({})", path.display()),
                read_file(self, path)?,
            )
        } else {
            match std::env::var(self.env) {
                Ok(value) => (format!("${}", self.env), value),
                Err(std::env::VarError::NotPresent) => return Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Failure::config(format!("${} is not valid UTF-8", self.env)));
                }
            }
        };
        if let Some(problem) = SecretProblem::of(&text) {
            return Err(Failure::config(format!(
                "{} from {source} {problem}",
                self.what
            )));
        }
        out.note(format!("{} from {source}", self.what));
        Ok(Some(SecretString::from(text)))
    }

    /// The secret, or a configuration error naming the three ways to give it.
    pub fn require(&self, file: Option<&Path>, out: &Output) -> Result<SecretString, Failure> {
        self.load(file, out)?
            .ok_or_else(|| Failure::config(self.missing()))
    }

    /// "no ...: set NAME, or NAME_FILE or --flag to a file holding it".
    pub fn missing(&self) -> String {
        format!(
            "{} is not configured: set ${}, or point ${}_FILE or {} at a file holding it \
             (never on the command line)",
            self.what, self.env, self.env, self.flag
        )
    }
}

/// Removes the one line ending a file's last line has (`\n` or `\r\n`).
fn strip_line_ending(text: &mut String) {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
}

/// The file's text without the line ending of its last line.
fn read_file(secret: &Secret, path: &Path) -> Result<String, Failure> {
    let mut text = std::fs::read_to_string(path).map_err(|e| {
        Failure::config(format!(
            "cannot read {} from {}: {e}",
            secret.what,
            path.display()
        ))
    })?;
    strip_line_ending(&mut text);
    Ok(text)
}

/// The secret's text, for handing to a library call. Never print it.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

/// `url` as it may be printed: a password or token in the URL itself (`user:pass@`, a query
/// string such as `?token=...`, which some receivers use instead of a header) is replaced
/// by `[redacted]`.
pub fn shown_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("[redacted]@{host}"),
        None => authority.to_owned(),
    };
    let tail = tail.split('#').next().unwrap_or_default();
    let tail = match tail.split_once('?') {
        Some((path, _)) => format!("{path}?[redacted]"),
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            shown_url("http://127.0.0.1:3000/hook"),
            "http://127.0.0.1:3000/hook"
        );
        assert_eq!(
            shown_url("https://user:pw@host.example/a/b?token=t&x=1#frag"),
            "https://[redacted]@host.example/a/b?[redacted]"
        );
        assert_eq!(shown_url("https://host?t=1"), "https://host?[redacted]");
        assert_eq!(shown_url("not a url"), "not a url");
    }
}
