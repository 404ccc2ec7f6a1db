//! `trigger`: a sample webhook of any documented kind, built and signed or encrypted the way
//! the provider does it, sent to the user's own endpoint, the answer printed (like
//! `stripe trigger`).
//!
//! The payloads and the signing are the sandbox's (`compliance_sandbox::heleket::webhook`,
//! `::elkyc::webhook`, `TuumEvent::body`): written from the providers' documentation,
//! independently of the client crates, so a receiver built on those clients is checked
//! against the provider's reading, not against itself. Ids are fresh and random unless
//! given (a receiver deduplicates on them), the elKYC `time` is now, and every IV or nonce
//! is drawn from the operating system's random source: the keys may be real ones.

use std::time::{Duration, Instant};

use compliance_core::ExposeSecret as _;
use compliance_core::time::Timestamp;
use compliance_sandbox::RetrySchedule;
use compliance_sandbox::TuumEvent;
use compliance_sandbox::elkyc::webhook::{APPLICANT_EVENTS, WebhookPayload, envelope};
use compliance_sandbox::elkyc::{
    self as sandbox, ElkycCrypto, EncryptionMode, EventField, Refusal, SIGNATURE_HEADER, Sealer,
};
use compliance_sandbox::heleket::webhook::{self as heleket_webhook, WebhookFacts};
use kyc_public_api::encryption::{
    GcmNonceLength, HmacKeyBytes, MacHash, MacInput, NoncePlacement, SignatureEncoding,
};
use serde_json::{Map, Value, json};

use crate::cli::{
    DeliveryArgs, ElkycCryptoArgs, EventFieldArg, HeleketKeyArg, Method, TriggerCommand,
    TriggerElkycArgs, TriggerHeleketArgs, TriggerTuumArgs,
};
use crate::outcome::{Code, Failure, Outcome, Output};
use crate::secrets::{self, ELKYC_HMAC_KEY, ELKYC_SECRET_KEY, TUUM_WEBHOOK_SECRET};
use crate::{heleket, progress};

/// How much of each answer is kept.
const MAX_ANSWER: usize = 64 * 1024;

/// A webhook ready to send.
struct Prepared {
    provider: &'static str,
    event: String,
    /// What signed or encrypted it ("signed with the payment key").
    how: String,
    body: Vec<u8>,
    /// Name, value, and whether the value is a secret (never printed).
    headers: Vec<(String, String, bool)>,
}

/// `trigger <provider> <event> --to URL`.
pub async fn run(command: &TriggerCommand, out: &Output) -> Result<Outcome, Failure> {
    let (delivery, events) = match command {
        TriggerCommand::Heleket(a) => (&a.delivery, heleket_events()),
        TriggerCommand::Elkyc(a) => (&a.delivery, elkyc_events()),
        TriggerCommand::Tuum(a) => (&a.delivery, tuum_events()),
    };
    if delivery.list {
        let text = events.join("\n");
        return Ok(Outcome::ok(json!({"events": events}), text));
    }
    let event = delivery.event.as_deref().unwrap_or_default();
    let prepared = match command {
        TriggerCommand::Heleket(a) => prepare_heleket(a, event, out)?,
        TriggerCommand::Elkyc(a) => prepare_elkyc(a, event, out)?,
        TriggerCommand::Tuum(a) => prepare_tuum(a, event, out)?,
    };
    deliver(prepared, delivery, out).await
}

fn heleket_events() -> Vec<String> {
    heleket_webhook::KINDS
        .iter()
        .flat_map(|kind| {
            heleket_webhook::statuses(kind)
                .iter()
                .map(move |status| format!("{kind}.{status}"))
        })
        .collect()
}

fn elkyc_events() -> Vec<String> {
    APPLICANT_EVENTS.iter().map(|e| (*e).to_owned()).collect()
}

fn tuum_events() -> Vec<String> {
    TuumEvent::documented().iter().map(tuum_name).collect()
}

fn tuum_name(event: &TuumEvent) -> String {
    match event {
        TuumEvent::PaymentResultsPublished { result } => {
            format!("{}.{result}", event.type_code().unwrap_or_default())
        }
        other => other.type_code().unwrap_or_default().to_owned(),
    }
}

fn unknown_event(provider: &str, event: &str, known: &[String]) -> Failure {
    Failure::usage(format!(
        "`{event}` is not a documented {provider} event; `compliance trigger {provider} --list` \
         shows them all (e.g. {})",
        known.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
    ))
}

fn prepare_heleket(
    args: &TriggerHeleketArgs,
    event: &str,
    out: &Output,
) -> Result<Prepared, Failure> {
    let (kind, status) = event.split_once('.').unwrap_or((event, "paid"));
    if !heleket_webhook::statuses(kind).contains(&status) {
        return Err(unknown_event("heleket", event, &heleket_events()));
    }
    let key_kind = match heleket_webhook::key_for(kind) {
        compliance_sandbox::HeleketKey::Payout => HeleketKeyArg::Payout,
        _ => HeleketKeyArg::Payment,
    };
    let key = heleket::load_key(key_kind, &args.keys, out)?;
    let uuid = args.uuid.clone().unwrap_or_else(random_uuid);
    let mut facts = WebhookFacts::new(uuid, &args.order_id)
        .amount(&args.amount)
        .currency(&args.currency)
        .network(&args.network);
    if let Some(text) = &args.additional_data {
        facts = facts.additional_data(text);
    }
    let body = heleket_webhook::webhook_body(kind, status, &facts, secrets::expose(&key));
    Ok(Prepared {
        provider: "heleket",
        event: format!("{kind}.{status}"),
        how: format!(
            "signed with the {} key",
            if key_kind == HeleketKeyArg::Payout {
                "payout"
            } else {
                "payment"
            }
        ),
        body,
        headers: vec![("content-type".into(), "application/json".into(), false)],
    })
}

fn prepare_elkyc(args: &TriggerElkycArgs, event: &str, out: &Output) -> Result<Prepared, Failure> {
    if !APPLICANT_EVENTS.contains(&event) {
        return Err(unknown_event("elkyc", event, &elkyc_events()));
    }
    let secret = ELKYC_SECRET_KEY.require(args.crypto.secret_key_file.as_deref(), out)?;
    let hmac = match args.crypto.method {
        Method::Cbc => Some(ELKYC_HMAC_KEY.require(args.crypto.hmac_key_file.as_deref(), out)?),
        Method::Gcm => None,
    };
    let sealer = Sealer {
        mode: match args.crypto.method {
            Method::Cbc => EncryptionMode::Cbc,
            Method::Gcm => EncryptionMode::Gcm,
        },
        crypto: readings(&args.crypto)?,
        secret_key: secret.expose_secret(),
        hmac_key: hmac.as_ref().map_or("", |k| k.expose_secret()),
    };
    let mut payload = WebhookPayload::new(
        event,
        args.applicant_id.clone().unwrap_or_else(random_uuid),
        &args.external_user_id,
        &args.app_key,
    );
    let step_event = matches!(event, "applicantStepPassed" | "additionalDocumentStepError");
    match &args.step_name {
        Some(step) => payload = payload.step_name(step),
        None if step_event => payload = payload.step_name("DOCUMENT_CAPTURE"),
        None => {}
    }
    let data = payload.to_json(match args.event_field {
        EventFieldArg::Type => EventField::Type,
        EventFieldArg::Event => EventField::Event,
        EventFieldArg::EventName => EventField::EventName,
        EventFieldArg::EventType => EventField::EventType,
    });
    let iv = random_bytes(sealer.iv_len())?;
    let (body, signature) = envelope(&data, Timestamp::now(), Some(&sealer), &iv).map_err(|e| match e {
        Refusal::NoKeys => Failure::config(
            "the elKYC keys must be 32 bytes written as 64 hex digits (the HMAC key too, unless --hmac-key text)",
        ),
        other => Failure::config(format!("cannot encrypt the webhook: {other}")),
    })?;
    let mut headers = vec![("content-type".into(), "application/json".into(), false)];
    if let Some(signature) = signature {
        headers.push((SIGNATURE_HEADER.into(), signature, false));
    }
    Ok(Prepared {
        provider: "elkyc",
        event: event.to_owned(),
        how: format!(
            "encrypted with AES-256-{}",
            if args.crypto.method == Method::Cbc {
                "CBC + HMAC"
            } else {
                "GCM"
            }
        ),
        body,
        headers,
    })
}

/// The command line's readings (the client's types) as the sandbox's simulator takes them:
/// the same names, mirrored there, since the simulator shares no code with the client. A
/// reading the client may add and the simulator does not play is a usage error.
fn readings(crypto: &ElkycCryptoArgs) -> Result<ElkycCrypto, Failure> {
    let unplayed =
        |what: &str| Failure::usage(format!("the sandbox does not simulate this {what}"));
    Ok(ElkycCrypto::default()
        .mac(match crypto.mac {
            MacHash::Sha256 => sandbox::MacHash::Sha256,
            MacHash::Sha512 => sandbox::MacHash::Sha512,
            _ => return Err(unplayed("HMAC hash")),
        })
        .mac_input(match crypto.mac_input {
            MacInput::DataString => sandbox::MacInput::DataString,
            MacInput::CiphertextBytes => sandbox::MacInput::CiphertextBytes,
            _ => return Err(unplayed("HMAC input")),
        })
        .hmac_key(match crypto.hmac_key {
            HmacKeyBytes::HexDecoded => sandbox::HmacKeyBytes::HexDecoded,
            HmacKeyBytes::Text => sandbox::HmacKeyBytes::Text,
            _ => return Err(unplayed("HMAC key reading")),
        })
        .signature_encoding(match crypto.signature_encoding {
            SignatureEncoding::Hex => sandbox::SignatureEncoding::Hex,
            SignatureEncoding::Base64 => sandbox::SignatureEncoding::Base64,
            _ => return Err(unplayed("signature encoding")),
        })
        .gcm_nonce(match crypto.gcm_nonce {
            GcmNonceLength::Bytes12 => sandbox::GcmNonceLength::Bytes12,
            GcmNonceLength::Bytes16 => sandbox::GcmNonceLength::Bytes16,
            _ => return Err(unplayed("GCM nonce length")),
        })
        .nonce_placement(match crypto.nonce_placement {
            NoncePlacement::Prefix => sandbox::NoncePlacement::Prefix,
            NoncePlacement::Suffix => sandbox::NoncePlacement::Suffix,
            _ => return Err(unplayed("nonce placement")),
        }))
}

fn prepare_tuum(args: &TriggerTuumArgs, event: &str, out: &Output) -> Result<Prepared, Failure> {
    let wanted = event.to_ascii_uppercase();
    let wanted = match wanted.as_str() {
        "AML_PAYMENT_RESULTS_PUBLISHED" => "AML_PAYMENT_RESULTS_PUBLISHED.APPROVED".to_owned(),
        _ => wanted,
    };
    let tuum = TuumEvent::documented()
        .into_iter()
        .find(|e| tuum_name(e) == wanted)
        .ok_or_else(|| unknown_event("tuum", event, &tuum_events()))?;
    let id = match &args.notification_id {
        Some(id) => id.clone(),
        None => format!("CLI-{}", hex::encode(random_bytes(8)?)),
    };
    let mut headers = vec![("content-type".into(), "application/json".into(), false)];
    let secret = TUUM_WEBHOOK_SECRET.load(args.secret_file.as_deref(), out)?;
    match (&args.secret_header, secret) {
        (Some(name), Some(secret)) => {
            headers.push((name.clone(), secret.expose_secret().to_owned(), true));
        }
        (Some(_), None) => return Err(Failure::config(TUUM_WEBHOOK_SECRET.missing())),
        (None, Some(_)) => out.note(
            "a Tuum webhook secret is configured but no --secret-header names its header: not sent",
        ),
        (None, None) => {}
    }
    Ok(Prepared {
        provider: "tuum",
        event: wanted,
        how: format!("notificationId {id}, unsigned as Tuum sends it"),
        body: tuum.body(&id).into_bytes(),
        headers,
    })
}

/// One attempt's result.
struct Attempt {
    after: Duration,
    status: Option<u16>,
    reason: Option<String>,
    /// Where a 3xx pointed (not followed), credentials and query hidden.
    location: Option<String>,
    error: Option<String>,
    answer: String,
    elapsed: Duration,
}

async fn deliver(
    prepared: Prepared,
    delivery: &DeliveryArgs,
    out: &Output,
) -> Result<Outcome, Failure> {
    let url = delivery.to.as_deref().unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Failure::usage(format!(
            "--to `{url}` is not an http:// or https:// URL"
        )));
    }
    let shown = secrets::shown_url(url);
    // Redirects are never followed: a 307 would send the secret header and the signed body
    // to wherever it points (another host, plain http), and a 302 would turn the POST into
    // a GET whose 2xx looks like a delivery. A 3xx is reported, with its `Location`.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(delivery.timeout)
        .build()
        .map_err(|e| Failure::config(format!("cannot set up HTTP: {e}")))?;
    out.note(format!(
        "POST {shown}: {} {} ({}), {} bytes",
        prepared.provider,
        prepared.event,
        prepared.how,
        prepared.body.len()
    ));
    let pauses = std::iter::once(Duration::ZERO)
        .chain(RetrySchedule::exponential(delivery.retry_delay, delivery.retries).delays());
    let total = delivery.retries + 1;
    let mut attempts: Vec<Attempt> = Vec::new();
    for (i, after) in pauses.enumerate() {
        let n = i + 1;
        if !after.is_zero() {
            let label = format!("attempt {n}/{total} in {after:?}");
            progress::show(out, &label, tokio::time::sleep(after)).await;
        }
        let label = format!("POST {shown} (attempt {n}/{total})");
        let attempt = progress::show(out, &label, post(&client, url, &prepared)).await;
        let attempt = Attempt { after, ..attempt };
        out.note(format!("attempt {n}: {}", describe(&attempt)));
        let done = attempt.status.is_some_and(|s| (200..300).contains(&s));
        attempts.push(attempt);
        if done {
            break;
        }
    }
    Ok(report(&prepared, &shown, &attempts))
}

async fn post(client: &reqwest::Client, url: &str, prepared: &Prepared) -> Attempt {
    let started = Instant::now();
    let mut request = client.post(url).body(prepared.body.clone());
    for (name, value, _) in &prepared.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let blank = |error: Option<String>| Attempt {
        after: Duration::ZERO,
        status: None,
        reason: None,
        location: None,
        error,
        answer: String::new(),
        elapsed: started.elapsed(),
    };
    let mut response = match request.send().await {
        Ok(r) => r,
        // Without the URL: it may carry a token, and the caller knows it.
        Err(e) => return blank(Some(error_text(&e.without_url()))),
    };
    let status = response.status();
    let location = status
        .is_redirection()
        .then(|| response.headers().get(reqwest::header::LOCATION))
        .flatten()
        .map(|value| secrets::shown_url(&String::from_utf8_lossy(value.as_bytes())));
    let mut answer = Vec::new();
    let mut truncated = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_ANSWER - answer.len();
                answer.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() > room {
                    truncated = true;
                    break;
                }
            }
            Ok(None) => break,
            Err(_) => break,
        }
    }
    let mut answer = String::from_utf8_lossy(&answer).into_owned();
    if truncated {
        answer.push_str("… (cut)");
    }
    Attempt {
        status: Some(status.as_u16()),
        reason: status.canonical_reason().map(str::to_owned),
        location,
        answer,
        ..blank(None)
    }
}

/// The transport error and its causes, on one line (a URL may appear; no header does).
fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

fn describe(a: &Attempt) -> String {
    match (a.status, &a.error) {
        (Some(s), _) => format!(
            "HTTP {s}{} ({} ms){}",
            a.reason
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default(),
            a.elapsed.as_millis(),
            match (&a.location, (300..400).contains(&s)) {
                (Some(to), _) => format!(
                    ", a redirect to {to}: not followed (it would send the signed body and any \
                     secret header there); use the final URL in --to"
                ),
                (None, true) => ", a redirect: not followed".to_owned(),
                (None, false) => String::new(),
            }
        ),
        (None, Some(e)) => format!("no answer: {e}"),
        (None, None) => "no answer".to_owned(),
    }
}

fn report(prepared: &Prepared, url: &str, attempts: &[Attempt]) -> Outcome {
    let last = attempts.last();
    let delivered = last.is_some_and(|a| a.status.is_some_and(|s| (200..300).contains(&s)));
    let code = match last.and_then(|a| a.status) {
        _ if delivered => Code::Ok,
        Some(_) => Code::Refused,
        None => Code::Provider,
    };
    let headers: Map<String, Value> = prepared
        .headers
        .iter()
        .map(|(name, value, secret)| {
            let shown = if *secret {
                "[redacted]"
            } else {
                value.as_str()
            };
            (name.clone(), json!(shown))
        })
        .collect();
    let json = json!({
        "provider": prepared.provider,
        "event": prepared.event,
        "url": url,
        "delivered": delivered,
        "request": {"headers": headers, "body": String::from_utf8_lossy(&prepared.body)},
        "attempts": attempts.iter().enumerate().map(|(i, a)| json!({
            "attempt": i + 1,
            "after_ms": a.after.as_millis() as u64,
            "status": a.status,
            "location": a.location,
            "error": a.error,
            "body": a.answer,
        })).collect::<Vec<_>>(),
    });
    let mut text = format!(
        "{} {} {} to {url} ({})",
        if delivered {
            "delivered"
        } else {
            "NOT delivered:"
        },
        prepared.provider,
        prepared.event,
        prepared.how
    );
    for (i, a) in attempts.iter().enumerate() {
        text.push_str(&format!("\n  attempt {}: {}", i + 1, describe(a)));
    }
    if let Some(a) = last.filter(|a| !a.answer.is_empty()) {
        text.push_str("\nanswer:\n");
        text.push_str(&a.answer);
    }
    let mut json = json;
    if let Some(hint) = unauthorized_hint(prepared, last.and_then(|a| a.status)) {
        text.push_str(&format!("\nhint: {hint}"));
        json["hint"] = json!(hint);
    }
    Outcome::ok(json, text).with_code(code)
}

/// A receiver that answers an unsigned Tuum event 401 most likely wants the shared secret.
fn unauthorized_hint(prepared: &Prepared, status: Option<u16>) -> Option<String> {
    if prepared.provider != "tuum" || status != Some(401) {
        return None;
    }
    Some(
        match prepared.headers.iter().find(|(_, _, secret)| *secret) {
            Some((name, _, _)) => format!(
                "the receiver refused the secret sent in `{name}`: check it is the one the receiver expects"
            ),
            None => {
                "the receiver wants credentials: send the shared secret with --secret-header NAME \
                 (the secret from $TUUM_WEBHOOK_SECRET, $TUUM_WEBHOOK_SECRET_FILE or --secret-file)"
                    .to_owned()
            }
        },
    )
}

fn random_bytes(n: usize) -> Result<Vec<u8>, Failure> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| Failure::config(format!("the system random source failed: {e}")))?;
    Ok(bytes)
}

/// A random (version 4) uuid, lowercase.
fn random_uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Only ids for a test webhook: a clock-derived one is good enough then.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        b = nanos.to_le_bytes();
    }
    compliance_sandbox::uuid_from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lists_cover_every_documented_kind() {
        let heleket = heleket_events();
        assert!(heleket.contains(&"payment.locked".to_owned()));
        assert!(heleket.contains(&"wallet.paid".to_owned()));
        assert!(heleket.contains(&"payout.system_fail".to_owned()));
        assert!(!heleket.contains(&"payout.locked".to_owned()));
        assert_eq!(heleket.len(), 14 + 14 + 6);
        assert_eq!(elkyc_events().len(), 14);
        assert_eq!(
            tuum_events(),
            [
                "AML_PERSON_SUBPROCESS_CREATED",
                "AML_SUBPROCESS_CREATED",
                "AML_SUBPROCESS_CREATED_COLLECTION",
                "AML_PAYMENT_RESULTS_PUBLISHED.APPROVED",
                "AML_PAYMENT_RESULTS_PUBLISHED.DECLINED",
                "AML_PAYMENT_RESULTS_PUBLISHED.REVIEW",
            ]
        );
    }

    #[test]
    fn uuids_are_version_4() {
        let a = random_uuid();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(a, random_uuid());
    }
}
