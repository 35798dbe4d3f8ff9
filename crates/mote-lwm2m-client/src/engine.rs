//! The LwM2M client engine: [`Client`] (the object store, Device Management and Bootstrap
//! handling with access control), [`Registrar`] (registration and client-initiated
//! bootstrap) and [`Reporter`] (notifications and Send) composed over a mote-coap
//! [`Endpoint`], so that an application only forwards the endpoint's events.
//!
//! The engine owns no endpoint: the application keeps the [`Endpoint`] beside it (it also
//! feeds the socket) and passes it into every call, as quinn-proto's connection is driven
//! beside its endpoint.
//!
//! # Call order
//! 1. Build the [`Client`] (objects, factory configuration), then [`Engine::new`] with a
//!    [`Resolver`] that turns Server URIs of the Security Object (/0/x/0) into peers `P`.
//! 2. [`Engine::start`] once.
//! 3. Loop: feed datagrams to the endpoint ([`Endpoint::handle`]) and run its timers
//!    ([`Endpoint::handle_timeout`] at [`Endpoint::poll_timeout`]); pass every
//!    [`Endpoint::poll_event`] to [`Engine::handle_event`]; when [`Engine::poll_timeout`] is
//!    reached call [`Engine::handle_timeout`]; send every [`Endpoint::poll_transmit`]; read
//!    [`Engine::poll_event`] for the application.
//! 4. The application's own calls ([`Engine::set_value`], [`Engine::send`],
//!    [`Engine::update`], [`Engine::bootstrap`], [`Engine::deregister_all`]) may come at any
//!    point of the loop.
//!
//! # Who is asking (LwM2M TS 1.2 Core §7.3, Transport §5)
//! A request that arrived under a protection identity (an OSCORE security context) is
//! mapped by [`AccountIdentity::requester`]: the context → its /21 instance → the /0
//! instance linking it (/0/x/17) → the Bootstrap-Server or the Short Server ID (/0/x/10).
//! A request without one is accepted only from a peer whose account is configured NoSec
//! (/0/x/2 = 3, no OSCORE link) and whose Server URI resolves to that peer; anything else is
//! answered 4.01 by [`Client::handle`].

use alloc::boxed::Box;
#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
#[cfg(feature = "vec-maps")]
use mote_coap::vec_map::VecMap as BTreeMap;

use mote_access::ShortServerId;
use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::endpoint::{
    BlockwiseError, Endpoint, Event, NotificationOutcome, ObserverHandle, Protection, Reliability,
    RequestId, RequestOptions,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_lwm2m::data::{InstanceData, ResourceData};
use mote_lwm2m::{Format, Path, PathLevel, Value};

use crate::client::{Client, OSCORE, Requester, SECURITY, SecurityIdentity, int};
use crate::edhoc::RekeyError;
#[cfg(feature = "rekey")]
use crate::edhoc::{AfterMessage2, CONTENT_FORMAT_CID_EDHOC, EdhocHandshake, EdhocOutput};
use crate::error::ObjectError;
use crate::firmware::{FirmwarePull, State, UpdateResult};
use crate::registration::{self, Outgoing, Peer, Registrar, RequestHandle};
use crate::reporting::{ObservationToken, Report, ReportEvent, Reporter, SendHandle};
use crate::request::{Request, Response};

/// Resolves a Server URI of the Security Object (`coap://host:port`, /0/x/0) to the
/// endpoint's peer type. Implemented for closures `FnMut(&str) -> Option<P>`.
pub trait Resolver<P> {
    /// The peer of `uri`, or `None` when it cannot be reached (unknown scheme, host).
    fn resolve(&mut self, uri: &str) -> Option<P>;
}

impl<P, F: FnMut(&str) -> Option<P>> Resolver<P> for F {
    fn resolve(&mut self, uri: &str) -> Option<P> {
        self(uri)
    }
}

/// The link between the endpoint's [`Protection::Identity`] and the client's accounts.
///
/// Implemented for `()` (no protection layer: every account is NoSec) and, with the
/// `oscore` feature, for mote-oscore's `ContextId`.
pub trait AccountIdentity: Sized {
    /// Who sent a request that arrived under this identity.
    fn requester(&self, client: &Client) -> Requester;

    /// The identity under which requests to the account of Security Object instance
    /// `security` are protected; `None` when the account has none (NoSec).
    fn for_account(client: &Client, security: u16) -> Option<Self>;
}

impl AccountIdentity for () {
    fn requester(&self, _client: &Client) -> Requester {
        Requester::Unauthenticated
    }

    fn for_account(_client: &Client, _security: u16) -> Option<Self> {
        None
    }
}

#[cfg(feature = "oscore")]
impl AccountIdentity for mote_oscore::endpoint::ContextId {
    fn requester(&self, client: &Client) -> Requester {
        // TS 1.2 Transport §5.5 (OSCORE): the context is the /21 instance whose Recipient
        // ID (resource 2) and ID Context (resource 6) it was derived from.
        let Some((_, inst)) = client.oscore.iter().find(|(_, o)| {
            opaque(o.get(&2)) == Some(self.recipient_id())
                && opaque(o.get(&6)).filter(|c| !c.is_empty()) == self.id_context()
        }) else {
            return Requester::Unauthenticated;
        };
        let Some(sender_id) = opaque(inst.get(&1)) else {
            return Requester::Unauthenticated;
        };
        client.requester_for(SecurityIdentity::Oscore {
            sender_id,
            recipient_id: self.recipient_id(),
        })
    }

    fn for_account(client: &Client, security: u16) -> Option<Self> {
        let oscore = oscore_link(client.security.instance(security)?)?;
        let inst = client.oscore.instance(oscore)?;
        let recipient = opaque(inst.get(&2))?;
        let context = opaque(inst.get(&6)).filter(|c| !c.is_empty());
        mote_oscore::endpoint::ContextId::new(context, recipient).ok()
    }
}

// Keeps the import used without the `oscore` feature.
const _: fn(SecurityIdentity<'_>) = |_| {};

/// The engine's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Requests of the client in flight (Register, Update, Send, …); beyond it a request
    /// fails at once ([`ClientEvent::Error`]) and the registrar retries it as after a timeout.
    pub max_pending: usize,
    /// Events held for [`Engine::poll_event`]; the oldest is dropped beyond it.
    pub max_events: usize,
    /// [`ClientEvent::FirmwareProgress`] comes at most once per this many bytes.
    pub firmware_progress_step: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_pending: 32,
            max_events: 256,
            firmware_progress_step: 64 * 1024,
        }
    }
}

/// What the engine tells the application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Registered with a server (TS 1.2 Core §6.2.1).
    Registered {
        /// The account.
        ssid: ShortServerId,
        /// Its Server URI.
        server: String,
        /// The registration's Location-Path (`/rd/…`).
        location: String,
    },
    /// An Update succeeded (§6.2.2).
    Updated {
        /// The account.
        ssid: ShortServerId,
        /// Its Server URI.
        server: String,
    },
    /// De-registered (§6.2.3), or the account was removed by a bootstrap.
    Deregistered {
        /// The account.
        ssid: ShortServerId,
    },
    /// Every registration attempt to the server failed.
    RegistrationFailed {
        /// The account.
        ssid: ShortServerId,
    },
    /// A client-initiated bootstrap started.
    BootstrapStarted,
    /// Bootstrap-Finish was accepted; the new configuration is stored.
    BootstrapFinished,
    /// The bootstrap failed.
    BootstrapFailed,
    /// A server (or the Bootstrap-Server) wrote values (Write, Write-Composite,
    /// Bootstrap-Write).
    Write {
        /// Who.
        requester: Requester,
        /// Where (the request's path; `/` for a composite).
        path: Path,
    },
    /// A server executed a resource.
    Execute {
        /// Who.
        requester: Requester,
        /// The resource.
        path: Path,
        /// The argument text (TS 1.2 Core §5.4.5).
        arguments: Vec<u8>,
    },
    /// A server created an instance.
    Create {
        /// Who.
        requester: Requester,
        /// The new instance (`/O/I`), or the object when the server gave no instance ID.
        path: Path,
    },
    /// A server deleted an instance (or the Bootstrap-Server a tree).
    Delete {
        /// Who.
        requester: Requester,
        /// Where.
        path: Path,
    },
    /// A notification went to a server (RFC 7641 §4.2 through the endpoint).
    Notify {
        /// The observing server.
        ssid: ShortServerId,
        /// The observed path (the first of a composite).
        path: Path,
        /// Confirmable.
        confirmable: bool,
        /// It had been stored while the server was offline.
        stored: bool,
    },
    /// A Send (`POST /dp`, TS 1.2 Core §6.5) was handed to the endpoint.
    Send {
        /// The destination.
        ssid: ShortServerId,
        /// Its handle.
        handle: SendHandle,
    },
    /// The server answered a Send.
    SendAnswered {
        /// Its handle.
        handle: SendHandle,
        /// The response code.
        code: Code,
    },
    /// A firmware package pull (Package URI, /5/0/1) ended: the Firmware Update object's
    /// State and Update Result now (LwM2M TS 1.2 Core Appendix E.6).
    FirmwareDownload {
        /// State (/5/0/3): Downloaded (2) on success, Idle (0) on failure.
        state: State,
        /// Update Result (/5/0/5).
        result: UpdateResult,
    },
    /// An OSCORE account needs its security context in the endpoint's protection layer
    /// before the engine sends to it (only with [`Engine::provision_contexts`]): derive it
    /// from `account` (RFC 8613 §3.2, its Sender Sequence Number persisted as Appendix B.1.1
    /// asks), add it, then call [`Engine::context_installed`]; the account's requests wait
    /// until then.
    OscoreContextNeeded {
        /// The /21 instance and its /0 account.
        account: OscoreAccount,
    },
    /// An EDHOC handshake with the server (RFC 9528, [`Engine::rekey`]) completed: the
    /// account's OSCORE Object instance holds the new context (RFC 9528 Appendix A.1) and
    /// the client registers again under it.
    Rekeyed {
        /// The account.
        ssid: ShortServerId,
        /// Its Server URI.
        server: String,
    },
    /// An EDHOC handshake with the server failed; the account keeps the context it had.
    RekeyFailed {
        /// The account.
        ssid: ShortServerId,
        /// Why.
        error: RekeyError,
    },
    /// The endpoint challenged a server's request for freshness (RFC 9175 §2.3: 4.01 with
    /// an Echo option, [`mote_coap::endpoint::EndpointConfig::echo`]); the request did not
    /// reach the objects.
    EchoChallenge {
        /// The account the request came from, when known.
        ssid: Option<ShortServerId>,
        /// The request's path (`/5/0/2`).
        path: String,
    },
    /// Progress of a firmware package pull (Package URI, /5/0/1): emitted at most once per
    /// [`EngineConfig::firmware_progress_step`] bytes, and once at the end.
    FirmwareProgress {
        /// Bytes received and handed to the object so far.
        bytes: usize,
        /// The package size, when the server told it (Size2, RFC 7959 §4), else `bytes`.
        total: Option<usize>,
    },
    /// Something went wrong that the application should see.
    Error {
        /// The path concerned, if any.
        path: Option<Path>,
        /// The response code concerned, if any.
        code: Option<Code>,
        /// What happened (empty without the `diagnostics` feature).
        reason: String,
    },
}

/// What a client request in flight is for.
#[derive(Clone, Copy, Debug)]
enum Pending {
    Registrar(RequestHandle),
    Send(SendHandle),
    /// The pull of the Firmware Update object's Package URI.
    Firmware,
    /// A request of an EDHOC handshake for the account of this /0 instance.
    #[cfg(feature = "rekey")]
    Edhoc(u16),
}

/// An EDHOC handshake in progress ([`Engine::rekey`]).
#[cfg(feature = "rekey")]
struct Rekey {
    ssid: ShortServerId,
    handshake: Box<dyn EdhocHandshake>,
    /// message_3 was posted: the next answer finishes the handshake.
    message_3_sent: bool,
}

/// The inputs of an account's OSCORE security context: the OSCORE Object instance (/21)
/// linked from a Security Object instance by /0/x/17 (TS 1.2 Transport §5.5, Core
/// Appendix E.9), as a bootstrap wrote it.
#[derive(Clone, PartialEq, Eq)]
pub struct OscoreAccount {
    /// The Security Object instance (/0/x).
    pub security: u16,
    /// The OSCORE Object instance (/21/x).
    pub oscore: u16,
    /// The Short Server ID of the account (`None` for the Bootstrap-Server account).
    pub ssid: Option<ShortServerId>,
    /// Master Secret (/21/x/0).
    pub master_secret: Vec<u8>,
    /// The client's Sender ID (/21/x/1).
    pub sender_id: Vec<u8>,
    /// The client's Recipient ID (/21/x/2).
    pub recipient_id: Vec<u8>,
    /// AEAD algorithm (/21/x/3, a COSE algorithm number), when given.
    pub aead: Option<i64>,
    /// HMAC (HKDF) algorithm (/21/x/4, a COSE algorithm number), when given.
    pub hkdf: Option<i64>,
    /// Master Salt (/21/x/5), empty when absent.
    pub master_salt: Vec<u8>,
    /// ID Context (/21/x/6), when given and not empty.
    pub id_context: Option<Vec<u8>>,
}

impl core::fmt::Debug for OscoreAccount {
    // The Master Secret stays out of logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OscoreAccount")
            .field("security", &self.security)
            .field("oscore", &self.oscore)
            .field("ssid", &self.ssid)
            .field("sender_id", &self.sender_id)
            .field("recipient_id", &self.recipient_id)
            .field("aead", &self.aead)
            .field("hkdf", &self.hkdf)
            .field("id_context", &self.id_context)
            .finish_non_exhaustive()
    }
}

/// The client's persistent configuration: the Security, Server, Access Control and OSCORE
/// instances a bootstrap wrote (so a restart does not forget its bootstrap, TS 1.2 Core
/// §6.1). The engine stores after every accepted Bootstrap-Finish and every change of those
/// objects; OSCORE sequence numbers are persisted by mote-oscore's own `SequenceStore`.
pub trait Storage {
    /// The stored configuration ([`Engine::configuration`]'s bytes), if any.
    ///
    /// # Errors
    /// [`StorageError`] when it cannot be read.
    fn load(&mut self) -> Result<Option<Vec<u8>>, StorageError>;

    /// Replaces the stored configuration; it must be durable when this returns.
    ///
    /// # Errors
    /// [`StorageError`] when it cannot be written.
    fn store(&mut self, configuration: &[u8]) -> Result<(), StorageError>;
}

/// Why a [`Storage`] failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The medium failed (the text says how).
    #[error("storage failed: {0}")]
    Io(String),
    /// The stored configuration does not decode or does not fit the client's objects.
    #[error("stored configuration is unusable: {0}")]
    Corrupt(String),
}

/// A [`Storage`] in memory (tests, devices that provision at every boot).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStorage {
    /// The stored configuration.
    pub configuration: Option<Vec<u8>>,
    /// How many times it was stored.
    pub writes: usize,
}

impl Storage for MemoryStorage {
    fn load(&mut self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.configuration.clone())
    }

    fn store(&mut self, configuration: &[u8]) -> Result<(), StorageError> {
        self.configuration = Some(configuration.to_vec());
        self.writes += 1;
        Ok(())
    }
}

/// A set of Security Object instance IDs, as a sorted `Vec` (one entry per account: a
/// `BTreeSet` would link a B-tree for a handful of IDs).
#[derive(Debug, Default)]
struct InstanceSet(Vec<u16>);

impl InstanceSet {
    fn contains(&self, id: &u16) -> bool {
        self.0.binary_search(id).is_ok()
    }

    /// Whether `id` was not there yet.
    fn insert(&mut self, id: u16) -> bool {
        match self.0.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, id);
                true
            }
        }
    }

    fn remove(&mut self, id: &u16) -> bool {
        match self.0.binary_search(id) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// The objects kept by [`Storage`].
const PERSISTED: [u16; 4] = [SECURITY, 1, 2, OSCORE];

/// The LwM2M client engine (see the module docs for the call order).
pub struct Engine<P> {
    client: Client,
    registrar: Registrar,
    reporter: Reporter,
    resolver: Box<dyn Resolver<P>>,
    storage: Option<Box<dyn Storage>>,
    config: EngineConfig,
    pending: BTreeMap<RequestId, Pending>,
    observers: BTreeMap<ObservationToken, (ObserverHandle, Path)>,
    tokens: BTreeMap<ObserverHandle, ObservationToken>,
    next_token: u64,
    events: VecDeque<ClientEvent>,
    dropped_events: u64,
    /// [`Engine::provision_contexts`] is on.
    provisioning: bool,
    /// Security Object instances whose context the application installed.
    installed: InstanceSet,
    /// Security Object instances whose context was asked for and not installed yet.
    asked: InstanceSet,
    /// Registrar requests waiting for their account's context (by /0 instance).
    parked: Vec<(u16, Outgoing)>,
    /// EDHOC handshakes in progress, by /0 instance (at most one per account).
    #[cfg(feature = "rekey")]
    rekeys: BTreeMap<u16, Rekey>,
    /// Accounts whose context a handshake replaced and the application has not installed
    /// yet (asked for even without [`Engine::provision_contexts`]).
    rekeyed: InstanceSet,
    /// Firmware pull: bytes received, the package size (Size2) if told, the progress last
    /// reported.
    firmware_progress: (usize, Option<usize>, usize),
}

impl<P> core::fmt::Debug for Engine<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("client", &self.client)
            .field("registrar", &self.registrar)
            .field("pending", &self.pending.len())
            .field("observations", &self.observers.len())
            .finish_non_exhaustive()
    }
}

impl<P: Clone + Eq + Ord + core::fmt::Debug> Engine<P> {
    /// An engine over `client` (objects registered, factory configuration written).
    pub fn new(
        client: Client,
        registrar: Registrar,
        reporter: Reporter,
        resolver: impl Resolver<P> + 'static,
        config: EngineConfig,
    ) -> Engine<P> {
        let mut client = client;
        // The 1.0 tolerances (ClientConfig::lwm2m_1_0) follow the version registered with.
        client.config.lwm2m_1_0 = registrar.lwm2m_version() == "1.0";
        Engine {
            client,
            registrar,
            reporter,
            resolver: Box::new(resolver),
            storage: None,
            config,
            pending: BTreeMap::new(),
            observers: BTreeMap::new(),
            tokens: BTreeMap::new(),
            next_token: 0,
            events: VecDeque::new(),
            dropped_events: 0,
            provisioning: false,
            installed: InstanceSet::default(),
            asked: InstanceSet::default(),
            parked: Vec::new(),
            #[cfg(feature = "rekey")]
            rekeys: BTreeMap::new(),
            rekeyed: InstanceSet::default(),
            firmware_progress: (0, None, 0),
        }
    }

    /// Keeps the configuration in `storage`: what it holds replaces the factory
    /// configuration now (a restart remembers its bootstrap), and every later change is
    /// stored. Returns whether a stored configuration was loaded.
    ///
    /// # Errors
    /// [`StorageError`] when the stored configuration cannot be read or applied.
    pub fn with_storage(
        &mut self,
        mut storage: impl Storage + 'static,
    ) -> Result<bool, StorageError> {
        let loaded = match storage.load()? {
            Some(bytes) => {
                self.restore(&bytes)?;
                true
            }
            None => false,
        };
        self.storage = Some(Box::new(storage));
        Ok(loaded)
    }

    /// Makes the application provision the OSCORE contexts of the accounts (what a
    /// bootstrap wrote into /21, TS 1.2 Transport §5.5): before the first request to an
    /// OSCORE account the engine emits [`ClientEvent::OscoreContextNeeded`] and holds the
    /// account's registration requests until [`Engine::context_installed`]. A Bootstrap-Finish
    /// forgets every installed context (the bootstrap may have replaced them). Off by
    /// default: the application then installs every context before [`Engine::start`].
    pub fn provision_contexts(&mut self, on: bool) {
        self.provisioning = on;
    }

    /// The OSCORE account of Security Object instance `security` (/0/x/17 → /21), if it has
    /// one with a Master Secret, Sender ID and Recipient ID.
    pub fn oscore_account(&self, security: u16) -> Option<OscoreAccount> {
        let sec = self.client.security.instance(security)?;
        let oscore = oscore_link(sec)?;
        let inst = self.client.oscore.instance(oscore)?;
        let bytes = |r: u16| match inst.get(&r) {
            Some(ResourceData::Single(Value::Opaque(b))) => Some(b.clone()),
            Some(ResourceData::Single(Value::String(s))) => Some(s.as_bytes().to_vec()),
            _ => None,
        };
        let bootstrap = matches!(
            sec.get(&1),
            Some(ResourceData::Single(Value::Boolean(true)))
        );
        Some(OscoreAccount {
            security,
            oscore,
            ssid: if bootstrap {
                None
            } else {
                int(sec.get(&10)).map(ShortServerId)
            },
            master_secret: bytes(0)?,
            sender_id: bytes(1)?,
            recipient_id: bytes(2)?,
            aead: int_value(inst.get(&3)),
            hkdf: int_value(inst.get(&4)),
            master_salt: bytes(5).unwrap_or_default(),
            id_context: bytes(6).filter(|c| !c.is_empty()),
        })
    }

    /// Every OSCORE account of the configuration (see [`Engine::oscore_account`]).
    pub fn oscore_accounts(&self) -> Vec<OscoreAccount> {
        let indices: Vec<u16> = self.client.security.iter().map(|(i, _)| i).collect();
        indices
            .into_iter()
            .filter_map(|i| self.oscore_account(i))
            .collect()
    }

    /// The application installed the context of Security Object instance `security` (after
    /// [`ClientEvent::OscoreContextNeeded`]): the account's held requests go out now.
    pub fn context_installed<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        security: u16,
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        self.asked.remove(&security);
        self.rekeyed.remove(&security);
        self.installed.insert(security);
        let (ready, waiting): (Vec<_>, Vec<_>) = core::mem::take(&mut self.parked)
            .into_iter()
            .partition(|(s, _)| *s == security);
        self.parked = waiting;
        for (_, out) in ready {
            self.send_registrar(ep, out, now);
        }
        self.flush(ep, now);
    }

    /// Whether the context of /0 instance `security` that [`ClientEvent::OscoreContextNeeded`]
    /// asks for was just established by an EDHOC handshake (RFC 9528) rather than provisioned
    /// (its keys are fresh: RFC 8613 Appendix B.2 has nothing to add for it).
    pub fn rekeyed(&self, security: u16) -> bool {
        self.rekeyed.contains(&security)
    }

    /// Whether requests to the account of /0 instance `index` wait for its context (and asks
    /// the application for it once).
    fn needs_context(&mut self, index: u16) -> bool {
        #[cfg(feature = "rekey")]
        if self.rekeys.contains_key(&index) {
            // RFC 9528: the account's requests wait for the handshake's context.
            return true;
        }
        if (!self.provisioning && !self.rekeyed.contains(&index)) || self.installed.contains(&index)
        {
            return false;
        }
        let Some(account) = self.oscore_account(index) else {
            return false;
        };
        if self.asked.insert(index) {
            self.event(ClientEvent::OscoreContextNeeded { account });
        }
        true
    }

    /// The client core (objects, access control).
    pub const fn client(&self) -> &Client {
        &self.client
    }

    /// The client core, mutably (e.g. [`Client::object_as`] to reach the application's
    /// objects); call [`Engine::value_changed`] for what changed.
    pub fn client_mut(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The registrar (registration states, locations).
    pub const fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// The reporter (observations, stored reports).
    pub const fn reporter(&self) -> &Reporter {
        &self.reporter
    }

    /// Events dropped because [`EngineConfig::max_events`] was reached.
    pub const fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// The Security, Server, Access Control and OSCORE instances as SenML-CBOR (what
    /// [`Storage`] keeps).
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] when a value cannot be encoded.
    pub fn configuration(&self) -> Result<Vec<u8>, StorageError> {
        let mut records = Vec::new();
        for o in PERSISTED {
            let path =
                Path::new(&[o]).map_err(|e| StorageError::Corrupt(crate::error::describe(&e)))?;
            if let Ok(r) = self.client.collect(&path, mote_access::Grant::Full, None) {
                records.extend(r);
            }
        }
        mote_lwm2m::encode(Format::SenmlCbor, &Path::ROOT, &records)
            .map_err(|e| StorageError::Corrupt(crate::error::describe(&e)))
    }

    /// Replaces the Security, Server, Access Control and OSCORE instances with a
    /// configuration from [`Engine::configuration`].
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] when it does not decode or an object refuses it.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        let records = mote_lwm2m::decode(
            Format::SenmlCbor,
            &Path::ROOT,
            bytes,
            self.client.definitions(),
        )
        .map_err(|e| StorageError::Corrupt(crate::error::describe(&e)))?;
        for o in PERSISTED {
            let path =
                Path::new(&[o]).map_err(|e| StorageError::Corrupt(crate::error::describe(&e)))?;
            self.client.bootstrap_delete_all(o);
            let mine: Vec<_> = records
                .iter()
                .filter(|r| r.path.object_id().map(u16::from) == Some(o))
                .cloned()
                .collect();
            if !mine.is_empty() {
                self.client
                    .bootstrap_write(&path, &mine)
                    .map_err(|e| StorageError::Corrupt(crate::error::describe(&e)))?;
            }
        }
        Ok(())
    }

    fn persist(&mut self) {
        if self.storage.is_none() {
            return;
        }
        let result = self
            .configuration()
            .and_then(|bytes| match self.storage.as_mut() {
                Some(s) => s.store(&bytes),
                None => Ok(()),
            });
        if let Err(e) = result {
            self.event(ClientEvent::Error {
                path: None,
                code: None,
                reason: crate::error::describe(&e),
            });
        }
    }

    fn event(&mut self, e: ClientEvent) {
        if self.events.len() >= self.config.max_events {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(e);
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Starts registering with every server account (or bootstrapping without one).
    pub fn start<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        self.registrar.start(&self.client, now);
        self.flush(ep, now);
    }

    /// As [`Engine::start`], resuming the registrations a previous run kept
    /// ([`Engine::registrations`]; the application stores them with the wall-clock time and
    /// gives back what is left of each lifetime): those accounts send an Update to their
    /// location instead of a Register, and register again when it is refused (4.04).
    pub fn start_resumed<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        resumed: &[registration::Resumed],
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        self.registrar.start_resumed(&self.client, resumed, now);
        self.flush(ep, now);
    }

    /// The registrations a restart may resume ([`Engine::start_resumed`]), with the time
    /// each lifetime has left at `now`.
    pub fn registrations(&self, now: Duration) -> Vec<registration::Resumed> {
        self.registrar.resumable(now)
    }

    /// When [`Engine::handle_timeout`] must run next: the registrar's and the reporter's
    /// timers (the endpoint's own are [`Endpoint::poll_timeout`], run by the application with
    /// [`Endpoint::handle_timeout`]).
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.registrar.poll_timeout(), self.reporter.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the registrar's and the reporter's timers due at `now` (Register attempts,
    /// Updates, notifications by pmin / pmax, the bootstrap).
    // Code size: not inlined, see `handle_event`.
    #[inline(never)]
    pub fn handle_timeout<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        self.registrar.handle_timeout(&mut self.client, now);
        self.reporter.handle_timeout(&self.client, now);
        self.flush(ep, now);
    }

    /// Takes one event of the endpoint.
    // Code size: kept out of the caller's loop (with `handle_timeout` and the helpers marked
    // the same). Inlined into a device's main loop these bodies grew it by ≈ 1.6 KB in the
    // footprint probe; the engine runs once per datagram or timer, not per byte, so the call
    // costs nothing that matters.
    #[inline(never)]
    pub fn handle_event<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        event: Event<P, X::Identity>,
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        match event {
            Event::Request { id, peer, message } => {
                let requester = match &message.identity {
                    Some(identity) => identity.requester(&self.client),
                    None => self.nosec_requester(&peer),
                };
                let request = Request::from_owned(&message.message);
                let response = match &request {
                    Ok(r) => self.client.handle(requester, r),
                    Err(e) => Response::diagnostic(Code::BAD_REQUEST, crate::error::describe(&e)),
                };
                let success = response.code.class() == 2;
                let mut observed = false;
                if let (Some(handle), Requester::Server(ssid), Ok(r)) =
                    (message.observation, requester, &request)
                {
                    if response.code == Code::CONTENT {
                        observed = self.observe(ssid, handle, r, &response, now);
                    }
                }
                let reply =
                    response.write_to(OwnedMessage::new(MessageType::Ack, response.code, 0));
                if let Err(e) = ep.respond(now, id, reply) {
                    self.event(ClientEvent::Error {
                        path: None,
                        code: None,
                        reason: crate::error::describe(&e),
                    });
                }
                if let (Some(handle), false) = (message.observation, observed) {
                    // Not an observation for the reporter (refused, not a server, table
                    // full): the first response went out; no notification follows.
                    ep.forget_observer(handle);
                }
                if let Requester::Server(ssid) = requester {
                    self.registrar.activity(ssid, now);
                }
                if let (true, Ok(r)) = (success, &request) {
                    self.after_request(requester, r, &response, now);
                }
                // Triggers (/1/x/4, /1/x/8, /1/x/9, Bootstrap-Finish) and object-set changes.
                self.registrar.handle_timeout(&mut self.client, now);
            }
            #[cfg(feature = "rekey")]
            Event::Response { id, message, .. }
                if matches!(self.pending.get(&id), Some(Pending::Edhoc(_))) =>
            {
                if let Some(Pending::Edhoc(index)) = self.pending.remove(&id) {
                    self.edhoc_answer(ep, index, Ok(&message), now);
                }
            }
            #[cfg(feature = "rekey")]
            Event::TimedOut { id } | Event::Reset { id }
                if matches!(self.pending.get(&id), Some(Pending::Edhoc(_))) =>
            {
                if let Some(Pending::Edhoc(index)) = self.pending.remove(&id) {
                    self.edhoc_answer(ep, index, Err(RekeyError::NoAnswer), now);
                }
            }
            Event::EchoChallenged {
                peer,
                identity,
                path,
                ..
            } => {
                let requester = match &identity {
                    Some(identity) => identity.requester(&self.client),
                    None => self.nosec_requester(&peer),
                };
                let mut text = String::new();
                for seg in &path {
                    text.push('/');
                    text.push_str(seg);
                }
                if text.is_empty() {
                    text.push('/');
                }
                let ssid = match requester {
                    Requester::Server(ssid) => Some(ssid),
                    _ => None,
                };
                self.event(ClientEvent::EchoChallenge { ssid, path: text });
            }
            Event::Response { id, message, .. } => {
                let mut options: Vec<(OptionNumber, &[u8])> = Vec::new();
                for o in message.options.iter() {
                    options.push((o.number, o.value));
                }
                match self.pending.remove(&id) {
                    Some(Pending::Registrar(h)) => self.registrar.on_response(
                        &mut self.client,
                        h,
                        message.code,
                        &options,
                        &message.payload,
                        now,
                    ),
                    // Pending::Send exists only with the `send` feature (`Engine::send`).
                    Some(Pending::Send(h)) if cfg!(feature = "send") => {
                        self.reporter.on_send_response(h, message.code);
                        self.event(ClientEvent::SendAnswered {
                            handle: h,
                            code: message.code,
                        });
                    }
                    // Pending::Firmware exists only with the `firmware-pull` feature
                    // (`start_firmware_pull`): without it these arms are not linked.
                    Some(Pending::Firmware) if cfg!(feature = "firmware-pull") => {
                        // TS 1.2 Core Appendix E.6: a URI the server does not serve is
                        // "Invalid URI" (7). A package sent whole (no Block2) comes with the
                        // response: it is the only block.
                        let outcome = if message.code != Code::CONTENT {
                            Err(UpdateResult::InvalidUri)
                        } else if message.payload.is_empty() {
                            Ok(())
                        } else {
                            self.firmware()
                                .map_or(Ok(()), |fw| fw.pull_block(0, &message.payload))
                        };
                        self.firmware_finished(outcome);
                    }
                    _ => {}
                }
            }
            Event::Block {
                id,
                offset,
                payload,
                more,
                size,
                ..
            } if cfg!(feature = "firmware-pull")
                && matches!(self.pending.get(&id), Some(Pending::Firmware)) =>
            {
                // Each block goes to the Firmware Update object as it arrives (verified end to
                // end under OSCORE), before the next one is asked for; a refused block ends
                // the download.
                let taken = self
                    .firmware()
                    .map_or(Ok(()), |fw| fw.pull_block(offset, &payload));
                if let Err(result) = taken {
                    self.pending.remove(&id);
                    let _ = ep.cancel(now, id);
                    self.firmware_finished(Err(result));
                } else {
                    let bytes = offset.saturating_add(payload.len());
                    let (_, total, reported) = self.firmware_progress;
                    let total = size.or(total);
                    self.firmware_progress = (bytes, total, reported);
                    let step = self.config.firmware_progress_step.max(1);
                    if !more || bytes.saturating_sub(reported) >= step {
                        self.firmware_progress.2 = bytes;
                        self.event(ClientEvent::FirmwareProgress { bytes, total });
                    }
                }
            }
            Event::ProtectionFailed { id, .. }
                if cfg!(feature = "firmware-pull")
                    && matches!(self.pending.get(&id), Some(Pending::Firmware)) =>
            {
                // A block that does not verify end to end ends the download (RFC 8613 §8.4):
                // "Integrity check failure" (5).
                self.pending.remove(&id);
                self.firmware_finished(Err(UpdateResult::IntegrityCheckFailure));
            }
            Event::BlockwiseFailed { id, error, .. }
                if cfg!(feature = "firmware-pull")
                    && matches!(self.pending.get(&id), Some(Pending::Firmware)) =>
            {
                self.pending.remove(&id);
                let result = match error {
                    BlockwiseError::TooLarge { .. } => UpdateResult::NotEnoughFlash,
                    _ => UpdateResult::ConnectionLost,
                };
                self.firmware_finished(Err(result));
            }
            Event::TimedOut { id }
            | Event::Reset { id }
            | Event::ProtectionFailed { id, .. }
            | Event::ResponseRejected { id, .. }
            | Event::BlockwiseFailed { id, .. } => self.request_failed(id, now),
            Event::NotificationDone {
                handle, outcome, ..
            } => {
                if let Some(t) = self.tokens.get(&handle).copied() {
                    if outcome == NotificationOutcome::Failed {
                        // Never acknowledged: the server is unreachable again; what the
                        // reporter handed out from the store is stored again, not lost.
                        self.reporter.notification_failed(t);
                    } else if !ep.notification_pending(handle) {
                        // The endpoint holds nothing more for the observer (a replaced one
                        // leaves its successor pending): the next stored one may go.
                        self.reporter.notification_done(t);
                    }
                }
            }
            Event::ObservationEnded { handle, .. } => {
                if let Some(t) = self.tokens.remove(&handle) {
                    self.observers.remove(&t);
                    self.reporter.cancel(t);
                }
            }
            _ => {}
        }
        self.start_firmware_pull(ep, now);
        self.flush(ep, now);
    }

    fn request_failed(&mut self, id: RequestId, now: Duration) {
        match self.pending.remove(&id) {
            Some(Pending::Registrar(h)) => self.registrar.on_failure(&mut self.client, h, now),
            Some(Pending::Send(h)) if cfg!(feature = "send") => {
                self.reporter.on_send_failure(h);
            }
            // TS 1.2 Core Appendix E.6: "Connection lost during downloading" (4).
            Some(Pending::Firmware) if cfg!(feature = "firmware-pull") => {
                self.firmware_finished(Err(UpdateResult::ConnectionLost));
            }
            #[cfg(feature = "rekey")]
            Some(Pending::Edhoc(index)) => {
                // An unusual end (a rejected response): the handshake is over.
                if let Some(rekey) = self.rekeys.remove(&index) {
                    self.event(ClientEvent::RekeyFailed {
                        ssid: rekey.ssid,
                        error: RekeyError::NoAnswer,
                    });
                }
            }
            _ => {}
        }
    }

    fn firmware(&mut self) -> Option<&mut dyn FirmwarePull> {
        self.client
            .object_mut(crate::client::FIRMWARE)?
            .firmware_pull()
    }

    fn firmware_finished(&mut self, outcome: Result<(), UpdateResult>) {
        let Some(fw) = self.firmware() else {
            return;
        };
        fw.pull_finished(outcome);
        let state = match self.client.value(&firmware_path(3)) {
            Some(Value::Integer(1)) => State::Downloading,
            Some(Value::Integer(2)) => State::Downloaded,
            Some(Value::Integer(3)) => State::Updating,
            _ => State::Idle,
        };
        let result = match self.client.value(&firmware_path(5)) {
            Some(Value::Integer(v)) => update_result(v),
            _ => UpdateResult::Initial,
        };
        self.event(ClientEvent::FirmwareDownload { state, result });
    }

    /// Starts the pull of the Firmware Update object's Package URI when a Write asked for
    /// one (TS 1.2 Core Appendix E.6: Idle → Downloading on a Write of /5/0/1): a GET through
    /// the endpoint, which follows Block2 (RFC 7959 §2.4) up to the object's package bound
    /// and, under OSCORE, verifies every block as it arrives.
    fn start_firmware_pull<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        if cfg!(not(feature = "firmware-pull")) {
            // Without the feature the Package URI is not pulled (Push, a Write of /5/0/0, works).
            return;
        }
        let Some(fw) = self.firmware() else {
            return;
        };
        let Some(uri) = fw.pull_uri().map(String::from) else {
            return;
        };
        let max_package = fw.max_package();
        fw.pull_started();
        self.firmware_progress = (0, None, 0);
        let Some((authority, request)) = package_request(&uri) else {
            self.firmware_finished(Err(UpdateResult::InvalidUri));
            return;
        };
        let Some(target) = self.resolver.resolve(&authority) else {
            self.firmware_finished(Err(UpdateResult::InvalidUri));
            return;
        };
        if self.pending.len() >= self.config.max_pending {
            self.firmware_finished(Err(UpdateResult::OutOfRam));
            return;
        }
        let mut options =
            RequestOptions::new(Reliability::Confirmable, ep.config().client_blockwise);
        options.blockwise.download.max_body = max_package;
        // RFC 7959 §2.4: the package is not reassembled by the endpoint; each block is handed
        // to the object as it arrives.
        options.deliver_blocks = true;
        // The package server is reached under the security of the account with that URI,
        // if any (the Package URI of a managed device usually points at its server).
        // The account whose Server URI is the Package URI's authority, or else resolves to the
        // same peer (`coap://localhost:5683` and `coap://127.0.0.1:5683` name one server).
        let accounts: Vec<(u16, String, bool)> = self
            .client
            .security
            .iter()
            .filter_map(|(i, s)| Some((i, string(s.get(&0))?, oscore_link(s).is_some())))
            .collect();
        let account = accounts
            .iter()
            .find(|(_, uri, _)| *uri == authority)
            .or_else(|| {
                accounts
                    .iter()
                    .find(|(_, uri, _)| self.resolver.resolve(uri).as_ref() == Some(&target))
            })
            .map(|(i, _, secured)| (*i, *secured));
        let identity = account.and_then(|(i, _)| X::Identity::for_account(&self.client, i));
        let result = match identity {
            Some(identity) => ep.request_protected(now, target, request, options, identity),
            None if account.is_some_and(|(_, secured)| secured) => {
                self.firmware_finished(Err(UpdateResult::UnsupportedProtocol));
                return;
            }
            None => ep.request_with(now, target, request, options),
        };
        match result {
            Ok(id) => {
                self.pending.insert(id, Pending::Firmware);
            }
            Err(_) => self.firmware_finished(Err(UpdateResult::ConnectionLost)),
        }
    }

    /// A request without protection: the NoSec account whose Server URI is this peer.
    fn nosec_requester(&mut self, peer: &P) -> Requester {
        // (URI, Bootstrap-Server account, Short Server ID) of each NoSec account: the
        // resolver needs `&mut self`, so the instances are not borrowed across it.
        // (A loop, not an iterator chain: less code for the same list.)
        let mut candidates: Vec<(String, bool, Option<u16>)> = Vec::new();
        for (_, s) in self.client.security.iter() {
            if int(s.get(&2)) != Some(3) || oscore_link(s).is_some() {
                continue;
            }
            let bootstrap = matches!(s.get(&1), Some(ResourceData::Single(Value::Boolean(true))));
            if let Some(uri) = string(s.get(&0)) {
                candidates.push((uri, bootstrap, int(s.get(&10))));
            }
        }
        for (uri, bootstrap, ssid) in candidates {
            if self.resolver.resolve(&uri).as_ref() != Some(peer) {
                continue;
            }
            if bootstrap {
                return Requester::BootstrapServer;
            }
            if let Some(ssid) = ssid {
                if self.client.server_instance(ssid).is_some() {
                    return Requester::Server(ShortServerId(ssid));
                }
            }
        }
        Requester::Unauthenticated
    }

    // Code size: not inlined, see `handle_event`.
    #[inline(never)]
    fn observe(
        &mut self,
        ssid: ShortServerId,
        handle: ObserverHandle,
        request: &Request,
        response: &Response,
        now: Duration,
    ) -> bool {
        // TS 1.2 Core §6.4.3 Observe-Composite: FETCH `/` with the SenML path list.
        let paths = if cfg!(feature = "composite") && request.code == Code::FETCH {
            let decoded = match request.content_format {
                #[cfg(feature = "senml-json")]
                Some(ContentFormat::SENML_JSON | ContentFormat::SENML_ETCH_JSON) => {
                    mote_lwm2m::senml::json::decode_paths(&request.payload).ok()
                }
                Some(ContentFormat::SENML_CBOR | ContentFormat::SENML_ETCH_CBOR) => {
                    mote_lwm2m::senml::cbor::decode_paths(&request.payload).ok()
                }
                _ => None,
            };
            match decoded {
                Some(p) if !p.is_empty() => p,
                _ => return false,
            }
        } else {
            match request.path() {
                Ok(p) => alloc::vec![p],
                Err(_) => return false,
            }
        };
        let path = paths.first().copied().unwrap_or(Path::ROOT);
        let format = response
            .content_format
            .and_then(Format::from_content_format)
            .unwrap_or(Format::SenmlCbor);
        let token = self.tokens.get(&handle).copied().unwrap_or_else(|| {
            self.next_token = self.next_token.wrapping_add(1);
            ObservationToken(self.next_token)
        });
        match self
            .reporter
            .observe(&self.client, ssid, token, &paths, format, now)
        {
            Ok(()) => {
                self.observers.insert(token, (handle, path));
                self.tokens.insert(handle, token);
                true
            }
            Err(e) => {
                self.event(ClientEvent::Error {
                    path: Some(path),
                    code: None,
                    reason: crate::error::describe(&e),
                });
                false
            }
        }
    }

    /// Events and reporting after a successful request.
    // Code size: not inlined, see `handle_event`.
    #[inline(never)]
    fn after_request(
        &mut self,
        requester: Requester,
        request: &Request,
        response: &Response,
        now: Duration,
    ) {
        let Ok(path) = request.path() else {
            return;
        };
        let level = path.level();
        let event = match request.code {
            Code::PUT if !request.payload.is_empty() => {
                Some(ClientEvent::Write { requester, path })
            }
            Code::IPATCH => Some(ClientEvent::Write { requester, path }),
            Code::POST if matches!(level, PathLevel::Resource | PathLevel::ResourceInstance) => {
                Some(ClientEvent::Execute {
                    requester,
                    path,
                    arguments: request.payload.clone(),
                })
            }
            Code::POST if level == PathLevel::Instance => {
                Some(ClientEvent::Write { requester, path })
            }
            Code::POST if level == PathLevel::Object => {
                let created = response
                    .location_path
                    .last()
                    .and_then(|i| i.parse::<u16>().ok())
                    .and_then(|i| path.child(i).ok())
                    .unwrap_or(path);
                Some(ClientEvent::Create {
                    requester,
                    path: created,
                })
            }
            Code::DELETE => Some(ClientEvent::Delete { requester, path }),
            _ => None,
        };
        let Some(event) = event else {
            return;
        };
        let touches_config = match path.object_id() {
            None => true,
            Some(o) => PERSISTED.contains(&u16::from(o)),
        };
        if !matches!(event, ClientEvent::Execute { .. }) {
            self.reporter.value_changed(&self.client, &path, now);
            if touches_config && requester != Requester::BootstrapServer {
                self.persist();
            }
        }
        self.event(event);
    }

    /// Sends what the registrar and the reporter produced, and turns their events into
    /// [`ClientEvent`]s.
    fn flush<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        // Rounds: a registrar event can make the reporter produce (online → stored
        // reports), a failure can make the registrar produce again.
        for _ in 0..8 {
            let mut progressed = false;
            while let Some(out) = self.registrar.poll_transmit() {
                progressed = true;
                self.send_registrar(ep, out, now);
            }
            while let Some(e) = self.registrar.poll_event() {
                progressed = true;
                self.registrar_event(e, now);
            }
            while let Some(report) = self.reporter.poll_report() {
                progressed = true;
                self.send_report(ep, report, now);
            }
            while let Some(e) = self.reporter.poll_event() {
                progressed = true;
                if let ReportEvent::ObservationCancelled { token, .. } = e {
                    if let Some((handle, path)) = self.observers.remove(&token) {
                        self.tokens.remove(&handle);
                        // TS 1.2 Core §7.3: the server lost the Read right; a 4.01
                        // notification ends the observation (RFC 7641 §4.2).
                        let end = OwnedMessage::new(MessageType::Non, Code::UNAUTHORIZED, 0);
                        let _ = ep.notify(now, handle, end, false);
                        self.event(ClientEvent::Error {
                            path: Some(path),
                            code: Some(Code::UNAUTHORIZED),
                            reason: crate::error::diagnostic(|| {
                                "observation cancelled: access right withdrawn".into()
                            }),
                        });
                    }
                }
            }
            if !progressed {
                break;
            }
        }
    }

    // Code size: not inlined, see `handle_event`.
    #[inline(never)]
    fn registrar_event(&mut self, e: registration::Event, now: Duration) {
        use registration::Event as R;
        match e {
            R::Registered(ssid) => {
                self.reporter.set_online(&self.client, ssid, true, now);
                let location = self
                    .registrar
                    .location(ssid)
                    .map(|l| {
                        let mut s = String::new();
                        for seg in l {
                            s.push('/');
                            s.push_str(seg);
                        }
                        s
                    })
                    .unwrap_or_default();
                let server = self.server_uri(ssid).unwrap_or_default();
                self.event(ClientEvent::Registered {
                    ssid,
                    server,
                    location,
                });
            }
            R::Updated(ssid) => {
                self.reporter.set_online(&self.client, ssid, true, now);
                let server = self.server_uri(ssid).unwrap_or_default();
                self.event(ClientEvent::Updated { ssid, server });
            }
            R::Deregistered(ssid) => {
                self.reporter.set_online(&self.client, ssid, false, now);
                self.event(ClientEvent::Deregistered { ssid });
            }
            R::RegistrationFailed(ssid) => {
                self.reporter.set_online(&self.client, ssid, false, now);
                self.event(ClientEvent::RegistrationFailed { ssid });
            }
            R::Disabled(ssid, _) => self.reporter.set_online(&self.client, ssid, false, now),
            R::BootstrapStarted => self.event(ClientEvent::BootstrapStarted),
            R::Bootstrapped => {
                // The bootstrap may have replaced the /21 instances: every context is asked
                // for again. (Requests held already are for the new configuration: the
                // registrar's Register may go out before this event is read.)
                self.installed.clear();
                self.persist();
                self.event(ClientEvent::BootstrapFinished);
            }
            R::BootstrapFailed => self.event(ClientEvent::BootstrapFailed),
            _ => {}
        }
    }

    /// The /0 instance of an account: the Bootstrap-Server's, or the one whose Short
    /// Server ID is `ssid`.
    fn security_instance(&self, peer: Peer) -> Option<(u16, &InstanceData)> {
        self.client.security.iter().find(|(_, s)| {
            let bootstrap = matches!(s.get(&1), Some(ResourceData::Single(Value::Boolean(true))));
            match peer {
                Peer::BootstrapServer => bootstrap,
                Peer::Server(ssid) => !bootstrap && int(s.get(&10)) == Some(ssid.0),
            }
        })
    }

    fn server_uri(&self, ssid: ShortServerId) -> Option<String> {
        string(self.security_instance(Peer::Server(ssid))?.1.get(&0))
    }

    /// Sends `request` to the account `peer` (resolved, protected as the account says).
    fn send_to<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        peer: Peer,
        request: &Request,
        now: Duration,
    ) -> Result<RequestId, String>
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        use crate::error::diagnostic;
        if self.pending.len() >= self.config.max_pending {
            let max = self.config.max_pending;
            return Err(diagnostic(|| {
                alloc::format!("too many requests in flight ({max} allowed)")
            }));
        }
        let (index, sec) = self
            .security_instance(peer)
            .ok_or_else(|| diagnostic(|| "no Security Object instance for the account".into()))?;
        let uri = string(sec.get(&0)).ok_or_else(|| diagnostic(|| "no Server URI".into()))?;
        let secured = oscore_link(sec).is_some();
        if self.needs_context(index) {
            return Err(diagnostic(|| {
                alloc::format!("the OSCORE context of {uri} is not installed yet")
            }));
        }
        let target = self
            .resolver
            .resolve(&uri)
            .ok_or_else(|| diagnostic(|| alloc::format!("cannot resolve {uri}")))?;
        let message = request.to_message(MessageType::Con);
        let options = RequestOptions::new(Reliability::Confirmable, ep.config().client_blockwise);
        let identity = X::Identity::for_account(&self.client, index);
        let result = match identity {
            Some(identity) => ep.request_protected(now, target, message, options, identity),
            None if secured => {
                return Err(diagnostic(|| {
                    alloc::format!("no security context for the OSCORE account of {uri}")
                }));
            }
            None => ep.request_with(now, target, message, options),
        };
        result.map_err(|e| crate::error::describe(&e))
    }

    fn send_registrar<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, out: Outgoing, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        if let Some(index) = self.security_instance(out.peer).map(|(i, _)| i) {
            if self.needs_context(index) {
                if self.parked.len() >= self.config.max_pending {
                    self.event(ClientEvent::Error {
                        path: None,
                        code: None,
                        reason: crate::error::diagnostic(|| {
                            "too many requests wait for an OSCORE context".into()
                        }),
                    });
                    self.registrar.on_failure(&mut self.client, out.handle, now);
                } else {
                    self.parked.push((index, out));
                }
                return;
            }
        }
        match self.send_to(ep, out.peer, &out.request, now) {
            Ok(id) => {
                self.pending.insert(id, Pending::Registrar(out.handle));
            }
            Err(reason) => {
                self.event(ClientEvent::Error {
                    path: None,
                    code: None,
                    reason,
                });
                self.registrar.on_failure(&mut self.client, out.handle, now);
            }
        }
    }

    // Code size: not inlined, see `handle_event`.
    #[inline(never)]
    fn send_report<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, report: Report, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let server = match &report {
            Report::Notify(n) => n.server,
            Report::Send(s) => s.server,
        };
        // TS 1.2 Transport §6.5 queue mode: a client that may have gone to sleep towards the
        // server announces itself awake with an Update before it reports.
        if self.registrar.wake(server) {
            self.registrar.handle_timeout(&mut self.client, now);
            while let Some(out) = self.registrar.poll_transmit() {
                self.send_registrar(ep, out, now);
            }
        }
        match report {
            Report::Notify(n) => {
                let Some((handle, path)) = self.observers.get(&n.token).copied() else {
                    return;
                };
                let message = OwnedMessage::new(MessageType::Non, Code::CONTENT, 0)
                    .with_uint_option(OptionNumber::CONTENT_FORMAT, u32::from(n.content_format.0))
                    .with_payload(n.payload);
                match ep.notify(now, handle, message, n.confirmable) {
                    Ok(()) => {
                        self.registrar.activity(n.server, now);
                        self.event(ClientEvent::Notify {
                            ssid: n.server,
                            path,
                            confirmable: n.confirmable,
                            stored: n.stored,
                        });
                    }
                    Err(e) => {
                        self.observers.remove(&n.token);
                        self.tokens.remove(&handle);
                        self.reporter.cancel(n.token);
                        self.event(ClientEvent::Error {
                            path: Some(path),
                            code: None,
                            reason: crate::error::describe(&e),
                        });
                    }
                }
            }
            // A Send report comes only from `Engine::send` (the `send` feature).
            Report::Send(s) if cfg!(feature = "send") => {
                match self.send_to(ep, Peer::Server(s.server), &s.request, now) {
                    Ok(id) => {
                        self.pending.insert(id, Pending::Send(s.handle));
                        self.registrar.activity(s.server, now);
                        self.event(ClientEvent::Send {
                            ssid: s.server,
                            handle: s.handle,
                        });
                    }
                    Err(reason) => {
                        self.reporter.on_send_failure(s.handle);
                        self.event(ClientEvent::Error {
                            path: None,
                            code: None,
                            reason,
                        });
                    }
                }
            }
            Report::Send(_) => {}
        }
    }

    // ---- the application's calls ------------------------------------------------------

    /// Changes a resource value as the device would (no access control) and reports it to
    /// the observers (notifications follow their attributes).
    ///
    /// # Errors
    /// [`ObjectError::NotFound`] for a path that is not `/O/I/R`, or the object's refusal.
    pub fn set_value<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        path: &Path,
        value: Value,
        now: Duration,
    ) -> Result<(), ObjectError>
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let &[o, i, r] = path.ids() else {
            return Err(ObjectError::NotFound);
        };
        let object = self.client.object_mut(o).ok_or(ObjectError::NotFound)?;
        object.write(i, r, ResourceData::Single(value))?;
        self.value_changed(ep, path, now);
        Ok(())
    }

    /// Tells the engine that the application changed what is under `path` itself.
    pub fn value_changed<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, path: &Path, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        self.reporter.value_changed(&self.client, path, now);
        self.registrar.handle_timeout(&mut self.client, now);
        self.flush(ep, now);
    }

    /// Sends the values under `paths` to every registered server that is not muted, in one
    /// Send each (TS 1.2 Core §6.5); returns the handles (a server that refuses locally —
    /// muted, nothing readable — is reported as [`ClientEvent::Error`]). Needs the `send`
    /// feature.
    #[cfg(feature = "send")]
    pub fn send<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        paths: &[Path],
        now: Duration,
    ) -> Vec<SendHandle>
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let mut handles = Vec::new();
        for ssid in self.registrar.servers() {
            if !self.registrar.is_registered(ssid) {
                continue;
            }
            match self.reporter.send(&self.client, ssid, paths, now) {
                Ok(h) => handles.push(h),
                Err(e) => self.event(ClientEvent::Error {
                    path: paths.first().copied(),
                    code: None,
                    reason: crate::error::describe(&e),
                }),
            }
        }
        self.flush(ep, now);
        handles
    }

    /// Sends an Update to every registered server.
    pub fn update<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        for ssid in self.registrar.servers() {
            if self.registrar.is_registered(ssid) {
                self.registrar.request_update(ssid);
            }
        }
        self.registrar.handle_timeout(&mut self.client, now);
        self.flush(ep, now);
    }

    /// Starts a client-initiated bootstrap.
    pub fn bootstrap<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        self.registrar.request_bootstrap(&self.client, now);
        self.registrar.handle_timeout(&mut self.client, now);
        self.flush(ep, now);
    }

    /// De-registers from every server (the application is shutting down); the answers come
    /// as [`ClientEvent::Deregistered`]. Returns how many De-registers were sent.
    pub fn deregister_all<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, now: Duration) -> usize
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let mut sent = 0;
        for ssid in self.registrar.servers() {
            if self.registrar.is_registered(ssid) {
                sent += 1;
            }
            self.registrar.deregister(ssid);
        }
        self.flush(ep, now);
        sent
    }

    /// Runs an EDHOC handshake (RFC 9528, as Initiator) with the server of account `ssid`
    /// through the endpoint: message_1 now, message_3 when message_2 arrives (RFC 9528
    /// Appendix A.2). When it completes the account's OSCORE Object instance holds the
    /// derived context (Appendix A.1; a new /21 instance linked by /0/x/17 when the account
    /// had none), the configuration is stored, [`ClientEvent::Rekeyed`] comes, then
    /// [`ClientEvent::OscoreContextNeeded`] for the new context and, once it is installed
    /// ([`Engine::context_installed`]), a new Register under it (TS 1.2 Core §6.2.1: the
    /// registration moves to the new identity). Until then the account's registration
    /// requests wait. A failure is [`ClientEvent::RekeyFailed`]; the account keeps its
    /// context.
    ///
    /// Called before [`Engine::start`], the first Register waits for the handshake (an
    /// account provisioned without a key).
    ///
    /// # Errors
    /// [`RekeyError`] when the handshake cannot start (unknown account, one running already,
    /// too many requests in flight, the URI does not resolve, message_1 fails).
    #[cfg(feature = "rekey")]
    pub fn rekey<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        ssid: ShortServerId,
        mut handshake: impl EdhocHandshake + 'static,
        now: Duration,
    ) -> Result<(), RekeyError>
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let (index, uri) = self
            .security_instance(Peer::Server(ssid))
            .map(|(i, s)| (i, string(s.get(&0))))
            .ok_or(RekeyError::UnknownAccount(ssid.0))?;
        let uri = uri.ok_or(RekeyError::UnknownAccount(ssid.0))?;
        if self.rekeys.contains_key(&index) {
            return Err(RekeyError::InProgress(ssid.0));
        }
        let message_1 = handshake.message_1()?;
        let id = self.edhoc_post(ep, &uri, message_1, now)?;
        self.pending.insert(id, Pending::Edhoc(index));
        self.rekeys.insert(
            index,
            Rekey {
                ssid,
                handshake: Box::new(handshake),
                message_3_sent: false,
            },
        );
        Ok(())
    }

    /// `POST /.well-known/edhoc` (RFC 9528 Appendix A.2), unprotected.
    #[cfg(feature = "rekey")]
    fn edhoc_post<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        uri: &str,
        payload: Vec<u8>,
        now: Duration,
    ) -> Result<RequestId, RekeyError>
    where
        R: RandomSource,
        X: Protection<P>,
    {
        if self.pending.len() >= self.config.max_pending {
            return Err(RekeyError::TooManyRequests(self.config.max_pending));
        }
        let target = self
            .resolver
            .resolve(uri)
            .ok_or_else(|| RekeyError::Unresolvable(uri.into()))?;
        let message = OwnedMessage::new(MessageType::Con, Code::POST, 0)
            .with_option(OptionNumber::URI_PATH, ".well-known")
            .with_option(OptionNumber::URI_PATH, "edhoc")
            .with_uint_option(
                OptionNumber::CONTENT_FORMAT,
                u32::from(CONTENT_FORMAT_CID_EDHOC),
            )
            .with_payload(payload);
        let options = RequestOptions::new(Reliability::Confirmable, ep.config().client_blockwise);
        ep.request_with(now, target, message, options)
            .map_err(|e| RekeyError::Send(alloc::string::ToString::to_string(&e)))
    }

    /// The answer to a request of the handshake with the account of /0 instance `index`.
    #[cfg(feature = "rekey")]
    fn edhoc_answer<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        index: u16,
        answer: Result<&OwnedMessage, RekeyError>,
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let Some(mut rekey) = self.rekeys.remove(&index) else {
            return;
        };
        let step = answer.and_then(|m| {
            if m.code != Code::CHANGED {
                return Err(RekeyError::Refused(alloc::format!("{}", m.code)));
            }
            if rekey.message_3_sent {
                let m4 = (!m.payload.is_empty()).then_some(m.payload.as_slice());
                rekey.handshake.finish(m4).map(Some)
            } else {
                let payload = match rekey.handshake.message_2(&m.payload)? {
                    AfterMessage2::Message3(p) => {
                        rekey.message_3_sent = true;
                        p
                    }
                    AfterMessage2::Restart(p) => p,
                };
                let uri = self
                    .client
                    .security
                    .instance(index)
                    .and_then(|sec| string(sec.get(&0)))
                    .ok_or(RekeyError::UnknownAccount(rekey.ssid.0))?;
                let id = self.edhoc_post(ep, &uri, payload, now)?;
                self.pending.insert(id, Pending::Edhoc(index));
                Ok(None)
            }
        });
        match step {
            Ok(None) => {
                self.rekeys.insert(index, rekey);
            }
            Ok(Some(output)) => self.rekey_done(ep, index, rekey.ssid, &output, now),
            Err(error) => {
                self.event(ClientEvent::RekeyFailed {
                    ssid: rekey.ssid,
                    error,
                });
                self.release_parked(ep, index, now);
            }
        }
    }

    /// The handshake completed: the new context becomes the account's /21 instance.
    #[cfg(feature = "rekey")]
    fn rekey_done<R, X>(
        &mut self,
        ep: &mut Endpoint<P, R, X>,
        index: u16,
        ssid: ShortServerId,
        output: &EdhocOutput,
        now: Duration,
    ) where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let Some(mut security) = self.client.security.instance(index).cloned() else {
            return;
        };
        let oscore = oscore_link(&security).unwrap_or_else(|| {
            // The lowest free /21 instance.
            (0..u16::MAX)
                .find(|i| !self.client.oscore.instances_contains(*i))
                .unwrap_or(u16::MAX)
        });
        let single = ResourceData::Single;
        let mut inst = InstanceData::new();
        // TS 1.2 Core Appendix E.9 (OSCORE Object): 0 Master Secret, 1 Sender ID,
        // 2 Recipient ID, 3 AEAD Algorithm, 4 HMAC Algorithm, 5 Master Salt (6, the ID
        // Context, stays absent: RFC 9528 Appendix A.1 derives none).
        inst.insert(0, single(Value::Opaque(output.master_secret.clone())));
        inst.insert(1, single(Value::Opaque(output.sender_id.clone())));
        inst.insert(2, single(Value::Opaque(output.recipient_id.clone())));
        inst.insert(3, single(Value::Integer(output.aead)));
        inst.insert(4, single(Value::Integer(output.hkdf)));
        inst.insert(5, single(Value::Opaque(output.master_salt.clone())));
        self.client.oscore.insert(oscore, inst);
        security.insert(
            17,
            single(Value::Objlnk(mote_lwm2m::ObjectLink::new(OSCORE, oscore))),
        );
        self.client.security.insert(index, security);
        self.client.rebuild_access();
        self.installed.remove(&index);
        self.asked.remove(&index);
        self.rekeyed.insert(index);
        self.persist();
        let server = self.server_uri(ssid).unwrap_or_default();
        self.event(ClientEvent::Rekeyed { ssid, server });
        // A Register waiting for the handshake goes out (after the context is installed);
        // a registered account registers again, so that the server binds the registration
        // to the new identity.
        let waiting = self.parked.iter().any(|(i, _)| *i == index);
        self.release_parked(ep, index, now);
        if !waiting {
            self.registrar.register_again(ssid, now);
            self.registrar.handle_timeout(&mut self.client, now);
        }
    }

    /// Sends again what waited for the account of /0 instance `index`.
    #[cfg(feature = "rekey")]
    fn release_parked<R, X>(&mut self, ep: &mut Endpoint<P, R, X>, index: u16, now: Duration)
    where
        R: RandomSource,
        X: Protection<P>,
        X::Identity: AccountIdentity,
    {
        let (ready, waiting): (Vec<_>, Vec<_>) = core::mem::take(&mut self.parked)
            .into_iter()
            .partition(|(s, _)| *s == index);
        self.parked = waiting;
        for (_, out) in ready {
            self.send_registrar(ep, out, now);
        }
    }

    /// Whether an EDHOC handshake with the account `ssid` is running.
    #[cfg(feature = "rekey")]
    pub fn rekeying(&self, ssid: ShortServerId) -> bool {
        self.rekeys.values().any(|r| r.ssid == ssid)
    }

    /// Whether a request of the client is still waiting for its answer.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// Update Result (/5/0/5) from its value (TS 1.2 Core Appendix E.6).
fn update_result(v: i64) -> UpdateResult {
    [
        UpdateResult::Initial,
        UpdateResult::Success,
        UpdateResult::NotEnoughFlash,
        UpdateResult::OutOfRam,
        UpdateResult::ConnectionLost,
        UpdateResult::IntegrityCheckFailure,
        UpdateResult::UnsupportedPackageType,
        UpdateResult::InvalidUri,
        UpdateResult::UpdateFailed,
        UpdateResult::UnsupportedProtocol,
    ]
    .into_iter()
    .find(|r| r.value() == v)
    .unwrap_or(UpdateResult::Initial)
}

fn firmware_path(resource: u16) -> Path {
    Path::new(&[crate::client::FIRMWARE, 0, resource]).unwrap_or(Path::ROOT)
}

/// A Package URI (`coap://host:port/a/b?q`) as the authority the resolver knows
/// (`coap://host:port`) and the GET to send.
fn package_request(uri: &str) -> Option<(String, OwnedMessage)> {
    let scheme_end = uri.find("://")? + 3;
    let scheme = uri.get(..scheme_end)?;
    if scheme != "coap://" && scheme != "coap+tcp://" {
        return None;
    }
    let rest = uri.get(scheme_end..)?;
    let (host, path_query) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, ""),
    };
    if host.is_empty() {
        return None;
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    let mut message = OwnedMessage::new(MessageType::Con, Code::GET, 0);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        message = message.with_option(OptionNumber::URI_PATH, seg.as_bytes());
    }
    for q in query.into_iter().flat_map(|q| q.split('&')) {
        message = message.with_option(OptionNumber::URI_QUERY, q.as_bytes());
    }
    // RFC 7959 §4: Size2 0 asks for the package size (progress reports).
    message = message.with_uint_option(OptionNumber::SIZE2, 0);
    Some((alloc::format!("{scheme}{host}"), message))
}

fn oscore_link(sec: &InstanceData) -> Option<u16> {
    match sec.get(&17) {
        Some(ResourceData::Single(Value::Objlnk(l))) if l.object == OSCORE => Some(l.instance),
        _ => None,
    }
}

fn int_value(data: Option<&ResourceData>) -> Option<i64> {
    match data? {
        ResourceData::Single(Value::Integer(v)) => Some(*v),
        ResourceData::Single(Value::UnsignedInteger(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

fn string(data: Option<&ResourceData>) -> Option<String> {
    match data? {
        ResourceData::Single(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(feature = "oscore")]
fn opaque(data: Option<&ResourceData>) -> Option<&[u8]> {
    match data? {
        ResourceData::Single(Value::Opaque(b)) => Some(b),
        ResourceData::Single(Value::String(s)) => Some(s.as_bytes()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::InstanceSet;

    #[test]
    fn instance_set_keeps_each_id_once_in_order() {
        let mut set = InstanceSet::default();
        assert!(set.insert(3));
        assert!(set.insert(1));
        // `needs_context` asks the application once: a second insert is not new.
        assert!(!set.insert(3));
        assert!(set.contains(&1) && set.contains(&3) && !set.contains(&2));
        assert_eq!(set.0, [1, 3]);
        assert!(set.remove(&1));
        assert!(!set.remove(&1));
        assert_eq!(set.0, [3]);
        set.clear();
        assert!(!set.contains(&3));
    }
}
