//! LwM2M link-format payloads (CoRE Link Format, RFC 6690, through
//! [`mote_coap::link_format`]): the Register/Update payload (LwM2M TS Core 1.2 §6.2.1 and
//! §6.2.2.4 "Object Versioning"), Discover responses with attributes (§5.4.2, §6.3.3) and
//! Bootstrap-Discover responses with `ssid` and `uri` (§6.1.7.x).

use alloc::string::String;
use alloc::vec::Vec;

use mote_coap::link_format::{LinkFormat, LinkWriter, Value as LinkValue};

use crate::ascii::u64_text;
use crate::attributes::LinkAttributes;
use crate::error::Error;
use crate::object::Version;
use crate::path::Path;

/// One LwM2M link: a path (`</>` is the root) and its attributes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Link {
    /// The target, relative to the client's root (alternate path removed).
    pub path: Path,
    /// The attributes.
    pub attributes: LinkAttributes,
}

impl Link {
    /// A link without attributes.
    ///
    /// ```
    /// use mote_lwm2m::link::{Link, write};
    ///
    /// let link = Link::new("/3/0".parse()?);
    /// assert_eq!(write(&[link], "/")?, "</3/0>");
    /// # Ok::<(), mote_lwm2m::Error>(())
    /// ```
    pub fn new(path: Path) -> Link {
        Link {
            path,
            attributes: LinkAttributes::default(),
        }
    }
}

fn bad(reason: &'static str) -> Error {
    Error::Link { reason }
}

/// Parses an LwM2M link-format payload. Whitespace around the `,` separators (as printed
/// in the TS examples) and a trailing `/` on targets (`</0/1/>`) are tolerated; targets
/// must lie under `root` (`/` or the client's alternate path such as `/lwm2m`), which is
/// removed. Known attributes are parsed and validated; unknown ones are ignored.
///
/// ```
/// use mote_lwm2m::link;
///
/// // A Discover response on /3/0 (LwM2M TS Core 1.2 §5.4.2), with attributes.
/// let links = link::parse("</3/0>;pmin=10, </3/0/7>;dim=2, </3/0/9>", "/")?;
/// assert_eq!(links.len(), 3);
/// assert_eq!(links[0].attributes.notification.pmin, Some(10));
/// assert_eq!(links[1].attributes.dim, Some(2));
/// // Targets are relative to the client's root.
/// assert_eq!(link::parse("</lwm2m/1/0>", "/lwm2m")?[0].path, "/1/0".parse()?);
/// assert!(link::parse("</other/1/0>", "/lwm2m").is_err());
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn parse(text: &str, root: &str) -> Result<Vec<Link>, Error> {
    let doc = LinkFormat::parse_lenient(text.trim())
        .map_err(|_| bad("not a valid link-format document"))?;
    let root = root.trim_end_matches('/');
    let mut out = Vec::new();
    for l in doc.links() {
        let target = l.target();
        let rel = target
            .strip_prefix(root)
            .ok_or(bad("link target outside the client's root"))?;
        let rel = if rel.len() > 1 {
            rel.strip_suffix('/').unwrap_or(rel)
        } else {
            rel
        };
        let rel = if rel.is_empty() { "/" } else { rel };
        let path: Path = rel
            .parse()
            .map_err(|_| bad("link target is not an LwM2M path"))?;
        let mut a = LinkAttributes::default();
        for attr in l.attributes() {
            let v = attr.value();
            let text: String = v.map(|v| v.to_unescaped().into_owned()).unwrap_or_default();
            let need = |what| if v.is_some() { Ok(()) } else { Err(bad(what)) };
            match attr.name() {
                "lwm2m" => {
                    need("lwm2m without value")?;
                    a.lwm2m = Some(text.parse().map_err(|_| bad("lwm2m is not a version"))?);
                }
                "ver" => {
                    need("ver without value")?;
                    a.ver = Some(parse_version(&text)?);
                }
                "rt" => a.rt = Some(text),
                "ct" => {
                    for c in l.content_formats() {
                        a.ct.push(c);
                    }
                }
                "ssid" => {
                    let s: u16 = text.parse().map_err(|_| bad("ssid is not 1..65534"))?;
                    if s == 0 || s == u16::MAX {
                        return Err(bad("ssid is not 1..65534"));
                    }
                    a.ssid = Some(s);
                }
                "uri" => a.uri = Some(text),
                "dim" => a.dim = Some(text.parse().map_err(|_| bad("dim is not 0..255"))?),
                name => {
                    if !a.notification.set(name, &text)? {
                        // Unknown link parameters are allowed by RFC 6690.
                    }
                }
            }
        }
        out.push(Link {
            path,
            attributes: a,
        });
    }
    Ok(out)
}

fn parse_version(s: &str) -> Result<Version, Error> {
    // TS §5.1.2: "ver" "=" 1*DIGIT "." 1*DIGIT
    let (a, b) = s.split_once('.').ok_or(bad("ver is not MAJOR.MINOR"))?;
    if a.is_empty() || b.is_empty() || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) {
        return Err(bad("ver is not MAJOR.MINOR"));
    }
    s.parse().map_err(|_| bad("ver is not MAJOR.MINOR"))
}

/// Writes links in canonical form (no whitespace), each target prefixed with `root` (`/`
/// or an alternate path). Attribute order: `lwm2m`, `rt`, `ct`, `ver`, `ssid`, `uri`,
/// `dim`, then the notification attributes (as in the TS examples).
///
/// ```
/// use mote_lwm2m::link::{Link, write};
///
/// let mut battery = Link::new("/3/0/9".parse()?);
/// battery.attributes.notification.pmin = Some(10);
/// battery.attributes.notification.gt = Some(50.0);
/// assert_eq!(write(&[battery], "/lwm2m")?, "</lwm2m/3/0/9>;pmin=10;gt=50");
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn write(links: &[Link], root: &str) -> Result<String, Error> {
    let mut out = String::new();
    let mut w = LinkWriter::new(&mut out);
    let e = |_| bad("attribute not serializable");
    let root = root.trim_end_matches('/');
    for l in links {
        let mut target = String::from(root);
        target.push_str(l.path.ascii().as_str());
        w.link(&target).map_err(e)?;
        let a = &l.attributes;
        let mut tmp = String::new();
        if let Some(v) = a.lwm2m {
            tmp.clear();
            push_version(&mut tmp, v);
            w.attribute("lwm2m", Some(LinkValue::Token(&tmp)))
                .map_err(e)?;
        }
        if let Some(rt) = &a.rt {
            w.attribute("rt", Some(LinkValue::Quoted(rt))).map_err(e)?;
        }
        if !a.ct.is_empty() {
            tmp.clear();
            for (i, c) in a.ct.iter().enumerate() {
                if i > 0 {
                    tmp.push(' ');
                }
                tmp.push_str(u64_text(u64::from(*c)).as_str());
            }
            let v = if a.ct.len() == 1 {
                LinkValue::Token(&tmp)
            } else {
                LinkValue::Quoted(&tmp)
            };
            w.attribute("ct", Some(v)).map_err(e)?;
        }
        if let Some(v) = a.ver {
            tmp.clear();
            push_version(&mut tmp, v);
            w.attribute("ver", Some(LinkValue::Token(&tmp)))
                .map_err(e)?;
        }
        if let Some(s) = a.ssid {
            tmp.clear();
            tmp.push_str(u64_text(u64::from(s)).as_str());
            w.attribute("ssid", Some(LinkValue::Token(&tmp)))
                .map_err(e)?;
        }
        if let Some(u) = &a.uri {
            w.attribute("uri", Some(LinkValue::Quoted(u))).map_err(e)?;
        }
        if let Some(d) = a.dim {
            tmp.clear();
            tmp.push_str(u64_text(u64::from(d)).as_str());
            w.attribute("dim", Some(LinkValue::Token(&tmp)))
                .map_err(e)?;
        }
        for (name, v) in a.notification.pairs() {
            w.attribute(name, Some(LinkValue::Token(&v))).map_err(e)?;
        }
    }
    Ok(out)
}

/// Appends `major.minor`, as `Version`'s `Display` writes it.
fn push_version(s: &mut String, v: Version) {
    s.push_str(u64_text(u64::from(v.major)).as_str());
    s.push('.');
    s.push_str(u64_text(u64::from(v.minor)).as_str());
}

/// The Register / Update payload (TS §6.2.1.1, §6.2.2.4): the root link
/// `</>;rt="oma.lwm2m";ct=…` when content formats are given (LwM2M 1.1+), then for each
/// object its instances (`</O/I>`), or `</O>` when it has none; an object whose version
/// differs from `enabler_default` (the version released with the client's Enabler) gets
/// `</O>;ver=X.Y` before its instances.
///
/// ```
/// use mote_lwm2m::link::registration_payload;
/// use mote_lwm2m::object::Version;
///
/// let objects = [
///     (1, Version::V1_0, vec![0]),
///     (3, Version::V1_0, vec![0]),
///     (5, Version { major: 1, minor: 1 }, vec![]),
/// ];
/// let payload = registration_payload(&[11543], &objects, |_| Version::V1_0, "/")?;
/// assert_eq!(payload, r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</5>;ver=1.1"#);
/// # Ok::<(), mote_lwm2m::Error>(())
/// ```
pub fn registration_payload(
    content_formats: &[u16],
    objects: &[(u16, Version, Vec<u16>)],
    enabler_default: impl Fn(u16) -> Version,
    root: &str,
) -> Result<String, Error> {
    let mut links = Vec::new();
    if !content_formats.is_empty() {
        let mut a = LinkAttributes {
            rt: Some(String::from("oma.lwm2m")),
            ..LinkAttributes::default()
        };
        a.ct = content_formats.to_vec();
        links.push(Link {
            path: Path::ROOT,
            attributes: a,
        });
    }
    for (obj, version, instances) in objects {
        let op = Path::new(&[*obj])?;
        let versioned = *version != enabler_default(*obj);
        if versioned || instances.is_empty() {
            let mut l = Link::new(op);
            if versioned {
                l.attributes.ver = Some(*version);
            }
            links.push(l);
        }
        for i in instances {
            links.push(Link::new(op.child(*i)?));
        }
    }
    write(&links, root)
}
