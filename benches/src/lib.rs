//! Criterion benchmarks of the Mote crates live in `benches/`; run them with
//! `cargo bench -p mote-benches`. Each group puts the anchor crate beside ours on the same
//! input; the measured ratios are kept in `docs/performance.md`.
