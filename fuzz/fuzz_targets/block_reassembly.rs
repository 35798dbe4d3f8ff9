#![no_main]
//! Fuzz target `block_reassembly`: see `shared/coap_aux.rs` for the properties checked.

#[path = "shared/coap_aux.rs"]
mod coap_aux;

libfuzzer_sys::fuzz_target!(|data: &[u8]| coap_aux::block_reassembly(data));
