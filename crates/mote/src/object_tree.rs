//! The object tree of the LwM2M Client that `mote serve` plays: the data of /1/0 (Server),
//! /3/0 (Device), /5/0 (Firmware Update) and /19/0 (BinaryAppDataContainer, whose Data
//! resource instance /19/0/0/0 is the large opaque value for block-wise downloads), held in a
//! `mote_lwm2m::DataTree` and typed by the object definitions (the built-ins of mote-lwm2m,
//! object 19 below, and DDF files from `--objects`).
//!
//! The operations of the Device Management and Service Enablement Interface (LwM2M TS Core 1.2) on it, without I/O: Read in the
//! content format the Accept option asks for (4.06 Not Acceptable when the format is unknown
//! or cannot carry the data), Discover (Accept: application/link-format), Write (replace and
//! partial update, all or nothing, typed and range-checked), Execute, Create and Delete.
//! Every failure carries the response code of the operation's section.

use std::borrow::Cow;
use std::collections::BTreeMap;

use mote_coap::code::Code;
use mote_coap::content_format::ContentFormat;
use mote_lwm2m::attributes::LinkAttributes;
use mote_lwm2m::data::{DataTree, ResourceData};
use mote_lwm2m::link::{self, Link};
use mote_lwm2m::object::Version;
use mote_lwm2m::object::{
    ObjectDef, ObjectDefs, ObjectRegistry, Operations, Range, ResourceDef, ResourceText,
};
use mote_lwm2m::{Format, Path, Record, ResourceType, Value};

/// CoRE Link Format (RFC 6690), the Accept of a Discover (TS Core 1.2 "Discover Operation").
pub(crate) const LINK_FORMAT: u16 = 40;

/// The content formats the tree reads and writes (the `ct` of the registration root link).
pub(crate) const CONTENT_FORMATS: [u16; 7] = [0, 42, 60, 110, 112, 11542, 11544];

/// A refused operation: the response code and a diagnostic payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: Code,
    pub(crate) diagnostic: String,
}

fn refuse(code: Code, diagnostic: impl Into<String>) -> Refusal {
    Refusal {
        code,
        diagnostic: diagnostic.into(),
    }
}

fn not_found(path: &Path) -> Refusal {
    refuse(Code::NOT_FOUND, format!("{path} does not exist"))
}

/// Object 19 "BinaryAppDataContainer" version 1.0 (OMNA registry,
/// `urn:oma:lwm2m:oma:19`), which mote-lwm2m does not build in.
fn binary_app_data_container() -> ObjectDef {
    let res = |id, kind, multiple, mandatory| ResourceDef {
        id,
        operations: Operations::RW,
        multiple,
        mandatory,
        kind,
        range: Range::Any,
    };
    let text = |id, name| ResourceText {
        id,
        name: Cow::Borrowed(name),
        units: Cow::Borrowed(""),
    };
    ObjectDef {
        id: 19,
        name: Cow::Borrowed("BinaryAppDataContainer"),
        urn: Cow::Borrowed("urn:oma:lwm2m:oma:19"),
        version: Version::V1_0,
        lwm2m_version: Version::V1_0,
        multiple: true,
        mandatory: false,
        resources: Cow::Owned(vec![
            res(0, ResourceType::Opaque, true, true),
            res(1, ResourceType::Integer, false, false),
            res(2, ResourceType::Time, false, false),
            res(3, ResourceType::String, false, false),
            res(4, ResourceType::String, false, false),
            res(5, ResourceType::Integer, false, false),
        ]),
        texts: Cow::Owned(vec![
            text(0, "Data"),
            text(1, "Data Priority"),
            text(2, "Data Creation Time"),
            text(3, "Data Description"),
            text(4, "Data Format"),
            text(5, "App ID"),
        ]),
    }
}

/// The 4 KiB firmware-like pattern of /19/0/0/0 (the same bytes the interop peers serve).
pub(crate) fn big_value() -> Vec<u8> {
    (0..4096u32)
        .map(|i| (i.wrapping_mul(31) >> 3) as u8)
        .collect()
}

/// The client's objects: definitions and data.
pub(crate) struct ObjectTree {
    defs: ObjectRegistry,
    data: DataTree,
}

fn path(ids: &[u16]) -> Path {
    // Only called with fixed, valid IDs.
    Path::new(ids).unwrap_or(Path::ROOT)
}

impl ObjectTree {
    /// The definitions (built-ins, object 19, then `extra` which may replace them) and the
    /// initial data.
    pub(crate) fn new(mut defs: ObjectRegistry, now: i64) -> Self {
        if defs.object(19).is_none() {
            defs.insert(binary_app_data_container());
        }
        let mut tree = Self {
            defs,
            data: DataTree::new(),
        };
        let text: [(&[u16], &str); 22] = [
            // /1/0 Server (LwM2M Server Object, urn:oma:lwm2m:oma:1).
            (&[1, 0, 0], "101"),
            (&[1, 0, 1], "86400"),
            (&[1, 0, 2], "1"),
            (&[1, 0, 3], "60"),
            (&[1, 0, 6], "1"),
            (&[1, 0, 7], "UT"),
            // /3/0 Device (urn:oma:lwm2m:oma:3).
            (&[3, 0, 0], "Mote"),
            (&[3, 0, 1], "mote serve"),
            (&[3, 0, 2], "0001"),
            (&[3, 0, 3], env!("CARGO_PKG_VERSION")),
            (&[3, 0, 6, 0], "1"),
            (&[3, 0, 9], "100"),
            (&[3, 0, 11, 0], "0"),
            (&[3, 0, 14], "+00:00"),
            (&[3, 0, 15], "Etc/UTC"),
            (&[3, 0, 16], "UT"),
            (&[3, 0, 17], "demo"),
            // /5/0 Firmware Update (urn:oma:lwm2m:oma:5).
            (&[5, 0, 1], ""),
            (&[5, 0, 3], "0"),
            (&[5, 0, 5], "0"),
            (&[5, 0, 9], "2"),
            // /19/0 BinaryAppDataContainer.
            (&[19, 0, 3], "firmware-like test pattern"),
        ];
        for (ids, t) in text {
            let p = path(ids);
            let kind = tree
                .defs
                .resource_at(&p)
                .map_or(ResourceType::String, |d| d.kind);
            if let Ok(v) = Value::from_text(kind, t) {
                let _ = tree.data.insert(p, v);
            }
        }
        let _ = tree.data.insert(path(&[3, 0, 13]), Value::Time(now));
        let _ = tree
            .data
            .insert(path(&[19, 0, 0, 0]), Value::Opaque(big_value()));
        tree
    }

    /// Sets a value the client itself changes (e.g. /3/0/13 Current Time).
    pub(crate) fn set(&mut self, p: &Path, value: Value) {
        let _ = self.remove(p);
        let _ = self.data.insert(*p, value);
    }

    fn remove(&mut self, p: &Path) -> Option<()> {
        match *p.ids() {
            [o, i] => self.data.objects.get_mut(&o)?.remove(&i).map(|_| ()),
            [o, i, r] => self
                .data
                .objects
                .get_mut(&o)?
                .get_mut(&i)?
                .remove(&r)
                .map(|_| ()),
            [o, i, r, ri] => match self.data.objects.get_mut(&o)?.get_mut(&i)?.get_mut(&r)? {
                ResourceData::Multiple(m) => m.remove(&ri).map(|_| ()),
                ResourceData::Single(_) => None,
            },
            _ => None,
        }
    }

    /// Whether `p` names something in the data (the root always exists).
    pub(crate) fn exists(&self, p: &Path) -> bool {
        let ids = p.ids();
        let Some(obj) = ids.first().and_then(|o| self.data.objects.get(o)) else {
            return p.is_root();
        };
        let Some(inst) = ids.get(1) else {
            return true;
        };
        let Some(inst) = obj.get(inst) else {
            return false;
        };
        let Some(res) = ids.get(2) else {
            return true;
        };
        match (inst.get(res), ids.get(3)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(ResourceData::Multiple(m)), Some(ri)) => m.contains_key(ri),
            (Some(ResourceData::Single(_)), Some(_)) => false,
        }
    }

    fn def(&self, p: &Path) -> Option<&ResourceDef> {
        self.defs.resource_at(p)
    }

    /// The readable records at or under `p` (TS Core 1.2 "Read Operation": an Object or Object
    /// Instance Read returns its readable Resources).
    fn readable_records(&self, p: &Path) -> Vec<Record> {
        self.data
            .to_records()
            .into_iter()
            .filter(|r| r.path.starts_with(p))
            .filter(|r| self.def(&r.path).is_some_and(|d| d.operations.readable()))
            .collect()
    }

    /// Read (TS Core 1.2 "Read Operation"): the payload and its content format. Without Accept, a single
    /// Resource (Instance) is sent as text (opaque for Opaque values) and anything larger
    /// as TLV.
    pub(crate) fn read(&self, p: &Path, accept: Option<u16>) -> Result<(u16, Vec<u8>), Refusal> {
        if p.is_root() {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                "Read needs an Object path",
            ));
        }
        if p.len() >= 3 && self.def(p).is_some_and(|d| !d.operations.readable()) {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                format!("{p} is not readable"),
            ));
        }
        if !self.exists(p) {
            return Err(not_found(p));
        }
        let records = self.readable_records(p);
        let single = matches!(records.as_slice(), [r] if r.path == *p);
        let format = match accept {
            Some(cf) => Format::from_content_format(ContentFormat(cf)).ok_or_else(|| {
                refuse(
                    Code::NOT_ACCEPTABLE,
                    format!("content format {cf} is not supported"),
                )
            })?,
            None if single
                && matches!(records.first(), Some(r) if matches!(r.value, Value::Opaque(_))) =>
            {
                Format::Opaque
            }
            None if single => Format::Text,
            None => Format::Tlv,
        };
        let body = mote_lwm2m::encode(format, p, &records).map_err(|e| {
            refuse(
                Code::NOT_ACCEPTABLE,
                format!("{p} cannot be sent as {format}: {e}"),
            )
        })?;
        Ok((format.content_format().0, body))
    }

    /// Discover ("Discover Operation"): the Object, its Instances and their Resources (with `dim` for
    /// Multiple-Instance Resources) at or under `p`, in link format.
    pub(crate) fn discover(&self, p: &Path) -> Result<String, Refusal> {
        if p.is_root() || p.len() > 3 {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                "Discover needs an Object, Object Instance or Resource path",
            ));
        }
        if !self.exists(p) {
            return Err(not_found(p));
        }
        let mut links = vec![Link::new(*p)];
        for (&o, insts) in &self.data.objects {
            for (&i, res) in insts {
                let ip = path(&[o, i]);
                if ip.starts_with(p) && ip != *p {
                    links.push(Link::new(ip));
                }
                for (&r, d) in res {
                    let rp = path(&[o, i, r]);
                    if !rp.starts_with(p) || (rp == *p && p.len() != 3) {
                        continue;
                    }
                    let dim = match d {
                        ResourceData::Multiple(m) => u8::try_from(m.len()).ok(),
                        ResourceData::Single(_) => None,
                    };
                    let l = Link {
                        path: rp,
                        attributes: LinkAttributes {
                            dim,
                            ..LinkAttributes::default()
                        },
                    };
                    if rp == *p {
                        links[0] = l;
                    } else {
                        links.push(l);
                    }
                }
            }
        }
        link::write(&links, "/").map_err(|e| refuse(Code::INTERNAL_SERVER_ERROR, e.to_string()))
    }

    /// The registration payload ("Register Operation"): what `/.well-known/core` answers.
    pub(crate) fn registration_links(&self) -> String {
        let objects: Vec<(u16, Version, Vec<u16>)> = self
            .data
            .objects
            .iter()
            .map(|(&o, insts)| {
                let v = self.defs.object(o).map_or(Version::V1_0, |d| d.version);
                (o, v, insts.keys().copied().collect())
            })
            .collect();
        let versions: BTreeMap<u16, Version> = objects.iter().map(|(o, v, _)| (*o, *v)).collect();
        link::registration_payload(
            &CONTENT_FORMATS,
            &objects,
            |o| versions.get(&o).copied().unwrap_or(Version::V1_0),
            "/",
        )
        .unwrap_or_default()
    }

    fn decode(&self, p: &Path, cf: Option<u16>, payload: &[u8]) -> Result<Vec<Record>, Refusal> {
        // A single Resource written without Content-Format is taken as text (RFC 7252
        // §5.10.3 leaves the default to the application).
        let cf = match cf {
            Some(cf) => cf,
            None if p.len() >= 3 => 0,
            None => return Err(refuse(Code::BAD_REQUEST, "Content-Format is required")),
        };
        let format = Format::from_content_format(ContentFormat(cf)).ok_or_else(|| {
            refuse(
                Code::UNSUPPORTED_CONTENT_FORMAT,
                format!("content format {cf} is not supported"),
            )
        })?;
        let records = mote_lwm2m::decode(format, p, payload, &self.defs)
            .map_err(|e| refuse(Code::BAD_REQUEST, e.to_string()))?;
        for r in &records {
            if !r.path.starts_with(p) {
                return Err(refuse(
                    Code::BAD_REQUEST,
                    format!("{} is outside the request path {p}", r.path),
                ));
            }
        }
        Ok(records)
    }

    /// Write ("Write Operation"): PUT replaces (the Resources named in the payload, Multiple-Instance
    /// Resources as a whole), POST on an Object Instance updates partially. All or nothing:
    /// every value is checked against its definition (writable, type, range) first.
    pub(crate) fn write(
        &mut self,
        p: &Path,
        cf: Option<u16>,
        payload: &[u8],
        replace: bool,
    ) -> Result<(), Refusal> {
        if p.len() < 2 {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                "Write needs an Object Instance or Resource path",
            ));
        }
        if !self.exists(&p.truncate(2)) {
            return Err(not_found(p));
        }
        let records = self.decode(p, cf, payload)?;
        for r in &records {
            let d = self
                .def(&r.path)
                .ok_or_else(|| not_found(&r.path.truncate(3)))?;
            if !d.operations.writable() {
                return Err(refuse(
                    Code::METHOD_NOT_ALLOWED,
                    format!("{} is not writable", r.path.truncate(3)),
                ));
            }
            if d.multiple != (r.path.len() == 4) {
                return Err(refuse(
                    Code::BAD_REQUEST,
                    format!("{} does not match the resource's instances", r.path),
                ));
            }
            d.check(&r.path, &r.value)
                .map_err(|e| refuse(Code::BAD_REQUEST, e.to_string()))?;
        }
        // A Write on one Resource Instance replaces that instance only.
        if replace && p.len() <= 3 {
            let mut replaced: Vec<Path> = records.iter().map(|r| r.path.truncate(3)).collect();
            if p.len() >= 3 {
                replaced.push(p.truncate(3));
            }
            replaced.dedup();
            for rp in replaced {
                if self.def(&rp).is_some_and(|d| d.multiple) {
                    let _ = self.remove(&rp);
                }
            }
        }
        for r in records {
            self.set(&r.path, r.value);
        }
        // Firmware Update object, State resource: a written Package makes the State "Downloaded".
        if p.truncate(3) == path(&[5, 0, 0]) {
            self.set(&path(&[5, 0, 3]), Value::Integer(2));
        }
        Ok(())
    }

    /// Execute ("Execute Operation") on an executable Resource of an existing Instance.
    pub(crate) fn execute(&mut self, p: &Path) -> Result<(), Refusal> {
        if p.len() != 3 || !self.def(p).is_some_and(|d| d.operations.executable()) {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                format!("{p} is not executable"),
            ));
        }
        if !self.exists(&p.truncate(2)) {
            return Err(not_found(p));
        }
        // /5/0/2 Update: the downloaded package is "installed".
        if *p == path(&[5, 0, 2]) {
            self.set(&path(&[5, 0, 3]), Value::Integer(0));
            self.set(&path(&[5, 0, 5]), Value::Integer(1));
        }
        Ok(())
    }

    /// Create ("Create Operation") under Object `p`: the new Instance's ID comes from the payload (TLV,
    /// SenML or LwM2M-CBOR with Instance paths). Returns the new Instance's path.
    pub(crate) fn create(
        &mut self,
        p: &Path,
        cf: Option<u16>,
        payload: &[u8],
    ) -> Result<Path, Refusal> {
        let [obj] = *p.ids() else {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                "Create needs an Object path",
            ));
        };
        let def = self.defs.object(obj).ok_or_else(|| not_found(p))?;
        let multiple = def.multiple;
        let records = self.decode(p, cf, payload)?;
        let mut instances: Vec<Path> = records.iter().map(|r| r.path.truncate(2)).collect();
        instances.dedup();
        let [ip] = instances.as_slice() else {
            return Err(refuse(
                Code::BAD_REQUEST,
                "Create needs the values of exactly one new Object Instance",
            ));
        };
        let ip = *ip;
        if self.exists(&ip)
            || (!multiple && self.data.objects.get(&obj).is_some_and(|o| !o.is_empty()))
        {
            return Err(refuse(Code::BAD_REQUEST, format!("{ip} already exists")));
        }
        for r in &records {
            let d = self
                .def(&r.path)
                .ok_or_else(|| refuse(Code::BAD_REQUEST, format!("{} is not defined", r.path)))?;
            d.check(&r.path, &r.value)
                .map_err(|e| refuse(Code::BAD_REQUEST, e.to_string()))?;
        }
        for r in records {
            self.set(&r.path, r.value);
        }
        Ok(ip)
    }

    /// Delete ("Delete Operation") of an Object Instance; instances of the mandatory Objects (Security,
    /// Server, Device) are not deleted by a Server.
    pub(crate) fn delete(&mut self, p: &Path) -> Result<(), Refusal> {
        let mandatory = p
            .ids()
            .first()
            .and_then(|o| self.defs.object(*o))
            .is_some_and(|d| d.mandatory);
        if p.len() != 2 || mandatory {
            return Err(refuse(
                Code::METHOD_NOT_ALLOWED,
                format!("{p} cannot be deleted"),
            ));
        }
        self.remove(p).ok_or_else(|| not_found(p))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn tree() -> ObjectTree {
        ObjectTree::new(ObjectRegistry::with_builtin(), 1_700_000_000)
    }

    fn p(s: &str) -> Path {
        s.parse().unwrap()
    }

    #[test]
    fn read_negotiates_the_content_format() {
        let t = tree();
        assert_eq!(t.read(&p("/3/0/0"), None).unwrap(), (0, b"Mote".to_vec()));
        for cf in CONTENT_FORMATS
            .into_iter()
            .filter(|c| ![0, 42, 60].contains(c))
        {
            let (got, body) = t.read(&p("/3/0"), Some(cf)).unwrap();
            assert_eq!(got, cf);
            // Every hierarchical body decodes back to the readable records of /3/0.
            let format = Format::from_content_format(ContentFormat(cf)).unwrap();
            let back = mote_lwm2m::decode(format, &p("/3/0"), &body, &t.defs).unwrap();
            assert_eq!(back, t.readable_records(&p("/3/0")), "{format}");
        }
        // 4.06: unknown format, and a single-value format for an instance.
        assert_eq!(
            t.read(&p("/3/0"), Some(50)).unwrap_err().code,
            Code::NOT_ACCEPTABLE
        );
        assert_eq!(
            t.read(&p("/3/0"), Some(0)).unwrap_err().code,
            Code::NOT_ACCEPTABLE
        );
        assert_eq!(
            t.read(&p("/3/0/0"), Some(42)).unwrap_err().code,
            Code::NOT_ACCEPTABLE
        );
        let (cf, big) = t.read(&p("/19/0/0/0"), None).unwrap();
        assert_eq!((cf, big), (42, big_value()));
    }

    #[test]
    fn read_refuses_what_the_definitions_forbid() {
        let t = tree();
        assert_eq!(
            t.read(&p("/5/0/0"), None).unwrap_err().code,
            Code::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            t.read(&p("/3/0/4"), None).unwrap_err().code,
            Code::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            t.read(&p("/3/0/5"), None).unwrap_err().code,
            Code::METHOD_NOT_ALLOWED
        );
        assert_eq!(t.read(&p("/3/1"), None).unwrap_err().code, Code::NOT_FOUND);
        assert_eq!(
            t.read(&p("/"), None).unwrap_err().code,
            Code::METHOD_NOT_ALLOWED
        );
        // /5/0 is read without its write-only Package.
        let (_, body) = t.read(&p("/5/0"), Some(110)).unwrap();
        assert!(!String::from_utf8(body).unwrap().contains("\"/5/0/0\""));
    }

    #[test]
    fn write_execute_create_delete() {
        let mut t = tree();
        t.write(&p("/1/0/1"), None, b"300", true).unwrap();
        assert_eq!(t.read(&p("/1/0/1"), None).unwrap().1, b"300");
        // Type and writability checks; all or nothing.
        assert_eq!(
            t.write(&p("/1/0/1"), None, b"x", true).unwrap_err().code,
            Code::BAD_REQUEST
        );
        assert_eq!(
            t.write(&p("/3/0/0"), None, b"x", true).unwrap_err().code,
            Code::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            t.write(&p("/1/0/1"), Some(9999), b"1", true)
                .unwrap_err()
                .code,
            Code::UNSUPPORTED_CONTENT_FORMAT
        );
        // Firmware package: write-only, makes the state Downloaded.
        t.write(&p("/5/0/0"), Some(42), &[1, 2, 3], true).unwrap();
        assert_eq!(t.read(&p("/5/0/3"), None).unwrap().1, b"2");
        t.execute(&p("/5/0/2")).unwrap();
        // Replace of a Multiple-Instance Resource drops the old instances; a Write on one
        // Resource Instance keeps the others.
        t.write(&p("/19/0/0/1"), Some(42), &[9], true).unwrap();
        assert_eq!(t.read(&p("/19/0/0/0"), None).unwrap().1, big_value());
        t.write(
            &p("/19/0/0"),
            Some(110),
            br#"[{"n":"/19/0/0/2","vd":"AA"}]"#,
            true,
        )
        .unwrap();
        assert_eq!(
            t.read(&p("/19/0/0/0"), None).unwrap_err().code,
            Code::NOT_FOUND
        );
        assert_eq!(t.read(&p("/19/0/0/2"), None).unwrap().1, [0]);
        assert_eq!(
            t.execute(&p("/3/0/0")).unwrap_err().code,
            Code::METHOD_NOT_ALLOWED
        );
        // Create /19/1 in SenML-JSON, read it back, delete it.
        let body = br#"[{"n":"/19/1/0/0","vd":"AQI"},{"n":"/19/1/3","vs":"x"}]"#;
        assert_eq!(t.create(&p("/19"), Some(110), body).unwrap(), p("/19/1"));
        assert_eq!(t.read(&p("/19/1/0/0"), None).unwrap().1, [1, 2]);
        assert_eq!(
            t.create(&p("/19"), Some(110), body).unwrap_err().code,
            Code::BAD_REQUEST
        );
        t.delete(&p("/19/1")).unwrap();
        assert_eq!(t.delete(&p("/19/1")).unwrap_err().code, Code::NOT_FOUND);
        assert_eq!(
            t.delete(&p("/3/0")).unwrap_err().code,
            Code::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn discover_and_registration_links() {
        let t = tree();
        let d = t.discover(&p("/3/0")).unwrap();
        assert!(d.starts_with("</3/0>,</3/0/0>,"), "{d}");
        assert!(d.contains("</3/0/11>;dim=1"), "{d}");
        let reg = t.registration_links();
        assert!(reg.starts_with("</>;rt=\"oma.lwm2m\";ct="), "{reg}");
        assert!(
            reg.contains("</1/0>") && reg.contains("</3/0>") && reg.contains("</19/0>"),
            "{reg}"
        );
    }
}
