//! Property tests of the UDP and TCP codecs: `decode(encode(m)) == m`,
//! `encoded_len(m) == encode(m).len()`, byte-exact re-encoding of decoded views, the
//! allocation-free writer agreeing with the owned encoder, incremental TCP decoding, and no
//! panic on arbitrary bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use mote_coap::code::{Code, MessageType};
use mote_coap::message::{DecodeLimits, Message, MessageWriter, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_coap::tcp::{Decoded, Frame, FrameLimits, OwnedFrame};
use proptest::collection::vec;
use proptest::prelude::*;

fn option_number() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => 0u16..70,
        2 => 0u16..1100,
        1 => any::<u16>(),
        1 => 65000u16..=65535,
    ]
}

fn value_len() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0usize..20, 2 => 0usize..300, 1 => 260usize..1500]
}

fn options() -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
    vec(
        (
            option_number(),
            value_len().prop_flat_map(|n| vec(any::<u8>(), n)),
        ),
        0..8,
    )
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => vec(any::<u8>(), 0..40), 1 => vec(any::<u8>(), 0..1500)]
}

/// A code that fits the type (RFC 7252 §4.2, §4.3), in classes 0, 2, 4, 5.
fn type_and_code() -> impl Strategy<Value = (MessageType, Code)> {
    let class = prop_oneof![Just(0u8), Just(2u8), Just(4u8), Just(5u8)];
    (0u8..4, class, 0u8..32).prop_map(|(t, class, detail)| {
        let mtype = MessageType::from_bits(t);
        let code = Code::new(class, detail).unwrap();
        match mtype {
            MessageType::Rst => (mtype, Code::EMPTY),
            MessageType::Non if code.is_empty() => (mtype, Code::GET),
            MessageType::Ack if code.is_request() => (mtype, Code::CONTENT),
            _ => (mtype, code),
        }
    })
}

fn message(max_token: usize) -> impl Strategy<Value = OwnedMessage> {
    (
        type_and_code(),
        any::<u16>(),
        vec(any::<u8>(), 0..=max_token),
        options(),
        payload(),
    )
        .prop_map(|((mtype, code), mid, token, options, payload)| {
            let mut m = OwnedMessage::new(mtype, code, mid);
            if !code.is_empty() {
                m.token = token;
                for (n, v) in options {
                    m.options.push(OptionNumber(n), v);
                }
                m.payload = payload;
            }
            m
        })
}

fn frame(max_token: usize) -> impl Strategy<Value = OwnedFrame> {
    let class = prop_oneof![Just(0u8), Just(2u8), Just(4u8), Just(5u8), Just(7u8)];
    let payload = prop_oneof![
        6 => vec(any::<u8>(), 0..40),
        2 => vec(any::<u8>(), 250..300),
        1 => vec(any::<u8>(), 65_780..65_830),
    ];
    (
        class,
        0u8..32,
        vec(any::<u8>(), 0..=max_token),
        options(),
        payload,
    )
        .prop_map(|(class, detail, token, options, payload)| {
            let mut f = OwnedFrame::new(Code::new(class, detail).unwrap())
                .with_token(token)
                .with_payload(payload);
            for (n, v) in options {
                f.options.push(OptionNumber(n), v);
            }
            f
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn udp_round_trip(m in message(8)) {
        let bytes = m.to_vec().unwrap();
        prop_assert_eq!(m.encoded_len(), bytes.len());
        let decoded = Message::decode(&bytes).unwrap();
        prop_assert_eq!(decoded.to_owned(), m.clone());
        prop_assert_eq!(decoded.encoded_len(), bytes.len());
        let mut again = vec![0u8; bytes.len()];
        prop_assert_eq!(decoded.encode(&mut again), Ok(bytes.len()));
        prop_assert_eq!(&again, &bytes);
        // A buffer one byte short is refused with the required size.
        let mut short = vec![0u8; bytes.len() - 1];
        prop_assert_eq!(
            m.encode(&mut short),
            Err(mote_coap::error::EncodeError::BufferTooSmall { required: bytes.len() })
        );
    }

    #[test]
    fn udp_writer_matches_owned_encoder(m in message(8)) {
        let bytes = m.to_vec().unwrap();
        let mut buf = vec![0u8; bytes.len()];
        let mut w = MessageWriter::new(&mut buf, m.mtype, m.code, m.message_id, &m.token).unwrap();
        for o in m.options.iter() {
            w.option(o.number, o.value).unwrap();
        }
        let len = w.payload(&m.payload).unwrap();
        prop_assert_eq!(&buf[..len], &bytes[..]);
    }

    #[test]
    fn udp_extended_token_round_trip(m in message(300)) {
        let bytes = m.to_vec().unwrap();
        prop_assert_eq!(m.encoded_len(), bytes.len());
        let decoded = Message::decode_with(&bytes, &DecodeLimits::extended_tokens(300)).unwrap();
        prop_assert_eq!(decoded.to_owned(), m);
    }

    #[test]
    fn tcp_round_trip(f in frame(8)) {
        let bytes = f.to_vec().unwrap();
        prop_assert_eq!(f.encoded_len(), bytes.len());
        let decoded = Frame::decode_exact(&bytes, &FrameLimits::UNLIMITED).unwrap();
        prop_assert_eq!(decoded.to_owned(), f);
        prop_assert_eq!(decoded.encoded_len(), bytes.len());
        let mut again = vec![0u8; bytes.len()];
        prop_assert_eq!(decoded.encode(&mut again), Ok(bytes.len()));
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn tcp_extended_token_round_trip(f in frame(300)) {
        let bytes = f.to_vec().unwrap();
        let limits = FrameLimits { max_token_len: 300, max_message_size: usize::MAX };
        prop_assert_eq!(Frame::decode_exact(&bytes, &limits).unwrap().to_owned(), f);
    }

    #[test]
    fn tcp_incremental_stream(a in frame(8), b in frame(8), cut in any::<prop::sample::Index>()) {
        let mut stream = a.to_vec().unwrap();
        let first = stream.len();
        stream.extend(b.to_vec().unwrap());
        // Any prefix shorter than the first frame asks for more, never too much.
        let cut = cut.index(first);
        match Frame::decode(&stream[..cut], &FrameLimits::UNLIMITED).unwrap() {
            Decoded::Incomplete { needed } => prop_assert!(needed >= 1 && cut + needed <= first),
            Decoded::Complete { .. } => prop_assert!(false, "complete from a prefix"),
        }
        let Decoded::Complete { frame, len } = Frame::decode(&stream, &FrameLimits::UNLIMITED).unwrap() else {
            panic!("first frame incomplete");
        };
        prop_assert_eq!(len, first);
        prop_assert_eq!(frame.to_owned(), a);
        let Decoded::Complete { frame, len } = Frame::decode(&stream[first..], &FrameLimits::UNLIMITED).unwrap() else {
            panic!("second frame incomplete");
        };
        prop_assert_eq!(len, stream.len() - first);
        prop_assert_eq!(frame.to_owned(), b);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..64)) {
        if let Ok(m) = Message::decode_with(&bytes, &DecodeLimits::extended_tokens(64)) {
            // Whatever decodes re-encodes to the same bytes.
            let mut again = vec![0u8; m.encoded_len()];
            m.encode(&mut again).unwrap();
            prop_assert_eq!(&again, &bytes);
            let _ = m.options().count();
            let _ = m.check_options();
        }
        if let Ok(Decoded::Complete { frame, len }) = Frame::decode(&bytes, &FrameLimits::UNLIMITED) {
            let mut again = vec![0u8; frame.encoded_len()];
            frame.encode(&mut again).unwrap();
            prop_assert_eq!(&again[..], &bytes[..len]);
            let _ = frame.signal();
        }
    }
}
