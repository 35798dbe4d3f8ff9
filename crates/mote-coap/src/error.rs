//! Errors of the crate: one top-level [`Error`] that nests one smaller enum per concern.
//!
//! Every error says what was wrong and where (byte offset, option number). [`Error::response_code`]
//! maps an error to the CoAP response code a server answers a request with (RFC 7252 §5.9);
//! note that a malformed *Confirmable* message is rejected with a Reset rather than answered
//! (RFC 7252 §4.2), and a malformed Non-confirmable one is ignored (§4.3).

#![deny(clippy::indexing_slicing)]

use crate::code::{Code, MessageType};
use crate::option::OptionNumber;

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed CoAP message or frame (a message format error).
    #[error("malformed CoAP message")]
    Message(#[from] MessageError),
    /// An option is unrecognized, out of its length bounds, repeated or of the wrong format.
    #[error("bad option")]
    Option(#[from] OptionError),
    /// A message could not be encoded.
    #[error("cannot encode CoAP message")]
    Encode(#[from] EncodeError),
    /// A CoAP over TCP signaling message (RFC 8323 §5) is not acceptable.
    #[error("bad signaling message")]
    Signaling(#[from] SignalingError),
    /// A Block1/Block2 option or block-wise transfer is not acceptable (RFC 7959).
    #[error("block-wise transfer error")]
    Block(#[from] crate::block::BlockError),
    /// An Observe option value is malformed (RFC 7641).
    #[error("bad Observe option")]
    Observe(#[from] crate::observe::ObserveError),
    /// An Echo or Request-Tag value is malformed or not fresh (RFC 9175).
    #[error("Echo/Request-Tag error")]
    Echo(#[from] crate::echo::EchoError),
    /// A URI cannot be parsed, decomposed or composed (RFC 7252 §6).
    #[error("bad CoAP URI")]
    Uri(#[from] crate::uri::UriError),
    /// A CoRE Link Format document is malformed (RFC 6690).
    #[error("bad link-format document")]
    LinkFormat(#[from] crate::link_format::LinkFormatError),
    /// The message layer's bounded state is exhausted or misconfigured (RFC 7252 §4).
    #[error("message layer error")]
    Transmission(#[from] crate::transmission::TransmissionError),
    /// The sans-IO endpoint refused an operation or a configuration.
    #[cfg(feature = "alloc")]
    #[error("endpoint error")]
    Endpoint(#[from] crate::endpoint::EndpointError),
    /// A block-wise transfer of the endpoint failed or was refused (RFC 7959).
    #[cfg(feature = "alloc")]
    #[error("block-wise transfer failed")]
    Blockwise(#[from] crate::endpoint::blockwise::BlockwiseError),
    /// An observation of the endpoint could not be registered or read (RFC 7641).
    #[cfg(feature = "alloc")]
    #[error("observation error")]
    Observation(#[from] crate::endpoint::observe::ObservationError),
    /// A CoAP over TCP session refused an operation or failed (RFC 8323).
    #[cfg(feature = "alloc")]
    #[error("CoAP over TCP session error")]
    Session(#[from] crate::endpoint::tcp_session::SessionError),
}

impl Error {
    /// The response code a server should answer a request with when processing it failed with
    /// this error (RFC 7252 §5.9, §5.4.1).
    ///
    /// - unrecognized critical options and bad option values: 4.02 Bad Option;
    /// - messages or frames larger than accepted: 4.13 Request Entity Too Large;
    /// - other message format errors: 4.00 Bad Request;
    /// - a failure to encode our own message: 5.00 Internal Server Error.
    ///
    /// For a Confirmable message with a format error RFC 7252 §4.2 prescribes a Reset instead;
    /// the caller decides which of the two applies.
    #[must_use]
    pub fn response_code(&self) -> Code {
        match self {
            Self::Message(MessageError::FrameTooLarge { .. }) => Code::REQUEST_ENTITY_TOO_LARGE,
            Self::Message(_) | Self::Signaling(_) => Code::BAD_REQUEST,
            Self::Option(_) => Code::BAD_OPTION,
            Self::Encode(_) => Code::INTERNAL_SERVER_ERROR,
            Self::Block(e) => {
                let (class, detail) = e.response_class();
                Code::new(class, detail).unwrap_or(Code::BAD_REQUEST)
            }
            Self::Observe(_) => Code::BAD_OPTION,
            // RFC 9175 §2.3: a request that is not (verifiably) fresh gets 4.01 with a new Echo.
            Self::Echo(crate::echo::EchoError::Unknown | crate::echo::EchoError::Stale { .. }) => {
                Code::UNAUTHORIZED
            }
            Self::Echo(_) => Code::BAD_OPTION,
            Self::Uri(_) | Self::LinkFormat(_) => Code::BAD_REQUEST,
            Self::Transmission(_) => Code::INTERNAL_SERVER_ERROR,
            #[cfg(feature = "alloc")]
            Self::Endpoint(e) => e.response_code(),
            #[cfg(feature = "alloc")]
            Self::Blockwise(e) => e.response_code(),
            // RFC 7641 §4.1: an unreadable Observe option or resource key is a bad option.
            #[cfg(feature = "alloc")]
            Self::Observation(_) => Code::BAD_OPTION,
            #[cfg(feature = "alloc")]
            Self::Session(_) => Code::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A part of a message that can be cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// The fixed 4-byte header of CoAP over UDP (RFC 7252 §3).
    Header,
    /// The 1- or 2-byte extended token length (RFC 8974 §2.1).
    ExtendedTokenLength,
    /// The token.
    Token,
    /// The 1- or 2-byte extended option delta (RFC 7252 §3.1).
    OptionDeltaExtension,
    /// The 1- or 2-byte extended option length (RFC 7252 §3.1).
    OptionLengthExtension,
    /// An option value.
    OptionValue,
    /// The code byte of a CoAP over TCP frame (RFC 8323 §3.2).
    Code,
    /// The 1-, 2- or 4-byte extended length of a CoAP over TCP frame (RFC 8323 §3.2).
    ExtendedLength,
}

/// A message format error: the bytes are not a CoAP message (RFC 7252 §3, RFC 8974, RFC 8323 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The input ends inside `field`, which starts at byte `offset`.
    #[error("message truncated in {field:?} at byte {offset}")]
    Truncated {
        /// The field that is cut short.
        field: Field,
        /// Where the field starts.
        offset: usize,
    },
    /// The version is not 1 (RFC 7252 §3).
    #[error("unsupported CoAP version {version}")]
    UnsupportedVersion {
        /// The 2-bit version field.
        version: u8,
    },
    /// A TKL value that is reserved: 9–15 without extended tokens (RFC 7252 §3), 15 with them
    /// (RFC 8974 §2.1).
    #[error("reserved token length nibble {tkl}")]
    ReservedTokenLength {
        /// The 4-bit TKL field.
        tkl: u8,
    },
    /// The token is longer than the decoder accepts (RFC 8974 §2.1 lets a recipient limit it).
    #[error("token of {len} bytes is longer than the accepted {max}")]
    TokenTooLong {
        /// Length of the token in the message.
        len: usize,
        /// The decoder's maximum.
        max: usize,
    },
    /// Option delta or length nibble 15 outside the payload marker (RFC 7252 §3.1).
    #[error("reserved option nibble 15 in the option at byte {offset}")]
    ReservedOptionNibble {
        /// Where the option starts.
        offset: usize,
    },
    /// The option deltas add up to a number above 65535 (RFC 7252 §3.1).
    #[error("option number above 65535 in the option at byte {offset}")]
    OptionNumberOverflow {
        /// Where the option starts.
        offset: usize,
    },
    /// A payload marker followed by a zero-length payload (RFC 7252 §3).
    #[error("payload marker at byte {offset} is followed by no payload")]
    EmptyPayload {
        /// Where the payload marker is.
        offset: usize,
    },
    /// An Empty message (code 0.00) with a token, options or a payload (RFC 7252 §4.1).
    #[error("Empty message (0.00) carries a token, options or a payload")]
    NonEmptyEmptyMessage,
    /// A code in a reserved class: 1, 3, 6 and 7 over UDP (RFC 7252 §3, §4.2); 1, 3 and 6 over
    /// TCP, where class 7 is signaling (RFC 8323 §5.1).
    #[error("code {code} is in a reserved class")]
    ReservedCodeClass {
        /// The code.
        code: Code,
    },
    /// The message type does not fit the code: an Acknowledgement carrying a request, a Reset
    /// that is not Empty, or a Non-confirmable Empty message (RFC 7252 §4.2, §4.3).
    #[error("a {mtype} message cannot carry code {code}")]
    TypeCodeMismatch {
        /// The message type.
        mtype: MessageType,
        /// The code.
        code: Code,
    },
    /// A CoAP over TCP frame longer than the decoder accepts (the peer's Max-Message-Size,
    /// RFC 8323 §5.3.1).
    #[error("frame of {len} bytes is larger than the accepted {max}")]
    FrameTooLarge {
        /// The frame length announced in the header (or `usize::MAX` when it does not fit).
        len: usize,
        /// The decoder's maximum.
        max: usize,
    },
    /// Bytes follow the end of the frame where exactly one frame was expected.
    #[error("unexpected bytes after the frame, from byte {offset}")]
    TrailingBytes {
        /// Where the frame ends.
        offset: usize,
    },
}

/// An option that cannot be accepted or read as asked (RFC 7252 §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// A critical option this implementation does not recognize (RFC 7252 §5.4.1).
    #[error("unrecognized critical option {number}")]
    UnrecognizedCritical {
        /// The option number.
        number: OptionNumber,
    },
    /// A value outside the option's length bounds (RFC 7252 §5.4.3: treated like an
    /// unrecognized option).
    #[error("option {number} has a {len}-byte value outside {min}..={max}")]
    LengthOutOfBounds {
        /// The option number.
        number: OptionNumber,
        /// Length of the value.
        len: usize,
        /// Minimum length from the registry.
        min: u16,
        /// Maximum length from the registry.
        max: u16,
    },
    /// A non-repeatable option that occurs more than once (RFC 7252 §5.4.5: each supernumerary
    /// occurrence is treated like an unrecognized option).
    #[error("option {number} is not repeatable but occurs more than once")]
    NotRepeatable {
        /// The option number.
        number: OptionNumber,
    },
    /// A uint value longer than the integer asked for (RFC 7252 §3.2).
    #[error("option {number} has a {len}-byte value, too long for the unsigned integer asked for")]
    UintTooLong {
        /// The option number.
        number: OptionNumber,
        /// Length of the value.
        len: usize,
    },
    /// A string option whose value is not UTF-8 (RFC 7252 §3.2).
    #[error("option {number} is not valid UTF-8")]
    InvalidUtf8 {
        /// The option number.
        number: OptionNumber,
    },
}

/// A message that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small; `required` bytes are needed in total.
    #[error("output buffer too small: {required} bytes required")]
    BufferTooSmall {
        /// Bytes the whole encoded message needs.
        required: usize,
    },
    /// The token is longer than the 65804 bytes the TKL field can express (RFC 8974 §2.1).
    #[error("token of {len} bytes is longer than 65804")]
    TokenTooLong {
        /// Length of the token.
        len: usize,
    },
    /// An option value longer than the 65804 bytes the option length can express (RFC 7252 §3.1).
    #[error("option {number} has a value of {len} bytes, longer than 65804")]
    OptionTooLong {
        /// The option number.
        number: OptionNumber,
        /// Length of the value.
        len: usize,
    },
    /// An option added after one with a higher number ([`crate::message::MessageWriter`] writes options in ascending order, RFC 7252 §3.1).
    #[error("option {number} is out of order")]
    OptionOutOfOrder {
        /// The option number.
        number: OptionNumber,
    },
    /// The message would not decode: see [`MessageError`] (reserved code class, an Empty
    /// message with content, or a type that does not fit the code).
    #[error("invalid message: {0}")]
    Invalid(MessageError),
}

/// A CoAP over TCP signaling message (RFC 8323 §5) that cannot be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignalingError {
    /// The code is not a signaling code (class 7) or not a registered one (RFC 8323 §11.1).
    #[error("code {code} is not a known signaling code")]
    UnknownCode {
        /// The code.
        code: Code,
    },
    /// A critical signaling option that is not understood: the connection MUST be aborted
    /// (RFC 8323 §5.2).
    #[error("unrecognized critical signaling option {number} in {code}")]
    UnrecognizedCriticalOption {
        /// The signaling code.
        code: Code,
        /// The option number (specific to the code).
        number: u16,
    },
    /// A signaling option with a value outside its length bounds or of the wrong format.
    #[error("signaling option {number} in {code} has an invalid value")]
    InvalidOptionValue {
        /// The signaling code.
        code: Code,
        /// The option number (specific to the code).
        number: u16,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[test]
    fn response_codes() {
        // RFC 7252 §5.4.1: an unrecognized critical option in a request → 4.02 Bad Option.
        // CON GET with option 65001 (delta 14, extension 65001 − 269 = 0xfddc), empty value.
        let msg = Message::decode(&[0x40, 0x01, 0x00, 0x01, 0xe0, 0xfd, 0xdc]).unwrap();
        let err = Error::from(msg.check_options().unwrap_err());
        assert_eq!(err.response_code(), Code::BAD_OPTION);
        // A format error → 4.00; a frame over Max-Message-Size → 4.13 (RFC 8323 §5.3.1).
        let err = Error::from(Message::decode(&[0x40, 0x01, 0x00, 0x01, 0xff]).unwrap_err());
        assert_eq!(err.response_code(), Code::BAD_REQUEST);
        let big = MessageError::FrameTooLarge {
            len: 2000,
            max: 1152,
        };
        assert_eq!(
            Error::from(big).response_code(),
            Code::REQUEST_ENTITY_TOO_LARGE
        );
        #[cfg(feature = "alloc")]
        {
            // The endpoint's component errors nest and keep their response codes.
            let unknown = crate::endpoint::blockwise::BlockwiseError::UnknownTransfer { num: 3 };
            assert_eq!(
                Error::from(unknown).response_code(),
                Code::REQUEST_ENTITY_INCOMPLETE
            );
            let full = crate::endpoint::observe::ObservationError::TooManyObservations { limit: 1 };
            assert!(matches!(Error::from(full), Error::Observation(_)));
        }
        let enc = EncodeError::BufferTooSmall { required: 9 };
        assert_eq!(
            Error::from(enc).response_code(),
            Code::INTERNAL_SERVER_ERROR
        );
    }
}
