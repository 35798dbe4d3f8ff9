//! HKDF (RFC 5869) with SHA-256 and SHA-512, into caller buffers (RFC 9053 §5.1).
//!
//! ```
//! use mote_cose::algorithm::HkdfAlgorithm;
//!
//! // RFC 5869 Appendix A.1 (test case 1), first bytes
//! let ikm = [0x0b; 22];
//! let salt = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c];
//! let info = [0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9];
//! let mut prk = [0u8; 32];
//! HkdfAlgorithm::Sha256.extract(&salt, &ikm, &mut prk)?;
//! let mut okm = [0u8; 42];
//! HkdfAlgorithm::Sha256.expand(&prk, &info, &mut okm)?;
//! assert_eq!(&okm[..4], &[0x3c, 0xb2, 0x5f, 0x25]);
//! # Ok::<(), mote_cose::Error>(())
//! ```

use sha2::{Sha256, Sha512};
use zeroize::Zeroize;

use crate::Error;

/// HKDF over the eager HMAC (inner and outer hash states precomputed from the key) where `aes`
/// and `sha2` have fast backends (x86, x86_64, aarch64): the speed-tuned host build.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
type Hkdf<H> = hkdf::Hkdf<H>;
/// Elsewhere (the microcontroller build) HKDF over `SimpleHmac`, which keeps the key and
/// hashes it per use: the same output (RFC 2104), less code (the key derivation of a context
/// is not on the per-message path).
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
type Hkdf<H> = hkdf::SimpleHkdf<H>;

/// The hash functions HKDF runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HkdfAlgorithm {
    /// HKDF-SHA-256.
    Sha256,
    /// HKDF-SHA-512.
    Sha512,
}

impl HkdfAlgorithm {
    /// Hash output length in bytes (the PRK length).
    pub const fn hash_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    /// HKDF-Extract(salt, IKM) into `prk_out`, which must be exactly
    /// [`hash_len`](Self::hash_len) bytes. An empty salt is the all-zero salt (RFC 5869 §2.2).
    pub fn extract(self, salt: &[u8], ikm: &[u8], prk_out: &mut [u8]) -> Result<(), Error> {
        if prk_out.len() != self.hash_len() {
            return Err(Error::Length("PRK"));
        }
        match self {
            Self::Sha256 => {
                let (mut prk, _) = Hkdf::<Sha256>::extract(Some(salt), ikm);
                prk_out.copy_from_slice(&prk);
                prk.zeroize();
            }
            Self::Sha512 => {
                let (mut prk, _) = Hkdf::<Sha512>::extract(Some(salt), ikm);
                prk_out.copy_from_slice(&prk);
                prk.zeroize();
            }
        }
        Ok(())
    }

    /// HKDF-Expand(PRK, info, L) with `L = okm.len()` (at most 255 × hash length).
    pub fn expand(self, prk: &[u8], info: &[u8], okm: &mut [u8]) -> Result<(), Error> {
        self.expand_parts(prk, &[info], okm)
    }

    /// HKDF-Expand where `info` is the concatenation of `info_parts` (no copy needed).
    pub fn expand_parts(
        self,
        prk: &[u8],
        info_parts: &[&[u8]],
        okm: &mut [u8],
    ) -> Result<(), Error> {
        match self {
            Self::Sha256 => Hkdf::<Sha256>::from_prk(prk)
                .map_err(|_| Error::Key("PRK shorter than the hash"))?
                .expand_multi_info(info_parts, okm),
            Self::Sha512 => Hkdf::<Sha512>::from_prk(prk)
                .map_err(|_| Error::Key("PRK shorter than the hash"))?
                .expand_multi_info(info_parts, okm),
        }
        .map_err(|_| Error::Length("HKDF output"))
    }

    /// Extract then expand: the full HKDF (RFC 5869 §2).
    pub fn derive(self, salt: &[u8], ikm: &[u8], info: &[u8], okm: &mut [u8]) -> Result<(), Error> {
        match self {
            Self::Sha256 => Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, okm),
            Self::Sha512 => Hkdf::<Sha512>::new(Some(salt), ikm).expand(info, okm),
        }
        .map_err(|_| Error::Length("HKDF output"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The device build's `SimpleHkdf` and the host build's eager `Hkdf` give RFC 5869
    /// Appendix A.1's output (test case 1), so either alias derives the same keys.
    #[test]
    fn both_hmac_variants_give_rfc_5869_a_1() {
        let ikm = [0x0b; 22];
        let salt: [u8; 13] = core::array::from_fn(|i| i as u8);
        let info: [u8; 10] = core::array::from_fn(|i| 0xf0 + i as u8);
        let expected = b"\x3c\xb2\x5f\x25\xfa\xac\xd5\x7a\x90\x43\x4f\x64\xd0\x36\x2f\x2a\
\x2d\x2d\x0a\x90\xcf\x1a\x5a\x4c\x5d\xb0\x2d\x56\xec\xc4\xc5\xbf\x34\x00\x72\x08\xd5\xb8\x87\x18\x58\x65";
        let mut eager = [0u8; 42];
        hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), &ikm)
            .expand(&info, &mut eager)
            .unwrap();
        let mut simple = [0u8; 42];
        hkdf::SimpleHkdf::<sha2::Sha256>::new(Some(&salt), &ikm)
            .expand(&info, &mut simple)
            .unwrap();
        assert_eq!(&eager, expected);
        assert_eq!(&simple, expected);
    }
}
