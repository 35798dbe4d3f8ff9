//! The properties the mote-coap fuzz targets check, shared with the corpus replay test
//! (`workspace-tests/tests/fuzz_corpus_coap.rs`) so that stable `cargo test` runs the same code.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_coap::message::{DecodeLimits, Message};
use mote_coap::tcp::{Decoded, Frame, FrameLimits};

/// `coap_udp_decode`: decoding never panics, with and without RFC 8974 extended tokens; what
/// decodes can be walked, checked, copied and re-encoded byte for byte.
pub(crate) fn udp_decode(data: &[u8]) {
    for limits in [DecodeLimits::DEFAULT, DecodeLimits::extended_tokens(65_804)] {
        if let Ok(m) = Message::decode_with(data, &limits) {
            let count = m.options().count();
            let _ = m.check_options();
            for o in m.options() {
                let _ = (o.as_uint(), o.as_str(), o.definition());
            }
            let mut again = vec![0u8; m.encoded_len()];
            assert_eq!(m.encode(&mut again), Ok(data.len()));
            assert_eq!(again, data);
            assert_eq!(m.to_owned().options.len(), count);
        }
    }
}

/// `coap_tcp_decode`: a byte stream split into frames never panics; every frame re-encodes to
/// its bytes; signaling messages parse or fail cleanly; feeding the stream in two parts gives
/// the same first frame.
pub(crate) fn tcp_decode(data: &[u8]) {
    let limits = FrameLimits {
        max_token_len: 65_804,
        max_message_size: usize::MAX,
    };
    let mut rest = data;
    while let Ok(Decoded::Complete { frame, len }) = Frame::decode(rest, &limits) {
        assert!(len >= 2 && len <= rest.len());
        let mut again = vec![0u8; frame.encoded_len()];
        assert_eq!(frame.encode(&mut again), Ok(len));
        assert_eq!(&again[..], &rest[..len]);
        let _ = frame.signal();
        let _ = frame.options().count();
        for cut in [0, 1, len / 2, len - 1] {
            match Frame::decode(&rest[..cut], &limits) {
                Ok(Decoded::Incomplete { needed }) => assert!(needed >= 1 && cut + needed <= len),
                other => panic!("prefix of {cut} of a {len}-byte frame: {other:?}"),
            }
        }
        rest = &rest[len..];
    }
    let _ = Frame::decode(data, &FrameLimits::DEFAULT);
}

/// `coap_roundtrip`: decode → owned → encode → decode gives the same message and the same bytes
/// (UDP and TCP), and `encoded_len` predicts the length.
pub(crate) fn roundtrip(data: &[u8]) {
    let limits = DecodeLimits::extended_tokens(65_804);
    if let Ok(m) = Message::decode_with(data, &limits) {
        let owned = m.to_owned();
        let bytes = owned.to_vec().expect("a decoded message encodes");
        assert_eq!(bytes.len(), owned.encoded_len());
        assert_eq!(bytes, data);
        let again = Message::decode_with(&bytes, &limits).expect("re-decodes");
        assert_eq!(again.to_owned(), owned);
    }
    let frame_limits = FrameLimits {
        max_token_len: 65_804,
        max_message_size: usize::MAX,
    };
    if let Ok(f) = Frame::decode_exact(data, &frame_limits) {
        let owned = f.to_owned();
        let bytes = owned.to_vec().expect("a decoded frame encodes");
        assert_eq!(bytes.len(), owned.encoded_len());
        assert_eq!(bytes, data);
        let again = Frame::decode_exact(&bytes, &frame_limits).expect("re-decodes");
        assert_eq!(again.to_owned(), owned);
    }
}
