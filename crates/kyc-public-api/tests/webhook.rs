//! Webhooks: signature, decryption, freshness window, typed events and deduplication.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use compliance_core::rt::ManualClock;
use compliance_core::time::{SignedDuration, Timestamp};
use compliance_core::webhook::FreshnessError;
use compliance_core::webhook::RequestInfo;
use kyc_public_api::Envelope;
use kyc_public_api::encryption::{Cipher, EncryptionError, EncryptionSettings, SIGNATURE_HEADER};
use kyc_public_api::webhook::{DEFAULT_TOLERANCE, WebhookError};
use kyc_public_api::{
    BoxError, EventType, HeaderMap, Outcome, ProcessError, WebhookEvent, WebhookProcessor,
    WebhookVerifier, handler_fn,
};

const SECRET_KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
const HMAC_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const NOW: &str = "2025-07-04T12:00:00Z";

fn settings() -> [EncryptionSettings; 2] {
    [
        EncryptionSettings::cbc(SECRET_KEY, HMAC_KEY),
        EncryptionSettings::gcm(SECRET_KEY),
    ]
}

fn receiver(settings: &EncryptionSettings) -> (WebhookVerifier, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let receiver = WebhookVerifier::builder(settings.clone())
        .tolerance(Duration::from_secs(300))
        .clock(clock.clone())
        .build()
        .unwrap();
    (receiver, clock)
}

/// A webhook as the provider would send it.
fn webhook(
    settings: &EncryptionSettings,
    payload: serde_json::Value,
    time: &str,
) -> (HeaderMap, Vec<u8>) {
    let cipher = Cipher::new(settings).unwrap();
    let (body, signature) = Envelope::new(200, payload)
        .seal(&cipher, time.parse::<Timestamp>().unwrap())
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    (headers, body)
}

fn approved() -> serde_json::Value {
    serde_json::json!({
        "type": "applicantApproved",
        "id": "3f6c7c1e-8d0b-4a57-9b1e-0a4f3c2d1e00",
        "externalUserId": "user/42 ü",
        "appKey": "app-1",
        "warnings": ["LOW_QUALITY_SELFIE"],
        "stepName": null
    })
}

#[test]
fn a_genuine_webhook_is_verified_decrypted_and_typed() {
    for s in settings() {
        let (receiver, _) = receiver(&s);
        let (headers, body) = webhook(&s, approved(), "2025-07-04T11:59:30.250Z");
        let w = receiver.verify(&headers, &body).unwrap();
        assert_eq!(w.event.event, Some(EventType::ApplicantApproved));
        assert_eq!(
            w.event.applicant_id.as_deref(),
            Some("3f6c7c1e-8d0b-4a57-9b1e-0a4f3c2d1e00")
        );
        assert_eq!(w.event.external_user_id.as_deref(), Some("user/42 ü"));
        assert_eq!(w.event.warnings, ["LOW_QUALITY_SELFIE"]);
        assert_eq!(w.envelope_time.subsec_millisecond(), 250);
        assert!(w.dedup_key.starts_with("elkyc:") && w.dedup_key.len() == 6 + 64);
    }
}

#[test]
fn every_event_name_parses_and_unknown_ones_are_kept() {
    let s = &settings()[0];
    let (receiver, _) = receiver(s);
    let names = [
        "applicantCreated",
        "applicantInProgress",
        "applicantIncomplete",
        "applicantInReview",
        "applicantRejected",
        "applicantApproved",
        "applicantCompleted",
        "applicantOnHold",
        "applicantStepPassed",
        "applicantDuplicateDocument",
        "applicantDuplicateEmail",
        "applicantDuplicatePhone",
        "expiredDocument",
        "additionalDocumentStepError",
    ];
    for name in names {
        let (h, b) = webhook(s, serde_json::json!({"type": name, "id": "a"}), NOW);
        let event = receiver.verify(&h, &b).unwrap().event.event.unwrap();
        assert!(event.is_known(), "{name}");
        assert_eq!(event.as_str(), name);
    }
    let (h, b) = webhook(
        s,
        serde_json::json!({"type": "applicantMovedToMars", "id": "a"}),
        NOW,
    );
    assert_eq!(
        receiver.verify(&h, &b).unwrap().event.event,
        Some(EventType::Unknown("applicantMovedToMars".into()))
    );
}

#[test]
fn flipping_any_byte_of_the_body_or_signature_is_rejected() {
    for s in settings() {
        let (receiver, _) = receiver(&s);
        let (headers, body) = webhook(&s, approved(), NOW);
        assert!(receiver.verify(&headers, &body).is_ok());
        let data_start = body.windows(8).position(|w| w == br#""data":""#).unwrap() + 8;
        let data_end = data_start + body[data_start..].iter().position(|b| *b == b'"').unwrap();
        for i in 0..body.len() {
            for flip in [0x01u8, 0x80] {
                let mut tampered = body.clone();
                tampered[i] ^= flip;
                let result = receiver.verify(&headers, &tampered);
                if (data_start..data_end).contains(&i) {
                    // Inside `data`: always refused, never decrypted.
                    assert!(result.is_err(), "data byte {i} ^ {flip:#x} accepted");
                } else if let Ok(w) = result {
                    // Outside `data` only JSON framing / the unsigned `time` can change;
                    // an accepted body still carries the genuine payload.
                    assert_eq!(w.event.event, Some(EventType::ApplicantApproved));
                }
            }
        }
        let signature = headers
            .get(SIGNATURE_HEADER)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        for i in 0..signature.len() {
            let mut bytes = signature.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let mut h = headers.clone();
            h.insert(
                SIGNATURE_HEADER,
                String::from_utf8(bytes).unwrap().parse().unwrap(),
            );
            assert!(
                matches!(
                    receiver.verify(&h, &body),
                    Err(WebhookError::Encryption(EncryptionError::SignatureMismatch))
                ),
                "signature char {i}"
            );
        }
    }
}

#[test]
fn missing_signature_plain_data_and_garbage_are_rejected() {
    let s = &settings()[0];
    let (receiver, _) = receiver(s);
    let (mut headers, body) = webhook(s, approved(), NOW);
    headers.remove(SIGNATURE_HEADER);
    assert!(matches!(
        receiver.verify(&headers, &body),
        Err(WebhookError::Encryption(EncryptionError::MissingSignature))
    ));
    let plain = serde_json::to_vec(&serde_json::json!({
        "status": true, "statusCode": 200, "data": approved(), "time": NOW
    }))
    .unwrap();
    assert!(matches!(
        receiver.verify(&HeaderMap::new(), &plain),
        Err(WebhookError::NotEncrypted)
    ));
    assert!(matches!(
        receiver.verify(&HeaderMap::new(), b"not json"),
        Err(WebhookError::Malformed(_))
    ));
    assert!(matches!(
        receiver.verify(&HeaderMap::new(), b""),
        Err(WebhookError::Malformed(_))
    ));
}

#[test]
fn stale_and_future_webhooks_are_rejected() {
    for s in settings() {
        let (receiver, clock) = receiver(&s);
        let (h, b) = webhook(&s, approved(), "2025-07-04T11:54:59Z");
        assert!(matches!(
            receiver.verify(&h, &b),
            Err(WebhookError::NotFresh(FreshnessError::Stale { .. }))
        ));
        let (h, b) = webhook(&s, approved(), "2025-07-04T12:05:01Z");
        assert!(matches!(
            receiver.verify(&h, &b),
            Err(WebhookError::NotFresh(FreshnessError::Future { .. }))
        ));
        // Inside the window either way is fine...
        for t in ["2025-07-04T11:55:00Z", "2025-07-04T12:05:00Z"] {
            let (h, b) = webhook(&s, approved(), t);
            assert!(receiver.verify(&h, &b).is_ok(), "{t}");
        }
        // ...until the clock moves on.
        let (h, b) = webhook(&s, approved(), NOW);
        clock.advance(SignedDuration::from_secs(301));
        assert!(receiver.verify(&h, &b).is_err());
    }
    // The window is configurable.
    let s = &settings()[1];
    let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let wide = WebhookVerifier::builder(s.clone())
        .tolerance(Duration::from_secs(3600))
        .clock(clock)
        .build()
        .unwrap();
    let (h, b) = webhook(s, approved(), "2025-07-04T11:30:00Z");
    assert!(wide.verify(&h, &b).is_ok());
    let body = String::from_utf8(b)
        .unwrap()
        .replace("2025-07-04T11:30:00.000Z", "yesterday");
    assert!(matches!(
        wide.verify(&h, body.as_bytes()),
        Err(WebhookError::MissingTime)
    ));
}

#[tokio::test]
async fn duplicates_and_replays_with_a_new_time_are_processed_once() {
    let s = &settings()[0];
    let (verifier, clock) = receiver(s);
    let runs = Arc::new(AtomicUsize::new(0));
    let fail_next = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let processor = WebhookProcessor::builder(verifier)
        .handler(handler_fn({
            let (runs, fail_next) = (runs.clone(), fail_next.clone());
            move |w: WebhookEvent| {
                let (runs, fail_next) = (runs.clone(), fail_next.clone());
                async move {
                    if fail_next.swap(false, Ordering::SeqCst) {
                        return Err::<(), BoxError>("database down".into());
                    }
                    assert_eq!(w.event.event, Some(EventType::ApplicantApproved));
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            }
        }))
        .build()
        .unwrap();
    let deliver = |h: HeaderMap, b: Vec<u8>| {
        let processor = processor.clone();
        async move { processor.process(&RequestInfo::new(&h, None), &b).await }
    };
    let (h, b) = webhook(s, approved(), NOW);

    // The handler fails: released, so the provider's retry runs it again.
    let failed = deliver(h.clone(), b.clone()).await.unwrap_err();
    assert!(matches!(failed, ProcessError::Handler { .. }), "{failed}");
    assert!(matches!(
        deliver(h.clone(), b.clone()).await.unwrap(),
        Outcome::Processed { .. }
    ));
    assert!(matches!(
        deliver(h.clone(), b.clone()).await.unwrap(),
        Outcome::Duplicate { .. }
    ));

    // The same captured delivery with a new envelope `time` (not covered by the signature)
    // is the same event: the key comes from the decrypted payload only.
    clock.advance(SignedDuration::from_secs(3 * 3600));
    let later = String::from_utf8(b.clone())
        .unwrap()
        .replace("2025-07-04T12:00:00.000Z", "2025-07-04T15:00:00.000Z");
    assert_ne!(later.as_bytes(), b.as_slice(), "the time was rewritten");
    let replay = deliver(h.clone(), later.into_bytes()).await.unwrap();
    assert!(matches!(replay, Outcome::Duplicate { .. }), "{replay:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // A different event for the same applicant is new.
    let (h2, b2) = webhook(
        s,
        serde_json::json!({"type": "applicantApproved", "id": "another"}),
        "2025-07-04T15:00:00Z",
    );
    assert!(matches!(
        deliver(h2, b2).await.unwrap(),
        Outcome::Processed { .. }
    ));

    // Without the signature header: refused before the body is read, never processed.
    let forged = deliver(HeaderMap::new(), b).await.unwrap_err();
    assert_eq!(forged.status().as_u16(), 401);
    assert_eq!(
        processor.inbox().lease(),
        compliance_core::inbox::DEFAULT_LEASE
    );
}

#[test]
fn the_default_window_covers_the_providers_whole_retry_schedule() {
    // 10 attempts, 30 s doubling: the last retry comes 30 s · (2^10 - 1) after the first.
    let schedule = Duration::from_secs(30 * ((1 << 10) - 1));
    assert!(
        DEFAULT_TOLERANCE > schedule,
        "{DEFAULT_TOLERANCE:?} vs {schedule:?}"
    );
    let s = &settings()[1];
    let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
    let verifier = WebhookVerifier::builder(s.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let (h, b) = webhook(s, approved(), NOW);
    clock.advance(SignedDuration::try_from(schedule).unwrap());
    assert!(
        verifier.verify(&h, &b).is_ok(),
        "the last retry is accepted"
    );
    clock.advance(SignedDuration::from_secs(4 * 3600));
    assert!(matches!(
        verifier.verify(&h, &b),
        Err(WebhookError::NotFresh(FreshnessError::Stale { .. }))
    ));
}

/// A receiver set up for CBC that gets a GCM webhook (or the reverse) says the encryption
/// mode may differ, rather than only "malformed signature".
#[test]
fn a_webhook_in_the_other_encryption_mode_says_the_mode_may_differ() {
    let [cbc, gcm] = settings();
    for (configured, sent, sent_name) in [(&cbc, &gcm, "GCM"), (&gcm, &cbc, "CBC")] {
        let (receiver, _) = receiver(configured);
        let (headers, body) = webhook(sent, approved(), "2025-07-04T11:59:30.250Z");
        let err = receiver.verify(&headers, &body).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("encryption mode may differ") && text.contains(sent_name),
            "{text}"
        );
    }
}

#[tokio::test]
async fn durable_intake_keeps_the_envelope_encrypted_and_the_worker_processes_it_days_later() {
    use compliance_core::MemoryInbox;
    use compliance_core::webhook::{DeliveryState, MemoryQueue, Queue, Verifier, Worker};

    let s = &settings()[0];
    let (verifier, clock) = receiver(s);
    let queue = Arc::new(MemoryQueue::new());
    let intake = WebhookProcessor::builder(verifier.clone())
        .queue(queue.clone())
        .build()
        .unwrap();
    let (mut h, b) = webhook(s, approved(), NOW);
    h.insert("authorization", "Bearer not-kept".parse().unwrap());
    let outcome = intake
        .process(&RequestInfo::new(&h, None), &b)
        .await
        .unwrap();
    assert_eq!(outcome.as_str(), "queued");

    let row = queue.get(outcome.key()).await.unwrap().unwrap();
    let stored = row.request.unwrap();
    assert_eq!(stored.body().as_ref(), &b[..], "the envelope as received");
    let text = String::from_utf8_lossy(stored.body());
    assert!(
        !text.contains("user/42") && !text.contains("applicantApproved"),
        "{text}"
    );
    let names: Vec<&str> = stored.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [SIGNATURE_HEADER]);

    // Days later (dead, then replayed): outside the freshness window, still verifies.
    clock.advance(SignedDuration::from_hours(72));
    assert!(verifier.verify(&h, &b).is_err(), "stale for intake");
    let event = verifier.reverify(&stored).unwrap();
    assert_eq!(event.key(), outcome.key());
    let mut forged = b.clone();
    let last = forged.len() - 3;
    forged[last] ^= 1;
    let forged = compliance_core::webhook::StoredRequest::new(stored.headers().to_vec(), forged);
    assert!(
        verifier.reverify(&forged).is_err(),
        "authenticity is checked again"
    );

    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let processor = WebhookProcessor::builder(verifier)
        .inbox(MemoryInbox::new())
        .handler(handler_fn(move |event: WebhookEvent| {
            let counted = counted.clone();
            async move {
                assert_eq!(event.event.event, Some(EventType::ApplicantApproved));
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, BoxError>(())
            }
        }))
        .build()
        .unwrap();
    let worker = Worker::builder(processor, queue.clone()).build();
    assert_eq!(worker.run_once().await.unwrap(), 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let row = queue.get(outcome.key()).await.unwrap().unwrap();
    assert_eq!(row.state, DeliveryState::Done);
}
