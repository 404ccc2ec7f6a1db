//! Tuum's code lists, as open enums.
//!
//! Every enum here parses any string: the values Tuum documents become variants, anything
//! else is kept verbatim in `Unknown(String)` and serialises back unchanged. Tuum adds codes
//! without notice; a new one never makes an event fail to parse.

compliance_core::open_enum! {
    /// The kind of payment (`paymentTypeCode`): which rails the money moves between.
    pub enum PaymentType {
        /// Between two Tuum accounts.
        Acc2Acc = "ACC2ACC",
        /// From a Tuum account out over SEPA.
        Acc2Sepa = "ACC2SEPA",
        /// Incoming over SEPA into a Tuum account.
        Sepa2Acc = "SEPA2ACC",
        /// From a Tuum account out over SWIFT.
        Acc2Swift = "ACC2SWIFT",
        /// Incoming over SWIFT into a Tuum account.
        Swift2Acc = "SWIFT2ACC",
        /// From a Tuum account out over a local scheme.
        Acc2Local = "ACC2LOCAL",
        /// Incoming over a local scheme into a Tuum account.
        Local2Acc = "LOCAL2ACC",
    }
}

compliance_core::open_enum! {
    /// Which way money moves, seen from the bank (`directionCode`).
    pub enum Direction {
        /// Money coming in.
        In = "IN",
        /// Money going out.
        Out = "OUT",
    }
}

compliance_core::open_enum! {
    /// Status of a payment, a collection or an AML subprocess (`statusCode`).
    ///
    /// The subprocess events carry [`Status::WaitingForExternalProvider`]: the AML process
    /// waits for *you* (the external provider) to screen and answer.
    pub enum Status {
        /// Recorded, not yet processed.
        Inserted = "INSERTED",
        /// Waiting for a manual approval.
        WaitingForApproval = "WAITING_FOR_APPROVAL",
        /// Pending.
        Pending = "PENDING",
        /// Waiting for the AML process to finish.
        WaitingForAml = "WAITING_FOR_AML",
        /// Under manual AML review.
        AmlReview = "AML_REVIEW",
        /// Approved by AML.
        AmlApproved = "AML_APPROVED",
        /// Declined by AML.
        AmlDeclined = "AML_DECLINED",
        /// Waiting for the transaction to be booked.
        WaitingForTransaction = "WAITING_FOR_TRANSACTION",
        /// Processed.
        Processed = "PROCESSED",
        /// Cancelled.
        Cancelled = "CANCELLED",
        /// Returned.
        Returned = "RETURNED",
        /// The AML subprocess waits for the external provider's answer.
        WaitingForExternalProvider = "WAITING_FOR_EXTERNAL_PROVIDER",
    }
}

compliance_core::open_enum! {
    /// The kind of direct-debit collection (`collectionTypeCode`).
    pub enum CollectionType {
        /// Incoming SEPA direct debit.
        InSepa = "IN_SEPA",
        /// Outgoing SEPA direct debit.
        OutSepa = "OUT_SEPA",
        /// Incoming BACS direct debit.
        InBacs = "IN_BACS",
        /// Outgoing BACS direct debit.
        OutBacs = "OUT_BACS",
        /// Incoming Faster Payments collection.
        InFaster = "IN_FASTER",
        /// Outgoing Faster Payments collection.
        OutFaster = "OUT_FASTER",
        /// Incoming collection between Tuum accounts.
        InIntra = "IN_INTRA",
        /// Outgoing collection between Tuum accounts.
        OutIntra = "OUT_INTRA",
    }
}

compliance_core::open_enum! {
    /// Where a collection sits in its mandate's sequence (`sequenceTypeCode`, SEPA codes).
    pub enum SequenceType {
        /// The first collection of a recurring mandate.
        First = "FRST",
        /// A recurring collection.
        Recurring = "RCUR",
        /// A one-off collection.
        OneOff = "OOFF",
        /// The final collection of a recurring mandate.
        Final = "FNAL",
        /// A re-presented collection.
        Represented = "RPRE",
    }
}

compliance_core::open_enum! {
    /// The SEPA direct-debit scheme (`sepaScheme`).
    pub enum SepaScheme {
        /// SEPA Core (consumers).
        Core = "CORE",
        /// SEPA Business-to-Business.
        B2b = "B2B",
    }
}

compliance_core::open_enum! {
    /// Whether a person is natural or legal (`personTypeCode`).
    pub enum PersonType {
        /// A private (natural) person.
        Private = "P",
        /// A legal person (a company).
        Legal = "L",
    }
}

compliance_core::open_enum! {
    /// Which side of an FX payment is fixed (`fixedSide`).
    ///
    /// Tuum documents `BUY`/`SELL` on quotes, and `PAYMENT` appears elsewhere.
    pub enum FixedSide {
        /// The bought amount is fixed.
        Buy = "BUY",
        /// The sold amount is fixed.
        Sell = "SELL",
        /// The payment amount is fixed.
        Payment = "PAYMENT",
    }
}

compliance_core::open_enum! {
    /// The outcome of a payment's AML process (`amlProcessResultCode`).
    pub enum ResultCode {
        /// The payment may proceed.
        Approved = "APPROVED",
        /// The payment is refused.
        Declined = "DECLINED",
        /// The payment waits for a manual review.
        Review = "REVIEW",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_parse_and_unknown_round_trip() {
        assert_eq!(
            "ACC2SEPA".parse::<PaymentType>().unwrap(),
            PaymentType::Acc2Sepa
        );
        assert_eq!(
            "WAITING_FOR_EXTERNAL_PROVIDER".parse::<Status>().unwrap(),
            Status::WaitingForExternalProvider
        );
        assert_eq!(SequenceType::Represented.as_str(), "RPRE");
        assert_eq!(PersonType::from("L"), PersonType::Legal);
        let new: ResultCode = serde_json::from_str(r#""ESCALATED""#).unwrap();
        assert_eq!(new, ResultCode::Unknown("ESCALATED".into()));
        assert_eq!(serde_json::to_string(&new).unwrap(), r#""ESCALATED""#);
    }
}
