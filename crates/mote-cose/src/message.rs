//! The single-recipient messages COSE_Encrypt0 (RFC 9052 §5.2), COSE_Mac0 (§6.2) and
//! COSE_Sign1 (§4.2): zero-copy decode into borrowed views, and builders that write into the
//! caller's buffers. Only the `*_to_vec` conveniences need `alloc`.
//!
//! ```
//! use mote_cose::header::{Header, Label};
//! use mote_cose::message::{Encrypt0, Encrypt0Builder};
//!
//! let key = [0x42; 16];
//! let nonce = [0x07; 13];
//! let builder = Encrypt0Builder {
//!     protected: Header { alg: Some(Label::Int(10)), ..Header::default() },
//!     unprotected: Header { iv: Some(&nonce), ..Header::default() },
//!     tagged: true,
//! };
//! let (mut out, mut scratch) = ([0u8; 64], [0u8; 64]);
//! let n = builder.seal_into(&key, None, b"payload", b"", &mut scratch, &mut out)?;
//!
//! let msg = Encrypt0::decode(&out[..n])?;
//! let mut buf = [0u8; 64];
//! let plaintext = msg.decrypt_into(&key, None, b"", None, &mut buf)?;
//! assert_eq!(plaintext, b"payload");
//! # Ok::<(), mote_cose::Error>(())
//! ```

use crate::Error;
use crate::algorithm::{AeadAlgorithm, MacAlgorithm, SigningKey, VerifyingKey};
use crate::cbor::{Decoder, Encoder, SliceWriter, Write, str_len};
use crate::header::{Header, Label, ProtectedHeader, check_buckets};
use crate::structure::{
    EncContext, Heads, MacContext, enc_structure, mac_structure_parts, sig_structure,
    sig_structure_len,
};

/// CBOR tags of the COSE messages (RFC 9052 §2, Table 1).
pub mod tag {
    /// COSE_Sign.
    pub const SIGN: u64 = 98;
    /// COSE_Sign1.
    pub const SIGN1: u64 = 18;
    /// COSE_Encrypt.
    pub const ENCRYPT: u64 = 96;
    /// COSE_Encrypt0.
    pub const ENCRYPT0: u64 = 16;
    /// COSE_Mac.
    pub const MAC: u64 = 97;
    /// COSE_Mac0.
    pub const MAC0: u64 = 17;
}

/// Reads an optional leading tag; when present it must be `want` (RFC 9052 §2).
pub(crate) fn read_tag(dec: &mut Decoder<'_>, want: u64) -> Result<bool, Error> {
    match dec.optional_tag()? {
        None => Ok(false),
        Some(t) if t == want => Ok(true),
        Some(_) => Err(Error::Structure("unexpected CBOR tag")),
    }
}

/// Reads the two header buckets of one layer and checks them together.
#[cfg(feature = "alloc")]
pub(crate) fn read_headers<'a>(
    dec: &mut Decoder<'a>,
    understood: &[Label<'_>],
) -> Result<(ProtectedHeader<'a>, Header<'a>), Error> {
    let protected = ProtectedHeader::decode_understanding(dec, understood)?;
    let unprotected = Header::decode(dec, false)?;
    check_buckets(&protected.header, &unprotected)?;
    Ok((protected, unprotected))
}

/// [`read_headers`] into the fields of a message being decoded (no moves of the headers).
#[inline]
pub(crate) fn read_headers_into<'a>(
    dec: &mut Decoder<'a>,
    understood: &[Label<'_>],
    protected: &mut ProtectedHeader<'a>,
    unprotected: &mut Header<'a>,
) -> Result<(), Error> {
    protected.decode_into(dec, understood)?;
    unprotected.decode_into(dec, false, &[])?;
    check_buckets(&protected.header, unprotected)
}

pub(crate) fn write_opt<W: Write>(enc: &mut Encoder<W>, v: Option<&[u8]>) -> Result<(), Error> {
    match v {
        Some(b) => enc.bytes(b)?,
        None => enc.null()?,
    };
    Ok(())
}

fn counted(
    f: impl FnOnce(&mut Encoder<&mut crate::cbor::LenCounter>) -> Result<(), Error>,
) -> usize {
    let mut c = crate::cbor::LenCounter::default();
    let _ = f(&mut Encoder::new(&mut c));
    c.0
}

/// Reads `bstr / nil`.
pub(crate) fn bytes_or_nil<'a>(dec: &mut Decoder<'a>) -> Result<Option<&'a [u8]>, Error> {
    if dec.peek_null() {
        dec.null()?;
        Ok(None)
    } else {
        dec.bytes().map(Some)
    }
}

/// The shape COSE_Mac0 and COSE_Sign1 share (RFC 9052 §6.2, §4.2): an optional tag, then
/// `[protected, unprotected, payload / nil, tag-or-signature: bstr]`.
struct SingleLayer<'a> {
    protected: ProtectedHeader<'a>,
    unprotected: Header<'a>,
    payload: Option<&'a [u8]>,
    last: &'a [u8],
    tagged: bool,
}

impl<'a> SingleLayer<'a> {
    /// Decodes the shape with tag `want`; `shape` is the error when it is not an array of 4.
    fn decode(
        bytes: &'a [u8],
        understood: &[Label<'_>],
        want: u64,
        shape: &'static str,
    ) -> Result<Self, Error> {
        let mut dec = Decoder::new(bytes);
        let tagged = read_tag(&mut dec, want)?;
        if dec.array()? != 4 {
            return Err(Error::Structure(shape));
        }
        let mut msg = Self {
            protected: ProtectedHeader::default(),
            unprotected: Header::default(),
            payload: None,
            last: &[],
            tagged,
        };
        read_headers_into(
            &mut dec,
            understood,
            &mut msg.protected,
            &mut msg.unprotected,
        )?;
        msg.payload = bytes_or_nil(&mut dec)?;
        msg.last = dec.bytes()?;
        dec.finish()?;
        Ok(msg)
    }
}

/// Writes the shape of [`SingleLayer`] (the protected bytes as received).
fn encode_single_layer<W: Write>(
    enc: &mut Encoder<W>,
    tag: Option<u64>,
    protected: &ProtectedHeader<'_>,
    unprotected: &Header<'_>,
    payload: Option<&[u8]>,
    last: &[u8],
) -> Result<(), Error> {
    if let Some(t) = tag {
        enc.tag(t)?;
    }
    enc.array(4)?.bytes(protected.raw)?;
    unprotected.encode(enc)?;
    write_opt(enc, payload)?;
    enc.bytes(last)?;
    Ok(())
}

/// The algorithm identifier of a layer: protected bucket first, then unprotected.
pub(crate) fn layer_alg(protected: &Header<'_>, unprotected: &Header<'_>) -> Result<i64, Error> {
    match protected.alg.or(unprotected.alg) {
        Some(Label::Int(i)) => Ok(i),
        Some(Label::Text(_)) => Err(Error::Algorithm(0)),
        None => Err(Error::MissingAlgorithm),
    }
}

/// Computes the nonce of a layer (RFC 9052 §3.1): the `IV` as is, or the `Partial IV`
/// left-padded with zeros to the length of the context (Base) IV and XORed with it.
pub fn nonce<'o>(
    alg: AeadAlgorithm,
    iv: Option<&[u8]>,
    partial_iv: Option<&[u8]>,
    base_iv: Option<&[u8]>,
    out: &'o mut [u8; 16],
) -> Result<&'o [u8], Error> {
    let n = alg.nonce_len();
    let out = out.get_mut(..n).ok_or(Error::Length("nonce"))?;
    match (iv, partial_iv, base_iv) {
        (Some(iv), None, _) if iv.len() == n => out.copy_from_slice(iv),
        (None, Some(piv), Some(base)) if base.len() == n && piv.len() <= n => {
            out.copy_from_slice(base);
            for (o, p) in out.iter_mut().skip(n - piv.len()).zip(piv) {
                *o ^= p;
            }
        }
        (None, None, Some(base)) if base.len() == n => out.copy_from_slice(base),
        _ => return Err(Error::Length("nonce")),
    }
    Ok(out)
}

/// A decoded COSE_Encrypt0 (RFC 9052 §5.2), borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Encrypt0<'a> {
    /// Protected bucket.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Ciphertext including the tag; `None` when detached (`nil`).
    pub ciphertext: Option<&'a [u8]>,
    /// Whether the input carried tag 16.
    pub tagged: bool,
}

impl<'a> Encrypt0<'a> {
    /// Decodes a tagged or untagged COSE_Encrypt0; trailing bytes are rejected.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::decode_understanding(bytes, &[])
    }

    /// Like [`decode`](Self::decode), where the application also understands the
    /// `understood` labels when they are listed in `crit` (RFC 9052 §3.1).
    pub fn decode_understanding(bytes: &'a [u8], understood: &[Label<'_>]) -> Result<Self, Error> {
        let mut dec = Decoder::new(bytes);
        let tagged = read_tag(&mut dec, tag::ENCRYPT0)?;
        if dec.array()? != 3 {
            return Err(Error::Structure("COSE_Encrypt0 is an array of 3"));
        }
        let mut msg = Self {
            protected: ProtectedHeader::default(),
            unprotected: Header::default(),
            ciphertext: None,
            tagged,
        };
        read_headers_into(
            &mut dec,
            understood,
            &mut msg.protected,
            &mut msg.unprotected,
        )?;
        msg.ciphertext = bytes_or_nil(&mut dec)?;
        dec.finish()?;
        Ok(msg)
    }

    /// Writes the message (the protected bytes as received).
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        if self.tagged {
            enc.tag(tag::ENCRYPT0)?;
        }
        enc.array(3)?.bytes(self.protected.raw)?;
        self.unprotected.encode(enc)?;
        write_opt(enc, self.ciphertext)
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        counted(|enc| self.encode(enc))
    }

    /// The content-encryption algorithm.
    pub fn algorithm(&self) -> Result<AeadAlgorithm, Error> {
        let id = layer_alg(&self.protected.header, &self.unprotected)?;
        AeadAlgorithm::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// The `kid`, from either bucket.
    pub fn kid(&self) -> Option<&'a [u8]> {
        self.protected.header.kid.or(self.unprotected.kid)
    }

    /// The nonce from the `IV` or `Partial IV` (with `base_iv`) of this message.
    pub fn nonce<'o>(
        &self,
        base_iv: Option<&[u8]>,
        out: &'o mut [u8; 16],
    ) -> Result<&'o [u8], Error> {
        let (p, u) = (&self.protected.header, &self.unprotected);
        nonce(
            self.algorithm()?,
            p.iv.or(u.iv),
            p.partial_iv.or(u.partial_iv),
            base_iv,
            out,
        )
    }

    /// Length of the `Enc_structure` plus the ciphertext: the buffer size
    /// [`decrypt_into`](Self::decrypt_into) needs.
    pub fn decrypt_buffer_len(&self, external_aad: &[u8], detached: Option<&[u8]>) -> usize {
        crate::structure::enc_structure_len(
            EncContext::Encrypt0,
            self.protected.authenticated(),
            external_aad,
        ) + self.ciphertext.or(detached).map_or(0, <[u8]>::len)
    }

    /// Decrypts into `buf` (which must hold the `Enc_structure` and the ciphertext, see
    /// [`decrypt_buffer_len`](Self::decrypt_buffer_len)) and returns the plaintext inside it.
    /// `detached` supplies the ciphertext when the message carries `nil`.
    pub fn decrypt_into<'b>(
        &self,
        key: &[u8],
        base_iv: Option<&[u8]>,
        external_aad: &[u8],
        detached: Option<&[u8]>,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let ct = self
            .ciphertext
            .or(detached)
            .ok_or(Error::Structure("detached ciphertext not supplied"))?;
        let alg = self.algorithm()?;
        let (p, u) = (&self.protected.header, &self.unprotected);
        let mut nb = [0u8; 16];
        let nonce = nonce(
            alg,
            p.iv.or(u.iv),
            p.partial_iv.or(u.partial_iv),
            base_iv,
            &mut nb,
        )?;
        decrypt_layer(
            alg,
            key,
            nonce,
            EncContext::Encrypt0,
            self.protected.authenticated(),
            external_aad,
            ct,
            buf,
        )
    }

    /// Decrypts into a new vector.
    #[cfg(feature = "alloc")]
    pub fn decrypt(
        &self,
        key: &[u8],
        base_iv: Option<&[u8]>,
        external_aad: &[u8],
        detached: Option<&[u8]>,
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut buf = alloc::vec![0u8; self.decrypt_buffer_len(external_aad, detached)];
        let pt = self
            .decrypt_into(key, base_iv, external_aad, detached, &mut buf)?
            .to_vec();
        zeroize::Zeroize::zeroize(&mut buf);
        Ok(pt)
    }
}

/// Decrypts one AEAD layer: writes the `Enc_structure` then the ciphertext into `buf`,
/// decrypts in place and returns the plaintext.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decrypt_layer<'b>(
    alg: AeadAlgorithm,
    key: &[u8],
    nonce: &[u8],
    context: EncContext,
    protected: &[u8],
    external_aad: &[u8],
    ciphertext: &[u8],
    buf: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let aad_len = crate::structure::enc_structure_len(context, protected, external_aad);
    let need = aad_len + ciphertext.len();
    if buf.len() < need {
        return Err(Error::BufferTooSmall { required: need });
    }
    let (aad_buf, rest) = buf.split_at_mut(aad_len);
    enc_structure(SliceWriter::new(aad_buf), context, protected, external_aad)?;
    let ct_buf = rest
        .get_mut(..ciphertext.len())
        .ok_or(Error::BufferTooSmall { required: need })?;
    ct_buf.copy_from_slice(ciphertext);
    let n = alg.open_in_place(key, nonce, aad_buf, ct_buf)?;
    Ok(ct_buf.get(..n).unwrap_or(&[]))
}

fn write_protected<W: Write>(enc: &mut Encoder<W>, h: &Header<'_>) -> Result<(), Error> {
    // RFC 9052 §3: an empty protected bucket is a zero-length bstr.
    if h.is_empty() {
        enc.bytes(&[])?;
    } else {
        enc.head(2, h.encoded_len() as u64)?;
        h.encode(enc)?;
    }
    Ok(())
}

fn protected_len(h: &Header<'_>) -> usize {
    if h.is_empty() {
        1
    } else {
        str_len(h.encoded_len())
    }
}

/// Builds a COSE_Encrypt0 into caller buffers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Encrypt0Builder<'a> {
    /// Protected bucket (must contain `alg` unless the unprotected one does).
    pub protected: Header<'a>,
    /// Unprotected bucket (typically `IV` or `Partial IV`, `kid`).
    pub unprotected: Header<'a>,
    /// Whether to write tag 16.
    pub tagged: bool,
}

impl Encrypt0Builder<'_> {
    /// The algorithm named in the headers.
    pub fn algorithm(&self) -> Result<AeadAlgorithm, Error> {
        check_buckets(&self.protected, &self.unprotected)?;
        let id = layer_alg(&self.protected, &self.unprotected)?;
        AeadAlgorithm::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// Encoded length of the message for a plaintext of `plaintext_len` bytes.
    pub fn encoded_len(&self, plaintext_len: usize) -> Result<usize, Error> {
        let alg = self.algorithm()?;
        Ok(usize::from(self.tagged)
            + 1
            + protected_len(&self.protected)
            + self.unprotected.encoded_len()
            + str_len(plaintext_len + alg.tag_len()))
    }

    /// Encrypts `plaintext` and writes the message into `out`; `scratch` holds the
    /// `Enc_structure` (its length is the protected header plus the external AAD plus a few
    /// bytes). The nonce comes from the `IV`, or the `Partial IV` with `base_iv`. Returns the
    /// message length.
    pub fn seal_into(
        &self,
        key: &[u8],
        base_iv: Option<&[u8]>,
        plaintext: &[u8],
        external_aad: &[u8],
        scratch: &mut [u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let alg = self.algorithm()?;
        let (p, u) = (&self.protected, &self.unprotected);
        let mut nb = [0u8; 16];
        let nonce = nonce(
            alg,
            p.iv.or(u.iv),
            p.partial_iv.or(u.partial_iv),
            base_iv,
            &mut nb,
        )?;
        let plen = if p.is_empty() { 0 } else { p.encoded_len() };
        let ct_len = plaintext.len() + alg.tag_len();
        let total =
            usize::from(self.tagged) + 1 + str_len(plen) + u.encoded_len() + str_len(ct_len);
        if out.len() < total {
            return Err(Error::BufferTooSmall { required: total });
        }
        let mut w = SliceWriter::new(out);
        let mut enc = Encoder::new(&mut w);
        if self.tagged {
            enc.tag(tag::ENCRYPT0)?;
        }
        enc.array(3)?.head(2, plen as u64)?;
        let pstart = w.len();
        if plen > 0 {
            p.encode(&mut Encoder::new(&mut w))?;
        }
        // Enc_structure (RFC 9052 §5.3) over the protected bytes just written.
        let aad = {
            let protected = w.written().get(pstart..).unwrap_or(&[]);
            let mut sw = SliceWriter::new(scratch);
            enc_structure(&mut sw, EncContext::Encrypt0, protected, external_aad)?;
            sw.into_written()
        };
        let mut enc = Encoder::new(&mut w);
        u.encode(&mut enc)?;
        enc.head(2, ct_len as u64)?;
        let start = w.len();
        let body = out
            .get_mut(start..total)
            .ok_or(Error::BufferTooSmall { required: total })?;
        let (pt, tag) = body.split_at_mut(plaintext.len());
        pt.copy_from_slice(plaintext);
        alg.seal_in_place_detached(key, nonce, aad, pt, tag)?;
        Ok(total)
    }

    /// Encrypts into a new vector.
    #[cfg(feature = "alloc")]
    pub fn seal_to_vec(
        &self,
        key: &[u8],
        base_iv: Option<&[u8]>,
        plaintext: &[u8],
        external_aad: &[u8],
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut out = alloc::vec![0u8; self.encoded_len(plaintext.len())?];
        let mut scratch =
            alloc::vec![0u8; protected_len(&self.protected) + str_len(external_aad.len()) + 16];
        let n = self.seal_into(
            key,
            base_iv,
            plaintext,
            external_aad,
            &mut scratch,
            &mut out,
        )?;
        out.truncate(n);
        Ok(out)
    }
}

/// A decoded COSE_Mac0 (RFC 9052 §6.2), borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mac0<'a> {
    /// Protected bucket.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Payload; `None` when detached.
    pub payload: Option<&'a [u8]>,
    /// The MAC tag.
    pub tag: &'a [u8],
    /// Whether the input carried tag 17.
    pub tagged: bool,
}

impl<'a> Mac0<'a> {
    /// Decodes a tagged or untagged COSE_Mac0; trailing bytes are rejected.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::decode_understanding(bytes, &[])
    }

    /// Like [`decode`](Self::decode), where the application also understands the
    /// `understood` labels when they are listed in `crit` (RFC 9052 §3.1).
    pub fn decode_understanding(bytes: &'a [u8], understood: &[Label<'_>]) -> Result<Self, Error> {
        let m = SingleLayer::decode(bytes, understood, tag::MAC0, "COSE_Mac0 is an array of 4")?;
        Ok(Self {
            protected: m.protected,
            unprotected: m.unprotected,
            payload: m.payload,
            tag: m.last,
            tagged: m.tagged,
        })
    }

    /// Writes the message (the protected bytes as received).
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        encode_single_layer(
            enc,
            self.tagged.then_some(tag::MAC0),
            &self.protected,
            &self.unprotected,
            self.payload,
            self.tag,
        )
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        counted(|enc| self.encode(enc))
    }

    /// The MAC algorithm.
    pub fn algorithm(&self) -> Result<MacAlgorithm, Error> {
        let id = layer_alg(&self.protected.header, &self.unprotected)?;
        MacAlgorithm::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// The `kid`, from either bucket.
    pub fn kid(&self) -> Option<&'a [u8]> {
        self.protected.header.kid.or(self.unprotected.kid)
    }

    /// Verifies the tag over the `MAC_structure` (RFC 9052 §6.3) without copying the payload;
    /// returns the payload.
    pub fn verify<'p>(
        &self,
        key: &[u8],
        external_aad: &[u8],
        detached: Option<&'p [u8]>,
    ) -> Result<&'p [u8], Error>
    where
        'a: 'p,
    {
        let payload = self
            .payload
            .or(detached)
            .ok_or(Error::Structure("detached payload not supplied"))?;
        let mut heads = Heads::new();
        let parts = mac_structure_parts(
            &mut heads,
            MacContext::Mac0,
            self.protected.authenticated(),
            external_aad,
            payload,
        )?;
        self.algorithm()?.verify(key, &parts, self.tag)?;
        Ok(payload)
    }
}

/// Builds a COSE_Mac0 into a caller buffer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mac0Builder<'a> {
    /// Protected bucket.
    pub protected: Header<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Whether to write tag 17.
    pub tagged: bool,
    /// Whether to write `nil` instead of the payload (detached content).
    pub detached: bool,
}

impl Mac0Builder<'_> {
    /// The algorithm named in the headers.
    pub fn algorithm(&self) -> Result<MacAlgorithm, Error> {
        check_buckets(&self.protected, &self.unprotected)?;
        let id = layer_alg(&self.protected, &self.unprotected)?;
        MacAlgorithm::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// Encoded length of the message.
    pub fn encoded_len(&self, payload_len: usize) -> Result<usize, Error> {
        let alg = self.algorithm()?;
        let p = if self.detached {
            1
        } else {
            str_len(payload_len)
        };
        Ok(usize::from(self.tagged)
            + 1
            + protected_len(&self.protected)
            + self.unprotected.encoded_len()
            + p
            + str_len(alg.tag_len()))
    }

    /// Computes the tag and writes the message into `out`; returns its length.
    pub fn seal_into(
        &self,
        key: &[u8],
        payload: &[u8],
        external_aad: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let alg = self.algorithm()?;
        let total = self.encoded_len(payload.len())?;
        if out.len() < total {
            return Err(Error::BufferTooSmall { required: total });
        }
        let mut w = SliceWriter::new(out);
        let mut enc = Encoder::new(&mut w);
        if self.tagged {
            enc.tag(tag::MAC0)?;
        }
        enc.array(4)?;
        enc.head(
            2,
            if self.protected.is_empty() {
                0
            } else {
                self.protected.encoded_len() as u64
            },
        )?;
        let pstart = w.len();
        let mut enc = Encoder::new(&mut w);
        if !self.protected.is_empty() {
            self.protected.encode(&mut enc)?;
        }
        let pend = w.len();
        let mut enc = Encoder::new(&mut w);
        self.unprotected.encode(&mut enc)?;
        if self.detached {
            enc.null()?;
        } else {
            enc.bytes(payload)?;
        }
        enc.head(2, alg.tag_len() as u64)?;
        let tstart = w.len();
        let (head, tag) = out.split_at_mut(tstart);
        let protected = head.get(pstart..pend).unwrap_or(&[]);
        let mut heads = Heads::new();
        let parts = mac_structure_parts(
            &mut heads,
            MacContext::Mac0,
            protected,
            external_aad,
            payload,
        )?;
        alg.compute(
            key,
            &parts,
            tag.get_mut(..alg.tag_len())
                .ok_or(Error::BufferTooSmall { required: total })?,
        )?;
        Ok(total)
    }

    /// Computes the tag and returns the message in a new vector.
    #[cfg(feature = "alloc")]
    pub fn seal_to_vec(
        &self,
        key: &[u8],
        payload: &[u8],
        external_aad: &[u8],
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut out = alloc::vec![0u8; self.encoded_len(payload.len())?];
        let n = self.seal_into(key, payload, external_aad, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// A decoded COSE_Sign1 (RFC 9052 §4.2), borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sign1<'a> {
    /// Protected bucket.
    pub protected: ProtectedHeader<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Payload; `None` when detached.
    pub payload: Option<&'a [u8]>,
    /// The signature.
    pub signature: &'a [u8],
    /// Whether the input carried tag 18.
    pub tagged: bool,
}

impl<'a> Sign1<'a> {
    /// Decodes a tagged or untagged COSE_Sign1; trailing bytes are rejected.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::decode_understanding(bytes, &[])
    }

    /// Like [`decode`](Self::decode), where the application also understands the
    /// `understood` labels when they are listed in `crit` (RFC 9052 §3.1).
    pub fn decode_understanding(bytes: &'a [u8], understood: &[Label<'_>]) -> Result<Self, Error> {
        let m = SingleLayer::decode(bytes, understood, tag::SIGN1, "COSE_Sign1 is an array of 4")?;
        Ok(Self {
            protected: m.protected,
            unprotected: m.unprotected,
            payload: m.payload,
            signature: m.last,
            tagged: m.tagged,
        })
    }

    /// Writes the message (the protected bytes as received).
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        encode_single_layer(
            enc,
            self.tagged.then_some(tag::SIGN1),
            &self.protected,
            &self.unprotected,
            self.payload,
            self.signature,
        )
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        counted(|enc| self.encode(enc))
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> Result<crate::algorithm::SignatureAlgorithm, Error> {
        let id = layer_alg(&self.protected.header, &self.unprotected)?;
        crate::algorithm::SignatureAlgorithm::from_id(id).ok_or(Error::Algorithm(id))
    }

    /// The `kid`, from either bucket.
    pub fn kid(&self) -> Option<&'a [u8]> {
        self.protected.header.kid.or(self.unprotected.kid)
    }

    /// Size of the `Sig_structure`: the scratch size [`verify_with`](Self::verify_with) needs.
    pub fn sig_structure_len(&self, external_aad: &[u8], detached: Option<&[u8]>) -> usize {
        sig_structure_len(
            self.protected.authenticated(),
            None,
            external_aad,
            self.payload.or(detached).unwrap_or(&[]),
        )
    }

    /// Verifies the signature over the `Sig_structure` (RFC 9052 §4.4), built in `scratch`;
    /// returns the payload.
    pub fn verify_with<'p>(
        &self,
        key: &VerifyingKey,
        external_aad: &[u8],
        detached: Option<&'p [u8]>,
        scratch: &mut [u8],
    ) -> Result<&'p [u8], Error>
    where
        'a: 'p,
    {
        let alg = self.algorithm()?;
        if key.algorithm() != alg {
            return Err(Error::Key("key does not fit the algorithm"));
        }
        let payload = self
            .payload
            .or(detached)
            .ok_or(Error::Structure("detached payload not supplied"))?;
        let need = sig_structure_len(self.protected.authenticated(), None, external_aad, payload);
        let buf = scratch
            .get_mut(..need)
            .ok_or(Error::BufferTooSmall { required: need })?;
        sig_structure(
            SliceWriter::new(buf),
            self.protected.authenticated(),
            None,
            external_aad,
            payload,
        )?;
        key.verify(buf, self.signature)?;
        Ok(payload)
    }

    /// Verifies the signature, allocating the `Sig_structure`.
    #[cfg(feature = "alloc")]
    pub fn verify<'p>(
        &self,
        key: &VerifyingKey,
        external_aad: &[u8],
        detached: Option<&'p [u8]>,
    ) -> Result<&'p [u8], Error>
    where
        'a: 'p,
    {
        let mut scratch = alloc::vec![0u8; self.sig_structure_len(external_aad, detached)];
        self.verify_with(key, external_aad, detached, &mut scratch)
    }
}

/// Builds a COSE_Sign1 into a caller buffer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sign1Builder<'a> {
    /// Protected bucket.
    pub protected: Header<'a>,
    /// Unprotected bucket.
    pub unprotected: Header<'a>,
    /// Whether to write tag 18.
    pub tagged: bool,
    /// Whether to write `nil` instead of the payload (detached content).
    pub detached: bool,
}

impl Sign1Builder<'_> {
    /// Encoded length of the message.
    pub fn encoded_len(&self, key: &SigningKey, payload_len: usize) -> usize {
        let p = if self.detached {
            1
        } else {
            str_len(payload_len)
        };
        usize::from(self.tagged)
            + 1
            + protected_len(&self.protected)
            + self.unprotected.encoded_len()
            + p
            + str_len(key.algorithm().signature_len())
    }

    /// Signs and writes the message into `out`; `scratch` holds the `Sig_structure`.
    /// Returns the message length.
    pub fn sign_into(
        &self,
        key: &SigningKey,
        payload: &[u8],
        external_aad: &[u8],
        scratch: &mut [u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        check_buckets(&self.protected, &self.unprotected)?;
        let id = layer_alg(&self.protected, &self.unprotected)?;
        let alg = key.algorithm();
        if alg.id() != id {
            return Err(Error::Key("key does not fit the algorithm"));
        }
        let total = self.encoded_len(key, payload.len());
        if out.len() < total {
            return Err(Error::BufferTooSmall { required: total });
        }
        // Sig_structure with the protected bucket serialized in place.
        let tbs = {
            let mut w = SliceWriter::new(scratch);
            let mut enc = Encoder::new(&mut w);
            enc.array(4)?.text("Signature1")?;
            write_protected(&mut enc, &self.protected)?;
            enc.bytes(external_aad)?.bytes(payload)?;
            w.into_written()
        };
        let mut w = SliceWriter::new(out);
        let mut enc = Encoder::new(&mut w);
        if self.tagged {
            enc.tag(tag::SIGN1)?;
        }
        enc.array(4)?;
        write_protected(&mut enc, &self.protected)?;
        self.unprotected.encode(&mut enc)?;
        if self.detached {
            enc.null()?;
        } else {
            enc.bytes(payload)?;
        }
        enc.head(2, alg.signature_len() as u64)?;
        let at = w.len();
        let sig = out
            .get_mut(at..total)
            .ok_or(Error::BufferTooSmall { required: total })?;
        key.sign(tbs, sig)?;
        Ok(total)
    }

    /// Signs and returns the message in a new vector.
    #[cfg(feature = "alloc")]
    pub fn sign_to_vec(
        &self,
        key: &SigningKey,
        payload: &[u8],
        external_aad: &[u8],
    ) -> Result<alloc::vec::Vec<u8>, Error> {
        let mut out = alloc::vec![0u8; self.encoded_len(key, payload.len())];
        let mut counter = crate::cbor::LenCounter::default();
        {
            let mut enc = Encoder::new(&mut counter);
            write_protected(&mut enc, &self.protected)?;
        }
        let mut scratch =
            alloc::vec![0u8; 16 + counter.0 + str_len(external_aad.len()) + str_len(payload.len())];
        let n = self.sign_into(key, payload, external_aad, &mut scratch, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}
