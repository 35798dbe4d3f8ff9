//! SenML-JSON (content format 110; RFC 8428 §5, LwM2M TS Core 1.2 §7.4.4).
//!
//! The decoder is a small strict JSON (RFC 8259) reader for the SenML shape: an array of
//! objects whose members are strings, numbers, booleans or `null`. Fields: `bn`, `bt`,
//! `n`, `t`, `v`, `vs`, `vb`, `vd` (base64url, RFC 8428 §4.3; padded and standard
//! alphabets accepted too), `vlo` (LwM2M Object Link). Unknown fields are ignored unless
//! they end in `_` (RFC 8428 §4.4 "must understand"). `bver`, `bu`, `bv`, `bs`, `u`, `s`,
//! `ut` are accepted and ignored.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::{
    EncodeOptions, Label, Number, Pack, SenmlRecord, SenmlValue, for_each_senml, paths_pack,
    resolve, to_paths, to_records,
};
use crate::base64::{Alphabet, encode as b64};
use crate::data::Record;
use crate::error::Error;
use crate::object::ObjectDefs;
use crate::path::Path;

const FORMAT: &str = "SenML-JSON";

/// Encodes records for a request on `base` with automatic base name (see
/// [`EncodeOptions`]).
///
/// ```
/// use mote_lwm2m::{Path, Record, Value};
/// use mote_lwm2m::senml::json;
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// assert_eq!(json::encode(&Path::ROOT, &records)?, br#"[{"n":"/3/0/9","v":100}]"#);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    encode_with(base, records, &EncodeOptions::default())
}

/// Encodes records with explicit name and time options.
///
/// ```
/// use mote_lwm2m::senml::{EncodeOptions, json};
/// use mote_lwm2m::{Path, Record, Value};
///
/// let records = [
///     Record::with_time("/3/0/9".parse()?, Value::Integer(95), 1_700_000_000.0),
///     Record::with_time("/3/0/9".parse()?, Value::Integer(94), 1_700_000_060.0),
/// ];
/// let opts = EncodeOptions { base_time: Some(1_700_000_000.0), ..EncodeOptions::default() };
/// let payload = json::encode_with(&Path::ROOT, &records, &opts)?;
/// assert_eq!(
///     payload,
///     br#"[{"bt":1700000000,"n":"/3/0/9","v":95,"t":0},{"n":"/3/0/9","v":94,"t":60}]"#
/// );
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_with(
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
) -> Result<Vec<u8>, Error> {
    let mut s = String::with_capacity(records.len() * 24 + 8);
    write_records(&mut s, base, records, opts)?;
    Ok(s.into_bytes())
}

/// The length of [`encode_with`]'s output, computed without keeping it.
///
/// ```
/// use mote_lwm2m::senml::{EncodeOptions, json};
/// use mote_lwm2m::{Path, Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// let opts = EncodeOptions::default();
/// assert_eq!(json::encoded_len(&Path::ROOT, &records, &opts)?, json::encode_with(&Path::ROOT, &records, &opts)?.len());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encoded_len(base: &Path, records: &[Record], opts: &EncodeOptions) -> Result<usize, Error> {
    let mut n = CharCounter(0);
    write_records(&mut n, base, records, opts)?;
    Ok(n.0)
}

/// Counts the UTF-8 bytes written through it.
struct CharCounter(usize);

impl fmt::Write for CharCounter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fn write_records<W: fmt::Write>(
    s: &mut W,
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
) -> Result<(), Error> {
    let _ = s.write_char('[');
    let mut first = true;
    for_each_senml(base, records, opts, |r| {
        if !first {
            let _ = s.write_char(',');
        }
        first = false;
        write_record(s, r)
    })?;
    let _ = s.write_char(']');
    Ok(())
}

/// Encodes a Read-Composite or Observe-Composite request body: one `{"n": path}` per path.
///
/// ```
/// use mote_lwm2m::senml::json;
///
/// let body = json::encode_paths(&["/3/0/9".parse()?, "/1/0/1".parse()?]);
/// assert_eq!(body, br#"[{"n":"/3/0/9"},{"n":"/1/0/1"}]"#);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode_paths(paths: &[Path]) -> Vec<u8> {
    write_pack(&paths_pack(paths)).unwrap_or_default()
}

/// Decodes a payload into records sorted by path, typed with `defs`.
///
/// ```
/// use mote_lwm2m::object::Builtin;
/// use mote_lwm2m::senml::json;
/// use mote_lwm2m::{Record, Value};
///
/// let payload = br#"[{"bn":"/3/0/","n":"9","v":100},{"n":"13","v":1700000000}]"#;
/// assert_eq!(json::decode(payload, &Builtin)?, [
///     Record::new("/3/0/9".parse()?, Value::Integer(100)),
///     Record::new("/3/0/13".parse()?, Value::Time(1_700_000_000)), // typed by the definition
/// ]);
/// assert!(json::decode(br#"[{"n":"not a path","v":1}]"#, &Builtin).is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode(bytes: &[u8], defs: &(impl ObjectDefs + ?Sized)) -> Result<Vec<Record>, Error> {
    to_records(FORMAT, resolve(FORMAT, parse_pack(bytes)?)?, defs)
}

/// Decodes a Read-Composite or Observe-Composite request body into its paths (request
/// order).
///
/// ```
/// use mote_lwm2m::senml::json;
///
/// let paths = json::decode_paths(br#"[{"n":"/3/0/9"},{"n":"/1/0/1"}]"#)?;
/// assert_eq!(paths, ["/3/0/9".parse()?, "/1/0/1".parse()?]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode_paths(bytes: &[u8]) -> Result<Vec<Path>, Error> {
    to_paths(FORMAT, resolve(FORMAT, parse_pack(bytes)?)?)
}

/// Writes a pack as compact JSON, fields in each record's order. Integral floats below
/// 2^53 are written without a fraction (JSON has one number type; the TS examples write
/// `"v":18` for a Float resource); other floats in the shortest text that reads back to
/// the same `f64`. NaN and infinities are refused.
///
/// ```
/// use mote_lwm2m::senml::json;
///
/// // Any SenML, not only LwM2M paths: parse and write back, field order kept.
/// let text = br#"[{"bn":"urn:dev:ow:10e2073a01080063","n":"voltage","u":"V","v":120.1}]"#;
/// assert_eq!(json::write_pack(&json::parse_pack(text)?)?, text);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn write_pack(pack: &[SenmlRecord<'_>]) -> Result<Vec<u8>, Error> {
    let mut s = String::with_capacity(pack.len() * 24 + 8);
    s.push('[');
    for (i, r) in pack.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write_record(&mut s, r)?;
    }
    s.push(']');
    Ok(s.into_bytes())
}

/// Writes one record object.
fn write_record<W: fmt::Write>(s: &mut W, r: &SenmlRecord<'_>) -> Result<(), Error> {
    {
        let _ = s.write_char('{');
    };
    for (j, l) in r.labels().enumerate() {
        if j > 0 {
            {
                let _ = s.write_char(',');
            };
        }
        match l {
            Label::Version => {
                let _ = write!(s, "\"bver\":{}", r.bver.unwrap_or(0));
            }
            Label::BaseName => text_field(s, "bn", r.bn.as_deref()),
            Label::BaseTime => num_field(s, "bt", r.bt)?,
            Label::BaseUnit => text_field(s, "bu", r.bu.as_deref()),
            Label::BaseValue => num_field(s, "bv", r.bv)?,
            Label::BaseSum => num_field(s, "bs", r.bs)?,
            Label::Name => text_field(s, "n", r.n.as_deref()),
            Label::Unit => text_field(s, "u", r.u.as_deref()),
            Label::Sum => num_field(s, "s", r.s)?,
            Label::Time => num_field(s, "t", r.t)?,
            Label::UpdateTime => num_field(s, "ut", r.ut)?,
            Label::Value => match &r.value {
                Some(SenmlValue::Number(n)) => num_field(s, "v", Some(*n))?,
                Some(SenmlValue::String(t)) => text_field(s, "vs", Some(t)),
                Some(SenmlValue::Boolean(b)) => {
                    let _ = write!(s, "\"vb\":{b}");
                }
                Some(SenmlValue::Data(d)) => {
                    text_field(s, "vd", Some(&b64(d, Alphabet::UrlSafeNoPad)))
                }
                Some(SenmlValue::ObjectLink(t)) => text_field(s, "vlo", Some(t)),
                None => {}
            },
        }
    }
    {
        let _ = s.write_char('}');
    };
    Ok(())
}

fn text_field<W: fmt::Write>(s: &mut W, key: &str, v: Option<&str>) {
    let _ = write!(s, "\"{key}\":");
    string(s, v.unwrap_or(""));
}

fn num_field<W: fmt::Write>(s: &mut W, key: &str, n: Option<Number>) -> Result<(), Error> {
    let _ = write!(s, "\"{key}\":");
    match n.unwrap_or(Number::Int(0)) {
        Number::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Number::Uint(u) => {
            let _ = write!(s, "{u}");
        }
        Number::Float(f) => {
            if !f.is_finite() {
                return Err(Error::Unrepresentable {
                    format: FORMAT,
                    reason: "JSON has no NaN or infinity",
                });
            }
            if crate::value::is_integral(f) && f.abs() < 9.007_199_254_740_992e15 {
                let _ = write!(s, "{}", f as i64);
            } else {
                let _ = write!(s, "{f:?}");
            }
        }
    }
    Ok(())
}

fn string<W: fmt::Write>(s: &mut W, t: &str) {
    {
        let _ = s.write_char('"');
    };
    for c in t.chars() {
        match c {
            '"' => {
                let _ = s.write_str("\\\"");
            }
            '\\' => {
                let _ = s.write_str("\\\\");
            }
            '\n' => {
                let _ = s.write_str("\\n");
            }
            '\r' => {
                let _ = s.write_str("\\r");
            }
            '\t' => {
                let _ = s.write_str("\\t");
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = s.write_char(c);
            }
        }
    }
    {
        let _ = s.write_char('"');
    };
}

/// A JSON scalar.
enum Json {
    Str(String),
    Int(i64),
    Uint(u64),
    Float(f64),
    Bool(bool),
    Null,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn err(&self, reason: &'static str) -> Error {
        if self.pos >= self.b.len() {
            Error::Truncated {
                format: FORMAT,
                offset: self.pos,
            }
        } else {
            Error::Malformed {
                format: FORMAT,
                offset: self.pos,
                reason,
            }
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8, reason: &'static str) -> Result<(), Error> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(reason))
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let h = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let s = core::str::from_utf8(h).map_err(|_| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, Error> {
        self.expect(b'"', "expected a string")?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&c) = self.b.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let chunk = self.b.get(start..self.pos).unwrap_or(&[]);
            out.push_str(core::str::from_utf8(chunk).map_err(|_| Error::Malformed {
                format: FORMAT,
                offset: start,
                reason: "string is not UTF-8",
            })?);
            match self.b.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let e = *self
                        .b
                        .get(self.pos)
                        .ok_or_else(|| self.err("short escape"))?;
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                self.literal(b"\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(
                                char::from_u32(cp).ok_or_else(|| self.err("invalid code point"))?,
                            );
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn number(&mut self) -> Result<Json, Error> {
        let start = self.pos;
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        while self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let int_len = self.pos - int_start;
        if int_len == 0 || (int_len > 1 && self.b.get(int_start) == Some(&b'0')) {
            return Err(Error::Malformed {
                format: FORMAT,
                offset: start,
                reason: "invalid number",
            });
        }
        let mut float = false;
        if self.b.get(self.pos) == Some(&b'.') {
            float = true;
            self.pos += 1;
            let s = self.pos;
            while self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
            if self.pos == s {
                return Err(Error::Malformed {
                    format: FORMAT,
                    offset: start,
                    reason: "invalid number",
                });
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.pos) {
            float = true;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.b.get(self.pos) {
                self.pos += 1;
            }
            let s = self.pos;
            while self.b.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
            if self.pos == s {
                return Err(Error::Malformed {
                    format: FORMAT,
                    offset: start,
                    reason: "invalid number",
                });
            }
        }
        let text = core::str::from_utf8(self.b.get(start..self.pos).unwrap_or(&[]))
            .map_err(|_| self.err("invalid number"))?;
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Json::Int(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Json::Uint(u));
            }
        }
        let f: f64 = text.parse().map_err(|_| Error::Malformed {
            format: FORMAT,
            offset: start,
            reason: "invalid number",
        })?;
        if !f.is_finite() {
            return Err(Error::Malformed {
                format: FORMAT,
                offset: start,
                reason: "number out of range",
            });
        }
        Ok(Json::Float(f))
    }

    fn scalar(&mut self) -> Result<Json, Error> {
        match self.peek() {
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.literal(b"true").map(|_| Json::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|_| Json::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|_| Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("expected a string, number, boolean or null")),
        }
    }
}

/// Parses a SenML-JSON document into a pack (any SenML names; fields kept in order).
///
/// ```
/// use mote_lwm2m::senml::{Number, SenmlValue, json};
///
/// // RFC 8428 §5.1.1.
/// let pack = json::parse_pack(br#"[{"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}]"#)?;
/// assert_eq!(pack[0].u.as_deref(), Some("Cel"));
/// assert_eq!(pack[0].value, Some(SenmlValue::Number(Number::Float(23.1))));
/// assert!(json::parse_pack(b"[{").is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn parse_pack(bytes: &[u8]) -> Result<Pack<'static>, Error> {
    let mut r = Reader { b: bytes, pos: 0 };
    let mut out = Vec::new();
    r.expect(b'[', "expected '['")?;
    if r.peek() == Some(b']') {
        r.pos += 1;
    } else {
        loop {
            out.push(record(&mut r)?);
            match r.peek() {
                Some(b',') => r.pos += 1,
                Some(b']') => {
                    r.pos += 1;
                    break;
                }
                _ => return Err(r.err("expected ',' or ']'")),
            }
        }
    }
    if r.peek().is_some() {
        return Err(r.err("trailing data after the array"));
    }
    Ok(out)
}

fn num(j: Json, r: &Reader<'_>) -> Result<Number, Error> {
    match j {
        Json::Int(i) => Ok(Number::Int(i)),
        Json::Uint(u) => Ok(Number::Uint(u)),
        Json::Float(f) => Ok(Number::Float(f)),
        _ => Err(r.err("expected a number")),
    }
}

fn record(r: &mut Reader<'_>) -> Result<SenmlRecord<'static>, Error> {
    r.ws();
    let mut rec = SenmlRecord {
        offset: r.pos,
        ..SenmlRecord::default()
    };
    r.expect(b'{', "expected '{'")?;
    if r.peek() == Some(b'}') {
        r.pos += 1;
        return Ok(rec);
    }
    loop {
        r.ws();
        let key_at = r.pos;
        let key = r.string()?;
        r.expect(b':', "expected ':'")?;
        let val = r.scalar()?;
        let bad = |reason| Error::Malformed {
            format: FORMAT,
            offset: key_at,
            reason,
        };
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
        let label = match (key.as_str(), val) {
            ("bver", Json::Int(i)) => {
                set(
                    &mut rec.bver,
                    u64::try_from(i).map_err(|_| bad("bver is negative"))?,
                    key_at,
                )?;
                Label::Version
            }
            ("bn", Json::Str(s)) => {
                set(&mut rec.bn, Cow::Owned(s), key_at)?;
                Label::BaseName
            }
            ("bu", Json::Str(s)) => {
                set(&mut rec.bu, Cow::Owned(s), key_at)?;
                Label::BaseUnit
            }
            ("n", Json::Str(s)) => {
                set(&mut rec.n, Cow::Owned(s), key_at)?;
                Label::Name
            }
            ("u", Json::Str(s)) => {
                set(&mut rec.u, Cow::Owned(s), key_at)?;
                Label::Unit
            }
            ("bt", j) => {
                set(&mut rec.bt, num(j, r)?, key_at)?;
                Label::BaseTime
            }
            ("bv", j) => {
                set(&mut rec.bv, num(j, r)?, key_at)?;
                Label::BaseValue
            }
            ("bs", j) => {
                set(&mut rec.bs, num(j, r)?, key_at)?;
                Label::BaseSum
            }
            ("s", j) => {
                set(&mut rec.s, num(j, r)?, key_at)?;
                Label::Sum
            }
            ("t", j) => {
                set(&mut rec.t, num(j, r)?, key_at)?;
                Label::Time
            }
            ("ut", j) => {
                set(&mut rec.ut, num(j, r)?, key_at)?;
                Label::UpdateTime
            }
            ("v", j) => {
                set(&mut rec.value, SenmlValue::Number(num(j, r)?), key_at)?;
                Label::Value
            }
            ("vs", Json::Str(s)) => {
                set(&mut rec.value, SenmlValue::String(Cow::Owned(s)), key_at)?;
                Label::Value
            }
            ("vb", Json::Bool(b)) => {
                set(&mut rec.value, SenmlValue::Boolean(b), key_at)?;
                Label::Value
            }
            ("vd", Json::Str(s)) => {
                let d = crate::base64::decode(&s).map_err(|_| bad("vd is not base64"))?;
                set(&mut rec.value, SenmlValue::Data(Cow::Owned(d)), key_at)?;
                Label::Value
            }
            ("vlo", Json::Str(s)) => {
                set(
                    &mut rec.value,
                    SenmlValue::ObjectLink(Cow::Owned(s)),
                    key_at,
                )?;
                Label::Value
            }
            ("bver" | "bn" | "bu" | "n" | "u" | "vs" | "vb" | "vd" | "vlo", _) => {
                return Err(bad("field has the wrong JSON type"));
            }
            (k, _) if k.ends_with('_') => return Err(bad("unknown must-understand field")),
            _ => {
                if r.peek() == Some(b',') {
                    r.pos += 1;
                    continue;
                }
                r.expect(b'}', "expected ',' or '}'")?;
                return Ok(rec);
            }
        };
        rec.push_order(label);
        match r.peek() {
            Some(b',') => r.pos += 1,
            Some(b'}') => {
                r.pos += 1;
                return Ok(rec);
            }
            _ => return Err(r.err("expected ',' or '}'")),
        }
    }
}
