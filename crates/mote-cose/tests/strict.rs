//! Strict decoding: every malformed or non-conforming input below is rejected with the right
//! error, and the accepted edge cases (empty protected bstr, empty map `A0`, untagged) pass.
//! Inputs are hand-assembled CBOR (RFC 8949) for the rules of RFC 9052 §3, §3.1 and §5.2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_cose::Error;
use mote_cose::key::CoseKey;
use mote_cose::message::{Encrypt0, Mac0, Sign1};
use mote_cose::multi::{Encrypt, Message};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

#[test]
fn accepted_edge_cases() {
    // [h'', {}, h'00'] untagged
    let b1 = h("83 40 A0 41 00");
    let e = Encrypt0::decode(&b1).unwrap();
    assert!(!e.tagged && e.protected.raw.is_empty());
    // protected = h'A0' (empty map) is accepted and authenticated as empty
    let b2 = h("D0 83 41 A0 A0 41 00");
    let e = Encrypt0::decode(&b2).unwrap();
    assert_eq!(e.protected.raw, &[0xa0]);
    assert_eq!(e.protected.authenticated(), &[] as &[u8]);
    // detached content (nil)
    let b3 = h("83 40 A0 F6");
    let e = Encrypt0::decode(&b3).unwrap();
    assert_eq!(e.ciphertext, None);
}

#[test]
fn rejects_wrong_tags_and_shapes() {
    assert!(
        matches!(
            Encrypt0::decode(&h("D1 83 40 A0 41 00")),
            Err(Error::Structure(_))
        ),
        "Mac0 tag on Encrypt0"
    );
    assert!(
        Encrypt0::decode(&h("84 40 A0 41 00 41 00")).is_err(),
        "4 items"
    );
    assert!(Mac0::decode(&h("83 40 A0 41 00")).is_err());
    assert!(
        Sign1::decode(&h("84 40 A0 41 00 F6")).is_err(),
        "signature must be bstr"
    );
    assert!(
        Message::decode(&h("D8 63 83 40 A0 41 00")).is_err(),
        "tag 99"
    );
    assert!(
        Encrypt::decode(&h("84 40 A0 41 00 80")).is_err(),
        "no recipients"
    );
}

#[test]
fn rejects_trailing_bytes() {
    assert!(matches!(
        Encrypt0::decode(&h("83 40 A0 41 00 00")),
        Err(Error::Cbor { offset: 5, .. })
    ));
    // trailing bytes inside the protected bstr
    assert!(Encrypt0::decode(&h("83 44 A1 01 0A 00 A0 41 00")).is_err());
}

#[test]
fn rejects_indefinite_lengths() {
    assert!(Encrypt0::decode(&h("9F 40 A0 41 00 FF")).is_err());
    assert!(Encrypt0::decode(&h("83 40 BF FF 41 00")).is_err());
    assert!(Encrypt0::decode(&h("83 40 A0 5F 41 00 FF")).is_err());
}

#[test]
fn rejects_lengths_beyond_the_input() {
    // ciphertext claims 2^32-1 bytes
    assert!(matches!(
        Encrypt0::decode(&h("83 40 A0 5A FF FF FF FF 00")),
        Err(Error::Cbor { .. })
    ));
    // recipients array claims 2^32-1 entries: rejected before any allocation
    assert!(Encrypt::decode(&h("84 40 A0 41 00 9A FF FF FF FF")).is_err());
}

#[test]
fn rejects_duplicate_labels() {
    // {4: h'01', 4: h'02'} in the unprotected bucket
    assert_eq!(
        Encrypt0::decode(&h("83 40 A2 04 41 01 04 41 02 41 00")),
        Err(Error::DuplicateLabel)
    );
    // the same label in protected and unprotected
    assert_eq!(
        Encrypt0::decode(&h("83 43 A1 01 0A A1 01 0A 41 00")),
        Err(Error::DuplicateLabel)
    );
    // text labels
    assert_eq!(
        Encrypt0::decode(&h("83 40 A2 61 61 00 61 61 01 41 00")),
        Err(Error::DuplicateLabel)
    );
    // in a COSE_Key
    assert_eq!(
        CoseKey::decode(&h("A2 01 04 01 04")),
        Err(Error::DuplicateLabel)
    );
}

#[test]
fn crit_processing() {
    // protected {1: 10, 2: [1]} -> alg is critical and understood
    assert!(Encrypt0::decode(&h("83 46 A2 01 0A 02 81 01 A0 41 00")).is_ok());
    // crit lists 99, present but not understood
    assert_eq!(
        Encrypt0::decode(&h("83 48 A2 18 63 00 02 81 18 63 A0 41 00")),
        Err(Error::UnknownCritical)
    );
    // ... unless the application says it understands it
    let understood = [mote_cose::header::Label::Int(99)];
    assert!(
        Encrypt0::decode_understanding(&h("83 48 A2 18 63 00 02 81 18 63 A0 41 00"), &understood)
            .is_ok()
    );
    // crit lists a label that is absent
    assert_eq!(
        Encrypt0::decode(&h("83 46 A2 01 0A 02 81 04 A0 41 00")),
        Err(Error::UnknownCritical)
    );
    // crit in the unprotected bucket
    assert!(matches!(
        Encrypt0::decode(&h("83 40 A1 02 81 01 41 00")),
        Err(Error::Header { label: 2, .. })
    ));
    // empty crit
    assert!(matches!(
        Encrypt0::decode(&h("83 45 A2 01 0A 02 80 A0 41 00")),
        Err(Error::Header { label: 2, .. })
    ));
}

#[test]
fn registered_parameter_types() {
    // kid must be a bstr
    assert!(matches!(
        Encrypt0::decode(&h("83 40 A1 04 01 41 00")),
        Err(Error::Header { label: 4, .. })
    ));
    // IV and Partial IV together (across buckets)
    assert!(Encrypt0::decode(&h("83 44 A1 05 41 01 A1 06 41 01 41 00")).is_err());
    // alg must be int or tstr
    assert!(Encrypt0::decode(&h("83 40 A1 01 41 01 41 00")).is_err());
    // ephemeral key must be a map
    assert!(matches!(
        Encrypt0::decode(&h("83 40 A1 20 41 01 41 00")),
        Err(Error::Header { label: -1, .. })
    ));
    // negative content type
    assert!(Encrypt0::decode(&h("83 40 A1 03 20 41 00")).is_err());
}

#[test]
fn nesting_is_bounded() {
    // an unprotected value nested 20 arrays deep
    let mut v = h("83 40 A1 18 64");
    v.extend(std::iter::repeat_n(0x81, 20));
    v.extend(h("00 41 00"));
    assert!(Encrypt0::decode(&v).is_err());
}

#[test]
fn cose_key_checks() {
    // missing kty
    assert!(CoseKey::decode(&h("A1 20 41 00")).is_err());
    // OKP with y
    assert!(CoseKey::decode(&h("A4 01 01 20 06 21 41 00 22 41 00")).is_err());
    // EC2 on an OKP curve
    assert!(CoseKey::decode(&h("A4 01 02 20 06 21 41 00 22 41 00")).is_err());
    // key_ops enforcement: {1:4, 4:[3], -1:h'00'} allows encrypt (3) only
    let b4 = h("A3 01 04 04 81 03 20 41 00");
    let k = CoseKey::decode(&b4).unwrap();
    assert!(k.check_op(mote_cose::key::KeyOp::Encrypt).is_ok());
    assert!(k.check_op(mote_cose::key::KeyOp::Decrypt).is_err());
    // alg enforcement
    let b5 = h("A3 01 04 03 0A 20 41 00");
    let k = CoseKey::decode(&b5).unwrap();
    assert!(k.check_alg(10).is_ok());
    assert!(k.check_alg(1).is_err());
}

#[test]
fn crypto_errors_are_opaque() {
    let key = [1u8; 16];
    let iv = [2u8; 13];
    let b = mote_cose::message::Encrypt0Builder {
        protected: mote_cose::header::Header {
            alg: Some(mote_cose::header::Label::Int(10)),
            ..Default::default()
        },
        unprotected: mote_cose::header::Header {
            iv: Some(&iv),
            ..Default::default()
        },
        tagged: true,
    };
    let msg = b.seal_to_vec(&key, None, b"x", b"").unwrap();
    let e = Encrypt0::decode(&msg).unwrap();
    assert_eq!(e.decrypt(&[9u8; 16], None, b"", None), Err(Error::Crypto));
    assert_eq!(e.decrypt(&key, None, b"aad", None), Err(Error::Crypto));
    assert_eq!(Error::Crypto.to_string(), "cryptographic check failed");
}
