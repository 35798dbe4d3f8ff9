//! The engine with OSCORE end to end (RFC 8613 on the mote-coap endpoint, TS 1.2 Transport
//! §5.5): the account of server 101 links /21/0, so the client registers under that security
//! context, identifies the server's requests by it (context → /21/0 → /0/0 → SSID 101) and
//! refuses the same requests sent without OSCORE (4.01: the account is not NoSec).

#![cfg(feature = "oscore")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use mote_access::ShortServerId;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{
    Endpoint, EndpointConfig, Event, Reliability, RequestId, RequestOptions,
};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_lwm2m::{ObjectLink, Value};
use mote_lwm2m_client::registration::{Registrar, RegistrationConfig};
use mote_lwm2m_client::reporting::{Reporter, ReportingConfig};
use mote_lwm2m_client::{Client, ClientConfig, ClientEvent, Device, Engine, EngineConfig};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;
use mote_oscore::{SecurityContext, SecurityContextParams};

use common::{Board, int, p, rec};

type Addr = u16;
const CLIENT: Addr = 1;
const SERVER: Addr = 2;

#[derive(Debug, Clone)]
struct XorShift(u64);

impl RandomSource for XorShift {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
}

type Oscore = OscoreProtection<Volatile, XorShift>;
type Ep = Endpoint<Addr, XorShift, Oscore>;

const SECRET: &[u8] = &[0x11; 16];
const SALT: &[u8] = &[0x22; 8];

fn context(sender: &[u8], recipient: &[u8]) -> SecurityContext<Volatile> {
    let mut params = SecurityContextParams::new(SECRET, sender, recipient);
    params.master_salt = SALT;
    SecurityContext::new(&params).unwrap()
}

fn endpoint(seed: u64, sender: &[u8], recipient: &[u8]) -> (Ep, ContextId) {
    let mut oscore = Oscore::new(OscoreConfig::default(), XorShift(seed ^ 0x5555));
    let id = oscore.add_context(context(sender, recipient)).unwrap();
    (
        Endpoint::with_protection(EndpointConfig::default(), XorShift(seed), oscore).unwrap(),
        id,
    )
}

fn client_objects() -> Client {
    let mut c = Client::new(ClientConfig::default());
    c.register(3, Box::new(Device::new(Board::default())))
        .unwrap();
    let w = |c: &mut Client, base: &str, records: Vec<mote_lwm2m::Record>| {
        c.bootstrap_write(&p(base), &records).unwrap();
    };
    w(
        &mut c,
        "/21/0",
        vec![
            rec("/21/0/1", Value::Opaque(vec![0x01])),
            rec("/21/0/2", Value::Opaque(vec![0x02])),
        ],
    );
    w(
        &mut c,
        "/0/0",
        vec![
            rec("/0/0/0", Value::String("coap://a.test".into())),
            rec("/0/0/1", Value::Boolean(false)),
            rec("/0/0/2", int(3)),
            rec("/0/0/10", int(101)),
            rec("/0/0/17", Value::Objlnk(ObjectLink::new(21, 0))),
        ],
    );
    w(
        &mut c,
        "/1/0",
        vec![rec("/1/0/0", int(101)), rec("/1/0/1", int(300))],
    );
    c
}

struct Pair {
    now: Duration,
    client: Ep,
    engine: Engine<Addr>,
    server: Ep,
    server_ctx: ContextId,
    /// Requests the server got: (protected?, code, path).
    seen: Vec<(bool, Code, String)>,
    answers: Vec<(RequestId, OwnedMessage)>,
    events: Vec<ClientEvent>,
    /// Flip the last byte of the server's Nth datagram longer than 500 bytes (a block of
    /// the firmware package) on its way: a tampering network.
    tamper_block: Option<usize>,
    big_datagrams: usize,
}

impl Pair {
    fn new() -> Pair {
        let (client, _) = endpoint(3, &[0x01], &[0x02]);
        let (server, server_ctx) = endpoint(4, &[0x02], &[0x01]);
        let engine = Engine::new(
            client_objects(),
            Registrar::new(RegistrationConfig::default()),
            Reporter::new(ReportingConfig::default()),
            // `alias.test` names the same server by another host name.
            |uri: &str| matches!(uri, "coap://a.test" | "coap://alias.test").then_some(SERVER),
            EngineConfig::default(),
        );
        Pair {
            now: Duration::ZERO,
            client,
            engine,
            server,
            server_ctx,
            seen: Vec::new(),
            answers: Vec::new(),
            events: Vec::new(),
            tamper_block: None,
            big_datagrams: 0,
        }
    }

    /// Delivers everything at once (no delay) until quiet, then moves the clock by `step`.
    fn run(&mut self, step: Duration) {
        for _ in 0..100 {
            let mut progressed = false;
            while let Some(e) = self.client.poll_event() {
                progressed = true;
                self.engine.handle_event(&mut self.client, e, self.now);
            }
            while let Some(e) = self.engine.poll_event() {
                self.events.push(e);
            }
            while let Some(t) = self.client.poll_transmit() {
                progressed = true;
                self.server.handle(self.now, CLIENT, &t.datagram);
            }
            while let Some(e) = self.server.poll_event() {
                progressed = true;
                match e {
                    Event::Request { id, message, .. } => {
                        let path: Vec<String> = message
                            .options
                            .get_all(OptionNumber::URI_PATH)
                            .map(|o| String::from_utf8(o.value.to_vec()).unwrap())
                            .collect();
                        self.seen.push((
                            message.identity.is_some(),
                            message.code,
                            format!("/{}", path.join("/")),
                        ));
                        let reply = if message.code == Code::GET && path == ["fw", "img"] {
                            // The firmware package: 3000 bytes, three Block2 blocks.
                            OwnedMessage::new(MessageType::Ack, Code::CONTENT, 0)
                                .with_payload(package())
                        } else {
                            OwnedMessage::new(MessageType::Ack, Code::CREATED, 0)
                                .with_option(OptionNumber::LOCATION_PATH, "rd")
                                .with_option(OptionNumber::LOCATION_PATH, "9")
                        };
                        self.server.respond(self.now, id, reply).unwrap();
                    }
                    Event::Response { id, message, .. } => self.answers.push((id, message)),
                    Event::ProtectionFailed { id, response, .. } => {
                        self.answers.push((id, response));
                    }
                    _ => {}
                }
            }
            while let Some(t) = self.server.poll_transmit() {
                progressed = true;
                let mut datagram = t.datagram;
                if datagram.len() > 500 {
                    self.big_datagrams += 1;
                    if self.tamper_block == Some(self.big_datagrams) {
                        if let Some(last) = datagram.last_mut() {
                            *last ^= 0x01;
                        }
                    }
                }
                self.client.handle(self.now, SERVER, &datagram);
            }
            if !progressed {
                break;
            }
        }
        self.now += step;
        if self.engine.poll_timeout().is_some_and(|t| t <= self.now) {
            self.engine.handle_timeout(&mut self.client, self.now);
        }
    }

    fn ask(&mut self, request: OwnedMessage, protected: bool) -> OwnedMessage {
        let options = RequestOptions::new(
            Reliability::Confirmable,
            EndpointConfig::default().client_blockwise,
        );
        let id = if protected {
            let ctx = self.server_ctx;
            self.server
                .request_protected(self.now, CLIENT, request, options, ctx)
                .unwrap()
        } else {
            self.server
                .request_with(self.now, CLIENT, request, options)
                .unwrap()
        };
        self.run(Duration::from_millis(10));
        self.answers
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, m)| m.clone())
            .expect("an answer")
    }
}

fn read(path: &str) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, Code::GET, 0);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        m = m.with_option(OptionNumber::URI_PATH, seg);
    }
    m.with_uint_option(OptionNumber::ACCEPT, 0)
}

#[test]
fn registration_and_management_run_under_the_accounts_oscore_context() {
    let mut pair = Pair::new();
    let now = pair.now;
    pair.engine.start(&mut pair.client, now);
    pair.run(Duration::from_millis(10));
    // The Register went out under OSCORE.
    assert_eq!(pair.seen.len(), 1);
    assert_eq!(pair.seen[0], (true, Code::POST, "/rd".to_string()));
    assert!(pair.events.iter().any(|e| matches!(e,
        ClientEvent::Registered { ssid, location, .. }
            if *ssid == ShortServerId(101) && location == "/rd/9")));
    // A Read under the server's context: the client knows it is 101.
    let r = pair.ask(read("/3/0/0"), true);
    assert_eq!(r.code, Code::CONTENT);
    assert_eq!(r.payload, b"Mote");
    // The same Read without OSCORE: the account is not NoSec, so nobody asks.
    let r = pair.ask(read("/3/0/0"), false);
    assert_eq!(r.code, Code::UNAUTHORIZED);
}

/// TS 1.2 Transport §5.5: the context of an account comes from what was written into /21
/// (here as a bootstrap would). With `provision_contexts`, the engine asks the application
/// for it with the /21 values, holds the Register until it is installed, then registers
/// under it; the server's requests under it are that server (SSID 101).
#[test]
fn a_provisioned_oscore_context_is_asked_for_then_used_for_the_register() {
    let mut pair = Pair::new();
    // The client's endpoint starts without any context.
    pair.client = Endpoint::with_protection(
        EndpointConfig::default(),
        XorShift(3),
        Oscore::new(OscoreConfig::default(), XorShift(9)),
    )
    .unwrap();
    pair.engine
        .client_mut()
        .bootstrap_write(
            &p("/21/0"),
            &[
                rec("/21/0/0", Value::Opaque(SECRET.to_vec())),
                rec("/21/0/5", Value::Opaque(SALT.to_vec())),
                rec("/21/0/3", int(10)),
            ],
        )
        .unwrap();
    pair.engine.provision_contexts(true);
    let now = pair.now;
    pair.engine.start(&mut pair.client, now);
    pair.run(Duration::from_millis(10));
    // Nothing went out: the Register waits for the context.
    assert!(pair.seen.is_empty(), "{:?}", pair.seen);
    let asked: Vec<_> = pair
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::OscoreContextNeeded { account } => Some(account.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(asked.len(), 1, "{:?}", pair.events);
    let account = &asked[0];
    assert_eq!((account.security, account.oscore), (0, 0));
    assert_eq!(account.ssid, Some(ShortServerId(101)));
    assert_eq!(account.master_secret, SECRET);
    assert_eq!(account.master_salt, SALT);
    assert_eq!(account.sender_id, [0x01]);
    assert_eq!(account.recipient_id, [0x02]);
    assert_eq!(account.aead, Some(10));
    assert_eq!(account.id_context, None);
    // More time passes: it is not asked for twice, still nothing sent.
    pair.run(Duration::from_secs(5));
    pair.run(Duration::from_millis(10));
    let again = pair
        .events
        .iter()
        .filter(|e| matches!(e, ClientEvent::OscoreContextNeeded { .. }))
        .count();
    assert_eq!(again, 1);
    assert!(pair.seen.is_empty());
    // The application derives the context from the account and installs it.
    let mut params = SecurityContextParams::new(
        &account.master_secret,
        &account.sender_id,
        &account.recipient_id,
    );
    params.master_salt = &account.master_salt;
    pair.client
        .protection_mut()
        .add_context(SecurityContext::new(&params).unwrap())
        .unwrap();
    let now = pair.now;
    pair.engine
        .context_installed(&mut pair.client, account.security, now);
    pair.run(Duration::from_millis(10));
    assert_eq!(pair.seen, [(true, Code::POST, "/rd".to_string())]);
    assert!(pair.events.iter().any(|e| matches!(e,
        ClientEvent::Registered { ssid, .. } if *ssid == ShortServerId(101))));
    let r = pair.ask(read("/3/0/0"), true);
    assert_eq!(r.code, Code::CONTENT);
}

fn package() -> Vec<u8> {
    let mut p = b"GOOD".to_vec();
    p.extend((0..2996u32).map(|i| (i % 251) as u8));
    p
}

#[cfg(feature = "firmware-pull")]
/// What a pull ends with: the FirmwareDownload events, /5/0/3, /5/0/5, the packages the hook
/// verified and the blocks it got.
type Pulled = (
    Vec<ClientEvent>,
    Value,
    Value,
    Vec<Vec<u8>>,
    Vec<(usize, Vec<u8>)>,
);

#[cfg(feature = "firmware-pull")]
/// Records what reached the application's hook: whole packages to verify, and each block
/// handed over during the pull as (offset, bytes).
struct Hook(
    std::rc::Rc<std::cell::RefCell<Vec<Vec<u8>>>>,
    std::rc::Rc<std::cell::RefCell<Blocks>>,
);

#[cfg(feature = "firmware-pull")]
/// Blocks handed to the hook as (offset, bytes).
type Blocks = Vec<(usize, Vec<u8>)>;

#[cfg(feature = "firmware-pull")]
impl mote_lwm2m_client::FirmwareHooks for Hook {
    fn write_block(
        &mut self,
        offset: usize,
        block: &[u8],
    ) -> Result<(), mote_lwm2m_client::UpdateResult> {
        self.1.borrow_mut().push((offset, block.to_vec()));
        Ok(())
    }
    fn finish(&mut self) -> Result<(), mote_lwm2m_client::UpdateResult> {
        // The package is the blocks written, in order.
        let image: Vec<u8> = self
            .1
            .borrow()
            .iter()
            .flat_map(|(_, b)| b.clone())
            .collect();
        self.0.borrow_mut().push(image);
        Ok(())
    }
    fn start_update(&mut self) -> Result<(), mote_lwm2m_client::UpdateResult> {
        Ok(())
    }
}

#[cfg(feature = "firmware-pull")]
fn text_put(path: &str, value: &str) -> OwnedMessage {
    let mut m = OwnedMessage::new(MessageType::Con, Code::PUT, 0);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        m = m.with_option(OptionNumber::URI_PATH, seg);
    }
    m.with_uint_option(OptionNumber::CONTENT_FORMAT, 0)
        .with_payload(value.as_bytes().to_vec())
}

#[cfg(feature = "firmware-pull")]
/// A firmware pull from the account's own server under its OSCORE context (TS 1.2 Core
/// Appendix E.6, each block verified end to end, RFC 8613 §8.4): `tamper` flips a byte of
/// that block on the network. Returns the FirmwareDownload event, /5/0/3 and /5/0/5, and
/// what reached the hook.
fn pull(tamper: Option<usize>) -> Pulled {
    use mote_lwm2m_client::FirmwareUpdate;
    let mut pair = Pair::new();
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let blocks = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    pair.engine
        .client_mut()
        .register(
            5,
            Box::new(FirmwareUpdate::new(Hook(got.clone(), blocks.clone()), 8192)),
        )
        .unwrap();
    let now = pair.now;
    pair.engine.start(&mut pair.client, now);
    pair.run(Duration::from_millis(10));
    pair.tamper_block = tamper;
    let r = pair.ask(text_put("/5/0/1", "coap://a.test/fw/img"), true);
    assert_eq!(r.code, Code::CHANGED);
    for _ in 0..50 {
        pair.run(Duration::from_millis(100));
    }
    let events = pair
        .events
        .iter()
        .filter(|e| matches!(e, ClientEvent::FirmwareDownload { .. }))
        .cloned()
        .collect();
    let client = pair.engine.client();
    let got = got.borrow().clone();
    let blocks = blocks.borrow().clone();
    (
        events,
        client.value(&p("/5/0/3")).unwrap(),
        client.value(&p("/5/0/5")).unwrap(),
        got,
        blocks,
    )
}

#[cfg(feature = "firmware-pull")]
#[test]
fn a_tampered_firmware_block_ends_the_pull_with_integrity_check_failure() {
    use mote_lwm2m_client::{State, UpdateResult};
    // Untouched: the package arrives whole, State Downloaded (2).
    let (events, state, result, got, blocks) = pull(None);
    assert_eq!(
        events,
        [ClientEvent::FirmwareDownload {
            state: State::Downloaded,
            result: UpdateResult::Initial
        }]
    );
    assert_eq!((state, result), (int(2), int(0)));
    assert_eq!(got, [package()]);
    // Each verified block reached the hook on arrival: 1024, 1024, 952 bytes.
    let image = package();
    assert_eq!(
        blocks,
        [
            (0, image[..1024].to_vec()),
            (1024, image[1024..2048].to_vec()),
            (2048, image[2048..].to_vec()),
        ]
    );
    // The second block tampered with: it fails verification, the download ends with
    // "Integrity check failure" (5), State Idle (0), nothing reached the hook.
    let (events, state, result, got, blocks) = pull(Some(2));
    assert_eq!(
        events,
        [ClientEvent::FirmwareDownload {
            state: State::Idle,
            result: UpdateResult::IntegrityCheckFailure
        }]
    );
    assert_eq!((state, result), (int(0), int(5)));
    assert!(got.is_empty(), "{} packages reached the hook", got.len());
    // The blocks before it verified and were handed over; the tampered one never was.
    assert_eq!(blocks, [(0, image[..1024].to_vec())]);
}

/// A Package URI naming the account's server by another host name (it resolves to the same
/// peer) is pulled under the account's OSCORE context, every block protected.
#[cfg(feature = "firmware-pull")]
#[test]
fn a_package_uri_that_resolves_to_the_server_is_pulled_under_its_context() {
    use mote_lwm2m_client::{FirmwareUpdate, State, UpdateResult};
    let mut pair = Pair::new();
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let blocks = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    pair.engine
        .client_mut()
        .register(
            5,
            Box::new(FirmwareUpdate::new(Hook(got.clone(), blocks), 8192)),
        )
        .unwrap();
    let now = pair.now;
    pair.engine.start(&mut pair.client, now);
    pair.run(Duration::from_millis(10));
    let r = pair.ask(text_put("/5/0/1", "coap://alias.test/fw/img"), true);
    assert_eq!(r.code, Code::CHANGED);
    for _ in 0..50 {
        pair.run(Duration::from_millis(100));
    }
    let pulls: Vec<bool> = pair
        .seen
        .iter()
        .filter(|(_, _, path)| path == "/fw/img")
        .map(|(protected, _, _)| *protected)
        .collect();
    // The server's application saw the first request, protected; its endpoint served the
    // later blocks to the same context (a protected request's response must verify, so the
    // package arriving whole means every block did).
    assert_eq!(pulls, [true]);
    assert!(pair.events.contains(&ClientEvent::FirmwareDownload {
        state: State::Downloaded,
        result: UpdateResult::Initial
    }));
    assert_eq!(*got.borrow(), [package()]);
}
