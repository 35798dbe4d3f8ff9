//! Byte-exact tests against the message figures of RFC 7252 Appendix A and RFC 8323,
//! transcribed into `tests/data/`: every message decodes to the fields the figure states, and
//! encoding those fields gives the figure's bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_coap::tcp::{Frame, FrameLimits, OwnedFrame};
use support::Vector;

fn code(text: &str) -> Code {
    let (class, detail) = text.split_once('.').unwrap();
    Code::new(class.parse().unwrap(), detail.parse().unwrap()).unwrap()
}

fn mtype(text: &str) -> MessageType {
    match text {
        "CON" => MessageType::Con,
        "NON" => MessageType::Non,
        "ACK" => MessageType::Ack,
        "RST" => MessageType::Rst,
        other => panic!("type {other}"),
    }
}

fn check_udp(v: &Vector) {
    let ctx = format!("{} [{}]", v.file, v.title);
    let m = Message::decode(&v.bytes).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert_eq!(m.mtype(), mtype(v.mtype.as_deref().unwrap()), "{ctx}");
    assert_eq!(m.code(), code(&v.code), "{ctx}");
    assert_eq!(Some(m.message_id()), v.message_id, "{ctx}");
    assert_eq!(m.token(), &v.token[..], "{ctx}");
    let options: Vec<(u16, Vec<u8>)> = m
        .options()
        .map(|o| (o.number.0, o.value.to_vec()))
        .collect();
    assert_eq!(options, v.options, "{ctx}");
    assert_eq!(m.payload(), &v.payload[..], "{ctx}");
    assert_eq!(m.encoded_len(), v.bytes.len(), "{ctx}");

    let mut owned = OwnedMessage::new(
        mtype(v.mtype.as_deref().unwrap()),
        code(&v.code),
        v.message_id.unwrap(),
    )
    .with_token(v.token.clone())
    .with_payload(v.payload.clone());
    for (n, value) in &v.options {
        owned = owned.with_option(OptionNumber(*n), value);
    }
    assert_eq!(owned.encoded_len(), v.bytes.len(), "{ctx}");
    let mut buf = vec![0u8; owned.encoded_len()];
    assert_eq!(owned.encode(&mut buf), Ok(v.bytes.len()), "{ctx}");
    assert_eq!(buf, v.bytes, "{ctx}");
    assert_eq!(owned.to_vec().unwrap(), v.bytes, "{ctx}");
    assert_eq!(m.to_owned(), owned, "{ctx}");
}

fn check_tcp(v: &Vector) {
    let ctx = format!("{} [{}]", v.file, v.title);
    let f = Frame::decode_exact(&v.bytes, &FrameLimits::DEFAULT)
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert_eq!(f.code(), code(&v.code), "{ctx}");
    assert_eq!(f.token(), &v.token[..], "{ctx}");
    let options: Vec<(u16, Vec<u8>)> = f
        .options()
        .map(|o| (o.number.0, o.value.to_vec()))
        .collect();
    assert_eq!(options, v.options, "{ctx}");
    assert_eq!(f.payload(), &v.payload[..], "{ctx}");

    let mut owned = OwnedFrame::new(code(&v.code))
        .with_token(v.token.clone())
        .with_payload(v.payload.clone());
    for (n, value) in &v.options {
        owned = owned.with_option(OptionNumber(*n), value);
    }
    assert_eq!(owned.encoded_len(), v.bytes.len(), "{ctx}");
    assert_eq!(owned.to_vec().unwrap(), v.bytes, "{ctx}");
    assert_eq!(f.to_owned(), owned, "{ctx}");
}

fn check_all(vectors: &[Vector]) -> usize {
    for v in vectors {
        match v.transport.as_str() {
            "udp" => check_udp(v),
            "tcp" => check_tcp(v),
            other => panic!("{}: transport {other}", v.file),
        }
    }
    vectors.len()
}

#[test]
fn rfc7252_appendix_a_figures() {
    let vectors = support::load_dir("rfc7252");
    // Figures 16–23: 2 + 2 + 2 + 2 + 4 + 4 + 2 + 4 messages.
    assert_eq!(check_all(&vectors), 22);
}

#[test]
fn rfc8323_figures() {
    let vectors = support::load_dir("rfc8323");
    assert_eq!(check_all(&vectors), 9);
}

#[test]
fn rfc8323_stream_of_figures_decodes_incrementally() {
    // Figures 5, 11 and 12 back to back in one stream, fed one byte at a time.
    use mote_coap::tcp::Decoded;
    let stream = support::hex("01 43 7f 01 e2 42 01 e3 42");
    let mut frames = Vec::new();
    let mut start = 0;
    let mut end = 0;
    while start < stream.len() {
        match Frame::decode(&stream[start..end], &FrameLimits::DEFAULT).unwrap() {
            Decoded::Complete { frame, len } => {
                frames.push(frame.code());
                start += len;
            }
            Decoded::Incomplete { needed } => {
                assert!(needed >= 1);
                end += 1;
            }
        }
    }
    assert_eq!(frames, [Code(0x43), Code::PING, Code::PONG]);
}
