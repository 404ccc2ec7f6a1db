//! `compliance-sandbox`: serve the simulated providers on chosen ports, for use from curl or
//! any language. Prints the base URLs and the (fake, seeded) credentials as JSON, then serves
//! until interrupted.
//!
//! ```text
//! compliance-sandbox [--seed N] [--host IP] [--heleket-port P] [--elkyc-port P] [--btcdirect-port P] [--tuum-port P]
//! ```

use std::net::IpAddr;
use std::process::ExitCode;

use compliance_sandbox::{Provider, Sandbox, SandboxConfig};
use serde_json::json;

const USAGE: &str = "usage: compliance-sandbox [--seed N] [--host IP] [--heleket-port P] [--elkyc-port P] [--btcdirect-port P] [--tuum-port P]

Serves simulated Heleket, elKYC/Allpass, BTC Direct and Tuum on loopback (ports 0 = any free port), prints
their URLs and credentials as JSON, and runs until Ctrl-C.";

fn parse(args: &[String]) -> Result<SandboxConfig, String> {
    let mut config = SandboxConfig::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
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
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
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
    let seed = config.seed;
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot start the sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    let h = sandbox.heleket().credentials();
    let b = sandbox.btcdirect().credentials();
    let e = sandbox.elkyc().credentials();
    let info = json!({
        "seed": seed,
        "heleket": {
            "url": sandbox.endpoint(Provider::Heleket).url(),
            "merchant": h.merchant, "payment_key": h.payment_key, "payout_key": h.payout_key,
            "control": ["POST /sandbox/heleket/payments", "POST /sandbox/heleket/payments/{uuid}/lock",
                        "POST /sandbox/heleket/payments/{uuid}/links",
                        "POST /sandbox/heleket/payments/{uuid}/links/{index}",
                        "GET /sandbox/heleket/webhooks"],
        },
        "elkyc": {
            "url": sandbox.endpoint(Provider::Elkyc).url(),
            "api_key": e.api_key, "encryption": e.encryption, "crypto": e.crypto,
            "requests": e.requests,
            "secret_key": e.secret_key, "hmac_key": e.hmac_key,
            "flows": e.flows.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
            "control": ["GET /sandbox/elkyc/credentials", "PUT /sandbox/elkyc/encryption",
                        "PUT /sandbox/elkyc/webhook-url", "POST /sandbox/elkyc/applicants/{id}/status"],
        },
        "btcdirect": {
            "url": sandbox.endpoint(Provider::BtcDirect).url(),
            "username": b.username, "password": b.password, "api_key": b.api_key,
            "user_email": b.user_email, "user_password": b.user_password, "user_identifier": b.user_identifier,
            "control": ["POST /sandbox/btcdirect/tokens/expire",
                        "POST /sandbox/btcdirect/users/{identifier}/account-status"],
        },
        "tuum": {
            "control_url": sandbox.endpoint(Provider::Tuum).url(),
            "control": ["POST /sandbox/tuum/subscriptions", "POST /sandbox/tuum/events",
                        "POST /sandbox/tuum/events/{id}/replay"],
        },
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&info).unwrap_or_default()
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    drop(sandbox);
    ExitCode::SUCCESS
}
