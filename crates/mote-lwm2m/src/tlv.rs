//! OMA-TLV, content format 11542 (LwM2M TS Core 1.2 §7.4.3 "TLV").
//!
//! Each entry is a type byte (bits 7–6: 00 Object Instance, 01 Resource Instance,
//! 10 Multiple Resource, 11 Resource with value; bit 5: 16-bit identifier; bits 4–3: no
//! length field / 8 / 16 / 24-bit length field; bits 2–0: the length when there is no
//! length field), the identifier, the length and the value. Values carry no type, so
//! decoding looks the resource up in the object definitions (unknown resources decode as
//! opaque). The encoder always picks the shortest identifier, length and integer forms.

use alloc::vec::Vec;

use crate::data::Record;
use crate::error::Error;
use crate::ids::ObjectLink;
use crate::object::ObjectDefs;
use crate::path::{Path, PathLevel};
use crate::value::{ResourceType, Value};

const FORMAT: &str = "TLV";

/// The identifier type of a TLV entry (type byte bits 7–6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlvKind {
    /// `00`: an Object Instance holding Resource TLVs.
    ObjectInstance = 0,
    /// `01`: a Resource Instance inside a Multiple Resource TLV.
    ResourceInstance = 1,
    /// `10`: a Multiple Resource holding Resource Instance TLVs.
    MultipleResource = 2,
    /// `11`: a Resource with its value.
    Resource = 3,
}

/// One TLV entry, borrowed from the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Identifier type.
    pub kind: TlvKind,
    /// Identifier.
    pub id: u16,
    /// Value bytes (nested TLVs for Object Instance and Multiple Resource).
    pub value: &'a [u8],
    /// Offset of the value in the payload, for error reporting.
    pub offset: usize,
}

/// Iterates over the TLV entries of one nesting level. Yields an error (and then stops)
/// on a truncated or malformed entry.
#[derive(Clone, Debug)]
pub struct TlvIter<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Entries of `buf`, reporting offsets relative to `base`.
    ///
    /// ```
    /// use mote_lwm2m::tlv::{TlvIter, TlvKind};
    ///
    /// // Two Resource TLVs: /x/x/9 = 0x64 and /x/x/10 = 0x0F.
    /// let entries: Vec<_> = TlvIter::new(&[0xC1, 0x09, 0x64, 0xC1, 0x0A, 0x0F], 0).collect::<Result<_, _>>()?;
    /// assert_eq!(entries.len(), 2);
    /// assert_eq!((entries[0].kind, entries[0].id, entries[0].value), (TlvKind::Resource, 9, &[0x64][..]));
    /// // A truncated entry is an error.
    /// assert!(TlvIter::new(&[0xC1, 0x09], 0).next().is_some_and(|e| e.is_err()));
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        TlvIter {
            buf,
            pos: 0,
            base,
            failed: false,
        }
    }

    fn byte(&self, at: usize) -> Result<u8, Error> {
        self.buf.get(at).copied().ok_or(Error::Truncated {
            format: FORMAT,
            offset: self.base + at,
        })
    }

    fn next_entry(&mut self) -> Result<Tlv<'a>, Error> {
        let start = self.pos;
        let t = self.byte(start)?;
        let kind = match t >> 6 {
            0 => TlvKind::ObjectInstance,
            1 => TlvKind::ResourceInstance,
            2 => TlvKind::MultipleResource,
            _ => TlvKind::Resource,
        };
        let mut at = start + 1;
        let id = if t & 0x20 != 0 {
            let id = u16::from_be_bytes([self.byte(at)?, self.byte(at + 1)?]);
            at += 2;
            id
        } else {
            let id = u16::from(self.byte(at)?);
            at += 1;
            id
        };
        if id == crate::ids::MAX_ID {
            return Err(Error::Malformed {
                format: FORMAT,
                offset: self.base + start,
                reason: "identifier 65535 is reserved",
            });
        }
        let len_bytes = usize::from((t >> 3) & 0x03);
        let len = if len_bytes == 0 {
            usize::from(t & 0x07)
        } else {
            let mut l = 0usize;
            for _ in 0..len_bytes {
                l = (l << 8) | usize::from(self.byte(at)?);
                at += 1;
            }
            l
        };
        let end = at.checked_add(len).ok_or(Error::Truncated {
            format: FORMAT,
            offset: self.base + at,
        })?;
        let value = self.buf.get(at..end).ok_or(Error::Truncated {
            format: FORMAT,
            offset: self.base + self.buf.len(),
        })?;
        self.pos = end;
        Ok(Tlv {
            kind,
            id,
            value,
            offset: self.base + at,
        })
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let r = self.next_entry();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Writes one TLV header and value.
fn put(out: &mut Vec<u8>, kind: TlvKind, id: u16, value: &[u8]) -> Result<(), Error> {
    let len = value.len();
    let mut t = (kind as u8) << 6;
    if id > 0xFF {
        t |= 0x20;
    }
    let len_bytes: usize = match len {
        0..=7 => {
            t |= len as u8;
            0
        }
        8..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => {
            return Err(Error::Unrepresentable {
                format: FORMAT,
                reason: "entry longer than 16 MiB",
            });
        }
    };
    t |= (len_bytes as u8) << 3;
    out.push(t);
    if id > 0xFF {
        out.extend_from_slice(&id.to_be_bytes());
    } else {
        out.push(id as u8);
    }
    let lb = (len as u32).to_be_bytes();
    out.extend_from_slice(lb.get(4 - len_bytes..).unwrap_or(&[]));
    out.extend_from_slice(value);
    Ok(())
}

/// The TLV value bytes of `value` (Appendix C "TLV Format"): integers in the shortest of
/// 1/2/4/8 bytes, floats in 4 bytes when exact and 8 otherwise, booleans in 1 byte,
/// Objlnk in 4 bytes.
///
/// ```
/// use mote_lwm2m::Value;
/// use mote_lwm2m::tlv::value_bytes;
///
/// let mut out = Vec::new();
/// value_bytes(&Value::Integer(5000), &mut out);
/// assert_eq!(out, [0x13, 0x88]); // the shortest of 1/2/4/8 bytes
/// out.clear();
/// value_bytes(&Value::Boolean(true), &mut out);
/// assert_eq!(out, [0x01]);
/// ```
pub fn value_bytes(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::String(s) | Value::Corelnk(s) => out.extend_from_slice(s.as_bytes()),
        Value::Opaque(o) => out.extend_from_slice(o),
        Value::Integer(i) | Value::Time(i) => {
            let i = *i;
            if let Ok(v) = i8::try_from(i) {
                out.extend_from_slice(&v.to_be_bytes());
            } else if let Ok(v) = i16::try_from(i) {
                out.extend_from_slice(&v.to_be_bytes());
            } else if let Ok(v) = i32::try_from(i) {
                out.extend_from_slice(&v.to_be_bytes());
            } else {
                out.extend_from_slice(&i.to_be_bytes());
            }
        }
        Value::UnsignedInteger(u) => {
            let u = *u;
            if let Ok(v) = u8::try_from(u) {
                out.push(v);
            } else if let Ok(v) = u16::try_from(u) {
                out.extend_from_slice(&v.to_be_bytes());
            } else if let Ok(v) = u32::try_from(u) {
                out.extend_from_slice(&v.to_be_bytes());
            } else {
                out.extend_from_slice(&u.to_be_bytes());
            }
        }
        Value::Float(f) => {
            let s = *f as f32;
            if f64::from(s) == *f || f.is_nan() {
                out.extend_from_slice(&s.to_be_bytes());
            } else {
                out.extend_from_slice(&f.to_be_bytes());
            }
        }
        Value::Boolean(b) => out.push(u8::from(*b)),
        Value::Objlnk(l) => out.extend_from_slice(&l.to_bytes()),
    }
}

/// Decodes TLV value bytes as type `ty`.
///
/// ```
/// use mote_lwm2m::tlv::decode_value;
/// use mote_lwm2m::{ResourceType, Value};
///
/// assert_eq!(decode_value(ResourceType::Integer, &[0x13, 0x88], 0)?, Value::Integer(5000));
/// assert_eq!(decode_value(ResourceType::Boolean, &[0x01], 0)?, Value::Boolean(true));
/// assert!(decode_value(ResourceType::Integer, &[1, 2, 3], 0).is_err()); // 3 bytes is no size
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode_value(ty: ResourceType, b: &[u8], offset: usize) -> Result<Value, Error> {
    let bad = |reason| Error::Malformed {
        format: FORMAT,
        offset,
        reason,
    };
    Ok(match ty {
        ResourceType::String => Value::String(
            core::str::from_utf8(b)
                .map_err(|_| bad("string is not UTF-8"))?
                .into(),
        ),
        ResourceType::Corelnk => Value::Corelnk(
            core::str::from_utf8(b)
                .map_err(|_| bad("string is not UTF-8"))?
                .into(),
        ),
        ResourceType::Opaque | ResourceType::None => Value::Opaque(b.to_vec()),
        ResourceType::Integer | ResourceType::Time => {
            let i = match *b {
                [a] => i64::from(a as i8),
                [a, b] => i64::from(i16::from_be_bytes([a, b])),
                [a, b, c, d] => i64::from(i32::from_be_bytes([a, b, c, d])),
                [a, b, c, d, e, f, g, h] => i64::from_be_bytes([a, b, c, d, e, f, g, h]),
                _ => return Err(bad("integer length is not 1, 2, 4 or 8")),
            };
            if ty == ResourceType::Time {
                Value::Time(i)
            } else {
                Value::Integer(i)
            }
        }
        ResourceType::UnsignedInteger => Value::UnsignedInteger(match *b {
            [a] => u64::from(a),
            [a, b] => u64::from(u16::from_be_bytes([a, b])),
            [a, b, c, d] => u64::from(u32::from_be_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => return Err(bad("unsigned integer length is not 1, 2, 4 or 8")),
        }),
        ResourceType::Float => Value::Float(match *b {
            [a, b, c, d] => f64::from(f32::from_be_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => f64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => return Err(bad("float length is not 4 or 8")),
        }),
        ResourceType::Boolean => match b {
            [0] => Value::Boolean(false),
            [1] => Value::Boolean(true),
            _ => return Err(bad("boolean is not one byte 0 or 1")),
        },
        ResourceType::Objlnk => {
            Value::Objlnk(ObjectLink::from_bytes(b).map_err(|_| bad("object link is not 4 bytes"))?)
        }
    })
}

/// Encodes `records` as the TLV payload of a request on `base`:
/// - `/O`: Object Instance TLVs (mandatory there, §7.4.3);
/// - `/O/I`: Resource and Multiple Resource TLVs, without the optional instance wrapper;
/// - `/O/I/R`: one Resource TLV, or a Multiple Resource TLV when the records are
///   resource instances;
/// - `/O/I/R/RI`: one Resource Instance TLV.
///
/// TLV has no Object ID field, so `/` is refused, as are records outside `base` and
/// duplicate paths. Times are not representable and are dropped.
///
/// ```
/// use mote_lwm2m::{Path, Record, Value};
///
/// // LwM2M TS Core 1.2 §7.4.3: a Multiple Resource TLV at /3/0/6.
/// let records = [
///     Record::new("/3/0/6/0".parse()?, Value::Integer(1)),
///     Record::new("/3/0/6/1".parse()?, Value::Integer(5)),
/// ];
/// let tlv = mote_lwm2m::tlv::encode(&"/3/0".parse()?, &records)?;
/// assert_eq!(tlv, [0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05]);
/// assert!(mote_lwm2m::tlv::encode(&Path::ROOT, &records).is_err()); // TLV has no Object ID
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encode(base: &Path, records: &[Record]) -> Result<Vec<u8>, Error> {
    let sorted = checked(base, records)?;
    let mut out = Vec::new();
    match base.level() {
        PathLevel::Root => return Err(no_object_ids()),
        PathLevel::Object => {
            for group in sorted.chunk_by(|a, b| a.path.ids().get(1) == b.path.ids().get(1)) {
                let mut inner = Vec::new();
                encode_resources(group, &mut inner)?;
                put(
                    &mut out,
                    TlvKind::ObjectInstance,
                    instance_of(group),
                    &inner,
                )?;
            }
        }
        PathLevel::Instance | PathLevel::Resource => encode_resources(&sorted, &mut out)?,
        PathLevel::ResourceInstance => {
            for r in &sorted {
                let mut v = Vec::new();
                value_bytes(&r.value, &mut v);
                put(
                    &mut out,
                    TlvKind::ResourceInstance,
                    base.ids().get(3).copied().unwrap_or(0),
                    &v,
                )?;
            }
        }
    }
    Ok(out)
}

/// The length of [`encode`]'s output, computed without writing it.
///
/// ```
/// use mote_lwm2m::{Record, Value};
///
/// let records = [Record::new("/3/0/9".parse()?, Value::Integer(100))];
/// assert_eq!(mote_lwm2m::tlv::encoded_len(&"/3/0".parse()?, &records)?, 3);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn encoded_len(base: &Path, records: &[Record]) -> Result<usize, Error> {
    let sorted = checked(base, records)?;
    let mut n = 0usize;
    match base.level() {
        PathLevel::Root => return Err(no_object_ids()),
        PathLevel::Object => {
            for group in sorted.chunk_by(|a, b| a.path.ids().get(1) == b.path.ids().get(1)) {
                n += entry_len(instance_of(group), resources_len(group)?)?;
            }
        }
        PathLevel::Instance | PathLevel::Resource => n = resources_len(&sorted)?,
        PathLevel::ResourceInstance => {
            for r in &sorted {
                n += entry_len(base.ids().get(3).copied().unwrap_or(0), value_len(&r.value))?;
            }
        }
    }
    Ok(n)
}

fn no_object_ids() -> Error {
    Error::Unrepresentable {
        format: FORMAT,
        reason: "TLV cannot carry Object IDs (request on /)",
    }
}

fn instance_of(group: &[&Record]) -> u16 {
    group
        .first()
        .and_then(|r| r.path.ids().get(1).copied())
        .unwrap_or(0)
}

/// The length of one TLV (header and value) with a value of `len` bytes (as [`put`]
/// writes it).
fn entry_len(id: u16, len: usize) -> Result<usize, Error> {
    let len_bytes = match len {
        0..=7 => 0,
        8..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => {
            return Err(Error::Unrepresentable {
                format: FORMAT,
                reason: "entry longer than 16 MiB",
            });
        }
    };
    Ok(1 + if id > 0xFF { 2 } else { 1 } + len_bytes + len)
}

/// The length of [`value_bytes`]'s output.
fn value_len(value: &Value) -> usize {
    match value {
        Value::String(s) | Value::Corelnk(s) => s.len(),
        Value::Opaque(o) => o.len(),
        Value::Integer(i) | Value::Time(i) => {
            let i = *i;
            if i8::try_from(i).is_ok() {
                1
            } else if i16::try_from(i).is_ok() {
                2
            } else if i32::try_from(i).is_ok() {
                4
            } else {
                8
            }
        }
        Value::UnsignedInteger(u) => {
            let u = *u;
            if u8::try_from(u).is_ok() {
                1
            } else if u16::try_from(u).is_ok() {
                2
            } else if u32::try_from(u).is_ok() {
                4
            } else {
                8
            }
        }
        Value::Float(f) => {
            if f64::from(*f as f32) == *f || f.is_nan() {
                4
            } else {
                8
            }
        }
        Value::Boolean(_) => 1,
        Value::Objlnk(_) => 4,
    }
}

/// The length of [`encode_resources`]'s output.
fn resources_len(records: &[&Record]) -> Result<usize, Error> {
    let mut n = 0;
    for group in records.chunk_by(|a, b| a.path.ids().get(2) == b.path.ids().get(2)) {
        let Some(first) = group.first() else { continue };
        let rid = first.path.ids().get(2).copied().unwrap_or(0);
        if first.path.len() == 3 {
            n += entry_len(rid, value_len(&first.value))?;
        } else {
            let mut inner = 0;
            for r in group {
                inner += entry_len(
                    r.path.ids().get(3).copied().unwrap_or(0),
                    value_len(&r.value),
                )?;
            }
            n += entry_len(rid, inner)?;
        }
    }
    Ok(n)
}

/// The records sorted by path, checked: no duplicate or conflicting paths, each a
/// resource (instance) under `base`.
fn checked<'r>(base: &Path, records: &'r [Record]) -> Result<Vec<&'r Record>, Error> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| r.path);
    for w in sorted.windows(2) {
        if let [a, b] = w {
            if a.path == b.path || b.path.starts_with(&a.path) {
                return Err(Error::Path {
                    path: b.path,
                    reason: "duplicate or conflicting path",
                });
            }
        }
    }
    for r in &sorted {
        if !r.path.starts_with(base) || r.path.len() < 3 {
            return Err(Error::Path {
                path: r.path,
                reason: "record is not a resource under the request path",
            });
        }
    }
    Ok(sorted)
}

/// Resource-level TLVs for sorted records of one instance.
fn encode_resources(records: &[&Record], out: &mut Vec<u8>) -> Result<(), Error> {
    let mut v = Vec::new();
    for group in records.chunk_by(|a, b| a.path.ids().get(2) == b.path.ids().get(2)) {
        let Some(first) = group.first() else { continue };
        let rid = first.path.ids().get(2).copied().unwrap_or(0);
        if first.path.len() == 3 {
            v.clear();
            value_bytes(&first.value, &mut v);
            put(out, TlvKind::Resource, rid, &v)?;
        } else {
            let mut inner = Vec::new();
            for r in group {
                v.clear();
                value_bytes(&r.value, &mut v);
                put(
                    &mut inner,
                    TlvKind::ResourceInstance,
                    r.path.ids().get(3).copied().unwrap_or(0),
                    &v,
                )?;
            }
            put(out, TlvKind::MultipleResource, rid, &inner)?;
        }
    }
    Ok(())
}

/// Decodes a TLV payload received for a request on `base` (see [`encode`] for the shapes;
/// the decoder also accepts the optional Object Instance wrapper at `/O/I` and bare
/// Resource Instance TLVs at `/O/I/R`). Types come from `defs`; unknown resources are
/// opaque. Records come out sorted by path.
///
/// ```
/// use mote_lwm2m::object::{Builtin, NoDefs};
/// use mote_lwm2m::{Record, Value};
///
/// let tlv = [0x86, 0x06, 0x41, 0x00, 0x01, 0x41, 0x01, 0x05];
/// let records = mote_lwm2m::tlv::decode(&"/3/0".parse()?, &tlv, &Builtin)?;
/// assert_eq!(records, [
///     Record::new("/3/0/6/0".parse()?, Value::Integer(1)),
///     Record::new("/3/0/6/1".parse()?, Value::Integer(5)),
/// ]);
/// // Without definitions the values stay opaque.
/// let raw = mote_lwm2m::tlv::decode(&"/3/0".parse()?, &tlv, &NoDefs)?;
/// assert_eq!(raw[0].value, Value::Opaque(vec![0x01]));
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn decode(
    base: &Path,
    bytes: &[u8],
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    let mut out = Vec::new();
    let ids = base.ids();
    let wrong = |offset, reason| Error::Malformed {
        format: FORMAT,
        offset,
        reason,
    };
    match base.level() {
        PathLevel::Root => {
            return Err(Error::Unrepresentable {
                format: FORMAT,
                reason: "TLV cannot carry Object IDs (request on /)",
            });
        }
        PathLevel::Object => {
            for t in TlvIter::new(bytes, 0) {
                let t = t?;
                if t.kind != TlvKind::ObjectInstance {
                    return Err(wrong(
                        t.offset,
                        "expected Object Instance TLVs for a request on /O",
                    ));
                }
                decode_resources(&base.child(t.id)?, t.value, t.offset, defs, &mut out)?;
            }
        }
        PathLevel::Instance => {
            let mut iter = TlvIter::new(bytes, 0).peekable();
            if let Some(Ok(first)) = iter.peek() {
                if first.kind == TlvKind::ObjectInstance {
                    for t in iter {
                        let t = t?;
                        if t.kind != TlvKind::ObjectInstance || Some(&t.id) != ids.get(1) {
                            return Err(wrong(
                                t.offset,
                                "Object Instance TLV does not match the request path",
                            ));
                        }
                        decode_resources(base, t.value, t.offset, defs, &mut out)?;
                    }
                    return finish(out);
                }
            }
            decode_resources(base, bytes, 0, defs, &mut out)?;
        }
        PathLevel::Resource => {
            let inst = base.truncate(2);
            let rid = ids.get(2).copied().unwrap_or(0);
            for t in TlvIter::new(bytes, 0) {
                let t = t?;
                match t.kind {
                    TlvKind::Resource | TlvKind::MultipleResource if t.id == rid => {
                        decode_resource(&inst, t, defs, &mut out)?;
                    }
                    TlvKind::ResourceInstance => {
                        let p = base.child(t.id)?;
                        out.push(Record::new(p, typed(&p, t, defs)?));
                    }
                    _ => return Err(wrong(t.offset, "TLV does not match the request path")),
                }
            }
        }
        PathLevel::ResourceInstance => {
            for t in TlvIter::new(bytes, 0) {
                let t = t?;
                if t.kind != TlvKind::ResourceInstance || Some(&t.id) != ids.get(3) {
                    return Err(wrong(t.offset, "TLV does not match the request path"));
                }
                out.push(Record::new(*base, typed(base, t, defs)?));
            }
        }
    }
    finish(out)
}

fn finish(mut out: Vec<Record>) -> Result<Vec<Record>, Error> {
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

fn typed(path: &Path, t: Tlv<'_>, defs: &(impl ObjectDefs + ?Sized)) -> Result<Value, Error> {
    let ty = defs
        .resource_at(path)
        .map_or(ResourceType::Opaque, |d| d.kind);
    decode_value(ty, t.value, t.offset)
}

/// Resource and Multiple Resource TLVs of the instance at `inst`.
fn decode_resources(
    inst: &Path,
    bytes: &[u8],
    base: usize,
    defs: &(impl ObjectDefs + ?Sized),
    out: &mut Vec<Record>,
) -> Result<(), Error> {
    for t in TlvIter::new(bytes, base) {
        decode_resource(inst, t?, defs, out)?;
    }
    Ok(())
}

fn decode_resource(
    inst: &Path,
    t: Tlv<'_>,
    defs: &(impl ObjectDefs + ?Sized),
    out: &mut Vec<Record>,
) -> Result<(), Error> {
    let p = inst.child(t.id)?;
    match t.kind {
        TlvKind::Resource => out.push(Record::new(p, typed(&p, t, defs)?)),
        TlvKind::MultipleResource => {
            for ri in TlvIter::new(t.value, t.offset) {
                let ri = ri?;
                if ri.kind != TlvKind::ResourceInstance {
                    return Err(Error::Malformed {
                        format: FORMAT,
                        offset: ri.offset,
                        reason: "Multiple Resource TLV holds a non Resource Instance TLV",
                    });
                }
                let rp = p.child(ri.id)?;
                out.push(Record::new(rp, typed(&rp, ri, defs)?));
            }
        }
        _ => {
            return Err(Error::Malformed {
                format: FORMAT,
                offset: t.offset,
                reason: "expected a Resource or Multiple Resource TLV",
            });
        }
    }
    Ok(())
}
