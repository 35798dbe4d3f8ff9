//! `mote proxy` over real loopback sockets, as processes: the bound on upstream flows (one per
//! client, `--max-flows`), and the control channel (`--control`: attacks switched on stdin,
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

/// `--max-flows 1`: the first client gets a flow (and keeps it), a second client's request is
/// refused with 5.03 "proxy flow table full", and so is every new client after it.
#[test]
fn a_client_beyond_the_flow_bound_is_refused_with_5_03() {
    let (_server, _proxy, port, _stdin, _rx) = setup(&["--max-flows", "1"]);
    let uri = format!("coap://127.0.0.1:{port}/3/0/0");
    // Each `mote coap` is a new client (its own ephemeral port).
    let first = common::mote(&["coap", "get", &uri]);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), "Mote");
    let second = common::mote(&["coap", "get", &uri]);
    assert_eq!(second.status.code(), Some(1), "{second:?}");
    let err = String::from_utf8_lossy(&second.stderr);
    // (The route table, 1024 by default, is nearly empty: this 5.03 is the flow bound's.)
    assert!(err.contains("answered 5.03"), "{err}");
    let again = common::mote(&["coap", "get", &uri]);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
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
