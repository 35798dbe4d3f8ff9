//! Replays the committed seed corpora of the `cose_decode` and `cose_key_decode` fuzz targets
//! (`fuzz/corpus/<target>/`) through the same code the targets run, on stable Rust.

#![allow(clippy::panic)]

#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn cose_decode_corpus() {
    assert!(replay("cose_decode", mote_cose::fuzz::cose_decode) >= 100);
}

#[test]
fn cose_key_decode_corpus() {
    assert!(replay("cose_key_decode", mote_cose::fuzz::cose_key_decode) >= 5);
}
