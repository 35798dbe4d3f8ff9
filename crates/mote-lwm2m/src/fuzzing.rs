//! Entry points of the fuzz targets (`fuzz/fuzz_targets/lwm2m_*.rs`), kept in the crate so
//! that `workspace-tests/tests/fuzz_corpus_lwm2m.rs` replays the committed corpus through exactly the same code
//! on stable Rust. Each function decodes arbitrary bytes (which must never panic) and,
//! when decoding succeeds, checks the round trip decode → encode → decode; a broken round
//! trip is returned as `Err` (the fuzz target turns it into a crash).

use alloc::format;
use alloc::string::String;

use crate::data::Record;
use crate::format::Format;
use crate::object::Builtin;
use crate::path::Path;
use crate::value::Value;

/// Equality that treats every NaN as equal to every NaN (a NaN float may change payload
/// bits across precisions).
fn same(a: &[Record], b: &[Record]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.path == y.path
                && x.time.map(f64::to_bits) == y.time.map(f64::to_bits)
                && match (&x.value, &y.value) {
                    (Value::Float(p), Value::Float(q)) => p == q || (p.is_nan() && q.is_nan()),
                    // JSON has one number type: an integral Float of an unknown resource is
                    // written as an integer and read back as Integer (typed resources keep
                    // their type through the object definitions).
                    (Value::Float(f), Value::Integer(i)) | (Value::Integer(i), Value::Float(f)) => {
                        *i as f64 == *f
                    }
                    (Value::Float(f), Value::UnsignedInteger(u))
                    | (Value::UnsignedInteger(u), Value::Float(f)) => *u as f64 == *f,
                    (p, q) => p == q,
                }
        })
}

fn round_trip(format: Format, base: &Path, data: &[u8]) -> Result<(), String> {
    let Ok(records) = crate::format::decode(format, base, data, &Builtin) else {
        return Ok(());
    };
    // Self-describing formats may carry paths outside the request path (the decoders
    // leave that check to the caller); the encoders refuse them.
    if !records.iter().all(|r| r.path.starts_with(base)) {
        return Ok(());
    }
    let bytes = crate::format::encode(format, base, &records)
        .map_err(|e| format!("{format} at {base}: re-encoding decoded records failed: {e}"))?;
    if crate::format::encoded_len(format, base, &records) != Ok(bytes.len()) {
        return Err(format!(
            "{format} at {base}: encoded_len is not the encoded length"
        ));
    }
    let again = crate::format::decode(format, base, &bytes, &Builtin)
        .map_err(|e| format!("{format} at {base}: decoding our own encoding failed: {e}"))?;
    if !same(&records, &again) {
        return Err(format!(
            "{format} at {base}: round trip changed the records"
        ));
    }
    Ok(())
}

/// OMA-TLV at every request-path level.
/// ```
/// use mote_lwm2m::fuzzing::tlv;
/// use mote_lwm2m::{Format, Path, Value, decode, object::Builtin};
/// // /3/0/0 (Manufacturer) as a Resource TLV: type 0xc4 (8-bit ID, 3-bit length 4), ID 0.
/// let payload = b"\xc4\x00Mote";
/// let records = decode(Format::Tlv, &"/3/0".parse::<Path>()?, payload, &Builtin)?;
/// assert_eq!(records[0].value, Value::String("Mote".into()));
/// tlv(payload)?; // decodes and round-trips at every level
/// tlv(&[0xff; 7])?; // garbage: refused by the decoder, no panic, nothing to round-trip
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn tlv(data: &[u8]) -> Result<(), String> {
    for base in [
        [3u16].as_slice(),
        &[3, 0],
        &[3, 0, 7],
        &[3, 0, 7, 1],
        &[1, 0],
        &[66],
    ] {
        let base = Path::new(base).map_err(|e| format!("{e}"))?;
        round_trip(Format::Tlv, &base, data)?;
    }
    Ok(())
}

/// SenML-JSON: LwM2M records, composite request bodies and generic packs.
/// ```
/// use mote_lwm2m::fuzzing::senml_json;
/// senml_json(br#"[{"bn":"/3/0/","n":"0","vs":"Mote"}]"#)?; // a Read response
/// senml_json(br#"[{"n":"/3/0/0"},{"n":"/1/0/1"}]"#)?; // a Read-Composite request body
/// senml_json(b"[{")?; // truncated: no panic
/// # Ok::<(), String>(())
/// ```
pub fn senml_json(data: &[u8]) -> Result<(), String> {
    round_trip(Format::SenmlJson, &Path::ROOT, data)?;
    if let Ok(paths) = crate::senml::json::decode_paths(data) {
        let again = crate::senml::json::decode_paths(&crate::senml::json::encode_paths(&paths));
        if again.as_ref() != Ok(&paths) {
            return Err(String::from(
                "SenML-JSON: composite request round trip changed the paths",
            ));
        }
    }
    if let Ok(pack) = crate::senml::json::parse_pack(data) {
        if let Ok(out) = crate::senml::json::write_pack(&pack) {
            let again = crate::senml::json::parse_pack(&out)
                .map_err(|e| format!("SenML-JSON: own pack unreadable: {e}"))?;
            if crate::senml::json::write_pack(&again).ok().as_ref() != Some(&out) {
                return Err(String::from("SenML-JSON: pack round trip is not stable"));
            }
        }
    }
    Ok(())
}

/// SenML-CBOR's two decoding paths agree: whatever the direct reader accepts, the general
/// path accepts too, with the same records. (The other way round, see
/// [`senml_cbor_direct_takes_what_general_takes`].)
/// ```
/// use mote_lwm2m::fuzzing::{senml_cbor_decode_general, senml_cbor_paths_agree};
/// // [{-2 (bn): "/3/0/", 0 (n): "0", 3 (vs): "Mote"}] (RFC 8428 §6 labels)
/// let pack = b"\x81\xa3\x21\x65/3/0/\x00\x610\x03\x64Mote";
/// senml_cbor_paths_agree(pack)?;
/// assert_eq!(senml_cbor_decode_general(pack).map_err(|e| e.to_string())?.len(), 1);
/// # Ok::<(), String>(())
/// ```
pub fn senml_cbor_paths_agree(data: &[u8]) -> Result<(), String> {
    if let Some(fast) = crate::senml::cbor::decode_fast(data, &Builtin) {
        match crate::senml::cbor::decode_general(data, &Builtin) {
            Ok(general) if same(&fast, &general) => {}
            Ok(_) => return Err(String::from("SenML-CBOR: fast and general paths differ")),
            Err(e) => {
                return Err(format!(
                    "SenML-CBOR: fast path accepted what the general path rejects: {e}"
                ));
            }
        }
    }
    Ok(())
}

/// Whatever the general SenML-CBOR path accepts, the direct reader accepts too (a device
/// build without `cbor-diagnostics` has only the direct reader). For well-formed payloads
/// (the property test's): in a value it skips, `minicbor` also takes some malformed items
/// (an indefinite map with an odd number of items) that the direct reader refuses, so
/// arbitrary fuzz input would report those.
/// ```
/// use mote_lwm2m::fuzzing::senml_cbor_direct_takes_what_general_takes;
/// // [_ {_ -2: (_ "/3/0/"), 0: "0", 3: "Mote"}]: indefinite array, map and string.
/// senml_cbor_direct_takes_what_general_takes(b"\x9f\xbf\x21\x7f\x65/3/0/\xff\x00\x610\x03\x64Mote\xff\xff")?;
/// # Ok::<(), String>(())
/// ```
pub fn senml_cbor_direct_takes_what_general_takes(data: &[u8]) -> Result<(), String> {
    if crate::senml::cbor::decode_general(data, &Builtin).is_ok()
        && crate::senml::cbor::decode_fast(data, &Builtin).is_none()
    {
        return Err(String::from(
            "SenML-CBOR: the direct reader declined what the general path accepts",
        ));
    }
    Ok(())
}

/// The single-value CBOR format's two readers agree: the direct one reads an item exactly
/// when the `minicbor` one does, to the same value.
/// ```
/// use mote_lwm2m::fuzzing::cbor_readers_agree;
/// cbor_readers_agree(b"\xc1\x1a\x65\x53\xf1\x00")?; // 1(1700000000), epoch time
/// cbor_readers_agree(b"\x7f\x62ab\x61c\xff")?; // (_ "ab", "c")
/// cbor_readers_agree(b"\xc1")?; // truncated
/// # Ok::<(), String>(())
/// ```
pub fn cbor_readers_agree(data: &[u8]) -> Result<(), String> {
    let mut c = crate::cbor_util::Cursor::new(data);
    let direct = crate::lwm2m_cbor::read_value_direct(&mut c).filter(|_| c.at_end());
    let mut d = minicbor::Decoder::new(data);
    let general = crate::lwm2m_cbor::read_value("CBOR", &mut d)
        .ok()
        .filter(|_| d.position() == data.len());
    // Debug text: a NaN reads as the same NaN on both sides and prints alike.
    if format!("{direct:?}") != format!("{general:?}") {
        return Err(format!(
            "CBOR: the readers differ: direct {direct:?}, general {general:?}"
        ));
    }
    Ok(())
}

/// The general (`minicbor`-based) SenML-CBOR decoder alone, without the fast path, for
/// the benchmark that shows what the fast path saves.
/// ```
/// use mote_lwm2m::fuzzing::senml_cbor_decode_general;
/// use mote_lwm2m::{Path, Value};
/// // [{-2 (bn): "/3/0/", 0 (n): "0", 3 (vs): "Mote"}] (RFC 8428 §6 labels)
/// let pack = b"\x81\xa3\x21\x65/3/0/\x00\x610\x03\x64Mote";
/// let records = senml_cbor_decode_general(pack)?;
/// assert_eq!(records.len(), 1);
/// assert_eq!(records[0].path, "/3/0/0".parse::<Path>()?);
/// assert_eq!(records[0].value, Value::String("Mote".into()));
/// assert!(senml_cbor_decode_general(&pack[..pack.len() - 1]).is_err()); // truncated
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn senml_cbor_decode_general(data: &[u8]) -> Result<alloc::vec::Vec<Record>, crate::Error> {
    crate::senml::cbor::decode_general(data, &Builtin)
}

/// SenML-CBOR: LwM2M records, composite request bodies and generic packs.
/// ```
/// use mote_lwm2m::fuzzing::senml_cbor;
/// // [{-2 (bn): "/3/0/", 0 (n): "0", 3 (vs): "Mote"}] (RFC 8428 §6 labels)
/// let pack = b"\x81\xa3\x21\x65/3/0/\x00\x610\x03\x64Mote";
/// senml_cbor(pack)?;
/// senml_cbor(&pack[..5])?; // truncated: no panic
/// # Ok::<(), String>(())
/// ```
pub fn senml_cbor(data: &[u8]) -> Result<(), String> {
    senml_cbor_paths_agree(data)?;
    round_trip(Format::SenmlCbor, &Path::ROOT, data)?;
    if let Ok(paths) = crate::senml::cbor::decode_paths(data) {
        let again = crate::senml::cbor::decode_paths(&crate::senml::cbor::encode_paths(&paths));
        if again.as_ref() != Ok(&paths) {
            return Err(String::from(
                "SenML-CBOR: composite request round trip changed the paths",
            ));
        }
    }
    if let Ok(pack) = crate::senml::cbor::parse_pack(data) {
        let out = crate::senml::cbor::write_pack(&pack);
        let again = crate::senml::cbor::parse_pack(&out)
            .map_err(|e| format!("SenML-CBOR: own pack unreadable: {e}"))?;
        if crate::senml::cbor::write_pack(&again) != out {
            return Err(String::from("SenML-CBOR: pack round trip is not stable"));
        }
    }
    Ok(())
}

/// LwM2M-CBOR in every key style and map length, and the single-value CBOR format.
/// ```
/// use mote_lwm2m::fuzzing::lwm2m_cbor;
/// use mote_lwm2m::{Path, Value, object::Builtin};
/// // {3: {0: {0: "Mote"}}}: /3/0/0 in nested LwM2M-CBOR (LwM2M TS Core §7.4.7).
/// let payload = b"\xa1\x03\xa1\x00\xa1\x00\x64Mote";
/// let records = mote_lwm2m::lwm2m_cbor::decode(payload, &Builtin)?;
/// assert_eq!(records[0].path, "/3/0/0".parse::<Path>()?);
/// assert_eq!(records[0].value, Value::String("Mote".into()));
/// lwm2m_cbor(payload)?; // re-encoded in every key style, read back the same
/// lwm2m_cbor(b"\xa1\x03")?; // truncated: no panic
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn lwm2m_cbor(data: &[u8]) -> Result<(), String> {
    use crate::lwm2m_cbor::{EncodeOptions, KeyStyle, encode_with, encoded_len};
    cbor_readers_agree(data)?;
    round_trip(Format::LwM2mCbor, &Path::ROOT, data)?;
    if let Ok(records) = crate::lwm2m_cbor::decode(data, &Builtin) {
        for keys in [KeyStyle::Compact, KeyStyle::Nested, KeyStyle::Flat] {
            for indefinite in [false, true] {
                let opts = EncodeOptions { keys, indefinite };
                let bytes = encode_with(&Path::ROOT, &records, &opts)
                    .map_err(|e| format!("LwM2M-CBOR {opts:?}: re-encoding failed: {e}"))?;
                if encoded_len(&Path::ROOT, &records, &opts) != Ok(bytes.len()) {
                    return Err(format!("LwM2M-CBOR {opts:?}: encoded_len is wrong"));
                }
                let again = crate::lwm2m_cbor::decode(&bytes, &Builtin)
                    .map_err(|e| format!("LwM2M-CBOR {opts:?}: own payload unreadable: {e}"))?;
                if !same(&records, &again) {
                    return Err(format!(
                        "LwM2M-CBOR {opts:?}: round trip changed the records"
                    ));
                }
            }
        }
    }
    // Write/Create payloads relative to a request path.
    for base in [[3u16, 0].as_slice(), &[3, 0, 6], &[1]] {
        let base = Path::new(base).map_err(|e| format!("{e}"))?;
        round_trip(Format::LwM2mCbor, &base, data)?;
    }
    for base in [[3u16, 0, 13].as_slice(), &[3, 0, 0], &[1, 0, 6], &[5, 0, 0]] {
        let base = Path::new(base).map_err(|e| format!("{e}"))?;
        round_trip(Format::Cbor, &base, data)?;
        round_trip(Format::Text, &base, data)?;
    }
    Ok(())
}

/// The DDF XML loader: any text, never a panic.
/// ```
/// use mote_lwm2m::fuzzing::ddf;
/// ddf(b"<LWM2M><Object><ObjectID>3</ObjectID></Object></LWM2M>")?;
/// ddf(b"<LWM2M><Object")?; // truncated XML
/// ddf(&[0xff, 0xfe])?; // not UTF-8
/// # Ok::<(), String>(())
/// ```
#[cfg(feature = "std")]
pub fn ddf(data: &[u8]) -> Result<(), String> {
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = crate::ddf::parse(text);
    }
    Ok(())
}

/// LwM2M link-format payloads (Register, Discover, Bootstrap-Discover) and
/// Write-Attributes queries: never a panic, and what the writer produces reads back to
/// the same text.
/// ```
/// use mote_lwm2m::fuzzing::link;
/// // A Register payload: two links parse, and what the writer makes of them reads back.
/// assert_eq!(mote_lwm2m::link::parse("</1/0>,</3/0>", "/")?.len(), 2);
/// link(b"</1/0>,</3/0>")?;
/// link(b"pmin=10&pmax=60")?; // a Write-Attributes query
/// link(b"</1/0")?; // unterminated: no panic
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn link(data: &[u8]) -> Result<(), String> {
    let Ok(text) = core::str::from_utf8(data) else {
        return Ok(());
    };
    for root in ["/", "/lwm2m"] {
        let Ok(links) = crate::link::parse(text, root) else {
            continue;
        };
        let Ok(out) = crate::link::write(&links, root) else {
            continue;
        };
        let again = crate::link::parse(&out, root)
            .map_err(|e| format!("link format: own output {out:?} unreadable: {e}"))?;
        if crate::link::write(&again, root).ok().as_deref() != Some(out.as_str()) {
            return Err(format!("link format: {out:?} is not stable"));
        }
    }
    let mut attrs = crate::attributes::NotificationAttributes::default();
    if attrs.apply_query(text).is_ok() {
        let query = attrs.to_query();
        let mut again = crate::attributes::NotificationAttributes::default();
        again
            .apply_query(&query)
            .map_err(|e| format!("Write-Attributes: own query {query:?} refused: {e}"))?;
        if again.to_query() != query {
            return Err(format!("Write-Attributes: {query:?} is not stable"));
        }
    }
    Ok(())
}
