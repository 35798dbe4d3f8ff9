//! The strict CBOR subset EDHOC uses (RFC 9528 §3.1, RFC 8949 §4.2.1).
//!
//! EDHOC requires deterministic encoding: the reader rejects heads that are not as short as
//! possible (RFC 9529 §4.3.1), indefinite lengths (§4.3.2) and reserved values, and checks every
//! length against the bytes present before using it.

use crate::buffer::Sink;
use crate::error::Error;

/// Nesting bound for skipping unknown items.
const MAX_DEPTH: usize = 8;

pub(crate) const MAJOR_UINT: u8 = 0;
pub(crate) const MAJOR_NINT: u8 = 1;
pub(crate) const MAJOR_BSTR: u8 = 2;
pub(crate) const MAJOR_TSTR: u8 = 3;
pub(crate) const MAJOR_ARRAY: u8 = 4;
pub(crate) const MAJOR_MAP: u8 = 5;
pub(crate) const MAJOR_TAG: u8 = 6;
pub(crate) const MAJOR_SIMPLE: u8 = 7;

/// CBOR `true`, the A.2 prefix of message_1.
pub(crate) const TRUE: u8 = 0xf5;

/// A strict reader over a CBOR sequence.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    #[cfg_attr(not(feature = "id-cred-maps"), allow(dead_code))]
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub(crate) fn err(&self, reason: &'static str) -> Error {
        Error::Malformed {
            offset: self.pos,
            reason,
        }
    }

    /// The initial byte of the next item, if any.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn peek_major(&self) -> Option<u8> {
        self.peek().map(|b| b >> 5)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err(diag!("length overflow")))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err(diag!("unexpected end of input")))?;
        self.pos = end;
        Ok(s)
    }

    /// Reads a head (major type, argument); only shortest-form definite heads are accepted.
    pub(crate) fn head(&mut self) -> Result<(u8, u64), Error> {
        let start = self.pos;
        let ib = *self
            .take(1)?
            .first()
            .ok_or_else(|| self.err(diag!("unexpected end of input")))?;
        let major = ib >> 5;
        let ai = ib & 0x1f;
        let (arg, min) = match ai {
            0..=23 => (u64::from(ai), 0),
            // 1, 2, 4 or 8 bytes follow; the shortest form needs at least 24, 2^8, 2^16, 2^32.
            24..=27 => {
                let width = ai - 24;
                let arg = self
                    .take(1 << width)?
                    .iter()
                    .fold(0u64, |a, b| a << 8 | u64::from(*b));
                (arg, if width == 0 { 24 } else { 1u64 << (4 << width) })
            }
            _ => {
                self.pos = start;
                return Err(self.err(diag!("indefinite length or reserved value (RFC 9528 §3.1)")));
            }
        };
        // RFC 8949 §4.2.1: arguments as short as possible. Major type 7 with ai 24 encodes simple
        // values 32..255 (RFC 8949 §3.3); floats (25..27) are not used by EDHOC.
        if arg < min && !(major == MAJOR_SIMPLE && ai == 24 && arg >= 32) {
            self.pos = start;
            return Err(self.err(diag!(
                "non-deterministic CBOR: argument not in shortest form"
            )));
        }
        if major == MAJOR_SIMPLE && ai >= 25 {
            self.pos = start;
            return Err(self.err(diag!("floating-point values are not used in EDHOC")));
        }
        Ok((major, arg))
    }

    fn expect(&mut self, major: u8, reason: &'static str) -> Result<u64, Error> {
        let start = self.pos;
        let (m, arg) = self.head()?;
        if m != major {
            self.pos = start;
            return Err(self.err(reason));
        }
        Ok(arg)
    }

    pub(crate) fn int(&mut self) -> Result<i64, Error> {
        let start = self.pos;
        let (m, arg) = self.head()?;
        let v = match m {
            MAJOR_UINT => i64::try_from(arg).ok(),
            MAJOR_NINT => i64::try_from(arg).ok().map(|a| -1 - a),
            _ => None,
        };
        v.ok_or_else(|| {
            self.pos = start;
            self.err(diag!("expected integer"))
        })
    }

    fn len(&self, arg: u64) -> Result<usize, Error> {
        usize::try_from(arg).map_err(|_| self.err(diag!("length too large")))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let arg = self.expect(MAJOR_BSTR, diag!("expected byte string"))?;
        let n = self.len(arg)?;
        self.take(n)
    }

    pub(crate) fn text(&mut self) -> Result<&'a str, Error> {
        let arg = self.expect(MAJOR_TSTR, diag!("expected text string"))?;
        let n = self.len(arg)?;
        let at = self.pos;
        let b = self.take(n)?;
        core::str::from_utf8(b).map_err(|_| Error::Malformed {
            offset: at,
            reason: diag!("invalid UTF-8"),
        })
    }

    pub(crate) fn array(&mut self) -> Result<usize, Error> {
        self.container(
            MAJOR_ARRAY,
            diag!("expected array"),
            diag!("array longer than the input"),
        )
    }

    pub(crate) fn map(&mut self) -> Result<usize, Error> {
        self.container(
            MAJOR_MAP,
            diag!("expected map"),
            diag!("map longer than the input"),
        )
    }

    /// The head of an array or map and its item count, which the input must be able to hold:
    /// each array item takes at least one byte, each map entry two.
    fn container(
        &mut self,
        major: u8,
        expected: &'static str,
        too_long: &'static str,
    ) -> Result<usize, Error> {
        let arg = self.expect(major, expected)?;
        let n = self.len(arg)?;
        let per_item = if major == MAJOR_MAP { 2 } else { 1 };
        if n > self.buf.len().saturating_sub(self.pos) / per_item {
            return Err(self.err(too_long));
        }
        Ok(n)
    }

    /// Skips one complete, well-formed, deterministic item and returns its encoding.
    pub(crate) fn item(&mut self) -> Result<&'a [u8], Error> {
        let start = self.pos;
        self.skip(0)?;
        Ok(self.buf.get(start..self.pos).unwrap_or(&[]))
    }

    fn skip(&mut self, depth: usize) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return Err(self.err(diag!("nesting too deep")));
        }
        let (major, arg) = self.head()?;
        match major {
            MAJOR_BSTR => {
                self.take(self.len(arg)?)?;
            }
            MAJOR_TSTR => {
                let at = self.pos;
                let b = self.take(self.len(arg)?)?;
                if !is_utf8(b) {
                    return Err(Error::Malformed {
                        offset: at,
                        reason: diag!("invalid UTF-8"),
                    });
                }
            }
            MAJOR_ARRAY | MAJOR_MAP => {
                let n = self.len(arg)?;
                if n > self.buf.len().saturating_sub(self.pos) {
                    return Err(self.err(diag!("container longer than the input")));
                }
                let items = if major == MAJOR_MAP {
                    n.saturating_mul(2)
                } else {
                    n
                };
                for _ in 0..items {
                    self.skip(depth + 1)?;
                }
            }
            MAJOR_TAG => self.skip(depth + 1)?,
            _ => {}
        }
        Ok(())
    }
}

/// Whether `b` is valid UTF-8 (RFC 3629): the answer of `core::str::from_utf8(b).is_ok()`,
/// for text strings that are skipped and so need no `&str`. A short loop instead of core's
/// validator, whose 256-byte width table and word-at-a-time fast path cost a device about
/// 0.5 KB (docs/performance.md, mote-edhoc Footprint).
fn is_utf8(b: &[u8]) -> bool {
    let mut it = b.iter();
    while let Some(&c) = it.next() {
        // Continuation bytes, smallest code point of that length (no overlong forms), bits.
        let (n, min, mut cp) = match c {
            0x00..=0x7f => continue,
            0xc2..=0xdf => (1, 0x80, u32::from(c & 0x1f)),
            0xe0..=0xef => (2, 0x800, u32::from(c & 0x0f)),
            0xf0..=0xf4 => (3, 0x1_0000, u32::from(c & 0x07)),
            _ => return false,
        };
        for _ in 0..n {
            match it.next() {
                Some(&d) if d & 0xc0 == 0x80 => cp = cp << 6 | u32::from(d & 0x3f),
                _ => return false,
            }
        }
        // No surrogates, nothing above U+10FFFF.
        if cp < min || cp > 0x10_ffff || (0xd800..=0xdfff).contains(&cp) {
            return false;
        }
    }
    true
}

/// Writes a CBOR head in shortest form.
pub(crate) fn head(out: &mut dyn Sink, major: u8, arg: u64) -> Result<(), Error> {
    let mt = major << 5;
    let b = arg.to_be_bytes();
    let (ib, n) = match arg {
        0..=23 => (mt | arg as u8, 0),
        24..=0xff => (mt | 24, 1),
        0x100..=0xffff => (mt | 25, 2),
        0x1_0000..=0xffff_ffff => (mt | 26, 4),
        _ => (mt | 27, 8),
    };
    out.put(&[ib])?;
    out.put(b.get(8 - n..).unwrap_or(&[]))
}

pub(crate) fn int(out: &mut dyn Sink, v: i64) -> Result<(), Error> {
    if v >= 0 {
        head(out, MAJOR_UINT, v as u64)
    } else {
        head(out, MAJOR_NINT, (-1 - v) as u64)
    }
}

pub(crate) fn bytes(out: &mut dyn Sink, v: &[u8]) -> Result<(), Error> {
    head(out, MAJOR_BSTR, v.len() as u64)?;
    out.put(v)
}

pub(crate) fn text(out: &mut dyn Sink, v: &str) -> Result<(), Error> {
    head(out, MAJOR_TSTR, v.len() as u64)?;
    out.put(v.as_bytes())
}

/// Encoded length of a head with argument `arg`.
pub(crate) fn head_len(arg: u64) -> usize {
    match arg {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Whether `b` is a complete one-byte CBOR integer encoding (-24..=23), RFC 9528 §3.3.2.
pub(crate) fn is_one_byte_int(b: u8) -> bool {
    b <= 0x17 || (0x20..=0x37).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::Bytes;

    #[test]
    fn heads_are_shortest_and_strict() {
        // RFC 8949 Appendix A: 23 → 17, 24 → 18 18, 1000 → 19 03 e8, -500 → 39 01 f3.
        for (v, enc) in [
            (23i64, &[0x17][..]),
            (24, &[0x18, 0x18]),
            (1000, &[0x19, 0x03, 0xe8]),
            (-500, &[0x39, 0x01, 0xf3]),
        ] {
            let mut b = Bytes::<9>::new();
            int(&mut b, v).unwrap();
            assert_eq!(b.as_slice(), enc);
            assert_eq!(Reader::new(enc).int().unwrap(), v);
            assert_eq!(head_len(v.unsigned_abs()), enc.len());
        }
        // Non-shortest (RFC 9529 §4.3.1), indefinite (§4.3.2), floats, truncated: rejected.
        for bad in [
            &[0x18, 0x05][..],
            &[0x19, 0x00, 0x03],
            &[0x9f, 0x06, 0xff],
            &[0xf9, 0, 0],
            &[0x58],
            &[0x42, 0x01],
        ] {
            assert!(Reader::new(bad).item().is_err(), "{bad:02x?}");
        }
        assert!(Reader::new(&[0xf8, 0x20]).item().is_ok()); // simple(32) is valid
    }

    #[test]
    fn containers_cannot_claim_more_than_the_input() {
        assert!(
            Reader::new(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
                .array()
                .is_err()
        );
        assert!(Reader::new(&[0xb9, 0xff, 0xff]).map().is_err());
        let deep = [0x81u8; 20];
        assert!(Reader::new(&deep).item().is_err());
    }

    #[test]
    fn one_byte_ints() {
        assert!(
            is_one_byte_int(0x00)
                && is_one_byte_int(0x17)
                && is_one_byte_int(0x20)
                && is_one_byte_int(0x37)
        );
        assert!(!is_one_byte_int(0x18) && !is_one_byte_int(0x38) && !is_one_byte_int(0x40));
    }

    // `is_utf8` gives core's answer: every 1- and 2-byte input, every 3-byte input starting
    // with a lead byte, 4-byte inputs over every lead and second byte with boundary
    // continuation bytes, and valid text of every length class with its first byte changed.
    #[test]
    fn is_utf8_agrees_with_core() {
        let same = |b: &[u8]| {
            assert_eq!(is_utf8(b), core::str::from_utf8(b).is_ok(), "{b:02x?}");
        };
        for a in 0..=255u8 {
            same(&[a]);
            for b in 0..=255u8 {
                same(&[a, b]);
                if a >= 0xc0 {
                    for c in 0..=255u8 {
                        same(&[a, b, c]);
                    }
                }
            }
        }
        let edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
        for a in 0xc0..=0xffu8 {
            for b in 0..=255u8 {
                for c in edges {
                    for d in edges {
                        same(&[a, b, c, d]);
                        same(&[b'x', a, b, c, d, b'y']);
                    }
                }
            }
        }
        let text = "a\u{7f}\u{80}\u{7ff}\u{800}\u{d7ff}\u{e000}\u{fffd}\u{10000}\u{10ffff}";
        same(text.as_bytes());
        for i in 0..text.len() {
            let mut b = [0u8; 32];
            let b = &mut b[..text.len()];
            b.copy_from_slice(text.as_bytes());
            for v in [0x80, 0xbf, 0xc1, 0xed, 0xf4, 0xf5] {
                b[i] = v;
                same(b);
                same(&b[..i]);
            }
        }
        // A skipped text string with invalid UTF-8 is malformed at its content's offset.
        let mut r = Reader::new(&[0x82, 0x61, b'a', 0x62, 0xc3, 0x28]);
        assert!(matches!(r.item(), Err(Error::Malformed { offset: 4, .. })));
        assert!(
            Reader::new(&[0x82, 0x61, b'a', 0x62, 0xc3, 0xa9])
                .item()
                .is_ok()
        );
    }
}
