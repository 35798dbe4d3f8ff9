//! The content formats and one entry point per direction.

use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use mote_coap::content_format::ContentFormat;

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

    /// The CoAP Content-Format (IANA "CoAP Content-Formats" registry).
    ///
    /// ```
    /// use mote_coap::content_format::ContentFormat;
    /// use mote_lwm2m::Format;
    ///
    /// assert_eq!(Format::Tlv.content_format(), ContentFormat(11542));
    /// assert_eq!(Format::SenmlJson.content_format(), ContentFormat(110));
    /// ```
    pub const fn content_format(self) -> ContentFormat {
        match self {
            Format::Text => ContentFormat::TEXT_PLAIN,
            Format::Opaque => ContentFormat::OCTET_STREAM,
            Format::Cbor => ContentFormat::CBOR,
            Format::SenmlJson => ContentFormat::SENML_JSON,
            Format::SenmlCbor => ContentFormat::SENML_CBOR,
            Format::Tlv => ContentFormat::LWM2M_TLV,
            Format::LwM2mCbor => ContentFormat::LWM2M_CBOR,
        }
    }

    /// The format of a Content-Format; the SenML-ETCH formats 320 and 322 (RFC 8790) map to
    /// SenML-JSON and SenML-CBOR.
    ///
    /// ```
    /// use mote_coap::content_format::ContentFormat;
    /// use mote_lwm2m::Format;
    ///
    /// assert_eq!(Format::from_content_format(ContentFormat(11544)), Some(Format::LwM2mCbor));
    /// assert_eq!(Format::from_content_format(ContentFormat(320)), Some(Format::SenmlJson)); // the LwM2M 1.0 number
    /// assert_eq!(Format::from_content_format(ContentFormat(50)), None);
    /// ```
    pub const fn from_content_format(cf: ContentFormat) -> Option<Format> {
        Some(match cf {
            ContentFormat::TEXT_PLAIN => Format::Text,
            ContentFormat::OCTET_STREAM => Format::Opaque,
            ContentFormat::CBOR => Format::Cbor,
            ContentFormat::SENML_JSON | ContentFormat::SENML_ETCH_JSON => Format::SenmlJson,
            ContentFormat::SENML_CBOR | ContentFormat::SENML_ETCH_CBOR => Format::SenmlCbor,
            ContentFormat::LWM2M_TLV => Format::Tlv,
            ContentFormat::LWM2M_CBOR => Format::LwM2mCbor,
            _ => return None,
        })
    }

    /// The command-line name (`text`, `opaque`, `cbor`, `senml-json`, `senml-cbor`, `tlv`,
    /// `lwm2m-cbor`).
    ///
    /// ```
    /// use mote_lwm2m::Format;
    ///
    /// assert_eq!(Format::SenmlCbor.name(), "senml-cbor");
    /// assert_eq!("senml-cbor".parse::<Format>()?, Format::SenmlCbor);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
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
    ///
    /// ```
    /// use mote_lwm2m::Format;
    ///
    /// assert!(Format::Tlv.is_hierarchical());
    /// assert!(!Format::Text.is_hierarchical());
    /// ```
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
///
/// ```
/// use mote_lwm2m::{Format, Path, Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// let base: Path = "/3/0/9".parse()?;
/// assert_eq!(mote_lwm2m::encode(Format::Text, &base, &records)?, b"100");
/// assert_eq!(mote_lwm2m::encode(Format::Tlv, &base, &records)?, [0xC1, 0x09, 0x64]);
/// // A single-value format needs the record at the request path.
/// assert!(mote_lwm2m::encode(Format::Text, &"/3/0".parse()?, &records).is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode(format: Format, base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    match format {
        Format::Text => crate::single::encode_text(base, records),
        Format::Opaque => crate::single::encode_opaque(base, records),
        Format::Cbor => crate::single::encode_cbor(base, records),
        #[cfg(feature = "senml-json")]
        Format::SenmlJson => crate::senml::json::encode(base, records),
        Format::SenmlCbor => crate::senml::cbor::encode(base, records),
        #[cfg(feature = "tlv")]
        Format::Tlv => crate::tlv::encode(base, records),
        #[cfg(feature = "lwm2m-cbor")]
        Format::LwM2mCbor => crate::lwm2m_cbor::encode(base, records),
        #[allow(unreachable_patterns)]
        f => Err(Error::UnsupportedFormat { format: f.name() }),
    }
}

/// The length of [`encode`]'s output for the same arguments, computed without writing
/// the payload (STYLE: encoders tell their length up front); the same errors as
/// [`encode`].
///
/// ```
/// use mote_lwm2m::{Format, Path, Record, Value};
///
/// let records = [Record::new("/3/0/0".parse()?, Value::String("ACME".into()))];
/// let base: Path = "/3/0".parse()?;
/// for format in [Format::Tlv, Format::SenmlJson, Format::SenmlCbor, Format::LwM2mCbor] {
///     let len = mote_lwm2m::encoded_len(format, &base, &records)?;
///     assert_eq!(len, mote_lwm2m::encode(format, &base, &records)?.len());
/// }
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encoded_len(format: Format, base: &Path, records: &[Record]) -> Result<usize, Error> {
    match format {
        Format::Text | Format::Opaque | Format::Cbor => {
            crate::single::encoded_len(format, base, records)
        }
        #[cfg(feature = "senml-json")]
        Format::SenmlJson => {
            crate::senml::json::encoded_len(base, records, &crate::senml::EncodeOptions::default())
        }
        Format::SenmlCbor => {
            crate::senml::cbor::encoded_len(base, records, &crate::senml::EncodeOptions::default())
        }
        #[cfg(feature = "tlv")]
        Format::Tlv => crate::tlv::encoded_len(base, records),
        #[cfg(feature = "lwm2m-cbor")]
        Format::LwM2mCbor => crate::lwm2m_cbor::encoded_len(
            base,
            records,
            &crate::lwm2m_cbor::EncodeOptions::default(),
        ),
        #[allow(unreachable_patterns)]
        f => Err(Error::UnsupportedFormat { format: f.name() }),
    }
}

/// Decodes a payload in `format` received for a request on `base` into records sorted by
/// path. `defs` gives the types (needed by TLV and text; used by the others to type
/// numbers and check values).
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::{Format, Path, Record, Value};
///
/// let base: Path = "/3/0/9".parse()?;
/// let expected = [Record::new(base, Value::Integer(100))];
/// // Text and TLV take the type (Integer) from the definition of /3/0/9.
/// assert_eq!(mote_lwm2m::decode(Format::Text, &base, b"100", &Builtin)?, expected);
/// assert_eq!(mote_lwm2m::decode(Format::Tlv, &base, &[0xC1, 0x09, 0x64], &Builtin)?, expected);
/// assert!(mote_lwm2m::decode(Format::Text, &base, b"full", &Builtin).is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
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
        #[cfg(feature = "senml-json")]
        Format::SenmlJson => crate::senml::json::decode(bytes, defs),
        Format::SenmlCbor => crate::senml::cbor::decode(bytes, defs),
        #[cfg(feature = "tlv")]
        Format::Tlv => crate::tlv::decode(base, bytes, defs),
        #[cfg(feature = "lwm2m-cbor")]
        Format::LwM2mCbor => crate::lwm2m_cbor::decode_at(base, bytes, defs),
        #[allow(unreachable_patterns)]
        f => Err(Error::UnsupportedFormat { format: f.name() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_formats_round_trip_with_the_registry_numbers() {
        // IANA "CoAP Content-Formats" numbers, written out here (not derived from the code).
        let numbers = [0u16, 42, 60, 110, 112, 11542, 11544];
        for (format, n) in Format::ALL.into_iter().zip(numbers) {
            assert_eq!(format.content_format(), ContentFormat(n), "{format}");
            assert_eq!(Format::from_content_format(ContentFormat(n)), Some(format));
        }
        // RFC 8790 SenML-ETCH maps to the SenML format; LwM2M JSON (11543) is not supported.
        assert_eq!(
            Format::from_content_format(ContentFormat(320)),
            Some(Format::SenmlJson)
        );
        assert_eq!(
            Format::from_content_format(ContentFormat(322)),
            Some(Format::SenmlCbor)
        );
        assert_eq!(Format::from_content_format(ContentFormat(11543)), None);
    }

    #[test]
    fn a_format_answers_only_when_its_feature_is_on() {
        use crate::object::Builtin;
        use crate::value::Value;
        let base: Path = Path::new(&[3, 0, 9]).unwrap_or(Path::ROOT);
        let records = [Record::new(base, Value::Integer(100))];
        let formats = [
            (Format::Tlv, cfg!(feature = "tlv")),
            (Format::SenmlJson, cfg!(feature = "senml-json")),
            (Format::LwM2mCbor, cfg!(feature = "lwm2m-cbor")),
            (Format::SenmlCbor, true),
            (Format::Text, true),
            (Format::Cbor, true),
        ];
        for (format, on) in formats {
            let off = |r: &Result<(), Error>| matches!(r, Err(Error::UnsupportedFormat { .. }));
            let encoded = encode(format, &base, &records);
            assert_eq!(off(&encoded.clone().map(|_| ())), !on, "{format} encode");
            assert_eq!(off(&encoded_len(format, &base, &records).map(|_| ())), !on);
            assert_eq!(off(&decode(format, &base, b"1", &Builtin).map(|_| ())), !on);
            if let Ok(bytes) = encoded {
                assert_eq!(
                    decode(format, &base, &bytes, &Builtin),
                    Ok(records.to_vec())
                );
            }
        }
    }
}
