//! Reading a delivery in one pass: when `notificationTypeCode` comes before `data` (as in
//! every example Tuum documents), `data` is decoded into its typed body as the parser
//! reaches it, and its exact text is cut out of the body only when someone asks for it
//! ([`DataText`]).
//!
//! This is an accelerator, not a second definition of the format: [`read`] answers `None`
//! for anything it does not read exactly as [`AmlEvent::from_slice`]'s reference decoding
//! does (any error, a duplicate member, a blank id, a body that is not UTF-8), and the
//! reference decoding then runs and has the last word, errors included.
//!
//! [`AmlEvent::from_slice`]: crate::AmlEvent::from_slice

use std::fmt;
use std::sync::OnceLock;

use compliance_core::Timestamp;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, de::Error as _};
use serde_json::value::RawValue;

use crate::body::{EventBody, EventType, Kind};
use crate::raw::RawJson;

/// A notification read in one pass.
pub(crate) struct Read {
    pub(crate) notification_id: String,
    pub(crate) type_code: EventType,
    pub(crate) destination: Option<String>,
    pub(crate) original_message_date_time: Option<Timestamp>,
    pub(crate) body: EventBody,
    pub(crate) data: DataText,
}

/// Reads `body` in one pass, or `None` when the reference decoding must decide.
pub(crate) fn read(body: &[u8]) -> Option<Read> {
    // Checked once here, the UTF-8 need not be checked again string by string (nor in the
    // members nobody reads, which the parser skips unchecked).
    let text = std::str::from_utf8(body).ok()?;
    let notification: Notification<'_> = serde_json::from_str(text).ok()?;
    if notification.notification_id.trim().is_empty() {
        return None;
    }
    let kind = Kind::of(&notification.type_code);
    let (event_body, data) = match (notification.data, kind) {
        (Data::Typed(event_body), _) => (event_body, DataText::in_body(text)),
        (Data::Raw(Some(raw)), Some(kind)) => {
            let mut de = serde_json::Deserializer::from_str(raw.get());
            let event_body = kind.deserialize(&mut de).ok()?;
            de.end().ok()?;
            (
                event_body,
                DataText::kept(RawJson::from_raw(raw.to_owned())),
            )
        }
        // A known type needs its `data`: the reference decoding names what is missing.
        (Data::Raw(None) | Data::Absent, Some(_)) => return None,
        (Data::Raw(raw), None) => {
            let raw = raw.map_or_else(RawJson::null, |r| RawJson::from_raw(r.to_owned()));
            let event_body = EventBody::Unknown {
                type_code: notification.type_code.as_str().to_owned(),
                raw: raw.clone(),
            };
            (event_body, DataText::kept(raw))
        }
        (Data::Absent, None) => {
            let event_body = EventBody::Unknown {
                type_code: notification.type_code.as_str().to_owned(),
                raw: RawJson::null(),
            };
            (event_body, DataText::kept(RawJson::null()))
        }
    };
    Some(Read {
        notification_id: notification.notification_id,
        type_code: notification.type_code,
        destination: notification.destination,
        original_message_date_time: notification.original_message_date_time,
        body: event_body,
        data,
    })
}

/// The `data` member exactly as received: kept when it was read as text, otherwise cut out
/// of the body on first use.
#[derive(Clone)]
pub(crate) struct DataText {
    text: OnceLock<RawJson>,
    /// The whole delivery, in pieces of at most [`PIECE`] bytes.
    body: Option<Box<[Box<str>]>>,
}

/// The longest piece a body is copied in. glibc's `malloc` serves requests under 1 KiB
/// from per-size lists, but before serving a larger one it first merges every small block
/// freed since (`malloc_consolidate`): copying a 1.5 KB delivery in one piece cost about a
/// tenth of the whole parse (perf, `cargo xtask bench`), pieces cost what the copy costs.
/// The text of `data` is joined from them (one block) only when someone asks for it.
const PIECE: usize = 1000;

impl DataText {
    /// The text, already cut out.
    pub(crate) fn kept(raw: RawJson) -> Self {
        Self {
            text: OnceLock::from(raw),
            body: None,
        }
    }

    /// The text, to cut out of `body` (a whole delivery [`read`] accepted) when needed.
    fn in_body(body: &str) -> Self {
        let mut pieces = Vec::with_capacity(body.len().div_ceil(PIECE));
        let mut rest = body;
        while !rest.is_empty() {
            // A piece ends on a character boundary, at most three bytes before `PIECE`.
            let mut end = rest.len().min(PIECE);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let (piece, tail) = rest.split_at(end);
            pieces.push(Box::<str>::from(piece));
            rest = tail;
        }
        Self {
            text: OnceLock::new(),
            body: Some(pieces.into_boxed_slice()),
        }
    }

    pub(crate) fn get(&self) -> &RawJson {
        self.text.get_or_init(|| {
            #[derive(Deserialize)]
            struct OnlyData {
                #[serde(default)]
                data: Option<Box<RawValue>>,
            }
            // `read` accepted this body (well-formed, UTF-8, one `data`): the same bytes
            // read again give the same `data`.
            let body = self.body.as_deref().map(<[Box<str>]>::concat);
            let read = body.as_deref().map(serde_json::from_str::<OnlyData>);
            debug_assert!(
                !matches!(read, Some(Err(_))),
                "a body `read` accepted must read again"
            );
            read.and_then(Result::ok)
                .and_then(|only| only.data)
                .map_or_else(RawJson::null, RawJson::from_raw)
        })
    }
}

impl PartialEq for DataText {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for DataText {}

impl fmt::Debug for DataText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// `data` as the pass found it.
enum Data<'de> {
    /// Decoded on the way: the type came first.
    Typed(EventBody),
    /// Kept as text (`None` for `null`): the type came after it, or is not known.
    Raw(Option<&'de RawValue>),
    /// Not there.
    Absent,
}

struct Notification<'de> {
    notification_id: String,
    type_code: EventType,
    destination: Option<String>,
    original_message_date_time: Option<Timestamp>,
    data: Data<'de>,
}

impl<'de> Deserialize<'de> for Notification<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(NotificationVisitor)
    }
}

enum Key {
    NotificationId,
    NotificationTypeCode,
    Destination,
    OriginalMessageDateTime,
    Data,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "notificationId" => Key::NotificationId,
                    "notificationTypeCode" => Key::NotificationTypeCode,
                    "destination" => Key::Destination,
                    "originalMessageDateTime" => Key::OriginalMessageDateTime,
                    "data" => Key::Data,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

struct NotificationVisitor;

impl<'de> Visitor<'de> for NotificationVisitor {
    type Value = Notification<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Tuum notification")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Notification<'de>, A::Error> {
        fn once<T, E: de::Error>(
            slot: &mut Option<T>,
            value: T,
            name: &'static str,
        ) -> Result<(), E> {
            match slot.replace(value) {
                None => Ok(()),
                Some(_) => Err(E::duplicate_field(name)),
            }
        }
        let mut id = None;
        let mut type_code: Option<EventType> = None;
        let mut destination = None;
        let mut time = None;
        let mut data = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::NotificationId => {
                    once(&mut id, map.next_value::<String>()?, "notificationId")?
                }
                Key::NotificationTypeCode => {
                    once(&mut type_code, map.next_value()?, "notificationTypeCode")?
                }
                Key::Destination => once(
                    &mut destination,
                    map.next_value::<Option<String>>()?,
                    "destination",
                )?,
                Key::OriginalMessageDateTime => once(
                    &mut time,
                    map.next_value::<Option<Timestamp>>()?,
                    "originalMessageDateTime",
                )?,
                Key::Data => {
                    let value = match type_code.as_ref().and_then(Kind::of) {
                        Some(kind) => Data::Typed(map.next_value_seed(kind)?),
                        None => Data::Raw(map.next_value::<Option<&'de RawValue>>()?),
                    };
                    once(&mut data, value, "data")?
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Notification {
            notification_id: id.ok_or_else(|| A::Error::missing_field("notificationId"))?,
            type_code: type_code.ok_or_else(|| A::Error::missing_field("notificationTypeCode"))?,
            destination: destination.flatten(),
            original_message_date_time: time.flatten(),
            data: data.unwrap_or(Data::Absent),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::AmlEvent;

    const SEEDS: [&str; 4] = [
        include_str!("../tests/fixtures/person_subprocess_created.json"),
        include_str!("../tests/fixtures/payment_subprocess_created.json"),
        include_str!("../tests/fixtures/collection_subprocess_created.json"),
        include_str!("../tests/fixtures/payment_results_published.json"),
    ];

    /// `from_slice` (one pass when it can) answers exactly as the reference decoding.
    fn same_as_reference(body: &[u8]) -> Result<(), TestCaseError> {
        let reference = AmlEvent::from_slice_checked(body);
        match (AmlEvent::from_slice(body), reference) {
            (Ok(event), Ok(reference)) => {
                prop_assert_eq!(event.raw_data(), reference.raw_data());
                prop_assert_eq!(&event, &reference);
            }
            (Err(e), Err(reference)) => prop_assert_eq!(e.to_string(), reference.to_string()),
            (got, want) => prop_assert!(false, "{got:?} but the reference says {want:?}"),
        }
        Ok(())
    }

    #[test]
    fn documented_deliveries_take_the_one_pass_and_keep_data_exact() {
        for seed in SEEDS {
            let read = read(seed.as_bytes()).expect("the type comes before `data`");
            assert!(!matches!(read.body, EventBody::Unknown { .. }));
            assert!(
                read.data.text.get().is_none(),
                "not cut out before it is asked for"
            );
            let reference = AmlEvent::from_slice_checked(seed.as_bytes()).unwrap();
            assert_eq!(read.data.get().get(), reference.raw_data().get());
            same_as_reference(seed.as_bytes()).unwrap();
        }
    }

    #[test]
    fn long_deliveries_are_kept_in_pieces_cut_between_characters() {
        for filler in ["é", "€", "𝄞", "a"] {
            for extra in 0..4 {
                let details = format!("{}{}", "x".repeat(extra), filler.repeat(1200));
                let body = format!(
                    r#"{{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{{"amlProcessId":"P","amlSubprocessId":"S","paymentId":"X","details":"{details}","amount":{{"amount":1.22,"currencyCode":"EUR"}}}}}}"#
                );
                let read = read(body.as_bytes()).expect("one pass");
                let pieces = read.data.body.as_deref().expect("kept in the body");
                assert!(pieces.len() > 1);
                assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= PIECE));
                assert_eq!(pieces.concat(), body);
                let reference = AmlEvent::from_slice_checked(body.as_bytes()).unwrap();
                assert_eq!(read.data.get().get(), reference.raw_data().get());
            }
        }
    }

    #[test]
    fn every_order_and_oddity_answers_as_the_reference() {
        let payment = r#"{"amlProcessId":"P","amlSubprocessId":"S","paymentId":"X","amount":{"amount":1.2200000000000000001,"currencyCode":"EUR"}}"#;
        let bodies = [
            // `data` before the type: kept as text, decoded after.
            format!(r#"{{"data":{payment},"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED"}}"#),
            format!(r#"{{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data": {payment} ,"x":[1,{{"y":"\u00e9"}}]}}"#),
            // Escaped member names still name the members.
            format!(r#"{{"notificationId":"n","notification\u0054ypeCode":"AML_SUBPROCESS_CREATED","data":{payment}}}"#),
            // Unknown types keep `data` as it is, whatever it is.
            r#"{"notificationId":"n","notificationTypeCode":"AML_NEW","data":{"a": 1.50}}"#.to_owned(),
            r#"{"notificationId":"n","notificationTypeCode":"AML_NEW","data":null}"#.to_owned(),
            r#"{"notificationId":"n","notificationTypeCode":"AML_NEW"}"#.to_owned(),
            r#"{"data":[1],"notificationId":"n","notificationTypeCode":"AML_NEW","destination":null}"#.to_owned(),
            // What the reference refuses, with its words.
            r#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED"}"#.to_owned(),
            r#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":null}"#.to_owned(),
            format!(r#"{{"notificationId":" ","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{payment}}}"#),
            format!(r#"{{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{payment},"data":{payment}}}"#),
            format!(r#"{{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","notificationTypeCode":"X","data":{payment}}}"#),
            r#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","data":{"amlProcessId":7}}"#.to_owned(),
            r#"{"notificationTypeCode":"AML_NEW"}"#.to_owned(),
            r#"{"notificationId":"n","notificationTypeCode":"AML_NEW"} x"#.to_owned(),
            "[]".to_owned(),
        ];
        for body in &bodies {
            same_as_reference(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        // Bytes that are not UTF-8 in a member nobody reads: the reference decides.
        let mut body =
            br#"{"notificationId":"n","notificationTypeCode":"AML_SUBPROCESS_CREATED","x":"#
                .to_vec();
        body.extend(b"\"\xff\",\"data\":");
        body.extend(payment.as_bytes());
        body.push(b'}');
        assert!(read(&body).is_none());
        same_as_reference(&body).unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        #[test]
        fn mutated_deliveries_answer_as_the_reference(
            seed in 0..SEEDS.len(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = SEEDS[seed].as_bytes().to_vec();
            for (index, byte) in edits {
                let i = index.index(bytes.len());
                bytes[i] = byte;
            }
            same_as_reference(&bytes)?;
        }
    }
}
