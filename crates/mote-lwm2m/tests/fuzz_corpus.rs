//! Replays the committed fuzz corpora (`fuzz/corpus/lwm2m_*`) through the functions the
//! fuzz targets run (`mote_lwm2m::fuzzing`), so that stable `cargo test` covers them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn replay(target: &str, f: fn(&[u8]) -> Result<(), String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Err(e) = f(&data) {
            panic!("{}: {e}", path.display());
        }
        n += 1;
    }
    assert!(n > 0, "{target}: empty corpus");
}

#[test]
fn lwm2m_tlv() {
    replay("lwm2m_tlv", mote_lwm2m::fuzzing::tlv);
}

#[test]
fn lwm2m_senml_json() {
    replay("lwm2m_senml_json", mote_lwm2m::fuzzing::senml_json);
}

#[test]
fn lwm2m_senml_cbor() {
    replay("lwm2m_senml_cbor", mote_lwm2m::fuzzing::senml_cbor);
}

#[test]
fn lwm2m_cbor() {
    replay("lwm2m_cbor", mote_lwm2m::fuzzing::lwm2m_cbor);
}

#[test]
fn lwm2m_ddf() {
    replay("lwm2m_ddf", mote_lwm2m::fuzzing::ddf);
}

#[test]
fn lwm2m_link() {
    replay("lwm2m_link", mote_lwm2m::fuzzing::link);
}
