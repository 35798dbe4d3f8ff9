//! Replays the committed seed corpus of the `access_decisions` fuzz target
//! (`fuzz/corpus/access_decisions/`) through the very function the target runs
//! (`fuzz/fuzz_targets/shared/access.rs`), so stable `cargo test` covers it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/fuzz_targets/shared/access.rs"]
mod access;
#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

#[test]
fn access_decisions_corpus() {
    let count = replay::replay("access_decisions", access::decisions);
    assert!(count >= 20, "only {count} corpus files");
}
