//! `cargo xtask screenshots`: regenerates the console's screenshots in compliance-cli's
//! README (`crates/compliance-cli/screenshots/*.png`).
//!
//! The browser test takes them anyway (`compliance-cli`'s `tests/console/browser.rs`);
//! this runs it with `COMPLIANCE_SCREENSHOTS` pointing into the repository, so the README
//! shows what the test saw. It needs Chromium and chromedriver (Debian: `apt-get install
//! chromium chromium-driver`) and sets `CI=true` so a missing browser fails instead of
//! skipping.

use std::path::Path;

use crate::cli::{Args, Error};
use crate::cmd;

/// The command's help.
pub const USAGE: &str = "usage: cargo xtask screenshots

Runs compliance-cli's browser test with COMPLIANCE_SCREENSHOTS=crates/compliance-cli/screenshots,
rewriting the PNGs the README shows; then `git status` shows which changed.";

/// Where the PNGs go, from the workspace root.
pub const DIR: &str = "crates/compliance-cli/screenshots";

/// `cargo xtask screenshots`.
pub fn main(args: Args) -> Result<(), Error> {
    args.finish()?;
    let dir =
        std::env::current_dir().map_err(|e| Error::failed(format!("no current directory: {e}")))?;
    let root = crate::workspace_root(&dir).map_err(Error::failed)?;
    run(&root)
}

fn run(root: &Path) -> Result<(), Error> {
    let out = root.join(DIR);
    std::fs::create_dir_all(&out)
        .map_err(|e| Error::failed(format!("cannot create {}: {e}", out.display())))?;
    cmd::status(
        cmd::cargo(root)
            .args([
                "test",
                "--package",
                "compliance-cli",
                "--test",
                "console",
                "--",
                "browser::the_console_in_a_real_browser",
                "--exact",
            ])
            .env("COMPLIANCE_SCREENSHOTS", &out)
            .env("CI", "true"),
    )
    .map_err(Error::failed)?;
    let changed =
        cmd::output(cmd::git(root).args(["status", "--short", "--", DIR])).unwrap_or_default();
    if changed.trim().is_empty() {
        println!("screenshots unchanged in {DIR}");
    } else {
        println!("screenshots rewritten in {DIR}:\n{changed}");
    }
    Ok(())
}
