//! The server side of the in-memory OSCORE simulations (`tests/idle_memory.rs`,
//! `examples/load.rs`): one server endpoint holding a context per client (RFC 8613) and the
//! engine, sized for `size` clients. Included with `#[path]` next to `common`.

#![allow(dead_code)] // each binary uses a part

use mote_coap::endpoint::{Endpoint, EndpointConfig, EndpointLimits};
use mote_lwm2m_server::{EngineConfig, Identity, InMemoryStore, Lwm2mServer, Server, ServerConfig};
use mote_oscore::endpoint::{ContextId, OscoreConfig, OscoreProtection};
use mote_oscore::sequence::Volatile;
use mote_oscore::{SecurityContext, SecurityContextParams};

use crate::common::Xs;

pub(crate) type Oscore = OscoreProtection<Volatile, Xs>;
pub(crate) type Ep = Endpoint<u16, Xs, Oscore>;
pub(crate) type Engine = Lwm2mServer<u16, ContextId, InMemoryStore, Xs>;
/// The server's address on the in-memory network; clients are 1, 2, …
pub(crate) const SERVER: u16 = 0;
const SECRET: &[u8] = &[7; 16];

/// Client `i`'s OSCORE id (its Sender ID, the server's Recipient ID).
pub(crate) fn client_id(i: u16) -> [u8; 2] {
    i.to_be_bytes()
}

/// A context of the shared master secret.
pub(crate) fn context(sender: &[u8], recipient: &[u8]) -> SecurityContext {
    SecurityContext::new(&SecurityContextParams::new(SECRET, sender, recipient)).unwrap()
}

fn identity_of(c: &ContextId) -> Identity {
    Identity::Oscore(c.recipient_id().to_vec())
}

/// Endpoint limits for `n` peers.
fn limits(n: usize) -> EndpointConfig {
    EndpointConfig {
        limits: EndpointLimits {
            max_peers: n + 16,
            max_dedup_total: 4 * n + 64,
            max_outstanding_requests: n + 16,
            max_queued_requests: n + 16,
            max_pending_incoming: n + 16,
            max_queued_transmits: 4 * n + 64,
            max_queued_events: 4 * n + 64,
            ..EndpointLimits::default()
        },
        ..EndpointConfig::default()
    }
}

/// The server endpoint holding `contexts` client contexts and the engine, sized for `size`.
pub(crate) fn server_side(contexts: u16, size: usize) -> (Ep, Engine) {
    let mut oscore = Oscore::new(OscoreConfig { max_contexts: size }, Xs(3));
    for i in 1..=contexts {
        oscore.add_context(context(&[], &client_id(i))).unwrap();
    }
    let server = Endpoint::with_protection(limits(size), Xs(5), oscore).unwrap();
    let core = Server::new(
        ServerConfig {
            max_registrations: size,
            max_pending_events: 4 * size,
            ..ServerConfig::default()
        },
        InMemoryStore::new(),
    );
    let engine = Lwm2mServer::new(
        EngineConfig {
            max_operations: size,
            max_observations: size,
        },
        core,
        Xs(9),
        identity_of,
    );
    (server, engine)
}
