//! Replays the committed seed corpora of the mote-coap fuzz targets (`fuzz/corpus/<target>/`)
//! through the very functions the targets run (`fuzz/fuzz_targets/shared/coap.rs` and
//! `coap_aux.rs`), so stable `cargo test` covers them.

#![allow(clippy::panic)]

#[path = "../../fuzz/fuzz_targets/shared/coap.rs"]
mod coap;
#[path = "../../fuzz/fuzz_targets/shared/coap_aux.rs"]
mod coap_aux;
#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn coap_udp_decode_corpus() {
    assert!(replay("coap_udp_decode", coap::udp_decode) >= 20);
}

#[test]
fn coap_tcp_decode_corpus() {
    assert!(replay("coap_tcp_decode", coap::tcp_decode) >= 10);
}

#[test]
fn coap_roundtrip_corpus() {
    assert!(replay("coap_roundtrip", coap::roundtrip) >= 20);
}

#[test]
fn link_format_parse_corpus() {
    assert!(replay("link_format_parse", coap_aux::link_format_parse) >= 15);
}

#[test]
fn uri_parse_corpus() {
    assert!(replay("uri_parse", coap_aux::uri_parse) >= 15);
}

#[test]
fn block_reassembly_corpus() {
    assert!(replay("block_reassembly", coap_aux::block_reassembly) >= 6);
}
