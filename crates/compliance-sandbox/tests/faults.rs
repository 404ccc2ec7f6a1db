//! Seeded fault knobs: 5xx, 429 with Retry-After, truncated bodies, dropped connections.

use compliance_core::Error;
use compliance_core::http::{Request, RetryPolicy, Transport, TransportConfig};
use compliance_sandbox::{Faults, Provider, Sandbox, SandboxConfig};

async fn call(sandbox: &Sandbox) -> Result<u16, Error> {
    let t = Transport::builder(sandbox.endpoint(Provider::BtcDirect).url())
        .config(TransportConfig::default().retry(RetryPolicy::none()))
        .build()
        .unwrap();
    let key = sandbox.btcdirect().credentials().api_key;
    let r = t
        .send(Request::get("/api/v1/user/info").header(
            compliance_core::http::HeaderName::from_static("x-api-key"),
            compliance_core::http::HeaderValue::from_str(&key).unwrap(),
        ))
        .await?;
    Ok(r.status().as_u16())
}

#[tokio::test]
async fn each_fault_reaches_the_client_as_the_real_failure_would() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let endpoint = sandbox.endpoint(Provider::BtcDirect);

    endpoint.set_faults(Faults::none().server_errors(1.0));
    assert_eq!(call(&sandbox).await.unwrap(), 503);

    endpoint.set_faults(Faults::none().rate_limits(1.0, 3));
    let t = Transport::builder(endpoint.url()).build().unwrap();
    let r = t.send(Request::post("/api/v1/authenticate")).await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.retry_after(), Some(std::time::Duration::from_secs(3)));

    endpoint.set_faults(Faults::none().truncated_bodies(1.0));
    assert!(matches!(call(&sandbox).await, Err(Error::Transport(_))));

    endpoint.set_faults(Faults::none().dropped_connections(1.0));
    assert!(matches!(call(&sandbox).await, Err(Error::Transport(_))));

    endpoint.set_faults(Faults::none());
    assert_eq!(call(&sandbox).await.unwrap(), 401, "no user context: ER700");
    assert_eq!(endpoint.counters().count("GET", "/api/v1/user/info"), 4);
    assert_eq!(endpoint.counters().count("POST", "/api/v1/authenticate"), 1);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sandbox = Sandbox::start(SandboxConfig::default().seed(9))
            .await
            .unwrap();
        sandbox
            .endpoint(Provider::BtcDirect)
            .set_faults(Faults::none().server_errors(0.5));
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(call(&sandbox).await.unwrap());
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&503) && runs[0].contains(&401),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn credentials_do_not_print_their_secrets() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let h = sandbox.heleket().credentials();
    let b = sandbox.btcdirect().credentials();
    let e = sandbox.elkyc().credentials();
    let shown = format!("{h:?} {b:?} {e:?}");
    for secret in [
        &h.payment_key,
        &h.payout_key,
        &b.password,
        &b.api_key,
        &b.user_password,
        &e.api_key,
        &e.secret_key,
        &e.hmac_key,
    ] {
        assert!(
            !shown.contains(secret.as_str()),
            "a secret is printed: {shown}"
        );
    }
    assert!(shown.contains(&h.merchant));
}

/// Issue #25: a port already in use said only "address in use"; it names the port and the
/// simulator that wanted it.
#[tokio::test]
async fn a_port_in_use_is_named_with_its_provider() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut config = SandboxConfig::default();
    config.elkyc_port = port;
    let err = Sandbox::start(config).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("port {port}")) && text.contains("elKYC"),
        "{text}"
    );
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}
