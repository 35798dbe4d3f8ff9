//! The COSE algorithms (RFC 9053), implemented on RustCrypto.
//!
//! Each family has its own enum with the COSE identifier, the lengths and in-place operations
//! over caller buffers; [`Algorithm`] ties them together for header processing.
//!
//! | family | type | COSE identifiers |
//! |---|---|---|
//! | AEAD content encryption | [`AeadAlgorithm`], [`AeadKey`] (key prepared once) | 1, 2, 3, 10–13, 24, 30–33 |
//! | MAC | [`MacAlgorithm`] | 4, 5, 6, 7 |
//! | signature | [`SignatureAlgorithm`] | −7 (ES256), −35 (ES384), −8 (EdDSA/Ed25519) |
//! | key derivation | [`HkdfAlgorithm`] | HKDF-SHA-256, HKDF-SHA-512 |
//! | key agreement | [`EcdhSecret`], [`EcdhPublicKey`] | X25519, P-256 |
//! | key distribution | [`KeyDistribution`] | −6, −10, −11, −25 … −28 |

#[cfg(feature = "std")]
use crate::Error;

mod aead;
mod ecdh;
mod hkdf;
mod mac;
mod sign;

pub use aead::{AeadAlgorithm, AeadKey};
pub use ecdh::{EcdhCurve, EcdhPublicKey, EcdhSecret, SharedSecret};
pub use hkdf::HkdfAlgorithm;
pub use mac::MacAlgorithm;
pub use sign::{PublicCoordinates, SignatureAlgorithm, SigningKey, VerifyingKey};

/// Fills `buf` from the operating system's generator.
#[cfg(feature = "std")]
pub(crate) fn os_random(buf: &mut [u8]) -> Result<(), Error> {
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, buf).map_err(|_| Error::Random)
}

/// Draws a private scalar by rejection sampling: `from_bytes` refuses 0 and values ≥ the group
/// order, which for P-256 and P-384 happens with probability below 2^-32 per draw, so a few
/// attempts suffice and the result is uniform.
#[cfg(feature = "std")]
pub(crate) fn os_scalar<T>(
    buf: &mut [u8],
    from_bytes: impl Fn(&[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    for _ in 0..8 {
        os_random(buf)?;
        let key = from_bytes(buf);
        zeroize::Zeroize::zeroize(&mut *buf);
        if let Ok(key) = key {
            return Ok(key);
        }
    }
    Err(Error::Random)
}

/// Recipient (key-distribution) algorithms (RFC 9053 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyDistribution {
    /// direct (−6): the shared key is the content key (RFC 9053 §6.1).
    Direct,
    /// direct+HKDF-SHA-256 (−10) (RFC 9053 §6.1.2).
    DirectHkdfSha256,
    /// direct+HKDF-SHA-512 (−11).
    DirectHkdfSha512,
    /// ECDH-ES + HKDF-256 (−25) (RFC 9053 §6.3.1).
    EcdhEsHkdf256,
    /// ECDH-ES + HKDF-512 (−26).
    EcdhEsHkdf512,
    /// ECDH-SS + HKDF-256 (−27).
    EcdhSsHkdf256,
    /// ECDH-SS + HKDF-512 (−28).
    EcdhSsHkdf512,
}

impl KeyDistribution {
    /// The COSE algorithm identifier.
    pub const fn id(self) -> i64 {
        match self {
            Self::Direct => -6,
            Self::DirectHkdfSha256 => -10,
            Self::DirectHkdfSha512 => -11,
            Self::EcdhEsHkdf256 => -25,
            Self::EcdhEsHkdf512 => -26,
            Self::EcdhSsHkdf256 => -27,
            Self::EcdhSsHkdf512 => -28,
        }
    }

    /// The algorithm with COSE identifier `id`.
    pub const fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            -6 => Self::Direct,
            -10 => Self::DirectHkdfSha256,
            -11 => Self::DirectHkdfSha512,
            -25 => Self::EcdhEsHkdf256,
            -26 => Self::EcdhEsHkdf512,
            -27 => Self::EcdhSsHkdf256,
            -28 => Self::EcdhSsHkdf512,
            _ => return None,
        })
    }

    /// The HKDF hash used to derive the content key, `None` for `direct`.
    pub const fn hkdf(self) -> Option<HkdfAlgorithm> {
        match self {
            Self::Direct => None,
            Self::DirectHkdfSha256 | Self::EcdhEsHkdf256 | Self::EcdhSsHkdf256 => {
                Some(HkdfAlgorithm::Sha256)
            }
            Self::DirectHkdfSha512 | Self::EcdhEsHkdf512 | Self::EcdhSsHkdf512 => {
                Some(HkdfAlgorithm::Sha512)
            }
        }
    }

    /// Whether the algorithm uses ECDH with an ephemeral sender key (ES).
    pub const fn is_ephemeral_static(self) -> bool {
        matches!(self, Self::EcdhEsHkdf256 | Self::EcdhEsHkdf512)
    }

    /// Whether the algorithm uses ECDH with a static sender key (SS).
    pub const fn is_static_static(self) -> bool {
        matches!(self, Self::EcdhSsHkdf256 | Self::EcdhSsHkdf512)
    }
}

impl From<AeadAlgorithm> for Algorithm {
    fn from(a: AeadAlgorithm) -> Self {
        Self::Aead(a)
    }
}

impl From<MacAlgorithm> for Algorithm {
    fn from(a: MacAlgorithm) -> Self {
        Self::Mac(a)
    }
}

impl From<SignatureAlgorithm> for Algorithm {
    fn from(a: SignatureAlgorithm) -> Self {
        Self::Signature(a)
    }
}

impl From<KeyDistribution> for Algorithm {
    fn from(a: KeyDistribution) -> Self {
        Self::KeyDistribution(a)
    }
}

/// Any COSE algorithm this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Content encryption.
    Aead(AeadAlgorithm),
    /// Message authentication.
    Mac(MacAlgorithm),
    /// Signature.
    Signature(SignatureAlgorithm),
    /// Recipient key distribution.
    KeyDistribution(KeyDistribution),
}

impl Algorithm {
    /// The algorithm with COSE identifier `id`, if implemented.
    pub const fn from_id(id: i64) -> Option<Self> {
        if let Some(a) = AeadAlgorithm::from_id(id) {
            return Some(Self::Aead(a));
        }
        if let Some(a) = MacAlgorithm::from_id(id) {
            return Some(Self::Mac(a));
        }
        if let Some(a) = SignatureAlgorithm::from_id(id) {
            return Some(Self::Signature(a));
        }
        if let Some(a) = KeyDistribution::from_id(id) {
            return Some(Self::KeyDistribution(a));
        }
        None
    }

    /// The COSE algorithm identifier.
    pub const fn id(self) -> i64 {
        match self {
            Self::Aead(a) => a.id(),
            Self::Mac(a) => a.id(),
            Self::Signature(a) => a.id(),
            Self::KeyDistribution(a) => a.id(),
        }
    }
}
