//! The engine's view of CoAP: an owned [`Request`] built from a decoded
//! [`mote_coap::message::Message`], the requester's security [`Identity`], and the
//! [`Response`] parts written back into an [`OwnedMessage`].
//!
//! The endpoint that matches requests and responses is not involved: the caller decodes
//! the datagram (or OSCORE-unprotects it), hands the request here with the identity of
//! the security context it arrived through, and copies the response parts into its reply.

use alloc::string::String;
use alloc::vec::Vec;

use mote_coap::code::{Code, MessageType};
use mote_coap::content_format::ContentFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::{OptionList, OptionNumber, OptionRef};

/// The security identity a request arrived with. A registration is bound to the identity
/// of its Register request (LwM2M TS 1.2 Transport §6.4.3: a new security context means a
/// new registration).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Identity {
    /// No security (NoSec mode, LwM2M TS 1.2 Transport §5 ("NoSec" mode)): the peer is not
    /// authenticated.
    None,
    /// An OSCORE security context, named by its context identifier bytes (the
    /// caller's choice, e.g. ID Context ‖ Recipient ID, RFC 8613 §3.3).
    Oscore(Vec<u8>),
    /// A NoSec peer known only by its transport address (the caller's encoding, normally
    /// [`Identity::nosec_host`]): not authenticated, but it ties Update, De-register and
    /// Send to the host the client registered from when
    /// [`crate::ServerConfig::allow_unsecured`] is on.
    Address(Vec<u8>),
}

impl Identity {
    /// The identity of a NoSec peer at `addr`: its host (IP address) without the port.
    ///
    /// A UDP client's source port is not stable: a NAT may rebind it between messages
    /// (LwM2M TS 1.2 Transport "NAT Traversal"; RFC 7252 §4.2 matches an ACK by endpoint,
    /// and a rebound client is a new endpoint), and some clients (lwm2m-node-lib) send
    /// every Update and the De-register from a fresh port. Binding a NoSec registration
    /// to the whole `IP:port` would refuse those Updates; binding it to the host accepts
    /// them, and the engine moves the registration to the Update's new port (where the
    /// client now listens). Another host's Update is still refused.
    #[must_use]
    pub fn nosec_host(addr: &core::net::SocketAddr) -> Identity {
        Identity::Address(match addr.ip() {
            core::net::IpAddr::V4(ip) => ip.octets().to_vec(),
            core::net::IpAddr::V6(ip) => ip.octets().to_vec(),
        })
    }

    /// The identity of the OSCORE security context named by its ID Context and Recipient ID
    /// (RFC 8613 §3.3: the pair names the context), encoded so that no two contexts share a
    /// name: `[len(ID Context), or 0xff when there is none] ‖ ID Context ‖ Recipient ID`
    /// (an absent and an empty ID Context differ).
    ///
    /// ```
    /// use mote_lwm2m_server::Identity;
    /// assert_eq!(Identity::oscore_context(None, &[1]), Identity::Oscore(vec![0xff, 1]));
    /// assert_eq!(Identity::oscore_context(Some(&[7]), &[1]), Identity::Oscore(vec![1, 7, 1]));
    /// // Neither the split between the two parts nor an empty ID Context can collide.
    /// assert_ne!(Identity::oscore_context(Some(&[1]), &[2]), Identity::oscore_context(None, &[1, 2]));
    /// assert_ne!(Identity::oscore_context(Some(&[]), &[1]), Identity::oscore_context(None, &[1]));
    /// ```
    #[must_use]
    pub fn oscore_context(id_context: Option<&[u8]>, recipient_id: &[u8]) -> Identity {
        let mut v = Vec::with_capacity(1 + id_context.map_or(0, <[u8]>::len) + recipient_id.len());
        match id_context {
            // An ID Context is at most a few bytes (RFC 8613 §3.3); a longer one still gets
            // a length byte below 0xff.
            Some(c) => {
                v.push(u8::try_from(c.len()).unwrap_or(0xfe));
                v.extend_from_slice(c);
            }
            None => v.push(0xff),
        }
        v.extend_from_slice(recipient_id);
        Identity::Oscore(v)
    }

    /// Whether the identity was authenticated by a security layer.
    #[must_use]
    pub const fn is_authenticated(&self) -> bool {
        matches!(self, Identity::Oscore(_))
    }
}

/// What is wrong with a request's options (the request is answered 4.00 or 4.02 by the
/// caller, before it reaches the engine).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A Uri-Path or Uri-Query option is not UTF-8 (RFC 7252 §5.10.1: they are strings).
    #[error("option {number} is not UTF-8")]
    NotUtf8 {
        /// The option.
        number: OptionNumber,
    },
    /// A uint option (Content-Format, Accept, Observe) has more than 4 bytes.
    #[error("option {number} is not a valid uint")]
    BadUint {
        /// The option.
        number: OptionNumber,
    },
    /// The code is not a request method.
    #[error("code {code} is not a request")]
    NotARequest {
        /// The code.
        code: Code,
    },
}

/// An incoming request, owned: method, Uri-Path segments, Uri-Query parameters,
/// Content-Format, Accept, Observe and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub code: Code,
    /// The Uri-Path segments, in order.
    pub path: Vec<String>,
    /// The Uri-Query options, in order (`ep=dev`, `Q`).
    pub query: Vec<String>,
    /// The Content-Format option.
    pub content_format: Option<ContentFormat>,
    /// The Accept option.
    pub accept: Option<ContentFormat>,
    /// The Observe option.
    pub observe: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Request {
    /// A request with only a method and a path (tests and callers building by hand).
    #[must_use]
    pub fn new(code: Code, path: &[&str]) -> Request {
        Request {
            code,
            path: path.iter().map(|s| String::from(*s)).collect(),
            query: Vec::new(),
            content_format: None,
            accept: None,
            observe: None,
            payload: Vec::new(),
        }
    }

    /// Adds a Uri-Query parameter.
    #[must_use]
    pub fn with_query(mut self, q: &str) -> Request {
        self.query.push(String::from(q));
        self
    }

    /// Sets the payload.
    #[must_use]
    pub fn with_payload(mut self, payload: impl Into<Vec<u8>>) -> Request {
        self.payload = payload.into();
        self
    }

    /// Sets the Content-Format.
    #[must_use]
    pub fn with_content_format(mut self, cf: ContentFormat) -> Request {
        self.content_format = Some(cf);
        self
    }

    /// Copies the request out of a decoded message.
    ///
    /// # Errors
    /// [`RequestError`] when the code is not a method or an option does not have its
    /// registered format.
    pub fn from_message(msg: &Message<'_>) -> Result<Request, RequestError> {
        if !msg.code().is_request() {
            return Err(RequestError::NotARequest { code: msg.code() });
        }
        Request::from_parts(msg.code(), msg.options(), msg.payload())
    }

    /// Builds a request from a code, options and payload (any transport's view).
    ///
    /// # Errors
    /// As [`Request::from_message`].
    pub fn from_parts<'a>(
        code: Code,
        options: impl IntoIterator<Item = OptionRef<'a>>,
        payload: &[u8],
    ) -> Result<Request, RequestError> {
        let mut r = Request::new(code, &[]);
        r.payload = payload.to_vec();
        for o in options {
            let text = || {
                o.as_str()
                    .map(String::from)
                    .map_err(|_| RequestError::NotUtf8 { number: o.number })
            };
            let uint = || {
                o.as_uint()
                    .map_err(|_| RequestError::BadUint { number: o.number })
            };
            match o.number {
                OptionNumber::URI_PATH => r.path.push(text()?),
                OptionNumber::URI_QUERY => r.query.push(text()?),
                OptionNumber::CONTENT_FORMAT => {
                    r.content_format = Some(ContentFormat(narrow(uint()?, o.number)?));
                }
                OptionNumber::ACCEPT => r.accept = Some(ContentFormat(narrow(uint()?, o.number)?)),
                OptionNumber::OBSERVE => r.observe = Some(uint()?),
                _ => {}
            }
        }
        Ok(r)
    }

    /// The value of query parameter `name` (`Some("")` for a bare `name` or `name=`),
    /// the first if repeated.
    #[must_use]
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find_map(|q| match q.split_once('=') {
            Some((n, v)) if n == name => Some(v),
            None if q == name => Some(""),
            _ => None,
        })
    }
}

fn narrow(v: u32, number: OptionNumber) -> Result<u16, RequestError> {
    u16::try_from(v).map_err(|_| RequestError::BadUint { number })
}

/// The parts of a response: code, options (Location-Path, Content-Format, …) and payload
/// (a diagnostic payload on errors, RFC 7252 §5.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The response code.
    pub code: Code,
    /// The options.
    pub options: OptionList,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Response {
    /// A response with a code only.
    #[must_use]
    pub fn new(code: Code) -> Response {
        Response {
            code,
            options: OptionList::new(),
            payload: Vec::new(),
        }
    }

    /// An error response with a diagnostic payload (RFC 7252 §5.5.2: "Diagnostic
    /// Payload", UTF-8 text without Content-Format).
    #[must_use]
    pub fn error(code: Code, diagnostic: &str) -> Response {
        Response {
            code,
            options: OptionList::new(),
            payload: diagnostic.as_bytes().to_vec(),
        }
    }

    /// The diagnostic text of an error response (empty when none or not UTF-8).
    #[must_use]
    pub fn diagnostic(&self) -> &str {
        core::str::from_utf8(&self.payload).unwrap_or("")
    }

    /// The Location-Path segments.
    #[must_use]
    pub fn location_path(&self) -> Vec<&str> {
        self.options
            .get_all(OptionNumber::LOCATION_PATH)
            .filter_map(|o| o.as_str().ok())
            .collect()
    }

    /// Writes code, options and payload into `msg` (its type, Message ID and token are
    /// the caller's, e.g. a piggybacked ACK).
    pub fn write_into(&self, msg: &mut OwnedMessage) {
        msg.code = self.code;
        for o in self.options.iter() {
            msg.options.push(o.number, o.value);
        }
        msg.payload.clone_from(&self.payload);
    }

    /// A whole message: `mtype`, `message_id`, `token` and these parts.
    #[must_use]
    pub fn to_message(&self, mtype: MessageType, message_id: u16, token: &[u8]) -> OwnedMessage {
        let mut m = OwnedMessage::new(mtype, self.code, message_id).with_token(token);
        self.write_into(&mut m);
        m
    }
}
