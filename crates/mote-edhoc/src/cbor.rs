//! EDHOC's CBOR (RFC 9528 §3.1): mote-cose's strict reader and writer, used as EDHOC needs them.
//!
//! EDHOC requires deterministic encoding, which [`mote_cose::cbor::Decoder`] enforces: only
//! the shortest heads (RFC 9529 §4.3.1), no indefinite lengths (§4.3.2) or reserved values,
//! every length checked against the bytes present. EDHOC has no floating-point values, so its
//! decoders also reject those ([`reader`]). Messages are CBOR sequences (RFC 8742) read item by
//! item with one decoder; everything is encoded into the crate's fixed buffers
//! ([`crate::buffer::Bytes`]) through `&mut dyn Write`, one encoder for every capacity.

pub(crate) use mote_cose::cbor::{Decoder, Encoder, Major, Write, head_len, is_one_byte_int};

use crate::error::Error;

/// CBOR `true`, the A.2 prefix of message_1.
pub(crate) const TRUE: u8 = 0xf5;

/// A strict decoder over the CBOR sequence `buf`, floats rejected.
#[inline]
pub(crate) fn reader(buf: &[u8]) -> Decoder<'_> {
    Decoder::new(buf).reject_floats()
}

/// An encoder appending to `out`.
#[inline]
pub(crate) fn writer(out: &mut dyn Write) -> Encoder<&mut dyn Write> {
    Encoder::new(out)
}

/// [`Error::Malformed`] at the position of the next item of `r`.
#[inline(never)]
pub(crate) fn malformed(r: &Decoder<'_>, reason: &'static str) -> Error {
    Error::Malformed {
        offset: r.position(),
        reason,
    }
}
