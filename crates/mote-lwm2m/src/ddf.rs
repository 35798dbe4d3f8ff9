//! DDF XML loader (feature `std`): reads the OMNA registry's object definition files
//! (schemas `LWM2M.xsd` and `LWM2M-v1_1.xsd`) into [`ObjectDef`]s.
//!
//! The registry's files are not all schema-clean, so the loader tolerates what is found
//! there in practice: empty `<Type>` and `<Operations>` on executable or container items,
//! names with stray or doubled spaces, whitespace around numbers, both XSD URLs (and none),
//! `MultipleInstances`/`Mandatory` values in any case, a missing `<ObjectVersion>` or
//! `<LWM2MVersion>` (1.0) and a missing `<Resources>` list (an object without resources).
//! It never reads the network or follows external entities (`roxmltree` has no DTD
//! support beyond internal entities).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use roxmltree::{Document, Node};

use crate::error::Error;
use crate::ids::MAX_ID;
use crate::object::{ObjectDef, Operations, Range, ResourceDef, ResourceText, Version};
use crate::value::ResourceType;

/// Parses one DDF document; a file may hold several `<Object>` elements.
///
/// ```
/// use mote_lwm2m::ResourceType;
/// use mote_lwm2m::ddf;
///
/// let xml = r#"
/// <LWM2M>
///   <Object ObjectType="MODefinition">
///     <Name>Temperature</Name>
///     <ObjectID>3303</ObjectID>
///     <ObjectURN>urn:oma:lwm2m:ext:3303</ObjectURN>
///     <MultipleInstances>Multiple</MultipleInstances>
///     <Mandatory>Optional</Mandatory>
///     <Resources>
///       <Item ID="5700">
///         <Name>Sensor Value</Name>
///         <Operations>R</Operations>
///         <MultipleInstances>Single</MultipleInstances>
///         <Mandatory>Mandatory</Mandatory>
///         <Type>Float</Type>
///         <RangeEnumeration></RangeEnumeration>
///         <Units>Cel</Units>
///       </Item>
///     </Resources>
///   </Object>
/// </LWM2M>"#;
/// let defs = ddf::parse(xml)?;
/// assert_eq!((defs[0].id, &*defs[0].name, defs[0].multiple), (3303, "Temperature", true));
/// let value = defs[0].resource(5700).ok_or("no 5700")?;
/// assert_eq!((value.kind, defs[0].resource_units(5700)), (ResourceType::Float, "Cel"));
/// assert_eq!(defs[0].resource_name(5700), "Sensor Value");
/// assert!(ddf::parse("<LWM2M></LWM2M>").is_err()); // no <Object>
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(xml: &str) -> Result<Vec<ObjectDef>, Error> {
    let doc = Document::parse(xml).map_err(|e| Error::Definition {
        line: e.pos().row,
        reason: "not well-formed XML",
    })?;
    let root = doc.root_element();
    if !root.has_tag_name("LWM2M") {
        return Err(Error::Definition {
            line: line_of(&doc, root),
            reason: "root element is not <LWM2M>",
        });
    }
    let mut out = Vec::new();
    for obj in root.children().filter(|n| n.has_tag_name("Object")) {
        out.push(parse_object(&doc, obj)?);
    }
    if out.is_empty() {
        return Err(Error::Definition {
            line: line_of(&doc, root),
            reason: "no <Object> element",
        });
    }
    Ok(out)
}

/// Loads every `*.xml` file of a directory (sorted by file name).
///
/// ```
/// use mote_lwm2m::ddf;
/// use mote_lwm2m::object::{ObjectDefs, ObjectRegistry};
///
/// # let xml = r#"
/// # <LWM2M>
/// #   <Object ObjectType="MODefinition">
/// #     <Name>Temperature</Name>
/// #     <ObjectID>3303</ObjectID>
/// #     <ObjectURN>urn:oma:lwm2m:ext:3303</ObjectURN>
/// #     <MultipleInstances>Multiple</MultipleInstances>
/// #     <Mandatory>Optional</Mandatory>
/// #     <Resources>
/// #       <Item ID="5700">
/// #         <Name>Sensor Value</Name>
/// #         <Operations>R</Operations>
/// #         <MultipleInstances>Single</MultipleInstances>
/// #         <Mandatory>Mandatory</Mandatory>
/// #         <Type>Float</Type>
/// #         <RangeEnumeration></RangeEnumeration>
/// #         <Units>Cel</Units>
/// #       </Item>
/// #     </Resources>
/// #   </Object>
/// # </LWM2M>
/// # "#;
/// let dir = std::env::temp_dir().join(format!("mote-ddf-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("3303.xml"), xml)?;
/// // The outer error is I/O; the inner one names the file that did not parse.
/// let defs = ddf::load_dir(&dir)?.map_err(|(file, e)| format!("{}: {e}", file.display()))?;
/// let mut registry = ObjectRegistry::with_builtin();
/// for def in defs {
///     registry.insert(def);
/// }
/// assert!(registry.object(3303).is_some());
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_dir(
    dir: &std::path::Path,
) -> std::io::Result<Result<Vec<ObjectDef>, (std::path::PathBuf, Error)>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")))
        .collect();
    files.sort();
    let mut defs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        match parse(&text) {
            Ok(mut d) => defs.append(&mut d),
            Err(e) => return Ok(Err((f, e))),
        }
    }
    Ok(Ok(defs))
}

fn line_of(doc: &Document<'_>, n: Node<'_, '_>) -> u32 {
    doc.text_pos_at(n.range().start).row
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

/// The element's text with surrounding whitespace removed and inner runs of whitespace
/// collapsed to one space ("Object  Version " → "Object Version").
fn text(n: Option<Node<'_, '_>>) -> String {
    let raw: String = n
        .map(|n| {
            n.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect()
        })
        .unwrap_or_default();
    let mut out = String::with_capacity(raw.len());
    for (i, w) in raw.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn id_of(doc: &Document<'_>, n: Node<'_, '_>, s: &str, what: &'static str) -> Result<u16, Error> {
    match s.trim().parse::<u16>() {
        Ok(v) if v != MAX_ID => Ok(v),
        _ => Err(Error::Definition {
            line: line_of(doc, n),
            reason: what,
        }),
    }
}

fn multiple(s: &str) -> bool {
    s.eq_ignore_ascii_case("multiple")
}

fn mandatory(s: &str) -> bool {
    s.eq_ignore_ascii_case("mandatory")
}

fn parse_object(doc: &Document<'_>, obj: Node<'_, '_>) -> Result<ObjectDef, Error> {
    let id_node = child(obj, "ObjectID").ok_or(Error::Definition {
        line: line_of(doc, obj),
        reason: "missing <ObjectID>",
    })?;
    let id = id_of(doc, id_node, &text(Some(id_node)), "invalid <ObjectID>")?;
    let version = |name: &str, what: &'static str| -> Result<Version, Error> {
        match child(obj, name) {
            None => Ok(Version::V1_0),
            Some(n) => {
                let t = text(Some(n));
                if t.is_empty() {
                    Ok(Version::V1_0)
                } else {
                    t.parse().map_err(|_| Error::Definition {
                        line: line_of(doc, n),
                        reason: what,
                    })
                }
            }
        }
    };
    let mut resources = Vec::new();
    let mut texts = Vec::new();
    if let Some(list) = child(obj, "Resources") {
        for item in list.children().filter(|n| n.has_tag_name("Item")) {
            let (def, text) = parse_item(doc, item)?;
            resources.push(def);
            texts.push(text);
        }
    }
    resources.sort_by_key(|r: &ResourceDef| r.id);
    texts.sort_by_key(|t: &ResourceText| t.id);
    if resources
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.id == b.id))
    {
        return Err(Error::Definition {
            line: line_of(doc, obj),
            reason: "duplicate resource ID",
        });
    }
    Ok(ObjectDef {
        id,
        name: Cow::Owned(text(child(obj, "Name"))),
        urn: Cow::Owned(text(child(obj, "ObjectURN"))),
        version: version("ObjectVersion", "invalid <ObjectVersion>")?,
        lwm2m_version: version("LWM2MVersion", "invalid <LWM2MVersion>")?,
        multiple: multiple(&text(child(obj, "MultipleInstances"))),
        mandatory: mandatory(&text(child(obj, "Mandatory"))),
        resources: Cow::Owned(resources),
        texts: Cow::Owned(texts),
    })
}

fn parse_item(
    doc: &Document<'_>,
    item: Node<'_, '_>,
) -> Result<(ResourceDef, ResourceText), Error> {
    let line = line_of(doc, item);
    let id_text = item.attribute("ID").ok_or(Error::Definition {
        line,
        reason: "<Item> without ID",
    })?;
    let id = id_of(doc, item, id_text, "invalid <Item> ID")?;
    let operations: Operations =
        text(child(item, "Operations"))
            .parse()
            .map_err(|_| Error::Definition {
                line,
                reason: "invalid <Operations>",
            })?;
    let mut kind: ResourceType =
        text(child(item, "Type"))
            .parse()
            .map_err(|_| Error::Definition {
                line,
                reason: "invalid <Type>",
            })?;
    // Registry quirk: some readable/writable items leave <Type> empty; they carry no
    // typed value anywhere, so treat them as opaque rather than reject the file.
    if kind == ResourceType::None && (operations.readable() || operations.writable()) {
        kind = ResourceType::Opaque;
    }
    let def = ResourceDef {
        id,
        operations,
        multiple: multiple(&text(child(item, "MultipleInstances"))),
        mandatory: mandatory(&text(child(item, "Mandatory"))),
        kind,
        range: Range::parse(&text(child(item, "RangeEnumeration"))),
    };
    let texts = ResourceText {
        id,
        name: Cow::Owned(text(child(item, "Name"))),
        units: Cow::Owned(text(child(item, "Units"))),
    };
    Ok((def, texts))
}
