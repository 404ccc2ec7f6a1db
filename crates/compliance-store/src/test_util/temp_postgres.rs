//! A throwaway PostgreSQL server for tests: a fresh cluster in a temporary directory,
//! listening on a free loopback port, stopped and deleted afterwards.
//!
//! The server is watched by a small shell process (the *guardian*) whose standard input is a
//! pipe from the test process. When the test process lets go of it (on drop, or when the
//! process exits for any reason, a crash or a kill included) the pipe closes, and the
//! guardian stops the server and deletes the directory. So even the process-wide
//! [`shared`](TempPostgres::shared) server, which is never dropped, leaves nothing behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Where Debian and Ubuntu install the server binaries, one directory per major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// What the guardian runs: start the server, say whether it is ready, wait until its input
/// closes, then stop the server and delete the directory.
const GUARDIAN: &str = r#"
bin="$1"; dir="$2"; port="$3"
opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
if "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null 2>&1; then
    echo ready
    read -r _ || true
else
    echo failed
    cat "$dir/server.log" 2>/dev/null
fi
"$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$dir"
"#;

/// Why no server could be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TempPostgresError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "PostgreSQL is not installed: no initdb and pg_ctl on PATH or under \
         {DEBIAN_ROOT}/*/bin (Debian/Ubuntu: apt-get install postgresql)"
    )]
    NotInstalled,
    /// The binaries are there but the server did not come up; the message holds what it
    /// said.
    #[error("could not start a temporary PostgreSQL server: {0}")]
    Failed(String),
}

/// A PostgreSQL server of its own for a test run: a fresh cluster in a temporary
/// directory, listening on a free loopback port, stopped and deleted afterwards.
///
/// The server is watched by a small shell process (the *guardian*) whose standard input is a
/// pipe from the test process. When the test process lets go of it (on drop, or when the
/// process exits for any reason, a crash or a kill included) the pipe closes, and the
/// guardian stops the server and deletes the directory. So even the process-wide
/// [`shared`](TempPostgres::shared) server, which is never dropped, leaves nothing behind.
///
/// Authentication is `trust` for the `postgres` superuser on 127.0.0.1 only; durability is
/// switched off (`fsync=off`) because the data is thrown away.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use compliance_store::test_util::TempPostgres;
///
/// // `None` (after one line on stderr saying why) when PostgreSQL is not installed and the
/// // environment is not CI; under `CI=true` a missing installation panics instead.
/// let Some(pg) = TempPostgres::shared() else { return };
/// let url = pg.create_database().await.unwrap();
/// let store = compliance_store::PostgresStore::connect(&url).await.unwrap();
/// # let _ = store;
/// # }
/// ```
#[derive(Debug)]
pub struct TempPostgres {
    port: u16,
    dir: PathBuf,
    guardian: Mutex<Option<Child>>,
    databases: AtomicU64,
}

impl TempPostgres {
    /// Starts a new server (a few seconds: `initdb`, then start). When running as root it
    /// runs as the `postgres` user, because PostgreSQL refuses to run as root.
    pub fn start() -> Result<Self, TempPostgresError> {
        let bin = find_binaries().ok_or(TempPostgresError::NotInstalled)?;
        let owner = if is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let mut last = String::new();
        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..3 {
            let dir = new_dir(owner)?;
            let result = init_and_start(&bin, &dir, owner.is_some());
            match result {
                Ok((port, guardian)) => {
                    return Ok(Self {
                        port,
                        dir,
                        guardian: Mutex::new(Some(guardian)),
                        databases: AtomicU64::new(0),
                    });
                }
                Err(Started::PortTaken(log)) => last = log,
                Err(Started::Failed(message)) => {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(TempPostgresError::Failed(message));
                }
            }
        }
        Err(TempPostgresError::Failed(last))
    }

    /// One server for the whole test process, started on first use and cleaned up when the
    /// process exits.
    ///
    /// When PostgreSQL is not installed: under CI (`CI` set to anything but `false`/`0`)
    /// this panics; elsewhere it prints one line to stderr saying the PostgreSQL tests are
    /// skipped and how to install it, and returns `None`. A server that is installed but
    /// fails to start always panics.
    pub fn shared() -> Option<&'static TempPostgres> {
        static SHARED: OnceLock<Option<TempPostgres>> = OnceLock::new();
        SHARED
            .get_or_init(|| match TempPostgres::start() {
                Ok(pg) => Some(pg),
                Err(e @ TempPostgresError::NotInstalled) if !in_ci() => {
                    // Written past the test harness's output capture, so it is seen.
                    let _ = writeln!(
                        std::io::stderr(),
                        "\n*** SKIPPING the PostgreSQL tests: {e}. Under CI=true this fails. ***\n"
                    );
                    None
                }
                Err(e) => panic!("{e}"),
            })
            .as_ref()
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the database `name` on this server, as the `postgres` superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a new, empty database (`test_1`, `test_2`...) and returns its URL, so each
    /// test starts from nothing.
    pub async fn create_database(&self) -> Result<String, TempPostgresError> {
        let name = format!(
            "test_{}",
            self.databases.fetch_add(1, Ordering::Relaxed) + 1
        );
        let failed = |e: tokio_postgres::Error| TempPostgresError::Failed(format!("{e:?}"));
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .map_err(failed)?;
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(failed)?;
        drop(client);
        let _ = driver.await;
        Ok(self.url(&name))
    }

    /// The directory holding the cluster (deleted when the server stops).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let guardian = self
            .guardian
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut guardian) = guardian {
            // Closing its input tells the guardian to stop the server and clean up.
            drop(guardian.stdin.take());
            let _ = guardian.wait();
        }
    }
}

enum Started {
    PortTaken(String),
    Failed(String),
}

fn init_and_start(bin: &Path, dir: &Path, as_postgres: bool) -> Result<(u16, Child), Started> {
    let data = dir.join("data");
    let init = server_command(&bin.join("initdb"), as_postgres)
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
        .args(["--no-sync", "--no-instructions"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Started::Failed(format!("cannot run initdb: {e}")))?;
    if !init.status.success() {
        return Err(Started::Failed(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr).trim()
        )));
    }
    let port = free_port().map_err(|e| Started::Failed(format!("no free port: {e}")))?;
    let mut guardian = server_command(Path::new("sh"), as_postgres)
        .args(["-c", GUARDIAN, "sh"])
        .arg(bin)
        .arg(dir)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Started::Failed(format!("cannot run the server's guardian: {e}")))?;
    let stdout = guardian
        .stdout
        .take()
        .ok_or_else(|| Started::Failed("the server's guardian has no stdout".into()))?;
    let mut out = BufReader::new(stdout);
    let mut first = String::new();
    let _ = out.read_line(&mut first);
    if first.trim() == "ready" {
        return Ok((port, guardian));
    }
    let mut log = String::new();
    let _ = out.read_to_string(&mut log);
    drop(guardian.stdin.take());
    let _ = guardian.wait();
    if log.contains("could not bind") || log.contains("already in use") {
        Err(Started::PortTaken(log))
    } else {
        Err(Started::Failed(format!("the server did not start:\n{log}")))
    }
}

/// `program`, run as the `postgres` user when `as_postgres`.
fn server_command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// The directory holding `initdb` and `pg_ctl`: the one on `PATH`, else the newest under
/// `/usr/lib/postgresql/*/bin`.
fn find_binaries() -> Option<PathBuf> {
    find_binaries_in(std::env::var_os("PATH"), Path::new(DEBIAN_ROOT))
}

fn find_binaries_in(path: Option<std::ffi::OsString>, debian_root: &Path) -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = path {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian_root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // The effective uid is the third field of `Uid:` in /proc/self/status (Linux); `id -u`
    // elsewhere.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(2) == Some("0");
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The uid and gid of the `postgres` user.
fn postgres_user() -> Result<(u32, u32), TempPostgresError> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres") && fields.len() > 3)
                .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                .flatten()
        })
        .ok_or_else(|| {
            TempPostgresError::Failed(
                "running as root, but there is no `postgres` user to run the server as \
                 (PostgreSQL refuses to run as root; the Debian package creates the user)"
                    .to_string(),
            )
        })
}

/// A new directory under the system's temporary directory, owned by `owner` when given.
fn new_dir(owner: Option<(u32, u32)>) -> Result<PathBuf, TempPostgresError> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| TempPostgresError::Failed(e.to_string()))?;
    let dir = std::env::temp_dir().join(format!(
        "compliance-store-pg-{}-{:016x}",
        std::process::id(),
        u64::from_le_bytes(random)
    ));
    let failed = |e: std::io::Error| TempPostgresError::Failed(format!("{}: {e}", dir.display()));
    std::fs::create_dir(&dir).map_err(failed)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(failed)?;
    }
    Ok(dir)
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn in_ci() -> bool {
    is_ci_value(std::env::var("CI").ok().as_deref())
}

fn is_ci_value(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, names: &[&str]) {
        std::fs::create_dir_all(dir).unwrap();
        for name in names {
            std::fs::write(dir.join(name), "").unwrap();
        }
    }

    #[test]
    fn binaries_come_from_path_first_then_the_newest_debian_version() {
        let root = new_dir(None).unwrap();
        let debian = root.join("lib");
        touch(&debian.join("9/bin"), &["initdb", "pg_ctl"]);
        touch(&debian.join("15/bin"), &["initdb", "pg_ctl"]);
        touch(&debian.join("16/bin"), &["initdb"]);
        touch(&root.join("only-initdb"), &["initdb"]);
        touch(&root.join("both"), &["initdb", "pg_ctl"]);

        let path =
            |dirs: &[&str]| Some(std::env::join_paths(dirs.iter().map(|d| root.join(d))).unwrap());
        assert_eq!(
            find_binaries_in(path(&["only-initdb", "both"]), &debian),
            Some(root.join("both"))
        );
        assert_eq!(
            find_binaries_in(path(&["only-initdb"]), &debian),
            Some(debian.join("15/bin"))
        );
        assert_eq!(find_binaries_in(None, &root.join("missing")), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn ci_is_any_value_but_empty_false_or_zero() {
        for (value, ci) in [
            (None, false),
            (Some(""), false),
            (Some("false"), false),
            (Some("0"), false),
            (Some("true"), true),
            (Some("1"), true),
        ] {
            assert_eq!(is_ci_value(value), ci, "{value:?}");
        }
    }
}
