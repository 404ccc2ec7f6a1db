//! `cargo xtask bench`: runs the paired benchmarks and prints one table of ratios against
//! their targets.
//!
//! The benches measure (through `crates/bench-pair`, the one harness they share); this
//! module only runs `cargo bench` for each bench target the selected [rows](rows::ROWS)
//! need, reads the `bench-pair row=...` lines they print, and judges them. It depends on no
//! provider crate.

mod rows;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::Stdio;

use crate::cli::{Args, Error};
use crate::cmd;
use crate::workspace::Workspace;
use rows::{ROWS, Row, Target};

/// Help for `cargo xtask bench`.
pub const USAGE: &str =
    "usage: cargo xtask bench [--quick] [--store] [--row ID[,ID...]] [--verbose]

Runs the workspace's benchmarks in release mode: each row times a path of the project beside
the bare code it replaces, alternately in the same run (crates/bench-pair), and the table
shows the median ratio of the pairs, its quartiles, the target and whether the row meets it.
Exits with 1 when a row misses its target or reports nothing.

  --quick     0.5 s of warm-up and 1 s of measurement per row instead of 1 s and 3 s
              (noisier; for a first look)
  --store     also the rows on SQLite and PostgreSQL: compliance-store's, and the durable
              intake and worker of aml-events (several minutes)
  --row IDS   only these rows (the table's first column), comma-separated
  --verbose   show criterion's own report of each side";

/// Runs `cargo xtask bench <args>`.
pub fn main(mut args: Args) -> Result<(), Error> {
    if args.flag("--help") || args.flag("-h") || args.flag("help") {
        println!("{USAGE}");
        return Ok(());
    }
    let quick = args.flag("--quick");
    let store = args.flag("--store");
    let verbose = args.flag("--verbose");
    let only = args.value("--row")?;
    args.finish()?;
    let rows = select(only.as_deref(), store)?;
    let cwd =
        std::env::current_dir().map_err(|e| Error::failed(format!("no current directory: {e}")))?;
    let root = Workspace::locate(&cwd)?;

    let mut results = BTreeMap::new();
    for (package, bench, features) in targets(&rows) {
        eprintln!("==> cargo bench -p {package} --bench {bench}");
        results.extend(run(&root, package, bench, features, quick, verbose)?);
    }
    let (table, failed) = table(&rows, &results);
    println!("\n{}\n", machine());
    print!("{table}");
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::failed(format!(
            "{} row(s) missed the target or reported nothing: {}",
            failed.len(),
            failed.join(", ")
        )))
    }
}

/// The rows `--row` names (or the default ones, plus the stores' with `--store`).
fn select(only: Option<&str>, store: bool) -> Result<Vec<Row>, Error> {
    let Some(only) = only else {
        return Ok(ROWS
            .iter()
            .filter(|r| r.default || store)
            .copied()
            .collect());
    };
    only.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            ROWS.iter().find(|r| r.id == id).copied().ok_or_else(|| {
                let known: Vec<&str> = ROWS.iter().map(|r| r.id).collect();
                Error::Usage(format!("unknown row `{id}` (known: {})", known.join(", ")))
            })
        })
        .collect()
}

/// Each bench target the rows need, once, in the rows' order.
fn targets(rows: &[Row]) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut out = Vec::new();
    for row in rows {
        let target = (row.package, row.bench, row.features);
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

/// One row's figures, from its `bench-pair` line: the ratio project / bare and its
/// quartiles, each side's time per call, the number of pairs.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    ratio: f64,
    q1: f64,
    q3: f64,
    project_ns: f64,
    bare_ns: f64,
    samples: u64,
}

/// Runs one bench target, only the `project` side of each row (the pairs in it time both
/// sides), and returns what its rows reported.
fn run(
    root: &Path,
    package: &str,
    bench: &str,
    features: &str,
    quick: bool,
    verbose: bool,
) -> Result<BTreeMap<String, Measured>, Error> {
    let mut command = cmd::cargo(root);
    command.args(["bench", "-p", package, "--bench", bench]);
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    command.arg("--");
    if quick {
        command.args(["--warm-up-time", "0.5", "--measurement-time", "1"]);
    }
    // Criterion's filter: the `bare` functions would repeat the same pairs.
    command.arg("/project$");
    let shown = cmd::display(&command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::failed(format!("could not run `{shown}`: {e}")))?;
    let mut results = BTreeMap::new();
    let stdout = child.stdout.take().expect("piped stdout");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| Error::failed(format!("reading `{shown}`: {e}")))?;
        match parse_line(&line) {
            Some((row, measured)) => {
                eprintln!("    {line}");
                results.insert(row, measured);
            }
            None if verbose => eprintln!("{line}"),
            None => {}
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::failed(format!("`{shown}`: {e}")))?;
    if !status.success() {
        return Err(Error::failed(format!("`{shown}` failed ({status})")));
    }
    Ok(results)
}

/// Reads `bench-pair row=ID ratio=R q1=A q3=B project_ns=P bare_ns=Q samples=N`.
fn parse_line(line: &str) -> Option<(String, Measured)> {
    let rest = line.strip_prefix("bench-pair ")?;
    let fields: BTreeMap<&str, &str> = rest
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let number = |key: &str| fields.get(key)?.parse::<f64>().ok();
    Some((
        fields.get("row")?.to_string(),
        Measured {
            ratio: number("ratio")?,
            q1: number("q1")?,
            q3: number("q3")?,
            project_ns: number("project_ns")?,
            bare_ns: number("bare_ns")?,
            samples: fields.get("samples")?.parse().ok()?,
        },
    ))
}

/// The table, and the rows that missed their target or reported nothing.
fn table(rows: &[Row], results: &BTreeMap<String, Measured>) -> (String, Vec<&'static str>) {
    let mut lines = vec![[
        "row".to_owned(),
        "project vs bare".to_owned(),
        "project".to_owned(),
        "bare".to_owned(),
        "measured (quartiles)".to_owned(),
        "target".to_owned(),
        "".to_owned(),
    ]];
    let mut failed = Vec::new();
    for row in rows {
        let Some(m) = results.get(row.id) else {
            failed.push(row.id);
            lines.push([
                row.id.to_owned(),
                row.what.to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "no result".to_owned(),
                target_text(row.target),
                "MISSING".to_owned(),
            ]);
            continue;
        };
        let (measured, pass) = judge(row.target, m);
        if !pass {
            failed.push(row.id);
        }
        let verdict = match (row.target, pass) {
            (Target::None, _) => "info",
            (_, true) => "pass",
            (_, false) => "FAIL",
        };
        lines.push([
            row.id.to_owned(),
            row.what.to_owned(),
            duration(m.project_ns),
            duration(m.bare_ns),
            measured,
            target_text(row.target),
            verdict.to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
    (out, failed)
}

/// The ratio as the target reads it (speed: bare / project; cost: project / bare), with
/// its quartiles, and whether the median meets the target.
fn judge(target: Target, m: &Measured) -> (String, bool) {
    match target {
        Target::Speed(at_least) => {
            let (speed, lo, hi) = (1.0 / m.ratio, 1.0 / m.q3, 1.0 / m.q1);
            (
                format!("speed {speed:.2}× ({lo:.2}–{hi:.2})"),
                speed >= at_least,
            )
        }
        Target::Cost(at_most) => (
            format!("cost {:.2}× ({:.2}–{:.2})", m.ratio, m.q1, m.q3),
            m.ratio <= at_most,
        ),
        Target::None => (
            format!("cost {:.2}× ({:.2}–{:.2})", m.ratio, m.q1, m.q3),
            true,
        ),
    }
}

fn target_text(target: Target) -> String {
    match target {
        Target::Speed(at_least) => format!("speed ≥ {at_least:.2}×"),
        Target::Cost(at_most) => format!("cost ≤ {at_most:.2}×"),
        Target::None => "-".to_owned(),
    }
}

/// `812 ns`, `1.42 µs`, `64.1 µs`, `3.20 ms`.
fn duration(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.0} ns"),
        ns if ns < 1e4 => format!("{:.2} µs", ns / 1e3),
        ns if ns < 1e6 => format!("{:.1} µs", ns / 1e3),
        ns => format!("{:.2} ms", ns / 1e6),
    }
}

/// What the figures were measured on: CPU model, CPUs, load average (Linux; `unknown`
/// elsewhere).
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("machine: {model}, {cpus} CPUs, load average {load} (1 min)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(ratio: f64) -> Measured {
        Measured {
            ratio,
            q1: ratio - 0.1,
            q3: ratio + 0.1,
            project_ns: 1500.0,
            bare_ns: 1250.0,
            samples: 60,
        }
    }

    #[test]
    fn reads_the_harness_line() {
        let (row, m) = parse_line(
            "bench-pair row=verify ratio=1.8000 q1=1.7000 q3=1.9000 project_ns=1500.0 \
             bare_ns=1250.0 samples=60",
        )
        .unwrap();
        assert_eq!(row, "verify");
        assert_eq!(
            m,
            Measured {
                ratio: 1.8,
                q1: 1.7,
                q3: 1.9,
                project_ns: 1500.0,
                bare_ns: 1250.0,
                samples: 60
            }
        );
        for other in [
            "verify/project time: [1 µs 2 µs 3 µs]",
            "bench-pair row=verify ratio=x q1=1 q3=1 project_ns=1 bare_ns=1 samples=1",
            "bench-pair row=verify ratio=1",
        ] {
            assert_eq!(parse_line(other), None, "{other}");
        }
    }

    #[test]
    fn speed_targets_invert_the_ratio_and_cost_targets_do_not() {
        assert_eq!(
            judge(Target::Speed(0.95), &measured(1.0)),
            ("speed 1.00× (0.91–1.11)".to_owned(), true)
        );
        assert!(!judge(Target::Speed(0.95), &measured(1.1)).1);
        assert!(judge(Target::Speed(2.0), &measured(0.5)).1);
        assert!(!judge(Target::Speed(2.0), &measured(0.51)).1);
        assert_eq!(
            judge(Target::Cost(1.2), &measured(1.2)),
            ("cost 1.20× (1.10–1.30)".to_owned(), true)
        );
        assert!(!judge(Target::Cost(1.2), &measured(1.21)).1);
        assert!(judge(Target::None, &measured(5.0)).1);
    }

    #[test]
    fn the_table_names_failures_and_missing_rows() {
        let rows = select(Some("verify,verify_signature,payment_info"), false).unwrap();
        let results = BTreeMap::from([
            ("verify".to_owned(), measured(2.0)),
            ("verify_signature".to_owned(), measured(1.3)),
        ]);
        let (text, failed) = table(&rows, &results);
        assert_eq!(failed, ["verify_signature", "payment_info"]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("row "), "{text}");
        assert!(
            lines[2].starts_with("verify ")
                && lines[2].contains("cost 2.00× (1.90–2.10)")
                && lines[2].contains("1.50 µs")
                && lines[2].ends_with("pass"),
            "{text}"
        );
        assert!(lines[3].ends_with("FAIL"), "{text}");
        assert!(lines[4].ends_with("MISSING"), "{text}");
    }

    #[test]
    fn rows_are_chosen_by_id_and_the_stores_only_on_request() {
        let default = select(None, false).unwrap();
        assert!(
            default
                .iter()
                .all(|r| r.package != "compliance-store" && r.bench != "durable")
        );
        assert!(default.iter().any(|r| r.id == "payment_info"));
        let all = select(None, true).unwrap();
        assert_eq!(all.len(), ROWS.len());
        assert!(matches!(select(Some("nope"), false), Err(Error::Usage(_))));
        let two = select(Some("inbox_1k, inbox_1M"), false).unwrap();
        assert_eq!(
            targets(&two),
            [("compliance-core", "inbox", "")],
            "one run for both"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(812.0), "812 ns");
        assert_eq!(duration(1420.0), "1.42 µs");
        assert_eq!(duration(64_100.0), "64.1 µs");
        assert_eq!(duration(3_200_000.0), "3.20 ms");
    }
}
