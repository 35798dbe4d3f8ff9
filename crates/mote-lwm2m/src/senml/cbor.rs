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

use minicbor::Decoder;
use minicbor::data::Type;

use super::{
    EncodeOptions, Fields, Label, Number, Pack, Resolved, Resolver, SenmlRecord, SenmlValue,
    for_each_fields, paths_pack, resolve, sort_if_needed, to_paths, to_record,
};
use crate::cbor_util::{
    Counter, Cursor, Num, Sink, at_break, cbor_err, malformed, number, put_bool, put_bytes,
    put_float, put_head, put_int, put_text,
};
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
    write_records(&mut buf, base, records, opts)?;
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
    let mut n = Counter::default();
    write_records(&mut n, base, records, opts)?;
    Ok(n.0)
}

fn write_records(
    out: &mut impl Sink,
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
) -> Result<(), Error> {
    put_head(out, 4, records.len() as u64);
    for_each_fields(base, records, opts, |r| {
        write_fields(out, r);
        Ok(())
    })
}

/// Writes the map of one LwM2M record: the bytes [`write_record`] writes for the same
/// fields in their order (`bn`, `bt`, `n`, value, `t`), without the generic label walk.
fn write_fields(out: &mut impl Sink, r: &Fields<'_>) {
    let count = 1 + [r.bn.is_some(), r.bt.is_some(), r.n.is_some(), r.t.is_some()]
        .into_iter()
        .filter(|b| *b)
        .count();
    put_head(out, 5, count as u64);
    if let Some(bn) = r.bn {
        put_int(out, label::BN);
        put_text(out, bn);
    }
    if let Some(bt) = r.bt {
        put_int(out, label::BT);
        put_number(out, bt);
    }
    if let Some(n) = r.n {
        put_int(out, label::N);
        put_text(out, n);
    }
    write_value(out, &r.value);
    if let Some(t) = r.t {
        put_int(out, label::T);
        put_number(out, t);
    }
}

/// Writes a value field: its label and the value.
fn write_value(out: &mut impl Sink, v: &SenmlValue<'_>) {
    match v {
        SenmlValue::Number(n) => {
            put_int(out, label::V);
            put_number(out, *n);
        }
        SenmlValue::String(s) => {
            put_int(out, label::VS);
            put_text(out, s);
        }
        SenmlValue::Boolean(b) => {
            put_int(out, label::VB);
            put_bool(out, *b);
        }
        SenmlValue::Data(d) => {
            put_int(out, label::VD);
            put_bytes(out, d);
        }
        SenmlValue::ObjectLink(s) => {
            put_text(out, "vlo");
            put_text(out, s);
        }
    }
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
/// Two readers with one result: a direct one that reads item heads from the slice and
/// takes every well-formed pack (definite or indefinite arrays, maps and strings, every
/// RFC 8428 label, the text label `"vlo"`, unknown labels skipped), and with the feature
/// `cbor-diagnostics` (on with `std`) the general one over `minicbor`, which takes over
/// — from the start — whenever the direct reader declines a payload, so errors and their
/// offsets come from one place. The direct reader only returns records the general one
/// would return, and returns them whenever the general one does (`tests/properties.rs`
/// and the fuzz target check this). Without `cbor-diagnostics` a declined payload gets
/// the direct reader's own error: `Truncated`, `Malformed` at the item where it stopped,
/// or the LwM2M error of the record (name, time, value type).
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
    let direct = decode_direct(bytes, defs);
    #[cfg(feature = "cbor-diagnostics")]
    if direct.is_err() {
        return decode_general(bytes, defs);
    }
    direct
}

/// The direct reader of [`decode`] as an option, for the fuzz target's comparison.
#[cfg_attr(
    not(all(feature = "senml-json", feature = "tlv", feature = "lwm2m-cbor")),
    allow(dead_code)
)]
pub(crate) fn decode_fast(bytes: &[u8], defs: &(impl ObjectDefs + ?Sized)) -> Option<Vec<Record>> {
    decode_direct(bytes, defs).ok()
}

/// How deep the direct reader follows nested items in a value it skips (an unknown
/// label's): deeper ones are declined.
const SKIP_DEPTH: u8 = 16;

/// The direct reader of [`decode`].
fn decode_direct(bytes: &[u8], defs: &(impl ObjectDefs + ?Sized)) -> Result<Vec<Record>, Error> {
    let mut c = Cursor::new(bytes);
    let mut lwm2m = None;
    match read_direct(&mut c, defs, &mut lwm2m) {
        Some(records) => Ok(records),
        None => Err(lwm2m.unwrap_or_else(|| c.error(FORMAT))),
    }
}

/// Reads the pack: `None` when it is not well-formed (the cursor says where) or a record
/// is not a valid LwM2M record (`lwm2m` says why).
fn read_direct(
    c: &mut Cursor<'_>,
    defs: &(impl ObjectDefs + ?Sized),
    lwm2m: &mut Option<Error>,
) -> Option<Vec<Record>> {
    let total = c.remaining();
    let len = c.container(4)?;
    // A record takes at least 3 bytes; never reserve more than the input can hold.
    let cap = len.map_or(total / 8, |l| {
        usize::try_from(l).unwrap_or(usize::MAX).min(total / 3)
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
        // One bit per field (`v`, `vs`, `vb`, `vd` and `vlo` share `VALUE`): a duplicate is
        // an error, as in the general reader.
        const VALUE: u16 = 2048;
        let mut seen = 0u16;
        let mut j = 0u64;
        loop {
            match fields {
                Some(l) if j >= l => break,
                None if c.at_break() => break,
                _ => {}
            }
            j += 1;
            let key = c.head()?;
            let label = match (key.major, key.arg) {
                (0, Some(k)) => i64::try_from(k).ok()?,
                (1, Some(k)) => -1 - i64::try_from(k).ok()?,
                (3, Some(k)) => {
                    let k = c.text_tail(usize::try_from(k).ok()?)?;
                    if k == "vlo" {
                        // Not an integer label: the key has no number that could clash.
                        if seen & VALUE != 0 {
                            return None;
                        }
                        seen |= VALUE;
                        value = Some(SenmlValue::ObjectLink(c.text_cow()?));
                        continue;
                    } else if k.ends_with('_') {
                        // RFC 8428 §4.4: an unknown must-understand field.
                        return None;
                    } else {
                        c.skip(SKIP_DEPTH)?;
                        continue;
                    }
                }
                _ => return None,
            };
            let bit: u16 = match label {
                label::BVER => 1,
                label::BN => 2,
                label::BT => 4,
                label::BU => 8,
                label::BV => 16,
                label::BS => 32,
                label::N => 64,
                label::U => 128,
                label::S => 256,
                label::T => 512,
                label::UT => 1024,
                label::V | label::VS | label::VB | label::VD => VALUE,
                _ => {
                    c.skip(SKIP_DEPTH)?;
                    continue;
                }
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match label {
                label::BVER => {
                    c.unsigned()?;
                }
                label::BU | label::U => {
                    c.text_cow()?;
                }
                label::BV | label::BS | label::S | label::UT => {
                    c.number()?;
                }
                label::BN => bn = Some(c.text_cow()?),
                label::BT => bt = Some(number_of(c.number()?)),
                label::N => n = Some(c.text_cow()?),
                label::T => t = Some(number_of(c.number()?)),
                label::V => value = Some(SenmlValue::Number(number_of(c.number()?))),
                label::VS => value = Some(SenmlValue::String(c.text_cow()?)),
                label::VB => value = Some(SenmlValue::Boolean(c.bool()?)),
                _ => value = Some(SenmlValue::Data(Cow::Borrowed(c.bytes()?))),
            }
        }
        // Base value and sums have no meaning in LwM2M (as `Resolver::resolve` says).
        if seen & (16 | 32 | 256) != 0 {
            *lwm2m = Some(Error::Malformed {
                format: FORMAT,
                offset,
                reason: "base value and sums are not used by LwM2M",
            });
            return None;
        }
        let n = n.as_deref().map(str::as_bytes);
        let resolved = resolver
            .resolve_name_time(bn, bt, n, t, offset)
            .and_then(|(path, time)| {
                let r = Resolved {
                    path,
                    value,
                    time,
                    offset,
                };
                to_record(FORMAT, r, defs)
            });
        match resolved {
            Ok(r) => out.push(r),
            Err(e) => {
                *lwm2m = Some(e);
                return None;
            }
        }
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
#[cfg_attr(
    not(any(
        feature = "cbor-diagnostics",
        all(feature = "senml-json", feature = "tlv", feature = "lwm2m-cbor")
    )),
    allow(dead_code)
)]
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

fn put_number(out: &mut impl Sink, n: Number) {
    match n {
        Number::Int(i) => put_int(out, i),
        Number::Uint(u) => put_head(out, 0, u),
        Number::Float(f) => put_float(out, f),
    }
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
    put_head(&mut buf, 4, pack.len() as u64);
    for r in pack {
        write_record(&mut buf, r);
    }
    buf
}

/// Writes one record map.
fn write_record(out: &mut impl Sink, r: &SenmlRecord<'_>) {
    put_head(out, 5, r.labels().count() as u64);
    for l in r.labels() {
        match l {
            Label::Version => {
                put_int(out, label::BVER);
                put_head(out, 0, r.bver.unwrap_or(0));
            }
            Label::BaseName => put_label_text(out, label::BN, r.bn.as_deref()),
            Label::BaseUnit => put_label_text(out, label::BU, r.bu.as_deref()),
            Label::Name => put_label_text(out, label::N, r.n.as_deref()),
            Label::Unit => put_label_text(out, label::U, r.u.as_deref()),
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
                put_int(out, k);
                put_number(out, v.unwrap_or(Number::Int(0)));
            }
            Label::Value => {
                if let Some(v) = &r.value {
                    write_value(out, v);
                }
            }
        }
    }
}

/// A text field: its label and the text.
fn put_label_text(out: &mut impl Sink, label: i64, text: Option<&str>) {
    put_int(out, label);
    put_text(out, text.unwrap_or(""));
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ids::ObjectLink;
    use crate::object::Builtin;
    use crate::value::Value;

    fn record(path: &str, value: Value) -> Record {
        Record::new(path.parse().unwrap(), value)
    }

    /// CBOR text string head + bytes (definite, under 24 bytes).
    fn t(s: &str) -> Vec<u8> {
        let mut v = alloc::vec![0x60 + s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn the_direct_reader_takes_what_the_general_one_takes() {
        let n9 = t("/3/0/9");
        let cases: [(Vec<u8>, Vec<Record>); 8] = [
            // [_ {_ -2: (_ "/3/", "0/"), 0: "0", 3: (_ "Mo", "te")}]: indefinite everything.
            (
                cat(&[
                    &[0x9F, 0xBF, 0x21, 0x7F],
                    &t("/3/"),
                    &t("0/"),
                    &[0xFF, 0x00],
                    &t("0"),
                    &[0x03, 0x7F],
                    &t("Mo"),
                    &t("te"),
                    &[0xFF, 0xFF, 0xFF],
                ]),
                alloc::vec![record("/3/0/0", Value::String("Mote".into()))],
            ),
            // An unknown label (100) whose value nests a map, an array, a tag and a half
            // float: skipped.
            (
                cat(&[
                    &[0x81, 0xA3, 0x00],
                    &n9,
                    &[
                        0x02, 0x18, 0x64, 0x18, 0x64, 0xA1, 0x01, 0x82, 0xC1, 0x01, 0xF9, 0x3C,
                        0x00,
                    ],
                ]),
                alloc::vec![record("/3/0/9", Value::Integer(100))],
            ),
            // An unknown text label with an indefinite array: skipped.
            (
                cat(&[
                    &[0x81, 0xA3, 0x00],
                    &n9,
                    &[0x02, 0x18, 0x64],
                    &t("foo"),
                    &[0x9F, 0x01, 0xFF],
                ]),
                alloc::vec![record("/3/0/9", Value::Integer(100))],
            ),
            // bver, bu, u and ut are read and ignored (RFC 8428 §4.1).
            (
                cat(&[
                    &[0x81, 0xA6, 0x20, 0x0A, 0x23],
                    &t("x"),
                    &[0x00],
                    &n9,
                    &[0x01],
                    &t("%"),
                    &[0x07, 0x01, 0x02, 0x18, 0x64],
                ]),
                alloc::vec![record("/3/0/9", Value::Integer(100))],
            ),
            // The label 0 in a one-byte argument head (not the preferred encoding).
            (
                cat(&[&[0x81, 0xA2, 0x18, 0x00], &n9, &[0x02, 0x18, 0x64]]),
                alloc::vec![record("/3/0/9", Value::Integer(100))],
            ),
            // "vlo" (TS §7.4.5).
            (
                cat(&[&[0x81, 0xA2, 0x00], &t("/0/0/17"), &t("vlo"), &t("21:0")]),
                alloc::vec![record("/0/0/17", Value::Objlnk(ObjectLink::new(21, 0)))],
            ),
            // vd, an indefinite byte string is refused but a definite one is data.
            (
                cat(&[&[0x81, 0xA2, 0x00], &t("/0/0/3"), &[0x08, 0x42, 0x01, 0x02]]),
                alloc::vec![record("/0/0/3", Value::Opaque(alloc::vec![1, 2]))],
            ),
            // bt + t (RFC 8428 §4.5.3).
            (
                cat(&[
                    &[0x81, 0xA4, 0x22, 0x1A, 0x65, 0x53, 0xF1, 0x00, 0x00],
                    &n9,
                    &[0x06, 0x01, 0x02, 0x18, 0x64],
                ]),
                alloc::vec![Record::with_time(
                    "/3/0/9".parse().unwrap(),
                    Value::Integer(100),
                    1_700_000_001.0
                )],
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                decode_general(&bytes, &Builtin),
                Ok(expected.clone()),
                "{bytes:02x?}"
            );
            assert_eq!(
                decode_direct(&bytes, &Builtin),
                Ok(expected),
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn the_record_writer_writes_what_the_pack_writer_writes() {
        let records = [
            Record::with_time(
                "/3/0/9".parse().unwrap(),
                Value::Integer(95),
                1_700_000_000.0,
            ),
            Record::with_time(
                "/3/0/9".parse().unwrap(),
                Value::Float(1.5),
                1_700_000_010.5,
            ),
            record("/3/0/0", Value::String("ACME".into())),
            record("/3/0/16", Value::Boolean(true)),
            record("/3/0/7/1", Value::UnsignedInteger(u64::MAX)),
            record("/0/0/3", Value::Opaque(alloc::vec![1, 2])),
            record("/0/0/17", Value::Objlnk(ObjectLink::new(21, 0))),
        ];
        let timed = EncodeOptions {
            base_time: Some(1_700_000_000.0),
            ..EncodeOptions::default()
        };
        for (base, opts) in [
            (Path::ROOT, EncodeOptions::default()),
            (Path::ROOT, timed.clone()),
            ("/3/0".parse().unwrap(), timed),
        ] {
            let in_base: Vec<Record> = records
                .iter()
                .filter(|r| r.path.starts_with(&base))
                .cloned()
                .collect();
            let direct = encode_with(&base, &in_base, &opts).unwrap();
            let generic = write_pack(&crate::senml::to_pack(&base, &in_base, &opts).unwrap());
            assert_eq!(direct, generic, "{base} {opts:?}");
            let untyped = crate::object::NoDefs;
            assert_eq!(decode(&direct, &untyped).unwrap().len(), in_base.len());
        }
        // One spelled out: [{-2: "/3/0/", -3: 1700000000, 0: "9", 2: 95, 6: 0}].
        let one = [records[0].clone()];
        let opts = EncodeOptions {
            base_name: Some("/3/0/".into()),
            base_time: Some(1_700_000_000.0),
        };
        assert_eq!(
            encode_with(&"/3/0".parse().unwrap(), &one, &opts).unwrap(),
            cat(&[
                &[0x81, 0xA5, 0x21],
                &t("/3/0/"),
                &[0x22, 0x1A, 0x65, 0x53, 0xF1, 0x00, 0x00],
                &t("9"),
                &[0x02, 0x18, 0x5F, 0x06, 0x00],
            ])
        );
    }

    #[test]
    fn the_direct_reader_refuses_what_the_general_one_refuses() {
        let n9 = t("/3/0/9");
        let cases = [
            // An unknown must-understand label (RFC 8428 §4.4).
            cat(&[&[0x81, 0xA2, 0x00], &n9, &t("x_"), &[0x01]]),
            // A duplicate field: v twice, then v and vs.
            cat(&[&[0x81, 0xA3, 0x00], &n9, &[0x02, 0x01, 0x02, 0x02]]),
            cat(&[&[0x81, 0xA3, 0x00], &n9, &[0x02, 0x01, 0x03], &t("a")]),
            // A label beyond i64, a negative time out of range, a tagged value.
            cat(&[
                &[0x81, 0xA2, 0x1B, 0x80, 0, 0, 0, 0, 0, 0, 0],
                &[0x01, 0x00],
                &n9,
            ]),
            cat(&[
                &[0x81, 0xA3, 0x00],
                &n9,
                &[0x02, 0x01, 0x06, 0x3B, 0x80, 0, 0, 0, 0, 0, 0, 0],
            ]),
            cat(&[&[0x81, 0xA2, 0x00], &n9, &[0x02, 0xC1, 0x01]]),
            // An unknown label whose text value is not UTF-8 (found by the property test).
            cat(&[
                &[0x81, 0xA3, 0x00],
                &n9,
                &[0x02, 0x01, 0x09, 0x62, 0xC3, 0x28],
            ]),
            // A stray break in a definite map, trailing data, a map key that is a map.
            cat(&[&[0x81, 0xA2, 0x00], &n9, &[0xFF]]),
            cat(&[&[0x81, 0xA2, 0x00], &n9, &[0x02, 0x01, 0x00]]),
            cat(&[&[0x81, 0xA1, 0xA0, 0x01]]),
            // Base value, a record without value.
            cat(&[&[0x81, 0xA3, 0x00], &n9, &[0x02, 0x01, 0x25, 0x01]]),
            cat(&[&[0x81, 0xA1, 0x00], &n9]),
        ];
        for bytes in cases {
            assert!(decode_general(&bytes, &Builtin).is_err(), "{bytes:02x?}");
            assert!(decode_direct(&bytes, &Builtin).is_err(), "{bytes:02x?}");
        }
    }

    #[test]
    fn without_the_general_reader_errors_say_truncated_malformed_or_the_lwm2m_fault() {
        let n9 = t("/3/0/9");
        let good = cat(&[&[0x81, 0xA2, 0x00], &n9, &[0x02, 0x18, 0x64]]);
        let short = &good[..good.len() - 1];
        assert_eq!(
            decode_direct(short, &Builtin),
            Err(Error::Truncated {
                format: FORMAT,
                offset: short.len()
            })
        );
        // [1]: a record that is not a map, at byte 1.
        assert!(matches!(
            decode_direct(&[0x81, 0x01], &Builtin),
            Err(Error::Malformed { offset: 1, .. })
        ));
        // The LwM2M faults are the general reader's: a value of the wrong type.
        let text_battery = cat(&[&[0x81, 0xA2, 0x00], &n9, &[0x03], &t("full")]);
        let fault = Err(Error::Type {
            path: "/3/0/9".parse().unwrap(),
            expected: crate::value::ResourceType::Integer,
        });
        assert_eq!(decode_direct(&text_battery, &Builtin), fault);
        assert_eq!(decode_general(&text_battery, &Builtin), fault);
        // Nesting deeper than the direct reader follows: with `cbor-diagnostics` the general
        // reader takes it, without it the payload is refused.
        let mut deep = cat(&[&[0x81, 0xA3, 0x00], &n9, &[0x02, 0x18, 0x64, 0x18, 0x64]]);
        deep.extend([0x81; 20]);
        deep.push(0x01);
        assert!(decode_direct(&deep, &Builtin).is_err());
        assert!(decode_general(&deep, &Builtin).is_ok());
        assert_eq!(
            decode(&deep, &Builtin).is_ok(),
            cfg!(feature = "cbor-diagnostics")
        );
    }
}
