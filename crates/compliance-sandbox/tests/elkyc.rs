//! The simulated elKYC checks what the real one checks, on raw HTTP. Encrypted answers are
//! opened with `kyc-public-api`'s cipher: two implementations written apart agree.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use compliance_core::http::{
    HeaderName, HeaderValue, Method, Request, Response, Transport, encode_path_segment,
};
use compliance_sandbox::elkyc::{ElkycSandboxError, risk_score};
use compliance_sandbox::{
    ApplicantStatus, ElkycConfig, ElkycCredentials, EncryptionMode, Provider, RequestEncryption,
    Sandbox, SandboxConfig,
};
use kyc_public_api::encryption::{Cipher, EncryptionSettings};
use serde_json::{Value, json};

async fn start(mode: EncryptionMode) -> (Sandbox, Transport) {
    start_with(ElkycConfig::default().encryption(mode)).await
}

async fn start_with(elkyc: ElkycConfig) -> (Sandbox, Transport) {
    let mut config = SandboxConfig::default();
    config.elkyc = elkyc;
    let sandbox = Sandbox::start(config).await.unwrap();
    let t = Transport::builder(sandbox.endpoint(Provider::Elkyc).url())
        .build()
        .unwrap();
    (sandbox, t)
}

fn key(sandbox: &Sandbox) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("x-private-app-key"),
        HeaderValue::from_str(&sandbox.elkyc().credentials().api_key).unwrap(),
    )
}

fn json_of(r: &Response) -> Value {
    serde_json::from_slice(r.body()).unwrap()
}

/// The client crate's settings for the sandbox's keys, in its current mode.
fn settings(creds: &ElkycCredentials) -> Option<EncryptionSettings> {
    match creds.encryption {
        EncryptionMode::Cbc => Some(EncryptionSettings::cbc(
            creds.secret_key.clone(),
            creds.hmac_key.clone(),
        )),
        EncryptionMode::Gcm => Some(EncryptionSettings::gcm(creds.secret_key.clone())),
        _ => None,
    }
}

/// `data` of a successful answer, decrypted when the sandbox encrypts.
fn data_of(sandbox: &Sandbox, r: &Response) -> Value {
    let body = json_of(r);
    assert_eq!(body["status"], true, "{body}");
    assert!(body["time"].is_string(), "{body}");
    match &body["data"] {
        Value::String(hex) => {
            let settings =
                settings(&sandbox.elkyc().credentials()).expect("encrypted data in plain mode");
            let signature = r.headers()["x-allpass-signature"].to_str().unwrap();
            let plain = Cipher::new(&settings)
                .unwrap()
                .decrypt(hex, signature)
                .unwrap();
            serde_json::from_slice(&plain).unwrap()
        }
        other => other.clone(),
    }
}

async fn send(
    sandbox: &Sandbox,
    t: &Transport,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let (name, value) = key(sandbox);
    let mut req = Request::new(method, path).header(name, value);
    if let Some(body) = body {
        req = req.json(&body).unwrap();
    }
    t.send(req).await.unwrap()
}

async fn create(sandbox: &Sandbox, t: &Transport, external: &str) -> Value {
    let r = send(
        sandbox,
        t,
        Method::POST,
        "/api/public/applicant",
        Some(json!({"externalUserId": external, "flowName": "basic-kyc"})),
    )
    .await;
    assert_eq!(r.status(), 201, "{}", String::from_utf8_lossy(r.body()));
    data_of(sandbox, &r)
}

#[tokio::test]
async fn the_app_key_is_required_on_every_public_call() {
    let (sandbox, t) = start(EncryptionMode::Plain).await;
    let qid = sandbox.elkyc().credentials().questionnaire_ids[0].clone();
    let path = format!("/api/public/questionnaire/{qid}");
    let r = t.send(Request::get(path.as_str())).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        json_of(&r),
        json!({"statusCode": 401, "message": "Unauthorized"})
    );
    let wrong = Request::get(path.as_str()).header(
        HeaderName::from_static("x-private-app-key"),
        HeaderValue::from_static("pk_sandbox_wrong"),
    );
    assert_eq!(t.send(wrong).await.unwrap().status(), 401);
    let r = t
        .send(
            Request::post("/api/public/crypto-aml/search")
                .json(&json!({}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "auth is checked before validation");

    let r = send(&sandbox, &t, Method::GET, &path, None).await;
    assert_eq!(r.status(), 200);
    let q = data_of(&sandbox, &r);
    assert_eq!(q["id"], qid);
    assert!(q["content"]["questions"].as_array().unwrap().len() >= 2);
    assert_eq!(
        sandbox
            .endpoint(Provider::Elkyc)
            .counters()
            .snapshot()
            .values()
            .sum::<u64>(),
        4
    );

    let r = send(
        &sandbox,
        &t,
        Method::GET,
        "/api/public/questionnaire/nope",
        None,
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(json_of(&r)["status"], false);
    let r = send(&sandbox, &t, Method::GET, "/api/public/nothing-here", None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(json_of(&r)["error"], "Not Found");
}

#[tokio::test]
async fn create_validates_like_nestjs_and_refuses_duplicates_and_unknown_flows() {
    let (sandbox, t) = start(EncryptionMode::Plain).await;
    let r = send(
        &sandbox,
        &t,
        Method::POST,
        "/api/public/applicant",
        Some(json!({"email": 5})),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body = json_of(&r);
    assert_eq!(body["statusCode"], 400);
    assert_eq!(body["error"], "Bad Request");
    let messages: Vec<&str> = body["message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for expected in [
        "externalUserId should not be empty",
        "flowName should not be empty",
        "email must be a string",
    ] {
        assert!(messages.contains(&expected), "{messages:?}");
    }

    let r = send(
        &sandbox,
        &t,
        Method::POST,
        "/api/public/applicant",
        Some(json!({"externalUserId": "u-1", "flowName": "no-such-flow"})),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(json_of(&r)["error"], "Flow not found");

    let a = create(&sandbox, &t, "u-1").await;
    assert_eq!(a["status"], "INIT");
    assert_eq!(a["flow"]["name"], "basic-kyc");
    assert_eq!(a["flowId"], 1);
    let r = send(
        &sandbox,
        &t,
        Method::POST,
        "/api/public/applicant",
        Some(json!({"externalUserId": "u-1", "flowName": "enhanced-kyc"})),
    )
    .await;
    assert_eq!(r.status(), 409);
    let body = json_of(&r);
    assert_eq!(body["status"], false);
    assert!(body["error"].as_str().unwrap().contains("already exists"));
    assert_eq!(sandbox.elkyc().applicants().len(), 1);
}

#[tokio::test]
async fn odd_external_ids_round_trip_through_the_path() {
    let (sandbox, t) = start(EncryptionMode::Gcm).await;
    for external in ["a/b c?d#e", "zoë/ünïcode ✓", "100% real&id=1"] {
        let created = create(&sandbox, &t, external).await;
        let path = format!(
            "/api/public/applicant/{}",
            encode_path_segment("applicantId", external).unwrap()
        );
        let r = send(&sandbox, &t, Method::GET, &path, None).await;
        assert_eq!(r.status(), 200, "{external}");
        let got = data_of(&sandbox, &r);
        assert_eq!(got["externalUserId"], external);
        assert_eq!(got["id"], created["id"]);
        let r = send(&sandbox, &t, Method::GET, &format!("{path}/status"), None).await;
        assert_eq!(data_of(&sandbox, &r)["status"], "INIT");
    }
    let id = sandbox.elkyc().applicants()[0].id.clone();
    let r = send(
        &sandbox,
        &t,
        Method::GET,
        &format!("/api/public/applicant/{id}"),
        None,
    )
    .await;
    assert_eq!(data_of(&sandbox, &r)["externalUserId"], "a/b c?d#e");
    let r = send(
        &sandbox,
        &t,
        Method::GET,
        "/api/public/applicant/unknown",
        None,
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(json_of(&r)["error"], "Applicant not found");
}

#[tokio::test]
async fn search_needs_exactly_one_valid_target_and_reports_are_deterministic() {
    let (sandbox, t) = start(EncryptionMode::Plain).await;
    let search = |body: Value| {
        send(
            &sandbox,
            &t,
            Method::POST,
            "/api/public/crypto-aml/search",
            Some(body),
        )
    };
    let hash = "ab".repeat(32);
    let message = |r: &Response| json_of(r)["message"].to_string();

    let r = search(json!({"blockchain": "BTC", "txHash": hash, "address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"})).await;
    assert_eq!(r.status(), 400);
    assert!(
        message(&r).contains("mutually exclusive"),
        "{}",
        message(&r)
    );
    let r = search(json!({"blockchain": "BTC"})).await;
    assert_eq!(r.status(), 400);
    assert!(message(&r).contains("either txHash or address"));
    let r = search(json!({"blockchain": "BTC", "txHash": "0x1234"})).await;
    assert_eq!(r.status(), 400);
    assert!(message(&r).contains("txHash must match /^(0x)?[a-fA-F0-9]{64}$/"));
    let r = search(
        json!({"blockchain": "DOGECOIN", "address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(message(&r).contains("blockchain must be one of"));

    let r =
        search(json!({"blockchain": "ETH", "txHash": format!("0x{}", hash.to_uppercase())})).await;
    assert_eq!(r.status(), 201);
    let tx = data_of(&sandbox, &r);
    assert_eq!(tx["type"], "TRANSACTION");
    let r = search(json!({"blockchain": "ETH", "txHash": hash})).await;
    let again = data_of(&sandbox, &r);
    assert_ne!(again["id"], tx["id"], "every search is a new report");

    let address = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";
    let r = search(json!({"blockchain": "BTC", "address": address})).await;
    let wallet = data_of(&sandbox, &r);
    assert_eq!(wallet["type"], "WALLET");
    let id = wallet["id"].as_str().unwrap();

    let details = |kind: &'static str| {
        let path = format!("/api/public/crypto-aml/{id}/details");
        let (name, value) = key(&sandbox);
        let req = Request::get(path).header(name, value);
        let req = if kind.is_empty() {
            req
        } else {
            req.query("type", kind)
        };
        t.send(req)
    };
    assert_eq!(details("").await.unwrap().status(), 400);
    assert_eq!(details("TRANSACTION").await.unwrap().status(), 404);
    let report = data_of(&sandbox, &details("WALLET").await.unwrap());
    assert_eq!(report["id"], id);
    assert_eq!(report["address"], address);
    assert_eq!(report["blockchain"], "BTC");
    assert_eq!(report["reviewStatus"], "UNKNOWN");
    assert_eq!(report["score"], risk_score("BTC", address));
    assert_eq!(
        report["timelines"][0]["eventName"],
        "CRYPTO_AML_STATUS_UPDATED"
    );
    assert!(report["addressInfo"]["balance"]["amount"].is_string());

    // Another search of the same address: a new report, the same score.
    let r = search(json!({"blockchain": "BTC", "address": address})).await;
    let other = data_of(&sandbox, &r)["id"].as_str().unwrap().to_owned();
    assert_ne!(other, id);
    let path = format!("/api/public/crypto-aml/{other}/details");
    let (name, value) = key(&sandbox);
    let r = t
        .send(
            Request::get(path)
                .header(name, value)
                .query("type", "WALLET"),
        )
        .await
        .unwrap();
    assert_eq!(data_of(&sandbox, &r)["score"], report["score"]);
}

#[tokio::test]
async fn token_ttl_is_bounded_and_the_token_is_a_jwt_with_exp() {
    let (sandbox, t) = start(EncryptionMode::Cbc).await;
    let a = create(&sandbox, &t, "tok-1").await;
    let path = format!("/api/public/applicant/{}/token", a["id"].as_str().unwrap());
    let r = send(
        &sandbox,
        &t,
        Method::POST,
        &path,
        Some(json!({"ttl": 3_153_600_001u64})),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(
        json_of(&r)["message"][0]
            .as_str()
            .unwrap()
            .contains("3153600000")
    );
    let r = send(
        &sandbox,
        &t,
        Method::POST,
        &path,
        Some(json!({"flowName": "nope"})),
    )
    .await;
    assert_eq!(r.status(), 404);

    let r = send(
        &sandbox,
        &t,
        Method::POST,
        &path,
        Some(json!({"ttl": 600, "locale": "en-US", "flowName": "enhanced-kyc"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let token = data_of(&sandbox, &r);
    assert_eq!(token["ttl"], 600);
    assert_eq!(token["applicantId"], a["id"]);
    assert!(token["transactionId"].as_str().unwrap().len() == 36);
    let jwt = token["accessToken"].as_str().unwrap();
    assert!(token["link"].as_str().unwrap().contains(jwt));
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert_eq!(claims["flowName"], "enhanced-kyc");
}

#[tokio::test]
async fn flows_deletion_and_restore() {
    let (sandbox, t) = start(EncryptionMode::Plain).await;
    create(&sandbox, &t, "del-1").await;
    let base = "/api/public/applicant/del-1";
    let r = send(&sandbox, &t, Method::POST, &format!("{base}/restore"), None).await;
    assert_eq!(r.status(), 400, "nothing to restore");
    assert_eq!(json_of(&r)["status"], false);

    let r = send(
        &sandbox,
        &t,
        Method::POST,
        &format!("{base}/schedule-deletion"),
        None,
    )
    .await;
    let scheduled = data_of(&sandbox, &r);
    assert!(scheduled["scheduledDeletionDate"].is_string());
    let again = send(
        &sandbox,
        &t,
        Method::POST,
        &format!("{base}/schedule-deletion"),
        None,
    )
    .await;
    assert_eq!(
        data_of(&sandbox, &again)["scheduledDeletionDate"],
        scheduled["scheduledDeletionDate"]
    );
    assert!(
        sandbox.elkyc().applicants()[0]
            .scheduled_deletion_date
            .is_some()
    );
    let r = send(&sandbox, &t, Method::POST, &format!("{base}/restore"), None).await;
    assert_eq!(data_of(&sandbox, &r)["id"], scheduled["id"]);
    assert!(
        sandbox.elkyc().applicants()[0]
            .scheduled_deletion_date
            .is_none()
    );

    let r = send(
        &sandbox,
        &t,
        Method::POST,
        &format!("{base}/moveToFlow"),
        Some(json!({"flowId": 2})),
    )
    .await;
    assert_eq!(r.status(), 400, "flowId must be a string");
    let r = send(
        &sandbox,
        &t,
        Method::POST,
        &format!("{base}/moveToFlow"),
        Some(json!({"flowId": "99"})),
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = send(
        &sandbox,
        &t,
        Method::POST,
        &format!("{base}/moveToFlow"),
        Some(json!({"flowId": "2"})),
    )
    .await;
    assert_eq!(data_of(&sandbox, &r)["status"], "INIT");
    assert_eq!(sandbox.elkyc().applicants()[0].flow_name, "enhanced-kyc");
}

#[tokio::test]
async fn each_mode_encrypts_responses_and_accepts_encrypted_requests() {
    for mode in [
        EncryptionMode::Plain,
        EncryptionMode::Cbc,
        EncryptionMode::Gcm,
    ] {
        let (sandbox, t) = start_with(
            ElkycConfig::default()
                .encryption(mode)
                .requests(RequestEncryption::Either),
        )
        .await;
        let creds = sandbox.elkyc().credentials();
        assert_eq!(creds.encryption, mode);
        let r = send(
            &sandbox,
            &t,
            Method::POST,
            "/api/public/applicant",
            Some(json!({"externalUserId": "plain-req", "flowName": "basic-kyc"})),
        )
        .await;
        assert_eq!(r.status(), 201);
        let raw = json_of(&r);
        assert_eq!(raw["statusCode"], 200, "the body says 200, as in the docs");
        match mode {
            EncryptionMode::Plain => {
                assert!(raw["data"].is_object());
                assert!(r.headers().get("x-allpass-signature").is_none());
                continue;
            }
            _ => assert!(raw["data"].is_string(), "{mode:?}: {raw}"),
        }
        assert_eq!(data_of(&sandbox, &r)["externalUserId"], "plain-req");

        let cipher = Cipher::new(&settings(&creds).unwrap()).unwrap();
        let sealed = cipher
            .encrypt(br#"{"externalUserId":"sealed-req","flowName":"enhanced-kyc"}"#)
            .unwrap();
        let encrypted = |signature: &str| {
            let (name, value) = key(&sandbox);
            Request::post("/api/public/applicant")
                .header(name, value)
                .header(
                    HeaderName::from_static("x-allpass-signature"),
                    HeaderValue::from_str(signature).unwrap(),
                )
                .json(&json!({"data": sealed.data}))
                .unwrap()
        };
        let mut forged = sealed.signature.clone().into_bytes();
        forged[0] = if forged[0] == b'0' { b'1' } else { b'0' };
        let r = t
            .send(encrypted(&String::from_utf8(forged).unwrap()))
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{mode:?}");
        assert_eq!(json_of(&r)["message"], "Invalid signature");
        let r = t.send(encrypted(&sealed.signature)).await.unwrap();
        assert_eq!(r.status(), 201, "{mode:?}");
        let a = data_of(&sandbox, &r);
        assert_eq!(a["externalUserId"], "sealed-req");
        assert_eq!(a["flow"]["name"], "enhanced-kyc");
    }
}

/// A webhook receiver that keeps the raw deliveries.
async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), seen)
}

#[tokio::test]
async fn status_changes_send_encrypted_webhooks_and_final_statuses_stay_final() {
    let (sandbox, t) = start(EncryptionMode::Gcm).await;
    let (url, seen) = receiver().await;
    let elkyc = sandbox.elkyc();
    elkyc.set_webhook_url(url);
    let a = create(&sandbox, &t, "hook-1").await;
    let id = a["id"].as_str().unwrap();

    let delivery = elkyc
        .set_status("hook-1", ApplicantStatus::InProgress)
        .await
        .unwrap();
    assert_eq!(delivery.last_status(), Some(200));
    assert_eq!(delivery.sent.applicant_id, id);
    elkyc
        .set_status(id, ApplicantStatus::Approved)
        .await
        .unwrap();
    assert!(matches!(
        elkyc.set_status(id, ApplicantStatus::Rejected).await,
        Err(ElkycSandboxError::InvalidTransition(_))
    ));
    assert!(matches!(
        elkyc.set_status("ghost", ApplicantStatus::Approved).await,
        Err(ElkycSandboxError::UnknownApplicant(_))
    ));
    assert_eq!(elkyc.applicants()[0].status, ApplicantStatus::Approved);

    let cipher = Cipher::new(&settings(&elkyc.credentials()).unwrap()).unwrap();
    let events: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            let envelope: Value = serde_json::from_slice(body).unwrap();
            assert!(envelope["time"].is_string());
            let signature = headers["x-allpass-signature"].to_str().unwrap();
            let plain = cipher
                .decrypt(envelope["data"].as_str().unwrap(), signature)
                .unwrap();
            serde_json::from_slice(&plain).unwrap()
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "applicantCreated",
            "applicantInProgress",
            "applicantApproved"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e["id"] == id && e["externalUserId"] == "hook-1")
    );
    assert_eq!(events[0]["appKey"], elkyc.credentials().app_key.as_str());
    assert_eq!(elkyc.deliveries().len(), 3);
}

#[tokio::test]
async fn control_routes_mirror_the_rust_api_and_the_seed_fixes_everything() {
    let (sandbox, t) = start(EncryptionMode::Cbc).await;
    let (other, _) = start(EncryptionMode::Cbc).await;
    let (a, b) = (sandbox.elkyc().credentials(), other.elkyc().credentials());
    assert_eq!(
        (a.api_key, a.secret_key, a.hmac_key),
        (b.api_key, b.secret_key, b.hmac_key)
    );

    let r = t
        .send(Request::get("/sandbox/elkyc/credentials"))
        .await
        .unwrap();
    let creds = json_of(&r);
    assert_eq!(creds["encryption"], "cbc");
    assert_eq!(creds["flows"].as_array().unwrap().len(), 2);
    let (url, seen) = receiver().await;
    let r = t
        .send(
            Request::new(Method::PUT, "/sandbox/elkyc/webhook-url")
                .json(&json!({"url": url}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = t
        .send(
            Request::new(Method::PUT, "/sandbox/elkyc/encryption")
                .json(&json!({"mode": "plain"}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        sandbox.elkyc().credentials().encryption,
        EncryptionMode::Plain
    );

    let created = create(&sandbox, &t, "ctl-1").await;
    let r = t
        .send(
            Request::post("/sandbox/elkyc/applicants/ctl-1/status")
                .json(&json!({"status": "IN_REVIEW"}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let delivery = json_of(&r);
    assert_eq!(delivery["event"], "applicantInReview");
    assert_eq!(delivery["encrypted"], false);
    assert_eq!(delivery["attempts"][0]["status"], 200);
    let r = t
        .send(
            Request::post("/sandbox/elkyc/applicants/ctl-1/status")
                .json(&json!({"status": "INIT"}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = t
        .send(Request::get("/sandbox/elkyc/applicants"))
        .await
        .unwrap();
    let list = json_of(&r);
    assert_eq!(list[0]["id"], created["id"]);
    assert_eq!(list[0]["status"], "IN_REVIEW");
    let r = t
        .send(Request::get("/sandbox/elkyc/webhooks"))
        .await
        .unwrap();
    assert_eq!(json_of(&r).as_array().unwrap().len(), 2);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(
        sandbox
            .endpoint(Provider::Elkyc)
            .counters()
            .snapshot()
            .values()
            .sum::<u64>(),
        1,
        "control calls are not counted"
    );
}

/// The application's request setting: plain only (the documentation's examples) reads an
/// encrypted body as any other body; encrypted only refuses a plain one.
#[tokio::test]
async fn the_request_setting_refuses_the_other_shape() {
    for requests in [RequestEncryption::Plain, RequestEncryption::Encrypted] {
        let (sandbox, t) = start_with(ElkycConfig::default().requests(requests)).await;
        let creds = sandbox.elkyc().credentials();
        let plain = json!({"externalUserId": "req-1", "flowName": "basic-kyc"});
        let r = send(
            &sandbox,
            &t,
            Method::POST,
            "/api/public/applicant",
            Some(plain.clone()),
        )
        .await;
        let sealed = Cipher::new(&settings(&creds).unwrap())
            .unwrap()
            .encrypt(plain.to_string().as_bytes())
            .unwrap();
        let (name, value) = key(&sandbox);
        let encrypted = t
            .send(
                Request::post("/api/public/applicant")
                    .header(name, value)
                    .header(
                        HeaderName::from_static("x-allpass-signature"),
                        HeaderValue::from_str(&sealed.signature).unwrap(),
                    )
                    .json(&json!({"data": sealed.data}))
                    .unwrap(),
            )
            .await
            .unwrap();
        match requests {
            RequestEncryption::Plain => {
                assert_eq!(r.status(), 201);
                assert_eq!(encrypted.status(), 400);
                let messages = json_of(&encrypted)["message"].to_string();
                assert!(
                    messages.contains("externalUserId should not be empty"),
                    "{messages}"
                );
            }
            _ => {
                assert_eq!(r.status(), 400);
                assert_eq!(
                    json_of(&r)["message"],
                    json!(["request body must be encrypted"])
                );
                assert_eq!(encrypted.status(), 201);
            }
        }
    }
}

/// The webhook member naming the event is a setting; retries follow the schedule.
#[tokio::test]
async fn webhooks_name_the_event_as_configured_and_are_retried() {
    use compliance_sandbox::{EventField, InstantSleeper, RetrySchedule};
    let mut config = SandboxConfig::default().sleeper(InstantSleeper);
    config.elkyc = ElkycConfig::default()
        .event_field(EventField::EventName)
        .webhook_retries(RetrySchedule::exponential(
            std::time::Duration::from_secs(30),
            2,
        ));
    let sandbox = Sandbox::start(config).await.unwrap();
    let t = Transport::builder(sandbox.endpoint(Provider::Elkyc).url())
        .build()
        .unwrap();
    // A receiver that is down.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<(HeaderMap, Bytes)>::new()));
    let store = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body));
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    sandbox
        .elkyc()
        .set_webhook_url(format!("http://{addr}/hook"));
    create(&sandbox, &t, "named-1").await;
    sandbox.elkyc().settle_webhooks().await;
    let delivery = &sandbox.elkyc().deliveries()[0];
    let pauses: Vec<u64> = delivery
        .attempts
        .iter()
        .map(|a| a.after.as_secs())
        .collect();
    assert_eq!(pauses, [0, 30, 60]);
    assert_eq!(delivery.last_status(), Some(500));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|(_, b)| b == &seen[0].1), "the same bytes");
    let (headers, body) = &seen[0];
    let envelope: Value = serde_json::from_slice(body).unwrap();
    let creds = sandbox.elkyc().credentials();
    let plain = Cipher::new(&settings(&creds).unwrap())
        .unwrap()
        .decrypt(
            envelope["data"].as_str().unwrap(),
            headers["x-allpass-signature"].to_str().unwrap(),
        )
        .unwrap();
    let event: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(event["eventName"], "applicantCreated");
    assert!(event.get("type").is_none());
}
