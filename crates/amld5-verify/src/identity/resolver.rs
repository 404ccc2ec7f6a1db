//! The [`Identity`] resolver: the partner's token pair and each user's session, kept in
//! [`TokenCache`]s and renewed once however many calls find them stale, plus the requests
//! that renew them (`/api/v1/authenticate`, `/api/v1/refresh`) and `/api/v1/user/login`.
//!
//! [`CallAuth`] ties the three parts of authentication together for one call: resolve here,
//! sign with [`super::sign`], classify with [`super::classify`]. The transport runs it inside
//! the call's deadline; a renewal outlives a caller that stops waiting.

use compliance_core::Actionable as _;
use std::sync::Arc;

use async_trait::async_trait;
use compliance_core::http::{
    Auth, AuthContext, AuthVerdict, CredentialSet, Request, Response, StatusCode, TokenCache,
    Transport,
};
use compliance_core::json;
use compliance_core::secret::{ExposeSecret, SecretString, exposed};
use compliance_core::time::Timestamp;
use serde::{Deserialize, Serialize};

use super::classify::{CallKind, PARTNER, USER, classify};
use super::sign::sign;
use super::{Identity, PartnerCredential, UserCredential};
use crate::auth::{Er801Reading, PartnerAuth, TokenPolicy, UserContext, UserInner, UserSession};
use crate::error::{ApiErrors, Error};

/// The partner's token pair.
#[derive(Clone)]
pub(crate) struct PartnerTokens {
    token: SecretString,
    refresh_token: SecretString,
    expires_at: Timestamp,
}

/// The partner side: a fixed API key, or tokens kept fresh.
enum Partner {
    ApiKey(SecretString),
    Credentials {
        username: String,
        password: SecretString,
        tokens: TokenCache<PartnerTokens, Error>,
    },
}

/// Everything identity resolution needs, shared by every clone of a client.
pub(crate) struct Tokens {
    pub(crate) transport: Transport,
    partner: Partner,
    policy: TokenPolicy,
    reading: Er801Reading,
}

impl Tokens {
    pub(crate) fn new(
        transport: Transport,
        partner: PartnerAuth,
        policy: TokenPolicy,
        reading: Er801Reading,
    ) -> Self {
        let partner = match partner {
            PartnerAuth::ApiKey(key) => Partner::ApiKey(key),
            PartnerAuth::Credentials { username, password } => Partner::Credentials {
                username,
                password,
                // Renewed on the client's runtime, like its back-off.
                tokens: TokenCache::new()
                    .runtime(transport.runtime().clone())
                    .provider(crate::PROVIDER),
            },
        };
        Self {
            transport,
            partner,
            policy,
            reading,
        }
    }

    pub(crate) fn partner_kind(&self) -> &'static str {
        match self.partner {
            Partner::ApiKey(_) => "api key",
            Partner::Credentials { .. } => "credentials",
        }
    }

    pub(crate) fn policy(&self) -> TokenPolicy {
        self.policy
    }

    /// The partner credential for the next attempt.
    async fn partner(self: &Arc<Self>) -> Result<PartnerCredential, Error> {
        let tokens = match &self.partner {
            Partner::ApiKey(key) => return Ok(PartnerCredential::ApiKey(key.clone())),
            Partner::Credentials { tokens, .. } => tokens,
        };
        let policy = self.policy;
        let this = self.clone();
        let current = tokens
            .resolve(
                move |t| !policy.is_due(Some(t.expires_at)),
                move |current| async move { this.renew_partner(current).await },
            )
            .await?;
        Ok(PartnerCredential::Token(current.token))
    }

    /// Obtains a partner token now if there is none (or it is due), so refused credentials
    /// show at start-up. Nothing to do for an API key: no call checks one alone.
    pub(crate) async fn check_partner(self: &Arc<Self>) -> Result<(), Error> {
        self.partner().await.map(drop)
    }

    /// The user credential for the next attempt.
    async fn user(self: &Arc<Self>, user: &UserContext) -> Result<UserCredential, Error> {
        match &user.inner {
            UserInner::Identifier(id) => Ok(UserCredential::Identifier(id.clone())),
            UserInner::Session(sessions) => {
                let policy = self.policy;
                let this = self.clone();
                let current = sessions
                    .resolve(
                        move |s| !policy.is_due(s.expires_at),
                        move |current| async move {
                            match current {
                                Some(current) => this.renew_user(current).await,
                                None => Err(Error::Core(compliance_core::Error::Config(
                                    "user session missing".into(),
                                ))),
                            }
                        },
                    )
                    .await?;
                Ok(UserCredential::Token(current.token))
            }
        }
    }

    /// A fresh partner token pair: from the refresh token when there is one, by
    /// authenticating when there is none or the provider refused it.
    async fn renew_partner(
        self: Arc<Self>,
        current: Option<PartnerTokens>,
    ) -> Result<PartnerTokens, Error> {
        let Partner::Credentials {
            username, password, ..
        } = &self.partner
        else {
            return Err(Error::Core(compliance_core::Error::Config(
                "the partner authenticates with an API key".into(),
            )));
        };
        if let Some(current) = current {
            match refresh(&self.transport, &current.refresh_token, None).await {
                Ok(tokens) => {
                    return Ok(PartnerTokens {
                        expires_at: self.policy.expiry(&tokens.token),
                        refresh_token: tokens.refresh_token.unwrap_or(current.refresh_token),
                        token: tokens.token,
                    });
                }
                Err(RefreshFailure::Dead(_)) => {}
                Err(RefreshFailure::Other(e)) => return Err(e),
            }
        }
        self.authenticate(username, password).await
    }

    /// `POST /api/v1/authenticate`. Retried like a read: a lost answer leaves only an unused
    /// partner token behind.
    async fn authenticate(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<PartnerTokens, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            username: &'a str,
            password: &'a str,
        }
        let request = Request::post("/api/v1/authenticate")
            .operation("authenticate")
            .json(&Body {
                username,
                password: password.expose_secret(),
            })?
            .repeatable(true);
        let response = self.transport.send(request).await?;
        if !response.is_success() {
            return Err(partner_error(&response));
        }
        let answer = TokenAnswer::read("authenticate response", response.body())?;
        let refresh_token = answer.required("refreshToken", answer.refresh_token.clone())?;
        Ok(PartnerTokens {
            expires_at: self.policy.expiry(&answer.token),
            token: answer.token,
            refresh_token,
        })
    }

    /// A fresh user session from its refresh token (sent with the partner's credential). A
    /// refused refresh token means the user has to log in again.
    async fn renew_user(self: Arc<Self>, current: UserSession) -> Result<UserSession, Error> {
        let partner = CallAuth::refreshing(self.clone());
        match refresh(&self.transport, &current.refresh_token, Some(&partner)).await {
            Ok(tokens) => Ok(UserSession {
                expires_at: Some(self.policy.expiry(&tokens.token)),
                refresh_token: tokens.refresh_token.unwrap_or(current.refresh_token),
                token: tokens.token,
                identifier: current.identifier,
            }),
            Err(RefreshFailure::Dead(error)) => Err(match error {
                Error::UserAuth { .. } | Error::PartnerAuth { .. } => error,
                Error::Rejected { status, errors } => Error::UserAuth { status, errors },
                Error::Core(compliance_core::Error::Provider { status, .. }) => Error::UserAuth {
                    status,
                    errors: ApiErrors::default(),
                },
                other => other,
            }),
            Err(RefreshFailure::Other(error)) => Err(error),
        }
    }
}

/// A refused `/api/v1/authenticate` is a partner-credential problem whatever its body.
fn partner_error(response: &Response) -> Error {
    match Error::from_response(response) {
        Error::Core(compliance_core::Error::Provider { status, .. })
            if status.is_client_error() && status != StatusCode::REQUEST_TIMEOUT =>
        {
            Error::PartnerAuth {
                status,
                errors: ApiErrors::default(),
            }
        }
        Error::Rejected { status, errors } | Error::UserAuth { status, errors } => {
            Error::PartnerAuth { status, errors }
        }
        other => other,
    }
}

/// What `/api/v1/refresh` answers.
struct Refreshed {
    token: SecretString,
    /// Absent when the provider did not rotate it.
    refresh_token: Option<SecretString>,
}

/// Why a refresh did not produce a token.
enum RefreshFailure {
    /// The provider refused the refresh token: expired, revoked or already used.
    Dead(Error),
    /// Anything else (transport, 5xx, an unreadable answer): it may still be good.
    Other(Error),
}

/// `POST /api/v1/refresh`: a new token and (rotated) refresh token. A user token is
/// refreshed with the partner's credential (`auth`); the partner's own without one.
///
/// Never resent: the refresh token rotates, so a second send after a lost answer would
/// present a spent token. (The renewal runs as its own task, so a caller that goes away
/// does not lose the answer either.)
async fn refresh(
    transport: &Transport,
    refresh_token: &SecretString,
    auth: Option<&CallAuth>,
) -> Result<Refreshed, RefreshFailure> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        refresh_token: &'a str,
    }
    let request = Request::post("/api/v1/refresh")
        .operation("refresh")
        .json(&Body {
            refresh_token: refresh_token.expose_secret(),
        })
        .map_err(|e| RefreshFailure::Other(e.into()))?;
    let result = match auth {
        Some(auth) => transport.send_with(request, auth).await,
        None => match transport.send(request).await {
            Ok(response) if !response.is_success() => Err(Error::from_response(&response)),
            other => other.map_err(Error::from),
        },
    };
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            // A 4xx is about the refresh token (a refused partner credential is not).
            let dead = !matches!(error, Error::PartnerAuth { .. })
                && error.status().is_some_and(|s| {
                    s.is_client_error()
                        && s != StatusCode::REQUEST_TIMEOUT
                        && s != StatusCode::TOO_MANY_REQUESTS
                });
            return Err(if dead {
                RefreshFailure::Dead(error)
            } else {
                RefreshFailure::Other(error)
            });
        }
    };
    let answer =
        TokenAnswer::read("refresh response", response.body()).map_err(RefreshFailure::Other)?;
    Ok(Refreshed {
        token: answer.token,
        refresh_token: answer.refresh_token,
    })
}

/// What `/api/v1/authenticate`, `/api/v1/refresh` and `/api/v1/user/login` answer. Decode
/// errors keep no token (see `compliance_core::json::decode`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    #[serde(with = "exposed")]
    token: SecretString,
    #[serde(default, deserialize_with = "optional_secret")]
    refresh_token: Option<SecretString>,
    #[serde(default)]
    identifier: Option<String>,
}

impl TokenAnswer {
    fn read(what: &'static str, body: &[u8]) -> Result<Self, Error> {
        Ok(json::decode(what, body)?)
    }

    /// `value`, or a decode error naming the missing `field`.
    fn required<T>(&self, field: &'static str, value: Option<T>) -> Result<T, Error> {
        value.ok_or_else(|| {
            Error::Core(compliance_core::Error::decode(
                "token answer",
                field,
                format_args!("missing field `{field}`"),
                b"",
            ))
        })
    }
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
}

/// `POST /api/v1/user/login`. Never resent: each login opens a session, and a repeat after
/// a lost answer would open a second one. A 401 is the user's email and password
/// ([`Error::LoginRefused`]): never a reason to renew the partner token and replay.
pub(crate) async fn login(
    tokens: &Arc<Tokens>,
    email: &str,
    password: &SecretString,
) -> Result<UserSession, Error> {
    #[derive(Serialize)]
    struct Body<'a> {
        email: &'a str,
        password: &'a str,
    }
    let request = Request::post("/api/v1/user/login")
        .operation("user_login")
        .json(&Body {
            email,
            password: password.expose_secret(),
        })?;
    let response = tokens
        .transport
        .send_with(request, &CallAuth::login(tokens.clone()))
        .await?;
    let answer = TokenAnswer::read("login response", response.body())?;
    let refresh_token = answer.required("refreshToken", answer.refresh_token.clone())?;
    let identifier = answer.required("identifier", answer.identifier.clone())?;
    Ok(UserSession {
        expires_at: Some(tokens.policy.expiry(&answer.token)),
        token: answer.token,
        refresh_token,
        identifier,
    })
}

/// One call's authentication: the partner credential plus, when given, the user's.
pub(crate) struct CallAuth {
    tokens: Arc<Tokens>,
    user: Option<UserContext>,
    /// Whose a 401 without an `ER` code is: the partner token's, a refresh token's, or (on
    /// `user/login`) the user's email and password.
    kind: CallKind,
}

impl CallAuth {
    pub(crate) fn new(tokens: Arc<Tokens>, user: Option<UserContext>) -> Self {
        Self {
            tokens,
            user,
            kind: CallKind::Ordinary,
        }
    }

    fn refreshing(tokens: Arc<Tokens>) -> Self {
        Self {
            tokens,
            user: None,
            kind: CallKind::Refresh,
        }
    }

    fn login(tokens: Arc<Tokens>) -> Self {
        Self {
            tokens,
            user: None,
            kind: CallKind::Login,
        }
    }
}

#[async_trait]
impl Auth for CallAuth {
    type Identity = Identity;
    type Error = Error;

    async fn resolve(&self) -> Result<Identity, Error> {
        let partner = self.tokens.partner().await?;
        let user = match &self.user {
            Some(user) => Some(self.tokens.user(user).await?),
            None => None,
        };
        Ok(Identity { partner, user })
    }

    fn sign(&self, identity: &Identity, request: &mut AuthContext<'_>) -> Result<(), Error> {
        sign(identity, request.headers)
    }

    fn classify(&self, identity: &Identity, response: &Response) -> AuthVerdict<Error> {
        classify(identity, response, self.tokens.reading, self.kind)
    }

    fn retry_allowed(&self, response: &Response) -> bool {
        super::classify::retry_allowed(response)
    }

    fn invalidate(&self, identity: &Identity, credentials: CredentialSet) {
        if credentials.contains(PARTNER)
            && let (Partner::Credentials { tokens, .. }, Some(sent)) =
                (&self.tokens.partner, identity.partner_token())
        {
            tokens.invalidate_if(|t| t.token.expose_secret() == sent);
        }
        if credentials.contains(USER)
            && let (
                Some(UserContext {
                    inner: UserInner::Session(sessions),
                }),
                Some(sent),
            ) = (&self.user, identity.user_token())
        {
            sessions.invalidate_if(|s| s.token.expose_secret() == sent);
        }
    }
}
