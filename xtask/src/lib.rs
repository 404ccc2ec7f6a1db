//! `cargo xtask`: the workspace's workshop (release tooling, fixture regeneration, benchmarks).
//!
//! Every command is a module with `pub fn main(args: cli::Args) -> Result<(), cli::Error>`;
//! adding one is a `mod` line, a match arm and a line in `USAGE`.
//!
//! Release tooling needs no crate of the workspace: this package depends on none, so
//! `cargo xtask release ...` builds in seconds. `fixtures` drives the provider crates and the
//! sandbox, so it is its own package, `xtask-fixtures` (`xtask/fixtures/`), which this one
//! runs through cargo when asked; it shares [`cli`] and [`workspace_root`] from here.

mod bench;
pub mod cli;
mod cmd;
mod git;
mod release;
mod screenshots;
#[cfg(test)]
mod testutil;
#[cfg(test)]
mod tidy;
mod version;
mod workspace;

use std::process::ExitCode;

use cli::{Args, Error};

/// Top-level help.
const USAGE: &str = "usage: cargo xtask <command> [args]

commands:
  release   plan, check, bump and publish the workspace's crates (cargo xtask release help)
  fixtures  record provider fixtures and check them for drift (cargo xtask fixtures help)
  api       regenerate the public-API snapshots (xtask/api) and show which changed
  bench     run the benchmarks and print their ratios against the targets (cargo xtask bench --help)
  screenshots  regenerate the console's screenshots in compliance-cli's README (needs Chromium)
  help      show this message

The workflows are described in xtask/README.md.";

/// Runs `cargo xtask <args>` (the binary's `main`).
pub fn run() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    if command.as_deref() == Some("fixtures") {
        return fixtures(args);
    }
    if command.as_deref() == Some("api") {
        return api();
    }
    let rest = Args::new(args);
    let (result, usage) = match command.as_deref() {
        None | Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("release") => (release::main(rest), release::USAGE),
        Some("bench") => (bench::main(rest), bench::USAGE),
        Some("screenshots") => (screenshots::main(rest), screenshots::USAGE),
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

/// `cargo xtask fixtures <args>`: runs the `xtask-fixtures` package (which builds the
/// provider crates and the sandbox) with the same arguments and exit code.
fn fixtures(args: impl Iterator<Item = String>) -> ExitCode {
    let Ok(dir) = std::env::current_dir() else {
        eprintln!("error: no current directory");
        return ExitCode::FAILURE;
    };
    let status = cmd::cargo(&dir)
        .args(["run", "--quiet", "--package", "xtask-fixtures", "--"])
        .args(args)
        .status();
    match status {
        Ok(status) => match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE,
        },
        Err(e) => {
            eprintln!("error: cannot run `cargo run -p xtask-fixtures`: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask api`: rewrites every public-API snapshot (`INSTA_UPDATE=always cargo test -p
/// xtask-api`) and prints `git diff --stat` of them, so an API change is reviewed in the
/// diff and committed with the code. Under `CI=true` snapshots are never rewritten.
fn api() -> ExitCode {
    let Ok(dir) = std::env::current_dir() else {
        eprintln!("error: no current directory");
        return ExitCode::FAILURE;
    };
    let root = match workspace_root(&dir) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = cmd::cargo(&root)
        .args(["test", "--package", "xtask-api", "--test", "api"])
        .env("INSTA_UPDATE", "always")
        .status();
    let tested = matches!(status, Ok(s) if s.success());
    let diff =
        cmd::output(cmd::git(&root).args(["diff", "--stat", "--", "xtask/api/tests/snapshots"]))
            .unwrap_or_default();
    if diff.trim().is_empty() {
        println!("public API unchanged");
    } else {
        println!("public API changed (review with `git diff xtask/api/tests/snapshots`):\n{diff}");
    }
    if tested {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: the API tests failed (a third-party type not in external-types.toml?); \
             see above"
        );
        ExitCode::FAILURE
    }
}

/// The root of the workspace that contains `dir`, by `cargo locate-project`.
pub fn workspace_root(dir: &std::path::Path) -> Result<std::path::PathBuf, String> {
    workspace::Workspace::locate(dir)
}
