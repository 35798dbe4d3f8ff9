//! The CoAP over TCP session (RFC 8323 §3–§5) driven over a simulated connection and clock:
//! CSM exchange, framing in every split, the early Max-Message-Size refusal, Abort on
//! malformed input, Ping/Pong with Custody, Release, the bounded write and event queues, and
//! the CSM, idle and keep-alive timers.
//!
//! Expected bytes are written out by hand from RFC 8323 §3.2 (Len/TKL byte, Extended Length,
//! code, token, options, 0xff, payload) and the signaling option numbers of §5.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::time::Duration;

use mote_coap::code::Code;
use mote_coap::endpoint::tcp_session::{
    CloseReason, ConnectionRole, SessionConfig, SessionError, SessionEvent, TcpSession,
};
use mote_coap::error::{MessageError, SignalingError};
use mote_coap::option::OptionNumber;
use mote_coap::tcp::{OwnedFrame, PeerSettings};
use proptest::prelude::*;

const T0: Duration = Duration::from_secs(1000);

fn secs(s: u64) -> Duration {
    T0 + Duration::from_secs(s)
}

/// A 7.01 CSM without options: Len 0, TKL 0, code 0xe1 (RFC 8323 §3.2, §5.3).
const EMPTY_CSM: [u8; 2] = [0x00, 0xe1];

/// A 7.05 Abort with only a diagnostic payload, encoded by hand (RFC 8323 §3.2, §5.6): the
/// body is the payload marker and the text; bodies of 13–268 bytes use Len 13 and one
/// Extended Length byte holding body − 13.
fn abort_bytes(diagnostic: &str) -> Vec<u8> {
    let body = 1 + diagnostic.len();
    let mut out = if body < 13 {
        vec![(body as u8) << 4, 0xe5]
    } else {
        vec![0xd0, (body - 13) as u8, 0xe5]
    };
    out.push(0xff);
    out.extend_from_slice(diagnostic.as_bytes());
    out
}

fn session(role: ConnectionRole, config: &SessionConfig) -> TcpSession {
    let mut s = TcpSession::new(role, config.clone()).unwrap();
    s.open(T0);
    s
}

fn events(s: &mut TcpSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn transmit(s: &mut TcpSession) -> Vec<u8> {
    s.poll_transmit().unwrap_or_default()
}

/// Feeds all of `bytes`, asserting that the session takes them in one call.
fn feed(s: &mut TcpSession, now: Duration, bytes: &[u8]) {
    assert_eq!(s.handle_bytes(now, bytes), bytes.len());
}

/// Moves bytes both ways until neither side has anything to send; returns the events of each.
fn pump(
    a: &mut TcpSession,
    b: &mut TcpSession,
    now: Duration,
) -> (Vec<SessionEvent>, Vec<SessionEvent>) {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    loop {
        let ab = transmit(a);
        let ba = transmit(b);
        if ab.is_empty() && ba.is_empty() {
            break;
        }
        feed(b, now, &ab);
        feed(a, now, &ba);
        ea.extend(events(a));
        eb.extend(events(b));
    }
    ea.extend(events(a));
    eb.extend(events(b));
    (ea, eb)
}

/// An initiator and an acceptor that have exchanged CSMs.
fn established(config: &SessionConfig) -> (TcpSession, TcpSession) {
    let mut client = session(ConnectionRole::Initiator, config);
    let mut server = session(ConnectionRole::Acceptor, config);
    let (ec, es) = pump(&mut client, &mut server, T0);
    assert!(matches!(ec[..], [SessionEvent::PeerSettings(_)]), "{ec:?}");
    assert!(matches!(es[..], [SessionEvent::PeerSettings(_)]), "{es:?}");
    (client, server)
}

fn closed_reason(events: &[SessionEvent]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        SessionEvent::Closed { reason } => Some(reason),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// CSM exchange and messages.

#[test]
fn csm_exchange_initiator_first_then_messages_both_ways() {
    let mut config = SessionConfig::default();
    config.max_message_size = 2048;
    config.block_wise_transfer = true;
    let mut client = session(ConnectionRole::Initiator, &config);
    let mut server = session(ConnectionRole::Acceptor, &config);

    // RFC 8323 §3.3: the initiator sends its CSM at once; the acceptor may wait for it.
    // §5.3.1/§5.3.2: Max-Message-Size (2) = 2048 → delta 2, length 2: 0x22 0x08 0x00;
    // Block-Wise-Transfer (4) empty → delta 2, length 0: 0x20. Body 4 bytes → Len 4.
    let csm = [0x40, 0xe1, 0x22, 0x08, 0x00, 0x20];
    assert_eq!(transmit(&mut client), csm);
    assert_eq!(server.poll_transmit(), None);
    assert!(!client.is_established());

    feed(&mut server, T0, &csm);
    let expected = PeerSettings {
        max_message_size: 2048,
        block_wise_transfer: true,
        extended_token_length: 8,
    };
    assert_eq!(events(&mut server), [SessionEvent::PeerSettings(expected)]);
    assert!(expected.bert());
    // The acceptor answers with its own CSM.
    assert_eq!(transmit(&mut server), csm);
    feed(&mut client, T0, &csm);
    assert_eq!(events(&mut client), [SessionEvent::PeerSettings(expected)]);
    assert!(client.is_established() && server.is_established());

    // Requests flow both ways (the acceptor may be a client too, RFC 8323 §3.3).
    let get = OwnedFrame::new(Code::GET)
        .with_token([0x71])
        .with_option(OptionNumber::URI_PATH, "temperature");
    client.send(T0, &get).unwrap();
    // RFC 8323 Figure 4: Len 12 (option 11, length 11: 0xbb + 11 bytes), TKL 1, 0.01, 0x71.
    let mut wire = vec![0xc1, 0x01, 0x71, 0xbb];
    wire.extend_from_slice(b"temperature");
    assert_eq!(client.transmit_queue(), wire);
    let (_, es) = pump(&mut client, &mut server, T0);
    assert_eq!(es, [SessionEvent::Message(get)]);

    let content = OwnedFrame::new(Code::CONTENT)
        .with_token([0x71])
        .with_payload("22.5 C");
    server.send(T0, &content).unwrap();
    let observe = OwnedFrame::new(Code::GET).with_token([1, 2, 3, 4, 5, 6, 7, 8]);
    server.send(T0, &observe).unwrap();
    let (ec, _) = pump(&mut client, &mut server, T0);
    assert_eq!(
        ec,
        [
            SessionEvent::Message(content),
            SessionEvent::Message(observe)
        ]
    );
}

#[test]
fn acceptor_sends_its_csm_before_its_first_message() {
    let config = SessionConfig::default();
    let mut server = session(ConnectionRole::Acceptor, &config);
    server.send(T0, &OwnedFrame::new(Code::EMPTY)).unwrap();
    // CSM (0x00 0xe1), then the Empty message (0x00 0x00).
    assert_eq!(transmit(&mut server), [0x00, 0xe1, 0x00, 0x00]);
}

#[test]
fn later_csm_updates_peer_settings_only_when_changed() {
    let config = SessionConfig::default();
    let (mut client, _server) = established(&config);
    // Max-Message-Size 600 = 0x0258 (delta 2, length 2) and Block-Wise-Transfer.
    feed(&mut client, T0, &[0x40, 0xe1, 0x22, 0x02, 0x58, 0x20]);
    let settings = PeerSettings {
        max_message_size: 600,
        block_wise_transfer: true,
        extended_token_length: 8,
    };
    assert_eq!(events(&mut client), [SessionEvent::PeerSettings(settings)]);
    // The same CSM again, and an option-less CSM (a no-op, RFC 8323 §5.3): no event.
    feed(&mut client, T0, &[0x40, 0xe1, 0x22, 0x02, 0x58, 0x20]);
    feed(&mut client, T0, &EMPTY_CSM);
    assert_eq!(events(&mut client), []);
    assert_eq!(client.peer_settings(), Some(settings));
    // RFC 8323 §3.4: Empty messages are ignored.
    feed(&mut client, T0, &[0x00, 0x00]);
    assert_eq!(events(&mut client), []);
}

// ---------------------------------------------------------------------------------------------
// Framing in every split.

/// A connection's worth of frames: a CSM, then requests and responses whose bodies use each
/// Len form (0–12, 13, 14; RFC 8323 §3.2).
fn sample_frames() -> Vec<OwnedFrame> {
    vec![
        OwnedFrame::new(Code::GET).with_token([0x7f]),
        OwnedFrame::new(Code::CONTENT)
            .with_token([1, 2, 3, 4])
            .with_payload(vec![0x61; 11]),
        OwnedFrame::new(Code::POST)
            .with_token([9])
            .with_option(OptionNumber::URI_PATH, "a")
            .with_payload(vec![0x62; 200]),
        OwnedFrame::new(Code::CHANGED),
        OwnedFrame::new(Code::PUT).with_payload(vec![0x63; 1000]),
        OwnedFrame::new(Code::NOT_FOUND).with_token([0xaa; 8]),
    ]
}

fn sample_stream() -> Vec<u8> {
    let mut stream = EMPTY_CSM.to_vec();
    for frame in sample_frames() {
        stream.extend(frame.to_vec().unwrap());
    }
    stream
}

fn messages_after_chunks(chunks: &[&[u8]]) -> Vec<OwnedFrame> {
    let mut server = session(ConnectionRole::Acceptor, &SessionConfig::default());
    let mut got = Vec::new();
    for chunk in chunks {
        feed(&mut server, T0, chunk);
        // Never more than the one frame being received is buffered.
        assert!(server.stats().read_buffered <= 1152);
        for event in events(&mut server) {
            match event {
                SessionEvent::Message(m) => got.push(m),
                SessionEvent::PeerSettings(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(server.stats().read_buffered, 0);
    got
}

#[test]
fn one_byte_at_a_time_gives_the_same_frames() {
    let stream = sample_stream();
    let chunks: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(messages_after_chunks(&chunks), sample_frames());
    assert_eq!(messages_after_chunks(&[&stream]), sample_frames());
}

proptest! {
    #[test]
    fn every_split_gives_the_same_frames(cuts in proptest::collection::vec(0usize..1300, 0..40)) {
        let stream = sample_stream();
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= stream.len()).collect();
        cuts.push(0);
        cuts.push(stream.len());
        cuts.sort_unstable();
        let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &stream[w[0]..w[1]]).collect();
        prop_assert_eq!(messages_after_chunks(&chunks), sample_frames());
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals that abort the connection.

#[test]
fn oversized_length_is_refused_before_the_body_is_buffered() {
    // Our Max-Message-Size is the base 1152. Len 14 with Extended Length 0x1000: a body of
    // 0x1000 + 269 = 4365 bytes, 4 + 4365 = 4369 bytes in all (RFC 8323 §3.2, §5.3.1).
    let header = [0xe0, 0x10, 0x00, 0x01];
    let mut server = session(ConnectionRole::Acceptor, &SessionConfig::default());
    feed(&mut server, T0, &EMPTY_CSM);
    let _ = events(&mut server);
    let _ = transmit(&mut server);
    for (i, byte) in header.iter().enumerate() {
        assert!(!server.is_closed(), "closed before byte {i}");
        feed(&mut server, T0, &[*byte]);
        // The buffer holds at most the header bytes seen so far.
        assert!(server.stats().read_buffered <= i + 1);
    }
    assert!(server.is_closed());
    assert_eq!(server.stats().read_buffered, 0);
    assert_eq!(
        events(&mut server),
        [SessionEvent::Closed {
            reason: CloseReason::Malformed(MessageError::FrameTooLarge {
                len: 4369,
                max: 1152
            })
        }]
    );
    assert_eq!(
        transmit(&mut server),
        abort_bytes("message exceeds Max-Message-Size")
    );
    // Anything after is ignored.
    feed(&mut server, T0, &[0u8; 64]);
    assert_eq!(server.poll_event(), None);
    assert_eq!(server.poll_transmit(), None);
}

#[test]
fn oversized_length_with_body_in_the_same_read_is_not_buffered() {
    // Len 15: Extended Length 0xffffffff (RFC 8323 §3.2), then a code and body bytes.
    let mut stream = EMPTY_CSM.to_vec();
    stream.extend([0xf0, 0xff, 0xff, 0xff, 0xff, 0x02]);
    stream.extend([0u8; 500]);
    let mut server = session(ConnectionRole::Acceptor, &SessionConfig::default());
    feed(&mut server, T0, &stream);
    assert_eq!(server.stats().read_buffered, 0);
    let evs = events(&mut server);
    assert!(
        matches!(
            closed_reason(&evs),
            Some(CloseReason::Malformed(MessageError::FrameTooLarge { .. }))
        ),
        "{evs:?}"
    );
}

#[test]
fn frame_of_exactly_max_message_size_is_accepted_one_more_byte_is_not() {
    let mut config = SessionConfig::default();
    config.max_message_size = 100;
    for (payload, accepted) in [(96, true), (97, false)] {
        let mut server = session(ConnectionRole::Acceptor, &config);
        // 1 (Len 13) + 1 (ext) + 1 (code) + 1 (0xff) + payload = 100 / 101 bytes.
        let frame = OwnedFrame::new(Code::POST).with_payload(vec![0x61; payload]);
        let bytes = frame.to_vec().unwrap();
        assert_eq!(bytes.len(), payload + 4);
        feed(&mut server, T0, &EMPTY_CSM);
        feed(&mut server, T0, &bytes);
        let evs = events(&mut server);
        assert_eq!(
            evs.iter()
                .any(|e| matches!(e, SessionEvent::Message(m) if *m == frame)),
            accepted,
            "{evs:?}"
        );
        assert_eq!(server.is_closed(), !accepted);
    }
}

#[test]
fn malformed_frame_is_aborted() {
    for (bytes, what) in [
        // Code 1.00: a reserved class (RFC 8323 §5.1).
        (&[0x00, 0x20][..], "reserved code class"),
        // Option byte 0xf0: delta nibble 15 outside a payload marker (RFC 7252 §3.1).
        (&[0x10, 0x01, 0xf0][..], "reserved option nibble"),
        // Payload marker with no payload (RFC 7252 §3).
        (&[0x10, 0x45, 0xff][..], "empty payload"),
        // TKL 9 without extended tokens (RFC 8974 §2.1).
        (&[0x09, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9][..], "reserved TKL"),
    ] {
        let mut client = session(ConnectionRole::Initiator, &SessionConfig::default());
        assert_eq!(transmit(&mut client), EMPTY_CSM);
        feed(&mut client, T0, &EMPTY_CSM);
        feed(&mut client, T0, bytes);
        let evs = events(&mut client);
        assert!(
            matches!(closed_reason(&evs), Some(CloseReason::Malformed(_))),
            "{what}: {evs:?}"
        );
        assert_eq!(
            transmit(&mut client),
            abort_bytes("message format error"),
            "{what}"
        );
    }
}

#[test]
fn first_message_not_csm_is_aborted() {
    let mut client = session(ConnectionRole::Initiator, &SessionConfig::default());
    // A GET (Len 0, TKL 0, 0.01) before any CSM (RFC 8323 §3.3).
    feed(&mut client, T0, &[0x00, 0x01]);
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::FirstMessageNotCsm { code: Code::GET }
        }]
    );
    let mut expected = EMPTY_CSM.to_vec();
    expected.extend(abort_bytes("first message is not a CSM"));
    assert_eq!(transmit(&mut client), expected);
    assert_eq!(
        client.send(T0, &OwnedFrame::new(Code::GET)),
        Err(SessionError::Closed)
    );

    // An Abort as first message closes the session without an answer (RFC 8323 §5.6).
    let mut server = session(ConnectionRole::Acceptor, &SessionConfig::default());
    feed(&mut server, T0, &[0x00, 0xe5]);
    assert!(matches!(
        closed_reason(&events(&mut server)),
        Some(CloseReason::PeerAbort { .. })
    ));
    assert_eq!(server.poll_transmit(), None);

    // An acceptor that had not sent its CSM yet sends it before the Abort.
    let mut server = session(ConnectionRole::Acceptor, &SessionConfig::default());
    feed(&mut server, T0, &[0x00, 0x00]);
    assert!(server.is_closed());
    assert_eq!(&transmit(&mut server)[..2], EMPTY_CSM);
}

#[test]
fn bad_csm_option_is_aborted_with_bad_csm_option() {
    // Max-Message-Size with a 5-byte value (the option is uint 0–4, RFC 8323 §5.3.1):
    // delta 2, length 5 → 0x25; body 6 bytes → Len 6.
    let bad_value = [0x60, 0xe1, 0x25, 1, 2, 3, 4, 5];
    // An unknown critical option 1 (odd: critical, RFC 7252 §5.4.6) → 0x10; body 1.
    let critical = [0x10, 0xe1, 0x10];
    for (bytes, number, error) in [
        (
            &bad_value[..],
            2u8,
            SignalingError::InvalidOptionValue {
                code: Code::CSM,
                number: 2,
            },
        ),
        (
            &critical[..],
            1,
            SignalingError::UnrecognizedCriticalOption {
                code: Code::CSM,
                number: 1,
            },
        ),
    ] {
        let mut server = session(ConnectionRole::Acceptor, &SessionConfig::default());
        feed(&mut server, T0, bytes);
        assert_eq!(
            events(&mut server),
            [SessionEvent::Closed {
                reason: CloseReason::Signaling(error)
            }]
        );
        // RFC 8323 §5.6: Abort with Bad-CSM-Option (2, uint: delta 2, length 1 → 0x21, number)
        // and the diagnostic "bad CSM option": body 2 + 1 + 14 = 17 → Len 13, ext 4.
        let mut abort = vec![0xd0, 0x04, 0xe5, 0x21, number, 0xff];
        abort.extend_from_slice(b"bad CSM option");
        let mut expected = EMPTY_CSM.to_vec();
        expected.extend(abort);
        assert_eq!(transmit(&mut server), expected);
    }
}

#[test]
fn unknown_signal_code_with_critical_option_aborts_elective_is_ignored() {
    let (mut client, _server) = established(&SessionConfig::default());
    // 7.06 (0xe6) is not registered. An elective option 2 (0x20): ignored (RFC 8323 §5.2).
    feed(&mut client, T0, &[0x10, 0xe6, 0x20]);
    assert_eq!(events(&mut client), []);
    assert!(!client.is_closed());
    // A critical option 1 (0x10): not understood → Abort.
    feed(&mut client, T0, &[0x10, 0xe6, 0x10]);
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::Signaling(SignalingError::UnrecognizedCriticalOption {
                code: Code(0xe6),
                number: 1
            })
        }]
    );
    assert_eq!(
        transmit(&mut client),
        abort_bytes("unprocessable signaling option")
    );
    // A critical unknown option in a Ping aborts as well.
    let (mut client, _server) = established(&SessionConfig::default());
    feed(&mut client, T0, &[0x11, 0xe2, 0x42, 0x10]);
    assert!(client.is_closed());
}

#[test]
fn peer_abort_closes_without_answer() {
    let (mut client, _server) = established(&SessionConfig::default());
    // Abort with Bad-CSM-Option 4 and diagnostic "no": body 2 + 1 + 2 = 5.
    feed(&mut client, T0, &[0x50, 0xe5, 0x21, 0x04, 0xff, b'n', b'o']);
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::PeerAbort {
                bad_csm_option: Some(4),
                diagnostic: "no".into()
            }
        }]
    );
    assert_eq!(client.poll_transmit(), None);
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn transport_close_is_reported() {
    let (mut client, _server) = established(&SessionConfig::default());
    client.handle_close(T0);
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::TransportClosed
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Ping and Pong.

#[test]
fn ping_is_answered_with_pong_figures_11_and_12() {
    let (mut client, _server) = established(&SessionConfig::default());
    // RFC 8323 Figure 11 → Figure 12.
    feed(&mut client, T0, &[0x01, 0xe2, 0x42]);
    assert_eq!(transmit(&mut client), [0x01, 0xe3, 0x42]);
    assert_eq!(events(&mut client), []);
}

#[test]
fn custody_pong_waits_until_earlier_messages_are_taken() {
    let (mut client, _server) = established(&SessionConfig::default());
    // A 2.05 with token 0x71, then a Ping with token 0x42 and Custody (option 2, empty: 0x20).
    feed(&mut client, T0, &[0x01, 0x45, 0x71, 0x11, 0xe2, 0x42, 0x20]);
    // RFC 8323 §5.4.1: the Pong waits until the 2.05 is processed.
    assert_eq!(client.poll_transmit(), None);
    assert_eq!(
        client.poll_event(),
        Some(SessionEvent::Message(
            OwnedFrame::new(Code::CONTENT).with_token([0x71])
        ))
    );
    assert_eq!(client.poll_transmit(), None);
    assert_eq!(client.poll_event(), None);
    assert_eq!(transmit(&mut client), [0x11, 0xe3, 0x42, 0x20]);
    // With nothing pending the Custody Pong goes out at once.
    feed(&mut client, T0, &[0x11, 0xe2, 0x43, 0x20]);
    assert_eq!(transmit(&mut client), [0x11, 0xe3, 0x43, 0x20]);
}

#[test]
fn our_ping_gets_its_pong() {
    let config = SessionConfig::default();
    let (mut client, mut server) = established(&config);
    client.ping(T0, true).unwrap();
    assert_eq!(client.ping(T0, false), Err(SessionError::PingOutstanding));
    let ping = transmit(&mut client);
    // A Ping with a 2-byte token and Custody: Len 1, TKL 2, 0xe2, token, 0x20.
    assert_eq!(
        (ping.len(), ping[0], ping[1], ping[4]),
        (5, 0x12, 0xe2, 0x20)
    );
    // A Pong with another token is not ours.
    feed(&mut client, T0, &[0x02, 0xe3, ping[2] ^ 0xff, ping[3]]);
    assert_eq!(events(&mut client), []);
    feed(&mut server, T0, &ping);
    let pong = transmit(&mut server);
    assert_eq!(pong, [0x12, 0xe3, ping[2], ping[3], 0x20]);
    feed(&mut client, T0, &pong);
    assert_eq!(events(&mut client), [SessionEvent::Pong { custody: true }]);
    client.ping(T0, false).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Release.

/// A Release with Alternative-Address "example.org:5684" (option 2, 16 bytes: delta 2, length
/// 13 + 3 → 0x2d 0x03) and Hold-Off 30 (option 4, delta 2, length 1 → 0x21 0x1e): body
/// 2 + 16 + 2 = 20 → Len 13, Extended Length 7 (RFC 8323 §5.5).
fn release_bytes() -> Vec<u8> {
    let mut r = vec![0xd0, 0x07, 0xe4, 0x2d, 0x03];
    r.extend_from_slice(b"example.org:5684");
    r.extend([0x21, 0x1e]);
    r
}

#[test]
fn peer_release_stops_new_requests_then_close() {
    let (mut client, _server) = established(&SessionConfig::default());
    feed(&mut client, T0, &release_bytes());
    assert_eq!(
        events(&mut client),
        [SessionEvent::Released {
            alternative_addresses: vec!["example.org:5684".into()],
            hold_off: Some(30)
        }]
    );
    assert!(client.is_releasing());
    assert_eq!(
        client.send(T0, &OwnedFrame::new(Code::GET)),
        Err(SessionError::Released)
    );
    // Responses to requests received before are still sent.
    client
        .send(T0, &OwnedFrame::new(Code::CONTENT).with_token([1]))
        .unwrap();
    assert_eq!(transmit(&mut client), [0x01, 0x45, 0x01]);
    client.close(T0);
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::PeerRelease
        }]
    );
}

#[test]
fn peer_release_closes_after_the_release_timeout() {
    let mut config = SessionConfig::default();
    config.release_timeout = Duration::from_secs(5);
    let (mut client, _server) = established(&config);
    feed(&mut client, secs(1), &release_bytes());
    let _ = events(&mut client);
    assert_eq!(client.poll_timeout(), Some(secs(6)));
    client.handle_timeout(secs(5));
    assert_eq!(events(&mut client), []);
    client.handle_timeout(secs(6));
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::PeerRelease
        }]
    );
}

#[test]
fn local_release_is_sent_and_ends_with_the_transport() {
    let (mut client, mut server) = established(&SessionConfig::default());
    client.release(T0, &["example.org:5684"], Some(30), "");
    assert_eq!(transmit(&mut client), release_bytes());
    assert_eq!(
        client.send(T0, &OwnedFrame::new(Code::GET)),
        Err(SessionError::Released)
    );
    feed(&mut server, T0, &release_bytes());
    assert!(matches!(
        events(&mut server)[..],
        [SessionEvent::Released { .. }]
    ));
    client.handle_close(T0);
    assert_eq!(
        closed_reason(&events(&mut client)),
        Some(&CloseReason::LocalRelease)
    );
}

// ---------------------------------------------------------------------------------------------
// Bounds: peer's Max-Message-Size, write queue, event queue.

#[test]
fn peer_max_message_size_is_honoured_on_send() {
    let (mut client, mut server) = established(&SessionConfig::default());
    // The peer's CSM carried no Max-Message-Size: the base value 1152 applies (RFC 8323
    // §5.3.1).
    let big = OwnedFrame::new(Code::POST).with_payload(vec![0; 1200]);
    assert!(matches!(
        server.send(T0, &big),
        Err(SessionError::MessageTooLarge { max: 1152, .. })
    ));
    // The peer lowers Max-Message-Size to 100 (delta 2, length 1 → 0x21 0x64).
    feed(&mut client, T0, &[0x20, 0xe1, 0x21, 0x64]);
    let _ = events(&mut client);
    // 4 + 96 = 100 bytes fit; 101 do not.
    let fits = OwnedFrame::new(Code::POST).with_payload(vec![0; 96]);
    let over = OwnedFrame::new(Code::POST).with_payload(vec![0; 97]);
    assert_eq!(
        client.send(T0, &over),
        Err(SessionError::MessageTooLarge { len: 101, max: 100 })
    );
    client.send(T0, &fits).unwrap();
    assert_eq!(transmit(&mut client).len(), 100);
}

#[test]
fn full_write_queue_is_a_typed_error_and_nothing_blocks() {
    let mut config = SessionConfig::default();
    config.write_queue_limit = 300;
    let (mut client, _server) = established(&config);
    // Each notification: 3 (header) + 1 (token) + 1 + 95 = 100 bytes.
    let note = OwnedFrame::new(Code::CONTENT)
        .with_token([5])
        .with_payload(vec![0x61; 95]);
    for _ in 0..3 {
        client.send(T0, &note).unwrap();
    }
    assert_eq!(client.stats().write_queued, 300);
    assert_eq!(
        client.send(T0, &note),
        Err(SessionError::WouldBlock {
            queued: 300,
            len: 100,
            limit: 300
        })
    );
    // A frame that could never fit is too large, not "would block".
    let huge = OwnedFrame::new(Code::CONTENT).with_payload(vec![0; 400]);
    assert!(matches!(
        client.send(T0, &huge),
        Err(SessionError::MessageTooLarge { max: 300, .. })
    ));
    // A partial socket write frees room.
    assert_eq!(client.transmit_queue().len(), 300);
    client.consume_transmit(150);
    assert_eq!(client.transmit_queue().len(), 150);
    client.send(T0, &note).unwrap();
    assert_eq!(client.stats().write_queued, 250);
    let rest = transmit(&mut client);
    assert_eq!(rest.len(), 250);
    assert_eq!(&rest[150..], note.to_vec().unwrap());
}

#[test]
fn a_peer_that_pings_but_does_not_read_is_held_back() {
    let mut config = SessionConfig::default();
    config.write_queue_limit = 30;
    let (mut client, _server) = established(&config);
    // 20 Pings of 3 bytes (Figure 11) each asking for a 3-byte Pong.
    let pings: Vec<u8> = (0..20).flat_map(|i| [0x01, 0xe2, i]).collect();
    let taken = client.handle_bytes(T0, &pings);
    // Reading stops once the queued Pongs reach the bound.
    assert_eq!(taken, 30);
    assert_eq!(client.stats().write_queued, 30);
    assert_eq!(client.handle_bytes(T0, &pings[taken..]), 0);
    // Once the peer reads, the rest is taken.
    let _ = transmit(&mut client);
    assert_eq!(client.handle_bytes(T0, &pings[taken..]), 30);
}

#[test]
fn event_queue_bound_holds_back_input() {
    let mut config = SessionConfig::default();
    config.max_pending_events = 4;
    let mut server = session(ConnectionRole::Acceptor, &config);
    let mut stream = EMPTY_CSM.to_vec();
    // Ten GETs with tokens 0..9: Len 0, TKL 1, 0.01, token.
    for i in 0..10u8 {
        stream.extend([0x01, 0x01, i]);
    }
    let taken = server.handle_bytes(T0, &stream);
    assert!(taken < stream.len());
    assert_eq!(server.stats().pending_events, 4);
    let mut tokens = Vec::new();
    let mut offset = taken;
    loop {
        for event in events(&mut server) {
            if let SessionEvent::Message(m) = event {
                tokens.extend(m.token);
            }
        }
        if offset == stream.len() {
            break;
        }
        offset += server.handle_bytes(T0, &stream[offset..]);
        assert!(server.stats().pending_events <= 4);
    }
    assert_eq!(tokens, (0..10).collect::<Vec<u8>>());
}

#[test]
fn invalid_configuration_is_refused() {
    let mut config = SessionConfig::default();
    config.max_message_size = 10;
    assert_eq!(
        TcpSession::new(ConnectionRole::Initiator, config).err(),
        Some(SessionError::InvalidConfig {
            field: "max_message_size"
        })
    );
    let mut config = SessionConfig::default();
    config.max_pending_events = 0;
    assert!(TcpSession::new(ConnectionRole::Initiator, config).is_err());
}

// ---------------------------------------------------------------------------------------------
// Timers on a simulated clock.

#[test]
fn csm_timeout_aborts() {
    let mut config = SessionConfig::default();
    config.csm_timeout = Duration::from_secs(10);
    let mut client = session(ConnectionRole::Initiator, &config);
    let _ = transmit(&mut client);
    assert_eq!(client.poll_timeout(), Some(secs(10)));
    client.handle_timeout(secs(9));
    assert!(!client.is_closed());
    client.handle_timeout(secs(10));
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::CsmTimeout
        }]
    );
    assert_eq!(transmit(&mut client), abort_bytes("no CSM received"));
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn csm_received_in_time_stops_the_csm_timer() {
    let mut config = SessionConfig::default();
    config.csm_timeout = Duration::from_secs(10);
    let mut client = session(ConnectionRole::Initiator, &config);
    feed(&mut client, secs(9), &EMPTY_CSM);
    assert_eq!(client.poll_timeout(), None);
    client.handle_timeout(secs(100));
    assert!(!client.is_closed());
}

#[test]
fn idle_connection_is_released_then_closed() {
    let mut config = SessionConfig::default();
    config.idle_timeout = Some(Duration::from_secs(60));
    config.release_timeout = Duration::from_secs(5);
    let (mut client, mut server) = established(&config);
    assert_eq!(client.poll_timeout(), Some(secs(60)));
    // Traffic at +30 s pushes the idle deadline to +90 s.
    client.send(secs(30), &OwnedFrame::new(Code::GET)).unwrap();
    feed(&mut server, secs(30), &transmit(&mut client));
    assert_eq!(client.poll_timeout(), Some(secs(90)));
    client.handle_timeout(secs(60));
    assert_eq!(client.poll_transmit(), None);
    client.handle_timeout(secs(90));
    // RFC 8323 §5.5: a Release with the diagnostic "idle": body 5 → Len 5.
    assert_eq!(
        transmit(&mut client),
        [0x50, 0xe4, 0xff, b'i', b'd', b'l', b'e']
    );
    assert!(client.is_releasing() && !client.is_closed());
    assert_eq!(client.poll_timeout(), Some(secs(95)));
    client.handle_timeout(secs(95));
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::Idle
        }]
    );
}

#[test]
fn keep_alive_ping_and_missing_pong() {
    let mut config = SessionConfig::default();
    config.keep_alive = Some(Duration::from_secs(20));
    config.pong_timeout = Duration::from_secs(5);
    let (mut client, mut server) = established(&config);
    assert_eq!(client.poll_timeout(), Some(secs(20)));
    // Something received at +10 s postpones the Ping.
    feed(&mut client, secs(10), &[0x00, 0x00]);
    assert_eq!(client.poll_timeout(), Some(secs(30)));
    client.handle_timeout(secs(30));
    let ping = transmit(&mut client);
    assert_eq!((ping.len(), ping[0], ping[1]), (4, 0x02, 0xe2));
    assert_eq!(client.poll_timeout(), Some(secs(35)));
    // The Pong arrives: no abort; the next Ping is due 20 s after it.
    feed(&mut server, secs(31), &ping);
    feed(&mut client, secs(31), &transmit(&mut server));
    assert_eq!(events(&mut client), [SessionEvent::Pong { custody: false }]);
    assert_eq!(client.poll_timeout(), Some(secs(51)));
    client.handle_timeout(secs(51));
    assert_eq!(transmit(&mut client).len(), 4);
    // This time no Pong: abort at +56 s.
    client.handle_timeout(secs(55));
    assert!(!client.is_closed());
    client.handle_timeout(secs(56));
    assert_eq!(
        events(&mut client),
        [SessionEvent::Closed {
            reason: CloseReason::PongTimeout
        }]
    );
    assert_eq!(transmit(&mut client), abort_bytes("no Pong received"));
}

// ---------------------------------------------------------------------------------------------
// Fuzz corpus.

#[test]
fn long_diagnostic_is_dropped_to_fit_the_peer_max_message_size() {
    let (mut client, _server) = established(&SessionConfig::default());
    // The peer accepts at most 64 bytes (Max-Message-Size 64: 0x21 0x40).
    feed(&mut client, T0, &[0x20, 0xe1, 0x21, 0x40]);
    client.abort(T0, &"x".repeat(100));
    // An Abort without payload: Len 0, 0xe5.
    assert_eq!(transmit(&mut client), [0x00, 0xe5]);
    assert_eq!(
        closed_reason(&events(&mut client)),
        Some(&CloseReason::LocalAbort)
    );
}
