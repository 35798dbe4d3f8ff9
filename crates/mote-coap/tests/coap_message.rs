//! mote-coap's messages through the embedded CoAP ecosystem's traits (`coap-message`), driven by
//! that ecosystem's own resource handlers (`coap-handler-implementations`): the handlers read a
//! request we decoded, write their response into an [`OwnedMessage`], and we encode and decode
//! it again. Expected bytes are written out from RFC 7252 §3 and RFC 7959 §2.2 by hand.
#![cfg(feature = "coap-message")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use coap_handler::Handler;
use coap_handler_implementations::{HandlerBuilder, SimpleRendered, new_dispatcher};
use mote_coap::block::BlockValue;
use mote_coap::coap_message::traits::error::RenderableOnMinimal;
use mote_coap::coap_message::traits::{
    MessageOption, MinimalWritableMessage, MutableWritableMessage, ReadableMessage,
};
use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;

const RESOURCE: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// What a server built on the ecosystem does with one request: extract, then build the response
/// or render the extraction error, into our owned message with the request's header fields.
fn respond<H: Handler>(handler: &mut H, request: &Message<'_>) -> Vec<u8> {
    let mut response = OwnedMessage::new(MessageType::Ack, Code::EMPTY, request.message_id())
        .with_token(request.token());
    match handler.extract_request_data(request) {
        Ok(data) => handler.build_response(&mut response, data).unwrap(),
        Err(error) => error.render(&mut response).unwrap(),
    }
    response.to_vec().unwrap()
}

fn handlers() -> impl Handler {
    new_dispatcher()
        .at(
            &["sensors", "temp"],
            SimpleRendered::new_typed_str("22.5", Some(0)),
        )
        .at(&["long"], SimpleRendered::new_typed_str(RESOURCE, Some(0)))
}

#[test]
fn a_coap_handler_reads_our_request_and_writes_a_response_we_decode() {
    // CON GET, MID 0x1234, token 0x42, Uri-Path "sensors" (delta 11, len 7), "temp" (delta 0).
    let wire = b"\x41\x01\x12\x34\x42\xb7sensors\x04temp";
    let request = Message::decode(wire).unwrap();
    let bytes = respond(&mut handlers(), &request);

    let response = Message::decode(&bytes).unwrap();
    assert_eq!(response.mtype(), MessageType::Ack);
    assert_eq!(response.code(), Code::CONTENT);
    assert_eq!(
        (response.message_id(), response.token()),
        (0x1234, &[0x42][..])
    );
    assert_eq!(response.payload(), b"22.5");
    // ETag (4), Content-Format (12) = 0 (empty uint), Block2 (23) = NUM 0, M 0, SZX 6 (1024).
    let options: Vec<(u16, Vec<u8>)> = response
        .options()
        .map(|o| (o.number.0, o.value.to_vec()))
        .collect();
    assert_eq!(options.len(), 3, "{options:?}");
    assert_eq!(options[0].0, 4);
    assert_eq!(options[0].1.len(), 8);
    // The handler writes a zero placeholder and fills the ETag in through `mutate_options`.
    assert_ne!(
        options[0].1, [0; 8],
        "mutate_options did not reach the ETag"
    );
    assert_eq!(options[1], (12, vec![]));
    assert_eq!(options[2], (23, vec![0x06]));
}

#[test]
fn requests_for_other_paths_get_the_handlers_4_04() {
    let wire = b"\x41\x01\x12\x35\x43\xb7sensors\x05humid";
    let bytes = respond(&mut handlers(), &Message::decode(wire).unwrap());
    let response = Message::decode(&bytes).unwrap();
    assert_eq!(response.code(), Code::NOT_FOUND);
    assert_eq!(response.token(), [0x43]);
}

#[test]
fn an_unknown_critical_option_is_seen_through_the_trait_and_refused() {
    // Uri-Path "long" (11), then option 2055 (odd: critical, unknown) = 0x01:
    // delta 2044 = 14 → 2 extension bytes 2044 - 269 = 0x06ef.
    let wire = b"\x41\x01\x12\x36\x44\xb4long\xe1\x06\xef\x01";
    let request = Message::decode(wire).unwrap();
    assert_eq!(
        ReadableMessage::options(&request)
            .map(|o| o.number())
            .collect::<Vec<_>>(),
        [11, 2055]
    );
    let bytes = respond(&mut handlers(), &request);
    assert_eq!(Message::decode(&bytes).unwrap().code(), Code::BAD_OPTION);

    // The same request without the option is served.
    let wire = b"\x41\x01\x12\x36\x44\xb4long";
    let bytes = respond(&mut handlers(), &Message::decode(wire).unwrap());
    assert_eq!(Message::decode(&bytes).unwrap().code(), Code::CONTENT);
}

#[test]
fn a_block2_request_gets_the_block_the_handler_slices() {
    // Uri-Path "long", Block2 (23, delta 12) = NUM 1, M 0, SZX 0 (16 bytes): 0x10.
    let wire = b"\x41\x01\x12\x37\x45\xb4long\xc1\x10";
    let bytes = respond(&mut handlers(), &Message::decode(wire).unwrap());
    let response = Message::decode(&bytes).unwrap();
    assert_eq!(response.code(), Code::CONTENT);
    assert_eq!(response.payload(), &RESOURCE.as_bytes()[16..32]);
    // RFC 7959 §2.2: NUM 1, M 1 (62 bytes in all), SZX 0.
    let block = BlockValue::from_message(&response, OptionNumber::BLOCK2)
        .unwrap()
        .unwrap();
    assert_eq!((block.num(), block.more(), block.size()), (1, true, 16));

    // The last block: NUM 3 holds bytes 48..62 and M is 0.
    let wire = b"\x41\x01\x12\x38\x46\xb4long\xc1\x30";
    let bytes = respond(&mut handlers(), &Message::decode(wire).unwrap());
    let response = Message::decode(&bytes).unwrap();
    assert_eq!(response.payload(), &RESOURCE.as_bytes()[48..]);
    let block = BlockValue::from_message(&response, OptionNumber::BLOCK2)
        .unwrap()
        .unwrap();
    assert_eq!((block.num(), block.more()), (3, false));
}

#[test]
fn set_from_message_copies_a_decoded_message_into_an_owned_one_byte_for_byte() {
    // NON POST, MID 0x0102, token 0xaabb; If-Match (1) twice, Uri-Path (11) "a", Content-Format
    // (12) 60, Uri-Query (15) "x=1", Size1 (60, delta 45 = 13 + 32) 0x0400; payload 0x01 0x02.
    let wire: &[u8] =
        b"\x52\x02\x01\x02\xaa\xbb\x11\x01\x00\xa1a\x11\x3c\x33x=1\xd2\x20\x04\x00\xff\x01\x02";
    let decoded = Message::decode(wire).unwrap();
    let mut owned =
        OwnedMessage::new(MessageType::Non, Code::EMPTY, 0x0102).with_token([0xaa, 0xbb]);
    owned.set_from_message(&decoded).unwrap();
    assert_eq!(owned.code, Code::POST);
    assert_eq!(owned.to_vec().unwrap(), wire);

    // And the owned message reads back through the trait as the decoded one does.
    let from_owned: Vec<(u16, Vec<u8>)> = ReadableMessage::options(&owned)
        .map(|o| (o.number(), o.value().to_vec()))
        .collect();
    let from_decoded: Vec<(u16, Vec<u8>)> = ReadableMessage::options(&decoded)
        .map(|o| (o.number(), o.value().to_vec()))
        .collect();
    assert_eq!(from_owned, from_decoded);
    assert_eq!(from_owned[3], (12, vec![60]));
    assert_eq!(from_owned[5], (60, vec![0x04, 0x00]));
    assert_eq!(ReadableMessage::payload(&owned), [1, 2]);
}

#[test]
fn options_written_out_of_order_are_encoded_in_order() {
    let mut owned = OwnedMessage::new(MessageType::Con, Code::EMPTY, 7);
    owned.set_code(Code::PUT);
    owned.add_option(OptionNumber::URI_QUERY, b"q").unwrap();
    owned.add_option(OptionNumber::URI_PATH, b"p").unwrap();
    owned.add_option(OptionNumber::URI_PATH, b"r").unwrap();
    owned
        .add_option_uint(OptionNumber::CONTENT_FORMAT, 50u16)
        .unwrap();
    // Uri-Path (11) "p", "r"; Content-Format (12) 50; Uri-Query (15) "q".
    assert_eq!(
        owned.to_vec().unwrap(),
        b"\x40\x03\x00\x07\xb1p\x01r\x11\x32\x31q"
    );
}

#[test]
fn the_mutable_interface_writes_and_truncates_the_payload_and_reports_the_space_left() {
    let mut owned = OwnedMessage::new(MessageType::Con, Code::CONTENT, 1);
    // RFC 7252 §4.6: 1152 bytes for the whole message; 4 for this header.
    assert_eq!(owned.available_space(), 1148);
    owned
        .payload_mut_with_len(6)
        .unwrap()
        .copy_from_slice(b"abcdef");
    owned.truncate(3).unwrap();
    assert_eq!(owned.payload, b"abc");
    // Header 4 + marker 1 + payload 3.
    assert_eq!(owned.available_space(), 1152 - 8);
    owned.add_option(OptionNumber::ETAG, &[1, 2]).unwrap();
    owned.mutate_options(|number, value| {
        assert_eq!(number, OptionNumber::ETAG);
        value[1] = 9;
    });
    assert_eq!(owned.option(OptionNumber::ETAG).unwrap().value, [1, 9]);
}
