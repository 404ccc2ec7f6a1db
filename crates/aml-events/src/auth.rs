//! Deciding whether a delivery really comes from your Tuum environment.
//!
//! **Tuum signs nothing.** Its deliveries carry no signature and no MAC, so there is no
//! Tuum-specific check to run; this crate does not invent one. What you can check is what
//! you agree with Tuum out of band, and the network path:
//!
//! | [`Authenticator`] | protects against | does not protect against |
//! |---|---|---|
//! | [`SharedSecretHeader`] | anyone on the internet who found the URL | someone who can read the traffic or Tuum's configuration (use HTTPS; rotate the secret) |
//! | [`BasicAuth`] | the same, with the standard `Authorization` header (e.g. a `user:pass@` URL) | the same |
//! | [`IpAllowList`] | requests from networks other than Tuum's | anyone sharing those networks; a proxy in front hides the real peer |
//! | [`AllOf`] | what all its members protect against | replays of a captured delivery (harmless here: a replayed `notificationId` is deduplicated) |
//!
//! None of these authenticates the *body*: a party that can alter traffic in flight can alter
//! the event. Terminate TLS yourself or at a proxy you control; mTLS at that proxy is the
//! strongest option Tuum allows, and then [`SharedSecretHeader`] or [`IpAllowList`] checks
//! that the request came through the proxy.
//!
//! Every check is over the request's headers and the TCP peer address only, so a receiver
//! can reject a request before reading its body.

use std::fmt;
use std::net::IpAddr;

use base64::Engine as _;
use compliance_core::secret::check_secret;
use compliance_core::webhook::constant_time_eq;
use compliance_core::{ExposeSecret, SecretString};
use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderName};
pub use ipnet::IpNet;

use crate::error::Error;

/// What an [`Authenticator`] sees of a delivery: its headers and the TCP peer address.
pub use compliance_core::webhook::RequestInfo;

/// Why a delivery failed authentication. Messages never contain a secret or the value that
/// was presented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The credential was not presented at all.
    #[error("missing credential in `{header}`")]
    Missing {
        /// The header that should carry it.
        header: String,
    },
    /// The credential was presented but is wrong, malformed or ambiguous.
    #[error("invalid credential in `{header}`")]
    Invalid {
        /// The header that carried it.
        header: String,
    },
    /// The peer address is not in the allow-list.
    #[error("peer address {ip} is not allowed")]
    PeerNotAllowed {
        /// The refused address.
        ip: IpAddr,
    },
    /// The check needs the peer address, and the server did not provide it.
    #[error("peer address unknown (serve with connect info to use an IP allow-list)")]
    PeerUnknown,
    /// An [`AllOf`] with no member: it refuses everything rather than accepting everything.
    #[error("no authenticator configured")]
    NothingConfigured,
    /// A custom authenticator refused the delivery.
    #[error("{0}")]
    Other(String),
}

/// Decides whether a delivery is authentic, from its headers and peer address.
///
/// Implement it for checks of your own (a header set by your mTLS proxy, for example).
pub trait Authenticator: Send + Sync {
    /// `Ok(())` if the delivery may be processed.
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), AuthError>;
}

impl<A: Authenticator + ?Sized> Authenticator for Box<A> {
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), AuthError> {
        (**self).authenticate(request)
    }
}

impl<A: Authenticator + ?Sized> Authenticator for std::sync::Arc<A> {
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), AuthError> {
        (**self).authenticate(request)
    }
}

/// The single value of header `name`, or why there is none. Several values are refused: a
/// proxy that appends headers must not let a second value slip past the check.
fn single_header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<&'h [u8], AuthError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().ok_or_else(|| AuthError::Missing {
        header: name.as_str().to_owned(),
    })?;
    if values.next().is_some() {
        return Err(AuthError::Invalid {
            header: name.as_str().to_owned(),
        });
    }
    Ok(first.as_bytes())
}

/// A secret agreed with Tuum out of band, sent in a header of your choice, compared in
/// constant time.
///
/// Configure the subscription in Tuum to send the header (for example `X-Webhook-Token`).
/// Use at least 32 random bytes; the secret lives in a [`SecretString`] and never prints.
pub struct SharedSecretHeader {
    header: HeaderName,
    secret: SecretString,
}

impl SharedSecretHeader {
    /// Expects header `header` to carry exactly `secret`.
    ///
    /// Fails with [`Error::Config`] if the header name is invalid or the secret is empty or
    /// starts or ends with whitespace (a newline left from the file it was read from would
    /// never match a header: every delivery would get 401). The workspace's one rule for
    /// secrets, [`compliance_core::secret::SecretProblem`]: used exactly as given.
    pub fn new(header: &str, secret: SecretString) -> Result<Self, Error> {
        let header = HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| Error::Config(format!("`{header}` is not a valid header name")))?;
        check_secret("the shared secret", &secret)?;
        Ok(Self { header, secret })
    }
}

impl fmt::Debug for SharedSecretHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSecretHeader")
            .field("header", &self.header)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl Authenticator for SharedSecretHeader {
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), AuthError> {
        let presented = single_header(request.headers(), &self.header)?;
        if constant_time_eq(presented, self.secret.expose_secret().as_bytes()) {
            Ok(())
        } else {
            Err(AuthError::Invalid {
                header: self.header.as_str().to_owned(),
            })
        }
    }
}

/// HTTP basic authentication (`Authorization: Basic base64(user:password)`), with user and
/// password compared in constant time.
pub struct BasicAuth {
    username: String,
    password: SecretString,
}

impl BasicAuth {
    /// Expects `username` and `password`.
    ///
    /// Fails with [`Error::Config`] if the username contains `:` (basic auth cannot carry
    /// it) or the password is empty or starts or ends with whitespace (see
    /// [`SharedSecretHeader::new`]).
    pub fn new(username: impl Into<String>, password: SecretString) -> Result<Self, Error> {
        let username = username.into();
        if username.contains(':') {
            return Err(Error::Config(
                "a basic-auth username cannot contain `:`".into(),
            ));
        }
        check_secret("the basic-auth password", &password)?;
        Ok(Self { username, password })
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl Authenticator for BasicAuth {
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), AuthError> {
        let invalid = || AuthError::Invalid {
            header: AUTHORIZATION.as_str().to_owned(),
        };
        let value = single_header(request.headers(), &AUTHORIZATION)?;
        let value = std::str::from_utf8(value).map_err(|_| invalid())?.trim();
        let (scheme, encoded) = value.split_once(' ').ok_or_else(invalid)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(invalid());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid())?;
        let colon = decoded
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(invalid)?;
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        // Both comparisons run whatever the first one answers.
        let user_ok = constant_time_eq(user, self.username.as_bytes());
        let password_ok = constant_time_eq(password, self.password.expose_secret().as_bytes());
        if user_ok & password_ok {
            Ok(())
        } else {
            Err(invalid())
        }
    }
}

/// Accepts only peers inside the given networks (CIDR blocks or single addresses).
///
/// The peer is the TCP peer the server saw; IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
/// are compared as IPv4. Behind a reverse proxy the peer is the proxy: allow-list at the
/// proxy instead, because forwarded-for headers are whatever the client wrote. Ask Tuum for
/// the egress addresses of your environment.
#[derive(Debug, Clone)]
pub struct IpAllowList {
    networks: Vec<IpNet>,
}

impl IpAllowList {
    /// Allows these networks.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            networks: networks.into_iter().collect(),
        }
    }

    /// Parses CIDR blocks (`"192.0.2.0/24"`, `"2001:db8::/32"`) and single addresses
    /// (`"198.51.100.7"`). Fails with [`Error::Config`] naming the entry that does not parse.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        let networks = entries
            .into_iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        Error::Config(format!("`{entry}` is not an IP network or address"))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    /// Whether `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }
}

impl Authenticator for IpAllowList {
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), AuthError> {
        let ip = request.peer().ok_or(AuthError::PeerUnknown)?.ip();
        if self.allows(ip) {
            Ok(())
        } else {
            Err(AuthError::PeerNotAllowed { ip })
        }
    }
}

/// Passes only if every member passes; reports the first failure. Refuses everything when it
/// has no member.
///
/// ```
/// use aml_events::auth::{AllOf, IpAllowList, SharedSecretHeader};
/// use aml_events::SecretString;
/// let auth = AllOf::new()
///     .with(SharedSecretHeader::new("x-webhook-token", SecretString::from("0123456789abcdef0123456789abcdef"))?)
///     .with(IpAllowList::parse(["10.0.0.0/8"])?);
/// # Ok::<(), aml_events::Error>(())
/// ```
#[derive(Default)]
pub struct AllOf {
    members: Vec<Box<dyn Authenticator>>,
}

impl AllOf {
    /// An empty combination (which refuses everything until a member is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a member.
    pub fn with(mut self, authenticator: impl Authenticator + 'static) -> Self {
        self.members.push(Box::new(authenticator));
        self
    }
}

impl fmt::Debug for AllOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllOf")
            .field("members", &self.members.len())
            .finish()
    }
}

impl Authenticator for AllOf {
    fn authenticate(&self, request: &RequestInfo<'_>) -> Result<(), AuthError> {
        if self.members.is_empty() {
            return Err(AuthError::NothingConfigured);
        }
        self.members
            .iter()
            .try_for_each(|member| member.authenticate(request))
    }
}

/// Accepts every delivery. Only for a receiver that something else already authenticates
/// (an mTLS proxy on a private network) and for tests; the name is meant to stand out in a
/// review.
#[derive(Debug, Clone, Copy, Default)]
pub struct InsecureAcceptAll;

impl Authenticator for InsecureAcceptAll {
    fn authenticate(&self, _request: &RequestInfo<'_>) -> Result<(), AuthError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SECRET: &str = "s3cr3t-0123456789abcdef0123456789";

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        h
    }

    fn check(auth: &dyn Authenticator, h: &HeaderMap, peer: Option<&str>) -> Result<(), AuthError> {
        auth.authenticate(&RequestInfo::new(h, peer.map(|p| p.parse().unwrap())))
    }

    fn token() -> SharedSecretHeader {
        SharedSecretHeader::new("X-Webhook-Token", SecretString::from(SECRET)).unwrap()
    }

    #[test]
    fn shared_secret_accepts_exactly_the_secret() {
        let auth = token();
        assert_eq!(
            check(
                &auth,
                &headers(&[("x-webhook-token", SECRET.as_bytes())]),
                None
            ),
            Ok(())
        );
        assert!(matches!(
            check(&auth, &headers(&[]), None),
            Err(AuthError::Missing { .. })
        ));
        for bad in [
            &b""[..],
            b"s3cr3t",
            b"S3CR3T-0123456789abcdef0123456789",
            b"s3cr3t-0123456789abcdef01234567890",
        ] {
            assert!(
                matches!(
                    check(&auth, &headers(&[("x-webhook-token", bad)]), None),
                    Err(AuthError::Invalid { .. })
                ),
                "{bad:?}"
            );
        }
        let twice = headers(&[
            ("x-webhook-token", SECRET.as_bytes()),
            ("x-webhook-token", SECRET.as_bytes()),
        ]);
        assert!(matches!(
            check(&auth, &twice, None),
            Err(AuthError::Invalid { .. })
        ));
    }

    #[test]
    fn shared_secret_rejects_every_single_byte_flip() {
        let auth = token();
        for i in 0..SECRET.len() {
            for bit in [0x01u8, 0x20, 0x40] {
                let mut value = SECRET.as_bytes().to_vec();
                value[i] ^= bit;
                let Ok(header) = HeaderValue::from_bytes(&value) else {
                    continue;
                };
                let mut h = HeaderMap::new();
                h.insert("x-webhook-token", header);
                assert!(
                    check(&auth, &h, None).is_err(),
                    "flip {bit:#x} at {i} accepted"
                );
            }
        }
    }

    #[test]
    fn secrets_never_print_and_config_is_validated() {
        assert!(!format!("{:?}", token()).contains(SECRET));
        let basic = BasicAuth::new("tuum", SecretString::from(SECRET)).unwrap();
        assert!(!format!("{basic:?}").contains(SECRET));
        assert!(SharedSecretHeader::new("bad header", SecretString::from(SECRET)).is_err());
        assert!(SharedSecretHeader::new("x-token", SecretString::from("")).is_err());
        assert!(BasicAuth::new("a:b", SecretString::from(SECRET)).is_err());
        assert!(BasicAuth::new("a", SecretString::from("")).is_err());
        let err = check(&token(), &headers(&[("x-webhook-token", b"guess")]), None).unwrap_err();
        assert!(!err.to_string().contains("guess"));
    }

    /// Issue #25: a secret read from a file with its newline never matched a header, so
    /// every delivery got 401. It is refused when the authenticator is built.
    #[test]
    fn a_secret_with_surrounding_whitespace_is_refused_at_construction() {
        for bad in [
            format!("{SECRET}\n"),
            format!("{SECRET}\r\n"),
            format!(" {SECRET}"),
        ] {
            let err = SharedSecretHeader::new("x-token", SecretString::from(bad.clone()))
                .expect_err("a secret with surrounding whitespace must be refused");
            assert!(matches!(err, Error::Config(_)), "{err:?}");
            let text = err.to_string();
            assert!(
                text.contains("whitespace") && !text.contains(SECRET),
                "{text}"
            );
            assert!(BasicAuth::new("tuum", SecretString::from(bad)).is_err());
        }
    }

    #[test]
    fn basic_auth() {
        let auth = BasicAuth::new("tuum", SecretString::from("pa:ss")).unwrap();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let with = |v: String| headers(&[("authorization", v.as_bytes())]);
        assert_eq!(
            check(&auth, &with(format!("Basic {}", b64("tuum:pa:ss"))), None),
            Ok(())
        );
        assert_eq!(
            check(&auth, &with(format!("basic  {}", b64("tuum:pa:ss"))), None),
            Ok(())
        );
        for bad in [
            format!("Basic {}", b64("tuum:pa:sx")),
            format!("Basic {}", b64("tuun:pa:ss")),
            format!("Basic {}", b64("tuum")),
            format!("Bearer {}", b64("tuum:pa:ss")),
            "Basic !!!".to_owned(),
            "Basic".to_owned(),
        ] {
            assert!(
                matches!(
                    check(&auth, &with(bad.clone()), None),
                    Err(AuthError::Invalid { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            check(&auth, &headers(&[]), None),
            Err(AuthError::Missing { .. })
        ));
    }

    #[test]
    fn ip_allow_list() {
        let auth = IpAllowList::parse(["192.0.2.0/24", "2001:db8::/32", " 198.51.100.7 "]).unwrap();
        let h = HeaderMap::new();
        assert_eq!(check(&auth, &h, Some("192.0.2.10:443")), Ok(()));
        assert_eq!(check(&auth, &h, Some("198.51.100.7:1")), Ok(()));
        assert_eq!(check(&auth, &h, Some("[2001:db8::1]:443")), Ok(()));
        assert_eq!(check(&auth, &h, Some("[::ffff:192.0.2.10]:443")), Ok(()));
        assert!(matches!(
            check(&auth, &h, Some("198.51.100.8:1")),
            Err(AuthError::PeerNotAllowed { .. })
        ));
        assert!(matches!(
            check(&auth, &h, Some("[2001:db9::1]:1")),
            Err(AuthError::PeerNotAllowed { .. })
        ));
        assert_eq!(check(&auth, &h, None), Err(AuthError::PeerUnknown));
        assert!(IpAllowList::parse(["10.0.0.0/33"]).is_err());
        assert!(IpAllowList::parse(["example.com"]).is_err());
        assert!(check(&IpAllowList::new([]), &h, Some("192.0.2.10:443")).is_err());
    }

    #[test]
    fn all_of_needs_every_member_and_at_least_one() {
        let auth = AllOf::new()
            .with(token())
            .with(IpAllowList::parse(["10.0.0.0/8"]).unwrap());
        let good = headers(&[("x-webhook-token", SECRET.as_bytes())]);
        assert_eq!(check(&auth, &good, Some("10.1.2.3:5")), Ok(()));
        assert!(check(&auth, &good, Some("11.1.2.3:5")).is_err());
        assert!(check(&auth, &headers(&[]), Some("10.1.2.3:5")).is_err());
        assert_eq!(
            check(&AllOf::new(), &good, Some("10.1.2.3:5")),
            Err(AuthError::NothingConfigured)
        );
        assert_eq!(check(&InsecureAcceptAll, &HeaderMap::new(), None), Ok(()));
    }
}
