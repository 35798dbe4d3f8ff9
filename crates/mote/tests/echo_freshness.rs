//! LightweightM2M-E2E-6 (freshness of actuation, RFC 9175 §2.3) and RFC 8613 Appendix B.1.2
//! on real loopback sockets: `mote serve --fresh-echo --oscore …` answers an unsafe request
//! (Write) that carries no fresh Echo with a protected 4.01 + Echo and changes nothing; the
//! same request with that Echo is carried out; the Echo value is spent after one use. A safe
//! request (Read) needs no Echo once the replay window is established. The client side here is
//! mote-oscore driven by the test itself, so every response code and Echo option is seen.
//! `mote coap`'s automatic Echo retry against the same server is checked over UDP and TCP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_oscore::{Framing, SecurityContext, SecurityContextParams};

const SECRET: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

fn serve(tag: &str) -> (common::Proc, Vec<u16>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("mote-echo-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.join("server.json");
    common::write_private(
        &s,
        r#"{"master_secret":"0102030405060708090a0b0c0d0e0f10","sender_id":"01","recipient_id":"00"}"#,
    )
    .unwrap();
    common::write_private(
        dir.join("client.json"),
        r#"{"master_secret":"0102030405060708090a0b0c0d0e0f10","sender_id":"00","recipient_id":"01"}"#,
    )
    .unwrap();
    let (child, ports) = common::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
            "--fresh-echo",
            "--oscore",
            s.to_str().unwrap(),
        ],
        2,
    );
    (child, ports, dir)
}

/// A protected request/response exchange over UDP; returns the decrypted response.
struct Client {
    sock: UdpSocket,
    ctx: SecurityContext,
    mid: u16,
}

impl Client {
    fn new(port: u16) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let params = SecurityContextParams::new(&SECRET, &[0x00], &[0x01]);
        Self {
            sock,
            ctx: SecurityContext::new(&params).unwrap(),
            mid: 0x4000,
        }
    }

    /// (code, Echo option, payload) of the decrypted response.
    fn request(
        &mut self,
        code: Code,
        path: &[&str],
        payload: &[u8],
        echo: Option<&[u8]>,
    ) -> (Code, Option<Vec<u8>>, Vec<u8>) {
        self.mid += 1;
        let mut m = OwnedMessage::new(MessageType::Con, code, self.mid)
            .with_token(self.mid.to_be_bytes().to_vec());
        for seg in path {
            m = m.with_option(OptionNumber::URI_PATH, seg.as_bytes());
        }
        if let Some(e) = echo {
            m = m.with_option(OptionNumber::ECHO, e);
        }
        if !payload.is_empty() {
            m = m.with_payload(payload.to_vec());
        }
        let plain = m.to_vec().unwrap();
        let mut wire = vec![0u8; 2 * plain.len() + 64];
        let (n, mut binding) = self
            .ctx
            .protect_request(Framing::Udp, &plain, &mut wire)
            .unwrap();
        self.sock.send(&wire[..n]).unwrap();
        let mut buf = [0u8; 4096];
        let n = self.sock.recv(&mut buf).unwrap();
        let mut inner = vec![0u8; 2 * n + 64];
        let len = self
            .ctx
            .unprotect_response(Framing::Udp, &mut binding, &buf[..n], &mut inner)
            .unwrap_or_else(|e| {
                panic!(
                    "response not protected ({e}): {}",
                    String::from_utf8_lossy(&buf[..n])
                )
            });
        let r = Message::decode(&inner[..len]).unwrap();
        (
            r.code(),
            r.option(OptionNumber::ECHO).map(|o| o.value.to_vec()),
            r.payload().to_vec(),
        )
    }
}

#[test]
fn e2e_6_actuation_needs_a_fresh_echo() {
    let (_server, ports, _) = serve("raw");
    let mut c = Client::new(ports[0]);
    // Appendix B.1.2: the server starts without a replay window; the first request is
    // answered 4.01 + Echo, the repeated request with that Echo is served.
    let (code, echo, _) = c.request(Code::GET, &["3", "0", "0"], b"", None);
    assert_eq!(code, Code::UNAUTHORIZED);
    let echo = echo.expect("4.01 carries Echo");
    let (code, _, body) = c.request(Code::GET, &["3", "0", "0"], b"", Some(&echo));
    assert_eq!((code, body.as_slice()), (Code::CONTENT, &b"Mote"[..]));
    // A Read needs no freshness from now on.
    let (code, echo, _) = c.request(Code::GET, &["1", "0", "1"], b"", None);
    assert_eq!((code, echo), (Code::CONTENT, None));
    // A Write without Echo: 4.01 + a new Echo, nothing written (RFC 9175 §2.3).
    let (code, echo, _) = c.request(Code::PUT, &["1", "0", "1"], b"77", None);
    assert_eq!(code, Code::UNAUTHORIZED);
    let fresh = echo.expect("4.01 carries Echo");
    assert_eq!(
        c.request(Code::GET, &["1", "0", "1"], b"", None).2,
        b"86400"
    );
    // The same Write with the fresh Echo is carried out.
    let (code, _, _) = c.request(Code::PUT, &["1", "0", "1"], b"77", Some(&fresh));
    assert_eq!(code, Code::CHANGED);
    assert_eq!(c.request(Code::GET, &["1", "0", "1"], b"", None).2, b"77");
    // The Echo value is spent: reusing it for another Write is refused again.
    let (code, echo, _) = c.request(Code::PUT, &["1", "0", "1"], b"78", Some(&fresh));
    assert_eq!(code, Code::UNAUTHORIZED);
    assert!(echo.is_some_and(|e| e != fresh));
    assert_eq!(c.request(Code::GET, &["1", "0", "1"], b"", None).2, b"77");
}

#[test]
fn e2e_6_mote_coap_retries_with_echo_over_udp_and_tcp() {
    let (_server, ports, dir) = serve("cli");
    let ctx = dir.join("client.json");
    for (i, uri) in [
        format!("coap://127.0.0.1:{}/1/0/1", ports[0]),
        format!("coap+tcp://127.0.0.1:{}/1/0/1", ports[1]),
    ]
    .iter()
    .enumerate()
    {
        let value = format!("{}", 500 + i);
        let ctx = ctx.to_str().unwrap();
        let v = common::coap_json(&["put", uri, "--payload", &value, "--oscore", ctx]);
        assert_eq!(v["code"], "2.04", "{uri}");
        let o = common::mote(&["coap", "get", uri, "--oscore", ctx]);
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), value);
    }
}
