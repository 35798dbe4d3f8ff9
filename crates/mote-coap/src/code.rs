//! Message types and codes (RFC 7252 §3, §5.8, §5.9, §12.1; RFC 8132 §2, §3; RFC 8323 §5.1;
//! RFC 7959 §2.9; RFC 8516; RFC 8768).

#![deny(clippy::indexing_slicing)]

use core::fmt;

/// The message type of CoAP over UDP (RFC 7252 §3, 2-bit `T` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// Confirmable (0).
    Con,
    /// Non-confirmable (1).
    Non,
    /// Acknowledgement (2).
    Ack,
    /// Reset (3).
    Rst,
}

impl MessageType {
    /// The type from the two low bits of `bits` (RFC 7252 §3).
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0 => Self::Con,
            1 => Self::Non,
            2 => Self::Ack,
            _ => Self::Rst,
        }
    }

    /// The 2-bit value of the `T` field.
    #[must_use]
    pub const fn bits(self) -> u8 {
        match self {
            Self::Con => 0,
            Self::Non => 1,
            Self::Ack => 2,
            Self::Rst => 3,
        }
    }

    /// The abbreviation used in RFC 7252 and in `mote decode --json`: `CON`, `NON`, `ACK`, `RST`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Con => "CON",
            Self::Non => "NON",
            Self::Ack => "ACK",
            Self::Rst => "RST",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The class of a code (RFC 7252 §3: the 3 most significant bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeClass {
    /// 0: a request, or 0.00 Empty.
    Request,
    /// 2: a success response.
    Success,
    /// 4: a client error response.
    ClientError,
    /// 5: a server error response.
    ServerError,
    /// 7: a signaling message of CoAP over reliable transports (RFC 8323 §5.1).
    Signaling,
    /// 1, 3 or 6: reserved (RFC 7252 §3, §12.1).
    Reserved(u8),
}

/// A CoAP code: `class.detail`, stored as its wire byte (RFC 7252 §3).
///
/// ```
/// use mote_coap::code::Code;
/// assert_eq!(Code::CONTENT.to_string(), "2.05");
/// assert_eq!(Code::new(0, 5), Some(Code::FETCH));
/// assert_eq!(Code::FETCH.name(), Some("FETCH"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub u8);

impl Code {
    /// 0.00 Empty (RFC 7252 §4.1).
    pub const EMPTY: Self = Self(0x00);
    /// 0.01 GET (RFC 7252 §5.8.1).
    pub const GET: Self = Self(0x01);
    /// 0.02 POST (RFC 7252 §5.8.2).
    pub const POST: Self = Self(0x02);
    /// 0.03 PUT (RFC 7252 §5.8.3).
    pub const PUT: Self = Self(0x03);
    /// 0.04 DELETE (RFC 7252 §5.8.4).
    pub const DELETE: Self = Self(0x04);
    /// 0.05 FETCH (RFC 8132 §2).
    pub const FETCH: Self = Self(0x05);
    /// 0.06 PATCH (RFC 8132 §3).
    pub const PATCH: Self = Self(0x06);
    /// 0.07 iPATCH (RFC 8132 §3).
    pub const IPATCH: Self = Self(0x07);

    /// 2.01 Created (RFC 7252 §5.9.1.1).
    pub const CREATED: Self = Self(0x41);
    /// 2.02 Deleted (RFC 7252 §5.9.1.2).
    pub const DELETED: Self = Self(0x42);
    /// 2.03 Valid (RFC 7252 §5.9.1.3).
    pub const VALID: Self = Self(0x43);
    /// 2.04 Changed (RFC 7252 §5.9.1.4).
    pub const CHANGED: Self = Self(0x44);
    /// 2.05 Content (RFC 7252 §5.9.1.5).
    pub const CONTENT: Self = Self(0x45);
    /// 2.31 Continue (RFC 7959 §2.9.1).
    pub const CONTINUE: Self = Self(0x5f);

    /// 4.00 Bad Request (RFC 7252 §5.9.2.1).
    pub const BAD_REQUEST: Self = Self(0x80);
    /// 4.01 Unauthorized (RFC 7252 §5.9.2.2).
    pub const UNAUTHORIZED: Self = Self(0x81);
    /// 4.02 Bad Option (RFC 7252 §5.9.2.3).
    pub const BAD_OPTION: Self = Self(0x82);
    /// 4.03 Forbidden (RFC 7252 §5.9.2.4).
    pub const FORBIDDEN: Self = Self(0x83);
    /// 4.04 Not Found (RFC 7252 §5.9.2.5).
    pub const NOT_FOUND: Self = Self(0x84);
    /// 4.05 Method Not Allowed (RFC 7252 §5.9.2.6).
    pub const METHOD_NOT_ALLOWED: Self = Self(0x85);
    /// 4.06 Not Acceptable (RFC 7252 §5.9.2.7).
    pub const NOT_ACCEPTABLE: Self = Self(0x86);
    /// 4.08 Request Entity Incomplete (RFC 7959 §2.9.2).
    pub const REQUEST_ENTITY_INCOMPLETE: Self = Self(0x88);
    /// 4.09 Conflict (RFC 8132 §3.4).
    pub const CONFLICT: Self = Self(0x89);
    /// 4.12 Precondition Failed (RFC 7252 §5.9.2.8).
    pub const PRECONDITION_FAILED: Self = Self(0x8c);
    /// 4.13 Request Entity Too Large (RFC 7252 §5.9.2.9).
    pub const REQUEST_ENTITY_TOO_LARGE: Self = Self(0x8d);
    /// 4.15 Unsupported Content-Format (RFC 7252 §5.9.2.10).
    pub const UNSUPPORTED_CONTENT_FORMAT: Self = Self(0x8f);
    /// 4.22 Unprocessable Entity (RFC 8132 §3.4).
    pub const UNPROCESSABLE_ENTITY: Self = Self(0x96);
    /// 4.29 Too Many Requests (RFC 8516).
    pub const TOO_MANY_REQUESTS: Self = Self(0x9d);

    /// 5.00 Internal Server Error (RFC 7252 §5.9.3.1).
    pub const INTERNAL_SERVER_ERROR: Self = Self(0xa0);
    /// 5.01 Not Implemented (RFC 7252 §5.9.3.2).
    pub const NOT_IMPLEMENTED: Self = Self(0xa1);
    /// 5.02 Bad Gateway (RFC 7252 §5.9.3.3).
    pub const BAD_GATEWAY: Self = Self(0xa2);
    /// 5.03 Service Unavailable (RFC 7252 §5.9.3.4).
    pub const SERVICE_UNAVAILABLE: Self = Self(0xa3);
    /// 5.04 Gateway Timeout (RFC 7252 §5.9.3.5).
    pub const GATEWAY_TIMEOUT: Self = Self(0xa4);
    /// 5.05 Proxying Not Supported (RFC 7252 §5.9.3.6).
    pub const PROXYING_NOT_SUPPORTED: Self = Self(0xa5);
    /// 5.08 Hop Limit Reached (RFC 8768 §3).
    pub const HOP_LIMIT_REACHED: Self = Self(0xa8);

    /// 7.01 CSM, Capabilities and Settings Message (RFC 8323 §5.3).
    pub const CSM: Self = Self(0xe1);
    /// 7.02 Ping (RFC 8323 §5.4).
    pub const PING: Self = Self(0xe2);
    /// 7.03 Pong (RFC 8323 §5.4).
    pub const PONG: Self = Self(0xe3);
    /// 7.04 Release (RFC 8323 §5.5).
    pub const RELEASE: Self = Self(0xe4);
    /// 7.05 Abort (RFC 8323 §5.6).
    pub const ABORT: Self = Self(0xe5);

    /// The code `class.detail`, or `None` when `class > 7` or `detail > 31`.
    #[must_use]
    pub const fn new(class: u8, detail: u8) -> Option<Self> {
        if class > 7 || detail > 31 {
            None
        } else {
            Some(Self((class << 5) | detail))
        }
    }

    /// The 3-bit class.
    #[must_use]
    pub const fn class(self) -> u8 {
        self.0 >> 5
    }

    /// The 5-bit detail.
    #[must_use]
    pub const fn detail(self) -> u8 {
        self.0 & 0x1f
    }

    /// The class as an enum.
    #[must_use]
    pub const fn code_class(self) -> CodeClass {
        match self.class() {
            0 => CodeClass::Request,
            2 => CodeClass::Success,
            4 => CodeClass::ClientError,
            5 => CodeClass::ServerError,
            7 => CodeClass::Signaling,
            other => CodeClass::Reserved(other),
        }
    }

    /// 0.00.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A method code 0.01–0.31 (RFC 7252 §12.1.1).
    #[must_use]
    pub const fn is_request(self) -> bool {
        self.class() == 0 && self.0 != 0
    }

    /// A response code: class 2, 4 or 5 (RFC 7252 §12.1.2).
    #[must_use]
    pub const fn is_response(self) -> bool {
        matches!(self.class(), 2 | 4 | 5)
    }

    /// A signaling code 7.00–7.31 (RFC 8323 §5.1).
    #[must_use]
    pub const fn is_signaling(self) -> bool {
        self.class() == 7
    }

    /// The registered name (`GET`, `iPATCH`, `Content`, `Bad Option`, `CSM`, `Empty`…), or
    /// `None` for an unregistered code.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "Empty",
            0x01 => "GET",
            0x02 => "POST",
            0x03 => "PUT",
            0x04 => "DELETE",
            0x05 => "FETCH",
            0x06 => "PATCH",
            0x07 => "iPATCH",
            0x41 => "Created",
            0x42 => "Deleted",
            0x43 => "Valid",
            0x44 => "Changed",
            0x45 => "Content",
            0x5f => "Continue",
            0x80 => "Bad Request",
            0x81 => "Unauthorized",
            0x82 => "Bad Option",
            0x83 => "Forbidden",
            0x84 => "Not Found",
            0x85 => "Method Not Allowed",
            0x86 => "Not Acceptable",
            0x88 => "Request Entity Incomplete",
            0x89 => "Conflict",
            0x8c => "Precondition Failed",
            0x8d => "Request Entity Too Large",
            0x8f => "Unsupported Content-Format",
            0x96 => "Unprocessable Entity",
            0x9d => "Too Many Requests",
            0xa0 => "Internal Server Error",
            0xa1 => "Not Implemented",
            0xa2 => "Bad Gateway",
            0xa3 => "Service Unavailable",
            0xa4 => "Gateway Timeout",
            0xa5 => "Proxying Not Supported",
            0xa8 => "Hop Limit Reached",
            0xe1 => "CSM",
            0xe2 => "Ping",
            0xe3 => "Pong",
            0xe4 => "Release",
            0xe5 => "Abort",
            _ => return None,
        })
    }
}

impl fmt::Display for Code {
    /// `c.dd` (RFC 7252 §5.9: "2.05").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.class(), self.detail())
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{self} {name}"),
            None => write!(f, "{self}"),
        }
    }
}

impl From<u8> for Code {
    fn from(raw: u8) -> Self {
        Self(raw)
    }
}

impl From<Code> for u8 {
    fn from(code: Code) -> Self {
        code.0
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn class_detail_and_display() {
        assert_eq!(Code::BAD_OPTION.class(), 4);
        assert_eq!(Code::BAD_OPTION.detail(), 2);
        assert_eq!(Code::BAD_OPTION.to_string(), "4.02");
        assert_eq!(Code::CONTINUE.to_string(), "2.31");
        assert_eq!(Code::new(8, 0), None);
        assert_eq!(Code::new(0, 32), None);
        assert_eq!(Code(0x20).code_class(), CodeClass::Reserved(1));
    }

    #[test]
    fn names_from_the_registries() {
        assert_eq!(Code(0x07).name(), Some("iPATCH"));
        assert_eq!(Code(0xe1).name(), Some("CSM"));
        assert_eq!(Code(0x00).name(), Some("Empty"));
        assert_eq!(Code(0x08).name(), None);
    }

    #[test]
    fn message_type_bits() {
        for t in [
            MessageType::Con,
            MessageType::Non,
            MessageType::Ack,
            MessageType::Rst,
        ] {
            assert_eq!(MessageType::from_bits(t.bits()), t);
        }
    }
}
