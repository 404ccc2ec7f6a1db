//! Properties over arbitrary input: parsing never panics, and decimals are always exact.

use aml_events::auth::InsecureAcceptAll;
use aml_events::{
    AmlEvent, BoxError, Decimal, EventBody, RequestInfo, WebhookProcessor, WebhookVerifier,
    handler_fn,
};
use proptest::prelude::*;

const SEEDS: [&str; 4] = [
    include_str!("fixtures/person_subprocess_created.json"),
    include_str!("fixtures/payment_subprocess_created.json"),
    include_str!("fixtures/collection_subprocess_created.json"),
    include_str!("fixtures/payment_results_published.json"),
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2_048)) {
        if let Err(e) = AmlEvent::from_slice(&bytes) {
            prop_assert!(e.to_string().len() < 3_000);
        }
    }

    #[test]
    fn mutated_seeds_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (index, byte) in edits {
            let i = index.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = AmlEvent::from_slice(&bytes);
    }

    #[test]
    fn truncated_seeds_are_errors_not_panics(seed in 0..SEEDS.len(), cut in any::<prop::sample::Index>()) {
        let bytes = SEEDS[seed].as_bytes().trim_ascii_end();
        let cut = cut.index(bytes.len());
        // Cutting before the closing brace always leaves invalid JSON.
        prop_assert!(AmlEvent::from_slice(&bytes[..cut]).is_err());
    }

    #[test]
    fn amounts_parse_exactly(mantissa in any::<i64>(), scale in 0u32..=18) {
        let expected = Decimal::new(mantissa, scale);
        let body = SEEDS[1].replacen(r#""amount": 1.22"#, &format!(r#""amount": {expected}"#), 1);
        let event = AmlEvent::from_slice(body.as_bytes()).unwrap();
        let EventBody::PaymentSubprocessCreated(p) = event.body() else { panic!("not a payment") };
        prop_assert_eq!(p.amount.amount, expected);
        prop_assert_eq!(p.amount.amount.to_string(), expected.to_string());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_processor_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1_024)) {
        let processor = WebhookProcessor::builder(WebhookVerifier::new(InsecureAcceptAll))
            .handler(handler_fn(|_e: AmlEvent| async { Ok::<_, BoxError>(()) }))
            .build()
            .unwrap();
        let _ = runtime().block_on(processor.process_authenticated(&RequestInfo::empty(), &bytes));
    }
}
