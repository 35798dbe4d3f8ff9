//! Header parameters (RFC 9052 §3): labels, the registered parameters, the protected and
//! unprotected buckets, `crit` processing and duplicate detection.
//!
//! A [`Header`] is either decoded (borrowing the received map) or built by the caller from
//! borrowed values; both encode the same way. The protected bucket keeps the exact bytes that
//! were received ([`ProtectedHeader::raw`]) because they are what the structures authenticate.

use crate::Error;
use crate::algorithm::{
    AeadAlgorithm, Algorithm, KeyDistribution, MacAlgorithm, SignatureAlgorithm,
};
use crate::cbor::{Decoder, Encoder, LenCounter, Major, Write, head_len, int_len, str_len};

/// Registered header parameter labels (RFC 9052 §3.1, RFC 9053 §6.4, RFC 9360, RFC 9528 §3.5.3).
pub mod label {
    /// `alg`.
    pub const ALG: i64 = 1;
    /// `crit`.
    pub const CRIT: i64 = 2;
    /// `content type`.
    pub const CONTENT_TYPE: i64 = 3;
    /// `kid`.
    pub const KID: i64 = 4;
    /// `IV`.
    pub const IV: i64 = 5;
    /// `Partial IV`.
    pub const PARTIAL_IV: i64 = 6;
    /// `counter signature` (RFC 8152, obsoleted by RFC 9338).
    pub const COUNTER_SIGNATURE: i64 = 7;
    /// `kid context` (RFC 8613 §5.1).
    pub const KID_CONTEXT: i64 = 10;
    /// `kcwt` (RFC 9528 §3.5.3.1): a CWT containing a COSE_Key.
    pub const KCWT: i64 = 13;
    /// `kccs` (RFC 9528 §3.5.3.1): a CWT Claims Set containing a COSE_Key.
    pub const KCCS: i64 = 14;
    /// `x5bag` (RFC 9360).
    pub const X5BAG: i64 = 32;
    /// `x5chain` (RFC 9360).
    pub const X5CHAIN: i64 = 33;
    /// `x5t` (RFC 9360).
    pub const X5T: i64 = 34;
    /// `x5u` (RFC 9360).
    pub const X5U: i64 = 35;
    /// `ephemeral key` (RFC 9053 §6.4.1).
    pub const EPHEMERAL_KEY: i64 = -1;
    /// `static key` (RFC 9053 §6.4.1).
    pub const STATIC_KEY: i64 = -2;
    /// `static key id` (RFC 9053 §6.4.1).
    pub const STATIC_KEY_ID: i64 = -3;
    /// `salt` (RFC 9053 §5.1).
    pub const SALT: i64 = -20;
    /// `PartyU identity` (RFC 9053 §5.2).
    pub const PARTY_U_IDENTITY: i64 = -21;
    /// `PartyU nonce`.
    pub const PARTY_U_NONCE: i64 = -22;
    /// `PartyU other`.
    pub const PARTY_U_OTHER: i64 = -23;
    /// `PartyV identity`.
    pub const PARTY_V_IDENTITY: i64 = -24;
    /// `PartyV nonce`.
    pub const PARTY_V_NONCE: i64 = -25;
    /// `PartyV other`.
    pub const PARTY_V_OTHER: i64 = -26;
}

/// Maximum number of parameters accepted in one header bucket (bounds duplicate detection).
pub const MAX_PARAMS: usize = 32;

/// Labels whose semantics this crate processes, so they may be listed in `crit`.
const UNDERSTOOD: &[i64] = &[
    label::ALG,
    label::CRIT,
    label::CONTENT_TYPE,
    label::KID,
    label::IV,
    label::PARTIAL_IV,
    label::KID_CONTEXT,
    label::KCWT,
    label::KCCS,
    label::X5BAG,
    label::X5CHAIN,
    label::X5T,
    label::X5U,
    label::EPHEMERAL_KEY,
    label::STATIC_KEY,
    label::STATIC_KEY_ID,
    label::SALT,
    label::PARTY_U_IDENTITY,
    label::PARTY_U_NONCE,
    label::PARTY_U_OTHER,
    label::PARTY_V_IDENTITY,
    label::PARTY_V_NONCE,
    label::PARTY_V_OTHER,
];

/// An integer or text value: a header label (RFC 9052 §3: `label = int / tstr`), and also the
/// value type of `alg` and `content type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label<'a> {
    /// Integer.
    Int(i64),
    /// Text.
    Text(&'a str),
}

impl<'a> Label<'a> {
    /// Reads an int or tstr.
    #[inline]
    pub fn decode(dec: &mut Decoder<'a>) -> Result<Self, Error> {
        match dec.peek_major()? {
            Major::Text => dec.text().map(Self::Text),
            _ => dec.i64().map(Self::Int),
        }
    }

    /// Writes the label.
    #[inline]
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        match self {
            Self::Int(i) => enc.i64(*i).map(|_| ()),
            Self::Text(t) => enc.text(t).map(|_| ()),
        }
    }

    /// Length of the encoded label.
    #[inline]
    pub(crate) fn encoded_len(&self) -> usize {
        match self {
            Self::Int(i) => int_len(*i),
            Self::Text(t) => str_len(t.len()),
        }
    }

    /// The integer, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Text(_) => None,
        }
    }

    fn report(&self) -> i64 {
        self.as_int().unwrap_or(0)
    }
}

/// A list of labels (the value of `crit`), built from a slice or decoded from an array.
#[derive(Debug, Clone, Copy)]
pub enum LabelList<'a> {
    /// Labels given by the caller.
    Slice(&'a [Label<'a>]),
    /// A decoded array: `items` are the encoded elements after the array head.
    Encoded {
        /// Encoded elements.
        items: &'a [u8],
        /// Number of elements.
        len: usize,
    },
}

impl<'a> LabelList<'a> {
    /// Number of labels.
    pub fn len(&self) -> usize {
        match self {
            Self::Slice(s) => s.len(),
            Self::Encoded { len, .. } => *len,
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates over the labels.
    pub fn iter(&self) -> impl Iterator<Item = Label<'a>> + 'a {
        let (slice, mut dec, len) = match *self {
            Self::Slice(s) => (s, Decoder::new(&[]), 0),
            Self::Encoded { items, len } => (&[][..], Decoder::new(items), len),
        };
        slice
            .iter()
            .copied()
            .chain((0..len).map_while(move |_| Label::decode(&mut dec).ok()))
    }
}

impl PartialEq for LabelList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

/// Header parameters other than the six with their own field in [`Header`].
#[derive(Debug, Clone, Copy)]
pub enum Params<'a> {
    /// `(label, encoded CBOR value)` pairs given by the caller.
    List(&'a [(Label<'a>, &'a [u8])]),
    /// A decoded header map; iteration skips the labels that have their own field.
    Encoded {
        /// The complete encoded map.
        map: &'a [u8],
        /// How many of its entries are not one of the six fields (what [`Params::len`] reports).
        others: usize,
    },
}

impl Default for Params<'_> {
    fn default() -> Self {
        Self::List(&[])
    }
}

fn is_field(l: &Label<'_>) -> bool {
    matches!(l, Label::Int(1..=6))
}

impl<'a> Params<'a> {
    /// Iterates over `(label, encoded value)`.
    pub fn iter(&self) -> impl Iterator<Item = (Label<'a>, &'a [u8])> + 'a {
        let (slice, map): (&'a [(Label<'a>, &'a [u8])], &'a [u8]) = match *self {
            Self::List(s) => (s, &[]),
            Self::Encoded { map, .. } => (&[], map),
        };
        let mut dec = Decoder::new(map);
        let n = if map.is_empty() {
            0
        } else {
            dec.map().unwrap_or(0)
        };
        let decoded = (0..n)
            .map_while(move |_| {
                let l = Label::decode(&mut dec).ok()?;
                let v = dec.item().ok()?;
                Some((l, v))
            })
            .filter(|(l, _)| !is_field(l));
        slice.iter().copied().chain(decoded)
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        match self {
            Self::List(s) => s.len(),
            Self::Encoded { others, .. } => *others,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded value of `label`.
    pub fn get(&self, label: Label<'_>) -> Option<&'a [u8]> {
        self.iter().find(|(l, _)| *l == label).map(|(_, v)| v)
    }
}

impl PartialEq for Params<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl From<i64> for Label<'_> {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl<'a> From<&'a str> for Label<'a> {
    fn from(t: &'a str) -> Self {
        Self::Text(t)
    }
}

// RFC 9052 §3.1: the `alg` value is the algorithm's identifier from the COSE Algorithms
// registry, so every typed algorithm converts into the label/value type.
impl From<Algorithm> for Label<'_> {
    fn from(alg: Algorithm) -> Self {
        Self::Int(alg.id())
    }
}

impl From<AeadAlgorithm> for Label<'_> {
    fn from(alg: AeadAlgorithm) -> Self {
        Self::Int(alg.id())
    }
}

impl From<MacAlgorithm> for Label<'_> {
    fn from(alg: MacAlgorithm) -> Self {
        Self::Int(alg.id())
    }
}

impl From<SignatureAlgorithm> for Label<'_> {
    fn from(alg: SignatureAlgorithm) -> Self {
        Self::Int(alg.id())
    }
}

impl From<KeyDistribution> for Label<'_> {
    fn from(alg: KeyDistribution) -> Self {
        Self::Int(alg.id())
    }
}

/// One header bucket (a `header_map`, RFC 9052 §3).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Header<'a> {
    /// `alg` (1): int or tstr.
    pub alg: Option<Label<'a>>,
    /// `crit` (2): only allowed in the protected bucket.
    pub crit: Option<LabelList<'a>>,
    /// `content type` (3): uint or tstr.
    pub content_type: Option<Label<'a>>,
    /// `kid` (4).
    pub kid: Option<&'a [u8]>,
    /// `IV` (5).
    pub iv: Option<&'a [u8]>,
    /// `Partial IV` (6).
    pub partial_iv: Option<&'a [u8]>,
    /// Every other parameter, as encoded values.
    pub other: Params<'a>,
}

fn header_err(label: &Label<'_>, reason: &'static str) -> Error {
    Error::Header {
        label: label.report(),
        reason,
    }
}

/// Type-checks the value of a registered parameter (RFC 9052 §3.1, RFC 9053 §5.2, §6.4.1,
/// RFC 9360 §2).
fn check_value(label: &Label<'_>, value: &[u8]) -> Result<(), Error> {
    let Label::Int(l) = *label else { return Ok(()) };
    let mut d = Decoder::new(value);
    let major = d.peek_major()?;
    let ok = match l {
        label::KID | label::IV | label::PARTIAL_IV | label::STATIC_KEY_ID | label::SALT => {
            major == Major::Bytes
        }
        label::KID_CONTEXT | label::KCWT => {
            major == Major::Bytes || major == Major::Array || major == Major::Tag
        }
        label::PARTY_U_IDENTITY
        | label::PARTY_U_OTHER
        | label::PARTY_V_IDENTITY
        | label::PARTY_V_OTHER => major == Major::Bytes,
        label::PARTY_U_NONCE | label::PARTY_V_NONCE => {
            matches!(major, Major::Bytes | Major::Unsigned | Major::Negative) || d.peek_null()
        }
        label::EPHEMERAL_KEY | label::STATIC_KEY | label::KCCS => major == Major::Map,
        label::X5BAG | label::X5CHAIN => match major {
            Major::Bytes => true,
            Major::Array => {
                let n = d.array()?;
                let mut all = n >= 2;
                for _ in 0..n {
                    all &= d.bytes().is_ok();
                }
                all
            }
            _ => false,
        },
        label::X5T => {
            d.array().ok() == Some(2) && Label::decode(&mut d).is_ok() && d.bytes().is_ok()
        }
        label::X5U => major == Major::Text,
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(header_err(label, "wrong value type"))
    }
}

impl<'a> Header<'a> {
    /// An empty bucket, to fill with the `with_*` methods (or with struct-update syntax:
    /// `Header { kid: Some(b"k"), ..Header::default() }`).
    ///
    /// ```
    /// use mote_cose::algorithm::AeadAlgorithm;
    /// use mote_cose::header::{Header, Label};
    ///
    /// let protected = Header::new().with_alg(AeadAlgorithm::AesCcm16_64_128);
    /// let unprotected = Header::new().with_kid(b"key-1").with_iv(&[0x89; 13]);
    /// assert_eq!(protected.alg, Some(Label::Int(10)));
    /// assert_eq!(unprotected.kid, Some(&b"key-1"[..]));
    /// assert_eq!(unprotected.len(), 2);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `alg` (1): a typed algorithm ([`AeadAlgorithm`], [`MacAlgorithm`],
    /// [`SignatureAlgorithm`], [`KeyDistribution`], [`Algorithm`]), an `i64` or a text label.
    pub fn with_alg(mut self, alg: impl Into<Label<'a>>) -> Self {
        self.alg = Some(alg.into());
        self
    }

    /// Sets `content type` (3): a CoAP Content-Format number (`i64`) or a media-type text.
    pub fn with_content_type(mut self, content_type: impl Into<Label<'a>>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets `kid` (4).
    pub fn with_kid(mut self, kid: &'a [u8]) -> Self {
        self.kid = Some(kid);
        self
    }

    /// Sets `IV` (5).
    pub fn with_iv(mut self, iv: &'a [u8]) -> Self {
        self.iv = Some(iv);
        self
    }

    /// Sets `Partial IV` (6).
    pub fn with_partial_iv(mut self, partial_iv: &'a [u8]) -> Self {
        self.partial_iv = Some(partial_iv);
        self
    }

    /// Decodes a header map from the start of `dec`. `protected` tells which bucket this is
    /// (`crit` is only allowed in the protected one).
    pub fn decode(dec: &mut Decoder<'a>, protected: bool) -> Result<Self, Error> {
        Self::decode_understanding(dec, protected, &[])
    }

    /// Like [`decode`](Self::decode), where labels in `understood` may also be critical.
    pub fn decode_understanding(
        dec: &mut Decoder<'a>,
        protected: bool,
        understood: &[Label<'_>],
    ) -> Result<Self, Error> {
        let mut h = Header::default();
        h.decode_into(dec, protected, understood)?;
        Ok(h)
    }

    /// Decodes a header map into `self` (which must be empty). The message decoders fill
    /// their fields in place this way instead of moving ~150-byte `Header` values through
    /// `Result`s (measured: three `memcpy` calls per COSE_Encrypt0 decode).
    pub(crate) fn decode_into(
        &mut self,
        dec: &mut Decoder<'a>,
        protected: bool,
        understood: &[Label<'_>],
    ) -> Result<(), Error> {
        let h = self;
        let start = dec.position();
        let all = dec.remaining();
        let n = dec.map()?;
        if n > MAX_PARAMS {
            return Err(Error::Structure("too many header parameters"));
        }
        // RFC 9052 §3: labels in a map are unique. Small integer labels (−32..=31, every
        // registered one) are tracked in a bit set; others are compared with earlier labels.
        let mut small: u64 = 0;
        let mut others = 0;
        for i in 0..n {
            let l = match dec.small_int() {
                Some(v) => Label::Int(v),
                None => Label::decode(dec)?,
            };
            match l {
                Label::Int(v @ -32..=31) => {
                    let bit = 1u64 << (v + 32);
                    if small & bit != 0 {
                        return Err(Error::DuplicateLabel);
                    }
                    small |= bit;
                }
                _ => {
                    let mut earlier = Decoder::new(all);
                    earlier.map()?;
                    for _ in 0..i {
                        if Label::decode(&mut earlier)? == l {
                            return Err(Error::DuplicateLabel);
                        }
                        earlier.skip()?;
                    }
                }
            }
            match l {
                Label::Int(label::ALG) => {
                    h.alg = Some(
                        Label::decode(dec)
                            .map_err(|_| header_err(&l, "alg must be int or tstr"))?,
                    )
                }
                Label::Int(label::CRIT) => {
                    if !protected {
                        return Err(header_err(&l, "crit must be protected"));
                    }
                    let len = dec.array()?;
                    if len == 0 {
                        return Err(header_err(&l, "crit must not be empty"));
                    }
                    let items = dec.remaining();
                    for _ in 0..len {
                        Label::decode(dec)
                            .map_err(|_| header_err(&l, "crit entries must be labels"))?;
                    }
                    h.crit = Some(LabelList::Encoded { items, len });
                }
                Label::Int(label::CONTENT_TYPE) => {
                    let ct = Label::decode(dec)
                        .map_err(|_| header_err(&l, "content type must be uint or tstr"))?;
                    if matches!(ct, Label::Int(i) if i < 0) {
                        return Err(header_err(&l, "content type must be uint or tstr"));
                    }
                    h.content_type = Some(ct);
                }
                Label::Int(label::KID) => {
                    h.kid = Some(
                        dec.bytes()
                            .map_err(|_| header_err(&l, "kid must be bstr"))?,
                    )
                }
                Label::Int(label::IV) => {
                    h.iv = Some(dec.bytes().map_err(|_| header_err(&l, "IV must be bstr"))?)
                }
                Label::Int(label::PARTIAL_IV) => {
                    h.partial_iv = Some(
                        dec.bytes()
                            .map_err(|_| header_err(&l, "Partial IV must be bstr"))?,
                    )
                }
                _ => {
                    check_value(&l, dec.item()?)?;
                    others += 1;
                }
            }
        }
        let map = all.get(..dec.position() - start).unwrap_or(&[]);
        h.other = Params::Encoded { map, others };
        // RFC 9052 §3.1: IV and Partial IV must not both be present in one layer.
        if h.iv.is_some() && h.partial_iv.is_some() {
            return Err(header_err(
                &Label::Int(label::IV),
                "IV and Partial IV both present",
            ));
        }
        if let Some(crit) = h.crit {
            for c in crit.iter() {
                // RFC 9052 §3.1: a critical label must be understood and present.
                let known = matches!(c, Label::Int(i) if UNDERSTOOD.contains(&i))
                    || understood.contains(&c);
                if !known || !h.contains(c) {
                    return Err(Error::UnknownCritical);
                }
            }
        }
        Ok(())
    }

    /// Whether a parameter with `label` is present.
    pub fn contains(&self, label: Label<'_>) -> bool {
        match label {
            Label::Int(label::ALG) => self.alg.is_some(),
            Label::Int(label::CRIT) => self.crit.is_some(),
            Label::Int(label::CONTENT_TYPE) => self.content_type.is_some(),
            Label::Int(label::KID) => self.kid.is_some(),
            Label::Int(label::IV) => self.iv.is_some(),
            Label::Int(label::PARTIAL_IV) => self.partial_iv.is_some(),
            l => self.other.get(l).is_some(),
        }
    }

    /// Iterates over every label present.
    pub fn labels(&self) -> impl Iterator<Item = Label<'a>> + 'a {
        let fields = [
            self.alg.map(|_| label::ALG),
            self.crit.map(|_| label::CRIT),
            self.content_type.map(|_| label::CONTENT_TYPE),
            self.kid.map(|_| label::KID),
            self.iv.map(|_| label::IV),
            self.partial_iv.map(|_| label::PARTIAL_IV),
        ];
        fields
            .into_iter()
            .flatten()
            .map(Label::Int)
            .chain(self.other.iter().map(|(l, _)| l))
    }

    fn field_count(&self) -> usize {
        usize::from(self.alg.is_some())
            + usize::from(self.crit.is_some())
            + usize::from(self.content_type.is_some())
            + usize::from(self.kid.is_some())
            + usize::from(self.iv.is_some())
            + usize::from(self.partial_iv.is_some())
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.field_count() + self.other.len()
    }

    /// Whether the bucket is empty.
    pub fn is_empty(&self) -> bool {
        self.field_count() == 0 && self.other.is_empty()
    }

    /// The integer algorithm identifier, if `alg` is present and an integer.
    pub fn alg_id(&self) -> Option<i64> {
        self.alg.and_then(|a| a.as_int())
    }

    /// The algorithm named by `alg`, if it is present and one this crate implements.
    ///
    /// ```
    /// use mote_cose::algorithm::{Algorithm, MacAlgorithm};
    /// use mote_cose::header::Header;
    ///
    /// let h = Header::new().with_alg(MacAlgorithm::HmacSha256);
    /// assert_eq!(h.algorithm(), Some(Algorithm::Mac(MacAlgorithm::HmacSha256)));
    /// assert_eq!(Header::new().algorithm(), None);
    /// ```
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.alg_id().and_then(Algorithm::from_id)
    }

    /// The encoded value of a parameter other than the six with their own field.
    pub fn get(&self, label: Label<'_>) -> Option<&'a [u8]> {
        self.other.get(label)
    }

    /// Writes the header map. A decoded header keeps the received order of its parameters
    /// (fields that were changed are written at their old place, fields that were added come
    /// first); a built one writes the fields in label order, then the others in their order.
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        let original: &[u8] = match self.other {
            Params::Encoded { map, .. } => map,
            Params::List(list) => {
                // A built header, the common case when sending: one straight pass.
                enc.map(self.field_count() + list.len())?;
                self.encode_fields(enc)?;
                for (l, v) in list {
                    l.encode(enc)?;
                    enc.raw(v)?;
                }
                return Ok(());
            }
        };
        enc.map(self.len())?;
        if original.is_empty() {
            return self.encode_fields(enc);
        }
        let mut present = [false; 7];
        let mut d = Decoder::new(original);
        for _ in 0..d.map()? {
            if let Label::Int(i @ 1..=6) = Label::decode(&mut d)? {
                if let Some(p) = present.get_mut(i as usize) {
                    *p = true;
                }
            }
            d.skip()?;
        }
        for i in 1..=6 {
            if !present.get(i as usize).copied().unwrap_or(false) {
                self.encode_field(enc, i)?;
            }
        }
        let mut d = Decoder::new(original);
        for _ in 0..d.map()? {
            let l = Label::decode(&mut d)?;
            let v = d.item()?;
            match l {
                Label::Int(i @ 1..=6) => self.encode_field(enc, i)?,
                _ => {
                    l.encode(enc)?;
                    enc.raw(v)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the six fields that are present, in label order.
    #[inline]
    fn encode_fields<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        if let Some(a) = &self.alg {
            enc.head(0, label::ALG as u64)?;
            a.encode(enc)?;
        }
        if let Some(c) = &self.crit {
            enc.head(0, label::CRIT as u64)?.array(c.len())?;
            for l in c.iter() {
                l.encode(enc)?;
            }
        }
        if let Some(ct) = &self.content_type {
            enc.head(0, label::CONTENT_TYPE as u64)?;
            ct.encode(enc)?;
        }
        if let Some(v) = self.kid {
            enc.head(0, label::KID as u64)?.bytes(v)?;
        }
        if let Some(v) = self.iv {
            enc.head(0, label::IV as u64)?.bytes(v)?;
        }
        if let Some(v) = self.partial_iv {
            enc.head(0, label::PARTIAL_IV as u64)?.bytes(v)?;
        }
        Ok(())
    }

    fn encode_field<W: Write>(&self, enc: &mut Encoder<W>, i: i64) -> Result<(), Error> {
        match i {
            label::ALG => {
                if let Some(a) = &self.alg {
                    enc.i64(label::ALG)?;
                    a.encode(enc)?;
                }
            }
            label::CRIT => {
                if let Some(c) = &self.crit {
                    enc.i64(label::CRIT)?.array(c.len())?;
                    for l in c.iter() {
                        l.encode(enc)?;
                    }
                }
            }
            label::CONTENT_TYPE => {
                if let Some(ct) = &self.content_type {
                    enc.i64(label::CONTENT_TYPE)?;
                    ct.encode(enc)?;
                }
            }
            _ => {
                let v = match i {
                    label::KID => self.kid,
                    label::IV => self.iv,
                    _ => self.partial_iv,
                };
                if let Some(v) = v {
                    enc.i64(i)?.bytes(v)?;
                }
            }
        }
        Ok(())
    }

    /// Length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        if let Params::List(list) = self.other {
            // Computed rather than encoded: a built header writes exactly these items.
            let mut n = head_len((self.field_count() + list.len()) as u64);
            if let Some(a) = &self.alg {
                n += 1 + a.encoded_len();
            }
            if let Some(c) = &self.crit {
                n +=
                    1 + head_len(c.len() as u64) + c.iter().map(|l| l.encoded_len()).sum::<usize>();
            }
            if let Some(ct) = &self.content_type {
                n += 1 + ct.encoded_len();
            }
            for v in [self.kid, self.iv, self.partial_iv].into_iter().flatten() {
                n += 1 + str_len(v.len());
            }
            for (l, v) in list {
                n += l.encoded_len() + v.len();
            }
            return n;
        }
        let mut enc = Encoder::new(LenCounter::default());
        // LenCounter never fails.
        let _ = self.encode(&mut enc);
        enc.into_inner().0
    }

    /// Encodes the header into `out` and returns the written bytes.
    pub fn encode_into<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        let mut w = crate::cbor::SliceWriter::new(out);
        self.encode(&mut Encoder::new(&mut w))?;
        Ok(w.into_written())
    }

    /// Encodes the header into a new vector.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::with_capacity(self.encoded_len());
        let _ = self.encode(&mut Encoder::new(&mut v));
        v
    }
}

/// The protected bucket: the exact received bytes (the content of the `bstr`) and their
/// decoded view. An empty bucket is a zero-length `bstr` (`raw` empty); a received empty map
/// (`A0`) is accepted and kept as such (RFC 9052 §3).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProtectedHeader<'a> {
    /// The serialized map as received, or empty.
    pub raw: &'a [u8],
    /// The decoded parameters.
    pub header: Header<'a>,
}

impl<'a> ProtectedHeader<'a> {
    /// Reads `bstr .cbor header_map / bstr .size 0`.
    pub fn decode(dec: &mut Decoder<'a>) -> Result<Self, Error> {
        Self::decode_understanding(dec, &[])
    }

    /// Like [`decode`](Self::decode), where the application also understands `understood`
    /// when listed in `crit`.
    pub fn decode_understanding(
        dec: &mut Decoder<'a>,
        understood: &[Label<'_>],
    ) -> Result<Self, Error> {
        let mut p = Self::default();
        p.decode_into(dec, understood)?;
        Ok(p)
    }

    /// [`decode_understanding`](Self::decode_understanding) into `self` (which must be
    /// empty), without moving the decoded header.
    pub(crate) fn decode_into(
        &mut self,
        dec: &mut Decoder<'a>,
        understood: &[Label<'_>],
    ) -> Result<(), Error> {
        let at = dec.position();
        let raw = dec.bytes()?;
        self.fill_from_raw(raw, understood).map_err(|e| match e {
            Error::Cbor { offset, reason } => Error::Cbor {
                offset: offset + at,
                reason,
            },
            e => e,
        })
    }

    fn fill_from_raw(&mut self, raw: &'a [u8], understood: &[Label<'_>]) -> Result<(), Error> {
        if raw.is_empty() {
            return Ok(());
        }
        let mut d = Decoder::new(raw);
        self.header.decode_into(&mut d, true, understood)?;
        d.finish()?;
        self.raw = raw;
        Ok(())
    }

    /// Decodes serialized protected-header bytes (the content of the `bstr`).
    pub fn from_raw(raw: &'a [u8]) -> Result<Self, Error> {
        Self::from_raw_understanding(raw, &[])
    }

    /// Like [`from_raw`](Self::from_raw) with extra understood critical labels.
    pub fn from_raw_understanding(raw: &'a [u8], understood: &[Label<'_>]) -> Result<Self, Error> {
        let mut p = Self::default();
        p.fill_from_raw(raw, understood)?;
        Ok(p)
    }

    /// The bytes the structures authenticate: the received bytes, or the zero-length string
    /// when the bucket has no parameters — a received empty map `A0` is treated as empty
    /// (RFC 9052 §3: "zero-length byte string" when there are no protected parameters), as the
    /// COSE WG examples and other implementations do.
    pub fn authenticated(&self) -> &'a [u8] {
        if self.header.is_empty() {
            &[]
        } else {
            self.raw
        }
    }
}

/// Checks the two buckets of one layer together: no label in both (RFC 9052 §3), and IV and
/// Partial IV not both present (RFC 9052 §3.1).
pub fn check_buckets(protected: &Header<'_>, unprotected: &Header<'_>) -> Result<(), Error> {
    let (p, u) = (protected, unprotected);
    let field_in_both = (p.alg.is_some() && u.alg.is_some())
        || (p.crit.is_some() && u.crit.is_some())
        || (p.content_type.is_some() && u.content_type.is_some())
        || (p.kid.is_some() && u.kid.is_some())
        || (p.iv.is_some() && u.iv.is_some())
        || (p.partial_iv.is_some() && u.partial_iv.is_some());
    if field_in_both {
        return Err(Error::DuplicateLabel);
    }
    if !p.other.is_empty() && !u.other.is_empty() {
        for (l, _) in p.other.iter() {
            if u.other.get(l).is_some() {
                return Err(Error::DuplicateLabel);
            }
        }
    }
    let iv = protected.iv.is_some() || unprotected.iv.is_some();
    let piv = protected.partial_iv.is_some() || unprotected.partial_iv.is_some();
    if iv && piv {
        return Err(Error::Header {
            label: label::IV,
            reason: "IV and Partial IV both present",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The identifiers are the COSE Algorithms registry values of RFC 9053 (§2.1, §2.2, §3.1,
    // §4.2, §6.1), written out here rather than taken from `id()`.
    #[test]
    fn typed_algorithms_become_registry_identifiers() {
        assert_eq!(Label::from(SignatureAlgorithm::Es256), Label::Int(-7));
        assert_eq!(Label::from(SignatureAlgorithm::EdDsa), Label::Int(-8));
        assert_eq!(Label::from(AeadAlgorithm::AesCcm16_64_128), Label::Int(10));
        assert_eq!(Label::from(AeadAlgorithm::A128Gcm), Label::Int(1));
        assert_eq!(Label::from(MacAlgorithm::HmacSha256_64), Label::Int(4));
        assert_eq!(Label::from(KeyDistribution::Direct), Label::Int(-6));
        assert_eq!(
            Label::from(Algorithm::from(MacAlgorithm::HmacSha512)),
            Label::Int(7)
        );
    }

    #[test]
    fn builder_methods_fill_the_fields_and_encode() {
        let h = Header::new()
            .with_alg(SignatureAlgorithm::Es256)
            .with_content_type(60)
            .with_kid(b"k")
            .with_iv(&[1])
            .with_partial_iv(&[2]);
        assert_eq!(
            h.algorithm(),
            Some(Algorithm::Signature(SignatureAlgorithm::Es256))
        );
        assert_eq!(h.content_type, Some(Label::Int(60)));
        assert_eq!(
            (h.kid, h.iv, h.partial_iv),
            (Some(&b"k"[..]), Some(&[1u8][..]), Some(&[2u8][..]))
        );
        // {1: -7} (RFC 9052 Appendix C.2.1's protected header).
        let mut out = [0u8; 8];
        let only_alg = Header::new().with_alg(SignatureAlgorithm::Es256);
        assert_eq!(only_alg.encode_into(&mut out), Ok(&[0xa1, 0x01, 0x26][..]));
        assert_eq!(
            Header::new().with_alg("custom").alg,
            Some(Label::Text("custom"))
        );
    }
}
