//! The attack suite (hardening issue, findings 1–14; 15, the proxy's flow table, from the
//! follow-up review): bounded, loopback-only attacks against the real `mote serve`, `mote
//! proxy` and `mote coap` processes, each asserting the pass criteria of the finding it
//! guards, and a table of the results.
//!
//! Why an integration test of the `mote` crate and not a separate program: cargo builds the
//! binary once for it (`env!("CARGO_BIN_EXE_mote")`), the suite needs no second build
//! profile, no extra crate in the workspace and no argument parsing, and `cargo test` already
//! gives it a timeout-free harness with captured panics. It is `#[ignore]`d so the workspace
//! test run stays quick; `scripts/test.sh` runs it as its own step ("attack suite"):
//! `cargo test -p mote --all-features --test attack -- --ignored --nocapture --test-threads=1`.
//!
//! Everything the attacks send and every answer they check is built and parsed here by hand
//! (RFC 7252 §3 message format, RFC 8323 §3.2 frames, RFC 8613 §6.1 OSCORE option), so nothing
//! of the code under test encodes the attack or decodes the verdict.
//!
//! Pass criteria (the issue's list):
//! - an honest client's request is answered within [`HONEST_DEADLINE`] (2 s) during and after
//!   each attack (any response code counts as an answer; a refusal is an answer);
//! - the server's resident memory (VmRSS in /proc/PID/status) grows less than the bound the
//!   attack states;
//! - no (kid, Partial IV) pair is sent twice with different content by concurrent `mote coap`
//!   processes sharing one context file, nor after its sequence file is deleted;
//! - the EDHOC handshake made during a message_1 flood succeeds.
//!
//! Timing is real here, unlike the sans-IO tests: the suite measures a running system. Each
//! attack is bounded in time (the whole suite about 2.5 minutes on 2 cores) and in traffic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// An honest request must be answered within this (the issue's criterion).
const HONEST_DEADLINE: Duration = Duration::from_secs(2);

// Codes (RFC 7252 §12.1): class << 5 | detail.
const GET: u8 = 0x01;
const POST: u8 = 0x02;
const PUT: u8 = 0x03;
const CREATED: u8 = 0x41;
const CONTINUE: u8 = 0x5f; // 2.31 (RFC 7959 §2.9.1)
const UNAUTHORIZED: u8 = 0x81;
const SERVICE_UNAVAILABLE: u8 = 0xa3; // 5.03
const CSM: u8 = 0xe1; // 7.01 (RFC 8323 §5.3)

// Option numbers (RFC 7252 §5.10, RFC 7641 §2, RFC 7959 §2.1, RFC 8613 §2, RFC 9175 §2.2).
const OBSERVE: u16 = 6;
const OSCORE: u16 = 9;
const URI_PATH: u16 = 11;
const BLOCK2: u16 = 23;
const BLOCK1: u16 = 27;
const ECHO: u16 = 252;

/// One attack: the finding(s) it guards, its name, and the attack.
type Attack = (&'static str, &'static str, fn() -> Verdict);

/// What one attack found: `Ok(detail)` when every criterion held, `Err(reason)` otherwise.
type Verdict = Result<String, String>;

/// Fails the attack with a message when `cond` does not hold.
macro_rules! check {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Messages, built and parsed by hand.

/// One option header nibble and its extension bytes (RFC 7252 §3.1).
fn nibble(v: usize) -> (u8, Vec<u8>) {
    match v {
        0..=12 => (v as u8, vec![]),
        13..=268 => (13, vec![(v - 13) as u8]),
        _ => (14, ((v - 269) as u16).to_be_bytes().to_vec()),
    }
}

/// Options in ascending order, delta-encoded (RFC 7252 §3.1).
fn encode_options(options: &[(u16, &[u8])]) -> Vec<u8> {
    let mut sorted = options.to_vec();
    sorted.sort_by_key(|(n, _)| *n);
    let mut out = vec![];
    let mut last = 0;
    for (number, value) in sorted {
        let (d, dx) = nibble(usize::from(number - last));
        let (l, lx) = nibble(value.len());
        out.push(d << 4 | l);
        out.extend(dx);
        out.extend(lx);
        out.extend_from_slice(value);
        last = number;
    }
    out
}

/// Decoded options: (number, value), in order.
type Options = Vec<(u16, Vec<u8>)>;

/// Options and payload after the marker (RFC 7252 §3.1); `None` when malformed.
fn decode_options(mut rest: &[u8]) -> Option<(Options, Vec<u8>)> {
    let mut options = vec![];
    let mut number = 0u16;
    fn ext(n: u8, rest: &mut &[u8]) -> Option<u16> {
        Some(match n {
            13 => {
                let v = u16::from(*rest.first()?) + 13;
                *rest = rest.get(1..)?;
                v
            }
            14 => {
                let v = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]).checked_add(269)?;
                *rest = rest.get(2..)?;
                v
            }
            15 => return None,
            n => u16::from(n),
        })
    }
    while let Some(&b) = rest.first() {
        rest = &rest[1..];
        if b == 0xff {
            return Some((options, rest.to_vec()));
        }
        number = number.checked_add(ext(b >> 4, &mut rest)?)?;
        let len = usize::from(ext(b & 0xf, &mut rest)?);
        options.push((number, rest.get(..len)?.to_vec()));
        rest = &rest[len..];
    }
    Some((options, vec![]))
}

/// A UDP request (RFC 7252 §3): `mtype` 0 CON, 1 NON.
fn udp_request(
    mtype: u8,
    code: u8,
    mid: u16,
    token: &[u8],
    options: &[(u16, &[u8])],
    payload: &[u8],
) -> Vec<u8> {
    let mut m = vec![0x40 | mtype << 4 | token.len() as u8, code];
    m.extend(mid.to_be_bytes());
    m.extend_from_slice(token);
    m.extend(encode_options(options));
    if !payload.is_empty() {
        m.push(0xff);
        m.extend_from_slice(payload);
    }
    m
}

/// A parsed UDP message.
#[derive(Debug, Clone)]
struct UdpMessage {
    mtype: u8,
    code: u8,
    mid: u16,
    token: Vec<u8>,
    options: Vec<(u16, Vec<u8>)>,
}

impl UdpMessage {
    fn parse(d: &[u8]) -> Option<Self> {
        let (&b0, rest) = d.split_first()?;
        if b0 >> 6 != 1 {
            return None;
        }
        let tkl = usize::from(b0 & 0xf);
        let code = *rest.first()?;
        let mid = u16::from_be_bytes([*rest.get(1)?, *rest.get(2)?]);
        let token = rest.get(3..3 + tkl)?.to_vec();
        let (options, _payload) = decode_options(rest.get(3 + tkl..)?)?;
        Some(Self {
            mtype: (b0 >> 4) & 3,
            code,
            mid,
            token,
            options,
        })
    }

    fn option(&self, number: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, v)| v.as_slice())
    }

    fn uri_path(&self) -> Vec<&[u8]> {
        self.options
            .iter()
            .filter(|(n, _)| *n == URI_PATH)
            .map(|(_, v)| v.as_slice())
            .collect()
    }
}

/// A CoAP over TCP frame (RFC 8323 §3.2).
fn tcp_frame(code: u8, token: &[u8], options: &[(u16, &[u8])], payload: &[u8]) -> Vec<u8> {
    let mut body = encode_options(options);
    if !payload.is_empty() {
        body.push(0xff);
        body.extend_from_slice(payload);
    }
    let len = body.len();
    let mut f = vec![];
    match len {
        0..=12 => f.push((len as u8) << 4 | token.len() as u8),
        13..=268 => f.extend([13 << 4 | token.len() as u8, (len - 13) as u8]),
        269..=65_804 => {
            f.push(14 << 4 | token.len() as u8);
            f.extend(((len - 269) as u16).to_be_bytes());
        }
        _ => {
            f.push(15 << 4 | token.len() as u8);
            f.extend(((len - 65_805) as u32).to_be_bytes());
        }
    }
    f.push(code);
    f.extend_from_slice(token);
    f.extend(body);
    f
}

/// Splits complete frames off the front of `bytes`: (code, token) of each.
fn take_frames(bytes: &mut Vec<u8>) -> Vec<(u8, Vec<u8>)> {
    let mut out = vec![];
    while let Some(&first) = bytes.first() {
        let (len, ext) = match first >> 4 {
            13 if bytes.len() >= 2 => (usize::from(bytes[1]) + 13, 1),
            14 if bytes.len() >= 3 => (
                usize::from(u16::from_be_bytes([bytes[1], bytes[2]])) + 269,
                2,
            ),
            15 if bytes.len() >= 5 => (
                u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize + 65_805,
                4,
            ),
            13..=15 => break,
            n => (usize::from(n), 0),
        };
        let tkl = usize::from(first & 0xf);
        let total = 1 + ext + 1 + tkl + len;
        if bytes.len() < total {
            break;
        }
        let code = bytes[1 + ext];
        let token = bytes[2 + ext..2 + ext + tkl].to_vec();
        out.push((code, token));
        bytes.drain(..total);
    }
    out
}

/// The Uri-Path options of `/.well-known/core`, which every server answers unprotected.
const WELL_KNOWN_CORE: [(u16, &[u8]); 2] = [(URI_PATH, b".well-known"), (URI_PATH, b"core")];

/// A small deterministic generator (xorshift32) for tokens, Message IDs and junk: the
/// suite's traffic is the same on every run.
struct Xorshift(u32);

impl Xorshift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A process-wide counter for tokens and Message IDs of honest requests.
static SEQ: AtomicUsize = AtomicUsize::new(1);

fn fresh_token() -> [u8; 8] {
    let n = SEQ.fetch_add(1, Ordering::SeqCst) as u64;
    (n ^ 0x5a5a_0000_0000_0000).to_be_bytes()
}

// ---------------------------------------------------------------------------------------------
// Processes.

/// A `mote` child process, killed on drop.
struct Mote {
    child: Child,
    ports: Vec<u16>,
}

/// Where a server's stderr goes.
enum Stderr {
    /// Discarded.
    Null,
    /// A pipe nobody reads (finding 8); taken with [`Mote::take_stderr`].
    Held,
}

impl Mote {
    /// Starts `mote ARGS…` with `env`, reading `ports` port numbers from stdout (one a line,
    /// `--print-port`). The rest of stdout is drained by a thread.
    fn start(args: &[&str], ports: usize, stderr: Stderr, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mote"));
        cmd.args(args).stdout(Stdio::piped()).stdin(Stdio::null());
        cmd.stderr(match stderr {
            Stderr::Null => Stdio::null(),
            Stderr::Held => Stdio::piped(),
        });
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("mote starts");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let ports = (0..ports)
            .map(|_| {
                let mut line = String::new();
                out.read_line(&mut line).unwrap();
                line.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{args:?}: no port: {line:?}"))
            })
            .collect();
        std::thread::spawn(move || {
            let mut sink = vec![];
            let _ = out.read_to_end(&mut sink);
        });
        Self { child, ports }
    }

    /// `mote serve --print-port` with `args`; UDP and TCP listeners as given.
    fn serve(listen: &[&str], args: &[&str]) -> Self {
        let mut all = vec!["serve", "--print-port"];
        for l in listen {
            all.extend(["--listen", l]);
        }
        all.extend_from_slice(args);
        Self::start(&all, listen.len(), Stderr::Null, &[])
    }

    fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// VmRSS of the process in KiB (/proc/PID/status).
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the process is still running.
    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn take_stderr(&mut self) -> std::process::ChildStderr {
        self.child.stderr.take().unwrap()
    }
}

impl Drop for Mote {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `mote ARGS…` to completion, killing it after `limit`: (exit status or `None` when it
/// had to be killed, stderr).
fn run_bounded(args: &[&str], limit: Duration) -> (Option<ExitStatus>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mote"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, reader.join().unwrap_or_default())
}

/// Memory growth check: `after - before` below `bound_mib`.
fn memory(before: u64, after: u64, bound_mib: u64) -> Verdict {
    let grown = after.saturating_sub(before);
    check!(
        grown < bound_mib * 1024,
        "VmRSS grew {} KiB ({before} → {after}), bound {bound_mib} MiB",
        grown
    );
    Ok(format!("VmRSS +{} KiB < {bound_mib} MiB", grown))
}

/// A scratch directory for context and credential files.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mote-attack-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `text` to `dir/name` with `mode`; the path as a string.
fn write_file(dir: &Path, name: &str, text: &str, mode: u32) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p.to_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// The honest client.

/// One honest CON GET over UDP (`path`, default `/.well-known/core`): retransmitted every
/// 500 ms as a client may, answered (any code, piggybacked or separate) within
/// [`HONEST_DEADLINE`]. Returns the time it took and the code.
fn honest_udp_at(port: u16, path: &[(u16, &[u8])]) -> Result<(Duration, u8), String> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let token = fresh_token();
    let mid = SEQ.fetch_add(1, Ordering::SeqCst) as u16;
    let request = udp_request(0, GET, mid, &token, path, b"");
    let start = Instant::now();
    let mut last_sent = None::<Instant>;
    let mut buf = [0u8; 2048];
    while start.elapsed() < HONEST_DEADLINE {
        if last_sent.is_none_or(|t| t.elapsed() >= Duration::from_millis(500)) {
            let _ = s.send_to(&request, ("127.0.0.1", port));
            last_sent = Some(Instant::now());
        }
        let Ok(n) = s.recv(&mut buf) else { continue };
        let Some(m) = UdpMessage::parse(&buf[..n]) else {
            continue;
        };
        if m.token == token && m.code != 0 {
            if m.mtype == 0 {
                // A separate CON response: acknowledge it (RFC 7252 §5.2.2).
                let _ = s.send_to(
                    &[0x60, 0, (m.mid >> 8) as u8, m.mid as u8],
                    ("127.0.0.1", port),
                );
            }
            return Ok((start.elapsed(), m.code));
        }
    }
    Err(format!(
        "honest UDP GET to port {port} unanswered within 2 s"
    ))
}

fn honest_udp(port: u16) -> Result<Duration, String> {
    honest_udp_at(port, &WELL_KNOWN_CORE).map(|(d, _)| d)
}

/// One honest CoAP over TCP exchange: connect, CSM, GET `/.well-known/core`, answered within
/// [`HONEST_DEADLINE`] from the connect.
fn honest_tcp(port: u16) -> Result<Duration, String> {
    let start = Instant::now();
    let fail = |what: &str| format!("honest TCP GET to port {port}: {what}");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut t =
        TcpStream::connect_timeout(&addr, HONEST_DEADLINE).map_err(|e| fail(&e.to_string()))?;
    t.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let token = fresh_token();
    let mut out = tcp_frame(CSM, b"", &[], b"");
    out.extend(tcp_frame(GET, &token, &WELL_KNOWN_CORE, b""));
    t.write_all(&out).map_err(|e| fail(&e.to_string()))?;
    let mut bytes = vec![];
    let mut buf = [0u8; 4096];
    while start.elapsed() < HONEST_DEADLINE {
        match t.read(&mut buf) {
            Ok(0) => return Err(fail("connection closed")),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(fail(&e.to_string())),
        }
        if take_frames(&mut bytes)
            .iter()
            .any(|(c, tok)| *tok == token && *c >> 5 >= 2)
        {
            return Ok(start.elapsed());
        }
    }
    Err(fail("unanswered within 2 s"))
}

/// Honest requests in a loop while an attack runs (UDP and/or TCP, every 250 ms).
struct Probe {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(usize, Duration, Vec<String>)>,
}

impl Probe {
    fn start(udp: Option<u16>, tcp: Option<u16>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let (mut n, mut worst, mut failures) = (0, Duration::ZERO, vec![]);
            while !s.load(Ordering::SeqCst) {
                let results = udp.map(honest_udp).into_iter().chain(tcp.map(honest_tcp));
                for r in results {
                    n += 1;
                    match r {
                        Ok(d) => worst = worst.max(d),
                        Err(e) => failures.push(e),
                    }
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            (n, worst, failures)
        });
        Self { stop, handle }
    }

    /// Stops the probe: `Err` with the first failures if any honest request went unanswered.
    fn finish(self) -> Verdict {
        self.stop.store(true, Ordering::SeqCst);
        let (n, worst, failures) = self.handle.join().unwrap();
        check!(n > 0, "no honest request was made");
        check!(
            failures.is_empty(),
            "{} of {n} honest requests failed during the attack, e.g. {}",
            failures.len(),
            failures[0]
        );
        Ok(format!(
            "{n} honest requests answered, slowest {} ms",
            worst.as_millis()
        ))
    }
}

/// Honest UDP (and TCP when given) requests after an attack.
fn honest_after(udp: u16, tcp: Option<u16>) -> Verdict {
    let d = honest_udp(udp).map_err(|e| format!("after the attack: {e}"))?;
    if let Some(tcp) = tcp {
        honest_tcp(tcp).map_err(|e| format!("after the attack: {e}"))?;
    }
    Ok(format!("answered after in {} ms", d.as_millis()))
}

/// Runs `threads` attacker threads (`f(thread index)`) to completion.
fn flood(threads: usize, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let f = f.clone();
            std::thread::spawn(move || f(i))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

// ---------------------------------------------------------------------------------------------
// The attacks.

/// Finding 1: a TCP client that registers observations and then stops reading froze the whole
/// server (writes under the server-wide lock). Criterion: honest UDP and TCP requests answered
/// within 2 s while the non-reader's socket is full, and after; memory below 32 MiB growth.
fn tcp_client_that_stops_reading() -> Verdict {
    let server = Mote::serve(
        &["127.0.0.1:0", "coap+tcp://127.0.0.1:0"],
        &["--notify-ms", "10"],
    );
    let (udp, tcp) = (server.port(0), server.port(1));
    honest_after(udp, Some(tcp))?;
    let before = server.rss_kib();
    let mut stuck = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    let mut out = tcp_frame(CSM, b"", &[], b"");
    // Observations of the 4 KiB opaque resource, notified every 10 ms, and then 4000 GETs of
    // it: megabytes of answers into a socket whose owner never reads.
    let big: [(u16, &[u8]); 4] = [
        (URI_PATH, b"19"),
        (URI_PATH, b"0"),
        (URI_PATH, b"0"),
        (URI_PATH, b"0"),
    ];
    for i in 0..8u8 {
        let mut o = big.to_vec();
        o.push((OBSERVE, b""));
        out.extend(tcp_frame(GET, &[0x0b, i], &o, b""));
    }
    for i in 0..4000u16 {
        out.extend(tcp_frame(GET, &i.to_be_bytes(), &big, b""));
    }
    stuck
        .set_write_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let _ = stuck.write_all(&out);
    let probe = Probe::start(Some(udp), Some(tcp));
    std::thread::sleep(Duration::from_secs(6));
    let during = probe.finish()?;
    let after = honest_after(udp, Some(tcp))?;
    let mem = memory(before, server.rss_kib(), 32)?;
    drop(stuck);
    Ok(format!("{during}; {after}; {mem}"))
}

/// Finding 2: Block1 reassembly without count, size or age limit (200 MB from one socket in
/// 0.3 s), and a block's payload longer than its SZX accepted. 48 attacker sockets each push
/// up to 400 KiB of never-finished Block1 uploads (M=1, 1 KiB blocks, paced by the answers);
/// criterion: growth below 16 MiB (an unbounded server buffers ~19 MiB), honest requests
/// answered; a 100-byte payload in a 16-byte block (SZX 0) is not accepted (no 2.31).
fn block1_reassembly_flood() -> Verdict {
    let server = Mote::serve(&["127.0.0.1:0"], &[]);
    let udp = server.port(0);
    honest_after(udp, None)?;
    // The oversized block (RFC 7959 §2.3: the payload of a block with M=1 is exactly its size).
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(HONEST_DEADLINE)).unwrap();
    let path: [(u16, &[u8]); 2] = [(URI_PATH, b"data"), (URI_PATH, b"oversized")];
    let mut o = path.to_vec();
    o.push((BLOCK1, &[0x08])); // NUM 0, M=1, SZX 0 (16 bytes)
    s.send_to(
        &udp_request(0, PUT, 1, b"\x01", &o, &[7u8; 100]),
        ("127.0.0.1", udp),
    )
    .unwrap();
    let mut buf = [0u8; 2048];
    let n = s
        .recv(&mut buf)
        .map_err(|_| "no answer to the oversized block".to_string())?;
    let code = UdpMessage::parse(&buf[..n]).map(|m| m.code).unwrap_or(0);
    check!(
        code != CONTINUE && code >> 5 != 2,
        "a 100-byte payload in a 16-byte block was accepted (code {}.{:02})",
        code >> 5,
        code & 31
    );
    let before = server.rss_kib();
    let probe = Probe::start(Some(udp), None);
    let continued = Arc::new(AtomicUsize::new(0));
    let c = continued.clone();
    flood(48, move |i| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut rng = Xorshift(0x9e37_79b9 ^ (i as u32 + 1));
        let block = rng.bytes(1024);
        let mut sent = 0u32;
        let mut mid = (i as u16) << 10;
        'paths: for p in 0.. {
            let name = format!("flood-{i}-{p}");
            for num in 0u32..400 {
                if sent >= 400 {
                    break 'paths;
                }
                sent += 1;
                mid = mid.wrapping_add(1);
                let value = (num << 4 | 0x08 | 6).to_be_bytes();
                let value = &value[value.iter().position(|&b| b != 0).unwrap_or(3)..];
                let o: [(u16, &[u8]); 3] = [
                    (URI_PATH, b"data"),
                    (URI_PATH, name.as_bytes()),
                    (BLOCK1, value),
                ];
                let token = (mid as u32).to_be_bytes();
                let _ = s.send_to(
                    &udp_request(0, PUT, mid, &token, &o, &block),
                    ("127.0.0.1", udp),
                );
                let mut buf = [0u8; 2048];
                match s
                    .recv(&mut buf)
                    .ok()
                    .and_then(|n| UdpMessage::parse(&buf[..n]))
                {
                    Some(m) if m.code == CONTINUE => {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => continue 'paths,
                }
            }
        }
    });
    let during = probe.finish()?;
    let after = honest_after(udp, None)?;
    let mem = memory(before, server.rss_kib(), 16)?;
    Ok(format!(
        "oversized block {}.{:02}; {} blocks of 1 KiB accepted; {during}; {after}; {mem}",
        code >> 5,
        code & 31,
        continued.load(Ordering::SeqCst)
    ))
}

/// Finding 3: TCP connections uncapped, no idle timeout (150 connections holding unfinished
/// 1 MB frames took 160 MB). First 8 connections send a CSM and then nothing (checked to be
/// accepted); then 150 connections each start a frame and stop (half announce 1 MB, half
/// 1,100 bytes of which they send 600) and 40 more send only a CSM. Criteria: growth below
/// 32 MiB; honest UDP requests answered meanwhile; at most 64 attacker connections still open
/// 2 s later (the stated cap); every idle connection closed by the server within 30 s, after
/// which an honest TCP client is served within 2 s.
fn tcp_connection_flood() -> Verdict {
    const CAP: usize = 64;
    const IDLE_BOUND: Duration = Duration::from_secs(30);
    let server = Mote::serve(&["127.0.0.1:0", "coap+tcp://127.0.0.1:0"], &[]);
    let (udp, tcp) = (server.port(0), server.port(1));
    honest_after(udp, Some(tcp))?;
    let connect = |bytes: &[u8]| {
        let mut t = TcpStream::connect(("127.0.0.1", tcp)).ok()?;
        t.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let _ = t.write_all(bytes);
        Some(t)
    };
    let csm = tcp_frame(CSM, b"", &[], b"");
    let mut idle: Vec<_> = (0..8).filter_map(|_| connect(&csm)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let accepted = idle.iter().filter(|t| still_open(t)).count();
    check!(accepted > 0, "no idle connection was accepted at all");
    let before = server.rss_kib();
    let probe = Probe::start(Some(udp), None);
    // Len nibble 15: a 4-byte extended length, 1,000,000 bytes in all (RFC 8323 §3.2).
    let mut huge = csm.clone();
    huge.push(15 << 4 | 1);
    huge.extend(((1_000_000 - 65_805) as u32).to_be_bytes());
    huge.extend([PUT, 0x01]);
    huge.extend(vec![0x42; 8 * 1024]);
    // Len nibble 14: 1,100 bytes announced (within a 1152-byte Max-Message-Size), 600 sent.
    let mut short = csm.clone();
    short.push(14 << 4 | 1);
    short.extend(((1_100 - 269) as u16).to_be_bytes());
    short.extend([PUT, 0x01, 0xff]);
    short.extend(vec![0x42; 600]);
    let mut conns: Vec<_> = (0..150)
        .filter_map(|i| connect(if i % 2 == 0 { &huge } else { &short }))
        .collect();
    conns.extend((0..40).filter_map(|_| connect(&csm)));
    std::thread::sleep(Duration::from_secs(2));
    let open = |conns: &[TcpStream]| conns.iter().filter(|t| still_open(t)).count();
    let open_now = open(&conns) + open(&idle);
    let mem = memory(before, server.rss_kib(), 32)?;
    let during = probe.finish()?;
    check!(
        open_now <= CAP,
        "{open_now} attacker connections open 2 s after the flood (cap {CAP})"
    );
    // Every connection that stopped sending: closed by the server within IDLE_BOUND.
    let start = Instant::now();
    idle.extend(conns);
    let mut idle_open = open(&idle);
    while idle_open > 0 && start.elapsed() < IDLE_BOUND {
        std::thread::sleep(Duration::from_millis(500));
        idle_open = open(&idle);
    }
    check!(
        idle_open == 0,
        "{idle_open} idle connections (a CSM or half a frame, then nothing) still open after {} s; {during}; {mem}",
        IDLE_BOUND.as_secs()
    );
    let after = honest_after(udp, Some(tcp))?;
    Ok(format!(
        "{accepted} idle accepted, {open_now} open after the flood (cap {CAP}); all idle closed after {} s; {during}; {after}; {mem}",
        start.elapsed().as_secs()
    ))
}

/// Whether the server still holds the connection open (drains what it sent).
fn still_open(t: &TcpStream) -> bool {
    t.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
    let mut buf = [0u8; 4096];
    let mut r = t;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return true;
            }
            Err(_) => return false,
        }
    }
}

// RFC 9529 Trace 2's credentials (CCS, P-256, kid 0x2b / 0x32) and keys.
const CRED_I: &str = "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8";
const CRED_R: &str = "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072";
const SK_I: &str = "fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b";
const SK_R: &str = "72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac";

/// RFC 9529 §3.3 message_1 (method 3, SUITES_I [6, 2], a valid P-256 G_X, C_I -24), after the
/// CBOR `true` that marks a message_1 on `/.well-known/edhoc` (RFC 9528 Appendix A.2).
const MESSAGE_1: [u8; 40] = [
    0xf5, 0x03, 0x82, 0x06, 0x02, 0x58, 0x20, 0x8a, 0xf6, 0xf4, 0x30, 0xeb, 0xe1, 0x8d, 0x34, 0x18,
    0x40, 0x17, 0xa9, 0xa1, 0x1b, 0xf5, 0x11, 0xc8, 0xdf, 0xf8, 0xf8, 0x34, 0x73, 0x0b, 0x96, 0xc1,
    0xb7, 0xc8, 0xdb, 0xca, 0x2f, 0xc3, 0xb6, 0x37,
];

/// A credential file (docs/edhoc-credentials.md) with mode 0600.
fn edhoc_file(dir: &Path, name: &str, cred: &str, key: &str, peer: &str) -> String {
    let v = serde_json::json!({
        "methods": [3], "suites": [2],
        "credential": {"ccs": cred}, "private_key": key,
        "peers": [{"ccs": peer}],
    });
    write_file(dir, name, &v.to_string(), 0o600)
}

/// Finding 4: a message_1 flood of ~4,000/s locked out every legitimate handshake. Sixteen
/// attacker hosts send RFC 9529's message_1 as fast as they can (capped at 6,000/s in all)
/// while three honest `mote coap --edhoc` handshakes run one after the other. Criteria: each
/// handshake succeeds (within its 15 s timeout), honest UDP requests to /.well-known/core are
/// answered within 2 s, growth below 32 MiB.
fn edhoc_message_1_flood() -> Verdict {
    let dir = scratch("edhoc");
    let server_file = edhoc_file(&dir, "server.json", CRED_R, SK_R, CRED_I);
    let client_file = edhoc_file(&dir, "client.json", CRED_I, SK_I, CRED_R);
    let server = Mote::serve(&["127.0.0.1:0"], &["--edhoc", &server_file]);
    let udp = server.port(0);
    honest_after(udp, None)?;
    let uri = format!("coap://127.0.0.1:{udp}/3/0/0");
    let (status, err) = run_bounded(
        &[
            "coap",
            "get",
            &uri,
            "--edhoc",
            &client_file,
            "--timeout",
            "15",
        ],
        Duration::from_secs(20),
    );
    check!(
        status.is_some_and(|s| s.success()),
        "control handshake without flood failed: {err}"
    );
    let before = server.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let (st, se) = (stop.clone(), sent.clone());
    let flooder = std::thread::spawn(move || {
        // 16 attacker hosts (127.0.0.2 … 127.0.0.17: all of 127/8 is loopback on Linux), none
        // of them the honest client's 127.0.0.1: admission counts per source address
        // (RFC 9528 §9.7), so this is the many-host flood the per-source bound alone cannot
        // stop; past the validation threshold they are sent Echo challenges they never answer.
        flood(16, move |i| {
            let s = UdpSocket::bind((std::net::Ipv4Addr::new(127, 0, 0, 2 + i as u8), 0)).unwrap();
            let edhoc: [(u16, &[u8]); 2] = [(URI_PATH, b".well-known"), (URI_PATH, b"edhoc")];
            let mut mid = (i as u16) << 12;
            let start = Instant::now();
            let mut n = 0u64;
            while !st.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(60) {
                mid = mid.wrapping_add(1);
                let _ = s.send_to(
                    &udp_request(1, POST, mid, &mid.to_be_bytes(), &edhoc, &MESSAGE_1),
                    ("127.0.0.1", udp),
                );
                n += 1;
                se.fetch_add(1, Ordering::Relaxed);
                // At most 375/s per socket, 6,000/s in all.
                let due = Duration::from_micros(n * 1_000_000 / 375);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        });
    });
    std::thread::sleep(Duration::from_millis(500));
    let probe = Probe::start(Some(udp), None);
    let mut handshakes = vec![];
    for _ in 0..3 {
        let t = Instant::now();
        let (status, err) = run_bounded(
            &[
                "coap",
                "get",
                &uri,
                "--edhoc",
                &client_file,
                "--timeout",
                "15",
            ],
            Duration::from_secs(20),
        );
        handshakes.push((status.is_some_and(|s| s.success()), t.elapsed(), err));
    }
    let during = probe.finish();
    stop.store(true, Ordering::SeqCst);
    let _ = flooder.join();
    let sent = sent.load(Ordering::SeqCst);
    let failed: Vec<_> = handshakes.iter().filter(|h| !h.0).collect();
    check!(
        failed.is_empty(),
        "{} of 3 handshakes failed during a flood of {sent} message_1, e.g. {}",
        failed.len(),
        failed[0].2.trim()
    );
    let during = during?;
    let after = honest_after(udp, None)?;
    let mem = memory(before, server.rss_kib(), 32)?;
    let slowest = handshakes.iter().map(|h| h.1).max().unwrap_or_default();
    Ok(format!(
        "3 handshakes during {sent} message_1, slowest {} ms; {during}; {after}; {mem}",
        slowest.as_millis()
    ))
}

/// Finding 5, part 1: Observe registrations were unlimited (50k in 3 s, a reflection
/// amplifier). 32 sockets each try 32 registrations of /3/0/13; criteria: at most 128 of the
/// 1,024 accepted (a 2.05 with Observe, RFC 7641 §4.1; a refused one has none), honest
/// requests answered, growth below 16 MiB.
fn observe_registration_flood() -> Verdict {
    const BOUND: usize = 128;
    let server = Mote::serve(&["127.0.0.1:0"], &[]);
    let udp = server.port(0);
    honest_after(udp, None)?;
    let before = server.rss_kib();
    let probe = Probe::start(Some(udp), None);
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    flood(32, move |i| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let o: [(u16, &[u8]); 4] = [
            (OBSERVE, b""),
            (URI_PATH, b"3"),
            (URI_PATH, b"0"),
            (URI_PATH, b"13"),
        ];
        for k in 0..32u16 {
            let mid = (i as u16) << 8 | k;
            let _ = s.send_to(
                &udp_request(0, GET, mid, &mid.to_be_bytes(), &o, b""),
                ("127.0.0.1", udp),
            );
        }
        let mut seen = BTreeSet::new();
        let mut buf = [0u8; 2048];
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            let Ok(n) = s.recv(&mut buf) else { break };
            if let Some(m) = UdpMessage::parse(&buf[..n]) {
                if m.mtype == 0 {
                    let _ = s.send_to(
                        &[0x60, 0, (m.mid >> 8) as u8, m.mid as u8],
                        ("127.0.0.1", udp),
                    );
                }
                if m.code >> 5 == 2 && m.option(OBSERVE).is_some() {
                    seen.insert(m.token);
                }
            }
        }
        a.fetch_add(seen.len(), Ordering::SeqCst);
        // The socket closes: 'departed' observers, as in the finding.
    });
    let accepted = accepted.load(Ordering::SeqCst);
    let during = probe.finish()?;
    let after = honest_after(udp, None)?;
    let mem = memory(before, server.rss_kib(), 16)?;
    check!(
        accepted <= BOUND,
        "{accepted} of 1024 Observe registrations accepted (bound {BOUND})"
    );
    Ok(format!(
        "{accepted} of 1024 registrations accepted; {during}; {after}; {mem}"
    ))
}

/// Finding 5, part 2: notifications were only non-confirmable, so an observer that never
/// answers was never noticed. A silent observer registers over NON at the start of the suite
/// and never acknowledges anything; criterion: [`SILENT_OBSERVER_BOUND`] after its
/// registration it receives no notification in a 5 s window (dropped, RFC 7641 §4.5, after an
/// unacknowledged confirmable notification).
struct SilentObserver {
    _server: Mote,
    socket: UdpSocket,
    registered: Instant,
    first: Result<(), String>,
}

/// How long after registering a silent observer must have been dropped: a confirmable
/// notification at least every ~20 s plus its full retransmission span (RFC 7252 §4.8.2,
/// MAX_TRANSMIT_WAIT 93 s).
const SILENT_OBSERVER_BOUND: Duration = Duration::from_secs(120);

impl SilentObserver {
    fn register() -> Self {
        let server = Mote::serve(&["127.0.0.1:0"], &["--notify-ms", "200"]);
        let udp = server.port(0);
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(HONEST_DEADLINE)).unwrap();
        let o: [(u16, &[u8]); 4] = [
            (OBSERVE, b""),
            (URI_PATH, b"3"),
            (URI_PATH, b"0"),
            (URI_PATH, b"13"),
        ];
        socket
            .send_to(
                &udp_request(1, GET, 7, b"silent", &o, b""),
                ("127.0.0.1", udp),
            )
            .unwrap();
        let mut buf = [0u8; 2048];
        let first = match socket
            .recv(&mut buf)
            .ok()
            .and_then(|n| UdpMessage::parse(&buf[..n]))
        {
            Some(m) if m.option(OBSERVE).is_some() => Ok(()),
            other => Err(format!("the observation was not registered: {other:?}")),
        };
        Self {
            _server: server,
            socket,
            registered: Instant::now(),
            first,
        }
    }

    fn verdict(self) -> Verdict {
        self.first?;
        let wait = SILENT_OBSERVER_BOUND.saturating_sub(self.registered.elapsed());
        std::thread::sleep(wait);
        // What queued in the socket's buffer meanwhile is the past; count the next 5 s.
        self.socket.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 2048];
        let mut earlier = 0;
        while self.socket.recv(&mut buf).is_ok() {
            earlier += 1;
        }
        self.socket.set_nonblocking(false).unwrap();
        self.socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let start = Instant::now();
        let mut late = 0;
        while start.elapsed() < Duration::from_secs(5) {
            if self.socket.recv(&mut buf).is_ok() {
                late += 1;
            }
        }
        check!(
            late == 0,
            "a silent observer still gets notifications {} s after registering ({late} in 5 s)",
            SILENT_OBSERVER_BOUND.as_secs()
        );
        Ok(format!(
            "{earlier} notifications buffered, none after {} s",
            SILENT_OBSERVER_BOUND.as_secs()
        ))
    }
}

/// A UDP server that answers every confirmable request at once with a piggybacked 2.05
/// (RFC 7252 §5.2.1) and keeps no per-peer state: the upstream of an attack on the proxy's
/// own tables (`mote serve` bounds its peers, so a new flow per source would meet that bound
/// first).
fn answering_upstream() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let Some(req) = UdpMessage::parse(&buf[..n]).filter(|m| m.mtype == 0) else {
                continue;
            };
            let mut m = vec![0x60 | req.token.len() as u8, 0x45];
            m.extend(req.mid.to_be_bytes());
            m.extend_from_slice(&req.token);
            m.extend([0xff, b'o', b'k']);
            let _ = socket.send_to(&m, from);
        }
    });
    port
}

/// Finding 15: `mote proxy` kept each client's upstream flow for as long as it ran, so 64
/// source addresses (one spoofing host) locked every later client out with 5.03 for good.
/// 256 sources (4 times `--max-flows`) each send one request and are never heard from again
/// (a spoofed source reads nothing; the answers are read here only to know the proxy took
/// each one). Criteria: an honest client's request through the proxy is then answered with
/// 2.05 (not 5.03 "proxy flow table full") within 2 s, twice (a second honest client too);
/// growth of the proxy below 16 MiB.
fn proxy_flow_table_lockout() -> Verdict {
    let to = format!("127.0.0.1:{}", answering_upstream());
    let proxy = Mote::start(
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--to",
            &to,
            "--print-port",
        ],
        1,
        Stderr::Null,
        &[],
    );
    let p = proxy.port(0);
    let before = proxy.rss_kib();
    let answered = Arc::new(AtomicUsize::new(0));
    let a = answered.clone();
    flood(8, move |i| {
        for k in 0..32u16 {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mid = (i as u16) << 8 | k;
            let _ = s.send_to(
                &udp_request(0, GET, mid, &mid.to_be_bytes(), &WELL_KNOWN_CORE, b""),
                ("127.0.0.1", p),
            );
            let mut buf = [0u8; 2048];
            if s.recv(&mut buf).is_ok() {
                a.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let answered = answered.load(Ordering::SeqCst);
    check!(
        answered >= 64,
        "only {answered} of 256 sources were answered: the flow table never filled, the attack proved nothing"
    );
    let mut codes = vec![];
    for _ in 0..2 {
        let (d, code) =
            honest_udp_at(p, &WELL_KNOWN_CORE).map_err(|e| format!("through the proxy: {e}"))?;
        check!(
            code >> 5 == 2,
            "an honest client is locked out: {}.{:02} after the sources filled the flow table",
            code >> 5,
            code & 31
        );
        codes.push(d.as_millis());
    }
    let mem = memory(before, proxy.rss_kib(), 16)?;
    Ok(format!(
        "{answered} of 256 sources served; honest clients answered 2.05 in {codes:?} ms; {mem}"
    ))
}

/// A UDP relay in front of `upstream` that plays the upstream itself for every request whose
/// first Uri-Path is `hole`: it accepts it as an observation (2.05 with Observe, RFC 7641 §4.1;
/// piggybacked on the ACK of a CON, a NON for a NON) and never notifies again, so each one
/// stays a relayed observation, a route, in the proxy. Everything else it forwards, from a
/// socket of its own for each source (NAT-like: the proxy talks to it from one flow per
/// client), and the answers go back to that source.
fn observation_sink_relay(upstream: u16) -> u16 {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = front.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut mid = 0u16;
        let mut backs: std::collections::HashMap<SocketAddr, UdpSocket> =
            std::collections::HashMap::new();
        while let Ok((n, from)) = front.recv_from(&mut buf) {
            let hole = UdpMessage::parse(&buf[..n])
                .filter(|m| m.code == GET && m.uri_path().first().is_some_and(|p| *p == b"hole"));
            let Some(req) = hole else {
                let back = backs.entry(from).or_insert_with(|| {
                    let back = UdpSocket::bind("127.0.0.1:0").unwrap();
                    let (b2, f2) = (back.try_clone().unwrap(), front.try_clone().unwrap());
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 2048];
                        while let Ok(n) = b2.recv(&mut buf) {
                            let _ = f2.send_to(&buf[..n], from);
                        }
                    });
                    back
                });
                let _ = back.send_to(&buf[..n], ("127.0.0.1", upstream));
                continue;
            };
            let (mtype, answer_mid) = if req.mtype == 0 {
                (2, req.mid) // ACK
            } else {
                mid = mid.wrapping_add(1);
                (1, mid) // NON
            };
            let mut m = vec![0x40 | mtype << 4 | req.token.len() as u8, 0x45];
            m.extend(answer_mid.to_be_bytes());
            m.extend_from_slice(&req.token);
            m.extend(encode_options(&[(OBSERVE, &[1])]));
            m.extend([0xff, b'0']);
            let _ = front.send_to(&m, from);
        }
    });
    port
}

/// Finding 6: `mote proxy` flushed its whole route table above 4,096 entries, ending every
/// client's observations. An honest client observes /3/0/13 through the proxy; 64 attacker
/// sockets then register 80 observations each (5,120 routes wanted; the proxy's bounds are
/// 64 per client and 1,024 in all) of `/hole/x`, which the relay accepts and never notifies.
/// Criteria: the table did fill (some registration refused with 5.03), the honest observation
/// still delivers notifications afterwards, an honest request through the proxy is answered
/// within 2 s (5.03 counts: the table is full), growth of the proxy below 16 MiB.
fn proxy_route_table_flood() -> Verdict {
    let server = Mote::serve(&["127.0.0.1:0"], &["--notify-ms", "200"]);
    let relay = observation_sink_relay(server.port(0));
    let to = format!("127.0.0.1:{relay}");
    let proxy = Mote::start(
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--to",
            &to,
            "--print-port",
        ],
        1,
        Stderr::Null,
        &[],
    );
    let p = proxy.port(0);
    let observer = UdpSocket::bind("127.0.0.1:0").unwrap();
    observer
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let o: [(u16, &[u8]); 4] = [
        (OBSERVE, b""),
        (URI_PATH, b"3"),
        (URI_PATH, b"0"),
        (URI_PATH, b"13"),
    ];
    let token = b"honest-o";
    observer
        .send_to(&udp_request(0, GET, 1, token, &o, b""), ("127.0.0.1", p))
        .unwrap();
    let notifications = |within: Duration| {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        let start = Instant::now();
        while start.elapsed() < within {
            let Ok(len) = observer.recv(&mut buf) else {
                continue;
            };
            if let Some(m) = UdpMessage::parse(&buf[..len]) {
                if m.mtype == 0 {
                    let _ = observer.send_to(
                        &[0x60, 0, (m.mid >> 8) as u8, m.mid as u8],
                        ("127.0.0.1", p),
                    );
                }
                if m.token == token && m.option(OBSERVE).is_some() {
                    n += 1;
                }
            }
        }
        n
    };
    let first = notifications(Duration::from_secs(2));
    check!(
        first >= 2,
        "the honest observation through the proxy did not start ({first} notifications)"
    );
    let before = proxy.rss_kib();
    let refused = Arc::new(AtomicUsize::new(0));
    let r = refused.clone();
    flood(64, move |i| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let hole: [(u16, &[u8]); 3] = [(OBSERVE, b""), (URI_PATH, b"hole"), (URI_PATH, b"x")];
        let mut buf = [0u8; 2048];
        for k in 0..80u16 {
            let mid = (i as u16) << 8 | k;
            let _ = s.send_to(
                &udp_request(0, GET, mid, &mid.to_be_bytes(), &hole, b""),
                ("127.0.0.1", p),
            );
            // One at a time, as fast as the proxy answers.
            if let Some(m) = s
                .recv(&mut buf)
                .ok()
                .and_then(|n| UdpMessage::parse(&buf[..n]))
            {
                if m.code == SERVICE_UNAVAILABLE {
                    r.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });
    let refused = refused.load(Ordering::SeqCst);
    check!(
        refused > 0,
        "no registration was refused: the route table never filled, the attack proved nothing"
    );
    // Drain what queued during the flood, then count fresh notifications.
    let _ = notifications(Duration::from_millis(500));
    let later = notifications(Duration::from_secs(2));
    check!(
        later >= 2,
        "the honest observation through the proxy ended by the flood ({later} notifications in 2 s)"
    );
    let (d, code) = honest_udp_at(p, &o[1..]).map_err(|e| format!("through the proxy: {e}"))?;
    let mem = memory(before, proxy.rss_kib(), 16)?;
    Ok(format!(
        "{refused} of 5,120 registrations refused; observation kept ({later} notifications in 2 s); honest request {}.{:02} in {} ms; {mem}",
        code >> 5,
        code & 31,
        d.as_millis()
    ))
}

/// Finding 7: `mote coap` downloading Block2 from a server that answers M=1 with empty
/// payloads never ended (~40k requests/s). Criterion: it exits with status 1 within 15 s,
/// after at most 100 requests.
fn endless_empty_block2() -> Verdict {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (r, st) = (requests.clone(), stop.clone());
    let server = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !st.load(Ordering::SeqCst) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let Some(req) = UdpMessage::parse(&buf[..n]) else {
                continue;
            };
            if req.mtype != 0 || req.code == 0 || req.code >> 5 != 0 {
                continue;
            }
            r.fetch_add(1, Ordering::SeqCst);
            let num = req.option(BLOCK2).map_or(0u32, |v| {
                v.iter().fold(0u32, |a, &b| a << 8 | u32::from(b)) >> 4
            });
            let value = (num << 4 | 0x08 | 2).to_be_bytes(); // M=1, SZX 2 (64 bytes), no payload
            let value = &value[value.iter().position(|&b| b != 0).unwrap_or(3)..];
            let mut m = vec![0x60 | req.token.len() as u8, 0x45];
            m.extend(req.mid.to_be_bytes());
            m.extend_from_slice(&req.token);
            m.extend(encode_options(&[(BLOCK2, value)]));
            let _ = sock.send_to(&m, from);
        }
    });
    let uri = format!("coap://127.0.0.1:{port}/big");
    let (status, err) = run_bounded(
        &["coap", "get", &uri, "--timeout", "20"],
        Duration::from_secs(15),
    );
    stop.store(true, Ordering::SeqCst);
    let _ = server.join();
    let n = requests.load(Ordering::SeqCst);
    check!(
        status.is_some(),
        "mote coap still running after 15 s ({n} requests)"
    );
    check!(
        status.and_then(|s| s.code()) == Some(1),
        "exit {status:?}, expected 1: {err}"
    );
    check!(n <= 100, "{n} requests before giving up");
    Ok(format!("exit 1 after {n} request(s): {}", err.trim()))
}

/// Finding 8: diagnostics written to stderr under the server lock; an undrained stderr pipe
/// stopped the server. `mote serve` runs with `MOTE_LOG=debug` into a pipe nobody reads while
/// 4 attacker threads open and close TCP connections for 4 s (each logs about 600 bytes:
/// opened, peer settings, closed); criteria: honest UDP and TCP requests answered within 2 s
/// from the second second on (the pipe is full by then), and the pipe did fill (at least
/// 64 KiB waiting in it; else the attack proved nothing).
fn undrained_stderr() -> Verdict {
    let mut server = Mote::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "coap+tcp://127.0.0.1:0",
            "--print-port",
        ],
        2,
        Stderr::Held,
        &[("MOTE_LOG", "debug"), ("RUST_LOG", "debug")],
    );
    let (udp, tcp) = (server.port(0), server.port(1));
    let stderr = server.take_stderr();
    let churned = Arc::new(AtomicUsize::new(0));
    let c = churned.clone();
    let flooder = std::thread::spawn(move || {
        flood(4, move |_| {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(4) {
                if let Ok(mut t) = TcpStream::connect(("127.0.0.1", tcp)) {
                    let _ = t.write_all(&tcp_frame(CSM, b"", &[], b""));
                    c.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
    });
    std::thread::sleep(Duration::from_secs(1));
    let probe = Probe::start(Some(udp), Some(tcp));
    let _ = flooder.join();
    let during = probe.finish()?;
    check!(server.running(), "the server exited");
    let churned = churned.load(Ordering::SeqCst);
    // Now read the pipe: at least a full pipe (64 KiB) must have been waiting.
    let waiting = Arc::new(AtomicUsize::new(0));
    let w = waiting.clone();
    std::thread::spawn(move || {
        let mut stderr = stderr;
        let mut buf = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            w.fetch_add(n, Ordering::SeqCst);
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let waiting = waiting.load(Ordering::SeqCst);
    check!(
        waiting >= 64 * 1024,
        "only {waiting} bytes of diagnostics were written: the pipe never filled, the attack proved nothing"
    );
    Ok(format!(
        "{during} with stderr stuck; {churned} connections churned, {waiting} bytes were waiting"
    ))
}

/// Parses the OSCORE option of a UDP request (RFC 8613 §6.1): (kid, Partial IV).
fn kid_and_piv(d: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let m = UdpMessage::parse(d)?;
    let v = m.option(OSCORE)?;
    let flags = *v.first()?;
    let n = usize::from(flags & 0x07);
    let piv = v.get(1..1 + n)?.to_vec();
    let mut rest = v.get(1 + n..)?;
    if flags & 0x10 != 0 {
        let s = usize::from(*rest.first()?);
        rest = rest.get(1 + s..)?;
    }
    let kid = if flags & 0x08 != 0 {
        rest.to_vec()
    } else {
        vec![]
    };
    Some((kid, piv))
}

type Seen = Arc<Mutex<(BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>>, Vec<String>)>>;

/// A recording UDP relay in front of `upstream`, one upstream socket per client: every
/// client datagram with an OSCORE option is recorded by (kid, Partial IV); the same pair with
/// different bytes (from the token on: a retransmission repeats them) is a violation.
fn recording_relay(upstream: u16, seen: Seen) -> u16 {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = front.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut backs: BTreeMap<SocketAddr, UdpSocket> = BTreeMap::new();
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = front.recv_from(&mut buf) {
            let d = &buf[..n];
            if let Some(key) = kid_and_piv(d) {
                let mut g = seen.lock().unwrap();
                let (map, violations) = &mut *g;
                match map.get(&key) {
                    Some(prev) if prev[4..] != d[4..] => {
                        violations.push(format!(
                            "(kid {:02x?}, Partial IV {:02x?}) sent twice",
                            key.0, key.1
                        ));
                    }
                    Some(_) => {}
                    None => {
                        map.insert(key, d.to_vec());
                    }
                }
            }
            let back = backs.entry(from).or_insert_with(|| {
                let b = UdpSocket::bind("127.0.0.1:0").unwrap();
                let (b2, f2) = (b.try_clone().unwrap(), front.try_clone().unwrap());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 2048];
                    b2.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                    while let Ok(n) = b2.recv(&mut buf) {
                        let _ = f2.send_to(&buf[..n], from);
                    }
                });
                b
            });
            let _ = back.send_to(d, ("127.0.0.1", upstream));
        }
    });
    port
}

/// A context file pair (mode 0600) for `dir`.
fn oscore_files(dir: &Path, mode: u32) -> (String, String) {
    let secret = "0102030405060708090a0b0c0d0e0f10";
    let server = format!(r#"{{"master_secret":"{secret}","sender_id":"01","recipient_id":"00"}}"#);
    let client = format!(r#"{{"master_secret":"{secret}","sender_id":"00","recipient_id":"01"}}"#);
    (
        write_file(dir, "server.json", &server, 0o600),
        write_file(dir, "client.json", &client, mode),
    )
}

/// Findings 9 and 10: nonce reuse. Six `mote coap --oscore` processes at a time share one
/// context file (four rounds), through a relay that records every (kid, Partial IV); then the
/// sequence file is deleted and the context used again. Criteria: no pair is ever sent twice
/// with different content; at least 6 of the 24 concurrent commands succeed (the others may
/// refuse, as documented, never reuse); after the deletion `mote coap` refuses (exit 1) and
/// sends nothing.
fn shared_context_nonce_reuse() -> Verdict {
    let dir = scratch("nonce");
    let (server_file, client_file) = oscore_files(&dir, 0o600);
    let server = Mote::serve(&["127.0.0.1:0"], &["--oscore", &server_file]);
    let seen: Seen = Arc::default();
    let relay = recording_relay(server.port(0), seen.clone());
    let uri = format!("coap://127.0.0.1:{relay}/3/0/0");
    let mut ok = 0;
    let mut refusals = vec![];
    for _ in 0..4 {
        let runs: Vec<_> = (0..6)
            .map(|_| {
                let (uri, file) = (uri.clone(), client_file.clone());
                std::thread::spawn(move || {
                    run_bounded(
                        &["coap", "get", &uri, "--oscore", &file, "--timeout", "10"],
                        Duration::from_secs(15),
                    )
                })
            })
            .collect();
        for r in runs {
            let (status, err) = r.join().unwrap();
            if status.is_some_and(|s| s.success()) {
                ok += 1;
            } else {
                refusals.push(err.trim().to_owned());
            }
        }
    }
    let pairs_before = seen.lock().unwrap().0.len();
    // The sequence file: the context file with the extension `.seq` (docs/cli.md).
    let seq = dir.join("client.seq");
    check!(seq.exists(), "no sequence file at {}", seq.display());
    std::fs::remove_file(&seq).unwrap();
    let (status, err) = run_bounded(
        &[
            "coap",
            "get",
            &uri,
            "--oscore",
            &client_file,
            "--timeout",
            "10",
        ],
        Duration::from_secs(15),
    );
    let g = seen.lock().unwrap();
    let (map, violations) = &*g;
    check!(
        violations.is_empty(),
        "{} reused pairs, e.g. {}",
        violations.len(),
        violations[0]
    );
    check!(
        ok >= 6,
        "only {ok} of 24 concurrent commands succeeded, e.g. {:?}",
        refusals.first()
    );
    check!(
        status.is_some_and(|s| !s.success()),
        "with its sequence file deleted, the used context was accepted (exit {status:?})"
    );
    check!(
        map.len() == pairs_before,
        "with its sequence file deleted, {} more requests were sent",
        map.len() - pairs_before
    );
    Ok(format!(
        "{} distinct (kid, Partial IV) pairs, no reuse; {ok}/24 concurrent commands succeeded; deleted sequence file refused: {}",
        map.len(),
        err.lines().next().unwrap_or_default()
    ))
}

/// Finding 14: Echo values from one table shared by every peer and context; context files
/// readable by everyone accepted. Criteria: an Echo value issued to one peer does not make
/// another peer's request fresh (RFC 9175 §2.3: bound to the peer), while it does work for its
/// own peer; `mote serve` and `mote coap` refuse a context file that group or others can read.
fn echo_binding_and_context_file_mode() -> Verdict {
    let server = Mote::serve(&["127.0.0.1:0"], &["--fresh-echo"]);
    let udp = server.port(0);
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(HONEST_DEADLINE)).unwrap();
    }
    let exchange = |s: &UdpSocket, mid: u16, o: &[(u16, &[u8])]| -> Result<UdpMessage, String> {
        s.send_to(
            &udp_request(0, PUT, mid, &mid.to_be_bytes(), o, b"v"),
            ("127.0.0.1", udp),
        )
        .unwrap();
        let mut buf = [0u8; 2048];
        let n = s
            .recv(&mut buf)
            .map_err(|_| format!("no answer to PUT {mid}"))?;
        UdpMessage::parse(&buf[..n]).ok_or_else(|| "unparsable answer".to_string())
    };
    let path: [(u16, &[u8]); 2] = [(URI_PATH, b"data"), (URI_PATH, b"echo")];
    let r = exchange(&a, 1, &path)?;
    check!(
        r.code == UNAUTHORIZED,
        "PUT without Echo: {:#04x}, expected 4.01",
        r.code
    );
    let echo = r
        .option(ECHO)
        .ok_or("4.01 without an Echo option")?
        .to_vec();
    let mut with = path.to_vec();
    with.push((ECHO, &echo));
    let r = exchange(&b, 2, &with)?;
    check!(
        r.code != CREATED && r.code >> 5 != 2,
        "another peer spent A's Echo value: {:#04x}",
        r.code
    );
    let r = exchange(&a, 3, &with)?;
    check!(
        r.code == CREATED,
        "A's own Echo value refused: {:#04x} (control)",
        r.code
    );

    // Context files readable by group or others.
    let dir = scratch("mode");
    let (server_file, client_file) = oscore_files(&dir, 0o644);
    std::fs::set_permissions(&server_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (status, err) = run_bounded(
        &["serve", "--listen", "127.0.0.1:0", "--oscore", &server_file],
        Duration::from_secs(5),
    );
    check!(
        status.is_some_and(|s| !s.success()),
        "mote serve accepted a world-readable context file ({})",
        if status.is_none() {
            "still serving after 5 s"
        } else {
            "exit 0"
        }
    );
    let serve_err = err.trim().to_owned();
    let (status, err) = run_bounded(
        &[
            "coap",
            "get",
            &format!("coap://127.0.0.1:{udp}/3/0/0"),
            "--oscore",
            &client_file,
            "--timeout",
            "3",
        ],
        Duration::from_secs(10),
    );
    check!(
        status.is_some_and(|s| !s.success()) && err.contains("client.json"),
        "mote coap did not refuse a world-readable context file: {status:?} {}",
        err.trim()
    );
    Ok(format!("Echo bound to its peer; 0644 refused: {serve_err}"))
}

/// The malformed-input floods that already passed (keep them passing): 20,000 junk datagrams
/// (half with a valid-looking CoAP header) from 4 sockets, and 32 TCP connections each
/// sending a CSM and 16 KiB of junk. Criteria: the server keeps running, honest requests are
/// answered during and after, growth below 16 MiB.
fn malformed_input_flood() -> Verdict {
    let mut server = Mote::serve(&["127.0.0.1:0", "coap+tcp://127.0.0.1:0"], &[]);
    let (udp, tcp) = (server.port(0), server.port(1));
    honest_after(udp, Some(tcp))?;
    let before = server.rss_kib();
    let probe = Probe::start(Some(udp), Some(tcp));
    flood(4, move |i| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rng = Xorshift(0x1234_5678 + i as u32);
        for k in 0..5000 {
            let len = (rng.next() % 200) as usize;
            let mut d = rng.bytes(len);
            if k % 2 == 0 && !d.is_empty() {
                d[0] = 0x40 | (d[0] & 0x3f);
            }
            let _ = s.send_to(&d, ("127.0.0.1", udp));
            if k % 64 == 63 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    flood(4, move |i| {
        let mut rng = Xorshift(0x8765_4321 + i as u32);
        for _ in 0..8 {
            let Ok(mut t) = TcpStream::connect(("127.0.0.1", tcp)) else {
                continue;
            };
            t.set_write_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut d = tcp_frame(CSM, b"", &[], b"");
            d.extend(rng.bytes(16 * 1024));
            let _ = t.write_all(&d);
            let _ = t.shutdown(Shutdown::Write);
        }
    });
    let during = probe.finish()?;
    check!(server.running(), "the server exited");
    let after = honest_after(udp, Some(tcp))?;
    let mem = memory(before, server.rss_kib(), 16)?;
    Ok(format!("{during}; {after}; {mem}"))
}

// ---------------------------------------------------------------------------------------------
// The suite.

#[test]
#[ignore = "the attack suite: run by scripts/test.sh (--ignored), about 2.5 minutes"]
fn attack_suite() {
    let suite = Instant::now();
    // `ATTACK_ONLY=3,8` runs the attacks of those findings only (`5-silent`: the silent
    // observer), to try one against a weakened build; scripts/test.sh runs them all.
    let only = std::env::var("ATTACK_ONLY").ok();
    let selected = |finding: &str| {
        only.as_deref().is_none_or(|o| {
            o.split(',')
                .any(|f| finding.split(',').any(|g| g == f.trim()))
        })
    };
    // Registered first, judged last: its bound is the longest.
    let silent = Mutex::new(selected("5-silent").then(SilentObserver::register));
    let attacks: [Attack; 12] = [
        (
            "1",
            "TCP client that stops reading",
            tcp_client_that_stops_reading,
        ),
        ("2", "Block1 reassembly flood", block1_reassembly_flood),
        (
            "3",
            "TCP connection flood (cap, idle timeout)",
            tcp_connection_flood,
        ),
        ("4", "EDHOC message_1 flood", edhoc_message_1_flood),
        (
            "5",
            "Observe registration flood",
            observe_registration_flood,
        ),
        ("6", "proxy route table flood", proxy_route_table_flood),
        (
            "15",
            "proxy flow table lock-out (spoofed sources)",
            proxy_flow_table_lockout,
        ),
        ("7", "endless empty Block2 answers", endless_empty_block2),
        ("8", "undrained stderr pipe", undrained_stderr),
        (
            "9,10",
            "shared context file, deleted sequence file",
            shared_context_nonce_reuse,
        ),
        (
            "14",
            "Echo binding, context file mode",
            echo_binding_and_context_file_mode,
        ),
        ("-", "malformed datagrams and frames", malformed_input_flood),
    ];
    let mut table = vec![];
    let mut run = |finding: &str, name: &str, f: &dyn Fn() -> Verdict| {
        let start = Instant::now();
        let verdict =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
                Err(format!(
                    "panicked: {}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default()
                ))
            });
        let secs = start.elapsed().as_secs_f32();
        let (mark, detail) = match &verdict {
            Ok(d) => ("ok", d.clone()),
            Err(e) => ("FAILED", e.clone()),
        };
        println!("[finding {finding}] {name} ... {mark} ({secs:.1} s): {detail}");
        table.push((finding.to_owned(), name.to_owned(), verdict.is_ok(), secs));
    };
    for (finding, name, f) in attacks {
        if selected(finding) {
            run(finding, name, &f);
        }
    }
    if selected("5-silent") {
        run("5", "silent observer dropped (reflection)", &|| {
            let s = silent.lock().unwrap().take();
            s.map_or_else(|| Err("no silent observer".into()), SilentObserver::verdict)
        });
    }
    assert!(!table.is_empty(), "ATTACK_ONLY={only:?} selected no attack");
    println!("\nattack suite ({:.0} s)", suite.elapsed().as_secs_f32());
    println!(
        "{:<8} {:<48} {:<7} {:>6}",
        "finding", "attack", "result", "secs"
    );
    for (finding, name, ok, secs) in &table {
        println!(
            "{finding:<8} {name:<48} {:<7} {secs:>6.1}",
            if *ok { "ok" } else { "FAILED" }
        );
    }
    let failed: Vec<_> = table
        .iter()
        .filter(|t| !t.2)
        .map(|t| format!("[finding {}] {}", t.0, t.1))
        .collect();
    assert!(
        failed.is_empty(),
        "ATTACK SUITE FAILED: {}",
        failed.join(", ")
    );
}
