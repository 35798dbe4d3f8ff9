//! Replays a committed seed corpus (`fuzz/corpus/<target>/`) through a fuzz target's check
//! function on stable Rust, so `cargo test` covers what the fuzzers found. Included with
//! `#[path]` by `workspace-tests/tests/fuzz_corpus_*.rs` (the unpublished workspace test
//! crate, so that no library crate's package needs files outside its directory); not a fuzz
//! target itself.

use std::path::Path;

/// Runs `check` on every file of `fuzz/corpus/<target>/` and returns how many there were;
/// a panic names the input that caused it.
pub(crate) fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails {target}", path.display());
        count += 1;
    }
    count
}
