//! Requests the simulated providers send out: webhooks and event deliveries.

use std::time::Duration;

use compliance_core::http::HttpClient;

/// POSTs a JSON `body` to `url` with an optional extra header, as every simulated provider
/// delivers to its subscriber. Returns the answer's status, or `None` if there was no
/// answer (refused, timed out after 10 s).
pub(crate) async fn post_json(
    client: &HttpClient,
    url: &str,
    body: Vec<u8>,
    header: Option<(&str, &str)>,
) -> Option<u16> {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(10))
        .body(body);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.send().await.ok().map(|r| r.status().as_u16())
}
