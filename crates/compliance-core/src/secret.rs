//! Secrets: API keys, passwords and tokens that must never reach a log.
//!
//! [`SecretString`] (from `secrecy`) prints `[REDACTED]` in `Debug` and has no `Display`;
//! reading it takes an explicit [`ExposeSecret::expose_secret`]. Header values built from
//! secrets are marked sensitive so HTTP libraries redact them too.

pub use secrecy::{ExposeSecret, SecretBox, SecretString};

use http::HeaderValue;

use crate::error::Error;

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
}
