//! The properties the mote-oscore fuzz targets check, shared with the corpus replay test
//! (`workspace-tests/tests/fuzz_corpus_oscore.rs`) so that stable `cargo test` runs the same code.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_oscore::option::OscoreOption;
use mote_oscore::{Framing, RequestBinding, SecurityContext, SecurityContextParams};

const SECRET: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SALT: [u8; 8] = [0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40];

/// The server (C.1.2) and client (C.1.1) contexts of RFC 8613 Appendix C.1.
fn contexts() -> (SecurityContext, SecurityContext) {
    let mut s = SecurityContextParams::new(&SECRET, &[0x01], &[]);
    s.master_salt = &SALT;
    let mut c = SecurityContextParams::new(&SECRET, &[], &[0x01]);
    c.master_salt = &SALT;
    (
        SecurityContext::new(&s).unwrap(),
        SecurityContext::new(&c).unwrap(),
    )
}

/// `oscore_unprotect`: verifying arbitrary bytes as a request or a response (both framings)
/// with a fixed context never panics; a rejected message changes neither the replay window
/// nor the sequence number nor the binding; an accepted request is a replay the second time.
pub(crate) fn unprotect(data: &[u8]) {
    let (mut server, mut client) = contexts();
    let mut out = vec![0u8; 2 * data.len() + 64];
    for framing in [Framing::Udp, Framing::Tcp] {
        let window = server.replay_window().clone();
        let seq = server.sender_sequence_number();
        match server.unprotect_request(framing, data, &mut out) {
            Ok(v) => {
                assert!(v.len <= out.len());
                assert!(server.unprotect_request(framing, data, &mut out).is_err());
            }
            Err(_) => {
                assert_eq!(server.replay_window(), &window);
                assert_eq!(server.sender_sequence_number(), seq);
            }
        }
        // As a response to the request of Appendix C.4 (kid h'', Partial IV 0x14).
        let mut binding = RequestBinding::new(&[], &[0x14], false).unwrap();
        let before = binding;
        if client
            .unprotect_response(framing, &mut binding, data, &mut out)
            .is_err()
        {
            assert_eq!(binding, before);
        }
    }
    // Tiny output buffers fail cleanly.
    let mut small = [0u8; 8];
    let _ = server.unprotect_request(Framing::Udp, data, &mut small);
}

/// `oscore_option`: decoding never panics; what decodes re-encodes to the same bytes (a lone
/// zero flag byte encodes as the empty value), with `encoded_len` equal to the output length.
pub(crate) fn option(data: &[u8]) {
    if let Ok(o) = OscoreOption::decode(data) {
        let mut buf = vec![0u8; data.len() + 2];
        let n = o.encode(&mut buf).unwrap();
        assert_eq!(n, o.encoded_len());
        if data != [0] {
            assert_eq!(&buf[..n], data);
        }
        assert_eq!(OscoreOption::decode(&buf[..n]).unwrap(), o);
    }
}
