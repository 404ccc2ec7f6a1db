//! Reading the fixtures `cargo xtask fixtures record` writes (feature `test-util`).
//!
//! Each provider crate keeps recorded exchanges in `tests/fixtures/recorded/` (from the
//! sandbox) and, when someone recorded a live account, `tests/fixtures/recorded-live/`; each
//! directory has a `manifest.json` naming the exchanges and their body files. A crate's
//! snapshot test loads them with [`load`] and parses each answer with its public types, so a
//! provider's API change shows up as a typed snapshot diff.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// One recorded request/answer pair (or one webhook delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedExchange {
    /// Snapshot name: the manifest's name, prefixed `live__` for live recordings.
    pub name: String,
    /// `api` (we called the provider) or `webhook` (the provider called us).
    pub direction: String,
    /// The HTTP method.
    pub method: String,
    /// The path and query, as sent.
    pub endpoint: String,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The request headers as recorded (redacted, lowercase names; transport headers left
    /// out), e.g. to tell which credentials accompanied a call.
    pub request_headers: BTreeMap<String, String>,
    /// The request body as recorded (redacted), empty if none.
    pub request: Vec<u8>,
    /// The answer body as recorded (redacted), empty if none.
    pub response: Vec<u8>,
    /// The answer's `Content-Type`, if recorded.
    pub response_content_type: Option<String>,
}

impl RecordedExchange {
    /// The endpoint's path, without the query.
    pub fn path(&self) -> &str {
        self.endpoint
            .split_once('?')
            .map_or(self.endpoint.as_str(), |(p, _)| p)
    }

    /// The endpoint's query, without `?` (empty if none).
    pub fn query(&self) -> &str {
        self.endpoint.split_once('?').map_or("", |(_, q)| q)
    }

    /// `METHOD endpoint -> status`, the header line of a snapshot.
    pub fn describe(&self) -> String {
        format!("{} {} -> {}", self.method, self.endpoint, self.status)
    }
}

/// Every exchange a crate's snapshot test replays: [`load`] of `<manifest_dir>/tests/fixtures`
/// (pass `env!("CARGO_MANIFEST_DIR")`). Panics with the error, or, when nothing was
/// recorded, with the command that records `provider`'s fixtures: a snapshot test must not
/// pass on an empty set.
pub fn load_for_test(manifest_dir: &str, provider: &str) -> Vec<RecordedExchange> {
    let fixtures = Path::new(manifest_dir).join("tests/fixtures");
    let all = load(&fixtures).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !all.is_empty(),
        "no recorded fixtures: run `cargo xtask fixtures record --provider {provider}`"
    );
    all
}

/// Loads every exchange under `fixtures_dir` (`recorded/`, then `recorded-live/`), in
/// manifest order. A missing directory is skipped; a broken manifest or a missing body file
/// is an error naming the file.
pub fn load(fixtures_dir: &Path) -> Result<Vec<RecordedExchange>, String> {
    let mut out = Vec::new();
    for (sub, prefix) in [("recorded", ""), ("recorded-live", "live__")] {
        let dir = fixtures_dir.join(sub);
        let manifest_path = dir.join("manifest.json");
        let Ok(text) = std::fs::read_to_string(&manifest_path) else {
            continue;
        };
        let manifest: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        let entries = manifest["exchanges"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for entry in entries {
            let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
            let body = |side: &str| -> Result<Vec<u8>, String> {
                match entry[side]["file"].as_str() {
                    Some(file) => std::fs::read(dir.join(file))
                        .map_err(|e| format!("{}: {e}", dir.join(file).display())),
                    None => Ok(Vec::new()),
                }
            };
            out.push(RecordedExchange {
                name: format!("{prefix}{}", text("name")),
                direction: text("direction"),
                method: text("method"),
                endpoint: text("endpoint"),
                status: entry["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(200),
                request_headers: entry["request"]["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default(),
                request: body("request")?,
                response: body("response")?,
                response_content_type: entry["response"]["content_type"]
                    .as_str()
                    .map(str::to_owned),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_sets_in_order_with_live_prefix_and_names_broken_files() {
        let root = std::env::temp_dir().join(format!("recorded-{}", std::process::id()));
        let recorded = root.join("recorded");
        std::fs::create_dir_all(&recorded).unwrap();
        std::fs::write(recorded.join("a.response.json"), br#"{"ok":true}"#).unwrap();
        std::fs::write(
            recorded.join("manifest.json"),
            r#"{"exchanges":[{"name":"a","direction":"api","method":"GET","endpoint":"/x?type=W",
                "status":201,"request":{"headers":{"x-api-key":"redacted-1"}},
                "response":{"file":"a.response.json","content_type":"application/json"}}]}"#,
        )
        .unwrap();
        let live = root.join("recorded-live");
        std::fs::create_dir_all(&live).unwrap();
        std::fs::write(
            live.join("manifest.json"),
            r#"{"exchanges":[{"name":"b","method":"POST","endpoint":"/y"}]}"#,
        )
        .unwrap();

        let all = load(&root).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].path(), all[0].query(), all[0].status),
            ("/x", "type=W", 201)
        );
        assert_eq!(all[0].response, br#"{"ok":true}"#);
        assert_eq!(all[0].request_headers["x-api-key"], "redacted-1");
        assert!(all[1].request_headers.is_empty());
        assert_eq!(all[0].describe(), "GET /x?type=W -> 201");
        assert_eq!(all[1].name, "live__b");
        assert!(all[1].response.is_empty());

        std::fs::write(
            live.join("manifest.json"),
            r#"{"exchanges":[{"name":"c","response":{"file":"gone.json"}}]}"#,
        )
        .unwrap();
        assert!(load(&root).unwrap_err().contains("gone.json"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
