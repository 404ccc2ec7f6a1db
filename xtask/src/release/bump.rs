//! `release bump <crate> <patch|minor|major>`: the version change, its propagation to
//! dependents, and the manifest and changelog edits.
//!
//! Propagation: when a crate's new version is not semver-compatible with its old one (0.x: a
//! minor bump; 1.x: a major one), every publishable crate that depends on it (normal or build
//! dependency) is assumed to expose its types and gets a breaking bump too, transitively.
//! Two exceptions, both because no user can be broken: a dependent that was never released,
//! and one whose current version is already an unreleased breaking step past its last release.
//! Requirements on every bumped crate are rewritten everywhere in the workspace.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::release::changelog;
use crate::version::{Level, Version, rewrite_req};
use crate::workspace::{DepKind, Workspace};

/// One crate's version change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bump {
    /// The crate.
    pub name: String,
    /// Its current version.
    pub from: Version,
    /// The version it moves to.
    pub to: Version,
    /// Why: the request, or the dependencies whose breaking bump forces this one.
    pub reason: String,
    /// The dependencies that forced this bump (empty for the requested crate).
    pub because_of: Vec<String>,
}

/// A dependent that a breaking bump would normally propagate to, but does not need to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The dependent crate.
    pub name: String,
    /// Why it keeps its version.
    pub reason: String,
}

/// Everything `release bump` will change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Version changes, the requested crate first, then dependents in publish order.
    pub bumps: Vec<Bump>,
    /// Dependents left alone, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Works out the bumps for `krate` at `level`. `released` maps each crate to its highest
/// released version (crates never released are absent).
pub fn plan(
    ws: &Workspace,
    released: &BTreeMap<String, Version>,
    krate: &str,
    level: Level,
) -> Result<Plan, String> {
    let target = ws.publishable_package(krate)?;
    let to = target
        .version
        .bumped(level)
        .map_err(|e| format!("{krate}: {e}"))?;
    let mut bumps = vec![Bump {
        name: target.name.clone(),
        from: target.version.clone(),
        to,
        reason: format!("requested {level} bump"),
        because_of: Vec::new(),
    }];
    let mut skipped = Vec::new();
    let mut breaking: Vec<String> = Vec::new();
    if !target.version.is_compatible_with(&bumps[0].to) {
        breaking.push(target.name.clone());
    }
    for package in ws.publish_order()? {
        if package.name == target.name {
            continue;
        }
        let mut because_of: Vec<String> = package
            .internal_deps(ws)
            .filter(|d| matches!(d.kind, DepKind::Normal | DepKind::Build))
            .filter(|d| breaking.contains(&d.name))
            .map(|d| d.name.clone())
            .collect();
        because_of.sort();
        because_of.dedup();
        if because_of.is_empty() {
            continue;
        }
        let listed = because_of.join(", ");
        match released.get(&package.name) {
            None => skipped.push(Skipped {
                name: package.name.clone(),
                reason: format!(
                    "depends on {listed}, but was never released: nobody uses {} yet",
                    package.version
                ),
            }),
            Some(last) if package.version > *last && !last.is_compatible_with(&package.version) => {
                skipped.push(Skipped {
                    name: package.name.clone(),
                    reason: format!(
                        "depends on {listed}, but {} is already an unreleased breaking step \
                         past {last}",
                        package.version
                    ),
                })
            }
            Some(_) => {
                let level = package.version.breaking_level();
                let to = package
                    .version
                    .bumped(level)
                    .map_err(|e| format!("{}: {e}", package.name))?;
                breaking.push(package.name.clone());
                bumps.push(Bump {
                    name: package.name.clone(),
                    from: package.version.clone(),
                    to,
                    reason: format!("{level} bump: breaking update of {listed}"),
                    because_of,
                });
            }
        }
    }
    Ok(Plan { bumps, skipped })
}

/// Writes the plan: each bumped crate's own version, the requirements on it in the root
/// `[workspace.dependencies]` and in every member's dependency tables (entries with a `path`
/// and a `version`), and a new section in each bumped crate's `CHANGELOG.md`. Returns the
/// files changed, relative to the workspace root.
pub fn apply(ws: &Workspace, plan: &Plan) -> Result<Vec<String>, String> {
    let new: BTreeMap<&str, &Version> = plan
        .bumps
        .iter()
        .map(|b| (b.name.as_str(), &b.to))
        .collect();
    let mut changed = Vec::new();
    let mut manifests: Vec<PathBuf> = vec![ws.root.join("Cargo.toml")];
    manifests.extend(ws.members.iter().map(|p| p.manifest_path.clone()));
    manifests.dedup();
    for manifest in manifests {
        let text = read(&manifest)?;
        let mut doc: DocumentMut = text
            .parse()
            .map_err(|e| format!("{}: not valid TOML: {e}", manifest.display()))?;
        if manifest == ws.root.join("Cargo.toml")
            && let Some(deps) = doc
                .get_mut("workspace")
                .and_then(|w| w.get_mut("dependencies"))
                .and_then(Item::as_table_like_mut)
        {
            update_requirements(deps, &new);
        }
        if let Some(package) = ws.members.iter().find(|p| p.manifest_path == manifest) {
            if let Some(to) = new.get(package.name.as_str()) {
                set_package_version(&mut doc, to)
                    .map_err(|e| format!("{}: {e}", manifest.display()))?;
            }
            for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(deps) = doc.get_mut(section).and_then(Item::as_table_like_mut) {
                    update_requirements(deps, &new);
                }
            }
            if let Some(targets) = doc.get_mut("target").and_then(Item::as_table_like_mut) {
                for (_, target) in targets.iter_mut() {
                    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
                        if let Some(deps) =
                            target.get_mut(section).and_then(Item::as_table_like_mut)
                        {
                            update_requirements(deps, &new);
                        }
                    }
                }
            }
        }
        let updated = doc.to_string();
        if updated != text {
            write(&manifest, &updated)?;
            changed.push(rel(ws, &manifest));
        }
    }
    for bump in &plan.bumps {
        let Some(package) = ws.package(&bump.name) else {
            continue;
        };
        let path = package.dir.join("CHANGELOG.md");
        let text = if path.exists() {
            read(&path)?
        } else {
            String::new()
        };
        let note = (!bump.because_of.is_empty()).then(|| {
            let deps: Vec<String> = bump
                .because_of
                .iter()
                .map(|d| {
                    format!(
                        "`{d}` {}",
                        new.get(d.as_str()).map_or(String::new(), |v| v.to_string())
                    )
                })
                .collect();
            format!("Requires {} (a breaking update).", deps.join(", "))
        });
        if let Some(updated) = changelog::open_section(&text, &bump.to, note.as_deref()) {
            write(&path, &updated)?;
            changed.push(rel(ws, &path));
        }
    }
    Ok(changed)
}

/// Sets `[package] version`, replacing `version.workspace = true` by the crate's own version.
fn set_package_version(doc: &mut DocumentMut, to: &Version) -> Result<(), String> {
    let package = doc
        .get_mut("package")
        .and_then(Item::as_table_like_mut)
        .ok_or("no [package] table")?;
    match package.get_mut("version") {
        Some(Item::Value(value @ Value::String(_))) => set_string(value, &to.to_string()),
        Some(item) => *item = toml_edit::value(to.to_string()),
        None => {
            package.insert("version", toml_edit::value(to.to_string()));
        }
    }
    Ok(())
}

/// Rewrites `version` in every dependency entry (with a `path`) that names a bumped crate.
fn update_requirements(deps: &mut dyn TableLike, new: &BTreeMap<&str, &Version>) {
    for (key, entry) in deps.iter_mut() {
        let Some(entry) = entry.as_table_like_mut() else {
            continue;
        };
        let name = entry
            .get("package")
            .and_then(Item::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| key.get().to_string());
        let Some(to) = new.get(name.as_str()) else {
            continue;
        };
        if entry.get("path").is_none() {
            continue;
        }
        if let Some(Item::Value(value @ Value::String(_))) = entry.get_mut("version") {
            let old = value.as_str().unwrap_or_default().to_string();
            set_string(value, &rewrite_req(&old, to));
        }
    }
}

/// Replaces a string value, keeping the whitespace and comments around it.
fn set_string(value: &mut Value, text: &str) {
    let decor = value.decor().clone();
    *value = Value::from(text);
    *value.decor_mut() = decor;
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("could not read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("could not write {}: {e}", path.display()))
}

fn rel(ws: &Workspace, path: &Path) -> String {
    path.strip_prefix(&ws.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempWorkspace;

    fn released(pairs: &[(&str, &str)]) -> BTreeMap<String, Version> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.parse().unwrap()))
            .collect()
    }

    fn summary(plan: &Plan) -> Vec<String> {
        plan.bumps
            .iter()
            .map(|b| format!("{} {} -> {}", b.name, b.from, b.to))
            .collect()
    }

    /// core <- provider <- events, core <- other; a tool depends on provider.
    fn chain() -> TempWorkspace {
        let tw = TempWorkspace::new("bump");
        tw.member("core", "0.1.0", &[]);
        tw.member("provider", "0.3.2", &["core"]);
        tw.member("events", "0.1.0", &["provider"]);
        tw.member("other", "1.4.0", &["core"]);
        tw.unpublished("tool", &["provider"]);
        tw
    }

    #[test]
    fn a_patch_bump_does_not_propagate() {
        let tw = chain();
        let all = released(&[
            ("core", "0.1.0"),
            ("provider", "0.3.2"),
            ("events", "0.1.0"),
            ("other", "1.4.0"),
        ]);
        let plan = plan(&tw.load(), &all, "core", Level::Patch).unwrap();
        assert_eq!(summary(&plan), ["core 0.1.0 -> 0.1.1"]);
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn a_breaking_bump_propagates_transitively_at_each_crates_breaking_level() {
        let tw = chain();
        let all = released(&[
            ("core", "0.1.0"),
            ("provider", "0.3.2"),
            ("events", "0.1.0"),
            ("other", "1.4.0"),
        ]);
        let plan = plan(&tw.load(), &all, "core", Level::Minor).unwrap();
        assert_eq!(
            summary(&plan),
            [
                "core 0.1.0 -> 0.2.0",
                "other 1.4.0 -> 2.0.0",
                "provider 0.3.2 -> 0.4.0",
                "events 0.1.0 -> 0.2.0"
            ]
        );
        assert_eq!(plan.bumps[3].because_of, ["provider"]);
        assert_eq!(
            plan.bumps[3].reason,
            "minor bump: breaking update of provider"
        );
    }

    #[test]
    fn unreleased_dependents_and_pending_breaking_bumps_are_left_alone() {
        let tw = chain();
        // provider was released at 0.2.0 and already moved to 0.3.2; events never released.
        let some = released(&[("core", "0.1.0"), ("provider", "0.2.0"), ("other", "1.4.0")]);
        let plan = plan(&tw.load(), &some, "core", Level::Minor).unwrap();
        assert_eq!(
            summary(&plan),
            ["core 0.1.0 -> 0.2.0", "other 1.4.0 -> 2.0.0"]
        );
        let skipped: Vec<&str> = plan.skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            skipped,
            ["provider"],
            "events is not reached: provider kept its version"
        );
        assert!(
            plan.skipped[0]
                .reason
                .contains("already an unreleased breaking step past 0.2.0")
        );

        let none = released(&[]);
        let plan = super::plan(&tw.load(), &none, "core", Level::Major).unwrap();
        assert_eq!(summary(&plan), ["core 0.1.0 -> 1.0.0"]);
        assert!(
            plan.skipped
                .iter()
                .all(|s| s.reason.contains("never released"))
        );
    }

    #[test]
    fn a_minor_bump_at_1x_is_not_breaking() {
        let tw = chain();
        let all = released(&[
            ("core", "0.1.0"),
            ("provider", "0.3.2"),
            ("events", "0.1.0"),
            ("other", "1.4.0"),
        ]);
        let plan = plan(&tw.load(), &all, "other", Level::Minor).unwrap();
        assert_eq!(summary(&plan), ["other 1.4.0 -> 1.5.0"]);
    }

    #[test]
    fn unknown_or_unpublished_crates_are_rejected() {
        let tw = chain();
        let ws = tw.load();
        let err = plan(&ws, &released(&[]), "tool", Level::Patch).unwrap_err();
        assert!(err.contains("publish = false"), "{err}");
        let err = plan(&ws, &released(&[]), "nope", Level::Patch).unwrap_err();
        assert!(err.contains("core, events, other, provider"), "{err}");
    }

    #[test]
    fn apply_edits_versions_requirements_and_changelogs() {
        let tw = chain();
        // A member with its own path+version requirement and a renamed, target-specific one.
        tw.append(
            "tools/tool/Cargo.toml",
            "\n[target.'cfg(unix)'.dev-dependencies]\n\
             renamed = { package = \"core\", path = \"../../crates/core\", version = \"=0.1.0\" } # pinned\n",
        );
        tw.append(
            "crates/other/Cargo.toml",
            "\n[dev-dependencies.core]\npath = \"../core\"\nversion = \"0.1\"\n",
        );
        tw.file(
            "crates/core/CHANGELOG.md",
            "# Changelog\n\n## [Unreleased]\n\n- Breaking: renamed `Foo`.\n\n## 0.1.0\n\n- First release.\n",
        );
        let ws = tw.load();
        let all = released(&[
            ("core", "0.1.0"),
            ("provider", "0.3.2"),
            ("events", "0.1.0"),
            ("other", "1.4.0"),
        ]);
        let plan = plan(&ws, &all, "core", Level::Minor).unwrap();
        let mut changed = apply(&ws, &plan).unwrap();
        changed.sort();
        assert_eq!(
            changed,
            [
                "Cargo.toml",
                "crates/core/CHANGELOG.md",
                "crates/core/Cargo.toml",
                "crates/events/CHANGELOG.md",
                "crates/events/Cargo.toml",
                "crates/other/CHANGELOG.md",
                "crates/other/Cargo.toml",
                "crates/provider/CHANGELOG.md",
                "crates/provider/Cargo.toml",
                "tools/tool/Cargo.toml",
            ]
        );
        let root = tw.read("Cargo.toml");
        assert!(
            root.contains("core = { path = \"crates/core\", version = \"0.2.0\" }\n"),
            "{root}"
        );
        assert!(root.contains("provider = { path = \"crates/provider\", version = \"0.4.0\" }\n"));
        assert!(root.contains("events = { path = \"crates/events\", version = \"0.2.0\" }\n"));
        assert!(
            root.contains("version = \"0.1.0\"\nedition"),
            "workspace version untouched"
        );

        let core = tw.read("crates/core/Cargo.toml");
        assert!(
            core.contains("description = \"The core crate.\"\nversion = \"0.2.0\"\nedition"),
            "{core}"
        );
        let provider = tw.read("crates/provider/Cargo.toml");
        assert!(provider.contains("version = \"0.4.0\"\n"), "{provider}");
        let other = tw.read("crates/other/Cargo.toml");
        assert!(
            other.contains("[dev-dependencies.core]\npath = \"../core\"\nversion = \"0.2.0\"\n"),
            "{other}"
        );
        let tool = tw.read("tools/tool/Cargo.toml");
        assert!(
            tool.contains("version = \"0.0.0\""),
            "unpublished crates keep their version"
        );
        assert!(tool.contains("version = \"=0.2.0\" } # pinned"), "{tool}");

        assert!(
            tw.read("crates/core/CHANGELOG.md")
                .contains("## [Unreleased]\n\n## 0.2.0\n\n- Breaking: renamed `Foo`.\n\n## 0.1.0")
        );
        assert!(
            tw.read("crates/events/CHANGELOG.md")
                .contains("## 0.2.0\n\n- Requires `provider` 0.4.0 (a breaking update).\n")
        );

        // The result is still a valid workspace with the new versions.
        let ws = tw.load();
        assert_eq!(ws.package("core").unwrap().version, Version::new(0, 2, 0));
        assert_eq!(ws.package("events").unwrap().version, Version::new(0, 2, 0));
        let req = &ws.package("events").unwrap().deps[0].req;
        assert_eq!(req, "^0.4.0");
    }
}
