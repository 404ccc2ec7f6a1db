//! Who one attempt is made as: the resolved [`Identity`] (the partner's credential and, for a
//! user call, the user's), and its resolver ([`resolver`]: the token caches and the
//! requests that renew them).
//!
//! The settings a caller gives (`PartnerAuth`, `UserContext`, `TokenPolicy`) are in
//! `auth.rs`; the signer that puts an `Identity` on a request is `sign.rs`, the classifier
//! that reads the answer is `classify.rs`. Both read this module's `Identity` and nothing
//! else of the resolver, so the resolver is the only place the three meet.

use compliance_core::secret::{ExposeSecret, SecretString};

pub(crate) mod classify;
pub(crate) mod resolver;
pub(crate) mod sign;

/// The credentials one attempt is made with.
pub(crate) struct Identity {
    pub(crate) partner: PartnerCredential,
    pub(crate) user: Option<UserCredential>,
}

/// The partner's side of an [`Identity`].
pub(crate) enum PartnerCredential {
    ApiKey(SecretString),
    Token(SecretString),
}

/// The user's side of an [`Identity`].
pub(crate) enum UserCredential {
    Identifier(String),
    /// The session's current user token.
    Token(SecretString),
}

impl Identity {
    /// Whether the partner authenticates with a token (which can expire and be renewed).
    pub(crate) fn has_partner_token(&self) -> bool {
        matches!(self.partner, PartnerCredential::Token(_))
    }

    /// Whether the user is a session (whose token can expire and be renewed).
    pub(crate) fn has_user_token(&self) -> bool {
        matches!(self.user, Some(UserCredential::Token(_)))
    }

    /// The partner token sent, if any.
    pub(crate) fn partner_token(&self) -> Option<&str> {
        match &self.partner {
            PartnerCredential::Token(t) => Some(t.expose_secret()),
            PartnerCredential::ApiKey(_) => None,
        }
    }

    /// The user token sent, if any.
    pub(crate) fn user_token(&self) -> Option<&str> {
        match &self.user {
            Some(UserCredential::Token(t)) => Some(t.expose_secret()),
            _ => None,
        }
    }
}
