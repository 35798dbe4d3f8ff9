//! CoAP over TCP on real sockets (RFC 8323), shared by `mote coap`, `mote serve` and
//! `mote proxy --tcp-upstream`: a connection that sends its Capabilities and Settings Message
//! first (§4.3, §5.3), reassembles frames from the byte stream with mote-coap's incremental
//! decoder (§3.2), answers Ping with Pong (§5.4), and ends on Release (a graceful close,
//! [`Closed`]) and Abort (§5.5, §5.6). Everything that is not a signaling message is handed
//! to the caller as the bytes of one frame.
//!
//! Our CSM indicates Block-Wise-Transfer and the base Max-Message-Size of 1152 bytes, so a
//! peer never uses BERT with us (§5.3.2); the blocks we send (≤ 1024 bytes of payload, OSCORE
//! overhead included) fit in it. `mote coap` also shrinks its block size to the server's
//! Max-Message-Size; `mote serve` assumes every client accepts the base value. Frames of up
//! to [`MAX_FRAME`] bytes are accepted.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use mote_coap::code::Code;
use mote_coap::tcp::{Csm, Decoded, Frame, FrameLimits, OwnedFrame, PeerSettings, Signal};

/// The largest frame we accept (header included).
pub(crate) const MAX_FRAME: usize = 1 << 20;

/// The limits of our frame decoder: 8-byte tokens, [`MAX_FRAME`].
pub(crate) const LIMITS: FrameLimits = FrameLimits {
    max_token_len: 8,
    max_message_size: MAX_FRAME,
};

/// How long a write may block before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// What we indicate in our CSM (RFC 8323 §5.3.1, §5.3.2).
pub(crate) const OUR_CSM: Csm = Csm {
    max_message_size: Some(1152),
    block_wise_transfer: true,
    extended_token_length: None,
};

/// The writing half of a connection, shared by the threads that send on it (a whole frame
/// is written under the lock, so frames never interleave).
pub(crate) type Writer = Arc<Mutex<TcpStream>>;

/// Writes one frame.
pub(crate) fn write_frame(writer: &Writer, frame: &[u8]) -> Result<()> {
    let mut w = writer
        .lock()
        .map_err(|_| anyhow!("connection writer poisoned"))?;
    w.write_all(frame)?;
    Ok(())
}

/// The peer closed the connection cleanly (end of stream between frames, or Release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by the peer")
    }
}

impl std::error::Error for Closed {}

/// What the front of the receive buffer holds.
enum Step {
    Csm(Csm),
    Ping(Vec<u8>),
    Skip,
    Closed,
    Fail(&'static str),
    Abort(String),
    Message(Code),
}

/// One CoAP over TCP connection.
pub(crate) struct Connection {
    reader: TcpStream,
    writer: Writer,
    buf: Vec<u8>,
    csm_seen: bool,
    /// What the peer indicated in its CSMs.
    pub(crate) peer_settings: PeerSettings,
}

impl Connection {
    /// Takes over an established stream (either side) and sends our CSM (§4.3: the first
    /// message on a connection).
    pub(crate) fn new(stream: TcpStream) -> Result<Self> {
        stream.set_nodelay(true)?;
        // A peer that stops reading must not block the writers (the server writes
        // notifications while holding its state) for long.
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let writer = Arc::new(Mutex::new(stream.try_clone()?));
        let conn = Self {
            reader: stream,
            writer,
            buf: Vec::new(),
            csm_seen: false,
            peer_settings: PeerSettings::default(),
        };
        let csm = OwnedFrame::csm(&OUR_CSM)
            .to_vec()
            .map_err(|e| anyhow!("{e}"))?;
        write_frame(&conn.writer, &csm)?;
        Ok(conn)
    }

    /// Connects to `addr` as a client, sends our CSM and waits for the server's (§4.3).
    pub(crate) fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| anyhow!("cannot connect to {addr} over TCP: {e}"))?;
        let mut conn = Self::new(stream)?;
        let deadline = Instant::now() + timeout;
        while !conn.csm_seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("no CSM from {addr} within {} s", timeout.as_secs());
            }
            if let Some(frame) = conn.recv_until(Some(left), true)? {
                // Unreachable in practice: recv refuses anything before the CSM.
                bail!("unexpected frame before the CSM: {} bytes", frame.len());
            }
        }
        Ok(conn)
    }

    /// The shared writing half.
    pub(crate) fn writer(&self) -> Writer {
        Arc::clone(&self.writer)
    }

    /// Sends one frame.
    pub(crate) fn send(&self, frame: &[u8]) -> Result<()> {
        write_frame(&self.writer, frame)
    }

    /// Aborts the connection (§5.6) with a diagnostic, then fails with it.
    fn abort(&self, diagnostic: &str) -> anyhow::Error {
        if let Ok(f) = OwnedFrame::abort(None, diagnostic).to_vec() {
            let _ = self.send(&f);
        }
        anyhow!("CoAP over TCP connection aborted: {diagnostic}")
    }

    /// The next frame that is not a signaling message, within `timeout` (`None`: wait
    /// indefinitely); `Ok(None)` when the time ran out. Signaling is handled here: CSM
    /// settings are applied, Ping is answered with Pong, Release and Abort end the
    /// connection (an error). A closed connection is an error ([`Closed`] when it closed
    /// between frames or with Release).
    pub(crate) fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<Vec<u8>>> {
        self.recv_until(timeout, false)
    }

    /// [`recv`](Self::recv), returning `Ok(None)` right after a CSM when `until_csm`.
    fn recv_until(
        &mut self,
        timeout: Option<Duration>,
        until_csm: bool,
    ) -> Result<Option<Vec<u8>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut chunk = [0u8; 4096];
        loop {
            let step = match Frame::decode(&self.buf, &LIMITS) {
                Ok(Decoded::Complete { frame, len }) if frame.code().is_signaling() => {
                    let signal = match Signal::parse(&frame) {
                        Ok(Signal::Csm(csm)) => Step::Csm(csm),
                        Ok(Signal::Ping { .. }) => Step::Ping(frame.token().to_vec()),
                        Ok(Signal::Pong { .. }) => Step::Skip,
                        // §5.5: Release is a graceful close.
                        Ok(Signal::Release { .. }) => Step::Closed,
                        Ok(Signal::Abort { .. }) => Step::Fail("the peer aborted the connection"),
                        Err(e) => Step::Abort(format!("bad signaling message: {e}")),
                    };
                    Some((signal, len))
                }
                Ok(Decoded::Complete { frame, len }) => Some((Step::Message(frame.code()), len)),
                Ok(Decoded::Incomplete { .. }) => None,
                Err(e) => Some((Step::Abort(format!("malformed frame: {e}")), 0)),
            };
            if let Some((step, len)) = step {
                match step {
                    Step::Csm(csm) => {
                        self.peer_settings.apply(&csm);
                        self.csm_seen = true;
                        if until_csm {
                            self.buf.drain(..len);
                            return Ok(None);
                        }
                    }
                    Step::Ping(token) => {
                        let pong = OwnedFrame::pong(token, false)
                            .to_vec()
                            .map_err(|e| anyhow!("{e}"))?;
                        self.send(&pong)?;
                    }
                    Step::Skip => {}
                    Step::Closed => return Err(Closed.into()),
                    Step::Fail(why) => bail!(why),
                    Step::Abort(why) => return Err(self.abort(&why)),
                    // RFC 8323 §4.3: the CSM must be the first message.
                    Step::Message(_) if !self.csm_seen => {
                        return Err(self.abort("CSM expected as the first message"));
                    }
                    // §3.2: an empty message is ignored (a keep-alive).
                    Step::Message(code) if code == Code::EMPTY => {}
                    Step::Message(_) => {
                        let bytes: Vec<u8> = self.buf.drain(..len).collect();
                        return Ok(Some(bytes));
                    }
                }
                self.buf.drain(..len);
                continue;
            }
            let wait = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    Some(left)
                }
                None => None,
            };
            self.reader.set_read_timeout(wait)?;
            match self.reader.read(&mut chunk) {
                Ok(0) if self.buf.is_empty() => return Err(Closed.into()),
                Ok(0) => bail!("connection closed by the peer in the middle of a frame"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}
