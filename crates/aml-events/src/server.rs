//! Receiving Tuum's deliveries over HTTP with axum (feature `axum`): the shared
//! [`compliance_core::webhook::Receiver`] with Tuum's verifier.
//!
//! It answers by the [outcome → status table](compliance_core::webhook#the-outcome--status-table)
//! every provider crate shares; a 2xx answer names the `notificationId`
//! (`{"status":"processed","notificationId":"ID-1"}`), a 400 the JSON path that failed
//! (`{"error":"invalid_event","path":"data.amount.amount","message":"..."}`).

use compliance_core::axum::Router;

use crate::pipeline::{WebhookProcessor, WebhookVerifier};

pub use compliance_core::webhook::{DEFAULT_BODY_LIMIT, DEFAULT_READ_TIMEOUT};

/// The HTTP receiver for Tuum's deliveries.
///
/// The peer address reaches the [authenticator](crate::auth::Authenticator) when the server
/// is run with `into_make_service_with_connect_info::<SocketAddr>()`; without it the peer is
/// unknown (and an [`IpAllowList`](crate::auth::IpAllowList) refuses every delivery).
pub type WebhookReceiver = compliance_core::webhook::Receiver<WebhookVerifier>;

/// An axum router answering `POST /` with the processor and the default limits.
///
/// Mount it where Tuum delivers: `Router::new().nest("/tuum/aml-events", router(processor))`,
/// or use [`WebhookReceiver`] for a method router and other limits.
pub fn router<S: Clone + Send + Sync + 'static>(processor: WebhookProcessor) -> Router<S> {
    WebhookReceiver::new(processor).router()
}
