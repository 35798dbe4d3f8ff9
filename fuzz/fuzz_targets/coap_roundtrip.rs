#![no_main]
//! Fuzz target `coap_roundtrip`: see `shared/coap.rs` for the properties checked.

#[path = "shared/coap.rs"]
mod coap;

libfuzzer_sys::fuzz_target!(|data: &[u8]| coap::roundtrip(data));
