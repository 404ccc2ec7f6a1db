//! Argument parsing and errors shared by every `cargo xtask` command.
//!
//! Each command module (`release`, `fixtures`) exposes
//! `pub fn main(args: Args) -> Result<(), Error>` and is wired in `main.rs` by name.

use std::fmt;

/// Why a command stopped. The variant decides the exit code.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// The command line was wrong: exit code 2, and the usage text is printed.
    Usage(String),
    /// The command ran and found a problem (or could not run a tool): exit code 1.
    Failed(String),
}

impl Error {
    /// A failure with a message that says what went wrong and what to do about it.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) | Error::Failed(message) => f.write_str(message),
        }
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::Failed(message)
    }
}

/// The arguments after a command's name: positionals in order, and `--flags` taken out by
/// name. [`Args::finish`] rejects anything left over, so a typo in a flag
/// is an error instead of being ignored.
#[derive(Debug, Clone)]
pub struct Args {
    items: Vec<Option<String>>,
}

impl Args {
    /// Wraps raw arguments (without the program and command names).
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            items: args.into_iter().map(|a| Some(a.into())).collect(),
        }
    }

    /// Takes `--name` out of the arguments; true when it was given.
    pub fn flag(&mut self, name: &str) -> bool {
        let mut found = false;
        for item in &mut self.items {
            if item.as_deref() == Some(name) {
                *item = None;
                found = true;
            }
        }
        found
    }

    /// Takes `--name VALUE` (or `--name=VALUE`) out of the arguments; `None` when absent.
    /// Fails when the value is missing or the option is given twice.
    pub fn value(&mut self, name: &str) -> Result<Option<String>, Error> {
        let mut found: Option<String> = None;
        let prefix = format!("{name}=");
        let mut i = 0;
        while i < self.items.len() {
            let value = match self.items[i].as_deref() {
                Some(item) if item == name => {
                    self.items[i] = None;
                    match self.items.get_mut(i + 1).and_then(Option::take) {
                        Some(v) if is_positional(&v) => Some(v),
                        _ => return Err(Error::Usage(format!("{name} needs a value"))),
                    }
                }
                Some(item) if item.starts_with(&prefix) => {
                    let v = item[prefix.len()..].to_owned();
                    self.items[i] = None;
                    Some(v)
                }
                _ => None,
            };
            if let Some(v) = value {
                if v.is_empty() {
                    return Err(Error::Usage(format!("{name} needs a value")));
                }
                if found.is_some() {
                    return Err(Error::Usage(format!("{name} given twice")));
                }
                found = Some(v);
            }
            i += 1;
        }
        Ok(found)
    }

    /// Takes the next positional argument (the first remaining one not starting with `--`).
    pub fn positional(&mut self) -> Option<String> {
        let slot = self
            .items
            .iter_mut()
            .find(|item| item.as_deref().is_some_and(is_positional))?;
        slot.take()
    }

    /// Takes the next positional argument, failing with a usage error naming `what`.
    pub fn required(&mut self, what: &str) -> Result<String, Error> {
        self.positional()
            .ok_or_else(|| Error::Usage(format!("missing {what}")))
    }

    /// Fails on any argument nobody took.
    pub fn finish(self) -> Result<(), Error> {
        let left: Vec<String> = self.items.into_iter().flatten().collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(Error::Usage(format!(
                "unexpected argument(s): {}",
                left.join(" ")
            )))
        }
    }
}

fn is_positional(arg: &str) -> bool {
    !arg.starts_with("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_flags_and_positionals_in_any_order() {
        let mut args = Args::new(["--dry-run", "core", "--execute", "x", "--dry-run"]);
        assert!(args.flag("--dry-run"), "repeated flags are taken together");
        assert!(args.flag("--execute"));
        assert!(!args.flag("--skip-docs"));
        assert_eq!(args.required("crate").unwrap(), "core");
        assert_eq!(args.positional().as_deref(), Some("x"));
        assert_eq!(args.positional(), None);
        args.finish().unwrap();
    }

    #[test]
    fn takes_options_with_values() {
        let mut args = Args::new(["record", "--provider", "tuum", "--out=dir", "x"]);
        assert_eq!(args.value("--provider").unwrap().as_deref(), Some("tuum"));
        assert_eq!(args.value("--out").unwrap().as_deref(), Some("dir"));
        assert_eq!(args.value("--base-url").unwrap(), None);
        assert_eq!(args.positional().as_deref(), Some("record"));
        assert_eq!(args.positional().as_deref(), Some("x"));
        args.finish().unwrap();
        for bad in [
            &["--provider"][..],
            &["--provider", "--out"],
            &["--provider="],
            &["--provider", "a", "--provider=b"],
        ] {
            assert!(
                matches!(
                    Args::new(bad.iter().copied()).value("--provider"),
                    Err(Error::Usage(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_leftovers_and_missing_positionals() {
        let mut args = Args::new(["--skip-pakage"]);
        assert!(!args.flag("--skip-package"));
        assert_eq!(
            args.finish(),
            Err(Error::Usage(
                "unexpected argument(s): --skip-pakage".to_string()
            ))
        );
        assert_eq!(
            Args::new(Vec::<String>::new())
                .required("a crate name")
                .unwrap_err(),
            Error::Usage("missing a crate name".to_string())
        );
    }
}
