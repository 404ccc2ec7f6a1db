//! Every unconfirmed provider behaviour, both ways round: the sandbox (written from the
//! provider documentation, sharing no code with the clients) is set to each plausible
//! reading, and the client runs against every reading it claims to support, configured to
//! match. Then a client option deliberately set to another reading must fail against the
//! sandbox with the exact error: a wrong default shows up as a failing test, not as a silent
//! agreement.

use amld5_verify::{BtcDirectClient, Er801Reading, ErrorCode, SecretString, UserContext};
use compliance_e2e::recorder;
// The client and the simulator name every reading alike (the simulator mirrors the client's
// names without sharing its code), so each is named through its crate's module.
use compliance_sandbox::elkyc::{self as sandbox, ElkycCrypto};
use compliance_sandbox::{
    ElkycConfig, EncryptionMode, EventField, ExpiredUserToken, HeleketConfig, HeleketKey,
    InstantSleeper, Provider, RequestEncryption, Sandbox, SandboxConfig, UserRefreshAuth,
};
use heleket_aml::{HeleketClient, TestWebhook, WebhookKind, WebhookVerifier};
use kyc_public_api::encryption::{self as client, EncryptionError, EncryptionOptions};
use kyc_public_api::{
    CreateApplicant, EncryptionSettings, Error as KycError, EventType, KycClient,
    WebhookVerifier as ElkycVerifier,
};

// ── elKYC ─────────────────────────────────────────────────────────────────────────────

/// One reading of the encryption: the sandbox's setting and the matching client options.
#[derive(Debug, Clone, Copy)]
struct Reading {
    mode: EncryptionMode,
    sandbox: ElkycCrypto,
    client: EncryptionOptions,
}

/// Every reading of the unconfirmed encryption details the client supports.
fn readings() -> Vec<Reading> {
    let mut all = Vec::new();
    let encodings = [
        (
            sandbox::SignatureEncoding::Hex,
            client::SignatureEncoding::Hex,
        ),
        (
            sandbox::SignatureEncoding::Base64,
            client::SignatureEncoding::Base64,
        ),
    ];
    for (mac, client_mac) in [
        (sandbox::MacHash::Sha256, client::MacHash::Sha256),
        (sandbox::MacHash::Sha512, client::MacHash::Sha512),
    ] {
        for (input, client_input) in [
            (sandbox::MacInput::DataString, client::MacInput::DataString),
            (
                sandbox::MacInput::CiphertextBytes,
                client::MacInput::CiphertextBytes,
            ),
        ] {
            for (key, client_key) in [
                (
                    sandbox::HmacKeyBytes::HexDecoded,
                    client::HmacKeyBytes::HexDecoded,
                ),
                (sandbox::HmacKeyBytes::Text, client::HmacKeyBytes::Text),
            ] {
                for (encoding, client_encoding) in encodings {
                    all.push(Reading {
                        mode: EncryptionMode::Cbc,
                        sandbox: ElkycCrypto::default()
                            .mac(mac)
                            .mac_input(input)
                            .hmac_key(key)
                            .signature_encoding(encoding),
                        client: EncryptionOptions::default()
                            .mac(client_mac)
                            .mac_input(client_input)
                            .hmac_key(client_key)
                            .signature_encoding(client_encoding),
                    });
                }
            }
        }
    }
    for (nonce, client_nonce) in [
        (
            sandbox::GcmNonceLength::Bytes12,
            client::GcmNonceLength::Bytes12,
        ),
        (
            sandbox::GcmNonceLength::Bytes16,
            client::GcmNonceLength::Bytes16,
        ),
    ] {
        for (placement, client_placement) in [
            (
                sandbox::NoncePlacement::Prefix,
                client::NoncePlacement::Prefix,
            ),
            (
                sandbox::NoncePlacement::Suffix,
                client::NoncePlacement::Suffix,
            ),
        ] {
            for (encoding, client_encoding) in encodings {
                all.push(Reading {
                    mode: EncryptionMode::Gcm,
                    sandbox: ElkycCrypto::default()
                        .gcm_nonce(nonce)
                        .nonce_placement(placement)
                        .signature_encoding(encoding),
                    client: EncryptionOptions::default()
                        .gcm_nonce(client_nonce)
                        .nonce_placement(client_placement)
                        .signature_encoding(client_encoding),
                });
            }
        }
    }
    all
}

async fn elkyc(config: ElkycConfig) -> Sandbox {
    let mut sandbox = SandboxConfig::default().seed(21).sleeper(InstantSleeper);
    sandbox.elkyc = config;
    Sandbox::start(sandbox).await.unwrap()
}

fn settings(sandbox: &Sandbox) -> EncryptionSettings {
    compliance_e2e::elkyc_settings(&sandbox.elkyc().credentials()).expect("an encrypted mode")
}

fn kyc(sandbox: &Sandbox, options: EncryptionOptions, encrypt_requests: bool) -> KycClient {
    KycClient::builder()
        .base_url(sandbox.endpoint(Provider::Elkyc).url())
        .api_key(sandbox.elkyc().credentials().api_key)
        .encryption(settings(sandbox))
        .encryption_options(options)
        .encrypt_requests(encrypt_requests)
        .build()
        .unwrap()
}

/// Answers, requests (both ways) and webhooks, under every reading the client supports.
#[tokio::test]
async fn the_client_works_under_every_encryption_reading_it_supports() {
    let all = readings();
    assert_eq!(all.len(), 24);
    for (i, r) in all.into_iter().enumerate() {
        let sandbox = elkyc(
            ElkycConfig::default()
                .encryption(r.mode)
                .crypto(r.sandbox)
                .requests(RequestEncryption::Either),
        )
        .await;
        let (url, received) = recorder(0).await;
        sandbox.elkyc().set_webhook_url(url);
        for encrypt_requests in [false, true] {
            let client = kyc(&sandbox, r.client, encrypt_requests);
            let external = format!("reading-{i}-{encrypt_requests}");
            let created = client
                .create_applicant(&CreateApplicant::new(&external, "basic-kyc"))
                .await
                .unwrap_or_else(|e| panic!("{r:?} encrypt_requests={encrypt_requests}: {e}"));
            assert_eq!(created.external_user_id.as_deref(), Some(external.as_str()));
            let moved = client
                .move_to_flow(&external, "2")
                .await
                .unwrap_or_else(|e| panic!("{r:?}: {e}"));
            assert_eq!(moved.id, created.id);
        }
        let verifier = ElkycVerifier::builder(settings(&sandbox))
            .encryption_options(r.client)
            .build()
            .unwrap();
        let received = received.lock().unwrap().clone();
        assert_eq!(received.len(), 2, "{r:?}");
        for (headers, body) in &received {
            let event = verifier
                .verify(headers, body)
                .unwrap_or_else(|e| panic!("{r:?}: {e}"));
            assert_eq!(
                event.event.event,
                Some(EventType::ApplicantCreated),
                "{r:?}"
            );
        }
    }
}

/// The application's request setting, each way: the client's default (plain JSON, as in
/// the documentation) and its opt-in (encrypted) pass where the application takes them and
/// are refused with the exact answer where it does not.
#[tokio::test]
async fn request_encryption_follows_the_dashboard_setting() {
    for requests in [
        RequestEncryption::Plain,
        RequestEncryption::Encrypted,
        RequestEncryption::Either,
    ] {
        let sandbox = elkyc(ElkycConfig::default().requests(requests)).await;
        for encrypt in [false, true] {
            let client = kyc(&sandbox, EncryptionOptions::default(), encrypt);
            let result = client
                .create_applicant(&CreateApplicant::new(format!("req-{encrypt}"), "basic-kyc"))
                .await;
            let accepted = match requests {
                RequestEncryption::Plain => !encrypt,
                RequestEncryption::Encrypted => encrypt,
                _ => true,
            };
            if accepted {
                result.unwrap_or_else(|e| panic!("{requests:?} encrypt={encrypt}: {e}"));
                continue;
            }
            let Err(KycError::Api(api)) = result else {
                panic!("{requests:?} encrypt={encrypt}: {result:?}")
            };
            assert_eq!(api.status, 400, "{requests:?} encrypt={encrypt}");
            let message = api.message.unwrap_or_default();
            if encrypt {
                // An application that does not decrypt validates `{"data": ...}` as it is.
                assert!(
                    message.contains("externalUserId should not be empty"),
                    "{message}"
                );
            } else {
                assert_eq!(message, "request body must be encrypted");
            }
        }
    }
}

/// The client reads the webhook event under every member name it claims to read.
#[tokio::test]
async fn webhook_events_are_read_under_every_field_name() {
    for field in [
        EventField::Type,
        EventField::Event,
        EventField::EventName,
        EventField::EventType,
    ] {
        let sandbox = elkyc(ElkycConfig::default().event_field(field)).await;
        let (url, received) = recorder(0).await;
        sandbox.elkyc().set_webhook_url(url);
        kyc(&sandbox, EncryptionOptions::default(), false)
            .create_applicant(&CreateApplicant::new("field-1", "basic-kyc"))
            .await
            .unwrap();
        let verifier = ElkycVerifier::builder(settings(&sandbox)).build().unwrap();
        let (headers, body) = received.lock().unwrap()[0].clone();
        let event = verifier.verify(&headers, &body).unwrap();
        assert_eq!(
            event.event.event,
            Some(EventType::ApplicantCreated),
            "{field:?}"
        );
    }
}

/// A deliberately wrong option (HMAC input, HMAC hash, GCM nonce length or placement) makes
/// the end-to-end call fail with the exact error, on the answer the client reads, on the
/// request the sandbox checks, and on the webhook the verifier checks.
#[tokio::test]
async fn a_mismatched_encryption_option_is_caught() {
    let cases = [
        (
            EncryptionMode::Cbc,
            EncryptionOptions::default().mac_input(client::MacInput::CiphertextBytes),
        ),
        (
            EncryptionMode::Cbc,
            EncryptionOptions::default().hmac_key(client::HmacKeyBytes::Text),
        ),
        (
            EncryptionMode::Gcm,
            EncryptionOptions::default().nonce_placement(client::NoncePlacement::Suffix),
        ),
        (
            EncryptionMode::Gcm,
            EncryptionOptions::default().gcm_nonce(client::GcmNonceLength::Bytes16),
        ),
    ];
    for (mode, wrong) in cases {
        // The sandbox keeps the provider notes' reading; the client is told otherwise.
        let sandbox = elkyc(
            ElkycConfig::default()
                .encryption(mode)
                .requests(RequestEncryption::Encrypted),
        )
        .await;
        let (url, received) = recorder(0).await;
        sandbox.elkyc().set_webhook_url(url);
        let right = kyc(&sandbox, EncryptionOptions::default(), true);
        right
            .create_applicant(&CreateApplicant::new("mismatch-1", "basic-kyc"))
            .await
            .unwrap();

        // The answer: encrypted by the sandbox, refused by the client.
        let client = kyc(&sandbox, wrong, false);
        let err = client.applicant_status("mismatch-1").await.unwrap_err();
        assert!(
            matches!(
                err,
                KycError::Encryption(EncryptionError::SignatureMismatch)
            ),
            "{mode:?} {wrong:?}: {err:?}"
        );

        // The request: encrypted by the client, refused by the sandbox.
        let client = kyc(&sandbox, wrong, true);
        let err = client
            .create_applicant(&CreateApplicant::new("mismatch-2", "basic-kyc"))
            .await
            .unwrap_err();
        let KycError::Api(api) = &err else {
            panic!("{mode:?} {wrong:?}: {err:?}")
        };
        assert_eq!(
            (api.status.as_u16(), api.message.as_deref()),
            (401, Some("Invalid signature")),
            "{mode:?} {wrong:?}"
        );

        // The webhook: sent by the sandbox, refused by the verifier.
        let verifier = ElkycVerifier::builder(settings(&sandbox))
            .encryption_options(wrong)
            .build()
            .unwrap();
        let (headers, body) = received.lock().unwrap()[0].clone();
        let refused = verifier.verify(&headers, &body).unwrap_err();
        assert!(
            matches!(
                refused,
                kyc_public_api::webhook::WebhookError::Encryption(
                    EncryptionError::SignatureMismatch
                )
            ),
            "{mode:?} {wrong:?}: {refused:?}"
        );
    }
}

/// The HMAC hash: an HMAC-SHA512 reading against a SHA-256 sandbox has the wrong length.
#[tokio::test]
async fn a_mismatched_hmac_hash_is_caught() {
    let sandbox = elkyc(ElkycConfig::default().encryption(EncryptionMode::Cbc)).await;
    kyc(&sandbox, EncryptionOptions::default(), false)
        .create_applicant(&CreateApplicant::new("hash-1", "basic-kyc"))
        .await
        .unwrap();
    let wrong = kyc(
        &sandbox,
        EncryptionOptions::default().mac(client::MacHash::Sha512),
        false,
    );
    let err = wrong.applicant_status("hash-1").await.unwrap_err();
    assert!(
        matches!(
            &err,
            KycError::Encryption(EncryptionError::MalformedSignature { expected }) if expected == "64 bytes, hex"
        ),
        "{err:?}"
    );
}

// ── Heleket ───────────────────────────────────────────────────────────────────────────

async fn heleket(config: HeleketConfig) -> (Sandbox, HeleketClient) {
    let mut sandbox = SandboxConfig::default().seed(22).sleeper(InstantSleeper);
    sandbox.heleket = config;
    let sandbox = Sandbox::start(sandbox).await.unwrap();
    let c = sandbox.heleket().credentials();
    let client = HeleketClient::builder()
        .merchant(c.merchant)
        .payment_key(c.payment_key)
        .payout_key(c.payout_key)
        .base_url(sandbox.endpoint(Provider::Heleket).url())
        .build()
        .unwrap();
    (sandbox, client)
}

/// The key of a payout test webhook: the client's reading (the payout key) passes, and its
/// delivery verifies; the other reading (the payment key) refuses the client's signature
/// with Heleket's exact answer.
#[tokio::test]
async fn the_payout_test_webhook_key_reading_is_checked() {
    let (sandbox, client) = heleket(HeleketConfig::default()).await;
    let c = sandbox.heleket().credentials();
    let (url, received) = recorder(0).await;
    let test = TestWebhook::new(WebhookKind::Payout, &url, "USDT", "tron");
    client.test_webhook(&test).await.unwrap();
    let verifier = WebhookVerifier::new(c.payment_key.clone()).with_payout_key(c.payout_key);
    let (_, body) = received.lock().unwrap()[0].clone();
    let webhook = verifier.verify(&body).unwrap();
    assert_eq!(webhook.kind(), WebhookKind::Payout);

    let mut other = HeleketConfig::default();
    other.payout_test_webhook_key = HeleketKey::Payment;
    let (_other, client) = heleket(other).await;
    let err = client.test_webhook(&test).await.unwrap_err();
    assert!(
        matches!(
            &err,
            heleket_aml::Error::SignatureRejected {
                key: heleket_aml::sign::KeyKind::Payout,
                ..
            }
        ),
        "{err:?}"
    );
}

/// A client signing with the wrong key (keys swapped in its configuration) is refused with
/// `Invalid Sign.`, and a receiver with swapped keys refuses the sandbox's webhook.
#[tokio::test]
async fn a_wrong_heleket_signature_is_caught_both_ways() {
    let (sandbox, _) = heleket(HeleketConfig::default()).await;
    let c = sandbox.heleket().credentials();
    let swapped = HeleketClient::builder()
        .merchant(c.merchant.clone())
        .payment_key(c.payout_key.clone())
        .base_url(sandbox.endpoint(Provider::Heleket).url())
        .build()
        .unwrap();
    let err = swapped
        .aml_links(&heleket_aml::PaymentRef::order_id("order-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            heleket_aml::Error::SignatureRejected {
                key: heleket_aml::sign::KeyKind::Payment,
                ..
            }
        ),
        "{err:?}"
    );

    let (url, received) = recorder(0).await;
    let uuid = sandbox.heleket().create_payment(
        compliance_sandbox::NewPayment::new("order-swap", "1", "USDT").callback(url),
    );
    sandbox.heleket().lock_payment(&uuid).await.unwrap();
    let (_, body) = received.lock().unwrap()[0].clone();
    let right = WebhookVerifier::new(c.payment_key.clone()).with_payout_key(c.payout_key.clone());
    assert!(right.verify(&body).is_ok());
    let wrong = WebhookVerifier::new(c.payout_key).with_payout_key(c.payment_key);
    let refused = wrong.verify(&body).unwrap_err();
    assert!(
        matches!(
            refused,
            heleket_aml::WebhookError::Mismatch {
                kind: WebhookKind::Payment,
                cause: heleket_aml::webhook::MismatchCause::WrongKey {
                    expected: heleket_aml::sign::KeyKind::Payment,
                    verifies_with: heleket_aml::sign::KeyKind::Payout,
                },
            }
        ),
        "{refused:?}"
    );
}

// ── BTC Direct ────────────────────────────────────────────────────────────────────────

async fn btcdirect(
    refresh: UserRefreshAuth,
    expired: ExpiredUserToken,
) -> (Sandbox, BtcDirectClient) {
    let mut config = SandboxConfig::default().seed(23);
    config.btcdirect.user_refresh_auth = refresh;
    config.btcdirect.expired_user_token = expired;
    let sandbox = Sandbox::start(config).await.unwrap();
    let c = sandbox.btcdirect().credentials();
    let client = BtcDirectClient::builder()
        .base_url(sandbox.endpoint(Provider::BtcDirect).url())
        .credentials(c.username, SecretString::from(c.password))
        .build()
        .unwrap();
    (sandbox, client)
}

async fn session(sandbox: &Sandbox, client: &BtcDirectClient) -> UserContext {
    let c = sandbox.btcdirect().credentials();
    UserContext::session(
        client
            .login(&c.user_email, &SecretString::from(c.user_password))
            .await
            .unwrap(),
    )
}

/// Which credentials accompany a user refresh: the client sends the partner's, so it works
/// whether the provider requires them or ignores them; it refreshes once and goes on.
#[tokio::test]
async fn a_user_refresh_works_under_both_credential_readings() {
    for reading in [
        UserRefreshAuth::PartnerRequired,
        UserRefreshAuth::RefreshTokenOnly,
    ] {
        let (sandbox, client) = btcdirect(reading, ExpiredUserToken::Er701).await;
        let user = session(&sandbox, &client).await;
        client.user_info(&user).await.unwrap();
        sandbox.btcdirect().expire_user_tokens();
        let info = client
            .user_info(&user)
            .await
            .unwrap_or_else(|e| panic!("{reading:?}: {e}"));
        assert!(info.email_address.is_some());
        let counters = sandbox.endpoint(Provider::BtcDirect).counters();
        assert_eq!(counters.count("POST", "/api/v1/refresh"), 1, "{reading:?}");
        assert_eq!(counters.count("POST", "/api/v1/authenticate"), 1);
    }
}

/// ER801 for an expired **user** token (the documentation lists ER801 on every endpoint,
/// without saying which token it is about on a user call). Under the default reading the
/// client refreshes the partner token, the replay is refused again, and the caller gets the
/// exact error: the sandbox catches the disagreement. Under the readings `UserToken` and
/// `Either` the user session is refreshed and the call succeeds.
#[tokio::test]
async fn er801_for_an_expired_user_token_under_each_client_reading() {
    let (sandbox, client) =
        btcdirect(UserRefreshAuth::PartnerRequired, ExpiredUserToken::Er801).await;
    let user = session(&sandbox, &client).await;
    client.user_info(&user).await.unwrap();
    sandbox.btcdirect().expire_user_tokens();
    let err = client.user_info(&user).await.unwrap_err();
    assert!(
        matches!(&err, amld5_verify::Error::PartnerAuth { status, .. } if status.as_u16() == 400),
        "{err:?}"
    );
    assert!(err.has_code(&ErrorCode::Er801), "{err:?}");
    let counters = sandbox.endpoint(Provider::BtcDirect).counters();
    assert_eq!(
        counters.count("POST", "/api/v1/refresh"),
        1,
        "the partner token was refreshed, needlessly"
    );

    for reading in [Er801Reading::UserToken, Er801Reading::Either] {
        let mut config = SandboxConfig::default().seed(23);
        config.btcdirect.user_refresh_auth = UserRefreshAuth::PartnerRequired;
        config.btcdirect.expired_user_token = ExpiredUserToken::Er801;
        let sandbox = Sandbox::start(config).await.unwrap();
        let c = sandbox.btcdirect().credentials();
        let client = BtcDirectClient::builder()
            .base_url(sandbox.endpoint(Provider::BtcDirect).url())
            .credentials(c.username, SecretString::from(c.password))
            .er801_reading(reading)
            .build()
            .unwrap();
        let user = session(&sandbox, &client).await;
        client.user_info(&user).await.unwrap();
        sandbox.btcdirect().expire_user_tokens();
        let info = client
            .user_info(&user)
            .await
            .unwrap_or_else(|e| panic!("{reading:?}: {e}"));
        assert!(info.email_address.is_some(), "{reading:?}");
        let counters = sandbox.endpoint(Provider::BtcDirect).counters();
        assert_eq!(
            counters.count("POST", "/api/v1/user/login"),
            1,
            "{reading:?}: the user was not logged in again"
        );
        // The user session is refreshed once; under `Either` the partner token too.
        let refreshes = if reading == Er801Reading::Either {
            2
        } else {
            1
        };
        assert_eq!(
            counters.count("POST", "/api/v1/refresh"),
            refreshes,
            "{reading:?}"
        );
    }
}

/// `answerOptions` documented as `{label}` objects but shown as strings: the client reads
/// both, and its answers are accepted under both.
#[tokio::test]
async fn answer_options_as_strings_or_objects() {
    for as_objects in [false, true] {
        let mut config = SandboxConfig::default().seed(24);
        config.btcdirect.answer_options_as_objects = as_objects;
        let sandbox = Sandbox::start(config).await.unwrap();
        let c = sandbox.btcdirect().credentials();
        let client = BtcDirectClient::builder()
            .base_url(sandbox.endpoint(Provider::BtcDirect).url())
            .credentials(c.username, SecretString::from(c.password))
            .build()
            .unwrap();
        let user = UserContext::identifier(c.user_identifier.clone());
        let questions = client.amld5_questions(&user, "nl").await.unwrap();
        let mut answers = questions.answers();
        for q in &questions.questions {
            answers = answers.answer(q.key.clone(), q.answer_options[1].label.clone());
        }
        client
            .submit_amld5_answers(&user, &answers.build().unwrap())
            .await
            .unwrap_or_else(|e| panic!("as_objects={as_objects}: {e}"));
        assert!(sandbox.btcdirect().amld5_answered(&c.user_identifier));
    }
}
