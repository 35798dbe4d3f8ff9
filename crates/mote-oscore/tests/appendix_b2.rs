//! RFC 8613 Appendix B.2 through `OscoreProtection` on two `mote_coap` endpoints (client and
//! server in one process, simulated time, a link the tests drive by hand), with the
//! RFC 8613 Appendix C.1 contexts as roots.

#![cfg(feature = "appendix-b2")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::rederive::concat_id_context;
use mote_oscore::{Framing, peek_oscore_option};

use common::endpoint::{CLIENT, Ep, Ev, SERVER, context, get, id_of, options, rng, t};

/// An endpoint whose protection holds `name` as an Appendix B.2 root.
fn endpoint(seed: u32, name: &str) -> Ep {
    let mut oscore = OscoreProtection::new(OscoreConfig::default(), rng(seed ^ 0x5555));
    oscore.add_context_b2(context(name)).unwrap();
    Endpoint::with_protection(EndpointConfig::default(), rng(seed), oscore).unwrap()
}

/// Every datagram between the endpoints until both are quiet; the server answers each
/// request delivered to it with 2.05 and `path` as payload. Returns the datagrams (sender,
/// bytes), the server's deliveries (path, with "+echo" if it carried an Echo option, and
/// identity) and the client's events.
#[allow(clippy::type_complexity)]
fn pump(
    now: Duration,
    client: &mut Ep,
    server: &mut Ep,
) -> (
    Vec<(u16, Vec<u8>)>,
    Vec<(String, Option<ContextId>)>,
    Vec<Ev>,
) {
    let mut wire = Vec::new();
    let mut delivered = Vec::new();
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
                let path = String::from_utf8(
                    message
                        .message
                        .option(OptionNumber::URI_PATH)
                        .unwrap()
                        .value
                        .to_vec(),
                )
                .unwrap();
                let answer = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
                    .with_payload(path.clone().into_bytes());
                // An Echo option reaching the application is marked (request #2 must be
                // the original request, without the layer's retry marker).
                let echo = message.message.option(OptionNumber::ECHO).is_some();
                let seen = if echo { format!("{path}+echo") } else { path };
                delivered.push((seen, message.identity));
                server.respond(now, *id, answer).unwrap();
            }
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
            return (wire, delivered, events);
        }
    }
}

/// The 'kid context' of a datagram's OSCORE option.
fn kid_context(datagram: &[u8]) -> Option<Vec<u8>> {
    peek_oscore_option(Framing::Udp, datagram)
        .unwrap()
        .kid_context
        .map(<[u8]>::to_vec)
}

/// The payloads of the client's responses, in order.
fn responses(events: &[Ev]) -> Vec<(Code, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Response { message, .. } => Some((message.code, message.payload.clone())),
            _ => None,
        })
        .collect()
}

/// The server's reply to `datagram` and whether its application saw the request.
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

/// `datagram` with a new Message ID and token, as an attacker replaying it would send it.
fn reminted(datagram: &[u8], salt: u16) -> Vec<u8> {
    let mut m = Message::decode(datagram).unwrap().to_owned();
    m.message_id = m.message_id.wrapping_add(0x4000 + salt);
    m.token = salt.to_be_bytes().to_vec();
    m.to_vec().unwrap()
}

/// One completed Appendix B.2 exchange: returns the datagrams.
fn run_b2(client: &mut Ep, server: &mut Ep, now: Duration, path: &str) -> Vec<(u16, Vec<u8>)> {
    client
        .request_protected(now, SERVER, get(path), options(), id_of("C.1.1"))
        .unwrap();
    let (wire, delivered, events) = pump(now, client, server);
    assert_eq!(delivered, [(path.to_owned(), Some(id_of("C.1.2")))]);
    assert_eq!(
        responses(&events),
        [(Code::CONTENT, path.as_bytes().to_vec())]
    );
    wire
}

#[test]
fn first_use_runs_the_b2_exchange_and_the_request_is_delivered_once_with_the_root_identity() {
    let mut client = endpoint(1, "C.1.1");
    let mut server = endpoint(2, "C.1.2");
    client
        .request_protected(t(0), SERVER, get("reg"), options(), id_of("C.1.1"))
        .unwrap();
    let (wire, delivered, events) = pump(t(0), &mut client, &mut server);
    let senders: Vec<u16> = wire.iter().map(|(p, _)| *p).collect();
    assert_eq!(senders, [CLIENT, SERVER, CLIENT, SERVER]);
    // Request #1: 'kid context' R1, 8 random bytes (C.1.1 itself has no ID Context).
    let r1 = kid_context(&wire[0].1).expect("request #1 carries a kid context");
    assert_eq!(r1.len(), 8);
    // Response #1: protected 4.01 (outer code 2.04) with 'kid context' R2.
    let response_1 = Message::decode(&wire[1].1).unwrap();
    assert_eq!(response_1.code(), Code::CHANGED);
    let r2 = kid_context(&wire[1].1).expect("response #1 carries R2");
    assert_eq!(r2.len(), 8);
    assert_ne!(r2, r1);
    // Request #2: ID3 = R2 || R3, and the Echo marker did not go on the wire (it is inside
    // the ciphertext if anywhere, so check what the server delivered instead, below).
    let id3 = kid_context(&wire[2].1).expect("request #2 carries ID3");
    assert_eq!(id3.len(), 16);
    assert_eq!(&id3[..8], &r2[..]);
    // Delivered exactly once, with the root's identity.
    assert_eq!(delivered, [("reg".to_owned(), Some(id_of("C.1.2")))]);
    // The application sees only the final response.
    assert_eq!(responses(&events), [(Code::CONTENT, b"reg".to_vec())]);
    // Both sides hold the same derived context, fresh: the client sent one request under it.
    let derived = server
        .protection_ref()
        .derived_context(&id_of("C.1.2"))
        .unwrap();
    assert_eq!(derived.id_context(), Some(&id3[..]));
    let mine = client
        .protection_ref()
        .derived_context(&id_of("C.1.1"))
        .unwrap();
    assert_eq!(mine.id_context(), Some(&id3[..]));
    assert_eq!(mine.sender_sequence_number(), 1);
    // The root's own sequence number was never used (no Appendix B.1.1 persistence needed).
    let root = client.protection_ref().context(&id_of("C.1.1")).unwrap();
    assert_eq!(root.sender_sequence_number(), 0);
    assert_eq!(server.protection_ref().pending_r2(), 0);

    // Later requests use the derived context directly: one round trip, same identity.
    client
        .request_protected(t(1), SERVER, get("upd"), options(), id_of("C.1.1"))
        .unwrap();
    let (wire, delivered, events) = pump(t(1), &mut client, &mut server);
    assert_eq!(wire.len(), 2);
    assert_eq!(kid_context(&wire[0].1), Some(id3));
    assert_eq!(delivered, [("upd".to_owned(), Some(id_of("C.1.2")))]);
    assert_eq!(responses(&events), [(Code::CONTENT, b"upd".to_vec())]);
}

#[test]
fn the_derived_context_matches_a_by_hand_rederivation_of_the_rfc_c1_root() {
    let mut client = endpoint(3, "C.1.1");
    let mut server = endpoint(4, "C.1.2");
    let wire = run_b2(&mut client, &mut server, t(0), "a");
    let id3 = kid_context(&wire[2].1).unwrap();
    // Appendix B.2 / §3.2: same Master Secret, Salt and IDs, ID Context = ID3.
    let by_hand = context("C.1.1").rederive(&id3).unwrap();
    let derived = client
        .protection_ref()
        .derived_context(&id_of("C.1.1"))
        .unwrap();
    assert_eq!(derived.sender_key().expose(), by_hand.sender_key().expose());
    assert_eq!(derived.common_iv(), by_hand.common_iv());
    // And it differs from the root's keys.
    assert_ne!(
        derived.sender_key().expose(),
        context("C.1.1").sender_key().expose()
    );
}

#[test]
fn replayed_request_1_and_request_2_are_refused() {
    let mut client = endpoint(5, "C.1.1");
    let mut server = endpoint(6, "C.1.2");
    client
        .request_protected(t(0), SERVER, get("a"), options(), id_of("C.1.1"))
        .unwrap();
    // Request #1 only: the server answers it and remembers R2.
    let request_1 = client.poll_transmit().unwrap().datagram;
    let (reply, delivered) = server_reply(&mut server, t(0), &request_1);
    assert!(!delivered);
    assert!(kid_context(&reply.to_vec().unwrap()).is_some());
    assert_eq!(server.protection_ref().pending_r2(), 1);
    // The same request #1 again (new MID and token): refused as a replay, unprotected.
    let (reply, delivered) = server_reply(&mut server, t(0), &reminted(&request_1, 1));
    assert!(!delivered);
    assert_eq!(reply.code, Code::UNAUTHORIZED);
    assert_eq!(reply.payload, b"Replay detected");
    assert_eq!(server.protection_ref().pending_r2(), 1);

    // A complete exchange on a fresh pair, then its request #2 replayed.
    let mut client = endpoint(7, "C.1.1");
    let mut server = endpoint(8, "C.1.2");
    let wire = run_b2(&mut client, &mut server, t(0), "b");
    let (reply, delivered) = server_reply(&mut server, t(1), &reminted(&wire[2].1, 2));
    assert!(!delivered);
    assert_eq!(reply.code, Code::UNAUTHORIZED);
    assert_eq!(reply.payload, b"Replay detected");
    // Request #1 of that exchange replayed after it completed is never delivered either.
    let (_, delivered) = server_reply(&mut server, t(1), &reminted(&wire[0].1, 3));
    assert!(!delivered);
}

#[test]
fn a_request_2_with_an_r2_the_server_never_sent_is_not_delivered() {
    let mut server = endpoint(9, "C.1.2");
    // A client that made up R2: ID3 = R2' || R3 under the right keys.
    let id3 = concat_id_context(&[0x22; 8], &[0x33; 8]).unwrap();
    let mut forged = context("C.1.1").rederive(id3.as_slice()).unwrap();
    let plain_get = get("x").to_vec().unwrap();
    let mut out = [0u8; 256];
    let (n, _) = forged
        .protect_request(Framing::Udp, &plain_get, &mut out)
        .unwrap();
    let (reply, delivered) = server_reply(&mut server, t(0), &out[..n]);
    // Treated as a request #1: answered with a new R2, the derived context not installed.
    assert!(!delivered);
    let r2 = kid_context(&reply.to_vec().unwrap()).expect("response #1 with a new R2");
    assert_ne!(r2, [0x22; 8]);
    assert!(
        server
            .protection_ref()
            .derived_context(&id_of("C.1.2"))
            .is_none()
    );
}

#[test]
fn the_pending_r2_values_are_bounded_and_the_oldest_is_dropped() {
    let mut server = endpoint(10, "C.1.2");
    server.protection_mut().set_max_pending_r2(2);
    // Three clients' requests #1 (the same root, three R1 values).
    let mut clients: Vec<Ep> = (0..3).map(|i| endpoint(20 + i, "C.1.1")).collect();
    let mut replies = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        c.request_protected(
            t(0),
            SERVER,
            get(&format!("c{i}")),
            options(),
            id_of("C.1.1"),
        )
        .unwrap();
        let request_1 = c.poll_transmit().unwrap().datagram;
        server.handle(t(0), CLIENT, &request_1);
        let reply = server.poll_transmit().unwrap().datagram;
        replies.push(reply);
        assert!(server.protection_ref().pending_r2() <= 2);
    }
    assert_eq!(server.protection_ref().pending_r2(), 2);
    // The first client's R2 was dropped: its request #2 starts over (not delivered); the
    // last client's request #2 is delivered.
    clients[0].handle(t(0), SERVER, &replies[0]);
    let request_2 = clients[0].poll_transmit().unwrap().datagram;
    let (reply, delivered) = server_reply(&mut server, t(0), &request_2);
    assert!(!delivered);
    assert!(kid_context(&reply.to_vec().unwrap()).is_some());
    clients[2].handle(t(0), SERVER, &replies[2]);
    let request_2 = clients[2].poll_transmit().unwrap().datagram;
    server.handle(t(0), CLIENT, &request_2);
    let identities: Vec<Option<ContextId>> = std::iter::from_fn(|| server.poll_event())
        .filter_map(|e| match e {
            Event::Request { message, .. } => Some(message.identity),
            _ => None,
        })
        .collect();
    assert_eq!(identities, [Some(id_of("C.1.2"))]);
}

#[test]
fn after_a_server_restart_the_next_request_runs_b2_again_and_succeeds() {
    let mut client = endpoint(11, "C.1.1");
    let mut server = endpoint(12, "C.1.2");
    let first = run_b2(&mut client, &mut server, t(0), "a");
    let old_id3 = kid_context(&first[2].1).unwrap();
    // The server restarts: fresh state, the root provisioned again, no derived context.
    let mut server = endpoint(13, "C.1.2");
    // The client's next request goes under the old ID3; the server takes it as request #1
    // (ID1 = old ID3), the client re-derives and sends it again as request #2.
    let wire = run_b2(&mut client, &mut server, t(1), "b");
    let senders: Vec<u16> = wire.iter().map(|(p, _)| *p).collect();
    assert_eq!(senders, [CLIENT, SERVER, CLIENT, SERVER]);
    assert_eq!(kid_context(&wire[0].1), Some(old_id3.clone()));
    let r2 = kid_context(&wire[1].1).unwrap();
    let new_id3 = kid_context(&wire[2].1).unwrap();
    assert_eq!(&new_id3[..8], &r2[..]);
    assert_ne!(new_id3, old_id3);
    // One derived context per root: the new one replaced the old one on both sides.
    for (ep, name) in [(&client, "C.1.1"), (&server, "C.1.2")] {
        let d = ep.protection_ref().derived_context(&id_of(name)).unwrap();
        assert_eq!(d.id_context(), Some(&new_id3[..]));
    }
}

#[test]
fn the_server_role_sends_requests_under_the_derived_context_with_the_root_identity() {
    // LwM2M: after the client registered (B.2), the server reads from it.
    let mut client = endpoint(14, "C.1.1");
    let mut server = endpoint(15, "C.1.2");
    let first = run_b2(&mut client, &mut server, t(0), "reg");
    let id3 = kid_context(&first[2].1).unwrap();
    server
        // (pump labels the first endpoint's datagrams as the client's)
        .request_protected(t(1), SERVER, get("3"), options(), id_of("C.1.2"))
        .unwrap();
    let (wire, delivered, events) = pump(t(1), &mut server, &mut client);
    assert_eq!(wire.len(), 2);
    assert_eq!(kid_context(&wire[0].1), Some(id3));
    assert_eq!(delivered, [("3".to_owned(), Some(id_of("C.1.1")))]);
    assert_eq!(responses(&events), [(Code::CONTENT, b"3".to_vec())]);
}

#[test]
fn a_root_still_serves_a_peer_that_does_not_do_b2_as_plain_oscore() {
    // The client holds C.1.1 as a plain context (no Appendix B.2), the server as a root.
    let mut oscore = OscoreProtection::new(OscoreConfig::default(), rng(16));
    oscore.add_context(context("C.1.1")).unwrap();
    let mut client: Ep =
        Endpoint::with_protection(EndpointConfig::default(), rng(17), oscore).unwrap();
    let mut server = endpoint(18, "C.1.2");
    client
        .request_protected(t(0), SERVER, get("p"), options(), id_of("C.1.1"))
        .unwrap();
    let (wire, delivered, events) = pump(t(0), &mut client, &mut server);
    assert_eq!(wire.len(), 2);
    assert_eq!(kid_context(&wire[0].1), None);
    assert_eq!(delivered, [("p".to_owned(), Some(id_of("C.1.2")))]);
    assert_eq!(responses(&events), [(Code::CONTENT, b"p".to_vec())]);
    assert!(
        server
            .protection_ref()
            .derived_context(&id_of("C.1.2"))
            .is_none()
    );
    // Requests from the server to that peer go out under the root too (no B.2 request #1).
    server
        .request_protected(t(1), SERVER, get("q"), options(), id_of("C.1.2"))
        .unwrap();
    let (wire, delivered, events) = pump(t(1), &mut server, &mut client);
    assert_eq!(responses(&events), [(Code::CONTENT, b"q".to_vec())]);
    assert_eq!(wire.len(), 2);
    assert_eq!(kid_context(&wire[0].1), None);
    assert_eq!(delivered, [("q".to_owned(), Some(id_of("C.1.1")))]);
}

#[test]
fn two_requests_sent_before_the_first_response_are_each_delivered_once_without_echo() {
    let mut client = endpoint(19, "C.1.1");
    let mut server = endpoint(20, "C.1.2");
    for path in ["a", "b"] {
        client
            .request_protected(t(0), SERVER, get(path), options(), id_of("C.1.1"))
            .unwrap();
    }
    let (_, mut delivered, events) = pump(t(0), &mut client, &mut server);
    delivered.sort();
    // Each one request #2 of its own (the retry markers of both responses #1 are removed).
    assert_eq!(
        delivered,
        [
            ("a".to_owned(), Some(id_of("C.1.2"))),
            ("b".to_owned(), Some(id_of("C.1.2")))
        ]
    );
    let mut got = responses(&events);
    got.sort();
    assert_eq!(
        got,
        [
            (Code::CONTENT, b"a".to_vec()),
            (Code::CONTENT, b"b".to_vec())
        ]
    );
    // Both sides end with the same derived context.
    let mine = client.protection_ref().derived_context(&id_of("C.1.1"));
    let theirs = server.protection_ref().derived_context(&id_of("C.1.2"));
    assert_eq!(
        mine.and_then(|c| c.id_context()),
        theirs.and_then(|c| c.id_context())
    );
}
