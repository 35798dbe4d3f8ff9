#![no_main]
//! Fuzz target `coap_blockwise`: see `shared/coap_blockwise.rs` for the properties checked.

#[path = "shared/coap_blockwise.rs"]
mod coap_blockwise;

libfuzzer_sys::fuzz_target!(|data: &[u8]| coap_blockwise::blockwise(data));
