//! Object definitions: what an Object and its Resources are (LwM2M TS Core §7.1 and the
//! OMNA registry's DDF XML schema, `LWM2M.xsd` / `LWM2M-v1_1.xsd`).
//!
//! The built-in definitions of the core objects 0 (Security), 1 (Server), 2 (Access
//! Control), 3 (Device), 4 (Connectivity Monitoring), 5 (Firmware Update) and 21 (OSCORE)
//! are generated from the registry XML in `objects/` (see [`builtin`]; 4 and 5 with the
//! feature `extra-objects`). More objects load from DDF files with [`crate::ddf`] (feature
//! `std`).

use alloc::borrow::Cow;
#[cfg(not(feature = "vec-maps"))]
use alloc::collections::BTreeMap;
use core::fmt;
use core::str::FromStr;
#[cfg(feature = "vec-maps")]
use mote_coap::vec_map::VecMap as BTreeMap;

use crate::error::Error;
use crate::path::Path;
use crate::value::{ResourceType, Value};

pub mod builtin;

/// The resource texts of a built-in definition as this build keeps them: the registry's
/// names and units with the `names` feature, none without it (the table is then unused and
/// leaves the binary).
pub(crate) const fn texts(registry_texts: &'static [ResourceText]) -> Cow<'static, [ResourceText]> {
    if cfg!(feature = "names") {
        Cow::Borrowed(registry_texts)
    } else {
        Cow::Borrowed(&[])
    }
}

/// A name in the built-in definitions as this build keeps it: the registry's name with the
/// `names` feature, empty without it (names are for people; nothing in the protocol reads
/// them), so that a device build carries no name texts.
pub(crate) const fn name(registry_name: &'static str) -> &'static str {
    if cfg!(feature = "names") {
        registry_name
    } else {
        ""
    }
}

/// The operations a Resource supports: R, W, E, or a combination (`RW`); empty for the
/// registry's resources that are only containers (none in the core objects).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Operations(u8);

impl Operations {
    /// No operation.
    pub const NONE: Operations = Operations(0);
    /// Read.
    pub const R: Operations = Operations(1);
    /// Write.
    pub const W: Operations = Operations(2);
    /// Read and Write.
    pub const RW: Operations = Operations(3);
    /// Execute.
    pub const E: Operations = Operations(4);

    /// Whether Read is allowed.
    ///
    /// ```
    /// use mote_lwm2m::Operations;
    ///
    /// assert!(Operations::RW.readable());
    /// assert!(!Operations::E.readable());
    /// ```
    pub const fn readable(self) -> bool {
        self.0 & 1 != 0
    }
    /// Whether Write is allowed.
    ///
    /// ```
    /// use mote_lwm2m::Operations;
    ///
    /// assert!(Operations::RW.writable());
    /// assert!(!Operations::R.writable());
    /// ```
    pub const fn writable(self) -> bool {
        self.0 & 2 != 0
    }
    /// Whether Execute is allowed.
    ///
    /// ```
    /// use mote_lwm2m::Operations;
    ///
    /// assert!(Operations::E.executable());
    /// assert!(!Operations::RW.executable());
    /// ```
    pub const fn executable(self) -> bool {
        self.0 & 4 != 0
    }
    /// Whether every operation of `other` is allowed.
    ///
    /// ```
    /// use mote_lwm2m::Operations;
    ///
    /// assert!(Operations::RW.contains(Operations::R));
    /// assert!(!Operations::R.contains(Operations::RW));
    /// ```
    pub const fn contains(self, other: Operations) -> bool {
        self.0 & other.0 == other.0
    }
    /// Both sets together.
    ///
    /// ```
    /// use mote_lwm2m::Operations;
    ///
    /// assert_eq!(Operations::R.union(Operations::W), Operations::RW);
    /// ```
    pub const fn union(self, other: Operations) -> Operations {
        Operations(self.0 | other.0)
    }
}

impl fmt::Display for Operations {
    /// The DDF spelling: `R`, `W`, `RW`, `E`, or the empty string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.readable() {
            f.write_str("R")?;
        }
        if self.writable() {
            f.write_str("W")?;
        }
        if self.executable() {
            f.write_str("E")?;
        }
        Ok(())
    }
}

impl FromStr for Operations {
    type Err = Error;

    /// Parses the DDF `<Operations>` text: any combination of `R`, `W`, `E` (spaces and
    /// case ignored); empty means none.
    fn from_str(s: &str) -> Result<Self, Error> {
        let mut ops = Operations::NONE;
        for c in s.chars().filter(|c| !c.is_whitespace()) {
            ops = ops.union(match c.to_ascii_uppercase() {
                'R' => Operations::R,
                'W' => Operations::W,
                'E' => Operations::E,
                _ => return Err(Error::InvalidValue),
            });
        }
        Ok(ops)
    }
}

/// A Resource's `<RangeEnumeration>`: a numeric span (`0..100`), a list of allowed values
/// (`16,32,48`), free text (kept, never checked), or nothing. For String, Opaque and
/// Corelnk resources the numbers bound the length in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Range {
    /// No constraint.
    #[default]
    Any,
    /// `min..max`, both inclusive.
    Span {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
    /// One of these values (a single number is a one-element list).
    Values(Cow<'static, [i64]>),
    /// Prose that is not machine-checkable.
    Text(Cow<'static, str>),
}

impl Range {
    /// Parses a DDF `<RangeEnumeration>`; anything not numeric becomes [`Range::Text`].
    ///
    /// ```
    /// use mote_lwm2m::object::Range;
    ///
    /// assert_eq!(Range::parse("0..100"), Range::Span { min: 0, max: 100 });
    /// assert_eq!(Range::parse("0-100"), Range::Span { min: 0, max: 100 });
    /// assert_eq!(Range::parse("16,32,48"), Range::Values(vec![16, 32, 48].into()));
    /// assert_eq!(Range::parse(""), Range::Any);
    /// assert!(matches!(Range::parse("see the TS"), Range::Text(_)));
    /// ```
    pub fn parse(s: &str) -> Range {
        let s = s.trim();
        if s.is_empty() {
            return Range::Any;
        }
        let num = |t: &str| t.trim().parse::<i64>().ok();
        if let Some((a, b)) = s
            .split_once("..")
            .or_else(|| s.split_once('-').filter(|(a, _)| !a.is_empty()))
        {
            if let (Some(min), Some(max)) = (num(a), num(b)) {
                return Range::Span { min, max };
            }
        }
        let mut values = alloc::vec::Vec::new();
        for part in s.split(',') {
            match num(part) {
                Some(v) => values.push(v),
                None => return Range::Text(Cow::Owned(alloc::string::String::from(s))),
            }
        }
        Range::Values(Cow::Owned(values))
    }

    /// Whether `value` satisfies the range: numbers by value, strings and opaque by length
    /// in bytes. Booleans, links and text ranges always pass.
    ///
    /// ```
    /// use mote_lwm2m::Value;
    /// use mote_lwm2m::object::Range;
    ///
    /// let percent = Range::parse("0..100");
    /// assert!(percent.check(&Value::Integer(100)));
    /// assert!(!percent.check(&Value::Integer(101)));
    /// // Strings are bounded by their length in bytes.
    /// assert!(Range::parse("0..3").check(&Value::String("abc".into())));
    /// assert!(!Range::parse("0..3").check(&Value::String("abcd".into())));
    /// ```
    pub fn check(&self, value: &Value) -> bool {
        let n: Option<i128> = match value {
            Value::Integer(i) | Value::Time(i) => Some(i128::from(*i)),
            Value::UnsignedInteger(u) => Some(i128::from(*u)),
            Value::String(s) | Value::Corelnk(s) => Some(s.len() as i128),
            Value::Opaque(o) => Some(o.len() as i128),
            Value::Float(f) => {
                return match self {
                    Range::Span { min, max } => *f >= *min as f64 && *f <= *max as f64,
                    Range::Values(v) => v.iter().any(|x| *x as f64 == *f),
                    _ => true,
                };
            }
            Value::Boolean(_) | Value::Objlnk(_) => None,
        };
        match (self, n) {
            (Range::Span { min, max }, Some(n)) => n >= i128::from(*min) && n <= i128::from(*max),
            (Range::Values(v), Some(n)) => v.iter().any(|x| i128::from(*x) == n),
            _ => true,
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Any => Ok(()),
            Range::Span { min, max } => write!(f, "{min}..{max}"),
            Range::Values(v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{x}")?;
                }
                Ok(())
            }
            Range::Text(t) => f.write_str(t),
        }
    }
}

/// A version `major.minor` (`<ObjectVersion>`, `<LWM2MVersion>`); absent means 1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major number.
    pub major: u8,
    /// Minor number.
    pub minor: u8,
}

impl Version {
    /// 1.0, the default of objects that do not say.
    pub const V1_0: Version = Version { major: 1, minor: 0 };
}

impl Default for Version {
    fn default() -> Version {
        Version::V1_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = Error;
    fn from_str(s: &str) -> Result<Version, Error> {
        let s = s.trim();
        let (a, b) = s.split_once('.').unwrap_or((s, "0"));
        Ok(Version {
            major: a.parse().map_err(|_| Error::InvalidValue)?,
            minor: b.parse().map_err(|_| Error::InvalidValue)?,
        })
    }
}

/// One Resource of an Object definition (a DDF `<Item>`): what the protocol checks. Its
/// name and units are texts for people, kept in the object's [`ObjectDef::texts`] (see
/// [`ObjectDef::resource_name`] and [`ObjectDef::resource_units`]), so that a device build
/// without the `names` feature carries none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceDef {
    /// Resource ID.
    pub id: u16,
    /// Supported operations.
    pub operations: Operations,
    /// Multiple-Instance Resource.
    pub multiple: bool,
    /// Mandatory Resource.
    pub mandatory: bool,
    /// Data type (`None` for executable resources).
    pub kind: ResourceType,
    /// Range or enumeration.
    pub range: Range,
}

/// The texts of one Resource for people (a DDF `<Item>`'s `<Name>` and `<Units>`); nothing
/// in the protocol reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceText {
    /// Resource ID.
    pub id: u16,
    /// Name (trimmed).
    pub name: Cow<'static, str>,
    /// Units (may be empty).
    pub units: Cow<'static, str>,
}

impl ResourceDef {
    /// Checks a value against this definition: type and range.
    ///
    /// ```
    /// use mote_lwm2m::object::builtin;
    /// use mote_lwm2m::{Path, Value};
    ///
    /// // Device Battery Level (/3/0/9): Integer, 0..100.
    /// let battery = builtin::object(3).and_then(|o| o.resource(9)).ok_or("no /3/x/9")?;
    /// let path: Path = "/3/0/9".parse()?;
    /// battery.check(&path, &Value::Integer(42))?;
    /// assert!(battery.check(&path, &Value::Integer(101)).is_err()); // out of range
    /// assert!(battery.check(&path, &Value::String("42".into())).is_err()); // wrong type
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self, path: &Path, value: &Value) -> Result<(), Error> {
        if value.resource_type() != self.kind || !self.range.check(value) {
            return Err(Error::Type {
                path: *path,
                expected: self.kind,
            });
        }
        Ok(())
    }
}

/// An Object definition (a DDF `<Object>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDef {
    /// Object ID.
    pub id: u16,
    /// Name (trimmed).
    pub name: Cow<'static, str>,
    /// `<ObjectURN>` (may be empty in old files).
    pub urn: Cow<'static, str>,
    /// `<ObjectVersion>`.
    pub version: Version,
    /// `<LWM2MVersion>`.
    pub lwm2m_version: Version,
    /// Multiple-Instance Object.
    pub multiple: bool,
    /// Mandatory Object.
    pub mandatory: bool,
    /// The resources, sorted by ID.
    pub resources: Cow<'static, [ResourceDef]>,
    /// The resources' names and units, sorted by ID; a resource without an entry has empty
    /// texts. Empty in the built-in definitions without the `names` feature.
    pub texts: Cow<'static, [ResourceText]>,
}

impl ObjectDef {
    /// The definition of resource `id`.
    ///
    /// ```
    /// use mote_lwm2m::ResourceType;
    /// use mote_lwm2m::object::builtin;
    ///
    /// let device = builtin::object(3).ok_or("no Object 3")?;
    /// assert_eq!(device.resource(0).map(|r| r.kind), Some(ResourceType::String));
    /// assert!(device.resource(999).is_none());
    /// # Ok::<(), &str>(())
    /// ```
    pub fn resource(&self, id: u16) -> Option<&ResourceDef> {
        self.resources
            .binary_search_by_key(&id, |r| r.id)
            .ok()
            .and_then(|i| self.resources.get(i))
    }

    /// The texts (name and units) of resource `id`, if the definition has them.
    ///
    /// ```
    /// use mote_lwm2m::object::builtin;
    ///
    /// let server = builtin::object(1).ok_or("no Object 1")?;
    /// let lifetime = server.text(1).ok_or("no texts (feature names)")?;
    /// assert_eq!((&*lifetime.name, &*lifetime.units), ("Lifetime", "s"));
    /// assert!(server.text(999).is_none());
    /// # Ok::<(), &str>(())
    /// ```
    pub fn text(&self, id: u16) -> Option<&ResourceText> {
        self.texts
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .and_then(|i| self.texts.get(i))
    }

    /// The name of resource `id` (empty if unknown or not kept).
    ///
    /// ```
    /// use mote_lwm2m::object::builtin;
    ///
    /// let device = builtin::object(3).ok_or("no Object 3")?;
    /// assert_eq!(device.resource_name(0), "Manufacturer");
    /// assert_eq!(device.resource_name(999), "");
    /// # Ok::<(), &str>(())
    /// ```
    pub fn resource_name(&self, id: u16) -> &str {
        self.text(id).map_or("", |t| &t.name)
    }

    /// The units of resource `id` (empty if it has none, is unknown or not kept).
    ///
    /// ```
    /// use mote_lwm2m::object::builtin;
    ///
    /// let server = builtin::object(1).ok_or("no Object 1")?;
    /// assert_eq!(server.resource_units(1), "s"); // Lifetime
    /// assert_eq!(server.resource_units(7), ""); // Binding
    /// # Ok::<(), &str>(())
    /// ```
    pub fn resource_units(&self, id: u16) -> &str {
        self.text(id).map_or("", |t| &t.units)
    }
}

/// A source of object definitions, consulted by the decoders for types (TLV, text,
/// SenML numbers) and by validation.
pub trait ObjectDefs {
    /// The definition of object `id`, if known.
    ///
    /// ```
    /// use mote_lwm2m::object::{Builtin, NoDefs, ObjectDefs};
    ///
    /// assert_eq!(Builtin.object(1).map(|o| &*o.name), Some("LwM2M Server"));
    /// assert!(NoDefs.object(1).is_none());
    /// ```
    fn object(&self, id: u16) -> Option<&ObjectDef>;

    /// The definition of the resource at `path` (`/O/I/R` or `/O/I/R/RI`).
    ///
    /// ```
    /// use mote_lwm2m::ResourceType;
    /// use mote_lwm2m::object::{Builtin, ObjectDefs};
    ///
    /// let current_time = Builtin.resource_at(&"/3/0/13".parse()?);
    /// assert_eq!(current_time.map(|r| r.kind), Some(ResourceType::Time));
    /// assert!(Builtin.resource_at(&"/3/0".parse()?).is_none()); // not a resource path
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    fn resource_at(&self, path: &Path) -> Option<&ResourceDef> {
        let ids = path.ids();
        let (o, r) = (ids.first()?, ids.get(2)?);
        self.object(*o)?.resource(*r)
    }
}

impl ObjectDefs for [ObjectDef] {
    fn object(&self, id: u16) -> Option<&ObjectDef> {
        self.iter().find(|o| o.id == id)
    }
}

impl<const N: usize> ObjectDefs for [ObjectDef; N] {
    fn object(&self, id: u16) -> Option<&ObjectDef> {
        self.iter().find(|o| o.id == id)
    }
}

impl<T: ObjectDefs + ?Sized> ObjectDefs for &T {
    fn object(&self, id: u16) -> Option<&ObjectDef> {
        (**self).object(id)
    }
}

/// No definitions: decoders fall back to untyped values (TLV as opaque).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDefs;

impl ObjectDefs for NoDefs {
    fn object(&self, _id: u16) -> Option<&ObjectDef> {
        None
    }
}

/// A set of object definitions keyed by ID, usually the built-ins plus loaded DDF files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectRegistry {
    objects: BTreeMap<u16, ObjectDef>,
}

impl ObjectRegistry {
    /// An empty registry.
    ///
    /// ```
    /// use mote_lwm2m::object::{ObjectDefs, ObjectRegistry};
    ///
    /// assert!(ObjectRegistry::new().object(3).is_none());
    /// ```
    pub fn new() -> Self {
        ObjectRegistry::default()
    }

    /// The built-in core objects 0, 1, 2, 3, 4, 5, 21 (4 and 5 with the feature
    /// `extra-objects`).
    ///
    /// ```
    /// use mote_lwm2m::object::{ObjectDefs, ObjectRegistry};
    ///
    /// let registry = ObjectRegistry::with_builtin();
    /// let ids: Vec<u16> = registry.iter().map(|o| o.id).collect();
    /// assert_eq!(ids, [0, 1, 2, 3, 4, 5, 21]);
    /// assert_eq!(registry.object(3).map(|o| &*o.name), Some("Device"));
    /// ```
    pub fn with_builtin() -> Self {
        let mut r = ObjectRegistry::new();
        for o in builtin::OBJECTS.iter() {
            r.insert((*o).clone());
        }
        r
    }

    /// Adds or replaces a definition; returns the previous one.
    ///
    /// ```
    /// use mote_lwm2m::object::{ObjectDefs, ObjectRegistry, builtin};
    ///
    /// let mut registry = ObjectRegistry::new();
    /// let mut device = builtin::object(3).ok_or("no Object 3")?.clone();
    /// assert!(registry.insert(device.clone()).is_none());
    /// device.name = "My Device".into();
    /// assert!(registry.insert(device).is_some()); // replaced
    /// assert_eq!(registry.object(3).map(|o| &*o.name), Some("My Device"));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn insert(&mut self, def: ObjectDef) -> Option<ObjectDef> {
        self.objects.insert(def.id, def)
    }

    /// All definitions, by ID.
    ///
    /// ```
    /// use mote_lwm2m::object::ObjectRegistry;
    ///
    /// assert_eq!(ObjectRegistry::with_builtin().iter().count(), 7);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &ObjectDef> {
        self.objects.values()
    }
}

impl ObjectDefs for ObjectRegistry {
    fn object(&self, id: u16) -> Option<&ObjectDef> {
        self.objects.get(&id)
    }
}

/// The built-in definitions as an [`ObjectDefs`] source without allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Builtin;

impl ObjectDefs for Builtin {
    fn object(&self, id: u16) -> Option<&ObjectDef> {
        builtin::object(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_4_and_5_only_with_the_extra_objects_feature() {
        let ids: alloc::vec::Vec<u16> = ObjectRegistry::with_builtin()
            .iter()
            .map(|o| o.id)
            .collect();
        if cfg!(feature = "extra-objects") {
            assert_eq!(ids, [0, 1, 2, 3, 4, 5, 21]);
        } else {
            assert_eq!(ids, [0, 1, 2, 3, 21]);
        }
        assert_eq!(Builtin.object(5).is_some(), cfg!(feature = "extra-objects"));
        // What a client with a Device object needs is always there.
        for id in [0, 1, 2, 3, 21] {
            assert_eq!(builtin::object(id).map(|o| o.id), Some(id));
        }
    }

    #[test]
    #[allow(clippy::panic)]
    fn builtin_names_only_with_the_names_feature() {
        let device = builtin::object(3).and_then(|d| d.resource(0).map(|r| (d, r)));
        let Some((device, manufacturer)) = device else {
            panic!("the built-in Device object and its Manufacturer resource");
        };
        // The definitions themselves do not depend on the feature.
        assert_eq!(manufacturer.kind, ResourceType::String);
        if cfg!(feature = "names") {
            assert_eq!(&*device.name, "Device");
            assert_eq!(device.resource_name(manufacturer.id), "Manufacturer");
            assert_eq!(device.texts.len(), device.resources.len());
            assert!(
                device
                    .texts
                    .windows(2)
                    .all(|w| matches!(w, [a, b] if a.id < b.id))
            );
        } else {
            assert_eq!(&*device.name, "");
            assert_eq!(device.resource_name(manufacturer.id), "");
            assert!(device.texts.is_empty());
        }
    }
}
