//! Replays the committed fuzz corpora (`fuzz/corpus/lwm2m_*`) through the functions the
//! fuzz targets run (`mote_lwm2m::fuzzing`), so that stable `cargo test` covers them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/fuzz_targets/shared/replay.rs"]
mod replay;

/// The `mote_lwm2m::fuzzing` checks return the property that failed instead of panicking.
macro_rules! check {
    ($f:path) => {
        |data: &[u8]| {
            if let Err(e) = $f(data) {
                panic!("{e}");
            }
        }
    };
}

fn replay(target: &str, check: fn(&[u8])) {
    assert!(replay::replay(target, check) > 0, "{target}: empty corpus");
}

#[test]
fn lwm2m_tlv() {
    replay("lwm2m_tlv", check!(mote_lwm2m::fuzzing::tlv));
}

#[test]
fn lwm2m_senml_json() {
    replay("lwm2m_senml_json", check!(mote_lwm2m::fuzzing::senml_json));
}

#[test]
fn lwm2m_senml_cbor() {
    replay("lwm2m_senml_cbor", check!(mote_lwm2m::fuzzing::senml_cbor));
}

#[test]
fn lwm2m_cbor() {
    replay("lwm2m_cbor", check!(mote_lwm2m::fuzzing::lwm2m_cbor));
}

#[test]
fn lwm2m_ddf() {
    replay("lwm2m_ddf", check!(mote_lwm2m::fuzzing::ddf));
}

#[test]
fn lwm2m_link() {
    replay("lwm2m_link", check!(mote_lwm2m::fuzzing::link));
}
