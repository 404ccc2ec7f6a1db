use std::fmt;

use async_trait::async_trait;
use http::{HeaderMap, Method};

use super::Response;
use crate::error::Error;

/// What one attempt looks like to [`Auth::sign`].
#[non_exhaustive]
pub struct AuthContext<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path (and query) relative to the base URL, as sent.
    pub path: &'a str,
    /// Exactly the bytes that will be sent as the body.
    pub body: &'a [u8],
    /// The request headers; the signer adds its own.
    pub headers: &'a mut HeaderMap,
}

impl fmt::Debug for AuthContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may be a password exchange, the headers hold credentials: neither shown.
        f.debug_struct("AuthContext")
            .field("method", self.method)
            .field("path", &self.path.split('?').next().unwrap_or_default())
            .field("body_len", &self.body.len())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A set of an [`Auth`]'s credentials, named by slot: an `Auth` with a partner token and a
/// user token calls them [`CredentialSet::slot`]`(0)` and `slot(1)`.
///
/// The transport replays a request at most once per credential: when two credentials expire
/// together (one answer names the first, the replay's answer the second), both get their
/// replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CredentialSet(u8);

impl CredentialSet {
    /// No credential.
    pub const NONE: Self = Self(0);

    /// The credential in slot `index` (0 to 7).
    pub const fn slot(index: u8) -> Self {
        Self(1 << (index % 8))
    }

    /// Both sets together.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every credential of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What a response means for the credentials it was sent with, according to
/// [`Auth::classify`].
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthVerdict<E> {
    /// Hand the response to the caller.
    Accept,
    /// Fail the call with this error (the classifier read the provider's error once; the
    /// caller gets it as is).
    Reject(E),
    /// These credentials expired. The transport calls [`Auth::invalidate`], then sends the
    /// request once more (with whatever [`Auth::resolve`] returns next) unless it already
    /// replayed for these credentials; otherwise the call fails with `error`.
    Expired {
        /// Which credentials expired.
        credentials: CredentialSet,
        /// Whether the provider certainly refused them before acting on the request (its own
        /// expiry code): then even a request that is not repeatable is replayed. An uncertain
        /// expiry (an empty 401 a proxy could have sent) replays only repeatable requests.
        certain: bool,
        /// The error for the caller when there is no replay.
        error: E,
    },
}

/// A provider's authentication in three small parts, run by the transport inside the call's
/// deadline:
///
/// 1. [`resolve`](Auth::resolve) the identity (credentials) for the next attempt, from a
///    cache ([`TokenCache`](super::TokenCache)) that renews them when due;
/// 2. [`sign`](Auth::sign) one attempt: pure, over the exact bytes sent;
/// 3. [`classify`](Auth::classify) the answer: accept it, reject it with the crate's own
///    error, or say "these credentials expired" so the transport
///    [invalidates](Auth::invalidate) them and replays once.
///
/// Errors keep the provider crate's type ([`Auth::Error`]) all the way to the caller.
#[async_trait]
pub trait Auth: Send + Sync {
    /// The credentials one attempt is signed with.
    type Identity: Send + Sync;
    /// The provider crate's error.
    type Error: From<Error> + Send;

    /// The identity for the next attempt. May renew credentials (through a cache shared by
    /// concurrent calls); the transport's deadline bounds the wait.
    async fn resolve(&self) -> Result<Self::Identity, Self::Error>;

    /// Adds `identity` to one attempt. Pure: no I/O, no waiting.
    fn sign(
        &self,
        identity: &Self::Identity,
        request: &mut AuthContext<'_>,
    ) -> Result<(), Self::Error>;

    /// What the final answer to an attempt signed with `identity` means. The default
    /// accepts every response (the caller reads errors itself).
    fn classify(&self, identity: &Self::Identity, response: &Response) -> AuthVerdict<Self::Error> {
        let _ = (identity, response);
        AuthVerdict::Accept
    }

    /// Whether an answer whose status is worth another try (408, 429, 5xx; see
    /// [`is_retryable_status`](crate::error::is_retryable_status)) may be sent again, for a
    /// request that is repeatable. The default says yes; a provider whose error body can say
    /// "do not try again" (BTC Direct's `ER999`: contact support) says no, and the answer
    /// goes straight to [`classify`](Auth::classify), so the transport and the caller's
    /// error agree on whether a retry helps.
    fn retry_allowed(&self, response: &Response) -> bool {
        let _ = response;
        true
    }

    /// Marks `credentials` of `identity` stale so the next [`resolve`](Auth::resolve)
    /// renews them (unless another call already has: compare with what `identity` holds).
    fn invalidate(&self, identity: &Self::Identity, credentials: CredentialSet) {
        let _ = (identity, credentials);
    }
}

/// No authentication: what [`Transport::send`](super::Transport::send) uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAuth;

#[async_trait]
impl Auth for NoAuth {
    type Identity = ();
    type Error = Error;

    async fn resolve(&self) -> Result<(), Error> {
        Ok(())
    }

    fn sign(&self, _: &(), _: &mut AuthContext<'_>) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_sets() {
        let (a, b) = (CredentialSet::slot(0), CredentialSet::slot(1));
        let both = a.union(b);
        assert!(both.contains(a) && both.contains(b) && !a.contains(b));
        assert!(CredentialSet::NONE.is_empty() && !a.is_empty());
        assert!(a.contains(CredentialSet::NONE));
    }

    #[test]
    fn context_debug_shows_neither_body_nor_header_values() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", "key-S3cret".parse().unwrap());
        let ctx = AuthContext {
            method: &Method::POST,
            path: "/login?token=t-S3cret",
            body: br#"{"password":"pw-S3cret"}"#,
            headers: &mut headers,
        };
        let text = format!("{ctx:?}");
        assert!(!text.contains("S3cret"), "{text}");
        assert!(
            text.contains("x-api-key") && text.contains("/login"),
            "{text}"
        );
    }
}
