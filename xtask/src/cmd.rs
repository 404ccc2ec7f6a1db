//! Running `cargo`, `git` and other tools with errors that say which command failed.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

/// The `cargo` to run: the one that started us (`$CARGO`), else the one on `PATH`.
pub fn cargo(dir: &Path) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(dir);
    command
}

/// `git -C dir`.
pub fn git(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir);
    command
}

/// A command line for messages: program and arguments separated by spaces.
pub fn display(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or_else(|| OsStr::new("?"))
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(command.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` and returns its standard output; fails with its standard error when it
/// cannot start or exits unsuccessfully.
pub fn output(command: &mut Command) -> Result<String, String> {
    let shown = display(command);
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run `{shown}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{shown}` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("`{shown}` printed non-UTF-8 output"))
}

/// Runs `command` with its output going to ours (for long-running, chatty steps such as
/// `cargo package`); fails when it cannot start or exits unsuccessfully.
pub fn status(command: &mut Command) -> Result<(), String> {
    let shown = display(command);
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("could not run `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Whether `program args...` runs and exits successfully (used to detect optional tools).
pub fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_failing_commands_with_their_stderr() {
        let dir = std::env::temp_dir();
        let err = output(git(&dir).args(["no-such-subcommand"])).unwrap_err();
        assert!(err.starts_with("`git -C "), "{err}");
        assert!(err.contains("no-such-subcommand"), "{err}");
        let err = output(&mut Command::new("xtask-no-such-program")).unwrap_err();
        assert!(
            err.contains("could not run `xtask-no-such-program`"),
            "{err}"
        );
        assert!(!succeeds(&mut Command::new("xtask-no-such-program")));
        assert!(
            output(cargo(&dir).arg("--version"))
                .unwrap()
                .starts_with("cargo ")
        );
    }
}
