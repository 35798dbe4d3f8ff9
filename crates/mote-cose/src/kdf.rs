//! `COSE_KDF_Context` (RFC 9053 §5.2) and the HKDF-based content-key derivation of the
//! direct+HKDF and ECDH recipient algorithms (RFC 9053 §5.1, §6.1.2, §6.3.1).
//!
//! ```text
//! COSE_KDF_Context = [
//!     AlgorithmID : int / tstr,
//!     PartyUInfo : [ identity : bstr / nil, nonce : bstr / int / nil, other : bstr / nil ],
//!     PartyVInfo : [ identity : bstr / nil, nonce : bstr / int / nil, other : bstr / nil ],
//!     SuppPubInfo : [ keyDataLength : uint, protected : empty_or_serialized_map, ? other : bstr ],
//!     ? SuppPrivInfo : bstr
//! ]
//! ```

use crate::Error;
use crate::algorithm::HkdfAlgorithm;
use crate::cbor::{Decoder, Encoder, LenCounter, Major, SliceWriter, Write};
use crate::header::{Header, Label, label};

/// `PartyUInfo` / `PartyVInfo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartyInfo<'a> {
    /// `identity`.
    pub identity: Option<&'a [u8]>,
    /// `nonce` as its encoded CBOR item (a `bstr` or an `int`), `None` for `nil`.
    pub nonce: Option<&'a [u8]>,
    /// `other`.
    pub other: Option<&'a [u8]>,
}

/// A `COSE_KDF_Context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfContext<'a> {
    /// `AlgorithmID`: the algorithm the derived key is for.
    pub algorithm_id: Label<'a>,
    /// `PartyUInfo`.
    pub party_u: PartyInfo<'a>,
    /// `PartyVInfo`.
    pub party_v: PartyInfo<'a>,
    /// `keyDataLength` in bits.
    pub key_data_length: u64,
    /// `protected`: the serialized protected bucket of the recipient layer.
    pub protected: &'a [u8],
    /// `SuppPubInfo.other`.
    pub supp_pub_other: Option<&'a [u8]>,
    /// `SuppPrivInfo`.
    pub supp_priv_info: Option<&'a [u8]>,
}

fn opt_bytes<W: Write>(enc: &mut Encoder<W>, v: Option<&[u8]>) -> Result<(), Error> {
    match v {
        Some(b) => enc.bytes(b).map(|_| ()),
        None => enc.null().map(|_| ()),
    }
}

fn read_opt_bytes<'a>(d: &mut Decoder<'a>) -> Result<Option<&'a [u8]>, Error> {
    if d.peek_null() {
        d.null()?;
        Ok(None)
    } else {
        d.bytes().map(Some)
    }
}

impl<'a> PartyInfo<'a> {
    fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        enc.array(3)?;
        opt_bytes(enc, self.identity)?;
        match self.nonce {
            Some(n) => enc.raw(n)?,
            None => enc.null()?,
        };
        opt_bytes(enc, self.other)
    }

    fn decode(d: &mut Decoder<'a>) -> Result<Self, Error> {
        if d.array()? != 3 {
            return Err(Error::Structure("PartyInfo is an array of 3"));
        }
        let identity = read_opt_bytes(d)?;
        let nonce = if d.peek_null() {
            d.null()?;
            None
        } else {
            match d.peek_major()? {
                Major::Bytes | Major::Unsigned | Major::Negative => Some(d.item()?),
                _ => return Err(Error::Structure("PartyInfo nonce must be bstr, int or nil")),
            }
        };
        let other = read_opt_bytes(d)?;
        Ok(Self {
            identity,
            nonce,
            other,
        })
    }

    /// The party's parameters from a recipient layer's headers (RFC 9053 §5.2: PartyU
    /// identity/nonce/other are labels −21/−22/−23, PartyV −24/−25/−26).
    pub fn from_headers(protected: &Header<'a>, unprotected: &Header<'a>, party_v: bool) -> Self {
        let (i, n, o) = if party_v {
            (
                label::PARTY_V_IDENTITY,
                label::PARTY_V_NONCE,
                label::PARTY_V_OTHER,
            )
        } else {
            (
                label::PARTY_U_IDENTITY,
                label::PARTY_U_NONCE,
                label::PARTY_U_OTHER,
            )
        };
        let get = |l| {
            protected
                .get(Label::Int(l))
                .or_else(|| unprotected.get(Label::Int(l)))
        };
        let bstr = |l| get(l).and_then(|v| Decoder::new(v).bytes().ok());
        Self {
            identity: bstr(i),
            nonce: get(n).filter(|v| v.first() != Some(&0xf6)),
            other: bstr(o),
        }
    }
}

impl<'a> KdfContext<'a> {
    /// Writes the context.
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        enc.array(if self.supp_priv_info.is_some() { 5 } else { 4 })?;
        self.algorithm_id.encode(enc)?;
        self.party_u.encode(enc)?;
        self.party_v.encode(enc)?;
        enc.array(if self.supp_pub_other.is_some() { 3 } else { 2 })?
            .u64(self.key_data_length)?
            .bytes(self.protected)?;
        if let Some(o) = self.supp_pub_other {
            enc.bytes(o)?;
        }
        if let Some(p) = self.supp_priv_info {
            enc.bytes(p)?;
        }
        Ok(())
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        let mut enc = Encoder::new(LenCounter::default());
        let _ = self.encode(&mut enc);
        enc.into_inner().0
    }

    /// Decodes a context (the whole input).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut d = Decoder::new(bytes);
        let n = d.array()?;
        if n != 4 && n != 5 {
            return Err(Error::Structure("COSE_KDF_Context is an array of 4 or 5"));
        }
        let algorithm_id = Label::decode(&mut d)?;
        let party_u = PartyInfo::decode(&mut d)?;
        let party_v = PartyInfo::decode(&mut d)?;
        let m = d.array()?;
        if m != 2 && m != 3 {
            return Err(Error::Structure("SuppPubInfo is an array of 2 or 3"));
        }
        let key_data_length = d.u64()?;
        let protected = d.bytes()?;
        let supp_pub_other = if m == 3 { Some(d.bytes()?) } else { None };
        let supp_priv_info = if n == 5 { Some(d.bytes()?) } else { None };
        d.finish()?;
        Ok(Self {
            algorithm_id,
            party_u,
            party_v,
            key_data_length,
            protected,
            supp_pub_other,
            supp_priv_info,
        })
    }

    /// Encodes into a new vector.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::with_capacity(self.encoded_len());
        let _ = self.encode(&mut Encoder::new(&mut v));
        v
    }

    /// The context of a recipient layer for a content key of `key_len` bytes for `alg`.
    pub fn for_recipient(
        alg: i64,
        key_len: usize,
        protected_raw: &'a [u8],
        protected: &Header<'a>,
        unprotected: &Header<'a>,
    ) -> Self {
        Self {
            algorithm_id: Label::Int(alg),
            party_u: PartyInfo::from_headers(protected, unprotected, false),
            party_v: PartyInfo::from_headers(protected, unprotected, true),
            key_data_length: key_len as u64 * 8,
            protected: protected_raw,
            supp_pub_other: None,
            supp_priv_info: None,
        }
    }

    /// HKDF(salt, secret, info = this context) into `okm` (RFC 9053 §5.1); `scratch` holds the
    /// encoded context.
    pub fn derive(
        &self,
        hkdf: HkdfAlgorithm,
        salt: &[u8],
        secret: &[u8],
        scratch: &mut [u8],
        okm: &mut [u8],
    ) -> Result<(), Error> {
        let mut w = SliceWriter::new(scratch);
        self.encode(&mut Encoder::new(&mut w))?;
        hkdf.derive(salt, secret, w.written(), okm)
    }
}
