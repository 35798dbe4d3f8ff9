//! Byte-exact spec vectors: every TLV, SenML-JSON, SenML-CBOR, LwM2M-CBOR and plain-text
//! example of the LwM2M TS Core 1.2 (§7.4), transcribed in `tests/data/*.txt`, decoded and
//! (where `direction: both`) encoded back. Expected records are transcribed from the TS
//! text too; nothing expected here is computed by the code under test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;

use mote_lwm2m::lwm2m_cbor::{self, KeyStyle};
use mote_lwm2m::object::{Builtin, ObjectDef, ObjectDefs, Operations, Range, ResourceDef, Version};
use mote_lwm2m::senml::{self, EncodeOptions};
use mote_lwm2m::{Format, ObjectLink, Path, Record, ResourceType, Value};

/// Object definitions of the TS's hypothetical objects (65, 66, 67 of the "Object link
/// Resource" figure, 72 of the notification example, IPSO 3308/3311 of Write-Composite)
/// plus a fixture object 999 with one resource per data type.
struct Fixtures(Vec<ObjectDef>);

fn res(id: u16, kind: ResourceType, multiple: bool) -> ResourceDef {
    ResourceDef {
        id,
        operations: Operations::RW,
        multiple,
        mandatory: false,
        kind,
        range: Range::Any,
    }
}

fn obj(id: u16, resources: Vec<ResourceDef>) -> ObjectDef {
    ObjectDef {
        id,
        name: Cow::Borrowed("fixture"),
        urn: Cow::Borrowed(""),
        version: Version::V1_0,
        lwm2m_version: Version::V1_0,
        multiple: true,
        mandatory: false,
        resources: Cow::Owned(resources),
        texts: Cow::Borrowed(&[]),
    }
}

impl Fixtures {
    fn new() -> Self {
        use ResourceType::*;
        Fixtures(vec![
            obj(
                65,
                vec![
                    res(0, Objlnk, true),
                    res(1, String, false),
                    res(2, Integer, false),
                ],
            ),
            obj(
                66,
                vec![
                    res(0, String, false),
                    res(1, String, false),
                    res(2, Objlnk, false),
                ],
            ),
            obj(67, vec![res(0, String, false), res(1, String, false)]),
            obj(72, vec![res(2, Float, false)]),
            obj(3308, vec![res(5900, Float, false)]),
            obj(
                3311,
                vec![res(5850, Boolean, false), res(5851, Integer, false)],
            ),
            obj(
                999,
                vec![
                    res(0, String, false),
                    res(1, Integer, false),
                    res(2, UnsignedInteger, false),
                    res(3, Float, false),
                    res(4, Boolean, false),
                    res(5, Opaque, false),
                    res(6, Time, false),
                    res(7, Objlnk, false),
                    res(8, Corelnk, false),
                ],
            ),
        ])
    }
}

impl ObjectDefs for Fixtures {
    fn object(&self, id: u16) -> Option<&ObjectDef> {
        Builtin
            .object(id)
            .or_else(|| self.0.iter().find(|o| o.id == id))
    }
}

#[derive(Debug, Default)]
struct Vector {
    name: String,
    format: String,
    base: String,
    both: bool,
    options: EncodeOptions,
    cbor_options: lwm2m_cbor::EncodeOptions,
    payload: String,
    records: Option<Vec<Record>>,
    paths: Option<Vec<Path>>,
}

fn parse_record(line: &str) -> Record {
    let (path, rest) = line.split_once(' ').unwrap();
    let (ty, rest) = rest.split_once(' ').unwrap();
    let (value, time) = match rest.rsplit_once(" @") {
        Some((v, t)) => (v, Some(t.parse::<f64>().unwrap())),
        None => (rest, None),
    };
    let value = match ty {
        "string" => Value::String(value.to_string()),
        "integer" => Value::Integer(value.parse().unwrap()),
        "unsigned" => Value::UnsignedInteger(value.parse().unwrap()),
        "float" => Value::Float(value.parse().unwrap()),
        "boolean" => Value::Boolean(value.parse().unwrap()),
        "opaque" => Value::Opaque(hex::decode(value).unwrap()),
        "time" => Value::Time(value.parse().unwrap()),
        "objlnk" => {
            let (o, i) = value.split_once(':').unwrap();
            Value::Objlnk(ObjectLink::new(o.parse().unwrap(), i.parse().unwrap()))
        }
        "corelnk" => Value::Corelnk(value.to_string()),
        t => panic!("unknown type {t}"),
    };
    Record {
        path: path.parse().unwrap(),
        value,
        time,
    }
}

fn load(file: &str) -> Vec<Vector> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(file),
    )
    .unwrap();
    let mut out = Vec::new();
    for block in text.split("\n=== ").skip(1) {
        let mut v = Vector {
            name: block.lines().next().unwrap().to_string(),
            ..Vector::default()
        };
        let mut section = "";
        let mut payload_lines: Vec<&str> = Vec::new();
        for line in block.lines().skip(1) {
            match line {
                "payload:" | "records:" | "paths:" => {
                    section = line;
                    if line == "records:" {
                        v.records = Some(Vec::new());
                    }
                    if line == "paths:" {
                        v.paths = Some(Vec::new());
                    }
                    continue;
                }
                _ => {}
            }
            match section {
                "payload:" => payload_lines.push(line),
                "records:" if !line.trim().is_empty() => {
                    v.records.as_mut().unwrap().push(parse_record(line))
                }
                "paths:" if !line.trim().is_empty() => {
                    v.paths.as_mut().unwrap().push(line.parse().unwrap())
                }
                "" => {
                    if let Some(f) = line.strip_prefix("format: ") {
                        v.format = f.to_string();
                    } else if let Some(b) = line.strip_prefix("base: ") {
                        v.base = b.to_string();
                    } else if let Some(d) = line.strip_prefix("direction: ") {
                        v.both = d == "both";
                    } else if let Some(o) = line.strip_prefix("options: ") {
                        for kv in o.split(' ') {
                            match kv.split_once('=').unwrap() {
                                ("bn", b) => v.options.base_name = Some(b.to_string()),
                                ("bt", t) => v.options.base_time = Some(t.parse().unwrap()),
                                ("keys", k) => {
                                    v.cbor_options.keys = match k {
                                        "compact" => KeyStyle::Compact,
                                        "nested" => KeyStyle::Nested,
                                        "flat" => KeyStyle::Flat,
                                        _ => panic!("bad key style {k}"),
                                    }
                                }
                                ("maps", "indefinite") => v.cbor_options.indefinite = true,
                                _ => panic!("bad option {kv}"),
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        v.payload = payload_lines.join("\n");
        out.push(v);
    }
    assert!(!out.is_empty(), "{file}: no vectors");
    out
}

/// JSON without the whitespace outside strings.
fn minify(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut in_str = false;
    let mut esc = false;
    for &b in s.as_bytes() {
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if b == b'"' {
            in_str = true;
            out.push(b);
        } else if !b.is_ascii_whitespace() {
            out.push(b);
        }
    }
    out
}

fn payload_bytes(v: &Vector) -> Vec<u8> {
    match v.format.as_str() {
        "senml-json" => minify(&v.payload),
        "text" => v.payload.trim_end_matches('\n').as_bytes().to_vec(),
        _ => hex::decode(v.payload.split_whitespace().collect::<String>()).unwrap(),
    }
}

fn sorted(mut r: Vec<Record>) -> Vec<Record> {
    r.sort_by_key(|r| r.path);
    r
}

fn run(file: &str) -> usize {
    let defs = Fixtures::new();
    let vectors = load(file);
    for v in &vectors {
        let format: Format = v.format.parse().unwrap();
        let base: Path = v.base.parse().unwrap();
        let bytes = payload_bytes(v);
        if let Some(paths) = &v.paths {
            let (decoded, encoded) = match format {
                Format::SenmlJson => (
                    senml::json::decode_paths(&bytes),
                    senml::json::encode_paths(paths),
                ),
                Format::SenmlCbor => (
                    senml::cbor::decode_paths(&bytes),
                    senml::cbor::encode_paths(paths),
                ),
                _ => unreachable!(),
            };
            assert_eq!(&decoded.unwrap(), paths, "{}: decode", v.name);
            if v.both {
                assert_eq!(encoded, bytes, "{}: encode", v.name);
            }
            continue;
        }
        let records = v.records.clone().unwrap();
        let decoded = mote_lwm2m::decode(format, &base, &bytes, &defs)
            .unwrap_or_else(|e| panic!("{}: decode: {e}", v.name));
        assert_eq!(decoded, sorted(records.clone()), "{}: decode", v.name);
        if v.both {
            let encoded = match format {
                Format::SenmlJson => senml::json::encode_with(&base, &records, &v.options),
                Format::SenmlCbor => senml::cbor::encode_with(&base, &records, &v.options),
                Format::LwM2mCbor => lwm2m_cbor::encode_with(&base, &records, &v.cbor_options),
                _ => mote_lwm2m::encode(format, &base, &records),
            }
            .unwrap_or_else(|e| panic!("{}: encode: {e}", v.name));
            let len = match format {
                Format::SenmlJson => senml::json::encoded_len(&base, &records, &v.options),
                Format::SenmlCbor => senml::cbor::encoded_len(&base, &records, &v.options),
                Format::LwM2mCbor => lwm2m_cbor::encoded_len(&base, &records, &v.cbor_options),
                _ => mote_lwm2m::encoded_len(format, &base, &records),
            }
            .unwrap_or_else(|e| panic!("{}: encoded_len: {e}", v.name));
            assert_eq!(len, bytes.len(), "{}: encoded_len", v.name);
            assert_eq!(
                encoded,
                bytes,
                "{}: encode\n got {}\nwant {}",
                v.name,
                String::from_utf8_lossy(&encoded),
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    vectors.len()
}

#[test]
fn tlv_examples() {
    assert_eq!(run("tlv.txt"), 6);
}

#[test]
fn senml_json_examples() {
    assert_eq!(run("senml_json.txt"), 12);
}

#[test]
fn senml_cbor_examples() {
    assert_eq!(run("senml_cbor.txt"), 1);
}

#[test]
fn lwm2m_cbor_examples() {
    assert_eq!(run("lwm2m_cbor.txt"), 11);
}

#[test]
fn text_examples() {
    assert_eq!(run("text.txt"), 8);
}

/// The sizes the TS states for its examples.
#[test]
fn stated_sizes() {
    let tlv = load("tlv.txt");
    assert_eq!(payload_bytes(&tlv[0]).len(), 121);
    assert_eq!(payload_bytes(&tlv[1]).len(), 124);
    assert_eq!(payload_bytes(&tlv[2]).len(), 38);
    assert_eq!(payload_bytes(&tlv[3]).len(), 18);
    assert_eq!(payload_bytes(&tlv[4]).len(), 37);
    assert_eq!(payload_bytes(&tlv[5]).len(), 82);
    let c = load("lwm2m_cbor.txt");
    assert_eq!(payload_bytes(&c[0]).len(), 26);
    assert_eq!(payload_bytes(&c[2]).len(), 10);
    assert_eq!(payload_bytes(&c[3]).len(), 118);
    assert_eq!(payload_bytes(&c[4]).len(), 63);
    assert_eq!(payload_bytes(&c[5]).len(), 39);
}
