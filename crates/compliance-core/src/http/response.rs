use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::request::Request;
use super::retry::parse_retry_after;
use crate::error::{BodySnippet, Error};

/// A response read in full (within the size cap).
///
/// `Debug` shows the status, the header names and the body's length: bodies carry tokens and
/// personal data, headers cookies.
#[derive(Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    url: Option<ShownUrl>,
}

/// The URL a response answered, shared by every attempt of a call: the full URL sent, of
/// which only the part before the query is shown. Kept as sent and cut only when asked, so
/// an answer costs a reference count, not a copy (bench row `payment_info`).
#[derive(Debug, Clone)]
pub(crate) struct ShownUrl {
    url: Arc<str>,
    shown: usize,
}

impl ShownUrl {
    /// `url`, of which the first `shown` bytes are shown (a char boundary: the `?` of the
    /// query, or the end).
    pub(crate) fn new(url: Arc<str>, shown: usize) -> Self {
        let shown = if url.is_char_boundary(shown) {
            shown
        } else {
            url.len()
        };
        Self { url, shown }
    }

    /// The URL sent, query included.
    pub(crate) fn full(&self) -> &str {
        &self.url
    }

    /// The URL without its query.
    pub(crate) fn shown(&self) -> &str {
        self.url.get(..self.shown).unwrap_or(&self.url)
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// Builds a response (for tests and for auth hooks that synthesise one).
    pub fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
            url: None,
        }
    }

    /// The same response, marked as the answer to `url` (the transport marks every response
    /// with the URL it requested, without the query).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        let url: Arc<str> = Arc::from(url.into());
        let whole = url.len();
        self.url = Some(ShownUrl::new(url, whole));
        self
    }

    /// The same response, answering the URL the transport sent.
    pub(crate) fn answering(mut self, url: ShownUrl) -> Self {
        self.url = Some(url);
        self
    }

    /// The URL this response answered, without the query, when known.
    pub fn url(&self) -> Option<&str> {
        self.url.as_ref().map(ShownUrl::shown)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes, exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Takes the body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The `Retry-After` delay, if the response has one (seconds or HTTP-date).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.headers.get(header::RETRY_AFTER)?.to_str().ok()?;
        parse_retry_after(value, SystemTime::now())
    }

    /// Decodes the body as JSON; errors name the failing path and keep no value of the body
    /// (see [`crate::json::decode`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        crate::json::decode("response", &self.body)
    }

    /// The generic error for an unsuccessful response: [`Error::RateLimited`] for 429,
    /// [`Error::RouteNotFound`] for 404 (naming the URL requested), [`Error::Provider`]
    /// otherwise. Provider crates call this when the body is not one of the provider's known
    /// error shapes: a 404 that is not the provider's own error means nothing answers at that
    /// address, which is the base URL's fault, not the request's.
    pub fn to_error(&self) -> Error {
        let body = BodySnippet::new(&self.body);
        if self.status == StatusCode::NOT_FOUND {
            Error::RouteNotFound {
                url: self.url().unwrap_or("the requested path").to_owned(),
                body,
            }
        } else if self.status == StatusCode::TOO_MANY_REQUESTS {
            Error::RateLimited {
                retry_after: self.retry_after(),
                body,
            }
        } else {
            Error::Provider {
                status: self.status,
                body,
            }
        }
    }

    /// [`Error::RateLimited`] for a 429, whatever the body says; `None` otherwise.
    ///
    /// Every provider crate asks this first, before reading its own error shapes: a
    /// provider's "too many requests" is one error with one meaning (retry after
    /// `Retry-After`) in every crate.
    pub fn rate_limit_error(&self) -> Option<Error> {
        (self.status == StatusCode::TOO_MANY_REQUESTS).then(|| self.to_error())
    }

    /// `Ok(self)` for 2xx, otherwise [`Response::to_error`].
    pub fn error_for_status(self) -> Result<Self, Error> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.to_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_body_and_no_header_value() {
        let mut headers = HeaderMap::new();
        headers.insert(header::SET_COOKIE, "session=S3cret".parse().unwrap());
        let r = Response::new(
            StatusCode::OK,
            headers,
            Bytes::from_static(br#"{"token":"S3cret"}"#),
        );
        let text = format!("{r:?}");
        assert!(!text.contains("S3cret"), "{text}");
        assert!(
            text.contains("set-cookie") && text.contains("body_len: 18"),
            "{text}"
        );
    }
}

/// Where a call's attempts go: the URL sent (query included), of which the part shown in
/// errors and on responses, the query left out (queries can carry tokens), is a prefix.
#[derive(Debug, Clone)]
pub(super) struct Target(pub(super) ShownUrl);

impl Target {
    /// `request`'s URL under `base_url`.
    pub(super) fn new(base_url: &str, request: &Request) -> Self {
        let url = format!("{base_url}{}", request.path);
        let shown = base_url.len() + request.path_without_query().len();
        Self(ShownUrl::new(url.into(), shown))
    }

    /// The URL to send to.
    pub(super) fn url(&self) -> &str {
        self.0.full()
    }

    /// The URL without its query.
    pub(super) fn shown(&self) -> &str {
        self.0.shown()
    }
}
