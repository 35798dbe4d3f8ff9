//! `mote proxy --listen ADDR --to ADDR [--tcp-upstream] [--tamper | --replay | --delay MS]
//! [--json]`: an OSCORE-unaware CoAP forward proxy (RFC 7252 §5.7) that takes requests from
//! clients over UDP or, with `--listen coap+tcp://…`, over TCP (RFC 8323: one connection per
//! client, CSMs exchanged, Ping answered), and forwards them to one upstream server over UDP or,
//! with `--tcp-upstream` (or `--to coap+tcp://…`), over TCP; all four combinations work. It is
//! also an on-path attacker for demonstrations.
//!
//! As a proxy it does what intermediaries do to Class U parts (RFC 8613 §4.2): every forwarded
//! request gets a new Token (and over UDP a new Message ID), responses are mapped back,
//! confirmable responses from a UDP upstream are acknowledged hop by hop. Bridging changes the
//! framing itself (RFC 8323 §3.2: no type, no Message ID, a length field). Towards a UDP client
//! of a TCP upstream, responses come back as piggybacked ACKs to a confirmable request (NON
//! otherwise), later notifications as NON, and a retransmitted request is not sent again over
//! the reliable connection (its response is repeated when it has come). A TCP client's request
//! goes to a UDP upstream as CON, retransmitted by the proxy (RFC 7252 §4.2) since the client
//! relies on its reliable connection; when the upstream never answers the client gets 5.04
//! Gateway Timeout (RFC 7252 §5.7.1); empty ACKs and Resets stay on the UDP hop. OSCORE
//! protects requests and responses end to end across all of this, since the outer header is
//! not part of the AAD (RFC 8613 §5.4, §4.1.3).
//!
//! As an attacker it flips the last payload (ciphertext) byte of every request (`--tamper`),
//! sends every request twice (`--replay`) or holds every message back (`--delay`). The replayed
//! copy goes out 50 ms after the original with a Message ID and Token of its own, so that CoAP
//! deduplication (RFC 7252 §4.5) cannot catch it: only OSCORE's replay window can (RFC 8613
//! §7.4). The copy's response is not forwarded (the client never sent the copy); with `--json`
//! the proxy reports it on stdout as `{"event":"replay-response","code":"4.01",
//! "code_name":"Unauthorized","payload":"<hex>"}`. OSCORE makes tampered requests fail at the
//! server (4.00 "Decryption failed"), replayed copies too (4.01 "Replay detected"), and binds
//! late responses to their requests.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_coap::transmission::{Retransmission, Timeout, TransmissionParameters};
use mote_oscore::Framing;
use serde::Serialize;

use crate::commands::coap::Msg;
use crate::commands::serve::{Listen, parse_listen};
use crate::tcp::{Closed, Connection, Writer, write_frame};

/// TCP clients connected at once; a connection beyond is closed right away.
const MAX_TCP_CLIENTS: usize = 256;

/// Requests remembered for routing responses (and client retransmissions); the tables are
/// emptied when they grow beyond.
const MAX_ROUTES: usize = 4096;

/// How long a replayed copy follows its original.
const REPLAY_AFTER: Duration = Duration::from_millis(50);

/// How long one poll of either side waits.
const POLL: Duration = Duration::from_millis(2);

/// `mote proxy …`
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// Where to listen for clients: `HOST:PORT` or `coap://HOST:PORT` is UDP,
    /// `coap+tcp://HOST:PORT` is TCP (RFC 8323; CSM exchange, then CoAP over TCP framing).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    listen: Listen,
    /// The upstream server: `HOST:PORT` or `coap://HOST:PORT` (UDP, or TCP with
    /// --tcp-upstream), `coap+tcp://HOST:PORT` (TCP).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    to: Listen,
    /// Forward to the upstream server over TCP (RFC 8323).
    #[arg(long)]
    tcp_upstream: bool,
    /// Flip the last payload byte of every forwarded request.
    #[arg(long, conflicts_with_all = ["replay", "delay"])]
    tamper: bool,
    /// Send every forwarded request twice: the copy 50 ms later, with its own Message ID and
    /// Token; its response is not forwarded (reported with --json).
    #[arg(long, conflicts_with = "delay")]
    replay: bool,
    /// Delay every message in both directions by MS milliseconds.
    #[arg(long, value_name = "MS")]
    delay: Option<u64>,
    /// Print the port actually bound (useful with port 0) on the first line of stdout.
    #[arg(long)]
    print_port: bool,
    /// Print what the attacker sees on stdout, one JSON object per line: with --replay,
    /// `{"event":"replay-response","code":"4.01","code_name":"Unauthorized","payload":"<hex>"}`
    /// for each response to a replayed copy.
    #[arg(long)]
    json: bool,
}

/// The `--json` event for the answer to a replayed copy (field order is part of the
/// command-line contract, docs/cli.md).
#[derive(Debug, Serialize)]
struct ReplayResponse {
    event: &'static str,
    /// The response code, `c.dd`.
    code: String,
    /// Its registered name, if any.
    code_name: Option<&'static str>,
    /// The payload, lowercase hex (the diagnostic of an unprotected OSCORE error, RFC 8613 §8.2).
    payload: String,
}

/// A client of the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Client {
    /// A UDP endpoint.
    Udp(SocketAddr),
    /// A TCP connection, by the number the proxy gave it.
    Tcp(u64),
}

/// Where a forwarded request came from.
struct Route {
    client: Client,
    /// The client's Message ID (UDP clients).
    mid: u16,
    token: Vec<u8>,
    /// The client sent a CON request.
    confirmable: bool,
    /// The first response went back already (TCP upstream: later ones are notifications).
    answered: bool,
    /// A copy sent by `--replay`: its response goes to no client.
    copy: bool,
}

/// What the proxy remembers of a request from a UDP client, by (client, Message ID).
struct Seen {
    mid: u16,
    token: Vec<u8>,
    /// TCP upstream: the answer sent to the client, repeated for a retransmission.
    answer: Option<Vec<u8>>,
}

/// A CON request the proxy retransmits itself (a TCP client's, to a UDP upstream).
struct Pending {
    retransmission: Retransmission,
    bytes: Vec<u8>,
}

/// The connection to the upstream server.
enum Upstream {
    Udp(UdpSocket),
    /// Connected lazily, again after a failure.
    Tcp(Option<Connection>),
}

/// The writing halves of the TCP clients' connections, by client number.
type Writers = Arc<Mutex<BTreeMap<u64, Writer>>>;

/// Where clients come from.
enum Downstream {
    Udp(UdpSocket),
    /// Frames read by one thread per connection.
    Tcp {
        frames: Receiver<(u64, Vec<u8>)>,
        writers: Writers,
    },
}

/// A message due for sending.
enum Dest {
    Up,
    Down(Client),
}

impl Upstream {
    fn framing(&self) -> Framing {
        match self {
            Upstream::Udp(_) => Framing::Udp,
            Upstream::Tcp(_) => Framing::Tcp,
        }
    }

    fn send(&mut self, to: SocketAddr, bytes: &[u8]) -> Result<()> {
        match self {
            Upstream::Udp(sock) => {
                sock.send_to(bytes, to)?;
            }
            Upstream::Tcp(conn) => {
                if conn.is_none() {
                    *conn = Some(Connection::connect(to, Duration::from_secs(5))?);
                }
                if let Some(c) = conn {
                    if let Err(e) = c.send(bytes) {
                        *conn = None;
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }

    /// The next message from upstream, if one arrives within a few milliseconds.
    fn poll(&mut self, to: SocketAddr, buf: &mut [u8]) -> Option<Vec<u8>> {
        match self {
            Upstream::Udp(sock) => match sock.recv_from(buf) {
                Ok((n, from)) if from == to => buf.get(..n).map(<[u8]>::to_vec),
                _ => None,
            },
            Upstream::Tcp(None) => {
                std::thread::sleep(POLL);
                None
            }
            Upstream::Tcp(conn) => match conn.as_mut()?.recv(Some(POLL)) {
                Ok(frame) => frame,
                Err(e) => {
                    eprintln!("warning: upstream connection: {e:#}");
                    *conn = None;
                    None
                }
            },
        }
    }
}

impl Downstream {
    fn framing(&self) -> Framing {
        match self {
            Downstream::Udp(_) => Framing::Udp,
            Downstream::Tcp { .. } => Framing::Tcp,
        }
    }

    /// The next message from a client, if one arrives within a few milliseconds.
    fn poll(&self, buf: &mut [u8]) -> Option<(Client, Vec<u8>)> {
        match self {
            Downstream::Udp(sock) => {
                let (n, from) = sock.recv_from(buf).ok()?;
                Some((Client::Udp(from), buf.get(..n)?.to_vec()))
            }
            Downstream::Tcp { frames, .. } => frames
                .recv_timeout(POLL)
                .ok()
                .map(|(id, frame)| (Client::Tcp(id), frame)),
        }
    }

    fn send(&self, client: Client, bytes: &[u8]) -> Result<()> {
        match (self, client) {
            (Downstream::Udp(sock), Client::Udp(addr)) => {
                sock.send_to(bytes, addr)?;
            }
            (Downstream::Tcp { writers, .. }, Client::Tcp(id)) => {
                let writer = writers
                    .lock()
                    .map_err(|_| anyhow!("client table poisoned"))?
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| anyhow!("TCP client {id} is gone"))?;
                write_frame(&writer, bytes)?;
            }
            _ => bail!("a client of the other transport"),
        }
        Ok(())
    }
}

/// Accepts TCP clients: sends our CSM (RFC 8323 §4.3) and starts a thread that hands their
/// frames (signaling handled by [`Connection`]) to the proxy loop.
fn accept_tcp(listener: &TcpListener, frames: &Sender<(u64, Vec<u8>)>, writers: &Writers) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let Ok(mut table) = writers.lock() else {
            return;
        };
        if table.len() >= MAX_TCP_CLIENTS {
            eprintln!("warning: {MAX_TCP_CLIENTS} TCP clients already, connection refused");
            continue;
        }
        let mut conn = match Connection::new(stream) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("warning: TCP client: {e:#}");
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        table.insert(id, conn.writer());
        drop(table);
        let (frames, writers) = (frames.clone(), Arc::clone(writers));
        std::thread::spawn(move || {
            let ended = loop {
                match conn.recv(None) {
                    Ok(Some(frame)) => {
                        if frames.send((id, frame)).is_err() {
                            break Ok(());
                        }
                    }
                    Ok(None) => {}
                    Err(e) => break Err(e),
                }
            };
            if let Err(e) = ended {
                if e.downcast_ref::<Closed>().is_none() {
                    eprintln!("warning: TCP client {id}: {e:#}");
                }
            }
            if let Ok(mut table) = writers.lock() {
                table.remove(&id);
            }
        });
    }
}

/// The proxy's routing state, without I/O: the sockets stay with [`run`], which feeds it
/// what arrives ([`handle_client`](Self::handle_client),
/// [`handle_upstream`](Self::handle_upstream)), calls [`retransmit`](Self::retransmit) on
/// every turn, and sends what the queue holds once it is due. Time is `now`, passed in:
/// the time since the proxy started.
struct Proxy {
    up_framing: Framing,
    tamper: bool,
    replay: bool,
    delay: Duration,
    /// The time of the call being handled.
    now: Duration,
    params: TransmissionParameters,
    /// Messages to send, with the time they are due.
    queue: Vec<(Duration, Dest, Vec<u8>)>,
    /// Answers to replayed copies, for `--json`.
    events: Vec<ReplayResponse>,
    by_token: BTreeMap<Vec<u8>, Route>,
    by_mid: BTreeMap<u16, Vec<u8>>,
    seen: BTreeMap<(SocketAddr, u16), Seen>,
    pending: BTreeMap<u16, Pending>,
    counter: u32,
}

impl Proxy {
    fn new(up_framing: Framing, tamper: bool, replay: bool, delay: Duration, seed: u32) -> Self {
        Self {
            up_framing,
            tamper,
            replay,
            delay,
            now: Duration::ZERO,
            params: TransmissionParameters::default(),
            queue: vec![],
            events: vec![],
            by_token: BTreeMap::new(),
            by_mid: BTreeMap::new(),
            seen: BTreeMap::new(),
            pending: BTreeMap::new(),
            counter: seed,
        }
    }

    /// A fresh upstream Message ID and Token.
    fn fresh(&mut self) -> (u16, Vec<u8>) {
        self.counter = self.counter.wrapping_add(1);
        (self.counter as u16, self.counter.to_be_bytes().to_vec())
    }

    /// A uniform-enough draw for the retransmission timer's randomization.
    fn random(&mut self) -> u32 {
        self.counter = self.counter.wrapping_add(1);
        self.counter.wrapping_mul(0x9e37_79b9).rotate_left(13)
    }

    /// A message from a client, at `now`.
    fn handle_client(
        &mut self,
        client: Client,
        raw: &[u8],
        down_framing: Framing,
        now: Duration,
    ) -> Result<()> {
        self.now = now;
        let Ok(mut m) = Msg::decode_framed(down_framing, raw) else {
            return Ok(());
        };
        // Empty ACK/RST from UDP clients: confirmable responses were acknowledged by us.
        if !m.code.is_request() {
            return Ok(());
        }
        let (mid, token) = match client {
            Client::Udp(addr) => {
                let retransmission = self.seen.contains_key(&(addr, m.mid));
                if !retransmission {
                    let (mid, token) = self.fresh();
                    let seen = Seen {
                        mid,
                        token,
                        answer: None,
                    };
                    self.seen.insert((addr, m.mid), seen);
                }
                let Some(entry) = self.seen.get(&(addr, m.mid)) else {
                    return Ok(());
                };
                if retransmission && self.up_framing == Framing::Tcp {
                    // The reliable upstream has the request already (RFC 8323 §3).
                    if let Some(a) = &entry.answer {
                        let a = a.clone();
                        self.push(self.delay, Dest::Down(client), a);
                    }
                    return Ok(());
                }
                (entry.mid, entry.token.clone())
            }
            Client::Tcp(_) => {
                // RFC 8323 §3: no type, no Message ID; over UDP it goes as CON.
                m.mtype = MessageType::Con;
                self.fresh()
            }
        };
        self.route(
            mid,
            token.clone(),
            Route {
                client,
                mid: m.mid,
                token: m.token.clone(),
                confirmable: m.mtype == MessageType::Con,
                answered: false,
                copy: false,
            },
        );
        m.mid = mid;
        m.token = token;
        if self.tamper {
            if let Some(last) = m.payload.last_mut() {
                *last ^= 0x01;
            }
        }
        let bytes = m.encode_framed(self.up_framing)?;
        if self.replay {
            // A copy with its own Message ID and Token: not a retransmission that CoAP
            // deduplication would answer (RFC 7252 §4.5), so only OSCORE's replay window
            // stops it (RFC 8613 §7.4).
            let (copy_mid, copy_token) = self.fresh();
            self.route(
                copy_mid,
                copy_token.clone(),
                Route {
                    client,
                    mid: m.mid,
                    token: vec![],
                    confirmable: false,
                    answered: false,
                    copy: true,
                },
            );
            let mut copy = m.clone();
            copy.mid = copy_mid;
            copy.token = copy_token;
            let copy = copy.encode_framed(self.up_framing)?;
            self.push(REPLAY_AFTER, Dest::Up, copy);
        }
        if matches!(client, Client::Tcp(_)) && self.up_framing == Framing::Udp {
            let random = self.random();
            let retransmission = Retransmission::start(&self.params, now, random);
            let pending = Pending {
                retransmission,
                bytes: bytes.clone(),
            };
            self.pending.insert(mid, pending);
        }
        self.push(self.delay, Dest::Up, bytes);
        Ok(())
    }

    fn route(&mut self, mid: u16, token: Vec<u8>, route: Route) {
        if self.by_token.len() >= MAX_ROUTES {
            self.by_token.clear();
            self.by_mid.clear();
        }
        self.by_mid.insert(mid, token.clone());
        self.by_token.insert(token, route);
    }

    fn push(&mut self, after: Duration, dest: Dest, bytes: Vec<u8>) {
        self.queue.push((self.now + after, dest, bytes));
    }

    /// A message from the upstream server, at `now`.
    fn handle_upstream(&mut self, raw: &[u8], now: Duration) -> Result<()> {
        self.now = now;
        let Ok(mut m) = Msg::decode_framed(self.up_framing, raw) else {
            return Ok(());
        };
        let udp_up = self.up_framing == Framing::Udp;
        if udp_up && matches!(m.mtype, MessageType::Ack | MessageType::Rst) {
            // RFC 7252 §4.2: the exchange ends retransmission.
            self.pending.remove(&m.mid);
        }
        let token = if m.code.is_empty() {
            self.by_mid.get(&m.mid).cloned()
        } else {
            Some(m.token.clone())
        };
        let Some(r) = token.and_then(|t| self.by_token.get_mut(&t)) else {
            return Ok(());
        };
        let (client, client_mid, client_token) = (r.client, r.mid, r.token.clone());
        let (confirmable, first, copy) = (r.confirmable, !r.answered, r.copy);
        if !m.code.is_empty() {
            r.answered = true;
        }
        if udp_up && m.mtype == MessageType::Con {
            // Hop-by-hop acknowledgement (RFC 7252 §4.2).
            let ack = Msg {
                mtype: MessageType::Ack,
                code: Code::EMPTY,
                mid: m.mid,
                token: vec![],
                options: vec![],
                payload: vec![],
            };
            self.push(Duration::ZERO, Dest::Up, ack.encode()?);
        }
        if copy {
            // The response to a replayed copy goes to no client; the attacker looks at it.
            if !m.code.is_empty() {
                self.events.push(ReplayResponse {
                    event: "replay-response",
                    code: m.code.to_string(),
                    code_name: m.code.name(),
                    payload: hex::encode(&m.payload),
                });
            }
            return Ok(());
        }
        let bytes = match client {
            Client::Tcp(_) => {
                // Empty ACKs and Resets belong to the UDP hop.
                if m.code.is_empty() {
                    return Ok(());
                }
                m.token = client_token;
                m.encode_framed(Framing::Tcp)?
            }
            Client::Udp(addr) => {
                if udp_up {
                    if m.mtype == MessageType::Con {
                        // Acknowledged above; forwarded as NON.
                        m.mtype = MessageType::Non;
                        m.mid = self.fresh().0;
                    } else if matches!(m.mtype, MessageType::Ack | MessageType::Rst) {
                        m.mid = client_mid;
                    }
                } else if confirmable && first {
                    // The first response is piggybacked on the ACK of a CON request; anything
                    // later (notifications) goes as NON.
                    m.mtype = MessageType::Ack;
                    m.mid = client_mid;
                } else {
                    m.mtype = MessageType::Non;
                    m.mid = self.fresh().0;
                }
                if !m.code.is_empty() {
                    m.token = client_token;
                }
                let bytes = m.encode()?;
                if !udp_up && first {
                    if let Some(s) = self.seen.get_mut(&(addr, client_mid)) {
                        s.answer = Some(bytes.clone());
                    }
                }
                bytes
            }
        };
        self.push(self.delay, Dest::Down(client), bytes);
        Ok(())
    }

    /// Retransmits the proxy's own CON requests that are due; answers 5.04 for those that
    /// ran out of retransmissions (RFC 7252 §5.7.1).
    fn retransmit(&mut self, now: Duration) -> Result<()> {
        self.now = now;
        let mut gave_up = vec![];
        let mut again = vec![];
        for (mid, p) in &mut self.pending {
            if now < p.retransmission.deadline() {
                continue;
            }
            match p.retransmission.on_timeout(now) {
                Timeout::Retransmit { .. } => again.push(p.bytes.clone()),
                Timeout::GaveUp => gave_up.push(*mid),
                Timeout::Wait(_) => {}
            }
        }
        for bytes in again {
            self.push(Duration::ZERO, Dest::Up, bytes);
        }
        for mid in gave_up {
            self.pending.remove(&mid);
            let route = self.by_mid.get(&mid).and_then(|t| self.by_token.get(t));
            if let Some(r) = route {
                let answer = Msg {
                    mtype: MessageType::Con,
                    code: Code::GATEWAY_TIMEOUT,
                    mid: 0,
                    token: r.token.clone(),
                    options: vec![],
                    payload: b"upstream did not answer".to_vec(),
                };
                let client = r.client;
                let bytes = answer.encode_framed(Framing::Tcp)?;
                self.push(Duration::ZERO, Dest::Down(client), bytes);
            }
        }
        Ok(())
    }
}

/// Runs `mote proxy`.
pub(crate) fn run(args: &ProxyArgs) -> Result<()> {
    let (to, tcp_upstream) = match args.to {
        Listen::Tcp(a) => (a, true),
        Listen::Udp(a) => (a, args.tcp_upstream),
    };
    let (down, port) = match args.listen {
        Listen::Udp(a) => {
            let sock = UdpSocket::bind(a)?;
            sock.set_read_timeout(Some(POLL))?;
            let port = sock.local_addr()?.port();
            (Downstream::Udp(sock), port)
        }
        Listen::Tcp(a) => {
            let listener = TcpListener::bind(a)?;
            let port = listener.local_addr()?.port();
            let (tx, frames) = channel();
            let writers: Writers = Arc::default();
            let table = Arc::clone(&writers);
            std::thread::spawn(move || accept_tcp(&listener, &tx, &table));
            (Downstream::Tcp { frames, writers }, port)
        }
    };
    let mut upstream = if tcp_upstream {
        Upstream::Tcp(Some(Connection::connect(to, Duration::from_secs(5))?))
    } else {
        let bind: SocketAddr = if to.is_ipv6() {
            "[::]:0".parse()?
        } else {
            "0.0.0.0:0".parse()?
        };
        let up = UdpSocket::bind(bind)?;
        up.set_read_timeout(Some(POLL))?;
        Upstream::Udp(up)
    };
    if args.print_port {
        println!("{port}");
    }
    let down_framing = down.framing();
    let delay = Duration::from_millis(args.delay.unwrap_or(0));
    let (tamper, replay) = (args.tamper, args.replay);
    let mut proxy = Proxy::new(
        upstream.framing(),
        tamper,
        replay,
        delay,
        std::process::id(),
    );
    let started = Instant::now();
    let mut buf = vec![0u8; 65536];
    loop {
        if let Some((client, raw)) = down.poll(&mut buf) {
            proxy.handle_client(client, &raw, down_framing, started.elapsed())?;
        }
        if let Some(raw) = upstream.poll(to, &mut buf) {
            proxy.handle_upstream(&raw, started.elapsed())?;
        }
        proxy.retransmit(started.elapsed())?;
        for event in proxy.events.drain(..) {
            if args.json {
                println!("{}", serde_json::to_string(&event)?);
            }
        }
        let now = started.elapsed();
        let (due, later): (Vec<_>, Vec<_>) = proxy.queue.drain(..).partition(|q| q.0 <= now);
        proxy.queue = later;
        for (_, dest, bytes) in due {
            let sent = match dest {
                Dest::Up => upstream.send(to, &bytes),
                Dest::Down(client) => down.send(client, &bytes),
            };
            if let Err(e) = sent {
                eprintln!("warning: forwarding: {e:#}");
            }
        }
        if proxy.seen.len() > MAX_ROUTES {
            proxy.seen.clear();
        }
        if proxy.pending.len() > MAX_ROUTES {
            proxy.pending.clear();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const CLIENT: Client = Client::Tcp(1);

    fn udp_client() -> Client {
        Client::Udp("127.0.0.1:40000".parse().unwrap())
    }

    fn request(mid: u16, token: &[u8]) -> Msg {
        Msg {
            mtype: MessageType::Con,
            code: Code::PUT,
            mid,
            token: token.to_vec(),
            options: vec![(11, b"x".to_vec())],
            payload: b"ciphertext".to_vec(),
        }
    }

    fn response(mtype: MessageType, code: Code, mid: u16, token: &[u8], payload: &[u8]) -> Msg {
        Msg {
            mtype,
            code,
            mid,
            token: token.to_vec(),
            options: vec![],
            payload: payload.to_vec(),
        }
    }

    /// The queued messages to the upstream, decoded, with the time they are due.
    fn upstream(p: &Proxy) -> Vec<(Duration, Msg)> {
        p.queue
            .iter()
            .filter(|q| matches!(q.1, Dest::Up))
            .map(|q| (q.0, Msg::decode_framed(p.up_framing, &q.2).unwrap()))
            .collect()
    }

    fn to_client(p: &Proxy, client: Client) -> Vec<&[u8]> {
        p.queue
            .iter()
            .filter(|q| matches!(q.1, Dest::Down(c) if c == client))
            .map(|q| q.2.as_slice())
            .collect()
    }

    #[test]
    fn replayed_copy_has_its_own_message_id_and_token_and_its_answer_is_reported_not_forwarded() {
        // RFC 7252 §4.5: a copy with the original's Message ID would be answered by the
        // server's deduplication; with its own, only OSCORE's replay window (RFC 8613 §7.4)
        // can refuse it.
        let mut p = Proxy::new(Framing::Udp, false, true, Duration::ZERO, 7);
        let client = udp_client();
        let raw = request(0x1234, &[0xaa]).encode().unwrap();
        p.handle_client(client, &raw, Framing::Udp, Duration::from_secs(1))
            .unwrap();
        let up = upstream(&p);
        assert_eq!(up.len(), 2);
        let (original, copy) = if up[0].0 < up[1].0 {
            (&up[0], &up[1])
        } else {
            (&up[1], &up[0])
        };
        assert_eq!(original.0, Duration::from_secs(1));
        assert_eq!(copy.0, Duration::from_millis(1050));
        assert_ne!(copy.1.mid, original.1.mid);
        assert_ne!(copy.1.token, original.1.token);
        assert_ne!(original.1.token, vec![0xaa]);
        assert_eq!(copy.1.payload, original.1.payload);
        assert_eq!(copy.1.options, original.1.options);
        p.queue.clear();
        // The server refuses the copy: reported, nothing goes to the client.
        let refusal = response(
            MessageType::Ack,
            Code::UNAUTHORIZED,
            copy.1.mid,
            &copy.1.token,
            b"Replay detected",
        );
        p.handle_upstream(&refusal.encode().unwrap(), Duration::from_secs(2))
            .unwrap();
        assert!(to_client(&p, client).is_empty());
        assert_eq!(p.events.len(), 1);
        assert_eq!(
            serde_json::to_string(&p.events[0]).unwrap(),
            r#"{"event":"replay-response","code":"4.01","code_name":"Unauthorized","payload":"5265706c6179206465746563746564"}"#
        );
        // The original's answer goes back with the client's Message ID and Token.
        let answer = response(
            MessageType::Ack,
            Code::CHANGED,
            original.1.mid,
            &original.1.token,
            b"",
        );
        p.handle_upstream(&answer.encode().unwrap(), Duration::from_secs(2))
            .unwrap();
        let back = to_client(&p, client);
        assert_eq!(back.len(), 1);
        let back = Msg::decode(back[0]).unwrap();
        assert_eq!(
            (back.mid, back.token, back.code),
            (0x1234, vec![0xaa], Code::CHANGED)
        );
        assert_eq!(p.events.len(), 1);
    }

    #[test]
    fn tcp_client_to_udp_upstream_is_retransmitted_then_answered_5_04() {
        // RFC 7252 §4.2: ACK_TIMEOUT 2 s (× up to 1.5), MAX_RETRANSMIT 4; §5.7.1: a proxy that
        // gets no answer says 5.04 Gateway Timeout.
        let mut p = Proxy::new(Framing::Udp, false, false, Duration::ZERO, 7);
        let raw = request(0, &[0x01]).encode_framed(Framing::Tcp).unwrap();
        p.handle_client(CLIENT, &raw, Framing::Tcp, Duration::ZERO)
            .unwrap();
        let first = upstream(&p);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1.mtype, MessageType::Con);
        p.queue.clear();
        let mut sent = 0;
        let mut ms = 0;
        while ms < 100_000 && to_client(&p, CLIENT).is_empty() {
            ms += 100;
            p.retransmit(Duration::from_millis(ms)).unwrap();
            for (_, m) in upstream(&p) {
                assert_eq!(m, first[0].1, "a retransmission is the same message");
                sent += 1;
            }
            p.queue.retain(|q| !matches!(q.1, Dest::Up));
        }
        assert_eq!(sent, 4);
        // The last deadline: at least 2 + 4 + 8 + 16 + 32 s after the first transmission.
        assert!(ms >= 62_000, "{ms}");
        let answer = Msg::decode_framed(Framing::Tcp, to_client(&p, CLIENT)[0]).unwrap();
        assert_eq!(answer.code, Code::GATEWAY_TIMEOUT);
        assert_eq!(answer.token, vec![0x01]);
    }

    #[test]
    fn tcp_client_answer_ends_retransmission_and_keeps_the_client_token() {
        let mut p = Proxy::new(Framing::Udp, false, false, Duration::ZERO, 7);
        let raw = request(0, &[0x01, 0x02])
            .encode_framed(Framing::Tcp)
            .unwrap();
        p.handle_client(CLIENT, &raw, Framing::Tcp, Duration::ZERO)
            .unwrap();
        let up = upstream(&p).remove(0).1;
        p.queue.clear();
        // A separate response: the empty ACK stays on the UDP hop, the CON response is
        // acknowledged hop by hop and forwarded.
        let ack = response(MessageType::Ack, Code::EMPTY, up.mid, &[], b"");
        p.handle_upstream(&ack.encode().unwrap(), Duration::from_secs(1))
            .unwrap();
        assert!(p.queue.is_empty());
        let resp = response(MessageType::Con, Code::CHANGED, 999, &up.token, b"ok");
        p.handle_upstream(&resp.encode().unwrap(), Duration::from_secs(1))
            .unwrap();
        let acks = upstream(&p);
        assert_eq!(acks.len(), 1);
        assert_eq!(
            (acks[0].1.mtype, acks[0].1.code, acks[0].1.mid),
            (MessageType::Ack, Code::EMPTY, 999)
        );
        let back = Msg::decode_framed(Framing::Tcp, to_client(&p, CLIENT)[0]).unwrap();
        assert_eq!((back.code, back.token), (Code::CHANGED, vec![0x01, 0x02]));
        assert_eq!(back.payload, b"ok");
        p.queue.clear();
        for s in 2..100 {
            p.retransmit(Duration::from_secs(s)).unwrap();
        }
        assert!(p.queue.is_empty(), "no retransmission after the ACK");
    }
}
