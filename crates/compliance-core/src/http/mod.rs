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
//! - an [`Auth`] hook per request that sees the exact body bytes, adds headers, and may ask
//!   for one replay after refreshing credentials.
//!
//! Provider crates serialise the body once, hand the bytes to a [`Request`], and decode the
//! [`Response`] bytes themselves.

mod auth;
mod request;
mod response;
mod retry;
mod transport;

pub use auth::{Auth, AuthContext, AuthVerdict};
pub use request::{Request, encode_path_segment};
pub use response::Response;
pub use retry::{RetryPolicy, Sleeper, TokioSleeper, parse_retry_after};
pub use transport::{Transport, TransportBuilder, TransportConfig};

pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
/// The HTTP client type a pre-built client is passed as (see [`TransportBuilder::http_client`]).
pub use reqwest::Client as HttpClient;
