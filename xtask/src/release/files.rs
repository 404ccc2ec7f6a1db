//! What goes into a crate's `.crate` file: `cargo package --list`, checked for files from
//! outside the crate, oversized files, key material and a missing license text.

use std::path::{Component, Path};

use crate::cmd;
use crate::workspace::{Package, Workspace};

/// Largest single packaged file accepted. Fixtures and examples are far smaller; anything
/// above this is almost always a stray build artefact or data dump.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Largest total (uncompressed) package accepted; crates.io's limit is 10 MiB compressed.
pub const MAX_TOTAL_BYTES: u64 = 8 * 1024 * 1024;

/// Files Cargo generates into the package; they have no counterpart in the crate directory.
const GENERATED: [&str; 3] = ["Cargo.toml.orig", "Cargo.lock", ".cargo_vcs_info.json"];

/// File names that hold secrets or keys and never belong in a published crate.
const KEY_NAMES: [&str; 9] = [
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    ".env",
    ".netrc",
    ".npmrc",
    "credentials",
    "credentials.toml",
];

/// Extensions of key stores and private key files.
const KEY_EXTENSIONS: [&str; 7] = ["pem", "key", "p12", "pfx", "jks", "keystore", "ppk"];

/// The files `cargo package --list` would put into `package`'s `.crate`.
pub fn list(ws: &Workspace, package: &Package) -> Result<Vec<String>, String> {
    let out = cmd::output(cmd::cargo(&ws.root).args([
        "package",
        "--list",
        "--allow-dirty",
        "-p",
        &package.name,
    ]))?;
    Ok(out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Problems with the listed files of `package`, one message per problem.
pub fn check(ws: &Workspace, package: &Package, listed: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let crate_dir = package
        .dir
        .canonicalize()
        .unwrap_or_else(|_| package.dir.clone());
    let root = ws.root.canonicalize().unwrap_or_else(|_| ws.root.clone());
    let mut total = 0;
    let mut has_license = package.license_file.is_some();
    for rel in listed {
        if GENERATED.contains(&rel.as_str()) {
            continue;
        }
        let path = Path::new(rel);
        if path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        {
            problems.push(format!("`{rel}` points outside the crate"));
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if name.starts_with("license") || name.starts_with("copying") {
            has_license = true;
        }
        let source = match source_of(package, rel) {
            Some(source) => source,
            None => {
                problems.push(format!(
                    "`{rel}` is packaged but is not in {}",
                    package.dir.display()
                ));
                continue;
            }
        };
        let Ok(real) = source.canonicalize() else {
            problems.push(format!("`{rel}` is a broken link"));
            continue;
        };
        let shared_root_file = real.parent() == Some(root.as_path());
        if !real.starts_with(&crate_dir) && !shared_root_file {
            problems.push(format!(
                "`{rel}` comes from outside the crate ({}); only files directly in the \
                 workspace root (shared license texts) may be linked in",
                real.display()
            ));
            continue;
        }
        let size = std::fs::metadata(&real).map(|m| m.len()).unwrap_or(0);
        total += size;
        if size > MAX_FILE_BYTES {
            problems.push(format!(
                "`{rel}` is {} KiB (limit {} KiB): add it to `package.exclude` or shrink it",
                size / 1024,
                MAX_FILE_BYTES / 1024
            ));
        }
        let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        if KEY_NAMES.contains(&name.as_str())
            || name.starts_with(".env.")
            || extension.is_some_and(|e| KEY_EXTENSIONS.contains(&e.as_str()))
        {
            problems.push(format!(
                "`{rel}` looks like key material or credentials: remove it or add it to \
                 `package.exclude`"
            ));
        } else if contains_private_key(&real) {
            problems.push(format!(
                "`{rel}` contains a PEM private key: remove it or add the file to \
                 `package.exclude`"
            ));
        }
    }
    if total > MAX_TOTAL_BYTES {
        problems.push(format!(
            "the package holds {} KiB of files (limit {} KiB): exclude fixtures or data",
            total / 1024,
            MAX_TOTAL_BYTES / 1024
        ));
    }
    if !has_license {
        problems.push(
            "no license text is packaged: link LICENSE-MIT and LICENSE-APACHE from the \
             workspace root into the crate"
                .to_string(),
        );
    }
    problems
}

/// The file on disk a listed entry comes from: the entry under the crate directory, or the
/// `readme` / `license-file` that Cargo copies in from elsewhere.
fn source_of(package: &Package, rel: &str) -> Option<std::path::PathBuf> {
    let direct = package.dir.join(rel);
    if direct.symlink_metadata().is_ok() {
        return Some(direct);
    }
    [&package.readme, &package.license_file]
        .into_iter()
        .flatten()
        .map(|declared| package.dir.join(declared))
        .find(|declared| {
            declared
                .file_name()
                .is_some_and(|n| n.to_string_lossy() == rel)
        })
}

fn contains_private_key(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .any(|line| line.contains("-----BEGIN ") && line.contains("PRIVATE KEY-----"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempWorkspace;

    fn problems_for(tw: &TempWorkspace, name: &str) -> Vec<String> {
        let ws = tw.load();
        let package = ws.package(name).unwrap();
        let listed = list(&ws, package).unwrap();
        check(&ws, package, &listed)
    }

    #[test]
    fn a_clean_crate_passes_with_its_linked_license() {
        let tw = TempWorkspace::new("files-clean");
        tw.member("core", "0.1.0", &[]);
        let ws = tw.load();
        let listed = list(&ws, ws.package("core").unwrap()).unwrap();
        assert!(listed.contains(&"LICENSE-MIT".to_string()), "{listed:?}");
        assert!(listed.contains(&"src/lib.rs".to_string()), "{listed:?}");
        assert_eq!(problems_for(&tw, "core"), Vec::<String>::new());
    }

    #[test]
    fn flags_key_material_by_name_and_by_content() {
        let tw = TempWorkspace::new("files-keys");
        tw.member("core", "0.1.0", &[]);
        tw.file("crates/core/tests/server.pem", "cert\n");
        tw.file("crates/core/tests/signing.key", "x\n");
        tw.file("crates/core/tests/id_rsa", "x\n");
        tw.file(
            "crates/core/tests/fixture.txt",
            "header\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
        );
        tw.file(
            "crates/core/src/doc.rs",
            "//! Never publish a PRIVATE KEY in a crate.\n",
        );
        let problems = problems_for(&tw, "core");
        let joined = problems.join("\n");
        for flagged in [
            "tests/server.pem",
            "tests/signing.key",
            "tests/id_rsa",
            "tests/fixture.txt",
        ] {
            assert!(
                joined.contains(&format!("`{flagged}`")),
                "{flagged} not flagged: {joined}"
            );
        }
        assert!(
            !joined.contains("src/doc.rs"),
            "prose mentioning keys is fine: {joined}"
        );
        assert_eq!(problems.len(), 4, "{joined}");

        // Cargo leaves dotfiles out of a non-git package, but a listed one is still caught.
        tw.file("crates/core/.env.local", "TOKEN=x\n");
        let ws = tw.load();
        let listed = [".env.local".to_string(), "LICENSE-MIT".to_string()];
        let problems = check(&ws, ws.package("core").unwrap(), &listed);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("`.env.local` looks like key material"),
            "{problems:?}"
        );
    }

    #[test]
    fn flags_oversized_files_and_files_from_outside_the_crate() {
        let tw = TempWorkspace::new("files-outside");
        let elsewhere = TempWorkspace::new("files-elsewhere");
        elsewhere.file("secret-notes.txt", "notes\n");
        tw.member("core", "0.1.0", &[]);
        tw.member("other", "0.1.0", &[]);
        tw.file(
            "crates/core/data/big.json",
            &"x".repeat(MAX_FILE_BYTES as usize + 1),
        );
        std::os::unix::fs::symlink(
            elsewhere.path("secret-notes.txt"),
            tw.path("crates/core/notes.txt"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../../other/src/lib.rs",
            tw.path("crates/core/src/other.rs"),
        )
        .unwrap();
        let joined = problems_for(&tw, "core").join("\n");
        assert!(
            joined.contains("`data/big.json` is 1024 KiB (limit 1024 KiB)"),
            "{joined}"
        );
        assert!(
            joined.contains("`notes.txt` comes from outside the crate"),
            "{joined}"
        );
        assert!(
            joined.contains("`src/other.rs` comes from outside the crate"),
            "{joined}"
        );
        assert!(!joined.contains("LICENSE-MIT"), "{joined}");
    }

    #[test]
    fn flags_a_missing_license_and_entries_cargo_never_lists_from_disk() {
        let tw = TempWorkspace::new("files-license");
        tw.member("core", "0.1.0", &[]);
        std::fs::remove_file(tw.path("crates/core/LICENSE-MIT")).unwrap();
        let joined = problems_for(&tw, "core").join("\n");
        assert!(joined.contains("no license text is packaged"), "{joined}");

        let ws = tw.load();
        let package = ws.package("core").unwrap();
        let listed = [
            "../escape.rs".to_string(),
            "ghost.rs".to_string(),
            "LICENSE".to_string(),
        ];
        let problems = check(&ws, package, &listed).join("\n");
        assert!(
            problems.contains("`../escape.rs` points outside the crate"),
            "{problems}"
        );
        assert!(
            problems.contains("`ghost.rs` is packaged but is not in"),
            "{problems}"
        );
    }

    #[test]
    fn a_readme_copied_from_the_workspace_root_is_accepted() {
        let tw = TempWorkspace::new("files-readme");
        tw.member("core", "0.1.0", &[]);
        tw.file("README.md", "# The workspace\n");
        std::fs::remove_file(tw.path("crates/core/README.md")).unwrap();
        tw.file(
            "crates/core/Cargo.toml",
            &tw.read("crates/core/Cargo.toml")
                .replace("readme = \"README.md\"", "readme = \"../../README.md\""),
        );
        let ws = tw.load();
        let listed = list(&ws, ws.package("core").unwrap()).unwrap();
        assert!(listed.contains(&"README.md".to_string()), "{listed:?}");
        assert_eq!(problems_for(&tw, "core"), Vec::<String>::new());
    }
}
