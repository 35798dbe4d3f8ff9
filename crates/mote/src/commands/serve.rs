//! `mote serve --listen ADDR … [--oscore FILE …] [--objects DIR]`: a CoAP server that plays an
//! LwM2M Client's object tree (see [`crate::object_tree`]: /1/0 Server, /3/0 Device, /5/0
//! Firmware Update, /19/0 with the 4 KiB opaque /19/0/0/0 for block-wise) over UDP
//! (RFC 7252) and TCP (RFC 8323), plus a free-form scratch area `/data/…` for plain CoAP
//! method tests (PUT creates, DELETE removes; not part of the LwM2M tree).
//!
//! LwM2M operations map as in TS Transport 1.2 ("Device Management & Service Enablement
//! Interface"): GET = Read (or Discover with Accept 40), PUT = Write (replace), POST = Create
//! on an Object, partial-update Write on an Object Instance, Execute on a Resource; DELETE =
//! Delete; GET with Observe = Observe (notified every `--notify-ms`, the Current Time /3/0/13
//! advancing). Not implemented: Write-Attributes, the composite operations (FETCH/iPATCH),
//! access control (/2) and the Register/Update client role.
//!
//! With OSCORE (RFC 8613): one or more security contexts chosen by 'kid', sequence numbers
//! persisted (App. B.1.1), the replay window re-established with Echo after a restart
//! (App. B.1.2), optional Echo freshness for unsafe methods (RFC 9175, LwM2M E2E-6); over UDP
//! also message deduplication (RFC 7252 §4.5).
//!
//! With EDHOC (`--edhoc FILE`, RFC 9528 Appendix A.2, RFC 9668): the Responder at
//! /.well-known/edhoc; each completed handshake adds an OSCORE context chosen by its C_R (see
//! [`crate::edhoc_coap`]), kept in memory for the life of the process.
//!
//! Threads: one per UDP socket, one accepting per TCP listener and one per TCP connection,
//! and the notifier; they share the server state behind one mutex, so requests are handled
//! one at a time.

use std::collections::{BTreeMap, VecDeque};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use clap::Args;
use mote_coap::code::{Code, MessageType};
use mote_coap::option::OptionNumber;
use mote_lwm2m::{Path as LwPath, Value};
use mote_oscore::freshness::{EchoCache, FreshnessPolicy};
use mote_oscore::{
    Error as OscoreError, Framing, RequestBinding, SecurityContext, peek_oscore_option,
};

use crate::commands::coap::{Msg, decode_uint, uint};
use crate::context_file::{FileSequenceStore, persistent_context};
use crate::edhoc_coap::{EdhocReply, EdhocResponder};

/// The EDHOC option (RFC 9668 §3.1).
const EDHOC_OPTION: u16 = mote_edhoc::transport::EDHOC_OPTION;

/// The response of the EDHOC resource, as a message: Content-Format 64 when there is a
/// payload (RFC 9528 Appendix A.2).
fn edhoc_reply(reply: impl Fn(Code, Vec<(u16, Vec<u8>)>, &[u8]) -> Msg, r: EdhocReply) -> Msg {
    let options = if r.payload.is_empty() {
        vec![]
    } else {
        vec![(
            OptionNumber::CONTENT_FORMAT.0,
            uint(u32::from(mote_edhoc::transport::CONTENT_FORMAT_EDHOC)),
        )]
    };
    reply(r.code, options, &r.payload)
}
use crate::object_tree::{LINK_FORMAT, ObjectTree, Refusal};
use crate::tcp::{Closed, Connection, Writer, write_frame};

// Moved to the I/O layer; re-exported for `serve` and `proxy`.
pub(crate) use crate::net::{Listen, parse_listen};

/// `mote serve …`
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to listen; repeat for several. `HOST:PORT` or `coap://HOST:PORT` is UDP,
    /// `coap+tcp://HOST:PORT` is TCP (RFC 8323; CSM exchange, then CoAP over TCP framing).
    /// Example: `--listen 127.0.0.1:5683 --listen coap+tcp://127.0.0.1:5683`.
    #[arg(long, value_name = "ADDR", required = true, value_parser = parse_listen)]
    listen: Vec<Listen>,
    /// OSCORE context files (server side); with at least one, every resource but
    /// /.well-known/core requires OSCORE, on every transport.
    #[arg(long, value_name = "FILE")]
    oscore: Vec<PathBuf>,
    /// EDHOC credential file (docs/edhoc-credentials.md): be the EDHOC Responder at
    /// /.well-known/edhoc (RFC 9528 Appendix A.2) and accept EDHOC + OSCORE requests (RFC 9668,
    /// over UDP); each completed handshake adds an OSCORE context. OSCORE is then required as
    /// with --oscore.
    #[arg(long, value_name = "FILE")]
    edhoc: Option<PathBuf>,
    /// With --edhoc: OSCORE contexts from EDHOC kept at most; a handshake beyond replaces
    /// the oldest (whose observations end).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    edhoc_contexts: u16,
    /// DDF XML object definitions to add to (or replace) the built-in ones.
    #[arg(long, value_name = "DIR")]
    objects: Option<PathBuf>,
    /// Demand a fresh Echo (RFC 9175) for POST, PUT, DELETE, PATCH and iPATCH.
    #[arg(long)]
    fresh_echo: bool,
    /// Interval between notifications of observed resources, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    notify_ms: u64,
    /// Print the port actually bound (useful with port 0), one line per --listen, in order.
    #[arg(long)]
    print_port: bool,
}

/// Largest body accepted in a Block1 upload (RFC 7959 §2.9.3: 4.13 beyond it).
const MAX_UPLOAD: usize = 1 << 20;

/// A client as the server tells them apart: the UDP socket (index) and address, or the TCP
/// connection (number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    Udp(usize, SocketAddr),
    Tcp(u64),
}

impl Peer {
    fn framing(self) -> Framing {
        match self {
            Peer::Udp(..) => Framing::Udp,
            Peer::Tcp(_) => Framing::Tcp,
        }
    }
}

/// How long an Echo value issued for request freshness stays valid (RFC 9175 §2.3).
const ECHO_WINDOW: Duration = Duration::from_secs(60);

struct Observer {
    peer: Peer,
    token: Vec<u8>,
    ctx: Option<usize>,
    binding: Option<RequestBinding>,
    path: LwPath,
    accept: Option<u16>,
}

struct Server {
    udp: Vec<UdpSocket>,
    tcp: BTreeMap<u64, Writer>,
    contexts: Vec<SecurityContext<FileSequenceStore>>,
    /// Every resource but /.well-known/core (and /.well-known/edhoc) needs OSCORE.
    oscore_required: bool,
    /// The EDHOC Responder (`--edhoc`).
    edhoc: Option<EdhocResponder>,
    /// Indices in `contexts` of the EDHOC-derived contexts, oldest first.
    edhoc_slots: VecDeque<usize>,
    /// At most this many EDHOC-derived contexts (`--edhoc-contexts`).
    edhoc_max: usize,
    tree: ObjectTree,
    scratch: BTreeMap<String, Vec<u8>>,
    uploads: BTreeMap<(Peer, String), Vec<u8>>,
    observers: Vec<Observer>,
    dedup: VecDeque<(Peer, u16, Vec<u8>)>,
    echo: EchoCache<8>,
    policy: FreshnessPolicy,
    mid: u16,
    started: Instant,
    observe_seq: u32,
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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn lock(server: &Mutex<Server>) -> Result<MutexGuard<'_, Server>> {
    server.lock().map_err(|_| anyhow!("server state poisoned"))
}

/// Runs `mote serve`.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    let contexts = args
        .oscore
        .iter()
        .map(|p| persistent_context(p, true))
        .collect::<Result<Vec<_>>>()?;
    let edhoc = args
        .edhoc
        .as_ref()
        .map(|p| -> Result<EdhocResponder> {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow!("cannot read {}: {e}", p.display()))?;
            EdhocResponder::new(crate::commands::edhoc::load_credential_file(&text)?)
        })
        .transpose()?;
    let defs = crate::commands::lwm2m::registry(args.objects.as_deref())?;
    let mut udp = vec![];
    let mut tcp = vec![];
    for l in &args.listen {
        let port = match *l {
            Listen::Udp(a) => {
                let s = UdpSocket::bind(a)?;
                let p = s.local_addr()?.port();
                udp.push(s);
                p
            }
            Listen::Tcp(a) => {
                let s = TcpListener::bind(a)?;
                let p = s.local_addr()?.port();
                tcp.push(s);
                p
            }
        };
        if args.print_port {
            println!("{port}");
        }
    }
    let server = Arc::new(Mutex::new(Server {
        udp: udp
            .iter()
            .map(UdpSocket::try_clone)
            .collect::<std::io::Result<_>>()?,
        tcp: BTreeMap::new(),
        oscore_required: !contexts.is_empty() || edhoc.is_some(),
        contexts,
        edhoc,
        edhoc_slots: VecDeque::new(),
        edhoc_max: usize::from(args.edhoc_contexts),
        tree: ObjectTree::new(defs, unix_now()),
        scratch: BTreeMap::new(),
        uploads: BTreeMap::new(),
        observers: vec![],
        dedup: VecDeque::new(),
        echo: EchoCache::new(),
        policy: if args.fresh_echo {
            FreshnessPolicy::UNSAFE_METHODS
        } else {
            FreshnessPolicy::NONE
        },
        mid: (std::process::id() & 0xffff) as u16,
        started: Instant::now(),
        observe_seq: 0,
    }));
    for (i, sock) in udp.into_iter().enumerate() {
        let server = Arc::clone(&server);
        std::thread::spawn(move || serve_udp(&server, i, &sock));
    }
    for listener in tcp {
        let server = Arc::clone(&server);
        std::thread::spawn(move || accept_tcp(&server, &listener));
    }
    let interval = Duration::from_millis(args.notify_ms.max(10));
    loop {
        // The notifier: a periodic timer, not a synchronization.
        std::thread::sleep(interval);
        let mut s = lock(&server)?;
        s.observe_seq += 1;
        s.tree.set(&"/3/0/13".parse()?, Value::Time(unix_now()));
        s.notify_all();
    }
}

fn serve_udp(server: &Mutex<Server>, index: usize, sock: &UdpSocket) {
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("warning: UDP receive: {e}");
                continue;
            }
        };
        let peer = Peer::Udp(index, from);
        let Ok(mut s) = lock(server) else { return };
        match s.handle(peer, &buf[..n]) {
            Ok(Some(reply)) => {
                if let Err(e) = s.send(peer, &reply) {
                    eprintln!("warning: {from}: {e:#}");
                }
            }
            Ok(None) => {}
            Err(e) => eprintln!("warning: {from}: {e:#}"),
        }
    }
}

fn accept_tcp(server: &Arc<Mutex<Server>>, listener: &TcpListener) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        next_id += 1;
        let id = next_id;
        let server = Arc::clone(server);
        std::thread::spawn(move || {
            let addr = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            match serve_tcp(&server, id, stream) {
                Err(e) if e.downcast_ref::<Closed>().is_none() => {
                    eprintln!("warning: TCP {addr}: {e:#}");
                }
                _ => {}
            }
            // The connection is gone, and so are the observations made on it.
            if let Ok(mut s) = lock(&server) {
                s.tcp.remove(&id);
                s.observers.retain(|o| o.peer != Peer::Tcp(id));
            }
        });
    }
}

fn serve_tcp(server: &Mutex<Server>, id: u64, stream: std::net::TcpStream) -> Result<()> {
    let mut conn = Connection::new(stream)?;
    lock(server)?.tcp.insert(id, conn.writer());
    loop {
        let Some(frame) = conn.recv(None)? else {
            continue;
        };
        let reply = lock(server)?.handle(Peer::Tcp(id), &frame)?;
        if let Some(reply) = reply {
            conn.send(&reply)?;
        }
    }
}

impl Server {
    fn next_mid(&mut self) -> u16 {
        self.mid = self.mid.wrapping_add(1);
        self.mid
    }

    fn send(&self, peer: Peer, bytes: &[u8]) -> Result<()> {
        match peer {
            Peer::Udp(i, addr) => {
                let sock = self.udp.get(i).ok_or_else(|| anyhow!("no socket {i}"))?;
                sock.send_to(bytes, addr)?;
            }
            Peer::Tcp(id) => {
                let w = self
                    .tcp
                    .get(&id)
                    .ok_or_else(|| anyhow!("connection {id} closed"))?;
                write_frame(w, bytes)?;
            }
        }
        Ok(())
    }

    /// Handles one datagram or frame; returns the reply in the same framing.
    fn handle(&mut self, peer: Peer, wire: &[u8]) -> Result<Option<Vec<u8>>> {
        let framing = peer.framing();
        let req = Msg::decode_framed(framing, wire)?;
        if req.code.is_empty() {
            if framing == Framing::Udp && req.mtype == MessageType::Rst {
                // RFC 7641 §3.6: a Reset cancels the observation it answers.
                self.observers.retain(|o| o.peer != peer);
            }
            return Ok(None);
        }
        if !req.code.is_request() {
            return Ok(None);
        }
        // RFC 7252 §4.5: a retransmitted CON gets the same response again.
        if framing == Framing::Udp && req.mtype == MessageType::Con {
            if let Some((_, _, resp)) = self
                .dedup
                .iter()
                .find(|(p, m, _)| *p == peer && *m == req.mid)
            {
                return Ok(Some(resp.clone()));
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
        let edhoc_post = req.code == Code::POST && req.path() == "/.well-known/edhoc";
        let bytes = if req.option(EDHOC_OPTION).is_some()
            && (self.edhoc.is_none() || req.option(OptionNumber::OSCORE.0).is_none())
        {
            // The EDHOC option is critical (RFC 9668 §3.1): without --edhoc, or outside an
            // OSCORE request, it is an option this server does not process (RFC 7252 §5.4.1).
            reply(Code::BAD_OPTION, vec![], b"EDHOC option not processed").encode_framed(framing)?
        } else if req.option(EDHOC_OPTION).is_some() {
            self.handle_combined(peer, wire, reply)?
        } else if req.option(OptionNumber::OSCORE.0).is_some() {
            self.handle_oscore(peer, wire, reply)?
        } else if edhoc_post && self.edhoc.is_some() {
            let contexts = &self.contexts;
            let in_use = |id: &[u8]| contexts.iter().any(|c| c.recipient_id() == id);
            let (r, ctx) = self
                .edhoc
                .as_mut()
                .ok_or_else(|| anyhow!("no EDHOC responder"))?
                .post(&req.payload, &in_use);
            if let Some(ctx) = ctx {
                self.add_edhoc_context(ctx);
            }
            edhoc_reply(reply, r).encode_framed(framing)?
        } else if self.oscore_required && req.path() != "/.well-known/core" {
            reply(Code::UNAUTHORIZED, vec![], b"OSCORE required").encode_framed(framing)?
        } else {
            let mut resp = self.application(peer, &req, None, None);
            resp.mtype = mtype;
            resp.mid = mid;
            resp.encode_framed(framing)?
        };
        if framing == Framing::Udp && req.mtype == MessageType::Con {
            self.dedup.push_back((peer, req.mid, bytes.clone()));
            if self.dedup.len() > 256 {
                self.dedup.pop_front();
            }
        }
        Ok(Some(bytes))
    }

    /// An EDHOC + OSCORE request (RFC 9668 §3.3.1): message_3 completes the session named by
    /// the OSCORE 'kid' (C_R), then the rebuilt OSCORE request is processed with the new
    /// context. A failed EDHOC step is answered with an unprotected EDHOC error message.
    fn handle_combined(
        &mut self,
        peer: Peer,
        wire: &[u8],
        reply: impl Fn(Code, Vec<(u16, Vec<u8>)>, &[u8]) -> Msg,
    ) -> Result<Vec<u8>> {
        let framing = peer.framing();
        // Split in the request's own framing (RFC 8323 §3.2 over TCP); the OSCORE request comes
        // back in it, never longer than the combined request.
        let split_framing = match framing {
            Framing::Udp => mote_edhoc::transport::Framing::Udp,
            Framing::Tcp => mote_edhoc::transport::Framing::Tcp,
        };
        let mut rebuilt = vec![0u8; wire.len()];
        let split = match mote_edhoc::transport::split_combined_request_framed(
            wire,
            split_framing,
            &mut rebuilt,
        ) {
            Ok(c) => c,
            // §3.3.1 step 1: a malformed EDHOC + OSCORE request is a 4.00.
            Err(e) => {
                return reply(Code::BAD_REQUEST, vec![], e.to_string().as_bytes())
                    .encode_framed(framing);
            }
        };
        let edhoc = self
            .edhoc
            .as_mut()
            .ok_or_else(|| anyhow!("no EDHOC responder"))?;
        match edhoc.complete(&split.c_r, split.message_3, false) {
            Ok((ctx, _)) => self.add_edhoc_context(ctx),
            Err(e) => {
                // §3.3.1 step 4: an EDHOC error message (ERR_CODE 1), not protected.
                let payload = mote_edhoc::transport::combined_request_error(&e)
                    .map(|m| m.as_slice().to_vec())
                    .unwrap_or_default();
                let r = EdhocReply {
                    code: mote_edhoc::transport::error_response_code(&e),
                    payload,
                };
                return edhoc_reply(reply, r).encode_framed(framing);
            }
        }
        rebuilt.truncate(split.oscore_request_len);
        self.handle_oscore(peer, &rebuilt, reply)
    }

    /// Keeps an EDHOC-derived context: in place of one with the same Recipient ID (a context
    /// is chosen by 'kid', so two with one ID could not be told apart), else in a new slot, or
    /// beyond `--edhoc-contexts` in the slot of the oldest EDHOC-derived context. Observations
    /// under a replaced context end (their notifications could not be protected any more).
    fn add_edhoc_context(&mut self, ctx: SecurityContext<FileSequenceStore>) {
        let same = self
            .contexts
            .iter()
            .position(|c| c.recipient_id() == ctx.recipient_id());
        let slot = match same {
            Some(i) => {
                self.edhoc_slots.retain(|&s| s != i);
                Some(i)
            }
            None if self.edhoc_slots.len() >= self.edhoc_max => self.edhoc_slots.pop_front(),
            None => None,
        };
        let i = match slot {
            Some(i) if i < self.contexts.len() => {
                self.observers.retain(|o| o.ctx != Some(i));
                self.contexts[i] = ctx;
                i
            }
            _ => {
                self.contexts.push(ctx);
                self.contexts.len() - 1
            }
        };
        self.edhoc_slots.push_back(i);
    }

    fn handle_oscore(
        &mut self,
        peer: Peer,
        wire: &[u8],
        reply: impl Fn(Code, Vec<(u16, Vec<u8>)>, &[u8]) -> Msg,
    ) -> Result<Vec<u8>> {
        let framing = peer.framing();
        let unprotected_error = |e: OscoreError| -> Result<Vec<u8>> {
            let r = e.server_response().unwrap_or(mote_oscore::ErrorResponse {
                code: Code::BAD_REQUEST,
                diagnostic: "OSCORE processing failed",
            });
            // RFC 8613 §4.1.3.1: Outer Max-Age 0 on OSCORE error responses.
            reply(
                r.code,
                vec![(OptionNumber::MAX_AGE.0, vec![])],
                r.diagnostic.as_bytes(),
            )
            .encode_framed(framing)
        };
        let option = match peek_oscore_option(framing, wire) {
            Ok(o) => o,
            Err(e) => return unprotected_error(e),
        };
        let Some(ci) = self.contexts.iter().position(|c| {
            option.kid == Some(c.recipient_id())
                && option.kid_context.is_none_or(|k| Some(k) == c.id_context())
        }) else {
            return unprotected_error(OscoreError::ContextNotFound);
        };
        let mut out = vec![0u8; 2 * wire.len() + 256];
        let ctx = &mut self.contexts[ci];
        let verified = match ctx.unprotect_request(framing, wire, &mut out) {
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
                return self.protect(ci, framing, &mut binding, &inner);
            }
            Err(e) => return unprotected_error(e),
        };
        let inner_req = Msg::decode_framed(framing, &out[..verified.len])?;
        let mut binding = verified.binding;
        if inner_req.option(EDHOC_OPTION).is_some() {
            // RFC 9668 §3.3.1 step 8: the EDHOC option is class U, so inside the protected
            // request it is an unprocessed critical option.
            let inner = reply(Code::BAD_OPTION, vec![], b"EDHOC option inside OSCORE");
            return self.protect(ci, framing, &mut binding, &inner);
        }
        let now = self.started.elapsed();
        if self
            .policy
            .check(
                framing,
                &out[..verified.len],
                &mut self.echo,
                now,
                ECHO_WINDOW,
            )
            .is_err()
        {
            let echo = self.echo.issue(&random_bytes(), now)?;
            let inner = reply(
                Code::UNAUTHORIZED,
                vec![(OptionNumber::ECHO.0, echo.as_bytes().to_vec())],
                b"",
            );
            return self.protect(ci, framing, &mut binding, &inner);
        }
        let mut resp = self.application(peer, &inner_req, Some(ci), Some(binding));
        let outer = reply(Code::EMPTY, vec![], b"");
        resp.mtype = outer.mtype;
        resp.mid = outer.mid;
        resp.token = outer.token;
        self.protect(ci, framing, &mut binding, &resp)
    }

    fn protect(
        &mut self,
        ci: usize,
        framing: Framing,
        binding: &mut RequestBinding,
        inner: &Msg,
    ) -> Result<Vec<u8>> {
        let plain = inner.encode_framed(framing)?;
        let mut out = vec![0u8; 2 * plain.len() + 256];
        let n = self.contexts[ci].protect_response(framing, binding, &plain, false, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// Collects a Block1 upload (RFC 7959 §2.5): `Some(body)` when the body is complete (or
    /// came in one piece); `None` when `resp` already holds the answer (2.31 Continue, 4.08,
    /// 4.13).
    fn block1(&mut self, peer: Peer, req: &Msg, resp: &mut Msg) -> Option<Vec<u8>> {
        let Some(b1) = req.option(OptionNumber::BLOCK1.0) else {
            return Some(req.payload.clone());
        };
        let v = decode_uint(b1);
        let (num, more, szx) = (v >> 4, v & 8 != 0, v & 7);
        let key = (peer, req.path());
        let acc = self.uploads.entry(key.clone()).or_default();
        if num == 0 {
            acc.clear();
        }
        if szx == 7 || acc.len() != (num as usize) << (szx + 4) {
            resp.code = Code::REQUEST_ENTITY_INCOMPLETE;
            return None;
        }
        if acc.len() + req.payload.len() > MAX_UPLOAD {
            self.uploads.remove(&key);
            resp.code = Code::REQUEST_ENTITY_TOO_LARGE;
            return None;
        }
        acc.extend_from_slice(&req.payload);
        resp.options.push((OptionNumber::BLOCK1.0, uint(v)));
        if more {
            resp.code = Code::CONTINUE;
            return None;
        }
        Some(self.uploads.remove(&key).unwrap_or_default())
    }

    /// The resources. Observe registrations are recorded here.
    fn application(
        &mut self,
        peer: Peer,
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
        if req.code == Code::GET && path == "/.well-known/core" {
            resp.options
                .push((OptionNumber::CONTENT_FORMAT.0, uint(u32::from(LINK_FORMAT))));
            let mut links = self.tree.registration_links();
            links.push_str(",</data>");
            block2(req, &mut resp, links.as_bytes());
            return resp;
        }
        if path == "/data" || path.starts_with("/data/") {
            self.scratch(peer, req, &mut resp, &path);
            return resp;
        }
        let Ok(lw) = path.parse::<LwPath>() else {
            resp.code = Code::NOT_FOUND;
            return resp;
        };
        let accept = req
            .option(OptionNumber::ACCEPT.0)
            .map(|v| decode_uint(v) as u16);
        let cf = req
            .option(OptionNumber::CONTENT_FORMAT.0)
            .map(|v| decode_uint(v) as u16);
        let result: Result<(), Refusal> = match req.code {
            Code::GET if accept == Some(LINK_FORMAT) => self.tree.discover(&lw).map(|links| {
                resp.options
                    .push((OptionNumber::CONTENT_FORMAT.0, uint(u32::from(LINK_FORMAT))));
                block2(req, &mut resp, links.as_bytes());
            }),
            Code::GET => self.tree.read(&lw, accept).map(|(format, body)| {
                resp.options
                    .push((OptionNumber::CONTENT_FORMAT.0, uint(u32::from(format))));
                if let Some(obs) = req.option(OptionNumber::OBSERVE.0) {
                    // RFC 7641 §2: 0 registers, 1 deregisters (same client and token).
                    self.observers
                        .retain(|o| !(o.peer == peer && o.token == req.token));
                    if decode_uint(obs) == 0 {
                        self.observers.push(Observer {
                            peer,
                            token: req.token.clone(),
                            ctx,
                            binding,
                            path: lw,
                            accept,
                        });
                        resp.options
                            .push((OptionNumber::OBSERVE.0, uint(self.observe_seq)));
                    }
                }
                block2(req, &mut resp, &body);
            }),
            Code::PUT | Code::POST => match self.block1(peer, req, &mut resp) {
                None => return resp,
                Some(body) => match (req.code, lw.len()) {
                    (Code::PUT, _) => self.tree.write(&lw, cf, &body, true).map(|()| {
                        resp.code = Code::CHANGED;
                    }),
                    (_, 1) => self.tree.create(&lw, cf, &body).map(|created| {
                        resp.code = Code::CREATED;
                        for id in created.ids() {
                            resp.options
                                .push((OptionNumber::LOCATION_PATH.0, id.to_string().into_bytes()));
                        }
                    }),
                    (_, 2) => self.tree.write(&lw, cf, &body, false).map(|()| {
                        resp.code = Code::CHANGED;
                    }),
                    _ => self.tree.execute(&lw).map(|()| resp.code = Code::CHANGED),
                },
            },
            Code::DELETE => self.tree.delete(&lw).map(|()| resp.code = Code::DELETED),
            _ => Err(Refusal {
                code: Code::METHOD_NOT_ALLOWED,
                diagnostic: format!("{} is not an LwM2M operation here", req.code),
            }),
        };
        if let Err(r) = result {
            resp.options.clear();
            resp.code = r.code;
            resp.payload = r.diagnostic.into_bytes();
        }
        resp
    }

    /// The `/data/…` scratch area: opaque bodies, PUT/POST store (2.01 when new, 2.04
    /// otherwise), GET reads, DELETE removes.
    fn scratch(&mut self, peer: Peer, req: &Msg, resp: &mut Msg, path: &str) {
        match req.code {
            Code::GET => match self.scratch.get(path) {
                Some(body) => {
                    let body = body.clone();
                    block2(req, resp, &body);
                }
                None => resp.code = Code::NOT_FOUND,
            },
            Code::PUT | Code::POST => {
                let Some(body) = self.block1(peer, req, resp) else {
                    return;
                };
                let existed = self.scratch.insert(path.to_owned(), body).is_some();
                resp.code = if existed {
                    Code::CHANGED
                } else {
                    Code::CREATED
                };
            }
            Code::DELETE => {
                resp.code = if self.scratch.remove(path).is_some() {
                    Code::DELETED
                } else {
                    Code::NOT_FOUND
                };
            }
            _ => resp.code = Code::METHOD_NOT_ALLOWED,
        }
    }

    /// Sends every observer a notification with the current value of its path (in the
    /// format of its registration); observers that cannot be reached any more are dropped.
    fn notify_all(&mut self) {
        let mut gone = vec![];
        for i in 0..self.observers.len() {
            let mid = self.next_mid();
            let seq = self.observe_seq;
            let Some(o) = self.observers.get(i) else {
                break;
            };
            let (peer, token, ctx, path, accept) =
                (o.peer, o.token.clone(), o.ctx, o.path, o.accept);
            let mut msg = Msg {
                mtype: MessageType::Non,
                code: Code::CONTENT,
                mid,
                token,
                options: vec![(OptionNumber::OBSERVE.0, uint(seq))],
                payload: vec![],
            };
            match self.tree.read(&path, accept) {
                Ok((format, body)) => {
                    msg.options
                        .push((OptionNumber::CONTENT_FORMAT.0, uint(u32::from(format))));
                    let first = msg.clone();
                    block2(&first, &mut msg, &body);
                }
                Err(r) => {
                    // The resource went away: a final error notification (RFC 7641 §3.2).
                    msg.options.clear();
                    msg.code = r.code;
                    gone.push(i);
                }
            }
            let framing = peer.framing();
            let bytes = match (
                ctx,
                self.observers.get_mut(i).and_then(|o| o.binding.as_mut()),
            ) {
                (Some(ci), Some(b)) => msg.encode_framed(framing).and_then(|plain| {
                    let mut out = vec![0u8; 2 * plain.len() + 256];
                    let n =
                        self.contexts[ci].protect_response(framing, b, &plain, true, &mut out)?;
                    out.truncate(n);
                    Ok(out)
                }),
                _ => msg.encode_framed(framing),
            };
            match bytes.and_then(|b| self.send(peer, &b)) {
                Ok(()) => {}
                Err(_) => gone.push(i),
            }
        }
        let mut i = 0;
        self.observers.retain(|_| {
            let keep = !gone.contains(&i);
            i += 1;
            keep
        });
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
