//! Decomposition of Proxy-Uri for OSCORE (RFC 8613 §4.1.3.3, RFC 7252 §6.4 and §6.5).
//!
//! The scheme, host and port stay outside (composed back into an outer Proxy-Uri), the path
//! and query become Inner Uri-Path and Uri-Query options.

// Without the `proxy-uri` feature only the type is used (a request with Proxy-Uri is refused
// before anything is split).
#![cfg_attr(not(feature = "proxy-uri"), allow(dead_code))]

use crate::Error;
use mote_coap::option::OptionNumber;

/// A Proxy-Uri split into the outer part and the inner path and query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProxyUri<'a> {
    /// `scheme "://" host`, as in the original URI.
    pub(crate) scheme_host: &'a [u8],
    /// `":" port` when the port is given and not the scheme's default (RFC 7252 §6.5 step 6).
    pub(crate) port: &'a [u8],
    /// The path after the authority, without the leading `/`; `None` when empty or `/`.
    pub(crate) path: Option<&'a [u8]>,
    /// The query after `?`, if any.
    pub(crate) query: Option<&'a [u8]>,
}

impl<'a> ProxyUri<'a> {
    /// Splits an absolute URI (RFC 7252 §6.4 steps 1–3: absolute, no fragment).
    pub(crate) fn parse(uri: &'a [u8]) -> Result<Self, Error> {
        let sep = find(uri, b"://").ok_or(Error::Malformed(crate::error::reason(
            "Proxy-Uri is not an absolute URI",
        )))?;
        let scheme = uri.get(..sep).unwrap_or_default();
        if scheme.is_empty()
            || !scheme
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
        {
            return Err(Error::Malformed(crate::error::reason("Proxy-Uri scheme")));
        }
        if uri.contains(&b'#') {
            return Err(Error::Malformed(crate::error::reason(
                "Proxy-Uri with a fragment",
            )));
        }
        let after = sep + 3;
        let rest = uri.get(after..).unwrap_or_default();
        let auth_len = rest
            .iter()
            .position(|&c| c == b'/' || c == b'?')
            .unwrap_or(rest.len());
        let authority = rest.get(..auth_len).unwrap_or_default();
        // Port: after the last ':' that is not inside an IP literal.
        let port_at = match authority.iter().rposition(|&c| c == b':') {
            Some(i) if !authority.get(i..).unwrap_or_default().contains(&b']') => Some(i),
            _ => None,
        };
        let host_len = port_at.unwrap_or(authority.len());
        if host_len == 0 {
            return Err(Error::Malformed(crate::error::reason(
                "Proxy-Uri without host",
            )));
        }
        let mut port = port_at.and_then(|i| authority.get(i..)).unwrap_or_default();
        if let Some(digits) = port.get(1..) {
            if !digits.iter().all(u8::is_ascii_digit) || digits.len() > 5 {
                return Err(Error::Malformed(crate::error::reason("Proxy-Uri port")));
            }
            let default: &[u8] = match scheme.to_ascii_lowercase_array().as_slice() {
                b"coap" | b"coap+tcp" | b"coap+ws" => b"5683",
                b"coaps" | b"coaps+tcp" | b"coaps+wss" => b"5684",
                b"http" => b"80",
                b"https" => b"443",
                _ => b"",
            };
            if digits.is_empty() || digits == default {
                port = &[];
            }
        }
        let scheme_host = uri.get(..after + host_len).unwrap_or_default();
        let tail = rest.get(auth_len..).unwrap_or_default();
        let (path_part, query) = match tail.iter().position(|&c| c == b'?') {
            Some(q) => (
                tail.get(..q).unwrap_or_default(),
                Some(tail.get(q + 1..).unwrap_or_default()),
            ),
            None => (tail, None),
        };
        let path = match path_part {
            [] | [b'/'] => None,
            [b'/', p @ ..] => Some(p),
            _ => return Err(Error::Malformed(crate::error::reason("Proxy-Uri path"))),
        };
        Ok(Self {
            scheme_host,
            port,
            path,
            query,
        })
    }

    /// The Inner Uri-Path and Uri-Query options, still percent-encoded, in order.
    pub(crate) fn inner_options(&self) -> InnerOptions<'a> {
        InnerOptions {
            path: self.path,
            query: self.query,
        }
    }
}

trait AsciiLower {
    fn to_ascii_lowercase_array(&self) -> Lower;
}

/// A short lowercased scheme (schemes longer than 16 bytes are not CoAP or HTTP).
struct Lower([u8; 16], usize);

impl Lower {
    fn as_slice(&self) -> &[u8] {
        self.0.get(..self.1).unwrap_or_default()
    }
}

impl AsciiLower for [u8] {
    fn to_ascii_lowercase_array(&self) -> Lower {
        let mut out = [0u8; 16];
        let n = self.len().min(16);
        for (o, c) in out.iter_mut().zip(self) {
            *o = c.to_ascii_lowercase();
        }
        Lower(out, if self.len() > 16 { 0 } else { n })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Iterator over the Uri-Path segments then Uri-Query arguments of a Proxy-Uri
/// (RFC 7252 §6.4 steps 8 and 9), values still percent-encoded.
#[derive(Debug, Clone)]
pub(crate) struct InnerOptions<'a> {
    path: Option<&'a [u8]>,
    query: Option<&'a [u8]>,
}

impl<'a> Iterator for InnerOptions<'a> {
    type Item = (OptionNumber, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.path {
            return Some(match p.iter().position(|&c| c == b'/') {
                Some(i) => {
                    self.path = p.get(i + 1..);
                    (OptionNumber::URI_PATH, p.get(..i).unwrap_or_default())
                }
                None => {
                    self.path = None;
                    (OptionNumber::URI_PATH, p)
                }
            });
        }
        let q = self.query?;
        Some(match q.iter().position(|&c| c == b'&') {
            Some(i) => {
                self.query = q.get(i + 1..);
                (OptionNumber::URI_QUERY, q.get(..i).unwrap_or_default())
            }
            None => {
                self.query = None;
                (OptionNumber::URI_QUERY, q)
            }
        })
    }
}

/// The length of `s` after percent-decoding (RFC 3986 §2.1), or an error for a bad escape.
pub(crate) fn decoded_len(s: &[u8]) -> Result<usize, Error> {
    let mut n = 0;
    let mut i = 0;
    while i < s.len() {
        if s.get(i) == Some(&b'%') {
            let ok = s
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return Err(Error::Malformed(crate::error::reason(
                    "bad percent-encoding in Proxy-Uri",
                )));
            }
            i += 3;
        } else {
            i += 1;
        }
        n += 1;
    }
    Ok(n)
}

/// Calls `f` with each percent-decoded byte of `s` (escapes already validated).
pub(crate) fn decode_each(s: &[u8], mut f: impl FnMut(u8)) {
    let hex = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    };
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'%' {
            let hi = s.get(i + 1).copied().map_or(0, hex);
            let lo = s.get(i + 2).copied().map_or(0, hex);
            f((hi << 4) | lo);
            i += 3;
        } else {
            f(c);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn rfc8613_example() {
        // RFC 8613 §4.1.3.3.
        let p = ProxyUri::parse(b"coap://example.com/resource?q=1").unwrap();
        assert_eq!(p.scheme_host, b"coap://example.com");
        assert_eq!(p.port, b"");
        let inner: Vec<_> = p.inner_options().collect();
        assert_eq!(
            inner,
            vec![
                (OptionNumber::URI_PATH, &b"resource"[..]),
                (OptionNumber::URI_QUERY, &b"q=1"[..])
            ]
        );
    }

    #[test]
    fn ports_and_literals() {
        let p = ProxyUri::parse(b"coap://[2001:db8::1]:5683/a/b/").unwrap();
        assert_eq!(p.scheme_host, b"coap://[2001:db8::1]");
        assert_eq!(p.port, b"");
        assert_eq!(p.inner_options().count(), 3);
        let p = ProxyUri::parse(b"coap://h:61616").unwrap();
        assert_eq!(p.port, b":61616");
        assert_eq!(p.inner_options().count(), 0);
        assert!(ProxyUri::parse(b"/relative").is_err());
        assert!(ProxyUri::parse(b"coap://h/x#frag").is_err());
        assert_eq!(decoded_len(b"a%20b").unwrap(), 3);
        assert!(decoded_len(b"a%2").is_err());
    }
}
