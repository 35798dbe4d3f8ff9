//! The endpoint's connection table when the `tcp` feature is off: always empty, so every
//! CoAP over TCP path of the endpoint (RFC 8323) is dead code the compiler drops, and
//! [`Endpoint::open_connection`](super::Endpoint::open_connection) refuses with a capacity of
//! zero.

use core::marker::PhantomData;

use super::tcp_session::TcpSession;

/// A connection table that holds nothing (the `BTreeMap<P, TcpSession>` calls the endpoint
/// makes, all answering "no connection").
#[derive(Debug)]
pub(super) struct NoConnections<P>(PhantomData<P>);

impl<P> NoConnections<P> {
    pub(super) const fn new() -> Self {
        NoConnections(PhantomData)
    }

    #[allow(clippy::unused_self)]
    pub(super) fn len(&self) -> usize {
        0
    }

    #[allow(clippy::unused_self)]
    pub(super) fn contains_key(&self, _: &P) -> bool {
        false
    }

    #[allow(clippy::unused_self)]
    pub(super) fn get(&self, _: &P) -> Option<&TcpSession> {
        None
    }

    #[allow(clippy::unused_self)]
    pub(super) fn get_mut(&mut self, _: &P) -> Option<&mut TcpSession> {
        None
    }

    /// Never called: `open_connection` refuses first.
    #[allow(clippy::unused_self)]
    pub(super) fn insert(&mut self, _: P, _: TcpSession) -> Option<TcpSession> {
        None
    }

    #[allow(clippy::unused_self)]
    pub(super) fn remove(&mut self, _: &P) -> Option<TcpSession> {
        None
    }

    #[allow(clippy::unused_self)]
    pub(super) fn keys(&self) -> core::iter::Empty<&P> {
        core::iter::empty()
    }

    #[allow(clippy::unused_self)]
    pub(super) fn values(&self) -> core::iter::Empty<&TcpSession> {
        core::iter::empty()
    }

    #[allow(clippy::unused_self)]
    pub(super) fn iter_mut(&mut self) -> core::iter::Empty<(&P, &mut TcpSession)> {
        core::iter::empty()
    }
}
