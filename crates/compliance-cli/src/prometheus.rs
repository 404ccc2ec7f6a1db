//! `--metrics ADDR`: the workspace's metrics served as Prometheus text.

use std::net::SocketAddr;

use crate::outcome::Failure;

/// Starts serving `http://addr/metrics` in the background, with the catalogue's units and
/// descriptions.
#[cfg(feature = "metrics")]
pub fn serve(addr: SocketAddr) -> Result<(), Failure> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    /// Seconds, from a fast loopback call to a provider's slowest answer.
    const SECONDS: &[f64] = &[
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    let failed = |e: metrics_exporter_prometheus::BuildError| {
        Failure::config(format!("cannot serve the metrics on {addr}: {e}"))
    };
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(SECONDS)
        .map_err(failed)?
        .set_buckets_for_metric(
            Matcher::Full(compliance_core::metrics::name::CLIENT_CALL_ATTEMPTS.into()),
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        )
        .map_err(failed)?
        .install()
        .map_err(failed)?;
    compliance_core::metrics::describe();
    Ok(())
}

/// Without the `metrics` feature there is nothing to serve: says how to get it.
#[cfg(not(feature = "metrics"))]
pub fn serve(addr: SocketAddr) -> Result<(), Failure> {
    Err(Failure::config(format!(
        "--metrics {addr}: this `compliance` was built without metrics; install it with \
         `--features metrics`"
    )))
}
