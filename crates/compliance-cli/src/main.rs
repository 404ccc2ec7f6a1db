//! `compliance`: the command line for people who operate compliance integrations.
//!
//! Verify a Heleket webhook that was refused at 3 a.m. (and see why), open an elKYC
//! envelope, parse a Tuum event, ask any provider for the AML state of a payment, applicant,
//! user or wallet, run the offline sandbox, and send a correctly signed sample webhook of
//! any documented kind to your own endpoint. See the crate's README for a session, and
//! `compliance --help` for the exit codes and where secrets are read from.

// A failure is a typed error and an exit code, never a panic (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod btcdirect;
mod cli;
#[cfg(feature = "console")]
mod console;
mod elkyc;
mod heleket;
#[cfg(feature = "store")]
mod inbox;
mod input;
mod outcome;
mod progress;
#[cfg(feature = "sandbox")]
mod prometheus;
mod secrets;
#[cfg(feature = "sandbox")]
mod serve;
mod state;
#[cfg(feature = "store")]
mod store;
#[cfg(feature = "sandbox")]
mod trigger;
mod tuum;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command, ElkycCommand, HeleketCommand, TuumCommand};
use crate::outcome::{Failure, Outcome, Output, failure_json};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let out = Output {
        json: cli.json,
        verbose: cli.verbose,
        terminal: std::io::stderr().is_terminal(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return out.finish(Err(Failure::config(format!("cannot start: {e}")))),
    };
    let result = runtime.block_on(run(&cli.command, &out));
    out.finish(result)
}

async fn run(command: &Command, out: &Output) -> Result<Outcome, Failure> {
    match command {
        Command::Heleket(HeleketCommand::Sign(a)) => heleket::sign(a, out),
        Command::Heleket(HeleketCommand::Verify(a)) => heleket::verify(a, out),
        Command::Elkyc(ElkycCommand::Decrypt(a)) => elkyc::decrypt(a, out),
        Command::Elkyc(ElkycCommand::Encrypt(a)) => elkyc::encrypt(a, out),
        Command::Tuum(TuumCommand::Parse(a)) => tuum::parse(a, out),
        Command::State(c) => state::run(c, out).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(a) => serve::run(a, out).await,
        #[cfg(feature = "sandbox")]
        Command::Trigger(c) => trigger::run(c, out).await,
        #[cfg(feature = "console")]
        Command::Console(a) => console::run(a, out).await,
        #[cfg(feature = "store")]
        Command::Inbox(a) => inbox::run(a, out).await,
    }
}

/// Help and version go to stdout with exit 0; any other parse error exits 2, as one JSON
/// document when `--json` was asked for.
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || !std::env::args_os().any(|a| a == "--json")
    {
        e.exit();
    }
    let message = e.render().to_string();
    let failure = Failure::usage(message.trim().trim_start_matches("error: ").to_owned());
    println!(
        "{}",
        serde_json::to_string_pretty(&failure_json(&failure)).unwrap_or_default()
    );
    ExitCode::from(failure.code.status())
}
