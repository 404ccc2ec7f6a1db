//! How Heleket signs: `md5(base64(body) ++ key)`, lowercase hex.
//!
//! The same signature protects requests (in the `sign` header, over the exact body bytes
//! sent) and webhooks (in a `sign` member inside the body, over the body without that
//! member; see [`crate::webhook`]). The key is appended as text: this is not an HMAC, it is
//! what Heleket computes, so it is what we compute.
//!
//! Which key signs a call is decided by the endpoint ([`KeyKind`]), never by the caller.

use std::fmt;

use async_trait::async_trait;
use compliance_core::http::{Auth, AuthContext, HeaderName, HeaderValue};
use compliance_core::secret::{check_secret, sensitive_header};
use compliance_core::{Error, ExposeSecret, SecretString};
use md5::{Digest, Md5};

/// Which of the merchant's two API keys signs something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// The payment key: payments, AML links, payment and wallet webhooks.
    Payment,
    /// The payout key: payouts, transfers and payout webhooks.
    Payout,
}

impl KeyKind {
    /// `"payment"` or `"payout"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Payment => "payment",
            KeyKind::Payout => "payout",
        }
    }

    /// The other key.
    pub fn other(self) -> KeyKind {
        match self {
            KeyKind::Payment => KeyKind::Payout,
            KeyKind::Payout => KeyKind::Payment,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} key", self.as_str())
    }
}

/// Heleket's signature of `body` with `key`: lowercase hex of
/// `md5(base64_standard(body) ++ key)`. An empty body signs the empty string, so its
/// signature is `md5(key)`.
///
/// `body` must be exactly the bytes sent (or, for a webhook, the received body with its
/// `sign` member cut out).
///
/// ```
/// assert_eq!(
///     heleket_aml::sign::sign(br#"{"order_id":"order-42"}"#, "test-api-key"),
///     "dcbb5d7c669c5daeec167f953afb7171",
/// );
/// ```
pub fn sign(body: &[u8], key: &str) -> String {
    // Hex digits are ASCII: each byte is its char.
    signature(body, key)
        .iter()
        .map(|&digit| char::from(digit))
        .collect()
}

/// [`sign`] as its 32 lowercase hex digits, without allocating: the base64 text is hashed
/// as it is produced, a chunk at a time, instead of being collected first. The base64 is
/// `base64-simd`'s (vector instructions where the CPU has them): after md5 itself, encoding
/// was the largest cost of checking a webhook (the README's Performance section has the
/// measured rows).
pub(crate) fn signature(body: &[u8], key: &str) -> [u8; 32] {
    /// Input per chunk: a multiple of 3 bytes, so only the last chunk can need padding and
    /// the chunks' base64 put together is the whole body's.
    const CHUNK: usize = 768;
    let mut md5 = Md5::new();
    let mut text = [0u8; CHUNK / 3 * 4];
    for chunk in body.chunks(CHUNK) {
        // 4 bytes of output for every 3 of input (rounded up, padded): `text` fits a chunk.
        let encoded = base64_simd::STANDARD.encode(chunk, base64_simd::Out::from_slice(&mut text));
        md5.update(&*encoded);
    }
    md5.update(key.as_bytes());
    let mut hex = [0u8; 32];
    #[expect(
        clippy::expect_used,
        reason = "md5's 16 bytes always fit 32 hex digits; hex fails only on a length mismatch"
    )]
    hex::encode_to_slice(md5.finalize(), &mut hex).expect("16 bytes are 32 hex digits");
    hex
}

/// The request signer: a [`compliance_core::http::Auth`] whose identity is fixed (the
/// merchant and one key) and whose signing step adds the `merchant` header and a `sign`
/// header (marked sensitive) computed over the exact bytes of each attempt's body. Heleket's
/// answers are read by the client, so it classifies nothing.
pub(crate) struct RequestSigner {
    merchant: HeaderValue,
    key: SecretString,
    kind: KeyKind,
}

impl RequestSigner {
    /// A signer for `merchant` (the merchant uuid) with one of its keys.
    ///
    /// Fails with a configuration error if the merchant uuid cannot be a header value or
    /// the key is empty or starts or ends with whitespace (the workspace's one rule for
    /// secrets, [`compliance_core::secret::SecretProblem`]).
    pub(crate) fn new(merchant: &str, key: SecretString, kind: KeyKind) -> Result<Self, Error> {
        if merchant.trim().is_empty() {
            return Err(Error::Config("the merchant uuid is empty".into()));
        }
        let merchant = HeaderValue::from_str(merchant).map_err(|_| {
            Error::Config("the merchant uuid contains characters not allowed in a header".into())
        })?;
        check_secret(&format!("the {kind}"), &key)?;
        Ok(Self {
            merchant,
            key,
            kind,
        })
    }

    /// The `merchant` and `sign` headers for a request whose body is exactly `body`.
    fn headers(&self, body: &[u8]) -> Result<[(HeaderName, HeaderValue); 2], Error> {
        let signature = sign(body, self.key.expose_secret());
        Ok([
            (HeaderName::from_static("merchant"), self.merchant.clone()),
            (
                HeaderName::from_static("sign"),
                sensitive_header("request signature", &signature)?,
            ),
        ])
    }
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("merchant", &self.merchant)
            .field("kind", &self.kind)
            .field("key", &"[redacted]")
            .finish()
    }
}

#[async_trait]
impl Auth for RequestSigner {
    type Identity = ();
    type Error = Error;

    async fn resolve(&self) -> Result<(), Error> {
        Ok(())
    }

    fn sign(&self, _: &(), request: &mut AuthContext<'_>) -> Result<(), Error> {
        let [merchant, sign] = self.headers(request.body)?;
        request.headers.insert(merchant.0, merchant.1);
        request.headers.insert(sign.0, sign.1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test-api-key";

    #[test]
    fn spec_vectors() {
        assert_eq!(sign(b"", KEY), "6339da7207f32bfc28decb98edf89318");
        assert_eq!(
            sign(br#"{"order_id":"order-42"}"#, KEY),
            "dcbb5d7c669c5daeec167f953afb7171"
        );
        // The webhook vector: the body without its `sign` member.
        assert_eq!(
            sign(
                br#"{"type":"payment","uuid":"u1","status":"paid","url":"https:\/\/pay.heleket.com\/pay\/abc"}"#,
                KEY
            ),
            "9c0e0eab18980f9e5e9fb5f796ecd3a8"
        );
    }

    #[test]
    fn chunked_base64_is_the_whole_body_base64() {
        // Checked against another implementation (the `base64` crate), around the chunk size
        // and its multiples, where padding could slip in between.
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        for len in [0, 1, 2, 3, 766, 767, 768, 769, 770, 1535, 1536, 1537, 4000] {
            let body: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let mut md5 = Md5::new();
            md5.update(STANDARD.encode(&body).as_bytes());
            md5.update(KEY.as_bytes());
            assert_eq!(sign(&body, KEY), hex::encode(md5.finalize()), "{len} bytes");
        }
    }

    #[test]
    fn empty_body_signs_the_key_alone() {
        // md5("" ++ key): the base64 of nothing is nothing.
        let mut md5 = Md5::new();
        md5.update(KEY.as_bytes());
        assert_eq!(sign(b"", KEY), hex::encode(md5.finalize()));
    }

    #[test]
    fn slash_escaping_changes_the_signature() {
        assert_ne!(sign(br#"{"u":"a/b"}"#, KEY), sign(br#"{"u":"a\/b"}"#, KEY));
    }

    #[test]
    fn signer_sets_merchant_and_a_sensitive_sign_header() {
        let signer =
            RequestSigner::new("merchant-uuid", SecretString::from(KEY), KeyKind::Payment).unwrap();
        let [(mname, merchant), (sname, sign)] =
            signer.headers(br#"{"order_id":"order-42"}"#).unwrap();
        assert_eq!(
            (mname.as_str(), merchant.to_str().unwrap()),
            ("merchant", "merchant-uuid")
        );
        assert_eq!(sname.as_str(), "sign");
        assert_eq!(sign, "dcbb5d7c669c5daeec167f953afb7171");
        assert!(sign.is_sensitive());
        assert!(!merchant.is_sensitive());
        assert!(!format!("{signer:?}").contains(KEY));
    }

    #[test]
    fn signer_rejects_bad_configuration() {
        assert!(RequestSigner::new("", SecretString::from(KEY), KeyKind::Payment).is_err());
        assert!(RequestSigner::new("m\n", SecretString::from(KEY), KeyKind::Payment).is_err());
        let err = RequestSigner::new("m", SecretString::from(""), KeyKind::Payout).unwrap_err();
        assert!(err.to_string().contains("payout key"), "{err}");
    }

    /// Issue #25: one rule for secrets; a key with its file's newline is refused when the
    /// client is built, not answered with a signature error on every call.
    #[test]
    fn a_key_with_surrounding_whitespace_is_refused() {
        let err = RequestSigner::new(
            "m",
            SecretString::from(format!("{KEY}\n")),
            KeyKind::Payment,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("payment key") && text.contains("whitespace"),
            "{text}"
        );
        assert!(!text.contains(KEY), "{text}");
    }
}
