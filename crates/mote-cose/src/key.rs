//! COSE_Key (RFC 9052 §7, RFC 9053 §7): OKP (X25519, Ed25519), EC2 (P-256, P-384; compressed
//! points), and Symmetric keys, with the key-type / algorithm / `key_ops` checks.
//!
//! [`CoseKey`] borrows its byte strings from the input; it converts into the zeroizing key types
//! of [`algorithm`](crate::algorithm) for use.
//!
//! ```
//! use mote_cose::key::{CoseKey, KeyType};
//!
//! // {1: 4, -1: h'0102'}: a symmetric key
//! let key = CoseKey::decode(&[0xa2, 0x01, 0x04, 0x20, 0x42, 0x01, 0x02])?;
//! assert_eq!(key.kty, KeyType::Symmetric);
//! assert_eq!(key.k, Some(&[1u8, 2][..]));
//! # Ok::<(), mote_cose::Error>(())
//! ```

use crate::Error;
use crate::algorithm::{
    EcdhCurve, EcdhPublicKey, EcdhSecret, SignatureAlgorithm, SigningKey, VerifyingKey,
};
use crate::cbor::{Decoder, Encoder, LenCounter, Major, Write};
use crate::header::{Label, LabelList};

/// COSE_Key parameter labels (RFC 9052 §7.1, RFC 9053 §7).
pub mod param {
    /// `kty`.
    pub const KTY: i64 = 1;
    /// `kid`.
    pub const KID: i64 = 2;
    /// `alg`.
    pub const ALG: i64 = 3;
    /// `key_ops`.
    pub const KEY_OPS: i64 = 4;
    /// `Base IV`.
    pub const BASE_IV: i64 = 5;
    /// `crv` (OKP, EC2).
    pub const CRV: i64 = -1;
    /// `x` (OKP, EC2).
    pub const X: i64 = -2;
    /// `y` (EC2).
    pub const Y: i64 = -3;
    /// `d` (OKP, EC2).
    pub const D: i64 = -4;
    /// `k` (Symmetric).
    pub const K: i64 = -1;
}

/// Key types (RFC 9053 §7, IANA "COSE Key Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// OKP (1): Octet Key Pair.
    Okp,
    /// EC2 (2): elliptic curve with x and y.
    Ec2,
    /// Symmetric (4).
    Symmetric,
}

impl KeyType {
    /// The registered value.
    pub const fn id(self) -> i64 {
        match self {
            Self::Okp => 1,
            Self::Ec2 => 2,
            Self::Symmetric => 4,
        }
    }

    /// From the registered value.
    pub const fn from_id(id: i64) -> Option<Self> {
        match id {
            1 => Some(Self::Okp),
            2 => Some(Self::Ec2),
            4 => Some(Self::Symmetric),
            _ => None,
        }
    }
}

/// Elliptic curves (RFC 9053 §7.1, IANA "COSE Elliptic Curves").
pub mod curve {
    /// P-256 (EC2).
    pub const P256: i64 = 1;
    /// P-384 (EC2).
    pub const P384: i64 = 2;
    /// P-521 (EC2).
    pub const P521: i64 = 3;
    /// X25519 (OKP).
    pub const X25519: i64 = 4;
    /// X448 (OKP).
    pub const X448: i64 = 5;
    /// Ed25519 (OKP).
    pub const ED25519: i64 = 6;
    /// Ed448 (OKP).
    pub const ED448: i64 = 7;
}

/// Key operations (RFC 9052 §7.1, Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum KeyOp {
    /// sign (1).
    Sign = 1,
    /// verify (2).
    Verify = 2,
    /// encrypt (3).
    Encrypt = 3,
    /// decrypt (4).
    Decrypt = 4,
    /// wrap key (5).
    WrapKey = 5,
    /// unwrap key (6).
    UnwrapKey = 6,
    /// derive key (7).
    DeriveKey = 7,
    /// derive bits (8).
    DeriveBits = 8,
    /// MAC create (9).
    MacCreate = 9,
    /// MAC verify (10).
    MacVerify = 10,
}

/// The EC2 `y` parameter: the coordinate, or the sign bit of a compressed point (RFC 9053 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcY<'a> {
    /// The y-coordinate.
    Coordinate(&'a [u8]),
    /// The sign bit (true: odd y).
    Sign(bool),
}

/// A COSE_Key, borrowing its byte strings. Parameters this crate does not know are skipped
/// on decode (after duplicate and type checks of the known ones) and not re-encoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoseKey<'a> {
    /// `kty`.
    pub kty: KeyType,
    /// `kid`.
    pub kid: Option<&'a [u8]>,
    /// `alg`.
    pub alg: Option<Label<'a>>,
    /// `key_ops`.
    pub key_ops: Option<LabelList<'a>>,
    /// `Base IV`.
    pub base_iv: Option<&'a [u8]>,
    /// `crv` (OKP, EC2).
    pub crv: Option<i64>,
    /// `x` (OKP, EC2).
    pub x: Option<&'a [u8]>,
    /// `y` (EC2).
    pub y: Option<EcY<'a>>,
    /// `d` (OKP, EC2 private key).
    pub d: Option<&'a [u8]>,
    /// `k` (Symmetric).
    pub k: Option<&'a [u8]>,
}

fn put(dst: &mut [u8], at: usize, src: &[u8]) -> Result<(), Error> {
    dst.get_mut(at..at + src.len())
        .ok_or(kerr("coordinate length"))?
        .copy_from_slice(src);
    Ok(())
}

fn kerr(reason: &'static str) -> Error {
    Error::Key(reason)
}

impl<'a> CoseKey<'a> {
    /// A symmetric key.
    pub fn symmetric(k: &'a [u8]) -> Self {
        Self {
            kty: KeyType::Symmetric,
            kid: None,
            alg: None,
            key_ops: None,
            base_iv: None,
            crv: None,
            x: None,
            y: None,
            d: None,
            k: Some(k),
        }
    }

    /// An OKP or EC2 key with the given curve and coordinates.
    pub fn curve_key(
        kty: KeyType,
        crv: i64,
        x: &'a [u8],
        y: Option<EcY<'a>>,
        d: Option<&'a [u8]>,
    ) -> Self {
        Self {
            kty,
            kid: None,
            alg: None,
            key_ops: None,
            base_iv: None,
            crv: Some(crv),
            x: Some(x),
            y,
            d,
            k: None,
        }
    }

    /// Decodes a COSE_Key; the whole input must be one map.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut d = Decoder::new(bytes);
        let k = Self::decode_from(&mut d)?;
        d.finish()?;
        Ok(k)
    }

    /// Decodes a COSE_Key from the next item of `dec`.
    pub fn decode_from(dec: &mut Decoder<'a>) -> Result<Self, Error> {
        let all = dec.remaining();
        let n = dec.map()?;
        if n > crate::header::MAX_PARAMS {
            return Err(kerr("too many parameters"));
        }
        let mut kty = None;
        let mut key = Self::symmetric(&[]);
        key.k = None;
        // Parameters whose meaning depends on kty are collected first.
        let mut neg: [Option<&'a [u8]>; 4] = [None; 4];
        for i in 0..n {
            let l = Label::decode(dec)?;
            let mut earlier = Decoder::new(all);
            earlier.map()?;
            for _ in 0..i {
                if Label::decode(&mut earlier)? == l {
                    return Err(Error::DuplicateLabel);
                }
                earlier.skip()?;
            }
            let value = dec.item()?;
            let mut v = Decoder::new(value);
            match l {
                Label::Int(param::KTY) => {
                    kty = Some(
                        match Label::decode(&mut v).map_err(|_| kerr("kty must be int or tstr"))? {
                            Label::Int(i) => {
                                KeyType::from_id(i).ok_or(kerr("unsupported key type"))?
                            }
                            Label::Text(_) => return Err(kerr("unsupported key type")),
                        },
                    )
                }
                Label::Int(param::KID) => {
                    key.kid = Some(v.bytes().map_err(|_| kerr("kid must be bstr"))?)
                }
                Label::Int(param::ALG) => {
                    key.alg =
                        Some(Label::decode(&mut v).map_err(|_| kerr("alg must be int or tstr"))?)
                }
                Label::Int(param::KEY_OPS) => {
                    let len = v.array()?;
                    let items = v.remaining();
                    for _ in 0..len {
                        Label::decode(&mut v)
                            .map_err(|_| kerr("key_ops entries must be int or tstr"))?;
                    }
                    key.key_ops = Some(LabelList::Encoded { items, len });
                }
                Label::Int(param::BASE_IV) => {
                    key.base_iv = Some(v.bytes().map_err(|_| kerr("Base IV must be bstr"))?)
                }
                Label::Int(i @ -4..=-1) => {
                    if let Some(slot) = neg.get_mut((-1 - i) as usize) {
                        *slot = Some(value);
                    }
                }
                _ => {}
            }
        }
        key.kty = kty.ok_or(kerr("missing kty"))?;
        let [p1, p2, p3, p4] = neg;
        match key.kty {
            KeyType::Symmetric => {
                key.k = Some(
                    Decoder::new(p1.ok_or(kerr("missing k"))?)
                        .bytes()
                        .map_err(|_| kerr("k must be bstr"))?,
                );
            }
            KeyType::Okp | KeyType::Ec2 => {
                key.crv = Some(
                    Decoder::new(p1.ok_or(kerr("missing crv"))?)
                        .i64()
                        .map_err(|_| kerr("crv must be int"))?,
                );
                if let Some(x) = p2 {
                    key.x = Some(
                        Decoder::new(x)
                            .bytes()
                            .map_err(|_| kerr("x must be bstr"))?,
                    );
                }
                if let Some(y) = p3 {
                    if key.kty == KeyType::Okp {
                        return Err(kerr("OKP key with y"));
                    }
                    let mut d = Decoder::new(y);
                    key.y = Some(if d.peek_major()? == Major::Bytes {
                        EcY::Coordinate(d.bytes()?)
                    } else {
                        EcY::Sign(d.bool().map_err(|_| kerr("y must be bstr or bool"))?)
                    });
                }
                if let Some(dd) = p4 {
                    key.d = Some(
                        Decoder::new(dd)
                            .bytes()
                            .map_err(|_| kerr("d must be bstr"))?,
                    );
                }
                if key.x.is_none() && key.d.is_none() {
                    return Err(kerr("curve key without x or d"));
                }
                let crv = key.crv.unwrap_or(0);
                let curve_ok = match key.kty {
                    KeyType::Okp => matches!(
                        crv,
                        curve::X25519 | curve::X448 | curve::ED25519 | curve::ED448
                    ),
                    _ => matches!(crv, curve::P256 | curve::P384 | curve::P521),
                };
                if !curve_ok {
                    return Err(kerr("curve does not match the key type"));
                }
                if key.kty == KeyType::Ec2 && key.x.is_some() && key.y.is_none() {
                    return Err(kerr("EC2 public key without y"));
                }
            }
        }
        Ok(key)
    }

    /// Number of map entries [`encode`](Self::encode) writes.
    fn entries(&self) -> usize {
        1 + [
            self.kid.is_some(),
            self.alg.is_some(),
            self.key_ops.is_some(),
            self.base_iv.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
            + match self.kty {
                KeyType::Symmetric => usize::from(self.k.is_some()),
                _ => [
                    self.crv.is_some(),
                    self.x.is_some(),
                    self.y.is_some(),
                    self.d.is_some(),
                ]
                .iter()
                .filter(|b| **b)
                .count(),
            }
    }

    /// Encodes the key (labels in the order kty, kid, alg, key_ops, Base IV, then −1, −2, −3, −4).
    pub fn encode<W: Write>(&self, enc: &mut Encoder<W>) -> Result<(), Error> {
        enc.map(self.entries())?;
        enc.i64(param::KTY)?.i64(self.kty.id())?;
        if let Some(kid) = self.kid {
            enc.i64(param::KID)?.bytes(kid)?;
        }
        if let Some(alg) = &self.alg {
            enc.i64(param::ALG)?;
            alg.encode(enc)?;
        }
        if let Some(ops) = &self.key_ops {
            enc.i64(param::KEY_OPS)?.array(ops.len())?;
            for op in ops.iter() {
                op.encode(enc)?;
            }
        }
        if let Some(iv) = self.base_iv {
            enc.i64(param::BASE_IV)?.bytes(iv)?;
        }
        match self.kty {
            KeyType::Symmetric => {
                if let Some(k) = self.k {
                    enc.i64(param::K)?.bytes(k)?;
                }
            }
            _ => {
                if let Some(crv) = self.crv {
                    enc.i64(param::CRV)?.i64(crv)?;
                }
                if let Some(x) = self.x {
                    enc.i64(param::X)?.bytes(x)?;
                }
                match self.y {
                    Some(EcY::Coordinate(y)) => {
                        enc.i64(param::Y)?.bytes(y)?;
                    }
                    Some(EcY::Sign(s)) => {
                        enc.i64(param::Y)?.bool(s)?;
                    }
                    None => {}
                }
                if let Some(d) = self.d {
                    enc.i64(param::D)?.bytes(d)?;
                }
            }
        }
        Ok(())
    }

    /// Length of the encoding.
    pub fn encoded_len(&self) -> usize {
        let mut enc = Encoder::new(LenCounter::default());
        let _ = self.encode(&mut enc);
        enc.into_inner().0
    }

    /// Encodes into a new vector.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec::Vec::with_capacity(self.encoded_len());
        let _ = self.encode(&mut Encoder::new(&mut v));
        v
    }

    /// RFC 9052 §7.1: when the key carries `alg`, it must match the algorithm in use.
    pub fn check_alg(&self, alg: i64) -> Result<(), Error> {
        match self.alg {
            None => Ok(()),
            Some(Label::Int(a)) if a == alg => Ok(()),
            _ => Err(kerr("algorithm does not match the key's alg")),
        }
    }

    /// RFC 9052 §7.1: when the key carries `key_ops`, it must allow `op`.
    pub fn check_op(&self, op: KeyOp) -> Result<(), Error> {
        match &self.key_ops {
            None => Ok(()),
            Some(ops) if ops.iter().any(|l| l == Label::Int(op as i64)) => Ok(()),
            Some(_) => Err(kerr("operation not in key_ops")),
        }
    }

    /// The symmetric key bytes.
    pub fn symmetric_key(&self) -> Result<&'a [u8], Error> {
        match (self.kty, self.k) {
            (KeyType::Symmetric, Some(k)) => Ok(k),
            _ => Err(kerr("not a symmetric key")),
        }
    }

    /// The signing key for `alg` (needs `d`).
    pub fn signing_key(&self, alg: SignatureAlgorithm) -> Result<SigningKey, Error> {
        self.check_alg(alg.id())?;
        self.check_sig_curve(alg)?;
        SigningKey::from_bytes(alg, self.d.ok_or(kerr("no private key"))?)
    }

    fn check_sig_curve(&self, alg: SignatureAlgorithm) -> Result<(), Error> {
        let ok = match alg {
            SignatureAlgorithm::EdDsa => {
                self.kty == KeyType::Okp && self.crv == Some(curve::ED25519)
            }
            SignatureAlgorithm::Es256 => self.kty == KeyType::Ec2 && self.crv == Some(curve::P256),
            SignatureAlgorithm::Es384 => self.kty == KeyType::Ec2 && self.crv == Some(curve::P384),
        };
        if ok {
            Ok(())
        } else {
            Err(kerr("key type or curve does not fit the algorithm"))
        }
    }

    /// The verifying key for `alg` (from `x`/`y`, or derived from `d`).
    pub fn verifying_key(&self, alg: SignatureAlgorithm) -> Result<VerifyingKey, Error> {
        self.check_alg(alg.id())?;
        self.check_sig_curve(alg)?;
        let Some(x) = self.x else {
            return Ok(self.signing_key(alg)?.verifying_key());
        };
        match alg {
            SignatureAlgorithm::EdDsa => VerifyingKey::ed25519(x),
            _ => {
                let mut sec1 = [0u8; 97];
                let n = x.len();
                if n > 48 {
                    return Err(kerr("coordinate length"));
                }
                let len = match self.y {
                    Some(EcY::Coordinate(y)) if y.len() == n => {
                        sec1[0] = 4;
                        put(&mut sec1, 1, x)?;
                        put(&mut sec1, 1 + n, y)?;
                        1 + 2 * n
                    }
                    Some(EcY::Sign(odd)) => {
                        sec1[0] = if odd { 3 } else { 2 };
                        put(&mut sec1, 1, x)?;
                        1 + n
                    }
                    _ => return Err(kerr("y missing or of wrong length")),
                };
                VerifyingKey::ecdsa_sec1(alg, sec1.get(..len).unwrap_or(&[]))
            }
        }
    }

    /// The ECDH curve of this key.
    pub fn ecdh_curve(&self) -> Result<EcdhCurve, Error> {
        match (self.kty, self.crv) {
            (KeyType::Okp, Some(curve::X25519)) => Ok(EcdhCurve::X25519),
            (KeyType::Ec2, Some(curve::P256)) => Ok(EcdhCurve::P256),
            _ => Err(kerr("not an X25519 or P-256 key")),
        }
    }

    /// The ECDH private key (needs `d`).
    pub fn ecdh_secret(&self) -> Result<EcdhSecret, Error> {
        EcdhSecret::from_bytes(self.ecdh_curve()?, self.d.ok_or(kerr("no private key"))?)
    }

    /// The ECDH public key (from `x`/`y`, or derived from `d`).
    pub fn ecdh_public(&self) -> Result<EcdhPublicKey, Error> {
        let curve = self.ecdh_curve()?;
        let Some(x) = self.x else {
            return Ok(self.ecdh_secret()?.public_key());
        };
        match curve {
            EcdhCurve::X25519 => EcdhPublicKey::x25519(x),
            EcdhCurve::P256 => match self.y {
                Some(EcY::Coordinate(y)) => EcdhPublicKey::p256(x, y),
                Some(EcY::Sign(odd)) => EcdhPublicKey::p256_compressed(x, odd),
                None => Err(kerr("EC2 key without y")),
            },
        }
    }
}
