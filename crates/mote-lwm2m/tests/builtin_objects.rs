//! The built-in object definitions (`src/object/builtin.rs`) are generated from the
//! registry XML in `objects/` by this test. It fails when the committed file differs from
//! what the XML gives; run with `MOTE_REGENERATE=1` to rewrite it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;

use mote_lwm2m::ddf;
use mote_lwm2m::object::{ObjectDef, Range, builtin};

const FILES: [&str; 7] = [
    "0.xml", "1.xml", "2.xml", "3.xml", "4.xml", "5.xml", "21.xml",
];

fn load() -> Vec<ObjectDef> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("objects");
    let mut defs = Vec::new();
    for f in FILES {
        let xml = std::fs::read_to_string(dir.join(f)).unwrap();
        defs.extend(ddf::parse(&xml).unwrap_or_else(|e| panic!("{f}: {e}")));
    }
    defs
}

fn ident(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_uppercase());
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    s.trim_matches('_').to_string()
}

fn range(r: &Range) -> String {
    match r {
        Range::Any => "Range::Any".into(),
        Range::Span { min, max } => format!("Range::Span {{ min: {min}, max: {max} }}"),
        Range::Values(v) => format!("Range::Values(Cow::Borrowed(&{v:?}))"),
        Range::Text(t) if t.len() > 60 => {
            format!("Range::Text(Cow::Borrowed(\n            {t:?},\n        ))")
        }
        Range::Text(t) => format!("Range::Text(Cow::Borrowed({t:?}))"),
    }
}

/// The doc example of the generated `object` function (a doctest of the crate).
const OBJECT_FN_EXAMPLE: &str = r#"///
/// ```
/// use mote_lwm2m::object::builtin;
///
/// let device = builtin::object(3).ok_or("no Object 3")?;
/// assert_eq!(&*device.name, "Device");
/// assert!(!device.multiple);
/// assert!(builtin::object(6).is_none()); // Location is not built in
/// # Ok::<(), &str>(())
/// ```
"#;

/// The objects a device need not implement, built in with the feature `extra-objects`:
/// 4 (Connectivity Monitoring) and 5 (Firmware Update).
const EXTRA: [u16; 2] = [4, 5];

/// The `#[cfg]` line of object `id`'s items (empty for the core objects every client has).
fn cfg(id: u16) -> &'static str {
    if EXTRA.contains(&id) {
        "#[cfg(feature = \"extra-objects\")]\n"
    } else {
        ""
    }
}

fn generate(defs: &[ObjectDef]) -> String {
    let mut s = String::new();
    s.push_str(
        "//! Built-in definitions of the core objects, GENERATED from the OMNA registry XML in\n\
         //! `objects/` by `tests/builtin_objects.rs` (`MOTE_REGENERATE=1 cargo test -p mote-lwm2m\n\
         //! --test builtin_objects`). Do not edit by hand.\n\n\
         use alloc::borrow::Cow;\n\n\
         use super::{ObjectDef, Operations, Range, ResourceDef, ResourceText, Version, name, texts};\n\
         use crate::value::ResourceType;\n\n",
    );
    for d in defs {
        let _ = writeln!(
            s,
            "{}static RESOURCES_{}: [ResourceDef; {}] = [",
            cfg(d.id),
            d.id,
            d.resources.len()
        );
        for r in d.resources.iter() {
            let ops = match r.operations.to_string().as_str() {
                "" => "NONE".to_string(),
                o => o.to_string(),
            };
            let _ = writeln!(
                s,
                "    ResourceDef {{\n        id: {},\n        operations: Operations::{},\n        multiple: {},\n        mandatory: {},\n        kind: ResourceType::{:?},\n        range: {},\n    }},",
                r.id,
                ops,
                r.multiple,
                r.mandatory,
                r.kind,
                range(&r.range),
            );
        }
        s.push_str("];\n\n");
        let _ = writeln!(
            s,
            "{}static TEXTS_{}: [ResourceText; {}] = [",
            cfg(d.id),
            d.id,
            d.texts.len()
        );
        for t in d.texts.iter() {
            let _ = writeln!(
                s,
                "    ResourceText {{\n        id: {},\n        name: Cow::Borrowed({:?}),\n        units: Cow::Borrowed({:?}),\n    }},",
                t.id, t.name, t.units
            );
        }
        s.push_str("];\n\n");
    }
    for d in defs {
        let _ = writeln!(
            s,
            "/// Object {} \"{}\" version {} (`{}`).\n{}pub static {}: ObjectDef = ObjectDef {{\n    id: {},\n    name: Cow::Borrowed(name({:?})),\n    urn: Cow::Borrowed({:?}),\n    version: Version {{ major: {}, minor: {} }},\n    lwm2m_version: Version {{ major: {}, minor: {} }},\n    multiple: {},\n    mandatory: {},\n    resources: Cow::Borrowed(&RESOURCES_{}),\n    texts: texts(&TEXTS_{}),\n}};\n",
            d.id,
            d.name,
            d.version,
            d.urn,
            cfg(d.id),
            ident(&d.name),
            d.id,
            d.name,
            d.urn,
            d.version.major,
            d.version.minor,
            d.lwm2m_version.major,
            d.lwm2m_version.minor,
            d.multiple,
            d.mandatory,
            d.id,
            d.id
        );
    }
    // Two lists, with and without the extra objects, so that each is an array.
    for extra in [true, false] {
        let listed: Vec<&ObjectDef> = defs
            .iter()
            .filter(|d| extra || !EXTRA.contains(&d.id))
            .collect();
        let _ = writeln!(
            s,
            "/// All built-in objects, by ID{}.\n#[cfg({}feature = \"extra-objects\"{})]\npub static OBJECTS: [&ObjectDef; {}] = [",
            if extra {
                ""
            } else {
                " (`extra-objects` off: the objects every client has)"
            },
            if extra { "" } else { "not(" },
            if extra { "" } else { ")" },
            listed.len()
        );
        for d in listed {
            let _ = writeln!(s, "    &{},", ident(&d.name));
        }
        s.push_str("];\n\n");
    }
    s.push_str("/// The built-in definition of object `id`.\n");
    s.push_str(OBJECT_FN_EXAMPLE);
    s.push_str("pub fn object(id: u16) -> Option<&'static ObjectDef> {\n    OBJECTS.iter().copied().find(|o| o.id == id)\n}\n");
    s
}

#[test]
fn builtin_matches_registry_xml() {
    let defs = load();
    let text = generate(&defs);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/object/builtin.rs");
    if std::env::var_os("MOTE_REGENERATE").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == text,
        "src/object/builtin.rs is stale: run with MOTE_REGENERATE=1"
    );
    let built: Vec<ObjectDef> = builtin::OBJECTS.iter().map(|o| (*o).clone()).collect();
    let expected: Vec<ObjectDef> = defs
        .into_iter()
        .filter(|d| cfg!(feature = "extra-objects") || !EXTRA.contains(&d.id))
        .collect();
    assert_eq!(built, expected);
}

#[test]
fn device_object_facts() {
    let dev = builtin::object(3).unwrap();
    assert_eq!(dev.name, "Device");
    assert_eq!(dev.resources.len(), 23);
    let r6 = dev.resource(6).unwrap();
    assert!(r6.multiple);
    assert_eq!(r6.kind, mote_lwm2m::ResourceType::Integer);
    assert!(dev.resource(4).unwrap().operations.executable());
    assert_eq!(builtin::object(21).unwrap().name, "LWM2M OSCORE");
    assert!(builtin::object(6).is_none());
}
