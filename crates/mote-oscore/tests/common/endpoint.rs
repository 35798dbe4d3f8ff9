//! The endpoint-level fixtures shared by the OSCORE endpoint tests: two peers (`CLIENT`,
//! `SERVER`) on a simulated network, a seeded xorshift, and the RFC 8613 Appendix C contexts.

use std::time::Duration;

use mote_coap::code::{Code, MessageType};
use mote_coap::endpoint::{Endpoint, EndpointConfig, Event, Reliability, RequestOptions};
use mote_coap::message::OwnedMessage;
use mote_coap::option::OptionNumber;
use mote_oscore::endpoint::{ContextId, OscoreProtection};
use mote_oscore::sequence::MemoryStore;
use mote_oscore::{SecurityContext, SecurityContextParams};

pub type Rng = Box<dyn FnMut() -> u32>;
pub type Oscore = OscoreProtection<MemoryStore, Rng>;
pub type Ep = Endpoint<u16, Rng, Oscore>;
pub type Ev = Event<u16, ContextId>;

pub const CLIENT: u16 = 1;
pub const SERVER: u16 = 2;

/// A seeded xorshift32 (never seeded with 0).
pub fn rng(seed: u32) -> Rng {
    let mut x = seed.max(1);
    Box::new(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    })
}

/// The context of RFC 8613 Appendix C section `name` (C.1.1 client, C.1.2 server, ...).
pub fn context(name: &str) -> SecurityContext<MemoryStore> {
    SecurityContext::with_store(&params(name), MemoryStore::default()).unwrap()
}

/// The input parameters of RFC 8613 Appendix C section `name`.
pub fn params(name: &str) -> SecurityContextParams<'static> {
    let v = super::appendix_c().remove(name).unwrap();
    let leak = |k: &str| -> &'static [u8] { Box::leak(super::hex(&v, k).into_boxed_slice()) };
    let mut p = SecurityContextParams::new(
        leak("master_secret"),
        leak("sender_id"),
        leak("recipient_id"),
    );
    if v.contains_key("master_salt") {
        p.master_salt = leak("master_salt");
    }
    if v.contains_key("id_context") {
        p.id_context = Some(leak("id_context"));
    }
    p
}

pub fn id_of(name: &str) -> ContextId {
    ContextId::of(&context(name))
}

/// `s` seconds after an arbitrary epoch.
pub fn t(s: u64) -> Duration {
    Duration::from_secs(1000 + s)
}

pub fn options() -> RequestOptions {
    RequestOptions::new(
        Reliability::Confirmable,
        EndpointConfig::default().client_blockwise,
    )
}

pub fn get(path: &str) -> OwnedMessage {
    OwnedMessage::new(MessageType::Con, Code::GET, 0).with_option(OptionNumber::URI_PATH, path)
}
