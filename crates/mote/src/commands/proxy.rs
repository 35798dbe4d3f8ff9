//! `mote proxy --listen ADDR --to ADDR [--tcp-upstream] [--tamper | --replay | --delay MS]
//! [--max-routes N] [--max-routes-per-client N] [--max-flows N] [--flow-idle SECONDS] [--control]
//! [--json]`: an OSCORE-unaware CoAP forward proxy
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
//! Each client gets its own upstream flow (its own UDP socket or TCP connection to the
//! upstream server, NAT-like, at most `--max-flows`), opened on its first request (in the
//! background: a TCP connect to an unreachable upstream holds up only that client's requests,
//! for at most 5 s, then 5.02): an LwM2M
//! Server sends its requests (Read, Write, Observe, …) to the address a registration came from
//! (LwM2M TS 1.2 Transport §6.4), so a request arriving on a client's flow is forwarded to that
//! client and its response goes back on the flow, with the same rules as the other direction.
//!
//! Flows expire as NAT bindings do (RFC 4787 §4.3, REQ-5: a UDP binding lasts at least two
//! minutes, hence the default `--flow-idle 120`): a flow with no route on it (no request of
//! either side waiting for its answer, no observation relayed) for `--flow-idle` seconds is
//! closed, its socket or connection with it, and its slot is free. A TCP client's flow closes
//! with the client's connection. When the table is full, a new client's flow takes the slot
//! of the flow idle the longest (no route on it) instead of being refused: an idle flow is one
//! the timer would close anyway, so eviction only closes it early, while refusing would let
//! `--max-flows` source addresses (one spoofing host) lock every later client out for good.
//! Only flows with routes on them are never closed; a new client finds the table full (5.03)
//! only while every flow has one. The trade-off for LwM2M: a registered client's server can
//! reach it through the proxy only while its flow is open, that is while the server observes
//! something on it or for `--flow-idle` after the last exchange, exactly as behind a NAT. The
//! client's next Update (or any request) opens a new flow, so the server sees the registration
//! come from a new address; LwM2M TS 1.2 Transport §6 (as for NAT rebinding) has the server
//! identify the registration by its location and security identity, not the address, and
//! send its requests to the new one. Choose `--flow-idle` above the clients' Update interval
//! (or their queue-mode wake interval) when the server must reach them in between.
//!
//! Routes (a client's request waiting for its upstream response, an observation relayed) are
//! bounded per client and in total (`--max-routes-per-client`, `--max-routes`): a request that
//! would exceed either is refused with 5.03 Service Unavailable; no route is ever evicted, so a
//! flooding client cannot end another client's exchanges or observations.
//!
//! As an attacker it flips the last payload (ciphertext) byte of every request (`--tamper`),
//! sends every request twice (`--replay`) or holds every message back (`--delay`), in both
//! directions. With `--control` the attack is chosen at run time by lines on stdin (`attack
//! none|tamper|replay|delay MS|swap|forge-block`, `stats`), each answered by a JSON line; `swap`
//! crosses the next two responses travelling the same direction, `forge-block` replaces the
//! payload of the next block of a download with random bytes (see [`Attack`]). The replayed
//! copy goes out 50 ms after the original as a request of its own (own Message ID and Token), so
//! that CoAP deduplication (RFC 7252 §4.5) cannot catch it: only OSCORE's replay window can
//! (RFC 8613 §7.4). The copy's response is not forwarded (the client never sent the copy); with
//! `--json` the proxy reports it on stdout as `{"event":"replay-response","code":"4.01",
//! "code_name":"Unauthorized","payload":"<hex>"}`.

use std::collections::{BTreeMap, VecDeque};
use std::io::BufRead as _;
use std::sync::{Arc, Mutex};
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
use mote_coap::transmission::RandomSource;
use serde::Serialize;
use tracing::{debug, warn};

use crate::net::{
    Application, Driver, DriverConfig, Flow, Io, Listen, NetError, OsRandom, Remote, parse_listen,
};

/// TCP clients connected at once; a connection beyond is refused.
const MAX_TCP_CLIENTS: usize = 256;

/// How long a replayed copy follows its original.
const REPLAY_AFTER: Duration = Duration::from_millis(50);

/// Control lines waiting for the proxy (a line beyond is dropped with an `error` event).
const MAX_CONTROL_LINES: usize = 64;

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
    /// Upstream flows (one UDP socket or TCP connection to the upstream server per client);
    /// a new client takes the slot of the flow idle the longest, and is refused with 5.03
    /// only while every flow has a route on it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FLOWS,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    max_flows: usize,
    /// Seconds a flow with no route on it (no request waiting, no observation relayed) stays
    /// open; then its socket or connection is closed (as a NAT binding expires).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_FLOW_IDLE.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    flow_idle: u64,
    /// Read control lines on stdin: `attack none|tamper|replay|delay MS|swap|forge-block`,
    /// `stats`; each is answered with a JSON line on stdout (implies --json).
    #[arg(long)]
    control: bool,
    /// Print the port actually bound (useful with port 0) on the first line of stdout.
    #[arg(long)]
    print_port: bool,
    /// Print what the attacker sees and does on stdout, one JSON object per line
    /// (docs/cli.md).
    #[arg(long)]
    json: bool,
}

/// Upstream flows by default.
const DEFAULT_MAX_FLOWS: usize = 64;

/// How long a flow with no route stays open by default: a NAT's UDP binding at least
/// (RFC 4787 §4.3, REQ-5).
const DEFAULT_FLOW_IDLE: Duration = Duration::from_secs(120);

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

/// The `--json` event for an attack carried out on one message.
#[derive(Debug, Serialize)]
struct Attacked {
    event: &'static str,
    /// `tamper`, `replay`, `delay`, `swap` or `forge-block`.
    attack: &'static str,
    /// `upstream` (towards the server) or `downstream` (towards a client).
    direction: &'static str,
    /// The code of the message attacked.
    code: String,
    /// Its payload length.
    bytes: usize,
}

/// The `--json` acknowledgement of a control line `attack …`.
#[derive(Debug, Serialize)]
struct AttackSet {
    event: &'static str,
    attack: &'static str,
    delay_ms: u64,
}

/// The `--json` answer to `stats`: what the proxy forwarded and did so far.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
struct Stats {
    /// Requests forwarded, both directions (replayed copies included).
    requests: u64,
    /// Responses and notifications forwarded, both directions.
    responses: u64,
    /// Bytes of the CoAP messages forwarded: header, options and payload (the Token is each
    /// hop's own and not counted).
    bytes: u64,
    /// Requests refused by the proxy itself (route or flow table full, flow failed).
    refused: u64,
    /// Requests tampered with.
    tampered: u64,
    /// Copies replayed.
    replayed: u64,
    /// Messages held back by a delay.
    delayed: u64,
    /// Responses delivered crossed.
    swapped: u64,
    /// Block responses forged.
    forged: u64,
    /// Upstream flows open.
    flows: u64,
}

/// The `--json` answer to `stats`.
#[derive(Debug, Serialize)]
struct StatsEvent {
    event: &'static str,
    #[serde(flatten)]
    stats: Stats,
}

/// The `--json` answer to a control line that is not understood.
#[derive(Debug, Serialize)]
struct ControlError {
    event: &'static str,
    reason: String,
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

/// What the proxy does, as an attacker, besides the delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Nothing: an honest proxy.
    None,
    /// Flip the last payload byte of every request forwarded, either direction.
    Tamper,
    /// Send a copy of every request forwarded 50 ms later, with its own Message ID and Token.
    Replay,
    /// Hold the next response and deliver it, and the next one travelling the same direction,
    /// crossed: each answers the other's request (once; then the attack is `None`).
    Swap,
    /// Replace the payload of the next protected response travelling to a client (a block of
    /// an end-to-end protected download: the Block2 option is inside the ciphertext, RFC 8613
    /// §4.1.3.4.1, so the proxy cannot tell a block from another response) with random bytes
    /// of the same length (once; then `None`). A plain download's outer blocks are reassembled
    /// by the proxy's endpoint (hop-by-hop), so there is no plain block to forge.
    ForgeBlock,
}

impl Attack {
    const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Tamper => "tamper",
            Self::Replay => "replay",
            Self::Swap => "swap",
            Self::ForgeBlock => "forge-block",
        }
    }
}

/// A control line understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    /// `attack NAME` or `attack delay MS` (`delay` is `Attack::None` with a delay).
    Attack(Attack, Duration),
    /// `stats`.
    Stats,
}

/// Parses one control line.
fn parse_control(line: &str) -> Result<Control, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let attack = |a| Ok(Control::Attack(a, Duration::ZERO));
    match words.as_slice() {
        ["stats"] => Ok(Control::Stats),
        ["attack", "none"] => attack(Attack::None),
        ["attack", "tamper"] => attack(Attack::Tamper),
        ["attack", "replay"] => attack(Attack::Replay),
        ["attack", "swap"] => attack(Attack::Swap),
        ["attack", "forge-block"] => attack(Attack::ForgeBlock),
        ["attack", "delay", ms] => ms
            .parse::<u64>()
            .map(|ms| Control::Attack(Attack::None, Duration::from_millis(ms)))
            .map_err(|e| format!("delay {ms:?}: {e}")),
        _ => Err(format!(
            "unknown control line {line:?} (attack none|tamper|replay|delay MS|swap|forge-block, stats)"
        )),
    }
}

/// A request forwarded, until its final response (or, for an observation, until either side
/// ends it).
#[derive(Debug, Clone, Copy)]
struct Route {
    /// Who sent the request: a client, or the upstream server on a client's flow.
    requester: Remote,
    /// The request, answered with the first response from the other side.
    incoming: IncomingId,
    /// The requester's observation, when its request registered one.
    observer: Option<ObserverHandle>,
    /// The first response went back already; later ones are notifications.
    answered: bool,
}

/// Something the proxy does now or, with a delay or `--replay`, later.
#[derive(Debug)]
enum Action {
    /// Sends a request to `to`: for `route`, or a replayed copy (`None`).
    Forward {
        to: Remote,
        route: Option<Route>,
        request: OwnedMessage,
        reliability: Reliability,
    },
    /// Answers a request; `ends` is the observation that the answer ends (the other side did
    /// not register one, RFC 7641 §4.1).
    Respond {
        incoming: IncomingId,
        response: OwnedMessage,
        ends: Option<ObserverHandle>,
    },
    /// Relays a notification to an observation.
    Notify {
        observer: ObserverHandle,
        response: OwnedMessage,
        confirmable: bool,
    },
}

/// A request of a client accepted (its route reserved) while its upstream flow is opened.
#[derive(Debug)]
struct Waiting {
    client: Remote,
    route: Option<Route>,
    request: OwnedMessage,
    reliability: Reliability,
    at: Duration,
}

/// A client's upstream flow and when it was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UpstreamFlow {
    state: FlowState,
    /// The last time a route of the client or of the flow began or ended.
    active: Duration,
}

/// Where a client's upstream flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowState {
    /// Asked of the driver, not open yet.
    Connecting,
    /// Open: the proxy's own peer towards the upstream server for this client.
    Open(Remote),
}

/// The first response held by [`Attack::Swap`].
#[derive(Debug)]
struct Held {
    /// Travelling upstream (answering the server's request).
    upstream: bool,
    incoming: IncomingId,
    response: OwnedMessage,
}

/// The proxy's application state: flows, routes and what is held back; the endpoint does the
/// rest.
#[derive(Debug)]
struct Proxy {
    /// Where each flow connects.
    upstream: Listen,
    attack: Attack,
    delay: Duration,
    limits: RouteLimits,
    max_flows: usize,
    /// How long a flow with no route stays open.
    flow_idle: Duration,
    sink: Sink,
    /// Forwarded requests, by the endpoint's request id.
    routes: BTreeMap<RequestId, Route>,
    /// Routes of each requester, counted from acceptance (a held-back forward counts) to the end.
    load: BTreeMap<Remote, usize>,
    /// Replayed copies in flight (at most [`RouteLimits::total`]).
    copies: BTreeMap<RequestId, ()>,
    /// The relayed observation of each observation the proxy serves.
    observers: BTreeMap<ObserverHandle, RequestId>,
    /// Each client's upstream flow.
    flows: BTreeMap<Remote, UpstreamFlow>,
    /// The client of each open upstream flow.
    client_of: BTreeMap<Remote, Remote>,
    /// Clients whose flow the driver has not been asked to open yet.
    to_connect: VecDeque<Remote>,
    /// The clients whose flow the driver is opening, by the connect's ticket (connects run
    /// in the background and finish in any order).
    connecting: BTreeMap<u64, Remote>,
    /// The ticket of the next connect.
    next_ticket: u64,
    /// Flows to close (idle, evicted, or their TCP client gone), for the driver.
    to_close: VecDeque<Remote>,
    /// Requests waiting for their flow.
    waiting: Vec<Waiting>,
    /// The response [`Attack::Swap`] holds.
    held: Option<Held>,
    /// Actions held back, with the time they are due, in the order they were scheduled.
    later: Vec<(Duration, Action)>,
    stats: Stats,
    /// Report each attack carried out (`attacked` events; with `--control`).
    report_attacks: bool,
    /// Control lines read from stdin, not handled yet.
    control: Arc<Mutex<VecDeque<String>>>,
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

const fn direction(upstream: bool) -> &'static str {
    if upstream { "upstream" } else { "downstream" }
}

fn serialize(event: &impl Serialize) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

impl Proxy {
    fn new(upstream: Listen, attack: Attack, delay: Duration, limits: RouteLimits) -> Self {
        Self {
            upstream,
            attack,
            delay,
            limits,
            max_flows: DEFAULT_MAX_FLOWS,
            flow_idle: DEFAULT_FLOW_IDLE,
            sink: Sink::Discard,
            routes: BTreeMap::new(),
            load: BTreeMap::new(),
            copies: BTreeMap::new(),
            observers: BTreeMap::new(),
            flows: BTreeMap::new(),
            client_of: BTreeMap::new(),
            to_connect: VecDeque::new(),
            connecting: BTreeMap::new(),
            next_ticket: 0,
            to_close: VecDeque::new(),
            waiting: Vec::new(),
            held: None,
            later: Vec::new(),
            stats: Stats::default(),
            report_attacks: false,
            control: Arc::new(Mutex::new(VecDeque::new())),
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
        // Every client and its flow are peers of the endpoint.
        let peers = total.saturating_add(self.max_flows.saturating_mul(2));
        config.limits.max_peers = config.limits.max_peers.max(peers.saturating_add(1));
        config.limits.max_connections = MAX_TCP_CLIENTS + self.max_flows;
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

    /// Takes a route for `requester` if both bounds allow it.
    fn reserve(&mut self, requester: Remote, now: Duration) -> bool {
        let total: usize = self.load.values().sum();
        let mine = self.load.get(&requester).copied().unwrap_or(0);
        if total >= self.limits.total || mine >= self.limits.per_client {
            return false;
        }
        *self.load.entry(requester).or_insert(0) += 1;
        self.touch(requester, now);
        true
    }

    /// Gives a route of `requester` back.
    fn release(&mut self, requester: Remote, now: Duration) {
        if let Some(n) = self.load.get_mut(&requester) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.load.remove(&requester);
            }
        }
        self.touch(requester, now);
    }

    /// A route of `peer` (a client, or the server on a client's flow) began or ended: the
    /// client's flow was used now.
    fn touch(&mut self, peer: Remote, now: Duration) {
        let client = self.client_of.get(&peer).copied().unwrap_or(peer);
        if let Some(flow) = self.flows.get_mut(&client) {
            flow.active = flow.active.max(now);
        }
    }

    /// The open flow of `client` and when it was last used, if no route is on it (neither the
    /// client's requests nor the server's on the flow, observations included): the flows that
    /// may be closed.
    fn idle_flow(&self, client: Remote, flow: &UpstreamFlow) -> Option<(Duration, Remote)> {
        let FlowState::Open(upstream) = flow.state else {
            return None;
        };
        let busy = |peer| self.load.get(&peer).is_some_and(|n| *n > 0);
        (!busy(client) && !busy(upstream)).then_some((flow.active, client))
    }

    /// The client whose flow has been idle the longest, and since when.
    fn idlest(&self) -> Option<(Duration, Remote)> {
        self.flows
            .iter()
            .filter_map(|(client, flow)| self.idle_flow(*client, flow))
            .min()
    }

    /// Forgets the flow of `client` and has the driver close it (a flow being opened is closed
    /// when it opens, see [`Proxy::flow_opened`]).
    fn close_flow(&mut self, client: Remote) {
        let Some(flow) = self.flows.remove(&client) else {
            return;
        };
        if let FlowState::Open(upstream) = flow.state {
            debug!(client = %client.addr(), ?upstream, "upstream flow closed");
            self.client_of.remove(&upstream);
            self.to_close.push_back(upstream);
        }
        self.stats.flows = self.client_of.len() as u64;
    }

    /// Closes every flow idle for `--flow-idle` at `now`.
    fn expire_flows(&mut self, now: Duration) {
        while let Some((active, client)) = self.idlest() {
            if active.saturating_add(self.flow_idle) > now {
                return;
            }
            self.close_flow(client);
        }
    }

    /// Whether `peer` is one of the proxy's upstream flows (the server's side).
    fn is_flow(&self, peer: Remote) -> bool {
        self.client_of.contains_key(&peer)
    }

    /// Does `action` now, or at `at` when that is later.
    fn schedule(&mut self, io: &mut Io<'_>, at: Duration, action: Action) {
        if at <= io.now {
            self.act(io, action);
        } else {
            self.stats.delayed += 1;
            self.later.push((at, action));
        }
    }

    fn act(&mut self, io: &mut Io<'_>, action: Action) {
        match action {
            Action::Forward {
                to,
                route,
                request,
                reliability,
            } => self.forward(io, to, route, request, reliability),
            Action::Respond {
                incoming,
                response,
                ends,
            } => {
                self.count_response(&response);
                if let Err(e) = io.endpoint.respond(io.now, incoming, response) {
                    debug!(error = %e, "response not sent");
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
                let response = end_to_end(&response, false);
                self.count_response(&response);
                let relayed = io.endpoint.notify(io.now, observer, response, confirmable);
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

    fn count_response(&mut self, response: &OwnedMessage) {
        self.stats.responses += 1;
        self.stats.bytes += response.encoded_len() as u64;
    }

    /// Sends a request to `to`, for a route or as a replayed copy.
    fn forward(
        &mut self,
        io: &mut Io<'_>,
        to: Remote,
        route: Option<Route>,
        request: OwnedMessage,
        reliability: Reliability,
    ) {
        let options = RequestOptions::new(reliability, io.endpoint.config().client_blockwise);
        let bytes = request.encoded_len() as u64;
        let sent = io.endpoint.request_with(io.now, to, request, options);
        if sent.is_ok() {
            self.stats.requests += 1;
            self.stats.bytes += bytes;
        }
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
                warn!(requester = %route.requester.addr(), error = %e, "request not forwarded");
                self.refuse(
                    io,
                    route,
                    Code::SERVICE_UNAVAILABLE,
                    "proxy cannot forward now",
                );
            }
            (Err(e), None) => debug!(error = %e, "replayed copy not sent"),
        }
    }

    /// Answers a route's request with the proxy's own error and frees the route.
    fn refuse(&mut self, io: &mut Io<'_>, route: Route, code: Code, text: &str) {
        self.stats.refused += 1;
        self.release(route.requester, io.now);
        if let Some(observer) = route.observer {
            io.endpoint.forget_observer(observer);
        }
        if let Err(e) = io
            .endpoint
            .respond(io.now, route.incoming, diagnostic(code, text))
        {
            debug!(error = %e, "refusal not sent");
        }
    }

    /// The upstream flow of `client`, asked of the driver when it has none; `None` while it
    /// is being opened, `Err` when the flow table is full and every flow has a route on it.
    /// A full table otherwise gives up the flow idle the longest (see the module
    /// documentation for why eviction beats refusal).
    fn flow(&mut self, client: Remote, now: Duration) -> Result<Option<Remote>, ()> {
        match self.flows.get(&client).map(|f| f.state) {
            Some(FlowState::Open(flow)) => Ok(Some(flow)),
            Some(FlowState::Connecting) => Ok(None),
            None => {
                if self.flows.len() >= self.max_flows {
                    let (_, idlest) = self.idlest().ok_or(())?;
                    debug!(client = %client.addr(), evicted = %idlest.addr(), "flow table full: idle flow evicted");
                    self.close_flow(idlest);
                }
                let flow = UpstreamFlow {
                    state: FlowState::Connecting,
                    active: now,
                };
                self.flows.insert(client, flow);
                self.to_connect.push_back(client);
                Ok(None)
            }
        }
    }

    /// A request from `peer`: a client's (to its flow) or the upstream server's on a client's
    /// flow (to that client).
    fn request(
        &mut self,
        io: &mut Io<'_>,
        incoming: IncomingId,
        peer: Remote,
        message: &OwnedMessage,
        observer: Option<ObserverHandle>,
    ) {
        let route = Route {
            requester: peer,
            incoming,
            observer,
            answered: false,
        };
        if !self.reserve(peer, io.now) {
            warn!(
                requester = %peer.addr(),
                total = self.limits.total,
                per_client = self.limits.per_client,
                "route table full: request refused with 5.03"
            );
            // `refuse` gives a route back: take one to give.
            *self.load.entry(peer).or_insert(0) += 1;
            self.refuse(
                io,
                route,
                Code::SERVICE_UNAVAILABLE,
                "proxy route table full",
            );
            return;
        }
        let upstream = !self.is_flow(peer);
        let to = if upstream {
            match self.flow(peer, io.now) {
                Ok(to) => to,
                Err(()) => {
                    warn!(client = %peer.addr(), max = self.max_flows, "flow table full: request refused with 5.03");
                    self.refuse(
                        io,
                        route,
                        Code::SERVICE_UNAVAILABLE,
                        "proxy flow table full",
                    );
                    return;
                }
            }
        } else {
            self.client_of.get(&peer).copied()
        };
        let mut request = end_to_end(message, true);
        if self.attack == Attack::Tamper {
            if let Some(last) = request.payload.last_mut() {
                *last ^= 0x01;
                self.stats.tampered += 1;
                self.attacked("tamper", upstream, &request);
            }
        }
        // Over UDP a request is made confirmable and retransmitted by the proxy (RFC 7252
        // §4.2); a TCP requester relies on its reliable connection.
        let reliability = match peer {
            Remote::Udp { .. } if message.mtype == MessageType::Non => Reliability::NonConfirmable,
            _ => Reliability::Confirmable,
        };
        let at = io.now + self.delay;
        if !self.delay.is_zero() {
            self.attacked("delay", upstream, &request);
        }
        let copy = (self.attack == Attack::Replay).then(|| request.clone());
        match to {
            Some(to) => {
                if let Some(copy) = copy {
                    self.replay(to, copy, reliability, at + REPLAY_AFTER, upstream);
                }
                let forward = Action::Forward {
                    to,
                    route: Some(route),
                    request,
                    reliability,
                };
                self.schedule(io, at, forward);
            }
            None => {
                if let Some(copy) = copy {
                    self.waiting.push(Waiting {
                        client: peer,
                        route: None,
                        request: copy,
                        reliability,
                        at: at + REPLAY_AFTER,
                    });
                }
                self.waiting.push(Waiting {
                    client: peer,
                    route: Some(route),
                    request,
                    reliability,
                    at,
                });
            }
        }
    }

    fn replay(
        &mut self,
        to: Remote,
        copy: OwnedMessage,
        reliability: Reliability,
        at: Duration,
        upstream: bool,
    ) {
        self.stats.replayed += 1;
        self.attacked("replay", upstream, &copy);
        let action = Action::Forward {
            to,
            route: None,
            request: copy,
            reliability,
        };
        self.later.push((at, action));
    }

    /// Reports an attack carried out on `message`.
    fn attacked(&mut self, attack: &'static str, upstream: bool, message: &OwnedMessage) {
        if !self.report_attacks {
            return;
        }
        self.events.push(serialize(&Attacked {
            event: "attacked",
            attack,
            direction: direction(upstream),
            code: message.code.to_string(),
            bytes: message.payload.len(),
        }));
    }

    /// A response (or a notification, `notification`) to request `id`.
    fn response(
        &mut self,
        io: &mut Io<'_>,
        id: RequestId,
        mut response: OwnedMessage,
        notification: bool,
    ) {
        if self.copies.remove(&id).is_some() || (notification && !self.routes.contains_key(&id)) {
            // The answer to a replayed copy goes to no one; the attacker looks at it.
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
        // Travelling upstream: the answer to the server's request.
        let upstream = self.is_flow(route.requester);
        // RFC 7641 §3.2: the observation goes on while responses are 2.xx with Observe.
        let observing =
            response.code.class() == 2 && response.option(OptionNumber::OBSERVE).is_some();
        let at = io.now + self.delay;
        if !self.delay.is_zero() {
            self.attacked("delay", upstream, &response);
        }
        if self.attack == Attack::ForgeBlock && !upstream && Self::carries_block(&response) {
            let mut random = OsRandom;
            for b in &mut response.payload {
                *b = random.next_u32().to_le_bytes()[0];
            }
            self.stats.forged += 1;
            self.attack = Attack::None;
            self.attacked("forge-block", upstream, &response);
        }
        match (first, route.observer) {
            (true, observer) => {
                let ends = if !observing || observer.is_none() {
                    self.end_route(io, id, observing);
                    observer
                } else {
                    None
                };
                let response = end_to_end(&response, false);
                if self.attack == Attack::Swap && ends.is_none() && route.observer.is_none() {
                    self.swap(io, upstream, route.incoming, response, at);
                    return;
                }
                let respond = Action::Respond {
                    incoming: route.incoming,
                    response,
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

    /// Whether `response` may carry a block of a protected download (see
    /// [`Attack::ForgeBlock`]).
    fn carries_block(response: &OwnedMessage) -> bool {
        !response.payload.is_empty() && response.option(OptionNumber::OSCORE).is_some()
    }

    /// [`Attack::Swap`]: holds the first response, crosses it with the next one travelling the
    /// same direction.
    fn swap(
        &mut self,
        io: &mut Io<'_>,
        upstream: bool,
        incoming: IncomingId,
        response: OwnedMessage,
        at: Duration,
    ) {
        match self.held.take() {
            Some(held) if held.upstream == upstream => {
                self.attack = Attack::None;
                self.stats.swapped += 2;
                self.attacked("swap", upstream, &response);
                self.attacked("swap", upstream, &held.response);
                let first = Action::Respond {
                    incoming: held.incoming,
                    response,
                    ends: None,
                };
                let second = Action::Respond {
                    incoming,
                    response: held.response,
                    ends: None,
                };
                self.schedule(io, at, first);
                self.schedule(io, at, second);
            }
            other => {
                // A held response of the other direction goes on, unswapped.
                if let Some(held) = other {
                    let release = Action::Respond {
                        incoming: held.incoming,
                        response: held.response,
                        ends: None,
                    };
                    self.schedule(io, at, release);
                }
                self.held = Some(Held {
                    upstream,
                    incoming,
                    response,
                });
            }
        }
    }

    /// Request `id` ended without a response: the requester gets `code`.
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

    /// Forgets route `id` and gives its slot back; `observing` cancels the relayed
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
        self.release(route.requester, io.now);
    }

    /// The observation `observer` is over (deregistered, reset, timed out, its connection
    /// closed): so is the relayed one.
    fn observer_gone(&mut self, io: &mut Io<'_>, observer: ObserverHandle) {
        if let Some(id) = self.observers.remove(&observer) {
            self.end_route(io, id, true);
        }
    }

    /// The driver opened (or failed to open) the flow of connect `ticket`.
    fn flow_opened(&mut self, io: &mut Io<'_>, ticket: u64, result: Result<Remote, NetError>) {
        let Some(client) = self.connecting.remove(&ticket) else {
            if let Ok(flow) = result {
                self.to_close.push_back(flow);
            }
            return;
        };
        let waiting: Vec<Waiting>;
        (waiting, self.waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.client == client);
        let wanted = self
            .flows
            .get(&client)
            .is_some_and(|f| f.state == FlowState::Connecting);
        match result {
            Ok(flow) if !wanted => {
                // The client left (its TCP connection closed) while its flow was opened.
                debug!(client = %client.addr(), ?flow, "upstream flow opened for a client gone");
                self.to_close.push_back(flow);
                for w in waiting {
                    if let Some(route) = w.route {
                        self.release(route.requester, io.now);
                    }
                }
            }
            Ok(flow) => {
                debug!(client = %client.addr(), ?flow, "upstream flow open");
                let active = io.now;
                let open = UpstreamFlow {
                    state: FlowState::Open(flow),
                    active,
                };
                self.flows.insert(client, open);
                self.client_of.insert(flow, client);
                self.stats.flows = self.client_of.len() as u64;
                for w in waiting {
                    match w.route {
                        Some(route) => {
                            let forward = Action::Forward {
                                to: flow,
                                route: Some(route),
                                request: w.request,
                                reliability: w.reliability,
                            };
                            self.schedule(io, w.at, forward);
                        }
                        None => {
                            let upstream = true;
                            self.replay(flow, w.request, w.reliability, w.at, upstream);
                        }
                    }
                }
            }
            Err(e) => {
                warn!(client = %client.addr(), error = %e, "upstream flow not opened");
                self.flows.remove(&client);
                for w in waiting {
                    if let Some(route) = w.route {
                        self.refuse(io, route, Code::BAD_GATEWAY, "upstream unreachable");
                    }
                }
            }
        }
    }

    /// A TCP connection closed: an upstream flow is forgotten (the client's next request
    /// opens a new one); a client's connection takes its flow with it (the driver closes
    /// the flow's socket or connection), and its requests waiting for the flow are dropped.
    fn connection_closed(&mut self, io: &mut Io<'_>, peer: Remote) {
        if let Some(client) = self.client_of.remove(&peer) {
            self.flows.remove(&client);
            self.stats.flows = self.client_of.len() as u64;
        } else if self.flows.contains_key(&peer) {
            self.close_flow(peer);
            let gone: Vec<Waiting>;
            (gone, self.waiting) = std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|w| w.client == peer);
            for w in gone {
                if let Some(route) = w.route {
                    self.release(route.requester, io.now);
                }
            }
        }
    }

    /// Handles the control lines read so far.
    fn control_lines(&mut self, io: &mut Io<'_>) {
        let lines: Vec<String> = match self.control.lock() {
            Ok(mut queue) => queue.drain(..).collect(),
            Err(_) => return,
        };
        for line in lines {
            self.control_line(io, &line);
        }
    }

    fn control_line(&mut self, io: &mut Io<'_>, line: &str) {
        match parse_control(line) {
            Ok(Control::Attack(attack, delay)) => {
                self.attack = attack;
                self.delay = delay;
                if attack != Attack::Swap {
                    // A response held for a swap goes on, unswapped.
                    if let Some(held) = self.held.take() {
                        let release = Action::Respond {
                            incoming: held.incoming,
                            response: held.response,
                            ends: None,
                        };
                        self.schedule(io, io.now, release);
                    }
                }
                self.events.push(serialize(&AttackSet {
                    event: "attack",
                    attack: attack.name(),
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                }));
            }
            Ok(Control::Stats) => self.events.push(serialize(&StatsEvent {
                event: "stats",
                stats: self.stats,
            })),
            Err(reason) => self.events.push(serialize(&ControlError {
                event: "error",
                reason,
            })),
        }
    }

    /// Prints the `--json` lines gathered so far.
    fn flush_events(&mut self) {
        match self.sink {
            Sink::Stdout => {
                use std::io::Write as _;
                let mut out = std::io::stdout().lock();
                for line in self.events.drain(..) {
                    let _ = writeln!(out, "{line}");
                }
                let _ = out.flush();
            }
            Sink::Discard => self.events.clear(),
            #[cfg(test)]
            Sink::Keep => {}
        }
    }
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
                self.failed(
                    io,
                    id,
                    Code::GATEWAY_TIMEOUT,
                    "the other side did not answer",
                );
            }
            Event::Reset { id } => self.failed(
                io,
                id,
                Code::BAD_GATEWAY,
                "the other side reset the request",
            ),
            Event::ResponseRejected { id, .. }
            | Event::BlockwiseFailed { id, .. }
            | Event::ProtectionFailed { id, .. } => {
                self.failed(io, id, Code::BAD_GATEWAY, "response unusable");
            }
            Event::ObservationEnded { handle, .. } => self.observer_gone(io, handle),
            Event::ConnectionClosed { peer, .. } => self.connection_closed(io, peer),
            _ => {}
        }
        self.flush_events();
        Flow::Continue(())
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let expiry = self
            .idlest()
            .map(|(active, _)| active.saturating_add(self.flow_idle));
        self.later.iter().map(|(at, _)| *at).chain(expiry).min()
    }

    fn handle_timeout(&mut self, io: &mut Io<'_>) -> Flow {
        self.expire_flows(io.now);
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

    fn wake(&mut self, io: &mut Io<'_>) -> Flow {
        self.control_lines(io);
        self.flush_events();
        Flow::Continue(())
    }

    fn poll_connect(&mut self) -> Option<(u64, Listen)> {
        let client = self.to_connect.pop_front()?;
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.connecting.insert(ticket, client);
        Some((ticket, self.upstream))
    }

    fn connected(
        &mut self,
        io: &mut Io<'_>,
        ticket: u64,
        result: Result<Remote, NetError>,
    ) -> Flow {
        self.flow_opened(io, ticket, result);
        self.flush_events();
        Flow::Continue(())
    }

    fn poll_close(&mut self) -> Option<Remote> {
        self.to_close.pop_front()
    }
}

/// Reads control lines from stdin into `queue` (bounded) and wakes the driver for each.
fn read_control(queue: Arc<Mutex<VecDeque<String>>>, waker: Arc<tokio::sync::Notify>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Ok(mut q) = queue.lock() {
                if q.len() < MAX_CONTROL_LINES {
                    q.push_back(line);
                }
            }
            waker.notify_one();
        }
    });
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
        let mut proxy = Proxy::new(to, attack, delay, limits);
        proxy.max_flows = args.max_flows;
        proxy.flow_idle = Duration::from_secs(args.flow_idle);
        // The control lines' answers are JSON lines on stdout, with or without --json.
        if args.json || args.control {
            proxy.sink = Sink::Stdout;
        }
        let driver_config = DriverConfig {
            max_connections: MAX_TCP_CLIENTS + args.max_flows,
            ..DriverConfig::default()
        };
        let mut driver = Driver::new(driver_config, proxy.endpoint_config()?)?;
        let local = driver.bind(args.listen).await?;
        if args.print_port {
            println!("{}", local.port());
        }
        if args.control {
            proxy.report_attacks = true;
            read_control(Arc::clone(&proxy.control), driver.waker());
        }
        driver.run(&mut proxy).await?;
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests;
