//! The data model: identifiers, paths, values and their text forms, object definitions
//! and the DDF loader on every registry file version of the core objects
//! (`tests/data/ddf/`, copied from the OMNA registry) and on hand-made quirky files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mote_lwm2m::object::{Builtin, ObjectDefs, ObjectRegistry, Operations, Range, Version};
use mote_lwm2m::{
    DataTree, InstanceId, ObjectId, ObjectLink, Path, PathLevel, Record, ResourceType, Value, ddf,
};

#[test]
fn ids_reserve_65535() {
    assert!(ObjectId::new(65535).is_none());
    assert_eq!(InstanceId::new(65534).unwrap().get(), 65534);
    assert!("65535".parse::<ObjectId>().is_err());
    assert!(Path::new(&[3, 65535]).is_err());
    assert!("/3/65535".parse::<Path>().is_err());
    // but a link may name 65535 (the null link).
    assert!(ObjectLink::NULL.is_null());
    assert_eq!(
        "65535:65535".parse::<ObjectLink>().unwrap(),
        ObjectLink::NULL
    );
    assert_eq!("FFFF:FFFF".parse::<ObjectLink>().unwrap(), ObjectLink::NULL);
    assert_eq!(ObjectLink::new(66, 0).to_string(), "66:0");
    assert_eq!(
        ObjectLink::from_bytes(&[0, 0x42, 0, 1]).unwrap(),
        ObjectLink::new(66, 1)
    );
    assert!("66".parse::<ObjectLink>().is_err());
}

#[test]
fn paths_parse_format_and_order() {
    for (s, level) in [
        ("/", PathLevel::Root),
        ("/3", PathLevel::Object),
        ("/3/0", PathLevel::Instance),
        ("/3/0/1", PathLevel::Resource),
        ("/3/0/6/1", PathLevel::ResourceInstance),
        ("/65534/65534/65534/65534", PathLevel::ResourceInstance),
    ] {
        let p: Path = s.parse().unwrap();
        assert_eq!(p.level(), level);
        assert_eq!(p.to_string(), s);
    }
    for bad in [
        "3/0",
        "/3/",
        "//3",
        "/3/0/1/2/3",
        "/a",
        "/-1",
        "/3/ 0",
        "/123456",
        "/3/0x1",
        "/65535",
        "/3/65536",
        "/3/0/99999",
        "/+3",
        "/3/0/",
        "/3//0",
    ] {
        assert!(bad.parse::<Path>().is_err(), "{bad}");
    }
    let mut v: Vec<Path> = ["/3/0/11/0", "/3", "/1/0/1", "/3/0/11", "/3/0/2", "/1", "/"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    v.sort();
    let s: Vec<String> = v.iter().map(Path::to_string).collect();
    assert_eq!(
        s,
        ["/", "/1", "/1/0/1", "/3", "/3/0/2", "/3/0/11", "/3/0/11/0"]
    );
    let p: Path = "/3/0/6/1".parse().unwrap();
    assert!(p.starts_with(&"/3/0".parse().unwrap()));
    assert!(p.starts_with(&Path::ROOT));
    assert!(!p.starts_with(&"/3/1".parse().unwrap()));
    assert!(!"/3".parse::<Path>().unwrap().starts_with(&p));
    assert_eq!(p.parent().unwrap().to_string(), "/3/0/6");
    assert_eq!(p.resource_instance_id().unwrap().get(), 1);
    assert_eq!(Path::ROOT.parent(), None);
    assert_eq!(
        Path::instance(ObjectId::new(3).unwrap(), InstanceId::new(0).unwrap()).to_string(),
        "/3/0"
    );
}

#[test]
fn text_representations_of_appendix_c() {
    assert_eq!(Value::Integer(-750).to_text(), "-750");
    assert_eq!(Value::UnsignedInteger(18).to_text(), "18");
    assert_eq!(Value::Float(6.667e-11).to_text(), "0.00000000006667");
    assert_eq!(Value::Opaque(vec![1, 2, 3, 4, 5]).to_text(), "AQIDBAU=");
    assert_eq!(Value::Boolean(true).to_text(), "1");
    assert_eq!(
        Value::from_text(ResourceType::Opaque, "AQIDBAU=").unwrap(),
        Value::Opaque(vec![1, 2, 3, 4, 5])
    );
    for (ty, bad) in [
        (ResourceType::Integer, "1.5"),
        (ResourceType::Integer, ""),
        (ResourceType::UnsignedInteger, "-1"),
        (ResourceType::Boolean, "true"),
        (ResourceType::Float, "NaN"),
        (ResourceType::Float, "inf"),
        (ResourceType::Opaque, "A"),
        (ResourceType::Objlnk, "1:2:3"),
        (ResourceType::Integer, "99999999999999999999"),
    ] {
        assert!(Value::from_text(ty, bad).is_err(), "{ty} {bad}");
    }
    // Conversions of untyped numbers.
    assert_eq!(
        Value::Float(5.0).convert(ResourceType::Integer).unwrap(),
        Value::Integer(5)
    );
    assert!(Value::Float(5.5).convert(ResourceType::Integer).is_err());
    assert!(
        Value::Integer(-1)
            .convert(ResourceType::UnsignedInteger)
            .is_err()
    );
    assert_eq!(
        Value::Integer(7).convert(ResourceType::Time).unwrap(),
        Value::Time(7)
    );
    assert!(
        Value::Integer(i64::MAX)
            .convert(ResourceType::Float)
            .is_err(),
        "not exactly representable"
    );
}

#[test]
fn tree_and_records() {
    let records = vec![
        Record::new("/3/0/0".parse().unwrap(), Value::String("x".into())),
        Record::new("/3/0/6/0".parse().unwrap(), Value::Integer(1)),
        Record::new("/3/0/6/1".parse().unwrap(), Value::Integer(5)),
        Record::new("/3/1/9".parse().unwrap(), Value::Integer(100)),
    ];
    let tree = DataTree::from_records(&records).unwrap();
    assert_eq!(tree.objects[&3].len(), 2);
    assert_eq!(tree.to_records(), records);
    let dup = [records[0].clone(), records[0].clone()];
    assert!(DataTree::from_records(&dup).is_err());
    let conflict = [
        Record::new("/3/0/6".parse().unwrap(), Value::Integer(1)),
        records[1].clone(),
    ];
    assert!(DataTree::from_records(&conflict).is_err());
    assert!(
        DataTree::from_records(&[Record::new("/3/0".parse().unwrap(), Value::Integer(1))]).is_err()
    );
}

#[test]
fn builtin_definitions() {
    let server = Builtin.object(1).unwrap();
    assert!(server.multiple && server.mandatory);
    let lifetime = server.resource(1).unwrap();
    assert_eq!(
        (lifetime.kind, lifetime.operations),
        (ResourceType::Integer, Operations::RW)
    );
    assert_eq!(server.resource_units(1), "s");
    assert_eq!(server.resource_name(1), "Lifetime");
    let acl = Builtin.resource_at(&"/2/0/2/101".parse().unwrap()).unwrap();
    assert!(acl.multiple);
    assert_eq!(acl.range, Range::Span { min: 0, max: 31 });
    assert_eq!(
        Builtin.object(5).unwrap().version,
        Version { major: 1, minor: 2 }
    );
    assert!(
        ObjectRegistry::with_builtin()
            .iter()
            .map(|o| o.id)
            .eq([0, 1, 2, 3, 4, 5, 21])
    );
}

#[test]
fn every_registry_version_of_the_core_objects_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ddf");
    let defs = ddf::load_dir(&dir).unwrap().unwrap();
    assert_eq!(defs.len(), 21);
    for d in &defs {
        assert!(!d.resources.is_empty(), "{}", d.id);
        assert_eq!(d.texts.len(), d.resources.len(), "{}", d.id);
        for t in d.texts.iter() {
            assert_eq!(t.name.trim(), t.name, "names are trimmed");
            assert!(!t.name.contains("  "));
        }
        for r in d.resources.iter() {
            if r.kind == ResourceType::None {
                assert!(
                    r.operations.executable() || r.operations == Operations::NONE,
                    "{}/{}",
                    d.id,
                    r.id
                );
            }
        }
    }
    // The OSCORE object's stray spaces: "OSCORE AEAD Algorithm " and " OSCORE ID Context".
    let oscore = defs
        .iter()
        .find(|d| d.id == 21 && d.version == Version { major: 1, minor: 1 })
        .unwrap();
    assert_eq!(oscore.resource_name(3), "OSCORE AEAD Algorithm");
    assert_eq!(oscore.resource_name(6), "OSCORE ID Context");
}

const QUIRKY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<LWM2M xmlns:xsi = "http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://openmobilealliance.org/tech/profiles/LWM2M.xsd" >
  <Object ObjectType="MODefinition">
    <Name>  Test   Object </Name>
    <ObjectID> 3442 </ObjectID>
    <MultipleInstances>multiple</MultipleInstances>
    <Mandatory>OPTIONAL</Mandatory>
    <Resources>
      <Item ID="2"><Name>Run</Name><Operations>E</Operations><MultipleInstances>Single</MultipleInstances>
        <Mandatory>Optional</Mandatory><Type></Type><RangeEnumeration></RangeEnumeration><Units></Units></Item>
      <Item ID="1"><Name>Level</Name><Operations> R W </Operations><MultipleInstances>Multiple</MultipleInstances>
        <Mandatory>Mandatory</Mandatory><Type>unsigned integer</Type><RangeEnumeration>1 - 9</RangeEnumeration><Units>%</Units></Item>
      <Item ID="0"><Name>Blob</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances>
        <Mandatory>Optional</Mandatory><Type></Type><RangeEnumeration>16,32, 48</RangeEnumeration><Units></Units></Item>
    </Resources>
  </Object>
</LWM2M>"#;

#[test]
fn ddf_quirks_are_tolerated() {
    let d = ddf::parse(QUIRKY).unwrap().remove(0);
    assert_eq!(
        (d.id, d.name.as_ref(), d.multiple, d.mandatory),
        (3442, "Test Object", true, false)
    );
    assert_eq!(d.version, Version::V1_0);
    let ids: Vec<u16> = d.resources.iter().map(|r| r.id).collect();
    assert_eq!(ids, [0, 1, 2], "sorted by ID");
    // The texts follow their resources (the file lists them 2, 1, 0).
    let names: Vec<&str> = d.texts.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["Blob", "Level", "Run"]);
    assert_eq!((d.resource_name(1), d.resource_units(1)), ("Level", "%"));
    assert_eq!((d.resource_name(2), d.resource_units(2)), ("Run", ""));
    assert_eq!(d.resource_name(3), "");
    let run = d.resource(2).unwrap();
    assert_eq!(
        (run.kind, run.operations),
        (ResourceType::None, Operations::E)
    );
    let level = d.resource(1).unwrap();
    assert_eq!(
        (
            level.kind,
            level.operations,
            level.multiple,
            level.mandatory
        ),
        (ResourceType::UnsignedInteger, Operations::RW, true, true)
    );
    assert_eq!(level.range, Range::Span { min: 1, max: 9 });
    // A readable item without a type is opaque.
    let blob = d.resource(0).unwrap();
    assert_eq!(blob.kind, ResourceType::Opaque);
    assert_eq!(blob.range, Range::Values(vec![16, 32, 48].into()));
    assert!(blob.range.check(&Value::Opaque(vec![0; 32])));
    assert!(!blob.range.check(&Value::Opaque(vec![0; 33])));
}

#[test]
fn ddf_errors_say_where() {
    for (xml, reason) in [
        (
            "<LWM2M><Object><Name>x</Name></Object></LWM2M>",
            "missing <ObjectID>",
        ),
        (
            "<LWM2M><Object><ObjectID>65535</ObjectID></Object></LWM2M>",
            "invalid <ObjectID>",
        ),
        ("<LWM2M></LWM2M>", "no <Object> element"),
        ("<Other/>", "root element is not <LWM2M>"),
        (
            "<LWM2M><Object><ObjectID>9</ObjectID><Resources><Item ID='1'><Type>Text</Type></Item></Resources></Object></LWM2M>",
            "invalid <Type>",
        ),
        (
            "<LWM2M><Object><ObjectID>9</ObjectID><Resources><Item ID='1'/><Item ID='1'/></Resources></Object></LWM2M>",
            "duplicate resource ID",
        ),
    ] {
        match ddf::parse(xml) {
            Err(mote_lwm2m::Error::Definition { reason: r, .. }) => assert_eq!(r, reason, "{xml}"),
            other => panic!("{xml}: {other:?}"),
        }
    }
    match ddf::parse("<LWM2M>\n<Object>\n</LWM2M>") {
        Err(mote_lwm2m::Error::Definition { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
    // No external entities: a DTD is refused rather than followed.
    assert!(
        ddf::parse(r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><LWM2M>&e;</LWM2M>"#)
            .is_err()
    );
}
