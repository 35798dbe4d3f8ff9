//! The endpoint's CoAP over TCP entry points (RFC 8323), in one place.
//!
//! TCP SWITCH: the endpoint on this branch speaks UDP only; its TCP methods
//! (`open_connection`, `handle_stream`, `connection_closed`) are being added on another
//! branch. Every TCP call of the driver goes through [`StreamEndpoint`], so switching TCP on
//! is replacing the three bodies below with the endpoint's methods (and
//! [`StreamEndpoint::AVAILABLE`] with `true`). Until then accepted connections are held open
//! and their bytes are consumed and discarded, which keeps the socket plumbing (accept,
//! limits, readers, writers, close) exercised.

use core::time::Duration;

use mote_coap::endpoint::Endpoint;
use mote_coap::endpoint::tcp_session::ConnectionRole;
use mote_coap::transmission::RandomSource;

use super::{NetError, Remote};

/// What the driver needs of the endpoint for a TCP connection.
pub(crate) trait StreamEndpoint {
    /// Whether the endpoint really speaks CoAP over TCP (the driver refuses outgoing
    /// `coap+tcp://` connections while it does not).
    const AVAILABLE: bool;

    /// A transport connection to `peer` was established; the session sends its CSM
    /// (RFC 8323 §3.3) as the initiator, or waits for the peer's as the acceptor.
    fn open_connection(
        &mut self,
        now: Duration,
        peer: Remote,
        role: ConnectionRole,
    ) -> Result<(), NetError>;

    /// Bytes read from `peer`'s connection; returns how many were taken. The driver offers
    /// the rest again after draining events and transmits (back-pressure).
    fn handle_stream(&mut self, now: Duration, peer: Remote, bytes: &[u8]) -> usize;

    /// `peer`'s connection is gone (EOF, error, or closed by the driver).
    fn connection_closed(&mut self, now: Duration, peer: Remote);
}

impl<R: RandomSource> StreamEndpoint for Endpoint<Remote, R> {
    const AVAILABLE: bool = false;

    fn open_connection(
        &mut self,
        _now: Duration,
        _peer: Remote,
        _role: ConnectionRole,
    ) -> Result<(), NetError> {
        // TCP SWITCH: `self.open_connection(now, peer, role)?; Ok(())`
        Ok(())
    }

    fn handle_stream(&mut self, _now: Duration, _peer: Remote, bytes: &[u8]) -> usize {
        // TCP SWITCH: `self.handle_stream(now, peer, bytes)`
        bytes.len()
    }

    fn connection_closed(&mut self, _now: Duration, _peer: Remote) {
        // TCP SWITCH: `self.connection_closed(now, peer)`
    }
}
