//! Webhook receivers against the providers' retries. elKYC retries after 30 s with
//! exponential back-off, 10 times; Heleket repeats until a 2xx. The sandbox follows each
//! schedule with its clock compressed (an `InstantSleeper`: no real waiting, and no timing
//! assertion: each attempt records the pause the schedule put before it).

use std::time::Duration;

use compliance_e2e::recorder;
use compliance_sandbox::elkyc::ApplicantStatus;
use compliance_sandbox::{
    Attempt, InstantSleeper, NewPayment, Provider, RetrySchedule, Sandbox, SandboxConfig,
};
use heleket_aml::{HeleketWebhook, PaymentStatus, WebhookVerifier};
use kyc_public_api::{CreateApplicant, EventType, KycClient, WebhookVerifier as ElkycVerifier};

fn secs(s: &[u64]) -> Vec<Duration> {
    s.iter().map(|s| Duration::from_secs(*s)).collect()
}

fn kyc(sandbox: &Sandbox) -> KycClient {
    let creds = sandbox.elkyc().credentials();
    KycClient::builder()
        .base_url(sandbox.endpoint(Provider::Elkyc).url())
        .api_key(creds.api_key.clone())
        .encryption(compliance_e2e::elkyc_settings(&creds).unwrap())
        .build()
        .unwrap()
}

fn pauses(attempts: &[Attempt]) -> Vec<Duration> {
    attempts.iter().map(|a| a.after).collect()
}

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default().seed(31).sleeper(InstantSleeper))
        .await
        .unwrap()
}

/// A receiver down for three deliveries gets the fourth, 30 + 60 + 120 s later, byte for
/// byte the same webhook, and it verifies.
#[tokio::test]
async fn elkyc_retries_on_its_schedule_until_the_receiver_answers() {
    let sandbox = sandbox().await;
    let (url, received) = recorder(3).await;
    let elkyc = sandbox.elkyc();
    elkyc.set_webhook_url(url);
    let creds = elkyc.credentials();
    kyc(&sandbox)
        .create_applicant(&CreateApplicant::new("retry-1", "basic-kyc"))
        .await
        .unwrap();
    let first = &elkyc.deliveries()[0];
    assert_eq!(
        first.last_status(),
        Some(503),
        "the first attempt is awaited"
    );
    elkyc.settle_webhooks().await;

    let delivery = &elkyc.deliveries()[0];
    assert_eq!(pauses(&delivery.attempts), secs(&[0, 30, 60, 120]));
    let statuses: Vec<_> = delivery.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(503), Some(200)]);
    assert_eq!(delivery.last_status(), Some(200));

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 4);
    assert!(received.iter().all(|(_, body)| body == &received[0].1));
    let verifier = ElkycVerifier::builder(compliance_e2e::elkyc_settings(&creds).unwrap())
        .build()
        .unwrap();
    let (headers, body) = &received[3];
    let event = verifier.verify(headers, body).unwrap();
    assert_eq!(event.event.event, Some(EventType::ApplicantCreated));
}

/// A receiver that never answers 200 gets the first delivery and all 10 retries, the last
/// 4 h 16 min after the one before (8.5 h in all), and then no more.
#[tokio::test]
async fn elkyc_gives_up_after_ten_retries() {
    let sandbox = sandbox().await;
    let (url, received) = recorder(usize::MAX).await;
    let elkyc = sandbox.elkyc();
    elkyc.set_webhook_url(url);
    kyc(&sandbox)
        .create_applicant(&CreateApplicant::new("down-1", "basic-kyc"))
        .await
        .unwrap();
    elkyc
        .set_status("down-1", ApplicantStatus::InProgress)
        .await
        .unwrap();
    elkyc.settle_webhooks().await;
    for delivery in elkyc.deliveries() {
        let mut expected = vec![Duration::ZERO];
        expected.extend(RetrySchedule::elkyc().delays());
        assert_eq!(
            pauses(&delivery.attempts),
            expected,
            "{}",
            delivery.sent.event
        );
        assert_eq!(
            expected.iter().sum::<Duration>(),
            Duration::from_secs(30 * 1023)
        );
        assert!(delivery.attempts.iter().all(|a| a.status == Some(503)));
    }
    assert_eq!(received.lock().unwrap().len(), 2 * 11);
}

/// Heleket repeats a refused webhook until the shop answers 2xx (after 1 min, then 2 min):
/// the shop's verifier accepts the same bytes each time.
#[tokio::test]
async fn heleket_repeats_until_a_2xx() {
    let sandbox = sandbox().await;
    let (url, received) = recorder(2).await;
    let heleket = sandbox.heleket();
    let uuid = heleket.create_payment(NewPayment::new("order-r1", "12.50", "USDT").callback(url));
    heleket.lock_payment(&uuid).await.unwrap();
    assert_eq!(
        compliance_e2e::heleket_sent(heleket),
        [("locked".to_owned(), Some(503))]
    );
    heleket.settle_webhooks().await;

    let delivery = &heleket.deliveries()[0];
    assert_eq!(pauses(&delivery.attempts), secs(&[0, 60, 120]));
    assert_eq!(
        compliance_e2e::heleket_sent(heleket),
        [("locked".to_owned(), Some(200))]
    );

    let c = heleket.credentials();
    let verifier = WebhookVerifier::new(c.payment_key).with_payout_key(c.payout_key);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    for (_, body) in &received {
        let Ok(HeleketWebhook::Payment(p)) = verifier.verify(body) else {
            panic!("{}", String::from_utf8_lossy(body))
        };
        assert_eq!(p.status, PaymentStatus::Locked);
        assert_eq!(p.uuid, uuid);
    }
}
