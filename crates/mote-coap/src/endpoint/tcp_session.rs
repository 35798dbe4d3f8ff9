//! CoAP over TCP sessions (RFC 8323): CSM exchange, Ping/Pong, Release/Abort and bounded
//! framing for one connection.
//!
//! A [`TcpSession`] is the sans-IO state of one CoAP over TCP (or TLS) transport connection
//! (RFC 8323 §3–§5). It owns no socket and no clock: the caller passes `now` (a
//! [`Duration`] since an arbitrary epoch), feeds the bytes read from the connection in, and
//! takes bytes to write, timers and events out. Call order:
//!
//! 1. [`TcpSession::new`] with the [`ConnectionRole`] and a [`SessionConfig`], then
//!    [`TcpSession::open`] once the transport connection is established (queues our CSM,
//!    RFC 8323 §3.3).
//! 2. Whenever bytes arrive: [`TcpSession::handle_bytes`]. It returns how many bytes it took;
//!    it stops early while the caller has not drained enough events or written enough queued
//!    bytes (back-pressure), and the caller offers the rest again later.
//! 3. After every call: drain [`TcpSession::poll_event`] (requests and responses as
//!    [`SessionEvent::Message`], settings, Pong, Release, Close) and write out
//!    [`TcpSession::poll_transmit`] (or [`TcpSession::transmit_queue`] and
//!    [`TcpSession::consume_transmit`] for partial socket writes).
//! 4. Send requests and responses with [`TcpSession::send`]; it never blocks: a full write queue
//!    is [`SessionError::WouldBlock`], a frame over the peer's Max-Message-Size is
//!    [`SessionError::MessageTooLarge`].
//! 5. Arm a timer for [`TcpSession::poll_timeout`] and call [`TcpSession::handle_timeout`] when
//!    it fires; call [`TcpSession::handle_close`] when the peer closes the transport.
//! 6. After [`SessionEvent::Closed`], write out what is still queued (an Abort, say) and close
//!    the transport connection.
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::code::Code;
//! use mote_coap::endpoint::tcp_session::{ConnectionRole, SessionConfig, SessionEvent, TcpSession};
//! use mote_coap::tcp::OwnedFrame;
//!
//! let now = Duration::ZERO;
//! let config = SessionConfig::default();
//! let mut client = TcpSession::new(ConnectionRole::Initiator, config.clone())?;
//! let mut server = TcpSession::new(ConnectionRole::Acceptor, config)?;
//! client.open(now);
//! server.open(now);
//! client.send(now, &OwnedFrame::new(Code::GET).with_token([0x71]))?;
//! // The initiator's CSM comes first, then the request (RFC 8323 §3.3).
//! let bytes = client.poll_transmit().unwrap_or_default();
//! assert_eq!(server.handle_bytes(now, &bytes), bytes.len());
//! assert!(matches!(server.poll_event(), Some(SessionEvent::PeerSettings(_))));
//! let Some(SessionEvent::Message(request)) = server.poll_event() else { panic!("request") };
//! assert_eq!((request.code, &request.token[..]), (Code::GET, &[0x71][..]));
//! # Ok::<(), mote_coap::endpoint::tcp_session::SessionError>(())
//! ```

#![deny(clippy::indexing_slicing)]

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::code::Code;
use crate::error::{EncodeError, MessageError, SignalingError};
use crate::option::MAX_VALUE_LEN;
use crate::tcp::{Csm, Decoded, Frame, FrameLimits, OwnedFrame, PeerSettings, Signal};

/// The smallest Max-Message-Size a session accepts in its configuration: enough for any frame
/// header and a short diagnostic, so that the read buffer never holds more than one frame.
pub const MIN_MAX_MESSAGE_SIZE: u32 = 64;

// Diagnostic payloads of the Abort and Release messages we send (RFC 8323 §5.5, §5.6;
// RFC 7252 §5.5.2).
const DIAG_MALFORMED: &str = "message format error";
const DIAG_TOO_LARGE: &str = "message exceeds Max-Message-Size";
const DIAG_NOT_CSM: &str = "first message is not a CSM";
const DIAG_BAD_CSM: &str = "bad CSM option";
const DIAG_BAD_SIGNAL: &str = "unprocessable signaling option";
const DIAG_CSM_TIMEOUT: &str = "no CSM received";
const DIAG_PONG_TIMEOUT: &str = "no Pong received";
const DIAG_IDLE: &str = "idle";

/// Which end opened the transport connection (RFC 8323 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionRole {
    /// The Connection Initiator: sends its CSM as soon as the session is opened, without
    /// waiting for the acceptor's.
    Initiator,
    /// The Connection Acceptor: waits for the initiator's CSM before sending its own (the MAY
    /// of RFC 8323 §3.3), so the initiator's CSM is always the first on the connection; its CSM
    /// is sent earlier only when it sends a message or an Abort first.
    Acceptor,
}

/// The configuration of a [`TcpSession`]: what we indicate in our CSM, timers and bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// The largest message we accept, header included, indicated as Max-Message-Size in our
    /// CSM (RFC 8323 §5.3.1; base value 1152, at least [`MIN_MAX_MESSAGE_SIZE`]). A frame
    /// announcing more is refused as soon as its length is known. This is also the bound of the
    /// read buffer: it never holds more than the one frame being received.
    pub max_message_size: u32,
    /// Whether we offer block-wise transfer: the Block-Wise-Transfer option in our CSM
    /// (RFC 8323 §5.3.2; BERT as well when `max_message_size` is above 1152).
    pub block_wise_transfer: bool,
    /// The longest token we accept: 8 (the base value), or more to indicate
    /// Extended-Token-Length in our CSM (RFC 8974 §2.2.1; at most 65804).
    pub max_token_len: u32,
    /// How long to wait for the peer's CSM after [`TcpSession::open`] before aborting
    /// (RFC 8323 §3.3: a missing CSM is a connection error).
    pub csm_timeout: Duration,
    /// After this long without a request or response in either direction, the session sends
    /// a Release (RFC 8323 §5.5); `None` keeps idle connections open.
    pub idle_timeout: Option<Duration>,
    /// Send a Ping (RFC 8323 §5.4) after this long without receiving anything; `None`
    /// disables keep-alive.
    pub keep_alive: Option<Duration>,
    /// How long to wait for the Pong to a Ping before aborting the connection (RFC 8323 §5.4
    /// leaves the patience to the application).
    pub pong_timeout: Duration,
    /// After a Release was sent or received, how long to wait before closing anyway (RFC 8323
    /// §5.5: the peer normally closes; otherwise the sender may time out).
    pub release_timeout: Duration,
    /// The bound of the write queue in bytes: [`TcpSession::send`] refuses a frame that would
    /// exceed it, and [`TcpSession::handle_bytes`] stops reading while the queue is at the
    /// bound, so Pongs to a peer that does not read cannot pile up. The signaling frames the
    /// session generates may exceed the bound: by one Pong (at most `max_message_size` bytes,
    /// it echoes a Ping), the Custody Pongs held in the event queue (at most
    /// `max_pending_events` of them), our CSM and a final Release or Abort.
    pub write_queue_limit: usize,
    /// The most events (and Pongs waiting for their Custody, RFC 8323 §5.4.1) held until
    /// [`TcpSession::poll_event`] takes them; [`TcpSession::handle_bytes`] stops reading at the
    /// bound.
    pub max_pending_events: usize,
}

impl Default for SessionConfig {
    /// Max-Message-Size 1152, no block-wise offer, 8-byte tokens, a 10 s CSM timeout, no idle
    /// timeout, no keep-alive, 30 s Pong timeout, 10 s release timeout, a 64 KiB write queue
    /// and 64 pending events.
    fn default() -> Self {
        Self {
            max_message_size: 1152,
            block_wise_transfer: false,
            max_token_len: 8,
            csm_timeout: Duration::from_secs(10),
            idle_timeout: None,
            keep_alive: None,
            pong_timeout: Duration::from_secs(30),
            release_timeout: Duration::from_secs(10),
            write_queue_limit: 64 * 1024,
            max_pending_events: 64,
        }
    }
}

impl SessionConfig {
    /// Checks the configuration.
    ///
    /// # Errors
    /// [`SessionError::InvalidConfig`] naming the field that is out of range.
    pub fn validate(&self) -> Result<(), SessionError> {
        let invalid = |field| Err(SessionError::InvalidConfig { field });
        if self.max_message_size < MIN_MAX_MESSAGE_SIZE {
            return invalid("max_message_size");
        }
        if self.max_token_len < 8 || self.max_token_len as usize > MAX_VALUE_LEN {
            return invalid("max_token_len");
        }
        if self.max_pending_events == 0 {
            return invalid("max_pending_events");
        }
        Ok(())
    }

    /// The CSM we send: only the options whose value differs from the base value
    /// (RFC 8323 §5.3: the absence of options means base values).
    #[must_use]
    pub fn csm(&self) -> Csm {
        Csm {
            max_message_size: (self.max_message_size != 1152).then_some(self.max_message_size),
            block_wise_transfer: self.block_wise_transfer,
            extended_token_length: (self.max_token_len != 8).then_some(self.max_token_len),
        }
    }
}

/// Why a session ended, carried by [`SessionEvent::Closed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent a malformed frame, or one over our Max-Message-Size
    /// ([`MessageError::FrameTooLarge`]); we sent an Abort (RFC 8323 §5.6, §5.3.1).
    Malformed(MessageError),
    /// The peer's first message was not a CSM; we sent an Abort (RFC 8323 §3.3).
    FirstMessageNotCsm {
        /// The code of the message that came instead.
        code: Code,
    },
    /// A signaling message could not be processed (an unrecognized critical option, or a bad
    /// option value); we sent an Abort, with Bad-CSM-Option for a CSM (RFC 8323 §5.2, §5.6).
    Signaling(SignalingError),
    /// No CSM arrived within the CSM timeout; we sent an Abort (RFC 8323 §3.3).
    CsmTimeout,
    /// No Pong arrived within the Pong timeout; we sent an Abort (RFC 8323 §5.4).
    PongTimeout,
    /// We released the idle connection (RFC 8323 §5.5), and it ended.
    Idle,
    /// The application released the connection with [`TcpSession::release`], and it ended.
    LocalRelease,
    /// The peer released the connection (RFC 8323 §5.5), and it ended.
    PeerRelease,
    /// The peer aborted the connection (RFC 8323 §5.6).
    PeerAbort {
        /// The CSM option the peer could not process.
        bad_csm_option: Option<u16>,
        /// The diagnostic payload (invalid UTF-8 replaced).
        diagnostic: String,
    },
    /// The application aborted the connection with [`TcpSession::abort`].
    LocalAbort,
    /// The application closed the session with [`TcpSession::close`] without a release.
    LocalClose,
    /// The peer closed the transport connection without a Release or Abort (RFC 8323 §3.4).
    TransportClosed,
}

/// What the session reports to its owner, from [`TcpSession::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A request or response from the peer (Empty messages are ignored, RFC 8323 §3.4).
    Message(OwnedFrame),
    /// The peer's first CSM arrived, or a later CSM changed its settings (RFC 8323 §5.3).
    PeerSettings(PeerSettings),
    /// The Pong to our Ping (RFC 8323 §5.4).
    Pong {
        /// Whether the peer included Custody (§5.4.1).
        custody: bool,
    },
    /// The peer released the connection (RFC 8323 §5.5): no new requests can be sent; answer
    /// what is outstanding, then [`TcpSession::close`] (or the release timeout closes it).
    Released {
        /// Where the peer asks to reconnect instead (RFC 3986 authorities).
        alternative_addresses: Vec<String>,
        /// Seconds not to reconnect (Hold-Off).
        hold_off: Option<u32>,
    },
    /// The session ended; nothing more is accepted or sent except the bytes still queued.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why the session refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The frame is larger than the peer accepts (its Max-Message-Size, RFC 8323 §5.3.1) or
    /// than the write queue can ever hold: send it block-wise, or answer 4.13 / 5.00.
    #[error("message of {len} bytes is larger than the {max} bytes that can be sent")]
    MessageTooLarge {
        /// Encoded length of the frame.
        len: usize,
        /// The largest frame that can be sent now.
        max: usize,
    },
    /// The write queue cannot take the frame until the peer reads more: drop it (a
    /// Non-confirmable notification, say) or retry after writing out queued bytes.
    #[error("write queue full: {queued} bytes queued, {len} more would exceed {limit}")]
    WouldBlock {
        /// Bytes queued.
        queued: usize,
        /// Encoded length of the refused frame.
        len: usize,
        /// The write queue bound.
        limit: usize,
    },
    /// The token is longer than the peer accepts (Extended-Token-Length, RFC 8974 §2.2.1).
    #[error("token of {len} bytes is longer than the peer's {max}")]
    TokenTooLong {
        /// Length of the token.
        len: usize,
        /// The peer's limit.
        max: usize,
    },
    /// The connection is being released: no new requests (RFC 8323 §5.5).
    #[error("connection is being released: no new requests")]
    Released,
    /// The session is closed.
    #[error("session closed")]
    Closed,
    /// Signaling messages are sent by the session itself ([`TcpSession::ping`],
    /// [`TcpSession::release`], [`TcpSession::abort`]), not with [`TcpSession::send`].
    #[error("signaling code {code} cannot be sent as a message")]
    SignalingCode {
        /// The code.
        code: Code,
    },
    /// A Ping is already waiting for its Pong.
    #[error("a Ping is already outstanding")]
    PingOutstanding,
    /// The frame cannot be encoded.
    #[error("cannot encode the frame: {0}")]
    Encode(EncodeError),
    /// A configuration field is out of range.
    #[error("invalid session configuration: {field}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
    },
}

/// Sizes of the session's buffers, from [`TcpSession::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionStats {
    /// Bytes of a partly received frame held in the read buffer.
    pub read_buffered: usize,
    /// Bytes queued for writing.
    pub write_queued: usize,
    /// Events (and Custody Pongs) waiting for [`TcpSession::poll_event`].
    pub pending_events: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    New,
    Open,
    Closed,
}

/// An entry of the event queue: an event, or a Pong whose Ping asked for Custody and that is
/// sent once the application has taken every message received before the Ping (RFC 8323
/// §5.4.1).
#[derive(Debug)]
enum Pending {
    Event(SessionEvent),
    CustodyPong(Vec<u8>),
}

#[derive(Debug)]
struct OutstandingPing {
    token: [u8; 2],
    deadline: Duration,
}

/// The sans-IO state of one CoAP over TCP connection (RFC 8323 §3–§5); see the
/// [module documentation](self) for the call order.
#[derive(Debug)]
pub struct TcpSession {
    role: ConnectionRole,
    config: SessionConfig,
    limits: FrameLimits,
    phase: Phase,
    csm_sent: bool,
    /// `None` until the peer's first CSM.
    peer: Option<PeerSettings>,
    csm_deadline: Option<Duration>,
    read_buf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    events: VecDeque<Pending>,
    /// When a frame was last received (keep-alive).
    last_rx: Duration,
    /// When a request or response was last sent or received (idle timeout).
    last_activity: Duration,
    ping: Option<OutstandingPing>,
    ping_seq: u16,
    /// Why we released the connection, once we did.
    local_release: Option<CloseReason>,
    peer_released: bool,
    release_deadline: Option<Duration>,
}

impl TcpSession {
    /// A session for a transport connection in `role`; nothing is sent before
    /// [`Self::open`].
    ///
    /// # Errors
    /// [`SessionError::InvalidConfig`] (see [`SessionConfig::validate`]).
    pub fn new(role: ConnectionRole, config: SessionConfig) -> Result<Self, SessionError> {
        config.validate()?;
        let limits = FrameLimits {
            max_token_len: config.max_token_len as usize,
            max_message_size: config.max_message_size as usize,
        };
        Ok(Self {
            role,
            config,
            limits,
            phase: Phase::New,
            csm_sent: false,
            peer: None,
            csm_deadline: None,
            read_buf: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            events: VecDeque::new(),
            last_rx: Duration::ZERO,
            last_activity: Duration::ZERO,
            ping: None,
            ping_seq: 0,
            local_release: None,
            peer_released: false,
            release_deadline: None,
        })
    }

    /// Starts the session on an established transport connection: the initiator queues its
    /// CSM (RFC 8323 §3.3), and the CSM timer starts. Calling it again does nothing;
    /// [`Self::handle_bytes`] and [`Self::send`] open the session when it is not yet open.
    pub fn open(&mut self, now: Duration) {
        if self.phase != Phase::New {
            return;
        }
        self.phase = Phase::Open;
        self.csm_deadline = Some(now.saturating_add(self.config.csm_timeout));
        self.last_rx = now;
        self.last_activity = now;
        if self.role == ConnectionRole::Initiator {
            self.ensure_csm_sent();
        }
    }

    /// The role given at creation.
    #[must_use]
    pub const fn role(&self) -> ConnectionRole {
        self.role
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The peer's settings once its first CSM arrived (RFC 8323 §5.3).
    #[must_use]
    pub const fn peer_settings(&self) -> Option<PeerSettings> {
        self.peer
    }

    /// Whether both CSMs have been exchanged and the session is not closed.
    #[must_use]
    pub fn is_established(&self) -> bool {
        self.phase == Phase::Open && self.peer.is_some() && self.csm_sent
    }

    /// Whether the session has ended (a [`SessionEvent::Closed`] was queued).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Whether a Release was sent or received (RFC 8323 §5.5): new requests are refused.
    #[must_use]
    pub fn is_releasing(&self) -> bool {
        self.peer_released || self.local_release.is_some()
    }

    /// Sizes of the buffers.
    #[must_use]
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            read_buffered: self.read_buf.len(),
            write_queued: self.queued_out(),
            pending_events: self.events.len(),
        }
    }

    /// The largest frame [`Self::send`] accepts now: the peer's Max-Message-Size (1152 until
    /// its CSM arrives, RFC 8323 §3.3, §5.3.1), at most the write queue bound.
    #[must_use]
    pub fn max_send_size(&self) -> usize {
        let peer = self.peer.unwrap_or_default().max_message_size;
        usize::try_from(peer)
            .unwrap_or(usize::MAX)
            .min(self.config.write_queue_limit)
    }

    // -----------------------------------------------------------------------------------------
    // Input.

    /// Takes bytes read from the transport connection and returns how many it consumed.
    ///
    /// Frames are extracted as they complete. Only the bytes of the frame being received are
    /// buffered, and a frame announcing more than our Max-Message-Size is refused as soon as
    /// its length is known, before any of its body is buffered (RFC 8323 §5.3.1). A malformed
    /// frame (§5.6), a first message that is not a CSM (§3.3) or an unprocessable signaling
    /// message (§5.2) aborts the connection.
    ///
    /// Fewer than `data.len()` bytes are consumed while [`SessionConfig::max_pending_events`]
    /// events wait for [`Self::poll_event`] or the write queue is at
    /// [`SessionConfig::write_queue_limit`]: offer the rest again after draining those. Once
    /// the session is closed, all bytes are consumed and ignored.
    #[must_use = "bytes not consumed must be offered again"]
    pub fn handle_bytes(&mut self, now: Duration, data: &[u8]) -> usize {
        self.open(now);
        let mut rest = data;
        loop {
            if self.phase == Phase::Closed {
                return data.len();
            }
            if self.back_pressure() {
                break;
            }
            if self.read_buf.is_empty() {
                if rest.is_empty() {
                    break;
                }
                // Nothing buffered: decode straight from the input.
                match Frame::decode(rest, &self.limits) {
                    Ok(Decoded::Complete { frame, len }) => {
                        self.handle_frame(now, &frame);
                        rest = rest.get(len..).unwrap_or(&[]);
                    }
                    Ok(Decoded::Incomplete { .. }) => {
                        // The input ends inside a frame whose header, if complete, passed the
                        // size check: what is there belongs to that frame.
                        self.read_buf.extend_from_slice(rest);
                        rest = &[];
                    }
                    Err(e) => self.abort_malformed(e),
                }
            } else {
                let mut buf = core::mem::take(&mut self.read_buf);
                match Frame::decode(&buf, &self.limits) {
                    Ok(Decoded::Incomplete { needed }) => {
                        if rest.is_empty() {
                            self.read_buf = buf;
                            break;
                        }
                        // Take no more than the decoder asks for, so that the header is
                        // checked before the body is buffered; decode again right after.
                        let take = needed.min(rest.len());
                        buf.extend_from_slice(rest.get(..take).unwrap_or(&[]));
                        rest = rest.get(take..).unwrap_or(&[]);
                    }
                    Ok(Decoded::Complete { frame, .. }) => {
                        self.handle_frame(now, &frame);
                        buf.clear();
                    }
                    Err(e) => {
                        buf.clear();
                        self.abort_malformed(e);
                    }
                }
                if self.phase == Phase::Closed {
                    buf = Vec::new();
                }
                self.read_buf = buf;
            }
        }
        data.len() - rest.len()
    }

    /// The peer closed the transport connection (end of stream or reset, RFC 8323 §3.4).
    pub fn handle_close(&mut self, _now: Duration) {
        let reason = self
            .release_reason()
            .unwrap_or(CloseReason::TransportClosed);
        self.close_with(reason);
    }

    fn back_pressure(&self) -> bool {
        self.events.len() >= self.config.max_pending_events
            || self.queued_out() >= self.config.write_queue_limit
    }

    fn abort_malformed(&mut self, error: MessageError) {
        let diagnostic = if matches!(error, MessageError::FrameTooLarge { .. }) {
            DIAG_TOO_LARGE
        } else {
            DIAG_MALFORMED
        };
        self.abort_with(None, diagnostic, CloseReason::Malformed(error));
    }

    fn handle_frame(&mut self, now: Duration, frame: &Frame<'_>) {
        self.last_rx = now;
        let code = frame.code();
        // RFC 8323 §3.3: the CSM is the first message; a missing CSM is a connection error
        // (but an Abort is not answered, §5.6).
        if self.peer.is_none() && code != Code::CSM && code != Code::ABORT {
            self.abort_with(None, DIAG_NOT_CSM, CloseReason::FirstMessageNotCsm { code });
            return;
        }
        if code.is_signaling() {
            self.handle_signal(now, frame);
        } else if code.is_empty() {
            // RFC 8323 §3.4: Empty messages can always be sent and MUST be ignored.
        } else {
            self.last_activity = now;
            self.push_event(SessionEvent::Message(frame.to_owned()));
        }
    }

    fn handle_signal(&mut self, now: Duration, frame: &Frame<'_>) {
        let code = frame.code();
        match Signal::parse(frame) {
            Ok(Signal::Csm(csm)) => {
                let previous = self.peer;
                let mut settings = previous.unwrap_or_default();
                settings.apply(&csm);
                self.peer = Some(settings);
                self.csm_deadline = None;
                // RFC 8323 §3.3: the acceptor answers the initiator's CSM with its own.
                self.ensure_csm_sent();
                if previous != Some(settings) {
                    self.push_event(SessionEvent::PeerSettings(settings));
                }
            }
            Ok(Signal::Ping { custody }) => {
                // RFC 8323 §5.4: a Pong with an identical token. §5.4.1: with Custody, the
                // Pong waits until every message received before the Ping has been taken.
                let token = frame.token().to_vec();
                if custody && !self.events.is_empty() {
                    self.events.push_back(Pending::CustodyPong(token));
                } else {
                    self.queue_signal(&OwnedFrame::pong(token, custody));
                }
            }
            Ok(Signal::Pong { custody }) => {
                if self
                    .ping
                    .as_ref()
                    .is_some_and(|p| p.token.as_slice() == frame.token())
                {
                    self.ping = None;
                    self.push_event(SessionEvent::Pong { custody });
                }
                // An unsolicited Pong is ignored.
            }
            Ok(Signal::Release {
                alternative_addresses,
                hold_off,
            }) => {
                // RFC 8323 §5.5: no new requests; close once outstanding requests are answered
                // (the owner calls `close`), or when the release timeout expires.
                self.peer_released = true;
                let deadline = now.saturating_add(self.config.release_timeout);
                self.release_deadline =
                    Some(self.release_deadline.map_or(deadline, |d| d.min(deadline)));
                self.push_event(SessionEvent::Released {
                    alternative_addresses: alternative_addresses.map(String::from).collect(),
                    hold_off,
                });
            }
            Ok(Signal::Abort { bad_csm_option }) => self.peer_abort(bad_csm_option, frame),
            Err(_) if code == Code::ABORT => self.peer_abort(None, frame),
            Err(SignalingError::UnknownCode { .. }) => {
                // RFC 8323 §5.2: every option of an unregistered signaling code is not
                // understood; a critical one aborts the connection, elective ones are ignored
                // (and so is the message).
                if let Some(option) = frame.options().find(|o| o.number.is_critical()) {
                    let error = SignalingError::UnrecognizedCriticalOption {
                        code,
                        number: option.number.0,
                    };
                    self.abort_with(None, DIAG_BAD_SIGNAL, CloseReason::Signaling(error));
                }
            }
            Err(error) => {
                // RFC 8323 §5.6: Bad-CSM-Option names the CSM option we could not process.
                let (bad_csm_option, diagnostic) = match error {
                    SignalingError::UnrecognizedCriticalOption { number, .. }
                    | SignalingError::InvalidOptionValue { number, .. }
                        if code == Code::CSM =>
                    {
                        (Some(number), DIAG_BAD_CSM)
                    }
                    _ => (None, DIAG_BAD_SIGNAL),
                };
                self.abort_with(bad_csm_option, diagnostic, CloseReason::Signaling(error));
            }
        }
    }

    fn peer_abort(&mut self, bad_csm_option: Option<u16>, frame: &Frame<'_>) {
        // RFC 8323 §5.6: the sender shuts down right away; nothing is answered.
        let diagnostic = String::from_utf8_lossy(frame.payload()).into_owned();
        self.close_with(CloseReason::PeerAbort {
            bad_csm_option,
            diagnostic,
        });
    }

    fn push_event(&mut self, event: SessionEvent) {
        self.events.push_back(Pending::Event(event));
    }

    // -----------------------------------------------------------------------------------------
    // Output.

    /// Queues a request or response for the peer.
    ///
    /// # Errors
    /// - [`SessionError::MessageTooLarge`] when the frame exceeds the peer's Max-Message-Size
    ///   (RFC 8323 §5.3.1) or the write queue bound;
    /// - [`SessionError::WouldBlock`] when the write queue cannot take it now;
    /// - [`SessionError::TokenTooLong`] over the peer's Extended-Token-Length (RFC 8974);
    /// - [`SessionError::Released`] for a request once a Release was sent or received
    ///   (RFC 8323 §5.5);
    /// - [`SessionError::SignalingCode`], [`SessionError::Encode`], [`SessionError::Closed`].
    pub fn send(&mut self, now: Duration, frame: &OwnedFrame) -> Result<(), SessionError> {
        self.open(now);
        if self.phase == Phase::Closed {
            return Err(SessionError::Closed);
        }
        if frame.code.is_signaling() {
            return Err(SessionError::SignalingCode { code: frame.code });
        }
        if frame.code.is_request() && self.is_releasing() {
            return Err(SessionError::Released);
        }
        frame.validate().map_err(SessionError::Encode)?;
        let peer = self.peer.unwrap_or_default();
        let max_token = usize::try_from(peer.extended_token_length).unwrap_or(usize::MAX);
        if frame.token.len() > max_token {
            return Err(SessionError::TokenTooLong {
                len: frame.token.len(),
                max: max_token,
            });
        }
        let len = frame.encoded_len();
        let max = self.max_send_size();
        if len > max {
            return Err(SessionError::MessageTooLarge { len, max });
        }
        let queued = self.queued_out();
        let limit = self.config.write_queue_limit;
        if queued.saturating_add(len) > limit {
            return Err(SessionError::WouldBlock { queued, len, limit });
        }
        // RFC 8323 §3.3: our CSM precedes anything else we send.
        self.ensure_csm_sent();
        self.encode(frame).map_err(SessionError::Encode)?;
        if !frame.code.is_empty() {
            self.last_activity = now;
        }
        Ok(())
    }

    /// Sends a Ping (RFC 8323 §5.4), with Custody to ask the peer to answer only after
    /// processing everything sent before (§5.4.1). The Pong arrives as
    /// [`SessionEvent::Pong`]; without it within [`SessionConfig::pong_timeout`] the
    /// connection is aborted.
    ///
    /// # Errors
    /// [`SessionError::PingOutstanding`], [`SessionError::Closed`].
    pub fn ping(&mut self, now: Duration, custody: bool) -> Result<(), SessionError> {
        self.open(now);
        if self.phase == Phase::Closed {
            return Err(SessionError::Closed);
        }
        if self.ping.is_some() {
            return Err(SessionError::PingOutstanding);
        }
        self.ping_seq = self.ping_seq.wrapping_add(1);
        let token = self.ping_seq.to_be_bytes();
        self.queue_signal(&OwnedFrame::ping(token, custody));
        self.ping = Some(OutstandingPing {
            token,
            deadline: now.saturating_add(self.config.pong_timeout),
        });
        Ok(())
    }

    /// Releases the connection (RFC 8323 §5.5): queues a Release and refuses new requests; the
    /// session closes when the peer closes the transport or after
    /// [`SessionConfig::release_timeout`]. Does nothing once released or closed.
    pub fn release(
        &mut self,
        now: Duration,
        alternative_addresses: &[&str],
        hold_off: Option<u32>,
        diagnostic: &str,
    ) {
        self.open(now);
        let mut frame = OwnedFrame::release(alternative_addresses, hold_off, diagnostic);
        self.fit_diagnostic(&mut frame);
        self.start_release(now, &frame, CloseReason::LocalRelease);
    }

    /// Aborts the connection (RFC 8323 §5.6): queues an Abort with `diagnostic` and closes the
    /// session.
    pub fn abort(&mut self, now: Duration, diagnostic: &str) {
        self.open(now);
        self.abort_with(None, diagnostic, CloseReason::LocalAbort);
    }

    /// Closes the session without sending anything, typically once every request received
    /// before the peer's Release has been answered (RFC 8323 §5.5). The reason is the release
    /// in progress, or [`CloseReason::LocalClose`].
    pub fn close(&mut self, _now: Duration) {
        let reason = self.release_reason().unwrap_or(CloseReason::LocalClose);
        self.close_with(reason);
    }

    /// The next event, if any. Taking an event may queue a Pong that waited for Custody
    /// (RFC 8323 §5.4.1).
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        loop {
            match self.events.pop_front()? {
                Pending::Event(event) => return Some(event),
                Pending::CustodyPong(token) => {
                    if self.phase != Phase::Closed {
                        self.queue_signal(&OwnedFrame::pong(token, true));
                    }
                }
            }
        }
    }

    /// Takes all queued bytes, to be written to the transport connection in order.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.queued_out() == 0 {
            return None;
        }
        let mut out = core::mem::take(&mut self.out);
        out.drain(..self.out_pos.min(out.len()));
        self.out_pos = 0;
        Some(out)
    }

    /// The queued bytes, for a write that may take only part of them; follow with
    /// [`Self::consume_transmit`].
    #[must_use]
    pub fn transmit_queue(&self) -> &[u8] {
        self.out.get(self.out_pos..).unwrap_or(&[])
    }

    /// Drops the first `n` queued bytes (those written); `n` is capped at the queue length.
    pub fn consume_transmit(&mut self, n: usize) {
        self.out_pos = self.out_pos.saturating_add(n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    fn queued_out(&self) -> usize {
        self.out.len() - self.out_pos.min(self.out.len())
    }

    fn encode(&mut self, frame: &OwnedFrame) -> Result<usize, EncodeError> {
        if self.out_pos > 0 {
            self.out.drain(..self.out_pos.min(self.out.len()));
            self.out_pos = 0;
        }
        frame.encode_to(&mut self.out)
    }

    /// Queues a signaling frame the session generates itself (outside the write queue bound,
    /// see [`SessionConfig::write_queue_limit`]).
    fn queue_signal(&mut self, frame: &OwnedFrame) {
        self.ensure_csm_sent();
        // Our own signaling frames are well-formed; an encoding failure would leave the queue
        // unchanged.
        let _ = self.encode(frame);
    }

    fn ensure_csm_sent(&mut self) {
        if !self.csm_sent {
            self.csm_sent = true;
            let _ = self.encode(&OwnedFrame::csm(&self.config.csm()));
        }
    }

    fn start_release(&mut self, now: Duration, frame: &OwnedFrame, reason: CloseReason) {
        if self.phase != Phase::Open || self.local_release.is_some() {
            return;
        }
        self.queue_signal(frame);
        self.local_release = Some(reason);
        let deadline = now.saturating_add(self.config.release_timeout);
        self.release_deadline = Some(self.release_deadline.map_or(deadline, |d| d.min(deadline)));
    }

    fn release_reason(&self) -> Option<CloseReason> {
        if let Some(reason) = &self.local_release {
            Some(reason.clone())
        } else if self.peer_released {
            Some(CloseReason::PeerRelease)
        } else {
            None
        }
    }

    fn abort_with(&mut self, bad_csm_option: Option<u16>, diagnostic: &str, reason: CloseReason) {
        if self.phase == Phase::Closed {
            return;
        }
        let mut frame = OwnedFrame::abort(bad_csm_option, diagnostic);
        self.fit_diagnostic(&mut frame);
        self.queue_signal(&frame);
        self.close_with(reason);
    }

    /// Drops the diagnostic payload of a Release or Abort that would exceed the peer's
    /// Max-Message-Size (RFC 8323 §5.3.1; the diagnostic is optional, §5.5, §5.6).
    fn fit_diagnostic(&self, frame: &mut OwnedFrame) {
        let max = self.peer.unwrap_or_default().max_message_size;
        if frame.encoded_len() > usize::try_from(max).unwrap_or(usize::MAX) {
            frame.payload.clear();
        }
    }

    fn close_with(&mut self, reason: CloseReason) {
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.read_buf = Vec::new();
        self.ping = None;
        self.csm_deadline = None;
        self.release_deadline = None;
        self.push_event(SessionEvent::Closed { reason });
    }

    // -----------------------------------------------------------------------------------------
    // Timers.

    /// When [`Self::handle_timeout`] must be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.phase != Phase::Open {
            return None;
        }
        [
            self.csm_deadline,
            self.ping.as_ref().map(|p| p.deadline),
            self.release_deadline,
            self.idle_deadline(),
            self.keep_alive_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn idle_deadline(&self) -> Option<Duration> {
        if self.is_releasing() {
            return None;
        }
        let idle = self.config.idle_timeout?;
        Some(self.last_activity.saturating_add(idle))
    }

    fn keep_alive_deadline(&self) -> Option<Duration> {
        if self.ping.is_some() || self.peer.is_none() || self.is_releasing() {
            return None;
        }
        let interval = self.config.keep_alive?;
        Some(self.last_rx.saturating_add(interval))
    }

    /// Handles the timers that expired at `now`: a missing CSM (Abort, RFC 8323 §3.3), a
    /// missing Pong (Abort, §5.4), the end of a release (close, §5.5), an idle connection
    /// (Release, §5.5) and keep-alive (Ping, §5.4).
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.phase != Phase::Open {
            return;
        }
        if self.csm_deadline.is_some_and(|d| now >= d) {
            self.abort_with(None, DIAG_CSM_TIMEOUT, CloseReason::CsmTimeout);
            return;
        }
        if self.ping.as_ref().is_some_and(|p| now >= p.deadline) {
            self.abort_with(None, DIAG_PONG_TIMEOUT, CloseReason::PongTimeout);
            return;
        }
        if self.release_deadline.is_some_and(|d| now >= d) {
            self.close(now);
            return;
        }
        if self.idle_deadline().is_some_and(|d| now >= d) {
            self.start_release(
                now,
                &OwnedFrame::release(&[], None, DIAG_IDLE),
                CloseReason::Idle,
            );
            return;
        }
        if self.keep_alive_deadline().is_some_and(|d| now >= d) {
            let _ = self.ping(now, false);
        }
    }
}
