#![no_main]
//! Fuzz target `oscore_unprotect`: see `shared/oscore.rs` for the properties checked.

#[path = "shared/oscore.rs"]
mod oscore;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oscore::unprotect(data));
