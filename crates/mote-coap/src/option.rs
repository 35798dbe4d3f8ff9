//! Options: numbers, the IANA registry with each option's properties, borrowed option views with
//! typed accessors, the wire codec of the option sequence, and the acceptance check of
//! RFC 7252 §5.4.
//!
//! ```
//! use mote_coap::option::{OptionFormat, OptionNumber};
//! let def = OptionNumber::URI_PATH.definition().unwrap();
//! assert_eq!((def.name, def.format, def.repeatable), ("Uri-Path", OptionFormat::String, true));
//! assert!(OptionNumber::URI_PATH.is_critical() && OptionNumber::URI_PATH.is_unsafe());
//! assert!(OptionNumber::SIZE1.is_no_cache_key());
//! ```

#![deny(clippy::indexing_slicing)]

use core::fmt;

use crate::error::{EncodeError, Field, MessageError, OptionError};

/// An option number (RFC 7252 §5.4.6, §12.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OptionNumber(pub u16);

impl OptionNumber {
    /// If-Match 1 (RFC 7252 §5.10.8.1).
    pub const IF_MATCH: Self = Self(1);
    /// Uri-Host 3 (RFC 7252 §5.10.1).
    pub const URI_HOST: Self = Self(3);
    /// ETag 4 (RFC 7252 §5.10.6).
    pub const ETAG: Self = Self(4);
    /// If-None-Match 5 (RFC 7252 §5.10.8.2).
    pub const IF_NONE_MATCH: Self = Self(5);
    /// Observe 6 (RFC 7641 §2).
    pub const OBSERVE: Self = Self(6);
    /// Uri-Port 7 (RFC 7252 §5.10.1).
    pub const URI_PORT: Self = Self(7);
    /// Location-Path 8 (RFC 7252 §5.10.7).
    pub const LOCATION_PATH: Self = Self(8);
    /// OSCORE 9 (RFC 8613 §2).
    pub const OSCORE: Self = Self(9);
    /// Uri-Path 11 (RFC 7252 §5.10.1).
    pub const URI_PATH: Self = Self(11);
    /// Content-Format 12 (RFC 7252 §5.10.3).
    pub const CONTENT_FORMAT: Self = Self(12);
    /// Max-Age 14 (RFC 7252 §5.10.5).
    pub const MAX_AGE: Self = Self(14);
    /// Uri-Query 15 (RFC 7252 §5.10.1).
    pub const URI_QUERY: Self = Self(15);
    /// Hop-Limit 16 (RFC 8768 §3).
    pub const HOP_LIMIT: Self = Self(16);
    /// Accept 17 (RFC 7252 §5.10.4).
    pub const ACCEPT: Self = Self(17);
    /// Q-Block1 19 (RFC 9177 §4).
    pub const Q_BLOCK1: Self = Self(19);
    /// Location-Query 20 (RFC 7252 §5.10.7).
    pub const LOCATION_QUERY: Self = Self(20);
    /// EDHOC 21 (RFC 9668 §3.1).
    pub const EDHOC: Self = Self(21);
    /// Block2 23 (RFC 7959 §2.1).
    pub const BLOCK2: Self = Self(23);
    /// Block1 27 (RFC 7959 §2.1).
    pub const BLOCK1: Self = Self(27);
    /// Size2 28 (RFC 7959 §4).
    pub const SIZE2: Self = Self(28);
    /// Q-Block2 31 (RFC 9177 §4).
    pub const Q_BLOCK2: Self = Self(31);
    /// Proxy-Uri 35 (RFC 7252 §5.10.2).
    pub const PROXY_URI: Self = Self(35);
    /// Proxy-Scheme 39 (RFC 7252 §5.10.2).
    pub const PROXY_SCHEME: Self = Self(39);
    /// Size1 60 (RFC 7252 §5.10.9, RFC 7959 §4).
    pub const SIZE1: Self = Self(60);
    /// Echo 252 (RFC 9175 §2.2.1).
    pub const ECHO: Self = Self(252);
    /// No-Response 258 (RFC 7967 §2).
    pub const NO_RESPONSE: Self = Self(258);
    /// Request-Tag 292 (RFC 9175 §3.2.1).
    pub const REQUEST_TAG: Self = Self(292);
    /// OCF-Accept-Content-Format-Version 2049 (OCF Core, IANA registry).
    pub const OCF_ACCEPT_CONTENT_FORMAT_VERSION: Self = Self(2049);
    /// OCF-Content-Format-Version 2053 (OCF Core, IANA registry).
    pub const OCF_CONTENT_FORMAT_VERSION: Self = Self(2053);

    /// Critical: an unrecognized one makes the message unacceptable (RFC 7252 §5.4.1, §5.4.6:
    /// odd numbers).
    #[must_use]
    pub const fn is_critical(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// Unsafe to forward by a proxy that does not understand it (RFC 7252 §5.4.2, §5.4.6).
    #[must_use]
    pub const fn is_unsafe(self) -> bool {
        self.0 & 0x02 != 0
    }

    /// Safe to forward but not part of the cache key (RFC 7252 §5.4.6: bits 1–4 are `11100`).
    #[must_use]
    pub const fn is_no_cache_key(self) -> bool {
        self.0 & 0x1e == 0x1c
    }

    /// The registry entry, or `None` for an unregistered number.
    #[must_use]
    pub fn definition(self) -> Option<&'static OptionDefinition> {
        REGISTRY
            .binary_search_by_key(&self.0, |def| def.number.0)
            .ok()
            .and_then(|i| REGISTRY.get(i))
    }

    /// The registered name (`Uri-Path`), or `None`.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        self.definition().map(|def| def.name)
    }

    /// How OSCORE protects this option (RFC 8613 §4.1, Figure 5, and the later
    /// registrations).
    ///
    /// | option | class | reference |
    /// |---|---|---|
    /// | If-Match, ETag, If-None-Match, Location-Path, Uri-Path, Content-Format, Uri-Query, Accept, Location-Query | E | RFC 8613 Figure 5 |
    /// | Uri-Host, Uri-Port, Proxy-Scheme | U | Figure 5 |
    /// | Proxy-Uri | U, decomposed | RFC 8613 §4.1.3.3 |
    /// | Observe, Max-Age, Block1, Block2, Size1, Size2, No-Response | E and U | Figure 5, §4.1.3 |
    /// | OSCORE | never protected | RFC 8613 §4.1.3.7 |
    /// | Hop-Limit | U | RFC 8768 §3 |
    /// | EDHOC | U | RFC 9668 §3.1 |
    /// | Echo, Request-Tag | E | RFC 9175 §2.3, §3.2 |
    /// | Q-Block1, Q-Block2 | E and U | RFC 9177 §4.1 ("can be Class E or U") |
    /// | anything else | E | RFC 8613 §4.1 ("unknown … SHALL be processed as Class E") |
    ///
    /// ```
    /// use mote_coap::option::{OptionNumber, OscoreClass};
    /// assert_eq!(OptionNumber::URI_PATH.oscore_class(), OscoreClass::Inner);
    /// assert_eq!(OptionNumber::URI_HOST.oscore_class(), OscoreClass::Outer);
    /// assert_eq!(OptionNumber(65000).oscore_class(), OscoreClass::Inner);
    /// ```
    #[must_use]
    pub const fn oscore_class(self) -> OscoreClass {
        match self {
            Self::URI_HOST
            | Self::URI_PORT
            | Self::PROXY_SCHEME
            | Self::HOP_LIMIT
            | Self::EDHOC => OscoreClass::Outer,
            Self::PROXY_URI => OscoreClass::ProxyUri,
            Self::OSCORE => OscoreClass::Oscore,
            Self::OBSERVE
            | Self::MAX_AGE
            | Self::BLOCK1
            | Self::BLOCK2
            | Self::SIZE1
            | Self::SIZE2
            | Self::NO_RESPONSE
            | Self::Q_BLOCK1
            | Self::Q_BLOCK2 => OscoreClass::InnerAndOuter,
            _ => OscoreClass::Inner,
        }
    }
}

/// How OSCORE protects an option (RFC 8613 §4.1): the class of
/// [`OptionNumber::oscore_class`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OscoreClass {
    /// Class E only: encrypted and integrity protected (Inner), removed from the outer message
    /// (RFC 8613 §4.1.1).
    Inner,
    /// Class U only: unprotected (Outer), visible to and changeable by proxies (§4.1.2).
    Outer,
    /// Both classes: an Inner instance for the peer and an independent Outer instance for
    /// proxies (Observe, Max-Age, the Block options, Size1/Size2, No-Response; §4.1.3).
    InnerAndOuter,
    /// Class U that OSCORE transforms before sending: Proxy-Uri is decomposed (§4.1.3.3).
    ProxyUri,
    /// The OSCORE option itself (§4.1.3.7): never in a message to protect.
    Oscore,
}

impl OscoreClass {
    /// Whether the option has a Class E (Inner) instance.
    #[must_use]
    pub const fn is_inner(self) -> bool {
        matches!(self, Self::Inner | Self::InnerAndOuter)
    }

    /// Whether the option has a Class U (Outer) instance, the decomposed Proxy-Uri included.
    #[must_use]
    pub const fn is_outer(self) -> bool {
        matches!(self, Self::Outer | Self::InnerAndOuter | Self::ProxyUri)
    }
}

/// Which option numbers occur in a message, learned by the validating pass of the decoders
/// ([`Message::option_set`](crate::message::Message::option_set),
/// [`Frame::option_set`](crate::tcp::Frame::option_set)): one bit per number below 63 and
/// one bit shared by every number of 63 or more, so that a caller can tell without another
/// pass over the options that none of a set of numbers occurs.
///
/// ```
/// use mote_coap::option::{OptionNumber, OptionSet};
/// let set = OptionSet::EMPTY.with(OptionNumber::URI_PATH);
/// assert!(set.may_contain(OptionNumber::URI_PATH));
/// assert!(!set.may_contain(OptionNumber::OBSERVE));
/// assert!(!set.intersects(OptionSet::EMPTY.with(OptionNumber::ECHO)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OptionSet(u64);

impl OptionSet {
    /// No option.
    pub const EMPTY: Self = Self(0);

    #[inline(always)]
    const fn bit(number: u16) -> u64 {
        if number < 63 { 1 << number } else { 1 << 63 }
    }

    /// The set with `number` added.
    #[must_use]
    #[inline(always)]
    pub const fn with(self, number: OptionNumber) -> Self {
        Self(self.0 | Self::bit(number.0))
    }

    /// Both sets together.
    #[must_use]
    #[inline(always)]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether `number` may occur: exact below 63; for 63 and above, whether any number of 63
    /// or more occurs.
    #[must_use]
    #[inline(always)]
    pub const fn may_contain(self, number: OptionNumber) -> bool {
        self.0 & Self::bit(number.0) != 0
    }

    /// Whether the sets share a bit (see [`Self::may_contain`] for numbers of 63 or more).
    #[must_use]
    #[inline(always)]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no option occurs.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set of the options of an iterator.
    pub fn of<'a>(options: impl IntoIterator<Item = OptionRef<'a>>) -> Self {
        options
            .into_iter()
            .fold(Self::EMPTY, |set, o| set.with(o.number))
    }
}

impl fmt::Display for OptionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Debug for OptionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<u16> for OptionNumber {
    fn from(n: u16) -> Self {
        Self(n)
    }
}

impl From<OptionNumber> for u16 {
    fn from(number: OptionNumber) -> Self {
        number.0
    }
}

/// The value format of an option (RFC 7252 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionFormat {
    /// A zero-length sequence of bytes.
    Empty,
    /// An opaque sequence of bytes.
    Opaque,
    /// A non-negative integer in network byte order, with as few bytes as possible.
    Uint,
    /// A UTF-8 string (Net-Unicode, RFC 5198).
    String,
}

/// One entry of the CoAP Option Numbers registry (RFC 7252 §12.2 and its updates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionDefinition {
    /// The option number; critical/unsafe/no-cache-key follow from it.
    pub number: OptionNumber,
    /// The registered name.
    pub name: &'static str,
    /// The value format.
    pub format: OptionFormat,
    /// Minimum value length in bytes.
    pub min_len: u16,
    /// Maximum value length in bytes.
    pub max_len: u16,
    /// Whether the option may occur more than once (RFC 7252 §5.4.5).
    pub repeatable: bool,
}

impl OptionDefinition {
    const fn new(
        number: u16,
        name: &'static str,
        format: OptionFormat,
        min_len: u16,
        max_len: u16,
        repeatable: bool,
    ) -> Self {
        Self {
            number: OptionNumber(number),
            name,
            format,
            min_len,
            max_len,
            repeatable,
        }
    }

    /// Whether `len` is within the option's length bounds (RFC 7252 §5.4.3).
    #[must_use]
    pub const fn accepts_len(&self, len: usize) -> bool {
        len >= self.min_len as usize && len <= self.max_len as usize
    }
}

/// The registry, sorted by number: RFC 7252 §5.10 Table 4, RFC 7641, RFC 7959, RFC 7967,
/// RFC 8613, RFC 8768, RFC 9175, RFC 9177, RFC 9668, and the two OCF entries.
pub static REGISTRY: &[OptionDefinition] = {
    use OptionFormat::{Empty, Opaque, String, Uint};
    &[
        OptionDefinition::new(1, "If-Match", Opaque, 0, 8, true),
        OptionDefinition::new(3, "Uri-Host", String, 1, 255, false),
        OptionDefinition::new(4, "ETag", Opaque, 1, 8, true),
        OptionDefinition::new(5, "If-None-Match", Empty, 0, 0, false),
        OptionDefinition::new(6, "Observe", Uint, 0, 3, false),
        OptionDefinition::new(7, "Uri-Port", Uint, 0, 2, false),
        OptionDefinition::new(8, "Location-Path", String, 0, 255, true),
        OptionDefinition::new(9, "OSCORE", Opaque, 0, 255, false),
        OptionDefinition::new(11, "Uri-Path", String, 0, 255, true),
        OptionDefinition::new(12, "Content-Format", Uint, 0, 2, false),
        OptionDefinition::new(14, "Max-Age", Uint, 0, 4, false),
        OptionDefinition::new(15, "Uri-Query", String, 0, 255, true),
        OptionDefinition::new(16, "Hop-Limit", Uint, 1, 1, false),
        OptionDefinition::new(17, "Accept", Uint, 0, 2, false),
        OptionDefinition::new(19, "Q-Block1", Uint, 0, 3, false),
        OptionDefinition::new(20, "Location-Query", String, 0, 255, true),
        OptionDefinition::new(21, "EDHOC", Empty, 0, 0, false),
        OptionDefinition::new(23, "Block2", Uint, 0, 3, false),
        OptionDefinition::new(27, "Block1", Uint, 0, 3, false),
        OptionDefinition::new(28, "Size2", Uint, 0, 4, false),
        OptionDefinition::new(31, "Q-Block2", Uint, 0, 3, true),
        OptionDefinition::new(35, "Proxy-Uri", String, 1, 1034, false),
        OptionDefinition::new(39, "Proxy-Scheme", String, 1, 255, false),
        OptionDefinition::new(60, "Size1", Uint, 0, 4, false),
        OptionDefinition::new(252, "Echo", Opaque, 1, 40, false),
        OptionDefinition::new(258, "No-Response", Uint, 0, 1, false),
        OptionDefinition::new(292, "Request-Tag", Opaque, 0, 8, true),
        OptionDefinition::new(2049, "OCF-Accept-Content-Format-Version", Uint, 2, 2, false),
        OptionDefinition::new(2053, "OCF-Content-Format-Version", Uint, 2, 2, false),
    ]
};

/// Reads a uint option value (RFC 7252 §3.2): big-endian, leading zero bytes allowed, the empty
/// value is 0. `None` when it has more than 4 bytes.
#[must_use]
pub fn decode_uint(value: &[u8]) -> Option<u32> {
    if value.len() > 4 {
        return None;
    }
    Some(value.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// The minimal encoding of a uint option value (RFC 7252 §3.2: as few bytes as possible, 0 is
/// the empty value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UintValue {
    bytes: [u8; 4],
    len: u8,
}

impl UintValue {
    /// Encodes `value`.
    #[must_use]
    pub const fn new(value: u32) -> Self {
        let len = 4 - value.leading_zeros() / 8;
        // Left-align the significant bytes so that they are the first `len` bytes.
        let shifted = if len == 0 { 0 } else { value << (32 - 8 * len) };
        Self {
            bytes: shifted.to_be_bytes(),
            len: len as u8,
        }
    }

    /// The encoded bytes (0 to 4 of them).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// One option of a message: a borrowed view of its number and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionRef<'a> {
    /// The option number.
    pub number: OptionNumber,
    /// The raw value.
    pub value: &'a [u8],
}

impl<'a> OptionRef<'a> {
    /// A view of `value` as option `number`.
    #[must_use]
    pub const fn new(number: OptionNumber, value: &'a [u8]) -> Self {
        Self { number, value }
    }

    /// The value as an unsigned integer (RFC 7252 §3.2; leading zeros accepted).
    ///
    /// # Errors
    /// [`OptionError::UintTooLong`] when the value has more than 4 bytes.
    pub fn as_uint(&self) -> Result<u32, OptionError> {
        decode_uint(self.value).ok_or(OptionError::UintTooLong {
            number: self.number,
            len: self.value.len(),
        })
    }

    /// The value as a string (RFC 7252 §3.2).
    ///
    /// # Errors
    /// [`OptionError::InvalidUtf8`] when the value is not UTF-8.
    pub fn as_str(&self) -> Result<&'a str, OptionError> {
        core::str::from_utf8(self.value).map_err(|_| OptionError::InvalidUtf8 {
            number: self.number,
        })
    }

    /// The value as opaque bytes.
    #[must_use]
    pub const fn as_opaque(&self) -> &'a [u8] {
        self.value
    }

    /// The registry entry of this option's number.
    #[must_use]
    pub fn definition(&self) -> Option<&'static OptionDefinition> {
        self.number.definition()
    }
}

// ---------------------------------------------------------------------------------------------
// Wire format of the option sequence (RFC 7252 §3.1).

/// One step of reading the option sequence.
pub(crate) enum Step<'a> {
    /// An option and the bytes after it.
    Option {
        number: u16,
        value: &'a [u8],
        rest: &'a [u8],
    },
    /// The payload marker and the (non-empty) payload after it.
    Payload(&'a [u8]),
    /// The end of the message.
    End,
}

/// Reads the extended delta or length of a nibble (RFC 7252 §3.1): 13 → 1 byte + 13,
/// 14 → 2 bytes + 269, 15 → reserved.
#[inline(always)]
fn extended(nibble: u8, rest: &[u8]) -> Option<Result<(u32, &[u8]), ()>> {
    match nibble {
        0..=12 => Some(Ok((u32::from(nibble), rest))),
        13 => match rest {
            [b, tail @ ..] => Some(Ok((u32::from(*b) + 13, tail))),
            [] => Some(Err(())),
        },
        14 => match rest {
            [hi, lo, tail @ ..] => {
                Some(Ok((u32::from(u16::from_be_bytes([*hi, *lo])) + 269, tail)))
            }
            _ => Some(Err(())),
        },
        _ => None,
    }
}

/// Reads the next option from `buf` (which starts at byte `offset` of the message), after the
/// option numbered `prev`.
#[inline]
pub(crate) fn next_option(buf: &[u8], offset: usize, prev: u16) -> Result<Step<'_>, MessageError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(Step::End);
    };
    if first == 0xff {
        // RFC 7252 §3: a marker followed by a zero-length payload is a format error.
        return if rest.is_empty() {
            Err(MessageError::EmptyPayload { offset })
        } else {
            Ok(Step::Payload(rest))
        };
    }
    let (delta, rest) = match extended(first >> 4, rest) {
        Some(Ok(v)) => v,
        Some(Err(())) => {
            return Err(MessageError::Truncated {
                field: Field::OptionDeltaExtension,
                offset: offset + 1,
            });
        }
        None => return Err(MessageError::ReservedOptionNibble { offset }),
    };
    let (len, rest) = match extended(first & 0x0f, rest) {
        Some(Ok(v)) => v,
        Some(Err(())) => {
            let at = offset + (buf.len() - rest.len());
            return Err(MessageError::Truncated {
                field: Field::OptionLengthExtension,
                offset: at,
            });
        }
        None => return Err(MessageError::ReservedOptionNibble { offset }),
    };
    let number = u32::from(prev) + delta;
    let Ok(number) = u16::try_from(number) else {
        return Err(MessageError::OptionNumberOverflow { offset });
    };
    let len = len as usize;
    if rest.len() < len {
        let at = offset + (buf.len() - rest.len());
        return Err(MessageError::Truncated {
            field: Field::OptionValue,
            offset: at,
        });
    }
    let (value, rest) = rest.split_at(len);
    Ok(Step::Option {
        number,
        value,
        rest,
    })
}

/// The options and payload of a message body, validated (see [`split_body`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Body<'a> {
    /// The option bytes, without the payload marker.
    pub options: &'a [u8],
    /// The payload, without the marker; empty when absent.
    pub payload: &'a [u8],
    /// Which options occur.
    pub option_set: OptionSet,
}

impl<'a> Body<'a> {
    /// The options in wire order.
    #[must_use]
    pub const fn options(&self) -> Options<'a> {
        Options::new(self.options)
    }
}

/// Validates the options and payload part of a message starting at byte `offset`; returns the
/// option bytes (without the marker), the payload and the set of option numbers.
#[inline]
pub(crate) fn split_options(buf: &[u8], offset: usize) -> Result<Body<'_>, MessageError> {
    let mut rest = buf;
    let mut number = 0u16;
    let mut set = OptionSet::EMPTY;
    loop {
        let at = offset + (buf.len() - rest.len());
        match next_option(rest, at, number)? {
            Step::Option {
                number: n, rest: r, ..
            } => {
                number = n;
                rest = r;
                set = set.with(OptionNumber(n));
            }
            Step::Payload(payload) => {
                let options = buf.get(..buf.len() - rest.len()).unwrap_or(&[]);
                return Ok(Body {
                    options,
                    payload,
                    option_set: set,
                });
            }
            Step::End => {
                return Ok(Body {
                    options: buf,
                    payload: &[],
                    option_set: set,
                });
            }
        }
    }
}

/// Splits and validates a header-less message body: the option sequence, then the payload
/// after the marker (RFC 7252 §3, §3.1). The OSCORE plaintext after its code byte has this form
/// (RFC 8613 §5.3). Offsets in errors count from the start of `body`.
///
/// # Errors
/// A [`MessageError`] for a malformed option or a marker without payload.
#[inline]
pub fn split_body(body: &[u8]) -> Result<Body<'_>, MessageError> {
    split_options(body, 0)
}

/// An iterator over the options of a decoded message, in wire order.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
    number: u16,
}

impl<'a> Options<'a> {
    /// Options from validated option bytes (no payload marker).
    pub(crate) const fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            number: 0,
        }
    }

    /// An iterator over the options in `bytes`, which must hold just the option sequence (no
    /// payload marker). Reading stops at the first malformed option.
    #[must_use]
    pub const fn from_bytes(bytes: &'a [u8]) -> Self {
        Self::new(bytes)
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = OptionRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<OptionRef<'a>> {
        match next_option(self.rest, 0, self.number) {
            Ok(Step::Option {
                number,
                value,
                rest,
            }) => {
                self.rest = rest;
                self.number = number;
                Some(OptionRef {
                    number: OptionNumber(number),
                    value,
                })
            }
            _ => {
                self.rest = &[];
                None
            }
        }
    }
}

impl core::iter::FusedIterator for Options<'_> {}

/// Number of bytes the header of one option takes for a delta or length value (RFC 7252 §3.1).
#[inline(always)]
pub(crate) const fn ext_len(v: usize) -> usize {
    if v < 13 {
        0
    } else if v < 269 {
        1
    } else {
        2
    }
}

/// Encoded size of one option after `prev`.
#[inline(always)]
pub(crate) const fn option_len(delta: usize, len: usize) -> usize {
    1 + ext_len(delta) + ext_len(len) + len
}

/// The largest option value length or token length the wire format can express.
pub const MAX_VALUE_LEN: usize = 65804;

/// The three encoders every owned message type offers (`encode` into a slice, `encode_to` a
/// `bytes::BufMut`, `to_vec`), written once over the type's `validate`, `encoded_len` and
/// `write(&mut impl Sink)`.
#[cfg(feature = "alloc")]
macro_rules! owned_encoders {
    () => {
        /// Encodes into `buf`; returns the number of bytes written.
        ///
        /// # Errors
        /// [`EncodeError::BufferTooSmall`] with the required size, or a validation error
        /// (see [`Self::validate`]).
        pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
            self.validate()?;
            let required = self.encoded_len();
            if buf.len() < required {
                return Err(EncodeError::BufferTooSmall { required });
            }
            self.write(&mut SliceSink { buf, pos: 0 });
            Ok(required)
        }

        /// Encodes into a `bytes::BufMut`; returns the number of bytes written.
        ///
        /// # Errors
        /// [`EncodeError::BufferTooSmall`] when `buf.remaining_mut()` is too small, or a
        /// validation error (see [`Self::validate`]).
        pub fn encode_to<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EncodeError> {
            self.validate()?;
            let required = self.encoded_len();
            if buf.remaining_mut() < required {
                return Err(EncodeError::BufferTooSmall { required });
            }
            self.write(&mut BufSink(buf));
            Ok(required)
        }

        /// Encodes into a new vector.
        ///
        /// # Errors
        /// A validation error (see [`Self::validate`]).
        pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
            self.validate()?;
            // `with_capacity` rather than `vec![0; n]`: glibc's calloc bypasses its thread
            // cache, which costs about as much as encoding a small message.
            let mut out = Vec::with_capacity(self.encoded_len());
            self.write(&mut BufSink(&mut out));
            Ok(out)
        }
    };
}
#[cfg(feature = "alloc")]
pub(crate) use owned_encoders;

/// Where encoders write: a pre-sized slice or a `bytes::BufMut`.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn put_byte(&mut self, byte: u8);
}

/// A cursor over a slice that was checked to be large enough.
pub(crate) struct SliceSink<'b> {
    pub(crate) buf: &'b mut [u8],
    pub(crate) pos: usize,
}

impl Sink for SliceSink<'_> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            // Option values and headers are mostly a few bytes: a byte loop beats a call to
            // memcpy there.
            if bytes.len() <= 16 {
                for (d, s) in dst.iter_mut().zip(bytes) {
                    *d = *s;
                }
            } else {
                dst.copy_from_slice(bytes);
            }
        }
        self.pos = end;
    }

    #[inline(always)]
    fn put_byte(&mut self, byte: u8) {
        if let Some(dst) = self.buf.get_mut(self.pos) {
            *dst = byte;
        }
        self.pos += 1;
    }
}

/// A `bytes::BufMut` that was checked to have room.
#[cfg(feature = "alloc")]
pub(crate) struct BufSink<'b, B: bytes::BufMut>(pub(crate) &'b mut B);

#[cfg(feature = "alloc")]
impl<B: bytes::BufMut> Sink for BufSink<'_, B> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.0.put_slice(bytes);
    }

    #[inline(always)]
    fn put_byte(&mut self, byte: u8) {
        self.0.put_u8(byte);
    }
}

/// Splits a delta or length into its nibble and extension (RFC 7252 §3.1).
#[inline(always)]
fn nibble(v: usize) -> (u8, [u8; 2], usize) {
    if v < 13 {
        (v as u8, [0, 0], 0)
    } else if v < 269 {
        (13, [(v - 13) as u8, 0], 1)
    } else {
        let e = ((v - 269) as u16).to_be_bytes();
        (14, e, 2)
    }
}

/// Writes one option header and value; `delta` and `value.len()` are at most 65804.
#[inline(always)]
pub(crate) fn write_option<S: Sink>(sink: &mut S, delta: usize, value: &[u8]) {
    let (dn, de, dl) = nibble(delta);
    let (ln, le, ll) = nibble(value.len());
    if dl == 0 && ll == 0 {
        sink.put_byte((dn << 4) | ln);
    } else {
        // First byte, then the delta extension, then the length extension (RFC 7252 §3.1).
        let mut header = [(dn << 4) | ln, 0, 0, 0, 0];
        if let Some(dst) = header.get_mut(1..1 + dl) {
            dst.copy_from_slice(de.get(..dl).unwrap_or(&[]));
        }
        if let Some(dst) = header.get_mut(1 + dl..1 + dl + ll) {
            dst.copy_from_slice(le.get(..ll).unwrap_or(&[]));
        }
        sink.put(header.get(..1 + dl + ll).unwrap_or(&[]));
    }
    sink.put(value);
}

/// Writes an option sequence in ascending order with delta encoding (RFC 7252 §3.1) through a
/// [`Cursor`](crate::framing::Cursor) over a caller buffer, without allocation.
#[derive(Debug, Default, Clone, Copy)]
pub struct OptionEncoder {
    last: u16,
}

impl OptionEncoder {
    /// An encoder before the first option.
    #[must_use]
    pub const fn new() -> Self {
        Self { last: 0 }
    }

    /// Writes an option header and value; `number` must not be below the previous one's.
    ///
    /// # Errors
    /// [`EncodeError::OptionOutOfOrder`], [`EncodeError::OptionTooLong`].
    #[inline]
    pub fn write(
        &mut self,
        w: &mut crate::framing::Cursor<'_>,
        number: OptionNumber,
        value: &[u8],
    ) -> Result<(), EncodeError> {
        self.write_header(w, number, value.len())?;
        w.put(value);
        Ok(())
    }

    /// Writes a uint option in its minimal encoding (RFC 7252 §3.2).
    ///
    /// # Errors
    /// As [`Self::write`].
    pub fn write_uint(
        &mut self,
        w: &mut crate::framing::Cursor<'_>,
        number: OptionNumber,
        value: u32,
    ) -> Result<(), EncodeError> {
        self.write(w, number, UintValue::new(value).as_bytes())
    }

    /// Writes the header of an option whose `len` value bytes the caller writes next.
    ///
    /// # Errors
    /// As [`Self::write`].
    #[inline]
    pub fn write_header(
        &mut self,
        w: &mut crate::framing::Cursor<'_>,
        number: OptionNumber,
        len: usize,
    ) -> Result<(), EncodeError> {
        let delta = number
            .0
            .checked_sub(self.last)
            .ok_or(EncodeError::OptionOutOfOrder { number })?;
        if len > MAX_VALUE_LEN {
            return Err(EncodeError::OptionTooLong { number, len });
        }
        self.last = number.0;
        if delta < 13 && len < 13 {
            // The common case: delta and length fit in the first byte.
            w.put_byte(((delta as u8) << 4) | len as u8);
            return Ok(());
        }
        let (dn, de, dl) = nibble(usize::from(delta));
        let (ln, le, ll) = nibble(len);
        w.put_byte((dn << 4) | ln);
        w.put(de.get(..dl).unwrap_or(&[]));
        w.put(le.get(..ll).unwrap_or(&[]));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Owned options (alloc).

#[cfg(feature = "alloc")]
pub use owned::{OptionList, OwnedOption};

#[cfg(feature = "alloc")]
mod owned {
    use alloc::vec::Vec;

    use super::{OptionNumber, OptionRef, Sink, UintValue, option_len, write_option};
    use crate::error::EncodeError;

    /// One owned option.
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct OwnedOption {
        /// The option number.
        pub number: OptionNumber,
        /// The raw value.
        pub value: Vec<u8>,
    }

    impl OwnedOption {
        /// A borrowed view.
        #[must_use]
        pub fn as_ref(&self) -> OptionRef<'_> {
            OptionRef {
                number: self.number,
                value: &self.value,
            }
        }
    }

    /// The options of an owned message, kept in ascending number order (RFC 7252 §3.1); options
    /// with the same number keep the order they were added in (RFC 7252 §5.4.5).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
    pub struct OptionList {
        options: Vec<OwnedOption>,
    }

    impl OptionList {
        /// No options.
        #[must_use]
        pub const fn new() -> Self {
            Self {
                options: Vec::new(),
            }
        }

        /// Adds an option after every option with a number ≤ `number`.
        pub fn push(&mut self, number: OptionNumber, value: impl Into<Vec<u8>>) {
            let value = value.into();
            let at = self.options.partition_point(|o| o.number <= number);
            self.options.insert(at, OwnedOption { number, value });
        }

        /// Adds a uint option in its minimal encoding (RFC 7252 §3.2).
        pub fn push_uint(&mut self, number: OptionNumber, value: u32) {
            self.push(number, UintValue::new(value).as_bytes());
        }

        /// Replaces every occurrence of `number` with one option.
        pub fn set(&mut self, number: OptionNumber, value: impl Into<Vec<u8>>) {
            self.remove(number);
            self.push(number, value);
        }

        /// Replaces every occurrence of `number` with one uint option.
        pub fn set_uint(&mut self, number: OptionNumber, value: u32) {
            self.set(number, UintValue::new(value).as_bytes());
        }

        /// Removes every occurrence of `number`; returns how many there were.
        pub fn remove(&mut self, number: OptionNumber) -> usize {
            let before = self.options.len();
            self.options.retain(|o| o.number != number);
            before - self.options.len()
        }

        /// The first option with `number`.
        #[must_use]
        pub fn get(&self, number: OptionNumber) -> Option<OptionRef<'_>> {
            self.get_all(number).next()
        }

        /// Every option with `number`, in order.
        pub fn get_all(&self, number: OptionNumber) -> impl Iterator<Item = OptionRef<'_>> {
            let start = self.options.partition_point(|o| o.number < number);
            self.options
                .get(start..)
                .unwrap_or(&[])
                .iter()
                .take_while(move |o| o.number == number)
                .map(OwnedOption::as_ref)
        }

        /// All options in ascending order.
        pub fn iter(&self) -> impl ExactSizeIterator<Item = OptionRef<'_>> + Clone {
            self.options.iter().map(OwnedOption::as_ref)
        }

        /// All options as a slice.
        #[must_use]
        pub fn as_slice(&self) -> &[OwnedOption] {
            &self.options
        }

        /// Number of options.
        #[must_use]
        pub fn len(&self) -> usize {
            self.options.len()
        }

        /// Whether there are none.
        #[must_use]
        pub fn is_empty(&self) -> bool {
            self.options.is_empty()
        }

        /// Encoded size of the option sequence.
        pub(crate) fn encoded_len(&self) -> usize {
            let mut prev = 0usize;
            let mut total = 0;
            for o in &self.options {
                let n = usize::from(o.number.0);
                total += option_len(n - prev, o.value.len());
                prev = n;
            }
            total
        }

        /// Checks that every value fits the wire format.
        pub(crate) fn validate(&self) -> Result<(), EncodeError> {
            for o in &self.options {
                if o.value.len() > super::MAX_VALUE_LEN {
                    return Err(EncodeError::OptionTooLong {
                        number: o.number,
                        len: o.value.len(),
                    });
                }
            }
            Ok(())
        }

        /// Writes the option sequence.
        pub(crate) fn write<S: Sink>(&self, sink: &mut S) {
            let mut prev = 0usize;
            for o in &self.options {
                let n = usize::from(o.number.0);
                write_option(sink, n - prev, &o.value);
                prev = n;
            }
        }
    }

    impl<'a> FromIterator<OptionRef<'a>> for OptionList {
        fn from_iter<I: IntoIterator<Item = OptionRef<'a>>>(iter: I) -> Self {
            let mut list = Self::new();
            for o in iter {
                list.push(o.number, o.value);
            }
            list
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Acceptance check (RFC 7252 §5.4).

/// Every problem with `options` (in wire order, i.e. ascending), judged against the registry:
/// unrecognized critical options (§5.4.1), values outside the length bounds (§5.4.3) and
/// supernumerary occurrences of non-repeatable options (§5.4.5). Problems with elective options
/// are reported too; RFC 7252 says to silently ignore those options.
pub fn issues<'a, I>(options: I) -> impl Iterator<Item = OptionError>
where
    I: IntoIterator<Item = OptionRef<'a>>,
{
    issues_with(options, |_| true)
}

/// Like [`issues`], but an option counts as recognized only when it is in the registry *and*
/// `recognized` returns true for its number (an application that does not implement, say,
/// Q-Block1 must treat it as unrecognized).
pub fn issues_with<'a, I, F>(options: I, recognized: F) -> impl Iterator<Item = OptionError>
where
    I: IntoIterator<Item = OptionRef<'a>>,
    F: Fn(OptionNumber) -> bool,
{
    let mut prev: Option<OptionNumber> = None;
    options.into_iter().filter_map(move |o| {
        let repeated = prev == Some(o.number);
        prev = Some(o.number);
        let Some(def) = o.number.definition().filter(|_| recognized(o.number)) else {
            return o
                .number
                .is_critical()
                .then_some(OptionError::UnrecognizedCritical { number: o.number });
        };
        if repeated && !def.repeatable {
            return Some(OptionError::NotRepeatable { number: o.number });
        }
        if !def.accepts_len(o.value.len()) {
            return Some(OptionError::LengthOutOfBounds {
                number: o.number,
                len: o.value.len(),
                min: def.min_len,
                max: def.max_len,
            });
        }
        None
    })
}

/// Checks `options` as a server or client receiving them must (RFC 7252 §5.4.1, §5.4.3,
/// §5.4.5): the first problem with a *critical* option is an error (a server answers a request
/// with 4.02 Bad Option; see [`crate::error::Error::response_code`]). Problems with elective
/// options are not errors: those options are to be ignored.
///
/// # Errors
/// The first [`OptionError`] about a critical option.
pub fn check<'a, I>(options: I) -> Result<(), OptionError>
where
    I: IntoIterator<Item = OptionRef<'a>>,
{
    check_with(options, |_| true)
}

/// [`check`] with the application's own notion of recognized options (see [`issues_with`]).
///
/// # Errors
/// The first [`OptionError`] about a critical option.
pub fn check_with<'a, I, F>(options: I, recognized: F) -> Result<(), OptionError>
where
    I: IntoIterator<Item = OptionRef<'a>>,
    F: Fn(OptionNumber) -> bool,
{
    match issues_with(options, recognized).find(|e| e.number().is_critical()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl OptionError {
    /// The option the error is about.
    #[must_use]
    pub const fn number(&self) -> OptionNumber {
        match *self {
            Self::UnrecognizedCritical { number }
            | Self::LengthOutOfBounds { number, .. }
            | Self::NotRepeatable { number }
            | Self::UintTooLong { number, .. }
            | Self::InvalidUtf8 { number } => number,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_and_complete() {
        assert!(REGISTRY.windows(2).all(|w| w[0].number < w[1].number));
        for n in [
            1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 19, 20, 21, 23, 27, 28, 31, 35, 39, 60,
            252, 258, 292,
        ] {
            assert!(OptionNumber(n).definition().is_some(), "option {n} missing");
        }
        assert_eq!(OptionNumber(128).definition(), None);
    }

    #[test]
    fn properties_from_the_number() {
        // RFC 7252 §5.10 Table 4: C U N columns.
        assert!(OptionNumber::IF_MATCH.is_critical());
        assert!(!OptionNumber::ETAG.is_critical());
        assert!(OptionNumber::URI_HOST.is_unsafe());
        assert!(!OptionNumber::MAX_AGE.is_no_cache_key());
        assert!(OptionNumber::SIZE1.is_no_cache_key());
        assert!(OptionNumber::SIZE2.is_no_cache_key());
        assert!(OptionNumber::ECHO.is_no_cache_key());
        assert!(!OptionNumber::ECHO.is_critical() && !OptionNumber::ECHO.is_unsafe());
    }

    #[test]
    fn oscore_classes_of_the_registry() {
        // RFC 8613 Figure 5 and §4.1.3.3/§4.1.3.7, RFC 8768 §3, RFC 9668 §3.1, RFC 9175 §2.3 and
        // §3.2, RFC 9177 §4.1; numbers written out, not taken from the constants.
        use OscoreClass::{Inner, InnerAndOuter, Oscore, Outer, ProxyUri};
        for (n, class) in [
            (1u16, Inner),
            (3, Outer),
            (4, Inner),
            (5, Inner),
            (6, InnerAndOuter),
            (7, Outer),
            (8, Inner),
            (9, Oscore),
            (11, Inner),
            (12, Inner),
            (14, InnerAndOuter),
            (15, Inner),
            (16, Outer),
            (17, Inner),
            (19, InnerAndOuter),
            (20, Inner),
            (21, Outer),
            (23, InnerAndOuter),
            (27, InnerAndOuter),
            (28, InnerAndOuter),
            (31, InnerAndOuter),
            (35, ProxyUri),
            (39, Outer),
            (60, InnerAndOuter),
            (252, Inner),
            (258, InnerAndOuter),
            (292, Inner),
            (2049, Inner),
            (65000, Inner),
        ] {
            assert_eq!(OptionNumber(n).oscore_class(), class, "option {n}");
        }
        assert!(InnerAndOuter.is_inner() && InnerAndOuter.is_outer());
        assert!(!Outer.is_inner() && ProxyUri.is_outer() && !Oscore.is_inner());
    }

    #[test]
    fn option_set_from_the_validating_pass() {
        // Uri-Path "a" (11), Echo (252, delta 241: 13 + 228), payload.
        let bytes = [0xb1, b'a', 0xd1, 228, 0x42, 0xff, b'x'];
        let body = split_body(&bytes).unwrap();
        assert_eq!(body.payload, b"x");
        let set = body.option_set;
        assert_eq!(set, OptionSet::of(body.options()));
        assert!(set.may_contain(OptionNumber::URI_PATH));
        assert!(set.may_contain(OptionNumber::ECHO));
        // Numbers of 63 or more share one bit.
        assert!(set.may_contain(OptionNumber::NO_RESPONSE));
        assert!(!set.may_contain(OptionNumber::URI_QUERY));
        assert!(!set.intersects(OptionSet::EMPTY.with(OptionNumber::OSCORE)));
        assert!(split_body(&[]).unwrap().option_set.is_empty());
        assert_eq!(
            split_body(&[0xb1, b'a', 0xff]),
            Err(MessageError::EmptyPayload { offset: 2 })
        );
    }

    #[test]
    fn option_encoder_extended_headers_and_order() {
        let mut buf = [0u8; 400];
        let mut w = crate::framing::Cursor::new(&mut buf);
        let mut enc = OptionEncoder::new();
        let long = [7u8; 300];
        enc.write(&mut w, OptionNumber::IF_MATCH, b"").unwrap();
        enc.write_uint(&mut w, OptionNumber::MAX_AGE, 60).unwrap();
        enc.write(&mut w, OptionNumber(300), &long).unwrap();
        assert_eq!(
            enc.write(&mut w, OptionNumber::URI_PATH, b"late"),
            Err(EncodeError::OptionOutOfOrder {
                number: OptionNumber::URI_PATH
            })
        );
        let len = w.finish().unwrap();
        // RFC 7252 §3.1: 0x10; 0xd1 0x00 60 (delta 13); 0xee + 2-byte delta 286 − 269 + 2-byte
        // length 300 − 269.
        assert_eq!(&buf[..5], &[0x10, 0xd1, 0x00, 60, 0xee]);
        assert_eq!(&buf[5..9], &[0x00, 17, 0x00, 31]);
        let mut count = 0;
        let mut last = None;
        for o in Options::from_bytes(&buf[..len]) {
            count += 1;
            last = Some((o.number, o.value.len()));
        }
        assert_eq!(count, 3);
        assert_eq!(last, Some((OptionNumber(300), 300)));
    }

    #[test]
    fn uint_minimal_encoding() {
        assert_eq!(UintValue::new(0).as_bytes(), &[] as &[u8]);
        assert_eq!(UintValue::new(1).as_bytes(), &[1]);
        assert_eq!(UintValue::new(256).as_bytes(), &[1, 0]);
        assert_eq!(UintValue::new(11542).as_bytes(), &[0x2d, 0x16]);
        assert_eq!(UintValue::new(u32::MAX).as_bytes(), &[0xff; 4]);
        assert_eq!(decode_uint(&[0, 0, 1]), Some(1));
        assert_eq!(decode_uint(&[1, 2, 3, 4, 5]), None);
    }

    #[test]
    fn check_rejects_critical_only() {
        let unknown_critical = [OptionRef::new(OptionNumber(65001), b"")];
        assert_eq!(
            check(unknown_critical),
            Err(OptionError::UnrecognizedCritical {
                number: OptionNumber(65001)
            })
        );
        assert_eq!(check([OptionRef::new(OptionNumber(65000), b"x")]), Ok(()));
        // Uri-Host (critical) of length 0 is out of bounds 1..=255.
        assert!(matches!(
            check([OptionRef::new(OptionNumber::URI_HOST, b"")]),
            Err(OptionError::LengthOutOfBounds { .. })
        ));
        // ETag of 9 bytes is elective: reported by `issues`, accepted by `check`.
        let etag = [OptionRef::new(OptionNumber::ETAG, b"123456789")];
        assert_eq!(issues(etag).count(), 1);
        assert_eq!(check(etag), Ok(()));
        // Uri-Port twice.
        let twice = [
            OptionRef::new(OptionNumber::URI_PORT, b"\x16\x33"),
            OptionRef::new(OptionNumber::URI_PORT, b""),
        ];
        assert_eq!(
            check(twice),
            Err(OptionError::NotRepeatable {
                number: OptionNumber::URI_PORT
            })
        );
        assert_eq!(
            check_with([OptionRef::new(OptionNumber::Q_BLOCK1, b"")], |n| n
                != OptionNumber::Q_BLOCK1),
            Err(OptionError::UnrecognizedCritical {
                number: OptionNumber::Q_BLOCK1
            })
        );
    }
}
