//! The HTTP transport every provider client uses (feature `transport`).
//!
//! One [`Transport`] wraps one reusable `reqwest::Client` and adds what a compliance API
//! client needs on every call:
//!
//! - a base URL, a connect timeout, a per-attempt timeout and an overall deadline;
//! - retries with full-jitter exponential back-off, honouring `Retry-After` (seconds or
//!   HTTP-date, clamped), on transport errors, 408, 429 and 5xx, **only** for requests
//!   declared [repeatable](Request::repeatable);
//! - a response-body cap enforced while reading;
//! - a `User-Agent` naming the calling crate;
//! - one `tracing` span per call (method, path, status, attempt, latency; never bodies,
//!   headers or query strings);
//! - authentication in three parts ([`Auth`]): an identity resolved inside the call's
//!   deadline (through a [`TokenCache`] that renews once for every waiting call, and keeps
//!   renewing when the caller goes away), a pure signing step over the exact body bytes,
//!   and a classifier that says "credentials expired: invalidate and replay once";
//! - redirects never followed, even on a client built from the caller's
//!   [`HttpClientBuilder`], and plain `http://` refused except to the loopback.
//!
//! Provider crates serialise the body once, hand the bytes to a [`Request`], and decode the
//! [`Response`] bytes themselves.

mod attempt;
mod auth;
mod client_options;
mod request;
mod response;
mod retry;
mod token_cache;
mod transport;

pub use auth::{Auth, AuthContext, AuthVerdict, CredentialSet, NoAuth};
pub use client_options::ClientOptions;
pub use request::{Request, encode_path_segment};
pub use response::Response;
pub use retry::{RetryPolicy, parse_retry_after};
pub use token_cache::TokenCache;
pub use transport::{Transport, TransportBuilder, TransportConfig};

pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
/// What a custom HTTP client is passed as (see [`TransportBuilder::http_client`]): the
/// transport finishes it, so redirects stay off.
///
/// The one `reqwest` type in the public API, on purpose: it is how proxies, TLS roots and
/// pool settings are configured, and wrapping all of it would only hide reqwest's own
/// documentation. reqwest's errors never appear (see [`TransportError`](crate::error::TransportError)).
pub use reqwest::ClientBuilder as HttpClientBuilder;
