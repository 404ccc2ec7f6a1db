//! Release tags (`<crate>-v<version>`) and change detection. Read-only: nothing here creates
//! commits; `release publish --execute` is the only command that adds tags.

use std::path::Path;

use crate::cmd;
use crate::version::Version;

/// The tag that marks `version` of `krate` as released.
pub fn tag_name(krate: &str, version: &Version) -> String {
    format!("{krate}-v{version}")
}

/// Released versions of `krate` (tags `<krate>-v<version>`), highest first. Tags whose suffix
/// is not a version (for example `core-v2-beta` for a crate `core`) are ignored, and so are
/// other crates whose name extends this one (`core-extra-v1.0.0` does not parse as a version
/// of `core`).
pub fn released_versions(root: &Path, krate: &str) -> Result<Vec<Version>, String> {
    let out = cmd::output(cmd::git(root).args(["tag", "--list", &format!("{krate}-v*")]))
        .map_err(|e| format!("reading release tags needs a git checkout: {e}"))?;
    let prefix = format!("{krate}-v");
    let mut versions: Vec<Version> = out
        .lines()
        .filter_map(|tag| tag.trim().strip_prefix(&prefix)?.parse().ok())
        .collect();
    versions.sort_by(|a, b| b.cmp(a));
    Ok(versions)
}

/// Whether anything under `dir` differs from `tag`: committed changes, uncommitted edits and
/// new untracked (not ignored) files all count.
pub fn changed_since(root: &Path, tag: &str, dir: &Path) -> Result<bool, String> {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let mut diff = cmd::git(root);
    diff.args(["diff", "--quiet", tag, "--"]).arg(rel);
    let shown = cmd::display(&diff);
    let status = diff
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("could not run `{shown}`: {e}"))?;
    match status.code() {
        Some(0) => {}
        Some(1) => return Ok(true),
        _ => {
            return Err(format!(
                "`{shown}` failed ({status}); does the tag `{tag}` exist?"
            ));
        }
    }
    let untracked = cmd::output(
        cmd::git(root)
            .args(["ls-files", "--others", "--exclude-standard", "--"])
            .arg(rel),
    )?;
    Ok(!untracked.trim().is_empty())
}

/// Where a crate stands relative to its release tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseState {
    /// No `<crate>-v*` tag at all.
    NeverReleased,
    /// The current version is tagged; `changed` tells whether the crate's directory differs
    /// from the tag (it then needs a bump before it can be published again).
    Released {
        /// Whether the crate changed since the tag.
        changed: bool,
    },
    /// The current version has no tag yet, but an earlier version does.
    Unreleased {
        /// The highest released version.
        last: Version,
        /// Whether the crate changed since that release.
        changed: bool,
    },
}

impl ReleaseState {
    /// Reads the state of the crate in `dir` at `version` from the tags in `root`.
    pub fn read(root: &Path, krate: &str, version: &Version, dir: &Path) -> Result<Self, String> {
        let released = released_versions(root, krate)?;
        if released.contains(version) {
            let changed = changed_since(root, &tag_name(krate, version), dir)?;
            return Ok(ReleaseState::Released { changed });
        }
        match released.into_iter().next() {
            None => Ok(ReleaseState::NeverReleased),
            Some(last) => {
                let changed = changed_since(root, &tag_name(krate, &last), dir)?;
                Ok(ReleaseState::Unreleased { last, changed })
            }
        }
    }

    /// Whether the current version still has to be published.
    pub fn needs_publish(&self) -> bool {
        !matches!(self, ReleaseState::Released { .. })
    }

    /// The highest released version, if any (`current` when the current version is tagged).
    pub fn last_release<'a>(&'a self, current: &'a Version) -> Option<&'a Version> {
        match self {
            ReleaseState::NeverReleased => None,
            ReleaseState::Released { .. } => Some(current),
            ReleaseState::Unreleased { last, .. } => Some(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempWorkspace;

    #[test]
    fn finds_release_tags_of_one_crate_only() {
        let tw = TempWorkspace::new("tags");
        tw.member("core", "0.1.0", &[]);
        tw.git_init();
        for tag in [
            "core-v0.1.0",
            "core-v0.2.0",
            "core-v0.10.0",
            "core-extra-v1.0.0",
            "core-vX",
        ] {
            tw.git(&["tag", tag]);
        }
        let versions = released_versions(&tw.root, "core").unwrap();
        let printed: Vec<String> = versions.iter().map(Version::to_string).collect();
        assert_eq!(printed, ["0.10.0", "0.2.0", "0.1.0"]);
        assert!(released_versions(&tw.root, "other").unwrap().is_empty());
    }

    #[test]
    fn detects_committed_uncommitted_and_untracked_changes() {
        let tw = TempWorkspace::new("changed");
        tw.member("core", "0.1.0", &[]);
        tw.member("other", "0.1.0", &[]);
        tw.git_init();
        tw.git(&["tag", "core-v0.1.0"]);
        let core = tw.path("crates/core");
        assert!(!changed_since(&tw.root, "core-v0.1.0", &core).unwrap());

        tw.file("crates/other/src/lib.rs", "//! Changed elsewhere.\n");
        tw.commit("other only");
        assert!(!changed_since(&tw.root, "core-v0.1.0", &core).unwrap());

        tw.file("crates/core/src/new.rs", "// untracked\n");
        assert!(changed_since(&tw.root, "core-v0.1.0", &core).unwrap());
        std::fs::remove_file(tw.path("crates/core/src/new.rs")).unwrap();

        tw.file("crates/core/src/lib.rs", "//! Edited, not committed.\n");
        assert!(changed_since(&tw.root, "core-v0.1.0", &core).unwrap());
        tw.commit("core edit");
        assert!(changed_since(&tw.root, "core-v0.1.0", &core).unwrap());

        let err = changed_since(&tw.root, "core-v9.9.9", &core).unwrap_err();
        assert!(err.contains("does the tag `core-v9.9.9` exist?"), "{err}");
    }

    #[test]
    fn release_state_follows_the_tags() {
        let tw = TempWorkspace::new("state");
        tw.member("core", "0.1.0", &[]);
        tw.git_init();
        let dir = tw.path("crates/core");
        let v010 = Version::new(0, 1, 0);
        let v020 = Version::new(0, 2, 0);
        let state = ReleaseState::read(&tw.root, "core", &v010, &dir).unwrap();
        assert_eq!(state, ReleaseState::NeverReleased);
        assert!(state.needs_publish());
        assert_eq!(state.last_release(&v010), None);

        tw.git(&["tag", "core-v0.1.0"]);
        let state = ReleaseState::read(&tw.root, "core", &v010, &dir).unwrap();
        assert_eq!(state, ReleaseState::Released { changed: false });
        assert!(!state.needs_publish());

        tw.file("crates/core/src/lib.rs", "//! New API.\n");
        tw.commit("new api");
        let state = ReleaseState::read(&tw.root, "core", &v010, &dir).unwrap();
        assert_eq!(state, ReleaseState::Released { changed: true });

        let state = ReleaseState::read(&tw.root, "core", &v020, &dir).unwrap();
        assert_eq!(
            state,
            ReleaseState::Unreleased {
                last: v010.clone(),
                changed: true
            }
        );
        assert_eq!(state.last_release(&v020), Some(&v010));
    }

    #[test]
    fn outside_git_the_error_says_so() {
        let tw = TempWorkspace::new("nogit");
        let err = released_versions(&tw.root, "core").unwrap_err();
        assert!(err.contains("needs a git checkout"), "{err}");
    }
}
