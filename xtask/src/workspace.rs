//! The workspace as `cargo metadata --no-deps` describes it: members, their publishing
//! metadata and their dependencies on each other, plus the order to publish them in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cmd;
use crate::version::Version;

/// Which section of a manifest a dependency comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    /// `[dependencies]`: part of the crate's public build.
    Normal,
    /// `[build-dependencies]`.
    Build,
    /// `[dev-dependencies]`: only for the crate's own tests and examples.
    Dev,
}

/// One dependency of a workspace member.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The depended-on package's name (not its rename).
    pub name: String,
    /// The version requirement as Cargo normalised it; `*` when none was given.
    pub req: String,
    /// The manifest section.
    pub kind: DepKind,
    /// The directory of a `path` dependency.
    pub path: Option<PathBuf>,
}

/// `[package.metadata.docs.rs]` settings that change how docs are built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocsRs {
    /// `features = [...]`.
    pub features: Vec<String>,
    /// `all-features = true`.
    pub all_features: bool,
    /// `no-default-features = true`.
    pub no_default_features: bool,
}

/// A workspace member.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// The current version.
    pub version: Version,
    /// The member's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The directory holding `Cargo.toml`.
    pub dir: PathBuf,
    /// False for `publish = false` (or an empty registry list).
    pub publishable: bool,
    /// `description`.
    pub description: Option<String>,
    /// `license` (an SPDX expression).
    pub license: Option<String>,
    /// `license-file`.
    pub license_file: Option<String>,
    /// `repository`.
    pub repository: Option<String>,
    /// `readme`, relative to the member's directory.
    pub readme: Option<String>,
    /// `keywords`.
    pub keywords: Vec<String>,
    /// `categories`.
    pub categories: Vec<String>,
    /// `rust-version`.
    pub rust_version: Option<String>,
    /// docs.rs build settings.
    pub docs_rs: DocsRs,
    /// Whether the crate has a library target. A binary-only crate (a command-line tool)
    /// has no Rust API: its interface is its command line.
    pub has_library: bool,
    /// Every dependency, internal or not.
    pub deps: Vec<Dependency>,
}

impl Package {
    /// This member's dependencies on other members (path dependencies into the workspace).
    pub fn internal_deps<'a>(&'a self, ws: &'a Workspace) -> impl Iterator<Item = &'a Dependency> {
        self.deps.iter().filter(move |d| ws.member_for(d).is_some())
    }

    /// The member's directory relative to the workspace root, with `/` separators.
    pub fn rel_dir(&self, ws: &Workspace) -> String {
        let rel = self.dir.strip_prefix(&ws.root).unwrap_or(&self.dir);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// All members of one workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The directory of the root `Cargo.toml`.
    pub root: PathBuf,
    /// Members, sorted by name.
    pub members: Vec<Package>,
}

impl Workspace {
    /// Finds the workspace containing `dir` (as Cargo does from a working directory).
    pub fn locate(dir: &Path) -> Result<PathBuf, String> {
        let out = cmd::output(cmd::cargo(dir).args([
            "locate-project",
            "--workspace",
            "--message-format",
            "plain",
        ]))
        .map_err(|e| format!("run this inside the workspace: {e}"))?;
        let manifest = PathBuf::from(out.trim());
        manifest
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| format!("cargo reported an odd workspace manifest `{}`", out.trim()))
    }

    /// Reads the workspace rooted at `root` through `cargo metadata --no-deps`.
    pub fn load(root: &Path) -> Result<Workspace, String> {
        let json = cmd::output(
            cmd::cargo(root)
                .args([
                    "metadata",
                    "--format-version",
                    "1",
                    "--no-deps",
                    "--manifest-path",
                ])
                .arg(root.join("Cargo.toml")),
        )?;
        Self::from_metadata(&json)
    }

    /// Builds the model from `cargo metadata --format-version 1 --no-deps` output.
    pub fn from_metadata(json: &str) -> Result<Workspace, String> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| format!("cargo metadata output: {e}"))?;
        let root = PathBuf::from(str_field(&value, "workspace_root")?);
        let member_ids: BTreeSet<&str> = value
            .get("workspace_members")
            .and_then(Value::as_array)
            .ok_or("cargo metadata output has no `workspace_members`")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut members = Vec::new();
        for package in value
            .get("packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if member_ids.contains(
                package
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ) {
                members.push(parse_package(package)?);
            }
        }
        members.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Workspace { root, members })
    }

    /// The build directory: `$CARGO_TARGET_DIR`, else `target/` in the root (steps that
    /// build with other flags use their own subdirectory of it).
    pub fn target_dir(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("target"))
    }

    /// The member called `name`.
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.members.iter().find(|p| p.name == name)
    }

    /// The member `name`, or an error listing the publishable crates.
    pub fn publishable_package(&self, name: &str) -> Result<&Package, String> {
        let names = || {
            self.publishable()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.package(name) {
            Some(p) if p.publishable => Ok(p),
            Some(_) => Err(format!(
                "`{name}` has `publish = false`; choose one of: {}",
                names()
            )),
            None => Err(format!(
                "no workspace member `{name}`; choose one of: {}",
                names()
            )),
        }
    }

    /// The member a dependency points at, if it is a path dependency into this workspace.
    pub fn member_for(&self, dep: &Dependency) -> Option<&Package> {
        let path = dep.path.as_ref()?;
        self.members
            .iter()
            .find(|p| &p.dir == path && p.name == dep.name)
    }

    /// Members that will be published.
    pub fn publishable(&self) -> impl Iterator<Item = &Package> {
        self.members.iter().filter(|p| p.publishable)
    }

    /// Publishable members ordered so that each comes after everything it needs on
    /// crates.io first: its normal and build dependencies, and dev-dependencies that carry a
    /// version (Cargo strips version-less dev-dependencies when packaging). Ties are broken by
    /// name so the order is stable. A cycle is an error naming its members.
    pub fn publish_order(&self) -> Result<Vec<&Package>, String> {
        let publishable: Vec<&Package> = self.publishable().collect();
        let mut needs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for package in &publishable {
            let entry = needs.entry(package.name.as_str()).or_default();
            for dep in package.internal_deps(self) {
                let stripped = dep.kind == DepKind::Dev && dep.req.trim() == "*";
                let target_publishable = self.package(&dep.name).is_some_and(|p| p.publishable);
                if !stripped && target_publishable && dep.name != package.name {
                    entry.insert(dep.name.as_str());
                }
            }
        }
        let mut order = Vec::new();
        let mut done = BTreeSet::new();
        while order.len() < publishable.len() {
            let ready = needs
                .iter()
                .find(|(name, deps)| !done.contains(*name) && deps.iter().all(|d| done.contains(d)))
                .map(|(name, _)| *name);
            match ready {
                Some(name) => {
                    done.insert(name);
                    order.extend(publishable.iter().find(|p| p.name == name));
                }
                None => {
                    let stuck: Vec<&str> = needs
                        .keys()
                        .filter(|n| !done.contains(*n))
                        .copied()
                        .collect();
                    return Err(format!(
                        "dependency cycle among {}: crates.io needs each crate's dependencies \
                         published first; drop the `version` from a dev-dependency to break it",
                        stuck.join(", ")
                    ));
                }
            }
        }
        Ok(order)
    }
}

fn str_field<'a>(value: &'a Value, key: &str) -> Result<&'a str, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("cargo metadata: no `{key}`"))
}

fn opt_string(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn parse_package(value: &Value) -> Result<Package, String> {
    let name = str_field(value, "name")?.to_string();
    let version = str_field(value, "version")?
        .parse()
        .map_err(|e| format!("package `{name}`: {e}"))?;
    let manifest_path = PathBuf::from(str_field(value, "manifest_path")?);
    let dir = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("package `{name}`: manifest path has no directory"))?;
    // `publish`: null means anywhere, a list names the allowed registries, [] means nowhere.
    let publishable = match value.get("publish") {
        Some(Value::Array(registries)) => {
            !registries.is_empty() && registries.iter().any(|r| r.as_str() == Some("crates-io"))
        }
        _ => true,
    };
    // `[package.metadata.docs.rs]` is a dotted header: `docs` → `rs`.
    let docs = value
        .pointer("/metadata/docs/rs")
        .or_else(|| value.pointer("/metadata/docs.rs"));
    let flag = |key: &str| {
        docs.and_then(|d| d.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let docs_rs = DocsRs {
        features: string_list(docs.and_then(|d| d.get("features"))),
        all_features: flag("all-features"),
        no_default_features: flag("no-default-features"),
    };
    // Without target information (hand-written metadata), assume a library: the checks
    // that only apply to libraries then still run.
    let has_library = match value.get("targets").and_then(Value::as_array) {
        None => true,
        Some(targets) => targets.iter().any(|t| {
            t.get("kind")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|k| {
                    matches!(
                        k,
                        "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro"
                    )
                })
        }),
    };
    let mut deps = Vec::new();
    for dep in value
        .get("dependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = match dep.get("kind").and_then(Value::as_str) {
            None => DepKind::Normal,
            Some("build") => DepKind::Build,
            Some("dev") => DepKind::Dev,
            Some(other) => {
                return Err(format!("package `{name}`: unknown dependency kind {other}"));
            }
        };
        deps.push(Dependency {
            name: str_field(dep, "name")?.to_string(),
            req: str_field(dep, "req")?.to_string(),
            kind,
            path: dep.get("path").and_then(Value::as_str).map(PathBuf::from),
        });
    }
    Ok(Package {
        version,
        dir,
        manifest_path,
        publishable,
        description: opt_string(value, "description"),
        license: opt_string(value, "license"),
        license_file: opt_string(value, "license_file"),
        repository: opt_string(value, "repository"),
        readme: opt_string(value, "readme"),
        keywords: string_list(value.get("keywords")),
        categories: string_list(value.get("categories")),
        rust_version: opt_string(value, "rust_version"),
        docs_rs,
        has_library,
        deps,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempWorkspace;

    fn names(order: &[&Package]) -> Vec<String> {
        order.iter().map(|p| p.name.clone()).collect()
    }

    #[test]
    fn loads_members_metadata_and_internal_dependencies() {
        let tw = TempWorkspace::new("loads");
        tw.member("core", "0.1.0", &[]);
        tw.member("provider", "0.3.0", &["core"]);
        tw.file(
            "crates/provider/Cargo.toml",
            &tw.read("crates/provider/Cargo.toml").replace(
                "[dependencies]",
                "[package.metadata.docs.rs]\nfeatures = [\"extra\"]\n\n[dependencies]",
            ),
        );
        tw.unpublished("tool", &["provider"]);
        let ws = tw.load();
        assert_eq!(ws.root, tw.root);
        let provider = ws.package("provider").unwrap();
        assert_eq!(provider.version, Version::new(0, 3, 0));
        assert_eq!(provider.description.as_deref(), Some("The provider crate."));
        assert_eq!(provider.keywords, ["compliance"]);
        assert_eq!(provider.docs_rs.features, ["extra"]);
        let internal: Vec<_> = provider.internal_deps(&ws).collect();
        assert_eq!(internal.len(), 1);
        assert_eq!(
            (internal[0].name.as_str(), internal[0].req.as_str()),
            ("core", "^0.1.0")
        );
        assert!(!ws.package("tool").unwrap().publishable);
        assert!(provider.has_library);
        assert_eq!(provider.rel_dir(&ws), "crates/provider");
        assert!(
            ws.publishable_package("tool")
                .unwrap_err()
                .contains("publish = false")
        );
        assert!(
            ws.publishable_package("nope")
                .unwrap_err()
                .contains("core, provider")
        );
    }

    #[test]
    fn orders_dependencies_first_and_breaks_ties_by_name() {
        let tw = TempWorkspace::new("order");
        tw.member("zeta-core", "0.1.0", &[]);
        tw.member("events", "0.1.0", &["zeta-core"]);
        tw.member("bank", "0.1.0", &["zeta-core", "events"]);
        tw.member("alpha", "0.1.0", &["zeta-core"]);
        tw.unpublished("e2e", &["bank"]);
        let ws = tw.load();
        assert_eq!(
            names(&ws.publish_order().unwrap()),
            ["zeta-core", "alpha", "events", "bank"]
        );
    }

    #[test]
    fn versioned_dev_dependencies_order_but_versionless_ones_do_not() {
        let tw = TempWorkspace::new("devorder");
        tw.member("a-core", "0.1.0", &[]);
        tw.member("b-helper", "0.1.0", &[]);
        // a-core tests against b-helper without a version: stripped when packaging.
        tw.append(
            "crates/a-core/Cargo.toml",
            "\n[dev-dependencies]\nb-helper = { path = \"../b-helper\" }\n",
        );
        tw.append(
            "crates/b-helper/Cargo.toml",
            "\n[dev-dependencies]\na-core = { path = \"../a-core\", version = \"0.1.0\" }\n",
        );
        let ws = tw.load();
        assert_eq!(names(&ws.publish_order().unwrap()), ["a-core", "b-helper"]);

        // With a version on both sides, no order works.
        tw.file(
            "crates/a-core/Cargo.toml",
            &tw.read("crates/a-core/Cargo.toml").replace(
                "path = \"../b-helper\" }",
                "path = \"../b-helper\", version = \"0.1\" }",
            ),
        );
        let err = tw.load().publish_order().unwrap_err();
        assert!(
            err.contains("dependency cycle among a-core, b-helper"),
            "{err}"
        );
    }

    #[test]
    fn a_binary_only_crate_has_no_library() {
        let tw = TempWorkspace::new("binary");
        tw.member("cli", "0.1.0", &[]);
        std::fs::remove_file(tw.path("crates/cli/src/lib.rs")).unwrap();
        tw.file("crates/cli/src/main.rs", "//! A tool.\nfn main() {}\n");
        tw.member("both", "0.1.0", &[]);
        tw.file("crates/both/src/main.rs", "//! A tool.\nfn main() {}\n");
        let ws = tw.load();
        assert!(!ws.package("cli").unwrap().has_library);
        assert!(ws.package("both").unwrap().has_library);
    }

    #[test]
    fn bad_metadata_is_an_error_not_a_panic() {
        assert!(
            Workspace::from_metadata("not json")
                .unwrap_err()
                .contains("cargo metadata")
        );
        assert!(
            Workspace::from_metadata("{}")
                .unwrap_err()
                .contains("workspace_root")
        );
        let json = r#"{"workspace_root":"/w","workspace_members":["x"],
            "packages":[{"id":"x","name":"x","version":"one","manifest_path":"/w/Cargo.toml"}]}"#;
        assert!(
            Workspace::from_metadata(json)
                .unwrap_err()
                .contains("package `x`")
        );
    }
}
