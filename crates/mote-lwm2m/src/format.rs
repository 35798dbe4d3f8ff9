//! The content formats and one entry point per direction.

use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use crate::data::Record;
use crate::error::Error;
use crate::object::ObjectDefs;
use crate::path::Path;

/// A data format for resource values (LwM2M TS Core 1.2 §7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `text/plain`, content format 0.
    Text,
    /// `application/octet-stream`, 42.
    Opaque,
    /// `application/cbor`, 60.
    Cbor,
    /// `application/senml+json`, 110.
    SenmlJson,
    /// `application/senml+cbor`, 112.
    SenmlCbor,
    /// `application/vnd.oma.lwm2m+tlv`, 11542.
    Tlv,
    /// `application/vnd.oma.lwm2m+cbor`, 11544.
    LwM2mCbor,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 7] = [
        Format::Text,
        Format::Opaque,
        Format::Cbor,
        Format::SenmlJson,
        Format::SenmlCbor,
        Format::Tlv,
        Format::LwM2mCbor,
    ];

    /// The CoAP Content-Format number (IANA "CoAP Content-Formats" registry).
    pub const fn content_format(self) -> u16 {
        match self {
            Format::Text => 0,
            Format::Opaque => 42,
            Format::Cbor => 60,
            Format::SenmlJson => 110,
            Format::SenmlCbor => 112,
            Format::Tlv => 11542,
            Format::LwM2mCbor => 11544,
        }
    }

    /// The format of a Content-Format number; the SenML-ETCH numbers 320 and 322
    /// (RFC 8790) map to SenML-JSON and SenML-CBOR.
    pub const fn from_content_format(n: u16) -> Option<Format> {
        Some(match n {
            0 => Format::Text,
            42 => Format::Opaque,
            60 => Format::Cbor,
            110 | 320 => Format::SenmlJson,
            112 | 322 => Format::SenmlCbor,
            11542 => Format::Tlv,
            11544 => Format::LwM2mCbor,
            _ => return None,
        })
    }

    /// The command-line name (`text`, `opaque`, `cbor`, `senml-json`, `senml-cbor`, `tlv`,
    /// `lwm2m-cbor`).
    pub const fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Opaque => "opaque",
            Format::Cbor => "cbor",
            Format::SenmlJson => "senml-json",
            Format::SenmlCbor => "senml-cbor",
            Format::Tlv => "tlv",
            Format::LwM2mCbor => "lwm2m-cbor",
        }
    }

    /// Whether the format carries many values with their paths (TLV, SenML, LwM2M-CBOR).
    pub const fn is_hierarchical(self) -> bool {
        matches!(
            self,
            Format::Tlv | Format::SenmlJson | Format::SenmlCbor | Format::LwM2mCbor
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format, Error> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or(Error::InvalidValue)
    }
}

/// Encodes `records` in `format` as the payload for a request on `base` (the records'
/// paths must lie under it). Single-value formats need exactly one record at `base`.
pub fn encode(format: Format, base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    match format {
        Format::Text => crate::single::encode_text(base, records),
        Format::Opaque => crate::single::encode_opaque(base, records),
        Format::Cbor => crate::single::encode_cbor(base, records),
        Format::SenmlJson => crate::senml::json::encode(base, records),
        Format::SenmlCbor => crate::senml::cbor::encode(base, records),
        Format::Tlv => crate::tlv::encode(base, records),
        Format::LwM2mCbor => crate::lwm2m_cbor::encode(base, records),
    }
}

/// The length of [`encode`]'s output for the same arguments, computed without writing
/// the payload (STYLE: encoders tell their length up front); the same errors as
/// [`encode`].
pub fn encoded_len(format: Format, base: &Path, records: &[Record]) -> Result<usize, Error> {
    match format {
        Format::Text | Format::Opaque | Format::Cbor => {
            crate::single::encoded_len(format, base, records)
        }
        Format::SenmlJson => {
            crate::senml::json::encoded_len(base, records, &crate::senml::EncodeOptions::default())
        }
        Format::SenmlCbor => {
            crate::senml::cbor::encoded_len(base, records, &crate::senml::EncodeOptions::default())
        }
        Format::Tlv => crate::tlv::encoded_len(base, records),
        Format::LwM2mCbor => crate::lwm2m_cbor::encoded_len(
            base,
            records,
            &crate::lwm2m_cbor::EncodeOptions::default(),
        ),
    }
}

/// Decodes a payload in `format` received for a request on `base` into records sorted by
/// path. `defs` gives the types (needed by TLV and text; used by the others to type
/// numbers and check values).
pub fn decode(
    format: Format,
    base: &Path,
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    match format {
        Format::Text => crate::single::decode_text(base, bytes, defs),
        Format::Opaque => crate::single::decode_opaque(base, bytes, defs),
        Format::Cbor => crate::single::decode_cbor(base, bytes, defs),
        Format::SenmlJson => crate::senml::json::decode(bytes, defs),
        Format::SenmlCbor => crate::senml::cbor::decode(bytes, defs),
        Format::Tlv => crate::tlv::decode(base, bytes, defs),
        Format::LwM2mCbor => crate::lwm2m_cbor::decode_at(base, bytes, defs),
    }
}
