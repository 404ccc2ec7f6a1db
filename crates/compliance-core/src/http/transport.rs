use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use tokio::time::Instant;
use tracing::Instrument;
use tracing::field::Empty;

use super::auth::{Auth, NoAuth};
use super::response::Target;
use super::retry::{Decision, RetryPolicy, RetryStrategy, Signal};
use super::{Request, Response};
use crate::error::{Error, TimeoutKind};
use crate::metrics::{CallMetrics, ErrorType};
use crate::rt::{Runtime, TokioRuntime};

/// How far "never" is when a configured duration would overflow a deadline (about 30 years,
/// Tokio's own far future).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `start + d`, saturating at [`FAR_FUTURE`] instead of panicking on a huge configuration.
fn saturating_after(start: Instant, d: Duration) -> Instant {
    start
        .checked_add(d.min(FAR_FUTURE))
        .unwrap_or_else(|| start + FAR_FUTURE)
}

/// Time limits, retries and the body cap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// Limit for establishing a connection. Default 10 s. (Not applied to a pre-built
    /// `reqwest::Client`, whose own setting rules.)
    pub connect_timeout: Duration,
    /// Limit for one attempt: sending the request and reading the whole response. Default 30 s.
    pub attempt_timeout: Duration,
    /// Limit for the whole call, every attempt and back-off sleep included. Default 90 s.
    pub deadline: Duration,
    /// Retry policy. Default 3 attempts.
    pub retry: RetryPolicy,
    /// Largest response body read; a larger one fails with [`Error::BodyTooLarge`] as soon as
    /// the cap is crossed. Default 4 MiB.
    pub max_response_bytes: usize,
    /// Whether a plain `http://` base URL is accepted for a host that is not the loopback
    /// (`localhost`, `127.0.0.0/8`, `::1`). Default `false`: credentials and personal data
    /// would cross the network in clear.
    pub allow_plain_http: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(90),
            retry: RetryPolicy::default(),
            max_response_bytes: 4 * 1024 * 1024,
            allow_plain_http: false,
        }
    }
}

impl TransportConfig {
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Sets the per-attempt timeout.
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = d;
        self
    }

    /// Sets the overall deadline.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the response-body cap.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Accepts a plain `http://` base URL for a host other than the loopback (a test server
    /// on another machine of a private network). Never do this for a provider's API.
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }
}

/// Builds a [`Transport`].
pub struct TransportBuilder {
    base_url: String,
    config: TransportConfig,
    client: Option<reqwest::ClientBuilder>,
    user_agent: Option<String>,
    runtime: Arc<dyn Runtime>,
    provider: &'static str,
}

impl TransportBuilder {
    /// Names the provider this transport talks to (`heleket`, `elkyc`, `btcdirect`), for
    /// the `compliance.provider` label of the metrics and span field. Default `unknown`.
    pub fn provider(mut self, provider: &'static str) -> Self {
        self.provider = provider;
        self
    }

    /// Sets time limits, retries and the body cap.
    pub fn config(mut self, config: TransportConfig) -> Self {
        self.config = config;
        self
    }

    /// Names the calling crate in the `User-Agent`, e.g. `heleket-aml/0.1.0`.
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Builds the HTTP client from `builder` (proxies, custom TLS roots, pool settings)
    /// instead of a default one.
    ///
    /// A builder, not a built client, so the transport can set what must hold for every
    /// provider call: redirects are never followed (a redirect would carry API keys, tokens,
    /// signatures, and on 307/308 a password body, to another host), and the connect
    /// timeout comes from [`TransportConfig::connect_timeout`].
    pub fn http_client(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.client = Some(builder);
        self
    }

    /// The runtime the back-off between attempts sleeps on. Default [`TokioRuntime`]; tests
    /// pass one that records the sleeps without waiting. The deadline and the per-attempt
    /// timeout stay Tokio's timers, whatever this runtime does.
    pub fn runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = runtime;
        self
    }

    /// Validates the base URL and builds the client.
    pub fn build(self) -> Result<Transport, Error> {
        let base_url = validate_base_url(&self.base_url, self.config.allow_plain_http)?;
        let client = self
            .client
            .unwrap_or_default()
            .connect_timeout(self.config.connect_timeout)
            // API calls carry credentials in custom headers: never follow a redirect that
            // could send them, or a signed body, somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let product = match &self.user_agent {
            Some(p) => format!("{p} compliance-core/{}", env!("CARGO_PKG_VERSION")),
            None => format!("compliance-core/{}", env!("CARGO_PKG_VERSION")),
        };
        let user_agent = HeaderValue::from_str(&product)
            .map_err(|_| Error::Config(format!("invalid User-Agent `{product}`")))?;
        let host = reqwest::Url::parse(&base_url)
            .ok()
            .and_then(|url| url.host_str().map(Arc::from))
            .unwrap_or_else(|| Arc::from(""));
        Ok(Transport {
            inner: Arc::new(Inner {
                client,
                host,
                provider: self.provider,
                base_url,
                config: self.config,
                user_agent,
                runtime: self.runtime,
            }),
        })
    }
}

fn validate_base_url(raw: &str, allow_plain_http: bool) -> Result<String, Error> {
    // `localhost:8080` parses as the scheme `localhost`: look for `://` first.
    if !raw.contains("://") {
        return Err(Error::Config(format!(
            "base URL `{}` has no scheme: add http:// or https:// in front of it",
            without_userinfo(raw)
        )));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| {
        // The URL may hold a password: never echo it.
        Error::Config(format!("the base URL is not a valid URL: {e}"))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry a user name or password: credentials go in the \
             client's builder"
                .into(),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "base URL `{raw}` must be http or https"
        )));
    }
    if url.scheme() == "http" && !allow_plain_http && !is_loopback(&url) {
        return Err(Error::Config(format!(
            "base URL `{raw}` is plain http to a host that is not the loopback: use https \
             (or `TransportConfig::allow_plain_http(true)` for a test server)"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL `{raw}` must not have a query or fragment"
        )));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(Error::Config(format!("base URL `{raw}` has no host")));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `raw` with anything before an `@` (a user name and password) replaced by `…`.
fn without_userinfo(raw: &str) -> String {
    match raw.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => raw.to_owned(),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let host = host.to_ascii_lowercase();
            host == "localhost" || host.ends_with(".localhost")
        }
    }
}

pub(super) struct Inner {
    pub(super) client: reqwest::Client,
    pub(super) base_url: String,
    /// The base URL's host: OpenTelemetry's `server.address`.
    pub(super) host: Arc<str>,
    /// The provider's name: the `compliance.provider` label.
    pub(super) provider: &'static str,
    pub(super) config: TransportConfig,
    pub(super) user_agent: HeaderValue,
    pub(super) runtime: Arc<dyn Runtime>,
}

/// The HTTP transport. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Transport {
    pub(super) inner: Arc<Inner>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.inner.base_url)
            .field("config", &self.inner.config)
            .field("user_agent", &self.inner.user_agent)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Starts building a transport for `base_url` (`https://api.example.com`, optionally
    /// with a path prefix).
    pub fn builder(base_url: impl Into<String>) -> TransportBuilder {
        TransportBuilder {
            base_url: base_url.into(),
            config: TransportConfig::default(),
            client: None,
            user_agent: None,
            runtime: Arc::new(TokioRuntime),
            provider: "unknown",
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The configuration.
    pub fn config(&self) -> &TransportConfig {
        &self.inner.config
    }

    /// The runtime it sleeps on: the one to give the client's
    /// [`TokenCache`](super::TokenCache)s, so one client runs on one runtime.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.inner.runtime
    }

    /// Sends `request` without authentication, retrying where allowed, and returns the
    /// final response whatever its status: provider crates decode their own error bodies
    /// (use [`Response::to_error`] for the rest).
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        self.send_with(request, &NoAuth).await
    }

    /// Sends `request` authenticated by `auth`: for every attempt the identity is
    /// [resolved](Auth::resolve) and the attempt [signed](Auth::sign); the final answer is
    /// [classified](Auth::classify), and credentials it says expired are invalidated and the
    /// request replayed once per credential.
    ///
    /// Everything, identity resolution (and the renewals it may wait for) included, runs
    /// inside [`TransportConfig::deadline`]: when it runs out the call fails with
    /// [`TimeoutKind::Deadline`]. A renewal the call was waiting for goes on in the
    /// background (see [`TokenCache`](super::TokenCache)).
    pub async fn send_with<A: Auth>(
        &self,
        request: Request,
        auth: &A,
    ) -> Result<Response, A::Error> {
        // Today's fields, and OpenTelemetry's names for them (a `tracing-opentelemetry`
        // user gets a conventional client span without mapping).
        let span = tracing::debug_span!(
            "compliance_http",
            method = %request.method,
            path = %request.path_without_query(),
            status = Empty,
            attempt = Empty,
            latency_ms = Empty,
            otel.name = request.operation,
            otel.kind = "client",
            compliance.provider = self.inner.provider,
            compliance.operation = request.operation,
            http.request.method = %request.method,
            server.address = %self.inner.host,
            http.response.status_code = Empty,
            http.request.resend_count = Empty,
            error.type = Empty,
        );
        let deadline = saturating_after(Instant::now(), self.inner.config.deadline);
        // Every wait inside is bounded by `deadline` where it happens (resolving the
        // identity, each attempt, each back-off), so no timer wraps the whole call: the
        // common call arms one timer, not two.
        self.attempts(&request, auth, deadline)
            .instrument(span)
            .await
    }

    /// The call: attempts until the [`RetryStrategy`] stops (the `try_op` of smithy's
    /// orchestrator). Each [attempt](Self::attempt) runs its phases; the strategy decides
    /// whether its outcome is the call's, or after which back-off another one follows.
    async fn attempts<A: Auth>(
        &self,
        request: &Request,
        auth: &A,
        deadline: Instant,
    ) -> Result<Response, A::Error> {
        let span = tracing::Span::current();
        let target = Target::new(&self.inner.base_url, request);
        let mut strategy =
            RetryStrategy::new(&self.inner.config.retry, request.repeatable, deadline);
        let mut call = CallMetrics::start(
            self.inner.provider,
            request.operation,
            &request.method,
            &self.inner.host,
        );
        let mut number: u32 = 0;
        loop {
            number += 1;
            span.record("attempt", number);
            if number > 1 {
                span.record("http.request.resend_count", number - 1);
            }
            let mut outcome = match self
                .attempt(request, &target, auth, deadline, &mut call)
                .await
            {
                Ok(outcome) => outcome,
                Err(error) => {
                    // The identity could not be resolved or the request signed, or the
                    // deadline ran out first.
                    let kind = if Instant::now() >= deadline {
                        ErrorType::Deadline
                    } else {
                        ErrorType::Auth
                    };
                    end_call(&span, call, Some(kind));
                    return Err(error);
                }
            };
            let decision = match strategy.decide(outcome.signal(), Instant::now()) {
                // No retry for an answer worth one: it is the final answer, which the auth
                // classifies (and may find signed with expired credentials).
                Decision::Stop(_) if outcome.is_transient() => {
                    outcome = outcome.into_final(auth);
                    strategy.decide(outcome.signal(), Instant::now())
                }
                decision => decision,
            };
            match decision {
                Decision::Retry { delay, reason } => {
                    tracing::debug!(
                        attempt = number,
                        delay_ms = delay.as_millis() as u64,
                        reason = %reason,
                        "retrying"
                    );
                    let retry_after = match outcome.signal() {
                        Signal::Transient {
                            retry_after: Some(_),
                        } => Some(delay),
                        _ => None,
                    };
                    call.retry(reason.label(), retry_after);
                    if let Err(error) = self.back_off(delay, deadline).await {
                        end_call(&span, call, Some(ErrorType::Deadline));
                        return Err(error.into());
                    }
                }
                Decision::Replay { credentials } => {
                    tracing::debug!(
                        attempt = number,
                        ?credentials,
                        "credentials expired; replaying once"
                    );
                    call.retry("expired_credentials", None);
                }
                Decision::Stop(reason) => {
                    tracing::trace!(attempt = number, reason = %reason, "done");
                    let error = call.last_error();
                    end_call(&span, call, error);
                    return outcome.into_result();
                }
            }
        }
    }
}

/// Ends a call's metrics and records its `error.type` on its span.
fn end_call(span: &tracing::Span, call: CallMetrics, error: Option<ErrorType>) {
    if let Some(error) = error {
        span.record("error.type", error.as_str().as_ref());
    }
    call.finish(error);
}

impl Transport {
    /// Waits `delay` before the next attempt on the configured runtime, bounded by the
    /// call's deadline whatever the runtime does (the delay was checked to end before it).
    async fn back_off(&self, delay: Duration, deadline: Instant) -> Result<(), Error> {
        tokio::time::timeout_at(deadline, self.inner.runtime.sleep(delay))
            .await
            .map_err(|_| self.deadline_ran_out())
    }

    /// The error for a call whose deadline ran out.
    pub(super) fn deadline_ran_out(&self) -> Error {
        let after = self.inner.config.deadline;
        tracing::debug!(deadline_ms = after.as_millis() as u64, "deadline ran out");
        Error::Timeout {
            kind: TimeoutKind::Deadline,
            after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_validation() {
        assert_eq!(
            validate_base_url("https://api.heleket.com/", false).unwrap(),
            "https://api.heleket.com"
        );
        for loopback in [
            "http://127.0.0.1:8080/elkyc",
            "http://127.9.9.9",
            "http://[::1]:9",
            "http://localhost:3000",
            "http://sandbox.localhost",
        ] {
            assert!(validate_base_url(loopback, false).is_ok(), "{loopback}");
        }
        for bad in [
            "",
            "api.heleket.com",
            "ftp://x",
            "https://x/?a=1",
            "mailto:a@b",
            "http://api.heleket.com",
            "http://10.0.0.1",
            "http://localhost.evil.example",
        ] {
            assert!(
                matches!(validate_base_url(bad, false), Err(Error::Config(_))),
                "{bad}"
            );
        }
        assert!(validate_base_url("http://10.0.0.1", true).is_ok());
        for no_scheme in ["api.heleket.com", "localhost:8080/elkyc", "127.0.0.1:9"] {
            let err = validate_base_url(no_scheme, false).unwrap_err().to_string();
            assert!(
                err.contains("add http:// or https://") && err.contains(no_scheme),
                "{err}"
            );
        }
        let err = validate_base_url("user:pw-S3cret@x.example", false).unwrap_err();
        assert!(!err.to_string().contains("S3cret"), "{err}");
        for with_credentials in ["https://user:pw-S3cret@x.example", "https://user@x.example"] {
            let err = validate_base_url(with_credentials, true).unwrap_err();
            assert!(!err.to_string().contains("S3cret"), "{err}");
        }
    }

    #[test]
    fn huge_durations_saturate() {
        let now = Instant::now();
        assert!(saturating_after(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365));
        assert_eq!(
            saturating_after(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }
}
