//! `cargo xtask`: the workspace's workshop (fixtures and release tooling).

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  help    show this message

Fixture and release commands are being added.";

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None | Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command `{other}`\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
