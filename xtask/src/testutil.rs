//! Small throwaway workspaces for tests: a root manifest with `[workspace.dependencies]`,
//! members with complete crates.io metadata, optional git history and tags.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cmd;
use crate::workspace::Workspace;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A workspace in a fresh temporary directory, removed on drop.
pub struct TempWorkspace {
    /// The workspace root (canonical, as `cargo metadata` reports it).
    pub root: PathBuf,
}

impl TempWorkspace {
    /// An empty workspace whose members live in `crates/*` (and `tools/<name>` once added).
    pub fn new(label: &str) -> Self {
        let unique = format!(
            "xtask-test-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let root = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("crates")).unwrap();
        let root = root.canonicalize().unwrap();
        let tw = TempWorkspace { root };
        tw.file(
            "Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n\n\
             [workspace.package]\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             license = \"MIT OR Apache-2.0\"\nrepository = \"https://example.com/repo\"\n\
             rust-version = \"1.89\"\n\n\
             [workspace.dependencies]\n# Internal crates.\n",
        );
        tw.file("LICENSE-MIT", "MIT License\n");
        tw.file(".gitignore", "target/\n");
        tw
    }

    /// Adds a publishable member `crates/<name>` at `version` (through `version.workspace`
    /// when it equals the workspace's 0.1.0), declares it in `[workspace.dependencies]` and
    /// makes it depend on `deps` through `workspace = true`.
    pub fn member(&self, name: &str, version: &str, deps: &[&str]) {
        let version_line = if version == "0.1.0" {
            "version.workspace = true".to_string()
        } else {
            format!("version = \"{version}\"")
        };
        let dir = format!("crates/{name}");
        self.file(
            &format!("{dir}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\ndescription = \"The {name} crate.\"\n\
                 {version_line}\nedition.workspace = true\nlicense.workspace = true\n\
                 repository.workspace = true\nrust-version.workspace = true\n\
                 readme = \"README.md\"\nkeywords = [\"compliance\"]\n\
                 categories = [\"api-bindings\"]\n\n[dependencies]\n{}",
                dep_lines(deps)
            ),
        );
        self.file(
            &format!("{dir}/src/lib.rs"),
            &format!("//! The {name} crate.\n"),
        );
        self.file(&format!("{dir}/README.md"), &format!("# {name}\n"));
        self.file(
            &format!("{dir}/CHANGELOG.md"),
            &format!("# Changelog\n\n## [Unreleased]\n\n## {version}\n\n- First release.\n"),
        );
        std::os::unix::fs::symlink("../../LICENSE-MIT", self.root.join(dir).join("LICENSE-MIT"))
            .unwrap();
        self.append(
            "Cargo.toml",
            &format!("{name} = {{ path = \"crates/{name}\", version = \"{version}\" }}\n"),
        );
    }

    /// Adds an unpublished member `tools/<name>` depending on `deps`.
    pub fn unpublished(&self, name: &str, deps: &[&str]) {
        let root = self.read("Cargo.toml");
        self.file(
            "Cargo.toml",
            &root.replacen(
                "members = [\"crates/*\"",
                &format!("members = [\"crates/*\", \"tools/{name}\""),
                1,
            ),
        );
        self.file(
            &format!("tools/{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
                 publish = false\n\n[dependencies]\n{}",
                dep_lines(deps)
            ),
        );
        self.file(&format!("tools/{name}/src/lib.rs"), "//! A tool.\n");
    }

    /// Writes a file (creating directories), relative to the root.
    pub fn file(&self, rel: &str, content: &str) {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Appends to a file relative to the root.
    pub fn append(&self, rel: &str, content: &str) {
        let text = self.read(rel);
        self.file(rel, &(text + content));
    }

    /// Reads a file relative to the root.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }

    /// Loads the workspace through `cargo metadata`.
    pub fn load(&self) -> Workspace {
        Workspace::load(&self.root).unwrap()
    }

    /// Runs git in the workspace, failing the test on error.
    pub fn git(&self, args: &[&str]) -> String {
        cmd::output(
            cmd::git(&self.root)
                .args([
                    "-c",
                    "user.name=xtask",
                    "-c",
                    "user.email=xtask@example.com",
                ])
                .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
                .args(args),
        )
        .unwrap()
    }

    /// `git init` and a first commit of everything.
    pub fn git_init(&self) {
        self.git(&["init", "-q"]);
        self.commit("initial");
    }

    /// Commits everything.
    pub fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// A path inside the workspace.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for TempWorkspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn dep_lines(deps: &[&str]) -> String {
    deps.iter()
        .map(|d| format!("{d}.workspace = true\n"))
        .collect()
}
