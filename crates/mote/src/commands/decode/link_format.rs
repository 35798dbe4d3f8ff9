//! `mote decode --as link-format`: a CoRE Link Format document (RFC 6690), printed as text or
//! as the JSON array of the command-line contract:
//! `[{"target":"/3/0","attributes":[{"name":"ver","value":"1.1"}]}]`, with `"value": null`
//! for a parameter without a value and quoted-strings unescaped.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use mote_coap::link_format::LinkFormat;
use serde::Serialize;

/// One parameter in the JSON shape.
#[derive(Debug, Serialize)]
struct JsonAttribute {
    name: String,
    value: Option<String>,
}

/// One link in the JSON shape (field order is part of the contract).
#[derive(Debug, Serialize)]
struct JsonLink {
    target: String,
    attributes: Vec<JsonAttribute>,
}

/// Decodes `bytes` as a link-format document (strict RFC 6690 syntax).
pub(crate) fn decode(bytes: &[u8], json: bool) -> Result<String> {
    let doc = LinkFormat::parse_bytes(bytes).context("not a valid CoRE Link Format document")?;
    if json {
        let links: Vec<JsonLink> = doc
            .links()
            .map(|l| JsonLink {
                target: l.target().to_string(),
                attributes: l
                    .attributes()
                    .map(|a| JsonAttribute {
                        name: a.name().to_string(),
                        value: a.value().map(|v| v.to_unescaped().into_owned()),
                    })
                    .collect(),
            })
            .collect();
        return Ok(serde_json::to_string(&links)?);
    }
    let mut out = String::new();
    let mut count = 0;
    for link in doc.links() {
        count += 1;
        writeln!(out, "<{}>", link.target())?;
        for a in link.attributes() {
            match a.value() {
                Some(v) => writeln!(out, "  {} = {}", a.name(), v.raw())?,
                None => writeln!(out, "  {}", a.name())?,
            }
        }
    }
    write!(out, "{count} link{}", if count == 1 { "" } else { "s" })?;
    Ok(out)
}
