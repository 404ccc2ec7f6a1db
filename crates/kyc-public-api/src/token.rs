//! Verification tokens: what the browser SDK (or the person, through `link`) starts a
//! verification with.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use compliance_core::Error as CoreError;
use compliance_core::secret::{ExposeSecret, SecretString, exposed};
use compliance_core::time::Timestamp;
use compliance_core::webhook::constant_time_eq;
use serde::{Deserialize, Serialize};

/// The largest `ttl` the provider accepts, in seconds (about 100 years).
pub const MAX_TOKEN_TTL_SECS: u64 = 3_153_600_000;

/// Body of *verification token*. Every field is optional.
///
/// ```
/// use kyc_public_api::TokenRequest;
/// let req = TokenRequest::new().locale("en-US").ttl_secs(3600).flow_name("basic-kyc");
/// assert!(req.validate().is_ok());
/// assert!(TokenRequest::new().ttl_secs(3_153_600_001).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TokenRequest {
    /// Language of the verification UI, e.g. `en-US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Lifetime in seconds, 1 to [`MAX_TOKEN_TTL_SECS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Flow to apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_name: Option<String>,
}

impl TokenRequest {
    /// A request with the provider's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the locale.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// Sets the lifetime in seconds.
    pub fn ttl_secs(mut self, secs: u64) -> Self {
        self.ttl = Some(secs);
        self
    }

    /// Sets the flow.
    pub fn flow_name(mut self, flow_name: impl Into<String>) -> Self {
        self.flow_name = Some(flow_name.into());
        self
    }

    /// Checks the request locally; the client calls this before sending.
    pub fn validate(&self) -> Result<(), CoreError> {
        if let Some(ttl) = self.ttl
            && !(1..=MAX_TOKEN_TTL_SECS).contains(&ttl)
        {
            return Err(CoreError::invalid_request(
                "ttl",
                format!("must be between 1 and {MAX_TOKEN_TTL_SECS} seconds, got {ttl}"),
            ));
        }
        if let Some(locale) = &self.locale {
            let ok = !locale.is_empty()
                && locale.len() <= 35
                && locale
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(CoreError::invalid_request(
                    "locale",
                    "must be a locale such as `en-US`",
                ));
            }
        }
        if self.flow_name.as_ref().is_some_and(|f| f.trim().is_empty()) {
            return Err(CoreError::invalid_request("flowName", "must not be empty"));
        }
        Ok(())
    }
}

/// A verification token. `access_token` and `link` let anyone verify as the person: both
/// are secrets, redacted in `Debug`. (Serialising writes them in clear, for a server that
/// hands them to the browser.)
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerificationToken {
    /// The transaction this token starts.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub transaction_id: Option<String>,
    /// The token for the browser SDK (a JWT whose `exp` is its expiry).
    #[serde(with = "exposed")]
    pub access_token: SecretString,
    /// A link the person can open instead.
    #[serde(default, with = "optional_secret")]
    pub link: Option<SecretString>,
    /// The applicant.
    #[serde(default, deserialize_with = "compliance_core::de::optional_id")]
    pub applicant_id: Option<String>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub ttl: Option<u64>,
}

impl VerificationToken {
    /// The token's expiry, read from the JWT's `exp` claim (the signature is not checked:
    /// this is for display and scheduling, not for trust).
    pub fn expires_at(&self) -> Option<Timestamp> {
        #[derive(Deserialize)]
        struct Claims {
            exp: i64,
        }
        let payload = self.access_token.expose_secret().split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: Claims = serde_json::from_slice(&bytes).ok()?;
        Timestamp::from_second(claims.exp).ok()
    }
}

/// Compares the secrets in constant time.
impl PartialEq for VerificationToken {
    fn eq(&self, other: &Self) -> bool {
        let secret_eq = |a: &SecretString, b: &SecretString| {
            constant_time_eq(a.expose_secret().as_bytes(), b.expose_secret().as_bytes())
        };
        let link_eq = match (&self.link, &other.link) {
            (Some(a), Some(b)) => secret_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        self.transaction_id == other.transaction_id
            && secret_eq(&self.access_token, &other.access_token)
            && link_eq
            && self.applicant_id == other.applicant_id
            && self.ttl == other.ttl
    }
}

impl fmt::Debug for VerificationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationToken")
            .field("transaction_id", &self.transaction_id)
            .field("access_token", &"[redacted]")
            .field("link", &self.link.as_ref().map(|_| "[redacted]"))
            .field("applicant_id", &self.applicant_id)
            .field("ttl", &self.ttl)
            .finish()
    }
}

mod optional_secret {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        v: &Option<SecretString>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(secret) => s.serialize_str(secret.expose_secret()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SecretString>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_bounds_are_checked_locally() {
        assert!(
            TokenRequest::new()
                .ttl_secs(MAX_TOKEN_TTL_SECS)
                .validate()
                .is_ok()
        );
        let err = TokenRequest::new()
            .ttl_secs(MAX_TOKEN_TTL_SECS + 1)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("ttl"), "{err}");
        assert!(TokenRequest::new().ttl_secs(0).validate().is_err());
        assert!(TokenRequest::new().locale("en US").validate().is_err());
        assert!(TokenRequest::new().locale("en-US").validate().is_ok());
    }

    #[test]
    fn token_is_redacted_and_expiry_is_read_from_the_jwt() {
        // {"alg":"none"} . {"exp":1767225600} . (no signature)
        let jwt = "eyJhbGciOiJub25lIn0.eyJleHAiOjE3NjcyMjU2MDB9.";
        let t: VerificationToken = serde_json::from_str(&format!(
            r#"{{"transactionId":"t","accessToken":"{jwt}","link":"https://x/verify?t=s3cr3t","ttl":60}}"#
        ))
        .unwrap();
        let debug = format!("{t:?}");
        assert!(
            !debug.contains("eyJ") && !debug.contains("s3cr3t"),
            "{debug}"
        );
        assert_eq!(t.expires_at().unwrap().as_second(), 1_767_225_600);
        let opaque: VerificationToken = serde_json::from_str(r#"{"accessToken":"text"}"#).unwrap();
        assert_eq!(opaque.expires_at(), None);
    }
}
