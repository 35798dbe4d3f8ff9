//! The crate's error type.

/// Everything that can go wrong in `mote-cose`.
///
/// Cryptographic failures are deliberately opaque ([`Error::Crypto`]): a caller learns that the
/// check failed, never which byte or which step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or non-conforming CBOR at a byte offset.
    #[error("CBOR error at offset {offset}: {reason}")]
    Cbor {
        /// Offset of the offending item in the decoded input.
        offset: usize,
        /// What was wrong (empty without the `diagnostics` feature).
        reason: &'static str,
    },
    /// Well-formed CBOR that is not a valid COSE structure.
    #[error("invalid COSE structure: {0}")]
    Structure(&'static str),
    /// A header parameter label occurs twice (RFC 9052 §3: also across the two buckets).
    #[error("duplicate header parameter label")]
    DuplicateLabel,
    /// A header parameter has the wrong type or is in the wrong bucket.
    #[error("invalid header parameter {label}: {reason}")]
    Header {
        /// The label (text labels are reported as 0).
        label: i64,
        /// What was wrong.
        reason: &'static str,
    },
    /// `crit` lists a label this implementation does not understand (RFC 9052 §3.1).
    #[error("unknown critical header parameter")]
    UnknownCritical,
    /// The algorithm is missing, unknown, or not usable for this operation.
    #[error("unsupported or unusable algorithm {0}")]
    Algorithm(i64),
    /// No algorithm was given in the headers or the key.
    #[error("no algorithm")]
    MissingAlgorithm,
    /// The key does not fit the algorithm or operation (type, curve, length, key_ops).
    #[error("key not usable: {0}")]
    Key(&'static str),
    /// An input other than a key has the wrong length (nonce, tag, output).
    #[error("invalid length of {0}")]
    Length(&'static str),
    /// The caller's buffer is too small; `required` is the size that would have been needed
    /// (a lower bound when the encoder stopped early).
    #[error("buffer too small, {required} bytes required")]
    BufferTooSmall {
        /// Bytes needed.
        required: usize,
    },
    /// A cryptographic operation or check failed (authentication, signature, key agreement).
    #[error("cryptographic check failed")]
    Crypto,
    /// The operating system's random generator failed (key generation with feature `std`).
    #[error("the operating system's random generator failed")]
    Random,
}

impl Error {
    /// [`Error::Cbor`]; the text only with the `diagnostics` feature (a device build then
    /// carries none of the CBOR layer's texts).
    #[inline(always)]
    pub(crate) fn cbor(offset: usize, reason: &'static str) -> Self {
        let reason = if cfg!(any(feature = "diagnostics", test)) {
            reason
        } else {
            ""
        };
        Self::Cbor { offset, reason }
    }
}
