//! `mote proxy --listen ADDR --to ADDR [--tamper | --replay | --delay MS]`: an OSCORE-unaware
//! CoAP forward proxy over UDP (RFC 7252 §5.7), and an on-path attacker for demonstrations.
//!
//! As a proxy it does what intermediaries do to Class U parts (RFC 8613 §4.2): every forwarded
//! request gets a new Message ID and a new Token, responses are mapped back, confirmable
//! responses from upstream are acknowledged hop by hop. As an attacker it flips a ciphertext
//! byte of every request (`--tamper`), sends every request twice (`--replay`) or holds every
//! datagram back (`--delay`). OSCORE makes the first two fail at the server (4.00 "Decryption
//! failed", 4.01 "Replay detected") and binds late responses to their requests.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use mote_coap::code::{Code, MessageType};

use crate::coap_client::Msg;

/// `mote proxy …`
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// Address to listen on for clients (UDP).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// The upstream server (UDP).
    #[arg(long, value_name = "ADDR")]
    to: SocketAddr,
    /// Flip the last payload byte of every forwarded request.
    #[arg(long, conflicts_with_all = ["replay", "delay"])]
    tamper: bool,
    /// Send every forwarded request twice (the copy 50 ms later).
    #[arg(long, conflicts_with = "delay")]
    replay: bool,
    /// Delay every datagram in both directions by MS milliseconds.
    #[arg(long, value_name = "MS")]
    delay: Option<u64>,
    /// Print the port actually bound (useful with port 0) on the first line of stdout.
    #[arg(long)]
    print_port: bool,
}

struct Route {
    client: SocketAddr,
    mid: u16,
    token: Vec<u8>,
}

/// Runs `mote proxy`.
pub(crate) fn run(args: &ProxyArgs) -> Result<()> {
    let down = UdpSocket::bind(args.listen)?;
    let bind: SocketAddr = if args.to.is_ipv6() {
        "[::]:0".parse()?
    } else {
        "0.0.0.0:0".parse()?
    };
    let up = UdpSocket::bind(bind)?;
    if args.print_port {
        println!("{}", down.local_addr()?.port());
    }
    down.set_read_timeout(Some(Duration::from_millis(2)))?;
    up.set_read_timeout(Some(Duration::from_millis(2)))?;
    let delay = Duration::from_millis(args.delay.unwrap_or(0));
    // Outgoing queue: (due, upstream?, destination, bytes).
    let mut queue: Vec<(Instant, bool, SocketAddr, Vec<u8>)> = vec![];
    let mut by_token: BTreeMap<Vec<u8>, Route> = BTreeMap::new();
    let mut by_mid: BTreeMap<u16, Route> = BTreeMap::new();
    let mut seen: BTreeMap<(SocketAddr, u16), (u16, Vec<u8>)> = BTreeMap::new();
    let mut counter: u32 = std::process::id();
    let mut buf = vec![0u8; 65536];
    loop {
        // Client → upstream.
        if let Ok((n, client)) = down.recv_from(&mut buf) {
            if let Ok(mut m) = Msg::decode(&buf[..n]) {
                if m.code.is_request() {
                    let (mid, token) = seen
                        .entry((client, m.mid))
                        .or_insert_with(|| {
                            counter = counter.wrapping_add(1);
                            (counter as u16, counter.to_be_bytes().to_vec())
                        })
                        .clone();
                    let route = || Route {
                        client,
                        mid: m.mid,
                        token: m.token.clone(),
                    };
                    by_token.insert(token.clone(), route());
                    by_mid.insert(mid, route());
                    m.mid = mid;
                    m.token = token;
                    if args.tamper {
                        if let Some(last) = m.payload.last_mut() {
                            *last ^= 0x01;
                        }
                    }
                    let bytes = m.encode()?;
                    let now = Instant::now();
                    if args.replay {
                        queue.push((
                            now + Duration::from_millis(50),
                            true,
                            args.to,
                            bytes.clone(),
                        ));
                    }
                    queue.push((now + delay, true, args.to, bytes));
                }
                // Empty ACK/RST from clients: confirmable responses were acknowledged by us.
            }
        }
        // Upstream → client.
        if let Ok((n, from)) = up.recv_from(&mut buf) {
            if from == args.to {
                if let Ok(mut m) = Msg::decode(&buf[..n]) {
                    let route = if m.code.is_empty() {
                        by_mid.get(&m.mid)
                    } else {
                        by_token.get(&m.token)
                    };
                    if let Some(r) = route {
                        if m.mtype == MessageType::Con {
                            // Hop-by-hop acknowledgement, forwarded as NON.
                            let ack = Msg {
                                mtype: MessageType::Ack,
                                code: Code::EMPTY,
                                mid: m.mid,
                                token: vec![],
                                options: vec![],
                                payload: vec![],
                            };
                            up.send_to(&ack.encode()?, args.to)?;
                            m.mtype = MessageType::Non;
                            counter = counter.wrapping_add(1);
                            m.mid = counter as u16;
                        } else if m.mtype == MessageType::Ack {
                            m.mid = r.mid;
                        }
                        if !m.code.is_empty() {
                            m.token = r.token.clone();
                        }
                        queue.push((Instant::now() + delay, false, r.client, m.encode()?));
                    }
                }
            }
        }
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = queue.drain(..).partition(|q| q.0 <= now);
        queue = later;
        for (_, upstream, dest, bytes) in due {
            if upstream {
                up.send_to(&bytes, dest)?;
            } else {
                down.send_to(&bytes, dest)?;
            }
        }
        if seen.len() > 4096 {
            seen.clear();
        }
    }
}
