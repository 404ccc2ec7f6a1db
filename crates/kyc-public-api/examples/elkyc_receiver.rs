//! A production receiver for elKYC's webhooks: a persistent inbox (`compliance-store`: an
//! SQLite file, or PostgreSQL when several instances receive), refusals and failures in the
//! logs (`tracing`), and the peer's address in them.
//!
//! `ELKYC_SECRET_KEY=... ELKYC_HMAC_KEY=... cargo run -p kyc-public-api --example elkyc_receiver --features axum`

use std::net::SocketAddr;
use std::sync::Arc;

use compliance_store::{PostgresStore, SqliteStore};
use kyc_public_api::{
    BoxError, EncryptionSettings, Inbox, SecretString, WebhookEvent, WebhookProcessor,
    WebhookReceiver, WebhookVerifier, handler_fn,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Refused deliveries (bad signatures, stale or replayed envelopes), handler failures and
    // inbox trouble are reported through `tracing`: install a subscriber, or you will not
    // see them.
    tracing_subscriber::fmt().init();

    // Processed events must outlive a restart, and be shared by every instance.
    let inbox: Arc<dyn Inbox> = match std::env::var("DATABASE_URL") {
        Ok(url) => Arc::new(PostgresStore::connect(&url).await?.inbox("elkyc")),
        Err(_) => Arc::new(SqliteStore::open("compliance.db").await?.inbox("elkyc")),
    };

    let settings = EncryptionSettings::cbc(
        SecretString::from(std::env::var("ELKYC_SECRET_KEY")?),
        SecretString::from(std::env::var("ELKYC_HMAC_KEY")?),
    );
    let processor = WebhookProcessor::builder(WebhookVerifier::builder(settings).build()?)
        .inbox(inbox)
        .handler(handler_fn(|webhook: WebhookEvent| async move {
            println!("{:?}", webhook.event.applicant_id); // your code, once per event
            Ok::<_, BoxError>(())
        }))
        .build()?;
    let app = kyc_public_api::axum::Router::new().route(
        "/elkyc/webhook",
        WebhookReceiver::new(processor).method_router(),
    );
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    // Connect info puts the peer's address in every refusal logged.
    kyc_public_api::axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
