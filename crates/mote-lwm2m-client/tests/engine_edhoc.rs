//! [`Engine::rekey`]: the EDHOC exchange through the endpoint (RFC 9528 Appendix A.2), with a
//! scripted handshake standing in for the cryptography. Before the first Register the account
//! (NoSec, no /21) waits for the handshake and then registers under the derived context; a
//! registered account registers again (a Register, not an Update) under the new context; a
//! refused handshake leaves the account as it was.

#![cfg(all(feature = "oscore", feature = "rekey"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use mote_access::ShortServerId;
use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_coap::transmission::RandomSource;
use mote_lwm2m::Value;
use mote_lwm2m_client::registration::{Registrar, RegistrationConfig};
use mote_lwm2m_client::reporting::{Reporter, ReportingConfig};
use mote_lwm2m_client::{
    AfterMessage2, Client, ClientConfig, ClientEvent, Device, EdhocHandshake, EdhocOutput, Engine,
    EngineConfig, OscoreAccount, RekeyError,
};
use mote_oscore::endpoint::{OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;
use mote_oscore::{SecurityContext, SecurityContextParams};

use common::{Board, int, p, rec};

type Addr = u16;
const CLIENT: Addr = 1;
const SERVER: Addr = 2;
const SSID: ShortServerId = ShortServerId(101);

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

fn endpoint(seed: u64) -> Ep {
    let oscore = Oscore::new(OscoreConfig::default(), XorShift(seed ^ 0x5555));
    Endpoint::with_protection(EndpointConfig::default(), XorShift(seed), oscore).unwrap()
}

fn context(
    secret: &[u8],
    salt: &[u8],
    sender: &[u8],
    recipient: &[u8],
) -> SecurityContext<Volatile> {
    let mut params = SecurityContextParams::new(secret, sender, recipient);
    params.master_salt = salt;
    SecurityContext::new(&params).unwrap()
}

/// What the handshake "derives": the suite-2 shape (16-byte secret, 8-byte salt).
fn output(n: u8) -> EdhocOutput {
    EdhocOutput {
        master_secret: vec![0x30 + n; 16],
        master_salt: vec![0x40 + n; 8],
        sender_id: vec![0x0a, n],
        recipient_id: vec![0x0b, n],
        aead: 10,
        hkdf: -10,
    }
}

/// A scripted Initiator: message_1 is `M1`, message_2 must be `M2`, message_4 `M4`.
struct Script {
    n: u8,
    log: Rc<RefCell<Vec<String>>>,
}

impl EdhocHandshake for Script {
    fn message_1(&mut self) -> Result<Vec<u8>, RekeyError> {
        self.log.borrow_mut().push("message_1".into());
        Ok(b"M1".to_vec())
    }
    fn message_2(&mut self, payload: &[u8]) -> Result<AfterMessage2, RekeyError> {
        self.log
            .borrow_mut()
            .push(format!("message_2 {}", String::from_utf8_lossy(payload)));
        if payload == b"M2" {
            Ok(AfterMessage2::Message3(b"CR,M3".to_vec()))
        } else {
            Err(RekeyError::Handshake("bad message_2".into()))
        }
    }
    fn finish(&mut self, message_4: Option<&[u8]>) -> Result<EdhocOutput, RekeyError> {
        self.log.borrow_mut().push(format!(
            "finish {:?}",
            message_4.map(|m| String::from_utf8_lossy(m).into_owned())
        ));
        Ok(output(self.n))
    }
}

/// A NoSec account /0/0 for server 101 (no /21 instance).
fn client_objects() -> Client {
    let mut c = Client::new(ClientConfig::default());
    c.register(3, Box::new(Device::new(Board::default())))
        .unwrap();
    c.bootstrap_write(
        &p("/0/0"),
        &[
            rec("/0/0/0", Value::String("coap://a.test".into())),
            rec("/0/0/1", Value::Boolean(false)),
            rec("/0/0/2", int(3)),
            rec("/0/0/10", int(101)),
        ],
    )
    .unwrap();
    c.bootstrap_write(
        &p("/1/0"),
        &[rec("/1/0/0", int(101)), rec("/1/0/1", int(300))],
    )
    .unwrap();
    c
}

/// A request the server got: protected?, code, path, Content-Format, payload.
type Seen = (bool, Code, String, Option<u32>, Vec<u8>);

struct Pair {
    now: Duration,
    client: Ep,
    engine: Engine<Addr>,
    server: Ep,
    seen: Vec<Seen>,
    events: Vec<ClientEvent>,
    /// The EDHOC resource answers this code.
    edhoc_code: Code,
}

impl Pair {
    fn new(config: EngineConfig) -> Pair {
        Pair {
            now: Duration::ZERO,
            client: endpoint(3),
            engine: Engine::new(
                client_objects(),
                Registrar::new(RegistrationConfig::default()),
                Reporter::new(ReportingConfig::default()),
                |uri: &str| (uri == "coap://a.test").then_some(SERVER),
                config,
            ),
            server: endpoint(4),
            seen: Vec::new(),
            events: Vec::new(),
            edhoc_code: Code::CHANGED,
        }
    }

    /// The server also knows the context of handshake `n` (as its EDHOC Responder would).
    fn server_knows(&mut self, n: u8) {
        let o = output(n);
        self.server
            .protection_mut()
            .add_context(context(
                &o.master_secret,
                &o.master_salt,
                &o.recipient_id,
                &o.sender_id,
            ))
            .unwrap();
    }

    /// Installs what the engine asks for, as an application would.
    fn install(&mut self, account: &OscoreAccount) {
        let ctx = context(
            &account.master_secret,
            &account.master_salt,
            &account.sender_id,
            &account.recipient_id,
        );
        self.client.protection_mut().add_context(ctx).unwrap();
        self.engine
            .context_installed(&mut self.client, account.security, self.now);
    }

    fn run(&mut self) {
        for _ in 0..100 {
            let mut progressed = false;
            while let Some(e) = self.client.poll_event() {
                progressed = true;
                self.engine.handle_event(&mut self.client, e, self.now);
            }
            while let Some(e) = self.engine.poll_event() {
                progressed = true;
                if let ClientEvent::OscoreContextNeeded { account } = &e {
                    let account = account.clone();
                    self.events.push(e);
                    self.install(&account);
                } else {
                    self.events.push(e);
                }
            }
            while let Some(t) = self.client.poll_transmit() {
                progressed = true;
                self.server.handle(self.now, CLIENT, &t.datagram);
            }
            while let Some(e) = self.server.poll_event() {
                progressed = true;
                if let Event::Request { id, message, .. } = e {
                    let path: Vec<String> = message
                        .options
                        .get_all(OptionNumber::URI_PATH)
                        .map(|o| String::from_utf8(o.value.to_vec()).unwrap())
                        .collect();
                    let cf = message
                        .options
                        .get(OptionNumber::CONTENT_FORMAT)
                        .and_then(|o| o.as_uint().ok());
                    self.seen.push((
                        message.identity.is_some(),
                        message.code,
                        format!("/{}", path.join("/")),
                        cf,
                        message.payload.clone(),
                    ));
                    let reply = if path == [".well-known", "edhoc"] {
                        let body: &[u8] = if message.payload == b"M1" {
                            b"M2"
                        } else {
                            b"M4"
                        };
                        OwnedMessage::new(MessageType::Ack, self.edhoc_code, 0).with_payload(body)
                    } else {
                        OwnedMessage::new(MessageType::Ack, Code::CREATED, 0)
                            .with_option(OptionNumber::LOCATION_PATH, "rd")
                            .with_option(
                                OptionNumber::LOCATION_PATH,
                                format!("{}", self.seen.len()),
                            )
                    };
                    self.server.respond(self.now, id, reply).unwrap();
                }
            }
            while let Some(t) = self.server.poll_transmit() {
                progressed = true;
                self.client.handle(self.now, SERVER, &t.datagram);
            }
            if !progressed {
                break;
            }
        }
        self.now += Duration::from_millis(100);
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        if self.engine.poll_timeout().is_some_and(|t| t <= self.now) {
            self.engine.handle_timeout(&mut self.client, self.now);
        }
    }

    fn paths(&self) -> Vec<(bool, String)> {
        self.seen
            .iter()
            .map(|(protected, _, path, _, _)| (*protected, path.clone()))
            .collect()
    }
}

fn edhoc(protected: bool) -> (bool, String) {
    (protected, "/.well-known/edhoc".into())
}

fn rd(protected: bool) -> (bool, String) {
    (protected, "/rd".into())
}

#[test]
fn the_first_register_waits_for_the_handshake_and_goes_under_its_context() {
    let mut w = Pair::new(EngineConfig::default());
    w.server_knows(1);
    let log = Rc::new(RefCell::new(Vec::new()));
    let script = Script {
        n: 1,
        log: log.clone(),
    };
    w.engine.rekey(&mut w.client, SSID, script, w.now).unwrap();
    assert!(w.engine.rekeying(SSID));
    w.engine.start(&mut w.client, w.now);
    for _ in 0..5 {
        w.run();
    }
    // RFC 9528 Appendix A.2: two unprotected POSTs to the EDHOC resource (Content-Format 65),
    // then the Register, protected.
    assert_eq!(w.paths(), [edhoc(false), edhoc(false), rd(true)]);
    assert_eq!(w.seen[0].3, Some(65));
    assert_eq!(w.seen[0].4, b"M1");
    assert_eq!(w.seen[1].4, b"CR,M3");
    assert_eq!(
        *log.borrow(),
        ["message_1", "message_2 M2", "finish Some(\"M4\")"]
    );
    // The derived context is the account's /21 instance (Appendix A.1 → E.9).
    let account = w.engine.oscore_account(0).unwrap();
    assert_eq!(account.oscore, 0);
    assert_eq!(account.ssid, Some(SSID));
    assert_eq!(account.master_secret, vec![0x31; 16]);
    assert_eq!(account.master_salt, vec![0x41; 8]);
    assert_eq!(account.sender_id, [0x0a, 1]);
    assert_eq!(account.recipient_id, [0x0b, 1]);
    assert_eq!((account.aead, account.hkdf), (Some(10), Some(-10)));
    assert_eq!(account.id_context, None);
    let order: Vec<&str> = w
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Rekeyed { ssid, server } => {
                assert_eq!((*ssid, server.as_str()), (SSID, "coap://a.test"));
                Some("rekeyed")
            }
            ClientEvent::OscoreContextNeeded { .. } => Some("context"),
            ClientEvent::Registered { .. } => Some("registered"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["rekeyed", "context", "registered"]);
    assert!(!w.engine.rekeying(SSID));
}

#[test]
fn a_rekey_of_a_registered_account_registers_again_under_the_new_context() {
    let mut w = Pair::new(EngineConfig::default());
    w.server_knows(1);
    w.server_knows(2);
    let log = Rc::new(RefCell::new(Vec::new()));
    w.engine
        .rekey(
            &mut w.client,
            SSID,
            Script {
                n: 1,
                log: log.clone(),
            },
            w.now,
        )
        .unwrap();
    w.engine.start(&mut w.client, w.now);
    for _ in 0..5 {
        w.run();
    }
    assert!(w.engine.registrar().is_registered(SSID));
    w.seen.clear();
    w.events.clear();
    w.engine
        .rekey(&mut w.client, SSID, Script { n: 2, log }, w.now)
        .unwrap();
    // One handshake at a time per account.
    assert_eq!(
        w.engine.rekey(
            &mut w.client,
            SSID,
            Script {
                n: 3,
                log: Rc::default()
            },
            w.now
        ),
        Err(RekeyError::InProgress(101))
    );
    for _ in 0..5 {
        w.run();
    }
    // A Register (POST /rd), not an Update (POST /rd/N): the server binds the registration
    // to the identity it arrives with.
    assert_eq!(w.paths(), [edhoc(false), edhoc(false), rd(true)]);
    let account = w.engine.oscore_account(0).unwrap();
    assert_eq!(account.sender_id, [0x0a, 2]);
    assert_eq!(account.master_secret, vec![0x32; 16]);
    assert!(
        w.events
            .iter()
            .any(|e| matches!(e, ClientEvent::Registered { ssid, .. } if *ssid == SSID))
    );
}

#[test]
fn a_refused_handshake_keeps_the_account_as_it_was() {
    let mut w = Pair::new(EngineConfig::default());
    w.edhoc_code = Code::BAD_REQUEST;
    w.engine
        .rekey(
            &mut w.client,
            SSID,
            Script {
                n: 1,
                log: Rc::default(),
            },
            w.now,
        )
        .unwrap();
    w.engine.start(&mut w.client, w.now);
    w.run();
    assert!(w.events.iter().any(|e| matches!(
        e,
        ClientEvent::RekeyFailed { ssid, error: RekeyError::Refused(code) }
            if *ssid == SSID && code == "4.00"
    )));
    assert!(w.engine.oscore_account(0).is_none());
    assert!(!w.engine.rekeying(SSID));
    // The Register that waited goes out as the account says (NoSec).
    assert_eq!(w.paths(), [edhoc(false), rd(false)]);
}

#[test]
fn rekey_refuses_an_unknown_account_and_a_full_request_table() {
    let mut w = Pair::new(EngineConfig::default());
    let script = || Script {
        n: 1,
        log: Rc::default(),
    };
    assert_eq!(
        w.engine
            .rekey(&mut w.client, ShortServerId(7), script(), w.now),
        Err(RekeyError::UnknownAccount(7))
    );
    let mut full = Pair::new(EngineConfig {
        max_pending: 0,
        ..EngineConfig::default()
    });
    assert_eq!(
        full.engine
            .rekey(&mut full.client, SSID, script(), full.now),
        Err(RekeyError::TooManyRequests(0))
    );
    assert!(!full.engine.rekeying(SSID));
}
