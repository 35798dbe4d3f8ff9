//! SenML-CBOR (content format 112; RFC 8428 §6, LwM2M TS Core 1.2 §7.4.5).
//!
//! Integer labels: `bn` -2, `bt` -3, `n` 0, `v` 2, `vs` 3, `vb` 4, `t` 6, `vd` 8 (byte
//! string); the Object Link value uses the text key `"vlo"` (TS §7.4.5). `bver` -1, `bu`
//! -4, `bv` -5, `bs` -6, `u` 1, `s` 5, `ut` 7 are accepted and ignored, as are unknown
//! labels other than text labels ending in `_` (RFC 8428 §4.4). Arrays and maps may be
//! definite or indefinite. Floats are written in the shortest precision that keeps the
//! value (half, single or double; RFC 8949 §4.2.2).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use minicbor::data::Type;
use minicbor::encode::Write;
use minicbor::{Decoder, Encoder};

use super::{
    EncodeOptions, Label, Number, Pack, Resolved, Resolver, SenmlRecord, SenmlValue,
    for_each_senml, paths_pack, resolve, sort_if_needed, to_paths, to_record,
};
use crate::cbor_util::{Counter, Cursor, Num, at_break, cbor_err, malformed, number, put_float};
use crate::data::Record;
use crate::error::Error;
use crate::object::ObjectDefs;
use crate::path::Path;

const FORMAT: &str = "SenML-CBOR";

/// RFC 8428 §6 Table 4.
mod label {
    pub(super) const BVER: i64 = -1;
    pub(super) const BN: i64 = -2;
    pub(super) const BT: i64 = -3;
    pub(super) const BU: i64 = -4;
    pub(super) const BV: i64 = -5;
    pub(super) const BS: i64 = -6;
    pub(super) const N: i64 = 0;
    pub(super) const U: i64 = 1;
    pub(super) const V: i64 = 2;
    pub(super) const VS: i64 = 3;
    pub(super) const VB: i64 = 4;
    pub(super) const S: i64 = 5;
    pub(super) const T: i64 = 6;
    pub(super) const UT: i64 = 7;
    pub(super) const VD: i64 = 8;
    /// Not a label number: the text label `"vlo"` (TS §7.4.5), for the fast path's
    /// bookkeeping.
    pub(super) const VLO: i64 = i64::MAX;
}

/// Encodes records for a request on `base` with automatic base name.
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::senml::cbor;
/// use mote_lwm2m::{Path, Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// let bytes = cbor::encode(&Path::ROOT, &records)?;
/// // [{0: "/3/0/9", 2: 100}] (RFC 8428 §6: n is 0, v is 2)
/// assert_eq!(bytes[..4], [0x81, 0xA2, 0x00, 0x66]);
/// assert_eq!(cbor::decode(&bytes, &Builtin)?, records);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    encode_with(base, records, &EncodeOptions::default())
}

/// Encodes records with explicit name and time options.
///
/// ```
/// use mote_lwm2m::senml::{EncodeOptions, cbor};
/// use mote_lwm2m::{Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// let opts = EncodeOptions { base_name: Some("/3/0/".into()), ..EncodeOptions::default() };
/// let bytes = cbor::encode_with(&"/3/0".parse()?, &records, &opts)?;
/// let pack = cbor::parse_pack(&bytes)?;
/// assert_eq!((pack[0].bn.as_deref(), pack[0].n.as_deref()), (Some("/3/0/"), Some("9")));
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_with(
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::with_capacity(records.len() * 16 + 4);
    write_records(Encoder::new(&mut buf), base, records, opts)?;
    Ok(buf)
}

/// The length of [`encode_with`]'s output, computed without writing it.
///
/// ```
/// use mote_lwm2m::senml::{EncodeOptions, cbor};
/// use mote_lwm2m::{Path, Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// let opts = EncodeOptions::default();
/// assert_eq!(cbor::encoded_len(&Path::ROOT, &records, &opts)?, cbor::encode_with(&Path::ROOT, &records, &opts)?.len());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encoded_len(base: &Path, records: &[Record], opts: &EncodeOptions) -> Result<usize, Error> {
    Ok(write_records(Encoder::new(Counter::default()), base, records, opts)?.0)
}

fn write_records<W: Write>(
    mut e: Encoder<W>,
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
) -> Result<W, Error> {
    let _ = e.array(records.len() as u64);
    for_each_senml(base, records, opts, |r| {
        write_record(&mut e, r);
        Ok(())
    })?;
    Ok(e.into_writer())
}

/// Encodes a Read-Composite or Observe-Composite request body: `[{0: path}, …]`.
///
/// ```
/// use mote_lwm2m::senml::cbor;
///
/// let body = cbor::encode_paths(&["/1/0".parse()?]);
/// assert_eq!(body, [0x81, 0xA1, 0x00, 0x64, b'/', b'1', b'/', b'0']); // [{0: "/1/0"}]
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_paths(paths: &[Path]) -> Vec<u8> {
    write_pack(&paths_pack(paths))
}

/// Decodes a payload into records sorted by path, typed with `defs`.
///
/// Two paths with one result: a fast one for the shape LwM2M peers send (the labels `bn`,
/// `bt`, `n`, `v`, `vs`, `vb`, `vd`, `t` and `"vlo"` in one-byte keys, definite-length
/// strings), which reads item heads directly, and the general one over `minicbor`, which
/// takes over — from the start — whenever the fast path meets anything else, including
/// every error, so errors and their offsets come from one place. The fast path only
/// returns records the general one would return (`tests/properties.rs` and the fuzz
/// target check this).
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::senml::cbor;
/// use mote_lwm2m::{Record, Value};
///
/// // [{-2: "/3/0/", 0: "9", 2: 100}]
/// let bytes = [0x81, 0xA3, 0x21, 0x65, b'/', b'3', b'/', b'0', b'/', 0x00, 0x61, b'9', 0x02, 0x18, 0x64];
/// assert_eq!(cbor::decode(&bytes, &Builtin)?, [Record::new("/3/0/9".parse()?, Value::Integer(100))]);
/// assert!(cbor::decode(&bytes[..5], &Builtin).is_err()); // truncated
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode(bytes: &[u8], defs: &(impl ObjectDefs + ?Sized)) -> Result<Vec<Record>, Error> {
    match decode_fast(bytes, defs) {
        Some(records) => Ok(records),
        None => decode_general(bytes, defs),
    }
}

/// The fast path of [`decode`]: `None` when the payload is outside its subset or invalid.
pub(crate) fn decode_fast(bytes: &[u8], defs: &(impl ObjectDefs + ?Sized)) -> Option<Vec<Record>> {
    let mut c = Cursor::new(bytes);
    let len = c.container(4)?;
    // A record takes at least 3 bytes; never reserve more than the input can hold.
    let cap = len.map_or(bytes.len() / 8, |l| {
        usize::try_from(l)
            .unwrap_or(usize::MAX)
            .min(bytes.len() / 3)
    });
    let mut out = Vec::with_capacity(cap);
    let mut resolver = Resolver::new(FORMAT);
    let mut i = 0u64;
    loop {
        match len {
            Some(l) if i >= l => break,
            None if c.at_break() => break,
            _ => {}
        }
        i += 1;
        let offset = c.position();
        let fields = c.container(5)?;
        let (mut bn, mut bt, mut n, mut t, mut value) = (None, None, None, None, None);
        let mut seen = 0u8;
        let mut j = 0u64;
        loop {
            match fields {
                Some(l) if j >= l => break,
                None if c.at_break() => break,
                _ => {}
            }
            j += 1;
            // Labels -24..=23 (in any head encoding, as `minicbor` reads them) and the
            // text label "vlo"; anything else goes to the general path.
            let key = c.head()?;
            let bit = match (key.major, key.arg) {
                (0, Some(k @ 0..=23)) => k as i64,
                (1, Some(k @ 0..=23)) => -1 - k as i64,
                (3, Some(3)) => {
                    if c.text_tail(3)? != "vlo" {
                        return None;
                    }
                    label::VLO
                }
                _ => return None,
            };
            // Bit per label, `v`/`vs`/`vb`/`vd`/`vlo` sharing one: a duplicate is an error.
            let mask: u8 = match bit {
                label::BN => 1,
                label::BT => 2,
                label::N => 4,
                label::T => 8,
                label::V | label::VS | label::VB | label::VD | label::VLO => 16,
                _ => return None,
            };
            if seen & mask != 0 {
                return None;
            }
            seen |= mask;
            match bit {
                label::BN => bn = Some(Cow::Borrowed(c.text()?)),
                label::BT => bt = Some(number_of(c.number()?)),
                // Checked as UTF-8 by the resolver unless it parses as a path.
                label::N => n = Some(c.text_bytes()?),
                label::T => t = Some(number_of(c.number()?)),
                label::V => value = Some(SenmlValue::Number(number_of(c.number()?))),
                label::VS => value = Some(SenmlValue::String(Cow::Borrowed(c.text()?))),
                label::VB => value = Some(SenmlValue::Boolean(c.bool()?)),
                label::VD => value = Some(SenmlValue::Data(Cow::Borrowed(c.bytes()?))),
                label::VLO => value = Some(SenmlValue::ObjectLink(Cow::Borrowed(c.text()?))),
                _ => return None,
            }
        }
        let (path, time) = resolver.resolve_name_time(bn, bt, n, t, offset).ok()?;
        let r = Resolved {
            path,
            value,
            time,
            offset,
        };
        out.push(to_record(FORMAT, r, defs).ok()?);
    }
    if !c.at_end() {
        return None;
    }
    sort_if_needed(&mut out);
    Some(out)
}

fn number_of(n: Num) -> Number {
    match n {
        Num::Int(i) => Number::Int(i),
        Num::Uint(u) => Number::Uint(u),
        Num::Float(f) => Number::Float(f),
    }
}

/// The general path of [`decode`], over `minicbor`.
pub(crate) fn decode_general(
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    // A record takes at least 8 bytes in practice; over-reserving a little is cheaper than
    // growing several times.
    let mut out = Vec::with_capacity(bytes.len() / 8);
    let mut resolver = Resolver::new(FORMAT);
    for_each_record(bytes, |r| {
        out.push(to_record(FORMAT, resolver.resolve(r)?, defs)?);
        Ok(())
    })?;
    sort_if_needed(&mut out);
    Ok(out)
}

/// Decodes a Read-Composite or Observe-Composite request body into its paths.
///
/// ```
/// use mote_lwm2m::senml::cbor;
///
/// let body = [0x81, 0xA1, 0x00, 0x64, b'/', b'1', b'/', b'0'];
/// assert_eq!(cbor::decode_paths(&body)?, ["/1/0".parse()?]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode_paths(bytes: &[u8]) -> Result<Vec<Path>, Error> {
    to_paths(FORMAT, resolve(FORMAT, parse_pack(bytes)?)?)
}

fn put_number<W: Write>(e: &mut Encoder<W>, n: Number) {
    let _ = match n {
        Number::Int(i) => e.i64(i).map(|_| ()),
        Number::Uint(u) => e.u64(u).map(|_| ()),
        Number::Float(f) => {
            put_float(e, f);
            Ok(())
        }
    };
}

/// Writes a pack: a definite-length array of definite-length maps, integer labels (text
/// `"vlo"`), fields in each record's order, floats in their shortest exact precision.
///
/// ```
/// use mote_lwm2m::senml::{Number, SenmlRecord, SenmlValue, cbor};
///
/// let mut record = SenmlRecord::default();
/// record.n = Some("temp".into());
/// record.value = Some(SenmlValue::Number(Number::Float(1.5)));
/// // [{0: "temp", 2: 1.5}], 1.5 as a half-precision float (its shortest exact form).
/// assert_eq!(cbor::write_pack(&[record]), [0x81, 0xA2, 0x00, 0x64, b't', b'e', b'm', b'p', 0x02, 0xF9, 0x3E, 0x00]);
/// ```
pub fn write_pack(pack: &[SenmlRecord<'_>]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(pack.len() * 16 + 4);
    let mut e = Encoder::new(&mut buf);
    let _ = e.array(pack.len() as u64);
    for r in pack {
        write_record(&mut e, r);
    }
    buf
}

/// Writes one record map.
fn write_record<W: Write>(e: &mut Encoder<W>, r: &SenmlRecord<'_>) {
    let _ = e.map(r.labels().count() as u64);
    for l in r.labels() {
        let _ = match l {
            Label::Version => e
                .i64(label::BVER)
                .and_then(|e| e.u64(r.bver.unwrap_or(0)))
                .map(|_| ()),
            Label::BaseName => e
                .i64(label::BN)
                .and_then(|e| e.str(r.bn.as_deref().unwrap_or("")))
                .map(|_| ()),
            Label::BaseUnit => e
                .i64(label::BU)
                .and_then(|e| e.str(r.bu.as_deref().unwrap_or("")))
                .map(|_| ()),
            Label::Name => e
                .i64(label::N)
                .and_then(|e| e.str(r.n.as_deref().unwrap_or("")))
                .map(|_| ()),
            Label::Unit => e
                .i64(label::U)
                .and_then(|e| e.str(r.u.as_deref().unwrap_or("")))
                .map(|_| ()),
            Label::BaseTime
            | Label::BaseValue
            | Label::BaseSum
            | Label::Sum
            | Label::Time
            | Label::UpdateTime => {
                let (k, v) = match l {
                    Label::BaseTime => (label::BT, r.bt),
                    Label::BaseValue => (label::BV, r.bv),
                    Label::BaseSum => (label::BS, r.bs),
                    Label::Sum => (label::S, r.s),
                    Label::Time => (label::T, r.t),
                    _ => (label::UT, r.ut),
                };
                let _ = e.i64(k);
                put_number(e, v.unwrap_or(Number::Int(0)));
                Ok(())
            }
            Label::Value => match &r.value {
                Some(SenmlValue::Number(n)) => {
                    let _ = e.i64(label::V);
                    put_number(e, *n);
                    Ok(())
                }
                Some(SenmlValue::String(s)) => e.i64(label::VS).and_then(|e| e.str(s)).map(|_| ()),
                Some(SenmlValue::Boolean(b)) => {
                    e.i64(label::VB).and_then(|e| e.bool(*b)).map(|_| ())
                }
                Some(SenmlValue::Data(d)) => e.i64(label::VD).and_then(|e| e.bytes(d)).map(|_| ()),
                Some(SenmlValue::ObjectLink(s)) => e.str("vlo").and_then(|e| e.str(s)).map(|_| ()),
                None => Ok(()),
            },
        };
    }
}

/// Parses a SenML-CBOR document into a pack, borrowing strings and bytes from `bytes`.
///
/// ```
/// use mote_lwm2m::senml::{Number, SenmlValue, cbor};
///
/// let bytes = [0x81, 0xA2, 0x00, 0x64, b't', b'e', b'm', b'p', 0x02, 0xF9, 0x3E, 0x00];
/// let pack = cbor::parse_pack(&bytes)?;
/// assert_eq!(pack[0].n.as_deref(), Some("temp"));
/// assert_eq!(pack[0].value, Some(SenmlValue::Number(Number::Float(1.5))));
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn parse_pack(bytes: &[u8]) -> Result<Pack<'_>, Error> {
    let mut out = Vec::new();
    for_each_record(bytes, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

/// Reads the records of a document one by one (the array may be definite or indefinite).
fn for_each_record<'b>(
    bytes: &'b [u8],
    mut f: impl FnMut(SenmlRecord<'b>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut d = Decoder::new(bytes);
    let len = d.array().map_err(|e| cbor_err(FORMAT, &e))?;
    let mut i = 0u64;
    loop {
        match len {
            Some(l) if i >= l => break,
            None if at_break(&mut d) => break,
            _ => {}
        }
        f(record(&mut d)?)?;
        i += 1;
    }
    if d.position() != bytes.len() {
        return Err(malformed(FORMAT, &d, "trailing data after the array"));
    }
    Ok(())
}

fn text<'b>(d: &mut Decoder<'b>) -> Result<Cow<'b, str>, Error> {
    match d.datatype().map_err(|e| cbor_err(FORMAT, &e))? {
        Type::String => Ok(Cow::Borrowed(d.str().map_err(|e| cbor_err(FORMAT, &e))?)),
        Type::StringIndef => {
            let mut s = String::new();
            for part in d.str_iter().map_err(|e| cbor_err(FORMAT, &e))? {
                s.push_str(part.map_err(|e| cbor_err(FORMAT, &e))?);
            }
            Ok(Cow::Owned(s))
        }
        _ => Err(malformed(FORMAT, d, "expected a text string")),
    }
}

fn num(d: &mut Decoder<'_>) -> Result<Number, Error> {
    Ok(match number(FORMAT, d)? {
        Num::Int(i) => Number::Int(i),
        Num::Uint(u) => Number::Uint(u),
        Num::Float(f) => Number::Float(f),
    })
}

fn set<T>(slot: &mut Option<T>, v: T, at: usize) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::Malformed {
            format: FORMAT,
            offset: at,
            reason: "duplicate field",
        });
    }
    *slot = Some(v);
    Ok(())
}

fn record<'b>(d: &mut Decoder<'b>) -> Result<SenmlRecord<'b>, Error> {
    let mut rec = SenmlRecord {
        offset: d.position(),
        ..SenmlRecord::default()
    };
    let len = d.map().map_err(|e| cbor_err(FORMAT, &e))?;
    let mut i = 0u64;
    loop {
        match len {
            Some(l) if i >= l => break,
            None if at_break(d) => break,
            _ => {}
        }
        i += 1;
        let at = d.position();
        let key = match d.datatype().map_err(|e| cbor_err(FORMAT, &e))? {
            Type::String => {
                let k = d.str().map_err(|e| cbor_err(FORMAT, &e))?;
                if k == "vlo" {
                    set(&mut rec.value, SenmlValue::ObjectLink(text(d)?), at)?;
                    rec.push_order(Label::Value);
                } else if k.ends_with('_') {
                    return Err(Error::Malformed {
                        format: FORMAT,
                        offset: at,
                        reason: "unknown must-understand field",
                    });
                } else {
                    d.skip().map_err(|e| cbor_err(FORMAT, &e))?;
                }
                continue;
            }
            Type::U8
            | Type::U16
            | Type::U32
            | Type::U64
            | Type::I8
            | Type::I16
            | Type::I32
            | Type::I64 => d
                .i64()
                .map_err(|_| malformed(FORMAT, d, "label out of range"))?,
            _ => return Err(malformed(FORMAT, d, "map key is not a label")),
        };
        let l = match key {
            label::BVER => {
                set(
                    &mut rec.bver,
                    d.u64()
                        .map_err(|_| malformed(FORMAT, d, "bver is not an unsigned integer"))?,
                    at,
                )?;
                Label::Version
            }
            label::BN => {
                set(&mut rec.bn, text(d)?, at)?;
                Label::BaseName
            }
            label::BU => {
                set(&mut rec.bu, text(d)?, at)?;
                Label::BaseUnit
            }
            label::N => {
                set(&mut rec.n, text(d)?, at)?;
                Label::Name
            }
            label::U => {
                set(&mut rec.u, text(d)?, at)?;
                Label::Unit
            }
            label::BT => {
                set(&mut rec.bt, num(d)?, at)?;
                Label::BaseTime
            }
            label::BV => {
                set(&mut rec.bv, num(d)?, at)?;
                Label::BaseValue
            }
            label::BS => {
                set(&mut rec.bs, num(d)?, at)?;
                Label::BaseSum
            }
            label::S => {
                set(&mut rec.s, num(d)?, at)?;
                Label::Sum
            }
            label::T => {
                set(&mut rec.t, num(d)?, at)?;
                Label::Time
            }
            label::UT => {
                set(&mut rec.ut, num(d)?, at)?;
                Label::UpdateTime
            }
            label::V => {
                set(&mut rec.value, SenmlValue::Number(num(d)?), at)?;
                Label::Value
            }
            label::VS => {
                set(&mut rec.value, SenmlValue::String(text(d)?), at)?;
                Label::Value
            }
            label::VB => {
                let b = d
                    .bool()
                    .map_err(|_| malformed(FORMAT, d, "vb is not a boolean"))?;
                set(&mut rec.value, SenmlValue::Boolean(b), at)?;
                Label::Value
            }
            label::VD => {
                let b = d
                    .bytes()
                    .map_err(|_| malformed(FORMAT, d, "vd is not a definite byte string"))?;
                set(&mut rec.value, SenmlValue::Data(Cow::Borrowed(b)), at)?;
                Label::Value
            }
            _ => {
                d.skip().map_err(|e| cbor_err(FORMAT, &e))?;
                continue;
            }
        };
        rec.push_order(l);
    }
    Ok(rec)
}
