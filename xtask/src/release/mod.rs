//! `cargo xtask release ...`: per-crate publishing in dependency order.
//!
//! See `xtask/README.md` for the workflow; each subcommand lives in its own module.

pub mod bump;
pub mod changelog;
pub mod check;
pub mod compat;
pub mod files;
pub mod plan;
pub mod publish;
pub mod semver;
pub mod stale;

use std::collections::BTreeMap;

use crate::cli::{Args, Error};
use crate::git;
use crate::version::Level;
use crate::workspace::Workspace;

/// Help for `cargo xtask release`.
pub const USAGE: &str = "usage: cargo xtask release <command>

commands:
  plan                              publishable crates in publish order, their versions and
                                    whether each changed since its tag <crate>-v<version>
  check [--skip-package] [--skip-docs] [--skip-semver] [--skip-compat]
                                    everything publishing needs: metadata, internal version
                                    requirements, changelogs, packaged files, cargo package,
                                    the docs.rs build, cargo semver-checks against each last
                                    tag, and compat
  compat                            each released provider crate, checked out at its tag,
                                    built and tested with the working compliance-core and
                                    compliance-store
  bump <crate> <patch|minor|major> [--dry-run]
                                    bump a crate, its requirements across the workspace and
                                    (for breaking bumps) its released dependents; opens
                                    CHANGELOG sections
  publish [--execute] [--allow-dirty]
                                    cargo publish every untagged crate in order (a dry run
                                    unless --execute; --execute tags each crate it publishes)";

/// Runs `cargo xtask release <args>` in the workspace containing the current directory.
pub fn main(mut args: Args) -> Result<(), Error> {
    let Some(command) = args.positional() else {
        println!("{USAGE}");
        return Ok(());
    };
    let cwd =
        std::env::current_dir().map_err(|e| Error::failed(format!("no current directory: {e}")))?;
    let load = || -> Result<Workspace, Error> { Ok(Workspace::load(&Workspace::locate(&cwd)?)?) };
    match command.as_str() {
        "plan" => {
            args.finish()?;
            let ws = load()?;
            let rows = plan::rows(&ws)?;
            print!("{}", plan::render(&rows));
            print!("{}", plan::levels(&ws, &rows)?);
            Ok(())
        }
        "check" => {
            let options = check::Options {
                skip_package: args.flag("--skip-package"),
                skip_docs: args.flag("--skip-docs"),
                skip_semver: args.flag("--skip-semver"),
                skip_compat: args.flag("--skip-compat"),
            };
            args.finish()?;
            if check::run(&load()?, options)? {
                Ok(())
            } else {
                Err(Error::failed(
                    "fix the problems listed above, then run the check again",
                ))
            }
        }
        "bump" => {
            let krate = args.required("the crate to bump")?;
            let level: Level = args
                .required("the bump level (patch, minor or major)")?
                .parse()
                .map_err(Error::Usage)?;
            let dry_run = args.flag("--dry-run");
            args.finish()?;
            bump(&load()?, &krate, level, dry_run)
        }
        "compat" => {
            args.finish()?;
            let reports = compat::run(&load()?)?;
            print!("{}", compat::render(&reports));
            if compat::problems(&reports).is_empty() {
                Ok(())
            } else {
                Err(Error::failed(
                    "a released provider crate breaks with this core: keep the core compatible, \
                     or release it as a breaking version (cargo xtask release bump)",
                ))
            }
        }
        "publish" => {
            let execute = args.flag("--execute");
            let allow_dirty = args.flag("--allow-dirty");
            args.finish()?;
            let ws = load()?;
            publish::run(&ws, &plan::rows(&ws)?, execute, allow_dirty)
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Error::Usage(format!("unknown release command `{other}`"))),
    }
}

/// Refuses a bump of `krate` to `to` that is smaller, counted from its last release `last`,
/// than the level cargo-semver-checks says its changes since `last` need.
pub fn level_is_enough(
    ws: &Workspace,
    krate: &str,
    dir: &std::path::Path,
    last: &crate::version::Version,
    to: &crate::version::Version,
) -> Result<(), Error> {
    let tag = git::tag_name(krate, last);
    if !git::changed_since(&ws.root, &tag, dir)? {
        return Ok(());
    }
    if !semver::installed(&ws.root) {
        let missing = format!("{}: the bump level is not checked", semver::missing());
        if semver::in_ci() {
            return Err(Error::failed(missing));
        }
        eprintln!("warning: {missing}");
        return Ok(());
    }
    let verdict = semver::verdict(&ws.root, krate, &tag, last)?;
    let level = semver::bump_level(last, to);
    println!(
        "{krate}: since {tag}: {} -> needs a {} bump; {last} -> {to} is a {level} bump",
        verdict.reason, verdict.needed
    );
    if level < verdict.needed {
        return Err(Error::failed(format!(
            "refused: {krate} {last} -> {to} is a {level} bump, but cargo-semver-checks reports \
             {} since {tag}, which need a {} bump (`cargo xtask release bump {krate} {}`)",
            verdict.reason, verdict.needed, verdict.needed
        )));
    }
    Ok(())
}

fn bump(ws: &Workspace, krate: &str, level: Level, dry_run: bool) -> Result<(), Error> {
    let mut released = BTreeMap::new();
    for package in ws.publishable() {
        if let Some(last) = git::released_versions(&ws.root, &package.name)?
            .into_iter()
            .next()
        {
            released.insert(package.name.clone(), last);
        }
    }
    let plan = bump::plan(ws, &released, krate, level)?;
    if let Some(last) = released.get(krate) {
        let package = ws.publishable_package(krate)?;
        level_is_enough(ws, krate, &package.dir, last, &plan.bumps[0].to)?;
    }
    for b in &plan.bumps {
        println!("{}: {} -> {} ({})", b.name, b.from, b.to, b.reason);
    }
    for s in &plan.skipped {
        println!("{}: unchanged ({})", s.name, s.reason);
    }
    if dry_run {
        println!("Dry run: nothing written.");
        return Ok(());
    }
    for file in bump::apply(ws, &plan)? {
        println!("  updated {file}");
    }
    let target = &plan.bumps[0];
    println!(
        "Next: write the notes under `## {}` in {}/CHANGELOG.md, review the diff, commit.",
        target.to,
        ws.package(&target.name)
            .map_or_else(String::new, |p| p.rel_dir(ws))
    );
    Ok(())
}
