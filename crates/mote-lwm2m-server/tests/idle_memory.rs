//! "Memory per registered client stays bounded" (issue 13): 200 clients, each with its own
//! OSCORE context (RFC 8613), register with the LwM2M server engine, update once, answer one
//! server Read, then stay idle past EXCHANGE_LIFETIME (RFC 7252 §4.8.2). The server's heap per
//! idle registered client — its OSCORE security context, the registration in the store, the
//! engine's and the endpoint's state — must be at most 4096 bytes. Bytes, not time: a counting
//! global allocator (`stats_alloc`), a simulated clock, an in-memory network.
//!
//! The counting allocator sees every thread of the process, so this binary has no libtest
//! harness (`harness = false` in Cargo.toml, as mote-oscore's `no_allocation`): `main` runs
//! the measurement on the only thread there is.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

#[allow(dead_code)] // the bootstrap tests' Device object is not needed here
mod common;
#[path = "common/counting.rs"]
mod counting;
#[path = "common/oscore_server.rs"]
mod oscore_server;

use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability, RequestOptions};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Format, Path, Record, Value};
use mote_lwm2m_server::{Operation, ServerEvent};
use mote_oscore::endpoint::{ContextId, OscoreConfig};

use common::Xs;
use counting::live_bytes;
use oscore_server::{Engine, Ep, Oscore, SERVER, client_id, context, server_side};

/// The bound: heap per idle registered OSCORE client.
const BOUND: i64 = 4096;
const CLIENTS: u16 = 200;

struct Client {
    ep: Ep,
    ctx: ContextId,
    location: Vec<String>,
    reads: usize,
}

/// Delivers datagrams, events and answers until nothing moves.
/// Counts the engine's events: (Updated, successful operation results).
fn settle(
    now: &mut Duration,
    server: &mut Ep,
    engine: &mut Engine,
    clients: &mut [Client],
    counts: &mut (usize, usize),
) {
    loop {
        let mut wire = Vec::new();
        while let Some(e) = server.poll_event() {
            engine.handle_event(server, e, *now);
        }
        while let Some(t) = server.poll_transmit() {
            wire.push((SERVER, t.peer, t.datagram));
        }
        while let Some(e) = engine.poll_event() {
            match e {
                ServerEvent::Updated { .. } => counts.0 += 1,
                ServerEvent::OperationResult { result: Ok(_), .. } => counts.1 += 1,
                _ => {}
            }
        }
        for (i, c) in clients.iter_mut().enumerate() {
            while let Some(e) = c.ep.poll_event() {
                match e {
                    Event::Request { id, .. } => {
                        c.reads += 1;
                        let body = mote_lwm2m::encode(
                            Format::SenmlCbor,
                            &"/3/0/9".parse().unwrap(),
                            &[Record::new("/3/0/9".parse().unwrap(), Value::Integer(80))],
                        )
                        .unwrap();
                        let mut a = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
                            .with_payload(body);
                        a.options.push_uint(OptionNumber::CONTENT_FORMAT, 112);
                        c.ep.respond(*now, id, a).unwrap();
                    }
                    Event::Response { message, .. } => {
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
                wire.push((i as u16 + 1, t.peer, t.datagram));
            }
        }
        if wire.is_empty() {
            return;
        }
        *now += Duration::from_millis(1);
        for (from, to, bytes) in wire {
            if to == SERVER {
                server.handle(*now, from, &bytes);
            } else {
                clients[usize::from(to) - 1].ep.handle(*now, from, &bytes);
            }
        }
    }
}

fn request(now: Duration, c: &mut Client, m: OwnedMessage) {
    let opts = RequestOptions::new(Reliability::Confirmable, c.ep.config().client_blockwise);
    c.ep.request_protected(now, SERVER, m, opts, c.ctx).unwrap();
}

fn main() {
    heap_per_idle_registered_oscore_client_is_bounded();
    println!("idle_memory: heap_per_idle_registered_oscore_client_is_bounded ok");
}

fn heap_per_idle_registered_oscore_client_is_bounded() {
    let size = usize::from(CLIENTS);
    // What a server of this size costs without any client (tables, object definitions).
    let before = live_bytes();
    let empty = server_side(0, size);
    let fixed = live_bytes() - before;
    drop(empty);

    let before = live_bytes();
    let (mut server, mut engine) = server_side(CLIENTS, size);
    let mut clients: Vec<Client> = (1..=CLIENTS)
        .map(|i| {
            let ctx = context(&client_id(i), &[]);
            let id = ContextId::of(&ctx);
            let mut oscore = Oscore::new(OscoreConfig { max_contexts: 1 }, Xs(u64::from(i) + 11));
            oscore.add_context(ctx).unwrap();
            let ep = Endpoint::with_protection(
                EndpointConfig::default(),
                Xs(u64::from(i) * 31 + 7),
                oscore,
            )
            .unwrap();
            Client {
                ep,
                ctx: id,
                location: Vec::new(),
                reads: 0,
            }
        })
        .collect();
    let mut now = Duration::from_secs(1);
    let mut counts = (0, 0);
    for (i, c) in clients.iter_mut().enumerate() {
        let m = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, "rd")
            .with_option(OptionNumber::CONTENT_FORMAT, [40u8])
            .with_option(OptionNumber::URI_QUERY, format!("ep=device-{i:04}"))
            .with_option(OptionNumber::URI_QUERY, "lt=86400")
            .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
            .with_payload("</>;rt=\"oma.lwm2m\";ct=112,</1/0>,</3/0>,</4/0>,</5/0>");
        request(now, c, m);
    }
    settle(
        &mut now,
        &mut server,
        &mut engine,
        &mut clients,
        &mut counts,
    );
    for c in &mut clients {
        let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0);
        for s in c.location.clone() {
            m = m.with_option(OptionNumber::URI_PATH, s);
        }
        request(now, c, m);
    }
    settle(
        &mut now,
        &mut server,
        &mut engine,
        &mut clients,
        &mut counts,
    );
    let path: Path = "/3/0/9".parse().unwrap();
    for i in 0..size {
        let read = Operation::Read { path, format: None };
        let name = format!("device-{i:04}");
        engine.submit(&mut server, now, &name, read, None).unwrap();
    }
    settle(
        &mut now,
        &mut server,
        &mut engine,
        &mut clients,
        &mut counts,
    );

    // The work happened: every client registered, updated once and answered one Read.
    assert_eq!(
        engine.registrations().len(),
        size,
        "every client registered"
    );
    assert_eq!(counts, (size, size), "one Update and one Read each");
    assert!(
        clients
            .iter()
            .all(|c| c.reads == 1 && c.location.len() == 2)
    );

    // Idle: the clients are gone from this process, EXCHANGE_LIFETIME (247 s) has passed.
    drop(clients);
    now += Duration::from_secs(300);
    server.handle_timeout(now);
    engine.handle_timeout(&mut server, now);
    while server.poll_transmit().is_some() {}
    while let Some(e) = server.poll_event() {
        engine.handle_event(&mut server, e, now);
    }
    while engine.poll_event().is_some() {}
    assert_eq!(
        server.stats().peers,
        0,
        "no per-peer endpoint state once idle"
    );
    let per_client = (live_bytes() - before - fixed) / i64::from(CLIENTS);
    println!("idle_memory: {per_client} bytes per idle registered OSCORE client (bound {BOUND})");
    assert!(
        per_client <= BOUND,
        "{per_client} bytes per idle registered OSCORE client, bound {BOUND}"
    );
    drop((server, engine));
}
