//! `release compat`: does the working `compliance-core` (and `compliance-store`) still serve
//! the provider crates users already have?
//!
//! A user who depends on `heleket-aml 0.1.0` and runs `cargo update` gets our newest
//! semver-compatible core under that unchanged provider crate. For each provider crate with a
//! release tag, this checks that situation out: the repository at the tag in a temporary git
//! worktree, the tag's copies of the core crates removed and its `[workspace.dependencies]`
//! entries for them pointed at the working tree's copies (what `[patch]` does for a crates.io
//! dependency, and what a user's `cargo update` does), then the provider
//! crate's tests (its recorded-fixture snapshots among them) built and run with every
//! feature. A core whose version is not semver-compatible with the provider's requirement is
//! not checked: `cargo update` never combines the two, and `release bump` has already given
//! the provider its own breaking bump.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

use crate::cmd;
use crate::git::{released_versions, tag_name};
use crate::version::{Version, req_matches};
use crate::workspace::{DepKind, Workspace};

/// The crates whose new versions are checked under released provider crates.
pub const CORE_CRATES: [&str; 2] = ["compliance-core", "compliance-store"];

/// How one released provider crate fared with the working core crates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Built, and its tests passed.
    Passed,
    /// Not checked, and why.
    Skipped(String),
    /// Did not build, or its tests failed: what happened, with the end of cargo's output.
    Failed(String),
}

/// One provider crate's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `heleket-aml 0.1.0`.
    pub provider: String,
    /// What happened.
    pub verdict: Verdict,
}

/// The publishable library crates that depend on a core crate, with their last release, if
/// any. Crates never released are listed with `None`.
pub fn providers(ws: &Workspace) -> Result<Vec<(String, Option<Version>)>, String> {
    let mut out = Vec::new();
    for package in ws.publish_order()? {
        if CORE_CRATES.contains(&package.name.as_str()) || !package.has_library {
            continue;
        }
        let uses_core = package
            .internal_deps(ws)
            .any(|d| d.kind == DepKind::Normal && CORE_CRATES.contains(&d.name.as_str()));
        if uses_core {
            let last = released_versions(&ws.root, &package.name)?
                .into_iter()
                .next();
            out.push((package.name.clone(), last));
        }
    }
    Ok(out)
}

/// Checks every released provider crate against the working core crates, printing a line
/// for each crate as it goes.
pub fn run(ws: &Workspace) -> Result<Vec<Report>, String> {
    let mut reports = Vec::new();
    for (name, last) in providers(ws)? {
        let Some(last) = last else {
            println!(
                "  note  compat: {name}: not released yet (no `{name}-v*` tag), nothing to check"
            );
            continue;
        };
        let provider = format!("{name} {last}");
        println!("  ...   compat: {provider} with the working core crates");
        let verdict = check_one(ws, &name, &last)?;
        reports.push(Report { provider, verdict });
    }
    Ok(reports)
}

/// Problems as `release check` lists them (empty when all passed or were skipped).
pub fn problems(reports: &[Report]) -> Vec<String> {
    reports
        .iter()
        .filter_map(|r| match &r.verdict {
            Verdict::Failed(why) => Some(format!("{} {why}", r.provider)),
            _ => None,
        })
        .collect()
}

/// A human summary, one line per crate.
pub fn render(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let line = match &r.verdict {
            Verdict::Passed => "builds and passes its tests with this core".to_string(),
            Verdict::Skipped(why) => format!("not checked: {why}"),
            Verdict::Failed(why) => why.clone(),
        };
        out.push_str(&format!("{}: {line}\n", r.provider));
    }
    out
}

fn check_one(ws: &Workspace, name: &str, last: &Version) -> Result<Verdict, String> {
    let tag = tag_name(name, last);
    let tree = Worktree::add(&ws.root, &tag)?;
    let old = Workspace::load(&tree.path)
        .map_err(|e| format!("{tag}: reading the workspace at the tag: {e}"))?;
    let provider = old.publishable_package(name)?;
    let mut cores = Vec::new();
    for dep in provider.internal_deps(&old) {
        if dep.kind != DepKind::Normal || !CORE_CRATES.contains(&dep.name.as_str()) {
            continue;
        }
        let Some(working) = ws.package(&dep.name) else {
            continue;
        };
        if !req_matches(&dep.req, &working.version)? {
            return Ok(Verdict::Skipped(format!(
                "the working {} {} does not satisfy its requirement `{}` (a breaking core \
                 release: `cargo update` never combines them)",
                dep.name, working.version, dep.req
            )));
        }
        cores.push((dep.name.clone(), working.dir.clone()));
    }
    // The tag's own copies of the core crates go: one package per name in the lockfile.
    for (core, _) in &cores {
        if let Some(stale) = old.package(core) {
            std::fs::remove_dir_all(&stale.dir)
                .map_err(|e| format!("removing {}: {e}", stale.dir.display()))?;
        }
    }
    point_at_working_cores(&tree.path, &cores)?;

    // One target directory for every provider, beside the workspace's own, so dependencies
    // are compiled once.
    let target_dir = ws.target_dir().join("compat");
    let cargo = |args: &[&str]| {
        let mut command = cmd::cargo(&tree.path);
        command
            .args(args)
            .args(["-p", name, "--all-features"])
            .env("CARGO_TARGET_DIR", &target_dir);
        cmd::output(&mut command)
    };
    if let Err(e) = cargo(&["test", "--no-run"]) {
        return Ok(Verdict::Failed(format!(
            "does not build with this core:\n{}",
            tail(&e, 30)
        )));
    }
    if let Err(e) = cargo(&["test"]) {
        return Ok(Verdict::Failed(format!(
            "builds with this core, but its tests fail:\n{}",
            tail(&e, 30)
        )));
    }
    Ok(Verdict::Passed)
}

/// Points `[workspace.dependencies].<core>` at the working tree's crate, keeping the
/// version requirement the released crates were published with.
fn point_at_working_cores(root: &Path, cores: &[(String, PathBuf)]) -> Result<(), String> {
    let manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {e}", manifest.display()))?;
    for (name, dir) in cores {
        let entry = doc
            .get_mut("workspace")
            .and_then(|w| w.get_mut("dependencies"))
            .and_then(|d| d.get_mut(name))
            .ok_or_else(|| {
                format!(
                    "{}: no [workspace.dependencies] entry for {name}",
                    manifest.display()
                )
            })?;
        let table = match entry {
            Item::Value(Value::InlineTable(t)) => t as &mut dyn toml_edit::TableLike,
            Item::Table(t) => t as &mut dyn toml_edit::TableLike,
            _ => return Err(format!("{}: {name} has no `path`", manifest.display())),
        };
        table.insert("path", Item::Value(dir.display().to_string().into()));
    }
    std::fs::write(&manifest, doc.to_string())
        .map_err(|e| format!("writing {}: {e}", manifest.display()))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("          {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A detached git worktree at a tag, removed (with `git worktree remove`) on drop.
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
}

impl Worktree {
    fn add(repo: &Path, tag: &str) -> Result<Worktree, String> {
        let path = std::env::temp_dir().join(format!(
            "xtask-compat-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        cmd::output(
            cmd::git(repo)
                .args(["worktree", "add", "--detach", "--quiet"])
                .arg(&path)
                .arg(tag),
        )?;
        Ok(Worktree {
            repo: repo.to_path_buf(),
            path,
        })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let removed = cmd::succeeds(
            cmd::git(&self.repo)
                .args(["worktree", "remove", "--force"])
                .arg(&self.path),
        );
        if !removed {
            let _ = std::fs::remove_dir_all(&self.path);
            let _ = cmd::succeeds(cmd::git(&self.repo).args(["worktree", "prune"]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempWorkspace;

    /// A core and a provider released together; then the core changes under the released
    /// provider in the four ways that matter.
    #[test]
    fn released_providers_are_built_and_tested_against_the_working_core() {
        let tw = TempWorkspace::new("compat");
        tw.member("compliance-core", "0.1.0", &[]);
        tw.member("prov", "0.1.0", &["compliance-core"]);
        tw.member("unreleased", "0.1.0", &["compliance-core"]);
        let core = "//! Core.\n\n/// One.\npub fn one() -> u32 {\n    1\n}\n";
        tw.file("crates/compliance-core/src/lib.rs", core);
        tw.file(
            "crates/prov/src/lib.rs",
            "//! Provider.\n\n/// Via the core.\npub fn call() -> u32 {\n    compliance_core::one()\n}\n",
        );
        tw.file(
            "crates/prov/tests/call.rs",
            "//! Test.\n#[test]\nfn one() {\n    assert_eq!(prov::call(), 1);\n}\n",
        );
        tw.git_init();
        tw.git(&["tag", "compliance-core-v0.1.0"]);
        tw.git(&["tag", "prov-v0.1.0"]);

        let verdict = |tw: &TempWorkspace| {
            let reports = run(&tw.load()).unwrap();
            assert_eq!(reports.len(), 1, "only the released provider: {reports:?}");
            assert_eq!(reports[0].provider, "prov 0.1.0");
            reports[0].verdict.clone()
        };

        // A compatible addition to the core: the released provider builds and passes.
        tw.file(
            "crates/compliance-core/src/lib.rs",
            &format!("{core}/// Two.\npub fn two() -> u32 {{\n    2\n}}\n"),
        );
        assert_eq!(verdict(&tw), Verdict::Passed);

        // A breaking change shipped as 0.1.x: the released provider no longer builds.
        tw.file(
            "crates/compliance-core/src/lib.rs",
            "//! Core.\n\n/// Renamed.\npub fn uno() -> u32 {\n    1\n}\n",
        );
        match verdict(&tw) {
            Verdict::Failed(why) => {
                assert!(why.starts_with("does not build with this core"), "{why}");
                assert!(why.contains("one"), "cargo's error names the item: {why}");
            }
            other => panic!("expected a build failure, got {other:?}"),
        }
        let reports = run(&tw.load()).unwrap();
        assert!(
            problems(&reports)[0].starts_with("prov 0.1.0 does not build with this core"),
            "{:?}",
            problems(&reports)
        );

        // Same signature, different behaviour: the provider's tests catch it.
        tw.file(
            "crates/compliance-core/src/lib.rs",
            "//! Core.\n\n/// One, changed.\npub fn one() -> u32 {\n    2\n}\n",
        );
        match verdict(&tw) {
            Verdict::Failed(why) => {
                assert!(
                    why.starts_with("builds with this core, but its tests fail"),
                    "{why}"
                )
            }
            other => panic!("expected a test failure, got {other:?}"),
        }

        // A breaking core release (0.2.0): users of prov 0.1.0 never get it.
        tw.file("crates/compliance-core/src/lib.rs", core);
        let manifest = tw.read("crates/compliance-core/Cargo.toml");
        tw.file(
            "crates/compliance-core/Cargo.toml",
            &manifest.replace("\nversion.workspace = true", "\nversion = \"0.2.0\""),
        );
        let root = tw.read("Cargo.toml");
        tw.file(
            "Cargo.toml",
            &root.replace(
                "compliance-core = { path = \"crates/compliance-core\", version = \"0.1.0\" }",
                "compliance-core = { path = \"crates/compliance-core\", version = \"0.2.0\" }",
            ),
        );
        match verdict(&tw) {
            Verdict::Skipped(why) => assert!(
                why.contains(
                    "the working compliance-core 0.2.0 does not satisfy its requirement `^0.1.0`"
                ),
                "{why}"
            ),
            other => panic!("expected a skip, got {other:?}"),
        }
        // No worktree is left behind.
        let worktrees = tw.git(&["worktree", "list"]);
        assert_eq!(worktrees.lines().count(), 1, "{worktrees}");
    }
}
