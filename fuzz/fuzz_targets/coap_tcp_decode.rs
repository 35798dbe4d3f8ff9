#![no_main]
//! Fuzz target `coap_tcp_decode`: see `shared/coap.rs` for the properties checked.

#[path = "shared/coap.rs"]
mod coap;

libfuzzer_sys::fuzz_target!(|data: &[u8]| coap::tcp_decode(data));
