use async_trait::async_trait;
use http::{HeaderMap, Method};

use super::Response;
use crate::error::Error;

/// What an attempt looks like to an [`Auth`] hook.
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthContext<'a> {
    /// The method.
    pub method: &'a Method,
    /// The path (and query) relative to the base URL, as sent.
    pub path: &'a str,
    /// Exactly the bytes that will be sent as the body.
    pub body: &'a [u8],
    /// The request headers; the hook adds its own.
    pub headers: &'a mut HeaderMap,
}

/// What to do with a response, according to an [`Auth`] hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthVerdict {
    /// Hand the response to the caller.
    Accept,
    /// Credentials were refreshed: send the request again, once. (The provider rejected it
    /// before acting on it, so a replay is safe even for non-repeatable requests.)
    Replay,
}

/// A provider's authentication, plugged into the transport.
///
/// [`apply`](Auth::apply) runs before every attempt (so a replay uses refreshed
/// credentials) and sees the final body bytes, which is what request signing needs.
/// [`inspect`](Auth::inspect) runs on every final response and may ask for one replay.
#[async_trait]
pub trait Auth: Send + Sync {
    /// Adds authentication headers to an attempt.
    async fn apply(&self, request: &mut AuthContext<'_>) -> Result<(), Error>;

    /// Looks at a response to an attempt whose headers were `sent`. Return
    /// [`AuthVerdict::Replay`] after refreshing credentials to have the request sent once
    /// more. The default accepts every response.
    async fn inspect(&self, sent: &HeaderMap, response: &Response) -> Result<AuthVerdict, Error> {
        let _ = (sent, response);
        Ok(AuthVerdict::Accept)
    }
}
