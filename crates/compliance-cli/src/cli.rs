//! The command line, as clap reads it. Every secret is named here in `--help` (environment
//! variable, `*_FILE` variable or `--...-file` option), and none is an option value.

#[cfg(feature = "sandbox")]
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
// The readings of what elKYC leaves unconfirmed are the client's own types (its `clap`
// feature derives `ValueEnum`): one name per concept, from the library to the command line.
use kyc_public_api::encryption::{
    GcmNonceLength, HmacKeyBytes, MacHash, MacInput, NoncePlacement, SignatureEncoding,
};

const EXIT_CODES: &str = "\
Exit codes:
  0  done: verified, parsed, delivered, answered
  1  verification failed or refused: signature mismatch, envelope that does not open, event
     that does not parse, receiver that answered non-2xx
  2  usage or configuration error: bad arguments, missing or malformed key, credentials the
     provider refused
  3  provider or network error: the provider answered with an error, or nothing answered

Secrets are read from environment variables or files only, never from the command line:
for each NAME, `--...-file PATH`, then the file named by $NAME_FILE, then $NAME. They are
never printed, not even with --verbose. `compliance <command> --help` names them.";

/// The command line for people who operate compliance integrations (Heleket, elKYC /
/// Allpass, BTC Direct, Tuum).
#[derive(Debug, Parser)]
#[command(name = "compliance", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Print one JSON document on stdout (errors too) instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Say on stderr where inputs and keys come from (never the keys) and what is sent.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Heleket: sign a request body or a webhook, verify a webhook.
    #[command(subcommand)]
    Heleket(HeleketCommand),
    /// elKYC / Allpass: open or seal an envelope with the application's keys.
    #[command(subcommand)]
    Elkyc(ElkycCommand),
    /// Tuum: parse an AML event and print it typed.
    #[command(subcommand)]
    Tuum(TuumCommand),
    /// The provider-neutral AML state of a payment, applicant, user, wallet or transaction,
    /// asked live.
    #[command(subcommand, after_help = SUBJECTS)]
    State(StateCommand),
    /// Serve the simulated Heleket, elKYC, BTC Direct and Tuum on loopback ports until
    /// Ctrl-C (or SIGTERM).
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
    /// Send a correctly signed or encrypted sample webhook to your endpoint and print the
    /// answer.
    #[cfg(feature = "sandbox")]
    #[command(subcommand)]
    Trigger(TriggerCommand),
    /// Serve the operator's web page over a store: every subject's AML state across
    /// providers, and the deliveries the receivers took in (loopback only unless a token is
    /// configured).
    #[cfg(feature = "console")]
    Console(ConsoleArgs),
    /// The durable webhook queues in a store: list, show, replay and purge deliveries.
    #[cfg(feature = "store")]
    Inbox(crate::inbox::InboxArgs),
}

// ---------------------------------------------------------------------------------------
// heleket

const HELEKET_KEYS: &str = "\
Keys (environment or file, never on the command line):
  HELEKET_PAYMENT_KEY   or HELEKET_PAYMENT_KEY_FILE, or --payment-key-file PATH
  HELEKET_PAYOUT_KEY    or HELEKET_PAYOUT_KEY_FILE,  or --payout-key-file PATH";

/// Heleket commands.
#[derive(Debug, Subcommand)]
pub enum HeleketCommand {
    /// Sign a body: the `sign` header of a request (md5(base64(body) + key), over the exact
    /// bytes), or with --webhook the body with its `sign` member appended.
    #[command(after_help = HELEKET_KEYS)]
    Sign(HeleketSignArgs),
    /// Verify a webhook body byte for byte and print the verdict; on a mismatch, the likely
    /// cause (body re-serialised, wrong key).
    #[command(after_help = HELEKET_KEYS)]
    Verify(HeleketVerifyArgs),
}

/// Where Heleket's keys are, besides the environment.
#[derive(Debug, Args)]
pub struct HeleketKeyFiles {
    /// A file holding the payment key (instead of $HELEKET_PAYMENT_KEY).
    #[arg(long, value_name = "PATH")]
    pub payment_key_file: Option<PathBuf>,
    /// A file holding the payout key (instead of $HELEKET_PAYOUT_KEY).
    #[arg(long, value_name = "PATH")]
    pub payout_key_file: Option<PathBuf>,
}

/// Which of Heleket's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HeleketKeyArg {
    /// The payment key (payments, AML links, payment and wallet webhooks).
    Payment,
    /// The payout key (payouts, payout webhooks).
    Payout,
}

/// `heleket sign`.
#[derive(Debug, Args)]
pub struct HeleketSignArgs {
    /// The body (a file, or `-` / nothing for stdin).
    pub input: Option<PathBuf>,
    /// Sign a webhook instead: append `"sign"` to the JSON object (which must not have one).
    #[arg(long)]
    pub webhook: bool,
    /// The key to sign with. Default: the payment key for a request; for a webhook, the key
    /// of its `type` (payout for `payout`).
    #[arg(long, value_enum)]
    pub key: Option<HeleketKeyArg>,
    /// Where the keys are.
    #[command(flatten)]
    pub keys: HeleketKeyFiles,
}

/// `heleket verify`.
#[derive(Debug, Args)]
pub struct HeleketVerifyArgs {
    /// The webhook body exactly as received (a file, or `-` / nothing for stdin).
    pub input: Option<PathBuf>,
    /// Where the keys are. The payment key is required; the payout key verifies payout
    /// webhooks and tells a swapped key apart.
    #[command(flatten)]
    pub keys: HeleketKeyFiles,
}

// ---------------------------------------------------------------------------------------
// elkyc

const ELKYC_KEYS: &str = "\
Keys (environment or file, never on the command line):
  ELKYC_SECRET_KEY   or ELKYC_SECRET_KEY_FILE, or --secret-key-file PATH   (hex, 32 bytes)
  ELKYC_HMAC_KEY     or ELKYC_HMAC_KEY_FILE,   or --hmac-key-file PATH     (AES-256-CBC only)";

/// elKYC commands.
#[derive(Debug, Subcommand)]
pub enum ElkycCommand {
    /// Open an envelope (a response or webhook body, or a bare hex `data`): verify its
    /// signature and print the decrypted `data`.
    #[command(after_help = ELKYC_KEYS)]
    Decrypt(ElkycDecryptArgs),
    /// Seal JSON into an envelope as the provider sends it: prints the
    /// `x-allpass-signature` header and the body.
    #[command(after_help = ELKYC_KEYS)]
    Encrypt(ElkycEncryptArgs),
}

/// The application's encryption method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// AES-256-CBC, HMAC in `x-allpass-signature`.
    Cbc,
    /// AES-256-GCM, tag in `x-allpass-signature`.
    Gcm,
}

/// The application's encryption: method, key files and the readings of what the provider
/// leaves unconfirmed (defaults: the provider notes' reading).
#[derive(Debug, Args)]
pub struct ElkycCryptoArgs {
    /// The application's encryption method.
    #[arg(long, value_enum, default_value = "cbc")]
    pub method: Method,
    /// A file holding the secret key (instead of $ELKYC_SECRET_KEY).
    #[arg(long, value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    /// A file holding the HMAC key (instead of $ELKYC_HMAC_KEY).
    #[arg(long, value_name = "PATH")]
    pub hmac_key_file: Option<PathBuf>,
    /// CBC: the HMAC's hash (unconfirmed).
    #[arg(long, value_enum, default_value = "sha256")]
    pub mac: MacHash,
    /// CBC: what the HMAC covers (unconfirmed).
    #[arg(long, value_enum, default_value = "data-string")]
    pub mac_input: MacInput,
    /// CBC: how the HMAC key text becomes bytes (unconfirmed).
    #[arg(long, value_enum, default_value = "hex")]
    pub hmac_key: HmacKeyBytes,
    /// How `x-allpass-signature` is encoded (unconfirmed).
    #[arg(long, value_enum, default_value = "hex")]
    pub signature_encoding: SignatureEncoding,
    /// GCM: the nonce's length in bytes (unconfirmed).
    #[arg(long, value_enum, default_value = "12")]
    pub gcm_nonce: GcmNonceLength,
    /// GCM: where the nonce sits in `data` (unconfirmed).
    #[arg(long, value_enum, default_value = "prefix")]
    pub nonce_placement: NoncePlacement,
}

/// `elkyc decrypt`.
#[derive(Debug, Args)]
pub struct ElkycDecryptArgs {
    /// The envelope, or the bare hex `data` (a file, or `-` / nothing for stdin).
    pub input: Option<PathBuf>,
    /// The `x-allpass-signature` header value that came with it.
    #[arg(long, value_name = "VALUE")]
    pub signature: String,
    /// Check it as a webhook receiver does: also the envelope's `time` (within --tolerance
    /// of now) and the applicant event in `data`.
    #[arg(long)]
    pub webhook: bool,
    /// With --webhook: how far `time` may be from now (the receiver's default: wider than
    /// elKYC's 8.5-hour retry schedule).
    #[arg(long, value_parser = parse_duration, default_value = "12h", value_name = "DURATION")]
    pub tolerance: Duration,
    /// The application's encryption.
    #[command(flatten)]
    pub crypto: ElkycCryptoArgs,
}

/// `elkyc encrypt`.
#[derive(Debug, Args)]
pub struct ElkycEncryptArgs {
    /// The JSON to put in `data` (a file, or `-` / nothing for stdin).
    pub input: Option<PathBuf>,
    /// The envelope's `time` (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// The application's encryption.
    #[command(flatten)]
    pub crypto: ElkycCryptoArgs,
}

// ---------------------------------------------------------------------------------------
// tuum

/// Tuum commands.
#[derive(Debug, Subcommand)]
pub enum TuumCommand {
    /// Parse an AML event as delivered and print it typed; on failure, the JSON path that
    /// failed.
    Parse(TuumParseArgs),
}

/// `tuum parse`.
#[derive(Debug, Args)]
pub struct TuumParseArgs {
    /// The event body (a file, or `-` / nothing for stdin).
    pub input: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// state

const SUBJECTS: &str = "\
SUBJECT is KIND:ID:
  payment:ID              Heleket invoice uuid (--external: your order_id)
  applicant:ID            elKYC applicant id (--external: your externalUserId)
  user:ID                 BTC Direct user identifier
  wallet:CHAIN:ADDRESS    elKYC crypto-AML screening of a wallet (CHAIN as the provider
                          spells it: BTC, ETH...)
  transaction:CHAIN:HASH  elKYC crypto-AML screening of a transaction";

/// `state` per provider.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Heleket: a payment (`payment:UUID`, or `payment:ORDER_ID --external`).
    #[command(after_help = concat!("\
Configuration (environment or file, never on the command line):
  HELEKET_MERCHANT      the merchant uuid (or --merchant)
  HELEKET_PAYMENT_KEY   or HELEKET_PAYMENT_KEY_FILE, or --payment-key-file PATH
  HELEKET_BASE_URL      another base URL (or --base-url; default https://api.heleket.com)

", "SUBJECT is payment:UUID, or payment:ORDER_ID with --external."))]
    Heleket(StateHeleketArgs),
    /// elKYC / Allpass: an applicant, a wallet or a transaction.
    #[command(after_help = concat!("\
Configuration (environment or file, never on the command line):
  ELKYC_BASE_URL     the API's base URL (or --base-url; required: the provider publishes none)
  ELKYC_API_KEY      or ELKYC_API_KEY_FILE, or --api-key-file PATH
  ELKYC_SECRET_KEY   or ELKYC_SECRET_KEY_FILE, or --secret-key-file PATH  (if the application
                     encrypts; its responses are then verified and decrypted)
  ELKYC_HMAC_KEY     or ELKYC_HMAC_KEY_FILE, or --hmac-key-file PATH      (AES-256-CBC)

", "SUBJECT is applicant:ID, wallet:CHAIN:ADDRESS or transaction:CHAIN:HASH."))]
    Elkyc(StateElkycArgs),
    /// BTC Direct: a user (`user:IDENTIFIER`).
    #[command(after_help = concat!("\
Configuration (environment or file, never on the command line):
  BTCDIRECT_USERNAME  the partner username (or --username), with
  BTCDIRECT_PASSWORD  or BTCDIRECT_PASSWORD_FILE, or --password-file PATH;
  or BTCDIRECT_API_KEY, BTCDIRECT_API_KEY_FILE, or --api-key-file PATH
  BTCDIRECT_BASE_URL  another base URL (or --base-url; default production)

", "SUBJECT is user:IDENTIFIER."))]
    Btcdirect(StateBtcDirectArgs),
}

/// What every `state` takes.
#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// The subject, KIND:ID (the kinds this provider answers for are listed below).
    #[arg(value_name = "SUBJECT")]
    pub subject: String,
    /// The id is yours (Heleket `order_id`, elKYC `externalUserId`), not the provider's.
    #[arg(long)]
    pub external: bool,
}

/// `state heleket`.
#[derive(Debug, Args)]
pub struct StateHeleketArgs {
    /// The subject.
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The merchant uuid.
    #[arg(long, env = "HELEKET_MERCHANT", hide_env_values = true)]
    pub merchant: Option<String>,
    /// Heleket's base URL.
    #[arg(long, env = "HELEKET_BASE_URL", hide_env_values = true)]
    pub base_url: Option<String>,
    /// A file holding the payment key (instead of $HELEKET_PAYMENT_KEY).
    #[arg(long, value_name = "PATH")]
    pub payment_key_file: Option<PathBuf>,
}

/// `state elkyc`.
#[derive(Debug, Args)]
pub struct StateElkycArgs {
    /// The subject.
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The API's base URL.
    #[arg(long, env = "ELKYC_BASE_URL", hide_env_values = true)]
    pub base_url: Option<String>,
    /// A file holding the API key (instead of $ELKYC_API_KEY).
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// The application's encryption (used when a secret key is configured).
    #[command(flatten)]
    pub crypto: ElkycCryptoArgs,
}

/// `state btcdirect`.
#[derive(Debug, Args)]
pub struct StateBtcDirectArgs {
    /// The subject.
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The partner username (with a password).
    #[arg(long, env = "BTCDIRECT_USERNAME", hide_env_values = true)]
    pub username: Option<String>,
    /// BTC Direct's base URL.
    #[arg(long, env = "BTCDIRECT_BASE_URL", hide_env_values = true)]
    pub base_url: Option<String>,
    /// A file holding the partner password (instead of $BTCDIRECT_PASSWORD).
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// A file holding the partner API key (instead of $BTCDIRECT_API_KEY).
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// sandbox

#[cfg(feature = "sandbox")]
/// `sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Seed for every id, key and fault draw: the same seed gives the same run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Heleket's port (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub heleket_port: u16,
    /// elKYC's port (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub elkyc_port: u16,
    /// BTC Direct's port (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub btcdirect_port: u16,
    /// Tuum's control port (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub tuum_port: u16,
    /// A header every Tuum delivery carries with the shared secret your receiver checks; the
    /// secret from TUUM_WEBHOOK_SECRET, TUUM_WEBHOOK_SECRET_FILE or --tuum-secret-file.
    #[arg(long, value_name = "NAME")]
    pub tuum_secret_header: Option<String>,
    /// A file holding that secret (instead of $TUUM_WEBHOOK_SECRET).
    #[arg(long, value_name = "PATH")]
    pub tuum_secret_file: Option<PathBuf>,
    /// Serve the metrics as Prometheus text at http://ADDR/metrics (a build with the
    /// `metrics` feature).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
}

// ---------------------------------------------------------------------------------------
// trigger

#[cfg(feature = "sandbox")]
/// `trigger` per provider.
#[derive(Debug, Subcommand)]
pub enum TriggerCommand {
    /// A Heleket webhook: EVENT is KIND.STATUS (`payment.locked`, `wallet.paid`,
    /// `payout.fail`; KIND alone means `.paid`), signed with the key of its kind.
    #[command(after_help = HELEKET_KEYS)]
    Heleket(TriggerHeleketArgs),
    /// An elKYC applicant webhook: EVENT is the event (`applicantApproved`...), encrypted
    /// and signed with the application's keys, `time` now.
    #[command(after_help = ELKYC_KEYS)]
    Elkyc(TriggerElkycArgs),
    /// A Tuum AML event: EVENT is the notificationTypeCode (`AML_SUBPROCESS_CREATED`...;
    /// `AML_PAYMENT_RESULTS_PUBLISHED.DECLINED` for a result), unsigned as Tuum sends it.
    #[command(after_help = "\
Authentication your receiver may expect (Tuum documents none; it is agreed out of band).
The secret comes from the environment or a file, never on the command line:
  --secret-header NAME  sends NAME: <secret>, the secret from TUUM_WEBHOOK_SECRET,
                        TUUM_WEBHOOK_SECRET_FILE or --secret-file PATH")]
    Tuum(TriggerTuumArgs),
}

#[cfg(feature = "sandbox")]
/// How to deliver, for every provider.
#[derive(Debug, Args)]
pub struct DeliveryArgs {
    /// The event (see --list).
    #[arg(required_unless_present = "list")]
    pub event: Option<String>,
    /// Your endpoint.
    #[arg(long, value_name = "URL", required_unless_present = "list")]
    pub to: Option<String>,
    /// List the events instead.
    #[arg(long)]
    pub list: bool,
    /// Retries after an attempt that got no 2xx.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// The pause before the first retry; each next one doubles.
    #[arg(long, value_parser = parse_duration, default_value = "1s", value_name = "DURATION")]
    pub retry_delay: Duration,
    /// How long to wait for each answer.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub timeout: Duration,
}

#[cfg(feature = "sandbox")]
/// `trigger heleket`.
#[derive(Debug, Args)]
pub struct TriggerHeleketArgs {
    /// What and where.
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// The payment's uuid (default: a fresh random one, so no receiver sees it as a
    /// duplicate).
    #[arg(long)]
    pub uuid: Option<String>,
    /// The order id.
    #[arg(long, default_value = "cli-test-order")]
    pub order_id: String,
    /// The amount.
    #[arg(long, default_value = "15.00")]
    pub amount: String,
    /// The currency.
    #[arg(long, default_value = "USDT")]
    pub currency: String,
    /// The network.
    #[arg(long, default_value = "tron")]
    pub network: String,
    /// `additional_data`, the merchant's free text Heleket echoes back (a `/` in it shows
    /// how Heleket escapes).
    #[arg(long, value_name = "TEXT")]
    pub additional_data: Option<String>,
    /// Where the keys are.
    #[command(flatten)]
    pub keys: HeleketKeyFiles,
}

#[cfg(feature = "sandbox")]
/// The webhook member that names the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFieldArg {
    /// `type`.
    Type,
    /// `event`.
    Event,
    /// `eventName`.
    #[value(name = "eventName")]
    EventName,
    /// `eventType`.
    #[value(name = "eventType")]
    EventType,
}

#[cfg(feature = "sandbox")]
/// `trigger elkyc`.
#[derive(Debug, Args)]
pub struct TriggerElkycArgs {
    /// What and where.
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// The applicant's id (default: a fresh random uuid).
    #[arg(long)]
    pub applicant_id: Option<String>,
    /// The applicant's external id.
    #[arg(long, default_value = "cli-test-user")]
    pub external_user_id: String,
    /// The application key in the payload.
    #[arg(long, default_value = "cli-test-app")]
    pub app_key: String,
    /// The step, for step events.
    #[arg(long, value_name = "STEP")]
    pub step_name: Option<String>,
    /// The payload member naming the event (undocumented).
    #[arg(long, value_enum, default_value = "type")]
    pub event_field: EventFieldArg,
    /// The application's encryption.
    #[command(flatten)]
    pub crypto: ElkycCryptoArgs,
}

#[cfg(feature = "sandbox")]
/// `trigger tuum`.
#[derive(Debug, Args)]
pub struct TriggerTuumArgs {
    /// What and where.
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// The notificationId (default: a fresh random one; repeat one to test deduplication).
    #[arg(long)]
    pub notification_id: Option<String>,
    /// A header carrying the shared secret your receiver checks.
    #[arg(long, value_name = "NAME")]
    pub secret_header: Option<String>,
    /// A file holding that secret (instead of $TUUM_WEBHOOK_SECRET).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
}

/// `500ms`, `2s`, `1m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (500ms, 2s, 1m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is out of range"))
}

/// `console`.
#[cfg(feature = "console")]
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The store the receivers write: `sqlite:PATH` (or a path ending in .db, .sqlite,
    /// .sqlite3) or `postgres://user:password@host/database`.
    #[arg(
        long,
        env = "COMPLIANCE_STORE",
        hide_env_values = true,
        value_name = "STORE"
    )]
    pub store: String,
    /// Address to serve on. Any address but the loopback requires a token.
    #[arg(long, default_value = "127.0.0.1:8089", value_name = "ADDR")]
    pub bind: std::net::SocketAddr,
    /// A file holding the token that logs in (instead of $COMPLIANCE_CONSOLE_TOKEN).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
    /// elKYC's encryption, to show stored elKYC bodies decrypted on request: only when its
    /// key is configured ($ELKYC_SECRET_KEY or --secret-key-file; CBC also the HMAC key).
    /// Without it they are not shown.
    #[command(flatten, next_help_heading = "elKYC bodies")]
    pub elkyc: ElkycCryptoArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[cfg(not(feature = "sandbox"))]
    #[test]
    fn without_the_simulator_there_is_no_sandbox_nor_trigger() {
        use clap::Parser as _;
        for command in ["sandbox", "trigger"] {
            let err = Cli::try_parse_from(["compliance", command]).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::InvalidSubcommand,
                "{command}"
            );
        }
        assert!(Cli::try_parse_from(["compliance", "tuum", "parse", "--help"]).is_err());
    }

    #[cfg(not(feature = "console"))]
    #[test]
    fn without_the_console_feature_there_is_no_console() {
        use clap::Parser as _;
        let err = Cli::try_parse_from(["compliance", "console"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
