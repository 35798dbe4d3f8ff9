//! `EdhocProtection` as the protection layer of two `mote_coap` endpoints: the EDHOC
//! resource (RFC 9528 Appendix A.2), the combined EDHOC + OSCORE request (RFC 9668), and the
//! bounds and hardening of the pending sessions and contexts.
#![cfg(all(feature = "std", feature = "oscore"))] // MoteCrypto from the OS random source
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability, RequestOptions};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_edhoc::protection::{
    EDHOC_CONTENT_FORMAT, EdhocEvent, EdhocInitiator, EdhocProtection, EdhocProtectionConfig,
    EdhocReply, Initiated,
};
use mote_edhoc::transport::{self, EDHOC_OPTION};
use mote_edhoc::{
    CipherSuite, ConnId, Credential, CredentialLookup, IdCred, Identity, InitiatorConfig, Method,
    MoteCrypto, ResponderConfig,
};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;

type Rng = Box<dyn FnMut() -> u32>;
type Crypto = MoteCrypto<rand_core::OsRng>;
type Layer = EdhocProtection<Volatile, Rng, Crypto, Peers>;
type Ep = Endpoint<u16, Rng, Layer>;
type Ev = Event<u16, ContextId>;

const CLIENT: u16 = 1;
const SERVER: u16 = 2;
const SUITE: u8 = 2;
/// The source named in POSTs of message_3 (admission only looks at message_1).
const SOURCE: &[u8] = b"peer";

/// The credentials a side accepts.
struct Peers(Vec<Credential>);

impl CredentialLookup for Peers {
    fn lookup(&mut self, id_cred: &IdCred) -> Option<Credential> {
        self.0.iter().find(|c| c.matches(id_cred)).cloned()
    }
}

fn rng(seed: u32) -> Rng {
    let mut x = seed.max(1);
    Box::new(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    })
}

fn identity(name: &str, kid: &[u8]) -> Identity {
    let suite = CipherSuite::from_id(i64::from(SUITE)).unwrap();
    common::identity(&suite, true, name, kid, false)
}

struct World {
    id_i: Identity,
    id_r: Identity,
}

impl World {
    fn new() -> Self {
        Self {
            id_i: identity("initiator", b"I"),
            id_r: identity("responder", b"R"),
        }
    }

    fn layer(&self, config: EdhocProtectionConfig, trusted: Vec<Credential>) -> Layer {
        let oscore = OscoreProtection::new(OscoreConfig { max_contexts: 8 }, rng(99));
        EdhocProtection::new(
            oscore,
            config,
            ResponderConfig::new(SUITE, self.id_r.clone()),
            MoteCrypto::new(),
            Peers(trusted),
        )
    }

    fn server(&self, config: EdhocProtectionConfig) -> Ep {
        let layer = self.layer(config, vec![self.id_i.credential.clone()]);
        Endpoint::with_protection(EndpointConfig::default(), rng(2), layer).unwrap()
    }

    fn client(&self) -> Ep {
        let layer = self.layer(EdhocProtectionConfig::default(), vec![]);
        Endpoint::with_protection(EndpointConfig::default(), rng(1), layer).unwrap()
    }

    fn initiator(&self, c_i: u8) -> EdhocInitiator<Crypto> {
        EdhocInitiator::new(
            MoteCrypto::new(),
            InitiatorConfig::new(Method::StaticStatic, SUITE, self.id_i.clone()),
            ConnId::from_slice(&[c_i]).unwrap(),
        )
    }

    /// message_1 → message_2 straight through the layer's EDHOC resource.
    fn initiate(&self, server: &mut Layer, c_i: u8, now: Duration) -> Initiated<Crypto> {
        let mut initiator = self.initiator(c_i);
        let reply = server.edhoc_post(now, &[c_i], None, &initiator.message_1().unwrap());
        assert_eq!(reply.code, Code::CHANGED);
        assert_eq!(reply.content_format, Some(EDHOC_CONTENT_FORMAT));
        let mut trusted = Peers(vec![self.id_r.credential.clone()]);
        initiator.message_2(&reply.payload, &mut trusted).unwrap()
    }
}

fn options() -> RequestOptions {
    RequestOptions::new(
        Reliability::Confirmable,
        EndpointConfig::default().client_blockwise,
    )
}

fn t(s: u64) -> Duration {
    Duration::from_secs(1000 + s)
}

fn is_edhoc_resource(m: &OwnedMessage) -> bool {
    let path: Vec<&[u8]> = m
        .options
        .get_all(OptionNumber::URI_PATH)
        .map(|o| o.value)
        .collect();
    path == [b".well-known".as_slice(), b"edhoc".as_slice()]
}

/// Delivers every datagram until both endpoints are quiet. The server routes POSTs to the
/// EDHOC resource to `edhoc_post` and answers other requests with their path echoed back.
fn pump(now: Duration, client: &mut Ep, server: &mut Ep) -> (Vec<(u16, Vec<u8>)>, Vec<Ev>) {
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
                let response = if is_edhoc_resource(message) && message.identity.is_none() {
                    let echo = message.options.get(OptionNumber::ECHO).map(|o| o.value);
                    let reply = server.protection_mut().edhoc_post(
                        now,
                        &CLIENT.to_be_bytes(),
                        echo,
                        &message.payload,
                    );
                    let parts = reply.into_parts();
                    parts.into_message(MessageType::Ack, 0, &[])
                } else {
                    let path = message
                        .options
                        .get(OptionNumber::URI_PATH)
                        .map(|o| o.value.to_vec())
                        .unwrap_or_default();
                    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(path)
                };
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

fn post(payload: Vec<u8>) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0)
        .with_option(OptionNumber::URI_PATH, ".well-known")
        .with_option(OptionNumber::URI_PATH, "edhoc")
        .with_payload(payload);
    m.options.push_uint(
        OptionNumber::CONTENT_FORMAT,
        u32::from(transport::CONTENT_FORMAT_CID_EDHOC),
    );
    m
}

fn get(path: &str) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::GET, 0).with_option(OptionNumber::URI_PATH, path)
}

fn response(events: &[Ev]) -> Option<&OwnedMessage> {
    events.iter().find_map(|e| match e {
        Event::Response { message, .. } => Some(message),
        _ => None,
    })
}

fn requests(events: &[Ev]) -> Vec<(OwnedMessage, Option<ContextId>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Request { message, .. } => Some((message.message.clone(), message.identity)),
            _ => None,
        })
        .collect()
}

#[test]
fn handshake_with_the_combined_request_then_protected_requests() {
    let world = World::new();
    let mut client = world.client();
    let mut server = world.server(EdhocProtectionConfig::default());
    // message_1 / message_2 over the endpoints, as plain requests to the EDHOC resource.
    let mut initiator = world.initiator(0x0a);
    client
        .request(
            t(0),
            SERVER,
            post(initiator.message_1().unwrap()),
            Reliability::Confirmable,
        )
        .unwrap();
    let (_, events) = pump(t(0), &mut client, &mut server);
    let m2 = response(&events).unwrap();
    assert_eq!(m2.code, Code::CHANGED);
    assert_eq!(
        m2.options.get(OptionNumber::CONTENT_FORMAT).unwrap().value,
        [64]
    );
    assert_eq!(server.protection_ref().pending_sessions(), 1);
    let mut trusted = Peers(vec![world.id_r.credential.clone()]);
    let initiated = initiator.message_2(&m2.payload, &mut trusted).unwrap();
    // RFC 9528 Appendix A.1 / RFC 8613 §3.3: C_R is the client's Sender ID, 7 random bytes
    // for AES-CCM-16-64-128 (13-byte nonce).
    assert_eq!(initiated.c_r().as_bytes().len(), 7);
    let c_r = initiated.c_r().as_bytes().to_vec();
    let message_3 = initiated.message_3().to_vec();
    let ctx = client.protection_mut().add_initiated(initiated).unwrap();
    assert_eq!(ctx.recipient_id(), [0x0a]);
    // The first protected request is the combined request (RFC 9668 §3.2).
    let first = client
        .request_protected(t(1), SERVER, get("first"), options(), ctx)
        .unwrap();
    let (wire, events) = pump(t(1), &mut client, &mut server);
    let combined = Message::decode(&wire[0].1).unwrap();
    assert!(combined.option(OptionNumber(EDHOC_OPTION)).is_some());
    assert!(combined.payload().starts_with(&message_3));
    assert!(combined.option(OptionNumber::URI_PATH).is_none());
    let delivered = requests(&events);
    assert_eq!(delivered.len(), 1);
    let server_ctx = delivered[0].1.unwrap();
    assert_eq!(server_ctx.recipient_id(), c_r.as_slice());
    assert_eq!(delivered[0].0.code, Code::GET);
    assert!(events.iter().any(
        |e| matches!(e, Event::Response { id, message, .. } if *id == first && message.payload == b"first")
    ));
    assert_eq!(server.protection_ref().pending_sessions(), 0);
    assert_eq!(
        server.protection_mut().poll_event(),
        Some(EdhocEvent::ContextEstablished {
            context: server_ctx
        })
    );
    // Later requests are plain OSCORE: no EDHOC option, no message_3.
    for path in ["second", "third"] {
        client
            .request_protected(t(2), SERVER, get(path), options(), ctx)
            .unwrap();
        let (wire, events) = pump(t(2), &mut client, &mut server);
        let m = Message::decode(&wire[0].1).unwrap();
        assert!(m.option(OptionNumber(EDHOC_OPTION)).is_none());
        assert!(m.option(OptionNumber::OSCORE).is_some());
        assert_eq!(response(&events).unwrap().payload, path.as_bytes());
        assert_eq!(requests(&events)[0].1, Some(server_ctx));
    }
}

#[test]
fn sequential_flow_posts_message_3_and_gets_message_4() {
    let world = World::new();
    let mut server = world.layer(
        EdhocProtectionConfig::default(),
        vec![world.id_i.credential.clone()],
    );
    let initiated = world.initiate(&mut server, 0x0b, t(0));
    let reply = server.edhoc_post(t(1), SOURCE, None, &initiated.message_3_payload().unwrap());
    assert_eq!(reply.code, Code::CHANGED);
    assert!(!reply.payload.is_empty());
    let client_ctx = initiated.context(Some(&reply.payload), Volatile).unwrap();
    // The keys agree: the client's Sender ID is the server's Recipient ID (C_R), and the
    // Sender Keys are each other's Recipient Keys.
    let (id, server_ctx) = server.oscore().contexts().next().unwrap();
    assert_eq!(id.recipient_id(), client_ctx.sender_id());
    assert_eq!(server_ctx.recipient_key(), client_ctx.sender_key());
    assert_eq!(server_ctx.sender_key(), client_ctx.recipient_key());
}

#[test]
fn pending_sessions_are_bounded_and_only_stale_ones_are_replaced() {
    let world = World::new();
    let config = EdhocProtectionConfig {
        max_pending: 2,
        pending_timeout: Duration::from_secs(60),
        ..EdhocProtectionConfig::default()
    };
    let mut server = world.layer(config, vec![world.id_i.credential.clone()]);
    let first = world.initiate(&mut server, 1, t(0));
    world.initiate(&mut server, 2, t(1));
    assert_eq!(server.pending_sessions(), 2);
    // Full of live sessions: message_1 is refused with an EDHOC error (5.00).
    let mut third = world.initiator(3);
    let reply = server.edhoc_post(t(2), SOURCE, None, &third.message_1().unwrap());
    assert_eq!(reply.code, Code::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.content_format, Some(EDHOC_CONTENT_FORMAT));
    assert_eq!(server.pending_sessions(), 2);
    // The first session is still there and completes.
    let m3 = first.message_3_payload().unwrap();
    assert_eq!(
        server.edhoc_post(t(3), SOURCE, None, &m3).code,
        Code::CHANGED
    );
    assert_eq!(server.pending_sessions(), 1);
    world.initiate(&mut server, 4, t(4));
    // Once the oldest is stale, a new message_1 replaces it.
    world.initiate(&mut server, 5, t(1 + 61));
    assert_eq!(server.pending_sessions(), 2);
}

#[test]
fn junk_naming_a_pending_c_r_does_not_end_the_session() {
    let world = World::new();
    let mut server = world.layer(
        EdhocProtectionConfig::default(),
        vec![world.id_i.credential.clone()],
    );
    let initiated = world.initiate(&mut server, 1, t(0));
    let c_r = initiated.c_r().clone();
    let junk = transport::prefixed_payload(
        &c_r,
        &[
            0x58, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ],
    )
    .unwrap();
    let reply = server.edhoc_post(t(1), SOURCE, None, junk.as_slice());
    assert_eq!(reply.code, Code::BAD_REQUEST);
    assert_eq!(server.pending_sessions(), 1);
    // The genuine message_3 still completes it.
    let reply = server.edhoc_post(t(2), SOURCE, None, &initiated.message_3_payload().unwrap());
    assert_eq!(reply.code, Code::CHANGED);
    assert_eq!(server.pending_sessions(), 0);
    assert_eq!(server.oscore().len(), 1);
}

#[test]
fn a_message_3_that_fails_to_authenticate_ends_the_session() {
    let world = World::new();
    // This server trusts nobody: CRED_I is unknown, message_3 does not authenticate.
    let mut server = world.layer(EdhocProtectionConfig::default(), vec![]);
    let initiated = world.initiate(&mut server, 1, t(0));
    let payload = initiated.message_3_payload().unwrap();
    let reply = server.edhoc_post(t(1), SOURCE, None, &payload);
    assert_eq!(reply.code, Code::BAD_REQUEST);
    assert_eq!(server.pending_sessions(), 0);
    assert_eq!(server.oscore().len(), 0);
    // The same message_3 again names a C_R that no longer exists.
    let again = server.edhoc_post(t(2), SOURCE, None, &payload);
    assert_eq!(again.code, Code::BAD_REQUEST);
}

#[test]
fn unknown_and_mismatched_c_r_get_identical_responses() {
    let world = World::new();
    let mut server = world.layer(
        EdhocProtectionConfig::default(),
        vec![world.id_i.credential.clone()],
    );
    let a = world.initiate(&mut server, 1, t(0));
    let b = world.initiate(&mut server, 2, t(0));
    // b's message_3 sent to a's C_R (a session exists but the message is not of it) ...
    let mismatched = transport::prefixed_payload(a.c_r(), b.message_3()).unwrap();
    let r1: EdhocReply = server.edhoc_post(t(1), SOURCE, None, mismatched.as_slice());
    // ... and to a C_R no session has.
    let unknown = transport::prefixed_payload(
        &ConnId::from_slice(&[9, 9, 9, 9, 9, 9, 9]).unwrap(),
        b.message_3(),
    )
    .unwrap();
    let r2 = server.edhoc_post(t(1), SOURCE, None, unknown.as_slice());
    assert_eq!(r1, r2);
    assert_eq!(r1.code, Code::BAD_REQUEST);
    assert_eq!(server.pending_sessions(), 2);
}

#[test]
fn c_r_is_long_random_and_avoids_ids_in_use() {
    let world = World::new();
    let mut server = world.layer(
        EdhocProtectionConfig::default(),
        vec![world.id_i.credential.clone()],
    );
    let mut seen = Vec::new();
    for c_i in 0..6u8 {
        let initiated = world.initiate(&mut server, c_i, t(0));
        let c_r = initiated.c_r().as_bytes().to_vec();
        assert_eq!(c_r.len(), 7);
        assert_ne!(c_r, [c_i]);
        assert!(!seen.contains(&c_r));
        seen.push(c_r);
    }
}

#[test]
fn contexts_from_edhoc_are_bounded_and_the_oldest_is_replaced_with_an_event() {
    let world = World::new();
    let config = EdhocProtectionConfig {
        max_contexts: 2,
        ..EdhocProtectionConfig::default()
    };
    let mut server = world.layer(config, vec![world.id_i.credential.clone()]);
    let mut established = Vec::new();
    for c_i in 1..=3u8 {
        let initiated = world.initiate(&mut server, c_i, t(0));
        let reply = server.edhoc_post(t(1), SOURCE, None, &initiated.message_3_payload().unwrap());
        assert_eq!(reply.code, Code::CHANGED);
        match server.poll_event() {
            Some(EdhocEvent::ContextReplaced { removed }) => {
                assert_eq!(removed, established[0]);
                match server.poll_event() {
                    Some(EdhocEvent::ContextEstablished { context }) => established.push(context),
                    other => panic!("{other:?}"),
                }
            }
            Some(EdhocEvent::ContextEstablished { context }) => established.push(context),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(server.oscore().len(), 2);
    assert!(server.oscore().context(&established[0]).is_none());
    assert!(server.oscore().context(&established[2]).is_some());
    assert_eq!(
        server.edhoc_contexts().copied().collect::<Vec<_>>(),
        established[1..].to_vec()
    );
}

#[test]
fn a_full_oscore_set_makes_room_by_replacing_the_oldest_edhoc_context() {
    let world = World::new();
    let oscore = OscoreProtection::new(OscoreConfig { max_contexts: 2 }, rng(3));
    let mut server: Layer = EdhocProtection::new(
        oscore,
        EdhocProtectionConfig::default(),
        ResponderConfig::new(SUITE, world.id_r.clone()),
        MoteCrypto::new(),
        Peers(vec![world.id_i.credential.clone()]),
    );
    // One context of the application's own, not from EDHOC: never replaced.
    let p = mote_oscore::SecurityContextParams::new(&[7; 16], &[0x20], &[0x21]);
    let own = server
        .oscore_mut()
        .add_context(mote_oscore::SecurityContext::with_store(&p, Volatile).unwrap())
        .unwrap();
    let mut established = Vec::new();
    for c_i in 1..=2u8 {
        let initiated = world.initiate(&mut server, c_i, t(0));
        let reply = server.edhoc_post(t(1), SOURCE, None, &initiated.message_3_payload().unwrap());
        assert_eq!(reply.code, Code::CHANGED);
        established.push(*server.edhoc_contexts().last().unwrap());
    }
    assert_eq!(server.oscore().len(), 2);
    assert!(server.oscore().context(&own).is_some());
    assert!(server.oscore().context(&established[1]).is_some());
    let events: Vec<EdhocEvent> = std::iter::from_fn(|| server.poll_event()).collect();
    assert!(events.contains(&EdhocEvent::ContextReplaced {
        removed: established[0]
    }));
}

#[test]
fn a_combined_request_for_an_unknown_c_r_gets_an_edhoc_error() {
    let world = World::new();
    let mut client = world.client();
    let mut server = world.server(EdhocProtectionConfig::default());
    // A handshake run against another server: its C_R is unknown here.
    let mut elsewhere = world.layer(
        EdhocProtectionConfig::default(),
        vec![world.id_i.credential.clone()],
    );
    let initiated = world.initiate(&mut elsewhere, 1, t(0));
    let ctx = client.protection_mut().add_initiated(initiated).unwrap();
    client
        .request_protected(t(1), SERVER, get("x"), options(), ctx)
        .unwrap();
    let (_, events) = pump(t(1), &mut client, &mut server);
    assert!(requests(&events).is_empty());
    // The client cannot verify the unprotected EDHOC error as an OSCORE response.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ProtectionFailed { .. }))
    );
    // Seen directly at the server: 4.00 with an EDHOC error message, Content-Format 64.
    let mut client2 = world.client();
    let mut elsewhere2 = world.layer(
        EdhocProtectionConfig::default(),
        vec![world.id_i.credential.clone()],
    );
    let initiated = world.initiate(&mut elsewhere2, 2, t(0));
    let ctx = client2.protection_mut().add_initiated(initiated).unwrap();
    client2
        .request_protected(t(2), SERVER, get("y"), options(), ctx)
        .unwrap();
    let d = client2.poll_transmit().unwrap().datagram;
    server.handle(t(2), CLIENT + 1, &d);
    let reply = Message::decode(&server.poll_transmit().unwrap().datagram)
        .unwrap()
        .to_owned();
    assert_eq!(reply.code, Code::BAD_REQUEST);
    assert_eq!(
        reply
            .options
            .get(OptionNumber::CONTENT_FORMAT)
            .unwrap()
            .value,
        [64]
    );
    assert!(reply.options.get(OptionNumber::OSCORE).is_none());
    assert!(!reply.payload.is_empty());
}

/// A "random" source that fills each request with one counter value (shared by clones),
/// so that the test knows which C_R the server draws.
#[derive(Clone)]
struct Counter(std::rc::Rc<std::cell::Cell<u8>>);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let v = self.0.get();
        self.0.set(v.wrapping_add(1));
        dest.fill(v);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Counter {}

#[test]
fn a_drawn_c_r_that_is_in_use_is_drawn_again() {
    let world = World::new();
    let counter = Counter(std::rc::Rc::new(std::cell::Cell::new(1)));
    let mut oscore = OscoreProtection::new(OscoreConfig::default(), rng(5));
    // An OSCORE context whose Recipient ID is the first C_R the server will draw.
    let mut p = mote_oscore::SecurityContextParams::new(&[7; 16], &[0x20], &[1; 7]);
    p.master_salt = &[];
    oscore
        .add_context(mote_oscore::SecurityContext::with_store(&p, Volatile).unwrap())
        .unwrap();
    let mut server: EdhocProtection<Volatile, Rng, MoteCrypto<Counter>, Peers> =
        EdhocProtection::new(
            oscore,
            EdhocProtectionConfig::default(),
            ResponderConfig::new(SUITE, world.id_r.clone()),
            MoteCrypto::with_rng(counter.clone()),
            Peers(vec![world.id_i.credential.clone()]),
        );
    // The layer drew its Echo key from the counter: start the C_R draws at 1 again.
    counter.0.set(1);
    let mut trusted = Peers(vec![world.id_r.credential.clone()]);
    let mut handshake = |c_i: u8| {
        let mut initiator = world.initiator(c_i);
        let reply = server.edhoc_post(t(0), SOURCE, None, &initiator.message_1().unwrap());
        assert_eq!(reply.code, Code::CHANGED, "{reply:?}");
        initiator
            .message_2(&reply.payload, &mut trusted)
            .unwrap()
            .c_r()
            .as_bytes()
            .to_vec()
    };
    // [1; 7] is a Recipient ID in use: the next draw is taken.
    assert_eq!(handshake(0x0a), [2; 7]);
    // [2; 7] is now a pending session's C_R: drawn again, skipped.
    counter.0.set(2);
    assert_eq!(handshake(0x0b), [3; 7]);
}

/// RFC 9668 §3.1: the EDHOC option belongs with OSCORE. On a plain request the layer leaves
/// it alone (no EDHOC error), so the endpoint's critical-option check or the application
/// answers it (4.02 where it is not processed).
#[test]
fn an_edhoc_option_without_oscore_is_left_to_the_application() {
    let world = World::new();
    let mut server = world.server(EdhocProtectionConfig::default());
    let request = OwnedMessage::new(MessageType::Con, Code::POST, 7)
        .with_option(OptionNumber(EDHOC_OPTION), b"");
    server.handle(t(0), CLIENT, &request.to_vec().unwrap());
    let events: Vec<_> = std::iter::from_fn(|| server.poll_event()).collect();
    match &events[..] {
        [Event::Request { message, .. }] => {
            assert_eq!(message.identity, None);
            assert!(message.option(OptionNumber(EDHOC_OPTION)).is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(server.poll_transmit().is_none(), "no EDHOC error answered");
}

/// message_1 → message_2 → message_3 for `c_i` from `source`, answering one Echo challenge;
/// returns the final reply (2.04 with message_4 when the handshake completed).
fn handshake_from(
    world: &World,
    server: &mut Layer,
    source: &[u8],
    c_i: u8,
    now: Duration,
) -> EdhocReply {
    let mut initiator = world.initiator(c_i);
    let mut reply = server.edhoc_post(now, source, None, &initiator.message_1().unwrap());
    if let Some((payload, echo)) =
        initiator.echo_retry(reply.code, reply.echo.as_ref().map(|e| e.as_bytes()))
    {
        reply = server.edhoc_post(now, source, Some(echo.as_bytes()), &payload);
    }
    assert_eq!(
        reply.code,
        Code::CHANGED,
        "message_1 from {source:?}: {reply:?}"
    );
    let mut trusted = Peers(vec![world.id_r.credential.clone()]);
    let initiated = initiator.message_2(&reply.payload, &mut trusted).unwrap();
    server.edhoc_post(now, source, None, &initiated.message_3_payload().unwrap())
}

/// RFC 9528 §9.7: one source holds at most `max_pending_per_source` sessions, so its flood
/// leaves the table to others; its own slots free up when its sessions go stale.
#[test]
fn one_source_cannot_hold_more_than_its_share_of_pending_sessions() {
    let world = World::new();
    let config = EdhocProtectionConfig {
        max_pending: 16,
        max_pending_per_source: 2,
        // No address validation in this test: only the per-source bound acts.
        validation_threshold: 16,
        ..EdhocProtectionConfig::default()
    };
    let mut server = world.layer(config, vec![world.id_i.credential.clone()]);
    let flooder: &[u8] = b"10.0.0.66";
    let payload = world.initiator(1).message_1().unwrap();
    let mut codes = Vec::new();
    for _ in 0..200 {
        codes.push(server.edhoc_post(t(0), flooder, None, &payload).code);
    }
    assert_eq!(codes.iter().filter(|c| **c == Code::CHANGED).count(), 2);
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == Code::INTERNAL_SERVER_ERROR)
            .count(),
        198
    );
    assert_eq!(server.pending_sessions_of(flooder), 2);
    assert_eq!(server.pending_sessions(), 2);
    assert_eq!(server.admission_stats().refused_per_source, 198);
    // Another source completes its handshake during the flood.
    let reply = handshake_from(&world, &mut server, b"10.0.0.7", 7, t(1));
    assert_eq!(reply.code, Code::CHANGED);
    assert_eq!(server.oscore().len(), 1);
    // Still bounded a second later; after pending_timeout the flooder's sessions expire.
    assert_eq!(
        server.edhoc_post(t(2), flooder, None, &payload).code,
        Code::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        server.edhoc_post(t(61), flooder, None, &payload).code,
        Code::CHANGED
    );
    assert_eq!(server.admission_stats().expired, 2);
    assert_eq!(server.pending_sessions_of(flooder), 1);
}

/// RFC 9528 §9.7, RFC 9175 §2.4 item 3: message_1 from many spoofed sources fills the table
/// only up to the validation threshold; beyond it each costs a 4.01 with a 12-byte Echo
/// value and no state. A legitimate Initiator answers the challenge and completes.
#[test]
fn a_spoofed_flood_is_challenged_and_a_validated_handshake_completes() {
    let world = World::new();
    let config = EdhocProtectionConfig {
        echo_lifetime: Duration::from_secs(30),
        ..EdhocProtectionConfig::default()
    };
    assert_eq!(config.max_pending, 16);
    assert_eq!(config.validation_threshold, 8);
    assert_eq!(config.max_pending_per_source, 2);
    let mut server = world.layer(config, vec![world.id_i.credential.clone()]);
    let payload = world.initiator(1).message_1().unwrap();
    let mut challenges = 0;
    for i in 0..2000u32 {
        let reply = server.edhoc_post(t(0), &i.to_be_bytes(), None, &payload);
        if reply.code == Code::UNAUTHORIZED {
            challenges += 1;
            assert!(reply.payload.is_empty());
            assert_eq!(reply.content_format, None);
            assert_eq!(reply.echo.unwrap().as_bytes().len(), 12);
        } else {
            assert_eq!(reply.code, Code::CHANGED);
        }
    }
    assert_eq!(challenges, 2000 - 8);
    assert_eq!(server.pending_sessions(), 8);
    assert_eq!(server.admission_stats().echo_challenges, 1992);

    // The legitimate Initiator: challenged, repeats message_1 with the Echo value, completes.
    let legit: &[u8] = b"192.0.2.1";
    let mut initiator = world.initiator(0x0a);
    let first = server.edhoc_post(t(1), legit, None, &initiator.message_1().unwrap());
    assert_eq!(first.code, Code::UNAUTHORIZED);
    let echo = first.echo.unwrap();
    let (again, echo_sent) = initiator
        .echo_retry(first.code, Some(echo.as_bytes()))
        .unwrap();
    assert_eq!(echo_sent, echo);
    // A second challenge to the same message_1 is not answered again.
    assert_eq!(
        initiator.echo_retry(first.code, Some(echo.as_bytes())),
        None
    );
    // The value proves nothing for another source, nor after its lifetime.
    let spoofed = server.edhoc_post(t(1), b"198.51.100.9", Some(echo.as_bytes()), &again);
    assert_eq!(spoofed.code, Code::UNAUTHORIZED);
    let late = server.edhoc_post(t(1 + 30), legit, Some(echo.as_bytes()), &again);
    assert_eq!(late.code, Code::UNAUTHORIZED);
    let mut forged = echo.as_bytes().to_vec();
    forged[11] ^= 1;
    let forged = server.edhoc_post(t(1), legit, Some(&forged), &again);
    assert_eq!(forged.code, Code::UNAUTHORIZED);
    assert_eq!(server.admission_stats().invalid_echo, 3);
    // The flood's sessions expired at t(60), the table went below the threshold; refill it.
    for i in 0..8u32 {
        server.edhoc_post(t(61), &i.to_be_bytes(), None, &payload);
    }
    assert_eq!(server.pending_sessions(), 8);
    let fresh = server.edhoc_post(t(62), legit, None, &again);
    assert_eq!(fresh.code, Code::UNAUTHORIZED);
    let echo = fresh.echo.unwrap();
    let m2 = server.edhoc_post(t(62), legit, Some(echo.as_bytes()), &again);
    assert_eq!(m2.code, Code::CHANGED);
    let mut trusted = Peers(vec![world.id_r.credential.clone()]);
    let initiated = initiator.message_2(&m2.payload, &mut trusted).unwrap();
    let done = server.edhoc_post(t(63), legit, None, &initiated.message_3_payload().unwrap());
    assert_eq!(done.code, Code::CHANGED);
    assert_eq!(server.oscore().len(), 1);
}

/// Validated sources share the sessions above the threshold, two each at most; when they
/// are all taken message_1 is refused (5.00) and nothing is evicted.
#[test]
fn validated_sources_fill_the_rest_of_the_table_and_then_are_refused() {
    let world = World::new();
    let mut server = world.layer(
        EdhocProtectionConfig::default(),
        vec![world.id_i.credential.clone()],
    );
    let payload = world.initiator(1).message_1().unwrap();
    let post = |server: &mut Layer, source: &[u8]| {
        let reply = server.edhoc_post(t(0), source, None, &payload);
        match reply.echo {
            Some(echo) => server.edhoc_post(t(0), source, Some(echo.as_bytes()), &payload),
            None => reply,
        }
    };
    // Each of 20 reachable sources tries three times.
    let mut changed = 0;
    for i in 0..20u8 {
        for _ in 0..3 {
            if post(&mut server, &[i]).code == Code::CHANGED {
                changed += 1;
            }
        }
    }
    assert_eq!(changed, 16);
    assert_eq!(server.pending_sessions(), 16);
    assert!((0..20u8).all(|i| server.pending_sessions_of(&[i]) <= 2));
    let stats = server.admission_stats();
    assert!(stats.refused_table_full > 0);
    assert!(stats.refused_per_source > 0);
    assert_eq!(stats.refused_table_full + stats.refused_per_source, 60 - 16);
}

/// The challenge goes over CoAP as 4.01 with an Echo option; a `mote_coap` client endpoint
/// repeats the POST with it by itself (RFC 9175 §2.3) and gets message_2.
#[test]
fn the_echo_challenge_travels_as_a_coap_option() {
    let world = World::new();
    let mut client = world.client();
    let mut server = world.server(EdhocProtectionConfig {
        validation_threshold: 0,
        ..EdhocProtectionConfig::default()
    });
    let mut initiator = world.initiator(0x0a);
    let m1 = initiator.message_1().unwrap();
    client
        .request(t(0), SERVER, post(m1.clone()), Reliability::Confirmable)
        .unwrap();
    let (wire, events) = pump(t(0), &mut client, &mut server);
    let decoded: Vec<(u16, Message<'_>)> = wire
        .iter()
        .map(|(from, d)| (*from, Message::decode(d).unwrap()))
        .collect();
    let (from, challenge) = &decoded[1];
    assert_eq!(*from, SERVER);
    assert_eq!(challenge.code(), Code::UNAUTHORIZED);
    let echo = challenge.option(OptionNumber::ECHO).unwrap().value;
    assert_eq!(echo.len(), 12);
    let (from, again) = &decoded[2];
    assert_eq!(*from, CLIENT);
    assert_eq!(again.option(OptionNumber::ECHO).unwrap().value, echo);
    assert_eq!(again.payload(), m1.as_slice());
    let m2 = response(&events).unwrap();
    assert_eq!(m2.code, Code::CHANGED);
    let mut trusted = Peers(vec![world.id_r.credential.clone()]);
    assert!(initiator.message_2(&m2.payload, &mut trusted).is_ok());
    assert_eq!(server.protection_ref().pending_sessions(), 1);
    assert_eq!(server.protection_ref().admission_stats().echo_challenges, 1);
}

/// Finding 12: an unknown client credential is answered ERR_CODE 3 (`03 f5`, RFC 9528 §6.4)
/// when message_3 is POSTed to the EDHOC resource (the sequential flow `mote` uses over TCP),
/// and ERR_CODE 1 when it comes in the combined request (over UDP): RFC 9668 §3.3.1 answers
/// every EDHOC failure of that request with error code 1. No context either way.
#[test]
fn unknown_client_credential_gets_err_code_3_sequential_and_1_combined() {
    let world = World::new();
    // Sequential: this server trusts nobody.
    let mut server = world.layer(EdhocProtectionConfig::default(), vec![]);
    let initiated = world.initiate(&mut server, 1, t(0));
    let reply = server.edhoc_post(t(1), SOURCE, None, &initiated.message_3_payload().unwrap());
    assert_eq!(reply.code, Code::BAD_REQUEST);
    assert_eq!(reply.content_format, Some(EDHOC_CONTENT_FORMAT));
    assert_eq!(reply.payload, [0x03, 0xf5]);
    assert_eq!(server.oscore().len(), 0);

    // Combined: message_1 / message_2 with the same kind of server, message_3 inside the
    // first OSCORE request.
    let layer = world.layer(EdhocProtectionConfig::default(), vec![]);
    let mut server = Endpoint::with_protection(EndpointConfig::default(), rng(2), layer).unwrap();
    let mut client = world.client();
    let initiated = world.initiate(server.protection_mut(), 2, t(0));
    let ctx = client.protection_mut().add_initiated(initiated).unwrap();
    client
        .request_protected(t(1), SERVER, get("x"), options(), ctx)
        .unwrap();
    let d = client.poll_transmit().unwrap().datagram;
    server.handle(t(1), CLIENT, &d);
    let reply = Message::decode(&server.poll_transmit().unwrap().datagram)
        .unwrap()
        .to_owned();
    assert_eq!(reply.code, Code::BAD_REQUEST);
    assert_eq!(
        reply
            .options
            .get(OptionNumber::CONTENT_FORMAT)
            .unwrap()
            .value,
        [64]
    );
    assert_eq!(reply.payload.first(), Some(&0x01), "{:02x?}", reply.payload);
    assert!(matches!(
        mote_edhoc::ErrorMessage::parse(&reply.payload),
        Ok(mote_edhoc::ErrorMessage::Unspecified(_))
    ));
    assert_eq!(server.protection_ref().oscore().len(), 0);
}
