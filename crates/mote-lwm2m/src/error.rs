//! The crate's error type.

use crate::path::Path;
use crate::value::ResourceType;

/// Everything that can go wrong in this crate. Decoders say which format and at which byte
/// offset; type checks say which path and which type was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An identifier had the reserved value 65535 (LwM2M TS Core §7.1).
    #[error("identifier 65535 is reserved")]
    ReservedId,
    /// A path was not `/`, `/O`, `/O/I`, `/O/I/R` or `/O/I/R/RI` with decimal IDs below 65535.
    #[error("invalid LwM2M path")]
    InvalidPath,
    /// A value's text or binary representation is not valid for its type (Appendix C).
    #[error("invalid value representation")]
    InvalidValue,
    /// The payload ended before a complete item.
    #[error("{format}: payload truncated at byte {offset}")]
    Truncated {
        /// Data format name.
        format: &'static str,
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// The payload is not well-formed in its data format.
    #[error("{format}: malformed at byte {offset}: {reason}")]
    Malformed {
        /// Data format name.
        format: &'static str,
        /// Byte offset of the offending item.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A value does not match the type its resource is defined with.
    #[error("value of {path} is not a valid {expected}")]
    Type {
        /// The resource (instance) path.
        path: Path,
        /// The type from the object definition.
        expected: ResourceType,
    },
    /// A path is not acceptable at this place (wrong level, outside the request path,
    /// duplicated, …).
    #[error("path {path}: {reason}")]
    Path {
        /// The offending path.
        path: Path,
        /// What was wrong.
        reason: &'static str,
    },
    /// The data cannot be represented in the requested format.
    #[error("{format} cannot represent this data: {reason}")]
    Unrepresentable {
        /// Data format name.
        format: &'static str,
        /// Why not.
        reason: &'static str,
    },
    /// The data format is not built into this configuration (its Cargo feature, e.g.
    /// `senml-json`, `tlv` or `lwm2m-cbor`, is off).
    #[error("{format}: format not enabled in this build")]
    UnsupportedFormat {
        /// Data format name.
        format: &'static str,
    },
    /// An object definition (DDF XML) is invalid.
    #[error("object definition, line {line}: {reason}")]
    Definition {
        /// 1-based line in the XML document (0 when not known).
        line: u32,
        /// What was wrong.
        reason: &'static str,
    },
    /// A link-format payload or a notification attribute is invalid (LwM2M TS Core §5.1.2,
    /// RFC 6690).
    #[error("link format: {reason}")]
    Link {
        /// What was wrong.
        reason: &'static str,
    },
}
