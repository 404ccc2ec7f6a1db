//! A tour of `compliance-core`, offline: a flaky local API retried by the transport, exact
//! money, an open enum meeting a value it does not know, a webhook delivered twice but
//! processed once, and two writers racing on one applicant record.
//!
//! Run with `cargo run -p compliance-core --example tour`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use compliance_core::http::{Request, Transport};
use compliance_core::money::{self, Decimal};
use compliance_core::{
    AmlStatus, ApplicantKey, ApplicantRecord, ApplicantStore, Claim, Expected, Inbox,
    MemoryApplicantStore, MemoryInbox, Timestamp,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

compliance_core::open_enum! {
    /// A payment status, as a provider might define it.
    pub enum PaymentStatus {
        /// Paid.
        Paid = "paid",
        /// Held by the AML programme.
        Locked = "locked",
    }
}

#[derive(serde::Deserialize)]
struct Payment {
    #[serde(with = "money::decimal")]
    amount: Decimal,
    status: PaymentStatus,
}

/// A local API that fails twice with 503, then answers.
async fn flaky_api() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let body = r#"{"amount":1.2200000000000000001,"status":"frozen_by_compliance"}"#;
            let reply = if n < 2 {
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_owned()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (url, hits)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("compliance-core tour\n");

    let (url, hits) = flaky_api().await;
    let transport = Transport::builder(&url).user_agent("tour/0").build()?;
    let response = transport
        .send(Request::get("/payment"))
        .await?
        .error_for_status()?;
    let payment: Payment = response.json()?;
    println!(
        "1. transport: {} attempts (503, 503, 200)",
        hits.load(Ordering::SeqCst)
    );
    println!(
        "2. money:     amount {} (exact, never through f64)",
        payment.amount
    );
    println!(
        "3. open enum: status {:?} (unknown values parse and round-trip: `{}`)",
        payment.status, payment.status
    );

    let inbox = MemoryInbox::new();
    let mut processed = 0;
    for delivery in ["notif-1", "notif-1", "notif-2"] {
        match inbox.claim(delivery).await? {
            Claim::Acquired(token) => {
                processed += 1;
                inbox.complete(delivery, &token).await?;
            }
            _ => println!("   inbox: duplicate delivery of {delivery} acknowledged, not processed"),
        }
    }
    println!("4. inbox:     3 deliveries, {processed} processed");

    let store = MemoryApplicantStore::new();
    let key = ApplicantKey::new("elkyc", "applicant-1");
    let now = Timestamp::now();
    let first = store
        .put(
            ApplicantRecord::new(key.clone(), "INIT", AmlStatus::Pending, now),
            Expected::Absent,
        )
        .await?;
    let approved = ApplicantRecord::new(key.clone(), "APPROVED", AmlStatus::Clear, now);
    let in_review = ApplicantRecord::new(key.clone(), "IN_REVIEW", AmlStatus::UnderReview, now);
    store
        .put(approved, Expected::Version(first.version))
        .await?;
    let conflict = store.put(in_review, Expected::Version(first.version)).await;
    println!(
        "5. store:     second writer at version {} rejected: {}",
        first.version,
        conflict.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let current = store.get(&key).await?.expect("stored");
    println!(
        "   current state: {} ({}) at version {}",
        current.provider_status, current.aml_status, current.version
    );
    Ok(())
}
