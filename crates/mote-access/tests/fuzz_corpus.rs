//! Replays the committed seed corpus of the `access_decisions` fuzz target
//! (`fuzz/corpus/access_decisions/`) through the very function the target runs
//! (`fuzz/fuzz_targets/shared/access.rs`), so stable `cargo test` covers it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../fuzz/fuzz_targets/shared/access.rs"]
mod access;

use std::path::Path;

#[test]
fn access_decisions_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/access_decisions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| access::decisions(&data));
        assert!(outcome.is_ok(), "{} fails access_decisions", path.display());
        count += 1;
    }
    assert!(count >= 20, "only {count} corpus files");
}
