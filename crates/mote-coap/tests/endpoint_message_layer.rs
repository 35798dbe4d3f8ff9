//! The endpoint's message layer against RFC 7252 §4 and §5 (and RFC 9175 for Echo): expected
//! values are the RFC's (bytes of empty ACK/RST, the retransmission bounds of §4.2 and §4.8.2,
//! response codes), never values computed by the endpoint.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sim;

use std::collections::BTreeMap;
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    EchoPolicy, EchoRequirement, EndpointConfig, EndpointError, EndpointLimits, Event, Reliability,
    ResourceState,
};
use mote_coap::message::{DecodeLimits, Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_coap::transmission::TransmissionParameters;
use proptest::prelude::*;
use sim::{Addr, LinkProfile, Sim, SimEndpoint, XorShift64};

const CLIENT: Addr = 1;
const SERVER: Addr = 2;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

const T0: Duration = Duration::from_secs(1000);

fn lone(config: EndpointConfig, seed: u64) -> SimEndpoint {
    SimEndpoint::new(config, XorShift64::new(seed)).unwrap()
}

fn get(path: &str) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::GET, 0).with_option(OptionNumber::URI_PATH, path)
}

fn content(payload: &[u8]) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(payload)
}

/// A request as a peer would send it.
fn wire(mtype: MessageType, code: Code, mid: u16, token: &[u8]) -> OwnedMessage {
    OwnedMessage::new(mtype, code, mid).with_token(token)
}

fn bytes(m: &OwnedMessage) -> Vec<u8> {
    m.to_vec().unwrap()
}

fn transmits(ep: &mut SimEndpoint) -> Vec<(Addr, Vec<u8>)> {
    std::iter::from_fn(|| ep.poll_transmit())
        .map(|t| (t.peer, t.datagram))
        .collect()
}

fn events(ep: &mut SimEndpoint) -> Vec<Event<Addr>> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

/// The events but the Echo challenges' reports.
fn requests(ep: &mut SimEndpoint) -> Vec<Event<Addr>> {
    events(ep)
        .into_iter()
        .filter(|e| !matches!(e, Event::EchoChallenged { .. }))
        .collect()
}

fn decode(b: &[u8]) -> Message<'_> {
    Message::decode_with(b, &DecodeLimits::extended_tokens(64)).unwrap()
}

/// RFC 7252 §3: an Empty ACK and an Empty RST with Message ID `mid`.
fn empty_ack(mid: u16) -> Vec<u8> {
    vec![0x60, 0x00, (mid >> 8) as u8, mid as u8]
}

fn empty_rst(mid: u16) -> Vec<u8> {
    vec![0x70, 0x00, (mid >> 8) as u8, mid as u8]
}

fn answer_all(payload: &'static [u8]) -> impl FnMut(&mut SimEndpoint, Duration, Addr, Event<Addr>) {
    move |ep, now, _, e| {
        if let Event::Request { id, .. } = e {
            ep.respond(now, id, content(payload)).unwrap();
        }
    }
}

fn ignore() -> impl FnMut(&mut SimEndpoint, Duration, Addr, Event<Addr>) {
    |_, _, _, _| {}
}

// ---------------------------------------------------------------------------------------------
// RFC 7252 §4.2 retransmission.

#[test]
fn retransmissions_follow_rfc7252_bounds_then_time_out() {
    // §4.8 defaults: ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT 4;
    // MAX_TRANSMIT_WAIT = 2 × (2^5 − 1) × 1.5 = 93 s.
    for seed in 1..=40u64 {
        let mut ep = lone(EndpointConfig::default(), seed * 7919);
        let id = ep
            .request(T0, SERVER, get("x"), Reliability::Confirmable)
            .unwrap();
        let mut sent = vec![(T0, transmits(&mut ep))];
        let mut timed_out = None;
        let mut wakeups = 0;
        while let Some(t) = ep.poll_timeout() {
            wakeups += 1;
            assert!(wakeups <= 5, "more timer wake-ups than transmissions");
            assert!(t >= T0);
            ep.handle_timeout(t);
            let out = transmits(&mut ep);
            if !out.is_empty() {
                sent.push((t, out));
            }
            for e in events(&mut ep) {
                assert_eq!(e, Event::TimedOut { id });
                timed_out = Some(t);
            }
            if timed_out.is_some() {
                break;
            }
        }
        // One transmission plus MAX_RETRANSMIT = 4 retransmissions of the same datagram.
        assert_eq!(sent.len(), 5, "seed {seed}");
        let first = &sent[0].1[0].1;
        assert!(sent.iter().all(|(_, d)| d.len() == 1 && &d[0].1 == first));
        let times: Vec<Duration> = sent.iter().map(|(t, _)| *t).collect();
        let gap0 = times[1] - times[0];
        assert!(gap0 >= secs(2) && gap0 <= secs(3), "first timeout {gap0:?}");
        for w in times.windows(3) {
            let (a, b) = (w[1] - w[0], w[2] - w[1]);
            assert_eq!(b, a * 2, "back-off doubles");
        }
        let out = timed_out.expect("TimedOut");
        assert!(out - T0 <= secs(93), "gave up at {:?}", out - T0);
        // ... and not before the last timeout (16 × initial) ran out: ≥ 31 × 2 s.
        assert!(out - T0 >= secs(62));
        assert_eq!(ep.stats().outstanding_requests, 0);
    }
}

#[test]
fn ack_stops_retransmission_and_separate_response_completes() {
    let mut ep = lone(EndpointConfig::default(), 3);
    let id = ep
        .request(T0, SERVER, get("x"), Reliability::Confirmable)
        .unwrap();
    let out = transmits(&mut ep);
    let req = decode(&out[0].1);
    assert_eq!(req.mtype(), MessageType::Con);
    let (mid, token) = (req.message_id(), req.token().to_vec());
    assert_eq!(token.len(), 4);
    ep.handle(T0 + ms(100), SERVER, &empty_ack(mid));
    // Acknowledged: no retransmission for the whole of MAX_TRANSMIT_WAIT.
    ep.handle_timeout(T0 + secs(93));
    assert!(transmits(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
    // §5.2.2: the separate response is a CON that the client acknowledges.
    let resp = bytes(&wire(MessageType::Con, Code::CONTENT, 0x4242, &token).with_payload(*b"v"));
    ep.handle(T0 + secs(94), SERVER, &resp);
    assert_eq!(transmits(&mut ep), [(SERVER, empty_ack(0x4242))]);
    match &events(&mut ep)[..] {
        [
            Event::Response {
                id: got,
                peer,
                message,
            },
        ] => {
            assert_eq!((*got, *peer), (id, SERVER));
            assert_eq!(message.payload, b"v");
        }
        other => panic!("{other:?}"),
    }
    // A duplicate of the separate response gets the same ACK again and no second event.
    ep.handle(T0 + secs(95), SERVER, &resp);
    assert_eq!(transmits(&mut ep), [(SERVER, empty_ack(0x4242))]);
    assert!(events(&mut ep).is_empty());
}

#[test]
fn acknowledged_request_without_response_times_out_after_exchange_lifetime() {
    let mut ep = lone(EndpointConfig::default(), 4);
    let id = ep
        .request(T0, SERVER, get("x"), Reliability::Confirmable)
        .unwrap();
    let mid = decode(&transmits(&mut ep)[0].1).message_id();
    ep.handle(T0, SERVER, &empty_ack(mid));
    // EXCHANGE_LIFETIME = 247 s with the defaults (§4.8.2).
    assert_eq!(ep.poll_timeout(), Some(T0 + secs(247)));
    ep.handle_timeout(T0 + secs(247));
    assert_eq!(events(&mut ep), [Event::TimedOut { id }]);
}

#[test]
fn reset_of_a_request_is_reported() {
    let mut ep = lone(EndpointConfig::default(), 5);
    let id = ep
        .request(T0, SERVER, get("x"), Reliability::Confirmable)
        .unwrap();
    let mid = decode(&transmits(&mut ep)[0].1).message_id();
    ep.handle(T0, SERVER, &empty_rst(mid));
    assert_eq!(events(&mut ep), [Event::Reset { id }]);
    assert_eq!(ep.stats().outstanding_requests, 0);
}

// ---------------------------------------------------------------------------------------------
// Exactly-once delivery under duplication and reordering (§4.5).

fn exchange_under(profile: LinkProfile, seed: u64, n: usize, slow_server: bool) {
    let mut sim = Sim::new(profile, seed);
    let config = EndpointConfig {
        transmission: TransmissionParameters::default().with_nstart(2).unwrap(),
        ..EndpointConfig::default()
    };
    sim.add(CLIENT, config.clone());
    sim.add(SERVER, config);
    let now = sim.now;
    let mut ids = BTreeMap::new();
    for i in 0..n {
        let req = get("x").with_payload(vec![i as u8]);
        let id = sim
            .node(CLIENT)
            .request(now, SERVER, req, Reliability::Confirmable)
            .unwrap();
        ids.insert(id, i);
    }
    // The server answers at once, or (slow) after the piggyback delay so that responses go
    // separately.
    let mut delayed: Vec<(Duration, mote_coap::endpoint::IncomingId, Vec<u8>)> = Vec::new();
    let deadline = now + secs(600);
    loop {
        let due = delayed
            .iter()
            .map(|d| d.0)
            .min()
            .unwrap_or(deadline)
            .min(deadline);
        let mut on_event = |ep: &mut SimEndpoint, t: Duration, node: Addr, e: Event<Addr>| {
            if let (SERVER, Event::Request { id, message, .. }) = (node, e) {
                if slow_server {
                    delayed.push((t + secs(2), id, message.message.payload));
                } else {
                    ep.respond(t, id, content(&message.message.payload))
                        .unwrap();
                }
            }
        };
        let progressed = sim.step(due, &mut on_event);
        if !progressed {
            sim.now = sim.now.max(due);
        }
        let t = sim.now;
        delayed.retain(|(at, id, payload)| {
            if *at <= t {
                sim.nodes
                    .get_mut(&SERVER)
                    .unwrap()
                    .respond(t, *id, content(payload))
                    .unwrap();
                false
            } else {
                true
            }
        });
        if !progressed && due >= deadline {
            break;
        }
    }
    // The application saw each request at most once ...
    let mut seen = BTreeMap::new();
    for e in sim.events_of(SERVER) {
        if let Event::Request { message, .. } = e {
            *seen.entry(message.message.payload.clone()).or_insert(0) += 1;
        }
    }
    assert!(
        seen.values().all(|c| *c == 1),
        "duplicate delivery: {seen:?}"
    );
    // ... the client got exactly one outcome per request, and every response it got answers
    // a request the server saw once, with the right payload.
    let mut outcomes = BTreeMap::new();
    for e in sim.events_of(CLIENT) {
        match e {
            Event::Response { id, message, .. } => {
                // A slow server's responses are separate CONs (§5.2.2), a prompt one's
                // piggybacked ACKs (§5.2.1).
                let expected = if slow_server {
                    MessageType::Con
                } else {
                    MessageType::Ack
                };
                assert_eq!(message.mtype, expected);
                let i = ids[id];
                assert_eq!(message.payload, [i as u8]);
                assert_eq!(seen.get(&vec![i as u8]), Some(&1));
                *outcomes.entry(*id).or_insert(0) += 1;
            }
            Event::TimedOut { id } => *outcomes.entry(*id).or_insert(0) += 1,
            other => panic!("unexpected client event {other:?}"),
        }
    }
    assert!(outcomes.values().all(|c| *c == 1), "{outcomes:?}");
    assert_eq!(outcomes.len(), n);
    if profile.loss_permille == 0 && std::env::var("SIM_DEBUG").is_ok() {
        for (t, node, e) in &sim.events {
            eprintln!("{t:?} {node} {e:?}");
        }
        for d in &sim.net.sent {
            eprintln!("{:?} {}->{} {:?}", d.at, d.from, d.to, decode(&d.bytes));
        }
    }
    if profile.loss_permille == 0 {
        assert_eq!(seen.len(), n, "without loss every request arrives");
        assert!(
            sim.events_of(CLIENT)
                .all(|e| matches!(e, Event::Response { .. }))
        );
    }
}

#[test]
fn duplicated_and_reordered_requests_reach_the_application_once() {
    let profile = LinkProfile {
        loss_permille: 0,
        duplicate_permille: 500,
        min_delay: ms(1),
        max_delay: secs(4),
    };
    exchange_under(profile, 11, 6, false);
    exchange_under(profile, 12, 6, true);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn every_con_request_reaches_the_application_exactly_once(
        seed in any::<u64>(),
        duplicate_permille in 0u32..800,
        loss_permille in prop_oneof![Just(0u32), 0u32..300],
        max_delay_ms in 0u64..6000,
        n in 1usize..6,
        slow_server in any::<bool>(),
    ) {
        let profile = LinkProfile {
            loss_permille,
            duplicate_permille,
            min_delay: ms(1),
            max_delay: ms(1 + max_delay_ms),
        };
        exchange_under(profile, seed, n, slow_server);
    }
}

// ---------------------------------------------------------------------------------------------
// Piggybacked and separate responses (§5.2).

#[test]
fn prompt_answer_is_piggybacked_slow_answer_is_separate() {
    let mut server = lone(EndpointConfig::default(), 21);
    let req = bytes(&wire(MessageType::Con, Code::GET, 0x1001, &[0xa1]));
    server.handle(T0, CLIENT, &req);
    let Event::Request { id, .. } = events(&mut server).remove(0) else {
        panic!()
    };
    server.respond(T0 + ms(10), id, content(b"now")).unwrap();
    // §5.2.1: ACK, same Message ID and token as the request.
    let out = transmits(&mut server);
    assert_eq!(
        out[0].1,
        [&[0x61, 0x45, 0x10, 0x01, 0xa1, 0xff][..], b"now"].concat()
    );
    assert_eq!(
        server.respond(T0, id, content(b"again")).unwrap_err(),
        EndpointError::UnknownIncoming { id }
    );

    // Slow: the default piggyback delay is 1 s; then an empty ACK, then a separate CON.
    let req = bytes(&wire(MessageType::Con, Code::GET, 0x1002, &[0xa2]));
    server.handle(T0, CLIENT, &req);
    let Event::Request { id, .. } = events(&mut server).remove(0) else {
        panic!()
    };
    assert_eq!(server.poll_timeout(), Some(T0 + secs(1)));
    server.handle_timeout(T0 + secs(1));
    assert_eq!(transmits(&mut server), [(CLIENT, empty_ack(0x1002))]);
    // A duplicate of the request now gets the empty ACK again, no second event (§4.5).
    server.handle(T0 + secs(2), CLIENT, &req);
    assert_eq!(transmits(&mut server), [(CLIENT, empty_ack(0x1002))]);
    assert!(events(&mut server).is_empty());
    server.respond(T0 + secs(3), id, content(b"late")).unwrap();
    let out = transmits(&mut server);
    let sep = decode(&out[0].1);
    assert_eq!(
        (sep.mtype(), sep.code(), sep.token()),
        (MessageType::Con, Code::CONTENT, &[0xa2][..])
    );
    assert_ne!(sep.message_id(), 0x1002);
    // Not acknowledged: retransmitted like any CON, 4 times, then reported.
    let mut retransmissions = 0;
    let mut failed = false;
    while let Some(t) = server.poll_timeout() {
        server.handle_timeout(t);
        for (_, d) in transmits(&mut server) {
            assert_eq!(d, out[0].1);
            retransmissions += 1;
        }
        for e in events(&mut server) {
            assert!(
                matches!(e, Event::SeparateResponseFailed { id: got, peer: CLIENT, reset: false } if got == id)
            );
            failed = true;
        }
    }
    assert_eq!((retransmissions, failed), (4, true));
}

#[test]
fn separate_response_acknowledged_by_client_stops() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 5);
    sim.add(CLIENT, EndpointConfig::default());
    sim.add(SERVER, EndpointConfig::default());
    let now = sim.now;
    let id = sim
        .node(CLIENT)
        .request(now, SERVER, get("slow"), Reliability::Confirmable)
        .unwrap();
    let mut pending = None;
    sim.run_for(secs(5), &mut |_, _, node, e| {
        if let (SERVER, Event::Request { id, .. }) = (node, e) {
            pending = Some(id);
        }
    });
    let t = sim.now;
    sim.node(SERVER)
        .respond(t, pending.unwrap(), content(b"late"))
        .unwrap();
    sim.run_for(secs(300), &mut ignore());
    let client_events: Vec<_> = sim.events_of(CLIENT).cloned().collect();
    match &client_events[..] {
        [
            Event::Response {
                id: got, message, ..
            },
        ] => {
            assert_eq!(*got, id);
            assert_eq!(message.mtype, MessageType::Con);
        }
        other => panic!("{other:?}"),
    }
    // Server → client: empty ACK, the separate response once (it was acknowledged).
    let s2c: Vec<_> = sim.sent(SERVER, CLIENT).collect();
    assert_eq!(s2c.len(), 2);
    assert_eq!(s2c[0].bytes.len(), 4);
    assert_eq!(sim.events_of(SERVER).count(), 1);
    assert_eq!(sim.node(SERVER).stats().separate_responses, 0);
}

#[test]
fn non_request_gets_non_response() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 6);
    sim.add(CLIENT, EndpointConfig::default());
    sim.add(SERVER, EndpointConfig::default());
    let now = sim.now;
    let id = sim
        .node(CLIENT)
        .request(now, SERVER, get("n"), Reliability::NonConfirmable)
        .unwrap();
    sim.run_for(secs(10), &mut answer_all(b"non"));
    let c2s: Vec<_> = sim.sent(CLIENT, SERVER).collect();
    assert_eq!(c2s.len(), 1);
    assert_eq!(decode(&c2s[0].bytes).mtype(), MessageType::Non);
    let s2c: Vec<_> = sim.sent(SERVER, CLIENT).collect();
    assert_eq!(s2c.len(), 1);
    assert_eq!(decode(&s2c[0].bytes).mtype(), MessageType::Non);
    assert!(
        matches!(sim.events_of(CLIENT).next(), Some(Event::Response { id: got, .. }) if *got == id)
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed messages, pings, unmatched responses (§4.2, §4.3, §5.3.2).

#[test]
fn malformed_con_is_reset_others_are_dropped() {
    let mut ep = lone(EndpointConfig::default(), 7);
    // CON GET, MID 0x1234, payload marker followed by nothing: a message format error (§3).
    ep.handle(T0, CLIENT, &[0x40, 0x01, 0x12, 0x34, 0xff]);
    assert_eq!(transmits(&mut ep), [(CLIENT, empty_rst(0x1234))]);
    // CON with TKL 9 (reserved without RFC 8974).
    ep.handle(
        T0,
        CLIENT,
        &[0x49, 0x01, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert_eq!(transmits(&mut ep), [(CLIENT, empty_rst(0x0007))]);
    // The same for NON, ACK and RST: silently dropped. Version 2: ignored (§3).
    ep.handle(T0, CLIENT, &[0x50, 0x01, 0x12, 0x35, 0xff]);
    ep.handle(T0, CLIENT, &[0x60, 0x45, 0x12, 0x36, 0xff]);
    ep.handle(T0, CLIENT, &[0x70, 0x01, 0x12, 0x37]);
    ep.handle(T0, CLIENT, &[0x80, 0x01, 0x12, 0x38, 0xff]);
    ep.handle(T0, CLIENT, &[0x40, 0x01]);
    assert!(transmits(&mut ep).is_empty());
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.stats().malformed, 7);
    assert_eq!(ep.stats().peers, 0);
}

#[test]
fn ping_is_reset() {
    let mut ep = lone(EndpointConfig::default(), 8);
    ep.handle(T0, CLIENT, &[0x40, 0x00, 0xbe, 0xef]);
    assert_eq!(transmits(&mut ep), [(CLIENT, empty_rst(0xbeef))]);
}

#[test]
fn unmatched_responses_are_reset_or_ignored_and_reported() {
    let mut ep = lone(EndpointConfig::default(), 9);
    let con = bytes(&wire(MessageType::Con, Code::CONTENT, 0x2001, &[9, 9]));
    ep.handle(T0, SERVER, &con);
    assert_eq!(transmits(&mut ep), [(SERVER, empty_rst(0x2001))]);
    assert!(
        matches!(&events(&mut ep)[..], [Event::UnmatchedResponse { peer: SERVER, message }] if message.token == [9, 9])
    );
    // Its duplicate gets the same Reset, and is not reported twice.
    ep.handle(T0, SERVER, &con);
    assert_eq!(transmits(&mut ep), [(SERVER, empty_rst(0x2001))]);
    assert!(events(&mut ep).is_empty());
    let non = bytes(&wire(MessageType::Non, Code::CONTENT, 0x2002, &[9, 8]));
    ep.handle(T0, SERVER, &non);
    assert!(transmits(&mut ep).is_empty());
    assert!(matches!(
        &events(&mut ep)[..],
        [Event::UnmatchedResponse { peer: SERVER, .. }]
    ));
    // A piggybacked response for a Message ID we never used.
    let ack = bytes(&wire(MessageType::Ack, Code::CONTENT, 0x2003, &[9, 7]));
    ep.handle(T0, SERVER, &ack);
    assert!(transmits(&mut ep).is_empty());
    assert!(matches!(
        &events(&mut ep)[..],
        [Event::UnmatchedResponse { .. }]
    ));
    // A response from another peer with a token we used is not a match either (§5.3.2).
    ep.request(T0, SERVER, get("x"), Reliability::Confirmable)
        .unwrap();
    let token = decode(&transmits(&mut ep)[0].1).token().to_vec();
    let other = bytes(&wire(MessageType::Non, Code::CONTENT, 0x2004, &token));
    ep.handle(T0, 77, &other);
    assert!(matches!(
        &events(&mut ep)[..],
        [Event::UnmatchedResponse { peer: 77, .. }]
    ));
}

// ---------------------------------------------------------------------------------------------
// Critical options (§5.4.1).

#[test]
fn unrecognized_critical_options_get_bad_option() {
    let mut ep = lone(EndpointConfig::default(), 10);
    for (mid, number) in [(0x3001u16, 25u16), (0x3002, 65001)] {
        let req = bytes(
            &wire(MessageType::Con, Code::GET, mid, &[1]).with_option(OptionNumber(number), b"v"),
        );
        ep.handle(T0, CLIENT, &req);
        let out = transmits(&mut ep);
        let resp = decode(&out[0].1);
        assert_eq!(
            (resp.mtype(), resp.code(), resp.message_id(), resp.token()),
            (MessageType::Ack, Code::BAD_OPTION, mid, &[1][..])
        );
        let diagnostic = std::str::from_utf8(resp.payload()).unwrap();
        assert!(diagnostic.contains(&number.to_string()), "{diagnostic}");
        assert!(events(&mut ep).is_empty());
    }
    // NON: rejected with a Reset.
    let req = bytes(
        &wire(MessageType::Non, Code::GET, 0x3003, &[1]).with_option(OptionNumber(65001), b""),
    );
    ep.handle(T0, CLIENT, &req);
    assert_eq!(transmits(&mut ep), [(CLIENT, empty_rst(0x3003))]);
    assert!(events(&mut ep).is_empty());
    // Elective unknown options (65000) are ignored.
    let req = bytes(
        &wire(MessageType::Con, Code::GET, 0x3004, &[1]).with_option(OptionNumber(65000), b""),
    );
    ep.handle(T0, CLIENT, &req);
    assert!(matches!(&events(&mut ep)[..], [Event::Request { .. }]));
}

/// The OSCORE option (9) is critical (RFC 8613 §2) and known to the option registry, but an
/// endpoint without a protection layer that processes it (`NoProtection`) does not recognize
/// it: 4.02 for a CON request, a Reset for a NON one, nothing delivered (RFC 7252 §5.4.1;
/// the OSCORE plugtest's test 16). Listed in `recognized_options`, it is the application's.
#[test]
fn an_oscore_request_to_an_endpoint_without_oscore_gets_bad_option() {
    // 0x09: flags with a 1-byte Partial IV and a kid (RFC 8613 §6.1), PIV 0x14, kid empty.
    let oscore = [0x09u8, 0x14];
    let mut ep = lone(EndpointConfig::default(), 13);
    let req = bytes(
        &wire(MessageType::Con, Code::POST, 0x3101, &[2])
            .with_option(OptionNumber::OSCORE, oscore)
            .with_payload(vec![0xaa; 9]),
    );
    ep.handle(T0, CLIENT, &req);
    let out = transmits(&mut ep);
    assert_eq!(out.len(), 1);
    let resp = decode(&out[0].1);
    assert_eq!(
        (resp.mtype(), resp.code(), resp.message_id(), resp.token()),
        (MessageType::Ack, Code::BAD_OPTION, 0x3101, &[2][..])
    );
    let diagnostic = std::str::from_utf8(resp.payload()).unwrap();
    assert!(diagnostic.contains('9'), "{diagnostic}");
    assert!(events(&mut ep).is_empty());
    // NON: a Reset.
    let req = bytes(
        &wire(MessageType::Non, Code::POST, 0x3102, &[2]).with_option(OptionNumber::OSCORE, oscore),
    );
    ep.handle(T0, CLIENT, &req);
    assert_eq!(transmits(&mut ep), [(CLIENT, empty_rst(0x3102))]);
    assert!(events(&mut ep).is_empty());
    // Declared by the application: delivered with the option.
    let config = EndpointConfig {
        recognized_options: vec![OptionNumber::OSCORE],
        ..EndpointConfig::default()
    };
    let mut ep = lone(config, 14);
    let req = bytes(
        &wire(MessageType::Con, Code::POST, 0x3103, &[2]).with_option(OptionNumber::OSCORE, oscore),
    );
    ep.handle(T0, CLIENT, &req);
    assert!(matches!(&events(&mut ep)[..], [Event::Request { .. }]));
}

#[test]
fn declared_options_are_recognized() {
    let config = EndpointConfig {
        recognized_options: vec![OptionNumber(65001)],
        ..EndpointConfig::default()
    };
    let mut ep = lone(config, 11);
    let req =
        bytes(&wire(MessageType::Con, Code::GET, 1, &[1]).with_option(OptionNumber(65001), b""));
    ep.handle(T0, CLIENT, &req);
    assert!(matches!(&events(&mut ep)[..], [Event::Request { .. }]));
    let req = bytes(&wire(MessageType::Con, Code::GET, 2, &[1]).with_option(OptionNumber(25), b""));
    ep.handle(T0, CLIENT, &req);
    assert!(events(&mut ep).is_empty());
    assert_eq!(decode(&transmits(&mut ep)[0].1).code(), Code::BAD_OPTION);
}

#[test]
fn responses_with_unrecognized_critical_options_are_rejected() {
    let mut ep = lone(EndpointConfig::default(), 12);
    // Separate CON response: Reset, request over, reported.
    let id = ep
        .request(T0, SERVER, get("a"), Reliability::Confirmable)
        .unwrap();
    let token = decode(&transmits(&mut ep)[0].1).token().to_vec();
    let resp = bytes(
        &wire(MessageType::Con, Code::CONTENT, 0x5001, &token).with_option(OptionNumber(25), b""),
    );
    ep.handle(T0, SERVER, &resp);
    assert_eq!(transmits(&mut ep), [(SERVER, empty_rst(0x5001))]);
    assert!(
        matches!(&events(&mut ep)[..], [Event::ResponseRejected { id: got, .. }] if *got == id)
    );
    // Piggybacked: rejected and reported.
    let id = ep
        .request(T0, SERVER, get("b"), Reliability::Confirmable)
        .unwrap();
    let req = transmits(&mut ep);
    let req = decode(&req[0].1);
    let resp = bytes(
        &wire(
            MessageType::Ack,
            Code::CONTENT,
            req.message_id(),
            req.token(),
        )
        .with_option(OptionNumber(65001), b""),
    );
    ep.handle(T0, SERVER, &resp);
    assert!(transmits(&mut ep).is_empty());
    assert!(
        matches!(&events(&mut ep)[..], [Event::ResponseRejected { id: got, .. }] if *got == id)
    );
    assert_eq!(ep.stats().outstanding_requests, 0);
}

// ---------------------------------------------------------------------------------------------
// Conditional requests (§5.10.8).

#[test]
fn preconditions_yield_precondition_failed() {
    let mut ep = lone(EndpointConfig::default(), 13);
    let mut request = |mid: u16, m: OwnedMessage| {
        ep.handle(T0, CLIENT, &bytes(&m.with_token([1])));
        let _ = mid;
        match events(&mut ep).remove(0) {
            Event::Request { message, .. } => message,
            other => panic!("{other:?}"),
        }
    };
    let put = |mid| wire(MessageType::Con, Code::PUT, mid, &[]);
    let etag = ResourceState {
        exists: true,
        etag: Some(b"v1"),
    };
    let absent = ResourceState::default();
    let failed = |option| Err(EndpointError::PreconditionFailed { option });

    let r = request(1, put(1).with_option(OptionNumber::IF_MATCH, b"v1"));
    assert_eq!(r.check_preconditions(etag), Ok(()));
    assert_eq!(
        r.check_preconditions(ResourceState {
            exists: true,
            etag: Some(b"v2")
        }),
        failed(OptionNumber::IF_MATCH)
    );
    assert_eq!(
        r.check_preconditions(absent),
        failed(OptionNumber::IF_MATCH)
    );
    // Several If-Match: any one matching suffices.
    let r = request(
        2,
        put(2)
            .with_option(OptionNumber::IF_MATCH, b"v0")
            .with_option(OptionNumber::IF_MATCH, b"v1"),
    );
    assert_eq!(r.check_preconditions(etag), Ok(()));
    // Empty If-Match: any existing representation.
    let r = request(3, put(3).with_option(OptionNumber::IF_MATCH, b""));
    assert_eq!(
        r.check_preconditions(ResourceState {
            exists: true,
            etag: None
        }),
        Ok(())
    );
    assert_eq!(
        r.check_preconditions(absent),
        failed(OptionNumber::IF_MATCH)
    );
    // If-None-Match: only when the resource does not exist.
    let r = request(4, put(4).with_option(OptionNumber::IF_NONE_MATCH, b""));
    assert_eq!(r.check_preconditions(absent), Ok(()));
    let err = r.check_preconditions(etag).unwrap_err();
    assert_eq!(
        err,
        EndpointError::PreconditionFailed {
            option: OptionNumber::IF_NONE_MATCH
        }
    );
    assert_eq!(err.response_code(), Code(0x8c)); // 4.12
    // No condition: always met.
    let r = request(5, put(5));
    assert_eq!(r.check_preconditions(absent), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Echo (RFC 9175).

fn echo_config(window: Duration) -> EndpointConfig {
    EndpointConfig {
        echo: Some(EchoPolicy {
            window,
            require: EchoRequirement::UnsafeMethods,
        }),
        ..EndpointConfig::default()
    }
}

/// `ProtectedUnsafeMethods` lets plain requests through without Echo (the protected half is
/// checked end to end by `mote serve --fresh-echo --oscore`, crates/mote/tests/echo_freshness.rs).
#[test]
fn protected_unsafe_methods_demand_no_echo_of_plain_requests() {
    let config = EndpointConfig {
        echo: Some(EchoPolicy {
            window: secs(10),
            require: EchoRequirement::ProtectedUnsafeMethods,
        }),
        ..EndpointConfig::default()
    };
    let mut ep = lone(config, 14);
    let put = wire(MessageType::Con, Code::PUT, 2, &[7]).with_payload(*b"x");
    ep.handle(T0, CLIENT, &bytes(&put));
    assert!(matches!(&events(&mut ep)[..], [Event::Request { .. }]));
    assert!(transmits(&mut ep).is_empty(), "no 4.01 Echo challenge");
}

#[test]
fn server_demands_fresh_echo_bound_to_peer() {
    let mut ep = lone(echo_config(secs(10)), 14);
    let put = |mid: u16| wire(MessageType::Con, Code::PUT, mid, &[7]).with_payload(*b"x");
    // GET is safe: no Echo needed.
    ep.handle(
        T0,
        CLIENT,
        &bytes(&wire(MessageType::Con, Code::GET, 1, &[7])),
    );
    assert!(matches!(&events(&mut ep)[..], [Event::Request { .. }]));
    transmits(&mut ep);
    // PUT without Echo: 4.01 with an Echo option of 1–40 bytes (§2.2.1), no event.
    ep.handle(T0, CLIENT, &bytes(&put(2)));
    let out = transmits(&mut ep);
    let resp = decode(&out[0].1);
    assert_eq!(
        (resp.mtype(), resp.code()),
        (MessageType::Ack, Code::UNAUTHORIZED)
    );
    let echo = resp.option(OptionNumber::ECHO).unwrap().value.to_vec();
    assert!((1..=40).contains(&echo.len()));
    // Not delivered; reported as a challenge (RFC 9175 §2.3).
    match &events(&mut ep)[..] {
        [
            Event::EchoChallenged {
                peer,
                identity: None,
                method: Code::PUT,
                path,
            },
        ] => assert_eq!((*peer, path.len()), (CLIENT, 0)),
        other => panic!("{other:?}"),
    }
    let with_echo = |mid| bytes(&put(mid).with_option(OptionNumber::ECHO, &echo));
    // The value from another peer: not fresh (binding to a security context: see
    // endpoint_compose_protection.rs).
    ep.handle(T0 + secs(1), 99, &with_echo(3));
    assert!(requests(&mut ep).is_empty());
    assert!(
        transmits(&mut ep)
            .iter()
            .all(|(_, d)| decode(d).code() == Code::UNAUTHORIZED)
    );
    // The right peer and context within the window: through.
    ep.handle(T0 + secs(9), CLIENT, &with_echo(6));
    match &requests(&mut ep)[..] {
        [Event::Request { message, .. }] => assert_eq!(message.identity, None),
        other => panic!("{other:?}"),
    }
    transmits(&mut ep);
    // Outside the window: 4.01 again.
    ep.handle(T0 + secs(10), CLIENT, &with_echo(7));
    assert!(requests(&mut ep).is_empty());
    assert_eq!(decode(&transmits(&mut ep)[0].1).code(), Code::UNAUTHORIZED);
    // A made-up value: 4.01.
    ep.handle(
        T0 + secs(10),
        CLIENT,
        &bytes(&put(8).with_option(OptionNumber::ECHO, b"guess")),
    );
    assert!(requests(&mut ep).is_empty());
}

/// An Echo value is spent by the request it made fresh (a captured request cannot be
/// repeated with it); a Block1 upload keeps it for its later blocks (RFC 9175 §2.3, §2.4).
#[test]
fn an_echo_value_is_spent_by_its_request_but_not_by_an_early_block() {
    let mut ep = lone(echo_config(secs(30)), 16);
    let put = |mid: u16| wire(MessageType::Con, Code::PUT, mid, &[7]).with_payload(*b"x");
    ep.handle(T0, CLIENT, &bytes(&put(1)));
    let echo = decode(&transmits(&mut ep)[0].1)
        .option(OptionNumber::ECHO)
        .unwrap()
        .value
        .to_vec();
    // Block1 NUM 0, M set, 16-byte blocks: 0x08. Through (2.31 from the endpoint), not spent.
    let block = |mid: u16, value: u8| {
        wire(MessageType::Con, Code::PUT, mid, &[7])
            .with_option(OptionNumber::ECHO, &echo)
            .with_option(OptionNumber::BLOCK1, [value])
            .with_payload([1u8; 16])
    };
    ep.handle(T0, CLIENT, &bytes(&block(2, 0x08)));
    assert_eq!(decode(&transmits(&mut ep)[0].1).code(), Code::CONTINUE);
    // The last block (NUM 1, M clear) with the same value: the whole request is served.
    ep.handle(T0, CLIENT, &bytes(&block(3, 0x10)));
    assert!(matches!(&requests(&mut ep)[..], [Event::Request { .. }]));
    transmits(&mut ep);
    // Spent: the same value again is refused.
    let again = put(4).with_option(OptionNumber::ECHO, &echo);
    ep.handle(T0 + secs(1), CLIENT, &bytes(&again));
    assert!(requests(&mut ep).is_empty());
    assert_eq!(decode(&transmits(&mut ep)[0].1).code(), Code::UNAUTHORIZED);
}

#[test]
fn client_retries_once_with_echo_and_reports_only_the_final_response() {
    let mut sim = Sim::new(LinkProfile::PERFECT, 15);
    sim.add(CLIENT, EndpointConfig::default());
    sim.add(SERVER, echo_config(secs(30)));
    let now = sim.now;
    let put = OwnedMessage::new(MessageType::Con, Code::PUT, 0).with_payload(*b"on");
    let id = sim
        .node(CLIENT)
        .request(now, SERVER, put, Reliability::Confirmable)
        .unwrap();
    sim.run_for(secs(10), &mut |ep, t, _, e| {
        if let Event::Request { id, .. } = e {
            ep.respond(t, id, OwnedMessage::new(MessageType::Ack, Code::CHANGED, 0))
                .unwrap();
        }
    });
    let client: Vec<_> = sim.events_of(CLIENT).cloned().collect();
    match &client[..] {
        [
            Event::Response {
                id: got, message, ..
            },
        ] => {
            assert_eq!(*got, id);
            assert_eq!(message.code, Code::CHANGED);
        }
        other => panic!("{other:?}"),
    }
    // The server saw the challenge once and the fresh request once.
    let server: Vec<_> = sim.events_of(SERVER).collect();
    assert_eq!(server.len(), 2, "{server:?}");
    assert!(matches!(server[0], Event::EchoChallenged { .. }));
    assert!(matches!(server[1], Event::Request { .. }));
    let c2s: Vec<_> = sim.sent(CLIENT, SERVER).collect();
    assert_eq!(c2s.len(), 2);
    let (first, retry) = (decode(&c2s[0].bytes), decode(&c2s[1].bytes));
    assert!(first.option(OptionNumber::ECHO).is_none());
    assert!(retry.option(OptionNumber::ECHO).is_some());
    assert_ne!(first.message_id(), retry.message_id());
    assert_eq!(retry.payload(), b"on");
    assert_eq!(sim.node(CLIENT).stats().echo_retries, 1);

    // A server that keeps answering 4.01 with the same Echo value: one retry only, then the
    // 4.01 is final (RFC 9175 §2.4: only a new value is worth another retry).
    let mut ep = lone(EndpointConfig::default(), 16);
    let id = ep
        .request(T0, SERVER, get("e"), Reliability::Confirmable)
        .unwrap();
    for round in 0..2 {
        let out = transmits(&mut ep);
        assert_eq!(out.len(), 1, "round {round}");
        let req = decode(&out[0].1);
        let unauthorized = bytes(
            &wire(
                MessageType::Ack,
                Code::UNAUTHORIZED,
                req.message_id(),
                req.token(),
            )
            .with_option(OptionNumber::ECHO, b"abc"),
        );
        ep.handle(T0, SERVER, &unauthorized);
    }
    assert!(
        matches!(&events(&mut ep)[..], [Event::Response { id: got, message, .. }] if *got == id && message.code == Code::UNAUTHORIZED)
    );
    assert_eq!(ep.stats().echo_retries, 1);
}

/// Two challenges with different Echo values (a restarted OSCORE server's replay-window
/// recovery, RFC 8613 Appendix B.1.2, then freshness for an unsafe method, RFC 9175 §2.3) are
/// both answered; a third new value is not: the retries are bounded.
#[test]
fn client_answers_two_distinct_echo_challenges_and_no_more() {
    let challenge = |ep: &mut SimEndpoint, echo: &[u8]| {
        let out = transmits(ep);
        assert_eq!(out.len(), 1);
        let req = decode(&out[0].1);
        let sent = req.option(OptionNumber::ECHO).map(|o| o.value.to_vec());
        let answer = bytes(
            &wire(
                MessageType::Ack,
                Code::UNAUTHORIZED,
                req.message_id(),
                req.token(),
            )
            .with_option(OptionNumber::ECHO, echo),
        );
        ep.handle(T0, SERVER, &answer);
        sent
    };
    let mut ep = lone(EndpointConfig::default(), 17);
    let id = ep
        .request(T0, SERVER, get("w"), Reliability::Confirmable)
        .unwrap();
    assert_eq!(challenge(&mut ep, b"window"), None);
    assert_eq!(challenge(&mut ep, b"fresh"), Some(b"window".to_vec()));
    let out = transmits(&mut ep);
    let req = decode(&out[0].1);
    assert_eq!(req.option(OptionNumber::ECHO).unwrap().value, b"fresh");
    let changed = bytes(&wire(
        MessageType::Ack,
        Code::CHANGED,
        req.message_id(),
        req.token(),
    ));
    ep.handle(T0, SERVER, &changed);
    assert!(
        matches!(&events(&mut ep)[..], [Event::Response { id: got, message, .. }] if *got == id && message.code == Code::CHANGED)
    );
    assert_eq!(ep.stats().echo_retries, 2);

    // A server that never runs out of new Echo values: two retries, then its 4.01 is final.
    let mut ep = lone(EndpointConfig::default(), 18);
    let id = ep
        .request(T0, SERVER, get("w"), Reliability::Confirmable)
        .unwrap();
    for echo in [&b"a"[..], b"b", b"c"] {
        challenge(&mut ep, echo);
    }
    assert!(transmits(&mut ep).is_empty());
    assert!(
        matches!(&events(&mut ep)[..], [Event::Response { id: got, message, .. }] if *got == id && message.code == Code::UNAUTHORIZED)
    );
    assert_eq!(ep.stats().echo_retries, 2);
}

// ---------------------------------------------------------------------------------------------
// NSTART and PROBING_RATE (§4.7).

#[test]
fn nstart_queues_further_requests_per_peer() {
    let mut ep = lone(EndpointConfig::default(), 17); // NSTART = 1
    let a = ep
        .request(T0, SERVER, get("a"), Reliability::Confirmable)
        .unwrap();
    let b = ep
        .request(T0, SERVER, get("b"), Reliability::Confirmable)
        .unwrap();
    let _c = ep
        .request(T0, SERVER, get("c"), Reliability::Confirmable)
        .unwrap();
    let _other = ep
        .request(T0, 3, get("d"), Reliability::Confirmable)
        .unwrap();
    let out = transmits(&mut ep);
    assert_eq!(out.iter().filter(|(p, _)| *p == SERVER).count(), 1);
    assert_eq!(out.iter().filter(|(p, _)| *p == 3).count(), 1);
    assert_eq!(ep.stats().queued_requests, 2);
    // Acknowledging the first lets the second go.
    let first = decode(&out[0].1);
    assert_eq!(first.option(OptionNumber::URI_PATH).unwrap().value, b"a");
    ep.handle(T0 + secs(1), SERVER, &empty_ack(first.message_id()));
    let out = transmits(&mut ep);
    assert_eq!(out.len(), 1);
    assert_eq!(
        decode(&out[0].1)
            .option(OptionNumber::URI_PATH)
            .unwrap()
            .value,
        b"b"
    );
    assert_eq!(ep.stats().queued_requests, 1);
    let _ = (a, b);
}

#[test]
fn probing_rate_paces_non_requests_to_a_silent_peer() {
    let mut ep = lone(EndpointConfig::default(), 18); // PROBING_RATE = 1 byte/s
    ep.request(T0, SERVER, get("p"), Reliability::NonConfirmable)
        .unwrap();
    let first = transmits(&mut ep);
    let len = first[0].1.len() as u64;
    ep.request(T0, SERVER, get("q"), Reliability::NonConfirmable)
        .unwrap();
    assert!(transmits(&mut ep).is_empty());
    // On average at most 1 byte per second: the next one not before `len` seconds.
    let wake = ep.poll_timeout().unwrap();
    assert!(wake >= T0 + secs(len), "{wake:?}");
    ep.handle_timeout(T0 + secs(len) - ms(1));
    assert!(transmits(&mut ep).is_empty());
    ep.handle_timeout(T0 + secs(len));
    assert_eq!(transmits(&mut ep).len(), 1);
    // Once the peer answers, NONs flow again.
    let m = bytes(&wire(MessageType::Non, Code::GET, 9, &[1]));
    ep.handle(T0 + secs(len), SERVER, &m);
    transmits(&mut ep);
    ep.request(
        T0 + secs(len),
        SERVER,
        get("r"),
        Reliability::NonConfirmable,
    )
    .unwrap();
    assert_eq!(transmits(&mut ep).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Tokens (RFC 8974) and deduplication of NON.

#[test]
fn extended_tokens_are_accepted_up_to_the_configured_length() {
    let token: Vec<u8> = (0..16).collect();
    let req = bytes(&wire(MessageType::Con, Code::GET, 0x6001, &token));
    let mut plain = lone(EndpointConfig::default(), 19);
    plain.handle(T0, CLIENT, &req);
    assert_eq!(transmits(&mut plain), [(CLIENT, empty_rst(0x6001))]);
    let mut ext = lone(
        EndpointConfig {
            max_incoming_token_len: 16,
            ..EndpointConfig::default()
        },
        19,
    );
    ext.handle(T0, CLIENT, &req);
    let Event::Request { id, .. } = events(&mut ext).remove(0) else {
        panic!()
    };
    ext.respond(T0, id, content(b"")).unwrap();
    assert_eq!(decode(&transmits(&mut ext)[0].1).token(), &token[..]);
    let longer: Vec<u8> = (0..17).collect();
    ext.handle(
        T0,
        CLIENT,
        &bytes(&wire(MessageType::Con, Code::GET, 0x6002, &longer)),
    );
    assert_eq!(transmits(&mut ext), [(CLIENT, empty_rst(0x6002))]);
}

#[test]
fn duplicate_non_request_is_ignored_until_non_lifetime() {
    let mut ep = lone(EndpointConfig::default(), 20);
    let req = bytes(&wire(MessageType::Non, Code::GET, 0x7001, &[1]));
    ep.handle(T0, CLIENT, &req);
    ep.handle(T0 + secs(144), CLIENT, &req);
    assert_eq!(events(&mut ep).len(), 1);
    // NON_LIFETIME = 145 s (§4.8.2): afterwards the same Message ID is a new message.
    ep.handle(T0 + secs(145), CLIENT, &req);
    assert_eq!(events(&mut ep).len(), 1);
}

#[test]
fn duplicate_con_after_piggybacked_response_gets_the_same_response() {
    let mut ep = lone(EndpointConfig::default(), 21);
    let req = bytes(&wire(MessageType::Con, Code::GET, 0x7002, &[1]));
    ep.handle(T0, CLIENT, &req);
    // Still being processed: nothing (neither a second event nor an ACK yet).
    ep.handle(T0 + ms(10), CLIENT, &req);
    assert!(transmits(&mut ep).is_empty());
    let evs = events(&mut ep);
    assert_eq!(evs.len(), 1);
    let Event::Request { id, .. } = evs[0].clone() else {
        panic!()
    };
    ep.respond(T0 + ms(20), id, content(b"c")).unwrap();
    let first = transmits(&mut ep);
    ep.handle(T0 + secs(200), CLIENT, &req);
    assert_eq!(transmits(&mut ep), first);
    assert!(events(&mut ep).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Limits: each filled by a flood, and holding.

fn limited(l: EndpointLimits) -> EndpointConfig {
    EndpointConfig {
        limits: l,
        ..EndpointConfig::default()
    }
}

#[test]
fn peer_table_holds_under_a_flood() {
    let mut ep = lone(
        limited(EndpointLimits {
            max_peers: 4,
            ..EndpointLimits::default()
        }),
        30,
    );
    for peer in 0..50u16 {
        ep.handle(
            T0,
            100 + peer,
            &bytes(&wire(MessageType::Non, Code::GET, peer, &[1])),
        );
        assert!(ep.stats().peers <= 4);
    }
    assert_eq!(ep.stats().peers, 4);
    assert_eq!(ep.stats().dropped_peer_table_full, 46);
    assert_eq!(
        ep.request(T0, 999, get("x"), Reliability::Confirmable),
        Err(EndpointError::PeerTableFull { capacity: 4 })
    );
    // After NON_LIFETIME (and with the requests answered or abandoned) peers are forgotten.
    ep.handle_timeout(T0 + secs(247));
    assert_eq!(ep.stats().peers, 0);
    ep.request(T0 + secs(247), 999, get("x"), Reliability::Confirmable)
        .unwrap();
}

/// RFC 7252 §4.5 with bounded tables: a flood of distinct messages never grows the tables past
/// their bounds; full tables evict answered entries (the peer's own oldest first, else the one
/// of any peer that expires first), so every distinct message is still delivered once and the
/// most recent ones are still recognized as duplicates.
#[test]
fn dedup_tables_hold_per_peer_and_in_total() {
    let mut ep = lone(
        limited(EndpointLimits {
            max_dedup_per_peer: 3,
            max_dedup_total: 5,
            max_pending_incoming: 100,
            ..EndpointLimits::default()
        }),
        31,
    );
    let mut delivered = 0;
    for peer in 5..10u16 {
        for mid in 0..20u16 {
            ep.handle(
                T0,
                peer,
                &bytes(&wire(MessageType::Non, Code::GET, mid, &[1])),
            );
            let s = ep.stats();
            assert!(
                s.dedup_entries <= 5 && s.max_dedup_of_one_peer <= 3,
                "{s:?}"
            );
            delivered += events(&mut ep).len();
        }
    }
    // 5 peers × 20 distinct Message IDs, each delivered exactly once.
    assert_eq!(delivered, 100);
    assert_eq!(ep.stats().dropped_dedup_full, 0);
    // The last peer's latest messages are remembered: a copy is a duplicate, not a new request.
    ep.handle(T0, 9, &bytes(&wire(MessageType::Non, Code::GET, 19, &[1])));
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.stats().duplicates, 1);
}

/// More CON requests than `max_dedup_per_peer` from one client, one after the other, are all
/// answered (an honest client is not stalled for EXCHANGE_LIFETIME), while a retransmission of
/// a request still being processed is never delivered twice: its entry is not evictable, and a
/// new request that finds only such entries is dropped.
#[test]
fn dedup_evicts_answered_entries_never_requests_in_progress() {
    let mut ep = lone(
        limited(EndpointLimits {
            max_dedup_per_peer: 2,
            max_pending_incoming: 100,
            ..EndpointLimits::default()
        }),
        33,
    );
    for mid in 0..10u16 {
        ep.handle(T0, 7, &bytes(&wire(MessageType::Con, Code::GET, mid, &[2])));
        let ev = events(&mut ep);
        assert_eq!(ev.len(), 1, "request {mid} delivered");
        let Event::Request { id, .. } = &ev[0] else {
            panic!("{ev:?}")
        };
        ep.respond(T0, *id, content(b"ok")).unwrap();
    }
    assert_eq!(ep.stats().dropped_dedup_full, 0);
    // Two requests left unanswered fill the peer's table with entries in progress.
    ep.handle(T0, 7, &bytes(&wire(MessageType::Con, Code::GET, 100, &[3])));
    ep.handle(T0, 7, &bytes(&wire(MessageType::Con, Code::GET, 101, &[4])));
    assert_eq!(events(&mut ep).len(), 2);
    // Their retransmissions are duplicates; a third request has no room and is dropped.
    ep.handle(T0, 7, &bytes(&wire(MessageType::Con, Code::GET, 100, &[3])));
    ep.handle(T0, 7, &bytes(&wire(MessageType::Con, Code::GET, 102, &[5])));
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.stats().dropped_dedup_full, 1);
}

#[test]
fn outstanding_and_queue_limits_are_typed_errors() {
    let mut ep = lone(
        limited(EndpointLimits {
            max_outstanding_requests: 3,
            ..EndpointLimits::default()
        }),
        32,
    );
    for peer in 0..3u16 {
        ep.request(T0, peer, get("x"), Reliability::Confirmable)
            .unwrap();
    }
    assert_eq!(
        ep.request(T0, 9, get("x"), Reliability::Confirmable),
        Err(EndpointError::TooManyOutstanding { capacity: 3 })
    );
    let mut ep = lone(
        limited(EndpointLimits {
            max_queued_requests: 2,
            ..EndpointLimits::default()
        }),
        33,
    );
    for _ in 0..3 {
        ep.request(T0, SERVER, get("x"), Reliability::Confirmable)
            .unwrap();
    }
    assert_eq!(ep.stats().queued_requests, 2);
    assert_eq!(
        ep.request(T0, SERVER, get("x"), Reliability::Confirmable),
        Err(EndpointError::QueueFull { capacity: 2 })
    );
    assert_eq!(ep.stats().queued_requests, 2);
}

#[test]
fn pending_incoming_limit_answers_service_unavailable() {
    let mut ep = lone(
        limited(EndpointLimits {
            max_pending_incoming: 2,
            ..EndpointLimits::default()
        }),
        34,
    );
    for mid in 0..6u16 {
        ep.handle(
            T0,
            CLIENT,
            &bytes(&wire(MessageType::Con, Code::GET, mid, &[1])),
        );
    }
    assert_eq!(events(&mut ep).len(), 2);
    assert_eq!(ep.stats().pending_incoming, 2);
    let out = transmits(&mut ep);
    assert_eq!(out.len(), 4);
    for (_, d) in &out {
        assert_eq!(decode(d).code(), Code::SERVICE_UNAVAILABLE); // 5.03
    }
    assert_eq!(ep.stats().refused_pending_full, 4);
    // Unanswered requests are forgotten after EXCHANGE_LIFETIME.
    ep.handle_timeout(T0 + secs(247));
    assert_eq!(ep.stats().pending_incoming, 0);
}

#[test]
fn message_size_limit_holds_both_ways() {
    let mut ep = lone(
        limited(EndpointLimits {
            max_message_size: 64,
            ..EndpointLimits::default()
        }),
        35,
    );
    // A body larger than fits goes out in Block1 blocks that fit (RFC 7959 §2.5).
    let big = get("x").with_payload(vec![0u8; 100]);
    ep.request(T0, SERVER, big, Reliability::Confirmable)
        .unwrap();
    let out = transmits(&mut ep);
    assert!(out[0].1.len() <= 64);
    assert!(decode(&out[0].1).option(OptionNumber::BLOCK1).is_some());
    let mut ep = lone(
        limited(EndpointLimits {
            max_message_size: 64,
            ..EndpointLimits::default()
        }),
        35,
    );
    // Options that alone exceed the limit cannot be sent.
    let huge = get("x").with_option(OptionNumber::URI_QUERY, [b'q'; 70]);
    assert!(matches!(
        ep.request(T0, SERVER, huge, Reliability::Confirmable),
        Err(EndpointError::MessageTooLarge { max: 64, .. })
    ));
    assert_eq!(ep.stats().outstanding_requests, 0);
    let req = bytes(&wire(MessageType::Con, Code::GET, 1, &[1]).with_payload(vec![0u8; 80]));
    ep.handle(T0, CLIENT, &req);
    assert!(events(&mut ep).is_empty() && transmits(&mut ep).is_empty());
    assert_eq!(ep.stats().oversized, 1);
    ep.handle(
        T0,
        CLIENT,
        &bytes(&wire(MessageType::Con, Code::GET, 2, &[1])),
    );
    let Event::Request { id, .. } = events(&mut ep).remove(0) else {
        panic!()
    };
    // A body larger than fits is sliced with Block2 (RFC 7959 §2.4) into blocks that fit.
    ep.respond(T0, id, content(&[0u8; 70])).unwrap();
    let out = transmits(&mut ep);
    assert_eq!(out.len(), 1);
    assert!(out[0].1.len() <= 64);
    let sliced = decode(&out[0].1);
    assert_eq!(sliced.payload().len(), 16);
    assert!(sliced.option(OptionNumber::BLOCK2).is_some());
    // Options that alone exceed the limit still cannot be sent.
    ep.handle(
        T0,
        CLIENT,
        &bytes(&wire(MessageType::Con, Code::GET, 3, &[2])),
    );
    let Event::Request { id, .. } = events(&mut ep).remove(0) else {
        panic!()
    };
    let huge = content(b"").with_option(OptionNumber::LOCATION_PATH, [b'a'; 70]);
    assert!(matches!(
        ep.respond(T0, id, huge),
        Err(EndpointError::MessageTooLarge { .. })
    ));
}

#[test]
fn echo_table_transmit_and_event_queues_hold() {
    let mut config = echo_config(secs(60));
    config.limits.max_echo_challenges = 3;
    config.limits.max_queued_transmits = 4;
    config.limits.max_queued_events = 2;
    let mut ep = lone(config, 36);
    for peer in 0..10u16 {
        ep.handle(
            T0,
            peer,
            &bytes(&wire(MessageType::Con, Code::POST, peer, &[1])),
        );
        assert!(ep.stats().echo_challenges <= 3);
        assert!(ep.stats().queued_transmits <= 4);
        assert!(ep.stats().queued_events <= 2);
    }
    assert_eq!(ep.stats().echo_challenges, 3);
    assert_eq!(ep.stats().dropped_transmits, 6);
    // Ten challenge reports into a queue of two.
    assert_eq!(ep.stats().dropped_events, 8);
    transmits(&mut ep);
    events(&mut ep);
    for mid in 0..5u16 {
        ep.handle(
            T0,
            50,
            &bytes(&wire(MessageType::Non, Code::GET, mid, &[1])),
        );
    }
    assert_eq!(ep.stats().queued_events, 2);
    assert_eq!(ep.stats().refused_pending_full, 3);
}

#[test]
fn invalid_requests_and_responses_are_typed_errors() {
    let mut ep = lone(EndpointConfig::default(), 37);
    assert_eq!(
        ep.request(T0, SERVER, content(b""), Reliability::Confirmable),
        Err(EndpointError::NotARequest {
            code: Code::CONTENT
        })
    );
    ep.handle(
        T0,
        CLIENT,
        &bytes(&wire(MessageType::Con, Code::GET, 1, &[1])),
    );
    let Event::Request { id, .. } = events(&mut ep).remove(0) else {
        panic!()
    };
    assert_eq!(
        ep.respond(T0, id, get("x")),
        Err(EndpointError::NotAResponse { code: Code::GET })
    );
}

#[test]
fn tokens_stay_unique_even_with_a_stuck_random_source() {
    // A random source that always returns the same value must neither hang nor give two
    // outstanding requests to one peer the same token (RFC 7252 §5.3.1).
    let config = EndpointConfig {
        transmission: TransmissionParameters::default().with_nstart(10).unwrap(),
        ..EndpointConfig::default()
    };
    let mut stuck: mote_coap::endpoint::Endpoint<Addr, _> =
        mote_coap::endpoint::Endpoint::new(config, || 7u32).unwrap();
    let mut tokens = std::collections::BTreeSet::new();
    for _ in 0..10 {
        stuck
            .request(T0, SERVER, get("x"), Reliability::Confirmable)
            .unwrap();
    }
    while let Some(t) = stuck.poll_transmit() {
        assert!(tokens.insert(decode(&t.datagram).token().to_vec()));
    }
    assert_eq!(tokens.len(), 10);
}
