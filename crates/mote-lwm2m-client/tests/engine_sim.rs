//! The engine over CoAP: an LwM2M client [`Engine`] on a mote-coap endpoint and small
//! scripted LwM2M servers on their own endpoints, on a simulated network with a simulated
//! clock (every datagram takes 10 ms; nothing is lost unless a server is "down").
//!
//! What it proves: Register / Update before the lifetime runs out / De-register on the wire
//! (TS 1.2 Transport §6.3), two servers registered in Registration Priority Order, DM Read,
//! Write, Execute and Observe over CoAP with the requester identified from the peer (NoSec
//! accounts) and every authorization outcome, notification times driven by pmin / pmax / gt
//! on the simulated clock, Send, Mute Send, a client-initiated bootstrap over CoAP and the
//! configuration kept through [`Storage`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use mote_access::ShortServerId;
use mote_coap::code::{Code, MessageType};
#[cfg(any(
    feature = "bootstrap-interface",
    all(feature = "composite", feature = "senml-json")
))]
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability, RequestId};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_lwm2m::{Format, ObjectLink, Record, Value};
#[cfg(feature = "bootstrap-interface")]
use mote_lwm2m_client::Storage;
use mote_lwm2m_client::registration::{Registrar, RegistrationConfig};
use mote_lwm2m_client::reporting::{Reporter, ReportingConfig};
use mote_lwm2m_client::{
    Client, ClientConfig, ClientEvent, Device, Engine, EngineConfig, MemoryStorage, Requester,
    object::DataObject,
};

use common::{Board, acl, int, p, rec, temperature};

type Addr = u16;
const CLIENT: Addr = 1;
const A: Addr = 2;
const B: Addr = 3;
const BSS: Addr = 4;
const STRANGER: Addr = 9;
const FW: Addr = 5;

#[derive(Debug, Clone)]
struct XorShift(u64);

impl RandomSource for XorShift {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 32) as u32
    }
}

type Ep = Endpoint<Addr, XorShift>;

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn s(v: u64) -> Duration {
    Duration::from_secs(v)
}

fn resolve(uri: &str) -> Option<Addr> {
    match uri {
        "coap://a.test" => Some(A),
        "coap://b.test" => Some(B),
        "coap://bs.test" => Some(BSS),
        "coap://fw.test" => Some(FW),
        _ => None,
    }
}

/// One request a server received.
#[derive(Clone, Debug)]
struct Seen {
    at: Duration,
    server: Addr,
    code: Code,
    path: String,
    query: Vec<String>,
    payload: Vec<u8>,
}

/// How a scripted server answers the client's requests.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Script {
    /// 2.01 with Location-Path `rd/<n>` for Register, 2.04 for Update and Send, 2.02 for
    /// De-register.
    Accept,
    /// Every request answered with this code.
    Refuse(Code),
    /// Nothing arrives (the server is down).
    Down,
}

/// The simulated world.
struct World {
    now: Duration,
    ep: Ep,
    engine: Engine<Addr>,
    servers: BTreeMap<Addr, (Ep, Script)>,
    in_flight: Vec<(Duration, u64, Addr, Addr, Vec<u8>)>,
    seq: u64,
    seen: Vec<Seen>,
    /// Responses and notifications the servers got for their own requests.
    answers: Vec<(Duration, Addr, RequestId, OwnedMessage, bool)>,
    events: Vec<(Duration, ClientEvent)>,
    registrations: u32,
    /// Every datagram handed to the network: (time, from, to).
    sent: Vec<(Duration, Addr, Addr)>,
    /// Shared with a firmware hook: "request" for each datagram the client sends to the
    /// package server, in order with what the hook records.
    fw_trace: Rc<RefCell<Vec<String>>>,
    /// One-way delay of every datagram (default 10 ms).
    link_delay: Duration,
    /// Every this many datagrams, either way, one is lost (0: none).
    loss_every: u64,
    datagrams: u64,
    /// The client's notifications (responses with Observe) are lost until then.
    notifications_lost_until: Duration,
}

fn endpoint(seed: u64) -> Ep {
    Endpoint::new(EndpointConfig::default(), XorShift(seed)).unwrap()
}

impl World {
    fn new(client: Client, registration: RegistrationConfig) -> World {
        let engine = Engine::new(
            client,
            Registrar::new(registration),
            Reporter::new(ReportingConfig {
                send_format: Format::SenmlJson,
                ..ReportingConfig::default()
            }),
            resolve,
            EngineConfig::default(),
        );
        let mut servers = BTreeMap::new();
        for (a, seed) in [(A, 11), (B, 12), (BSS, 13), (STRANGER, 14), (FW, 15)] {
            servers.insert(a, (endpoint(seed), Script::Accept));
        }
        World {
            now: Duration::ZERO,
            ep: endpoint(7),
            engine,
            servers,
            in_flight: Vec::new(),
            seq: 0,
            seen: Vec::new(),
            answers: Vec::new(),
            events: Vec::new(),
            registrations: 0,
            sent: Vec::new(),
            fw_trace: Rc::default(),
            link_delay: ms(10),
            loss_every: 0,
            datagrams: 0,
            notifications_lost_until: Duration::ZERO,
        }
    }

    fn script(&mut self, server: Addr, script: Script) {
        self.servers.get_mut(&server).unwrap().1 = script;
    }

    fn start(&mut self) {
        self.engine.start(&mut self.ep, self.now);
        self.pump();
    }

    /// Moves datagrams into the network and events into their handlers until quiet.
    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(e) = self.ep.poll_event() {
                progressed = true;
                self.engine.handle_event(&mut self.ep, e, self.now);
            }
            while let Some(e) = self.engine.poll_event() {
                progressed = true;
                self.events.push((self.now, e));
            }
            while let Some(t) = self.ep.poll_transmit() {
                progressed = true;
                self.seq += 1;
                self.sent.push((self.now, CLIENT, t.peer));
                if t.peer == FW {
                    self.fw_trace.borrow_mut().push("request".to_owned());
                }
                if self.lost() || self.notification_lost(&t.datagram) {
                    continue;
                }
                self.in_flight.push((
                    self.now + self.link_delay,
                    self.seq,
                    CLIENT,
                    t.peer,
                    t.datagram,
                ));
            }
            let addrs: Vec<Addr> = self.servers.keys().copied().collect();
            for a in addrs {
                while let Some(e) = self.servers.get_mut(&a).unwrap().0.poll_event() {
                    progressed = true;
                    self.server_event(a, e);
                }
                while let Some(t) = self.servers.get_mut(&a).unwrap().0.poll_transmit() {
                    progressed = true;
                    self.seq += 1;
                    if self.lost() {
                        continue;
                    }
                    self.in_flight.push((
                        self.now + self.link_delay,
                        self.seq,
                        a,
                        t.peer,
                        t.datagram,
                    ));
                }
            }
            if !progressed {
                break;
            }
        }
    }

    /// Whether the next datagram is lost ([`World::loss_every`]).
    fn lost(&mut self) -> bool {
        self.datagrams += 1;
        self.loss_every > 0 && self.datagrams % self.loss_every == 0
    }

    /// Whether `datagram` from the client is a notification lost by
    /// [`World::notifications_lost_until`].
    fn notification_lost(&self, datagram: &[u8]) -> bool {
        self.now < self.notifications_lost_until
            && Message::decode(datagram)
                .is_ok_and(|m| m.code().is_response() && m.option(OptionNumber::OBSERVE).is_some())
    }

    fn server_event(&mut self, a: Addr, e: Event<Addr>) {
        let now = self.now;
        match e {
            Event::Request { id, message, .. } => {
                let req = mote_lwm2m_client::Request::from_owned(&message.message).unwrap();
                self.seen.push(Seen {
                    at: now,
                    server: a,
                    code: req.code,
                    path: format!("/{}", req.uri_path.join("/")),
                    query: req.uri_query.clone(),
                    payload: req.payload.clone(),
                });
                let (ep, script) = self.servers.get_mut(&a).unwrap();
                if a == FW {
                    let (code, body) = firmware_file(&format!("/{}", req.uri_path.join("/")));
                    let reply = OwnedMessage::new(MessageType::Ack, code, 0).with_payload(body);
                    ep.respond(now, id, reply).unwrap();
                    return;
                }
                let code = match (*script, req.code, req.uri_path.as_slice()) {
                    (Script::Refuse(c), _, _) => c,
                    (_, Code::POST, [rd]) if rd == "rd" => Code::CREATED,
                    (_, Code::DELETE, _) => Code::DELETED,
                    _ => Code::CHANGED,
                };
                let mut reply = OwnedMessage::new(MessageType::Ack, code, 0);
                if code == Code::CREATED {
                    self.registrations += 1;
                    reply = reply
                        .with_option(OptionNumber::LOCATION_PATH, "rd")
                        .with_option(
                            OptionNumber::LOCATION_PATH,
                            format!("{}", self.registrations),
                        );
                }
                ep.respond(now, id, reply).unwrap();
            }
            Event::Response { id, message, .. } => {
                self.answers.push((now, a, id, message, false));
            }
            Event::Notification { id, message, .. } => {
                self.answers.push((now, a, id, message, true));
            }
            _ => {}
        }
    }

    /// Runs the simulation until `until`.
    fn run_until(&mut self, until: Duration) {
        loop {
            self.pump();
            let mut next = until;
            for t in [self.engine.poll_timeout(), self.ep.poll_timeout()]
                .into_iter()
                .flatten()
            {
                next = next.min(t);
            }
            for (ep, _) in self.servers.values() {
                if let Some(t) = ep.poll_timeout() {
                    next = next.min(t);
                }
            }
            if let Some(t) = self.in_flight.iter().map(|f| f.0).min() {
                next = next.min(t);
            }
            self.now = self.now.max(next);
            let now = self.now;
            // Deliver what is due, in order.
            self.in_flight.sort_by_key(|f| (f.0, f.1));
            let due: Vec<_> = self
                .in_flight
                .iter()
                .filter(|f| f.0 <= now)
                .cloned()
                .collect();
            self.in_flight.retain(|f| f.0 > now);
            for (_, _, from, to, bytes) in due {
                if to == CLIENT {
                    self.ep.handle(now, from, &bytes);
                } else if let Some((ep, script)) = self.servers.get_mut(&to) {
                    if *script != Script::Down {
                        ep.handle(now, from, &bytes);
                    }
                }
                self.pump();
            }
            if self.ep.poll_timeout().is_some_and(|t| t <= now) {
                self.ep.handle_timeout(now);
                self.pump();
            }
            if self.engine.poll_timeout().is_some_and(|t| t <= now) {
                self.engine.handle_timeout(&mut self.ep, now);
                // Every run of every test checks it: the engine never reports a deadline
                // it has just run at and left in place (`mote lwm2m-client` sleeps until
                // `poll_timeout`: such a deadline made its event loop spin).
                let left = self.engine.poll_timeout();
                assert!(
                    left.is_none_or(|t| t > now),
                    "handle_timeout at {now:?} left {left:?} due"
                );
            }
            for (ep, _) in self.servers.values_mut() {
                if ep.poll_timeout().is_some_and(|t| t <= now) {
                    ep.handle_timeout(now);
                }
            }
            self.pump();
            if now >= until {
                break;
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// A server sends `request` to the client; returns the request id.
    fn server_request(&mut self, server: Addr, request: OwnedMessage) -> RequestId {
        let now = self.now;
        let id = self
            .servers
            .get_mut(&server)
            .unwrap()
            .0
            .request(now, CLIENT, request, Reliability::Confirmable)
            .unwrap();
        self.pump();
        id
    }

    /// A server's request and the final response to it, after a simulated second.
    fn ask(&mut self, server: Addr, request: OwnedMessage) -> OwnedMessage {
        let id = self.server_request(server, request);
        self.run_for(s(1));
        self.answers
            .iter()
            .find(|(_, a, i, _, notification)| *a == server && *i == id && !notification)
            .map(|(_, _, _, m, _)| m.clone())
            .expect("an answer")
    }

    fn requests_to(&self, server: Addr, code: Code) -> Vec<&Seen> {
        self.seen
            .iter()
            .filter(|r| r.server == server && r.code == code)
            .collect()
    }

    fn set(&mut self, path: &str, value: Value) {
        let now = self.now;
        self.engine
            .set_value(&mut self.ep, &p(path), value, now)
            .unwrap();
        self.pump();
    }
}

fn get(path: &str) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, Code::GET, 0);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        m = m.with_option(OptionNumber::URI_PATH, seg);
    }
    m
}

/// `server` observes /3303/0/5700 in plain text (GET with Observe 0, Accept 0); returns the
/// request id.
fn observe_temperature(w: &mut World, server: Addr) -> RequestId {
    let observe = get("/3303/0/5700")
        .with_uint_option(OptionNumber::OBSERVE, 0)
        .with_uint_option(OptionNumber::ACCEPT, 0);
    w.server_request(server, observe)
}

fn with_code(mut m: OwnedMessage, code: Code) -> OwnedMessage {
    m.code = code;
    m
}

/// NoSec account `instance` for server `uri` with Short Server ID `ssid`.
fn nosec_account(c: &mut Client, instance: u16, uri: &str, ssid: i64, server: &[Record]) {
    let base = format!("/0/{instance}");
    c.bootstrap_write(
        &p(&base),
        &[
            rec(&format!("{base}/0"), Value::String(uri.into())),
            rec(&format!("{base}/1"), Value::Boolean(false)),
            rec(&format!("{base}/2"), int(3)),
            rec(&format!("{base}/10"), int(ssid)),
        ],
    )
    .unwrap();
    let base = format!("/1/{instance}");
    c.bootstrap_write(&p(&base), server).unwrap();
}

/// The client's objects: Device, Temperature /3303/0 (5700 = 21.5); no account yet.
fn objects() -> Client {
    let mut c = Client::new(ClientConfig::default());
    c.define(temperature());
    c.register(3, Box::new(Device::new(Board::default())))
        .unwrap();
    c.register(3303, Box::new(DataObject::new())).unwrap();
    c.bootstrap_write(
        &p("/3303/0"),
        &[
            rec("/3303/0/5700", Value::Float(21.5)),
            rec("/3303/0/5750", Value::String("room".into())),
        ],
    )
    .unwrap();
    c
}

/// Server A (101, lifetime 120 s, priority 0) and server B (102, priority 1), NoSec; the
/// ACLs: 101 owns /3/0 and /3303/0; 102 may only read them.
fn two_servers(retry_once: bool) -> Client {
    let mut c = objects();
    let mut a = vec![
        rec("/1/0/0", int(101)),
        rec("/1/0/1", int(120)),
        rec("/1/0/7", Value::String("U".into())),
        rec("/1/0/13", int(0)),
        rec("/1/0/16", Value::Boolean(false)),
    ];
    if retry_once {
        a.push(rec("/1/0/17", int(1)));
        a.push(rec("/1/0/20", int(1)));
    }
    nosec_account(&mut c, 0, "coap://a.test", 101, &a);
    nosec_account(
        &mut c,
        1,
        "coap://b.test",
        102,
        &[
            rec("/1/1/0", int(102)),
            rec("/1/1/1", int(120)),
            rec("/1/1/7", Value::String("U".into())),
            rec("/1/1/13", int(1)),
        ],
    );
    // R = 1, W = 2, E = 4 (TS 1.2 Core Appendix E.3).
    acl(&mut c, 0, 3, 0, 101, &[(102, 1)]);
    acl(&mut c, 1, 3303, 0, 101, &[(102, 1)]);
    c
}

fn registration() -> RegistrationConfig {
    RegistrationConfig {
        endpoint: "sim-dev".into(),
        lwm2m_version: "1.1".into(),
        ..RegistrationConfig::default()
    }
}

fn registered_events(w: &World) -> Vec<(Duration, ShortServerId, String)> {
    w.events
        .iter()
        .filter_map(|(t, e)| match e {
            ClientEvent::Registered { ssid, location, .. } => Some((*t, *ssid, location.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn register_update_before_the_lifetime_and_deregister() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    let reg = w.requests_to(A, Code::POST);
    assert_eq!(reg.len(), 1, "one Register to A");
    assert_eq!(reg[0].path, "/rd");
    for q in ["ep=sim-dev", "lt=120", "lwm2m=1.1", "b=U"] {
        assert!(
            reg[0].query.iter().any(|x| x == q),
            "{q} in {:?}",
            reg[0].query
        );
    }
    let links = String::from_utf8(reg[0].payload.clone()).unwrap();
    assert!(links.contains("</3303/0>"), "{links}");
    assert!(links.contains("</3/0>"), "{links}");
    let registered = registered_events(&w);
    assert_eq!(registered.len(), 2, "{registered:?}");
    assert_eq!(registered[0].1, ShortServerId(101));
    // The lifetime is 120 s: the Update goes out min(93 s, 120 / 2) = 60 s before it ends,
    // i.e. 60 s after the registration; not before.
    w.run_until(s(59));
    assert_eq!(
        w.requests_to(A, Code::POST).len(),
        1,
        "no Update before 60 s"
    );
    w.run_until(s(61));
    let posts = w.requests_to(A, Code::POST);
    assert_eq!(posts.len(), 2, "the Update");
    assert_eq!(
        posts[1].path, registered[0].2,
        "to the registration's location"
    );
    assert!(
        posts[1].at >= s(60) && posts[1].at < s(61),
        "{:?}",
        posts[1].at
    );
    assert!(w.events.iter().any(
        |(_, e)| matches!(e, ClientEvent::Updated { ssid, .. } if *ssid == ShortServerId(101))
    ));
    // The application's own Update.
    let now = w.now;
    w.engine.update(&mut w.ep, now);
    w.run_for(s(1));
    assert_eq!(w.requests_to(A, Code::POST).len(), 3);
    // De-register from both.
    let now = w.now;
    assert_eq!(w.engine.deregister_all(&mut w.ep, now), 2);
    w.run_for(s(1));
    let deletes = w.requests_to(A, Code::DELETE);
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].path, registered[0].2);
    assert_eq!(w.requests_to(B, Code::DELETE).len(), 1);
    let gone = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, ClientEvent::Deregistered { .. }))
        .count();
    assert_eq!(gone, 2);
    assert!(!w.engine.has_pending());
}

#[test]
fn two_servers_register_in_priority_order() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    let a = w.requests_to(A, Code::POST)[0].at;
    let b = w.requests_to(B, Code::POST)[0].at;
    // A (order 0) is answered 10 ms after its Register arrives; B (order 1) starts only then
    // (TS 1.2 Core §6.2.1.1, MaU-4 lag mode).
    assert!(b > a, "B registered at {b:?}, A at {a:?}");
    assert!(b >= a + ms(10), "B waited for A's answer");
}

#[test]
fn a_refusing_server_hands_over_to_the_next_in_order() {
    let mut w = World::new(two_servers(true), registration());
    w.script(A, Script::Refuse(Code::FORBIDDEN));
    w.start();
    w.run_until(s(5));
    assert!(w.events.iter().any(
        |(_, e)| matches!(e, ClientEvent::RegistrationFailed { ssid } if *ssid == ShortServerId(101))
    ));
    let registered = registered_events(&w);
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_eq!(registered[0].1, ShortServerId(102));
}

#[test]
fn a_server_that_is_down_times_out_and_the_next_one_registers() {
    let mut w = World::new(two_servers(true), registration());
    w.script(A, Script::Down);
    w.start();
    // A CON Register is retransmitted up to MAX_RETRANSMIT times: EXCHANGE_LIFETIME bounds
    // the wait (RFC 7252 §4.8.2). Nothing for B before A gave up.
    w.run_until(s(30));
    assert!(w.requests_to(B, Code::POST).is_empty());
    w.run_until(s(300));
    assert_eq!(registered_events(&w).len(), 1);
    assert_eq!(registered_events(&w)[0].1, ShortServerId(102));
}

#[test]
fn device_management_over_coap_with_authorization() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    // A (owner) reads the temperature.
    let r = w.ask(
        A,
        get("/3303/0/5700").with_uint_option(OptionNumber::ACCEPT, 0),
    );
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(r.payload, b"21.5");
    // B may read but not write.
    let r = w.ask(
        B,
        get("/3303/0/5700").with_uint_option(OptionNumber::ACCEPT, 0),
    );
    assert_eq!(r.code, Code::CONTENT);
    let write = |v: &str| {
        with_code(get("/3303/0/5750"), Code::PUT)
            .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
            .with_payload(v.as_bytes().to_vec())
    };
    let r = w.ask(B, write("hall"));
    assert_eq!(r.code, Code::UNAUTHORIZED, "B has no W right");
    assert_eq!(
        w.engine.client().value(&p("/3303/0/5750")),
        Some(Value::String("room".into()))
    );
    // A writes.
    let r = w.ask(A, write("kitchen"));
    assert_eq!(r.code, Code::CHANGED);
    assert_eq!(
        w.engine.client().value(&p("/3303/0/5750")),
        Some(Value::String("kitchen".into()))
    );
    assert!(w.events.iter().any(|(_, e)| matches!(e,
        ClientEvent::Write { requester: Requester::Server(s), path }
            if *s == ShortServerId(101) && *path == p("/3303/0/5750"))));
    // Execute Reboot (/3/0/4): B has no E right, A has.
    let r = w.ask(B, with_code(get("/3/0/4"), Code::POST));
    assert_eq!(r.code, Code::UNAUTHORIZED);
    let r = w.ask(A, with_code(get("/3/0/4"), Code::POST));
    assert_eq!(r.code, Code::CHANGED);
    assert!(w.events.iter().any(|(_, e)| matches!(e,
        ClientEvent::Execute { path, .. } if *path == p("/3/0/4"))));
    // A peer with no account: 4.01 for everything.
    let r = w.ask(STRANGER, get("/3303/0/5700"));
    assert_eq!(r.code, Code::UNAUTHORIZED);
    // The Security Object is never reachable through the DM interface.
    let r = w.ask(A, get("/0/0"));
    assert_eq!(r.code, Code::UNAUTHORIZED);
}

/// A server observes /3303/0/5700 with pmin = 10, pmax = 30, gt = 25; the value series
/// below gives the notification times (seconds since the observation), LightweightM2M-RMo.
#[test]
fn notification_times_follow_pmin_pmax_and_gt() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    let attrs = with_code(get("/3303/0/5700"), Code::PUT)
        .with_option(OptionNumber::URI_QUERY, "pmin=10")
        .with_option(OptionNumber::URI_QUERY, "pmax=30")
        .with_option(OptionNumber::URI_QUERY, "gt=25");
    assert_eq!(w.ask(A, attrs).code, Code::CHANGED);
    assert_eq!(
        w.engine.client().value(&p("/3303/0/5700")),
        Some(Value::Float(21.5)),
        "Write-Attributes never changes a value"
    );
    w.run_until(s(10));
    let id = observe_temperature(&mut w, A);
    w.run_until(s(11));
    let first = w
        .answers
        .iter()
        .find(|(_, _, i, _, n)| *i == id && !n)
        .expect("the Observe response");
    assert_eq!(first.3.code, Code::CONTENT);
    assert_eq!(first.3.payload, b"21.5");
    // The observation started at t = 10.01 s. Value series (t, value):
    //  t=15 22.0  below gt: no notification (only pmax)
    //  →           pmax: t = 40
    //  t=45 26.0  crosses gt, pmin (10 s since 40) not over: at t = 50
    //  t=60 27.0  stays above gt: no crossing, nothing
    //  →           pmax: t = 80
    //  t=85 20.0  crosses back below gt, pmin since 80 not over: at t = 90
    for (t, v) in [(15, 22.0), (45, 26.0), (60, 27.0), (85, 20.0)] {
        w.run_until(s(t));
        w.set("/3303/0/5700", Value::Float(v));
    }
    w.run_until(s(100));
    let times: Vec<u64> = w
        .answers
        .iter()
        .filter(|(_, a, i, _, n)| *a == A && *i == id && *n)
        .map(|(t, ..)| t.as_secs())
        .collect();
    assert_eq!(times, [40, 50, 80, 90]);
    let payloads: Vec<Vec<u8>> = w
        .answers
        .iter()
        .filter(|(_, a, i, _, n)| *a == A && *i == id && *n)
        .map(|(_, _, _, m, _)| m.payload.clone())
        .collect();
    assert_eq!(payloads[1], b"26");
    assert_eq!(payloads[3], b"20");
    let notified = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, ClientEvent::Notify { .. }))
        .count();
    assert_eq!(notified, 4);
}

#[test]
fn observe_without_the_read_right_is_refused() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    let observe = get("/3/0/4").with_uint_option(OptionNumber::OBSERVE, 0);
    let r = w.ask(B, observe);
    assert_ne!(r.code.class(), 2, "no Observe of an executable resource");
    let r = w.ask(
        STRANGER,
        get("/3303/0/5700").with_uint_option(OptionNumber::OBSERVE, 0),
    );
    assert_eq!(r.code, Code::UNAUTHORIZED);
    assert_eq!(w.engine.reporter().observation_count(), 0);
}

#[cfg(feature = "send")]
#[test]
fn send_reports_to_the_registered_servers_and_mute_send_stops_it() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    let now = w.now;
    let handles = w
        .engine
        .send(&mut w.ep, &[p("/3303/0/5700"), p("/3/0/0")], now);
    assert_eq!(handles.len(), 2, "one Send per registered server");
    w.run_for(s(1));
    let dp = w.requests_to(A, Code::POST);
    let send = dp.iter().find(|r| r.path == "/dp").expect("POST /dp to A");
    let body = String::from_utf8(send.payload.clone()).unwrap();
    assert!(
        body.contains("/3303/0/5700") && body.contains("21.5"),
        "{body}"
    );
    assert!(w.requests_to(B, Code::POST).iter().any(|r| r.path == "/dp"));
    let answered = w
        .events
        .iter()
        .filter(
            |(_, e)| matches!(e, ClientEvent::SendAnswered { code, .. } if *code == Code::CHANGED),
        )
        .count();
    assert_eq!(answered, 2);
    // Mute Send (/1/x/23) on A's account (LightweightM2M-DSE-004).
    w.set("/1/0/23", Value::Boolean(true));
    let before = w.requests_to(A, Code::POST).len();
    let now = w.now;
    let handles = w.engine.send(&mut w.ep, &[p("/3303/0/5700")], now);
    assert_eq!(handles.len(), 1, "only B");
    w.run_for(s(1));
    assert_eq!(w.requests_to(A, Code::POST).len(), before, "nothing to A");
    assert!(w.events.iter().any(|(_, e)| matches!(e, ClientEvent::Error { reason, .. } if reason.contains("mute") || reason.contains("Mute"))));
}

/// The client's objects with the Bootstrap-Server account only (/0/0, NoSec).
#[cfg(feature = "bootstrap-interface")]
fn bootstrap_server_only() -> Client {
    let mut c = objects();
    c.bootstrap_write(
        &p("/0/0"),
        &[
            rec("/0/0/0", Value::String("coap://bs.test".into())),
            rec("/0/0/1", Value::Boolean(true)),
            rec("/0/0/2", int(3)),
        ],
    )
    .unwrap();
    c
}

/// A PUT of `records` to `path` in SenML-JSON (a Bootstrap-Write).
#[cfg(feature = "bootstrap-interface")]
fn senml_put(path: &str, records: &[Record]) -> OwnedMessage {
    let body = mote_lwm2m::encode(Format::SenmlJson, &p(path), records).unwrap();
    with_code(get(path), Code::PUT)
        .with_uint_option(
            OptionNumber::CONTENT_FORMAT,
            u32::from(ContentFormat::SENML_JSON.0),
        )
        .with_payload(body)
}

/// No server account: the client bootstraps from the Bootstrap-Server (NoSec), which writes
/// a server account and finishes; the client registers with it and the new configuration is
/// kept in the storage, from which a restarted client registers at once.
#[cfg(feature = "bootstrap-interface")]
#[test]
fn bootstrap_over_coap_then_register_and_the_configuration_is_stored() {
    let mut w = World::new(bootstrap_server_only(), registration());
    let storage = MemoryStorage::default();
    assert!(!w.engine.with_storage(storage).unwrap());
    w.start();
    w.run_until(s(1));
    let bs = w.requests_to(BSS, Code::POST);
    assert_eq!(bs.len(), 1);
    assert_eq!(bs[0].path, "/bs");
    assert!(bs[0].query.iter().any(|q| q == "ep=sim-dev"));
    // The Bootstrap-Server writes /0/1 and /1/0 (SenML-JSON), then Bootstrap-Finish.
    let records = [
        rec("/0/1/0", Value::String("coap://a.test".into())),
        rec("/0/1/1", Value::Boolean(false)),
        rec("/0/1/2", int(3)),
        rec("/0/1/10", int(101)),
    ];
    assert_eq!(w.ask(BSS, senml_put("/0/1", &records)).code, Code::CHANGED);
    let records = [rec("/1/0/0", int(101)), rec("/1/0/1", int(300))];
    assert_eq!(w.ask(BSS, senml_put("/1/0", &records)).code, Code::CHANGED);
    // A stranger cannot bootstrap the client.
    assert_eq!(
        w.ask(STRANGER, with_code(get("/bs"), Code::POST)).code,
        Code::UNAUTHORIZED
    );
    assert_eq!(
        w.ask(BSS, with_code(get("/bs"), Code::POST)).code,
        Code::CHANGED
    );
    w.run_for(s(2));
    assert!(
        w.events
            .iter()
            .any(|(_, e)| matches!(e, ClientEvent::BootstrapFinished))
    );
    let registered = registered_events(&w);
    assert_eq!(registered.len(), 1, "{:?}", w.events);
    assert_eq!(registered[0].1, ShortServerId(101));
    let stored = w.engine.configuration().unwrap();

    // A restart: the factory configuration only has the Bootstrap-Server; the stored one
    // has server 101, so the client registers without bootstrapping.
    let mut w2 = World::new(bootstrap_server_only(), registration());
    let mut storage = MemoryStorage::default();
    storage.store(&stored).unwrap();
    assert!(w2.engine.with_storage(storage).unwrap());
    w2.start();
    w2.run_until(s(1));
    assert!(w2.requests_to(BSS, Code::POST).is_empty(), "no bootstrap");
    assert_eq!(registered_events(&w2).len(), 1);
    let reg = w2.requests_to(A, Code::POST);
    assert!(reg[0].query.iter().any(|q| q == "lt=300"));
}

#[test]
fn a_corrupt_stored_configuration_is_an_error() {
    let mut w = World::new(objects(), registration());
    let storage = MemoryStorage {
        configuration: Some(b"not cbor".to_vec()),
        writes: 0,
    };
    assert!(w.engine.with_storage(storage).is_err());
    let _ = ObjectLink::new(0, 0);
}

#[test]
fn the_pending_table_is_bounded() {
    let mut w = World::new(two_servers(false), registration());
    // Replace the engine with one allowing a single request in flight.
    w.engine = Engine::new(
        two_servers(false),
        Registrar::new(registration()),
        Reporter::new(ReportingConfig::default()),
        resolve,
        EngineConfig {
            max_pending: 1,
            ..EngineConfig::default()
        },
    );
    w.start();
    w.run_until(s(1));
    assert_eq!(registered_events(&w).len(), 2);
    // Two Updates asked for at once: the first goes out, the second is refused.
    let before = w.sent.len();
    let now = w.now;
    w.engine.update(&mut w.ep, now);
    w.pump();
    assert_eq!(w.sent.len() - before, 1, "one request in flight at most");
    let refused = w
        .events
        .iter()
        .filter(|(_, e)| {
            // The reason is a text only with the `diagnostics` feature.
            matches!(e,
            ClientEvent::Error { reason, .. } if reason.contains("too many requests in flight")
                || (!cfg!(feature = "diagnostics") && reason.is_empty()))
        })
        .count();
    // The refused Update counts as a failed one: the registrar registers again at once, and
    // that Register is refused too while the table is full.
    assert!(refused >= 1);
}

// ---- Firmware Update: Package URI pull (TS 1.2 Core Appendix E.6, LightweightM2M-E2E-13) ----

use std::cell::RefCell;
use std::rc::Rc;

#[cfg(feature = "firmware-pull")]
use mote_lwm2m_client::State;
use mote_lwm2m_client::{FirmwareHooks, FirmwareUpdate, UpdateResult};

/// A 3000-byte image: three Block2 blocks of 1024 bytes (RFC 7959 §2.4).
fn good_image() -> Vec<u8> {
    let mut image = b"GOOD".to_vec();
    image.extend((0..2996u32).map(|i| (i % 251) as u8));
    image
}

/// What the package server serves.
fn firmware_file(path: &str) -> (Code, Vec<u8>) {
    match path {
        "/fw/good" => (Code::CONTENT, good_image()),
        "/fw/brick" => (Code::CONTENT, b"GOOD but BRICK".to_vec()),
        "/fw/corrupt" => (Code::CONTENT, vec![0xAA; 2500]),
        "/fw/huge" => (Code::CONTENT, vec![b'G'; 9000]),
        _ => (Code::NOT_FOUND, Vec::new()),
    }
}

/// Accepts images starting with `GOOD`; installing one containing `BRICK` fails at once;
/// `installed` is the running firmware.
struct Installer {
    installed: Rc<RefCell<Vec<u8>>>,
    /// "block OFFSET LEN" for each block handed over, in order with the client's requests.
    trace: Rc<RefCell<Vec<String>>>,
    /// The block at this offset is refused (e.g. a flash write error).
    refuse_at: Option<usize>,
    /// The flash slot the package is written to.
    slot: Vec<u8>,
}

impl FirmwareHooks for Installer {
    fn write_block(&mut self, offset: usize, block: &[u8]) -> Result<(), UpdateResult> {
        self.trace
            .borrow_mut()
            .push(format!("block {offset} {}", block.len()));
        if self.refuse_at == Some(offset) {
            return Err(UpdateResult::NotEnoughFlash);
        }
        self.slot.extend_from_slice(block);
        Ok(())
    }
    fn begin(&mut self) -> Result<(), UpdateResult> {
        self.slot.clear();
        Ok(())
    }
    fn finish(&mut self) -> Result<(), UpdateResult> {
        if self.slot.starts_with(b"GOOD") {
            Ok(())
        } else {
            Err(UpdateResult::IntegrityCheckFailure)
        }
    }
    fn start_update(&mut self) -> Result<(), UpdateResult> {
        if self.slot.windows(5).any(|w| w == b"BRICK") {
            return Err(UpdateResult::UpdateFailed);
        }
        *self.installed.borrow_mut() = self.slot.clone();
        Ok(())
    }
}

/// The two-server world with a Firmware Update object (packages up to 4096 bytes) owned by
/// server 101; the running firmware is `OLD`.
fn firmware_world() -> (World, Rc<RefCell<Vec<u8>>>) {
    let installed = Rc::new(RefCell::new(b"OLD".to_vec()));
    let mut c = two_servers(false);
    let trace = Rc::new(RefCell::new(Vec::new()));
    let hooks = Installer {
        installed: installed.clone(),
        trace: trace.clone(),
        refuse_at: None,
        slot: Vec::new(),
    };
    c.register(5, Box::new(FirmwareUpdate::new(hooks, 4096)))
        .unwrap();
    acl(&mut c, 2, 5, 0, 101, &[]);
    let mut w = World::new(c, registration());
    w.fw_trace = trace;
    w.start();
    w.run_until(s(1));
    (w, installed)
}

/// Server A writes the Package URI (/5/0/1); the Write succeeds.
fn write_package_uri(w: &mut World, uri: &str) {
    assert_eq!(
        w.ask(A, text_put("/5/0/1", uri)).code,
        Code::CHANGED,
        "{uri}"
    );
}

fn text_put(path: &str, value: &str) -> OwnedMessage {
    with_code(get(path), Code::PUT)
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_payload(value.as_bytes().to_vec())
}

fn fw_state(w: &World) -> (Value, Value) {
    (
        w.engine.client().value(&p("/5/0/3")).unwrap(),
        w.engine.client().value(&p("/5/0/5")).unwrap(),
    )
}

#[cfg(feature = "firmware-pull")]
#[test]
fn firmware_pull_downloads_block_wise_and_updates() {
    let (mut w, installed) = firmware_world();
    let write = text_put("/5/0/1", "coap://fw.test/fw/good");
    w.server_request(A, write);
    // The client took the Write and sent the first GET; a Read from B arrives while the
    // download runs: it must not start a second one.
    w.run_for(ms(15));
    w.server_request(B, get("/3/0/0"));
    w.run_for(s(5));
    // The package server's application saw the first request; the endpoint served blocks
    // 1 and 2 from its Block2 cache: three requests from the client in all.
    let gets = w.requests_to(FW, Code::GET);
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].path, "/fw/good");
    let to_fw = w
        .sent
        .iter()
        .filter(|(_, f, t)| *f == CLIENT && *t == FW)
        .count();
    assert_eq!(to_fw, 3, "three Block2 requests");
    // Downloaded (2), Update Result still Initial (0).
    assert_eq!(fw_state(&w), (int(2), int(0)));
    assert!(w.events.iter().any(|(_, e)| matches!(
        e,
        ClientEvent::FirmwareDownload {
            state: State::Downloaded,
            result: UpdateResult::Initial
        }
    )));
    // Execute Update → Updating (3); the installation reports success → Idle, Success (1).
    assert_eq!(
        w.ask(A, with_code(get("/5/0/2"), Code::POST)).code,
        Code::CHANGED
    );
    assert_eq!(fw_state(&w).0, int(3));
    assert_eq!(*installed.borrow(), good_image());
    w.engine
        .client_mut()
        .object_as::<FirmwareUpdate<Installer>>(5)
        .unwrap()
        .update_finished(true);
    assert_eq!(fw_state(&w), (int(0), int(1)));
}

/// RFC 7959 §2.4 with per-block hand-off: the hook gets each block of the package before the
/// client asks for the next one, and the whole image is still verified and installed.
#[cfg(feature = "firmware-pull")]
#[test]
fn the_hook_sees_each_firmware_block_before_the_next_request() {
    let (mut w, _installed) = firmware_world();
    write_package_uri(&mut w, "coap://fw.test/fw/good");
    w.run_for(s(5));
    assert_eq!(
        *w.fw_trace.borrow(),
        [
            "request",
            "block 0 1024",
            "request",
            "block 1024 1024",
            "request",
            "block 2048 952",
        ]
    );
    assert_eq!(fw_state(&w), (int(2), int(0)));
    let fw = w
        .engine
        .client_mut()
        .object_as::<FirmwareUpdate<Installer>>(5)
        .unwrap();
    assert_eq!(fw.hooks.slot, good_image());
}

/// A block the hook refuses ends the pull at once with the hook's Update Result: no request
/// for the next block, nothing to install.
#[cfg(feature = "firmware-pull")]
#[test]
fn a_refused_firmware_block_ends_the_pull() {
    let (mut w, installed) = firmware_world();
    w.engine
        .client_mut()
        .object_as::<FirmwareUpdate<Installer>>(5)
        .unwrap()
        .hooks
        .refuse_at = Some(1024);
    write_package_uri(&mut w, "coap://fw.test/fw/good");
    w.run_for(s(300));
    assert_eq!(
        *w.fw_trace.borrow(),
        ["request", "block 0 1024", "request", "block 1024 1024"]
    );
    assert_eq!(fw_state(&w), (int(0), int(2)));
    assert_eq!(*installed.borrow(), b"OLD");
}

/// Each way a pull fails ends in Idle with its Update Result, and the old firmware runs on.
#[cfg(feature = "firmware-pull")]
#[test]
fn firmware_pull_failures_give_their_update_result_and_keep_the_old_firmware() {
    let cases: [(&str, Option<Script>, UpdateResult); 6] = [
        (
            "coap://fw.test/fw/corrupt",
            None,
            UpdateResult::IntegrityCheckFailure,
        ),
        ("coap://fw.test/fw/missing", None, UpdateResult::InvalidUri),
        ("coap://fw.test/fw/huge", None, UpdateResult::NotEnoughFlash),
        (
            "coap://fw.test/fw/good",
            Some(Script::Down),
            UpdateResult::ConnectionLost,
        ),
        (
            "coap://nowhere.test/fw/good",
            None,
            UpdateResult::InvalidUri,
        ),
        (
            "http://fw.test/fw/good",
            None,
            UpdateResult::UnsupportedProtocol,
        ),
    ];
    for (uri, script, expected) in cases {
        let (mut w, installed) = firmware_world();
        if let Some(script) = script {
            w.script(FW, script);
        }
        write_package_uri(&mut w, uri);
        w.run_for(s(300));
        assert_eq!(
            fw_state(&w),
            (int(0), int(expected.value())),
            "{uri}: Idle with {expected:?}"
        );
        // Nothing to install: Execute Update is refused, the old firmware stays.
        assert_eq!(
            w.ask(A, with_code(get("/5/0/2"), Code::POST)).code,
            Code::METHOD_NOT_ALLOWED,
            "{uri}"
        );
        assert_eq!(*installed.borrow(), b"OLD", "{uri}");
    }
}

#[cfg(feature = "firmware-pull")]
#[test]
fn a_failed_installation_keeps_the_old_firmware() {
    let (mut w, installed) = firmware_world();
    write_package_uri(&mut w, "coap://fw.test/fw/brick");
    w.run_for(s(5));
    assert_eq!(fw_state(&w), (int(2), int(0)));
    assert_eq!(
        w.ask(A, with_code(get("/5/0/2"), Code::POST)).code,
        Code::CHANGED
    );
    // The hook refused at once: still Downloaded, Update Result 8 (firmware update failed).
    assert_eq!(fw_state(&w), (int(2), int(8)));
    assert_eq!(*installed.borrow(), b"OLD");
}

/// Without the `firmware-pull` feature a Write of the Package URI is answered but starts no
/// download (TS 1.2 Core Appendix E.6 Pull is not offered): nothing goes to the package
/// server, the state stays Idle with Update Result 9 "unsupported protocol" (the default
/// `FirmwareHooks::start_download`), and the old firmware runs on; Push still works
/// (`package_push_by_write_still_works`).
#[cfg(not(feature = "firmware-pull"))]
#[test]
fn without_firmware_pull_a_package_uri_starts_no_download() {
    let (mut w, installed) = firmware_world();
    write_package_uri(&mut w, "coap://fw.test/fw/good");
    w.run_for(s(5));
    assert!(w.requests_to(FW, Code::GET).is_empty());
    assert!(!w.sent.iter().any(|(_, f, t)| *f == CLIENT && *t == FW));
    assert_eq!(fw_state(&w), (int(0), int(9)));
    assert!(
        !w.events
            .iter()
            .any(|(_, e)| matches!(e, ClientEvent::FirmwareDownload { .. }))
    );
    assert_eq!(*installed.borrow(), b"OLD");
}

#[test]
fn package_push_by_write_still_works() {
    let (mut w, installed) = firmware_world();
    let push = with_code(get("/5/0/0"), Code::PUT)
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 42)
        .with_payload(b"GOOD pushed".to_vec());
    assert_eq!(w.ask(A, push).code, Code::CHANGED);
    assert_eq!(fw_state(&w), (int(2), int(0)));
    assert!(
        w.requests_to(FW, Code::GET).is_empty(),
        "no pull for a push"
    );
    assert_eq!(
        w.ask(A, with_code(get("/5/0/2"), Code::POST)).code,
        Code::CHANGED
    );
    assert_eq!(*installed.borrow(), b"GOOD pushed");
}

/// Core §7.3 "Notify Operation Consideration": the Read right is checked again before each
/// notification; when the owner withdraws it, the observer gets a 4.01 that ends the
/// observation (RFC 7641 §4.2: a non-2.xx notification), and no more values.
#[test]
fn a_withdrawn_read_right_ends_the_observation_with_4_01() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    let id = observe_temperature(&mut w, B);
    w.run_for(s(1));
    w.set("/3303/0/5700", Value::Float(22.0));
    w.run_for(s(1));
    let notes = |w: &World| -> Vec<OwnedMessage> {
        w.answers
            .iter()
            .filter(|(_, a, i, _, n)| *a == B && *i == id && *n)
            .map(|(_, _, _, m, _)| m.clone())
            .collect()
    };
    assert_eq!(notes(&w).len(), 1, "B may read: notified");
    assert_eq!(notes(&w)[0].payload, b"22");
    // A, the owner of /3303/0 (ACL instance /2/1), takes B's rights away.
    let acl = with_code(get("/2/1/2/102"), Code::PUT)
        .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_payload(b"0".to_vec());
    assert_eq!(w.ask(A, acl).code, Code::CHANGED);
    w.set("/3303/0/5700", Value::Float(23.0));
    w.run_for(s(2));
    w.set("/3303/0/5700", Value::Float(24.0));
    w.run_for(s(2));
    let after: Vec<Code> = notes(&w).iter().skip(1).map(|m| m.code).collect();
    let ended: Vec<Code> = w
        .answers
        .iter()
        .filter(|(_, a, i, _, n)| *a == B && *i == id && !n)
        .map(|(_, _, _, m, _)| m.code)
        .collect();
    assert!(
        after.is_empty() && ended.contains(&Code::UNAUTHORIZED),
        "no value after the withdrawal, a final 4.01: {after:?} {ended:?}"
    );
    assert_eq!(w.engine.reporter().observation_count(), 0);
}

/// TS 1.2 Core §6.4.3 Observe-Composite over CoAP: `FETCH /` with Observe and a SenML-JSON
/// path list; a change of one target notifies with every target (LightweightM2M-IR-001).
#[cfg(all(feature = "composite", feature = "senml-json"))]
#[test]
fn observe_composite_notifies_every_target() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(1));
    let fetch = OwnedMessage::new(MessageType::Con, Code::FETCH, 0)
        .with_uint_option(OptionNumber::OBSERVE, 0)
        .with_uint_option(
            OptionNumber::CONTENT_FORMAT,
            u32::from(ContentFormat::SENML_JSON.0),
        )
        .with_uint_option(OptionNumber::ACCEPT, u32::from(ContentFormat::SENML_JSON.0))
        .with_payload(br#"[{"n":"/3303/0/5700"},{"n":"/3303/0/5750"}]"#.to_vec());
    let id = w.server_request(A, fetch);
    w.run_for(s(1));
    let first = w
        .answers
        .iter()
        .find(|(_, a, i, _, n)| *a == A && *i == id && !n)
        .map(|(_, _, _, m, _)| m.clone())
        .expect("the Observe-Composite response");
    assert_eq!(first.code, Code::CONTENT);
    assert_eq!(w.engine.reporter().observation_count(), 1);
    w.set("/3303/0/5700", Value::Float(30.5));
    w.run_for(s(1));
    let note = w
        .answers
        .iter()
        .find(|(_, a, i, _, n)| *a == A && *i == id && *n)
        .map(|(_, _, _, m, _)| m.clone())
        .expect("a notification");
    let body = String::from_utf8(note.payload).unwrap();
    assert!(body.contains("30.5") && body.contains("room"), "{body}");
}

/// TS 1.2 Transport §6.5 queue mode: `Q` at registration; after MAX_TRANSMIT_WAIT without an
/// exchange the client may sleep; a report due then (here a Send) is preceded by an Update
/// that announces the client awake.
#[cfg(feature = "send")]
#[test]
fn queue_mode_wakes_with_an_update_before_reporting() {
    let reg = RegistrationConfig {
        queue_mode: true,
        ..registration()
    };
    let mut c = two_servers(false);
    // A lifetime long enough that no periodic Update falls in the test.
    c.bootstrap_write(&p("/1/0/1"), &[rec("/1/0/1", int(3600))])
        .unwrap();
    let mut w = World::new(c, reg);
    w.start();
    w.run_until(s(1));
    let register = w.requests_to(A, Code::POST)[0].clone();
    assert!(
        register.query.iter().any(|q| q == "Q"),
        "{:?}",
        register.query
    );
    // Awake: a Send goes out alone.
    let now = w.now;
    w.engine.send(&mut w.ep, &[p("/3303/0/5700")], now);
    w.run_for(s(1));
    let posts: Vec<String> = w
        .requests_to(A, Code::POST)
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(posts, ["/rd", "/dp"]);
    // 93 s (MAX_TRANSMIT_WAIT) after the last exchange the client may sleep; the next Send
    // first wakes it with an Update.
    w.run_until(s(200));
    assert_eq!(w.requests_to(A, Code::POST).len(), 2, "nothing while idle");
    let now = w.now;
    w.engine.send(&mut w.ep, &[p("/3303/0/5700")], now);
    w.run_for(s(1));
    let posts: Vec<String> = w
        .requests_to(A, Code::POST)
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(posts, ["/rd", "/dp", "/rd/1", "/dp"]);
}

/// TS 1.2 Core §6.2.1 / §6.2.2: a restarted client still within its registration's lifetime
/// sends an Update to the kept location instead of a new Register; a server that no longer
/// knows the registration (4.04) gets a Register.
#[test]
fn a_resumed_registration_sends_an_update_and_falls_back_to_register_on_4_04() {
    let mut w = World::new(two_servers(false), registration());
    w.start();
    w.run_until(s(10));
    assert_eq!(w.requests_to(A, Code::POST).len(), 1);
    let kept = w.engine.registrations(w.now);
    let a = kept
        .iter()
        .find(|r| r.ssid == ShortServerId(101))
        .expect("A is kept");
    assert_eq!(a.location, ["rd", "1"]);
    // Registered at 0.02 s (10 ms each way) with lifetime 120 s: 110.02 s left at 10 s.
    assert_eq!(a.remaining, ms(110_020));

    // The restart: a new engine over the same configuration, 5 s of the lifetime left.
    let mut resumed = kept.clone();
    for r in &mut resumed {
        r.remaining = s(5);
    }
    let mut w = World::new(two_servers(false), registration());
    let now = w.now;
    w.engine.start_resumed(&mut w.ep, &resumed, now);
    w.run_until(s(1));
    let posts = w.requests_to(A, Code::POST);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, "/rd/1", "an Update to the kept location");
    assert!(w.events.iter().any(
        |(_, e)| matches!(e, ClientEvent::Updated { ssid, .. } if *ssid == ShortServerId(101))
    ));
    assert!(
        registered_events(&w)
            .iter()
            .all(|r| r.1 != ShortServerId(101))
    );

    // The same restart, but the server forgot the registration: 4.04, then a Register.
    let mut w = World::new(two_servers(false), registration());
    w.script(A, Script::Refuse(Code::NOT_FOUND));
    let now = w.now;
    w.engine.start_resumed(&mut w.ep, &resumed, now);
    // The Update reaches A at 10 ms and is refused; the Register follows its answer (20 ms).
    w.run_until(ms(15));
    w.script(A, Script::Accept);
    w.run_until(s(1));
    let posts = w.requests_to(A, Code::POST);
    assert!(posts.len() >= 2, "{posts:?}");
    assert_eq!(posts[0].path, "/rd/1");
    assert_eq!(posts[1].path, "/rd", "registers again after the 4.04");
    assert!(
        registered_events(&w)
            .iter()
            .any(|r| r.1 == ShortServerId(101))
    );
}

/// Two servers; 101 stores notifications while disabled (/1/0/6), is disabled for 30 s
/// (/1/0/5), has a lifetime of an hour (/1/0/1) and may execute its own /1/0 (Disable).
fn storing_while_disabled() -> Client {
    let mut c = two_servers(false);
    for (path, v) in [
        ("/1/0/6", Value::Boolean(true)),
        ("/1/0/5", int(30)),
        ("/1/0/1", int(3600)),
    ] {
        c.bootstrap_write(&p(path), &[rec(path, v)]).unwrap();
    }
    acl(&mut c, 2, 1, 0, 101, &[]);
    c
}

/// TS 1.2 Core §6.2 /1/x/4 Disable with /1/x/6 "Notification Storing When Disabled or
/// Offline" true and /1/x/5 Disable Timeout 30 s, over the simulated network: the client
/// de-registers, keeps the notifications of the observation made before (none reach the
/// server while disabled), registers again when the Disable Timeout is over and then
/// delivers them, oldest first, before any new one — `hqmax=3` keeps the last three of
/// four. The CoAP layer lets a newer notification replace one still in flight (RFC 7641
/// §4.5.1 / §4.5.2): delivered in one burst the middle ones were lost; each waits now until
/// the endpoint is done with the previous one (`Event::NotificationDone`).
#[test]
fn notifications_stored_while_disabled_arrive_in_order_after_the_disable_timeout() {
    let c = storing_while_disabled();
    let mut w = World::new(c, registration());
    w.start();
    w.run_until(s(1));
    let attrs =
        with_code(get("/3303/0/5700"), Code::PUT).with_option(OptionNumber::URI_QUERY, "hqmax=3");
    assert_eq!(w.ask(A, attrs).code, Code::CHANGED);
    let id = observe_temperature(&mut w, A);
    w.run_until(s(5));
    w.set("/3303/0/5700", Value::Float(22.0));
    w.run_until(s(10));
    let disable = with_code(get("/1/0/4"), Code::POST);
    assert_eq!(w.ask(A, disable).code, Code::CHANGED);
    w.run_until(s(12));
    assert_eq!(
        w.requests_to(A, Code::DELETE).len(),
        1,
        "Disable de-registers"
    );
    // While disabled: four changes, hqmax 3 keeps the last three.
    for (t, v) in [(15, 23.0), (18, 23.5), (20, 24.0), (25, 25.0)] {
        w.run_until(s(t));
        w.set("/3303/0/5700", Value::Float(v));
    }
    // Back online: a new change is notified after the stored ones.
    w.run_until(s(45));
    w.set("/3303/0/5700", Value::Float(26.0));
    w.run_until(s(60));
    let registers: Vec<Duration> = w
        .requests_to(A, Code::POST)
        .iter()
        .filter(|r| r.path == "/rd")
        .map(|r| r.at)
        .collect();
    // The Disable reaches the client at 10.01 s; 30 s later it registers again.
    assert_eq!(registers.len(), 2, "{registers:?}");
    assert!(
        registers[1] >= s(40) && registers[1] < s(41),
        "{registers:?}"
    );
    let notes: Vec<(Duration, Vec<u8>)> = w
        .answers
        .iter()
        .filter(|(_, a, i, _, n)| *a == A && *i == id && *n)
        .map(|(t, _, _, m, _)| (*t, m.payload.clone()))
        .collect();
    let before: Vec<&[u8]> = notes
        .iter()
        .filter(|(t, _)| *t < s(10))
        .map(|(_, v)| v.as_slice())
        .collect();
    assert_eq!(before, [b"22".as_slice()]);
    let while_disabled = notes
        .iter()
        .filter(|(t, _)| *t >= s(10) && *t < registers[1]);
    assert_eq!(while_disabled.count(), 0, "{notes:?}");
    let after: Vec<&[u8]> = notes
        .iter()
        .filter(|(t, _)| *t >= registers[1])
        .map(|(_, v)| v.as_slice())
        .collect();
    assert_eq!(
        after,
        [b"23.5".as_slice(), b"24", b"25", b"26"],
        "{notes:?}"
    );
    let stored = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, ClientEvent::Notify { stored: true, .. }))
        .count();
    assert_eq!(stored, 3);
}

/// The world of the stored-history tests: server A stores notifications (/1/0/6 true,
/// Disable Timeout 30 s), `/3303/0/5700` is observed with `attributes`; the client is
/// disabled at 10 s, the value changes five times while it is, and it registers again at
/// about 40 s. Returns the world, the observation's request id, and the stored values.
fn stored_history(ep: EndpointConfig, attributes: &str) -> (World, RequestId, Vec<Vec<u8>>) {
    let c = storing_while_disabled();
    let mut w = World::new(c, registration());
    w.ep = Endpoint::new(ep, XorShift(7)).unwrap();
    w.start();
    w.run_until(s(1));
    let attrs =
        with_code(get("/3303/0/5700"), Code::PUT).with_option(OptionNumber::URI_QUERY, attributes);
    assert_eq!(w.ask(A, attrs).code, Code::CHANGED);
    let id = observe_temperature(&mut w, A);
    w.run_until(s(5));
    let history = disable_and_change(&mut w);
    let values = history
        .iter()
        .map(|v| format!("{v}").into_bytes())
        .collect();
    (w, id, values)
}

/// Server A disables the client (/1/0/4, for the Disable Timeout of the world), then
/// /3303/0/5700 changes five times, every 3 s from 12 s; returns the values in order.
fn disable_and_change(w: &mut World) -> [f64; 5] {
    assert_eq!(
        w.ask(A, with_code(get("/1/0/4"), Code::POST)).code,
        Code::CHANGED
    );
    let history = [31.0, 32.0, 33.0, 34.0, 35.0];
    for (t, v) in (12..).step_by(3).zip(history) {
        w.run_until(s(t));
        w.set("/3303/0/5700", Value::Float(v));
    }
    history
}

/// `got` is the stored `history`, each once and in order, then only live notifications of
/// the current value (pmax).
fn assert_stored_then_live(got: &[Vec<u8>], history: &[Vec<u8>]) {
    assert!(got.len() >= history.len(), "{got:?}");
    assert_eq!(&got[..history.len()], history, "{got:?}");
    let last = history.last().unwrap();
    assert!(got[history.len()..].iter().all(|v| v == last), "{got:?}");
}

/// The client registered `registrations` times; what server A got on `id` from the second
/// registration on (with the arrival times) is the stored `history`, then live ones
/// ([`assert_stored_then_live`]). Returns the registration times and those notifications.
fn stored_then_live_after_the_return(
    w: &World,
    id: RequestId,
    registrations: usize,
    history: &[Vec<u8>],
) -> (Vec<Duration>, Vec<(Duration, Vec<u8>)>) {
    let registers = register_times(w);
    assert_eq!(registers.len(), registrations, "{registers:?}");
    let after: Vec<(Duration, Vec<u8>)> = notes_of(w, id)
        .into_iter()
        .filter(|(t, _)| *t >= registers[1])
        .collect();
    let values: Vec<Vec<u8>> = after.iter().map(|(_, v)| v.clone()).collect();
    assert_stored_then_live(&values, history);
    (registers, after)
}

/// The notifications server A got on `id`, with their arrival times.
fn notes_of(w: &World, id: RequestId) -> Vec<(Duration, Vec<u8>)> {
    w.answers
        .iter()
        .filter(|(_, a, i, _, n)| *a == A && *i == id && *n)
        .map(|(t, _, _, m, _)| (*t, m.payload.clone()))
        .collect()
}

fn register_times(w: &World) -> Vec<Duration> {
    w.requests_to(A, Code::POST)
        .iter()
        .filter(|r| r.path == "/rd")
        .map(|r| r.at)
        .collect()
}

/// TS 1.2 Core /1/x/6: five notifications stored while disabled, Confirmable (`con=1`), on
/// a link whose acknowledgements come back after 3.5 s — longer than any retransmission
/// timeout, so every one is retransmitted before its ACK — and that loses every fourth
/// datagram: after the return all five reach the server, in order,
/// exactly once (a timer spacing of 2 s lost them to RFC 7641 §4.5.2 replacement).
#[test]
fn stored_confirmable_notifications_survive_slow_acks_and_loss() {
    let (mut w, id, history) = stored_history(EndpointConfig::default(), "hqmax=5&con=1");
    w.link_delay = Duration::from_millis(1750);
    w.loss_every = 4;
    w.run_until(s(300));
    stored_then_live_after_the_return(&w, id, 2, &history);
    let stored = w
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                ClientEvent::Notify {
                    stored: true,
                    confirmable: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(stored, 5);
    assert_eq!(w.engine.reporter().stored_count(), 0);
}

/// The same history Non-confirmable, the client's endpoint limited to one Non-confirmable
/// notification every 3 s per peer (RFC 7641 §4.5.1) and one Confirmable in three: every
/// one arrives, in order; the rate held them back instead of dropping them.
#[test]
fn stored_non_confirmable_notifications_pass_the_rate_limit_in_order() {
    let mut ep = EndpointConfig::default();
    ep.observe.non_interval = Some(s(3));
    ep.observe.confirmable_every = 3;
    let (mut w, id, history) = stored_history(ep, "hqmax=5");
    w.run_until(s(120));
    let (_, after) = stored_then_live_after_the_return(&w, id, 2, &history);
    // The rate was in force: not all within one 3 s window.
    assert!(after[4].0 - after[0].0 >= s(3), "{after:?}");
    assert!(w.ep.stats().deferred_notifications > 0);
}

/// The server goes away in the middle of the delivery (it disables the client again while
/// the slow-acknowledged history is going out): what was not handed to the endpoint stays
/// stored, and arrives after the next return — all five, in order, exactly once.
#[test]
fn stored_notifications_left_when_the_server_goes_away_arrive_after_the_next_return() {
    let (mut w, id, history) = stored_history(EndpointConfig::default(), "hqmax=5&con=1");
    w.link_delay = Duration::from_millis(1750);
    // Until the second one has arrived.
    while notes_of(&w, id).iter().filter(|(t, _)| *t > s(30)).count() < 2 {
        let next = w.now + ms(100);
        w.run_until(next);
        assert!(w.now < s(200), "no delivery");
    }
    w.server_request(A, with_code(get("/1/0/4"), Code::POST));
    w.run_for(s(8));
    let disabled_at = w.now;
    assert!(
        w.engine.reporter().stored_count() > 0,
        "some are still stored"
    );
    w.run_until(s(400));
    let (registers, after) = stored_then_live_after_the_return(&w, id, 3, &history);
    // Some arrived only after the third registration.
    assert!(
        after.iter().any(|(t, _)| *t >= registers[2]),
        "{after:?} {registers:?} disabled at {disabled_at:?}"
    );
    assert_eq!(w.engine.reporter().stored_count(), 0);
    let handed = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, ClientEvent::Notify { stored: true, .. }))
        .count();
    assert_eq!(handed, 5, "each stored one handed to the endpoint once");
}

/// A live Confirmable notification is still unacknowledged when the client returns (its
/// transmissions are lost): the first stored one replaces it at the endpoint (RFC 7641
/// §4.5.2, `NotificationDone` `Replaced` for the live one) and takes over its retransmissions;
/// the second waits for the first one's ACK, not for the replaced one's end — all five
/// arrive, in order, although the first one's initial transmission is lost too.
#[test]
fn stored_notifications_wait_behind_a_replaced_live_one() {
    let c = storing_while_disabled();
    let mut w = World::new(c, registration());
    w.start();
    w.run_until(s(1));
    let attrs = with_code(get("/3303/0/5700"), Code::PUT)
        .with_option(OptionNumber::URI_QUERY, "hqmax=5&con=1");
    assert_eq!(w.ask(A, attrs).code, Code::CHANGED);
    let id = observe_temperature(&mut w, A);
    w.run_until(s(5));
    // Every notification is lost until just after the return (about 40 s).
    w.notifications_lost_until = Duration::from_millis(40_500);
    w.set("/3303/0/5700", Value::Float(30.0));
    w.run_until(s(8));
    let history = disable_and_change(&mut w);
    w.run_until(s(200));
    let registers = register_times(&w);
    assert_eq!(registers.len(), 2, "{registers:?}");
    assert!(
        registers[1] < Duration::from_millis(40_500),
        "{registers:?}"
    );
    let after: Vec<Vec<u8>> = notes_of(&w, id)
        .into_iter()
        .filter(|(t, _)| *t >= registers[1])
        .map(|(_, v)| v)
        .collect();
    let history: Vec<Vec<u8>> = history
        .iter()
        .map(|v| format!("{v}").into_bytes())
        .collect();
    assert_stored_then_live(&after, &history);
}
