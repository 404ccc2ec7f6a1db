//! Every call into `kyc-public-api`: the application's cipher and its options, the
//! envelope, the webhook verifier's checks, and the client behind `state elkyc`.

use compliance_core::aml::AmlProvider;
use compliance_core::time::Timestamp;
use kyc_public_api::encryption::{
    Cipher, EncryptionError, EncryptionOptions, EncryptionSettings, SIGNATURE_HEADER,
};
use kyc_public_api::{Envelope, HeaderMap, KycClient, WebhookError, WebhookVerifier};
use serde_json::{Value, json};

use crate::cli::{ElkycCryptoArgs, ElkycDecryptArgs, ElkycEncryptArgs, Method, StateElkycArgs};
use crate::input;
use crate::outcome::{Code, Failure, Outcome, Output};
use crate::secrets::{self, ELKYC_API_KEY, ELKYC_HMAC_KEY, ELKYC_SECRET_KEY};

/// `elkyc decrypt`.
pub fn decrypt(args: &ElkycDecryptArgs, out: &Output) -> Result<Outcome, Failure> {
    let body = input::read(args.input.as_deref(), out)?;
    let settings = settings(&args.crypto, out)?;
    let options = options(&args.crypto);
    if args.webhook {
        return check_webhook(args, &body, settings, options);
    }
    let cipher = Cipher::with_options(&settings, options).map_err(key_failure)?;
    let (data, time) = envelope_parts(&body)?;
    match cipher.decrypt(&data, &args.signature) {
        Ok(plain) => {
            let value: Value = serde_json::from_slice(&plain)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&plain).into_owned()));
            let mut text = format!("opened: {} envelope", cipher.method());
            if let Some(time) = &time {
                text.push_str(&format!(", time {time}"));
            }
            text.push('\n');
            text.push_str(&serde_json::to_string_pretty(&value).unwrap_or_default());
            Ok(Outcome::ok(
                json!({"verdict": "opened", "method": cipher.method(), "time": time, "data": value}),
                text,
            ))
        }
        Err(e @ EncryptionError::InvalidKey { .. }) => Err(key_failure(e)),
        Err(e) => Ok(refused(&e.to_string())),
    }
}

/// `elkyc decrypt --webhook`: what the webhook verifier would decide (before deduplication,
/// which needs the receiver's inbox).
fn check_webhook(
    args: &ElkycDecryptArgs,
    body: &[u8],
    settings: EncryptionSettings,
    options: EncryptionOptions,
) -> Result<Outcome, Failure> {
    let verifier = WebhookVerifier::builder(settings)
        .encryption_options(options)
        .tolerance(args.tolerance)
        .build()
        .map_err(key_failure)?;
    let mut headers = HeaderMap::new();
    let value = args
        .signature
        .parse()
        .map_err(|_| Failure::usage("--signature is not a valid header value"))?;
    headers.insert(SIGNATURE_HEADER, value);
    match verifier.verify(&headers, body) {
        Ok(webhook) => {
            let event = webhook.event.event.as_ref().map(|e| e.as_str().to_owned());
            let text = format!(
                "verified: elKYC webhook {}\n  applicant  {}\n  external   {}\n  time       {} (not signed)\n  dedup key  {}",
                event.as_deref().unwrap_or("(no event)"),
                webhook.event.applicant_id.as_deref().unwrap_or("-"),
                webhook.event.external_user_id.as_deref().unwrap_or("-"),
                webhook.envelope_time,
                webhook.dedup_key,
            );
            Ok(Outcome::ok(
                json!({
                    "verdict": "verified",
                    "time": webhook.envelope_time,
                    "dedup_key": webhook.dedup_key,
                    "event": webhook.event,
                }),
                text,
            ))
        }
        Err(WebhookError::Encryption(e @ EncryptionError::InvalidKey { .. })) => {
            Err(key_failure(e))
        }
        Err(e) => Ok(refused(&e.to_string())),
    }
}

fn refused(reason: &str) -> Outcome {
    Outcome::refused(
        json!({"verdict": "rejected", "reason": reason}),
        format!("REJECTED: {reason}"),
    )
}

/// The `data` string and `time` of an envelope, or a bare hex `data`.
fn envelope_parts(body: &[u8]) -> Result<(String, Option<String>), Failure> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Failure::usage("the input is not UTF-8 text"))?
        .trim();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(envelope)) => {
            let data = match envelope.get("data") {
                Some(Value::String(data)) => data.clone(),
                Some(Value::Null) | None => {
                    return Err(Failure::usage("the envelope has no `data`"));
                }
                Some(_) => {
                    return Err(Failure::new(
                        Code::Refused,
                        "not_encrypted",
                        "the envelope's `data` is plain JSON, not encrypted: nothing to open",
                    ));
                }
            };
            let time = envelope
                .get("time")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok((data, time))
        }
        Ok(Value::String(data)) => Ok((data, None)),
        _ => Ok((text.to_owned(), None)),
    }
}

/// `elkyc encrypt`.
pub fn encrypt(args: &ElkycEncryptArgs, out: &Output) -> Result<Outcome, Failure> {
    let body = input::read(args.input.as_deref(), out)?;
    let data: Value = serde_json::from_slice(&body)
        .map_err(|e| Failure::usage(format!("the input is not JSON: {e}")))?;
    let time: Timestamp = match &args.time {
        Some(t) => t
            .parse()
            .map_err(|e| Failure::usage(format!("--time `{t}`: {e}")))?,
        None => Timestamp::now(),
    };
    let settings = settings(&args.crypto, out)?;
    let cipher = Cipher::with_options(&settings, options(&args.crypto)).map_err(key_failure)?;
    let (sealed, signature) = Envelope::new(200, data)
        .seal(&cipher, time)
        .map_err(|e| Failure::config(format!("cannot seal: {e}")))?;
    let sealed = String::from_utf8_lossy(&sealed).into_owned();
    Ok(Outcome::ok(
        json!({"method": cipher.method(), "signature": signature, "body": sealed}),
        format!("{SIGNATURE_HEADER}: {signature}\n\n{sealed}"),
    ))
}

/// The application's keys for the chosen method.
fn settings(crypto: &ElkycCryptoArgs, out: &Output) -> Result<EncryptionSettings, Failure> {
    let secret = ELKYC_SECRET_KEY.require(crypto.secret_key_file.as_deref(), out)?;
    Ok(match crypto.method {
        Method::Cbc => {
            let hmac = ELKYC_HMAC_KEY.require(crypto.hmac_key_file.as_deref(), out)?;
            EncryptionSettings::cbc(secrets::expose(&secret), secrets::expose(&hmac))
        }
        Method::Gcm => EncryptionSettings::gcm(secrets::expose(&secret)),
    })
}

/// The application's cipher for the console, when its secret key is configured
/// (environment or file, as every command reads it); `None` without one.
#[cfg(feature = "console")]
pub fn console_cipher(crypto: &ElkycCryptoArgs, out: &Output) -> Result<Option<Cipher>, Failure> {
    if ELKYC_SECRET_KEY
        .load(crypto.secret_key_file.as_deref(), out)?
        .is_none()
    {
        return Ok(None);
    }
    let settings = settings(crypto, out)?;
    Cipher::with_options(&settings, options(crypto))
        .map(Some)
        .map_err(key_failure)
}

/// A stored envelope opened by kyc-public-api's cipher with the `x-allpass-signature` it
/// came with: the decrypted `data`, pretty-printed when it is JSON.
#[cfg(feature = "console")]
pub fn open_stored(
    cipher: &Cipher,
    body: &[u8],
    signature: Option<&str>,
) -> Result<String, String> {
    let (data, _) = envelope_parts(body).map_err(|f| f.message)?;
    let signature = signature.ok_or("no signature was stored with it")?;
    let plain = cipher
        .decrypt(&data, signature)
        .map_err(|e| e.to_string())?;
    Ok(match serde_json::from_slice::<Value>(&plain) {
        Ok(value) => serde_json::to_string_pretty(&value)
            .unwrap_or_else(|_| String::from_utf8_lossy(&plain).into_owned()),
        Err(_) => String::from_utf8_lossy(&plain).into_owned(),
    })
}

/// The readings of the unconfirmed details: the command line holds the client's own types.
fn options(crypto: &ElkycCryptoArgs) -> EncryptionOptions {
    EncryptionOptions::default()
        .mac(crypto.mac)
        .mac_input(crypto.mac_input)
        .hmac_key(crypto.hmac_key)
        .signature_encoding(crypto.signature_encoding)
        .gcm_nonce(crypto.gcm_nonce)
        .nonce_placement(crypto.nonce_placement)
}

/// A key the cipher refused: a configuration error that names the key, never shows it.
fn key_failure(e: EncryptionError) -> Failure {
    Failure::config(format!("the application's keys: {e}"))
}

/// The client behind `state elkyc`.
pub fn provider(args: &StateElkycArgs, out: &Output) -> Result<Box<dyn AmlProvider>, Failure> {
    let base_url = args.base_url.clone().ok_or_else(|| {
        Failure::config(
            "the elKYC base URL is not configured: set $ELKYC_BASE_URL or pass --base-url \
             (the provider publishes none)",
        )
    })?;
    out.note(format!("elKYC at {}", secrets::shown_url(&base_url)));
    let api_key = ELKYC_API_KEY.require(args.api_key_file.as_deref(), out)?;
    let mut builder = KycClient::builder()
        .base_url(base_url)
        .api_key(secrets::expose(&api_key));
    if ELKYC_SECRET_KEY
        .load(args.crypto.secret_key_file.as_deref(), out)?
        .is_some()
    {
        builder = builder
            .encryption(settings(&args.crypto, out)?)
            .encryption_options(options(&args.crypto));
    } else {
        out.note("no secret key: encrypted answers cannot be opened");
    }
    let client = builder
        .build()
        .map_err(|e| crate::outcome::client_failure("elKYC", &e))?;
    Ok(Box::new(client.aml()))
}
