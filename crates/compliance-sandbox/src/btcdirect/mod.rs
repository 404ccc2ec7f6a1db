//! BTC Direct: partner and user authentication with expiring, rotating tokens, the ER error
//! codes, the AMLD5 questions per locale (the three of the documentation's example),
//! answers checked against the offered options, user info with every documented account
//! status and `destinationTag` shape, and a verification status that clears once the
//! answers are accepted.
//!
//! Checks, as the provider documents them: exactly one partner method (`Authorization:
//! Bearer` or `X-Api-Key`; both → ER803 400), expired partner token → ER801 **400**, invalid →
//! ER800, none → ER802; user token expired → ER701, invalid → ER702, none → ER700; unknown
//! locale → ER099; malformed answers → ER100, an answer not offered → ER101.
//!
//! What the documentation leaves open is a setting of [`BtcDirectConfig`]: which credentials
//! must accompany a user-token refresh ([`UserRefreshAuth`]), which code an expired user
//! token gets ([`ExpiredUserToken`]), and the shape of `answerOptions`.
//!
//! Layout (the same in every simulator): this module holds the state and the Rust control
//! API, `api` the provider's HTTP API, `control` the `/sandbox/btcdirect/...` routes,
//! `tokens` how tokens are issued and checked, `questions` and `user_info` the documents
//! served.

mod api;
mod control;
mod questions;
mod tokens;
mod user_info;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::ids::Ids;

/// Which credentials the provider requires with `POST /api/v1/refresh` for a **user** token
/// *(undocumented)*. A partner token is always refreshed with its refresh token alone (the
/// expired partner token could not authenticate anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UserRefreshAuth {
    /// A valid partner credential too, as on every other user call (the default; what
    /// `amld5-verify` assumes). Without one the refresh is answered ER802 / ER801 / ER805.
    #[default]
    PartnerRequired,
    /// The refresh token alone; any partner credential sent along is ignored.
    RefreshTokenOnly,
}

/// The code an expired **user** token is answered with *(ambiguous in the documentation)*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExpiredUserToken {
    /// ER701 "User authorization token has expired" with HTTP 401 (the default; the user
    /// token codes are ER700–ER709).
    #[default]
    Er701,
    /// ER801 "Authorization token has expired" with HTTP 400, the code the documentation
    /// lists for every endpoint, read as covering the user token as well.
    Er801,
}

/// A user account's validation status (`status.status` in the user info).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AccountStatus {
    /// Being validated.
    Pending,
    /// Validated (the default for the sandbox's user).
    #[default]
    Validated,
    /// Not validated.
    NotValidated,
    /// Blocked.
    Blocked,
}

impl AccountStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Validated => "validated",
            Self::NotValidated => "not-validated",
            Self::Blocked => "blocked",
        }
    }
}

/// Settings of the simulated BTC Direct.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BtcDirectConfig {
    /// Lifetime of partner tokens (the provider's is 1 hour).
    pub partner_token_ttl: Duration,
    /// Lifetime of user tokens (the provider's is 1 hour).
    pub user_token_ttl: Duration,
    /// Serve `answerOptions` as `{ "label": ... }` objects instead of strings (the provider
    /// documents objects; its examples show strings).
    pub answer_options_as_objects: bool,
    /// Which credentials a user-token refresh needs.
    pub user_refresh_auth: UserRefreshAuth,
    /// The code an expired user token gets.
    pub expired_user_token: ExpiredUserToken,
}

impl Default for BtcDirectConfig {
    fn default() -> Self {
        Self {
            partner_token_ttl: Duration::from_secs(3600),
            user_token_ttl: Duration::from_secs(3600),
            answer_options_as_objects: false,
            user_refresh_auth: UserRefreshAuth::default(),
            expired_user_token: ExpiredUserToken::default(),
        }
    }
}

/// Credentials the simulated BTC Direct accepts. `Debug` hides passwords and the key.
#[derive(Clone)]
#[non_exhaustive]
pub struct BtcDirectCredentials {
    /// Partner username for `/api/v1/authenticate`.
    pub username: String,
    /// Partner password.
    pub password: String,
    /// Partner API key for `X-Api-Key`.
    pub api_key: String,
    /// A user's email for `/api/v1/user/login`.
    pub user_email: String,
    /// That user's password.
    pub user_password: String,
    /// That user's identifier (for `User-Identifier`).
    pub user_identifier: String,
}

impl std::fmt::Debug for BtcDirectCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BtcDirectCredentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("api_key", &"[redacted]")
            .field("user_email", &self.user_email)
            .field("user_password", &"[redacted]")
            .field("user_identifier", &self.user_identifier)
            .finish()
    }
}

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtcDirectSandboxError {
    /// No user with that identifier.
    #[error("no user `{0}`")]
    UnknownUser(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Partner,
    User(String),
}

#[derive(Debug)]
struct Token {
    subject: Subject,
    expires: SystemTime,
}

#[derive(Debug)]
struct User {
    email: String,
    password: String,
    identifier: String,
    /// Identifiers the partner linked with `register-identifier`.
    linked: Vec<String>,
    first_name: String,
    last_name: String,
    account: AccountStatus,
    amld5_answers: Option<Vec<(String, String)>>,
}

#[derive(Debug)]
struct Inner {
    config: BtcDirectConfig,
    creds: BtcDirectCredentials,
    tokens: HashMap<String, Token>,
    refresh: HashMap<String, Subject>,
    users: Vec<User>,
}

/// The simulated BTC Direct's state; cheap to clone.
#[derive(Debug, Clone)]
pub struct BtcDirect {
    inner: Arc<Mutex<Inner>>,
    ids: Ids,
}

impl BtcDirect {
    pub(crate) fn new(config: BtcDirectConfig, ids: Ids) -> Self {
        let creds = BtcDirectCredentials {
            username: "partner-sandbox".into(),
            password: format!("pw-{}", ids.hex(8)),
            api_key: format!("key-{}", ids.hex(16)),
            user_email: "alex.doe@example.com".into(),
            user_password: format!("user-pw-{}", ids.hex(6)),
            user_identifier: ids.uuid(),
        };
        let user = User {
            email: creds.user_email.clone(),
            password: creds.user_password.clone(),
            identifier: creds.user_identifier.clone(),
            linked: Vec::new(),
            first_name: "Alex".into(),
            last_name: "Doe".into(),
            account: AccountStatus::Validated,
            amld5_answers: None,
        };
        let inner = Inner {
            config,
            creds,
            tokens: HashMap::new(),
            refresh: HashMap::new(),
            users: vec![user],
        };
        Self {
            inner: Arc::new(Mutex::new(inner)),
            ids,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The credentials this instance accepts.
    pub fn credentials(&self) -> BtcDirectCredentials {
        self.lock().creds.clone()
    }

    /// The settings in force.
    pub fn config(&self) -> BtcDirectConfig {
        self.lock().config.clone()
    }

    /// Whether the user with `identifier` has answered the AMLD5 questions.
    pub fn amld5_answered(&self, identifier: &str) -> bool {
        self.lock()
            .users
            .iter()
            .any(|u| u.identifier == identifier && u.amld5_answers.is_some())
    }

    /// Sets a user's account status (`pending`, `validated`, `not-validated`, `blocked`).
    pub fn set_account_status(
        &self,
        identifier: &str,
        status: AccountStatus,
    ) -> Result<(), BtcDirectSandboxError> {
        let mut inner = self.lock();
        let user = inner
            .users
            .iter_mut()
            .find(|u| u.identifier == identifier)
            .ok_or_else(|| BtcDirectSandboxError::UnknownUser(identifier.to_owned()))?;
        user.account = status;
        Ok(())
    }

    /// Expires every token now (partner and user), as if an hour had passed.
    pub fn expire_all_tokens(&self) {
        self.expire(|_| true);
    }

    /// Expires the partner tokens only.
    pub fn expire_partner_tokens(&self) {
        self.expire(|s| *s == Subject::Partner);
    }

    /// Expires the user tokens only.
    pub fn expire_user_tokens(&self) {
        self.expire(|s| matches!(s, Subject::User(_)));
    }

    fn expire(&self, which: impl Fn(&Subject) -> bool) {
        let past = SystemTime::now() - Duration::from_secs(1);
        for t in self.lock().tokens.values_mut() {
            if which(&t.subject) {
                t.expires = past;
            }
        }
    }
}
