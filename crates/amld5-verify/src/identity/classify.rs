//! The response classifier: reads BTC Direct's answer **once** and says what it means for
//! the credentials it was sent with. Accept it, reject it with the crate's error, or "these
//! tokens expired: invalidate them and replay once".
//!
//! | answer | on a call with | expired | certain |
//! |---|---|---|---|
//! | `ER801` | a partner token (and a session, per [`Er801Reading`]) | partner, user or both | yes |
//! | `ER800` | a partner token | partner | yes |
//! | `ER701` | a user session | user | yes |
//! | 401 with the provider's JSON (`{"code":401,"message":…}`) and no `ER` code | a partner token | partner | yes |
//! | 401 with any other body (a proxy's) | a partner token | partner | no: replayed only if repeatable |
//!
//! (On a user-token refresh a 401 without an `ER` code is about the refresh token: rejected.
//! On `user/login` it is about the user's email and password: [`Error::LoginRefused`], never
//! a replay.)
//!
//! Anything else unsuccessful is rejected with the error [`Error::from_api_errors`] maps it to.

use compliance_core::Actionable as _;
use compliance_core::http::{AuthVerdict, CredentialSet, Response, StatusCode};

use super::Identity;
use crate::auth::Er801Reading;
use crate::error::{ApiErrors, Error, ErrorCode};

/// The partner token's slot.
pub(crate) const PARTNER: CredentialSet = CredentialSet::slot(0);
/// The user session's slot.
pub(crate) const USER: CredentialSet = CredentialSet::slot(1);

/// Which kind of call an answer is for: it decides whose a 401 without an `ER` code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// An ordinary call: the partner token's.
    Ordinary,
    /// A user-token refresh: the refresh token's.
    Refresh,
    /// `user/login`: the user's email and password.
    Login,
}

/// What `response` to an attempt made with `identity` means.
pub(crate) fn classify(
    identity: &Identity,
    response: &Response,
    reading: Er801Reading,
    kind: CallKind,
) -> AuthVerdict<Error> {
    if response.is_success() {
        return AuthVerdict::Accept;
    }
    if let Some(rate_limited) = response.rate_limit_error() {
        return AuthVerdict::Reject(Error::Core(rate_limited));
    }
    let status = response.status();
    let errors = ApiErrors::from_body(response.body());
    let expired = errors.as_ref().map_or(CredentialSet::NONE, |e| {
        expired_by_code(identity, e, reading)
    });
    let no_code = errors
        .as_ref()
        .is_none_or(|e| !e.codes().any(|c| c.as_str().starts_with("ER")));
    let bare_401 = expired.is_empty() && no_code && status == StatusCode::UNAUTHORIZED;
    if bare_401 && kind == CallKind::Login {
        return AuthVerdict::Reject(Error::LoginRefused {
            status,
            errors: errors.unwrap_or_default(),
        });
    }
    let partner_401 = bare_401 && identity.has_partner_token() && kind == CallKind::Ordinary;
    // The partner token guard answers 401 in its own JSON; anything else may be a proxy's.
    let (expired, certain) = if partner_401 {
        (PARTNER, errors.is_some())
    } else {
        (expired, true)
    };
    let error = match errors {
        Some(errors) if partner_401 => Error::PartnerAuth { status, errors },
        Some(errors) => Error::from_api_errors(status, errors),
        None => Error::Core(response.to_error()),
    };
    if expired.is_empty() {
        AuthVerdict::Reject(error)
    } else {
        AuthVerdict::Expired {
            credentials: expired,
            certain,
            error,
        }
    }
}

/// Whether an answer with a retryable status (429, 5xx) may be sent again: yes, unless BTC
/// Direct's own errors in it say that another try does not help (`ER999`: contact support),
/// read exactly as the caller's [`Error`] reads them.
pub(crate) fn retry_allowed(response: &Response) -> bool {
    if response.rate_limit_error().is_some() {
        return true;
    }
    ApiErrors::from_body(response.body())
        .is_none_or(|errors| Error::from_api_errors(response.status(), errors).is_retryable())
}

fn expired_by_code(
    identity: &Identity,
    errors: &ApiErrors,
    reading: Er801Reading,
) -> CredentialSet {
    let partner = |yes: bool| {
        if yes && identity.has_partner_token() {
            PARTNER
        } else {
            CredentialSet::NONE
        }
    };
    let user = |yes: bool| {
        if yes && identity.has_user_token() {
            USER
        } else {
            CredentialSet::NONE
        }
    };
    let mut set = partner(errors.has(&ErrorCode::Er800)).union(user(errors.has(&ErrorCode::Er701)));
    if errors.has(&ErrorCode::Er801) {
        set = set.union(match (reading, identity.has_user_token()) {
            (Er801Reading::PartnerToken, _) | (_, false) => partner(true),
            (Er801Reading::UserToken, true) => user(true),
            (Er801Reading::Either, true) => partner(true).union(user(true)),
        });
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{PartnerCredential, UserCredential};
    use compliance_core::SecretString;
    use compliance_core::http::HeaderMap;

    fn identity(partner_token: bool, session: bool) -> Identity {
        Identity {
            partner: if partner_token {
                PartnerCredential::Token(SecretString::from("pt"))
            } else {
                PartnerCredential::ApiKey(SecretString::from("key"))
            },
            user: Some(if session {
                UserCredential::Token(SecretString::from("ut"))
            } else {
                UserCredential::Identifier("u".into())
            }),
        }
    }

    fn response(status: u16, body: &str) -> Response {
        Response::new(
            StatusCode::from_u16(status).unwrap(),
            HeaderMap::new(),
            body.as_bytes().to_vec().into(),
        )
    }

    fn code(code: &str) -> String {
        format!(r#"{{"errors":{{"{code}":{{"code":"{code}","message":"m"}}}}}}"#)
    }

    fn expired(v: AuthVerdict<Error>) -> Option<(CredentialSet, bool)> {
        match v {
            AuthVerdict::Expired {
                credentials,
                certain,
                ..
            } => Some((credentials, certain)),
            _ => None,
        }
    }

    #[test]
    fn expiry_codes_name_their_credentials() {
        let r = Er801Reading::PartnerToken;
        let both = identity(true, true);
        assert_eq!(
            expired(classify(
                &both,
                &response(400, &code("ER801")),
                r,
                CallKind::Ordinary
            )),
            Some((PARTNER, true))
        );
        assert_eq!(
            expired(classify(
                &both,
                &response(401, &code("ER701")),
                r,
                CallKind::Ordinary
            )),
            Some((USER, true))
        );
        assert_eq!(
            expired(classify(
                &both,
                &response(400, &code("ER800")),
                r,
                CallKind::Ordinary
            )),
            Some((PARTNER, true))
        );
        // Nothing renewable: rejected.
        let key_and_id = identity(false, false);
        for c in ["ER801", "ER701", "ER800"] {
            assert!(matches!(
                classify(&key_and_id, &response(400, &code(c)), r, CallKind::Ordinary),
                AuthVerdict::Reject(_)
            ));
        }
        assert!(matches!(
            classify(&both, &response(400, &code("ER100")), r, CallKind::Ordinary),
            AuthVerdict::Reject(Error::Rejected { .. })
        ));
        assert!(matches!(
            classify(&both, &response(200, "{}"), r, CallKind::Ordinary),
            AuthVerdict::Accept
        ));
    }

    #[test]
    fn er801_on_a_user_call_is_read_as_configured() {
        let both = identity(true, true);
        let body = response(400, &code("ER801"));
        assert_eq!(
            expired(classify(
                &both,
                &body,
                Er801Reading::UserToken,
                CallKind::Ordinary
            )),
            Some((USER, true))
        );
        assert_eq!(
            expired(classify(
                &both,
                &body,
                Er801Reading::Either,
                CallKind::Ordinary
            )),
            Some((PARTNER.union(USER), true))
        );
        // A key-authenticated partner has no token: ER801 can only be the user's.
        assert_eq!(
            expired(classify(
                &identity(false, true),
                &body,
                Er801Reading::Either,
                CallKind::Ordinary
            )),
            Some((USER, true))
        );
    }

    #[test]
    fn a_401_is_certain_only_in_the_providers_own_json() {
        let both = identity(true, true);
        let r = Er801Reading::PartnerToken;
        assert_eq!(
            expired(classify(
                &both,
                &response(401, r#"{"code":401,"message":"Expired JWT Token"}"#),
                r,
                CallKind::Ordinary
            )),
            Some((PARTNER, true))
        );
        assert_eq!(
            expired(classify(&both, &response(401, ""), r, CallKind::Ordinary)),
            Some((PARTNER, false))
        );
        assert!(matches!(
            classify(
                &identity(false, true),
                &response(401, ""),
                r,
                CallKind::Ordinary
            ),
            AuthVerdict::Reject(_)
        ));
        // On a refresh the 401 is the refresh token's.
        assert!(matches!(
            classify(
                &both,
                &response(
                    401,
                    r#"{"code":401,"message":"JWT Refresh Token Not Found"}"#
                ),
                r,
                CallKind::Refresh
            ),
            AuthVerdict::Reject(Error::Rejected { .. })
        ));
    }
}
