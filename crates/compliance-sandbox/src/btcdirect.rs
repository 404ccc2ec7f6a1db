//! BTC Direct: partner and user authentication with expiring, rotating tokens, the ER error
//! codes, AMLD5 questions per locale, answers checked against the offered options, and a
//! verification status that clears once the answers are accepted.
//!
//! Checks, as the provider documents them: exactly one partner method (`Authorization:
//! Bearer` or `X-Api-Key`; both → ER803 400), expired partner token → ER801 **400**, invalid →
//! ER800, none → ER802; user token expired → ER701, invalid → ER702, none → ER700; unknown
//! locale → ER099; malformed answers → ER100, an answer not offered → ER101.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ids::Ids;

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
}

impl Default for BtcDirectConfig {
    fn default() -> Self {
        Self {
            partner_token_ttl: Duration::from_secs(3600),
            user_token_ttl: Duration::from_secs(3600),
            answer_options_as_objects: false,
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

#[derive(Debug)]
struct Token {
    subject: Subject,
    expires: SystemTime,
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Partner,
    User(String),
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

type Reply = Result<Response, Response>;

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

    /// The credentials this instance accepts.
    pub fn credentials(&self) -> BtcDirectCredentials {
        self.lock().creds.clone()
    }

    /// Whether the user with `identifier` has answered the AMLD5 questions.
    pub fn amld5_answered(&self, identifier: &str) -> bool {
        self.lock()
            .users
            .iter()
            .any(|u| u.identifier == identifier && u.amld5_answers.is_some())
    }

    /// Expires every token now (partner and user), as if an hour had passed.
    pub fn expire_all_tokens(&self) {
        let past = SystemTime::now() - Duration::from_secs(1);
        for t in self.lock().tokens.values_mut() {
            t.expires = past;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn router(&self) -> Router {
        Router::new()
            .route("/api/v1/authenticate", post(authenticate))
            .route("/api/v1/refresh", post(refresh))
            .route("/api/v1/user/login", post(user_login))
            .route(
                "/api/v1/user/register-identifier",
                post(register_identifier),
            )
            .route(
                "/api/v1/user/verify/amld5",
                get(get_questions).post(post_answers),
            )
            .route("/api/v2/user/verification-status", get(verification_status))
            .route("/api/v1/user/info", get(user_info))
            .with_state(self.clone())
    }

    fn issue(&self, inner: &mut Inner, subject: Subject) -> (String, String) {
        let ttl = match subject {
            Subject::Partner => inner.config.partner_token_ttl,
            Subject::User(_) => inner.config.user_token_ttl,
        };
        let expires = SystemTime::now() + ttl;
        let exp = expires
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let sub = match &subject {
            Subject::Partner => "partner".to_owned(),
            Subject::User(id) => id.clone(),
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(json!({"exp": exp, "sub": sub}).to_string());
        let token = format!(
            "{header}.{claims}.{}",
            URL_SAFE_NO_PAD.encode(self.ids.hex(16))
        );
        let refresh_token = self.ids.hex(32);
        inner.tokens.insert(
            token.clone(),
            Token {
                subject: subject.clone(),
                expires,
            },
        );
        inner.refresh.insert(refresh_token.clone(), subject);
        (token, refresh_token)
    }

    /// Checks exactly one partner method.
    fn partner(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let inner = self.lock();
        match (bearer, key) {
            (Some(_), Some(_)) => Err("ER803"),
            (None, None) => Err("ER802"),
            (None, Some(k)) if k == inner.creds.api_key => Ok(()),
            (None, Some("")) => Err("ER806"),
            (None, Some(_)) => Err("ER805"),
            (Some(b), None) => {
                let Some(token) = b.strip_prefix("Bearer ") else {
                    return Err("ER800");
                };
                match inner.tokens.get(token) {
                    Some(t) if t.subject == Subject::Partner && t.expires > SystemTime::now() => {
                        Ok(())
                    }
                    Some(t) if t.subject == Subject::Partner => Err("ER801"),
                    _ => Err("ER800"),
                }
            }
        }
    }

    /// Checks the user context and returns the user's identifier.
    fn user(&self, headers: &HeaderMap) -> Result<String, &'static str> {
        let inner = self.lock();
        if let Some(v) = headers
            .get("user-authorization")
            .and_then(|v| v.to_str().ok())
        {
            let token = v.strip_prefix("Bearer ").unwrap_or(v);
            return match inner.tokens.get(token) {
                Some(Token {
                    subject: Subject::User(id),
                    expires,
                }) if *expires > SystemTime::now() => Ok(id.clone()),
                Some(Token {
                    subject: Subject::User(_),
                    ..
                }) => Err("ER701"),
                _ => Err("ER702"),
            };
        }
        if let Some(id) = headers.get("user-identifier").and_then(|v| v.to_str().ok()) {
            return if let Some(u) = inner
                .users
                .iter()
                .find(|u| u.identifier == id || u.linked.iter().any(|l| l == id))
            {
                Ok(u.identifier.clone())
            } else {
                Err("ER700")
            };
        }
        Err("ER700")
    }
}

/// The provider's error envelope for one code.
fn error(code: &str) -> Response {
    let (status, message, solution) = match code {
        "ER099" => (400, "Invalid locale.", "Provide a supported locale."),
        "ER100" => (
            400,
            "Missing or malformed AMLD5 answers.",
            "Provide well-formed AMLD5 answers with correct keys.",
        ),
        "ER101" => (
            400,
            "Invalid AMLD5 answer provided.",
            "Provide valid, supported answers for all questions.",
        ),
        "ER700" => (
            401,
            "User not found.",
            "Provide a valid user token or identifier.",
        ),
        "ER701" => (
            401,
            "User authorization token has expired.",
            "Refresh the user token.",
        ),
        "ER702" => (
            401,
            "User authorization token is invalid.",
            "Log the user in again.",
        ),
        "ER800" => (
            401,
            "Authorization token is invalid.",
            "Provide a valid authorization token.",
        ),
        "ER801" => (
            400,
            "Authorization token has expired.",
            "Request a new authorization token.",
        ),
        "ER802" => (
            401,
            "Authorization token not found.",
            "Provide an authorization token.",
        ),
        "ER803" => (
            400,
            "Multiple authorization methods used.",
            "Use exactly one authorization method.",
        ),
        "ER805" => (401, "API key is invalid.", "Provide a valid API key."),
        "ER806" => (401, "API key not found.", "Provide an API key."),
        _ => (
            500,
            "A general error has occurred. Please contact our support team.",
            "Contact our support team.",
        ),
    };
    let body = json!({"errors": {code: {"code": code, "message": message, "solution": solution}}});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(body),
    )
        .into_response()
}

fn bad_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"code": 401, "message": "Invalid credentials."})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Login {
    #[serde(alias = "email")]
    username: Option<String>,
    password: Option<String>,
}

async fn authenticate(State(s): State<BtcDirect>, body: axum::body::Bytes) -> Reply {
    let login: Login = serde_json::from_slice(&body).map_err(|_| error("ER999"))?;
    let mut inner = s.lock();
    if login.username.as_deref() != Some(inner.creds.username.as_str())
        || login.password.as_deref() != Some(inner.creds.password.as_str())
    {
        return Err(bad_credentials());
    }
    let (token, refresh_token) = s.issue(&mut inner, Subject::Partner);
    Ok(Json(json!({"token": token, "refreshToken": refresh_token})).into_response())
}

async fn refresh(State(s): State<BtcDirect>, body: axum::body::Bytes) -> Reply {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Refresh {
        refresh_token: String,
    }
    let req: Refresh = serde_json::from_slice(&body).map_err(|_| error("ER999"))?;
    let mut inner = s.lock();
    // Refresh tokens rotate: the one used is spent.
    let Some(subject) = inner.refresh.remove(&req.refresh_token) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 401, "message": "JWT Refresh Token Not Found"})),
        )
            .into_response());
    };
    let (token, refresh_token) = s.issue(&mut inner, subject);
    Ok(Json(json!({"token": token, "refreshToken": refresh_token})).into_response())
}

/// Links a partner-chosen identifier to the logged-in user, so later calls can name the
/// user with `User-Identifier` alone.
async fn register_identifier(
    State(s): State<BtcDirect>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Reply {
    s.partner(&headers).map_err(error)?;
    if headers.get("user-authorization").is_none() {
        return Err(error("ER700"));
    }
    let id = s.user(&headers).map_err(error)?;
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Register {
        identifier: String,
        return_url: String,
    }
    let req: Register = serde_json::from_slice(&body).map_err(|_| error("ER999"))?;
    if req.identifier.trim().is_empty() || req.return_url.trim().is_empty() {
        return Err(error("ER999"));
    }
    let mut inner = s.lock();
    if let Some(u) = inner.users.iter_mut().find(|u| u.identifier == id) {
        u.linked.push(req.identifier);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn user_login(
    State(s): State<BtcDirect>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Reply {
    s.partner(&headers).map_err(error)?;
    #[derive(Deserialize)]
    struct UserLogin {
        email: String,
        password: String,
    }
    let login: UserLogin = serde_json::from_slice(&body).map_err(|_| error("ER999"))?;
    let mut inner = s.lock();
    let Some(identifier) = inner
        .users
        .iter()
        .find(|u| u.email == login.email && u.password == login.password)
        .map(|u| u.identifier.clone())
    else {
        return Err(bad_credentials());
    };
    let (token, refresh_token) = s.issue(&mut inner, Subject::User(identifier.clone()));
    Ok(
        Json(json!({"token": token, "refreshToken": refresh_token, "identifier": identifier}))
            .into_response(),
    )
}

/// Question keys with their labels and options per locale.
fn questions(locale: &str, as_objects: bool) -> Option<Value> {
    let (labels, options): ([&str; 4], [&[&str]; 4]) = match locale {
        "en" | "en-GB" | "en-US" => (
            [
                "What is your main source of income?",
                "What is your annual net income?",
                "What is your employment status?",
                "Why are you opening this account?",
            ],
            [
                &[
                    "Salary",
                    "Investing",
                    "Savings",
                    "Inheritance",
                    "Business income",
                    "Pension or benefits",
                ],
                &[
                    "Less than 10.000",
                    "From 10.000 to 30.000",
                    "From 30.000 to 60.000",
                    "More than 60.000",
                ],
                &[
                    "Employed",
                    "Self-employed",
                    "Unemployed",
                    "Retired",
                    "Student",
                ],
                &["Investing", "Payments", "Savings"],
            ],
        ),
        "nl" | "nl-NL" => (
            [
                "Wat is uw belangrijkste bron van inkomsten?",
                "Wat is uw netto jaarinkomen?",
                "Wat is uw arbeidssituatie?",
                "Waarom opent u dit account?",
            ],
            [
                &[
                    "Salaris",
                    "Beleggen",
                    "Spaargeld",
                    "Erfenis",
                    "Bedrijfsinkomsten",
                    "Pensioen of uitkering",
                ],
                &[
                    "Minder dan 10.000",
                    "Van 10.000 tot 30.000",
                    "Van 30.000 tot 60.000",
                    "Meer dan 60.000",
                ],
                &[
                    "In loondienst",
                    "Zelfstandig",
                    "Werkloos",
                    "Gepensioneerd",
                    "Student",
                ],
                &["Beleggen", "Betalingen", "Sparen"],
            ],
        ),
        _ => return None,
    };
    let keys = [
        "mainSourceOfIncome",
        "annualNetIncome",
        "employmentStatus",
        "accountPurpose",
    ];
    let list: Vec<Value> = keys
        .iter()
        .zip(labels)
        .zip(options)
        .map(|((key, label), opts)| {
            let opts: Vec<Value> = opts
                .iter()
                .map(|o| {
                    if as_objects {
                        json!({"label": o})
                    } else {
                        json!(o)
                    }
                })
                .collect();
            json!({"key": key, "label": label, "answerOptions": opts})
        })
        .collect();
    Some(Value::Array(list))
}

fn allowed(key: &str, answer: &str) -> bool {
    ["en", "nl"].iter().any(|l| {
        questions(l, false)
            .and_then(|q| q.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .any(|q| {
                q["key"] == key
                    && q["answerOptions"]
                        .as_array()
                        .is_some_and(|o| o.iter().any(|o| o == answer))
            })
    })
}

#[derive(Deserialize)]
struct LocaleQuery {
    locale: Option<String>,
}

async fn get_questions(
    State(s): State<BtcDirect>,
    headers: HeaderMap,
    Query(q): Query<LocaleQuery>,
) -> Reply {
    s.partner(&headers).map_err(error)?;
    s.user(&headers).map_err(error)?;
    let as_objects = s.lock().config.answer_options_as_objects;
    let locale = q.locale.unwrap_or_else(|| "en".into());
    let qs = questions(&locale, as_objects).ok_or_else(|| error("ER099"))?;
    Ok(Json(json!({"questions": qs})).into_response())
}

async fn post_answers(
    State(s): State<BtcDirect>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Reply {
    s.partner(&headers).map_err(error)?;
    let id = s.user(&headers).map_err(error)?;
    #[derive(Deserialize)]
    struct Answer {
        key: String,
        answer: String,
    }
    let answers: Vec<Answer> = serde_json::from_slice(&body).map_err(|_| error("ER100"))?;
    let keys = [
        "mainSourceOfIncome",
        "annualNetIncome",
        "employmentStatus",
        "accountPurpose",
    ];
    let complete = keys
        .iter()
        .all(|k| answers.iter().filter(|a| a.key == *k).count() == 1)
        && answers.len() == keys.len();
    if !complete {
        return Err(error("ER100"));
    }
    if answers.iter().any(|a| !allowed(&a.key, &a.answer)) {
        return Err(error("ER101"));
    }
    {
        let mut inner = s.lock();
        if let Some(u) = inner.users.iter_mut().find(|u| u.identifier == id) {
            u.amld5_answers = Some(answers.into_iter().map(|a| (a.key, a.answer)).collect());
        }
    }
    Ok(Json(s.info(&id)).into_response())
}

async fn verification_status(State(s): State<BtcDirect>, headers: HeaderMap) -> Reply {
    s.partner(&headers).map_err(error)?;
    let id = s.user(&headers).map_err(error)?;
    let items = if s.amld5_answered(&id) {
        json!([])
    } else {
        let as_objects = s.lock().config.answer_options_as_objects;
        json!([{"name": "AMLD5Questions", "type": "question", "status": "open", "data": questions("en", as_objects)}])
    };
    Ok(Json(items).into_response())
}

async fn user_info(State(s): State<BtcDirect>, headers: HeaderMap) -> Reply {
    s.partner(&headers).map_err(error)?;
    let id = s.user(&headers).map_err(error)?;
    Ok(Json(s.info(&id)).into_response())
}

impl BtcDirect {
    fn info(&self, identifier: &str) -> Value {
        let inner = self.lock();
        let Some(u) = inner.users.iter().find(|u| u.identifier == identifier) else {
            return json!({});
        };
        let amld5 = if u.amld5_answers.is_some() {
            "verified"
        } else {
            "open"
        };
        let money = |amount: Value| json!({"amount": amount, "currencyCode": "EUR"});
        json!({
            "emailAddress": u.email,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "region": "nl-nl",
            "phoneNumber": "+31600000000",
            "registrationDate": "2019-01-01T14:13:55Z",
            "activationDate": "2019-01-02T12:43:25Z",
            "is_business": false,
            "limits": {
                "buy": {"limit": money(json!(3000)), "remaining": money(json!(2750.5)), "interval": "P1D"},
                "sell": {"limit": money(json!(3000)), "remaining": money(json!(3000)), "interval": "P1D"}
            },
            "enabledIbanAccounts": [],
            "enabledWalletAddresses": [
                {"currency": "BTC", "address": "3FZbgi29cpjq2GjdwV8eyHuJJnkLtktZc5", "destinationTag": null,
                 "name": "My BTC wallet 1", "status": "verified", "walletType": "unhosted",
                 "verificationStatus": "required", "id": 189632},
                {"currency": "XRP", "address": "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "destinationTag": 12341,
                 "name": "XRP", "status": "pending", "walletType": "vasp",
                 "verificationStatus": "travel_rule_required", "id": 189633}
            ],
            "enabledAccounts": [{"type": "iban", "name": "My bank account", "identifier": "NL00BANK0123456789", "verified": true, "limitRaised": false}],
            "status": {
                "status": "validated",
                "description": "Identification process succeeded.",
                "details": {
                    "amld5VerificationStatus": amld5,
                    "emailAddressVerificationStatus": "verified",
                    "identityVerificationStatus": "verified",
                    "privacyAgreementVerificationStatus": "verified",
                    "identityDocumentVerificationStatus": [
                        {"documentType": "Passport", "documentSide": "Front", "status": "present"}
                    ],
                    "residentialAddressVerificationStatus": "present"
                }
            },
            "verificationLevel": {"id": "a1b2c3d4-0003-4000-8000-000000000003", "level": "hero",
                "buyLimit": money(json!(3000)), "sellLimit": money(json!(3000))}
        })
    }
}
