//! Tests that run the built `compliance` binary: every command's success and failure paths,
//! exit codes, `--json` parsed back, webhooks triggered into receivers built from the
//! provider crates, the live `state` against the in-process sandbox, progress on a terminal,
//! and, for every run, a check that no secret appears in any output.

mod common;
mod elkyc;
mod heleket;
mod progress;
mod receiver;
mod sandbox;
mod secrets;
mod state;
mod trigger;
mod tuum;
mod usage;
