//! A production receiver for Heleket's webhooks: a persistent inbox (`compliance-store`:
//! an SQLite file, or PostgreSQL when several instances receive), refusals and failures in
//! the logs (`tracing`), and the peer's address in them.
//!
//! `HELEKET_PAYMENT_KEY=... HELEKET_PAYOUT_KEY=... cargo run -p heleket-aml --example heleket_receiver --features axum`

use std::net::SocketAddr;
use std::sync::Arc;

use compliance_store::{PostgresStore, SqliteStore};
use heleket_aml::{
    BoxError, HeleketWebhook, Inbox, SecretString, WebhookProcessor, WebhookReceiver,
    WebhookVerifier, handler_fn,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Refused deliveries (bad signatures, replays), handler failures and inbox trouble are
    // reported through `tracing`: install a subscriber, or you will not see them.
    tracing_subscriber::fmt().init();

    // Processed keys must outlive a restart, and be shared by every instance.
    let inbox: Arc<dyn Inbox> = match std::env::var("DATABASE_URL") {
        Ok(url) => Arc::new(PostgresStore::connect(&url).await?.inbox("heleket")),
        Err(_) => Arc::new(SqliteStore::open("compliance.db").await?.inbox("heleket")),
    };

    let verifier = WebhookVerifier::new(SecretString::from(std::env::var("HELEKET_PAYMENT_KEY")?))
        .with_payout_key(SecretString::from(std::env::var("HELEKET_PAYOUT_KEY")?));
    let processor = WebhookProcessor::builder(verifier)
        .inbox(inbox)
        .handler(handler_fn(|webhook: HeleketWebhook| async move {
            println!("{} is now {}", webhook.uuid(), webhook.status()); // your code, once per status
            Ok::<_, BoxError>(())
        }))
        .build()?;
    let app = heleket_aml::axum::Router::new().route(
        "/heleket/callback",
        WebhookReceiver::new(processor).method_router(),
    );
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    // Connect info puts the peer's address in every refusal logged.
    heleket_aml::axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
