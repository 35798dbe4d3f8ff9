//! Small CBOR helpers over `minicbor` shared by SenML-CBOR, LwM2M-CBOR and the single
//! value CBOR format: preferred (shortest) float serialization (RFC 8949 §4.2.2) and
//! half-float decoding without the `half` crate.

use alloc::vec::Vec;

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::error::Error;
use crate::senml::{f16_exact, f16_to_f64};

/// Writes `f` in the shortest of half, single and double precision that keeps its value.
pub(crate) fn put_float(e: &mut Encoder<&mut Vec<u8>>, f: f64) {
    if let Some(h) = f16_exact(f) {
        let [a, b] = h.to_be_bytes();
        e.writer_mut().extend_from_slice(&[0xF9, a, b]);
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
