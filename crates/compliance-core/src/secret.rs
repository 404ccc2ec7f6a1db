//! Secrets: API keys, passwords and tokens that must never reach a log.
//!
//! [`SecretString`] (from `secrecy`) prints `[REDACTED]` in `Debug` and has no `Display`;
//! reading it takes an explicit [`ExposeSecret::expose_secret`]. Header values built from
//! secrets are marked sensitive so HTTP libraries redact them too.

pub use secrecy::{ExposeSecret, SecretBox, SecretString};

use http::HeaderValue;

use crate::error::Error;

/// What is wrong with a secret under the one rule every crate of this workspace applies to
/// the secrets it is given (keys, passwords, shared secrets): a secret is used **exactly as
/// given**, so it must not be empty and must not start or end with whitespace. A secret
/// read from a file with its trailing newline would otherwise never match; refusing it at
/// construction says so at once instead of with a 401 on every request.
///
/// (The `compliance` CLI removes the one line ending at the end of a secret *file*, then
/// applies the same rule; environment variables are taken as they are.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretProblem {
    /// Empty.
    #[error("is empty")]
    Empty,
    /// Leading or trailing whitespace (a space, a tab, a newline).
    #[error(
        "starts or ends with whitespace (a newline from the file it was read from?): a secret \
         is used exactly as given; remove the whitespace"
    )]
    SurroundingWhitespace,
}

impl SecretProblem {
    /// What is wrong with `secret`, if anything. Never looks at more than its ends.
    pub fn of(secret: &str) -> Option<Self> {
        if secret.is_empty() {
            Some(SecretProblem::Empty)
        } else if secret.starts_with(char::is_whitespace) || secret.ends_with(char::is_whitespace) {
            Some(SecretProblem::SurroundingWhitespace)
        } else {
            None
        }
    }
}

/// Checks `secret` against [`SecretProblem`]'s rule: [`Error::Config`] naming `what` (never
/// the value) when it is empty or has surrounding whitespace.
pub fn check_secret(what: &str, secret: &SecretString) -> Result<(), Error> {
    match SecretProblem::of(secret.expose_secret()) {
        None => Ok(()),
        Some(problem) => Err(Error::Config(format!("{what} {problem}"))),
    }
}

/// Builds a header value from a secret and marks it sensitive.
///
/// Fails with [`Error::Config`] (naming `what`, never the value) if the secret contains
/// characters a header cannot carry.
pub fn sensitive_header(what: &'static str, value: &str) -> Result<HeaderValue, Error> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        Error::Config(format!(
            "{what} contains characters not allowed in an HTTP header"
        ))
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// Builds `Bearer <token>` as a sensitive header value.
pub fn bearer_header(what: &'static str, token: &SecretString) -> Result<HeaderValue, Error> {
    sensitive_header(what, &format!("Bearer {}", token.expose_secret()))
}

/// Shows a secret link as its scheme and host only (`https://aml.example.com/[redacted]`):
/// questionnaire and verification links let whoever holds them act as the person.
///
/// ```
/// # use compliance_core::secret::RedactedUrl;
/// let shown = format!("{:?}", RedactedUrl("https://aml.example.com/q/s3cr3t?t=1"));
/// assert_eq!(shown, "\"https://aml.example.com/[redacted]\"");
/// ```
pub struct RedactedUrl<'a>(pub &'a str);

impl std::fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("", self.0));
        let host = rest
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit('@')
            .next()
            .unwrap_or_default();
        if scheme.is_empty() || host.is_empty() {
            return f.write_str("\"[redacted]\"");
        }
        write!(f, "\"{scheme}://{host}/[redacted]\"")
    }
}

/// Serde helpers that write a [`SecretString`] in clear, for values the caller deliberately
/// persists (a session stored in its own database). Use with
/// `#[serde(with = "compliance_core::secret::exposed")]`.
pub mod exposed {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the secret in clear.
    pub fn serialize<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose_secret())
    }

    /// Reads a secret.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        String::deserialize(d).map(SecretString::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Actionable as _;

    #[test]
    fn secrets_do_not_print() {
        let s = SecretString::from("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        let h = bearer_header("token", &s).unwrap();
        assert!(h.is_sensitive());
        assert!(!format!("{h:?}").contains("hunter2"));
        let err = sensitive_header("api key", "bad\nvalue").unwrap_err();
        assert!(!err.to_string().contains("bad"));
    }

    #[test]
    fn links_show_their_host_only() {
        for (url, shown) in [
            (
                "https://a.example/q/s3cret",
                "\"https://a.example/[redacted]\"",
            ),
            (
                "https://u:s3cret@a.example",
                "\"https://a.example/[redacted]\"",
            ),
            (
                "https://a.example?t=s3cret",
                "\"https://a.example/[redacted]\"",
            ),
            ("s3cret", "\"[redacted]\""),
        ] {
            assert_eq!(format!("{:?}", RedactedUrl(url)), shown);
        }
    }

    #[test]
    fn a_secret_is_used_exactly_as_given() {
        assert_eq!(SecretProblem::of("k3y"), None);
        assert_eq!(SecretProblem::of("a b"), None);
        assert_eq!(SecretProblem::of(""), Some(SecretProblem::Empty));
        for bad in ["k3y\n", "k3y\r\n", " k3y", "\tk3y", "k3y "] {
            assert_eq!(
                SecretProblem::of(bad),
                Some(SecretProblem::SurroundingWhitespace),
                "{bad:?}"
            );
        }
        let err = check_secret("the webhook secret", &SecretString::from("s3cret\n")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("the webhook secret") && text.contains("whitespace"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(err.next_step(), crate::NextStep::FixConfiguration);
    }
}
