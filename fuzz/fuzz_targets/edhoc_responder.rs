#![no_main]
//! Fuzz target `edhoc_responder`: see `shared/edhoc.rs` for the properties checked.

#[path = "shared/edhoc.rs"]
mod edhoc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| edhoc::responder(data));
