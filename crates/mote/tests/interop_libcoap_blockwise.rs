//! Interop of the mote-coap companions with Debian's libcoap 4.3.1 `coap-server-notls` over
//! loopback UDP: the message layer (`transmission`: Message IDs, retransmission schedule,
//! token matching), a Block1 upload and Block2 download of a large resource (`block`), an
//! Observe registration and deregistration (`observe`), and `/.well-known/core` (`link_format`).
//!
//! Run by `scripts/test.sh` (which installs `libcoap3-bin`) with `--ignored`; a missing peer
//! fails the tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mote_coap::block::{Block1Sender, BlockKind, BlockReassembler, BlockValue, Progress, Szx};
use mote_coap::code::{Code, MessageType};
use mote_coap::link_format::LinkFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::observe::{self, Notification, NotificationOrder, Transport};
use mote_coap::option::OptionNumber;
use mote_coap::transmission::{
    MessageIdAllocator, OutstandingRequests, Retransmission, Timeout, TransmissionParameters,
};

/// A running `coap-server-notls`, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server() -> Server {
    let port = free_port();
    let child = Command::new("coap-server-notls")
        .args(["-A", "127.0.0.1", "-p", &port.to_string(), "-v", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("coap-server-notls must be installed (apt-get install libcoap3-bin)");
    Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    }
}

/// A minimal client on the sans-IO helpers: one outstanding request at a time.
struct Client {
    sock: UdpSocket,
    server: SocketAddr,
    params: TransmissionParameters,
    ids: MessageIdAllocator,
    outstanding: OutstandingRequests<SocketAddr, 4>,
    next_token: u32,
}

impl Client {
    fn new(server: SocketAddr) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        // Shorter than the default ACK_TIMEOUT for a fast loopback test; still ≥ 1.0 factor.
        let params = TransmissionParameters::new(Duration::from_millis(300), 1.5, 4).unwrap();
        Self {
            sock,
            server,
            params,
            ids: MessageIdAllocator::new(0x4d2a),
            outstanding: OutstandingRequests::new(),
            next_token: 0x1000,
        }
    }

    /// Sends a CON request built by `build(message_id, token)` and returns the response bytes
    /// (piggybacked or separate), retransmitting on the RFC 7252 §4.2 schedule.
    fn request(&mut self, build: impl Fn(u16, &[u8]) -> OwnedMessage) -> Vec<u8> {
        self.next_token += 1;
        let token = self.next_token.to_be_bytes();
        self.request_with_token(&token, build)
    }

    /// [`Client::request`] with a given token. A response is accepted piggybacked in the ACK of
    /// this request's Message ID, or separately after an empty ACK (RFC 7252 §5.2).
    fn request_with_token(
        &mut self,
        token: &[u8],
        build: impl Fn(u16, &[u8]) -> OwnedMessage,
    ) -> Vec<u8> {
        let mid = self.ids.allocate();
        let wire = build(mid, token).to_vec().unwrap();
        let handle = self.outstanding.insert(self.server, token, mid).unwrap();
        let start = Instant::now();
        let mut rt = Retransmission::start(&self.params, Duration::ZERO, 0x8000_0000);
        self.sock.send_to(&wire, self.server).unwrap();
        let mut buf = vec![0u8; 2048];
        loop {
            let now = start.elapsed();
            let wait = rt
                .deadline()
                .saturating_sub(now)
                .max(Duration::from_millis(1));
            self.sock.set_read_timeout(Some(wait)).unwrap();
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let msg = Message::decode(&buf[..n]).unwrap();
                    let is_ack = msg.mtype() == MessageType::Ack || msg.mtype() == MessageType::Rst;
                    if is_ack && self.outstanding.match_ack(&from, msg.message_id()) != Some(handle)
                    {
                        continue; // an ACK for something else
                    }
                    assert_ne!(msg.mtype(), MessageType::Rst, "server reset the request");
                    if msg.mtype() == MessageType::Con {
                        let ack =
                            OwnedMessage::new(MessageType::Ack, Code::EMPTY, msg.message_id());
                        self.sock.send_to(&ack.to_vec().unwrap(), from).unwrap();
                    }
                    let piggybacked = is_ack;
                    let separate = !is_ack && self.outstanding.is_acknowledged(handle);
                    if msg.code().is_response()
                        && (piggybacked || separate)
                        && self.outstanding.match_response(&from, msg.token()) == Some(handle)
                    {
                        self.outstanding.remove(handle);
                        return buf[..n].to_vec();
                    }
                }
                Err(_) => match rt.on_timeout(start.elapsed()) {
                    Timeout::Retransmit { .. } => {
                        if !self.outstanding.is_acknowledged(handle) {
                            self.sock.send_to(&wire, self.server).unwrap();
                        }
                    }
                    Timeout::Wait(_) => {}
                    Timeout::GaveUp => panic!("no response from libcoap"),
                },
            }
        }
    }

    fn receive_notification(&self, token: &[u8], timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no notification within {timeout:?}");
            self.sock.set_read_timeout(Some(left)).unwrap();
            let (n, from) = self.sock.recv_from(&mut buf).expect("notification");
            let msg = Message::decode(&buf[..n]).unwrap();
            if msg.mtype() == MessageType::Con {
                let ack = OwnedMessage::new(MessageType::Ack, Code::EMPTY, msg.message_id());
                self.sock.send_to(&ack.to_vec().unwrap(), from).unwrap();
            }
            if msg.token() == token && msg.code().is_response() {
                return buf[..n].to_vec();
            }
        }
    }
}

fn get(mid: u16, token: &[u8], path: &[&str]) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, Code::GET, mid).with_token(token.to_vec());
    for p in path {
        m = m.with_option(OptionNumber::URI_PATH, p.as_bytes());
    }
    m
}

fn wait_until_up(client: &mut Client) -> Vec<u8> {
    // The server binds asynchronously: the retransmission schedule covers its start-up.
    client.request(|mid, tok| get(mid, tok, &[".well-known", "core"]))
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn libcoap_well_known_core_parses_as_link_format() {
    let server = start_server();
    let mut client = Client::new(server.addr);
    let wire = wait_until_up(&mut client);
    let msg = Message::decode(&wire).unwrap();
    assert_eq!(msg.code(), Code::CONTENT);
    assert_eq!(
        msg.uint_option(OptionNumber::CONTENT_FORMAT).unwrap(),
        Some(40)
    );
    let doc = LinkFormat::parse_bytes(msg.payload()).unwrap();
    let time = doc
        .links()
        .find(|l| l.target() == "/time")
        .expect("/time is listed");
    assert!(time.has("obs"));
    assert_eq!(time.resource_types().collect::<Vec<_>>(), ["ticks"]);
    assert_eq!(time.interfaces().collect::<Vec<_>>(), ["clock"]);
    assert_eq!(time.content_formats().collect::<Vec<_>>(), [0]);
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn libcoap_block1_upload_then_block2_download() {
    let server = start_server();
    let mut client = Client::new(server.addr);
    wait_until_up(&mut client);
    let body: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();

    // Block1 upload in 64-byte blocks (RFC 7959 §2.5).
    let mut sender = Block1Sender::new(&body, Szx::S64, 0);
    let mut rounds = 0;
    let mut continues = 0;
    loop {
        let (block, payload) = sender.current().unwrap();
        let (opt, len) = block.to_bytes();
        let wire = client.request(|mid, tok| {
            OwnedMessage::new(MessageType::Con, Code::PUT, mid)
                .with_token(tok.to_vec())
                .with_option(OptionNumber::URI_PATH, b"example_data")
                .with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
                .with_option(OptionNumber::BLOCK1, &opt[..len])
                .with_uint_option(OptionNumber::SIZE1, body.len() as u32)
                .with_payload(payload.to_vec())
        });
        let msg = Message::decode(&wire).unwrap();
        rounds += 1;
        assert!(rounds < 200);
        if block.more() {
            assert_eq!(msg.code(), Code::CONTINUE, "2.31 for a non-final block");
            continues += 1;
            let ack = BlockValue::from_message(&msg, OptionNumber::BLOCK1)
                .unwrap()
                .expect("Block1 in 2.31");
            sender.on_continue(&ack).unwrap();
        } else {
            assert!(
                msg.code() == Code::CHANGED || msg.code() == Code::CREATED,
                "final response {:?}",
                msg.code()
            );
            break;
        }
    }
    // Blocks 0..=77 acknowledged with 2.31 (5000 = 78 × 64 + 8), the final one answered.
    assert_eq!(continues, 78);
    assert_eq!(sender.acknowledged() + 5000 % 64, body.len());

    // Block2 download with late negotiation to 32-byte blocks (RFC 7959 Figure 4 pattern).
    let mut rx = BlockReassembler::new(BlockKind::Block2, Vec::new(), 10_000, Szx::S32);
    let mut request: Option<BlockValue> = None;
    let mut rounds = 0;
    let mut sizes = Vec::new();
    loop {
        let wire = client.request(|mid, tok| {
            let mut m = get(mid, tok, &["example_data"]);
            if let Some(b) = request {
                let (opt, len) = b.to_bytes();
                m = m.with_option(OptionNumber::BLOCK2, &opt[..len]);
            }
            m
        });
        let msg = Message::decode(&wire).unwrap();
        assert_eq!(msg.code(), Code::CONTENT);
        let block = BlockValue::from_message(&msg, OptionNumber::BLOCK2)
            .unwrap()
            .unwrap_or(BlockValue::new(0, false, Szx::S1024).unwrap());
        let etag = msg.option(OptionNumber::ETAG).map(|o| o.value);
        rounds += 1;
        assert!(rounds < 400);
        sizes.push(block.size());
        match rx.push(&block, msg.payload(), etag).unwrap() {
            Progress::NeedMore(next) => request = Some(next),
            Progress::Complete(_) => break,
        }
    }
    assert_eq!(rx.body(), &body[..]);
    // The server chose the first block's size; from the second on it follows our 32 bytes.
    assert!(sizes.len() > 1, "the download was block-wise");
    assert!(sizes[1..].iter().all(|s| *s == 32), "block sizes {sizes:?}");
    eprintln!(
        "first Block2 size chosen by libcoap: {}, {} exchanges",
        sizes[0],
        sizes.len()
    );
}

#[test]
#[ignore = "interop: run by scripts/test.sh, which installs the peer"]
fn libcoap_observe_register_notifications_and_deregister() {
    let server = start_server();
    let mut client = Client::new(server.addr);
    wait_until_up(&mut client);
    let token = [0x0b, 0x5e];
    // Register (Observe 0) on /time, which libcoap updates every second.
    let mid = client.ids.allocate();
    let register =
        get(mid, &token, &["time"]).with_uint_option(OptionNumber::OBSERVE, observe::REGISTER);
    client
        .sock
        .send_to(&register.to_vec().unwrap(), server.addr)
        .unwrap();
    let start = Instant::now();
    let mut order = NotificationOrder::new(Transport::Unreliable);
    let mut values = Vec::new();
    for _ in 0..3 {
        let wire = client.receive_notification(&token, Duration::from_secs(5));
        let msg = Message::decode(&wire).unwrap();
        assert_eq!(msg.code(), Code::CONTENT);
        let value = observe::from_message(&msg)
            .unwrap()
            .expect("Observe option in notifications");
        assert!(
            order.accept(Notification {
                value,
                received_at: start.elapsed()
            }),
            "fresh in order"
        );
        values.push(value);
    }
    assert!(values.windows(2).all(|w| w[0] != w[1]));
    // Deregister (Observe 1, RFC 7641 §3.6): the response carries no Observe option.
    let wire = client.request_with_token(&token, |mid, tok| {
        get(mid, tok, &["time"]).with_uint_option(OptionNumber::OBSERVE, observe::DEREGISTER)
    });
    let msg = Message::decode(&wire).unwrap();
    assert_eq!(msg.code(), Code::CONTENT);
    assert_eq!(observe::from_message(&msg).unwrap(), None);
}
