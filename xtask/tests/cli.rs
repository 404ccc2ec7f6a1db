//! The `xtask` binary end to end, run inside small temporary git workspaces: exit codes,
//! argument errors, and the release workflow plan → bump → check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(label: &str) -> Dir {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("xtask-cli-{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Dir(dir)
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap()
}

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "user.name=xtask",
            "-c",
            "user.email=xtask@example.com",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn member(root: &Path, name: &str, deps: &str) {
    write(
        root,
        &format!("crates/{name}/Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\ndescription = \"{name}.\"\nversion.workspace = true\n\
             edition = \"2024\"\nlicense = \"MIT\"\nrepository = \"https://example.com/r\"\n\
             rust-version = \"1.89\"\nreadme = \"README.md\"\nkeywords = [\"aml\"]\n\
             categories = [\"api-bindings\"]\n\n[dependencies]\n{deps}"
        ),
    );
    write(
        root,
        &format!("crates/{name}/src/lib.rs"),
        &format!("//! {name}.\n"),
    );
    write(root, &format!("crates/{name}/README.md"), "# readme\n");
    write(root, &format!("crates/{name}/LICENSE-MIT"), "MIT\n");
    write(
        root,
        &format!("crates/{name}/CHANGELOG.md"),
        "# Changelog\n\n## [Unreleased]\n\n## 0.1.0\n\n- First release.\n",
    );
}

/// `base` and `client` (depending on `base`), committed, `base` and `client` tagged 0.1.0.
fn released_workspace() -> Dir {
    let dir = temp_dir("ws");
    let root = &dir.0;
    write(
        root,
        "Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n\n\
         [workspace.package]\nversion = \"0.1.0\"\n\n\
         [workspace.dependencies]\n\
         base = { path = \"crates/base\", version = \"0.1.0\" }\n\
         client = { path = \"crates/client\", version = \"0.1.0\" }\n",
    );
    write(root, ".gitignore", "target/\n");
    member(root, "base", "");
    member(root, "client", "base.workspace = true\n");
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "initial"]);
    git(root, &["tag", "base-v0.1.0"]);
    git(root, &["tag", "client-v0.1.0"]);
    dir
}

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn help_and_usage_errors() {
    let dir = temp_dir("usage");
    let out = xtask(&dir.0, &[]);
    assert!(out.status.success());
    assert!(
        text(&out).contains("release   plan, check, bump and publish"),
        "{}",
        text(&out)
    );

    let ws = released_workspace();

    for (args, message) in [
        (&["frobnicate"][..], "unknown command `frobnicate`"),
        (&["release", "frob"], "unknown release command `frob`"),
        (
            &["release", "bump", "base", "huge"],
            "`huge` is not a bump level",
        ),
        (&["release", "bump"], "missing the crate to bump"),
        (
            &["release", "check", "--skip-pakage"],
            "unexpected argument(s): --skip-pakage",
        ),
        (
            &["release", "publish", "--execute", "--allow-dirty"],
            "only for dry runs",
        ),
    ] {
        let out = xtask(&ws.0, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(message), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("usage: cargo xtask"), "{args:?}");
    }
}

#[test]
fn outside_a_workspace_the_error_says_where_to_run() {
    let dir = temp_dir("outside");
    let out = xtask(&dir.0, &["release", "plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("run this inside the workspace"),
        "{}",
        text(&out)
    );
}

#[test]
fn plan_bump_check_workflow() {
    let dir = released_workspace();
    let root = &dir.0;

    let out = xtask(root, &["release", "plan"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1. base    0.1.0  released (base-v0.1.0), unchanged"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).ends_with(
            "Nothing to publish.\n\
             Bump levels (cargo semver-checks against the last tag):\n\
             \x20 base: unchanged since its tag\n\
             \x20 client: unchanged since its tag\n"
        ),
        "{}",
        text(&out)
    );

    write(
        root,
        "crates/base/src/lib.rs",
        "//! base, with a breaking change.\n",
    );
    write(
        root,
        "crates/base/CHANGELOG.md",
        "# Changelog\n\n## [Unreleased]\n\n- Removed `Old`.\n\n## 0.1.0\n\n- First release.\n",
    );
    let out = xtask(root, &["release", "plan"]);
    assert!(
        text(&out).contains("changed since -> bump first"),
        "{}",
        text(&out)
    );

    let out = xtask(root, &["release", "bump", "base", "minor"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("base: 0.1.0 -> 0.2.0 (requested minor bump)"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("client: 0.1.0 -> 0.2.0 (minor bump: breaking update of base)"));
    assert!(
        read(root, "Cargo.toml").contains("base = { path = \"crates/base\", version = \"0.2.0\" }")
    );
    assert!(read(root, "crates/client/Cargo.toml").contains("version = \"0.2.0\""));

    let out = xtask(
        root,
        &[
            "release",
            "check",
            "--skip-package",
            "--skip-docs",
            "--skip-semver",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out)
            .contains("skip  cargo package (every crate builds from its .crate): --skip-package")
    );

    let out = xtask(root, &["release", "plan"]);
    assert!(
        text(&out).contains(
            "0.2.0  not yet released; last release base-v0.1.0, changed since -> publish"
        ),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("2 to publish"), "{}", text(&out));

    // A requirement that no longer matches fails the check with exit code 1.
    let manifest = read(root, "Cargo.toml").replace(
        "version = \"0.2.0\" }\nclient",
        "version = \"0.1.0\" }\nclient",
    );
    write(root, "Cargo.toml", &manifest);
    let out = xtask(
        root,
        &[
            "release",
            "check",
            "--skip-package",
            "--skip-docs",
            "--skip-semver",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out)
            .contains("client: [dependencies] requires `base ^0.1.0` but the workspace has 0.2.0"),
        "{}",
        text(&out)
    );
}
