use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::error::Error;

/// Characters left as they are in a path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Characters left as they are in a query component.
const QUERY: &AsciiSet = SEGMENT;

/// Percent-encodes one path segment (an id that may contain `/`, `?`, `#`, spaces or any
/// Unicode), so it reaches the provider as exactly one segment.
///
/// Empty ids and the dot segments `.` and `..` are refused: URL normalisation would turn them
/// into a different path.
///
/// ```
/// # use compliance_core::http::encode_path_segment;
/// assert_eq!(encode_path_segment("applicantId", "a/b c?ü").unwrap(), "a%2Fb%20c%3F%C3%BC");
/// assert!(encode_path_segment("applicantId", "..").is_err());
/// ```
pub fn encode_path_segment<'a>(field: &'static str, id: &'a str) -> Result<Cow<'a, str>, Error> {
    if id.is_empty() {
        return Err(Error::invalid_request(field, "must not be empty"));
    }
    if id == "." || id == ".." {
        return Err(Error::invalid_request(
            field,
            "`.` and `..` cannot be sent as a path segment",
        ));
    }
    Ok(utf8_percent_encode(id, SEGMENT).into())
}

/// The operation name of a request that was given none.
const UNNAMED_OPERATION: &str = "unnamed";

/// One request, ready to send: method, path, headers and the exact body bytes.
///
/// The body is serialised once (see [`Request::json`]); retries and auth replays send the
/// same bytes. Authentication is added per attempt by
/// [`Transport::send_with`](super::Transport::send_with).
#[derive(Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) repeatable: bool,
    pub(crate) operation: &'static str,
}

impl Request {
    /// A request for `path` (relative to the transport's base URL, starting with `/`, with
    /// its segments already encoded by [`encode_path_segment`]).
    ///
    /// `GET`, `HEAD` and `OPTIONS` are repeatable by default; everything else is not until
    /// declared so with [`Request::repeatable`].
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let repeatable = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        Self {
            method,
            path: path.into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            repeatable,
            operation: UNNAMED_OPERATION,
        }
    }

    /// A `GET` request.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A `POST` request.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// Appends a query parameter (percent-encoded).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        let sep = if self.path.contains('?') { '&' } else { '?' };
        self.path.push(sep);
        self.path.extend(utf8_percent_encode(name, QUERY));
        self.path.push('=');
        self.path.extend(utf8_percent_encode(value, QUERY));
        self
    }

    /// Serialises `body` as JSON, once, and sets `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("request body cannot be serialised: {e}")))?;
        Ok(self.body(bytes, HeaderValue::from_static("application/json")))
    }

    /// Sets the body bytes and their content type.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        self.body = body.into();
        self.headers.insert(header::CONTENT_TYPE, content_type);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Declares whether sending this request twice is harmless (reads, idempotent writes).
    /// Only repeatable requests are retried.
    pub fn repeatable(mut self, repeatable: bool) -> Self {
        self.repeatable = repeatable;
        self
    }

    /// Names the endpoint this request calls (`payment_info`, `get_applicant`), for the
    /// `compliance.operation` label of the metrics and span field: one fixed name per
    /// endpoint, never an id or anything a user typed, so label sets stay bounded.
    /// Default `unnamed`.
    pub fn operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// The endpoint's name given with [`Request::operation`].
    pub fn operation_name(&self) -> &'static str {
        self.operation
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path and query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path without its query (what logs show).
    pub fn path_without_query(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// The exact body bytes.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }

    /// The headers set so far (auth headers are added per attempt, not here).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Whether the request may be retried.
    pub fn is_repeatable(&self) -> bool {
        self.repeatable
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies and header values may hold personal data or secrets: never printed.
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path_without_query())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .field("repeatable", &self.repeatable)
            .field("operation", &self.operation)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_defaults() {
        let r = Request::get("/x")
            .query("type", "WALLET")
            .query("q", "a b&c");
        assert_eq!(r.path(), "/x?type=WALLET&q=a%20b%26c");
        assert_eq!(r.path_without_query(), "/x");
        assert!(r.is_repeatable());
        assert!(!Request::post("/x").is_repeatable());
    }

    #[test]
    fn segments_round_trip_special_characters() {
        for id in ["a/b", "what?", "with space", "ünï/cødé", "100%", "#frag"] {
            let enc = encode_path_segment("id", id).unwrap();
            assert!(!enc.contains(['/', '?', ' ', '#']), "{enc}");
            let dec = percent_encoding::percent_decode_str(&enc)
                .decode_utf8()
                .unwrap();
            assert_eq!(dec, id);
        }
        assert!(encode_path_segment("id", "").is_err());
        assert!(encode_path_segment("id", ".").is_err());
        assert_eq!(encode_path_segment("id", "...").unwrap(), "...");
    }
}
