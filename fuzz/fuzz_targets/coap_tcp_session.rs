#![no_main]
//! Fuzz target `coap_tcp_session`: see `shared/tcp_session.rs` for the properties checked.

#[path = "shared/tcp_session.rs"]
mod tcp_session;

libfuzzer_sys::fuzz_target!(|data: &[u8]| tcp_session::run(data));
