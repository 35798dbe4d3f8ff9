//! `mote bootstrap-server` over real loopback UDP and TCP, with a scripted LwM2M client in the
//! test (a mote-coap endpoint and `mote_lwm2m_client::Client`): the client sends its
//! Bootstrap-Request (LwM2M TS 1.2 Transport §6.4.1) and answers the server's Bootstrap
//! requests until Bootstrap-Finish; the server's `--json` lines report each step. BsR-001: the
//! Discover and the Reads of /1 and /2 come before any Delete or Write.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{
    ConnectionRole, Endpoint, EndpointConfig, Event, Protection, Reliability, RequestOptions,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::{ObjectLink, Path, Record, Value};
use mote_lwm2m_client::{Client, ClientConfig, Device, DeviceInfo, Requester, Trigger};
use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
use mote_oscore::{SecurityContext, SecurityContextParams};
use serde_json::Value as Json;

/// The Master Secret of the OSCORE tests' contexts.
const OSCORE_SECRET: [u8; 16] = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
];

struct Board;
impl DeviceInfo for Board {
    fn reboot(&mut self) -> Result<(), mote_lwm2m_client::ObjectError> {
        Ok(())
    }
}

fn p(s: &str) -> Path {
    s.parse().unwrap()
}

/// A client with its Bootstrap-Server account and an old server account (ssid 99).
fn device() -> Client {
    let mut c = Client::new(ClientConfig::default());
    c.register(3, Box::new(Device::new(Board))).unwrap();
    let mut w = |base: &str, records: &[(&str, Value)]| {
        let records: Vec<Record> = records
            .iter()
            .map(|(path, v)| Record::new(p(path), v.clone()))
            .collect();
        c.bootstrap_write(&p(base), &records).unwrap();
    };
    w(
        "/0/0",
        &[
            ("/0/0/0", Value::String("coap://127.0.0.1".into())),
            ("/0/0/1", Value::Boolean(true)),
            ("/0/0/2", Value::Integer(3)),
        ],
    );
    w(
        "/0/1",
        &[
            ("/0/1/0", Value::String("coap://old.example".into())),
            ("/0/1/1", Value::Boolean(false)),
            ("/0/1/2", Value::Integer(3)),
            ("/0/1/10", Value::Integer(99)),
        ],
    );
    w(
        "/1/0",
        &[
            ("/1/0/0", Value::Integer(99)),
            ("/1/0/1", Value::Integer(86400)),
            ("/1/0/7", Value::String("U".into())),
        ],
    );
    c
}

const CONFIG: &str = r#"{"endpoints": {
  "cli-dev": {
    "format": "senml-cbor",
    "security": [{"instance": 1, "uri": "coap://127.0.0.1:5683", "mode": "nosec", "ssid": 101,
                  "oscore": 0}],
    "oscore": [{"instance": 0, "master_secret": "0102030405060708090a0b0c0d0e0f10",
                "sender_id": "01", "recipient_id": "02", "aead": 10}],
    "servers": [{"instance": 0, "ssid": 101, "lifetime": 300, "binding": "U"}],
    "access_control": [{"instance": 0, "object": 3, "object_instance": 0,
                        "acl": {"101": 7}, "owner": 101}]
  },
  "bad-dev": {
    "security": [{"instance": 1, "uri": "coap://127.0.0.1:5683", "ssid": 101}],
    "servers": [{"instance": 0, "ssid": 102, "lifetime": 300}]
  }
}}"#;

fn config_file(tag: &str) -> std::path::PathBuf {
    config_file_with(tag, CONFIG)
}

fn config_file_with(tag: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mote-cli-bs-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bootstrap.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// [`CONFIG`] and an endpoint that only the OSCORE context of kid 01 may bootstrap.
fn oscore_config() -> String {
    CONFIG.replacen(
        r#""bad-dev": {"#,
        r#""oscore-dev": {
    "kid": "01",
    "security": [{"instance": 1, "uri": "coap://127.0.0.1:5683", "ssid": 101}],
    "servers": [{"instance": 0, "ssid": 101, "lifetime": 300}]
  },
  "bad-dev": {"#,
        1,
    )
}

fn xorshift() -> impl FnMut() -> u32 {
    let mut x = 0x2545_f491_4f6c_dd1d_u64 ^ u64::from(std::process::id());
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 32) as u32
    }
}

enum Transport {
    Udp(UdpSocket),
    Tcp(TcpStream, Vec<u8>),
}

/// What the scripted client saw.
struct Outcome {
    client: Client,
    /// The answer to its Bootstrap-Request.
    bs_answer: Option<Code>,
    /// (method, path) of each Bootstrap request it handled.
    seen: Vec<(Code, String)>,
    /// How many of them arrived OSCORE-protected.
    protected: usize,
    finished: bool,
    /// Whether it answered a Bootstrap-Finish (accepted or not).
    finish_answered: bool,
    /// How many of its requests it repeated with a server's Echo value (RFC 9175 §2.3).
    echo_retries: u64,
}

fn client_request(m: &OwnedMessage) -> mote_lwm2m_client::Request {
    let text = |n| {
        m.options
            .get_all(n)
            .map(|o| String::from_utf8(o.value.to_vec()).unwrap())
            .collect::<Vec<_>>()
    };
    let format = |n| {
        m.option(n)
            .map(|o| ContentFormat(o.as_uint().unwrap() as u16))
    };
    let mut r = mote_lwm2m_client::Request::new(
        m.code,
        &format!("/{}", text(OptionNumber::URI_PATH).join("/")),
    );
    r.uri_query = text(OptionNumber::URI_QUERY);
    r.content_format = format(OptionNumber::CONTENT_FORMAT);
    r.accept = format(OptionNumber::ACCEPT);
    r.payload.clone_from(&m.payload);
    r
}

/// Sends `POST /bs?ep=NAME` to `server` and answers the bootstrap server until Bootstrap-Finish
/// was accepted, the Bootstrap-Request was refused, or 20 s passed.
fn bootstrap(server: SocketAddr, tcp: bool, ep_name: &str) -> Outcome {
    let ep = Endpoint::new(EndpointConfig::default(), xorshift()).unwrap();
    bootstrap_through(ep, server, tcp, ep_name, None)
}

/// [`bootstrap`] over OSCORE with the client's context (its Sender ID `sender`, the server's
/// `0x00`).
fn bootstrap_oscore(server: SocketAddr, ep_name: &str, sender: u8) -> Outcome {
    let ctx = SecurityContext::new(&SecurityContextParams::new(
        &OSCORE_SECRET,
        &[sender],
        &[0x00],
    ))
    .unwrap();
    let mut oscore = OscoreProtection::new(OscoreConfig { max_contexts: 1 }, xorshift());
    let id = oscore.add_context(ctx).unwrap();
    let ep = Endpoint::with_protection(EndpointConfig::default(), xorshift(), oscore).unwrap();
    bootstrap_through(ep, server, false, ep_name, Some(id))
}

fn bootstrap_through<R, X>(
    mut ep: Endpoint<SocketAddr, R, X>,
    server: SocketAddr,
    tcp: bool,
    ep_name: &str,
    identity: Option<X::Identity>,
) -> Outcome
where
    R: mote_coap::transmission::RandomSource,
    X: Protection<SocketAddr>,
{
    let start = Instant::now();
    let mut transport = if tcp {
        let s = TcpStream::connect(server).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        ep.open_connection(start.elapsed(), server, ConnectionRole::Initiator)
            .unwrap();
        Transport::Tcp(s, Vec::new())
    } else {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        Transport::Udp(s)
    };
    let req = OwnedMessage::new(MessageType::Con, Code::POST, 0)
        .with_option(OptionNumber::URI_PATH, "bs")
        .with_option(OptionNumber::URI_QUERY, format!("ep={ep_name}"));
    let options = RequestOptions::new(Reliability::Confirmable, ep.config().client_blockwise);
    match identity {
        Some(id) => ep.request_protected(start.elapsed(), server, req, options, id),
        None => ep.request_with(start.elapsed(), server, req, options),
    }
    .unwrap();
    let mut out = Outcome {
        client: device(),
        bs_answer: None,
        seen: Vec::new(),
        protected: 0,
        finished: false,
        finish_answered: false,
        echo_retries: 0,
    };
    let mut buf = vec![0u8; 65536];
    while start.elapsed() < Duration::from_secs(20) {
        let now = start.elapsed();
        if ep.poll_timeout().is_some_and(|t| t <= now) {
            ep.handle_timeout(now);
        }
        while let Some(e) = ep.poll_event() {
            match e {
                Event::Request { id, message, .. } => {
                    out.protected += usize::from(message.identity.is_some());
                    let req = client_request(&message.message);
                    out.seen
                        .push((req.code, format!("/{}", req.uri_path.join("/"))));
                    let resp = out.client.handle(Requester::BootstrapServer, &req);
                    let msg = resp.write_to(OwnedMessage::new(MessageType::Ack, resp.code, 0));
                    ep.respond(now, id, msg).unwrap();
                    out.finish_answered |= req.code == Code::POST && req.uri_path == ["bs"];
                    if out
                        .client
                        .take_triggers()
                        .contains(&Trigger::BootstrapFinished)
                    {
                        out.finished = true;
                    }
                }
                Event::Response { message, .. } => out.bs_answer = Some(message.code),
                // An unprotected refusal of a protected request (RFC 8613 §8.4: e.g. 4.01).
                Event::ProtectionFailed { response, .. } => out.bs_answer = Some(response.code),
                _ => {}
            }
        }
        while let Some(t) = ep.poll_transmit() {
            match &mut transport {
                Transport::Udp(s) => {
                    s.send_to(&t.datagram, t.peer).unwrap();
                }
                Transport::Tcp(s, _) => s.write_all(&t.datagram).unwrap(),
            }
        }
        out.echo_retries = ep.stats().echo_retries;
        let refused = out.bs_answer.is_some_and(|c| c != Code::CHANGED);
        if out.finish_answered || refused {
            // The last response went out above.
            break;
        }
        match &mut transport {
            Transport::Udp(s) => {
                if let Ok((n, from)) = s.recv_from(&mut buf) {
                    ep.handle(start.elapsed(), from, &buf[..n]);
                }
            }
            Transport::Tcp(s, backlog) => {
                if let Ok(n) = s.read(&mut buf) {
                    assert!(n > 0, "the server closed the connection");
                    backlog.extend_from_slice(&buf[..n]);
                }
                let used = ep.handle_stream(start.elapsed(), server, backlog);
                backlog.drain(..used);
            }
        }
    }
    out
}

/// The server's next `--json` line whose "event" is `event` (at most 10 s).
fn next_event(rx: &Receiver<String>, event: &str) -> Json {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {event} line"));
        let v: Json = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        if v["event"] == event {
            return v;
        }
    }
}

fn check_provisioned(out: &Outcome) {
    assert_eq!(out.bs_answer, Some(Code::CHANGED));
    assert!(out.finished);
    let seen: Vec<(Code, &str)> = out.seen.iter().map(|(c, s)| (*c, s.as_str())).collect();
    assert_eq!(
        seen,
        [
            (Code::GET, "/"),
            (Code::GET, "/1"),
            (Code::GET, "/2"),
            (Code::DELETE, "/"),
            (Code::PUT, "/0/1"),
            (Code::PUT, "/21/0"),
            (Code::PUT, "/1/0"),
            (Code::PUT, "/2/0"),
            (Code::POST, "/bs"),
        ]
    );
    let c = &out.client;
    assert_eq!(c.value(&p("/0/1/10")), Some(Value::Integer(101)));
    assert_eq!(
        c.value(&p("/0/1/17")),
        Some(Value::Objlnk(ObjectLink::new(21, 0)))
    );
    assert_eq!(
        c.value(&p("/21/0/0")),
        Some(Value::Opaque(
            hex::decode("0102030405060708090a0b0c0d0e0f10").unwrap()
        ))
    );
    assert_eq!(c.value(&p("/21/0/2")), Some(Value::Opaque(vec![0x02])));
    assert_eq!(c.value(&p("/1/0/0")), Some(Value::Integer(101)));
    assert_eq!(c.value(&p("/2/0/2/101")), Some(Value::Integer(7)));
}

#[test]
fn bootstraps_a_client_over_udp_and_reports_each_step() {
    let config = config_file("udp");
    let (_server, ports, rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "coap://127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--json",
            "--print-port",
        ],
        1,
    );
    let server: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse().unwrap();
    let out = bootstrap(server, false, "cli-dev");
    check_provisioned(&out);

    let started = next_event(&rx, "bootstrap-started");
    assert_eq!(started["endpoint"], "cli-dev");
    assert_eq!(started["transport"], "udp");
    let mut steps = Vec::new();
    let finished = loop {
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let v: Json = serde_json::from_str(&line).unwrap();
        match v["event"].as_str().unwrap() {
            "bootstrap-request" => steps.push(format!(
                "{} {}",
                v["operation"].as_str().unwrap(),
                v["path"].as_str().unwrap_or("")
            )),
            "bootstrap-finished" => break v,
            other => panic!("unexpected {other}: {line}"),
        }
    };
    assert_eq!(
        steps,
        [
            "discover /",
            "read /1",
            "read /2",
            "delete /",
            "write /0/1",
            "write /21/0",
            "write /1/0",
            "write /2/0",
            "finish ",
        ]
    );
    assert_eq!(finished["endpoint"], "cli-dev");
    let read = finished["read"].as_array().unwrap();
    assert!(
        read.iter()
            .any(|r| r["path"] == "/1/0/0" && r["value"] == 99),
        "{finished}"
    );
    assert!(finished["discovered"].as_str().unwrap().contains("</1/0>"));
}

#[test]
fn bootstraps_a_client_over_tcp() {
    let config = config_file("tcp");
    let (_server, ports, rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--json",
            "--print-port",
        ],
        1,
    );
    let server: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse().unwrap();
    let out = bootstrap(server, true, "cli-dev");
    check_provisioned(&out);
    assert_eq!(next_event(&rx, "bootstrap-started")["transport"], "tcp");
    assert_eq!(next_event(&rx, "bootstrap-finished")["endpoint"], "cli-dev");
}

/// An unknown Endpoint Client Name is 4.00 (Transport §6.7) and nothing is written; a plan
/// the client finds inconsistent ends with Bootstrap-Finish 4.06, reported as failed.
#[test]
fn refusals_and_failures_are_reported() {
    let config = config_file("refused");
    let (_server, ports, rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--json",
            "--print-port",
        ],
        1,
    );
    let server: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse().unwrap();
    let out = bootstrap(server, false, "nobody");
    assert_eq!(out.bs_answer, Some(Code::BAD_REQUEST));
    assert!(out.seen.is_empty());
    let refused = next_event(&rx, "bootstrap-refused");
    assert_eq!(refused["endpoint"], "nobody");
    assert_eq!(refused["code"], "4.00");

    let out = bootstrap(server, false, "bad-dev");
    assert!(!out.finished);
    let failed = next_event(&rx, "bootstrap-failed");
    assert_eq!(failed["endpoint"], "bad-dev");
    assert_eq!(failed["operation"], "finish");
    assert_eq!(failed["code"], "4.06");
    assert!(
        failed["reason"].as_str().unwrap().contains("/1/0"),
        "{failed}"
    );
    // The failure ends that session only: the server keeps serving, and the next client
    // (the client retrying would be the same) is provisioned in full.
    let out = bootstrap(server, false, "cli-dev");
    check_provisioned(&out);
    assert_eq!(next_event(&rx, "bootstrap-finished")["endpoint"], "cli-dev");
}

#[test]
fn a_bad_configuration_is_an_error() {
    let dir = std::env::temp_dir().join(format!("mote-cli-bs-{}-bad", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        r#"{"endpoints": {"d": {"security": [{"instance": 0, "uri": "x", "mode": "dtls"}]}}}"#,
    )
    .unwrap();
    let out = common::mote(&[
        "bootstrap-server",
        "--listen",
        "127.0.0.1:0",
        "--config",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown security mode"), "{err}");
}

/// A server context file (the server's Sender ID 0x00, the client's `client`).
fn server_context(dir: &std::path::Path, client: u8) -> std::path::PathBuf {
    let path = dir.join(format!("ctx-{client:02x}.json"));
    let text = format!(
        r#"{{"master_secret":"{}","sender_id":"00","recipient_id":"{client:02x}"}}"#,
        hex::encode(OSCORE_SECRET)
    );
    common::write_private(&path, text).unwrap();
    path
}

/// A bootstrap server reached over OSCORE: the Bootstrap-Request and every request of the
/// session are protected under the client's context (RFC 8613); a plain Bootstrap-Request is
/// refused 4.01, and so is the request for an endpoint bound to another context (`"kid"`).
#[test]
fn bootstraps_over_oscore_and_refuses_other_contexts() {
    let config = config_file_with("oscore", &oscore_config());
    let dir = config.parent().unwrap();
    let ctx1 = server_context(dir, 0x01);
    let ctx3 = server_context(dir, 0x03);
    let ctx4 = server_context(dir, 0x04);
    let (_server, ports, rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "coap://127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--oscore",
            ctx1.to_str().unwrap(),
            "--oscore",
            ctx3.to_str().unwrap(),
            "--oscore",
            ctx4.to_str().unwrap(),
            "--json",
            "--print-port",
        ],
        1,
    );
    let server: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse().unwrap();

    let out = bootstrap_oscore(server, "oscore-dev", 0x01);
    assert_eq!(out.bs_answer, Some(Code::CHANGED));
    assert!(out.finished, "{:?}", out.seen);
    // Transport §6.4.1: the Bootstrap-Request over OSCORE is answered only once repeated with
    // the server's Echo value. Two challenges: the OSCORE layer's own (RFC 8613 App. B.1.2,
    // the replay window of a context read from a file, first request only) and the server's
    // Echo policy (RFC 9175 §2.3, every Bootstrap-Request); without the policy it is 1.
    assert_eq!(out.echo_retries, 2);
    // Discover, Read /1 and /2, Delete, Write /0/1 and /1/0, Finish.
    assert_eq!(out.seen.len(), 7, "{:?}", out.seen);
    assert_eq!(out.protected, out.seen.len());
    assert_eq!(out.client.value(&p("/1/0/0")), Some(Value::Integer(101)));
    assert_eq!(
        next_event(&rx, "bootstrap-finished")["endpoint"],
        "oscore-dev"
    );

    // Plain: refused before any session starts.
    let out = bootstrap(server, false, "cli-dev");
    assert_eq!(out.bs_answer, Some(Code::UNAUTHORIZED));
    assert!(out.seen.is_empty());
    let refused = next_event(&rx, "bootstrap-refused");
    assert_eq!(
        (refused["endpoint"].as_str(), refused["code"].as_str()),
        (Some("cli-dev"), Some("4.01"))
    );

    // A plain Bootstrap-Pack-Request: the same refusal, and no key in the answer.
    let json = coap_get_bspack(ports[0], "?ep=cli-dev", "112");
    assert_eq!(json["code"], "4.01", "{json}");
    let refused = next_event(&rx, "bootstrap-refused");
    assert_eq!(
        (refused["endpoint"].as_str(), refused["code"].as_str()),
        (Some("cli-dev"), Some("4.01"))
    );

    // Another client's context for the endpoint bound to kid 01.
    let out = bootstrap_oscore(server, "oscore-dev", 0x03);
    assert_eq!(out.bs_answer, Some(Code::UNAUTHORIZED));
    assert!(out.seen.is_empty());
    let refused = next_event(&rx, "bootstrap-refused");
    assert_eq!(refused["endpoint"], "oscore-dev");
    assert_eq!(refused["code"], "4.01");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("not the security context"),
        "{refused}"
    );

    // Any context bootstraps an endpoint that names none (a fresh client: the one of kid 03
    // would start its sequence numbers over, and be refused as a replay).
    let out = bootstrap_oscore(server, "cli-dev", 0x04);
    assert!(out.finished, "{:?}", out.seen);
    assert_eq!(out.protected, out.seen.len());
}

/// An endpoint bound to an OSCORE context (`"kid"`) without any `--oscore` file could never be
/// bootstrapped: a configuration error.
#[test]
fn kid_without_oscore_contexts_is_an_error() {
    let config = config_file_with("kid-no-oscore", &oscore_config());
    let out = common::mote(&[
        "bootstrap-server",
        "--listen",
        "127.0.0.1:0",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no --oscore"), "{err}");
}

/// Without `--json`: one readable line per event.
#[test]
fn text_output_names_each_step() {
    let config = config_file("text");
    let (_server, ports, rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--print-port",
        ],
        1,
    );
    let server: SocketAddr = format!("127.0.0.1:{}", ports[0]).parse().unwrap();
    let out = bootstrap(server, false, "cli-dev");
    assert!(out.finished);
    let lines: Vec<String> = (0..11)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    assert!(
        lines[0].starts_with("cli-dev: bootstrap started from 127.0.0.1:")
            && lines[0].ends_with("(udp)"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1..10],
        [
            "cli-dev: bootstrap-discover /",
            "cli-dev: bootstrap-read /1",
            "cli-dev: bootstrap-read /2",
            "cli-dev: bootstrap-delete /",
            "cli-dev: bootstrap-write /0/1",
            "cli-dev: bootstrap-write /21/0",
            "cli-dev: bootstrap-write /1/0",
            "cli-dev: bootstrap-write /2/0",
            "cli-dev: bootstrap-finish",
        ]
    );
    assert!(
        lines[10].starts_with("cli-dev: bootstrap finished ("),
        "{lines:?}"
    );
}

/// `mote coap get coap://…/bspack?ep=NAME --accept N --json` (ARGS…): the JSON printed.
fn coap_get_bspack(port: u16, query: &str, accept: &str) -> Json {
    let uri = format!("coap://127.0.0.1:{port}/bspack{query}");
    let o = common::mote(&[
        "coap",
        "get",
        &uri,
        "--accept",
        accept,
        "--json",
        "--timeout",
        "10",
    ]);
    let stdout = String::from_utf8(o.stdout).unwrap();
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout} / {}", String::from_utf8_lossy(&o.stderr)))
}

/// Bootstrap-Pack-Request (Transport §6.4.1: `GET /bspack?ep=…` with Accept): `mote coap get`
/// receives 2.05 with the whole plan of `cli-dev` as one SenML CBOR pack, decoded here with
/// mote-lwm2m's decoder into exactly the records of [`CONFIG`] (written out by hand); an
/// unknown name is 4.00 and an Accept no pack is served in 4.06 (Transport §6.7), each
/// reported by the server.
#[test]
fn serves_the_bootstrap_pack() {
    let config = config_file("pack");
    let (_server, ports, rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "coap://127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--json",
            "--print-port",
        ],
        1,
    );
    let json = coap_get_bspack(ports[0], "?ep=cli-dev", "112");
    assert_eq!(json["code"], "2.05", "{json}");
    let body = hex::decode(json["payload"].as_str().unwrap()).unwrap();
    let records = mote_lwm2m::decode(
        mote_lwm2m::Format::SenmlCbor,
        &Path::ROOT,
        &body,
        &mote_lwm2m::object::Builtin,
    )
    .unwrap();
    let mut got: Vec<(String, Value)> = records
        .into_iter()
        .map(|r| (r.path.to_string(), r.value))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Value)> = [
        ("/0/1/0", Value::String("coap://127.0.0.1:5683".into())),
        ("/0/1/1", Value::Boolean(false)),
        ("/0/1/2", Value::Integer(3)),
        ("/0/1/3", Value::Opaque(vec![])),
        ("/0/1/4", Value::Opaque(vec![])),
        ("/0/1/5", Value::Opaque(vec![])),
        ("/0/1/10", Value::Integer(101)),
        ("/0/1/17", Value::Objlnk(ObjectLink::new(21, 0))),
        ("/21/0/0", Value::Opaque((1..=16).collect())),
        ("/21/0/1", Value::Opaque(vec![0x01])),
        ("/21/0/2", Value::Opaque(vec![0x02])),
        ("/21/0/3", Value::Integer(10)),
        ("/1/0/0", Value::Integer(101)),
        ("/1/0/1", Value::Integer(300)),
        ("/1/0/6", Value::Boolean(false)),
        ("/1/0/7", Value::String("U".into())),
        ("/2/0/0", Value::Integer(3)),
        ("/2/0/1", Value::Integer(0)),
        ("/2/0/2/101", Value::Integer(7)),
        ("/2/0/3", Value::Integer(101)),
    ]
    .into_iter()
    .map(|(p, v)| (p.to_string(), v))
    .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, expected);
    let served = next_event(&rx, "bootstrap-pack");
    assert_eq!(served["endpoint"], "cli-dev");
    assert_eq!(served["format"], "senml-cbor");
    assert_eq!(served["size"], body.len());

    let json = coap_get_bspack(ports[0], "?ep=nobody", "112");
    assert_eq!(json["code"], "4.00", "{json}");
    let refused = next_event(&rx, "bootstrap-refused");
    assert_eq!(refused["endpoint"], "nobody");
    assert_eq!(refused["code"], "4.00");
    let json = coap_get_bspack(ports[0], "?ep=cli-dev", "11542");
    assert_eq!(json["code"], "4.06", "{json}");
    let refused = next_event(&rx, "bootstrap-refused");
    assert_eq!(refused["code"], "4.06");
}
