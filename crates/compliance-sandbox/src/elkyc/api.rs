//! The simulated elKYC's HTTP API: the ten Open API endpoints, the API key check, request
//! bodies read as the application's [`RequestEncryption`] setting says, and answers in the
//! envelope, encrypted in the application's mode.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use compliance_core::time::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::crypto::{SIGNATURE_HEADER, Sealer};
use super::report::{Report, is_tx_hash, normalise};
use super::webhook::iso;
use super::{Applicant, ApplicantStatus, Elkyc, EncryptionMode, RequestEncryption};

/// The API key header elKYC checks.
const API_KEY_HEADER: &str = "x-private-app-key";
/// The largest token lifetime the provider accepts, in seconds.
const MAX_TTL: u64 = 3_153_600_000;
/// Token lifetime when the request names none *(the provider does not document it)*.
const DEFAULT_TTL: u64 = 1800;
/// How long after scheduling an applicant is deleted.
const RETENTION_DAYS: i64 = 30;
/// Blockchains the simulated search accepts (the provider's full list is unpublished).
const BLOCKCHAINS: &[&str] = &[
    "BTC", "ETH", "LTC", "BCH", "TRX", "BSC", "MATIC", "SOL", "TON", "DOGE",
];

type Reply = Result<Response, Response>;

/// NestJS's error shape.
fn nest(status: StatusCode, message: Value, error: Option<&str>) -> Response {
    let mut body = Map::new();
    body.insert("statusCode".into(), json!(status.as_u16()));
    body.insert("message".into(), message);
    if let Some(error) = error {
        body.insert("error".into(), json!(error));
    }
    (status, Json(Value::Object(body))).into_response()
}

fn bad_request(messages: Vec<String>) -> Response {
    nest(
        StatusCode::BAD_REQUEST,
        json!(messages),
        Some("Bad Request"),
    )
}

fn unauthorized() -> Response {
    nest(StatusCode::UNAUTHORIZED, json!("Unauthorized"), None)
}

/// The provider's own error shape: `{status: false, statusCode, error, time}`.
fn failure(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({
            "status": false,
            "statusCode": status.as_u16(),
            "error": error,
            "time": iso(Timestamp::now()),
        })),
    )
        .into_response()
}

fn questionnaire_content(kind: &str) -> (&'static str, &'static str, Value) {
    if kind == "sof" {
        (
            "Source of funds",
            "Where the money the person deposits comes from.",
            json!({"questions": [
                {"id": "occupation", "type": "text", "label": "Occupation", "required": true},
                {"id": "source_of_funds", "type": "select", "label": "Main source of funds",
                 "required": true,
                 "options": ["Salary", "Savings", "Investments", "Inheritance", "Other"]},
                {"id": "monthly_volume", "type": "select", "label": "Expected monthly volume",
                 "required": true,
                 "options": ["< 1,000 EUR", "1,000 - 10,000 EUR", "> 10,000 EUR"]}
            ]}),
        )
    } else {
        (
            "PEP declaration",
            "Whether the person is a politically exposed person.",
            json!({"questions": [
                {"id": "is_pep", "type": "boolean",
                 "label": "Are you a politically exposed person?", "required": true},
                {"id": "pep_details", "type": "text", "label": "Position and country",
                 "required": false}
            ]}),
        )
    }
}

impl Elkyc {
    pub(crate) fn api(&self) -> Router {
        Router::new()
            .route("/api/public/applicant", post(create))
            .route("/api/public/applicant/{id}", get(get_applicant))
            .route("/api/public/applicant/{id}/status", get(status))
            .route("/api/public/applicant/{id}/moveToFlow", post(move_to_flow))
            .route(
                "/api/public/applicant/{id}/schedule-deletion",
                post(schedule_deletion),
            )
            .route("/api/public/applicant/{id}/restore", post(restore))
            .route("/api/public/applicant/{id}/token", post(token))
            .route("/api/public/questionnaire/{id}", get(questionnaire))
            .route("/api/public/crypto-aml/search", post(search))
            .route("/api/public/crypto-aml/{id}/details", get(details))
            .route_layer(middleware::from_fn_with_state(self.clone(), require_key))
            .fallback(not_found)
            .with_state(self.clone())
    }

    /// The request body as JSON, as the application's [`RequestEncryption`] reads it: plain
    /// JSON, or `{"data":"<hex>"}` with `x-allpass-signature`, verified and decrypted.
    fn decode(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, Box<Response>> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            Box::new(nest(
                StatusCode::BAD_REQUEST,
                json!(format!("Unexpected token in JSON: {e}")),
                Some("Bad Request"),
            ))
        })?;
        let creds = self.credentials();
        let encrypted = match &value {
            Value::Object(m) if m.len() == 1 => m.get("data").and_then(Value::as_str),
            _ => None,
        };
        let data = match (creds.requests, encrypted) {
            // An application that does not decrypt reads `{"data": ...}` as any other body.
            (RequestEncryption::Plain, _) | (RequestEncryption::Either, None) => {
                return Ok(value);
            }
            (RequestEncryption::Encrypted, None) => {
                return Err(Box::new(bad_request(vec![
                    "request body must be encrypted".into(),
                ])));
            }
            (_, Some(data)) => data,
        };
        let invalid = || {
            Box::new(nest(
                StatusCode::UNAUTHORIZED,
                json!("Invalid signature"),
                Some("Unauthorized"),
            ))
        };
        if creds.encryption == EncryptionMode::Plain {
            return Err(invalid());
        }
        let signature = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(invalid)?;
        let sealer = Sealer {
            mode: creds.encryption,
            crypto: creds.crypto,
            secret_key: &creds.secret_key,
            hmac_key: &creds.hmac_key,
        };
        let plain = sealer.open(data, signature).map_err(|_| invalid())?;
        serde_json::from_slice(&plain).map_err(|_| {
            Box::new(bad_request(vec![
                "decrypted data must be a JSON object".into(),
            ]))
        })
    }

    /// A success: the envelope, encrypted in the current mode.
    fn respond(&self, status: StatusCode, data: Value) -> Response {
        match self.seal(&data, Timestamp::now()) {
            Ok((body, signature)) => {
                let mut response = (status, body).into_response();
                let headers = response.headers_mut();
                headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                );
                if let Some(value) = signature.and_then(|s| HeaderValue::from_str(&s).ok()) {
                    headers.insert(SIGNATURE_HEADER, value);
                }
                response
            }
            Err(_) => failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Response could not be encrypted",
            ),
        }
    }

    /// Finds an applicant by id, then by external id.
    fn find(&self, key: &str) -> Result<Applicant, Box<Response>> {
        let inner = self.lock();
        inner
            .applicants
            .iter()
            .find(|a| a.id == key)
            .or_else(|| inner.applicants.iter().find(|a| a.external_user_id == key))
            .cloned()
            .ok_or_else(|| Box::new(failure(StatusCode::NOT_FOUND, "Applicant not found")))
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Applicant)) -> Option<Applicant> {
        let mut inner = self.lock();
        let a = inner.applicants.iter_mut().find(|a| a.id == id)?;
        f(a);
        Some(a.clone())
    }

    fn applicant_json(&self, a: &Applicant) -> Value {
        let creds = self.credentials();
        let flow = creds.flows.iter().find(|f| f.id == a.flow_id);
        json!({
            "id": a.id,
            "externalUserId": a.external_user_id,
            "status": a.status,
            "updatedAt": iso(a.updated_at),
            "createdAt": iso(a.created_at),
            "scheduledDeletionDate": a.scheduled_deletion.map(iso),
            "phone": a.phone,
            "email": a.email,
            "lang": a.lang,
            "dateOfBirth": null,
            "ip": null,
            "country": null,
            "region": null,
            "timezone": null,
            "city": null,
            "image": null,
            "fullName": null,
            "fullNameSetByUser": false,
            "clientKey": creds.client_key,
            "flowId": a.flow_id,
            "review": {
                "id": a.review_id,
                "version": a.review_version,
                "status": a.status,
                "createdAt": iso(a.created_at),
                "updatedAt": iso(a.updated_at),
                "comment": null,
                "warnings": null,
                "details": null,
                "reviewerId": null,
                "reviewerFullName": null,
                "statusSetById": null,
                "statusSetByName": null,
            },
            "servicesData": [],
            "applications": {"appKey": creds.app_key},
            "flow": flow.map(|f| json!({
                "name": f.name,
                "id": f.id,
                "type": "ON_DEMAND",
                "autoApprove": false,
                "uniqueFaceMatch": true,
                "services": f.services,
            })),
            "amlMonitoring": null,
            "device": null,
        })
    }
}

async fn require_key(State(s): State<Elkyc>, request: Request, next: Next) -> Response {
    let expected = s.credentials().api_key;
    let given = request
        .headers()
        .get(API_KEY_HEADER)
        .map(HeaderValue::as_bytes);
    if given != Some(expected.as_bytes()) {
        return unauthorized();
    }
    next.run(request).await
}

async fn not_found(request: Request) -> Response {
    nest(
        StatusCode::NOT_FOUND,
        json!(format!(
            "Cannot {} {}",
            request.method(),
            request.uri().path()
        )),
        Some("Not Found"),
    )
}

/// Validation messages for an optional string field.
fn optional_string(body: &Value, field: &str, errors: &mut Vec<String>) -> Option<String> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(format!("{field} must be a string"));
            None
        }
    }
}

/// Validation messages for a required, non-empty string field.
fn required_string(body: &Value, field: &str, errors: &mut Vec<String>) -> Option<String> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::String(_)) => {
            errors.push(format!("{field} should not be empty"));
            None
        }
        None | Some(Value::Null) => {
            errors.push(format!("{field} should not be empty"));
            errors.push(format!("{field} must be a string"));
            None
        }
        Some(_) => {
            errors.push(format!("{field} must be a string"));
            None
        }
    }
}

fn body_object(body: &Value) -> Result<(), Box<Response>> {
    if body.is_object() {
        Ok(())
    } else {
        Err(Box::new(bad_request(vec![
            "request body must be a JSON object".into(),
        ])))
    }
}

async fn create(State(s): State<Elkyc>, headers: HeaderMap, body: Bytes) -> Reply {
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let external = required_string(&body, "externalUserId", &mut errors);
    let flow_name = required_string(&body, "flowName", &mut errors);
    let phone = optional_string(&body, "phone", &mut errors);
    let email = optional_string(&body, "email", &mut errors);
    let lang = optional_string(&body, "lang", &mut errors);
    if email.as_deref().is_some_and(|e| !e.contains('@')) {
        errors.push("email must be an email".into());
    }
    if body
        .get("suppliedInfo")
        .is_some_and(|v| !v.is_null() && !v.is_object())
    {
        errors.push("suppliedInfo must be an object".into());
    }
    let (Some(external), Some(flow_name)) = (external, flow_name) else {
        return Err(bad_request(errors));
    };
    if !errors.is_empty() {
        return Err(bad_request(errors));
    }
    let created = {
        let review_id = s.ids.uuid();
        let id = s.ids.uuid();
        let mut inner = s.lock();
        let Some(flow_id) = inner
            .creds
            .flows
            .iter()
            .find(|f| f.name == flow_name)
            .map(|f| f.id)
        else {
            return Err(failure(StatusCode::NOT_FOUND, "Flow not found"));
        };
        if inner
            .applicants
            .iter()
            .any(|a| a.external_user_id == external)
        {
            return Err(failure(
                StatusCode::CONFLICT,
                "Applicant with this externalUserId already exists",
            ));
        }
        let now = Timestamp::now();
        let a = Applicant {
            id,
            external_user_id: external,
            status: ApplicantStatus::Init,
            flow_id,
            phone,
            email,
            lang,
            review_id,
            review_version: 1,
            created_at: now,
            updated_at: now,
            scheduled_deletion: None,
        };
        inner.applicants.push(a.clone());
        a
    };
    s.send_webhook(&created).await;
    Ok(s.respond(StatusCode::CREATED, s.applicant_json(&created)))
}

async fn get_applicant(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    Ok(s.respond(StatusCode::OK, s.applicant_json(&a)))
}

async fn status(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    Ok(s.respond(StatusCode::OK, json!({"id": a.id, "status": a.status})))
}

async fn move_to_flow(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let Some(flow_id) = required_string(&body, "flowId", &mut errors) else {
        return Err(bad_request(errors));
    };
    let flow = s
        .credentials()
        .flows
        .iter()
        .find(|f| f.id.to_string() == flow_id.trim())
        .map(|f| f.id)
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Flow not found"))?;
    let a = s
        .update(&a.id, |a| {
            if a.flow_id != flow {
                a.flow_id = flow;
                a.updated_at = Timestamp::now();
            }
        })
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Applicant not found"))?;
    Ok(s.respond(StatusCode::OK, json!({"id": a.id, "status": a.status})))
}

async fn schedule_deletion(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    let a = s
        .update(&a.id, |a| {
            if a.scheduled_deletion.is_none() {
                let now = Timestamp::now();
                a.scheduled_deletion = Some(
                    now.checked_add(SignedDuration::from_hours(24 * RETENTION_DAYS))
                        .unwrap_or(now),
                );
            }
        })
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Applicant not found"))?;
    Ok(s.respond(
        StatusCode::OK,
        json!({"id": a.id, "scheduledDeletionDate": a.scheduled_deletion.map(iso)}),
    ))
}

async fn restore(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    if a.scheduled_deletion.is_none() {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "Applicant is not scheduled for deletion",
        ));
    }
    let a = s
        .update(&a.id, |a| a.scheduled_deletion = None)
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Applicant not found"))?;
    Ok(s.respond(StatusCode::OK, json!({"id": a.id})))
}

async fn token(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let a = s.find(&id).map_err(|e| *e)?;
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let locale = optional_string(&body, "locale", &mut errors);
    if let Some(locale) = &locale {
        let ok = !locale.is_empty()
            && locale
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            errors.push("locale must be a valid locale".into());
        }
    }
    let flow_name = optional_string(&body, "flowName", &mut errors);
    let ttl = match body.get("ttl") {
        None | Some(Value::Null) => Some(DEFAULT_TTL),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(t) if t > MAX_TTL => {
                errors.push(format!("ttl must not be greater than {MAX_TTL}"));
                None
            }
            Some(t) if t >= 1 => Some(t),
            _ => {
                errors.push("ttl must be a positive number".into());
                None
            }
        },
        Some(_) => {
            errors.push("ttl must be a number conforming to the specified constraints".into());
            None
        }
    };
    let Some(ttl) = ttl.filter(|_| errors.is_empty()) else {
        return Err(bad_request(errors));
    };
    let creds = s.credentials();
    let flow = match &flow_name {
        Some(name) => creds
            .flows
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Flow not found"))?,
        None => creds
            .flows
            .iter()
            .find(|f| f.id == a.flow_id)
            .ok_or_else(|| failure(StatusCode::NOT_FOUND, "Flow not found"))?,
    };
    let transaction_id = s.ids.uuid();
    let now = Timestamp::now().as_second();
    // `ttl` is at most 3 153 600 000, so the sum cannot overflow.
    let exp = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "sub": a.id,
        "applicantId": a.id,
        "externalUserId": a.external_user_id,
        "transactionId": transaction_id,
        "flowName": flow.name,
        "locale": locale.as_deref().unwrap_or("en"),
        "appKey": creds.app_key,
        "iat": now,
        "exp": exp,
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = URL_SAFE_NO_PAD.encode(s.ids.hex(32));
    let access_token = format!("{header}.{claims}.{signature}");
    let link = format!("https://verify.elkyc.sandbox.invalid/?token={access_token}");
    Ok(s.respond(
        StatusCode::CREATED,
        json!({
            "transactionId": transaction_id,
            "accessToken": access_token,
            "link": link,
            "applicantId": a.id,
            "ttl": ttl,
        }),
    ))
}

async fn questionnaire(State(s): State<Elkyc>, Path(id): Path<String>) -> Reply {
    let (kind, client_key) = {
        let inner = s.lock();
        let kind = inner
            .questionnaires
            .iter()
            .find(|(q, _)| *q == id)
            .map(|(_, kind)| *kind);
        (kind, inner.creds.client_key.clone())
    };
    let kind = kind.ok_or_else(|| failure(StatusCode::NOT_FOUND, "Questionnaire not found"))?;
    let (name, description, content) = questionnaire_content(kind);
    Ok(s.respond(
        StatusCode::OK,
        json!({
            "id": id,
            "name": name,
            "description": description,
            "clientKey": client_key,
            "content": content,
            "version": {"number": 1},
            "createdAt": "2025-01-15T09:00:00.000Z",
        }),
    ))
}

async fn search(State(s): State<Elkyc>, headers: HeaderMap, body: Bytes) -> Reply {
    let body = s.decode(&headers, &body).map_err(|e| *e)?;
    body_object(&body).map_err(|e| *e)?;
    let mut errors = Vec::new();
    let blockchain = match body.get("blockchain") {
        Some(Value::String(b)) if BLOCKCHAINS.contains(&b.as_str()) => Some(b.clone()),
        _ => {
            errors.push(format!(
                "blockchain must be one of the following values: {}",
                BLOCKCHAINS.join(", ")
            ));
            None
        }
    };
    let tx_hash = optional_string(&body, "txHash", &mut errors);
    let address = optional_string(&body, "address", &mut errors);
    let target = match (&tx_hash, &address) {
        (Some(_), Some(_)) => {
            errors.push("txHash and address are mutually exclusive".into());
            None
        }
        (None, None) => {
            errors.push("either txHash or address must be provided".into());
            None
        }
        (Some(hash), None) => {
            if is_tx_hash(hash) {
                Some(("TRANSACTION", hash.clone()))
            } else {
                errors.push("txHash must match /^(0x)?[a-fA-F0-9]{64}$/ regular expression".into());
                None
            }
        }
        (None, Some(address)) => {
            let ok = (20..=100).contains(&address.len())
                && address
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'));
            if ok {
                Some(("WALLET", address.clone()))
            } else {
                errors.push("address must be a valid blockchain address".into());
                None
            }
        }
    };
    let (Some(blockchain), Some((kind, target))) = (blockchain, target) else {
        return Err(bad_request(errors));
    };
    if !errors.is_empty() {
        return Err(bad_request(errors));
    }
    let target = normalise(kind, &target);
    // Every search is a new report (and, at a real provider, possibly a billed one).
    let id = s.ids.uuid();
    s.lock().reports.insert(
        id.clone(),
        Report {
            kind,
            blockchain,
            target,
            created_at: Timestamp::now(),
        },
    );
    Ok(s.respond(StatusCode::CREATED, json!({"id": id, "type": kind})))
}

async fn details(
    State(s): State<Elkyc>,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Reply {
    let kind = query.get("type").map(String::as_str);
    if !matches!(kind, Some("WALLET" | "TRANSACTION")) {
        return Err(bad_request(vec![
            "type must be one of the following values: WALLET, TRANSACTION".into(),
        ]));
    }
    let report = s
        .lock()
        .reports
        .get(&id)
        .filter(|r| Some(r.kind) == kind)
        .cloned()
        .ok_or_else(|| failure(StatusCode::NOT_FOUND, "AML report not found"))?;
    Ok(s.respond(StatusCode::OK, s.report_json(&id, &report)))
}
