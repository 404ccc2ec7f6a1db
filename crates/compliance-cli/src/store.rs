//! `--store` (or `$COMPLIANCE_STORE`): which database the receivers' `compliance-store`
//! writes, as `compliance console` and `compliance inbox` name it. One parser for both.

use std::path::Path;

use crate::outcome::Failure;
use crate::secrets::shown_url;

/// Where a `--store` value points.
#[derive(Debug, PartialEq, Eq)]
pub enum Location<'a> {
    /// A SQLite file.
    Sqlite(&'a Path),
    /// A PostgreSQL connection URL.
    Postgres(&'a str),
}

/// `sqlite:PATH`, a path ending in `.db`, `.sqlite` or `.sqlite3`, or `postgres://...`.
pub fn parse(text: &str) -> Result<Location<'_>, Failure> {
    if let Some(path) = text.strip_prefix("sqlite:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(Failure::usage(
                "--store sqlite: names no file (sqlite:PATH)",
            ));
        }
        return Ok(Location::Sqlite(Path::new(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Ok(Location::Postgres(text));
    }
    if [".db", ".sqlite", ".sqlite3"]
        .iter()
        .any(|e| text.ends_with(e))
    {
        return Ok(Location::Sqlite(Path::new(text)));
    }
    Err(Failure::usage(format!(
        "--store `{}` is neither sqlite:PATH nor postgres://...",
        shown_url(text)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_named_by_scheme_or_extension() {
        assert_eq!(
            parse("sqlite:/tmp/a").unwrap(),
            Location::Sqlite(Path::new("/tmp/a"))
        );
        assert_eq!(
            parse("state.sqlite3").unwrap(),
            Location::Sqlite(Path::new("state.sqlite3"))
        );
        assert_eq!(
            parse("postgres://u:p@h/d").unwrap(),
            Location::Postgres("postgres://u:p@h/d")
        );
        let refused = parse("mysql://u:secretpw@h/d").err().unwrap();
        assert!(!refused.message.contains("secretpw"), "{}", refused.message);
        assert!(parse("sqlite:").is_err());
    }
}
