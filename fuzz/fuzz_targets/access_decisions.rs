#![no_main]
//! Fuzz target `access_decisions`: see `shared/access.rs` for the properties checked.

#[path = "shared/access.rs"]
mod access;

libfuzzer_sys::fuzz_target!(|data: &[u8]| access::decisions(data));
