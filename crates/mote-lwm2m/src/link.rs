//! LwM2M link-format payloads (CoRE Link Format, RFC 6690, through
//! [`mote_coap::link_format`]): the Register/Update payload (LwM2M TS Core 1.2 §6.2.1 and
//! §6.2.2.4 "Object Versioning"), Discover responses with attributes (§5.4.2, §6.3.3) and
//! Bootstrap-Discover responses with `ssid` and `uri` (§6.1.7.x).

use alloc::string::String;
use alloc::vec::Vec;

use mote_coap::link_format::{LinkFormat, LinkWriter};

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
    let root = root.trim_end_matches('/');
    // The targets' URI-Reference check (RFC 6690 §2) is mote-coap's, on the root once: a
    // path adds only `/` and digits, which cannot complete a percent-escape the root
    // leaves open. The attributes below are written here: their names are fixed and their
    // values numbers, versions or the two quoted strings checked on the way.
    if !links.is_empty() {
        LinkWriter::new(Discard)
            .link(root)
            .map_err(|_| bad("attribute not serializable"))?;
    }
    let mut out = String::new();
    for (i, l) in links.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('<');
        out.push_str(root);
        out.push_str(l.path.ascii().as_str());
        out.push('>');
        let a = &l.attributes;
        if let Some(v) = a.lwm2m {
            out.push_str(";lwm2m=");
            push_version(&mut out, v);
        }
        if let Some(rt) = &a.rt {
            // RFC 6690 §2: rt="relation-type *( 1*SP relation-type )" (URI characters).
            let spaced = !rt.is_empty() && !rt.starts_with(' ') && !rt.ends_with(' ');
            if !spaced || !rt.bytes().all(|c| c == b' ' || c == b'%' || is_uri_char(c)) {
                return Err(bad("attribute not serializable"));
            }
            out.push_str(";rt=\"");
            out.push_str(rt);
            out.push('"');
        }
        if !a.ct.is_empty() {
            // RFC 7252 §7.2.1: one number as a token, several as a quoted list.
            let quoted = a.ct.len() > 1;
            out.push_str(if quoted { ";ct=\"" } else { ";ct=" });
            for (i, c) in a.ct.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(u64_text(u64::from(*c)).as_str());
            }
            if quoted {
                out.push('"');
            }
        }
        if let Some(v) = a.ver {
            out.push_str(";ver=");
            push_version(&mut out, v);
        }
        if let Some(s) = a.ssid {
            push_number(&mut out, "ssid", u64::from(s));
        }
        if let Some(u) = &a.uri {
            // RFC 6690 §2 quoted-string: no control characters; `"` and `\` escaped.
            if u.bytes().any(|c| (c < 0x20 && c != b'\t') || c == 0x7F) {
                return Err(bad("attribute not serializable"));
            }
            out.push_str(";uri=\"");
            for c in u.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        if let Some(d) = a.dim {
            push_number(&mut out, "dim", u64::from(d));
        }
        a.notification.write_pairs(&mut out, ';');
    }
    Ok(out)
}

/// A link-format writer's output that keeps nothing (only its checks are wanted).
struct Discard;

impl core::fmt::Write for Discard {
    fn write_str(&mut self, _: &str) -> core::fmt::Result {
        Ok(())
    }
}

/// Appends `;name=n`.
fn push_number(out: &mut String, name: &str, n: u64) {
    out.push(';');
    out.push_str(name);
    out.push('=');
    out.push_str(u64_text(n).as_str());
}

/// RFC 3986 unreserved, gen-delims and sub-delims: the characters of a relation type
/// (RFC 6690 §2, as mote-coap's link-format writer checks them).
const fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.' | b'_' | b'~' // unreserved
            | b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' // gen-delims
            | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' // sub-delims
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::NotificationAttributes;
    use mote_coap::link_format::Value as LinkValue;

    /// The writer before links were written by hand: every attribute through mote-coap's
    /// checking `LinkWriter` (the reference for the texts and the refusals).
    fn write_with_link_writer(links: &[Link], root: &str) -> Result<String, Error> {
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
                push_version(&mut tmp, v);
                w.attribute("lwm2m", Some(LinkValue::Token(&tmp)))
                    .map_err(e)?;
            }
            if let Some(rt) = &a.rt {
                w.attribute("rt", Some(LinkValue::Quoted(rt))).map_err(e)?;
            }
            if !a.ct.is_empty() {
                let list: Vec<String> = a.ct.iter().map(|c| alloc::format!("{c}")).collect();
                let list = list.join(" ");
                let v = if a.ct.len() == 1 {
                    LinkValue::Token(&list)
                } else {
                    LinkValue::Quoted(&list)
                };
                w.attribute("ct", Some(v)).map_err(e)?;
            }
            if let Some(v) = a.ver {
                let v = alloc::format!("{v}");
                w.attribute("ver", Some(LinkValue::Token(&v))).map_err(e)?;
            }
            if let Some(s) = a.ssid {
                let s = alloc::format!("{s}");
                w.attribute("ssid", Some(LinkValue::Token(&s))).map_err(e)?;
            }
            if let Some(u) = &a.uri {
                w.attribute("uri", Some(LinkValue::Quoted(u))).map_err(e)?;
            }
            if let Some(d) = a.dim {
                let d = alloc::format!("{d}");
                w.attribute("dim", Some(LinkValue::Token(&d))).map_err(e)?;
            }
            for (name, v) in a.notification.pairs() {
                w.attribute(name, Some(LinkValue::Token(&v))).map_err(e)?;
            }
        }
        Ok(out)
    }

    #[test]
    fn links_are_written_and_refused_as_the_link_writer_does() {
        let texts = [
            "",
            "oma.lwm2m",
            "a b",
            " a",
            "a ",
            "a  b",
            "50%",
            "x\"y",
            "back\\slash",
            "tab\tx",
            "bell\u{7}",
            "del\u{7f}",
            "ü",
            "coap://[::1]:5683/bs?x=1",
        ];
        let roots = [
            "/", "", "/lwm2m", "/lwm2m/", "/a b", "/%zz", "/%41", "%4", "/x%", "%", "/%4/",
        ];
        let notification = NotificationAttributes {
            pmin: Some(0),
            pmax: Some(u32::MAX),
            gt: Some(-12.25),
            st: Some(0.5),
            edge: Some(true),
            con: Some(false),
            hqmax: Some(7),
            ..NotificationAttributes::default()
        };
        let mut cases = 0;
        for (root, as_rt) in roots.into_iter().flat_map(|r| [(r, true), (r, false)]) {
            for (i, text) in texts.iter().enumerate() {
                let mut l = Link::new(Path::new(&[3, 0, 9]).unwrap_or(Path::ROOT));
                let a = &mut l.attributes;
                if as_rt {
                    a.rt = Some(String::from(*text));
                } else {
                    a.uri = Some(String::from(*text));
                }
                a.ct = match i % 3 {
                    0 => Vec::new(),
                    1 => alloc::vec![11543],
                    _ => alloc::vec![0, 110, 65535],
                };
                a.lwm2m = (i % 4 == 0).then_some(Version { major: 1, minor: 2 });
                a.ver = (i % 4 == 1).then_some(Version {
                    major: 10,
                    minor: 0,
                });
                a.ssid = (i % 5 == 0).then_some(65534);
                a.dim = (i % 2 == 1).then_some(255);
                if i % 3 == 1 {
                    a.notification = notification.clone();
                }
                let links = [Link::new(Path::ROOT), l.clone(), l];
                assert_eq!(
                    write(&links, root),
                    write_with_link_writer(&links, root),
                    "root {root:?}, text {text:?}, as rt: {as_rt}"
                );
                cases += 1;
            }
        }
        assert_eq!(cases, 2 * roots.len() * texts.len());
        // No link: nothing to check, as the writer never sees the root.
        for root in roots {
            assert_eq!(write(&[], root).as_deref(), Ok(""), "{root:?}");
            assert_eq!(write_with_link_writer(&[], root).as_deref(), Ok(""));
        }
    }

    #[test]
    fn quoted_values_are_escaped_and_checked() {
        let mut l = Link::new(Path::ROOT);
        l.attributes.uri = Some(String::from("a\"b\\c"));
        assert_eq!(
            write(core::slice::from_ref(&l), "/").as_deref(),
            Ok(r#"</>;uri="a\"b\\c""#)
        );
        l.attributes.rt = Some(String::from(" oma.lwm2m"));
        assert!(write(core::slice::from_ref(&l), "/").is_err());
        l.attributes.rt = None;
        l.attributes.uri = Some(String::from("a\u{1}"));
        assert!(write(&[l], "/").is_err());
    }
}
