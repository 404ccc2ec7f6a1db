//! `cargo semver-checks` as the judge of how big a release must be.
//!
//! The tool is pinned and installed by `.ci/install-tools`. For a crate with a release tag it
//! compares the working tree's public API with the API at the tag and names the lints that
//! fired. We ask it for the smallest bump (`--release-type patch`) and read its verdict from
//! the summary line (`semver requires new major version: …`), so `release plan`, `bump` and
//! `check` share one answer: the bump level the changes need, in this crate's own version
//! terms (at 0.x a breaking change needs a minor bump, at 0.0.x a patch one).

use std::path::Path;

use crate::cmd;
use crate::version::{Level, Version};

/// The pinned version, kept in step with `.ci/install-tools` (a test checks).
pub const PINNED: &str = "0.51.0";

/// What to say when the tool is missing.
pub fn missing() -> String {
    format!("cargo-semver-checks {PINNED} is not installed (`bash .ci/install-tools` installs it)")
}

/// Whether `cargo semver-checks` runs here.
pub fn installed(root: &Path) -> bool {
    cmd::succeeds(cmd::cargo(root).args(["semver-checks", "--version"]))
}

/// Whether we run under CI (`CI=true`), where a missing tool fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// What cargo-semver-checks found between a release tag and the working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The smallest bump of the released version that these changes allow.
    pub needed: Level,
    /// Why: the kind of change and the lints that fired (empty when nothing did).
    pub reason: String,
    /// The tool's report, for showing when a bump is refused.
    pub report: String,
}

/// Runs `cargo semver-checks check-release -p <krate> --baseline-rev <tag> --release-type
/// patch` in `root` and reads the level the changes need. `released` is the version at
/// `tag`. Fails when the tool cannot run or gives no verdict (a build error, say).
pub fn verdict(root: &Path, krate: &str, tag: &str, released: &Version) -> Result<Verdict, String> {
    let mut command = cmd::cargo(root);
    command
        .args(["semver-checks", "check-release", "-p", krate])
        .args(["--baseline-rev", tag, "--release-type", "patch"])
        .env("CARGO_TERM_COLOR", "never");
    let shown = cmd::display(&command);
    let out = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not run `{shown}`: {e}"))?;
    // The tool prints its progress and summary on stderr, lint details on stdout.
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let Some(kind) = required_kind(&report) else {
        return Err(format!(
            "`{shown}` gave no verdict ({}):\n{}",
            out.status,
            report.trim_end()
        ));
    };
    let lints = failed_lints(&report);
    let (needed, reason) = match kind {
        Kind::None => (
            Level::Patch,
            "no API change that needs more than a patch".to_string(),
        ),
        Kind::Minor => (
            // Additions that need a minor bump from 1.0 on; at 0.x a patch carries them.
            if released.major > 0 {
                Level::Minor
            } else {
                Level::Patch
            },
            format!("semver-minor changes ({})", lints.join(", ")),
        ),
        Kind::Major => (
            released.breaking_level(),
            format!("breaking changes ({})", lints.join(", ")),
        ),
    };
    Ok(Verdict {
        needed,
        reason,
        report,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Minor,
    Major,
}

/// The verdict in the tool's summary: `semver requires new major version: …`, `… new minor
/// version …`, or `no semver update required` (also printed when every check passed).
fn required_kind(report: &str) -> Option<Kind> {
    let summary: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Summary"))
        .collect();
    if summary.iter().any(|l| l.contains("new major version")) {
        Some(Kind::Major)
    } else if summary.iter().any(|l| l.contains("new minor version")) {
        Some(Kind::Minor)
    } else if summary
        .iter()
        .any(|l| l.contains("no semver update required") || l.contains("0 failed"))
    {
        Some(Kind::None)
    } else {
        None
    }
}

/// The names of the lints that fired (`--- failure function_missing: … ---`).
fn failed_lints(report: &str) -> Vec<String> {
    let mut lints: Vec<String> = report
        .lines()
        .filter_map(|l| l.trim().strip_prefix("--- failure ")?.split(':').next())
        .map(str::to_string)
        .collect();
    lints.dedup();
    lints
}

/// The level of the bump from `from` to `to` (`to` greater), in version terms.
pub fn bump_level(from: &Version, to: &Version) -> Level {
    if to.major != from.major {
        Level::Major
    } else if to.minor != from.minor {
        Level::Minor
    } else {
        Level::Patch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_and_the_lints() {
        let breaking = "     Checking core v0.1.0 -> v0.1.0 (no change; assume patch)\n\
            --- failure function_missing: pub fn removed or renamed ---\n\
            \n     Summary semver requires new major version: 1 major and 0 minor checks failed\n";
        assert_eq!(required_kind(breaking), Some(Kind::Major));
        assert_eq!(failed_lints(breaking), ["function_missing"]);
        let minor =
            "     Summary semver requires new minor version: 0 major and 1 minor checks failed\n";
        assert_eq!(required_kind(minor), Some(Kind::Minor));
        let fine = "     Summary no semver update required\n";
        assert_eq!(required_kind(fine), Some(Kind::None));
        assert_eq!(required_kind("error: could not build\n"), None);
    }

    #[test]
    fn bump_levels() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(bump_level(&v("0.1.0"), &v("0.1.1")), Level::Patch);
        assert_eq!(bump_level(&v("0.1.0"), &v("0.2.0")), Level::Minor);
        assert_eq!(bump_level(&v("0.9.0"), &v("1.0.0")), Level::Major);
    }

    /// The tool's absence skips this test with one line outside CI; under `CI=true` it fails.
    fn tool_or_skip(root: &Path) -> bool {
        if installed(root) {
            return true;
        }
        assert!(
            !in_ci(),
            "cargo-semver-checks is not installed and CI=true: run `bash .ci/install-tools`"
        );
        eprintln!("skipped: cargo-semver-checks is not installed (bash .ci/install-tools)");
        false
    }

    /// A tiny crate released as `semcore-v0.1.0` in a scratch git repository: a compatible
    /// change passes with a patch; a breaking one is reported by `release check`, shown by
    /// `release plan` as needing a minor bump, and a patch bump of it is refused.
    #[test]
    fn semver_checks_really_run_on_a_scratch_repository() {
        use crate::release::{check, plan};
        use crate::testutil::TempWorkspace;

        let tw = TempWorkspace::new("semver-real");
        if !tool_or_skip(&tw.root) {
            return;
        }
        tw.member("semcore", "0.1.0", &[]);
        let lib = "//! Semcore.\n\n/// Kept.\npub fn kept() {}\n/// Removed later.\npub fn removed() {}\n";
        tw.file("crates/semcore/src/lib.rs", lib);
        tw.git_init();
        tw.git(&["tag", "semcore-v0.1.0"]);
        let v010 = Version::new(0, 1, 0);
        let v011 = Version::new(0, 1, 1);
        let v020 = Version::new(0, 2, 0);

        // Compatible: an addition. A patch is enough; the check passes at 0.1.1.
        tw.file(
            "crates/semcore/src/lib.rs",
            &format!("{lib}/// Added.\npub fn added() {{}}\n"),
        );
        tw.commit("add a function");
        let ws = tw.load();
        let compatible = verdict(&tw.root, "semcore", "semcore-v0.1.0", &v010).unwrap();
        assert_eq!(compatible.needed, Level::Patch, "{}", compatible.report);
        assert_eq!(
            check::semver_problem(&ws, "semcore", &v011, &v010).unwrap(),
            None
        );
        let dir = tw.path("crates/semcore");
        crate::release::level_is_enough(&ws, "semcore", &dir, &v010, &v011).unwrap();

        // Breaking: a public function removed.
        tw.file(
            "crates/semcore/src/lib.rs",
            "//! Semcore.\n\n/// Kept.\npub fn kept() {}\n",
        );
        tw.commit("remove a function");
        let breaking = verdict(&tw.root, "semcore", "semcore-v0.1.0", &v010).unwrap();
        assert_eq!(breaking.needed, Level::Minor, "{}", breaking.report);
        assert!(
            breaking.reason.contains("function_missing"),
            "{}",
            breaking.reason
        );
        let problem = check::semver_problem(&ws, "semcore", &v011, &v010)
            .unwrap()
            .expect("a patch release of a breaking change is a problem");
        assert!(
            problem.contains("need a minor bump, but the version is 0.1.1 (patch bump)"),
            "{problem}"
        );
        assert!(
            problem.contains("removed"),
            "the tool's report names the item: {problem}"
        );
        assert_eq!(
            check::semver_problem(&ws, "semcore", &v020, &v010).unwrap(),
            None
        );
        // The plan says why: the crate is still at its released 0.1.0.
        let rows = plan::rows(&ws).unwrap();
        let levels = plan::levels(&ws, &rows).unwrap();
        assert!(
            levels.contains("semcore: needs a minor bump: breaking changes (function_missing) -> cargo xtask release bump semcore minor"),
            "{levels}"
        );
        // And `release bump semcore patch` is refused; minor goes through.
        let refused =
            crate::release::level_is_enough(&ws, "semcore", &dir, &v010, &v011).unwrap_err();
        let crate::cli::Error::Failed(refused) = refused else {
            panic!("expected a failure, got {refused:?}")
        };
        assert!(
            refused.contains("refused: semcore 0.1.0 -> 0.1.1 is a patch bump"),
            "{refused}"
        );
        crate::release::level_is_enough(&ws, "semcore", &dir, &v010, &v020).unwrap();
    }

    #[test]
    fn the_pin_matches_the_ci_install_script() {
        let script = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/install-tools"),
        )
        .unwrap();
        assert!(
            script.contains(&format!("\"cargo-semver-checks {PINNED}\"")),
            "pin {PINNED} differs from .ci/install-tools"
        );
    }
}
