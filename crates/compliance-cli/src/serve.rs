//! `sandbox`: the simulated providers on loopback ports until Ctrl-C or SIGTERM. The
//! manifest printed first (URLs, the sandbox's own fake credentials, control routes) is
//! `compliance_sandbox::Sandbox::manifest`, the same the `compliance-sandbox` binary prints.

use compliance_core::ExposeSecret as _;
use compliance_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Map, Value};

use crate::cli::SandboxArgs;
use crate::outcome::{Failure, Outcome, Output};
use crate::secrets::TUUM_SANDBOX_SECRET;

/// Serves until interrupted. The manifest is printed as soon as every port is bound.
pub async fn run(args: &SandboxArgs, out: &Output) -> Result<Outcome, Failure> {
    let mut config = SandboxConfig::default().seed(args.seed);
    config.bind = args.host;
    config.heleket_port = args.heleket_port;
    config.elkyc_port = args.elkyc_port;
    config.btcdirect_port = args.btcdirect_port;
    config.tuum_port = args.tuum_port;
    let secret = TUUM_SANDBOX_SECRET.load(args.tuum_secret_file.as_deref(), out)?;
    match (&args.tuum_secret_header, secret) {
        (Some(name), Some(secret)) => {
            config.tuum = config
                .tuum
                .secret_header(name.clone(), secret.expose_secret());
        }
        (Some(_), None) => return Err(Failure::config(TUUM_SANDBOX_SECRET.missing())),
        (None, Some(_)) => out.note(
            "a Tuum webhook secret is configured but no --tuum-secret-header names its header: \
             Tuum deliveries carry none",
        ),
        (None, None) => {}
    }
    if let Some(addr) = args.metrics {
        crate::prometheus::serve(addr)?;
        out.note(format!(
            "metrics as Prometheus text at http://{addr}/metrics"
        ));
    }
    let sandbox = Sandbox::start(config)
        .await
        .map_err(|e| Failure::config(format!("cannot start the sandbox on {}: {e}", args.host)))?;
    // Listen before telling anyone the sandbox is up: a signal sent right after the manifest
    // then stops it cleanly.
    let stop =
        Stop::listen().map_err(|e| Failure::config(format!("cannot listen for signals: {e}")))?;
    let manifest = sandbox.manifest();
    let text = render(&manifest);
    out.print(&Outcome::ok(manifest, text));
    stop.wait().await;
    out.note("stopping the sandbox");
    drop(sandbox);
    Ok(Outcome::silent())
}

/// Ctrl-C, or SIGTERM on Unix (how service managers and containers stop a process).
struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Stop {
    #[cfg(unix)]
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn listen() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The manifest as a readable list, provider by provider.
fn render(manifest: &Value) -> String {
    let mut text = format!(
        "compliance sandbox (seed {}) serving until Ctrl-C; the credentials are the sandbox's own, fake and seeded\n",
        manifest["seed"]
    );
    let empty = Map::new();
    for provider in ["heleket", "elkyc", "btcdirect", "tuum"] {
        let fields = manifest[provider].as_object().unwrap_or(&empty);
        let url = fields
            .get("url")
            .or_else(|| fields.get("control_url"))
            .and_then(Value::as_str)
            .unwrap_or("-");
        text.push_str(&format!("\n{provider:<10} {url}\n"));
        for (name, value) in fields {
            if value.is_null() || matches!(name.as_str(), "url" | "control_url" | "control") {
                continue;
            }
            let shown = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            text.push_str(&format!("  {name:<16} {shown}\n"));
        }
        for route in fields
            .get("control")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            text.push_str(&format!(
                "  control          {}\n",
                route.as_str().unwrap_or("")
            ));
        }
    }
    text
}
