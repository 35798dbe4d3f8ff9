//! The properties the `coap_tcp_session` fuzz target checks, shared with the corpus replay in
//! `workspace-tests/tests/fuzz_corpus_coap_tcp_session.rs` so that stable `cargo test` runs the
//! same code.
//!
//! The input is a script driving one CoAP over TCP session (RFC 8323): byte 0 picks the role
//! and a configuration; then each op byte feeds a chunk of peer bytes, advances the simulated
//! clock, drains or partly writes the output, or sends, pings, releases or closes. After every
//! step the session's bounds hold and it makes progress when it is not back-pressured.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::time::Duration;

use mote_coap::code::Code;
use mote_coap::endpoint::tcp_session::{ConnectionRole, SessionConfig, SessionEvent, TcpSession};
use mote_coap::tcp::{Frame, FrameLimits, OwnedFrame};

/// `coap_tcp_session`: never panics; the read buffer stays within Max-Message-Size, the write
/// and event queues within their bounds; nothing follows the Closed event; delivered messages
/// re-encode to frames that decode to themselves.
pub(crate) fn run(data: &[u8]) {
    let Some((&setup, mut script)) = data.split_first() else {
        return;
    };
    let role = if setup & 1 == 0 {
        ConnectionRole::Initiator
    } else {
        ConnectionRole::Acceptor
    };
    let mut config = SessionConfig::default();
    config.max_message_size = if setup & 2 == 0 { 1152 } else { 64 };
    config.block_wise_transfer = setup & 4 != 0;
    config.max_token_len = if setup & 8 == 0 { 8 } else { 300 };
    config.write_queue_limit = if setup & 16 == 0 { 4096 } else { 100 };
    config.max_pending_events = if setup & 32 == 0 { 16 } else { 2 };
    config.idle_timeout = (setup & 64 != 0).then_some(Duration::from_secs(30));
    config.keep_alive = (setup & 128 != 0).then_some(Duration::from_secs(10));
    let mms = config.max_message_size as usize;
    let write_bound = config.write_queue_limit + (config.max_pending_events + 3) * mms + 256;
    let event_bound = config.max_pending_events + 1;
    let mut session = TcpSession::new(role, config).unwrap();
    let mut now = Duration::from_secs(1);
    let mut closed_seen = false;
    session.open(now);

    while let Some((&op, rest)) = script.split_first() {
        script = rest;
        let arg = script.first().copied().unwrap_or(0);
        match op % 8 {
            0..=2 => {
                // Feed a chunk of `arg` bytes (all the rest when 0).
                let n = if arg == 0 {
                    script.len()
                } else {
                    usize::from(arg).min(script.len())
                };
                let chunk = script.get(1..).map_or(&[][..], |s| &s[..n.min(s.len())]);
                let taken = session.handle_bytes(now, chunk);
                assert!(taken <= chunk.len());
                if taken < chunk.len() {
                    let stats = session.stats();
                    let config = session.config();
                    assert!(
                        stats.pending_events >= config.max_pending_events
                            || stats.write_queued >= config.write_queue_limit,
                        "stalled without back-pressure: {stats:?}"
                    );
                }
                script = script.get(1 + chunk.len()..).unwrap_or(&[]);
            }
            3 => {
                now += Duration::from_millis(u64::from(arg) * 250);
                session.handle_timeout(now);
                // Whatever was due has been handled: no timer is left in the past.
                assert!(session.poll_timeout().is_none_or(|t| t > now));
                script = script.get(1..).unwrap_or(&[]);
            }
            4 => {
                while let Some(event) = session.poll_event() {
                    assert!(!closed_seen, "event after Closed: {event:?}");
                    match event {
                        SessionEvent::Closed { .. } => closed_seen = true,
                        SessionEvent::Message(m) => {
                            let bytes = m.to_vec().unwrap();
                            let frame =
                                Frame::decode_exact(&bytes, &FrameLimits::UNLIMITED).unwrap();
                            assert_eq!(frame.to_owned(), m);
                        }
                        _ => {}
                    }
                }
            }
            5 => {
                // A partial socket write of `arg` bytes.
                let before = session.transmit_queue().len();
                session.consume_transmit(usize::from(arg));
                assert_eq!(
                    session.transmit_queue().len(),
                    before - before.min(usize::from(arg))
                );
                script = script.get(1..).unwrap_or(&[]);
            }
            6 => {
                let code = [Code::GET, Code::CONTENT, Code::EMPTY, Code::CSM][usize::from(arg % 4)];
                let frame = OwnedFrame::new(code)
                    .with_token(vec![arg; usize::from(arg % 10)])
                    .with_payload(vec![0x61; usize::from(arg) * 3]);
                let before = session.stats().write_queued;
                if session.send(now, &frame).is_ok() {
                    assert!(session.stats().write_queued >= before + frame.encoded_len());
                }
                script = script.get(1..).unwrap_or(&[]);
            }
            _ => {
                match arg % 5 {
                    0 => drop(session.ping(now, arg & 8 != 0)),
                    1 => session.release(now, &["example.org"], Some(5), "bye"),
                    2 => session.close(now),
                    3 => session.handle_close(now),
                    _ => session.abort(now, "fuzz"),
                }
                script = script.get(1..).unwrap_or(&[]);
            }
        }
        let stats = session.stats();
        assert!(stats.read_buffered <= mms, "{stats:?}");
        assert!(stats.write_queued <= write_bound, "{stats:?}");
        assert!(stats.pending_events <= event_bound, "{stats:?}");
        if session.is_closed() {
            assert_eq!(stats.read_buffered, 0);
            assert_eq!(session.poll_timeout(), None);
        }
    }
}
