//! EDHOC's CBOR (RFC 9528 §3.1) on mote-cose's CBOR layer.
//!
//! EDHOC requires deterministic encoding, which [`mote_cose::cbor::Decoder`] enforces: only
//! the shortest heads (RFC 9529 §4.3.1), no indefinite lengths (§4.3.2) or reserved values,
//! every length checked against the bytes present. EDHOC has no floating-point values, so its
//! decoders also reject those ([`reader`]). Messages are CBOR sequences (RFC 8742) read item by
//! item with one decoder.
//!
//! Writing appends to the crate's fixed buffers ([`crate::buffer::Bytes`]) the heads mote-cose
//! encodes ([`mote_cose::cbor::encode_head`], preferred serialization, RFC 8949 §4.2.1). The
//! functions below are only that glue: they report a full buffer as this crate's
//! [`Error::Capacity`] and take any buffer through one non-generic [`Sink`]. (mote-cose's
//! `Encoder`, whose every call returns a `Result` carrying mote-cose's error, made the minimal
//! Initiator about 0.9 KB larger: docs/performance.md, mote-edhoc Footprint.)

pub(crate) use mote_cose::cbor::{Decoder, Major, head_len, is_one_byte_int};

use crate::buffer::Sink;
use crate::error::Error;

/// CBOR `true`, the A.2 prefix of message_1.
pub(crate) const TRUE: u8 = 0xf5;

/// A strict decoder over the CBOR sequence `buf`, floats rejected.
#[inline]
pub(crate) fn reader(buf: &[u8]) -> Decoder<'_> {
    Decoder::new(buf).reject_floats()
}

/// [`Error::Malformed`] at the position of the next item of `r`.
#[inline(never)]
pub(crate) fn malformed(r: &Decoder<'_>, reason: &'static str) -> Error {
    Error::Malformed {
        offset: r.position(),
        reason,
    }
}

/// Appends the head of an item of type `major` with argument `arg`.
#[inline(never)]
pub(crate) fn head(out: &mut dyn Sink, major: Major, arg: u64) -> Result<(), Error> {
    let (h, n) = mote_cose::cbor::encode_head(major as u8, arg);
    out.put(h.get(..n).unwrap_or(&[]))
}

/// Appends an integer.
pub(crate) fn int(out: &mut dyn Sink, v: i64) -> Result<(), Error> {
    if v >= 0 {
        head(out, Major::Unsigned, v as u64)
    } else {
        head(out, Major::Negative, (-1 - v) as u64)
    }
}

/// Appends a byte string.
pub(crate) fn bytes(out: &mut dyn Sink, v: &[u8]) -> Result<(), Error> {
    head(out, Major::Bytes, v.len() as u64)?;
    out.put(v)
}

/// Appends a text string.
pub(crate) fn text(out: &mut dyn Sink, v: &str) -> Result<(), Error> {
    head(out, Major::Text, v.len() as u64)?;
    out.put(v.as_bytes())
}

/// Appends an identifier in its compact form (RFC 9528 §3.3.2), as
/// [`Decoder::bstr_or_int_id`] reads it: the one-byte encoding of an int in −24..=23 as is,
/// anything else as a bstr.
pub(crate) fn id(out: &mut dyn Sink, id: &[u8]) -> Result<(), Error> {
    match id {
        [b] if is_one_byte_int(*b) => out.put(id),
        _ => bytes(out, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::Bytes;

    #[test]
    fn heads_are_shortest_and_the_reader_strict() {
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
            assert_eq!(reader(enc).i64().unwrap(), v);
            assert_eq!(head_len(v.unsigned_abs()), enc.len());
        }
        // Non-shortest (RFC 9529 §4.3.1), indefinite (§4.3.2), floats, truncated: rejected.
        for bad in [
            &[0x18, 0x05][..],
            &[0x19, 0x00, 0x03],
            &[0x9f, 0x06, 0xff],
            &[0xf9, 0, 0],
            &[0x81, 0xfa, 0, 0, 0, 0],
            &[0x58],
            &[0x42, 0x01],
        ] {
            assert!(reader(bad).item().is_err(), "{bad:02x?}");
        }
        assert!(reader(&[0xf8, 0x20]).item().is_ok()); // simple(32) is valid
        // Malformed CBOR is `Error::Malformed` at the offending offset.
        let e: Error = reader(&[0x82, 0x61, b'a', 0x62, 0xc3, 0x28])
            .item()
            .unwrap_err()
            .into();
        assert!(matches!(e, Error::Malformed { offset: 4, .. }));
    }

    #[test]
    fn writes_fail_with_capacity_and_identifiers_are_compact() {
        let mut b = Bytes::<3>::new();
        assert_eq!(
            bytes(&mut b, &[1, 2, 3]),
            Err(Error::Capacity {
                what: diag!("buffer"),
                needed: 4
            })
        );
        let mut b = Bytes::<8>::new();
        id(&mut b, &[0x37]).unwrap();
        id(&mut b, &[0x18]).unwrap();
        text(&mut b, "a").unwrap();
        assert_eq!(b.as_slice(), &[0x37, 0x41, 0x18, 0x61, b'a']);
        let mut r = reader(b.as_slice());
        assert_eq!(r.bstr_or_int_id().unwrap(), &[0x37]);
        assert_eq!(r.bstr_or_int_id().unwrap(), &[0x18]);
        assert_eq!(r.text().unwrap(), "a");
    }
}
