//! Information Reporting (LwM2M TS 1.2 Core §6.4: Observe / Observe-Composite / Notify,
//! with the `<NOTIFICATION>` attributes of §5.1.2) and Send (§6.5 "Send Operation"), as a
//! sans-IO state machine; LightweightM2M-RMo-001…003, DSE-003…005, IR-001.
//!
//! The transport layer registers each observation it accepted ([`Reporter::observe`]: the
//! server, the path(s), its token as an [`ObservationToken`]); the application says when a
//! value changed ([`Reporter::value_changed`]); [`Reporter`] decides when a notification is
//! due from the effective attributes of the server (pmin, pmax, gt, lt, st, epmin, epmax,
//! edge, con — [`mote_lwm2m::attributes::evaluate`]), re-checks the server's Read right
//! before each one (mote-access `NotifyDecision`: a denied observation is cancelled), and
//! stores notifications and Sends while the server is offline or its account disabled when
//! /1/x/6 "Notification Storing When Disabled or Offline" is true, delivering them in order
//! when it is back ([`Reporter::set_online`]).
//!
//! # Call order
//! [`Reporter::set_online`] on each registration event; [`Reporter::observe`] /
//! [`Reporter::cancel`] from the transport; [`Reporter::value_changed`] from the
//! application; [`Reporter::handle_timeout`] at [`Reporter::poll_timeout`]; then send every
//! [`Reporter::poll_report`] and read [`Reporter::poll_event`]. Answers to Send go to
//! [`Reporter::on_send_response`] / [`Reporter::on_send_failure`]. When the CoAP layer is
//! done with a notification handed out from the store ([`Reporter::awaiting`]), tell
//! [`Reporter::notification_done`] or [`Reporter::notification_failed`]: the next stored one
//! of that observation waits for it.

#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;
#[cfg(feature = "vec-maps")]
use mote_coap::vec_map::VecMap as BTreeMap;

use mote_access::{Denial, Grant, NotifyDecision, Operation, Requester, ShortServerId, Target};
use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_lwm2m::attributes::{Causes, Decision};
use mote_lwm2m::data::ResourceData;
use mote_lwm2m::{Format, Path, Record, Value};

use crate::client::Client;
use crate::request::Request;

/// The Observe value of an LwM2M client's first Observe response (see [`endpoint_config`]).
pub const FIRST_OBSERVE_SEQUENCE: u32 = 1;

/// `config` with what the mote-coap endpoint under an LwM2M client needs for observations:
/// the Observe sequence starts at [`FIRST_OBSERVE_SEQUENCE`] rather than 0.
///
/// RFC 7641 §4.4 lets the first value be anything, 0 included; but node-coap (under
/// lwm2m-node-lib's server) keeps a notification only when its Observe value is greater
/// than the last one, which it starts at 0 — a first response with Observe 0 is dropped and
/// the server takes the *next* notification as the Observe result. Starting at 1 costs
/// nothing and is as valid for every other server.
pub fn endpoint_config(
    mut config: mote_coap::endpoint::EndpointConfig,
) -> mote_coap::endpoint::EndpointConfig {
    config.observe.first_sequence = FIRST_OBSERVE_SEQUENCE;
    config
}

/// The transport layer's handle of an observation (its token, or an index to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObservationToken(pub u64);

/// Identifies one Send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SendHandle(pub u32);

/// The reporter's bounds and formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportingConfig {
    /// Observations over all servers (beyond it: [`ReportingError::TooManyObservations`]).
    pub max_observations: usize,
    /// Reports stored for offline servers, over all servers.
    pub max_stored: usize,
    /// Stored notifications per observation when it has no `hqmax` attribute.
    pub default_hqmax: u32,
    /// The format of Send (TS 1.2 Core §6.5: SenML CBOR, SenML JSON or LwM2M CBOR; the
    /// Server Object has no resource for it, so it is the client's choice).
    pub send_format: Format,
}

impl Default for ReportingConfig {
    fn default() -> Self {
        ReportingConfig {
            max_observations: 32,
            max_stored: 64,
            default_hqmax: 8,
            send_format: Format::SenmlCbor,
        }
    }
}

/// Why a reporting request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportingError {
    /// The observation table is full.
    #[error("observation table is full ({limit} entries)")]
    TooManyObservations {
        /// [`ReportingConfig::max_observations`].
        limit: usize,
    },
    /// The offline store is full.
    #[error("report store is full ({limit} entries)")]
    StoreFull {
        /// [`ReportingConfig::max_stored`].
        limit: usize,
    },
    /// No /1 instance has this Short Server ID.
    #[error("no server account {0}")]
    UnknownServer(u16),
    /// The server set /1/x/23 Mute Send (LightweightM2M-DSE-004).
    #[error("server {0} has muted Send")]
    Muted(u16),
    /// None of the paths can be reported to this server (missing, or no Read right).
    #[error("nothing the server may read under the given paths")]
    NothingToReport,
    /// The server is offline and its account does not store reports (/1/x/6 false).
    #[error("server {0} is offline and does not store reports")]
    Offline(u16),
    /// The values could not be encoded in the chosen format.
    #[error("encoding failed: {0}")]
    Encode(mote_lwm2m::Error),
    /// Several paths (an Observe-Composite observation) without the `composite` feature.
    #[error("Observe-Composite needs the composite feature")]
    CompositeUnsupported,
}

/// One notification to send on the observation's token.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The observing server.
    pub server: ShortServerId,
    /// The observation.
    pub token: ObservationToken,
    /// Every condition that caused it (LightweightM2M-RMo-002).
    pub causes: Causes,
    /// Confirmable (`con=1`, or /1/x/26 Default Notification Mode 1).
    pub confirmable: bool,
    /// The Content-Format of the payload.
    pub content_format: ContentFormat,
    /// The values.
    pub payload: Vec<u8>,
    /// When it was generated.
    pub time: Duration,
    /// It was stored while the server was offline.
    pub stored: bool,
}

/// One Send (`POST /dp`, TS 1.2 Transport §6.4.4).
#[derive(Clone, Debug, PartialEq)]
pub struct SendReport {
    /// Give it back to [`Reporter::on_send_response`] / [`Reporter::on_send_failure`].
    pub handle: SendHandle,
    /// The destination server.
    pub server: ShortServerId,
    /// The request.
    pub request: Request,
    /// When it was generated.
    pub time: Duration,
    /// It was stored while the server was offline.
    pub stored: bool,
}

/// Something to send to a server.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
    /// A notification.
    Notify(Notification),
    /// A Send.
    Send(SendReport),
}

impl Report {
    fn server(&self) -> ShortServerId {
        match self {
            Report::Notify(n) => n.server,
            Report::Send(s) => s.server,
        }
    }
    fn mark_stored(&mut self) {
        match self {
            Report::Notify(n) => n.stored = true,
            Report::Send(s) => s.stored = true,
        }
    }
}

/// What the application or transport is told.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportEvent {
    /// The server lost the Read right: the observation was cancelled (TS 1.2 Core §7.3
    /// "Notify Operation Consideration"); the transport forgets the token.
    ObservationCancelled {
        /// The server.
        server: ShortServerId,
        /// The observation.
        token: ObservationToken,
        /// Why.
        denial: Denial,
    },
    /// A stored report was dropped: the observation's `hqmax` or the store bound was
    /// reached ("the oldest reading MUST be dropped", §5.1.2 hqmax).
    StoredDropped(ShortServerId),
    /// The server answered a Send with success.
    SendDelivered(SendHandle),
    /// The server refused a Send (e.g. 4.00, or 4.05 when muted).
    SendRefused(SendHandle, Code),
    /// A Send got no answer.
    SendFailed(SendHandle),
}

#[derive(Clone, Debug)]
struct Observation {
    server: ShortServerId,
    paths: Vec<Path>,
    composite: bool,
    format: Format,
    /// The values last notified, by Resource (Instance) path.
    last: BTreeMap<Path, Value>,
    /// The values of the last evaluation: a Boolean's edge is a transition between two
    /// readings, notified or not (§5.1.2 "edge").
    seen: BTreeMap<Path, Value>,
    last_time: Duration,
    /// A Change Value Condition held before pmin expired: notify at this time.
    pending: Option<(Duration, Causes)>,
    /// pmax expiry.
    pmax_at: Option<Duration>,
    /// The next evaluation forced by epmin (deferred) or epmax.
    eval_at: Option<Duration>,
    last_eval: Option<Duration>,
    /// A notification was due while the server was offline without storing.
    missed: bool,
}

/// The information-reporting state machine (see the module docs).
#[derive(Debug)]
pub struct Reporter {
    config: ReportingConfig,
    observations: BTreeMap<ObservationToken, Observation>,
    online: BTreeMap<u16, bool>,
    stored: VecDeque<(Option<ObservationToken>, Report)>,
    /// Stored reports of servers back online, handed out in order; a notification only when
    /// the previous one of its observation is done (`in_flight`). Live notifications of
    /// those observations queue behind them.
    releasing: VecDeque<(Option<ObservationToken>, Report)>,
    /// Notifications handed out from `releasing` that the CoAP layer has not finished with:
    /// the CoAP layer keeps one pending notification per observer and lets a newer one
    /// replace it (RFC 7641 §4.5.1, §4.5.2), right for live state but not for a stored
    /// history, so the next one of the observation waits. Kept to be stored again if it
    /// fails.
    in_flight: BTreeMap<ObservationToken, Report>,
    out: VecDeque<Report>,
    events: VecDeque<ReportEvent>,
    sends: BTreeMap<SendHandle, ShortServerId>,
    next_send: u32,
}

fn merge(a: &mut Causes, b: Causes) {
    a.greater_than |= b.greater_than;
    a.less_than |= b.less_than;
    a.step |= b.step;
    a.edge |= b.edge;
    a.changed |= b.changed;
    a.max_period |= b.max_period;
}

/// Takes the reports `taken_if` picks out of `queue`, in order; the others stay, in order
/// (one copy for `Reporter::set_online` both ways and `Reporter::notification_failed`).
fn take_where(
    queue: &mut VecDeque<(Option<ObservationToken>, Report)>,
    taken_if: &dyn Fn(Option<ObservationToken>, &Report) -> bool,
) -> VecDeque<(Option<ObservationToken>, Report)> {
    let mut taken = VecDeque::new();
    let mut keep = VecDeque::new();
    for (token, report) in core::mem::take(queue) {
        if taken_if(token, &report) {
            taken.push_back((token, report));
        } else {
            keep.push_back((token, report));
        }
    }
    *queue = keep;
    taken
}

fn min_opt(a: Option<Duration>, b: Duration) -> Option<Duration> {
    Some(a.map_or(b, |x| x.min(b)))
}

impl Reporter {
    /// A reporter without observations; every server offline.
    pub fn new(config: ReportingConfig) -> Reporter {
        Reporter {
            config,
            observations: BTreeMap::new(),
            online: BTreeMap::new(),
            stored: VecDeque::new(),
            releasing: VecDeque::new(),
            in_flight: BTreeMap::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            sends: BTreeMap::new(),
            next_send: 0,
        }
    }

    /// Registers an observation the transport accepted at `now` (the Observe response
    /// carried the current values, which become the "last notified" ones). Several paths
    /// make an Observe-Composite observation (with the `composite` feature). The same token
    /// again replaces it.
    ///
    /// # Errors
    /// [`ReportingError::TooManyObservations`] when the table is full;
    /// [`ReportingError::CompositeUnsupported`] for several paths without the `composite`
    /// feature.
    pub fn observe(
        &mut self,
        client: &Client,
        server: ShortServerId,
        token: ObservationToken,
        paths: &[Path],
        format: Format,
        now: Duration,
    ) -> Result<(), ReportingError> {
        // TS 1.2 Core §6.4.3 Observe-Composite is one of the composite operations: without
        // the feature the reporter neither takes nor links it.
        if !cfg!(feature = "composite") && paths.len() > 1 {
            return Err(ReportingError::CompositeUnsupported);
        }
        if !self.observations.contains_key(&token)
            && self.observations.len() >= self.config.max_observations
        {
            return Err(ReportingError::TooManyObservations {
                limit: self.config.max_observations,
            });
        }
        let mut obs = Observation {
            server,
            paths: paths.to_vec(),
            composite: cfg!(feature = "composite") && paths.len() > 1,
            format,
            last: current_values(client, paths),
            seen: BTreeMap::new(),
            last_time: now,
            pending: None,
            pmax_at: None,
            eval_at: None,
            last_eval: None,
            missed: false,
        };
        schedule(client, &mut obs);
        self.observations.insert(token, obs);
        Ok(())
    }

    /// Forgets an observation (Cancel Observation, RST); `false` when unknown.
    pub fn cancel(&mut self, token: ObservationToken) -> bool {
        // (`take_where`, not `VecDeque::retain`: one copy of the queue filtering.)
        take_where(&mut self.releasing, &|k, _| k == Some(token));
        self.in_flight.remove(&token);
        self.observations.remove(&token).is_some()
    }

    /// The observations whose notification handed out from the store the CoAP layer has
    /// not finished with yet (see [`Reporter::notification_done`]).
    pub fn awaiting(&self) -> impl Iterator<Item = ObservationToken> + '_ {
        self.in_flight.keys().copied()
    }

    /// The CoAP layer is done with the last notification of `token` (acknowledged, or sent
    /// when Non-confirmable, and it holds nothing more for the observer): the next stored
    /// one of the observation goes out. Returns whether one was awaited.
    pub fn notification_done(&mut self, token: ObservationToken) -> bool {
        let awaited = self.in_flight.remove(&token).is_some();
        if awaited {
            self.release();
        }
        awaited
    }

    /// `reports` (taken from `releasing`) are stored again, in order, ahead of the stored ones.
    fn store_again(&mut self, reports: VecDeque<(Option<ObservationToken>, Report)>) {
        for (token, mut report) in reports.into_iter().rev() {
            report.mark_stored();
            self.stored.push_front((token, report));
        }
    }

    /// The last notification of `token` was never acknowledged: the server is unreachable
    /// again. It and the rest of the observation's stored ones are stored again, in order,
    /// ahead of newer ones, not dropped. Returns whether one was awaited.
    pub fn notification_failed(&mut self, token: ObservationToken) -> bool {
        let Some(failed) = self.in_flight.remove(&token) else {
            return false;
        };
        let rest = take_where(&mut self.releasing, &|k, _| k == Some(token));
        self.store_again(rest);
        let mut failed = failed;
        failed.mark_stored();
        self.stored.push_front((Some(token), failed));
        // The store stays within its bound, the oldest dropped first (§5.1.2 hqmax).
        while self.stored.len() > self.config.max_stored {
            if let Some((_, old)) = self.stored.pop_front() {
                self.events
                    .push_back(ReportEvent::StoredDropped(old.server()));
            }
        }
        true
    }

    /// The number of observations.
    pub fn observation_count(&self) -> usize {
        self.observations.len()
    }

    /// The number of stored reports.
    pub fn stored_count(&self) -> usize {
        self.stored.len()
    }

    /// Whether the client can reach `server` now (registered, account enabled). Going
    /// online delivers the stored reports first, in the order they were generated, then a
    /// fresh notification for every observation that missed one without storing.
    pub fn set_online(
        &mut self,
        client: &Client,
        server: ShortServerId,
        online: bool,
        now: Duration,
    ) {
        self.online.insert(server.0, online);
        if !online {
            // What was not handed out yet is stored again, ahead of anything newer.
            let back = take_where(&mut self.releasing, &|_, r| r.server() == server);
            self.store_again(back);
            return;
        }
        for queued in take_where(&mut self.stored, &|_, r| r.server() == server) {
            self.releasing.push_back(queued);
        }
        self.release();
        let mut missed: Vec<ObservationToken> = Vec::new();
        for (t, o) in self.observations.iter() {
            if o.server == server && o.missed {
                missed.push(*t);
            }
        }
        for t in missed {
            let causes = Causes {
                changed: true,
                ..Causes::default()
            };
            self.notify(client, t, causes, now);
        }
    }

    fn is_online(&self, server: ShortServerId) -> bool {
        self.online.get(&server.0).copied().unwrap_or(false)
    }

    /// A value under `path` changed at `now`: every observation covering it is evaluated.
    pub fn value_changed(&mut self, client: &Client, path: &Path, now: Duration) {
        let mut tokens: Vec<ObservationToken> = Vec::new();
        for (t, o) in self.observations.iter() {
            if o.paths
                .iter()
                .any(|p| path.starts_with(p) || p.starts_with(path))
            {
                tokens.push(*t);
            }
        }
        for t in tokens {
            self.evaluate(client, t, now, false);
        }
    }

    /// Hands out the stored reports waiting, in order: a notification when the CoAP layer
    /// is done with the previous one of its observation, a Send at once. Those of an
    /// observation that is gone are dropped.
    fn release(&mut self) {
        let mut blocked: Vec<ObservationToken> = Vec::new();
        for (token, report) in core::mem::take(&mut self.releasing) {
            let Some(t) = token else {
                self.out.push_back(report);
                continue;
            };
            if !self.observations.contains_key(&t) {
                self.events
                    .push_back(ReportEvent::StoredDropped(report.server()));
            } else if blocked.contains(&t) || self.in_flight.contains_key(&t) {
                // Behind the one in flight, in order.
                blocked.push(t);
                self.releasing.push_back((token, report));
            } else {
                blocked.push(t);
                self.in_flight.insert(t, report.clone());
                self.out.push_back(report);
            }
        }
    }

    /// The earliest time [`Reporter::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut t = None;
        for o in self.observations.values() {
            if let Some((at, _)) = o.pending {
                t = min_opt(t, at);
            }
            if let Some(at) = o.pmax_at {
                t = min_opt(t, at);
            }
            if let Some(at) = o.eval_at {
                t = min_opt(t, at);
            }
        }
        t
    }

    /// Fires the pmin-deferred notifications, pmax expiries and epmin / epmax evaluations
    /// due at `now`.
    pub fn handle_timeout(&mut self, client: &Client, now: Duration) {
        let tokens: Vec<ObservationToken> = self.observations.keys().copied().collect();
        for t in tokens {
            let Some(o) = self.observations.get(&t) else {
                continue;
            };
            if let Some((at, causes)) = o.pending {
                if now >= at {
                    // §5.1.2 Minimum Period: "notify as soon as pmin expires" with the
                    // conditions that held, and whatever holds now.
                    if let Some(o) = self.observations.get_mut(&t) {
                        // That look at the values is also the evaluation an epmin / epmax
                        // timer due now asked for: it is spent (left in place, `schedule`
                        // would keep it as the next deadline, already past).
                        if o.eval_at.is_some_and(|e| e <= now) {
                            o.eval_at = None;
                            o.last_eval = Some(now);
                        }
                    }
                    let mut all = causes;
                    if let Some(c) = self.decide(client, t, now).0 {
                        merge(&mut all, c);
                    }
                    self.notify(client, t, all, now);
                    continue;
                }
            }
            let due =
                o.pmax_at.is_some_and(|at| now >= at) || o.eval_at.is_some_and(|at| now >= at);
            if due {
                if let Some(o) = self.observations.get_mut(&t) {
                    o.eval_at = None;
                }
                self.evaluate(client, t, now, true);
            }
        }
    }

    /// The next report to send.
    pub fn poll_report(&mut self) -> Option<Report> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ReportEvent> {
        self.events.pop_front()
    }

    /// Reports the values under `paths` to `server` in one atomic `POST /dp`
    /// (LightweightM2M-DSE-003, IR-001), in [`ReportingConfig::send_format`]. Resources the
    /// server may not read are left out (TS 1.2 Core §6.5: "MUST NOT include those
    /// Resources"). Stored while the server is offline, as notifications are.
    ///
    /// # Errors
    /// [`ReportingError::UnknownServer`], [`ReportingError::Muted`] (/1/x/23,
    /// DSE-004), [`ReportingError::NothingToReport`], [`ReportingError::Offline`],
    /// [`ReportingError::StoreFull`], [`ReportingError::Encode`].
    pub fn send(
        &mut self,
        client: &Client,
        server: ShortServerId,
        paths: &[Path],
        now: Duration,
    ) -> Result<SendHandle, ReportingError> {
        let inst = client
            .server_instance(server.0)
            .and_then(|i| client.servers.instance(i))
            .ok_or(ReportingError::UnknownServer(server.0))?;
        if matches!(
            inst.get(&23),
            Some(ResourceData::Single(Value::Boolean(true)))
        ) {
            return Err(ReportingError::Muted(server.0));
        }
        let mut records = Vec::new();
        for p in paths {
            // Operation::Send needs R on the instance (TS 1.2 Core §7.3 "Send Operation").
            let Ok(grant) = client.access.authorize(
                &client.defs,
                Requester::Server(server),
                Operation::Send,
                &Target::from(p),
            ) else {
                continue;
            };
            if let Ok(r) = client.collect(p, grant, Some(server)) {
                records.extend(r);
            }
        }
        mote_lwm2m::data::sort_records(&mut records);
        records.dedup_by(|a, b| a.path == b.path);
        if records.is_empty() {
            return Err(ReportingError::NothingToReport);
        }
        let format = match self.config.send_format {
            f @ (Format::SenmlCbor | Format::SenmlJson | Format::LwM2mCbor) => f,
            _ => Format::SenmlCbor,
        };
        let payload =
            mote_lwm2m::encode(format, &Path::ROOT, &records).map_err(ReportingError::Encode)?;
        let handle = SendHandle(self.next_send);
        let request =
            Request::new(Code::POST, "/dp").with_payload(format.content_format(), payload);
        let report = Report::Send(SendReport {
            handle,
            server,
            request,
            time: now,
            stored: false,
        });
        if self.is_online(server) {
            self.out.push_back(report);
        } else if storing(client, server) {
            if self.stored.len() >= self.config.max_stored {
                return Err(ReportingError::StoreFull {
                    limit: self.config.max_stored,
                });
            }
            let mut report = report;
            report.mark_stored();
            self.stored.push_back((None, report));
        } else {
            return Err(ReportingError::Offline(server.0));
        }
        self.next_send = self.next_send.wrapping_add(1);
        self.sends.insert(handle, server);
        Ok(handle)
    }

    /// The server answered a Send.
    pub fn on_send_response(&mut self, handle: SendHandle, code: Code) {
        if self.sends.remove(&handle).is_some() {
            self.events.push_back(if code.class() == 2 {
                ReportEvent::SendDelivered(handle)
            } else {
                ReportEvent::SendRefused(handle, code)
            });
        }
    }

    /// A Send got no answer or was reset.
    pub fn on_send_failure(&mut self, handle: SendHandle) {
        if self.sends.remove(&handle).is_some() {
            self.events.push_back(ReportEvent::SendFailed(handle));
        }
    }

    // ---- internals -----------------------------------------------------------------

    /// The conditions that hold now for observation `t`, and the earliest pmin-deferred
    /// notification time.
    fn decide(
        &self,
        client: &Client,
        t: ObservationToken,
        now: Duration,
    ) -> (Option<Causes>, Option<(Duration, Causes)>) {
        let Some(o) = self.observations.get(&t) else {
            return (None, None);
        };
        let current = current_values(client, &o.paths);
        let mut due: Option<Causes> = None;
        let mut later: Option<(Duration, Causes)> = None;
        for (p, v) in &current {
            let last = match v {
                Value::Boolean(_) => o.seen.get(p).or_else(|| o.last.get(p)),
                _ => o.last.get(p),
            };
            let decision = match last {
                Some(last) => client.notification_decision(o.server, p, last, o.last_time, v, now),
                // A value that was not there before changed.
                None => Decision::Notify(Causes {
                    changed: true,
                    ..Causes::default()
                }),
            };
            match decision {
                Decision::Notify(c) => merge(due.get_or_insert_with(Causes::default), c),
                Decision::NotifyAt { at, causes } => {
                    let at = Duration::from_secs(at);
                    let entry = later.get_or_insert((at, Causes::default()));
                    entry.0 = entry.0.min(at);
                    merge(&mut entry.1, causes);
                }
                Decision::Wait { .. } => {}
            }
        }
        (due, later)
    }

    fn evaluate(&mut self, client: &Client, t: ObservationToken, now: Duration, forced: bool) {
        let Some(o) = self.observations.get_mut(&t) else {
            return;
        };
        // §5.1.2 epmin: "the minimum time … the Client waits between two evaluations".
        let attrs = client.effective_attributes(o.server, o.paths.first().unwrap_or(&Path::ROOT));
        if let (Some(epmin), Some(last), false) = (attrs.epmin, o.last_eval, forced) {
            let next = last.saturating_add(Duration::from_secs(u64::from(epmin)));
            if now < next {
                o.eval_at = Some(next);
                return;
            }
        }
        o.last_eval = Some(now);
        let (due, later) = self.decide(client, t, now);
        if let Some(o) = self.observations.get_mut(&t) {
            o.seen = current_values(client, &o.paths);
        }
        if let Some(c) = due {
            let mut all = c;
            if let Some((_, p)) = self.observations.get(&t).and_then(|o| o.pending) {
                merge(&mut all, p);
            }
            self.notify(client, t, all, now);
            return;
        }
        if let Some(o) = self.observations.get_mut(&t) {
            if let Some((at, c)) = later {
                let pending = o.pending.get_or_insert((at, Causes::default()));
                pending.0 = pending.0.min(at);
                merge(&mut pending.1, c);
            }
            schedule(client, o);
            // Nothing to report although pmax expired (nothing readable): wait for the next
            // change instead of spinning on a past deadline.
            if o.pmax_at.is_some_and(|at| at <= now) {
                o.pmax_at = None;
            }
        }
    }

    /// Builds and delivers (or stores) the notification of `t`, after the access
    /// re-check.
    fn notify(&mut self, client: &Client, t: ObservationToken, causes: Causes, now: Duration) {
        let Some(o) = self.observations.get(&t) else {
            return;
        };
        let server = o.server;
        let mut targets: Vec<Target> = Vec::new();
        for p in &o.paths {
            targets.push(Target::from(p));
        }
        // TS 1.2 Core §7.3 "Notify Operation Consideration": re-check the Read right.
        let decision = if cfg!(feature = "composite") && o.composite {
            client
                .access
                .authorize_notify_composite(&client.defs, server, &targets)
        } else {
            match targets.first() {
                Some(target) => client.access.authorize_notify(&client.defs, server, target),
                None => return,
            }
        };
        let mut records: Vec<Record> = Vec::new();
        match decision {
            NotifyDecision::Cancel(denial) => {
                self.observations.remove(&t);
                self.events.push_back(ReportEvent::ObservationCancelled {
                    server,
                    token: t,
                    denial,
                });
                return;
            }
            NotifyDecision::Send(grant) => {
                if let Some(p) = o.paths.first() {
                    records = client.collect(p, grant, Some(server)).unwrap_or_default();
                }
            }
            // Only the composite decision gives it (the `composite` feature).
            NotifyDecision::SendComposite(cg) if cfg!(feature = "composite") => {
                for (p, g) in o.paths.iter().zip(cg.targets) {
                    if let Some(g) = g {
                        records.extend(client.collect(p, g, Some(server)).unwrap_or_default());
                    }
                }
            }
            NotifyDecision::SendComposite(_) => {}
        }
        let base = match (o.composite, o.paths.first()) {
            (false, Some(p)) => *p,
            _ => Path::ROOT,
        };
        let format = o.format;
        let Ok(payload) = mote_lwm2m::encode(format, &base, &records) else {
            // Not expressible in the observation's format (e.g. text/plain once several
            // values are due): nothing is sent, but the deadline that led here is spent —
            // leaving `pending` / `pmax_at` in the past would make `poll_timeout` report a
            // deadline `handle_timeout` never clears, and a driver would spin on it.
            if let Some(o) = self.observations.get_mut(&t) {
                o.last_time = now;
                o.pending = None;
                schedule(client, o);
            }
            return;
        };
        let attrs = client.effective_attributes(server, &base);
        let default_con = client
            .server_instance(server.0)
            .and_then(|i| client.servers.instance(i))
            .and_then(|i| crate::client::int(i.get(&26)))
            == Some(1);
        let notification = Notification {
            server,
            token: t,
            causes,
            confirmable: attrs.con.unwrap_or(default_con),
            content_format: format.content_format(),
            payload,
            time: now,
            stored: false,
        };
        let current = current_values(client, &o.paths);
        if let Some(o) = self.observations.get_mut(&t) {
            o.last = current;
            o.last_time = now;
            o.pending = None;
            o.missed = false;
            schedule(client, o);
        }
        let report = Report::Notify(notification);
        if self.is_online(server) {
            if self.in_flight.contains_key(&t) || self.releasing.iter().any(|(k, _)| *k == Some(t))
            {
                // Behind the stored ones of this observation; a newer live one replaces
                // a live one still waiting (RFC 7641 §4.5.2), which bounds the queue.
                take_where(&mut self.releasing, &|k, r| {
                    k == Some(t) && matches!(r, Report::Notify(n) if !n.stored)
                });
                self.releasing.push_back((Some(t), report));
                self.release();
            } else {
                self.out.push_back(report);
            }
        } else if storing(client, server) {
            self.store(t, attrs.hqmax, report);
        } else if let Some(o) = self.observations.get_mut(&t) {
            o.missed = true;
        }
    }

    /// Stores a notification: at most `hqmax` per observation and
    /// [`ReportingConfig::max_stored`] in all, the oldest dropped first (§5.1.2 hqmax: "If
    /// the queue size reaches hqmax and a new reading is received, the oldest reading MUST
    /// be dropped").
    fn store(&mut self, t: ObservationToken, hqmax: Option<u32>, mut report: Report) {
        let server = report.server();
        let hqmax = hqmax.unwrap_or(self.config.default_hqmax) as usize;
        if hqmax == 0 {
            // "only the data … with hqmax>0 will be included".
            return;
        }
        let mine = self.stored.iter().filter(|(k, _)| *k == Some(t)).count();
        if mine >= hqmax {
            if let Some(i) = self.stored.iter().position(|(k, _)| *k == Some(t)) {
                self.stored.remove(i);
                self.events.push_back(ReportEvent::StoredDropped(server));
            }
        }
        if self.stored.len() >= self.config.max_stored {
            if let Some((_, old)) = self.stored.pop_front() {
                self.events
                    .push_back(ReportEvent::StoredDropped(old.server()));
            }
        }
        report.mark_stored();
        self.stored.push_back((Some(t), report));
    }
}

/// /1/x/6 "Notification Storing When Disabled or Offline" (false when absent).
fn storing(client: &Client, server: ShortServerId) -> bool {
    client
        .server_instance(server.0)
        .and_then(|i| client.servers.instance(i))
        .is_some_and(|i| matches!(i.get(&6), Some(ResourceData::Single(Value::Boolean(true)))))
}

/// The values under `paths`, by Resource (Instance) path.
fn current_values(client: &Client, paths: &[Path]) -> BTreeMap<Path, Value> {
    let mut out = BTreeMap::new();
    for p in paths {
        if let Ok(records) = client.collect(p, Grant::Full, None) {
            for r in records {
                out.insert(r.path, r.value);
            }
        }
    }
    out
}

/// Recomputes the pmax expiry and the epmax evaluation of an observation.
fn schedule(client: &Client, o: &mut Observation) {
    let mut pmax_at = None;
    for p in o.last.keys().chain(o.paths.iter()) {
        if let Some(pmax) = client.effective_attributes(o.server, p).effective_pmax() {
            pmax_at = min_opt(
                pmax_at,
                o.last_time
                    .saturating_add(Duration::from_secs(u64::from(pmax))),
            );
        }
    }
    o.pmax_at = pmax_at;
    let attrs = client.effective_attributes(o.server, o.paths.first().unwrap_or(&Path::ROOT));
    // §5.1.2 epmax: "the maximum time … between two evaluations".
    if let Some(epmax) = attrs.epmax.filter(|e| *e > 0) {
        let base = o.last_eval.map_or(o.last_time, |e| e.max(o.last_time));
        let at = base.saturating_add(Duration::from_secs(u64::from(epmax)));
        o.eval_at = Some(o.eval_at.map_or(at, |x| x.min(at)));
    }
}
