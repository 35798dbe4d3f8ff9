//! The bootstrap engine on the CoAP endpoint against `mote_lwm2m_client::Client` over a
//! simulated network: LwM2M TS 1.2 Core §6.1 (Bootstrap Interface), Transport §6.4.1 and §6.7
//! (Bootstrap-Request and its response codes), requirement LightweightM2M-BsR-001 (read /1 and
//! /2 before writing), RFC 7252 §4.2 (retransmission of lost messages), RFC 7959 §2.5 (a
//! large Bootstrap-Write in Block1 blocks).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Board, Xs};
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::{ObjectLink, Path, Record, Value};
use mote_lwm2m_client::{Client, ClientConfig, Device, Requester, SecurityIdentity, Trigger};
use mote_lwm2m_server::bootstrap::{
    AccessControlInstance, OscoreInstance, SecurityInstance, SecurityMode, ServerInstance,
};
use mote_lwm2m_server::bootstrap_engine::{BootstrapEngine, BootstrapEngineConfig, BootstrapEvent};
use mote_lwm2m_server::{BootstrapConfig, BootstrapLimits, BootstrapServer, BootstrapStep};

// ---------------------------------------------------------------------------------------------
// A two-role simulation: one bootstrap server (endpoint + engine) at address 1, LwM2M clients
// (endpoint + Client) at 10, 11, …; datagrams take 10 ms; chosen datagrams are lost.

const SERVER: u16 = 1;

type Ep = Endpoint<u16, Xs>;

struct Device_ {
    ep: Ep,
    client: Client,
    /// Whether it answers the bootstrap server's requests at all.
    answers: bool,
    /// (method, path) of each request the client handled, in order.
    seen: Vec<(Code, String)>,
    /// The code of the answer to its Bootstrap-Request.
    bs_answer: Option<Code>,
    /// The last response it received (a Block2 body reassembled by its endpoint).
    last_response: Option<OwnedMessage>,
}

struct World {
    now: Duration,
    server: Ep,
    engine: BootstrapEngine<u16>,
    devices: BTreeMap<u16, Device_>,
    /// (arrival, sequence, from, to, bytes).
    in_flight: Vec<(Duration, u64, u16, u16, Vec<u8>)>,
    seq: u64,
    /// Every datagram handed to the network: (from, to, bytes).
    sent: Vec<(u16, u16, Vec<u8>)>,
    /// Indices into `sent` of the datagrams the network loses.
    lose: BTreeSet<usize>,
    lost: usize,
    events: Vec<BootstrapEvent<u16>>,
}

fn client_config() -> EndpointConfig {
    EndpointConfig::default()
}

impl World {
    fn new(limits: BootstrapLimits, plans: &[(&str, BootstrapConfig)]) -> World {
        let mut bs = BootstrapServer::new(limits);
        for (ep, plan) in plans {
            bs.set_plan(ep, plan.clone());
        }
        World {
            now: Duration::from_secs(1000),
            server: Endpoint::new(EndpointConfig::default(), Xs(0x1234_5678_9abc)).unwrap(),
            engine: BootstrapEngine::new(bs, BootstrapEngineConfig::default()),
            devices: BTreeMap::new(),
            in_flight: Vec::new(),
            seq: 0,
            sent: Vec::new(),
            lose: BTreeSet::new(),
            lost: 0,
            events: Vec::new(),
        }
    }

    fn add_device(&mut self, addr: u16, client: Client) {
        let ep = Endpoint::new(client_config(), Xs(0x9e37_79b9 ^ u64::from(addr))).unwrap();
        self.devices.insert(
            addr,
            Device_ {
                ep,
                client,
                answers: true,
                seen: Vec::new(),
                bs_answer: None,
                last_response: None,
            },
        );
    }

    /// The device sends its Bootstrap-Request (Transport §6.4.1: `POST /bs?ep=…[&pct=…]`).
    fn bootstrap_request(&mut self, addr: u16, query: &[&str]) {
        let mut req = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, "bs");
        for q in query {
            req = req.with_option(OptionNumber::URI_QUERY, q);
        }
        let now = self.now;
        let d = self.devices.get_mut(&addr).unwrap();
        d.ep.request(now, SERVER, req, Reliability::Confirmable)
            .unwrap();
    }

    /// The device sends a Bootstrap-Pack-Request (Transport §6.4.1: `GET /bspack?ep=…` with
    /// Accept), or another method on `/bspack`.
    fn pack_request(&mut self, addr: u16, code: Code, query: &[&str], accept: Option<u16>) {
        let mut req = OwnedMessage::new(MessageType::Con, code, 0)
            .with_option(OptionNumber::URI_PATH, "bspack");
        for q in query {
            req = req.with_option(OptionNumber::URI_QUERY, q);
        }
        if let Some(a) = accept {
            req.options.push_uint(OptionNumber::ACCEPT, u32::from(a));
        }
        let now = self.now;
        let d = self.devices.get_mut(&addr).unwrap();
        d.ep.request(now, SERVER, req, Reliability::Confirmable)
            .unwrap();
    }

    fn send(&mut self, from: u16, to: u16, bytes: Vec<u8>) {
        let index = self.sent.len();
        self.sent.push((from, to, bytes.clone()));
        if self.lose.contains(&index) {
            self.lost += 1;
            return;
        }
        self.seq += 1;
        self.in_flight.push((
            self.now + Duration::from_millis(10),
            self.seq,
            from,
            to,
            bytes,
        ));
    }

    fn flush(&mut self) {
        loop {
            let mut progress = false;
            let now = self.now;
            while let Some(t) = self.server.poll_transmit() {
                self.send(SERVER, t.peer, t.datagram);
                progress = true;
            }
            while let Some(e) = self.server.poll_event() {
                progress = true;
                if let Some(Event::Request { id, .. }) =
                    self.engine.handle_event(&mut self.server, e, now)
                {
                    let r = OwnedMessage::new(MessageType::Ack, Code::NOT_FOUND, 0);
                    self.server.respond(now, id, r).unwrap();
                }
            }
            while let Some(e) = self.engine.poll_event() {
                self.events.push(e);
                progress = true;
            }
            let addrs: Vec<u16> = self.devices.keys().copied().collect();
            for addr in addrs {
                let mut out = Vec::new();
                let d = self.devices.get_mut(&addr).unwrap();
                while let Some(t) = d.ep.poll_transmit() {
                    out.push((t.peer, t.datagram));
                }
                while let Some(e) = d.ep.poll_event() {
                    progress = true;
                    match e {
                        Event::Request { id, message, .. } if d.answers => {
                            let req = client_request(&message.message);
                            d.seen
                                .push((req.code, format!("/{}", req.uri_path.join("/"))));
                            let resp = d.client.handle(Requester::BootstrapServer, &req);
                            let msg =
                                resp.write_to(OwnedMessage::new(MessageType::Ack, resp.code, 0));
                            d.ep.respond(now, id, msg).unwrap();
                        }
                        Event::Response { message, .. } => {
                            d.bs_answer = Some(message.code);
                            d.last_response = Some(message);
                        }
                        _ => {}
                    }
                }
                while let Some(t) = d.ep.poll_transmit() {
                    out.push((t.peer, t.datagram));
                }
                for (to, bytes) in out {
                    progress = true;
                    self.send(addr, to, bytes);
                }
            }
            if !progress {
                return;
            }
        }
    }

    fn next_time(&self) -> Option<Duration> {
        self.devices
            .values()
            .filter_map(|d| d.ep.poll_timeout())
            .chain(self.server.poll_timeout())
            .chain(self.engine.poll_timeout())
            .chain(self.in_flight.iter().map(|f| f.0))
            .min()
    }

    fn run_until(&mut self, deadline: Duration) {
        let mut steps = 0;
        loop {
            self.flush();
            let Some(t) = self.next_time().filter(|t| *t <= deadline) else {
                break;
            };
            self.now = self.now.max(t);
            let now = self.now;
            while let Some(i) = self
                .in_flight
                .iter()
                .enumerate()
                .filter(|(_, f)| f.0 <= now)
                .min_by_key(|(_, f)| (f.0, f.1))
                .map(|(i, _)| i)
            {
                let (_, _, from, to, bytes) = self.in_flight.swap_remove(i);
                if to == SERVER {
                    self.server.handle(now, from, &bytes);
                } else if let Some(d) = self.devices.get_mut(&to) {
                    d.ep.handle(now, from, &bytes);
                }
                self.flush();
            }
            if self.server.poll_timeout().is_some_and(|t| t <= now) {
                self.server.handle_timeout(now);
            }
            if self.engine.poll_timeout().is_some_and(|t| t <= now) {
                self.engine.handle_timeout(&mut self.server, now);
            }
            for d in self.devices.values_mut() {
                if d.ep.poll_timeout().is_some_and(|t| t <= now) {
                    d.ep.handle_timeout(now);
                }
            }
            steps += 1;
            assert!(steps < 100_000, "the simulation does not settle");
        }
        self.now = self.now.max(deadline);
    }

    fn run_for(&mut self, span: Duration) {
        self.run_until(self.now + span);
    }

    fn device(&self, addr: u16) -> &Device_ {
        &self.devices[&addr]
    }
}

/// The client core's view of an incoming CoAP request.
fn client_request(m: &OwnedMessage) -> mote_lwm2m_client::Request {
    let text = |n| {
        m.options
            .get_all(n)
            .map(|o| String::from_utf8(o.value.to_vec()).unwrap())
            .collect::<Vec<_>>()
    };
    let uint = |n| {
        m.option(n)
            .map(|o| ContentFormat(o.as_uint().unwrap() as u16))
    };
    let mut r = mote_lwm2m_client::Request::new(
        m.code,
        &format!("/{}", text(OptionNumber::URI_PATH).join("/")),
    );
    r.uri_query = text(OptionNumber::URI_QUERY);
    r.content_format = uint(OptionNumber::CONTENT_FORMAT);
    r.accept = uint(OptionNumber::ACCEPT);
    r.payload.clone_from(&m.payload);
    r
}

// ---------------------------------------------------------------------------------------------
// The device before bootstrap and the plans.

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

fn rec(path: &str, v: Value) -> Record {
    Record::new(p(path), v)
}

/// A factory-configured client: the Bootstrap-Server account /0/0 and an old management
/// server account (ssid 99) at /0/1 + /1/0, with an ACL instance /2/0 on /3/0 owned by 99.
fn device() -> Client {
    let mut c = Client::new(ClientConfig::default());
    c.register(3, Box::new(Device::new(Board))).unwrap();
    let mut w = |base: &str, records: Vec<Record>| c.bootstrap_write(&p(base), &records).unwrap();
    w(
        "/0/0",
        vec![
            rec("/0/0/0", Value::String("coap://bs.example".into())),
            rec("/0/0/1", Value::Boolean(true)),
            rec("/0/0/2", Value::Integer(3)),
        ],
    );
    w(
        "/0/1",
        vec![
            rec("/0/1/0", Value::String("coap://old.example".into())),
            rec("/0/1/1", Value::Boolean(false)),
            rec("/0/1/2", Value::Integer(3)),
            rec("/0/1/10", Value::Integer(99)),
        ],
    );
    w(
        "/1/0",
        vec![
            rec("/1/0/0", Value::Integer(99)),
            rec("/1/0/1", Value::Integer(86400)),
            rec("/1/0/7", Value::String("U".into())),
        ],
    );
    w(
        "/2/0",
        vec![
            rec("/2/0/0", Value::Integer(3)),
            rec("/2/0/1", Value::Integer(0)),
            rec("/2/0/2/99", Value::Integer(1)),
            rec("/2/0/3", Value::Integer(99)),
        ],
    );
    c
}

const MASTER_SECRET: [u8; 16] = [
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
];

/// One management server (ssid 101) reached over OSCORE (/0/1/17 → /21/0), lifetime 300 s,
/// full rights on /3/0.
fn plan() -> BootstrapConfig {
    BootstrapConfig {
        security: vec![SecurityInstance {
            instance: 1,
            server_uri: "coap://dm.example:5683".into(),
            bootstrap_server: false,
            security_mode: SecurityMode::NoSec,
            public_key_or_identity: vec![],
            server_public_key: vec![],
            secret_key: vec![],
            short_server_id: Some(101),
            client_hold_off_time: None,
            oscore_security_mode: Some(0),
        }],
        oscore: vec![OscoreInstance {
            instance: 0,
            master_secret: MASTER_SECRET.to_vec(),
            sender_id: vec![0x01],
            recipient_id: vec![0x02],
            aead_algorithm: Some(10),
            hmac_algorithm: None,
            master_salt: None,
            id_context: None,
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
        access_control: vec![AccessControlInstance {
            instance: 0,
            object_id: 3,
            object_instance_id: 0,
            acl: vec![(101, 7)],
            owner: 101,
        }],
        ..BootstrapConfig::default()
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn finished(w: &World, ep: &str) -> bool {
    w.events
        .iter()
        .any(|e| matches!(e, BootstrapEvent::Finished { endpoint, .. } if endpoint == ep))
}

// ---------------------------------------------------------------------------------------------

/// A whole bootstrap: Discover and Read of /1 and /2 before anything is written (BsR-001),
/// Delete `/` before the Writes, the OSCORE instance written and linked from /0, Finish 2.04.
#[test]
fn full_bootstrap_reads_first_deletes_then_writes_and_provisions_oscore() {
    let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
    w.add_device(10, device());
    w.bootstrap_request(10, &["ep=dev", "pct=112"]);
    w.run_for(secs(30));

    let d = w.device(10);
    assert_eq!(d.bs_answer, Some(Code::CHANGED));
    let seen: Vec<(Code, &str)> = d.seen.iter().map(|(c, s)| (*c, s.as_str())).collect();
    assert_eq!(
        seen,
        [
            (Code::GET, "/"),
            (Code::GET, "/1"),
            (Code::GET, "/2"),
            (Code::DELETE, "/"),
            (Code::PUT, "/0/1"),
            (Code::PUT, "/21/0"),
            (Code::PUT, "/1/0"),
            (Code::PUT, "/2/0"),
            (Code::POST, "/bs"),
        ]
    );
    // What the client holds now.
    let c = &d.client;
    assert_eq!(c.value(&p("/0/1/10")), Some(Value::Integer(101)));
    assert_eq!(
        c.value(&p("/0/1/0")),
        Some(Value::String("coap://dm.example:5683".into()))
    );
    assert_eq!(
        c.value(&p("/0/1/17")),
        Some(Value::Objlnk(ObjectLink::new(21, 0)))
    );
    assert_eq!(
        c.value(&p("/21/0/0")),
        Some(Value::Opaque(MASTER_SECRET.to_vec()))
    );
    assert_eq!(c.value(&p("/1/0/0")), Some(Value::Integer(101)));
    assert_eq!(c.value(&p("/1/0/1")), Some(Value::Integer(300)));
    assert_eq!(c.value(&p("/2/0/2/101")), Some(Value::Integer(7)));
    // The old account is gone, the Bootstrap-Server account kept.
    assert_eq!(c.value(&p("/2/0/2/99")), None);
    assert_eq!(c.value(&p("/0/0/1")), Some(Value::Boolean(true)));
    // The provisioned OSCORE context names server 101 (the client's Sender ID 0x01, its
    // Recipient ID 0x02).
    assert_eq!(
        c.requester_for(SecurityIdentity::Oscore {
            sender_id: &[0x01],
            recipient_id: &[0x02],
        }),
        Requester::Server(mote_access::ShortServerId(101))
    );

    // The server's report: started, each step, finished with what was read first.
    let steps: Vec<BootstrapStep> = w
        .events
        .iter()
        .filter_map(|e| match e {
            BootstrapEvent::StepSent { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), 9);
    assert!(
        matches!(&w.events[0], BootstrapEvent::Started { endpoint, peer: 10 } if endpoint == "dev")
    );
    let Some(BootstrapEvent::Finished {
        read, discovered, ..
    }) = w.events.last()
    else {
        panic!("{:?}", w.events.last())
    };
    assert!(
        read.contains(&rec("/1/0/0", Value::Integer(99))),
        "{read:?}"
    );
    assert!(
        read.contains(&rec("/2/0/2/99", Value::Integer(1))),
        "{read:?}"
    );
    assert!(discovered.iter().any(|l| l.path == p("/1/0")));
    assert_eq!(w.engine.server().sessions(), 0);
    assert_eq!(w.server.stats().outstanding_requests, 0);
}

#[test]
fn finish_accepted_sets_the_client_trigger() {
    let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
    w.add_device(10, device());
    w.bootstrap_request(10, &["ep=dev"]);
    w.run_for(secs(30));
    assert!(finished(&w, "dev"));
    let triggers = w.devices.get_mut(&10).unwrap().client.take_triggers();
    assert!(
        triggers.contains(&Trigger::BootstrapFinished),
        "{triggers:?}"
    );
}

/// A plan whose Server account has no Security instance: the client's consistency check
/// answers Bootstrap-Finish 4.06 (Transport §6.4.1), reported as a failure at Finish.
#[test]
fn finish_refused_with_4_06_is_a_failed_session() {
    let mut bad = plan();
    bad.servers[0].short_server_id = 102;
    bad.access_control.clear();
    let mut w = World::new(BootstrapLimits::default(), &[("dev", bad)]);
    w.add_device(10, device());
    w.bootstrap_request(10, &["ep=dev"]);
    w.run_for(secs(30));
    let failed: Vec<_> = w
        .events
        .iter()
        .filter_map(|e| match e {
            BootstrapEvent::Failed {
                endpoint,
                step,
                code,
                reason,
            } => Some((endpoint.as_str(), step.clone(), *code, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", w.events);
    let (ep, step, code, reason) = &failed[0];
    assert_eq!(
        (*ep, step, *code),
        ("dev", &BootstrapStep::Finish, Some(Code::NOT_ACCEPTABLE))
    );
    assert!(reason.contains("/1/0"), "{reason}");
    assert!(!finished(&w, "dev"));
    assert_eq!(w.engine.server().sessions(), 0);
}

/// An Endpoint Client Name without a plan: 4.00 Bad Request (Transport §6.7, "Unknown
/// Endpoint Client Name"), and nothing is sent to the client. Another method or path on the
/// bootstrap resource is not a Bootstrap-Request.
#[test]
fn unknown_endpoint_is_refused_and_left_alone() {
    let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
    w.add_device(10, device());
    w.bootstrap_request(10, &["ep=stranger"]);
    w.run_for(secs(30));
    let d = w.device(10);
    assert_eq!(d.bs_answer, Some(Code::BAD_REQUEST));
    assert!(d.seen.is_empty());
    assert!(
        matches!(
            w.events.as_slice(),
            [BootstrapEvent::Refused { endpoint: Some(e), code: Code::BAD_REQUEST, peer: 10, .. }] if e == "stranger"
        ),
        "{:?}",
        w.events
    );
    // No `ep` at all: 4.00 too.
    w.bootstrap_request(10, &[]);
    w.run_for(secs(30));
    assert_eq!(w.device(10).bs_answer, Some(Code::BAD_REQUEST));
    assert_eq!(w.engine.server().sessions(), 0);
}

/// A `pct` that is no hierarchical format: 4.15 (Transport §6.7).
#[test]
fn unusable_preferred_content_format_is_refused() {
    let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
    w.add_device(10, device());
    w.bootstrap_request(10, &["ep=dev", "pct=0"]);
    w.run_for(secs(30));
    assert_eq!(
        w.device(10).bs_answer,
        Some(Code::UNSUPPORTED_CONTENT_FORMAT)
    );
    assert!(w.device(10).seen.is_empty());
}

/// Lost datagrams in both directions (a request of the server, a response of the client,
/// the client's Bootstrap-Request) are retransmitted by the endpoints (RFC 7252 §4.2); the
/// client handles each request once (deduplication, §4.5) and the session finishes.
#[test]
fn lost_messages_are_retransmitted_and_the_session_finishes() {
    let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
    w.add_device(10, device());
    // Datagram 0 is the Bootstrap-Request; 1 its answer; 2 the Discover; 3 its answer; …
    w.lose = [0, 2, 5, 9, 10].into_iter().collect();
    w.bootstrap_request(10, &["ep=dev"]);
    w.run_for(secs(300));
    assert_eq!(w.lost, 5);
    assert!(finished(&w, "dev"), "{:?}", w.events);
    let d = w.device(10);
    assert_eq!(d.seen.len(), 9, "{:?}", d.seen);
    assert_eq!(d.client.value(&p("/1/0/0")), Some(Value::Integer(101)));
    // Retransmissions were needed: more datagrams than the 2 × 10 exchanges of a clean run.
    assert!(w.sent.len() > 20, "{}", w.sent.len());
}

/// A Security instance larger than one block goes in Block1 blocks (RFC 7959 §2.5) and
/// arrives whole.
#[test]
fn large_write_goes_block_wise() {
    let mut big = plan();
    let key: Vec<u8> = (0..1500u32).map(|i| (i % 251) as u8).collect();
    big.security[0].server_public_key.clone_from(&key);
    let mut w = World::new(BootstrapLimits::default(), &[("dev", big)]);
    w.add_device(10, device());
    w.bootstrap_request(10, &["ep=dev"]);
    w.run_for(secs(60));
    assert!(finished(&w, "dev"), "{:?}", w.events);
    assert_eq!(
        w.device(10).client.value(&p("/0/1/4")),
        Some(Value::Opaque(key))
    );
    // Block1 (option 27) on the server's datagrams.
    let with_block1 = w
        .sent
        .iter()
        .filter(|(from, _, bytes)| {
            *from == SERVER
                && mote_coap::message::Message::decode(bytes)
                    .unwrap()
                    .option(OptionNumber::BLOCK1)
                    .is_some()
        })
        .count();
    assert!(with_block1 >= 2, "{with_block1}");
    assert!(w.sent.iter().all(|(_, _, b)| b.len() <= 1152));
}

/// The session table is bounded ([`BootstrapLimits::max_sessions`]): with it full of clients
/// that stopped answering, another Bootstrap-Request is 5.03; the stalled sessions fail when
/// the endpoint gives up on their requests, and the table has room again.
#[test]
fn session_table_is_bounded() {
    // The engine's own deadline is far away: what ends the stalled sessions here is the
    // endpoint giving up on their requests.
    let limits = BootstrapLimits {
        max_sessions: 2,
        response_timeout: secs(3600),
        ..BootstrapLimits::default()
    };
    let plans = [("a", plan()), ("b", plan()), ("c", plan())];
    let mut w = World::new(limits, &plans);
    for (addr, ep) in [(10, "a"), (11, "b")] {
        w.add_device(addr, device());
        w.devices.get_mut(&addr).unwrap().answers = false;
        w.bootstrap_request(addr, &[&format!("ep={ep}")]);
    }
    w.run_for(secs(1));
    assert_eq!(w.engine.server().sessions(), 2);
    w.add_device(12, device());
    w.bootstrap_request(12, &["ep=c"]);
    w.run_for(secs(1));
    assert_eq!(w.device(12).bs_answer, Some(Code::SERVICE_UNAVAILABLE));
    assert!(w.events.iter().any(|e| matches!(
        e,
        BootstrapEvent::Refused { endpoint: Some(ep), code: Code::SERVICE_UNAVAILABLE, .. } if ep == "c"
    )));
    assert_eq!(w.engine.server().sessions(), 2);
    // The mute clients' Discover requests are acknowledged but never answered: the sessions
    // end (EXCHANGE_LIFETIME, RFC 7252 §4.8.2, is 247 s).
    w.run_for(secs(300));
    let failed = w
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                BootstrapEvent::Failed {
                    step: BootstrapStep::Discover,
                    code: None,
                    ..
                }
            )
        })
        .count();
    assert_eq!(failed, 2, "{:?}", w.events);
    assert_eq!(w.engine.server().sessions(), 0);
    w.bootstrap_request(12, &["ep=c"]);
    w.run_for(secs(30));
    assert!(finished(&w, "c"));
}

/// A second Bootstrap-Request while a session runs starts it over; the late answer to the
/// old session's request does not leak into the new one.
#[test]
fn a_new_bootstrap_request_starts_the_session_over() {
    let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
    w.add_device(10, device());
    w.devices.get_mut(&10).unwrap().answers = false;
    w.bootstrap_request(10, &["ep=dev"]);
    w.run_for(secs(5));
    assert_eq!(w.device(10).seen.len(), 0);
    assert_eq!(w.server.stats().outstanding_requests, 1);
    w.devices.get_mut(&10).unwrap().answers = true;
    w.bootstrap_request(10, &["ep=dev"]);
    w.run_for(secs(30));
    // The old session's Discover was cancelled, not left to time out.
    assert_eq!(w.server.stats().outstanding_requests, 0);
    let started = w
        .events
        .iter()
        .filter(|e| matches!(e, BootstrapEvent::Started { .. }))
        .count();
    assert_eq!(started, 2);
    assert!(finished(&w, "dev"), "{:?}", w.events);
    assert!(
        !w.events
            .iter()
            .any(|e| matches!(e, BootstrapEvent::Failed { .. })),
        "{:?}",
        w.events
    );
}

/// Requests that are not for `/bs` are handed back to the caller.
#[test]
fn other_requests_are_handed_back() {
    let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
    w.add_device(10, device());
    let req =
        OwnedMessage::new(MessageType::Con, Code::GET, 0).with_option(OptionNumber::URI_PATH, "rd");
    let now = w.now;
    w.devices
        .get_mut(&10)
        .unwrap()
        .ep
        .request(now, SERVER, req, Reliability::Confirmable)
        .unwrap();
    w.run_for(secs(5));
    // World answers leftovers 4.04.
    assert_eq!(w.device(10).bs_answer, Some(Code::NOT_FOUND));
    assert!(w.events.is_empty());
}

/// The engine's own response deadline ([`BootstrapLimits::response_timeout`]) fails a session
/// whose client acknowledged a request but never answered it, and cancels that request on the
/// endpoint.
#[test]
fn response_timeout_fails_the_session_and_cancels_its_request() {
    let limits = BootstrapLimits {
        max_sessions: 4,
        response_timeout: secs(20),
        ..BootstrapLimits::default()
    };
    let mut w = World::new(limits, &[("dev", plan())]);
    w.add_device(10, device());
    w.devices.get_mut(&10).unwrap().answers = false;
    w.bootstrap_request(10, &["ep=dev"]);
    w.run_for(secs(10));
    assert_eq!(w.server.stats().outstanding_requests, 1);
    assert!(
        w.events
            .iter()
            .all(|e| !matches!(e, BootstrapEvent::Failed { .. }))
    );
    w.run_for(secs(15));
    assert!(
        w.events.iter().any(|e| matches!(
            e,
            BootstrapEvent::Failed { endpoint, step: BootstrapStep::Discover, code: None, .. } if endpoint == "dev"
        )),
        "{:?}",
        w.events
    );
    assert_eq!(w.engine.server().sessions(), 0);
    assert_eq!(w.server.stats().outstanding_requests, 0);
}

/// The event queue is bounded ([`BootstrapEngineConfig::max_queued_events`]): events beyond it
/// are counted, not queued.
#[test]
fn event_queue_is_bounded() {
    let mut bs = BootstrapServer::new(BootstrapLimits::default());
    bs.set_plan("dev", plan());
    let mut engine: BootstrapEngine<u16> = BootstrapEngine::new(
        bs,
        BootstrapEngineConfig {
            max_queued_events: 3,
            ..BootstrapEngineConfig::default()
        },
    );
    let mut server: Ep = Endpoint::new(EndpointConfig::default(), Xs(7)).unwrap();
    let now = secs(1);
    // Five refused Bootstrap-Requests from five clients, nobody polling the engine's events.
    for addr in 10..15u16 {
        let mut client: Ep = Endpoint::new(EndpointConfig::default(), Xs(u64::from(addr))).unwrap();
        let req = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, "bs")
            .with_option(OptionNumber::URI_QUERY, "ep=nobody");
        client
            .request(now, SERVER, req, Reliability::NonConfirmable)
            .unwrap();
        while let Some(t) = client.poll_transmit() {
            server.handle(now, addr, &t.datagram);
        }
    }
    while let Some(e) = server.poll_event() {
        assert!(engine.handle_event(&mut server, e, now).is_none());
    }
    assert_eq!(engine.dropped_events(), 2);
    let mut n = 0;
    while let Some(e) = engine.poll_event() {
        assert!(matches!(
            e,
            BootstrapEvent::Refused {
                code: Code::BAD_REQUEST,
                ..
            }
        ));
        n += 1;
    }
    assert_eq!(n, 3);
}

// ---------------------------------------------------------------------------------------------
// Bootstrap-Pack-Request (Core §6.1 "Bootstrap-Pack-Request Operation", Transport §6.4.1 and
// the Bootstrap Interface response code table of §6.7).

/// The records of `plan()`, written out by hand (not computed by the code under test).
fn plan_records() -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = [
        ("/0/1/0", Value::String("coap://dm.example:5683".into())),
        ("/0/1/1", Value::Boolean(false)),
        ("/0/1/2", Value::Integer(3)),
        ("/0/1/3", Value::Opaque(vec![])),
        ("/0/1/4", Value::Opaque(vec![])),
        ("/0/1/5", Value::Opaque(vec![])),
        ("/0/1/10", Value::Integer(101)),
        ("/0/1/17", Value::Objlnk(ObjectLink::new(21, 0))),
        ("/21/0/0", Value::Opaque(MASTER_SECRET.to_vec())),
        ("/21/0/1", Value::Opaque(vec![0x01])),
        ("/21/0/2", Value::Opaque(vec![0x02])),
        ("/21/0/3", Value::Integer(10)),
        ("/1/0/0", Value::Integer(101)),
        ("/1/0/1", Value::Integer(300)),
        ("/1/0/6", Value::Boolean(false)),
        ("/1/0/7", Value::String("U".into())),
        ("/2/0/0", Value::Integer(3)),
        ("/2/0/1", Value::Integer(0)),
        ("/2/0/2/101", Value::Integer(7)),
        ("/2/0/3", Value::Integer(101)),
    ]
    .into_iter()
    .map(|(p, v)| (p.to_string(), v))
    .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The pack the device received, decoded with mote-lwm2m's decoder for `cf`.
fn received_pack(w: &World, addr: u16, cf: u16) -> Vec<(String, Value)> {
    let m = w.device(addr).last_response.clone().unwrap();
    assert_eq!(
        m.code,
        Code::CONTENT,
        "{:?}",
        String::from_utf8_lossy(&m.payload)
    );
    assert_eq!(
        m.option(OptionNumber::CONTENT_FORMAT)
            .map(|o| o.as_uint().unwrap()),
        Some(u32::from(cf))
    );
    let format = mote_lwm2m::Format::from_content_format(ContentFormat(cf)).unwrap();
    let records = mote_lwm2m::decode(
        format,
        &Path::ROOT,
        &m.payload,
        &mote_lwm2m::object::Builtin,
    )
    .unwrap();
    let mut got: Vec<(String, Value)> = records
        .into_iter()
        .map(|r| (r.path.to_string(), r.value))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    got
}

/// `GET /bspack?ep=dev` with Accept SenML CBOR, SenML JSON or LwM2M CBOR is answered 2.05 with
/// exactly the plan's /0, /21, /1 and /2 records in that format; without Accept, SenML CBOR.
/// No session starts and nothing is sent to the client (no Bootstrap-Finish for a pack).
#[test]
fn bootstrap_pack_holds_the_whole_plan_in_each_format() {
    for (accept, cf) in [
        (Some(112), 112),
        (Some(110), 110),
        (Some(11544), 11544),
        (None, 112),
    ] {
        let mut w = World::new(BootstrapLimits::default(), &[("dev", plan())]);
        w.add_device(10, device());
        w.pack_request(10, Code::GET, &["ep=dev"], accept);
        w.run_for(secs(30));
        assert_eq!(
            received_pack(&w, 10, cf),
            plan_records(),
            "Accept {accept:?}"
        );
        assert!(w.device(10).seen.is_empty(), "{:?}", w.device(10).seen);
        assert_eq!(w.engine.server().sessions(), 0);
        let format = mote_lwm2m::Format::from_content_format(ContentFormat(cf)).unwrap();
        assert!(
            matches!(
                &w.events[..],
                [BootstrapEvent::PackServed { endpoint, peer: 10, format: f, size }]
                    if endpoint == "dev" && *f == format && *size > 100
            ),
            "{:?}",
            w.events
        );
    }
}

/// A pack larger than one block goes in Block2 blocks (RFC 7959 §2.4) and the client's
/// endpoint reassembles it whole.
#[test]
fn large_bootstrap_pack_goes_block_wise() {
    let mut big = plan();
    let key: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    big.security[0].server_public_key.clone_from(&key);
    let mut w = World::new(BootstrapLimits::default(), &[("dev", big)]);
    w.add_device(10, device());
    w.pack_request(10, Code::GET, &["ep=dev"], Some(112));
    w.run_for(secs(30));
    let mut expected = plan_records();
    for r in &mut expected {
        if r.0 == "/0/1/4" {
            r.1 = Value::Opaque(key.clone());
        }
    }
    assert_eq!(received_pack(&w, 10, 112), expected);
    let with_block2 = w
        .sent
        .iter()
        .filter(|(from, _, bytes)| {
            *from == SERVER
                && mote_coap::message::Message::decode(bytes)
                    .unwrap()
                    .option(OptionNumber::BLOCK2)
                    .is_some()
        })
        .count();
    assert!(with_block2 >= 3, "{with_block2}");
    assert!(w.sent.iter().all(|(_, _, b)| b.len() <= 1152));
}

/// Each refusal with its code (Transport §6.7, Bootstrap-Pack-Request rows): 4.00 for an
/// unknown or missing Endpoint Client Name, 4.06 for an Accept no pack is served in (TLV,
/// text), 4.05 for another method and for a plan not offered as a pack.
#[test]
fn bootstrap_pack_refusals_carry_the_ts_codes() {
    let no_pack = BootstrapConfig {
        allow_pack: false,
        ..plan()
    };
    let cases: [(Code, &[&str], Option<u16>, Code); 6] = [
        (Code::GET, &["ep=stranger"], Some(112), Code::BAD_REQUEST),
        (Code::GET, &[], Some(112), Code::BAD_REQUEST),
        (Code::GET, &["ep=dev"], Some(11542), Code::NOT_ACCEPTABLE),
        (Code::GET, &["ep=dev"], Some(0), Code::NOT_ACCEPTABLE),
        (Code::POST, &["ep=dev"], Some(112), Code::METHOD_NOT_ALLOWED),
        (
            Code::GET,
            &["ep=nopack"],
            Some(112),
            Code::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, query, accept, code) in cases {
        let mut w = World::new(
            BootstrapLimits::default(),
            &[("dev", plan()), ("nopack", no_pack.clone())],
        );
        w.add_device(10, device());
        w.pack_request(10, method, query, accept);
        w.run_for(secs(30));
        let case = format!("{method} {query:?} {accept:?}");
        assert_eq!(w.device(10).bs_answer, Some(code), "{case}");
        assert!(
            matches!(&w.events[..], [BootstrapEvent::Refused { code: c, peer: 10, .. }] if *c == code),
            "{case}: {:?}",
            w.events
        );
        // No secret leaks into a refusal.
        let payload = &w.device(10).last_response.as_ref().unwrap().payload;
        assert!(
            !payload
                .windows(MASTER_SECRET.len())
                .any(|x| x == MASTER_SECRET),
            "{case}"
        );
        assert_eq!(w.engine.server().sessions(), 0);
    }
}
