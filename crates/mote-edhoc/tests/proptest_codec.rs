//! Property tests for the codecs: decode(encode(x)) == x and encoded_len == len.
#![cfg(feature = "std")] // the tests build MoteCrypto from the OS random source
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_edhoc::*;
use proptest::prelude::*;

fn conn_id() -> impl Strategy<Value = ConnId> {
    proptest::collection::vec(any::<u8>(), 0..=buffer::MAX_CONN_ID_LEN)
        .prop_map(|b| ConnId::from_slice(&b).unwrap())
}

fn suites() -> impl Strategy<Value = Suites> {
    proptest::collection::vec(-24i32..=300, 1..=suite::MAX_SUITES)
        .prop_map(|v| Suites::from_values(&v).unwrap())
}

fn ead() -> impl Strategy<Value = Ead> {
    proptest::collection::vec(
        (
            any::<i16>(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        ),
        0..4,
    )
    .prop_map(|items| {
        let mut e = Ead::new();
        for (label, value) in items {
            e.push(EadItem {
                label: i64::from(label),
                value: value.as_deref(),
            })
            .unwrap();
        }
        e
    })
}

proptest! {
    #[test]
    fn conn_id_round_trip(id in conn_id()) {
        let mut b = Bytes::<32>::new();
        id.encode(&mut b).unwrap();
        prop_assert_eq!(b.len(), id.encoded_len());
        prop_assert_eq!(ConnId::from_cbor(b.as_slice()).unwrap(), id);
    }

    #[test]
    fn message_1_round_trip(method in 0i64..4, s in suites(), g_x in proptest::collection::vec(any::<u8>(), 32), c_i in conn_id(), e in ead()) {
        let m = Message1 { method, suites_i: s, g_x: &g_x, c_i, ead_1: e.as_bytes() };
        let enc = m.encode().unwrap();
        let back = Message1::parse(enc.as_slice()).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn id_cred_compact_round_trip(kid in proptest::collection::vec(any::<u8>(), 0..=buffer::MAX_KID_LEN), sig in proptest::collection::vec(any::<u8>(), 8..65), c_r in conn_id(), e in ead()) {
        // PLAINTEXT_2 = (C_R, ID_CRED_R compact, Signature_or_MAC_2, EAD_2).
        let id = IdCred::kid(&kid).unwrap();
        let mut pt = MessageBuf::new();
        c_r.encode(&mut pt).unwrap();
        id.encode_compact(&mut pt).unwrap();
        if sig.len() < 24 { pt.push(0x40 | sig.len() as u8).unwrap() } else { pt.extend(&[0x58, sig.len() as u8]).unwrap() }
        pt.extend(&sig).unwrap();
        pt.extend(e.as_bytes()).unwrap();
        let p = Plaintext2::parse(pt.as_slice()).unwrap();
        prop_assert_eq!(p.c_r, c_r);
        prop_assert_eq!(p.id_cred_r, id);
        prop_assert_eq!(p.signature_or_mac_2, sig.as_slice());
        prop_assert_eq!(p.ead_2, e.as_bytes());
    }

    #[test]
    fn error_message_round_trip(s in suites(), text in "[a-z ]{0,40}") {
        for m in [ErrorMessage::WrongSelectedCipherSuite(s), ErrorMessage::Unspecified(&text), ErrorMessage::UnknownCredential] {
            let enc = m.encode().unwrap();
            prop_assert_eq!(ErrorMessage::parse(enc.as_slice()).unwrap(), m);
        }
    }

    #[test]
    fn ead_padding_has_the_requested_length(n in 0usize..100) {
        let mut e = Ead::new();
        e.push_padding(n).unwrap();
        prop_assert_eq!(e.as_bytes().len(), n);
        prop_assert!(e.items().all(|i| i.label == 0));
        prop_assert_eq!(Ead::from_bytes(e.as_bytes()).unwrap(), e);
    }

    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message1::parse(&data);
        let _ = Message2::parse(&data, 32);
        let _ = Plaintext2::parse(&data);
        let _ = Plaintext3::parse(&data);
        let _ = ErrorMessage::parse(&data);
        let _ = IdCred::from_map(&data);
        let _ = Credential::ccs(&data);
        let _ = mote_edhoc::transport::parse_client_payload(&data);
    }

    /// The RFC 9668 request splitters and builders on arbitrary CoAP bytes (and an arbitrary
    /// cut between request and reassembled body): errors, never panics.
    #[cfg(feature = "oscore")]
    #[test]
    fn combined_request_codecs_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        cut in 0usize..200,
    ) {
        use mote_edhoc::transport;
        let (a, b) = data.split_at(cut.min(data.len()));
        let mut out = [0u8; 256];
        let _ = transport::split_combined_request(&data, &mut out);
        let _ = transport::split_reassembled_combined_request(a, b, &mut out);
        let _ = transport::combine_request(a, b, &mut out);
        let _ = transport::combine_request_block(a, a, b, 64, &mut out);
        let _ = transport::check_decrypted_request(&data);
        let mut small = [0u8; 8];
        let _ = transport::split_combined_request(&data, &mut small);
    }
}
