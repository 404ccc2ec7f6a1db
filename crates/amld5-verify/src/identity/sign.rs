//! The signing step: what one attempt is sent as. Pure: it puts an already resolved
//! [`Identity`] into the headers and never waits, renews or sends anything.
//!
//! Exactly one partner credential goes on every request (`Authorization: Bearer` for a
//! token, `X-Api-Key` for a key), so the provider's ER803 ("multiple authorization methods
//! used") cannot happen; a user call adds `User-Authorization: Bearer` (a session) or
//! `User-Identifier` (a linked identifier). Every value carrying a secret is marked
//! sensitive.

use compliance_core::http::{HeaderMap, HeaderName};
use compliance_core::secret::{ExposeSecret, bearer_header, sensitive_header};

use super::{Identity, PartnerCredential, UserCredential};
use crate::error::Error;

pub(crate) const AUTHORIZATION: HeaderName = HeaderName::from_static("authorization");
pub(crate) const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
pub(crate) const USER_AUTHORIZATION: HeaderName = HeaderName::from_static("user-authorization");
pub(crate) const USER_IDENTIFIER: HeaderName = HeaderName::from_static("user-identifier");

/// Puts `identity` into `headers`.
pub(crate) fn sign(identity: &Identity, headers: &mut HeaderMap) -> Result<(), Error> {
    match &identity.partner {
        PartnerCredential::ApiKey(key) => {
            headers.remove(AUTHORIZATION);
            headers.insert(X_API_KEY, sensitive_header("API key", key.expose_secret())?);
        }
        PartnerCredential::Token(token) => {
            headers.remove(X_API_KEY);
            headers.insert(AUTHORIZATION, bearer_header("partner token", token)?);
        }
    }
    match &identity.user {
        None => {}
        Some(UserCredential::Identifier(id)) => {
            let value = sensitive_header("user identifier", id).map_err(|_| {
                compliance_core::Error::invalid_request(
                    "user identifier",
                    "contains characters not allowed in an HTTP header",
                )
            })?;
            headers.insert(USER_IDENTIFIER, value);
        }
        Some(UserCredential::Token(token)) => {
            headers.insert(USER_AUTHORIZATION, bearer_header("user token", token)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use compliance_core::secret::SecretString;

    #[test]
    fn exactly_one_partner_credential_and_sensitive_values() {
        let mut headers = HeaderMap::new();
        headers.insert(X_API_KEY, "stale".parse().unwrap());
        let identity = Identity {
            partner: PartnerCredential::Token(SecretString::from("pt-1")),
            user: Some(UserCredential::Token(SecretString::from("ut-1"))),
        };
        sign(&identity, &mut headers).unwrap();
        assert!(headers.get(X_API_KEY).is_none());
        assert_eq!(headers[AUTHORIZATION], "Bearer pt-1");
        assert_eq!(headers[USER_AUTHORIZATION], "Bearer ut-1");
        assert!(
            headers[AUTHORIZATION].is_sensitive() && headers[USER_AUTHORIZATION].is_sensitive()
        );

        let identity = Identity {
            partner: PartnerCredential::ApiKey(SecretString::from("key-1")),
            user: Some(UserCredential::Identifier("u\n1".into())),
        };
        let err = sign(&identity, &mut headers).unwrap_err();
        assert!(!err.to_string().contains("u\n1"), "{err}");
        assert!(headers.get(AUTHORIZATION).is_none());
        assert_eq!(headers[X_API_KEY], "key-1");
    }
}
