//! The notification (what Tuum delivers: `notificationId`, the type code, its dates and
//! `data`) and its reference decoding. The event types, their routing codes and
//! their bodies are in `body` (re-exported here), `Source` in `source`.

use compliance_core::Timestamp;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::body::{BodyDecoder, Kind};
pub use crate::body::{EventBody, EventType};
use crate::error::Error;
use crate::one_pass::{self, DataText};
use crate::raw::RawJson;
pub use crate::source::Source;

/// One Tuum AML event: the notification's fields and its typed body.
///
/// Parse it from the exact bytes Tuum delivered with [`AmlEvent::from_slice`]. Parsing never
/// panics, tolerates fields Tuum adds, and never fails on an unknown event type (see
/// [`EventBody::Unknown`]).
///
/// It serialises back to Tuum's notification shape with `data` exactly as received, so an event
/// can be forwarded (to a broker, an audit log) without losing a digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmlEvent {
    notification_id: String,
    type_code: EventType,
    destination: Option<String>,
    original_message_date_time: Option<Timestamp>,
    body: EventBody,
    raw_data: DataText,
}

/// The notification as it arrives; `data` stays raw until the type code says what it is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    notification_id: String,
    notification_type_code: EventType,
    #[serde(default)]
    destination: Option<String>,
    #[serde(default)]
    original_message_date_time: Option<Timestamp>,
    #[serde(default)]
    data: Option<Box<RawValue>>,
}

impl AmlEvent {
    /// Parses one delivery's body.
    ///
    /// Errors are [`Error::Parse`], naming the JSON path that failed (`data.amount.amount`)
    /// and keeping only a bounded prefix of the body.
    ///
    /// ```
    /// use aml_events::{AmlEvent, EventBody};
    /// let body = br#"{"notificationId":"ID-9999","notificationTypeCode":"AML_PAYMENT_RESULTS_PUBLISHED",
    ///   "originalMessageDateTime":"2024-09-13T11:06:32.924Z",
    ///   "data":{"amlProcessId":"ID-1000","amlProcessResultCode":"DECLINED",
    ///           "subProcessResultReasons":"LEGAL_REASON, CODE_RED"}}"#;
    /// let event = AmlEvent::from_slice(body)?;
    /// assert_eq!(event.notification_id(), "ID-9999");
    /// let EventBody::PaymentResultsPublished(result) = event.body() else { unreachable!() };
    /// assert_eq!(result.sub_process_result_reasons, ["LEGAL_REASON", "CODE_RED"]);
    /// # Ok::<(), aml_events::Error>(())
    /// ```
    pub fn from_slice(body: &[u8]) -> Result<Self, Error> {
        match one_pass::read(body) {
            Some(read) => Ok(AmlEvent {
                notification_id: read.notification_id,
                type_code: read.type_code,
                destination: read.destination,
                original_message_date_time: read.original_message_date_time,
                body: read.body,
                raw_data: read.data,
            }),
            None => Self::from_slice_checked(body),
        }
    }

    /// The reference decoding: the notification with `data` kept as text, then `data` into the
    /// type's body, each error naming its path. [`one_pass::read`] gives the same answer in
    /// one pass when it can, and defers to this when it cannot.
    pub(crate) fn from_slice_checked(body: &[u8]) -> Result<Self, Error> {
        let notification: Notification = compliance_core::json::decode("Tuum AML event", body)
            .map_err(|e| Error::from_decode(e, None, body))?;
        if notification.notification_id.trim().is_empty() {
            return Err(Error::parse(
                "notificationId",
                "must not be empty: it is the deduplication key",
                body,
            ));
        }
        let raw_data = notification
            .data
            .map(RawJson::from_raw)
            .unwrap_or_else(RawJson::null);
        let parsed = match Kind::of(&notification.notification_type_code) {
            Some(kind) => kind.decode(Checked {
                data: &raw_data,
                body,
            })?,
            None => EventBody::Unknown {
                type_code: notification.notification_type_code.as_str().to_owned(),
                raw: raw_data.clone(),
            },
        };
        Ok(AmlEvent {
            notification_id: notification.notification_id,
            type_code: notification.notification_type_code,
            destination: notification.destination,
            original_message_date_time: notification.original_message_date_time,
            body: parsed,
            raw_data: DataText::kept(raw_data),
        })
    }

    /// `notificationId`: Tuum's id of this notification, the same on every retry and replay.
    /// The deduplication key.
    pub fn notification_id(&self) -> &str {
        &self.notification_id
    }

    /// `notificationTypeCode`, typed.
    pub fn event_type(&self) -> &EventType {
        &self.type_code
    }

    /// Tuum's routing code for this event's type, when the type is known.
    pub fn routing_code(&self) -> Option<&'static str> {
        self.type_code.routing_code()
    }

    /// `destination`: the subscription URL Tuum delivered to, as Tuum recorded it.
    pub fn destination(&self) -> Option<&str> {
        self.destination.as_deref()
    }

    /// `originalMessageDateTime`: when Tuum first produced the notification (unchanged on
    /// retries and replays).
    pub fn original_message_date_time(&self) -> Option<Timestamp> {
        self.original_message_date_time
    }

    /// The typed body.
    pub fn body(&self) -> &EventBody {
        &self.body
    }

    /// The typed body, by value.
    pub fn into_body(self) -> EventBody {
        self.body
    }

    /// The `data` member exactly as received, unknown fields included (for audit logs).
    pub fn raw_data(&self) -> &RawJson {
        self.raw_data.get()
    }

    /// Whether the event type is one this crate does not know.
    pub fn is_unknown(&self) -> bool {
        matches!(self.body, EventBody::Unknown { .. })
    }
}

/// The reference decoder's way to read a body: `data` kept as text, decoded with the path of
/// any failure.
struct Checked<'a> {
    data: &'a RawJson,
    body: &'a [u8],
}

impl BodyDecoder for Checked<'_> {
    type Error = Error;

    fn decode<T: serde::de::DeserializeOwned>(self) -> Result<T, Error> {
        decode_data(self.data, self.body)
    }
}

fn decode_data<T: serde::de::DeserializeOwned>(data: &RawJson, body: &[u8]) -> Result<T, Error> {
    if data.is_null() {
        return Err(Error::parse("data", "missing or null", body));
    }
    compliance_core::json::decode("Tuum AML event data", data.get().as_bytes())
        .map_err(|e| Error::from_decode(e, Some("data"), body))
}

impl Serialize for AmlEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("AmlEvent", 5)?;
        st.serialize_field("notificationId", &self.notification_id)?;
        st.serialize_field("notificationTypeCode", &self.type_code)?;
        st.serialize_field("destination", &self.destination)?;
        st.serialize_field("originalMessageDateTime", &self.original_message_date_time)?;
        st.serialize_field("data", self.raw_data())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_codes_both_ways_for_every_known_type() {
        for code in EventType::KNOWN {
            let t = EventType::from(*code);
            let routing = t
                .routing_code()
                .expect("every known type has a routing code");
            assert_eq!(EventType::from_routing_code(routing), Some(t));
        }
        assert_eq!(EventType::from("AML_NEW").routing_code(), None);
        assert_eq!(EventType::from_routing_code("ext.unknown"), None);
        assert_eq!(
            EventType::CollectionSubprocessCreated.routing_code(),
            Some("ext.aml.collection-subprocess.created")
        );
    }

    #[test]
    fn empty_notification_id_is_refused() {
        let err =
            AmlEvent::from_slice(br#"{"notificationId":" ","notificationTypeCode":"X","data":{}}"#)
                .unwrap_err();
        assert!(
            matches!(err, Error::Parse { ref path, .. } if path == "notificationId"),
            "{err}"
        );
    }

    #[test]
    fn known_type_without_data_names_data() {
        let err = AmlEvent::from_slice(
            br#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Parse { ref path, .. } if path == "data"),
            "{err}"
        );
    }

    #[test]
    fn serialises_back_with_raw_data() {
        let body = br#"{"notificationId":"n","notificationTypeCode":"NEW","data":{"x": 1.50}}"#;
        let event = AmlEvent::from_slice(body).unwrap();
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            json,
            r#"{"notificationId":"n","notificationTypeCode":"NEW","destination":null,"originalMessageDateTime":null,"data":{"x": 1.50}}"#
        );
        assert_eq!(AmlEvent::from_slice(json.as_bytes()).unwrap(), event);
    }
}
