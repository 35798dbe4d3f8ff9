//! The error type of the crate and its mapping to CoAP error responses (RFC 8613 §7.4,
//! §8.2, §8.4).

use mote_coap::code::Code;
use mote_coap::error::{EncodeError, MessageError};

/// Everything that can go wrong while protecting or verifying an OSCORE message.
///
/// A message that fails any check changes no state: no replay-window update, no
/// sequence-number use (RFC 8613 §7.4, §8.2). [`Error::server_response`] tells which
/// unprotected error response a server sends for a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CoAP message (or the decrypted plaintext) is malformed as CoAP says (RFC 7252 §3,
    /// RFC 8323 §3.2), as mote-coap's decoder reports it.
    #[error("malformed CoAP message: {0}")]
    Message(MessageError),
    /// The CoAP message is well-formed but unfit for OSCORE (a code of the wrong kind, a
    /// repeated Proxy-Uri, Uri-* options beside Proxy-Uri…).
    #[error("malformed CoAP message: {0}")]
    Malformed(&'static str),
    /// A message could not be encoded (an option value or token too long for the format).
    #[error("cannot encode the message: {0}")]
    Encode(EncodeError),
    /// The message carries no OSCORE option, or no payload for the ciphertext.
    #[error("not an OSCORE message: {0}")]
    NotOscore(&'static str),
    /// The OSCORE option or the compressed COSE object failed to decode (RFC 8613 §6.1,
    /// §8.2 step 2).
    #[error("failed to decode COSE: {0}")]
    InvalidOscoreOption(&'static str),
    /// The message to protect already carries an OSCORE option (RFC 8613 §4.1.3.7).
    #[error("nested OSCORE is not supported: the message already carries an OSCORE option")]
    NestedOscore,
    /// No security context for the 'kid' / 'kid context' (RFC 8613 §8.2 step 2).
    #[error("security context not found")]
    ContextNotFound,
    /// The Partial IV was received before, is below the replay window (RFC 8613 §7.4), or the
    /// response or notification was already accepted (§7.4.1).
    #[error("replay detected")]
    Replay,
    /// The replay window was lost (e.g. reboot) and must be re-established with an Echo
    /// exchange (RFC 8613 Appendix B.1.2).
    #[error("replay window not initialized: Echo exchange required")]
    ReplayWindowUninitialized,
    /// The request verified, but a fresh Echo value is required before it may be processed:
    /// the server answers with a protected 4.01 carrying an Echo option (RFC 9175 §2.3,
    /// RFC 8613 Appendix B.1.2).
    #[error("fresh Echo required")]
    EchoRequired,
    /// The AEAD verification failed (RFC 8613 §8.2 step 6, §8.4 step 5). Deliberately opaque.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The response does not fit the request: an inner Observe in the response to a
    /// non-Observe request, or a second response reusing the request nonce (§8.4.2).
    #[error("response does not match the request: {0}")]
    UnexpectedResponse(&'static str),
    /// The Sender Sequence Number reached 2^40 − 1 or the algorithm's limit (RFC 8613 §7.2.1):
    /// this Sender Context must not protect any more messages.
    #[error("sender sequence number exhausted: a new security context is needed")]
    SequenceNumberExhausted,
    /// The sequence-number store failed, so no number may be used (RFC 8613 App. B.1.1).
    #[error("sequence number store failed")]
    Store,
    /// The output buffer is too small; `required` bytes would do.
    #[error("buffer too small: {required} bytes required")]
    BufferTooSmall {
        /// The size that would have been enough.
        required: usize,
    },
    /// The reassembled outer block-wise message exceeds MAX_UNFRAGMENTED_SIZE (RFC 8613
    /// §4.1.3.4.2).
    #[error("message exceeds MAX_UNFRAGMENTED_SIZE ({max} bytes)")]
    TooLarge {
        /// The configured limit.
        max: usize,
    },
    /// An outer block arrived out of order or with inconsistent parameters (RFC 7959 §2.5).
    #[error("outer block-wise transfer: {0}")]
    Block(&'static str),
    /// An algorithm that OSCORE cannot use with this crate.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(i64),
    /// A parameter is outside what RFC 8613 allows (ID lengths, Partial IV, window size…).
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
}

/// The text of an error's `&'static str` field: kept with the `diagnostics` feature (and in
/// the crate's unit tests), empty without it, so that a device build carries none of them.
#[inline(always)]
pub(crate) const fn reason(text: &'static str) -> &'static str {
    if cfg!(any(feature = "diagnostics", test)) {
        text
    } else {
        ""
    }
}

/// An unprotected error response a server sends when OSCORE verification of a request fails
/// (RFC 8613 §8.2, §7.4). Such responses carry Outer Max-Age 0 (§4.1.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The response code (4.00, 4.01 or 4.02).
    pub code: Code,
    /// The diagnostic payload the spec suggests.
    pub diagnostic: &'static str,
}

impl Error {
    /// The unprotected response for a request that failed with this error, or `None` when
    /// the server sends nothing unprotected (the error is for a response, or the request
    /// verified and the server answers with a protected message instead).
    ///
    /// | error | code | diagnostic | spec |
    /// |---|---|---|---|
    /// | decode failures | 4.02 Bad Option | "Failed to decode COSE" | §8.2 step 2 |
    /// | unknown kid / kid context | 4.01 Unauthorized | "Security context not found" | §8.2 step 2 |
    /// | replay | 4.01 Unauthorized | "Replay detected" | §7.4 |
    /// | AEAD failure | 4.00 Bad Request | "Decryption failed" | §8.2 step 6 |
    ///
    /// ```
    /// use mote_coap::code::Code;
    /// use mote_oscore::Error;
    /// let response = Error::Replay.server_response().ok_or(Error::Replay)?;
    /// assert_eq!((response.code, response.diagnostic), (Code::UNAUTHORIZED, "Replay detected"));
    /// assert_eq!(Error::DecryptionFailed.server_response().map(|r| r.code), Some(Code::BAD_REQUEST));
    /// // A response that fails to verify is not answered.
    /// assert_eq!(Error::SequenceNumberExhausted.server_response(), None);
    /// # Ok::<(), mote_oscore::Error>(())
    /// ```
    pub fn server_response(&self) -> Option<ErrorResponse> {
        let (code, diagnostic) = match self {
            Self::InvalidOscoreOption(_) | Self::NotOscore(_) => {
                (Code::BAD_OPTION, "Failed to decode COSE")
            }
            Self::ContextNotFound => (Code::UNAUTHORIZED, "Security context not found"),
            Self::Replay => (Code::UNAUTHORIZED, "Replay detected"),
            Self::DecryptionFailed => (Code::BAD_REQUEST, "Decryption failed"),
            _ => return None,
        };
        Some(ErrorResponse { code, diagnostic })
    }
}

impl From<MessageError> for Error {
    fn from(e: MessageError) -> Self {
        Self::Message(e)
    }
}

impl From<EncodeError> for Error {
    /// A short buffer keeps its own variant, with the size that would do.
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::BufferTooSmall { required } => Self::BufferTooSmall { required },
            e => Self::Encode(e),
        }
    }
}
