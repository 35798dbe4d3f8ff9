//! The sans-IO CoAP endpoint: one object that owns the message layer (RFC 7252 §4), request and
//! response matching (§5.3.2), block-wise transfers (RFC 7959), Observe (RFC 7641), Echo
//! (RFC 9175) and CoAP over TCP sessions (RFC 8323), for the client and the server role at once.
//!
//! [`Endpoint`] composes the pieces of [`crate::transmission`] (transmission parameters,
//! [`Retransmission`], [`MessageIdAllocator`]), [`crate::echo`], the option registry of
//! [`crate::option`] and the components of this module. It owns no socket and no clock: the
//! caller passes `now`, datagrams and stream bytes in and takes datagrams, stream bytes, events
//! and timers out, in the order documented on [`Endpoint`]. No application assembles the
//! components by hand; the endpoint drives them:
//!
//! * Message layer (RFC 7252 §4): deduplication, ACK/RST, retransmission, NSTART and
//!   PROBING_RATE for UDP peers; none of it for connection peers (RFC 8323 §2.2).
//! * Protection ([`protection`]): between the message layer and request/response processing
//!   (RFC 8613 §2) a [`Protection`] unprotects requests and responses and protects what goes
//!   out; dedup and ACK work on the outer message, everything below on the inner one.
//! * Block-wise ([`blockwise`], RFC 7959): as a server the endpoint reassembles Block1 uploads
//!   (answering 2.31 itself) and slices large responses with Block2, serving follow-up blocks
//!   from a bounded cache; as a client it uploads large bodies with Block1 and a Request-Tag
//!   and follows Block2 to the whole body. The application sees whole bodies, unless a
//!   request asks for [`RequestOptions::deliver_blocks`]: then each downloaded block comes as
//!   [`Event::Block`] as it arrives and nothing is reassembled.
//! * Observe ([`observe`], RFC 7641): as a server a bounded registry numbers notifications,
//!   picks NON/CON and ends observations on RST, timeout, deregistration or a non-2.xx
//!   notification ([`Endpoint::notify`], [`Event::ObservationEnded`]), and says when a
//!   notification it took is done — acknowledged, sent, replaced by a newer one (§4.5.2) or
//!   failed ([`Event::NotificationDone`], [`Endpoint::notification_pending`]); as a client
//!   registrations stay alive, notifications come in order as [`Event::Notification`], stale
//!   representations are re-registered and [`Endpoint::cancel_observation`] ends one. A
//!   notification sliced with Block2 is completed with GETs for its other blocks first
//!   (RFC 7959 §3.4).
//! * CoAP over TCP ([`tcp_session`], RFC 8323): [`Endpoint::open_connection`] makes a peer a
//!   connection; its frames meet the same matching, block-wise (sized by the peer's
//!   Max-Message-Size; BERT is not used) and Observe (reliable notifications) as datagrams.
//! * Echo (RFC 9175): server-side freshness bound to peer and [`Protection::Identity`]; the
//!   client retries with each new value of a 4.01, up to [`EndpointConfig::max_echo_retries`].

pub mod blockwise;
pub mod observe;
pub mod protection;
pub mod tcp_session;

#[cfg(not(feature = "tcp"))]
mod no_tcp;

pub use self::protection::{NoProtection, Protection, ProtectionError};

// Curated re-exports: the types an application of the endpoint names most.
pub use self::blockwise::{
    Block1ClientConfig, Block1ServerConfig, Block2ClientConfig, Block2ServerConfig, BlockwiseError,
    MessageParts,
};
pub use self::observe::{
    ClientConfig as ObservationClientConfig, ObservationError, ObservationHandle, ObserverHandle,
    RegistryConfig, ResourceKey,
};
pub use self::tcp_session::{CloseReason, ConnectionRole, SessionConfig, SessionError};
use self::tcp_session::{SessionEvent, TcpSession};
use crate::tcp::{OwnedFrame, PeerSettings};

/// The CoAP over TCP sessions by peer; an always-empty table without the `tcp` feature.
#[cfg(feature = "tcp")]
type Connections<P> = BTreeMap<P, TcpSession>;
#[cfg(not(feature = "tcp"))]
type Connections<P> = self::no_tcp::NoConnections<P>;

#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;
use alloc::collections::VecDeque;

#[cfg(feature = "vec-maps")]
use crate::vec_map::VecMap as BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use crate::block::{BlockValue, Szx};
use crate::code::{Code, MessageType};
use crate::echo::{ClientEchoAction, EchoBuf, client_action};
use crate::error::{EncodeError, OptionError};
use crate::message::{DecodeLimits, Message, OwnedMessage};
use crate::option::{self, OptionNumber, OptionRef, Options};
use crate::transmission::{
    MessageIdAllocator, RandomSource, Retransmission, Timeout, TransmissionParameters,
};

use self::observe::{
    ClientConfig, Delivery, NotificationPlan, NotificationVerdict, NotifyOptions,
    ObservationClient, ObserveDecision, ObserverRegistry,
};
use crate::observe::Transport;

use self::blockwise::{
    Block1Action, Block1Client, Block1Progress, Block1Server, Block2Client, Block2Progress,
    Block2Server, CacheOutcome,
};

/// Errors of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// The configuration is not usable.
    #[error("invalid endpoint configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The table of peers is full ([`EndpointLimits::max_peers`]).
    #[error("the table of peers is full ({capacity} peers)")]
    PeerTableFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// Too many client requests are outstanding or queued
    /// ([`EndpointLimits::max_outstanding_requests`]).
    #[error("{capacity} client requests are already outstanding or queued")]
    TooManyOutstanding {
        /// The configured capacity.
        capacity: usize,
    },
    /// NSTART or PROBING_RATE holds the request back and the queue is full
    /// ([`EndpointLimits::max_queued_requests`]).
    #[error("the queue of requests held back by NSTART or PROBING_RATE is full ({capacity})")]
    QueueFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// A message larger than [`EndpointLimits::max_message_size`].
    #[error("message of {size} bytes exceeds the maximum of {max} bytes")]
    MessageTooLarge {
        /// Encoded size.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// [`Endpoint::request`] was given a code that is not a method.
    #[error("code {code} is not a request method")]
    NotARequest {
        /// The code given.
        code: Code,
    },
    /// [`Endpoint::respond`] was given a code that is not a response code.
    #[error("code {code} is not a response code")]
    NotAResponse {
        /// The code given.
        code: Code,
    },
    /// [`Endpoint::respond`] for a request that was answered, expired or never existed.
    #[error("no pending incoming request {id:?}")]
    UnknownIncoming {
        /// The identifier given.
        id: IncomingId,
    },
    /// The message cannot be encoded.
    #[error("cannot encode the message: {0}")]
    Encode(EncodeError),
    /// A block-wise transfer cannot be set up (RFC 7959).
    #[error("block-wise transfer: {0}")]
    Blockwise(BlockwiseError),
    /// The client's observation table is full ([`ClientConfig::max_observations`]) or the
    /// registration cannot be tracked.
    #[error("observation: {0}")]
    Observation(ObservationError),
    /// The protection layer could not protect a request.
    #[error("protection: {0}")]
    Protection(ProtectionError),
    /// [`Endpoint::open_connection`] with [`EndpointLimits::max_connections`] connections open.
    #[error("{capacity} connections are already open")]
    TooManyConnections {
        /// The configured capacity.
        capacity: usize,
    },
    /// [`Endpoint::open_connection`] for a peer that has a connection.
    #[error("a connection to this peer is already open")]
    ConnectionExists,
    /// A CoAP over TCP session refused to send (e.g. its write queue is full: a slow reader).
    #[error("connection: {0}")]
    Session(SessionError),
    /// [`Endpoint::notify`] for an observation that is over or never existed.
    #[error("no observation {handle:?}")]
    UnknownObservation {
        /// The handle given.
        handle: ObserverHandle,
    },
    /// [`Endpoint::cancel`] for a request that is over or never existed.
    #[error("no client request {id:?} in progress")]
    UnknownRequest {
        /// The identifier given.
        id: RequestId,
    },
    /// A conditional request's precondition does not hold (RFC 7252 §5.10.8): answer 4.12.
    #[error("precondition of option {option} failed (RFC 7252 §5.10.8): answer 4.12")]
    PreconditionFailed {
        /// If-Match or If-None-Match.
        option: OptionNumber,
    },
}

impl EndpointError {
    /// The response code a server answers with when this error is about a request:
    /// 4.12 for [`EndpointError::PreconditionFailed`], 4.13 for
    /// [`EndpointError::MessageTooLarge`], 5.00 otherwise.
    #[must_use]
    pub const fn response_code(&self) -> Code {
        match self {
            Self::PreconditionFailed { .. } => Code::PRECONDITION_FAILED,
            Self::MessageTooLarge { .. } => Code::REQUEST_ENTITY_TOO_LARGE,
            _ => Code::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The bounds on every table a peer or the application can grow. Each reached bound is a typed
/// error ([`EndpointError`]) or a counter in [`EndpointStats`], never growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointLimits {
    /// Peers with any state (deduplication entries, exchanges, queued requests).
    pub max_peers: usize,
    /// Deduplication entries (RFC 7252 §4.5) per peer. When they are all live, a new message
    /// evicts the peer's own oldest answered entry: a conforming peer (NSTART 1, §4.7) has
    /// long stopped retransmitting an exchange that many exchanges old, so only a late network
    /// duplicate of it could be processed again, while dropping instead would stall an
    /// honest client for EXCHANGE_LIFETIME after this many requests. A message is dropped
    /// only when every entry of the peer is a request still being processed.
    pub max_dedup_per_peer: usize,
    /// Deduplication entries over all peers. When full, a new message evicts the peer's own
    /// oldest answered entry, or else the answered entry of any peer that expires first (a
    /// flood from many addresses churns the table instead of locking new peers out).
    pub max_dedup_total: usize,
    /// Client requests outstanding or queued.
    pub max_outstanding_requests: usize,
    /// Client requests held back by NSTART or PROBING_RATE (RFC 7252 §4.7).
    pub max_queued_requests: usize,
    /// Incoming requests awaiting [`Endpoint::respond`], plus separate responses awaiting
    /// their acknowledgement. When full, a CON request is answered 5.03 and a NON request dropped.
    pub max_pending_incoming: usize,
    /// The largest datagram accepted or sent (RFC 7252 §4.6).
    pub max_message_size: usize,
    /// Echo values issued and remembered (RFC 9175); the oldest is forgotten when full.
    pub max_echo_challenges: usize,
    /// Datagrams waiting for [`Endpoint::poll_transmit`]; the oldest is dropped when full.
    pub max_queued_transmits: usize,
    /// Events waiting for [`Endpoint::poll_event`]; new events are dropped when full (and new
    /// requests refused with 5.03, so none is lost silently).
    pub max_queued_events: usize,
    /// CoAP over TCP connections ([`Endpoint::open_connection`]).
    pub max_connections: usize,
}

impl Default for EndpointLimits {
    fn default() -> Self {
        Self {
            max_peers: 64,
            max_dedup_per_peer: 32,
            max_dedup_total: 512,
            max_outstanding_requests: 32,
            max_queued_requests: 32,
            max_pending_incoming: 32,
            // RFC 7252 §4.6: 1152 bytes fit the IPv6 minimum MTU with headers.
            max_message_size: 1152,
            max_echo_challenges: 64,
            max_queued_transmits: 256,
            max_queued_events: 256,
            max_connections: 16,
        }
    }
}

/// Which requests must prove freshness with an Echo option (RFC 9175 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EchoRequirement {
    /// Requests with an unsafe method (POST, PUT, DELETE, PATCH, iPATCH; RFC 7252 §5.1,
    /// RFC 8132 §2, §3).
    UnsafeMethods,
    /// Every request.
    AllRequests,
    /// Requests with an unsafe method that arrived protected ([`IncomingRequest::identity`]
    /// is `Some`): for a server that answers every plain request but a few public resources
    /// with an error anyway, and whose public resources (an EDHOC resource, RFC 9528
    /// Appendix A.2) have their own replay protection.
    ProtectedUnsafeMethods,
}

/// The server's freshness policy (RFC 9175 §2.3, §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoPolicy {
    /// How long an Echo value stays fresh after it was issued.
    pub window: Duration,
    /// Which requests need one.
    pub require: EchoRequirement,
}

impl EchoPolicy {
    fn applies_to(&self, method: Code, protected: bool) -> bool {
        let unsafe_method = !matches!(method, Code::GET | Code::FETCH);
        match self.require {
            EchoRequirement::AllRequests => true,
            EchoRequirement::UnsafeMethods => unsafe_method,
            EchoRequirement::ProtectedUnsafeMethods => unsafe_method && protected,
        }
    }
}

/// The configuration of an [`Endpoint`].
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// RFC 7252 §4.8 transmission parameters.
    pub transmission: TransmissionParameters,
    /// Length of the tokens the endpoint draws for its requests, 1–8 bytes (RFC 7252 §5.3.1).
    pub token_len: usize,
    /// The longest token accepted in incoming messages; above 8 enables RFC 8974 extended
    /// tokens.
    pub max_incoming_token_len: usize,
    /// How long a CON request may wait for [`Endpoint::respond`] before an empty ACK is sent
    /// and the response goes later as a separate CON (RFC 7252 §5.2.2).
    pub piggyback_delay: Duration,
    /// Critical options the application processes beyond the registry of [`crate::option`]
    /// (RFC 7252 §5.4.1).
    pub recognized_options: Vec<OptionNumber>,
    /// Server-side Echo freshness (RFC 9175); `None` turns it off. A policy needs the
    /// `echo-server` feature ([`EndpointError::InvalidConfig`] without it).
    pub echo: Option<EchoPolicy>,
    /// Client side: how many times one request is sent again with the Echo value of a 4.01
    /// (RFC 9175 §2.3, §2.4), each time only with a value different from the one the request
    /// already carried, so a server repeating its value ends the retries. More than one lets
    /// a request pass two challenges in a row, e.g. RFC 8613 App. B.1.2 replay-window recovery
    /// followed by the server endpoint's own freshness Echo. 0 delivers every 4.01.
    pub max_echo_retries: usize,
    /// Table bounds.
    pub limits: EndpointLimits,
    /// Server-side Block1 reassembly (RFC 7959 §2.5): body limit, transfer table bounds, the
    /// block size asked of clients.
    pub block1: Block1ServerConfig,
    /// Server-side Block2 serving (RFC 7959 §2.4): cache bounds and the preferred block size.
    /// The endpoint lowers `preferred_szx` until a block plus 128 bytes of header and options
    /// fits [`EndpointLimits::max_message_size`] (RFC 7252 §4.6: 1152 = 1024 + 128).
    pub block2: Block2ServerConfig,
    /// Client-side block-wise defaults for [`Endpoint::request`] (RFC 7959 §2.4, §2.5): the
    /// Block1 size of uploads (lowered to fit [`EndpointLimits::max_message_size`] like
    /// `block2`), early Block2 negotiation and the largest body downloaded.
    pub client_blockwise: Block1ClientConfig,
    /// The observer registry of the server role (RFC 7641 §4): its bounds (a refused
    /// registration is answered as a plain GET, §4.1) and the Confirmable schedule (§4.5).
    pub observe: RegistryConfig,
    /// The observations of the client role (RFC 7641 §3): how many at once, and when a
    /// representation that went stale is re-registered (§3.3.1).
    pub observe_client: ClientConfig,
    /// The session settings of each CoAP over TCP connection (our Max-Message-Size and
    /// Block-Wise-Transfer in the CSM, the write queue bound, CSM and keep-alive timers;
    /// RFC 8323 §5.3). BERT is not used.
    pub session: SessionConfig,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            transmission: TransmissionParameters::default(),
            token_len: 4,
            max_incoming_token_len: 8,
            piggyback_delay: Duration::from_secs(1),
            recognized_options: Vec::new(),
            echo: None,
            max_echo_retries: 2,
            limits: EndpointLimits::default(),
            block1: Block1ServerConfig::default(),
            block2: Block2ServerConfig::default(),
            client_blockwise: Block1ClientConfig::default(),
            observe: RegistryConfig::default(),
            observe_client: ClientConfig::default(),
            session: SessionConfig::default(),
        }
    }
}

impl EndpointConfig {
    fn validate(&self) -> Result<(), EndpointError> {
        let bad = |reason| Err(EndpointError::InvalidConfig { reason });
        if !(1..=8).contains(&self.token_len) {
            return bad("token_len must be 1 to 8 bytes");
        }
        if self.token_len == 1 && self.limits.max_outstanding_requests >= 256 {
            return bad("1-byte tokens allow at most 255 outstanding requests");
        }
        if self.max_incoming_token_len > option::MAX_VALUE_LEN {
            return bad("max_incoming_token_len exceeds what the format can express");
        }
        if self.transmission.probing_rate() == 0 {
            return bad("PROBING_RATE must be at least 1 byte per second");
        }
        let l = &self.limits;
        if l.max_peers == 0
            || l.max_dedup_per_peer == 0
            || l.max_dedup_total == 0
            || l.max_outstanding_requests == 0
            || l.max_pending_incoming == 0
            || l.max_queued_transmits == 0
            || l.max_queued_events == 0
        {
            return bad("every table bound must be at least 1");
        }
        if l.max_message_size < 4 {
            return bad("max_message_size must be at least 4 bytes");
        }
        if self.block1.preferred_szx.is_bert() || self.block2.preferred_szx.is_bert() {
            // RFC 8323 §6: BERT exists only over reliable transports.
            return bad("BERT (SZX 7) is not a block size over UDP");
        }
        if self.echo.is_some() && cfg!(not(feature = "echo-server")) {
            // Without the feature no request would be challenged: refused rather than ignored.
            return bad("an Echo policy needs the echo-server feature");
        }
        if self.echo.is_some() && l.max_echo_challenges == 0 {
            return bad("max_echo_challenges must be at least 1 with an Echo policy");
        }
        Ok(())
    }
}

/// How a client request is sent (RFC 7252 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// Confirmable: retransmitted until acknowledged (§4.2).
    Confirmable,
    /// Non-confirmable: sent once (§4.3).
    NonConfirmable,
}

/// How [`Endpoint::request_with`] sends one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOptions {
    /// CON or NON (RFC 7252 §2.1); every block of a block-wise transfer is sent this way.
    pub reliability: Reliability,
    /// Block-wise behaviour (RFC 7959): the Block1 size of an upload (`szx`, lowered to fit
    /// [`EndpointLimits::max_message_size`]), early negotiation of the response's block size
    /// (`response_szx`, and `download.early_negotiation` for a request without body), and the
    /// download's bounds (`download.max_body`).
    pub blockwise: Block1ClientConfig,
    /// A Block2 download (RFC 7959 §2.4) is not reassembled in memory: each block, once it
    /// arrived (and, under a protection layer, verified: with OSCORE each inner block is its
    /// own protected response, RFC 8613 §4.1.3.4), comes as [`Event::Block`] before the next
    /// block is asked for; the final [`Event::Response`] then carries no body. A response
    /// sent whole (no Block2) still comes as [`Event::Response`] with its body. An ETag change
    /// ends the transfer with [`Event::BlockwiseFailed`] ([`crate::block::BlockError::EtagChanged`]).
    pub deliver_blocks: bool,
}

impl RequestOptions {
    /// Options with [`EndpointConfig::client_blockwise`] and this reliability.
    #[must_use]
    pub const fn new(reliability: Reliability, blockwise: Block1ClientConfig) -> Self {
        Self {
            reliability,
            blockwise,
            deliver_blocks: false,
        }
    }

    /// These options with [`RequestOptions::deliver_blocks`] set.
    #[must_use]
    pub const fn delivering_blocks(mut self) -> Self {
        self.deliver_blocks = true;
        self
    }
}

/// The block-wise transfer of a client request (RFC 7959): the upload until its final
/// response, then the download of a response body sent in blocks.
#[derive(Debug)]
enum Transfer {
    Upload(Block1Client),
    Download(Block2Client),
}

impl Transfer {
    /// The Request-Tag of an upload in progress (`Some(None)`: the absent option); `None`
    /// for a download, which is past its upload.
    fn upload_tag(&self) -> Option<Option<&[u8]>> {
        match self {
            Self::Upload(upload) => Some(upload.request_tag()),
            Self::Download(_) => None,
        }
    }
}

/// How far the block-wise transfer of a client request has come
/// ([`Endpoint::transfer_progress`]), for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferProgress {
    /// A Block1 upload (RFC 7959 §2.5): `acknowledged` of `total` body bytes confirmed.
    Upload {
        /// Body bytes the server acknowledged so far.
        acknowledged: usize,
        /// The whole body.
        total: usize,
    },
    /// A Block2 download (RFC 7959 §2.4): `received` body bytes reassembled so far.
    Download {
        /// Body bytes received so far.
        received: usize,
    },
}

/// Identifies a client request for its whole life (including an Echo retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(u64);

/// Identifies an incoming request until [`Endpoint::respond`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncomingId(u64);

/// What [`Endpoint::poll_transmit`] yields: a UDP datagram, or bytes for a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransmitKind {
    /// One UDP datagram: send it as is.
    Datagram,
    /// The next bytes of a CoAP over TCP connection ([`Endpoint::open_connection`]): append
    /// them to the connection's byte stream, in order (RFC 8323 §3.2).
    Stream,
}

/// Bytes to send: a datagram, or stream bytes for a connection (see [`Transmit::kind`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<P> {
    /// The destination.
    pub peer: P,
    /// The bytes (one datagram, or a piece of the connection's stream).
    pub datagram: Vec<u8>,
    /// Datagram or stream bytes. The socket loop writes stream bytes to the peer's
    /// connection; they are only ever handed out in order and never dropped.
    pub kind: TransmitKind,
}

/// The current state of a resource, for the conditional-request check of RFC 7252 §5.10.8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceState<'a> {
    /// Whether the target resource currently has a representation.
    pub exists: bool,
    /// The current representation's ETag, if the resource has one.
    pub etag: Option<&'a [u8]>,
}

/// An incoming request delivered in [`Event::Request`]; `I` is the
/// [`Protection::Identity`] of the endpoint's protection layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingRequest<I = ()> {
    /// The request (type and Message ID as received; the inner request when it was
    /// protected, with a reassembled body when it came in Block1 blocks).
    pub message: OwnedMessage,
    /// The security context the request arrived in ([`Protection::unprotect_request`]);
    /// `None` for a plain request.
    pub identity: Option<I>,
    /// `Some` when the request registered an observation (GET/FETCH with Observe 0, accepted
    /// by the registry, RFC 7641 §4.1): answer it with [`Endpoint::respond`] (the endpoint adds
    /// the Observe value), then send each later notification with [`Endpoint::notify`] or
    /// [`Endpoint::notify_resource`]. `None` for a plain request and for a registration the
    /// registry refused (it is then answered as a plain GET).
    pub observation: Option<ObserverHandle>,
}

impl<I> core::ops::Deref for IncomingRequest<I> {
    type Target = OwnedMessage;

    /// The request message (so `request.payload`, `request.option(..)` read it directly).
    fn deref(&self) -> &OwnedMessage {
        &self.message
    }
}

impl<I> IncomingRequest<I> {
    /// Checks If-Match and If-None-Match against the resource's current state
    /// (RFC 7252 §5.10.8). On error, answer with [`EndpointError::response_code`] (4.12).
    ///
    /// # Errors
    /// [`EndpointError::PreconditionFailed`] naming the option whose condition does not hold.
    pub fn check_preconditions(&self, current: ResourceState<'_>) -> Result<(), EndpointError> {
        let mut if_match = self
            .message
            .options
            .get_all(OptionNumber::IF_MATCH)
            .peekable();
        if if_match.peek().is_some() {
            // §5.10.8.1: fulfilled when any If-Match value is the current ETag, or is empty and
            // a representation exists ("conditional on the current existence of any
            // representation").
            let met = current.exists
                && if_match.any(|o| o.value.is_empty() || Some(o.value) == current.etag);
            if !met {
                return Err(EndpointError::PreconditionFailed {
                    option: OptionNumber::IF_MATCH,
                });
            }
        }
        // §5.10.8.2: fulfilled only when the target resource does not exist.
        if self.message.option(OptionNumber::IF_NONE_MATCH).is_some() && current.exists {
            return Err(EndpointError::PreconditionFailed {
                option: OptionNumber::IF_NONE_MATCH,
            });
        }
        Ok(())
    }
}

/// What the endpoint reports to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<P, I = ()> {
    /// A new request (deduplicated, options checked, fresh when Echo is required). Answer it
    /// with [`Endpoint::respond`].
    Request {
        /// Pass to [`Endpoint::respond`].
        id: IncomingId,
        /// Where it came from.
        peer: P,
        /// The request.
        message: IncomingRequest<I>,
    },
    /// A request lacked a fresh Echo and was answered 4.01 with a new Echo value (RFC 9175
    /// §2.3, [`EndpointConfig::echo`]); it did not reach the application. A fresh repetition
    /// comes as [`Event::Request`].
    EchoChallenged {
        /// Who sent it.
        peer: P,
        /// The protection identity it arrived under, if any.
        identity: Option<I>,
        /// Its method.
        method: Code,
        /// Its Uri-Path segments (lossy UTF-8).
        path: Vec<String>,
    },
    /// One block of a Block2 download made with [`RequestOptions::deliver_blocks`], in order,
    /// delivered before the next block is requested; the endpoint keeps no copy.
    Block {
        /// The request.
        id: RequestId,
        /// Who answered.
        peer: P,
        /// Where `payload` starts in the body.
        offset: usize,
        /// The block's payload (verified by the protection layer, if any).
        payload: Vec<u8>,
        /// More blocks follow (RFC 7959 §2.2, the M bit).
        more: bool,
        /// The body's size, when the response carried Size2 (RFC 7959 §4: ask for it with
        /// Size2 0 in the request).
        size: Option<usize>,
    },
    /// The final response to a client request.
    Response {
        /// The request.
        id: RequestId,
        /// Who answered.
        peer: P,
        /// The response.
        message: OwnedMessage,
    },
    /// A fresh notification of an observation the client registered (RFC 7641 §3.2): newer
    /// than every one delivered before (§3.4; older ones are dropped and counted in
    /// [`EndpointStats::stale_notifications`]). The first response of the registration came
    /// as [`Event::Response`]; a final non-2.xx or Observe-less response ends the observation
    /// and comes as [`Event::Response`] too. A notification sliced with Block2 (RFC 7959 §3.4)
    /// comes once its remaining blocks are fetched, with the whole body and the options of its
    /// first block (without Block2 and Size2); a newer notification arriving meanwhile
    /// abandons that fetch.
    Notification {
        /// The registration request.
        id: RequestId,
        /// The server.
        peer: P,
        /// The notification.
        message: OwnedMessage,
    },
    /// The response to a protected request did not verify ([`Protection::unprotect_response`]);
    /// the request is over.
    ProtectionFailed {
        /// The request.
        id: RequestId,
        /// Who answered.
        peer: P,
        /// The response as received, not verified: e.g. an unprotected error answer whose
        /// code and diagnostic payload say why the server refused (RFC 8613 §8.2, §7.4). Show
        /// it as such, never as the answer to the request.
        response: OwnedMessage,
    },
    /// A CON request was not acknowledged after MAX_RETRANSMIT retransmissions, or no response
    /// came within EXCHANGE_LIFETIME (RFC 7252 §4.2, §4.8.2).
    TimedOut {
        /// The request.
        id: RequestId,
    },
    /// The peer rejected a client request with a Reset (RFC 7252 §4.2, §4.3).
    Reset {
        /// The request.
        id: RequestId,
    },
    /// A response with an unrecognized critical option was rejected (RFC 7252 §5.4.1); the
    /// request is over.
    ResponseRejected {
        /// The request.
        id: RequestId,
        /// Who answered.
        peer: P,
        /// The option problem.
        error: OptionError,
    },
    /// A response matching no request of ours (RFC 7252 §5.3.2): a CON one was answered with
    /// a Reset, a NON or piggybacked one ignored.
    UnmatchedResponse {
        /// Who sent it.
        peer: P,
        /// The response.
        message: OwnedMessage,
    },
    /// A block-wise transfer of a client request failed (RFC 7959: a block out of order, an
    /// ETag that kept changing, a body over the limit, a 4.13 smaller blocks cannot help); the
    /// request is over.
    BlockwiseFailed {
        /// The request.
        id: RequestId,
        /// The server.
        peer: P,
        /// What went wrong.
        error: BlockwiseError,
    },
    /// An observation of the server role is over (RFC 7641): the registry no longer holds
    /// `handle`, and [`Endpoint::notify`] for it fails.
    ObservationEnded {
        /// The registration.
        handle: ObserverHandle,
        /// The observer.
        peer: P,
        /// Why.
        reason: ObservationEndReason,
    },
    /// A notification that [`Endpoint::notify`] or [`Endpoint::notify_resource`] took for
    /// the observer `handle` has left the endpoint's hands for good: each one taken gets
    /// exactly one such event (a non-2.xx one, which ends the observation, gets
    /// [`Event::ObservationEnded`] instead; [`Endpoint::forget_observer`] drops what it holds
    /// without one). An application that must not lose notifications (e.g. a stored history,
    /// which RFC 7641 §4.5.2 "a newer notification replaces a pending one" is not meant for)
    /// hands over the next one only when [`Endpoint::notification_pending`] is `false`.
    NotificationDone {
        /// The registration.
        handle: ObserverHandle,
        /// The observer.
        peer: P,
        /// What became of it.
        outcome: NotificationOutcome,
    },
    /// A CoAP over TCP connection is over (RFC 8323 §5.5, §5.6): write out what
    /// [`Endpoint::poll_transmit`] still yields for it, then close the transport. Requests to
    /// the peer ended with [`Event::TimedOut`], its observers with [`Event::ObservationEnded`].
    ConnectionClosed {
        /// The connection.
        peer: P,
        /// Why.
        reason: CloseReason,
    },
    /// The peer's CSM (RFC 8323 §5.3): its Max-Message-Size bounds what the endpoint sends
    /// (block-wise sizes included).
    PeerSettings {
        /// The connection.
        peer: P,
        /// The settings.
        settings: PeerSettings,
    },
    /// A separate response was reset by the client or never acknowledged.
    SeparateResponseFailed {
        /// The request it answered.
        id: IncomingId,
        /// The client.
        peer: P,
        /// `true` for a Reset, `false` when MAX_RETRANSMIT was reached.
        reset: bool,
    },
}

/// What became of a notification the endpoint took ([`Event::NotificationDone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotificationOutcome {
    /// A Confirmable notification was acknowledged (RFC 7252 §4.2).
    Acknowledged,
    /// A Non-confirmable notification (or one over a reliable transport) was handed to
    /// [`Endpoint::poll_transmit`]; nothing more is known of it (RFC 7252 §4.3).
    Sent,
    /// A newer notification to the same observer replaced it before it was done: an
    /// unacknowledged Confirmable one (RFC 7641 §4.5.2) or one held back by the
    /// Non-confirmable rate (§4.5.1).
    Replaced,
    /// It was never acknowledged (MAX_RETRANSMIT reached, or a Reset), or the observation
    /// ended while it was held back; [`Event::ObservationEnded`] follows.
    Failed,
}

/// Why an observation of the server role ended ([`Event::ObservationEnded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObservationEndReason {
    /// The client sent a GET/FETCH with Observe 1 and the registration's token (RFC 7641 §3.6).
    Deregistered,
    /// The client answered a notification with a Reset (RFC 7641 §3.6, §4.5).
    Reset,
    /// A Confirmable notification was not acknowledged after MAX_RETRANSMIT retransmissions
    /// (RFC 7641 §4.5).
    TimedOut,
    /// The registration response or a notification had a non-2.xx code (RFC 7641 §4.1, §4.2).
    ErrorResponse,
    /// The observer's CoAP over TCP connection closed (RFC 8323 §7.4).
    ConnectionClosed,
}

/// Current table sizes and drop counters of an [`Endpoint`] (see [`EndpointLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointStats {
    /// Peers with state.
    pub peers: usize,
    /// Deduplication entries over all peers.
    pub dedup_entries: usize,
    /// The most deduplication entries held for one peer.
    pub max_dedup_of_one_peer: usize,
    /// Client requests in flight (sent, awaiting ACK or response).
    pub outstanding_requests: usize,
    /// Client requests held back by NSTART or PROBING_RATE.
    pub queued_requests: usize,
    /// Incoming requests awaiting [`Endpoint::respond`].
    pub pending_incoming: usize,
    /// Separate responses awaiting their ACK.
    pub separate_responses: usize,
    /// Finished CON requests remembered to recognize late duplicate ACKs (bounded by
    /// [`EndpointLimits::max_outstanding_requests`]).
    pub recent_exchanges: usize,
    /// Echo values remembered.
    pub echo_challenges: usize,
    /// Datagrams awaiting [`Endpoint::poll_transmit`].
    pub queued_transmits: usize,
    /// Events awaiting [`Endpoint::poll_event`].
    pub queued_events: usize,
    /// Datagrams that did not decode (a CON one was answered with a Reset).
    pub malformed: u64,
    /// Datagrams above [`EndpointLimits::max_message_size`], dropped.
    pub oversized: u64,
    /// Messages dropped because the peer table was full.
    pub dropped_peer_table_full: u64,
    /// Messages dropped because the deduplication table was full of requests still being
    /// processed.
    pub dropped_dedup_full: u64,
    /// Answered deduplication entries evicted before they expired to make room (see
    /// [`EndpointLimits::max_dedup_per_peer`]).
    pub dedup_evicted: u64,
    /// Requests refused (5.03 or dropped) because the pending table or event queue was full.
    pub refused_pending_full: u64,
    /// Duplicates detected (RFC 7252 §4.5).
    pub duplicates: u64,
    /// Datagrams dropped from a full transmit queue.
    pub dropped_transmits: u64,
    /// Events dropped from a full event queue.
    pub dropped_events: u64,
    /// ACK and RST messages matching nothing, ignored.
    pub ignored: u64,
    /// Incoming requests never answered within EXCHANGE_LIFETIME, forgotten.
    pub abandoned_incoming: u64,
    /// Block1 uploads being reassembled (bounded by [`Block1ServerConfig::max_transfers`]).
    pub block1_transfers: usize,
    /// Bytes held by Block1 uploads (bounded by [`Block1ServerConfig::max_buffered_bytes`]).
    pub block1_bytes: usize,
    /// Block2 representations kept for follow-up requests (bounded by
    /// [`Block2ServerConfig::max_entries`]).
    pub block2_entries: usize,
    /// Bytes held by kept representations (bounded by [`Block2ServerConfig::max_bytes`]).
    pub block2_bytes: usize,
    /// Body bytes held by client Block2 downloads being reassembled (bounded per request by
    /// [`Block2ClientConfig::max_body`]; 0 for downloads made with
    /// [`RequestOptions::deliver_blocks`]).
    pub download_bytes: usize,
    /// CoAP over TCP connections.
    pub connections: usize,
    /// Bytes queued for writing over all connections (each bounded by
    /// [`SessionConfig::write_queue_limit`]).
    pub connection_bytes: usize,
    /// Messages (notifications, answers) not sent because a connection's write queue was
    /// full (a slow reader, RFC 8323: the endpoint never blocks).
    pub dropped_on_full_connection: u64,
    /// Observations of the client role (bounded by [`ClientConfig::max_observations`]).
    pub observations: usize,
    /// Notifications dropped as older than one already delivered (RFC 7641 §3.4).
    pub stale_notifications: u64,
    /// Block-wise notifications whose remaining blocks could not be fetched (timeout, Reset,
    /// block-wise error; RFC 7959 §3.4): not delivered, the next notification is awaited.
    pub failed_notification_fetches: u64,
    /// Client requests sent again with the Echo value of a 4.01 answer (RFC 9175 §2.3): how
    /// often a server asked this client to prove freshness.
    pub echo_retries: u64,
    /// Registered observers (bounded by [`RegistryConfig::max_observers`]).
    pub observers: usize,
    /// Confirmable notifications awaiting their ACK (at most one per observer, RFC 7641
    /// §4.5.2).
    pub pending_notifications: usize,
    /// Registrations the registry refused (a bound was reached); answered as plain requests.
    pub refused_observations: u64,
    /// Confirmable notifications sent (first transmissions; RFC 7641 §4.5, including the
    /// periodic ones of [`RegistryConfig::confirmable_every`]).
    pub confirmable_notifications: u64,
    /// Observations ended because a Confirmable notification was never acknowledged: the
    /// observer had left or never listened (RFC 7641 §4.5).
    pub observations_timed_out: u64,
    /// Observations ended by a Reset to a notification (RFC 7641 §3.6).
    pub observations_reset: u64,
    /// Notifications held back by the per-peer rate of Non-confirmable notifications
    /// ([`RegistryConfig::non_interval`], RFC 7641 §4.5.1); the newest is sent later.
    pub deferred_notifications: u64,
    /// Responses sliced with Block2 whose representation could not be kept (a bound was
    /// reached); their follow-up requests go to the application again.
    pub block2_not_cached: u64,
}

// ---------------------------------------------------------------------------------------------
// Internal state.

#[derive(Debug, Clone)]
enum DedupState {
    /// A CON request is with the application and no reply was sent yet.
    Processing,
    /// The reply to resend for a duplicate CON (RFC 7252 §4.5).
    Replied(Vec<u8>),
    /// A NON message: duplicates are ignored.
    Seen,
}

#[derive(Debug, Clone)]
struct DedupEntry {
    message_id: u16,
    expires: Duration,
    state: DedupState,
}

enum Dedup {
    New,
    Duplicate(Option<Vec<u8>>),
    Full,
}

#[derive(Debug, Clone)]
struct PeerState {
    dedup: Vec<DedupEntry>,
    /// RFC 7252 §4.7: whether the peer has sent us anything (PROBING_RATE applies until then).
    answered: bool,
    /// The earliest time the next NON may go to an unanswering peer.
    probe_next: Duration,
}

#[derive(Debug)]
struct Outgoing<P, I, B> {
    peer: P,
    /// The identity of a protected request ([`Endpoint::request_protected`]) and the binding
    /// of the last protection of it sent (RFC 8613 §8.1).
    protection: Option<(I, Option<B>)>,
    request: OwnedMessage,
    bytes: Vec<u8>,
    confirmable: bool,
    retransmission: Option<Retransmission>,
    acknowledged: bool,
    expires: Duration,
    /// Echo retries of the current exchange ([`EndpointConfig::max_echo_retries`]).
    echo_retries: usize,
    transfer: Transfer,
    observe: ObserveUse,
}

#[derive(Debug)]
struct Queued<P, I, B> {
    id: RequestId,
    peer: P,
    /// As [`Outgoing`]'s.
    protection: Option<(I, Option<B>)>,
    request: OwnedMessage,
    reliability: Reliability,
    transfer: Transfer,
    observe: ObserveUse,
    /// Keep the request's token (re-registration and deregistration, RFC 7641 §3.3.1, §3.6).
    keep_token: bool,
}

/// What a client request is to Observe (RFC 7641 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObserveUse {
    /// An ordinary request.
    No,
    /// A registration (GET/FETCH with Observe 0); the observation is tracked once it is sent.
    Register(Option<ObservationHandle>),
    /// The re-registration of a stale observation (same token, §3.3.1): its responses are
    /// notifications of the original request.
    Reregister(ObservationHandle),
    /// The GET for the remaining blocks of a notification of the observation (RFC 7959 §3.4).
    NotificationFetch(ObservationHandle),
}

#[derive(Debug, Clone)]
struct Incoming<P, I, B> {
    peer: P,
    /// The binding of a protected request, for its response (RFC 8613 §8.3); taken by
    /// [`Endpoint::respond`].
    binding: Option<B>,
    /// The protection identity the request arrived under: the kept Block2 representation of
    /// its response is served only to requests under the same one.
    identity: Option<I>,
    message_id: u16,
    token: Vec<u8>,
    confirmable: bool,
    /// When the empty ACK goes out if the application has not responded (CON only, until sent).
    ack_at: Option<Duration>,
    expires: Duration,
    /// The request as received, without its payload: what [`Block2Server::respond`] keys and
    /// slices the response by (RFC 7959 §2.4).
    request: Vec<u8>,
    /// The Block1 option the final response of a reassembled upload carries (RFC 7959 §2.5).
    block1: Option<BlockValue>,
    /// The registration this request made and the Observe value of its response (RFC 7641
    /// §4.1).
    observe: Option<(ObserverHandle, u32)>,
}

/// A Confirmable notification awaiting its ACK (RFC 7641 §4.5).
#[derive(Debug, Clone)]
struct PendingNotification<P> {
    peer: P,
    message_id: u16,
    bytes: Vec<u8>,
    retransmission: Retransmission,
}

#[derive(Debug, Clone)]
struct Separate<P> {
    id: IncomingId,
    peer: P,
    message_id: u16,
    bytes: Vec<u8>,
    retransmission: Retransmission,
}

#[derive(Debug, Clone)]
struct EchoChallenge<P, I> {
    peer: P,
    identity: Option<I>,
    value: EchoBuf,
    issued: Duration,
}

/// How a request that reached the matching layer is answered: the transport-neutral part of
/// an exchange. A TCP session answers on its connection (`Reliable`), with no Message ID, ACK
/// or retransmission (RFC 8323 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplyPath {
    /// UDP CON: piggyback on an ACK with this Message ID, or separate after an empty ACK.
    Confirmable(u16),
    /// UDP NON: a NON response with a new Message ID (RFC 7252 §5.2.3).
    NonConfirmable(u16),
    /// A CoAP over TCP connection: the response goes as a frame (RFC 8323 §2.2).
    Reliable,
}

/// A request or response after the message layer: what the matching layer works on,
/// independent of the transport, with how it is answered. A TCP session builds one from a
/// `tcp::Frame` decoded as a message (code, token, option bytes, payload; type NON and Message
/// ID 0 by convention) with a reliable reply path. The decoded message is used as it is: no
/// component needs it encoded again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inbound<'a> {
    message: Message<'a>,
    path: ReplyPath,
}

impl<'a> Inbound<'a> {
    const fn udp(message: &Message<'a>, path: ReplyPath) -> Self {
        Self {
            message: *message,
            path,
        }
    }

    const fn code(&self) -> Code {
        self.message.code()
    }

    const fn token(&self) -> &'a [u8] {
        self.message.token()
    }

    const fn options(&self) -> Options<'a> {
        self.message.options()
    }

    fn option(&self, number: OptionNumber) -> Option<OptionRef<'a>> {
        self.message.option(number)
    }

    /// The message as received (for events).
    fn to_owned(self) -> OwnedMessage {
        self.message.to_owned()
    }
}

/// The largest SZX not above `preferred` whose block plus 128 bytes of header and options fits
/// `max_message_size` (RFC 7252 §4.6), at least 16-byte blocks.
fn fitting_szx(preferred: Szx, max_message_size: usize) -> Szx {
    let mut szx = preferred;
    while szx.size() + 128 > max_message_size {
        match Szx::new(szx.value().saturating_sub(1)) {
            Some(lower) if lower < szx => szx = lower,
            _ => break,
        }
    }
    szx
}

/// The `Display` text of `error`, for the diagnostic payload of a 4.02 (RFC 7252 §5.5.2),
/// written without `core::fmt`: a device build links no formatting machinery for it.
fn option_diagnostic(error: &OptionError) -> Vec<u8> {
    fn decimal(out: &mut Vec<u8>, mut n: usize) {
        let start = out.len();
        loop {
            // `n % 10` is a digit: the cast keeps its value.
            out.insert(start, b'0' + (n % 10) as u8);
            n /= 10;
            if n == 0 {
                break;
            }
        }
    }
    let mut out = Vec::new();
    let number = |out: &mut Vec<u8>, lead: &[u8], n: OptionNumber| {
        out.extend_from_slice(lead);
        decimal(out, usize::from(n.0));
        if let Some(name) = n.name() {
            out.extend_from_slice(b" (");
            out.extend_from_slice(name.as_bytes());
            out.push(b')');
        }
    };
    match *error {
        OptionError::UnrecognizedCritical { number: n } => {
            number(&mut out, b"unrecognized critical option ", n);
        }
        OptionError::LengthOutOfBounds {
            number: n,
            len,
            min,
            max,
        } => {
            number(&mut out, b"option ", n);
            out.extend_from_slice(b" has a ");
            decimal(&mut out, len);
            out.extend_from_slice(b"-byte value outside ");
            decimal(&mut out, usize::from(min));
            out.extend_from_slice(b"..=");
            decimal(&mut out, usize::from(max));
        }
        OptionError::NotRepeatable { number: n } => {
            number(&mut out, b"option ", n);
            out.extend_from_slice(b" is not repeatable but occurs more than once");
        }
        OptionError::UintTooLong { number: n, len } => {
            number(&mut out, b"option ", n);
            out.extend_from_slice(b" has a ");
            decimal(&mut out, len);
            out.extend_from_slice(b"-byte value, too long for the unsigned integer asked for");
        }
        OptionError::InvalidUtf8 { number: n } => {
            number(&mut out, b"option ", n);
            out.extend_from_slice(b" is not valid UTF-8");
        }
    }
    out
}

/// The diagnostic of a registration whose Observe option or resource key cannot be read
/// (the only errors of `ObserverRegistry::handle_request`): its `Display` text, without
/// `core::fmt`.
fn observation_diagnostic(error: &ObservationError) -> Vec<u8> {
    match error {
        ObservationError::Observe(_) => b"bad Observe option".to_vec(),
        ObservationError::Option(_) => b"bad option".to_vec(),
        _ => b"observation error".to_vec(),
    }
}

/// Whether a client request can turn into a Block2 download (RFC 7959 §2.4): a block-wise
/// response followed with the `block2-client` feature, or the rest of a block-wise
/// notification fetched with `observe-client` (§3.4). Without both no download is started and
/// its code is not linked.
const FOLLOWS_BLOCK2: bool = cfg!(any(feature = "block2-client", feature = "observe-client"));

const EMPTY_ACK: u8 = 0x60;
const EMPTY_RST: u8 = 0x70;

/// The encoded request without its payload (what Block2 keys on, RFC 7959 §2.4).
/// What the endpoint keeps of an observer between notifications (RFC 7641 §4).
#[derive(Debug)]
struct ObserverRecord<B, I> {
    /// The registration request without its payload: the Block2 key of its notifications
    /// (RFC 7959 §3.4).
    request: Vec<u8>,
    /// The binding of a protected registration: its notifications are protected with it
    /// (RFC 8613 §8.3).
    binding: Option<B>,
    /// The identity of a protected registration (the Block2 representations of its
    /// notifications are kept for that identity only).
    identity: Option<I>,
    /// The latest notification held back by [`RegistryConfig::non_interval`] (per-peer rate
    /// of Non-confirmable notifications, RFC 7641 §4.5.1), sent by `handle_timeout`; only
    /// the newest is kept (§4.5.2).
    deferred: Option<OwnedMessage>,
}

fn without_payload(request: &Message<'_>) -> Vec<u8> {
    let mut owned = request.to_owned();
    owned.payload = Vec::new();
    owned.to_vec().unwrap_or_default()
}

fn empty(first: u8, message_id: u16) -> Vec<u8> {
    let [hi, lo] = message_id.to_be_bytes();
    alloc::vec![first, 0, hi, lo]
}

/// A sans-IO CoAP endpoint over UDP and TCP, client and server at once (RFC 7252, 7959, 7641,
/// 8323, 9175), with an optional protection layer such as OSCORE (RFC 8613).
///
/// `P` identifies a peer (an address, or an address with a security association); `R` is the
/// random source for Message IDs, tokens, retransmission jitter and Echo values (any
/// [`RandomSource`], e.g. a closure, or `Box<dyn FnMut() -> u32>` to erase the type); `X` is
/// the [`Protection`] layer ([`NoProtection`] by default).
///
/// Every table is bounded by [`EndpointLimits`]; [`Endpoint::stats`] reports the current sizes.
///
/// # Call order
/// 1. [`Endpoint::new`] (or [`Endpoint::with_protection`]) once.
/// 2. For every datagram received: [`Endpoint::handle`]. For a TCP (or TLS) connection:
///    [`Endpoint::open_connection`] once it is up, [`Endpoint::handle_stream`] with the bytes
///    read (offer the unconsumed rest again after step 4), [`Endpoint::connection_closed`]
///    when the transport closes.
/// 3. To send a request: [`Endpoint::request`] / [`Endpoint::request_with`] /
///    [`Endpoint::request_protected`] (a GET with Observe 0 registers an observation; stop
///    with [`Endpoint::cancel_observation`] or [`Endpoint::cancel`]); to answer an
///    [`Event::Request`]: [`Endpoint::respond`] (before [`EndpointConfig::piggyback_delay`]
///    for a piggybacked response); for an observed resource: [`Endpoint::notify`] or
///    [`Endpoint::notify_resource`] at each change.
/// 4. After each of the above: drain [`Endpoint::poll_transmit`] (send a
///    [`TransmitKind::Datagram`] as one datagram, append [`TransmitKind::Stream`] bytes to the
///    peer's connection) and [`Endpoint::poll_event`] (act on each event), then ask
///    [`Endpoint::poll_timeout`] when to wake up.
/// 5. When that time comes: [`Endpoint::handle_timeout`], then step 4 again.
///
/// # Example
/// A client and a server exchanging a request over an in-memory "network":
/// ```
/// use core::time::Duration;
/// use mote_coap::code::{Code, MessageType};
/// use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability};
/// use mote_coap::message::OwnedMessage;
/// use mote_coap::option::OptionNumber;
///
/// let mut seed = 7u32;
/// let rng = move || { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; seed };
/// let mut client = Endpoint::new(EndpointConfig::default(), rng)?;
/// let mut server = Endpoint::new(EndpointConfig::default(), rng)?;
/// let now = Duration::from_secs(100);
///
/// // Client: GET /temp (type, Message ID and token are filled in by the endpoint).
/// let get = OwnedMessage::new(MessageType::Con, Code::GET, 0).with_option(OptionNumber::URI_PATH, "temp");
/// let id = client.request(now, "server", get, Reliability::Confirmable)?;
/// while let Some(t) = client.poll_transmit() {
///     server.handle(now, "client", &t.datagram);
/// }
/// // Server: answer the request before the piggyback delay.
/// while let Some(event) = server.poll_event() {
///     if let Event::Request { id, .. } = event {
///         let content = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(*b"22.3 C");
///         server.respond(now, id, content)?;
///     }
/// }
/// while let Some(t) = server.poll_transmit() {
///     client.handle(now, "server", &t.datagram);
/// }
/// match client.poll_event() {
///     Some(Event::Response { id: got, message, .. }) => {
///         assert_eq!(got, id);
///         assert_eq!(message.mtype, MessageType::Ack); // piggybacked
///         assert_eq!(message.payload, b"22.3 C");
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// assert_eq!(client.poll_timeout(), None); // nothing left to retransmit
/// # Ok::<(), mote_coap::endpoint::EndpointError>(())
/// ```
#[derive(Debug)]
pub struct Endpoint<P, R, X: Protection<P> = NoProtection> {
    protection: X,
    /// The binding of the request being processed: every response the endpoint itself
    /// produces for it is protected with it (RFC 8613 §8.3).
    replying: Option<X::Binding>,
    /// The identity the request being made is protected under ([`Endpoint::request_protected`],
    /// re-registrations and notification fetches of protected observations), taken by
    /// `submit_request` into the request's record.
    protecting: Option<X::Identity>,
    /// Identity and binding of protected client observations.
    observing_protection: BTreeMap<ObservationHandle, (X::Identity, X::Binding)>,
    /// CoAP over TCP connections (RFC 8323), bounded by [`EndpointLimits::max_connections`].
    connections: Connections<P>,
    /// The time of the latest call (for sends that need it).
    now: Duration,
    config: EndpointConfig,
    /// EXCHANGE_LIFETIME and NON_LIFETIME (RFC 7252 §4.8.2) of `config`, derived once: they
    /// are computed in floating point and every request needs one.
    exchange_lifetime: Duration,
    non_lifetime: Duration,
    decode_limits: DecodeLimits,
    rng: R,
    message_ids: MessageIdAllocator,
    next_request: u64,
    next_incoming: u64,
    peers: BTreeMap<P, PeerState>,
    dedup_total: usize,
    outgoing: BTreeMap<RequestId, Outgoing<P, X::Identity, X::Binding>>,
    /// Peer and Message ID of finished CON requests, until EXCHANGE_LIFETIME.
    recent: VecDeque<(P, u16, Duration)>,
    queue: VecDeque<Queued<P, X::Identity, X::Binding>>,
    incoming: BTreeMap<IncomingId, Incoming<P, X::Identity, X::Binding>>,
    separate: BTreeMap<IncomingId, Separate<P>>,
    echo: VecDeque<EchoChallenge<P, X::Identity>>,
    transmits: VecDeque<Transmit<P>>,
    events: VecDeque<Event<P, X::Identity>>,
    stats: EndpointStats,
    /// Uploads in reassembly by peer and protection identity: a block under another security
    /// context (or none) never joins a protected upload (RFC 8613 §4.1.3.4).
    block1: Block1Server<(P, Option<X::Identity>)>,
    /// Kept representations by peer and protection identity: a follow-up block goes only to
    /// the security context the representation was made for (a plain request from the same
    /// address never gets a block of a protected response, RFC 8613 §4.1.3.4).
    block2: Block2Server<(P, Option<X::Identity>)>,
    observers: ObserverRegistry<P, ()>,
    /// What is kept of each observer: its registration request, its deferred notification
    /// and, when it registered with a protected request, its binding and identity. Bounded
    /// by the registry.
    observe_requests: BTreeMap<ObserverHandle, ObserverRecord<X::Binding, X::Identity>>,
    notifications: BTreeMap<ObserverHandle, PendingNotification<P>>,
    observations: ObservationClient<P>,
    /// The registration request of each client observation that got its first response.
    observing: BTreeMap<ObservationHandle, (RequestId, P)>,
    /// The block-wise notification being completed per observation (RFC 7959 §3.4): the
    /// fetch request and the first block. At most one per entry of `observing`.
    notification_fetches: BTreeMap<ObservationHandle, (RequestId, OwnedMessage)>,
}

impl<P, R> Endpoint<P, R, NoProtection>
where
    P: Clone + Eq + Ord + core::fmt::Debug,
    R: RandomSource,
{
    /// A new endpoint without a protection layer; the first Message ID is drawn from `rng`
    /// (RFC 7252 §4.4).
    ///
    /// # Errors
    /// [`EndpointError::InvalidConfig`].
    pub fn new(config: EndpointConfig, rng: R) -> Result<Self, EndpointError> {
        Self::with_protection(config, rng, NoProtection)
    }
}

impl<P, R, X> Endpoint<P, R, X>
where
    P: Clone + Eq + Ord + core::fmt::Debug,
    R: RandomSource,
    X: Protection<P>,
{
    /// A new endpoint whose requests and responses pass through `protection` (e.g. OSCORE,
    /// RFC 8613 §2) between the message layer and request/response processing.
    ///
    /// # Errors
    /// [`EndpointError::InvalidConfig`].
    pub fn with_protection(
        mut config: EndpointConfig,
        mut rng: R,
        protection: X,
    ) -> Result<Self, EndpointError> {
        config.validate()?;
        let max = config.limits.max_message_size;
        config.block2.preferred_szx = fitting_szx(config.block2.preferred_szx, max);
        config.client_blockwise.szx = fitting_szx(config.client_blockwise.szx, max);
        let block1 = Block1Server::new(config.block1);
        let block2 = Block2Server::new(config.block2);
        let observers = ObserverRegistry::new(config.observe);
        let observations = ObservationClient::new(config.observe_client);
        let decode_limits = DecodeLimits::extended_tokens(config.max_incoming_token_len.max(8));
        let message_ids = MessageIdAllocator::new(rng.next_u32() as u16);
        Ok(Self {
            protection,
            replying: None,
            protecting: None,
            observing_protection: BTreeMap::new(),
            connections: Connections::new(),
            now: Duration::ZERO,
            exchange_lifetime: config.transmission.exchange_lifetime(),
            non_lifetime: config.transmission.non_lifetime(),
            config,
            decode_limits,
            rng,
            message_ids,
            next_request: 0,
            next_incoming: 0,
            peers: BTreeMap::new(),
            dedup_total: 0,
            outgoing: BTreeMap::new(),
            recent: VecDeque::new(),
            queue: VecDeque::new(),
            incoming: BTreeMap::new(),
            separate: BTreeMap::new(),
            echo: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: EndpointStats::default(),
            block1,
            block2,
            observers,
            observe_requests: BTreeMap::new(),
            notifications: BTreeMap::new(),
            observations,
            observing: BTreeMap::new(),
            notification_fetches: BTreeMap::new(),
        })
    }

    /// The protection layer (e.g. to inspect an OSCORE context's state).
    #[must_use]
    pub const fn protection_ref(&self) -> &X {
        &self.protection
    }

    /// The protection layer, mutably (e.g. to add or remove security contexts).
    pub fn protection_mut(&mut self) -> &mut X {
        &mut self.protection
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Current table sizes and counters.
    #[must_use]
    pub fn stats(&self) -> EndpointStats {
        EndpointStats {
            peers: self.peers.len(),
            dedup_entries: self.dedup_total,
            max_dedup_of_one_peer: self
                .peers
                .values()
                .map(|p| p.dedup.len())
                .max()
                .unwrap_or(0),
            outstanding_requests: self.outgoing.len(),
            queued_requests: self.queue.len(),
            pending_incoming: self.incoming.len(),
            separate_responses: self.separate.len(),
            recent_exchanges: self.recent.len(),
            echo_challenges: self.echo.len(),
            queued_transmits: self.transmits.len(),
            queued_events: self.events.len(),
            block1_transfers: self.block1.len(),
            block1_bytes: self.block1.bytes_held(),
            block2_entries: self.block2.len(),
            block2_bytes: self.block2.bytes_held(),
            download_bytes: self
                .outgoing
                .values()
                .map(|o| match &o.transfer {
                    Transfer::Download(download) => download.bytes_held(),
                    Transfer::Upload(_) => 0,
                })
                .sum(),
            connections: self.connections.len(),
            connection_bytes: self
                .connections
                .values()
                .map(|c| c.transmit_queue().len())
                .sum(),
            observations: self.observations.len(),
            observers: self.observers.len(),
            pending_notifications: self.notifications.len(),
            ..self.stats
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        if let Some(t) = self.transmits.pop_front() {
            return Some(t);
        }
        self.connections.iter_mut().find_map(|(peer, session)| {
            session.poll_transmit().map(|bytes| Transmit {
                peer: peer.clone(),
                datagram: bytes,
                kind: TransmitKind::Stream,
            })
        })
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event<P, X::Identity>> {
        self.events.pop_front()
    }

    /// When [`Endpoint::handle_timeout`] must be called next (a time on the caller's clock),
    /// or `None` when no timer is running.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        // One running minimum over every table (plain loops: far less code than a chain of
        // iterator adapters on a device).
        let mut next: Option<Duration> = None;
        let mut at = |t: Duration| next = Some(next.map_or(t, |n| n.min(t)));
        for o in self.outgoing.values() {
            at(o.retransmission
                .map_or(o.expires, |rt| rt.deadline().min(o.expires)));
        }
        for i in self.incoming.values() {
            at(i.ack_at.map_or(i.expires, |a| a.min(i.expires)));
        }
        for s in self.separate.values() {
            at(s.retransmission.deadline());
        }
        // A queued NON at the head of its peer's queue waits only for PROBING_RATE.
        for (i, q) in self.queue.iter().enumerate() {
            let first_of_peer = !self.queue.iter().take(i).any(|e| e.peer == q.peer);
            if let Some(peer) = self.peers.get(&q.peer) {
                if first_of_peer && q.reliability == Reliability::NonConfirmable && !peer.answered {
                    at(peer.probe_next);
                }
            }
        }
        for n in self.notifications.values() {
            at(n.retransmission.deadline());
        }
        let others = [
            self.observations
                .poll_timeout()
                .filter(|_| cfg!(feature = "observe-client")),
            self.observers.poll_timeout(),
            self.block1.poll_timeout(),
            self.block2.poll_timeout(),
        ];
        for t in others.into_iter().flatten() {
            at(t);
        }
        for c in self.connections.values() {
            if let Some(t) = c.poll_timeout() {
                at(t);
            }
        }
        next
    }

    // -----------------------------------------------------------------------------------------
    // Output queues.

    fn transmit(&mut self, peer: P, datagram: Vec<u8>) {
        if self.connections.contains_key(&peer) {
            // RFC 8323 §2.2, §3.2: over a connection the message goes as a frame (no type, no
            // Message ID); empty ACK/RST have no equivalent and are not sent.
            if let Ok(message) = Message::decode_with(&datagram, &self.decode_limits) {
                if !message.code().is_empty() {
                    let frame = OwnedFrame {
                        code: message.code(),
                        token: message.token().to_vec(),
                        options: message.options().collect(),
                        payload: message.payload().to_vec(),
                    };
                    let now = self.now;
                    if let Some(session) = self.connections.get_mut(&peer) {
                        if session.send(now, &frame).is_err() {
                            // Never blocks: a full write queue drops what cannot be queued.
                            self.stats.dropped_on_full_connection += 1;
                        }
                    }
                }
            }
            return;
        }
        if self.transmits.len() >= self.config.limits.max_queued_transmits {
            self.transmits.pop_front();
            self.stats.dropped_transmits += 1;
        }
        self.transmits.push_back(Transmit {
            peer,
            datagram,
            kind: TransmitKind::Datagram,
        });
    }

    fn event(&mut self, event: Event<P, X::Identity>) {
        if self.events.len() >= self.config.limits.max_queued_events {
            self.stats.dropped_events += 1;
            return;
        }
        self.events.push_back(event);
    }

    fn encode(&self, message: &OwnedMessage) -> Result<Vec<u8>, EndpointError> {
        let size = message.encoded_len();
        let max = self.config.limits.max_message_size;
        if size > max {
            return Err(EndpointError::MessageTooLarge { size, max });
        }
        message.to_vec().map_err(EndpointError::Encode)
    }

    // -----------------------------------------------------------------------------------------
    // Peers and deduplication (RFC 7252 §4.5).

    /// The peer's state, created if the table has room (after forgetting idle peers).
    fn peer_mut(&mut self, now: Duration, peer: &P) -> Option<&mut PeerState> {
        if !self.peers.contains_key(peer) {
            if self.peers.len() >= self.config.limits.max_peers {
                self.collect_idle_peers(now);
            }
            if self.peers.len() >= self.config.limits.max_peers {
                return None;
            }
            self.peers.insert(
                peer.clone(),
                PeerState {
                    dedup: Vec::new(),
                    answered: true,
                    probe_next: now,
                },
            );
        }
        self.peers.get_mut(peer)
    }

    fn purge_dedup(&mut self, now: Duration) {
        let mut total = 0;
        for state in self.peers.values_mut() {
            state.dedup.retain(|e| e.expires > now);
            total += state.dedup.len();
        }
        self.dedup_total = total;
    }

    /// Forgets peers with no state left.
    fn collect_idle_peers(&mut self, now: Duration) {
        self.purge_dedup(now);
        let (outgoing, queue) = (&self.outgoing, &self.queue);
        let (incoming, separate) = (&self.incoming, &self.separate);
        self.peers.retain(|peer, state| {
            !state.dedup.is_empty()
                || outgoing.values().any(|o| &o.peer == peer)
                || queue.iter().any(|q| &q.peer == peer)
                || incoming.values().any(|i| &i.peer == peer)
                || separate.values().any(|s| &s.peer == peer)
        });
    }

    /// Looks the message up; `Ok(true)` when new (and recorded), `Ok(false)` for a duplicate
    /// (already answered as §4.5 requires), `Err(())` when it must be dropped.
    fn deduplicate(
        &mut self,
        now: Duration,
        peer: &P,
        message_id: u16,
        confirmable: bool,
    ) -> Result<bool, ()> {
        let lifetime = if confirmable {
            self.exchange_lifetime
        } else {
            self.non_lifetime
        };
        let per_peer = self.config.limits.max_dedup_per_peer;
        let total_max = self.config.limits.max_dedup_total;
        if self.peer_mut(now, peer).is_none() {
            self.stats.dropped_peer_table_full += 1;
            return Err(());
        }
        let others = self.dedup_total;
        let Some(state) = self.peers.get_mut(peer) else {
            return Err(());
        };
        state.answered = true;
        let before = state.dedup.len();
        let others = others.saturating_sub(before);
        state.dedup.retain(|e| e.expires > now);
        let evictable = |e: &DedupEntry| !matches!(e.state, DedupState::Processing);
        let mut evicted_own = false;
        let mut evict_elsewhere = false;
        let outcome = if let Some(entry) = state.dedup.iter().find(|e| e.message_id == message_id) {
            match (&entry.state, confirmable) {
                (DedupState::Replied(reply), true) => Dedup::Duplicate(Some(reply.clone())),
                _ => Dedup::Duplicate(None),
            }
        } else if state.dedup.len() >= per_peer || others + state.dedup.len() >= total_max {
            // Entries are kept in arrival order: the first answered one is the oldest.
            if let Some(i) = state.dedup.iter().position(evictable) {
                state.dedup.remove(i);
                evicted_own = true;
            } else if state.dedup.len() < per_peer {
                evict_elsewhere = true;
            }
            if evicted_own || evict_elsewhere {
                Dedup::New
            } else {
                Dedup::Full
            }
        } else {
            Dedup::New
        };
        if matches!(outcome, Dedup::New) {
            state.dedup.push(DedupEntry {
                message_id,
                expires: now + lifetime,
                state: if confirmable {
                    DedupState::Processing
                } else {
                    DedupState::Seen
                },
            });
        }
        self.dedup_total = others + state.dedup.len();
        if evicted_own {
            self.stats.dedup_evicted += 1;
        }
        if evict_elsewhere && !self.evict_oldest_dedup_of_others(peer) {
            // Nothing answered to evict anywhere: undo the admission and drop.
            if let Some(state) = self.peers.get_mut(peer) {
                state.dedup.retain(|e| e.message_id != message_id);
            }
            self.dedup_total = self.dedup_total.saturating_sub(1);
            self.stats.dropped_dedup_full += 1;
            return Err(());
        }
        match outcome {
            Dedup::New => Ok(true),
            Dedup::Duplicate(resend) => {
                self.stats.duplicates += 1;
                if let Some(reply) = resend {
                    self.transmit(peer.clone(), reply);
                }
                Ok(false)
            }
            Dedup::Full => {
                // Every entry of this peer is a request still being processed: evicting one
                // would let its retransmission be delivered twice. The sender retransmits
                // (CON) once one is answered.
                self.stats.dropped_dedup_full += 1;
                Err(())
            }
        }
    }

    /// Evicts, from any peer but `except`, the answered deduplication entry that expires
    /// first; `false` when there is none.
    fn evict_oldest_dedup_of_others(&mut self, except: &P) -> bool {
        let victim = self
            .peers
            .iter()
            .filter(|(p, _)| *p != except)
            .flat_map(|(p, s)| {
                s.dedup
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| !matches!(e.state, DedupState::Processing))
                    .map(move |(i, e)| (e.expires, p, i))
            })
            .min_by_key(|(expires, _, _)| *expires)
            .map(|(_, p, i)| (p.clone(), i));
        let Some((p, i)) = victim else {
            return false;
        };
        if let Some(state) = self.peers.get_mut(&p) {
            state.dedup.remove(i);
            self.dedup_total = self.dedup_total.saturating_sub(1);
            self.stats.dedup_evicted += 1;
        }
        true
    }

    fn set_reply(&mut self, peer: &P, message_id: u16, reply: &[u8]) {
        if let Some(entry) = self
            .peers
            .get_mut(peer)
            .and_then(|s| s.dedup.iter_mut().find(|e| e.message_id == message_id))
        {
            entry.state = DedupState::Replied(reply.to_vec());
        }
    }

    /// Sends `reply` and stores it for duplicates of the CON `message_id` (§4.5).
    fn reply_and_cache(&mut self, peer: &P, message_id: u16, reply: Vec<u8>) {
        self.set_reply(peer, message_id, &reply);
        self.transmit(peer.clone(), reply);
    }

    /// Whether a critical option is unrecognized or malformed (RFC 7252 §5.4.1, §5.4.3,
    /// §5.4.5); the registry plus [`EndpointConfig::recognized_options`] are recognized.
    fn critical_issue(&self, options: Options<'_>) -> Option<OptionError> {
        let extra = &self.config.recognized_options;
        option::issues(options)
            .filter(|e| e.number().is_critical())
            .find(|e| {
                !matches!(e, OptionError::UnrecognizedCritical { number } if extra.contains(number))
            })
    }

    // -----------------------------------------------------------------------------------------
    // Input.

    /// Processes a datagram received from `peer` at `now`. A request passes the message layer
    /// (deduplication, ACK/RST) as received, then [`Protection::unprotect_request`]; what
    /// follows works on the inner request.
    // An entry point an application calls from several places: out of line, one copy in flash.
    #[inline(never)]
    pub fn handle(&mut self, now: Duration, peer: P, datagram: &[u8]) {
        if datagram.len() > self.config.limits.max_message_size {
            self.stats.oversized += 1;
            return;
        }
        let message = match Message::decode_with(datagram, &self.decode_limits) {
            Ok(m) => m,
            Err(_) => {
                self.stats.malformed += 1;
                // RFC 7252 §4.2: a CON that cannot be processed is rejected with a Reset when
                // its header is readable; §4.3: a malformed NON is silently ignored, and so
                // are ACK and RST (§4.2). §3: an unknown version is silently ignored.
                if let [b0, _, hi, lo, ..] = datagram {
                    if b0 >> 6 == 1 && MessageType::from_bits(b0 >> 4) == MessageType::Con {
                        let mid = u16::from_be_bytes([*hi, *lo]);
                        self.transmit(peer, empty(EMPTY_RST, mid));
                    }
                }
                return;
            }
        };
        let code = message.code();
        match message.mtype() {
            MessageType::Ack | MessageType::Rst => self.on_ack_or_reset(now, &peer, &message),
            // RFC 7252 §4.3: an Empty CON ("CoAP ping") is answered with a Reset.
            MessageType::Con if code.is_empty() => {
                self.transmit(peer, empty(EMPTY_RST, message.message_id()));
            }
            MessageType::Con | MessageType::Non => {
                let confirmable = message.mtype() == MessageType::Con;
                let mid = message.message_id();
                match self.deduplicate(now, &peer, mid, confirmable) {
                    Ok(true) => {}
                    Ok(false) | Err(()) => return,
                }
                let path = if confirmable {
                    ReplyPath::Confirmable(mid)
                } else {
                    ReplyPath::NonConfirmable(mid)
                };
                let inbound = Inbound::udp(&message, path);
                if code.is_request() {
                    self.on_protected_request(now, &peer, &message, path);
                    self.replying = None;
                } else if code.is_response() {
                    self.on_separate_response(now, &peer, inbound);
                }
            }
        }
        self.drain_queue(now);
    }

    /// An ACK or RST: matched on Message ID and peer (RFC 7252 §4.4).
    fn on_ack_or_reset(&mut self, now: Duration, peer: &P, message: &Message<'_>) {
        let mid = message.message_id();
        if let Some(state) = self.peers.get_mut(peer) {
            state.answered = true;
        }
        let found = self
            .outgoing
            .iter()
            .find(|(_, o)| &o.peer == peer && o.request.message_id == mid && !o.acknowledged)
            .map(|(id, _)| *id);
        if let Some(id) = found {
            if message.mtype() == MessageType::Rst {
                if let Some(id) = self.fail(now, id) {
                    self.event(Event::Reset { id });
                }
                return;
            }
            let token_matches = self
                .outgoing
                .get(&id)
                .is_some_and(|o| o.request.token == message.token());
            if let Some(o) = self.outgoing.get_mut(&id) {
                o.acknowledged = true;
                o.retransmission = None;
            }
            if message.code().is_empty() {
                // §5.2.2: the response follows separately.
                return;
            }
            if token_matches {
                let inbound = Inbound::udp(message, ReplyPath::NonConfirmable(mid));
                self.on_matched_response(now, peer, id, inbound, false);
            } else {
                // §5.3.2: a piggybacked response must carry the request's token.
                self.event(Event::UnmatchedResponse {
                    peer: peer.clone(),
                    message: message.to_owned(),
                });
            }
            return;
        }
        let separate = self
            .separate
            .iter()
            .find(|(_, s)| &s.peer == peer && s.message_id == mid)
            .map(|(id, _)| *id);
        if let Some(id) = separate {
            self.separate.remove(&id);
            if message.mtype() == MessageType::Rst {
                self.event(Event::SeparateResponseFailed {
                    id,
                    peer: peer.clone(),
                    reset: true,
                });
            }
            return;
        }
        if self.on_notification_reply(peer, mid, message.mtype() == MessageType::Rst) {
            return;
        }
        if self.recent.iter().any(|r| &r.0 == peer && r.1 == mid) {
            // A late duplicate of the ACK or RST of a finished exchange (§4.5).
            self.stats.duplicates += 1;
            return;
        }
        if message.code().is_response() {
            self.event(Event::UnmatchedResponse {
                peer: peer.clone(),
                message: message.to_owned(),
            });
        } else {
            self.stats.ignored += 1;
        }
    }

    /// RFC 8613 §2: the protection layer between the message layer and request processing.
    fn on_protected_request(
        &mut self,
        now: Duration,
        peer: &P,
        message: &Message<'_>,
        path: ReplyPath,
    ) {
        match self.protection.unprotect_request(now, peer, message) {
            Ok(None) => self.on_request(now, peer, Inbound::udp(message, path), None),
            Ok(Some((inner, binding, identity))) => {
                self.replying = Some(binding);
                // RFC 8613 §4.1.3.4.2: outer Block options (a proxy fragmenting the protected
                // message) are not supported: 4.02, protected like any answer to the request.
                if message.option(OptionNumber::BLOCK1).is_some()
                    || message.option(OptionNumber::BLOCK2).is_some()
                {
                    let parts = MessageParts::new(Code::BAD_OPTION);
                    self.answer_parts(peer, message.token(), path, parts);
                    return;
                }
                let inner =
                    inner.into_message(message.mtype(), message.message_id(), message.token());
                let Ok(raw) = inner.to_vec() else {
                    return;
                };
                let Ok(inner) = Message::decode_with(&raw, &self.decode_limits) else {
                    return;
                };
                self.on_request(now, peer, Inbound::udp(&inner, path), Some(identity));
            }
            Err(error_response) => {
                // Sent as is, unprotected (e.g. 4.01 for a failed verification).
                self.answer_parts(peer, message.token(), path, error_response);
            }
        }
    }

    /// A request after deduplication and unprotection: options, freshness, then to the
    /// application.
    fn on_request(
        &mut self,
        now: Duration,
        peer: &P,
        inbound: Inbound<'_>,
        identity: Option<X::Identity>,
    ) {
        let message = inbound;
        // RFC 7252 §5.4.1: an unrecognized critical option in a CON request is answered 4.02
        // (with a diagnostic payload, §5.5.2); a NON request is rejected (§4.3). The OSCORE
        // option (critical, RFC 8613 §2) is recognized only by a protection layer that
        // processes it: one that passed the request on as plain (`NoProtection`, or a layer
        // without OSCORE) leaves it unrecognized, unless the application lists it in
        // `recognized_options`.
        let unprocessed_oscore = (identity.is_none()
            && message.option(OptionNumber::OSCORE).is_some()
            && !self
                .config
                .recognized_options
                .contains(&OptionNumber::OSCORE))
        .then_some(OptionError::UnrecognizedCritical {
            number: OptionNumber::OSCORE,
        });
        if let Some(error) = unprocessed_oscore.or_else(|| self.critical_issue(message.options())) {
            let response = OwnedMessage::new(MessageType::Ack, Code::BAD_OPTION, 0)
                .with_payload(option_diagnostic(&error));
            match inbound.path {
                ReplyPath::Confirmable(_) | ReplyPath::Reliable => {
                    self.answer(peer, message.token(), inbound.path, response);
                }
                ReplyPath::NonConfirmable(mid) => {
                    self.transmit(peer.clone(), empty(EMPTY_RST, mid));
                }
            }
            return;
        }
        // RFC 9175 §2.3: a request that needs freshness and lacks a fresh Echo gets 4.01 with
        // a new Echo value.
        // Without the `echo-server` feature no policy passes validation; the check is compiled
        // out.
        if let (true, Some(policy)) = (cfg!(feature = "echo-server"), self.config.echo) {
            if policy.applies_to(message.code(), identity.is_some()) {
                let echo = message.option(OptionNumber::ECHO).map(|o| o.value);
                if !self.echo_fresh(now, peer, identity.as_ref(), echo, policy.window) {
                    let value = self.issue_echo(now, peer, identity.clone());
                    let response = OwnedMessage::new(MessageType::Ack, Code::UNAUTHORIZED, 0)
                        .with_option(OptionNumber::ECHO, value.as_bytes());
                    self.answer(peer, message.token(), inbound.path, response);
                    let path = message
                        .options()
                        .filter(|o| o.number == OptionNumber::URI_PATH)
                        .map(|o| String::from_utf8_lossy(o.value).into_owned())
                        .collect();
                    self.event(Event::EchoChallenged {
                        peer: peer.clone(),
                        identity,
                        method: message.code(),
                        path,
                    });
                    return;
                }
                // RFC 9175 §2.3: the value proves freshness of the request it was issued for;
                // spent once that request is complete (a Block1 upload reuses it for its later
                // blocks, RFC 9175 §2.4), so a captured request cannot be repeated with it.
                let more_blocks = message
                    .option(OptionNumber::BLOCK1)
                    .and_then(|o| o.as_uint().ok())
                    .is_some_and(|v| v & 0x8 != 0);
                if !more_blocks {
                    self.spend_echo(peer, identity.as_ref(), echo);
                }
            }
        }
        // RFC 7959: block-wise requests the endpoint answers itself.
        let request = message.message;
        // §2.4: a follow-up Block2 request is served from the kept representation.
        // Block-wise state (kept representations, uploads in reassembly) belongs to the peer
        // and the security context together (RFC 8613 §4.1.3.4).
        let transfer = (peer.clone(), identity.clone());
        match self.block2.serve_cached(&transfer, &request, now) {
            Ok(Some(mut parts)) => {
                // RFC 7959 §3.4: the later blocks of a notification are plain responses.
                parts.options.remove(OptionNumber::OBSERVE);
                self.answer_parts(peer, message.token(), inbound.path, parts);
                return;
            }
            Ok(None) => {}
            Err(rejected) => {
                self.answer_parts(peer, message.token(), inbound.path, rejected.response);
                return;
            }
        }
        let follow_up = matches!(
            BlockValue::from_message(&request, OptionNumber::BLOCK2),
            Ok(Some(b)) if b.num() > 0
        );
        if follow_up && !matches!(request.code(), Code::GET | Code::FETCH) {
            // A follow-up Block2 request of an unsafe method whose representation is no longer
            // kept: re-running it would repeat the method's effect (a second POST) with no
            // request body (RFC 7959 §3.3, Figure 10: follow-ups carry no Block1 payload), so
            // the client is told to start over: 4.08 (§2.9.2). A safe method (GET, FETCH) is
            // simply handed to the application again and the block cut from its new answer.
            let parts = MessageParts::new(Code::REQUEST_ENTITY_INCOMPLETE);
            self.answer_parts(peer, message.token(), inbound.path, parts);
            return;
        }
        if cfg!(not(feature = "block1-server")) && request.option(OptionNumber::BLOCK1).is_some() {
            // Without the `block1-server` feature uploads are not reassembled: Block1 is a
            // critical option this build does not process (RFC 7252 §5.4.1: 4.02).
            let parts = MessageParts::new(Code::BAD_OPTION);
            self.answer_parts(peer, message.token(), inbound.path, parts);
            return;
        }
        // §2.5: Block1 uploads are reassembled; the application sees the whole body.
        let block1_action = if cfg!(feature = "block1-server") {
            self.block1.handle(&transfer, &request, now)
        } else {
            Ok(Block1Action::NotBlockwise)
        };
        let (body, block1) = match block1_action {
            Ok(Block1Action::NotBlockwise) => (None, None),
            Ok(Block1Action::Continue(parts)) => {
                self.answer_parts(peer, message.token(), inbound.path, parts);
                return;
            }
            Ok(Block1Action::Complete { body, block1 }) => (Some(body), Some(block1)),
            Err(rejected) => {
                self.answer_parts(peer, message.token(), inbound.path, rejected.response);
                return;
            }
        };
        let limits = &self.config.limits;
        if self.incoming.len() + self.separate.len() >= limits.max_pending_incoming
            || self.events.len() >= limits.max_queued_events
        {
            self.stats.refused_pending_full += 1;
            if !matches!(inbound.path, ReplyPath::NonConfirmable(_)) {
                // RFC 7252 §5.9.3.4: 5.03 Service Unavailable, retry after Max-Age seconds.
                let response = OwnedMessage::new(MessageType::Ack, Code::SERVICE_UNAVAILABLE, 0)
                    .with_uint_option(OptionNumber::MAX_AGE, 1);
                self.answer(peer, message.token(), inbound.path, response);
            }
            return;
        }
        // RFC 7641 §2, §4.1: Observe 0 registers, Observe 1 deregisters. RFC 8323 §7.2:
        // notifications over a connection are neither CON nor NON.
        let transport = if inbound.path == ReplyPath::Reliable {
            Transport::Reliable
        } else {
            Transport::Unreliable
        };
        let observe = match self
            .observers
            .handle_request(peer, &request, transport, now, || ())
        {
            Ok(ObserveDecision::Registered {
                handle, sequence, ..
            }) => {
                let request = without_payload(&request);
                // A re-registration (RFC 7641 §4.1) keeps the binding of the registration
                // until its own response replaces it: no notification goes out unprotected.
                if let Some(record) = self.observe_requests.get_mut(&handle) {
                    record.request = request;
                } else {
                    // The registration's binding from the start: a notification the
                    // application sends before answering the registration is protected too
                    // (RFC 8613 §8.3), never plaintext to an OSCORE observer.
                    self.observe_requests.insert(
                        handle,
                        ObserverRecord {
                            request,
                            binding: self.replying.clone(),
                            identity: identity.clone(),
                            deferred: None,
                        },
                    );
                }
                Some((handle, sequence))
            }
            Ok(ObserveDecision::Refused(_)) => {
                self.stats.refused_observations += 1;
                None
            }
            Ok(ObserveDecision::Deregistered { removed }) => {
                if let Some((handle, ())) = removed {
                    self.observation_ended(handle, peer, ObservationEndReason::Deregistered);
                }
                None
            }
            Ok(_) => None,
            Err(error) => {
                // An unreadable Observe or resource key (RFC 7252 §5.4.1, §5.4.3): 4.02.
                let parts = MessageParts {
                    code: Code::BAD_OPTION,
                    options: crate::option::OptionList::new(),
                    payload: observation_diagnostic(&error),
                };
                self.answer_parts(peer, message.token(), inbound.path, parts);
                return;
            }
        };
        let (message_id, confirmable) = match inbound.path {
            ReplyPath::Confirmable(mid) => (mid, true),
            ReplyPath::NonConfirmable(mid) => (mid, false),
            ReplyPath::Reliable => (0, false),
        };
        let id = IncomingId(self.next_incoming);
        self.next_incoming += 1;
        self.incoming.insert(
            id,
            Incoming {
                peer: peer.clone(),
                binding: self.replying.clone(),
                identity: identity.clone(),
                message_id,
                token: message.token().to_vec(),
                confirmable,
                ack_at: confirmable.then(|| now + self.config.piggyback_delay),
                expires: now + self.exchange_lifetime,
                request: without_payload(&request),
                block1,
                observe,
            },
        );
        let mut delivered = message.to_owned();
        if let Some(body) = body {
            // The reassembled request: the whole body, no Block1 or Size1 (RFC 7959 §2.5).
            delivered.payload = body;
            delivered.options.remove(OptionNumber::BLOCK1);
            delivered.options.remove(OptionNumber::SIZE1);
        }
        self.event(Event::Request {
            id,
            peer: peer.clone(),
            message: IncomingRequest {
                message: delivered,
                identity,
                observation: observe.map(|(handle, _)| handle),
            },
        });
    }

    /// Sends a response the endpoint itself produced (4.01, 4.02, 5.03) right away:
    /// piggybacked on the ACK of a CON, or as a NON for a NON request.
    fn answer(&mut self, peer: &P, token: &[u8], path: ReplyPath, response: OwnedMessage) {
        let mut response = match self.replying.clone() {
            Some(binding) => self.protect_reply(&binding, response, false),
            None => response,
        };
        response.token = token.to_vec();
        match path {
            ReplyPath::Confirmable(mid) => {
                response.mtype = MessageType::Ack;
                response.message_id = mid;
                if let Ok(bytes) = self.encode(&response) {
                    self.reply_and_cache(peer, mid, bytes);
                }
            }
            ReplyPath::NonConfirmable(_) | ReplyPath::Reliable => {
                response.mtype = MessageType::Non;
                response.message_id = self.message_ids.allocate();
                if let Ok(bytes) = self.encode(&response) {
                    self.transmit(peer.clone(), bytes);
                }
            }
        }
    }

    /// RFC 8613 §8.3: the response protected with the request's binding; 5.00 unprotected
    /// when protection fails.
    fn protect_reply(
        &mut self,
        binding: &X::Binding,
        response: OwnedMessage,
        notification: bool,
    ) -> OwnedMessage {
        let (mtype, message_id, token) =
            (response.mtype, response.message_id, response.token.clone());
        let inner = MessageParts {
            code: response.code,
            options: response.options,
            payload: response.payload,
        };
        match self
            .protection
            .protect_response(binding, &inner, notification)
        {
            Ok(outer) => outer.into_message(mtype, message_id, &token),
            Err(_) => {
                OwnedMessage::new(mtype, Code::INTERNAL_SERVER_ERROR, message_id).with_token(token)
            }
        }
    }

    /// [`Endpoint::answer`] for parts produced by a block-wise component.
    fn answer_parts(&mut self, peer: &P, token: &[u8], path: ReplyPath, parts: MessageParts) {
        let response = parts.into_message(MessageType::Ack, 0, &[]);
        self.answer(peer, token, path, response);
    }

    fn echo_fresh(
        &self,
        now: Duration,
        peer: &P,
        identity: Option<&X::Identity>,
        echo: Option<&[u8]>,
        window: Duration,
    ) -> bool {
        let Some(echo) = echo else { return false };
        self.echo.iter().any(|c| {
            &c.peer == peer
                && c.identity.as_ref() == identity
                && c.value.as_bytes() == echo
                && now.checked_sub(c.issued).is_some_and(|age| age < window)
        })
    }

    /// Forgets the challenge `echo` answered (see [`Self::echo_fresh`]).
    fn spend_echo(&mut self, peer: &P, identity: Option<&X::Identity>, echo: Option<&[u8]>) {
        let Some(echo) = echo else { return };
        self.echo.retain(|c| {
            !(&c.peer == peer && c.identity.as_ref() == identity && c.value.as_bytes() == echo)
        });
    }

    /// A new random Echo value bound to the peer and the security context (RFC 9175
    /// Appendix A, method 1, with the table bounded by
    /// [`EndpointLimits::max_echo_challenges`]).
    fn issue_echo(&mut self, now: Duration, peer: &P, identity: Option<X::Identity>) -> EchoBuf {
        let window = self.config.echo.map_or(Duration::ZERO, |p| p.window);
        self.echo.retain(|c| c.issued + window > now);
        // 96 random bits (Appendix A recommends at least 64).
        let mut bytes = [0u8; 12];
        for chunk in bytes.chunks_mut(4) {
            let r = self.rng.next_u32().to_be_bytes();
            chunk.copy_from_slice(r.get(..chunk.len()).unwrap_or(&[]));
        }
        let value = EchoBuf::new(&bytes).unwrap_or_else(|_| crate::echo::counter_value(0));
        while self.echo.len() >= self.config.limits.max_echo_challenges.max(1) {
            self.echo.pop_front();
        }
        self.echo.push_back(EchoChallenge {
            peer: peer.clone(),
            identity,
            value,
            issued: now,
        });
        value
    }

    /// A CON or NON response (not piggybacked), after deduplication.
    fn on_separate_response(&mut self, now: Duration, peer: &P, inbound: Inbound<'_>) {
        let message = inbound;
        let found = self
            .outgoing
            .iter()
            .find(|(_, o)| &o.peer == peer && o.request.token == message.token())
            .map(|(id, _)| *id);
        let observation = if cfg!(feature = "observe-client") {
            self.observations.find(peer, message.token())
        } else {
            None
        };
        if let (None, Some(handle)) = (found, observation) {
            // RFC 7641 §3.2: a notification; a CON one is acknowledged (§4.5) whether it is
            // fresh or stale.
            if let ReplyPath::Confirmable(mid) = inbound.path {
                self.reply_and_cache(peer, mid, empty(EMPTY_ACK, mid));
            }
            let raw = match self.observing_protection.get(&handle).cloned() {
                Some((_, binding)) => self.unprotect_inbound(&binding, &message),
                None => message.to_owned().to_vec().ok(),
            };
            let Some(raw) = raw else {
                // RFC 8613 §8.4: a notification that does not verify is dropped.
                self.stats.stale_notifications += 1;
                return;
            };
            if let Ok(response) = Message::decode_with(&raw, &self.decode_limits) {
                let received = response.to_owned();
                self.on_notification(now, peer, handle, &response, received);
            }
            return;
        }
        let Some(id) = found else {
            // RFC 7252 §5.3.2 / §4.2: a CON response to nothing of ours is rejected with a
            // Reset; a NON one is ignored (§4.3). Both are reported.
            match inbound.path {
                ReplyPath::Confirmable(mid) => {
                    self.reply_and_cache(peer, mid, empty(EMPTY_RST, mid));
                }
                // RFC 7641 §3.6: a NON notification of an observation the client forgot is
                // rejected with a Reset too, so that the server removes the observer.
                ReplyPath::NonConfirmable(mid)
                    if message.option(OptionNumber::OBSERVE).is_some() =>
                {
                    self.transmit(peer.clone(), empty(EMPTY_RST, mid));
                }
                ReplyPath::NonConfirmable(_) | ReplyPath::Reliable => {}
            }
            self.event(Event::UnmatchedResponse {
                peer: peer.clone(),
                message: message.to_owned(),
            });
            return;
        };
        self.on_matched_response(now, peer, id, inbound, true);
    }

    /// A response matched to request `id` (piggybacked or separate).
    fn on_matched_response(
        &mut self,
        now: Duration,
        peer: &P,
        id: RequestId,
        inbound: Inbound<'_>,
        separate: bool,
    ) {
        let message = inbound;
        // RFC 7252 §5.4.1: a response with an unrecognized critical option is rejected (a
        // Reset for a CON response).
        if let Some(error) = self.critical_issue(message.options()) {
            if let (true, ReplyPath::Confirmable(mid)) = (separate, inbound.path) {
                self.reply_and_cache(peer, mid, empty(EMPTY_RST, mid));
            }
            self.finish(now, id);
            self.event(Event::ResponseRejected {
                id,
                peer: peer.clone(),
                error,
            });
            return;
        }
        if let (true, ReplyPath::Confirmable(mid)) = (separate, inbound.path) {
            // §5.2.2: the client acknowledges a separate CON response.
            self.reply_and_cache(peer, mid, empty(EMPTY_ACK, mid));
        }
        self.complete_request(now, id, peer, &message);
    }

    /// Delivers the final response of request `id`, or retries with the Echo value of a 4.01
    /// (RFC 9175 §2.3, §2.4; bounded by [`EndpointConfig::max_echo_retries`]). Block2 continuation and Observe
    /// notification ordering take the response here.
    fn complete_request(&mut self, now: Duration, id: RequestId, peer: &P, message: &Inbound<'_>) {
        // RFC 8613 §2: a protected request's response is unprotected before anything else
        // (Echo, block-wise, Observe) reads it.
        let binding = self
            .outgoing
            .get(&id)
            .and_then(|o| o.protection.as_ref())
            .and_then(|(_, binding)| binding.clone());
        let Some(binding) = binding else {
            self.complete_inner(now, id, peer, message);
            return;
        };
        let Some(inner) = self.unprotect_inbound(&binding, message) else {
            self.finish(now, id);
            self.event(Event::ProtectionFailed {
                id,
                peer: peer.clone(),
                response: message.to_owned(),
            });
            return;
        };
        let Ok(inner_message) = Message::decode_with(&inner, &self.decode_limits) else {
            return;
        };
        let inbound = Inbound::udp(&inner_message, message.path);
        self.complete_inner(now, id, peer, &inbound);
    }

    /// The inner message (encoded) of a protected response, `None` when it does not verify.
    fn unprotect_inbound(
        &mut self,
        binding: &X::Binding,
        message: &Inbound<'_>,
    ) -> Option<Vec<u8>> {
        let outer = &message.message;
        let parts = self.protection.unprotect_response(binding, outer).ok()?;
        parts
            .into_message(outer.mtype(), outer.message_id(), outer.token())
            .to_vec()
            .ok()
    }

    fn complete_inner(&mut self, now: Duration, id: RequestId, peer: &P, message: &Inbound<'_>) {
        let code = message.code();
        let echo = message.option(OptionNumber::ECHO).map(|o| o.value);
        if let Some(ClientEchoAction::Retry(value)) =
            client_action(code.class(), code.detail(), echo)
        {
            // RFC 9175 §2.4: retry with each new Echo value up to the configured bound, never
            // twice with the value the request already carried (no loop with a server that
            // keeps answering 4.01 with the same value).
            let retry = self.outgoing.get(&id).is_some_and(|o| {
                o.echo_retries < self.config.max_echo_retries
                    && o.request
                        .options
                        .get(OptionNumber::ECHO)
                        .is_none_or(|carried| carried.value != value.as_bytes())
            });
            if retry && self.retry_with_echo(now, id, value.as_bytes()).is_ok() {
                return;
            }
        }
        // RFC 7959: the block-wise transfer decides whether this response ends the request.
        let received = message.to_owned();
        let response = message.message;
        // RFC 7641 §3: the first response of a registration, or a response to a
        // re-registration (a notification of the original request).
        let observe = self.outgoing.get(&id).map_or(ObserveUse::No, |o| o.observe);
        let uploading = self
            .outgoing
            .get(&id)
            .is_some_and(|o| matches!(o.transfer, Transfer::Upload(_)));
        match observe {
            ObserveUse::Reregister(handle) if cfg!(feature = "observe-client") => {
                self.finish(now, id);
                self.on_notification(now, peer, handle, &response, received);
                return;
            }
            ObserveUse::Register(Some(handle)) if uploading && cfg!(feature = "observe-client") => {
                let protection = match self.outgoing.get(&id).and_then(|o| o.protection.as_ref()) {
                    Some((identity, Some(binding))) => Some((identity.clone(), binding.clone())),
                    _ => None,
                };
                if protection.is_some() {
                    // RFC 8613 §4.1.3.5.2: the client orders protected notifications by their
                    // Partial IV (checked by the protection layer, §7.4.1) and ignores the
                    // Observe value, so RFC 7641 §3.4 does not apply to them.
                    self.observations.order_by_protection(handle);
                }
                if let Ok(NotificationVerdict::Fresh { .. }) =
                    self.observations.handle_notification(peer, &response, now)
                {
                    self.observing.insert(handle, (id, peer.clone()));
                    if let Some(protection) = protection {
                        self.observing_protection.insert(handle, protection);
                    }
                }
            }
            _ => {}
        }
        let step = match self.outgoing.get_mut(&id).map(|o| &mut o.transfer) {
            Some(Transfer::Upload(upload)) => match upload.handle_response(&response) {
                Ok(Block1Progress::Send(next)) => Ok((Some(next), None)),
                Ok(Block1Progress::Done(parts)) => Ok((None, Some(parts))),
                Ok(Block1Progress::Download { download, request }) => {
                    if let Some(o) = self.outgoing.get_mut(&id) {
                        o.transfer = Transfer::Download(download);
                    }
                    Ok((Some(request), None))
                }
                Err(e) => Err(e),
            },
            Some(Transfer::Download(download)) if FOLLOWS_BLOCK2 => {
                match download.handle_response(&response) {
                    Ok(Block2Progress::Send(next)) => Ok((Some(next), None)),
                    Ok(Block2Progress::Complete(parts)) => Ok((None, Some(parts))),
                    Err(e) => Err(e),
                }
            }
            // No download exists without the features that start one.
            Some(Transfer::Download(_)) | None => return,
        };
        let delivered = match self.outgoing.get_mut(&id).map(|o| &mut o.transfer) {
            Some(Transfer::Download(download)) if FOLLOWS_BLOCK2 => download.take_block(),
            _ => None,
        };
        if let Some(block) = delivered {
            let size = response
                .option(OptionNumber::SIZE2)
                .and_then(|o| o.as_uint().ok())
                .and_then(|v| usize::try_from(v).ok());
            // RFC 7959 §2.4 with delivery: the block goes to the application before the next
            // request is sent (it is queued ahead of every event the request causes).
            self.event(Event::Block {
                id,
                peer: peer.clone(),
                offset: block.offset,
                payload: block.payload,
                more: block.more,
                size,
            });
        }
        if let (true, ObserveUse::NotificationFetch(handle)) =
            (cfg!(feature = "observe-client"), observe)
        {
            // RFC 7959 §3.4: a fetch that cannot go on ends unseen; the next notification
            // brings the representation again.
            let next = match step {
                Ok((Some(next), _)) => self.continue_request(now, id, next).is_ok(),
                Ok((None, whole)) => {
                    self.finish(now, id);
                    let whole = whole.unwrap_or_else(|| MessageParts::from_message(&response));
                    self.complete_notification_fetch(id, handle, peer, whole);
                    true
                }
                Err(_) => false,
            };
            if !next {
                self.notification_fetch_failed(now, id, handle);
            }
            return;
        }
        match step {
            Ok((Some(next), _)) => {
                if let Err(error) = self.continue_request(now, id, next) {
                    self.finish(now, id);
                    self.event(Event::BlockwiseFailed {
                        id,
                        peer: peer.clone(),
                        error: match error {
                            EndpointError::Blockwise(e) => e,
                            _ => BlockwiseError::Finished,
                        },
                    });
                }
            }
            Ok((None, whole)) => {
                self.finish(now, id);
                let message = match whole {
                    Some(parts) => {
                        parts.into_message(received.mtype, received.message_id, &received.token)
                    }
                    None => received,
                };
                self.event(Event::Response {
                    id,
                    peer: peer.clone(),
                    message,
                });
            }
            // RFC 7959 §2.9.3: a 4.13 that smaller blocks cannot help is the server's final
            // answer; the application gets it as the response.
            Err(BlockwiseError::RequestTooLarge { .. }) => {
                self.finish(now, id);
                self.event(Event::Response {
                    id,
                    peer: peer.clone(),
                    message: received,
                });
            }
            Err(error) => {
                self.finish(now, id);
                self.event(Event::BlockwiseFailed {
                    id,
                    peer: peer.clone(),
                    error,
                });
            }
        }
    }

    /// Encodes a client request, protected anew (a new Partial IV, RFC 8613 §7.2.1) when the
    /// request was made with [`Endpoint::request_protected`].
    fn encode_request(
        &mut self,
        protection: &mut Option<(X::Identity, Option<X::Binding>)>,
        peer: &P,
        request: &OwnedMessage,
    ) -> Result<Vec<u8>, EndpointError> {
        let Some((identity, last)) = protection else {
            return self.encode(request);
        };
        let inner = MessageParts {
            code: request.code,
            options: request.options.clone(),
            payload: request.payload.clone(),
        };
        let (outer, binding) = self
            .protection
            .protect_request(peer, identity, &inner)
            .map_err(EndpointError::Protection)?;
        *last = Some(binding);
        self.encode(&outer.into_message(request.mtype, request.message_id, &request.token))
    }

    /// [`Endpoint::request_with`] for a request protected under `identity` by the protection
    /// layer (e.g. an OSCORE security context, RFC 8613): each request sent for it (every
    /// block, an Echo retry) is protected anew, each response unprotected before block-wise,
    /// Observe and Echo see it; a response that does not verify ends the request with
    /// [`Event::ProtectionFailed`].
    ///
    /// # Errors
    /// As [`Endpoint::request_with`], and [`EndpointError::Protection`].
    // An entry point an application calls from several places: out of line, one copy in flash.
    #[inline(never)]
    pub fn request_protected(
        &mut self,
        now: Duration,
        peer: P,
        request: OwnedMessage,
        options: RequestOptions,
        identity: X::Identity,
    ) -> Result<RequestId, EndpointError> {
        self.protecting = Some(identity);
        let result = self.request_with(now, peer, request, options);
        // Taken by the request, or left by one refused before it was recorded.
        self.protecting = None;
        result
    }

    /// Sends the next request of a block-wise transfer: a new Message ID and token (RFC 7959
    /// §2.3 leaves the token free; a new one keeps a late response to the previous block from
    /// matching), the Echo value of the request before carried on (RFC 9175 §2.3).
    fn continue_request(
        &mut self,
        now: Duration,
        id: RequestId,
        next: MessageParts,
    ) -> Result<(), EndpointError> {
        let Some(mut entry) = self.outgoing.remove(&id) else {
            return Ok(());
        };
        self.remember_exchange(now, &entry);
        let echo = entry
            .request
            .options
            .get(OptionNumber::ECHO)
            .map(|o| o.value.to_vec());
        let mut request = next.into_message(entry.request.mtype, 0, &[]);
        if matches!(entry.transfer, Transfer::Download(_)) {
            // RFC 7959 §3.4: the later blocks of an observed resource are fetched without
            // Observe.
            request.options.remove(OptionNumber::OBSERVE);
        }
        if let Some(echo) = echo {
            request.options.set(OptionNumber::ECHO, echo);
        }
        request.message_id = self.message_ids.allocate();
        request.token = self.fresh_token(&entry.peer);
        let peer = entry.peer.clone();
        let bytes = match self.encode_request(&mut entry.protection, &peer, &request) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.outgoing.insert(id, entry);
                return Err(e);
            }
        };
        entry.request = request;
        entry.bytes = bytes.clone();
        entry.echo_retries = 0;
        entry.acknowledged = false;
        entry.retransmission = entry
            .confirmable
            .then(|| Retransmission::start_with(&self.config.transmission, now, &mut self.rng));
        entry.expires = now + self.exchange_lifetime;
        let peer = entry.peer.clone();
        self.outgoing.insert(id, entry);
        self.transmit(peer, bytes);
        Ok(())
    }

    /// How far the block-wise transfer of client request `id` has come (outstanding or
    /// queued); `None` once the request is over or for an unknown one. A request without
    /// block-wise transfer reports a one-block upload or an empty download.
    #[must_use]
    pub fn transfer_progress(&self, id: RequestId) -> Option<TransferProgress> {
        let transfer = match self.outgoing.get(&id) {
            Some(o) => &o.transfer,
            None => &self.queue.iter().find(|q| q.id == id)?.transfer,
        };
        Some(match transfer {
            Transfer::Upload(upload) => TransferProgress::Upload {
                acknowledged: upload.acknowledged(),
                total: upload.body_len(),
            },
            Transfer::Download(download) => TransferProgress::Download {
                received: download.bytes_received(),
            },
        })
    }

    /// Abandons client request `id` (outstanding or queued): its datagram still waiting in
    /// [`Endpoint::poll_transmit`] is dropped, no more retransmissions, blocks or events for it; a late response to it is reported as [`Event::UnmatchedResponse`]
    /// (a CON one answered with a Reset, RFC 7252 §5.3.2).
    ///
    /// # Errors
    /// [`EndpointError::UnknownRequest`] when the request is already over.
    pub fn cancel(&mut self, now: Duration, id: RequestId) -> Result<(), EndpointError> {
        if let Some(o) = self.outgoing.get(&id) {
            // Its current datagram, if still queued, is not sent at all (e.g. the next block
            // of a download the application refused on [`Event::Block`]).
            let (peer, bytes) = (o.peer.clone(), o.bytes.clone());
            self.transmits.retain(|t| {
                t.kind != TransmitKind::Datagram || t.peer != peer || t.datagram != bytes
            });
            self.finish(now, id);
            self.drain_queue(now);
            return Ok(());
        }
        let before = self.queue.len();
        self.queue.retain(|q| q.id != id);
        if self.queue.len() == before {
            return Err(EndpointError::UnknownRequest { id });
        }
        Ok(())
    }

    fn retry_with_echo(
        &mut self,
        now: Duration,
        id: RequestId,
        echo: &[u8],
    ) -> Result<(), EndpointError> {
        let Some(mut entry) = self.outgoing.remove(&id) else {
            return Ok(());
        };
        entry.request.options.set(OptionNumber::ECHO, echo);
        self.remember_exchange(now, &entry);
        entry.request.message_id = self.message_ids.allocate();
        entry.request.token = self.fresh_token(&entry.peer);
        let peer = entry.peer.clone();
        let bytes = match self.encode_request(&mut entry.protection, &peer, &entry.request) {
            Ok(b) => b,
            Err(e) => {
                self.outgoing.insert(id, entry);
                return Err(e);
            }
        };
        entry.bytes = bytes.clone();
        entry.echo_retries += 1;
        self.stats.echo_retries += 1;
        entry.acknowledged = false;
        entry.retransmission = entry
            .confirmable
            .then(|| Retransmission::start_with(&self.config.transmission, now, &mut self.rng));
        entry.expires = now + self.exchange_lifetime;
        let peer = entry.peer.clone();
        self.outgoing.insert(id, entry);
        self.transmit(peer, bytes);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Client role.

    /// Removes a finished request, remembering its Message ID so that a late duplicate of its
    /// ACK is recognized as such rather than reported as unmatched.
    /// Ends request `id` that failed (timed out or reset) and returns the id to report: for a
    /// re-registration, the original registration, whose observation then ends too (RFC 7641
    /// §3.3.1: the server is no longer reachable or interested). `None` for the fetch of a
    /// block-wise notification, which the application never saw (RFC 7959 §3.4; counted in
    /// [`EndpointStats::failed_notification_fetches`]).
    fn fail(&mut self, now: Duration, id: RequestId) -> Option<RequestId> {
        // Without the `observe-client` feature no request is a re-registration or a fetch.
        let observe = self
            .outgoing
            .get(&id)
            .map(|o| o.observe)
            .filter(|_| cfg!(feature = "observe-client"));
        if let Some(ObserveUse::NotificationFetch(handle)) = observe {
            self.notification_fetch_failed(now, id, handle);
            return None;
        }
        self.finish(now, id);
        if let Some(ObserveUse::Reregister(handle)) = observe {
            self.observations.forget(handle);
            if let Some((original, _)) = self.observing.remove(&handle) {
                return Some(original);
            }
        }
        Some(id)
    }

    /// The fetch `id` of a block-wise notification of `handle` failed: it ends unseen.
    fn notification_fetch_failed(
        &mut self,
        now: Duration,
        id: RequestId,
        handle: ObservationHandle,
    ) {
        self.finish(now, id);
        if self
            .notification_fetches
            .get(&handle)
            .is_some_and(|(fetch, _)| *fetch == id)
        {
            self.notification_fetches.remove(&handle);
        }
        self.stats.failed_notification_fetches += 1;
    }

    fn finish(&mut self, now: Duration, id: RequestId) {
        if let Some(entry) = self.outgoing.remove(&id) {
            if let (true, ObserveUse::Register(Some(handle))) =
                (cfg!(feature = "observe-client"), entry.observe)
            {
                if !self.observing.contains_key(&handle) {
                    // The registration failed or was answered without Observe (§3.1).
                    self.observations.forget(handle);
                }
            }
            self.remember_exchange(now, &entry);
        }
    }

    /// RFC 7959 §3.4: a fresh notification carrying Block2 NUM 0 with M = 1 holds only the
    /// first block. The rest is fetched with a GET of the registration's options, Block2
    /// NUM 1.. and without Observe; `None` is returned and the notification is delivered when
    /// the fetch completes. Any other notification (or one whose fetch cannot start) is
    /// returned to be delivered as it is.
    fn fetch_notification_rest(
        &mut self,
        now: Duration,
        peer: &P,
        handle: ObservationHandle,
        response: &Message<'_>,
        received: OwnedMessage,
    ) -> Option<OwnedMessage> {
        let first_of_more = matches!(
            BlockValue::from_message(response, OptionNumber::BLOCK2),
            Ok(Some(block)) if block.num() == 0 && block.more()
        );
        if !first_of_more {
            return Some(received);
        }
        let Some(registration) =
            self.observations
                .reregistration_request(handle, MessageType::Con, 0)
        else {
            return Some(received);
        };
        let mut options = registration.options.clone();
        options.remove(OptionNumber::OBSERVE);
        // A notification is delivered whole (RFC 7959 §3.4), never block by block.
        let config = Block2ClientConfig {
            deliver_blocks: false,
            ..self.config.client_blockwise.download
        };
        let mut download = Block2Client::new(registration.code, options, config);
        // The first block is taken as the answer to block 0; the client asks for NUM 1 next.
        let Ok(Block2Progress::Send(next)) = download.handle_response(response) else {
            self.stats.failed_notification_fetches += 1;
            return None;
        };
        let request = next.into_message(MessageType::Con, 0, &[]);
        // Fetched under the observation's security context (RFC 8613 §2).
        self.protecting = self
            .observing_protection
            .get(&handle)
            .map(|(identity, _)| identity.clone());
        let submitted = self.submit_request(
            now,
            peer.clone(),
            request,
            Reliability::Confirmable,
            Transfer::Download(download),
            ObserveUse::NotificationFetch(handle),
            false,
        );
        self.protecting = None;
        match submitted {
            Ok(id) => {
                self.notification_fetches.insert(handle, (id, received));
            }
            Err(_) => {
                self.stats.failed_notification_fetches += 1;
            }
        }
        None
    }

    /// Drops the fetch of a block-wise notification of `handle` still in progress (sent or
    /// queued): a newer notification or the end of the observation supersedes it.
    fn abandon_notification_fetch(&mut self, now: Duration, handle: ObservationHandle) {
        let Some((fetch, _)) = self.notification_fetches.remove(&handle) else {
            return;
        };
        self.finish(now, fetch);
        self.queue.retain(|q| q.id != fetch);
    }

    /// The fetch of a block-wise notification completed: the notification with the whole
    /// body goes to the application (RFC 7959 §3.4).
    fn complete_notification_fetch(
        &mut self,
        fetch: RequestId,
        handle: ObservationHandle,
        peer: &P,
        whole: MessageParts,
    ) {
        let first = match self.notification_fetches.get(&handle) {
            Some((id, _)) if *id == fetch => self.notification_fetches.remove(&handle),
            _ => None,
        };
        let (Some((_, mut message)), Some((id, _))) = (first, self.observing.get(&handle)) else {
            return;
        };
        message.options.remove(OptionNumber::BLOCK2);
        message.options.remove(OptionNumber::SIZE2);
        message.payload = whole.payload;
        let id = *id;
        self.event(Event::Notification {
            id,
            peer: peer.clone(),
            message,
        });
    }

    /// A response that belongs to the client observation `handle` (RFC 7641 §3.2–§3.4).
    fn on_notification(
        &mut self,
        now: Duration,
        peer: &P,
        handle: ObservationHandle,
        response: &Message<'_>,
        received: OwnedMessage,
    ) {
        let Some((id, _)) = self.observing.get(&handle).cloned() else {
            return;
        };
        match self.observations.handle_notification(peer, response, now) {
            Ok(NotificationVerdict::Fresh { .. }) => {
                // RFC 7641 §3.4: a newer notification supersedes a fetch still in progress.
                self.abandon_notification_fetch(now, handle);
                if let Some(received) =
                    self.fetch_notification_rest(now, peer, handle, response, received)
                {
                    self.event(Event::Notification {
                        id,
                        peer: peer.clone(),
                        message: received,
                    });
                }
            }
            Ok(NotificationVerdict::Ended { .. }) => {
                self.abandon_notification_fetch(now, handle);
                self.observing.remove(&handle);
                self.event(Event::Response {
                    id,
                    peer: peer.clone(),
                    message: received,
                });
            }
            // §3.4: older than one already delivered; or unreadable options.
            Ok(NotificationVerdict::Stale { .. }) | Err(_) => {
                self.stats.stale_notifications += 1;
            }
            Ok(_) => {}
        }
    }

    /// Ends the client observation registered by request `id`: `active` sends a GET/FETCH with
    /// Observe 1 and the registration's token (RFC 7641 §3.6) and returns its [`RequestId`]
    /// (its response arrives as [`Event::Response`]); otherwise the observation is forgotten
    /// and the next notification is answered with a Reset (passive cancellation).
    ///
    /// # Errors
    /// [`EndpointError::UnknownRequest`] when `id` has no observation; the errors of
    /// [`Endpoint::request`] for the deregistration request.
    pub fn cancel_observation(
        &mut self,
        now: Duration,
        id: RequestId,
        active: bool,
    ) -> Result<Option<RequestId>, EndpointError> {
        let Some((handle, peer)) = self
            .observing
            .iter()
            .find(|(_, (r, _))| *r == id)
            .map(|(h, (_, p))| (*h, p.clone()))
        else {
            return Err(EndpointError::UnknownRequest { id });
        };
        self.observing.remove(&handle);
        self.abandon_notification_fetch(now, handle);
        if !active {
            self.observations.forget(handle);
            return Ok(None);
        }
        let Some(deregister) = self.observations.cancel(handle, MessageType::Con, 0) else {
            return Err(EndpointError::UnknownRequest { id });
        };
        let options = RequestOptions::new(Reliability::Confirmable, self.config.client_blockwise);
        self.request_inner(now, peer, deregister, options, ObserveUse::No, true)
            .map(Some)
    }

    fn remember_exchange(&mut self, now: Duration, entry: &Outgoing<P, X::Identity, X::Binding>) {
        if !entry.confirmable {
            return;
        }
        let lifetime = self.exchange_lifetime;
        // Entries expire in the order they were added (one lifetime, the caller's clock never
        // goes back): the expired ones are at the front.
        while self.recent.front().is_some_and(|r| r.2 <= now) {
            self.recent.pop_front();
        }
        // Bounded like the table it shadows; forgetting the oldest only means that a very late
        // duplicate ACK is reported as unmatched.
        while self.recent.len() >= self.config.limits.max_outstanding_requests {
            self.recent.pop_front();
        }
        self.recent
            .push_back((entry.peer.clone(), entry.request.message_id, now + lifetime));
    }

    /// A token unique among the requests outstanding to `peer` (RFC 7252 §5.3.1), drawn from
    /// the RNG; should the RNG keep colliding, the first free value of a counter (there are more
    /// candidates than outstanding requests, see [`EndpointConfig`] validation).
    fn fresh_token(&mut self, peer: &P) -> Vec<u8> {
        let len = self.config.token_len;
        let in_use = |outgoing: &BTreeMap<RequestId, Outgoing<P, X::Identity, X::Binding>>,
                      token: &[u8]| {
            outgoing
                .values()
                .any(|o| &o.peer == peer && o.request.token == token)
        };
        // Without the `observe-client` feature the table of observations stays empty.
        let observed = |observations: &ObservationClient<P>, token: &[u8]| {
            cfg!(feature = "observe-client") && observations.find(peer, token).is_some()
        };
        for _ in 0..16 {
            let hi = u64::from(self.rng.next_u32()) << 32;
            let bytes = (hi | u64::from(self.rng.next_u32())).to_be_bytes();
            let token = bytes.get(..len).unwrap_or(&bytes).to_vec();
            // RFC 7641 §3.1: an observation keeps its token after its request is over.
            if !in_use(&self.outgoing, &token) && !observed(&self.observations, &token) {
                return token;
            }
        }
        let mut fallback = Vec::new();
        for k in 0..=(self.outgoing.len() + self.observations.len()) as u64 {
            let bytes = k.to_be_bytes();
            fallback = bytes.get(8 - len..).unwrap_or(&bytes).to_vec();
            if !in_use(&self.outgoing, &fallback) && !observed(&self.observations, &fallback) {
                break;
            }
        }
        fallback
    }

    /// Sends a request to `peer` (or queues it while NSTART or PROBING_RATE hold it back,
    /// RFC 7252 §4.7). The endpoint sets the message type, Message ID and token; the result
    /// arrives as [`Event::Response`], [`Event::TimedOut`], [`Event::Reset`] or
    /// [`Event::ResponseRejected`].
    ///
    /// # Errors
    /// [`EndpointError::NotARequest`], [`EndpointError::MessageTooLarge`],
    /// [`EndpointError::TooManyOutstanding`], [`EndpointError::QueueFull`],
    /// [`EndpointError::PeerTableFull`], [`EndpointError::Encode`].
    pub fn request(
        &mut self,
        now: Duration,
        peer: P,
        request: OwnedMessage,
        reliability: Reliability,
    ) -> Result<RequestId, EndpointError> {
        let options = RequestOptions::new(reliability, self.config.client_blockwise);
        self.request_with(now, peer, request, options)
    }

    /// [`Endpoint::request`] with per-request options. A body larger than one block of
    /// `options.blockwise.szx` is uploaded with Block1 and a Request-Tag (RFC 7959 §2.5,
    /// RFC 9175 §3); a response sent in Block2 blocks is fetched block by block (§2.4, ETag
    /// checked); [`Event::Response`] carries the whole body, or [`Event::BlockwiseFailed`]
    /// says why the transfer ended.
    ///
    /// # Errors
    /// As [`Endpoint::request`], and [`EndpointError::Blockwise`] when the body needs more
    /// blocks than 20-bit block numbers allow.
    // An entry point an application calls from several places: out of line, one copy in flash.
    #[inline(never)]
    pub fn request_with(
        &mut self,
        now: Duration,
        peer: P,
        request: OwnedMessage,
        options: RequestOptions,
    ) -> Result<RequestId, EndpointError> {
        // RFC 7641 §3.1: a GET or FETCH with Observe 0 registers an observation.
        let registers = matches!(request.code, Code::GET | Code::FETCH)
            && request
                .option(OptionNumber::OBSERVE)
                .is_some_and(|o| o.value.is_empty() || o.value == [0]);
        if registers && cfg!(not(feature = "observe-client")) {
            // Without the `observe-client` feature this endpoint observes nothing.
            return Err(EndpointError::Observation(
                ObservationError::TooManyObservations { limit: 0 },
            ));
        }
        let observe = if registers {
            let limit = self.config.observe_client.max_observations;
            let registering = self
                .outgoing
                .values()
                .map(|o| o.observe)
                .chain(self.queue.iter().map(|q| q.observe))
                .filter(|u| matches!(u, ObserveUse::Register(None)))
                .count();
            if self.observations.len() + registering >= limit {
                return Err(EndpointError::Observation(
                    ObservationError::TooManyObservations { limit },
                ));
            }
            ObserveUse::Register(None)
        } else {
            ObserveUse::No
        };
        self.request_inner(now, peer, request, options, observe, false)
    }

    fn request_inner(
        &mut self,
        now: Duration,
        peer: P,
        request: OwnedMessage,
        options: RequestOptions,
        observe: ObserveUse,
        keep_token: bool,
    ) -> Result<RequestId, EndpointError> {
        let reliability = options.reliability;
        if !request.code.is_request() {
            return Err(EndpointError::NotARequest { code: request.code });
        }
        let mut blockwise = options.blockwise;
        blockwise.download.deliver_blocks |= options.deliver_blocks;
        // RFC 8323 §5.3.1: over a connection the peer's Max-Message-Size bounds each block.
        let max = self
            .connections
            .get(&peer)
            .map_or(self.config.limits.max_message_size, |c| c.max_send_size());
        blockwise.szx = fitting_szx(blockwise.szx, max);
        let upload = if cfg!(feature = "block1-client") {
            self.upload(&peer, &request, blockwise)
        } else {
            // Never sliced: no Request-Tag (RFC 9175 §3.4 tags block-wise operations only).
            Block1Client::new(
                request.code,
                request.options.clone(),
                request.payload.clone(),
                blockwise,
                None,
            )
        }
        .map_err(EndpointError::Blockwise)?;
        let first = upload.request().map_err(EndpointError::Blockwise)?;
        let request = first.into_message(request.mtype, request.message_id, &request.token);
        self.submit_request(
            now,
            peer,
            request,
            reliability,
            Transfer::Upload(upload),
            observe,
            keep_token,
        )
    }

    /// The upload of `request`'s body, sliced with Block1 when it needs more than one block.
    fn upload(
        &self,
        peer: &P,
        request: &OwnedMessage,
        blockwise: Block1ClientConfig,
    ) -> Result<Block1Client, BlockwiseError> {
        // RFC 9175 §3.4: uploads in progress to the peer at the same time carry distinct
        // Request-Tags, and the absent option is one of the values: an untagged upload in
        // progress takes it (any upload may turn block-wise on a 4.13, RFC 7959 §2.9.3).
        // Responses being downloaded are past their upload and hold no tag.
        let tags = self
            .outgoing
            .values()
            .filter(|o| &o.peer == peer)
            .filter_map(|o| o.transfer.upload_tag())
            .chain(
                self.queue
                    .iter()
                    .filter(|q| &q.peer == peer)
                    .filter_map(|q| q.transfer.upload_tag()),
            );
        Block1Client::with_free_tag(
            request.code,
            request.options.clone(),
            request.payload.clone(),
            blockwise,
            tags,
        )
    }

    /// Sends `request` (the first of its `transfer`) now, or queues it behind NSTART or
    /// PROBING_RATE (RFC 7252 §4.7), after checking its size and the table bounds.
    #[allow(clippy::too_many_arguments)]
    fn submit_request(
        &mut self,
        now: Duration,
        peer: P,
        mut request: OwnedMessage,
        reliability: Reliability,
        transfer: Transfer,
        observe: ObserveUse,
        keep_token: bool,
    ) -> Result<RequestId, EndpointError> {
        // Taken first, so that it never carries over to another request.
        let protection = self.protecting.take().map(|identity| (identity, None));
        let token = request.token.clone();
        request.mtype = match reliability {
            Reliability::Confirmable => MessageType::Con,
            Reliability::NonConfirmable => MessageType::Non,
        };
        // The size with a full-length token, checked before anything is recorded.
        request.token = alloc::vec![0; self.config.token_len];
        request.validate().map_err(EndpointError::Encode)?;
        self.encode(&request)?;
        if keep_token {
            request.token = token;
        }
        let limits = self.config.limits;
        if self.outgoing.len() + self.queue.len() >= limits.max_outstanding_requests {
            return Err(EndpointError::TooManyOutstanding {
                capacity: limits.max_outstanding_requests,
            });
        }
        if self.peer_mut(now, &peer).is_none() {
            return Err(EndpointError::PeerTableFull {
                capacity: limits.max_peers,
            });
        }
        let id = RequestId(self.next_request);
        let queued_for_peer = self.queue.iter().any(|q| q.peer == peer);
        let connected = self.connections.contains_key(&peer);
        if !connected && (queued_for_peer || !self.may_send(now, &peer, reliability)) {
            if self.queue.len() >= limits.max_queued_requests {
                return Err(EndpointError::QueueFull {
                    capacity: limits.max_queued_requests,
                });
            }
            self.next_request += 1;
            self.queue.push_back(Queued {
                id,
                peer,
                protection,
                request,
                reliability,
                transfer,
                observe,
                keep_token,
            });
            return Ok(id);
        }
        self.next_request += 1;
        let queued = Queued {
            id,
            peer,
            protection,
            request,
            reliability,
            transfer,
            observe,
            keep_token,
        };
        self.send_request(now, queued)?;
        Ok(id)
    }

    /// RFC 7252 §4.7: NSTART bounds the CON requests awaiting their ACK per peer; PROBING_RATE
    /// paces NON requests to a peer that has not answered.
    fn may_send(&self, now: Duration, peer: &P, reliability: Reliability) -> bool {
        match reliability {
            Reliability::Confirmable => {
                let in_flight = self
                    .outgoing
                    .values()
                    .filter(|o| &o.peer == peer && o.confirmable && !o.acknowledged)
                    .count();
                in_flight < usize::from(self.config.transmission.nstart())
            }
            Reliability::NonConfirmable => self
                .peers
                .get(peer)
                .is_none_or(|p| p.answered || now >= p.probe_next),
        }
    }

    fn send_request(
        &mut self,
        now: Duration,
        queued: Queued<P, X::Identity, X::Binding>,
    ) -> Result<(), EndpointError> {
        let Queued {
            id,
            peer,
            mut protection,
            mut request,
            reliability,
            transfer,
            mut observe,
            keep_token,
        } = queued;
        if !keep_token {
            request.token = self.fresh_token(&peer);
        }
        if cfg!(feature = "observe-client") && observe == ObserveUse::Register(None) {
            // RFC 7641 §3.1: track the observation under the token it is sent with. Should
            // the table have filled meanwhile, the request goes on as a plain GET whose
            // notifications are reset as unknown.
            let started = self.observations.start(
                &peer,
                request.code,
                &request.token,
                request.options.iter(),
                if self.connections.contains_key(&peer) {
                    Transport::Reliable
                } else {
                    Transport::Unreliable
                },
                now,
            );
            if let Ok(handle) = started {
                // A FETCH registration's re-registration and deregistration carry its body.
                self.observations.set_payload(handle, &request.payload);
            }
            observe = ObserveUse::Register(started.ok());
        }
        request.message_id = self.message_ids.allocate();
        let bytes = self.encode_request(&mut protection, &peer, &request)?;
        if self.connections.contains_key(&peer) {
            // RFC 8323 §2.2: over a connection no type, Message ID, ACK or retransmission;
            // a full write queue fails the request at once (the endpoint never blocks).
            let sent = Message::decode_with(&bytes, &self.decode_limits)
                .map_err(|_| EndpointError::Session(SessionError::Closed))
                .and_then(|m| {
                    let frame = OwnedFrame {
                        code: m.code(),
                        token: m.token().to_vec(),
                        options: m.options().collect(),
                        payload: m.payload().to_vec(),
                    };
                    match self.connections.get_mut(&peer) {
                        Some(session) => session.send(now, &frame).map_err(EndpointError::Session),
                        None => Err(EndpointError::Session(SessionError::Closed)),
                    }
                });
            if let Err(e) = sent {
                if let ObserveUse::Register(Some(handle)) = observe {
                    self.observations.forget(handle);
                }
                return Err(e);
            }
            self.outgoing.insert(
                id,
                Outgoing {
                    peer,
                    protection,
                    request,
                    bytes: Vec::new(),
                    confirmable: false,
                    retransmission: None,
                    acknowledged: true,
                    expires: now + self.exchange_lifetime,
                    echo_retries: 0,
                    transfer,
                    observe,
                },
            );
            return Ok(());
        }
        let confirmable = reliability == Reliability::Confirmable;
        let params = self.config.transmission;
        if !confirmable {
            if let Some(state) = self.peers.get_mut(&peer) {
                // §4.7: towards a peer that does not answer, on average no more than
                // PROBING_RATE bytes per second. Any message from the peer lifts the pacing.
                // In whole nanoseconds, integer arithmetic (no floating point on a device).
                let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                let rate = u64::from(params.probing_rate().max(1));
                let nanos = len.saturating_mul(1_000_000_000) / rate;
                state.probe_next = now + Duration::from_nanos(nanos);
                state.answered = false;
            }
        }
        let retransmission =
            confirmable.then(|| Retransmission::start_with(&params, now, &mut self.rng));
        self.outgoing.insert(
            id,
            Outgoing {
                peer: peer.clone(),
                protection,
                request,
                bytes: bytes.clone(),
                confirmable,
                retransmission,
                acknowledged: false,
                expires: now + self.exchange_lifetime,
                echo_retries: 0,
                transfer,
                observe,
            },
        );
        self.transmit(peer, bytes);
        Ok(())
    }

    /// Sends queued requests that NSTART and PROBING_RATE now allow, in order per peer.
    fn drain_queue(&mut self, now: Duration) {
        let mut blocked: Vec<P> = Vec::new();
        let mut i = 0;
        while let Some(q) = self.queue.get(i) {
            if blocked.contains(&q.peer) || !self.may_send(now, &q.peer, q.reliability) {
                blocked.push(q.peer.clone());
                i += 1;
                continue;
            }
            let Some(q) = self.queue.remove(i) else { break };
            let id = q.id;
            if self.send_request(now, q).is_err() {
                // Checked when queued; cannot fail in practice. Report rather than lose it.
                self.event(Event::TimedOut { id });
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Server role.

    /// Answers the incoming request `id`. The endpoint sets type, Message ID and token:
    /// piggybacked on the ACK while the empty ACK has not gone out yet, otherwise a separate CON
    /// (retransmitted until acknowledged); a NON request gets a NON response (RFC 7252 §5.2).
    ///
    /// # Errors
    /// [`EndpointError::UnknownIncoming`], [`EndpointError::NotAResponse`],
    /// [`EndpointError::MessageTooLarge`], [`EndpointError::Encode`].
    // An entry point an application calls from several places: out of line, one copy in flash.
    #[inline(never)]
    pub fn respond(
        &mut self,
        now: Duration,
        id: IncomingId,
        mut response: OwnedMessage,
    ) -> Result<(), EndpointError> {
        if !response.code.is_response() {
            return Err(EndpointError::NotAResponse {
                code: response.code,
            });
        }
        let Some(incoming) = self.incoming.get(&id) else {
            return Err(EndpointError::UnknownIncoming { id });
        };
        // RFC 7959 §2.4, §2.5, §3.3: the final response of an upload acknowledges its last
        // block; a body larger than the block size the client asked for (or than the
        // preferred size) is sliced, the rest kept for the follow-up requests.
        let mut ended = None;
        if let Ok(request) = Message::decode_with(&incoming.request, &self.decode_limits) {
            let mut parts = MessageParts {
                code: response.code,
                options: core::mem::take(&mut response.options),
                payload: core::mem::take(&mut response.payload),
            };
            if let Some(block1) = incoming.block1 {
                parts
                    .options
                    .set_uint(OptionNumber::BLOCK1, block1.to_uint());
            }
            // An observation the application forgot before answering (a resource that is
            // not observable) is answered as a plain GET, without Observe (RFC 7641 §4.1).
            let observe = incoming
                .observe
                .filter(|&(handle, _)| self.observers.key(handle).is_some());
            if let Some((handle, sequence)) = observe {
                if parts.code.class() == 2 {
                    // RFC 7641 §4.1: the registration's response carries the Observe value.
                    parts.options.set_uint(OptionNumber::OBSERVE, sequence);
                } else {
                    parts.options.remove(OptionNumber::OBSERVE);
                    if self.observers.on_response(handle, parts.code).is_some() {
                        ended = Some(handle);
                    }
                }
            }
            // RFC 8323 §5.3.1: over a connection the peer's Max-Message-Size decides whether
            // (and in which block size) the body is sliced, as if the request had asked for
            // it with Block2 (RFC 7959 §2.4 early negotiation).
            let sized = self.connections.get(&incoming.peer).and_then(|c| {
                let max = c.max_send_size();
                let too_big = match self.config.block2.max_unsliced {
                    // An intermediary's body goes whole whenever the whole message fits:
                    // header (at most 6 bytes over TCP, RFC 8323 §3.2), token, options,
                    // payload marker.
                    Some(_) => {
                        let size = 6
                            + request.token().len()
                            + parts.options.encoded_len()
                            + 1
                            + parts.payload.len();
                        size > max
                    }
                    // Room for the header, options and the protection layer's overhead.
                    None => parts.payload.len() + 128 > max,
                };
                let asked = request.option(OptionNumber::BLOCK2).is_some();
                (too_big && !asked).then(|| {
                    let szx = fitting_szx(Szx::S1024, max);
                    let mut owned = request.to_owned();
                    if let Ok(block) = BlockValue::new(0, false, szx) {
                        owned
                            .options
                            .set_uint(OptionNumber::BLOCK2, block.to_uint());
                    }
                    owned.to_vec().unwrap_or_default()
                })
            });
            let sized = sized
                .as_deref()
                .and_then(|raw| Message::decode_with(raw, &self.decode_limits).ok());
            let request = sized.unwrap_or(request);
            let cache_key = (incoming.peer.clone(), incoming.identity.clone());
            let parts = match self.block2.respond(&cache_key, &request, parts, now) {
                Ok(sliced) => {
                    if let CacheOutcome::Refused(_) = sliced.cache {
                        self.stats.block2_not_cached += 1;
                    }
                    sliced.response
                }
                // The request's Block2 option asks for a block past the end (4.02) or is
                // malformed: that error is the answer.
                Err(rejected) => rejected.response,
            };
            response.code = parts.code;
            response.options = parts.options;
            response.payload = parts.payload;
        }
        if let Some(handle) = ended {
            let peer = incoming.peer.clone();
            self.observation_ended(handle, &peer, ObservationEndReason::ErrorResponse);
        }
        let Some(incoming) = self.incoming.get_mut(&id) else {
            return Err(EndpointError::UnknownIncoming { id });
        };
        // Cloned, not taken: the record goes once the response is out; if encoding fails
        // below (`MessageTooLarge`), the binding stays, so that the application's next answer
        // to this request is protected too (RFC 8613 §8.3), never sent in plaintext.
        let binding = incoming.binding.clone();
        let observation = incoming
            .observe
            .map(|(handle, _)| handle)
            .filter(|&handle| self.observers.key(handle).is_some());
        let identity = incoming.identity.clone();
        if let Some(binding) = binding {
            if let Some(handle) = observation {
                // Notifications are protected with the registration's binding (RFC 8613
                // §8.3, with their own Partial IV).
                if let Some(record) = self.observe_requests.get_mut(&handle) {
                    record.binding = Some(binding.clone());
                    if identity.is_some() {
                        record.identity = identity;
                    }
                }
            }
            response = self.protect_reply(&binding, response, false);
        }
        let Some(incoming) = self.incoming.get(&id) else {
            return Err(EndpointError::UnknownIncoming { id });
        };
        response.token.clone_from(&incoming.token);
        let piggyback = incoming.confirmable && incoming.ack_at.is_some();
        let (peer, request_mid, confirmable) = (
            incoming.peer.clone(),
            incoming.message_id,
            incoming.confirmable,
        );
        if piggyback {
            response.mtype = MessageType::Ack;
            response.message_id = request_mid;
            let bytes = self.encode(&response)?;
            self.incoming.remove(&id);
            self.reply_and_cache(&peer, request_mid, bytes);
        } else if confirmable {
            response.mtype = MessageType::Con;
            response.message_id = self.message_ids.allocate();
            let bytes = self.encode(&response)?;
            self.incoming.remove(&id);
            let retransmission =
                Retransmission::start_with(&self.config.transmission, now, &mut self.rng);
            self.separate.insert(
                id,
                Separate {
                    id,
                    peer: peer.clone(),
                    message_id: response.message_id,
                    bytes: bytes.clone(),
                    retransmission,
                },
            );
            self.transmit(peer, bytes);
        } else {
            response.mtype = MessageType::Non;
            response.message_id = self.message_ids.allocate();
            let bytes = self.encode(&response)?;
            self.incoming.remove(&id);
            self.transmit(peer, bytes);
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // CoAP over TCP connections (RFC 8323).

    /// Starts a CoAP over TCP session with `peer` once the transport connection is up (our CSM
    /// is queued, RFC 8323 §3.3). From now on requests, responses and notifications to `peer`
    /// go over the connection: [`Endpoint::poll_transmit`] yields them as
    /// [`TransmitKind::Stream`] bytes. A connection's `P` must differ from the `P` of any UDP
    /// peer (e.g. carry the transport in it): every message to this `P` becomes a frame.
    ///
    /// # Errors
    /// [`EndpointError::TooManyConnections`], [`EndpointError::ConnectionExists`],
    /// [`EndpointError::Session`] for an invalid [`EndpointConfig::session`].
    pub fn open_connection(
        &mut self,
        now: Duration,
        peer: P,
        role: ConnectionRole,
    ) -> Result<(), EndpointError> {
        self.now = now;
        if cfg!(not(feature = "tcp")) {
            // Without the `tcp` feature the endpoint holds no connections.
            return Err(EndpointError::TooManyConnections { capacity: 0 });
        }
        if self.connections.contains_key(&peer) {
            return Err(EndpointError::ConnectionExists);
        }
        let capacity = self.config.limits.max_connections;
        if self.connections.len() >= capacity {
            return Err(EndpointError::TooManyConnections { capacity });
        }
        let mut session =
            TcpSession::new(role, self.config.session.clone()).map_err(EndpointError::Session)?;
        session.open(now);
        self.connections.insert(peer, session);
        Ok(())
    }

    /// Bytes read from `peer`'s connection; returns how many were consumed. Fewer than offered
    /// means back-pressure (the session's event or write queue is full): drain
    /// [`Endpoint::poll_transmit`] and [`Endpoint::poll_event`], then offer the rest again.
    /// Bytes for a peer without a connection are ignored (all consumed).
    pub fn handle_stream(&mut self, now: Duration, peer: P, bytes: &[u8]) -> usize {
        self.now = now;
        if !self.connections.contains_key(&peer) {
            return bytes.len();
        }
        let mut used = 0;
        while let Some(session) = self.connections.get_mut(&peer) {
            let rest = bytes.get(used..).unwrap_or(&[]);
            let n = session.handle_bytes(now, rest);
            used += n;
            let progressed = self.drain_session(now, &peer);
            if used >= bytes.len() || (n == 0 && !progressed) {
                break;
            }
        }
        self.drain_queue(now);
        used
    }

    /// `peer` closed its transport connection (or it failed): the session ends, with
    /// [`Event::ConnectionClosed`].
    pub fn connection_closed(&mut self, now: Duration, peer: P) {
        self.now = now;
        if let Some(session) = self.connections.get_mut(&peer) {
            session.handle_close(now);
        }
        self.drain_session(now, &peer);
        self.connections.remove(&peer);
    }

    /// Processes the session's events; returns whether there were any.
    fn drain_session(&mut self, now: Duration, peer: &P) -> bool {
        let mut any = false;
        while let Some(event) = self
            .connections
            .get_mut(peer)
            .and_then(TcpSession::poll_event)
        {
            any = true;
            match event {
                SessionEvent::Message(frame) => self.on_frame(now, peer, frame),
                SessionEvent::PeerSettings(settings) => self.event(Event::PeerSettings {
                    peer: peer.clone(),
                    settings,
                }),
                SessionEvent::Closed { reason, .. } => self.on_connection_closed(now, peer, reason),
                _ => {}
            }
        }
        any
    }

    /// A request or response frame (RFC 8323 §3.2): no deduplication, no ACK; matched on
    /// the token like any other.
    fn on_frame(&mut self, now: Duration, peer: &P, frame: OwnedFrame) {
        let message = OwnedMessage {
            mtype: MessageType::Non,
            code: frame.code,
            message_id: 0,
            token: frame.token,
            options: frame.options,
            payload: frame.payload,
        };
        let Ok(raw) = message.to_vec() else {
            return;
        };
        let Ok(message) = Message::decode_with(&raw, &self.decode_limits) else {
            return;
        };
        if message.code().is_request() {
            self.on_protected_request(now, peer, &message, ReplyPath::Reliable);
            self.replying = None;
        } else if message.code().is_response() {
            self.on_separate_response(now, peer, Inbound::udp(&message, ReplyPath::Reliable));
        }
    }

    fn on_connection_closed(&mut self, now: Duration, peer: &P, reason: CloseReason) {
        // RFC 8323 §3.4, §7.4: the connection's requests and observations end with it.
        let requests: Vec<RequestId> = self
            .outgoing
            .iter()
            .filter(|(_, o)| &o.peer == peer)
            .map(|(id, _)| *id)
            .collect();
        for id in requests {
            if let Some(id) = self.fail(now, id) {
                self.event(Event::TimedOut { id });
            }
        }
        for (handle, ()) in self.observers.remove_peer(peer) {
            self.observation_ended(handle, peer, ObservationEndReason::ConnectionClosed);
        }
        let observing: Vec<ObservationHandle> = self
            .observing
            .iter()
            .filter(|(_, (_, p))| p == peer)
            .map(|(h, _)| *h)
            .collect();
        for handle in observing {
            self.observations.forget(handle);
            if let Some((id, _)) = self.observing.remove(&handle) {
                self.event(Event::TimedOut { id });
            }
        }
        self.incoming.retain(|_, i| &i.peer != peer);
        self.event(Event::ConnectionClosed {
            peer: peer.clone(),
            reason,
        });
    }

    // -----------------------------------------------------------------------------------------
    // Observe, server role (RFC 7641 §4).

    /// Sends a notification to the observer `handle` (RFC 7641 §4.2): the endpoint sets the
    /// token of the registration, the next Observe value (§4.4), the type (NON, or CON at
    /// least every [`RegistryConfig::confirmable_interval`] and when `options.confirmable`;
    /// a new CON supersedes an unacknowledged one, §4.5.2) and a Message ID. A body larger
    /// than a block goes out as its first Block2 block, the rest kept for the client's
    /// follow-up requests (RFC 7959 §3.4, simplified: no Block2 in later blocks' Observe).
    /// A non-2.xx `response` ends the observation ([`Event::ObservationEnded`]). Once the
    /// endpoint is done with a notification, [`Event::NotificationDone`] says how; to lose
    /// none (a history rather than the current state), hand over the next one only when
    /// [`Endpoint::notification_pending`] is `false`.
    ///
    /// # Errors
    /// [`EndpointError::UnknownObservation`] when the observation is over,
    /// [`EndpointError::NotAResponse`], [`EndpointError::MessageTooLarge`],
    /// [`EndpointError::Encode`].
    // An entry point an application calls from several places: out of line, one copy in flash.
    #[inline(never)]
    pub fn notify(
        &mut self,
        now: Duration,
        handle: ObserverHandle,
        response: OwnedMessage,
        confirmable: bool,
    ) -> Result<(), EndpointError> {
        if !response.code.is_response() {
            return Err(EndpointError::NotAResponse {
                code: response.code,
            });
        }
        let options = NotifyOptions {
            code: response.code,
            confirmable,
        };
        let Some(plan) = self.observers.notify_observer(handle, now, options) else {
            if self.observers.is_deferred(handle) {
                // RFC 7641 §4.5.1: too soon after the last one to this peer; the newest
                // state goes out when the interval has passed.
                self.defer_notification(handle, response);
                return Ok(());
            }
            return Err(EndpointError::UnknownObservation { handle });
        };
        self.drop_deferred(handle);
        self.send_notification(now, plan, response)
    }

    /// Sends a notification to every observer of `key` (exactly this path, query and Accept;
    /// RFC 7641 §4.2) as [`Endpoint::notify`] does; returns how many were sent.
    ///
    /// # Errors
    /// [`EndpointError::NotAResponse`]; an observer whose notification cannot be encoded is
    /// skipped (the first such error is returned after all others were sent).
    pub fn notify_resource(
        &mut self,
        now: Duration,
        key: &ResourceKey,
        response: &OwnedMessage,
    ) -> Result<usize, EndpointError> {
        if !response.code.is_response() {
            return Err(EndpointError::NotAResponse {
                code: response.code,
            });
        }
        let options = NotifyOptions {
            code: response.code,
            confirmable: false,
        };
        let plans: Vec<_> = self.observers.notify_with(key, now, options).collect();
        // Observers of `key` held back by the per-peer rate (RFC 7641 §4.5.1) keep the
        // newest state for later.
        let deferred: Vec<ObserverHandle> = self
            .observers
            .handles()
            .filter(|h| self.observers.is_deferred(*h) && self.observers.key(*h) == Some(key))
            .collect();
        for handle in deferred {
            self.defer_notification(handle, response.clone());
        }
        let mut sent = 0;
        let mut first_error = None;
        for plan in plans {
            self.drop_deferred(plan.handle);
            match self.send_notification(now, plan, response.clone()) {
                Ok(()) => sent += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(sent), Err)
    }

    /// Whether a notification of the observer `handle` is still in the endpoint's hands: a
    /// Confirmable one awaiting its Acknowledgement (retransmissions included), or one held
    /// back by [`RegistryConfig::non_interval`]. A notification handed over while this is
    /// `true` may replace the pending one (RFC 7641 §4.5.2: right for the current state,
    /// wrong for a history); [`Event::NotificationDone`] tells when it turns `false`.
    #[must_use]
    pub fn notification_pending(&self, handle: ObserverHandle) -> bool {
        self.notifications.contains_key(&handle)
            || (self
                .observe_requests
                .get(&handle)
                .is_some_and(|r| r.deferred.is_some())
                && self.observers.is_deferred(handle))
    }

    /// A notification held back for `handle` is superseded by one going out now.
    fn drop_deferred(&mut self, handle: ObserverHandle) {
        if self.take_deferred(handle).is_some() {
            self.notification_done(handle, NotificationOutcome::Replaced);
        }
    }

    /// Takes the notification held back for `handle`.
    fn take_deferred(&mut self, handle: ObserverHandle) -> Option<OwnedMessage> {
        self.observe_requests.get_mut(&handle)?.deferred.take()
    }

    /// Drops the held-back notifications of observers no longer deferred (ended, or sent).
    fn drop_stale_deferred(&mut self) {
        let observers = &self.observers;
        for (handle, record) in self.observe_requests.iter_mut() {
            if !observers.is_deferred(*handle) {
                record.deferred = None;
            }
        }
    }

    fn notification_done(&mut self, handle: ObserverHandle, outcome: NotificationOutcome) {
        if let Some(peer) = self
            .observers
            .peer_and_token(handle)
            .map(|(p, _)| p.clone())
        {
            self.event(Event::NotificationDone {
                handle,
                peer,
                outcome,
            });
        }
    }

    /// Ends the observation `handle` from the server side (e.g. the resource is gone and the
    /// application sends no final 4.04). Returns whether it existed.
    pub fn forget_observer(&mut self, handle: ObserverHandle) -> bool {
        self.notifications.remove(&handle);
        self.observe_requests.remove(&handle);
        self.observers.remove(handle).is_some()
    }

    /// Keeps `response` as the newest deferred notification of `handle`; entries of
    /// observers no longer deferred (ended, or sent) are dropped, so the map stays within the
    /// registry's bound.
    fn defer_notification(&mut self, handle: ObserverHandle, response: OwnedMessage) {
        self.stats.deferred_notifications += 1;
        self.drop_stale_deferred();
        // The observer's record exists as long as the observer does.
        let replaced = self
            .observe_requests
            .get_mut(&handle)
            .is_some_and(|r| r.deferred.replace(response).is_some());
        if replaced {
            // RFC 7641 §4.5.2: only the newest state waits.
            self.notification_done(handle, NotificationOutcome::Replaced);
        }
    }

    fn send_notification(
        &mut self,
        now: Duration,
        plan: NotificationPlan<P>,
        response: OwnedMessage,
    ) -> Result<(), EndpointError> {
        let mut parts = MessageParts {
            code: response.code,
            options: response.options,
            payload: response.payload,
        };
        parts.options.remove(OptionNumber::OBSERVE);
        if let Some(sequence) = plan.sequence {
            parts.options.set_uint(OptionNumber::OBSERVE, sequence);
        }
        // RFC 7959 §3.4: a large notification carries its first block; the client fetches the
        // rest with plain GETs, served from the Block2 cache.
        let record = self.observe_requests.get(&plan.handle);
        if let Some(record) = record {
            if let Ok(request) = Message::decode_with(&record.request, &self.decode_limits) {
                let mut request = request.to_owned();
                request.options.remove(OptionNumber::BLOCK2);
                if let Ok(raw) = request.to_vec() {
                    if let Ok(request) = Message::decode_with(&raw, &self.decode_limits) {
                        let cache_key = (plan.peer.clone(), record.identity.clone());
                        if let Ok(sliced) =
                            self.block2
                                .respond(&cache_key, &request, parts.clone(), now)
                        {
                            if let CacheOutcome::Refused(_) = sliced.cache {
                                self.stats.block2_not_cached += 1;
                            }
                            parts = sliced.response;
                        }
                    }
                }
            }
        }
        let mtype = match plan.delivery {
            Delivery::Confirmable { .. } => MessageType::Con,
            _ => MessageType::Non,
        };
        let message_id = self.message_ids.allocate();
        let mut message = parts.into_message(mtype, message_id, &plan.token);
        let binding = record.and_then(|r| r.binding.clone());
        if let Some(binding) = binding {
            message = self.protect_reply(&binding, message, true);
        }
        let bytes = self.encode(&message);
        if plan.ended {
            self.observe_requests.remove(&plan.handle);
            if self.notifications.remove(&plan.handle).is_some() {
                self.event(Event::NotificationDone {
                    handle: plan.handle,
                    peer: plan.peer.clone(),
                    outcome: NotificationOutcome::Failed,
                });
            }
            self.event(Event::ObservationEnded {
                handle: plan.handle,
                peer: plan.peer.clone(),
                reason: ObservationEndReason::ErrorResponse,
            });
        }
        let bytes = bytes?;
        if !plan.ended {
            self.observers.on_sent(plan.handle, message_id);
        }
        if !plan.ended {
            match plan.delivery {
                Delivery::Confirmable {
                    supersedes: Some(_),
                } => self.notification_done(plan.handle, NotificationOutcome::Replaced),
                Delivery::Confirmable { supersedes: None } => {}
                _ => self.notification_done(plan.handle, NotificationOutcome::Sent),
            }
        }
        if let Delivery::Confirmable { supersedes } = plan.delivery {
            self.stats.confirmable_notifications += 1;
            // RFC 7641 §4.5.2: the new CON replaces the outstanding one and takes over its
            // retransmission counter and timeout.
            let retransmission = supersedes
                .and_then(|_| self.notifications.get(&plan.handle))
                .map(|old| old.retransmission)
                .unwrap_or_else(|| {
                    Retransmission::start_with(&self.config.transmission, now, &mut self.rng)
                });
            if !plan.ended {
                self.notifications.insert(
                    plan.handle,
                    PendingNotification {
                        peer: plan.peer.clone(),
                        message_id,
                        bytes: bytes.clone(),
                        retransmission,
                    },
                );
            }
        }
        self.transmit(plan.peer, bytes);
        Ok(())
    }

    fn observation_ended(
        &mut self,
        handle: ObserverHandle,
        peer: &P,
        reason: ObservationEndReason,
    ) {
        let held =
            self.notifications.remove(&handle).is_some() | self.take_deferred(handle).is_some();
        if held {
            // The registry no longer knows the peer: the event is built here.
            self.event(Event::NotificationDone {
                handle,
                peer: peer.clone(),
                outcome: NotificationOutcome::Failed,
            });
        }
        self.observe_requests.remove(&handle);
        match reason {
            ObservationEndReason::TimedOut => self.stats.observations_timed_out += 1,
            ObservationEndReason::Reset => self.stats.observations_reset += 1,
            _ => {}
        }
        self.event(Event::ObservationEnded {
            handle,
            peer: peer.clone(),
            reason,
        });
    }

    /// An ACK or RST that matched no request or separate response: a notification's?
    /// (RFC 7641 §3.6, §4.5). Returns whether it was one.
    fn on_notification_reply(&mut self, peer: &P, message_id: u16, reset: bool) -> bool {
        if reset {
            if let Some((handle, ())) = self.observers.on_reset(peer, message_id) {
                self.observation_ended(handle, peer, ObservationEndReason::Reset);
                return true;
            }
            return false;
        }
        match self.observers.on_ack(peer, message_id) {
            Some(handle) => {
                if self
                    .notifications
                    .get(&handle)
                    .is_some_and(|n| n.message_id == message_id)
                {
                    self.notifications.remove(&handle);
                    self.notification_done(handle, NotificationOutcome::Acknowledged);
                }
                true
            }
            None => false,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Timers.

    /// Runs the timers due at `now`: retransmissions, give-ups, empty ACKs for slow responses,
    /// state expiry, and requests NSTART or PROBING_RATE held back.
    // An entry point an application calls from several places: out of line, one copy in flash.
    #[inline(never)]
    pub fn handle_timeout(&mut self, now: Duration) {
        // Notifications held back by the per-peer rate (RFC 7641 §4.5.1), newest state.
        let due: Vec<_> = self.observers.poll_deferred(now).collect();
        for plan in due {
            if let Some(response) = self.take_deferred(plan.handle) {
                let _ = self.send_notification(now, plan, response);
            }
        }
        self.drop_stale_deferred();
        // Client requests (RFC 7252 §4.2).
        let ids: Vec<RequestId> = self.outgoing.keys().copied().collect();
        for id in ids {
            let Some(o) = self.outgoing.get_mut(&id) else {
                continue;
            };
            let mut gave_up = now >= o.expires;
            let mut resend = None;
            if let Some(rt) = o.retransmission.as_mut() {
                if now >= rt.deadline() {
                    match rt.on_timeout(now) {
                        Timeout::Retransmit { .. } => resend = Some(o.bytes.clone()),
                        Timeout::Wait(_) => {}
                        Timeout::GaveUp => gave_up = true,
                    }
                }
            }
            let peer = o.peer.clone();
            if gave_up {
                if let Some(id) = self.fail(now, id) {
                    self.event(Event::TimedOut { id });
                }
            } else if let Some(bytes) = resend {
                self.transmit(peer, bytes);
            }
        }
        // Incoming requests: the empty ACK when the application is slow (§5.2.2), expiry.
        let ids: Vec<IncomingId> = self.incoming.keys().copied().collect();
        for id in ids {
            let Some(i) = self.incoming.get_mut(&id) else {
                continue;
            };
            if now >= i.expires {
                let registration = i.observe.map(|(handle, _)| handle);
                self.incoming.remove(&id);
                self.stats.abandoned_incoming += 1;
                if let Some(handle) = registration {
                    // RFC 7641 §4.1: a registration never answered is no observation.
                    self.forget_observer(handle);
                }
                continue;
            }
            if i.ack_at.is_some_and(|at| now >= at) {
                i.ack_at = None;
                let (peer, mid) = (i.peer.clone(), i.message_id);
                self.reply_and_cache(&peer, mid, empty(EMPTY_ACK, mid));
            }
        }
        // Separate responses (§4.2).
        let ids: Vec<IncomingId> = self.separate.keys().copied().collect();
        for id in ids {
            let Some(s) = self.separate.get_mut(&id) else {
                continue;
            };
            if now < s.retransmission.deadline() {
                continue;
            }
            match s.retransmission.on_timeout(now) {
                Timeout::Retransmit { .. } => {
                    let (peer, bytes) = (s.peer.clone(), s.bytes.clone());
                    self.transmit(peer, bytes);
                }
                Timeout::Wait(_) => {}
                Timeout::GaveUp => {
                    let peer = s.peer.clone();
                    let id = s.id;
                    self.separate.remove(&id);
                    self.event(Event::SeparateResponseFailed {
                        id,
                        peer,
                        reset: false,
                    });
                }
            }
        }
        // RFC 8323 §5.4: session timers (CSM, keep-alive Ping, Pong, release); a closed
        // session is removed once its last bytes were handed out.
        let peers: Vec<P> = self.connections.keys().cloned().collect();
        for peer in peers {
            if let Some(session) = self.connections.get_mut(&peer) {
                if session.poll_timeout().is_some_and(|t| t <= now) {
                    session.handle_timeout(now);
                }
            }
            self.drain_session(now, &peer);
            if self
                .connections
                .get(&peer)
                .is_some_and(|c| c.is_closed() && c.transmit_queue().is_empty())
            {
                self.connections.remove(&peer);
            }
        }
        // RFC 7641 §3.3.1: re-register observations whose representation went stale.
        let stale = if cfg!(feature = "observe-client") {
            self.observations.handle_timeout(now)
        } else {
            Vec::new()
        };
        for handle in stale {
            let pending = self
                .outgoing
                .values()
                .map(|o| o.observe)
                .chain(self.queue.iter().map(|q| q.observe))
                .any(|u| u == ObserveUse::Reregister(handle));
            let Some((_, peer)) = self.observing.get(&handle).cloned() else {
                continue;
            };
            if pending {
                continue;
            }
            if let Some(request) =
                self.observations
                    .reregistration_request(handle, MessageType::Con, 0)
            {
                let options =
                    RequestOptions::new(Reliability::Confirmable, self.config.client_blockwise);
                // Re-registered under the same security context.
                self.protecting = self
                    .observing_protection
                    .get(&handle)
                    .map(|(identity, _)| identity.clone());
                // A full table only delays the re-registration to the next retry.
                let _ = self.request_inner(
                    now,
                    peer,
                    request,
                    options,
                    ObserveUse::Reregister(handle),
                    true,
                );
                self.protecting = None;
            }
        }
        // Confirmable notifications (RFC 7641 §4.5): retransmitted, or the observer removed.
        let handles: Vec<ObserverHandle> = self.notifications.keys().copied().collect();
        for handle in handles {
            let Some(n) = self.notifications.get_mut(&handle) else {
                continue;
            };
            if now < n.retransmission.deadline() {
                continue;
            }
            match n.retransmission.on_timeout(now) {
                Timeout::Retransmit { .. } => {
                    let (peer, bytes) = (n.peer.clone(), n.bytes.clone());
                    self.transmit(peer, bytes);
                }
                Timeout::Wait(_) => {}
                Timeout::GaveUp => {
                    let (peer, mid) = (n.peer.clone(), n.message_id);
                    if self.observers.on_timeout(&peer, mid).is_some() {
                        // `observation_ended` reports the notification as failed.
                        self.observation_ended(handle, &peer, ObservationEndReason::TimedOut);
                    }
                    self.notifications.remove(&handle);
                }
            }
        }
        if let (true, Some(policy)) = (cfg!(feature = "echo-server"), self.config.echo) {
            self.echo.retain(|c| c.issued + policy.window > now);
        }
        self.block1.handle_timeout(now);
        self.block2.handle_timeout(now);
        // Protection state follows the tables it belongs to (the bindings of incoming
        // requests and observers live in their records).
        if cfg!(feature = "observe-client") {
            // Only client observations have entries here.
            let observing = &self.observing;
            self.observing_protection
                .retain(|h, _| observing.contains_key(h));
        }
        self.collect_idle_peers(now);
        self.drain_queue(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint<u8, impl FnMut() -> u32> {
        let mut x = 1u32;
        Endpoint::new(EndpointConfig::default(), move || {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x
        })
        .unwrap()
    }

    #[test]
    fn ping_is_answered_with_reset() {
        let mut e = endpoint();
        e.handle(Duration::ZERO, 1, &[0x40, 0, 0x12, 0x34]);
        let t = e.poll_transmit().unwrap();
        assert_eq!(t.datagram, [0x70, 0, 0x12, 0x34]);
        assert_eq!(e.stats().peers, 0);
    }

    #[test]
    fn connections_open_only_with_the_tcp_feature() {
        let mut e = endpoint();
        let opened = e.open_connection(Duration::ZERO, 9, ConnectionRole::Initiator);
        if cfg!(feature = "tcp") {
            assert_eq!(opened, Ok(()));
            assert_eq!(e.stats().connections, 1);
        } else {
            assert_eq!(
                opened,
                Err(EndpointError::TooManyConnections { capacity: 0 })
            );
            assert_eq!(e.stats().connections, 0);
            // Stream bytes for a peer without a connection are consumed and ignored.
            assert_eq!(e.handle_stream(Duration::ZERO, 9, &[0x00, 0xE1]), 2);
            assert!(e.poll_transmit().is_none());
        }
    }

    #[test]
    fn block1_uploads_only_with_the_block1_server_feature() {
        let mut e = endpoint();
        // CON PUT /x, token 0x01, Block1 NUM 0 M 1 SZX 0 (RFC 7959 §2.2), 16 payload bytes.
        let mut request = alloc::vec![0x41, 0x03, 0x12, 0x34, 0x01, 0xB1, b'x', 0xD1, 0x03, 0x08];
        request.push(0xFF);
        request.extend_from_slice(&[0xAB; 16]);
        e.handle(Duration::ZERO, 1, &request);
        let reply = e.poll_transmit().unwrap();
        // The piggybacked answer: 2.31 Continue (§2.3) or 4.02 Bad Option (RFC 7252 §5.4.1).
        let expected_code = if cfg!(feature = "block1-server") {
            0x5F
        } else {
            0x82
        };
        assert_eq!(
            reply.datagram.get(..4),
            Some(&[0x61, expected_code, 0x12, 0x34][..])
        );
        assert!(e.poll_event().is_none());
    }

    #[test]
    fn observations_start_only_with_the_observe_client_feature() {
        let mut e = endpoint();
        let register = OwnedMessage::new(MessageType::Con, Code::GET, 0)
            .with_option(OptionNumber::URI_PATH, b"t")
            .with_uint_option(OptionNumber::OBSERVE, 0);
        let sent = e.request(Duration::ZERO, 1, register, Reliability::Confirmable);
        if cfg!(feature = "observe-client") {
            assert!(sent.is_ok());
            assert!(e.poll_transmit().is_some());
        } else {
            assert_eq!(
                sent,
                Err(EndpointError::Observation(
                    ObservationError::TooManyObservations { limit: 0 }
                ))
            );
            assert!(e.poll_transmit().is_none());
        }
    }

    #[test]
    fn echo_policy_only_with_the_echo_server_feature() {
        let cfg = EndpointConfig {
            echo: Some(EchoPolicy {
                window: Duration::from_secs(10),
                require: EchoRequirement::AllRequests,
            }),
            ..EndpointConfig::default()
        };
        let made = Endpoint::<u8, _>::new(cfg, || 7);
        if cfg!(feature = "echo-server") {
            let mut e = made.unwrap();
            // CON GET /x, token 0x01, no Echo: RFC 9175 §2.3 answers 4.01 with an Echo value.
            e.handle(
                Duration::ZERO,
                1,
                &[0x41, 0x01, 0x12, 0x34, 0x01, 0xB1, b'x'],
            );
            let reply = e.poll_transmit().unwrap();
            assert_eq!(
                reply.datagram.get(..5),
                Some(&[0x61, 0x81, 0x12, 0x34, 0x01][..])
            );
        } else {
            assert_eq!(
                made.err(),
                Some(EndpointError::InvalidConfig {
                    reason: "an Echo policy needs the echo-server feature"
                })
            );
        }
    }

    #[test]
    fn block2_representations_kept_only_with_the_block2_cache_feature() {
        let mut e = endpoint();
        let now = Duration::ZERO;
        // CON GET /x, token 0x01; the answer (2000 bytes) is sliced in 1024-byte blocks.
        e.handle(now, 1, &[0x41, 0x01, 0x12, 0x34, 0x01, 0xB1, b'x']);
        let Some(Event::Request { id, .. }) = e.poll_event() else {
            panic!("no request");
        };
        let body = alloc::vec![0x5a; 2000];
        let content = OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0).with_payload(body);
        e.respond(now, id, content.clone()).unwrap();
        let first = e.poll_transmit().unwrap();
        assert!(first.datagram.len() > 1024);
        let cached = cfg!(feature = "block2-cache");
        assert_eq!(e.stats().block2_entries, usize::from(cached));
        assert_eq!(e.stats().block2_not_cached, u64::from(!cached));
        // The follow-up: CON GET /x, token 0x02, Block2 NUM 1 SZX 6 (RFC 7959 §2.2).
        e.handle(
            now,
            1,
            &[0x41, 0x01, 0x12, 0x35, 0x02, 0xB1, b'x', 0xC1, 0x16],
        );
        if cached {
            // Served from the kept representation; the application is not involved.
            assert!(e.poll_event().is_none());
        } else {
            let Some(Event::Request { id, .. }) = e.poll_event() else {
                panic!("the follow-up goes to the application");
            };
            e.respond(now, id, content).unwrap();
        }
        let second = e.poll_transmit().unwrap();
        // The last 976 bytes, Block2 NUM 1 M 0 SZX 6.
        let second = Message::decode(&second.datagram).unwrap();
        assert_eq!(second.payload(), &[0x5a; 976][..]);
        let block2 = second.option(OptionNumber::BLOCK2).map(|o| o.value);
        assert_eq!(block2, Some(&[0x16][..]));
    }

    #[test]
    fn block2_responses_followed_only_with_the_block2_client_feature() {
        let mut e = endpoint();
        let now = Duration::ZERO;
        let get = OwnedMessage::new(MessageType::Con, Code::GET, 0)
            .with_option(OptionNumber::URI_PATH, b"x");
        let id = e.request(now, 1, get, Reliability::Confirmable).unwrap();
        let sent = e.poll_transmit().unwrap();
        let sent = Message::decode(&sent.datagram).unwrap();
        // The piggybacked 2.05 carries block 0 of a larger body: Block2 NUM 0 M 1 SZX 0
        // (RFC 7959 §2.2), 16 payload bytes.
        let [hi, lo] = sent.message_id().to_be_bytes();
        let mut ack = alloc::vec![0x64, 0x45, hi, lo];
        ack.extend_from_slice(sent.token());
        ack.extend_from_slice(&[0xD1, 0x0A, 0x08, 0xFF]);
        ack.extend_from_slice(&[0x5a; 16]);
        e.handle(now, 1, &ack);
        if cfg!(feature = "block2-client") {
            // The request for block 1 goes out; the application hears nothing yet.
            let next = e.poll_transmit().unwrap();
            let next = Message::decode(&next.datagram).unwrap();
            let block2 = next.option(OptionNumber::BLOCK2).map(|o| o.value);
            assert_eq!(block2, Some(&[0x10][..]));
            assert!(e.poll_event().is_none());
        } else {
            assert!(e.poll_transmit().is_none());
            assert_eq!(
                e.poll_event(),
                Some(Event::BlockwiseFailed {
                    id,
                    peer: 1,
                    error: BlockwiseError::DownloadUnsupported,
                })
            );
        }
    }

    #[test]
    fn bodies_sliced_only_with_the_block1_client_feature() {
        let mut e = endpoint();
        // 1100 bytes: more than one 1024-byte block, less than a 1152-byte datagram.
        let post = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, b"x")
            .with_payload(alloc::vec![0x5a; 1100]);
        e.request(Duration::ZERO, 1, post, Reliability::Confirmable)
            .unwrap();
        let sent = e.poll_transmit().unwrap();
        let sent = Message::decode(&sent.datagram).unwrap();
        let block1 = sent.option(OptionNumber::BLOCK1).map(|o| o.value);
        if cfg!(feature = "block1-client") {
            // Block 0 of 1024 bytes, M = 1, SZX 6 (RFC 7959 §2.2).
            assert_eq!(block1, Some(&[0x0E][..]));
            assert_eq!(sent.payload().len(), 1024);
        } else {
            assert_eq!(block1, None);
            assert_eq!(sent.payload().len(), 1100);
        }
        // Too large for one datagram: sliced with the feature, refused without it.
        let big = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_payload(alloc::vec![0x5a; 1200]);
        let sent = e.request(Duration::ZERO, 2, big, Reliability::Confirmable);
        if cfg!(feature = "block1-client") {
            assert!(sent.is_ok());
        } else {
            assert!(matches!(
                sent,
                Err(EndpointError::MessageTooLarge { max: 1152, .. })
            ));
        }
    }

    #[test]
    fn diagnostics_are_the_display_texts() {
        use alloc::string::ToString;
        let uri_path = OptionNumber::URI_PATH;
        let unnamed = OptionNumber::from(2049);
        let errors = [
            OptionError::UnrecognizedCritical { number: unnamed },
            OptionError::UnrecognizedCritical { number: uri_path },
            OptionError::LengthOutOfBounds {
                number: uri_path,
                len: 300,
                min: 0,
                max: 255,
            },
            OptionError::NotRepeatable { number: unnamed },
            OptionError::UintTooLong {
                number: OptionNumber::MAX_AGE,
                len: 5,
            },
            OptionError::InvalidUtf8 { number: uri_path },
        ];
        for e in errors {
            assert_eq!(option_diagnostic(&e), e.to_string().into_bytes());
        }
        let bad_key = ObservationError::Option(OptionError::InvalidUtf8 { number: uri_path });
        assert_eq!(
            observation_diagnostic(&bad_key),
            bad_key.to_string().into_bytes()
        );
        let bad_observe =
            ObservationError::Observe(crate::observe::ObserveError::ValueTooLong { len: 4 });
        assert_eq!(
            observation_diagnostic(&bad_observe),
            bad_observe.to_string().into_bytes()
        );
    }

    #[test]
    fn a_peer_with_a_request_awaiting_its_response_is_not_forgotten() {
        let config = EndpointConfig {
            limits: EndpointLimits {
                max_peers: 1,
                ..EndpointLimits::default()
            },
            ..EndpointConfig::default()
        };
        let mut e = Endpoint::<u8, _>::new(config, || 7).unwrap();
        // NON GET /x from peer 1, not answered yet.
        e.handle(
            Duration::ZERO,
            1,
            &[0x51, 0x01, 0x12, 0x34, 0x01, 0xB1, b'x'],
        );
        assert!(matches!(
            e.poll_event(),
            Some(Event::Request { peer: 1, .. })
        ));
        // After NON_LIFETIME (145 s) its deduplication entry is gone, but the request still
        // waits for its response (until EXCHANGE_LIFETIME): peer 1 keeps the only place.
        let later = Duration::from_secs(200);
        e.handle(later, 2, &[0x51, 0x01, 0x56, 0x78, 0x02, 0xB1, b'x']);
        assert!(e.poll_event().is_none());
        assert_eq!(e.stats().peers, 1);
        assert_eq!(e.stats().dropped_peer_table_full, 1);
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let cfg = EndpointConfig {
            token_len: 0,
            ..EndpointConfig::default()
        };
        assert!(matches!(
            Endpoint::<u8, _>::new(cfg, || 0).err(),
            Some(EndpointError::InvalidConfig { .. })
        ));
    }
}
