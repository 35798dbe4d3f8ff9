//! The request and response of the client core: small owned structs in mote-coap's
//! vocabulary, independent of the CoAP endpoint (LwM2M TS 1.2 Transport §6.4 maps every
//! operation onto a CoAP method, Uri-Path, Uri-Query, Content-Format and Accept).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_coap::message::{Message, OwnedMessage};
use mote_coap::option::OptionNumber;
use mote_lwm2m::Path;

use crate::error::Error;

/// Appends `n` in decimal to `out`: what `format!("{n}")` writes, without linking
/// `core::fmt` (the Register / Update queries and payload of a device build).
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// The Uri-Path of Bootstrap-Finish (LwM2M TS 1.2 Transport §6.4.1: `POST /bs`).
pub const BOOTSTRAP_FINISH_PATH: &str = "bs";

/// A request addressed to the client, as the transport layer hands it over.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The method (GET, PUT, POST, DELETE, FETCH, iPATCH).
    pub code: Code,
    /// The Uri-Path segments (`["3", "0", "14"]`; empty for `/`).
    pub uri_path: Vec<String>,
    /// The Uri-Query options (`["pmin=10", "pmax=60"]`).
    pub uri_query: Vec<String>,
    /// The Content-Format of the payload.
    pub content_format: Option<ContentFormat>,
    /// The Accept option.
    pub accept: Option<ContentFormat>,
    /// The Observe option (0 register, 1 deregister).
    pub observe: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// The non-empty segments of `path` (`"/3/0/14"` → `3`, `0`, `14`), by a loop: less code
/// than an iterator chain.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in path.split('/') {
        if !s.is_empty() {
            out.push(String::from(s));
        }
    }
    out
}

impl Request {
    /// A request with only a method and a path (`"/3/0/14"`, `"/"`); add the rest with the
    /// `with_*` methods.
    pub fn new(code: Code, path: &str) -> Request {
        Request {
            code,
            uri_path: segments(path),
            uri_query: Vec::new(),
            content_format: None,
            accept: None,
            observe: None,
            payload: Vec::new(),
        }
    }

    /// Adds a Uri-Query option.
    #[must_use]
    pub fn with_query(mut self, query: &str) -> Request {
        self.uri_query.push(query.to_string());
        self
    }

    /// Sets the Content-Format and the payload.
    #[must_use]
    pub fn with_payload(mut self, format: ContentFormat, payload: impl Into<Vec<u8>>) -> Request {
        self.content_format = Some(format);
        self.payload = payload.into();
        self
    }

    /// Sets the Accept option.
    #[must_use]
    pub fn with_accept(mut self, format: ContentFormat) -> Request {
        self.accept = Some(format);
        self
    }

    /// Sets the Observe option.
    #[must_use]
    pub fn with_observe(mut self, observe: u32) -> Request {
        self.observe = Some(observe);
        self
    }

    /// Takes the LwM2M parts of a decoded CoAP request.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when a Uri-Path or Uri-Query is not UTF-8 or a
    /// Content-Format, Accept or Observe value is longer than 4 bytes.
    pub fn from_message(message: &Message<'_>) -> Result<Request, Error> {
        let text = |n: OptionNumber| -> Result<Vec<String>, Error> {
            message
                .options_with(n)
                .map(|o| {
                    o.as_str()
                        .map(ToString::to_string)
                        .map_err(|_| Error::InvalidOption(n.0))
                })
                .collect()
        };
        let uint = |n: OptionNumber| -> Result<Option<u32>, Error> {
            message
                .uint_option(n)
                .map_err(|_| Error::InvalidOption(n.0))
        };
        let format = |n: OptionNumber| -> Result<Option<ContentFormat>, Error> {
            match uint(n)? {
                None => Ok(None),
                Some(v) => u16::try_from(v)
                    .map(|v| Some(ContentFormat(v)))
                    .map_err(|_| Error::InvalidOption(n.0)),
            }
        };
        Ok(Request {
            code: message.code(),
            uri_path: text(OptionNumber::URI_PATH)?,
            uri_query: text(OptionNumber::URI_QUERY)?,
            content_format: format(OptionNumber::CONTENT_FORMAT)?,
            accept: format(OptionNumber::ACCEPT)?,
            observe: uint(OptionNumber::OBSERVE)?,
            payload: message.payload().to_vec(),
        })
    }

    /// Takes the LwM2M parts of a request the endpoint delivered
    /// ([`mote_coap::endpoint::IncomingRequest`]).
    ///
    /// # Errors
    /// As [`Request::from_message`].
    pub fn from_owned(message: &OwnedMessage) -> Result<Request, Error> {
        let text = |n: OptionNumber| -> Result<Vec<String>, Error> {
            let mut out = Vec::new();
            for o in message.options.get_all(n) {
                let s = core::str::from_utf8(o.value).map_err(|_| Error::InvalidOption(n.0))?;
                out.push(String::from(s));
            }
            Ok(out)
        };
        let uint = |n: OptionNumber| -> Result<Option<u32>, Error> {
            match message.options.get(n) {
                None => Ok(None),
                Some(o) if o.value.len() <= 4 => Ok(Some(
                    o.value
                        .iter()
                        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)),
                )),
                Some(_) => Err(Error::InvalidOption(n.0)),
            }
        };
        let format = |n: OptionNumber| -> Result<Option<ContentFormat>, Error> {
            match uint(n)? {
                None => Ok(None),
                Some(v) => u16::try_from(v)
                    .map(|v| Some(ContentFormat(v)))
                    .map_err(|_| Error::InvalidOption(n.0)),
            }
        };
        Ok(Request {
            code: message.code,
            uri_path: text(OptionNumber::URI_PATH)?,
            uri_query: text(OptionNumber::URI_QUERY)?,
            content_format: format(OptionNumber::CONTENT_FORMAT)?,
            accept: format(OptionNumber::ACCEPT)?,
            observe: uint(OptionNumber::OBSERVE)?,
            payload: message.payload.clone(),
        })
    }

    /// The request as a CoAP message of type `mtype` (the endpoint sets Message ID and
    /// token): Uri-Path, Uri-Query, Content-Format, Accept, Observe and payload
    /// (TS 1.2 Transport §6.4).
    pub fn to_message(&self, mtype: mote_coap::code::MessageType) -> OwnedMessage {
        let mut m = OwnedMessage::new(mtype, self.code, 0);
        if let Some(o) = self.observe {
            m = m.with_uint_option(OptionNumber::OBSERVE, o);
        }
        for seg in &self.uri_path {
            m = m.with_option(OptionNumber::URI_PATH, seg.as_bytes());
        }
        if let Some(cf) = self.content_format {
            m = m.with_uint_option(OptionNumber::CONTENT_FORMAT, u32::from(cf.0));
        }
        for q in &self.uri_query {
            m = m.with_option(OptionNumber::URI_QUERY, q.as_bytes());
        }
        if let Some(a) = self.accept {
            m = m.with_uint_option(OptionNumber::ACCEPT, u32::from(a.0));
        }
        m.with_payload(self.payload.clone())
    }

    /// The Uri-Path as an LwM2M path.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] when it is not `/`, `/O`, `/O/I`, `/O/I/R` or `/O/I/R/RI`.
    pub fn path(&self) -> Result<Path, Error> {
        if self.uri_path.len() > 4 {
            return Err(Error::InvalidPath);
        }
        let mut ids = [0u16; 4];
        for (slot, seg) in ids.iter_mut().zip(&self.uri_path) {
            if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::InvalidPath);
            }
            *slot = seg.parse().map_err(|_| Error::InvalidPath)?;
        }
        Path::new(ids.get(..self.uri_path.len()).unwrap_or(&[])).map_err(|_| Error::InvalidPath)
    }

    /// The Uri-Query options joined by `&` (the Write-Attributes form, TS 1.2 Core §5.4.4).
    pub fn query(&self) -> String {
        self.uri_query.join("&")
    }
}

/// The client's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The response code.
    pub code: Code,
    /// The Content-Format of the payload, when there is one.
    pub content_format: Option<ContentFormat>,
    /// The payload (a diagnostic text on some errors, RFC 7252 §5.5.2).
    pub payload: Vec<u8>,
    /// The Location-Path segments of a Create (`["1234", "5"]`, TS 1.2 Transport §6.4.3).
    pub location_path: Vec<String>,
}

impl Response {
    /// A response with only a code.
    pub const fn new(code: Code) -> Response {
        Response {
            code,
            content_format: None,
            payload: Vec::new(),
            location_path: Vec::new(),
        }
    }

    /// A response with a payload.
    pub fn content(code: Code, format: ContentFormat, payload: Vec<u8>) -> Response {
        Response {
            code,
            content_format: Some(format),
            payload,
            location_path: Vec::new(),
        }
    }

    /// An error response with a diagnostic payload (RFC 7252 §5.5.2: no Content-Format).
    pub fn diagnostic(code: Code, text: impl Into<String>) -> Response {
        Response {
            code,
            content_format: None,
            payload: text.into().into_bytes(),
            location_path: Vec::new(),
        }
    }

    /// The diagnostic payload as text (empty when not UTF-8).
    pub fn diagnostic_text(&self) -> &str {
        core::str::from_utf8(&self.payload).unwrap_or("")
    }

    /// Writes the code, Location-Path, Content-Format and payload into `message` (a
    /// response whose type, Message ID and token the endpoint has already set).
    #[must_use]
    pub fn write_to(&self, mut message: OwnedMessage) -> OwnedMessage {
        message.code = self.code;
        for seg in &self.location_path {
            message = message.with_option(OptionNumber::LOCATION_PATH, seg.as_bytes());
        }
        if let Some(cf) = self.content_format {
            message = message.with_uint_option(OptionNumber::CONTENT_FORMAT, u32::from(cf.0));
        }
        message.with_payload(self.payload.clone())
    }
}
