//! Every call into `aml-events`: parsing an event and printing its typed body.

use aml_events::{AmlEvent, Error, EventBody};
use serde_json::{Value, json};

use crate::cli::TuumParseArgs;
use crate::input;
use crate::outcome::{Failure, Outcome, Output};

/// `tuum parse`.
pub fn parse(args: &TuumParseArgs, out: &Output) -> Result<Outcome, Failure> {
    let body = input::read(args.input.as_deref(), out)?;
    match AmlEvent::from_slice(&body) {
        Ok(event) => Ok(parsed(&event)),
        Err(Error::Parse { path, message, .. }) => Ok(Outcome::refused(
            json!({"verdict": "invalid", "path": path, "message": message}),
            format!("REJECTED: not a valid Tuum AML event at `{path}`: {message}"),
        )),
        Err(e) => Ok(Outcome::refused(
            json!({"verdict": "invalid", "message": e.to_string()}),
            format!("REJECTED: {e}"),
        )),
    }
}

fn parsed(event: &AmlEvent) -> Outcome {
    let body = typed_body(event.body());
    let type_code = event.event_type().as_str().to_owned();
    let mut text = format!("parsed: {type_code}");
    if event.is_unknown() {
        text.push_str(" (an event type this version does not know: data kept as sent)");
    }
    let rows = [
        ("notificationId", Some(event.notification_id().to_owned())),
        ("routing code", event.routing_code().map(str::to_owned)),
        ("destination", event.destination().map(str::to_owned)),
        (
            "originalMessageDateTime",
            event.original_message_date_time().map(|t| t.to_string()),
        ),
        (
            "amlProcessId",
            event.body().aml_process_id().map(str::to_owned),
        ),
    ];
    for (name, value) in rows {
        text.push_str(&format!(
            "\n  {name:<24} {}",
            value.as_deref().unwrap_or("-")
        ));
    }
    text.push_str("\n\n");
    text.push_str(&serde_json::to_string_pretty(&body).unwrap_or_default());
    Outcome::ok(
        json!({
            "verdict": "parsed",
            "notification_id": event.notification_id(),
            "type": type_code,
            "known": !event.is_unknown(),
            "routing_code": event.routing_code(),
            "destination": event.destination(),
            "original_message_date_time": event.original_message_date_time(),
            "aml_process_id": event.body().aml_process_id(),
            "body": body,
        }),
        text,
    )
}

/// The typed body as JSON, in Tuum's own shape (amounts exact, as the crate serialises it
/// for forwarding).
fn typed_body(body: &EventBody) -> Value {
    let typed = match body {
        EventBody::PersonSubprocessCreated(b) => serde_json::to_value(b),
        EventBody::PaymentSubprocessCreated(b) => serde_json::to_value(b),
        EventBody::CollectionSubprocessCreated(b) => serde_json::to_value(b),
        EventBody::PaymentResultsPublished(b) => serde_json::to_value(b),
        EventBody::Unknown { raw, .. } => serde_json::from_str(raw.get()),
        _ => Ok(Value::Null),
    };
    typed.unwrap_or(Value::Null)
}
