//! Reading BTC Direct's user info (`GET /api/v1/user/info`, the 2.2 KB fixture) into [`UserInfo`] the
//! way [`BtcDirectClient::user_info`](amld5_verify::BtcDirectClient::user_info) does
//! ([`Response::json`]), beside `serde_json::from_slice::<Value>` on the same bytes, in the
//! same run (see `bench-pair`). A typed parse should be at least twice as fast as a tree.
//!
//! `cargo bench -p amld5-verify --bench user_info`; `cargo xtask bench` prints the ratio.

#![allow(missing_docs)]

use amld5_verify::UserInfo;
use bench_pair::compare;
use compliance_core::http::{HeaderMap, Response, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

const USER_INFO: &[u8] = include_bytes!("../tests/fixtures/user_info.json");

fn user_info(c: &mut Criterion) {
    let response = Response::new(StatusCode::OK, HeaderMap::new(), USER_INFO.into());
    let info: UserInfo = response.json().unwrap();
    assert_eq!(info.first_name.as_deref(), Some("John"));
    assert_eq!(info.enabled_wallet_addresses.len(), 2);
    compare(
        c,
        "user_info_decode",
        || response.json::<UserInfo>().unwrap(),
        || serde_json::from_slice::<Value>(response.body()).unwrap(),
    );
}

criterion_group! {
    name = benches;
    config = bench_pair::criterion();
    targets = user_info
}
criterion_main!(benches);
