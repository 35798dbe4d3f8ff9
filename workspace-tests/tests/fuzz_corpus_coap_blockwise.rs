//! Replays the committed seed corpus of the `coap_blockwise` fuzz target
//! (`fuzz/corpus/coap_blockwise/`) through the function the target runs
//! (`fuzz/fuzz_targets/shared/coap_blockwise.rs`) on stable Rust: the block-wise server tables
//! stay within their bounds and the clients end under arbitrary datagrams.

#![allow(clippy::panic)]

#[path = "../../fuzz/fuzz_targets/shared/coap_blockwise.rs"]
mod coap_blockwise;
#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

#[test]
fn coap_blockwise_corpus() {
    assert!(replay::replay("coap_blockwise", coap_blockwise::blockwise) >= 8);
}
