//! CoRE Link Format (RFC 6690): a zero-copy parser and a serializer.
//!
//! The grammar is RFC 6690 §2 (which takes the link-value ABNF of RFC 5988 §5 and adds the
//! `rt`, `if` and `sz` attributes), with the `ct` attribute of RFC 7252 §7.2.1:
//!
//! ```text
//! Link            = link-value-list
//! link-value-list = [ link-value *[ "," link-value ]]
//! link-value      = "<" URI-Reference ">" *( ";" link-param )
//! link-extension  = ( parmname [ "=" ( ptoken / quoted-string ) ] )
//!                 / ( ext-name-star "=" ext-value )
//! ```
//!
//! [`LinkFormat::parse`] validates a whole document once (no whitespace is allowed between
//! the elements, as in the ABNF); afterwards [`LinkFormat::links`] and [`Link::attributes`]
//! iterate over it without allocating. Each [`Attribute`] value is available raw (as written),
//! as its content, unescaped character by character, and — with `alloc` — as an owned decoded
//! string. [`LinkWriter`] serializes to any [`fmt::Write`]; [`OwnedLink`] is the owned form.
//!
//! Attributes with a defined syntax are checked: `anchor` must be a quoted URI-Reference,
//! `title` a quoted-string, `sz` a cardinal, `ct` a cardinal up to 65535 or a quoted list of
//! them, `rel`/`rev`/`rt`/`if` a token or a quoted, space-separated list, and `name*`
//! parameters an ext-value (RFC 5987).
//!
//! ```
//! use mote_coap::link_format::LinkFormat;
//!
//! // An LwM2M 1.1 registration payload.
//! let doc = LinkFormat::parse(r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1"#).unwrap();
//! let links: Vec<_> = doc.links().collect();
//! assert_eq!(links.len(), 3);
//! assert_eq!(links[0].target(), "/");
//! assert_eq!(links[0].resource_types().collect::<Vec<_>>(), ["oma.lwm2m"]);
//! assert_eq!(links[0].content_formats().collect::<Vec<_>>(), [11543]);
//! let ver = links[2].attribute("ver").unwrap();
//! assert_eq!(ver.value().unwrap().as_str(), Some("1.1"));
//! ```

#![deny(clippy::indexing_slicing)]

#[cfg(feature = "alloc")]
use alloc::{borrow::Cow, string::String, vec::Vec};
use core::fmt;

/// Errors of link-format parsing and serialization; offsets are byte positions in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkFormatError {
    /// A link-value must start with `<` (also after a `,`).
    #[error("expected '<' starting a link at offset {offset} (RFC 6690 §2 link-value)")]
    ExpectedTarget {
        /// Where the `<` was expected.
        offset: usize,
    },
    /// A target without its closing `>`.
    #[error("link target starting at offset {offset} has no closing '>'")]
    UnterminatedTarget {
        /// Offset of the `<`.
        offset: usize,
    },
    /// A character not allowed in a URI-Reference (RFC 3986) inside `<...>` or an anchor.
    #[error("character not allowed in a URI-Reference at offset {offset} (RFC 3986 §4.1)")]
    InvalidTargetCharacter {
        /// Offset of the character.
        offset: usize,
    },
    /// A `%` not followed by two hexadecimal digits (in a target, anchor or ext-value).
    #[error("bad percent-encoding at offset {offset} (RFC 3986 §2.1)")]
    BadPercentEncoding {
        /// Offset of the `%`.
        offset: usize,
    },
    /// A `;` not followed by a parameter name (parmname = 1*attr-char, RFC 5987).
    #[error("expected a parameter name at offset {offset} (RFC 5988 §5 parmname)")]
    ExpectedParameterName {
        /// Where the name was expected.
        offset: usize,
    },
    /// An empty or malformed unquoted value (ptoken = 1*ptokenchar).
    #[error("invalid unquoted parameter value at offset {offset} (RFC 5988 §5 ptoken)")]
    InvalidToken {
        /// Offset of the offending character.
        offset: usize,
    },
    /// A quoted-string without its closing quote.
    #[error("quoted-string starting at offset {offset} is not terminated (RFC 2616 §2.2)")]
    UnterminatedQuotedString {
        /// Offset of the opening quote.
        offset: usize,
    },
    /// A control character in a quoted-string, or `\` followed by a non-ASCII character.
    #[error("character not allowed in a quoted-string at offset {offset} (RFC 2616 §2.2)")]
    InvalidQuotedCharacter {
        /// Offset of the character.
        offset: usize,
    },
    /// A malformed ext-value of a `name*` parameter (RFC 5987 §3.2.1).
    #[error("invalid ext-value at offset {offset} (RFC 5987 §3.2.1)")]
    InvalidExtValue {
        /// Offset of the offending character.
        offset: usize,
    },
    /// After a link, something other than `;`, `,` or the end of the document.
    #[error("unexpected character at offset {offset}: expected ';', ',' or the end")]
    UnexpectedCharacter {
        /// Offset of the character.
        offset: usize,
    },
    /// A value that violates the syntax of a defined attribute.
    #[error("invalid value for a defined attribute at offset {offset}: {rule}")]
    InvalidAttributeValue {
        /// Offset of the parameter name.
        offset: usize,
        /// The rule that was violated.
        rule: &'static str,
    },
    /// A serializer input that cannot be written as valid link format.
    #[error("cannot serialize: {reason}")]
    Unserializable {
        /// What was wrong.
        reason: &'static str,
    },
    /// The output writer failed (e.g. the buffer is full).
    #[error("the output writer failed")]
    Output,
}

type Result<T, E = LinkFormatError> = core::result::Result<T, E>;

/// RFC 3986: characters of a URI-Reference other than `%`.
const fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.' | b'_' | b'~' // unreserved
            | b':' | b'/' | b'?' | b'#' | b'[' | b']' | b'@' // gen-delims
            | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' // sub-delims
        )
}

/// RFC 5987 attr-char.
const fn is_attr_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

/// RFC 5988 §5 ptokenchar.
const fn is_ptoken_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'/'
                | b':'
                | b'<'
                | b'='
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b']'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        )
}

/// RFC 5987 mime-charsetc.
const fn is_charset_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'+'
                | b'-'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'}'
                | b'~'
        )
}

const fn is_ctl(c: u8) -> bool {
    (c < 0x20 && c != b'\t') || c == 0x7F
}

const fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn pct_ok(b: &[u8], i: usize) -> bool {
    b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}

/// Validates a URI-Reference (target or anchor); `start` is its offset in the document.
fn check_uri_reference(s: &str, start: usize) -> Result<()> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if !pct_ok(b, i) {
                return Err(LinkFormatError::BadPercentEncoding { offset: start + i });
            }
            i += 3;
        } else if is_uri_char(c) {
            i += 1;
        } else {
            return Err(LinkFormatError::InvalidTargetCharacter { offset: start + i });
        }
    }
    Ok(())
}

/// How a parameter value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// An unquoted ptoken.
    Token,
    /// A quoted-string.
    Quoted,
    /// An RFC 5987 ext-value of a `name*` parameter.
    Ext,
}

/// RFC 6690 §2, RFC 5988 §5, RFC 7252 §7.2.1: the syntax of defined attributes. `content` is the
/// token, the unescaped quoted-string content, or the ext-value.
fn check_defined(
    name: &str,
    kind: ValueKind,
    content: &str,
) -> core::result::Result<(), &'static str> {
    let cardinal = |s: &[u8]| {
        !s.is_empty() && s.iter().all(u8::is_ascii_digit) && (s == b"0" || !s.starts_with(b"0"))
    };
    // A cardinal has no leading zero, so its length orders it and equal lengths compare as
    // text: no integer parsing needed for the 0-65535 bound.
    let content_format =
        |s: &[u8]| cardinal(s) && (s.len() < 5 || (s.len() == 5 && s <= &b"65535"[..]));
    let spaced_ok = |s: &str| {
        // relation-type *( 1*SP relation-type ): no leading or trailing space.
        !s.is_empty() && !s.starts_with(' ') && !s.ends_with(' ')
    };
    match defined(name) {
        Defined::Anchor => {
            if kind != ValueKind::Quoted || check_uri_reference(content, 0).is_err() {
                return Err("anchor must be a quoted URI-Reference (RFC 5988 §5)");
            }
        }
        Defined::Title => {
            if kind != ValueKind::Quoted {
                return Err("title must be a quoted-string (RFC 5988 §5)");
            }
        }
        Defined::Sz => {
            if kind != ValueKind::Token || !cardinal(content.as_bytes()) {
                return Err("sz must be a cardinal (RFC 6690 §2)");
            }
        }
        Defined::Ct => {
            let ok = match kind {
                ValueKind::Token => content_format(content.as_bytes()),
                ValueKind::Quoted => {
                    spaced_ok(content)
                        && content
                            .as_bytes()
                            .split(|&c| c == b' ')
                            .filter(|v| !v.is_empty())
                            .all(content_format)
                }
                ValueKind::Ext => false,
            };
            if !ok {
                return Err(
                    "ct must be a cardinal 0-65535 or a quoted list of them (RFC 7252 §7.2.1)",
                );
            }
        }
        Defined::RelationTypes => {
            let ok = match kind {
                ValueKind::Token => true,
                ValueKind::Quoted => {
                    spaced_ok(content)
                        && content
                            .bytes()
                            .all(|c| c == b' ' || is_uri_char(c) || c == b'%')
                }
                ValueKind::Ext => false,
            };
            if !ok {
                return Err(
                    "rel/rev/rt/if must be a relation-type or a quoted, space-separated list (RFC 6690 §2)",
                );
            }
        }
        Defined::Other => {}
    }
    Ok(())
}

enum Defined {
    Anchor,
    Title,
    Sz,
    Ct,
    RelationTypes,
    Other,
}

/// Which defined attribute `name` is (names compare case-insensitively, RFC 5988 §5).
fn defined(name: &str) -> Defined {
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    if is("anchor") {
        Defined::Anchor
    } else if is("title") {
        Defined::Title
    } else if is("sz") {
        Defined::Sz
    } else if is("ct") {
        Defined::Ct
    } else if is("rel") || is("rev") || is("rt") || is("if") {
        Defined::RelationTypes
    } else {
        Defined::Other
    }
}

/// A parameter value as written in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttributeValue<'a> {
    kind: ValueKind,
    raw: &'a str,
}

impl<'a> AttributeValue<'a> {
    /// How the value is written.
    #[must_use]
    pub const fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The value exactly as written (quoted-strings with their quotes and escapes).
    #[must_use]
    pub const fn raw(&self) -> &'a str {
        self.raw
    }

    /// The content: the token; the quoted-string between its quotes (escapes kept); the
    /// ext-value's percent-encoded value-chars.
    #[must_use]
    pub fn content(&self) -> &'a str {
        match self.kind {
            ValueKind::Token => self.raw,
            ValueKind::Quoted => self
                .raw
                .get(1..self.raw.len().saturating_sub(1))
                .unwrap_or(""),
            ValueKind::Ext => self.ext_parts().2,
        }
    }

    /// The value without quoting, borrowed when that needs no unescaping: tokens, and
    /// quoted-strings without `\`. `None` for ext-values and escaped quoted-strings.
    #[must_use]
    pub fn as_str(&self) -> Option<&'a str> {
        match self.kind {
            ValueKind::Token => Some(self.raw),
            ValueKind::Quoted => Some(self.content()).filter(|c| !c.contains('\\')),
            ValueKind::Ext => None,
        }
    }

    /// The characters of a token or quoted-string with quoted-pairs unescaped (for an
    /// ext-value, the raw value-chars).
    #[must_use]
    pub fn unescaped_chars(&self) -> Unescaped<'a> {
        Unescaped {
            chars: self.content().chars(),
            quoted: self.kind == ValueKind::Quoted,
        }
    }

    /// The ext-value's charset, language and percent-encoded value (empty strings for other
    /// kinds).
    #[must_use]
    pub fn ext_parts(&self) -> (&'a str, &'a str, &'a str) {
        if self.kind != ValueKind::Ext {
            return ("", "", "");
        }
        let mut parts = self.raw.splitn(3, '\'');
        let charset = parts.next().unwrap_or("");
        let language = parts.next().unwrap_or("");
        let value = parts.next().unwrap_or("");
        (charset, language, value)
    }

    /// The bytes of an ext-value after percent-decoding (for other kinds, the content bytes).
    #[must_use]
    pub fn ext_decoded_bytes(&self) -> PercentDecoded<'a> {
        PercentDecoded {
            bytes: self.content().as_bytes().iter(),
        }
    }

    /// Space-separated items of the value (relation-types, content-formats).
    pub fn items(self) -> impl Iterator<Item = &'a str> + 'a {
        self.content().split(' ').filter(|s| !s.is_empty())
    }

    /// The value as one string: quoted-strings unescaped, ext-values percent-decoded (as UTF-8,
    /// invalid sequences replaced). Borrowed when possible.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_unescaped(&self) -> Cow<'a, str> {
        match (self.kind, self.as_str()) {
            (_, Some(s)) => Cow::Borrowed(s),
            (ValueKind::Ext, _) => {
                let bytes: Vec<u8> = self.ext_decoded_bytes().collect();
                Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => Cow::Owned(self.unescaped_chars().collect()),
        }
    }
}

/// Iterator over the characters of a value with quoted-pairs resolved.
#[derive(Debug, Clone)]
pub struct Unescaped<'a> {
    chars: core::str::Chars<'a>,
    quoted: bool,
}

impl Iterator for Unescaped<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if self.quoted && c == '\\' {
            self.chars.next()
        } else {
            Some(c)
        }
    }
}

/// Iterator over percent-decoded bytes.
#[derive(Debug, Clone)]
pub struct PercentDecoded<'a> {
    bytes: core::slice::Iter<'a, u8>,
}

impl Iterator for PercentDecoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.next()?;
        if b != b'%' {
            return Some(b);
        }
        let hi = self.bytes.next().and_then(|c| hex_value(*c)).unwrap_or(0);
        let lo = self.bytes.next().and_then(|c| hex_value(*c)).unwrap_or(0);
        Some((hi << 4) | lo)
    }
}

/// One link-param: a name and an optional value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Attribute<'a> {
    name: &'a str,
    value: Option<AttributeValue<'a>>,
}

impl<'a> Attribute<'a> {
    /// The parameter name (with its `*` for ext-values).
    #[must_use]
    pub const fn name(&self) -> &'a str {
        self.name
    }

    /// The value, `None` for a parameter without `=` (e.g. `obs`).
    #[must_use]
    pub const fn value(&self) -> Option<AttributeValue<'a>> {
        self.value
    }
}

/// Scans one link-param starting at `pos` (just after its `;`); returns it and the position
/// after it.
fn scan_param(s: &str, pos: usize) -> Result<(Attribute<'_>, usize)> {
    let b = s.as_bytes();
    let mut p = pos;
    while b.get(p).copied().is_some_and(is_attr_char) {
        p += 1;
    }
    if p == pos {
        return Err(LinkFormatError::ExpectedParameterName { offset: pos });
    }
    let star = b.get(p) == Some(&b'*');
    if star {
        p += 1;
    }
    let name = s.get(pos..p).unwrap_or("");
    if b.get(p) != Some(&b'=') {
        if star {
            return Err(LinkFormatError::InvalidExtValue { offset: p });
        }
        return Ok((Attribute { name, value: None }, p));
    }
    p += 1;
    let vstart = p;
    let kind = if star {
        // RFC 5987 §3.2.1: ext-value = charset "'" [ language ] "'" value-chars
        while b.get(p).copied().is_some_and(is_charset_char) {
            p += 1;
        }
        if p == vstart || b.get(p) != Some(&b'\'') {
            return Err(LinkFormatError::InvalidExtValue { offset: p });
        }
        p += 1;
        while b
            .get(p)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-')
        {
            p += 1;
        }
        if b.get(p) != Some(&b'\'') {
            return Err(LinkFormatError::InvalidExtValue { offset: p });
        }
        p += 1;
        while let Some(&c) = b.get(p) {
            if c == b'%' {
                if !pct_ok(b, p) {
                    return Err(LinkFormatError::BadPercentEncoding { offset: p });
                }
                p += 3;
            } else if is_attr_char(c) {
                p += 1;
            } else if c == b';' || c == b',' {
                break;
            } else {
                return Err(LinkFormatError::InvalidExtValue { offset: p });
            }
        }
        ValueKind::Ext
    } else if b.get(p) == Some(&b'"') {
        // RFC 2616 §2.2: quoted-string = ( <"> *(qdtext | quoted-pair ) <"> )
        p += 1;
        loop {
            match b.get(p) {
                None => return Err(LinkFormatError::UnterminatedQuotedString { offset: vstart }),
                Some(b'"') => {
                    p += 1;
                    break;
                }
                // quoted-pair = "\" CHAR; a quoted control character is rejected like a raw one
                // (fail closed: it could not be serialized back).
                Some(b'\\') => match b.get(p + 1) {
                    Some(&c) if c.is_ascii() && !is_ctl(c) => p += 2,
                    Some(_) => {
                        return Err(LinkFormatError::InvalidQuotedCharacter { offset: p + 1 });
                    }
                    None => {
                        return Err(LinkFormatError::UnterminatedQuotedString { offset: vstart });
                    }
                },
                Some(&c) if is_ctl(c) => {
                    return Err(LinkFormatError::InvalidQuotedCharacter { offset: p });
                }
                Some(_) => p += 1,
            }
        }
        ValueKind::Quoted
    } else {
        while b.get(p).copied().is_some_and(is_ptoken_char) {
            p += 1;
        }
        if p == vstart {
            return Err(LinkFormatError::InvalidToken { offset: p });
        }
        ValueKind::Token
    };
    let value = AttributeValue {
        kind,
        raw: s.get(vstart..p).unwrap_or(""),
    };
    // Quoted-pairs are checked as written: `\` never forms valid URI or cardinal characters,
    // so this agrees with the serializer's check of the unescaped content.
    let check = check_defined(name, kind, value.content());
    check.map_err(|rule| LinkFormatError::InvalidAttributeValue { offset: pos, rule })?;
    Ok((
        Attribute {
            name,
            value: Some(value),
        },
        p,
    ))
}

/// One link-value: a target URI-Reference and its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Link<'a> {
    target: &'a str,
    params: &'a str,
}

impl<'a> Link<'a> {
    /// The target URI-Reference, as written between `<` and `>`.
    #[must_use]
    pub const fn target(&self) -> &'a str {
        self.target
    }

    /// The parameters in document order.
    #[must_use]
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            params: self.params,
            pos: 0,
        }
    }

    /// The first parameter named `name` (compared case-insensitively, RFC 5988 §5).
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<Attribute<'a>> {
        self.attributes()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// Whether a parameter named `name` is present (e.g. `obs`).
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    fn items_of(&self, name: &'static str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes()
            .filter(move |a| a.name().eq_ignore_ascii_case(name))
            .filter_map(|a| a.value())
            .flat_map(|v| v.items())
    }

    /// Resource types (`rt`, RFC 6690 §3.1), across all `rt` parameters.
    pub fn resource_types(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.items_of("rt")
    }

    /// Interface descriptions (`if`, RFC 6690 §3.2).
    pub fn interfaces(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.items_of("if")
    }

    /// Relation types (`rel`).
    pub fn relations(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.items_of("rel")
    }

    /// Content-Format codes (`ct`, RFC 7252 §7.2.1).
    pub fn content_formats(&self) -> impl Iterator<Item = u16> + 'a {
        self.items_of("ct").filter_map(|v| v.parse().ok())
    }

    /// The maximum size estimate (`sz`, RFC 6690 §3.3).
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        self.attribute("sz")?.value()?.as_str()?.parse().ok()
    }

    /// The owned, decoded form.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_owned_link(&self) -> OwnedLink {
        OwnedLink {
            target: String::from(self.target),
            attributes: self
                .attributes()
                .map(|a| OwnedAttribute {
                    name: String::from(a.name()),
                    value: a.value().map(|v| match v.kind() {
                        ValueKind::Token => OwnedValue::Token(String::from(v.raw())),
                        ValueKind::Quoted => OwnedValue::Quoted(v.unescaped_chars().collect()),
                        ValueKind::Ext => {
                            let (charset, language, _) = v.ext_parts();
                            OwnedValue::Ext {
                                charset: String::from(charset),
                                language: String::from(language),
                                value: v.ext_decoded_bytes().collect(),
                            }
                        }
                    }),
                })
                .collect(),
        }
    }
}

/// Iterator over the parameters of a link.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    params: &'a str,
    pos: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        if self.params.as_bytes().get(self.pos) != Some(&b';') {
            return None;
        }
        // Validated by `LinkFormat::parse`; an error just ends the iteration.
        let (attr, next) = scan_param(self.params, self.pos + 1).ok()?;
        self.pos = next;
        Some(attr)
    }
}

const fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_ws(s: &str, mut pos: usize) -> usize {
    while s.as_bytes().get(pos).copied().is_some_and(is_ws) {
        pos += 1;
    }
    pos
}

/// Scans one link-value at `pos`; returns it and the position after it. In lenient mode a
/// link may also end at whitespace.
fn scan_link(s: &str, pos: usize, lenient: bool) -> Result<(Link<'_>, usize)> {
    let b = s.as_bytes();
    if b.get(pos) != Some(&b'<') {
        return Err(LinkFormatError::ExpectedTarget { offset: pos });
    }
    let rel_gt = s
        .get(pos + 1..)
        .and_then(|r| r.find('>'))
        .ok_or(LinkFormatError::UnterminatedTarget { offset: pos })?;
    let target = s.get(pos + 1..pos + 1 + rel_gt).unwrap_or("");
    check_uri_reference(target, pos + 1)?;
    let params_start = pos + 2 + rel_gt;
    let mut p = params_start;
    while b.get(p) == Some(&b';') {
        p = scan_param(s, p + 1)?.1;
    }
    match b.get(p) {
        None | Some(b',') => {}
        Some(&c) if lenient && is_ws(c) => {}
        Some(_) => return Err(LinkFormatError::UnexpectedCharacter { offset: p }),
    }
    Ok((
        Link {
            target,
            params: s.get(params_start..p).unwrap_or(""),
        },
        p,
    ))
}

/// A validated link-format document (RFC 6690), borrowing its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkFormat<'a> {
    text: &'a str,
    lenient: bool,
}

impl<'a> LinkFormat<'a> {
    /// Validates `text` as a link-value-list (the empty document has no links).
    ///
    /// # Errors
    /// A [`LinkFormatError`] with the offset of the first problem.
    pub fn parse(text: &'a str) -> Result<Self> {
        Self::parse_mode(text, false)
    }

    /// Like [`LinkFormat::parse`], but tolerates whitespace (SP, HTAB, CR, LF) before and
    /// after the `,` between links and around the document, as in documents printed for
    /// readability (the LwM2M TS examples, RFC 6690 §5) and from some peers. Whitespace inside
    /// a link is still an error.
    ///
    /// # Errors
    /// As [`LinkFormat::parse`].
    pub fn parse_lenient(text: &'a str) -> Result<Self> {
        Self::parse_mode(text, true)
    }

    fn parse_mode(text: &'a str, lenient: bool) -> Result<Self> {
        let mut links = Links {
            text,
            pos: None,
            lenient,
        };
        links.pos = links.first();
        while let Some(pos) = links.pos {
            let (_, next) = scan_link(text, pos, lenient)?;
            links.pos = links.after(next)?;
        }
        Ok(Self { text, lenient })
    }

    /// Validates UTF-8 `bytes` (a CoAP payload) as a document.
    ///
    /// # Errors
    /// [`LinkFormatError::InvalidTargetCharacter`] at the first invalid UTF-8 byte, or as
    /// [`LinkFormat::parse`].
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Self> {
        let text =
            core::str::from_utf8(bytes).map_err(|e| LinkFormatError::InvalidTargetCharacter {
                offset: e.valid_up_to(),
            })?;
        Self::parse(text)
    }

    /// The document text.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.text
    }

    /// The links in document order.
    #[must_use]
    pub fn links(&self) -> Links<'a> {
        let mut links = Links {
            text: self.text,
            pos: None,
            lenient: self.lenient,
        };
        links.pos = links.first();
        links
    }

    /// The owned, decoded form of every link.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_owned_links(&self) -> Vec<OwnedLink> {
        self.links().map(|l| l.to_owned_link()).collect()
    }
}

/// Iterator over the links of a document.
#[derive(Debug, Clone)]
pub struct Links<'a> {
    text: &'a str,
    pos: Option<usize>,
    lenient: bool,
}

impl Links<'_> {
    /// Start of the first link, `None` for an empty document.
    fn first(&self) -> Option<usize> {
        let start = if self.lenient {
            skip_ws(self.text, 0)
        } else {
            0
        };
        (start < self.text.len()).then_some(start)
    }

    /// Start of the link after one ending at `end`, `None` at the end of the document.
    fn after(&self, end: usize) -> Result<Option<usize>> {
        let end = if self.lenient {
            skip_ws(self.text, end)
        } else {
            end
        };
        match self.text.as_bytes().get(end) {
            None => Ok(None),
            Some(b',') => {
                let next = if self.lenient {
                    skip_ws(self.text, end + 1)
                } else {
                    end + 1
                };
                Ok(Some(next))
            }
            Some(_) => Err(LinkFormatError::UnexpectedCharacter { offset: end }),
        }
    }
}

impl<'a> Iterator for Links<'a> {
    type Item = Link<'a>;

    fn next(&mut self) -> Option<Link<'a>> {
        let pos = self.pos?;
        // Validated by `LinkFormat::parse`; an error just ends the iteration.
        match scan_link(self.text, pos, self.lenient)
            .and_then(|(link, next)| Ok((link, self.after(next)?)))
        {
            Ok((link, next)) => {
                self.pos = next;
                Some(link)
            }
            Err(_) => {
                self.pos = None;
                None
            }
        }
    }
}

/// A value to serialize with [`LinkWriter::attribute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'v> {
    /// Written unquoted; must be a valid ptoken.
    Token(&'v str),
    /// Written as a quoted-string; `"` and `\` are escaped.
    Quoted(&'v str),
    /// Written as an RFC 5987 ext-value (for a name ending in `*`); `value` is percent-encoded.
    Ext {
        /// Character set, e.g. `UTF-8`.
        charset: &'v str,
        /// Language tag, may be empty.
        language: &'v str,
        /// The value bytes.
        value: &'v [u8],
    },
}

/// Serializes links to a [`fmt::Write`] in canonical form (no whitespace), validating that the
/// result parses.
///
/// ```
/// use mote_coap::link_format::{LinkWriter, Value};
///
/// let mut out = String::new();
/// let mut w = LinkWriter::new(&mut out);
/// w.link("/3/0/7").unwrap().attribute("dim", Some(Value::Token("8"))).unwrap();
/// w.attribute("pmin", Some(Value::Token("10"))).unwrap();
/// assert_eq!(out, "</3/0/7>;dim=8;pmin=10");
/// ```
#[derive(Debug)]
pub struct LinkWriter<W> {
    out: W,
    links: usize,
}

impl<W: fmt::Write> LinkWriter<W> {
    /// A writer appending to `out`.
    pub const fn new(out: W) -> Self {
        Self { out, links: 0 }
    }

    fn put(&mut self, s: &str) -> Result<()> {
        self.out.write_str(s).map_err(|_| LinkFormatError::Output)
    }

    /// Starts a link to `target` (a URI-Reference, written as given).
    ///
    /// # Errors
    /// [`LinkFormatError::Unserializable`] for an invalid URI-Reference;
    /// [`LinkFormatError::Output`].
    pub fn link(&mut self, target: &str) -> Result<&mut Self> {
        if check_uri_reference(target, 0).is_err() {
            return Err(LinkFormatError::Unserializable {
                reason: "target is not a URI-Reference",
            });
        }
        if self.links > 0 {
            self.put(",")?;
        }
        self.links += 1;
        self.put("<")?;
        self.put(target)?;
        self.put(">")?;
        Ok(self)
    }

    /// Adds a parameter to the current link.
    ///
    /// # Errors
    /// [`LinkFormatError::Unserializable`] when there is no link yet, the name is not a
    /// parmname (with `*` exactly for ext-values), a token is not a ptoken, a quoted string
    /// has control characters, or a defined attribute's syntax is violated;
    /// [`LinkFormatError::Output`].
    pub fn attribute(&mut self, name: &str, value: Option<Value<'_>>) -> Result<&mut Self> {
        let fail = |reason| Err(LinkFormatError::Unserializable { reason });
        if self.links == 0 {
            return fail("attribute before any link");
        }
        let is_ext = matches!(value, Some(Value::Ext { .. }));
        let base = if is_ext {
            name.strip_suffix('*')
        } else {
            Some(name)
        };
        if !base.is_some_and(|b| !b.is_empty() && b.bytes().all(is_attr_char)) {
            return fail("parameter name is not a parmname (ext-values need a trailing '*')");
        }
        match value {
            None => {}
            Some(Value::Token(t)) => {
                if t.is_empty() || !t.bytes().all(is_ptoken_char) {
                    return fail("token value is not a ptoken");
                }
                check_defined(name, ValueKind::Token, t)
                    .map_err(|rule| LinkFormatError::InvalidAttributeValue { offset: 0, rule })?;
            }
            Some(Value::Quoted(q)) => {
                if q.bytes().any(is_ctl) {
                    return fail("quoted value contains a control character");
                }
                check_defined(name, ValueKind::Quoted, q)
                    .map_err(|rule| LinkFormatError::InvalidAttributeValue { offset: 0, rule })?;
            }
            Some(Value::Ext {
                charset, language, ..
            }) => {
                if charset.is_empty() || !charset.bytes().all(is_charset_char) {
                    return fail("ext-value charset is not a mime-charset");
                }
                if !language
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
                {
                    return fail("ext-value language is not a language tag");
                }
            }
        }
        self.put(";")?;
        self.put(name)?;
        match value {
            None => {}
            Some(Value::Token(t)) => {
                self.put("=")?;
                self.put(t)?;
            }
            Some(Value::Quoted(q)) => {
                self.put("=\"")?;
                // RFC 7230 §3.2.6: '"' and '\\' go out as quoted-pairs; the text between
                // them is written as it is (both are ASCII, so every cut is a char boundary).
                let mut rest = q;
                while let Some(at) = rest.bytes().position(|c| c == b'"' || c == b'\\') {
                    let (head, tail) = rest.split_at(at);
                    self.put(head)?;
                    self.put("\\")?;
                    let (special, after) = tail.split_at(1);
                    self.put(special)?;
                    rest = after;
                }
                self.put(rest)?;
                self.put("\"")?;
            }
            Some(Value::Ext {
                charset,
                language,
                value,
            }) => {
                self.put("=")?;
                self.put(charset)?;
                self.put("'")?;
                self.put(language)?;
                self.put("'")?;
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                for &b in value {
                    if is_attr_char(b) {
                        self.out
                            .write_char(char::from(b))
                            .map_err(|_| LinkFormatError::Output)?;
                    } else {
                        let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                        let lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
                        for c in [b'%', hi, lo] {
                            self.out
                                .write_char(char::from(c))
                                .map_err(|_| LinkFormatError::Output)?;
                        }
                    }
                }
            }
        }
        Ok(self)
    }

    /// Number of links written.
    #[must_use]
    pub const fn links_written(&self) -> usize {
        self.links
    }

    /// Gives the output back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// A [`fmt::Write`] into a caller's byte buffer (for building payloads without allocation).
#[derive(Debug)]
pub struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceWriter<'b> {
    /// An empty writer over `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// The bytes written.
    #[must_use]
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// An owned link: target and decoded attributes.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedLink {
    /// Target URI-Reference.
    pub target: String,
    /// Parameters in order.
    pub attributes: Vec<OwnedAttribute>,
}

/// An owned link parameter.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedAttribute {
    /// Parameter name (with `*` for ext-values).
    pub name: String,
    /// Decoded value, `None` without `=`.
    pub value: Option<OwnedValue>,
}

/// An owned, decoded parameter value.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnedValue {
    /// An unquoted ptoken.
    Token(String),
    /// A quoted-string's content, unescaped.
    Quoted(String),
    /// An ext-value, percent-decoded.
    Ext {
        /// Character set.
        charset: String,
        /// Language tag (may be empty).
        language: String,
        /// Decoded value bytes.
        value: Vec<u8>,
    },
}

#[cfg(feature = "alloc")]
impl OwnedValue {
    /// The value as a string: token, unescaped quoted content, or the decoded ext-value as
    /// UTF-8 (invalid sequences replaced).
    #[must_use]
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Self::Token(s) | Self::Quoted(s) => Cow::Borrowed(s),
            Self::Ext { value, .. } => String::from_utf8_lossy(value),
        }
    }
}

/// Serializes owned links to `out`.
///
/// # Errors
/// As [`LinkWriter::link`] and [`LinkWriter::attribute`].
#[cfg(feature = "alloc")]
pub fn write_links<W: fmt::Write>(out: W, links: &[OwnedLink]) -> Result<W> {
    let mut w = LinkWriter::new(out);
    for link in links {
        w.link(&link.target)?;
        for a in &link.attributes {
            let value = a.value.as_ref().map(|v| match v {
                OwnedValue::Token(t) => Value::Token(t),
                OwnedValue::Quoted(q) => Value::Quoted(q),
                OwnedValue::Ext {
                    charset,
                    language,
                    value,
                } => Value::Ext {
                    charset,
                    language,
                    value,
                },
            });
            w.attribute(&a.name, value)?;
        }
    }
    Ok(w.into_inner())
}

/// Serializes owned links to a new `String`.
///
/// # Errors
/// As [`write_links`].
#[cfg(feature = "alloc")]
pub fn to_string(links: &[OwnedLink]) -> Result<String> {
    write_links(String::new(), links)
}

#[cfg(all(test, feature = "alloc"))] // the tests build owned values
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn empty_document_and_flags() {
        assert_eq!(LinkFormat::parse("").unwrap().links().count(), 0);
        let d = LinkFormat::parse("<>;obs;sz=0").unwrap();
        let l = d.links().next().unwrap();
        assert_eq!(l.target(), "");
        assert!(l.has("obs"));
        assert_eq!(l.size(), Some(0));
    }

    #[test]
    fn errors_have_offsets() {
        use LinkFormatError as E;
        assert_eq!(
            LinkFormat::parse("</a>,"),
            Err(E::ExpectedTarget { offset: 5 })
        );
        assert_eq!(
            LinkFormat::parse("</a"),
            Err(E::UnterminatedTarget { offset: 0 })
        );
        assert_eq!(
            LinkFormat::parse("</a b>"),
            Err(E::InvalidTargetCharacter { offset: 3 })
        );
        assert_eq!(
            LinkFormat::parse("</a%2>"),
            Err(E::BadPercentEncoding { offset: 3 })
        );
        assert_eq!(
            LinkFormat::parse("</a>;"),
            Err(E::ExpectedParameterName { offset: 5 })
        );
        assert_eq!(
            LinkFormat::parse("</a>;x="),
            Err(E::InvalidToken { offset: 7 })
        );
        assert_eq!(
            LinkFormat::parse("</a>;x=\"ab"),
            Err(E::UnterminatedQuotedString { offset: 7 })
        );
        assert_eq!(
            LinkFormat::parse("</a>;x=\"a\u{1}\""),
            Err(E::InvalidQuotedCharacter { offset: 9 })
        );
        assert_eq!(
            LinkFormat::parse("</a>;t*=x"),
            Err(E::InvalidExtValue { offset: 9 })
        );
        assert_eq!(
            LinkFormat::parse("</a>;t*"),
            Err(E::InvalidExtValue { offset: 7 })
        );
        assert_eq!(
            LinkFormat::parse("</a> ,</b>"),
            Err(E::UnexpectedCharacter { offset: 4 })
        );
        assert_eq!(
            LinkFormat::parse("</a>;x=a b"),
            Err(E::UnexpectedCharacter { offset: 8 })
        );
        assert!(matches!(
            LinkFormat::parse("</a>;sz=01"),
            Err(E::InvalidAttributeValue { offset: 5, .. })
        ));
        assert!(matches!(
            LinkFormat::parse("</a>;ct=65536"),
            Err(E::InvalidAttributeValue { .. })
        ));
        assert!(matches!(
            LinkFormat::parse("</a>;anchor=/x"),
            Err(E::InvalidAttributeValue { .. })
        ));
        assert!(matches!(
            LinkFormat::parse("</a>;title=x"),
            Err(E::InvalidAttributeValue { .. })
        ));
        assert!(matches!(
            LinkFormat::parse("</a>;rt=\" x\""),
            Err(E::InvalidAttributeValue { .. })
        ));
    }

    #[test]
    fn quoted_control_characters_are_rejected() {
        // Found by fuzzing: a quoted-pair of a control character could not be serialized back.
        assert_eq!(
            LinkFormat::parse("</a>;x=\"\\\u{2}\""),
            Err(LinkFormatError::InvalidQuotedCharacter { offset: 9 })
        );
        assert!(LinkFormat::parse("</a>;x=\"\\\t\"").is_ok());
    }

    #[test]
    fn quoted_and_ext_values() {
        let d =
            LinkFormat::parse(r#"</a>;title="say \"hi\"";title*=UTF-8'de'n%c3%a4chstes;ct="0 40""#)
                .unwrap();
        let l = d.links().next().unwrap();
        let t = l.attribute("title").unwrap().value().unwrap();
        assert_eq!(t.raw(), r#""say \"hi\"""#);
        assert_eq!(t.as_str(), None);
        assert_eq!(t.to_unescaped(), "say \"hi\"");
        let e = l.attribute("title*").unwrap().value().unwrap();
        assert_eq!(e.ext_parts(), ("UTF-8", "de", "n%c3%a4chstes"));
        assert_eq!(e.to_unescaped(), "nächstes");
        assert_eq!(l.content_formats().collect::<Vec<_>>(), vec![0, 40]);
    }

    #[test]
    fn writer_escapes_and_validates() {
        let mut out = String::new();
        let mut w = LinkWriter::new(&mut out);
        assert!(w.attribute("x", None).is_err());
        w.link("/a").unwrap();
        w.attribute("title", Some(Value::Quoted("a\"b\\c")))
            .unwrap();
        w.attribute(
            "t*",
            Some(Value::Ext {
                charset: "UTF-8",
                language: "",
                value: "é ".as_bytes(),
            }),
        )
        .unwrap();
        assert!(w.attribute("x", Some(Value::Token("a b"))).is_err());
        assert!(w.attribute("sz", Some(Value::Token("x"))).is_err());
        assert!(
            w.attribute(
                "t",
                Some(Value::Ext {
                    charset: "UTF-8",
                    language: "",
                    value: b""
                })
            )
            .is_err()
        );
        w.link("/b").unwrap();
        assert_eq!(out, r#"</a>;title="a\"b\\c";t*=UTF-8''%C3%A9%20,</b>"#);
        let parsed = LinkFormat::parse(&out).unwrap().to_owned_links();
        assert_eq!(
            parsed[0].attributes[0].value,
            Some(OwnedValue::Quoted("a\"b\\c".into()))
        );
        let mut buf = [0u8; 8];
        let mut w = LinkWriter::new(SliceWriter::new(&mut buf));
        assert_eq!(w.link("/0123456789").err(), Some(LinkFormatError::Output));
    }
    /// The writer's Content-Format bound (a cardinal of 0-65535, RFC 7252 §7.2.1) and its
    /// quoted-pairs at the edges of a value.
    #[test]
    fn writer_checks_content_formats_and_quotes_edges() {
        let mut out = String::new();
        let mut w = LinkWriter::new(&mut out);
        w.link("/a").unwrap();
        for ok in ["0", "9", "40", "65535"] {
            assert!(w.attribute("ct", Some(Value::Token(ok))).is_ok(), "{ok}");
        }
        assert!(
            w.attribute("ct", Some(Value::Quoted("0 11543 65535")))
                .is_ok()
        );
        for bad in ["65536", "99999", "100000", "00", "01", "-1", "1a"] {
            assert!(w.attribute("ct", Some(Value::Token(bad))).is_err(), "{bad}");
        }
        for bad in ["1 65536", " 1", "1 ", "1 x"] {
            assert!(
                w.attribute("ct", Some(Value::Quoted(bad))).is_err(),
                "{bad}"
            );
        }
        assert!(
            w.attribute("sz", Some(Value::Token("123456789012")))
                .is_ok()
        );
        assert!(w.attribute("sz", Some(Value::Token("012"))).is_err());
        w.link("/b").unwrap();
        w.attribute("title", Some(Value::Quoted("\"\\\\x\"")))
            .unwrap();
        w.attribute("title", Some(Value::Quoted(""))).unwrap();
        assert_eq!(
            out,
            r#"</a>;ct=0;ct=9;ct=40;ct=65535;ct="0 11543 65535";sz=123456789012,</b>;title="\"\\\\x\"";title="""#
        );
    }
}
