//! `CHANGELOG.md` sections: `## [Unreleased]` on top, then one `## <version>` per release
//! (`## [0.2.0]` and `## 0.2.0 - 2025-01-31` are recognised too).

use crate::version::Version;

/// The body of the section for `version` (the lines between its heading and the next `## `
/// heading), or `None` when there is no such section.
pub fn section<'a>(text: &'a str, version: &Version) -> Option<&'a str> {
    let wanted = version.to_string();
    section_where(text, |title| {
        heading_version(title) == Some(wanted.as_str())
    })
}

/// Whether the section for `version` exists and says something (a heading alone is not
/// release notes).
pub fn has_notes(text: &str, version: &Version) -> bool {
    section(text, version).is_some_and(|body| !body.trim().is_empty())
}

/// Opens a section for `version`: the notes gathered under `## [Unreleased]` move into it and
/// the unreleased section is left empty above it. When there were no notes, `note` (if any) is
/// written as the only entry. A changelog that already has the section is returned unchanged
/// (`None`); a changelog without an unreleased section gets the new section before its first
/// release heading.
pub fn open_section(text: &str, version: &Version, note: Option<&str>) -> Option<String> {
    if section(text, version).is_some() {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let is_heading = |line: &str| line.starts_with("## ");
    let unreleased = lines.iter().position(|l| {
        l.strip_prefix("## ").is_some_and(|t| {
            t.trim().eq_ignore_ascii_case("[unreleased]")
                || t.trim().eq_ignore_ascii_case("unreleased")
        })
    });
    let (head, notes, tail): (&[&str], Vec<&str>, &[&str]) = match unreleased {
        Some(at) => {
            let end = lines[at + 1..]
                .iter()
                .position(|l| is_heading(l))
                .map_or(lines.len(), |n| at + 1 + n);
            (&lines[..=at], lines[at + 1..end].to_vec(), &lines[end..])
        }
        None => {
            let first = lines
                .iter()
                .position(|l| is_heading(l))
                .unwrap_or(lines.len());
            (&lines[..first], Vec::new(), &lines[first..])
        }
    };
    let notes = trim_blank(&notes);
    let mut out: Vec<String> = trim_blank(head).iter().map(|s| s.to_string()).collect();
    if unreleased.is_none() && out.is_empty() {
        out.push("# Changelog".to_string());
    }
    out.push(String::new());
    if unreleased.is_none() {
        out.push("## [Unreleased]".to_string());
        out.push(String::new());
    }
    out.push(format!("## {version}"));
    out.push(String::new());
    if !notes.is_empty() {
        out.extend(notes.iter().map(|s| s.to_string()));
        out.push(String::new());
    } else if let Some(note) = note {
        out.push(format!("- {note}"));
        out.push(String::new());
    }
    out.extend(tail.iter().map(|s| s.to_string()));
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    Some(out.join("\n") + "\n")
}

fn trim_blank<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let start = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(start, |i| i + 1);
    lines[start..end.max(start)].to_vec()
}

/// The version a `## ` heading names: `0.2.0`, `[0.2.0]`, `0.2.0 - 2025-01-31`,
/// `[0.2.0] - 2025-01-31`.
fn heading_version(title: &str) -> Option<&str> {
    let first = title.split_whitespace().next()?;
    let bare = first
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(first);
    let bare = bare.strip_prefix('v').unwrap_or(bare);
    (bare.parse::<Version>().is_ok()).then_some(bare)
}

fn section_where(text: &str, matches: impl Fn(&str) -> bool) -> Option<&str> {
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if let Some(title) = trimmed.strip_prefix("## ") {
            if let Some(from) = start {
                return Some(&text[from..offset]);
            }
            if matches(title.trim()) {
                start = Some(offset + line.len());
            }
        }
        offset += line.len();
    }
    start.map(|from| &text[from..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "# Changelog\n\n## [Unreleased]\n\n- Added `Client::retry`.\n- Fixed a typo.\n\n## 0.1.0\n\n- First release.\n";

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn finds_sections_in_the_usual_heading_styles() {
        assert_eq!(section(LOG, &v("0.1.0")), Some("\n- First release.\n"));
        assert!(has_notes(LOG, &v("0.1.0")));
        assert!(!has_notes(LOG, &v("0.2.0")));
        for heading in [
            "## [0.2.0]",
            "## 0.2.0 - 2025-01-31",
            "## [0.2.0] - 2025-01-31",
            "## v0.2.0",
        ] {
            let text = format!("# Changelog\n\n{heading}\n\n- Thing.\n\n## 0.1.0\n");
            assert_eq!(
                section(&text, &v("0.2.0")),
                Some("\n- Thing.\n\n"),
                "{heading}"
            );
        }
        // 0.1.0 must not match 0.1.01 or 0.1.0-rc.1 headings.
        assert!(section("## 0.1.0-rc.1\n- x\n", &v("0.1.0")).is_none());
        assert!(!has_notes("## 0.2.0\n\n## 0.1.0\n- x\n", &v("0.2.0")));
    }

    #[test]
    fn opening_a_section_moves_the_unreleased_notes() {
        let out = open_section(LOG, &v("0.2.0"), Some("ignored when there are notes")).unwrap();
        assert_eq!(
            out,
            "# Changelog\n\n## [Unreleased]\n\n## 0.2.0\n\n- Added `Client::retry`.\n- Fixed a typo.\n\n## 0.1.0\n\n- First release.\n"
        );
        assert!(has_notes(&out, &v("0.2.0")));
        assert_eq!(
            open_section(&out, &v("0.2.0"), None),
            None,
            "second run is a no-op"
        );
    }

    #[test]
    fn an_empty_unreleased_section_gets_the_note_or_stays_empty() {
        let log = "# Changelog\n\n## [Unreleased]\n\n## 0.1.0\n\n- First release.\n";
        let with_note = open_section(log, &v("0.1.1"), Some("Requires `core` 0.2.")).unwrap();
        assert_eq!(
            with_note,
            "# Changelog\n\n## [Unreleased]\n\n## 0.1.1\n\n- Requires `core` 0.2.\n\n## 0.1.0\n\n- First release.\n"
        );
        let without = open_section(log, &v("0.1.1"), None).unwrap();
        assert!(without.contains("## 0.1.1\n\n## 0.1.0"), "{without}");
        assert!(
            !has_notes(&without, &v("0.1.1")),
            "an empty section is not release notes"
        );
    }

    #[test]
    fn changelogs_without_an_unreleased_section_get_one() {
        let out = open_section(
            "# Changes\n\n## 0.1.0\n- First.\n",
            &v("0.2.0"),
            Some("Note."),
        )
        .unwrap();
        assert_eq!(
            out,
            "# Changes\n\n## [Unreleased]\n\n## 0.2.0\n\n- Note.\n\n## 0.1.0\n- First.\n"
        );
        let out = open_section("", &v("0.1.0"), None).unwrap();
        assert_eq!(out, "# Changelog\n\n## [Unreleased]\n\n## 0.1.0\n");
    }
}
