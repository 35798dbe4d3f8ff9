//! The Bootstrap Interface, server side (LwM2M TS 1.2 Core §6.1, Transport §6.4.2): a typed
//! provisioning plan per endpoint ([`BootstrapConfig`], one struct per Object instance with
//! the TS resource IDs) and the sans-IO [`BootstrapServer`] that answers a
//! Bootstrap-Request and then produces the request sequence.
//!
//! # Sequence
//! 1. `POST /bs?ep=…&pct=…` → 2.04 Changed (4.00 for an endpoint without a plan, 4.15 for
//!    a `pct` that is not a hierarchical format — Transport §6.7, Bootstrap table).
//! 2. Bootstrap-Discover `/` and Bootstrap-Read of `/1` and `/2`, **before anything is
//!    written**: the Bootstrap Server learns the server accounts and the Access Control
//!    Rights already in place (requirement LightweightM2M-BsR-001). `/2` is read only when
//!    the Discover response lists Object 2.
//! 3. Bootstrap-Delete of each path of [`BootstrapConfig::delete`] (default `/`).
//! 4. Bootstrap-Write of each instance (PUT `/O/I`): `/0`, `/21`, `/1`, `/2`, in the
//!    client's preferred content format (`pct`, else the plan's, else TLV).
//! 5. Bootstrap-Finish (`POST /bs`): 2.04 ends the session [`BootstrapOutcome::Finished`];
//!    4.06 Not Acceptable ("inconsistent loaded configuration") or any other error code
//!    ends it [`BootstrapOutcome::Failed`] with the step and the code.
//!
//! # Call order
//! [`BootstrapServer::handle_request`] for the Bootstrap-Request; then repeatedly
//! [`BootstrapServer::poll_request`] (one outstanding request per session, CoAP NSTART 1)
//! and [`BootstrapServer::handle_response`] with the client's answer;
//! [`BootstrapServer::poll_outcome`] for finished sessions; [`BootstrapServer::poll_timeout`]
//! / [`BootstrapServer::handle_timeout`] to fail sessions that stall.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::option::{OptionList, OptionNumber, OptionRef};
use mote_lwm2m::link::{self, Link};
use mote_lwm2m::object::ObjectRegistry;
use mote_lwm2m::{Format, ObjectLink, Path, Record, Value};

use crate::message::{Identity, Request, Response};
use crate::operation::RequestParts;

/// Security Mode, resource /0/x/2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecurityMode {
    /// 0: Pre-Shared Key.
    PreSharedKey,
    /// 1: Raw Public Key.
    RawPublicKey,
    /// 2: Certificate.
    Certificate,
    /// 3: NoSec (also with OSCORE, which /0/x/17 then names).
    NoSec,
    /// 4: Certificate with EST.
    CertificateWithEst,
}

impl SecurityMode {
    const fn value(self) -> i64 {
        match self {
            SecurityMode::PreSharedKey => 0,
            SecurityMode::RawPublicKey => 1,
            SecurityMode::Certificate => 2,
            SecurityMode::NoSec => 3,
            SecurityMode::CertificateWithEst => 4,
        }
    }
}

fn rec(o: u16, i: u16, r: u16, v: Value) -> Option<Record> {
    Path::new(&[o, i, r]).ok().map(|p| Record::new(p, v))
}

/// An LwM2M Security Object (/0) instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityInstance {
    /// The instance ID.
    pub instance: u16,
    /// 0: LwM2M Server URI.
    pub server_uri: String,
    /// 1: Bootstrap-Server.
    pub bootstrap_server: bool,
    /// 2: Security Mode.
    pub security_mode: SecurityMode,
    /// 3: Public Key or Identity.
    pub public_key_or_identity: Vec<u8>,
    /// 4: Server Public Key.
    pub server_public_key: Vec<u8>,
    /// 5: Secret Key.
    pub secret_key: Vec<u8>,
    /// 10: Short Server ID (not for the Bootstrap-Server account).
    pub short_server_id: Option<u16>,
    /// 11: Client Hold Off Time, seconds.
    pub client_hold_off_time: Option<u32>,
    /// 17: OSCORE Security Mode, the /21 instance.
    pub oscore_security_mode: Option<u16>,
}

impl SecurityInstance {
    /// The records of this instance.
    #[must_use]
    pub fn records(&self) -> Vec<Record> {
        let i = self.instance;
        [
            rec(0, i, 0, Value::String(self.server_uri.clone())),
            rec(0, i, 1, Value::Boolean(self.bootstrap_server)),
            rec(0, i, 2, Value::Integer(self.security_mode.value())),
            rec(0, i, 3, Value::Opaque(self.public_key_or_identity.clone())),
            rec(0, i, 4, Value::Opaque(self.server_public_key.clone())),
            rec(0, i, 5, Value::Opaque(self.secret_key.clone())),
            self.short_server_id
                .and_then(|s| rec(0, i, 10, Value::Integer(i64::from(s)))),
            self.client_hold_off_time
                .and_then(|s| rec(0, i, 11, Value::Integer(i64::from(s)))),
            self.oscore_security_mode
                .and_then(|o| rec(0, i, 17, Value::Objlnk(ObjectLink::new(21, o)))),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// An LwM2M Server Object (/1) instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInstance {
    /// The instance ID.
    pub instance: u16,
    /// 0: Short Server ID.
    pub short_server_id: u16,
    /// 1: Lifetime, seconds.
    pub lifetime: u32,
    /// 2: Default Minimum Period.
    pub default_pmin: Option<u32>,
    /// 3: Default Maximum Period.
    pub default_pmax: Option<u32>,
    /// 6: Notification Storing When Disabled or Offline.
    pub notification_storing: bool,
    /// 7: Binding (`U`, `UQ`, `T`, …).
    pub binding: String,
}

impl ServerInstance {
    /// The records of this instance.
    #[must_use]
    pub fn records(&self) -> Vec<Record> {
        let i = self.instance;
        [
            rec(1, i, 0, Value::Integer(i64::from(self.short_server_id))),
            rec(1, i, 1, Value::Integer(i64::from(self.lifetime))),
            self.default_pmin
                .and_then(|v| rec(1, i, 2, Value::Integer(i64::from(v)))),
            self.default_pmax
                .and_then(|v| rec(1, i, 3, Value::Integer(i64::from(v)))),
            rec(1, i, 6, Value::Boolean(self.notification_storing)),
            rec(1, i, 7, Value::String(self.binding.clone())),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// An Access Control Object (/2) instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessControlInstance {
    /// The instance ID.
    pub instance: u16,
    /// 0: Object ID.
    pub object_id: u16,
    /// 1: Object Instance ID (65535: the Object itself, for Create).
    pub object_instance_id: u16,
    /// 2: ACL, Short Server ID → access rights bits (R 1, W 2, E 4, D 8, C 16).
    pub acl: Vec<(u16, u16)>,
    /// 3: Access Control Owner.
    pub owner: u16,
}

impl AccessControlInstance {
    /// The records of this instance.
    #[must_use]
    pub fn records(&self) -> Vec<Record> {
        let i = self.instance;
        let mut out: Vec<Record> = [
            rec(2, i, 0, Value::Integer(i64::from(self.object_id))),
            rec(2, i, 1, Value::Integer(i64::from(self.object_instance_id))),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (ssid, rights) in &self.acl {
            if let Ok(p) = Path::new(&[2, i, 2, *ssid]) {
                out.push(Record::new(p, Value::Integer(i64::from(*rights))));
            }
        }
        out.extend(rec(2, i, 3, Value::Integer(i64::from(self.owner))));
        out
    }
}

/// An OSCORE Object (/21) instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OscoreInstance {
    /// The instance ID.
    pub instance: u16,
    /// 0: Master Secret.
    pub master_secret: Vec<u8>,
    /// 1: Sender ID.
    pub sender_id: Vec<u8>,
    /// 2: Recipient ID.
    pub recipient_id: Vec<u8>,
    /// 3: AEAD Algorithm (COSE algorithm number).
    pub aead_algorithm: Option<i64>,
    /// 4: HMAC Algorithm (COSE algorithm number).
    pub hmac_algorithm: Option<i64>,
    /// 5: Master Salt.
    pub master_salt: Option<Vec<u8>>,
    /// 6: ID Context.
    pub id_context: Option<Vec<u8>>,
}

impl OscoreInstance {
    /// The records of this instance.
    #[must_use]
    pub fn records(&self) -> Vec<Record> {
        let i = self.instance;
        [
            rec(21, i, 0, Value::Opaque(self.master_secret.clone())),
            rec(21, i, 1, Value::Opaque(self.sender_id.clone())),
            rec(21, i, 2, Value::Opaque(self.recipient_id.clone())),
            self.aead_algorithm
                .and_then(|v| rec(21, i, 3, Value::Integer(v))),
            self.hmac_algorithm
                .and_then(|v| rec(21, i, 4, Value::Integer(v))),
            self.master_salt
                .as_ref()
                .and_then(|v| rec(21, i, 5, Value::Opaque(v.clone()))),
            self.id_context
                .as_ref()
                .and_then(|v| rec(21, i, 6, Value::Opaque(v.clone()))),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The provisioning plan of one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapConfig {
    /// Paths to Bootstrap-Delete before writing (default `/`: every instance but the
    /// Bootstrap-Server account and the Device Object, Core §6.1.7.x).
    pub delete: Vec<Path>,
    /// The format when the client sends no `pct` (default TLV, readable by 1.0 clients).
    pub format: Option<Format>,
    /// Discover `/` and Read `/1`, `/2` before writing (BsR-001; default on).
    pub read_before_write: bool,
    /// Security instances.
    pub security: Vec<SecurityInstance>,
    /// Server instances.
    pub servers: Vec<ServerInstance>,
    /// Access Control instances.
    pub access_control: Vec<AccessControlInstance>,
    /// OSCORE instances.
    pub oscore: Vec<OscoreInstance>,
    /// Whether the plan is also served whole as a Bootstrap-Pack (`GET /bspack`, Core
    /// §6.1, "Bootstrap-Pack-Request Operation"; default on). Off: a Bootstrap-Pack-Request
    /// is answered 4.05 Method Not Allowed, which the TS names for a server that "wishes the
    /// LwM2M Client not to use Bootstrap-Pack", and the client falls back to
    /// Bootstrap-Request.
    pub allow_pack: bool,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            delete: alloc::vec![Path::ROOT],
            format: None,
            read_before_write: true,
            security: Vec::new(),
            servers: Vec::new(),
            access_control: Vec::new(),
            oscore: Vec::new(),
            allow_pack: true,
        }
    }
}

impl BootstrapConfig {
    /// Every record of the plan, in the order of the Bootstrap-Writes: `/0`, `/21`, `/1`,
    /// `/2` — the content of its Bootstrap-Pack.
    #[must_use]
    pub fn records(&self) -> Vec<Record> {
        self.security
            .iter()
            .flat_map(SecurityInstance::records)
            .chain(self.oscore.iter().flat_map(OscoreInstance::records))
            .chain(self.servers.iter().flat_map(ServerInstance::records))
            .chain(
                self.access_control
                    .iter()
                    .flat_map(AccessControlInstance::records),
            )
            .collect()
    }
}

/// The formats a Bootstrap-Pack is served in, the first the default when the request has no
/// Accept option (Transport §6.4.1, Bootstrap Interface table: "GET Accept: SenML CBOR, SenML
/// JSON, or LwM2M CBOR").
pub const PACK_FORMATS: [Format; 3] = [Format::SenmlCbor, Format::SenmlJson, Format::LwM2mCbor];

/// One step of a bootstrap session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootstrapStep {
    /// Bootstrap-Discover `/`.
    Discover,
    /// Bootstrap-Read of an Object.
    Read(Path),
    /// Bootstrap-Delete of a path.
    Delete(Path),
    /// Bootstrap-Write of an instance.
    Write(Path),
    /// Bootstrap-Finish.
    Finish,
}

/// A request of a bootstrap session, to send to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapRequest {
    /// The endpoint name.
    pub endpoint: String,
    /// The security identity its Bootstrap-Request came with.
    pub identity: Identity,
    /// The step.
    pub step: BootstrapStep,
    /// The CoAP request.
    pub parts: RequestParts,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum BootstrapOutcome {
    /// Bootstrap-Finish answered 2.04.
    Finished {
        /// The Bootstrap-Discover links.
        discovered: Vec<Link>,
        /// What Bootstrap-Read returned, /1 then /2.
        read: Vec<Record>,
    },
    /// A step failed.
    Failed {
        /// The step.
        step: BootstrapStep,
        /// The response code (`None`: the session timed out).
        code: Option<Code>,
        /// The diagnostic payload or reason.
        diagnostic: String,
    },
}

/// Errors of the bootstrap engine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// `ep` missing from the Bootstrap-Request.
    #[error("missing parameter ep")]
    MissingEndpoint,
    /// No plan for this endpoint (Transport §6.7: "Unknown Endpoint Client Name").
    #[error("unknown endpoint client name")]
    UnknownEndpoint,
    /// A `pct` this server cannot write in.
    #[error("preferred content format {0} not supported")]
    UnsupportedFormat(ContentFormat),
    /// A malformed parameter.
    #[error("invalid parameter {name}")]
    InvalidParameter {
        /// The name.
        name: &'static str,
    },
    /// [`BootstrapLimits::max_sessions`] sessions are running.
    #[error("too many bootstrap sessions ({max})")]
    TooManySessions {
        /// The bound.
        max: usize,
    },
    /// No session for this endpoint, or none waiting for a response.
    #[error("no outstanding bootstrap request for this endpoint")]
    NoOutstandingRequest,
    /// Encoding a plan instance failed.
    #[error("encoding: {0}")]
    Encode(mote_lwm2m::Error),
    /// Not a bootstrap path / method.
    #[error("not found")]
    NotFound,
    /// A Bootstrap-Pack-Request whose Accept names no format a pack is served in
    /// ([`PACK_FORMATS`]).
    #[error("no Bootstrap-Pack in content format {0}")]
    NotAcceptable(ContentFormat),
    /// A method other than GET on `/bspack`.
    #[error("method {0} not allowed on /bspack")]
    MethodNotAllowed(Code),
    /// The endpoint's plan is not served as a Bootstrap-Pack
    /// ([`BootstrapConfig::allow_pack`] off).
    #[error("Bootstrap-Pack not offered to this endpoint, use Bootstrap-Request")]
    PackNotOffered,
}

impl BootstrapError {
    /// The response code for a Bootstrap-Request refused with this error.
    #[must_use]
    pub fn code(&self) -> Code {
        match self {
            BootstrapError::UnsupportedFormat(_) => Code::UNSUPPORTED_CONTENT_FORMAT,
            BootstrapError::TooManySessions { .. } => Code::SERVICE_UNAVAILABLE,
            BootstrapError::NotFound => Code::NOT_FOUND,
            BootstrapError::NotAcceptable(_) => Code::NOT_ACCEPTABLE,
            BootstrapError::MethodNotAllowed(_) | BootstrapError::PackNotOffered => {
                Code::METHOD_NOT_ALLOWED
            }
            _ => Code::BAD_REQUEST,
        }
    }
}

/// Bounds of the bootstrap engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapLimits {
    /// Sessions running at once.
    pub max_sessions: usize,
    /// A session with no response for this long fails.
    pub response_timeout: Duration,
    /// Ended sessions kept until [`BootstrapServer::poll_outcome`]; beyond, the outcome of a
    /// session that ends is dropped and counted ([`BootstrapServer::dropped_outcomes`]).
    pub max_queued_outcomes: usize,
}

impl Default for BootstrapLimits {
    fn default() -> Self {
        BootstrapLimits {
            max_sessions: 64,
            response_timeout: Duration::from_secs(247),
            max_queued_outcomes: 64,
        }
    }
}

#[derive(Debug)]
struct Session {
    identity: Identity,
    format: Format,
    config: BootstrapConfig,
    step: usize,
    steps: Vec<BootstrapStep>,
    awaiting: bool,
    deadline: Duration,
    discovered: Vec<Link>,
    read: Vec<Record>,
}

/// The sans-IO bootstrap engine: plans per endpoint and the running sessions.
#[derive(Debug, Default)]
pub struct BootstrapServer {
    limits: BootstrapLimits,
    plans: BTreeMap<String, BootstrapConfig>,
    sessions: BTreeMap<String, Session>,
    outcomes: VecDeque<(String, BootstrapOutcome)>,
    dropped_outcomes: u64,
    defs: ObjectRegistry,
}

fn initial_steps(config: &BootstrapConfig) -> Vec<BootstrapStep> {
    let mut s = Vec::new();
    if config.read_before_write {
        s.push(BootstrapStep::Discover);
        s.push(BootstrapStep::Read(Path::object_of(1)));
        // /2 is added after Discover when the client has Object 2.
    }
    after_reads(config, &mut s);
    s
}

fn after_reads(config: &BootstrapConfig, s: &mut Vec<BootstrapStep>) {
    for p in &config.delete {
        s.push(BootstrapStep::Delete(*p));
    }
    let inst = |o: u16, i: u16| Path::new(&[o, i]).ok();
    s.extend(
        config
            .security
            .iter()
            .filter_map(|x| inst(0, x.instance))
            .chain(config.oscore.iter().filter_map(|x| inst(21, x.instance)))
            .chain(config.servers.iter().filter_map(|x| inst(1, x.instance)))
            .chain(
                config
                    .access_control
                    .iter()
                    .filter_map(|x| inst(2, x.instance)),
            )
            .map(BootstrapStep::Write),
    );
    s.push(BootstrapStep::Finish);
}

trait ObjectPath {
    fn object_of(o: u16) -> Path;
}

impl ObjectPath for Path {
    fn object_of(o: u16) -> Path {
        Path::new(&[o]).unwrap_or(Path::ROOT)
    }
}

impl BootstrapServer {
    /// An engine with `limits` and no plans.
    #[must_use]
    pub fn new(limits: BootstrapLimits) -> Self {
        BootstrapServer {
            limits,
            defs: ObjectRegistry::with_builtin(),
            ..BootstrapServer::default()
        }
    }

    /// Sets the plan of `endpoint`.
    pub fn set_plan(&mut self, endpoint: &str, plan: BootstrapConfig) {
        self.plans.insert(String::from(endpoint), plan);
    }

    /// The number of running sessions.
    #[must_use]
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Handles a Bootstrap-Request (`POST /bs?ep=…&pct=…`): starts (or restarts) the
    /// endpoint's session and answers 2.04, or refuses it.
    pub fn handle_request(
        &mut self,
        req: &Request,
        identity: &Identity,
        now: Duration,
    ) -> Response {
        match self.start(req, identity, now) {
            Ok(()) => Response::new(Code::CHANGED),
            Err(e) => Response::error(e.code(), &format!("{e}")),
        }
    }

    /// Answers a Bootstrap-Pack-Request (`GET /bspack?ep=…` with Accept, Transport §6.4.1):
    /// 2.05 Content with the endpoint's whole plan ([`BootstrapConfig::records`]) as one pack
    /// in the accepted format (SenML CBOR without Accept), or a refusal with the codes of
    /// Transport §6.7 (Bootstrap Interface table): 4.00 for a missing or unknown Endpoint
    /// Client Name (the code the TS gives "Unknown Endpoint Client Name" for
    /// Bootstrap-Request), 4.04 for another path, 4.05 for a method other than GET or a plan
    /// not offered as a pack, 4.06 for an Accept that is none of [`PACK_FORMATS`]. No session
    /// starts: a pack needs no Bootstrap-Finish (Transport §6.4.1).
    #[must_use]
    pub fn handle_pack_request(&self, req: &Request) -> Response {
        match self.pack(req) {
            Ok((format, payload)) => {
                let mut r = Response::new(Code::CONTENT);
                r.options.push_uint(
                    OptionNumber::CONTENT_FORMAT,
                    u32::from(format.content_format().0),
                );
                r.payload = payload;
                r
            }
            Err(e) => Response::error(e.code(), &format!("{e}")),
        }
    }

    /// The Bootstrap-Pack of a Bootstrap-Pack-Request: its format and encoded records.
    ///
    /// # Errors
    /// The [`BootstrapError`] whose [`BootstrapError::code`] answers the request (see
    /// [`BootstrapServer::handle_pack_request`]).
    pub fn pack(&self, req: &Request) -> Result<(Format, Vec<u8>), BootstrapError> {
        if req.path.len() != 1 || req.path.first().map(String::as_str) != Some("bspack") {
            return Err(BootstrapError::NotFound);
        }
        if req.code != Code::GET {
            return Err(BootstrapError::MethodNotAllowed(req.code));
        }
        // Core §6.1 (Bootstrap-Pack-Request Operation): ep may be left out when it equals the security protocol's identifier;
        // this server keys its plans by name only, so it needs the name.
        let ep = req
            .query_value("ep")
            .filter(|e| !e.is_empty())
            .ok_or(BootstrapError::MissingEndpoint)?;
        let plan = self.plans.get(ep).ok_or(BootstrapError::UnknownEndpoint)?;
        let format = match req.accept {
            None => Format::SenmlCbor,
            Some(cf) => PACK_FORMATS
                .into_iter()
                .find(|f| f.content_format() == cf)
                .ok_or(BootstrapError::NotAcceptable(cf))?,
        };
        if !plan.allow_pack {
            return Err(BootstrapError::PackNotOffered);
        }
        // Core §6.1 (Bootstrap-Pack-Request Operation): the pack holds several Objects and Instances; the client replaces the
        // Objects it names, so every instance of the plan goes in, with full paths.
        let payload = mote_lwm2m::encode(format, &Path::ROOT, &plan.records())
            .map_err(BootstrapError::Encode)?;
        Ok((format, payload))
    }

    fn start(
        &mut self,
        req: &Request,
        identity: &Identity,
        now: Duration,
    ) -> Result<(), BootstrapError> {
        if req.code != Code::POST
            || req.path.len() != 1
            || req.path.first().map(String::as_str) != Some("bs")
        {
            return Err(BootstrapError::NotFound);
        }
        let ep = req
            .query_value("ep")
            .filter(|e| !e.is_empty())
            .ok_or(BootstrapError::MissingEndpoint)?;
        let plan = self.plans.get(ep).ok_or(BootstrapError::UnknownEndpoint)?;
        let format = match req.query_value("pct") {
            Some(v) => {
                let n: u16 = v
                    .parse()
                    .map_err(|_| BootstrapError::InvalidParameter { name: "pct" })?;
                match Format::from_content_format(ContentFormat(n)) {
                    Some(f) if f.is_hierarchical() => f,
                    _ => return Err(BootstrapError::UnsupportedFormat(ContentFormat(n))),
                }
            }
            None => plan.format.unwrap_or(Format::Tlv),
        };
        if !self.sessions.contains_key(ep) && self.sessions.len() >= self.limits.max_sessions {
            return Err(BootstrapError::TooManySessions {
                max: self.limits.max_sessions,
            });
        }
        let session = Session {
            identity: identity.clone(),
            format,
            steps: initial_steps(plan),
            config: plan.clone(),
            step: 0,
            awaiting: false,
            deadline: now.saturating_add(self.limits.response_timeout),
            discovered: Vec::new(),
            read: Vec::new(),
        };
        self.sessions.insert(String::from(ep), session);
        Ok(())
    }

    /// The next request to send. One request per session is outstanding at a time; every
    /// session that is not waiting for a response is looked at, so one session cannot hold
    /// back another. A plan instance that cannot be encoded in the session's format ends that
    /// session ([`BootstrapOutcome::Failed`] with no code) instead of being sent, and so does a
    /// session with no step left.
    pub fn poll_request(&mut self, now: Duration) -> Option<BootstrapRequest> {
        let timeout = self.limits.response_timeout;
        loop {
            let (ep, s) = self.sessions.iter_mut().find(|(_, s)| !s.awaiting)?;
            let Some(step) = s.steps.get(s.step).cloned() else {
                // Every plan ends with Bootstrap-Finish, whose answer ends the session; a
                // session past its last step is over, not a reason to stop looking.
                let ep = ep.clone();
                self.finish(
                    &ep,
                    BootstrapOutcome::Failed {
                        step: BootstrapStep::Finish,
                        code: None,
                        diagnostic: String::from("no step left"),
                    },
                );
                continue;
            };
            match request_for(&step, s) {
                Ok(parts) => {
                    s.awaiting = true;
                    s.deadline = now.saturating_add(timeout);
                    return Some(BootstrapRequest {
                        endpoint: ep.clone(),
                        identity: s.identity.clone(),
                        step,
                        parts,
                    });
                }
                Err(e) => {
                    let ep = ep.clone();
                    self.finish(
                        &ep,
                        BootstrapOutcome::Failed {
                            step,
                            code: None,
                            diagnostic: format!("{e}"),
                        },
                    );
                }
            }
        }
    }

    /// Feeds the client's response to the outstanding request of `endpoint`.
    ///
    /// # Errors
    /// [`BootstrapError::NoOutstandingRequest`] when nothing was sent to that endpoint.
    pub fn handle_response<'a>(
        &mut self,
        endpoint: &str,
        code: Code,
        options: impl IntoIterator<Item = OptionRef<'a>>,
        payload: &[u8],
    ) -> Result<(), BootstrapError> {
        let s = self
            .sessions
            .get_mut(endpoint)
            .filter(|s| s.awaiting)
            .ok_or(BootstrapError::NoOutstandingRequest)?;
        s.awaiting = false;
        let step = s
            .steps
            .get(s.step)
            .cloned()
            .unwrap_or(BootstrapStep::Finish);
        let expected = match step {
            BootstrapStep::Discover | BootstrapStep::Read(_) => Code::CONTENT,
            BootstrapStep::Delete(_) => Code::DELETED,
            BootstrapStep::Write(_) | BootstrapStep::Finish => Code::CHANGED,
        };
        let fail = |code: Option<Code>, diagnostic: String| BootstrapOutcome::Failed {
            step: step.clone(),
            code,
            diagnostic,
        };
        // A client without the Access Control Object answers 4.04 to its Read: no rights
        // in place, not a failure.
        let missing_acl =
            step == BootstrapStep::Read(Path::object_of(2)) && code == Code::NOT_FOUND;
        if code != expected && !missing_acl {
            let outcome = fail(Some(code), String::from_utf8_lossy(payload).into_owned());
            self.finish(endpoint, outcome);
            return Ok(());
        }
        let mut cf = None;
        for o in options {
            if o.number == OptionNumber::CONTENT_FORMAT {
                cf = o.as_uint().ok().and_then(|v| u16::try_from(v).ok());
            }
        }
        let mut problem = None;
        match &step {
            BootstrapStep::Discover => match core::str::from_utf8(payload)
                .map_err(|_| String::from("not UTF-8"))
                .and_then(|t| link::parse(t, "/").map_err(|e| format!("{e}")))
            {
                Ok(links) => {
                    let has_acl = links
                        .iter()
                        .any(|l| l.path.object_id().map(u16::from) == Some(2));
                    if has_acl {
                        // Insert Read /2 right after Read /1 (BsR-001).
                        s.steps
                            .insert(s.step + 2, BootstrapStep::Read(Path::object_of(2)));
                    }
                    s.discovered = links;
                }
                Err(e) => problem = Some(e),
            },
            BootstrapStep::Read(p) if !missing_acl => {
                match cf.map(ContentFormat).and_then(Format::from_content_format) {
                    Some(f) => match mote_lwm2m::decode(f, p, payload, &self.defs) {
                        Ok(r) => s.read.extend(r),
                        Err(e) => problem = Some(format!("{e}")),
                    },
                    None if payload.is_empty() => {}
                    None => {
                        problem = Some(String::from("Read response without a known Content-Format"))
                    }
                }
            }
            BootstrapStep::Finish => {
                let outcome = BootstrapOutcome::Finished {
                    discovered: core::mem::take(&mut s.discovered),
                    read: core::mem::take(&mut s.read),
                };
                self.finish(endpoint, outcome);
                return Ok(());
            }
            _ => {}
        }
        if let Some(p) = problem {
            let outcome = fail(Some(code), p);
            self.finish(endpoint, outcome);
            return Ok(());
        }
        s.step += 1;
        Ok(())
    }

    fn finish(&mut self, endpoint: &str, outcome: BootstrapOutcome) {
        self.sessions.remove(endpoint);
        if self.outcomes.len() >= self.limits.max_queued_outcomes {
            self.dropped_outcomes = self.dropped_outcomes.saturating_add(1);
        } else {
            self.outcomes.push_back((String::from(endpoint), outcome));
        }
    }

    /// Outcomes dropped because [`BootstrapLimits::max_queued_outcomes`] were waiting for
    /// [`BootstrapServer::poll_outcome`].
    #[must_use]
    pub const fn dropped_outcomes(&self) -> u64 {
        self.dropped_outcomes
    }

    /// Ends the running session of `endpoint` as [`BootstrapOutcome::Failed`] at its
    /// current step, without a response code: for the caller whose transport gave up on the
    /// outstanding request (no acknowledgement, a Reset, a failed block-wise transfer).
    /// Returns whether a session was running.
    pub fn abort(&mut self, endpoint: &str, diagnostic: &str) -> bool {
        let Some(s) = self.sessions.get(endpoint) else {
            return false;
        };
        let step = s
            .steps
            .get(s.step)
            .cloned()
            .unwrap_or(BootstrapStep::Finish);
        self.finish(
            endpoint,
            BootstrapOutcome::Failed {
                step,
                code: None,
                diagnostic: String::from(diagnostic),
            },
        );
        true
    }

    /// The next ended session.
    pub fn poll_outcome(&mut self) -> Option<(String, BootstrapOutcome)> {
        self.outcomes.pop_front()
    }

    /// The earliest response deadline of a session waiting for a response.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.sessions
            .values()
            .filter(|s| s.awaiting)
            .map(|s| s.deadline)
            .min()
    }

    /// Fails every session whose response deadline passed.
    pub fn handle_timeout(&mut self, now: Duration) {
        let due: Vec<(String, BootstrapStep)> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.awaiting && s.deadline <= now)
            .map(|(e, s)| {
                (
                    e.clone(),
                    s.steps
                        .get(s.step)
                        .cloned()
                        .unwrap_or(BootstrapStep::Finish),
                )
            })
            .collect();
        for (ep, step) in due {
            self.finish(
                &ep,
                BootstrapOutcome::Failed {
                    step,
                    code: None,
                    diagnostic: String::from("no response"),
                },
            );
        }
    }
}

fn uri_path(parts: &mut RequestParts, path: &Path) {
    for id in path.ids() {
        parts.options.push(OptionNumber::URI_PATH, format!("{id}"));
    }
}

fn request_for(step: &BootstrapStep, s: &Session) -> Result<RequestParts, BootstrapError> {
    let mut r = RequestParts {
        code: Code::GET,
        options: OptionList::new(),
        payload: Vec::new(),
    };
    let cf = u32::from(s.format.content_format());
    match step {
        BootstrapStep::Discover => {
            // Transport §6.4.2: Bootstrap-Discover is GET with Accept application/link-format.
            r.options.push_uint(
                OptionNumber::ACCEPT,
                u32::from(ContentFormat::LINK_FORMAT.0),
            );
        }
        BootstrapStep::Read(p) => {
            uri_path(&mut r, p);
            r.options.push_uint(OptionNumber::ACCEPT, cf);
        }
        BootstrapStep::Delete(p) => {
            r.code = Code::DELETE;
            uri_path(&mut r, p);
        }
        BootstrapStep::Write(p) => {
            r.code = Code::PUT;
            uri_path(&mut r, p);
            let records = instance_records(&s.config, p);
            r.options.push_uint(OptionNumber::CONTENT_FORMAT, cf);
            r.payload =
                mote_lwm2m::encode(s.format, p, &records).map_err(BootstrapError::Encode)?;
        }
        BootstrapStep::Finish => {
            r.code = Code::POST;
            r.options.push(OptionNumber::URI_PATH, "bs");
        }
    }
    Ok(r)
}

fn instance_records(c: &BootstrapConfig, p: &Path) -> Vec<Record> {
    let (Some(o), Some(i)) = (p.object_id().map(u16::from), p.instance_id().map(u16::from)) else {
        return Vec::new();
    };
    match o {
        0 => c
            .security
            .iter()
            .filter(|x| x.instance == i)
            .flat_map(SecurityInstance::records)
            .collect(),
        1 => c
            .servers
            .iter()
            .filter(|x| x.instance == i)
            .flat_map(ServerInstance::records)
            .collect(),
        2 => c
            .access_control
            .iter()
            .filter(|x| x.instance == i)
            .flat_map(AccessControlInstance::records)
            .collect(),
        21 => c
            .oscore
            .iter()
            .filter(|x| x.instance == i)
            .flat_map(OscoreInstance::records)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn bs(ep: &str) -> Request {
        Request::new(Code::POST, &["bs"]).with_query(&format!("ep={ep}"))
    }

    /// A session past its last step (a state no response reaches today: every plan ends with
    /// Bootstrap-Finish, whose answer removes the session) must not hold back the sessions
    /// after it: `poll_request` once returned `None` at the first idle session without a step.
    #[test]
    fn a_session_without_steps_does_not_block_the_others() {
        let mut s = BootstrapServer::new(BootstrapLimits::default());
        s.set_plan("a", BootstrapConfig::default());
        s.set_plan("b", BootstrapConfig::default());
        for ep in ["a", "b"] {
            assert_eq!(
                s.handle_request(&bs(ep), &Identity::None, Duration::ZERO)
                    .code,
                Code::CHANGED
            );
        }
        // "a" comes first in the table; its steps are used up.
        let a = s.sessions.get_mut("a").unwrap();
        a.step = a.steps.len();
        let r = s.poll_request(Duration::ZERO).unwrap();
        assert_eq!(r.endpoint, "b");
        assert_eq!(r.step, BootstrapStep::Discover);
        // "a" ended, reported.
        assert_eq!(s.sessions(), 1);
        let (ep, outcome) = s.poll_outcome().unwrap();
        assert_eq!(ep, "a");
        assert!(matches!(
            outcome,
            BootstrapOutcome::Failed {
                step: BootstrapStep::Finish,
                code: None,
                ..
            }
        ));
    }
}
