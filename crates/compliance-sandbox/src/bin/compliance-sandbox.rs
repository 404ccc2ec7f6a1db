//! `compliance-sandbox`: serve the simulated providers on chosen ports, for use from curl or
//! any language. Prints the base URLs and the (fake, seeded) credentials as JSON
//! ([`Sandbox::manifest`]), then serves until interrupted.
//!
//! Kept for users of this crate alone; `compliance sandbox` (crate `compliance-cli`) serves
//! the same sandbox, prints the same manifest with `--json`, and also stops on SIGTERM.
//!
//! ```text
//! compliance-sandbox [--seed N] [--host IP] [--heleket-port P] [--elkyc-port P] [--btcdirect-port P] [--tuum-port P] [--tuum-secret-header NAME]
//! ```
//!
//! `--tuum-secret-header NAME` makes every Tuum delivery carry `NAME: <secret>`, the secret
//! read from `TUUM_WEBHOOK_SECRET` (never from the command line, where `ps` shows it).

use std::net::IpAddr;
use std::process::ExitCode;

use compliance_sandbox::{Sandbox, SandboxConfig};

const USAGE: &str = "usage: compliance-sandbox [--seed N] [--host IP] [--heleket-port P] [--elkyc-port P] [--btcdirect-port P] [--tuum-port P] [--tuum-secret-header NAME]

Serves simulated Heleket, elKYC/Allpass, BTC Direct and Tuum on loopback (ports 0 = any free port), prints
their URLs and credentials as JSON, and runs until Ctrl-C.

--tuum-secret-header NAME  every Tuum delivery carries NAME: <secret>, the secret your receiver
                           checks, read from TUUM_WEBHOOK_SECRET";

/// Where `--tuum-secret-header` reads its value.
const TUUM_SECRET_ENV: &str = "TUUM_WEBHOOK_SECRET";

/// The options that take a value.
const OPTIONS: &[&str] = &[
    "--seed",
    "--host",
    "--heleket-port",
    "--elkyc-port",
    "--btcdirect-port",
    "--tuum-port",
    "--tuum-secret-header",
];

/// The configuration `args` ask for; `env` looks up environment variables.
fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<SandboxConfig, String> {
    let mut config = SandboxConfig::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        if !OPTIONS.contains(&flag.as_str()) {
            return Err(format!("unknown option `{flag}`"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let port = || {
            value
                .parse::<u16>()
                .map_err(|_| format!("{flag}: `{value}` is not a port"))
        };
        match flag.as_str() {
            "--seed" => {
                config.seed = value
                    .parse()
                    .map_err(|_| format!("--seed: `{value}` is not a number"))?
            }
            "--host" => {
                config.bind = value
                    .parse::<IpAddr>()
                    .map_err(|_| format!("--host: `{value}` is not an IP address"))?
            }
            "--heleket-port" => config.heleket_port = port()?,
            "--elkyc-port" => config.elkyc_port = port()?,
            "--btcdirect-port" => config.btcdirect_port = port()?,
            "--tuum-port" => config.tuum_port = port()?,
            "--tuum-secret-header" => {
                let secret = env(TUUM_SECRET_ENV)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        format!("--tuum-secret-header: set {TUUM_SECRET_ENV} to the secret to send")
                    })?;
                if secret.trim() != secret {
                    return Err(format!(
                        "{TUUM_SECRET_ENV} has surrounding whitespace: it would never match a \
                         receiver's secret"
                    ));
                }
                config.tuum = config.tuum.secret_header(value.clone(), secret);
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args, |name| std::env::var(name).ok()) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot start the sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&sandbox.manifest()).unwrap_or_default()
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    drop(sandbox);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn parse(args: &[String]) -> Result<SandboxConfig, String> {
        super::parse(args, |_| None)
    }

    /// Issue #25: the Tuum shared-secret header could not be set from the binary, so its
    /// deliveries to a receiver checking the recommended shared secret all got 401.
    #[test]
    fn the_tuum_secret_header_takes_its_value_from_the_environment() {
        let with = |value: &'static str| {
            move |name: &str| (name == "TUUM_WEBHOOK_SECRET").then(|| value.to_owned())
        };
        let a = args(&["--tuum-secret-header", "x-webhook-token"]);
        let config = super::parse(&a, with("s3cret")).unwrap();
        assert_eq!(
            config.tuum.auth_header,
            Some(("x-webhook-token".into(), "s3cret".into()))
        );
        let err = parse(&a).map(|_| ()).unwrap_err();
        assert!(err.contains("set TUUM_WEBHOOK_SECRET"), "{err}");
        let err = super::parse(&a, with("s3cret\n")).map(|_| ()).unwrap_err();
        assert!(
            err.contains("whitespace") && !err.contains("s3cret"),
            "{err}"
        );
        assert!(
            parse(&args(&["--seed", "1"]))
                .unwrap()
                .tuum
                .auth_header
                .is_none()
        );
    }

    /// Issue #25: an unknown flag without a value was reported as `--foo needs a value`.
    #[test]
    fn an_unknown_option_is_named_as_unknown() {
        for a in [&["--json"][..], &["--json", "1"], &["--seed", "1", "--foo"]] {
            let err = parse(&args(a)).map(|_| ()).unwrap_err();
            assert!(err.starts_with("unknown option `--"), "{a:?}: {err}");
        }
        assert_eq!(
            parse(&args(&["--seed"])).map(|_| ()).unwrap_err(),
            "--seed needs a value"
        );
        assert_eq!(parse(&args(&["--seed", "7"])).unwrap().seed, 7);
    }
}
