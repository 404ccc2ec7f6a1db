//! The simulated BTC Direct checks what the real one checks.

use std::time::Duration;

use compliance_core::http::{HeaderName, HeaderValue, Request, Response, Transport};
use compliance_sandbox::{Provider, Sandbox, SandboxConfig};
use serde_json::{Value, json};

async fn start(config: SandboxConfig) -> (Sandbox, Transport) {
    let sandbox = Sandbox::start(config).await.unwrap();
    let t = Transport::builder(sandbox.endpoint(Provider::BtcDirect).url())
        .build()
        .unwrap();
    (sandbox, t)
}

fn h(name: &'static str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(value).unwrap(),
    )
}

fn json_of(r: &Response) -> Value {
    serde_json::from_slice(r.body()).unwrap()
}

async fn partner_token(sandbox: &Sandbox, t: &Transport) -> String {
    let c = sandbox.btcdirect().credentials();
    let r = t
        .send(
            Request::post("/api/v1/authenticate")
                .json(&json!({"username": c.username, "password": c.password}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    json_of(&r)["token"].as_str().unwrap().to_owned()
}

fn error_code(r: &Response) -> String {
    json_of(r)["errors"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn partner_auth_methods_are_exclusive_and_expiry_is_er801_with_400() {
    let mut config = SandboxConfig::default();
    config.btcdirect.partner_token_ttl = Duration::from_secs(1);
    let (sandbox, t) = start(config).await;
    let token = partner_token(&sandbox, &t).await;
    let key = sandbox.btcdirect().credentials().api_key;
    let id = sandbox.btcdirect().credentials().user_identifier;

    let get = |headers: Vec<(HeaderName, HeaderValue)>| {
        let mut r = Request::get("/api/v1/user/info");
        for (n, v) in headers {
            r = r.header(n, v);
        }
        t.send(r)
    };
    let ok = get(vec![
        h("authorization", &format!("Bearer {token}")),
        h("user-identifier", &id),
    ])
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        json_of(&ok)["status"]["details"]["amld5VerificationStatus"],
        "open"
    );

    let both = get(vec![
        h("authorization", &format!("Bearer {token}")),
        h("x-api-key", &key),
        h("user-identifier", &id),
    ])
    .await
    .unwrap();
    assert_eq!(
        (both.status().as_u16(), error_code(&both)),
        (400, "ER803".into())
    );
    let none = get(vec![h("user-identifier", &id)]).await.unwrap();
    assert_eq!(error_code(&none), "ER802");
    let bad_key = get(vec![h("x-api-key", "nope"), h("user-identifier", &id)])
        .await
        .unwrap();
    assert_eq!(error_code(&bad_key), "ER805");
    let by_key = get(vec![h("x-api-key", &key), h("user-identifier", &id)])
        .await
        .unwrap();
    assert_eq!(by_key.status(), 200);

    sandbox.btcdirect().expire_all_tokens();
    let expired = get(vec![
        h("authorization", &format!("Bearer {token}")),
        h("user-identifier", &id),
    ])
    .await
    .unwrap();
    assert_eq!(
        (expired.status().as_u16(), error_code(&expired)),
        (400, "ER801".into())
    );
    assert_eq!(
        sandbox
            .endpoint(Provider::BtcDirect)
            .counters()
            .count("GET", "/api/v1/user/info"),
        6
    );
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let (sandbox, t) = start(SandboxConfig::default()).await;
    let c = sandbox.btcdirect().credentials();
    let r = t
        .send(
            Request::post("/api/v1/authenticate")
                .json(&json!({"username": c.username, "password": c.password}))
                .unwrap(),
        )
        .await
        .unwrap();
    let refresh = json_of(&r)["refreshToken"].as_str().unwrap().to_owned();
    let first = t
        .send(
            Request::post("/api/v1/refresh")
                .json(&json!({"refreshToken": refresh}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_ne!(json_of(&first)["refreshToken"].as_str().unwrap(), refresh);
    let again = t
        .send(
            Request::post("/api/v1/refresh")
                .json(&json!({"refreshToken": refresh}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(again.status(), 401, "a spent refresh token is dead");
    let wrong = t
        .send(
            Request::post("/api/v1/authenticate")
                .json(&json!({"username": c.username, "password": "x"}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn amld5_locale_answers_and_status() {
    let (sandbox, t) = start(SandboxConfig::default()).await;
    let token = partner_token(&sandbox, &t).await;
    let c = sandbox.btcdirect().credentials();
    let auth = h("authorization", &format!("Bearer {token}"));
    let login = t
        .send(
            Request::post("/api/v1/user/login")
                .header(auth.0.clone(), auth.1.clone())
                .json(&json!({"email": c.user_email, "password": c.user_password}))
                .unwrap(),
        )
        .await
        .unwrap();
    let user_token = json_of(&login)["token"].as_str().unwrap().to_owned();
    assert_eq!(json_of(&login)["identifier"], c.user_identifier.as_str());
    let user = h("user-authorization", &format!("Bearer {user_token}"));
    let with = |r: Request| {
        r.header(auth.0.clone(), auth.1.clone())
            .header(user.0.clone(), user.1.clone())
    };

    let bad_locale = t
        .send(with(Request::get("/api/v1/user/verify/amld5?locale=xx")))
        .await
        .unwrap();
    assert_eq!(error_code(&bad_locale), "ER099");
    let qs = json_of(
        &t.send(with(Request::get("/api/v1/user/verify/amld5?locale=en")))
            .await
            .unwrap(),
    );
    let questions = qs["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 3);

    let status = json_of(
        &t.send(with(Request::get("/api/v2/user/verification-status")))
            .await
            .unwrap(),
    );
    assert_eq!(status[0]["name"], "AMLD5Questions");

    let partial = json!([{"key": "mainSourceOfIncome", "answer": "Salary"}]);
    let r = t
        .send(with(
            Request::post("/api/v1/user/verify/amld5")
                .json(&partial)
                .unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(error_code(&r), "ER100");
    let mut answers: Vec<Value> = questions
        .iter()
        .map(|q| json!({"key": q["key"], "answer": q["answerOptions"][0]}))
        .collect();
    answers[1]["answer"] = json!("A million");
    let r = t
        .send(with(
            Request::post("/api/v1/user/verify/amld5")
                .json(&answers)
                .unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(error_code(&r), "ER101");
    answers[1]["answer"] = questions[1]["answerOptions"][1].clone();
    let r = t
        .send(with(
            Request::post("/api/v1/user/verify/amld5")
                .json(&answers)
                .unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        json_of(&r)["status"]["details"]["amld5VerificationStatus"],
        "verified"
    );
    let status = json_of(
        &t.send(with(Request::get("/api/v2/user/verification-status")))
            .await
            .unwrap(),
    );
    assert_eq!(status, json!([]));

    sandbox.btcdirect().expire_all_tokens();
    let r = t
        .send(
            Request::get("/api/v1/user/info")
                .header(
                    HeaderName::from_static("x-api-key"),
                    HeaderValue::from_str(&c.api_key).unwrap(),
                )
                .header(user.0, user.1),
        )
        .await
        .unwrap();
    assert_eq!(error_code(&r), "ER701");
}

async fn user_login(sandbox: &Sandbox, t: &Transport) -> (String, String) {
    let c = sandbox.btcdirect().credentials();
    let r = t
        .send(
            Request::post("/api/v1/user/login")
                .header(
                    HeaderName::from_static("x-api-key"),
                    HeaderValue::from_str(&c.api_key).unwrap(),
                )
                .json(&json!({"email": c.user_email, "password": c.user_password}))
                .unwrap(),
        )
        .await
        .unwrap();
    let body = json_of(&r);
    (
        body["token"].as_str().unwrap().to_owned(),
        body["refreshToken"].as_str().unwrap().to_owned(),
    )
}

/// Which credentials a user refresh needs is a setting; a partner refresh never needs one.
#[tokio::test]
async fn user_refresh_credentials_follow_the_setting() {
    use compliance_sandbox::UserRefreshAuth;
    for reading in [
        UserRefreshAuth::PartnerRequired,
        UserRefreshAuth::RefreshTokenOnly,
    ] {
        let mut config = SandboxConfig::default();
        config.btcdirect.user_refresh_auth = reading;
        let (sandbox, t) = start(config).await;
        let key = sandbox.btcdirect().credentials().api_key;
        let (_, refresh) = user_login(&sandbox, &t).await;
        let bare = t
            .send(
                Request::post("/api/v1/refresh")
                    .json(&json!({"refreshToken": refresh}))
                    .unwrap(),
            )
            .await
            .unwrap();
        if reading == UserRefreshAuth::PartnerRequired {
            assert_eq!(
                (bare.status().as_u16(), error_code(&bare)),
                (401, "ER802".into())
            );
            let with_key = t
                .send(
                    Request::post("/api/v1/refresh")
                        .header(
                            HeaderName::from_static("x-api-key"),
                            HeaderValue::from_str(&key).unwrap(),
                        )
                        .json(&json!({"refreshToken": refresh}))
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(with_key.status(), 200, "the refused try did not spend it");
        } else {
            assert_eq!(bare.status(), 200);
        }
    }
    // A partner refresh token is refreshed alone.
    let (sandbox, t) = start(SandboxConfig::default()).await;
    let c = sandbox.btcdirect().credentials();
    let r = t
        .send(
            Request::post("/api/v1/authenticate")
                .json(&json!({"username": c.username, "password": c.password}))
                .unwrap(),
        )
        .await
        .unwrap();
    let refresh = json_of(&r)["refreshToken"].as_str().unwrap().to_owned();
    let r = t
        .send(
            Request::post("/api/v1/refresh")
                .json(&json!({"refreshToken": refresh}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// An expired user token is ER701 (401), or ER801 (400) under the other reading.
#[tokio::test]
async fn the_expired_user_token_code_follows_the_setting() {
    use compliance_sandbox::ExpiredUserToken;
    for (reading, expected) in [
        (ExpiredUserToken::Er701, (401, "ER701")),
        (ExpiredUserToken::Er801, (400, "ER801")),
    ] {
        let mut config = SandboxConfig::default();
        config.btcdirect.expired_user_token = reading;
        let (sandbox, t) = start(config).await;
        let key = sandbox.btcdirect().credentials().api_key;
        let (token, _) = user_login(&sandbox, &t).await;
        sandbox.btcdirect().expire_user_tokens();
        let r = t
            .send(
                Request::get("/api/v1/user/info")
                    .header(
                        HeaderName::from_static("x-api-key"),
                        HeaderValue::from_str(&key).unwrap(),
                    )
                    .header(
                        HeaderName::from_static("user-authorization"),
                        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
                    ),
            )
            .await
            .unwrap();
        assert_eq!(
            (r.status().as_u16(), error_code(&r)),
            (expected.0, expected.1.to_owned())
        );
    }
}

/// The seed's own example body, byte for byte, is accepted; the user info then shows every
/// documented destinationTag shape and the account status set.
#[tokio::test]
async fn the_seed_example_answers_are_accepted() {
    let (sandbox, t) = start(SandboxConfig::default()).await;
    let c = sandbox.btcdirect().credentials();
    let seed = br#"[
{
"key": "mainSourceOfIncome",
"answer": "Salary"
},
{
"key": "annualNetIncome",
"answer": "From 10.000 to 30.000"
},
{
"key": "employmentStatus",
"answer": "Employed"
}
]"#;
    sandbox
        .btcdirect()
        .set_account_status(
            &c.user_identifier,
            compliance_sandbox::AccountStatus::NotValidated,
        )
        .unwrap();
    let r = t
        .send(
            Request::post("/api/v1/user/verify/amld5")
                .header(
                    HeaderName::from_static("x-api-key"),
                    HeaderValue::from_str(&c.api_key).unwrap(),
                )
                .header(
                    HeaderName::from_static("user-identifier"),
                    HeaderValue::from_str(&c.user_identifier).unwrap(),
                )
                .body(seed.to_vec(), HeaderValue::from_static("application/json")),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", String::from_utf8_lossy(r.body()));
    let info = json_of(&r);
    assert_eq!(info["status"]["status"], "not-validated");
    assert_eq!(
        info["status"]["details"]["amld5VerificationStatus"],
        "verified"
    );
    let tags: Vec<Value> = info["enabledWalletAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["destinationTag"].clone())
        .collect();
    assert_eq!(
        tags,
        [
            Value::Null,
            json!(12341),
            json!("ABC1234"),
            json!({"default": "ABC1234", "XRP": 12341})
        ]
    );
}
