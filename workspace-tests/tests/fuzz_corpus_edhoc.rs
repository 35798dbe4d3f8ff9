//! Replays the committed seed corpus of the mote-edhoc fuzz targets (`fuzz/corpus/edhoc_*/`)
//! through the very functions the targets run (`fuzz/fuzz_targets/shared/edhoc.rs`), so stable
//! `cargo test` covers them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../fuzz/fuzz_targets/shared/edhoc.rs"]
mod edhoc;

#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn edhoc_message_1_corpus() {
    assert!(replay("edhoc_message_1", edhoc::message_1) >= 10);
}

#[test]
fn edhoc_message_2_corpus() {
    assert!(replay("edhoc_message_2", edhoc::message_2) >= 5);
}

#[test]
fn edhoc_message_3_corpus() {
    assert!(replay("edhoc_message_3", edhoc::message_3) >= 5);
}

#[test]
fn edhoc_message_error_corpus() {
    assert!(replay("edhoc_message_error", edhoc::message_error) >= 4);
}

#[test]
fn edhoc_responder_corpus() {
    assert!(replay("edhoc_responder", edhoc::responder) >= 5);
}

#[test]
fn edhoc_initiator_corpus() {
    assert!(replay("edhoc_initiator", edhoc::initiator) >= 3);
}

#[test]
fn round_trip_properties_on_spec_messages() {
    // RFC 9529 §3.2 error and §4.3.1 non-deterministic message_1 (rejected, not re-encoded).
    edhoc::message_error(&[0x02, 0x02]);
    edhoc::message_error(&[0x02, 0x82, 0x06, 0x02]);
    edhoc::message_1(&[0x19, 0x00, 0x03, 0x02, 0x41, 0x00, 0x0e]);
}
