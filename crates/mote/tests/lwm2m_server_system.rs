//! `mote lwm2m-server` with real peers over loopback, for the requirements that are about the
//! system rather than one library: the Bootstrap-Request Trigger carried out end to end by
//! `mote lwm2m-client` and `mote bootstrap-server` (LightweightM2M-BsR-002), a server
//! restarted on its `--store` that never reuses an OSCORE nonce (RFC 8613 §7.2.1, Appendix
//! B.1.1), and the binding of a registration to the OSCORE context it arrived under (TS 1.2
//! Transport §6.4.3 / §6.7: another context's Update or De-register is refused).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

/// One HTTP/1.1 request; (status, body as JSON or Null).
fn http(port: u16, method: &str, target: &str) -> (u16, Json) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Json::Null))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mote-lws-sys-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// JSON lines of a process's stdout, read by a thread.
struct Lines {
    rx: Receiver<String>,
    /// Every line so far (for failure messages and for counting).
    all: Vec<Json>,
}

impl Lines {
    fn new(rx: Receiver<String>) -> Lines {
        Lines {
            rx,
            all: Vec::new(),
        }
    }

    /// Waits (at most 30 s) for a line for which `want` holds; returns it.
    fn wait(&mut self, what: &str, want: impl Fn(&Json) -> bool) -> Json {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let j: Json = serde_json::from_str(&line).unwrap_or(Json::String(line));
                    self.all.push(j.clone());
                    if want(&j) {
                        return j;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; seen so far: {:#?}", self.all),
            }
        }
    }
}

/// `mote lwm2m-client ARGS… --json`: the process, its stdin and its event lines.
fn lwm2m_client(args: &[&str]) -> (common::Proc, ChildStdin, Lines) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
        .arg("lwm2m-client")
        .args(args)
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (common::Proc(child), stdin, Lines::new(rx))
}

fn event_is(j: &Json, name: &str) -> bool {
    j["event"] == name
}

/// LightweightM2M-BsR-002 (TS 1.2 Core §6.1, Server Object Resource 9 "Bootstrap-Request
/// Trigger"), end to end with the shipped binaries: `mote lwm2m-client --bootstrap` is
/// bootstrapped by `mote bootstrap-server` and registers with `mote lwm2m-server`; the REST
/// call `POST /api/clients/{ep}/bootstrap` executes /1/0/9 on it (2.04); the client goes back
/// to the Bootstrap-Server (`bootstrap-started`), is bootstrapped a second time (the
/// bootstrap server's second `bootstrap-finished` for the endpoint, the client's
/// `bootstrap-finished`), and registers again with the management server: a new
/// registration (new location and registration id), listed by the server.
#[test]
fn bsr_002_the_bootstrap_request_trigger_sends_the_client_back_to_the_bootstrap_server() {
    let dir = temp_dir("bsr002");
    let (_server, ports) = common::start(
        &[
            "lwm2m-server",
            "--listen",
            "coap://127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--print-port",
        ],
        2,
    );
    let (coap, web) = (ports[0], ports[1]);
    let config = dir.join("bs.json");
    std::fs::write(
        &config,
        json!({"endpoints": {"trig-dev": {
            "format": "senml-cbor",
            "security": [{"instance": 1, "uri": format!("coap://127.0.0.1:{coap}"),
                          "ssid": 101}],
            "servers": [{"instance": 0, "ssid": 101, "lifetime": 300}]
        }}})
        .to_string(),
    )
    .unwrap();
    let (_bs, bs_ports, bs_rx) = common::start_with_output(
        &[
            "bootstrap-server",
            "--listen",
            "coap://127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
            "--print-port",
            "--json",
        ],
        1,
    );
    let mut bs_events = Lines::new(bs_rx);
    let bs_uri = format!("coap://127.0.0.1:{}", bs_ports[0]);
    let (_client, mut stdin, mut events) =
        lwm2m_client(&["--endpoint", "trig-dev", "--bootstrap", &bs_uri]);

    // The first bootstrap and registration.
    events.wait("the first bootstrap-started", |j| {
        event_is(j, "bootstrap-started")
    });
    bs_events.wait("the bootstrap server's first bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished") && j["endpoint"] == "trig-dev"
    });
    events.wait("the first bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished")
    });
    let first = events.wait("the first registration", |j| event_is(j, "registered"));
    assert_eq!(first["ssid"], 101, "{first}");
    let (st, listed) = http(web, "GET", "/api/clients/trig-dev");
    assert_eq!(st, 200, "{listed}");
    let first_id = listed["registration_id"].clone();
    assert!(first_id.is_string(), "{listed}");
    assert_eq!(listed["objects"].as_array().unwrap()[0], "/1/0", "{listed}");

    // The Bootstrap-Request Trigger, through the REST API.
    let (st, r) = http(web, "POST", "/api/clients/trig-dev/bootstrap");
    assert_eq!((st, &r["status"]), (200, &Json::from("2.04")), "{r}");
    let execute = events.wait("the Execute of /1/0/9", |j| event_is(j, "execute"));
    assert_eq!(execute["path"], "/1/0/9", "{execute}");

    // Back to the Bootstrap-Server, bootstrapped again, registered again.
    events.wait("the second bootstrap-started", |j| {
        event_is(j, "bootstrap-started")
    });
    bs_events.wait("the bootstrap server's second bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished") && j["endpoint"] == "trig-dev"
    });
    events.wait("the second bootstrap-finished", |j| {
        event_is(j, "bootstrap-finished")
    });
    let second = events.wait("the second registration", |j| event_is(j, "registered"));
    // TS 1.2 Core §6.1 Step #3: the account was deleted (Bootstrap-Delete `/`) and written
    // again, so the client considered itself de-registered before registering anew.
    let after_trigger: Vec<&Json> = events
        .all
        .iter()
        .skip_while(|j| !event_is(j, "execute"))
        .collect();
    assert!(
        after_trigger
            .iter()
            .any(|j| event_is(j, "deregistered") && j["ssid"] == 101),
        "{after_trigger:#?}"
    );
    assert!(
        !after_trigger.iter().any(|j| event_is(j, "error")),
        "{after_trigger:#?}"
    );
    assert_eq!(second["ssid"], 101, "{second}");
    assert_ne!(second["location"], first["location"], "a new registration");
    // The management server lists the new registration (the old one was replaced).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (st, c) = http(web, "GET", "/api/clients");
        assert_eq!(st, 200);
        let list = c.as_array().unwrap();
        if list.len() == 1 && list[0]["registration_id"] != first_id {
            assert_eq!(list[0]["endpoint"], "trig-dev");
            break;
        }
        assert!(Instant::now() < deadline, "still the old registration: {c}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The bootstrap server saw exactly two sessions for the endpoint, both finished.
    let finished = bs_events
        .all
        .iter()
        .filter(|j| event_is(j, "bootstrap-finished"))
        .count();
    assert_eq!(finished, 2, "{:#?}", bs_events.all);
    writeln!(stdin, "quit").unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
