//! `mote proxy --listen ADDR --to ADDR [--tcp-upstream] [--tamper | --replay | --delay MS]`:
//! an OSCORE-unaware CoAP forward proxy (RFC 7252 §5.7) that takes requests from clients over
//! UDP and forwards them to one upstream server over UDP or, with `--tcp-upstream`, over TCP
//! (RFC 8323: one connection, CSMs exchanged, Ping answered), and an on-path attacker for
//! demonstrations.
//!
//! As a proxy it does what intermediaries do to Class U parts (RFC 8613 §4.2): every forwarded
//! request gets a new Token (and over UDP a new Message ID), responses are mapped back,
//! confirmable responses from a UDP upstream are acknowledged hop by hop. Bridging to TCP
//! changes the framing itself (no type, no Message ID, a length field): responses come back as
//! piggybacked ACKs to a confirmable request (NON otherwise), later notifications as NON, and a
//! retransmitted request is not sent again over the reliable connection (its response is
//! repeated when it has come). OSCORE protects requests and responses end to end across the
//! change, since the outer header is not part of the AAD (RFC 8613 §5.4, §4.1.3).
//!
//! As an attacker it flips the last payload (ciphertext) byte of every request (`--tamper`),
//! sends every request twice (`--replay`) or holds every message back (`--delay`). OSCORE makes
//! the first two fail at the server (4.00 "Decryption failed", 4.01 "Replay detected") and
//! binds late responses to their requests.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_oscore::Framing;

use crate::coap_client::Msg;
use crate::tcp::Connection;

/// `mote proxy …`
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// Address to listen on for clients (UDP).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// The upstream server (UDP, or TCP with --tcp-upstream).
    #[arg(long, value_name = "ADDR")]
    to: SocketAddr,
    /// Forward to the upstream server over TCP (RFC 8323), bridging UDP clients to it.
    #[arg(long)]
    tcp_upstream: bool,
    /// Flip the last payload byte of every forwarded request.
    #[arg(long, conflicts_with_all = ["replay", "delay"])]
    tamper: bool,
    /// Send every forwarded request twice (the copy 50 ms later).
    #[arg(long, conflicts_with = "delay")]
    replay: bool,
    /// Delay every message in both directions by MS milliseconds.
    #[arg(long, value_name = "MS")]
    delay: Option<u64>,
    /// Print the port actually bound (useful with port 0) on the first line of stdout.
    #[arg(long)]
    print_port: bool,
}

/// Where a forwarded request came from.
struct Route {
    client: SocketAddr,
    mid: u16,
    token: Vec<u8>,
    /// The client sent a CON request.
    confirmable: bool,
    /// The first response went back already (TCP upstream: later ones are notifications).
    answered: bool,
}

/// What the proxy remembers of a request from a client, by (client, Message ID).
struct Seen {
    mid: u16,
    token: Vec<u8>,
    /// TCP upstream: the answer sent to the client, repeated for a retransmission.
    answer: Option<Vec<u8>>,
}

/// The connection to the upstream server.
enum Upstream {
    Udp(UdpSocket),
    /// Connected lazily, again after a failure.
    Tcp(Option<Connection>),
}

/// A message due for sending.
enum Dest {
    Up,
    Down(SocketAddr),
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
                std::thread::sleep(Duration::from_millis(2));
                None
            }
            Upstream::Tcp(conn) => match conn.as_mut()?.recv(Some(Duration::from_millis(2))) {
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

/// Runs `mote proxy`.
pub(crate) fn run(args: &ProxyArgs) -> Result<()> {
    let down = UdpSocket::bind(args.listen)?;
    let mut upstream = if args.tcp_upstream {
        Upstream::Tcp(Some(Connection::connect(args.to, Duration::from_secs(5))?))
    } else {
        let bind: SocketAddr = if args.to.is_ipv6() {
            "[::]:0".parse()?
        } else {
            "0.0.0.0:0".parse()?
        };
        let up = UdpSocket::bind(bind)?;
        up.set_read_timeout(Some(Duration::from_millis(2)))?;
        Upstream::Udp(up)
    };
    if args.print_port {
        println!("{}", down.local_addr()?.port());
    }
    down.set_read_timeout(Some(Duration::from_millis(2)))?;
    let up_framing = upstream.framing();
    let delay = Duration::from_millis(args.delay.unwrap_or(0));
    let mut queue: Vec<(Instant, Dest, Vec<u8>)> = vec![];
    let mut by_token: BTreeMap<Vec<u8>, Route> = BTreeMap::new();
    let mut by_mid: BTreeMap<u16, Vec<u8>> = BTreeMap::new();
    let mut seen: BTreeMap<(SocketAddr, u16), Seen> = BTreeMap::new();
    let mut counter: u32 = std::process::id();
    let mut buf = vec![0u8; 65536];
    loop {
        // Client → upstream.
        if let Ok((n, client)) = down.recv_from(&mut buf) {
            if let Ok(mut m) = Msg::decode(&buf[..n]) {
                if m.code.is_request() {
                    let retransmission = seen.contains_key(&(client, m.mid));
                    let entry = seen.entry((client, m.mid)).or_insert_with(|| {
                        counter = counter.wrapping_add(1);
                        Seen {
                            mid: counter as u16,
                            token: counter.to_be_bytes().to_vec(),
                            answer: None,
                        }
                    });
                    if retransmission && up_framing == Framing::Tcp {
                        // The reliable upstream has the request already (RFC 8323 §3).
                        if let Some(a) = &entry.answer {
                            queue.push((Instant::now() + delay, Dest::Down(client), a.clone()));
                        }
                        continue;
                    }
                    let (mid, token) = (entry.mid, entry.token.clone());
                    by_token.insert(
                        token.clone(),
                        Route {
                            client,
                            mid: m.mid,
                            token: m.token.clone(),
                            confirmable: m.mtype == MessageType::Con,
                            answered: false,
                        },
                    );
                    by_mid.insert(mid, token.clone());
                    m.mid = mid;
                    m.token = token;
                    if args.tamper {
                        if let Some(last) = m.payload.last_mut() {
                            *last ^= 0x01;
                        }
                    }
                    let bytes = m.encode_framed(up_framing)?;
                    let now = Instant::now();
                    if args.replay {
                        queue.push((now + Duration::from_millis(50), Dest::Up, bytes.clone()));
                    }
                    queue.push((now + delay, Dest::Up, bytes));
                }
                // Empty ACK/RST from clients: confirmable responses were acknowledged by us.
            }
        }
        // Upstream → client.
        if let Some(raw) = upstream.poll(args.to, &mut buf) {
            if let Ok(mut m) = Msg::decode_framed(up_framing, &raw) {
                let route = if m.code.is_empty() {
                    by_mid.get(&m.mid).and_then(|t| by_token.get_mut(t))
                } else {
                    by_token.get_mut(&m.token)
                };
                if let Some(r) = route {
                    match up_framing {
                        Framing::Udp if m.mtype == MessageType::Con => {
                            // Hop-by-hop acknowledgement, forwarded as NON.
                            let ack = Msg {
                                mtype: MessageType::Ack,
                                code: Code::EMPTY,
                                mid: m.mid,
                                token: vec![],
                                options: vec![],
                                payload: vec![],
                            };
                            upstream.send(args.to, &ack.encode()?)?;
                            m.mtype = MessageType::Non;
                            counter = counter.wrapping_add(1);
                            m.mid = counter as u16;
                        }
                        Framing::Udp => {
                            if m.mtype == MessageType::Ack {
                                m.mid = r.mid;
                            }
                        }
                        Framing::Tcp => {
                            // The first response is piggybacked on the ACK of a CON request;
                            // anything later (notifications) goes as NON.
                            if r.confirmable && !r.answered {
                                m.mtype = MessageType::Ack;
                                m.mid = r.mid;
                            } else {
                                m.mtype = MessageType::Non;
                                counter = counter.wrapping_add(1);
                                m.mid = counter as u16;
                            }
                        }
                    }
                    if !m.code.is_empty() {
                        m.token = r.token.clone();
                    }
                    let first = !r.answered;
                    r.answered = true;
                    let bytes = m.encode()?;
                    if up_framing == Framing::Tcp && first {
                        if let Some(s) = seen.get_mut(&(r.client, r.mid)) {
                            s.answer = Some(bytes.clone());
                        }
                    }
                    queue.push((Instant::now() + delay, Dest::Down(r.client), bytes));
                }
            }
        }
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = queue.drain(..).partition(|q| q.0 <= now);
        queue = later;
        for (_, dest, bytes) in due {
            let sent = match dest {
                Dest::Up => upstream.send(args.to, &bytes),
                Dest::Down(client) => down.send_to(&bytes, client).map(|_| ()).map_err(Into::into),
            };
            if let Err(e) = sent {
                eprintln!("warning: forwarding: {e:#}");
            }
        }
        if seen.len() > 4096 {
            seen.clear();
        }
        if by_token.len() > 4096 {
            by_token.clear();
            by_mid.clear();
        }
    }
}
