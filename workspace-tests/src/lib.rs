//! Tests of the Mote workspace that read files outside any one library crate's directory, kept
//! here so that each library crate's `.crate` carries everything its own tests need
//! (`scripts/package-check.sh` unpacks and tests them):
//!
//! - `tests/fuzz_corpus_*.rs` replay the committed seed corpora of the fuzz targets
//!   (`fuzz/corpus/<target>/`) through the very functions the targets run
//!   (`fuzz/fuzz_targets/shared/`), so stable `cargo test` covers them;
//! - the user's guide (`docs/guide.md`, "Using Mote as a library"): its Rust blocks run as
//!   doctests of this crate, where every crate of its walk-through is a dependency, so the guide
//!   cannot drift from the API (`cargo test -p mote-workspace-tests --doc`).
//!
//! This crate is never published and has no API.

#![forbid(unsafe_code)]

// Only rustdoc's test pass reads the guide.
#[cfg(doctest)]
#[doc = include_str!("../../docs/guide.md")]
mod guide {}
