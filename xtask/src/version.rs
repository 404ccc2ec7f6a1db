//! Semantic versions, bump levels and Cargo version requirements.
//!
//! Only what the release tooling needs: `MAJOR.MINOR.PATCH` with an optional pre-release,
//! Cargo's compatibility rule (the left-most non-zero component must match) and a matcher for
//! the requirement syntax Cargo accepts (`^`, `~`, `=`, comparisons, `*` wildcards, commas).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A semantic version as Cargo uses it. Build metadata (`+...`) is dropped when parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Incremented for breaking changes once the crate is at 1.0 or later.
    pub major: u64,
    /// Incremented for breaking changes at 0.x, for additions at 1.x and later.
    pub minor: u64,
    /// Incremented for fixes (and for breaking changes at 0.0.x).
    pub patch: u64,
    /// Pre-release label without the leading `-`, empty for a normal release.
    pub pre: String,
}

impl Version {
    /// A release version without a pre-release label.
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
            pre: String::new(),
        }
    }

    /// Whether users of `self` can upgrade to `other` without a breaking change, by Cargo's
    /// rule: the left-most non-zero component must be equal (0.1.3 → 0.1.9 is compatible,
    /// 0.1.3 → 0.2.0 is not, and at 0.0.x every version stands alone).
    pub fn is_compatible_with(&self, other: &Version) -> bool {
        if self.major != other.major {
            false
        } else if self.major > 0 {
            true
        } else if self.minor != other.minor {
            false
        } else if self.minor > 0 {
            true
        } else {
            self.patch == other.patch
        }
    }

    /// The level at which a bump of this version breaks its users: major from 1.0 on, minor
    /// at 0.x, patch at 0.0.x.
    pub fn breaking_level(&self) -> Level {
        if self.major > 0 {
            Level::Major
        } else if self.minor > 0 {
            Level::Minor
        } else {
            Level::Patch
        }
    }

    /// The next version at `level`. Fails on pre-release versions, whose next step is a
    /// human decision (finish the pre-release or start another one).
    pub fn bumped(&self, level: Level) -> Result<Version, String> {
        if !self.pre.is_empty() {
            return Err(format!(
                "{self} is a pre-release; set the next version by hand in Cargo.toml"
            ));
        }
        Ok(match level {
            Level::Patch => Version::new(self.major, self.minor, self.patch + 1),
            Level::Minor => Version::new(self.major, self.minor + 1, 0),
            Level::Major => Version::new(self.major + 1, 0, 0),
        })
    }

    fn triple(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a version (expected MAJOR.MINOR.PATCH)");
        let without_build = text.split('+').next().unwrap_or_default();
        let (core, pre) = match without_build.split_once('-') {
            Some((core, pre)) if !pre.is_empty() => (core, pre.to_string()),
            Some(_) => return Err(bad()),
            None => (without_build, String::new()),
        };
        let mut parts = core.split('.');
        let mut next = || -> Result<u64, String> {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (major, minor, patch) = (next()?, next()?, next()?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.triple().cmp(&other.triple()).then_with(|| {
            // A pre-release sorts before its release; labels compare as text.
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// How far `release bump` moves a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `x.y.z` → `x.y.(z+1)`.
    Patch,
    /// `x.y.z` → `x.(y+1).0`.
    Minor,
    /// `x.y.z` → `(x+1).0.0`.
    Major,
}

impl FromStr for Level {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "patch" => Ok(Level::Patch),
            "minor" => Ok(Level::Minor),
            "major" => Ok(Level::Major),
            other => Err(format!(
                "`{other}` is not a bump level (use patch, minor or major)"
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        })
    }
}

/// Whether `version` satisfies the Cargo requirement `req` (for example `^0.1.0`, `0.1`,
/// `=1.2.3`, `>=0.2, <0.4`). `*` matches everything; callers that need a real requirement
/// check for it separately. Pre-release labels are ignored.
pub fn req_matches(req: &str, version: &Version) -> Result<bool, String> {
    let req = req.trim();
    if req.is_empty() {
        return Err("empty version requirement".to_string());
    }
    for comparator in req.split(',') {
        if !comparator_matches(comparator.trim(), version)
            .map_err(|e| format!("version requirement `{req}`: {e}"))?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

fn comparator_matches(comparator: &str, version: &Version) -> Result<bool, String> {
    let ops = [">=", "<=", ">", "<", "=", "^", "~"];
    let (op, rest) = ops
        .iter()
        .find_map(|op| comparator.strip_prefix(op).map(|rest| (*op, rest.trim())))
        .unwrap_or(("^", comparator));
    let rest = rest.split('+').next().unwrap_or_default();
    let rest = rest.split('-').next().unwrap_or_default();
    let mut parts = Vec::new();
    for part in rest.split('.') {
        match part {
            "*" | "x" | "X" => break,
            digits => parts.push(
                digits
                    .parse::<u64>()
                    .map_err(|_| format!("`{comparator}` is not a valid comparator"))?,
            ),
        }
    }
    if parts.len() > 3 {
        return Err(format!("`{comparator}` has more than three components"));
    }
    let v = version.triple();
    let part = |i: usize| parts.get(i).copied();
    let lower = (
        part(0).unwrap_or(0),
        part(1).unwrap_or(0),
        part(2).unwrap_or(0),
    );
    Ok(match (op, parts.len()) {
        (_, 0) => true,
        ("^", _) => {
            let upper = match (lower, parts.len()) {
                ((0, 0, p), 3) => (0, 0, p + 1),
                ((0, 0, _), 2) => (0, 1, 0),
                ((0, m, _), n) if n >= 2 => (0, m + 1, 0),
                ((major, _, _), _) => (major + 1, 0, 0),
            };
            v >= lower && v < upper
        }
        ("~", 1) | ("=", 1) => v.0 == lower.0,
        ("~", _) => v >= lower && v < (lower.0, lower.1 + 1, 0),
        ("=", 2) => (v.0, v.1) == (lower.0, lower.1),
        ("=", _) => v == lower,
        (">=", _) => v >= lower,
        ("<", _) => v < lower,
        (">", 1) => v.0 > lower.0,
        (">", 2) => (v.0, v.1) > (lower.0, lower.1),
        (">", _) => v > lower,
        ("<=", 1) => v.0 <= lower.0,
        ("<=", 2) => (v.0, v.1) <= (lower.0, lower.1),
        ("<=", _) => v <= lower,
        _ => unreachable!("operator list is closed"),
    })
}

/// The requirement to write after moving a dependency to `new`: the old requirement's operator
/// (`=`, `^`, `~`, `>=`, or none) followed by the full new version.
pub fn rewrite_req(old: &str, new: &Version) -> String {
    let old = old.trim();
    let op = [">=", "=", "^", "~"]
        .into_iter()
        .find(|op| old.starts_with(op))
        .unwrap_or("");
    format!("{op}{new}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_versions() {
        assert_eq!(v("1.2.3"), Version::new(1, 2, 3));
        assert_eq!(v("0.1.0-alpha.1+build.5").to_string(), "0.1.0-alpha.1");
        for bad in [
            "1.2", "1.2.3.4", "a.b.c", "1..3", "1.2.3-", "", "01x.2.3", "1.2.-3",
        ] {
            let err = bad.parse::<Version>().unwrap_err();
            assert!(err.contains("not a version"), "{bad}: {err}");
        }
    }

    #[test]
    fn orders_versions_with_pre_releases_first() {
        let mut versions = [
            v("0.10.0"),
            v("0.2.0"),
            v("1.0.0"),
            v("1.0.0-rc.1"),
            v("0.2.1"),
        ];
        versions.sort();
        let printed: Vec<String> = versions.iter().map(Version::to_string).collect();
        assert_eq!(printed, ["0.2.0", "0.2.1", "0.10.0", "1.0.0-rc.1", "1.0.0"]);
    }

    #[test]
    fn compatibility_follows_the_leftmost_nonzero_component() {
        assert!(v("0.1.0").is_compatible_with(&v("0.1.7")));
        assert!(!v("0.1.0").is_compatible_with(&v("0.2.0")));
        assert!(v("1.2.0").is_compatible_with(&v("1.9.3")));
        assert!(!v("1.2.0").is_compatible_with(&v("2.0.0")));
        assert!(!v("0.0.1").is_compatible_with(&v("0.0.2")));
        assert_eq!(v("0.0.4").breaking_level(), Level::Patch);
        assert_eq!(v("0.3.4").breaking_level(), Level::Minor);
        assert_eq!(v("2.3.4").breaking_level(), Level::Major);
    }

    #[test]
    fn bumps_reset_lower_components() {
        assert_eq!(v("0.1.9").bumped(Level::Patch).unwrap(), v("0.1.10"));
        assert_eq!(v("0.1.9").bumped(Level::Minor).unwrap(), v("0.2.0"));
        assert_eq!(v("0.1.9").bumped(Level::Major).unwrap(), v("1.0.0"));
        assert!(
            v("1.0.0-rc.1")
                .bumped(Level::Patch)
                .unwrap_err()
                .contains("pre-release")
        );
        assert_eq!("minor".parse::<Level>().unwrap(), Level::Minor);
        assert!(
            "huge"
                .parse::<Level>()
                .unwrap_err()
                .contains("patch, minor or major")
        );
    }

    #[test]
    fn requirements_match_like_cargo() {
        let cases = [
            ("^0.1.0", "0.1.5", true),
            ("^0.1.0", "0.2.0", false),
            ("0.1", "0.1.9", true),
            ("0.1.2", "0.1.1", false),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.9", true),
            ("^1.2", "1.9.0", true),
            ("^1.2", "2.0.0", false),
            ("1", "1.5.0", true),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("~1", "1.9.0", true),
            ("=0.1.0", "0.1.0", true),
            ("=0.1.0", "0.1.1", false),
            ("=0.1", "0.1.4", true),
            (">=0.2, <0.4", "0.3.1", true),
            (">=0.2, <0.4", "0.4.0", false),
            (">0.1", "0.1.9", false),
            (">0.1", "0.2.0", true),
            ("<=1", "1.9.9", true),
            ("0.1.*", "0.1.3", true),
            ("*", "7.0.0", true),
        ];
        for (req, version, expected) in cases {
            assert_eq!(
                req_matches(req, &v(version)).unwrap(),
                expected,
                "{req} vs {version}"
            );
        }
        assert!(
            req_matches("^zero", &v("0.1.0"))
                .unwrap_err()
                .contains("`^zero`")
        );
        assert!(req_matches(" ", &v("0.1.0")).is_err());
    }

    #[test]
    fn rewritten_requirements_keep_their_operator() {
        assert_eq!(rewrite_req("0.1.0", &v("0.2.0")), "0.2.0");
        assert_eq!(rewrite_req("=0.1.0", &v("0.1.1")), "=0.1.1");
        assert_eq!(rewrite_req("^0.1", &v("0.2.0")), "^0.2.0");
        assert_eq!(rewrite_req(">=0.1", &v("0.2.0")), ">=0.2.0");
    }
}
