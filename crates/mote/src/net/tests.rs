//! The driver over real loopback sockets, with a tiny application: it answers every request
//! 2.05 Content with the request's Uri-Path as payload; it holds `/slow` back until a request
//! for `/release` arrives (so the endpoint sends an empty ACK and then a separate response).
//! Expected bytes are written out by hand from RFC 7252 §3 (header: Ver 1, T, TKL, Code,
//! Message ID; options; 0xFF payload marker).
//!
//! Every socket read has a timeout and every server thread is stopped by a [`Shutdown`], so
//! a broken driver fails a test instead of hanging it. No assertion is about elapsed time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{ErrorKind, Read as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{EndpointConfig, Event, IncomingId, Reliability, RequestId};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::TransmissionParameters;

use super::{
    Application, Driver, DriverConfig, Flow, Io, Listen, Remote, Shutdown, parse_listen, runtime,
};

const READ_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct PathEcho {
    held: Vec<IncomingId>,
}

fn content(path: &str) -> OwnedMessage {
    OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(path.as_bytes())
}

impl Application for PathEcho {
    fn event(&mut self, io: &mut Io<'_>, event: Event<Remote>) -> Flow {
        if let Event::Request { id, message, .. } = event {
            let path: Vec<String> = message
                .message
                .options
                .get_all(OptionNumber::URI_PATH)
                .map(|o| String::from_utf8_lossy(o.value).into_owned())
                .collect();
            let path = path.join("/");
            match path.as_str() {
                "slow" => self.held.push(id),
                "release" => {
                    io.endpoint.respond(io.now, id, content(&path)).unwrap();
                    for held in self.held.drain(..) {
                        io.endpoint.respond(io.now, held, content("slow")).unwrap();
                    }
                }
                _ => io.endpoint.respond(io.now, id, content(&path)).unwrap(),
            }
        }
        Flow::Continue(())
    }
}

/// Short timers so the separate-response test is quick: ACK_TIMEOUT 200 ms with no random
/// factor, piggyback window 50 ms.
fn fast_endpoint() -> EndpointConfig {
    EndpointConfig {
        transmission: TransmissionParameters::new(Duration::from_millis(200), 1.0, 4).unwrap(),
        piggyback_delay: Duration::from_millis(50),
        ..EndpointConfig::default()
    }
}

/// A driver running [`PathEcho`] on its own thread and runtime.
struct Server {
    addrs: Vec<SocketAddr>,
    shutdown: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(listen: &[Listen], config: DriverConfig) -> Self {
        let listen = listen.to_vec();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            runtime().unwrap().block_on(async move {
                let mut driver = Driver::new(config, fast_endpoint()).unwrap();
                let mut addrs = Vec::new();
                for l in listen {
                    addrs.push(driver.bind(l).await.unwrap());
                }
                tx.send((addrs, driver.shutdown_handle())).unwrap();
                driver.run(&mut PathEcho::default()).await.unwrap();
            });
        });
        let (addrs, shutdown) = rx.recv_timeout(READ_TIMEOUT).unwrap();
        Self {
            addrs,
            shutdown,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(t) = self.thread.take() {
            // Surfaces a panic of the driver thread as a test failure.
            let joined = t.join();
            if !std::thread::panicking() {
                joined.unwrap();
            }
        }
    }
}

fn udp(addr: &str) -> Listen {
    Listen::Udp(addr.parse().unwrap())
}

fn client() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    s
}

fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 1500];
    let (n, from) = s
        .recv_from(&mut buf)
        .expect("a datagram before the timeout");
    (buf[..n].to_vec(), from)
}

/// CON GET with token 0xA7 and Message ID 0x1234 for `/hello`: RFC 7252 §3, Uri-Path is
/// option 11 (delta 11, length 5: 0xB5).
const CON_GET_HELLO: &[u8] = &[
    0x41, 0x01, 0x12, 0x34, 0xA7, 0xB5, b'h', b'e', b'l', b'l', b'o',
];

#[test]
fn con_request_gets_piggybacked_content_and_duplicate_gets_the_same_ack() {
    let server = Server::start(&[udp("127.0.0.1:0")], DriverConfig::default());
    let c = client();
    c.send_to(CON_GET_HELLO, server.addrs[0]).unwrap();
    // §5.2.1: ACK (T=2, TKL 1) 2.05 (0x45), same Message ID and token, payload "hello".
    let expected = [
        0x61, 0x45, 0x12, 0x34, 0xA7, 0xFF, b'h', b'e', b'l', b'l', b'o',
    ];
    let (got, from) = recv(&c);
    assert_eq!(got, expected);
    assert_eq!(from, server.addrs[0]);
    // §4.5: a duplicate CON gets the same ACK again, the application is not asked twice.
    c.send_to(CON_GET_HELLO, server.addrs[0]).unwrap();
    assert_eq!(recv(&c).0, expected);
}

#[test]
fn non_request_gets_non_response_with_two_path_segments() {
    let server = Server::start(&[udp("127.0.0.1:0")], DriverConfig::default());
    let c = client();
    // NON (T=1) GET, Message ID 0x2222, token 0xB1, Uri-Path "a" then "b" (delta 0).
    c.send_to(
        &[0x51, 0x01, 0x22, 0x22, 0xB1, 0xB1, b'a', 0x01, b'b'],
        server.addrs[0],
    )
    .unwrap();
    let (got, _) = recv(&c);
    // §5.2.3: a NON response, the server's own Message ID (bytes 2-3), the same token.
    assert_eq!(got.len(), 9, "{got:02x?}");
    assert_eq!(got[..2], [0x51, 0x45]);
    assert_eq!(got[4..], [0xB1, 0xFF, b'a', b'/', b'b']);
}

#[test]
fn malformed_con_gets_reset() {
    let server = Server::start(&[udp("127.0.0.1:0")], DriverConfig::default());
    let c = client();
    // §3: a payload marker followed by no payload is a format error; §4.2: a CON that cannot
    // be processed is rejected with a Reset (T=3, code 0.00) echoing its Message ID.
    c.send_to(&[0x40, 0x01, 0x12, 0x35, 0xFF], server.addrs[0])
        .unwrap();
    assert_eq!(recv(&c).0, [0x70, 0x00, 0x12, 0x35]);
}

#[test]
fn separate_response_is_retransmitted_until_acknowledged() {
    let server = Server::start(&[udp("127.0.0.1:0")], DriverConfig::default());
    let c = client();
    // CON GET /slow, Message ID 0x0101, token 0x5A.
    c.send_to(
        &[0x41, 0x01, 0x01, 0x01, 0x5A, 0xB4, b's', b'l', b'o', b'w'],
        server.addrs[0],
    )
    .unwrap();
    // §5.2.2: the application did not answer in time: an empty ACK.
    assert_eq!(recv(&c).0, [0x60, 0x00, 0x01, 0x01]);
    // NON GET /release (Message ID 0x0102, token 0x5B) makes the application answer both.
    c.send_to(
        &[
            0x51, 0x01, 0x01, 0x02, 0x5B, 0xB7, b'r', b'e', b'l', b'e', b'a', b's', b'e',
        ],
        server.addrs[0],
    )
    .unwrap();
    let mut separate = None;
    for _ in 0..2 {
        let (got, _) = recv(&c);
        if got[0] == 0x41 {
            separate = Some(got);
        } else {
            assert_eq!(got[..2], [0x51, 0x45], "{got:02x?}");
        }
    }
    let separate = separate.expect("a CON separate response");
    // CON (T=0) 2.05, the server's Message ID, the request's token, payload "slow".
    assert_eq!(separate[1], 0x45);
    assert_eq!(separate[4..], [0x5A, 0xFF, b's', b'l', b'o', b'w']);
    // Not acknowledged: §4.2, the same message again after ACK_TIMEOUT.
    let (again, _) = recv(&c);
    assert_eq!(again, separate);
    // Acknowledge it; the next datagram is the answer to a new request, not a retransmission.
    c.send_to(&[0x60, 0x00, separate[2], separate[3]], server.addrs[0])
        .unwrap();
    c.send_to(CON_GET_HELLO, server.addrs[0]).unwrap();
    assert_eq!(recv(&c).0[..2], [0x61, 0x45]);
}

#[test]
fn two_udp_sockets_answer_from_the_socket_asked() {
    let server = Server::start(
        &[udp("127.0.0.1:0"), udp("127.0.0.1:0")],
        DriverConfig::default(),
    );
    assert_ne!(server.addrs[0], server.addrs[1]);
    let c = client();
    for (i, addr) in server.addrs.iter().enumerate() {
        let mid = 0x40 + u8::try_from(i).unwrap();
        // CON GET /s0 or /s1, token 0x11.
        let digit = b'0' + u8::try_from(i).unwrap();
        c.send_to(&[0x41, 0x01, 0x00, mid, 0x11, 0xB2, b's', digit], addr)
            .unwrap();
        let (got, from) = recv(&c);
        assert_eq!(from, *addr, "answered from the other socket");
        assert_eq!(got, [0x61, 0x45, 0x00, mid, 0x11, 0xFF, b's', digit]);
    }
}

/// Whether the server closed `s`: EOF or reset, versus nothing to read yet.
fn closed_by_server(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

#[test]
fn tcp_connections_beyond_the_limit_are_refused() {
    let config = DriverConfig {
        max_connections: 2,
        ..DriverConfig::default()
    };
    let server = Server::start(&[Listen::Tcp("127.0.0.1:0".parse().unwrap())], config);
    let addr = server.addrs[0];
    let mut first = TcpStream::connect(addr).unwrap();
    let mut second = TcpStream::connect(addr).unwrap();
    let mut third = TcpStream::connect(addr).unwrap();
    // Accepted in order: the third is over the limit and closed at once.
    assert!(closed_by_server(&mut third, READ_TIMEOUT));
    assert!(!closed_by_server(&mut first, Duration::from_millis(100)));
    assert!(!closed_by_server(&mut second, Duration::from_millis(100)));
    // The limit counts open connections: once one closes, a new one is kept. (The driver
    // learns of the close asynchronously, so a few attempts may still be refused.)
    drop(first);
    let kept = (0..50).any(|_| {
        let mut s = TcpStream::connect(addr).unwrap();
        !closed_by_server(&mut s, Duration::from_millis(200))
    });
    assert!(kept, "no connection accepted after one closed");
}

/// Reads until the server closes `s` (EOF or reset): true, or false when `wait` passes first.
fn eof_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let start = std::time::Instant::now();
    let mut buf = [0u8; 256];
    while start.elapsed() < wait {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// A connection the endpoint ends (here an Abort for a malformed frame, RFC 8323 §5.6; also
/// a Release after the idle timeout) is closed by the driver although the peer keeps its
/// socket open, and no longer takes a slot: with room for 2 connections, two new ones are
/// kept after it. (Before, the socket stayed open until the peer closed it, and counted.)
#[test]
fn a_connection_the_endpoint_ends_is_closed_and_frees_its_slot() {
    let config = DriverConfig {
        max_connections: 2,
        ..DriverConfig::default()
    };
    let server = Server::start(&[Listen::Tcp("127.0.0.1:0".parse().unwrap())], config);
    let addr = server.addrs[0];
    let mut aborted = TcpStream::connect(addr).unwrap();
    // CSM (Len 0, code 7.01), then a GET whose one option byte has delta 15: malformed.
    std::io::Write::write_all(&mut aborted, &[0x00, 0xE1, 0x10, 0x01, 0xF0]).unwrap();
    assert!(
        eof_within(&mut aborted, READ_TIMEOUT),
        "the aborted connection is still open"
    );
    let mut second = TcpStream::connect(addr).unwrap();
    let mut third = TcpStream::connect(addr).unwrap();
    assert!(!closed_by_server(&mut second, Duration::from_millis(200)));
    assert!(!closed_by_server(&mut third, Duration::from_millis(200)));
    drop(aborted);
}

/// Client role: [`Driver::connect`] gives a UDP peer, the application's first request goes
/// out from `start`, the response comes back as an event and stops the driver.
#[test]
fn client_role_request_over_udp() {
    struct OneGet {
        server: Remote,
        id: Option<RequestId>,
        answer: Option<OwnedMessage>,
    }
    impl Application for OneGet {
        fn start(&mut self, io: &mut Io<'_>) -> Flow {
            let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
                .with_option(OptionNumber::URI_PATH, "x");
            let id = io
                .endpoint
                .request(io.now, self.server, get, Reliability::Confirmable);
            self.id = Some(id.unwrap());
            Flow::Continue(())
        }
        fn event(&mut self, _io: &mut Io<'_>, event: Event<Remote>) -> Flow {
            match event {
                Event::Response { id, peer, message } if Some(id) == self.id => {
                    assert_eq!(peer.addr(), self.server.addr());
                    self.answer = Some(message);
                    Flow::Break(())
                }
                Event::TimedOut { .. } => Flow::Break(()),
                _ => Flow::Continue(()),
            }
        }
    }

    let raw_server = client();
    let server_addr = raw_server.local_addr().unwrap();
    let replier = std::thread::spawn(move || {
        let (req, from) = recv(&raw_server);
        // CON GET with the endpoint's 4-byte token (TKL 4), Uri-Path "x" (0xB1 'x').
        assert_eq!(req[..2], [0x44, 0x01], "{req:02x?}");
        assert_eq!(req[8..], [0xB1, b'x']);
        // Piggybacked 2.05 "ok" with the request's Message ID and token.
        let mut ack = vec![0x64, 0x45, req[2], req[3]];
        ack.extend_from_slice(&req[4..8]);
        ack.extend_from_slice(&[0xFF, b'o', b'k']);
        raw_server.send_to(&ack, from).unwrap();
    });
    let endpoint = EndpointConfig {
        transmission: TransmissionParameters::new(Duration::from_millis(200), 1.0, 2).unwrap(),
        ..EndpointConfig::default()
    };
    let answer = runtime().unwrap().block_on(async move {
        let mut driver = Driver::new(DriverConfig::default(), endpoint).unwrap();
        let server = driver.connect(Listen::Udp(server_addr)).await.unwrap();
        assert_eq!(
            server,
            Remote::Udp {
                socket: 0,
                addr: server_addr
            }
        );
        let mut app = OneGet {
            server,
            id: None,
            answer: None,
        };
        driver.run(&mut app).await.unwrap();
        // The exchange is over: nothing left to retransmit.
        assert_eq!(driver.endpoint().stats().outstanding_requests, 0);
        app.answer
    });
    replier.join().unwrap();
    let answer = answer.expect("a response, not a timeout");
    assert_eq!(
        (answer.code, &answer.payload[..]),
        (Code::CONTENT, &b"ok"[..])
    );
}

/// Reads one RFC 8323 §3.2 frame (Len/TKL nibble, extended length, code, token, rest).
fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut first = [0u8; 1];
    s.read_exact(&mut first)
        .expect("a frame before the timeout");
    let (len_nibble, tkl) = (first[0] >> 4, usize::from(first[0] & 0x0F));
    let ext = match len_nibble {
        13 => 1,
        14 => 2,
        15 => 4,
        _ => 0,
    };
    let mut ext_bytes = vec![0u8; ext];
    s.read_exact(&mut ext_bytes).unwrap();
    let body = match len_nibble {
        13 => usize::from(ext_bytes[0]) + 13,
        14 => usize::from(u16::from_be_bytes([ext_bytes[0], ext_bytes[1]])) + 269,
        15 => 65_805,
        n => usize::from(n),
    };
    let mut rest = vec![0u8; 1 + tkl + body];
    s.read_exact(&mut rest).unwrap();
    let mut frame = first.to_vec();
    frame.extend(ext_bytes);
    frame.extend(rest);
    frame
}

/// CoAP over TCP through the driver and the endpoint's session: our CSM, a GET, and the
/// server's CSM then its 2.05 (RFC 8323 §3.2 framing, §5.3 CSM first, written out by hand).
#[test]
fn tcp_request_after_the_csm_exchange() {
    let server = Server::start(
        &[Listen::Tcp("127.0.0.1:0".parse().unwrap())],
        DriverConfig::default(),
    );
    let mut s = TcpStream::connect(server.addrs[0]).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    // CSM with no options: Len 0, TKL 0, code 7.01 (0xE1). GET /a, token 0x01: Len 2 (Uri-Path
    // header 0xB1 and 'a'), TKL 1, code 0.01.
    std::io::Write::write_all(&mut s, &[0x00, 0xE1, 0x21, 0x01, 0x01, 0xB1, b'a']).unwrap();
    let csm = read_frame(&mut s);
    assert_eq!(
        csm[usize::from(csm[0] >> 4 >= 13)..][1],
        0xE1,
        "CSM first: {csm:02x?}"
    );
    // 2.05 (0x45), token 0x01, payload marker and "a": Len 2, TKL 1.
    assert_eq!(read_frame(&mut s), [0x21, 0x45, 0x01, 0xFF, b'a']);
}

#[test]
fn listen_syntax() {
    assert_eq!(
        parse_listen("coap+tcp://127.0.0.1:5683/"),
        Ok(Listen::Tcp("127.0.0.1:5683".parse().unwrap()))
    );
    assert_eq!(
        parse_listen("coap://[::1]:5683"),
        Ok(Listen::Udp("[::1]:5683".parse().unwrap()))
    );
    assert_eq!(
        parse_listen("127.0.0.1:1"),
        Ok(Listen::Udp("127.0.0.1:1".parse().unwrap()))
    );
    assert!(parse_listen("coaps://127.0.0.1:5684").is_err());
}

/// An application's own deadline wakes the driver: the callback runs once it has passed
/// (and not before: `handle_timeout` checks the clock it is given).
#[test]
fn application_timer_wakes_the_driver() {
    struct Alarm {
        at: Option<Duration>,
        fired_at: Option<Duration>,
    }
    impl Application for Alarm {
        fn start(&mut self, io: &mut Io<'_>) -> Flow {
            self.at = Some(io.now + Duration::from_millis(30));
            Flow::Continue(())
        }
        fn event(&mut self, _io: &mut Io<'_>, _event: Event<Remote>) -> Flow {
            Flow::Continue(())
        }
        fn poll_timeout(&self) -> Option<Duration> {
            self.at
        }
        fn handle_timeout(&mut self, io: &mut Io<'_>) -> Flow {
            self.fired_at = Some(io.now);
            Flow::Break(())
        }
    }
    let mut app = Alarm {
        at: None,
        fired_at: None,
    };
    runtime().unwrap().block_on(async {
        let mut driver = Driver::new(DriverConfig::default(), EndpointConfig::default()).unwrap();
        // Without the alarm the driver would wait for input forever; the guard turns a
        // missing wake-up into a failure instead of a hang.
        tokio::time::timeout(READ_TIMEOUT, driver.run(&mut app))
            .await
            .expect("the application's timer ended the run")
            .unwrap();
    });
    let (at, fired) = (app.at.unwrap(), app.fired_at.unwrap());
    assert!(
        fired >= at,
        "fired at {fired:?}, before its deadline {at:?}"
    );
}
