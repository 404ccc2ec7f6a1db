//! The transport's per-call overhead: [`Transport::send`] of a `GET` (span, deadline, retry
//! bookkeeping, `User-Agent`, body cap) beside the same `GET` with a bare `reqwest::Client`
//! reading the body with `bytes()`, against one loopback server, in the same run (row
//! `transport_get`, see `bench-pair`).
//!
//! Built with the `metrics` feature it installs a recording recorder first and prints row
//! `transport_get_metrics` instead: the same pair with every metric of the call recorded, so
//! the two rows' ratios compare the feature on (and recording) with the feature off.
//!
//! `cargo bench -p compliance-core --bench transport`; `cargo xtask bench` prints the ratio.

#![allow(missing_docs)]

#[cfg(feature = "metrics")]
#[path = "support/recording.rs"]
mod recording;

#[cfg(feature = "metrics")]
const ROW: &str = "transport_get_metrics";
#[cfg(not(feature = "metrics"))]
const ROW: &str = "transport_get";

use bench_pair::{Loopback, compare_async};
use compliance_core::http::{HttpClientBuilder, Request, Transport};
use criterion::{Criterion, criterion_group, criterion_main};

const BODY: &str = r#"{"status":"ok","id":"a5f2c8e0-7d1b-4f3e-9a6c-2b8d4e1f0a37"}"#;

fn get(c: &mut Criterion) {
    #[cfg(feature = "metrics")]
    recording::install();
    let server = Loopback::start(200, "application/json", BODY);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let transport = Transport::builder(server.url())
        .provider("bench")
        .build()
        .unwrap();
    let http = HttpClientBuilder::new().build().unwrap();
    let url = format!("{}/v1/status", server.url());

    let project = async || {
        let response = transport
            .send(Request::get("/v1/status").operation("status"))
            .await
            .unwrap();
        assert!(response.is_success());
        response.into_body()
    };
    let bare = async || {
        let response = http.get(&url).send().await.unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap()
    };
    let (a, b) = runtime.block_on(async { (project().await, bare().await) });
    assert_eq!((a.as_ref(), b.as_ref()), (BODY.as_bytes(), BODY.as_bytes()));
    compare_async(c, ROW, &runtime, project, bare);
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = get
}
criterion_main!(benches);
