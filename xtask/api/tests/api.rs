//! Every published library crate's public API as an insta snapshot, and its third-party types
//! against the crate's `external-types.toml`. An API change is a snapshot diff to review
//! (`cargo insta test -p xtask-api`, then `cargo insta review`; or `cargo xtask api`); under
//! `CI=true` an unreviewed change fails.

use std::path::{Path, PathBuf};

use xtask_api::{Api, library_crates, read_allow_list};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The crates snapshotted below: a new publishable library must be added here.
const CRATES: [&str; 7] = [
    "aml-events",
    "amld5-verify",
    "compliance-core",
    "compliance-sandbox",
    "compliance-store",
    "heleket-aml",
    "kyc-public-api",
];

fn check(krate: &str) {
    let api = Api::of(&root(), krate).unwrap();
    assert!(
        api.items.len() > 10,
        "{krate}: only {} items found; the walk is broken",
        api.items.len()
    );
    insta::assert_snapshot!(krate, api.render());
    let allow_list = root()
        .join("crates")
        .join(krate)
        .join("external-types.toml");
    let problems = api.external_problems(&read_allow_list(&allow_list).unwrap());
    assert!(
        problems.is_empty(),
        "{krate}: third-party types in the public API differ from {}:\n{}\n(add a type only \
         on purpose: the root README's \"Third-party types in the API\")",
        allow_list.display(),
        problems.join("\n")
    );
}

#[test]
fn every_published_library_crate_is_snapshotted() {
    let (crates, _) = library_crates(&root()).unwrap();
    let names: Vec<&str> = crates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names, CRATES,
        "update CRATES and add a test for each new crate"
    );
}

#[test]
fn aml_events() {
    check("aml-events");
}

#[test]
fn amld5_verify() {
    check("amld5-verify");
}

#[test]
fn compliance_core() {
    check("compliance-core");
}

#[test]
fn compliance_sandbox() {
    check("compliance-sandbox");
}

#[test]
fn compliance_store() {
    check("compliance-store");
}

#[test]
fn heleket_aml() {
    check("heleket-aml");
}

#[test]
fn kyc_public_api() {
    check("kyc-public-api");
}
