//! The crate's error type and the errors an application object reports.

use mote_coap::code::Code;
use mote_lwm2m::Path;

/// Why an application object (or a built-in one) refused an operation; each maps to the
/// CoAP response code of LwM2M TS 1.2 Transport §6.4 ("Response Codes").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// The instance, resource or resource instance does not exist: 4.04.
    #[error("not found")]
    NotFound,
    /// The operation is not possible on this target or in this state: 4.05.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The value or argument is not acceptable: 4.00.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A bounded table of the client is full: 5.00 (the bound is in [`crate::ClientConfig`]).
    #[error("{table} is full ({limit} entries)")]
    Full {
        /// Which table.
        table: &'static str,
        /// Its configured bound.
        limit: usize,
    },
    /// The application failed: 5.00.
    #[error("internal error")]
    Internal,
}

impl ObjectError {
    /// The CoAP response code.
    pub const fn code(&self) -> Code {
        match self {
            ObjectError::NotFound => Code::NOT_FOUND,
            ObjectError::MethodNotAllowed => Code::METHOD_NOT_ALLOWED,
            ObjectError::BadRequest(_) => Code::BAD_REQUEST,
            ObjectError::Full { .. } | ObjectError::Internal => Code::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Everything that can go wrong while building a request or configuring the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Uri-Path segment is not a valid LwM2M identifier, or there are more than four.
    #[error("Uri-Path is not an LwM2M path")]
    InvalidPath,
    /// An option's value is malformed (uint too long, not UTF-8).
    #[error("option {0} is malformed")]
    InvalidOption(u16),
    /// A Create or Bootstrap-Write targeted an object that the store has no definition for.
    #[error("no definition for object {0}")]
    UnknownObject(u16),
    /// An object definition (DDF XML) could not be loaded.
    #[error("object definition: {0}")]
    Definition(mote_lwm2m::Error),
    /// An object is registered twice.
    #[error("object {0} is already registered")]
    DuplicateObject(u16),
    /// An object refused an operation while the store was being set up.
    #[error("{path}: {error}")]
    Object {
        /// Where.
        path: Path,
        /// What.
        error: ObjectError,
    },
}

/// The text of an error for a diagnostic payload or an event's `reason`: its `Display` with
/// the `diagnostics` feature, empty without it (so that a device build links neither the
/// error texts nor their formatting).
pub(crate) fn describe(e: &impl core::fmt::Display) -> alloc::string::String {
    diagnostic(|| alloc::string::ToString::to_string(e))
}

/// A diagnostic text built by `text` with the `diagnostics` feature, empty without it: the
/// formatting (and the texts) of a device build's error paths are never linked.
pub(crate) fn diagnostic(text: impl FnOnce() -> alloc::string::String) -> alloc::string::String {
    if cfg!(feature = "diagnostics") {
        text()
    } else {
        alloc::string::String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_texts_only_with_the_diagnostics_feature() {
        let response = crate::request::Response::from(ObjectError::NotFound);
        assert_eq!(response.code, Code::NOT_FOUND);
        if cfg!(feature = "diagnostics") {
            assert_eq!(response.diagnostic_text(), "not found");
        } else {
            assert_eq!(response.diagnostic_text(), "");
        }
    }

    #[test]
    fn composite_and_bootstrap_requests_only_with_their_features() {
        use mote_coap::content_format::ContentFormat;

        use crate::request::Request;
        use crate::{Client, ClientConfig, Requester};

        let mut client = Client::new(ClientConfig::default());
        // Bootstrap-Discover on / from the Bootstrap-Server (TS 1.2 Core §6.1.7.1).
        let discover = Request::new(Code::GET, "/").with_accept(ContentFormat::LINK_FORMAT);
        let answer = client.handle(Requester::BootstrapServer, &discover);
        if cfg!(feature = "bootstrap-interface") {
            assert_eq!(answer.code, Code::CONTENT);
        } else {
            assert_eq!(answer.code, Code::UNAUTHORIZED);
        }
        // Read-Composite (FETCH /) without a body: refused for the body, or not mapped at all.
        let fetch = Request::new(Code::FETCH, "/");
        let answer = client.handle(Requester::Server(mote_access::ShortServerId(1)), &fetch);
        assert_eq!(
            answer.code == Code::METHOD_NOT_ALLOWED,
            !cfg!(feature = "composite")
        );
    }
}
