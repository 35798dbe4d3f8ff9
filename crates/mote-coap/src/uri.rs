//! CoAP URIs: parsing, decomposition into options (RFC 7252 §6.4) and composition from
//! options (RFC 7252 §6.5), for the `coap`, `coaps` (RFC 7252 §6.1, §6.2), `coap+tcp` and
//! `coaps+tcp` (RFC 8323 §8.1, §8.2) schemes.
//!
//! [`Uri::parse`] validates the whole string (scheme, authority, IPv4 and IPv6 literals,
//! percent-encoding, allowed characters) without allocating; the option values come out of
//! [`Uri::decompose`] as lazily percent-decoded views. [`compose`] writes a URI in the normal
//! form of §6.3 (uppercase percent-encoding, default port omitted) to any [`fmt::Write`].
//!
//! ```
//! use core::net::{IpAddr, Ipv4Addr};
//! use mote_coap::uri::{Destination, Uri};
//!
//! let uri = Uri::parse("coap://Example.NET:61616/sensors/t%C3%A9mp?ep=dev&lt=60").unwrap();
//! let dest = Destination { ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), port: 5683 };
//! let options = uri.decompose(&dest);
//! let host: Vec<u8> = options.uri_host.unwrap().decoded().collect();
//! assert_eq!(host, b"example.net");
//! assert_eq!(options.uri_port, Some(61616));
//! let path: Vec<Vec<u8>> = options.uri_path.map(|s| s.decoded().collect()).collect();
//! assert_eq!(path, [b"sensors".to_vec(), "témp".as_bytes().to_vec()]);
//! assert_eq!(options.uri_query.count(), 2);
//! ```

#![deny(clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[cfg(feature = "alloc")]
use crate::option::OptionList;
use crate::option::{OptionNumber, OptionRef, decode_uint};

/// Errors of URI parsing and composition; offsets are byte positions in the input string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// Not an absolute URI: no scheme (a relative reference) (RFC 7252 §6.4 step 1).
    #[error("not an absolute URI: a scheme is required (RFC 7252 §6.4 step 1)")]
    NotAbsolute,
    /// A scheme other than coap, coaps, coap+tcp, coaps+tcp (RFC 7252 §6.4 step 3; RFC 8323 §8.6).
    #[error(
        "unsupported URI scheme; expected coap, coaps, coap+tcp or coaps+tcp (RFC 7252 §6.4 step 3)"
    )]
    UnsupportedScheme,
    /// A fragment component (RFC 7252 §6.4 step 4).
    #[error("URI has a fragment at offset {offset}; CoAP URIs must not (RFC 7252 §6.4 step 4)")]
    Fragment {
        /// Offset of the `#`.
        offset: usize,
    },
    /// No `//` authority after the scheme (RFC 7252 §6.1: `"coap:" "//" host`).
    #[error("URI has no authority (\"//host\") after the scheme (RFC 7252 §6.1)")]
    MissingAuthority,
    /// A userinfo component (`user@host`), not part of CoAP URIs (RFC 7252 §6.1).
    #[error("URI has userinfo at offset {offset}; CoAP URIs have none (RFC 7252 §6.1)")]
    UserInfo {
        /// Offset of the `@`.
        offset: usize,
    },
    /// An empty host.
    #[error("URI host is empty (RFC 7252 §6.1)")]
    EmptyHost,
    /// A host that is not a valid IP-literal, IPv4address or reg-name (RFC 3986 §3.2.2);
    /// IPvFuture and IPv6 zone identifiers are not supported.
    #[error("invalid host at offset {offset} (RFC 3986 §3.2.2)")]
    InvalidHost {
        /// Offset of the host or of the offending character.
        offset: usize,
    },
    /// A port that is not a decimal number up to 65535.
    #[error("invalid port at offset {offset}")]
    InvalidPort {
        /// Offset of the port.
        offset: usize,
    },
    /// A `%` not followed by two hexadecimal digits (RFC 3986 §2.1).
    #[error("bad percent-encoding at offset {offset} (RFC 3986 §2.1)")]
    BadPercentEncoding {
        /// Offset of the `%`.
        offset: usize,
    },
    /// A character not allowed at its place in a URI (RFC 3986 §3.3, §3.4).
    #[error("character not allowed in a URI at offset {offset} (RFC 3986 §3.3, §3.4)")]
    InvalidCharacter {
        /// Offset of the character.
        offset: usize,
    },
    /// A Uri-Host option that is not a valid reg-name, IP-literal or IPv4address after
    /// percent-encoding (RFC 7252 §6.5 step 2).
    #[error(
        "Uri-Host option is not a valid reg-name, IP-literal or IPv4address (RFC 7252 §6.5 step 2)"
    )]
    InvalidUriHost,
    /// The output writer failed.
    #[error("the output writer failed")]
    Output,
}

/// A CoAP URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `coap`: CoAP over UDP (RFC 7252 §6.1), default port 5683.
    Coap,
    /// `coaps`: CoAP over DTLS (RFC 7252 §6.2), default port 5684.
    Coaps,
    /// `coap+tcp`: CoAP over TCP (RFC 8323 §8.1), default port 5683.
    CoapTcp,
    /// `coaps+tcp`: CoAP over TLS (RFC 8323 §8.2), default port 5684.
    CoapsTcp,
}

impl Scheme {
    /// The scheme name in lowercase.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Coap => "coap",
            Self::Coaps => "coaps",
            Self::CoapTcp => "coap+tcp",
            Self::CoapsTcp => "coaps+tcp",
        }
    }

    /// The scheme's default port (RFC 7252 §6.1, §6.2; RFC 8323 §8.1, §8.2).
    #[must_use]
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Coap | Self::CoapTcp => 5683,
            Self::Coaps | Self::CoapsTcp => 5684,
        }
    }

    /// Whether the scheme is secured (DTLS or TLS).
    #[must_use]
    pub const fn is_secure(self) -> bool {
        matches!(self, Self::Coaps | Self::CoapsTcp)
    }

    /// Whether the scheme runs over a reliable transport (RFC 8323).
    #[must_use]
    pub const fn is_reliable(self) -> bool {
        matches!(self, Self::CoapTcp | Self::CoapsTcp)
    }

    /// The scheme named `name`, compared case-insensitively (RFC 7252 §6.4 step 3).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Coap, Self::Coaps, Self::CoapTcp, Self::CoapsTcp]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host of a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// An IPv4address.
    Ipv4(Ipv4Addr),
    /// An IP-literal holding an IPv6address (`[...]`).
    Ipv6(Ipv6Addr),
    /// A reg-name, as written (may contain percent-encodings and uppercase letters).
    RegName(&'a str),
}

impl Host<'_> {
    /// The IP address of an IP-literal or IPv4address host.
    #[must_use]
    pub const fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Ipv4(a) => Some(IpAddr::V4(*a)),
            Self::Ipv6(a) => Some(IpAddr::V6(*a)),
            Self::RegName(_) => None,
        }
    }
}

/// The destination endpoint of a request: the IP address and (UDP or TCP) port it is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Destination IP address.
    pub ip: IpAddr,
    /// Destination port.
    pub port: u16,
}

/// A percent-encoded URI component (host, path segment or query argument), validated; the
/// option value is [`Encoded::decoded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Encoded<'a> {
    raw: &'a str,
    lowercase: bool,
}

impl<'a> Encoded<'a> {
    /// The component as written in the URI.
    #[must_use]
    pub const fn raw(&self) -> &'a str {
        self.raw
    }

    /// The option value bytes: percent-encodings converted to bytes (and, for Uri-Host, ASCII
    /// lowercased first, RFC 7252 §6.4 step 5).
    #[must_use]
    pub fn decoded(&self) -> Decoded<'a> {
        Decoded {
            bytes: self.raw.as_bytes().iter(),
            lowercase: self.lowercase,
        }
    }

    /// Length of the decoded value.
    #[must_use]
    pub fn decoded_len(&self) -> usize {
        self.decoded().count()
    }

    /// Writes the decoded value into `out`, returning its length, or the length needed.
    ///
    /// # Errors
    /// The needed length when `out` is too short.
    pub fn decode_into(&self, out: &mut [u8]) -> Result<usize, usize> {
        let len = self.decoded_len();
        let dst = out.get_mut(..len).ok_or(len)?;
        for (d, s) in dst.iter_mut().zip(self.decoded()) {
            *d = s;
        }
        Ok(len)
    }

    /// The decoded value as a vector.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        self.decoded().collect()
    }
}

/// Iterator over the bytes of a percent-decoded component.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    bytes: core::slice::Iter<'a, u8>,
    lowercase: bool,
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.next()?;
        if b == b'%' {
            // Validated at parse time: two hex digits follow.
            let hi = self.bytes.next().and_then(|h| hex_value(*h)).unwrap_or(0);
            let lo = self.bytes.next().and_then(|l| hex_value(*l)).unwrap_or(0);
            Some((hi << 4) | lo)
        } else if self.lowercase {
            Some(b.to_ascii_lowercase())
        } else {
            Some(b)
        }
    }
}

/// Iterator over the Uri-Path or Uri-Query values of a URI.
#[derive(Debug, Clone)]
pub struct Components<'a> {
    split: Option<core::str::Split<'a, char>>,
}

impl<'a> Iterator for Components<'a> {
    type Item = Encoded<'a>;

    fn next(&mut self) -> Option<Encoded<'a>> {
        self.split.as_mut()?.next().map(|raw| Encoded {
            raw,
            lowercase: false,
        })
    }
}

/// The options a URI decomposes into (RFC 7252 §6.4).
#[derive(Debug, Clone)]
pub struct UriOptions<'a> {
    /// Uri-Host, when the host is not the destination IP address (step 5).
    pub uri_host: Option<Encoded<'a>>,
    /// Uri-Port, when the port is not the destination port (step 7).
    pub uri_port: Option<u16>,
    /// Uri-Path values, one per segment (step 8).
    pub uri_path: Components<'a>,
    /// Uri-Query values, one per argument (step 9).
    pub uri_query: Components<'a>,
}

impl UriOptions<'_> {
    /// Appends the options to an option list (of an owned message or frame), Uri-Host as the
    /// lowercased, percent-decoded host, Uri-Port as a minimal uint.
    #[cfg(feature = "alloc")]
    pub fn add_to(&self, options: &mut OptionList) {
        if let Some(host) = &self.uri_host {
            options.push(OptionNumber::URI_HOST, host.to_vec());
        }
        if let Some(port) = self.uri_port {
            options.push_uint(OptionNumber::URI_PORT, u32::from(port));
        }
        for segment in self.uri_path.clone() {
            options.push(OptionNumber::URI_PATH, segment.to_vec());
        }
        for arg in self.uri_query.clone() {
            options.push(OptionNumber::URI_QUERY, arg.to_vec());
        }
    }
}

/// A parsed, validated absolute CoAP URI (borrowing the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Uri<'a> {
    scheme: Scheme,
    host: Host<'a>,
    host_raw: &'a str,
    port: Option<u16>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Uri<'a> {
    /// Parses and validates `input` as `scheme "://" host [":" port] path-abempty ["?" query]`.
    ///
    /// # Errors
    /// A [`UriError`] saying what is wrong and where.
    pub fn parse(input: &'a str) -> Result<Self, UriError> {
        // RFC 7252 §6.4 step 4: no fragment.
        if let Some(offset) = input.find('#') {
            // A relative reference with a fragment is still first of all not absolute.
            scheme_end(input)?;
            return Err(UriError::Fragment { offset });
        }
        // Steps 1 and 3: absolute, with a CoAP scheme.
        let colon = scheme_end(input)?;
        let scheme_name = input.get(..colon).ok_or(UriError::NotAbsolute)?;
        let scheme = Scheme::from_name(scheme_name).ok_or(UriError::UnsupportedScheme)?;
        let rest_start = colon + 1;
        let rest = input.get(rest_start..).unwrap_or("");
        let auth_rel = rest.strip_prefix("//").ok_or(UriError::MissingAuthority)?;
        let auth_start = rest_start + 2;
        let auth_len = auth_rel.find(['/', '?']).unwrap_or(auth_rel.len());
        let authority = auth_rel.get(..auth_len).unwrap_or("");
        if let Some(at) = authority.find('@') {
            return Err(UriError::UserInfo {
                offset: auth_start + at,
            });
        }
        let (host, host_raw, port) = parse_authority(authority, auth_start)?;

        let after = auth_rel.get(auth_len..).unwrap_or("");
        let after_start = auth_start + auth_len;
        let (path, query) = match after.find('?') {
            Some(q) => (
                after.get(..q).unwrap_or(""),
                Some(after.get(q + 1..).unwrap_or("")),
            ),
            None => (after, None),
        };
        // RFC 3986 §3.3: path-abempty = *( "/" segment ); segment = *pchar.
        validate(path, after_start, |c| is_pchar(c) || c == b'/')?;
        if let Some(q) = query {
            // RFC 3986 §3.4: query = *( pchar / "/" / "?" ).
            validate(q, after_start + path.len() + 1, |c| {
                is_pchar(c) || c == b'/' || c == b'?'
            })?;
        }
        Ok(Self {
            scheme,
            host,
            host_raw,
            port,
            path,
            query,
        })
    }

    /// The scheme.
    #[must_use]
    pub const fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host.
    #[must_use]
    pub const fn host(&self) -> Host<'a> {
        self.host
    }

    /// The host as written (IPv6 literals with their brackets).
    #[must_use]
    pub const fn host_str(&self) -> &'a str {
        self.host_raw
    }

    /// The port given in the URI, if any (an empty port counts as none).
    #[must_use]
    pub const fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port given, or the scheme's default (RFC 7252 §6.4 step 6).
    #[must_use]
    pub const fn effective_port(&self) -> u16 {
        match self.port {
            Some(p) => p,
            None => self.scheme.default_port(),
        }
    }

    /// The path as written (`""` or starting with `/`).
    #[must_use]
    pub const fn path(&self) -> &'a str {
        self.path
    }

    /// The query as written (without `?`), if any.
    #[must_use]
    pub const fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The Uri-Path values: none for an empty path or `/`, else one per segment
    /// (RFC 7252 §6.4 step 8).
    #[must_use]
    pub fn path_segments(&self) -> Components<'a> {
        let split = match self.path {
            "" | "/" => None,
            p => p.strip_prefix('/').map(|p| p.split('/')),
        };
        Components { split }
    }

    /// The Uri-Query values, one per `&`-separated argument (RFC 7252 §6.4 step 9).
    #[must_use]
    pub fn query_arguments(&self) -> Components<'a> {
        Components {
            split: self.query.map(|q| q.split('&')),
        }
    }

    /// RFC 7252 §6.4 (and RFC 8323 §8.6): the options for a request to `destination`.
    #[must_use]
    pub fn decompose(&self, destination: &Destination) -> UriOptions<'a> {
        // Step 5: Uri-Host unless the host is an IP literal of the destination address.
        let is_destination = self
            .host
            .ip()
            .is_some_and(|ip| ip.to_canonical() == destination.ip.to_canonical());
        let uri_host = (!is_destination).then_some(Encoded {
            raw: self.host_raw,
            lowercase: true,
        });
        // Steps 6 and 7.
        let port = self.effective_port();
        let uri_port = (port != destination.port).then_some(port);
        UriOptions {
            uri_host,
            uri_port,
            uri_path: self.path_segments(),
            uri_query: self.query_arguments(),
        }
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host_raw)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(self.path)?;
        if let Some(q) = self.query {
            write!(f, "?{q}")?;
        }
        Ok(())
    }
}

/// Position of the `:` ending a syntactically valid scheme (RFC 3986 §3.1).
fn scheme_end(input: &str) -> Result<usize, UriError> {
    let colon = input.find(':').ok_or(UriError::NotAbsolute)?;
    let name = input.get(..colon).unwrap_or("").as_bytes();
    let valid = name.first().is_some_and(u8::is_ascii_alphabetic)
        && name
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if valid {
        Ok(colon)
    } else {
        Err(UriError::NotAbsolute)
    }
}

fn parse_authority(auth: &str, start: usize) -> Result<(Host<'_>, &str, Option<u16>), UriError> {
    let (host_raw, port_str, port_offset) = if auth.starts_with('[') {
        let close = auth
            .find(']')
            .ok_or(UriError::InvalidHost { offset: start })?;
        let host = auth.get(..=close).unwrap_or("");
        let rest = auth.get(close + 1..).unwrap_or("");
        match rest.strip_prefix(':') {
            Some(p) => (host, Some(p), start + close + 2),
            None if rest.is_empty() => (host, None, 0),
            None => {
                return Err(UriError::InvalidHost {
                    offset: start + close + 1,
                });
            }
        }
    } else {
        match auth.find(':') {
            Some(c) => (
                auth.get(..c).unwrap_or(""),
                auth.get(c + 1..),
                start + c + 1,
            ),
            None => (auth, None, 0),
        }
    };
    if host_raw.is_empty() {
        return Err(UriError::EmptyHost);
    }
    let host = parse_host(host_raw, start)?;
    let port = match port_str {
        None | Some("") => None,
        Some(p) => {
            if !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(UriError::InvalidPort {
                    offset: port_offset,
                });
            }
            Some(p.parse::<u16>().map_err(|_| UriError::InvalidPort {
                offset: port_offset,
            })?)
        }
    };
    Ok((host, host_raw, port))
}

fn parse_host(raw: &str, start: usize) -> Result<Host<'_>, UriError> {
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        // IP-literal = "[" ( IPv6address / IPvFuture ) "]"; zone IDs (RFC 6874) are not part
        // of CoAP URIs. The core parser accepts exactly the RFC 4291 text forms.
        return inner
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| UriError::InvalidHost { offset: start });
    }
    // RFC 3986 §3.2.2: a string that parses as IPv4address is one (the core parser rejects
    // leading zeros, like dec-octet); otherwise it is a reg-name.
    if let Ok(v4) = raw.parse::<Ipv4Addr>() {
        return Ok(Host::Ipv4(v4));
    }
    validate(raw, start, |c| is_unreserved(c) || is_sub_delim(c))?;
    Ok(Host::RegName(raw))
}

/// Checks every character of `s` against `allowed`, with `%HH` accepted anywhere.
fn validate(s: &str, start: usize, allowed: impl Fn(u8) -> bool) -> Result<(), UriError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c == b'%' {
            let ok = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(UriError::BadPercentEncoding { offset: start + i });
            }
            i += 3;
        } else if allowed(c) {
            i += 1;
        } else {
            return Err(UriError::InvalidCharacter { offset: start + i });
        }
    }
    Ok(())
}

const fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 §2.3 unreserved.
const fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2 sub-delims.
const fn is_sub_delim(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// RFC 3986 §3.3 pchar without pct-encoded.
const fn is_pchar(c: u8) -> bool {
    is_unreserved(c) || is_sub_delim(c) || c == b':' || c == b'@'
}

/// Writes `value` with every byte outside `keep` percent-encoded in uppercase hex
/// (RFC 7252 §6.5).
fn write_encoded<W: fmt::Write>(
    out: &mut W,
    value: &[u8],
    keep: impl Fn(u8) -> bool,
) -> Result<(), UriError> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value {
        if keep(b) {
            out.write_char(char::from(b))
                .map_err(|_| UriError::Output)?;
        } else {
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
            for c in [b'%', hi, lo] {
                out.write_char(char::from(c))
                    .map_err(|_| UriError::Output)?;
            }
        }
    }
    Ok(())
}

/// Whether a Uri-Host value, after percent-encoding of its non-ASCII bytes (and of `%`), is a
/// valid reg-name, IP-literal or IPv4address (RFC 7252 §6.5 step 2).
fn uri_host_valid(host: &[u8]) -> bool {
    if let Ok(s) = core::str::from_utf8(host) {
        if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return inner.parse::<Ipv6Addr>().is_ok();
        }
        if s.parse::<Ipv4Addr>().is_ok() {
            return true;
        }
    }
    // Bytes that are written percent-encoded are always valid in a reg-name.
    host.iter()
        .all(|&c| host_byte_encoded(c) || is_unreserved(c) || is_sub_delim(c))
}

/// Uri-Host bytes written percent-encoded: non-ASCII ones (§6.5 step 2) and `%` itself, so that
/// a literal `%` in the option (from a decoded `%25`) keeps its meaning.
const fn host_byte_encoded(c: u8) -> bool {
    !c.is_ascii() || c == b'%'
}

/// RFC 7252 §6.5 (and RFC 8323 §8.7): composes the URI of a request from its Uri-Host,
/// Uri-Port, Uri-Path and Uri-Query options, the scheme (which says whether the request is
/// secured and over which transport) and its destination, writing it to `out`.
///
/// Two details make the result the normal form of §6.3 and keep [`Uri::decompose`] and this
/// function inverse to each other: the Uri-Host is written in lowercase (hosts are
/// case-insensitive), and a `%` in the Uri-Host value is percent-encoded like the non-ASCII
/// bytes of step 2 (otherwise `%41` in an option would come back as `A`).
///
/// # Errors
/// [`UriError::InvalidUriHost`] (nothing is written then), [`UriError::Output`].
pub fn compose<'x, W: fmt::Write>(
    out: &mut W,
    scheme: Scheme,
    destination: &Destination,
    uri_host: Option<&[u8]>,
    uri_port: Option<u16>,
    uri_path: impl IntoIterator<Item = &'x [u8]>,
    uri_query: impl IntoIterator<Item = &'x [u8]>,
) -> Result<(), UriError> {
    if let Some(host) = uri_host {
        if !uri_host_valid(host) {
            return Err(UriError::InvalidUriHost);
        }
    }
    let w = |r: fmt::Result| r.map_err(|_| UriError::Output);
    // Step 1.
    w(write!(out, "{scheme}://"))?;
    // Steps 2 and 3: non-ASCII bytes percent-encoded; otherwise the destination address
    // (IPv6 in the RFC 5952 text form, which `Ipv6Addr`'s Display produces). The host is
    // case-insensitive and its normal form lowercase (§6.3), which the steps are "designed to
    // lead to": ASCII letters are written in lowercase, so that composing is idempotent over
    // decomposition (§6.4 step 5 lowercases).
    match uri_host {
        Some(host) => {
            for &b in host {
                let lower = [b.to_ascii_lowercase()];
                write_encoded(out, &lower, |c| !host_byte_encoded(c))?;
            }
        }
        None => match destination.ip {
            IpAddr::V4(a) => w(write!(out, "{a}"))?,
            IpAddr::V6(a) => w(write!(out, "[{a}]"))?,
        },
    }
    // Steps 4 and 5.
    let port = uri_port.unwrap_or(destination.port);
    if port != scheme.default_port() {
        w(write!(out, ":{port}"))?;
    }
    // Steps 6 and 7.
    let mut empty = true;
    for segment in uri_path {
        empty = false;
        w(out.write_char('/'))?;
        write_encoded(out, segment, is_pchar)?;
    }
    if empty {
        w(out.write_char('/'))?;
    }
    // Step 8.
    for (i, arg) in uri_query.into_iter().enumerate() {
        w(out.write_char(if i == 0 { '?' } else { '&' }))?;
        write_encoded(out, arg, |c| {
            (is_pchar(c) && c != b'&') || c == b'/' || c == b'?'
        })?;
    }
    Ok(())
}

/// [`compose`] from the Uri-Host, Uri-Port, Uri-Path and Uri-Query options found among
/// `options` (of a UDP message or a TCP frame, in order).
///
/// # Errors
/// As [`compose`]; a Uri-Port value longer than 2 bytes is [`UriError::InvalidPort`] (offset 0).
pub fn compose_from_options<'x, W: fmt::Write, I>(
    out: &mut W,
    scheme: Scheme,
    destination: &Destination,
    options: I,
) -> Result<(), UriError>
where
    I: IntoIterator<Item = OptionRef<'x>>,
    I::IntoIter: Clone,
{
    let options = options.into_iter();
    let first = |n: OptionNumber| options.clone().find(|o| o.number == n);
    let uri_host = first(OptionNumber::URI_HOST).map(|o| o.value);
    let uri_port = match first(OptionNumber::URI_PORT) {
        Some(o) => Some(
            decode_uint(o.value)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or(UriError::InvalidPort { offset: 0 })?,
        ),
        None => None,
    };
    let of = |n: OptionNumber| {
        options
            .clone()
            .filter(move |o| o.number == n)
            .map(|o| o.value)
    };
    compose(
        out,
        scheme,
        destination,
        uri_host,
        uri_port,
        of(OptionNumber::URI_PATH),
        of(OptionNumber::URI_QUERY),
    )
}

/// [`compose`] into a new `String`.
///
/// # Errors
/// As [`compose`].
#[cfg(feature = "alloc")]
pub fn compose_string<'x>(
    scheme: Scheme,
    destination: &Destination,
    uri_host: Option<&[u8]>,
    uri_port: Option<u16>,
    uri_path: impl IntoIterator<Item = &'x [u8]>,
    uri_query: impl IntoIterator<Item = &'x [u8]>,
) -> Result<String, UriError> {
    let mut s = String::new();
    compose(
        &mut s,
        scheme,
        destination,
        uri_host,
        uri_port,
        uri_path,
        uri_query,
    )?;
    Ok(s)
}

#[cfg(all(test, feature = "alloc"))] // the tests build owned values
mod tests {
    use super::*;
    use alloc::vec;

    fn dest4() -> Destination {
        Destination {
            ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
            port: 5683,
        }
    }

    #[test]
    fn rejects_with_typed_errors() {
        assert_eq!(Uri::parse("/just/a/path"), Err(UriError::NotAbsolute));
        assert_eq!(Uri::parse("//host/x"), Err(UriError::NotAbsolute));
        assert_eq!(Uri::parse("http://h/"), Err(UriError::UnsupportedScheme));
        assert_eq!(Uri::parse("coap+ws://h/"), Err(UriError::UnsupportedScheme));
        assert_eq!(
            Uri::parse("coap://h/a#frag"),
            Err(UriError::Fragment { offset: 10 })
        );
        assert_eq!(Uri::parse("coap:/h"), Err(UriError::MissingAuthority));
        assert_eq!(
            Uri::parse("coap://u@h/"),
            Err(UriError::UserInfo { offset: 8 })
        );
        assert_eq!(Uri::parse("coap:///x"), Err(UriError::EmptyHost));
        assert_eq!(
            Uri::parse("coap://h:65536/"),
            Err(UriError::InvalidPort { offset: 9 })
        );
        assert_eq!(
            Uri::parse("coap://h:-1/"),
            Err(UriError::InvalidPort { offset: 9 })
        );
        assert_eq!(
            Uri::parse("coap://[::1/"),
            Err(UriError::InvalidHost { offset: 7 })
        );
        assert_eq!(
            Uri::parse("coap://[fe80::1%25eth0]/"),
            Err(UriError::InvalidHost { offset: 7 })
        );
        assert_eq!(
            Uri::parse("coap://[::1]x/"),
            Err(UriError::InvalidHost { offset: 12 })
        );
        assert_eq!(
            Uri::parse("coap://h/%4"),
            Err(UriError::BadPercentEncoding { offset: 9 })
        );
        assert_eq!(
            Uri::parse("coap://h/%zz"),
            Err(UriError::BadPercentEncoding { offset: 9 })
        );
        assert_eq!(
            Uri::parse("coap://h/?a=%"),
            Err(UriError::BadPercentEncoding { offset: 12 })
        );
        assert_eq!(
            Uri::parse("coap://h%g0/"),
            Err(UriError::BadPercentEncoding { offset: 8 })
        );
        assert_eq!(
            Uri::parse("coap://h/a b"),
            Err(UriError::InvalidCharacter { offset: 10 })
        );
        assert_eq!(
            Uri::parse("coap://h/é"),
            Err(UriError::InvalidCharacter { offset: 9 })
        );
    }

    #[test]
    fn ipv6_and_defaults() {
        let u = Uri::parse("COAPS+TCP://[2001:DB8::1]:/").unwrap();
        assert_eq!(u.scheme(), Scheme::CoapsTcp);
        assert_eq!(u.host(), Host::Ipv6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.effective_port(), 5684);
        assert_eq!(Uri::parse("coap+tcp://h").unwrap().effective_port(), 5683);
        assert_eq!(Uri::parse("coaps://h").unwrap().effective_port(), 5684);
        // 256 is no dec-octet: a reg-name.
        assert_eq!(
            Uri::parse("coap://1.2.3.256/").unwrap().host(),
            Host::RegName("1.2.3.256")
        );
    }

    #[test]
    fn decompose_omits_host_and_port_of_destination() {
        let u = Uri::parse("coap://198.51.100.1/").unwrap();
        let o = u.decompose(&dest4());
        assert!(o.uri_host.is_none());
        assert!(o.uri_port.is_none());
        assert_eq!(o.uri_path.count(), 0);
        assert_eq!(o.uri_query.count(), 0);
        let u = Uri::parse("coap://[2001:db8::1]:1234/a/").unwrap();
        let o = u.decompose(&dest4());
        assert_eq!(o.uri_host.unwrap().to_vec(), b"[2001:db8::1]");
        assert_eq!(o.uri_port, Some(1234));
        let segs: Vec<Vec<u8>> = o.uri_path.map(|s| s.to_vec()).collect();
        assert_eq!(segs, vec![b"a".to_vec(), vec![]]);
        // Lowercase first, then percent-decoding: %4A stays "J".
        let u = Uri::parse("coap://Ex%4Ample/").unwrap();
        assert_eq!(u.decompose(&dest4()).uri_host.unwrap().to_vec(), b"exJmple");
    }

    #[test]
    fn uri_host_percent_and_case_survive_a_round_trip() {
        // Found by fuzzing: "%25ff" decodes to "%ff", which must not come back as byte 0xFF.
        let d = dest4();
        let u = Uri::parse("coap://4%25ffAB!/").unwrap();
        let host = u.decompose(&d).uri_host.unwrap().to_vec();
        assert_eq!(host, b"4%ffab!");
        let none: [&[u8]; 0] = [];
        let text = compose_string(Scheme::Coap, &d, Some(&host), None, none, none).unwrap();
        assert_eq!(text, "coap://4%25ffab!/");
        let again = Uri::parse(&text)
            .unwrap()
            .decompose(&d)
            .uri_host
            .unwrap()
            .to_vec();
        assert_eq!(again, host);
    }

    #[test]
    fn compose_rejects_invalid_host() {
        let d = dest4();
        let none: [&[u8]; 0] = [];
        assert_eq!(
            compose_string(Scheme::Coap, &d, Some(b"a b"), None, none, none),
            Err(UriError::InvalidUriHost)
        );
        assert_eq!(
            compose_string(Scheme::Coap, &d, Some(b"[zz]"), None, none, none),
            Err(UriError::InvalidUriHost)
        );
        assert_eq!(
            compose_string(Scheme::CoapTcp, &d, None, Some(5683), none, none).unwrap(),
            "coap+tcp://198.51.100.1/"
        );
    }
}
