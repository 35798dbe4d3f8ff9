//! Replays the committed seed corpora of the `cose_decode` and `cose_key_decode` fuzz targets
//! (`fuzz/corpus/<target>/`) through the same code the targets run, on stable Rust.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            f(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    n
}

#[test]
fn cose_decode_corpus() {
    assert!(replay("cose_decode", mote_cose::fuzz::cose_decode) >= 100);
}

#[test]
fn cose_key_decode_corpus() {
    assert!(replay("cose_key_decode", mote_cose::fuzz::cose_key_decode) >= 5);
}
