//! The Registration Interface and client-initiated bootstrap as a sans-IO state machine
//! (LwM2M TS 1.2 Core §6.2 "Client Registration Interface", §6.1 "Bootstrap Interface";
//! Transport §6.3 / §6.4.1 / §6.4.2 for the CoAP mapping).
//!
//! [`Registrar`] decides *when* the client registers, updates, de-registers and bootstraps,
//! and emits each request as an [`Outgoing`]: a [`RequestHandle`], the peer
//! ([`Peer::Server`] by Short Server ID or [`Peer::BootstrapServer`]) and a [`Request`] in
//! mote-coap's vocabulary. The transport layer sends it and reports back with
//! [`Registrar::on_response`] or [`Registrar::on_failure`] (timeout, reset).
//!
//! # Call order
//! 1. [`Registrar::start`] once the factory configuration is loaded.
//! 2. Loop: send every [`Registrar::poll_transmit`]; pass answers to
//!    [`Registrar::on_response`] / [`Registrar::on_failure`]; after every
//!    [`Client::handle`] (a trigger may have been executed) and whenever
//!    [`Registrar::poll_timeout`] is reached call [`Registrar::handle_timeout`]; read
//!    [`Registrar::poll_event`] for the application.
//!
//! # The retry algorithm (TS 1.2 Core §6.2.1.1 "Bootstrap and LwM2M Server Registration
//! Mechanisms"; LightweightM2M-BsR-003…006, MaU-4, MaU-5)
//! Per server: wait the Initial Registration Delay Timer (/1/x/14), then a *sequence* of up
//! to Communication Retry Count (/1/x/17) attempts, attempt *n* failing → wait
//! Communication Retry Timer (/1/x/18) × 2^(n−1) before attempt *n*+1; a failed sequence →
//! wait Communication Sequence Delay Timer (/1/x/19) and start a new one, at most
//! Communication Sequence Retry Count (/1/x/20) sequences. Attempt and sequence restart at
//! 1 ("Current Attempt and Current Sequence start at 1").
//!
//! Servers with a Registration Priority Order (/1/x/13) register one after the other in
//! ascending order (MaU-4 "lag mode"): the next one starts when the current one is
//! registered or has failed. A server with Registration Failure Block (/1/x/15) true keeps
//! the others waiting through all its sequences ("performs additional registration retry
//! sequences and blocks registration to other LwM2M Servers"); one with false hands over
//! after its first failed sequence and goes on with its remaining sequences on its own (the
//! TS's suggestion: "execute the Single Unordered Servers Procedure for all failed
//! non-blocking LwM2M Servers"). Servers without a priority start at once, independently.
//! When a server's last sequence fails and its Bootstrap on Registration Failure (/1/x/16,
//! default true) is set, the client bootstraps; a blocking server without it stays
//! [`RegistrationState::Failed`] and keeps the servers after it blocked.
//!
//! # Update timing
//! An Update is sent `margin` before the lifetime (/1/x/1) runs out, `margin` =
//! min([`RegistrationConfig::update_margin`], lifetime / 2). The default margin is CoAP's
//! MAX_TRANSMIT_WAIT (93 s, RFC 7252 §4.8.2): a confirmable Update sent then still reaches
//! the server, with every retransmission, before the registration expires; the lifetime / 2
//! cap keeps short lifetimes usable.

#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
#[cfg(feature = "vec-maps")]
use mote_coap::vec_map::VecMap as BTreeMap;

use mote_access::ShortServerId;
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::option::OptionNumber;
use mote_lwm2m::Value;
use mote_lwm2m::data::{InstanceData, ResourceData};
use mote_lwm2m::object::{ObjectDefs, Version};

use crate::client::{Client, OSCORE, SECURITY, Trigger};
use crate::object::Object;
use crate::request::{Request, push_decimal};

/// Identifies one request the registrar emitted, to match its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestHandle(pub u32);

/// Whom a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The LwM2M Server of this account.
    Server(ShortServerId),
    /// The LwM2M Bootstrap-Server.
    BootstrapServer,
}

/// What a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Register (`POST /rd?…`).
    Register,
    /// Update (`POST /{location}?…`).
    Update,
    /// De-register (`DELETE /{location}`).
    Deregister,
    /// Bootstrap-Request (`POST /bs?ep=…&pct=…`).
    BootstrapRequest,
    /// Bootstrap-Pack-Request (`GET /bspack?ep=…`, Accept SenML-CBOR; TS 1.2 Transport
    /// §6.4.1), when [`RegistrationConfig::bootstrap_pack`] asks for it.
    BootstrapPackRequest,
}

/// One request to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// Give it back to [`Registrar::on_response`] / [`Registrar::on_failure`].
    pub handle: RequestHandle,
    /// The destination.
    pub peer: Peer,
    /// What it is.
    pub operation: Operation,
    /// Method, Uri-Path, Uri-Query, Content-Format, payload (send it confirmable: TS 1.2
    /// Transport §6.5 has the client announce itself awake with a confirmable Update).
    pub request: Request,
}

/// What the application is told.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Registered (or registered again) with this server.
    Registered(ShortServerId),
    /// An Update succeeded.
    Updated(ShortServerId),
    /// De-registered, or the account was deleted by a bootstrap (TS 1.2 Core §6.1 Step #3:
    /// "MUST consider itself de-registered").
    Deregistered(ShortServerId),
    /// Every retry sequence to this server failed.
    RegistrationFailed(ShortServerId),
    /// The account was disabled (/1/x/4) until the given time.
    Disabled(ShortServerId, Duration),
    /// A Bootstrap-Request is about to be sent (after the Client Hold Off Time).
    BootstrapStarted,
    /// Bootstrap-Finish was accepted.
    Bootstrapped,
    /// The bootstrap failed (no Bootstrap-Server account, refused, or no Bootstrap-Finish
    /// within EXCHANGE_LIFETIME).
    BootstrapFailed,
    /// The Bootstrap-Pack-Request got an error answer or a pack the client could not use
    /// (unreadable or inconsistent): the client asks again with a Bootstrap-Request.
    BootstrapPackRefused,
    /// The Bootstrap-Server Account Timeout (/0/x/12) expired: the account was purged.
    BootstrapAccountPurged,
    /// Queue mode: nothing was exchanged with this server for MAX_TRANSMIT_WAIT; the client
    /// may go to sleep towards it (TS 1.2 Transport §6.5 "Queue Mode Operation").
    MaySleep(ShortServerId),
}

/// Where one server account stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// An ordered server waiting for its turn.
    Queued,
    /// Waiting until the given time before the next Register attempt.
    Waiting(Duration),
    /// A Register is in flight.
    Registering,
    /// Registered.
    Registered,
    /// An Update is in flight.
    Updating,
    /// A De-register is in flight.
    Deregistering,
    /// Disabled until the given time (/1/x/4, /1/x/5).
    Disabled(Duration),
    /// De-registered on request; nothing more happens until [`Registrar::start`].
    Stopped,
    /// Every sequence failed.
    Failed,
}

/// Where the client-initiated bootstrap stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootstrapState {
    /// Not bootstrapping.
    Idle,
    /// Waiting the Client Hold Off Time (/0/x/11) until the given time.
    HoldOff(Duration),
    /// The Bootstrap-Request is in flight.
    Requesting,
    /// Waiting for Bootstrap-Finish until the given time.
    AwaitingFinish(Duration),
}

/// The registrar's settings (the per-server ones come from the Server Object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// The Endpoint Client Name (`ep`).
    pub endpoint: String,
    /// The content formats the client announces on the root link (`</>;ct=…`), in the form
    /// of [`Self::lwm2m_version`]: registered as 1.1 LwM2M CBOR (11544) is left out, as 1.0
    /// only LwM2M JSON (11543) is announced (`</>;ct=11543`, TS 1.0 §5.3.1) and without it
    /// the payload has no root link.
    pub content_formats: Vec<u16>,
    /// The preferred content format of the Bootstrap-Request (`pct`).
    pub preferred_content_format: u16,
    /// Queue mode (`Q`): the client tells the servers it may sleep.
    pub queue_mode: bool,
    /// Send the Update this long before the lifetime runs out (capped at lifetime / 2).
    pub update_margin: Duration,
    /// How long the client stays awake after an exchange in queue mode (MAX_TRANSMIT_WAIT).
    pub awake_time: Duration,
    /// How long the client waits for Bootstrap-Finish (TS 1.2 Core §6.1: EXCHANGE_LIFETIME).
    pub bootstrap_finish_timeout: Duration,
    /// Bootstrap-Request attempts before [`Event::BootstrapFailed`] (the retry of the
    /// Bootstrap-Server is "implementation dependent", TS 1.2 Core §6.2.1.1).
    pub bootstrap_attempts: u32,
    /// The `lwm2m` parameter of Register (TS 1.2 Core §6.2.1 "LwM2M Version"): `"1.2"`,
    /// or `"1.1"` / `"1.0"` for servers that answer a newer version with 4.12.
    pub lwm2m_version: String,
    /// Bootstrap with a Bootstrap-Pack-Request first (TS 1.2 Core §6.1.7.x): the whole
    /// configuration in one response, applied without a Bootstrap-Finish. An error answer
    /// or an inconsistent pack falls back to the Bootstrap-Request ("MUST retry
    /// bootstrapping with Bootstrap-Request"). Needs the `bootstrap-interface` feature
    /// (without it the client bootstraps with a Bootstrap-Request only).
    pub bootstrap_pack: bool,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            endpoint: String::from("mote"),
            content_formats: alloc::vec![
                ContentFormat::SENML_CBOR.0,
                ContentFormat::SENML_JSON.0,
                ContentFormat::LWM2M_CBOR.0,
            ],
            preferred_content_format: ContentFormat::SENML_CBOR.0,
            queue_mode: false,
            // RFC 7252 §4.8.2 defaults: MAX_TRANSMIT_WAIT 93 s, EXCHANGE_LIFETIME 247 s.
            update_margin: Duration::from_secs(93),
            awake_time: Duration::from_secs(93),
            bootstrap_finish_timeout: Duration::from_secs(247),
            bootstrap_attempts: 3,
            lwm2m_version: String::from("1.2"),
            bootstrap_pack: false,
        }
    }
}

/// The /1 resources that drive registration, with the defaults of TS 1.2 Core §6.2.1.1
/// "Registration Procedures Default Values".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerAccount {
    /// /1/x/0 Short Server ID.
    pub ssid: ShortServerId,
    /// /1/x/1 Lifetime, seconds (86400 when absent).
    pub lifetime: u64,
    /// /1/x/7 Binding ("U" when absent).
    pub binding: String,
    /// /1/x/5 Disable Timeout, seconds (86400 when absent).
    pub disable_timeout: u64,
    /// /1/x/13 Registration Priority Order (not defined: unordered).
    pub priority: Option<u64>,
    /// /1/x/14 Initial Registration Delay Timer, seconds (0).
    pub initial_delay: u64,
    /// /1/x/15 Registration Failure Block (false).
    pub block: bool,
    /// /1/x/16 Bootstrap on Registration Failure (true).
    pub bootstrap_on_failure: bool,
    /// /1/x/17 Communication Retry Count (5).
    pub retry_count: u64,
    /// /1/x/18 Communication Retry Timer, seconds (60).
    pub retry_timer: u64,
    /// /1/x/19 Communication Sequence Delay Timer, seconds (86400).
    pub sequence_delay: u64,
    /// /1/x/20 Communication Sequence Retry Count (1).
    pub sequence_retry_count: u64,
}

fn single(inst: &InstanceData, r: u16) -> Option<&Value> {
    match inst.get(&r)? {
        ResourceData::Single(v) => Some(v),
        ResourceData::Multiple(_) => None,
    }
}

impl ServerAccount {
    /// Reads the account from a /1 instance; `None` without a Short Server ID.
    pub fn from_instance(inst: &InstanceData) -> Option<ServerAccount> {
        let uint =
            |r: u16, default: u64| single(inst, r).and_then(|v| v.as_u64()).unwrap_or(default);
        let flag = |r: u16, default: bool| match single(inst, r) {
            Some(Value::Boolean(b)) => *b,
            _ => default,
        };
        let ssid = single(inst, 0)
            .and_then(|v| v.as_u64())
            .and_then(|v| u16::try_from(v).ok())?;
        Some(ServerAccount {
            ssid: ShortServerId(ssid),
            lifetime: uint(1, 86_400),
            binding: match single(inst, 7) {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => String::from("U"),
            },
            disable_timeout: uint(5, 86_400),
            priority: single(inst, 13).and_then(|v| v.as_u64()),
            initial_delay: uint(14, 0),
            block: flag(15, false),
            bootstrap_on_failure: flag(16, true),
            // A count of 0 would mean "never try": at least one attempt / sequence.
            retry_count: uint(17, 5).max(1),
            retry_timer: uint(18, 60),
            sequence_delay: uint(19, 86_400),
            sequence_retry_count: uint(20, 1).max(1),
        })
    }
}

/// A registration kept across a restart ([`Registrar::resumable`],
/// [`Registrar::start_resumed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resumed {
    /// The account.
    pub ssid: ShortServerId,
    /// The registration's Location-Path segments (`["rd", "5a3f"]`).
    pub location: Vec<String>,
    /// How long its lifetime still runs.
    pub remaining: Duration,
}

/// What the server last accepted: an Update carries only what differs (TS 1.2 Core
/// §6.2.2 "Update": "only the parameters that have changed").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Sent {
    lifetime: u64,
    binding: String,
    objects: String,
}

#[derive(Clone, Debug)]
struct Slot {
    account: ServerAccount,
    state: RegistrationState,
    attempt: u64,
    sequence: u64,
    /// The Location-Path of the registration (`["rd", "5a3f"]`).
    location: Vec<String>,
    /// When the registration or the last Update succeeded.
    refreshed: Duration,
    sent: Sent,
    /// What an in-flight Update carries.
    in_flight: Sent,
    update_requested: bool,
    /// The server's turn in the ordered procedure is over (registered or handed over).
    handed_over: bool,
    /// De-register, then disable.
    disable_after: bool,
    last_activity: Duration,
    asleep: bool,
    /// The account (its /1 instance) was deleted during the bootstrap in progress: at
    /// Bootstrap-Finish the client considers itself de-registered (TS 1.2 Core §6.1 Step
    /// #3), even if the Bootstrap-Server wrote the account again.
    deleted_in_bootstrap: bool,
}

impl Slot {
    fn new(account: ServerAccount) -> Slot {
        Slot {
            account,
            state: RegistrationState::Queued,
            attempt: 1,
            sequence: 1,
            location: Vec::new(),
            refreshed: Duration::ZERO,
            sent: Sent::default(),
            in_flight: Sent::default(),
            update_requested: false,
            handed_over: false,
            disable_after: false,
            last_activity: Duration::ZERO,
            asleep: false,
            deleted_in_bootstrap: false,
        }
    }

    fn update_due(&self, margin: Duration) -> Duration {
        // A lifetime of 0 would ask for an Update at once, for ever: at least 1 s.
        let lifetime = Duration::from_secs(self.account.lifetime.max(1));
        match self.refreshed.checked_add(lifetime) {
            Some(expiry) => expiry - margin.min(lifetime / 2),
            None => Duration::MAX,
        }
    }
}

/// Why a Register attempt ended.
enum AttemptOutcome {
    /// Another attempt (or sequence) is scheduled.
    Retrying { first_sequence_over: bool },
    /// Every sequence failed.
    Exhausted,
}

/// The registration and client-initiated bootstrap state machine (see the module docs for
/// the call order and the algorithm).
#[derive(Debug)]
pub struct Registrar {
    config: RegistrationConfig,
    slots: BTreeMap<u16, Slot>,
    pending: BTreeMap<RequestHandle, (Peer, Operation)>,
    transmit: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    next_handle: u32,
    bootstrap: BootstrapState,
    bootstrap_attempt: u32,
    /// This bootstrap sequence still asks with a Bootstrap-Pack-Request.
    bootstrap_pack: bool,
    purge_at: Option<Duration>,
}

impl Registrar {
    /// A registrar that has not started.
    pub fn new(config: RegistrationConfig) -> Registrar {
        Registrar {
            config,
            slots: BTreeMap::new(),
            pending: BTreeMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            next_handle: 0,
            bootstrap: BootstrapState::Idle,
            bootstrap_attempt: 0,
            bootstrap_pack: false,
            purge_at: None,
        }
    }

    /// Starts the registration procedure at `now` for every server account of `client`;
    /// without any, the client bootstraps (TS 1.2 Core §6.1: client-initiated bootstrap
    /// when no LwM2M Server account is usable).
    pub fn start(&mut self, client: &Client, now: Duration) {
        self.slots.clear();
        for acc in accounts(client) {
            self.slots.insert(acc.ssid.0, Slot::new(acc));
        }
        if self.slots.is_empty() {
            self.begin_bootstrap(client, now);
        }
        self.advance(client, now);
    }

    /// As [`Registrar::start`], but the accounts of `resumed` are still registered (a
    /// restarted client within the lifetime of an earlier registration, TS 1.2 Core §6.2.1:
    /// the registration lasts until its lifetime runs out): each sends an Update to its
    /// stored location at once instead of a Register, and registers again if the server
    /// refuses the Update (4.04, §6.2.2). Entries whose `remaining` time is zero or whose
    /// account is gone are ignored.
    pub fn start_resumed(&mut self, client: &Client, resumed: &[Resumed], now: Duration) {
        self.slots.clear();
        for acc in accounts(client) {
            let mut slot = Slot::new(acc);
            if let Some(r) = resumed
                .iter()
                .find(|r| r.ssid == slot.account.ssid && !r.remaining.is_zero())
            {
                let lifetime = Duration::from_secs(slot.account.lifetime.max(1));
                slot.location = r.location.clone();
                // The registration ends `remaining` from now: as if refreshed then.
                slot.refreshed = now.saturating_add(r.remaining).saturating_sub(lifetime);
                slot.last_activity = now;
                slot.state = RegistrationState::Registered;
                slot.update_requested = true;
                slot.handed_over = true;
            }
            self.slots.insert(slot.account.ssid.0, slot);
        }
        if self.slots.is_empty() {
            self.begin_bootstrap(client, now);
        }
        self.advance(client, now);
    }

    /// The registrations to keep across a restart ([`Registrar::start_resumed`]): each
    /// registered account's location and the time its lifetime has left at `now`.
    pub fn resumable(&self, now: Duration) -> Vec<Resumed> {
        self.slots
            .values()
            .filter(|s| {
                matches!(
                    s.state,
                    RegistrationState::Registered | RegistrationState::Updating
                ) && !s.location.is_empty()
            })
            .filter_map(|s| {
                let lifetime = Duration::from_secs(s.account.lifetime.max(1));
                let remaining = s.refreshed.checked_add(lifetime)?.checked_sub(now)?;
                Some(Resumed {
                    ssid: s.account.ssid,
                    location: s.location.clone(),
                    remaining,
                })
            })
            .collect()
    }

    /// The state of the account `ssid`, if the registrar knows it.
    pub fn state(&self, ssid: ShortServerId) -> Option<RegistrationState> {
        self.slots.get(&ssid.0).map(|s| s.state)
    }

    /// Whether the client is registered with `ssid` (an Update in flight counts).
    pub fn is_registered(&self, ssid: ShortServerId) -> bool {
        matches!(
            self.state(ssid),
            Some(RegistrationState::Registered | RegistrationState::Updating)
        )
    }

    /// The `lwm2m` version this registrar registers with ([`RegistrationConfig::lwm2m_version`]).
    pub fn lwm2m_version(&self) -> &str {
        &self.config.lwm2m_version
    }

    /// The Location-Path the server gave at registration.
    pub fn location(&self, ssid: ShortServerId) -> Option<&[String]> {
        self.slots
            .get(&ssid.0)
            .filter(|s| !s.location.is_empty())
            .map(|s| s.location.as_slice())
    }

    /// Where the client-initiated bootstrap stands.
    pub fn bootstrap_state(&self) -> BootstrapState {
        self.bootstrap
    }

    /// The next request to send.
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.transmit.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Queue mode: an exchange with `ssid` (a request from it, a notification to it) at
    /// `now` keeps the client awake for another [`RegistrationConfig::awake_time`].
    pub fn activity(&mut self, ssid: ShortServerId, now: Duration) {
        if let Some(s) = self.slots.get_mut(&ssid.0) {
            s.last_activity = now;
            s.asleep = false;
        }
    }

    /// Queue mode: the client has something for `ssid` (a notification, a Send) while it
    /// may be asleep: announce it is awake with an Update (TS 1.2 Transport §6.5: "The
    /// LwM2M Client lets the LwM2M Server know it is awake by sending a registration update
    /// message"). Sent at the next [`Registrar::handle_timeout`]; nothing when the client
    /// is awake already. Returns whether an Update was asked for.
    pub fn wake(&mut self, ssid: ShortServerId) -> bool {
        match self.slots.get_mut(&ssid.0) {
            Some(s) if s.asleep => {
                s.update_requested = true;
                true
            }
            _ => false,
        }
    }

    /// Asks for an Update to `ssid` at the next [`Registrar::handle_timeout`] (the
    /// application's own reason, as the Registration Update Trigger /1/x/8 would). Returns
    /// whether the account is known.
    pub fn request_update(&mut self, ssid: ShortServerId) -> bool {
        match self.slots.get_mut(&ssid.0) {
            Some(s) => {
                s.update_requested = true;
                true
            }
            None => false,
        }
    }

    /// Registers with `ssid` again at the next [`Registrar::handle_timeout`] (a new Register,
    /// not an Update): the account's security changed (a new OSCORE context, e.g. from
    /// EDHOC) and the server must bind the registration to the new identity (TS 1.2 Core
    /// §6.2.1; an Update under the new identity would not match the registration). Returns
    /// whether the account is known.
    pub fn register_again(&mut self, ssid: ShortServerId, now: Duration) -> bool {
        match self.slots.get_mut(&ssid.0) {
            Some(s) => {
                Self::restart(s, now);
                s.update_requested = false;
                true
            }
            None => false,
        }
    }

    /// Starts a client-initiated bootstrap (TS 1.2 Core §6.1.3), as the Bootstrap-Request
    /// Trigger (/1/x/9) would; nothing when one is already running.
    pub fn request_bootstrap(&mut self, client: &Client, now: Duration) {
        self.begin_bootstrap(client, now);
    }

    /// The Short Server IDs of every account the registrar knows, ascending.
    pub fn servers(&self) -> Vec<ShortServerId> {
        self.slots.keys().map(|k| ShortServerId(*k)).collect()
    }

    /// The earliest time at which [`Registrar::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut t: Option<Duration> = None;
        let mut at = |d: Duration| t = Some(t.map_or(d, |x| x.min(d)));
        // During a bootstrap no Register starts and an account deleted by it sends nothing
        // (`advance`): their timers are not due until Bootstrap-Finish, which re-evaluates
        // every account. (Reporting them would hand the caller a deadline that
        // `handle_timeout` cannot clear, and a driver waiting for it would spin.)
        let bootstrapping = !matches!(self.bootstrap, BootstrapState::Idle);
        for s in self.slots.values() {
            if bootstrapping && s.deleted_in_bootstrap {
                continue;
            }
            match s.state {
                RegistrationState::Waiting(_) if bootstrapping => {}
                RegistrationState::Waiting(d) | RegistrationState::Disabled(d) => at(d),
                RegistrationState::Registered => {
                    at(s.update_due(self.config.update_margin));
                    if self.config.queue_mode && !s.asleep {
                        at(s.last_activity.saturating_add(self.config.awake_time));
                    }
                }
                _ => {}
            }
        }
        match self.bootstrap {
            BootstrapState::HoldOff(d) | BootstrapState::AwaitingFinish(d) => at(d),
            _ => {}
        }
        if let Some(p) = self.purge_at {
            at(p);
        }
        t
    }

    /// Acts on the client's triggers and on every timer due at `now`: Register attempts,
    /// Updates (lifetime, object set changed, /1/x/8), the bootstrap, disabled accounts
    /// coming back, queue-mode sleep.
    pub fn handle_timeout(&mut self, client: &mut Client, now: Duration) {
        // The accounts may have been rewritten (Disable Timeout, lifetime, binding, …).
        let current = accounts(client);
        // TS 1.2 Core §6.1 Step #3: an account deleted during the bootstrap (Bootstrap-Delete
        // of `/`, `/1` or its instance) counts as deleted at Bootstrap-Finish even when the
        // Bootstrap-Server writes it again before then. (Checked before the triggers, which
        // may hold the Bootstrap-Finish.)
        if !matches!(self.bootstrap, BootstrapState::Idle) {
            for (k, slot) in self.slots.iter_mut() {
                if !current.iter().any(|a| a.ssid.0 == *k) {
                    slot.deleted_in_bootstrap = true;
                }
            }
        }
        for acc in current {
            if let Some(slot) = self.slots.get_mut(&acc.ssid.0) {
                slot.account = acc;
            }
        }
        for t in client.take_triggers() {
            match t {
                Trigger::RegistrationUpdate(s) => {
                    if let Some(slot) = self.slots.get_mut(&s.0) {
                        slot.update_requested = true;
                    }
                }
                Trigger::BootstrapRequest(_) => self.begin_bootstrap(client, now),
                Trigger::Disable(s) => self.disable(s, now),
                // Only an accepted Bootstrap-Finish (the `bootstrap-interface` feature) sets it.
                Trigger::BootstrapFinished if cfg!(feature = "bootstrap-interface") => {
                    self.bootstrap_finished(client, now);
                }
                Trigger::BootstrapFinished => {}
            }
        }
        if let Some(p) = self.purge_at {
            if now >= p {
                self.purge_at = None;
                purge_bootstrap_account(client);
                self.events.push_back(Event::BootstrapAccountPurged);
            }
        }
        match self.bootstrap {
            BootstrapState::HoldOff(at) if now >= at => self.send_bootstrap_request(),
            BootstrapState::AwaitingFinish(at) if now >= at => {
                // TS 1.2 Core §6.1: "the bootstrap procedure fails when the LwM2M Client does
                // not receive the Bootstrap-Finish operation after EXCHANGE_LIFETIME".
                self.bootstrap_failed(client, now);
            }
            _ => {}
        }
        self.advance(client, now);
    }

    /// De-registers from `ssid` (`DELETE /{location}`); without a registration the account
    /// just stops.
    pub fn deregister(&mut self, ssid: ShortServerId) {
        let Some(slot) = self.slots.get_mut(&ssid.0) else {
            return;
        };
        if slot.location.is_empty() || !matches!(slot.state, RegistrationState::Registered) {
            slot.state = RegistrationState::Stopped;
            return;
        }
        let request = Request {
            code: Code::DELETE,
            uri_path: slot.location.clone(),
            ..Request::new(Code::DELETE, "/")
        };
        slot.state = RegistrationState::Deregistering;
        self.emit(Peer::Server(ssid), Operation::Deregister, request);
    }

    /// Takes the answer to `handle`: the response code, its options (Location-Path of a
    /// Register) and payload.
    pub fn on_response(
        &mut self,
        client: &mut Client,
        handle: RequestHandle,
        code: Code,
        options: &[(OptionNumber, &[u8])],
        payload: &[u8],
        now: Duration,
    ) {
        let Some((peer, op)) = self.pending.remove(&handle) else {
            return;
        };
        let success = code.class() == 2;
        match (peer, op) {
            // Only sent with the `bootstrap-interface` feature (`begin_bootstrap`).
            (Peer::BootstrapServer, Operation::BootstrapPackRequest)
                if cfg!(feature = "bootstrap-interface") =>
            {
                self.on_bootstrap_pack(client, code, options, payload, now);
                return;
            }
            (Peer::BootstrapServer, _) => {
                if success {
                    self.bootstrap = BootstrapState::AwaitingFinish(
                        now.saturating_add(self.config.bootstrap_finish_timeout),
                    );
                } else {
                    self.bootstrap_failed(client, now);
                }
            }
            (Peer::Server(ssid), Operation::Register) => {
                let mut location: Vec<String> = Vec::new();
                for (n, v) in options {
                    if *n == OptionNumber::LOCATION_PATH {
                        location.push(String::from_utf8_lossy(v).into_owned());
                    }
                }
                // Transport §6.3: 2.01 Created with the Location-Path of the registration.
                if code == Code::CREATED && !location.is_empty() {
                    if let Some(slot) = self.slots.get_mut(&ssid.0) {
                        slot.location = location;
                        slot.sent = core::mem::take(&mut slot.in_flight);
                        slot.refreshed = now;
                        slot.last_activity = now;
                        slot.asleep = false;
                        slot.state = RegistrationState::Registered;
                        slot.attempt = 1;
                        slot.sequence = 1;
                        slot.update_requested = false;
                        slot.handed_over = true;
                    }
                    self.events.push_back(Event::Registered(ssid));
                } else {
                    self.attempt_failed(client, ssid, now);
                }
            }
            (Peer::Server(ssid), Operation::Update) => {
                let Some(slot) = self.slots.get_mut(&ssid.0) else {
                    return;
                };
                if success {
                    slot.sent = core::mem::take(&mut slot.in_flight);
                    slot.refreshed = now;
                    slot.last_activity = now;
                    slot.state = RegistrationState::Registered;
                    self.events.push_back(Event::Updated(ssid));
                } else {
                    // TS 1.2 Core §6.2.2: an Update the server refuses (4.04: the
                    // registration is gone) → register again.
                    Self::restart(slot, now);
                }
            }
            (
                Peer::Server(ssid),
                Operation::Deregister
                | Operation::BootstrapRequest
                | Operation::BootstrapPackRequest,
            ) => {
                self.deregistered(ssid, now);
            }
        }
        self.advance(client, now);
    }

    /// The request `handle` got no answer (timeout) or was reset.
    pub fn on_failure(&mut self, client: &mut Client, handle: RequestHandle, now: Duration) {
        let Some((peer, op)) = self.pending.remove(&handle) else {
            return;
        };
        match (peer, op) {
            (Peer::BootstrapServer, _) => self.bootstrap_failed(client, now),
            (Peer::Server(ssid), Operation::Register) => self.attempt_failed(client, ssid, now),
            (Peer::Server(ssid), Operation::Update) => {
                if let Some(slot) = self.slots.get_mut(&ssid.0) {
                    Self::restart(slot, now);
                }
            }
            (Peer::Server(ssid), _) => self.deregistered(ssid, now),
        }
        self.advance(client, now);
    }

    // ---- internals -----------------------------------------------------------------

    fn emit(&mut self, peer: Peer, operation: Operation, request: Request) -> RequestHandle {
        let handle = RequestHandle(self.next_handle);
        self.next_handle = self.next_handle.wrapping_add(1);
        self.pending.insert(handle, (peer, operation));
        self.transmit.push_back(Outgoing {
            handle,
            peer,
            operation,
            request,
        });
        handle
    }

    fn restart(slot: &mut Slot, now: Duration) {
        slot.location.clear();
        slot.attempt = 1;
        slot.sequence = 1;
        slot.state = RegistrationState::Waiting(now);
    }

    fn deregistered(&mut self, ssid: ShortServerId, now: Duration) {
        let Some(slot) = self.slots.get_mut(&ssid.0) else {
            return;
        };
        slot.location.clear();
        if slot.disable_after {
            slot.disable_after = false;
            let until = later(now, slot.account.disable_timeout);
            slot.state = RegistrationState::Disabled(until);
            self.events.push_back(Event::Disabled(ssid, until));
        } else {
            slot.state = RegistrationState::Stopped;
        }
        self.events.push_back(Event::Deregistered(ssid));
    }

    /// /1/x/4 Disable: "de-register … and disconnect for the Disable Timeout".
    fn disable(&mut self, ssid: ShortServerId, now: Duration) {
        let Some(slot) = self.slots.get_mut(&ssid.0) else {
            return;
        };
        slot.disable_after = true;
        if matches!(slot.state, RegistrationState::Registered) {
            self.deregister(ssid);
        } else {
            self.deregistered(ssid, now);
        }
    }

    /// One Register attempt failed: the retry algorithm of TS 1.2 Core §6.2.1.1.
    fn attempt_failed(&mut self, client: &Client, ssid: ShortServerId, now: Duration) {
        let Some(slot) = self.slots.get_mut(&ssid.0) else {
            return;
        };
        let acc = &slot.account;
        let outcome = if slot.attempt < acc.retry_count {
            // "Communication Retry Timer … multiplied by two to the power of the current
            // attempt minus one".
            let factor = 1u64 << (slot.attempt - 1).min(32);
            let wait = acc.retry_timer.saturating_mul(factor);
            slot.attempt += 1;
            slot.state = RegistrationState::Waiting(later(now, wait));
            AttemptOutcome::Retrying {
                first_sequence_over: false,
            }
        } else if slot.sequence < acc.sequence_retry_count {
            slot.sequence += 1;
            slot.attempt = 1;
            slot.state = RegistrationState::Waiting(later(now, acc.sequence_delay));
            AttemptOutcome::Retrying {
                first_sequence_over: true,
            }
        } else {
            slot.state = RegistrationState::Failed;
            AttemptOutcome::Exhausted
        };
        let ordered = slot.account.priority.is_some();
        let block = slot.account.block;
        let bootstrap = slot.account.bootstrap_on_failure;
        match outcome {
            AttemptOutcome::Retrying {
                first_sequence_over,
            } => {
                // A non-blocking ordered server hands over after its first failed sequence.
                if ordered && !block && first_sequence_over {
                    slot.handed_over = true;
                }
            }
            AttemptOutcome::Exhausted => {
                if !block || !ordered {
                    slot.handed_over = true;
                }
                self.events.push_back(Event::RegistrationFailed(ssid));
                if bootstrap {
                    self.begin_bootstrap(client, now);
                }
            }
        }
    }

    /// Moves every server on: ordered servers get their turn, due attempts and Updates
    /// are sent, disabled accounts come back, queue-mode sleep is announced.
    fn advance(&mut self, client: &Client, now: Duration) {
        // TS 1.2 Transport §6.4.1: during the bootstrap no new registration starts
        // (registered servers still get their Updates).
        let bootstrapping = !matches!(self.bootstrap, BootstrapState::Idle);
        let mut emit = Vec::new();
        // The ordered procedure: the first server (by priority) whose turn is not over.
        // (The lowest (priority, Short Server ID) among them: no sort needed.)
        let current = self
            .slots
            .iter()
            .filter(|(_, s)| !s.handed_over)
            .filter_map(|(k, s)| s.account.priority.map(|p| (p, *k)))
            .min()
            .map(|(_, k)| k);
        let objects = registration_payload(client);
        for (&k, slot) in self.slots.iter_mut() {
            let ssid = slot.account.ssid;
            match slot.state {
                RegistrationState::Queued
                    if slot.account.priority.is_none() || current == Some(k) =>
                {
                    slot.state = RegistrationState::Waiting(later(now, slot.account.initial_delay));
                }
                RegistrationState::Disabled(until) if now >= until => {
                    slot.attempt = 1;
                    slot.sequence = 1;
                    slot.state = RegistrationState::Waiting(now);
                }
                _ => {}
            }
            // One path for both: the request, what it carries (`in_flight`) and the state it
            // leaves the slot in (code size: the two built their requests apart before).
            let (op, req, next) = match slot.state {
                RegistrationState::Waiting(at) if now >= at && !bootstrapping => (
                    Operation::Register,
                    register_request(&self.config, &slot.account, &objects),
                    RegistrationState::Registering,
                ),
                RegistrationState::Registered if bootstrapping && slot.deleted_in_bootstrap => {
                    continue;
                }
                RegistrationState::Registered => {
                    let changed = slot.sent.objects != objects
                        || slot.sent.lifetime != slot.account.lifetime
                        || slot.sent.binding != slot.account.binding;
                    if changed
                        || slot.update_requested
                        || now >= slot.update_due(self.config.update_margin)
                    {
                        slot.update_requested = false;
                        slot.asleep = false;
                        slot.last_activity = now;
                        (
                            Operation::Update,
                            update_request(&self.config, slot, &objects),
                            RegistrationState::Updating,
                        )
                    } else {
                        if self.config.queue_mode
                            && !slot.asleep
                            && now >= slot.last_activity.saturating_add(self.config.awake_time)
                        {
                            slot.asleep = true;
                            self.events.push_back(Event::MaySleep(ssid));
                        }
                        continue;
                    }
                }
                _ => continue,
            };
            slot.in_flight = Sent {
                lifetime: slot.account.lifetime,
                binding: slot.account.binding.clone(),
                objects: objects.clone(),
            };
            slot.state = next;
            emit.push((ssid, op, req));
        }
        for (ssid, op, req) in emit {
            self.emit(Peer::Server(ssid), op, req);
        }
    }

    fn begin_bootstrap(&mut self, client: &Client, now: Duration) {
        if !matches!(self.bootstrap, BootstrapState::Idle) {
            return;
        }
        if self.bootstrap_attempt == 0 {
            // A new sequence: the Bootstrap-Pack-Request again when configured (a retry
            // after no answer "MAY" use it again, Core §6.1.7.x; after an error it does not).
            // The pack is a Bootstrap Interface operation: only with `bootstrap-interface`.
            self.bootstrap_pack =
                cfg!(feature = "bootstrap-interface") && self.config.bootstrap_pack;
        }
        let Some(account) = bootstrap_account(client) else {
            self.events.push_back(Event::BootstrapFailed);
            return;
        };
        // /0/x/11 Client Hold Off Time: "the number of seconds to wait before initiating a
        // Client Initiated Bootstrap once the LwM2M Client has determined it should".
        let hold_off = single(account, 11).and_then(|v| v.as_u64()).unwrap_or(0);
        self.bootstrap = BootstrapState::HoldOff(later(now, hold_off));
        if hold_off == 0 {
            self.send_bootstrap_request();
        }
    }

    fn send_bootstrap_request(&mut self) {
        if self.bootstrap_pack {
            // TS 1.2 Transport §6.4.1: "GET Accept: SenML CBOR … /bspack?ep={Endpoint
            // Client Name}".
            let req = Request::new(Code::GET, "/bspack")
                .with_query(&text_query("ep=", &self.config.endpoint))
                .with_accept(ContentFormat::SENML_CBOR);
            self.bootstrap_attempt += 1;
            self.bootstrap = BootstrapState::Requesting;
            self.events.push_back(Event::BootstrapStarted);
            self.emit(Peer::BootstrapServer, Operation::BootstrapPackRequest, req);
            return;
        }
        let req = Request::new(Code::POST, "/bs")
            .with_query(&text_query("ep=", &self.config.endpoint))
            .with_query(&decimal_query(
                "pct=",
                u64::from(self.config.preferred_content_format),
            ));
        self.bootstrap_attempt += 1;
        self.bootstrap = BootstrapState::Requesting;
        self.events.push_back(Event::BootstrapStarted);
        self.emit(Peer::BootstrapServer, Operation::BootstrapRequest, req);
    }

    fn bootstrap_failed(&mut self, client: &Client, now: Duration) {
        self.bootstrap = BootstrapState::Idle;
        // TS 1.2 Core §6.1 Step #2: "If Bootstrapping was unsuccessful … further statements
        // below in Step #3 do not apply": what the failed attempt deleted does not count as
        // deleted (a retry marks again what is still missing in its own run).
        for slot in self.slots.values_mut() {
            slot.deleted_in_bootstrap = false;
        }
        if self.bootstrap_attempt < self.config.bootstrap_attempts {
            self.begin_bootstrap(client, now);
        } else {
            self.bootstrap_attempt = 0;
            self.events.push_back(Event::BootstrapFailed);
        }
    }

    /// The answer to a Bootstrap-Pack-Request: a pack the client takes completes the
    /// bootstrap (no Bootstrap-Finish, Core §6.1 Step #2); an error answer, a pack it cannot
    /// read or an inconsistent one makes it "retry bootstrapping with Bootstrap-Request".
    fn on_bootstrap_pack(
        &mut self,
        client: &mut Client,
        code: Code,
        options: &[(OptionNumber, &[u8])],
        payload: &[u8],
        now: Duration,
    ) {
        let format = options
            .iter()
            .find(|(n, _)| *n == OptionNumber::CONTENT_FORMAT)
            .map(|(_, v)| {
                ContentFormat(
                    v.iter()
                        .fold(0u32, |a, b| (a << 8) | u32::from(*b))
                        .try_into()
                        .unwrap_or(u16::MAX),
                )
            })
            .unwrap_or(ContentFormat::SENML_CBOR);
        let applied = if code == Code::CONTENT {
            client.bootstrap_pack(format, payload)
        } else {
            Err(String::from("the Bootstrap-Pack-Request was refused"))
        };
        match applied {
            // Step #3 as at Bootstrap-Finish: accounts the pack left out are de-registered,
            // new ones register, those it carries again stay registered.
            Ok(()) => self.bootstrap_finished(client, now),
            Err(_) => {
                self.bootstrap_pack = false;
                self.bootstrap = BootstrapState::Idle;
                self.events.push_back(Event::BootstrapPackRefused);
                self.send_bootstrap_request();
            }
        }
        self.advance(client, now);
    }

    /// TS 1.2 Core §6.1 Step #3: accounts deleted by the bootstrap are de-registered, new
    /// ones start the registration procedure, kept ones stay registered.
    fn bootstrap_finished(&mut self, client: &Client, now: Duration) {
        self.bootstrap = BootstrapState::Idle;
        self.bootstrap_attempt = 0;
        self.events.push_back(Event::Bootstrapped);
        let fresh: BTreeMap<u16, ServerAccount> = accounts(client)
            .into_iter()
            .map(|a| (a.ssid.0, a))
            .collect();
        let gone: Vec<u16> = self
            .slots
            .keys()
            .filter(|k| !fresh.contains_key(k))
            .copied()
            .collect();
        for k in gone {
            self.slots.remove(&k);
            self.events.push_back(Event::Deregistered(ShortServerId(k)));
        }
        for (k, acc) in fresh {
            match self.slots.get_mut(&k) {
                Some(s)
                    if matches!(s.state, RegistrationState::Registered)
                        && !s.deleted_in_bootstrap =>
                {
                    s.account = acc;
                }
                old => {
                    // Deleted and written again: de-registered, then registered anew.
                    if old.is_some_and(|s| s.deleted_in_bootstrap && !s.location.is_empty()) {
                        self.events.push_back(Event::Deregistered(ShortServerId(k)));
                    }
                    self.slots.insert(k, Slot::new(acc));
                }
            }
        }
        // /0/x/12 Bootstrap-Server Account Timeout: purge the account after it (0 or
        // absent: kept for ever).
        self.purge_at = bootstrap_account(client)
            .and_then(|a| single(a, 12))
            .and_then(|v| v.as_u64())
            .filter(|t| *t > 0)
            .map(|t| later(now, t));
    }
}

/// `now` + `secs`, saturating: the timers come from resources a server can write.
fn later(now: Duration, secs: u64) -> Duration {
    now.saturating_add(Duration::from_secs(secs))
}

/// The server accounts of `client` (every /1 instance with a Short Server ID).
pub fn accounts(client: &Client) -> Vec<ServerAccount> {
    // A loop, not `filter_map(..).collect()`: less code for the same list.
    let mut out = Vec::new();
    for (_, inst) in client.servers.iter() {
        if let Some(account) = ServerAccount::from_instance(inst) {
            out.push(account);
        }
    }
    out
}

fn bootstrap_account(client: &Client) -> Option<&InstanceData> {
    client
        .security
        .iter()
        .find(|(_, s)| matches!(single(s, 1), Some(Value::Boolean(true))))
        .map(|(_, s)| s)
}

fn purge_bootstrap_account(client: &mut Client) {
    let ids: Vec<u16> = client
        .security
        .iter()
        .filter(|(_, s)| matches!(single(s, 1), Some(Value::Boolean(true))))
        .map(|(i, _)| i)
        .collect();
    for i in ids {
        let _ = client.security.delete(i);
    }
    client.rebuild_access();
}

/// The Register / Update payload from the object store (TS 1.2 Core §6.2.1): every object
/// but Security /0 and OSCORE /21 (never registered), `</O>;ver=` when the version differs
/// from the one of the client's Enabler (TS 1.2 Core §7.2.2 "Object Definition and Object
/// Version Usage": a Core Object whose version is not the Enabler's, a non-core Object not
/// in 1.0), the instances, and the root link with the content formats.
fn registration_payload(client: &Client) -> String {
    let mut objects: Vec<(u16, Version, Vec<u16>)> = Vec::new();
    for o in client.object_ids() {
        if o == SECURITY || o == OSCORE {
            continue;
        }
        if let (Some(def), Some(obj)) = (client.definitions().object(o), client.object(o)) {
            objects.push((o, def.version, obj.instances()));
        }
    }
    // The built-in definitions are the Core Objects of the 1.2 Enabler.
    let enabler =
        |o: u16| mote_lwm2m::object::builtin::object(o).map_or(Version::V1_0, |d| d.version);
    mote_lwm2m::link::registration_payload(&[], &objects, enabler, "/").unwrap_or_default()
}

/// The root link of the Register / Update payload, in the form of the version registered
/// with, and the object links after it.
///
/// - 1.2: `</>;rt="oma.lwm2m";ct="…"` with every configured format (TS 1.2 Core §6.2.1:
///   "the LwM2M Client MAY inform the LwM2M Server by including the content types in the
///   root path link using the `ct=` link attribute").
/// - 1.1: the same without LwM2M CBOR (11544), which TS 1.1 does not define (it came with
///   1.2, TS 1.2 Core §7.4.7).
/// - 1.0: TS 1.0 §5.3.1 knows one announcement only, a single `</>;ct=11543` when the client
///   supports the LwM2M JSON format for all Objects (TLV, text and opaque need none), and no
///   `rt="oma.lwm2m"` for the default path `/`; SenML and LwM2M CBOR (110, 112, 11544) are
///   unknown to a 1.0 server. Without 11543 configured the payload is the object links only.
fn with_root(config: &RegistrationConfig, objects: &str) -> String {
    let root = match config.lwm2m_version.as_str() {
        "1.0" => config
            .content_formats
            .contains(&ContentFormat::LWM2M_JSON.0)
            .then(|| decimal_query("</>;ct=", u64::from(ContentFormat::LWM2M_JSON.0))),
        version => {
            let mut ct = String::new();
            for c in config
                .content_formats
                .iter()
                .filter(|c| version != "1.1" || **c != ContentFormat::LWM2M_CBOR.0)
            {
                if !ct.is_empty() {
                    ct.push(' ');
                }
                push_decimal(&mut ct, u64::from(*c));
            }
            (!ct.is_empty()).then(|| ["</>;rt=\"oma.lwm2m\";ct=\"", &ct, "\""].concat())
        }
    };
    let Some(root) = root else {
        return String::from(objects);
    };
    if objects.is_empty() {
        root
    } else {
        [root.as_str(), ",", objects].concat()
    }
}

/// `key` followed by `value` (`ep=dev-1`; the queries are built without `core::fmt`).
fn text_query(key: &str, value: &str) -> String {
    [key, value].concat()
}

/// `key` followed by `n` in decimal (`lt=300`).
fn decimal_query(key: &str, n: u64) -> String {
    let mut out = String::from(key);
    push_decimal(&mut out, n);
    out
}

fn register_request(config: &RegistrationConfig, acc: &ServerAccount, objects: &str) -> Request {
    let mut req = Request::new(Code::POST, "/rd")
        .with_query(&text_query("ep=", &config.endpoint))
        .with_query(&decimal_query("lt=", acc.lifetime))
        .with_query(&text_query("lwm2m=", &config.lwm2m_version))
        .with_query(&text_query("b=", &acc.binding));
    if config.queue_mode {
        req = req.with_query("Q");
    }
    with_links(req, config, objects)
}

fn update_request(config: &RegistrationConfig, slot: &Slot, objects: &str) -> Request {
    let (sent, acc) = (&slot.sent, &slot.account);
    let mut req = Request {
        uri_path: slot.location.clone(),
        ..Request::new(Code::POST, "/")
    };
    if sent.lifetime != acc.lifetime {
        req = req.with_query(&decimal_query("lt=", acc.lifetime));
    }
    if sent.binding != acc.binding {
        req = req.with_query(&text_query("b=", &acc.binding));
    }
    if sent.objects != objects {
        req = with_links(req, config, objects);
    }
    req
}

/// `req` with the Register / Update payload: the root link and the object links.
// Code size: one copy for Register and Update.
#[inline(never)]
fn with_links(req: Request, config: &RegistrationConfig, objects: &str) -> Request {
    req.with_payload(
        ContentFormat::LINK_FORMAT,
        with_root(config, objects).into_bytes(),
    )
}
