//! Replays the committed seed corpora of the companion fuzz targets (`link_format_parse`,
//! `uri_parse`, `block_reassembly` in `fuzz/corpus/<target>/`) through the very functions the
//! targets run (`fuzz/fuzz_targets/shared/coap_aux.rs`), so stable `cargo test` covers them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../fuzz/fuzz_targets/shared/coap_aux.rs"]
mod coap_aux;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails {target}", path.display());
        count += 1;
    }
    count
}

#[test]
fn link_format_parse_corpus() {
    assert!(replay("link_format_parse", coap_aux::link_format_parse) >= 15);
}

#[test]
fn uri_parse_corpus() {
    assert!(replay("uri_parse", coap_aux::uri_parse) >= 15);
}

#[test]
fn block_reassembly_corpus() {
    assert!(replay("block_reassembly", coap_aux::block_reassembly) >= 6);
}
