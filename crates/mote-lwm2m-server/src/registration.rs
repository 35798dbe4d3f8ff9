//! The Client Registration Interface (LwM2M TS 1.2 Core §6.2, Transport §6.4.3) and the
//! uplink half of Information Reporting (Send, Transport §6.4.5), as a sans-IO [`Server`].
//!
//! # Call order
//! 1. For each incoming request (already decoded, OSCORE-unprotected), call
//!    [`Server::handle_request`] with the security [`Identity`] it arrived with and `now`;
//!    send back the returned [`Response`].
//! 2. Drain [`Server::poll_event`] (registrations, updates, expirations, queue-mode
//!    wake-ups, Send data).
//! 3. Submit application requests with [`Server::submit`]; pull the ones that may go out
//!    now with [`Server::poll_request`] (a queue-mode client's requests are held until it
//!    is awake). Call [`Server::note_activity`] when a client answers.
//! 4. Arm a timer for [`Server::poll_timeout`] and call [`Server::handle_timeout`] when it
//!    fires (lifetime expiry, queue-mode sleep).
//!
//! # Response codes (LwM2M TS 1.2 Transport §6.7, "Response Codes: Client Registration
//! Interface")
//! * malformed or unknown parameters, a bad payload: 4.00 with a diagnostic payload;
//! * an LwM2M version the server does not support: 4.12 Precondition Failed;
//! * a registration from an unauthenticated peer when [`ServerConfig::allow_unsecured`]
//!   is off: 4.03 Forbidden ("registration ... is not allowed");
//! * an object list the server cannot use (Profile IDs only, nothing listed): 4.09
//!   Conflict;
//! * Update / De-register of an unknown registration **or of a registration bound to
//!   another identity**: 4.04 Not Found. The table allows only 4.00 and 4.04 for these
//!   operations; 4.04 also does not tell a prober that the registration exists;
//! * Send from a peer without a registration bound to its identity (including every
//!   unauthenticated peer), or naming an Object the client did not register: 4.04
//!   ("Reported Object was not registered"); a payload not in SenML JSON/CBOR: 4.00;
//! * the server at its [`ServerConfig::max_registrations`] bound or with
//!   [`ServerConfig::max_pending_events`] undrained events: 5.03 Service Unavailable
//!   (the TS's 5.xx rule for conditions no 4.xx code describes).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::link_format::LinkFormat;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_lwm2m::link::{self, Link};
use mote_lwm2m::object::ObjectRegistry;
use mote_lwm2m::{Format, ObjectId, Path, Record};

use crate::message::{Identity, Request, Response};
use crate::operation::RequestParts;
use crate::store::{RegistrationStore, StoreError};

/// The default lifetime when `lt` is absent: 86400 s (LwM2M TS 1.0 Core §5.3.1 default,
/// kept for 1.0 clients; 1.1+ clients always send it).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(86_400);

/// A registration's identifier: the last Location-Path segment of `/rd/<id>`, 32 hex
/// digits of 128 random bits from the caller's RNG (unguessable, unlike a counter).
///
/// The text is shared (`Arc<str>`): the store's indexes, the engine's tables and the events
/// hold one allocation per registration, and a clone copies no bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId(Arc<str>);

impl RegistrationId {
    /// An identifier from 16 random bytes drawn from `rng`.
    pub fn random(rng: &mut impl RandomSource) -> RegistrationId {
        let mut s = String::with_capacity(32);
        for _ in 0..4 {
            s.push_str(&format!("{:08x}", rng.next_u32()));
        }
        RegistrationId(Arc::from(s))
    }

    /// An identifier from its text (as found in a request's Uri-Path).
    #[must_use]
    pub fn from_text(s: &str) -> RegistrationId {
        RegistrationId(Arc::from(s))
    }

    /// The text form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The LwM2M Enabler versions this server accepts (`lwm2m=` of Register).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LwM2mVersion {
    /// 1.0.
    V1_0,
    /// 1.1.
    V1_1,
    /// 1.2.
    V1_2,
}

impl LwM2mVersion {
    /// The text form (`1.1`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            LwM2mVersion::V1_0 => "1.0",
            LwM2mVersion::V1_1 => "1.1",
            LwM2mVersion::V1_2 => "1.2",
        }
    }
}

/// The Binding Mode parameter `b` (LwM2M TS 1.2 Core §6.2.1.1, "Behaviour with Current
/// Transport Binding and Modes"): U (UDP), T (TCP), S (SMS), N (Non-IP). A 1.0 client's
/// `Q` letter (e.g. `UQ`) turns on queue mode instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Binding {
    /// `U`.
    pub udp: bool,
    /// `T`.
    pub tcp: bool,
    /// `S`.
    pub sms: bool,
    /// `N`.
    pub non_ip: bool,
}

impl Binding {
    /// `U`, the default.
    pub const UDP: Binding = Binding {
        udp: true,
        tcp: false,
        sms: false,
        non_ip: false,
    };

    /// Parses `b`; returns the binding and whether a 1.0 `Q` was present.
    fn parse(s: &str, version: LwM2mVersion) -> Result<(Binding, bool), RegistrationError> {
        let mut b = Binding::default();
        let mut q = false;
        let bad = || RegistrationError::InvalidParameter {
            name: "b",
            reason: "not a set of binding letters U, T, S, N",
        };
        if s.is_empty() {
            return Err(bad());
        }
        for c in s.chars() {
            let slot = match c {
                'U' => &mut b.udp,
                'T' => &mut b.tcp,
                'S' => &mut b.sms,
                'N' => &mut b.non_ip,
                // TS 1.0 Core §5.3.1.1: "UQ", "SQ", "UQS": Q is the queue mode of 1.0;
                // 1.1+ moved it into its own parameter.
                'Q' if version == LwM2mVersion::V1_0 => &mut q,
                _ => return Err(bad()),
            };
            if *slot {
                return Err(bad());
            }
            *slot = true;
        }
        if !(b.udp || b.tcp || b.sms || b.non_ip) {
            return Err(bad());
        }
        Ok((b, q))
    }
}

/// One registration: what the client announced and what the server keeps about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    /// The identifier (`/rd/<id>`).
    pub id: RegistrationId,
    /// The Endpoint Client Name `ep`.
    pub endpoint: String,
    /// The security identity the Register request arrived with; only it may Update or
    /// De-register.
    pub identity: Identity,
    /// The Enabler version `lwm2m`.
    pub version: LwM2mVersion,
    /// The lifetime `lt`.
    pub lifetime: Duration,
    /// The binding `b`.
    pub binding: Binding,
    /// Queue mode (`Q`, or the `Q` letter of a 1.0 binding).
    pub queue_mode: bool,
    /// The SMS number `sms`.
    pub sms: Option<String>,
    /// The Profile IDs `pid` (kept, not resolved).
    pub profile_ids: Vec<String>,
    /// The client's root: `/`, or the alternate path of `</path>;rt="oma.lwm2m"`.
    pub root_path: String,
    /// The content formats of the root link's `ct` (LwM2M 1.1+).
    pub content_formats: Vec<ContentFormat>,
    /// The Objects and Object Instances (with `ver`), root link excluded.
    pub objects: Vec<Link>,
    /// When the registration was created.
    pub registered_at: Duration,
    /// When it was last registered or updated.
    pub last_update: Duration,
}

impl Registration {
    /// When the registration expires (last update + lifetime).
    #[must_use]
    pub fn expires_at(&self) -> Duration {
        self.last_update.saturating_add(self.lifetime)
    }

    /// Whether object `id` was listed.
    #[must_use]
    pub fn has_object(&self, id: ObjectId) -> bool {
        self.objects.iter().any(|l| l.path.object_id() == Some(id))
    }
}

/// What was wrong with a registration-interface request. [`RegistrationError::code`]
/// gives the response code; the `Display` text is the diagnostic payload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// A mandatory parameter is missing.
    #[error("missing parameter {name}")]
    MissingParameter {
        /// The query name.
        name: &'static str,
    },
    /// A parameter has an invalid value.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter {
        /// The query name.
        name: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A parameter not defined for this operation (TS: "unknown parameter is specified").
    #[error("unknown parameter {name}")]
    UnknownParameter {
        /// The parameter as sent.
        name: String,
    },
    /// A parameter given twice.
    #[error("duplicate parameter {name}")]
    DuplicateParameter {
        /// The query name.
        name: &'static str,
    },
    /// The Enabler version is not 1.0, 1.1 or 1.2.
    #[error("unsupported LwM2M version {version}; supported: 1.0, 1.1, 1.2")]
    UnsupportedVersion {
        /// The version as sent.
        version: String,
    },
    /// The payload is not a valid LwM2M link-format object list.
    #[error("invalid object list: {reason}")]
    InvalidPayload {
        /// What was wrong.
        reason: String,
    },
    /// The endpoint name is longer than [`ServerConfig::max_endpoint_len`].
    #[error("endpoint name longer than {max} bytes")]
    EndpointTooLong {
        /// The bound.
        max: usize,
    },
    /// The object list has more links than [`ServerConfig::max_objects`].
    #[error("object list longer than {max} links")]
    TooManyObjects {
        /// The bound.
        max: usize,
    },
    /// The object list cannot be determined (no links; Profile IDs are not resolved).
    #[error("cannot determine the Objects and Object Instances of the client")]
    NoObjects,
    /// The endpoint policy refused this identity for this endpoint name.
    #[error("registration of this endpoint name is not allowed for this identity")]
    EndpointNotAllowed,
    /// Registration from an unauthenticated peer while they are not allowed.
    #[error("registration without a security context is not allowed")]
    NotAllowed,
    /// No registration with this id for this identity.
    #[error("no such registration")]
    UnknownRegistration,
    /// [`ServerConfig::max_registrations`] registrations exist.
    #[error("registration table full ({max})")]
    TooManyRegistrations {
        /// The bound.
        max: usize,
    },
    /// [`ServerConfig::max_pending_events`] events wait to be polled.
    #[error("event queue full ({max})")]
    EventQueueFull {
        /// The bound.
        max: usize,
    },
    /// The store failed.
    #[error("registration store: {0}")]
    Store(StoreError),
    /// A Send payload that is not SenML JSON/CBOR or does not decode.
    #[error("invalid Send payload: {reason}")]
    InvalidSend {
        /// What was wrong.
        reason: String,
    },
    /// A Send payload names an Object the client did not register.
    #[error("object {object} was not registered")]
    UnregisteredObject {
        /// The Object ID.
        object: ObjectId,
    },
    /// No operation at this path.
    #[error("not found")]
    NotFound,
    /// The path exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl RegistrationError {
    /// The response code (LwM2M TS 1.2 Transport §6.7 tables; see the module docs).
    #[must_use]
    pub fn code(&self) -> Code {
        match self {
            RegistrationError::UnsupportedVersion { .. } => Code::PRECONDITION_FAILED,
            RegistrationError::NotAllowed | RegistrationError::EndpointNotAllowed => {
                Code::FORBIDDEN
            }
            RegistrationError::NoObjects => Code::CONFLICT,
            RegistrationError::UnknownRegistration
            | RegistrationError::UnregisteredObject { .. }
            | RegistrationError::NotFound => Code::NOT_FOUND,
            RegistrationError::MethodNotAllowed => Code::METHOD_NOT_ALLOWED,
            RegistrationError::TooManyRegistrations { .. }
            | RegistrationError::EventQueueFull { .. }
            | RegistrationError::Store(_) => Code::SERVICE_UNAVAILABLE,
            _ => Code::BAD_REQUEST,
        }
    }

    fn response(&self) -> Response {
        Response::error(self.code(), &format!("{self}"))
    }
}

/// Why [`Server::submit`] refused a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// No such registration.
    #[error("no registration {0}")]
    UnknownRegistration(RegistrationId),
    /// The client's queue holds [`ServerConfig::max_queued_requests`] requests.
    #[error("request queue of {id} full ({max})")]
    Full {
        /// The registration.
        id: RegistrationId,
        /// The bound.
        max: usize,
    },
}

/// What the registration engine reports to the application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A new registration.
    Registered {
        /// Its id.
        id: RegistrationId,
        /// The endpoint name.
        endpoint: String,
    },
    /// A Register of a known endpoint name replaced its registration (the old one is
    /// gone, with its held requests).
    Replaced {
        /// The replaced registration.
        old: RegistrationId,
        /// The new one.
        new: RegistrationId,
        /// The endpoint name.
        endpoint: String,
    },
    /// An Update.
    Updated {
        /// The registration.
        id: RegistrationId,
        /// Whether the object list changed.
        objects_changed: bool,
    },
    /// A De-register.
    Deregistered {
        /// The registration.
        id: RegistrationId,
        /// The endpoint name.
        endpoint: String,
    },
    /// A lifetime ran out.
    Expired {
        /// The registration.
        id: RegistrationId,
        /// The endpoint name.
        endpoint: String,
    },
    /// A queue-mode client is reachable (it just sent a message).
    Awake {
        /// The registration.
        id: RegistrationId,
    },
    /// A queue-mode client's awake window ended.
    Sleeping {
        /// The registration.
        id: RegistrationId,
    },
    /// Data from a Send (`POST /dp`).
    Data {
        /// The registration.
        id: RegistrationId,
        /// The payload format.
        format: Format,
        /// The records, with their timestamps.
        records: Vec<Record>,
    },
}

/// Limits and policy of the registration engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Registrations held at most.
    pub max_registrations: usize,
    /// Longest endpoint name, bytes.
    pub max_endpoint_len: usize,
    /// Most links in one object list.
    pub max_objects: usize,
    /// Most application requests held per queue-mode client.
    pub max_queued_requests: usize,
    /// Most events waiting for [`Server::poll_event`] before requests are refused 5.03.
    pub max_pending_events: usize,
    /// How long a queue-mode client counts as awake after a message from it (Transport
    /// §6.5 recommends the client stay up MAX_TRANSMIT_WAIT, 93 s, RFC 7252 §4.8.2).
    pub awake_window: Duration,
    /// Accept registrations from unauthenticated peers (NoSec; a registration bound to
    /// [`Identity::None`] can be updated by any unauthenticated peer).
    pub allow_unsecured: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_registrations: 1024,
            max_endpoint_len: 128,
            max_objects: 256,
            max_queued_requests: 16,
            max_pending_events: 256,
            awake_window: Duration::from_secs(93),
            allow_unsecured: false,
        }
    }
}

#[derive(Debug, Default)]
struct QueueState {
    awake_until: Option<Duration>,
    held: VecDeque<RequestParts>,
}

/// The sans-IO registration engine over a [`RegistrationStore`]. See the module docs for
/// the call order.
#[derive(Debug)]
pub struct Server<S> {
    config: ServerConfig,
    store: S,
    defs: ObjectRegistry,
    queues: BTreeMap<RegistrationId, QueueState>,
    events: VecDeque<Event>,
    outgoing: VecDeque<(RegistrationId, RequestParts)>,
    endpoint_policy: Option<EndpointPolicy>,
}

/// Decides whether a security identity may register an endpoint name (e.g. the name the
/// identity's OSCORE context or credential was provisioned for). Without a policy any
/// authenticated identity may register any name — and so replace another identity's
/// registration of it.
pub type EndpointPolicy = fn(endpoint: &str, identity: &Identity) -> bool;

/// Root path, root-link content formats and object links of a Register/Update payload.
type ObjectList = (String, Vec<ContentFormat>, Vec<Link>);

#[derive(Default)]
struct Params {
    ep: Option<String>,
    lt: Option<Duration>,
    lwm2m: Option<LwM2mVersion>,
    b: Option<String>,
    q: bool,
    sms: Option<String>,
    pid: Vec<String>,
}

impl<S: RegistrationStore> Server<S> {
    /// An engine with `config` over `store`, decoding Send payloads with the built-in
    /// object definitions.
    pub fn new(config: ServerConfig, store: S) -> Self {
        Server {
            config,
            store,
            defs: ObjectRegistry::with_builtin(),
            queues: BTreeMap::new(),
            events: VecDeque::new(),
            outgoing: VecDeque::new(),
            endpoint_policy: None,
        }
    }

    /// Sets the policy that ties endpoint names to security identities; a Register it
    /// refuses is answered 4.03 Forbidden (Transport §6.7: "The Endpoint Client Name
    /// registration in the LwM2M Server is not allowed").
    pub fn set_endpoint_policy(&mut self, policy: EndpointPolicy) {
        self.endpoint_policy = Some(policy);
    }

    /// Replaces the object definitions used to type Send payloads.
    pub fn set_object_defs(&mut self, defs: ObjectRegistry) {
        self.defs = defs;
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// A registration by id.
    pub fn registration(&self, id: &RegistrationId) -> Option<Registration> {
        self.store.get(id)
    }

    /// Handles one request to the registration interface (`/rd`, `/rd/<id>`) or Send
    /// (`/dp`) and returns the response to send.
    pub fn handle_request(
        &mut self,
        req: &Request,
        identity: &Identity,
        now: Duration,
        rng: &mut impl RandomSource,
    ) -> Response {
        if self.events.len() >= self.config.max_pending_events {
            return RegistrationError::EventQueueFull {
                max: self.config.max_pending_events,
            }
            .response();
        }
        let segments: Vec<&str> = req.path.iter().map(String::as_str).collect();
        let result = match (segments.as_slice(), req.code) {
            (["rd"], Code::POST) => self.register(req, identity, now, rng),
            (["rd", id], Code::POST) => self.update(id, req, identity, now),
            (["rd", id], Code::DELETE) => self.deregister(id, identity),
            (["dp"], Code::POST) => self.send(req, identity, now),
            (["rd"] | ["rd", _] | ["dp"], _) => Err(RegistrationError::MethodNotAllowed),
            _ => Err(RegistrationError::NotFound),
        };
        result.unwrap_or_else(|e| e.response())
    }

    fn parse_params(req: &Request, allowed: &[&'static str]) -> Result<Params, RegistrationError> {
        let mut p = Params::default();
        let mut seen: Vec<&'static str> = Vec::new();
        let mut version_text = None;
        for q in &req.query {
            let (name, value) = match q.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (q.as_str(), None),
            };
            let Some(&name) = allowed.iter().find(|a| **a == name) else {
                return Err(RegistrationError::UnknownParameter {
                    name: String::from(name),
                });
            };
            if name != "pid" {
                if seen.contains(&name) {
                    return Err(RegistrationError::DuplicateParameter { name });
                }
                seen.push(name);
            }
            let need = |v: Option<&str>| {
                v.filter(|v| !v.is_empty()).map(String::from).ok_or(
                    RegistrationError::InvalidParameter {
                        name,
                        reason: "needs a value",
                    },
                )
            };
            match name {
                "ep" => p.ep = Some(need(value)?),
                "lt" => {
                    let v = need(value)?;
                    let secs: u32 = if v.bytes().all(|c| c.is_ascii_digit()) {
                        v.parse().ok()
                    } else {
                        None
                    }
                    .filter(|s| *s > 0)
                    .ok_or(RegistrationError::InvalidParameter {
                        name,
                        reason: "not a lifetime in seconds (1..2^32-1)",
                    })?;
                    p.lt = Some(Duration::from_secs(u64::from(secs)));
                }
                "lwm2m" => version_text = Some(need(value)?),
                "b" => p.b = Some(need(value)?),
                "Q" => {
                    if value.is_some() {
                        return Err(RegistrationError::InvalidParameter {
                            name,
                            reason: "takes no value",
                        });
                    }
                    p.q = true;
                }
                "sms" => {
                    let v = need(value)?;
                    // Transport §6.4.3 note: MSISDN digits, without "+".
                    if !v.bytes().all(|c| c.is_ascii_digit()) {
                        return Err(RegistrationError::InvalidParameter {
                            name,
                            reason: "not an MSISDN (digits only)",
                        });
                    }
                    p.sms = Some(v);
                }
                _ => p.pid.push(need(value)?),
            }
        }
        if let Some(v) = version_text {
            p.lwm2m = Some(match v.as_str() {
                "1.0" => LwM2mVersion::V1_0,
                "1.1" => LwM2mVersion::V1_1,
                "1.2" => LwM2mVersion::V1_2,
                other => {
                    let (a, b) = other.split_once('.').unwrap_or((other, ""));
                    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
                    if numeric(a) && numeric(b) {
                        return Err(RegistrationError::UnsupportedVersion { version: v });
                    }
                    return Err(RegistrationError::InvalidParameter {
                        name: "lwm2m",
                        reason: "not a version MAJOR.MINOR",
                    });
                }
            });
        }
        Ok(p)
    }

    fn parse_objects(&self, req: &Request) -> Result<Option<ObjectList>, RegistrationError> {
        if req.payload.is_empty() {
            return Ok(None);
        }
        let invalid = |reason: &str| RegistrationError::InvalidPayload {
            reason: String::from(reason),
        };
        if let Some(cf) = req.content_format {
            if cf != ContentFormat::LINK_FORMAT {
                return Err(invalid("Content-Format is not application/link-format"));
            }
        }
        let text = core::str::from_utf8(&req.payload).map_err(|_| invalid("not UTF-8"))?;
        // Core §6.2.1.1 / §6.2.2.4: an alternate path is announced as
        // `</path>;rt="oma.lwm2m"`; every target is below it.
        let doc = LinkFormat::parse_lenient(text.trim())
            .map_err(|_| invalid("not a valid link-format document"))?;
        let mut root = String::from("/");
        let mut cts = Vec::new();
        for l in doc.links() {
            if l.resource_types().any(|rt| rt == "oma.lwm2m") {
                root = String::from(l.target().trim_end_matches('/'));
                if root.is_empty() {
                    root = String::from("/");
                }
                cts.extend(l.content_formats().map(ContentFormat));
            }
        }
        let links = link::parse(text, &root).map_err(|e| RegistrationError::InvalidPayload {
            reason: format!("{e}"),
        })?;
        let objects: Vec<Link> = links.into_iter().filter(|l| !l.path.is_root()).collect();
        if objects.len() > self.config.max_objects {
            return Err(RegistrationError::TooManyObjects {
                max: self.config.max_objects,
            });
        }
        for l in &objects {
            if l.path.len() > 2 {
                return Err(invalid("object list links must be /O or /O/I"));
            }
            // Core §6.2.1 "Registration Parameters": Security (0) and OSCORE (21) MUST NOT
            // be part of the list.
            if matches!(l.path.object_id().map(ObjectId::get), Some(0 | 21)) {
                return Err(invalid(
                    "the Security (0) and OSCORE (21) Objects must not be listed",
                ));
            }
        }
        Ok(Some((root, cts, objects)))
    }

    fn register(
        &mut self,
        req: &Request,
        identity: &Identity,
        now: Duration,
        rng: &mut impl RandomSource,
    ) -> Result<Response, RegistrationError> {
        let p = Self::parse_params(req, &["ep", "lt", "lwm2m", "b", "Q", "sms", "pid"])?;
        // Core §6.2.1: the Endpoint Client Name is optional in the TS, but this core has
        // no other source for it (no certificate CN), so it is required here.
        let endpoint =
            p.ep.ok_or(RegistrationError::MissingParameter { name: "ep" })?;
        if endpoint.len() > self.config.max_endpoint_len {
            return Err(RegistrationError::EndpointTooLong {
                max: self.config.max_endpoint_len,
            });
        }
        // A 1.0 client may omit `lwm2m` (1.0 default); 1.1+ always send it.
        let version = p.lwm2m.unwrap_or(LwM2mVersion::V1_0);
        if p.q && version == LwM2mVersion::V1_0 {
            return Err(RegistrationError::InvalidParameter {
                name: "Q",
                reason: "queue mode parameter needs LwM2M 1.1 or later",
            });
        }
        let (binding, q_letter) = match &p.b {
            Some(b) => Binding::parse(b, version)?,
            None => (Binding::UDP, false),
        };
        let (root_path, content_formats, objects) = self
            .parse_objects(req)?
            .unwrap_or_else(|| (String::from("/"), Vec::new(), Vec::new()));
        if objects.is_empty() {
            return Err(RegistrationError::NoObjects);
        }
        if !identity.is_authenticated() && !self.config.allow_unsecured {
            return Err(RegistrationError::NotAllowed);
        }
        if self
            .endpoint_policy
            .is_some_and(|allowed| !allowed(&endpoint, identity))
        {
            return Err(RegistrationError::EndpointNotAllowed);
        }
        let previous = self.store.get_by_endpoint(&endpoint);
        if previous.is_none() && self.store.len() >= self.config.max_registrations {
            return Err(RegistrationError::TooManyRegistrations {
                max: self.config.max_registrations,
            });
        }
        // 128 random bits do not collide in practice; a broken RNG must not make two
        // registrations share an id, so a few fresh draws are tried.
        let mut id = RegistrationId::random(rng);
        for _ in 0..4 {
            if self.store.get(&id).is_none() {
                break;
            }
            id = RegistrationId::random(rng);
        }
        if self.store.get(&id).is_some() {
            return Err(RegistrationError::Store(StoreError::Unavailable));
        }
        let reg = Registration {
            id: id.clone(),
            endpoint: endpoint.clone(),
            identity: identity.clone(),
            version,
            lifetime: p.lt.unwrap_or(DEFAULT_LIFETIME),
            binding,
            queue_mode: p.q || q_letter,
            sms: p.sms,
            profile_ids: p.pid,
            root_path,
            content_formats,
            objects,
            registered_at: now,
            last_update: now,
        };
        let queue_mode = reg.queue_mode;
        let replaced = self.store.insert(reg).map_err(RegistrationError::Store)?;
        match replaced {
            Some(old) => {
                self.queues.remove(&old.id);
                self.events.push_back(Event::Replaced {
                    old: old.id,
                    new: id.clone(),
                    endpoint,
                });
            }
            None => self.events.push_back(Event::Registered {
                id: id.clone(),
                endpoint,
            }),
        }
        if queue_mode {
            self.wake(&id, now);
        }
        // Transport §6.4.3: "The LwM2M Server MUST return a location under the /rd path".
        let mut r = Response::new(Code::CREATED);
        r.options.push(OptionNumber::LOCATION_PATH, "rd");
        r.options.push(OptionNumber::LOCATION_PATH, id.as_str());
        Ok(r)
    }

    fn bound(&self, id: &str, identity: &Identity) -> Result<Registration, RegistrationError> {
        match self.store.get(&RegistrationId::from_text(id)) {
            Some(r) if r.identity == *identity => Ok(r),
            _ => Err(RegistrationError::UnknownRegistration),
        }
    }

    fn update(
        &mut self,
        id: &str,
        req: &Request,
        identity: &Identity,
        now: Duration,
    ) -> Result<Response, RegistrationError> {
        let mut reg = self.bound(id, identity)?;
        // Transport "Registration Interface": an Update carries lt, b, Q and sms, no
        // `lwm2m` (Core §6.2.2). LwM2M 1.0 clients (e.g. lwm2m-node-lib) re-send it on every
        // Update anyway: tolerated (validated as on Register) and ignored, the version stays
        // the one the client registered with.
        let p = Self::parse_params(req, &["lt", "lwm2m", "b", "Q", "sms", "pid"])?;
        if p.q && reg.version == LwM2mVersion::V1_0 {
            return Err(RegistrationError::InvalidParameter {
                name: "Q",
                reason: "queue mode parameter needs LwM2M 1.1 or later",
            });
        }
        if let Some(b) = &p.b {
            let (binding, q_letter) = Binding::parse(b, reg.version)?;
            reg.binding = binding;
            // A 1.0 binding carries queue mode (`UQ`); a 1.1+ Update without `Q` leaves it
            // as registered (Update parameters are sent only when they change).
            if reg.version == LwM2mVersion::V1_0 {
                reg.queue_mode = q_letter;
            }
        }
        if p.q {
            reg.queue_mode = true;
        }
        let mut objects_changed = false;
        if let Some((root, cts, objects)) = self.parse_objects(req)? {
            objects_changed = objects != reg.objects;
            reg.root_path = root;
            if !cts.is_empty() {
                reg.content_formats = cts;
            }
            reg.objects = objects;
        }
        if let Some(lt) = p.lt {
            reg.lifetime = lt;
        }
        if p.sms.is_some() {
            reg.sms = p.sms;
        }
        if !p.pid.is_empty() {
            reg.profile_ids = p.pid;
        }
        reg.last_update = now;
        let queue_mode = reg.queue_mode;
        let rid = reg.id.clone();
        self.store.update(reg).map_err(RegistrationError::Store)?;
        self.events.push_back(Event::Updated {
            id: rid.clone(),
            objects_changed,
        });
        if queue_mode {
            self.wake(&rid, now);
        } else {
            self.release_all(&rid);
        }
        Ok(Response::new(Code::CHANGED))
    }

    fn deregister(&mut self, id: &str, identity: &Identity) -> Result<Response, RegistrationError> {
        let reg = self.bound(id, identity)?;
        self.store.remove(&reg.id);
        self.queues.remove(&reg.id);
        self.events.push_back(Event::Deregistered {
            id: reg.id,
            endpoint: reg.endpoint,
        });
        Ok(Response::new(Code::DELETED))
    }

    fn send(
        &mut self,
        req: &Request,
        identity: &Identity,
        now: Duration,
    ) -> Result<Response, RegistrationError> {
        // An unauthenticated peer cannot be tied to a registration: refused like an
        // unregistered one (Transport §6.7 lists 4.04 for Send). A NoSec peer's address
        // ties it to its registration only where NoSec is allowed.
        let nosec_address = self.config.allow_unsecured && matches!(identity, Identity::Address(_));
        if !identity.is_authenticated() && !nosec_address {
            return Err(RegistrationError::UnknownRegistration);
        }
        let reg = self
            .store
            .get_by_identity(identity)
            .ok_or(RegistrationError::UnknownRegistration)?;
        // Transport §6.4.5 "Send": Content Format SenML CBOR or SenML JSON.
        let format = match req.content_format {
            Some(ContentFormat::SENML_JSON) => Format::SenmlJson,
            Some(ContentFormat::SENML_CBOR) => Format::SenmlCbor,
            _ => {
                return Err(RegistrationError::InvalidSend {
                    reason: String::from("Content-Format must be SenML JSON or SenML CBOR"),
                });
            }
        };
        let records =
            mote_lwm2m::decode(format, &Path::ROOT, &req.payload, &self.defs).map_err(|e| {
                RegistrationError::InvalidSend {
                    reason: format!("{e}"),
                }
            })?;
        if let Some(object) = records
            .iter()
            .filter_map(|r| r.path.object_id())
            .find(|o| !reg.has_object(*o))
        {
            return Err(RegistrationError::UnregisteredObject { object });
        }
        if reg.queue_mode {
            self.wake(&reg.id, now);
        }
        self.events.push_back(Event::Data {
            id: reg.id,
            format,
            records,
        });
        Ok(Response::new(Code::CHANGED))
    }

    fn wake(&mut self, id: &RegistrationId, now: Duration) {
        let q = self.queues.entry(id.clone()).or_default();
        let was_awake = q.awake_until.is_some();
        q.awake_until = Some(now.saturating_add(self.config.awake_window));
        if !was_awake {
            self.events.push_back(Event::Awake { id: id.clone() });
        }
        self.release_all(id);
    }

    fn release_all(&mut self, id: &RegistrationId) {
        if let Some(q) = self.queues.get_mut(id) {
            while let Some(r) = q.held.pop_front() {
                self.outgoing.push_back((id.clone(), r));
            }
        }
    }

    /// Records that a queue-mode client sent something (a response, a notification):
    /// it is awake for another [`ServerConfig::awake_window`].
    pub fn note_activity(&mut self, id: &RegistrationId, now: Duration) {
        if self.store.get(id).is_some_and(|r| r.queue_mode) {
            self.wake(id, now);
        }
    }

    /// Whether a queue-mode client is awake (always `true` for other clients).
    pub fn is_awake(&self, id: &RegistrationId) -> bool {
        match self.store.get(id) {
            Some(r) if r.queue_mode => self.queues.get(id).is_some_and(|q| q.awake_until.is_some()),
            Some(_) => true,
            None => false,
        }
    }

    /// Submits an application request for a client: released at once to
    /// [`Server::poll_request`] when the client is reachable, else held (bounded by
    /// [`ServerConfig::max_queued_requests`]) until it wakes. Returns whether it was held.
    ///
    /// # Errors
    /// [`QueueError`] for an unknown registration or a full queue.
    pub fn submit(
        &mut self,
        id: &RegistrationId,
        request: RequestParts,
    ) -> Result<bool, QueueError> {
        if self.store.get(id).is_none() {
            return Err(QueueError::UnknownRegistration(id.clone()));
        }
        if self.is_awake(id) {
            self.outgoing.push_back((id.clone(), request));
            return Ok(false);
        }
        let max = self.config.max_queued_requests;
        let q = self.queues.entry(id.clone()).or_default();
        if q.held.len() >= max {
            return Err(QueueError::Full {
                id: id.clone(),
                max,
            });
        }
        q.held.push_back(request);
        Ok(true)
    }

    /// The number of requests held for a sleeping client.
    pub fn held_requests(&self, id: &RegistrationId) -> usize {
        self.queues.get(id).map_or(0, |q| q.held.len())
    }

    /// The next request that may be sent now, with its registration.
    pub fn poll_request(&mut self) -> Option<(RegistrationId, RequestParts)> {
        self.outgoing.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Server::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let awake = self.queues.values().filter_map(|q| q.awake_until).min();
        match (self.store.next_expiry(), awake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Expires registrations whose lifetime ran out (`expires_at <= now`) and puts
    /// queue-mode clients whose awake window ended to sleep.
    pub fn handle_timeout(&mut self, now: Duration) {
        for reg in self.store.remove_expired(now) {
            self.queues.remove(&reg.id);
            self.events.push_back(Event::Expired {
                id: reg.id,
                endpoint: reg.endpoint,
            });
        }
        for (id, q) in &mut self.queues {
            if q.awake_until.is_some_and(|t| t <= now) {
                q.awake_until = None;
                self.events.push_back(Event::Sleeping { id: id.clone() });
            }
        }
    }
}
