//! X.509 credentials (RFC 9528 §3.5.2, RFC 9360) on the `x509-cert` crate: the subject public
//! key, and chain validation to a configured trust anchor behind [`TrustAnchors`].

use alloc::vec::Vec;

use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};

use crate::credential::KeyType;
use crate::crypto::{Crypto, PublicKey};
use crate::error::Error;
use crate::suite::SignatureAlgorithm;

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

fn parse(der: &[u8]) -> Result<Certificate, Error> {
    Certificate::from_der(der)
        .map_err(|_| Error::InvalidCredential(diag!("X.509 certificate does not parse")))
}

/// The subject public key of a DER certificate: Ed25519, X25519 or P-256.
pub(crate) fn subject_public_key(der: &[u8]) -> Result<(KeyType, PublicKey), Error> {
    key_of(&parse(der)?)
}

fn key_of(cert: &Certificate) -> Result<(KeyType, PublicKey), Error> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or(Error::InvalidCredential(diag!(
            "public key bit string not octet aligned"
        )))?;
    let oid = spki.algorithm.oid;
    if oid == OID_ED25519 {
        Ok((
            KeyType::Ed25519,
            PublicKey::from_x(key)
                .map_err(|_| Error::InvalidCredential(diag!("Ed25519 key length")))?,
        ))
    } else if oid == OID_X25519 {
        Ok((
            KeyType::X25519,
            PublicKey::from_x(key)
                .map_err(|_| Error::InvalidCredential(diag!("X25519 key length")))?,
        ))
    } else if oid == OID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve != Some(OID_P256) {
            return Err(Error::InvalidCredential(diag!("EC key not on P-256")));
        }
        match key {
            [4, rest @ ..] if rest.len() == 64 => {
                let (x, y) = rest.split_at(32);
                let mut pk = PublicKey::from_x(x)?;
                pk.y = Some(
                    y.try_into()
                        .map_err(|_| Error::InvalidCredential(diag!("P-256 point")))?,
                );
                Ok((KeyType::P256, pk))
            }
            [2 | 3, x @ ..] if x.len() == 32 => Ok((KeyType::P256, PublicKey::from_x(x)?)),
            _ => Err(Error::InvalidCredential(diag!("P-256 point encoding"))),
        }
    } else {
        Err(Error::InvalidCredential(diag!(
            "unsupported subject public key algorithm"
        )))
    }
}

/// Decides whether a certificate chain received in 'x5chain' (leaf first) is trusted.
/// Applications with their own PKI policy implement this; [`TrustAnchor`] is the built-in.
pub trait TrustAnchors {
    /// `Ok(())` when `chain` (DER certificates, leaf first) is trusted.
    fn validate<C: Crypto>(&self, chain: &[&[u8]], crypto: &mut C) -> Result<(), Error>;
}

/// A single configured root certificate: a chain is trusted when each certificate is issued
/// (name and Ed25519 or ECDSA P-256/SHA-256 signature) by the next, and the last by the root;
/// at an optional validation time, each certificate must be within its validity period.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    root: Certificate,
    now_unix: Option<u64>,
}

impl TrustAnchor {
    /// A trust anchor from the root's DER certificate.
    pub fn new(root_der: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            root: parse(root_der)?,
            now_unix: None,
        })
    }

    /// Also checks validity periods at `now_unix` (seconds since 1970; sans-IO: the caller
    /// supplies the time).
    pub fn at_time(mut self, now_unix: u64) -> Self {
        self.now_unix = Some(now_unix);
        self
    }

    fn check_time(&self, cert: &Certificate) -> Result<(), Error> {
        if let Some(now) = self.now_unix {
            let v = &cert.tbs_certificate.validity;
            let nb = v.not_before.to_unix_duration().as_secs();
            let na = v.not_after.to_unix_duration().as_secs();
            if now < nb || now > na {
                return Err(Error::InvalidCredential(diag!(
                    "certificate outside its validity period"
                )));
            }
        }
        Ok(())
    }
}

fn verify_issued<C: Crypto>(
    cert: &Certificate,
    issuer: &Certificate,
    crypto: &mut C,
) -> Result<(), Error> {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(Error::InvalidCredential(diag!(
            "issuer name does not match"
        )));
    }
    let tbs: Vec<u8> = cert
        .tbs_certificate
        .to_der()
        .map_err(|_| Error::InvalidCredential(diag!("certificate re-encoding")))?;
    let sig = cert
        .signature
        .as_bytes()
        .ok_or(Error::InvalidCredential(diag!("signature bit string")))?;
    let (key_type, public) = key_of(issuer)?;
    let oid = cert.signature_algorithm.oid;
    let bad = |_| Error::InvalidCredential(diag!("certificate signature does not verify"));
    if oid == OID_ED25519 && key_type == KeyType::Ed25519 {
        crypto
            .verify(SignatureAlgorithm::EdDsa, &public, &tbs, sig)
            .map_err(bad)
    } else if oid == OID_ECDSA_SHA256 && key_type == KeyType::P256 {
        let raw = ecdsa_der_to_raw(sig)?;
        crypto
            .verify(SignatureAlgorithm::Es256, &public, &tbs, &raw)
            .map_err(bad)
    } else {
        Err(Error::InvalidCredential(diag!(
            "unsupported certificate signature algorithm"
        )))
    }
}

/// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279) to r || s, 32 bytes each.
fn ecdsa_der_to_raw(der: &[u8]) -> Result<[u8; 64], Error> {
    let bad = Error::InvalidCredential(diag!("ECDSA signature encoding"));
    // A P-256 signature is at most 72 bytes: all lengths are in DER short form.
    let body = match der {
        [0x30, len, body @ ..] if usize::from(*len) == body.len() && *len < 0x80 => body,
        _ => return Err(bad),
    };
    let mut out = [0u8; 64];
    let mut rest = body;
    for i in 0..2 {
        let (int, tail) = match rest {
            [0x02, len, tail @ ..] if *len < 0x80 && usize::from(*len) <= tail.len() => {
                tail.split_at(usize::from(*len))
            }
            _ => return Err(bad),
        };
        let v = match int {
            [0, v @ ..] => v,
            v => v,
        };
        if v.len() > 32 {
            return Err(bad);
        }
        let start = i * 32 + (32 - v.len());
        out.get_mut(start..start + v.len())
            .ok_or(Error::Crypto)?
            .copy_from_slice(v);
        rest = tail;
    }
    if rest.is_empty() { Ok(out) } else { Err(bad) }
}

impl TrustAnchors for TrustAnchor {
    fn validate<C: Crypto>(&self, chain: &[&[u8]], crypto: &mut C) -> Result<(), Error> {
        if chain.is_empty() {
            return Err(Error::InvalidCredential(diag!("empty certificate chain")));
        }
        let certs: Vec<Certificate> = chain.iter().map(|d| parse(d)).collect::<Result<_, _>>()?;
        for (i, cert) in certs.iter().enumerate() {
            self.check_time(cert)?;
            let issuer = certs.get(i + 1).unwrap_or(&self.root);
            verify_issued(cert, issuer, crypto)?;
        }
        self.check_time(&self.root)
    }
}
