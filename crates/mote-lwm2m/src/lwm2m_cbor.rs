//! LwM2M-CBOR, content format 11544 (LwM2M TS Core 1.2 §7.4.6).
//!
//! ```abnf
//! payload = CBOR_map_with_length 1*(ID, VALUE) / CBOR_infinite_map_start 1*(ID, VALUE) CBOR_break
//! ID = CBOR_unsigned_integer / CBOR_array_with_length 1*(CBOR_unsigned_integer) / CBOR_infinite_array_start 1*(CBOR_unsigned_integer) CBOR_break
//! VALUE = CBOR_value / payload
//! ```
//!
//! Keys are path fragments; the concatenation of the keys from the top map down to a value
//! is the value's path, starting with the Object ID. By default ([`KeyStyle::Compact`])
//! the encoder folds, in the top map, each chain of single-child nodes down to the
//! resource level (or the request path when it is deeper) into one array key
//! (`{[3, 0, 0]: "…"}`, `{[3, 0]: {0: …, 11: {0: 0}}}`); nested maps use one-ID keys and
//! one-element keys are plain integers. This reproduces every example of the TS.
//! [`EncodeOptions`] also writes the fully nested form ([`KeyStyle::Nested`],
//! `{3: {0: {0: "…"}}}`), the flat one ([`KeyStyle::Flat`], one whole-path key per value),
//! and indefinite-length maps; [`encoded_len`] tells the length up front. Nodes keep the
//! order in which the records first name them. The decoder accepts definite and
//! indefinite maps and arrays and any split of the path into keys.

use alloc::string::String;
use alloc::vec::Vec;

use minicbor::data::{Tag, Type};
use minicbor::encode::Write;
use minicbor::{Decoder, Encoder};

use crate::cbor_util::{
    Counter, Cursor, Num, Sink, at_break, cbor_err, malformed, number, put_bool, put_bytes,
    put_float, put_head, put_int, put_text,
};
use crate::data::Record;
use crate::error::Error;
use crate::object::ObjectDefs;
use crate::path::Path;
use crate::senml::{Number, SenmlValue, typed};
use crate::value::Value;

const FORMAT: &str = "LwM2M-CBOR";

struct Node<'r> {
    id: u16,
    value: Option<&'r Value>,
    children: Vec<Node<'r>>,
}

impl<'r> Node<'r> {
    fn insert(&mut self, path: &Path, ids: &[u16], value: &'r Value) -> Result<(), Error> {
        let conflict = || Error::Path {
            path: *path,
            reason: "duplicate or conflicting path",
        };
        match ids.split_first() {
            None => {
                if self.value.is_some() || !self.children.is_empty() {
                    return Err(conflict());
                }
                self.value = Some(value);
                Ok(())
            }
            Some((&id, rest)) => {
                if self.value.is_some() {
                    return Err(conflict());
                }
                let idx = match self.children.iter().position(|c| c.id == id) {
                    Some(i) => i,
                    None => {
                        self.children.push(Node {
                            id,
                            value: None,
                            children: Vec::new(),
                        });
                        self.children.len() - 1
                    }
                };
                match self.children.get_mut(idx) {
                    Some(c) => c.insert(path, rest, value),
                    None => Err(conflict()),
                }
            }
        }
    }
}

/// How the keys of an LwM2M-CBOR payload split the paths (TS §7.4.6: any split is valid;
/// the IDs of the top map start with the Object ID).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyStyle {
    /// The form of the TS examples (the default): in the top map each chain of
    /// single-child nodes is folded, down to the resource level (or the request path when
    /// it is deeper), into one array key; nested maps use one-ID keys; one-element keys
    /// are plain integers. `{[3, 0]: {0: "…", 6: {0: 1, 1: 5}}}`.
    #[default]
    Compact,
    /// One map per level, one ID per key, shared prefixes nested: the TS's "also valid"
    /// form `{3: {0: {0: "…"}}}`.
    Nested,
    /// One flat map, each value under its whole path as an array key:
    /// `{[3, 0, 0]: "…", [3, 0, 6, 0]: 1}`.
    Flat,
}

/// How the LwM2M-CBOR encoder writes a payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EncodeOptions {
    /// How keys split the paths.
    pub keys: KeyStyle,
    /// Write every map with indefinite length (`0xBF` … `0xFF`, RFC 8949 §3.2.2), as a
    /// streaming encoder that does not count entries ahead would. Array keys keep their
    /// definite length (it is always known).
    pub indefinite: bool,
}

/// Encodes records (absolute paths, all under `base`) as one LwM2M-CBOR map in the TS
/// examples' form ([`KeyStyle::Compact`], definite lengths). Times are not representable:
/// records with a time are refused rather than silently changed.
///
/// ```
/// use mote_lwm2m::{Path, Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// // {[3, 0, 9]: 100}: one value, keyed by its whole path (the TS examples' compact form).
/// let bytes = mote_lwm2m::lwm2m_cbor::encode(&Path::ROOT, &records)?;
/// assert_eq!(bytes, [0xA1, 0x83, 0x03, 0x00, 0x09, 0x18, 0x64]);
/// // Times are not representable.
/// let timed = [Record::with_time("/3/0/9".parse()?, Value::Integer(100), 1.0)];
/// assert!(mote_lwm2m::lwm2m_cbor::encode(&Path::ROOT, &timed).is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    encode_with(base, records, &EncodeOptions::default())
}

/// Encodes records with explicit key style and map lengths.
///
/// ```
/// use mote_lwm2m::lwm2m_cbor::{EncodeOptions, KeyStyle, encode_with};
/// use mote_lwm2m::{Path, Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// let nested = EncodeOptions { keys: KeyStyle::Nested, indefinite: false };
/// // {3: {0: {9: 100}}}
/// assert_eq!(encode_with(&Path::ROOT, &records, &nested)?, [0xA1, 0x03, 0xA1, 0x00, 0xA1, 0x09, 0x18, 0x64]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_with(
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
) -> Result<Vec<u8>, Error> {
    let root = tree(base, records)?;
    let mut buf = Vec::with_capacity(records.len() * 8 + 4);
    write_payload(&mut Encoder::new(&mut buf), base, records, &root, opts);
    Ok(buf)
}

/// The length of [`encode_with`]'s output, computed without writing it.
///
/// ```
/// use mote_lwm2m::lwm2m_cbor::{EncodeOptions, encode_with, encoded_len};
/// use mote_lwm2m::{Path, Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// let opts = EncodeOptions::default();
/// assert_eq!(encoded_len(&Path::ROOT, &records, &opts)?, encode_with(&Path::ROOT, &records, &opts)?.len());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encoded_len(base: &Path, records: &[Record], opts: &EncodeOptions) -> Result<usize, Error> {
    let root = tree(base, records)?;
    let mut e = Encoder::new(Counter::default());
    write_payload(&mut e, base, records, &root, opts);
    Ok(e.into_writer().0)
}

/// Checks the records and builds the node tree (nodes in first-appearance order).
fn tree<'r>(base: &Path, records: &'r [Record]) -> Result<Node<'r>, Error> {
    let mut root = Node {
        id: 0,
        value: None,
        children: Vec::new(),
    };
    for r in records {
        if !r.path.starts_with(base) {
            return Err(Error::Path {
                path: r.path,
                reason: "record is outside the request path",
            });
        }
        if r.time.is_some() {
            return Err(Error::Unrepresentable {
                format: FORMAT,
                reason: "LwM2M-CBOR has no timestamps",
            });
        }
        if r.path.len() < 3 {
            return Err(Error::Path {
                path: r.path,
                reason: "a value needs a resource or resource instance path",
            });
        }
        root.insert(&r.path, r.path.ids(), &r.value)?;
    }
    Ok(root)
}

fn write_payload<W: Write>(
    e: &mut Encoder<W>,
    base: &Path,
    records: &[Record],
    root: &Node<'_>,
    opts: &EncodeOptions,
) {
    match opts.keys {
        KeyStyle::Compact => write_map(e, &root.children, base.len().max(3), opts.indefinite),
        KeyStyle::Nested => write_map(e, &root.children, 1, opts.indefinite),
        KeyStyle::Flat => {
            map_start(e, records.len(), opts.indefinite);
            for r in records {
                write_key(e, r.path.ids());
                write_value(e, &r.value);
            }
            map_end(e, opts.indefinite);
        }
    }
}

fn map_start<W: Write>(e: &mut Encoder<W>, len: usize, indefinite: bool) {
    let _ = if indefinite {
        e.begin_map()
    } else {
        e.map(len as u64)
    };
}

fn map_end<W: Write>(e: &mut Encoder<W>, indefinite: bool) {
    if indefinite {
        let _ = e.end();
    }
}

/// A key: a plain integer for one ID, an array for several.
fn write_key<W: Write>(e: &mut Encoder<W>, key: &[u16]) {
    if let [single] = key {
        let _ = e.u16(*single);
    } else {
        let _ = e.array(key.len() as u64);
        for k in key {
            let _ = e.u16(*k);
        }
    }
}

/// Writes one map level. `fold` is how deep a key of this map may reach by folding
/// single-child chains (1: one ID per key); nested maps of the compact form use one-ID
/// keys, as the TS examples do.
fn write_map<W: Write>(e: &mut Encoder<W>, children: &[Node<'_>], fold: usize, indefinite: bool) {
    map_start(e, children.len(), indefinite);
    for c in children {
        let mut key = [0u16; 4];
        let mut n = 0;
        let mut node = c;
        loop {
            if let Some(k) = key.get_mut(n) {
                *k = node.id;
                n += 1;
            }
            match node.children.as_slice() {
                [only] if node.value.is_none() && n < fold => node = only,
                _ => break,
            }
        }
        write_key(e, key.get(..n).unwrap_or(&[]));
        match node.value {
            Some(v) => write_value(e, v),
            None => write_map(e, &node.children, 1, indefinite),
        }
    }
    map_end(e, indefinite);
}

/// One value in CBOR (TS Appendix C, "CBOR, LwM2M CBOR, and SenML CBOR Formats").
pub(crate) fn write_value(out: &mut impl Sink, v: &Value) {
    match v {
        Value::String(s) | Value::Corelnk(s) => put_text(out, s),
        Value::Integer(i) | Value::Time(i) => put_int(out, *i),
        Value::UnsignedInteger(u) => put_head(out, 0, *u),
        Value::Float(f) => put_float(out, *f),
        Value::Boolean(b) => put_bool(out, *b),
        Value::Opaque(o) => put_bytes(out, o),
        // "O:I" is at most 11 bytes; written without allocating.
        Value::Objlnk(l) => put_text(out, l.ascii().as_str()),
    }
}

/// [`read_value`] over the direct reader: the same values for every item `read_value`
/// takes; `None` where it would fail (the caller asks `read_value` for the error, or with
/// `cbor-diagnostics` off reports the cursor's).
pub(crate) fn read_value_direct<'b>(c: &mut Cursor<'b>) -> Option<SenmlValue<'b>> {
    Some(match c.peek()? {
        0xF4 | 0xF5 => SenmlValue::Boolean(c.bool()?),
        0x40..=0x5F => SenmlValue::Data(c.bytes_cow()?),
        0x60..=0x7F => SenmlValue::String(c.text_cow()?),
        0xC0..=0xDB => match c.head()?.arg? {
            // RFC 8949 §3.4.1: tag 0, an RFC 3339 date/time string.
            0 => SenmlValue::Number(Number::Int(rfc3339_seconds(c.text()?)?)),
            // §3.4.2: tag 1, epoch-based time.
            1 => number_value(c.number()?),
            _ => return None,
        },
        _ => number_value(c.number()?),
    })
}

fn number_value(n: Num) -> SenmlValue<'static> {
    SenmlValue::Number(match n {
        Num::Int(i) => Number::Int(i),
        Num::Uint(u) => Number::Uint(u),
        Num::Float(f) => Number::Float(f),
    })
}

/// Reads one CBOR scalar as an untyped value: integers, floats (half, single, double),
/// text, bytes, booleans; tag 1 (epoch time) around a number is unwrapped.
pub(crate) fn read_value<'b>(
    format: &'static str,
    d: &mut Decoder<'b>,
) -> Result<SenmlValue<'b>, Error> {
    let t = d.datatype().map_err(|e| cbor_err(format, &e))?;
    Ok(match t {
        Type::Bool => SenmlValue::Boolean(d.bool().map_err(|e| cbor_err(format, &e))?),
        Type::String | Type::StringIndef => {
            if t == Type::StringIndef {
                let mut s = String::new();
                for part in d.str_iter().map_err(|e| cbor_err(format, &e))? {
                    s.push_str(part.map_err(|_| Error::Malformed {
                        format,
                        offset: 0,
                        reason: "invalid text string chunk",
                    })?);
                }
                SenmlValue::String(s.into())
            } else {
                SenmlValue::String(d.str().map_err(|e| cbor_err(format, &e))?.into())
            }
        }
        Type::Bytes => SenmlValue::Data(d.bytes().map_err(|e| cbor_err(format, &e))?.into()),
        Type::BytesIndef => {
            let mut v = Vec::new();
            for part in d.bytes_iter().map_err(|e| cbor_err(format, &e))? {
                v.extend_from_slice(part.map_err(|_| Error::Malformed {
                    format,
                    offset: 0,
                    reason: "invalid byte string chunk",
                })?);
            }
            SenmlValue::Data(v.into())
        }
        Type::Tag => {
            let tag = d.tag().map_err(|e| cbor_err(format, &e))?;
            // RFC 8949 §3.4.1: tag 0 is an RFC 3339 date/time string (TS Appendix C allows
            // it for Time).
            if tag == Tag::new(0) {
                let at = d.position();
                let s = d.str().map_err(|e| cbor_err(format, &e))?;
                let t = rfc3339_seconds(s).ok_or(Error::Malformed {
                    format,
                    offset: at,
                    reason: "invalid RFC 3339 date/time",
                })?;
                return Ok(SenmlValue::Number(Number::Int(t)));
            }
            if tag != Tag::new(1) {
                return Err(malformed(format, d, "unsupported CBOR tag"));
            }
            match number(format, d)? {
                Num::Int(i) => SenmlValue::Number(Number::Int(i)),
                Num::Uint(u) => SenmlValue::Number(Number::Uint(u)),
                Num::Float(f) => SenmlValue::Number(Number::Float(f)),
            }
        }
        _ => match number(format, d)? {
            Num::Int(i) => SenmlValue::Number(Number::Int(i)),
            Num::Uint(u) => SenmlValue::Number(Number::Uint(u)),
            Num::Float(f) => SenmlValue::Number(Number::Float(f)),
        },
    })
}

/// Seconds since the Unix epoch of an RFC 3339 `date-time` (`2013-05-02T10:40:15Z`,
/// `…+02:00`); fractional seconds are accepted and dropped (Time is whole seconds).
fn rfc3339_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // At most 4 digits: `i32` arithmetic (a Cortex-M divides it in hardware), widened once
    // at the end.
    let num = |r: core::ops::Range<usize>| -> Option<i32> {
        let mut n = 0i32;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i32::from(c - b'0');
        }
        Some(n)
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        c @ (b'+' | b'-') if i + 6 == b.len() && sep(i + 3, b":") => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *c == b'-' { -o } else { o }
        }
        _ => return None,
    };
    // Days from civil (H. Hinnant's algorithm), proleptic Gregorian calendar.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(i64::from(days) * 86_400 + i64::from(h * 3600 + mi * 60 + se - offset))
}

/// Decodes a payload into records sorted by path, typed with `defs`. The top-level keys
/// start with the Object ID (absolute paths).
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::{Record, Value};
///
/// let bytes = [0xA1, 0x83, 0x03, 0x00, 0x09, 0x18, 0x64]; // {[3, 0, 9]: 100}
/// let records = mote_lwm2m::lwm2m_cbor::decode(&bytes, &Builtin)?;
/// assert_eq!(records, [Record::new("/3/0/9".parse()?, Value::Integer(100))]);
/// assert!(mote_lwm2m::lwm2m_cbor::decode(&bytes[..4], &Builtin).is_err()); // truncated
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode(bytes: &[u8], defs: &(impl ObjectDefs + ?Sized)) -> Result<Vec<Record>, Error> {
    decode_under(&Path::ROOT, bytes, defs)
}

/// Decodes a payload received for a request on `base`. TS 1.2 §7.4.6: "Except when used
/// for a Write or Create operation, the IDs inside the top-level payload MUST start with
/// the Object ID" — so a Write or Create payload may carry keys relative to the request
/// path (`{0: "x"}` for a Write on `/3/0`). The absolute reading is taken when it decodes
/// and every record lies under `base`; otherwise the relative reading when it decodes;
/// otherwise the absolute reading's result (records or error) as [`decode`] gives it.
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::{Record, Value};
///
/// // A Write on /3/0 whose key is relative to the request path: {13: 1700000000}.
/// let bytes = [0xA1, 0x0D, 0x1A, 0x65, 0x53, 0xF1, 0x00];
/// let records = mote_lwm2m::lwm2m_cbor::decode_at(&"/3/0".parse()?, &bytes, &Builtin)?;
/// assert_eq!(records, [Record::new("/3/0/13".parse()?, Value::Time(1_700_000_000))]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode_at(
    base: &Path,
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    let absolute = decode(bytes, defs);
    if base.is_root() {
        return absolute;
    }
    match &absolute {
        Ok(records) if records.iter().all(|r| r.path.starts_with(base)) => absolute,
        _ => decode_under(base, bytes, defs).or(absolute),
    }
}

/// Decodes a payload whose top-level keys continue `prefix`.
fn decode_under(
    prefix: &Path,
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    let mut d = Decoder::new(bytes);
    let mut out = Vec::new();
    read_map(&mut d, prefix, defs, &mut out)?;
    if d.position() != bytes.len() {
        return Err(malformed(FORMAT, &d, "trailing data after the map"));
    }
    crate::data::sort_records(&mut out);
    for w in out.windows(2) {
        if let [a, b] = w {
            if a.path == b.path || b.path.starts_with(&a.path) {
                return Err(Error::Path {
                    path: b.path,
                    reason: "duplicate or conflicting path",
                });
            }
        }
    }
    Ok(out)
}

fn read_map(
    d: &mut Decoder<'_>,
    prefix: &Path,
    defs: &(impl ObjectDefs + ?Sized),
    out: &mut Vec<Record>,
) -> Result<(), Error> {
    // The ABNF asks for at least one entry; an empty map (an object without instances, a
    // multiple resource without instances) is accepted as no data.
    let len = d.map().map_err(|e| cbor_err(FORMAT, &e))?;
    let mut i = 0u64;
    loop {
        match len {
            Some(l) if i >= l => break,
            None if at_break(d) => break,
            _ => {}
        }
        i += 1;
        let key_at = d.position();
        let bad_key = || Error::Malformed {
            format: FORMAT,
            offset: key_at,
            reason: "key is not a path fragment",
        };
        let mut path = *prefix;
        match d.datatype().map_err(|e| cbor_err(FORMAT, &e))? {
            Type::Array | Type::ArrayIndef => {
                let n = d.array().map_err(|e| cbor_err(FORMAT, &e))?;
                let mut j = 0u64;
                loop {
                    match n {
                        Some(l) if j >= l => break,
                        None if at_break(d) => break,
                        _ => {}
                    }
                    j += 1;
                    let id = d.u16().map_err(|_| bad_key())?;
                    path = path.child(id).map_err(|_| bad_key())?;
                }
                if j == 0 {
                    return Err(bad_key());
                }
            }
            _ => {
                let id = d.u16().map_err(|_| bad_key())?;
                path = path.child(id).map_err(|_| bad_key())?;
            }
        }
        match d.datatype().map_err(|e| cbor_err(FORMAT, &e))? {
            Type::Map | Type::MapIndef => read_map(d, &path, defs, out)?,
            _ => {
                if path.len() < 3 {
                    return Err(Error::Path {
                        path,
                        reason: "a value needs a resource or resource instance path",
                    });
                }
                let raw = read_value(FORMAT, d)?;
                out.push(Record::new(path, typed(&path, raw, defs)?));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rfc3339_seconds;

    #[test]
    fn the_direct_value_reader_reads_what_minicbor_reads() {
        use super::{Number, SenmlValue, read_value, read_value_direct};
        use crate::cbor_util::Cursor;
        use alloc::borrow::Cow;
        let n = |i| Some(SenmlValue::Number(Number::Int(i)));
        let cases: [(&[u8], Option<SenmlValue<'_>>); 16] = [
            (&[0xF5], Some(SenmlValue::Boolean(true))),
            (&[0x38, 0x63], n(-100)),
            (
                &[0x1B, 0xFF, 0, 0, 0, 0, 0, 0, 0],
                Some(SenmlValue::Number(Number::Uint(0xFF << 56))),
            ),
            (
                &[0xF9, 0x3E, 0x00],
                Some(SenmlValue::Number(Number::Float(1.5))),
            ),
            (
                &[0xFA, 0x3F, 0xC0, 0, 0],
                Some(SenmlValue::Number(Number::Float(1.5))),
            ),
            (
                &[0x63, b'a', b'b', b'c'],
                Some(SenmlValue::String(Cow::Borrowed("abc"))),
            ),
            // (_ "ab", "c") and (_ h'01', h'02'): chunks joined.
            (
                &[0x7F, 0x62, b'a', b'b', 0x61, b'c', 0xFF],
                Some(SenmlValue::String("abc".into())),
            ),
            (
                &[0x5F, 0x41, 1, 0x41, 2, 0xFF],
                Some(SenmlValue::Data(alloc::vec![1, 2].into())),
            ),
            // RFC 8949 §3.4.1 / §3.4.2: 0("2013-03-21T20:04:00Z") and 1(1363896240).
            (b"\xC0\x742013-03-21T20:04:00Z", n(1_363_896_240)),
            (&[0xC1, 0x1A, 0x51, 0x4B, 0x67, 0xB0], n(1_363_896_240)),
            // Null, an unknown tag, a tag in a tag, a text chunk in a byte string, a stray
            // break, a truncated float: refused by both.
            (&[0xF6], None),
            (&[0xC2, 0x41, 0x01], None),
            (&[0xC1, 0xC1, 0x01], None),
            (&[0x5F, 0x61, b'a', 0xFF], None),
            (&[0xFF], None),
            (&[0xFB, 0x3F, 0xF8], None),
        ];
        for (bytes, expected) in cases {
            let mut c = Cursor::new(bytes);
            let direct = read_value_direct(&mut c).filter(|_| c.at_end());
            let mut d = minicbor::Decoder::new(bytes);
            let general = read_value("CBOR", &mut d)
                .ok()
                .filter(|_| d.position() == bytes.len());
            assert_eq!(direct, expected, "{bytes:02x?}");
            assert_eq!(general, expected, "{bytes:02x?}");
        }
    }

    #[test]
    fn rfc3339_dates() {
        // RFC 8949 §3.4.1's example: 2013-03-21T20:04:00Z is 1363896240.
        assert_eq!(rfc3339_seconds("2013-03-21T20:04:00Z"), Some(1_363_896_240));
        // TS Appendix C: 1476186613 is Tuesday 11-Oct-16 11:50:13 UTC.
        assert_eq!(rfc3339_seconds("2016-10-11T11:50:13Z"), Some(1_476_186_613));
        assert_eq!(
            rfc3339_seconds("2016-10-11T13:50:13.25+02:00"),
            Some(1_476_186_613)
        );
        assert_eq!(rfc3339_seconds("1969-12-31T23:59:59Z"), Some(-1));
        for bad in [
            "2016-10-11",
            "2016-13-11T11:50:13Z",
            "2016-10-11T11:50:13",
            "2016-10-11T11:50:13+2:00",
            "x016-10-11T11:50:13Z",
        ] {
            assert_eq!(rfc3339_seconds(bad), None, "{bad}");
        }
    }
}
