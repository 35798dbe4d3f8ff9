//! Content-encryption algorithms (RFC 9053 §4): AES-GCM, AES-CCM, ChaCha20/Poly1305.
//!
//! AES-CCM is always built; AES-GCM needs the feature `aes-gcm` and ChaCha20/Poly1305 the
//! feature `chacha20` (both on with `std`), see [`AeadAlgorithm::is_available`].
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
#[cfg(feature = "aes-gcm")]
use aes::Aes192Enc as Aes192;
#[cfg(feature = "aes-ccm-64")]
use aes::cipher::consts::U7;
use aes::cipher::consts::{U1, U8, U13, U16};
use aes::cipher::generic_array::{ArrayLength, GenericArray};
use aes::cipher::inout::InOut;
use aes::cipher::{
    Block, BlockBackend, BlockCipher, BlockClosure, BlockEncrypt, BlockSizeUser, KeyInit,
    ParBlocksSizeUser,
};
use aes::{Aes128Enc as Aes128, Aes256Enc as Aes256};
#[cfg(feature = "aes-gcm")]
use aes_gcm::AesGcm;
#[cfg(feature = "aes-gcm")]
use aes_gcm::aead::consts::U12;
use ccm::Ccm;
use ccm::aead::AeadInPlace;
#[cfg(feature = "chacha20")]
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

#[cfg(feature = "aes-gcm")]
type Gcm128 = AesGcm<Aes128, U12>;
#[cfg(feature = "aes-gcm")]
type Gcm192 = AesGcm<Aes192, U12>;
#[cfg(feature = "aes-gcm")]
type Gcm256 = AesGcm<Aes256, U12>;

/// The AES block cipher under a CCM key, either size: one type, so that the CCM code
/// ([`ccm`]) is not built once per key size.
// Inline, not boxed: no allocation, and one AES-256 schedule is what the type is for.
#[allow(clippy::large_enum_variant)]
enum AesBlock {
    Aes128(Aes128),
    Aes256(Aes256),
}

impl AesBlock {
    /// The key schedule for a 16- or 32-byte key.
    fn new(key: &[u8]) -> Result<Self, Error> {
        // `KeyInit::new` after the length check, not `new_from_slice`: its `Result<C, _>`
        // costs one more move of the expanded key per call.
        match key.len() {
            16 => Ok(Self::Aes128(Aes128::new(GenericArray::from_slice(key)))),
            32 => Ok(Self::Aes256(Aes256::new(GenericArray::from_slice(key)))),
            _ => Err(Error::Key("wrong key length")),
        }
    }
}

/// A borrowed [`AesBlock`] as the block cipher of RustCrypto's `Ccm`: one cipher type for
/// both key sizes, so that `Ccm` is built once per (tag, nonce) length pair, four times, not
/// once per algorithm, eight times; the key schedule is not copied.
#[derive(Clone, Copy)]
struct AesRef<'a>(&'a AesBlock);

impl BlockSizeUser for AesRef<'_> {
    type BlockSize = U16;
}

impl BlockCipher for AesRef<'_> {}

impl BlockEncrypt for AesRef<'_> {
    // Where the aes crate has hardware backends (AES-NI, the ARMv8 crypto extensions), the
    // key size's own backend, which runs `ccm`'s CTR blocks in parallel.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
    fn encrypt_with_backend(&self, f: impl BlockClosure<BlockSize = U16>) {
        match self.0 {
            AesBlock::Aes128(c) => c.encrypt_with_backend(f),
            AesBlock::Aes256(c) => c.encrypt_with_backend(f),
        }
    }

    // Elsewhere (software AES on a microcontroller) one backend for both key sizes, one block
    // at a time: `ccm`'s CBC-MAC and CTR code is built once, not once per AES backend.
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    fn encrypt_with_backend(&self, f: impl BlockClosure<BlockSize = U16>) {
        f.call(&mut AesBackend(self.0));
    }
}

/// The block-at-a-time backend of [`AesRef`] (used where there is no hardware AES backend;
/// built everywhere so that host tests exercise it).
#[cfg_attr(
    any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"),
    allow(dead_code)
)]
struct AesBackend<'a>(&'a AesBlock);

impl BlockSizeUser for AesBackend<'_> {
    type BlockSize = U16;
}

impl ParBlocksSizeUser for AesBackend<'_> {
    type ParBlocksSize = U1;
}

impl BlockBackend for AesBackend<'_> {
    fn proc_block(&mut self, block: InOut<'_, '_, Block<Self>>) {
        match self.0 {
            AesBlock::Aes128(c) => c.encrypt_block_inout(block),
            AesBlock::Aes256(c) => c.encrypt_block_inout(block),
        }
    }
}

/// AES-CCM (RFC 9053 §4.2) with RustCrypto's `ccm` for one (tag, nonce) length pair: seals
/// `buffer` in place and writes the tag into `tag`, or (`open`) checks `tag` and decrypts in
/// place. The lengths were checked against the algorithm by the caller. On a failed check
/// the error is the opaque [`Error::Crypto`] (`ccm` compares in constant time and wipes the
/// buffer: no unverified plaintext is left).
fn ccm_with<M, N>(
    aes: &AesBlock,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &mut [u8],
    open: bool,
) -> Result<(), Error>
where
    M: ArrayLength<u8> + ccm::TagSize,
    N: ArrayLength<u8> + ccm::NonceSize,
{
    let cipher = Ccm::<AesRef<'_>, M, N>::from(AesRef(aes));
    // Lengths checked by the caller: `from_slice` cannot panic.
    let nonce = GenericArray::from_slice(nonce);
    if open {
        cipher
            .decrypt_in_place_detached(nonce, aad, buffer, GenericArray::from_slice(tag))
            .map_err(|_| Error::Crypto)
    } else {
        let t = cipher
            .encrypt_in_place_detached(nonce, aad, buffer)
            .map_err(|_| Error::Crypto)?;
        tag.copy_from_slice(&t);
        Ok(())
    }
}

/// The eight AES-CCM algorithms: one dispatch on the tag and nonce lengths (the key size is
/// the [`AesBlock`]'s).
fn ccm(
    aes: &AesBlock,
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &mut [u8],
    open: bool,
) -> Result<(), Error> {
    match (tag.len(), nonce.len()) {
        (8, 13) => ccm_with::<U8, U13>(aes, nonce, aad, buffer, tag, open),
        #[cfg(feature = "aes-ccm-64")]
        (8, 7) => ccm_with::<U8, U7>(aes, nonce, aad, buffer, tag, open),
        (16, 13) => ccm_with::<U16, U13>(aes, nonce, aad, buffer, tag, open),
        #[cfg(feature = "aes-ccm-64")]
        (16, 7) => ccm_with::<U16, U7>(aes, nonce, aad, buffer, tag, open),
        _ => Err(Error::Length("nonce or tag")),
    }
}

/// GCM and ChaCha20/Poly1305 through their RustCrypto types (features `aes-gcm`, `chacha20`).
#[cfg(any(feature = "aes-gcm", feature = "chacha20"))]
fn rustcrypto_aead<C: AeadInPlace + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &mut [u8],
    open: bool,
) -> Result<(), Error> {
    if key.len() != C::key_size() {
        return Err(Error::Key("wrong key length"));
    }
    let cipher = C::new(GenericArray::from_slice(key)); // length checked above: cannot panic
    if open {
        // The RustCrypto implementations compare the tag in constant time; GCM and
        // ChaCha20/Poly1305 check before they decrypt and leave the ciphertext on failure.
        cipher
            .decrypt_in_place_detached(
                GenericArray::from_slice(nonce),
                aad,
                buffer,
                GenericArray::from_slice(tag),
            )
            .map_err(|_| Error::Crypto)
    } else {
        let t = cipher
            .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buffer)
            .map_err(|_| Error::Crypto)?;
        tag.copy_from_slice(&t);
        Ok(())
    }
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

    /// Whether this build implements the algorithm: AES-CCM-16-* (13-byte nonce) always,
    /// AES-CCM-64-* (7-byte nonce) with the feature `aes-ccm-64`, AES-GCM with `aes-gcm`,
    /// ChaCha20/Poly1305 with `chacha20` (all three on with `std`). Sealing and opening with an
    /// algorithm that is not available fail with [`Error::Algorithm`].
    ///
    /// ```
    /// use mote_cose::algorithm::AeadAlgorithm;
    ///
    /// assert!(AeadAlgorithm::AesCcm16_64_128.is_available()); // always built
    /// // The first of the algorithms a peer offers that this build has:
    /// let offered = [AeadAlgorithm::A128Gcm, AeadAlgorithm::AesCcm16_64_128];
    /// let chosen = offered.into_iter().find(|a| a.is_available());
    /// assert!(chosen.is_some());
    /// ```
    // One arm per feature: in a build without both, clippy would see a `matches!`.
    #[allow(clippy::match_like_matches_macro)]
    pub const fn is_available(self) -> bool {
        match self {
            Self::A128Gcm | Self::A192Gcm | Self::A256Gcm => cfg!(feature = "aes-gcm"),
            Self::ChaCha20Poly1305 => cfg!(feature = "chacha20"),
            Self::AesCcm64_64_128
            | Self::AesCcm64_64_256
            | Self::AesCcm64_128_128
            | Self::AesCcm64_128_256 => cfg!(feature = "aes-ccm-64"),
            _ => true,
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

    /// Seals (or, `open`, checks and opens) `buffer` in place with the tag in `tag`: the one
    /// dispatch on the algorithm. The lengths were checked ([`check`](Self::check)).
    fn run(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &mut [u8],
        open: bool,
    ) -> Result<(), Error> {
        match self {
            #[cfg(feature = "aes-gcm")]
            Self::A128Gcm => rustcrypto_aead::<Gcm128>(key, nonce, aad, buffer, tag, open),
            #[cfg(feature = "aes-gcm")]
            Self::A192Gcm => rustcrypto_aead::<Gcm192>(key, nonce, aad, buffer, tag, open),
            #[cfg(feature = "aes-gcm")]
            Self::A256Gcm => rustcrypto_aead::<Gcm256>(key, nonce, aad, buffer, tag, open),
            #[cfg(feature = "chacha20")]
            Self::ChaCha20Poly1305 => {
                rustcrypto_aead::<ChaCha20Poly1305>(key, nonce, aad, buffer, tag, open)
            }
            // Left out of this build: their code is not linked.
            #[cfg(not(feature = "aes-gcm"))]
            Self::A128Gcm | Self::A192Gcm | Self::A256Gcm => Err(Error::Algorithm(self.id())),
            #[cfg(not(feature = "chacha20"))]
            Self::ChaCha20Poly1305 => Err(Error::Algorithm(self.id())),
            #[cfg(not(feature = "aes-ccm-64"))]
            Self::AesCcm64_64_128
            | Self::AesCcm64_64_256
            | Self::AesCcm64_128_128
            | Self::AesCcm64_128_256 => Err(Error::Algorithm(self.id())),
            // The eight AES-CCM algorithms: one body, the lengths given at run time.
            _ => ccm(&AesBlock::new(key)?, nonce, aad, buffer, tag, open),
        }
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
        self.run(key, nonce, aad, buffer, tag_out, false)
    }

    /// Checks `tag` and decrypts `buffer` in place. On failure the error is the opaque
    /// [`Error::Crypto`] and no plaintext is left: AES-GCM and ChaCha20/Poly1305 check before
    /// they decrypt and leave the ciphertext; AES-CCM, which can only check the plaintext,
    /// wipes the buffer.
    pub fn open_in_place_detached(
        self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        self.check(key, nonce, tag)?;
        let mut copy = [0u8; 16];
        let copy = copy.get_mut(..tag.len()).ok_or(Error::Length("tag"))?;
        copy.copy_from_slice(tag);
        self.run(key, nonce, aad, buffer, copy, true)
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
        let (pt, tag, total) = split_for_tag(buffer, plaintext_len, self.tag_len())?;
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
        self.check(key, nonce, tag)?;
        self.run(key, nonce, aad, ct, tag, true)?;
        Ok(len)
    }
}

/// `buffer` as the plaintext (its first `plaintext_len` bytes) and the room for the tag after
/// it, and the ciphertext length; [`Error::BufferTooSmall`] when the tag does not fit.
fn split_for_tag(
    buffer: &mut [u8],
    plaintext_len: usize,
    tag_len: usize,
) -> Result<(&mut [u8], &mut [u8], usize), Error> {
    let total = plaintext_len.saturating_add(tag_len);
    let (pt, rest) = buffer
        .split_at_mut_checked(plaintext_len)
        .ok_or(Error::BufferTooSmall { required: total })?;
    let tag = rest
        .get_mut(..tag_len)
        .ok_or(Error::BufferTooSmall { required: total })?;
    Ok((pt, tag, total))
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

// The key schedule inline, not boxed: an `AeadKey` allocates nothing.
#[allow(clippy::large_enum_variant)]
enum Prepared {
    /// An AES-CCM algorithm: its AES key schedule.
    Ccm { alg: AeadAlgorithm, aes: AesBlock },
    /// Any other algorithm: the key bytes.
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

impl AeadKey {
    /// Prepares `key` for `alg`; fails if the key length does not fit, or with
    /// [`Error::Algorithm`] if this build leaves the algorithm out
    /// ([`AeadAlgorithm::is_available`]).
    pub fn new(alg: AeadAlgorithm, key: &[u8]) -> Result<Self, Error> {
        if !alg.is_available() {
            return Err(Error::Algorithm(alg.id()));
        }
        if key.len() != alg.key_len() {
            return Err(Error::Key("wrong key length"));
        }
        let prepared = match alg {
            AeadAlgorithm::A128Gcm
            | AeadAlgorithm::A192Gcm
            | AeadAlgorithm::A256Gcm
            | AeadAlgorithm::ChaCha20Poly1305 => {
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
            _ => Prepared::Ccm {
                alg,
                aes: AesBlock::new(key)?,
            },
        };
        Ok(Self { prepared })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> AeadAlgorithm {
        match &self.prepared {
            Prepared::Ccm { alg, .. } | Prepared::Bytes { alg, .. } => *alg,
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

    /// Seals or opens with the lengths checked: the one dispatch on the prepared key.
    fn run(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &mut [u8],
        open: bool,
    ) -> Result<(), Error> {
        self.check(nonce, tag)?;
        match &self.prepared {
            Prepared::Ccm { aes, .. } => ccm(aes, nonce, aad, buffer, tag, open),
            Prepared::Bytes { alg, key, len } => {
                let key = key.get(..*len).unwrap_or_default();
                alg.run(key, nonce, aad, buffer, tag, open)
            }
        }
    }

    /// Like [`AeadAlgorithm::seal_in_place_detached`], with this key.
    pub fn seal_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag_out: &mut [u8],
    ) -> Result<(), Error> {
        self.run(nonce, aad, buffer, tag_out, false)
    }

    /// Like [`AeadAlgorithm::open_in_place_detached`], with this key: on failure the error is
    /// the opaque [`Error::Crypto`] and no plaintext is left in the buffer.
    pub fn open_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        let mut copy = [0u8; 16];
        let copy = copy.get_mut(..tag.len()).ok_or(Error::Length("tag"))?;
        copy.copy_from_slice(tag);
        self.run(nonce, aad, buffer, copy, true)
    }

    /// Like [`AeadAlgorithm::seal_in_place`], with this key.
    pub fn seal_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, Error> {
        let (pt, tag, total) = split_for_tag(buffer, plaintext_len, self.algorithm().tag_len())?;
        self.run(nonce, aad, pt, tag, false)?;
        Ok(total)
    }

    /// Like [`AeadAlgorithm::open_in_place`], with this key.
    pub fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<usize, Error> {
        let len = buffer
            .len()
            .checked_sub(self.algorithm().tag_len())
            .ok_or(Error::Crypto)?;
        let (ct, tag) = buffer.split_at_mut(len);
        self.run(nonce, aad, ct, tag, true)?;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The block-at-a-time backend (the one a microcontroller build runs `ccm` over) encrypts
    // each block as the key size's own cipher does: FIPS 197 Appendix C.1 / C.3.
    #[test]
    fn the_single_block_backend_is_aes() {
        let plain: [u8; 16] = *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff";
        let cases: [(&[u8], [u8; 16]); 2] = [
            (
                &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
                [
                    0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70,
                    0xb4, 0xc5, 0x5a,
                ],
            ),
            (
                &[
                    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                    22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                ],
                [
                    0x8e, 0xa2, 0xb7, 0xca, 0x51, 0x67, 0x45, 0xbf, 0xea, 0xfc, 0x49, 0x90, 0x4b,
                    0x49, 0x60, 0x89,
                ],
            ),
        ];
        for (key, expected) in cases {
            let Ok(aes) = AesBlock::new(key) else {
                panic!("key length")
            };
            let mut block = GenericArray::clone_from_slice(&plain);
            AesBackend(&aes).proc_block(InOut::from(&mut block));
            assert_eq!(block.as_slice(), &expected, "key of {} bytes", key.len());
        }
    }
}
