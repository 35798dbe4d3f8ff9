//! `mote proxy --listen ADDR --to ADDR [--tcp-upstream] [--tamper | --replay | --delay MS]
//! [--max-routes N] [--max-routes-per-client N] [--json]`: an OSCORE-unaware CoAP forward proxy
//! (RFC 7252 §5.7) that takes requests from clients over UDP or, with `--listen coap+tcp://…`,
//! over TCP (RFC 8323), and forwards them to one upstream server over UDP or, with
//! `--tcp-upstream` (or `--to coap+tcp://…`), over TCP; all four combinations work. It is also
//! an on-path attacker for demonstrations.
//!
//! The proxy is an [`Application`] on the I/O driver: one endpoint plays both roles. Towards
//! clients it is the server role (deduplication, ACKs, CSMs, piggybacked or separate responses,
//! Block1 reassembly and Block2 slicing, Observe registrations are the endpoint's); each request
//! becomes a new client request of the same endpoint to the upstream server (a fresh Message ID
//! and Token by construction, RFC 8613 §4.2: Class U parts are the intermediary's), whose
//! response answers the client's request. Options that belong to one hop are not copied
//! (RFC 7252 §5.7.2; the outer block options of OSCORE are hop-by-hop, RFC 8613 §4.1.3.4.2);
//! everything else, the OSCORE option and ciphertext included, passes unchanged, so OSCORE
//! protects requests and responses end to end (RFC 8613 §5.4: the outer header is not in the
//! AAD). A registration becomes an upstream registration; upstream notifications are relayed as
//! notifications of the client's observation (RFC 7641 §4.2), and either side's cancellation
//! ends the other. An upstream that never answers gets the client 5.04 Gateway Timeout, a Reset
//! 5.02 Bad Gateway (RFC 7252 §5.7.1).
//!
//! Routes (a client's request waiting for its upstream response, an observation relayed) are
//! bounded per client and in total (`--max-routes-per-client`, `--max-routes`): a request that
//! would exceed either is refused with 5.03 Service Unavailable; no route is ever evicted, so a
//! flooding client cannot end another client's exchanges or observations.
//!
//! As an attacker it flips the last payload (ciphertext) byte of every request (`--tamper`),
//! sends every request twice (`--replay`) or holds every message back (`--delay`). The replayed
//! copy goes out 50 ms after the original as a request of its own (own Message ID and Token), so
//! that CoAP deduplication (RFC 7252 §4.5) cannot catch it: only OSCORE's replay window can
//! (RFC 8613 §7.4). The copy's response is not forwarded (the client never sent the copy); with
//! `--json` the proxy reports it on stdout as `{"event":"replay-response","code":"4.01",
//! "code_name":"Unauthorized","payload":"<hex>"}`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use clap::builder::TypedValueParser as _;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    EndpointConfig, Event, IncomingId, ObserverHandle, Reliability, RequestId, RequestOptions,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::{OptionList, OptionNumber};
use serde::Serialize;
use tracing::{debug, warn};

use crate::net::{Application, Driver, DriverConfig, Flow, Io, Listen, Remote, parse_listen};

/// TCP clients connected at once; a connection beyond is refused.
const MAX_TCP_CLIENTS: usize = 256;

/// How long a replayed copy follows its original.
const REPLAY_AFTER: Duration = Duration::from_millis(50);

/// Options that belong to one hop and are never copied from one side to the other: the block
/// options with their size indications and the Request-Tag that ties Block1 blocks together
/// (RFC 7959 §2, RFC 9175 §3; the endpoint reassembles and slices on each hop, and OSCORE's
/// outer block options are hop-by-hop, RFC 8613 §4.1.3.4.2).
const HOP_BY_HOP: [OptionNumber; 7] = [
    OptionNumber::BLOCK1,
    OptionNumber::BLOCK2,
    OptionNumber::SIZE1,
    OptionNumber::SIZE2,
    OptionNumber::Q_BLOCK1,
    OptionNumber::Q_BLOCK2,
    OptionNumber::REQUEST_TAG,
];

/// Critical options the proxy passes through without understanding them (RFC 7252 §5.7.1: an
/// end-to-end option is forwarded; the endpoint's server role would otherwise refuse them with
/// 4.02).
const PASSED_THROUGH: [OptionNumber; 6] = [
    OptionNumber::OSCORE,
    OptionNumber::EDHOC,
    OptionNumber::ECHO,
    OptionNumber::HOP_LIMIT,
    OptionNumber::NO_RESPONSE,
    OptionNumber::REQUEST_TAG,
];

/// `mote proxy …`
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// Where to listen for clients: `HOST:PORT` or `coap://HOST:PORT` is UDP,
    /// `coap+tcp://HOST:PORT` is TCP (RFC 8323; CSM exchange, then CoAP over TCP framing).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    listen: Listen,
    /// The upstream server: `HOST:PORT` or `coap://HOST:PORT` (UDP, or TCP with
    /// --tcp-upstream), `coap+tcp://HOST:PORT` (TCP).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    to: Listen,
    /// Forward to the upstream server over TCP (RFC 8323).
    #[arg(long)]
    tcp_upstream: bool,
    /// Flip the last payload byte of every forwarded request.
    #[arg(long, conflicts_with_all = ["replay", "delay"])]
    tamper: bool,
    /// Send every forwarded request twice: the copy 50 ms later, with its own Message ID and
    /// Token; its response is not forwarded (reported with --json).
    #[arg(long, conflicts_with = "delay")]
    replay: bool,
    /// Delay every message in both directions by MS milliseconds.
    #[arg(long, value_name = "MS")]
    delay: Option<u64>,
    /// Routes (requests awaiting their upstream response, relayed observations) over all
    /// clients; a request beyond is refused with 5.03.
    #[arg(long, value_name = "N", default_value_t = RouteLimits::default().total,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    max_routes: usize,
    /// Routes of one client (one UDP address and port, or one TCP connection); a request
    /// beyond is refused with 5.03.
    #[arg(long, value_name = "N", default_value_t = RouteLimits::default().per_client,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    max_routes_per_client: usize,
    /// Print the port actually bound (useful with port 0) on the first line of stdout.
    #[arg(long)]
    print_port: bool,
    /// Print what the attacker sees on stdout, one JSON object per line: with --replay,
    /// `{"event":"replay-response","code":"4.01","code_name":"Unauthorized","payload":"<hex>"}`
    /// for each response to a replayed copy.
    #[arg(long)]
    json: bool,
}

/// The `--json` event for the answer to a replayed copy (field order is part of the
/// command-line contract, docs/cli.md).
#[derive(Debug, Serialize)]
struct ReplayResponse {
    event: &'static str,
    /// The response code, `c.dd`.
    code: String,
    /// Its registered name, if any.
    code_name: Option<&'static str>,
    /// The payload, lowercase hex (the diagnostic of an unprotected OSCORE error, RFC 8613 §8.2).
    payload: String,
}

impl ReplayResponse {
    fn new(response: &OwnedMessage) -> Self {
        Self {
            event: "replay-response",
            code: response.code.to_string(),
            code_name: response.code.name(),
            payload: hex::encode(&response.payload),
        }
    }
}

/// The bounds of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RouteLimits {
    /// Routes over all clients.
    total: usize,
    /// Routes of one client.
    per_client: usize,
}

impl Default for RouteLimits {
    fn default() -> Self {
        Self {
            total: 1024,
            per_client: 64,
        }
    }
}

/// What the proxy does to forwarded requests, as an attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Nothing: an honest proxy.
    None,
    /// Flip the last payload byte.
    Tamper,
    /// Send a copy 50 ms later.
    Replay,
}

/// A client's request forwarded upstream, until its final response (or, for an observation,
/// until either side ends it).
#[derive(Debug, Clone, Copy)]
struct Route {
    /// The client.
    client: Remote,
    /// The client's request, answered with the first upstream response.
    incoming: IncomingId,
    /// The client's observation, when its request registered one.
    observer: Option<ObserverHandle>,
    /// The first response went back already; later ones are notifications.
    answered: bool,
}

/// Something the proxy does now or, with `--delay` and `--replay`, later.
#[derive(Debug)]
enum Action {
    /// Sends a request upstream: for `route`, or a replayed copy (`None`).
    Forward {
        route: Option<Route>,
        request: OwnedMessage,
        reliability: Reliability,
    },
    /// Answers a client's request; `ends` is the client's observation that the answer ends
    /// (the upstream server did not register one, RFC 7641 §4.1).
    Respond {
        incoming: IncomingId,
        response: OwnedMessage,
        ends: Option<ObserverHandle>,
    },
    /// Relays a notification to a client's observation.
    Notify {
        observer: ObserverHandle,
        response: OwnedMessage,
        confirmable: bool,
    },
}

/// The proxy's application state: routes and what is held back; the endpoint does the rest.
#[derive(Debug)]
struct Proxy {
    upstream: Remote,
    attack: Attack,
    delay: Duration,
    limits: RouteLimits,
    sink: Sink,
    /// Upstream requests of clients, by the endpoint's request id.
    routes: BTreeMap<RequestId, Route>,
    /// Routes of each client, counted from acceptance (a held-back forward counts) to the end.
    load: BTreeMap<Remote, usize>,
    /// Replayed copies in flight (at most [`RouteLimits::total`]).
    copies: BTreeMap<RequestId, ()>,
    /// The upstream observation relayed to each client observation.
    observers: BTreeMap<ObserverHandle, RequestId>,
    /// Actions held back, with the time they are due, in the order they were scheduled.
    later: Vec<(Duration, Action)>,
    /// `--json` lines not printed yet (printed by [`Proxy::flush_events`]).
    events: Vec<String>,
}

/// Where the `--json` lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// Stdout (`--json`).
    Stdout,
    /// Nowhere.
    Discard,
    /// Kept in [`Proxy::events`] for a test to read.
    #[cfg(test)]
    Keep,
}

/// A copy of `message` with the options of one hop left out; `observe` keeps Observe.
fn end_to_end(message: &OwnedMessage, observe: bool) -> OwnedMessage {
    let mut options = OptionList::new();
    for o in message.options.iter() {
        if HOP_BY_HOP.contains(&o.number) || (!observe && o.number == OptionNumber::OBSERVE) {
            continue;
        }
        options.push(o.number, o.value);
    }
    OwnedMessage {
        options,
        payload: message.payload.clone(),
        ..OwnedMessage::new(MessageType::Con, message.code, 0)
    }
}

/// A response of the proxy itself, with a diagnostic payload (RFC 7252 §5.5.2).
fn diagnostic(code: Code, text: &str) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, code, 0).with_payload(text.as_bytes())
}

impl Proxy {
    fn new(upstream: Remote, attack: Attack, delay: Duration, limits: RouteLimits) -> Self {
        Self {
            upstream,
            attack,
            delay,
            limits,
            sink: Sink::Discard,
            routes: BTreeMap::new(),
            load: BTreeMap::new(),
            copies: BTreeMap::new(),
            observers: BTreeMap::new(),
            later: Vec::new(),
            events: Vec::new(),
        }
    }

    /// The endpoint configuration that lets the route table, not the endpoint's own tables,
    /// be the bound a client meets first.
    fn endpoint_config(&self) -> Result<EndpointConfig> {
        let total = self.limits.total;
        let mut config = EndpointConfig::default();
        // One route can have its request and a replayed copy (or a deregistration) upstream.
        let requests = total.saturating_mul(2).saturating_add(16);
        config.limits.max_outstanding_requests = requests;
        config.limits.max_queued_requests = requests;
        config.limits.max_pending_incoming = total.saturating_add(16);
        config.limits.max_peers = config.limits.max_peers.max(total.saturating_add(1));
        config.limits.max_connections = MAX_TCP_CLIENTS + 1;
        config.observe.max_observers = total;
        config.observe.max_observers_per_peer = self.limits.per_client;
        config.observe.max_observers_per_resource = total;
        config.observe_client.max_observations = requests;
        config.recognized_options = PASSED_THROUGH.to_vec();
        // A response that fits a datagram goes to the client whole, as it came: the client of
        // an OSCORE ciphertext may not expect outer blocks (RFC 8613 §4.1.3.4.2).
        config.block2.max_unsliced = Some(config.limits.max_message_size.saturating_sub(64));
        // RFC 7252 §4.7: NSTART and PROBING_RATE bound one client's traffic to a server; the
        // proxy carries many clients' requests to its one server, and the route table already
        // bounds them: with NSTART 1 one silent exchange would hold every client back for
        // MAX_TRANSMIT_WAIT.
        let nstart = u16::try_from(total).unwrap_or(u16::MAX);
        config.transmission = config
            .transmission
            .with_nstart(nstart)
            .context("NSTART for the route table")?
            .with_probing_rate(1 << 20);
        Ok(config)
    }

    /// Takes a route for `client` if both bounds allow it.
    fn reserve(&mut self, client: Remote) -> bool {
        let total: usize = self.load.values().sum();
        let mine = self.load.get(&client).copied().unwrap_or(0);
        if total >= self.limits.total || mine >= self.limits.per_client {
            return false;
        }
        *self.load.entry(client).or_insert(0) += 1;
        true
    }

    /// Gives a route of `client` back.
    fn release(&mut self, client: Remote) {
        if let Some(n) = self.load.get_mut(&client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.load.remove(&client);
            }
        }
    }

    /// Does `action` now, or at `at` when that is later.
    fn schedule(&mut self, io: &mut Io<'_>, at: Duration, action: Action) {
        if at <= io.now {
            self.act(io, action);
        } else {
            self.later.push((at, action));
        }
    }

    fn act(&mut self, io: &mut Io<'_>, action: Action) {
        match action {
            Action::Forward {
                route,
                request,
                reliability,
            } => self.forward(io, route, request, reliability),
            Action::Respond {
                incoming,
                response,
                ends,
            } => {
                if let Err(e) = io.endpoint.respond(io.now, incoming, response) {
                    debug!(error = %e, "response not sent to the client");
                }
                if let Some(observer) = ends {
                    io.endpoint.forget_observer(observer);
                }
            }
            Action::Notify {
                observer,
                response,
                confirmable,
            } => {
                let ends =
                    response.code.class() != 2 || response.option(OptionNumber::OBSERVE).is_none();
                let relayed =
                    io.endpoint
                        .notify(io.now, observer, end_to_end(&response, false), confirmable);
                if let Err(e) = relayed {
                    debug!(error = %e, "notification not relayed");
                    self.observer_gone(io, observer);
                } else if ends {
                    // RFC 7641 §3.2: a 2.xx response without Observe ends the observation too.
                    io.endpoint.forget_observer(observer);
                    self.observer_gone(io, observer);
                }
            }
        }
    }

    /// Sends a request upstream, for a client (`route`) or as a replayed copy.
    fn forward(
        &mut self,
        io: &mut Io<'_>,
        route: Option<Route>,
        request: OwnedMessage,
        reliability: Reliability,
    ) {
        let options = RequestOptions::new(reliability, io.endpoint.config().client_blockwise);
        let sent = io
            .endpoint
            .request_with(io.now, self.upstream, request, options);
        match (sent, route) {
            (Ok(id), Some(route)) => {
                if let Some(observer) = route.observer {
                    self.observers.insert(observer, id);
                }
                self.routes.insert(id, route);
            }
            (Ok(id), None) => {
                self.copies.insert(id, ());
            }
            (Err(e), Some(route)) => {
                warn!(client = %route.client.addr(), error = %e, "request not forwarded");
                self.release(route.client);
                let response = diagnostic(Code::SERVICE_UNAVAILABLE, "proxy cannot forward now");
                if let Err(e) = io.endpoint.respond(io.now, route.incoming, response) {
                    debug!(error = %e, "refusal not sent to the client");
                }
            }
            (Err(e), None) => debug!(error = %e, "replayed copy not sent"),
        }
    }

    /// A request from a client.
    fn request(
        &mut self,
        io: &mut Io<'_>,
        incoming: IncomingId,
        client: Remote,
        message: &OwnedMessage,
        observer: Option<ObserverHandle>,
    ) {
        if client == self.upstream {
            let refusal = diagnostic(Code::FORBIDDEN, "the upstream server is no client");
            if let Err(e) = io.endpoint.respond(io.now, incoming, refusal) {
                debug!(error = %e, "refusal not sent");
            }
            return;
        }
        if !self.reserve(client) {
            warn!(
                client = %client.addr(),
                total = self.limits.total,
                per_client = self.limits.per_client,
                "route table full: request refused with 5.03"
            );
            if let Some(observer) = observer {
                io.endpoint.forget_observer(observer);
            }
            let refusal = diagnostic(Code::SERVICE_UNAVAILABLE, "proxy route table full");
            if let Err(e) = io.endpoint.respond(io.now, incoming, refusal) {
                debug!(error = %e, "refusal not sent");
            }
            return;
        }
        let mut request = end_to_end(message, true);
        if self.attack == Attack::Tamper {
            if let Some(last) = request.payload.last_mut() {
                *last ^= 0x01;
            }
        }
        // A TCP client relies on its reliable connection: over UDP the proxy makes the
        // request confirmable and retransmits it (RFC 7252 §4.2).
        let reliability = match client {
            Remote::Udp { .. } if message.mtype == MessageType::Non => Reliability::NonConfirmable,
            _ => Reliability::Confirmable,
        };
        if self.attack == Attack::Replay {
            let copy = Action::Forward {
                route: None,
                request: request.clone(),
                reliability,
            };
            self.later.push((io.now + self.delay + REPLAY_AFTER, copy));
        }
        let route = Route {
            client,
            incoming,
            observer,
            answered: false,
        };
        let forward = Action::Forward {
            route: Some(route),
            request,
            reliability,
        };
        let at = io.now + self.delay;
        self.schedule(io, at, forward);
    }

    /// A response (or an upstream notification, `notification`) to request `id`.
    fn response(
        &mut self,
        io: &mut Io<'_>,
        id: RequestId,
        response: OwnedMessage,
        notification: bool,
    ) {
        if self.copies.remove(&id).is_some() || (notification && !self.routes.contains_key(&id)) {
            // The answer to a replayed copy goes to no client; the attacker looks at it.
            if !notification {
                self.events.push(serialize(&ReplayResponse::new(&response)));
            }
            if response.option(OptionNumber::OBSERVE).is_some() {
                let _ = io.endpoint.cancel_observation(io.now, id, false);
            }
            return;
        }
        let Some(route) = self.routes.get_mut(&id) else {
            return;
        };
        let first = !route.answered;
        route.answered = true;
        let route = *route;
        // RFC 7641 §3.2: the observation goes on while responses are 2.xx with Observe.
        let observing =
            response.code.class() == 2 && response.option(OptionNumber::OBSERVE).is_some();
        let at = io.now + self.delay;
        match (first, route.observer) {
            (true, observer) => {
                let ends = if !observing || observer.is_none() {
                    self.end_route(io, id, observing);
                    observer
                } else {
                    None
                };
                let respond = Action::Respond {
                    incoming: route.incoming,
                    response: end_to_end(&response, false),
                    ends,
                };
                self.schedule(io, at, respond);
            }
            (false, Some(observer)) => {
                if !observing {
                    self.end_route(io, id, false);
                }
                let confirmable = response.mtype == MessageType::Con;
                let notify = Action::Notify {
                    observer,
                    response,
                    confirmable,
                };
                self.schedule(io, at, notify);
            }
            (false, None) => self.end_route(io, id, observing),
        }
    }

    /// Request `id` ended without a response: the client gets `code`.
    fn failed(&mut self, io: &mut Io<'_>, id: RequestId, code: Code, text: &str) {
        if self.copies.remove(&id).is_some() {
            return;
        }
        let Some(route) = self.routes.get(&id).copied() else {
            return;
        };
        self.end_route(io, id, false);
        let response = diagnostic(code, text);
        let action = match (route.answered, route.observer) {
            (true, Some(observer)) => Action::Notify {
                observer,
                response,
                confirmable: true,
            },
            (true, None) => return,
            (false, observer) => Action::Respond {
                incoming: route.incoming,
                response,
                ends: observer,
            },
        };
        let at = io.now + self.delay;
        self.schedule(io, at, action);
    }

    /// Forgets route `id` and gives its slot back; `observing` cancels the upstream
    /// observation (passively: its next notification is reset, RFC 7641 §3.6).
    fn end_route(&mut self, io: &mut Io<'_>, id: RequestId, observing: bool) {
        let Some(route) = self.routes.remove(&id) else {
            return;
        };
        if let Some(observer) = route.observer {
            self.observers.remove(&observer);
        }
        if observing {
            let _ = io.endpoint.cancel_observation(io.now, id, false);
        }
        self.release(route.client);
    }

    /// The client's observation `observer` is over (deregistered, reset, timed out, its
    /// connection closed): so is the upstream one.
    fn observer_gone(&mut self, io: &mut Io<'_>, observer: ObserverHandle) {
        if let Some(id) = self.observers.remove(&observer) {
            self.end_route(io, id, true);
        }
    }

    /// Prints the `--json` lines gathered so far.
    fn flush_events(&mut self) {
        match self.sink {
            Sink::Stdout => {
                for line in self.events.drain(..) {
                    println!("{line}");
                }
            }
            Sink::Discard => self.events.clear(),
            #[cfg(test)]
            Sink::Keep => {}
        }
    }
}

fn serialize(event: &ReplayResponse) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

impl Application for Proxy {
    fn event(&mut self, io: &mut Io<'_>, event: Event<Remote>) -> Flow {
        match event {
            Event::Request { id, peer, message } => {
                self.request(io, id, peer, &message.message, message.observation);
            }
            Event::Response { id, message, .. } => self.response(io, id, message, false),
            Event::Notification { id, message, .. } => self.response(io, id, message, true),
            Event::TimedOut { id } => {
                self.failed(io, id, Code::GATEWAY_TIMEOUT, "upstream did not answer");
            }
            Event::Reset { id } => {
                self.failed(io, id, Code::BAD_GATEWAY, "upstream reset the request")
            }
            Event::ResponseRejected { id, .. }
            | Event::BlockwiseFailed { id, .. }
            | Event::ProtectionFailed { id, .. } => {
                self.failed(io, id, Code::BAD_GATEWAY, "upstream response unusable");
            }
            Event::ObservationEnded { handle, .. } => self.observer_gone(io, handle),
            _ => {}
        }
        self.flush_events();
        Flow::Continue(())
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.later.iter().map(|(at, _)| *at).min()
    }

    fn handle_timeout(&mut self, io: &mut Io<'_>) -> Flow {
        let (mut due, later): (Vec<_>, Vec<_>) =
            self.later.drain(..).partition(|(at, _)| *at <= io.now);
        self.later = later;
        // Stable: actions due at the same time keep their order (notifications, RFC 7641 §3.4).
        due.sort_by_key(|(at, _)| *at);
        for (_, action) in due {
            self.act(io, action);
        }
        self.flush_events();
        Flow::Continue(())
    }
}

/// Runs `mote proxy`.
pub(crate) fn run(args: &ProxyArgs) -> Result<()> {
    let to = match args.to {
        Listen::Udp(a) if args.tcp_upstream => Listen::Tcp(a),
        other => other,
    };
    let attack = if args.tamper {
        Attack::Tamper
    } else if args.replay {
        Attack::Replay
    } else {
        Attack::None
    };
    let limits = RouteLimits {
        total: args.max_routes,
        per_client: args.max_routes_per_client,
    };
    let delay = Duration::from_millis(args.delay.unwrap_or(0));
    crate::net::runtime()?.block_on(async {
        // The upstream is a placeholder until `connect` names it.
        let placeholder = Remote::Tcp {
            connection: u64::MAX,
            addr: match to {
                Listen::Udp(a) | Listen::Tcp(a) => a,
            },
        };
        let mut proxy = Proxy::new(placeholder, attack, delay, limits);
        if args.json {
            proxy.sink = Sink::Stdout;
        }
        let driver_config = DriverConfig {
            max_connections: MAX_TCP_CLIENTS + 1,
            ..DriverConfig::default()
        };
        let mut driver = Driver::new(driver_config, proxy.endpoint_config()?)?;
        let local = driver.bind(args.listen).await?;
        proxy.upstream = driver.connect(to).await?;
        if args.print_port {
            println!("{}", local.port());
        }
        driver.run(&mut proxy).await?;
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests;
