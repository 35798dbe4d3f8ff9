//! A minimal EDHOC Initiator for size measurement: method 3, cipher suite 2 (P-256,
//! AES-CCM-16-64-128, SHA-256), credentials by 'kid', OSCORE hand-off (Appendix A.1). The crypto
//! provider implements only suite 2's algorithms (P-256 on `p256`, HKDF on `hkdf` + `sha2`,
//! AES-CCM-16-64-128 on RustCrypto `ccm` over `aes`). The trait is parameterized by algorithm,
//! so a device links just what its suites need.
#![no_std]
#![no_main]
// `#[unsafe(no_mangle)]` on the entry point is the only unsafe-lint item of this probe.

use core::panic::PanicInfo;

use ccm::aead::{AeadInPlace, KeyInit, generic_array::GenericArray};
#[cfg(feature = "cose-ecdh")]
use mote_cose::algorithm::{EcdhCurve, EcdhPublicKey, EcdhSecret};
use mote_edhoc::{
    AeadAlgorithm, Crypto, Curve, Error, HashAlgorithm, PublicKey, Secret, SignatureAlgorithm,
    crypto::Digest,
};
#[cfg(not(feature = "crypto-only"))]
use mote_edhoc::{ConnId, Credential, Ead, Identity, Initiator, InitiatorConfig, Method};
use sha2::Digest as _;

/// AES-CCM-16-64-128 (COSE algorithm 10): 8-byte tag, 13-byte nonce (RFC 9053 §4.2).
type AesCcm16_64_128 = ccm::Ccm<aes::Aes128, ccm::consts::U8, ccm::consts::U13>;
const TAG_LEN: usize = 8;

/// Suite 2 only: P-256 ECDH, AES-CCM-16-64-128, SHA-256; no signatures (method 3).
struct Suite2<R>(R);

impl<R: rand_core::RngCore> Crypto for Suite2<R> {
    fn hash(&mut self, _: HashAlgorithm, parts: &[&[u8]]) -> Result<Digest, Error> {
        let mut h = sha2::Sha256::new();
        for p in parts {
            h.update(p);
        }
        Digest::from_slice(&h.finalize())
    }
    // HKDF with `SimpleHkdf` (HMAC over the `Digest` API) instead of mote-cose's `Hkdf`, whose
    // block-level HMAC core adds code a single-suite device need not carry.
    fn hkdf_extract(&mut self, _: HashAlgorithm, salt: &[u8], ikm: &[u8]) -> Result<Secret, Error> {
        let (prk, _) = hkdf::SimpleHkdf::<sha2::Sha256>::extract(Some(salt), ikm);
        Secret::from_slice(&prk)
    }
    fn hkdf_expand(
        &mut self,
        alg: HashAlgorithm,
        prk: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        self.hkdf_expand_parts(alg, prk, &[info], out)
    }
    fn hkdf_expand_parts(
        &mut self,
        _: HashAlgorithm,
        prk: &[u8],
        info_parts: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), Error> {
        hkdf::SimpleHkdf::<sha2::Sha256>::from_prk(prk)
            .map_err(|_| Error::Crypto)?
            .expand_multi_info(info_parts, out)
            .map_err(|_| Error::Crypto)
    }
    fn aead_encrypt(
        &mut self,
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        n: usize,
    ) -> Result<usize, Error> {
        if alg != AeadAlgorithm::AesCcm16_64_128 || nonce.len() != 13 {
            return Err(Error::Crypto);
        }
        let aead = AesCcm16_64_128::new_from_slice(key).map_err(|_| Error::Crypto)?;
        let (msg, rest) = buf.split_at_mut_checked(n).ok_or(Error::Crypto)?;
        let tag = rest.get_mut(..TAG_LEN).ok_or(Error::Crypto)?;
        let t = aead
            .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, msg)
            .map_err(|_| Error::Crypto)?;
        tag.copy_from_slice(&t);
        Ok(n + TAG_LEN)
    }
    fn aead_decrypt(
        &mut self,
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        if alg != AeadAlgorithm::AesCcm16_64_128 || nonce.len() != 13 {
            return Err(Error::Crypto);
        }
        let aead = AesCcm16_64_128::new_from_slice(key).map_err(|_| Error::Crypto)?;
        let n = buf
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::AuthenticationFailed)?;
        let (msg, tag) = buf.split_at_mut(n);
        aead.decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            aad,
            msg,
            GenericArray::from_slice(tag),
        )
        .map_err(|_| Error::AuthenticationFailed)?;
        Ok(n)
    }
    fn random_bytes(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }
    #[cfg(feature = "cose-ecdh")]
    fn ecdh_public_key(&mut self, _: Curve, secret: &Secret) -> Result<[u8; 32], Error> {
        Ok(EcdhSecret::from_bytes(EcdhCurve::P256, secret.as_bytes())
            .map_err(|_| Error::Crypto)?
            .public_key()
            .x())
    }
    #[cfg(feature = "cose-ecdh")]
    fn ecdh(&mut self, _: Curve, secret: &Secret, peer: &[u8]) -> Result<Secret, Error> {
        let s = EcdhSecret::from_bytes(EcdhCurve::P256, secret.as_bytes())
            .map_err(|_| Error::Crypto)?;
        let p = EcdhPublicKey::p256_compressed(peer, false).map_err(|_| Error::InvalidPublicKey)?;
        Secret::from_slice(
            s.diffie_hellman(&p)
                .map_err(|_| Error::InvalidPublicKey)?
                .as_bytes(),
        )
    }
    // P-256 straight from the curve arithmetic: x(d·G) and x(d·Q) with Q decompressed from the
    // peer's x (RFC 9528 §3.7: either y gives the same x of the shared point), without the SEC1
    // encode/decode round trips of `PublicKey::to_encoded_point` / `from_sec1_bytes`.
    #[cfg(not(feature = "cose-ecdh"))]
    fn ecdh_public_key(&mut self, _: Curve, secret: &Secret) -> Result<[u8; 32], Error> {
        p256_x(secret, p256::ProjectivePoint::GENERATOR)
    }
    #[cfg(not(feature = "cose-ecdh"))]
    fn ecdh(&mut self, _: Curve, secret: &Secret, peer: &[u8]) -> Result<Secret, Error> {
        use p256::elliptic_curve::point::DecompressPoint;
        let x = p256::FieldBytes::clone_from_slice(peer.get(..32).ok_or(Error::InvalidPublicKey)?);
        // Decompression fails for an x that is not on the curve (RFC 9528 §9.2).
        let q = Option::<p256::AffinePoint>::from(p256::AffinePoint::decompress(
            &x,
            p256::elliptic_curve::subtle::Choice::from(0),
        ))
        .ok_or(Error::InvalidPublicKey)?;
        Secret::from_slice(&p256_x(secret, q.into())?)
    }
    fn sign(&mut self, _: SignatureAlgorithm, _: &Secret, _: &[u8]) -> Result<[u8; 64], Error> {
        Err(Error::Crypto)
    }
    fn signature_public_key(
        &mut self,
        _: SignatureAlgorithm,
        _: &Secret,
    ) -> Result<PublicKey, Error> {
        Err(Error::Crypto)
    }
    fn verify(
        &mut self,
        _: SignatureAlgorithm,
        _: &PublicKey,
        _: &[u8],
        _: &[u8],
    ) -> Result<(), Error> {
        Err(Error::Crypto)
    }
}

/// x(d·P): the public key for P = G, the shared secret for P = the peer's point.
#[cfg(not(feature = "cose-ecdh"))]
#[inline(never)]
fn p256_x(secret: &Secret, p: p256::ProjectivePoint) -> Result<[u8; 32], Error> {
    use p256::elliptic_curve::point::AffineCoordinates;
    let d = p256::NonZeroScalar::try_from(secret.as_bytes()).map_err(|_| Error::Crypto)?;
    Ok((p * *d).to_affine().x().into())
}

/// A stand-in for the device's hardware RNG (size probe only).
struct Trng(u32);

impl rand_core::RngCore for Trng {
    fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u32()) << 32 | u64::from(self.next_u32())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.next_u32() as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// RFC 9529 Trace 2 credentials and the Initiator's key.
const CRED_I: [u8; 107] = *b"\xa2\x02\x77\x34\x32\x2d\x35\x30\x2d\x33\x31\x2d\x46\x46\x2d\x45\x46\x2d\x33\x37\x2d\x33\x32\x2d\x33\x39\x08\xa1\x01\xa5\x01\x02\x02\x41\x2b\x20\x01\x21\x58\x20\xac\x75\xe9\xec\xe3\xe5\x0b\xfc\x8e\xd6\x03\x99\x88\x95\x22\x40\x5c\x47\xbf\x16\xdf\x96\x66\x0a\x41\x29\x8c\xb4\x30\x7f\x7e\xb6\x22\x58\x20\x6e\x5d\xe6\x11\x38\x8a\x4b\x8a\x82\x11\x33\x4a\xc7\xd3\x7e\xcb\x52\xa3\x87\xd2\x57\xe6\xdb\x3c\x2a\x93\xdf\x21\xff\x3a\xff\xc8";
const CRED_R: [u8; 95] = *b"\xa2\x02\x6b\x65\x78\x61\x6d\x70\x6c\x65\x2e\x65\x64\x75\x08\xa1\x01\xa5\x01\x02\x02\x41\x32\x20\x01\x21\x58\x20\xbb\xc3\x49\x60\x52\x6e\xa4\xd3\x2e\x94\x0c\xad\x2a\x23\x41\x48\xdd\xc2\x17\x91\xa1\x2a\xfb\xcb\xac\x93\x62\x20\x46\xdd\x44\xf0\x22\x58\x20\x45\x19\xe2\x57\x23\x6b\x2a\x0c\xe2\x02\x3f\x09\x31\xf1\xf3\x86\xca\x7a\xfd\xa6\x4f\xcd\xe0\x10\x8c\x22\x4c\x51\xea\xbf\x60\x72";
const SK_I: [u8; 32] = *b"\xfb\x13\xad\xeb\x65\x18\xce\xe5\xf8\x84\x17\x66\x08\x41\x14\x2e\x83\x0a\x81\xfe\x33\x43\x80\xa9\x53\x40\x6a\x13\x05\xe8\x70\x6b";

/// The radio: messages go out and come in here (a stand-in that keeps the code reachable).
fn transmit(msg: &[u8]) -> usize {
    core::hint::black_box(msg).len()
}

fn receive(buf: &mut [u8; 64]) -> &[u8] {
    core::hint::black_box(&buf[..])
}

/// The crypto alone (feature `crypto-only`): what the handshake below computes — a P-256 key
/// generation, two ECDH with decompression, SHA-256, HKDF, AES-CCM seal and open — without
/// EDHOC, to split the footprint into crypto and protocol code.
#[cfg(feature = "crypto-only")]
fn handshake() -> Result<[u8; 24], Error> {
    use core::hint::black_box as bb;
    let mut c = Suite2(Trng(0x1234_5678));
    let (x, g_x) = c.generate_ecdh_key(Curve::P256)?;
    transmit(&g_x);
    let g_xy = c.ecdh(Curve::P256, &x, bb(&CRED_R[..32]))?;
    let g_iy = c.ecdh(
        Curve::P256,
        &Secret::from_slice(&SK_I)?,
        bb(&CRED_R[32..64]),
    )?;
    let th = c.hash(HashAlgorithm::Sha256, &[bb(&CRED_I[..]), g_xy.as_bytes()])?;
    let prk = c.hkdf_extract(HashAlgorithm::Sha256, th.as_slice(), g_iy.as_bytes())?;
    let mut out = [0u8; 24];
    c.hkdf_expand(
        HashAlgorithm::Sha256,
        prk.as_bytes(),
        bb(&CRED_I[..10]),
        &mut out,
    )?;
    let mut buf = [0u8; 64];
    buf[..24].copy_from_slice(&out);
    let (key, nonce, aad) = (&out[..16], bb(&CRED_R[..13]), bb(&CRED_I[..20]));
    let n = c.aead_encrypt(
        AeadAlgorithm::AesCcm16_64_128,
        key,
        nonce,
        aad,
        &mut buf,
        24,
    )?;
    transmit(&buf[..n]);
    let mut rx = [0u8; 64];
    let mut ct = [0u8; 32];
    ct.copy_from_slice(&bb(receive(&mut rx))[..32]);
    let n = c.aead_decrypt(AeadAlgorithm::AesCcm16_64_128, key, nonce, aad, &mut ct)?;
    out[0] = n as u8;
    Ok(out)
}

#[cfg(not(feature = "crypto-only"))]
fn handshake() -> Result<[u8; 24], Error> {
    let id = Identity::by_reference(Credential::ccs(&CRED_I)?, &SK_I)?;
    let cred_r = Credential::ccs(&CRED_R)?;
    let i = Initiator::new(
        Suite2(Trng(0x1234_5678)),
        InitiatorConfig::new(Method::StaticStatic, 2, id),
    );
    let (i, m1) = i.prepare_message_1(ConnId::from_int(-24)?, &Ead::new())?;
    transmit(m1.as_slice());
    let mut rx = [0u8; 64];
    let i = i.parse_message_2(receive(&mut rx)).map_err(|r| r.error)?;
    let i = i.verify_message_2(&cred_r).map_err(|r| r.error)?;
    let (i, m3) = i.prepare_message_3(&Ead::new())?;
    transmit(m3.as_slice());
    let mut s = i.finish()?;
    let p = s.oscore_parameters()?;
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(p.master_secret.as_bytes());
    out[16..].copy_from_slice(p.master_salt.as_slice());
    Ok(out)
}

#[unsafe(no_mangle)]
pub extern "C" fn reset() -> ! {
    let r = handshake();
    core::hint::black_box(&r);
    loop {}
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}
