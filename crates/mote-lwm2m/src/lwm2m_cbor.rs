//! LwM2M-CBOR, content format 11544 (LwM2M TS Core 1.2 §7.4.6).
//!
//! ```abnf
//! payload = CBOR_map_with_length 1*(ID, VALUE) / CBOR_infinite_map_start 1*(ID, VALUE) CBOR_break
//! ID = CBOR_unsigned_integer / CBOR_array_with_length 1*(CBOR_unsigned_integer) / CBOR_infinite_array_start 1*(CBOR_unsigned_integer) CBOR_break
//! VALUE = CBOR_value / payload
//! ```
//!
//! Keys are path fragments; the concatenation of the keys from the top map down to a value
//! is the value's path, starting with the Object ID. In the top map the encoder folds each
//! chain of single-child nodes, down to the resource level (or the request path when it is
//! deeper), into one array key (`{[3, 0, 0]: "…"}`, `{[3, 0]: {0: …, 11: {0: 0}}}`); nested
//! maps use one-ID keys and one-element keys are plain integers. This reproduces every
//! example of the TS. Nodes keep the order in which the records first name them. The decoder accepts
//! definite and indefinite maps and arrays and any split of the path into keys.

use alloc::string::String;
use alloc::vec::Vec;

use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};

use crate::cbor_util::{Num, at_break, cbor_err, malformed, number, put_float};
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

/// Encodes records (absolute paths, all under `base`) as one LwM2M-CBOR map. Times are
/// not representable: records with a time are refused rather than silently changed.
pub fn encode(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
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
    let mut buf = Vec::with_capacity(records.len() * 8 + 4);
    let mut e = Encoder::new(&mut buf);
    write_map(&mut e, &root.children, base.len().max(3));
    Ok(buf)
}

/// Writes one map level. `fold` is how deep a key may reach by folding single-child
/// chains: only the top map folds (as the TS examples do), down to the resource level or
/// the request path, whichever is deeper; nested maps use one-ID keys.
fn write_map(e: &mut Encoder<&mut Vec<u8>>, children: &[Node<'_>], fold: usize) {
    let _ = e.map(children.len() as u64);
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
        let key = key.get(..n).unwrap_or(&[]);
        if let [single] = key {
            let _ = e.u16(*single);
        } else {
            let _ = e.array(key.len() as u64);
            for k in key {
                let _ = e.u16(*k);
            }
        }
        match node.value {
            Some(v) => write_value(e, v),
            None => write_map(e, &node.children, 0),
        }
    }
}

/// One value in CBOR (TS Appendix C, "CBOR, LwM2M CBOR, and SenML CBOR Formats").
pub(crate) fn write_value(e: &mut Encoder<&mut Vec<u8>>, v: &Value) {
    let _ = match v {
        Value::String(s) | Value::Corelnk(s) => e.str(s).map(|_| ()),
        Value::Integer(i) | Value::Time(i) => e.i64(*i).map(|_| ()),
        Value::UnsignedInteger(u) => e.u64(*u).map(|_| ()),
        Value::Float(f) => {
            put_float(e, *f);
            Ok(())
        }
        Value::Boolean(b) => e.bool(*b).map(|_| ()),
        Value::Opaque(o) => e.bytes(o).map(|_| ()),
        Value::Objlnk(l) => {
            let mut s = String::new();
            use core::fmt::Write as _;
            let _ = write!(s, "{l}");
            e.str(&s).map(|_| ())
        }
    };
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
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        let t = b.get(r)?;
        if !t.iter().all(u8::is_ascii_digit) {
            return None;
        }
        core::str::from_utf8(t).ok()?.parse().ok()
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
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// Decodes a payload into records sorted by path, typed with `defs`.
pub fn decode(bytes: &[u8], defs: &(impl ObjectDefs + ?Sized)) -> Result<Vec<Record>, Error> {
    let mut d = Decoder::new(bytes);
    let mut out = Vec::new();
    read_map(&mut d, &Path::ROOT, defs, &mut out)?;
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
