//! HMAC message-authentication algorithms (RFC 9053 §3.1).
//!
//! ```
//! use mote_cose::algorithm::MacAlgorithm;
//!
//! let alg = MacAlgorithm::HmacSha256_64; // COSE 4
//! let mut tag = [0u8; 8];
//! alg.compute(b"key", &[b"some ", b"data"], &mut tag)?;
//! alg.verify(b"key", &[b"some data"], &tag)?;
//! assert!(alg.verify(b"key", &[b"other data"], &tag).is_err());
//! # Ok::<(), mote_cose::Error>(())
//! ```

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384, Sha512};

use crate::Error;

/// The COSE HMAC algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MacAlgorithm {
    /// HMAC 256/64 (4): HMAC-SHA-256 truncated to 64 bits.
    HmacSha256_64,
    /// HMAC 256/256 (5).
    HmacSha256,
    /// HMAC 384/384 (6).
    HmacSha384,
    /// HMAC 512/512 (7).
    HmacSha512,
}

fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[&[u8]]) -> Result<M, Error> {
    // HMAC accepts keys of any length (RFC 2104 §2); the error path is unreachable in practice.
    let mut mac =
        <M as hmac::digest::KeyInit>::new_from_slice(key).map_err(|_| Error::Key("HMAC key"))?;
    for part in data {
        mac.update(part);
    }
    Ok(mac)
}

impl MacAlgorithm {
    /// The COSE algorithm identifier.
    pub const fn id(self) -> i64 {
        match self {
            Self::HmacSha256_64 => 4,
            Self::HmacSha256 => 5,
            Self::HmacSha384 => 6,
            Self::HmacSha512 => 7,
        }
    }

    /// The algorithm with COSE identifier `id`.
    pub const fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            4 => Self::HmacSha256_64,
            5 => Self::HmacSha256,
            6 => Self::HmacSha384,
            7 => Self::HmacSha512,
            _ => return None,
        })
    }

    /// Tag length in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::HmacSha256_64 => 8,
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    /// Key length the algorithm is registered with (the hash length, RFC 9053 §3.1).
    pub const fn key_len(self) -> usize {
        match self {
            Self::HmacSha256_64 | Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    /// Computes the (truncated) tag over the concatenation of `data` into `tag_out`, which must
    /// be exactly [`tag_len`](Self::tag_len) bytes.
    pub fn compute(self, key: &[u8], data: &[&[u8]], tag_out: &mut [u8]) -> Result<(), Error> {
        if tag_out.len() != self.tag_len() {
            return Err(Error::Length("tag"));
        }
        let n = self.tag_len();
        match self {
            Self::HmacSha256_64 | Self::HmacSha256 => tag_out.copy_from_slice(
                run::<Hmac<Sha256>>(key, data)?
                    .finalize()
                    .into_bytes()
                    .get(..n)
                    .unwrap_or(&[]),
            ),
            Self::HmacSha384 => {
                tag_out.copy_from_slice(&run::<Hmac<Sha384>>(key, data)?.finalize().into_bytes())
            }
            Self::HmacSha512 => {
                tag_out.copy_from_slice(&run::<Hmac<Sha512>>(key, data)?.finalize().into_bytes())
            }
        }
        Ok(())
    }

    /// Verifies `tag` over the concatenation of `data`, in constant time.
    pub fn verify(self, key: &[u8], data: &[&[u8]], tag: &[u8]) -> Result<(), Error> {
        if tag.len() != self.tag_len() {
            return Err(Error::Crypto);
        }
        match self {
            Self::HmacSha256_64 | Self::HmacSha256 => {
                run::<Hmac<Sha256>>(key, data)?.verify_truncated_left(tag)
            }
            Self::HmacSha384 => run::<Hmac<Sha384>>(key, data)?.verify_slice(tag),
            Self::HmacSha512 => run::<Hmac<Sha512>>(key, data)?.verify_slice(tag),
        }
        .map_err(|_| Error::Crypto)
    }
}
