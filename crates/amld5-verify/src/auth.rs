//! Partner and user authentication: credentials, tokens, sessions, and the hook that puts
//! exactly one partner credential (and the user's) on every request, refreshing tokens before
//! they expire and once more when the provider says they have.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use compliance_core::http::{
    Auth, AuthContext, AuthVerdict, HeaderMap, HeaderName, Request, Response, StatusCode,
};
use compliance_core::secret::{
    ExposeSecret, SecretString, bearer_header, exposed, sensitive_header,
};
use compliance_core::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::client::Shared;
use crate::error::{ApiErrors, Error, ErrorCode};
use crate::single_flight::TokenCell;

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const USER_AUTHORIZATION: HeaderName = HeaderName::from_static("user-authorization");
const USER_IDENTIFIER: HeaderName = HeaderName::from_static("user-identifier");
const AUTHORIZATION: HeaderName = HeaderName::from_static("authorization");

/// How the partner authenticates: exactly one method, so the provider's ER803 ("multiple
/// authorization methods used") cannot happen.
///
/// `Debug` never shows the password or the key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PartnerAuth {
    /// Username and password, exchanged for a token (`POST /api/v1/authenticate`) that the
    /// client refreshes on its own. The usual method for a partner's server.
    Credentials {
        /// The partner username.
        username: String,
        /// The partner password.
        password: SecretString,
    },
    /// An API key sent as `X-Api-Key` (what the provider's own client SDK uses).
    ApiKey(SecretString),
}

impl PartnerAuth {
    /// Username and password.
    pub fn credentials(username: impl Into<String>, password: impl Into<SecretString>) -> Self {
        PartnerAuth::Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// An API key.
    pub fn api_key(key: impl Into<SecretString>) -> Self {
        PartnerAuth::ApiKey(key.into())
    }
}

/// Token lifetimes and how early to refresh.
///
/// BTC Direct's tokens live one hour. When a token is a JWT its `exp` claim is used instead
/// of [`lifetime`](Self::lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenPolicy {
    /// Lifetime assumed for a token that is not a JWT. Default 1 hour.
    pub lifetime: Duration,
    /// Refresh this long before expiry. Default 60 s.
    pub refresh_before_expiry: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(3600),
            refresh_before_expiry: Duration::from_secs(60),
        }
    }
}

impl TokenPolicy {
    fn expiry(&self, token: &SecretString) -> Timestamp {
        jwt_expiry(token.expose_secret()).unwrap_or_else(|| after(Timestamp::now(), self.lifetime))
    }

    fn is_due(&self, expires_at: Option<Timestamp>) -> bool {
        expires_at.is_some_and(|at| after(Timestamp::now(), self.refresh_before_expiry) >= at)
    }
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    t.saturating_add(d).unwrap_or(Timestamp::MAX)
}

/// The `exp` claim of a JWT, without verifying it (we only schedule a refresh with it).
fn jwt_expiry(token: &str) -> Option<Timestamp> {
    const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = B64.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64))?;
    Timestamp::from_second(secs).ok()
}

/// A logged-in user: what `POST /api/v1/user/login` returns, kept up to date by the client.
///
/// Store it (it serialises with the tokens in clear, on purpose: it is a credential you keep
/// in your own storage) and restore it later. `Debug` shows only the identifier.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserSession {
    /// The user token, sent as `User-Authorization: Bearer …`.
    #[serde(with = "exposed")]
    pub token: SecretString,
    /// The refresh token.
    #[serde(with = "exposed")]
    pub refresh_token: SecretString,
    /// The user's identifier at BTC Direct.
    pub identifier: String,
    /// When the token expires (the JWT's `exp`, or login time plus the token lifetime);
    /// `None` for a restored session that did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl UserSession {
    /// A session from stored values; the expiry is read from the token if it is a JWT.
    pub fn new(
        token: impl Into<SecretString>,
        refresh_token: impl Into<SecretString>,
        identifier: impl Into<String>,
    ) -> Self {
        let token = token.into();
        Self {
            expires_at: jwt_expiry(token.expose_secret()),
            token,
            refresh_token: refresh_token.into(),
            identifier: identifier.into(),
        }
    }
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSession")
            .field("token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("identifier", &self.identifier)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

type RefreshHook = Arc<dyn Fn(&UserSession) + Send + Sync>;

struct SessionCell {
    cell: TokenCell<UserSession>,
    on_refresh: RwLock<Option<RefreshHook>>,
}

/// Who a user call is for: a logged-in [`UserSession`] or a linked `User-Identifier`.
///
/// Cheap to clone; clones share the session, so a refresh made during one call is seen by
/// every clone. Read the current session with [`session`](Self::session) or be told with
/// [`on_refresh`](Self::on_refresh), and store it.
#[derive(Clone)]
pub struct UserContext {
    inner: UserInner,
}

#[derive(Clone)]
enum UserInner {
    Identifier(String),
    Session(Arc<SessionCell>),
}

impl UserContext {
    /// A user linked to the partner through `POST /api/v1/user/register-identifier`, sent as
    /// `User-Identifier`.
    pub fn identifier(identifier: impl Into<String>) -> Self {
        Self {
            inner: UserInner::Identifier(identifier.into()),
        }
    }

    /// A logged-in user, sent as `User-Authorization: Bearer …`, refreshed when due.
    pub fn session(session: UserSession) -> Self {
        Self {
            inner: UserInner::Session(Arc::new(SessionCell {
                cell: TokenCell::new(Some(session)),
                on_refresh: RwLock::new(None),
            })),
        }
    }

    /// Calls `hook` with the new session after every refresh (to store it). Applies to every
    /// clone. Does nothing for an identifier.
    pub fn on_refresh(self, hook: impl Fn(&UserSession) + Send + Sync + 'static) -> Self {
        if let UserInner::Session(cell) = &self.inner {
            *cell
                .on_refresh
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(hook));
        }
        self
    }

    /// The current session (refreshed tokens included), or `None` for an identifier.
    pub fn session_snapshot(&self) -> Option<UserSession> {
        match &self.inner {
            UserInner::Session(cell) => cell.cell.get(),
            UserInner::Identifier(_) => None,
        }
    }

    /// The user's identifier at BTC Direct.
    pub fn user_identifier(&self) -> String {
        match &self.inner {
            UserInner::Identifier(id) => id.clone(),
            UserInner::Session(cell) => cell.cell.get().map(|s| s.identifier).unwrap_or_default(),
        }
    }

    fn is_session(&self) -> bool {
        matches!(self.inner, UserInner::Session(_))
    }
}

impl fmt::Debug for UserContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            UserInner::Identifier(id) => {
                f.debug_tuple("UserContext::Identifier").field(id).finish()
            }
            UserInner::Session(cell) => f
                .debug_tuple("UserContext::Session")
                .field(&cell.cell.get())
                .finish(),
        }
    }
}

/// The partner's token pair.
#[derive(Clone)]
pub(crate) struct PartnerTokens {
    token: SecretString,
    refresh_token: SecretString,
    expires_at: Timestamp,
}

/// The partner side of the client: a fixed API key, or tokens kept fresh.
pub(crate) enum PartnerState {
    ApiKey(SecretString),
    Tokens {
        username: String,
        password: SecretString,
        cell: TokenCell<PartnerTokens>,
    },
}

impl PartnerState {
    pub(crate) fn new(auth: PartnerAuth) -> Self {
        match auth {
            PartnerAuth::ApiKey(key) => PartnerState::ApiKey(key),
            PartnerAuth::Credentials { username, password } => PartnerState::Tokens {
                username,
                password,
                cell: TokenCell::new(None),
            },
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            PartnerState::ApiKey(_) => "api key",
            PartnerState::Tokens { .. } => "credentials",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenResponse {
    #[serde(with = "exposed")]
    token: SecretString,
    #[serde(default, deserialize_with = "optional_secret")]
    refresh_token: Option<SecretString>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    #[serde(with = "exposed")]
    token: SecretString,
    #[serde(with = "exposed")]
    refresh_token: SecretString,
    identifier: String,
}

fn optional_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
}

/// Why a refresh did not produce a token.
enum RefreshFailure {
    /// The provider refused the refresh token: it is expired, revoked or already used.
    Dead(Error),
    /// Anything else (transport, 5xx): the refresh token may still be good.
    Other(Error),
}

impl RefreshFailure {
    fn into_error(self) -> Error {
        match self {
            RefreshFailure::Dead(e) | RefreshFailure::Other(e) => e,
        }
    }
}

/// `POST /api/v1/authenticate`.
async fn authenticate(
    shared: &Shared,
    username: &str,
    password: &SecretString,
) -> Result<PartnerTokens, Error> {
    #[derive(Serialize)]
    struct Body<'a> {
        username: &'a str,
        password: &'a str,
    }
    let request = Request::post("/api/v1/authenticate")
        .json(&Body {
            username,
            password: password.expose_secret(),
        })?
        .repeatable(true);
    let response = shared.transport.send(request).await?;
    if !response.is_success() {
        return Err(partner_error(&response));
    }
    let tokens: TokenResponse = response.json()?;
    let refresh_token = tokens.refresh_token.ok_or_else(|| {
        Error::Core(compliance_core::Error::Decode {
            what: "authenticate response",
            path: "refreshToken".into(),
            message: "missing field `refreshToken`".into(),
            body: compliance_core::BodySnippet::new(b"[redacted: holds tokens]"),
        })
    })?;
    Ok(PartnerTokens {
        expires_at: shared.policy.expiry(&tokens.token),
        token: tokens.token,
        refresh_token,
    })
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

/// `POST /api/v1/refresh`: a new token and (rotated) refresh token. `auth` is the partner
/// hook when refreshing a user token; partner tokens are refreshed without one.
async fn refresh(
    shared: &Arc<Shared>,
    refresh_token: &SecretString,
    auth: Option<Arc<dyn Auth>>,
) -> Result<(SecretString, Option<SecretString>), RefreshFailure> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        refresh_token: &'a str,
    }
    let request = Request::post("/api/v1/refresh")
        .json(&Body {
            refresh_token: refresh_token.expose_secret(),
        })
        .map_err(|e| RefreshFailure::Other(e.into()))?;
    // Not repeatable: the refresh token rotates, so a second send after a lost answer
    // would present a spent token.
    let request = match auth {
        Some(auth) => request.auth(auth),
        None => request,
    };
    let response = shared
        .transport
        .send(request)
        .await
        .map_err(|e| RefreshFailure::Other(e.into()))?;
    let status = response.status();
    if !response.is_success() {
        let error = Error::from_response(&response);
        let dead = status.is_client_error()
            && status != StatusCode::REQUEST_TIMEOUT
            && status != StatusCode::TOO_MANY_REQUESTS;
        return Err(if dead {
            RefreshFailure::Dead(error)
        } else {
            RefreshFailure::Other(error)
        });
    }
    let tokens: TokenResponse = response
        .json()
        .map_err(|e| RefreshFailure::Other(e.into()))?;
    Ok((tokens.token, tokens.refresh_token))
}

/// `POST /api/v1/user/login`.
pub(crate) async fn login(
    shared: &Arc<Shared>,
    email: &str,
    password: &SecretString,
) -> Result<UserSession, Error> {
    #[derive(Serialize)]
    struct Body<'a> {
        email: &'a str,
        password: &'a str,
    }
    let request = Request::post("/api/v1/user/login")
        .json(&Body {
            email,
            password: password.expose_secret(),
        })?
        .repeatable(true);
    let response = crate::client::send(shared, request, None).await?;
    let login: LoginResponse = response.json()?;
    Ok(UserSession {
        expires_at: Some(shared.policy.expiry(&login.token)),
        token: login.token,
        refresh_token: login.refresh_token,
        identifier: login.identifier,
    })
}

/// A fresh partner token: from the refresh token if there is one, by authenticating when
/// there is none or the provider refused it.
async fn renew_partner(
    shared: &Arc<Shared>,
    username: &str,
    password: &SecretString,
    current: Option<PartnerTokens>,
) -> Result<PartnerTokens, Error> {
    if let Some(current) = current {
        match refresh(shared, &current.refresh_token, None).await {
            Ok((token, refresh_token)) => {
                return Ok(PartnerTokens {
                    expires_at: shared.policy.expiry(&token),
                    token,
                    refresh_token: refresh_token.unwrap_or(current.refresh_token),
                });
            }
            Err(RefreshFailure::Dead(_)) => {}
            Err(other) => return Err(other.into_error()),
        }
    }
    authenticate(shared, username, password).await
}

/// A fresh user session from its refresh token. A refused refresh token means the user has
/// to log in again.
async fn renew_user(shared: &Arc<Shared>, current: UserSession) -> Result<UserSession, Error> {
    let partner: Arc<dyn Auth> = Arc::new(CallAuth::new(shared.clone(), None));
    match refresh(shared, &current.refresh_token, Some(partner)).await {
        Ok((token, refresh_token)) => Ok(UserSession {
            expires_at: Some(shared.policy.expiry(&token)),
            token,
            refresh_token: refresh_token.unwrap_or(current.refresh_token),
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

fn header_matches(sent: &HeaderMap, name: &HeaderName, token: &SecretString) -> bool {
    sent.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|v| v == token.expose_secret())
}

/// The per-call [`Auth`] hook: partner credential plus, when given, the user's.
///
/// Errors it meets are kept typed in `failure` (the core hook can only return the core
/// error) and taken by the client after the call.
pub(crate) struct CallAuth {
    shared: Arc<Shared>,
    user: Option<UserContext>,
    failure: Mutex<Option<Error>>,
}

impl CallAuth {
    pub(crate) fn new(shared: Arc<Shared>, user: Option<UserContext>) -> Self {
        Self {
            shared,
            user,
            failure: Mutex::new(None),
        }
    }

    /// The typed error behind a failed call, if the hook produced it.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn fail(&self, error: Error) -> compliance_core::Error {
        let core = match &error {
            Error::Core(compliance_core::Error::Config(m)) => {
                compliance_core::Error::Config(m.clone())
            }
            other => compliance_core::Error::Config(format!("authentication failed: {other}")),
        };
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
        core
    }

    async fn partner_header(&self, headers: &mut HeaderMap) -> Result<(), Error> {
        match &self.shared.partner {
            PartnerState::ApiKey(key) => {
                headers.remove(AUTHORIZATION);
                headers.insert(X_API_KEY, sensitive_header("API key", key.expose_secret())?);
            }
            PartnerState::Tokens {
                username,
                password,
                cell,
            } => {
                let policy = self.shared.policy;
                let stale =
                    |t: Option<&PartnerTokens>| t.is_none_or(|t| policy.is_due(Some(t.expires_at)));
                let tokens = match cell.get() {
                    Some(t) if !stale(Some(&t)) => t,
                    _ => {
                        cell.renew_if(stale, |cur| {
                            renew_partner(&self.shared, username, password, cur)
                        })
                        .await?
                        .0
                    }
                };
                headers.remove(X_API_KEY);
                headers.insert(
                    AUTHORIZATION,
                    bearer_header("partner token", &tokens.token)?,
                );
            }
        }
        Ok(())
    }

    async fn user_header(&self, headers: &mut HeaderMap) -> Result<(), Error> {
        let Some(user) = &self.user else {
            return Ok(());
        };
        match &user.inner {
            UserInner::Identifier(id) => {
                let value = sensitive_header("user identifier", id).map_err(|_| {
                    compliance_core::Error::invalid_request(
                        "user identifier",
                        "contains characters not allowed in an HTTP header",
                    )
                })?;
                headers.insert(USER_IDENTIFIER, value);
            }
            UserInner::Session(session) => {
                let policy = self.shared.policy;
                let stale =
                    |s: Option<&UserSession>| s.is_some_and(|s| policy.is_due(s.expires_at));
                let current = match session.cell.get() {
                    Some(s) if stale(Some(&s)) => self.renew_session(session, stale).await?,
                    Some(s) => s,
                    None => {
                        return Err(Error::Core(compliance_core::Error::Config(
                            "user session missing".into(),
                        )));
                    }
                };
                headers.insert(
                    USER_AUTHORIZATION,
                    bearer_header("user token", &current.token)?,
                );
            }
        }
        Ok(())
    }

    async fn renew_session(
        &self,
        session: &SessionCell,
        stale: impl Fn(Option<&UserSession>) -> bool,
    ) -> Result<UserSession, Error> {
        let (current, renewed) = session
            .cell
            .renew_if(stale, |cur| async move {
                match cur {
                    Some(cur) => renew_user(&self.shared, cur).await,
                    None => Err(Error::Core(compliance_core::Error::Config(
                        "user session missing".into(),
                    ))),
                }
            })
            .await?;
        if renewed {
            let hook = session
                .on_refresh
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(hook) = hook {
                hook(&current);
            }
        }
        Ok(current)
    }

    /// Handles an error response: refreshes what the provider says expired (unless another
    /// call already did, which the token `sent` tells) and asks for one replay.
    async fn inspect_typed(
        &self,
        sent: &HeaderMap,
        response: &Response,
    ) -> Result<AuthVerdict, Error> {
        if response.is_success() {
            return Ok(AuthVerdict::Accept);
        }
        let errors = ApiErrors::from_body(response.body()).unwrap_or_default();
        let user_code = errors.codes().any(ErrorCode::is_user_auth);
        let partner_expired = errors.has(&ErrorCode::Er801)
            || errors.has(&ErrorCode::Er800)
            || (response.status() == StatusCode::UNAUTHORIZED && errors.is_empty());
        let user_session = self.user.as_ref().filter(|u| u.is_session());
        let user_expired = errors.has(&ErrorCode::Er701) && user_session.is_some();
        if user_code && !user_expired {
            return Ok(AuthVerdict::Accept);
        }

        let mut replay = false;
        if partner_expired
            && let PartnerState::Tokens {
                username,
                password,
                cell,
            } = &self.shared.partner
        {
            let stale = |t: Option<&PartnerTokens>| {
                t.is_none_or(|t| header_matches(sent, &AUTHORIZATION, &t.token))
            };
            cell.renew_if(stale, |cur| {
                renew_partner(&self.shared, username, password, cur)
            })
            .await?;
            replay = true;
        }
        if user_expired
            && let Some(UserContext {
                inner: UserInner::Session(session),
            }) = user_session
        {
            let stale = |s: Option<&UserSession>| {
                s.is_some_and(|s| header_matches(sent, &USER_AUTHORIZATION, &s.token))
            };
            self.renew_session(session, stale).await?;
            replay = true;
        }
        Ok(if replay {
            AuthVerdict::Replay
        } else {
            AuthVerdict::Accept
        })
    }
}

#[async_trait]
impl Auth for CallAuth {
    async fn apply(&self, request: &mut AuthContext<'_>) -> Result<(), compliance_core::Error> {
        let result = match self.partner_header(request.headers).await {
            Ok(()) => self.user_header(request.headers).await,
            Err(e) => Err(e),
        };
        result.map_err(|e| self.fail(e))
    }

    async fn inspect(
        &self,
        sent: &HeaderMap,
        response: &Response,
    ) -> Result<AuthVerdict, compliance_core::Error> {
        self.inspect_typed(sent, response)
            .await
            .map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"RS256"}"#),
            b64.encode(claims)
        )
    }

    #[test]
    fn jwt_expiry_is_read_when_present() {
        assert_eq!(
            jwt_expiry(&jwt(r#"{"exp":1700000000}"#)).map(|t| t.as_second()),
            Some(1_700_000_000)
        );
        assert_eq!(jwt_expiry(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.b.c.d"), None);
        assert_eq!(jwt_expiry("a.!!!.c"), None);
    }

    #[test]
    fn opaque_tokens_get_the_configured_lifetime() {
        let policy = TokenPolicy::default();
        let at = policy.expiry(&SecretString::from("opaque"));
        let secs = (at.as_second() - Timestamp::now().as_second()) as u64;
        assert!((3590..=3600).contains(&secs), "{secs}");
        assert!(!policy.is_due(Some(at)));
        assert!(policy.is_due(Some(after(Timestamp::now(), Duration::from_secs(30)))));
        assert!(!policy.is_due(None));
    }

    #[test]
    fn sessions_round_trip_and_never_print_tokens() {
        let session = UserSession::new("user-tok-123", "user-ref-456", "id-1");
        let debug = format!("{session:?} {:?}", UserContext::session(session.clone()));
        assert!(
            !debug.contains("user-tok-123") && !debug.contains("user-ref-456"),
            "{debug}"
        );
        assert!(debug.contains("id-1"));
        let json = serde_json::to_string(&session).unwrap();
        assert_eq!(
            json,
            r#"{"token":"user-tok-123","refreshToken":"user-ref-456","identifier":"id-1"}"#
        );
        let back: UserSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back.token.expose_secret(), "user-tok-123");
        assert_eq!(back.identifier, "id-1");

        let creds = PartnerAuth::credentials("partner", "pw-secret");
        let key = PartnerAuth::api_key("key-secret");
        let debug = format!("{creds:?} {key:?}");
        assert!(
            !debug.contains("pw-secret") && !debug.contains("key-secret"),
            "{debug}"
        );
        assert!(debug.contains("partner"));
    }

    #[test]
    fn sent_tokens_are_compared_exactly() {
        let mut sent = HeaderMap::new();
        sent.insert(
            AUTHORIZATION,
            bearer_header("t", &SecretString::from("abc")).unwrap(),
        );
        assert!(header_matches(
            &sent,
            &AUTHORIZATION,
            &SecretString::from("abc")
        ));
        assert!(!header_matches(
            &sent,
            &AUTHORIZATION,
            &SecretString::from("abcd")
        ));
        assert!(!header_matches(
            &sent,
            &USER_AUTHORIZATION,
            &SecretString::from("abc")
        ));
    }
}
