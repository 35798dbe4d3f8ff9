//! Empty: the measurement is `benches/generations.rs` (see `Cargo.toml`).
