#![no_main]
//! Fuzz target `endpoint`: see `shared/coap_endpoint.rs` for the properties checked.

#[path = "shared/coap_endpoint.rs"]
mod coap_endpoint;

libfuzzer_sys::fuzz_target!(|data: &[u8]| coap_endpoint::endpoint(data));
