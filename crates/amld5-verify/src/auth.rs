//! Who a call is made as: the partner's credentials ([`PartnerAuth`]), a user's session or
//! identifier ([`UserContext`]), and the token rules ([`TokenPolicy`], [`Er801Reading`]).
//!
//! These are the settings a caller gives. Authentication itself runs in three small parts:
//! the identity resolver renews tokens through a cache (`identity/resolver.rs`, beside the
//! `Identity` it resolves for one attempt), the signer puts them on one attempt
//! (`sign.rs`), and the classifier reads the provider's answer once (`classify.rs`).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use compliance_core::http::TokenCache;
use compliance_core::secret::{ExposeSecret, SecretString, exposed};
use compliance_core::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How the partner authenticates: exactly one method, so the provider's ER803 ("multiple
/// authorization methods used") cannot happen.
///
/// `Debug` never shows the password or the key (`[redacted]`, the workspace's one spelling).
#[derive(Clone)]
#[non_exhaustive]
pub enum PartnerAuth {
    /// Username and password, exchanged for a token (`POST /api/v1/authenticate`) that the
    /// client refreshes on its own. The usual method for a partner's server.
    Credentials {
        /// The partner username.
        username: String,
        /// The partner password.
        password: SecretString,
    },
    /// An API key sent as `X-Api-Key` (what the provider's own client SDK uses).
    ApiKey(SecretString),
}

impl fmt::Debug for PartnerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credentials { username, .. } => f
                .debug_struct("Credentials")
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Self::ApiKey(_) => f.debug_tuple("ApiKey").field(&"[redacted]").finish(),
        }
    }
}

impl PartnerAuth {
    /// Username and password.
    pub fn credentials(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        PartnerAuth::Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// An API key.
    pub fn api_key(key: impl Into<SecretString>) -> Self {
        PartnerAuth::ApiKey(key.into())
    }
}

/// Token lifetimes and how early to refresh.
///
/// BTC Direct's tokens live one hour. When a token is a JWT its `exp` claim is used instead
/// of [`lifetime`](Self::lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenPolicy {
    /// Lifetime assumed for a token that is not a JWT. Default 1 hour.
    pub lifetime: Duration,
    /// Refresh this long before expiry. Default 60 s.
    pub refresh_before_expiry: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(3600),
            refresh_before_expiry: Duration::from_secs(60),
        }
    }
}

impl TokenPolicy {
    pub(crate) fn expiry(&self, token: &SecretString) -> Timestamp {
        jwt_expiry(token.expose_secret()).unwrap_or_else(|| after(Timestamp::now(), self.lifetime))
    }

    pub(crate) fn is_due(&self, expires_at: Option<Timestamp>) -> bool {
        expires_at.is_some_and(|at| after(Timestamp::now(), self.refresh_before_expiry) >= at)
    }
}

/// What `ER801` ("Authorization token has expired") means on a call made with a user
/// session. The documentation lists ER801 among the partner's codes, but the user's token
/// travels in a header named `User-Authorization`, and the docs do not say which token the
/// code is about there *(unconfirmed)*. On calls without a user session ER801 is always the
/// partner's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Er801Reading {
    /// The partner token expired (the documented reading). Default. With API-key partner
    /// authentication nothing can be refreshed and the call fails with
    /// [`Error::PartnerAuth`].
    #[default]
    PartnerToken,
    /// The user token expired: the session is refreshed.
    UserToken,
    /// Either: both are refreshed (each once) before the one replay.
    Either,
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    t.saturating_add(d).unwrap_or(Timestamp::MAX)
}

/// The `exp` claim of a JWT, without verifying it (we only schedule a refresh with it).
pub(crate) fn jwt_expiry(token: &str) -> Option<Timestamp> {
    const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = B64.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64))?;
    Timestamp::from_second(secs).ok()
}

/// A logged-in user: what `POST /api/v1/user/login` returns, kept up to date by the client.
///
/// Store it (it serialises with the tokens in clear, on purpose: it is a credential you keep
/// in your own storage) and restore it later. `Debug` shows only the identifier.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserSession {
    /// The user token, sent as `User-Authorization: Bearer …`.
    #[serde(with = "exposed")]
    pub token: SecretString,
    /// The refresh token.
    #[serde(with = "exposed")]
    pub refresh_token: SecretString,
    /// The user's identifier at BTC Direct.
    pub identifier: String,
    /// When the token expires (the JWT's `exp`, or login time plus the token lifetime);
    /// `None` for a restored session that did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl UserSession {
    /// A session from stored values; the expiry is read from the token if it is a JWT.
    pub fn new(
        token: impl Into<SecretString>,
        refresh_token: impl Into<SecretString>,
        identifier: impl Into<String>,
    ) -> Self {
        let token = token.into();
        Self {
            expires_at: jwt_expiry(token.expose_secret()),
            token,
            refresh_token: refresh_token.into(),
            identifier: identifier.into(),
        }
    }
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSession")
            .field("token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("identifier", &self.identifier)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Who a user call is for: a logged-in [`UserSession`] or a linked `User-Identifier`.
///
/// Cheap to clone; clones share the session, so a refresh made during one call is seen by
/// every clone. Read the current session with [`session`](Self::session) or be told with
/// [`on_refresh`](Self::on_refresh), and store it.
#[derive(Clone)]
pub struct UserContext {
    pub(crate) inner: UserInner,
}

#[derive(Clone)]
pub(crate) enum UserInner {
    Identifier(String),
    Session(TokenCache<UserSession, Error>),
}

impl UserContext {
    /// A user linked to the partner through `POST /api/v1/user/register-identifier`, sent as
    /// `User-Identifier`.
    pub fn identifier(identifier: impl Into<String>) -> Self {
        Self {
            inner: UserInner::Identifier(identifier.into()),
        }
    }

    /// A logged-in user, sent as `User-Authorization: Bearer …`, refreshed when due.
    pub fn session(session: UserSession) -> Self {
        Self {
            inner: UserInner::Session(TokenCache::with_value(session).provider(crate::PROVIDER)),
        }
    }

    /// Calls `hook` with the new session after every refresh (to store it), in refresh
    /// order, even when the call that caused the refresh was cancelled meanwhile. Applies to
    /// every clone. Does nothing for an identifier.
    pub fn on_refresh(self, hook: impl Fn(&UserSession) + Send + Sync + 'static) -> Self {
        if let UserInner::Session(cache) = &self.inner {
            cache.on_renewed(hook);
        }
        self
    }

    /// The current session (refreshed tokens included), or `None` for an identifier.
    pub fn session_snapshot(&self) -> Option<UserSession> {
        match &self.inner {
            UserInner::Session(cache) => cache.get(),
            UserInner::Identifier(_) => None,
        }
    }

    /// The user's identifier at BTC Direct.
    pub fn user_identifier(&self) -> String {
        match &self.inner {
            UserInner::Identifier(id) => id.clone(),
            UserInner::Session(cache) => cache.get().map(|s| s.identifier).unwrap_or_default(),
        }
    }
}

impl fmt::Debug for UserContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            UserInner::Identifier(id) => {
                f.debug_tuple("UserContext::Identifier").field(id).finish()
            }
            UserInner::Session(cache) => f
                .debug_tuple("UserContext::Session")
                .field(&cache.get())
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"RS256"}"#),
            b64.encode(claims)
        )
    }

    #[test]
    fn jwt_expiry_is_read_when_present() {
        assert_eq!(
            jwt_expiry(&jwt(r#"{"exp":1700000000}"#)).map(|t| t.as_second()),
            Some(1_700_000_000)
        );
        assert_eq!(jwt_expiry(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.b.c.d"), None);
        assert_eq!(jwt_expiry("a.!!!.c"), None);
    }

    #[test]
    fn opaque_tokens_get_the_configured_lifetime() {
        let policy = TokenPolicy::default();
        let at = policy.expiry(&SecretString::from("opaque"));
        let secs = (at.as_second() - Timestamp::now().as_second()) as u64;
        assert!((3590..=3600).contains(&secs), "{secs}");
        assert!(!policy.is_due(Some(at)));
        assert!(policy.is_due(Some(after(Timestamp::now(), Duration::from_secs(30)))));
        assert!(!policy.is_due(None));
    }

    #[test]
    fn sessions_round_trip_and_never_print_tokens() {
        let session = UserSession::new("user-tok-123", "user-ref-456", "id-1");
        let debug = format!("{session:?} {:?}", UserContext::session(session.clone()));
        assert!(
            !debug.contains("user-tok-123") && !debug.contains("user-ref-456"),
            "{debug}"
        );
        assert!(debug.contains("id-1"));
        let json = serde_json::to_string(&session).unwrap();
        assert_eq!(
            json,
            r#"{"token":"user-tok-123","refreshToken":"user-ref-456","identifier":"id-1"}"#
        );
        let back: UserSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back.token.expose_secret(), "user-tok-123");
        assert_eq!(back.identifier, "id-1");

        let creds = PartnerAuth::credentials("partner", "pw-secret");
        let key = PartnerAuth::api_key("key-secret");
        let debug = format!("{creds:?} {key:?}");
        assert!(
            !debug.contains("pw-secret") && !debug.contains("key-secret"),
            "{debug}"
        );
        assert!(debug.contains("partner"));
    }
}
