//! The binary's I/O layer: a tokio driver around the sans-IO [`Endpoint`] of mote-coap.
//!
//! One task ([`Driver::run`]) owns the endpoint, so protocol state needs no lock. Socket
//! reader tasks feed it through one bounded channel; each TCP connection has a writer task
//! with a bounded queue; the endpoint's `poll_timeout` is the only timer. See
//! `docs/architecture.md`, "I/O model", for why.
//!
//! Call order (all inside a tokio runtime, normally [`runtime`]'s current-thread one):
//! 1. [`Driver::new`] with a [`DriverConfig`] and the endpoint's configuration.
//! 2. [`Driver::bind`] for each `coap://` or `coap+tcp://` address to serve on, and/or
//!    [`Driver::connect`] for each server to talk to (client role).
//! 3. [`Driver::run`] with an [`Application`]: it returns when the application says
//!    [`ControlFlow::Break`] (or, in tests, a `Shutdown` handle fires).

pub(crate) mod client;
mod driver;
#[cfg(test)]
mod tests;

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::ops::ControlFlow;

#[allow(
    unused_imports,
    reason = "the endpoint type the ported subcommands will name"
)]
pub(crate) use driver::CoapEndpoint;
#[cfg(test)]
pub(crate) use driver::Shutdown;
pub(crate) use driver::{Application, Driver, DriverConfig, Io, runtime};
use mote_coap::endpoint::EndpointError;
use mote_coap::transmission::RandomSource;
use rand_core::RngCore as _;

#[cfg(doc)]
use mote_coap::endpoint::Endpoint;

/// A peer of the driver's endpoint (its `P`): where a message came from and where the answer
/// goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Remote {
    /// A UDP peer reached through the driver's socket number `socket` (in [`Driver::bind`]
    /// and [`Driver::connect`] order).
    Udp {
        /// Index of the local socket.
        socket: usize,
        /// The peer's address.
        addr: SocketAddr,
    },
    /// The peer of TCP connection `connection` (numbered by the driver, never reused).
    Tcp {
        /// The connection's number.
        connection: u64,
        /// The peer's address.
        addr: SocketAddr,
    },
}

impl Remote {
    /// The peer's address.
    #[must_use]
    pub(crate) const fn addr(&self) -> SocketAddr {
        match *self {
            Self::Udp { addr, .. } | Self::Tcp { addr, .. } => addr,
        }
    }
}

/// A transport address: a UDP socket or a TCP listener (or, for [`Driver::connect`], a
/// server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listen {
    /// CoAP over UDP (RFC 7252).
    Udp(SocketAddr),
    /// CoAP over TCP (RFC 8323).
    Tcp(SocketAddr),
}

/// Parses `HOST:PORT` or `coap://HOST:PORT` (UDP) and `coap+tcp://HOST:PORT` (TCP).
pub(crate) fn parse_listen(s: &str) -> Result<Listen, String> {
    let (tcp, rest) = if let Some(r) = s.strip_prefix("coap+tcp://") {
        (true, r)
    } else if let Some(r) = s.strip_prefix("coap://") {
        (false, r)
    } else if s.contains("://") {
        return Err("only coap:// (UDP) and coap+tcp:// (TCP) can be listened on".into());
    } else {
        (false, s)
    };
    let rest = rest.trim_end_matches('/');
    let addr = rest
        .to_socket_addrs()
        .map_err(|e| format!("{rest}: {e}"))?
        .next()
        .ok_or_else(|| format!("{rest}: no address"))?;
    Ok(if tcp {
        Listen::Tcp(addr)
    } else {
        Listen::Udp(addr)
    })
}

/// The endpoint's randomness (Message IDs, tokens, retransmission jitter, Echo values), from
/// the operating system.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OsRandom;

impl RandomSource for OsRandom {
    fn next_u32(&mut self) -> u32 {
        // `OsRng` fails only when the OS has no entropy source at all; the binary cannot run
        // a protocol safely without one, so a panic there is the honest outcome.
        rand_core::OsRng.next_u32()
    }
}

/// Errors of the I/O layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum NetError {
    /// Binding a UDP socket or TCP listener failed.
    #[error("cannot bind {what} {addr}: {source}")]
    Bind {
        /// `"UDP socket"` or `"TCP listener"`.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Connecting to a server failed.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// [`DriverConfig::max_connections`] connections are open.
    #[error("{capacity} TCP connections are already open")]
    TooManyConnections {
        /// The configured bound.
        capacity: usize,
    },
    /// The endpoint refused the configuration or the connection.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The tokio runtime could not be built.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(std::io::Error),
}

/// Whether the driver goes on after an application callback.
pub(crate) type Flow = ControlFlow<()>;
