//! Helpers shared by the `mote lwm2m-server` system tests: the server started on ephemeral
//! ports, a one-request HTTP/1.1 client for its REST API, and a reader of its server-sent
//! event stream (`/api/events`, docs/rest-api.md).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::Proc;

/// How long an HTTP request may take before the test fails instead of hanging.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `next_event` / `next_any` wait for an event.
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

/// `mote lwm2m-server --listen coap://127.0.0.1:0 --http 127.0.0.1:0 --print-port EXTRA…`:
/// (child, CoAP UDP port, HTTP port).
pub(crate) fn server(extra: &[&str]) -> (Proc, u16, u16) {
    let mut args = vec![
        "lwm2m-server",
        "--listen",
        "coap://127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--print-port",
    ];
    args.extend_from_slice(extra);
    let (child, ports) = super::start(&args, 2);
    (child, ports[0], ports[1])
}

/// One HTTP/1.1 request with a JSON `body` (empty for none); returns (status, body as JSON
/// or Null).
pub(crate) fn http(port: u16, method: &str, target: &str, body: &str) -> (u16, Json) {
    http_typed(port, method, target, "application/json", body)
}

/// One HTTP/1.1 request whose `body` (empty for none) is sent as `content_type`; returns
/// (status, body as JSON or Null).
pub(crate) fn http_typed(
    port: u16,
    method: &str,
    target: &str,
    content_type: &str,
    body: &str,
) -> (u16, Json) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Json::Null))
}

/// Subscribes to `/api/events` (the response must be 200); every `(event, data)` pair arrives
/// on the receiver, read by a thread until the stream ends.
pub(crate) fn events(port: u16) -> Receiver<(String, Json)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /api/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(s);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "{status}");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut name = String::new();
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_owned();
            } else if let Some(d) = line.strip_prefix("data:") {
                if let Ok(j) = serde_json::from_str(d.trim()) {
                    if tx.send((name.clone(), j)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The next event within 20 s, whatever its name.
pub(crate) fn next_any(rx: &Receiver<(String, Json)>) -> (String, Json) {
    rx.recv_timeout(EVENT_TIMEOUT)
        .unwrap_or_else(|_| panic!("no event"))
}

/// The next event named `name` within 20 s (others are skipped).
pub(crate) fn next_event(rx: &Receiver<(String, Json)>, name: &str) -> Json {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (n, j) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {name} event"));
        if n == name {
            return j;
        }
    }
}

/// `mote coap post URI --payload PAYLOAD --content-format FORMAT --json --timeout 20` (with
/// `--oscore CONTEXT` when given): the response code (e.g. "2.01"), whatever the exit status.
pub(crate) fn coap_post_code(
    uri: &str,
    payload: &str,
    content_format: &str,
    context: Option<&str>,
) -> String {
    let mut args = vec![
        "coap",
        "post",
        uri,
        "--payload",
        payload,
        "--content-format",
        content_format,
        "--json",
        "--timeout",
        "20",
    ];
    if let Some(c) = context {
        args.extend_from_slice(&["--oscore", c]);
    }
    let out = super::mote(&args);
    let v: Json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    v["code"].as_str().unwrap().to_string()
}
