//! Digital-signature algorithms: EdDSA with Ed25519 (RFC 9053 §2.2) and ECDSA with P-256 /
//! P-384 (RFC 9053 §2.1; deterministic nonces per RFC 6979).
//!
//! ```
//! use mote_cose::algorithm::{SignatureAlgorithm, SigningKey};
//!
//! let sk = SigningKey::from_bytes(SignatureAlgorithm::EdDsa, &[7; 32])?;
//! let mut sig = [0u8; 64];
//! sk.sign(b"message", &mut sig)?;
//! sk.verifying_key().verify(b"message", &sig)?;
//! # Ok::<(), mote_cose::Error>(())
//! ```

use p256::ecdsa::signature::{Signer, Verifier};
use rand_core::CryptoRngCore;

use crate::Error;

/// The COSE signature algorithms this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// ES256 (−7): ECDSA P-256 with SHA-256.
    Es256,
    /// ES384 (−35): ECDSA P-384 with SHA-384.
    Es384,
    /// EdDSA (−8), here with Ed25519.
    EdDsa,
}

impl SignatureAlgorithm {
    /// The COSE algorithm identifier.
    pub const fn id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::EdDsa => -8,
        }
    }

    /// The algorithm with COSE identifier `id`.
    pub const fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            -7 => Self::Es256,
            -35 => Self::Es384,
            -8 => Self::EdDsa,
            _ => return None,
        })
    }

    /// Signature length in bytes (`r || s` for ECDSA, RFC 9053 §2.1).
    pub const fn signature_len(self) -> usize {
        match self {
            Self::Es256 | Self::EdDsa => 64,
            Self::Es384 => 96,
        }
    }

    /// Private key length in bytes.
    pub const fn private_key_len(self) -> usize {
        match self {
            Self::Es256 | Self::EdDsa => 32,
            Self::Es384 => 48,
        }
    }
}

/// A signing (private) key; zeroized on drop by the underlying RustCrypto/dalek types.
#[non_exhaustive]
pub enum SigningKey {
    /// Ed25519 key.
    Ed25519(ed25519_dalek::SigningKey),
    /// P-256 ECDSA key.
    P256(p256::ecdsa::SigningKey),
    /// P-384 ECDSA key.
    P384(p384::ecdsa::SigningKey),
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SigningKey::{:?}(..)", self.algorithm())
    }
}

/// A verifying (public) key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyingKey {
    /// Ed25519 public key.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// P-256 public key.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384 public key.
    P384(p384::ecdsa::VerifyingKey),
}

impl SigningKey {
    /// A signing key from the private scalar/seed (`d` of a COSE_Key).
    pub fn from_bytes(alg: SignatureAlgorithm, d: &[u8]) -> Result<Self, Error> {
        if d.len() != alg.private_key_len() {
            return Err(Error::Key("private key length"));
        }
        match alg {
            SignatureAlgorithm::EdDsa => {
                let seed: &[u8; 32] = d.try_into().map_err(|_| Error::Key("private key length"))?;
                Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed)))
            }
            SignatureAlgorithm::Es256 => p256::ecdsa::SigningKey::from_slice(d)
                .map(Self::P256)
                .map_err(|_| Error::Key("P-256 private key")),
            SignatureAlgorithm::Es384 => p384::ecdsa::SigningKey::from_slice(d)
                .map(Self::P384)
                .map_err(|_| Error::Key("P-384 private key")),
        }
    }

    /// A fresh random key from the operating system's generator (feature `std`); no
    /// `rand_core` to name. [`SigningKey::generate`] takes any generator.
    ///
    /// ```
    /// use mote_cose::algorithm::{SignatureAlgorithm, SigningKey};
    ///
    /// let sk = SigningKey::generate_os(SignatureAlgorithm::Es256)?;
    /// let mut sig = [0u8; 64];
    /// sk.sign(b"message", &mut sig)?;
    /// sk.verifying_key().verify(b"message", &sig)?;
    /// assert_ne!(sk.verifying_key(), SigningKey::generate_os(SignatureAlgorithm::Es256)?.verifying_key());
    /// # Ok::<(), mote_cose::Error>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn generate_os(alg: SignatureAlgorithm) -> Result<Self, Error> {
        let mut d = [0u8; 48];
        let d = d
            .get_mut(..alg.private_key_len())
            .ok_or(Error::Key("private key length"))?;
        super::os_scalar(d, |d| Self::from_bytes(alg, d))
    }

    /// A fresh random key from `rng`, e.g. `&mut mote_cose::rand_core::OsRng` (feature `std`):
    /// the generator must implement the `rand_core` 0.6 traits that [`crate::rand_core`]
    /// re-exports.
    ///
    /// ```
    /// use mote_cose::algorithm::{SignatureAlgorithm, SigningKey};
    /// use mote_cose::rand_core::OsRng;
    ///
    /// let sk = SigningKey::generate(SignatureAlgorithm::EdDsa, &mut OsRng);
    /// assert_eq!(sk.algorithm(), SignatureAlgorithm::EdDsa);
    /// ```
    pub fn generate(alg: SignatureAlgorithm, rng: &mut impl CryptoRngCore) -> Self {
        match alg {
            SignatureAlgorithm::EdDsa => {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                let k = ed25519_dalek::SigningKey::from_bytes(&seed);
                zeroize::Zeroize::zeroize(&mut seed);
                Self::Ed25519(k)
            }
            SignatureAlgorithm::Es256 => Self::P256(p256::ecdsa::SigningKey::random(rng)),
            SignatureAlgorithm::Es384 => Self::P384(p384::ecdsa::SigningKey::random(rng)),
        }
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            Self::Ed25519(_) => SignatureAlgorithm::EdDsa,
            Self::P256(_) => SignatureAlgorithm::Es256,
            Self::P384(_) => SignatureAlgorithm::Es384,
        }
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            Self::Ed25519(k) => VerifyingKey::Ed25519(k.verifying_key()),
            Self::P256(k) => VerifyingKey::P256(*k.verifying_key()),
            Self::P384(k) => VerifyingKey::P384(*k.verifying_key()),
        }
    }

    /// Signs `msg` into `sig_out` (exactly [`SignatureAlgorithm::signature_len`] bytes).
    pub fn sign(&self, msg: &[u8], sig_out: &mut [u8]) -> Result<(), Error> {
        if sig_out.len() != self.algorithm().signature_len() {
            return Err(Error::Length("signature"));
        }
        match self {
            Self::Ed25519(k) => {
                sig_out.copy_from_slice(&ed25519_dalek::Signer::sign(k, msg).to_bytes())
            }
            Self::P256(k) => {
                let s: p256::ecdsa::Signature = k.try_sign(msg).map_err(|_| Error::Crypto)?;
                sig_out.copy_from_slice(&s.to_bytes());
            }
            Self::P384(k) => {
                let s: p384::ecdsa::Signature = k.try_sign(msg).map_err(|_| Error::Crypto)?;
                sig_out.copy_from_slice(&s.to_bytes());
            }
        }
        Ok(())
    }
}

impl VerifyingKey {
    /// An Ed25519 public key (32 bytes).
    pub fn ed25519(x: &[u8]) -> Result<Self, Error> {
        let b: &[u8; 32] = x
            .try_into()
            .map_err(|_| Error::Key("Ed25519 public key length"))?;
        ed25519_dalek::VerifyingKey::from_bytes(b)
            .map(Self::Ed25519)
            .map_err(|_| Error::Key("Ed25519 public key"))
    }

    /// An ECDSA public key from a SEC1 point (uncompressed `04||x||y` or compressed `02/03||x`).
    pub fn ecdsa_sec1(alg: SignatureAlgorithm, sec1: &[u8]) -> Result<Self, Error> {
        match alg {
            SignatureAlgorithm::Es256 => {
                p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).map(Self::P256)
            }
            SignatureAlgorithm::Es384 => {
                p384::ecdsa::VerifyingKey::from_sec1_bytes(sec1).map(Self::P384)
            }
            SignatureAlgorithm::EdDsa => return Err(Error::Key("not an ECDSA algorithm")),
        }
        .map_err(|_| Error::Key("point not on the curve"))
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self {
            Self::Ed25519(_) => SignatureAlgorithm::EdDsa,
            Self::P256(_) => SignatureAlgorithm::Es256,
            Self::P384(_) => SignatureAlgorithm::Es384,
        }
    }

    /// The public key as coordinates: Ed25519 `x` only, or the ECDSA affine `x` and `y`.
    pub fn coordinates(&self) -> PublicCoordinates {
        let mut c = PublicCoordinates {
            x: [0; 48],
            y: [0; 48],
            len: 32,
            has_y: true,
        };
        match self {
            Self::Ed25519(k) => {
                c.x[..32].copy_from_slice(k.as_bytes());
                c.has_y = false;
            }
            Self::P256(k) => {
                let ep = k.to_encoded_point(false);
                if let (Some(x), Some(y)) = (ep.x(), ep.y()) {
                    c.x[..32].copy_from_slice(x);
                    c.y[..32].copy_from_slice(y);
                }
            }
            Self::P384(k) => {
                let ep = k.to_encoded_point(false);
                if let (Some(x), Some(y)) = (ep.x(), ep.y()) {
                    c.x.copy_from_slice(x);
                    c.y.copy_from_slice(y);
                }
                c.len = 48;
            }
        }
        c
    }

    /// Verifies `sig` over `msg`. Fails with the opaque [`Error::Crypto`].
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), Error> {
        match self {
            Self::Ed25519(k) => {
                let s: &[u8; 64] = sig.try_into().map_err(|_| Error::Crypto)?;
                k.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(s))
            }
            .map_err(|_| Error::Crypto),
            Self::P256(k) => {
                let s = p256::ecdsa::Signature::from_slice(sig).map_err(|_| Error::Crypto)?;
                k.verify(msg, &s).map_err(|_| Error::Crypto)
            }
            Self::P384(k) => {
                let s = p384::ecdsa::Signature::from_slice(sig).map_err(|_| Error::Crypto)?;
                k.verify(msg, &s).map_err(|_| Error::Crypto)
            }
        }
    }
}

/// Public-key coordinates returned by [`VerifyingKey::coordinates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicCoordinates {
    x: [u8; 48],
    y: [u8; 48],
    len: usize,
    has_y: bool,
}

impl PublicCoordinates {
    /// The x-coordinate (or the Ed25519 public key).
    pub fn x(&self) -> &[u8] {
        self.x.get(..self.len).unwrap_or(&[])
    }

    /// The y-coordinate, for ECDSA keys.
    pub fn y(&self) -> Option<&[u8]> {
        if self.has_y {
            self.y.get(..self.len)
        } else {
            None
        }
    }
}
