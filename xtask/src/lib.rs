//! `cargo xtask`: the workspace's workshop (release tooling and fixture regeneration).
//!
//! Every command is a module with `pub fn main(args: cli::Args) -> Result<(), cli::Error>`;
//! adding one (for example `fixtures`) is a `mod` line, a match arm and a line in [`USAGE`].

mod cli;
mod cmd;
mod fixtures;
mod git;
mod release;
#[cfg(test)]
mod testutil;
mod version;
mod workspace;

use std::process::ExitCode;

use cli::{Args, Error};

/// Top-level help.
const USAGE: &str = "usage: cargo xtask <command> [args]

commands:
  release   plan, check, bump and publish the workspace's crates (cargo xtask release help)
  fixtures  record provider fixtures and check them for drift (cargo xtask fixtures help)
  help      show this message

Both workflows are described in xtask/README.md.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest = Args::new(args);
    let (result, usage) = match command.as_deref() {
        None | Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("release") => (release::main(rest), release::USAGE),
        Some("fixtures") => (fixtures::main(rest), fixtures::USAGE),
        Some(other) => (
            Err(Error::Usage(format!("unknown command `{other}`"))),
            USAGE,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(message)) => {
            eprintln!("error: {message}\n\n{usage}");
            ExitCode::from(2)
        }
        Err(Error::Failed(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
