//! The proxy application on a real endpoint, without sockets: datagrams are handed to the
//! endpoint by hand, what it transmits is decoded, time is simulated. The upstream server and
//! the clients are played by the test with messages written out from RFC 7252 §3.

use std::net::SocketAddr;

use mote_coap::endpoint::Endpoint;
use mote_coap::message::Message;

use super::*;
use crate::net::{CoapEndpoint, OsRandom};

fn client(port: u16) -> Remote {
    Remote::Udp {
        socket: 0,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

const UPSTREAM: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2)),
    5683,
);

/// The upstream server, over whichever flow: [`Harness::take`] gathers what went to any flow,
/// [`Harness::deliver`] finds the flow a message answers (by Token, else Message ID).
fn upstream() -> Remote {
    Remote::Udp {
        socket: 1,
        addr: UPSTREAM,
    }
}

/// The proxy and its endpoint, with everything the endpoint sent.
struct Harness {
    proxy: Proxy,
    endpoint: CoapEndpoint,
    now: Duration,
    sent: Vec<(Remote, OwnedMessage)>,
    /// Flows opened, in order (socket 100, 101, …); `refuse_flows` fails the next connects.
    flows: Vec<Remote>,
    refuse_flows: bool,
    /// Flows the proxy asked the driver to close, in order.
    closed: Vec<Remote>,
    /// (flow, token, Message ID) of every message sent upstream.
    upstream_log: Vec<(Remote, Vec<u8>, u16)>,
}

impl Harness {
    fn new(attack: Attack, limits: RouteLimits) -> Self {
        Self::delayed(attack, limits, Duration::ZERO)
    }

    fn delayed(attack: Attack, limits: RouteLimits, delay: Duration) -> Self {
        let mut proxy = Proxy::new(Listen::Udp(UPSTREAM), attack, delay, limits);
        proxy.sink = Sink::Keep;
        let endpoint = Endpoint::new(proxy.endpoint_config().unwrap(), OsRandom).unwrap();
        Self {
            proxy,
            endpoint,
            now: Duration::from_secs(1),
            sent: Vec::new(),
            flows: Vec::new(),
            refuse_flows: false,
            closed: Vec::new(),
            upstream_log: Vec::new(),
        }
    }

    /// The flow opened for `client`.
    fn flow_of(&self, client: Remote) -> Remote {
        match self.proxy.flows.get(&client) {
            Some(UpstreamFlow {
                state: FlowState::Open(flow),
                ..
            }) => *flow,
            other => panic!("no open flow for {client:?}: {other:?}"),
        }
    }

    /// Drains transmits and events (the driver's `settle`).
    fn settle(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.endpoint.poll_transmit() {
                progress = true;
                let m = Message::decode(&t.datagram).unwrap().to_owned();
                if t.peer.addr() == UPSTREAM {
                    self.upstream_log
                        .push((t.peer, m.token.clone(), m.message_id));
                }
                self.sent.push((t.peer, m));
            }
            while let Some((ticket, server)) = self.proxy.poll_connect() {
                progress = true;
                assert_eq!(server, Listen::Udp(UPSTREAM));
                let result = if self.refuse_flows {
                    Err(NetError::Connect {
                        addr: UPSTREAM,
                        source: std::io::ErrorKind::ConnectionRefused.into(),
                    })
                } else {
                    let flow = Remote::Udp {
                        socket: 100 + self.flows.len(),
                        addr: UPSTREAM,
                    };
                    self.flows.push(flow);
                    Ok(flow)
                };
                let mut io = Io {
                    now: self.now,
                    endpoint: &mut self.endpoint,
                };
                let _ = self.proxy.connected(&mut io, ticket, result);
            }
            while let Some(flow) = self.proxy.poll_close() {
                progress = true;
                self.closed.push(flow);
            }
            while let Some(event) = self.endpoint.poll_event() {
                progress = true;
                let mut io = Io {
                    now: self.now,
                    endpoint: &mut self.endpoint,
                };
                let _ = self.proxy.event(&mut io, event);
            }
            if !progress {
                return;
            }
        }
    }

    fn deliver(&mut self, from: Remote, message: &OwnedMessage) {
        let from = if from == upstream() {
            let by_token = self
                .upstream_log
                .iter()
                .rev()
                .find(|(_, t, _)| !t.is_empty() && *t == message.token);
            let by_mid = self
                .upstream_log
                .iter()
                .rev()
                .find(|(_, _, mid)| *mid == message.message_id);
            by_token.or(by_mid).map_or(from, |(flow, _, _)| *flow)
        } else {
            from
        };
        self.endpoint
            .handle(self.now, from, &message.to_vec().unwrap());
        self.settle();
    }

    /// Runs every timer of the endpoint and the proxy up to `until`.
    fn advance(&mut self, until: Duration) {
        loop {
            let next = [self.endpoint.poll_timeout(), self.proxy.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|t| *t <= until) else {
                break;
            };
            self.now = self.now.max(next);
            self.endpoint.handle_timeout(self.now);
            if self.proxy.poll_timeout().is_some_and(|t| t <= self.now) {
                let mut io = Io {
                    now: self.now,
                    endpoint: &mut self.endpoint,
                };
                let _ = self.proxy.handle_timeout(&mut io);
            }
            self.settle();
        }
        self.now = until;
    }

    /// What was sent to `peer` since the last call.
    fn take(&mut self, peer: Remote) -> Vec<OwnedMessage> {
        let any_flow = peer == upstream();
        let (mine, rest): (Vec<_>, Vec<_>) = self
            .sent
            .drain(..)
            .partition(|(p, _)| *p == peer || (any_flow && p.addr() == UPSTREAM));
        self.sent = rest;
        mine.into_iter().map(|(_, m)| m).collect()
    }
}

fn request(mtype: MessageType, code: Code, mid: u16, token: &[u8], path: &str) -> OwnedMessage {
    OwnedMessage::new(mtype, code, mid)
        .with_token(token)
        .with_option(OptionNumber::URI_PATH, path)
}

/// An upstream response to `to` (piggybacked on the ACK of a CON request, NON otherwise).
fn answer(to: &OwnedMessage, code: Code, payload: &[u8]) -> OwnedMessage {
    let mtype = if to.mtype == MessageType::Con {
        MessageType::Ack
    } else {
        MessageType::Non
    };
    OwnedMessage::new(mtype, code, to.message_id)
        .with_token(to.token.clone())
        .with_payload(payload)
}

fn observe_value(m: &OwnedMessage) -> Option<u32> {
    m.option(OptionNumber::OBSERVE)
        .map(|o| o.as_uint().unwrap())
}

/// Hardening finding 6: one client flooding the proxy with NON requests that the server never
/// answers meets its own bound (5.03 beyond it); another client's observation keeps being
/// relayed, its pending request is still answered, and it can still start new requests.
#[test]
fn a_flooding_client_cannot_end_another_clients_observation_or_request() {
    let limits = RouteLimits {
        total: 16,
        per_client: 4,
    };
    let mut h = Harness::new(Attack::None, limits);
    let (victim, flooder) = (client(5001), client(5002));

    // The victim observes /obs (RFC 7641 §3.1) through the proxy.
    let register = request(MessageType::Con, Code::GET, 1, &[0xa1], "obs")
        .with_uint_option(OptionNumber::OBSERVE, 0);
    h.deliver(victim, &register);
    let up = h.take(upstream());
    assert_eq!(up.len(), 1);
    let up_register = up[0].clone();
    assert_eq!(observe_value(&up_register), Some(0));
    assert_ne!(up_register.token, vec![0xa1], "a fresh upstream token");
    h.deliver(
        upstream(),
        &answer(&up_register, Code::CONTENT, b"v1").with_uint_option(OptionNumber::OBSERVE, 7),
    );
    let back = h.take(victim);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].code, back[0].token.as_slice()),
        (Code::CONTENT, &[0xa1][..])
    );
    assert!(observe_value(&back[0]).is_some());
    assert_eq!(back[0].payload, b"v1");

    // The victim's request that the server answers only later.
    let pending = request(MessageType::Con, Code::POST, 2, &[0xa2], "slow").with_payload(b"x");
    h.deliver(victim, &pending);
    let up_pending = h.take(upstream()).remove(0);
    assert_eq!(up_pending.code, Code::POST);

    // The flood: NON requests the server never answers.
    for k in 0..200u16 {
        let [hi, lo] = k.to_be_bytes();
        h.deliver(
            flooder,
            &request(
                MessageType::Non,
                Code::POST,
                1000 + k,
                &[0xf0, hi, lo],
                "flood",
            ),
        );
    }
    // PROBING_RATE spaces NON requests to a server that has not answered (RFC 7252 §4.7).
    h.advance(h.now + Duration::from_millis(100));
    let forwarded = h.take(upstream());
    assert_eq!(
        forwarded.len(),
        4,
        "the flooder's share is its per-client bound"
    );
    assert!(forwarded.iter().all(|m| m.mtype == MessageType::Non));
    // Refused beyond; once its deduplication entries are all live (RFC 7252 §4.5), the
    // endpoint drops the flooder's messages before they reach the proxy.
    let refused = h.take(flooder);
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|m| m.code == Code::SERVICE_UNAVAILABLE));

    // The victim's observation is still relayed ...
    let notification = OwnedMessage::new(MessageType::Non, Code::CONTENT, 0x7777)
        .with_token(up_register.token.clone())
        .with_uint_option(OptionNumber::OBSERVE, 8)
        .with_payload(b"v2");
    h.deliver(upstream(), &notification);
    let relayed = h.take(victim);
    assert_eq!(relayed.len(), 1);
    assert_eq!(
        (relayed[0].code, relayed[0].token.as_slice()),
        (Code::CONTENT, &[0xa1][..])
    );
    assert_eq!(relayed[0].payload, b"v2");
    assert!(observe_value(&relayed[0]).is_some());

    // ... its pending request is answered ...
    h.deliver(upstream(), &answer(&up_pending, Code::CHANGED, b"done"));
    let answered = h.take(victim);
    assert_eq!(answered.len(), 1);
    assert_eq!(
        (answered[0].code, answered[0].token.as_slice()),
        (Code::CHANGED, &[0xa2][..])
    );
    assert_eq!(answered[0].payload, b"done");

    // ... and it can still start a new one: the flooder did not take the whole table.
    h.deliver(
        victim,
        &request(MessageType::Con, Code::GET, 3, &[0xa3], "x"),
    );
    assert_eq!(h.take(upstream()).len(), 1);
    assert!(h.take(victim).is_empty(), "no 5.03 for the victim");
}

/// The total bound holds over many clients; a route that ends gives its slot back.
#[test]
fn the_total_route_bound_refuses_with_5_03_and_frees_slots_when_routes_end() {
    let limits = RouteLimits {
        total: 6,
        per_client: 4,
    };
    let mut h = Harness::new(Attack::None, limits);
    let mut up = Vec::new();
    for (i, port) in [6001u16, 6002, 6003].into_iter().enumerate() {
        for j in 0..2u8 {
            let mid = u16::from(j) + 10 * u16::try_from(i).unwrap();
            h.deliver(
                client(port),
                &request(MessageType::Con, Code::GET, mid, &[j], "r"),
            );
            up.extend(h.take(upstream()));
        }
    }
    assert_eq!(up.len(), 6);
    h.deliver(
        client(6004),
        &request(MessageType::Con, Code::GET, 1, &[9], "r"),
    );
    let refused = h.take(client(6004));
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code, Code::SERVICE_UNAVAILABLE);
    assert!(h.take(upstream()).is_empty());
    // One answer frees one slot.
    h.deliver(upstream(), &answer(&up[0], Code::CONTENT, b""));
    assert_eq!(h.take(client(6001)).len(), 1);
    h.deliver(
        client(6004),
        &request(MessageType::Con, Code::GET, 2, &[9], "r"),
    );
    assert_eq!(h.take(upstream()).len(), 1);
    assert!(h.take(client(6004)).is_empty());
}

/// RFC 7252 §5.7.1: no answer from the server is 5.04 Gateway Timeout for the client, a
/// Reset 5.02 Bad Gateway; both end the route.
#[test]
fn upstream_timeout_is_5_04_and_reset_is_5_02() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    let c = client(7001);
    h.deliver(c, &request(MessageType::Con, Code::GET, 1, &[1], "silent"));
    let up = h.take(upstream());
    assert_eq!(up.len(), 1);
    // MAX_TRANSMIT_WAIT is 93 s (RFC 7252 §4.8.2).
    h.advance(Duration::from_secs(200));
    let retransmissions = h.take(upstream());
    assert_eq!(
        retransmissions.len(),
        4,
        "MAX_RETRANSMIT: {retransmissions:?}"
    );
    let back: Vec<_> = h
        .take(c)
        .into_iter()
        .filter(|m| !m.code.is_empty())
        .collect();
    // A separate CON response, retransmitted to the client that never acknowledges it.
    assert!(!back.is_empty());
    assert!(
        back.iter()
            .all(|m| (m.code, m.token.as_slice()) == (Code::GATEWAY_TIMEOUT, &[1][..]))
    );
    assert!(h.proxy.load.is_empty() && h.proxy.routes.is_empty());

    h.deliver(c, &request(MessageType::Con, Code::GET, 2, &[2], "reset"));
    let up = h.take(upstream()).remove(0);
    h.deliver(
        upstream(),
        &OwnedMessage::new(MessageType::Rst, Code::EMPTY, up.message_id),
    );
    let back = h.take(c);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].code, back[0].token.as_slice()),
        (Code::BAD_GATEWAY, &[2][..])
    );
    assert!(h.proxy.load.is_empty());
}

/// What is copied upstream: code, end-to-end options (OSCORE's among them) and payload; the
/// block options of the client's hop are not. `--tamper` flips the last payload byte.
#[test]
fn forwarded_requests_keep_end_to_end_options_and_tamper_flips_the_last_byte() {
    for (attack, last) in [(Attack::None, 0x42), (Attack::Tamper, 0x43)] {
        let mut h = Harness::new(attack, RouteLimits::default());
        let req = request(MessageType::Con, Code::POST, 1, &[1], "")
            .with_option(OptionNumber::OSCORE, [0x09, 0x05])
            .with_uint_option(OptionNumber::BLOCK2, 0x02)
            .with_option(OptionNumber::REQUEST_TAG, [7])
            .with_payload([0x10, 0x20, 0x42]);
        h.deliver(client(8001), &req);
        let up = h.take(upstream()).remove(0);
        assert_eq!(up.code, Code::POST);
        assert_eq!(up.option(OptionNumber::OSCORE).unwrap().value, [0x09, 0x05]);
        assert!(up.option(OptionNumber::BLOCK2).is_none());
        assert!(up.option(OptionNumber::REQUEST_TAG).is_none());
        assert_eq!(up.payload, [0x10, 0x20, last]);
    }
}

/// `--replay`: the copy goes out 50 ms later with its own Message ID and Token; its answer is
/// reported, not forwarded; the original's answer goes to the client.
#[test]
fn replayed_copy_has_its_own_message_id_and_token_and_its_answer_is_reported_not_forwarded() {
    let mut h = Harness::new(Attack::Replay, RouteLimits::default());
    let c = client(9001);
    let start = h.now;
    h.deliver(
        c,
        &request(MessageType::Con, Code::POST, 0x1234, &[0xaa], "").with_payload(b"ciphertext"),
    );
    let original = h.take(upstream());
    assert_eq!(original.len(), 1);
    let original = original[0].clone();
    h.advance(start + Duration::from_millis(49));
    assert!(h.take(upstream()).is_empty());
    h.advance(start + Duration::from_millis(50));
    let copy = h.take(upstream());
    assert_eq!(copy.len(), 1);
    let copy = copy[0].clone();
    assert_ne!(copy.message_id, original.message_id);
    assert_ne!(copy.token, original.token);
    assert_eq!(copy.payload, original.payload);
    assert_eq!(copy.options, original.options);

    h.deliver(
        upstream(),
        &answer(&copy, Code::UNAUTHORIZED, b"Replay detected"),
    );
    assert!(h.take(c).is_empty());
    assert_eq!(
        h.proxy.events,
        [
            r#"{"event":"replay-response","code":"4.01","code_name":"Unauthorized","payload":"5265706c6179206465746563746564"}"#
        ]
    );
    h.deliver(upstream(), &answer(&original, Code::CHANGED, b""));
    let back = h.take(c);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].code, back[0].message_id, back[0].token.as_slice()),
        (Code::CHANGED, 0x1234, &[0xaa][..])
    );
    assert_eq!(h.proxy.events.len(), 1);
}

/// Cancellation: the client's deregistration ends the upstream observation (its next
/// notification is reset, RFC 7641 §3.6) and frees the route; an upstream error notification
/// ends the client's observation.
#[test]
fn observations_end_on_both_sides() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    let c = client(9101);
    let register = |mid, token: u8| {
        request(MessageType::Con, Code::GET, mid, &[token], "obs")
            .with_uint_option(OptionNumber::OBSERVE, 0)
    };
    h.deliver(c, &register(1, 1));
    let up = h.take(upstream()).remove(0);
    h.deliver(
        upstream(),
        &answer(&up, Code::CONTENT, b"a").with_uint_option(OptionNumber::OBSERVE, 1),
    );
    assert_eq!(h.take(c).len(), 1);
    assert_eq!(h.proxy.routes.len(), 1);
    // The client deregisters (Observe 1, same token).
    h.deliver(
        c,
        &request(MessageType::Con, Code::GET, 2, &[1], "obs")
            .with_uint_option(OptionNumber::OBSERVE, 1),
    );
    assert!(
        !h.proxy.routes.values().any(|r| r.observer.is_some()),
        "the relayed observation is over"
    );
    let dereg = h.take(upstream());
    assert_eq!(
        dereg.len(),
        1,
        "the deregistration GET is a request of its own"
    );
    h.deliver(upstream(), &answer(&dereg[0], Code::CONTENT, b"a"));
    assert_eq!(h.take(c).len(), 1);
    assert!(h.proxy.routes.is_empty());
    let late = OwnedMessage::new(MessageType::Con, Code::CONTENT, 0x4444)
        .with_token(up.token.clone())
        .with_uint_option(OptionNumber::OBSERVE, 2);
    h.deliver(upstream(), &late);
    let to_server = h.take(upstream());
    assert!(
        to_server
            .iter()
            .any(|m| m.mtype == MessageType::Rst && m.message_id == 0x4444),
        "{to_server:?}"
    );

    // An upstream 4.04 notification ends the client's observation.
    h.take(c);
    h.deliver(c, &register(3, 3));
    let up = h.take(upstream()).remove(0);
    h.deliver(
        upstream(),
        &answer(&up, Code::CONTENT, b"a").with_uint_option(OptionNumber::OBSERVE, 1),
    );
    h.take(c);
    let gone = OwnedMessage::new(MessageType::Non, Code::NOT_FOUND, 0x5555).with_token(up.token);
    h.deliver(upstream(), &gone);
    let back = h.take(c);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].code, back[0].token.as_slice()),
        (Code::NOT_FOUND, &[3][..])
    );
    assert!(h.proxy.routes.is_empty() && h.proxy.load.is_empty());
    assert_eq!(h.endpoint.stats().observers, 0);
}

/// RFC 7641 §4.1: a registration the upstream server answers without Observe is not an
/// observation: the client's is ended too, and the route is over.
#[test]
fn a_registration_the_server_refuses_ends_the_clients_observation() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    let c = client(9201);
    h.deliver(
        c,
        &request(MessageType::Con, Code::GET, 1, &[1], "obs")
            .with_uint_option(OptionNumber::OBSERVE, 0),
    );
    assert_eq!(h.endpoint.stats().observers, 1);
    let up = h.take(upstream()).remove(0);
    h.deliver(upstream(), &answer(&up, Code::CONTENT, b"plain"));
    let back = h.take(c);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].payload, b"plain");
    assert_eq!(h.endpoint.stats().observers, 0);
    assert!(h.proxy.routes.is_empty() && h.proxy.load.is_empty());
}

/// `--delay MS`: the request goes upstream MS later, the response back MS after it came.
#[test]
fn delay_holds_requests_and_responses_back() {
    let delay = Duration::from_millis(300);
    let mut h = Harness::delayed(Attack::None, RouteLimits::default(), delay);
    let c = client(9301);
    let start = h.now;
    h.deliver(c, &request(MessageType::Non, Code::GET, 1, &[1], "d"));
    h.advance(start + delay - Duration::from_millis(1));
    assert!(h.take(upstream()).is_empty());
    h.advance(start + delay);
    let up = h.take(upstream());
    assert_eq!(up.len(), 1);
    h.deliver(upstream(), &answer(&up[0], Code::CONTENT, b"late"));
    assert!(h.take(c).is_empty());
    h.advance(start + delay * 2);
    let back = h.take(c);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].payload, b"late");
}

/// LwM2M servers send requests to the address a registration came from (LwM2M TS 1.2
/// Transport §6.4): each client has its own upstream flow, a request arriving on it goes to
/// that client (with a fresh Message ID and Token) and the client's answer goes back on it.
#[test]
fn a_request_on_a_clients_flow_goes_to_that_client_and_its_answer_back() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    let (a, b) = (client(10_001), client(10_002));
    for (c, token) in [(a, 0xa1u8), (b, 0xb1)] {
        h.deliver(
            c,
            &request(MessageType::Con, Code::POST, 1, &[token], "rd").with_payload(b"</3/0>"),
        );
        let up = h.take(upstream()).remove(0);
        h.deliver(upstream(), &answer(&up, Code::CREATED, b""));
        assert_eq!(h.take(c)[0].code, Code::CREATED);
    }
    let (flow_a, flow_b) = (h.flow_of(a), h.flow_of(b));
    assert_ne!(flow_a, flow_b, "one flow per client");
    assert_eq!(h.flows.len(), 2);

    // The server reads /3/0 from client b, on b's flow.
    let read = request(MessageType::Con, Code::GET, 0x700, &[0x51], "3");
    h.deliver(flow_b, &read);
    assert!(h.take(a).is_empty(), "nothing for the other client");
    let to_b = h.take(b);
    assert_eq!(to_b.len(), 1);
    assert_eq!(to_b[0].code, Code::GET);
    assert_eq!(to_b[0].option(OptionNumber::URI_PATH).unwrap().value, b"3");
    assert_ne!(to_b[0].token, [0x51], "a fresh token on the client's hop");
    h.deliver(b, &answer(&to_b[0], Code::CONTENT, b"device"));
    let back = h.take(flow_b);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].code, back[0].message_id, back[0].token.as_slice()),
        (Code::CONTENT, 0x700, &[0x51][..])
    );
    assert_eq!(back[0].payload, b"device");
    assert!(h.proxy.routes.is_empty() && h.proxy.load.is_empty());

    // --tamper flips the last byte in this direction too.
    h.proxy.attack = Attack::Tamper;
    h.deliver(
        flow_a,
        &request(MessageType::Con, Code::PUT, 0x701, &[0x52], "3").with_payload([1, 2, 3]),
    );
    assert_eq!(h.take(a)[0].payload, [1, 2, 2]);
}

/// Flows are bounded (`--max-flows`): the first request of a client beyond is 5.03 and opens
/// nothing; clients that have a flow go on. A flow that cannot be opened is 5.02.
#[test]
fn the_flow_table_is_bounded_and_a_failed_flow_is_5_02() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    h.proxy.max_flows = 2;
    for port in [11_001, 11_002] {
        h.deliver(
            client(port),
            &request(MessageType::Con, Code::GET, 1, &[1], "x"),
        );
    }
    assert_eq!(h.take(upstream()).len(), 2);
    h.deliver(
        client(11_003),
        &request(MessageType::Con, Code::GET, 1, &[1], "x"),
    );
    let refused = h.take(client(11_003));
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code, Code::SERVICE_UNAVAILABLE);
    assert_eq!(refused[0].payload, b"proxy flow table full");
    assert_eq!(h.flows.len(), 2, "no flow opened beyond the bound");
    assert!(!h.proxy.load.contains_key(&client(11_003)));
    // A client with a flow still gets through.
    h.deliver(
        client(11_001),
        &request(MessageType::Con, Code::GET, 2, &[2], "x"),
    );
    assert_eq!(h.take(upstream()).len(), 1);

    let mut h = Harness::new(Attack::None, RouteLimits::default());
    h.refuse_flows = true;
    h.deliver(
        client(11_004),
        &request(MessageType::Con, Code::GET, 1, &[1], "x"),
    );
    let back = h.take(client(11_004));
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].code, Code::BAD_GATEWAY);
    assert!(h.proxy.flows.is_empty() && h.proxy.load.is_empty());
}

/// The control lines and their acknowledgements (docs/cli.md).
#[test]
fn control_lines_switch_the_attack_and_report_stats() {
    assert_eq!(
        parse_control("attack delay 1500"),
        Ok(Control::Attack(Attack::None, Duration::from_millis(1500)))
    );
    assert_eq!(
        parse_control(" attack  forge-block "),
        Ok(Control::Attack(Attack::ForgeBlock, Duration::ZERO))
    );
    assert!(parse_control("attack delay soon").is_err());
    assert!(parse_control("attack everything").is_err());
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    for line in ["attack tamper", "attack delay 250", "bogus", "stats"] {
        let mut io = Io {
            now: h.now,
            endpoint: &mut h.endpoint,
        };
        h.proxy.control_line(&mut io, line);
    }
    assert_eq!(h.proxy.delay, Duration::from_millis(250));
    assert_eq!(h.proxy.attack, Attack::None);
    assert_eq!(
        h.proxy.events[0],
        r#"{"event":"attack","attack":"tamper","delay_ms":0}"#
    );
    assert_eq!(
        h.proxy.events[1],
        r#"{"event":"attack","attack":"none","delay_ms":250}"#
    );
    assert!(h.proxy.events[2].starts_with(r#"{"event":"error","reason":"unknown control line"#));
    assert_eq!(
        h.proxy.events[3],
        r#"{"event":"stats","requests":0,"responses":0,"bytes":0,"refused":0,"tampered":0,"replayed":0,"delayed":0,"swapped":0,"forged":0,"flows":0}"#
    );
    // One request and its answer forwarded: both counted, bytes as encoded on the wire.
    h.proxy.delay = Duration::ZERO;
    h.proxy.events.clear();
    let req = request(MessageType::Con, Code::GET, 1, &[1], "x");
    h.deliver(client(12_001), &req);
    let up = h.take(upstream()).remove(0);
    let resp = answer(&up, Code::CONTENT, b"12345");
    h.deliver(upstream(), &resp);
    let down = h.take(client(12_001)).remove(0);
    assert_eq!(h.proxy.stats.requests, 1);
    assert_eq!(h.proxy.stats.responses, 1);
    assert_eq!(h.proxy.stats.flows, 1);
    // Bytes without the hops' own Tokens: the GET's header (4) and Uri-Path "x" (2); the
    // response's header (4), the payload marker and 5 bytes.
    assert_eq!(
        (up.payload.len(), down.token.as_slice(), down.payload.len()),
        (0, &[1][..], 5)
    );
    assert_eq!(h.proxy.stats.bytes, 6 + 10);
}

/// `attack swap`: the next two responses travelling the same direction are delivered crossed
/// (each answers the other's request); then the proxy is honest again.
#[test]
fn swap_crosses_the_next_two_responses() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    let c = client(13_001);
    h.deliver(c, &request(MessageType::Con, Code::POST, 1, &[1], "rd"));
    let up = h.take(upstream()).remove(0);
    h.deliver(upstream(), &answer(&up, Code::CREATED, b""));
    h.take(c);
    let flow = h.flow_of(c);
    h.proxy.attack = Attack::Swap;
    h.proxy.report_attacks = true;
    // Two concurrent requests of the server.
    h.deliver(
        flow,
        &request(MessageType::Con, Code::GET, 0x801, &[0x61], "a"),
    );
    h.deliver(
        flow,
        &request(MessageType::Con, Code::GET, 0x802, &[0x62], "b"),
    );
    let to_client = h.take(c);
    assert_eq!(to_client.len(), 2);
    let (ra, rb) = (to_client[0].clone(), to_client[1].clone());
    h.deliver(c, &answer(&ra, Code::CONTENT, b"answer-a"));
    assert!(
        h.take(flow).iter().all(|m| m.code.is_empty()),
        "the first response is held"
    );
    h.deliver(c, &answer(&rb, Code::CONTENT, b"answer-b"));
    let back: Vec<_> = h
        .take(flow)
        .into_iter()
        .filter(|m| !m.code.is_empty())
        .map(|m| (m.token, m.payload))
        .collect();
    assert_eq!(
        back,
        [
            (vec![0x61], b"answer-b".to_vec()),
            (vec![0x62], b"answer-a".to_vec())
        ]
    );
    assert_eq!(h.proxy.attack, Attack::None);
    assert_eq!(h.proxy.stats.swapped, 2);
    assert_eq!(
        h.proxy.events,
        [r#"{"event":"attacked","attack":"swap","direction":"upstream","code":"2.05","bytes":8}"#;
            2]
    );
    // Honest again.
    h.deliver(
        flow,
        &request(MessageType::Con, Code::GET, 0x803, &[0x63], "c"),
    );
    let rc = h.take(c).remove(0);
    h.deliver(c, &answer(&rc, Code::CONTENT, b"answer-c"));
    let back = h.take(flow);
    assert!(
        back.iter()
            .any(|m| m.token == [0x63] && m.payload == b"answer-c")
    );
}

/// `attack forge-block`: the payload of the next protected response to a client is replaced
/// by as many random bytes; only that one (a plain response before it is left alone).
#[test]
fn forge_block_replaces_the_next_block_payload_only() {
    let mut h = Harness::new(Attack::ForgeBlock, RouteLimits::default());
    let c = client(14_001);
    let block = |token: u8| {
        request(
            MessageType::Con,
            Code::GET,
            u16::from(token),
            &[token],
            "fw",
        )
        .with_option(OptionNumber::OSCORE, [0x09, token])
    };
    let original: Vec<u8> = (0..64u8).collect();
    // A plain response without a block is not the target.
    h.deliver(c, &request(MessageType::Con, Code::GET, 9, &[9], "x"));
    let up = h.take(upstream()).remove(0);
    h.deliver(upstream(), &answer(&up, Code::CONTENT, b"plain"));
    assert_eq!(h.take(c)[0].payload, b"plain");
    for (token, forged) in [(1u8, true), (2, false)] {
        h.deliver(c, &block(token));
        let up = h.take(upstream()).remove(0);
        h.deliver(
            upstream(),
            &answer(&up, Code::CHANGED, &original).with_option(OptionNumber::OSCORE, []),
        );
        let back = h.take(c).remove(0);
        assert_eq!(back.payload.len(), original.len());
        assert_eq!(back.payload != original, forged, "block {token}");
    }
    assert_eq!(h.proxy.stats.forged, 1);
    assert_eq!(h.proxy.attack, Attack::None);
}

/// Takes what went to `c` and acknowledges the confirmable messages.
fn ack_all(h: &mut Harness, c: Remote) -> Vec<OwnedMessage> {
    let got = h.take(c);
    for m in got.iter().filter(|m| m.mtype == MessageType::Con) {
        h.deliver(
            c,
            &OwnedMessage::new(MessageType::Ack, Code::EMPTY, m.message_id),
        );
    }
    got
}

/// One answered GET of `c` through the proxy; the flow it went on.
fn exchange(h: &mut Harness, c: Remote, mid: u16) -> Remote {
    h.deliver(c, &request(MessageType::Con, Code::GET, mid, &[7], "x"));
    let up = h.take(upstream()).remove(0);
    h.deliver(upstream(), &answer(&up, Code::CONTENT, b"v"));
    assert_eq!(h.take(c)[0].code, Code::CONTENT);
    h.flow_of(c)
}

/// A flow with no route closes `--flow-idle` after its last route ended, not before; its
/// slot serves the next client, and the client's next request opens a new flow (a new
/// address for the server, as after a NAT rebinding).
#[test]
fn an_idle_flow_closes_after_flow_idle_and_its_slot_is_reused() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    h.proxy.max_flows = 1;
    h.proxy.flow_idle = Duration::from_secs(120);
    let (a, b) = (client(12_001), client(12_002));
    let start = h.now;
    let first = exchange(&mut h, a, 1);
    h.advance(start + Duration::from_secs(119));
    assert!(h.closed.is_empty(), "closed before --flow-idle");
    assert_eq!(h.flow_of(a), first);
    h.advance(start + Duration::from_secs(121));
    assert_eq!(h.closed, [first], "the idle flow is closed");
    assert!(h.proxy.flows.is_empty() && h.proxy.client_of.is_empty());
    assert_eq!(h.proxy.stats.flows, 0);
    // Its slot serves another client; then the first client comes back on a new flow.
    let second = exchange(&mut h, b, 1);
    assert_ne!(second, first);
    h.advance(h.now + Duration::from_secs(121));
    assert_eq!(h.closed, [first, second]);
    let again = exchange(&mut h, a, 2);
    assert!(again != first && again != second, "a new flow: {again:?}");
}

/// A flow with a route on it never expires: here a relayed observation, for ten periods longer
/// than `--flow-idle`; once the observation is over, the flow closes after `--flow-idle`.
#[test]
fn a_flow_with_a_relayed_observation_does_not_expire() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    h.proxy.flow_idle = Duration::from_secs(40);
    let c = client(12_101);
    h.deliver(
        c,
        &request(MessageType::Con, Code::GET, 1, &[1], "obs")
            .with_uint_option(OptionNumber::OBSERVE, 0),
    );
    let up = h.take(upstream()).remove(0);
    h.deliver(
        upstream(),
        &answer(&up, Code::CONTENT, b"a").with_uint_option(OptionNumber::OBSERVE, 1),
    );
    assert_eq!(h.take(c).len(), 1);
    let flow = h.flow_of(c);
    for notification in 2u16..12 {
        // Longer than --flow-idle, within the notification's Max-Age (60 s, RFC 7252 §5.10.5);
        // the client acknowledges confirmable notifications as they come (RFC 7641 §4.5).
        for _ in 0..9 {
            let until = h.now + Duration::from_secs(5);
            h.advance(until);
            ack_all(&mut h, c);
        }
        // The server notifies: the observation lives.
        let n = OwnedMessage::new(MessageType::Non, Code::CONTENT, 0x6000 + notification)
            .with_token(up.token.clone())
            .with_uint_option(OptionNumber::OBSERVE, u32::from(notification));
        h.deliver(upstream(), &n);
        assert!(ack_all(&mut h, c).iter().any(|m| m.code == Code::CONTENT));
        assert_eq!(h.proxy.routes.len(), 1, "the observation is relayed");
    }
    assert!(h.closed.is_empty(), "a flow with a route closed");
    assert_eq!(h.flow_of(c), flow);
    // The server ends the observation (an error response, RFC 7641 §3.2).
    let end = OwnedMessage::new(MessageType::Non, Code::NOT_FOUND, 0x7000).with_token(up.token);
    h.deliver(upstream(), &end);
    ack_all(&mut h, c);
    assert!(h.proxy.routes.is_empty(), "the observation is over");
    assert!(h.proxy.load.is_empty());
    let until = h.now + Duration::from_secs(41);
    h.advance(until);
    assert_eq!(h.closed, [flow]);
}

/// A full table gives the flow idle the longest to a new client (closing it) rather than
/// refusing; while every flow has a route, a new client is refused with 5.03 and no flow is
/// closed.
#[test]
fn a_full_flow_table_evicts_the_idlest_flow_and_refuses_only_when_all_are_busy() {
    let mut h = Harness::new(Attack::None, RouteLimits::default());
    h.proxy.max_flows = 2;
    let (a, b, c, d) = (
        client(12_201),
        client(12_202),
        client(12_203),
        client(12_204),
    );
    let flow_a = exchange(&mut h, a, 1);
    h.advance(h.now + Duration::from_secs(1));
    let flow_b = exchange(&mut h, b, 1);
    h.advance(h.now + Duration::from_secs(1));
    // b was used after a: a's flow goes.
    let flow_c = exchange(&mut h, c, 1);
    assert_eq!(h.closed, [flow_a]);
    assert_eq!(h.flow_of(b), flow_b);
    assert!(!h.proxy.flows.contains_key(&a));
    // b and c each wait for an answer: no flow is idle, d is refused.
    for (who, mid) in [(b, 2), (c, 2)] {
        h.deliver(
            who,
            &request(MessageType::Con, Code::GET, mid, &[8], "slow"),
        );
    }
    assert_eq!(h.take(upstream()).len(), 2);
    h.deliver(d, &request(MessageType::Con, Code::GET, 1, &[9], "x"));
    let refused = h.take(d);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].code, Code::SERVICE_UNAVAILABLE);
    assert_eq!(h.closed, [flow_a], "a flow with a route was evicted");
    assert_eq!((h.flow_of(b), h.flow_of(c)), (flow_b, flow_c));
}

/// With a TCP upstream whose accept queue is full (a connect to it hangs), a new client's
/// flow is being opened while a client with an open flow goes on: its request reaches the
/// upstream on its flow before the new client hears anything (with a connect that held the
/// driver, the new client's 5.02 after the 5 s timeout would come first). Real sockets, the
/// proxy on the driver in a thread of its own.
#[test]
fn a_pending_tcp_connect_does_not_hold_up_the_other_clients() {
    use std::io::Read as _;
    use std::net::{TcpStream, UdpSocket};

    // The upstream: a listener with a backlog of 1, so its accept queue fills at once.
    let rt = crate::net::runtime().unwrap();
    let listener = rt
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind("127.0.0.1:0".parse().unwrap())?;
            socket.listen(1)?.into_std()
        })
        .unwrap();
    listener.set_nonblocking(false).unwrap();
    let upstream = listener.local_addr().unwrap();

    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<crate::net::Shutdown>();
    let proxy_thread = std::thread::spawn(move || {
        let rt = crate::net::runtime().unwrap();
        rt.block_on(async {
            let mut proxy = Proxy::new(
                Listen::Tcp(upstream),
                Attack::None,
                Duration::ZERO,
                RouteLimits::default(),
            );
            let mut driver =
                Driver::new(DriverConfig::default(), proxy.endpoint_config().unwrap()).unwrap();
            let local = driver
                .bind(Listen::Udp("127.0.0.1:0".parse().unwrap()))
                .await
                .unwrap();
            port_tx.send(local).unwrap();
            stop_tx.send(driver.shutdown_handle()).unwrap();
            driver.run(&mut proxy).await.unwrap();
        });
    });
    let proxy_addr = port_rx.recv().unwrap();
    let stop = stop_rx.recv().unwrap();
    let send = |s: &UdpSocket, mtype: MessageType, mid: u16, path: &str| {
        let m = request(mtype, Code::GET, mid, &[mid as u8], path);
        s.send_to(&m.to_vec().unwrap(), proxy_addr).unwrap();
    };

    // Client a's flow: accepted here; what the proxy writes on it is read as it comes.
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    send(&a, MessageType::Con, 1, "first");
    let (mut flow_a, _) = listener.accept().unwrap();
    flow_a
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 512];
    while !seen.windows(5).any(|w| w == b"first") {
        let n = flow_a.read(&mut buf).unwrap();
        assert!(n > 0, "flow a closed");
        seen.extend_from_slice(&buf[..n]);
    }
    // Fill the accept queue (nothing accepts them), so the next connect hangs.
    let _fill: Vec<TcpStream> = (0..4)
        .filter_map(|_| TcpStream::connect_timeout(&upstream, Duration::from_millis(300)).ok())
        .collect();

    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_nonblocking(true).unwrap();
    // NON: no empty ACK from the proxy's endpoint either; b hears only the answer.
    send(&b, MessageType::Non, 1, "other");
    // b's request is taken first (one socket, in order), then a's.
    send(&a, MessageType::Con, 2, "second");
    let mut seen = Vec::new();
    while !seen.windows(6).any(|w| w == b"second") {
        let n = flow_a.read(&mut buf).unwrap();
        assert!(n > 0, "flow a closed");
        seen.extend_from_slice(&buf[..n]);
    }
    let mut reply = [0u8; 512];
    let early = b.recv(&mut reply);
    assert!(
        early
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "b was answered ({early:?}) before a's request went on: the connect held the proxy"
    );
    stop.shutdown();
    proxy_thread.join().unwrap();
}
