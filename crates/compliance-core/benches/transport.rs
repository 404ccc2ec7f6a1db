//! The transport's per-call overhead: [`Transport::send`] of a `GET` (span, deadline, retry
//! bookkeeping, `User-Agent`, body cap) beside the same `GET` with a bare `reqwest::Client`
//! reading the body with `bytes()`, against one loopback server, in the same run (row
//! `transport_get`, see `bench-pair`).
//!
//! `cargo bench -p compliance-core --bench transport`; `cargo xtask bench` prints the ratio.

#![allow(missing_docs)]

use bench_pair::{Loopback, compare_async};
use compliance_core::http::{HttpClientBuilder, Request, Transport};
use criterion::{Criterion, criterion_group, criterion_main};

const BODY: &str = r#"{"status":"ok","id":"a5f2c8e0-7d1b-4f3e-9a6c-2b8d4e1f0a37"}"#;

fn get(c: &mut Criterion) {
    let server = Loopback::start(200, "application/json", BODY);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let transport = Transport::builder(server.url()).build().unwrap();
    let http = HttpClientBuilder::new().build().unwrap();
    let url = format!("{}/v1/status", server.url());

    let project = async || {
        let response = transport.send(Request::get("/v1/status")).await.unwrap();
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
    compare_async(c, "transport_get", &runtime, project, bare);
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = get
}
criterion_main!(benches);
