//! Replays the committed seed corpus of the `endpoint` fuzz target (`fuzz/corpus/endpoint/`)
//! through the function the target runs (`fuzz/fuzz_targets/shared/coap_endpoint.rs`), so
//! stable `cargo test` covers it.

#![allow(clippy::panic, clippy::indexing_slicing)]

#[path = "../../fuzz/fuzz_targets/shared/coap_endpoint.rs"]
mod coap_endpoint;
#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

#[test]
fn endpoint_corpus() {
    assert!(replay::replay("endpoint", coap_endpoint::endpoint) >= 6);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    /// Stable stand-in for a fuzzing run: random scripts through the same checks.
    #[test]
    fn endpoint_random_scripts(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        coap_endpoint::endpoint(&data);
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/endpoint");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    /// The seeds with random byte edits and random tails: valid CoAP traffic, slightly off.
    #[test]
    fn endpoint_mutated_seeds(
        pick in 0usize..64,
        edits in proptest::collection::vec((0usize..512, proptest::prelude::any::<u8>()), 0..8),
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
    ) {
        let seeds = seeds();
        let mut data = seeds[pick % seeds.len()].clone();
        for (at, x) in edits {
            let len = data.len();
            if len > 0 {
                data[at % len] ^= x;
            }
        }
        data.extend(tail);
        coap_endpoint::endpoint(&data);
    }
}
