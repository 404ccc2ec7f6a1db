//! Webhook verification from raw bytes: the spec's vector, real-shaped fixtures, every
//! single-byte change, the diagnosed integration mistakes, deduplication and properties.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use compliance_core::webhook::RequestInfo;
use heleket_aml::test_util::{signed_webhook, signed_webhook_object};
use heleket_aml::{
    BoxError, HeleketWebhook, KeyKind, MismatchCause, Outcome, PaymentStatus, PayoutStatus,
    ProcessError, WebhookError, WebhookKind, WebhookProcessor, WebhookVerifier, handler_fn,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const PAYMENT_KEY: &str = "test-api-key";
const PAYOUT_KEY: &str = "test-payout-key";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(PAYMENT_KEY).with_payout_key(PAYOUT_KEY)
}

#[test]
fn spec_vector_verifies() {
    let body = fixture("webhook_vector.json");
    assert_eq!(
        verifier().verify_signature(&body).unwrap(),
        WebhookKind::Payment
    );
    // It has no amount, so it is not a complete payment webhook: verified, then refused.
    assert!(matches!(
        verifier().verify(&body),
        Err(WebhookError::Decode(_))
    ));
}

#[test]
fn payment_wallet_and_payout_fixtures_verify_and_parse() {
    let v = verifier();
    let payment = v.verify(&fixture("webhook_payment_locked.json")).unwrap();
    let HeleketWebhook::Payment(p) = &payment else {
        panic!("{payment:?}")
    };
    assert_eq!(p.status, PaymentStatus::Locked);
    assert_eq!(p.amount.to_string(), "10.00");
    assert_eq!(
        p.additional_data.as_deref(),
        Some("Zahlung für <Bestellung> & Co / 42")
    );
    insta::assert_json_snapshot!("webhook_payment_locked", payment);

    let wallet = v.verify(&fixture("webhook_wallet.json")).unwrap();
    assert_eq!(wallet.kind(), WebhookKind::Wallet);
    insta::assert_json_snapshot!("webhook_wallet", wallet);

    let payout = v.verify(&fixture("webhook_payout.json")).unwrap();
    let HeleketWebhook::Payout(p) = &payout else {
        panic!("{payout:?}")
    };
    assert_eq!(p.status, PayoutStatus::Paid);
    insta::assert_json_snapshot!("webhook_payout", payout);

    let unknown = v
        .verify(&fixture("webhook_payment_unknown_status.json"))
        .unwrap();
    assert_eq!(unknown.status(), "aml_hold_v2");
    insta::assert_json_snapshot!("webhook_payment_unknown_status", unknown);
}

#[test]
fn flipping_any_single_byte_is_rejected() {
    let v = verifier();
    for name in [
        "webhook_vector.json",
        "webhook_payment_locked.json",
        "webhook_payout.json",
    ] {
        let body = fixture(name);
        assert!(v.verify_signature(&body).is_ok(), "{name}");
        for i in 0..body.len() {
            for mask in [0x01u8, 0x20, 0x80, 0xff] {
                let mut flipped = body.clone();
                flipped[i] ^= mask;
                assert!(
                    v.verify_signature(&flipped).is_err(),
                    "{name}: byte {i} ^ {mask:#04x} accepted"
                );
            }
        }
    }
}

#[test]
fn re_serialised_body_is_diagnosed() {
    // A framework parsed the body and wrote it back without PHP's `\/`.
    let body = String::from_utf8(fixture("webhook_vector.json"))
        .unwrap()
        .replace(r"\/", "/");
    let err = verifier().verify(body.as_bytes()).unwrap_err();
    assert!(matches!(
        err,
        WebhookError::Mismatch {
            kind: WebhookKind::Payment,
            cause: MismatchCause::ReSerialised
        }
    ));
    insta::assert_snapshot!("mismatch_re_serialised", err.to_string());
}

#[test]
fn wrong_key_is_diagnosed() {
    // The keys are swapped in the configuration.
    let swapped = WebhookVerifier::new(PAYOUT_KEY).with_payout_key(PAYMENT_KEY);
    let err = swapped
        .verify(&fixture("webhook_payment_locked.json"))
        .unwrap_err();
    assert!(matches!(
        err,
        WebhookError::Mismatch {
            cause: MismatchCause::WrongKey {
                expected: KeyKind::Payment,
                verifies_with: KeyKind::Payout
            },
            ..
        }
    ));
    insta::assert_snapshot!("mismatch_wrong_key", err.to_string());

    // A payout-typed body signed with the payment key.
    let body = signed_webhook(
        &json!({"type": "payout", "uuid": "p", "amount": "1", "is_final": true, "status": "paid", "currency": "USDT"}),
        PAYMENT_KEY,
    );
    let err = verifier().verify(&body).unwrap_err();
    assert!(matches!(
        err,
        WebhookError::Mismatch {
            kind: WebhookKind::Payout,
            cause: MismatchCause::WrongKey {
                expected: KeyKind::Payout,
                verifies_with: KeyKind::Payment
            }
        }
    ));

    let err = verifier()
        .verify(&signed_webhook(&json!({"type": "payment"}), "someone-else"))
        .unwrap_err();
    assert!(matches!(
        err,
        WebhookError::Mismatch {
            cause: MismatchCause::Unexplained,
            ..
        }
    ));
    insta::assert_snapshot!("mismatch_unexplained", err.to_string());
}

#[test]
fn structural_failures_are_typed() {
    let v = verifier();
    type Check = fn(&WebhookError) -> bool;
    let cases: [(&[u8], Check); 7] = [
        (br#"{"type":"payment","uuid":"u1"}"#, |e| {
            matches!(e, WebhookError::MissingSign)
        }),
        (br#"{"type":"payment","sign":""}"#, |e| {
            matches!(e, WebhookError::EmptySign)
        }),
        (br#"{"type":"payment","sign":"ab""#, |e| {
            matches!(e, WebhookError::Malformed(_))
        }),
        (br#"{"type":"payment","a":tru,"sign":"ab"}"#, |e| {
            matches!(e, WebhookError::Malformed(_))
        }),
        (br#"{"uuid":"u1","sign":"ab"}"#, |e| {
            matches!(e, WebhookError::MissingType)
        }),
        (
            br#"{"type":"refund","sign":"ab"}"#,
            |e| matches!(e, WebhookError::UnknownType(t) if t == "refund"),
        ),
        (b"not json", |e| matches!(e, WebhookError::Malformed(_))),
    ];
    for (body, check) in cases {
        let err = v.verify(body).unwrap_err();
        assert!(check(&err), "{}: {err:?}", String::from_utf8_lossy(body));
    }
    let payment_only = WebhookVerifier::new(PAYMENT_KEY);
    let err = payment_only
        .verify(&fixture("webhook_payout.json"))
        .unwrap_err();
    assert!(matches!(
        err,
        WebhookError::MissingKey {
            kind: WebhookKind::Payout,
            key: KeyKind::Payout
        }
    ));
    // Into the crate's error, for `?` in handlers.
    let err: heleket_aml::Error = err.into();
    assert!(err.to_string().contains("payout key"), "{err}");
}

#[tokio::test]
async fn deliveries_are_processed_once_per_uuid_and_status_and_never_undo_a_final_one() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let fail_next = Arc::new(AtomicBool::new(false));
    let processor = WebhookProcessor::builder(verifier())
        .handler(handler_fn({
            let (seen, fail_next) = (seen.clone(), fail_next.clone());
            move |webhook: HeleketWebhook| {
                let (seen, fail_next) = (seen.clone(), fail_next.clone());
                async move {
                    if fail_next.swap(false, Ordering::SeqCst) {
                        return Err::<(), BoxError>("database down".into());
                    }
                    seen.lock().unwrap().push(webhook.status().to_owned());
                    Ok(())
                }
            }
        }))
        .build()
        .unwrap();
    let deliver = |body: Vec<u8>| {
        let processor = processor.clone();
        async move { processor.process(&RequestInfo::empty(), &body).await }
    };
    let with_status = |status: &str, is_final: bool| {
        let mut fields: Map<String, Value> =
            serde_json::from_slice(&fixture("webhook_payment_locked.json")).unwrap();
        fields.insert("status".into(), status.into());
        fields.insert("is_final".into(), is_final.into());
        signed_webhook_object(&fields, PAYMENT_KEY)
    };

    let locked = fixture("webhook_payment_locked.json");
    let first = deliver(locked.clone()).await.unwrap();
    assert_eq!(
        first,
        Outcome::Processed {
            key: "heleket:payment:62f88b36-a9d5-4fa6-aa26-e040c3dbf26d:locked".into()
        }
    );
    assert!(matches!(
        deliver(locked.clone()).await.unwrap(),
        Outcome::Duplicate { .. }
    ));

    // A new status is a new event; a failed handler releases it for the redelivery.
    fail_next.store(true, Ordering::SeqCst);
    let err = deliver(with_status("paid", true)).await.unwrap_err();
    assert!(matches!(err, ProcessError::Handler { .. }), "{err}");
    assert!(matches!(
        deliver(with_status("paid", true)).await.unwrap(),
        Outcome::Processed { .. }
    ));

    // `process` arriving after `paid` (its own first delivery had failed) is superseded;
    // `locked` replayed is a duplicate.
    let late = deliver(with_status("process", false)).await.unwrap();
    assert!(matches!(late, Outcome::Superseded { .. }), "{late:?}");
    assert!(matches!(
        deliver(locked).await.unwrap(),
        Outcome::Duplicate { .. }
    ));
    assert_eq!(*seen.lock().unwrap(), ["locked", "paid"]);

    // Forged: refused, 401, never handled.
    let mut forged = with_status("paid", true);
    let at = forged.len() - 5;
    forged[at] ^= 1;
    let err = deliver(forged).await.unwrap_err();
    assert_eq!(err.status().as_u16(), 401, "{err}");
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1.0e9f64..1.0e9).prop_map(Value::from),
        // Slashes, quotes, backslashes, controls, `< > &`, non-ASCII, U+2028.
        "[a-z/\\\\\"<>&é€😀\u{0}-\u{1f}\u{2028} ]{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_/\"é]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn webhook_object() -> impl Strategy<Value = (Map<String, Value>, WebhookKind)> {
    (
        prop::collection::btree_map("[a-z_/\"é]{1,8}", json_value(), 0..6),
        prop_oneof![
            Just(WebhookKind::Payment),
            Just(WebhookKind::Wallet),
            Just(WebhookKind::Payout)
        ],
    )
        .prop_map(|(fields, kind)| {
            let mut map: Map<String, Value> = fields.into_iter().collect();
            map.insert("type".into(), kind.as_str().into());
            (map, kind)
        })
}

fn key_for(kind: WebhookKind) -> &'static str {
    match kind.key_kind() {
        KeyKind::Payment => PAYMENT_KEY,
        _ => PAYOUT_KEY,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_signed_object_verifies((fields, kind) in webhook_object()) {
        let body = signed_webhook_object(&fields, key_for(kind));
        prop_assert_eq!(verifier().verify_signature(&body).unwrap(), kind);
    }

    #[test]
    fn any_mutation_fails(
        (fields, kind) in webhook_object(),
        index in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let mut body = signed_webhook_object(&fields, key_for(kind));
        let i = index.index(body.len());
        body[i] ^= mask;
        prop_assert!(verifier().verify_signature(&body).is_err());
    }

    #[test]
    fn inserting_or_removing_a_byte_fails(
        (fields, kind) in webhook_object(),
        index in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        insert in any::<bool>(),
    ) {
        let mut body = signed_webhook_object(&fields, key_for(kind));
        let i = index.index(body.len());
        // Whitespace inside the `sign` member itself (`"sign" :` or `: "`) leaves the signed
        // bytes as they are: the member is cut out whole. Every other change must fail.
        let member = body.len() - r#""sign":"0123456789abcdef0123456789abcdef"}"#.len();
        let harmless = insert
            && matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
            && (i == member + 6 || i == member + 7);
        if insert {
            body.insert(i, byte);
        } else {
            body.remove(i);
        }
        let verdict = verifier().verify_signature(&body);
        if harmless {
            prop_assert!(verdict.is_ok(), "{verdict:?}");
        } else {
            prop_assert!(verdict.is_err());
        }
    }

    #[test]
    fn complete_payment_webhooks_with_extra_fields_verify_and_parse(
        extra in prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..4),
        amount in "(0|[1-9][0-9]{0,11})\\.[0-9]{1,8}",
    ) {
        let mut fields: Map<String, Value> = extra.into_iter().collect();
        for (k, v) in [
            ("type", json!("payment")),
            ("uuid", json!("u-1")),
            ("amount", json!(amount.clone())),
            ("currency", json!("USDT")),
            ("status", json!("locked")),
            ("is_final", json!(false)),
        ] {
            fields.insert(k.into(), v);
        }
        let webhook = verifier().verify(&signed_webhook_object(&fields, PAYMENT_KEY)).unwrap();
        let HeleketWebhook::Payment(p) = webhook else { panic!() };
        prop_assert_eq!(p.amount.to_string(), amount);
    }
}

/// Events logged on this thread while `f` runs: level, then every field.
fn logged(f: impl FnOnce()) -> Vec<String> {
    use std::fmt::Write as _;
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    struct Fields(String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    struct Capture(Arc<Mutex<Vec<String>>>);
    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut fields = Fields(event.metadata().level().to_string());
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
    let lines = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::with_default(Capture(lines.clone()), f);
    lines.lock().unwrap().clone()
}

#[test]
fn the_first_payout_refused_for_lack_of_the_payout_key_is_logged_once() {
    let payout = fixture("webhook_payout.json");
    let payment = fixture("webhook_payment_locked.json");
    let without = WebhookVerifier::new(PAYMENT_KEY);
    let lines = logged(|| {
        assert!(without.verify(&payment).is_ok());
        for _ in 0..3 {
            assert!(matches!(
                without.verify(&payout),
                Err(WebhookError::MissingKey { .. })
            ));
        }
        // A clone shares the verifier's "already said" state.
        assert!(without.clone().verify(&payout).is_err());
    });
    let warnings: Vec<_> = lines.iter().filter(|l| l.starts_with("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{lines:?}");
    assert!(warnings[0].contains("with_payout_key"), "{warnings:?}");
    assert!(!warnings[0].contains(PAYMENT_KEY), "{warnings:?}");

    // A verifier with the key never says it.
    assert!(logged(|| assert!(verifier().verify(&payout).is_ok())).is_empty());
}
