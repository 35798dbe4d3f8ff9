//! SenML for LwM2M: SenML-JSON (content format 110) and SenML-CBOR (112), RFC 8428, as
//! profiled by LwM2M TS Core 1.2 §7.4.4 and §7.4.5, with the `vlo` Object Link field and
//! the composite operations' bodies (Read-Composite and Observe-Composite requests carry
//! names only, RFC 8790; Write-Composite and Send carry values, Send with times).
//!
//! Two layers:
//! - the generic SenML [`Pack`] of [`SenmlRecord`]s — every RFC 8428 field, kept in the
//!   order it was read or set, so any SenML document (not only LwM2M ones) round-trips
//!   byte for byte;
//! - the LwM2M mapping: names resolve (base name carried forward and prepended, RFC 8428
//!   §4.6) to LwM2M paths, base time carries forward and adds to time (§4.5.3), values are
//!   typed with the object definitions.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::data::Record;
use crate::error::Error;
use crate::ids::ObjectLink;
use crate::object::ObjectDefs;
use crate::path::Path;
use crate::value::{ResourceType, Value};

pub mod cbor;
#[cfg(feature = "senml-json")]
pub mod json;

/// A SenML field label (RFC 8428 §4.1, §6 Table 4) plus LwM2M's `vlo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// `bver`, CBOR -1.
    Version,
    /// `bn`, -2.
    BaseName,
    /// `bt`, -3.
    BaseTime,
    /// `bu`, -4.
    BaseUnit,
    /// `bv`, -5.
    BaseValue,
    /// `bs`, -6.
    BaseSum,
    /// `n`, 0.
    Name,
    /// `u`, 1.
    Unit,
    /// `v`, `vs`, `vb`, `vd` or `vlo`: the record's one value.
    Value,
    /// `s`, 5.
    Sum,
    /// `t`, 6.
    Time,
    /// `ut`, 7.
    UpdateTime,
}

/// The order used when a record does not say: RFC 8428's table order.
const CANONICAL: [Label; 12] = [
    Label::Version,
    Label::BaseName,
    Label::BaseTime,
    Label::BaseUnit,
    Label::BaseValue,
    Label::BaseSum,
    Label::Name,
    Label::Unit,
    Label::Value,
    Label::Sum,
    Label::Time,
    Label::UpdateTime,
];

/// A SenML number: JSON and CBOR distinguish integers from floats, and so do we.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// An integer in `i64` range.
    Int(i64),
    /// A positive integer above `i64::MAX`.
    Uint(u64),
    /// A float.
    Float(f64),
}

impl Number {
    /// The value as `f64`.
    ///
    /// ```
    /// use mote_lwm2m::senml::Number;
    ///
    /// assert_eq!(Number::Int(-3).as_f64(), -3.0);
    /// assert_eq!(Number::Float(0.5).as_f64(), 0.5);
    /// ```
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Uint(u) => u as f64,
            Number::Float(f) => f,
        }
    }
}

/// A record's value field.
#[derive(Clone, Debug, PartialEq)]
pub enum SenmlValue<'a> {
    /// `v`
    Number(Number),
    /// `vs`
    String(Cow<'a, str>),
    /// `vb`
    Boolean(bool),
    /// `vd`
    Data(Cow<'a, [u8]>),
    /// `vlo` (LwM2M TS Core §7.4.4: Object Link as `"O:I"`).
    ObjectLink(Cow<'a, str>),
}

/// One SenML record with every RFC 8428 field, and the order of its fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SenmlRecord<'a> {
    /// `bver`
    pub bver: Option<u64>,
    /// `bn`
    pub bn: Option<Cow<'a, str>>,
    /// `bt`
    pub bt: Option<Number>,
    /// `bu`
    pub bu: Option<Cow<'a, str>>,
    /// `bv`
    pub bv: Option<Number>,
    /// `bs`
    pub bs: Option<Number>,
    /// `n`
    pub n: Option<Cow<'a, str>>,
    /// `u`
    pub u: Option<Cow<'a, str>>,
    /// The value field.
    pub value: Option<SenmlValue<'a>>,
    /// `s`
    pub s: Option<Number>,
    /// `t`
    pub t: Option<Number>,
    /// `ut`
    pub ut: Option<Number>,
    order: [Option<Label>; 12],
    /// Byte offset of the record in the payload it was read from.
    pub offset: usize,
}

impl<'a> SenmlRecord<'a> {
    /// Notes that `label` comes next in this record's field order (decoders call this as
    /// they read; a record built by hand without calls is written in RFC 8428 order).
    ///
    /// ```
    /// use mote_lwm2m::senml::{Label, Number, SenmlRecord, SenmlValue};
    ///
    /// let mut r = SenmlRecord::default();
    /// r.n = Some("/3/0/9".into());
    /// r.value = Some(SenmlValue::Number(Number::Int(100)));
    /// r.push_order(Label::Value); // write `v` before `n`
    /// let json = mote_lwm2m::senml::json::write_pack(&[r])?;
    /// assert_eq!(json, br#"[{"v":100,"n":"/3/0/9"}]"#);
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn push_order(&mut self, label: Label) {
        if self.order.contains(&Some(label)) {
            return;
        }
        if let Some(slot) = self.order.iter_mut().find(|s| s.is_none()) {
            *slot = Some(label);
        }
    }

    /// The labels to write, in order: the recorded order, then any present field not in it.
    ///
    /// ```
    /// use mote_lwm2m::senml::{Label, Number, SenmlRecord, SenmlValue};
    ///
    /// let mut r = SenmlRecord::default();
    /// r.n = Some("/3/0/9".into());
    /// r.t = Some(Number::Int(5));
    /// r.value = Some(SenmlValue::Number(Number::Int(100)));
    /// // Built by hand: RFC 8428 order.
    /// assert_eq!(r.labels().collect::<Vec<_>>(), [Label::Name, Label::Value, Label::Time]);
    /// ```
    pub fn labels(&self) -> impl Iterator<Item = Label> + '_ {
        let recorded = self
            .order
            .iter()
            .filter_map(|l| *l)
            .filter(move |l| self.has(*l));
        let rest = CANONICAL
            .into_iter()
            .filter(move |l| self.has(*l) && !self.order.contains(&Some(*l)));
        recorded.chain(rest)
    }

    /// The record with every borrowed string and byte string copied.
    ///
    /// ```
    /// use mote_lwm2m::senml::{SenmlRecord, cbor};
    ///
    /// let bytes = cbor::encode_paths(&["/3/0/9".parse()?]);
    /// let owned: Vec<SenmlRecord<'static>> =
    ///     cbor::parse_pack(&bytes)?.into_iter().map(SenmlRecord::into_owned).collect();
    /// drop(bytes);
    /// assert_eq!(owned[0].n.as_deref(), Some("/3/0/9"));
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn into_owned(self) -> SenmlRecord<'static> {
        let own = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        SenmlRecord {
            bver: self.bver,
            bn: own(self.bn),
            bt: self.bt,
            bu: own(self.bu),
            bv: self.bv,
            bs: self.bs,
            n: own(self.n),
            u: own(self.u),
            value: self.value.map(|v| match v {
                SenmlValue::Number(n) => SenmlValue::Number(n),
                SenmlValue::String(s) => SenmlValue::String(Cow::Owned(s.into_owned())),
                SenmlValue::Boolean(b) => SenmlValue::Boolean(b),
                SenmlValue::Data(d) => SenmlValue::Data(Cow::Owned(d.into_owned())),
                SenmlValue::ObjectLink(s) => SenmlValue::ObjectLink(Cow::Owned(s.into_owned())),
            }),
            s: self.s,
            t: self.t,
            ut: self.ut,
            order: self.order,
            offset: self.offset,
        }
    }

    fn has(&self, l: Label) -> bool {
        match l {
            Label::Version => self.bver.is_some(),
            Label::BaseName => self.bn.is_some(),
            Label::BaseTime => self.bt.is_some(),
            Label::BaseUnit => self.bu.is_some(),
            Label::BaseValue => self.bv.is_some(),
            Label::BaseSum => self.bs.is_some(),
            Label::Name => self.n.is_some(),
            Label::Unit => self.u.is_some(),
            Label::Value => self.value.is_some(),
            Label::Sum => self.s.is_some(),
            Label::Time => self.t.is_some(),
            Label::UpdateTime => self.ut.is_some(),
        }
    }
}

/// A SenML Pack: the records of one payload.
pub type Pack<'a> = Vec<SenmlRecord<'a>>;

/// How the encoder writes names and times.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodeOptions {
    /// The base name. `None` chooses automatically from the request path: nothing for `/`
    /// (every name absolute, as in composite payloads), the path itself when the payload
    /// is the one value at the request path, otherwise the request path with a trailing
    /// `/` and names relative to it.
    pub base_name: Option<String>,
    /// The base time written in the first record; record times are written relative to
    /// it. `None` writes each record's time in `t` as is.
    pub base_time: Option<f64>,
}

/// A resolved record: full name, optional value, optional time.
pub(crate) struct Resolved<'a> {
    pub(crate) path: Path,
    pub(crate) value: Option<SenmlValue<'a>>,
    pub(crate) time: Option<f64>,
    pub(crate) offset: usize,
}

/// RFC 8428 §4.6 resolution, one record at a time: base name and base time carry
/// forward; the name (base name + name) must be an LwM2M path. Base value and sums have no
/// meaning in LwM2M and are refused.
pub(crate) struct Resolver<'a> {
    format: &'static str,
    bn: Option<Cow<'a, str>>,
    /// The base name as a path prefix when it is one (`/`, `/3/0/`, `/3/0`): names are then
    /// resolved by appending IDs, without building the concatenated string.
    prefix: Option<(Path, bool)>,
    bt: Option<f64>,
    name: String,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(format: &'static str) -> Self {
        Resolver {
            format,
            bn: None,
            prefix: None,
            bt: None,
            name: String::new(),
        }
    }

    pub(crate) fn resolve(&mut self, r: SenmlRecord<'a>) -> Result<Resolved<'a>, Error> {
        if r.bv.is_some() || r.bs.is_some() || r.s.is_some() {
            return Err(Error::Malformed {
                format: self.format,
                offset: r.offset,
                reason: "base value and sums are not used by LwM2M",
            });
        }
        let n = r.n.as_deref().map(str::as_bytes);
        let (path, time) = self.resolve_name_time(r.bn, r.bt, n, r.t, r.offset)?;
        Ok(Resolved {
            path,
            value: r.value,
            time,
            offset: r.offset,
        })
    }

    /// The path and time of a record with these base name, base time, name and time
    /// fields (each `None` when absent), updating the carried-forward base values. The
    /// name comes as bytes: a name that resolves as a path on the fast route is ASCII
    /// digits and slashes, so only the concatenating route needs (and checks) UTF-8.
    pub(crate) fn resolve_name_time(
        &mut self,
        bn: Option<Cow<'a, str>>,
        bt: Option<Number>,
        n: Option<&[u8]>,
        t: Option<Number>,
        offset: usize,
    ) -> Result<(Path, Option<f64>), Error> {
        let format = self.format;
        if let Some(b) = bn {
            // `(path, ends_with_slash)` when the base name is a path with or without "/".
            self.prefix = if b.as_ref() == "/" {
                Some((Path::ROOT, true))
            } else {
                let slash = b.ends_with('/');
                b.strip_suffix('/')
                    .unwrap_or(&b)
                    .parse::<Path>()
                    .ok()
                    .map(|p| (p, slash))
            };
            self.bn = Some(b);
        }
        if let Some(b) = bt {
            self.bt = Some(b.as_f64());
        }
        let n = n.unwrap_or(b"");
        let fast = match (&self.prefix, n) {
            (None, _) if self.bn.is_none() => match n {
                b"" => None,
                b"/" => Some(Path::ROOT),
                [b'/', rest @ ..] => Path::ROOT.join_relative(rest),
                _ => None,
            },
            (Some((p, _)), b"") => Some(*p),
            (Some((p, true)), n) if !n.starts_with(b"/") && !n.ends_with(b"/") => {
                p.join_relative(n)
            }
            _ => None,
        };
        let path = match fast {
            Some(p) => p,
            None => {
                self.name.clear();
                if let Some(b) = &self.bn {
                    self.name.push_str(b);
                }
                self.name
                    .push_str(core::str::from_utf8(n).map_err(|_| Error::Malformed {
                        format,
                        offset,
                        reason: "name is not UTF-8",
                    })?);
                if self.name.is_empty() {
                    return Err(Error::Malformed {
                        format,
                        offset,
                        reason: "record without name",
                    });
                }
                // A base name such as "/3/0/" followed by no name leaves a trailing slash.
                let name = self.name.as_str();
                let trimmed = if name.len() > 1 {
                    name.strip_suffix('/').unwrap_or(name)
                } else {
                    name
                };
                trimmed.parse().map_err(|_| Error::Malformed {
                    format,
                    offset,
                    reason: "name is not an LwM2M path",
                })?
            }
        };
        let time = match (self.bt, t) {
            (None, None) => None,
            (b, t) => Some(b.unwrap_or(0.0) + t.map_or(0.0, Number::as_f64)),
        };
        // RFC 8428 §4.5.3: times are seconds; a NaN or infinite time (a CBOR float can
        // carry one) is no time at all.
        if time.is_some_and(|t| !t.is_finite()) {
            return Err(Error::Malformed {
                format,
                offset,
                reason: "time is not a finite number",
            });
        }
        Ok((path, time))
    }
}

/// Resolves a whole pack.
pub(crate) fn resolve<'a>(
    format: &'static str,
    pack: Pack<'a>,
) -> Result<Vec<Resolved<'a>>, Error> {
    let mut r = Resolver::new(format);
    pack.into_iter().map(|rec| r.resolve(rec)).collect()
}

/// Types a SenML value with the resource definition at `path` (or without one: numbers
/// become Integer, Unsigned Integer beyond `i64`, or Float).
pub(crate) fn typed(
    path: &Path,
    raw: SenmlValue<'_>,
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Value, Error> {
    let untyped = match raw {
        SenmlValue::Number(Number::Int(i)) => Value::Integer(i),
        SenmlValue::Number(Number::Uint(u)) => Value::UnsignedInteger(u),
        SenmlValue::Number(Number::Float(f)) => Value::Float(f),
        SenmlValue::String(s) => Value::String(s.into_owned()),
        SenmlValue::Boolean(b) => Value::Boolean(b),
        SenmlValue::Data(d) => Value::Opaque(d.into_owned()),
        SenmlValue::ObjectLink(l) => {
            Value::Objlnk(l.parse::<ObjectLink>().map_err(|_| Error::InvalidValue)?)
        }
    };
    // The conversions a definition allows (numbers between the numeric types when exact;
    // text to Corelnk, and to Objlnk as the "O:I" text CBOR and LwM2M-CBOR carry,
    // Appendix C) are `Value::convert`'s; a definition without a type keeps the value.
    match defs.resource_at(path) {
        Some(def) if def.kind != ResourceType::None => {
            untyped.convert(def.kind).map_err(|_| Error::Type {
                path: *path,
                expected: def.kind,
            })
        }
        _ => Ok(untyped),
    }
}

/// The value records of a pack: every record must have a value and a resource or
/// resource-instance path.
#[cfg_attr(not(feature = "senml-json"), allow(dead_code))]
pub(crate) fn to_records(
    format: &'static str,
    resolved: Vec<Resolved<'_>>,
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Vec<Record>, Error> {
    let mut out = Vec::with_capacity(resolved.len());
    for r in resolved {
        out.push(to_record(format, r, defs)?);
    }
    sort_if_needed(&mut out);
    Ok(out)
}

/// The value record of one resolved SenML record.
pub(crate) fn to_record(
    format: &'static str,
    r: Resolved<'_>,
    defs: &(impl ObjectDefs + ?Sized),
) -> Result<Record, Error> {
    let value = r.value.ok_or(Error::Malformed {
        format,
        offset: r.offset,
        reason: "record without value",
    })?;
    if r.path.len() < 3 {
        return Err(Error::Path {
            path: r.path,
            reason: "a value needs a resource or resource instance path",
        });
    }
    Ok(Record {
        path: r.path,
        value: typed(&r.path, value, defs)?,
        time: r.time,
    })
}

/// Sorts decoded records by path unless they already are (the usual case).
pub(crate) fn sort_if_needed(out: &mut [Record]) {
    crate::data::sort_records(out);
}

/// The paths of a Read-Composite or Observe-Composite request body (names only; a record
/// with a value is refused).
pub(crate) fn to_paths(
    format: &'static str,
    resolved: Vec<Resolved<'_>>,
) -> Result<Vec<Path>, Error> {
    resolved
        .into_iter()
        .map(|r| {
            if r.value.is_some() {
                Err(Error::Malformed {
                    format,
                    offset: r.offset,
                    reason: "composite request record has a value",
                })
            } else {
                Ok(r.path)
            }
        })
        .collect()
}

fn time_number(t: f64) -> Number {
    match crate::value::float_to_i64(t) {
        Some(i) if i.unsigned_abs() < 1 << 53 => Number::Int(i),
        _ => Number::Float(t),
    }
}

/// The base name the encoder uses for `records` on `base` (see [`EncodeOptions`]).
fn base_name(base: &Path, records: &[Record], opts: &EncodeOptions) -> Option<String> {
    match &opts.base_name {
        Some(b) => Some(b.clone()),
        None if base.is_root() => None,
        None => {
            let mut s = String::from(base.ascii().as_str());
            if !(records.len() == 1 && records.first().is_some_and(|r| r.path == *base)) {
                s.push('/');
            }
            Some(s)
        }
    }
}

/// The fields SenML writes for one LwM2M record, in this order: `bn` and `bt` (first
/// record only), `n`, the value field, `t` (as in the TS examples).
pub(crate) struct Fields<'a> {
    pub(crate) bn: Option<&'a str>,
    pub(crate) bt: Option<Number>,
    pub(crate) n: Option<&'a str>,
    pub(crate) value: SenmlValue<'a>,
    pub(crate) t: Option<Number>,
}

impl Fields<'_> {
    /// The fields as a generic record (with their order), for the pack writers.
    fn to_record(&self) -> SenmlRecord<'_> {
        let mut order = [None; 12];
        for (slot, l) in order.iter_mut().zip([
            Label::BaseName,
            Label::BaseTime,
            Label::Name,
            Label::Value,
            Label::Time,
        ]) {
            *slot = Some(l);
        }
        SenmlRecord {
            bn: self.bn.map(Cow::Borrowed),
            bt: self.bt,
            n: self.n.map(Cow::Borrowed),
            value: Some(self.value.clone()),
            t: self.t,
            order,
            ..SenmlRecord::default()
        }
    }
}

/// Calls `f` with the SenML record of each LwM2M record, in order (see [`for_each_fields`]).
pub(crate) fn for_each_senml(
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
    mut f: impl FnMut(&SenmlRecord<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    for_each_fields(base, records, opts, |r| f(&r.to_record()))
}

/// Calls `f` with the SenML fields of each LwM2M record, in order: names relative to the
/// base name, values in the field of their type (`v` numbers, `vs` strings and Corelnk,
/// `vb`, `vd`, `vlo`), times relative to the base time. Names and values are borrowed, not
/// copied.
pub(crate) fn for_each_fields(
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
    mut f: impl FnMut(&Fields<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    for r in records {
        if !r.path.starts_with(base) {
            return Err(Error::Path {
                path: r.path,
                reason: "record is outside the request path",
            });
        }
    }
    let bn = base_name(base, records, opts);
    for (i, r) in records.iter().enumerate() {
        let full = r.path.ascii();
        let link;
        let n: Option<&str> = match &bn {
            None => Some(full.as_str()),
            Some(b) => match full.as_str().strip_prefix(b.as_str()) {
                Some("") => None,
                Some(rest) => Some(rest),
                None => {
                    return Err(Error::Path {
                        path: r.path,
                        reason: "record name does not start with the base name",
                    });
                }
            },
        };
        let value = match &r.value {
            Value::Integer(i) | Value::Time(i) => SenmlValue::Number(Number::Int(*i)),
            Value::UnsignedInteger(u) => SenmlValue::Number(match i64::try_from(*u) {
                Ok(i) => Number::Int(i),
                Err(_) => Number::Uint(*u),
            }),
            Value::Float(f) => SenmlValue::Number(Number::Float(*f)),
            Value::String(s) | Value::Corelnk(s) => SenmlValue::String(Cow::Borrowed(s.as_str())),
            Value::Boolean(b) => SenmlValue::Boolean(*b),
            Value::Opaque(o) => SenmlValue::Data(Cow::Borrowed(o.as_slice())),
            Value::Objlnk(l) => {
                link = l.ascii();
                SenmlValue::ObjectLink(Cow::Borrowed(link.as_str()))
            }
        };
        let first = i == 0;
        f(&Fields {
            bn: bn.as_deref().filter(|_| first),
            bt: opts.base_time.filter(|_| first).map(time_number),
            n,
            value,
            t: r.time
                .map(|t| time_number(t - opts.base_time.unwrap_or(0.0))),
        })?;
    }
    Ok(())
}

/// The pack for LwM2M records (see [`EncodeOptions`] for names and times).
///
/// ```
/// use mote_lwm2m::senml::{EncodeOptions, to_pack};
/// use mote_lwm2m::{Record, Value};
///
/// let records = [
///     Record::new("/3/0/0".parse()?, Value::String("ACME".into())),
///     Record::new("/3/0/9".parse()?, Value::Integer(100)),
/// ];
/// let pack = to_pack(&"/3/0".parse()?, &records, &EncodeOptions::default())?;
/// // The request path becomes the base name, names are relative to it.
/// assert_eq!(pack[0].bn.as_deref(), Some("/3/0/"));
/// assert_eq!(pack[0].n.as_deref(), Some("0"));
/// assert_eq!(pack[1].n.as_deref(), Some("9"));
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn to_pack(
    base: &Path,
    records: &[Record],
    opts: &EncodeOptions,
) -> Result<Pack<'static>, Error> {
    let mut out = Vec::with_capacity(records.len());
    for_each_senml(base, records, opts, |r| {
        out.push(r.clone().into_owned());
        Ok(())
    })?;
    Ok(out)
}

/// The pack of a Read-Composite or Observe-Composite request: one name per path.
///
/// ```
/// use mote_lwm2m::senml::paths_pack;
///
/// let pack = paths_pack(&["/3/0/9".parse()?, "/1/0".parse()?]);
/// let names: Vec<_> = pack.iter().map(|r| r.n.as_deref()).collect();
/// assert_eq!(names, [Some("/3/0/9"), Some("/1/0")]);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn paths_pack(paths: &[Path]) -> Pack<'static> {
    paths
        .iter()
        .map(|p| SenmlRecord {
            n: Some(Cow::Owned(String::from(p.ascii().as_str()))),
            ..SenmlRecord::default()
        })
        .collect()
}

/// Shortest IEEE 754 half-precision bits that hold `f` exactly, if any (RFC 8949 §4.2.2
/// preferred serialization; used for SenML-CBOR and CBOR floats).
pub(crate) fn f16_exact(f: f64) -> Option<u16> {
    if f.is_nan() {
        return Some(0x7E00);
    }
    let bits = f.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    if f.is_infinite() {
        return Some(sign | 0x7C00);
    }
    if f == 0.0 {
        return Some(sign);
    }
    // Normal halves: 2^-14 ..= 65504 with 10 mantissa bits.
    let e = ((bits >> 52) & 0x7FF) as i32 - 1023;
    if (-14..=15).contains(&e) {
        let mant = bits & ((1u64 << 52) - 1);
        if mant & ((1u64 << 42) - 1) != 0 {
            return None;
        }
        return Some(sign | (((e + 15) as u16) << 10) | (mant >> 42) as u16);
    }
    // Subnormal halves: k · 2^-24 with k < 1024. With the 53-bit significand M, f is
    // M · 2^(e - 52), so k = M · 2^(e - 28): exact when the low 28 - e bits of M are zero
    // (e < -14 keeps k below 2^10; integer arithmetic, no float multiply).
    if e < -14 {
        let m = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
        let shift = u32::try_from(28 - e).unwrap_or(64);
        if shift < 64 && m & ((1u64 << shift) - 1) == 0 {
            return Some(sign | (m >> shift) as u16);
        }
    }
    None
}

/// The value of half-precision bits (IEEE 754 binary16 → binary64, exact), built from the
/// bits without float arithmetic.
pub(crate) fn f16_to_f64(h: u16) -> f64 {
    let sign = u64::from(h & 0x8000) << 48;
    let exp = u64::from((h >> 10) & 0x1F);
    let mant = u64::from(h & 0x3FF);
    let bits = match (exp, mant) {
        (0, 0) => 0,
        // Subnormal: mant · 2^-24 = 1.f · 2^(p - 24), p the top bit of mant.
        (0, m) => {
            let p = u64::from(63 - m.leading_zeros());
            ((p + 1023 - 24) << 52) | ((m << (52 - p)) & ((1u64 << 52) - 1))
        }
        (31, 0) => 0x7FF << 52,
        (31, _) => 0x7FF8 << 48,
        (e, m) => ((e + 1023 - 15) << 52) | (m << 42),
    };
    f64::from_bits(sign | bits)
}

/// Single-precision bits that hold `f` exactly, if any (what `f64::from(f as f32) == f`
/// tells, NaN excepted), from the bits: no soft-float conversions (RFC 8949 §4.2.2: the
/// shortest float that keeps the value).
pub(crate) fn f32_exact(f: f64) -> Option<u32> {
    let bits = f.to_bits();
    let sign = ((bits >> 32) & 0x8000_0000) as u32;
    let mant = bits & ((1u64 << 52) - 1);
    let e = ((bits >> 52) & 0x7FF) as i32 - 1023;
    match e {
        // Infinities (NaN: none).
        1024 => (mant == 0).then_some(sign | 0x7F80_0000),
        // ±0 (double subnormals are far below the single range).
        -1023 => (mant == 0).then_some(sign),
        // Normal singles: 23 fraction bits, the 29 low bits of the double's zero.
        -126..=127 => (mant & ((1u64 << 29) - 1) == 0)
            .then(|| sign | (((e + 127) as u32) << 23) | (mant >> 29) as u32),
        // Subnormal singles: k · 2^-149 with k < 2^23; with the 53-bit significand M, f is
        // M · 2^(e - 52), so k = M · 2^(e + 97): exact when the low -97 - e bits are zero.
        ..-126 => {
            let m = mant | (1u64 << 52);
            let shift = u32::try_from(-97 - e).unwrap_or(64);
            (shift < 64 && m & ((1u64 << shift) - 1) == 0).then(|| sign | (m >> shift) as u32)
        }
        _ => None,
    }
}

/// The value of single-precision bits (binary32 → binary64, exact), from the bits; a NaN
/// keeps its payload and becomes quiet.
pub(crate) fn f32_to_f64(s: u32) -> f64 {
    let sign = u64::from(s & 0x8000_0000) << 32;
    let exp = u64::from((s >> 23) & 0xFF);
    let mant = u64::from(s & 0x7F_FFFF);
    let bits = match (exp, mant) {
        (0, 0) => 0,
        // Subnormal: mant · 2^-149 = 1.f · 2^(p - 149), p the top bit of mant.
        (0, m) => {
            let p = u64::from(63 - m.leading_zeros());
            ((p + 1023 - 149) << 52) | ((m << (52 - p)) & ((1u64 << 52) - 1))
        }
        (255, 0) => 0x7FF << 52,
        (255, m) => (0x7FF << 52) | (1 << 51) | (m << 29),
        (e, m) => ((e + 1023 - 127) << 52) | (m << 29),
    };
    f64::from_bits(sign | bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singles_convert_as_the_casts_do() {
        // Every exponent with mantissas at the edges and in between, both signs.
        let mut singles = alloc::vec::Vec::new();
        for e in 0..=255u32 {
            for m in [
                0, 1, 2, 3, 0x40_0000, 0x3F_FFFF, 0x7F_FFFF, 0x55_5555, 0x12_3457,
            ] {
                singles.extend([(e << 23) | m, 0x8000_0000 | (e << 23) | m]);
            }
        }
        for s in singles {
            let f = f64::from(f32::from_bits(s));
            assert_eq!(f32_to_f64(s).to_bits(), f.to_bits(), "{s:#x}");
            // A widened single is exact; one bit more below it, or a wider exponent, is not.
            let cast =
                |f: f64| (!f.is_nan() && f64::from(f as f32) == f).then(|| (f as f32).to_bits());
            assert_eq!(f32_exact(f), cast(f), "{f:e}");
            for g in [
                f64::from_bits(f.to_bits() ^ 1),
                f64::from_bits(f.to_bits() ^ (1 << 28)),
                f64::from_bits(f.to_bits() ^ (1 << 29)),
                f * 2f64.powi(200),
                f * 2f64.powi(-40),
                f / 3.0,
            ] {
                assert_eq!(f32_exact(g), cast(g), "{g:e}");
            }
        }
        for g in [
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e-45,
            1.401298464324817e-45,
        ] {
            let cast = (f64::from(g as f32) == g).then(|| (g as f32).to_bits());
            assert_eq!(f32_exact(g), cast, "{g:e}");
        }
    }

    /// The value of half-precision bits by the formula of IEEE 754 §3.4, in float
    /// arithmetic: the oracle for the bit-built conversion.
    fn by_formula(h: u16) -> f64 {
        let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let mant = f64::from(h & 0x3FF);
        let v = match (h >> 10) & 0x1F {
            0 => mant / 16_777_216.0,
            31 if mant == 0.0 => f64::INFINITY,
            31 => f64::NAN,
            e => (1.0 + mant / 1024.0) * f64::powi(2.0, i32::from(e) - 15),
        };
        sign * v
    }

    #[test]
    fn every_half_converts_exactly_and_back() {
        for h in 0..=u16::MAX {
            let f = f16_to_f64(h);
            let expected = by_formula(h);
            if expected.is_nan() {
                assert!(f.is_nan(), "{h:#06x}");
                assert_eq!(f16_exact(f), Some(0x7E00));
            } else {
                assert_eq!(f.to_bits(), expected.to_bits(), "{h:#06x}");
                assert_eq!(f16_exact(f), Some(h), "{h:#06x}");
            }
        }
        // Not halves: too precise, too small (2^-25), too large.
        for f in [
            1.0 + f64::EPSILON,
            2f64.powi(-25),
            3.0 * 2f64.powi(-26),
            65520.0,
            1e-300,
        ] {
            assert_eq!(f16_exact(f), None, "{f}");
        }
    }
}
