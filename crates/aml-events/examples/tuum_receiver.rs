//! A production receiver for Tuum's AML events: a persistent inbox (`compliance-store`: an
//! SQLite file, or PostgreSQL when several instances receive), refusals and failures in the
//! logs (`tracing`), and the peer's address in them.
//!
//! `TUUM_WEBHOOK_SECRET=... cargo run -p aml-events --example tuum_receiver --features axum`

use std::net::SocketAddr;
use std::sync::Arc;

use aml_events::auth::SharedSecretHeader;
use aml_events::{
    AmlEvent, BoxError, Inbox, SecretString, WebhookProcessor, WebhookReceiver, WebhookVerifier,
    handler_fn,
};
use compliance_store::{PostgresStore, SqliteStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Refused deliveries (a wrong secret, a malformed event), handler failures and inbox
    // trouble are reported through `tracing`: install a subscriber, or you will not see them.
    tracing_subscriber::fmt().init();

    // Processed notifications must outlive a restart, and be shared by every instance.
    let inbox: Arc<dyn Inbox> = match std::env::var("DATABASE_URL") {
        Ok(url) => Arc::new(PostgresStore::connect(&url).await?.inbox("tuum")),
        Err(_) => Arc::new(SqliteStore::open("compliance.db").await?.inbox("tuum")),
    };

    let token = SecretString::from(std::env::var("TUUM_WEBHOOK_SECRET")?); // agreed with Tuum
    let verifier = WebhookVerifier::new(SharedSecretHeader::new("x-webhook-token", token)?);
    let processor = WebhookProcessor::builder(verifier)
        .inbox(inbox)
        .handler(handler_fn(|event: AmlEvent| async move {
            println!("{:?}", event.body()); // your code, once per notification
            Ok::<_, BoxError>(())
        }))
        .build()?;
    let app = aml_events::axum::Router::new().route(
        "/tuum/aml-events",
        WebhookReceiver::new(processor).method_router(),
    );
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
    // Connect info puts the peer's address in every refusal logged.
    aml_events::axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
