//! Entry points of the fuzz targets (`fuzz/fuzz_targets/lwm2m_*.rs`), kept in the crate so
//! that `tests/fuzz_corpus.rs` replays the committed corpus through exactly the same code
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
    let bytes = crate::format::encode(format, base, &records)
        .map_err(|e| format!("{format} at {base}: re-encoding decoded records failed: {e}"))?;
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

/// SenML-CBOR: LwM2M records, composite request bodies and generic packs.
pub fn senml_cbor(data: &[u8]) -> Result<(), String> {
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

/// LwM2M-CBOR, and the single-value CBOR format.
pub fn lwm2m_cbor(data: &[u8]) -> Result<(), String> {
    round_trip(Format::LwM2mCbor, &Path::ROOT, data)?;
    for base in [[3u16, 0, 13].as_slice(), &[3, 0, 0], &[1, 0, 6], &[5, 0, 0]] {
        let base = Path::new(base).map_err(|e| format!("{e}"))?;
        round_trip(Format::Cbor, &base, data)?;
        round_trip(Format::Text, &base, data)?;
    }
    Ok(())
}

/// The DDF XML loader: any text, never a panic.
#[cfg(feature = "std")]
pub fn ddf(data: &[u8]) -> Result<(), String> {
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = crate::ddf::parse(text);
    }
    Ok(())
}
