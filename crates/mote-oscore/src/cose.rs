//! The COSE object of OSCORE: the AEAD nonce (RFC 8613 §5.2), the AAD (§5.4) and the HKDF
//! `info` structure (§3.2.1), encoded without allocation.

use mote_coap::framing::copy_short;
use mote_cose::algorithm::AeadAlgorithm;

use crate::Error;
use crate::option::MAX_PARTIAL_IV_LEN;

/// Largest AEAD nonce among the supported algorithms (AES-CCM with L = 16: 13 bytes).
pub const MAX_NONCE_LEN: usize = 13;

/// Largest AAD: the 11 fixed bytes, a bstr head, and aad_array with an algorithm of up to
/// 3 bytes, a kid of up to 7 and a Partial IV of up to 5 bytes (RFC 8613 §5.4).
pub(crate) const MAX_AAD_LEN: usize = 11 + 2 + 1 + 1 + 1 + 3 + 1 + 7 + 1 + 5 + 1;

/// The AEAD nonce (RFC 8613 §5.2, Figure 8):
/// `S || pad(ID_PIV, nonce_len − 6) || pad(PIV, 5)` XOR Common IV.
///
/// `id_piv` is the Sender ID of the endpoint that generated the Partial IV. Fails if the ID
/// is longer than `nonce_len − 6` or the Partial IV longer than 5 bytes.
///
/// ```
/// use mote_oscore::cose::nonce;
/// // RFC 8613 C.4: Common IV of C.1.1, the client's empty Sender ID, Partial IV 0x14.
/// let common_iv = b"\x46\x22\xd4\xdd\x6d\x94\x41\x68\xee\xfb\x54\x98\x7c";
/// let (n, len) = nonce(common_iv, &[], &[0x14])?;
/// assert_eq!(&n[..len], b"\x46\x22\xd4\xdd\x6d\x94\x41\x68\xee\xfb\x54\x98\x68");
/// assert!(nonce(common_iv, &[0u8; 8], &[0x14]).is_err()); // ID longer than 13 - 6
/// # Ok::<(), mote_oscore::Error>(())
/// ```
#[inline]
pub fn nonce(
    common_iv: &[u8],
    id_piv: &[u8],
    partial_iv: &[u8],
) -> Result<([u8; MAX_NONCE_LEN], usize), Error> {
    let n = common_iv.len();
    if !(7..=MAX_NONCE_LEN).contains(&n) {
        return Err(Error::InvalidParameter(crate::error::reason(
            "nonce length must be 7 to 13 bytes",
        )));
    }
    let id_field = n - 6;
    if id_piv.len() > id_field {
        return Err(Error::InvalidParameter(crate::error::reason(
            "ID longer than nonce length minus 6",
        )));
    }
    if partial_iv.len() > MAX_PARTIAL_IV_LEN {
        return Err(Error::InvalidParameter(crate::error::reason(
            "Partial IV longer than 5 bytes",
        )));
    }
    let mut out = [0u8; MAX_NONCE_LEN];
    let nonce = out
        .get_mut(..n)
        .ok_or(Error::InvalidParameter(crate::error::reason(
            "nonce length",
        )))?;
    // The ID length fits in a byte (at most 7).
    if let Some(s) = nonce.first_mut() {
        *s = id_piv.len() as u8;
    }
    if let Some(dst) = nonce.get_mut(1 + id_field - id_piv.len()..1 + id_field) {
        copy_short(dst, id_piv);
    }
    if let Some(dst) = nonce.get_mut(n - partial_iv.len()..) {
        copy_short(dst, partial_iv);
    }
    // XOR over the whole fixed-size array (the Common IV zero-padded): one vector operation
    // instead of a byte loop; the bytes past `n` stay zero.
    let mut iv = [0u8; MAX_NONCE_LEN];
    copy_short(&mut iv, common_iv);
    for (b, iv) in out.iter_mut().zip(iv) {
        *b ^= iv;
    }
    Ok((out, n))
}

/// The part of the AEAD nonce that one Sender ID fixes: `Common IV XOR (S || pad(ID_PIV))`
/// (RFC 8613 §5.2), computed once per context so that a message only XORs in its Partial IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonceBase {
    bytes: [u8; MAX_NONCE_LEN],
    len: usize,
}

impl NonceBase {
    /// The base for `id_piv`; fails as [`nonce`] does.
    pub(crate) fn new(common_iv: &[u8], id_piv: &[u8]) -> Result<Self, Error> {
        let (bytes, len) = nonce(common_iv, id_piv, &[])?;
        Ok(Self { bytes, len })
    }

    /// The nonce for the Partial IV whose value is `seq`: `pad(PIV, 5)` is `seq` as 5 bytes in
    /// network order (leading zero bytes of a received Partial IV change nothing). Equal to
    /// [`nonce`] with the same ID and Partial IV; `seq` must be below 2^40 (a 5-byte PIV).
    #[inline]
    pub(crate) fn nonce(&self, seq: u64) -> Result<([u8; MAX_NONCE_LEN], usize), Error> {
        if seq >> 40 != 0 {
            return Err(Error::InvalidParameter(crate::error::reason(
                "Partial IV longer than 5 bytes",
            )));
        }
        let mut out = self.bytes;
        let [_, _, _, p0, p1, p2, p3, p4] = seq.to_be_bytes();
        // The nonce is 7 to 13 bytes: its last five are the Partial IV field.
        if let Some([d0, d1, d2, d3, d4]) = self
            .len
            .checked_sub(5)
            .and_then(|at| out.get_mut(at..self.len))
            .and_then(|s| <&mut [u8; 5]>::try_from(s).ok())
        {
            *d0 ^= p0;
            *d1 ^= p1;
            *d2 ^= p2;
            *d3 ^= p3;
            *d4 ^= p4;
        }
        Ok((out, self.len))
    }
}

/// Writes a CBOR head (RFC 8949 §3) with major type `major` and argument `value`.
pub(crate) fn cbor_head(major: u8, value: u64, out: &mut [u8; 9]) -> usize {
    let mt = major << 5;
    if value < 24 {
        out[0] = mt | value as u8;
        1
    } else if value <= 0xff {
        out[0] = mt | 24;
        out[1] = value as u8;
        2
    } else if value <= 0xffff {
        out[0] = mt | 25;
        out[1..3].copy_from_slice(&(value as u16).to_be_bytes());
        3
    } else if value <= 0xffff_ffff {
        out[0] = mt | 26;
        out[1..5].copy_from_slice(&(value as u32).to_be_bytes());
        5
    } else {
        out[0] = mt | 27;
        out[1..9].copy_from_slice(&value.to_be_bytes());
        9
    }
}

/// Writes a CBOR integer (major type 0 or 1).
pub(crate) fn cbor_int(value: i64, out: &mut [u8; 9]) -> usize {
    if value >= 0 {
        cbor_head(0, value.unsigned_abs(), out)
    } else {
        cbor_head(1, value.unsigned_abs() - 1, out)
    }
}

/// A small stack buffer for CBOR structures of known maximum size.
struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Buf<N> {
    fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    #[inline]
    fn put(&mut self, src: &[u8]) -> Result<(), Error> {
        let dst =
            self.bytes
                .get_mut(self.len..self.len + src.len())
                .ok_or(Error::InvalidParameter(crate::error::reason(
                    "AAD too long",
                )))?;
        copy_short(dst, src);
        self.len += src.len();
        Ok(())
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The AAD: `Enc_structure = ["Encrypt0", h'', external_aad]` with
/// `external_aad = bstr .cbor [1, [alg_aead], request_kid, request_piv, options]`
/// (RFC 8613 §5.4; Class I options are empty: none is registered, §4.1.2).
#[derive(Clone)]
pub struct Aad {
    buf: Buf<MAX_AAD_LEN>,
}

impl core::fmt::Debug for Aad {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Aad").field(&self.as_bytes()).finish()
    }
}

impl<const N: usize> Clone for Buf<N> {
    fn clone(&self) -> Self {
        Self {
            bytes: self.bytes,
            len: self.len,
        }
    }
}

impl Aad {
    /// Builds the AAD for `alg` and the request's kid and Partial IV.
    ///
    /// ```
    /// use mote_oscore::{AeadAlgorithm, cose::Aad};
    /// // RFC 8613 C.4: AES-CCM-16-64-128, request 'kid' empty, request Partial IV 0x14.
    /// let aad = Aad::new(AeadAlgorithm::AesCcm16_64_128, &[], &[0x14])?;
    /// assert_eq!(aad.as_bytes(), b"\x83\x68Encrypt0\x40\x48\x85\x01\x81\x0a\x40\x41\x14\x40");
    /// assert_eq!(aad.aad_array_bytes(), b"\x85\x01\x81\x0a\x40\x41\x14\x40");
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    #[inline]
    pub fn new(alg: AeadAlgorithm, request_kid: &[u8], request_piv: &[u8]) -> Result<Self, Error> {
        let mut h = [0u8; 9];
        let alg_len = cbor_int(alg.id(), &mut h);
        // aad_array = [1, [alg], bstr kid, bstr piv, h''] (RFC 8613 §5.4). It is at most
        // MAX_AAD_LEN − 13 bytes, so every bstr head in it, and its own, is one byte.
        let array_len = 3 + alg_len + 1 + request_kid.len() + 1 + request_piv.len() + 1;
        if array_len > MAX_AAD_LEN - 13 {
            return Err(Error::InvalidParameter(crate::error::reason(
                "AAD too long",
            )));
        }
        // 0x83 "Encrypt0" (0x68 + 8 bytes) h'' (0x40), then external_aad as a bstr: a fixed
        // 15-byte prefix, then the variable part written byte by byte (no length checks
        // needed past the one above).
        let mut buf = Buf::new();
        if let Some(prefix) = buf.bytes.first_chunk_mut::<15>() {
            *prefix = [
                0x83,
                0x68,
                b'E',
                b'n',
                b'c',
                b'r',
                b'y',
                b'p',
                b't',
                b'0',
                0x40,
                0x40 | array_len as u8,
                0x85,
                0x01,
                0x81,
            ];
        }
        buf.len = 15;
        buf.put(h.get(..alg_len).unwrap_or_default())?;
        buf.put(&[0x40 | request_kid.len() as u8])?;
        buf.put(request_kid)?;
        buf.put(&[0x40 | request_piv.len() as u8])?;
        buf.put(request_piv)?;
        // options: Class I options, none defined (RFC 8613 §4.1.2).
        buf.put(&[0x40])?;
        Ok(Self { buf })
    }

    /// The encoded AAD.
    ///
    /// ```
    /// use mote_oscore::{AeadAlgorithm, cose::Aad};
    /// let aad = Aad::new(AeadAlgorithm::AesCcm16_64_128, &[], &[0x14])?; // RFC 8613 C.4
    /// assert_eq!(aad.as_bytes().len(), 20);
    /// assert_eq!(&aad.as_bytes()[..11], b"\x83\x68Encrypt0\x40"); // ["Encrypt0", h'', ...
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_slice()
    }

    /// The `aad_array` part (the content of `external_aad`), as printed in RFC 8613 App. C.
    ///
    /// ```
    /// use mote_oscore::{AeadAlgorithm, cose::Aad};
    /// let aad = Aad::new(AeadAlgorithm::AesCcm16_64_128, &[0x01], &[0x14])?;
    /// // [1, [10], h'01', h'14', h'']
    /// assert_eq!(aad.aad_array_bytes(), b"\x85\x01\x81\x0a\x41\x01\x41\x14\x40");
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn aad_array_bytes(&self) -> &[u8] {
        // Fixed 11-byte prefix plus the one-byte bstr head of external_aad (aad_array is at
        // most 20 bytes).
        self.as_bytes().get(12..).unwrap_or_default()
    }
}

/// The kind of output an HKDF expansion produces (RFC 8613 §3.2.1 `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoType {
    /// "Key": a Sender or Recipient Key.
    Key,
    /// "IV": the Common IV.
    Iv,
}

/// The parts of the HKDF `info` structure (RFC 8613 §3.2.1):
/// `info = [id: bstr, id_context: bstr / nil, alg_aead: int / tstr, type: tstr, L: uint]`.
///
/// Written as a sequence of slices so that an ID Context of any length needs no buffer;
/// [`InfoParts::write`] concatenates it for display and tests.
pub(crate) struct InfoParts<'a> {
    array_and_id_head: [u8; 2],
    id: &'a [u8],
    ctx_head: [u8; 9],
    ctx_head_len: usize,
    ctx: &'a [u8],
    tail: [u8; 16],
    tail_len: usize,
}

impl<'a> InfoParts<'a> {
    pub(crate) fn new(
        id: &'a [u8],
        id_context: Option<&'a [u8]>,
        alg: AeadAlgorithm,
        kind: InfoType,
        l: usize,
    ) -> Self {
        // IDs are at most 7 bytes: a one-byte bstr head.
        let array_and_id_head = [0x85, 0x40 | (id.len() as u8 & 0x1f)];
        let mut ctx_head = [0u8; 9];
        let (ctx_head_len, ctx) = match id_context {
            Some(c) => (cbor_head(2, c.len() as u64, &mut ctx_head), c),
            None => {
                ctx_head[0] = 0xf6; // nil
                (1, &[][..])
            }
        };
        let mut tail = [0u8; 16];
        let mut n = 0;
        let mut push = |bytes: &[u8]| {
            if let Some(dst) = tail.get_mut(n..n + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            n += bytes.len();
        };
        let mut h = [0u8; 9];
        let alg_len = cbor_int(alg.id(), &mut h);
        push(h.get(..alg_len).unwrap_or_default());
        push(match kind {
            InfoType::Key => &[0x63, b'K', b'e', b'y'],
            InfoType::Iv => &[0x62, b'I', b'V'],
        });
        let l_len = cbor_head(0, l as u64, &mut h);
        push(h.get(..l_len).unwrap_or_default());
        Self {
            array_and_id_head,
            id,
            ctx_head,
            ctx_head_len,
            ctx,
            tail,
            tail_len: n,
        }
    }

    pub(crate) fn parts(&self) -> [&[u8]; 5] {
        [
            &self.array_and_id_head,
            self.id,
            self.ctx_head.get(..self.ctx_head_len).unwrap_or_default(),
            self.ctx,
            self.tail.get(..self.tail_len).unwrap_or_default(),
        ]
    }

    /// The concatenated `info`, written into `out`; returns the length.
    pub(crate) fn write(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut pos = 0;
        for p in self.parts() {
            let dst = out
                .get_mut(pos..pos + p.len())
                .ok_or(Error::BufferTooSmall {
                    required: self.parts().iter().map(|p| p.len()).sum(),
                })?;
            dst.copy_from_slice(p);
            pos += p.len();
        }
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_example_of_section_5_4() {
        // RFC 8613 §5.4: alg 10, request_kid 0x00, request_piv 0x25.
        let aad = Aad::new(AeadAlgorithm::AesCcm16_64_128, &[0x00], &[0x25]).unwrap();
        assert_eq!(
            aad.as_bytes(),
            &[
                0x83, 0x68, 0x45, 0x6e, 0x63, 0x72, 0x79, 0x70, 0x74, 0x30, 0x40, 0x49, 0x85, 0x01,
                0x81, 0x0a, 0x41, 0x00, 0x41, 0x25, 0x40
            ]
        );
        assert_eq!(
            aad.aad_array_bytes(),
            &[0x85, 0x01, 0x81, 0x0a, 0x41, 0x00, 0x41, 0x25, 0x40]
        );
    }

    #[test]
    fn largest_aad_fits() {
        Aad::new(AeadAlgorithm::ChaCha20Poly1305, &[0xff; 7], &[0xff; 5]).unwrap();
    }

    #[test]
    fn nonce_base_agrees_with_nonce() {
        let iv13: [u8; 13] = core::array::from_fn(|i| (i as u8).wrapping_mul(0x31) ^ 7);
        for n in [7usize, 12, 13] {
            let iv = &iv13[..n];
            for id_len in 0..=n - 6 {
                let id: std::vec::Vec<u8> = (0..id_len as u8).map(|b| b ^ 0xa5).collect();
                let base = NonceBase::new(iv, &id).unwrap();
                for piv in [
                    &[0x00][..],
                    &[0x05],
                    &[0x00, 0x05],
                    &[0x01, 0x00],
                    &[0xff, 0xee, 0xdd, 0xcc, 0xbb],
                ] {
                    let seq = crate::option::decode_partial_iv(piv).unwrap();
                    assert_eq!(base.nonce(seq).unwrap(), nonce(iv, &id, piv).unwrap());
                }
                assert!(base.nonce(1 << 40).is_err());
            }
        }
    }
}
