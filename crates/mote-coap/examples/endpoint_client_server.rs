//! Two sans-IO [`Endpoint`]s, a client and a server, over an in-memory "network": a CON GET
//! answered with a piggybacked 2.05 (RFC 7252 §5.2.1), then a 3000-byte download the server's
//! endpoint slices with Block2 and the client's endpoint reassembles (RFC 7959 §2.4). The
//! application on each side sees whole requests and whole responses only. Asserts each outcome.
//!
//! Run with `cargo run -p mote-coap --example endpoint_client_server`.
//!
//! [`Endpoint`]: mote_coap::endpoint::Endpoint

use core::time::Duration;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;

type Error = Box<dyn std::error::Error>;

/// Peers are named by a `&str` here; a real program uses a `SocketAddr`.
const CLIENT: &str = "client";
const SERVER: &str = "server";

/// An xorshift generator: the endpoint draws Message IDs, tokens and jitter from the caller.
fn rng(mut seed: u32) -> impl FnMut() -> u32 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    }
}

/// Moves every pending datagram between the two endpoints until both are quiet, answering each
/// request the server sees with `serve`. Returns the events the client saw and the number of
/// datagrams it sent.
fn run<R: RandomSource>(
    now: Duration,
    client: &mut Endpoint<&'static str, R>,
    server: &mut Endpoint<&'static str, R>,
    serve: impl Fn(&OwnedMessage) -> OwnedMessage,
) -> Result<(Vec<Event<&'static str>>, usize), Error> {
    let mut client_events = Vec::new();
    let mut sent = 0;
    loop {
        let mut moved = false;
        while let Some(t) = client.poll_transmit() {
            server.handle(now, CLIENT, &t.datagram);
            sent += 1;
            moved = true;
        }
        while let Some(event) = server.poll_event() {
            if let Event::Request { id, message, .. } = event {
                server.respond(now, id, serve(&message))?;
            }
        }
        while let Some(t) = server.poll_transmit() {
            client.handle(now, SERVER, &t.datagram);
            moved = true;
        }
        client_events.extend(std::iter::from_fn(|| client.poll_event()));
        if !moved {
            return Ok((client_events, sent));
        }
    }
}

fn main() -> Result<(), Error> {
    let mut client = Endpoint::new(EndpointConfig::default(), rng(7))?;
    let mut server = Endpoint::new(EndpointConfig::default(), rng(11))?;
    let now = Duration::from_secs(100);
    let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();

    // The server's application: /temp is small, /big needs Block2 (the endpoint slices it).
    let serve = |request: &OwnedMessage| {
        let path = request
            .option(OptionNumber::URI_PATH)
            .map(|o| o.value.to_vec());
        let response = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0);
        match path.as_deref() {
            Some(b"temp") => response.with_payload(*b"22.3 C"),
            Some(b"big") => response.with_payload(big.clone()),
            _ => OwnedMessage::new(MessageType::Ack, Code::NOT_FOUND, 0),
        }
    };

    // 1. CON GET /temp: type, Message ID and token are the endpoint's to choose.
    let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "temp");
    let id = client.request(now, SERVER, get, Reliability::Confirmable)?;
    let (events, sent) = run(now, &mut client, &mut server, serve)?;
    assert_eq!(sent, 1);
    match events.as_slice() {
        [
            Event::Response {
                id: got, message, ..
            },
        ] => {
            assert_eq!(*got, id);
            assert_eq!(message.mtype, MessageType::Ack, "piggybacked");
            assert_eq!(message.code, Code::CONTENT);
            assert_eq!(message.payload, b"22.3 C");
            println!(
                "GET /temp -> {} {:?}",
                message.code,
                String::from_utf8_lossy(&message.payload)
            );
        }
        other => return Err(format!("unexpected events {other:?}").into()),
    }

    // 2. CON GET /big: the response comes in Block2 blocks, the client fetches each one.
    let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
        .with_option(OptionNumber::URI_PATH, "big");
    let id = client.request(now, SERVER, get, Reliability::Confirmable)?;
    let (events, sent) = run(now, &mut client, &mut server, serve)?;
    // 3000 bytes in blocks of 1024 (the default): the first GET and two follow-ups.
    assert_eq!(sent, 3);
    match events.as_slice() {
        [
            Event::Response {
                id: got, message, ..
            },
        ] => {
            assert_eq!(*got, id);
            assert_eq!(message.code, Code::CONTENT);
            assert_eq!(message.payload, big, "the whole body, reassembled");
            assert!(
                message.option(OptionNumber::BLOCK2).is_none(),
                "blocks are hidden"
            );
            println!(
                "GET /big  -> {} with {} bytes",
                message.code,
                message.payload.len()
            );
        }
        other => return Err(format!("unexpected events {other:?}").into()),
    }

    // Nothing is outstanding: no retransmission timer remains.
    assert_eq!(client.poll_timeout(), None);
    Ok(())
}
