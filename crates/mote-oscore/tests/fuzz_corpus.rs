//! Replays the committed seed corpus of the mote-oscore fuzz targets (`fuzz/corpus/<target>/`)
//! through the very functions the targets run (`fuzz/fuzz_targets/shared/oscore.rs`), so
//! stable `cargo test` covers them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../fuzz/fuzz_targets/shared/oscore.rs"]
mod oscore;

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
fn oscore_unprotect_corpus() {
    assert!(replay("oscore_unprotect", oscore::unprotect) >= 16);
}

#[test]
fn oscore_option_corpus() {
    assert!(replay("oscore_option", oscore::option) >= 13);
}
