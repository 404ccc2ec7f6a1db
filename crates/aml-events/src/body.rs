//! The event types and their typed bodies, and the one place that maps a type to its body
//! ([`Kind`]), used by both decoders: the one-pass reader (`one_pass`) and the reference
//! decoding (`event`). Depends on neither.

use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer};

use crate::collection::CollectionSubprocessCreated;
use crate::payment::PaymentSubprocessCreated;
use crate::person::PersonSubprocessCreated;
use crate::raw::RawJson;
use crate::result::PaymentResultsPublished;

compliance_core::open_enum! {
    /// The kind of event (`notificationTypeCode`).
    ///
    /// Each known type also has a *routing code*, the key Tuum uses on its internal event
    /// bus. It is not in the webhook body; use [`routing_code`](EventType::routing_code) and
    /// [`from_routing_code`](EventType::from_routing_code) when events travel through a
    /// message broker keyed by it.
    pub enum EventType {
        /// `AML_PERSON_SUBPROCESS_CREATED`: a new person needs screening.
        PersonSubprocessCreated = "AML_PERSON_SUBPROCESS_CREATED",
        /// `AML_SUBPROCESS_CREATED`: a payment needs screening.
        PaymentSubprocessCreated = "AML_SUBPROCESS_CREATED",
        /// `AML_SUBPROCESS_CREATED_COLLECTION`: a direct-debit collection needs screening.
        CollectionSubprocessCreated = "AML_SUBPROCESS_CREATED_COLLECTION",
        /// `AML_PAYMENT_RESULTS_PUBLISHED`: a payment's AML process finished.
        PaymentResultsPublished = "AML_PAYMENT_RESULTS_PUBLISHED",
    }
}

impl EventType {
    /// Tuum's routing code for this type (`ext.aml.subprocess.created`...), or `None` for a
    /// type this crate does not know.
    ///
    /// ```
    /// use aml_events::EventType;
    /// let t = EventType::PaymentSubprocessCreated;
    /// assert_eq!(t.routing_code(), Some("ext.aml.subprocess.created"));
    /// assert_eq!(EventType::from_routing_code("ext.aml.subprocess.created"), Some(t));
    /// ```
    pub fn routing_code(&self) -> Option<&'static str> {
        Kind::of(self).map(Kind::routing_code)
    }

    /// The event type a routing code belongs to, or `None` if the code is not known.
    pub fn from_routing_code(code: &str) -> Option<EventType> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.routing_code() == code)
            .map(Kind::event_type)
    }
}

/// The event types whose `data` this crate decodes: for each, its type code, its routing code
/// and its body, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Person,
    Payment,
    Collection,
    Results,
}

/// How one decoder reads a body of a type it is told: the one-pass reader from its
/// deserializer, the reference decoding from `data` kept as text.
pub(crate) trait BodyDecoder {
    type Error;
    fn decode<T: DeserializeOwned>(self) -> Result<T, Self::Error>;
}

/// The one-pass reader's decoder: the deserializer positioned on `data`.
struct InPlace<'de, D: Deserializer<'de>>(D, PhantomData<&'de ()>);

impl<'de, D: Deserializer<'de>> BodyDecoder for InPlace<'de, D> {
    type Error = D::Error;

    fn decode<T: DeserializeOwned>(self) -> Result<T, D::Error> {
        T::deserialize(self.0)
    }
}

impl Kind {
    pub(crate) const ALL: [Kind; 4] =
        [Kind::Person, Kind::Payment, Kind::Collection, Kind::Results];

    /// The kind of a type code, `None` for a type this crate does not know.
    pub(crate) fn of(type_code: &EventType) -> Option<Self> {
        match type_code {
            EventType::PersonSubprocessCreated => Some(Kind::Person),
            EventType::PaymentSubprocessCreated => Some(Kind::Payment),
            EventType::CollectionSubprocessCreated => Some(Kind::Collection),
            EventType::PaymentResultsPublished => Some(Kind::Results),
            _ => None,
        }
    }

    /// Its type code.
    pub(crate) fn event_type(self) -> EventType {
        match self {
            Kind::Person => EventType::PersonSubprocessCreated,
            Kind::Payment => EventType::PaymentSubprocessCreated,
            Kind::Collection => EventType::CollectionSubprocessCreated,
            Kind::Results => EventType::PaymentResultsPublished,
        }
    }

    /// The key Tuum uses on its internal event bus.
    pub(crate) fn routing_code(self) -> &'static str {
        match self {
            Kind::Person => "ext.aml-subprocess.waiting-for-external-provider-person",
            Kind::Payment => "ext.aml.subprocess.created",
            Kind::Collection => "ext.aml.collection-subprocess.created",
            Kind::Results => "ext.aml-process.payment-results.published",
        }
    }

    /// Reads the body of this kind with `decoder`: the one dispatch from a type to its body.
    pub(crate) fn decode<B: BodyDecoder>(self, decoder: B) -> Result<EventBody, B::Error> {
        Ok(match self {
            Kind::Person => EventBody::PersonSubprocessCreated(decoder.decode()?),
            Kind::Payment => EventBody::PaymentSubprocessCreated(Box::new(decoder.decode()?)),
            Kind::Collection => EventBody::CollectionSubprocessCreated(Box::new(decoder.decode()?)),
            Kind::Results => EventBody::PaymentResultsPublished(decoder.decode()?),
        })
    }
}

impl<'de> DeserializeSeed<'de> for Kind {
    type Value = EventBody;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EventBody, D::Error> {
        self.decode(InPlace(d, PhantomData))
    }
}

/// The typed `data` of an event, one variant per event type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventBody {
    /// `AML_PERSON_SUBPROCESS_CREATED`.
    PersonSubprocessCreated(PersonSubprocessCreated),
    /// `AML_SUBPROCESS_CREATED`.
    PaymentSubprocessCreated(Box<PaymentSubprocessCreated>),
    /// `AML_SUBPROCESS_CREATED_COLLECTION`.
    CollectionSubprocessCreated(Box<CollectionSubprocessCreated>),
    /// `AML_PAYMENT_RESULTS_PUBLISHED`.
    PaymentResultsPublished(PaymentResultsPublished),
    /// An event type this version of the crate does not know. Never an error: Tuum adds
    /// event types, and an unknown one must not block delivery.
    Unknown {
        /// The `notificationTypeCode` as sent.
        type_code: String,
        /// The `data` as sent (`null` when absent).
        raw: RawJson,
    },
}

impl EventBody {
    /// The event type of this body.
    pub fn event_type(&self) -> EventType {
        match self {
            EventBody::PersonSubprocessCreated(_) => EventType::PersonSubprocessCreated,
            EventBody::PaymentSubprocessCreated(_) => EventType::PaymentSubprocessCreated,
            EventBody::CollectionSubprocessCreated(_) => EventType::CollectionSubprocessCreated,
            EventBody::PaymentResultsPublished(_) => EventType::PaymentResultsPublished,
            EventBody::Unknown { type_code, .. } => EventType::from(type_code.as_str()),
        }
    }

    /// The AML process the event is about, when the body is known.
    pub fn aml_process_id(&self) -> Option<&str> {
        match self {
            EventBody::PersonSubprocessCreated(e) => Some(&e.aml_process_id),
            EventBody::PaymentSubprocessCreated(e) => Some(&e.aml_process_id),
            EventBody::CollectionSubprocessCreated(e) => Some(&e.aml_process_id),
            EventBody::PaymentResultsPublished(e) => Some(&e.aml_process_id),
            EventBody::Unknown { .. } => None,
        }
    }
}
