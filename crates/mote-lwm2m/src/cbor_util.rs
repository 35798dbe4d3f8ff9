//! Small CBOR helpers over `minicbor` shared by SenML-CBOR, LwM2M-CBOR and the single
//! value CBOR format: preferred (shortest) float serialization (RFC 8949 §4.2.2) and
//! half-float decoding without the `half` crate.

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

/// Writes `f` in the shortest of half, single and double precision that keeps its value.
pub(crate) fn put_float<W: Write>(e: &mut Encoder<W>, f: f64) {
    if let Some(h) = f16_exact(f) {
        let [a, b] = h.to_be_bytes();
        let _ = e.writer_mut().write_all(&[0xF9, a, b]);
    } else if f64::from(f as f32) == f {
        let _ = e.f32(f as f32);
    } else {
        let _ = e.f64(f);
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
}

/// An item head: major type and argument (`None` for the indefinite length of additional
/// information 31).
pub(crate) struct Head {
    pub(crate) major: u8,
    pub(crate) arg: Option<u64>,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(buf: &'b [u8]) -> Self {
        Cursor { buf, pos: 0 }
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
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
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
        match self.take(1)? {
            [0xF4] => Some(false),
            [0xF5] => Some(true),
            _ => None,
        }
    }

    /// An integer (any in `i64`, and unsigned ones above) or a half, single or double
    /// float, as [`number`] reads it.
    pub(crate) fn number(&mut self) -> Option<Num> {
        match self.peek()? {
            0xF9 => {
                let b = self.take(3)?;
                Some(Num::Float(f16_to_f64(u16::from_be_bytes(
                    b.get(1..3)?.try_into().ok()?,
                ))))
            }
            0xFA => {
                let b = self.take(5)?;
                Some(Num::Float(f64::from(f32::from_be_bytes(
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
