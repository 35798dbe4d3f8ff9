//! One view over both framings of a CoAP message: UDP (RFC 7252 §3, decoded by
//! [`crate::message`]) and TCP (RFC 8323 §3.2, decoded by [`crate::tcp`]), for code that
//! rewrites messages whatever their transport (an OSCORE layer, a proxy), plus a writer over a
//! caller buffer that keeps counting past its end, so that a short buffer yields the exact
//! required size.
//!
//! ```
//! use mote_coap::code::Code;
//! use mote_coap::framing::{Cursor, Framing};
//! use mote_coap::option::{OptionEncoder, OptionNumber};
//!
//! // RFC 7252 Figure 17 over UDP, rewritten as the same request over TCP.
//! let udp = b"\x41\x01\x7d\x35\x20\xbbtemperature";
//! let msg = Framing::Udp.decode(udp)?;
//! assert_eq!((msg.code(), msg.token()), (Code::GET, &[0x20][..]));
//! let header = Framing::Tcp.header(msg.header());
//! let body_len = msg.option_bytes().len();
//! let mut buf = [0u8; 32];
//! let mut w = Cursor::new(&mut buf);
//! header.write(&mut w, msg.code(), msg.token(), body_len)?;
//! let mut options = OptionEncoder::new();
//! for o in msg.options() {
//!     options.write(&mut w, o.number, o.value)?;
//! }
//! let len = w.finish()?;
//! assert_eq!(&buf[..len], b"\xc1\x01\x20\xbbtemperature"); // Len 12, TKL 1 (RFC 8323 §3.2)
//! assert_eq!(Framing::Tcp.decode(&buf[..len])?.option(OptionNumber::URI_PATH).unwrap().value, b"temperature");
//! # Ok::<(), mote_coap::error::Error>(())
//! ```

#![deny(clippy::indexing_slicing)]

use crate::code::{Code, MessageType};
use crate::error::{EncodeError, MessageError};
use crate::message::{DecodeLimits, Message, tkl_nibble_and_ext, token_ext_len};
use crate::option::{self, OptionNumber, OptionRef, OptionSet, Options};
use crate::tcp::{Frame, FrameLimits};

/// How a CoAP message is framed on its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Framing {
    /// CoAP over UDP/DTLS (RFC 7252 §3): Ver/T/TKL, Code, Message ID, Token.
    #[default]
    Udp,
    /// CoAP over TCP/TLS/WebSockets-style streams (RFC 8323 §3.2): Len/TKL, extended length,
    /// Code, Token.
    Tcp,
}

impl Framing {
    /// Decodes exactly one message of this framing (tokens of at most 8 bytes, as
    /// [`Message::decode`] and [`Frame::decode_exact`] with no size limit).
    ///
    /// # Errors
    /// The decoder's [`MessageError`].
    // Inlined into each caller (as `Message::decode_with` is): the view is then built in
    // place rather than moved, which a rewriting layer such as OSCORE notices per message.
    #[inline(always)]
    pub fn decode(self, buf: &[u8]) -> Result<FramedMessage<'_>, MessageError> {
        match self {
            Self::Udp => {
                Message::decode_inlined(buf, &DecodeLimits::DEFAULT).map(FramedMessage::from)
            }
            Self::Tcp => {
                const LIMITS: FrameLimits = FrameLimits {
                    max_token_len: 8,
                    max_message_size: usize::MAX,
                };
                Frame::decode_exact(buf, &LIMITS).map(FramedMessage::from)
            }
        }
    }

    /// The header of this framing for a message that had `header` (the UDP type and Message ID
    /// are dropped for TCP; a TCP header becomes a CON with Message ID 0 over UDP).
    #[must_use]
    pub const fn header(self, header: Header) -> Header {
        match (self, header) {
            (Self::Udp, Header::Udp { .. }) => header,
            (Self::Udp, Header::Tcp) => Header::Udp {
                mtype: MessageType::Con,
                message_id: 0,
            },
            (Self::Tcp, _) => Header::Tcp,
        }
    }
}

/// The framing-specific part of a message header (the code and token are common).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Header {
    /// UDP (RFC 7252 §3): the type and Message ID.
    Udp {
        /// The message type.
        mtype: MessageType,
        /// The Message ID.
        message_id: u16,
    },
    /// TCP (RFC 8323 §3.2): no type, no Message ID; the length is written from the body.
    Tcp,
}

impl Header {
    /// The framing.
    #[must_use]
    pub const fn framing(self) -> Framing {
        match self {
            Self::Udp { .. } => Framing::Udp,
            Self::Tcp => Framing::Tcp,
        }
    }

    /// Length of the header and token of a message whose options, payload marker and payload
    /// take `body_len` bytes.
    #[must_use]
    #[inline]
    pub const fn len(self, token_len: usize, body_len: usize) -> usize {
        let token = token_ext_len(token_len) + token_len;
        match self {
            Self::Udp { .. } => 4 + token,
            Self::Tcp => {
                // RFC 8323 §3.2: Len 0–12, else 13/14/15 with 1/2/4 extension bytes.
                let ext = if body_len < 13 {
                    0
                } else if body_len < 269 {
                    1
                } else if body_len < 65805 {
                    2
                } else {
                    4
                };
                2 + ext + token
            }
        }
    }

    /// Writes the header and token (RFC 7252 §3; RFC 8323 §3.2, whose length field needs the
    /// `body_len` of options, marker and payload; RFC 8974 for tokens over 8 bytes). Nothing
    /// checks that the type fits the code: this is the writer of rewriting layers.
    ///
    /// # Errors
    /// [`EncodeError::TokenTooLong`]; [`EncodeError::Invalid`] with
    /// [`MessageError::FrameTooLarge`] for a TCP body the length field cannot express. A
    /// short buffer is reported by [`Cursor::finish`].
    #[inline(always)]
    pub fn write(
        self,
        w: &mut Cursor<'_>,
        code: Code,
        token: &[u8],
        body_len: usize,
    ) -> Result<(), EncodeError> {
        match self {
            // The common case, inlined: a UDP header with an RFC 7252 token (TKL 0–8).
            Self::Udp { mtype, message_id } if token.len() <= 8 => {
                let [hi, lo] = message_id.to_be_bytes();
                w.put(&[
                    0x40 | (mtype.bits() << 4) | token.len() as u8,
                    code.0,
                    hi,
                    lo,
                ]);
                w.put(token);
                Ok(())
            }
            _ => self.write_any(w, code, token, body_len),
        }
    }

    /// [`Self::write`] for every header: TCP, and the RFC 8974 extended tokens.
    fn write_any(
        self,
        w: &mut Cursor<'_>,
        code: Code,
        token: &[u8],
        body_len: usize,
    ) -> Result<(), EncodeError> {
        if token.len() > option::MAX_VALUE_LEN {
            return Err(EncodeError::TokenTooLong { len: token.len() });
        }
        let (tkl, tkl_ext, tkl_ext_len) = tkl_nibble_and_ext(token.len());
        let tkl_ext = tkl_ext.get(..tkl_ext_len).unwrap_or(&[]);
        match self {
            Self::Udp { mtype, message_id } => {
                let [hi, lo] = message_id.to_be_bytes();
                w.put(&[0x40 | (mtype.bits() << 4) | tkl, code.0, hi, lo]);
                w.put(tkl_ext);
            }
            Self::Tcp => {
                if body_len < 13 {
                    w.put_byte(((body_len as u8) << 4) | tkl);
                } else if body_len < 269 {
                    w.put(&[(13 << 4) | tkl, (body_len - 13) as u8]);
                } else if body_len < 65805 {
                    w.put_byte((14 << 4) | tkl);
                    w.put(&((body_len - 269) as u16).to_be_bytes());
                } else {
                    let ext = u32::try_from(body_len - 65805).map_err(|_| {
                        EncodeError::Invalid(MessageError::FrameTooLarge {
                            len: body_len,
                            max: usize::try_from(u32::MAX)
                                .map_or(usize::MAX, |m| m.saturating_add(65805)),
                        })
                    })?;
                    w.put_byte((15 << 4) | tkl);
                    w.put(&ext.to_be_bytes());
                }
                w.put_byte(code.0);
                w.put(tkl_ext);
            }
        }
        w.put(token);
        Ok(())
    }
}

/// A decoded message of either framing: a validated, borrowed view (see
/// [`Framing::decode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FramedMessage<'a> {
    header: Header,
    code: Code,
    token: &'a [u8],
    options: &'a [u8],
    payload: &'a [u8],
    option_set: OptionSet,
}

impl<'a> From<Message<'a>> for FramedMessage<'a> {
    #[inline]
    fn from(m: Message<'a>) -> Self {
        Self {
            header: Header::Udp {
                mtype: m.mtype(),
                message_id: m.message_id(),
            },
            code: m.code(),
            token: m.token(),
            options: m.option_bytes(),
            payload: m.payload(),
            option_set: m.option_set(),
        }
    }
}

impl<'a> From<Frame<'a>> for FramedMessage<'a> {
    #[inline]
    fn from(f: Frame<'a>) -> Self {
        Self {
            header: Header::Tcp,
            code: f.code(),
            token: f.token(),
            options: f.option_bytes(),
            payload: f.payload(),
            option_set: f.option_set(),
        }
    }
}

impl<'a> FramedMessage<'a> {
    /// The framing-specific header fields.
    #[must_use]
    pub const fn header(&self) -> Header {
        self.header
    }

    /// The framing.
    #[must_use]
    pub const fn framing(&self) -> Framing {
        self.header.framing()
    }

    /// The code.
    #[must_use]
    pub const fn code(&self) -> Code {
        self.code
    }

    /// The token (empty when absent).
    #[must_use]
    pub const fn token(&self) -> &'a [u8] {
        self.token
    }

    /// The raw option bytes (without the payload marker).
    #[must_use]
    pub const fn option_bytes(&self) -> &'a [u8] {
        self.options
    }

    /// The payload (empty when absent).
    #[must_use]
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Which option numbers occur.
    #[must_use]
    pub const fn option_set(&self) -> OptionSet {
        self.option_set
    }

    /// The options in wire order.
    #[must_use]
    pub const fn options(&self) -> Options<'a> {
        Options::from_bytes(self.options)
    }

    /// The first option with `number`.
    #[must_use]
    pub fn option(&self, number: OptionNumber) -> Option<OptionRef<'a>> {
        if !self.option_set.may_contain(number) {
            return None;
        }
        self.options()
            .skip_while(|o| o.number < number)
            .find(|o| o.number == number)
    }

    /// Length of options, payload marker and payload.
    #[must_use]
    pub const fn body_len(&self) -> usize {
        self.options.len()
            + if self.payload.is_empty() {
                0
            } else {
                1 + self.payload.len()
            }
    }
}

/// A writer over a caller buffer that keeps counting past its end: what does not fit is not
/// written, and [`Self::finish`] then reports the exact size that would have been enough.
#[derive(Debug)]
pub struct Cursor<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Cursor<'b> {
    /// A cursor at the start of `buf`.
    #[must_use]
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written (or counted) so far.
    #[must_use]
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Appends `bytes`.
    #[inline]
    pub fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.pos..) {
            copy_short(dst, bytes);
        }
        self.pos += bytes.len();
    }

    /// Appends one byte.
    #[inline]
    pub fn put_byte(&mut self, byte: u8) {
        if let Some(dst) = self.buf.get_mut(self.pos) {
            *dst = byte;
        }
        self.pos += 1;
    }

    /// The length written.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] with the required size when anything did not fit.
    pub fn finish(self) -> Result<usize, EncodeError> {
        if self.pos > self.buf.len() {
            return Err(EncodeError::BufferTooSmall { required: self.pos });
        }
        Ok(self.pos)
    }
}

/// Copies `src` into the start of `dst` (nothing when `dst` is shorter).
///
/// Option headers, tokens and short values are a few bytes long. For lengths unknown at
/// compile time `copy_from_slice` (and any byte loop, which LLVM turns back into one) becomes
/// a call to `memcpy`, several times the cost of the copy itself; up to 16 bytes this copies
/// with two overlapping fixed-size moves instead, as `memcpy` does internally.
///
/// Public so that the crates above (mote-oscore's nonce and AAD assembly) use this one copy.
#[inline]
pub fn copy_short(dst: &mut [u8], src: &[u8]) {
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
        4..=7 => copy_ends::<4>(dst, src),
        8..=16 => copy_ends::<8>(dst, src),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_length_field_boundaries() {
        // RFC 8323 §3.2: (body length) → (first byte's Len nibble, extension bytes).
        for (body, first, ext) in [
            (12usize, 0xc0u8, &[][..]),
            (13, 0xd0, &[0x00][..]),
            (268, 0xd0, &[0xff][..]),
            (269, 0xe0, &[0x00, 0x00][..]),
            (65804, 0xe0, &[0xff, 0xff][..]),
            (65805, 0xf0, &[0, 0, 0, 0][..]),
        ] {
            let mut buf = [0u8; 8];
            let mut w = Cursor::new(&mut buf);
            Header::Tcp.write(&mut w, Code::GET, &[], body).unwrap();
            let n = w.finish().unwrap();
            assert_eq!(n, Header::Tcp.len(0, body), "{body}");
            assert_eq!(buf[0], first, "{body}");
            assert_eq!(&buf[1..1 + ext.len()], ext, "{body}");
            assert_eq!(buf[1 + ext.len()], 0x01, "{body}");
        }
    }

    #[test]
    fn short_buffer_reports_the_required_size() {
        let mut buf = [0u8; 3];
        let mut w = Cursor::new(&mut buf);
        let header = Header::Udp {
            mtype: MessageType::Non,
            message_id: 0x1234,
        };
        header.write(&mut w, Code::CONTENT, &[1, 2], 0).unwrap();
        assert_eq!(w.finish(), Err(EncodeError::BufferTooSmall { required: 6 }));
    }

    #[test]
    fn udp_header_with_short_and_extended_tokens() {
        let header = Header::Udp {
            mtype: MessageType::Con,
            message_id: 0x7d35,
        };
        // RFC 7252 Figure 17's header, then RFC 8974 §2.1: TKL 13 and one extension byte
        // (length − 13) for a 14-byte token.
        for (token, head) in [
            (&[0x20u8][..], &[0x41u8, 0x01, 0x7d, 0x35][..]),
            (&[7u8; 14][..], &[0x4d, 0x01, 0x7d, 0x35, 0x01][..]),
        ] {
            let mut buf = [0u8; 32];
            let mut w = Cursor::new(&mut buf);
            header.write(&mut w, Code::GET, token, 0).unwrap();
            let n = w.finish().unwrap();
            assert_eq!(n, header.len(token.len(), 0));
            assert_eq!(&buf[..head.len()], head);
            assert_eq!(&buf[head.len()..n], token);
        }
    }

    #[test]
    fn cursor_fits_exactly_or_reports_one_more() {
        let bytes = [1u8, 2, 3, 4, 5];
        let mut exact = [0u8; 5];
        let mut w = Cursor::new(&mut exact);
        w.put(&bytes);
        assert_eq!(w.finish(), Ok(5));
        assert_eq!(exact, bytes);
        let mut short = [0u8; 4];
        let mut w = Cursor::new(&mut short);
        w.put(&bytes[..4]);
        w.put_byte(5);
        assert_eq!(w.finish(), Err(EncodeError::BufferTooSmall { required: 5 }));
    }

    #[test]
    fn udp_and_tcp_views_agree() {
        // A 2.05 with token 0x7f, Content-Format 0 and payload "x" in both framings.
        let udp = [0x61, 0x45, 0x00, 0x07, 0x7f, 0xc0, 0xff, b'x'];
        let tcp = [0x31, 0x45, 0x7f, 0xc0, 0xff, b'x'];
        let u = Framing::Udp.decode(&udp).unwrap();
        let t = Framing::Tcp.decode(&tcp).unwrap();
        assert_eq!(
            u.header(),
            Header::Udp {
                mtype: MessageType::Ack,
                message_id: 7
            }
        );
        assert_eq!(t.header(), Header::Tcp);
        for m in [u, t] {
            assert_eq!(
                (m.code(), m.token(), m.payload()),
                (Code::CONTENT, &[0x7f][..], &b"x"[..])
            );
            assert_eq!(m.option(OptionNumber::CONTENT_FORMAT).unwrap().value, b"");
            assert!(m.option(OptionNumber::ACCEPT).is_none());
            assert_eq!(m.body_len(), 3);
        }
        // TCP: the length must match the buffer exactly.
        assert!(Framing::Tcp.decode(&tcp[..5]).is_err());
        assert!(
            Framing::Tcp
                .decode(&[0x31, 0x45, 0x7f, 0xc0, 0xff, b'x', 0])
                .is_err()
        );
    }
}
