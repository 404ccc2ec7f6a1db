//! `release publish`: publishes every crate whose current version has no release tag, in
//! dependency order. A dry run unless `--execute` is given.
//!
//! The dry run is one `cargo publish --dry-run -p a -p b ...`: Cargo packages the selected
//! crates together, so a crate resolves its not-yet-published workspace dependencies from the
//! other packages. `--execute` publishes one crate at a time (Cargo waits until each is in the
//! index before returning) and tags each right after it is published, so a failure half-way
//! leaves tags exactly for what reached crates.io and rerunning continues where it stopped.

use crate::cli::Error;
use crate::cmd;
use crate::git::{ReleaseState, tag_name};
use crate::release::plan::Row;
use crate::workspace::Workspace;

/// What `release publish` will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps {
    /// `cargo` argument lists, run in order.
    pub cargo: Vec<Vec<String>>,
    /// Tags created after each `cargo` step of an `--execute` run (none in a dry run).
    pub tags: Vec<Option<String>>,
    /// Crates that changed since their release but keep their version: not published.
    pub stale: Vec<String>,
}

/// Works out the steps from the plan rows (already in publish order).
pub fn steps(rows: &[Row], execute: bool, allow_dirty: bool) -> Steps {
    let queue: Vec<&Row> = rows.iter().filter(|r| r.state.needs_publish()).collect();
    let stale = rows
        .iter()
        .filter(|r| r.state == ReleaseState::Released { changed: true })
        .map(|r| r.name.clone())
        .collect();
    let mut cargo = Vec::new();
    let mut tags = Vec::new();
    if queue.is_empty() {
        return Steps { cargo, tags, stale };
    }
    if execute {
        for row in &queue {
            cargo.push(vec![
                "publish".to_string(),
                "-p".to_string(),
                row.name.clone(),
            ]);
            tags.push(Some(tag_name(&row.name, &row.version)));
        }
    } else {
        let mut args = vec!["publish".to_string(), "--dry-run".to_string()];
        if allow_dirty {
            args.push("--allow-dirty".to_string());
        }
        for row in &queue {
            args.push("-p".to_string());
            args.push(row.name.clone());
        }
        cargo.push(args);
        tags.push(None);
    }
    Steps { cargo, tags, stale }
}

/// Runs the steps, printing what happens.
pub fn run(ws: &Workspace, rows: &[Row], execute: bool, allow_dirty: bool) -> Result<(), Error> {
    if execute && allow_dirty {
        return Err(Error::Usage(
            "`--allow-dirty` is only for dry runs: commit before publishing".to_string(),
        ));
    }
    let steps = steps(rows, execute, allow_dirty);
    for name in &steps.stale {
        println!(
            "warning: {name} changed since its release but keeps its version, so it is not \
             published; run `cargo xtask release bump {name} <level>` to include it"
        );
    }
    if steps.cargo.is_empty() {
        println!("Nothing to publish: every crate's current version has a release tag.");
        return Ok(());
    }
    if !execute {
        super::stale::before_packaging(rows.iter().map(|r| (r.name.as_str(), &r.version)));
    }
    let mut created = Vec::new();
    for (args, tag) in steps.cargo.iter().zip(&steps.tags) {
        let mut command = cmd::cargo(&ws.root);
        command.args(args);
        println!("$ {}", cmd::display(&command));
        cmd::status(&mut command).map_err(|e| {
            let done = if created.is_empty() {
                String::new()
            } else {
                format!("; published and tagged so far: {}", created.join(" "))
            };
            Error::failed(format!("{e}{done}"))
        })?;
        if let Some(tag) = tag {
            cmd::output(cmd::git(&ws.root).args(["tag", tag]))
                .map_err(|e| Error::failed(format!("published, but tagging failed: {e}")))?;
            println!("tagged {tag}");
            created.push(tag.clone());
        }
    }
    if execute {
        println!(
            "Published. Push the tags: git push origin {}",
            created.join(" ")
        );
    } else {
        println!("Dry run passed. Publish for real with: cargo xtask release publish --execute");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Version;

    fn row(name: &str, version: &str, state: ReleaseState) -> Row {
        Row {
            name: name.to_string(),
            version: version.parse().unwrap(),
            state,
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            row("core", "0.1.0", ReleaseState::Released { changed: false }),
            row("events", "0.1.0", ReleaseState::Released { changed: true }),
            row(
                "provider",
                "0.2.0",
                ReleaseState::Unreleased {
                    last: Version::new(0, 1, 0),
                    changed: true,
                },
            ),
            row("bank", "0.1.0", ReleaseState::NeverReleased),
        ]
    }

    #[test]
    fn a_dry_run_is_one_cargo_call_for_every_unreleased_crate() {
        let steps = steps(&rows(), false, true);
        assert_eq!(
            steps.cargo,
            [[
                "publish",
                "--dry-run",
                "--allow-dirty",
                "-p",
                "provider",
                "-p",
                "bank"
            ]]
        );
        assert_eq!(steps.tags, [None]);
        assert_eq!(steps.stale, ["events"]);
    }

    #[test]
    fn execute_publishes_and_tags_one_crate_at_a_time_in_order() {
        let steps = steps(&rows(), true, false);
        assert_eq!(
            steps.cargo,
            [["publish", "-p", "provider"], ["publish", "-p", "bank"]]
        );
        assert_eq!(
            steps.tags,
            [
                Some("provider-v0.2.0".to_string()),
                Some("bank-v0.1.0".to_string())
            ]
        );
    }

    #[test]
    fn nothing_released_twice_and_no_dirty_execute() {
        let done = vec![row(
            "core",
            "0.1.0",
            ReleaseState::Released { changed: false },
        )];
        assert!(steps(&done, true, false).cargo.is_empty());
        let ws = Workspace {
            root: std::env::temp_dir(),
            members: Vec::new(),
        };
        let err = run(&ws, &rows(), true, true).unwrap_err();
        assert!(matches!(err, Error::Usage(m) if m.contains("only for dry runs")));
        assert_eq!(
            run(&ws, &done, true, false),
            Ok(()),
            "nothing to do is not an error"
        );
    }
}
