//! `mote coap get|put|post|delete|fetch|patch|ipatch URI …`: a CoAP client over UDP
//! (`coap://`, confirmable retransmission, RFC 7252 §4.2) or TCP (`coap+tcp://`, RFC 8323
//! framing after the CSM exchange), with block-wise transfers in both directions
//! (RFC 7959), Observe (RFC 7641) and OSCORE (RFC 8613) with Echo recovery (RFC 9175,
//! RFC 8613 Appendix B.1.2). Also the shared bits of `mote serve` and `mote proxy`: a simple
//! owned message in either framing and the file-backed sequence-number store of
//! Appendix B.1.1.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use mote_coap::code::{Code, MessageType};
use mote_coap::message::{Message, MessageWriter};
use mote_coap::option::OptionNumber;
use mote_coap::tcp::Frame;
use mote_coap::uri::{Destination, Scheme, Uri};
use mote_oscore::{Framing, RequestBinding, SecurityContext};

use crate::context_file::{FileSequenceStore, persistent_context};
use crate::tcp::Connection;

/// A CoAP message owned by the networking code. Over TCP (RFC 8323) `mtype` and `mid` do
/// not exist on the wire: they are ignored when encoding and `CON`/0 after decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub(crate) mtype: MessageType,
    pub(crate) code: Code,
    pub(crate) mid: u16,
    pub(crate) token: Vec<u8>,
    /// Options in ascending order.
    pub(crate) options: Vec<(u16, Vec<u8>)>,
    pub(crate) payload: Vec<u8>,
}

impl Msg {
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let m = Message::decode(bytes).map_err(|e| anyhow!("malformed CoAP message: {e}"))?;
        Ok(Self {
            mtype: m.mtype(),
            code: m.code(),
            mid: m.message_id(),
            token: m.token().to_vec(),
            options: m
                .options()
                .map(|o| (o.number.0, o.value.to_vec()))
                .collect(),
            payload: m.payload().to_vec(),
        })
    }

    /// Decodes a message in `framing` (a UDP datagram or exactly one TCP frame).
    pub(crate) fn decode_framed(framing: Framing, bytes: &[u8]) -> Result<Self> {
        match framing {
            Framing::Udp => Self::decode(bytes),
            Framing::Tcp => {
                let f = Frame::decode_exact(bytes, &crate::tcp::LIMITS)
                    .map_err(|e| anyhow!("malformed CoAP over TCP frame: {e}"))?;
                Ok(Self {
                    mtype: MessageType::Con,
                    code: f.code(),
                    mid: 0,
                    token: f.token().to_vec(),
                    options: f
                        .options()
                        .map(|o| (o.number.0, o.value.to_vec()))
                        .collect(),
                    payload: f.payload().to_vec(),
                })
            }
        }
    }

    /// Encodes in `framing`.
    pub(crate) fn encode_framed(&self, framing: Framing) -> Result<Vec<u8>> {
        match framing {
            Framing::Udp => self.encode(),
            Framing::Tcp => {
                let mut opts = self.options.clone();
                opts.sort_by_key(|o| o.0);
                let mut f = mote_coap::tcp::OwnedFrame::new(self.code)
                    .with_token(self.token.clone())
                    .with_payload(self.payload.clone());
                for (n, v) in &opts {
                    f = f.with_option(OptionNumber(*n), v);
                }
                f.to_vec().map_err(|e| anyhow!("{e}"))
            }
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let mut opts = self.options.clone();
        opts.sort_by_key(|o| o.0);
        let len =
            4 + 8 + self.payload.len() + 1 + opts.iter().map(|o| o.1.len() + 5).sum::<usize>();
        let mut buf = vec![0u8; len];
        let mut w = MessageWriter::new(&mut buf, self.mtype, self.code, self.mid, &self.token)
            .map_err(|e| anyhow!("{e}"))?;
        for (n, v) in &opts {
            w.option(OptionNumber(*n), v).map_err(|e| anyhow!("{e}"))?;
        }
        let n = w.payload(&self.payload).map_err(|e| anyhow!("{e}"))?;
        buf.truncate(n);
        Ok(buf)
    }

    pub(crate) fn option(&self, n: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|o| o.0 == n)
            .map(|o| o.1.as_slice())
    }

    pub(crate) fn set_option(&mut self, n: u16, v: Vec<u8>) {
        self.options.retain(|o| o.0 != n);
        self.options.push((n, v));
        self.options.sort_by_key(|o| o.0);
    }

    #[allow(
        dead_code,
        reason = "`mote serve` no longer uses it; removed with `Msg`"
    )]
    pub(crate) fn path(&self) -> String {
        let segs: Vec<String> = self
            .options
            .iter()
            .filter(|o| o.0 == OptionNumber::URI_PATH.0)
            .map(|o| String::from_utf8_lossy(&o.1).into_owned())
            .collect();
        format!("/{}", segs.join("/"))
    }
}

/// Minimal uint encoding (RFC 7252 §3.2).
pub(crate) fn uint(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take_while(|&&x| x == 0).count();
    b[skip..].to_vec()
}

/// Decodes a uint option value.
pub(crate) fn decode_uint(v: &[u8]) -> u32 {
    v.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b))
}

/// The request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Delete,
    Fetch,
    Patch,
    Ipatch,
}

impl Method {
    fn code(self) -> Code {
        match self {
            Self::Get => Code::GET,
            Self::Post => Code::POST,
            Self::Put => Code::PUT,
            Self::Delete => Code::DELETE,
            Self::Fetch => Code::FETCH,
            Self::Patch => Code::PATCH,
            Self::Ipatch => Code::IPATCH,
        }
    }
}

/// `mote coap METHOD URI …`
#[derive(Debug, Args)]
pub(crate) struct CoapArgs {
    /// The method.
    #[arg(value_enum)]
    method: Method,
    /// The target, `coap://host[:port]/path?query` (UDP) or `coap+tcp://host[:port]/path`
    /// (TCP, RFC 8323: CSM exchange first, default port 5683).
    uri: String,
    /// Request payload (text).
    #[arg(long, conflicts_with = "payload_file")]
    payload: Option<String>,
    /// Request payload from a file.
    #[arg(long, value_name = "PATH")]
    payload_file: Option<PathBuf>,
    /// Content-Format of the payload.
    #[arg(long, value_name = "N")]
    content_format: Option<u16>,
    /// Accept option.
    #[arg(long, value_name = "N")]
    accept: Option<u16>,
    /// Register an observation and print notifications.
    #[arg(long)]
    observe: bool,
    /// With --observe: stop after N notifications (the first response counts).
    #[arg(long, value_name = "N", requires = "observe")]
    count: Option<u32>,
    /// Block size for block-wise transfers (16…1024).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    block_size: u16,
    /// OSCORE context file (JSON, see `mote oscore`).
    #[arg(long, value_name = "FILE", conflicts_with = "edhoc")]
    oscore: Option<PathBuf>,
    /// EDHOC credential file (docs/edhoc-credentials.md): run EDHOC with the server's
    /// /.well-known/edhoc first (RFC 9528 Appendix A.2) and protect the request with the
    /// OSCORE context it yields; over UDP message_3 travels inside that request (RFC 9668).
    #[arg(long, value_name = "FILE")]
    edhoc: Option<PathBuf>,
    /// Print each response in the `decode --as coap` JSON shape (payload: the whole body).
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds without a response.
    #[arg(long, value_name = "S", default_value_t = 30)]
    timeout: u64,
}

/// How a client reaches its server.
enum Transport {
    /// CoAP over UDP (RFC 7252): one socket, the server's address.
    Udp { sock: UdpSocket, peer: SocketAddr },
    /// CoAP over TCP (RFC 8323): one connection, CSMs exchanged.
    Tcp(Connection),
}

/// A client endpoint: transport, OSCORE context, Message ID and token counters.
pub(crate) struct Client {
    transport: Transport,
    ctx: Option<SecurityContext<FileSequenceStore>>,
    /// EDHOC message_3 (and the C_R it goes to) to send inside the next OSCORE request
    /// (RFC 9668 §3.2.1).
    pending_message_3: Option<(mote_edhoc::ConnId, Vec<u8>)>,
    mid: u16,
    token: u64,
    deadline: Duration,
}

/// One response, decrypted.
pub(crate) struct Exchange {
    pub(crate) response: Msg,
    binding: Option<RequestBinding>,
    token: Vec<u8>,
}

/// The text of an EDHOC error message in a response with Content-Format 64 (RFC 9528 §6).
fn edhoc_error_text(resp: &Msg) -> Option<String> {
    let cf = resp
        .option(OptionNumber::CONTENT_FORMAT.0)
        .map(decode_uint)?;
    (cf == u32::from(mote_edhoc::transport::CONTENT_FORMAT_EDHOC))
        .then(|| edhoc_error_message(&resp.payload))
}

/// An EDHOC error message (RFC 9528 §6) as text.
pub(crate) fn edhoc_error_message(payload: &[u8]) -> String {
    match mote_edhoc::ErrorMessage::parse(payload) {
        Ok(mote_edhoc::ErrorMessage::Unspecified(t)) => t.to_string(),
        Ok(mote_edhoc::ErrorMessage::WrongSelectedCipherSuite(s)) => {
            format!("wrong selected cipher suite, supported {:?}", s.as_slice())
        }
        Ok(mote_edhoc::ErrorMessage::UnknownCredential) => "unknown credential".into(),
        Ok(other) => format!("ERR_CODE {}", other.code()),
        Err(e) => format!("not an EDHOC error message ({e})"),
    }
}

fn szx_of(size: u16) -> Result<u8> {
    match size {
        16 => Ok(0),
        32 => Ok(1),
        64 => Ok(2),
        128 => Ok(3),
        256 => Ok(4),
        512 => Ok(5),
        1024 => Ok(6),
        _ => bail!("block size must be a power of two from 16 to 1024"),
    }
}

impl Client {
    /// A client for `peer` over UDP, or over TCP when `tcp` (connecting and exchanging CSMs
    /// now).
    pub(crate) fn new(
        peer: SocketAddr,
        tcp: bool,
        oscore: Option<&Path>,
        deadline: Duration,
    ) -> Result<Self> {
        let transport = if tcp {
            Transport::Tcp(Connection::connect(peer, deadline)?)
        } else {
            let bind: SocketAddr = if peer.is_ipv6() {
                "[::]:0".parse()?
            } else {
                "0.0.0.0:0".parse()?
            };
            Transport::Udp {
                sock: UdpSocket::bind(bind)?,
                peer,
            }
        };
        let ctx = oscore.map(|p| persistent_context(p, false)).transpose()?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Ok(Self {
            transport,
            ctx,
            pending_message_3: None,
            mid: (seed & 0xffff) as u16,
            token: u64::from(seed) << 16 | u64::from(std::process::id() & 0xffff),
            deadline,
        })
    }

    /// Runs EDHOC with the server's `/.well-known/edhoc` and keeps the OSCORE context for the
    /// following requests: over UDP message_3 waits for the first of them (RFC 9668), over
    /// TCP it is sent to the EDHOC resource now.
    pub(crate) fn run_edhoc(&mut self, setup: &crate::commands::edhoc::EdhocSetup) -> Result<()> {
        let done = crate::edhoc_coap::initiate(setup, &mut |p| self.edhoc_post(p))?;
        let ctx = if self.framing() == Framing::Udp {
            self.pending_message_3 = Some((done.c_r.clone(), done.message_3.clone()));
            done.context(None)?
        } else {
            let message_4 = self.post_message_3(&done.c_r, &done.message_3)?;
            done.context((!message_4.is_empty()).then_some(message_4.as_slice()))?
        };
        self.ctx = Some(ctx);
        Ok(())
    }

    /// POSTs `C_R, message_3` to `/.well-known/edhoc`; returns the 2.04's payload (message_4,
    /// or nothing).
    fn post_message_3(&mut self, c_r: &mote_edhoc::ConnId, message_3: &[u8]) -> Result<Vec<u8>> {
        let payload = mote_edhoc::transport::prefixed_payload(c_r, message_3)
            .map_err(|e| anyhow!("EDHOC: {e}"))?;
        let (code, body) = self.edhoc_post(payload.as_slice())?;
        if code != Code::CHANGED {
            bail!(
                "EDHOC message_3 refused with {code}: {}",
                edhoc_error_message(&body)
            );
        }
        Ok(body)
    }

    /// POSTs `payload` (Content-Format 65) to `/.well-known/edhoc`, unprotected; returns the
    /// response code and payload.
    fn edhoc_post(&mut self, payload: &[u8]) -> Result<(Code, Vec<u8>)> {
        let req = Msg {
            mtype: MessageType::Con,
            code: Code::POST,
            mid: 0,
            token: self.next_token(),
            options: vec![
                (OptionNumber::URI_PATH.0, b".well-known".to_vec()),
                (OptionNumber::URI_PATH.0, b"edhoc".to_vec()),
                (
                    OptionNumber::CONTENT_FORMAT.0,
                    uint(u32::from(mote_edhoc::transport::CONTENT_FORMAT_CID_EDHOC)),
                ),
            ],
            payload: payload.to_vec(),
        };
        let ex = self.exchange_once(&req)?;
        Ok((ex.response.code, ex.response.payload))
    }

    /// The Max-Message-Size the server indicated in its CSM (TCP only).
    fn peer_max_message_size(&self) -> Option<usize> {
        match &self.transport {
            Transport::Udp { .. } => None,
            Transport::Tcp(c) => usize::try_from(c.peer_settings.max_message_size).ok(),
        }
    }

    fn framing(&self) -> Framing {
        match self.transport {
            Transport::Udp { .. } => Framing::Udp,
            Transport::Tcp(_) => Framing::Tcp,
        }
    }

    fn next_mid(&mut self) -> u16 {
        self.mid = self.mid.wrapping_add(1);
        self.mid
    }

    fn next_token(&mut self) -> Vec<u8> {
        self.token = self.token.wrapping_add(1);
        self.token.to_be_bytes()[4..].to_vec()
    }

    /// Sends `req` as CON (retransmitting, RFC 7252 §4.2) and returns the matching response,
    /// decrypted when OSCORE is in use; answers a 4.01 carrying Echo by retrying once with
    /// the Echo value (RFC 9175 §2.4).
    pub(crate) fn request(
        &mut self,
        mut req: Msg,
        keep_token: Option<Vec<u8>>,
    ) -> Result<Exchange> {
        req.token = keep_token.unwrap_or_else(|| self.next_token());
        for attempt in 0..3 {
            let ex = self.exchange_once(&req)?;
            if self.ctx.is_some() && ex.response.code == Code::UNAUTHORIZED && attempt < 2 {
                if let Some(echo) = ex.response.option(OptionNumber::ECHO.0) {
                    req.set_option(OptionNumber::ECHO.0, echo.to_vec());
                    continue;
                }
            }
            return Ok(ex);
        }
        bail!("the server keeps asking for Echo")
    }

    pub(crate) fn exchange_once(&mut self, req: &Msg) -> Result<Exchange> {
        let framing = self.framing();
        let mut req = req.clone();
        req.mtype = MessageType::Con;
        req.mid = self.next_mid();
        let plain = req.encode_framed(framing)?;
        let (mut wire, binding) = match &mut self.ctx {
            Some(ctx) => {
                let mut out = vec![0u8; 2 * plain.len() + 256];
                let (n, b) = ctx.protect_request(framing, &plain, &mut out)?;
                out.truncate(n);
                (out, Some(b))
            }
            None => (plain, None),
        };
        if binding.is_some() && framing == Framing::Udp {
            if let Some((c_r, m3)) = self.pending_message_3.take() {
                // RFC 9668 §3.2.1: the EDHOC option and message_3 before the ciphertext.
                let mut out = vec![0u8; wire.len() + m3.len() + 16];
                match mote_edhoc::transport::combine_request(&wire, &m3, &mut out) {
                    Ok(n) => {
                        out.truncate(n);
                        wire = out;
                    }
                    // §3.2.2 step B: a combined payload too large for one message: the
                    // sequential flow, message_3 to the EDHOC resource first (its message_4
                    // is not needed: the context is already in use).
                    Err(mote_edhoc::Error::Capacity { .. }) => {
                        let ctx = self.ctx.take();
                        let sent = self.post_message_3(&c_r, &m3);
                        self.ctx = ctx;
                        sent?;
                    }
                    Err(e) => bail!("EDHOC + OSCORE request: {e}"),
                }
            }
        }
        let raw = match &mut self.transport {
            Transport::Udp { .. } => self.send_and_wait(&wire, req.mid, &req.token)?,
            Transport::Tcp(conn) => {
                conn.send(&wire)?;
                // RFC 8323 §3: responses are matched by token only (no ACKs, no retransmission).
                Self::tcp_response(conn, &req.token, self.deadline)?
                    .ok_or_else(|| anyhow!("no response within {} s", self.deadline.as_secs()))?
            }
        };
        let mut ex = Exchange {
            response: Msg::decode_framed(framing, &raw)?,
            binding,
            token: req.token.clone(),
        };
        self.decrypt(&mut ex, &raw)?;
        Ok(ex)
    }

    /// The next response frame with `token` on a TCP connection.
    fn tcp_response(
        conn: &mut Connection,
        token: &[u8],
        deadline: Duration,
    ) -> Result<Option<Vec<u8>>> {
        let start = Instant::now();
        loop {
            let left = deadline.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Ok(None);
            }
            let Some(raw) = conn.recv(Some(left))? else {
                return Ok(None);
            };
            let Ok(f) = Frame::decode_exact(&raw, &crate::tcp::LIMITS) else {
                continue;
            };
            if f.token() == token && f.code().is_response() {
                return Ok(Some(raw));
            }
        }
    }

    fn decrypt(&mut self, ex: &mut Exchange, raw: &[u8]) -> Result<()> {
        let framing = self.framing();
        if let (Some(ctx), Some(b)) = (&mut self.ctx, &mut ex.binding) {
            if ex.response.option(OptionNumber::OSCORE.0).is_none() {
                let code = ex.response.code;
                if let Some(text) = edhoc_error_text(&ex.response) {
                    bail!("unprotected {code} response: EDHOC error: {text}");
                }
                let diag = String::from_utf8_lossy(&ex.response.payload).into_owned();
                bail!("unprotected {code} response: {diag}");
            }
            let mut out = vec![0u8; 2 * raw.len() + 256];
            let n = ctx.unprotect_response(framing, b, raw, &mut out)?;
            ex.response = Msg::decode_framed(framing, &out[..n])?;
        }
        Ok(())
    }

    /// The UDP socket and the server's address (only called over UDP).
    fn udp(&self) -> Result<(&UdpSocket, SocketAddr)> {
        match &self.transport {
            Transport::Udp { sock, peer } => Ok((sock, *peer)),
            Transport::Tcp(_) => bail!("not a UDP client"),
        }
    }

    /// Sends and waits for a response with `token` (piggybacked or separate) over UDP.
    fn send_and_wait(&self, wire: &[u8], mid: u16, token: &[u8]) -> Result<Vec<u8>> {
        let (sock, peer) = self.udp()?;
        let start = Instant::now();
        let mut timeout = Duration::from_millis(2000 + u64::from(self.mid % 1000));
        let mut retransmits = 0;
        let mut next_send = Instant::now();
        let mut acked = false;
        let mut buf = vec![0u8; 65536];
        loop {
            if !acked && Instant::now() >= next_send {
                if retransmits > 4 {
                    bail!("no response (MAX_RETRANSMIT reached)");
                }
                sock.send_to(wire, peer)?;
                next_send = Instant::now() + timeout;
                timeout *= 2;
                retransmits += 1;
            }
            if start.elapsed() > self.deadline {
                bail!("no response within {} s", self.deadline.as_secs());
            }
            let wait = if acked {
                Duration::from_millis(200)
            } else {
                next_send
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1))
            };
            sock.set_read_timeout(Some(wait))?;
            let (n, from) = match sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if from != peer {
                continue;
            }
            let Ok(m) = Message::decode(&buf[..n]) else {
                continue;
            };
            if m.mtype() == MessageType::Ack && m.message_id() == mid && m.code().is_empty() {
                acked = true;
                continue;
            }
            if m.token() != token || !m.code().is_response() {
                if m.mtype() == MessageType::Con {
                    self.send_empty(MessageType::Rst, m.message_id())?;
                }
                continue;
            }
            if m.mtype() == MessageType::Con {
                self.send_empty(MessageType::Ack, m.message_id())?;
            }
            return Ok(buf[..n].to_vec());
        }
    }

    fn send_empty(&self, t: MessageType, mid: u16) -> Result<()> {
        let (sock, peer) = self.udp()?;
        let m = Msg {
            mtype: t,
            code: Code::EMPTY,
            mid,
            token: vec![],
            options: vec![],
            payload: vec![],
        };
        sock.send_to(&m.encode()?, peer)?;
        Ok(())
    }

    /// The next datagram or frame of the observation with `token`, within the deadline.
    fn next_for_token(&mut self, token: &[u8]) -> Result<Vec<u8>> {
        let deadline = self.deadline;
        if let Transport::Tcp(conn) = &mut self.transport {
            return Self::tcp_response(conn, token, deadline)?
                .ok_or_else(|| anyhow!("no notification within {} s", deadline.as_secs()));
        }
        let (sock, peer) = self.udp()?;
        let mut buf = vec![0u8; 65536];
        let start = Instant::now();
        loop {
            if start.elapsed() > deadline {
                bail!("no notification within {} s", deadline.as_secs());
            }
            sock.set_read_timeout(Some(Duration::from_millis(500)))?;
            let (n, from) = match sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if from != peer {
                continue;
            }
            let Ok(m) = Message::decode(&buf[..n]) else {
                continue;
            };
            if m.token() != token || !m.code().is_response() {
                continue;
            }
            if m.mtype() == MessageType::Con {
                self.send_empty(MessageType::Ack, m.message_id())?;
            }
            return Ok(buf[..n].to_vec());
        }
    }

    /// Waits for the next notification of an observation (NON or CON over UDP; a frame
    /// over TCP).
    fn notification(&mut self, ex: &mut Exchange) -> Result<()> {
        loop {
            let raw = self.next_for_token(&ex.token)?;
            ex.response = Msg::decode_framed(self.framing(), &raw)?;
            match self.decrypt(ex, &raw) {
                Ok(()) => return Ok(()),
                // A replayed or reordered notification is dropped (RFC 8613 §7.4.1).
                Err(e)
                    if e.downcast_ref::<mote_oscore::Error>()
                        == Some(&mote_oscore::Error::Replay) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A response as printed: the body (as text when it is UTF-8, else hex) preceded by the code
/// when it is not 2.xx; with `json` the `decode --as coap` shape (`coap-tcp` over TCP).
fn render(resp: &Msg, body: &[u8], json: bool, framing: Framing) -> Result<String> {
    if json {
        let mut m = resp.clone();
        m.payload = body.to_vec();
        return match framing {
            Framing::Udp => crate::commands::decode::coap::decode_udp(&m.encode()?, true),
            Framing::Tcp => {
                crate::commands::decode::coap::decode_tcp(&m.encode_framed(framing)?, true)
            }
        };
    }
    let text = std::str::from_utf8(body)
        .map(str::to_owned)
        .unwrap_or_else(|_| hex::encode(body));
    if resp.code.is_response() && resp.code.class() != 2 {
        return Ok(format!("{} {}", resp.code, text));
    }
    Ok(text)
}

/// Runs `mote coap …`.
pub(crate) fn run(args: &CoapArgs) -> Result<()> {
    let uri = Uri::parse(&args.uri).map_err(|e| anyhow!("invalid URI: {e}"))?;
    let tcp = match uri.scheme() {
        Scheme::Coap => false,
        Scheme::CoapTcp => true,
        s => bail!(
            "{}:// is not supported by `mote coap` (coap:// and coap+tcp:// are)",
            s.as_str()
        ),
    };
    let host = uri.host_str().trim_start_matches('[').trim_end_matches(']');
    let port = uri.effective_port();
    let peer = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .ok_or_else(|| anyhow!("cannot resolve {host}"))?;
    let mut client = Client::new(
        peer,
        tcp,
        args.oscore.as_deref(),
        Duration::from_secs(args.timeout),
    )?;
    if let Some(path) = &args.edhoc {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        client.run_edhoc(&crate::commands::edhoc::load_credential_file(&text)?)?;
    }
    let mut base = Msg {
        mtype: MessageType::Con,
        code: args.method.code(),
        mid: 0,
        token: vec![],
        options: vec![],
        payload: vec![],
    };
    let dest = Destination {
        ip: peer.ip(),
        port: peer.port(),
    };
    let uo = uri.decompose(&dest);
    if let Some(h) = &uo.uri_host {
        base.options.push((OptionNumber::URI_HOST.0, h.to_vec()));
    }
    if let Some(p) = uo.uri_port {
        base.options
            .push((OptionNumber::URI_PORT.0, uint(u32::from(p))));
    }
    for s in uo.uri_path.clone() {
        base.options.push((OptionNumber::URI_PATH.0, s.to_vec()));
    }
    for q in uo.uri_query.clone() {
        base.options.push((OptionNumber::URI_QUERY.0, q.to_vec()));
    }
    if let Some(cf) = args.content_format {
        base.options
            .push((OptionNumber::CONTENT_FORMAT.0, uint(u32::from(cf))));
    }
    if let Some(a) = args.accept {
        base.options
            .push((OptionNumber::ACCEPT.0, uint(u32::from(a))));
    }
    base.options.sort_by_key(|o| o.0);
    let payload = match (&args.payload, &args.payload_file) {
        (Some(p), _) => p.as_bytes().to_vec(),
        (None, Some(f)) => {
            std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        (None, None) => vec![],
    };
    // Over TCP, blocks must also fit the server's Max-Message-Size (RFC 8323 §5.3.1): leave
    // room for the header, options and the OSCORE overhead.
    let mut block_size = args.block_size;
    if let Some(max) = client.peer_max_message_size() {
        while block_size > 16 && usize::from(block_size) + 128 > max {
            block_size /= 2;
        }
    }
    let szx = szx_of(block_size)?;
    let bs = usize::from(block_size);

    // Block1 upload (RFC 7959 §2.5): blocks of `bs`, the last response is the answer.
    let mut ex = if payload.len() > bs {
        let progress = Progress::new(Some(payload.len() as u64), "upload");
        let mut num = 0u32;
        let ex = loop {
            let start = num as usize * bs;
            let end = (start + bs).min(payload.len());
            let more = end < payload.len();
            let mut req = base.clone();
            req.payload = payload[start..end].to_vec();
            req.set_option(
                OptionNumber::BLOCK1.0,
                uint((num << 4) | if more { 8 } else { 0 } | u32::from(szx)),
            );
            if num == 0 {
                req.set_option(OptionNumber::SIZE1.0, uint(payload.len() as u32));
            }
            let ex = client.request(req, None)?;
            progress.set(end);
            if !more {
                break ex;
            }
            if ex.response.code != Code::CONTINUE {
                break ex;
            }
            num += 1;
        };
        progress.finish();
        ex
    } else {
        let mut req = base.clone();
        req.payload = payload;
        if args.observe {
            req.set_option(OptionNumber::OBSERVE.0, vec![]);
        }
        client.request(req, None)?
    };

    // Block2 download (RFC 7959 §2.4): request the following blocks.
    let body = collect_block2(&mut client, &base, &ex)?;
    let framing = client.framing();
    println!("{}", render(&ex.response, &body, args.json, framing)?);
    if args.observe {
        let count = args.count.unwrap_or(u32::MAX);
        let mut seen = 1;
        while seen < count && ex.response.option(OptionNumber::OBSERVE.0).is_some() {
            client.notification(&mut ex)?;
            let body = ex.response.payload.clone();
            println!("{}", render(&ex.response, &body, args.json, framing)?);
            seen += 1;
        }
    }
    Ok(())
}

/// Downloads the rest of a Block2 response (RFC 7959 §2.4): requests the following blocks,
/// checks that each answer is the block asked for (§2.2: NUM, SZX no larger than requested)
/// and that the representation did not change under us (ETag, §2.4), and draws a progress bar
/// on a terminal.
pub(crate) fn collect_block2(client: &mut Client, base: &Msg, first: &Exchange) -> Result<Vec<u8>> {
    let mut body = first.response.payload.clone();
    let Some(b2) = first.response.option(OptionNumber::BLOCK2.0) else {
        return Ok(body);
    };
    let etag = first
        .response
        .option(OptionNumber::ETAG.0)
        .map(<[u8]>::to_vec);
    let total = first
        .response
        .option(OptionNumber::SIZE2.0)
        .map(|v| u64::from(decode_uint(v)));
    let progress = Progress::new(total, "download");
    progress.set(body.len());
    let mut v = decode_uint(b2);
    while v & 0x08 != 0 {
        let szx = v & 0x07;
        // The next block starts where the received bytes end (§2.4: a server may answer
        // with a smaller SZX than asked).
        let size = 16usize << szx;
        let num = u32::try_from(body.len() / size).context("block number")?;
        let mut req = base.clone();
        req.set_option(OptionNumber::BLOCK2.0, uint((num << 4) | szx));
        let ex = client.request(req, None)?;
        if ex.response.code.class() != 2 {
            bail!("block {num}: {}", ex.response.code);
        }
        if ex.response.option(OptionNumber::ETAG.0).map(<[u8]>::to_vec) != etag {
            bail!("block {num}: the resource changed during the transfer (ETag differs)");
        }
        v = ex
            .response
            .option(OptionNumber::BLOCK2.0)
            .map(decode_uint)
            .ok_or_else(|| anyhow!("block {num}: the answer has no Block2 option"))?;
        if v >> 4 != num || (v & 0x07) > szx {
            bail!(
                "block {num} (SZX {szx}) asked, block {} (SZX {}) received",
                v >> 4,
                v & 0x07
            );
        }
        body.extend_from_slice(&ex.response.payload);
        progress.set(body.len());
        if body.len() > 16 << 20 {
            bail!("response body over 16 MiB");
        }
    }
    progress.finish();
    Ok(body)
}

/// A progress bar on stderr for block-wise transfers, drawn only when stderr is a terminal
/// (docs/cli.md, "mote coap": a progress bar on a terminal for large transfers).
pub(crate) struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub(crate) fn new(total: Option<u64>, what: &'static str) -> Self {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = match total {
            Some(t) => indicatif::ProgressBar::new(t),
            None => indicatif::ProgressBar::new_spinner(),
        };
        let template = match total {
            Some(_) => "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec}",
            None => "{msg} {spinner} {bytes} {bytes_per_sec}",
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(what);
        Self(Some(bar))
    }

    pub(crate) fn set(&self, bytes: usize) {
        if let Some(bar) = &self.0 {
            bar.set_position(bytes as u64);
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
