//! The OSCORE option value: the compressed COSE object header (RFC 8613 §6.1).

use crate::Error;

/// Largest Partial IV: 5 bytes (RFC 8613 §6.1, n = 6 and 7 are reserved).
pub const MAX_PARTIAL_IV_LEN: usize = 5;

/// The option number of the OSCORE option (RFC 8613 §13.2).
pub const OSCORE_OPTION_NUMBER: u16 = 9;

// RFC 8613 §6.1 flag bits.
const FLAG_KID_CONTEXT: u8 = 0x10;
const FLAG_KID: u8 = 0x08;
const PIV_LEN_MASK: u8 = 0x07;
const RESERVED_MASK: u8 = 0xe0;

/// A decoded OSCORE option value (RFC 8613 §6.1), borrowing from the message.
///
/// ```text
///  0 1 2 3 4 5 6 7 <------------- n bytes -------------->
/// +-+-+-+-+-+-+-+-+--------------------------------------
/// |0 0 0|h|k|  n  |       Partial IV (if any) ...
/// +-+-+-+-+-+-+-+-+--------------------------------------
/// | s (if any) | kid context (if any) | kid (if any) ... |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OscoreOption<'a> {
    /// The 'Partial IV' parameter (1 to 5 bytes), if present.
    pub partial_iv: Option<&'a [u8]>,
    /// The 'kid context' parameter (0 to 255 bytes), if present.
    pub kid_context: Option<&'a [u8]>,
    /// The 'kid' parameter (the sender's ID), if present.
    pub kid: Option<&'a [u8]>,
}

impl<'a> OscoreOption<'a> {
    /// Decodes an OSCORE option value.
    ///
    /// Rejects reserved flag bits, the reserved Partial IV lengths 6 and 7, truncated values,
    /// and trailing bytes when the 'kid' flag is clear (RFC 8613 §6.1, §8.2 step 2).
    ///
    /// ```
    /// use mote_oscore::OscoreOption;
    /// // RFC 8613 C.4: flags 0x09 (k set, n = 1), Partial IV 0x14, an empty 'kid' (the rest).
    /// let option = OscoreOption::decode(&[0x09, 0x14])?;
    /// assert_eq!((option.partial_iv, option.kid, option.kid_context), (Some(&[0x14][..]), Some(&[][..]), None));
    /// // Reserved flag bits and reserved Partial IV lengths are refused.
    /// assert!(OscoreOption::decode(&[0x80]).is_err());
    /// assert!(OscoreOption::decode(&[0x06, 1, 2, 3, 4, 5, 6]).is_err());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    #[inline]
    pub fn decode(value: &'a [u8]) -> Result<Self, Error> {
        let Some((&flags, mut rest)) = value.split_first() else {
            // RFC 8613 §6.1: an empty option value means no flags, no fields.
            return Ok(Self::default());
        };
        if flags & RESERVED_MASK != 0 {
            return Err(Error::InvalidOscoreOption(crate::error::reason(
                "reserved flag bits set",
            )));
        }
        let n = usize::from(flags & PIV_LEN_MASK);
        if n > MAX_PARTIAL_IV_LEN {
            return Err(Error::InvalidOscoreOption(crate::error::reason(
                "reserved Partial IV length",
            )));
        }
        let partial_iv = if n > 0 {
            let (piv, tail) = rest.split_at_checked(n).ok_or(Error::InvalidOscoreOption(
                crate::error::reason("truncated Partial IV"),
            ))?;
            rest = tail;
            Some(piv)
        } else {
            None
        };
        let kid_context = if flags & FLAG_KID_CONTEXT != 0 {
            let (&s, tail) =
                rest.split_first()
                    .ok_or(Error::InvalidOscoreOption(crate::error::reason(
                        "missing kid context length",
                    )))?;
            let (ctx, tail) =
                tail.split_at_checked(usize::from(s))
                    .ok_or(Error::InvalidOscoreOption(crate::error::reason(
                        "truncated kid context",
                    )))?;
            rest = tail;
            Some(ctx)
        } else {
            None
        };
        let kid = if flags & FLAG_KID != 0 {
            Some(rest)
        } else if rest.is_empty() {
            None
        } else {
            return Err(Error::InvalidOscoreOption(crate::error::reason(
                "trailing bytes without kid flag",
            )));
        };
        Ok(Self {
            partial_iv,
            kid_context,
            kid,
        })
    }

    /// The length of the encoded option value.
    ///
    /// RFC 8613 §6.1 / RFC 7252 §3.2: a value whose flag byte would be zero (no field present)
    /// is encoded as the empty value.
    ///
    /// ```
    /// use mote_oscore::OscoreOption;
    /// let option = OscoreOption { partial_iv: Some(&[0x14]), kid: Some(&[]), kid_context: None };
    /// assert_eq!(option.encoded_len(), 2); // 0x09 0x14
    /// assert_eq!(OscoreOption::default().encoded_len(), 0); // no field: the empty value
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn encoded_len(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        1 + self.partial_iv.map_or(0, <[u8]>::len)
            + self.kid_context.map_or(0, |c| 1 + c.len())
            + self.kid.map_or(0, <[u8]>::len)
    }

    /// Whether no field is present (the option value is empty).
    ///
    /// ```
    /// use mote_oscore::OscoreOption;
    /// assert!(OscoreOption::default().is_empty()); // a response without Partial IV
    /// assert!(!OscoreOption { partial_iv: Some(&[1]), ..Default::default() }.is_empty());
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.partial_iv.is_none() && self.kid_context.is_none() && self.kid.is_none()
    }

    /// Encodes the option value into `out`, returning the number of bytes written.
    ///
    /// Fails with [`Error::BufferTooSmall`] when `out` is shorter than
    /// [`encoded_len`](Self::encoded_len), and with [`Error::InvalidParameter`] when a field
    /// cannot be represented (Partial IV of 0 or more than 5 bytes, kid context over 255 bytes).
    ///
    /// ```
    /// use mote_oscore::OscoreOption;
    /// // RFC 8613 C.6 (client with ID Context): Partial IV 0x14, kid context 0x37cbf3210017a2d3, kid 0x00.
    /// let option = OscoreOption {
    ///     partial_iv: Some(&[0x14]),
    ///     kid_context: Some(&[0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3]),
    ///     kid: Some(&[0x00]),
    /// };
    /// let mut out = [0u8; 16];
    /// let n = option.encode(&mut out)?;
    /// assert_eq!(&out[..n], b"\x19\x14\x08\x37\xcb\xf3\x21\x00\x17\xa2\xd3\x00");
    /// assert!(option.encode(&mut [0u8; 4]).is_err()); // too short
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.encoded_len();
        if len == 0 {
            return Ok(0);
        }
        let out = out
            .get_mut(..len)
            .ok_or(Error::BufferTooSmall { required: len })?;
        let mut flags = 0u8;
        let mut pos = 1;
        if let Some(piv) = self.partial_iv {
            if piv.is_empty() || piv.len() > MAX_PARTIAL_IV_LEN {
                return Err(Error::InvalidParameter(crate::error::reason(
                    "Partial IV must be 1 to 5 bytes",
                )));
            }
            // The length fits in the three low bits (checked above).
            flags |= piv.len() as u8;
            copy_at(out, &mut pos, piv);
        }
        if let Some(ctx) = self.kid_context {
            let s = u8::try_from(ctx.len()).map_err(|_| {
                Error::InvalidParameter(crate::error::reason("kid context longer than 255 bytes"))
            })?;
            flags |= FLAG_KID_CONTEXT;
            copy_at(out, &mut pos, &[s]);
            copy_at(out, &mut pos, ctx);
        }
        if let Some(kid) = self.kid {
            flags |= FLAG_KID;
            copy_at(out, &mut pos, kid);
        }
        if let Some(first) = out.first_mut() {
            *first = flags;
        }
        Ok(len)
    }
}

impl OscoreOption<'_> {
    /// Writes the option value (what [`encode`](Self::encode) produces) through `w`.
    #[inline]
    pub(crate) fn write_to(&self, w: &mut mote_coap::framing::Cursor<'_>) -> Result<(), Error> {
        if self.is_empty() {
            return Ok(());
        }
        let mut flags = 0u8;
        if let Some(piv) = self.partial_iv {
            if piv.is_empty() || piv.len() > MAX_PARTIAL_IV_LEN {
                return Err(Error::InvalidParameter(crate::error::reason(
                    "Partial IV must be 1 to 5 bytes",
                )));
            }
            // The length fits in the three low bits (checked above).
            flags |= piv.len() as u8;
        }
        let s = match self.kid_context {
            Some(ctx) => {
                flags |= FLAG_KID_CONTEXT;
                Some(u8::try_from(ctx.len()).map_err(|_| {
                    Error::InvalidParameter(crate::error::reason(
                        "kid context longer than 255 bytes",
                    ))
                })?)
            }
            None => None,
        };
        if self.kid.is_some() {
            flags |= FLAG_KID;
        }
        w.put_byte(flags);
        w.put(self.partial_iv.unwrap_or_default());
        if let (Some(s), Some(ctx)) = (s, self.kid_context) {
            w.put_byte(s);
            w.put(ctx);
        }
        w.put(self.kid.unwrap_or_default());
        Ok(())
    }
}

/// Copies `src` into `out` at `*pos` (bounds already established by the caller).
#[inline]
fn copy_at(out: &mut [u8], pos: &mut usize, src: &[u8]) {
    if let Some(dst) = out.get_mut(*pos..*pos + src.len()) {
        mote_coap::framing::copy_short(dst, src);
    }
    *pos += src.len();
}

/// Encodes a sequence number as a Partial IV: network byte order with leading zero bytes
/// removed, and 0 encoded as `0x00` (RFC 8613 §5). Returns the buffer and the used length.
///
/// ```
/// use mote_oscore::option::encode_partial_iv;
/// let (piv, len) = encode_partial_iv(20);
/// assert_eq!(&piv[..len], [0x14]);
/// let (piv, len) = encode_partial_iv(0);
/// assert_eq!(&piv[..len], [0x00]); // 0 is one zero byte
/// let (piv, len) = encode_partial_iv(0x0102_0304_05);
/// assert_eq!(&piv[..len], [1, 2, 3, 4, 5]);
/// ```
pub fn encode_partial_iv(seq: u64) -> ([u8; MAX_PARTIAL_IV_LEN], usize) {
    let significant = (8 - (seq.leading_zeros() / 8) as usize).max(1);
    let len = significant.min(MAX_PARTIAL_IV_LEN);
    // The `len` low bytes of `seq`, moved to the top and read in network order (a shift
    // instead of a variable-length copy, which costs a `memset` and a `memcpy` call).
    let [a, b, c, d, e, ..] = (seq << (8 * (8 - len))).to_be_bytes();
    ([a, b, c, d, e], len)
}

/// Decodes a Partial IV into a sequence number. Leading zero bytes are tolerated when
/// decoding, as in the nonce construction (RFC 8613 §5.2 left-pads in any case).
///
/// ```
/// use mote_oscore::option::decode_partial_iv;
/// assert_eq!(decode_partial_iv(&[0x14])?, 20);
/// assert_eq!(decode_partial_iv(&[0x00, 0x14])?, 20); // leading zeros tolerated
/// assert!(decode_partial_iv(&[]).is_err());
/// assert!(decode_partial_iv(&[1, 2, 3, 4, 5, 6]).is_err());
/// # Ok::<(), mote_oscore::Error>(())
/// ```
pub fn decode_partial_iv(piv: &[u8]) -> Result<u64, Error> {
    if piv.is_empty() || piv.len() > MAX_PARTIAL_IV_LEN {
        return Err(Error::InvalidOscoreOption(crate::error::reason(
            "Partial IV must be 1 to 5 bytes",
        )));
    }
    Ok(piv.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_iv_encoding() {
        assert_eq!(encode_partial_iv(0), ([0, 0, 0, 0, 0], 1));
        assert_eq!(encode_partial_iv(0x14), ([0x14, 0, 0, 0, 0], 1));
        assert_eq!(encode_partial_iv(0x0100), ([1, 0, 0, 0, 0], 2));
        assert_eq!(encode_partial_iv((1 << 40) - 1), ([0xff; 5], 5));
        assert_eq!(decode_partial_iv(&[0xff; 5]).unwrap(), (1 << 40) - 1);
        assert!(decode_partial_iv(&[]).is_err());
        assert!(decode_partial_iv(&[0; 6]).is_err());
    }

    #[test]
    fn rejects_reserved_bits_and_lengths() {
        for flags in [0x20u8, 0x40, 0x80, 0x06, 0x07] {
            assert!(
                OscoreOption::decode(&[flags, 0, 0, 0, 0, 0, 0, 0]).is_err(),
                "{flags:#x}"
            );
        }
        assert!(OscoreOption::decode(&[0x02, 0x01]).is_err());
        assert!(OscoreOption::decode(&[0x10]).is_err());
        assert!(OscoreOption::decode(&[0x10, 0x03, 0x01]).is_err());
        assert!(OscoreOption::decode(&[0x01, 0x01, 0x99]).is_err());
    }
}
