//! Every call into `heleket-aml`: request signatures, the webhook verifier and its
//! diagnosis, and the client behind `state heleket`. Signing a webhook the way Heleket does
//! is the provider's side, so `sign --webhook` uses the sandbox's signer.

use compliance_core::aml::AmlProvider;
use heleket_aml::{HeleketClient, MismatchCause, WebhookError, WebhookVerifier};
use serde_json::{Value, json};

use crate::cli::{
    HeleketKeyArg, HeleketKeyFiles, HeleketSignArgs, HeleketVerifyArgs, StateHeleketArgs,
};
use crate::input;
use crate::outcome::{Failure, Outcome, Output};
use crate::secrets::{self, HELEKET_PAYMENT_KEY, HELEKET_PAYOUT_KEY};

/// `heleket sign`.
pub fn sign(args: &HeleketSignArgs, out: &Output) -> Result<Outcome, Failure> {
    let body = input::read(args.input.as_deref(), out)?;
    if args.webhook {
        return sign_webhook(args, body, out);
    }
    let key = args.key.unwrap_or(HeleketKeyArg::Payment);
    let secret = load_key(key, &args.keys, out)?;
    if body.ends_with(b"\n") {
        out.note("the body ends with a newline: it is signed as is, so send it byte for byte (curl --data-binary)");
    }
    let signature = heleket_aml::sign::sign(&body, secrets::expose(&secret));
    Ok(Outcome::ok(
        json!({"signature": signature, "key": key_name(key), "bytes": body.len()}),
        signature,
    ))
}

/// `heleket sign --webhook`: the body with `"sign"` appended, signed over its exact bytes.
fn sign_webhook(args: &HeleketSignArgs, body: Vec<u8>, out: &Output) -> Result<Outcome, Failure> {
    let text_end = body
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let body = &body[..text_end];
    let object: serde_json::Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| Failure::usage(format!("a webhook body is a JSON object: {e}")))?;
    if object.contains_key("sign") {
        return Err(Failure::usage(
            "the body already has a `sign` member: remove it to sign again",
        ));
    }
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    let key = args.key.unwrap_or(if kind == "payout" {
        HeleketKeyArg::Payout
    } else {
        HeleketKeyArg::Payment
    });
    if args.key.is_none() {
        out.note(format!(
            "`type` is {kind:?}: signing with the {} key",
            key_name(key)
        ));
    }
    let secret = load_key(key, &args.keys, out)?;
    let signed = append_sign(body, secrets::expose(&secret));
    let text = String::from_utf8_lossy(&signed).into_owned();
    // Byte for byte, no newline added: a newline would be part of what a verifier hashes.
    Ok(Outcome::ok(
        json!({"body": text, "key": key_name(key), "type": kind}),
        text,
    )
    .exact())
}

/// `body`, a JSON object without `sign`, with `"sign":"<its signature>"` appended as the
/// last member, byte for byte otherwise (the signature covers the exact bytes, PHP's `\/`
/// included).
fn append_sign(body: &[u8], key: &str) -> Vec<u8> {
    let sign = heleket_aml::sign::sign(body, key);
    let Some(open) = body.strip_suffix(b"}") else {
        return body.to_vec();
    };
    let mut out = Vec::with_capacity(body.len() + sign.len() + 10);
    out.extend_from_slice(open);
    if open.iter().any(|b| !b.is_ascii_whitespace() && *b != b'{') {
        out.push(b',');
    }
    out.extend_from_slice(br#""sign":""#);
    out.extend_from_slice(sign.as_bytes());
    out.extend_from_slice(b"\"}");
    out
}

/// `heleket verify`.
pub fn verify(args: &HeleketVerifyArgs, out: &Output) -> Result<Outcome, Failure> {
    let body = input::read(args.input.as_deref(), out)?;
    let payment = HELEKET_PAYMENT_KEY.require(args.keys.payment_key_file.as_deref(), out)?;
    let mut verifier = WebhookVerifier::new(payment);
    if let Some(payout) = HELEKET_PAYOUT_KEY.load(args.keys.payout_key_file.as_deref(), out)? {
        verifier = verifier.with_payout_key(payout);
    } else {
        out.note("no payout key: payout webhooks cannot be verified, nor a swapped key told apart");
    }
    match verifier.verify(&body) {
        Ok(webhook) => {
            let text = format!(
                "verified: {kind} webhook\n  uuid       {uuid}\n  status     {status}{final_}\n  dedup key  {key}",
                kind = webhook.kind(),
                uuid = webhook.uuid(),
                status = webhook.status(),
                final_ = if webhook.is_final() { " (final)" } else { "" },
                key = webhook.dedup_key(),
            );
            Ok(Outcome::ok(
                json!({
                    "verdict": "verified",
                    "kind": webhook.kind().as_str(),
                    "dedup_key": webhook.dedup_key(),
                    "webhook": webhook,
                }),
                text,
            ))
        }
        Err(WebhookError::MissingKey { kind, key }) => Err(Failure::config(format!(
            "a {kind} webhook is signed with the {key}: {}",
            if key == heleket_aml::KeyKind::Payout {
                HELEKET_PAYOUT_KEY.missing()
            } else {
                HELEKET_PAYMENT_KEY.missing()
            }
        ))),
        Err(WebhookError::Mismatch { kind, cause }) => {
            let trimmed = &body[..body
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .map_or(0, |i| i + 1)];
            let (code, hint) =
                if trimmed.len() < body.len() && verifier.verify_signature(trimmed).is_ok() {
                    (
                        "trailing_whitespace",
                        concat!(
                            "the body verifies without the whitespace at its end: it was added ",
                            "after Heleket signed (an editor, `echo`, a logging tool); verify the ",
                            "bytes as received"
                        )
                        .to_owned(),
                    )
                } else {
                    match cause {
                        MismatchCause::ReSerialised => ("re_serialised", cause.to_string()),
                        MismatchCause::WrongKey { .. } => ("wrong_key", cause.to_string()),
                        _ => ("unexplained", cause.to_string()),
                    }
                };
            Ok(Outcome::refused(
                json!({
                    "verdict": "mismatch",
                    "kind": kind.as_str(),
                    "cause": code,
                    "diagnosis": hint,
                }),
                format!("REJECTED: {kind} webhook signature mismatch\n  diagnosis: {hint}"),
            ))
        }
        Err(WebhookError::Decode(e)) => Ok(Outcome::refused(
            json!({"verdict": "unreadable", "reason": e.to_string()}),
            format!("REJECTED: the signature is valid, but the content could not be read: {e}"),
        )),
        Err(e) => Ok(Outcome::refused(
            json!({"verdict": "rejected", "reason": e.to_string()}),
            format!("REJECTED: {e}"),
        )),
    }
}

fn key_name(key: HeleketKeyArg) -> &'static str {
    match key {
        HeleketKeyArg::Payment => "payment",
        HeleketKeyArg::Payout => "payout",
    }
}

/// The key of `kind` from the environment or its file.
pub fn load_key(
    kind: HeleketKeyArg,
    files: &HeleketKeyFiles,
    out: &Output,
) -> Result<compliance_core::SecretString, Failure> {
    match kind {
        HeleketKeyArg::Payment => {
            HELEKET_PAYMENT_KEY.require(files.payment_key_file.as_deref(), out)
        }
        HeleketKeyArg::Payout => HELEKET_PAYOUT_KEY.require(files.payout_key_file.as_deref(), out),
    }
}

/// The client behind `state heleket`.
pub fn provider(args: &StateHeleketArgs, out: &Output) -> Result<Box<dyn AmlProvider>, Failure> {
    let merchant = args.merchant.clone().filter(|m| !m.trim().is_empty()).ok_or_else(|| {
        Failure::config("the Heleket merchant uuid is not configured: set $HELEKET_MERCHANT or pass --merchant")
    })?;
    let key = HELEKET_PAYMENT_KEY.require(args.payment_key_file.as_deref(), out)?;
    let mut builder = HeleketClient::builder().merchant(merchant).payment_key(key);
    if let Some(url) = &args.base_url {
        out.note(format!("Heleket at {}", secrets::shown_url(url)));
        builder = builder.base_url(url.clone());
    }
    let client = builder
        .build()
        .map_err(|e| crate::outcome::client_failure("Heleket", &e))?;
    Ok(Box::new(client))
}
