//! [`compliance_core::AmlProvider`] for Heleket payments.
//!
//! | payment status | AML links | neutral status |
//! |---|---|---|
//! | `paid`, `paid_over`, `wrong_amount`, `fail`, `cancel`, `system_fail`, `refund_*` | — | [`Clear`](AmlStatus::Clear): no AML hold |
//! | `process`, `check`, `confirm_check`, `wrong_amount_waiting` | — | [`Pending`](AmlStatus::Pending) |
//! | `locked` | some `init` / `pending` before their `expired_at` | [`ActionRequired`](AmlStatus::ActionRequired): open each of those links |
//! | `locked` | an unknown link status, none usable | [`Unknown`](AmlStatus::Unknown) with that status |
//! | `locked` | one `expired` or past its `expired_at`, none usable | [`ActionRequired`](AmlStatus::ActionRequired) with no action: the questionnaire can no longer be completed; ask Heleket for a new link |
//! | `locked` | `completed` only, or none | [`UnderReview`](AmlStatus::UnderReview): Heleket decides |
//! | anything else | — | [`Unknown`](AmlStatus::Unknown) with the raw status |
//!
//! A link is never offered once its `expired_at` has passed, whatever its status says.
//! "Clear" means only that Heleket's AML programme does not hold the payment; whether the
//! payment succeeded is in its status ([`AmlState::provider_status`]).

use async_trait::async_trait;
use compliance_core::aml::{
    AmlError, AmlProvider, AmlState, AmlStatus, RequiredAction, Subject, SubjectKind, SubjectRef,
};
use compliance_core::time::Timestamp;

use crate::PROVIDER;
use crate::aml_links::{AmlLink, AmlLinkStatus};
use crate::client::HeleketClient;
use crate::error::Error;
use crate::payment::{Payment, PaymentRef, PaymentStatus};

#[async_trait]
impl AmlProvider for HeleketClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn supports(&self, kind: SubjectKind) -> bool {
        kind == SubjectKind::Payment
    }

    /// A payment by invoice uuid ([`SubjectRef::ProviderId`]) or order id
    /// ([`SubjectRef::ExternalId`]). Asks for the AML links only when the payment is locked.
    async fn aml_state(&self, subject: &Subject) -> Result<AmlState, AmlError> {
        let payment_ref = match subject {
            Subject::Payment {
                reference: SubjectRef::ProviderId(uuid),
            } => PaymentRef::uuid(uuid.clone()),
            Subject::Payment {
                reference: SubjectRef::ExternalId(order_id),
            } => PaymentRef::order_id(order_id.clone()),
            other => {
                return Err(AmlError::Unsupported {
                    provider: PROVIDER,
                    kind: other.kind(),
                });
            }
        };
        let payment = self
            .payment_info(&payment_ref)
            .await
            .map_err(provider_error)?;
        let links = if payment.payment_status.is_locked() {
            self.aml_links(&payment_ref).await.map_err(provider_error)?
        } else {
            Vec::new()
        };
        Ok(state(subject.clone(), &payment, &links, self.now()))
    }
}

fn provider_error(e: Error) -> AmlError {
    AmlError::provider(PROVIDER, e)
}

/// The neutral state of `payment` at `now`, with its AML `links` when it is locked.
pub(crate) fn state(
    subject: Subject,
    payment: &Payment,
    links: &[AmlLink],
    now: Timestamp,
) -> AmlState {
    let status = &payment.payment_status;
    let neutral = match status {
        PaymentStatus::Locked => locked(links, now),
        s if s.is_in_progress() => AmlStatus::Pending,
        PaymentStatus::Unknown(raw) => AmlStatus::Unknown { raw: raw.clone() },
        _ => AmlStatus::Clear,
    };
    AmlState::new(PROVIDER, subject, neutral, status.as_str()).with_updated_at(payment.updated_at)
}

fn locked(links: &[AmlLink], now: Timestamp) -> AmlStatus {
    let actions: Vec<RequiredAction> = links
        .iter()
        .filter(|l| l.is_usable_at(now))
        .map(|l| RequiredAction::OpenLink {
            url: l.link.to_string(),
            expires_at: Some(l.expired_at),
            status: Some(l.status.as_str().to_owned()),
        })
        .collect();
    if !actions.is_empty() {
        return AmlStatus::ActionRequired { actions };
    }
    if let Some(unknown) = links
        .iter()
        .find(|l| matches!(l.status, AmlLinkStatus::Unknown(_)))
    {
        return AmlStatus::Unknown {
            raw: unknown.status.as_str().to_owned(),
        };
    }
    if links.iter().any(|l| l.is_dead_at(now)) {
        // A questionnaire that expired unfinished cannot be finished: the hold stays until
        // Heleket issues a new link, and there is nothing to hand to the payer.
        return AmlStatus::ActionRequired {
            actions: Vec::new(),
        };
    }
    AmlStatus::UnderReview
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(status: &str) -> Payment {
        serde_json::from_str(&format!(
            r#"{{"uuid":"u","order_id":"o","amount":"1","currency":"USDT","payment_status":"{status}","status":"{status}","is_final":false,"updated_at":"2025-01-01T12:00:00+03:00"}}"#
        ))
        .unwrap()
    }

    fn link(status: &str) -> AmlLink {
        serde_json::from_str(&format!(
            r#"{{"link":"https://some.link/{status}","expired_at":"2026-05-13T11:32:38.000000Z","status":"{status}"}}"#
        ))
        .unwrap()
    }

    fn subject() -> Subject {
        Subject::Payment {
            reference: SubjectRef::ExternalId("o".into()),
        }
    }

    /// Before the links' `expired_at`.
    fn now() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn status(p: &str, links: &[&str]) -> AmlStatus {
        let links: Vec<AmlLink> = links.iter().map(|s| link(s)).collect();
        state(subject(), &payment(p), &links, now()).status
    }

    #[test]
    fn not_locked_follows_the_payment_status() {
        for p in [
            "paid",
            "paid_over",
            "cancel",
            "fail",
            "refund_paid",
            "wrong_amount",
        ] {
            assert_eq!(status(p, &[]), AmlStatus::Clear, "{p}");
        }
        for p in ["process", "check", "confirm_check", "wrong_amount_waiting"] {
            assert_eq!(status(p, &[]), AmlStatus::Pending, "{p}");
        }
        assert_eq!(
            status("aml_review", &[]),
            AmlStatus::Unknown {
                raw: "aml_review".into()
            }
        );
        let s = state(subject(), &payment("paid"), &[], now());
        assert_eq!(s.provider, "heleket");
        assert_eq!(s.provider_status, "paid");
        assert_eq!(s.updated_at, Some("2025-01-01T09:00:00Z".parse().unwrap()));
    }

    #[test]
    fn locked_maps_by_link_status() {
        let AmlStatus::ActionRequired { actions } =
            status("locked", &["completed", "init", "expired", "pending"])
        else {
            panic!()
        };
        let urls: Vec<_> = actions
            .iter()
            .map(|a| match a {
                RequiredAction::OpenLink { url, status, .. } => {
                    (url.as_str(), status.as_deref().unwrap())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            urls,
            [
                ("https://some.link/init", "init"),
                ("https://some.link/pending", "pending")
            ]
        );
        assert_eq!(
            status("locked", &["completed", "expired"]),
            AmlStatus::ActionRequired {
                actions: Vec::new()
            },
            "an expired questionnaire cannot be finished: nothing to hand out"
        );
        assert_eq!(
            status("locked", &["expired"]),
            AmlStatus::ActionRequired {
                actions: Vec::new()
            }
        );
        assert_eq!(status("locked", &["completed"]), AmlStatus::UnderReview);
        assert_eq!(status("locked", &[]), AmlStatus::UnderReview);
        assert_eq!(
            status("locked", &["completed", "reviewing"]),
            AmlStatus::Unknown {
                raw: "reviewing".into()
            }
        );
        assert_eq!(
            state(subject(), &payment("locked"), &[], now()).provider_status,
            "locked"
        );
    }

    #[test]
    fn a_link_past_its_expiry_is_never_offered() {
        let links = [link("init"), link("pending")];
        let at = |t: &str| state(subject(), &payment("locked"), &links, t.parse().unwrap()).status;
        assert!(matches!(
            at("2026-05-13T11:32:37Z"),
            AmlStatus::ActionRequired { actions } if actions.len() == 2
        ));
        assert_eq!(
            at("2026-05-13T11:32:38Z"),
            AmlStatus::ActionRequired {
                actions: Vec::new()
            },
            "init and pending, but both past expired_at"
        );
        let mixed = [link("pending"), {
            let mut fresh = link("init");
            fresh.expired_at = "2027-01-01T00:00:00Z".parse().unwrap();
            fresh
        }];
        let AmlStatus::ActionRequired { actions } = state(
            subject(),
            &payment("locked"),
            &mixed,
            "2026-06-01T00:00:00Z".parse().unwrap(),
        )
        .status
        else {
            panic!()
        };
        assert_eq!(actions.len(), 1, "only the link still valid");
        assert!(
            matches!(&actions[0], RequiredAction::OpenLink { status: Some(s), .. } if s == "init")
        );
    }
}
