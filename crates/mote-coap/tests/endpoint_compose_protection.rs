//! The protection layer (RFC 8613 §2 placement) with a toy protection: XOR "encryption", a
//! key id byte and a counter as Partial IV. Every path of the endpoint that touches it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use mote_coap::block::Szx;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    EchoPolicy, EchoRequirement, Endpoint, EndpointConfig, EndpointError, Event, MessageParts,
    ObserverHandle, Protection, ProtectionError, Reliability, RequestOptions,
};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;

/// Key id whose requests always fail verification.
const BAD_KID: u8 = 0xEE;
const MASK: u8 = 0x5a;

#[derive(Debug, Default)]
struct Toy {
    counter: u16,
    /// Partial IVs used by `protect_request`, in order.
    request_pivs: Vec<u16>,
    /// `protect_response` calls as (notification?).
    responses: Vec<bool>,
    /// Make the next `unprotect_response` fail.
    reject_responses: bool,
}

fn seal(inner: &MessageParts) -> Vec<u8> {
    let m = inner.clone().into_message(MessageType::Con, 0, &[]);
    m.to_vec().unwrap().iter().map(|b| b ^ MASK).collect()
}

fn open(payload: &[u8]) -> Option<MessageParts> {
    let plain: Vec<u8> = payload.iter().map(|b| b ^ MASK).collect();
    Message::decode(&plain)
        .ok()
        .map(|m| MessageParts::from_message(&m))
}

impl Toy {
    fn next(&mut self) -> u16 {
        self.counter += 1;
        self.counter
    }
}

impl Protection<u16> for Toy {
    type Binding = (u8, u16);
    type Identity = u8;

    fn unprotect_request(
        &mut self,
        _now: Duration,
        _peer: &u16,
        outer: &Message<'_>,
    ) -> Result<Option<(MessageParts, (u8, u16), u8)>, MessageParts> {
        let Some(o) = outer.option(OptionNumber::OSCORE) else {
            return Ok(None);
        };
        let (kid, piv) = match o.value {
            [kid, hi, lo] => (*kid, u16::from_be_bytes([*hi, *lo])),
            _ => return Err(MessageParts::new(Code::BAD_OPTION)),
        };
        if kid == BAD_KID {
            return Err(MessageParts::new(Code::UNAUTHORIZED));
        }
        let inner = open(outer.payload()).ok_or_else(|| MessageParts::new(Code::BAD_REQUEST))?;
        Ok(Some((inner, (kid, piv), kid)))
    }

    fn protect_response(
        &mut self,
        binding: &(u8, u16),
        inner: &MessageParts,
        notification: bool,
    ) -> Result<MessageParts, ProtectionError> {
        self.responses.push(notification);
        let counter = self.next();
        let mut outer = MessageParts::new(Code::CHANGED);
        // A notification carries its own Partial IV (RFC 8613 §8.3); a response reuses the
        // request's, but the counter in the payload makes every protection distinct.
        let piv = if notification { counter } else { binding.1 };
        let [hi, lo] = piv.to_be_bytes();
        outer
            .options
            .push(OptionNumber::OSCORE, vec![binding.0, hi, lo]);
        outer.payload = counter.to_be_bytes().to_vec();
        outer.payload.extend(seal(inner));
        Ok(outer)
    }

    fn protect_request(
        &mut self,
        _peer: &u16,
        identity: &u8,
        inner: &MessageParts,
    ) -> Result<(MessageParts, (u8, u16)), ProtectionError> {
        let piv = self.next();
        self.request_pivs.push(piv);
        let mut outer = MessageParts::new(Code::POST);
        let [hi, lo] = piv.to_be_bytes();
        outer
            .options
            .push(OptionNumber::OSCORE, vec![*identity, hi, lo]);
        outer.payload = seal(inner);
        Ok((outer, (*identity, piv)))
    }

    fn unprotect_response(
        &mut self,
        binding: &(u8, u16),
        outer: &Message<'_>,
    ) -> Result<MessageParts, ProtectionError> {
        if self.reject_responses {
            return Err(ProtectionError::Failed);
        }
        match outer.option(OptionNumber::OSCORE).map(|o| o.value) {
            Some([kid, ..]) if *kid == binding.0 => {}
            _ => return Err(ProtectionError::Failed),
        }
        open(outer.payload().get(2..).ok_or(ProtectionError::Failed)?)
            .ok_or(ProtectionError::Failed)
    }
}

type Ep = Endpoint<u16, Box<dyn FnMut() -> u32>, Toy>;

const CLIENT: u16 = 1;
const SERVER: u16 = 2;

fn endpoint(config: EndpointConfig, seed: u32) -> Ep {
    let mut x = seed;
    let rng: Box<dyn FnMut() -> u32> = Box::new(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    });
    Endpoint::with_protection(config, rng, Toy::default()).unwrap()
}

fn t(s: u64) -> Duration {
    Duration::from_secs(100 + s)
}

/// Delivers every datagram between the two endpoints until both are quiet; the server
/// answers each request with `answer(request)`. Returns the datagrams exchanged.
fn pump(
    now: Duration,
    client: &mut Ep,
    server: &mut Ep,
    answer: &mut dyn FnMut(&OwnedMessage, Option<u8>) -> OwnedMessage,
    events: &mut Vec<Event<u16, u8>>,
) -> Vec<(u16, Vec<u8>)> {
    let mut wire = Vec::new();
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
            return wire;
        }
    }
}

fn get(path: &str) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::GET, 0).with_option(OptionNumber::URI_PATH, path)
}

fn content(payload: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(payload.to_vec())
}

/// The observer registered by the first Observe request among `events`.
fn observer_in(events: &[Event<u16, u8>]) -> ObserverHandle {
    events
        .iter()
        .find_map(|e| match e {
            Event::Request { message, .. } => message.observation,
            _ => None,
        })
        .unwrap()
}

fn options() -> RequestOptions {
    RequestOptions::new(
        Reliability::Confirmable,
        EndpointConfig::default().client_blockwise,
    )
}

#[test]
fn protected_exchange_carries_identity_and_hides_the_inner_message() {
    let (mut client, mut server) = (
        endpoint(EndpointConfig::default(), 1),
        endpoint(EndpointConfig::default(), 2),
    );
    let id = client
        .request_protected(t(0), SERVER, get("secret"), options(), 7)
        .unwrap();
    let mut events = Vec::new();
    let wire = pump(
        t(0),
        &mut client,
        &mut server,
        &mut |req, identity| {
            assert_eq!(req.code, Code::GET);
            assert_eq!(identity, Some(7));
            content(b"inner answer")
        },
        &mut events,
    );
    // On the wire: POST / 2.04 with an OSCORE option; no Uri-Path, no plain payload.
    for (_, d) in &wire {
        let m = Message::decode(d).unwrap();
        assert!(m.option(OptionNumber::OSCORE).is_some());
        assert!(m.option(OptionNumber::URI_PATH).is_none());
        assert!(!d.windows(6).any(|w| w == b"secret" || w == b"inner "));
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Request { message, .. } if message.identity == Some(7)))
    );
    assert!(events.iter().any(|e| matches!(e,
        Event::Response { id: got, message, .. } if *got == id && message.payload == b"inner answer" && message.code == Code::CONTENT)));
}

#[test]
fn duplicate_of_a_protected_con_gets_the_same_protected_bytes() {
    let mut client = endpoint(EndpointConfig::default(), 3);
    let mut server = endpoint(EndpointConfig::default(), 4);
    client
        .request_protected(t(0), SERVER, get("x"), options(), 1)
        .unwrap();
    let request = client.poll_transmit().unwrap().datagram;
    server.handle(t(0), CLIENT, &request);
    let Some(Event::Request { id, .. }) = server.poll_event() else {
        panic!()
    };
    server.respond(t(0), id, content(b"once")).unwrap();
    let first = server.poll_transmit().unwrap().datagram;
    // The retransmission: the cached protected response, byte for byte, not protected again.
    server.handle(t(1), CLIENT, &request);
    let again = server.poll_transmit().unwrap().datagram;
    assert_eq!(first, again);
    assert!(server.poll_event().is_none());
    assert_eq!(server.stats().duplicates, 1);
}

#[test]
fn failed_unprotection_is_answered_as_is_and_reaches_no_application() {
    let mut server = endpoint(EndpointConfig::default(), 5);
    let outer = OwnedMessage::new(MessageType::Con, Code::POST, 9)
        .with_token([1])
        .with_option(OptionNumber::OSCORE, [BAD_KID, 0, 1])
        .with_payload(*b"garbage");
    server.handle(t(0), CLIENT, &outer.to_vec().unwrap());
    let reply = server.poll_transmit().unwrap().datagram;
    let m = Message::decode(&reply).unwrap();
    assert_eq!(m.code(), Code::UNAUTHORIZED);
    assert!(m.option(OptionNumber::OSCORE).is_none());
    assert!(server.poll_event().is_none());
}

#[test]
fn outer_block_options_are_refused_with_4_02() {
    let mut client = endpoint(EndpointConfig::default(), 6);
    let mut server = endpoint(EndpointConfig::default(), 7);
    client
        .request_protected(t(0), SERVER, get("x"), options(), 1)
        .unwrap();
    let request = client.poll_transmit().unwrap().datagram;
    let mut outer = Message::decode(&request).unwrap().to_owned();
    outer.options.push_uint(OptionNumber::BLOCK1, 0x08); // NUM 0, M 1, SZX 0
    server.handle(t(0), CLIENT, &outer.to_vec().unwrap());
    assert!(server.poll_event().is_none());
    let reply = server.poll_transmit().unwrap().datagram;
    client.handle(t(0), SERVER, &reply);
    match client.poll_event() {
        Some(Event::Response { message, .. }) => assert_eq!(message.code, Code::BAD_OPTION),
        other => panic!("{other:?}"),
    }
}

#[test]
fn echo_is_bound_to_the_identity_and_the_client_retries_with_a_new_piv() {
    let config = EndpointConfig {
        echo: Some(EchoPolicy {
            window: Duration::from_secs(30),
            require: EchoRequirement::AllRequests,
        }),
        ..EndpointConfig::default()
    };
    let mut client = endpoint(EndpointConfig::default(), 8);
    let mut server = endpoint(config, 9);
    let id = client
        .request_protected(t(0), SERVER, get("x"), options(), 3)
        .unwrap();
    let mut events = Vec::new();
    pump(
        t(0),
        &mut client,
        &mut server,
        &mut |_, _| content(b"fresh"),
        &mut events,
    );
    // 4.01 + Echo (protected), then the retry protected again with a new Partial IV.
    let pivs = &client.protection_ref().request_pivs;
    assert_eq!(pivs.len(), 2);
    assert_ne!(pivs[0], pivs[1]);
    assert!(events.iter().any(|e| matches!(e, Event::Response { id: got, message, .. } if *got == id && message.payload == b"fresh")));
    // An Echo value issued under identity 3 is not fresh under identity 4.
    let mut other = endpoint(EndpointConfig::default(), 10);
    let challenge = {
        other
            .request_protected(t(1), SERVER, get("y"), options(), 3)
            .unwrap();
        let d = other.poll_transmit().unwrap().datagram;
        server.handle(t(1), CLIENT + 10, &d);
        assert!(matches!(
            server.poll_event(),
            Some(Event::EchoChallenged {
                identity: Some(3),
                ..
            })
        ));
        let reply = server.poll_transmit().unwrap().datagram;
        let opened = open(&Message::decode(&reply).unwrap().payload()[2..]).unwrap();
        assert_eq!(opened.code, Code::UNAUTHORIZED);
        opened
            .options
            .get(OptionNumber::ECHO)
            .unwrap()
            .value
            .to_vec()
    };
    let spend = |kid: u8, mid: u16| {
        let inner = MessageParts {
            code: Code::GET,
            options: get("y").with_option(OptionNumber::ECHO, &challenge).options,
            payload: vec![],
        };
        OwnedMessage::new(MessageType::Con, Code::POST, mid)
            .with_token([9])
            .with_option(OptionNumber::OSCORE, [kid, 0, mid as u8])
            .with_payload(seal(&inner))
            .to_vec()
            .unwrap()
    };
    server.handle(t(2), CLIENT + 10, &spend(4, 50));
    // Challenged again (the value is bound to context 3), reported, not delivered.
    assert!(matches!(
        server.poll_event(),
        Some(Event::EchoChallenged { identity: Some(4), method: Code::GET, ref path, .. })
            if path == &["y"]
    ));
    assert!(server.poll_event().is_none());
    server.poll_transmit();
    server.handle(t(2), CLIENT + 10, &spend(3, 51));
    assert!(
        matches!(server.poll_event(), Some(Event::Request { message, .. }) if message.identity == Some(3))
    );
}

#[test]
fn inner_blockwise_protects_every_block() {
    let mut config = EndpointConfig::default();
    config.client_blockwise.szx = Szx::S64;
    config.block2.preferred_szx = Szx::S64;
    let mut client = endpoint(config.clone(), 11);
    let mut server = endpoint(config, 12);
    let body: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let put = OwnedMessage::new(MessageType::Con, Code::PUT, 0)
        .with_option(OptionNumber::URI_PATH, "fw")
        .with_payload(body.clone());
    let mut blockwise = EndpointConfig::default().client_blockwise;
    blockwise.szx = Szx::S64;
    let id = client
        .request_protected(
            t(0),
            SERVER,
            put,
            RequestOptions::new(Reliability::Confirmable, blockwise),
            5,
        )
        .unwrap();
    let mut seen = Vec::new();
    let mut events = Vec::new();
    let wire = pump(
        t(0),
        &mut client,
        &mut server,
        &mut |req, identity| {
            seen.push((req.payload.clone(), identity));
            OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0).with_payload(vec![1u8; 150])
        },
        &mut events,
    );
    assert_eq!(seen, vec![(body, Some(5))]);
    // 5 upload blocks + 2 more download requests, each protected with its own Partial IV.
    let pivs = &client.protection_ref().request_pivs;
    assert_eq!(pivs.len(), 7);
    assert!(wire.iter().all(|(_, d)| {
        Message::decode(d)
            .unwrap()
            .option(OptionNumber::BLOCK1)
            .is_none()
    }));
    assert!(events.iter().any(|e| matches!(e, Event::Response { id: got, message, .. } if *got == id && message.payload == vec![1u8; 150])));
}

/// RFC 8613 §4.1.3.4 with RFC 7959 §2.4: the representation kept for the later blocks of a
/// protected response belongs to that security context; a plain request from the same
/// address for a later block is not served from it (it reaches the application as the plain
/// request it is).
#[test]
fn a_kept_protected_representation_is_not_served_to_a_plain_request() {
    let mut config = EndpointConfig::default();
    config.block2.preferred_szx = Szx::S64;
    let mut server = endpoint(config, 16);
    let secret: Vec<u8> = (0..200u32).map(|i| i as u8).collect();
    let request = |block: u32| MessageParts {
        code: Code::GET,
        options: get("doc")
            .with_uint_option(OptionNumber::BLOCK2, (block << 4) | 2)
            .options,
        payload: vec![],
    };
    // Block 0 under context 5: answered from the whole body, the rest kept.
    let protected = OwnedMessage::new(MessageType::Con, Code::POST, 60)
        .with_token([6])
        .with_option(OptionNumber::OSCORE, [5, 0, 60])
        .with_payload(seal(&request(0)))
        .to_vec()
        .unwrap();
    server.handle(t(0), CLIENT, &protected);
    let Some(Event::Request { id, message, .. }) = server.poll_event() else {
        panic!("no request")
    };
    assert_eq!(message.identity, Some(5));
    server.respond(t(0), id, content(&secret)).unwrap();
    let reply = server.poll_transmit().unwrap().datagram;
    let opened = open(&Message::decode(&reply).unwrap().payload()[2..]).unwrap();
    assert_eq!(opened.payload, secret[..64]);
    assert_eq!(server.stats().block2_entries, 1);
    // The same address, no protection, block 1 of the same resource: not from the kept
    // representation; the application sees the plain request.
    let mut plain = OwnedMessage::new(MessageType::Con, Code::GET, 77).with_token([7]);
    plain.options = request(1).options;
    let plain = plain.to_vec().unwrap();
    server.handle(t(1), CLIENT, &plain);
    match server.poll_event() {
        Some(Event::Request { message, .. }) => assert_eq!(message.identity, None),
        other => panic!("{other:?}"),
    }
    assert!(
        server.poll_transmit().is_none(),
        "no block of the protected body"
    );
    // Context 5 still gets its block 1 from the kept representation.
    let protected = OwnedMessage::new(MessageType::Con, Code::POST, 61)
        .with_token([8])
        .with_option(OptionNumber::OSCORE, [5, 0, 61])
        .with_payload(seal(&request(1)))
        .to_vec()
        .unwrap();
    server.handle(t(1), CLIENT, &protected);
    assert!(server.poll_event().is_none(), "served by the endpoint");
    let reply = server.poll_transmit().unwrap().datagram;
    let opened = open(&Message::decode(&reply).unwrap().payload()[2..]).unwrap();
    assert_eq!(opened.payload, secret[64..128]);
}

/// RFC 8613 §4.1.3.4 with RFC 7959 §2.5: a plain block from the address of a client whose
/// protected upload is in reassembly does not join it.
#[test]
fn a_plain_block_does_not_join_a_protected_upload() {
    let mut server = endpoint(EndpointConfig::default(), 17);
    let block = |num: u32, more: bool, fill: u8| MessageParts {
        code: Code::PUT,
        options: get("fw")
            .with_uint_option(
                OptionNumber::BLOCK1,
                (num << 4) | (u32::from(more) << 3) | 2,
            )
            .options,
        payload: vec![fill; 64],
    };
    let protected = |mid: u16, parts: &MessageParts| {
        OwnedMessage::new(MessageType::Con, Code::POST, mid)
            .with_token([mid as u8])
            .with_option(OptionNumber::OSCORE, [5, 0, mid as u8])
            .with_payload(seal(parts))
            .to_vec()
            .unwrap()
    };
    server.handle(t(0), CLIENT, &protected(70, &block(0, true, 0xAA)));
    assert!(
        server.poll_event().is_none(),
        "2.31 Continue from the endpoint"
    );
    server.poll_transmit().unwrap();
    // The last block, plain, from the same address.
    let mut plain = OwnedMessage::new(MessageType::Con, Code::PUT, 71).with_token([71]);
    let last = block(1, false, 0xEE);
    plain.options = last.options.clone();
    plain.payload = last.payload.clone();
    server.handle(t(0), CLIENT, &plain.to_vec().unwrap());
    while let Some(e) = server.poll_event() {
        if let Event::Request { message, .. } = e {
            assert!(
                !message.message.payload.contains(&0xAA),
                "a plain request carrying the protected block"
            );
        }
    }
    server.poll_transmit();
    // The protected upload completes with its own blocks only.
    server.handle(t(0), CLIENT, &protected(72, &block(1, false, 0xBB)));
    match server.poll_event() {
        Some(Event::Request { message, .. }) => {
            assert_eq!(message.identity, Some(5));
            let mut body = vec![0xAA; 64];
            body.extend([0xBB; 64]);
            assert_eq!(message.message.payload, body);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn notifications_are_protected_with_their_own_piv() {
    let mut client = endpoint(EndpointConfig::default(), 13);
    let mut server = endpoint(EndpointConfig::default(), 14);
    let observe = get("temp").with_uint_option(OptionNumber::OBSERVE, 0);
    let id = client
        .request_protected(t(0), SERVER, observe, options(), 2)
        .unwrap();
    let mut events = Vec::new();
    pump(
        t(0),
        &mut client,
        &mut server,
        &mut |_, _| content(b"20"),
        &mut events,
    );
    let handle = observer_in(&events);
    server.notify(t(1), handle, content(b"21"), false).unwrap();
    events.clear();
    pump(
        t(1),
        &mut client,
        &mut server,
        &mut |_, _| unreachable!(),
        &mut events,
    );
    assert_eq!(server.protection_ref().responses, [false, true]);
    assert!(events.iter().any(|e| matches!(e, Event::Notification { id: got, message, .. } if *got == id && message.payload == b"21")));
}

/// RFC 8613 §8.3: a notification the application sends before it has answered a protected
/// registration is protected (the observer has the registration's binding from the start).
#[test]
fn a_notification_before_the_registration_is_answered_is_protected() {
    let mut client = endpoint(EndpointConfig::default(), 31);
    let mut server = endpoint(EndpointConfig::default(), 32);
    let observe = get("temp").with_uint_option(OptionNumber::OBSERVE, 0);
    client
        .request_protected(t(0), SERVER, observe, options(), 2)
        .unwrap();
    let tx = client.poll_transmit().unwrap();
    server.handle(t(0), CLIENT, &tx.datagram);
    let handle = observer_in(&std::iter::from_fn(|| server.poll_event()).collect::<Vec<_>>());
    server.notify(t(0), handle, content(b"21"), false).unwrap();
    assert_eq!(server.protection_ref().responses, [true]);
    let out: Vec<Vec<u8>> = std::iter::from_fn(|| server.poll_transmit())
        .map(|tx| tx.datagram)
        .collect();
    assert!(!out.is_empty());
    for datagram in out {
        let m = Message::decode(&datagram).unwrap();
        assert!(
            m.option(OptionNumber::OSCORE).is_some() && m.payload() != b"21",
            "sent unprotected: {m:?}"
        );
    }
}

/// RFC 8613 §8.3: a protected request whose first answer cannot be sent (too large once
/// protected) keeps its binding, so the application's next answer is protected too.
#[test]
fn a_response_refused_as_too_large_leaves_the_next_answer_protected() {
    let mut config = EndpointConfig::default();
    config.limits.max_message_size = 200;
    let mut client = endpoint(EndpointConfig::default(), 33);
    let mut server = endpoint(config, 34);
    client
        .request_protected(t(0), SERVER, get("big"), options(), 2)
        .unwrap();
    let tx = client.poll_transmit().unwrap();
    server.handle(t(0), CLIENT, &tx.datagram);
    let id = std::iter::from_fn(|| server.poll_event())
        .find_map(|e| match e {
            Event::Request { id, .. } => Some(id),
            _ => None,
        })
        .unwrap();
    assert!(matches!(
        // Options are not sliced by Block2: 190 bytes of them do not fit 200 once protected.
        server.respond(
            t(0),
            id,
            content(b"x").with_option(OptionNumber::LOCATION_PATH, vec![b'a'; 190])
        ),
        Err(EndpointError::MessageTooLarge { .. })
    ));
    server
        .respond(
            t(0),
            id,
            OwnedMessage::new(MessageType::Ack, Code::INTERNAL_SERVER_ERROR, 0),
        )
        .unwrap();
    let out: Vec<Vec<u8>> = std::iter::from_fn(|| server.poll_transmit())
        .map(|tx| tx.datagram)
        .collect();
    assert_eq!(out.len(), 1);
    let m = Message::decode(&out[0]).unwrap();
    assert!(
        m.option(OptionNumber::OSCORE).is_some(),
        "sent unprotected: {m:?}"
    );
    assert_ne!(
        m.code(),
        Code::INTERNAL_SERVER_ERROR,
        "the outer code is 2.04/2.05"
    );
}

/// RFC 7641 §4.1, RFC 8613 §8.3: while a re-registration of a protected observer awaits its
/// response, the observer keeps its binding: a notification sent in between is protected.
#[test]
fn a_reregistration_keeps_the_observer_binding_until_answered() {
    let mut client = endpoint(EndpointConfig::default(), 17);
    let mut server = endpoint(EndpointConfig::default(), 18);
    let observe = get("temp").with_uint_option(OptionNumber::OBSERVE, 0);
    client
        .request_protected(t(0), SERVER, observe, options(), 2)
        .unwrap();
    let mut events = Vec::new();
    let wire = pump(
        t(0),
        &mut client,
        &mut server,
        &mut |_, _| content(b"20"),
        &mut events,
    );
    let handle = observer_in(&events);
    // The same registration (same token) again under a new Message ID.
    let mut again = wire
        .iter()
        .find(|(from, _)| *from == CLIENT)
        .unwrap()
        .1
        .clone();
    again[3] ^= 0x55;
    server.handle(t(1), CLIENT, &again);
    let reregistered = observer_in(&std::iter::from_fn(|| server.poll_event()).collect::<Vec<_>>());
    assert_eq!(reregistered, handle);
    // Not answered yet: a notification now still goes out protected.
    server.notify(t(1), handle, content(b"21"), false).unwrap();
    assert_eq!(server.protection_ref().responses, [false, true]);
}

/// A protected request refused before it is recorded leaves nothing behind: the next plain
/// request goes out unprotected, and a protected one queued behind NSTART (RFC 7252 §4.7) is
/// protected when it is finally sent.
#[test]
fn protection_belongs_to_its_own_request_only() {
    let mut client = endpoint(EndpointConfig::default(), 19);
    let not_a_request = OwnedMessage::new(MessageType::Con, Code::CONTENT, 0);
    assert!(
        client
            .request_protected(t(0), SERVER, not_a_request, options(), 4)
            .is_err()
    );
    client
        .request_with(t(0), SERVER, get("plain"), options())
        .unwrap();
    // Queued behind the plain request (NSTART 1).
    client
        .request_protected(t(0), SERVER, get("secret"), options(), 4)
        .unwrap();
    let first = client.poll_transmit().unwrap();
    let plain = Message::decode(&first.datagram).unwrap();
    assert!(plain.option(OptionNumber::OSCORE).is_none());
    assert!(client.protection_ref().request_pivs.is_empty());
    assert!(client.poll_transmit().is_none());
    // The plain request is answered: the protected one goes out, protected.
    let ack = OwnedMessage::new(MessageType::Ack, Code::CONTENT, plain.message_id())
        .with_token(plain.token().to_vec());
    client.handle(t(1), SERVER, &ack.to_vec().unwrap());
    let second = client.poll_transmit().unwrap();
    let protected = Message::decode(&second.datagram).unwrap();
    assert_eq!(
        protected.option(OptionNumber::OSCORE).map(|o| o.value[0]),
        Some(4)
    );
    assert_eq!(client.protection_ref().request_pivs.len(), 1);
}

#[test]
fn a_response_that_does_not_verify_ends_the_request() {
    let mut client = endpoint(EndpointConfig::default(), 15);
    let mut server = endpoint(EndpointConfig::default(), 16);
    let id = client
        .request_protected(t(0), SERVER, get("x"), options(), 1)
        .unwrap();
    client.protection_mut().reject_responses = true;
    let mut events = Vec::new();
    pump(
        t(0),
        &mut client,
        &mut server,
        &mut |_, _| content(b"x"),
        &mut events,
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ProtectionFailed { id: got, .. } if *got == id))
    );
    assert!(!events.iter().any(|e| matches!(e, Event::Response { .. })));
    assert_eq!(client.stats().outstanding_requests, 0);
}

/// A protected 4.01 with `echo`, as a server application (or its protection layer) answers.
fn unauthorized(echo: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, Code::UNAUTHORIZED, 0).with_option(OptionNumber::ECHO, echo)
}

#[test]
fn echo_retries_follow_each_new_value_up_to_the_bound() {
    // RFC 9175 §2.4: a new Echo value may be retried again. The server answers 4.01 with a
    // new value every time: the client retries max_echo_retries (default 2) times, then the
    // third 4.01 reaches the application.
    let mut client = endpoint(EndpointConfig::default(), 21);
    let mut server = endpoint(EndpointConfig::default(), 22);
    let id = client
        .request_protected(t(0), SERVER, get("x"), options(), 3)
        .unwrap();
    let mut seen: Vec<Option<Vec<u8>>> = Vec::new();
    let mut events = Vec::new();
    pump(
        t(0),
        &mut client,
        &mut server,
        &mut |req, _| {
            seen.push(req.option(OptionNumber::ECHO).map(|o| o.value.to_vec()));
            unauthorized(&[b'a' + seen.len() as u8; 4])
        },
        &mut events,
    );
    assert_eq!(
        seen,
        vec![None, Some(b"bbbb".to_vec()), Some(b"cccc".to_vec())]
    );
    let delivered: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Response {
                id: got, message, ..
            } if *got == id => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].code, Code::UNAUTHORIZED);
    assert_eq!(
        delivered[0].option(OptionNumber::ECHO).unwrap().value,
        b"dddd"
    );

    // With the bound raised, a server challenging three times is passed.
    let config = EndpointConfig {
        max_echo_retries: 3,
        ..EndpointConfig::default()
    };
    let mut client = endpoint(config, 23);
    let mut server = endpoint(EndpointConfig::default(), 33);
    let id = client
        .request_protected(t(1), SERVER, get("x"), options(), 3)
        .unwrap();
    let mut n = 0u8;
    let mut events = Vec::new();
    pump(
        t(1),
        &mut client,
        &mut server,
        &mut |_, _| {
            n += 1;
            if n <= 3 {
                unauthorized(&[n; 4])
            } else {
                content(b"passed")
            }
        },
        &mut events,
    );
    assert!(events.iter().any(|e| matches!(e, Event::Response { id: got, message, .. } if *got == id && message.payload == b"passed")));
}

#[test]
fn an_echo_value_repeated_by_the_server_is_not_retried_twice() {
    // The server repeats its value: one retry with it, then the second 4.01 is delivered, no
    // loop (RFC 9175 §2.4 allows a further retry only for a new value).
    let mut client = endpoint(EndpointConfig::default(), 24);
    let mut server = endpoint(EndpointConfig::default(), 25);
    let id = client
        .request_protected(t(0), SERVER, get("x"), options(), 3)
        .unwrap();
    let mut requests = 0;
    let mut events = Vec::new();
    let wire = pump(
        t(0),
        &mut client,
        &mut server,
        &mut |_, _| {
            requests += 1;
            unauthorized(b"same")
        },
        &mut events,
    );
    assert_eq!(requests, 2);
    assert_eq!(wire.iter().filter(|(p, _)| *p == CLIENT).count(), 2);
    assert!(events.iter().any(|e| matches!(e, Event::Response { id: got, message, .. } if *got == id && message.code == Code::UNAUTHORIZED)));

    // An application request that already carries the value the server answers with is not
    // retried with it either.
    let mut client = endpoint(EndpointConfig::default(), 26);
    let mut server = endpoint(EndpointConfig::default(), 36);
    client
        .request_protected(
            t(1),
            SERVER,
            get("x").with_option(OptionNumber::ECHO, b"same"),
            options(),
            3,
        )
        .unwrap();
    let mut requests = 0;
    let mut events = Vec::new();
    pump(
        t(1),
        &mut client,
        &mut server,
        &mut |_, _| {
            requests += 1;
            unauthorized(b"same")
        },
        &mut events,
    );
    assert_eq!(requests, 1);
    assert!(events.iter().any(
        |e| matches!(e, Event::Response { message, .. } if message.code == Code::UNAUTHORIZED)
    ));

    // max_echo_retries 0: the first 4.01 is delivered.
    let config = EndpointConfig {
        max_echo_retries: 0,
        ..EndpointConfig::default()
    };
    let mut client = endpoint(config, 27);
    let mut server = endpoint(EndpointConfig::default(), 37);
    client
        .request_protected(t(2), SERVER, get("x"), options(), 3)
        .unwrap();
    let mut requests = 0;
    let mut events = Vec::new();
    pump(
        t(2),
        &mut client,
        &mut server,
        &mut |_, _| {
            requests += 1;
            unauthorized(b"new!")
        },
        &mut events,
    );
    assert_eq!(requests, 1);
}

// ---------------------------------------------------------------------------------------------
// Block2 downloads delivered block by block (RequestOptions::deliver_blocks).

/// Answers the client's request in `datagram` by hand with the 64-byte block it asks for of
/// `body`, tagged with `etag`: sealed like the Toy protection (inner Block2 under the key id
/// `kid`, RFC 8613 §4.1.3.4) or plain.
fn answer_block(datagram: &[u8], body: &[u8], etag: &[u8], kid: Option<u8>) -> Vec<u8> {
    use mote_coap::block::BlockValue;
    let outer = Message::decode(datagram).unwrap();
    let (inner, piv) = match kid {
        Some(_) => {
            let o = outer.option(OptionNumber::OSCORE).unwrap().value.to_vec();
            (open(outer.payload()).unwrap(), [o[1], o[2]])
        }
        None => (MessageParts::from_message(&outer), [0, 0]),
    };
    let asked = inner
        .options
        .get(OptionNumber::BLOCK2)
        .map(|o| {
            let m = OwnedMessage::new(MessageType::Con, Code::GET, 0)
                .with_option(OptionNumber::BLOCK2, o.value);
            let raw = m.to_vec().unwrap();
            BlockValue::from_message(&Message::decode(&raw).unwrap(), OptionNumber::BLOCK2)
                .unwrap()
                .unwrap()
        })
        .unwrap_or_else(|| BlockValue::new(0, false, Szx::S64).unwrap());
    let start = asked.offset().min(body.len());
    let end = (start + 64).min(body.len());
    let more = end < body.len();
    let block = BlockValue::new(asked.num(), more, Szx::S64).unwrap();
    let mut response = MessageParts::new(Code::CONTENT);
    response.options.push(OptionNumber::ETAG, etag.to_vec());
    response.options.push(
        OptionNumber::BLOCK2,
        block.to_bytes().0[..block.to_bytes().1].to_vec(),
    );
    response.payload = body[start..end].to_vec();
    let wire = match kid {
        Some(kid) => {
            let mut sealed = MessageParts::new(Code::CHANGED);
            sealed
                .options
                .push(OptionNumber::OSCORE, vec![kid, piv[0], piv[1]]);
            sealed.payload = vec![0, 1];
            sealed.payload.extend(seal(&response));
            sealed
        }
        None => response,
    };
    wire.into_message(MessageType::Ack, outer.message_id(), outer.token())
        .to_vec()
        .unwrap()
}

/// Runs a 300-byte download with 64-byte blocks against `answer_block`, the ETag switching
/// to `b"v2"` from block `etag_change_at` on. After every step it records the endpoint's
/// download buffer and each event, and which requests went out before which events.
fn download(
    deliver: bool,
    kid: Option<u8>,
    etag_change_at: Option<usize>,
) -> (Vec<Event<u16, u8>>, Vec<usize>, Vec<u8>) {
    let mut client = endpoint(EndpointConfig::default(), 21);
    let body: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    let mut blockwise = EndpointConfig::default().client_blockwise;
    blockwise.download.preferred_szx = Szx::S64;
    let mut options = RequestOptions::new(Reliability::Confirmable, blockwise);
    options.deliver_blocks = deliver;
    match kid {
        Some(kid) => client.request_protected(t(0), SERVER, get("fw"), options, kid),
        None => client.request_with(t(0), SERVER, get("fw"), options),
    }
    .unwrap();
    let mut events = Vec::new();
    let mut held = Vec::new();
    let mut requests = 0;
    while let Some(tx) = client.poll_transmit() {
        let etag: &[u8] = match etag_change_at {
            Some(at) if requests >= at => b"v2",
            _ => b"v1",
        };
        requests += 1;
        let answer = answer_block(&tx.datagram, &body, etag, kid);
        client.handle(t(0), SERVER, &answer);
        held.push(client.stats().download_bytes);
        while let Some(e) = client.poll_event() {
            events.push(e);
        }
    }
    (events, held, body)
}

fn blocks(events: &[Event<u16, u8>]) -> Vec<(usize, Vec<u8>, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Block {
                offset,
                payload,
                more,
                ..
            } => Some((*offset, payload.clone(), *more)),
            _ => None,
        })
        .collect()
}

fn delivered_in_order_and_not_held(kid: Option<u8>) {
    let (events, held, body) = download(true, kid, None);
    let expected: Vec<(usize, Vec<u8>, bool)> = (0..5)
        .map(|i| {
            let end = (i * 64 + 64).min(300);
            (i * 64, body[i * 64..end].to_vec(), i < 4)
        })
        .collect();
    assert_eq!(blocks(&events), expected);
    // The final response comes once, last, without the body.
    let last = events.last().unwrap();
    assert!(
        matches!(last, Event::Response { message, .. } if message.code == Code::CONTENT && message.payload.is_empty()),
        "{last:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Response { .. }))
            .count(),
        1
    );
    // Nothing is kept in memory between blocks.
    assert_eq!(held, [0; 5]);
}

#[test]
fn delivered_blocks_arrive_in_order_and_are_not_held_plain() {
    delivered_in_order_and_not_held(None);
}

#[test]
fn delivered_blocks_arrive_in_order_and_are_not_held_under_protection() {
    delivered_in_order_and_not_held(Some(7));
}

#[test]
fn without_delivery_the_download_is_held_and_comes_whole() {
    // The control for the test above: the stat does count a reassembled download.
    let (events, held, body) = download(false, None, None);
    assert!(blocks(&events).is_empty());
    assert_eq!(held, [64, 128, 192, 256, 0]);
    assert!(
        matches!(events.last().unwrap(), Event::Response { message, .. } if message.payload == body)
    );
}

fn changed_etag_ends_the_transfer(kid: Option<u8>) {
    use mote_coap::block::BlockError;
    use mote_coap::endpoint::BlockwiseError;
    let (events, held, body) = download(true, kid, Some(2));
    // Blocks 0 and 1 went to the application; block 2 (new ETag) is refused.
    assert_eq!(
        blocks(&events),
        vec![
            (0, body[..64].to_vec(), true),
            (64, body[64..128].to_vec(), true)
        ]
    );
    assert!(
        matches!(
            events.last().unwrap(),
            Event::BlockwiseFailed {
                error: BlockwiseError::Block(BlockError::EtagChanged),
                ..
            }
        ),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| matches!(e, Event::Response { .. })));
    assert_eq!(held.len(), 3, "no request after the changed ETag");
}

#[test]
fn delivered_download_with_a_changed_etag_fails_plain() {
    changed_etag_ends_the_transfer(None);
}

#[test]
fn delivered_download_with_a_changed_etag_fails_under_protection() {
    changed_etag_ends_the_transfer(Some(7));
}

#[test]
fn cancelling_on_a_delivered_block_sends_no_next_request() {
    let mut client = endpoint(EndpointConfig::default(), 23);
    let body = vec![9u8; 200];
    let mut blockwise = EndpointConfig::default().client_blockwise;
    blockwise.download.preferred_szx = Szx::S64;
    let options = RequestOptions::new(Reliability::Confirmable, blockwise).delivering_blocks();
    let id = client
        .request_protected(t(0), SERVER, get("fw"), options, 3)
        .unwrap();
    let first = client.poll_transmit().unwrap();
    client.handle(
        t(0),
        SERVER,
        &answer_block(&first.datagram, &body, b"e", Some(3)),
    );
    let event = client.poll_event().unwrap();
    assert!(
        matches!(
            event,
            Event::Block {
                offset: 0,
                more: true,
                ..
            }
        ),
        "{event:?}"
    );
    // The request for block 1 is queued; the application refuses the block and cancels.
    assert_eq!(client.stats().queued_transmits, 1);
    client.cancel(t(0), id).unwrap();
    assert!(client.poll_transmit().is_none());
    assert!(client.poll_event().is_none());
}
