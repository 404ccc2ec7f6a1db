//! The simulated BTC Direct's HTTP API: authenticate, refresh, user login and
//! register-identifier, the AMLD5 questions and answers, verification status and user info.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::questions::{self, KEYS};
use super::tokens::{bad_credentials, error};
use super::{BtcDirect, Subject, UserRefreshAuth};

type Reply = Result<Response, Response>;

impl BtcDirect {
    pub(crate) fn api(&self) -> Router {
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
}

fn tokens(token: String, refresh_token: String) -> Response {
    Json(json!({"token": token, "refreshToken": refresh_token})).into_response()
}

#[derive(Deserialize)]
struct Login {
    #[serde(alias = "email")]
    username: Option<String>,
    password: Option<String>,
}

async fn authenticate(State(s): State<BtcDirect>, body: Bytes) -> Reply {
    let login: Login = serde_json::from_slice(&body).map_err(|_| error("ER999"))?;
    let mut inner = s.lock();
    if login.username.as_deref() != Some(inner.creds.username.as_str())
        || login.password.as_deref() != Some(inner.creds.password.as_str())
    {
        return Err(bad_credentials());
    }
    let (token, refresh_token) = s.issue(&mut inner, Subject::Partner);
    Ok(tokens(token, refresh_token))
}

/// `POST /api/v1/refresh {refreshToken}`: a new token and a new refresh token (the used one
/// is spent). A user's refresh also needs the partner credential when the configuration
/// says so; a partner's never does.
async fn refresh(State(s): State<BtcDirect>, headers: HeaderMap, body: Bytes) -> Reply {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Refresh {
        refresh_token: String,
    }
    let req: Refresh = serde_json::from_slice(&body).map_err(|_| error("ER999"))?;
    let not_found = || {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 401, "message": "JWT Refresh Token Not Found"})),
        )
            .into_response()
    };
    let (subject, needs_partner) = {
        let inner = s.lock();
        let subject = inner
            .refresh
            .get(&req.refresh_token)
            .cloned()
            .ok_or_else(not_found)?;
        let needs_partner = matches!(subject, Subject::User(_))
            && inner.config.user_refresh_auth == UserRefreshAuth::PartnerRequired;
        (subject, needs_partner)
    };
    if needs_partner {
        s.partner(&headers).map_err(error)?;
    }
    let mut inner = s.lock();
    // Refresh tokens rotate: the one used is spent (a concurrent refresh may have spent it).
    if inner.refresh.remove(&req.refresh_token).is_none() {
        return Err(not_found());
    }
    let (token, refresh_token) = s.issue(&mut inner, subject);
    Ok(tokens(token, refresh_token))
}

/// Links a partner-chosen identifier to the logged-in user, so later calls can name the
/// user with `User-Identifier` alone.
async fn register_identifier(State(s): State<BtcDirect>, headers: HeaderMap, body: Bytes) -> Reply {
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

async fn user_login(State(s): State<BtcDirect>, headers: HeaderMap, body: Bytes) -> Reply {
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
    let qs = questions::questions(&locale, as_objects).ok_or_else(|| error("ER099"))?;
    Ok(Json(json!({"questions": qs})).into_response())
}

/// A JSON array with one `{key, answer}` per question: anything else is ER100, an answer
/// not offered ER101.
async fn post_answers(State(s): State<BtcDirect>, headers: HeaderMap, body: Bytes) -> Reply {
    s.partner(&headers).map_err(error)?;
    let id = s.user(&headers).map_err(error)?;
    #[derive(Deserialize)]
    struct Answer {
        key: String,
        answer: String,
    }
    let answers: Vec<Answer> = serde_json::from_slice(&body).map_err(|_| error("ER100"))?;
    let complete = KEYS
        .iter()
        .all(|k| answers.iter().filter(|a| a.key == *k).count() == 1)
        && answers.len() == KEYS.len();
    if !complete {
        return Err(error("ER100"));
    }
    if answers
        .iter()
        .any(|a| !questions::allowed(&a.key, &a.answer))
    {
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
        let data = questions::questions("en", as_objects).unwrap_or(Value::Null);
        json!([{"name": "AMLD5Questions", "type": "question", "status": "open", "data": data}])
    };
    Ok(Json(items).into_response())
}

async fn user_info(State(s): State<BtcDirect>, headers: HeaderMap) -> Reply {
    s.partner(&headers).map_err(error)?;
    let id = s.user(&headers).map_err(error)?;
    Ok(Json(s.info(&id)).into_response())
}
