//! A durable receiver for elKYC's webhooks, the recommended production mode: each authentic
//! delivery is stored (`compliance-store`: an SQLite file, or PostgreSQL when several
//! instances receive) and acknowledged once the write is committed; a worker runs your
//! handler from the queue, retries its failures with back-off, and keeps what still fails
//! past the limit as dead, for `compliance inbox replay` once fixed. A downstream outage
//! longer than elKYC retries loses nothing.
//!
//! `ELKYC_SECRET_KEY=... ELKYC_HMAC_KEY=... cargo run -p kyc-public-api --example elkyc_durable --features axum`

use std::net::SocketAddr;
use std::sync::Arc;

use compliance_store::{PostgresStore, SqliteStore};
use kyc_public_api::{
    BoxError, EncryptionSettings, Inbox, Queue, RetrySchedule, SecretString, WebhookEvent,
    WebhookProcessor, WebhookReceiver, WebhookVerifier, WebhookWorker, handler_fn,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Refusals, handler failures, retries and dead deliveries are reported through
    // `tracing`: install a subscriber, or you will not see them.
    tracing_subscriber::fmt().init();

    // The queue and the inbox in one database, shared by every instance.
    let (queue, inbox): (Arc<dyn Queue>, Arc<dyn Inbox>) = match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let store = PostgresStore::connect(&url).await?;
            (
                Arc::new(store.queue("elkyc")),
                Arc::new(store.inbox("elkyc")),
            )
        }
        Err(_) => {
            let store = SqliteStore::open("compliance.db").await?;
            (
                Arc::new(store.queue("elkyc")),
                Arc::new(store.inbox("elkyc")),
            )
        }
    };

    // The queue keeps each envelope as received, still encrypted; the worker decrypts it.
    let settings = EncryptionSettings::cbc(
        SecretString::from(std::env::var("ELKYC_SECRET_KEY")?),
        SecretString::from(std::env::var("ELKYC_HMAC_KEY")?),
    );
    let verifier = || WebhookVerifier::builder(settings.clone()).build();

    // Intake: verify, store, answer 200 once committed (503 when the store cannot write).
    let intake = WebhookProcessor::builder(verifier()?)
        .queue(queue.clone())
        .build()?;
    // Worker: your handler once per event, from the queue; an error is retried later.
    let processor = WebhookProcessor::builder(verifier()?)
        .inbox(inbox)
        .handler(handler_fn(|webhook: WebhookEvent| async move {
            println!("{:?}", webhook.event.applicant_id); // your code
            Ok::<_, BoxError>(())
        }))
        .build()?;
    // The default schedule: 10 s doubling to 1 h, 20 attempts or 7 days, then dead.
    let worker = WebhookWorker::builder(processor, queue)
        .retry(RetrySchedule::new())
        .build()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let working = tokio::spawn(async move {
        let mut stopped = stopped;
        worker
            .run(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });

    let app = kyc_public_api::axum::Router::new().route(
        "/elkyc/webhook",
        WebhookReceiver::new(intake).method_router(),
    );
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    // Connect info puts the peer's address in every refusal logged.
    kyc_public_api::axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // Stop taking work; running handlers get the grace period (30 s) to finish.
    let _ = stop.send(true);
    working.await?;
    Ok(())
}
