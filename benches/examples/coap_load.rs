//! A loopback CoAP load generator: CON GETs over UDP from K sockets with W requests in flight
//! each, responses matched by token, for a fixed count with a time cap. Prints one JSON line:
//! requests per second (2.xx responses over the time to the last one), p50/p99 latency, losses.
//!
//! ```text
//! cargo build --release -p mote-benches --example coap_load
//! target/release/examples/coap_load --target 127.0.0.1:5683 --path /time \
//!     [--sockets 4] [--window 4] [--count 20000] [--duration 10] [--timeout-ms 1000] \
//!     [--oscore CONTEXT_FILE] [--label NAME]
//! ```
//!
//! Any CoAP server on loopback: only std and the mote crates, no other network. Each socket
//! sends CON GET requests (RFC 7252 §4.2) with its own Message IDs and 4-byte tokens and keeps
//! W of them outstanding; a request unanswered after `--timeout-ms` is counted lost and not
//! retransmitted (a retransmission would hide the loss). An empty ACK followed by a separate
//! CON response is handled (the response is acknowledged, RFC 7252 §5.2.2).
//!
//! `--oscore FILE` protects each request with the client side of the context file
//! (`docs/cli.md` format): a new in-memory context per run (Sender Sequence Number from 0,
//! nothing written to the file or a sequence file), one fresh Partial IV per request (RFC 8613
//! §8.1), every response verified (§8.4). A server that lost its replay window answers the
//! first request with a protected 4.01 and an Echo option (RFC 8613 Appendix B.1.2); the
//! warm-up request repeats it with that Echo value before the measurement starts. Keep
//! K × W within the server's replay window (32 by default, RFC 8613 §3.2.2): requests of one
//! context sent from K threads may arrive out of order.
//!
//! Exit status: 0 when the run completed (losses are reported, not failures), 1 when the
//! arguments, the context file or the warm-up request failed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, MessageWriter};
use mote_coap::option::OptionNumber;
use mote_oscore::context::{aead_from_cose_id, hkdf_from_cose_id, hkdf_from_name};
use mote_oscore::{Framing, RequestBinding, SecurityContext, SecurityContextParams};

struct Args {
    target: SocketAddr,
    path: Vec<String>,
    path_text: String,
    sockets: usize,
    window: usize,
    count: u64,
    duration: Duration,
    timeout: Duration,
    oscore: Option<String>,
    label: String,
}

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}");
    eprintln!(
        "usage: coap_load --target ADDR [--path /a/b] [--sockets K] [--window W] [--count N] \
         [--duration S] [--timeout-ms MS] [--oscore CONTEXT_FILE] [--label NAME]"
    );
    std::process::exit(1)
}

fn parse_args() -> Args {
    let mut a = Args {
        target: "127.0.0.1:5683".parse().unwrap(),
        path: Vec::new(),
        path_text: "/".into(),
        sockets: 4,
        window: 4,
        count: 20_000,
        duration: Duration::from_secs(10),
        timeout: Duration::from_millis(1000),
        oscore: None,
        label: String::new(),
    };
    let mut it = std::env::args().skip(1);
    let mut have_target = false;
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        let num = |v: String| -> u64 {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("not a number: {v}")))
        };
        match flag.as_str() {
            "--target" => {
                let v = value();
                a.target = v
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("not an address: {v}")));
                if !a.target.ip().is_loopback() {
                    usage("the target must be a loopback address");
                }
                have_target = true;
            }
            "--path" => {
                a.path_text = value();
                a.path = a
                    .path_text
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--sockets" => a.sockets = num(value()) as usize,
            "--window" => a.window = num(value()) as usize,
            "--count" => a.count = num(value()),
            "--duration" => {
                let v = value();
                a.duration = Duration::from_secs_f64(
                    v.parse()
                        .unwrap_or_else(|_| usage(&format!("not a number: {v}"))),
                );
            }
            "--timeout-ms" => a.timeout = Duration::from_millis(num(value())),
            "--oscore" => a.oscore = Some(value()),
            "--label" => a.label = value(),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if !have_target {
        usage("--target is required");
    }
    if a.sockets == 0 || a.sockets > 255 || a.window == 0 || a.count == 0 {
        usage("--sockets (1-255), --window and --count must be at least 1");
    }
    a
}

// ---------------------------------------------------------------------------------------------
// The OSCORE context file (docs/cli.md): one flat JSON object of strings, numbers and booleans.

#[derive(Debug, Clone)]
enum Value {
    Str(String),
    Num(i64),
    Bool(bool),
}

fn parse_flat_json(text: &str) -> Result<Vec<(String, Value)>, String> {
    let s: Vec<char> = text.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < s.len() && s[*i].is_whitespace() {
            *i += 1;
        }
    };
    let string = |i: &mut usize| -> Result<String, String> {
        if s.get(*i) != Some(&'"') {
            return Err(format!("expected a string at {i}"));
        }
        *i += 1;
        let mut out = String::new();
        while let Some(&c) = s.get(*i) {
            *i += 1;
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = s.get(*i).copied().ok_or("unterminated escape")?;
                    *i += 1;
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    };
    skip_ws(&mut i);
    if s.get(i) != Some(&'{') {
        return Err("expected a JSON object".into());
    }
    i += 1;
    let mut out = Vec::new();
    loop {
        skip_ws(&mut i);
        if s.get(i) == Some(&'}') {
            return Ok(out);
        }
        let key = string(&mut i)?;
        skip_ws(&mut i);
        if s.get(i) != Some(&':') {
            return Err(format!("expected ':' after {key}"));
        }
        i += 1;
        skip_ws(&mut i);
        let value = match s.get(i) {
            Some('"') => Value::Str(string(&mut i)?),
            Some('t') if s[i..].starts_with(&['t', 'r', 'u', 'e']) => {
                i += 4;
                Value::Bool(true)
            }
            Some('f') if s[i..].starts_with(&['f', 'a', 'l', 's', 'e']) => {
                i += 5;
                Value::Bool(false)
            }
            Some(_) => {
                let start = i;
                while i < s.len() && (s[i] == '-' || s[i].is_ascii_digit()) {
                    i += 1;
                }
                let n: String = s[start..i].iter().collect();
                Value::Num(n.parse().map_err(|_| format!("bad value for {key}"))?)
            }
            None => return Err("unexpected end".into()),
        };
        out.push((key, value));
        skip_ws(&mut i);
        match s.get(i) {
            Some(',') => i += 1,
            Some('}') => return Ok(out),
            _ => return Err("expected ',' or '}'".into()),
        }
    }
}

/// Hex as docs/cli.md accepts it: either case, spaces, colons, tabs, CR and LF ignored.
fn hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b':' | b'\t' | b'\r' | b'\n'))
        .collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits: {text}"));
    }
    digits
        .chunks(2)
        .map(|p| {
            u8::from_str_radix(std::str::from_utf8(p).unwrap_or("zz"), 16)
                .map_err(|_| format!("invalid hex: {text}"))
        })
        .collect()
}

/// The client side of a context file, in memory only.
fn load_context(path: &str) -> Result<SecurityContext, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let fields = parse_flat_json(&text).map_err(|e| format!("{path}: {e}"))?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let hex_field = |k: &str| -> Result<Option<Vec<u8>>, String> {
        match get(k) {
            None => Ok(None),
            Some(Value::Str(s)) => hex(&s).map(Some),
            Some(_) => Err(format!("{k} must be a hex string")),
        }
    };
    let secret = hex_field("master_secret")?.ok_or("master_secret is required")?;
    let salt = hex_field("master_salt")?.unwrap_or_default();
    let sender = hex_field("sender_id")?.ok_or("sender_id is required")?;
    let recipient = hex_field("recipient_id")?.ok_or("recipient_id is required")?;
    let id_context = hex_field("id_context")?;
    let mut p = SecurityContextParams::new(&secret, &sender, &recipient);
    p.master_salt = &salt;
    p.id_context = id_context.as_deref();
    if let Some(v) = get("aead") {
        let Value::Num(n) = v else {
            return Err("aead must be a number".into());
        };
        p.aead = aead_from_cose_id(n).map_err(|e| e.to_string())?;
    }
    match get("hkdf") {
        None => {}
        Some(Value::Num(n)) => p.hkdf = hkdf_from_cose_id(n).map_err(|e| e.to_string())?,
        Some(Value::Str(s)) => p.hkdf = hkdf_from_name(&s).map_err(|e| e.to_string())?,
        Some(Value::Bool(_)) => return Err("hkdf must be a name or a number".into()),
    }
    if let Some(Value::Bool(b)) = get("send_kid_context") {
        p.send_kid_context = b;
    }
    if let Some(Value::Num(n)) = get("replay_window") {
        p.replay_window = u8::try_from(n).map_err(|_| "replay_window out of range")?;
    }
    // `sequence_file` and `used` belong to the persisting commands; this run starts at 0 in
    // memory and writes nothing.
    SecurityContext::new(&p).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Requests and responses.

/// A CON GET of `path` with `token`, optionally with an inner Echo option (for OSCORE).
fn get_request(path: &[String], message_id: u16, token: &[u8], echo: Option<&[u8]>) -> Vec<u8> {
    let mut buf = vec![0u8; 1152];
    let mut w = MessageWriter::new(&mut buf, MessageType::Con, Code::GET, message_id, token)
        .expect("header");
    for seg in path {
        w.option(OptionNumber::URI_PATH, seg.as_bytes())
            .expect("Uri-Path");
    }
    if let Some(e) = echo {
        w.option(OptionNumber::ECHO, e).expect("Echo");
    }
    let len = w.finish();
    buf.truncate(len);
    buf
}

/// Protects `raw` with the shared context; the wire bytes and the binding for the response.
fn protect(ctx: &Mutex<SecurityContext>, raw: &[u8]) -> (Vec<u8>, RequestBinding) {
    let mut out = vec![0u8; 2 * raw.len() + 320];
    let (len, binding) = ctx
        .lock()
        .unwrap()
        .protect_request(Framing::Udp, raw, &mut out)
        .expect("protect request");
    out.truncate(len);
    (out, binding)
}

/// What a response turned out to be, after OSCORE verification when it applies.
enum Outcome {
    Ok,
    /// Any other code (or a protected response that failed verification: `None`).
    Error(Option<Code>),
    /// A protected 4.01 with an Echo value (RFC 8613 Appendix B.1.2).
    EchoChallenge(Vec<u8>),
}

fn classify(
    ctx: Option<&Mutex<SecurityContext>>,
    binding: Option<&mut RequestBinding>,
    message: &Message<'_>,
    datagram: &[u8],
) -> Outcome {
    let (Some(ctx), Some(binding)) = (ctx, binding) else {
        return if message.code().class() == 2 {
            Outcome::Ok
        } else {
            Outcome::Error(Some(message.code()))
        };
    };
    if message.option(OptionNumber::OSCORE).is_none() {
        // An unprotected answer to a protected request: an OSCORE error (RFC 8613 §8.2).
        return Outcome::Error(Some(message.code()));
    }
    let mut plain = vec![0u8; datagram.len() + 64];
    let Ok(len) =
        ctx.lock()
            .unwrap()
            .unprotect_response(Framing::Udp, binding, datagram, &mut plain)
    else {
        return Outcome::Error(None);
    };
    let Ok(inner) = Message::decode(&plain[..len]) else {
        return Outcome::Error(None);
    };
    if inner.code() == Code::UNAUTHORIZED {
        if let Some(echo) = inner.option(OptionNumber::ECHO) {
            return Outcome::EchoChallenge(echo.value.to_vec());
        }
    }
    if inner.code().class() == 2 {
        Outcome::Ok
    } else {
        Outcome::Error(Some(inner.code()))
    }
}

/// RFC 7252 §5.2.2: a separate CON response is acknowledged with an empty ACK.
fn ack_if_con(socket: &UdpSocket, message: &Message<'_>) {
    if message.mtype() == MessageType::Con {
        let [hi, lo] = message.message_id().to_be_bytes();
        let _ = socket.send(&[0x60, 0, hi, lo]);
    }
}

/// One request before the measurement: the server answers at all (and for OSCORE, a lost
/// replay window is re-established with the Echo exchange of Appendix B.1.2).
fn warm_up(args: &Args, ctx: Option<&Mutex<SecurityContext>>) -> Result<(), String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket.connect(args.target).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    let mut echo: Option<Vec<u8>> = None;
    let mut buf = [0u8; 1500];
    for attempt in 0..10u16 {
        let token = [0xee, 0xee, 0, attempt as u8];
        let raw = get_request(&args.path, 0xf000 + attempt, &token, echo.as_deref());
        let (wire, mut binding) = match ctx {
            Some(c) => {
                let (w, b) = protect(c, &raw);
                (w, Some(b))
            }
            None => (raw, None),
        };
        socket.send(&wire).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline {
            let Ok(n) = socket.recv(&mut buf) else {
                break;
            };
            let Ok(m) = Message::decode(&buf[..n]) else {
                continue;
            };
            ack_if_con(&socket, &m);
            if m.token() != token {
                continue; // an empty ACK, or a stale response
            }
            match classify(ctx, binding.as_mut(), &m, &buf[..n]) {
                Outcome::Ok => return Ok(()),
                Outcome::EchoChallenge(value) if echo.is_none() => {
                    echo = Some(value);
                    break;
                }
                Outcome::EchoChallenge(_) => return Err("Echo challenge repeated".into()),
                Outcome::Error(code) => {
                    return Err(format!(
                        "warm-up request answered {}",
                        code.map_or("(failed verification)".into(), |c| c.to_string())
                    ));
                }
            }
        }
    }
    Err("no answer to the warm-up request".into())
}

// ---------------------------------------------------------------------------------------------
// The load.

#[derive(Default)]
struct Tally {
    sent: u64,
    ok: u64,
    errors: u64,
    lost: u64,
    unmatched: u64,
    latencies_us: Vec<u32>,
    last_response: Option<Instant>,
}

struct Pending {
    sent: Instant,
    binding: Option<RequestBinding>,
}

fn run_socket(
    index: usize,
    budget: u64,
    args: &Args,
    ctx: Option<&Mutex<SecurityContext>>,
    start: Instant,
) -> Tally {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.connect(args.target).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .expect("timeout");
    let deadline = start + args.duration;
    let mut tally = Tally {
        latencies_us: Vec::with_capacity(budget as usize),
        ..Tally::default()
    };
    let mut pending: HashMap<[u8; 4], Pending> = HashMap::with_capacity(args.window);
    let mut counter: u32 = 0;
    let mut message_id: u16 = (index as u16).wrapping_mul(7919);
    let mut buf = [0u8; 1500];
    loop {
        let now = Instant::now();
        while pending.len() < args.window && tally.sent < budget && now < deadline {
            // Token: socket index and a per-socket counter (unique within the run).
            let token = [
                index as u8,
                (counter >> 16) as u8,
                (counter >> 8) as u8,
                counter as u8,
            ];
            counter += 1;
            message_id = message_id.wrapping_add(1);
            let raw = get_request(&args.path, message_id, &token, None);
            let (wire, binding) = match ctx {
                Some(c) => {
                    let (w, b) = protect(c, &raw);
                    (w, Some(b))
                }
                None => (raw, None),
            };
            let sent = Instant::now();
            if socket.send(&wire).is_err() {
                tally.lost += 1;
            } else {
                pending.insert(token, Pending { sent, binding });
            }
            tally.sent += 1;
        }
        if pending.is_empty() && (tally.sent >= budget || Instant::now() >= deadline) {
            return tally;
        }
        match socket.recv(&mut buf) {
            Ok(n) => {
                let received = Instant::now();
                let Ok(m) = Message::decode(&buf[..n]) else {
                    continue;
                };
                ack_if_con(&socket, &m);
                if m.code() == Code::EMPTY {
                    continue; // the empty ACK before a separate response
                }
                let Some(token) = <[u8; 4]>::try_from(m.token()).ok() else {
                    tally.unmatched += 1;
                    continue;
                };
                let Some(mut p) = pending.remove(&token) else {
                    tally.unmatched += 1; // late (already counted lost) or duplicated
                    continue;
                };
                match classify(ctx, p.binding.as_mut(), &m, &buf[..n]) {
                    Outcome::Ok => {
                        tally.ok += 1;
                        let us = received.duration_since(p.sent).as_micros();
                        tally
                            .latencies_us
                            .push(u32::try_from(us).unwrap_or(u32::MAX));
                        tally.last_response = Some(received);
                    }
                    Outcome::Error(_) | Outcome::EchoChallenge(_) => tally.errors += 1,
                }
            }
            Err(_) => {
                // Read timeout: expire what waited too long.
                let now = Instant::now();
                let before = pending.len();
                pending.retain(|_, p| now.duration_since(p.sent) < args.timeout);
                tally.lost += (before - pending.len()) as u64;
            }
        }
    }
}

fn percentile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

fn main() {
    let args = parse_args();
    let ctx: Option<Arc<Mutex<SecurityContext>>> = args.oscore.as_deref().map(|path| {
        Arc::new(Mutex::new(load_context(path).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1)
        })))
    });
    if let Err(e) = warm_up(&args, ctx.as_deref()) {
        eprintln!("error: {} {}: {e}", args.target, args.path_text);
        std::process::exit(1);
    }
    let start = Instant::now();
    let per = args.count / args.sockets as u64;
    let extra = args.count % args.sockets as u64;
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.sockets)
            .map(|i| {
                let budget = per + u64::from((i as u64) < extra);
                let args = &args;
                let ctx = ctx.as_deref();
                s.spawn(move || run_socket(i, budget, args, ctx, start))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = Tally::default();
    for t in tallies {
        total.sent += t.sent;
        total.ok += t.ok;
        total.errors += t.errors;
        total.lost += t.lost;
        total.unmatched += t.unmatched;
        total.latencies_us.extend(t.latencies_us);
        total.last_response = total.last_response.max(t.last_response);
    }
    total.latencies_us.sort_unstable();
    let elapsed = total
        .last_response
        .map_or(0.0, |t| t.duration_since(start).as_secs_f64());
    let rps = if elapsed > 0.0 {
        total.ok as f64 / elapsed
    } else {
        0.0
    };
    println!(
        "{{\"label\":\"{}\",\"target\":\"{}\",\"path\":\"{}\",\"oscore\":{},\"sockets\":{},\"window\":{},\"sent\":{},\"ok\":{},\"errors\":{},\"lost\":{},\"unmatched\":{},\"elapsed_s\":{:.3},\"rps\":{:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        args.label.replace(['"', '\\'], ""),
        args.target,
        args.path_text.replace(['"', '\\'], ""),
        ctx.is_some(),
        args.sockets,
        args.window,
        total.sent,
        total.ok,
        total.errors,
        total.lost,
        total.unmatched,
        elapsed,
        rps,
        percentile_ms(&total.latencies_us, 0.50),
        percentile_ms(&total.latencies_us, 0.99),
    );
}
