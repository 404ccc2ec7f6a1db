//! The workspace's structural rules, as tests (`cargo test -p xtask tidy`).
//!
//! Each rule is one test whose failure message says what is wrong and how to fix it. They
//! read the sources and ask `cargo tree` for dependency graphs; they build nothing, so they
//! take a few seconds. Adding a rule: one `#[test]` here, and a line in the root README's
//! maintainer section if it is a rule a maintainer must know before writing code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::cmd;

/// The workspace root (this package is `xtask/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The names of the packages in `cargo tree -p <package> <args> -e normal`: what the
/// package compiles into a user's build with those features (dev-dependencies excluded).
fn normal_dependencies(package: &str, features: &[&str]) -> BTreeSet<String> {
    let tree = cmd::output(
        cmd::cargo(&root())
            .args(["tree", "-p", package, "-e", "normal", "--prefix", "none"])
            .args(features),
    )
    .unwrap_or_else(|e| panic!("cannot list {package}'s dependencies: {e}"));
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != package)
        .map(str::to_owned)
        .collect()
}

/// Fails with `rule` and the offending packages when `package` (with `features`) depends
/// on any of `banned`.
fn assert_none_of(package: &str, features: &[&str], banned: &[&str], rule: &str) {
    let found: Vec<_> = normal_dependencies(package, features)
        .into_iter()
        .filter(|name| banned.contains(&name.as_str()))
        .collect();
    assert!(
        found.is_empty(),
        "{rule}\n`cargo tree -p {package} {} -e normal` lists: {}\n\
         find who pulls each in with `cargo tree -p {package} {} -e normal -i <name>`",
        features.join(" "),
        found.join(", "),
        features.join(" "),
    );
}

/// Crates that make an HTTP client (or its protocol stack) part of a build.
const HTTP_CLIENT: &[&str] = &["reqwest", "hyper", "hyper-util", "h2"];

/// Crates that only an HTTP client needs (a server built on hyper has none of them).
const HTTP_CLIENTS_ONLY: &[&str] = &["reqwest", "hyper-rustls", "hyper-tls"];

#[test]
fn xtask_depends_on_no_workspace_crate_http_client_or_runtime() {
    assert_none_of(
        "xtask",
        &[],
        &[
            "compliance-core",
            "compliance-store",
            "compliance-sandbox",
            "compliance-cli",
            "heleket-aml",
            "kyc-public-api",
            "amld5-verify",
            "aml-events",
            "reqwest",
            "axum",
            "tokio",
        ],
        "xtask is the release tooling and must build in seconds: no crate of the workspace, \
         no HTTP client, no async runtime. Put commands that drive the provider crates in \
         `xtask-fixtures` (xtask/fixtures), which `cargo xtask` runs through cargo.",
    );
}

#[test]
fn aml_events_has_no_http_client_with_any_features() {
    let rule = "aml-events parses and authenticates webhooks: it must not compile an HTTP \
                client. Use compliance-core with `default-features = false` (and only the \
                webhook features), and keep the HTTP server behind the `axum` feature.";
    for features in [&[][..], &["--no-default-features"]] {
        assert_none_of("aml-events", features, HTTP_CLIENT, rule);
    }
    // With `axum`, hyper is there as the server; a client still is not.
    assert_none_of("aml-events", &["--all-features"], HTTP_CLIENTS_ONLY, rule);
}

#[test]
fn compliance_store_backends_compile_only_what_they_are() {
    assert_none_of(
        "compliance-store",
        &["--no-default-features", "--features", "postgres"],
        &["rusqlite", "libsqlite3-sys"],
        "the PostgreSQL-only build of compliance-store compiles SQLite: put the SQLite \
         dependency and code behind the `sqlite` feature (`dep:rusqlite`).",
    );
    assert_none_of(
        "compliance-store",
        &["--no-default-features", "--features", "sqlite"],
        &["tokio-postgres", "deadpool-postgres", "postgres-types"],
        "the SQLite-only build of compliance-store compiles the PostgreSQL driver: put it \
         behind the `postgres` feature (`dep:tokio-postgres`).",
    );
}

#[test]
fn the_operators_cli_without_default_features_has_no_simulator() {
    assert_none_of(
        "compliance-cli",
        &["--no-default-features"],
        &["compliance-sandbox"],
        "`compliance-cli --no-default-features` is the operator's build: the simulator \
         (compliance-sandbox) belongs behind its `sandbox` feature, with the commands \
         that use it (`sandbox`, `trigger`).",
    );
}

#[test]
fn the_operators_cli_without_default_features_has_no_console() {
    assert_none_of(
        "compliance-cli",
        &["--no-default-features"],
        &["compliance-store", "axum", "maud"],
        "`compliance-cli --no-default-features` is the operator's build: the console's web \
         server, templates and store drivers belong behind its `console` feature, with the \
         `console` command.",
    );
}

/// One provider crate's expected layout (the root README's "For maintainers: one skeleton
/// per provider crate").
struct Skeleton {
    /// The crate's directory under `crates/`.
    name: &'static str,
    /// Whether it receives webhooks (then `webhook/{mod,event,error,pipeline}.rs`).
    webhooks: bool,
    /// Whether it talks to the provider (then `client.rs` and `aml.rs`).
    client: bool,
}

/// The provider crates.
const PROVIDERS: &[Skeleton] = &[
    Skeleton {
        name: "heleket-aml",
        webhooks: true,
        client: true,
    },
    Skeleton {
        name: "kyc-public-api",
        webhooks: true,
        client: true,
    },
    Skeleton {
        name: "amld5-verify",
        webhooks: false,
        client: true,
    },
    Skeleton {
        name: "aml-events",
        webhooks: false,
        client: false,
    },
];

/// Modules that adapt the client to a core trait or wire the crate together: they may
/// import the client. Every other module is a data-type module.
const ADAPTERS: &[&str] = &["lib.rs", "client.rs", "aml.rs", "store.rs"];

/// The `.rs` files under `dir`, recursively, as paths relative to `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let entries = std::fs::read_dir(&next)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", next.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(dir).unwrap_or(&path).to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn provider_crates_follow_the_skeleton() {
    let mut missing = Vec::new();
    for provider in PROVIDERS {
        let src = root().join("crates").join(provider.name).join("src");
        let mut expected = vec!["lib.rs", "error.rs"];
        if provider.name == "aml-events" {
            // Webhooks only: the crate root is its webhook module.
            expected.extend(["event.rs", "pipeline.rs"]);
        }
        if provider.client {
            expected.extend(["client.rs", "aml.rs"]);
        }
        if provider.webhooks {
            expected.extend([
                "webhook/mod.rs",
                "webhook/event.rs",
                "webhook/error.rs",
                "webhook/pipeline.rs",
            ]);
        }
        for file in expected {
            if !src.join(file).is_file() {
                missing.push(format!("crates/{}/src/{file}", provider.name));
            }
        }
        if provider.client {
            let aml = std::fs::read_to_string(src.join("aml.rs")).unwrap_or_default();
            if !aml.contains("AmlProvider for") {
                missing.push(format!(
                    "crates/{}/src/aml.rs with the crate's `impl AmlProvider for` (the \
                     adapter lives there and nowhere else)",
                    provider.name
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "every provider crate has the same skeleton (root README, \"For maintainers: one \
         skeleton per provider crate\"); missing:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn data_modules_never_import_the_client_or_the_aml_adapter() {
    let mut offences = Vec::new();
    for provider in PROVIDERS {
        let src = root().join("crates").join(provider.name).join("src");
        for file in sources(&src) {
            let name = file.to_string_lossy().replace('\\', "/");
            if ADAPTERS.contains(&name.as_str()) || name.starts_with("test_") {
                continue;
            }
            let text = std::fs::read_to_string(src.join(&file)).unwrap_or_default();
            for module in imported_crate_modules(&text) {
                if module == "client" || module == "aml" || module.ends_with("Client") {
                    offences.push(format!(
                        "crates/{}/src/{name} uses `crate::{module}`",
                        provider.name
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "data-type modules never import the client or the AML adapter (they would form a \
         circle: the client imports them). Move the code that needs the client into \
         client.rs (an endpoint) or aml.rs (the AmlProvider adapter), or pass the data it \
         needs as an argument:\n  {}",
        offences.join("\n  ")
    );
}

/// The first path segment of every `crate::` / `super::` path in `text` outside comments,
/// including each top-level member of a grouped `use crate::{a, b::c}`.
fn imported_crate_modules(text: &str) -> BTreeSet<String> {
    imported_modules(text, &["crate::", "super::"])
}

/// As [`imported_crate_modules`], for the paths that start with one of `prefixes`.
fn imported_modules(text: &str, prefixes: &[&str]) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for prefix in prefixes {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                found.extend(top_level_members(group));
            } else {
                found.insert(identifier(rest).to_owned());
            }
        }
    }
    found.remove("");
    found
}

/// The leading identifier of `text`.
fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first segment of each comma-separated member of a `{...}` group, up to its `}`.
fn top_level_members(group: &str) -> Vec<String> {
    let mut members = Vec::new();
    let mut depth = 0usize;
    let mut start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                start = false;
                members.push(identifier(&group[i..]).to_owned());
            }
            _ => {}
        }
    }
    members
}

/// `text` without its tests module (`#[cfg(test)] mod ...` and what follows it): tests
/// may import what they test from anywhere.
fn without_tests(text: &str) -> &str {
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let at = from + at;
        let after = text[at + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") || after.starts_with("pub(crate) mod ") {
            return &text[..at];
        }
        from = at + 1;
    }
    text
}

/// A source file's module path under `src` (`http/attempt.rs` is `[http, attempt]`,
/// `http/mod.rs` is `[http]`, `lib.rs` and `main.rs` are the root, `[]`).
fn module_path(file: &Path) -> Vec<String> {
    let mut path: Vec<String> = file
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = path.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_owned();
        let root = path.is_empty() && (stem == "lib" || stem == "main");
        if stem != "mod" && !root {
            path.push(stem);
        }
    }
    path
}

/// Every module path `text` names through `crate::` or `super::` (resolved against
/// `module`, the file's own path); a grouped `use` gives one path per member, its first
/// segment.
fn named_paths(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    let mut previous: Option<char> = None;
    while !rest.is_empty() {
        let boundary = previous.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        let mut base = if boundary && rest.starts_with("crate::") {
            rest = &rest["crate::".len()..];
            Vec::new()
        } else if boundary && rest.starts_with("super::") {
            let mut base = module.to_vec();
            while let Some(after) = rest.strip_prefix("super::") {
                base.pop();
                rest = after;
            }
            base
        } else {
            let mut chars = rest.chars();
            previous = chars.next();
            rest = chars.as_str();
            continue;
        };
        loop {
            if let Some(group) = rest.strip_prefix('{') {
                for member in top_level_members(group) {
                    let mut path = base.clone();
                    path.push(member);
                    paths.push(path);
                }
                break;
            }
            let segment = identifier(rest);
            if segment.is_empty() {
                paths.push(base);
                break;
            }
            base.push(segment.to_owned());
            rest = &rest[segment.len()..];
            match rest.strip_prefix("::") {
                Some(after) => rest = after,
                None => {
                    paths.push(base);
                    break;
                }
            }
        }
        previous = Some(' ');
    }
    paths
}

/// For every module of the crate at `src` (the root too), the imports between its child
/// modules: `x -> y` when something in child `x` names child `y` (outside tests).
fn module_graphs(src: &Path) -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let files = sources(src);
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    // Every module is a node of its parent's graph, whether or not it imports anything.
    for file in &files {
        let path = module_path(file);
        for depth in 0..path.len() {
            graphs
                .entry(path[..depth].to_vec())
                .or_default()
                .entry(path[depth].clone())
                .or_default();
        }
    }
    for file in &files {
        let from = module_path(file);
        let text = std::fs::read_to_string(src.join(file)).unwrap_or_default();
        for to in named_paths(without_tests(&text), &from) {
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common >= from.len() || common >= to.len() {
                continue; // an ancestor or a descendant: not a sibling
            }
            let Some(graph) = graphs.get_mut(&from[..common]) else {
                continue;
            };
            if !graph.contains_key(&to[common]) {
                continue; // an item of the parent, not a module
            }
            graph
                .entry(from[common].clone())
                .or_default()
                .insert(to[common].clone());
        }
    }
    graphs
}

/// One circle in `graph`, as the path of modules that closes it, if there is any.
fn a_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, done, path) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_crate_has_a_circle_between_its_modules_at_any_level() {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap_or_else(|e| panic!("cannot read crates/: {e}"))
        .flatten()
        .map(|e| e.path().join("src"))
        .collect();
    crates.push(root().join("xtask").join("src"));
    crates.sort();
    let mut circles = Vec::new();
    for src in crates.iter().filter(|s| s.is_dir()) {
        for (parent, mut graph) in module_graphs(src) {
            // thiserror's aggregator: `error` names every module's error in `#[from]` while
            // they return its `Error`. The one circle allowed.
            if let Some(edges) = graph.get_mut("error") {
                edges.clear();
            }
            if let Some(circle) = a_circle(&graph) {
                let name = src
                    .strip_prefix(root())
                    .unwrap_or(src)
                    .display()
                    .to_string();
                let inside = if parent.is_empty() {
                    String::new()
                } else {
                    format!(" (inside {})", parent.join("::"))
                };
                circles.push(format!("{name}{inside}: {}", circle.join(" -> ")));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "no crate's modules import each other in a circle (only `error`, thiserror's \
         aggregator, may name the modules that use it). Move what both sides need into a leaf \
         module they both import, or pass plain values instead of the other module's type:\n  {}",
        circles.join("\n  ")
    );
}

#[test]
fn the_circle_finder_finds_a_circle_and_only_then() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry((*a).to_owned())
                .or_default()
                .insert((*b).to_owned());
            g.entry((*b).to_owned()).or_default();
        }
        g
    };
    assert_eq!(
        a_circle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    assert_eq!(
        a_circle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let text = "use crate::x::Y;\nuse super::{a::B, c};\nfn f() { super::super::d::e(); }\n\
                #[cfg(test)]\nmod tests {\n    use crate::z::W;\n}\n";
    let here = ["m".to_owned(), "n".to_owned(), "o".to_owned()];
    let named = named_paths(without_tests(text), &here);
    let expected: Vec<Vec<String>> = [
        &["x", "Y"][..],
        &["m", "n", "a"],
        &["m", "n", "c"],
        &["m", "d", "e"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| (*s).to_owned()).collect())
    .collect();
    assert_eq!(named, expected);
    assert_eq!(module_path(Path::new("http/mod.rs")), ["http"]);
    assert_eq!(
        module_path(Path::new("http/attempt.rs")),
        ["http", "attempt"]
    );
    assert!(module_path(Path::new("lib.rs")).is_empty());
}

#[test]
fn the_import_reader_sees_grouped_and_nested_paths() {
    let text = "use crate::{error::Error, client::{A, B}, aml};\n\
                // use crate::client::Commented;\n\
                fn f() { super::KycClient::new(); crate::payment::x(); }";
    let modules = imported_crate_modules(text);
    assert_eq!(
        modules.into_iter().collect::<Vec<_>>(),
        ["KycClient", "aml", "client", "error", "payment"]
    );
}
