//! The structures that COSE authenticates: `Enc_structure` (RFC 9052 §5.3), `MAC_structure`
//! (RFC 9052 §6.3) and `Sig_structure` (RFC 9052 §4.4).
//!
//! Each is written through a [`Write`], so it can go into a caller's buffer, a vector, or a
//! [`LenCounter`](crate::cbor::LenCounter). `MAC_structure` can also be produced as a list of
//! slices ([`mac_structure_parts`]) and fed to the MAC without copying the payload.
//!
//! ```
//! use mote_cose::structure::{EncContext, enc_structure_into};
//!
//! // RFC 8613 §5.4 uses ["Encrypt0", h'', external_aad] as the OSCORE AAD.
//! let mut buf = [0u8; 32];
//! let aad = enc_structure_into(&mut buf, EncContext::Encrypt0, &[], &[0x85])?;
//! assert_eq!(aad, &[0x83, 0x68, b'E', b'n', b'c', b'r', b'y', b'p', b't', b'0', 0x40, 0x41, 0x85]);
//! # Ok::<(), mote_cose::Error>(())
//! ```

use crate::Error;
use crate::cbor::{Encoder, SliceWriter, Write, head_len, str_len};

/// The `context` of an `Enc_structure` (RFC 9052 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncContext {
    /// `"Encrypt0"`.
    Encrypt0,
    /// `"Encrypt"`.
    Encrypt,
    /// `"Enc_Recipient"`.
    EncRecipient,
    /// `"Mac_Recipient"`.
    MacRecipient,
    /// `"Rec_Recipient"`.
    RecRecipient,
}

impl EncContext {
    /// The encoded start of the `Enc_structure`: the array head and the context string.
    const fn prefix(self) -> &'static [u8] {
        match self {
            Self::Encrypt0 => b"\x83\x68Encrypt0",
            Self::Encrypt => b"\x83\x67Encrypt",
            Self::EncRecipient => b"\x83\x6dEnc_Recipient",
            Self::MacRecipient => b"\x83\x6dMac_Recipient",
            Self::RecRecipient => b"\x83\x6dRec_Recipient",
        }
    }

    /// The context string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt0 => "Encrypt0",
            Self::Encrypt => "Encrypt",
            Self::EncRecipient => "Enc_Recipient",
            Self::MacRecipient => "Mac_Recipient",
            Self::RecRecipient => "Rec_Recipient",
        }
    }
}

/// The `context` of a `MAC_structure` (RFC 9052 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacContext {
    /// `"MAC"` (COSE_Mac).
    Mac,
    /// `"MAC0"` (COSE_Mac0).
    Mac0,
}

impl MacContext {
    /// The context string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mac => "MAC",
            Self::Mac0 => "MAC0",
        }
    }
}

/// Writes `Enc_structure = [context, protected: empty_or_serialized_map, external_aad: bstr]`.
pub fn enc_structure<W: Write>(
    w: W,
    context: EncContext,
    protected: &[u8],
    external_aad: &[u8],
) -> Result<(), Error> {
    let mut enc = Encoder::new(w);
    // The array head and the context string are constant: one write.
    enc.raw(context.prefix())?
        .bytes(protected)?
        .bytes(external_aad)?;
    Ok(())
}

/// Length of the `Enc_structure`.
#[inline]
pub fn enc_structure_len(context: EncContext, protected: &[u8], external_aad: &[u8]) -> usize {
    1 + str_len(context.as_str().len()) + str_len(protected.len()) + str_len(external_aad.len())
}

/// Writes the `Enc_structure` into `out` and returns it.
pub fn enc_structure_into<'b>(
    out: &'b mut [u8],
    context: EncContext,
    protected: &[u8],
    external_aad: &[u8],
) -> Result<&'b [u8], Error> {
    let need = enc_structure_len(context, protected, external_aad);
    if out.len() < need {
        return Err(Error::BufferTooSmall { required: need });
    }
    let mut w = SliceWriter::new(out);
    enc_structure(&mut w, context, protected, external_aad)?;
    Ok(w.into_written())
}

/// Writes `MAC_structure = [context, protected, external_aad, payload]`.
pub fn mac_structure<W: Write>(
    w: W,
    context: MacContext,
    protected: &[u8],
    external_aad: &[u8],
    payload: &[u8],
) -> Result<(), Error> {
    let mut enc = Encoder::new(w);
    enc.array(4)?
        .text(context.as_str())?
        .bytes(protected)?
        .bytes(external_aad)?
        .bytes(payload)?;
    Ok(())
}

/// Scratch space for the CBOR heads of [`mac_structure_parts`].
#[derive(Debug)]
pub struct Heads([u8; 80]);

impl Default for Heads {
    fn default() -> Self {
        Self::new()
    }
}

impl Heads {
    /// Fresh scratch space.
    pub fn new() -> Self {
        Self([0; 80])
    }
}

fn put_head(buf: &mut [u8], at: &mut usize, major: u8, arg: u64) -> Result<(), Error> {
    let n = head_len(arg);
    let dst = buf
        .get_mut(*at..*at + n)
        .ok_or(Error::BufferTooSmall { required: *at + n })?;
    let mut w = SliceWriter::new(dst);
    Encoder::new(&mut w).head(major, arg)?;
    *at += n;
    Ok(())
}

/// The `MAC_structure` as six slices whose concatenation is its encoding; the payload, the
/// protected bytes and the external AAD are not copied.
pub fn mac_structure_parts<'a>(
    heads: &'a mut Heads,
    context: MacContext,
    protected: &'a [u8],
    external_aad: &'a [u8],
    payload: &'a [u8],
) -> Result<[&'a [u8]; 6], Error> {
    let b = &mut heads.0;
    let mut at = 0;
    put_head(b, &mut at, 4, 4)?;
    put_head(b, &mut at, 3, context.as_str().len() as u64)?;
    let ctx = context.as_str().as_bytes();
    b.get_mut(at..at + ctx.len())
        .ok_or(Error::Length("heads"))?
        .copy_from_slice(ctx);
    at += ctx.len();
    put_head(b, &mut at, 2, protected.len() as u64)?;
    let h1 = at;
    put_head(b, &mut at, 2, external_aad.len() as u64)?;
    let h2 = at;
    put_head(b, &mut at, 2, payload.len() as u64)?;
    let h3 = at;
    let (a, rest) = b.split_at(h1);
    let (c, rest) = rest.split_at(h2 - h1);
    let (d, _) = rest.split_at(h3 - h2);
    Ok([a, protected, c, external_aad, d, payload])
}

/// Writes `Sig_structure`: `["Signature1", body_protected, external_aad, payload]` when
/// `sign_protected` is `None` (COSE_Sign1), else
/// `["Signature", body_protected, sign_protected, external_aad, payload]` (COSE_Sign).
pub fn sig_structure<W: Write>(
    w: W,
    body_protected: &[u8],
    sign_protected: Option<&[u8]>,
    external_aad: &[u8],
    payload: &[u8],
) -> Result<(), Error> {
    let mut enc = Encoder::new(w);
    match sign_protected {
        None => {
            enc.array(4)?.text("Signature1")?.bytes(body_protected)?;
        }
        Some(sp) => {
            enc.array(5)?
                .text("Signature")?
                .bytes(body_protected)?
                .bytes(sp)?;
        }
    }
    enc.bytes(external_aad)?.bytes(payload)?;
    Ok(())
}

/// Length of the `Sig_structure`.
pub fn sig_structure_len(
    body_protected: &[u8],
    sign_protected: Option<&[u8]>,
    external_aad: &[u8],
    payload: &[u8],
) -> usize {
    let ctx = if sign_protected.is_some() { 9 } else { 10 };
    1 + str_len(ctx)
        + str_len(body_protected.len())
        + sign_protected.map_or(0, |s| str_len(s.len()))
        + str_len(external_aad.len())
        + str_len(payload.len())
}

/// Length of the `MAC_structure`.
pub fn mac_structure_len(
    context: MacContext,
    protected: &[u8],
    external_aad: &[u8],
    payload: &[u8],
) -> usize {
    1 + str_len(context.as_str().len())
        + str_len(protected.len())
        + str_len(external_aad.len())
        + str_len(payload.len())
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    #[test]
    fn enc_structure_prefixes_are_the_encoded_context() {
        for c in [
            EncContext::Encrypt0,
            EncContext::Encrypt,
            EncContext::EncRecipient,
            EncContext::MacRecipient,
            EncContext::RecRecipient,
        ] {
            let mut buf = [0u8; 32];
            let mut w = SliceWriter::new(&mut buf);
            Encoder::new(&mut w)
                .array(3)
                .and_then(|e| e.text(c.as_str()))
                .expect("fits");
            assert_eq!(w.written(), c.prefix(), "{c:?}");
        }
    }
}
