#![no_main]
//! Fuzz target `link_format_parse`: see `shared/coap_aux.rs` for the properties checked.

#[path = "shared/coap_aux.rs"]
mod coap_aux;

libfuzzer_sys::fuzz_target!(|data: &[u8]| coap_aux::link_format_parse(data));
