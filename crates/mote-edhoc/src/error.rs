//! The crate's error type.

use crate::suite::Suites;

/// Everything that can go wrong in EDHOC processing.
///
/// Cryptographic failures stay opaque ([`Error::AuthenticationFailed`]): the caller learns that
/// a check failed, never which byte. [`Error::error_code`] tells which EDHOC error message
/// (RFC 9528 §6) to send to the peer.
///
/// The `&'static str` texts (`reason`, `what`, ...) are diagnostics for people: without the
/// `diagnostics` feature (on by default and with `std`) they are all empty, which saves a device
/// build about 1.6 KB; the variants and offsets do not change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or non-deterministic CBOR, or a wrong EDHOC message structure.
    #[error("malformed EDHOC message at offset {offset}: {reason}")]
    Malformed {
        /// Byte offset in the parsed input (for encrypted parts: in the plaintext).
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// An input or an output does not fit the crate's fixed capacities (see [`crate::buffer`]).
    #[error("{what} too large: {needed} bytes")]
    Capacity {
        /// What did not fit.
        what: &'static str,
        /// Bytes that would have been needed.
        needed: usize,
    },
    /// A bounded table (pending sessions, contexts) is full of live entries.
    #[error("{what}: all {capacity} entries in use")]
    TableFull {
        /// Which table.
        what: &'static str,
        /// Its configured capacity.
        capacity: usize,
    },
    /// METHOD is not 0..=3, or not the one this endpoint is configured for.
    #[error("unsupported or unexpected EDHOC method {0}")]
    UnsupportedMethod(i64),
    /// The selected cipher suite is not supported, or a suite this endpoint supports was ranked
    /// before it in SUITES_I (RFC 9528 §6.3.1); answer with ERR_CODE 2 carrying `suites_r`.
    #[error("wrong selected cipher suite")]
    WrongSelectedSuite {
        /// SUITES_R to send back (the responder's supported suites).
        suites_r: Suites,
    },
    /// The peer answered with ERR_CODE 2 (wrong selected cipher suite) listing its suites.
    #[error("peer rejected the selected cipher suite")]
    PeerWrongSelectedSuite {
        /// SUITES_R received.
        suites_r: Suites,
    },
    /// No cipher suite is supported by both sides.
    #[error("no common cipher suite")]
    NoCommonSuite,
    /// The peer sent an EDHOC error message (other than ERR_CODE 2).
    #[error("peer sent EDHOC error ERR_CODE {code}")]
    PeerError {
        /// ERR_CODE received (1 unspecified, 3 unknown credential, or an unregistered code).
        code: i64,
    },
    /// An ephemeral or static public key is not valid for the curve (RFC 9528 §9.2), or the key
    /// agreement produced the all-zero output of a low-order point.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A MAC, signature or AEAD check failed.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The ID_CRED of the peer references no credential the application knows; answer with
    /// ERR_CODE 3 (RFC 9528 §6.4).
    #[error("unknown credential referenced")]
    UnknownCredential,
    /// A credential cannot be used: wrong key type or curve for the cipher suite and method,
    /// unparsable, or not chaining to a trust anchor.
    #[error("credential not usable: {0}")]
    InvalidCredential(&'static str),
    /// A certificate chain received by value is not trusted (RFC 5280 §6.1), feature `x509`.
    #[cfg(feature = "x509")]
    #[error("certificate chain not trusted: {0}")]
    Certificate(crate::x509::CertificateError),
    /// A critical EAD item (negative label) that the application does not recognize (§3.8).
    #[error("unknown critical EAD item with label {0}")]
    UnknownCriticalEad(i64),
    /// A connection identifier is invalid or equal to the peer's (RFC 9528 §3.3.2).
    #[error("invalid connection identifier: {0}")]
    InvalidConnectionId(&'static str),
    /// A cryptographic primitive failed for a reason other than a failed check (for example an
    /// unsupported algorithm in the provider, or an invalid private key).
    #[error("cryptographic operation failed")]
    Crypto,
    /// A CoAP message does not carry EDHOC as RFC 9528 Appendix A.2 or RFC 9668 describe.
    #[error("invalid EDHOC-over-CoAP message: {0}")]
    Transport(&'static str),
}

impl Error {
    /// The EDHOC ERR_CODE (RFC 9528 §6) to answer this error with: 2 for a wrong selected
    /// cipher suite, 3 for an unknown credential, 1 otherwise. Errors that came *from* the
    /// peer (an error message received) return `None`: no error is sent in response to an error.
    ///
    /// ```
    /// use mote_edhoc::{Error, Suites};
    /// assert_eq!(Error::UnknownCredential.error_code(), Some(3));
    /// assert_eq!(Error::WrongSelectedSuite { suites_r: Suites::new() }.error_code(), Some(2));
    /// assert_eq!(Error::NoCommonSuite.error_code(), Some(1));
    /// // An error the peer sent is not answered with another one.
    /// assert_eq!(Error::PeerWrongSelectedSuite { suites_r: Suites::new() }.error_code(), None);
    /// ```
    pub fn error_code(&self) -> Option<i64> {
        match self {
            Error::WrongSelectedSuite { .. } => Some(2),
            Error::UnknownCredential => Some(3),
            Error::PeerWrongSelectedSuite { .. } | Error::PeerError { .. } => None,
            _ => Some(1),
        }
    }
}

/// mote-cose's errors where EDHOC meets them: its CBOR layer (malformed or non-deterministic
/// CBOR, a full buffer) and COSE structures carried in credentials.
impl From<mote_cose::Error> for Error {
    #[inline(never)]
    fn from(e: mote_cose::Error) -> Self {
        match e {
            // The text is empty without `diagnostics`, which enables mote-cose's.
            mote_cose::Error::Cbor { offset, reason } => Error::Malformed { offset, reason },
            mote_cose::Error::BufferTooSmall { required } => Error::Capacity {
                what: diag!("buffer"),
                needed: required,
            },
            _ => Error::Malformed {
                offset: 0,
                reason: diag!("invalid COSE structure"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_follow_section_6() {
        assert_eq!(
            Error::WrongSelectedSuite {
                suites_r: Suites::new()
            }
            .error_code(),
            Some(2)
        );
        assert_eq!(Error::UnknownCredential.error_code(), Some(3));
        assert_eq!(Error::AuthenticationFailed.error_code(), Some(1));
        assert_eq!(Error::PeerError { code: 1 }.error_code(), None);
    }
}
