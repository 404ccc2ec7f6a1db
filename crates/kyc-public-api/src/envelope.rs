//! The provider's envelope, `{status, statusCode, data, time}`, around every response and
//! webhook; `data` is a JSON value, or a hex string when encrypted.
//!
//! "Envelope" is meant literally here, and the workspace uses the word for nothing else: a
//! wrapper whose content can be sealed (encrypted and authenticated). Heleket's plain answers
//! are read in heleket-aml's `answer.rs`, Tuum's deliveries are notifications, BTC Direct's
//! refusals are error bodies.
//!
//! Reading is done for you by the client and the webhook receiver. `Envelope` (feature
//! `test-util`) builds one, plain or encrypted, for a simulator or a test.

use compliance_core::time::Timestamp;
use compliance_core::{Error as CoreError, Lenient};
use serde::Deserialize;
#[cfg(feature = "test-util")]
use serde::Serialize;
use serde_json::value::RawValue;

use crate::encryption::{Cipher, EncryptionError};

/// An envelope to send: what the provider's responses and webhooks look like (feature
/// `test-util`, for tests and simulators that play the provider).
///
/// ```
/// use kyc_public_api::encryption::{Cipher, EncryptionSettings};
/// use kyc_public_api::Envelope;
///
/// let cipher = Cipher::new(&EncryptionSettings::gcm("11".repeat(32)))?;
/// let envelope = Envelope::new(200, serde_json::json!({"id": "a-1", "status": "INIT"}));
/// let (body, signature) = envelope.seal(&cipher, "2025-07-04T12:01:17.228Z".parse()?)?;
/// assert!(String::from_utf8(body)?.contains(r#""data":""#));
/// assert_eq!(signature.len(), 32);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Envelope<T> {
    /// `true` for success.
    pub status: bool,
    /// The status code the provider repeats in the body.
    pub status_code: u16,
    /// The payload.
    pub data: T,
}

#[cfg(feature = "test-util")]
impl<T: Serialize> Envelope<T> {
    /// A successful envelope.
    pub fn new(status_code: u16, data: T) -> Self {
        Self {
            status: true,
            status_code,
            data,
        }
    }

    /// The plain JSON body, stamped with `time`.
    pub fn to_plain(&self, time: Timestamp) -> Result<Vec<u8>, CoreError> {
        serde_json::to_vec(&Wire {
            status: self.status,
            status_code: self.status_code,
            data: &self.data,
            time,
        })
        .map_err(|e| CoreError::Config(format!("envelope cannot be serialised: {e}")))
    }

    /// The encrypted JSON body (with `data` encrypted) and its `x-allpass-signature`
    /// value, stamped with `time`.
    pub fn seal(
        &self,
        cipher: &Cipher,
        time: Timestamp,
    ) -> Result<(Vec<u8>, String), crate::Error> {
        let plaintext = serde_json::to_vec(&self.data)
            .map_err(|e| CoreError::Config(format!("envelope data cannot be serialised: {e}")))?;
        let crate::encryption::Sealed { data, signature } = cipher.encrypt(&plaintext)?;
        let body = Envelope {
            status: self.status,
            status_code: self.status_code,
            data,
        }
        .to_plain(time)?;
        Ok((body, signature))
    }
}

#[cfg(feature = "test-util")]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a, T> {
    status: bool,
    status_code: u16,
    data: &'a T,
    /// Written the way the provider writes it: UTC with exactly three fractional digits
    /// (`2021-08-20T14:52:33.648Z`).
    #[serde(serialize_with = "millis")]
    time: Timestamp,
}

#[cfg(feature = "test-util")]
fn millis<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{t:.3}"))
}

/// An envelope as received, before `data` is interpreted.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawEnvelope {
    /// `Some(false)` only for a literal `false`; anything else is not read as a failure.
    #[serde(default, deserialize_with = "bool_or_none")]
    pub(crate) status: Option<bool>,
    #[serde(default)]
    pub(crate) data: Option<Box<RawValue>>,
    /// A string that may or may not parse; any other JSON type reads as `None`.
    #[serde(default, deserialize_with = "time_or_none")]
    pub(crate) time: Option<Lenient<Timestamp>>,
}

fn bool_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(serde_json::Value::deserialize(d)?.as_bool())
}

fn time_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Lenient<Timestamp>>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(Lenient::from(s)),
        _ => None,
    })
}

/// What a raw `data` is.
pub(crate) enum Data<'a> {
    /// An encrypted hex string.
    Encrypted(String),
    /// Plain JSON.
    Plain(&'a str),
    /// `null` or absent.
    Missing,
}

impl RawEnvelope {
    pub(crate) fn data(&self) -> Result<Data<'_>, CoreError> {
        let Some(raw) = self.data.as_deref() else {
            return Ok(Data::Missing);
        };
        let text = raw.get();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text)
                .map_err(|e| CoreError::decode("envelope", "data", e, text.as_bytes()))?;
            Ok(Data::Encrypted(s))
        } else if text == "null" {
            Ok(Data::Missing)
        } else {
            Ok(Data::Plain(text))
        }
    }
}

/// Verifies and decrypts an encrypted `data` string.
pub(crate) fn open_encrypted(
    cipher: &Cipher,
    data: &str,
    signature: Option<&str>,
) -> Result<Vec<u8>, EncryptionError> {
    let signature = signature.ok_or(EncryptionError::MissingSignature)?;
    cipher.decrypt(data, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_envelope_fields_do_not_break_decoding() {
        let env: RawEnvelope =
            serde_json::from_slice(br#"{"status":"yes","data":{"a":1},"time":1724165553}"#)
                .unwrap();
        assert_eq!(env.status, None);
        assert!(env.time.is_none());
        assert!(matches!(env.data(), Ok(Data::Plain(r#"{"a":1}"#))));
        let env: RawEnvelope =
            serde_json::from_slice(br#"{"status":false,"data":null,"time":"text"}"#).unwrap();
        assert_eq!(env.status, Some(false));
        assert_eq!(env.time.as_ref().and_then(Lenient::raw), Some("text"));
        assert!(matches!(env.data(), Ok(Data::Missing)));
    }
}

#[cfg(all(test, feature = "test-util"))]
mod time_format_tests {
    use super::*;

    #[test]
    fn time_is_written_with_three_fractional_digits() {
        let env = Envelope::new(200, serde_json::json!({"id": "a"}));
        for (t, want) in [
            ("2021-08-20T14:52:33.648Z", "2021-08-20T14:52:33.648Z"),
            ("2021-08-20T14:52:33.64Z", "2021-08-20T14:52:33.640Z"),
            ("2021-08-20T14:52:33Z", "2021-08-20T14:52:33.000Z"),
            ("2021-08-20T14:52:33.123456789Z", "2021-08-20T14:52:33.123Z"),
        ] {
            let body = env.to_plain(t.parse().unwrap()).unwrap();
            let text = String::from_utf8(body).unwrap();
            assert!(text.contains(&format!(r#""time":"{want}""#)), "{text}");
        }
    }
}
