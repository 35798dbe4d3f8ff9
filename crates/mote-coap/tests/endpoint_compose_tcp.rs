//! CoAP over TCP (RFC 8323) inside the endpoint: connection peers next to UDP peers, stream
//! bytes out of `poll_transmit`, no Message ID / ACK / retransmission, block-wise sized by the
//! peer's Max-Message-Size, Observe over a connection, and a slow reader that makes
//! notifications drop instead of blocking.

#![cfg(feature = "tcp")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    ConnectionRole, Endpoint, EndpointConfig, EndpointError, Event, ObservationEndReason,
    Reliability, SessionError, TransmitKind,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::tcp::{Decoded, Frame, FrameLimits};

type Ep = Endpoint<u16, Box<dyn FnMut() -> u32>>;

const CLIENT: u16 = 1;
const SERVER: u16 = 2;

fn endpoint(config: EndpointConfig, seed: u32) -> Ep {
    let mut x = seed | 1;
    let rng: Box<dyn FnMut() -> u32> = Box::new(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    });
    Endpoint::new(config, rng).unwrap()
}

fn t(s: u64) -> Duration {
    Duration::from_secs(100 + s)
}

/// A pair connected by a byte stream each way (with back-pressure: unconsumed bytes wait).
struct Link {
    eps: BTreeMap<u16, Ep>,
    /// Bytes in flight to each node.
    inbox: BTreeMap<u16, Vec<u8>>,
    events: Vec<(u16, Event<u16>)>,
    /// Frames (decoded code and payload length) sent by each node.
    frames: Vec<(u16, Code, usize)>,
}

impl Link {
    fn new(client: EndpointConfig, server: EndpointConfig) -> Self {
        let mut c = endpoint(client, 1);
        let mut s = endpoint(server, 2);
        c.open_connection(t(0), SERVER, ConnectionRole::Initiator)
            .unwrap();
        s.open_connection(t(0), CLIENT, ConnectionRole::Acceptor)
            .unwrap();
        let mut eps = BTreeMap::new();
        eps.insert(CLIENT, c);
        eps.insert(SERVER, s);
        Self {
            eps,
            inbox: BTreeMap::new(),
            events: Vec::new(),
            frames: Vec::new(),
        }
    }

    fn ep(&mut self, node: u16) -> &mut Ep {
        self.eps.get_mut(&node).unwrap()
    }

    /// Moves bytes and events until quiet; `answer` serves the server's requests.
    fn run(&mut self, now: Duration, answer: &mut dyn FnMut(&mut Ep, Event<u16>)) {
        loop {
            let mut progress = false;
            for node in [CLIENT, SERVER] {
                let ep = self.eps.get_mut(&node).unwrap();
                while let Some(tx) = ep.poll_transmit() {
                    assert_eq!(tx.kind, TransmitKind::Stream);
                    let mut rest = &tx.datagram[..];
                    let limits = FrameLimits {
                        max_message_size: 1 << 20,
                        ..FrameLimits::default()
                    };
                    while let Ok(Decoded::Complete { frame, len }) = Frame::decode(rest, &limits) {
                        self.frames
                            .push((node, frame.code(), frame.payload().len()));
                        rest = &rest[len..];
                    }
                    self.inbox.entry(tx.peer).or_default().extend(tx.datagram);
                    progress = true;
                }
                while let Some(e) = ep.poll_event() {
                    self.events.push((node, e.clone()));
                    if node == SERVER {
                        answer(ep, e);
                    }
                    progress = true;
                }
            }
            for node in [CLIENT, SERVER] {
                let from = if node == CLIENT { SERVER } else { CLIENT };
                let bytes = self.inbox.remove(&node).unwrap_or_default();
                if bytes.is_empty() {
                    continue;
                }
                let used = self.ep(node).handle_stream(now, from, &bytes);
                if used > 0 {
                    progress = true;
                }
                if used < bytes.len() {
                    self.inbox.insert(node, bytes[used..].to_vec());
                }
            }
            if !progress {
                return;
            }
        }
    }

    fn client_events(&self) -> Vec<&Event<u16>> {
        self.events
            .iter()
            .filter(|(n, _)| *n == CLIENT)
            .map(|(_, e)| e)
            .collect()
    }
}

fn get(path: &str) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::GET, 0).with_option(OptionNumber::URI_PATH, path)
}

fn content(payload: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(payload.to_vec())
}

fn answer_with(payload: Vec<u8>) -> impl FnMut(&mut Ep, Event<u16>) {
    move |ep, e| {
        if let Event::Request { id, .. } = e {
            ep.respond(t(0), id, content(&payload)).unwrap();
        }
    }
}

#[test]
fn a_request_over_a_connection() {
    let mut link = Link::new(EndpointConfig::default(), EndpointConfig::default());
    let id = link
        .ep(CLIENT)
        .request(t(0), SERVER, get("temp"), Reliability::Confirmable)
        .unwrap();
    link.run(t(0), &mut answer_with(b"22.5".to_vec()));
    let got = link.client_events().into_iter().find_map(|e| match e {
        Event::Response {
            id: got, message, ..
        } if *got == id => Some(message.clone()),
        _ => None,
    });
    assert_eq!(got.unwrap().payload, b"22.5");
    // Both CSMs (7.01), the request and the response: no ACK or Empty message in between.
    let codes: Vec<Code> = link.frames.iter().map(|f| f.1).collect();
    assert_eq!(codes.iter().filter(|c| **c == Code::CSM).count(), 2);
    assert!(codes.contains(&Code::GET) && codes.contains(&Code::CONTENT));
    assert_eq!(codes.len(), 4);
    // Nothing to retransmit (RFC 8323 §2.2).
    assert_eq!(link.ep(CLIENT).stats().outstanding_requests, 0);
    assert_eq!(link.ep(CLIENT).stats().connections, 1);
}

#[test]
fn blockwise_follows_the_peers_max_message_size() {
    let mut small = EndpointConfig::default();
    small.session.max_message_size = 300;
    let mut link = Link::new(small.clone(), small);
    // The CSMs first (RFC 8323 §3.3: until then the base value 1152 applies).
    link.run(t(0), &mut |_, _| {});
    let body: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let put = OwnedMessage::new(MessageType::Con, Code::PUT, 0)
        .with_option(OptionNumber::URI_PATH, "fw")
        .with_payload(body.clone());
    let id = link
        .ep(CLIENT)
        .request(t(0), SERVER, put, Reliability::Confirmable)
        .unwrap();
    let mut seen = Vec::new();
    link.run(t(0), &mut |ep, e| {
        if let Event::Request { id, message, .. } = e {
            seen.push(message.message.payload.clone());
            ep.respond(t(0), id, content(&vec![9u8; 700])).unwrap();
        }
    });
    assert_eq!(seen, vec![body]);
    // Every frame fits the peer's 300 bytes: blocks of 128 bytes both ways.
    assert!(link.frames.iter().all(|f| f.2 <= 128), "{:?}", link.frames);
    let got = link.client_events().into_iter().find_map(|e| match e {
        Event::Response {
            id: got, message, ..
        } if *got == id => Some(message.payload.clone()),
        _ => None,
    });
    assert_eq!(got.unwrap(), vec![9u8; 700]);
    assert!(link.client_events().iter().any(
        |e| matches!(e, Event::PeerSettings { settings, .. } if settings.max_message_size == 300)
    ));
}

#[test]
fn observe_over_a_connection_and_its_end() {
    let mut link = Link::new(EndpointConfig::default(), EndpointConfig::default());
    let observe = get("temp").with_uint_option(OptionNumber::OBSERVE, 0);
    let id = link
        .ep(CLIENT)
        .request(t(0), SERVER, observe, Reliability::Confirmable)
        .unwrap();
    let mut handle = None;
    link.run(t(0), &mut |ep, e| {
        if let Event::Request { id, message, .. } = e {
            handle = message.observation;
            ep.respond(t(0), id, content(b"0")).unwrap();
        }
    });
    let handle = handle.unwrap();
    for i in 1..=3u8 {
        link.ep(SERVER)
            .notify(t(u64::from(i)), handle, content(&[i]), false)
            .unwrap();
        link.run(t(u64::from(i)), &mut |_, _| {});
    }
    let got: Vec<Vec<u8>> = link
        .client_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Notification {
                id: got, message, ..
            } if *got == id => Some(message.payload.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got, [[1], [2], [3]]);
    // Reliable delivery: nothing awaits an ACK.
    assert_eq!(link.ep(SERVER).stats().pending_notifications, 0);
    // The connection closes: the observer is removed (RFC 8323 §7.4).
    link.ep(SERVER).connection_closed(t(10), CLIENT);
    let ended: Vec<_> = std::iter::from_fn(|| link.ep(SERVER).poll_event()).collect();
    assert!(ended.iter().any(|e| matches!(
        e,
        Event::ObservationEnded {
            reason: ObservationEndReason::ConnectionClosed,
            ..
        }
    )));
    assert!(
        ended
            .iter()
            .any(|e| matches!(e, Event::ConnectionClosed { .. }))
    );
    assert_eq!(link.ep(SERVER).stats().observers, 0);
    assert_eq!(link.ep(SERVER).stats().connections, 0);
}

#[test]
fn a_slow_reader_makes_notifications_drop_not_block() {
    let mut server_config = EndpointConfig::default();
    server_config.session.write_queue_limit = 2000;
    let mut link = Link::new(EndpointConfig::default(), server_config);
    let observe = get("temp").with_uint_option(OptionNumber::OBSERVE, 0);
    link.ep(CLIENT)
        .request(t(0), SERVER, observe, Reliability::Confirmable)
        .unwrap();
    let mut handle = None;
    link.run(t(0), &mut |ep, e| {
        if let Event::Request { id, message, .. } = e {
            handle = message.observation;
            ep.respond(t(0), id, content(b"0")).unwrap();
        }
    });
    let handle = handle.unwrap();
    // The client stops reading: nothing is taken out of the server.
    for i in 0..40u8 {
        link.ep(SERVER)
            .notify(t(1), handle, content(&[i; 100]), false)
            .unwrap();
        assert!(link.ep(SERVER).stats().connection_bytes <= 2000);
    }
    let stats = link.ep(SERVER).stats();
    assert!(stats.dropped_on_full_connection > 0, "{stats:?}");
    assert!(stats.connection_bytes <= 2000);
    // A request to the slow peer fails with a typed error instead of waiting.
    let big = get("x").with_payload(vec![0u8; 900]);
    assert!(matches!(
        link.ep(SERVER)
            .request(t(1), CLIENT, big, Reliability::Confirmable),
        Err(EndpointError::Session(SessionError::WouldBlock { .. }))
    ));
    assert_eq!(link.ep(SERVER).stats().outstanding_requests, 0);
}

#[test]
fn the_connection_table_is_bounded() {
    let mut config = EndpointConfig::default();
    config.limits.max_connections = 2;
    let mut ep = endpoint(config, 3);
    ep.open_connection(t(0), 10, ConnectionRole::Acceptor)
        .unwrap();
    ep.open_connection(t(0), 11, ConnectionRole::Acceptor)
        .unwrap();
    assert!(matches!(
        ep.open_connection(t(0), 12, ConnectionRole::Acceptor),
        Err(EndpointError::TooManyConnections { capacity: 2 })
    ));
    assert!(matches!(
        ep.open_connection(t(0), 10, ConnectionRole::Acceptor),
        Err(EndpointError::ConnectionExists)
    ));
    assert_eq!(ep.stats().connections, 2);
}

/// With `block2.max_unsliced` set (an intermediary relaying bodies it cannot read), a response
/// goes whole when the whole message fits the peer's Max-Message-Size, not only when the body
/// leaves the 128-byte protection margin; one that does not fit is still sliced.
#[test]
fn max_unsliced_sends_a_response_whole_when_the_message_fits_the_peer() {
    // (max_unsliced, body length, sent whole)
    for (max_unsliced, len, whole) in [
        (Some(1000), 280, true),
        (Some(1000), 295, false),
        (None, 280, false),
    ] {
        let mut client = EndpointConfig::default();
        client.session.max_message_size = 300;
        let mut server = EndpointConfig::default();
        server.block2.max_unsliced = max_unsliced;
        let mut link = Link::new(client, server);
        link.run(t(0), &mut |_, _| {});
        let id = link
            .ep(CLIENT)
            .request(t(0), SERVER, get("r"), Reliability::Confirmable)
            .unwrap();
        link.run(t(0), &mut answer_with(vec![7u8; len]));
        let sent: Vec<usize> = link
            .frames
            .iter()
            .filter(|f| f.0 == SERVER && f.1 == Code::CONTENT)
            .map(|f| f.2)
            .collect();
        if whole {
            assert_eq!(sent, [len], "{max_unsliced:?} {len}");
        } else {
            assert!(sent.len() > 1 && sent.iter().all(|n| *n < len), "{sent:?}");
        }
        let got = link.client_events().into_iter().find_map(|e| match e {
            Event::Response {
                id: got, message, ..
            } if *got == id => Some(message.payload.clone()),
            _ => None,
        });
        assert_eq!(got.unwrap(), vec![7u8; len]);
    }
}
