//! aml-events receiving the simulated Tuum's deliveries over HTTP: every event type parsed,
//! duplicates and replays processed once, failures redelivered.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aml_events::auth::SharedSecretHeader;
use aml_events::{AmlEvent, EventBody, SecretString, WebhookProcessor, WebhookVerifier};
use compliance_e2e::serve;
use compliance_sandbox::{DeliveryOptions, Sandbox, SandboxConfig, TuumEvent};

const SECRET: &str = "shared-with-tuum";

async fn receiver(fail_first: usize) -> (Sandbox, Arc<Mutex<Vec<AmlEvent>>>, Arc<AtomicUsize>) {
    let mut config = SandboxConfig::default();
    config.tuum.auth_header = Some(("x-tuum-secret".into(), SECRET.into()));
    let sandbox = Sandbox::start(config).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (store, counter) = (seen.clone(), calls.clone());
    let processor = WebhookProcessor::builder(WebhookVerifier::new(
        SharedSecretHeader::new("x-tuum-secret", SecretString::from(SECRET)).unwrap(),
    ))
    .handler(aml_events::handler_fn(move |event: AmlEvent| {
        let (store, counter) = (store.clone(), counter.clone());
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) < fail_first {
                return Err("screening service unavailable");
            }
            store.lock().unwrap().push(event);
            Ok(())
        }
    }))
    .build()
    .unwrap();
    let url = serve(aml_events::server::router(processor)).await;
    sandbox.tuum().subscribe(format!("{url}/"));
    (sandbox, seen, calls)
}

#[tokio::test]
async fn every_event_type_arrives_typed_and_exact() {
    let (sandbox, seen, _) = receiver(0).await;
    let tuum = sandbox.tuum();
    for event in [
        TuumEvent::PersonSubprocessCreated,
        TuumEvent::SubprocessCreated,
        TuumEvent::CollectionSubprocessCreated,
        TuumEvent::PaymentResultsPublished {
            result: "DECLINED".into(),
        },
    ] {
        let reports = tuum.send(event, DeliveryOptions::default()).await.unwrap();
        assert!(reports[0].delivered(), "{reports:?}");
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    let EventBody::PaymentSubprocessCreated(payment) = seen[1].body() else {
        panic!("{:?}", seen[1])
    };
    assert_eq!(payment.amount.amount.to_string(), "1.22");
    assert!(
        matches!(seen[3].body(), EventBody::PaymentResultsPublished(r) if r.aml_process_result_code.as_str() == "DECLINED")
    );
}

#[tokio::test]
async fn a_duplicated_and_replayed_delivery_is_processed_once() {
    let (sandbox, seen, _) = receiver(0).await;
    let reports = sandbox
        .tuum()
        .send(TuumEvent::SubprocessCreated, DeliveryOptions::duplicated())
        .await
        .unwrap();
    assert!(
        reports
            .iter()
            .all(|r| r.delivered() && r.statuses() == [Some(200)]),
        "{reports:?}"
    );
    sandbox
        .tuum()
        .replay(&reports[0].sent.notification_id)
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "three deliveries, one processing"
    );
}

#[tokio::test]
async fn a_failing_handler_gets_the_redelivery() {
    let (sandbox, seen, calls) = receiver(1).await;
    let reports = sandbox
        .tuum()
        .send(
            TuumEvent::PersonSubprocessCreated,
            DeliveryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(reports[0].statuses(), [Some(500), Some(200)]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn deliveries_without_the_shared_secret_are_refused() {
    // This Tuum was not given the secret; the receiver requires it.
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let processor = WebhookProcessor::builder(WebhookVerifier::new(
        SharedSecretHeader::new("x-tuum-secret", SecretString::from(SECRET)).unwrap(),
    ))
    .handler(aml_events::handler_fn(move |_event: AmlEvent| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<(), &str>(())
        }
    }))
    .build()
    .unwrap();
    let url = serve(aml_events::server::router(processor)).await;
    sandbox.tuum().subscribe(format!("{url}/"));

    let reports = sandbox
        .tuum()
        .send(TuumEvent::SubprocessCreated, DeliveryOptions::default())
        .await
        .unwrap();
    assert!(!reports[0].delivered());
    assert!(
        reports[0].statuses().iter().all(|s| *s == Some(401)),
        "{reports:?}"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}
