//! Single-value formats for one Resource or Resource Instance: plain text (content format
//! 0, LwM2M TS Core 1.2 §7.4.1), opaque (42, §7.4.2) and CBOR (60, §7.4.3 "CBOR").

use alloc::vec::Vec;

use crate::cbor_util::Cursor;

use crate::data::Record;
use crate::error::Error;
use crate::object::ObjectDefs;
use crate::path::Path;
use crate::value::{ResourceType, Value};

/// The one record of a single-value payload: its path must be the request path, which
/// must name a resource or resource instance.
fn the_one<'r>(
    format: &'static str,
    base: &Path,
    records: &'r [Record],
) -> Result<&'r Record, Error> {
    match records {
        [r] if r.path == *base && base.len() >= 3 => Ok(r),
        _ => Err(Error::Unrepresentable {
            format,
            reason: "exactly one value at the request path (a resource or resource instance) is needed",
        }),
    }
}

fn check_base(base: &Path) -> Result<(), Error> {
    if base.len() < 3 {
        return Err(Error::Path {
            path: *base,
            reason: "a single value needs a resource or resource instance path",
        });
    }
    Ok(())
}

/// Plain text: the value's text representation (Appendix C).
///
/// ```
/// use mote_lwm2m::single::encode_text;
/// use mote_lwm2m::{Record, Value};
///
/// let battery = "/3/0/9".parse()?;
/// assert_eq!(encode_text(&battery, &[Record::new(battery, Value::Integer(100))])?, b"100");
/// assert!(encode_text(&battery, &[]).is_err()); // exactly one record
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_text(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    Ok(the_one("text", base, records)?.value.to_text().into_bytes())
}

/// Plain text: parses the payload as the type of the resource at `base` (String when the
/// resource is unknown).
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::single::decode_text;
/// use mote_lwm2m::Value;
///
/// let records = decode_text(&"/3/0/13".parse()?, b"1700000000", &Builtin)?;
/// assert_eq!(records[0].value, Value::Time(1_700_000_000));
/// assert!(decode_text(&"/3/0/9".parse()?, b"ten", &Builtin).is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode_text(
    base: &Path,
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    check_base(base)?;
    let s = core::str::from_utf8(bytes).map_err(|e| Error::Malformed {
        format: "text",
        offset: e.valid_up_to(),
        reason: "not UTF-8",
    })?;
    let ty = match defs.resource_at(base).map(|d| d.kind) {
        None | Some(ResourceType::None) => ResourceType::String,
        Some(t) => t,
    };
    let v = Value::from_text(ty, s).map_err(|_| Error::Type {
        path: *base,
        expected: ty,
    })?;
    Ok(alloc::vec![Record::new(*base, v)])
}

/// Opaque: the raw bytes of an Opaque value.
///
/// ```
/// use mote_lwm2m::single::encode_opaque;
/// use mote_lwm2m::{Record, Value};
///
/// let package = "/5/0/0".parse()?;
/// let records = [Record::new(package, Value::Opaque(vec![0xCA, 0xFE]))];
/// assert_eq!(encode_opaque(&package, &records)?, [0xCA, 0xFE]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_opaque(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    match &the_one("opaque", base, records)?.value {
        Value::Opaque(o) => Ok(o.clone()),
        _ => Err(Error::Unrepresentable {
            format: "opaque",
            reason: "only Opaque values",
        }),
    }
}

/// Opaque: the payload as an Opaque value (refused for a resource of another type).
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::single::decode_opaque;
/// use mote_lwm2m::Value;
///
/// // Firmware Update Package (/5/0/0) is Opaque; Battery Level (/3/0/9) is not.
/// let records = decode_opaque(&"/5/0/0".parse()?, &[0xCA, 0xFE], &Builtin)?;
/// assert_eq!(records[0].value, Value::Opaque(vec![0xCA, 0xFE]));
/// assert!(decode_opaque(&"/3/0/9".parse()?, &[0x64], &Builtin).is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode_opaque(
    base: &Path,
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    check_base(base)?;
    if let Some(d) = defs.resource_at(base) {
        if !matches!(d.kind, ResourceType::Opaque | ResourceType::None) {
            return Err(Error::Type {
                path: *base,
                expected: d.kind,
            });
        }
    }
    Ok(alloc::vec![Record::new(
        *base,
        Value::Opaque(bytes.to_vec())
    )])
}

/// CBOR: one data item (Appendix C: integers, floats in the shortest precision, text,
/// bytes, booleans, Objlnk as `"O:I"` text).
///
/// ```
/// use mote_lwm2m::single::encode_cbor;
/// use mote_lwm2m::{Record, Value};
///
/// let battery = "/3/0/9".parse()?;
/// assert_eq!(encode_cbor(&battery, &[Record::new(battery, Value::Integer(100))])?, [0x18, 0x64]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_cbor(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    let r = the_one("CBOR", base, records)?;
    let mut buf = Vec::new();
    crate::lwm2m_cbor::write_value(&mut buf, &r.value);
    Ok(buf)
}

/// The length of the single-value encodings (text, opaque, CBOR) of `records` on `base`,
/// computed without writing the payload (text formats the one value into a temporary
/// string).
pub(crate) fn encoded_len(
    format: crate::format::Format,
    base: &Path,
    records: &[Record],
) -> Result<usize, Error> {
    use crate::format::Format;
    match format {
        Format::Text => Ok(the_one("text", base, records)?.value.to_text().len()),
        Format::Opaque => match &the_one("opaque", base, records)?.value {
            Value::Opaque(o) => Ok(o.len()),
            _ => Err(Error::Unrepresentable {
                format: "opaque",
                reason: "only Opaque values",
            }),
        },
        _ => {
            let r = the_one("CBOR", base, records)?;
            let mut n = crate::cbor_util::Counter::default();
            crate::lwm2m_cbor::write_value(&mut n, &r.value);
            Ok(n.0)
        }
    }
}

/// CBOR: one data item, typed with the definition at `base` (untyped when unknown; time
/// may be tag 1 around a number).
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::single::decode_cbor;
/// use mote_lwm2m::Value;
///
/// assert_eq!(decode_cbor(&"/3/0/9".parse()?, &[0x18, 0x64], &Builtin)?[0].value, Value::Integer(100));
/// assert!(decode_cbor(&"/3/0/9".parse()?, &[0x18, 0x64, 0x00], &Builtin).is_err()); // trailing data
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode_cbor(
    base: &Path,
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    check_base(base)?;
    // The direct reader first; what it declines, the `minicbor` one reads for the exact
    // error (feature `cbor-diagnostics`), as SenML-CBOR does.
    let mut c = Cursor::new(bytes);
    let raw = match crate::lwm2m_cbor::read_value_direct(&mut c) {
        Some(raw) if c.at_end() => raw,
        #[cfg(feature = "cbor-diagnostics")]
        _ => read_value_general(bytes)?,
        #[cfg(not(feature = "cbor-diagnostics"))]
        _ => return Err(c.error("CBOR")),
    };
    let v = crate::senml::typed(base, raw, defs)?;
    Ok(alloc::vec![Record::new(*base, v)])
}

/// The one item of a CBOR payload over `minicbor`, with its exact error.
#[cfg(feature = "cbor-diagnostics")]
fn read_value_general(bytes: &[u8]) -> Result<crate::senml::SenmlValue<'_>, Error> {
    let mut d = minicbor::Decoder::new(bytes);
    let raw = crate::lwm2m_cbor::read_value("CBOR", &mut d)?;
    if d.position() != bytes.len() {
        return Err(Error::Malformed {
            format: "CBOR",
            offset: d.position(),
            reason: "trailing data after the item",
        });
    }
    Ok(raw)
}
