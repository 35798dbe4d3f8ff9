//! CoAP over TCP and TLS (RFC 8323): message framing (§3.2) with an incremental decoder for
//! byte streams, and the signaling messages of §5 (CSM, Ping, Pong, Release, Abort) with their
//! options, including RFC 8974's Extended-Token-Length capability.
//!
//! BERT (RFC 8323 §6) needs nothing from the framing beyond messages larger than 1152 bytes and
//! the Block-Wise-Transfer capability: the SZX 7 block arithmetic lives in [`crate::block`];
//! [`PeerSettings::bert`] tells whether the peer indicated BERT support.
//!
//! ```
//! use mote_coap::tcp::{Decoded, Frame, FrameLimits};
//! // RFC 8323 Figure 5: a 2.03 response with token 7f, then the first byte of the next frame.
//! let stream = [0x01, 0x43, 0x7f, 0x01];
//! let Decoded::Complete { frame, len } = Frame::decode(&stream, &FrameLimits::default())? else {
//!     panic!("complete")
//! };
//! assert_eq!((frame.code().to_string().as_str(), frame.token(), len), ("2.03", &[0x7f][..], 3));
//! // The rest is a partial frame: its first byte tells that two more (code, token) complete it.
//! assert_eq!(Frame::decode(&stream[3..], &FrameLimits::default())?, Decoded::Incomplete { needed: 2 });
//! # Ok::<(), mote_coap::error::MessageError>(())
//! ```

#![deny(clippy::indexing_slicing)]

use crate::code::Code;
use crate::error::{EncodeError, Field, MessageError, SignalingError};
use crate::message::{DecodeLimits, read_token, tkl_nibble_and_ext, token_ext_len};
use crate::option::{self, OptionNumber, OptionRef, OptionSet, Options, Sink, SliceSink};

/// What a frame decoder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// The longest token accepted (8 by default; larger values enable RFC 8974, which a peer
    /// may use after we indicated Extended-Token-Length in our CSM).
    pub max_token_len: usize,
    /// The largest frame accepted, header included: the Max-Message-Size we indicated in our CSM
    /// (RFC 8323 §5.3.1; base value 1152).
    pub max_message_size: usize,
}

impl FrameLimits {
    /// Tokens of up to 8 bytes, frames of up to 1152 bytes (the RFC 8323 §5.3 base values).
    pub const DEFAULT: Self = Self {
        max_token_len: 8,
        max_message_size: 1152,
    };

    /// Anything the format can express (for inspection tools, not for connections).
    pub const UNLIMITED: Self = Self {
        max_token_len: option::MAX_VALUE_LEN,
        max_message_size: usize::MAX,
    };
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The outcome of decoding from the front of a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole frame occupying the first `len` bytes.
    Complete {
        /// The frame.
        frame: Frame<'a>,
        /// Bytes it occupies; the next frame starts there.
        len: usize,
    },
    /// The buffer holds only part of a frame: at least `needed` more bytes are required (the
    /// exact remainder once the header is complete).
    Incomplete {
        /// Minimum number of further bytes before decoding can make progress.
        needed: usize,
    },
}

/// A decoded CoAP over TCP frame (RFC 8323 §3.2): a validated, borrowed view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Frame<'a> {
    code: Code,
    token: &'a [u8],
    options: &'a [u8],
    payload: &'a [u8],
    option_set: OptionSet,
}

/// Size of the Extended Length field for a Len nibble.
const fn length_ext_len(nibble: u8) -> usize {
    match nibble {
        13 => 1,
        14 => 2,
        15 => 4,
        _ => 0,
    }
}

impl<'a> Frame<'a> {
    /// Decodes the frame at the front of `buf`, which may hold less than one frame (then
    /// [`Decoded::Incomplete`] says how many more bytes are needed) or more (the following
    /// frames start at `len`).
    ///
    /// # Errors
    /// A [`MessageError`] for a malformed frame or one over the limits; a frame announcing
    /// more than `max_message_size` bytes is rejected as soon as its header is read.
    pub fn decode(buf: &'a [u8], limits: &FrameLimits) -> Result<Decoded<'a>, MessageError> {
        let Some(&first) = buf.first() else {
            return Ok(Decoded::Incomplete { needed: 1 });
        };
        let len_nibble = first >> 4;
        let tkl = first & 0x0f;
        let ext = length_ext_len(len_nibble);
        // Fixed part: first byte, extended length, code.
        let fixed = 1 + ext + 1;
        if buf.len() < fixed {
            // Without extensions the first byte tells the whole size.
            let known = if ext == 0 && tkl < 13 {
                fixed + usize::from(tkl) + usize::from(len_nibble)
            } else {
                fixed
            };
            return Ok(Decoded::Incomplete {
                needed: known - buf.len(),
            });
        }
        let ext_bytes = buf.get(1..1 + ext).unwrap_or(&[]);
        // RFC 8323 §3.2: Len 0–12, or 13/14/15 with 1/2/4 extension bytes minus 13/269/65805.
        let body_len: u64 = match *ext_bytes {
            [] => u64::from(len_nibble),
            [a] => u64::from(a) + 13,
            [a, b] => u64::from(u16::from_be_bytes([a, b])) + 269,
            [a, b, c, d] => u64::from(u32::from_be_bytes([a, b, c, d])) + 65805,
            _ => {
                return Err(MessageError::Truncated {
                    field: Field::ExtendedLength,
                    offset: 1,
                });
            }
        };
        let code = Code(buf.get(1 + ext).copied().unwrap_or(0));
        // Token length extension (RFC 8974 Appendix A.2) follows the code.
        let tkl_ext: usize = match tkl {
            13 => 1,
            14 => 2,
            _ => 0,
        };
        let head = fixed + tkl_ext;
        let token_len: usize = match tkl {
            0..=8 => usize::from(tkl),
            // RFC 7252 §3 / RFC 8974 §2.1: 9–15 are reserved unless extended tokens are in use.
            _ if limits.max_token_len <= 8 => {
                return Err(MessageError::ReservedTokenLength { tkl });
            }
            9..=12 => usize::from(tkl),
            13 | 14 => {
                if buf.len() < head {
                    // Not known yet: at least the extension bytes are missing.
                    return Ok(Decoded::Incomplete {
                        needed: head - buf.len(),
                    });
                }
                match buf.get(fixed..head).unwrap_or(&[]) {
                    [b] => usize::from(*b) + 13,
                    [hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])) + 269,
                    _ => {
                        return Err(MessageError::Truncated {
                            field: Field::ExtendedTokenLength,
                            offset: fixed,
                        });
                    }
                }
            }
            _ => return Err(MessageError::ReservedTokenLength { tkl }),
        };
        if token_len > limits.max_token_len {
            return Err(MessageError::TokenTooLong {
                len: token_len,
                max: limits.max_token_len,
            });
        }
        let total = (head as u64) + (token_len as u64) + body_len;
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        // RFC 8323 §5.3.1: the size counts the entire message from the first header byte.
        if total > limits.max_message_size {
            return Err(MessageError::FrameTooLarge {
                len: total,
                max: limits.max_message_size,
            });
        }
        if buf.len() < total {
            return Ok(Decoded::Incomplete {
                needed: total - buf.len(),
            });
        }
        let frame_bytes = buf.get(..total).unwrap_or(&[]);
        // RFC 8323 §5.1: class 7 is signaling; 1, 3 and 6 stay reserved.
        if matches!(code.class(), 1 | 3 | 6) {
            return Err(MessageError::ReservedCodeClass { code });
        }
        let after_code = frame_bytes.get(fixed..).unwrap_or(&[]);
        let token_limits = DecodeLimits {
            max_token_len: limits.max_token_len,
        };
        let (token, rest) = read_token(tkl, after_code, fixed, &token_limits)?;
        let body = option::split_options(rest, total - rest.len())?;
        Ok(Decoded::Complete {
            frame: Frame {
                code,
                token,
                options: body.options,
                payload: body.payload,
                option_set: body.option_set,
            },
            len: total,
        })
    }

    /// Decodes a buffer that holds exactly one frame.
    ///
    /// # Errors
    /// A [`MessageError`]; a partial frame is [`MessageError::Truncated`], bytes after the frame
    /// are [`MessageError::TrailingBytes`].
    pub fn decode_exact(buf: &'a [u8], limits: &FrameLimits) -> Result<Self, MessageError> {
        match Self::decode(buf, limits)? {
            Decoded::Complete { frame, len } if len == buf.len() => Ok(frame),
            Decoded::Complete { len, .. } => Err(MessageError::TrailingBytes { offset: len }),
            Decoded::Incomplete { .. } => {
                let field = if buf.len() < 2 {
                    Field::Code
                } else {
                    Field::Token
                };
                Err(MessageError::Truncated {
                    field,
                    offset: buf.len(),
                })
            }
        }
    }

    /// The code.
    #[must_use]
    pub const fn code(&self) -> Code {
        self.code
    }

    /// The token.
    #[must_use]
    pub const fn token(&self) -> &'a [u8] {
        self.token
    }

    /// The payload.
    #[must_use]
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The options in wire order. For signaling codes the numbers are specific to the code
    /// (RFC 8323 §5.2); see [`Signal`].
    #[must_use]
    pub const fn options(&self) -> Options<'a> {
        Options::new(self.options)
    }

    /// The raw option bytes.
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
        self.options()
            .skip_while(|o| o.number < number)
            .find(|o| o.number == number)
    }

    /// The frame as a signaling message, when its code is in class 7.
    ///
    /// # Errors
    /// See [`Signal::parse`].
    pub fn signal(&self) -> Result<Signal<'a>, SignalingError> {
        Signal::parse(self)
    }

    fn body_len(&self) -> usize {
        self.options.len()
            + if self.payload.is_empty() {
                0
            } else {
                1 + self.payload.len()
            }
    }

    /// Size of the frame when encoded again.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        frame_len(self.token.len(), self.body_len())
    }

    /// Writes the frame into `buf` as it was received; returns the length.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`].
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let required = self.encoded_len();
        if buf.len() < required {
            return Err(EncodeError::BufferTooSmall { required });
        }
        let mut sink = SliceSink { buf, pos: 0 };
        write_frame_header(&mut sink, self.body_len(), self.code, self.token);
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
    pub fn to_owned(&self) -> OwnedFrame {
        OwnedFrame {
            code: self.code,
            token: self.token.into(),
            options: self.options().collect(),
            payload: self.payload.into(),
        }
    }
}

/// Length of the Extended Length field for a body of `body` bytes, and the Len nibble.
const fn length_field(body: usize) -> (u8, usize) {
    if body < 13 {
        (body as u8, 0)
    } else if body < 269 {
        (13, 1)
    } else if body < 65805 {
        (14, 2)
    } else {
        (15, 4)
    }
}

const fn frame_len(token: usize, body: usize) -> usize {
    1 + length_field(body).1 + 1 + token_ext_len(token) + token + body
}

fn write_frame_header<S: Sink>(sink: &mut S, body: usize, code: Code, token: &[u8]) {
    let (len_nibble, ext) = length_field(body);
    let (tkl, tkl_ext, tkl_ext_len) = tkl_nibble_and_ext(token.len());
    sink.put_byte((len_nibble << 4) | tkl);
    match ext {
        1 => sink.put_byte((body - 13) as u8),
        2 => sink.put(&((body - 269) as u16).to_be_bytes()),
        4 => sink.put(&((body - 65805) as u32).to_be_bytes()),
        _ => {}
    }
    sink.put_byte(code.0);
    sink.put(tkl_ext.get(..tkl_ext_len).unwrap_or(&[]));
    sink.put(token);
}

// ---------------------------------------------------------------------------------------------
// Signaling (RFC 8323 §5).

/// Signaling option numbers (RFC 8323 §11.2; RFC 8974 §2.2.1). Numbers are specific to a code.
pub mod signaling_option {
    /// CSM: Max-Message-Size, uint 0–4, base 1152 (RFC 8323 §5.3.1).
    pub const MAX_MESSAGE_SIZE: u16 = 2;
    /// CSM: Block-Wise-Transfer, empty (RFC 8323 §5.3.2).
    pub const BLOCK_WISE_TRANSFER: u16 = 4;
    /// CSM: Extended-Token-Length, uint 0–3, base 8 (RFC 8974 §2.2.1).
    pub const EXTENDED_TOKEN_LENGTH: u16 = 6;
    /// Ping, Pong: Custody, empty (RFC 8323 §5.4.1).
    pub const CUSTODY: u16 = 2;
    /// Release: Alternative-Address, string 1–255, repeatable (RFC 8323 §5.5).
    pub const ALTERNATIVE_ADDRESS: u16 = 2;
    /// Release: Hold-Off, uint 0–3 (RFC 8323 §5.5).
    pub const HOLD_OFF: u16 = 4;
    /// Abort: Bad-CSM-Option, uint 0–2 (RFC 8323 §5.6).
    pub const BAD_CSM_OPTION: u16 = 2;

    /// The name of signaling option `number` under `code`, or `None`.
    #[must_use]
    pub const fn name(code: crate::code::Code, number: u16) -> Option<&'static str> {
        match (code.0, number) {
            (0xe1, 2) => Some("Max-Message-Size"),
            (0xe1, 4) => Some("Block-Wise-Transfer"),
            (0xe1, 6) => Some("Extended-Token-Length"),
            (0xe2 | 0xe3, 2) => Some("Custody"),
            (0xe4, 2) => Some("Alternative-Address"),
            (0xe4, 4) => Some("Hold-Off"),
            (0xe5, 2) => Some("Bad-CSM-Option"),
            _ => None,
        }
    }
}

/// A Capabilities and Settings Message (7.01, RFC 8323 §5.3): the options it carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Csm {
    /// Max-Message-Size (§5.3.1).
    pub max_message_size: Option<u32>,
    /// Block-Wise-Transfer (§5.3.2).
    pub block_wise_transfer: bool,
    /// Extended-Token-Length (RFC 8974 §2.2.1).
    pub extended_token_length: Option<u32>,
}

/// What a peer indicated in its CSMs so far; capabilities are cumulative (RFC 8323 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerSettings {
    /// The largest message the peer accepts (base value 1152).
    pub max_message_size: u32,
    /// Whether the peer supports block-wise transfer.
    pub block_wise_transfer: bool,
    /// The longest token the peer accepts (base value 8, RFC 8974 §2.2.1).
    pub extended_token_length: u32,
}

impl Default for PeerSettings {
    fn default() -> Self {
        Self {
            max_message_size: 1152,
            block_wise_transfer: false,
            extended_token_length: 8,
        }
    }
}

impl PeerSettings {
    /// Applies a received CSM: options present replace the active values.
    pub fn apply(&mut self, csm: &Csm) {
        if let Some(size) = csm.max_message_size {
            self.max_message_size = size;
        }
        self.block_wise_transfer |= csm.block_wise_transfer;
        if let Some(len) = csm.extended_token_length {
            self.extended_token_length = len;
        }
    }

    /// BERT is indicated when Block-Wise-Transfer was sent and Max-Message-Size is above 1152
    /// (RFC 8323 §5.3.2).
    #[must_use]
    pub const fn bert(&self) -> bool {
        self.block_wise_transfer && self.max_message_size > 1152
    }
}

/// The Alternative-Address options of a Release message (RFC 8323 §5.5).
#[derive(Debug, Clone)]
pub struct AlternativeAddresses<'a> {
    options: Options<'a>,
}

impl<'a> Iterator for AlternativeAddresses<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.options
            .by_ref()
            .filter(|o| o.number.0 == signaling_option::ALTERNATIVE_ADDRESS)
            .find_map(|o| core::str::from_utf8(o.value).ok())
    }
}

/// A signaling message (RFC 8323 §5), read from a [`Frame`] with a class-7 code.
#[derive(Debug, Clone)]
pub enum Signal<'a> {
    /// 7.01 CSM.
    Csm(Csm),
    /// 7.02 Ping.
    Ping {
        /// Custody requested (§5.4.1).
        custody: bool,
    },
    /// 7.03 Pong.
    Pong {
        /// Custody given (§5.4.1).
        custody: bool,
    },
    /// 7.04 Release.
    Release {
        /// Where to reconnect instead (each an RFC 3986 authority).
        alternative_addresses: AlternativeAddresses<'a>,
        /// Seconds not to reconnect.
        hold_off: Option<u32>,
    },
    /// 7.05 Abort.
    Abort {
        /// The CSM option that could not be processed.
        bad_csm_option: Option<u16>,
    },
}

impl<'a> Signal<'a> {
    /// Reads the signaling options of `frame` (RFC 8323 §5.2): unknown elective options are
    /// ignored; an unknown critical option, or a known option with a bad value, is an error
    /// (the connection is then aborted, §5.6).
    ///
    /// # Errors
    /// [`SignalingError`].
    pub fn parse(frame: &Frame<'a>) -> Result<Self, SignalingError> {
        use signaling_option as so;
        let code = frame.code;
        if !matches!(code.0, 0xe1..=0xe5) {
            return Err(SignalingError::UnknownCode { code });
        }
        let invalid = |number: u16| SignalingError::InvalidOptionValue { code, number };
        let mut csm = Csm::default();
        let mut custody = false;
        let mut hold_off = None;
        let mut bad_csm_option = None;
        for o in frame.options() {
            let n = o.number.0;
            let uint = |max: usize| {
                if o.value.len() > max {
                    Err(invalid(n))
                } else {
                    o.as_uint().map_err(|_| invalid(n))
                }
            };
            match (code.0, n) {
                (0xe1, so::MAX_MESSAGE_SIZE) => csm.max_message_size = Some(uint(4)?),
                (0xe1, so::BLOCK_WISE_TRANSFER) | (0xe2 | 0xe3, so::CUSTODY) => {
                    if !o.value.is_empty() {
                        return Err(invalid(n));
                    }
                    csm.block_wise_transfer |= code == Code::CSM;
                    custody |= code != Code::CSM;
                }
                (0xe1, so::EXTENDED_TOKEN_LENGTH) => csm.extended_token_length = Some(uint(3)?),
                (0xe4, so::ALTERNATIVE_ADDRESS)
                    if o.value.is_empty() || o.value.len() > 255 || o.as_str().is_err() =>
                {
                    return Err(invalid(n));
                }
                (0xe4, so::ALTERNATIVE_ADDRESS) => {}
                (0xe4, so::HOLD_OFF) => hold_off = Some(uint(3)?),
                (0xe5, so::BAD_CSM_OPTION) => {
                    bad_csm_option = Some(u16::try_from(uint(2)?).map_err(|_| invalid(n))?);
                }
                _ if o.number.is_critical() => {
                    return Err(SignalingError::UnrecognizedCriticalOption { code, number: n });
                }
                _ => {}
            }
        }
        Ok(match code.0 {
            0xe1 => Self::Csm(csm),
            0xe2 => Self::Ping { custody },
            0xe3 => Self::Pong { custody },
            0xe4 => Self::Release {
                alternative_addresses: AlternativeAddresses {
                    options: frame.options(),
                },
                hold_off,
            },
            _ => Self::Abort { bad_csm_option },
        })
    }
}

#[cfg(feature = "alloc")]
pub use owned::OwnedFrame;

#[cfg(feature = "alloc")]
mod owned {
    use alloc::vec::Vec;

    use super::{Csm, frame_len, signaling_option as so, write_frame_header};
    use crate::code::Code;
    use crate::error::{EncodeError, MessageError};
    use crate::option::{
        BufSink, MAX_VALUE_LEN, OptionList, OptionNumber, OptionRef, Sink, SliceSink, UintValue,
    };

    /// An owned CoAP over TCP message, encoded as a frame (RFC 8323 §3.2).
    #[derive(Debug, Clone, PartialEq, Eq, Hash)]
    pub struct OwnedFrame {
        /// The code.
        pub code: Code,
        /// The token.
        pub token: Vec<u8>,
        /// The options (signaling option numbers for class-7 codes).
        pub options: OptionList,
        /// The payload.
        pub payload: Vec<u8>,
    }

    impl OwnedFrame {
        /// A frame with no token, options or payload.
        #[must_use]
        pub const fn new(code: Code) -> Self {
            Self {
                code,
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

        /// Adds an option.
        #[must_use]
        pub fn with_option(mut self, number: OptionNumber, value: impl AsRef<[u8]>) -> Self {
            self.options.push(number, value.as_ref());
            self
        }

        /// Adds a uint option in its minimal encoding.
        #[must_use]
        pub fn with_uint_option(mut self, number: OptionNumber, value: u32) -> Self {
            self.options.push_uint(number, value);
            self
        }

        /// Sets the payload.
        #[must_use]
        pub fn with_payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
            self.payload = payload.into();
            self
        }

        /// The first option with `number`.
        #[must_use]
        pub fn option(&self, number: OptionNumber) -> Option<OptionRef<'_>> {
            self.options.get(number)
        }

        /// A 7.01 CSM carrying the given options (RFC 8323 §5.3).
        #[must_use]
        pub fn csm(csm: &Csm) -> Self {
            let mut f = Self::new(Code::CSM);
            if let Some(size) = csm.max_message_size {
                f.options.push(
                    OptionNumber(so::MAX_MESSAGE_SIZE),
                    UintValue::new(size).as_bytes(),
                );
            }
            if csm.block_wise_transfer {
                f.options.push(OptionNumber(so::BLOCK_WISE_TRANSFER), []);
            }
            if let Some(len) = csm.extended_token_length {
                f.options.push(
                    OptionNumber(so::EXTENDED_TOKEN_LENGTH),
                    UintValue::new(len).as_bytes(),
                );
            }
            f
        }

        /// A 7.02 Ping, with the Custody option when `custody` (RFC 8323 §5.4).
        #[must_use]
        pub fn ping(token: impl Into<Vec<u8>>, custody: bool) -> Self {
            Self::ping_pong(Code::PING, token.into(), custody)
        }

        /// A 7.03 Pong answering a Ping: same token (RFC 8323 §5.4).
        #[must_use]
        pub fn pong(token: impl Into<Vec<u8>>, custody: bool) -> Self {
            Self::ping_pong(Code::PONG, token.into(), custody)
        }

        fn ping_pong(code: Code, token: Vec<u8>, custody: bool) -> Self {
            let mut f = Self::new(code).with_token(token);
            if custody {
                f.options.push(OptionNumber(so::CUSTODY), []);
            }
            f
        }

        /// A 7.04 Release (RFC 8323 §5.5) with a diagnostic payload.
        #[must_use]
        pub fn release(
            alternative_addresses: &[&str],
            hold_off: Option<u32>,
            diagnostic: &str,
        ) -> Self {
            let mut f = Self::new(Code::RELEASE).with_payload(diagnostic.as_bytes());
            for address in alternative_addresses {
                f.options
                    .push(OptionNumber(so::ALTERNATIVE_ADDRESS), address.as_bytes());
            }
            if let Some(seconds) = hold_off {
                f.options.push_uint(OptionNumber(so::HOLD_OFF), seconds);
            }
            f
        }

        /// A 7.05 Abort (RFC 8323 §5.6) with a diagnostic payload.
        #[must_use]
        pub fn abort(bad_csm_option: Option<u16>, diagnostic: &str) -> Self {
            let mut f = Self::new(Code::ABORT).with_payload(diagnostic.as_bytes());
            if let Some(number) = bad_csm_option {
                f.options
                    .push_uint(OptionNumber(so::BAD_CSM_OPTION), u32::from(number));
            }
            f
        }

        fn body_len(&self) -> usize {
            self.options.encoded_len()
                + if self.payload.is_empty() {
                    0
                } else {
                    1 + self.payload.len()
                }
        }

        /// Size of the encoded frame.
        #[must_use]
        pub fn encoded_len(&self) -> usize {
            frame_len(self.token.len(), self.body_len())
        }

        /// Checks that the frame can be encoded and would decode again.
        ///
        /// # Errors
        /// The first problem found.
        pub fn validate(&self) -> Result<(), EncodeError> {
            if matches!(self.code.class(), 1 | 3 | 6) {
                return Err(EncodeError::Invalid(MessageError::ReservedCodeClass {
                    code: self.code,
                }));
            }
            if self.token.len() > MAX_VALUE_LEN {
                return Err(EncodeError::TokenTooLong {
                    len: self.token.len(),
                });
            }
            self.options.validate()
        }

        fn write<S: Sink>(&self, sink: &mut S) {
            write_frame_header(sink, self.body_len(), self.code, &self.token);
            self.options.write(sink);
            if !self.payload.is_empty() {
                sink.put_byte(0xff);
                sink.put(&self.payload);
            }
        }

        crate::option::owned_encoders!();
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn incremental_needs() {
        let limits = FrameLimits::UNLIMITED;
        // Len 13: one extension byte, then the code.
        assert_eq!(
            Frame::decode(&[0xd0], &limits),
            Ok(Decoded::Incomplete { needed: 2 })
        );
        // Extension 0 → body 13; header 3 bytes; total 16.
        assert_eq!(
            Frame::decode(&[0xd0, 0x00, 0x45], &limits),
            Ok(Decoded::Incomplete { needed: 13 })
        );
        // Len 15 with a huge length is rejected by the size limit before any body arrives.
        assert!(matches!(
            Frame::decode(&[0xf0, 0xff, 0xff, 0xff, 0xff, 0x45], &FrameLimits::DEFAULT),
            Err(MessageError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn length_field_boundaries() {
        // RFC 8323 §3.2: Len 0–12 direct; 13 → 1 byte (len − 13); 14 → 2 bytes (len − 269);
        // 15 → 4 bytes (len − 65805). Body = payload marker + payload, so payload = body − 1.
        for (body, header) in [
            (12usize, &[0xc0u8, 0x45][..]),
            (13, &[0xd0, 0x00, 0x45]),
            (268, &[0xd0, 0xff, 0x45]),
            (269, &[0xe0, 0x00, 0x00, 0x45]),
            (65804, &[0xe0, 0xff, 0xff, 0x45]),
            (65805, &[0xf0, 0x00, 0x00, 0x00, 0x00, 0x45]),
        ] {
            let frame = OwnedFrame::new(Code::CONTENT).with_payload(alloc::vec![0x61; body - 1]);
            let bytes = frame.to_vec().unwrap();
            assert_eq!(&bytes[..header.len()], header, "body {body}");
            assert_eq!(bytes.len(), header.len() + body);
            let decoded = Frame::decode_exact(&bytes, &FrameLimits::UNLIMITED).unwrap();
            assert_eq!(decoded.payload().len(), body - 1);
        }
    }

    #[test]
    fn signaling_round_trip() {
        let csm = Csm {
            max_message_size: Some(4096),
            block_wise_transfer: true,
            extended_token_length: None,
        };
        let bytes = OwnedFrame::csm(&csm).to_vec().unwrap();
        let frame = Frame::decode_exact(&bytes, &FrameLimits::DEFAULT).unwrap();
        let Signal::Csm(parsed) = frame.signal().unwrap() else {
            panic!("not a CSM")
        };
        assert_eq!(parsed, csm);
        let mut peer = PeerSettings::default();
        peer.apply(&parsed);
        assert!(peer.bert());

        let release = OwnedFrame::release(&["[::1]:5683", "example.com"], Some(30), "bye")
            .to_vec()
            .unwrap();
        let frame = Frame::decode_exact(&release, &FrameLimits::DEFAULT).unwrap();
        let Signal::Release {
            alternative_addresses,
            hold_off,
        } = frame.signal().unwrap()
        else {
            panic!()
        };
        assert_eq!(
            alternative_addresses.collect::<alloc::vec::Vec<_>>(),
            ["[::1]:5683", "example.com"]
        );
        assert_eq!(hold_off, Some(30));

        // An unknown critical option (number 1) in a Ping: abort (RFC 8323 §5.2).
        let ping = OwnedFrame::new(Code::PING)
            .with_option(OptionNumber(1), [])
            .to_vec()
            .unwrap();
        let frame = Frame::decode_exact(&ping, &FrameLimits::DEFAULT).unwrap();
        assert_eq!(
            frame.signal().unwrap_err(),
            SignalingError::UnrecognizedCriticalOption {
                code: Code::PING,
                number: 1
            }
        );
    }
}
