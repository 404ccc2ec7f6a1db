//! `release check`: everything that must hold before `release publish`, as a list of steps
//! that each pass, fail with reasons, or are skipped with a reason.

use std::time::Instant;

use crate::cmd;
use crate::git::{ReleaseState, tag_name};
use crate::release::{changelog, compat, files, semver};
use crate::version::{Level, Version, req_matches};
use crate::workspace::{DepKind, Package, Workspace};

/// Which of the slow steps to leave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Skip `cargo package` (building every crate from its packaged form).
    pub skip_package: bool,
    /// Skip `cargo doc` with warnings denied.
    pub skip_docs: bool,
    /// Skip `cargo semver-checks`.
    pub skip_semver: bool,
    /// Skip `release compat` (released provider crates against the working core).
    pub skip_compat: bool,
}

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed.
    Passed,
    /// Failed, with one message per problem.
    Failed(Vec<String>),
    /// Not run, and why.
    Skipped(String),
}

impl Outcome {
    fn from_problems(problems: Vec<String>) -> Self {
        if problems.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed(problems)
        }
    }
}

/// The complete check, printing each step as it finishes. Returns whether every step that
/// ran passed.
pub fn run(ws: &Workspace, options: Options) -> Result<bool, String> {
    let order = ws.publish_order()?;
    println!("release check: {} publishable crates", order.len());
    let mut all_passed = true;
    let mut step = |name: &str, outcome: Outcome, started: Instant| {
        let elapsed = started.elapsed().as_secs_f32();
        let timing = if elapsed >= 1.0 {
            format!(" ({elapsed:.0}s)")
        } else {
            String::new()
        };
        match outcome {
            Outcome::Passed => println!("  ok    {name}{timing}"),
            Outcome::Skipped(why) => println!("  skip  {name}: {why}"),
            Outcome::Failed(problems) => {
                all_passed = false;
                println!("  FAIL  {name}{timing}");
                for problem in problems {
                    println!("        - {problem}");
                }
            }
        }
    };

    let started = Instant::now();
    step(
        "crates.io metadata",
        Outcome::from_problems(order.iter().flat_map(|p| metadata_problems(p)).collect()),
        started,
    );

    let started = Instant::now();
    step(
        "internal dependency versions",
        Outcome::from_problems(requirement_problems(ws)),
        started,
    );

    let started = Instant::now();
    step(
        "CHANGELOG.md sections",
        Outcome::from_problems(
            order
                .iter()
                .flat_map(|p| changelog_problems(ws, p))
                .collect(),
        ),
        started,
    );

    let started = Instant::now();
    let mut problems = Vec::new();
    for package in &order {
        match files::list(ws, package) {
            Ok(listed) => problems.extend(
                files::check(ws, package, &listed)
                    .into_iter()
                    .map(|p| format!("{}: {p}", package.name)),
            ),
            Err(e) => problems.push(format!("{}: {e}", package.name)),
        }
    }
    step(
        "packaged files (cargo package --list)",
        Outcome::from_problems(problems),
        started,
    );

    let started = Instant::now();
    let outcome = if options.skip_package {
        Outcome::Skipped("--skip-package".to_string())
    } else {
        package_all(ws, &order)
    };
    step(
        "cargo package (every crate builds from its .crate)",
        outcome,
        started,
    );

    let started = Instant::now();
    let outcome = if options.skip_docs {
        Outcome::Skipped("--skip-docs".to_string())
    } else {
        docs(ws, &order)
    };
    step(
        "docs.rs build (its features, --cfg docsrs, warnings denied)",
        outcome,
        started,
    );

    let started = Instant::now();
    let outcome = if options.skip_semver {
        Outcome::Skipped("--skip-semver".to_string())
    } else {
        semver(ws, &order)?
    };
    step(
        "semver (cargo semver-checks against the last release tag)",
        outcome,
        started,
    );

    let started = Instant::now();
    let outcome = if options.skip_compat {
        Outcome::Skipped("--skip-compat".to_string())
    } else {
        let reports = compat::run(ws)?;
        if reports.is_empty() {
            Outcome::Skipped(
                "no provider crate has a release tag yet, nothing to check".to_string(),
            )
        } else {
            print!(
                "{}",
                compat::render(&reports)
                    .lines()
                    .map(|l| format!("  note  compat: {l}\n"))
                    .collect::<String>()
            );
            Outcome::from_problems(compat::problems(&reports))
        }
    };
    step(
        "compat (released provider crates with the working compliance-core/-store)",
        outcome,
        started,
    );

    println!(
        "{}",
        if all_passed {
            "release check passed"
        } else {
            "release check FAILED"
        }
    );
    Ok(all_passed)
}

/// Missing or invalid crates.io metadata of one crate.
pub fn metadata_problems(package: &Package) -> Vec<String> {
    let mut problems = Vec::new();
    let name = &package.name;
    let mut missing = |field: &str, what: &str| {
        problems.push(format!("{name}: no `{field}` in Cargo.toml ({what})"));
    };
    if package.description.is_none() {
        missing("description", "crates.io requires one");
    }
    if package.license.is_none() && package.license_file.is_none() {
        missing("license", "crates.io requires `license` or `license-file`");
    }
    if package.repository.is_none() {
        missing("repository", "`repository.workspace = true`");
    }
    if package.rust_version.is_none() {
        missing("rust-version", "`rust-version.workspace = true`");
    }
    if package.keywords.is_empty() {
        missing("keywords", "up to five search terms");
    }
    if package.categories.is_empty() {
        missing(
            "categories",
            "one to five slugs from crates.io/category_slugs",
        );
    }
    match &package.readme {
        None => missing("readme", "`readme = \"README.md\"`"),
        Some(readme) if !package.dir.join(readme).is_file() => {
            problems.push(format!("{name}: readme `{readme}` does not exist"));
        }
        Some(_) => {}
    }
    if package.keywords.len() > 5 {
        problems.push(format!(
            "{name}: {} keywords; crates.io allows five",
            package.keywords.len()
        ));
    }
    for keyword in &package.keywords {
        let valid = keyword.len() <= 20
            && keyword.starts_with(|c: char| c.is_ascii_alphabetic())
            && keyword
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_+".contains(c));
        if !valid {
            problems.push(format!(
                "{name}: keyword `{keyword}` is invalid (at most 20 ASCII letters, digits, `-`, \
                 `_`, `+`, starting with a letter)"
            ));
        }
    }
    if package.categories.len() > 5 {
        problems.push(format!(
            "{name}: {} categories; crates.io allows five",
            package.categories.len()
        ));
    }
    problems
}

/// Internal dependencies of publishable crates that crates.io could not resolve: no version
/// requirement, one the workspace's version does not satisfy, or a dependency on an
/// unpublished member.
pub fn requirement_problems(ws: &Workspace) -> Vec<String> {
    let mut problems = Vec::new();
    for package in ws.publishable() {
        for dep in package.internal_deps(ws) {
            let Some(target) = ws.member_for(dep) else {
                continue;
            };
            let section = match dep.kind {
                DepKind::Normal => "dependencies",
                DepKind::Build => "build-dependencies",
                DepKind::Dev => "dev-dependencies",
            };
            let unversioned = dep.req.trim() == "*";
            if dep.kind == DepKind::Dev && unversioned {
                continue; // Cargo strips version-less dev-dependencies when packaging.
            }
            if !target.publishable {
                problems.push(format!(
                    "{}: [{section}] `{}` has `publish = false`, so the published crate could \
                     not resolve it",
                    package.name, target.name
                ));
            } else if unversioned {
                problems.push(format!(
                    "{}: [{section}] `{}` has no version requirement: add `version = \"{}\"` \
                     beside its `path`",
                    package.name, target.name, target.version
                ));
            } else {
                match req_matches(&dep.req, &target.version) {
                    Ok(true) => {}
                    Ok(false) => problems.push(format!(
                        "{}: [{section}] requires `{} {}` but the workspace has {}: set the \
                         requirement to \"{}\"",
                        package.name, target.name, dep.req, target.version, target.version
                    )),
                    Err(e) => problems.push(format!(
                        "{}: [{section}] `{}`: {e}",
                        package.name, target.name
                    )),
                }
            }
        }
    }
    problems
}

/// A missing `CHANGELOG.md` or a missing or empty section for the current version.
pub fn changelog_problems(ws: &Workspace, package: &Package) -> Vec<String> {
    let path = package.dir.join("CHANGELOG.md");
    let shown = format!("{}/CHANGELOG.md", package.rel_dir(ws));
    match std::fs::read_to_string(&path) {
        Err(_) => vec![format!("{}: {shown} is missing", package.name)],
        Ok(text) if changelog::has_notes(&text, &package.version) => Vec::new(),
        Ok(text) if changelog::section(&text, &package.version).is_some() => vec![format!(
            "{}: `## {}` in {shown} is empty: write the release notes",
            package.name, package.version
        )],
        Ok(_) => vec![format!(
            "{}: {shown} has no `## {}` section: move the notes from `## [Unreleased]` under it \
             (`cargo xtask release bump` does this)",
            package.name, package.version
        )],
    }
}

/// `cargo package` for every publishable crate at once, so crates that depend on unpublished
/// workspace crates resolve them from the other packages (Cargo 1.90+). `--workspace` is not
/// used because it would also package `publish = false` members.
fn package_all(ws: &Workspace, order: &[&Package]) -> Outcome {
    super::stale::before_packaging(order.iter().map(|p| (p.name.as_str(), &p.version)));
    let mut command = cmd::cargo(&ws.root);
    command.args(["package", "--allow-dirty"]);
    for package in order {
        command.args(["-p", &package.name]);
    }
    println!("  ...   {}", cmd::display(&command));
    match cmd::status(&mut command) {
        Ok(()) => Outcome::Passed,
        Err(e) => Outcome::Failed(vec![format!("{e}; its output is above")]),
    }
}

/// The `cargo doc` arguments that reproduce a crate's docs.rs build.
pub fn doc_args(package: &Package) -> Vec<String> {
    let mut args: Vec<String> = ["doc", "--no-deps", "-p", &package.name]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let docs = &package.docs_rs;
    if docs.all_features {
        args.push("--all-features".to_string());
    }
    if docs.no_default_features {
        args.push("--no-default-features".to_string());
    }
    if !docs.features.is_empty() {
        args.push("--features".to_string());
        args.push(docs.features.join(","));
    }
    args
}

fn docs(ws: &Workspace, order: &[&Package]) -> Outcome {
    let mut problems = Vec::new();
    for package in order {
        let mut command = cmd::cargo(&ws.root);
        // The docs.rs build: its features, `--cfg docsrs` (our `doc(cfg(...))` badges need
        // the nightly `doc_cfg` feature, hence RUSTC_BOOTSTRAP on stable), warnings denied.
        command
            .args(doc_args(package))
            .env("RUSTDOCFLAGS", "--cfg docsrs -D warnings")
            .env("RUSTC_BOOTSTRAP", "1")
            // RUSTC_BOOTSTRAP changes what some build scripts emit: a build directory of its
            // own (shared with xtask-api's rustdoc JSON) keeps the main one's artifacts intact.
            .env("CARGO_TARGET_DIR", ws.target_dir().join("docsrs"));
        if let Err(e) = cmd::output(&mut command) {
            problems.push(format!("{}: {e}", package.name));
        }
    }
    Outcome::from_problems(problems)
}

/// The crates whose API `cargo semver-checks` can compare: those with a library. A
/// binary-only crate (the `compliance` command) has no Rust API; its interface is its command
/// line, covered by its own tests and changelog. Returns the libraries and the names of the
/// binary-only crates.
pub fn semver_candidates<'a>(order: &[&'a Package]) -> (Vec<&'a Package>, Vec<&'a str>) {
    let (libraries, binaries): (Vec<&Package>, Vec<&Package>) =
        order.iter().partition(|p| p.has_library);
    (
        libraries,
        binaries.iter().map(|p| p.name.as_str()).collect(),
    )
}

fn semver(ws: &Workspace, order: &[&Package]) -> Result<Outcome, String> {
    if !semver::installed(&ws.root) {
        let missing = semver::missing();
        return Ok(if semver::in_ci() {
            Outcome::Failed(vec![format!("{missing}; under CI=true this step must run")])
        } else {
            Outcome::Skipped(missing)
        });
    }
    let (libraries, binaries) = semver_candidates(order);
    let mut problems = Vec::new();
    let mut checked = 0;
    for package in libraries {
        let state = ReleaseState::read(&ws.root, &package.name, &package.version, &package.dir)?;
        let Some(last) = state.last_release(&package.version) else {
            println!(
                "  note  semver: {} {}: not released yet (no `{}-v*` tag), nothing to compare",
                package.name, package.version, package.name
            );
            continue;
        };
        checked += 1;
        match semver_problem(ws, &package.name, &package.version, last) {
            Ok(None) => {}
            Ok(Some(problem)) => problems.push(problem),
            Err(e) => problems.push(format!("{}: {e}", package.name)),
        }
    }
    if !binaries.is_empty() {
        println!(
            "  note  semver: not applicable to binary-only {} (no Rust API)",
            binaries.join(", ")
        );
    }
    Ok(if !problems.is_empty() {
        Outcome::Failed(problems)
    } else if checked == 0 {
        Outcome::Skipped(
            "no library crate has a release tag yet, nothing to compare (cargo-semver-checks is \
             installed and will run from the first tag on)"
                .to_string(),
        )
    } else {
        Outcome::Passed
    })
}

/// Compares `krate` at `current` with its release `last`: a problem when the version step
/// from `last` to `current` is smaller than the changes need.
pub fn semver_problem(
    ws: &Workspace,
    krate: &str,
    current: &Version,
    last: &Version,
) -> Result<Option<String>, String> {
    let tag = tag_name(krate, last);
    let verdict = semver::verdict(&ws.root, krate, &tag, last)?;
    let step = if current == last {
        None
    } else {
        Some(semver::bump_level(last, current))
    };
    let shown_step = match step {
        None => format!("{current} (unchanged)"),
        Some(level) => format!("{current} ({level} bump)"),
    };
    println!(
        "  note  semver: {krate} {tag} -> {shown_step}: needs {}: {}",
        verdict.needed, verdict.reason
    );
    let enough = match step {
        Some(level) => level >= verdict.needed,
        None => verdict.needed == Level::Patch,
    };
    Ok((!enough).then(|| {
        format!(
            "{krate}: {} since {tag} need a {} bump, but the version is {shown_step}: run \
             `cargo xtask release bump {krate} {}`\n{}",
            verdict.reason,
            verdict.needed,
            verdict.needed,
            indent(&verdict.report)
        )
    }))
}

fn indent(report: &str) -> String {
    report
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("          {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempWorkspace;

    fn lines(problems: &[String]) -> String {
        problems.join("\n")
    }

    #[test]
    fn semver_compares_libraries_only() {
        let tw = TempWorkspace::new("semver-bins");
        tw.member("core", "0.1.0", &[]);
        tw.member("tool", "0.1.0", &["core"]);
        std::fs::remove_file(tw.path("crates/tool/src/lib.rs")).unwrap();
        tw.file("crates/tool/src/main.rs", "//! A tool.\nfn main() {}\n");
        let ws = tw.load();
        let order = ws.publish_order().unwrap();
        let (libraries, binaries) = semver_candidates(&order);
        let names: Vec<&str> = libraries.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["core"]);
        assert_eq!(binaries, ["tool"]);
        // A binary-only crate is still checked for everything else crates.io needs.
        assert_eq!(
            metadata_problems(ws.package("tool").unwrap()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn complete_metadata_passes_and_gaps_are_named() {
        let tw = TempWorkspace::new("meta");
        tw.member("core", "0.1.0", &[]);
        tw.member("bare", "0.1.0", &[]);
        tw.file(
            "crates/bare/Cargo.toml",
            "[package]\nname = \"bare\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             keywords = [\"ok\", \"1bad\", \"much-too-long-keyword-here\"]\nreadme = \"NOPE.md\"\n",
        );
        let ws = tw.load();
        assert_eq!(
            metadata_problems(ws.package("core").unwrap()),
            Vec::<String>::new()
        );
        let problems = metadata_problems(ws.package("bare").unwrap());
        let text = lines(&problems);
        for expected in [
            "bare: no `description`",
            "bare: no `license`",
            "bare: no `repository`",
            "bare: no `rust-version`",
            "bare: no `categories`",
            "bare: readme `NOPE.md` does not exist",
            "keyword `1bad` is invalid",
            "keyword `much-too-long-keyword-here` is invalid",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert_eq!(problems.len(), 8, "{text}");
    }

    #[test]
    fn internal_requirements_must_match_the_workspace_versions() {
        let tw = TempWorkspace::new("reqs");
        tw.member("core", "0.2.0", &[]);
        tw.member("good", "0.1.0", &["core"]);
        tw.unpublished("helper", &[]);
        tw.file(
            "crates/stale/Cargo.toml",
            "[package]\nname = \"stale\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [dependencies]\ncore = { path = \"../core\", version = \"0.1\" }\n\
             helper = { path = \"../../tools/helper\" }\n\n\
             [dev-dependencies]\ngood = { path = \"../good\" }\n\n\
             [build-dependencies]\ncore = { path = \"../core\" }\n",
        );
        tw.file("crates/stale/src/lib.rs", "//! Stale.\n");
        let problems = requirement_problems(&tw.load());
        let text = lines(&problems);
        assert!(
            text.contains("stale: [dependencies] requires `core ^0.1` but the workspace has 0.2.0"),
            "{text}"
        );
        assert!(
            text.contains("stale: [dependencies] `helper` has `publish = false`"),
            "{text}"
        );
        assert!(text.contains("stale: [build-dependencies] `core` has no version requirement: add `version = \"0.2.0\"`"), "{text}");
        assert!(
            !text.contains("good"),
            "version-less dev-dependencies are stripped: {text}"
        );
        assert_eq!(problems.len(), 3, "{text}");
    }

    #[test]
    fn changelogs_need_notes_for_the_current_version() {
        let tw = TempWorkspace::new("changelogs");
        tw.member("core", "0.1.0", &[]);
        tw.member("bumped", "0.2.0", &[]);
        tw.member("empty", "0.3.0", &[]);
        tw.member("gone", "0.1.0", &[]);
        tw.file(
            "crates/bumped/CHANGELOG.md",
            "# Changelog\n\n## [Unreleased]\n\n- New.\n\n## 0.1.0\n\n- First.\n",
        );
        tw.file(
            "crates/empty/CHANGELOG.md",
            "# Changelog\n\n## [Unreleased]\n\n## 0.3.0\n\n## 0.2.0\n\n- x\n",
        );
        std::fs::remove_file(tw.path("crates/gone/CHANGELOG.md")).unwrap();
        let ws = tw.load();
        let check = |name: &str| lines(&changelog_problems(&ws, ws.package(name).unwrap()));
        assert_eq!(check("core"), "");
        assert!(check("bumped").contains("crates/bumped/CHANGELOG.md has no `## 0.2.0` section"));
        assert!(check("empty").contains("`## 0.3.0` in crates/empty/CHANGELOG.md is empty"));
        assert!(check("gone").contains("crates/gone/CHANGELOG.md is missing"));
    }

    #[test]
    fn doc_args_follow_docs_rs_metadata() {
        let tw = TempWorkspace::new("docargs");
        tw.member("core", "0.1.0", &[]);
        tw.append(
            "crates/core/Cargo.toml",
            "\n[features]\nextra = []\nmore = []\n\n[package.metadata.docs.rs]\nfeatures = [\"extra\", \"more\"]\nno-default-features = true\n",
        );
        let ws = tw.load();
        assert_eq!(
            doc_args(ws.package("core").unwrap()),
            [
                "doc",
                "--no-deps",
                "-p",
                "core",
                "--no-default-features",
                "--features",
                "extra,more"
            ]
        );
    }

    #[test]
    fn the_whole_check_passes_on_a_clean_workspace_and_fails_on_a_broken_doc_link() {
        let tw = TempWorkspace::new("check-all");
        tw.member("base", "0.1.0", &[]);
        tw.member("provider", "0.1.0", &["base"]);
        tw.file(
            "crates/provider/src/lib.rs",
            "//! Builds on [`base`].\npub use base;\n",
        );
        tw.git_init();
        let ws = tw.load();
        let full = Options {
            skip_package: false,
            skip_docs: false,
            skip_semver: true,
            skip_compat: true,
        };
        assert!(
            run(&ws, full).unwrap(),
            "package + docs on a clean workspace"
        );

        tw.file("crates/provider/src/lib.rs", "//! Uses [`NoSuchThing`].\n");
        assert!(
            !run(
                &ws,
                Options {
                    skip_package: true,
                    ..full
                }
            )
            .unwrap()
        );
        match docs(&ws, &ws.publish_order().unwrap()) {
            Outcome::Failed(problems) => {
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert!(problems[0].starts_with("provider: "), "{problems:?}");
                assert!(problems[0].contains("NoSuchThing"), "{problems:?}");
            }
            other => panic!("expected a docs failure, got {other:?}"),
        }
    }
}
