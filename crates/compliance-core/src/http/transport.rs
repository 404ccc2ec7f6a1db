use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use http::{HeaderMap, HeaderValue, header};
use tracing::Instrument;
use tracing::field::Empty;

use super::retry::{RetryPolicy, Sleeper, TokioSleeper};
use super::{AuthContext, AuthVerdict, Request, Response};
use crate::error::{Error, TimeoutKind, TransportError, is_retryable_status};

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
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(90),
            retry: RetryPolicy::default(),
            max_response_bytes: 4 * 1024 * 1024,
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
}

/// Builds a [`Transport`].
pub struct TransportBuilder {
    base_url: String,
    config: TransportConfig,
    client: Option<reqwest::Client>,
    user_agent: Option<String>,
    sleeper: Arc<dyn Sleeper>,
}

impl TransportBuilder {
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

    /// Uses a pre-built `reqwest::Client` (shared connection pool, proxies, custom TLS).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Replaces the back-off sleeper (tests observe sleeps without waiting).
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Validates the base URL and builds the client.
    pub fn build(self) -> Result<Transport, Error> {
        let base_url = validate_base_url(&self.base_url)?;
        let client = match self.client {
            Some(c) => c,
            None => reqwest::Client::builder()
                .connect_timeout(self.config.connect_timeout)
                // API calls carry credentials in custom headers: never follow a redirect
                // that could send them, or a signed body, somewhere else.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        let product = match &self.user_agent {
            Some(p) => format!("{p} compliance-core/{}", env!("CARGO_PKG_VERSION")),
            None => format!("compliance-core/{}", env!("CARGO_PKG_VERSION")),
        };
        let user_agent = HeaderValue::from_str(&product)
            .map_err(|_| Error::Config(format!("invalid User-Agent `{product}`")))?;
        Ok(Transport {
            inner: Arc::new(Inner {
                client,
                base_url,
                config: self.config,
                user_agent,
                sleeper: self.sleeper,
            }),
        })
    }
}

fn validate_base_url(raw: &str) -> Result<String, Error> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| Error::Config(format!("base URL `{raw}` is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "base URL `{raw}` must be http or https"
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

struct Inner {
    client: reqwest::Client,
    base_url: String,
    config: TransportConfig,
    user_agent: HeaderValue,
    sleeper: Arc<dyn Sleeper>,
}

/// The HTTP transport. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
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
            sleeper: Arc::new(TokioSleeper),
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

    /// Sends `request`, retrying where allowed, and returns the final response whatever its
    /// status: provider crates decode their own error bodies (use
    /// [`Response::to_error`] for the rest).
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        let span = tracing::debug_span!(
            "compliance_http",
            method = %request.method,
            path = %request.path_without_query(),
            status = Empty,
            attempt = Empty,
            latency_ms = Empty,
        );
        self.send_in_span(&request).instrument(span).await
    }

    async fn send_in_span(&self, request: &Request) -> Result<Response, Error> {
        let cfg = &self.inner.config;
        let span = tracing::Span::current();
        let started = Instant::now();
        let deadline = started + cfg.deadline;
        let url = format!("{}{}", self.inner.base_url, request.path);
        let mut attempt: u32 = 0;
        let mut tries: u32 = 0;
        let mut replayed = false;

        loop {
            attempt += 1;
            tries += 1;
            span.record("attempt", attempt);
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Error::Timeout {
                    kind: TimeoutKind::Deadline,
                    after: cfg.deadline,
                });
            }
            let (limit, kind) = if cfg.attempt_timeout <= remaining {
                (cfg.attempt_timeout, TimeoutKind::Attempt)
            } else {
                (remaining, TimeoutKind::Deadline)
            };

            let mut headers = request.headers.clone();
            headers.insert(header::USER_AGENT, self.inner.user_agent.clone());
            if let Some(auth) = &request.auth {
                let mut ctx = AuthContext {
                    method: &request.method,
                    path: &request.path,
                    body: &request.body,
                    headers: &mut headers,
                };
                auth.apply(&mut ctx).await?;
            }

            let attempt_started = Instant::now();
            let result =
                match tokio::time::timeout(limit, self.attempt(request, &url, &headers)).await {
                    Ok(result) => result,
                    Err(_) => Err(Error::Timeout {
                        kind,
                        after: if kind == TimeoutKind::Deadline {
                            cfg.deadline
                        } else {
                            limit
                        },
                    }),
                };
            let latency = attempt_started.elapsed();
            span.record("latency_ms", latency.as_millis() as u64);
            let may_retry = request.repeatable && tries < cfg.retry.max_attempts;

            match result {
                Ok(response) => {
                    let status = response.status();
                    span.record("status", status.as_u16());
                    tracing::debug!(status = status.as_u16(), attempt, "response");
                    if may_retry && is_retryable_status(status) {
                        let delay = cfg.retry.delay(tries + 1, response.retry_after());
                        if Instant::now() + delay < deadline {
                            tracing::debug!(delay_ms = delay.as_millis() as u64, "retrying");
                            self.inner.sleeper.sleep(delay).await;
                            continue;
                        }
                    }
                    if let (Some(auth), false) = (&request.auth, replayed)
                        && auth.inspect(&headers, &response).await? == AuthVerdict::Replay
                    {
                        tracing::debug!(attempt, "credentials refreshed; replaying once");
                        replayed = true;
                        tries -= 1;
                        continue;
                    }
                    return Ok(response);
                }
                Err(error) => {
                    tracing::debug!(attempt, error = %error, "attempt failed");
                    let retryable =
                        !matches!(error, Error::BodyTooLarge { .. }) && error.is_retryable();
                    if may_retry && retryable {
                        let delay = cfg.retry.delay(tries + 1, None);
                        if Instant::now() + delay < deadline {
                            self.inner.sleeper.sleep(delay).await;
                            continue;
                        }
                    }
                    return Err(error);
                }
            }
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        url: &str,
        headers: &HeaderMap,
    ) -> Result<Response, Error> {
        let mut response = self
            .inner
            .client
            .request(request.method.clone(), url)
            .headers(headers.clone())
            .body(request.body.clone())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let cap = self.inner.config.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(Error::BodyTooLarge { limit: cap });
        }
        let initial = response
            .content_length()
            .map_or(8 * 1024, |l| l as usize)
            .min(cap);
        let mut body = BytesMut::with_capacity(initial);
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if body.len() + chunk.len() > cap {
                return Err(Error::BodyTooLarge { limit: cap });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response::new(status, headers, body.freeze()))
    }

    fn transport_error(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() && e.is_connect() {
            return Error::Timeout {
                kind: TimeoutKind::Connect,
                after: self.inner.config.connect_timeout,
            };
        }
        // URLs can carry ids and query values: keep them out of error messages.
        let e = e.without_url();
        let connect = e.is_connect();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Error::Transport(TransportError::new(message, connect, Some(Box::new(e))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_validation() {
        assert_eq!(
            validate_base_url("https://api.heleket.com/").unwrap(),
            "https://api.heleket.com"
        );
        assert_eq!(
            validate_base_url("http://127.0.0.1:8080/elkyc").unwrap(),
            "http://127.0.0.1:8080/elkyc"
        );
        for bad in [
            "",
            "api.heleket.com",
            "ftp://x",
            "https://x/?a=1",
            "mailto:a@b",
        ] {
            assert!(
                matches!(validate_base_url(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }
}
