//! CoAP messages over UDP (RFC 7252 §3, with the extended token lengths of RFC 8974).
//!
//! [`Message`] is a borrowed, fully validated view over the caller's datagram; its options are
//! read on demand by an iterator that cannot fail, because decoding already checked them.
//! [`OwnedMessage`] (feature `alloc`) is built field by field and encodes canonically (options in
//! ascending order, uint values minimal) into a `&mut [u8]` or a `bytes::BufMut`, with
//! [`OwnedMessage::encoded_len`] telling the size up front.
//!
//! ```
//! use mote_coap::code::{Code, MessageType};
//! use mote_coap::message::{Message, OwnedMessage};
//! use mote_coap::option::OptionNumber;
//!
//! let msg = OwnedMessage::new(MessageType::Con, Code::GET, 0x1234)
//!     .with_token([0xa1, 0xb2])
//!     .with_option(OptionNumber::URI_PATH, "temp")
//!     .with_uint_option(OptionNumber::ACCEPT, 50);
//! let mut buf = [0u8; 64];
//! let n = msg.encode(&mut buf)?;
//! assert_eq!(n, msg.encoded_len());
//!
//! let decoded = Message::decode(&buf[..n])?;
//! assert_eq!(decoded.code(), Code::GET);
//! assert_eq!(decoded.option(OptionNumber::URI_PATH).unwrap().as_str()?, "temp");
//! # Ok::<(), mote_coap::error::Error>(())
//! ```

#![deny(clippy::indexing_slicing)]

use crate::code::{Code, MessageType};
use crate::error::{EncodeError, Field, MessageError, OptionError};
use crate::option::{self, OptionNumber, OptionRef, OptionSet, Options, Sink, SliceSink};

/// What a decoder accepts beyond the fixed rules of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The longest token accepted. 8 (the default) is RFC 7252 without RFC 8974: TKL values
    /// 9–15 are message format errors. A larger value turns on RFC 8974 extended token lengths
    /// up to that many bytes (at most 65804 can occur).
    pub max_token_len: usize,
}

impl DecodeLimits {
    /// RFC 7252 tokens of 0–8 bytes.
    pub const DEFAULT: Self = Self { max_token_len: 8 };

    /// RFC 8974 extended tokens of up to `max_token_len` bytes.
    #[must_use]
    pub const fn extended_tokens(max_token_len: usize) -> Self {
        Self { max_token_len }
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Reads the token after a TKL nibble (RFC 7252 §3, RFC 8974 §2.1). `rest` starts at byte
/// `offset` of the message. Returns the token and the bytes after it.
#[inline]
pub(crate) fn read_token<'a>(
    tkl: u8,
    rest: &'a [u8],
    offset: usize,
    limits: &DecodeLimits,
) -> Result<(&'a [u8], &'a [u8]), MessageError> {
    let (len, rest, token_at) = match tkl {
        0..=8 => (usize::from(tkl), rest, offset),
        // RFC 7252 §3: 9–15 are reserved (a message format error) unless RFC 8974 is in use.
        _ if limits.max_token_len <= 8 => return Err(MessageError::ReservedTokenLength { tkl }),
        9..=12 => (usize::from(tkl), rest, offset),
        13 => match rest {
            [b, tail @ ..] => (usize::from(*b) + 13, tail, offset + 1),
            [] => {
                return Err(MessageError::Truncated {
                    field: Field::ExtendedTokenLength,
                    offset,
                });
            }
        },
        14 => match rest {
            [hi, lo, tail @ ..] => (
                usize::from(u16::from_be_bytes([*hi, *lo])) + 269,
                tail,
                offset + 2,
            ),
            _ => {
                return Err(MessageError::Truncated {
                    field: Field::ExtendedTokenLength,
                    offset,
                });
            }
        },
        // RFC 8974 §2.1: 15 is reserved.
        _ => return Err(MessageError::ReservedTokenLength { tkl }),
    };
    if len > limits.max_token_len {
        return Err(MessageError::TokenTooLong {
            len,
            max: limits.max_token_len,
        });
    }
    if rest.len() < len {
        return Err(MessageError::Truncated {
            field: Field::Token,
            offset: token_at,
        });
    }
    Ok(rest.split_at(len))
}

/// Checks the rules that tie type, code and content together (RFC 7252 §3, §4.1–§4.3).
pub(crate) fn check_type_and_code(mtype: MessageType, code: Code) -> Result<(), MessageError> {
    // RFC 7252 §3: classes 1, 3, 6 and 7 are reserved over UDP ("All other class values are
    // reserved"); §4.2 names 1, 6 and 7 explicitly. 7 is signaling, only on reliable transports.
    if matches!(code.class(), 1 | 3 | 6 | 7) {
        return Err(MessageError::ReservedCodeClass { code });
    }
    let fits = match mtype {
        // §4.2: a CON carries a request or a response, or is Empty ("CoAP ping").
        MessageType::Con => true,
        // §4.3: a NON always carries a request or a response and MUST NOT be Empty.
        MessageType::Non => !code.is_empty(),
        // §4.2: an ACK carries a response or is Empty; one carrying a request is rejected.
        MessageType::Ack => !code.is_request(),
        // §4.2: a Reset MUST be Empty.
        MessageType::Rst => code.is_empty(),
    };
    if fits {
        Ok(())
    } else {
        Err(MessageError::TypeCodeMismatch { mtype, code })
    }
}

/// Size of the token length extension for a token of `len` bytes (RFC 8974 §2.1).
#[inline(always)]
pub(crate) const fn token_ext_len(len: usize) -> usize {
    if len < 13 {
        0
    } else if len < 269 {
        1
    } else {
        2
    }
}

/// Writes a token's TKL extension bytes (the nibble goes into the first byte elsewhere).
#[inline(always)]
pub(crate) fn tkl_nibble_and_ext(len: usize) -> (u8, [u8; 2], usize) {
    if len < 13 {
        (len as u8, [0, 0], 0)
    } else if len < 269 {
        (13, [(len - 13) as u8, 0], 1)
    } else {
        (14, ((len - 269) as u16).to_be_bytes(), 2)
    }
}

/// A decoded CoAP message over UDP: a validated, borrowed view of the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message<'a> {
    mtype: MessageType,
    code: Code,
    message_id: u16,
    token: &'a [u8],
    options: &'a [u8],
    payload: &'a [u8],
    option_set: OptionSet,
}

impl<'a> Message<'a> {
    /// Decodes and validates a datagram with the default limits (tokens of at most 8 bytes).
    ///
    /// # Errors
    /// A [`MessageError`] naming the first format error.
    #[inline]
    pub fn decode(buf: &'a [u8]) -> Result<Self, MessageError> {
        Self::decode_with(buf, &DecodeLimits::DEFAULT)
    }

    /// Decodes and validates a datagram (RFC 7252 §3, RFC 8974 §2.1): version 1, TKL and token,
    /// code class, Empty messages, type/code consistency, every option header and the payload
    /// marker.
    ///
    /// # Errors
    /// A [`MessageError`] naming the first format error.
    #[inline]
    pub fn decode_with(buf: &'a [u8], limits: &DecodeLimits) -> Result<Self, MessageError> {
        Self::decode_inlined(buf, limits)
    }

    /// [`Self::decode_with`], always inlined: for [`Framing::decode`](crate::framing::Framing::decode),
    /// whose callers (a rewriting layer such as OSCORE) decode one message per operation.
    #[inline(always)]
    pub(crate) fn decode_inlined(
        buf: &'a [u8],
        limits: &DecodeLimits,
    ) -> Result<Self, MessageError> {
        let [b0, code, id_hi, id_lo, rest @ ..] = buf else {
            return Err(MessageError::Truncated {
                field: Field::Header,
                offset: 0,
            });
        };
        // RFC 7252 §3: Ver MUST be 1; unknown versions are silently ignored by the caller.
        let version = b0 >> 6;
        if version != 1 {
            return Err(MessageError::UnsupportedVersion { version });
        }
        let mtype = MessageType::from_bits(b0 >> 4);
        let code = Code(*code);
        let tkl = b0 & 0x0f;
        check_type_and_code(mtype, code)?;
        // RFC 7252 §4.1: an Empty message has TKL 0 and no bytes after the Message ID.
        if code.is_empty() && (tkl != 0 || !rest.is_empty()) {
            return Err(MessageError::NonEmptyEmptyMessage);
        }
        let (token, rest) = read_token(tkl, rest, 4, limits)?;
        let body = option::split_options(rest, buf.len() - rest.len())?;
        Ok(Self {
            mtype,
            code,
            message_id: u16::from_be_bytes([*id_hi, *id_lo]),
            token,
            options: body.options,
            payload: body.payload,
            option_set: body.option_set,
        })
    }

    /// The message type.
    #[must_use]
    pub const fn mtype(&self) -> MessageType {
        self.mtype
    }

    /// The code.
    #[must_use]
    pub const fn code(&self) -> Code {
        self.code
    }

    /// The Message ID.
    #[must_use]
    pub const fn message_id(&self) -> u16 {
        self.message_id
    }

    /// The token (empty when absent).
    #[must_use]
    pub const fn token(&self) -> &'a [u8] {
        self.token
    }

    /// The payload (empty when absent).
    #[must_use]
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The options in wire order.
    #[must_use]
    pub const fn options(&self) -> Options<'a> {
        Options::new(self.options)
    }

    /// The raw option bytes (without the payload marker).
    #[must_use]
    pub const fn option_bytes(&self) -> &'a [u8] {
        self.options
    }

    /// Which option numbers occur (learned while decoding, no further pass).
    #[must_use]
    pub const fn option_set(&self) -> OptionSet {
        self.option_set
    }

    /// The first option with `number`.
    #[must_use]
    pub fn option(&self, number: OptionNumber) -> Option<OptionRef<'a>> {
        self.options_with(number).next()
    }

    /// Every option with `number`, in order.
    pub fn options_with(
        &self,
        number: OptionNumber,
    ) -> impl Iterator<Item = OptionRef<'a>> + use<'a> {
        self.options()
            .skip_while(move |o| o.number < number)
            .take_while(move |o| o.number == number)
    }

    /// The first option with `number` read as a uint; `Ok(None)` when absent.
    ///
    /// # Errors
    /// [`OptionError::UintTooLong`] when the value has more than 4 bytes.
    pub fn uint_option(&self, number: OptionNumber) -> Result<Option<u32>, OptionError> {
        self.option(number).map(|o| o.as_uint()).transpose()
    }

    /// Checks the options as a recipient must (RFC 7252 §5.4, see [`option::check`]).
    ///
    /// # Errors
    /// The first problem with a critical option.
    pub fn check_options(&self) -> Result<(), OptionError> {
        option::check(self.options())
    }

    /// Size of this message when encoded again (the length of the datagram it came from).
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        4 + token_ext_len(self.token.len())
            + self.token.len()
            + self.options.len()
            + if self.payload.is_empty() {
                0
            } else {
                1 + self.payload.len()
            }
    }

    /// Writes the message into `buf` byte for byte as it was received; returns the length.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `buf` is shorter than [`Self::encoded_len`].
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let required = self.encoded_len();
        if buf.len() < required {
            return Err(EncodeError::BufferTooSmall { required });
        }
        let mut sink = SliceSink { buf, pos: 0 };
        write_header(
            &mut sink,
            self.mtype,
            self.code,
            self.message_id,
            self.token,
        );
        sink.put(self.options);
        if !self.payload.is_empty() {
            sink.put_byte(0xff);
            sink.put(self.payload);
        }
        Ok(required)
    }

    /// An owned copy.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_owned(&self) -> OwnedMessage {
        OwnedMessage {
            mtype: self.mtype,
            code: self.code,
            message_id: self.message_id,
            token: self.token.into(),
            options: self.options().collect(),
            payload: self.payload.into(),
        }
    }
}

#[inline(always)]
fn write_header<S: Sink>(sink: &mut S, mtype: MessageType, code: Code, mid: u16, token: &[u8]) {
    let (tkl, ext, ext_len) = tkl_nibble_and_ext(token.len());
    let [hi, lo] = mid.to_be_bytes();
    let [e0, e1] = ext;
    let header = [0x40 | (mtype.bits() << 4) | tkl, code.0, hi, lo, e0, e1];
    sink.put(header.get(..4 + ext_len).unwrap_or(&[]));
    sink.put(token);
}

/// An encoder that writes a message straight into a caller buffer, without allocating: the
/// header and token first, then options in ascending order, then the payload (RFC 7252 §3).
///
/// ```
/// use mote_coap::code::{Code, MessageType};
/// use mote_coap::message::MessageWriter;
/// use mote_coap::option::OptionNumber;
///
/// let mut buf = [0u8; 32];
/// let mut w = MessageWriter::new(&mut buf, MessageType::Con, Code::GET, 0x7d35, &[0x20])?;
/// w.option(OptionNumber::URI_PATH, b"temperature")?;
/// let len = w.finish();
/// assert_eq!(&buf[..len], b"\x41\x01\x7d\x35\x20\xbbtemperature"); // RFC 7252 Figure 17
/// # Ok::<(), mote_coap::error::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct MessageWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
    last: u16,
    empty: bool,
}

impl<'b> MessageWriter<'b> {
    /// Writes the header and token.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`], [`EncodeError::TokenTooLong`], or
    /// [`EncodeError::Invalid`] for a reserved code class or a type that does not fit the code.
    pub fn new(
        buf: &'b mut [u8],
        mtype: MessageType,
        code: Code,
        message_id: u16,
        token: &[u8],
    ) -> Result<Self, EncodeError> {
        check_type_and_code(mtype, code).map_err(EncodeError::Invalid)?;
        if token.len() > option::MAX_VALUE_LEN {
            return Err(EncodeError::TokenTooLong { len: token.len() });
        }
        if code.is_empty() && !token.is_empty() {
            return Err(EncodeError::Invalid(MessageError::NonEmptyEmptyMessage));
        }
        let required = 4 + token_ext_len(token.len()) + token.len();
        if buf.len() < required {
            return Err(EncodeError::BufferTooSmall { required });
        }
        let mut sink = SliceSink { buf, pos: 0 };
        write_header(&mut sink, mtype, code, message_id, token);
        Ok(Self {
            buf: sink.buf,
            pos: sink.pos,
            last: 0,
            empty: code.is_empty(),
        })
    }

    /// Appends an option; `number` must not be below the previous option's.
    ///
    /// # Errors
    /// [`EncodeError::OptionOutOfOrder`], [`EncodeError::OptionTooLong`],
    /// [`EncodeError::BufferTooSmall`], or [`EncodeError::Invalid`] in an Empty message.
    pub fn option(&mut self, number: OptionNumber, value: &[u8]) -> Result<&mut Self, EncodeError> {
        if self.empty {
            return Err(EncodeError::Invalid(MessageError::NonEmptyEmptyMessage));
        }
        if number.0 < self.last {
            return Err(EncodeError::OptionOutOfOrder { number });
        }
        if value.len() > option::MAX_VALUE_LEN {
            return Err(EncodeError::OptionTooLong {
                number,
                len: value.len(),
            });
        }
        let delta = usize::from(number.0 - self.last);
        let required = self.pos + option::option_len(delta, value.len());
        if self.buf.len() < required {
            return Err(EncodeError::BufferTooSmall { required });
        }
        let mut sink = SliceSink {
            buf: &mut *self.buf,
            pos: self.pos,
        };
        option::write_option(&mut sink, delta, value);
        self.pos = sink.pos;
        self.last = number.0;
        Ok(self)
    }

    /// Appends a uint option in its minimal encoding (RFC 7252 §3.2).
    ///
    /// # Errors
    /// As [`Self::option`].
    pub fn uint_option(
        &mut self,
        number: OptionNumber,
        value: u32,
    ) -> Result<&mut Self, EncodeError> {
        self.option(number, option::UintValue::new(value).as_bytes())
    }

    /// Appends a Content-Format option (RFC 7252 §5.10.3).
    ///
    /// # Errors
    /// As [`Self::option`].
    pub fn content_format(
        &mut self,
        format: crate::content_format::ContentFormat,
    ) -> Result<&mut Self, EncodeError> {
        self.uint_option(OptionNumber::CONTENT_FORMAT, format.into())
    }

    /// Writes the payload marker and payload (nothing when `payload` is empty) and returns the
    /// message length.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`], or [`EncodeError::Invalid`] for a payload in an Empty
    /// message.
    pub fn payload(self, payload: &[u8]) -> Result<usize, EncodeError> {
        if payload.is_empty() {
            return Ok(self.pos);
        }
        if self.empty {
            return Err(EncodeError::Invalid(MessageError::NonEmptyEmptyMessage));
        }
        let required = self.pos + 1 + payload.len();
        if self.buf.len() < required {
            return Err(EncodeError::BufferTooSmall { required });
        }
        let mut sink = SliceSink {
            buf: self.buf,
            pos: self.pos,
        };
        sink.put_byte(0xff);
        sink.put(payload);
        Ok(required)
    }

    /// Ends a message without payload and returns its length.
    #[must_use]
    pub const fn finish(self) -> usize {
        self.pos
    }
}

#[cfg(feature = "alloc")]
pub use owned::OwnedMessage;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::vec::Vec;

    use super::{Message, check_type_and_code, token_ext_len, write_header};
    use crate::code::{Code, MessageType};
    use crate::error::{EncodeError, MessageError};
    use crate::option::{
        BufSink, MAX_VALUE_LEN, OptionList, OptionNumber, OptionRef, Sink, SliceSink, UintValue,
    };

    /// An owned CoAP message over UDP, built field by field and encoded canonically.
    ///
    /// Options are kept in ascending order by [`OptionList`]; uint options added through
    /// [`Self::with_uint_option`] use the minimal encoding (RFC 7252 §3.2).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct OwnedMessage {
        /// The message type.
        pub mtype: MessageType,
        /// The code.
        pub code: Code,
        /// The Message ID.
        pub message_id: u16,
        /// The token (0–8 bytes; up to 65804 with RFC 8974).
        pub token: Vec<u8>,
        /// The options.
        pub options: OptionList,
        /// The payload (empty: no payload marker is sent).
        pub payload: Vec<u8>,
    }

    impl OwnedMessage {
        /// A message with no token, options or payload.
        #[must_use]
        pub const fn new(mtype: MessageType, code: Code, message_id: u16) -> Self {
            Self {
                mtype,
                code,
                message_id,
                token: Vec::new(),
                options: OptionList::new(),
                payload: Vec::new(),
            }
        }

        /// Sets the token.
        #[must_use]
        pub fn with_token(mut self, token: impl Into<Vec<u8>>) -> Self {
            self.token = token.into();
            self
        }

        /// Adds an option (after any others with the same number).
        #[must_use]
        pub fn with_option(mut self, number: OptionNumber, value: impl AsRef<[u8]>) -> Self {
            self.options.push(number, value.as_ref());
            self
        }

        /// Adds a uint option in its minimal encoding.
        #[must_use]
        pub fn with_uint_option(mut self, number: OptionNumber, value: u32) -> Self {
            self.options.push(number, UintValue::new(value).as_bytes());
            self
        }

        /// Sets the payload.
        #[must_use]
        pub fn with_payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
            self.payload = payload.into();
            self
        }

        /// Sets the Content-Format option (RFC 7252 §5.10.3), replacing any previous one.
        #[must_use]
        pub fn with_content_format(mut self, format: crate::content_format::ContentFormat) -> Self {
            self.options
                .set_uint(OptionNumber::CONTENT_FORMAT, format.into());
            self
        }

        /// The first option with `number`.
        #[must_use]
        pub fn option(&self, number: OptionNumber) -> Option<OptionRef<'_>> {
            self.options.get(number)
        }

        /// Checks that the message can be encoded and would decode again: token and option
        /// lengths, code class, and the type/code/Empty rules of RFC 7252 §4.
        ///
        /// # Errors
        /// The first problem found.
        pub fn validate(&self) -> Result<(), EncodeError> {
            check_type_and_code(self.mtype, self.code).map_err(EncodeError::Invalid)?;
            if self.code.is_empty()
                && !(self.token.is_empty() && self.options.is_empty() && self.payload.is_empty())
            {
                return Err(EncodeError::Invalid(MessageError::NonEmptyEmptyMessage));
            }
            if self.token.len() > MAX_VALUE_LEN {
                return Err(EncodeError::TokenTooLong {
                    len: self.token.len(),
                });
            }
            self.options.validate()
        }

        /// Size of the encoded message in bytes.
        #[must_use]
        pub fn encoded_len(&self) -> usize {
            4 + token_ext_len(self.token.len())
                + self.token.len()
                + self.options.encoded_len()
                + if self.payload.is_empty() {
                    0
                } else {
                    1 + self.payload.len()
                }
        }

        fn write<S: Sink>(&self, sink: &mut S) {
            write_header(sink, self.mtype, self.code, self.message_id, &self.token);
            self.options.write(sink);
            if !self.payload.is_empty() {
                sink.put_byte(0xff);
                sink.put(&self.payload);
            }
        }

        crate::option::owned_encoders!();
    }

    impl<'a> From<Message<'a>> for OwnedMessage {
        fn from(msg: Message<'a>) -> Self {
            msg.to_owned()
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn minimal_header() {
        // CON GET, MID 0x1234, no token.
        let m = Message::decode(&[0x40, 0x01, 0x12, 0x34]).unwrap();
        assert_eq!(
            (m.mtype(), m.code(), m.message_id()),
            (MessageType::Con, Code::GET, 0x1234)
        );
        assert!(m.token().is_empty() && m.payload().is_empty() && m.options().next().is_none());
    }

    #[test]
    fn extended_token_lengths() {
        let mut buf = alloc::vec![0x4d, 0x01, 0, 1, 0x00];
        buf.extend_from_slice(&[7u8; 13]);
        assert_eq!(
            Message::decode(&buf),
            Err(MessageError::ReservedTokenLength { tkl: 13 })
        );
        let m = Message::decode_with(&buf, &DecodeLimits::extended_tokens(32)).unwrap();
        assert_eq!(m.token(), &[7u8; 13]);
        assert_eq!(
            Message::decode_with(&buf, &DecodeLimits::extended_tokens(12)),
            Err(MessageError::TokenTooLong { len: 13, max: 12 })
        );
    }

    #[test]
    fn option_header_boundaries() {
        // RFC 7252 §3.1: delta/length 0–12 in the nibble; 13 → 1 byte (v − 13); 14 → 2 bytes
        // (v − 269). (number, value length) → the option's header bytes.
        for (number, len, header) in [
            (12u16, 12usize, &[0xccu8][..]),
            (13, 13, &[0xdd, 0x00, 0x00]),
            (268, 268, &[0xdd, 0xff, 0xff]),
            (269, 269, &[0xee, 0x00, 0x00, 0x00, 0x00]),
            (65535, 65804, &[0xee, 0xfe, 0xf2, 0xff, 0xff]),
        ] {
            let msg = OwnedMessage::new(MessageType::Con, Code::GET, 0)
                .with_option(OptionNumber(number), alloc::vec![7; len]);
            let bytes = msg.to_vec().unwrap();
            assert_eq!(
                &bytes[4..4 + header.len()],
                header,
                "option {number}, length {len}"
            );
            assert_eq!(bytes.len(), 4 + header.len() + len);
            let decoded = Message::decode(&bytes).unwrap();
            let o = decoded.options().next().unwrap();
            assert_eq!((o.number.0, o.value.len()), (number, len));
        }
    }

    #[test]
    fn content_format_option_from_the_registry_type() {
        use crate::content_format::ContentFormat;
        let msg = OwnedMessage::new(MessageType::Con, Code::POST, 1)
            .with_content_format(ContentFormat::CBOR)
            .with_content_format(ContentFormat::LWM2M_TLV);
        // Replaced, not repeated: one Content-Format 11542 (0x2d16).
        let bytes = msg.to_vec().unwrap();
        assert_eq!(bytes, [0x40, 0x02, 0, 1, 0xc2, 0x2d, 0x16]);
        let mut buf = [0u8; 16];
        let mut w = MessageWriter::new(&mut buf, MessageType::Con, Code::POST, 1, &[]).unwrap();
        w.content_format(ContentFormat::LWM2M_TLV).unwrap();
        let n = w.finish();
        assert_eq!(&buf[..n], &bytes[..]);
    }

    #[test]
    fn options_with_and_uint() {
        // CON GET with Uri-Path "a", Uri-Path "b", Accept 50.
        let bytes = [0x40, 0x01, 0, 1, 0xb1, b'a', 0x01, b'b', 0x61, 50];
        let m = Message::decode(&bytes).unwrap();
        let paths: alloc::vec::Vec<_> = m
            .options_with(OptionNumber::URI_PATH)
            .map(|o| o.value)
            .collect();
        assert_eq!(paths, [b"a", b"b"]);
        assert_eq!(m.uint_option(OptionNumber::ACCEPT), Ok(Some(50)));
        assert_eq!(m.uint_option(OptionNumber::CONTENT_FORMAT), Ok(None));
        assert_eq!(m.encoded_len(), bytes.len());
    }
}
