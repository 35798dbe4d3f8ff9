//! Load on the LwM2M server engine in one process: N simulated clients (default 1,000), each
//! with its own OSCORE context (RFC 8613) on its own CoAP endpoint, against one server endpoint
//! holding N contexts, over an in-memory lossless network on a simulated clock.
//!
//! Phases: every client registers; every client updates; the server Reads /3/0/9 of every
//! client; the server Writes /3/0/9 of every client; every client Sends. It checks that every
//! Send record arrives exactly once and every Write is applied exactly once, and prints
//! registrations/s, OSCORE requests/s through the server (wall clock, this process doing both
//! sides' work) and the server's heap per idle registered client (counting allocator).
//!
//! `cargo run -p mote-lwm2m-server --example load --release -- 1000`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)] // the bootstrap tests' Device object is not needed here
mod common;
#[path = "../tests/common/counting.rs"]
mod counting;
#[path = "../tests/common/oscore_server.rs"]
mod oscore_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability, RequestOptions};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Format, Path, Record, Value};
use mote_lwm2m_server::operation::WriteMode;
use mote_lwm2m_server::{Operation, ServerEvent};
use mote_oscore::endpoint::{ContextId, OscoreConfig};

use common::Xs;
use counting::live_bytes;
use oscore_server::{Engine, Ep, Oscore, SERVER, client_id, context, server_side};

struct Client {
    ep: Ep,
    ctx: ContextId,
    location: Vec<String>,
    value: i64,
    writes: usize,
    answered: usize,
}

struct World {
    now: Duration,
    server: Ep,
    engine: Engine,
    clients: Vec<Client>,
    wire: Vec<(u16, u16, Vec<u8>)>,
    events: Vec<ServerEvent>,
    messages: usize,
}

impl World {
    /// Delivers everything until no message, event or transmit is left.
    fn settle(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.server.poll_transmit() {
                self.wire.push((SERVER, t.peer, t.datagram));
            }
            while let Some(e) = self.server.poll_event() {
                progress = true;
                self.engine.handle_event(&mut self.server, e, self.now);
            }
            while let Some(e) = self.engine.poll_event() {
                self.events.push(e);
            }
            for (i, c) in self.clients.iter_mut().enumerate() {
                while let Some(e) = c.ep.poll_event() {
                    progress = true;
                    match e {
                        Event::Request { id, message, .. } => {
                            let answer = answer(c, &message.message);
                            c.ep.respond(self.now, id, answer).unwrap();
                        }
                        Event::Response { message, .. } => {
                            c.answered += 1;
                            if message.code == Code::CREATED {
                                c.location = message
                                    .options
                                    .get_all(OptionNumber::LOCATION_PATH)
                                    .map(|o| o.as_str().unwrap().to_string())
                                    .collect();
                            }
                        }
                        other => panic!("client {i}: {other:?}"),
                    }
                }
                while let Some(t) = c.ep.poll_transmit() {
                    self.wire.push((i as u16 + 1, t.peer, t.datagram));
                }
            }
            if !self.wire.is_empty() {
                progress = true;
                self.now += Duration::from_millis(1);
                for (from, to, bytes) in std::mem::take(&mut self.wire) {
                    self.messages += 1;
                    if to == SERVER {
                        self.server.handle(self.now, from, &bytes);
                    } else {
                        self.clients[usize::from(to) - 1]
                            .ep
                            .handle(self.now, from, &bytes);
                    }
                }
            }
            if !progress {
                return;
            }
        }
    }

    fn client_request(&mut self, i: usize, m: OwnedMessage) {
        let now = self.now;
        let c = &mut self.clients[i];
        let opts = RequestOptions::new(Reliability::Confirmable, c.ep.config().client_blockwise);
        c.ep.request_protected(now, SERVER, m, opts, c.ctx).unwrap();
    }
}

fn answer(c: &mut Client, m: &OwnedMessage) -> OwnedMessage {
    let plain = |code| OwnedMessage::new(MessageType::Ack, code, 0);
    match m.code {
        Code::GET => {
            let body = mote_lwm2m::encode(
                Format::SenmlCbor,
                &"/3/0/9".parse().unwrap(),
                &[Record::new(
                    "/3/0/9".parse().unwrap(),
                    Value::Integer(c.value),
                )],
            )
            .unwrap();
            let mut a = plain(Code::CONTENT).with_payload(body);
            a.options.push_uint(OptionNumber::CONTENT_FORMAT, 112);
            a
        }
        Code::PUT => {
            c.writes += 1;
            let r = mote_lwm2m::decode(
                Format::SenmlCbor,
                &"/3/0/9".parse().unwrap(),
                &m.payload,
                &mote_lwm2m::object::ObjectRegistry::with_builtin(),
            )
            .unwrap();
            if let Some(Value::Integer(v)) = r.first().map(|r| &r.value) {
                c.value = *v;
            }
            plain(Code::CHANGED)
        }
        _ => plain(Code::METHOD_NOT_ALLOWED),
    }
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let n: u16 = std::env::args()
        .nth(1)
        .map_or(1000, |a| a.parse().expect("N"));
    let size = usize::from(n);
    // The fixed cost of a server (object definitions, tables), without any client.
    let fixed = {
        let before = live_bytes();
        let (server, engine) = server_side(0, size);
        let fixed = live_bytes() - before;
        drop((server, engine));
        fixed
    };
    let before_server = live_bytes();
    let (server, engine) = server_side(n, size);
    let mut w = World {
        now: Duration::from_secs(1),
        server,
        engine,
        clients: Vec::new(),
        wire: Vec::new(),
        events: Vec::new(),
        messages: 0,
    };
    let server_before_clients = live_bytes();
    for i in 1..=n {
        let mut oscore = Oscore::new(OscoreConfig { max_contexts: 1 }, Xs(u64::from(i) + 11));
        let ctx = context(&client_id(i), &[]);
        let id = ContextId::of(&ctx);
        oscore.add_context(ctx).unwrap();
        w.clients.push(Client {
            ep: Endpoint::with_protection(
                EndpointConfig::default(),
                Xs(u64::from(i) * 31 + 7),
                oscore,
            )
            .unwrap(),
            ctx: id,
            location: Vec::new(),
            value: 0,
            writes: 0,
            answered: 0,
        });
    }

    // Register.
    let t = Instant::now();
    for i in 0..size {
        let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, "rd")
            .with_option(OptionNumber::CONTENT_FORMAT, [40u8])
            .with_option(OptionNumber::URI_QUERY, format!("ep=dev{i}"))
            .with_option(OptionNumber::URI_QUERY, "lt=86400")
            .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
            .with_payload("</>;rt=\"oma.lwm2m\";ct=112,</1/0>,</3/0>");
        m.message_id = 0;
        w.client_request(i, m);
    }
    w.settle();
    let register = t.elapsed();
    assert_eq!(
        w.engine.registrations().len(),
        size,
        "every client registered"
    );

    // Update.
    let t = Instant::now();
    for i in 0..size {
        let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0);
        for s in w.clients[i].location.clone() {
            m = m.with_option(OptionNumber::URI_PATH, s);
        }
        w.client_request(i, m);
    }
    w.settle();
    let update = t.elapsed();
    let updates = w
        .events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Updated { .. }))
        .count();
    assert_eq!(updates, size, "every Update accepted once");

    // Read every client, then Write every client.
    let path: Path = "/3/0/9".parse().unwrap();
    let t = Instant::now();
    for i in 0..size {
        let now = w.now;
        w.engine
            .submit(
                &mut w.server,
                now,
                &format!("dev{i}"),
                Operation::Read { path, format: None },
                None,
            )
            .unwrap();
    }
    w.settle();
    for i in 0..size {
        let now = w.now;
        let op = Operation::Write {
            path,
            mode: WriteMode::Replace,
            format: Some(Format::SenmlCbor),
            records: vec![Record::new(path, Value::Integer(1000 + i as i64))],
        };
        w.engine
            .submit(&mut w.server, now, &format!("dev{i}"), op, None)
            .unwrap();
    }
    w.settle();
    let operations = t.elapsed();
    let results = w
        .events
        .iter()
        .filter(|e| matches!(e, ServerEvent::OperationResult { result: Ok(_), .. }))
        .count();
    assert_eq!(results, 2 * size, "every Read and Write answered once");
    for (i, c) in w.clients.iter().enumerate() {
        assert_eq!(c.writes, 1, "client {i}: the Write applied exactly once");
        assert_eq!(c.value, 1000 + i as i64);
    }

    // Send.
    let t = Instant::now();
    for i in 0..size {
        let mut r = Record::new(path, Value::Integer(i as i64));
        r.time = Some(1_700_000_000.0 + i as f64);
        let body = mote_lwm2m::encode(Format::SenmlCbor, &Path::ROOT, &[r]).unwrap();
        let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, "dp")
            .with_payload(body);
        m.options.push_uint(OptionNumber::CONTENT_FORMAT, 112);
        w.client_request(i, m);
    }
    w.settle();
    let send = t.elapsed();
    let mut sends: BTreeMap<String, usize> = BTreeMap::new();
    for e in &w.events {
        if let ServerEvent::Send { endpoint, records } = e {
            assert_eq!(records.len(), 1);
            *sends.entry(endpoint.clone()).or_default() += 1;
        }
    }
    assert_eq!(sends.len(), size, "a Send from every client");
    assert!(
        sends.values().all(|c| *c == 1),
        "each Send record exactly once"
    );

    // The server's heap per idle registered client: everything the server holds (OSCORE
    // contexts, registrations, endpoint peer state, dedup entries) once the clients are gone
    // from this process and the event log is dropped.
    // Idle: past EXCHANGE_LIFETIME (RFC 7252 §4.8.2) the deduplication entries are gone.
    w.events = Vec::new();
    drop(std::mem::take(&mut w.clients));
    w.now += Duration::from_secs(300);
    w.server.handle_timeout(w.now);
    w.engine.handle_timeout(&mut w.server, w.now);
    while w.server.poll_transmit().is_some() {}
    while let Some(e) = w.server.poll_event() {
        w.engine.handle_event(&mut w.server, e, w.now);
    }
    while w.engine.poll_event().is_some() {}
    let server_idle = live_bytes();
    let per_client = (server_idle - before_server - fixed) as f64 / f64::from(n);
    let stats = w.server.stats();
    println!("clients: {n}, messages on the wire: {}", w.messages);
    println!(
        "register: {:.0} registrations/s ({:.1} ms)",
        per_second(size, register),
        register.as_secs_f64() * 1e3
    );
    println!("update: {:.0} updates/s", per_second(size, update));
    println!(
        "read + write: {:.0} OSCORE requests/s from the server",
        per_second(2 * size, operations)
    );
    println!("send: {:.0} Sends/s", per_second(size, send));
    let all = register + update + operations + send;
    println!(
        "overall: {:.0} OSCORE requests/s through the server (5 per client)",
        per_second(5 * size, all)
    );
    println!(
        "server heap per idle registered client: {per_client:.0} bytes (fixed server cost {fixed} bytes; OSCORE context before any message {:.0} bytes per client; dedup entries {}, peers {})",
        (server_before_clients - before_server - fixed) as f64 / f64::from(n),
        stats.dedup_entries,
        stats.peers
    );
    // Where it is: the store's heap (a copy of it, measured), then what dropping the engine
    // and the server endpoint (which owns the OSCORE contexts) frees.
    let per = |b: i64| b as f64 / f64::from(n);
    let store = {
        let before = live_bytes();
        let copy = w.engine.core().store().clone();
        let b = live_bytes() - before;
        drop(copy);
        b
    };
    let World { server, engine, .. } = w;
    let a = live_bytes();
    drop(engine);
    let b = live_bytes();
    drop(server);
    let c = live_bytes();
    println!(
        "split per idle client: endpoint with OSCORE contexts {:.0} bytes; engine {:.0} bytes, of which registration store {:.0} bytes",
        per(b - c),
        per(a - b),
        per(store)
    );
}
