//! Heleket's webhooks: raw bytes in, verified typed event out.
//!
//! Heleket puts the signature **inside** the JSON body, as a `sign` member, computed over the
//! body without that member as Heleket's PHP encoded it (compact, keys in order, `/` written
//! `\/`, raw UTF-8, nulls kept). Parsing and re-encoding the JSON cannot reproduce those bytes
//! reliably, so [`WebhookVerifier`] works on the raw request body: it cuts out
//! `"sign":"<hex>"` and one neighbouring comma, leaves every other byte as it is, hashes, and
//! compares in constant time with the key the body's `type` calls for. Only then does it
//! deserialise the body into a [`HeleketWebhook`].
//!
//! Deliveries repeat until your endpoint answers 2xx: deduplicate on `(uuid, status)` with
//! [`WebhookDedup`]. Heleket sends from `31.133.220.8`; the signature, not the address, is
//! what proves a webhook genuine.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use compliance_core::inbox::{Claim, ClaimToken, Inbox, InboxError};
use compliance_core::money::{self, Decimal};
use compliance_core::webhook::constant_time_eq;
use compliance_core::{ExposeSecret, SecretString, json};
use serde::{Deserialize, Serialize};

use crate::payment::{Convert, PaymentStatus};
use crate::payout::PayoutStatus;
use crate::sign::{KeyKind, sign};

/// The `type` of a webhook, which decides the key that signs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookKind {
    /// An invoice payment (payment key).
    Payment,
    /// A deposit to a static wallet (payment key).
    Wallet,
    /// A payout (payout key).
    Payout,
}

impl WebhookKind {
    /// The `type` value (and test-webhook path segment): `payment`, `wallet`, `payout`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Payment => "payment",
            WebhookKind::Wallet => "wallet",
            WebhookKind::Payout => "payout",
        }
    }

    /// The key that signs webhooks of this kind.
    pub fn key_kind(self) -> KeyKind {
        match self {
            WebhookKind::Payment | WebhookKind::Wallet => KeyKind::Payment,
            WebhookKind::Payout => KeyKind::Payout,
        }
    }

    fn from_type(t: &str) -> Option<Self> {
        match t {
            "payment" => Some(WebhookKind::Payment),
            "wallet" => Some(WebhookKind::Wallet),
            "payout" => Some(WebhookKind::Payout),
            _ => None,
        }
    }
}

impl fmt::Display for WebhookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a webhook signature did not match, as far as it can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MismatchCause {
    /// The body verifies once `/` is escaped as `\/` again: something parsed and re-encoded
    /// the body before it reached the verifier.
    ReSerialised,
    /// The body verifies with the other key: the keys are swapped, or the wrong one was
    /// configured.
    WrongKey {
        /// The key webhooks of this type are checked with.
        expected: KeyKind,
        /// The key the body verifies with.
        verifies_with: KeyKind,
    },
    /// None of the known mistakes explains it: the body was altered or signed by someone
    /// else (or re-encoded in a way that cannot be undone: keys reordered, nulls dropped).
    Unexplained,
}

impl fmt::Display for MismatchCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MismatchCause::ReSerialised => f.write_str(
                "the body was re-serialised before verification (it verifies once `/` is \
                 escaped as `\\/` again); pass the raw request bytes",
            ),
            MismatchCause::WrongKey {
                expected,
                verifies_with,
            } => write!(
                f,
                "wrong key for this webhook type: it is checked with the {expected} but \
                 verifies with the {verifies_with}; are the two keys swapped?"
            ),
            MismatchCause::Unexplained => f.write_str(
                "the body was altered, or signed with a key this verifier does not hold; if a \
                 framework parsed the body, pass the raw request bytes instead",
            ),
        }
    }
}

/// Why a webhook was rejected. Answer such a delivery with a 4xx and do not act on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is not a well-formed JSON object.
    #[error("webhook body is not a well-formed JSON object: {0}")]
    Malformed(String),
    /// The body has no top-level `sign` member.
    #[error("webhook body has no `sign` member")]
    MissingSign,
    /// The `sign` member is empty or not a string.
    #[error("webhook `sign` is empty or not a string")]
    EmptySign,
    /// The body has no `type`, so the key cannot be chosen.
    #[error("webhook body has no `type`")]
    MissingType,
    /// The `type` is not one this crate knows the key for.
    #[error("unknown webhook type `{0}` (expected payment, wallet or payout)")]
    UnknownType(String),
    /// The webhook needs a key the verifier was built without.
    #[error("a {kind} webhook is signed with the {key}, which the verifier was built without")]
    MissingKey {
        /// The webhook's type.
        kind: WebhookKind,
        /// The missing key.
        key: KeyKind,
    },
    /// The signature does not match.
    #[error("{kind} webhook signature mismatch: {cause}")]
    Mismatch {
        /// The webhook's type.
        kind: WebhookKind,
        /// The likely cause.
        cause: MismatchCause,
    },
    /// The signature is valid but the content does not have the expected shape.
    #[error("verified webhook could not be read: {0}")]
    Decode(#[source] compliance_core::Error),
}

/// Verifies Heleket webhooks from their raw bytes.
///
/// ```
/// use heleket_aml::{HeleketWebhook, WebhookVerifier};
///
/// let verifier = WebhookVerifier::new("test-api-key");
/// let body = br#"{"type":"payment","uuid":"u1","order_id":"o1","amount":"10.00","currency":"USDT","status":"paid","is_final":true,"url":"https:\/\/pay.heleket.com\/pay\/abc","sign":"81d0ef682e1d6b828628a17350ba4ee4"}"#;
/// match verifier.verify(body) {
///     Ok(HeleketWebhook::Payment(payment)) => assert_eq!(payment.amount.to_string(), "10.00"),
///     Ok(other) => println!("{:?}", other.kind()),
///     Err(e) => panic!("reject the delivery: {e}"),
/// }
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    payment: SecretString,
    payout: Option<SecretString>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("payment_key", &"[redacted]")
            .field("payout_key", &self.payout.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Where the `sign` member sits in a body, and the body without it.
struct Located<'a> {
    signature: &'a [u8],
    unsigned: Vec<u8>,
}

impl WebhookVerifier {
    /// A verifier for payment and wallet webhooks.
    pub fn new(payment_key: impl Into<SecretString>) -> Self {
        Self {
            payment: payment_key.into(),
            payout: None,
        }
    }

    /// Also verifies payout webhooks, with the payout key.
    pub fn with_payout_key(mut self, payout_key: impl Into<SecretString>) -> Self {
        self.payout = Some(payout_key.into());
        self
    }

    /// Verifies `body` (the raw request body, byte for byte) and reads it.
    ///
    /// `body` is read whole: cap request bodies before calling (a Heleket webhook is a few
    /// KiB; a 64 KiB limit in the HTTP server is ample).
    pub fn verify(&self, body: &[u8]) -> Result<HeleketWebhook, WebhookError> {
        let kind = self.verify_signature(body)?;
        let decode = WebhookError::Decode;
        Ok(match kind {
            WebhookKind::Payment => {
                HeleketWebhook::Payment(json::decode("webhook", body).map_err(decode)?)
            }
            WebhookKind::Wallet => {
                HeleketWebhook::Wallet(json::decode("webhook", body).map_err(decode)?)
            }
            WebhookKind::Payout => {
                HeleketWebhook::Payout(json::decode("webhook", body).map_err(decode)?)
            }
        })
    }

    /// Checks only the signature of `body` and returns its type; [`verify`](Self::verify)
    /// also reads the content.
    pub fn verify_signature(&self, body: &[u8]) -> Result<WebhookKind, WebhookError> {
        let located = locate_sign(body)?;
        let kind = webhook_type(body)?;
        let expected = kind.key_kind();
        let key = self.key(expected).ok_or(WebhookError::MissingKey {
            kind,
            key: expected,
        })?;
        if constant_time_eq(
            sign(&located.unsigned, key.expose_secret()).as_bytes(),
            located.signature,
        ) {
            return Ok(kind);
        }
        Err(WebhookError::Mismatch {
            kind,
            cause: self.diagnose(&located, expected),
        })
    }

    fn key(&self, kind: KeyKind) -> Option<&SecretString> {
        match kind {
            KeyKind::Payment => Some(&self.payment),
            KeyKind::Payout => self.payout.as_ref(),
        }
    }

    /// Tries the common integration mistakes on a body that did not verify.
    fn diagnose(&self, located: &Located<'_>, expected: KeyKind) -> MismatchCause {
        let matches = |body: &[u8], key: &SecretString| {
            constant_time_eq(
                sign(body, key.expose_secret()).as_bytes(),
                located.signature,
            )
        };
        let re_escaped = escape_slashes(&located.unsigned);
        if let (Some(body), Some(key)) = (&re_escaped, self.key(expected))
            && matches(body, key)
        {
            return MismatchCause::ReSerialised;
        }
        if let Some(other) = self.key(expected.other()) {
            let verifies = matches(&located.unsigned, other)
                || re_escaped.as_deref().is_some_and(|b| matches(b, other));
            if verifies {
                return MismatchCause::WrongKey {
                    expected,
                    verifies_with: expected.other(),
                };
            }
        }
        MismatchCause::Unexplained
    }
}

/// Reads the top-level `type` (and checks that the whole body is well-formed JSON).
fn webhook_type(body: &[u8]) -> Result<WebhookKind, WebhookError> {
    #[derive(Deserialize)]
    struct TypeProbe {
        #[serde(rename = "type", default)]
        kind: Option<String>,
    }
    let probe: TypeProbe =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let t = probe.kind.ok_or(WebhookError::MissingType)?;
    WebhookKind::from_type(&t).ok_or(WebhookError::UnknownType(t))
}

/// One top-level member: the key token (quotes included) and the value token.
struct Member {
    key: Range<usize>,
    value: Range<usize>,
}

/// Finds the top-level `"sign":"<hex>"` member and the body without it and one neighbouring
/// comma. Every other byte is kept as received.
fn locate_sign(body: &[u8]) -> Result<Located<'_>, WebhookError> {
    let (members, commas) = scan_object(body)?;
    let mut signs = members
        .iter()
        .enumerate()
        .filter(|(_, m)| &body[m.key.clone()] == b"\"sign\"");
    let (index, member) = signs.next().ok_or(WebhookError::MissingSign)?;
    if signs.next().is_some() {
        return Err(WebhookError::Malformed(
            "more than one `sign` member".into(),
        ));
    }
    let value = &body[member.value.clone()];
    let signature = match value {
        [b'"', inner @ .., b'"'] if !inner.is_empty() => inner,
        _ => return Err(WebhookError::EmptySign),
    };
    // The cut: the member itself, plus the comma after it (or before it, when it is last).
    let cuts: [Range<usize>; 2] = if index + 1 < members.len() {
        let comma = commas[index];
        [member.key.start..member.value.end, comma..comma + 1]
    } else if index > 0 {
        let comma = commas[index - 1];
        [comma..comma + 1, member.key.start..member.value.end]
    } else {
        [member.key.start..member.value.end, 0..0]
    };
    let mut unsigned = Vec::with_capacity(body.len());
    let mut at = 0;
    for cut in cuts.iter().filter(|c| !c.is_empty()) {
        unsigned.extend_from_slice(&body[at..cut.start]);
        at = cut.end;
    }
    unsigned.extend_from_slice(&body[at..]);
    Ok(Located {
        signature,
        unsigned,
    })
}

fn malformed(what: &str, at: usize) -> WebhookError {
    WebhookError::Malformed(format!("{what} at byte {at}"))
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while matches!(body.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The top-level members of an object and the positions of the commas between them. Only
/// the structure is checked here; `serde_json` checks the rest.
fn scan_object(body: &[u8]) -> Result<(Vec<Member>, Vec<usize>), WebhookError> {
    let mut members = Vec::new();
    let mut commas = Vec::new();
    let mut i = skip_ws(body, 0);
    if body.get(i) != Some(&b'{') {
        return Err(malformed("expected `{`", i));
    }
    i = skip_ws(body, i + 1);
    if body.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if body.get(i) != Some(&b'"') {
                return Err(malformed("expected a member name", i));
            }
            let key_start = i;
            i = end_of_string(body, i)?;
            let key = key_start..i;
            i = skip_ws(body, i);
            if body.get(i) != Some(&b':') {
                return Err(malformed("expected `:`", i));
            }
            i = skip_ws(body, i + 1);
            let value_start = i;
            i = end_of_value(body, i)?;
            members.push(Member {
                key,
                value: value_start..i,
            });
            i = skip_ws(body, i);
            match body.get(i) {
                Some(b',') => {
                    commas.push(i);
                    i = skip_ws(body, i + 1);
                }
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err(malformed("expected `,` or `}`", i)),
            }
        }
    }
    if skip_ws(body, i) != body.len() {
        return Err(malformed("unexpected data after the object", i));
    }
    Ok((members, commas))
}

/// `body[start]` is `"`; returns the index after the closing quote.
fn end_of_string(body: &[u8], start: usize) -> Result<usize, WebhookError> {
    let mut i = start + 1;
    loop {
        match body.get(i) {
            None => return Err(malformed("unterminated string", start)),
            Some(b'\\') => i += 2,
            Some(b'"') => return Ok(i + 1),
            Some(_) => i += 1,
        }
    }
}

fn end_of_value(body: &[u8], start: usize) -> Result<usize, WebhookError> {
    match body.get(start) {
        None => Err(malformed("expected a value", start)),
        Some(b'"') => end_of_string(body, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match body.get(i) {
                    None => return Err(malformed("unterminated object or array", start)),
                    Some(b'"') => {
                        i = end_of_string(body, i)?;
                        continue;
                    }
                    Some(b'{' | b'[') => depth += 1,
                    Some(b'}' | b']') => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    Some(_) => {}
                }
                i += 1;
            }
        }
        Some(_) => {
            let mut i = start;
            while let Some(b) = body.get(i) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            if i == start {
                Err(malformed("expected a value", start))
            } else {
                Ok(i)
            }
        }
    }
}

/// The body with every unescaped `/` inside a string written `\/`, as PHP writes it; `None`
/// when there is no such `/`.
fn escape_slashes(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut in_string = false;
    let mut changed = false;
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        match b {
            b'\\' if in_string => {
                out.push(b);
                if let Some(&next) = body.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            b'"' => in_string = !in_string,
            b'/' if in_string => {
                out.push(b'\\');
                changed = true;
            }
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HeleketWebhook {
    /// An invoice payment changed status.
    Payment(PaymentWebhook),
    /// A deposit to a static wallet.
    Wallet(PaymentWebhook),
    /// A payout changed status.
    Payout(PayoutWebhook),
}

impl HeleketWebhook {
    /// The webhook's type.
    pub fn kind(&self) -> WebhookKind {
        match self {
            HeleketWebhook::Payment(_) => WebhookKind::Payment,
            HeleketWebhook::Wallet(_) => WebhookKind::Wallet,
            HeleketWebhook::Payout(_) => WebhookKind::Payout,
        }
    }

    /// The payment's or payout's uuid.
    pub fn uuid(&self) -> &str {
        match self {
            HeleketWebhook::Payment(p) | HeleketWebhook::Wallet(p) => &p.uuid,
            HeleketWebhook::Payout(p) => &p.uuid,
        }
    }

    /// The status, as Heleket spells it.
    pub fn status(&self) -> &str {
        match self {
            HeleketWebhook::Payment(p) | HeleketWebhook::Wallet(p) => p.status.as_str(),
            HeleketWebhook::Payout(p) => p.status.as_str(),
        }
    }

    /// Whether the status will not change any more.
    pub fn is_final(&self) -> bool {
        match self {
            HeleketWebhook::Payment(p) | HeleketWebhook::Wallet(p) => p.is_final,
            HeleketWebhook::Payout(p) => p.is_final,
        }
    }

    /// The deduplication key: `heleket:<type>:<uuid>:<status>`. Heleket redelivers until it
    /// gets a 2xx; the same `(uuid, status)` is the same event.
    pub fn dedup_key(&self) -> String {
        format!("heleket:{}:{}:{}", self.kind(), self.uuid(), self.status())
    }
}

/// A payment or wallet webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentWebhook {
    /// The invoice (or wallet transaction) uuid.
    pub uuid: String,
    /// The merchant's order id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The invoiced amount.
    #[serde(with = "money::decimal")]
    pub amount: Decimal,
    /// The amount received, in `payer_currency`.
    #[serde(default, with = "money::decimal::option")]
    pub payment_amount: Option<Decimal>,
    /// The amount received, in USD.
    #[serde(default, with = "money::decimal::option")]
    pub payment_amount_usd: Option<Decimal>,
    /// What the merchant receives after fees.
    #[serde(default, with = "money::decimal::option")]
    pub merchant_amount: Option<Decimal>,
    /// Heleket's commission.
    #[serde(default, with = "money::decimal::option")]
    pub commission: Option<Decimal>,
    /// Whether the status will not change any more.
    pub is_final: bool,
    /// The payment status ([`PaymentStatus::Locked`]: held by AML).
    pub status: PaymentStatus,
    /// The payer's sending address.
    #[serde(default)]
    pub from: Option<String>,
    /// The static wallet's uuid (wallet webhooks).
    #[serde(default)]
    pub wallet_address_uuid: Option<String>,
    /// The blockchain network code.
    #[serde(default)]
    pub network: Option<String>,
    /// The invoice currency.
    pub currency: String,
    /// The currency the payer paid in.
    #[serde(default)]
    pub payer_currency: Option<String>,
    /// The amount the payer paid, in `payer_currency`.
    #[serde(default, with = "money::decimal::option")]
    pub payer_amount: Option<Decimal>,
    /// The exchange rate applied to the payer's amount.
    #[serde(default, with = "money::decimal::option")]
    pub payer_amount_exchange_rate: Option<Decimal>,
    /// The transfer's id.
    #[serde(default)]
    pub transfer_id: Option<String>,
    /// The merchant's additional data.
    #[serde(default)]
    pub additional_data: Option<String>,
    /// Currency conversion (only with auto-convert).
    #[serde(default)]
    pub convert: Option<Convert>,
    /// The transaction hash (may be absent).
    #[serde(default)]
    pub txid: Option<String>,
}

/// A payout webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PayoutWebhook {
    /// The payout uuid.
    pub uuid: String,
    /// The merchant's order id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The payout amount.
    #[serde(with = "money::decimal")]
    pub amount: Decimal,
    /// The amount debited from the merchant.
    #[serde(default, with = "money::decimal::option")]
    pub merchant_amount: Option<Decimal>,
    /// Heleket's commission.
    #[serde(default, with = "money::decimal::option")]
    pub commission: Option<Decimal>,
    /// Whether the status will not change any more.
    pub is_final: bool,
    /// The payout status.
    pub status: PayoutStatus,
    /// The transaction hash.
    #[serde(default)]
    pub txid: Option<String>,
    /// The payout currency.
    pub currency: String,
    /// The blockchain network code.
    #[serde(default)]
    pub network: Option<String>,
    /// The currency paid out.
    #[serde(default)]
    pub payer_currency: Option<String>,
    /// The amount paid out, in `payer_currency`.
    #[serde(default, with = "money::decimal::option")]
    pub payer_amount: Option<Decimal>,
}

/// Processes each `(uuid, status)` once, whatever the number of deliveries, on top of a
/// core [`Inbox`] (in memory or persistent).
///
/// ```
/// # async fn handle(verifier: &heleket_aml::WebhookVerifier, body: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// use compliance_core::{Claim, MemoryInbox};
/// use heleket_aml::WebhookDedup;
///
/// let dedup = WebhookDedup::new(MemoryInbox::new());
/// let webhook = verifier.verify(body)?;
/// if let Claim::Acquired(token) = dedup.claim(&webhook).await? {
///     // ... act on the webhook, then:
///     dedup.complete(&webhook, &token).await?;
/// }
/// // AlreadyDone / InProgress: answer 200 and do nothing.
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebhookDedup {
    inbox: Arc<dyn Inbox>,
}

impl fmt::Debug for WebhookDedup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookDedup").finish_non_exhaustive()
    }
}

impl WebhookDedup {
    /// Deduplicates through `inbox`.
    pub fn new(inbox: impl Inbox + 'static) -> Self {
        Self {
            inbox: Arc::new(inbox),
        }
    }

    /// Deduplicates through a shared inbox.
    pub fn shared(inbox: Arc<dyn Inbox>) -> Self {
        Self { inbox }
    }

    /// Claims the webhook's `(uuid, status)`: only [`Claim::Acquired`] should act on it.
    pub async fn claim(&self, webhook: &HeleketWebhook) -> Result<Claim, InboxError> {
        self.inbox.claim(&webhook.dedup_key()).await
    }

    /// Marks the webhook processed; its redeliveries are [`Claim::AlreadyDone`].
    pub async fn complete(
        &self,
        webhook: &HeleketWebhook,
        token: &ClaimToken,
    ) -> Result<(), InboxError> {
        self.inbox.complete(&webhook.dedup_key(), token).await
    }

    /// Gives the webhook back unprocessed, so that a redelivery is processed.
    pub async fn release(
        &self,
        webhook: &HeleketWebhook,
        token: &ClaimToken,
    ) -> Result<(), InboxError> {
        self.inbox.release(&webhook.dedup_key(), token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-api-key";
    const VECTOR: &[u8] = br#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc","sign":"9c0e0eab18980f9e5e9fb5f796ecd3a8"}"#;

    #[test]
    fn spec_vector_verifies() {
        let v = WebhookVerifier::new(KEY);
        assert_eq!(v.verify_signature(VECTOR).unwrap(), WebhookKind::Payment);
        let located = locate_sign(VECTOR).unwrap();
        assert_eq!(
            located.unsigned,
            br#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc"}"#
        );
        assert_eq!(located.signature, b"9c0e0eab18980f9e5e9fb5f796ecd3a8");
    }

    #[test]
    fn the_cut_takes_one_comma_and_nothing_else() {
        for (body, unsigned) in [
            (r#"{"sign":"ab","a":1}"#, r#"{"a":1}"#),
            (r#"{"a":1,"sign":"ab"}"#, r#"{"a":1}"#),
            (r#"{"a":1,"sign":"ab","b":2}"#, r#"{"a":1,"b":2}"#),
            (r#"{"sign":"ab"}"#, r#"{}"#),
            (r#" { "a" : 1 , "sign" : "ab" } "#, r#" { "a" : 1   } "#),
            (
                r#"{"x":{"sign":"no"},"sign":"ab"}"#,
                r#"{"x":{"sign":"no"}}"#,
            ),
            (
                r#"{"s":"\"sign\":\"x\"","sign":"ab"}"#,
                r#"{"s":"\"sign\":\"x\""}"#,
            ),
        ] {
            let located = locate_sign(body.as_bytes()).unwrap();
            assert_eq!(
                String::from_utf8(located.unsigned).unwrap(),
                unsigned,
                "{body}"
            );
            assert_eq!(located.signature, b"ab");
        }
    }

    #[test]
    fn structural_errors() {
        for (body, expected) in [
            (r#"{"a":1}"#, "MissingSign"),
            (r#"{"sign":""}"#, "EmptySign"),
            (r#"{"sign":null}"#, "EmptySign"),
            (r#"{"sign":"a","sign":"b"}"#, "Malformed"),
            (r#"["sign"]"#, "Malformed"),
            (r#"{"sign":"a""#, "Malformed"),
            (r#"{"sign":"a"} x"#, "Malformed"),
            (r#"{"a":[1,{"b":"]"}],"sign":"a"}"#, "ok"),
            ("", "Malformed"),
        ] {
            let got = match locate_sign(body.as_bytes()) {
                Ok(_) => "ok",
                Err(WebhookError::MissingSign) => "MissingSign",
                Err(WebhookError::EmptySign) => "EmptySign",
                Err(WebhookError::Malformed(_)) => "Malformed",
                Err(e) => panic!("{e:?}"),
            };
            assert_eq!(got, expected, "{body}");
        }
    }

    #[test]
    fn escape_slashes_respects_escapes() {
        assert_eq!(escape_slashes(br#"{"a":"x\/y"}"#), None);
        assert_eq!(
            escape_slashes(br#"{"a":"x/y\\/z","b\"/":1}"#).unwrap(),
            br#"{"a":"x\/y\\\/z","b\"\/":1}"#
        );
    }

    #[test]
    fn dedup_keys_include_type_uuid_and_status() {
        let v = WebhookVerifier::new(KEY);
        let body = br#"{"type":"payment","uuid":"u1","amount":"1","is_final":false,"status":"locked","currency":"USDT","sign":"x"}"#;
        let err = v.verify(body).unwrap_err();
        assert!(matches!(err, WebhookError::Mismatch { .. }));
        let webhook: PaymentWebhook = serde_json::from_slice(body).unwrap();
        assert_eq!(
            HeleketWebhook::Payment(webhook).dedup_key(),
            "heleket:payment:u1:locked"
        );
    }

    #[test]
    fn debug_hides_keys() {
        let v = WebhookVerifier::new("pay-secret").with_payout_key("payout-secret");
        let text = format!("{v:?}");
        assert!(!text.contains("pay-secret") && !text.contains("payout-secret"));
    }
}
