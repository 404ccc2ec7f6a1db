//! Parsing Tuum's documented examples and the variants reality sends.

use aml_events::codes::{
    CollectionType, Direction, FixedSide, PaymentType, PersonType, ResultCode, SepaScheme,
    SequenceType, Status,
};
use aml_events::{AmlEvent, Decimal, Error, EventBody, EventType};
use serde_json::Value;

const PERSON: &str = include_str!("fixtures/person_subprocess_created.json");
const PAYMENT: &str = include_str!("fixtures/payment_subprocess_created.json");
const COLLECTION: &str = include_str!("fixtures/collection_subprocess_created.json");
const RESULTS: &str = include_str!("fixtures/payment_results_published.json");

const SEEDS: [(&str, &str); 4] = [
    ("person_subprocess_created", PERSON),
    ("payment_subprocess_created", PAYMENT),
    ("collection_subprocess_created", COLLECTION),
    ("payment_results_published", RESULTS),
];

fn parse(body: &str) -> AmlEvent {
    AmlEvent::from_slice(body.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(body: &[u8]) -> (String, String) {
    match AmlEvent::from_slice(body) {
        Err(Error::Parse { path, message, .. }) => (path, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// Replaces `data.<field>` of a seed with `value` (raw JSON text).
fn with_data_field(seed: &str, field: &str, value: &str) -> String {
    let mut json: Value = serde_json::from_str(seed).unwrap();
    json["data"][field] = serde_json::from_str(value).unwrap();
    json.to_string()
}

fn payment(body: &str) -> aml_events::payment::PaymentSubprocessCreated {
    match parse(body).into_body() {
        EventBody::PaymentSubprocessCreated(p) => *p,
        other => panic!("not a payment subprocess: {other:?}"),
    }
}

#[test]
fn seed_examples_snapshot_to_typed_values() {
    for (name, body) in SEEDS {
        let event = parse(body);
        insta::assert_debug_snapshot!(
            name,
            (
                event.notification_id(),
                event.event_type(),
                event.routing_code(),
                event.destination(),
                event.original_message_date_time(),
                event.body(),
            )
        );
    }
}

/// Compares the typed body, serialised back, with the seed's `data`: every documented field
/// must be captured (none silently dropped) and carry the same value.
fn assert_same(seed: &Value, typed: &Value, path: &str) {
    match (seed, typed) {
        (Value::Object(s), Value::Object(t)) => {
            let mut sk: Vec<_> = s.keys().collect();
            let mut tk: Vec<_> = t.keys().collect();
            sk.sort();
            tk.sort();
            assert_eq!(sk, tk, "fields at {path}");
            for (k, v) in s {
                assert_same(v, &t[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(s), Value::Array(t)) => {
            assert_eq!(s.len(), t.len(), "length at {path}");
            for (i, (a, b)) in s.iter().zip(t).enumerate() {
                assert_same(a, b, &format!("{path}[{i}]"));
            }
        }
        // Decimals serialise as strings (exact in every format).
        (Value::Number(n), Value::String(t)) => assert_eq!(&n.to_string(), t, "at {path}"),
        (s, t) => assert_eq!(s, t, "at {path}"),
    }
}

#[test]
fn every_seed_field_is_typed_and_round_trips() {
    for (name, body) in SEEDS {
        let seed: Value = serde_json::from_str(body).unwrap();
        let typed = match parse(body).into_body() {
            EventBody::PersonSubprocessCreated(b) => serde_json::to_value(b),
            EventBody::PaymentSubprocessCreated(b) => serde_json::to_value(b),
            EventBody::CollectionSubprocessCreated(b) => serde_json::to_value(b),
            EventBody::PaymentResultsPublished(b) => serde_json::to_value(b),
            other => panic!("{name}: {other:?}"),
        }
        .unwrap();
        assert_same(&seed["data"], &typed, name);
    }
}

#[test]
fn seed_values_are_typed_exactly() {
    let p = payment(PAYMENT);
    assert_eq!(p.payment_type_code, Some(PaymentType::Acc2Sepa));
    assert_eq!(p.direction_code, Some(Direction::Out));
    assert_eq!(p.status_code, Some(Status::WaitingForExternalProvider));
    assert_eq!(p.fixed_side, Some(FixedSide::Buy));
    assert_eq!(p.amount.amount, Decimal::new(122, 2));
    assert_eq!(p.fx_payment_exchange_rate, Some(Decimal::new(86, 2)));
    assert_eq!(p.message_d_time.unwrap().subsec_nanosecond(), 108_561_000);
    assert_eq!(p.posting_date.unwrap().to_string(), "2022-07-08");
    assert_eq!(
        p.payment_parties.as_ref().map(|r| r.get()),
        Some(r#""Payment party information""#)
    );

    let EventBody::CollectionSubprocessCreated(c) = parse(COLLECTION).into_body() else {
        panic!("not a collection")
    };
    assert_eq!(c.collection_type_code, Some(CollectionType::OutSepa));
    assert_eq!(c.sequence_type_code, Some(SequenceType::First));
    assert_eq!(c.sepa_scheme, Some(SepaScheme::B2b));
    assert_eq!(
        c.collection_parties[0].person_type_code,
        Some(PersonType::Private)
    );
    assert_eq!(
        c.collection_parties[0]
            .account_number
            .as_ref()
            .unwrap()
            .value,
        "DE89370400440532013000"
    );

    let event = parse(RESULTS);
    assert_eq!(event.event_type(), &EventType::PaymentResultsPublished);
    let EventBody::PaymentResultsPublished(r) = event.into_body() else {
        panic!("not a result")
    };
    assert_eq!(r.aml_process_result_code, ResultCode::Approved);
    assert_eq!(r.sub_process_result_reasons, ["LEGAL_REASON", "CODE_RED"]);
}

#[test]
fn unknown_event_type_is_kept_not_an_error() {
    let body = br#"{"notificationId":"ID-1","notificationTypeCode":"AML_PERSON_RESULTS_PUBLISHED",
        "destination":"https://example.com/hook","originalMessageDateTime":"2025-01-01T00:00:00Z",
        "data":{"amlProcessId":"P","score":0.1000000000000000000001}}"#;
    let event = AmlEvent::from_slice(body).unwrap();
    assert!(event.is_unknown());
    assert_eq!(event.routing_code(), None);
    let EventBody::Unknown { type_code, raw } = event.body() else {
        panic!("not unknown")
    };
    assert_eq!(type_code, "AML_PERSON_RESULTS_PUBLISHED");
    assert_eq!(
        raw.get(),
        r#"{"amlProcessId":"P","score":0.1000000000000000000001}"#
    );
    insta::assert_debug_snapshot!("unknown_event_type", event.body());

    // Without data at all it is still an event.
    let bare =
        AmlEvent::from_slice(br#"{"notificationId":"n","notificationTypeCode":"NEW"}"#).unwrap();
    assert!(matches!(bare.body(), EventBody::Unknown { raw, .. } if raw.is_null()));
}

#[test]
fn unknown_enum_values_are_kept() {
    let body = with_data_field(PAYMENT, "paymentTypeCode", r#""ACC2CRYPTO""#);
    let body = with_data_field(&body, "directionCode", r#""SIDEWAYS""#);
    let body = with_data_field(&body, "statusCode", r#""AML_ESCALATED""#);
    let body = with_data_field(&body, "fixedSide", r#""COVER""#);
    let p = payment(&body);
    assert_eq!(
        p.payment_type_code,
        Some(PaymentType::Unknown("ACC2CRYPTO".into()))
    );
    assert_eq!(
        p.direction_code,
        Some(Direction::Unknown("SIDEWAYS".into()))
    );
    assert_eq!(p.status_code, Some(Status::Unknown("AML_ESCALATED".into())));
    assert_eq!(p.fixed_side, Some(FixedSide::Unknown("COVER".into())));

    let body = with_data_field(RESULTS, "amlProcessResultCode", r#""ESCALATED""#);
    let EventBody::PaymentResultsPublished(r) = parse(&body).into_body() else {
        panic!("not a result")
    };
    assert_eq!(
        r.aml_process_result_code,
        ResultCode::Unknown("ESCALATED".into())
    );

    let mut json: Value = serde_json::from_str(COLLECTION).unwrap();
    json["data"]["sequenceTypeCode"] = "XXXX".into();
    json["data"]["sepaScheme"] = "COR1".into();
    json["data"]["collectionTypeCode"] = "IN_CRYPTO".into();
    json["data"]["collectionParties"][0]["personTypeCode"] = "X".into();
    let EventBody::CollectionSubprocessCreated(c) = parse(&json.to_string()).into_body() else {
        panic!("not a collection")
    };
    assert_eq!(
        c.sequence_type_code,
        Some(SequenceType::Unknown("XXXX".into()))
    );
    assert_eq!(c.sepa_scheme, Some(SepaScheme::Unknown("COR1".into())));
    assert_eq!(
        c.collection_type_code,
        Some(CollectionType::Unknown("IN_CRYPTO".into()))
    );
    assert_eq!(
        c.collection_parties[0].person_type_code,
        Some(PersonType::Unknown("X".into()))
    );
}

#[test]
fn extra_fields_are_tolerated_everywhere_and_kept_raw() {
    let mut json: Value = serde_json::from_str(COLLECTION).unwrap();
    json["schemaVersion"] = 2.into();
    json["data"]["riskScore"] = serde_json::json!({"value": 7});
    json["data"]["mandate"]["amendmentIndicator"] = true.into();
    json["data"]["collectionParties"][0]["address"]["building"] = "B".into();
    json["data"]["source"]["channel"] = "API".into();
    let event = parse(&json.to_string());
    assert!(matches!(
        event.body(),
        EventBody::CollectionSubprocessCreated(_)
    ));
    assert!(
        event
            .raw_data()
            .get()
            .contains(r#""riskScore":{"value":7}"#)
    );
}

#[test]
fn nulls_and_absent_optional_fields_are_none() {
    let mut json: Value = serde_json::from_str(PAYMENT).unwrap();
    let data = json["data"].as_object_mut().unwrap();
    for field in [
        "messageDTime",
        "paymentTypeCode",
        "directionCode",
        "postingDate",
        "statusCode",
        "paymentParties",
        "exchangeRate",
        "initialBalance",
        "feeAmount",
        "source",
        "contractSource",
        "fxPaymentFlag",
        "fixedSide",
        "fxPaymentExchangeRate",
        "coverAmount",
    ] {
        data.insert(field.into(), Value::Null);
    }
    for field in [
        "details",
        "purposeCode",
        "selectedPaymentScheme",
        "paymentSchemeElements",
    ] {
        data.remove(field);
    }
    json["destination"] = Value::Null;
    json["originalMessageDateTime"] = Value::Null;
    let event = parse(&json.to_string());
    assert_eq!(event.destination(), None);
    assert_eq!(event.original_message_date_time(), None);
    let EventBody::PaymentSubprocessCreated(p) = event.into_body() else {
        panic!("not a payment")
    };
    assert_eq!(p.message_d_time, None);
    assert_eq!(p.payment_parties, None);
    assert_eq!(p.fx_payment_exchange_rate, None);
    assert_eq!(p.fx_payment_flag, None);
    assert_eq!(p.details, None);
    assert_eq!(p.payment_scheme_elements, None);
    assert_eq!(p.amount.amount, Decimal::new(122, 2));

    let body = with_data_field(COLLECTION, "collectionParties", "null");
    let EventBody::CollectionSubprocessCreated(c) = parse(&body).into_body() else {
        panic!("not a collection")
    };
    assert!(c.collection_parties.is_empty());

    // A null where a required value belongs is an error naming it.
    let (path, _) = parse_err(with_data_field(PAYMENT, "amount", "null").as_bytes());
    assert_eq!(path, "data.amount");
    let (path, _) = parse_err(with_data_field(PAYMENT, "paymentId", "null").as_bytes());
    assert_eq!(path, "data.paymentId");
    let (path, _) = parse_err(
        with_data_field(PAYMENT, "amount", r#"{"amount":null,"currencyCode":"EUR"}"#).as_bytes(),
    );
    assert_eq!(path, "data.amount.amount");
}

#[test]
fn integer_amounts_nine_digit_fractions_and_long_amounts_are_exact() {
    let body = with_data_field(PAYMENT, "amount", r#"{"amount":25,"currencyCode":"EUR"}"#);
    let body = with_data_field(&body, "fxPaymentExchangeRate", "2");
    let body = with_data_field(&body, "messageDTime", r#""2022-07-08T09:04:37.123456789Z""#);
    // serde_json::Value would go through f64: splice the long literal in as text.
    let body = body.replacen(
        r#""feeAmount":{"amount":1.22"#,
        r#""feeAmount":{"amount":1234567890123456789012.345678"#,
        1,
    );
    let body = body.replacen(
        r#""coverAmount":{"amount":1.22"#,
        r#""coverAmount":{"amount":"0.000000000000000000000000001""#,
        1,
    );
    let p = payment(&body);
    assert_eq!(p.amount.amount, Decimal::from(25));
    assert_eq!(p.amount.amount.to_string(), "25");
    assert_eq!(p.fx_payment_exchange_rate.unwrap().to_string(), "2");
    assert_eq!(p.message_d_time.unwrap().subsec_nanosecond(), 123_456_789);
    assert_eq!(
        p.fee_amount.unwrap().amount.to_string(),
        "1234567890123456789012.345678",
        "28 significant digits, kept exactly"
    );
    assert_eq!(
        p.cover_amount.unwrap().amount.to_string(),
        "0.000000000000000000000000001"
    );

    let rate = PAYMENT.replacen(
        r#""fxPaymentExchangeRate": 0.86"#,
        r#""fxPaymentExchangeRate": 1.1585940000000000000000001"#,
        1,
    );
    assert_ne!(rate, PAYMENT);
    assert_eq!(
        payment(&rate).fx_payment_exchange_rate.unwrap().to_string(),
        "1.1585940000000000000000001"
    );
}

#[test]
fn fractions_from_zero_to_nine_digits() {
    for (text, nanos) in [
        ("2024-12-16T11:18:19Z", 0),
        ("2024-12-16T11:18:19.9Z", 900_000_000),
        ("2024-12-16T11:18:19.955Z", 955_000_000),
        ("2024-12-16T11:18:19.95512Z", 955_120_000),
        ("2024-12-16T11:18:19.108561Z", 108_561_000),
        ("2024-12-16T11:18:19.000000001Z", 1),
        ("2024-12-16T13:18:19.123456789+02:00", 123_456_789),
    ] {
        let body = PERSON.replacen("2024-12-16T11:18:19.955Z", text, 1);
        let at = parse(&body).original_message_date_time().unwrap();
        assert_eq!(at.subsec_nanosecond(), nanos, "{text}");
    }
}

#[test]
fn amounts_that_would_need_rounding_are_errors() {
    let body = PAYMENT.replacen(
        r#""amount": 1.22"#,
        r#""amount": 1.2200000000000000000000000000001"#,
        1,
    );
    assert_ne!(body, PAYMENT);
    let (path, message) = parse_err(body.as_bytes());
    assert_eq!(path, "data.amount.amount");
    assert!(message.contains("exactly"), "{message}");
    let (path, _) =
        parse_err(with_data_field(PAYMENT, "fxPaymentExchangeRate", r#""0,86""#).as_bytes());
    assert_eq!(path, "data.fxPaymentExchangeRate");
}

#[test]
fn malformed_bodies_are_typed_errors_naming_the_path() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "."),
        (b"   ", "."),
        (b"{", "."),
        (b"[]", "."),
        (b"null", "."),
        (br#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{}} x"#, "."),
        (br#"{"notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{}}"#, "."),
        (br#"{"notificationId":9999,"notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{}}"#, "notificationId"),
        (br#"{"notificationId":"n","notificationTypeCode":7,"data":{}}"#, "notificationTypeCode"),
        (br#"{"notificationId":"n","notificationTypeCode":"X","originalMessageDateTime":"yesterday"}"#, "originalMessageDateTime"),
        (br#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":[]}"#, "data"),
        (br#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":"x"}"#, "data"),
    ];
    for (body, expected) in cases {
        let (path, _) = parse_err(body);
        assert_eq!(&path, expected, "{}", String::from_utf8_lossy(body));
    }

    for (field, value, expected) in [
        ("paymentId", "1000", "data.paymentId"),
        (
            "amount",
            r#"{"amount":"1.2.2","currencyCode":"EUR"}"#,
            "data.amount.amount",
        ),
        ("amount", r#"{"amount":1.22}"#, "data.amount"),
        ("postingDate", r#""08.07.2022""#, "data.postingDate"),
        ("postingDate", r#""2022-02-30""#, "data.postingDate"),
        ("messageDTime", r#""2022-07-08 09:04""#, "data.messageDTime"),
        ("fxPaymentFlag", r#""yes""#, "data.fxPaymentFlag"),
        ("paymentTypeCode", "3", "data.paymentTypeCode"),
        ("source", r#""PAYMENT""#, "data.source"),
    ] {
        let (path, _) = parse_err(with_data_field(PAYMENT, field, value).as_bytes());
        assert_eq!(path, expected, "{field} = {value}");
    }

    let mut json: Value = serde_json::from_str(COLLECTION).unwrap();
    json["data"]["collectionParties"][0]["financialInstitutionId"]["value"] = 42.into();
    let (path, _) = parse_err(json.to_string().as_bytes());
    assert_eq!(
        path,
        "data.collectionParties[0].financialInstitutionId.value"
    );
}

#[test]
fn errors_keep_only_a_bounded_prefix_of_the_body() {
    let huge_id = "9".repeat(100_000);
    let body = format!(
        r#"{{"notificationId":"n","notificationTypeCode":"AML_PAYMENT_RESULTS_PUBLISHED","data":{{"amlProcessId":{huge_id},"amlProcessResultCode":"APPROVED"}}}}"#
    );
    let err = AmlEvent::from_slice(body.as_bytes()).unwrap_err();
    let text = err.to_string();
    assert!(text.len() < 3_000, "error is {} bytes", text.len());
    let Error::Parse {
        path,
        body: snippet,
        ..
    } = err
    else {
        panic!("not a parse error")
    };
    assert_eq!(path, "data.amlProcessId");
    assert!(snippet.is_truncated());
    assert_eq!(snippet.total_len(), body.len());

    let long_string = format!(
        r#"{{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{{"paymentId":"p","amlProcessId":"a","amlSubprocessId":"s","amount":{{"amount":"{}","currencyCode":"EUR"}}}}}}"#,
        "x".repeat(100_000)
    );
    assert!(
        AmlEvent::from_slice(long_string.as_bytes())
            .unwrap_err()
            .to_string()
            .len()
            < 3_000
    );
}

#[test]
fn ids_are_strings_never_coerced() {
    let event = parse(PERSON);
    let EventBody::PersonSubprocessCreated(p) = event.body() else {
        panic!("not a person")
    };
    assert_eq!(p.aml_subprocess_id, "A000000001000");
    let body = PERSON.replacen(r#""personId": "ID-1000""#, r#""personId": 0001000"#, 1);
    assert_ne!(body, PERSON);
    assert!(AmlEvent::from_slice(body.as_bytes()).is_err());
}

#[test]
fn events_serialise_back_to_tuum_shape_exactly() {
    for (name, body) in SEEDS {
        let event = parse(body);
        let json = serde_json::to_string(&event).unwrap();
        let again = AmlEvent::from_slice(json.as_bytes()).unwrap();
        assert_eq!(again, event, "{name}");
        let original: Value = serde_json::from_str(body).unwrap();
        let written: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(original, written, "{name}");
    }
}
