//! Small CBOR helpers over `minicbor` shared by SenML-CBOR, LwM2M-CBOR and the single
//! value CBOR format: preferred (shortest) float serialization (RFC 8949 §4.2.2) and
//! half-float decoding without the `half` crate.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use minicbor::data::Type;
use minicbor::encode::Write;
use minicbor::{Decoder, Encoder};

use crate::error::Error;
use crate::senml::{f16_exact, f16_to_f64};

/// A `minicbor` writer that only counts bytes: encoders run over it to tell their length
/// up front without allocating.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counter(pub(crate) usize);

impl minicbor::encode::Write for Counter {
    type Error = core::convert::Infallible;
    fn write_all(&mut self, buf: &[u8]) -> Result<(), Self::Error> {
        self.0 += buf.len();
        Ok(())
    }
}

/// Where encoded CBOR goes: a `Vec`, a [`Counter`], or a `minicbor` encoder's writer (the
/// LwM2M-CBOR encoder's). The writers below are a few heads (RFC 8949 §3, preferred
/// serialization §4.2.1), so the device's encoders link no `minicbor` encoder.
pub(crate) trait Sink {
    /// Appends bytes.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

impl<W: Write> Sink for Encoder<W> {
    fn put(&mut self, bytes: &[u8]) {
        let _ = self.writer_mut().write_all(bytes);
    }
}

/// An item head: major type and argument in the shortest form.
pub(crate) fn put_head(out: &mut impl Sink, major: u8, arg: u64) {
    let m = major << 5;
    let b = arg.to_be_bytes();
    match arg {
        0..=23 => out.put(&[m | arg as u8]),
        24..=0xFF => out.put(&[m | 24, arg as u8]),
        0x100..=0xFFFF => out.put(&[m | 25, b[6], b[7]]),
        0x1_0000..=0xFFFF_FFFF => out.put(&[m | 26, b[4], b[5], b[6], b[7]]),
        _ => out.put(&[m | 27, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
    }
}

/// An integer: major type 0, or 1 for a negative one.
pub(crate) fn put_int(out: &mut impl Sink, i: i64) {
    match u64::try_from(i) {
        Ok(u) => put_head(out, 0, u),
        Err(_) => put_head(out, 1, (-1 - i) as u64),
    }
}

/// A text string.
pub(crate) fn put_text(out: &mut impl Sink, s: &str) {
    put_head(out, 3, s.len() as u64);
    out.put(s.as_bytes());
}

/// A byte string.
pub(crate) fn put_bytes(out: &mut impl Sink, b: &[u8]) {
    put_head(out, 2, b.len() as u64);
    out.put(b);
}

/// `false` or `true`.
pub(crate) fn put_bool(out: &mut impl Sink, b: bool) {
    out.put(&[if b { 0xF5 } else { 0xF4 }]);
}

/// Writes `f` in the shortest of half, single and double precision that keeps its value.
pub(crate) fn put_float(out: &mut impl Sink, f: f64) {
    if let Some(h) = f16_exact(f) {
        let [a, b] = h.to_be_bytes();
        out.put(&[0xF9, a, b]);
    } else if let Some(single) = crate::senml::f32_exact(f) {
        let [a, b, c, d] = single.to_be_bytes();
        out.put(&[0xFA, a, b, c, d]);
    } else {
        let mut b = [0xFB; 9];
        for (slot, x) in b.iter_mut().skip(1).zip(f.to_be_bytes()) {
            *slot = x;
        }
        out.put(&b);
    }
}

/// A CBOR number read by [`number`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    /// An integer in `i64` range.
    Int(i64),
    /// A positive integer above `i64::MAX`.
    Uint(u64),
    /// A float.
    Float(f64),
}

pub(crate) fn malformed(format: &'static str, d: &Decoder<'_>, reason: &'static str) -> Error {
    if d.position() >= d.input().len() {
        Error::Truncated {
            format,
            offset: d.position(),
        }
    } else {
        Error::Malformed {
            format,
            offset: d.position(),
            reason,
        }
    }
}

/// Maps a `minicbor` error to ours.
pub(crate) fn cbor_err(format: &'static str, e: &minicbor::decode::Error) -> Error {
    if e.is_end_of_input() {
        Error::Truncated {
            format,
            offset: e.position().unwrap_or(0),
        }
    } else {
        Error::Malformed {
            format,
            offset: e.position().unwrap_or(0),
            reason: "invalid CBOR item",
        }
    }
}

/// Reads an integer or float.
pub(crate) fn number(format: &'static str, d: &mut Decoder<'_>) -> Result<Num, Error> {
    let t = d.datatype().map_err(|e| cbor_err(format, &e))?;
    let n = match t {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
            let u = d.u64().map_err(|e| cbor_err(format, &e))?;
            match i64::try_from(u) {
                Ok(i) => Num::Int(i),
                Err(_) => Num::Uint(u),
            }
        }
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => Num::Int(
            d.i64()
                .map_err(|_| malformed(format, d, "integer out of range"))?,
        ),
        Type::F16 => {
            let p = d.position();
            let b = d
                .input()
                .get(p + 1..p + 3)
                .ok_or(Error::Truncated { format, offset: p })?;
            let h = u16::from_be_bytes([
                b.first().copied().unwrap_or(0),
                b.get(1).copied().unwrap_or(0),
            ]);
            d.set_position(p + 3);
            Num::Float(f16_to_f64(h))
        }
        Type::F32 => Num::Float(f64::from(d.f32().map_err(|e| cbor_err(format, &e))?)),
        Type::F64 => Num::Float(d.f64().map_err(|e| cbor_err(format, &e))?),
        _ => return Err(malformed(format, d, "expected a number")),
    };
    Ok(n)
}

/// Whether the next item is the `break` of an indefinite-length container; consumes it.
pub(crate) fn at_break(d: &mut Decoder<'_>) -> bool {
    if d.input().get(d.position()) == Some(&0xFF) {
        d.set_position(d.position() + 1);
        true
    } else {
        false
    }
}

/// A minimal reader of CBOR item heads (RFC 8949 §3) over a byte slice, for the decoders'
/// fast paths. It reads only what it is asked for and says `None` on anything it does not
/// handle or that is not well-formed; the caller then falls back to its `minicbor`-based
/// path, which gives the precise error. Nothing here can panic.
pub(crate) struct Cursor<'b> {
    buf: &'b [u8],
    pos: usize,
    /// Whether a read failed for want of input (the error is then `Truncated`).
    short: bool,
    /// Where the last item head began (the offset of a `Malformed` error).
    item: usize,
}

/// An item head: major type and argument (`None` for the indefinite length of additional
/// information 31).
pub(crate) struct Head {
    pub(crate) major: u8,
    pub(crate) arg: Option<u64>,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(buf: &'b [u8]) -> Self {
        Cursor {
            buf,
            pos: 0,
            short: false,
            item: 0,
        }
    }

    /// The error of a payload this reader declined, for a decoder without a general path
    /// to ask (feature `cbor-diagnostics` off): `Truncated` when the input ran out,
    /// otherwise `Malformed` at the item where the reader stopped.
    #[cfg_attr(feature = "cbor-diagnostics", allow(dead_code))]
    pub(crate) fn error(&self, format: &'static str) -> Error {
        if self.short {
            Error::Truncated {
                format,
                offset: self.buf.len(),
            }
        } else {
            Error::Malformed {
                format,
                offset: self.item,
                reason: "not well-formed CBOR or an unexpected item",
            }
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let s = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end));
        match s {
            Some(s) => {
                self.pos += n;
                Some(s)
            }
            None => {
                self.short = true;
                None
            }
        }
    }

    /// Consumes the `break` stop code if it comes next.
    pub(crate) fn at_break(&mut self) -> bool {
        if self.peek() == Some(0xFF) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Reads an item head. Additional information 28–30 is reserved (not well-formed);
    /// 31 is only well-formed for strings, arrays, maps (indefinite length) and `break`,
    /// which the caller checks by major type.
    pub(crate) fn head(&mut self) -> Option<Head> {
        self.item = self.pos;
        let ib = *self.take(1)?.first()?;
        let major = ib >> 5;
        let arg = match ib & 0x1F {
            ai @ 0..=23 => Some(u64::from(ai)),
            24 => Some(u64::from(*self.take(1)?.first()?)),
            25 => Some(u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().ok()?,
            ))),
            26 => Some(u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            27 => Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            31 if matches!(major, 2..=5) => None,
            _ => return None,
        };
        Some(Head { major, arg })
    }

    /// A container head of major type `major` (4 array, 5 map): `Some(None)` for an
    /// indefinite length.
    pub(crate) fn container(&mut self, major: u8) -> Option<Option<u64>> {
        let h = self.head()?;
        (h.major == major).then_some(h.arg)
    }

    /// A definite-length text string, UTF-8 checked.
    pub(crate) fn text(&mut self) -> Option<&'b str> {
        core::str::from_utf8(self.text_bytes()?).ok()
    }

    /// The bytes of a definite-length text string, for a caller that checks UTF-8 itself.
    pub(crate) fn text_bytes(&mut self) -> Option<&'b [u8]> {
        let h = self.head()?;
        if h.major != 3 {
            return None;
        }
        let n = usize::try_from(h.arg?).ok()?;
        self.take(n)
    }

    /// The `n` bytes of a text string whose head was read, UTF-8 checked.
    pub(crate) fn text_tail(&mut self, n: usize) -> Option<&'b str> {
        core::str::from_utf8(self.take(n)?).ok()
    }

    /// An unsigned integer (major type 0, any head size).
    pub(crate) fn unsigned(&mut self) -> Option<u64> {
        self.container(0)?
    }

    /// The bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// A text string of definite or indefinite length (RFC 8949 §3.2.3: definite-length
    /// chunks, each valid UTF-8), borrowed unless it came in chunks.
    pub(crate) fn text_cow(&mut self) -> Option<Cow<'b, str>> {
        match self.string(3)? {
            Cow::Borrowed(b) => core::str::from_utf8(b).ok().map(Cow::Borrowed),
            Cow::Owned(v) => String::from_utf8(v).ok().map(Cow::Owned),
        }
    }

    /// A byte string of definite or indefinite length, borrowed unless it came in chunks.
    pub(crate) fn bytes_cow(&mut self) -> Option<Cow<'b, [u8]>> {
        self.string(2)
    }

    /// A string of major type `major` (2 bytes, 3 text): definite, or the concatenation of
    /// the definite-length chunks of an indefinite one (each text chunk valid UTF-8).
    fn string(&mut self, major: u8) -> Option<Cow<'b, [u8]>> {
        let h = self.head()?;
        if h.major != major {
            return None;
        }
        if let Some(n) = h.arg {
            return self.take(usize::try_from(n).ok()?).map(Cow::Borrowed);
        }
        let mut out = Vec::new();
        while !self.at_break() {
            let chunk = self.head()?;
            if chunk.major != major {
                return None;
            }
            let part = self.take(usize::try_from(chunk.arg?).ok()?)?;
            if major == 3 {
                core::str::from_utf8(part).ok()?;
            }
            out.extend_from_slice(part);
        }
        Some(Cow::Owned(out))
    }

    /// Skips one well-formed data item (RFC 8949 §3), nested at most `depth` deep: any
    /// integer, string (text UTF-8 checked), array, map, tag or simple value and float.
    pub(crate) fn skip(&mut self, depth: u8) -> Option<()> {
        let depth = depth.checked_sub(1)?;
        match self.peek()? >> 5 {
            2 => return self.bytes_cow().map(|_| ()),
            // Text is checked as UTF-8 (RFC 8949 §3.1: invalid UTF-8 is not valid CBOR),
            // as the general reader's skip does.
            3 => return self.text_cow().map(|_| ()),
            _ => {}
        }
        let h = self.head()?;
        match (h.major, h.arg) {
            // Integers, simple values and floats (`head` refuses a stray `break`).
            (0 | 1 | 7, _) => Some(()),
            (4 | 5, Some(n)) => {
                let items = if h.major == 5 { n.checked_mul(2)? } else { n };
                for _ in 0..items {
                    self.skip(depth)?;
                }
                Some(())
            }
            (4 | 5, None) => {
                while !self.at_break() {
                    self.skip(depth)?;
                    if h.major == 5 {
                        self.skip(depth)?;
                    }
                }
                Some(())
            }
            (6, Some(_)) => self.skip(depth),
            _ => None,
        }
    }

    /// A definite-length byte string.
    pub(crate) fn bytes(&mut self) -> Option<&'b [u8]> {
        let h = self.head()?;
        if h.major != 2 {
            return None;
        }
        let n = usize::try_from(h.arg?).ok()?;
        self.take(n)
    }

    /// `false` or `true`.
    pub(crate) fn bool(&mut self) -> Option<bool> {
        self.item = self.pos;
        match self.take(1)? {
            [0xF4] => Some(false),
            [0xF5] => Some(true),
            _ => None,
        }
    }

    /// An integer (any in `i64`, and unsigned ones above) or a half, single or double
    /// float, as [`number`] reads it.
    pub(crate) fn number(&mut self) -> Option<Num> {
        self.item = self.pos;
        match self.peek()? {
            0xF9 => {
                let b = self.take(3)?;
                Some(Num::Float(f16_to_f64(u16::from_be_bytes(
                    b.get(1..3)?.try_into().ok()?,
                ))))
            }
            0xFA => {
                let b = self.take(5)?;
                Some(Num::Float(crate::senml::f32_to_f64(u32::from_be_bytes(
                    b.get(1..5)?.try_into().ok()?,
                ))))
            }
            0xFB => {
                let b = self.take(9)?;
                Some(Num::Float(f64::from_be_bytes(
                    b.get(1..9)?.try_into().ok()?,
                )))
            }
            _ => {
                let h = self.head()?;
                let u = h.arg?;
                match h.major {
                    0 => Some(match i64::try_from(u) {
                        Ok(i) => Num::Int(i),
                        Err(_) => Num::Uint(u),
                    }),
                    1 => Some(Num::Int(-1 - i64::try_from(u).ok()?)),
                    _ => None,
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_writers_write_what_minicbor_writes() {
        let ints = [
            0i64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            0xFFFF_FFFF,
            0x1_0000_0000,
            i64::MAX,
            -1,
            -24,
            -25,
            -256,
            -257,
            -65537,
            i64::MIN,
        ];
        for i in ints {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            put_int(&mut ours, i);
            Encoder::new(&mut theirs).i64(i).unwrap();
            assert_eq!(ours, theirs, "{i}");
        }
        for u in [u64::MAX, 1 << 63] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            put_head(&mut ours, 0, u);
            Encoder::new(&mut theirs).u64(u).unwrap();
            assert_eq!(ours, theirs, "{u}");
        }
        let text = "a".repeat(300);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        put_text(&mut ours, &text);
        put_bytes(&mut ours, text.as_bytes());
        put_bool(&mut ours, true);
        put_bool(&mut ours, false);
        let mut e = Encoder::new(&mut theirs);
        e.str(&text).unwrap().bytes(text.as_bytes()).unwrap();
        e.bool(true).unwrap().bool(false).unwrap();
        assert_eq!(ours, theirs);
        // RFC 8949 Appendix A: 1.5 (half), 100000.0 (single), 1.1 (double).
        let mut floats = Vec::new();
        for f in [1.5, 100_000.0, 1.1] {
            put_float(&mut floats, f);
        }
        assert_eq!(
            floats,
            [
                0xF9, 0x3E, 0x00, 0xFA, 0x47, 0xC3, 0x50, 0x00, 0xFB, 0x3F, 0xF1, 0x99, 0x99, 0x99,
                0x99, 0x99, 0x9A
            ]
        );
        // The counter counts what the `Vec` gets.
        let mut n = Counter::default();
        put_text(&mut n, &text);
        assert_eq!(n.0, 3 + 300);
    }
}
