//! `mote proxy` over real loopback sockets, as processes: the bound on upstream flows (one per
//! client, `--max-flows`; an idle flow's slot goes to a new client), their expiry
//! (`--flow-idle`, a TCP client's flow closing with its connection), and the control channel (`--control`: attacks switched on stdin,
//! each acknowledged, counters on `stats`). The LwM2M traffic through the flows in both
//! directions, and each attack against real roles, are in `cli_demo.rs` (`mote demo`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::Value as Json;

/// `mote serve` and a proxy in front of it with `flags`; (server, proxy, proxy port, proxy
/// stdin, proxy stdout lines).
fn setup(
    flags: &[&str],
) -> (
    common::Proc,
    common::Proc,
    u16,
    std::process::ChildStdin,
    Receiver<String>,
) {
    let (server, ports) = common::start(&["serve", "--listen", "127.0.0.1:0", "--print-port"], 1);
    let to = format!("127.0.0.1:{}", ports[0]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--to",
            &to,
            "--print-port",
        ])
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = line.trim().parse().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (server, common::Proc(child), port, stdin, rx)
}

fn next_json(rx: &Receiver<String>) -> Json {
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a JSON line from the proxy");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

/// `--max-flows 1`: the first client gets a flow; a second client takes its slot once it has
/// no route on it (the idle flow is evicted, not the new client refused), and so does every
/// new client after it; `stats` shows one flow open throughout.
#[test]
fn a_new_client_takes_the_slot_of_an_idle_flow() {
    let (_server, _proxy, port, mut stdin, rx) = setup(&["--max-flows", "1", "--control"]);
    let uri = format!("coap://127.0.0.1:{port}/3/0/0");
    // Each `mote coap` is a new client (its own ephemeral port).
    for _ in 0..3 {
        let got = common::mote(&["coap", "get", &uri]);
        assert!(got.status.success(), "{got:?}");
        assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), "Mote");
        writeln!(stdin, "stats").unwrap();
        let v = next_json(&rx);
        assert_eq!(
            (v["flows"].as_u64(), v["refused"].as_u64()),
            (Some(1), Some(0)),
            "{v}"
        );
    }
}

/// `--flow-idle 1`: a flow with no route closes (its socket with it) a second after its last
/// exchange: `stats` shows no flow open, and the next request opens one again.
#[test]
fn an_idle_flow_closes_after_flow_idle() {
    let (_server, _proxy, port, mut stdin, rx) = setup(&["--flow-idle", "1", "--control"]);
    let uri = format!("coap://127.0.0.1:{port}/3/0/0");
    assert_eq!(common::ok(&["coap", "get", &uri]).trim(), "Mote");
    // Asked until it holds, for at most 10 s (the close itself is due after 1 s).
    let mut flows = None;
    for _ in 0..50 {
        writeln!(stdin, "stats").unwrap();
        flows = next_json(&rx)["flows"].as_u64();
        if flows == Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(flows, Some(0), "the idle flow was never closed");
    assert_eq!(common::ok(&["coap", "get", &uri]).trim(), "Mote");
    writeln!(stdin, "stats").unwrap();
    let v = next_json(&rx);
    assert_eq!(
        (v["flows"].as_u64(), v["requests"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
}

/// `--control`: each line is acknowledged on stdout; `stats` counts what was forwarded (one
/// request and its response: two messages and their bytes, one flow).
#[test]
fn control_lines_are_acknowledged_and_stats_count_the_traffic() {
    // --control alone: its answers are JSON lines on stdout.
    let (_server, _proxy, port, mut stdin, rx) = setup(&["--control"]);
    writeln!(stdin, "stats").unwrap();
    let v = next_json(&rx);
    assert_eq!(v["event"], "stats", "{v}");
    assert_eq!(
        (v["requests"].as_u64(), v["flows"].as_u64()),
        (Some(0), Some(0))
    );
    let uri = format!("coap://127.0.0.1:{port}/3/0/0");
    let got = common::ok(&["coap", "get", &uri]);
    assert_eq!(got.trim(), "Mote");
    writeln!(stdin, "stats").unwrap();
    let v = next_json(&rx);
    assert_eq!(v["event"], "stats", "{v}");
    assert_eq!(
        (
            v["requests"].as_u64(),
            v["responses"].as_u64(),
            v["flows"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{v}"
    );
    // GET /3/0/0: 4 header + Uri-Path 3, 0, 0 (2 + 2 + 2) at least; the answer "Mote" with its
    // marker and Content-Format at least 4 + 1 + 4.
    assert!(v["bytes"].as_u64().unwrap() >= 10 + 9, "{v}");
    for (line, attack, delay) in [
        ("attack tamper", "tamper", 0),
        ("attack delay 40", "none", 40),
        ("attack swap", "swap", 0),
        ("attack forge-block", "forge-block", 0),
        ("attack replay", "replay", 0),
        ("attack none", "none", 0),
    ] {
        writeln!(stdin, "{line}").unwrap();
        let v = next_json(&rx);
        assert_eq!(
            (
                v["event"].as_str(),
                v["attack"].as_str(),
                v["delay_ms"].as_u64()
            ),
            (Some("attack"), Some(attack), Some(delay)),
            "{line}: {v}"
        );
    }
    writeln!(stdin, "attack everything").unwrap();
    let v = next_json(&rx);
    assert_eq!(v["event"], "error", "{v}");
}

/// `attack delay MS` through the control channel holds the request back (the `attacked` event
/// says so) and the response still arrives; `attack tamper` on a plain request reaches the
/// server with its last byte flipped (a PUT of "ab" stored as "ac").
#[test]
fn delay_and_tamper_switched_at_run_time_act_on_the_next_requests() {
    let (_server, _proxy, port, mut stdin, rx) = setup(&["--control", "--json"]);
    let base = format!("coap://127.0.0.1:{port}");
    writeln!(stdin, "attack delay 200").unwrap();
    assert_eq!(next_json(&rx)["delay_ms"], 200);
    let got = common::ok(&["coap", "get", &format!("{base}/3/0/0")]);
    assert_eq!(got.trim(), "Mote");
    let v = next_json(&rx);
    assert_eq!(
        (
            v["event"].as_str(),
            v["attack"].as_str(),
            v["direction"].as_str()
        ),
        (Some("attacked"), Some("delay"), Some("upstream")),
        "{v}"
    );
    writeln!(stdin, "attack tamper").unwrap();
    loop {
        let v = next_json(&rx);
        if v["event"] == "attack" {
            assert_eq!(v["attack"], "tamper");
            break;
        }
    }
    common::ok(&["coap", "put", &format!("{base}/data/x"), "--payload", "ab"]);
    writeln!(stdin, "attack none").unwrap();
    let got = common::ok(&["coap", "get", &format!("{base}/data/x")]);
    assert_eq!(got.trim(), "ac");
}

/// One HTTP/1.1 request to a REST API; (status, body as JSON or Null).
fn http(port: u16, method: &str, target: &str) -> (u16, Json) {
    use std::io::Read as _;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Json::Null))
}

/// An LwM2M client registers through the proxy (UDP in, TCP to the server); the server's own
/// requests (Read, Execute) reach the client on its flow, and the answers come back: before
/// flows, the proxy refused every request from its upstream.
#[test]
fn an_lwm2m_server_reaches_its_client_through_the_proxy() {
    let (_server, ports) = common::start(
        &[
            "lwm2m-server",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--print-port",
        ],
        2,
    );
    let (coap, web) = (ports[0], ports[1]);
    let to = format!("coap+tcp://127.0.0.1:{coap}");
    let (_proxy, pport) = common::start(
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--to",
            &to,
            "--print-port",
        ],
        1,
    );
    let uri = format!("coap://127.0.0.1:{}", pport[0]);
    let mut client = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args([
            "lwm2m-client",
            "--endpoint",
            "via-proxy",
            "--server",
            &uri,
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(client.stdout.take().unwrap());
    let _client = common::Proc(client);
    let (tx, events) = channel();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let registered = loop {
        let v = next_json(&events);
        if v["event"] == "registered" {
            break v;
        }
    };
    assert_eq!(registered["server"], uri.as_str(), "{registered}");
    let (status, c) = http(web, "GET", "/api/clients/via-proxy");
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        c["transport"], "tcp",
        "registered over the proxy's TCP flow: {c}"
    );
    let (status, read) = http(web, "GET", "/api/clients/via-proxy/3/0/0");
    assert_eq!(
        (status, read["status"].as_str()),
        (200, Some("2.05")),
        "{read}"
    );
    assert_eq!(read["records"][0]["value"], "Mote", "{read}");
    let (status, exec) = http(web, "POST", "/api/clients/via-proxy/3/0/4/execute");
    assert_eq!(
        (status, exec["status"].as_str()),
        (200, Some("2.04")),
        "{exec}"
    );
    let executed = loop {
        let v = next_json(&events);
        if v["event"] == "execute" {
            break v;
        }
    };
    assert_eq!(executed["path"], "/3/0/4", "{executed}");
}

/// A TCP client's flow closes with the client's connection: the upstream server (played here
/// by a bare TCP listener) reads the end of the flow's stream once the client has gone.
#[test]
fn a_tcp_clients_flow_closes_with_its_connection() {
    use std::io::Read as _;
    use std::net::{TcpListener, TcpStream};
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = format!("coap+tcp://{}", upstream.local_addr().unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args([
            "proxy",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--to",
            &to,
            "--print-port",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let _proxy = common::Proc(child);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port: u16 = line.trim().parse().unwrap();

    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // RFC 8323 §3.2, §5.3: an empty CSM, then GET /x with a one-byte token.
    client
        .write_all(&[0x00, 0xe1, 0x21, 0x01, 0x01, 0xb1, b'x'])
        .unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = upstream.accept() {
            let _ = tx.send(stream);
        }
    });
    let mut flow = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the proxy opens the client's flow");
    flow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server's empty CSM (RFC 8323 §5.3), so the flow's session is fully open.
    flow.write_all(&[0x00, 0xe1]).unwrap();
    let mut buf = [0u8; 256];
    let n = flow.read(&mut buf).unwrap();
    assert!(n > 0, "the flow carries the proxy's CSM and the request");
    drop(client);
    // Everything until the end of the stream; a read timeout fails the test.
    loop {
        match flow.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the flow stayed open after its client left: {e}"),
        }
    }
}
