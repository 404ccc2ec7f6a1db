//! `state`, live against the in-process sandbox.

use compliance_sandbox::{AccountStatus, NewPayment, Provider, Sandbox, SandboxConfig};

use crate::common::{background, compliance};

struct Live {
    rt: tokio::runtime::Runtime,
    sandbox: Sandbox,
}

fn live() -> Live {
    let rt = background();
    let sandbox = rt
        .block_on(Sandbox::start(SandboxConfig::default().seed(7)))
        .unwrap();
    Live { rt, sandbox }
}

impl Live {
    fn url(&self, provider: Provider) -> String {
        self.sandbox.endpoint(provider).url()
    }

    fn heleket(&self, args: &[&str]) -> crate::common::Cli {
        let creds = self.sandbox.heleket().credentials();
        compliance(&["state", "heleket"])
            .env("HELEKET_MERCHANT", creds.merchant)
            .env("HELEKET_PAYMENT_KEY", creds.payment_key)
            .env("HELEKET_BASE_URL", self.url(Provider::Heleket))
            .args(args)
    }

    fn elkyc(&self, args: &[&str]) -> crate::common::Cli {
        let creds = self.sandbox.elkyc().credentials();
        compliance(&["state", "elkyc", "--base-url", &self.url(Provider::Elkyc)])
            .env("ELKYC_API_KEY", creds.api_key)
            .env("ELKYC_SECRET_KEY", creds.secret_key)
            .env("ELKYC_HMAC_KEY", creds.hmac_key)
            .args(args)
    }

    fn btcdirect(&self, args: &[&str]) -> crate::common::Cli {
        let creds = self.sandbox.btcdirect().credentials();
        compliance(&[
            "state",
            "btcdirect",
            "--base-url",
            &self.url(Provider::BtcDirect),
        ])
        .env("BTCDIRECT_USERNAME", creds.username)
        .env("BTCDIRECT_PASSWORD", creds.password)
        .args(args)
    }
}

impl crate::common::Cli {
    fn args(mut self, args: &[&str]) -> Self {
        for a in args {
            self = self.arg(*a);
        }
        self
    }
}

#[test]
fn a_locked_heleket_payment_needs_its_questionnaire() {
    let live = live();
    let h = live.sandbox.heleket();
    let uuid = h.create_payment(NewPayment::new("order-42", "25.00", "USDT"));
    live.rt.block_on(h.lock_payment(&uuid)).unwrap();

    let subject = format!("payment:{uuid}");
    let run = live.heleket(&[&subject]).run().expect(0);
    assert!(
        run.stdout.starts_with(&format!(
            "heleket payment {uuid}: action required (provider status: locked)"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("open link   https://aml.heleket.com/questionnaire/"),
        "{}",
        run.stdout
    );

    let json = live
        .heleket(&["payment:order-42", "--external", "--json"])
        .run()
        .expect(0)
        .json();
    assert_eq!(json["ok"], true);
    let state = &json["state"];
    assert_eq!(state["provider"], "heleket");
    assert_eq!(state["subject"]["kind"], "payment");
    assert_eq!(state["subject"]["reference"]["by"], "external_id");
    assert_eq!(state["status"]["status"], "action_required");
    assert_eq!(state["status"]["actions"][0]["status"], "init");
    assert_eq!(state["provider_status"], "locked");

    // Released once the questionnaire is done.
    live.rt
        .block_on(h.set_link_status(&uuid, 0, compliance_sandbox::LinkStatus::Completed))
        .unwrap();
    let json = live.heleket(&[&subject, "--json"]).run().expect(0).json();
    assert_eq!(json["state"]["status"]["status"], "clear");
}

#[test]
fn heleket_failures_have_their_exit_codes() {
    let live = live();
    // Unknown payment: a subject the provider does not know (2, issue #25).
    let json = live
        .heleket(&["payment:no-such-payment", "--json"])
        .run()
        .expect(2)
        .json();
    assert_eq!(json["error"]["kind"], "unknown_subject");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Payment not found"),
        "{json}"
    );
    // A wrong key: the credentials must be fixed (2).
    let run = live
        .heleket(&["payment:x"])
        .env("HELEKET_PAYMENT_KEY", "wrong-5ecret-key")
        .run()
        .expect(2);
    assert!(run.stderr.contains("signature"), "{}", run.stderr);
    // An order id Heleket cannot have issued: refused before any request (2).
    live.heleket(&["payment:bad order", "--external"])
        .run()
        .expect(2);
    // A subject Heleket does not know, a malformed subject (2).
    let run = live.heleket(&["applicant:a-1"]).run().expect(2);
    assert!(
        run.stderr
            .contains("heleket does not know applicant subjects (it answers for payment)"),
        "{}",
        run.stderr
    );
    live.heleket(&["payment"]).run().expect(2);
    // Nothing listening: a network error (3).
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    live.heleket(&["payment:x", "--base-url", &format!("http://{closed}")])
        .run()
        .expect(3);
    // No merchant: configuration (2).
    compliance(&["state", "heleket", "payment:x"])
        .env("HELEKET_PAYMENT_KEY", "some-5ecret-key")
        .run()
        .expect(2);
}

#[test]
fn elkyc_wallets_are_screened_with_a_risk() {
    let live = live();
    let json = live
        .elkyc(&[
            "wallet:BTC:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
            "--json",
        ])
        .run()
        .expect(0)
        .json();
    let state = &json["state"];
    assert_eq!(state["provider"], "elkyc");
    assert_eq!(state["subject"]["kind"], "wallet");
    assert!(state["risk"]["level"].is_string(), "{json}");
    let run = live
        .elkyc(&["wallet:BTC:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"])
        .run()
        .expect(0);
    assert!(run.stdout.contains("\n  risk        "), "{}", run.stdout);

    // Unknown applicant: a subject the provider does not know (2). No base URL, or no keys
    // for encrypted answers: configuration (2).
    live.elkyc(&["applicant:no-such-applicant"]).run().expect(2);
    compliance(&["state", "elkyc", "applicant:a"])
        .env("ELKYC_API_KEY", "some-5ecret-key")
        .run()
        .expect(2);
    let creds = live.sandbox.elkyc().credentials();
    let run = compliance(&[
        "state",
        "elkyc",
        "wallet:BTC:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        "--base-url",
        &live.url(Provider::Elkyc),
    ])
    .env("ELKYC_API_KEY", creds.api_key)
    .secret(creds.secret_key)
    .secret(creds.hmac_key)
    .run()
    .expect(2);
    assert!(run.stderr.contains("encrypted"), "{}", run.stderr);
}

#[test]
fn btcdirect_users_by_identifier() {
    let live = live();
    let creds = live.sandbox.btcdirect().credentials();
    let subject = format!("user:{}", creds.user_identifier);
    let json = live.btcdirect(&[&subject, "--json"]).run().expect(0).json();
    assert_eq!(json["state"]["provider"], "btcdirect");
    assert_eq!(json["state"]["subject"]["kind"], "user");

    live.sandbox
        .btcdirect()
        .set_account_status(&creds.user_identifier, AccountStatus::Blocked)
        .unwrap();
    let run = live.btcdirect(&[&subject]).run().expect(0);
    assert!(run.stdout.contains(": rejected"), "{}", run.stdout);

    // Refused partner credentials: configuration (2); none at all: configuration (2).
    live.btcdirect(&[&subject])
        .env("BTCDIRECT_PASSWORD", "wrong-5ecret-password")
        .run()
        .expect(2);
    compliance(&["state", "btcdirect", &subject])
        .run()
        .expect(2);
}

/// Issue #25: the README's exit 2 for a subject the provider does not know, without BTC
/// Direct's "the user must log in again" (ER700: user not found); the other first-use
/// messages of `state btcdirect`.
#[test]
fn btcdirect_first_use_messages() {
    let live = live();
    let json = live
        .btcdirect(&["user:no-such-user", "--json"])
        .run()
        .expect(2)
        .json();
    assert_eq!(json["error"]["kind"], "unknown_subject", "{json}");
    let message = json["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("btcdirect does not know user") && !message.contains("log in again"),
        "{message}"
    );

    // No username and no key: one sentence per way, and the password is not "missing".
    let run = compliance(&["state", "btcdirect", "user:u"])
        .run()
        .expect(2);
    assert!(
        run.stderr.contains("Either set $BTCDIRECT_USERNAME")
            && !run.stderr.contains("password is not configured"),
        "{}",
        run.stderr
    );

    // --help lists only the subject kinds BTC Direct has.
    let help = compliance(&["state", "btcdirect", "--help"])
        .run()
        .expect(0);
    assert!(help.stdout.contains("user:IDENTIFIER"), "{}", help.stdout);
    for other in ["payment:", "applicant:", "wallet:"] {
        assert!(!help.stdout.contains(other), "{other}: {}", help.stdout);
    }

    // Plain http to another host: what a CLI user can do, not a Rust setting.
    let run = compliance(&["state", "btcdirect", "user:u"])
        .env("BTCDIRECT_API_KEY", "some-5ecret-key")
        .env("BTCDIRECT_BASE_URL", "http://btcdirect.example")
        .run()
        .expect(2);
    assert!(
        run.stderr.contains("use https") && !run.stderr.contains("TransportConfig"),
        "{}",
        run.stderr
    );
}
