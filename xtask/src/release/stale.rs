//! Cargo's cache of unpacked local-registry crates, which can hide the crates just packaged.
//!
//! `cargo package` and `cargo publish --dry-run` of several crates put the `.crate` files in a
//! temporary local registry (`<target>/package/tmp-registry`) and verify each crate against
//! the others from there. Cargo unpacks registry crates once into
//! `$CARGO_HOME/registry/src/<registry>/<name>-<version>` and reuses that directory for as
//! long as it exists; a local registry's directory is named after its path only. So a
//! checkout packaged before, at the same path and version, verifies against the *old*
//! unpacked sources: a crate that uses an item added since fails to build, or worse, an item
//! removed since is still found. Before packaging we forget the unpacked copies named like
//! the workspace's own crates (`name-version`) under every local registry's cache (those
//! whose directory names start with `-`: this workspace's temporary registries at any path,
//! and any other file registry holding a crate of the same name and version; crates.io's
//! cache is never touched). Cargo unpacks them again from the `.crate` when it needs them.
//! The removal holds cargo's own package-cache lock, so a cargo running at the same time
//! never sees sources disappear mid-build.

use std::path::{Path, PathBuf};

/// `$CARGO_HOME`, or `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// Removes the unpacked copies of `crates` (`name-version`) from every local registry's
/// cache under `cargo_home`; returns how many it removed.
pub fn forget_unpacked(cargo_home: &Path, crates: &[String]) -> std::io::Result<usize> {
    let src = cargo_home.join("registry").join("src");
    let Ok(registries) = std::fs::read_dir(&src) else {
        return Ok(0);
    };
    // Cargo's lock over its package cache (an exclusive file lock on this file), held
    // until the end of the function.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cargo_home.join(".package-cache"))?;
    lock.lock()?;
    let mut removed = 0;
    for registry in registries {
        let registry = registry?;
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in crates {
            let unpacked = registry.path().join(name);
            if unpacked.is_dir() {
                std::fs::remove_dir_all(&unpacked)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// [`forget_unpacked`] in the current cargo home for these crates (name and version),
/// saying what it did; a failure is only a warning (the packaging that follows then says
/// whether it mattered).
pub fn before_packaging<'a, V: std::fmt::Display + 'a>(
    crates: impl IntoIterator<Item = (&'a str, &'a V)>,
) {
    let Some(home) = cargo_home() else {
        return;
    };
    let crates: Vec<String> = crates
        .into_iter()
        .map(|(name, version)| format!("{name}-{version}"))
        .collect();
    match forget_unpacked(&home, &crates) {
        Ok(0) => {}
        Ok(n) => println!(
            "  note  forgot {n} unpacked copies of this workspace's crates from earlier \
             packaging (cargo would verify against them)"
        ),
        Err(e) => println!("  warn  could not clear cargo's unpacked local-registry crates: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_registries_copies_of_the_named_crates_go() {
        let home = std::env::temp_dir().join(format!("xtask-stale-{}", std::process::id()));
        let src = home.join("registry").join("src");
        let make = |dir: &str| std::fs::create_dir_all(src.join(dir).join("lib")).unwrap();
        make("-0123abcd/provider-0.1.0");
        make("-0123abcd/other-0.1.0");
        make("-4567ef01/provider-0.1.0");
        make("index.crates.io-1949cf8c6b5b557f/provider-0.1.0");
        let removed = forget_unpacked(&home, &["provider-0.1.0".to_string()]).unwrap();
        assert_eq!(removed, 2);
        assert!(!src.join("-0123abcd/provider-0.1.0").exists());
        assert!(!src.join("-4567ef01/provider-0.1.0").exists());
        assert!(src.join("-0123abcd/other-0.1.0").exists());
        assert!(
            src.join("index.crates.io-1949cf8c6b5b557f/provider-0.1.0")
                .exists()
        );
        std::fs::remove_dir_all(&home).unwrap();
        assert_eq!(
            forget_unpacked(&home, &["provider-0.1.0".into()]).unwrap(),
            0
        );
    }
}
