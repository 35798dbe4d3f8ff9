//! Elliptic-curve Diffie-Hellman over X25519 and P-256 (RFC 9053 §6.3, §7).
//!
//! ```
//! use mote_cose::algorithm::{EcdhCurve, EcdhSecret};
//!
//! let a = EcdhSecret::from_bytes(EcdhCurve::X25519, &[1; 32])?;
//! let b = EcdhSecret::from_bytes(EcdhCurve::X25519, &[2; 32])?;
//! let ab = a.diffie_hellman(&b.public_key())?;
//! let ba = b.diffie_hellman(&a.public_key())?;
//! assert_eq!(ab.as_bytes(), ba.as_bytes());
//! # Ok::<(), mote_cose::Error>(())
//! ```

use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;

/// The curves ECDH runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EcdhCurve {
    /// X25519 (RFC 7748), COSE curve 4.
    X25519,
    /// NIST P-256, COSE curve 1.
    P256,
}

impl EcdhCurve {
    /// Length of a private key and of the shared secret in bytes.
    pub const fn secret_len(self) -> usize {
        32
    }
}

/// A static or ephemeral ECDH private key, zeroized on drop.
pub enum EcdhSecret {
    /// X25519 private key.
    X25519(x25519_dalek::StaticSecret),
    /// P-256 private key.
    P256(p256::SecretKey),
}

impl core::fmt::Debug for EcdhSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::X25519(_) => "EcdhSecret::X25519(..)",
            Self::P256(_) => "EcdhSecret::P256(..)",
        })
    }
}

/// An ECDH public key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EcdhPublicKey {
    /// X25519 u-coordinate.
    X25519([u8; 32]),
    /// A P-256 point, validated on construction.
    P256(p256::PublicKey),
}

/// The output of ECDH (the x-coordinate for P-256), zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; 32]);

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

impl SharedSecret {
    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl EcdhSecret {
    /// A private key from its bytes (X25519 scalar or P-256 `d`, both 32 bytes).
    pub fn from_bytes(curve: EcdhCurve, d: &[u8]) -> Result<Self, Error> {
        match curve {
            EcdhCurve::X25519 => {
                let mut b: [u8; 32] = d
                    .try_into()
                    .map_err(|_| Error::Key("X25519 private key length"))?;
                let s = x25519_dalek::StaticSecret::from(b);
                b.zeroize();
                Ok(Self::X25519(s))
            }
            EcdhCurve::P256 => {
                if d.len() != 32 {
                    return Err(Error::Key("P-256 private key length"));
                }
                p256::SecretKey::from_slice(d)
                    .map(Self::P256)
                    .map_err(|_| Error::Key("P-256 private key"))
            }
        }
    }

    /// A fresh random private key from the operating system's generator (feature `std`).
    ///
    /// ```
    /// use mote_cose::algorithm::{EcdhCurve, EcdhSecret};
    ///
    /// let (a, b) = (EcdhSecret::generate_os(EcdhCurve::X25519)?, EcdhSecret::generate_os(EcdhCurve::X25519)?);
    /// let ab = a.diffie_hellman(&b.public_key())?;
    /// assert_eq!(ab.as_bytes(), b.diffie_hellman(&a.public_key())?.as_bytes());
    /// # Ok::<(), mote_cose::Error>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn generate_os(curve: EcdhCurve) -> Result<Self, Error> {
        let mut d = [0u8; 32];
        super::os_scalar(&mut d, |d| Self::from_bytes(curve, d))
    }

    /// A fresh random private key from `rng`, e.g. `&mut mote_cose::rand_core::OsRng`
    /// (feature `std`).
    pub fn generate(curve: EcdhCurve, rng: &mut impl CryptoRngCore) -> Self {
        match curve {
            EcdhCurve::X25519 => Self::X25519(x25519_dalek::StaticSecret::random_from_rng(rng)),
            EcdhCurve::P256 => Self::P256(p256::SecretKey::random(rng)),
        }
    }

    /// The curve of this key.
    pub fn curve(&self) -> EcdhCurve {
        match self {
            Self::X25519(_) => EcdhCurve::X25519,
            Self::P256(_) => EcdhCurve::P256,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> EcdhPublicKey {
        match self {
            Self::X25519(s) => EcdhPublicKey::X25519(x25519_dalek::PublicKey::from(s).to_bytes()),
            Self::P256(s) => EcdhPublicKey::P256(s.public_key()),
        }
    }

    /// ECDH with the peer's public key. Fails (opaquely) on a curve mismatch or when the
    /// X25519 result is all zero (a low-order peer point, RFC 7748 §6.1).
    pub fn diffie_hellman(&self, peer: &EcdhPublicKey) -> Result<SharedSecret, Error> {
        match (self, peer) {
            (Self::X25519(s), EcdhPublicKey::X25519(p)) => {
                let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(*p));
                if !shared.was_contributory() {
                    return Err(Error::Crypto);
                }
                Ok(SharedSecret(shared.to_bytes()))
            }
            (Self::P256(s), EcdhPublicKey::P256(p)) => {
                let shared = p256::ecdh::diffie_hellman(s.to_nonzero_scalar(), p.as_affine());
                let mut out = [0u8; 32];
                out.copy_from_slice(shared.raw_secret_bytes());
                Ok(SharedSecret(out))
            }
            _ => Err(Error::Key("curve mismatch")),
        }
    }
}

impl EcdhPublicKey {
    /// An X25519 public key.
    pub fn x25519(u: &[u8]) -> Result<Self, Error> {
        u.try_into()
            .map(Self::X25519)
            .map_err(|_| Error::Key("X25519 public key length"))
    }

    /// A P-256 point from its affine coordinates; fails if it is not on the curve.
    pub fn p256(x: &[u8], y: &[u8]) -> Result<Self, Error> {
        if x.len() != 32 || y.len() != 32 {
            return Err(Error::Key("P-256 coordinate length"));
        }
        let pt = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
        Option::<p256::PublicKey>::from(p256::PublicKey::from_encoded_point(&pt))
            .map(Self::P256)
            .ok_or(Error::Key("P-256 point not on the curve"))
    }

    /// A P-256 point from its x-coordinate and the sign (parity) of y, as in a compressed
    /// point or a COSE_Key with a boolean `y` (RFC 9053 §7.1.1).
    pub fn p256_compressed(x: &[u8], y_odd: bool) -> Result<Self, Error> {
        if x.len() != 32 {
            return Err(Error::Key("P-256 coordinate length"));
        }
        let mut sec1 = [0u8; 33];
        sec1[0] = if y_odd { 3 } else { 2 };
        sec1[1..].copy_from_slice(x);
        p256::PublicKey::from_sec1_bytes(&sec1)
            .map(Self::P256)
            .map_err(|_| Error::Key("P-256 point not on the curve"))
    }

    /// The curve of this key.
    pub fn curve(&self) -> EcdhCurve {
        match self {
            Self::X25519(_) => EcdhCurve::X25519,
            Self::P256(_) => EcdhCurve::P256,
        }
    }

    /// The x-coordinate (P-256) or u-coordinate (X25519).
    pub fn x(&self) -> [u8; 32] {
        match self {
            Self::X25519(u) => *u,
            Self::P256(p) => {
                let mut x = [0u8; 32];
                if let Some(v) = p.to_encoded_point(false).x() {
                    x.copy_from_slice(v);
                }
                x
            }
        }
    }

    /// The y-coordinate of a P-256 point (`None` for X25519).
    pub fn y(&self) -> Option<[u8; 32]> {
        match self {
            Self::X25519(_) => None,
            Self::P256(p) => {
                let ep = p.to_encoded_point(false);
                let mut y = [0u8; 32];
                y.copy_from_slice(ep.y()?);
                Some(y)
            }
        }
    }
}
