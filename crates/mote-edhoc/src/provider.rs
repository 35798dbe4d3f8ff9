//! [`Crypto`] on `mote-cose`'s algorithms (AEAD, HKDF, ECDH, signatures) and SHA-256.

use mote_cose::algorithm::{
    self as cose, EcdhCurve, EcdhPublicKey, EcdhSecret, HkdfAlgorithm, SigningKey, VerifyingKey,
};
use rand_core::CryptoRngCore;
use sha2::Digest as _;
use zeroize::Zeroize as _;

use crate::buffer::Secret;
use crate::crypto::{Crypto, Digest, PublicKey};
use crate::error::Error;
use crate::suite::{AeadAlgorithm, Curve, HashAlgorithm, SignatureAlgorithm};

/// The crate's crypto provider: every algorithm of cipher suites 0–6, on `mote-cose`, with the
/// random number generator `R`.
///
/// A provider is cheap to create per handshake. An endpoint that signs with Ed25519 (methods
/// 0–2, suites 0 and 1) can [`prepare`](MoteCrypto::prepare) one provider for its
/// [`Identity`](crate::Identity) at start-up and clone it for every handshake: the prepared
/// provider keeps the identity's public key decoded, so signing does not decompress it again
/// each time. Only public data is kept; the private key stays in the `Identity`.
#[derive(Debug, Clone)]
pub struct MoteCrypto<R> {
    rng: R,
    /// The own Ed25519 public key A, decoded once by [`MoteCrypto::prepare`].
    ed25519_public: Option<ed25519_dalek::VerifyingKey>,
    /// The last P-256 peer point decompressed from its x-coordinate: each side uses the
    /// other's ephemeral key in two ECDH (G_XY and G_IY, or G_XY and G_RX), and one square
    /// root serves both. Public data only.
    p256_peer: Option<([u8; 32], EcdhPublicKey)>,
}

impl<R: CryptoRngCore> MoteCrypto<R> {
    /// A provider drawing randomness from `rng`.
    ///
    /// ```
    /// use mote_edhoc::{Crypto, Curve, MoteCrypto};
    /// // Without std: your hardware random source, as any `rand_core::CryptoRngCore`.
    /// let mut crypto = MoteCrypto::with_rng(rand_core::OsRng);
    /// let (_private, public) = crypto.generate_ecdh_key(Curve::X25519)?;
    /// assert_ne!(public, [0; 32]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_rng(rng: R) -> Self {
        Self {
            rng,
            ed25519_public: None,
            p256_peer: None,
        }
    }

    /// This provider prepared for `identity`: with an Ed25519 credential, its public key is
    /// decoded now rather than at every signature. Signing with another key still works (it is
    /// then decoded as usual). Fails with [`Error::InvalidCredential`] when the credential's
    /// Ed25519 key is not a valid point.
    ///
    /// ```
    /// use mote_edhoc::*;
    /// // An Ed25519 identity (methods 0-2 with suite 0 or 1); sign with the prepared provider.
    /// let suite = CipherSuite::from_id(0).ok_or("suite 0")?;
    /// let mut crypto = MoteCrypto::new();
    /// let key = Secret::from_slice(&[0x11; 32])?;
    /// let cred = Credential::ccs_for_private_key(&mut crypto, &suite, false, "server", b"S", &key)?;
    /// let identity = Identity::by_reference(cred.clone(), key.as_bytes())?;
    /// let mut prepared = MoteCrypto::new().prepare(&identity)?;
    /// let sig = prepared.sign_with_public_key(SignatureAlgorithm::EdDsa, &key, cred.public_key(), b"hello")?;
    /// prepared.verify(SignatureAlgorithm::EdDsa, cred.public_key(), b"hello", &sig)?;
    /// assert!(prepared.verify(SignatureAlgorithm::EdDsa, cred.public_key(), b"hellO", &sig).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare(mut self, identity: &crate::Identity) -> Result<Self, Error> {
        let cred = &identity.credential;
        if cred.key_type() == crate::KeyType::Ed25519 {
            self.ed25519_public = Some(
                ed25519_dalek::VerifyingKey::from_bytes(&cred.public_key().x)
                    .map_err(|_| Error::InvalidCredential(diag!("Ed25519 key is not a point")))?,
            );
        }
        Ok(self)
    }
}

#[cfg(feature = "std")]
impl MoteCrypto<rand_core::OsRng> {
    /// A provider drawing randomness from the operating system.
    ///
    /// ```
    /// use mote_edhoc::{Crypto, Curve, MoteCrypto};
    /// let mut crypto = MoteCrypto::new(); // the operating system's random number generator
    /// let (a, _) = crypto.generate_ecdh_key(Curve::P256)?;
    /// let (b, _) = crypto.generate_ecdh_key(Curve::P256)?;
    /// assert_ne!(a, b);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        Self::with_rng(rand_core::OsRng)
    }
}

#[cfg(feature = "std")]
impl Default for MoteCrypto<rand_core::OsRng> {
    fn default() -> Self {
        Self::new()
    }
}

fn aead(alg: AeadAlgorithm) -> cose::AeadAlgorithm {
    match alg {
        AeadAlgorithm::AesCcm16_64_128 => cose::AeadAlgorithm::AesCcm16_64_128,
        AeadAlgorithm::AesCcm16_128_128 => cose::AeadAlgorithm::AesCcm16_128_128,
        AeadAlgorithm::A128Gcm => cose::AeadAlgorithm::A128Gcm,
        AeadAlgorithm::ChaCha20Poly1305 => cose::AeadAlgorithm::ChaCha20Poly1305,
    }
}

fn hkdf(alg: HashAlgorithm) -> HkdfAlgorithm {
    match alg {
        HashAlgorithm::Sha256 => HkdfAlgorithm::Sha256,
    }
}

fn curve(c: Curve) -> EcdhCurve {
    match c {
        Curve::X25519 => EcdhCurve::X25519,
        Curve::P256 => EcdhCurve::P256,
    }
}

fn sig_alg(a: SignatureAlgorithm) -> cose::SignatureAlgorithm {
    match a {
        SignatureAlgorithm::EdDsa => cose::SignatureAlgorithm::EdDsa,
        SignatureAlgorithm::Es256 => cose::SignatureAlgorithm::Es256,
    }
}

/// The peer's EDHOC public key as a point: X25519 u-coordinate, or the P-256 x-coordinate with
/// an arbitrary y parity (the shared secret's x-coordinate is the same for both, RFC 9528 §3.7).
fn peer_point(c: Curve, x: &[u8]) -> Result<EcdhPublicKey, Error> {
    match c {
        Curve::X25519 => EcdhPublicKey::x25519(x),
        Curve::P256 => EcdhPublicKey::p256_compressed(x, false),
    }
    .map_err(|_| Error::InvalidPublicKey)
}

/// ECDH of `secret` with a validated peer point.
fn shared_secret(c: Curve, secret: &Secret, peer: &EcdhPublicKey) -> Result<Secret, Error> {
    let s = EcdhSecret::from_bytes(curve(c), secret.as_bytes()).map_err(|_| Error::Crypto)?;
    // RFC 9528 §9.2: a low-order X25519 point gives the all-zero output, rejected here.
    let shared = s
        .diffie_hellman(peer)
        .map_err(|_| Error::InvalidPublicKey)?;
    Secret::from_slice(shared.as_bytes())
}

impl<R: CryptoRngCore> Crypto for MoteCrypto<R> {
    fn hash(&mut self, alg: HashAlgorithm, parts: &[&[u8]]) -> Result<Digest, Error> {
        match alg {
            HashAlgorithm::Sha256 => {
                let mut h = sha2::Sha256::new();
                for p in parts {
                    h.update(p);
                }
                Digest::from_slice(&h.finalize())
            }
        }
    }

    fn hkdf_extract(
        &mut self,
        alg: HashAlgorithm,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<Secret, Error> {
        let h = hkdf(alg);
        let mut prk = [0u8; 32];
        let out = prk.get_mut(..h.hash_len()).ok_or(Error::Crypto)?;
        h.extract(salt, ikm, out).map_err(|_| Error::Crypto)?;
        let s = Secret::from_slice(out);
        zeroize::Zeroize::zeroize(&mut prk);
        s
    }

    fn hkdf_expand(
        &mut self,
        alg: HashAlgorithm,
        prk: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        hkdf(alg).expand(prk, info, out).map_err(|_| Error::Crypto)
    }

    fn hkdf_expand_parts(
        &mut self,
        alg: HashAlgorithm,
        prk: &[u8],
        info_parts: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), Error> {
        hkdf(alg)
            .expand_parts(prk, info_parts, out)
            .map_err(|_| Error::Crypto)
    }

    fn aead_encrypt(
        &mut self,
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        plaintext_len: usize,
    ) -> Result<usize, Error> {
        aead(alg)
            .seal_in_place(key, nonce, aad, buf, plaintext_len)
            .map_err(|_| Error::Crypto)
    }

    fn aead_decrypt(
        &mut self,
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        aead(alg)
            .open_in_place(key, nonce, aad, buf)
            .map_err(|_| Error::AuthenticationFailed)
    }

    fn random_bytes(&mut self, out: &mut [u8]) {
        self.rng.fill_bytes(out);
    }

    fn ecdh_public_key(&mut self, c: Curve, secret: &Secret) -> Result<[u8; 32], Error> {
        let s = EcdhSecret::from_bytes(curve(c), secret.as_bytes()).map_err(|_| Error::Crypto)?;
        Ok(s.public_key().x())
    }

    fn ecdh(&mut self, c: Curve, secret: &Secret, peer_public: &[u8]) -> Result<Secret, Error> {
        match (&self.p256_peer, c) {
            (Some((x, p)), Curve::P256) if x.as_slice() == peer_public => {
                let p = p.clone();
                shared_secret(c, secret, &p)
            }
            (_, Curve::P256) => {
                let p = peer_point(c, peer_public)?;
                let x = crate::buffer::array32(peer_public).ok_or(Error::InvalidPublicKey)?;
                let out = shared_secret(c, secret, &p);
                self.p256_peer = Some((x, p));
                out
            }
            (_, Curve::X25519) => shared_secret(c, secret, &peer_point(c, peer_public)?),
        }
    }

    fn ecdh_static(
        &mut self,
        c: Curve,
        secret: &Secret,
        peer: &PublicKey,
    ) -> Result<Secret, Error> {
        match (c, &peer.y) {
            // The credential's (x, y), checked on the curve: no square root (RFC 9053 §7.1.1).
            (Curve::P256, Some(y)) => {
                let p = EcdhPublicKey::p256(&peer.x, y).map_err(|_| Error::InvalidPublicKey)?;
                shared_secret(c, secret, &p)
            }
            _ => self.ecdh(c, secret, &peer.x),
        }
    }

    fn sign(
        &mut self,
        alg: SignatureAlgorithm,
        secret: &Secret,
        msg: &[u8],
    ) -> Result<[u8; 64], Error> {
        let k =
            SigningKey::from_bytes(sig_alg(alg), secret.as_bytes()).map_err(|_| Error::Crypto)?;
        let mut sig = [0u8; 64];
        k.sign(msg, &mut sig).map_err(|_| Error::Crypto)?;
        Ok(sig)
    }

    fn sign_with_public_key(
        &mut self,
        alg: SignatureAlgorithm,
        secret: &Secret,
        public: &PublicKey,
        msg: &[u8],
    ) -> Result<[u8; 64], Error> {
        match alg {
            // RFC 8032 §5.1.6 with the public key A taken from the credential instead of
            // recomputed as s·B: `SigningKey::from_bytes` would spend a base-point
            // multiplication per signature on it (docs/performance.md, mote-edhoc).
            SignatureAlgorithm::EdDsa => {
                let mut seed: [u8; 32] = secret.as_bytes().try_into().map_err(|_| Error::Crypto)?;
                let esk = ed25519_dalek::hazmat::ExpandedSecretKey::from(&seed);
                seed.zeroize();
                let sig = match &self.ed25519_public {
                    Some(vk) if vk.as_bytes() == &public.x => {
                        ed25519_dalek::hazmat::raw_sign::<sha2::Sha512>(&esk, msg, vk)
                    }
                    _ => {
                        let vk = ed25519_dalek::VerifyingKey::from_bytes(&public.x)
                            .map_err(|_| Error::Crypto)?;
                        ed25519_dalek::hazmat::raw_sign::<sha2::Sha512>(&esk, msg, &vk)
                    }
                };
                Ok(sig.to_bytes())
            }
            SignatureAlgorithm::Es256 => self.sign(alg, secret, msg),
        }
    }

    fn signature_public_key(
        &mut self,
        alg: SignatureAlgorithm,
        secret: &Secret,
    ) -> Result<PublicKey, Error> {
        let k =
            SigningKey::from_bytes(sig_alg(alg), secret.as_bytes()).map_err(|_| Error::Crypto)?;
        let coords = k.verifying_key().coordinates();
        let mut pk = PublicKey::from_x(coords.x()).map_err(|_| Error::Crypto)?;
        if let Some(y) = coords.y() {
            pk.y = Some(y.try_into().map_err(|_| Error::Crypto)?);
        }
        Ok(pk)
    }

    fn verify(
        &mut self,
        alg: SignatureAlgorithm,
        public: &PublicKey,
        msg: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        match alg {
            SignatureAlgorithm::EdDsa => {
                let k = VerifyingKey::ed25519(&public.x).map_err(|_| Error::InvalidPublicKey)?;
                k.verify(msg, signature)
                    .map_err(|_| Error::AuthenticationFailed)
            }
            SignatureAlgorithm::Es256 => {
                let mut sec1 = [0u8; 65];
                let try_point = |sec1: &[u8]| -> bool {
                    VerifyingKey::ecdsa_sec1(cose::SignatureAlgorithm::Es256, sec1)
                        .is_ok_and(|k| k.verify(msg, signature).is_ok())
                };
                if let Some(y) = public.y {
                    sec1[0] = 4;
                    sec1[1..33].copy_from_slice(&public.x);
                    sec1[33..].copy_from_slice(&y);
                    return if try_point(&sec1) {
                        Ok(())
                    } else {
                        Err(Error::AuthenticationFailed)
                    };
                }
                // Only x known (compact representation): either y parity may be the key.
                sec1[1..33].copy_from_slice(&public.x);
                for prefix in [2u8, 3] {
                    sec1[0] = prefix;
                    if try_point(&sec1[..33]) {
                        return Ok(());
                    }
                }
                Err(Error::AuthenticationFailed)
            }
        }
    }
}
