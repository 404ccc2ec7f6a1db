//! The client, its builder, and one method per endpoint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use compliance_core::http::{ClientOptions, Request, Response, Transport};
use compliance_core::secret::{SecretString, check_secret};
use serde::Serialize;

use crate::amld5::{Amld5Answers, Amld5Questions};
use crate::auth::{Er801Reading, PartnerAuth, TokenPolicy, UserContext, UserSession};
use crate::error::Result;
use crate::identity::resolver::{self, CallAuth, Tokens};
use crate::user::UserInfo;
use crate::verification::VerificationStatus;

/// Which BTC Direct API to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://api.btcdirect.eu`.
    Production,
    /// `https://api-sandbox.btcdirect.eu`.
    Sandbox,
    /// Any other base URL (a mock server, a proxy).
    Custom(String),
}

impl Environment {
    /// The base URL.
    pub fn base_url(&self) -> &str {
        match self {
            Environment::Production => "https://api.btcdirect.eu",
            Environment::Sandbox => "https://api-sandbox.btcdirect.eu",
            Environment::Custom(url) => url,
        }
    }
}

/// Builds a [`BtcDirectClient`]. Partner authentication is required.
///
/// Besides BTC Direct's own settings it has the setters every client builder of this
/// workspace has: `base_url`, `http_client`, `transport_config`, `user_agent`.
pub struct BtcDirectClientBuilder {
    partner: Option<PartnerAuth>,
    options: ClientOptions,
    policy: TokenPolicy,
    er801: Er801Reading,
    locale: String,
}

impl fmt::Debug for BtcDirectClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BtcDirectClientBuilder")
            .field("partner", &self.partner)
            .field("options", &self.options)
            .field("policy", &self.policy)
            .field("er801", &self.er801)
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

impl BtcDirectClientBuilder {
    compliance_core::client_options_setters!(options);

    /// Selects the environment. Default [`Environment::Production`]. The same as
    /// [`base_url`](Self::base_url) with the environment's URL.
    pub fn environment(self, environment: Environment) -> Self {
        self.base_url(environment.base_url())
    }

    /// Uses the sandbox (`https://api-sandbox.btcdirect.eu`).
    pub fn sandbox(self) -> Self {
        self.environment(Environment::Sandbox)
    }

    /// Sets the partner authentication. Required.
    pub fn partner(mut self, partner: PartnerAuth) -> Self {
        self.partner = Some(partner);
        self
    }

    /// Authenticates the partner with username and password (tokens, refreshed on their own).
    pub fn credentials(
        self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.partner(PartnerAuth::credentials(username, password))
    }

    /// Authenticates the partner with an API key (`X-Api-Key`).
    pub fn api_key(self, key: impl Into<SecretString>) -> Self {
        self.partner(PartnerAuth::api_key(key))
    }

    /// Lifetime assumed for tokens that are not JWTs. Default 1 hour (BTC Direct's
    /// documented lifetime).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.policy.lifetime = lifetime;
        self
    }

    /// How long before expiry tokens are refreshed. Default 60 s.
    pub fn refresh_before_expiry(mut self, margin: Duration) -> Self {
        self.policy.refresh_before_expiry = margin;
        self
    }

    /// What ER801 means on a call made with a user session (the documentation leaves it
    /// open). Default [`Er801Reading::PartnerToken`].
    pub fn er801_reading(mut self, reading: Er801Reading) -> Self {
        self.er801 = reading;
        self
    }

    /// The locale of the questions in [`AmlProvider`](crate::AmlProvider) answers.
    /// Default `en`.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = locale.into();
        self
    }

    /// Builds the client. Fails without partner authentication or with a bad base URL.
    pub fn build(self) -> Result<BtcDirectClient> {
        let partner = self.partner.ok_or_else(|| {
            compliance_core::Error::Config(
                "partner authentication is required: call `credentials(..)` or `api_key(..)`"
                    .into(),
            )
        })?;
        // The workspace's one rule for secrets: used exactly as given.
        match &partner {
            PartnerAuth::Credentials { password, .. } => {
                check_secret("the partner password", password)?
            }
            PartnerAuth::ApiKey(key) => check_secret("the partner API key", key)?,
        }
        let transport = self.options.build_transport(
            crate::PROVIDER,
            concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")),
            Some(Environment::Production.base_url()),
            "BtcDirectClientBuilder",
        )?;
        Ok(BtcDirectClient {
            shared: Arc::new(Shared {
                tokens: Arc::new(Tokens::new(transport, partner, self.policy, self.er801)),
                locale: self.locale,
            }),
        })
    }
}

/// What every clone of a client shares.
struct Shared {
    tokens: Arc<Tokens>,
    locale: String,
}

impl Shared {
    fn transport(&self) -> &Transport {
        &self.tokens.transport
    }
}

/// A BTC Direct partner API client for AMLD5 verification.
///
/// Build it once and reuse it: it is cheap to clone, and clones share the connection pool
/// and the partner token (refreshed once however many calls notice it expired).
#[derive(Clone)]
pub struct BtcDirectClient {
    shared: Arc<Shared>,
}

impl fmt::Debug for BtcDirectClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BtcDirectClient")
            .field("base_url", &self.shared.transport().base_url())
            .field("partner_auth", &self.shared.tokens.partner_kind())
            .field("policy", &self.shared.tokens.policy())
            .finish_non_exhaustive()
    }
}

impl BtcDirectClient {
    /// Starts building a client.
    pub fn builder() -> BtcDirectClientBuilder {
        BtcDirectClientBuilder {
            partner: None,
            options: ClientOptions::default(),
            policy: TokenPolicy::default(),
            er801: Er801Reading::default(),
            locale: "en".into(),
        }
    }

    /// Checks the partner credentials now instead of on the first call: authenticates
    /// (`POST /api/v1/authenticate`) unless a partner token is already at hand, and keeps the
    /// token for the calls that follow. Call it at start-up to fail fast on a wrong
    /// username or password ([`NextStep::FixCredentials`](crate::NextStep::FixCredentials)).
    ///
    /// With an API key nothing is sent (BTC Direct has no call that checks a key alone): the
    /// key is checked by the first call that uses it.
    pub async fn authenticate(&self) -> Result<()> {
        self.shared.tokens.check_partner().await
    }

    /// Logs a user in (`POST /api/v1/user/login`). Wrap the session in
    /// [`UserContext::session`] for user calls, and store it to skip the next login.
    ///
    /// Never resent automatically (a repeat would open a second session): after a timeout
    /// or a 5xx, log in again if you need to.
    pub async fn login(&self, email: &str, password: &SecretString) -> Result<UserSession> {
        resolver::login(&self.shared.tokens, email, password).await
    }

    /// Links a logged-in user to `identifier` so later calls can use
    /// [`UserContext::identifier`] (`POST /api/v1/user/register-identifier`).
    pub async fn register_identifier(
        &self,
        user: &UserContext,
        identifier: &str,
        return_url: &str,
    ) -> Result<()> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            identifier: &'a str,
            return_url: &'a str,
        }
        let request = Request::post("/api/v1/user/register-identifier")
            .operation("register_identifier")
            .json(&Body {
                identifier,
                return_url,
            })?;
        send(&self.shared, request, Some(user)).await.map(drop)
    }

    /// The AMLD5 questions in `locale` (`en`, `nl`...; ER099 for an unknown one)
    /// (`GET /api/v1/user/verify/amld5`).
    pub async fn amld5_questions(
        &self,
        user: &UserContext,
        locale: &str,
    ) -> Result<Amld5Questions> {
        let request = Request::get("/api/v1/user/verify/amld5")
            .operation("amld5_questions")
            .query("locale", locale);
        Ok(send(&self.shared, request, Some(user)).await?.json()?)
    }

    /// Submits answers checked by [`Amld5AnswersBuilder::build`](crate::Amld5AnswersBuilder::build)
    /// (`POST /api/v1/user/verify/amld5`); returns the updated user info.
    pub async fn submit_amld5_answers(
        &self,
        user: &UserContext,
        answers: &Amld5Answers,
    ) -> Result<UserInfo> {
        let request = Request::post("/api/v1/user/verify/amld5")
            .operation("submit_amld5_answers")
            .json(answers)?;
        Ok(send(&self.shared, request, Some(user)).await?.json()?)
    }

    /// What the user still has to do (`GET /api/v2/user/verification-status`); empty when
    /// fully verified.
    pub async fn verification_status(&self, user: &UserContext) -> Result<VerificationStatus> {
        let request =
            Request::get("/api/v2/user/verification-status").operation("verification_status");
        Ok(send(&self.shared, request, Some(user)).await?.json()?)
    }

    /// The user's info (`GET /api/v1/user/info`).
    pub async fn user_info(&self, user: &UserContext) -> Result<UserInfo> {
        let request = Request::get("/api/v1/user/info").operation("user_info");
        Ok(send(&self.shared, request, Some(user)).await?.json()?)
    }

    /// The locale of the AMLD5 questions in [`AmlProvider`](crate::AmlProvider) answers (the
    /// builder's [`locale`](BtcDirectClientBuilder::locale), default `en`).
    pub fn locale(&self) -> &str {
        &self.shared.locale
    }
}

/// Sends `request` with the partner's (and the user's) credentials. The transport resolves
/// them, signs, and has the answer classified: an unsuccessful one arrives as the crate's
/// error, read once.
async fn send(shared: &Shared, request: Request, user: Option<&UserContext>) -> Result<Response> {
    let auth = CallAuth::new(shared.tokens.clone(), user.cloned());
    shared.transport().send_with(request, &auth).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use compliance_core::Actionable as _;
    use compliance_core::NextStep;

    /// Issue #25: one rule for secrets; a password or key with its file's newline is
    /// refused when the client is built.
    #[test]
    fn partner_secrets_with_surrounding_whitespace_are_refused() {
        for builder in [
            BtcDirectClient::builder().api_key("key-xyz\n"),
            BtcDirectClient::builder().credentials("partner", " pw-xyz"),
        ] {
            let err = builder.build().unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("whitespace") && !text.contains("-xyz"),
                "{text}"
            );
            assert_eq!(err.next_step(), NextStep::FixConfiguration);
        }
    }

    #[test]
    fn builder_requires_partner_auth_and_a_valid_url() {
        let err = BtcDirectClient::builder().build().unwrap_err();
        assert!(err.to_string().contains("partner authentication"));
        let err = BtcDirectClient::builder()
            .api_key("k")
            .base_url("not a url")
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Core(compliance_core::Error::Config(_))
        ));
        let client = BtcDirectClient::builder()
            .sandbox()
            .api_key("k")
            .build()
            .unwrap();
        assert_eq!(
            client.shared.transport().base_url(),
            "https://api-sandbox.btcdirect.eu"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let client = BtcDirectClient::builder()
            .credentials("partner-user", "hunter2-pw")
            .build()
            .unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains("hunter2-pw"), "{debug}");
        assert!(debug.contains("credentials"));
        let builder = BtcDirectClient::builder().api_key("key-xyz");
        assert!(!format!("{builder:?}").contains("key-xyz"));
    }
}
