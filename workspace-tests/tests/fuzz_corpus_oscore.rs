//! Replays the committed seed corpus of the mote-oscore fuzz targets (`fuzz/corpus/<target>/`)
//! through the very functions the targets run (`fuzz/fuzz_targets/shared/oscore.rs`), so
//! stable `cargo test` covers them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/fuzz_targets/shared/oscore.rs"]
mod oscore;

#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn oscore_unprotect_corpus() {
    assert!(replay("oscore_unprotect", oscore::unprotect) >= 16);
}

#[test]
fn oscore_option_corpus() {
    assert!(replay("oscore_option", oscore::option) >= 13);
}
