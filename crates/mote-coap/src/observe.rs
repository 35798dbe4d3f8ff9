//! Observing resources (RFC 7641; RFC 8323 §7 for reliable transports).
//!
//! * The Observe option value codec: a uint of 0–3 bytes (24-bit sequence numbers).
//! * Register (0) and deregister (1) in GET/FETCH requests (RFC 7641 §2).
//! * The notification freshness rule of RFC 7641 §3.4 as a pure function, [`is_newer`], and a
//!   small tracker, [`NotificationOrder`], that applies it per observation.
//!
//! Times are [`Duration`]s since any fixed epoch the caller chooses (a monotonic clock).
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::observe::{is_newer, Notification};
//!
//! let t = Duration::from_secs(10);
//! let old = Notification { value: 0xFF_FFF0, received_at: t };
//! // 5 wrapped around past 2^24: still newer, because the distance is below 2^23.
//! assert!(is_newer(&old, &Notification { value: 5, received_at: t }));
//! // Reordered: an older value arriving later is not newer ...
//! assert!(!is_newer(&old, &Notification { value: 0xFF_0000, received_at: t }));
//! // ... unless more than 128 seconds passed.
//! let late = t + Duration::from_secs(129);
//! assert!(is_newer(&old, &Notification { value: 0xFF_0000, received_at: late }));
//! ```

#![deny(clippy::indexing_slicing)]

use core::time::Duration;

use crate::message::Message;
use crate::option::{OptionNumber, OptionRef};

/// Largest Observe value: option values are 24-bit (RFC 7641 §2).
pub const MAX_VALUE: u32 = 0x00FF_FFFF;

/// Observe value of a registration request (RFC 7641 §2).
pub const REGISTER: u32 = 0;

/// Observe value of a deregistration request (RFC 7641 §2).
pub const DEREGISTER: u32 = 1;

/// The window after which a notification is newer whatever its number (RFC 7641 §3.4).
pub const REORDERING_WINDOW: Duration = Duration::from_secs(128);

/// Half the sequence-number space: 2^23 (RFC 7641 §3.4).
const HALF: u32 = 1 << 23;

/// Errors of the Observe option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ObserveError {
    /// An Observe option value longer than 3 bytes (RFC 7641 §2).
    #[error("Observe option value is {len} bytes long; at most 3 bytes are allowed (RFC 7641 §2)")]
    ValueTooLong {
        /// Length of the offending value.
        len: usize,
    },
    /// A value above 2^24 − 1 given to the encoder.
    #[error("Observe value {value} does not fit in 24 bits (RFC 7641 §2)")]
    ValueTooLarge {
        /// The value given.
        value: u32,
    },
}

/// Decodes an Observe option value (0–3 bytes).
///
/// # Errors
/// [`ObserveError::ValueTooLong`] for 4 or more bytes.
pub fn decode(value: &[u8]) -> Result<u32, ObserveError> {
    if value.len() > 3 {
        return Err(ObserveError::ValueTooLong { len: value.len() });
    }
    Ok(value.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

/// Length of the minimal encoding of `value` (0–3 bytes).
///
/// # Errors
/// [`ObserveError::ValueTooLarge`] above 2^24 − 1.
pub fn encoded_len(value: u32) -> Result<usize, ObserveError> {
    match value {
        0 => Ok(0),
        1..=0xFF => Ok(1),
        0x100..=0xFFFF => Ok(2),
        0x1_0000..=MAX_VALUE => Ok(3),
        _ => Err(ObserveError::ValueTooLarge { value }),
    }
}

/// The minimal encoding of `value` (RFC 7252 §3.2 uint) as a fixed array and its length.
///
/// # Errors
/// [`ObserveError::ValueTooLarge`] above 2^24 − 1.
pub fn encode(value: u32) -> Result<([u8; 3], usize), ObserveError> {
    let len = encoded_len(value)?;
    let mut out = [0u8; 3];
    for (dst, src) in out.iter_mut().zip(value.to_be_bytes().iter().skip(4 - len)) {
        *dst = *src;
    }
    Ok((out, len))
}

/// The Observe option among `options` (of a UDP message or a TCP frame); `Ok(None)` when
/// absent.
///
/// # Errors
/// As [`decode`].
pub fn from_options<'a>(
    options: impl IntoIterator<Item = OptionRef<'a>>,
) -> Result<Option<u32>, ObserveError> {
    options
        .into_iter()
        .find(|o| o.number == OptionNumber::OBSERVE)
        .map(|o| decode(o.value))
        .transpose()
}

/// The Observe option of a UDP message; `Ok(None)` when absent.
///
/// # Errors
/// As [`decode`].
pub fn from_message(message: &Message<'_>) -> Result<Option<u32>, ObserveError> {
    from_options(message.options())
}

/// The meaning of an Observe option in a GET or FETCH request (RFC 7641 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObserveRequest {
    /// 0: add the client to the list of observers.
    Register,
    /// 1: remove the client from the list of observers.
    Deregister,
}

impl ObserveRequest {
    /// Interprets a request's Observe value; other values have no defined meaning in
    /// requests (`None`: the server treats the request as a plain GET).
    #[must_use]
    pub const fn from_value(value: u32) -> Option<Self> {
        match value {
            REGISTER => Some(Self::Register),
            DEREGISTER => Some(Self::Deregister),
            _ => None,
        }
    }

    /// The option value to send.
    #[must_use]
    pub const fn value(self) -> u32 {
        match self {
            Self::Register => REGISTER,
            Self::Deregister => DEREGISTER,
        }
    }
}

/// A received notification: its Observe value and when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification {
    /// The Observe option value (24-bit).
    pub value: u32,
    /// Local receive time.
    pub received_at: Duration,
}

/// RFC 7641 §3.4: whether the notification `v2` (received at T2) is newer than `v1`
/// (received at T1):
///
/// ```text
/// (V1 < V2 and V2 - V1 < 2^23) or
/// (V1 > V2 and V1 - V2 > 2^23) or
/// (T2 > T1 + 128 seconds)
/// ```
///
/// Values are taken modulo 2^24.
#[must_use]
pub fn is_newer(v1: &Notification, v2: &Notification) -> bool {
    let a = v1.value & MAX_VALUE;
    let b = v2.value & MAX_VALUE;
    (a < b && b - a < HALF)
        || (a > b && a - b > HALF)
        || v2.received_at > v1.received_at.saturating_add(REORDERING_WINDOW)
}

/// The transport an observation runs over: over reliable transports the Observe value of
/// notifications MUST be ignored (RFC 8323 §7.1) because TCP already orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// CoAP over UDP/DTLS: apply RFC 7641 §3.4.
    Unreliable,
    /// CoAP over TCP/TLS/WebSockets: every notification is the newest.
    Reliable,
}

/// Per-observation reordering filter: remembers the newest notification and tells whether a
/// new one supersedes it (RFC 7641 §3.4; RFC 8323 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationOrder {
    transport: Transport,
    latest: Option<Notification>,
}

impl NotificationOrder {
    /// A filter that has seen no notification yet.
    #[must_use]
    pub const fn new(transport: Transport) -> Self {
        Self {
            transport,
            latest: None,
        }
    }

    /// Accepts `n` if it is newer than every notification seen so far (and records it);
    /// returns `false` for a stale (reordered) notification, which the client must not use to
    /// replace the stored representation.
    pub fn accept(&mut self, n: Notification) -> bool {
        let fresh = match (self.transport, self.latest) {
            (Transport::Reliable, _) | (_, None) => true,
            (Transport::Unreliable, Some(latest)) => is_newer(&latest, &n),
        };
        if fresh {
            self.latest = Some(n);
        }
        fresh
    }

    /// The newest notification accepted so far.
    #[must_use]
    pub const fn latest(&self) -> Option<Notification> {
        self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(value: u32, secs: u64) -> Notification {
        Notification {
            value,
            received_at: Duration::from_secs(secs),
        }
    }

    #[test]
    fn codec_bounds() {
        assert_eq!(decode(&[]), Ok(0));
        assert_eq!(decode(&[0x12, 0x34, 0x56]), Ok(0x12_3456));
        assert_eq!(
            decode(&[0, 0, 0, 1]),
            Err(ObserveError::ValueTooLong { len: 4 })
        );
        assert_eq!(encode(0), Ok(([0; 3], 0)));
        assert_eq!(encode(0x01_0000), Ok(([1, 0, 0], 3)));
        assert_eq!(
            encode(1 << 24),
            Err(ObserveError::ValueTooLarge { value: 1 << 24 })
        );
    }

    #[test]
    fn freshness_boundaries() {
        let half = 1u32 << 23;
        // V1 < V2 and V2 - V1 < 2^23.
        assert!(is_newer(&n(0, 0), &n(half - 1, 0)));
        assert!(!is_newer(&n(0, 0), &n(half, 0)));
        // V1 > V2 and V1 - V2 > 2^23.
        assert!(is_newer(&n(half + 1, 0), &n(0, 0)));
        assert!(!is_newer(&n(half, 0), &n(0, 0)));
        // Equal values are not newer.
        assert!(!is_newer(&n(7, 0), &n(7, 0)));
        // T2 > T1 + 128 s, strictly.
        assert!(!is_newer(&n(7, 0), &n(7, 128)));
        let just_after = Notification {
            value: 7,
            received_at: Duration::new(128, 1),
        };
        assert!(is_newer(&n(7, 0), &just_after));
    }

    #[test]
    fn order_filter() {
        let mut f = NotificationOrder::new(Transport::Unreliable);
        assert!(f.accept(n(10, 0)));
        assert!(!f.accept(n(9, 1)));
        assert!(f.accept(n(11, 2)));
        let mut tcp = NotificationOrder::new(Transport::Reliable);
        assert!(tcp.accept(n(10, 0)));
        assert!(tcp.accept(n(0, 0)));
    }
}
