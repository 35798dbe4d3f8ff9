//! Interop of the mote-coap codec with Debian's libcoap 4.3.1 over real loopback sockets.
//!
//! - Our encoded GET, PUT, POST, DELETE and FETCH requests, an Observe registration and a Block2
//!   download of `/example_data` (1501 bytes) are answered by `coap-server-notls` over UDP
//!   (RFC 7252) and over TCP (RFC 8323, after the CSM exchange); every answer decodes with our
//!   codec.
//! - Every message `coap-client-notls` sends for the same operations (requests, ACKs of
//!   notifications, block requests, CSMs) is captured on a loopback socket we listen on,
//!   decoded with our codec and answered.
//!
//! Run by `scripts/test.sh` (which installs `libcoap3-bin`) with `--ignored`; a missing peer
//! fails the tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mote_coap::block::{BlockValue, Szx};
use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::{self, OptionNumber, UintValue};
use mote_coap::tcp::{Csm, Decoded, Frame, FrameLimits, OwnedFrame, Signal};

const SERVER: &str = "coap-server-notls";
const CLIENT: &str = "coap-client-notls";

// ---------------------------------------------------------------------------------------------
// Helpers shared by both directions.

/// A Block option value (RFC 7959 §2.2) through coap-aux's `BlockValue`.
fn block_value(num: u32, more: bool, szx: u8) -> Vec<u8> {
    let value = BlockValue::new(num, more, Szx::new(szx).unwrap()).unwrap();
    let (bytes, len) = value.to_bytes();
    bytes[..len].to_vec()
}

/// (NUM, M, SZX) of a Block option value (RFC 7959 §2.2).
fn parse_block(value: &[u8]) -> (u32, bool, u8) {
    let block = BlockValue::decode(value, false).expect("a valid Block value");
    (block.num(), block.more(), block.szx().value())
}

fn free_port() -> u16 {
    // Bind UDP and TCP on the same port so that the server can listen on both.
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A child process, killed on drop unless its output was collected.
struct Peer(Option<Child>);

impl Peer {
    fn exited(&mut self) -> bool {
        self.0
            .as_mut()
            .is_none_or(|c| c.try_wait().unwrap().is_some())
    }

    fn output(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn uri_path(m: &OwnedMessage) -> Vec<String> {
    m.options
        .get_all(OptionNumber::URI_PATH)
        .map(|o| o.as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Our requests against coap-server-notls.

/// Starts `coap-server-notls` (dynamic resources allowed, so PUT/POST can create some).
fn start_server() -> (Peer, u16) {
    let port = free_port();
    let child = Command::new(SERVER)
        .args([
            "-A",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-d",
            "16",
            "-v",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{SERVER} must be installed (apt-get install libcoap3-bin): {e}")
        });
    let peer = Peer(Some(child));
    // Ready when a CoAP ping (CON Empty) is answered with a Reset (RFC 7252 §4.3).
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let ping = OwnedMessage::new(MessageType::Con, Code::EMPTY, 0x0bad)
        .to_vec()
        .unwrap();
    for _ in 0..50 {
        sock.send_to(&ping, ("127.0.0.1", port)).unwrap();
        let mut buf = [0u8; 64];
        if let Ok(n) = sock.recv(&mut buf) {
            let m = Message::decode(&buf[..n]).expect("libcoap's answer to a ping decodes");
            assert_eq!(
                (m.mtype(), m.code(), m.message_id()),
                (MessageType::Rst, Code::EMPTY, 0x0bad)
            );
            return (peer, port);
        }
    }
    panic!("{SERVER} did not answer a ping on port {port}");
}

/// A request independent of the transport.
struct Request {
    code: Code,
    path: &'static [&'static str],
    options: Vec<(OptionNumber, Vec<u8>)>,
    payload: &'static [u8],
}

impl Request {
    fn new(code: Code, path: &'static [&'static str]) -> Self {
        Self {
            code,
            path,
            options: Vec::new(),
            payload: b"",
        }
    }

    fn option(mut self, number: OptionNumber, value: Vec<u8>) -> Self {
        self.options.push((number, value));
        self
    }

    fn payload(mut self, payload: &'static [u8]) -> Self {
        self.payload = payload;
        self.options
            .push((OptionNumber::CONTENT_FORMAT, Vec::new())); // text/plain (0)
        self
    }

    fn udp(&self, mid: u16, token: &[u8]) -> OwnedMessage {
        let mut m = OwnedMessage::new(MessageType::Con, self.code, mid)
            .with_token(token)
            .with_payload(self.payload);
        for segment in self.path {
            m.options.push(OptionNumber::URI_PATH, segment.as_bytes());
        }
        for (n, v) in &self.options {
            m.options.push(*n, v.clone());
        }
        m
    }

    fn tcp(&self, token: &[u8]) -> OwnedFrame {
        let m = self.udp(0, token);
        OwnedFrame {
            code: m.code,
            token: m.token,
            options: m.options,
            payload: m.payload,
        }
    }
}

/// A CoAP over UDP client: CON requests with retransmission, piggybacked or separate responses.
struct UdpClient {
    sock: UdpSocket,
    server: SocketAddr,
    mid: u16,
    token: u32,
}

impl UdpClient {
    fn new(port: u16) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        Self {
            sock,
            server: SocketAddr::from(([127, 0, 0, 1], port)),
            mid: 0x3000,
            token: 0x7100_0000,
        }
    }

    fn next_token(&mut self) -> [u8; 4] {
        self.token += 1;
        self.token.to_be_bytes()
    }

    /// Receives one datagram, decoded with our codec (which must accept it).
    fn recv(&self) -> Option<OwnedMessage> {
        let mut buf = [0u8; 2048];
        let n = self.sock.recv(&mut buf).ok()?;
        let m = Message::decode(&buf[..n])
            .unwrap_or_else(|e| panic!("libcoap sent {}: {e}", hex::encode(&buf[..n])));
        m.check_options().unwrap();
        Some(m.to_owned())
    }

    fn ack(&self, mid: u16) {
        let ack = OwnedMessage::new(MessageType::Ack, Code::EMPTY, mid)
            .to_vec()
            .unwrap();
        self.sock.send_to(&ack, self.server).unwrap();
    }

    /// Sends `req` as CON with `token` and returns the response.
    fn exchange(&mut self, req: &Request, token: &[u8]) -> OwnedMessage {
        self.mid = self.mid.wrapping_add(1);
        let bytes = req.udp(self.mid, token).to_vec().unwrap();
        for _attempt in 0..4 {
            self.sock.send_to(&bytes, self.server).unwrap();
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                let Some(m) = self.recv() else { break };
                if m.mtype == MessageType::Ack && m.message_id == self.mid && m.code.is_empty() {
                    continue; // separate response follows (RFC 7252 §5.2.2)
                }
                if m.token.as_slice() != token {
                    continue;
                }
                if m.mtype == MessageType::Con {
                    self.ack(m.message_id);
                }
                assert!(m.code.is_response(), "{m:?}");
                return m;
            }
        }
        panic!("no response to {:?} {:?}", req.code, req.path);
    }
}

/// A CoAP over TCP client (RFC 8323): CSM exchange, then requests matched by token.
struct TcpClient {
    stream: TcpStream,
    buf: Vec<u8>,
    peer_csm: Csm,
    token: u32,
}

impl TcpClient {
    fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut client = Self {
            stream,
            buf: Vec::new(),
            peer_csm: Csm::default(),
            token: 0x5500_0000,
        };
        // RFC 8323 §5.3: each side sends a CSM first.
        let csm = Csm {
            max_message_size: Some(8192),
            block_wise_transfer: true,
            extended_token_length: None,
        };
        client.send(&OwnedFrame::csm(&csm));
        let first = client.read_frame();
        let frame = Frame::decode_exact(&first, &FrameLimits::UNLIMITED).unwrap();
        match frame.signal().unwrap() {
            Signal::Csm(csm) => client.peer_csm = csm,
            other => panic!("expected a CSM first, got {other:?}"),
        }
        client
    }

    fn send(&mut self, frame: &OwnedFrame) {
        self.stream.write_all(&frame.to_vec().unwrap()).unwrap();
    }

    /// Reads exactly one frame's bytes, using the incremental decoder's "need N more bytes".
    fn read_frame(&mut self) -> Vec<u8> {
        loop {
            match Frame::decode(&self.buf, &FrameLimits::UNLIMITED).unwrap() {
                Decoded::Complete { len, .. } => return self.buf.drain(..len).collect(),
                Decoded::Incomplete { needed } => {
                    let mut chunk = vec![0u8; needed.max(1)];
                    let n = self.stream.read(&mut chunk).unwrap();
                    assert!(n > 0, "connection closed by libcoap");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
            }
        }
    }

    fn next_token(&mut self) -> [u8; 4] {
        self.token += 1;
        self.token.to_be_bytes()
    }

    /// Sends `req` and returns the response frame with the same token (signaling is skipped).
    fn exchange(&mut self, req: &Request, token: &[u8]) -> OwnedFrame {
        self.send(&req.tcp(token));
        self.response(token)
    }

    fn response(&mut self, token: &[u8]) -> OwnedFrame {
        loop {
            let bytes = self.read_frame();
            let f = Frame::decode_exact(&bytes, &FrameLimits::UNLIMITED)
                .unwrap()
                .to_owned();
            if f.code.is_signaling() || f.token.as_slice() != token {
                continue;
            }
            assert!(f.code.is_response(), "{f:?}");
            return f;
        }
    }
}

/// The five methods: (request, expected response code).
fn method_requests() -> Vec<(Request, Code)> {
    vec![
        (Request::new(Code::GET, &["time"]), Code::CONTENT),
        // Dynamic resources (-d): PUT creates, POST creates, DELETE deletes.
        (
            Request::new(Code::PUT, &["mote-put"]).payload(b"put by mote"),
            Code::CREATED,
        ),
        (
            Request::new(Code::POST, &["mote-post"]).payload(b"posted by mote"),
            Code::CREATED,
        ),
        (Request::new(Code::DELETE, &["mote-put"]), Code::DELETED),
        // libcoap's example server has no FETCH handler: a well-formed 4.05 is its answer.
        (
            Request::new(Code::FETCH, &["example_data"]).payload(b"q"),
            Code::METHOD_NOT_ALLOWED,
        ),
    ]
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn udp_methods_are_answered_by_libcoap_server() {
    let (_server, port) = start_server();
    let mut client = UdpClient::new(port);
    for (req, expected) in method_requests() {
        let token = client.next_token();
        let resp = client.exchange(&req, &token);
        assert_eq!(
            resp.code, expected,
            "{:?} {:?}: {resp:?}",
            req.code, req.path
        );
        if req.code == Code::GET {
            assert!(!resp.payload.is_empty());
        }
    }
    // The PUT-created resource is gone and the POSTed one is there.
    let token = client.next_token();
    assert_eq!(
        client
            .exchange(&Request::new(Code::GET, &["mote-put"]), &token)
            .code,
        Code::NOT_FOUND
    );
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn tcp_methods_are_answered_by_libcoap_server() {
    let (_server, port) = start_server();
    let mut client = TcpClient::connect(port);
    assert!(
        client.peer_csm.max_message_size.is_some(),
        "libcoap announces Max-Message-Size"
    );
    for (req, expected) in method_requests() {
        let token = client.next_token();
        let resp = client.exchange(&req, &token);
        assert_eq!(
            resp.code, expected,
            "{:?} {:?}: {resp:?}",
            req.code, req.path
        );
    }
    // RFC 8323 §5.4: a Ping (our bytes are those of RFC 8323 Figure 11) is answered with a Pong.
    // The RFC says "with an identical token"; libcoap 4.3.1 answers with an empty token
    // (recorded in docs/interop.md), so either is accepted here.
    let ping = OwnedFrame::ping([0x42], false);
    assert_eq!(ping.to_vec().unwrap(), [0x01, 0xe2, 0x42]);
    client.send(&ping);
    let pong = client.read_frame();
    let pong = Frame::decode_exact(&pong, &FrameLimits::UNLIMITED).unwrap();
    assert_eq!(pong.code(), Code::PONG);
    assert!(matches!(pong.token(), [] | [0x42]), "{:?}", pong.token());
    assert!(matches!(pong.signal(), Ok(Signal::Pong { .. })));
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn udp_observe_registration_and_notification() {
    let (_server, port) = start_server();
    let mut client = UdpClient::new(port);
    let token = client.next_token();
    let register = Request::new(Code::GET, &["time"]).option(OptionNumber::OBSERVE, Vec::new());
    let first = client.exchange(&register, &token);
    assert_eq!(first.code, Code::CONTENT);
    let seq = first
        .options
        .get(OptionNumber::OBSERVE)
        .expect("registered: Observe in the response");
    let seq = seq.as_uint().unwrap();
    // /time notifies every second; ACK a confirmable one.
    let deadline = Instant::now() + Duration::from_secs(5);
    let notification = loop {
        assert!(Instant::now() < deadline, "no notification");
        let Some(m) = client.recv() else { continue };
        if m.token.as_slice() == token {
            if m.mtype == MessageType::Con {
                client.ack(m.message_id);
            }
            break m;
        }
    };
    assert_eq!(notification.code, Code::CONTENT);
    let next = notification
        .options
        .get(OptionNumber::OBSERVE)
        .unwrap()
        .as_uint()
        .unwrap();
    assert_ne!(next, seq);
    // Deregistration (RFC 7641 §3.6): GET with Observe 1.
    let token2 = token;
    let deregister = Request::new(Code::GET, &["time"]).option(OptionNumber::OBSERVE, vec![1]);
    let last = client.exchange(&deregister, &token2);
    assert_eq!(last.code, Code::CONTENT);
    assert!(last.options.get(OptionNumber::OBSERVE).is_none());
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn tcp_observe_registration_and_notification() {
    let (_server, port) = start_server();
    let mut client = TcpClient::connect(port);
    let token = client.next_token();
    let register = Request::new(Code::GET, &["time"]).option(OptionNumber::OBSERVE, Vec::new());
    let first = client.exchange(&register, &token);
    assert_eq!(first.code, Code::CONTENT);
    assert!(first.options.get(OptionNumber::OBSERVE).is_some());
    let notification = client.response(&token);
    assert_eq!(notification.code, Code::CONTENT);
    assert!(notification.options.get(OptionNumber::OBSERVE).is_some());
}

/// Downloads /example_data block by block with 64-byte blocks (SZX 2, RFC 7959 §2.4).
fn block2_download(
    mut exchange: impl FnMut(&Request) -> (Code, Option<Vec<u8>>, Vec<u8>),
) -> (Vec<u8>, u32) {
    let mut body = Vec::new();
    let mut num = 0;
    loop {
        let req = Request::new(Code::GET, &["example_data"])
            .option(OptionNumber::BLOCK2, block_value(num, false, 2));
        let (code, block2, payload) = exchange(&req);
        assert_eq!(code, Code::CONTENT);
        let (got_num, more, szx) = parse_block(&block2.expect("libcoap answers with Block2"));
        assert_eq!((got_num, szx), (num, 2));
        assert_eq!(body.len(), (num as usize) * 64);
        if more {
            assert_eq!(payload.len(), 64);
        }
        body.extend_from_slice(&payload);
        if !more {
            return (body, num + 1);
        }
        num += 1;
    }
}

fn check_example_data(body: &[u8], blocks: u32) {
    assert!(body.len() > 1024, "{} bytes", body.len());
    assert!(
        body.starts_with(b"a123456789b123456789c123456789"),
        "{:?}",
        String::from_utf8_lossy(&body[..40])
    );
    assert_eq!(blocks as usize, body.len().div_ceil(64));
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn udp_block2_download_of_a_large_resource() {
    let (_server, port) = start_server();
    let mut client = UdpClient::new(port);
    let token = client.next_token();
    let (body, blocks) = block2_download(|req| {
        let r = client.exchange(req, &token);
        (
            r.code,
            r.options
                .get(OptionNumber::BLOCK2)
                .map(|o| o.value.to_vec()),
            r.payload,
        )
    });
    check_example_data(&body, blocks);
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn tcp_block2_download_of_a_large_resource() {
    let (_server, port) = start_server();
    let mut client = TcpClient::connect(port);
    let token = client.next_token();
    let (body, blocks) = block2_download(|req| {
        let r = client.exchange(req, &token);
        (
            r.code,
            r.options
                .get(OptionNumber::BLOCK2)
                .map(|o| o.value.to_vec()),
            r.payload,
        )
    });
    check_example_data(&body, blocks);
}

// ---------------------------------------------------------------------------------------------
// coap-client-notls against us: capture and decode everything it sends.

/// The body we serve block-wise to libcoap's client: 3000 bytes in 256-byte blocks.
fn large_body() -> Vec<u8> {
    (0..3000u32).map(|i| b'A' + (i % 26) as u8).collect()
}

/// What our little server answers to a request, and whether to follow up with one
/// notification (Observe registrations).
struct Answer {
    code: Code,
    options: Vec<(OptionNumber, Vec<u8>)>,
    payload: Vec<u8>,
    notify: bool,
}

fn answer(code: Code, path: &[String], options: &option::OptionList) -> Answer {
    let observe = options
        .get(OptionNumber::OBSERVE)
        .map(|o| o.as_uint().unwrap());
    match (code, path.first().map(String::as_str)) {
        (Code::GET, Some("large")) => {
            let num = options
                .get(OptionNumber::BLOCK2)
                .map_or(0, |o| parse_block(o.value).0);
            let body = large_body();
            let start = (num as usize * 256).min(body.len());
            let end = (start + 256).min(body.len());
            let more = end < body.len();
            let opts = vec![
                (OptionNumber::BLOCK2, block_value(num, more, 4)),
                (
                    OptionNumber::SIZE2,
                    UintValue::new(3000).as_bytes().to_vec(),
                ),
            ];
            Answer {
                code: Code::CONTENT,
                options: opts,
                payload: body[start..end].to_vec(),
                notify: false,
            }
        }
        (Code::GET, _) if observe == Some(0) => Answer {
            code: Code::CONTENT,
            options: vec![(OptionNumber::OBSERVE, vec![5])],
            payload: b"first".to_vec(),
            notify: true,
        },
        (Code::GET, _) => Answer {
            code: Code::CONTENT,
            options: Vec::new(),
            payload: b"hello from mote".to_vec(),
            notify: false,
        },
        (Code::PUT, _) => Answer {
            code: Code::CHANGED,
            options: Vec::new(),
            payload: Vec::new(),
            notify: false,
        },
        (Code::POST, _) => Answer {
            code: Code::CREATED,
            options: Vec::new(),
            payload: Vec::new(),
            notify: false,
        },
        (Code::DELETE, _) => Answer {
            code: Code::DELETED,
            options: Vec::new(),
            payload: Vec::new(),
            notify: false,
        },
        (Code::FETCH, _) => Answer {
            code: Code::CONTENT,
            options: Vec::new(),
            payload: b"fetched".to_vec(),
            notify: false,
        },
        _ => Answer {
            code: Code::METHOD_NOT_ALLOWED,
            options: Vec::new(),
            payload: Vec::new(),
            notify: false,
        },
    }
}

/// libcoap's client printed the body (it may add a final newline).
fn assert_body(stdout: &[u8]) {
    let body = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    assert!(
        body == large_body(),
        "{} bytes printed, expected 3000",
        body.len()
    );
}

fn run_client(url: &str, args: &[&str]) -> Child {
    Command::new(CLIENT)
        .args(args)
        .args(["-B", "8", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{CLIENT} must be installed (apt-get install libcoap3-bin): {e}")
        })
}

/// Runs `coap-client-notls ARGS coap://127.0.0.1:PORT/PATH` against a UDP socket of ours;
/// returns every message it sent (decoded by our codec) and its output.
fn capture_udp(path: &str, args: &[&str]) -> (Vec<OwnedMessage>, Output) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let child = run_client(&format!("coap://127.0.0.1:{port}/{path}"), args);
    let mut peer = Peer(Some(child));
    let mut seen = Vec::new();
    let mut mid = 0x9000u16;
    let deadline = Instant::now() + Duration::from_secs(12);
    loop {
        assert!(Instant::now() < deadline, "{CLIENT} did not finish");
        let mut buf = [0u8; 2048];
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let m = Message::decode(&buf[..n])
                    .unwrap_or_else(|e| panic!("{CLIENT} sent {}: {e}", hex::encode(&buf[..n])));
                m.check_options().unwrap();
                let m = m.to_owned();
                seen.push(m.clone());
                if !m.code.is_request() {
                    continue; // ACKs and RSTs of our notifications
                }
                let Answer {
                    code,
                    options,
                    payload,
                    notify,
                } = answer(m.code, &uri_path(&m), &m.options);
                let mtype = if m.mtype == MessageType::Con {
                    MessageType::Ack
                } else {
                    MessageType::Non
                };
                let mut resp = OwnedMessage::new(mtype, code, m.message_id)
                    .with_token(m.token.clone())
                    .with_payload(payload);
                for (n, v) in options {
                    resp.options.push(n, v);
                }
                sock.send_to(&resp.to_vec().unwrap(), from).unwrap();
                if notify {
                    mid += 1;
                    let note = OwnedMessage::new(MessageType::Con, Code::CONTENT, mid)
                        .with_token(m.token.clone())
                        .with_uint_option(OptionNumber::OBSERVE, 6)
                        .with_payload(*b"second");
                    sock.send_to(&note.to_vec().unwrap(), from).unwrap();
                }
            }
            Err(_) => {
                if peer.exited() {
                    break;
                }
            }
        }
    }
    (seen, peer.output())
}

/// The same over TCP: `coap+tcp://`, with the CSM exchange.
fn capture_tcp(path: &str, args: &[&str]) -> (Vec<OwnedFrame>, Output) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = run_client(&format!("coap+tcp://127.0.0.1:{port}/{path}"), args);
    let mut peer = Peer(Some(child));
    let (mut stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(12);
    let mut closed = false;
    while !closed {
        assert!(Instant::now() < deadline, "{CLIENT} did not finish");
        match Frame::decode(&buf, &FrameLimits::DEFAULT).unwrap() {
            Decoded::Complete { frame, len } => {
                let f = frame.to_owned();
                buf.drain(..len);
                seen.push(f.clone());
                if f.code == Code::CSM {
                    let ours = Csm {
                        max_message_size: Some(1152),
                        block_wise_transfer: true,
                        extended_token_length: None,
                    };
                    stream
                        .write_all(&OwnedFrame::csm(&ours).to_vec().unwrap())
                        .unwrap();
                    continue;
                }
                if f.code.is_signaling() || !f.code.is_request() {
                    continue;
                }
                let path: Vec<String> = f
                    .options
                    .get_all(OptionNumber::URI_PATH)
                    .map(|o| o.as_str().unwrap().to_owned())
                    .collect();
                let Answer {
                    code,
                    options,
                    payload,
                    notify,
                } = answer(f.code, &path, &f.options);
                let mut resp = OwnedFrame::new(code)
                    .with_token(f.token.clone())
                    .with_payload(payload);
                for (n, v) in options {
                    resp.options.push(n, v);
                }
                stream.write_all(&resp.to_vec().unwrap()).unwrap();
                if notify {
                    let note = OwnedFrame::new(Code::CONTENT)
                        .with_token(f.token.clone())
                        .with_uint_option(OptionNumber::OBSERVE, 6)
                        .with_payload(*b"second");
                    stream.write_all(&note.to_vec().unwrap()).unwrap();
                }
            }
            Decoded::Incomplete { needed } => {
                let mut chunk = vec![0u8; needed.max(512)];
                match stream.read(&mut chunk) {
                    Ok(0) => closed = true,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(_) => closed = peer.exited(),
                }
            }
        }
    }
    (seen, peer.output())
}

/// Each of libcoap's requests: (client args, path, expected method, expected stdout).
fn client_operations() -> Vec<(Vec<&'static str>, &'static str, Code, &'static str)> {
    vec![
        (vec!["-m", "get"], "res", Code::GET, "hello from mote"),
        (vec!["-m", "put", "-e", "one"], "res", Code::PUT, ""),
        (vec!["-m", "post", "-e", "two"], "res", Code::POST, ""),
        (vec!["-m", "delete"], "res", Code::DELETE, ""),
        (
            vec!["-m", "fetch", "-e", "three"],
            "res",
            Code::FETCH,
            "fetched",
        ),
    ]
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn udp_messages_of_libcoap_client_decode() {
    for (args, path, method, stdout) in client_operations() {
        let (seen, out) = capture_udp(path, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let req = seen
            .iter()
            .find(|m| m.code.is_request())
            .unwrap_or_else(|| panic!("{args:?}: no request"));
        assert_eq!(
            (req.mtype, req.code),
            (MessageType::Con, method),
            "{args:?}"
        );
        assert_eq!(uri_path(req), [path]);
        if let Some(text) = args.iter().position(|a| *a == "-e").map(|i| args[i + 1]) {
            assert_eq!(req.payload, text.as_bytes());
        }
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            stdout,
            "{args:?}"
        );
    }
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn udp_observe_and_block2_messages_of_libcoap_client_decode() {
    // Observe: registration, then the ACK of our confirmable notification.
    let (seen, out) = capture_udp("obs", &["-s", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reg = &seen[0];
    assert_eq!(reg.code, Code::GET);
    assert_eq!(
        reg.options.get(OptionNumber::OBSERVE).unwrap().as_uint(),
        Ok(0)
    );
    assert!(
        seen.iter()
            .any(|m| m.mtype == MessageType::Ack && m.code.is_empty()),
        "{seen:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("first") && stdout.contains("second"),
        "{stdout}"
    );

    // Block2: libcoap fetches every block of the 3000-byte body.
    let (seen, out) = capture_udp("large", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nums: Vec<u32> = seen
        .iter()
        .filter(|m| m.code == Code::GET)
        .map(|m| {
            m.options
                .get(OptionNumber::BLOCK2)
                .map_or(0, |o| parse_block(o.value).0)
        })
        .collect();
    assert_eq!(nums, (0..12).collect::<Vec<_>>());
    assert_body(&out.stdout);
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn tcp_messages_of_libcoap_client_decode() {
    for (args, path, method, stdout) in client_operations() {
        let (seen, out) = capture_tcp(path, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            seen[0].code,
            Code::CSM,
            "RFC 8323 §5.3: the CSM comes first"
        );
        let req = seen
            .iter()
            .find(|f| f.code.is_request())
            .unwrap_or_else(|| panic!("{args:?}: no request"));
        assert_eq!(req.code, method);
        let p: Vec<&str> = req
            .options
            .get_all(OptionNumber::URI_PATH)
            .map(|o| o.as_str().unwrap())
            .collect();
        assert_eq!(p, [path]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            stdout,
            "{args:?}"
        );
    }
    let (seen, out) = capture_tcp("obs", &["-s", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reg = seen.iter().find(|f| f.code == Code::GET).unwrap();
    assert_eq!(
        reg.options.get(OptionNumber::OBSERVE).unwrap().as_uint(),
        Ok(0)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("first") && stdout.contains("second"),
        "{stdout}"
    );

    let (seen, out) = capture_tcp("large", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(seen.iter().filter(|f| f.code == Code::GET).count(), 12);
    assert_body(&out.stdout);
}
