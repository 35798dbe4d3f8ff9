//! Load on the real `mote lwm2m-server` process over loopback UDP: N simulated LwM2M clients
//! (default 1,000), each with its own OSCORE context (RFC 8613) and its own UDP socket and
//! CoAP endpoint on its own thread, against one server started with one `--oscore FILE` per
//! client. The clients register, update, answer the server's Reads and Writes (driven through
//! the REST API by a pool of HTTP workers) and Send one timestamped record each.
//!
//! It checks that every registration, Update, Read, Write and Send is answered, that every
//! Write is applied exactly once on its client, and that every Send record arrives exactly once
//! on the server's event stream (`GET /api/events`); it prints registrations/s, OSCORE
//! requests/s through the server per phase and overall, and the server process's resident
//! memory (VmRSS) per client against a server holding one context. That division includes what
//! a burst costs whatever the client count (about 2 MB); the per-client cost is the slope
//! between runs with different CLIENTS (docs/performance.md uses 200, 500 and 1,000).
//!
//! ```sh
//! cargo build --release -p mote
//! cargo run --release -p mote-lwm2m-server --example udp_load -- target/release/mote 1000
//! ```
//!
//! Arguments: `MOTE_BINARY [CLIENTS [WINDOW [HTTP_WORKERS [IDLE_SECONDS]]]]`: at most WINDOW
//! (default 64)
//! client requests in flight at once (a burst of 1,000 datagrams would overflow the server's
//! socket receive buffer and wait for CoAP retransmission), HTTP_WORKERS (default 16) REST
//! requests in flight at once; with IDLE_SECONDS (default 0) the server's VmRSS is read once
//! more after that long without traffic (past EXCHANGE_LIFETIME, 247 s, RFC 7252 §4.8.2, its
//! endpoint has dropped the per-peer deduplication state). The context files live in a fresh directory under the system
//! temporary directory, removed at the end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)] // the bootstrap tests' Device object is not needed here
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path as FsPath, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability, RequestOptions};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Format, Path, Record, Value};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;
use mote_oscore::{SecurityContext, SecurityContextParams};

use common::Xs;

const SECRET: [u8; 16] = [7; 16];

type Oscore = OscoreProtection<Volatile, Xs>;
type Ep = Endpoint<SocketAddr, Xs, Oscore>;

/// What the main thread tells the clients to do.
const IDLE: u32 = 0;
const REGISTER: u32 = 1;
const UPDATE: u32 = 2;
const SERVE: u32 = 3;
const SEND: u32 = 4;
const STOP: u32 = 5;

#[derive(Debug)]
enum Report {
    /// A client's request of `phase` got its final answer.
    Answered { phase: u32, code: Code },
    /// A client's request failed (timeout, reset, refused): what happened.
    Failed(String),
    /// A client stopped: the Writes it applied and its value.
    Stopped {
        client: usize,
        writes: usize,
        value: i64,
    },
}

/// At most `window` client requests in flight.
struct Window {
    free: Mutex<usize>,
    changed: Condvar,
}

impl Window {
    fn acquire(&self) {
        let mut free = self.free.lock().unwrap();
        while *free == 0 {
            free = self.changed.wait(free).unwrap();
        }
        *free -= 1;
    }

    fn release(&self) {
        *self.free.lock().unwrap() += 1;
        self.changed.notify_one();
    }
}

fn endpoint_name(i: usize) -> String {
    format!("dev{i}")
}

fn client_id(i: usize) -> [u8; 2] {
    u16::try_from(i + 1).unwrap().to_be_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's context file for client `i` (0600: it holds the Master Secret).
fn write_context(dir: &FsPath, i: usize) -> PathBuf {
    let path = dir.join(format!("client-{i}.json"));
    let text = format!(
        "{{\"master_secret\":\"{}\",\"sender_id\":\"\",\"recipient_id\":\"{}\",\"endpoint\":\"{}\"}}",
        hex(&SECRET),
        hex(&client_id(i)),
        endpoint_name(i)
    );
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(&path).unwrap().write_all(text.as_bytes()).unwrap();
    path
}

/// Starts the server with these context files; returns it with its CoAP and HTTP addresses.
fn start_server(
    mote: &FsPath,
    contexts: &[PathBuf],
    log: &FsPath,
) -> (Child, SocketAddr, SocketAddr) {
    let mut cmd = Command::new(mote);
    cmd.args([
        "lwm2m-server",
        "--listen",
        "coap://127.0.0.1:0",
        "--http",
        "127.0.0.1:0",
        "--print-port",
    ]);
    for c in contexts {
        cmd.arg("--oscore").arg(c);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("cannot start the mote binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut port = || -> u16 {
        lines
            .next()
            .expect("the server printed no port (see its log)")
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let coap = SocketAddr::from(([127, 0, 0, 1], port()));
    let http = SocketAddr::from(([127, 0, 0, 1], port()));
    (child, coap, http)
}

/// The process's resident set (VmRSS), bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// One HTTP/1.1 request on a fresh connection; the status and the body.
fn http(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// Reads the server-sent event stream; counts the Send records per endpoint (value checked).
fn watch_sends(http_addr: SocketAddr, sends: Arc<Mutex<BTreeMap<String, usize>>>) {
    let mut s = TcpStream::connect(http_addr).unwrap();
    // HTTP/1.0: the body streams until the server closes, without chunked framing.
    s.write_all(b"GET /api/events HTTP/1.0\r\n\r\n").unwrap();
    let mut send_event = false;
    for line in BufReader::new(s).lines() {
        let Ok(line) = line else { return };
        if let Some(name) = line.strip_prefix("event:") {
            send_event = name.trim() == "send";
        } else if let Some(data) = line.strip_prefix("data:") {
            if !send_event {
                continue;
            }
            let ep = data
                .split("\"endpoint\":\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_default()
                .to_string();
            let i: usize = ep.trim_start_matches("dev").parse().unwrap();
            let value = format!("\"value\":{i}");
            let time = format!("\"time\":{}", 1_700_000_000 + i);
            let records = data.matches("\"path\":\"/3/0/9\"").count();
            if records == 1 && data.contains(&value) && data.contains(&time) {
                *sends.lock().unwrap().entry(ep).or_default() += 1;
            } else {
                eprintln!("unexpected Send data: {data}");
            }
        }
    }
}

struct Client {
    index: usize,
    ep: Ep,
    ctx: ContextId,
    socket: UdpSocket,
    server: SocketAddr,
    location: Vec<String>,
    value: i64,
    writes: usize,
}

impl Client {
    fn request(&mut self, now: Duration, m: OwnedMessage) {
        let opts = RequestOptions::new(Reliability::Confirmable, self.ep.config().client_blockwise);
        self.ep
            .request_protected(now, self.server, m, opts, self.ctx)
            .unwrap();
    }

    fn start(&mut self, now: Duration, phase: u32) {
        let m = match phase {
            REGISTER => OwnedMessage::new(MessageType::Con, Code::POST, 0)
                .with_option(OptionNumber::URI_PATH, "rd")
                .with_option(OptionNumber::CONTENT_FORMAT, [40u8])
                .with_option(
                    OptionNumber::URI_QUERY,
                    format!("ep={}", endpoint_name(self.index)),
                )
                .with_option(OptionNumber::URI_QUERY, "lt=86400")
                .with_option(OptionNumber::URI_QUERY, "lwm2m=1.1")
                .with_payload("</>;rt=\"oma.lwm2m\";ct=112,</1/0>,</3/0>"),
            UPDATE => {
                let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0);
                for s in &self.location {
                    m = m.with_option(OptionNumber::URI_PATH, s.clone());
                }
                m
            }
            SEND => {
                let path: Path = "/3/0/9".parse().unwrap();
                let mut r = Record::new(path, Value::Integer(self.index as i64));
                r.time = Some(1_700_000_000.0 + self.index as f64);
                let body = mote_lwm2m::encode(Format::SenmlCbor, &Path::ROOT, &[r]).unwrap();
                let mut m = OwnedMessage::new(MessageType::Con, Code::POST, 0)
                    .with_option(OptionNumber::URI_PATH, "dp")
                    .with_payload(body);
                m.options.push_uint(OptionNumber::CONTENT_FORMAT, 112);
                m
            }
            _ => return,
        };
        self.request(now, m);
    }

    fn answer(&mut self, m: &OwnedMessage) -> OwnedMessage {
        let plain = |code| OwnedMessage::new(MessageType::Ack, code, 0);
        let path: Path = "/3/0/9".parse().unwrap();
        let registry = mote_lwm2m::object::ObjectRegistry::with_builtin();
        match m.code {
            Code::GET => {
                let r = Record::new(path, Value::Integer(self.value));
                let body = mote_lwm2m::encode(Format::SenmlCbor, &path, &[r]).unwrap();
                let mut a = plain(Code::CONTENT).with_payload(body);
                a.options.push_uint(OptionNumber::CONTENT_FORMAT, 112);
                a
            }
            Code::PUT => {
                match mote_lwm2m::decode(Format::SenmlCbor, &path, &m.payload, &registry) {
                    Ok(records) => {
                        if let Some(Value::Integer(v)) = records.first().map(|r| &r.value) {
                            self.value = *v;
                            self.writes += 1;
                            plain(Code::CHANGED)
                        } else {
                            plain(Code::BAD_REQUEST)
                        }
                    }
                    Err(_) => plain(Code::BAD_REQUEST),
                }
            }
            _ => plain(Code::METHOD_NOT_ALLOWED),
        }
    }
}

fn run_client(
    mut c: Client,
    epoch: Instant,
    phase: &AtomicU32,
    window: &Window,
    reports: &mpsc::Sender<Report>,
) {
    let mut current = IDLE;
    let mut in_flight = false;
    let mut buf = vec![0u8; 2048];
    loop {
        let now = epoch.elapsed();
        let p = phase.load(Ordering::Acquire);
        if p != current && !in_flight {
            current = p;
            if current == STOP {
                break;
            }
            if matches!(current, REGISTER | UPDATE | SEND) {
                window.acquire();
                in_flight = true;
                c.start(now, current);
            }
        }
        while let Some(t) = c.ep.poll_transmit() {
            c.socket.send_to(&t.datagram, t.peer).unwrap();
        }
        match c.socket.recv_from(&mut buf) {
            Ok((n, from)) => c.ep.handle(epoch.elapsed(), from, &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("client {}: {e}", c.index),
        }
        let now = epoch.elapsed();
        if c.ep.poll_timeout().is_some_and(|t| t <= now) {
            c.ep.handle_timeout(now);
        }
        while let Some(e) = c.ep.poll_event() {
            match e {
                Event::Request { id, message, .. } => {
                    let a = c.answer(&message.message);
                    c.ep.respond(now, id, a).unwrap();
                }
                Event::Response { message, .. } => {
                    if message.code == Code::CREATED {
                        c.location = message
                            .options
                            .get_all(OptionNumber::LOCATION_PATH)
                            .map(|o| o.as_str().unwrap().to_string())
                            .collect();
                    }
                    in_flight = false;
                    window.release();
                    let report = Report::Answered {
                        phase: current,
                        code: message.code,
                    };
                    reports.send(report).unwrap();
                }
                other => {
                    if in_flight {
                        in_flight = false;
                        window.release();
                    }
                    let what = format!("client {} in phase {current}: {other:?}", c.index);
                    reports.send(Report::Failed(what)).unwrap();
                }
            }
        }
        while let Some(t) = c.ep.poll_transmit() {
            c.socket.send_to(&t.datagram, t.peer).unwrap();
        }
    }
    reports
        .send(Report::Stopped {
            client: c.index,
            writes: c.writes,
            value: c.value,
        })
        .unwrap();
}

/// Waits for `n` answers of `phase`, all with `code`.
fn collect(rx: &mpsc::Receiver<Report>, n: usize, phase: u32, code: Code) {
    for _ in 0..n {
        match rx
            .recv_timeout(Duration::from_secs(120))
            .expect("a client hung")
        {
            Report::Answered { phase: p, code: c } if p == phase && c == code => {}
            Report::Failed(what) => panic!("{what}"),
            other => panic!("phase {phase}: {other:?}"),
        }
    }
}

/// Runs `n` REST requests on `workers` threads; request `i` is `make(i)`; each must be HTTP
/// 200 with CoAP `status`.
fn rest_phase(
    http_addr: SocketAddr,
    n: usize,
    workers: usize,
    status: &'static str,
    make: fn(usize) -> (&'static str, String, String),
) {
    let next = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let next = Arc::clone(&next);
            thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let (method, target, body) = make(i);
                    let (code, answer) = http(http_addr, method, &target, &body);
                    let want = format!("\"status\":\"{status}\"");
                    assert!(
                        code == 200 && answer.contains(&want),
                        "{method} {target}: HTTP {code} {answer}"
                    );
                    if method == "GET" {
                        // Each client answers its value: its index before the Write.
                        assert!(answer.contains(&format!("\"value\":{i}")), "{answer}");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mote = PathBuf::from(
        args.get(1)
            .expect("usage: udp_load MOTE_BINARY [CLIENTS [WINDOW [HTTP_WORKERS [IDLE_SECONDS]]]]"),
    );
    let arg = |i: usize, default: usize| args.get(i).map_or(default, |a| a.parse().unwrap());
    let n = arg(2, 1000);
    let window_size = arg(3, 64);
    let workers = arg(4, 16);
    let idle_seconds = arg(5, 0);
    assert!(
        (1..=1024).contains(&n),
        "the server is sized for 1,024 clients"
    );

    let dir = std::env::temp_dir().join(format!("mote-udp-load-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("baseline")).unwrap();
    // The server's memory with one context and nothing registered: the baseline.
    let one = [write_context(&dir.join("baseline"), 0)];
    let (mut baseline, _, _) = start_server(&mote, &one, &dir.join("baseline.log"));
    thread::sleep(Duration::from_millis(500));
    let rss_baseline = rss(baseline.id());
    baseline.kill().unwrap();
    baseline.wait().unwrap();

    let contexts: Vec<PathBuf> = (0..n).map(|i| write_context(&dir, i)).collect();
    let t = Instant::now();
    let (mut server, coap, http_addr) = start_server(&mote, &contexts, &dir.join("server.log"));
    let startup = t.elapsed();
    thread::sleep(Duration::from_millis(500));
    let rss_started = rss(server.id());

    let sends = Arc::new(Mutex::new(BTreeMap::new()));
    {
        let sends = Arc::clone(&sends);
        thread::spawn(move || watch_sends(http_addr, sends));
    }

    let epoch = Instant::now();
    let phase = Arc::new(AtomicU32::new(IDLE));
    let window = Arc::new(Window {
        free: Mutex::new(window_size),
        changed: Condvar::new(),
    });
    let (tx, rx) = mpsc::channel();
    let clients: Vec<_> = (0..n)
        .map(|i| {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(5)))
                .unwrap();
            let ctx =
                SecurityContext::new(&SecurityContextParams::new(&SECRET, &client_id(i), &[]))
                    .unwrap();
            let id = ContextId::of(&ctx);
            let mut oscore = Oscore::new(OscoreConfig { max_contexts: 1 }, Xs(i as u64 + 11));
            oscore.add_context(ctx).unwrap();
            let ep =
                Endpoint::with_protection(EndpointConfig::default(), Xs(i as u64 * 31 + 7), oscore)
                    .unwrap();
            let c = Client {
                index: i,
                ep,
                ctx: id,
                socket,
                server: coap,
                location: Vec::new(),
                value: i as i64,
                writes: 0,
            };
            let (phase, window, tx) = (Arc::clone(&phase), Arc::clone(&window), tx.clone());
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || run_client(c, epoch, &phase, &window, &tx))
                .unwrap()
        })
        .collect();

    let timed = |p: u32, code: Code| {
        let t = Instant::now();
        phase.store(p, Ordering::Release);
        collect(&rx, n, p, code);
        t.elapsed()
    };
    let register = timed(REGISTER, Code::CREATED);
    let update = timed(UPDATE, Code::CHANGED);
    phase.store(SERVE, Ordering::Release);
    let t = Instant::now();
    rest_phase(http_addr, n, workers, "2.05", |i| {
        let target = format!("/api/clients/{}/3/0/9?format=senml-cbor", endpoint_name(i));
        ("GET", target, String::new())
    });
    let reads = t.elapsed();
    let t = Instant::now();
    rest_phase(http_addr, n, workers, "2.04", |i| {
        let target = format!("/api/clients/{}/3/0/9?format=senml-cbor", endpoint_name(i));
        let body = format!(
            "[{{\"path\":\"/3/0/9\",\"type\":\"integer\",\"value\":{}}}]",
            1000 + i
        );
        ("PUT", target, body)
    });
    let writes = t.elapsed();
    let send = timed(SEND, Code::CHANGED);
    // The event stream may trail the 2.04s a little.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sends.lock().unwrap().len() < n && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let rss_loaded = rss(server.id());
    phase.store(STOP, Ordering::Release);
    for _ in 0..n {
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            Report::Stopped {
                client,
                writes,
                value,
            } => {
                assert_eq!(writes, 1, "client {client}: the Write applied exactly once");
                assert_eq!(
                    value,
                    1000 + client as i64,
                    "client {client}: the written value"
                );
            }
            other => panic!("after the run: {other:?}"),
        }
    }
    for c in clients {
        c.join().unwrap();
    }
    {
        let sends = sends.lock().unwrap();
        assert_eq!(
            sends.len(),
            n,
            "a Send record from every client on the event stream"
        );
        assert!(
            sends.values().all(|c| *c == 1),
            "each Send record exactly once"
        );
    }
    let rss_idle = (idle_seconds > 0).then(|| {
        thread::sleep(Duration::from_secs(idle_seconds as u64));
        rss(server.id())
    });
    server.kill().unwrap();
    server.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let all = register + update + reads + writes + send;
    println!(
        "clients: {n}, window {window_size}, HTTP workers {workers}; every answer checked, every Write applied once, every Send record once"
    );
    println!(
        "server start with {n} context files: {:.2} s",
        startup.as_secs_f64()
    );
    println!(
        "register: {:.0} registrations/s (each with its Appendix B.1.2 Echo round trip)",
        per_second(n, register)
    );
    println!("update: {:.0} OSCORE requests/s", per_second(n, update));
    println!(
        "read (REST → CoAP): {:.0} OSCORE requests/s",
        per_second(n, reads)
    );
    println!(
        "write (REST → CoAP): {:.0} OSCORE requests/s",
        per_second(n, writes)
    );
    println!("send: {:.0} OSCORE requests/s", per_second(n, send));
    println!(
        "overall: {:.0} OSCORE requests/s through the server (5 per client, {:.2} s)",
        per_second(5 * n, all),
        all.as_secs_f64()
    );
    let per = |b: u64| b.saturating_sub(rss_baseline) as f64 / (n.saturating_sub(1).max(1)) as f64;
    println!(
        "server VmRSS: {} KiB with 1 context; {} KiB with {n} contexts before any message ({:.0} B per client); {} KiB after the run ({:.0} B per registered client)",
        rss_baseline / 1024,
        rss_started / 1024,
        per(rss_started),
        rss_loaded / 1024,
        per(rss_loaded)
    );
    if let Some(idle) = rss_idle {
        println!(
            "server VmRSS after {idle_seconds} s idle: {} KiB ({:.0} B per idle registered client)",
            idle / 1024,
            per(idle)
        );
    }
}
