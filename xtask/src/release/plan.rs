//! `release plan`: publishable crates in publish order, with their versions and release state.

use crate::git::{ReleaseState, tag_name};
use crate::release::semver;
use crate::version::{Level, Version};
use crate::workspace::Workspace;

/// One publishable crate in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The crate name.
    pub name: String,
    /// Its current version.
    pub version: Version,
    /// Where it stands relative to its tags.
    pub state: ReleaseState,
}

impl Row {
    /// A one-line description of the state and what to do next.
    pub fn describe(&self) -> String {
        let tag = |v: &Version| tag_name(&self.name, v);
        match &self.state {
            ReleaseState::NeverReleased => "never released -> publish".to_string(),
            ReleaseState::Released { changed: false } => {
                format!("released ({}), unchanged", tag(&self.version))
            }
            ReleaseState::Released { changed: true } => format!(
                "released ({}), changed since -> bump first: cargo xtask release bump {} \
                 <patch|minor|major>",
                tag(&self.version),
                self.name
            ),
            ReleaseState::Unreleased { last, changed } => format!(
                "not yet released; last release {}{} -> publish",
                tag(last),
                if *changed {
                    ", changed since"
                } else {
                    ", no changes since (why bump?)"
                }
            ),
        }
    }
}

/// The plan's rows, dependencies first.
pub fn rows(ws: &Workspace) -> Result<Vec<Row>, String> {
    ws.publish_order()?
        .into_iter()
        .map(|p| {
            Ok(Row {
                name: p.name.clone(),
                version: p.version.clone(),
                state: ReleaseState::read(&ws.root, &p.name, &p.version, &p.dir)?,
            })
        })
        .collect()
}

/// The plan as printed by `cargo xtask release plan`.
pub fn render(rows: &[Row]) -> String {
    let name_width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let version_width = rows
        .iter()
        .map(|r| r.version.to_string().len())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "Publish order ({} crates, dependencies first):\n",
        rows.len()
    );
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!(
            "{:>3}. {:<name_width$}  {:<version_width$}  {}\n",
            i + 1,
            row.name,
            row.version.to_string(),
            row.describe()
        ));
    }
    let to_publish = rows.iter().filter(|r| r.state.needs_publish()).count();
    out.push_str(&match to_publish {
        0 => "Nothing to publish.\n".to_string(),
        n => {
            format!("{n} to publish: cargo xtask release check, then cargo xtask release publish\n")
        }
    });
    out
}

/// Why each crate gets its bump level: for every crate changed since its last release, the
/// level cargo-semver-checks says the changes need, and whether the current version is
/// enough. Runs the tool once per changed crate.
pub fn levels(ws: &Workspace, rows: &[Row]) -> Result<String, String> {
    let mut out = String::from("Bump levels (cargo semver-checks against the last tag):\n");
    let tool = semver::installed(&ws.root);
    for row in rows {
        let line = match &row.state {
            ReleaseState::NeverReleased => {
                "not released yet: a first release has no level to check".to_string()
            }
            ReleaseState::Released { changed: false } => "unchanged since its tag".to_string(),
            ReleaseState::Unreleased { changed: false, .. } => {
                "no change since its last release".to_string()
            }
            _ if !tool => format!("changed; level NOT checked: {}", semver::missing()),
            state => {
                let last = state
                    .last_release(&row.version)
                    .expect("a changed crate has a release");
                let verdict =
                    semver::verdict(&ws.root, &row.name, &tag_name(&row.name, last), last)?;
                let have = (row.version != *last).then(|| semver::bump_level(last, &row.version));
                let verdict_text = format!("needs a {} bump: {}", verdict.needed, verdict.reason);
                match have {
                    Some(level) if level >= verdict.needed => {
                        format!(
                            "{verdict_text}; {last} -> {} is a {level} bump: ok",
                            row.version
                        )
                    }
                    Some(level) => format!(
                        "{verdict_text}; {last} -> {} is only a {level} bump: \
                         set the version by hand to a {} bump of {last}",
                        row.version, verdict.needed
                    ),
                    None => format!(
                        "{verdict_text} -> cargo xtask release bump {} {}",
                        row.name,
                        verdict.needed.max(Level::Patch)
                    ),
                }
            }
        };
        out.push_str(&format!("  {}: {line}\n", row.name));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempWorkspace;

    #[test]
    fn shows_order_versions_and_changes_since_each_tag() {
        let tw = TempWorkspace::new("plan");
        tw.member("core", "0.1.0", &[]);
        tw.member("provider", "0.2.0", &["core"]);
        tw.member("events", "0.1.0", &["core"]);
        tw.member("bank", "0.1.0", &["provider"]);
        tw.unpublished("e2e", &["bank"]);
        tw.git_init();
        tw.git(&["tag", "core-v0.1.0"]);
        tw.git(&["tag", "provider-v0.1.0"]);
        tw.git(&["tag", "events-v0.1.0"]);
        tw.file("crates/events/src/lib.rs", "//! Changed after release.\n");
        tw.commit("events change");

        let out = render(&rows(&tw.load()).unwrap());
        assert_eq!(
            out,
            "Publish order (4 crates, dependencies first):\n\
             \x20 1. core      0.1.0  released (core-v0.1.0), unchanged\n\
             \x20 2. events    0.1.0  released (events-v0.1.0), changed since -> bump first: \
             cargo xtask release bump events <patch|minor|major>\n\
             \x20 3. provider  0.2.0  not yet released; last release provider-v0.1.0, no changes \
             since (why bump?) -> publish\n\
             \x20 4. bank      0.1.0  never released -> publish\n\
             2 to publish: cargo xtask release check, then cargo xtask release publish\n"
        );
    }

    #[test]
    fn nothing_to_publish_when_everything_is_tagged() {
        let tw = TempWorkspace::new("plan-done");
        tw.member("core", "0.1.0", &[]);
        tw.git_init();
        tw.git(&["tag", "core-v0.1.0"]);
        let rows = rows(&tw.load()).unwrap();
        assert!(render(&rows).ends_with("Nothing to publish.\n"));
    }
}
