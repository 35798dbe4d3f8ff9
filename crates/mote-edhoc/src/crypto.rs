//! The cryptographic provider: every primitive EDHOC needs, with the algorithm as a parameter.
//!
//! Unlike a trait fixed to one curve and hash, each method takes the algorithm chosen by the
//! negotiated [`CipherSuite`](crate::CipherSuite), so a provider serves every suite it
//! implements and reports [`Error::Crypto`] for the others. [`MoteCrypto`](crate::MoteCrypto)
//! implements it on `mote-cose`'s algorithms.

use crate::buffer::{MAX_HASH_LEN, Secret};
use crate::error::Error;
use crate::suite::{AeadAlgorithm, Curve, HashAlgorithm, SignatureAlgorithm};

/// A hash output (at most [`MAX_HASH_LEN`] bytes).
pub type Digest = crate::buffer::Bytes<MAX_HASH_LEN>;

/// A public key as used by EDHOC: the 32-byte x-coordinate (P-256) or u-coordinate /
/// compressed point (X25519, Ed25519), plus for P-256 the y-coordinate when known (needed to
/// verify ES256 signatures unambiguously; without it both candidate points are tried).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey {
    /// x-coordinate (P-256) or the key bytes (X25519/Ed25519).
    pub x: [u8; 32],
    /// y-coordinate (P-256 only, when known).
    pub y: Option<[u8; 32]>,
}

impl PublicKey {
    /// A key from its x/u-coordinate alone.
    ///
    /// ```
    /// use mote_edhoc::PublicKey;
    /// let key = PublicKey::from_x(&[9; 32])?;
    /// assert_eq!((key.x, key.y), ([9; 32], None));
    /// assert!(PublicKey::from_x(&[9; 31]).is_err());
    /// # Ok::<(), mote_edhoc::Error>(())
    /// ```
    pub fn from_x(x: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            x: crate::buffer::array32(x).ok_or(Error::InvalidPublicKey)?,
            y: None,
        })
    }
}

/// The primitives of every EDHOC cipher suite.
///
/// Implementations must be constant-time where the underlying primitive is; failed checks
/// return [`Error::AuthenticationFailed`], bad keys [`Error::InvalidPublicKey`], anything the
/// provider does not implement [`Error::Crypto`].
pub trait Crypto {
    /// Hash of the concatenation of `parts`.
    fn hash(&mut self, alg: HashAlgorithm, parts: &[&[u8]]) -> Result<Digest, Error>;

    /// HKDF-Extract(salt, ikm) (RFC 5869) with the hash `alg`: the EDHOC_Extract of §4.1.1.
    fn hkdf_extract(
        &mut self,
        alg: HashAlgorithm,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<Secret, Error>;

    /// HKDF-Expand(prk, info, out.len()) with the hash `alg`: EDHOC_Expand of §4.1.2.
    fn hkdf_expand(
        &mut self,
        alg: HashAlgorithm,
        prk: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error>;

    /// HKDF-Expand with the hash `alg` where `info` is the concatenation of `info_parts`:
    /// EDHOC_KDF's info holds context_2/3 (ID_CRED, CRED, …), which the key schedule then
    /// need not copy into one buffer. The default concatenates into a
    /// [`MAX_INFO_LEN`](crate::schedule::MAX_INFO_LEN)-byte buffer and calls
    /// [`Crypto::hkdf_expand`].
    fn hkdf_expand_parts(
        &mut self,
        alg: HashAlgorithm,
        prk: &[u8],
        info_parts: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let mut info = crate::schedule::InfoBuf::new();
        for part in info_parts {
            info.extend(part)?;
        }
        self.hkdf_expand(alg, prk, info.as_slice(), out)
    }

    /// Encrypts `buf[..plaintext_len]` in place and appends the tag; returns the ciphertext
    /// length. `buf` must have room for the tag.
    fn aead_encrypt(
        &mut self,
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, Error>;

    /// Verifies and decrypts `buf` (ciphertext with tag) in place; returns the plaintext length.
    fn aead_decrypt(
        &mut self,
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, Error>;

    /// Fills `out` with cryptographically secure random bytes.
    fn random_bytes(&mut self, out: &mut [u8]);

    /// The EDHOC public key (x/u-coordinate) of the ECDH private key `secret`.
    fn ecdh_public_key(&mut self, curve: Curve, secret: &Secret) -> Result<[u8; 32], Error>;

    /// The ECDH shared secret (x/u-coordinate) of `secret` and the peer's EDHOC public key.
    ///
    /// Must reject points not on the curve and the all-zero X25519 output (RFC 9528 §9.2).
    fn ecdh(&mut self, curve: Curve, secret: &Secret, peer_public: &[u8]) -> Result<Secret, Error>;

    /// [`Crypto::ecdh`] with a peer's static DH key from its credential (G_R, G_I in methods
    /// 1–3), which may carry the P-256 y-coordinate. A provider can then check the point on the
    /// curve instead of decompressing it from x (a square root), but must still reject a point
    /// that is not on the curve. The default uses x alone, as [`Crypto::ecdh`].
    fn ecdh_static(
        &mut self,
        curve: Curve,
        secret: &Secret,
        peer: &PublicKey,
    ) -> Result<Secret, Error> {
        self.ecdh(curve, secret, &peer.x)
    }

    /// A fresh ECDH key pair: (private key, EDHOC public key).
    fn generate_ecdh_key(&mut self, curve: Curve) -> Result<(Secret, [u8; 32]), Error> {
        // A random 32-byte string is a valid X25519 key; for P-256 it is valid unless it is 0 or
        // ≥ n, which `ecdh_public_key` rejects (probability < 2^-32 per draw).
        for _ in 0..8 {
            let mut raw = [0u8; 32];
            self.random_bytes(&mut raw);
            let secret = Secret::from_slice(&raw)?;
            zeroize::Zeroize::zeroize(&mut raw);
            if let Ok(public) = self.ecdh_public_key(curve, &secret) {
                return Ok((secret, public));
            }
        }
        Err(Error::Crypto)
    }

    /// Signs `msg` with the private key `secret`; returns the 64-byte signature.
    fn sign(
        &mut self,
        alg: SignatureAlgorithm,
        secret: &Secret,
        msg: &[u8],
    ) -> Result<[u8; 64], Error>;

    /// Signs `msg` with `secret`, whose public key `public` the caller already knows (from its
    /// own credential, [`Identity`](crate::Identity)). A provider may use it to skip
    /// re-deriving the public key (for Ed25519 a base-point multiplication per signature); the
    /// default ignores it and calls [`Crypto::sign`].
    ///
    /// `public` must be the key pair's public key: an Ed25519 signature made with another
    /// public key does not verify, and two such signatures of one message would reveal the
    /// private key (EDHOC never signs one message twice: each Sig_structure holds a fresh
    /// transcript hash).
    fn sign_with_public_key(
        &mut self,
        alg: SignatureAlgorithm,
        secret: &Secret,
        public: &PublicKey,
        msg: &[u8],
    ) -> Result<[u8; 64], Error> {
        let _ = public;
        self.sign(alg, secret, msg)
    }

    /// The public key of a signature private key (Ed25519 seed or P-256 scalar, with y).
    fn signature_public_key(
        &mut self,
        alg: SignatureAlgorithm,
        secret: &Secret,
    ) -> Result<PublicKey, Error>;

    /// Verifies `signature` over `msg` with `public`.
    fn verify(
        &mut self,
        alg: SignatureAlgorithm,
        public: &PublicKey,
        msg: &[u8],
        signature: &[u8],
    ) -> Result<(), Error>;
}
