//! `mote serve` on the sans-IO endpoint, probed with CoAP messages built by hand (RFC 7252 §3:
//! header Ver 1 | T | TKL, Code, Message ID, token, options with deltas, 0xFF, payload; RFC
//! 8323 §3.2 for TCP frames) over std sockets, so that nothing of the code under test encodes
//! what is sent or decodes what is checked. Expected codes come from the RFCs:
//! - If-Match / If-None-Match not fulfilled: 4.12 (RFC 7252 §5.10.8), the resource unchanged;
//! - an unrecognized critical option in a CON request: 4.02 (RFC 7252 §5.4.1);
//! - a malformed CON datagram: Reset (RFC 7252 §4.2, §4.3); a malformed TCP frame: Abort
//!   (RFC 8323 §5.6);
//! - `--fresh-echo` without OSCORE: an unsafe request without a fresh Echo gets 4.01 with an
//!   Echo option, the same request with that Echo is served (RFC 9175 §2.3, §2.4).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

// Codes (RFC 7252 §12.1): class << 5 | detail.
const GET: u8 = 0x01;
const PUT: u8 = 0x03;
const CREATED: u8 = 0x41; // 2.01
const CHANGED: u8 = 0x44; // 2.04
const CONTENT: u8 = 0x45; // 2.05
const UNAUTHORIZED: u8 = 0x81; // 4.01
const BAD_OPTION: u8 = 0x82; // 4.02
const PRECONDITION_FAILED: u8 = 0x8c; // 4.12

// Option numbers (RFC 7252 §5.10, RFC 9175 §2.2.1).
const IF_MATCH: u16 = 1;
const URI_PATH: u16 = 11;
const IF_NONE_MATCH: u16 = 5;
const ECHO: u16 = 252;

/// `mote serve` on UDP and TCP ephemeral ports, with `extra` arguments.
fn serve(extra: &[&str]) -> (common::Proc, u16, u16) {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--listen",
        "coap+tcp://127.0.0.1:0",
        "--print-port",
    ];
    args.extend_from_slice(extra);
    let (child, ports) = common::start(&args, 2);
    (child, ports[0], ports[1])
}

/// One option header nibble and its extension bytes (RFC 7252 §3.1).
fn nibble(v: u16) -> (u8, Vec<u8>) {
    match v {
        0..=12 => (v as u8, vec![]),
        13..=268 => (13, vec![(v - 13) as u8]),
        _ => (14, (v - 269).to_be_bytes().to_vec()),
    }
}

/// Options in ascending order, delta-encoded (RFC 7252 §3.1).
fn encode_options(options: &[(u16, &[u8])]) -> Vec<u8> {
    let mut sorted = options.to_vec();
    sorted.sort_by_key(|(n, _)| *n);
    let mut out = vec![];
    let mut last = 0;
    for (number, value) in sorted {
        let (d, dx) = nibble(number - last);
        let (l, lx) = nibble(value.len() as u16);
        out.push(d << 4 | l);
        out.extend(dx);
        out.extend(lx);
        out.extend_from_slice(value);
        last = number;
    }
    out
}

/// A CON request with a 1-byte token.
fn con(code: u8, mid: u16, options: &[(u16, &[u8])], payload: &[u8]) -> Vec<u8> {
    let mut m = vec![0x41, code];
    m.extend(mid.to_be_bytes());
    m.push(0x5a);
    m.extend(encode_options(options));
    if !payload.is_empty() {
        m.push(0xff);
        m.extend_from_slice(payload);
    }
    m
}

/// Decodes the options and payload after header and token (RFC 7252 §3.1).
fn decode_options(mut rest: &[u8]) -> (Vec<(u16, Vec<u8>)>, Vec<u8>) {
    let mut options = vec![];
    let mut number = 0u16;
    let ext = |n: u8, rest: &mut &[u8]| -> u16 {
        match n {
            13 => {
                let v = u16::from(rest[0]) + 13;
                *rest = &rest[1..];
                v
            }
            14 => {
                let v = u16::from_be_bytes([rest[0], rest[1]]) + 269;
                *rest = &rest[2..];
                v
            }
            n => u16::from(n),
        }
    };
    while let Some(&b) = rest.first() {
        rest = &rest[1..];
        if b == 0xff {
            return (options, rest.to_vec());
        }
        number += ext(b >> 4, &mut rest);
        let len = usize::from(ext(b & 0xf, &mut rest));
        options.push((number, rest[..len].to_vec()));
        rest = &rest[len..];
    }
    (options, vec![])
}

struct Udp(UdpSocket, u16);

/// A response's code, options (number, value) and payload.
type Response = (u8, Vec<(u16, Vec<u8>)>, Vec<u8>);

impl Udp {
    fn new(port: u16) -> Self {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        Self(s, port)
    }

    fn raw(&self, datagram: &[u8]) -> Vec<u8> {
        self.0.send_to(datagram, ("127.0.0.1", self.1)).unwrap();
        let mut buf = [0u8; 2048];
        let n = self.0.recv(&mut buf).expect("an answer before the timeout");
        buf[..n].to_vec()
    }

    /// Sends a CON request; returns the piggybacked response's code, options and payload
    /// (checking it is the ACK of `mid` with the request's token).
    fn request(&self, code: u8, mid: u16, options: &[(u16, &[u8])], payload: &[u8]) -> Response {
        let r = self.raw(&con(code, mid, options, payload));
        assert_eq!(r[0], 0x61, "ACK, token length 1: {r:02x?}");
        assert_eq!((&r[2..4], r[4]), (&mid.to_be_bytes()[..], 0x5a));
        let (options, payload) = decode_options(&r[5..]);
        (r[1], options, payload)
    }
}

#[test]
fn if_match_and_if_none_match_that_do_not_hold_get_4_12() {
    let (_s, port, _) = serve(&[]);
    let c = Udp::new(port);
    let path: &[(u16, &[u8])] = &[(URI_PATH, b"data"), (URI_PATH, b"x")];
    // If-Match on a resource that does not exist: not fulfilled, nothing created.
    let with = |extra: (u16, &'static [u8])| {
        let mut o = path.to_vec();
        o.push(extra);
        o
    };
    let r = c.request(PUT, 1, &with((IF_MATCH, b"")), b"one");
    assert_eq!(r.0, PRECONDITION_FAILED);
    assert_eq!(c.request(GET, 2, path, b"").0, 0x84, "4.04: not created");
    // If-None-Match on a new resource: fulfilled (2.01).
    assert_eq!(
        c.request(PUT, 3, &with((IF_NONE_MATCH, b"")), b"one").0,
        CREATED
    );
    // If-None-Match once it exists: 4.12, the body stays.
    assert_eq!(
        c.request(PUT, 4, &with((IF_NONE_MATCH, b"")), b"two").0,
        PRECONDITION_FAILED
    );
    // If-Match with an ETag the resource does not have (it has none): 4.12.
    assert_eq!(
        c.request(PUT, 5, &with((IF_MATCH, b"\x01\x02")), b"two").0,
        PRECONDITION_FAILED
    );
    let (code, _, body) = c.request(GET, 6, path, b"");
    assert_eq!((code, body.as_slice()), (CONTENT, &b"one"[..]));
    // Empty If-Match ("any representation exists"): fulfilled.
    assert_eq!(c.request(PUT, 7, &with((IF_MATCH, b"")), b"two").0, CHANGED);
    assert_eq!(c.request(GET, 8, path, b"").2, b"two");
    // The object tree too: /1/0/1 exists, so If-None-Match fails and the value stays.
    let lifetime: &[(u16, &[u8])] = &[
        (URI_PATH, b"1"),
        (URI_PATH, b"0"),
        (URI_PATH, b"1"),
        (IF_NONE_MATCH, b""),
    ];
    assert_eq!(c.request(PUT, 9, lifetime, b"7").0, PRECONDITION_FAILED);
    assert_eq!(c.request(GET, 10, &lifetime[..3], b"").2, b"86400");
}

#[test]
fn an_unrecognized_critical_option_gets_4_02() {
    let (_s, port, _) = serve(&[]);
    let c = Udp::new(port);
    let name: &[(u16, &[u8])] = &[(URI_PATH, b"3"), (URI_PATH, b"0"), (URI_PATH, b"0")];
    assert_eq!(c.request(GET, 1, name, b"").0, CONTENT, "control");
    // Odd numbers are critical (RFC 7252 §5.4.6); 25 and 65001 are not registered.
    for (mid, number) in [(2, 25u16), (3, 65001)] {
        let mut o = name.to_vec();
        o.push((number, b"\x01"));
        assert_eq!(
            c.request(GET, mid, &o, b"").0,
            BAD_OPTION,
            "option {number}"
        );
    }
    // An unrecognized elective option (even) is ignored (§5.4.1).
    let mut o = name.to_vec();
    o.push((65000, b"\x01"));
    assert_eq!(c.request(GET, 4, &o, b"").0, CONTENT);
}

#[test]
fn a_malformed_con_datagram_gets_a_reset() {
    let (_s, port, _) = serve(&[]);
    let c = Udp::new(port);
    // CON GET, no token, Message ID 0x1234, then an option byte with delta 15 and length 0:
    // a message format error (RFC 7252 §3.1), which a CON answers with a Reset (§4.2).
    let r = c.raw(&[0x40, GET, 0x12, 0x34, 0xf0]);
    assert_eq!(r, [0x70, 0x00, 0x12, 0x34]);
}

/// Reads TCP frames (RFC 8323 §3.2) until the peer closes; returns their codes.
fn frame_codes(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = vec![];
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            // Reset by the peer after its Abort, or the timeout: what came is what counts.
            Err(_) => break,
        }
    }
    let mut codes = vec![];
    let mut rest = bytes.as_slice();
    while let Some(&first) = rest.first() {
        let (len, ext) = match first >> 4 {
            13 => (usize::from(rest[1]) + 13, 1),
            14 => (usize::from(u16::from_be_bytes([rest[1], rest[2]])) + 269, 2),
            15 => panic!("no frame this large expected"),
            n => (usize::from(n), 0),
        };
        let tkl = usize::from(first & 0xf);
        codes.push(rest[1 + ext]);
        rest = &rest[(2 + ext + tkl + len).min(rest.len())..];
    }
    codes
}

#[test]
fn a_malformed_tcp_frame_gets_an_abort() {
    let (_s, _, port) = serve(&[]);
    let mut t = TcpStream::connect(("127.0.0.1", port)).unwrap();
    t.set_read_timeout(Some(TIMEOUT)).unwrap();
    // Our CSM (7.01, empty), then a GET whose one option byte has delta 15: malformed.
    t.write_all(&[0x00, 0xe1]).unwrap();
    t.write_all(&[0x10, GET, 0xf0]).unwrap();
    let codes = frame_codes(&mut t);
    // The server's CSM, then Abort (7.05), and the connection closes.
    assert_eq!(codes.first(), Some(&0xe1), "{codes:02x?}");
    assert_eq!(codes.last(), Some(&0xe5), "{codes:02x?}");
}

#[test]
fn fresh_echo_without_oscore_demands_echo_of_unsafe_requests() {
    let (_s, port, _) = serve(&["--fresh-echo"]);
    let c = Udp::new(port);
    let path: &[(u16, &[u8])] = &[(URI_PATH, b"data"), (URI_PATH, b"e")];
    // Safe: served without Echo.
    assert_eq!(c.request(GET, 1, path, b"").0, 0x84);
    // Unsafe without Echo: 4.01 with an Echo value of 1–40 bytes (RFC 9175 §2.2.1).
    let (code, options, _) = c.request(PUT, 2, path, b"v");
    assert_eq!(code, UNAUTHORIZED);
    let echo = options
        .iter()
        .find(|(n, _)| *n == ECHO)
        .map(|(_, v)| v.clone())
        .expect("an Echo option");
    assert!((1..=40).contains(&echo.len()));
    assert_eq!(c.request(GET, 3, path, b"").0, 0x84, "not stored");
    // The same request with the Echo value: served.
    let mut with_echo = path.to_vec();
    with_echo.push((ECHO, &echo));
    assert_eq!(c.request(PUT, 4, &with_echo, b"v").0, CREATED);
    assert_eq!(c.request(GET, 5, path, b"").2, b"v");
    // A value the server never issued: 4.01 again.
    let mut forged = path.to_vec();
    forged.push((ECHO, b"\x00\x01\x02\x03\x04\x05\x06\x07"));
    assert_eq!(c.request(PUT, 6, &forged, b"w").0, UNAUTHORIZED);
}

/// The `/data` scratch area is bounded (hardening finding 2: "the /data store grows" without
/// limit): 64 entries, then a new one is 5.03 while an existing one can still be replaced; and a
/// body that would take the area past 4 MiB is 4.13 (RFC 7252 §5.9.3.4, §5.9.2.9).
#[test]
fn the_data_area_is_bounded() {
    let (_s, port, _) = serve(&[]);
    let c = Udp::new(port);
    for i in 0..64u16 {
        let name = format!("k{i}");
        let path: &[(u16, &[u8])] = &[(URI_PATH, b"data"), (URI_PATH, name.as_bytes())];
        assert_eq!(c.request(PUT, 100 + i, path, b"v").0, CREATED, "entry {i}");
    }
    let full: &[(u16, &[u8])] = &[(URI_PATH, b"data"), (URI_PATH, b"one-more")];
    assert_eq!(
        c.request(PUT, 200, full, b"v").0,
        0xa3,
        "5.03 for a 65th entry"
    );
    assert_eq!(c.request(GET, 201, full, b"").0, 0x84, "4.04: not stored");
    let existing: &[(u16, &[u8])] = &[(URI_PATH, b"data"), (URI_PATH, b"k0")];
    assert_eq!(c.request(PUT, 202, existing, b"w").0, CHANGED);
    // Bodies of 512 KiB (Block1, reassembled by the endpoint; `mote coap` uploads them)
    // replace entries k0, k1, …: after 7 of them the area holds 7 × 512 Ki + the 57 other
    // one-byte entries, and an 8th would pass 4 MiB by 57 bytes: refused, nothing replaced.
    let body = vec![7u8; 512 * 1024];
    for i in 0..7u16 {
        let name = format!("k{i}");
        let path: &[(u16, &[u8])] = &[(URI_PATH, b"data"), (URI_PATH, name.as_bytes())];
        assert_eq!(upload(port, path, &body), "2.04", "entry {i}");
    }
    let eighth: &[(u16, &[u8])] = &[(URI_PATH, b"data"), (URI_PATH, b"k7")];
    assert_eq!(upload(port, eighth, &body), "4.13");
    assert_eq!(
        c.request(GET, 203, eighth, b"").2,
        b"v",
        "the old body stays"
    );
}

/// PUTs `body` to `path` with `mote coap` (block-wise); returns the response code.
fn upload(port: u16, path: &[(u16, &[u8])], body: &[u8]) -> String {
    let segments: Vec<String> = path
        .iter()
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    let dir = std::env::temp_dir().join(format!("mote-scratch-{}-{port}", std::process::id()));
    std::fs::write(&dir, body).unwrap();
    let uri = format!("coap://127.0.0.1:{port}/{}", segments.join("/"));
    let file = dir.to_str().unwrap();
    let out = common::mote(&["coap", "put", &uri, "--payload-file", file, "--json"]);
    let _ = std::fs::remove_file(&dir);
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{out:?}"));
    json["code"].as_str().unwrap().to_owned()
}
