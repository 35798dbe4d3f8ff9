#![no_main]
//! Fuzz target `coap_udp_decode`: see `shared/coap.rs` for the properties checked.

#[path = "shared/coap.rs"]
mod coap;

libfuzzer_sys::fuzz_target!(|data: &[u8]| coap::udp_decode(data));
