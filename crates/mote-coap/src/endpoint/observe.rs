//! Observe (RFC 7641) for the endpoint: the bounded observer registry of the server role and
//! the notification ordering and re-registration of the client role.
//!
//! Both halves are sans-IO: they never send anything themselves. The endpoint feeds them the
//! requests, responses, Acknowledgements, Resets and timeouts it sees, passes `now`, and gets
//! back decisions and plans that say which message to send with which Observe value and type.
//!
//! * Server role — [`ObserverRegistry`]: registration (RFC 7641 §4.1) bounded in total, per
//!   peer and per resource ([`RegistryConfig`]); the sequence numbers of notifications (§4.4);
//!   the Confirmable/Non-confirmable decision, at least one Confirmable notification every
//!   24 hours (§4.5) and superseding of an outstanding Confirmable notification (§4.5.2);
//!   removal on Reset, on a Confirmable notification that times out (§3.6, §4.5), on
//!   deregistration (§3.6), on a non-2.xx notification (§4.2) and when a reliable connection
//!   closes (RFC 8323 §7.4).
//! * Client role — [`ObservationClient`]: the reordering rule of RFC 7641 §3.4 per observation
//!   (through [`NotificationOrder`](crate::observe::NotificationOrder)), freshness and
//!   re-registration after Max-Age (§3.3.1), explicit and passive cancellation (§3.6), bounded
//!   by [`ClientConfig::max_observations`].
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::code::{Code, MessageType};
//! use mote_coap::endpoint::observe::{
//!     Delivery, ObserveDecision, ObserverRegistry, RegistryConfig, ResourceKey,
//! };
//! use mote_coap::message::{Message, OwnedMessage};
//! use mote_coap::observe::Transport;
//! use mote_coap::option::OptionNumber;
//!
//! let mut registry = ObserverRegistry::<&str, ()>::new(RegistryConfig::default());
//! let get = OwnedMessage::new(MessageType::Con, Code::GET, 0x1234)
//!     .with_token([0xAB])
//!     .with_uint_option(OptionNumber::OBSERVE, 0)
//!     .with_option(OptionNumber::URI_PATH, "temp")
//!     .to_vec()
//!     .unwrap();
//! let get = Message::decode(&get).unwrap();
//! let now = Duration::ZERO;
//! let ObserveDecision::Registered { sequence, .. } =
//!     registry.handle_request(&"peer-a", &get, Transport::Unreliable, now, || ()).unwrap()
//! else {
//!     panic!("not registered");
//! };
//! // The response carries Observe = `sequence`; the next notification a larger one.
//! let plans: Vec<_> = registry.notify(&ResourceKey::from_path("/temp"), now).collect();
//! assert_eq!(plans.len(), 1);
//! assert_eq!(plans[0].sequence, Some(sequence + 1));
//! assert_eq!(plans[0].delivery, Delivery::NonConfirmable);
//! ```

#![deny(clippy::indexing_slicing)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::code::Code;
use crate::content_format::ContentFormat;
use crate::error::OptionError;
use crate::message::Message;
use crate::observe::ObserveError;
use crate::option::{OptionNumber, OptionRef};

mod client;
mod registry;

pub use client::{ClientConfig, NotificationVerdict, ObservationClient, ObservationHandle};
pub use registry::{
    Delivery, NotificationPlan, NotifyOptions, ObserveDecision, ObserverHandle, ObserverRegistry,
    RegistryConfig,
};

/// Errors of the endpoint's Observe components: bounds that are reached, and requests or
/// notifications whose options cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ObservationError {
    /// The registry holds [`RegistryConfig::max_observers`] registrations.
    #[error("the observer registry is full ({limit} observers in total)")]
    TooManyObservers {
        /// The configured bound.
        limit: usize,
    },
    /// The peer already has [`RegistryConfig::max_observers_per_peer`] registrations.
    #[error("the peer already observes {limit} times (per-peer bound)")]
    TooManyObserversForPeer {
        /// The configured bound.
        limit: usize,
    },
    /// The resource already has [`RegistryConfig::max_observers_per_resource`] observers.
    #[error("the resource already has {limit} observers (per-resource bound)")]
    TooManyObserversForResource {
        /// The configured bound.
        limit: usize,
    },
    /// The request's token is longer than the registry stores ([`RegistryConfig::max_token_len`]
    /// or [`ClientConfig::max_token_len`]).
    #[error("token of {len} bytes is longer than the {limit} bytes an observation may keep")]
    TokenTooLong {
        /// The token's length.
        len: usize,
        /// The configured bound.
        limit: usize,
    },
    /// The client already tracks [`ClientConfig::max_observations`] observations.
    #[error("the client already tracks {limit} observations")]
    TooManyObservations {
        /// The configured bound.
        limit: usize,
    },
    /// The client already has an observation with this peer and token: a token identifies
    /// one observation per peer (RFC 7641 §3.1, RFC 7252 §5.3.1).
    #[error("an observation with this peer and token already exists")]
    TokenInUse,
    /// The Observe option of a message is malformed (RFC 7641 §2).
    #[error("bad Observe option")]
    Observe(#[from] ObserveError),
    /// A Uri-Path, Uri-Query, Accept or Max-Age option cannot be read (RFC 7252 §5.10).
    #[error("bad option")]
    Option(#[from] OptionError),
}

/// What a registration observes: the target resource of the request (its Uri-Path and
/// Uri-Query options, RFC 7252 §6.4) and the representation format it asked for (Accept,
/// RFC 7252 §5.10.4), because RFC 7641 §4.1 keys an observer entry by the target resource and
/// a notification must use the format of the registration.
///
/// Uri-Host and Uri-Port are not part of the key (a server with virtual hosts keys them itself,
/// e.g. in the peer type or in separate registries), nor is the payload of a FETCH request.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    path: Vec<String>,
    query: Vec<String>,
    accept: Option<ContentFormat>,
}

impl ResourceKey {
    /// The key of the root resource (no path segments, no query, no Accept).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            path: Vec::new(),
            query: Vec::new(),
            accept: None,
        }
    }

    /// The key of a path written as `/a/b` (the leading slash is optional; empty segments
    /// between slashes are kept, a single trailing or leading slash is not a segment).
    #[must_use]
    pub fn from_path(path: &str) -> Self {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let path = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').map(String::from).collect()
        };
        Self {
            path,
            query: Vec::new(),
            accept: None,
        }
    }

    /// Adds one Uri-Query argument (`name=value`).
    #[must_use]
    pub fn with_query(mut self, argument: &str) -> Self {
        self.query.push(String::from(argument));
        self
    }

    /// Sets the Accept format.
    #[must_use]
    pub const fn with_accept(mut self, accept: ContentFormat) -> Self {
        self.accept = Some(accept);
        self
    }

    /// The key of a request's options: its Uri-Path and Uri-Query values in order, and Accept.
    ///
    /// # Errors
    /// [`ObservationError::Option`] when a Uri-Path or Uri-Query value is not UTF-8 or the
    /// Accept value is longer than 2 bytes.
    pub fn from_options<'a>(
        options: impl IntoIterator<Item = OptionRef<'a>>,
    ) -> Result<Self, ObservationError> {
        let mut key = Self::new();
        for option in options {
            match option.number {
                OptionNumber::URI_PATH => key.path.push(String::from(option.as_str()?)),
                OptionNumber::URI_QUERY => key.query.push(String::from(option.as_str()?)),
                OptionNumber::ACCEPT => {
                    let value = option.as_uint()?;
                    let value = u16::try_from(value).map_err(|_| OptionError::UintTooLong {
                        number: OptionNumber::ACCEPT,
                        len: option.value.len(),
                    })?;
                    key.accept = Some(ContentFormat(value));
                }
                _ => {}
            }
        }
        Ok(key)
    }

    /// The key of a request (see [`Self::from_options`]).
    ///
    /// # Errors
    /// As [`Self::from_options`].
    pub fn from_request(request: &Message<'_>) -> Result<Self, ObservationError> {
        Self::from_options(request.options())
    }

    /// The Uri-Path segments.
    #[must_use]
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The Uri-Query arguments.
    #[must_use]
    pub fn query(&self) -> &[String] {
        &self.query
    }

    /// The Accept format, if the registration asked for one.
    #[must_use]
    pub const fn accept(&self) -> Option<ContentFormat> {
        self.accept
    }

    /// Whether the key's path equals `path` (written as for [`Self::from_path`]), whatever its
    /// query and Accept: the set of observers a change of that resource concerns.
    #[must_use]
    pub fn has_path(&self, path: &str) -> bool {
        Self::from_path(path).path == self.path
    }
}

impl fmt::Debug for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.path {
            write!(f, "/{segment}")?;
        }
        if self.path.is_empty() {
            f.write_str("/")?;
        }
        for (i, argument) in self.query.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(argument)?;
        }
        if let Some(accept) = self.accept {
            write!(f, " (Accept {})", accept.0)?;
        }
        Ok(())
    }
}

/// Whether `code` is a success (2.xx) response code: only those keep an observation alive
/// (RFC 7641 §3.2, §4.2).
pub(crate) const fn is_success(code: Code) -> bool {
    code.class() == 2
}

#[cfg(test)]
mod tests {
    use alloc::format;

    use super::*;

    #[test]
    fn resource_key_paths() {
        assert_eq!(ResourceKey::from_path("/"), ResourceKey::new());
        assert_eq!(ResourceKey::from_path(""), ResourceKey::new());
        assert_eq!(
            ResourceKey::from_path("a/b"),
            ResourceKey::from_path("/a/b")
        );
        assert_eq!(ResourceKey::from_path("/a/b").path(), ["a", "b"]);
        // An empty segment is a segment (RFC 7252 §6.4: "/a//b" has three Uri-Path options).
        assert_eq!(ResourceKey::from_path("/a//b").path(), ["a", "", "b"]);
        let key = ResourceKey::from_path("/a/b")
            .with_query("x=1")
            .with_query("y")
            .with_accept(ContentFormat(60));
        assert!(key.has_path("/a/b") && !key.has_path("/a"));
        assert_eq!(format!("{key:?}"), "/a/b?x=1&y (Accept 60)");
        assert_eq!(format!("{:?}", ResourceKey::new()), "/");
    }

    #[test]
    fn resource_key_rejects_bad_options() {
        let bad_utf8 = [OptionRef::new(OptionNumber::URI_PATH, &[0xFF])];
        assert!(matches!(
            ResourceKey::from_options(bad_utf8),
            Err(ObservationError::Option(_))
        ));
        let wide_accept = [OptionRef::new(OptionNumber::ACCEPT, &[1, 0, 0])];
        assert!(matches!(
            ResourceKey::from_options(wide_accept),
            Err(ObservationError::Option(OptionError::UintTooLong { .. }))
        ));
    }
}
