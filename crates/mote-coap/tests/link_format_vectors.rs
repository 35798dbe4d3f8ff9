//! CoRE Link Format documents transcribed in `tests/data/link_format/` (RFC 6690 §5,
//! RFC 5988 §5.5, LwM2M TS 1.2 Core registration and Discover payloads): each parses to the
//! links and attributes listed beside it, serializes back (byte-identical where the document is
//! already canonical), and the parsed form survives a serialize/parse round trip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::Path;

use mote_coap::link_format::{
    LinkFormat, LinkFormatError, OwnedAttribute, OwnedLink, OwnedValue, to_string,
};

struct Case {
    name: String,
    lenient: bool,
    document: String,
    expected: Vec<OwnedLink>,
}

fn load(path: &Path) -> Case {
    let text = fs::read_to_string(path).unwrap();
    let mut lenient = None;
    let mut document = String::new();
    let mut expected: Vec<OwnedLink> = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        match line {
            "document" | "expected" => {
                section = if line == "document" {
                    "document"
                } else {
                    "expected"
                };
                continue;
            }
            _ => {}
        }
        match section {
            "" => {
                lenient = Some(match line {
                    "mode strict" => false,
                    "mode lenient" => true,
                    other => panic!("bad mode line {other}"),
                });
            }
            "document" => document.push_str(line),
            _ => {
                let (kind, rest) = line.split_once(' ').unwrap();
                match kind {
                    "link" => expected.push(OwnedLink {
                        target: rest.into(),
                        attributes: vec![],
                    }),
                    "attr" => {
                        let mut parts = rest.splitn(3, ' ');
                        let name = parts.next().unwrap().to_string();
                        let vkind = parts.next().unwrap();
                        let value = parts.next().unwrap_or("");
                        let value = match vkind {
                            "none" => None,
                            "token" => Some(OwnedValue::Token(value.into())),
                            "quoted" => Some(OwnedValue::Quoted(value.into())),
                            "ext" => Some(OwnedValue::Ext {
                                charset: "UTF-8".into(),
                                language: "de".into(),
                                value: value.as_bytes().to_vec(),
                            }),
                            other => panic!("bad value kind {other}"),
                        };
                        expected
                            .last_mut()
                            .unwrap()
                            .attributes
                            .push(OwnedAttribute { name, value });
                    }
                    other => panic!("bad expected line {other}"),
                }
            }
        }
    }
    Case {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        lenient: lenient.unwrap(),
        document,
        expected,
    }
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/link_format");
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files.iter().map(|p| load(p)).collect()
}

#[test]
fn documents_parse_to_their_transcribed_links() {
    let cases = cases();
    assert_eq!(cases.len(), 9);
    for case in &cases {
        let doc = if case.lenient {
            LinkFormat::parse_lenient(&case.document)
        } else {
            LinkFormat::parse(&case.document)
        }
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let owned = doc.to_owned_links();
        assert_eq!(owned, case.expected, "{}", case.name);

        // Serialize and parse again: the same links.
        let text = to_string(&owned).unwrap();
        let again = LinkFormat::parse(&text).unwrap().to_owned_links();
        assert_eq!(again, owned, "{}: round trip through {text}", case.name);
        // Canonical inputs (strict, no ext-values with lowercase hex) come back byte-identical.
        if !case.lenient && !case.document.contains('*') {
            assert_eq!(text, case.document, "{}", case.name);
        }
        // Lenient inputs with whitespace are rejected by the strict parser.
        if case.lenient && case.document.contains(' ') {
            assert!(
                matches!(
                    LinkFormat::parse(&case.document),
                    Err(LinkFormatError::UnexpectedCharacter { .. }
                        | LinkFormatError::ExpectedTarget { .. })
                ),
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn typed_accessors_on_lwm2m_and_rfc6690_shapes() {
    let doc = LinkFormat::parse(r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1"#).unwrap();
    let root = doc.links().next().unwrap();
    assert_eq!(root.resource_types().collect::<Vec<_>>(), ["oma.lwm2m"]);
    assert_eq!(root.content_formats().collect::<Vec<_>>(), [11543]);
    let doc = LinkFormat::parse_lenient("</>;ct=\"110 112 60\", </1/0>").unwrap();
    assert_eq!(
        doc.links()
            .next()
            .unwrap()
            .content_formats()
            .collect::<Vec<_>>(),
        [110, 112, 60]
    );
    let doc = LinkFormat::parse("</3/0/7>;dim=8;pmin=10").unwrap();
    let l = doc.links().next().unwrap();
    assert_eq!(
        l.attribute("DIM").unwrap().value().unwrap().as_str(),
        Some("8")
    );
    assert_eq!(l.attribute("pmin").unwrap().value().unwrap().raw(), "10");
    let doc = LinkFormat::parse(r#"</firmware/v2.1>;rt="firmware";sz=262144;if="a b""#).unwrap();
    let l = doc.links().next().unwrap();
    assert_eq!(l.size(), Some(262_144));
    assert_eq!(l.interfaces().collect::<Vec<_>>(), ["a", "b"]);
}
