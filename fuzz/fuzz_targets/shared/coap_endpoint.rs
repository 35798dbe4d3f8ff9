//! The properties the `endpoint` fuzz target checks, shared with the corpus replay test
//! (`workspace-tests/tests/fuzz_corpus_coap_endpoint.rs`) so that stable `cargo test` runs the same
//! code.
//!
//! The input is a script: arbitrary datagrams from a few peers, interleaved with timer events,
//! client requests, responses to incoming requests and mutated replays of the endpoint's own
//! output. After every step the endpoint must not have panicked, every table in `stats()` must
//! be within its configured bound, and after `handle_timeout(now)` no timer may be due at or
//! before `now` (otherwise a caller would spin). Block sizes are small so that bodies go
//! block-wise (Block1/Block2 in both roles), requests may register observations and responses
//! may be notifications, so the block-wise and Observe tables are exercised and bounded too.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use mote_coap::block::Szx;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::ConnectionRole;
use mote_coap::endpoint::{
    Block1ServerConfig, Block2ServerConfig, EchoPolicy, EchoRequirement, Endpoint, EndpointConfig,
    EndpointLimits, EndpointStats, Event, IncomingId, ObservationClientConfig, ObserverHandle,
    RegistryConfig, Reliability, ResourceState, SessionConfig,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;

struct Script<'a>(&'a [u8]);

impl<'a> Script<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

fn limits() -> EndpointLimits {
    EndpointLimits {
        max_peers: 3,
        max_dedup_per_peer: 4,
        max_dedup_total: 8,
        max_outstanding_requests: 4,
        max_queued_requests: 2,
        max_pending_incoming: 3,
        max_message_size: 200,
        max_echo_challenges: 2,
        max_queued_transmits: 12,
        max_queued_events: 6,
        max_connections: 1,
    }
}

fn block1() -> Block1ServerConfig {
    Block1ServerConfig {
        max_body: 300,
        max_transfers_per_peer: 1,
        max_transfers: 2,
        max_buffered_bytes: 400,
        preferred_szx: Szx::S32,
        ..Block1ServerConfig::default()
    }
}

fn block2() -> Block2ServerConfig {
    Block2ServerConfig {
        preferred_szx: Szx::S16,
        max_entries_per_peer: 1,
        max_entries: 2,
        max_bytes: 300,
        ..Block2ServerConfig::default()
    }
}

fn observe() -> RegistryConfig {
    RegistryConfig {
        max_observers: 3,
        max_observers_per_peer: 2,
        max_observers_per_resource: 2,
        ..RegistryConfig::default()
    }
}

const MAX_OBSERVATIONS: usize = 2;

fn check_composed(s: &EndpointStats) {
    let (b1, b2, o) = (block1(), block2(), observe());
    assert!(s.block1_transfers <= b1.max_transfers, "{s:?}");
    assert!(s.block1_bytes <= b1.max_buffered_bytes, "{s:?}");
    assert!(s.block2_entries <= b2.max_entries, "{s:?}");
    assert!(s.block2_bytes <= b2.max_bytes, "{s:?}");
    assert!(s.observers <= o.max_observers, "{s:?}");
    assert!(s.pending_notifications <= s.observers, "{s:?}");
    assert!(s.observations <= MAX_OBSERVATIONS, "{s:?}");
}

fn check_bounds(s: &EndpointStats, l: &EndpointLimits) {
    check_composed(s);
    assert!(s.peers <= l.max_peers, "{s:?}");
    assert!(s.dedup_entries <= l.max_dedup_total, "{s:?}");
    assert!(s.max_dedup_of_one_peer <= l.max_dedup_per_peer, "{s:?}");
    assert!(
        s.outstanding_requests + s.queued_requests <= l.max_outstanding_requests,
        "{s:?}"
    );
    assert!(s.queued_requests <= l.max_queued_requests, "{s:?}");
    assert!(
        s.pending_incoming + s.separate_responses <= l.max_pending_incoming,
        "{s:?}"
    );
    assert!(s.echo_challenges <= l.max_echo_challenges, "{s:?}");
    assert!(s.queued_transmits <= l.max_queued_transmits, "{s:?}");
    assert!(s.queued_events <= l.max_queued_events, "{s:?}");
    assert!(s.recent_exchanges <= l.max_outstanding_requests, "{s:?}");
    assert!(s.connections <= l.max_connections, "{s:?}");
    assert!(
        s.connection_bytes <= SessionConfig::default().write_queue_limit,
        "{s:?}"
    );
}

/// `endpoint`: never panics, bounded tables, no timer left due after `handle_timeout`.
pub(crate) fn endpoint(data: &[u8]) {
    let mut script = Script(data);
    let Some(flags) = script.byte() else { return };
    let mut seed = u32::from_le_bytes([flags, 0x9e, 0x37, 0x79]) | 1;
    let rng = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let config = EndpointConfig {
        max_incoming_token_len: if flags & 1 != 0 { 16 } else { 8 },
        echo: (flags & 2 != 0).then_some(EchoPolicy {
            window: Duration::from_secs(20),
            require: if flags & 4 != 0 {
                EchoRequirement::AllRequests
            } else {
                EchoRequirement::UnsafeMethods
            },
        }),
        recognized_options: vec![OptionNumber(65001)],
        limits: limits(),
        block1: block1(),
        block2: block2(),
        observe: observe(),
        observe_client: ObservationClientConfig {
            max_observations: MAX_OBSERVATIONS,
            ..ObservationClientConfig::default()
        },
        ..EndpointConfig::default()
    };
    let l = config.limits;
    let mut ep: Endpoint<u8, _> = Endpoint::new(config, rng).unwrap();
    let mut now = Duration::from_secs(10);
    // Peer 3 is a CoAP over TCP connection (RFC 8323): its bytes are a stream.
    if flags & 8 != 0 {
        let role = if flags & 16 != 0 {
            ConnectionRole::Initiator
        } else {
            ConnectionRole::Acceptor
        };
        ep.open_connection(now, 3, role).unwrap();
        assert!(ep.open_connection(now, 2, role).is_err());
    }
    let mut pending: Vec<IncomingId> = Vec::new();
    let mut observers: Vec<ObserverHandle> = Vec::new();
    let mut last_sent: Vec<u8> = Vec::new();
    while let Some(op) = script.byte() {
        match op % 8 {
            0 | 1 => {
                let peer = op >> 6;
                let len = usize::from(script.byte().unwrap_or(0) % 64);
                let datagram = script.take(len);
                if peer == 3 && flags & 8 != 0 {
                    let used = ep.handle_stream(now, peer, datagram);
                    assert!(used <= datagram.len());
                } else {
                    ep.handle(now, peer, datagram);
                }
            }
            2 => {
                let step = u64::from(script.byte().unwrap_or(0));
                now += Duration::from_millis(step * step * 10);
            }
            3 => {
                let pick = usize::from(script.byte().unwrap_or(0));
                let code = Code(script.byte().unwrap_or(0x45));
                if pick & 0x80 != 0 && !observers.is_empty() {
                    // A notification (maybe large, maybe non-2.xx) to a registered observer.
                    let handle = observers[pick % observers.len()];
                    let response = OwnedMessage::new(MessageType::Non, code, 0)
                        .with_payload(script.take(pick % 120));
                    let _ = ep.notify(now, handle, response, pick & 0x40 != 0);
                } else if !pending.is_empty() {
                    let id = pending.remove(pick % pending.len());
                    let response = OwnedMessage::new(MessageType::Ack, code, 0)
                        .with_payload(script.take(pick % 40));
                    let _ = ep.respond(now, id, response);
                }
            }
            4 => {
                let peer = op >> 6;
                let code = Code(script.byte().unwrap_or(1));
                let reliability = if op & 0x20 != 0 {
                    Reliability::NonConfirmable
                } else {
                    Reliability::Confirmable
                };
                let len = usize::from(script.byte().unwrap_or(0));
                let mut request =
                    OwnedMessage::new(MessageType::Con, code, 0).with_payload(script.take(len));
                if op & 0x10 != 0 {
                    // A registration (GET with Observe 0).
                    request.code = Code::GET;
                    request.options.set_uint(OptionNumber::OBSERVE, 0);
                }
                let _ = ep.request(now, peer, request, reliability);
            }
            5 => {
                // Replay our own last datagram (as a peer answering, or a tampering network).
                let peer = op >> 6;
                let mut d = last_sent.clone();
                if let (Some(at), Some(x)) = (script.byte(), script.byte()) {
                    if !d.is_empty() {
                        let i = usize::from(at) % d.len();
                        d[i] ^= x;
                    }
                }
                ep.handle(now, peer, &d);
            }
            6 => {
                while let Some(t) = ep.poll_transmit() {
                    last_sent = t.datagram;
                }
                while let Some(e) = ep.poll_event() {
                    if let Event::Request { id, message, .. } = e {
                        observers.extend(message.observation);
                        let _ = message.check_preconditions(ResourceState {
                            exists: op & 0x40 != 0,
                            etag: Some(b"e"),
                        });
                        pending.push(id);
                    }
                }
            }
            _ => {
                if let Some(t) = ep.poll_timeout() {
                    now = now.max(t);
                    ep.handle_timeout(now);
                    assert!(ep.poll_timeout().is_none_or(|t| t > now));
                }
            }
        }
        check_bounds(&ep.stats(), &l);
    }
    // Drain: run every timer; the endpoint must come to rest.
    for _ in 0..10_000 {
        while ep.poll_transmit().is_some() {}
        while ep.poll_event().is_some() {}
        let Some(t) = ep.poll_timeout() else { break };
        now = now.max(t);
        ep.handle_timeout(now);
        assert!(ep.poll_timeout().is_none_or(|t| t > now));
        check_bounds(&ep.stats(), &l);
    }
    assert_eq!(ep.poll_timeout(), None, "timers never stop");
}
