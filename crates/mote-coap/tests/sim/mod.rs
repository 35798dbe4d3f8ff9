//! A deterministic simulation harness for [`mote_coap::endpoint::Endpoint`]s: a simulated
//! clock, any number of endpoints addressed by a small integer ([`Addr`]), and a [`Network`]
//! that loses, duplicates, reorders and delays datagrams under a seeded PRNG ([`XorShift64`]).
//! Every run with the same seed is the same run.
//!
//! Use it from a test file with `mod sim;` and:
//! ```ignore
//! let mut sim = Sim::new(LinkProfile::PERFECT, 42);
//! sim.add(CLIENT, EndpointConfig::default());
//! sim.add(SERVER, EndpointConfig::default());
//! let id = sim.node(CLIENT).request(sim.now, SERVER, get, Reliability::Confirmable)?;
//! // Answer every request at once; run for 10 simulated seconds.
//! sim.run_until(secs(10), &mut |ep, now, _node, event| {
//!     if let Event::Request { id, .. } = event { ep.respond(now, id, content()).unwrap(); }
//! });
//! assert!(sim.events_of(CLIENT).any(|e| matches!(e, Event::Response { .. })));
//! ```
//! [`Sim::sent`] logs every datagram handed to the network (with its time, source and
//! destination), so tests can check retransmission times and message contents; [`Sim::events`]
//! logs every event of every node.

#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::time::Duration;

use mote_coap::endpoint::{Endpoint, EndpointConfig, Event};
use mote_coap::transmission::RandomSource;

/// A node's address in the simulation.
pub type Addr = u16;

/// The endpoint type of a simulated node.
pub type SimEndpoint = Endpoint<Addr, XorShift64>;

/// Marsaglia's xorshift64: tiny, fast, deterministic; not for cryptography.
#[derive(Debug, Clone)]
pub struct XorShift64(u64);

impl XorShift64 {
    /// A generator from `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u32) -> bool {
        self.below(1000) < u64::from(permille)
    }
}

impl RandomSource for XorShift64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
}

/// How the simulated network treats each datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkProfile {
    /// Probability (‰) that a datagram is lost.
    pub loss_permille: u32,
    /// Probability (‰) that a delivered datagram arrives twice (each copy delayed on its own).
    pub duplicate_permille: u32,
    /// Shortest one-way delay.
    pub min_delay: Duration,
    /// Longest one-way delay; a spread between the two reorders datagrams.
    pub max_delay: Duration,
}

impl LinkProfile {
    /// No loss, no duplication, 10 ms delay, no reordering.
    pub const PERFECT: Self = Self {
        loss_permille: 0,
        duplicate_permille: 0,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
    };
}

/// A datagram handed to the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// When it was sent (or, in the delivery queue, when it arrives).
    pub at: Duration,
    pub from: Addr,
    pub to: Addr,
    pub bytes: Vec<u8>,
}

/// The lossy, duplicating, reordering network.
#[derive(Debug)]
pub struct Network {
    pub rng: XorShift64,
    pub profile: LinkProfile,
    in_flight: Vec<(Duration, u64, Datagram)>,
    seq: u64,
    /// Every datagram sent, in order.
    pub sent: Vec<Datagram>,
    pub lost: usize,
    pub duplicated: usize,
}

impl Network {
    pub fn new(profile: LinkProfile, seed: u64) -> Self {
        Self {
            rng: XorShift64::new(seed),
            profile,
            in_flight: Vec::new(),
            seq: 0,
            sent: Vec::new(),
            lost: 0,
            duplicated: 0,
        }
    }

    fn delay(&mut self) -> Duration {
        let (lo, hi) = (
            self.profile.min_delay,
            self.profile.max_delay.max(self.profile.min_delay),
        );
        let spread = (hi - lo).as_micros() as u64;
        lo + Duration::from_micros(if spread == 0 {
            0
        } else {
            self.rng.below(spread + 1)
        })
    }

    /// Hands a datagram to the network at `now`.
    pub fn send(&mut self, now: Duration, from: Addr, to: Addr, bytes: Vec<u8>) {
        self.sent.push(Datagram {
            at: now,
            from,
            to,
            bytes: bytes.clone(),
        });
        if self.rng.chance(self.profile.loss_permille) {
            self.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.profile.duplicate_permille) {
            self.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at = now + self.delay();
            self.seq += 1;
            self.in_flight.push((
                at,
                self.seq,
                Datagram {
                    at,
                    from,
                    to,
                    bytes: bytes.clone(),
                },
            ));
        }
    }

    /// When the next datagram arrives.
    pub fn next_arrival(&self) -> Option<Duration> {
        self.in_flight.iter().map(|(at, _, _)| *at).min()
    }

    /// The earliest datagram due at `now`, if any.
    pub fn take_due(&mut self, now: Duration) -> Option<Datagram> {
        let (i, _) = self
            .in_flight
            .iter()
            .enumerate()
            .filter(|(_, (at, _, _))| *at <= now)
            .min_by_key(|(_, (at, seq, _))| (*at, *seq))?;
        Some(self.in_flight.swap_remove(i).2)
    }
}

/// What a test does with each event: `(endpoint of the node, now, node, event)`.
pub type OnEvent<'a> = dyn FnMut(&mut SimEndpoint, Duration, Addr, Event<Addr>) + 'a;

/// The simulation: a clock, the nodes and the network.
pub struct Sim {
    pub now: Duration,
    pub net: Network,
    pub nodes: BTreeMap<Addr, SimEndpoint>,
    /// Every event of every node: `(time, node, event)`.
    pub events: Vec<(Duration, Addr, Event<Addr>)>,
    seed: u64,
}

impl Sim {
    /// An empty simulation at time 1000 s (an arbitrary epoch), network seeded with `seed`.
    pub fn new(profile: LinkProfile, seed: u64) -> Self {
        Self {
            now: Duration::from_secs(1000),
            net: Network::new(profile, seed),
            nodes: BTreeMap::new(),
            events: Vec::new(),
            seed,
        }
    }

    /// Adds a node whose random source is derived from the simulation seed and its address.
    pub fn add(&mut self, addr: Addr, config: EndpointConfig) {
        let rng = XorShift64::new(self.seed ^ (u64::from(addr) << 32 | 0x5bd1_e995));
        self.nodes.insert(addr, Endpoint::new(config, rng).unwrap());
    }

    pub fn node(&mut self, addr: Addr) -> &mut SimEndpoint {
        self.nodes.get_mut(&addr).unwrap()
    }

    /// Datagrams sent so far from `from` to `to`.
    pub fn sent(&self, from: Addr, to: Addr) -> impl Iterator<Item = &Datagram> {
        self.net
            .sent
            .iter()
            .filter(move |d| d.from == from && d.to == to)
    }

    /// Events of one node so far.
    pub fn events_of(&self, node: Addr) -> impl Iterator<Item = &Event<Addr>> {
        self.events
            .iter()
            .filter(move |(_, n, _)| *n == node)
            .map(|(_, _, e)| e)
    }

    /// Moves every node's pending datagrams into the network and passes every pending event to
    /// `on_event` (which may send requests and responses; their datagrams are moved too).
    pub fn flush(&mut self, on_event: &mut OnEvent<'_>) {
        loop {
            let mut progress = false;
            for (&addr, ep) in &mut self.nodes {
                while let Some(t) = ep.poll_transmit() {
                    self.net.send(self.now, addr, t.peer, t.datagram);
                    progress = true;
                }
                while let Some(e) = ep.poll_event() {
                    self.events.push((self.now, addr, e.clone()));
                    on_event(ep, self.now, addr, e);
                    progress = true;
                }
            }
            if !progress {
                return;
            }
        }
    }

    /// The next time anything happens: a datagram arrives or a node's timer fires.
    pub fn next_time(&self) -> Option<Duration> {
        self.nodes
            .values()
            .filter_map(SimEndpoint::poll_timeout)
            .chain(self.net.next_arrival())
            .min()
    }

    /// Advances to the next happening (not beyond `deadline`) and processes it; false when
    /// nothing happens until `deadline`.
    pub fn step(&mut self, deadline: Duration, on_event: &mut OnEvent<'_>) -> bool {
        self.flush(on_event);
        let Some(t) = self.next_time().filter(|t| *t <= deadline) else {
            return false;
        };
        self.now = self.now.max(t);
        while let Some(d) = self.net.take_due(self.now) {
            if let Some(ep) = self.nodes.get_mut(&d.to) {
                ep.handle(self.now, d.from, &d.bytes);
            }
            self.flush(on_event);
        }
        for ep in self.nodes.values_mut() {
            if ep.poll_timeout().is_some_and(|t| t <= self.now) {
                ep.handle_timeout(self.now);
            }
        }
        self.flush(on_event);
        true
    }

    /// Runs until `deadline` (absolute simulated time), then sets the clock to it.
    pub fn run_until(&mut self, deadline: Duration, on_event: &mut OnEvent<'_>) {
        let mut steps = 0u32;
        while self.step(deadline, on_event) {
            steps += 1;
            assert!(steps < 1_000_000, "simulation does not settle");
        }
        self.now = self.now.max(deadline);
    }

    /// Runs for `span` of simulated time.
    pub fn run_for(&mut self, span: Duration, on_event: &mut OnEvent<'_>) {
        self.run_until(self.now + span, on_event);
    }
}
