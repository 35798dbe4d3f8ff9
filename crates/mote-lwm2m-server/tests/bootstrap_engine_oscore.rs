//! The bootstrap engine with OSCORE (RFC 8613) on both endpoints of a simulated network: the
//! session of a Bootstrap-Request that came in an OSCORE security context runs entirely in that
//! context (every Bootstrap-Discover, -Read, -Delete, -Write and -Finish protected under it,
//! each client's under its own), a Bootstrap-Pack is answered in the requester's context, and
//! with `require_protection` a plain Bootstrap-Request or Bootstrap-Pack-Request is refused
//! 4.01 (RFC 7252 §5.9.2.2). LwM2M TS 1.2 Transport §6.4.1 (Bootstrap Interface over CoAP).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Board, Xs};
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{
    EchoPolicy, EchoRequirement, Endpoint, EndpointConfig, Event, Reliability, RequestOptions,
};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Path, Record, Value};
use mote_lwm2m_client::{Client, ClientConfig, Device, Requester};
use mote_lwm2m_server::bootstrap::{SecurityInstance, SecurityMode, ServerInstance};
use mote_lwm2m_server::bootstrap_engine::{BootstrapEngine, BootstrapEngineConfig, BootstrapEvent};
use mote_lwm2m_server::{BootstrapConfig, BootstrapLimits, BootstrapServer, Identity};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;
use mote_oscore::{SecurityContext, SecurityContextParams};

const SERVER: u16 = 1;
/// The server's Sender ID in every context.
const SERVER_ID: u8 = 0x00;

type Oscore = OscoreProtection<Volatile, Xs>;
type Ep = Endpoint<u16, Xs, Oscore>;

/// The Master Secret of the context between the server and the client with Sender ID `kid`.
fn secret(kid: u8) -> Vec<u8> {
    (0..16u8).map(|i| i ^ kid).collect()
}

fn context(kid: u8, sender: u8, recipient: u8) -> SecurityContext<Volatile> {
    SecurityContext::new(&SecurityContextParams::new(
        &secret(kid),
        &[sender],
        &[recipient],
    ))
    .unwrap()
}

struct Device_ {
    ep: Ep,
    client: Client,
    /// Its context with the server (`None`: it speaks plain CoAP).
    context: Option<ContextId>,
    /// (method, path, the context it arrived in) of each request it handled.
    seen: Vec<(Code, String, Option<ContextId>)>,
    /// The last response and whether it verified under OSCORE.
    last_response: Option<(OwnedMessage, bool)>,
}

struct World {
    now: Duration,
    server: Ep,
    engine: BootstrapEngine<u16, ContextId>,
    devices: BTreeMap<u16, Device_>,
    /// Every datagram the server sent: (to, bytes).
    server_sent: Vec<(u16, Vec<u8>)>,
    /// How many datagrams the clients sent.
    client_datagrams: usize,
    events: Vec<BootstrapEvent<u16>>,
}

fn plan() -> BootstrapConfig {
    BootstrapConfig {
        security: vec![SecurityInstance {
            instance: 1,
            server_uri: "coap://dm.example".into(),
            bootstrap_server: false,
            security_mode: SecurityMode::NoSec,
            public_key_or_identity: vec![],
            server_public_key: vec![],
            secret_key: vec![],
            short_server_id: Some(101),
            client_hold_off_time: None,
            oscore_security_mode: None,
        }],
        servers: vec![ServerInstance {
            instance: 0,
            short_server_id: 101,
            lifetime: 300,
            default_pmin: None,
            default_pmax: None,
            notification_storing: false,
            binding: "U".into(),
        }],
        ..BootstrapConfig::default()
    }
}

fn device_client() -> Client {
    let mut c = Client::new(ClientConfig::default());
    c.register(3, Box::new(Device::new(Board))).unwrap();
    let p = |s: &str| -> Path { s.parse().unwrap() };
    c.bootstrap_write(
        &p("/0/0"),
        &[
            Record::new(p("/0/0/0"), Value::String("coap://bs.example".into())),
            Record::new(p("/0/0/1"), Value::Boolean(true)),
            Record::new(p("/0/0/2"), Value::Integer(3)),
        ],
    )
    .unwrap();
    c
}

impl World {
    /// A server with one OSCORE context per client Sender ID in `kids`.
    fn new(kids: &[u8], require_protection: bool) -> World {
        let mut oscore = Oscore::new(OscoreConfig { max_contexts: 8 }, Xs(0x51));
        for kid in kids {
            oscore.add_context(context(*kid, SERVER_ID, *kid)).unwrap();
        }
        let mut bs = BootstrapServer::new(BootstrapLimits::default());
        for ep in ["a", "b", "plain"] {
            bs.set_plan(ep, plan());
        }
        let config = BootstrapEngineConfig {
            require_protection,
            ..BootstrapEngineConfig::default()
        };
        World {
            now: Duration::from_secs(100),
            server: Endpoint::with_protection(EndpointConfig::default(), Xs(0x1234_5678), oscore)
                .unwrap(),
            engine: BootstrapEngine::with_identity(bs, config, |c: &ContextId| {
                Identity::Oscore(c.recipient_id().to_vec())
            }),
            devices: BTreeMap::new(),
            server_sent: Vec::new(),
            client_datagrams: 0,
            events: Vec::new(),
        }
    }

    /// [`World::new`] with a server endpoint that asks every request for a fresh Echo value
    /// (RFC 9175 §2.3).
    fn with_echo(kids: &[u8]) -> World {
        let mut w = World::new(kids, true);
        let mut oscore = Oscore::new(OscoreConfig { max_contexts: 8 }, Xs(0x51));
        for kid in kids {
            oscore.add_context(context(*kid, SERVER_ID, *kid)).unwrap();
        }
        let config = EndpointConfig {
            echo: Some(EchoPolicy {
                window: Duration::from_secs(30),
                require: EchoRequirement::AllRequests,
            }),
            ..EndpointConfig::default()
        };
        w.server = Endpoint::with_protection(config, Xs(0x1234_5678), oscore).unwrap();
        w
    }

    /// A client at `addr`; with `kid`, OSCORE with that Sender ID.
    fn add_device(&mut self, addr: u16, kid: Option<u8>) {
        let mut oscore = Oscore::new(OscoreConfig { max_contexts: 1 }, Xs(0x77 + u64::from(addr)));
        let context = kid.map(|k| oscore.add_context(context(k, k, SERVER_ID)).unwrap());
        let ep = Endpoint::with_protection(
            EndpointConfig::default(),
            Xs(0x9e37_79b9 ^ u64::from(addr)),
            oscore,
        )
        .unwrap();
        self.devices.insert(
            addr,
            Device_ {
                ep,
                client: device_client(),
                context,
                seen: Vec::new(),
                last_response: None,
            },
        );
    }

    /// The device sends `code /path?query` (in its context when it has one).
    fn send_request(&mut self, addr: u16, code: Code, path: &str, query: &str) {
        let req = OwnedMessage::new(MessageType::Con, code, 0)
            .with_option(OptionNumber::URI_PATH, path)
            .with_option(OptionNumber::URI_QUERY, query);
        let now = self.now;
        let d = self.devices.get_mut(&addr).unwrap();
        let options = RequestOptions::new(Reliability::Confirmable, d.ep.config().client_blockwise);
        match d.context {
            Some(id) => d.ep.request_protected(now, SERVER, req, options, id),
            None => d.ep.request_with(now, SERVER, req, options),
        }
        .unwrap();
    }

    /// Delivers every datagram at once until nothing moves.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let now = self.now;
            let mut moved = false;
            while let Some(t) = self.server.poll_transmit() {
                moved = true;
                self.server_sent.push((t.peer, t.datagram.clone()));
                if let Some(d) = self.devices.get_mut(&t.peer) {
                    d.ep.handle(now, SERVER, &t.datagram);
                }
            }
            while let Some(e) = self.server.poll_event() {
                moved = true;
                if let Some(Event::Request { id, .. }) =
                    self.engine.handle_event(&mut self.server, e, now)
                {
                    let r = OwnedMessage::new(MessageType::Ack, Code::NOT_FOUND, 0);
                    self.server.respond(now, id, r).unwrap();
                }
            }
            while let Some(e) = self.engine.poll_event() {
                self.events.push(e);
            }
            for (addr, d) in &mut self.devices {
                while let Some(e) = d.ep.poll_event() {
                    moved = true;
                    match e {
                        Event::Request { id, message, .. } => {
                            let m = &message.message;
                            let path: Vec<String> = m
                                .options
                                .get_all(OptionNumber::URI_PATH)
                                .map(|o| String::from_utf8(o.value.to_vec()).unwrap())
                                .collect();
                            let path = format!("/{}", path.join("/"));
                            d.seen.push((m.code, path.clone(), message.identity));
                            let mut req = mote_lwm2m_client::Request::new(m.code, &path);
                            req.content_format = m
                                .option(OptionNumber::CONTENT_FORMAT)
                                .map(|o| ContentFormat(o.as_uint().unwrap() as u16));
                            req.accept = m
                                .option(OptionNumber::ACCEPT)
                                .map(|o| ContentFormat(o.as_uint().unwrap() as u16));
                            req.payload.clone_from(&m.payload);
                            let resp = d.client.handle(Requester::BootstrapServer, &req);
                            let msg =
                                resp.write_to(OwnedMessage::new(MessageType::Ack, resp.code, 0));
                            d.ep.respond(now, id, msg).unwrap();
                        }
                        Event::Response { message, .. } => {
                            d.last_response = Some((message, true));
                        }
                        // An unprotected answer to a protected request (RFC 8613 §8.4).
                        Event::ProtectionFailed { response, .. } => {
                            d.last_response = Some((response, false));
                        }
                        _ => {}
                    }
                }
                while let Some(t) = d.ep.poll_transmit() {
                    moved = true;
                    self.client_datagrams += 1;
                    self.server.handle(now, *addr, &t.datagram);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the simulation does not settle");
    }

    fn device(&self, addr: u16) -> &Device_ {
        &self.devices[&addr]
    }
}

fn finished(w: &World, ep: &str) -> bool {
    w.events
        .iter()
        .any(|e| matches!(e, BootstrapEvent::Finished { endpoint, .. } if endpoint == ep))
}

/// Two clients bootstrap at once, each in its own OSCORE context: every request of a session
/// arrives at its client verified under that client's context, and every datagram the server
/// sends carries the OSCORE option.
#[test]
fn every_request_of_a_session_is_protected_under_its_context() {
    let mut w = World::new(&[0x0a, 0x0b], true);
    w.add_device(10, Some(0x0a));
    w.add_device(11, Some(0x0b));
    w.send_request(10, Code::POST, "bs", "ep=a");
    w.send_request(11, Code::POST, "bs", "ep=b");
    w.settle();
    assert!(finished(&w, "a") && finished(&w, "b"), "{:?}", w.events);
    for addr in [10, 11] {
        let d = w.device(addr);
        let (answer, verified) = d.last_response.clone().unwrap();
        assert_eq!((answer.code, verified), (Code::CHANGED, true));
        let steps: Vec<&str> = d.seen.iter().map(|(_, p, _)| p.as_str()).collect();
        assert_eq!(steps, ["/", "/1", "/2", "/", "/0/1", "/1/0", "/bs"]);
        for (code, path, id) in &d.seen {
            assert_eq!(*id, d.context, "{code} {path} at {addr}");
        }
        assert!(d.context.is_some());
    }
    // Each client holds only its own context (its own Master Secret): a request protected
    // under the other client's context, or plain, would not have arrived verified.
    // Every datagram the server sent is an OSCORE message (RFC 8613 §4.2: the outer message
    // carries the OSCORE option; code and Uri-Path are inside).
    assert!(w.server_sent.len() >= 14, "{}", w.server_sent.len());
    for (to, bytes) in &w.server_sent {
        let m = Message::decode(bytes).unwrap();
        assert!(m.option(OptionNumber::OSCORE).is_some(), "to {to}: {m:?}");
        assert!(m.option(OptionNumber::URI_PATH).is_none(), "to {to}: {m:?}");
    }
    // The client holds the plan.
    let c = &w.device(10).client;
    assert_eq!(
        c.value(&"/1/0/0".parse().unwrap()),
        Some(Value::Integer(101))
    );
}

/// With `require_protection`, a plain Bootstrap-Request and a plain Bootstrap-Pack-Request are
/// answered 4.01 and nothing is sent to the client; without it, the same plain request starts
/// a (plain) session.
#[test]
fn plain_requests_are_refused_when_protection_is_required() {
    let mut w = World::new(&[0x0a], true);
    w.add_device(12, None);
    w.send_request(12, Code::POST, "bs", "ep=plain");
    w.settle();
    let (answer, _) = w.device(12).last_response.clone().unwrap();
    assert_eq!(answer.code, Code::UNAUTHORIZED);
    assert!(w.device(12).seen.is_empty());
    assert_eq!(w.engine.server().sessions(), 0);
    assert!(matches!(
        &w.events[..],
        [BootstrapEvent::Refused { endpoint: Some(ep), code: Code::UNAUTHORIZED, peer: 12, .. }]
            if ep == "plain"
    ));
    w.send_request(12, Code::GET, "bspack", "ep=plain");
    w.settle();
    let (answer, _) = w.device(12).last_response.clone().unwrap();
    assert_eq!(answer.code, Code::UNAUTHORIZED);
    assert!(!answer.payload.windows(9).any(|x| x == b"dm.example"));

    // The same request without the requirement.
    let mut w = World::new(&[0x0a], false);
    w.add_device(12, None);
    w.send_request(12, Code::POST, "bs", "ep=plain");
    w.settle();
    assert!(finished(&w, "plain"), "{:?}", w.events);
    assert!(w.device(12).seen.iter().all(|(_, _, id)| id.is_none()));
}

/// A Bootstrap-Pack-Request in an OSCORE context is answered 2.05 in that context: the
/// client verifies the response, and the pack is not readable on the wire.
#[test]
fn bootstrap_pack_is_answered_in_the_requesters_context() {
    let mut w = World::new(&[0x0a], true);
    w.add_device(10, Some(0x0a));
    w.send_request(10, Code::GET, "bspack", "ep=a");
    w.settle();
    let (answer, verified) = w.device(10).last_response.clone().unwrap();
    assert_eq!((answer.code, verified), (Code::CONTENT, true));
    let records = mote_lwm2m::decode(
        mote_lwm2m::Format::SenmlCbor,
        &Path::ROOT,
        &answer.payload,
        &mote_lwm2m::object::Builtin,
    )
    .unwrap();
    assert!(records.contains(&Record::new(
        "/0/1/0".parse().unwrap(),
        Value::String("coap://dm.example".into())
    )));
    assert!(!w.server_sent.is_empty());
    for (_, bytes) in &w.server_sent {
        assert!(!bytes.windows(10).any(|x| x == b"dm.example"));
    }
    assert!(matches!(
        &w.events[..],
        [BootstrapEvent::PackServed { endpoint, peer: 10, .. }] if endpoint == "a"
    ));
}

/// Transport §6.4.1: "If OSCORE is used to secure Client Bootstrap then the Bootstrap-Server
/// receiving the Bootstrap-Request or Bootstrap-Pack-Request operation MUST use the Echo
/// Option". With an Echo policy on the server's endpoint (RFC 9175 §2.3), each of the two is
/// first answered 4.01 with Echo inside OSCORE, the client's endpoint repeats it once with the
/// value, and only the repeated one reaches the engine: one session, one pack.
#[test]
fn bootstrap_and_pack_requests_are_echo_verified_first() {
    let mut plain = World::new(&[0x0a], true);
    plain.add_device(10, Some(0x0a));
    plain.send_request(10, Code::POST, "bs", "ep=a");
    plain.settle();
    let mut echo = World::with_echo(&[0x0a]);
    echo.add_device(10, Some(0x0a));
    echo.send_request(10, Code::POST, "bs", "ep=a");
    echo.settle();
    assert!(
        finished(&plain, "a") && finished(&echo, "a"),
        "{:?}",
        echo.events
    );
    // One more datagram from the client: the repeated Bootstrap-Request.
    assert_eq!(echo.client_datagrams, plain.client_datagrams + 1);
    let started = |w: &World| {
        w.events
            .iter()
            .filter(|e| matches!(e, BootstrapEvent::Started { .. }))
            .count()
    };
    assert_eq!((started(&plain), started(&echo)), (1, 1));

    let mut echo = World::with_echo(&[0x0a]);
    echo.add_device(10, Some(0x0a));
    echo.send_request(10, Code::GET, "bspack", "ep=a");
    echo.settle();
    let (answer, verified) = echo.device(10).last_response.clone().unwrap();
    assert_eq!((answer.code, verified), (Code::CONTENT, true));
    // The request, then the repeat with Echo (no empty ACKs: every answer is piggybacked).
    assert_eq!(echo.client_datagrams, 2);
    assert!(matches!(
        &echo.events[..],
        [BootstrapEvent::PackServed { .. }]
    ));
}
