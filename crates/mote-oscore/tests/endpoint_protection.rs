//! `OscoreProtection` as the protection layer of two `mote_coap` endpoints (client and
//! server in one process, simulated time, a link the tests drive by hand) with the RFC 8613
//! Appendix C contexts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use mote_coap::block::Szx;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    EchoPolicy, EchoRequirement, Endpoint, EndpointConfig, Event, MessageParts, Protection,
    Reliability, RequestOptions,
};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_oscore::SecurityContext;
use mote_oscore::endpoint::{ContextId, ContextSetError, OscoreConfig, OscoreProtection};

use common::endpoint::{
    CLIENT, Ep, Ev, Oscore, SERVER, context, get, id_of, options, params, rng, t,
};

fn endpoint(config: EndpointConfig, seed: u32, contexts: &[&str]) -> Ep {
    let mut oscore = OscoreProtection::new(OscoreConfig::default(), rng(seed ^ 0x5555));
    for c in contexts {
        oscore.add_context(context(c)).unwrap();
    }
    Endpoint::with_protection(config, rng(seed), oscore).unwrap()
}

fn content(payload: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(payload.to_vec())
}

/// Delivers every datagram between the endpoints until both are quiet; the server answers
/// each request with `answer`. Returns the datagrams (sender, bytes) and the events.
fn pump(
    now: Duration,
    client: &mut Ep,
    server: &mut Ep,
    answer: &mut dyn FnMut(&OwnedMessage, Option<ContextId>) -> OwnedMessage,
) -> (Vec<(u16, Vec<u8>)>, Vec<Ev>) {
    let mut wire = Vec::new();
    let mut events = Vec::new();
    loop {
        let mut progress = false;
        while let Some(tx) = client.poll_transmit() {
            wire.push((CLIENT, tx.datagram.clone()));
            server.handle(now, CLIENT, &tx.datagram);
            progress = true;
        }
        while let Some(e) = server.poll_event() {
            if let Event::Request { id, message, .. } = &e {
                let response = answer(&message.message, message.identity);
                server.respond(now, *id, response).unwrap();
            }
            events.push(e);
            progress = true;
        }
        while let Some(tx) = server.poll_transmit() {
            wire.push((SERVER, tx.datagram.clone()));
            client.handle(now, SERVER, &tx.datagram);
            progress = true;
        }
        while let Some(e) = client.poll_event() {
            events.push(e);
            progress = true;
        }
        if !progress {
            return (wire, events);
        }
    }
}

fn requests(events: &[Ev]) -> Vec<&OwnedMessage> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Request { message, .. } => Some(&message.message),
            _ => None,
        })
        .collect()
}

fn response(events: &[Ev]) -> Option<&OwnedMessage> {
    events.iter().find_map(|e| match e {
        Event::Response { message, .. } => Some(message),
        _ => None,
    })
}

/// The unprotected reply of the server to `datagram`, and whether the application saw it.
fn server_reply(server: &mut Ep, now: Duration, datagram: &[u8]) -> (OwnedMessage, bool) {
    server.handle(now, CLIENT, datagram);
    let delivered =
        std::iter::from_fn(|| server.poll_event()).any(|e| matches!(e, Event::Request { .. }));
    let reply = server.poll_transmit().expect("a reply");
    (
        Message::decode(&reply.datagram).unwrap().to_owned(),
        delivered,
    )
}

/// `datagram` with a new Message ID and token, as an attacker replaying it would send it
/// (so that deduplication, RFC 7252 §4.5, does not answer it from its cache).
fn reminted(datagram: &[u8], salt: u16) -> Vec<u8> {
    let mut m = Message::decode(datagram).unwrap().to_owned();
    m.message_id = m.message_id.wrapping_add(0x4000 + salt);
    m.token = salt.to_be_bytes().to_vec();
    m.to_vec().unwrap()
}

#[test]
fn get_matches_the_rfc_8613_c4_vector_and_is_answered() {
    let mut client = endpoint(EndpointConfig::default(), 1, &["C.1.1"]);
    let mut server = endpoint(EndpointConfig::default(), 2, &["C.1.2"]);
    // C.4: Sender Sequence Number 20, Uri-Host "localhost", Uri-Path "tv1".
    client
        .protection_mut()
        .context_mut(&id_of("C.1.1"))
        .unwrap()
        .set_sender_sequence_number(20)
        .unwrap();
    let request = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_HOST, "localhost")
        .with_option(OptionNumber::URI_PATH, "tv1");
    client
        .request_protected(t(0), SERVER, request, options(), id_of("C.1.1"))
        .unwrap();
    let (wire, events) = pump(t(0), &mut client, &mut server, &mut |req, identity| {
        assert_eq!(identity, Some(id_of("C.1.2")));
        assert_eq!(req.code, Code::GET);
        content(b"Hello World!")
    });
    // The first datagram is C.4's protected request but for its Message ID and token
    // (which OSCORE leaves outside, RFC 8613 §4.2).
    let v = common::appendix_c().remove("C.4").unwrap();
    let protected = common::hex(&v, "protected");
    let expected = Message::decode(&protected).unwrap();
    let sent = Message::decode(&wire[0].1).unwrap();
    assert_eq!(sent.code(), expected.code());
    assert_eq!(
        sent.options().collect::<Vec<_>>(),
        expected.options().collect::<Vec<_>>()
    );
    assert_eq!(sent.payload(), expected.payload());
    // The response reuses the request nonce: no Partial IV, OSCORE option empty (§5.2).
    let reply = Message::decode(&wire[1].1).unwrap();
    assert_eq!(reply.code(), Code::CHANGED);
    assert_eq!(reply.option(OptionNumber::OSCORE).unwrap().value, b"");
    let got = response(&events).unwrap();
    assert_eq!(got.code, Code::CONTENT);
    assert_eq!(got.payload, b"Hello World!");
}

#[test]
fn put_persists_the_sequence_number_before_the_request_leaves() {
    let mut client = endpoint(EndpointConfig::default(), 3, &["C.1.1"]);
    let mut server = endpoint(EndpointConfig::default(), 4, &["C.1.2"]);
    let put = OwnedMessage::new(MessageType::Con, Code::PUT, 0)
        .with_option(OptionNumber::URI_PATH, "cfg")
        .with_payload(b"on".to_vec());
    client
        .request_protected(t(0), SERVER, put, options(), id_of("C.1.1"))
        .unwrap();
    // Appendix B.1.1: the store holds the number before the datagram is taken.
    let ctx = client.protection_ref().context(&id_of("C.1.1")).unwrap();
    assert_eq!(ctx.store().value, Some(0));
    assert_eq!(ctx.sender_sequence_number(), 1);
    let (_, events) = pump(t(0), &mut client, &mut server, &mut |req, _| {
        assert_eq!(req.payload, b"on");
        OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0)
    });
    assert_eq!(requests(&events).len(), 1);
    assert_eq!(response(&events).unwrap().code, Code::CHANGED);
}

fn small_blocks() -> EndpointConfig {
    let mut config = EndpointConfig::default();
    config.client_blockwise.szx = Szx::S64;
    config.block2.preferred_szx = Szx::S64;
    config
}

#[test]
fn inner_block1_upload_and_block2_download() {
    let mut client = endpoint(small_blocks(), 5, &["C.1.1"]);
    let mut server = endpoint(small_blocks(), 6, &["C.1.2"]);
    let body: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let put = OwnedMessage::new(MessageType::Con, Code::PUT, 0)
        .with_option(OptionNumber::URI_PATH, "fw")
        .with_payload(body.clone());
    let mut blockwise = EndpointConfig::default().client_blockwise;
    blockwise.szx = Szx::S64;
    client
        .request_protected(
            t(0),
            SERVER,
            put,
            RequestOptions::new(Reliability::Confirmable, blockwise),
            id_of("C.1.1"),
        )
        .unwrap();
    let answer: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
    let (wire, events) = pump(t(0), &mut client, &mut server, &mut |_, _| {
        OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0).with_payload(answer.clone())
    });
    // The reassembled body reached the application once; the block options travelled inside
    // the ciphertext only (RFC 8613 §4.1.3.4.1: Block1/Block2 are Class E).
    let delivered = requests(&events);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].payload, body);
    for (_, d) in &wire {
        let m = Message::decode(d).unwrap();
        assert!(m.option(OptionNumber::OSCORE).is_some());
        assert!(m.option(OptionNumber::BLOCK1).is_none());
        assert!(m.option(OptionNumber::BLOCK2).is_none());
    }
    assert_eq!(response(&events).unwrap().payload, answer);
    // Every block got its own Partial IV: 5 upload blocks + 3 more download requests.
    let ctx = client.protection_ref().context(&id_of("C.1.1")).unwrap();
    assert_eq!(ctx.sender_sequence_number(), 8);
}

#[test]
fn notifications_carry_their_own_partial_iv_and_a_reordered_old_one_is_dropped() {
    let mut client = endpoint(EndpointConfig::default(), 7, &["C.1.1"]);
    let mut server = endpoint(EndpointConfig::default(), 8, &["C.1.2"]);
    let observe = get("temp").with_uint_option(OptionNumber::OBSERVE, 0);
    let id = client
        .request_protected(t(0), SERVER, observe, options(), id_of("C.1.1"))
        .unwrap();
    let (_, events) = pump(t(0), &mut client, &mut server, &mut |_, _| content(b"20"));
    let handle = events
        .iter()
        .find_map(|e| match e {
            Event::Request { message, .. } => message.observation,
            _ => None,
        })
        .unwrap();
    assert_eq!(response(&events).unwrap().payload, b"20");
    server.notify(t(1), handle, content(b"21"), false).unwrap();
    let older = server.poll_transmit().unwrap().datagram;
    server.notify(t(2), handle, content(b"22"), false).unwrap();
    let newer = server.poll_transmit().unwrap().datagram;
    // Each notification has a Partial IV of its own (§8.3), different from each other.
    let piv = |d: &[u8]| {
        Message::decode(d)
            .unwrap()
            .option(OptionNumber::OSCORE)
            .unwrap()
            .value
            .to_vec()
    };
    assert!(!piv(&older).is_empty());
    assert_ne!(piv(&older), piv(&newer));
    // Reordered: the newer arrives first and is delivered; the older is then refused.
    client.handle(t(3), SERVER, &newer);
    client.handle(t(3), SERVER, &older);
    let notes: Vec<Vec<u8>> = std::iter::from_fn(|| client.poll_event())
        .filter_map(|e| match e {
            Event::Notification {
                id: got, message, ..
            } if got == id => Some(message.payload),
            _ => None,
        })
        .collect();
    assert_eq!(notes, vec![b"22".to_vec()]);
    // The same notification again (a replay) is not delivered either.
    client.handle(t(4), SERVER, &newer);
    assert!(
        !std::iter::from_fn(|| client.poll_event())
            .any(|e| matches!(e, Event::Notification { .. }))
    );
}

#[test]
fn a_replayed_request_with_new_mid_and_token_is_refused_4_01_and_not_delivered() {
    let mut client = endpoint(EndpointConfig::default(), 9, &["C.1.1"]);
    let mut server = endpoint(EndpointConfig::default(), 10, &["C.1.2"]);
    client
        .request_protected(t(0), SERVER, get("x"), options(), id_of("C.1.1"))
        .unwrap();
    let (wire, events) = pump(t(0), &mut client, &mut server, &mut |_, _| content(b"x"));
    assert_eq!(requests(&events).len(), 1);
    let (reply, delivered) = server_reply(&mut server, t(1), &reminted(&wire[0].1, 77));
    assert!(!delivered);
    assert_eq!(reply.code, Code::UNAUTHORIZED);
    assert_eq!(reply.payload, b"Replay detected");
    assert!(reply.option(OptionNumber::OSCORE).is_none());
    assert_eq!(reply.option(OptionNumber::MAX_AGE).unwrap().value, b"");
}

#[test]
fn a_tampered_ciphertext_is_refused_and_not_delivered() {
    let mut client = endpoint(EndpointConfig::default(), 11, &["C.1.1"]);
    let mut server = endpoint(EndpointConfig::default(), 12, &["C.1.2"]);
    client
        .request_protected(t(0), SERVER, get("x"), options(), id_of("C.1.1"))
        .unwrap();
    let mut d = client.poll_transmit().unwrap().datagram;
    let last = d.len() - 1;
    d[last] ^= 0x01;
    let (reply, delivered) = server_reply(&mut server, t(0), &d);
    assert!(!delivered);
    // RFC 8613 §8.2 step 6: 4.00 (Bad Request), "Decryption failed".
    assert_eq!(reply.code, Code::BAD_REQUEST);
    assert_eq!(reply.payload, b"Decryption failed");
    assert!(reply.option(OptionNumber::OSCORE).is_none());
    // The replay window did not move: the untampered request is still accepted.
    let window = server.protection_ref().context(&id_of("C.1.2")).unwrap();
    assert_eq!(window.replay_window().highest(), None);
}

#[test]
fn unknown_kid_and_undecodable_option_get_the_section_8_2_answers() {
    let mut server = endpoint(EndpointConfig::default(), 13, &["C.1.2"]);
    let outer = |oscore: &[u8]| {
        OwnedMessage::new(MessageType::Con, Code::POST, oscore.len() as u16)
            .with_token([1])
            .with_option(OptionNumber::OSCORE, oscore)
            .with_payload(vec![0u8; 12])
            .to_vec()
            .unwrap()
    };
    // kid 0x42: no such Recipient ID (§8.2 step 2).
    let (reply, delivered) = server_reply(&mut server, t(0), &outer(&[0x09, 0x05, 0x42]));
    assert!(!delivered);
    assert_eq!(reply.code, Code::UNAUTHORIZED);
    assert_eq!(reply.payload, b"Security context not found");
    // Flags announce a 1-byte Partial IV that is missing: the COSE object fails to decode.
    let (reply, delivered) = server_reply(&mut server, t(1), &outer(&[0x09]));
    assert!(!delivered);
    assert_eq!(reply.code, Code::BAD_OPTION);
    assert_eq!(reply.payload, b"Failed to decode COSE");
}

#[test]
fn after_a_restart_the_server_recovers_its_replay_window_with_echo() {
    let mut client = endpoint(EndpointConfig::default(), 14, &["C.1.1"]);
    let mut server = endpoint(EndpointConfig::default(), 15, &["C.1.2"]);
    client
        .request_protected(t(0), SERVER, get("a"), options(), id_of("C.1.1"))
        .unwrap();
    let (first, _) = pump(t(0), &mut client, &mut server, &mut |_, _| content(b"a"));
    // The server "restarts": its context is restored from the sequence-number store with
    // the replay window lost (Appendix B.1.1, B.1.2).
    let stored = *server
        .protection_ref()
        .context(&id_of("C.1.2"))
        .unwrap()
        .store();
    server
        .protection_mut()
        .remove_context(&id_of("C.1.2"))
        .unwrap();
    let restored = SecurityContext::restore(&params("C.1.2"), stored, 1, 1, true).unwrap();
    server.protection_mut().add_context(restored).unwrap();
    // An old request replayed now verifies but is not delivered: protected 4.01 with Echo.
    let (reply, delivered) = server_reply(&mut server, t(1), &reminted(&first[0].1, 1));
    assert!(!delivered);
    assert_eq!(reply.code, Code::CHANGED); // outer code of a protected response
    assert!(reply.option(OptionNumber::OSCORE).is_some());
    // The client's next request gets the protected 4.01 + Echo, retries with it and is served.
    let id = client
        .request_protected(t(2), SERVER, get("b"), options(), id_of("C.1.1"))
        .unwrap();
    let (wire, events) = pump(t(2), &mut client, &mut server, &mut |req, _| {
        assert!(req.option(OptionNumber::ECHO).is_some());
        content(b"b")
    });
    assert_eq!(wire.iter().filter(|(p, _)| *p == CLIENT).count(), 2);
    assert_eq!(requests(&events).len(), 1);
    assert!(events.iter().any(
        |e| matches!(e, Event::Response { id: got, message, .. } if *got == id && message.payload == b"b")
    ));
    let window = server.protection_ref().context(&id_of("C.1.2")).unwrap();
    assert!(window.replay_window().is_initialized());
    // The replayed first request is still refused afterwards.
    let (reply, delivered) = server_reply(&mut server, t(3), &reminted(&first[0].1, 2));
    assert!(!delivered);
    assert_eq!(reply.code, Code::UNAUTHORIZED);
}

#[test]
fn echo_for_put_is_bound_to_the_context_and_a_stale_echo_is_refused() {
    let echo = EndpointConfig {
        echo: Some(EchoPolicy {
            window: Duration::from_secs(10),
            require: EchoRequirement::UnsafeMethods,
        }),
        ..EndpointConfig::default()
    };
    let mut client = endpoint(EndpointConfig::default(), 16, &["C.1.1"]);
    // C.2.1 has the same Recipient ID as C.1.1 (01): another client endpoint.
    let mut other = endpoint(EndpointConfig::default(), 20, &["C.2.1"]);
    let mut server = endpoint(echo, 17, &["C.1.2", "C.2.2"]);
    let put = |echo: Option<&[u8]>| {
        let m = OwnedMessage::new(MessageType::Con, Code::PUT, 0)
            .with_option(OptionNumber::URI_PATH, "valve")
            .with_payload(b"open".to_vec());
        match echo {
            Some(e) => m.with_option(OptionNumber::ECHO, e),
            None => m,
        }
    };
    let id = client
        .request_protected(t(0), SERVER, put(None), options(), id_of("C.1.1"))
        .unwrap();
    let mut echoes = Vec::new();
    let (wire, events) = pump(t(0), &mut client, &mut server, &mut |req, identity| {
        assert_eq!(identity, Some(id_of("C.1.2")));
        echoes.push(req.option(OptionNumber::ECHO).unwrap().value.to_vec());
        OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0)
    });
    // A protected 4.01 with Echo (RFC 9175 §2.3), then the retry delivered once.
    assert_eq!(wire.iter().filter(|(p, _)| *p == CLIENT).count(), 2);
    assert_eq!(requests(&events).len(), 1);
    assert!(wire.iter().all(|(_, d)| {
        Message::decode(d)
            .unwrap()
            .option(OptionNumber::ECHO)
            .is_none()
    }));
    assert!(events.iter().any(
        |e| matches!(e, Event::Response { id: got, message, .. } if *got == id && message.code == Code::CHANGED)
    ));
    let value = echoes.pop().unwrap();
    // The same Echo value under the other context (kid 00) is not fresh there.
    let c2 = other
        .request_protected(t(1), SERVER, put(Some(&value)), options(), id_of("C.2.1"))
        .unwrap();
    let (_, events) = pump(t(1), &mut other, &mut server, &mut |req, identity| {
        assert_eq!(identity, Some(id_of("C.2.2")));
        assert_ne!(
            req.option(OptionNumber::ECHO).unwrap().value,
            value.as_slice()
        );
        OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0)
    });
    assert_eq!(requests(&events).len(), 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Response { id: got, .. } if *got == c2))
    );
    // Under its own context but after the freshness window: refused (4.01 to the retry, whose
    // fresh value is then used).
    let seq_before = client
        .protection_ref()
        .context(&id_of("C.1.1"))
        .unwrap()
        .sender_sequence_number();
    client
        .request_protected(t(30), SERVER, put(Some(&value)), options(), id_of("C.1.1"))
        .unwrap();
    let (_, events) = pump(t(30), &mut client, &mut server, &mut |req, _| {
        assert_ne!(
            req.option(OptionNumber::ECHO).unwrap().value,
            value.as_slice()
        );
        OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0)
    });
    assert_eq!(requests(&events).len(), 1);
    let seq_after = client
        .protection_ref()
        .context(&id_of("C.1.1"))
        .unwrap()
        .sender_sequence_number();
    assert_eq!(seq_after - seq_before, 2);
}

#[test]
fn contexts_are_chosen_by_kid_and_by_kid_context() {
    // C.1.2 and C.3.2 both have the empty Recipient ID; C.3 adds an ID Context, sent as
    // 'kid context'. C.2.2 has Recipient ID 00.
    let mut server = endpoint(EndpointConfig::default(), 19, &["C.1.2", "C.2.2", "C.3.2"]);
    for (seed, sender, receiver) in [
        (21, "C.3.1", "C.3.2"),
        (22, "C.1.1", "C.1.2"),
        (23, "C.2.1", "C.2.2"),
    ] {
        let mut client = endpoint(EndpointConfig::default(), seed, &[sender]);
        client
            .request_protected(t(0), SERVER, get(sender), options(), id_of(sender))
            .unwrap();
        let (_, events) = pump(t(0), &mut client, &mut server, &mut |req, identity| {
            assert_eq!(identity, Some(id_of(receiver)));
            content(&req.payload)
        });
        assert_eq!(requests(&events).len(), 1, "{sender}");
        assert_eq!(response(&events).unwrap().code, Code::CONTENT);
    }
    // A kid context no context has: not found.
    let v = common::appendix_c().remove("C.3.1").unwrap();
    assert_eq!(common::hex(&v, "id_context").len(), 8);
    let outer = OwnedMessage::new(MessageType::Con, Code::POST, 7)
        .with_token([1])
        .with_option(OptionNumber::OSCORE, [0x19, 0x00, 0x01, 0xff])
        .with_payload(vec![0u8; 12]);
    let (reply, delivered) = server_reply(&mut server, t(1), &outer.to_vec().unwrap());
    assert!(!delivered);
    assert_eq!(reply.payload, b"Security context not found");
}

#[test]
fn the_context_set_is_bounded() {
    let mut oscore: Oscore = OscoreProtection::new(OscoreConfig { max_contexts: 2 }, rng(1));
    assert_eq!(
        oscore.add_context(context("C.1.2")).unwrap(),
        id_of("C.1.2")
    );
    assert_eq!(
        oscore.add_context(context("C.1.2")),
        Err(ContextSetError::Duplicate)
    );
    oscore.add_context(context("C.2.2")).unwrap();
    assert_eq!(
        oscore.add_context(context("C.3.2")),
        Err(ContextSetError::Full { capacity: 2 })
    );
    assert_eq!(oscore.len(), 2);
    assert_eq!(
        oscore.contexts().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![id_of("C.1.2"), id_of("C.2.2")]
    );
    assert!(oscore.remove_context(&id_of("C.1.2")).is_some());
    oscore.add_context(context("C.3.2")).unwrap();
    assert!(oscore.context(&id_of("C.3.2")).is_some());
    assert!(oscore.context(&id_of("C.1.2")).is_none());
}

/// The per-request state is shared by every clone of a binding (the endpoint clones them):
/// a stale clone can neither make a second response reuse the request nonce (server) nor
/// accept a replayed or older notification (client, RFC 8613 §7.4.1).
#[test]
fn clones_of_a_binding_share_nonce_use_and_notification_numbers() {
    let mut client: Oscore = OscoreProtection::new(OscoreConfig::default(), rng(1));
    let mut server: Oscore = OscoreProtection::new(OscoreConfig::default(), rng(2));
    client.add_context(context("C.1.1")).unwrap();
    server.add_context(context("C.1.2")).unwrap();
    let mut inner = MessageParts::new(Code::GET);
    inner.options.push_uint(OptionNumber::OBSERVE, 0);
    inner.options.push(OptionNumber::URI_PATH, b"temp".to_vec());
    let (outer, binding) =
        Protection::<u16>::protect_request(&mut client, &SERVER, &id_of("C.1.1"), &inner).unwrap();
    let raw = outer
        .into_message(MessageType::Con, 1, &[1])
        .to_vec()
        .unwrap();
    let (_, server_binding, _) = server.unprotect_request_bytes(&raw).unwrap().unwrap();
    let mut note = MessageParts::new(Code::CONTENT);
    note.options.push_uint(OptionNumber::OBSERVE, 5);
    let mut protect = |b: &_, notification| {
        let outer =
            Protection::<u16>::protect_response(&mut server, b, &note, notification).unwrap();
        outer
            .into_message(MessageType::Ack, 1, &[1])
            .to_vec()
            .unwrap()
    };
    // Two "first" responses from two clones: the second must get its own Partial IV.
    let first = protect(&server_binding.clone(), false);
    let second = protect(&server_binding.clone(), false);
    let piv = |d: &[u8]| {
        Message::decode(d)
            .unwrap()
            .option(OptionNumber::OSCORE)
            .unwrap()
            .value
            .to_vec()
    };
    assert!(piv(&first).is_empty());
    assert!(!piv(&second).is_empty());
    let third = protect(&server_binding, true);
    let mut open = |d: &[u8]| {
        let m = Message::decode(d).unwrap();
        Protection::<u16>::unprotect_response(&mut client, &binding.clone(), &m)
    };
    assert!(open(&first).is_ok());
    assert!(open(&third).is_ok());
    // Older than the last accepted, and the same again: refused, whichever clone is used.
    assert!(open(&second).is_err());
    assert!(open(&third).is_err());
}

#[test]
fn after_a_restart_with_an_echo_policy_two_challenges_are_passed() {
    // The server restarts (replay window lost, Appendix B.1.2) and its endpoint also requires
    // freshness for unsafe methods (RFC 9175 §2.3). A PUT meets two challenges in a row: the
    // protection layer's B.1.2 Echo, then the endpoint's own. RFC 9175 §2.4: the client
    // retries for each new value, and the application gets its 2.04.
    let policy = EndpointConfig {
        echo: Some(EchoPolicy {
            window: Duration::from_secs(10),
            require: EchoRequirement::UnsafeMethods,
        }),
        ..EndpointConfig::default()
    };
    let mut client = endpoint(EndpointConfig::default(), 30, &["C.1.1"]);
    let mut server = endpoint(policy, 31, &["C.1.2"]);
    // A first exchange so that the server's store holds a state to restore from.
    client
        .request_protected(t(0), SERVER, get("a"), options(), id_of("C.1.1"))
        .unwrap();
    pump(t(0), &mut client, &mut server, &mut |_, _| content(b"a"));
    let stored = *server
        .protection_ref()
        .context(&id_of("C.1.2"))
        .unwrap()
        .store();
    server
        .protection_mut()
        .remove_context(&id_of("C.1.2"))
        .unwrap();
    let restored = SecurityContext::restore(&params("C.1.2"), stored, 1, 1, true).unwrap();
    server.protection_mut().add_context(restored).unwrap();
    assert!(
        !server
            .protection_ref()
            .context(&id_of("C.1.2"))
            .unwrap()
            .replay_window()
            .is_initialized()
    );

    let put = OwnedMessage::new(MessageType::Con, Code::PUT, 0)
        .with_option(OptionNumber::URI_PATH, "valve")
        .with_payload(b"open".to_vec());
    let id = client
        .request_protected(t(1), SERVER, put, options(), id_of("C.1.1"))
        .unwrap();
    let (wire, events) = pump(t(1), &mut client, &mut server, &mut |req, _| {
        assert!(req.option(OptionNumber::ECHO).is_some());
        OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0)
    });
    // The request, the retry after B.1.2, the retry after the freshness Echo.
    assert_eq!(wire.iter().filter(|(p, _)| *p == CLIENT).count(), 3);
    assert_eq!(requests(&events).len(), 1);
    let got = events
        .iter()
        .find_map(|e| match e {
            Event::Response {
                id: got, message, ..
            } if *got == id => Some(message),
            _ => None,
        })
        .unwrap();
    assert_eq!(got.code, Code::CHANGED);
    assert!(
        server
            .protection_ref()
            .context(&id_of("C.1.2"))
            .unwrap()
            .replay_window()
            .is_initialized()
    );
}

/// The pattern of aiocoap's OSCORE plugtest server (test 6): the first response to the
/// registration carries no Partial IV (its inner Observe shows 0), the next notification has
/// the server's first Partial IV, 0, so its Observe value shows 0 too (RFC 8613 §4.1.3.5.2:
/// the low bytes of the Partial IV). The client orders protected notifications by Partial IV
/// and ignores the Observe value: the notification is delivered, and a replay of it is not.
#[test]
fn a_notification_with_partial_iv_0_after_a_first_response_without_one_is_delivered() {
    use mote_oscore::Framing;
    let mut client = endpoint(EndpointConfig::default(), 11, &["C.1.1"]);
    let mut server = context("C.1.2");
    assert_eq!(server.sender_sequence_number(), 0);
    let observe = get("observe1").with_uint_option(OptionNumber::OBSERVE, 0);
    let id = client
        .request_protected(t(0), SERVER, observe, options(), id_of("C.1.1"))
        .unwrap();
    let request = client.poll_transmit().unwrap().datagram;
    let mut plain = vec![0u8; 512];
    let verified = server
        .unprotect_request(Framing::Udp, &request, &mut plain)
        .unwrap();
    let mut binding = verified.binding;
    let inner = Message::decode(&plain[..verified.len]).unwrap();
    let reply = |mtype, mid, payload: &[u8]| {
        OwnedMessage::new(mtype, Code::CONTENT, mid)
            .with_token(inner.token().to_vec())
            .with_uint_option(OptionNumber::OBSERVE, 0)
            .with_payload(payload.to_vec())
            .to_vec()
            .unwrap()
    };
    let mut wire = vec![0u8; 512];
    // "one": piggybacked, with the request's nonce (no Partial IV).
    let one = reply(MessageType::Ack, inner.message_id(), b"one");
    let n = server
        .protect_response(Framing::Udp, &mut binding, &one, false, &mut wire)
        .unwrap();
    let one = wire[..n].to_vec();
    // "two": a CON notification with the server's own Partial IV 0.
    let two = reply(MessageType::Con, 0x7000, b"two");
    let n = server
        .protect_response(Framing::Udp, &mut binding, &two, true, &mut wire)
        .unwrap();
    let two = wire[..n].to_vec();
    let oscore = Message::decode(&two)
        .unwrap()
        .option(OptionNumber::OSCORE)
        .unwrap()
        .value
        .to_vec();
    assert_eq!(oscore, [0x01, 0x00], "flags: Partial IV of 1 byte, 0");
    client.handle(t(1), SERVER, &one);
    client.handle(t(2), SERVER, &two);
    client.handle(t(3), SERVER, &two);
    let got: Vec<(&str, Vec<u8>)> = std::iter::from_fn(|| client.poll_event())
        .filter_map(|e| match e {
            Event::Response { id: r, message, .. } if r == id => {
                Some(("response", message.payload))
            }
            Event::Notification { id: r, message, .. } if r == id => {
                Some(("notification", message.payload))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("response", b"one".to_vec()),
            ("notification", b"two".to_vec())
        ]
    );
}
