//! The LwM2M server on a CoAP endpoint: [`Lwm2mServer`] drives the registration core
//! ([`Server`]) and the typed operations ([`Operation`]) with the events of a
//! [`mote_coap::endpoint::Endpoint`] that the caller owns beside it.
//!
//! # Call order
//! The caller owns the endpoint (and its sockets, or a simulated network) and the engine:
//! 1. feed datagrams to the endpoint ([`Endpoint::handle`]) and pass **every** endpoint
//!    event to [`Lwm2mServer::handle_event`] with the same endpoint and `now`;
//! 2. drain [`Lwm2mServer::poll_event`] ([`ServerEvent`]) and the endpoint's
//!    `poll_transmit`;
//! 3. ask for operations with [`Lwm2mServer::submit`], which returns an [`OpHandle`]; the
//!    result arrives once as [`ServerEvent::OperationResult`] with that handle, and each
//!    notification of an observation as [`ServerEvent::Notification`];
//! 4. arm a timer for the earlier of [`Lwm2mServer::poll_timeout`] and the endpoint's
//!    `poll_timeout`; when it fires call the endpoint's `handle_timeout` and then
//!    [`Lwm2mServer::handle_timeout`].
//!
//! Registrations (`POST /rd`), Updates, De-registers and Send (`POST /dp`) go to the
//! registration core with the security [`Identity`] the protection layer verified the
//! request with (mapped from the endpoint's `Protection::Identity` by the function given
//! to [`Lwm2mServer::new`]); the registration is bound to it (LwM2M TS 1.2 Transport
//! §6.4.3) and the engine sends the application's requests to the client's latest address
//! under that same protection identity.
//!
//! Exactly-once delivery: the endpoint deduplicates CoAP messages (RFC 7252 §4.5) and
//! drops notifications older than one already delivered (RFC 7641 §3.4); the engine maps
//! each endpoint request to one handle, removes it at its first final answer, and reports
//! each fresh notification once, in the order the endpoint delivers them.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use mote_coap::block::{BlockSplitter, BlockValue, Szx};
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{
    BlockwiseError, Endpoint, EndpointError, Event, Protection, Reliability, RequestId,
    RequestOptions,
};
use mote_coap::error::OptionError;
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_lwm2m::object::ObjectRegistry;
use mote_lwm2m::{Path, Record};

use crate::message::{Identity, Request};
use crate::operation::{ClientProfile, Operation, OperationError, OperationResult};
use crate::registration::{self, QueueError, Registration, RegistrationId, Server};
use crate::store::RegistrationStore;

/// Names one submitted operation until its result (and, for an observation, every
/// notification of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpHandle(u64);

impl OpHandle {
    /// The number behind the handle (unique per engine).
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for OpHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op{}", self.0)
    }
}

/// Bounds of the engine's own tables (the registration core has its own in
/// [`crate::ServerConfig`], the endpoint in its `EndpointConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Operations in progress (queued, sent, or observing) at most.
    pub max_operations: usize,
    /// Active observations at most (they count against `max_operations` too).
    pub max_observations: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_operations: 256,
            max_observations: 128,
        }
    }
}

/// Firmware packages [`Lwm2mServer::add_package`] holds at most.
pub const MAX_PACKAGES: usize = 64;

/// The first Uri-Path segment of the firmware packages the server serves (`/fw/NAME`).
pub const PACKAGE_PATH: &str = "fw";

/// Why [`Lwm2mServer::add_package`] refused a package.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The name is empty, longer than 255 bytes (one Uri-Path option, RFC 7252 §5.10.1) or
    /// holds a `/`.
    #[error("invalid package name {0:?}")]
    InvalidName(String),
    /// [`MAX_PACKAGES`] packages are held already.
    #[error("too many packages ({0} allowed)")]
    Full(usize),
}

/// A firmware package served at `/fw/NAME`.
#[derive(Clone, Debug)]
struct Package {
    bytes: Vec<u8>,
    /// RFC 7252 §5.10.6: stable for the package's bytes, so a client can tell a changed
    /// package between blocks (RFC 7959 §2.4).
    etag: [u8; 8],
}

/// An 8-byte ETag of `bytes` (FNV-1a 64; a representation tag, not a security check:
/// integrity comes from the protection layer and the package's own digest).
fn etag_of(bytes: &[u8]) -> [u8; 8] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.to_be_bytes()
}

/// Why [`Lwm2mServer::submit`] refused an operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// No client is registered with this endpoint name.
    #[error("no client registered as {endpoint}")]
    UnknownClient {
        /// The endpoint name.
        endpoint: String,
    },
    /// The operation cannot be encoded for this client.
    #[error("operation: {0}")]
    Operation(OperationError),
    /// The client's queue of held requests is full.
    #[error("queue: {0}")]
    Queue(QueueError),
    /// [`EngineConfig::max_operations`] operations are in progress.
    #[error("{max} operations already in progress")]
    TooManyOperations {
        /// The bound.
        max: usize,
    },
    /// [`EngineConfig::max_observations`] observations are active.
    #[error("{max} observations already active")]
    TooManyObservations {
        /// The bound.
        max: usize,
    },
    /// A Cancel Observation names no active observation of this client.
    #[error("no active observation of {path}")]
    NoObservation {
        /// The observed path (the root for a composite observation).
        path: Path,
    },
    /// The endpoint refused the request.
    #[error("endpoint: {0}")]
    Endpoint(EndpointError),
}

/// Why an operation failed after it was accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The client answered with an error code, or an answer that does not decode.
    #[error("{0}")]
    Operation(OperationError),
    /// No answer before the operation's deadline or the endpoint's EXCHANGE_LIFETIME
    /// (RFC 7252 §4.8.2).
    #[error("the client did not answer")]
    TimedOut,
    /// The client rejected the request with a Reset (RFC 7252 §4.2).
    #[error("the client reset the request")]
    Reset,
    /// The answer did not verify under the client's security context (RFC 8613 §8.4);
    /// `code` and `diagnostic` are the unverified answer's.
    #[error("the answer did not verify ({code})")]
    ProtectionFailed {
        /// The unverified answer's code.
        code: Code,
        /// Its diagnostic text, if any.
        diagnostic: String,
    },
    /// A block-wise transfer failed (RFC 7959).
    #[error("block-wise transfer: {0}")]
    Blockwise(BlockwiseError),
    /// The answer had an unrecognized critical option (RFC 7252 §5.4.1).
    #[error("answer rejected: {0}")]
    Rejected(OptionError),
    /// The registration ended (de-registered, expired, replaced) before the answer.
    #[error("the registration ended")]
    RegistrationGone,
    /// The client's address is not known (a registration restored from the store before
    /// the client's next message).
    #[error("the client's address is not known yet")]
    Unreachable,
    /// The endpoint refused to send the request.
    #[error("endpoint: {0}")]
    Endpoint(EndpointError),
}

/// What the engine reports to the application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A client registered (`replaced`: the registration of the same endpoint name this
    /// one replaced).
    Registered {
        /// The new registration.
        registration: Registration,
        /// The replaced one's id.
        replaced: Option<RegistrationId>,
    },
    /// A client updated its registration.
    Updated {
        /// The registration after the Update.
        registration: Registration,
        /// Whether its object list changed.
        objects_changed: bool,
    },
    /// A client de-registered.
    Deregistered {
        /// The registration id.
        id: RegistrationId,
        /// The endpoint name.
        endpoint: String,
    },
    /// A registration's lifetime ran out.
    Expired {
        /// The registration id.
        id: RegistrationId,
        /// The endpoint name.
        endpoint: String,
    },
    /// A queue-mode client is reachable.
    Awake {
        /// The endpoint name.
        endpoint: String,
    },
    /// A queue-mode client's awake window ended.
    Sleeping {
        /// The endpoint name.
        endpoint: String,
    },
    /// Data from a Send (`POST /dp`, LwM2M TS 1.2 Transport §6.4.5).
    Send {
        /// The endpoint name.
        endpoint: String,
        /// The records, with their timestamps.
        records: Vec<Record>,
    },
    /// A notification of the observation started by `handle`.
    Notification {
        /// The Observe operation's handle.
        handle: OpHandle,
        /// The endpoint name.
        endpoint: String,
        /// The observed path (the root for a composite observation).
        path: Path,
        /// The decoded records, or why the notification did not decode.
        result: Result<OperationResult, OpError>,
    },
    /// An observation ended (a final answer from the client, a registration gone).
    ObservationEnded {
        /// The Observe operation's handle.
        handle: OpHandle,
        /// The endpoint name.
        endpoint: String,
    },
    /// The result of the operation `handle` (for an Observe: its first answer).
    OperationResult {
        /// The handle [`Lwm2mServer::submit`] returned.
        handle: OpHandle,
        /// The endpoint name.
        endpoint: String,
        /// The decoded answer or why there is none.
        result: Result<OperationResult, OpError>,
    },
}

#[derive(Debug)]
enum OpState {
    /// Submitted to the registration core (held while the client sleeps).
    Queued,
    /// Sent; the endpoint request.
    Sent(RequestId),
    /// An observation that got its first answer; the registration request.
    Observing(RequestId),
}

#[derive(Debug)]
struct PendingOp {
    registration: RegistrationId,
    endpoint: String,
    op: Operation,
    state: OpState,
    deadline: Option<Duration>,
}

impl PendingOp {
    fn observes(&self) -> bool {
        matches!(
            self.op,
            Operation::Observe { .. } | Operation::ObserveComposite { .. }
        )
    }

    fn observed(&self) -> (Path, Option<&[Path]>) {
        match &self.op {
            Operation::Observe { path, .. } | Operation::CancelObserve { path, .. } => {
                (*path, None)
            }
            Operation::ObserveComposite { paths, .. }
            | Operation::CancelObserveComposite { paths, .. } => (Path::ROOT, Some(paths)),
            _ => (Path::ROOT, None),
        }
    }
}

/// Where and under which protection identity a registered client is reached.
#[derive(Clone, Debug)]
struct ClientPeer<P, I> {
    peer: P,
    identity: Option<I>,
}

/// The LwM2M server engine: registration core, operations and observations over an
/// endpoint the caller owns. See the module docs for the call order.
///
/// `P` is the endpoint's peer address, `I` its protection layer's identity, `S` the
/// registration store and `G` the randomness for registration ids.
pub struct Lwm2mServer<P, I, S, G> {
    config: EngineConfig,
    core: Server<S>,
    rng: G,
    defs: ObjectRegistry,
    identity_of: fn(&I) -> Identity,
    unsecured_identity: Option<fn(&P) -> Identity>,
    peers: BTreeMap<RegistrationId, ClientPeer<P, I>>,
    ops: BTreeMap<OpHandle, PendingOp>,
    by_request: BTreeMap<RequestId, OpHandle>,
    /// Handles submitted to the core, per registration, in the order the core releases
    /// them ([`Server::poll_request`] keeps each client's order).
    queued: BTreeMap<RegistrationId, VecDeque<OpHandle>>,
    events: VecDeque<ServerEvent>,
    next_handle: u64,
    observations: usize,
    /// Firmware packages served at `/fw/NAME`.
    packages: BTreeMap<String, Package>,
}

impl<P: fmt::Debug, I: fmt::Debug, S: fmt::Debug, G> fmt::Debug for Lwm2mServer<P, I, S, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lwm2mServer")
            .field("config", &self.config)
            .field("core", &self.core)
            .field("peers", &self.peers)
            .field("ops", &self.ops)
            .finish_non_exhaustive()
    }
}

impl<P, I, S, G> Lwm2mServer<P, I, S, G>
where
    P: Clone + Eq + Ord + fmt::Debug,
    I: Clone + Eq + Ord + fmt::Debug,
    S: RegistrationStore,
    G: RandomSource,
{
    /// An engine over the registration core `core`; `identity_of` maps the endpoint's
    /// protection identity (e.g. an OSCORE context id) to the [`Identity`] registrations
    /// are bound to; `rng` draws registration ids.
    pub fn new(
        config: EngineConfig,
        core: Server<S>,
        rng: G,
        identity_of: fn(&I) -> Identity,
    ) -> Self {
        Lwm2mServer {
            config,
            core,
            rng,
            defs: ObjectRegistry::with_builtin(),
            identity_of,
            unsecured_identity: None,
            peers: BTreeMap::new(),
            ops: BTreeMap::new(),
            by_request: BTreeMap::new(),
            queued: BTreeMap::new(),
            events: VecDeque::new(),
            next_handle: 0,
            observations: 0,
            packages: BTreeMap::new(),
        }
    }

    /// Serves `bytes` as the firmware package `name` at CoAP `GET /fw/NAME` (the Package URI
    /// a client pulls, LwM2M TS 1.2 Core Appendix E.6), replacing a package of that name.
    /// Only registered clients get it, over the security they registered with (an OSCORE
    /// client under its context: each block is protected); others get 4.01, an unknown name
    /// 4.04. Each request is answered with the one block it asks for (RFC 7959 §2.4: the
    /// smaller of the client's and the endpoint's preferred block size; block 0 when the
    /// request has no Block2), with the package's ETag and its Size2 (RFC 7959 §4): only
    /// that block is copied, and authorization is checked for every block request.
    ///
    /// # Errors
    /// [`PackageError`]: an invalid name, or [`MAX_PACKAGES`] held.
    pub fn add_package(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), PackageError> {
        if name.is_empty() || name.len() > 255 || name.contains('/') {
            return Err(PackageError::InvalidName(name.into()));
        }
        if !self.packages.contains_key(name) && self.packages.len() >= MAX_PACKAGES {
            return Err(PackageError::Full(MAX_PACKAGES));
        }
        let etag = etag_of(&bytes);
        self.packages.insert(name.into(), Package { bytes, etag });
        Ok(())
    }

    /// The names of the packages served, in order.
    pub fn packages(&self) -> Vec<String> {
        self.packages.keys().cloned().collect()
    }

    /// The answer to a request for a firmware package, or `None` when the request is not
    /// one (not `/fw/NAME`): the block the request asks for (`asked`, its Block2 option),
    /// in at most `preferred` bytes a block.
    fn package_response(
        &self,
        code: Code,
        path: &[&[u8]],
        bound: &Identity,
        asked: Result<Option<BlockValue>, ()>,
        preferred: Szx,
    ) -> Option<crate::message::Response> {
        let [first, name] = path else {
            return None;
        };
        if *first != PACKAGE_PATH.as_bytes() {
            return None;
        }
        use crate::message::Response;
        if code != Code::GET {
            return Some(Response::new(Code::METHOD_NOT_ALLOWED));
        }
        // Only a registered client, under the identity it registered with.
        let registered = match bound {
            Identity::None => false,
            identity => self.core.store().get_by_identity(identity).is_some(),
        };
        if !registered {
            return Some(Response::error(
                Code::UNAUTHORIZED,
                "firmware packages are served to registered clients only",
            ));
        }
        let Some(package) = core::str::from_utf8(name)
            .ok()
            .and_then(|n| self.packages.get(n))
        else {
            return Some(Response::new(Code::NOT_FOUND));
        };
        let Ok(asked) = asked else {
            return Some(Response::error(Code::BAD_OPTION, "malformed Block2 option"));
        };
        // RFC 7959 §2.4: the server slices, here straight out of the package (a BERT size is
        // served as 1024-byte blocks: a package is no reason to negotiate BERT).
        let preferred = if preferred.is_bert() {
            Szx::S1024
        } else {
            preferred
        };
        let Ok((block, payload)) = BlockSplitter::new(&package.bytes).respond(asked, preferred)
        else {
            // §2.2: a block past the end.
            return Some(Response::error(
                Code::BAD_OPTION,
                "block past the package's end",
            ));
        };
        let mut r = Response::new(Code::CONTENT);
        r.options.push(OptionNumber::ETAG, package.etag.to_vec());
        r.options.push_uint(
            OptionNumber::CONTENT_FORMAT,
            u32::from(ContentFormat::OCTET_STREAM.0),
        );
        r.options.push_uint(OptionNumber::BLOCK2, block.to_uint());
        // RFC 7959 §4: the size of the whole package, so the client knows what it pulls.
        let size = u32::try_from(package.bytes.len()).unwrap_or(u32::MAX);
        r.options.push_uint(OptionNumber::SIZE2, size);
        r.payload = payload.to_vec();
        Some(r)
    }

    /// Replaces the object definitions used to decode answers, notifications and Send
    /// (also given to the registration core).
    pub fn set_object_defs(&mut self, defs: ObjectRegistry) {
        self.core.set_object_defs(defs.clone());
        self.defs = defs;
    }

    /// Gives requests that arrive without protection the identity `of_peer` makes of
    /// their address ([`Identity::Address`] in NoSec deployments), instead of
    /// [`Identity::None`]: Update, De-register and Send are then tied to the address the
    /// client registered from.
    pub fn set_unsecured_identity(&mut self, of_peer: fn(&P) -> Identity) {
        self.unsecured_identity = Some(of_peer);
    }

    /// The registration core.
    pub fn core(&self) -> &Server<S> {
        &self.core
    }

    /// The registration core, mutably (endpoint policy, …).
    pub fn core_mut(&mut self) -> &mut Server<S> {
        &mut self.core
    }

    /// Every registration, in id order.
    pub fn registrations(&self) -> Vec<Registration> {
        let store = self.core.store();
        store.ids().iter().filter_map(|id| store.get(id)).collect()
    }

    /// The registration of `endpoint`.
    pub fn registration(&self, endpoint: &str) -> Option<Registration> {
        self.core.store().get_by_endpoint(endpoint)
    }

    /// The address a registration was last heard from (`None` for a registration restored
    /// from the store that has not been heard from since).
    pub fn peer(&self, id: &RegistrationId) -> Option<&P> {
        self.peers.get(id).map(|c| &c.peer)
    }

    /// Operations in progress (queued, sent or observing).
    pub fn operations(&self) -> usize {
        self.ops.len()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When [`Lwm2mServer::handle_timeout`] should next be called: lifetime expiry,
    /// queue-mode sleep, operation deadlines.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let op = self.ops.values().filter_map(|o| o.deadline).min();
        match (self.core.poll_timeout(), op) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn next_handle(&mut self) -> OpHandle {
        let h = OpHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        h
    }

    /// Asks `endpoint`'s client for `op`. The request goes out at once, or is held while
    /// a queue-mode client sleeps (LwM2M TS 1.2 Transport §6.5) and sent when it is
    /// awake. `timeout` (from `now`) bounds the wait for the answer, held time included;
    /// without it the endpoint's own limit (EXCHANGE_LIFETIME) applies once sent.
    ///
    /// A [`Operation::CancelObserve`] / [`Operation::CancelObserveComposite`] ends the
    /// active observation of the same target with a GET/FETCH carrying Observe 1 and the
    /// observation's token (RFC 7641 §3.6).
    ///
    /// # Errors
    /// [`SubmitError`].
    pub fn submit<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
        endpoint: &str,
        op: Operation,
        timeout: Option<Duration>,
    ) -> Result<OpHandle, SubmitError> {
        let reg = self.core.store().get_by_endpoint(endpoint).ok_or_else(|| {
            SubmitError::UnknownClient {
                endpoint: String::from(endpoint),
            }
        })?;
        if self.ops.len() >= self.config.max_operations {
            return Err(SubmitError::TooManyOperations {
                max: self.config.max_operations,
            });
        }
        let deadline = timeout.map(|t| now.saturating_add(t));
        if matches!(
            op,
            Operation::CancelObserve { .. } | Operation::CancelObserveComposite { .. }
        ) {
            return self.cancel_matching(ep, now, &reg, op, deadline);
        }
        let observes = matches!(
            op,
            Operation::Observe { .. } | Operation::ObserveComposite { .. }
        );
        if observes && self.observations >= self.config.max_observations {
            return Err(SubmitError::TooManyObservations {
                max: self.config.max_observations,
            });
        }
        let parts = op
            .encode(&ClientProfile::from_registration(&reg))
            .map_err(SubmitError::Operation)?;
        self.core
            .submit(&reg.id, parts)
            .map_err(SubmitError::Queue)?;
        let handle = self.next_handle();
        if observes {
            self.observations += 1;
        }
        self.ops.insert(
            handle,
            PendingOp {
                registration: reg.id.clone(),
                endpoint: reg.endpoint.clone(),
                op,
                state: OpState::Queued,
                deadline,
            },
        );
        self.queued.entry(reg.id).or_default().push_back(handle);
        self.flush(ep, now);
        Ok(handle)
    }

    /// Ends the observation started by `handle` (RFC 7641 §3.6: a GET/FETCH with Observe 1
    /// and the observation's token when `active`, else forgotten and its next notification
    /// answered with a Reset). Returns the handle of the deregistration request when one
    /// is sent; no [`ServerEvent::ObservationEnded`] follows.
    ///
    /// # Errors
    /// [`SubmitError::NoObservation`] when `handle` is not an active observation.
    pub fn cancel_observation<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
        handle: OpHandle,
        active: bool,
    ) -> Result<Option<OpHandle>, SubmitError> {
        let (rid, path) = match self.ops.get(&handle) {
            Some(
                o @ PendingOp {
                    state: OpState::Observing(rid),
                    ..
                },
            ) => (*rid, o.observed().0),
            _ => return Err(SubmitError::NoObservation { path: Path::ROOT }),
        };
        let Some(op) = self.ops.remove(&handle) else {
            return Err(SubmitError::NoObservation { path });
        };
        self.by_request.remove(&rid);
        self.observations = self.observations.saturating_sub(1);
        let sent = ep
            .cancel_observation(now, rid, active)
            .map_err(SubmitError::Endpoint)?;
        Ok(sent.map(|new_rid| {
            let h = self.next_handle();
            let cancel = match op.op {
                Operation::ObserveComposite { paths, format } => {
                    Operation::CancelObserveComposite { paths, format }
                }
                Operation::Observe { path, format } => Operation::CancelObserve { path, format },
                other => other,
            };
            self.ops.insert(
                h,
                PendingOp {
                    registration: op.registration,
                    endpoint: op.endpoint,
                    op: cancel,
                    state: OpState::Sent(new_rid),
                    deadline: None,
                },
            );
            self.by_request.insert(new_rid, h);
            h
        }))
    }

    fn cancel_matching<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
        reg: &Registration,
        op: Operation,
        deadline: Option<Duration>,
    ) -> Result<OpHandle, SubmitError> {
        let probe = PendingOp {
            registration: reg.id.clone(),
            endpoint: reg.endpoint.clone(),
            op,
            state: OpState::Queued,
            deadline,
        };
        let target = probe.observed();
        let observation = self.observation_of(&probe)?;
        match self.cancel_observation(ep, now, observation, true)? {
            Some(h) => {
                if let Some(o) = self.ops.get_mut(&h) {
                    o.op = probe.op;
                    o.deadline = deadline;
                }
                Ok(h)
            }
            None => Err(SubmitError::NoObservation { path: target.0 }),
        }
    }

    /// The active observation `probe` (a cancel) names.
    fn observation_of(&self, probe: &PendingOp) -> Result<OpHandle, SubmitError> {
        let target = probe.observed();
        self.ops
            .iter()
            .find_map(|(h, o)| {
                (o.registration == probe.registration
                    && matches!(o.state, OpState::Observing(_))
                    && o.observed() == target)
                    .then_some(*h)
            })
            .ok_or(SubmitError::NoObservation { path: target.0 })
    }

    /// Ends the active observation that `cancel` (an [`Operation::CancelObserve`] or
    /// [`Operation::CancelObserveComposite`]) names, without a request: the observation is
    /// forgotten and the client's next notification of it is answered with a Reset
    /// (RFC 7641 §3.6, the reactive cancellation). This is the way to cancel with clients
    /// that do not answer a GET with Observe 1 (an LwM2M 1.0 client may only ACK it).
    /// No [`ServerEvent::ObservationEnded`] follows.
    ///
    /// # Errors
    /// [`SubmitError::UnknownClient`], or [`SubmitError::NoObservation`] when `cancel`
    /// names no active observation of the client (or is not a cancel).
    pub fn forget_observation<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
        endpoint: &str,
        cancel: Operation,
    ) -> Result<(), SubmitError> {
        let reg = self.core.store().get_by_endpoint(endpoint).ok_or_else(|| {
            SubmitError::UnknownClient {
                endpoint: String::from(endpoint),
            }
        })?;
        if !matches!(
            cancel,
            Operation::CancelObserve { .. } | Operation::CancelObserveComposite { .. }
        ) {
            return Err(SubmitError::NoObservation { path: Path::ROOT });
        }
        let probe = PendingOp {
            registration: reg.id.clone(),
            endpoint: reg.endpoint.clone(),
            op: cancel,
            state: OpState::Queued,
            deadline: None,
        };
        let observation = self.observation_of(&probe)?;
        self.cancel_observation(ep, now, observation, false)
            .map(drop)
    }

    /// Sends the requests the registration core released.
    fn flush<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
    ) {
        while let Some((id, parts)) = self.core.poll_request() {
            let handle = self.queued.get_mut(&id).and_then(VecDeque::pop_front);
            if self.queued.get(&id).is_some_and(VecDeque::is_empty) {
                self.queued.remove(&id);
            }
            // A handle no longer in `ops` timed out while held: its request is dropped.
            let Some(handle) = handle.filter(|h| self.ops.contains_key(h)) else {
                continue;
            };
            let Some(client) = self.peers.get(&id).cloned() else {
                self.finish(handle, Err(OpError::Unreachable));
                continue;
            };
            let message = parts.to_message(MessageType::Con, 0, &[]);
            let options =
                RequestOptions::new(Reliability::Confirmable, ep.config().client_blockwise);
            let sent = match client.identity {
                Some(identity) => {
                    ep.request_protected(now, client.peer, message, options, identity)
                }
                None => ep.request_with(now, client.peer, message, options),
            };
            match sent {
                Ok(rid) => {
                    if let Some(o) = self.ops.get_mut(&handle) {
                        o.state = OpState::Sent(rid);
                    }
                    self.by_request.insert(rid, handle);
                }
                Err(e) => self.finish(handle, Err(OpError::Endpoint(e))),
            }
        }
    }

    /// Removes `handle` and reports its result.
    fn finish(&mut self, handle: OpHandle, result: Result<OperationResult, OpError>) {
        if let Some(op) = self.ops.remove(&handle) {
            if op.observes() {
                self.observations = self.observations.saturating_sub(1);
            }
            if let OpState::Sent(rid) | OpState::Observing(rid) = op.state {
                self.by_request.remove(&rid);
            }
            self.events.push_back(ServerEvent::OperationResult {
                handle,
                endpoint: op.endpoint,
                result,
            });
        }
    }

    /// Handles one event of the endpoint (every event must be passed here, in order).
    pub fn handle_event<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        event: Event<P, I>,
        now: Duration,
    ) {
        match event {
            Event::Request { id, peer, message } => {
                let identity = message.identity.clone();
                let bound = match (&identity, self.unsecured_identity) {
                    (Some(i), _) => (self.identity_of)(i),
                    (None, Some(of_peer)) => of_peer(&peer),
                    (None, None) => Identity::None,
                };
                let path: Vec<&[u8]> = message
                    .message
                    .options
                    .get_all(OptionNumber::URI_PATH)
                    .map(|o| o.value)
                    .collect();
                // BERT accepted here: the endpoint checked the option for its transport already.
                let asked = BlockValue::from_options(
                    message.message.options.iter(),
                    OptionNumber::BLOCK2,
                    true,
                )
                .map_err(|_| ());
                let preferred = ep.config().block2.preferred_szx;
                let package =
                    self.package_response(message.message.code, &path, &bound, asked, preferred);
                let response = match Request::from_parts(
                    message.message.code,
                    message.message.options.iter(),
                    &message.message.payload,
                ) {
                    _ if package.is_some() => package.unwrap_or_else(|| {
                        crate::message::Response::new(Code::INTERNAL_SERVER_ERROR)
                    }),
                    Ok(req) => {
                        let r = self.core.handle_request(&req, &bound, now, &mut self.rng);
                        self.drain_core(ep, now, Some(ClientPeer { peer, identity }));
                        r
                    }
                    Err(e) => {
                        crate::message::Response::error(Code::BAD_REQUEST, &alloc::format!("{e}"))
                    }
                };
                let mut out = OwnedMessage::new(MessageType::Ack, response.code, 0);
                response.write_into(&mut out);
                // The request may be gone (its exchange over); nothing else to do then.
                let _ = ep.respond(now, id, out);
            }
            Event::Response { id, message, .. } => self.response(ep, now, id, &message),
            Event::Notification { id, message, .. } => {
                let Some(&handle) = self.by_request.get(&id) else {
                    return;
                };
                let Some(op) = self.ops.get(&handle) else {
                    return;
                };
                let result = op
                    .op
                    .decode_response(
                        message.code,
                        message.options.iter(),
                        &message.payload,
                        &self.defs,
                    )
                    .map_err(OpError::Operation);
                let registration = op.registration.clone();
                self.events.push_back(ServerEvent::Notification {
                    handle,
                    endpoint: op.endpoint.clone(),
                    path: op.observed().0,
                    result,
                });
                self.core.note_activity(&registration, now);
                self.drain_core(ep, now, None);
            }
            Event::ProtectionFailed { id, response, .. } => self.fail_request(
                id,
                OpError::ProtectionFailed {
                    code: response.code,
                    diagnostic: unverified_diagnostic(&response),
                },
            ),
            Event::TimedOut { id } => self.fail_request(id, OpError::TimedOut),
            Event::Reset { id } => self.fail_request(id, OpError::Reset),
            Event::ResponseRejected { id, error, .. } => {
                self.fail_request(id, OpError::Rejected(error));
            }
            Event::BlockwiseFailed { id, error, .. } => {
                self.fail_request(id, OpError::Blockwise(error));
            }
            _ => {}
        }
    }

    fn fail_request(&mut self, id: RequestId, error: OpError) {
        let Some(handle) = self.by_request.remove(&id) else {
            return;
        };
        let observing = self
            .ops
            .get(&handle)
            .is_some_and(|o| matches!(o.state, OpState::Observing(_)));
        if observing {
            self.end_observation(handle);
        } else {
            self.finish(handle, Err(error));
        }
    }

    fn end_observation(&mut self, handle: OpHandle) {
        if let Some(op) = self.ops.remove(&handle) {
            if let OpState::Observing(rid) | OpState::Sent(rid) = op.state {
                self.by_request.remove(&rid);
            }
            self.observations = self.observations.saturating_sub(1);
            self.events.push_back(ServerEvent::ObservationEnded {
                handle,
                endpoint: op.endpoint,
            });
        }
    }

    fn response<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
        id: RequestId,
        message: &OwnedMessage,
    ) {
        let Some(&handle) = self.by_request.get(&id) else {
            return;
        };
        let Some(op) = self.ops.get_mut(&handle) else {
            return;
        };
        let registration = op.registration.clone();
        if matches!(op.state, OpState::Observing(_)) {
            // RFC 7641 §3.2: a final response (error or without Observe) ends the
            // observation.
            self.end_observation(handle);
        } else {
            let result = op
                .op
                .decode_response(
                    message.code,
                    message.options.iter(),
                    &message.payload,
                    &self.defs,
                )
                .map_err(OpError::Operation);
            let established = op.observes()
                && matches!(
                    result,
                    Ok(OperationResult::Content {
                        observe: Some(_),
                        ..
                    })
                );
            if established {
                op.state = OpState::Observing(id);
                op.deadline = None;
                let endpoint = op.endpoint.clone();
                self.events.push_back(ServerEvent::OperationResult {
                    handle,
                    endpoint,
                    result,
                });
            } else {
                self.finish(handle, result);
            }
        }
        self.core.note_activity(&registration, now);
        self.drain_core(ep, now, None);
    }

    /// Turns the registration core's events into [`ServerEvent`]s, remembers where a
    /// client that just spoke is reached, and sends what the core released.
    fn drain_core<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
        from: Option<ClientPeer<P, I>>,
    ) {
        while let Some(e) = self.core.poll_event() {
            match e {
                registration::Event::Registered { id, .. } => {
                    if let Some(c) = &from {
                        self.peers.insert(id.clone(), c.clone());
                    }
                    if let Some(registration) = self.core.registration(&id) {
                        self.events.push_back(ServerEvent::Registered {
                            registration,
                            replaced: None,
                        });
                    }
                }
                registration::Event::Replaced { old, new, .. } => {
                    self.forget(ep, now, &old);
                    if let Some(c) = &from {
                        self.peers.insert(new.clone(), c.clone());
                    }
                    if let Some(registration) = self.core.registration(&new) {
                        self.events.push_back(ServerEvent::Registered {
                            registration,
                            replaced: Some(old),
                        });
                    }
                }
                registration::Event::Updated {
                    id,
                    objects_changed,
                } => {
                    if let Some(c) = &from {
                        self.peers.insert(id.clone(), c.clone());
                    }
                    if let Some(registration) = self.core.registration(&id) {
                        self.events.push_back(ServerEvent::Updated {
                            registration,
                            objects_changed,
                        });
                    }
                }
                registration::Event::Deregistered { id, endpoint } => {
                    self.forget(ep, now, &id);
                    self.events
                        .push_back(ServerEvent::Deregistered { id, endpoint });
                }
                registration::Event::Expired { id, endpoint } => {
                    self.forget(ep, now, &id);
                    self.events.push_back(ServerEvent::Expired { id, endpoint });
                }
                registration::Event::Awake { id } => {
                    if let Some(r) = self.core.registration(&id) {
                        self.events.push_back(ServerEvent::Awake {
                            endpoint: r.endpoint,
                        });
                    }
                }
                registration::Event::Sleeping { id } => {
                    if let Some(r) = self.core.registration(&id) {
                        self.events.push_back(ServerEvent::Sleeping {
                            endpoint: r.endpoint,
                        });
                    }
                }
                registration::Event::Data { id, records, .. } => {
                    if let Some(c) = &from {
                        self.peers.insert(id.clone(), c.clone());
                    }
                    if let Some(r) = self.core.registration(&id) {
                        self.events.push_back(ServerEvent::Send {
                            endpoint: r.endpoint,
                            records,
                        });
                    }
                }
            }
        }
        self.flush(ep, now);
    }

    /// Ends everything of a registration that is gone.
    fn forget<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
        id: &RegistrationId,
    ) {
        self.peers.remove(id);
        self.queued.remove(id);
        let handles: Vec<OpHandle> = self
            .ops
            .iter()
            .filter(|(_, o)| o.registration == *id)
            .map(|(h, _)| *h)
            .collect();
        for h in handles {
            let state = self.ops.get(&h).map(|o| match o.state {
                OpState::Queued => None,
                OpState::Sent(rid) => Some((rid, false)),
                OpState::Observing(rid) => Some((rid, true)),
            });
            match state {
                Some(Some((rid, true))) => {
                    // Passive cancellation: the next notification is answered with a Reset.
                    let _ = ep.cancel_observation(now, rid, false);
                    self.end_observation(h);
                }
                Some(Some((rid, false))) => {
                    let _ = ep.cancel(now, rid);
                    self.finish(h, Err(OpError::RegistrationGone));
                }
                _ => self.finish(h, Err(OpError::RegistrationGone)),
            }
        }
    }

    /// Expires registrations, puts queue-mode clients to sleep and fails operations past
    /// their deadline (a sent request is abandoned with the endpoint's `cancel`).
    pub fn handle_timeout<R: RandomSource, X: Protection<P, Identity = I>>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        now: Duration,
    ) {
        self.core.handle_timeout(now);
        let due: Vec<OpHandle> = self
            .ops
            .iter()
            .filter(|(_, o)| o.deadline.is_some_and(|d| d <= now))
            .map(|(h, _)| *h)
            .collect();
        for h in due {
            if let Some(OpState::Sent(rid)) = self.ops.get(&h).map(|o| &o.state) {
                let _ = ep.cancel(now, *rid);
            }
            self.finish(h, Err(OpError::TimedOut));
        }
        self.drain_core(ep, now, None);
    }
}

/// The diagnostic text of an answer that did not verify: the payload of an unprotected error
/// response (RFC 8613 §8.4 lets a server answer a request it cannot verify with an unprotected
/// error and a diagnostic payload, RFC 7252 §5.5.2), never the ciphertext of a protected answer
/// (one carrying the OSCORE option, RFC 8613 §2), and nothing that is not UTF-8 text.
fn unverified_diagnostic(response: &OwnedMessage) -> String {
    if response.options.get(OptionNumber::OSCORE).is_some() {
        return String::new();
    }
    core::str::from_utf8(&response.payload)
        .map(String::from)
        .unwrap_or_default()
}
