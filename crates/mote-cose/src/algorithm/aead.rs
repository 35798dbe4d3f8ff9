//! Content-encryption algorithms (RFC 9053 §4): AES-GCM, AES-CCM, ChaCha20/Poly1305.
//!
//! Every operation works in place over the caller's buffer, with the tag either detached
//! ([`AeadAlgorithm::seal_in_place_detached`]) or appended after the ciphertext
//! ([`AeadAlgorithm::seal_in_place`]), and allocates nothing.
//!
//! ```
//! use mote_cose::algorithm::AeadAlgorithm;
//!
//! let alg = AeadAlgorithm::AesCcm16_64_128; // COSE 10, the OSCORE default
//! let key = [0x11; 16];
//! let nonce = [0x22; 13];
//! let mut buf = [0u8; 5 + 8];
//! buf[..5].copy_from_slice(b"hello");
//! let n = alg.seal_in_place(&key, &nonce, b"aad", &mut buf, 5)?;
//! assert_eq!(n, 13);
//! let m = alg.open_in_place(&key, &nonce, b"aad", &mut buf)?;
//! assert_eq!(&buf[..m], b"hello");
//! # Ok::<(), mote_cose::Error>(())
//! ```

// CCM and GCM only ever run the block cipher forward (CTR mode and CBC-MAC / GHASH), so the
// encrypt-only AES types are enough: they skip the decryption key schedule and are half the
// size to build, move and zeroize per call.
use aes::{Aes128Enc as Aes128, Aes192Enc as Aes192, Aes256Enc as Aes256};
use aes_gcm::AesGcm;
use ccm::Ccm;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::generic_array::typenum::Unsigned;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U7, U8, U12, U13, U16};
use chacha20poly1305::ChaCha20Poly1305;

use crate::Error;

/// The COSE AEAD content-encryption algorithms (RFC 9053 §4, IANA "COSE Algorithms").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AeadAlgorithm {
    /// A128GCM (1): AES-GCM, 128-bit key, 128-bit tag (RFC 9053 §4.1).
    A128Gcm,
    /// A192GCM (2).
    A192Gcm,
    /// A256GCM (3).
    A256Gcm,
    /// AES-CCM-16-64-128 (10): L=16 bits (13-byte nonce), 64-bit tag, 128-bit key (RFC 9053 §4.2).
    AesCcm16_64_128,
    /// AES-CCM-16-64-256 (11).
    AesCcm16_64_256,
    /// AES-CCM-64-64-128 (12): L=64 bits (7-byte nonce), 64-bit tag, 128-bit key.
    AesCcm64_64_128,
    /// AES-CCM-64-64-256 (13).
    AesCcm64_64_256,
    /// AES-CCM-16-128-128 (30): 13-byte nonce, 128-bit tag, 128-bit key.
    AesCcm16_128_128,
    /// AES-CCM-16-128-256 (31).
    AesCcm16_128_256,
    /// AES-CCM-64-128-128 (32).
    AesCcm64_128_128,
    /// AES-CCM-64-128-256 (33).
    AesCcm64_128_256,
    /// ChaCha20/Poly1305 (24), RFC 9053 §4.3.
    ChaCha20Poly1305,
}

type Ccm16_64_128 = Ccm<Aes128, U8, U13>;
type Ccm16_64_256 = Ccm<Aes256, U8, U13>;
type Ccm64_64_128 = Ccm<Aes128, U8, U7>;
type Ccm64_64_256 = Ccm<Aes256, U8, U7>;
type Ccm16_128_128 = Ccm<Aes128, U16, U13>;
type Ccm16_128_256 = Ccm<Aes256, U16, U13>;
type Ccm64_128_128 = Ccm<Aes128, U16, U7>;
type Ccm64_128_256 = Ccm<Aes256, U16, U7>;
type Gcm128 = AesGcm<Aes128, U12>;
type Gcm192 = AesGcm<Aes192, U12>;
type Gcm256 = AesGcm<Aes256, U12>;

macro_rules! dispatch {
    ($self:expr, $f:ident, $($arg:expr),*) => {
        match $self {
            AeadAlgorithm::A128Gcm => $f::<Gcm128>($($arg),*),
            AeadAlgorithm::A192Gcm => $f::<Gcm192>($($arg),*),
            AeadAlgorithm::A256Gcm => $f::<Gcm256>($($arg),*),
            AeadAlgorithm::AesCcm16_64_128 => $f::<Ccm16_64_128>($($arg),*),
            AeadAlgorithm::AesCcm16_64_256 => $f::<Ccm16_64_256>($($arg),*),
            AeadAlgorithm::AesCcm64_64_128 => $f::<Ccm64_64_128>($($arg),*),
            AeadAlgorithm::AesCcm64_64_256 => $f::<Ccm64_64_256>($($arg),*),
            AeadAlgorithm::AesCcm16_128_128 => $f::<Ccm16_128_128>($($arg),*),
            AeadAlgorithm::AesCcm16_128_256 => $f::<Ccm16_128_256>($($arg),*),
            AeadAlgorithm::AesCcm64_128_128 => $f::<Ccm64_128_128>($($arg),*),
            AeadAlgorithm::AesCcm64_128_256 => $f::<Ccm64_128_256>($($arg),*),
            AeadAlgorithm::ChaCha20Poly1305 => $f::<ChaCha20Poly1305>($($arg),*),
        }
    };
}

fn seal_detached<C: AeadInPlace + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag_out: &mut [u8],
) -> Result<(), Error> {
    // `KeyInit::new` after the length check, not `new_from_slice`: its `Result<C, _>` costs
    // one more move of the expanded key per call.
    if key.len() != C::key_size() {
        return Err(Error::Key("wrong key length"));
    }
    let cipher = C::new(GenericArray::from_slice(key)); // length checked above: cannot panic
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buffer)
        .map_err(|_| Error::Crypto)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

fn open_detached<C: AeadInPlace + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8],
) -> Result<(), Error> {
    if key.len() != C::key_size() {
        return Err(Error::Key("wrong key length"));
    }
    let cipher = C::new(GenericArray::from_slice(key)); // length checked above: cannot panic
    // The RustCrypto implementations compare the tag in constant time and leave the buffer
    // unchanged (still ciphertext) on failure.
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            aad,
            buffer,
            GenericArray::from_slice(tag),
        )
        .map_err(|_| Error::Crypto)
}

impl AeadAlgorithm {
    /// All algorithms, in COSE identifier order.
    pub const ALL: [Self; 12] = [
        Self::A128Gcm,
        Self::A192Gcm,
        Self::A256Gcm,
        Self::AesCcm16_64_128,
        Self::AesCcm16_64_256,
        Self::AesCcm64_64_128,
        Self::AesCcm64_64_256,
        Self::ChaCha20Poly1305,
        Self::AesCcm16_128_128,
        Self::AesCcm16_128_256,
        Self::AesCcm64_128_128,
        Self::AesCcm64_128_256,
    ];

    /// The COSE algorithm identifier.
    pub const fn id(self) -> i64 {
        match self {
            Self::A128Gcm => 1,
            Self::A192Gcm => 2,
            Self::A256Gcm => 3,
            Self::AesCcm16_64_128 => 10,
            Self::AesCcm16_64_256 => 11,
            Self::AesCcm64_64_128 => 12,
            Self::AesCcm64_64_256 => 13,
            Self::ChaCha20Poly1305 => 24,
            Self::AesCcm16_128_128 => 30,
            Self::AesCcm16_128_256 => 31,
            Self::AesCcm64_128_128 => 32,
            Self::AesCcm64_128_256 => 33,
        }
    }

    /// The algorithm with COSE identifier `id`, if it is an AEAD this crate implements.
    pub const fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            1 => Self::A128Gcm,
            2 => Self::A192Gcm,
            3 => Self::A256Gcm,
            10 => Self::AesCcm16_64_128,
            11 => Self::AesCcm16_64_256,
            12 => Self::AesCcm64_64_128,
            13 => Self::AesCcm64_64_256,
            24 => Self::ChaCha20Poly1305,
            30 => Self::AesCcm16_128_128,
            31 => Self::AesCcm16_128_256,
            32 => Self::AesCcm64_128_128,
            33 => Self::AesCcm64_128_256,
            _ => return None,
        })
    }

    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::A128Gcm
            | Self::AesCcm16_64_128
            | Self::AesCcm64_64_128
            | Self::AesCcm16_128_128
            | Self::AesCcm64_128_128 => 16,
            Self::A192Gcm => 24,
            _ => 32,
        }
    }

    /// Nonce (IV) length in bytes: 12 for GCM and ChaCha20/Poly1305, 15 − L/8 for CCM.
    pub const fn nonce_len(self) -> usize {
        match self {
            Self::A128Gcm | Self::A192Gcm | Self::A256Gcm | Self::ChaCha20Poly1305 => 12,
            Self::AesCcm16_64_128
            | Self::AesCcm16_64_256
            | Self::AesCcm16_128_128
            | Self::AesCcm16_128_256 => 13,
            Self::AesCcm64_64_128
            | Self::AesCcm64_64_256
            | Self::AesCcm64_128_128
            | Self::AesCcm64_128_256 => 7,
        }
    }

    /// Authentication tag length in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::AesCcm16_64_128
            | Self::AesCcm16_64_256
            | Self::AesCcm64_64_128
            | Self::AesCcm64_64_256 => 8,
            _ => 16,
        }
    }

    fn check(self, key: &[u8], nonce: &[u8], tag: &[u8]) -> Result<(), Error> {
        if key.len() != self.key_len() {
            return Err(Error::Key("wrong key length"));
        }
        if nonce.len() != self.nonce_len() {
            return Err(Error::Length("nonce"));
        }
        if tag.len() != self.tag_len() {
            return Err(Error::Length("tag"));
        }
        Ok(())
    }

    /// Encrypts `buffer` in place and writes the tag into `tag_out` (exactly
    /// [`tag_len`](Self::tag_len) bytes).
    pub fn seal_in_place_detached(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag_out: &mut [u8],
    ) -> Result<(), Error> {
        self.check(key, nonce, tag_out)?;
        dispatch!(self, seal_detached, key, nonce, aad, buffer, tag_out)
    }

    /// Checks `tag` and decrypts `buffer` in place. On failure the buffer is left as it was and
    /// the error is the opaque [`Error::Crypto`].
    pub fn open_in_place_detached(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        self.check(key, nonce, tag)?;
        dispatch!(self, open_detached, key, nonce, aad, buffer, tag)
    }

    /// Encrypts the first `plaintext_len` bytes of `buffer` in place and appends the tag;
    /// returns the ciphertext length (`plaintext_len + tag_len`).
    pub fn seal_in_place(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, Error> {
        let total = plaintext_len + self.tag_len();
        if buffer.len() < total {
            return Err(Error::BufferTooSmall { required: total });
        }
        let (pt, rest) = buffer.split_at_mut(plaintext_len);
        let tag = rest
            .get_mut(..self.tag_len())
            .ok_or(Error::BufferTooSmall { required: total })?;
        self.seal_in_place_detached(key, nonce, aad, pt, tag)?;
        Ok(total)
    }

    /// Checks and decrypts `buffer` (ciphertext followed by the tag) in place; returns the
    /// plaintext length, the plaintext being `buffer[..len]`.
    pub fn open_in_place(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<usize, Error> {
        let len = buffer
            .len()
            .checked_sub(self.tag_len())
            .ok_or(Error::Crypto)?;
        let (ct, tag) = buffer.split_at_mut(len);
        self.open_in_place_detached(key, nonce, aad, ct, tag)?;
        Ok(len)
    }
}

/// An AEAD key prepared once to seal and open many messages: what a protocol that keeps a
/// key for a while (OSCORE's Sender and Recipient Keys) holds instead of the key bytes.
///
/// For the AES-CCM algorithms the expanded AES key schedule is kept, so each message skips
/// the key expansion that [`AeadAlgorithm::seal_in_place_detached`] does per call (the `aes`
/// crate zeroizes the schedule on drop). For the other algorithms the key bytes are kept,
/// zeroized on drop, and each call works as the [`AeadAlgorithm`] methods do.
///
/// ```
/// use mote_cose::algorithm::{AeadAlgorithm, AeadKey};
///
/// let key = AeadKey::new(AeadAlgorithm::AesCcm16_64_128, &[0x11; 16])?;
/// let nonce = [0x22; 13];
/// let mut buf = [0u8; 5 + 8];
/// buf[..5].copy_from_slice(b"hello");
/// let n = key.seal_in_place(&nonce, b"aad", &mut buf, 5)?;
/// let m = key.open_in_place(&nonce, b"aad", &mut buf[..n])?;
/// assert_eq!(&buf[..m], b"hello");
/// # Ok::<(), mote_cose::Error>(())
/// ```
pub struct AeadKey {
    prepared: Prepared,
}

enum Prepared {
    Ccm16_64_128(Ccm16_64_128),
    Ccm16_64_256(Ccm16_64_256),
    Ccm64_64_128(Ccm64_64_128),
    Ccm64_64_256(Ccm64_64_256),
    Ccm16_128_128(Ccm16_128_128),
    Ccm16_128_256(Ccm16_128_256),
    Ccm64_128_128(Ccm64_128_128),
    Ccm64_128_256(Ccm64_128_256),
    Bytes {
        alg: AeadAlgorithm,
        key: [u8; 32],
        len: usize,
    },
}

impl Drop for AeadKey {
    fn drop(&mut self) {
        // The AES key schedules zeroize themselves (`aes` with `zeroize`).
        if let Prepared::Bytes { key, .. } = &mut self.prepared {
            zeroize::Zeroize::zeroize(key);
        }
    }
}

impl zeroize::ZeroizeOnDrop for AeadKey {}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AeadKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

macro_rules! prepared {
    ($self:expr, $c:ident => $e:expr, $alg:ident, $key:ident => $other:expr) => {
        match &$self.prepared {
            Prepared::Ccm16_64_128($c) => $e,
            Prepared::Ccm16_64_256($c) => $e,
            Prepared::Ccm64_64_128($c) => $e,
            Prepared::Ccm64_64_256($c) => $e,
            Prepared::Ccm16_128_128($c) => $e,
            Prepared::Ccm16_128_256($c) => $e,
            Prepared::Ccm64_128_128($c) => $e,
            Prepared::Ccm64_128_256($c) => $e,
            Prepared::Bytes {
                alg: $alg,
                key: $key,
                len,
            } => {
                let $key = $key.get(..*len).unwrap_or_default();
                $other
            }
        }
    };
}

fn prepare<C: KeyInit>(key: &[u8]) -> C {
    // Only called after `AeadAlgorithm::key_len` was checked against `key`.
    C::new(GenericArray::from_slice(key))
}

impl AeadKey {
    /// Prepares `key` for `alg`; fails if the key length does not fit.
    pub fn new(alg: AeadAlgorithm, key: &[u8]) -> Result<Self, Error> {
        if key.len() != alg.key_len() {
            return Err(Error::Key("wrong key length"));
        }
        let prepared = match alg {
            AeadAlgorithm::AesCcm16_64_128 => Prepared::Ccm16_64_128(prepare(key)),
            AeadAlgorithm::AesCcm16_64_256 => Prepared::Ccm16_64_256(prepare(key)),
            AeadAlgorithm::AesCcm64_64_128 => Prepared::Ccm64_64_128(prepare(key)),
            AeadAlgorithm::AesCcm64_64_256 => Prepared::Ccm64_64_256(prepare(key)),
            AeadAlgorithm::AesCcm16_128_128 => Prepared::Ccm16_128_128(prepare(key)),
            AeadAlgorithm::AesCcm16_128_256 => Prepared::Ccm16_128_256(prepare(key)),
            AeadAlgorithm::AesCcm64_128_128 => Prepared::Ccm64_128_128(prepare(key)),
            AeadAlgorithm::AesCcm64_128_256 => Prepared::Ccm64_128_256(prepare(key)),
            _ => {
                let mut bytes = [0u8; 32];
                bytes
                    .get_mut(..key.len())
                    .ok_or(Error::Key("wrong key length"))?
                    .copy_from_slice(key);
                Prepared::Bytes {
                    alg,
                    key: bytes,
                    len: key.len(),
                }
            }
        };
        Ok(Self { prepared })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> AeadAlgorithm {
        match &self.prepared {
            Prepared::Ccm16_64_128(_) => AeadAlgorithm::AesCcm16_64_128,
            Prepared::Ccm16_64_256(_) => AeadAlgorithm::AesCcm16_64_256,
            Prepared::Ccm64_64_128(_) => AeadAlgorithm::AesCcm64_64_128,
            Prepared::Ccm64_64_256(_) => AeadAlgorithm::AesCcm64_64_256,
            Prepared::Ccm16_128_128(_) => AeadAlgorithm::AesCcm16_128_128,
            Prepared::Ccm16_128_256(_) => AeadAlgorithm::AesCcm16_128_256,
            Prepared::Ccm64_128_128(_) => AeadAlgorithm::AesCcm64_128_128,
            Prepared::Ccm64_128_256(_) => AeadAlgorithm::AesCcm64_128_256,
            Prepared::Bytes { alg, .. } => *alg,
        }
    }

    fn check(&self, nonce: &[u8], tag: &[u8]) -> Result<(), Error> {
        let alg = self.algorithm();
        if nonce.len() != alg.nonce_len() {
            return Err(Error::Length("nonce"));
        }
        if tag.len() != alg.tag_len() {
            return Err(Error::Length("tag"));
        }
        Ok(())
    }

    /// Like [`AeadAlgorithm::seal_in_place_detached`], with this key.
    pub fn seal_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag_out: &mut [u8],
    ) -> Result<(), Error> {
        self.check(nonce, tag_out)?;
        prepared!(self,
            c => seal_with(c, nonce, aad, buffer, tag_out),
            alg, key => alg.seal_in_place_detached(key, nonce, aad, buffer, tag_out))
    }

    /// Like [`AeadAlgorithm::open_in_place_detached`], with this key: on failure the buffer is
    /// left as it was and the error is the opaque [`Error::Crypto`].
    pub fn open_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        self.check(nonce, tag)?;
        prepared!(self,
            c => open_with(c, nonce, aad, buffer, tag),
            alg, key => alg.open_in_place_detached(key, nonce, aad, buffer, tag))
    }

    /// Like [`AeadAlgorithm::seal_in_place`], with this key.
    #[inline]
    pub fn seal_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, Error> {
        // One dispatch on the prepared key; the lengths are the cipher type's constants.
        prepared!(self,
            c => seal_appended(c, nonce, aad, buffer, plaintext_len),
            alg, key => alg.seal_in_place(key, nonce, aad, buffer, plaintext_len))
    }

    /// Like [`AeadAlgorithm::open_in_place`], with this key.
    #[inline]
    pub fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<usize, Error> {
        prepared!(self,
            c => open_appended(c, nonce, aad, buffer),
            alg, key => alg.open_in_place(key, nonce, aad, buffer))
    }
}

/// [`AeadKey::seal_in_place`] for one cipher type: the same checks, in the same order, as
/// [`AeadAlgorithm::seal_in_place`] (buffer, then nonce length), against the type's constants.
#[inline]
fn seal_appended<C: AeadInPlace>(
    cipher: &C,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    plaintext_len: usize,
) -> Result<usize, Error> {
    let tag_len = <C::TagSize as Unsigned>::USIZE;
    let total = plaintext_len.saturating_add(tag_len);
    let (pt, rest) = buffer
        .split_at_mut_checked(plaintext_len)
        .ok_or(Error::BufferTooSmall { required: total })?;
    let tag_out = rest
        .get_mut(..tag_len)
        .ok_or(Error::BufferTooSmall { required: total })?;
    if nonce.len() != <C::NonceSize as Unsigned>::USIZE {
        return Err(Error::Length("nonce"));
    }
    // Nonce length checked above: `from_slice` cannot panic.
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, pt)
        .map_err(|_| Error::Crypto)?;
    tag_out.copy_from_slice(&tag);
    Ok(total)
}

/// [`AeadKey::open_in_place`] for one cipher type (checks as [`AeadAlgorithm::open_in_place`]).
#[inline]
fn open_appended<C: AeadInPlace>(
    cipher: &C,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
) -> Result<usize, Error> {
    let len = buffer
        .len()
        .checked_sub(<C::TagSize as Unsigned>::USIZE)
        .ok_or(Error::Crypto)?;
    if nonce.len() != <C::NonceSize as Unsigned>::USIZE {
        return Err(Error::Length("nonce"));
    }
    let (ct, tag) = buffer.split_at_mut(len);
    // Lengths checked above: `from_slice` cannot panic. The RustCrypto implementations compare
    // the tag in constant time and leave the buffer unchanged on failure.
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            aad,
            ct,
            GenericArray::from_slice(tag),
        )
        .map_err(|_| Error::Crypto)?;
    Ok(len)
}

fn seal_with<C: AeadInPlace>(
    cipher: &C,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag_out: &mut [u8],
) -> Result<(), Error> {
    // Lengths were checked against the algorithm: `from_slice` cannot panic.
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buffer)
        .map_err(|_| Error::Crypto)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

fn open_with<C: AeadInPlace>(
    cipher: &C,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8],
) -> Result<(), Error> {
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            aad,
            buffer,
            GenericArray::from_slice(tag),
        )
        .map_err(|_| Error::Crypto)
}
