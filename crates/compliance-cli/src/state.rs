//! `state`: a subject as the core names it, asked live through the provider crate's
//! `AmlProvider`, printed as the provider-neutral `AmlState`.

use compliance_core::Actionable as _;
use compliance_core::NextStep;
use compliance_core::aml::{
    AmlError, AmlProvider, AmlState, AmlStatus, RequiredAction, Subject, SubjectKind, SubjectRef,
};
use compliance_core::http::StatusCode;
use serde_json::json;

use crate::cli::{StateCommand, SubjectArgs};
use crate::outcome::{Code, Failure, Outcome, Output};
use crate::{btcdirect, elkyc, heleket, progress};

/// `state <provider> <subject>`.
pub async fn run(command: &StateCommand, out: &Output) -> Result<Outcome, Failure> {
    let (name, args, provider) = match command {
        StateCommand::Heleket(a) => ("heleket", &a.subject, heleket::provider(a, out)?),
        StateCommand::Elkyc(a) => ("elkyc", &a.subject, elkyc::provider(a, out)?),
        StateCommand::Btcdirect(a) => ("btcdirect", &a.subject, btcdirect::provider(a, out)?),
    };
    let subject = parse_subject(args)?;
    if !provider.supports(subject.kind()) {
        return Err(Failure::usage(format!(
            "{name} does not know {} subjects (it answers for {})",
            subject.kind(),
            supported(provider.as_ref())
        )));
    }
    out.note(format!("asking {name} about {subject}"));
    let label = format!("asking {name} about {subject}");
    match progress::show(out, &label, provider.aml_state(&subject)).await {
        Ok(state) => Ok(Outcome::ok(json!({"state": state}), render(&state))),
        Err(e) if unknown_subject(name, &e) => Err(Failure::new(
            Code::Usage,
            "unknown_subject",
            if name == "btcdirect" {
                // Its own message ("the user must log in again") means nothing here.
                format!("{name} does not know {subject} (ER700: user not found)")
            } else {
                format!("{name} does not know {subject}: {e}")
            },
        )
        .with("retryable", false)),
        Err(e) => {
            let code = exit_code(&e);
            let kind = if code == Code::Usage {
                "config"
            } else {
                "provider"
            };
            Err(Failure::new(code, kind, e.to_string()).with("retryable", e.is_retryable()))
        }
    }
}

/// The provider answered that the subject does not exist: a 404, or BTC Direct's `ER700`
/// (user not found; its message, "the user must log in again", means nothing here).
fn unknown_subject(name: &str, error: &AmlError) -> bool {
    match name {
        "btcdirect" => btcdirect::unknown_user(error),
        _ => error.status() == Some(StatusCode::NOT_FOUND),
    }
}

fn supported(provider: &dyn AmlProvider) -> String {
    [
        SubjectKind::Payment,
        SubjectKind::Applicant,
        SubjectKind::User,
        SubjectKind::Wallet,
        SubjectKind::Transaction,
    ]
    .into_iter()
    .filter(|k| provider.supports(*k))
    .map(|k| k.to_string())
    .collect::<Vec<_>>()
    .join(", ")
}

/// `KIND:ID`, `wallet:CHAIN:ADDRESS`, `transaction:CHAIN:HASH`.
pub fn parse_subject(args: &SubjectArgs) -> Result<Subject, Failure> {
    let text = args.subject.trim();
    let (kind, rest) = text.split_once(':').ok_or_else(|| {
        Failure::usage(format!(
            "subject `{text}` is not KIND:ID (payment:ID, applicant:ID, user:ID, \
             wallet:CHAIN:ADDRESS, transaction:CHAIN:HASH)"
        ))
    })?;
    if rest.is_empty() {
        return Err(Failure::usage(format!("subject `{text}` has no id")));
    }
    let reference = || {
        if args.external {
            SubjectRef::ExternalId(rest.to_owned())
        } else {
            SubjectRef::ProviderId(rest.to_owned())
        }
    };
    let chain = |what: &str| -> Result<(String, String), Failure> {
        match rest.split_once(':') {
            Some((chain, id)) if !chain.is_empty() && !id.is_empty() => {
                Ok((chain.to_owned(), id.to_owned()))
            }
            _ => Err(Failure::usage(format!(
                "a {kind} subject is {kind}:CHAIN:{what} (wallet:BTC:bc1q...)"
            ))),
        }
    };
    Ok(match kind {
        "payment" => Subject::Payment {
            reference: reference(),
        },
        "applicant" => Subject::Applicant {
            reference: reference(),
        },
        "user" => Subject::User {
            reference: reference(),
        },
        "wallet" => {
            let (blockchain, address) = chain("ADDRESS")?;
            Subject::Wallet {
                blockchain,
                address,
            }
        }
        "transaction" => {
            let (blockchain, hash) = chain("HASH")?;
            Subject::Transaction { blockchain, hash }
        }
        other => {
            return Err(Failure::usage(format!(
                "unknown subject kind `{other}` (payment, applicant, user, wallet, transaction)"
            )));
        }
    })
}

/// The state as a few readable lines.
fn render(state: &AmlState) -> String {
    let mut text = format!(
        "{} {}: {} (provider status: {})",
        state.provider,
        state.subject,
        state.status,
        if state.provider_status.is_empty() {
            "-"
        } else {
            &state.provider_status
        }
    );
    if let Some(risk) = &state.risk {
        text.push_str(&format!("\n  risk        {} ({})", risk.score, risk.level));
    }
    if let Some(at) = &state.updated_at {
        text.push_str(&format!("\n  updated at  {at}"));
    }
    if let AmlStatus::ActionRequired { actions } = &state.status {
        if actions.is_empty() {
            text.push_str("\n  nothing the person can do now: ask the provider for a new link");
        }
        for action in actions {
            match action {
                RequiredAction::OpenLink {
                    url,
                    expires_at,
                    status,
                } => {
                    text.push_str(&format!("\n  open link   {url}"));
                    if let Some(status) = status {
                        text.push_str(&format!("  ({status}"));
                        if let Some(at) = expires_at {
                            text.push_str(&format!(", expires {at}"));
                        }
                        text.push(')');
                    }
                }
                RequiredAction::AnswerQuestions { questions } => {
                    text.push_str("\n  answer");
                    for q in questions {
                        text.push_str(&format!("\n    {}: {}", q.key, q.label));
                        if !q.options.is_empty() {
                            text.push_str(&format!(" [{}]", q.options.join(" | ")));
                        }
                    }
                }
                other => text.push_str(&format!("\n  {other:?}")),
            }
        }
    }
    text
}

/// The exit code of a failed `state` from what the provider crate's error says to do (its
/// `Actionable::next_step()`, carried by the `AmlError`, the same for every provider) and
/// the provider's HTTP status, if it answered: 2 when the caller must fix something on its
/// side (credentials, configuration, a request refused before any I/O, an answer its keys
/// cannot open), 3 when the provider refused, failed or could not be reached.
pub fn exit_code(error: &AmlError) -> Code {
    match (error, error.next_step(), error.status()) {
        (AmlError::Unsupported { .. }, ..) => Code::Usage,
        (_, NextStep::FixCredentials | NextStep::FixConfiguration | NextStep::DoNotTrust, _) => {
            Code::Usage
        }
        (_, NextStep::FixRequest, None) => Code::Usage,
        _ => Code::Provider,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_next_step() {
        use std::collections::BTreeMap;

        let code = |e: heleket_aml::Error| exit_code(&AmlError::provider("heleket", e));
        let unauthorized = StatusCode::UNAUTHORIZED;
        assert_eq!(
            code(heleket_aml::Error::SignatureRejected {
                key: heleket_aml::KeyKind::Payment,
                status: unauthorized,
                message: "Invalid Sign.".into(),
            }),
            Code::Usage
        );
        assert_eq!(
            code(heleket_aml::Error::Core(
                compliance_core::Error::invalid_request("order_id", "empty")
            )),
            Code::Usage,
            "refused before any I/O"
        );
        assert_eq!(
            code(heleket_aml::Error::Validation {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: None,
                errors: BTreeMap::new(),
            }),
            Code::Provider,
            "refused by the provider"
        );
        assert_eq!(
            code(heleket_aml::Error::Core(compliance_core::Error::Config(
                "x".into()
            ))),
            Code::Usage
        );
    }

    fn subject(text: &str, external: bool) -> Result<Subject, Failure> {
        parse_subject(&SubjectArgs {
            subject: text.into(),
            external,
        })
    }

    #[test]
    fn subjects() {
        assert_eq!(
            subject("payment:u-1", false).unwrap(),
            Subject::Payment {
                reference: SubjectRef::ProviderId("u-1".into())
            }
        );
        assert_eq!(
            subject("payment:order:42", true).unwrap(),
            Subject::Payment {
                reference: SubjectRef::ExternalId("order:42".into())
            }
        );
        assert_eq!(
            subject("wallet:BTC:bc1qxy", false).unwrap(),
            Subject::Wallet {
                blockchain: "BTC".into(),
                address: "bc1qxy".into()
            }
        );
        for bad in [
            "payment",
            "payment:",
            "wallet:BTC",
            "wallet::x",
            "invoice:1",
        ] {
            assert_eq!(subject(bad, false).unwrap_err().code, Code::Usage, "{bad}");
        }
    }
}
