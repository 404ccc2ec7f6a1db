//! One attempt of a call, in named phases (the `try_attempt` of smithy's orchestrator):
//! [resolve](Transport::resolve_identity) the identity, [sign](Transport::sign) the request,
//! [send](Transport::dispatch) it and read the answer, [classify](classify) what came back.
//! Whether to try again is not decided here: the call's [`RetryStrategy`] reads the
//! [`Outcome`]'s [signal](Outcome::signal).
//!
//! [`RetryStrategy`]: super::retry::RetryStrategy

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, header};
use tokio::time::Instant;

use super::auth::{Auth, AuthContext, AuthVerdict, CredentialSet};
use super::response::Target;
use super::retry::Signal;
use super::transport::Transport;
use super::{Request, Response};
use crate::Actionable as _;
use crate::error::{Error, TimeoutKind, TransportError, is_retryable_status};
use crate::metrics::{CallMetrics, ErrorType, Stopwatch};

/// What one attempt came to.
pub(super) enum Outcome<I, E> {
    /// No answer: the attempt failed (connect, timeout, body too large...).
    Failed(Error),
    /// An answer worth another try (408, 429, 5xx that the auth lets retry): not classified
    /// yet, since the auth classifies final answers only.
    Transient {
        /// What the attempt was signed with.
        identity: I,
        /// The answer.
        response: Response,
    },
    /// The auth accepted the answer: the caller's.
    Accepted(Response),
    /// The auth rejected the answer with the provider crate's error.
    Rejected(E),
    /// The answer says `credentials` expired (they were invalidated already).
    Expired {
        /// Which.
        credentials: CredentialSet,
        /// Whether the provider certainly refused them before acting on the request.
        certain: bool,
        /// The call's error when there is no replay.
        error: E,
    },
}

impl<I, E: From<Error>> Outcome<I, E> {
    /// What the retry strategy needs to know of it.
    pub(super) fn signal(&self) -> Signal {
        match self {
            Outcome::Failed(error) => Signal::Failed {
                // A body over the cap is as large the next time.
                retryable: !matches!(error, Error::BodyTooLarge { .. }) && error.is_retryable(),
            },
            Outcome::Transient { response, .. } => Signal::Transient {
                retry_after: response.retry_after(),
            },
            Outcome::Accepted(_) | Outcome::Rejected(_) => Signal::Final,
            Outcome::Expired {
                credentials,
                certain,
                ..
            } => Signal::Expired {
                credentials: *credentials,
                certain: *certain,
            },
        }
    }

    /// Whether it is an answer not classified yet.
    pub(super) fn is_transient(&self) -> bool {
        matches!(self, Outcome::Transient { .. })
    }

    /// The same outcome as a final answer: a transient answer that will not be retried is
    /// classified by `auth`.
    pub(super) fn into_final<A>(self, auth: &A) -> Self
    where
        A: Auth<Identity = I, Error = E>,
    {
        match self {
            Outcome::Transient { identity, response } => classify_final(auth, &identity, response),
            other => other,
        }
    }

    /// The call's result when this outcome is the last.
    pub(super) fn into_result(self) -> Result<Response, E> {
        match self {
            // Only reached when the strategy stopped without `into_final`: the answer as is.
            Outcome::Accepted(response) | Outcome::Transient { response, .. } => Ok(response),
            Outcome::Rejected(error) | Outcome::Expired { error, .. } => Err(error),
            Outcome::Failed(error) => Err(error.into()),
        }
    }
}

/// Classify phase: a failure stays one; an answer worth another try (408, 429, 5xx that
/// the auth lets retry) waits for the strategy, since the auth classifies final answers
/// only; any other answer is the auth's to [classify](classify_final).
fn classify<A: Auth>(
    auth: &A,
    identity: A::Identity,
    answer: Result<Response, Error>,
) -> Outcome<A::Identity, A::Error> {
    match answer {
        Err(error) => {
            tracing::debug!(error = %error, "attempt failed");
            Outcome::Failed(error)
        }
        Ok(response) if is_retryable_status(response.status()) && auth.retry_allowed(&response) => {
            Outcome::Transient { identity, response }
        }
        Ok(response) => classify_final(auth, &identity, response),
    }
}

/// What `auth` makes of a final answer, credentials it says expired invalidated at once.
fn classify_final<A: Auth>(
    auth: &A,
    identity: &A::Identity,
    response: Response,
) -> Outcome<A::Identity, A::Error> {
    match auth.classify(identity, &response) {
        AuthVerdict::Accept => Outcome::Accepted(response),
        AuthVerdict::Reject(error) => Outcome::Rejected(error),
        AuthVerdict::Expired {
            credentials,
            certain,
            error,
        } => {
            auth.invalidate(identity, credentials);
            Outcome::Expired {
                credentials,
                certain,
                error,
            }
        }
    }
}

impl Transport {
    /// One attempt: resolve the identity, sign, send, classify. `Err` only for what ends
    /// the call whatever the strategy says: the identity could not be resolved or the
    /// request signed, or the deadline ran out first.
    pub(super) async fn attempt<A: Auth>(
        &self,
        request: &Request,
        target: &Target,
        auth: &A,
        deadline: Instant,
        call: &mut CallMetrics,
    ) -> Result<Outcome<A::Identity, A::Error>, A::Error> {
        let identity = self.resolve_identity(auth, deadline).await?;
        let (limit, kind) = self.attempt_limit(deadline)?;
        let headers = self.sign(request, auth, &identity)?;
        let answer = self
            .dispatch(request, target, headers, limit, kind, call)
            .await;
        Ok(classify(auth, identity, answer))
    }

    /// Resolve phase: the identity for this attempt, within the deadline. An identity at
    /// hand is ready at once, and then no timer is armed.
    async fn resolve_identity<A: Auth>(
        &self,
        auth: &A,
        deadline: Instant,
    ) -> Result<A::Identity, A::Error> {
        tokio::time::timeout_at(deadline, auth.resolve())
            .await
            .map_err(|_| self.deadline_ran_out())?
    }

    /// How long this attempt may take, and which limit that is: the attempt timeout, or
    /// what is left of the deadline when that is shorter.
    fn attempt_limit(&self, deadline: Instant) -> Result<(Duration, TimeoutKind), Error> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(self.deadline_ran_out());
        }
        let attempt_timeout = self.inner.config.attempt_timeout;
        Ok(if attempt_timeout <= remaining {
            (attempt_timeout, TimeoutKind::Attempt)
        } else {
            (remaining, TimeoutKind::Deadline)
        })
    }

    /// Sign phase: the request's headers, the `User-Agent`, and what `auth` adds for
    /// `identity` over the exact bytes sent.
    fn sign<A: Auth>(
        &self,
        request: &Request,
        auth: &A,
        identity: &A::Identity,
    ) -> Result<HeaderMap, A::Error> {
        let mut headers = request.headers.clone();
        headers.insert(header::USER_AGENT, self.inner.user_agent.clone());
        auth.sign(
            identity,
            &mut AuthContext {
                method: &request.method,
                path: &request.path,
                body: &request.body,
                headers: &mut headers,
            },
        )?;
        Ok(headers)
    }

    /// Send phase: the request sent and its answer read in full, within `limit` (a
    /// [`TimeoutKind::Deadline`] limit reports the configured deadline).
    async fn dispatch(
        &self,
        request: &Request,
        target: &Target,
        headers: HeaderMap,
        limit: Duration,
        kind: TimeoutKind,
        call: &mut CallMetrics,
    ) -> Result<Response, Error> {
        let started = Instant::now();
        let took = Stopwatch::start();
        let answer = tokio::time::timeout(limit, self.exchange(request, target, headers))
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    kind,
                    after: match kind {
                        TimeoutKind::Deadline => self.inner.config.deadline,
                        _ => limit,
                    },
                })
            });
        let span = tracing::Span::current();
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        match &answer {
            Ok(response) => {
                let status = response.status().as_u16();
                span.record("status", status);
                span.record("http.response.status_code", status);
                tracing::debug!(status, "response");
                call.attempt(took, Some(status), ErrorType::of_status(status));
            }
            Err(error) => call.attempt(took, None, Some(ErrorType::of(error))),
        }
        answer
    }

    /// Sends the request and reads the answer's body, within the body cap.
    async fn exchange(
        &self,
        request: &Request,
        target: &Target,
        headers: HeaderMap,
    ) -> Result<Response, Error> {
        let mut response = self
            .inner
            .client
            .request(request.method.clone(), target.url())
            .headers(headers)
            .body(request.body.clone())
            .send()
            .await
            .map_err(|e| self.transport_error(e, target))?;
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
        let mut next = async || {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| self.transport_error(e, target))?;
            match chunk {
                Some(chunk) if chunk.len() > cap => Err(Error::BodyTooLarge { limit: cap }),
                chunk => Ok(chunk),
            }
        };
        let answer = |body| Response::new(status, headers, body).answering(target.0.clone());
        // A small answer usually arrives as one chunk: kept as it is, not copied.
        let Some(first) = next().await? else {
            return Ok(answer(Bytes::new()));
        };
        let Some(second) = next().await? else {
            return Ok(answer(first));
        };
        let mut body = BytesMut::with_capacity(initial.max(first.len() + second.len()));
        body.extend_from_slice(&first);
        body.extend_from_slice(&second);
        if body.len() > cap {
            return Err(Error::BodyTooLarge { limit: cap });
        }
        while let Some(chunk) = next().await? {
            if body.len() + chunk.len() > cap {
                return Err(Error::BodyTooLarge { limit: cap });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(answer(body.freeze()))
    }

    /// The error for a failed attempt at `target` (named without its query: queries can
    /// carry tokens, so reqwest's own copy of the URL is dropped).
    fn transport_error(&self, e: reqwest::Error, target: &Target) -> Error {
        if e.is_timeout() && e.is_connect() {
            return Error::Timeout {
                kind: TimeoutKind::Connect,
                after: self.inner.config.connect_timeout,
            };
        }
        let shown_url = target.shown();
        let e = e.without_url();
        let connect = e.is_connect();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        if connect && shown_url.starts_with("https://") && is_plain_http_answer(&message) {
            // Retrying cannot help: the server speaks plain HTTP on that port.
            return Error::Config(format!(
                "{shown_url}: the server answered the TLS handshake in plain HTTP: use an                  http:// base URL for it (or the server's https port) ({message})"
            ));
        }
        let message = format!(
            "{} {shown_url}: {message}",
            if connect {
                "could not connect to"
            } else {
                "failed talking to"
            }
        );
        Error::Transport(TransportError::new(message, connect, Some(Box::new(e))))
    }
}

/// Whether a TLS failure's message says the server answered in plain HTTP (rustls reads the
/// `HTTP/1.1 400` as a record of an unknown content type; OpenSSL says "wrong version
/// number"; SChannel and Secure Transport report a bad record).
fn is_plain_http_answer(message: &str) -> bool {
    [
        "InvalidContentType",
        "wrong version number",
        "packet length too long",
    ]
    .iter()
    .any(|sign| message.contains(sign))
}
