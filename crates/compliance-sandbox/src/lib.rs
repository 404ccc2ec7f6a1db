#![doc = include_str!("../README.md")]
// Library code reports failures as typed errors; a panic is never an answer (tests exempt).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
//!
//! # Layout
//!
//! One folder per simulator, each laid out the same way, so a reader finds the same thing
//! in the same file whichever provider it is:
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the settings (`*Config`), the credentials, the state, and the Rust control API (the public handle: [`Heleket`], [`Elkyc`], [`BtcDirect`], [`Tuum`]) |
//! | `api.rs` | the provider's own API, as documented (none for Tuum, which only sends) |
//! | `control.rs` | the `/sandbox/<provider>/...` routes: the control API over HTTP, `GET .../webhooks` listing the deliveries |
//! | `webhook.rs` | what the provider sends, recorded as [`Delivery`]s (none for BTC Direct, which sends nothing) |
//! | the provider's own concepts | `heleket/sign.rs`, `elkyc/crypto.rs`, `elkyc/report.rs`, `btcdirect/tokens.rs`, `btcdirect/questions.rs`, `btcdirect/user_info.rs`, `tuum/events.rs` |
//!
//! Shared by every simulator: [`delivery`] (the outbox, retry schedules, the one
//! [`Delivery`] shape), [`faults`], the seeded ids and the servers.

pub mod btcdirect;
pub mod delivery;
pub mod elkyc;
pub mod faults;
pub mod heleket;
mod ids;
mod server;
pub mod tuum;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;

pub use btcdirect::{
    AccountStatus, BtcDirect, BtcDirectConfig, BtcDirectCredentials, ExpiredUserToken,
    UserRefreshAuth,
};
pub use delivery::{Attempt, Delivery, InstantSleeper, RetrySchedule, Sleeper, TokioSleeper};
pub use elkyc::{
    ApplicantStatus, Elkyc, ElkycConfig, ElkycCredentials, ElkycCrypto, ElkycDelivery, ElkycFlow,
    ElkycWebhookSent, EncryptionMode, EventField, RequestEncryption, SandboxApplicant,
};
pub use faults::{Counters, Faults};
pub use heleket::{
    Heleket, HeleketConfig, HeleketCredentials, HeleketDelivery, HeleketKey, HeleketWebhookSent,
    LinkStatus, NewPayment,
};
pub use ids::uuid_from;
pub use tuum::{DeliveryOptions, Tuum, TuumConfig, TuumDelivery, TuumEvent, TuumEventSent};

use delivery::Outbox;
use faults::FaultLayer;
use ids::Ids;
use server::Served;

/// Which simulated provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// Heleket.
    Heleket,
    /// elKYC / Allpass.
    Elkyc,
    /// BTC Direct.
    BtcDirect,
    /// Tuum (delivers events; its port serves only control calls).
    Tuum,
}

/// How to start the sandbox.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SandboxConfig {
    /// Seed for every id, token, key and fault draw: the same seed gives the same run.
    pub seed: u64,
    /// Address to bind (default 127.0.0.1).
    pub bind: IpAddr,
    /// Heleket port (0: any free port).
    pub heleket_port: u16,
    /// elKYC port (0: any free port).
    pub elkyc_port: u16,
    /// BTC Direct port (0: any free port).
    pub btcdirect_port: u16,
    /// Tuum control port (0: any free port).
    pub tuum_port: u16,
    /// Heleket settings.
    pub heleket: HeleketConfig,
    /// elKYC settings.
    pub elkyc: ElkycConfig,
    /// BTC Direct settings.
    pub btcdirect: BtcDirectConfig,
    /// Tuum settings.
    pub tuum: TuumConfig,
    /// Waits between webhook retries (default: the real clock). Tests compress the clock
    /// with [`InstantSleeper`]: the providers' schedules are kept, the waiting skipped.
    pub sleeper: Arc<dyn Sleeper>,
    /// Faults of Heleket's API.
    pub heleket_faults: Faults,
    /// Faults of elKYC's API.
    pub elkyc_faults: Faults,
    /// Faults of BTC Direct's API.
    pub btcdirect_faults: Faults,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            heleket_port: 0,
            elkyc_port: 0,
            btcdirect_port: 0,
            tuum_port: 0,
            heleket: HeleketConfig::default(),
            elkyc: ElkycConfig::default(),
            btcdirect: BtcDirectConfig::default(),
            tuum: TuumConfig::default(),
            sleeper: Arc::new(TokioSleeper),
            heleket_faults: Faults::none(),
            elkyc_faults: Faults::none(),
            btcdirect_faults: Faults::none(),
        }
    }
}

impl SandboxConfig {
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets what waits between webhook retries.
    pub fn sleeper(mut self, sleeper: impl Sleeper + 'static) -> Self {
        self.sleeper = Arc::new(sleeper);
        self
    }
}

/// One simulated provider's server: its URL, what it received, and its fault knobs.
#[derive(Debug)]
pub struct Endpoint {
    served: Served,
    layer: Option<FaultLayer>,
}

impl Endpoint {
    /// Serves `provider`'s simulator on `addr`; a port that cannot be bound is named with the
    /// provider that wanted it.
    async fn start(
        provider: &str,
        addr: SocketAddr,
        api: Router,
        control: Router,
        layer: Option<FaultLayer>,
    ) -> std::io::Result<Self> {
        let api = match &layer {
            Some(layer) => api.layer(axum::middleware::from_fn_with_state(
                layer.clone(),
                faults::inject,
            )),
            None => api,
        };
        let served = Served::start(addr, api.merge(control)).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot listen on {addr} (port {}) for the {provider} simulator: {e}; \
                         choose another port, or 0 for any free one",
                    addr.port()
                ),
            )
        })?;
        Ok(Self { served, layer })
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.served.addr
    }

    /// Requests received by the provider API (control calls are not counted).
    pub fn counters(&self) -> Counters {
        self.layer
            .as_ref()
            .map(|l| l.counters.clone())
            .unwrap_or_default()
    }

    /// Replaces the fault knobs.
    pub fn set_faults(&self, faults: Faults) {
        if let Some(layer) = &self.layer {
            *layer.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
        }
    }
}

/// The running sandbox: every simulated provider on its own loopback port. Dropping it shuts
/// them down.
#[derive(Debug)]
pub struct Sandbox {
    seed: u64,
    outbox: Outbox,
    heleket: Heleket,
    heleket_endpoint: Endpoint,
    elkyc: Elkyc,
    elkyc_endpoint: Endpoint,
    btcdirect: BtcDirect,
    btcdirect_endpoint: Endpoint,
    tuum: Tuum,
    tuum_endpoint: Endpoint,
}

impl Sandbox {
    /// Starts every simulated provider. Call inside a Tokio runtime.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Self> {
        let ids = Ids::new(config.seed);
        let addr = |port| SocketAddr::new(config.bind, port);
        let outbox = Outbox::new(config.sleeper.clone());

        let heleket = Heleket::new(config.heleket.clone(), ids.clone(), outbox.clone());
        let layer = FaultLayer::new(config.heleket_faults.clone(), config.seed ^ 0x4e1e);
        let heleket_endpoint = Endpoint::start(
            "Heleket",
            addr(config.heleket_port),
            heleket.api(),
            heleket.control(),
            Some(layer),
        )
        .await?;

        let elkyc = Elkyc::new(config.elkyc.clone(), config.seed, outbox.clone());
        let layer = FaultLayer::new(config.elkyc_faults.clone(), config.seed ^ 0xe1c);
        let elkyc_endpoint = Endpoint::start(
            "elKYC",
            addr(config.elkyc_port),
            elkyc.api(),
            elkyc.control(),
            Some(layer),
        )
        .await?;

        let btcdirect = BtcDirect::new(config.btcdirect.clone(), ids.clone());
        let layer = FaultLayer::new(config.btcdirect_faults.clone(), config.seed ^ 0xb7c);
        let btcdirect_endpoint = Endpoint::start(
            "BTC Direct",
            addr(config.btcdirect_port),
            btcdirect.api(),
            btcdirect.control(),
            Some(layer),
        )
        .await?;

        let tuum = Tuum::new(config.tuum.clone(), outbox.clone());
        let tuum_endpoint = Endpoint::start(
            "Tuum",
            addr(config.tuum_port),
            Router::new(),
            tuum.control(),
            None,
        )
        .await?;

        Ok(Self {
            seed: config.seed,
            outbox,
            heleket,
            heleket_endpoint,
            elkyc,
            elkyc_endpoint,
            btcdirect,
            btcdirect_endpoint,
            tuum,
            tuum_endpoint,
        })
    }

    /// The simulated Heleket (credentials and control).
    pub fn heleket(&self) -> &Heleket {
        &self.heleket
    }

    /// The simulated elKYC / Allpass (credentials and control).
    pub fn elkyc(&self) -> &Elkyc {
        &self.elkyc
    }

    /// The simulated BTC Direct (credentials and control).
    pub fn btcdirect(&self) -> &BtcDirect {
        &self.btcdirect
    }

    /// The simulated Tuum (subscribe, send, replay).
    pub fn tuum(&self) -> &Tuum {
        &self.tuum
    }

    /// A provider's server.
    pub fn endpoint(&self, provider: Provider) -> &Endpoint {
        match provider {
            Provider::Heleket => &self.heleket_endpoint,
            Provider::Elkyc => &self.elkyc_endpoint,
            Provider::BtcDirect => &self.btcdirect_endpoint,
            Provider::Tuum => &self.tuum_endpoint,
        }
    }

    /// What a user of the running sandbox needs, as JSON: the seed, and for each provider its
    /// base URL, its credentials and its `/sandbox/...` control routes. The credentials are
    /// the sandbox's own fake, seeded ones, printed so that a client can be configured with
    /// them. This is what the `compliance-sandbox` binary and `compliance sandbox` print.
    pub fn manifest(&self) -> serde_json::Value {
        let h = self.heleket.credentials();
        let b = self.btcdirect.credentials();
        let e = self.elkyc.credentials();
        serde_json::json!({
            "seed": self.seed,
            "heleket": {
                "url": self.heleket_endpoint.url(),
                "merchant": h.merchant, "payment_key": h.payment_key, "payout_key": h.payout_key,
                "control": ["POST /sandbox/heleket/payments", "POST /sandbox/heleket/payments/{uuid}/status",
                            "POST /sandbox/heleket/payments/{uuid}/lock",
                            "POST /sandbox/heleket/payments/{uuid}/links",
                            "POST /sandbox/heleket/payments/{uuid}/links/{index}",
                            "GET /sandbox/heleket/webhooks"],
            },
            "elkyc": {
                "url": self.elkyc_endpoint.url(),
                "api_key": e.api_key, "encryption": e.encryption, "crypto": e.crypto,
                "requests": e.requests,
                "secret_key": e.secret_key, "hmac_key": e.hmac_key,
                "flows": e.flows.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
                "control": ["GET /sandbox/elkyc/credentials", "PUT /sandbox/elkyc/encryption",
                            "PUT /sandbox/elkyc/webhook-url", "GET /sandbox/elkyc/applicants",
                            "POST /sandbox/elkyc/applicants/{id}/status",
                            "GET /sandbox/elkyc/webhooks"],
            },
            "btcdirect": {
                "url": self.btcdirect_endpoint.url(),
                "username": b.username, "password": b.password, "api_key": b.api_key,
                "user_email": b.user_email, "user_password": b.user_password, "user_identifier": b.user_identifier,
                "control": ["POST /sandbox/btcdirect/tokens/expire",
                            "POST /sandbox/btcdirect/users/{identifier}/account-status"],
            },
            "tuum": {
                "control_url": self.tuum_endpoint.url(),
                "secret_header": self.tuum.config().auth_header.as_ref().map(|(name, _)| name),
                "control": ["POST /sandbox/tuum/subscriptions", "POST /sandbox/tuum/events",
                            "POST /sandbox/tuum/events/{id}/replay", "GET /sandbox/tuum/webhooks"],
            },
        })
    }
}

impl Drop for Sandbox {
    /// Stops the webhook retries still scheduled (the servers stop with their endpoints).
    fn drop(&mut self) {
        self.outbox.abort();
    }
}
