//! The small part of CoAP message encoding OSCORE needs to split a message into its outer
//! message and its plaintext and back (RFC 7252 §3 and §3.1, RFC 8323 §3.2), working on
//! the caller's buffers without allocation.

use crate::Error;

/// How a CoAP message is framed on its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// CoAP over UDP/DTLS (RFC 7252 §3): Ver/T/TKL, Code, Message ID, Token.
    #[default]
    Udp,
    /// CoAP over TCP/TLS (RFC 8323 §3.2): Len/TKL, extended length, Code, Token.
    Tcp,
}

/// A CoAP message split into its parts, borrowing from the input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    /// UDP: the type and Message ID (first byte with TKL masked out, 2 MID bytes).
    pub(crate) udp_header: [u8; 3],
    pub(crate) code: u8,
    pub(crate) token: &'a [u8],
    /// The encoded options (validated).
    pub(crate) options: &'a [u8],
    /// The payload, without the payload marker; empty when absent.
    pub(crate) payload: &'a [u8],
    /// Which option numbers occur, see [`OptionSummary`].
    pub(crate) summary: OptionSummary<'a>,
}

/// What the validating pass over the options learned on the way, so that the common messages
/// need no further pass to be classified: which option numbers occur (a bit per number, see
/// [`present_bit`]) and the OSCORE option.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OptionSummary<'a> {
    /// Bit `n` for each option number `n < 63`; bit 63 for any number of 63 or more.
    pub(crate) present: u64,
    /// The value of the first OSCORE option.
    pub(crate) oscore: Option<&'a [u8]>,
    /// Whether the OSCORE option occurs more than once.
    pub(crate) oscore_repeated: bool,
}

/// The bit of option `number` in [`OptionSummary::present`].
#[inline]
pub(crate) const fn present_bit(number: u16) -> u64 {
    if number < 63 { 1 << number } else { 1 << 63 }
}

impl<'a> OptionSummary<'a> {
    /// Whether any option whose [`present_bit`] is in `mask` occurs.
    #[inline]
    pub(crate) fn any(&self, mask: u64) -> bool {
        self.present & mask != 0
    }
}

impl<'a> Parts<'a> {
    pub(crate) fn options(&self) -> Options<'a> {
        Options::new(self.options)
    }
}

/// Splits a message into header, token, options and payload, validating the option
/// encoding (RFC 7252 §3, §3.1; RFC 8323 §3.2).
// Inlined into each caller: its 88-byte result is then built in place, not moved.
#[inline(always)]
pub(crate) fn parse(framing: Framing, msg: &[u8]) -> Result<Parts<'_>, Error> {
    let (udp_header, code, token, rest) = match framing {
        Framing::Udp => {
            let (head, rest) = msg
                .split_first_chunk::<4>()
                .ok_or(Error::Malformed("message shorter than the 4-byte header"))?;
            let [b0, code, mid0, mid1] = *head;
            if b0 >> 6 != 1 {
                return Err(Error::Malformed("unknown CoAP version"));
            }
            let tkl = usize::from(b0 & 0x0f);
            if tkl > 8 {
                return Err(Error::Malformed("token length 9-15 is reserved"));
            }
            let (token, rest) = rest
                .split_at_checked(tkl)
                .ok_or(Error::Malformed("truncated token"))?;
            ([b0 & 0xf0, mid0, mid1], code, token, rest)
        }
        Framing::Tcp => {
            let (&b0, rest) = msg.split_first().ok_or(Error::Malformed("empty message"))?;
            let len_nibble = b0 >> 4;
            let tkl = usize::from(b0 & 0x0f);
            if tkl > 8 {
                return Err(Error::Malformed("token length 9-15 is reserved"));
            }
            let (ext_len, base) = match len_nibble {
                13 => (1, 13usize),
                14 => (2, 269),
                15 => (4, 65805),
                _ => (0, usize::from(len_nibble)),
            };
            let (ext, rest) = rest
                .split_at_checked(ext_len)
                .ok_or(Error::Malformed("truncated length"))?;
            let ext_value = ext.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
            let len = base
                .checked_add(ext_value)
                .ok_or(Error::Malformed("length overflow"))?;
            let (&code, rest) = rest.split_first().ok_or(Error::Malformed("missing code"))?;
            let (token, rest) = rest
                .split_at_checked(tkl)
                .ok_or(Error::Malformed("truncated token"))?;
            if rest.len() != len {
                return Err(Error::Malformed("length field does not match the message"));
            }
            ([0; 3], code, token, rest)
        }
    };
    // RFC 7252 §3: a marker followed by a zero-length payload is a format error.
    let Body {
        options,
        payload,
        summary,
    } = parse_body(rest)?;
    Ok(Parts {
        udp_header,
        code,
        token,
        options,
        payload,
        summary,
    })
}

/// The options and payload of a header-less CoAP body (the OSCORE plaintext after its code
/// byte, RFC 8613 §5.3).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Body<'a> {
    pub(crate) options: &'a [u8],
    pub(crate) payload: &'a [u8],
    pub(crate) summary: OptionSummary<'a>,
}

/// Splits and validates a body: options, then payload after the marker.
#[inline(always)]
pub(crate) fn parse_body(rest: &[u8]) -> Result<Body<'_>, Error> {
    let (options_len, summary) = validate_options(rest)?;
    let (options, tail) = rest.split_at_checked(options_len).unwrap_or((rest, &[]));
    let payload = match tail.split_first() {
        None => &[][..],
        Some((_, [])) => return Err(Error::Malformed("payload marker without payload")),
        Some((_, payload)) => payload,
    };
    Ok(Body {
        options,
        payload,
        summary,
    })
}

/// Returns the length of the option part of `bytes` (up to the payload marker or end) and
/// what the options are.
#[inline]
fn validate_options(bytes: &[u8]) -> Result<(usize, OptionSummary<'_>), Error> {
    let mut it = Options::new(bytes);
    let mut summary = OptionSummary::default();
    for item in it.by_ref() {
        let (n, v) = item?;
        summary.present |= present_bit(n);
        if n == crate::class::number::OSCORE {
            if summary.oscore.is_some() {
                summary.oscore_repeated = true;
            } else {
                summary.oscore = Some(v);
            }
        }
    }
    Ok((it.pos, summary))
}

/// Iterator over encoded options: `(number, value)` (RFC 7252 §3.1).
#[derive(Debug, Clone)]
pub(crate) struct Options<'a> {
    bytes: &'a [u8],
    pos: usize,
    number: u32,
    done: bool,
}

impl<'a> Options<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            number: 0,
            done: false,
        }
    }

    #[inline]
    fn read_ext(&mut self, nibble: u8) -> Result<u32, Error> {
        match nibble {
            13 => {
                let b = *self
                    .bytes
                    .get(self.pos)
                    .ok_or(Error::Malformed("truncated option"))?;
                self.pos += 1;
                Ok(u32::from(b) + 13)
            }
            14 => {
                let b: [u8; 2] = self
                    .bytes
                    .get(self.pos..self.pos + 2)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Error::Malformed("truncated option"))?;
                self.pos += 2;
                Ok(u32::from(u16::from_be_bytes(b)) + 269)
            }
            15 => Err(Error::Malformed("reserved option nibble 15")),
            n => Ok(u32::from(n)),
        }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<(u16, &'a [u8]), Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let &b = match self.bytes.get(self.pos) {
            None => {
                self.done = true;
                return None;
            }
            Some(b) => b,
        };
        if b == 0xff {
            self.done = true;
            return None;
        }
        self.pos += 1;
        if b < 0xd0 && b & 0x0f < 13 {
            // The common case: delta and length in the first byte, no extension bytes.
            let len = usize::from(b & 0x0f);
            let number = self.number + u32::from(b >> 4);
            let Ok(number16) = u16::try_from(number) else {
                self.done = true;
                return Some(Err(Error::Malformed("option number over 65535")));
            };
            let Some(value) = self.bytes.get(self.pos..self.pos + len) else {
                self.done = true;
                return Some(Err(Error::Malformed("truncated option value")));
            };
            self.pos += len;
            self.number = number;
            return Some(Ok((number16, value)));
        }
        let result = (|| {
            let delta = self.read_ext(b >> 4)?;
            let len = self.read_ext(b & 0x0f)? as usize;
            let number = self.number + delta;
            let number16 =
                u16::try_from(number).map_err(|_| Error::Malformed("option number over 65535"))?;
            let value = self
                .bytes
                .get(self.pos..self.pos + len)
                .ok_or(Error::Malformed("truncated option value"))?;
            self.pos += len;
            self.number = number;
            Ok((number16, value))
        })();
        if result.is_err() {
            self.done = true;
        }
        Some(result)
    }
}

/// A writer over a caller buffer that keeps counting past the end, so a short buffer
/// yields the exact required size ([`Error::BufferTooSmall`]).
#[derive(Debug)]
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pub(crate) pos: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    #[inline]
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            copy_short(dst, bytes);
        }
        self.pos += bytes.len();
    }

    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        if let Some(dst) = self.buf.get_mut(self.pos) {
            *dst = b;
        }
        self.pos += 1;
    }

    /// Fails with the required size if anything did not fit.
    pub(crate) fn finish(self) -> Result<(usize, &'b mut [u8]), Error> {
        if self.pos > self.buf.len() {
            return Err(Error::BufferTooSmall { required: self.pos });
        }
        Ok((self.pos, self.buf))
    }
}

/// Copies `src` into the start of `dst` (nothing when `dst` is shorter).
///
/// Option headers, IDs and Partial IVs are a few bytes long. For lengths unknown at compile
/// time `copy_from_slice` (and any byte loop, which LLVM turns back into one) becomes a call
/// to `memcpy`, several times the cost of the copy itself; up to 16 bytes this copies with
/// two overlapping fixed-size moves instead, as `memcpy` does internally.
#[inline]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let Some(dst) = dst.get_mut(..n) else {
        return;
    };
    match n {
        0 => {}
        // Slice patterns: one length dispatch, no per-byte bounds checks.
        1..=3 => match (dst, src) {
            ([d], [s]) => *d = *s,
            ([d0, d1], [s0, s1]) => (*d0, *d1) = (*s0, *s1),
            ([d0, d1, d2], [s0, s1, s2]) => (*d0, *d1, *d2) = (*s0, *s1, *s2),
            _ => {}
        },
        4..=7 => {
            copy_ends::<4>(dst, src);
        }
        8..=16 => {
            copy_ends::<8>(dst, src);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Copies the first and the last `N` bytes of `src` (of length `N..=2N`, equal to `dst`'s).
#[inline(always)]
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
    if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
        *d = *s;
    }
    if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
        *d = *s;
    }
}

/// Writes options in ascending order with delta encoding (RFC 7252 §3.1).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OptionEncoder {
    last: u16,
}

impl OptionEncoder {
    /// Writes option header and value. Options must arrive in non-decreasing order.
    pub(crate) fn write(
        &mut self,
        w: &mut Writer<'_>,
        number: u16,
        value: &[u8],
    ) -> Result<(), Error> {
        self.write_header(w, number, value.len())?;
        w.put(value);
        Ok(())
    }

    pub(crate) fn write_header(
        &mut self,
        w: &mut Writer<'_>,
        number: u16,
        len: usize,
    ) -> Result<(), Error> {
        let delta = number
            .checked_sub(self.last)
            .ok_or(Error::Malformed("options out of order"))?;
        let len = u16::try_from(len)
            .ok()
            .filter(|&l| l <= 65535 - 269)
            .ok_or(Error::Malformed("option value too long"))?;
        self.last = number;
        if delta < 13 && len < 13 {
            // The common case: delta and length fit in the first byte.
            w.byte(((delta as u8) << 4) | len as u8);
            return Ok(());
        }
        let (dn, dext, dlen) = nibble(delta);
        let (ln, lext, llen) = nibble(len);
        w.byte((dn << 4) | ln);
        w.put(dext.get(..dlen).unwrap_or_default());
        w.put(lext.get(..llen).unwrap_or_default());
        Ok(())
    }
}

fn nibble(v: u16) -> (u8, [u8; 2], usize) {
    if v < 13 {
        (v as u8, [0; 2], 0)
    } else if v < 269 {
        (13, [(v - 13) as u8, 0], 1)
    } else {
        ((14), (v - 269).to_be_bytes(), 2)
    }
}

/// Writes the message header for `framing`. For TCP the length of options and payload
/// (`body_len`, including the payload marker) must be known (RFC 8323 §3.2).
#[inline]
pub(crate) fn write_header(
    w: &mut Writer<'_>,
    framing: Framing,
    udp_header: [u8; 3],
    code: u8,
    token: &[u8],
    body_len: usize,
) -> Result<(), Error> {
    let tkl = u8::try_from(token.len())
        .ok()
        .filter(|&t| t <= 8)
        .ok_or(Error::Malformed("token longer than 8 bytes"))?;
    match framing {
        Framing::Udp => {
            let [b0, mid0, mid1] = udp_header;
            w.put(&[(b0 & 0xf0) | tkl, code, mid0, mid1]);
        }
        Framing::Tcp => {
            if body_len < 13 {
                w.byte(((body_len as u8) << 4) | tkl);
            } else if body_len < 269 {
                w.put(&[(13 << 4) | tkl, (body_len - 13) as u8]);
            } else if body_len < 65805 {
                w.byte((14 << 4) | tkl);
                w.put(&((body_len - 269) as u16).to_be_bytes());
            } else {
                let ext = u32::try_from(body_len - 65805)
                    .map_err(|_| Error::Malformed("message too long"))?;
                w.byte((15 << 4) | tkl);
                w.put(&ext.to_be_bytes());
            }
            w.byte(code);
        }
    }
    w.put(token);
    Ok(())
}

/// The header length for `framing` given the token and body length.
pub(crate) fn header_len(framing: Framing, token_len: usize, body_len: usize) -> usize {
    match framing {
        Framing::Udp => 4 + token_len,
        Framing::Tcp => {
            let ext = match body_len {
                0..13 => 0,
                13..269 => 1,
                269..65805 => 2,
                _ => 4,
            };
            2 + ext + token_len
        }
    }
}

/// Decodes a CoAP uint option value (RFC 7252 §3.2), at most 4 bytes.
pub(crate) fn decode_uint(value: &[u8]) -> Option<u32> {
    if value.len() > 4 {
        return None;
    }
    Some(value.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn parse_rfc8613_c4_request() {
        let msg = [
            0x44, 0x01, 0x5d, 0x1f, 0x00, 0x00, 0x39, 0x74, 0x39, 0x6c, 0x6f, 0x63, 0x61, 0x6c,
            0x68, 0x6f, 0x73, 0x74, 0x83, 0x74, 0x76, 0x31,
        ];
        let p = parse(Framing::Udp, &msg).unwrap();
        assert_eq!(p.code, 1);
        let opts: Vec<_> = p.options().map(Result::unwrap).collect();
        assert_eq!(opts, vec![(3, &b"localhost"[..]), (11, &b"tv1"[..])]);
        assert!(p.payload.is_empty());
    }

    #[test]
    fn option_encoder_round_trip() {
        let mut buf = [0u8; 600];
        let mut w = Writer::new(&mut buf);
        let mut enc = OptionEncoder::default();
        let big = [7u8; 300];
        for (n, v) in [
            (1u16, &[][..]),
            (14, &[1, 2][..]),
            (300, &big[..]),
            (2000, &[9][..]),
        ] {
            enc.write(&mut w, n, v).unwrap();
        }
        let (len, buf) = w.finish().unwrap();
        let got: Vec<_> = Options::new(&buf[..len]).map(Result::unwrap).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[2], (300, &big[..]));
    }
}
