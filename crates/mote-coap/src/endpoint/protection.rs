//! The protection layer between the message layer and request/response processing, where
//! OSCORE sits (RFC 8613 §2), without this crate depending on an OSCORE implementation.
//!
//! The [`Endpoint`](super::Endpoint) calls a [`Protection`] on every request and response:
//! * server role: deduplication and ACK/RST work on the *outer* message; then
//!   [`Protection::unprotect_request`] gives the *inner* request, on which critical options,
//!   Echo (bound to the [`Protection::Identity`]), block-wise and Observe run; the response
//!   is protected once with [`Protection::protect_response`] and that protected message is
//!   what a duplicate of the request gets again (byte-identical, RFC 7252 §4.5);
//! * client role: every request the endpoint sends (each block, an Echo retry, RFC 9175
//!   §2.3) is protected anew with [`Protection::protect_request`] (a new Partial IV), and
//!   each response is unprotected with [`Protection::unprotect_response`] before block-wise,
//!   Observe and Echo look at it.
//!
//! [`NoProtection`] is the default: every message is plain.

use core::time::Duration;

use super::blockwise::MessageParts;
use crate::message::Message;

/// Why a message could not be protected or unprotected. Deliberately opaque (RFC 8613 §8:
/// no detail on which check failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectionError {
    /// The message failed verification or could not be protected.
    #[error("message protection failed")]
    Failed,
}

/// A protection layer such as OSCORE (RFC 8613), called by the endpoint between the message
/// layer and request/response processing.
///
/// The endpoint is generic over it (`Endpoint<P, R, X = NoProtection>`) rather than holding
/// a trait object: the associated `Binding` and `Identity` types then appear in the
/// endpoint's events without boxing or downcasting, and the plain endpoint pays nothing.
pub trait Protection<P> {
    /// What a response must be protected with: the request's key id, Partial IV and context
    /// (RFC 8613 §8.3).
    type Binding: Clone + core::fmt::Debug;
    /// The security context a request arrived in; Echo values are bound to it (RFC 9175
    /// §2.3) and [`crate::endpoint::IncomingRequest::identity`] carries it.
    type Identity: Clone + Eq + Ord + core::fmt::Debug;

    /// Unprotects a request received from `peer`. `Ok(None)`: the message carries no
    /// protection and is processed as plain; `Err(response)`: send this error response as is
    /// (e.g. 4.01 for a failed verification, RFC 8613 §8.2).
    ///
    /// # Errors
    /// The error response to send, unprotected.
    #[allow(clippy::type_complexity)]
    fn unprotect_request(
        &mut self,
        now: Duration,
        peer: &P,
        outer: &Message<'_>,
    ) -> Result<Option<(MessageParts, Self::Binding, Self::Identity)>, MessageParts>;

    /// Protects a response (or, with `notification`, an Observe notification, which needs its
    /// own Partial IV, RFC 8613 §8.3) to the request that gave `binding`.
    ///
    /// # Errors
    /// [`ProtectionError`]; the endpoint then answers 5.00 unprotected.
    fn protect_response(
        &mut self,
        binding: &Self::Binding,
        inner: &MessageParts,
        notification: bool,
    ) -> Result<MessageParts, ProtectionError>;

    /// Protects a request to `peer` under `identity`; returns the outer message and what its
    /// response must be verified with.
    ///
    /// # Errors
    /// [`ProtectionError`] (e.g. the sequence numbers are exhausted).
    fn protect_request(
        &mut self,
        peer: &P,
        identity: &Self::Identity,
        inner: &MessageParts,
    ) -> Result<(MessageParts, Self::Binding), ProtectionError>;

    /// Unprotects a response (or notification) to the request that gave `binding`.
    ///
    /// The endpoint leaves the order of the notifications of a protected observation to
    /// this method: it must refuse a notification that is not newer than every one it
    /// accepted for `binding` (RFC 8613 §7.4.1, by Partial IV), and the endpoint then does
    /// not compare Observe values (RFC 8613 §4.1.3.5.2; RFC 7641 §3.4 applies to plain
    /// observations only).
    ///
    /// # Errors
    /// [`ProtectionError`] when it does not verify.
    fn unprotect_response(
        &mut self,
        binding: &Self::Binding,
        outer: &Message<'_>,
    ) -> Result<MessageParts, ProtectionError>;
}

/// No protection: every message is plain (the default of [`super::Endpoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoProtection;

impl<P> Protection<P> for NoProtection {
    type Binding = ();
    type Identity = ();

    fn unprotect_request(
        &mut self,
        _now: Duration,
        _peer: &P,
        _outer: &Message<'_>,
    ) -> Result<Option<(MessageParts, (), ())>, MessageParts> {
        Ok(None)
    }

    fn protect_response(
        &mut self,
        _binding: &(),
        inner: &MessageParts,
        _notification: bool,
    ) -> Result<MessageParts, ProtectionError> {
        Ok(inner.clone())
    }

    fn protect_request(
        &mut self,
        _peer: &P,
        _identity: &(),
        inner: &MessageParts,
    ) -> Result<(MessageParts, ()), ProtectionError> {
        Ok((inner.clone(), ()))
    }

    fn unprotect_response(
        &mut self,
        _binding: &(),
        outer: &Message<'_>,
    ) -> Result<MessageParts, ProtectionError> {
        Ok(MessageParts::from_message(outer))
    }
}
