//! The `coap_tcp_session` fuzz target's script (`fuzz/fuzz_targets/shared/tcp_session.rs`) on
//! stable Rust: its committed seed corpus replayed, and random scripts as a short stand-in for
//! a fuzzing run. The session's bounds hold and it makes progress after every step.

#![allow(clippy::panic)]

use proptest::prelude::*;

#[path = "../../fuzz/fuzz_targets/shared/tcp_session.rs"]
mod fuzz_tcp_session;
#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

proptest! {
    /// The fuzz target's script on random inputs (stable stand-in for a short fuzzing run).
    #[test]
    fn fuzz_script_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzz_tcp_session::run(&data);
    }

    /// The same with a CSM up front, so that scripts get past the CSM exchange.
    #[test]
    fn fuzz_script_after_csm_never_panics(
        setup in any::<u8>(),
        data in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut script = vec![setup, 0, 2, 0x00, 0xe1];
        script.extend(data);
        fuzz_tcp_session::run(&script);
    }
}

#[test]
fn coap_tcp_session_corpus() {
    assert!(replay::replay("coap_tcp_session", fuzz_tcp_session::run) >= 5);
}
