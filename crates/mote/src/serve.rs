//! `mote serve --listen ADDR [--oscore FILE …]`: a CoAP server over UDP exposing a small LwM2M
//! client object tree (/1/0, /3/0, a large opaque /5/0/0 for block-wise, an observable
//! /3/0/13) and a free-form /data tree, with OSCORE (RFC 8613): one or more security contexts
//! chosen by 'kid', sequence numbers persisted (App. B.1.1), the replay window
//! re-established with Echo after a restart (App. B.1.2), optional Echo freshness for unsafe
//! methods (RFC 9175, LwM2M E2E-6), message deduplication (RFC 7252 §4.5).

use std::collections::{BTreeMap, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_coap::option::OptionNumber;
use mote_oscore::freshness::{EchoIssuer, FreshnessPolicy};
use mote_oscore::{
    Error as OscoreError, Framing, RequestBinding, SecurityContext, peek_oscore_option,
};

use crate::coap_client::{FileSequenceStore, Msg, decode_uint, persistent_context, uint};

/// `mote serve …`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (UDP), e.g. 127.0.0.1:5683.
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// OSCORE context files (server side); with at least one, every resource but
    /// /.well-known/core requires OSCORE.
    #[arg(long, value_name = "FILE")]
    oscore: Vec<PathBuf>,
    /// Demand a fresh Echo (RFC 9175) for POST, PUT, DELETE, PATCH and iPATCH.
    #[arg(long)]
    fresh_echo: bool,
    /// Interval between notifications of observed resources, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    notify_ms: u64,
    /// Print the port actually bound (useful with port 0) on the first line of stdout.
    #[arg(long)]
    print_port: bool,
}

/// Largest body accepted in a Block1 upload (RFC 7959 §2.9.3: 4.13 beyond it).
const MAX_UPLOAD: usize = 1 << 20;

struct Observer {
    peer: SocketAddr,
    token: Vec<u8>,
    ctx: Option<usize>,
    binding: Option<RequestBinding>,
    path: String,
}

struct Server {
    sock: UdpSocket,
    contexts: Vec<SecurityContext<FileSequenceStore>>,
    resources: BTreeMap<String, Vec<u8>>,
    uploads: BTreeMap<(SocketAddr, String), Vec<u8>>,
    observers: Vec<Observer>,
    dedup: VecDeque<(SocketAddr, u16, Vec<u8>)>,
    echo: EchoIssuer<8>,
    policy: FreshnessPolicy,
    mid: u16,
    started: Instant,
    counter: u32,
}

/// The firmware-like opaque resource: 4 KiB of a fixed pattern.
fn big_resource() -> Vec<u8> {
    (0..4096u32)
        .map(|i| (i.wrapping_mul(31) >> 3) as u8)
        .collect()
}

fn random_bytes() -> [u8; 8] {
    let mut b = [0u8; 8];
    // The operating system's randomness through the std hasher seed (RandomState), mixed
    // with the time: good enough for Echo values, which need unpredictability, not secrecy.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    b.copy_from_slice(&h.finish().to_be_bytes());
    b
}

/// Runs `mote serve`.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    let sock = UdpSocket::bind(args.listen)?;
    if args.print_port {
        println!("{}", sock.local_addr()?.port());
    }
    let contexts = args
        .oscore
        .iter()
        .map(|p| persistent_context(p, true))
        .collect::<Result<Vec<_>>>()?;
    let mut resources = BTreeMap::new();
    resources.insert("/1/0/1".into(), b"86400".to_vec());
    resources.insert("/3/0/0".into(), b"Mote".to_vec());
    resources.insert("/3/0/1".into(), b"mote serve".to_vec());
    resources.insert(
        "/3/0/2".into(),
        format!("{}", std::process::id()).into_bytes(),
    );
    resources.insert("/5/0/0".into(), big_resource());
    let mut server = Server {
        sock,
        contexts,
        resources,
        uploads: BTreeMap::new(),
        observers: vec![],
        dedup: VecDeque::new(),
        echo: EchoIssuer::new(60_000),
        policy: if args.fresh_echo {
            FreshnessPolicy::UNSAFE_METHODS
        } else {
            FreshnessPolicy::NONE
        },
        mid: (std::process::id() & 0xffff) as u16,
        started: Instant::now(),
        counter: 0,
    };
    let interval = Duration::from_millis(args.notify_ms.max(10));
    let mut next_notify = Instant::now() + interval;
    let mut buf = vec![0u8; 65536];
    loop {
        let wait = next_notify
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        server.sock.set_read_timeout(Some(wait))?;
        match server.sock.recv_from(&mut buf) {
            Ok((n, peer)) => {
                let datagram = buf[..n].to_vec();
                if let Err(e) = server.handle(peer, &datagram) {
                    eprintln!("warning: {peer}: {e:#}");
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e.into()),
        }
        if Instant::now() >= next_notify {
            server.counter += 1;
            server.notify_all()?;
            next_notify = Instant::now() + interval;
        }
    }
}

impl Server {
    fn next_mid(&mut self) -> u16 {
        self.mid = self.mid.wrapping_add(1);
        self.mid
    }

    fn send(&self, peer: SocketAddr, bytes: &[u8]) -> Result<()> {
        self.sock.send_to(bytes, peer)?;
        Ok(())
    }

    fn handle(&mut self, peer: SocketAddr, datagram: &[u8]) -> Result<()> {
        let req = Msg::decode(datagram)?;
        if req.code.is_empty() {
            if req.mtype == MessageType::Rst {
                // RFC 7641 §3.6: a Reset cancels the observation it answers.
                self.observers.retain(|o| o.peer != peer);
            }
            return Ok(());
        }
        if !req.code.is_request() {
            return Ok(());
        }
        // RFC 7252 §4.5: a retransmitted CON gets the same response again.
        if req.mtype == MessageType::Con {
            if let Some((_, _, resp)) = self
                .dedup
                .iter()
                .find(|(p, m, _)| *p == peer && *m == req.mid)
            {
                return self.send(peer, &resp.clone());
            }
        }
        let (mtype, mid) = if req.mtype == MessageType::Con {
            (MessageType::Ack, req.mid)
        } else {
            (MessageType::Non, self.next_mid())
        };
        let reply = |code: Code, options: Vec<(u16, Vec<u8>)>, payload: &[u8]| Msg {
            mtype,
            code,
            mid,
            token: req.token.clone(),
            options,
            payload: payload.to_vec(),
        };
        let bytes = if req.option(OptionNumber::OSCORE.0).is_some() {
            self.handle_oscore(peer, datagram, &req, reply)?
        } else if !self.contexts.is_empty() && req.path() != "/.well-known/core" {
            reply(Code::UNAUTHORIZED, vec![], b"OSCORE required").encode()?
        } else {
            let resp = self.application(peer, &req, None, None);
            let mut resp = resp;
            resp.mtype = mtype;
            resp.mid = mid;
            resp.encode()?
        };
        if req.mtype == MessageType::Con {
            self.dedup.push_back((peer, req.mid, bytes.clone()));
            if self.dedup.len() > 256 {
                self.dedup.pop_front();
            }
        }
        self.send(peer, &bytes)
    }

    fn handle_oscore(
        &mut self,
        peer: SocketAddr,
        datagram: &[u8],
        req: &Msg,
        reply: impl Fn(Code, Vec<(u16, Vec<u8>)>, &[u8]) -> Msg,
    ) -> Result<Vec<u8>> {
        let unprotected_error = |e: OscoreError| -> Result<Vec<u8>> {
            let r = e.server_response().unwrap_or(mote_oscore::ErrorResponse {
                code: Code::BAD_REQUEST.0,
                diagnostic: "OSCORE processing failed",
            });
            // RFC 8613 §4.1.3.1: Outer Max-Age 0 on OSCORE error responses.
            reply(
                Code(r.code),
                vec![(OptionNumber::MAX_AGE.0, vec![])],
                r.diagnostic.as_bytes(),
            )
            .encode()
        };
        let option = match peek_oscore_option(Framing::Udp, datagram) {
            Ok(o) => o,
            Err(e) => return unprotected_error(e),
        };
        let Some(ci) = self.contexts.iter().position(|c| {
            option.kid == Some(c.recipient_id())
                && option.kid_context.is_none_or(|k| Some(k) == c.id_context())
        }) else {
            return unprotected_error(OscoreError::ContextNotFound);
        };
        let mut out = vec![0u8; 2 * datagram.len() + 256];
        let ctx = &mut self.contexts[ci];
        let verified = match ctx.unprotect_request(Framing::Udp, datagram, &mut out) {
            Ok(v) => v,
            Err(OscoreError::EchoRequired) => {
                // App. B.1.2: answer with a protected 4.01 carrying Echo, own Partial IV.
                let mut binding = ctx.echo_binding().ok_or_else(|| anyhow!("no binding"))?;
                let echo = random_bytes();
                ctx.issue_replay_echo(&echo)?;
                let inner = reply(
                    Code::UNAUTHORIZED,
                    vec![(OptionNumber::ECHO.0, echo.to_vec())],
                    b"",
                );
                return self.protect(ci, &mut binding, &inner);
            }
            Err(e) => return unprotected_error(e),
        };
        let inner_req = Msg::decode(&out[..verified.len])?;
        let mut binding = verified.binding;
        let now = self.started.elapsed().as_millis() as u64;
        if self
            .policy
            .check(Framing::Udp, &out[..verified.len], &mut self.echo, now)
            .is_err()
        {
            let echo = self.echo.issue(&random_bytes(), now)?;
            let inner = reply(
                Code::UNAUTHORIZED,
                vec![(OptionNumber::ECHO.0, echo.as_slice().to_vec())],
                b"",
            );
            return self.protect(ci, &mut binding, &inner);
        }
        let mut resp = self.application(peer, &inner_req, Some(ci), Some(binding));
        resp.mtype = req.mtype_for_reply();
        resp.mid = reply(Code::EMPTY, vec![], b"").mid;
        resp.token = req.token.clone();
        self.protect(ci, &mut binding, &resp)
    }

    fn protect(&mut self, ci: usize, binding: &mut RequestBinding, inner: &Msg) -> Result<Vec<u8>> {
        let plain = inner.encode()?;
        let mut out = vec![0u8; 2 * plain.len() + 256];
        let n =
            self.contexts[ci].protect_response(Framing::Udp, binding, &plain, false, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// The resources. Observe registrations are recorded here.
    fn application(
        &mut self,
        peer: SocketAddr,
        req: &Msg,
        ctx: Option<usize>,
        binding: Option<RequestBinding>,
    ) -> Msg {
        let path = req.path();
        let mut resp = Msg {
            mtype: MessageType::Ack,
            code: Code::CONTENT,
            mid: 0,
            token: req.token.clone(),
            options: vec![],
            payload: vec![],
        };
        let text = (OptionNumber::CONTENT_FORMAT.0, vec![]);
        match (req.code, path.as_str()) {
            (Code::GET, "/.well-known/core") => {
                resp.options
                    .push((OptionNumber::CONTENT_FORMAT.0, uint(40)));
                let mut links: Vec<String> =
                    self.resources.keys().map(|k| format!("<{k}>")).collect();
                links.push("</3/0/13>;obs".into());
                resp.payload = links.join(",").into_bytes();
            }
            (Code::GET, "/3/0/13") => {
                resp.options.push(text);
                resp.payload = self.current_time().into_bytes();
                if let Some(obs) = req.option(OptionNumber::OBSERVE.0) {
                    self.observers
                        .retain(|o| !(o.peer == peer && o.token == req.token));
                    if decode_uint(obs) == 0 {
                        self.observers.push(Observer {
                            peer,
                            token: req.token.clone(),
                            ctx,
                            binding,
                            path: path.clone(),
                        });
                        resp.options
                            .push((OptionNumber::OBSERVE.0, uint(self.counter)));
                    }
                }
            }
            (Code::GET, _) => match self.resources.get(&path) {
                Some(body) => {
                    let body = body.clone();
                    resp.options.push(if path == "/5/0/0" {
                        (OptionNumber::CONTENT_FORMAT.0, uint(42))
                    } else {
                        text
                    });
                    block2(req, &mut resp, &body);
                }
                None => resp.code = Code::NOT_FOUND,
            },
            (Code::POST, "/3/0/4") => resp.code = Code::CHANGED,
            (Code::PUT | Code::POST, _)
                if path.starts_with("/data") || path == "/5/0/0" || path == "/1/0/1" =>
            {
                let existed = self.resources.contains_key(&path);
                if let Some(b1) = req.option(OptionNumber::BLOCK1.0) {
                    // RFC 7959 §2.5: collect blocks in order, 2.31 Continue until the last.
                    let v = decode_uint(b1);
                    let (num, more, szx) = (v >> 4, v & 8 != 0, v & 7);
                    let key = (peer, path.clone());
                    let acc = self.uploads.entry(key.clone()).or_default();
                    if num == 0 {
                        acc.clear();
                    }
                    if acc.len() != (num as usize) << (szx + 4) {
                        resp.code = Code::REQUEST_ENTITY_INCOMPLETE;
                        return resp;
                    }
                    if acc.len() + req.payload.len() > MAX_UPLOAD {
                        self.uploads.remove(&key);
                        resp.code = Code::REQUEST_ENTITY_TOO_LARGE;
                        return resp;
                    }
                    acc.extend_from_slice(&req.payload);
                    resp.options.push((OptionNumber::BLOCK1.0, uint(v)));
                    if more {
                        resp.code = Code::CONTINUE;
                        return resp;
                    }
                    let body = self.uploads.remove(&key).unwrap_or_default();
                    self.resources.insert(path.clone(), body);
                } else {
                    self.resources.insert(path.clone(), req.payload.clone());
                }
                resp.code = if existed {
                    Code::CHANGED
                } else {
                    Code::CREATED
                };
            }
            (Code::DELETE, _) if path.starts_with("/data") => {
                resp.code = if self.resources.remove(&path).is_some() {
                    Code::DELETED
                } else {
                    Code::NOT_FOUND
                };
            }
            _ => resp.code = Code::METHOD_NOT_ALLOWED,
        }
        resp
    }

    fn current_time(&self) -> String {
        format!("{}", self.counter)
    }

    fn notify_all(&mut self) -> Result<()> {
        let payload = self.current_time().into_bytes();
        let mut sends = vec![];
        for i in 0..self.observers.len() {
            let mid = self.next_mid();
            let o = &mut self.observers[i];
            let msg = Msg {
                mtype: MessageType::Non,
                code: Code::CONTENT,
                mid,
                token: o.token.clone(),
                options: vec![
                    (OptionNumber::OBSERVE.0, uint(self.counter)),
                    (OptionNumber::CONTENT_FORMAT.0, vec![]),
                ],
                payload: payload.clone(),
            };
            let _ = &o.path;
            let bytes = match (o.ctx, &mut o.binding) {
                (Some(ci), Some(b)) => {
                    let plain = msg.encode()?;
                    let mut out = vec![0u8; 2 * plain.len() + 256];
                    let n = self.contexts[ci].protect_response(
                        Framing::Udp,
                        b,
                        &plain,
                        true,
                        &mut out,
                    )?;
                    out.truncate(n);
                    out
                }
                _ => msg.encode()?,
            };
            sends.push((o.peer, bytes));
        }
        for (peer, bytes) in sends {
            self.send(peer, &bytes)?;
        }
        Ok(())
    }
}

trait ReplyType {
    fn mtype_for_reply(&self) -> MessageType;
}

impl ReplyType for Msg {
    fn mtype_for_reply(&self) -> MessageType {
        if self.mtype == MessageType::Con {
            MessageType::Ack
        } else {
            MessageType::Non
        }
    }
}

/// Serves `body` with Block2 when it does not fit one block or the client asked for a
/// block (RFC 7959 §2.4).
fn block2(req: &Msg, resp: &mut Msg, body: &[u8]) {
    let (num, szx) = match req.option(OptionNumber::BLOCK2.0) {
        Some(v) => {
            let v = decode_uint(v);
            (v >> 4, (v & 7).min(6))
        }
        None if body.len() > 1024 => (0, 6),
        None => {
            resp.payload = body.to_vec();
            return;
        }
    };
    let size = 16usize << szx;
    let start = num as usize * size;
    if start >= body.len() && !(start == 0 && body.is_empty()) {
        resp.code = Code::BAD_OPTION;
        return;
    }
    let end = (start + size).min(body.len());
    let more = end < body.len();
    resp.options.push((
        OptionNumber::BLOCK2.0,
        uint((num << 4) | if more { 8 } else { 0 } | szx),
    ));
    if num == 0 {
        resp.options
            .push((OptionNumber::SIZE2.0, uint(body.len() as u32)));
    }
    resp.payload = body[start..end].to_vec();
}
