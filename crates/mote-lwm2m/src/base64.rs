//! Base64 (RFC 4648 §4) for the plain-text opaque representation and base64url without
//! padding (RFC 4648 §5) for SenML JSON `vd` (RFC 8428 §4.3).

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;

/// Which alphabet to encode with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alphabet {
    /// `+/` with `=` padding.
    Standard,
    /// `-_` without padding.
    #[cfg_attr(not(feature = "senml-json"), allow(dead_code))]
    UrlSafeNoPad,
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub(crate) fn encode(data: &[u8], alphabet: Alphabet) -> String {
    let table = match alphabet {
        Alphabet::Standard => STD,
        Alphabet::UrlSafeNoPad => URL,
    };
    let sym = |i: u32| char::from(table.get((i & 63) as usize).copied().unwrap_or(b'A'));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = u32::from(chunk.first().copied().unwrap_or(0));
        let b1 = u32::from(chunk.get(1).copied().unwrap_or(0));
        let b2 = u32::from(chunk.get(2).copied().unwrap_or(0));
        let n = (b0 << 16) | (b1 << 8) | b2;
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        if chunk.len() > 1 {
            out.push(sym(n >> 6));
        } else if alphabet == Alphabet::Standard {
            out.push('=');
        }
        if chunk.len() > 2 {
            out.push(sym(n));
        } else if alphabet == Alphabet::Standard {
            out.push('=');
        }
    }
    out
}

/// Decodes either alphabet, with or without padding. Non-zero trailing bits are rejected
/// (canonical form), as are characters outside the alphabets.
pub(crate) fn decode(s: &str) -> Result<Vec<u8>, Error> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return Err(Error::InvalidValue);
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return Err(Error::InvalidValue),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err(Error::InvalidValue);
    }
    Ok(out)
}
