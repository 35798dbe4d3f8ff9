//! Echo and Request-Tag (RFC 9175).
//!
//! * [`EchoValue`] / [`EchoBuf`]: Echo option values, 1–40 opaque bytes (RFC 9175 §2.2.1).
//! * Server-side freshness, sans-IO, following the constructions of RFC 9175 Appendix A:
//!   [`EchoCache`] (method 1, cached random values and timestamps — the caller supplies the
//!   random bytes and the time), [`TimestampEcho`] (method 2, a timestamp with a MAC computed by
//!   a caller-supplied [`EchoMac`]), and [`counter_value`] / [`counter_matches`] (method 3, a
//!   persistent counter for event-based freshness).
//! * Client side: [`client_action`] says whether a response's Echo value must be sent in a
//!   retried request (4.01) or in the next request (RFC 9175 §2.3).
//! * [`RequestTag`]: Request-Tag option values, 0–8 bytes (RFC 9175 §3.2.1), operation matching
//!   for servers ([`same_request_tags`], §3.3) and the choice of a tag for a new block-wise
//!   operation ([`choose_request_tag`], §3.4, §3.5).
//!
//! ```
//! use core::time::Duration;
//! use mote_coap::echo::{EchoCache, EchoError};
//!
//! let mut server: EchoCache<4> = EchoCache::new();
//! let t0 = Duration::from_secs(9);
//! // The caller draws the random bytes (RFC 9175 Appendix A: 72 bits recommended).
//! let challenge = server.issue(&[0x43, 0x74, 0x68, 0x75, 0x6c, 0x68, 0x75, 0x21, 0x05], t0).unwrap();
//! // ... 4.01 with Echo sent, the client repeats the request with the Echo option ...
//! let window = Duration::from_secs(5);
//! assert!(server.verify(challenge.as_bytes(), t0 + Duration::from_secs(1), window).is_ok());
//! assert!(matches!(
//!     server.verify(challenge.as_bytes(), t0 + Duration::from_secs(6), window),
//!     Err(EchoError::Stale { .. })
//! ));
//! ```

#![deny(clippy::indexing_slicing)]

use core::time::Duration;

use crate::message::Message;
use crate::option::OptionNumber;

/// Longest Echo option value (RFC 9175 §2.2.1).
pub const MAX_ECHO_LEN: usize = 40;

/// Longest Request-Tag option value (RFC 9175 §3.2.1).
pub const MAX_REQUEST_TAG_LEN: usize = 8;

/// Errors of Echo and Request-Tag processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EchoError {
    /// An Echo value outside 1–40 bytes (RFC 9175 §2.2.1).
    #[error("Echo option value is {len} bytes long; 1 to 40 bytes are allowed (RFC 9175 §2.2.1)")]
    EchoLength {
        /// Length of the offending value.
        len: usize,
    },
    /// A Request-Tag value longer than 8 bytes (RFC 9175 §3.2.1).
    #[error(
        "Request-Tag option value is {len} bytes long; at most 8 bytes are allowed (RFC 9175 §3.2.1)"
    )]
    RequestTagLength {
        /// Length of the offending value.
        len: usize,
    },
    /// An Echo value this server did not issue (or no longer remembers).
    #[error("Echo value was not issued by this server or has been evicted (RFC 9175 §2.3)")]
    Unknown,
    /// An Echo value issued too long ago for the freshness window.
    #[error(
        "Echo value is {age:?} old, outside the freshness window of {window:?} (RFC 9175 §2.3)"
    )]
    Stale {
        /// Age of the value when checked.
        age: Duration,
        /// The freshness window.
        window: Duration,
    },
    /// A MAC length that cannot fit an Echo value together with the 4-byte timestamp.
    #[error("MAC of {len} bytes does not fit an Echo value with a 4-byte timestamp")]
    MacLength {
        /// The MAC length given.
        len: usize,
    },
    /// Every candidate Request-Tag value is in use by a matchable operation.
    #[error("no Request-Tag value of up to 2 bytes is free for a new operation")]
    NoFreeRequestTag,
}

/// A borrowed Echo option value, 1–40 bytes, opaque to clients (RFC 9175 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EchoValue<'a>(&'a [u8]);

impl<'a> EchoValue<'a> {
    /// Validates the length.
    ///
    /// # Errors
    /// [`EchoError::EchoLength`] outside 1–40 bytes.
    pub const fn new(bytes: &'a [u8]) -> Result<Self, EchoError> {
        if bytes.is_empty() || bytes.len() > MAX_ECHO_LEN {
            return Err(EchoError::EchoLength { len: bytes.len() });
        }
        Ok(Self(bytes))
    }

    /// The option value.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// An owned copy.
    #[must_use]
    pub fn to_buf(&self) -> EchoBuf {
        let mut bytes = [0u8; MAX_ECHO_LEN];
        for (d, s) in bytes.iter_mut().zip(self.0) {
            *d = *s;
        }
        EchoBuf {
            bytes,
            len: self.0.len() as u8,
        }
    }
}

/// An owned Echo option value (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EchoBuf {
    bytes: [u8; MAX_ECHO_LEN],
    len: u8,
}

impl EchoBuf {
    /// Copies a value, validating its length.
    ///
    /// # Errors
    /// [`EchoError::EchoLength`] outside 1–40 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, EchoError> {
        EchoValue::new(bytes).map(|v| v.to_buf())
    }

    /// The option value.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Compares without an early exit on the first differing byte (the length is public).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 9175 Appendix A, method 1: the Echo value is a random byte string; the server keeps
/// a bounded list of the values it issued and when. Suitable for time- and event-based
/// freshness (call [`EchoCache::clear`] when the event happens, or after a loss of time
/// continuity, which the appendix requires).
///
/// Holds at most `N` outstanding values; issuing more evicts the oldest.
#[derive(Debug, Clone)]
pub struct EchoCache<const N: usize> {
    entries: [Option<(EchoBuf, Duration)>; N],
    next: usize,
}

impl<const N: usize> Default for EchoCache<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> EchoCache<N> {
    /// An empty cache.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: [None; N],
            next: 0,
        }
    }

    /// Records and returns a new Echo value made of `random` (drawn by the caller from a
    /// cryptographically secure source), issued at `now`.
    ///
    /// # Errors
    /// [`EchoError::EchoLength`] when `random` is not 1–40 bytes.
    pub fn issue(&mut self, random: &[u8], now: Duration) -> Result<EchoBuf, EchoError> {
        let value = EchoBuf::new(random)?;
        if let Some(slot) = self.entries.get_mut(self.next) {
            *slot = Some((value, now));
            self.next = (self.next + 1) % N;
        }
        Ok(value)
    }

    /// Checks an Echo value received in a request at `now`: it must be one this cache issued,
    /// and `now - t0 < window` (RFC 9175 §2.3). Returns the value's age.
    ///
    /// # Errors
    /// [`EchoError::Unknown`], [`EchoError::Stale`], [`EchoError::EchoLength`].
    pub fn verify(
        &self,
        echo: &[u8],
        now: Duration,
        window: Duration,
    ) -> Result<Duration, EchoError> {
        EchoValue::new(echo)?;
        let issued = self
            .entries
            .iter()
            .flatten()
            .fold(None, |found, (value, t0)| {
                if ct_eq(value.as_bytes(), echo) {
                    Some(*t0)
                } else {
                    found
                }
            })
            .ok_or(EchoError::Unknown)?;
        check_age(issued, now, window)
    }

    /// [`Self::verify`], and on success forgets the value: each issued value then vouches for
    /// one request only (a server that wants no second request on the same value).
    ///
    /// # Errors
    /// As [`Self::verify`]; a failed check forgets nothing.
    pub fn spend(
        &mut self,
        echo: &[u8],
        now: Duration,
        window: Duration,
    ) -> Result<Duration, EchoError> {
        let age = self.verify(echo, now, window)?;
        for entry in &mut self.entries {
            if entry
                .as_ref()
                .is_some_and(|(value, _)| ct_eq(value.as_bytes(), echo))
            {
                *entry = None;
            }
        }
        Ok(age)
    }

    /// Forgets every issued value (an event happened, or time continuity was lost).
    pub fn clear(&mut self) {
        self.entries = [None; N];
        self.next = 0;
    }
}

fn check_age(t0: Duration, now: Duration, window: Duration) -> Result<Duration, EchoError> {
    // A value "issued in the future" means the clock went backwards: not verifiable.
    let age = now.checked_sub(t0).ok_or(EchoError::Unknown)?;
    if age < window {
        Ok(age)
    } else {
        Err(EchoError::Stale { age, window })
    }
}

/// The MAC of RFC 9175 Appendix A method 2 (truncated HMAC-SHA-256 is recommended), provided by
/// the caller so that this crate needs no cryptography.
pub trait EchoMac {
    /// Bytes of MAC placed in the Echo value (at most 36, so the value fits 40 bytes).
    fn mac_len(&self) -> usize;
    /// Computes the MAC over `timestamp` and `context` (e.g. the client's network address,
    /// which Appendix A requires when the Echo also proves reachability), writing exactly
    /// `out.len()` (= [`EchoMac::mac_len`]) bytes.
    fn mac(&self, timestamp: &[u8; 4], context: &[u8], out: &mut [u8]);
}

/// RFC 9175 Appendix A, method 2: the Echo value is a 32-bit timestamp (seconds, big-endian)
/// followed by a MAC over it; the server's only state is the MAC key inside `M`.
#[derive(Debug, Clone)]
pub struct TimestampEcho<M> {
    mac: M,
}

impl<M: EchoMac> TimestampEcho<M> {
    /// A freshness helper using `mac`.
    ///
    /// # Errors
    /// [`EchoError::MacLength`] when the MAC is empty or longer than 36 bytes.
    pub fn new(mac: M) -> Result<Self, EchoError> {
        let len = mac.mac_len();
        if len == 0 || len > MAX_ECHO_LEN - 4 {
            return Err(EchoError::MacLength { len });
        }
        Ok(Self { mac })
    }

    /// The Echo value for time `now` (whole seconds modulo 2^32) bound to `context`.
    #[must_use]
    pub fn issue(&self, now: Duration, context: &[u8]) -> EchoBuf {
        let ts = (now.as_secs() as u32).to_be_bytes();
        let len = 4 + self.mac.mac_len();
        let mut bytes = [0u8; MAX_ECHO_LEN];
        if let Some((head, tail)) = bytes
            .get_mut(..len)
            .and_then(|b| b.split_first_chunk_mut::<4>())
        {
            *head = ts;
            self.mac.mac(&ts, context, tail);
        }
        EchoBuf {
            bytes,
            len: len as u8,
        }
    }

    /// Verifies the MAC of a returned Echo value and that it is younger than `window` at `now`.
    /// Returns the age.
    ///
    /// # Errors
    /// [`EchoError::Unknown`] for a wrong length or MAC, [`EchoError::Stale`].
    pub fn verify(
        &self,
        echo: &[u8],
        now: Duration,
        window: Duration,
        context: &[u8],
    ) -> Result<Duration, EchoError> {
        let (ts, tag) = echo.split_first_chunk::<4>().ok_or(EchoError::Unknown)?;
        if tag.len() != self.mac.mac_len() {
            return Err(EchoError::Unknown);
        }
        let mut expected = [0u8; MAX_ECHO_LEN];
        let expected = expected.get_mut(..tag.len()).ok_or(EchoError::Unknown)?;
        self.mac.mac(ts, context, expected);
        if !ct_eq(expected, tag) {
            return Err(EchoError::Unknown);
        }
        // Rebuild t0 in the epoch of `now`, assuming the value is less than 2^32 s old.
        let now_secs = now.as_secs();
        let t0_low = u64::from(u32::from_be_bytes(*ts));
        let mut t0 = (now_secs & !0xFFFF_FFFF) | t0_low;
        if t0 > now_secs {
            t0 = t0.wrapping_sub(1 << 32);
        }
        let age = Duration::from_secs(now_secs.wrapping_sub(t0));
        if age < window {
            Ok(age)
        } else {
            Err(EchoError::Stale { age, window })
        }
    }
}

/// RFC 9175 Appendix A, method 3: the Echo value is a persistent counter in uint format
/// (minimal big-endian; at least one byte, since an Echo value is never empty).
#[must_use]
pub fn counter_value(counter: u64) -> EchoBuf {
    let be = counter.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count().min(7);
    let mut bytes = [0u8; MAX_ECHO_LEN];
    for (d, s) in bytes.iter_mut().zip(be.iter().skip(skip)) {
        *d = *s;
    }
    EchoBuf {
        bytes,
        len: (8 - skip) as u8,
    }
}

/// Event-based freshness with a counter (RFC 9175 §2.3, Figure 3): the request is fresh when
/// the echoed counter `e0` equals the current value `e1`.
#[must_use]
pub fn counter_matches(echo: &[u8], current: u64) -> bool {
    echo.len() <= 8
        && !echo.is_empty()
        && echo.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)) == current
}

/// What a client does with an Echo option received in a response (RFC 9175 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEchoAction<'a> {
    /// 4.01 (Unauthorized) with Echo: resend the request with this Echo value.
    Retry(EchoValue<'a>),
    /// Any other response with Echo: include the value in the next request to this server.
    NextRequest(EchoValue<'a>),
}

/// Classifies a response (code class and detail, and its Echo option value if any) for the
/// client (RFC 9175 §2.3). `None` when there is no valid Echo option.
#[must_use]
pub fn client_action(class: u8, detail: u8, echo: Option<&[u8]>) -> Option<ClientEchoAction<'_>> {
    let value = EchoValue::new(echo?).ok()?;
    if (class, detail) == (4, 1) {
        Some(ClientEchoAction::Retry(value))
    } else {
        Some(ClientEchoAction::NextRequest(value))
    }
}

/// [`client_action`] for a received response message.
#[must_use]
pub fn client_action_for<'a>(response: &Message<'a>) -> Option<ClientEchoAction<'a>> {
    let code = response.code();
    let echo = response.option(OptionNumber::ECHO).map(|o| o.value);
    client_action(code.class(), code.detail(), echo)
}

/// The values of every Request-Tag option of a message, in order (RFC 9175 §3.2: repeatable).
pub fn request_tags<'a>(message: &Message<'a>) -> impl Iterator<Item = &'a [u8]> + use<'a> {
    message
        .options_with(OptionNumber::REQUEST_TAG)
        .map(|o| o.value)
}

/// A Request-Tag option value, 0–8 opaque bytes (RFC 9175 §3.2.1). The empty value is a value
/// distinct from the absent option (§3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestTag<'a>(&'a [u8]);

impl<'a> RequestTag<'a> {
    /// Validates the length.
    ///
    /// # Errors
    /// [`EchoError::RequestTagLength`] above 8 bytes.
    pub const fn new(bytes: &'a [u8]) -> Result<Self, EchoError> {
        if bytes.len() > MAX_REQUEST_TAG_LEN {
            return Err(EchoError::RequestTagLength { len: bytes.len() });
        }
        Ok(Self(bytes))
    }

    /// The option value.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// RFC 9175 §3.3: two block-wise requests can belong to the same operation only if they carry
/// the same list of Request-Tag options (the option is repeatable; absent ≠ empty).
#[must_use]
pub fn same_request_tags<'x, 'y>(
    a: impl IntoIterator<Item = &'x [u8]>,
    b: impl IntoIterator<Item = &'y [u8]>,
) -> bool {
    let mut a = a.into_iter();
    let mut b = b.into_iter();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// RFC 9175 §3.4: Request-Tag options in a request without a Block1 or Block2 option MUST be
/// ignored; this says whether they are meaningful.
#[must_use]
pub const fn request_tag_applies(has_block1: bool, has_block2: bool) -> bool {
    has_block1 || has_block2
}

/// RFC 9175 §3.4/§3.5: whether a new block-wise request operation needs a Request-Tag option,
/// given the Request-Tags (`None`: absent) of the matchable operations that have not concluded:
/// exactly when one of them uses the absent option, which must not be recycled.
#[must_use]
pub fn request_tag_needed<'x>(in_use: impl IntoIterator<Item = Option<&'x [u8]>>) -> bool {
    in_use.into_iter().any(|t| t.is_none())
}

/// A Request-Tag choice for a new block-wise request operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestTagChoice {
    /// Send no Request-Tag option (the most compact choice, §3.4).
    Absent,
    /// Send one Request-Tag option with this value (`len` bytes of `bytes`).
    Tag {
        /// Value bytes (the first `len` are used).
        bytes: [u8; 2],
        /// Value length, 0–2.
        len: u8,
    },
}

impl RequestTagChoice {
    /// The option value, `None` for [`RequestTagChoice::Absent`].
    #[must_use]
    pub fn value(&self) -> Option<&[u8]> {
        match self {
            Self::Absent => None,
            Self::Tag { bytes, len } => bytes.get(..usize::from(*len)),
        }
    }
}

/// RFC 9175 §3.4/§3.5: picks the Request-Tag for a new block-wise request operation.
///
/// `in_use` lists the Request-Tag (or `None` for the absent option) of every operation that is
/// *matchable* to the new one (same endpoint and same options apart from elective NoCacheKey
/// and Block options) and has not *concluded* (§3.5.1: a client MUST NOT recycle a tag before
/// then; §3.5.2: concurrent operations need distinct tags). A Request-Tag is needed exactly
/// when the absent option is in use; then the shortest free value is chosen (the empty value,
/// then one byte, then two bytes — "clients are encouraged to generate compact messages").
///
/// # Errors
/// [`EchoError::NoFreeRequestTag`] when every value of up to 2 bytes is in use.
pub fn choose_request_tag<'x, I>(in_use: I) -> Result<RequestTagChoice, EchoError>
where
    I: IntoIterator<Item = Option<&'x [u8]>>,
    I::IntoIter: Clone,
{
    let in_use = in_use.into_iter();
    let taken = |candidate: Option<&[u8]>| in_use.clone().any(|t| t == candidate);
    if !taken(None) {
        return Ok(RequestTagChoice::Absent);
    }
    let candidates = core::iter::once((0u8, [0u8; 2]))
        .chain((0..=255u8).map(|b| (1, [b, 0])))
        .chain((0..=u16::MAX).map(|v| (2, v.to_be_bytes())));
    for (len, bytes) in candidates {
        let choice = RequestTagChoice::Tag { bytes, len };
        if !taken(choice.value()) {
            return Ok(choice);
        }
    }
    Err(EchoError::NoFreeRequestTag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(EchoValue::new(&[]), Err(EchoError::EchoLength { len: 0 }));
        assert!(EchoValue::new(&[0; 40]).is_ok());
        assert_eq!(
            EchoValue::new(&[0; 41]),
            Err(EchoError::EchoLength { len: 41 })
        );
        assert!(RequestTag::new(&[]).is_ok());
        assert!(RequestTag::new(&[0; 8]).is_ok());
        assert_eq!(
            RequestTag::new(&[0; 9]),
            Err(EchoError::RequestTagLength { len: 9 })
        );
    }

    #[test]
    fn cache_evicts_oldest_and_clears() {
        let mut c: EchoCache<2> = EchoCache::new();
        let t = Duration::from_secs(1);
        let w = Duration::from_secs(10);
        let a = c.issue(b"a", t).unwrap();
        let b = c.issue(b"b", t).unwrap();
        let _ = c.issue(b"c", t).unwrap();
        assert_eq!(c.verify(a.as_bytes(), t, w), Err(EchoError::Unknown));
        assert_eq!(c.verify(b.as_bytes(), t, w), Ok(Duration::ZERO));
        c.clear();
        assert_eq!(c.verify(b.as_bytes(), t, w), Err(EchoError::Unknown));
        // A clock that went backwards cannot verify.
        let d = c.issue(b"d", Duration::from_secs(5)).unwrap();
        assert_eq!(c.verify(d.as_bytes(), t, w), Err(EchoError::Unknown));
    }

    #[test]
    fn spend_forgets_only_a_verified_value() {
        let mut c: EchoCache<4> = EchoCache::new();
        let t = Duration::from_secs(1);
        let w = Duration::from_secs(10);
        let a = c.issue(b"a", t).unwrap();
        let b = c.issue(b"b", t).unwrap();
        // Stale: not spent, and still unusable later only because of its age.
        assert!(matches!(
            c.spend(a.as_bytes(), Duration::from_secs(20), w),
            Err(EchoError::Stale { .. })
        ));
        assert_eq!(c.spend(a.as_bytes(), t, w), Ok(Duration::ZERO));
        assert_eq!(c.spend(a.as_bytes(), t, w), Err(EchoError::Unknown));
        // The other value is untouched.
        assert_eq!(c.verify(b.as_bytes(), t, w), Ok(Duration::ZERO));
    }

    struct XorMac(u8);
    impl EchoMac for XorMac {
        fn mac_len(&self) -> usize {
            8
        }
        fn mac(&self, ts: &[u8; 4], ctx: &[u8], out: &mut [u8]) {
            for (i, o) in out.iter_mut().enumerate() {
                *o = self.0 ^ ts[i % 4] ^ ctx.get(i).copied().unwrap_or(0x5a);
            }
        }
    }

    #[test]
    fn timestamp_method() {
        let s = TimestampEcho::new(XorMac(0x33)).unwrap();
        let t0 = Duration::from_secs(9);
        let v = s.issue(t0, b"addr");
        // RFC 9175 Figure 2: the value starts with t0 = 9 as 4 bytes, then the MAC.
        assert_eq!(v.as_bytes()[..4], [0, 0, 0, 9]);
        assert_eq!(v.as_bytes().len(), 12);
        let w = Duration::from_secs(5);
        assert_eq!(
            s.verify(v.as_bytes(), Duration::from_secs(10), w, b"addr"),
            Ok(Duration::from_secs(1))
        );
        assert_eq!(
            s.verify(v.as_bytes(), Duration::from_secs(10), w, b"other"),
            Err(EchoError::Unknown)
        );
        assert!(matches!(
            s.verify(v.as_bytes(), Duration::from_secs(14), w, b"addr"),
            Err(EchoError::Stale { .. })
        ));
        let mut forged = v;
        forged.bytes[3] = 8;
        assert_eq!(
            s.verify(forged.as_bytes(), Duration::from_secs(10), w, b"addr"),
            Err(EchoError::Unknown)
        );
        assert!(TimestampEcho::new(XorMac(0)).is_ok());
    }

    #[test]
    fn counter_method_figure_3() {
        // RFC 9175 Figure 3: Echo 0x05 for e0 = 5; fresh while e1 = 5; then 0x06.
        assert_eq!(counter_value(5).as_bytes(), [0x05]);
        assert!(counter_matches(&[0x05], 5));
        assert!(!counter_matches(&[0x05], 6));
        assert_eq!(counter_value(6).as_bytes(), [0x06]);
        assert_eq!(counter_value(0).as_bytes(), [0x00]);
        assert_eq!(counter_value(0x0102).as_bytes(), [1, 2]);
    }

    #[test]
    fn client_actions() {
        let e = [0u8, 0, 0, 9];
        assert!(matches!(
            client_action(4, 1, Some(&e)),
            Some(ClientEchoAction::Retry(_))
        ));
        assert!(matches!(
            client_action(2, 4, Some(&e)),
            Some(ClientEchoAction::NextRequest(_))
        ));
        assert_eq!(client_action(4, 1, None), None);
        assert_eq!(client_action(4, 1, Some(&[])), None);
    }

    #[test]
    fn request_tag_rules() {
        assert_eq!(choose_request_tag([]), Ok(RequestTagChoice::Absent));
        assert_eq!(
            choose_request_tag([Some(&[][..])]),
            Ok(RequestTagChoice::Absent)
        );
        let c = choose_request_tag([None]).unwrap();
        assert_eq!(c.value(), Some(&[][..]));
        let c = choose_request_tag([None, Some(&[][..]), Some(&[0u8][..])]).unwrap();
        assert_eq!(c.value(), Some(&[1u8][..]));
        assert!(same_request_tags([&b"a"[..]], [&b"a"[..]]));
        assert!(!same_request_tags([&b""[..]], []));
        assert!(!request_tag_needed([Some(&[1u8][..])]));
        assert!(request_tag_needed([Some(&[1u8][..]), None]));
        assert!(!request_tag_applies(false, false));
        assert!(request_tag_applies(true, false));
    }
}
